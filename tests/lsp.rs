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
    assert_eq!(caps["codeActionProvider"]["codeActionKinds"], json!(["quickfix"]), "{caps}");
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
    // On a keyword: its page.
    let hover = s.at("textDocument/hover", &uri, 7, 7);
    assert_eq!(hover["contents"]["value"], netpol::words::page("accepts").expect("a page"), "{hover}");

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

    // Completion: declared names and keywords at a statement's start, with kinds.
    let items = s.at("textDocument/completion", &uri, 7, 0);
    let kind_of = |label: &str| {
        items.as_array().and_then(|a| a.iter().find(|i| i["label"] == label)).map(|i| i["kind"].clone())
    };
    assert_eq!(kind_of("web"), Some(json!(7)), "a workload is a class");
    assert_eq!(kind_of("clients"), Some(json!(22)), "a group is a struct");
    assert_eq!(kind_of("workload"), Some(json!(14)), "a keyword");
    let items = s.at("textDocument/completion", &uri, 7, 27);
    let kind_of = |label: &str| {
        items.as_array().and_then(|a| a.iter().find(|i| i["label"] == label)).map(|i| i["kind"].clone())
    };
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

/// The (line, UTF-16 column) of the `nth` occurrence of `needle` in `text`, plus `shift` bytes.
fn pos_of(text: &str, needle: &str, nth: usize, shift: usize) -> (u32, u32) {
    let at = text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("no {needle} in {text}")).0 + shift;
    let p = netpol::lsp::position::LineIndex::new(text).position(text, at);
    (p.line, p.character)
}

#[test]
fn hover_gives_the_page_of_every_builtin_peer_keyword_and_protocol() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/shop.netpol", dir.path().display());
    let text = "\
param strict: bool = false
namespace shop
default deny all
workload web { app: web, tier in (a, b) }
workload db { app: db }
web connects to kube-dns
web connects to world, cluster, host, kube-apiserver on tcp 443 and udp 443
db accepts tcp 5432 from web, anywhere, anything, 10.0.0.0/8 except 10.1.0.0/16
db refuses from namespace monitoring
web never connects to 169.254.169.254
web -> db on sctp 80
if strict {
  db accepts nothing
}
expect web can reach db on tcp 5432
";
    let mut s = Server::ready();
    s.open(&uri, text);
    let _ = s.diagnostics(&uri);
    let cases: &[(&str, usize, &str)] = &[
        ("kube-dns", 0, "kube-dns"),
        ("world", 0, "world"),
        ("cluster", 0, "cluster"),
        ("host", 0, "host"),
        ("kube-apiserver", 0, "kube-apiserver"),
        ("anywhere", 0, "anywhere"),
        ("anything", 0, "anything"),
        ("accepts", 0, "accepts"),
        ("connects", 0, "connects to"),
        (" to ", 0, "to"),
        ("from", 0, "from"),
        ("refuses", 0, "refuses"),
        ("never", 0, "never connects to"),
        ("connects", 2, "never connects to"),
        ("->", 0, "->"),
        (" on ", 0, "on"),
        ("and", 0, "and"),
        ("tcp", 0, "tcp"),
        ("udp", 0, "udp"),
        ("sctp", 0, "sctp"),
        ("default", 0, "default deny"),
        ("deny", 0, "default deny"),
        ("expect", 0, "expect"),
        ("reach", 0, "expect"),
        ("nothing", 0, "nothing"),
        ("except", 0, "except"),
        ("workload", 0, "workload"),
        ("param", 0, "param"),
        ("bool", 0, "bool"),
        ("if", 0, "if"),
        (" in ", 0, "in"),
    ];
    for (needle, nth, word) in cases {
        let shift = usize::from(needle.starts_with(' '));
        let (line, col) = pos_of(text, needle, *nth, shift);
        let hover = s.at("textDocument/hover", &uri, line, col + 1);
        let page = netpol::words::page(word).unwrap_or_else(|| panic!("no page for {word}"));
        assert_eq!(hover["contents"]["value"], page, "hover on {needle:?} ({line}:{col})");
    }
    // Every built-in peer has its own page.
    for w in netpol::resolve::RESERVED {
        assert!(netpol::words::page(w).is_some_and(|p| p.contains(&format!("`{w}`"))), "{w}");
    }
    // A namespace no `namespace` line declares, and one that is declared.
    let (line, col) = pos_of(text, "monitoring", 0, 2);
    let hover = s.at("textDocument/hover", &uri, line, col);
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(value.starts_with("**namespace** `monitoring`"), "{hover}");
    let (line, col) = pos_of(text, "shop", 0, 1);
    let hover = s.at("textDocument/hover", &uri, line, col);
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .starts_with("**namespace** `shop`: 2 workloads"));
    // Nothing in a comment, a string, or on a name nothing declares.
    s.change(
        &uri,
        2,
        "namespace shop # accepts\nworkload web { app: web }\nweb connects to \"accepts.example\"\n",
    );
    let _ = s.diagnostics(&uri);
    assert!(s.at("textDocument/hover", &uri, 0, 19).is_null());
    assert!(s.at("textDocument/hover", &uri, 2, 19).is_null());
    assert_eq!(s.stop(true), Some(0));
}

