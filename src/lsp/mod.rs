//! `netpol lsp`: a language server over stdio. Diagnostics as you type (the codes and messages
//! of `netpol check`), hover (declared names, and the page of every keyword and built-in peer
//! from [`crate::words`]), go to definition, references, completion of what fits the cursor,
//! quick fixes for the diagnostics that name their fix, document symbols, and formatting
//! through `netpol fmt`'s formatter.
//!
//! Every open document is compiled as a program of its own, with what it imports; open
//! documents are read from memory and every other file from disk. A change marks the documents
//! whose last compile read the changed file, and they are compiled again once no message is
//! waiting (so a burst of keystrokes costs one compile), or before a request is answered.
//!
//! Formatting answers with one edit that replaces the whole document by
//! [`crate::fmt::format_source`]'s text, none when it is already formatted, and an error (the
//! document left as it is) when it does not parse.

mod actions;
mod check;
mod context;
mod features;
pub mod index;
pub mod position;
mod transport;
mod uri;
mod workspace;

pub use check::{analyze, check, convert, Analysis, Overlay};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeResult, OneOf, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use workspace::Workspace;

/// Serves on stdin and stdout until `exit`; returns the process exit code: 0 after a
/// `shutdown` request, 1 when `exit` (or the end of the input) comes without one.
pub fn run() -> i32 {
    let (connection, writer) = transport::stdio();
    let code = serve(&connection);
    drop(connection);
    let _ = writer.join();
    code
}

/// The server's capabilities.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::FULL),
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["/".to_string()]),
            ..CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `initialize`: requests are refused, notifications dropped.
    Starting,
    Running,
    /// After `shutdown`: only `exit` is expected.
    ShutDown,
}

/// The message loop; returns the exit code.
pub fn serve(connection: &Connection) -> i32 {
    let mut server = Server { connection, workspace: Workspace::default(), state: State::Starting };
    while let Ok(message) = connection.receiver.recv() {
        match message {
            Message::Notification(n) if n.method == transport::REFUSED => server.refused(n),
            Message::Request(r) => server.on_request(r),
            Message::Notification(n) if n.method == note::Exit::METHOD => {
                return if server.state == State::ShutDown { 0 } else { 1 };
            }
            Message::Notification(n) if server.state == State::Running => server.on_notification(n),
            Message::Notification(_) | Message::Response(_) => {}
        }
        if server.state == State::Running && connection.receiver.is_empty() {
            server.refresh();
        }
    }
    1
}

struct Server<'c> {
    connection: &'c Connection,
    workspace: Workspace,
    state: State,
}

