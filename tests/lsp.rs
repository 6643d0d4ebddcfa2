//! `netpol lsp` end to end: the real binary, JSON-RPC with Content-Length framing on its stdin
//! and stdout. Every read has a deadline and the server is killed when a test fails, so a hang
//! fails the test instead of blocking the run.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(10);

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    /// Notifications read while waiting for a response.
    queued: VecDeque<Value>,
    next_id: i64,
}

impl Drop for Server {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_netpol"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("netpol lsp starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Server { child, stdin, messages, queued: VecDeque::new(), next_id: 1 }
    }

    /// Starts and initializes a server.
    fn ready() -> Server {
        let mut s = Server::start();
        let caps = s.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
        assert!(caps["result"]["capabilities"].is_object(), "{caps}");
        s.notify("initialized", json!({}));
        s
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    }

    /// Bytes as they are, framing and all.
    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write");
        stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next(&mut self) -> Value {
        match self.messages.recv_timeout(DEADLINE) {
            Ok(m) => m,
            Err(e) => panic!("no message from the server within {DEADLINE:?}: {e}"),
        }
    }

    /// The whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.next();
            if m["id"] == json!(id) && m.get("method").is_none() {
                return m;
            }
            self.queued.push_back(m);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let m = self.queued.pop_front().unwrap_or_else(|| self.next());
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        let doc = json!({ "uri": uri, "languageId": "netpol", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": doc }));
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let mut params =
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
        if method == "textDocument/references" {
            params["context"] = json!({ "includeDeclaration": true });
        }
        self.request(method, params)["result"].clone()
    }

    /// Sends `shutdown` (unless told not to) and `exit`; returns the exit code.
    fn stop(mut self, shutdown: bool) -> Option<i32> {
        if shutdown {
            let r = self.request("shutdown", Value::Null);
            assert!(r.get("error").is_none() && r["result"].is_null(), "{r}");
        }
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not exit within 10 s");
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Line 5 has a 4-byte, 2-unit character before the unknown name: bytes, characters and UTF-16
/// units all give a different column for `ghost`.
const BROKEN: &str = "\
# café 𝄞: the shop's policies
namespace shop {
  workload web { app: web }
  workload db { app: db }
  group clients = web
  web connects to \"𝄞.example\", ghost on tcp 5432
  web connects to kube-dns
  db accepts tcp 5432 from clients
}
";

const FIXED: &str = "\
# café 𝄞: the shop's policies
namespace shop {
  workload web { app: web }
  workload db { app: db }
  group clients = web
  web connects to db on tcp 5432   \"naïve 𝄞 reason\"
  web connects to kube-dns
  db accepts tcp 5432 from clients
}
";

fn find<'a>(diags: &'a [Value], code: &str) -> &'a Value {
    diags.iter().find(|d| d["code"] == code).unwrap_or_else(|| panic!("no {code} in {diags:?}"))
}

