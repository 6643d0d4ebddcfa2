//! The names of a program and every place each is written: declarations, use sites, namespace
//! scopes and an outline per file. Built from the syntax tree (which has a span on every node)
//! for hover, go to definition, references, completion and document symbols; `resolve` keeps
//! no use sites, and the index must also work on a file that does not compile.
//!
//! Lookup follows `resolve`: a bare name is a workload of the current namespace, else a group,
//! a namespace set or a parameter; `ns/name` is the workload `name` of `ns`; a name in port
//! position is a parameter when one has that name. Unlike `resolve`, every branch of every `if`
//! is indexed, whatever the parameters' values.
//!
//! A file with syntax errors still gets an index: the lines the parser rejects are blanked
//! (same length, so every other span holds) and the rest is parsed again.

use super::position::LineIndex;
use crate::diagnostic::Diagnostic;
use crate::driver::Loader;
use crate::span::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Workload,
    Group,
    Param,
    NamespaceSet,
    Namespace,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Workload => "workload",
            Kind::Group => "group",
            Kind::Param => "param",
            Kind::NamespaceSet => "namespaces",
            Kind::Namespace => "namespace",
        }
    }
}

/// A declared name. Namespaces are declared by their first `namespace` line or block.
#[derive(Clone, Debug)]
pub struct Decl {
    pub kind: Kind,
    pub name: String,
    /// The namespace a workload lives in (`None` for the other kinds, and for a workload
    /// declared outside any namespace).
    pub namespace: Option<String>,
    /// The name where it is declared.
    pub span: Span,
    /// The whole declaration.
    pub stmt: Span,
    /// The declaration's own text after the name: a selector, a group's members, a type.
    pub detail: Span,
}

/// A use of a declared name.
#[derive(Clone, Copy, Debug)]
pub struct Ref {
    pub span: Span,
    pub decl: usize,
    /// The statement the use is in: a rule, an edge, an `expect`, a group, an `if`.
    pub stmt: Span,
}

/// An entry of a file's outline.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub kind: Kind,
    pub name: String,
    pub detail: Span,
    pub name_span: Span,
    pub span: Span,
    pub children: Vec<Symbol>,
}

#[derive(Default)]
pub struct Index {
    /// The texts indexed: the root document is file 0, its imports follow.
    pub sources: SourceMap,
    pub decls: Vec<Decl>,
    /// Sorted by file and position.
    pub refs: Vec<Ref>,
    /// The outline of each file, by file id.
    pub outlines: Vec<Vec<Symbol>>,
    /// Where a namespace applies: file, byte range, namespace.
    scopes: Vec<(FileId, u32, u32, String)>,
    /// Whether the root document parsed, at least after blanking the lines in error.
    pub root_parsed: bool,
    /// Line starts of each file, by file id.
    pub(super) lines: Vec<LineIndex>,
}

impl Index {
    /// Indexes the file at `root` and everything it imports, once each, parsing them itself.
    pub fn build(root: &str, loader: &dyn Loader) -> Index {
        let mut sources = SourceMap::new();
        sources.add(root, loader.load(root).unwrap_or_default());
        Indexer::default().finish(sources, loader, &[])
    }

    /// The text of `span`.
    pub fn text(&self, span: Span) -> &str {
        self.sources.text(span.file).get(span.range()).unwrap_or("")
    }

    /// The declaration whose name, or a use of it, is at byte `offset` of `file` (a cursor just
    /// after a name is on it).
    pub fn at(&self, file: FileId, offset: usize) -> Option<(usize, Span)> {
        let offset = offset as u32;
        let on = |s: &Span| s.file == file && s.start <= offset && offset <= s.end;
        let first = self.refs.partition_point(|r| (r.span.file, r.span.end) < (file, offset));
        if let Some(r) = self.refs[first..].iter().take_while(|r| r.span.file == file).find(|r| on(&r.span)) {
            return Some((r.decl, r.span));
        }
        self.decls.iter().position(|d| on(&d.span)).map(|i| (i, self.decls[i].span))
    }

    /// The byte range of the statement of the root document that names something at
    /// `offset`: a rule or edge by a use in it, a declaration by its name.
    pub fn statement_at(&self, offset: usize) -> Option<(usize, usize)> {
        let offset = offset as u32;
        let on = |s: &Span| s.file == FileId(0) && s.start <= offset && offset <= s.end;
        let stmt = match self.refs.iter().find(|r| on(&r.span)) {
            Some(r) => r.stmt,
            None => self.decls.iter().find(|d| on(&d.span))?.stmt,
        };
        Some((stmt.start as usize, stmt.end as usize))
    }

