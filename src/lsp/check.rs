//! The editor's compile: one document and what it imports, through [`driver::compile`] with
//! `netpol check`'s options (no target), so the codes and messages are the command line's.
//! Open documents come from memory, every other file from disk ([`Overlay`]).

use super::index::{Index, Indexer};
use super::position::LineIndex;
use super::uri;
use crate::cli::FsLoader;
use crate::diagnostic::{self, Severity};
use crate::driver::{self, Loader, Options};
use crate::span::{FileId, SourceMap, Span};
use lsp_types::{Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location};
use lsp_types::{NumberOrString, Uri};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// Files from the open documents (by path) first, else from disk.
pub struct Overlay<'a> {
    pub open: &'a HashMap<String, String>,
}

impl Loader for Overlay<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.open.get(path) {
            return Ok(text.clone());
        }
        let key = self.key(path);
        match self.open.iter().find(|(p, _)| **p == key) {
            Some((_, text)) => Ok(text.clone()),
            None => FsLoader.load(path),
        }
    }

    /// Relative to the importing file, with `.` and `..` taken out, so an import names an open
    /// document by the same path as its URI does, even before it exists on disk.
    fn join(&self, from: &str, import: &str) -> String {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let mut out = PathBuf::new();
        for part in base.join(import).components() {
            match part {
                Component::CurDir => {}
                Component::ParentDir
                    if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
                {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out.display().to_string()
    }

    fn key(&self, path: &str) -> String {
        FsLoader.key(path)
    }

    /// An open document is what the user typed: source, whatever its name.
    fn is_source(&self, path: &str) -> bool {
        self.open.contains_key(path) || self.open.contains_key(&self.key(path)) || FsLoader.is_source(path)
    }
}

/// What the server keeps of one compile of a document.
pub struct Analysis {
    /// The diagnostics of every file the compile read, by path; a file without any has an
    /// empty list, so the editor clears what it showed before.
    pub diagnostics: Vec<(String, Vec<Diagnostic>)>,
    pub index: Index,
}

/// Compiles the document at `root` and indexes it from the same syntax trees.
pub fn analyze(root: &str, loader: &dyn Loader) -> Analysis {
    let mut indexer = Indexer::default();
    let c =
        driver::compile_with_syntax(&[root.to_string()], loader, &Options::default(), &mut |s, f, ast| {
            indexer.file(s, f, ast)
        });
    let diagnostics = convert(&c.sources, &c.diagnostics);
    let index = indexer.finish(c.sources, loader, &c.diagnostics);
    Analysis { diagnostics, index }
}

/// The diagnostics alone, as [`Analysis::diagnostics`].
pub fn check(root: &str, loader: &dyn Loader) -> Vec<(String, Vec<Diagnostic>)> {
    let c = driver::compile(&[root.to_string()], loader, &Options::default());
    convert(&c.sources, &c.diagnostics)
}

/// Converts diagnostics to the protocol's, per file: the message first, then the primary
/// label and the `help:` line on lines of their own (a client that shows one line shows the
/// message); secondary labels ("first declared here") become related information, which
/// editors show as links.
pub fn convert(sources: &SourceMap, diags: &[diagnostic::Diagnostic]) -> Vec<(String, Vec<Diagnostic>)> {
    let lines: Vec<LineIndex> =
        (0..sources.len()).map(|f| LineIndex::new(sources.text(FileId(f as u32)))).collect();
    let range_of = |span: Span| {
        lines
            .get(span.file.0 as usize)
            .map(|l| l.range(sources.text(span.file), span.start as usize, span.end as usize))
    };
    let mut out: Vec<(String, Vec<Diagnostic>)> =
        (0..sources.len()).map(|f| (sources.name(FileId(f as u32)).to_string(), Vec::new())).collect();
    for d in diags {
        let (Some(range), Some(slot)) =
            (range_of(d.primary.span), out.get_mut(d.primary.span.file.0 as usize))
        else {
            continue;
        };
        let related: Vec<DiagnosticRelatedInformation> = d
            .secondary
            .iter()
            .filter_map(|l| {
                let uri: Uri = uri::from_path(sources.name(l.span.file)).parse().ok()?;
                Some(DiagnosticRelatedInformation {
                    location: Location { uri, range: range_of(l.span)? },
                    message: l.message.clone(),
                })
            })
            .collect();
        slot.1.push(Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Note => DiagnosticSeverity::INFORMATION,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("netpol".to_string()),
            message: message(d),
            related_information: (!related.is_empty()).then_some(related),
            tags: (d.code == "W0204").then(|| vec![DiagnosticTag::UNNECESSARY]),
            ..Diagnostic::default()
        });
    }
    out
}

fn message(d: &diagnostic::Diagnostic) -> String {
    let mut m = d.message.clone();
    if !d.primary.message.is_empty() && d.primary.message != d.message {
        m.push('\n');
        m.push_str(&d.primary.message);
    }
    if let Some(help) = &d.help {
        m.push_str("\nhelp: ");
        m.push_str(help);
    }
    m
}
