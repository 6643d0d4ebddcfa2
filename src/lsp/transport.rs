//! The server's stdio transport: the base protocol's `Content-Length` framing, read here rather
//! than by lsp-server, whose reader trusts the header. It allocates the length it is given
//! before reading (`Content-Length: 99999999999999` aborted the server, `18446744073709551615`
//! panicked), and it stops at the first malformed frame, after which no request is answered.
//!
//! A message here is at most [`MAX_MESSAGE`] bytes. A frame that is refused (too large, a header
//! line that is not `Name: value` or is over 1 KiB, no `Content-Length` or one that is not a
//! number, a body that is not a JSON-RPC message) reaches the server as a [`REFUSED`]
//! notification, which it reports to the client as a `window/logMessage` error (a request
//! refused before its id is read cannot be answered by id), and reading goes on. After a body
//! that is not JSON-RPC the framing is intact; after a bad header, reading starts again at the
//! next `Content-Length:` in the stream, so a well-formed message that follows is answered.
//! Messages are read from stdin and written on stdout as lsp-server's own transport does, with
//! its [`Message`] reader and writer for the JSON.

use crossbeam_channel::{bounded, Receiver, Sender};
use lsp_server::{Connection, Message, Notification};
use std::io::{self, BufRead};
use std::thread::JoinHandle;

/// The largest message the server reads: 64 MiB, four times the largest source file netpol
/// reads (16 MiB), JSON escapes included.
pub const MAX_MESSAGE: u64 = 64 << 20;

/// The longest header line read, `Content-Length: …` or another.
const MAX_HEADER_LINE: usize = 1024;

/// The method of the notification the reader hands the server for a refused frame; its params
/// are the reason, a string.
pub const REFUSED: &str = "$/netpol/refusedMessage";

/// A connection on stdin and stdout, and the writer thread, to join once the connection is
/// dropped so that every message sent is written. The reader thread ends at the end of the
/// input or after `exit`.
pub fn stdio() -> (Connection, JoinHandle<()>) {
    // Bounded, as lsp-server's channels are: a client that writes faster than the server reads
    // waits on its pipe instead of filling the server's memory.
    let (to_server, from_client): (Sender<Message>, Receiver<Message>) = bounded(16);
    let (to_client, from_server): (Sender<Message>, Receiver<Message>) = bounded(16);
    std::thread::spawn(move || {
        let mut frames = Frames::new(io::stdin().lock());
        while let Some(frame) = frames.next_frame() {
            let message = match frame {
                Frame::Message(m) => m,
                Frame::Refused(why) => Message::Notification(Notification::new(REFUSED.to_string(), why)),
            };
            let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
            if to_server.send(message).is_err() || exit {
                break;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let mut stdout = io::stdout().lock();
        for message in from_server {
            // The client is gone; the server's sends fail from now on and it ends with the input.
            if message.write(&mut stdout).is_err() {
                break;
            }
        }
    });
    (Connection { sender: to_client, receiver: from_client }, writer)
}

/// One frame of the input.
#[derive(Debug)]
pub enum Frame {
    Message(Message),
    /// A frame refused, and why (never quoting it).
    Refused(String),
}

/// The frames of a byte stream.
pub struct Frames<R> {
    input: R,
    /// A header was refused: the next frame starts at the next `Content-Length:`.
    lost: bool,
}

impl<R: BufRead> Frames<R> {
    pub fn new(input: R) -> Self {
        Frames { input, lost: false }
    }

    /// The next frame; `None` at the end of the input, or if reading it fails.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.read().ok().flatten()
    }

    fn read(&mut self) -> io::Result<Option<Frame>> {
        let mut pending = None;
        if self.lost {
            if !self.skip_to_content_length()? {
                return Ok(None);
            }
            self.lost = false;
            match self.line()? {
                None => return Ok(None),
                Some(Line::TooLong) => return Ok(Some(self.refuse("a header line over 1 KiB"))),
                Some(Line::Text(value)) => pending = Some(format!("Content-Length:{value}")),
            }
        }
        let mut length = None;
        let mut headers = 0;
        loop {
            let line = match pending.take() {
                Some(line) => line,
                None => match self.line()? {
                    None => return Ok(None),
                    Some(Line::TooLong) => return Ok(Some(self.refuse("a header line over 1 KiB"))),
                    Some(Line::Text(line)) => line,
                },
            };
            if line.is_empty() {
                if headers == 0 {
                    continue; // blank lines between messages
                }
                break;
            }
            headers += 1;
            let Some((name, value)) = line.split_once(':') else {
                return Ok(Some(self.refuse("a header line that is not `Name: value`")));
            };
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(content_length(value));
            }
        }
        let length = match length {
            None => return Ok(Some(self.refuse("a message without a Content-Length header"))),
            Some(Err(why)) => return Ok(Some(self.refuse(&why))),
            Some(Ok(n)) => n,
        };
        // At most MAX_MESSAGE, so this fits in memory and in usize.
        let mut body = vec![0; length as usize];
        if let Err(e) = self.input.read_exact(&mut body) {
            return if e.kind() == io::ErrorKind::UnexpectedEof { Ok(None) } else { Err(e) };
        }
        Ok(Some(match serde_json::from_slice::<Message>(&body) {
            Ok(message) => Frame::Message(message),
            Err(e) => Frame::Refused(format!("a message that is not JSON-RPC ({e})")),
        }))
    }

    fn refuse(&mut self, why: &str) -> Frame {
        self.lost = true;
        Frame::Refused(why.to_string())
    }

    /// One line, without its line ending; `None` at the end of the input.
    fn line(&mut self) -> io::Result<Option<Line>> {
        let mut out = Vec::new();
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&buf[..i]);
                    self.input.consume(i + 1);
                    break;
                }
                None => {
                    let n = buf.len();
                    out.extend_from_slice(buf);
                    self.input.consume(n);
                }
            }
            if out.len() > MAX_HEADER_LINE {
                return Ok(Some(Line::TooLong));
            }
        }
        if out.len() > MAX_HEADER_LINE {
            return Ok(Some(Line::TooLong));
        }
        if out.last() == Some(&b'\r') {
            out.pop();
        }
        Ok(Some(Line::Text(String::from_utf8_lossy(&out).into_owned())))
    }

    /// Reads up to and past the next `Content-Length:` (in any case); false at the end of the
    /// input. Holds nothing of what it skips.
    fn skip_to_content_length(&mut self) -> io::Result<bool> {
        const NAME: &[u8] = b"content-length:";
        let mut matched = 0;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let mut used = 0;
            let mut found = false;
            for &b in buf {
                used += 1;
                let b = b.to_ascii_lowercase();
                if b == NAME[matched] {
                    matched += 1;
                    if matched == NAME.len() {
                        found = true;
                        break;
                    }
                } else {
                    // `c` occurs once in the name, so a mismatch restarts at most one byte in.
                    matched = usize::from(b == NAME[0]);
                }
            }
            self.input.consume(used);
            if found {
                return Ok(true);
            }
        }
    }
}