    /// The byte range of the declaration of the root document whose name is at `offset`.
    pub fn declaration_at(&self, offset: usize) -> Option<(usize, usize)> {
        let offset = offset as u32;
        let d = self
            .decls
            .iter()
            .find(|d| d.span.file == FileId(0) && d.span.start <= offset && offset <= d.span.end)?;
        (d.kind != Kind::Namespace).then_some((d.stmt.start as usize, d.stmt.end as usize))
    }

    /// Every use of declaration `decl`, in file and position order.
    pub fn uses(&self, decl: usize) -> impl Iterator<Item = &Ref> {
        self.refs.iter().filter(move |r| r.decl == decl)
    }

    /// The namespace that applies at byte `offset` of `file`.
    pub fn namespace_at(&self, file: FileId, offset: usize) -> Option<&str> {
        let offset = offset as u32;
        self.scopes
            .iter()
            .filter(|(f, start, end, _)| *f == file && *start <= offset && offset <= *end)
            .min_by_key(|(_, start, end, _)| end - start)
            .map(|(_, _, _, ns)| ns.as_str())
    }
}

/// Builds an [`Index`] along a compile ([`crate::driver::compile_with_syntax`]): the files the
/// compile parsed are walked as they come, without parsing them again; the others (syntax
/// errors) are parsed line by line at the end, with what they import.
#[derive(Default)]
pub struct Indexer {
    b: Builder,
    outlines: Vec<(FileId, Vec<Symbol>)>,
}

impl Indexer {
    pub fn file(&mut self, sources: &SourceMap, file: FileId, ast: &ast::File) {
        let outline = self.b.file(file, sources.text(file).len(), &ast.items);
        self.outlines.push((file, outline));
    }

    /// The index of the files in `sources` (the root is the first) and of what the ones not
    /// walked yet import; `diagnostics` are the compile's, whose syntax errors say which lines
    /// to leave out.
    pub fn finish(mut self, sources: SourceMap, loader: &dyn Loader, diagnostics: &[Diagnostic]) -> Index {
        self.b.index.sources = sources;
        let count = self.b.index.sources.len() as u32;
        let mut seen: HashSet<String> =
            (0..count).map(|f| loader.key(self.b.index.sources.name(FileId(f)))).collect();
        let walked: HashSet<FileId> = self.outlines.iter().map(|(f, _)| *f).collect();
        let mut stack: Vec<FileId> = (0..count).rev().map(FileId).filter(|f| !walked.contains(f)).collect();
        self.b.index.root_parsed = walked.contains(&FileId(0));
        while let Some(file) = stack.pop() {
            let sources = &self.b.index.sources;
            let known: Vec<usize> = diagnostics
                .iter()
                .filter(|d| d.primary.span.file == file && d.code.starts_with("E00"))
                .map(|d| d.primary.span.start as usize)
                .collect();
            let Some(ast) = parse_tolerant(file, sources.text(file), &known) else { continue };
            self.b.index.root_parsed |= file == FileId(0);
            let path = sources.name(file).to_string();
            for item in ast.items.iter().rev() {
                let ast::Item::Import(i) = item else { continue };
                let import = loader.join(&path, &i.value);
                if seen.insert(loader.key(&import)) {
                    if let Ok(text) = loader.load(&import) {
                        // Nothing of a file that is not netpol source and does not parse goes
                        // into hover, completion or symbols (see `Loader::is_source`).
                        let keep = loader.is_source(&import) || syntax::parse(file, &text).is_ok();
                        let text = if keep { text } else { String::new() };
                        stack.push(self.b.index.sources.add(import, text));
                    }
                }
            }
            let len = self.b.index.sources.text(file).len();
            let outline = self.b.file(file, len, &ast.items);
            self.outlines.push((file, outline));
        }
        let sources = &self.b.index.sources;
        self.b.index.lines =
            (0..sources.len()).map(|f| LineIndex::new(sources.text(FileId(f as u32)))).collect();
        self.b.index.outlines = vec![Vec::new(); self.b.index.sources.len()];
        for (file, outline) in self.outlines {
            self.b.index.outlines[file.0 as usize] = outline;
        }
        self.b.finish()
    }
}

/// Parses `text`, blanking the lines with errors until the rest parses (a few rounds at most).
/// The lines at `known` (the compile's syntax errors) are blanked from the start, which usually
/// leaves one parse to do.
fn parse_tolerant(file: FileId, text: &str, known: &[usize]) -> Option<ast::File> {
    let mut patched = match known {
        [] => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(blank_lines(text, known.iter().copied())),
    };
    for _ in 0..4 {
        match syntax::parse(file, &patched) {
            Ok(ast) => return Some(ast),
            Err(errors) => {
                let next = blank_lines(&patched, errors.iter().map(|e| e.span().start as usize));
                if next == *patched {
                    return None;
                }
                patched = std::borrow::Cow::Owned(next);
            }
        }
    }
    None
}

