//! The requests, answered from an [`Index`] whose file 0 is the document asked about: hover,
//! go to definition, references, completion and the document's outline.

use super::context::{self, Context, List};
use super::index::{Decl, Index, Kind, Symbol};
use super::uri;
use crate::span::{FileId, Span};
use lsp_types::{
    CompletionItem, CompletionItemKind, DocumentSymbol, Hover, HoverContents, Location, MarkupContent,
    MarkupKind, Position, Range, SymbolKind, Uri,
};
use std::collections::HashSet;

const ROOT: FileId = FileId(0);
/// At most this many rules are listed in a hover.
const HOVER_RULES: usize = 20;

impl Index {
    fn offset(&self, pos: Position) -> usize {
        let text = self.sources.text(ROOT);
        self.lines.first().map_or(0, |l| l.offset(text, pos))
    }

    fn range(&self, span: Span) -> Range {
        let text = self.sources.text(span.file);
        let lines = self.lines.get(span.file.0 as usize);
        lines.map_or_else(Range::default, |l| l.range(text, span.start as usize, span.end as usize))
    }

    fn location(&self, span: Span) -> Option<Location> {
        let uri: Uri = uri::from_path(self.sources.name(span.file)).parse().ok()?;
        Some(Location { uri, range: self.range(span) })
    }