/// The labels offered at the end of `text`'s last line, in the order of their `sortText`.
fn completions_at_end(s: &mut Server, uri: &str, version: i64, text: &str) -> Vec<String> {
    let (line, col) = pos_of(text, "\u{1}", 0, 0);
    let text = text.replace('\u{1}', "");
    s.change(uri, version, &text);
    let items = s.at("textDocument/completion", uri, line, col);
    let mut items: Vec<(String, String)> = items
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| {
            (i["sortText"].as_str().unwrap_or("").to_string(), i["label"].as_str().unwrap_or("").to_string())
        })
        .collect();
    items.sort();
    items.into_iter().map(|(_, l)| l).collect()
}

#[test]
fn completion_offers_what_fits_the_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/shop.netpol", dir.path().display());
    let head = "\
param db-port: port = 5432
param office: cidr = 203.0.113.0/24
namespaces teams { team: x }
namespace ops {
  workload agent { app: agent }
}
namespace shop
workload web { app: web }
workload db { app: db }
group clients = web
";
    let mut s = Server::ready();
    s.open(&uri, head);
    let _ = s.diagnostics(&uri);
    let mut version = 1;
    let mut at = |tail: &str| {
        version += 1;
        completions_at_end(&mut s, &uri, version, &format!("{head}{tail}"))
    };
    let has = |got: &[String], want: &[&str]| want.iter().all(|w| got.iter().any(|g| g == w));
    let lacks = |got: &[String], want: &[&str]| want.iter().all(|w| !got.iter().any(|g| g == w));
    let index = |got: &[String], w: &str| got.iter().position(|g| g == w).unwrap_or(usize::MAX);

    // Peers after `connects to`: declared names first, other namespaces as `ns/name`, then
    // built-ins; no protocol, no verb.
    let got = at("web connects to \u{1}\n");
    assert!(
        has(
            &got,
            &[
                "db",
                "web",
                "clients",
                "teams",
                "office",
                "ops/agent",
                "kube-dns",
                "world",
                "namespace",
                "nothing"
            ]
        ),
        "{got:?}"
    );
    assert!(lacks(&got, &["tcp", "accepts", "workload", "db-port", "shop"]), "{got:?}");
    assert!(
        index(&got, "db") < index(&got, "ops/agent") && index(&got, "ops/agent") < index(&got, "kube-dns"),
        "{got:?}"
    );
    // Half a name typed: the same list, the client filters.
    let without_nothing: Vec<String> = got.iter().filter(|l| *l != "nothing").cloned().collect();
    assert_eq!(at("web connects to db, kub\u{1}\n"), without_nothing);
    // After `from` in an ingress rule.
    let got = at("db accepts tcp 5432 from \u{1}\n");
    assert!(has(&got, &["web", "clients", "cluster"]) && lacks(&got, &["nothing", "tcp"]), "{got:?}");
    // After `accepts`: ports or `from`.
    let got = at("db accepts \u{1}\n");
    assert_eq!(got, ["tcp", "udp", "sctp", "from", "nothing"]);
    // After a protocol: port parameters and ports, then `and`, `from`.
    let got = at("db accepts tcp \u{1}\n");
    assert!(has(&got, &["db-port", "443", "and", "from"]) && lacks(&got, &["web", "kube-dns"]), "{got:?}");
    assert_eq!(got.first().map(String::as_str), Some("db-port"));
    // After `on`: protocols only.
    assert_eq!(at("web connects to db on \u{1}\n"), ["tcp", "udp", "sctp"]);
    // After a peer of `connects to`: `on`.
    assert_eq!(at("web connects to db \u{1}\n"), ["on"]);
    // After a subject: the verbs.
    assert_eq!(at("web \u{1}\n"), ["accepts", "connects to", "refuses", "never connects to", "->"]);
    // At a statement's start: subjects, then the keywords that start a statement.
    let got = at("\u{1}\n");
    assert!(has(&got, &["web", "db", "clients", "workload", "default deny", "expect"]), "{got:?}");
    assert!(lacks(&got, &["kube-dns", "tcp", "from", "teams"]), "{got:?}");
    assert!(index(&got, "clients") < index(&got, "workload"), "{got:?}");
    // The rest of `default deny`; a namespace; a type; a parameter.
    assert_eq!(at("default deny \u{1}\n"), ["ingress", "egress", "all"]);
    assert_eq!(at("web connects to namespace \u{1}\n"), ["ops", "shop"]);
    assert_eq!(at("param p: \u{1}\n"), ["cidr", "bool", "int", "port", "string"]);
    assert_eq!(at("if \u{1}\n"), ["db-port", "office"]);
    // Edges and expectations.
    assert!(has(&at("web -> \u{1}\n"), &["db", "kube-dns"]));
    assert_eq!(at("expect web \u{1}\n"), ["can", "cannot"]);
    // Nothing in a comment, a string, or a new declaration's name.
    assert_eq!(at("web connects to db # \u{1}\n"), Vec::<String>::new());
    assert_eq!(at("web connects to db \"why \u{1}\n"), Vec::<String>::new());
    assert_eq!(at("workload \u{1}\n"), Vec::<String>::new());
    assert_eq!(s.stop(true), Some(0));
}