#[test]
fn a_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/shop.netpol", dir.path().display());
    let mut s = Server::start();
    let init = s.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 1, "{caps}");
    for cap in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "documentSymbolProvider",
        "documentFormattingProvider",
    ] {
        assert_eq!(caps[cap], true, "{cap}: {caps}");
    }
    assert!(caps["completionProvider"].is_object(), "{caps}");
    s.notify("initialized", json!({}));

    // Broken: the command line's code and message, at UTF-16 columns.
    s.open(&uri, BROKEN);
    let diags = s.diagnostics(&uri);
    let unknown = find(&diags, "E0101");
    assert_eq!(
        unknown["range"],
        json!({ "start": { "line": 5, "character": 32 }, "end": { "line": 5, "character": 37 } })
    );
    assert_eq!(unknown["severity"], 1);
    let message = unknown["message"].as_str().expect("message");
    assert!(
        message.starts_with("unknown peer `ghost`\nnot declared\nhelp: did you mean `host`?"),
        "{message}"
    );
    assert_eq!(find(&diags, "E0112")["range"]["start"], json!({ "line": 5, "character": 18 }));

    // Fixed: nothing left.
    s.change(&uri, 2, FIXED);
    assert_eq!(s.diagnostics(&uri), Vec::<Value>::new());

    // Hover on `db` in `db accepts …` (line 7).
    let hover = s.at("textDocument/hover", &uri, 7, 3);
    let text = hover["contents"]["value"].as_str().expect("markdown");
    assert!(text.contains("**workload** `shop/db`"), "{text}");
    assert!(text.contains("selector `{ app: db }`"), "{text}");
    assert!(text.contains("shop.netpol:6 `web connects to db on tcp 5432 \"naïve 𝄞 reason\"`"), "{text}");
    assert_eq!(hover["range"]["start"], json!({ "line": 7, "character": 2 }));
    // On a keyword: nothing.
    assert!(s.at("textDocument/hover", &uri, 7, 7).is_null());

    // Definition of `clients` (line 7) is its group, line 4.
    let def = s.at("textDocument/definition", &uri, 7, 28);
    assert_eq!(def["uri"], uri.as_str());
    assert_eq!(
        def["range"],
        json!({ "start": { "line": 4, "character": 8 }, "end": { "line": 4, "character": 15 } })
    );

    // References of `web`: its declaration, the group, two rule subjects.
    let refs = s.at("textDocument/references", &uri, 2, 12);
    assert_eq!(refs.as_array().map(Vec::len), Some(4), "{refs}");

    // Completion: declared names and keywords, with kinds.
    let items = s.at("textDocument/completion", &uri, 7, 0);
    let kind_of = |label: &str| {
        items.as_array().and_then(|a| a.iter().find(|i| i["label"] == label)).map(|i| i["kind"].clone())
    };
    assert_eq!(kind_of("web"), Some(json!(7)), "a workload is a class");
    assert_eq!(kind_of("clients"), Some(json!(22)), "a group is a struct");
    assert_eq!(kind_of("accepts"), Some(json!(14)), "a keyword");
    assert_eq!(kind_of("kube-dns"), Some(json!(21)), "a built-in peer is a constant");

    // Symbols: the namespace block with its declarations.
    let symbols =
        s.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }))["result"].clone();
    assert_eq!(symbols[0]["name"], "shop", "{symbols}");
    let children: Vec<&str> = symbols[0]["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(children, ["web", "db", "clients"]);

    // Closing clears.
    s.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    assert_eq!(s.diagnostics(&uri), Vec::<Value>::new());
    assert_eq!(s.stop(true), Some(0));
}

#[test]
fn formatting_goes_through_netpol_fmt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/shop.netpol", dir.path().display());
    let mut s = Server::ready();
    let messy = "namespace   shop\nworkload web {app:web}\nworkload db { app : db }\n\n\n\ndb accepts tcp 5432 from web   # the app\n";
    s.open(&uri, messy);
    let params = json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } });
    let edits = s.request("textDocument/formatting", params.clone())["result"].clone();
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1, "{edits:?}");
    // One edit over the whole document, whose text is what `netpol fmt` writes.
    assert_eq!(edits[0]["range"]["start"], json!({ "line": 0, "character": 0 }));
    assert_eq!(edits[0]["range"]["end"], json!({ "line": 7, "character": 0 }));
    let formatted = netpol::fmt::format_source(messy).expect("formats");
    assert_eq!(edits[0]["newText"], formatted.as_str());
    assert_ne!(formatted, messy);
    // Formatted already: no edit.
    s.change(&uri, 2, &formatted);
    assert_eq!(s.request("textDocument/formatting", params.clone())["result"], json!([]));
    // Does not parse: an error, and no edit.
    s.change(&uri, 3, "namespace shop\nworkload web { app: web\n");
    let reply = s.request("textDocument/formatting", params);
    assert!(reply.get("result").is_none_or(Value::is_null), "{reply}");
    assert!(reply["error"]["message"].as_str().is_some_and(|m| m.contains("does not parse")), "{reply}");
    assert_eq!(s.stop(true), Some(0));
}

