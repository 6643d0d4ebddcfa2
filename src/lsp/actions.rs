//! Quick fixes (`textDocument/codeAction`) for the diagnostics that name their fix:
//!
//! - a "did you mean `x`?" (E0101, E0106): the name replaced by the suggestion;
//! - W0201 / W0202: the matching rule of the other side added after the rule, as the help
//!   line writes it (`add `db accepts tcp 5432 from web``);
//! - W0203: `W connects to kube-dns` added after the workload's declaration;
//! - W0204: the unused declaration removed, whole lines when it has them to itself.
//!
//! A fix is offered only once it is known to work: the document with the edit applied is
//! compiled again (with the other open documents, as for its diagnostics), and it must parse,
//! no longer have the diagnostic, and have no error it did not have before.

use super::index::Index;
use super::position::LineIndex;
use super::workspace::Workspace;
use crate::span::FileId;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Diagnostic, NumberOrString, Range, TextEdit, Uri,
    WorkspaceEdit,
};
use std::collections::HashMap;

/// At most this many diagnostics in the requested range get fixes (each costs a compile).
const MAX_DIAGNOSTICS: usize = 16;

/// One edit of the document: a byte range and its new text.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

struct Fix {
    title: String,
    edit: Edit,
}

/// The quick fixes for the diagnostics of the open document `uri` that touch `range`.
pub fn code_actions(w: &Workspace, uri: &Uri, range: Range) -> Vec<CodeActionOrCommand> {
    let (Some(text), Some(diags)) = (w.text(uri.as_str()), w.own_diagnostics(uri.as_str())) else {
        return Vec::new();
    };
    // The index's spans are only good for the text it was built from.
    let index = w.index(uri).filter(|i| i.sources.text(FileId(0)) == text);
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    let touching = diags.iter().filter(|d| d.range.start <= range.end && range.start <= d.range.end);
    for d in touching.take(MAX_DIAGNOSTICS) {
        let Some(fix) = fix(text, &lines, index, d) else { continue };
        let patched = format!("{}{}{}", &text[..fix.edit.start], fix.edit.text, &text[fix.edit.end..]);
        if !w.fix_holds(uri.as_str(), patched, d, diags) {
            continue;
        }
        let edit =
            TextEdit { range: lines.range(text, fix.edit.start, fix.edit.end), new_text: fix.edit.text };
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: fix.title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    out
}

/// The fix a diagnostic names, if it names one.
fn fix(text: &str, lines: &LineIndex, index: Option<&Index>, d: &Diagnostic) -> Option<Fix> {
    let code = match &d.code {
        Some(NumberOrString::String(c)) => c.as_str(),
        _ => return None,
    };
    let help = d.message.lines().find_map(|l| l.strip_prefix("help: "))?;
    let start = lines.offset(text, d.range.start);
    let end = lines.offset(text, d.range.end);
    if let Some(name) = help.strip_prefix("did you mean `").and_then(|r| r.strip_suffix("`?")) {
        let edit = Edit { start, end, text: name.to_string() };
        return Some(Fix { title: format!("Replace with `{name}`"), edit });
    }
    let index = index?;
    match code {
        "W0201" | "W0202" | "W0203" => {
            let line = help.strip_prefix("add `")?.split('`').next()?;
            let stmt = index.statement_at(start)?;
            Some(Fix { title: format!("Add `{line}`"), edit: insert_after(text, stmt, line) })
        }
        "W0204" => {
            let stmt = index.declaration_at(start)?;
            let name = text.get(start..end).unwrap_or("the declaration");
            Some(Fix { title: format!("Remove the unused declaration `{name}`"), edit: remove(text, stmt) })
        }
        _ => None,
    }
}

/// A new line after the statement at `stmt` (its last line), indented as its first line.
fn insert_after(text: &str, (start, end): (usize, usize), line: &str) -> Edit {
    let first = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[first..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let eol = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let eol = if text[..eol].ends_with('\r') { eol - 1 } else { eol };
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    Edit { start: eol, end: eol, text: format!("{newline}{indent}{line}") }
}

/// The statement removed: its whole lines when nothing else is on them, else its text.
fn remove(text: &str, (start, end): (usize, usize)) -> Edit {
    let first = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let eol = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let alone_before = text[first..start].trim().is_empty();
    let after = super::context::without_comment(&text[end..eol]);
    if alone_before && after.trim().is_empty() {
        let next = if eol < text.len() { eol + 1 } else { eol };
        return Edit { start: first, end: next, text: String::new() };
    }
    Edit { start, end, text: String::new() }
}

/// The code and message of a diagnostic, which say which one it is across compiles.
pub fn identity(d: &Diagnostic) -> (Option<&NumberOrString>, &str) {
    (d.code.as_ref(), d.message.as_str())
}
