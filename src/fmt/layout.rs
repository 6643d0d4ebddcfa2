//! The parse tree → [`Line`]s. One function per grammar construct writes its tokens with
//! canonical spacing; before every token the gap of source text in front of it is read
//! ([`trivia::scan`]), so each comment and line break is seen exactly once, wherever the
//! grammar allowed it. Columns are aligned afterwards, by [`super::render`].

use super::trivia::{self, Trivia};
use crate::syntax::Rule;
use pest::iterators::Pair;

type P<'i> = Pair<'i, Rule>;

/// What a one-line statement aligns with its neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// `workload NAME { … }`: the selectors.
    Workload,
    /// `namespaces NAME { … }`: the selectors.
    Namespaces,
    /// `group NAME = …`: the `=`.
    Group,
    /// A rule, an edge or a default deny: the reasons.
    Rule,
}

impl Class {
    /// Spaces between the longest head of a run and the aligned part.
    pub(super) fn gap(self) -> usize {
        match self {
            Class::Rule => 2,
            _ => 1,
        }
    }
}

/// One output line, before alignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Line {
    Code {
        indent: usize,
        text: String,
        /// Where the aligned part of `text` starts (only read when `class` is set).
        tail_at: Option<usize>,
        /// Set when the line is a whole statement that aligns with its neighbours.
        class: Option<Class>,
        comment: Option<String>,
    },
    Comment {
        indent: usize,
        text: String,
    },
    Blank,
}

/// How the gap in front of a token is laid out when it holds a line break or a comment.
#[derive(Clone, Copy)]
struct Brk {
    /// Indentation of comment lines in the gap.
    comments: usize,
    /// Indentation of the line the next token starts.
    next: usize,
    /// Break the line even when the source does not.
    force: bool,
    /// Keep a blank line at the start (right after the previous token's line) …
    lead_blank: bool,
    /// … and at the end (right before the next token's line).
    trail_blank: bool,
}

struct Cur {
    indent: usize,
    text: String,
    tail_at: Option<usize>,
    class: Option<Class>,
    comment: Option<String>,
}

pub(super) struct Writer<'s> {
    src: &'s str,
    /// Source text before this byte has been laid out.
    pos: usize,
    lines: Vec<Line>,
    cur: Option<Cur>,
    /// Spaces before the next token on the current line.
    space: usize,
    /// Column of continuation lines inside the current statement.
    cont: usize,
    /// Indentation of the current statement.
    stmt: usize,
}

/// Lays out a parsed `file`.
pub(super) fn file(src: &str, file: P) -> Vec<Line> {
    let mut w = Writer { src, pos: 0, lines: Vec::new(), cur: None, space: 0, cont: 0, stmt: 0 };
    let items: Vec<P> = file.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect();
    w.items(items, 0);
    let end = Brk { comments: 0, next: 0, force: true, lead_blank: true, trail_blank: false };
    w.gap(src.len(), end);
    w.cur = None; // the empty line the break opened
    w.lines
}

impl<'s> Writer<'s> {
    // ---- the line buffer ---------------------------------------------------------------------

    fn cur(&mut self) -> &mut Cur {
        self.cur.get_or_insert_with(|| Cur {
            indent: 0,
            text: String::new(),
            tail_at: None,
            class: None,
            comment: None,
        })
    }

    fn flush(&mut self) {
        if let Some(c) = self.cur.take().filter(|c| !c.text.is_empty() || c.comment.is_some()) {
            let Cur { indent, text, tail_at, class, comment } = c;
            self.lines.push(Line::Code { indent, text, tail_at, class, comment });
        }
    }

    /// Writes `text` after the pending spaces.
    fn put(&mut self, text: &str) {
        let space = self.space;
        let cur = self.cur();
        if !cur.text.is_empty() {
            cur.text.extend(std::iter::repeat_n(' ', space));
        }
        cur.text.push_str(text);
        self.space = 1;
    }

    /// Writes punctuation that sticks to the token before it (`,`, `:`).
    fn stick(&mut self, text: &str) {
        self.space = 0;
        self.put(text);
    }

    /// The column the next token starts at.
    fn col(&mut self) -> usize {
        let space = self.space;
        let cur = self.cur();
        let width = cur.text.chars().count();
        cur.indent + width + if width > 0 { space } else { 0 }
    }

    fn indent(&mut self) -> usize {
        self.cur().indent
    }

    // ---- gaps ----------------------------------------------------------------------------------