#[test]
fn imported_files_get_their_own_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("common.netpol"),
        "namespace shop\nworkload api { app: api }\napi accepts tcp 80 from nobody\n",
    )
    .expect("write");
    let main = format!("file://{}/main.netpol", dir.path().display());
    let common = format!("file://{}/common.netpol", dir.path().display());
    let mut s = Server::ready();
    s.open(&main, "import \"common.netpol\"\n");
    let diags = s.diagnostics(&common);
    assert_eq!(find(&diags, "E0101")["range"]["start"], json!({ "line": 2, "character": 24 }));
    // Definition across the import: `api` in an open document that imports it.
    s.change(&main, 2, "import \"common.netpol\"\nnamespace shop\napi connects to api on tcp 80\n");
    let def = s.at("textDocument/definition", &main, 2, 0);
    assert_eq!(def["uri"], common.as_str(), "{def}");
    assert_eq!(s.stop(true), Some(0));
}

#[test]
fn odd_input_gets_answers_not_a_crash() {
    let mut s = Server::start();
    // Before `initialize`: refused with ServerNotInitialized.
    let early = s.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    s.request("initialize", json!({ "capabilities": {} }));
    s.notify("initialized", json!({}));
    let uri = "untitled:Untitled-1";
    for (version, text) in [
        "",
        "namespace",
        "namespace shop {\n  workload web { app:",
        "é𝄞\u{0}\"",
        "web accepts tcp 99999 from",
    ]
    .iter()
    .enumerate()
    {
        if version == 0 {
            s.open(uri, text);
        } else {
            s.change(uri, version as i64, text);
        }
        s.diagnostics(uri);
        for method in ["textDocument/hover", "textDocument/definition", "textDocument/completion"] {
            let r = s.request(
                method,
                json!({ "textDocument": { "uri": uri }, "position": { "line": 9, "character": 99 } }),
            );
            assert!(r.get("error").is_none(), "{method}: {r}");
        }
    }
    // A second `initialize`, unknown documents and methods, bad parameters.
    assert_eq!(s.request("initialize", json!({ "capabilities": {} }))["error"]["code"], -32600);
    let r = s.at("textDocument/hover", "file:///nowhere.netpol", 0, 0);
    assert!(r.is_null());
    assert_eq!(s.request("textDocument/hover", json!({ "bad": 1 }))["error"]["code"], -32602);
    assert_eq!(s.request("workspace/nothing", json!({}))["error"]["code"], -32601);
    assert_eq!(s.stop(true), Some(0));
}

#[test]
fn exit_without_shutdown_is_an_error() {
    let s = Server::ready();
    assert_eq!(s.stop(false), Some(1));
}

/// A document nested deeper than the language allows (3,000 `if` blocks, and a chain of 10,000
/// groups) used to overflow the server's stack as soon as it was opened. Now the first gets
/// E0008 at the bracket too deep, the second compiles, and the server goes on answering.
#[test]
fn deep_documents_get_a_diagnostic_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/deep.netpol", dir.path().display());
    let deep = format!(
        "param p: bool = true\nnamespace n {{\n  workload w {{ app: w }}\n{}w accepts tcp 80 from anywhere\n{}}}\n",
        "if p {\n".repeat(3000),
        "}\n".repeat(3000)
    );
    let mut s = Server::ready();
    s.open(&uri, &deep);
    let diags = s.diagnostics(&uri);
    assert_eq!(diags.iter().map(|d| d["code"].clone()).collect::<Vec<_>>(), [json!("E0008")], "{diags:?}");
    // The `{` that opens level 129: the 128th `if`, on line 3 + 128 (0-based: 130).
    assert_eq!(diags[0]["range"]["start"], json!({ "line": 130, "character": 5 }));

    let mut chain = String::from("namespace n\nworkload w { app: w }\ngroup g0 = w\n");
    for i in 1..10_000 {
        chain.push_str(&format!("group g{i} = g{}\n", i - 1));
    }
    chain.push_str("w connects to g9999 on tcp 80\nw connects to kube-dns\nw accepts tcp 80 from g9999\n");
    s.change(&uri, 2, &chain);
    assert_eq!(s.diagnostics(&uri), Vec::<Value>::new());
    let hover = s.at("textDocument/hover", &uri, 10_002, 15);
    assert!(hover["contents"]["value"].as_str().is_some_and(|t| t.contains("**group** `g9999`")), "{hover}");
    assert_eq!(s.stop(true), Some(0));
}