/// `text` with the protocol's text edits applied.
fn apply(text: &str, edits: &[Value]) -> String {
    let lines = netpol::lsp::position::LineIndex::new(text);
    let pos = |p: &Value| {
        let p = lsp_types::Position::new(
            p["line"].as_u64().unwrap_or(0) as u32,
            p["character"].as_u64().unwrap_or(0) as u32,
        );
        lines.offset(text, p)
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                pos(&e["range"]["start"]),
                pos(&e["range"]["end"]),
                e["newText"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn quick_fixes_apply_and_remove_their_diagnostic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = format!("file://{}/shop.netpol", dir.path().display());
    let shop = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("E0101", format!("{shop}web connects to dbb on tcp 5432\nweb connects to kube-dns\ndb accepts tcp 5432 from web\n"), "web connects to db on tcp 5432"),
        ("E0101", format!("{shop}web connects to kube-dnss\n"), "web connects to kube-dns\n"),
        ("E0106", format!("param strict: bool = false\n{shop}if strikt {{\n  db accepts nothing\n}}\nweb connects to db\n"), "if strict {"),
        ("W0201", format!("{shop}web connects to db on tcp 5432\nweb connects to kube-dns\ndb accepts tcp 80 from web\n"), "web connects to db on tcp 5432\ndb accepts tcp 5432 from web\n"),
        ("W0201", "namespace shop {\n  workload web { app: web }\n  workload db { app: db }\n  web connects to db on tcp 5432, 5433   # two ports\n  web connects to kube-dns\n  db accepts tcp 80 from web\n}\n".to_string(), "  # two ports\n  db accepts tcp 5432-5433 from web\n"),
        ("W0202", format!("{shop}workload cache {{ app: cache }}\nweb connects to cache on tcp 6379\nweb connects to kube-dns\ndb accepts tcp 5432 from web\n"), "db accepts tcp 5432 from web\nweb connects to db on tcp 5432\n"),
        ("W0203", format!("{shop}web connects to db on tcp 5432\n"), "workload web { app: web }\nweb connects to kube-dns\n"),
        ("W0204", format!("{shop}workload legacy {{\n  app: legacy\n}}\nweb accepts tcp 80 from db\n"), "workload db { app: db }\nweb accepts"),
        ("W0204", format!("group unused = web\n{shop}web accepts tcp 80 from db\n"), "namespace shop\n"),
    ];
    let mut s = Server::ready();
    s.open(&uri, shop);
    let _ = s.diagnostics(&uri);
    for (i, (code, text, expect)) in cases.iter().enumerate() {
        let version = 2 * i as i64 + 2;
        s.change(&uri, version, text);
        let diags = s.diagnostics(&uri);
        let d = find(&diags, code).clone();
        let params = json!({
            "textDocument": { "uri": uri },
            "range": d["range"],
            "context": { "diagnostics": [d] },
        });
        let actions = s.request("textDocument/codeAction", params)["result"].clone();
        let actions = actions.as_array().unwrap_or_else(|| panic!("{code}: no actions for {text}"));
        let action = actions
            .iter()
            .find(|a| a["diagnostics"][0]["code"] == *code)
            .unwrap_or_else(|| panic!("{code}: no fix in {actions:?} for\n{text}"));
        assert_eq!(action["kind"], "quickfix", "{action}");
        let edits = action["edit"]["changes"][&uri].as_array().expect("edits");
        let fixed = apply(text, edits);
        assert!(fixed.contains(expect), "{code}: {:?}\ngave\n{fixed}", action["title"]);
        s.change(&uri, version + 1, &fixed);
        let after = s.diagnostics(&uri);
        assert!(
            !after.iter().any(|a| a["code"] == d["code"] && a["message"] == d["message"]),
            "{code}: still there after {:?}:\n{fixed}\n{after:?}",
            action["title"]
        );
        assert!(
            !after.iter().any(|a| a["severity"] == 1),
            "{code}: errors after {:?}:\n{fixed}\n{after:?}",
            action["title"]
        );
        assert!(netpol::fmt::format_source(&fixed).is_ok(), "{code}: does not parse:\n{fixed}");
    }
    // A diagnostic whose fix names nothing gets no action; a range with no diagnostic neither.
    s.change(&uri, 100, &format!("{shop}web accepts tcp 99999 from db\n"));
    let diags = s.diagnostics(&uri);
    let d = find(&diags, "E0002").clone();
    let params =
        json!({ "textDocument": { "uri": uri }, "range": d["range"], "context": { "diagnostics": [d] } });
    assert_eq!(s.request("textDocument/codeAction", params)["result"], json!([]));
    assert_eq!(s.stop(true), Some(0));
}