/// `text` with each line that holds one of `offsets` replaced by spaces, byte for byte.
fn blank_lines(text: &str, offsets: impl Iterator<Item = usize>) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for at in offsets {
        let at = at.min(text.len());
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        bytes[start..end].iter_mut().filter(|b| **b != b'\r').for_each(|b| *b = b' ');
    }
    // Whole lines of whole characters were replaced by ASCII, so this is still UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

/// A use not yet bound: declarations from every file are known first.
enum Pending {
    Name { r: ast::NameRef, ns: Option<String> },
    Param(ast::Ident),
    PortName(ast::Ident),
    Namespace(ast::Ident),
}

#[derive(Default)]
struct Builder {
    index: Index,
    pending: Vec<(Pending, Span)>,
    workloads: HashMap<(Option<String>, String), usize>,
    globals: HashMap<String, usize>,
    namespaces: HashMap<String, usize>,
}

impl Builder {
    /// One file's items; the namespace of a `namespace` line holds to the file's end, or to
    /// the next `namespace` line.
    fn file(&mut self, file: FileId, len: usize, items: &[ast::Item]) -> Vec<Symbol> {
        let end = len as u32;
        let mut out = Vec::new();
        let mut ns: Option<String> = None;
        let mut open: Option<(Symbol, usize)> = None;
        for item in items {
            if let ast::Item::NamespaceStmt(id) = item {
                if let Some((s, scope)) = open.take() {
                    self.index.scopes[scope].2 = id.span.start;
                    out.push(close(s));
                }
                self.index.scopes.push((file, id.span.start, end, id.name.clone()));
                self.declare(Kind::Namespace, id, None, id.span, Span::new(file, 0, 0));
                ns = Some(id.name.clone());
                let s = symbol(Kind::Namespace, id, id.span, Span::new(file, 0, 0));
                open = Some((s, self.index.scopes.len() - 1));
                continue;
            }
            let into = match &mut open {
                Some((s, _)) => &mut s.children,
                None => &mut out,
            };
            self.item(item, ns.as_deref(), into);
        }
        out.extend(open.map(|(s, _)| close(s)));
        out
    }

    fn item(&mut self, item: &ast::Item, ns: Option<&str>, out: &mut Vec<Symbol>) {
        match item {
            ast::Item::Param(p) => {
                let detail = p.ty.span.to(p.default.as_ref().map_or(p.ty.span, |d| d.span));
                out.push(self.declare(Kind::Param, &p.name, None, p.span, detail));
            }
            ast::Item::NamespaceBlock(b) => {
                self.declare(Kind::Namespace, &b.name, None, b.span, Span::new(b.span.file, 0, 0));
                self.index.scopes.push((b.span.file, b.span.start, b.span.end, b.name.name.clone()));
                let mut s = symbol(Kind::Namespace, &b.name, b.span, Span::new(b.span.file, 0, 0));
                for i in &b.items {
                    self.item(i, Some(&b.name.name), &mut s.children);
                }
                out.push(s);
            }
            ast::Item::Namespaces(d) => {
                out.push(self.declare(Kind::NamespaceSet, &d.name, None, d.span, d.selector.span))
            }
            ast::Item::Workload(d) => {
                out.push(self.declare(Kind::Workload, &d.name, ns, d.span, d.selector.span))
            }
            ast::Item::Group(g) => {
                let detail = g.peers.iter().map(ast::Peer::span).reduce(Span::to).unwrap_or(g.name.span);
                out.push(self.declare(Kind::Group, &g.name, None, g.span, detail));
                self.peers(&g.peers, ns, g.span);
            }
            ast::Item::If(b) => {
                for branch in &b.branches {
                    let c = &branch.condition;
                    self.pending.push((Pending::Param(c.param.clone()), c.span));
                    for i in &branch.items {
                        self.item(i, ns, out);
                    }
                }
                for i in &b.otherwise {
                    self.item(i, ns, out);
                }
            }
            ast::Item::Expect(e) => {
                self.peers(std::slice::from_ref(&e.from), ns, e.span);
                self.peers(std::slice::from_ref(&e.to), ns, e.span);
                self.ports(e.ports.as_ref(), e.span);
            }
            ast::Item::Rule(r) => {
                self.pending
                    .push((Pending::Name { r: r.subject.clone(), ns: ns.map(str::to_string) }, r.span));
                let (peers, ports) = match &r.body {
                    ast::RuleBody::Accepts { ports, peers }
                    | ast::RuleBody::Refuses { ports, peers }
                    | ast::RuleBody::Connects { peers, ports }
                    | ast::RuleBody::NeverConnects { peers, ports } => (&peers[..], ports.as_ref()),
                    ast::RuleBody::AcceptsNothing | ast::RuleBody::ConnectsNothing => (&[][..], None),
                };
                self.peers(peers, ns, r.span);
                self.ports(ports, r.span);
            }
            ast::Item::Edge(e) => {
                self.peers(&e.from, ns, e.span);
                self.peers(&e.to, ns, e.span);
                self.ports(e.ports.as_ref(), e.span);
            }
            ast::Item::Import(_) | ast::Item::NamespaceStmt(_) | ast::Item::DefaultDeny(_) => {}
        }
    }

