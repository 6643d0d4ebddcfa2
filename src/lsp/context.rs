//! What the text before the cursor says may come next, for completion: the statement the
//! cursor is in, read back to its start (over the lines it continues after `,`, `=` or `(`),
//! split into tokens and walked through the grammar's statement shapes. It reads text only,
//! so it works as well on a line being typed that does not parse yet.

/// A token of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Punct(&'static str),
    Str,
}

/// The direction a peer list is in, which decides the words that may follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// `accepts … from` / `refuses … from`
    From,
    /// `connects to` / `never connects to`
    To,
    /// The sources of an edge, before `->`.
    EdgeLeft,
    /// The destinations of an edge, after `->`.
    EdgeRight,
    /// A group's members.
    Group,
    /// The first end of an `expect`.
    ExpectFrom,
    /// The second end of an `expect`.
    ExpectTo,
}

/// What may come at the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// A statement's first word: a subject, or a keyword that starts a statement.
    Start,
    /// After a rule's subject: `accepts`, `connects to`, `refuses`, `never connects to`, `->`.
    Verb,
    /// Exactly these words.
    Words(&'static [&'static str]),
    /// After `accepts` or `refuses`: ports, `from`, and `nothing` after `accepts`.
    AfterAccepts { nothing: bool },
    /// A peer; `nothing` right after `connects to`.
    Peer { list: List, nothing: bool },
    /// After a peer: the words that continue the statement.
    AfterPeer(List),
    /// After `namespace` in a peer list: a namespace.
    Namespace,
    /// After `in` in a peer: a `namespaces` set.
    NamespaceSet,
    /// A protocol (after `on` or `and`).
    Protocol,
    /// After a protocol: a port, `and`, and `from` in an ingress rule.
    AfterProtocol { ingress: bool },
    /// After `,` in a port list: a port.
    Port,
    /// After a port: `and`, and `from` in an ingress rule.
    AfterPort { ingress: bool },
    /// A parameter's type.
    Type,
    /// A parameter, in a condition.
    Param,
    /// Nothing to offer: a new name is being declared, a selector or a string is being typed.
    None,
}

const PROTOCOLS: &[&str] = &["tcp", "udp", "sctp"];

/// The context at byte `offset` of `text`.
pub fn at(text: &str, offset: usize) -> Context {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    if in_string_or_comment(line) {
        return Context::None;
    }
    // The lines the statement continues from, last first.
    let mut lines = vec![line.to_string()];
    let mut rest = &before[..line_start.saturating_sub(1)];
    let mut end = line_start;
    while end > 0 && lines.len() < 64 {
        let start = rest.rfind('\n').map_or(0, |i| i + 1);
        let previous = without_comment(&rest[start..]);
        let last = previous.trim_end().chars().last();
        let first = previous.split_whitespace().next();
        let continued = matches!(last, Some(',' | '=' | '('))
            || (last == Some('{') && matches!(first, Some("workload" | "namespaces")));
        if !continued {
            break;
        }
        lines.push(previous.to_string());
        end = start;
        rest = &rest[..start.saturating_sub(1)];
    }
    lines.reverse();
    let statement = lines.iter().map(|l| without_comment(l)).collect::<Vec<_>>().join(" ");
    let mut toks = tokens(&statement);
    // The word being typed is the client's to filter: what counts is what comes before it.
    let typing = statement.chars().last().is_some_and(is_word_char);
    if typing && matches!(toks.last(), Some(Tok::Word(_))) {
        toks.pop();
    }
    walk(strip_openers(toks))
}

/// Tokens after the block openers a line may start with (`namespace x {`, `if c {`, `}`).
fn strip_openers(mut toks: Vec<Tok>) -> Vec<Tok> {
    loop {
        match toks.first() {
            Some(Tok::Punct("}")) => {
                toks.remove(0);
            }
            Some(Tok::Word(w)) if matches!(w.as_str(), "if" | "else" | "namespace") => {
                match toks.iter().position(|t| *t == Tok::Punct("{")) {
                    Some(i) => {
                        toks.drain(..=i);
                    }
                    None => return toks,
                }
            }
            _ => return toks,
        }
    }
}