    /// Lays out the source between the last token and byte `to`: a trailing comment stays on
    /// its line, full-line comments become comment lines, runs of blank lines become one. When
    /// the gap breaks the line (or `b.force`), the next token starts a new line. Returns whether
    /// it did.
    fn gap(&mut self, to: usize, b: Brk) -> bool {
        let found = trivia::scan(&self.src[self.pos..to]);
        self.pos = to;
        let breaks = found.contains(&Trivia::Newline);
        let mut rest = found.as_slice();
        if self.cur.as_ref().is_some_and(|c| !c.text.is_empty()) {
            let trailing = rest.iter().take_while(|t| **t != Trivia::Newline).count();
            if let Some(Trivia::Comment(c)) = rest.first() {
                self.cur().comment = Some(c.clone());
            }
            rest = rest.get(trailing + 1..).unwrap_or(&[]);
        }
        if !breaks && !b.force {
            return false;
        }
        self.flush();
        let mut new = Vec::new();
        let mut line_has_comment = false;
        for t in rest {
            match t {
                Trivia::Comment(c) => {
                    new.push(Line::Comment { indent: b.comments, text: c.clone() });
                    line_has_comment = true;
                }
                Trivia::Newline if !line_has_comment => new.push(Line::Blank),
                Trivia::Newline => line_has_comment = false,
            }
        }
        new.dedup_by(|a, b| *a == Line::Blank && *b == Line::Blank);
        if !b.lead_blank && new.first() == Some(&Line::Blank) {
            new.remove(0);
        }
        if !b.trail_blank && new.last() == Some(&Line::Blank) {
            new.pop();
        }
        self.lines.append(&mut new);
        self.cur =
            Some(Cur { indent: b.next, text: String::new(), tail_at: None, class: None, comment: None });
        self.space = 0;
        true
    }

    /// The gap before a token inside a statement: it may only break where the source does,
    /// and continuation lines start at [`Writer::cont`].
    fn settle(&mut self, to: usize) {
        let b =
            Brk { comments: self.cont, next: self.cont, force: false, lead_blank: true, trail_blank: true };
        self.gap(to, b);
    }

    /// One token, as written.
    fn leaf(&mut self, p: &P) {
        self.settle(p.as_span().start());
        self.put(p.as_str());
        self.pos = p.as_span().end();
        if p.as_rule() == Rule::negation {
            self.space = 0;
        }
    }

    // ---- blocks --------------------------------------------------------------------------------

    /// Statements, one per line at `indent`, with the comments and blank lines around them.
    fn items(&mut self, items: Vec<P>, indent: usize) {
        for (i, item) in items.into_iter().enumerate() {
            let b = Brk { comments: indent, next: indent, force: true, lead_blank: i > 0, trail_blank: true };
            self.gap(item.as_span().start(), b);
            self.item(item, indent);
        }
    }

    /// `{ statements }` whose `{` is at `open` and `}` at `close`; `{}` when there is nothing
    /// inside, not even a comment.
    fn block(&mut self, open: usize, items: Vec<P>, close: usize) {
        self.settle(open);
        self.put("{");
        self.pos = open + 1;
        let outer = self.indent();
        let empty = items.is_empty();
        if empty && trivia::comments(&self.src[self.pos..close]).is_empty() {
            self.pos = close;
            self.stick("}");
            self.pos = close + 1;
            return;
        }
        self.items(items, outer + 2);
        let b = Brk { comments: outer + 2, next: outer, force: true, lead_blank: !empty, trail_blank: false };
        self.gap(close, b);
        self.put("}");
        self.pos = close + 1;
    }

    fn item(&mut self, p: P, indent: usize) {
        let start = self.lines.len();
        (self.stmt, self.cont) = (indent, indent + 4);
        let class = match p.as_rule() {
            Rule::workload_decl => Some(Class::Workload),
            Rule::namespaces_decl => Some(Class::Namespaces),
            Rule::group_decl => Some(Class::Group),
            Rule::rule_stmt | Rule::edge | Rule::default_deny => Some(Class::Rule),
            _ => None,
        };
        match p.as_rule() {
            Rule::namespace_block => self.namespace_block(p),
            Rule::if_block => self.if_block(p),
            _ => self.node(p),
        }
        if self.lines.len() == start {
            self.cur().class = class;
        }
    }

    fn namespace_block(&mut self, p: P) {
        let close = p.as_span().end() - 1;
        let mut it = p.into_inner();
        for _ in 0..2 {
            let leaf = it.next().expect("grammar: namespace NAME");
            self.leaf(&leaf);
        }
        let open = self.src[self.pos..close].find('{').map_or(close, |i| self.pos + i);
        self.block(open, it.collect(), close);
    }

