//! The open documents and, for each, its last compile: diagnostics per file, the index, and
//! which files it read. Diagnostics of a file are the union of what every open document's
//! compile says about it, so an imported file shows its problems once, whoever imports it.

use super::check::{analyze, check, Overlay};
use super::index::Index;
use super::uri;
use crate::driver::Loader;
use lsp_types::{Diagnostic, PublishDiagnosticsParams, Uri};
use std::collections::{BTreeSet, HashMap, HashSet};

struct Document {
    path: String,
    version: i32,
    /// The last compile of this document as the program's root.
    compiled: Option<Compiled>,
    stale: bool,
}

struct Compiled {
    index: Index,
    /// By URI, every file the compile read.
    diagnostics: HashMap<String, Vec<Diagnostic>>,
    /// The loader's keys of the files read, to know which documents a change concerns.
    read: HashSet<String>,
}

#[derive(Default)]
pub struct Workspace {
    /// By URI.
    documents: HashMap<String, Document>,
    /// The open documents' texts, by path: the [`Overlay`] over the disk.
    texts: HashMap<String, String>,
    /// URIs whose diagnostics must be sent again.
    dirty: BTreeSet<String>,
}

impl Workspace {
    pub fn open(&mut self, uri: &str, text: String, version: i32) {
        let path = uri::to_path(uri);
        self.texts.insert(path.clone(), text);
        self.documents.insert(uri.to_string(), Document { path, version, compiled: None, stale: true });
        self.touched(uri);
    }

    pub fn change(&mut self, uri: &str, text: String, version: i32) {
        let Some(doc) = self.documents.get_mut(uri) else { return };
        doc.version = version;
        self.texts.insert(doc.path.clone(), text);
        self.touched(uri);
    }

    /// The text of an open document.
    pub fn text(&self, uri: &str) -> Option<&str> {
        self.documents.get(uri).and_then(|d| self.texts.get(&d.path)).map(String::as_str)
    }

    /// A save may come with changes on disk to files no document has open: compile them all.
    pub fn saved(&mut self) {
        self.documents.values_mut().for_each(|d| d.stale = true);
    }

    pub fn close(&mut self, uri: &str) {
        let Some(doc) = self.documents.remove(uri) else { return };
        self.texts.remove(&doc.path);
        self.dirty.insert(uri.to_string());
        if let Some(c) = doc.compiled {
            self.dirty.extend(c.diagnostics.into_keys());
        }
        self.touched(uri);
    }

    /// Marks the documents whose compile read the file of `uri` (and that document).
    fn touched(&mut self, uri: &str) {
        let path = uri::to_path(uri);
        let key = Overlay { open: &self.texts }.key(&path);
        for (u, d) in &mut self.documents {
            let read = d.compiled.as_ref().is_some_and(|c| c.read.contains(&key));
            if u == uri || read {
                d.stale = true;
            }
        }
    }

    /// What the last compile of the open document `uri` says about the document itself.
    pub fn own_diagnostics(&self, uri: &str) -> Option<&[Diagnostic]> {
        let c = self.documents.get(uri)?.compiled.as_ref()?;
        c.diagnostics.get(uri).map(Vec::as_slice)
    }

    /// Whether the document `uri` with the text `patched` parses, no longer has `fixed`, and
    /// has no error that is not among `before` (its diagnostics now): what a quick fix must do.
    pub fn fix_holds(&self, uri: &str, patched: String, fixed: &Diagnostic, before: &[Diagnostic]) -> bool {
        let Some(doc) = self.documents.get(uri) else { return false };
        let mut texts = self.texts.clone();
        texts.insert(doc.path.clone(), patched);
        let overlay = Overlay { open: &texts };
        let after = check(&doc.path, &overlay);
        let Some((_, own)) = after.iter().find(|(path, _)| *path == doc.path) else { return false };
        let id = super::actions::identity;
        let new_error = |d: &&Diagnostic| {
            d.severity == Some(lsp_types::DiagnosticSeverity::ERROR) && !before.iter().any(|b| id(b) == id(d))
        };
        let all = after.iter().flat_map(|(_, d)| d);
        !own.iter().any(|d| id(d) == id(fixed)) && !all.clone().any(|d| new_error(&d))
    }

    /// The index of an open document, compiled and current.
    pub fn index(&self, uri: &Uri) -> Option<&Index> {
        self.documents.get(uri.as_str())?.compiled.as_ref().map(|c| &c.index)
    }

    /// Compiles the stale documents; returns the diagnostics to publish.
    pub fn refresh(&mut self) -> Vec<PublishDiagnosticsParams> {
        let stale: Vec<String> =
            self.documents.iter().filter(|(_, d)| d.stale).map(|(u, _)| u.clone()).collect();
        for u in stale {
            self.compile(&u);
        }
        let dirty = std::mem::take(&mut self.dirty);
        dirty.into_iter().filter_map(|u| self.publish(&u)).collect()
    }

    fn compile(&mut self, uri: &str) {
        let Some(doc) = self.documents.get(uri) else { return };
        let overlay = Overlay { open: &self.texts };
        let mut diagnostics = HashMap::new();
        let mut read = HashSet::new();
        let analysis = analyze(&doc.path, &overlay);
        for (path, d) in analysis.diagnostics {
            read.insert(overlay.key(&path));
            let uri = self.uri_of(&path);
            if !d.is_empty() {
                self.dirty.insert(uri.clone());
            }
            diagnostics.insert(uri, d);
        }
        let mut index = analysis.index;
        let Some(doc) = self.documents.get_mut(uri) else { return };
        if let Some(old) = doc.compiled.take() {
            // Clear what this document said before about files it no longer reads or that are clean.
            self.dirty.extend(old.diagnostics.into_iter().filter(|(_, d)| !d.is_empty()).map(|(u, _)| u));
            // A document that does not parse even line by line keeps its last index, whose
            // positions are its last text's: better than no completion while typing.
            if !index.root_parsed && old.index.root_parsed {
                index = old.index;
            }
        }
        self.dirty.insert(uri.to_string());
        doc.compiled = Some(Compiled { index, diagnostics, read });
        doc.stale = false;
    }

    /// The URI of a path: the client's own for an open document.
    fn uri_of(&self, path: &str) -> String {
        match self.documents.iter().find(|(_, d)| d.path == path) {
            Some((uri, _)) => uri.clone(),
            None => uri::from_path(path),
        }
    }

    /// The diagnostics of `uri` from every open document's compile.
    fn publish(&self, uri: &str) -> Option<PublishDiagnosticsParams> {
        let mut all: Vec<Diagnostic> = Vec::new();
        let mut sources = 0;
        for d in self.documents.values() {
            if let Some(list) = d.compiled.as_ref().and_then(|c| c.diagnostics.get(uri)) {
                sources += 1;
                for diag in list {
                    if sources == 1 || !all.contains(diag) {
                        all.push(diag.clone());
                    }
                }
            }
        }
        all.sort_by_key(|d| (d.range.start, d.range.end));
        let version = self.documents.get(uri).map(|d| d.version);
        Some(PublishDiagnosticsParams { uri: uri.parse().ok()?, diagnostics: all, version })
    }
}