enum Line {
    Text(String),
    TooLong,
}

/// The value of a `Content-Length` header: decimal digits, at most [`MAX_MESSAGE`].
fn content_length(value: &str) -> Result<u64, String> {
    let digits = value.trim_matches([' ', '\t']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a Content-Length that is not a number".to_string());
    }
    match digits.parse::<u64>() {
        Ok(n) if n <= MAX_MESSAGE => Ok(n),
        Ok(n) => Err(format!("a message of {n} bytes, over the {} MiB the server reads", MAX_MESSAGE >> 20)),
        Err(_) => Err(format!("a message over the {} MiB the server reads", MAX_MESSAGE >> 20)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Result<String, String>> {
        let mut f = Frames::new(input);
        std::iter::from_fn(|| f.next_frame())
            .map(|frame| match frame {
                Frame::Message(Message::Request(r)) => Ok(r.method),
                Frame::Message(Message::Notification(n)) => Ok(n.method),
                Frame::Message(Message::Response(r)) => Ok(format!("response {}", r.id)),
                Frame::Refused(why) => Err(why),
            })
            .collect()
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    #[test]
    fn well_formed_frames_are_read_in_order() {
        let input = format!("{}{}", frame(PING), frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        assert_eq!(frames(input.as_bytes()), vec![Ok("ping".to_string()), Ok("exit".to_string())]);
    }

    #[test]
    fn a_huge_length_is_refused_and_the_next_frame_is_read() {
        for length in ["99999999999999", "18446744073709551615", "99999999999999999999999", "-1", "x"] {
            let input = format!("Content-Length: {length}\r\n\r\n{}", frame(PING));
            let got = frames(input.as_bytes());
            assert_eq!(got.len(), 2, "{length}: {got:?}");
            assert!(got[0].is_err(), "{length}: {got:?}");
            assert_eq!(got[1], Ok("ping".to_string()), "{length}");
        }
    }

    #[test]
    fn the_limit_itself_is_allowed() {
        assert_eq!(content_length(&MAX_MESSAGE.to_string()), Ok(MAX_MESSAGE));
        assert!(content_length(&(MAX_MESSAGE + 1).to_string()).is_err());
    }

    #[test]
    fn a_body_that_is_not_json_rpc_is_refused_without_losing_the_framing() {
        let input = format!("{}{}", frame("{\"not\": \"rpc\"}"), frame(PING));
        let got = frames(input.as_bytes());
        assert!(got[0].is_err(), "{got:?}");
        assert_eq!(got[1..], [Ok("ping".to_string())]);
    }

    #[test]
    fn garbage_and_endless_header_lines_are_skipped_up_to_the_next_header() {
        let long = "a".repeat(100_000);
        let input = format!("garbage\r\n\r\n{long}{}", frame(PING));
        let got = frames(input.as_bytes());
        assert_eq!(got.last(), Some(&Ok("ping".to_string())), "{got:?}");
        assert!(got[..got.len() - 1].iter().all(Result::is_err), "{got:?}");
    }
}