fn walk(toks: Vec<Tok>) -> Context {
    let word = |i: usize| match toks.get(i) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let Some(first) = toks.first() else { return Context::Start };
    let Tok::Word(first) = first else { return Context::None };
    let last = toks.last();
    match first.as_str() {
        "import" | "workload" | "namespaces" => return Context::None,
        "namespace" => return if toks.len() == 1 { Context::Namespace } else { Context::None },
        "param" => {
            return if last == Some(&Tok::Punct(":")) { Context::Type } else { Context::None };
        }
        "if" => return if toks.len() == 1 { Context::Param } else { Context::None },
        "else" => return if toks.len() == 1 { Context::Words(&["if"]) } else { Context::None },
        "default" => {
            return match (toks.len(), word(1)) {
                (1, _) => Context::Words(&["deny"]),
                (2, Some("deny")) => Context::Words(&["ingress", "egress", "all"]),
                _ => Context::None,
            };
        }
        "group" => {
            return match toks.iter().position(|t| *t == Tok::Punct("=")) {
                Some(i) => peers(&toks[i + 1..], State::Peers(List::Group, false)),
                None => Context::None,
            };
        }
        "expect" => return peers(&toks[1..], State::Peers(List::ExpectFrom, false)),
        _ => {}
    }
    peers(&toks[1..], State::Subject)
}

#[derive(Clone, Copy)]
enum State {
    Subject,
    Accepts { nothing: bool },
    Need(&'static [&'static str]),
    Peers(List, bool),
    Peer(List),
    Namespace(List),
    Set(List),
    Protocol(List),
    AfterProtocol(List),
    Port(List),
    AfterPort(List),
    Done,
}

/// Walks the tokens of a rule, an edge, a group's members or an expectation from `state`.
fn peers(toks: &[Tok], mut state: State) -> Context {
    for t in toks {
        let w = match t {
            Tok::Word(w) => w.as_str(),
            Tok::Punct(p) => p,
            // A DNS name in a peer list; anything else quoted ends the statement (a reason).
            Tok::Str => match state {
                State::Peers(l, _) => {
                    state = State::Peer(l);
                    continue;
                }
                _ => {
                    state = State::Done;
                    continue;
                }
            },
        };
        let proto = PROTOCOLS.contains(&w.to_ascii_lowercase().as_str());
        state = match (state, w) {
            (State::Subject, ",") => State::Peers(List::EdgeLeft, false),
            (State::Subject, "->") => State::Peers(List::EdgeRight, false),
            (State::Subject, "accepts") => State::Accepts { nothing: true },
            (State::Subject, "refuses") => State::Accepts { nothing: false },
            (State::Subject, "connects") => State::Need(&["to"]),
            (State::Subject, "never") => State::Need(&["connects"]),
            (State::Need(["connects"]), "connects") => State::Need(&["to"]),
            (State::Need(["to"]), "to") => State::Peers(List::To, true),
            (State::Need(["reach"]), "reach") => State::Peers(List::ExpectTo, false),
            (State::Accepts { .. }, "from") => State::Peers(List::From, false),
            (State::Accepts { .. }, _) if proto => State::AfterProtocol(List::From),
            (State::Peers(..), "nothing") => State::Done,
            (State::Peers(l, _), "namespace") => State::Namespace(l),
            (State::Peers(l, n), "(" | ")" | ":") => State::Peers(l, n),
            (State::Peers(l, _), _) => State::Peer(l),
            (State::Namespace(l) | State::Set(l), _) => State::Peer(l),
            (State::Peer(l), "," | "except" | "(" | ")") => State::Peers(l, false),
            (State::Peer(l), ":") => State::Peer(l),
            (State::Peer(l), "in") => State::Set(l),
            (State::Peer(List::EdgeLeft), "->") => State::Peers(List::EdgeRight, false),
            (State::Peer(List::ExpectFrom), "can" | "cannot") => State::Need(&["reach"]),
            (State::Peer(l), "on") if !matches!(l, List::From | List::Group | List::ExpectFrom) => {
                State::Protocol(l)
            }
            (State::Protocol(l), _) if proto => State::AfterProtocol(l),
            (State::AfterProtocol(l) | State::AfterPort(l), "and") => State::Protocol(l),
            (State::AfterProtocol(List::From) | State::AfterPort(List::From), "from") => {
                State::Peers(List::From, false)
            }
            (State::AfterPort(l), ",") => State::Port(l),
            (State::AfterProtocol(l) | State::Port(l), _) => State::AfterPort(l),
            _ => State::Done,
        };
    }
    match state {
        State::Subject => Context::Verb,
        State::Accepts { nothing } => Context::AfterAccepts { nothing },
        State::Need(words) => Context::Words(words),
        State::Peers(list, nothing) => Context::Peer { list, nothing },
        State::Peer(l) => Context::AfterPeer(l),
        State::Namespace(_) => Context::Namespace,
        State::Set(_) => Context::NamespaceSet,
        State::Protocol(_) => Context::Protocol,
        State::AfterProtocol(l) => Context::AfterProtocol { ingress: l == List::From },
        State::Port(_) => Context::Port,
        State::AfterPort(l) => Context::AfterPort { ingress: l == List::From },
        State::Done => Context::None,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '*')
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push(Tok::Str);
            }
            '-' if chars.peek().is_some_and(|(_, c)| *c == '>') => {
                chars.next();
                out.push(Tok::Punct("->"));
            }
            ',' => out.push(Tok::Punct(",")),
            '=' => out.push(Tok::Punct("=")),
            ':' => out.push(Tok::Punct(":")),
            '{' => out.push(Tok::Punct("{")),
            '}' => out.push(Tok::Punct("}")),
            '(' => out.push(Tok::Punct("(")),
            ')' => out.push(Tok::Punct(")")),
            '!' => out.push(Tok::Punct("!")),
            c if is_word_char(c) => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, c)) = chars.peek() {
                    // `a->b`: the arrow is not part of the word.
                    if !is_word_char(c) || (c == '-' && s[j..].starts_with("->")) {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                out.push(Tok::Word(s[i..end].to_string()));
            }
            _ => {}
        }
    }
    out
}