impl Server<'_> {
    fn send(&self, message: impl Into<Message>) {
        // The client is gone when this fails; the loop then ends on the closed input.
        let _ = self.connection.sender.send(message.into());
    }

    /// A frame the transport refused: said in the client's log, the one answer the protocol
    /// allows to a message whose id was never read.
    fn refused(&self, n: Notification) {
        let why = n.params.as_str().unwrap_or("a malformed message");
        let params = lsp_types::LogMessageParams {
            typ: lsp_types::MessageType::ERROR,
            message: format!("netpol lsp: refused {why}; reading on from the next message"),
        };
        self.send(Notification::new(note::LogMessage::METHOD.to_string(), params));
    }

    fn refresh(&mut self) {
        let published = catch_unwind(AssertUnwindSafe(|| self.workspace.refresh()));
        for params in published.unwrap_or_default() {
            self.send(Notification::new(note::PublishDiagnostics::METHOD.to_string(), params));
        }
    }

    fn on_request(&mut self, r: Request) {
        let response = match (self.state, r.method.as_str()) {
            (State::Starting, req::Initialize::METHOD) => {
                self.state = State::Running;
                let result = InitializeResult {
                    capabilities: capabilities(),
                    server_info: Some(ServerInfo {
                        name: "netpol".to_string(),
                        version: Some(env!("CARGO_PKG_VERSION").to_string()),
                    }),
                };
                ok(&r, serde_json::to_value(result))
            }
            (State::Starting, _) => {
                error(&r, ErrorCode::ServerNotInitialized, "the server is not initialized yet".to_string())
            }
            (State::Running, req::Initialize::METHOD) => {
                error(&r, ErrorCode::InvalidRequest, "the server is already initialized".to_string())
            }
            (State::Running, req::Shutdown::METHOD) => {
                self.state = State::ShutDown;
                ok(&r, Ok(Value::Null))
            }
            (State::Running, _) => {
                self.refresh();
                let method = r.method.clone();
                let answer = catch_unwind(AssertUnwindSafe(|| self.request(&method, r.params.clone())));
                match answer {
                    Ok(Ok(value)) => ok(&r, Ok(value)),
                    Ok(Err(e)) => e.into_response(&r),
                    Err(_) => error(&r, ErrorCode::InternalError, format!("`{method}` failed")),
                }
            }
            (State::ShutDown, _) => {
                error(&r, ErrorCode::InvalidRequest, "the server is shut down".to_string())
            }
        };
        self.send(response);
    }

    /// Answers one request of a running server.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        let w = &self.workspace;
        let value = match method {
            req::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = parse(params)?;
                let at = p.text_document_position_params;
                json(w.index(&at.text_document.uri).and_then(|i| i.hover(at.position)))
            }
            req::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = parse(params)?;
                let at = p.text_document_position_params;
                json(w.index(&at.text_document.uri).and_then(|i| i.definition(at.position)))
            }
            req::References::METHOD => {
                let p: lsp_types::ReferenceParams = parse(params)?;
                let at = p.text_document_position;
                let include = p.context.include_declaration;
                json(w.index(&at.text_document.uri).map(|i| i.references(at.position, include)))
            }
            req::Completion::METHOD => {
                let p: lsp_types::CompletionParams = parse(params)?;
                let at = p.text_document_position;
                json(w.index(&at.text_document.uri).map(|i| i.completion(at.position)))
            }
            req::DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = parse(params)?;
                json(w.index(&p.text_document.uri).map(|i| i.symbols()))
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = parse(params)?;
                json(actions::code_actions(w, &p.text_document.uri, p.range))
            }
            req::Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = parse(params)?;
                let uri = p.text_document.uri.as_str();
                let Some(text) = w.text(uri) else { return Ok(Value::Null) };
                json(Some(format_edits(text)?))
            }
            _ => return Err(Failure(ErrorCode::MethodNotFound, format!("`{method}` is not supported"))),
        };
        Ok(value)
    }

    fn on_notification(&mut self, n: Notification) {
        let w = &mut self.workspace;
        let done = catch_unwind(AssertUnwindSafe(|| match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                if let Ok(p) = parse::<lsp_types::DidOpenTextDocumentParams>(n.params) {
                    let d = p.text_document;
                    w.open(d.uri.as_str(), d.text, d.version);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Ok(p) = parse::<lsp_types::DidChangeTextDocumentParams>(n.params) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.into_iter().last() {
                        let d = p.text_document;
                        w.change(d.uri.as_str(), change.text, d.version);
                    }
                }
            }
            note::DidSaveTextDocument::METHOD => w.saved(),
            note::DidCloseTextDocument::METHOD => {
                if let Ok(p) = parse::<lsp_types::DidCloseTextDocumentParams>(n.params) {
                    w.close(p.text_document.uri.as_str());
                }
            }
            _ => {}
        }));
        // A panic was printed on stderr; the document is compiled again on its next change.
        let _ = done;
    }
}

/// A request that cannot be answered.
struct Failure(ErrorCode, String);

impl Failure {
    fn into_response(self, r: &Request) -> Response {
        error(r, self.0, self.1)
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, Failure> {
    serde_json::from_value(params).map_err(|e| Failure(ErrorCode::InvalidParams, e.to_string()))
}

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn ok(r: &Request, result: Result<Value, serde_json::Error>) -> Response {
    match result {
        Ok(value) => Response { id: r.id.clone(), response_result: Ok(value) },
        Err(e) => error(r, ErrorCode::InternalError, e.to_string()),
    }
}

fn error(r: &Request, code: ErrorCode, message: String) -> Response {
    Response::new_err(r.id.clone(), code as i32, message)
}

/// The edits that format `text`: one replacing the whole document, or none. A document that
/// does not parse is not touched; the reply says why (its diagnostics are already shown).
fn format_edits(text: &str) -> Result<Vec<lsp_types::TextEdit>, Failure> {
    let formatted = crate::fmt::format_source(text).map_err(|diagnostics| {
        let first = diagnostics.first().map_or_else(String::new, |d| format!(": {} {}", d.code, d.message));
        Failure(
            ErrorCode::RequestFailed,
            format!("the document does not parse, so it is left as it is{first}"),
        )
    })?;
    if formatted == text {
        return Ok(Vec::new());
    }
    let lines = position::LineIndex::new(text);
    let range = lines.range(text, 0, text.len());
    Ok(vec![lsp_types::TextEdit { range, new_text: formatted }])
}