    /// A statement's text on one line, shortened.
    fn one_line(&self, span: Span) -> String {
        let words: Vec<&str> = self.text(span).split_whitespace().collect();
        let line = words.join(" ");
        match line.char_indices().nth(100) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line,
        }
    }

    /// `file:line` of a span, the file relative to the document's folder when it is below it.
    fn place(&self, span: Span) -> String {
        let name = self.sources.name(span.file);
        let folder = std::path::Path::new(self.sources.name(ROOT)).parent();
        let short = folder
            .and_then(|f| std::path::Path::new(name).strip_prefix(f).ok())
            .map_or(name.to_string(), |p| p.display().to_string());
        format!("{short}:{}", self.sources.line_of(span))
    }

    pub fn hover(&self, pos: Position) -> Option<Hover> {
        let offset = self.offset(pos);
        let Some((decl, at)) = self.at(ROOT, offset) else { return self.hover_word(offset) };
        let d = &self.decls[decl];
        let detail = self.one_line(d.detail);
        let mut md = match (d.kind, &d.namespace) {
            (Kind::Workload, Some(ns)) => {
                format!("**workload** `{ns}/{}`\n\nnamespace `{ns}`\n\nselector `{detail}`", d.name)
            }
            (Kind::Workload, None) => {
                format!("**workload** `{}` (outside any namespace)\n\nselector `{detail}`", d.name)
            }
            (Kind::Group, _) => format!("**group** `{}` = `{detail}`", d.name),
            (Kind::Param, _) => format!("**param** `{}`: `{detail}`", d.name),
            (Kind::NamespaceSet, _) => format!("**namespaces** `{}` selector `{detail}`", d.name),
            (Kind::Namespace, _) => {
                let n = self.decls.iter().filter(|w| w.namespace.as_deref() == Some(&d.name)).count();
                format!("**namespace** `{}`: {n} workload{}", d.name, if n == 1 { "" } else { "s" })
            }
        };
        md.push_str(&format!("\n\ndeclared at {}", self.place(d.span)));
        if d.kind != Kind::Namespace {
            self.rules_naming(decl, &mut md);
        }
        Some(self.markdown(md, at))
    }

    fn markdown(&self, value: String, at: Span) -> Hover {
        Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
            range: Some(self.range(at)),
        }
    }

    /// The page of the keyword, built-in peer or protocol at `offset` (from
    /// [`crate::words`]), or what a namespace that no `namespace` line declares stands for.
    fn hover_word(&self, offset: usize) -> Option<Hover> {
        let text = self.sources.text(ROOT);
        let (start, end) = word_at(text, offset)?;
        let word = &text[start..end];
        let before = text[..start].trim_end_matches([' ', '\t']);
        let previous = before.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).next();
        let at = Span::new(ROOT, start, end);
        if previous == Some("namespace")
            && before.ends_with("namespace")
            && crate::words::page(word).is_none()
        {
            let md = format!(
                "**namespace** `{word}` (no `namespace {word}` line in this program declares it)\n\n\
                 As a peer: every pod of the namespace `{word}`, selected by its name."
            );
            return Some(self.markdown(md, at));
        }
        let page = match word {
            "connects" if before.ends_with("never") => crate::words::page("never"),
            _ => crate::words::page(word),
        }?;
        Some(self.markdown(page.to_string(), at))
    }

    /// The statements that name `decl`, one per line.
    fn rules_naming(&self, decl: usize, md: &mut String) {
        let mut seen = HashSet::new();
        let stmts: Vec<Span> = self.uses(decl).map(|r| r.stmt).filter(|s| seen.insert(*s)).collect();
        if stmts.is_empty() {
            md.push_str("\n\nnamed by no rule");
            return;
        }
        md.push_str(&format!(
            "\n\nnamed by {} statement{}:\n",
            stmts.len(),
            if stmts.len() == 1 { "" } else { "s" }
        ));
        for s in stmts.iter().take(HOVER_RULES) {
            md.push_str(&format!("\n- {} `{}`", self.place(*s), self.one_line(*s).replace('`', "'")));
        }
        if stmts.len() > HOVER_RULES {
            md.push_str(&format!("\n- and {} more", stmts.len() - HOVER_RULES));
        }
    }

    pub fn definition(&self, pos: Position) -> Option<Location> {
        let (decl, _) = self.at(ROOT, self.offset(pos))?;
        self.location(self.decls[decl].span)
    }

    pub fn references(&self, pos: Position, include_declaration: bool) -> Vec<Location> {
        let Some((decl, _)) = self.at(ROOT, self.offset(pos)) else { return Vec::new() };
        let own = include_declaration.then_some(self.decls[decl].span);
        own.into_iter().chain(self.uses(decl).map(|r| r.span)).filter_map(|s| self.location(s)).collect()
    }

    /// What fits the cursor ([`context::at`]): peers after `from`, `connects to` or `->`,
    /// protocols after `on`, ports after a protocol, a rule's verbs after its subject, and
    /// keywords and subjects at a statement's start. Declared names come first (those of the
    /// cursor's namespace by their name, others as `ns/name`), then built-in peers, then
    /// keywords.
    pub fn completion(&self, pos: Position) -> Vec<CompletionItem> {
        let offset = self.offset(pos);
        let here = self.namespace_at(ROOT, offset);
        let mut out = Completions::default();
        match context::at(self.sources.text(ROOT), offset) {
            Context::Start => {
                self.names(&mut out, here, |d| matches!(d.kind, Kind::Workload | Kind::Group));
                out.keywords(STATEMENT_WORDS, "starts a statement");
            }
            Context::Verb => {
                out.keywords(&["accepts", "connects to", "refuses", "never connects to", "->"], "rule")
            }
            Context::Words(words) => out.keywords(words, "keyword"),
            Context::AfterAccepts { nothing } => {
                out.protocols();
                out.keywords(&["from"], "keyword");
                if nothing {
                    out.keywords(&["nothing"], "isolated, with no rule");
                }
            }
            Context::Peer { nothing, .. } => {
                self.names(&mut out, here, |d| match d.kind {
                    Kind::Workload | Kind::Group | Kind::NamespaceSet => true,
                    Kind::Param => self.text(d.detail).starts_with("cidr"),
                    Kind::Namespace => false,
                });
                out.builtins();
                out.keywords(&["namespace"], "every pod of a namespace");
                if nothing {
                    out.keywords(&["nothing"], "isolated, with no rule");
                }
            }
            Context::AfterPeer(list) => match list {
                List::To | List::EdgeRight | List::ExpectTo => out.keywords(&["on"], "ports"),
                List::EdgeLeft => out.keywords(&["->"], "edge"),
                List::ExpectFrom => out.keywords(&["can", "cannot"], "expectation"),
                List::From | List::Group => {}
            },
            Context::Namespace => {
                self.names(&mut out, here, |d| d.kind == Kind::Namespace);
            }
            Context::NamespaceSet => {
                self.names(&mut out, here, |d| d.kind == Kind::NamespaceSet);
            }
            Context::Protocol => out.protocols(),
            Context::AfterProtocol { ingress } => {
                self.ports(&mut out, here);
                out.keywords(&["and"], "another protocol");
                if ingress {
                    out.keywords(&["from"], "keyword");
                }
            }
            Context::Port => self.ports(&mut out, here),
            Context::AfterPort { ingress } => {
                out.keywords(&["and"], "another protocol");
                if ingress {
                    out.keywords(&["from"], "keyword");
                }
            }
            Context::Type => {
                for t in TYPES {
                    out.push(t, CompletionItemKind::TYPE_PARAMETER, "parameter type", 3);
                }
            }
            Context::Param => {
                self.names(&mut out, here, |d| d.kind == Kind::Param);
            }
            Context::None => {}
        }
        out.items
    }

    /// The declared names `keep` takes, as they are written at the cursor: in the cursor's
    /// namespace (and global names) first, then workloads of other namespaces as `ns/name`.
    fn names(&self, out: &mut Completions, here: Option<&str>, keep: impl Fn(&Decl) -> bool) {
        for d in self.decls.iter().filter(|d| keep(d)) {
            let (label, rank) = match (&d.namespace, here) {
                (Some(ns), Some(h)) if ns == h => (d.name.clone(), 0),
                (Some(ns), _) => (format!("{ns}/{}", d.name), 1),
                (None, _) => (d.name.clone(), 0),
            };
            let detail = match &d.namespace {
                Some(ns) => format!("workload in `{ns}` {}", self.one_line(d.detail)),
                None => format!("{} {}", d.kind.keyword(), self.one_line(d.detail)),
            };
            out.push(&label, completion_kind(d.kind), detail.trim_end(), rank);
        }
    }

    /// Port parameters, then a few well-known ports.
    fn ports(&self, out: &mut Completions, here: Option<&str>) {
        self.names(out, here, |d| {
            d.kind == Kind::Param && ["port", "int"].iter().any(|t| self.text(d.detail).starts_with(t))
        });
        for (port, what) in WELL_KNOWN_PORTS {
            out.push(port, CompletionItemKind::VALUE, what, 2);
        }
    }

    #[allow(deprecated)] // `DocumentSymbol::deprecated` must be written, as `None`
    pub fn symbols(&self) -> Vec<DocumentSymbol> {
        fn convert(index: &Index, s: &Symbol) -> DocumentSymbol {
            let detail = index.one_line(s.detail);
            DocumentSymbol {
                name: s.name.clone(),
                detail: (!detail.is_empty()).then_some(detail),
                kind: symbol_kind(s.kind),
                tags: None,
                deprecated: None,
                range: index.range(s.span),
                selection_range: index.range(s.name_span),
                children: Some(s.children.iter().map(|c| convert(index, c)).collect()),
            }
        }
        self.outlines.first().map_or(Vec::new(), |o| o.iter().map(|s| convert(self, s)).collect())
    }
}