/// The line without its comment (a `#` outside quotes).
pub fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if quoted && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
        escaped = false;
    }
    line
}

/// Whether the end of `line` is inside a string or a comment.
pub fn in_string_or_comment(line: &str) -> bool {
    let code = without_comment(line);
    if code.len() < line.len() {
        return true;
    }
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if quoted && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            _ => {}
        }
        escaped = false;
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(text: &str) -> Context {
        at(text, text.len())
    }

    #[test]
    fn statement_shapes() {
        assert_eq!(ctx(""), Context::Start);
        assert_eq!(ctx("namespace shop {\n  "), Context::Start);
        assert_eq!(ctx("  we"), Context::Start);
        assert_eq!(ctx("web "), Context::Verb);
        assert_eq!(ctx("web connects "), Context::Words(&["to"]));
        assert_eq!(ctx("web never "), Context::Words(&["connects"]));
        assert_eq!(ctx("web connects to "), Context::Peer { list: List::To, nothing: true });
        assert_eq!(ctx("web connects to db, ca"), Context::Peer { list: List::To, nothing: false });
        assert_eq!(ctx("web connects to db "), Context::AfterPeer(List::To));
        assert_eq!(ctx("web connects to db on "), Context::Protocol);
        assert_eq!(ctx("web connects to db on tcp "), Context::AfterProtocol { ingress: false });
        assert_eq!(ctx("web connects to db on tcp 80, "), Context::Port);
        assert_eq!(ctx("web connects to db on tcp 80 "), Context::AfterPort { ingress: false });
        assert_eq!(ctx("db accepts "), Context::AfterAccepts { nothing: true });
        assert_eq!(ctx("db refuses "), Context::AfterAccepts { nothing: false });
        assert_eq!(ctx("db accepts tcp "), Context::AfterProtocol { ingress: true });
        assert_eq!(ctx("db accepts tcp 5432 from "), Context::Peer { list: List::From, nothing: false });
        assert_eq!(ctx("db accepts tcp 5432 from namespace "), Context::Namespace);
        assert_eq!(ctx("db accepts from agent in "), Context::NamespaceSet);
        assert_eq!(ctx("a, b "), Context::AfterPeer(List::EdgeLeft));
        assert_eq!(ctx("a, "), Context::Peer { list: List::EdgeLeft, nothing: false });
        assert_eq!(ctx("a -> "), Context::Peer { list: List::EdgeRight, nothing: false });
        assert_eq!(ctx("a->b "), Context::AfterPeer(List::EdgeRight));
        assert_eq!(ctx("group g = a,\n   "), Context::Peer { list: List::Group, nothing: false });
        assert_eq!(ctx("expect a "), Context::AfterPeer(List::ExpectFrom));
        assert_eq!(ctx("expect a can "), Context::Words(&["reach"]));
        assert_eq!(ctx("default "), Context::Words(&["deny"]));
        assert_eq!(ctx("default deny "), Context::Words(&["ingress", "egress", "all"]));
        assert_eq!(ctx("param p: "), Context::Type);
        assert_eq!(ctx("if "), Context::Param);
        assert_eq!(ctx("workload "), Context::None);
        assert_eq!(ctx("workload web {\n  app: web,\n  "), Context::None);
        assert_eq!(ctx("web connects to db \"a reason "), Context::None);
        assert_eq!(ctx("web connects to db # a comment "), Context::None);
        assert_eq!(ctx("web connects to db \"reason\" "), Context::None);
    }
}
