//! The requests, answered from an [`Index`] whose file 0 is the document asked about: hover,
//! go to definition, references, completion and the document's outline.

use super::index::{Index, Kind, Symbol};
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
        format!("{short}:{}", self.sources.start_of(span).line)
    }

    pub fn hover(&self, pos: Position) -> Option<Hover> {
        let (decl, at) = self.at(ROOT, self.offset(pos))?;
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
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: md }),
            range: Some(self.range(at)),
        })
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

    /// Every keyword and built-in word, and every declared name: a workload of the namespace at
    /// the cursor by its name, one of another namespace as `ns/name`.
    pub fn completion(&self, pos: Position) -> Vec<CompletionItem> {
        let here = self.namespace_at(ROOT, self.offset(pos));
        let mut items: Vec<CompletionItem> = Vec::new();
        let word = |label: &str, kind, detail: &str| CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail.to_string()),
            ..CompletionItem::default()
        };
        items.extend(keywords().iter().map(|k| word(k, CompletionItemKind::KEYWORD, "keyword")));
        items.extend(
            crate::resolve::RESERVED.iter().map(|k| word(k, CompletionItemKind::CONSTANT, "built-in peer")),
        );
        items.extend(["tcp", "udp", "sctp"].iter().map(|k| word(k, CompletionItemKind::KEYWORD, "protocol")));
        items.extend(TYPES.iter().map(|k| word(k, CompletionItemKind::TYPE_PARAMETER, "parameter type")));
        let mut seen = HashSet::new();
        for d in &self.decls {
            let label = match (&d.namespace, here) {
                (Some(ns), Some(h)) if ns == h => d.name.clone(),
                (Some(ns), _) => format!("{ns}/{}", d.name),
                (None, _) => d.name.clone(),
            };
            let detail = match &d.namespace {
                Some(ns) => format!("workload in `{ns}` {}", self.one_line(d.detail)),
                None => format!("{} {}", d.kind.keyword(), self.one_line(d.detail)),
            };
            if seen.insert(label.clone()) {
                items.push(word(&label, completion_kind(d.kind), detail.trim_end()));
            }
        }
        items
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

/// Every keyword of `grammar/netpol.pest`: the words of its `kw_*` rules, read from the
/// grammar itself so the two cannot drift apart.
fn keywords() -> &'static [&'static str] {
    static WORDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("../../grammar/netpol.pest")
            .lines()
            .filter(|l| l.starts_with("kw_"))
            .filter_map(|l| l.split('"').nth(1))
            .collect()
    })
}
const TYPES: &[&str] = &["cidr", "bool", "int", "port", "string"];

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