const TYPES: &[&str] = &["cidr", "bool", "int", "port", "string"];

/// The keywords a statement may start with.
const STATEMENT_WORDS: &[&str] =
    &["namespace", "namespaces", "workload", "group", "param", "if", "default deny", "expect", "import"];

const WELL_KNOWN_PORTS: &[(&str, &str)] =
    &[("53", "DNS"), ("80", "HTTP"), ("443", "HTTPS"), ("8080", "HTTP, alternative"), ("9090", "metrics")];

/// Completion items without repeats; `sort_text` keeps declared names (rank 0, 1) before
/// built-in peers and values (2) and keywords (3), each rank in the order given.
#[derive(Default)]
struct Completions {
    items: Vec<CompletionItem>,
    seen: HashSet<String>,
}

impl Completions {
    fn push(&mut self, label: &str, kind: CompletionItemKind, detail: &str, rank: u8) {
        if !self.seen.insert(label.to_string()) {
            return;
        }
        self.items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail.to_string()),
            sort_text: Some(format!("{rank}{:04}", self.items.len())),
            ..CompletionItem::default()
        });
    }

    fn keywords(&mut self, words: &[&str], detail: &str) {
        for w in words {
            let detail = crate::words::summary(w).unwrap_or(detail);
            self.push(w, CompletionItemKind::KEYWORD, detail, 3);
        }
    }

    fn builtins(&mut self) {
        for w in crate::resolve::RESERVED {
            let detail = crate::words::summary(w).unwrap_or("built-in peer");
            self.push(w, CompletionItemKind::CONSTANT, detail, 2);
        }
    }

    fn protocols(&mut self) {
        for p in ["tcp", "udp", "sctp"] {
            self.push(p, CompletionItemKind::KEYWORD, "protocol", 2);
        }
    }
}

/// The word (or `->`) at byte `offset`, outside comments and strings; a cursor just after a
/// word is on it.
fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let bytes = text.as_bytes();
    let mut start = offset;
    while start > line_start && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < text.len() && is_word(bytes[end]) {
        end += 1;
    }
    // `a->b`: the arrow's `-` is not the name's.
    if end > start && bytes[end - 1] == b'-' && bytes.get(end) == Some(&b'>') {
        end -= 1;
    }
    let (start, end) = if end > start && end >= offset {
        (start, end)
    } else {
        // `->`, with the cursor on either character or just after it.
        let at = (offset.saturating_sub(2).max(line_start)..=offset)
            .find(|&i| text.get(i..i + 2) == Some("->"))?;
        (at, at + 2)
    };
    (!context::in_string_or_comment(&text[line_start..start])).then_some((start, end))
}

fn completion_kind(kind: Kind) -> CompletionItemKind {
    match kind {
        Kind::Workload => CompletionItemKind::CLASS,
        Kind::Group => CompletionItemKind::STRUCT,
        Kind::Param => CompletionItemKind::VARIABLE,
        Kind::NamespaceSet => CompletionItemKind::ENUM,
        Kind::Namespace => CompletionItemKind::MODULE,
    }
}

fn symbol_kind(kind: Kind) -> SymbolKind {
    match kind {
        Kind::Workload => SymbolKind::CLASS,
        Kind::Group => SymbolKind::STRUCT,
        Kind::Param => SymbolKind::VARIABLE,
        Kind::NamespaceSet => SymbolKind::ENUM,
        Kind::Namespace => SymbolKind::NAMESPACE,
    }
}