#[test]
fn a_huge_or_malformed_frame_is_refused_and_the_server_keeps_answering() {
    let mut s = Server::ready();
    let frames: &[&[u8]] = &[
        b"Content-Length: 99999999999999\r\n\r\n",
        b"Content-Length: 18446744073709551615\r\n\r\n",
        b"Content-Length: 99999999999999999999999999\r\n\r\n",
        b"Content-Length: 12\r\n\r\n{not json!!}",
        b"Content-Type: text/plain\r\n\r\n",
    ];
    for frame in frames {
        s.send_raw(frame);
        let r = s.at("textDocument/hover", "file:///nowhere.netpol", 0, 0);
        assert!(r.is_null(), "{r}");
        let logged = std::mem::take(&mut s.queued);
        assert!(
            logged.iter().any(|m| m["method"] == "window/logMessage"
                && m["params"]["type"] == 1
                && m["params"]["message"].as_str().is_some_and(|t| t.contains("refused"))),
            "{}: {logged:?}",
            String::from_utf8_lossy(frame)
        );
    }
    assert_eq!(s.stop(true), Some(0));
}

/// Every message the server sends until it answers a request about `uri` (it compiles and
/// publishes before it answers), the answer last; and the diagnostics it published for `uri`.
fn said_until_answered(s: &mut Server, uri: &str) -> (Vec<Value>, Vec<Value>) {
    let symbols = s.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    assert!(symbols.get("error").is_none(), "{symbols}");
    let said: Vec<Value> = s.queued.drain(..).chain([symbols]).collect();
    let published = said
        .iter()
        .rfind(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
        .unwrap_or_else(|| panic!("no diagnostics for {uri} in {said:?}"));
    let diags = published["params"]["diagnostics"].as_array().cloned().expect("diagnostics");
    (said, diags)
}

#[test]
fn an_import_of_a_file_that_is_not_netpol_source_shows_nothing_of_it() {
    const SECRET: &str = "S3CR3T-2b8e07";
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("credentials");
    // The parser's message would quote the second word.
    std::fs::write(&secret, format!("password {SECRET}\n")).expect("write");
    let uri = format!("file://{}/main.netpol", dir.path().display());
    let mut s = Server::ready();
    s.open(&uri, &format!("namespace shop\nimport \"{}\"\nworkload web {{ app: web }}\n", secret.display()));
    let (said, diags) = said_until_answered(&mut s, &uri);
    assert!(said.iter().all(|m| !m.to_string().contains(SECRET)), "{said:?}");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "E0007", "{diags:?}");
    assert_eq!(s.stop(true), Some(0));
}

#[cfg(unix)]
#[test]
fn imports_of_devices_and_fifos_are_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo =
        std::ffi::CString::new(dir.path().join("pipe.netpol").as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    let uri = format!("file://{}/main.netpol", dir.path().display());
    let mut s = Server::ready();
    // The server's stdin is the editor's message stream: `/dev/stdin` must not be read, nor
    // `/dev/zero` to the end.
    let text = "namespace shop\nimport \"/dev/zero\"\nimport \"/dev/stdin\"\nimport \"pipe.netpol\"\nworkload web { app: web }\n";
    s.open(&uri, text);
    let (_, diags) = said_until_answered(&mut s, &uri);
    let codes: Vec<&Value> = diags.iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, [&json!("E0007"); 3], "{diags:?}");
    assert_eq!(s.stop(true), Some(0));
}