    fn if_block(&mut self, p: P) {
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::block => {
                    let s = part.as_span();
                    self.block(s.start(), part.into_inner().collect(), s.end() - 1);
                }
                _ => self.node(part),
            }
        }
    }

    // ---- statements --------------------------------------------------------------------------

    /// Any construct inside a statement.
    fn node(&mut self, p: P) {
        match p.as_rule() {
            Rule::string => return self.leaf(&p),
            Rule::workload_decl | Rule::namespaces_decl => return self.selector_decl(p),
            Rule::group_decl => return self.group_decl(p),
            Rule::param_decl => return self.param_decl(p),
            Rule::selector => return self.bracket(p, "{", "}", true),
            Rule::value_list | Rule::cidr_list => return self.bracket(p, "(", ")", false),
            Rule::sel_eq => return self.sel_eq(p),
            Rule::sel_bang => return self.sel_bang(p),
            Rule::reason => return self.reason(p),
            Rule::peer_list | Rule::proto_ports => return self.list(p),
            _ => {}
        }
        let mut children = p.clone().into_inner().peekable();
        if children.peek().is_none() {
            return self.leaf(&p);
        }
        for c in children {
            self.node(c);
        }
    }

    /// `workload NAME { … }`, `namespaces NAME { … }`: the selector is the aligned part.
    fn selector_decl(&mut self, p: P) {
        for c in p.into_inner() {
            if c.as_rule() == Rule::selector {
                self.mark_tail();
            }
            self.node(c);
        }
    }

    /// `group NAME = peers`: `=` starts the aligned part; a break right after it indents the
    /// peers one step.
    fn group_decl(&mut self, p: P) {
        for c in p.into_inner() {
            if c.as_rule() == Rule::peer_list {
                self.mark_tail();
                self.put("=");
                self.cont = self.indent() + 2;
            }
            self.node(c);
        }
    }

    /// `param NAME: TYPE` and `param NAME: TYPE = VALUE`.
    fn param_decl(&mut self, p: P) {
        for (i, c) in p.into_inner().enumerate() {
            match i {
                2 => self.stick(":"),
                3 => self.put("="),
                _ => {}
            }
            self.node(c);
        }
    }

    fn sel_eq(&mut self, p: P) {
        let mut it = p.into_inner();
        self.node(it.next().expect("grammar: label key"));
        self.stick(":");
        for c in it {
            self.node(c);
        }
    }

    fn sel_bang(&mut self, p: P) {
        self.settle(p.as_span().start());
        self.put("!");
        self.space = 0;
        for c in p.into_inner() {
            self.node(c);
        }
    }

    /// A rule's reason: the aligned part, two spaces after the rule.
    fn reason(&mut self, p: P) {
        self.settle(p.as_span().start());
        self.mark_tail();
        self.space = 2;
        for c in p.into_inner() {
            self.node(c);
        }
    }

    /// Marks where the aligned part of a one-line statement starts.
    fn mark_tail(&mut self) {
        let cur = self.cur();
        cur.tail_at = Some(cur.text.len());
    }

    /// `a, b, c` (peers, or the ports of one protocol): continuation lines start under the
    /// first element (at least one step in from the statement); the line breaks are the
    /// source's.
    fn list(&mut self, p: P) {
        let saved = self.cont;
        let mut first = true;
        for c in p.into_inner() {
            let is_element = c.as_rule() != Rule::protocol;
            if is_element {
                if !first {
                    self.stick(",");
                }
                self.settle(c.as_span().start());
                if first {
                    // Never at the statement's own indentation: that would read as a new
                    // statement (`a, b,` / `c -> d`).
                    self.cont = self.col().max(self.stmt + 2);
                    first = false;
                }
            }
            self.node(c);
        }
        self.cont = saved;
    }

    /// A list in brackets: `{ a: b, c }` (with `pad`) or `(a, b)` on one line, or, when the
    /// source breaks it anywhere, one element per line, indented a step, the closing bracket on
    /// its own line. An empty one without comments is `{}`. A trailing comma is dropped.
    fn bracket(&mut self, p: P, open: &str, close: &str, pad: bool) {
        let span = p.as_span();
        let (start, end) = (span.start(), span.end() - 1);
        let elems: Vec<P> = p.into_inner().collect();
        let inside = &self.src[start + 1..end];
        let has_comments = !trivia::comments(inside).is_empty();
        let explode = inside.contains(['\n', '\r']) && (has_comments || !elems.is_empty());
        self.settle(start);
        self.put(open);
        self.pos = start + 1;
        self.space = usize::from(pad);
        if !explode {
            for (i, e) in elems.into_iter().enumerate() {
                if i > 0 {
                    self.stick(",");
                }
                self.node(e);
            }
            self.pos = end;
            self.space = if pad && self.pos > start + 1 && !inside.trim().is_empty() { 1 } else { 0 };
        } else {
            let saved = self.cont;
            let outer = self.indent();
            let step = outer + 2;
            let empty = elems.is_empty();
            for (i, e) in elems.into_iter().enumerate() {
                if i > 0 {
                    self.stick(",");
                }
                let b = Brk { comments: step, next: step, force: true, lead_blank: i > 0, trail_blank: true };
                self.gap(e.as_span().start(), b);
                self.cont = step + 2;
                self.node(e);
            }
            let b = Brk { comments: step, next: outer, force: true, lead_blank: !empty, trail_blank: false };
            self.gap(end, b);
            self.cont = saved;
        }
        self.put(close);
        self.pos = end + 1;
    }
}