    fn peers(&mut self, peers: &[ast::Peer], ns: Option<&str>, stmt: Span) {
        for p in peers {
            match p {
                ast::Peer::Name(r) => {
                    self.pending.push((Pending::Name { r: r.clone(), ns: ns.map(str::to_string) }, stmt))
                }
                ast::Peer::Namespace(id) => self.pending.push((Pending::Namespace(id.clone()), stmt)),
                ast::Peer::In(w) => {
                    let ns = ns.map(str::to_string);
                    self.pending.push((Pending::Name { r: w.workload.clone(), ns: ns.clone() }, stmt));
                    let set = ast::NameRef { namespace: None, name: w.namespaces.clone() };
                    self.pending.push((Pending::Name { r: set, ns }, stmt));
                }
                _ => {}
            }
        }
    }

    fn ports(&mut self, spec: Option<&ast::PortSpec>, stmt: Span) {
        for g in spec.iter().flat_map(|s| &s.groups) {
            for item in &g.ports {
                if let ast::PortItem::Name(id) = item {
                    self.pending.push((Pending::PortName((**id).clone()), stmt));
                }
            }
        }
    }

    /// Declares `name`; a later declaration of a name already taken (an error the compiler
    /// reports) is recorded as a use of the first.
    fn declare(
        &mut self,
        kind: Kind,
        name: &ast::Ident,
        ns: Option<&str>,
        stmt: Span,
        detail: Span,
    ) -> Symbol {
        let id = self.index.decls.len();
        let namespace = ns.filter(|_| kind == Kind::Workload).map(str::to_string);
        let key = name.name.clone();
        let first = *match kind {
            Kind::Workload => self.workloads.entry((namespace.clone(), key)).or_insert(id),
            Kind::Namespace => self.namespaces.entry(key).or_insert(id),
            _ => self.globals.entry(key).or_insert(id),
        };
        if first == id {
            let decl = Decl { kind, name: name.name.clone(), namespace, span: name.span, stmt, detail };
            self.index.decls.push(decl);
        } else {
            self.index.refs.push(Ref { span: name.span, decl: first, stmt });
        }
        symbol(kind, name, stmt, detail)
    }

    fn finish(mut self) -> Index {
        for (p, stmt) in std::mem::take(&mut self.pending) {
            match p {
                Pending::Name { r, ns } => self.bind_name(&r, ns, stmt),
                Pending::Param(id) | Pending::PortName(id) => {
                    let decl =
                        self.globals.get(&id.name).filter(|&&d| self.index.decls[d].kind == Kind::Param);
                    self.bind(decl.copied(), id.span, stmt);
                }
                Pending::Namespace(id) => self.bind(self.namespaces.get(&id.name).copied(), id.span, stmt),
            }
        }
        self.index.refs.sort_by_key(|r| (r.span.file, r.span.start, r.span.end));
        self.index
    }

    fn bind_name(&mut self, r: &ast::NameRef, ns: Option<String>, stmt: Span) {
        if let Some(q) = &r.namespace {
            self.bind(self.namespaces.get(&q.name).copied(), q.span, stmt);
            let w = self.workloads.get(&(Some(q.name.clone()), r.name.name.clone())).copied();
            return self.bind(w, r.name.span, stmt);
        }
        let decl = self
            .workloads
            .get(&(ns, r.name.name.clone()))
            .or_else(|| self.globals.get(&r.name.name))
            .copied();
        self.bind(decl, r.name.span, stmt);
    }

    fn bind(&mut self, decl: Option<usize>, span: Span, stmt: Span) {
        if let Some(decl) = decl {
            self.index.refs.push(Ref { span, decl, stmt });
        }
    }
}

fn symbol(kind: Kind, name: &ast::Ident, span: Span, detail: Span) -> Symbol {
    Symbol { kind, name: name.name.clone(), detail, name_span: name.span, span, children: Vec::new() }
}

/// A `namespace` line's symbol covers the items after it.
fn close(mut s: Symbol) -> Symbol {
    if let Some(last) = s.children.iter().map(|c| c.span).reduce(Span::to) {
        s.span = s.span.to(last);
    }
    s
}

#[cfg(test)]
mod tests;
