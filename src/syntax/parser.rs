//! pest → AST. One lowering function per grammar rule. A shape the grammar rules out is a bug
//! (`expect("grammar: …")`); a bad value (port 70000, a malformed CIDR) is a spanned
//! [`SyntaxError`] and lowering goes on, so one run reports every bad value in the file.

use super::ast::{self, *};
use super::error::SyntaxError;
use crate::span::{FileId, Span, Spanned};
use ipnet::IpNet;
use pest::iterators::Pair;
use pest::Parser as _;
use std::net::IpAddr;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/netpol.pest"]
pub(crate) struct NetpolParser;

/// Parses one file. Syntax errors are recovered from line by line, so all of them are reported;
/// a file with syntax errors yields no AST.
///
/// A large file is cut at top-level statement boundaries, and a large `namespace` block at its
/// own statements' boundaries, and the pieces are parsed in parallel. If any piece does not
/// parse, the whole file is parsed again in one piece, so diagnostics are exactly those of the
/// sequential parse.
///
/// Text whose brackets nest deeper than [`MAX_NESTING`] is refused (E0008) before it is
/// parsed: every pass over the tree (the parser, lowering, resolve, `fmt`, the language
/// server's index) recurses once per level of nesting, and this bound keeps that well inside
/// the smallest stack netpol runs on (a worker thread's 2 MiB).
pub fn parse(file: FileId, text: &str) -> Result<File, Vec<SyntaxError>> {
    let scan = scan(text, MAX_NESTING, piece_bytes(text.len()), true);
    if let Some(at) = scan.too_deep {
        return Err(vec![SyntaxError::TooDeep { max: MAX_NESTING, span: Span::new(file, at, at + 1) }]);
    }
    parse_pieces(file, text, scan.pieces, scan.parts)
}

/// How deep `{ … }` and `( … )` may nest: `namespace` blocks, `if` blocks (`else if` does not
/// nest), selectors and lists all count. A level costs the whole pipeline a few KiB of stack in
/// a debug build, so 128 levels stay far from the 2 MiB of a worker thread.
pub const MAX_NESTING: usize = 128;

/// What one pass over a file's text finds, outside strings and comments ([`scan`]).
struct Scan {
    /// The byte offset of the first `{` or `(` that opens a level deeper than the bound.
    too_deep: Option<usize>,
    /// Byte ranges covering the text, cut only between statements: at a line end with no open
    /// brace or parenthesis, where the line does not continue (it does not end in `,`, `=`, `{`
    /// or `(`), or, inside a `namespace` block, at such a line end with only the block open.
    /// Each is at least the target size (the last one, one before a block's opening line and
    /// one that closes a block aside). One range when the text is smaller than twice the
    /// target.
    pieces: Vec<std::ops::Range<usize>>,
    /// What each piece holds, for the rule it is parsed with.
    parts: Vec<Part>,
}

/// What a piece of a file holds ([`Scan::pieces`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Whole top-level statements.
    Top,
    /// A `namespace` block's opening line and its first statements.
    Opening,
    /// Statements inside a block.
    Middle,
    /// A block's last statements and its closing line.
    Closing,
}

/// Whether `line` (a line's text up to a `{` that opens a top-level block) opens a `namespace`
/// block: the keyword and one more word.
fn opens_namespace(line: &[u8]) -> bool {
    let mut words = line.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
    words.next() == Some(b"namespace") && words.next().is_some() && words.next().is_none()
}

/// The bytes the scan stops at; every other byte is skipped in a tight loop.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let bytes = b"\"#{}()\n";
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
};

/// One pass over `text` for [`Scan`]: nesting deeper than `max`, and pieces of at least
/// `target` bytes, cut inside `namespace` blocks too where `in_blocks`. A string ends at its
/// closing quote or at the line's end (the grammar allows no line break in one, escaped or
/// not), and a comment at the line's end; depth never drops below zero. The scan stops at the
/// first level too deep.
fn scan(text: &str, max: usize, target: usize, in_blocks: bool) -> Scan {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let split = n >= target.saturating_mul(2);
    let mut depth = 0usize;
    let (mut pieces, mut parts) = (Vec::new(), Vec::new());
    let (mut start, mut line_start) = (0, 0);
    // On the current line: where its comment starts, and whether a string is still open.
    let (mut comment, mut open_string) = (None, false);
    // Whether the line before the current one continues on the next: its last significant
    // byte, outside its comment, is `,`, `=`, `{` or `(` (a string left open counts as a
    // quote); a blank or comment line carries on what the line before it did, as the grammar
    // takes line breaks and comments inside a list.
    let mut continued = false;
    // The open top-level `namespace` block, by its opening line's start, where it may be cut;
    // whether the current piece starts inside it; whether it was cut and closes on this line.
    let (mut block, mut inside, mut closes) = (None, false, false);
    let mut i = 0;
    loop {
        while i < n && !SPECIAL[bytes[i] as usize] {
            i += 1;
        }
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => break,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') => {
                            open_string = true;
                            break;
                        }
                        Some(b'\\') if bytes.get(i + 1) != Some(&b'\n') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            b'#' => {
                comment = Some(i);
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(n, |k| i + k);
                continue;
            }
            b'{' | b'(' => {
                if depth == 0
                    && in_blocks
                    && b == b'{'
                    && !continued
                    && opens_namespace(&bytes[line_start..i])
                {
                    block = Some(line_start);
                }
                depth += 1;
                if depth > max {
                    return Scan { too_deep: Some(i), pieces: Vec::new(), parts: Vec::new() };
                }
            }
            b'}' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    closes = inside;
                    block = None;
                }
            }
            _ => {
                let continues = if open_string {
                    false
                } else {
                    match bytes[line_start..comment.unwrap_or(i)]
                        .iter()
                        .rev()
                        .find(|c| !c.is_ascii_whitespace())
                    {
                        Some(last) => matches!(last, b',' | b'=' | b'{' | b'('),
                        None => continued,
                    }
                };
                if closes {
                    // A block cut inside ends its piece with its closing line.
                    pieces.push(start..i + 1);
                    parts.push(Part::Closing);
                    (start, inside, closes) = (i + 1, false, false);
                } else if split && i + 1 - start >= target && !continues {
                    match (depth, block) {
                        (0, _) => {
                            pieces.push(start..i + 1);
                            parts.push(Part::Top);
                            start = i + 1;
                        }
                        // Inside a block at least twice the target so far: a smaller one is
                        // left whole, as joining a block's pieces copies its statements on one
                        // thread.
                        (1, Some(open)) if i + 1 - open >= target.saturating_mul(2) => {
                            if !inside && open > start {
                                pieces.push(start..open);
                                parts.push(Part::Top);
                                start = open;
                            }
                            pieces.push(start..i + 1);
                            parts.push(if inside { Part::Middle } else { Part::Opening });
                            (start, inside) = (i + 1, true);
                        }
                        _ => {}
                    }
                }
                line_start = i + 1;
                (comment, open_string, continued) = (None, false, continues);
            }
        }
        i += 1;
    }
    // A block left open at the end: the piece does not parse, and the whole file is parsed.
    pieces.push(start..n);
    parts.push(if inside { Part::Closing } else { Part::Top });
    Scan { too_deep: None, pieces, parts }
}

/// The size of the pieces a file of `len` bytes is cut into: about four per thread, so a
/// thread that finishes early takes another, within [`MIN_PIECE_BYTES`, `CHUNK_BYTES`].
fn piece_bytes(len: usize) -> usize {
    (len / (4 * crate::par::threads())).clamp(MIN_PIECE_BYTES, CHUNK_BYTES)
}

/// Parses `text` in `pieces` (as [`scan`] cuts it) on every core; if any piece does not parse,
/// the whole file is parsed again in one piece, so diagnostics are exactly those of the
/// sequential parse.
fn parse_pieces(
    file: FileId,
    text: &str,
    pieces: Vec<std::ops::Range<usize>>,
    parts: Vec<Part>,
) -> Result<File, Vec<SyntaxError>> {
    if pieces.len() > 1 {
        let parsed = crate::par::blocks(pieces.len(), 2, |range| {
            range.map(|i| parse_piece(file, text, pieces[i].clone(), parts[i])).collect::<Vec<_>>()
        });
        if let Some(joined) = join_pieces(parsed.into_iter().flatten().collect()) {
            return joined;
        }
    }
    parse_whole(file, text)
}

/// What a piece gives: its statements, or the errors in their values; for a block's opening,
/// its name and where it starts, and for its closing, where it ends.
struct Piece {
    lowered: Result<Vec<Item>, Vec<SyntaxError>>,
    opens: Option<(Ident, u32)>,
    closes: Option<u32>,
}

/// The pieces' statements in order, a block cut into pieces joined again; `None` if a piece
/// did not parse (or, which the scan rules out, a block's pieces do not follow one another).
/// Each list is made with its final length, so nothing is copied to grow or shrink it.
fn join_pieces(pieces: Vec<Option<Piece>>) -> Option<Result<File, Vec<SyntaxError>>> {
    let pieces: Vec<Piece> = pieces.into_iter().collect::<Option<_>>()?;
    let count = |p: &Piece| p.lowered.as_ref().map_or(0, Vec::len);
    // The statements of each block cut into pieces, at its opening piece, and of the file.
    let mut sizes = vec![0; pieces.len()];
    let (mut top, mut open) = (0, None);
    for (i, p) in pieces.iter().enumerate() {
        if p.opens.is_some() {
            open = Some(i);
            top += 1;
        }
        match open {
            Some(at) => sizes[at] += count(p),
            None => top += count(p),
        }
        if p.closes.is_some() {
            open = None;
        }
    }
    let mut items = Vec::with_capacity(top);
    let mut errors = Vec::new();
    // A block being joined: its name, where it starts, and its statements so far.
    let mut block: Option<(Ident, u32, Vec<Item>)> = None;
    for (piece, size) in pieces.into_iter().zip(sizes) {
        if let Some((name, start)) = piece.opens {
            if block.is_some() {
                return None;
            }
            block = Some((name, start, Vec::with_capacity(size)));
        }
        match piece.lowered {
            Ok(mut it) => match &mut block {
                Some((.., inner)) => inner.append(&mut it),
                None => items.append(&mut it),
            },
            Err(mut e) => errors.append(&mut e),
        }
        if let Some(end) = piece.closes {
            let (name, start, inner) = block.take()?;
            let span = Span { file: name.span.file, start, end };
            items.push(Item::NamespaceBlock(NamespaceBlock { name, items: inner, span }));
        }
    }
    if block.is_some() {
        return None;
    }
    Some(if errors.is_empty() { Ok(File { items }) } else { Err(errors) })
}

/// Pieces smaller than this are not worth a thread's start.
const MIN_PIECE_BYTES: usize = 16 * 1024;

/// Pieces larger than this leave threads idle on a file of a few of them. Pieces of 32 KiB
/// also parse 8–10% faster than pieces of 64–256 KiB (10,000 workloads): pest's token queue
/// for a piece, tens of times its text (two 40-byte tokens per pair), grows by doubling, and a
/// small one stays in memory the allocator reuses.
const CHUNK_BYTES: usize = 32 * 1024;

/// One piece: `None` if it does not fit the grammar (the caller then parses the whole file).
fn parse_piece(file: FileId, text: &str, range: std::ops::Range<usize>, part: Part) -> Option<Piece> {
    let offset = range.start;
    let rule = match part {
        Part::Top => Rule::file,
        Part::Opening => Rule::block_opening,
        Part::Middle => Rule::block_middle,
        Part::Closing => Rule::block_closing,
    };
    let mut pairs = NetpolParser::parse(rule, &text[range]).ok()?;
    let mut lower = Lower { file, offset, errors: Vec::new() };
    let mut within = pairs.next().expect("grammar: piece").into_inner().peekable();
    let opens = within.next_if(|p| p.as_rule() == Rule::namespace_open).map(|open| {
        let start = lower.span(&open).start;
        (lower.name(inner(open).nth(1)), start)
    });
    let closes = within.clone().find(|p| p.as_rule() == Rule::block_end).map(|end| lower.span(&end).end);
    let items = lower.items(within.filter(|p| p.as_rule() != Rule::block_end));
    Some(Piece { lowered: lower.finish(items), opens, closes })
}

/// Lowers a parsed `file` rule whose text starts at byte `offset` of the file.
fn lower_file(
    file: FileId,
    offset: usize,
    mut pairs: pest::iterators::Pairs<Rule>,
) -> Result<Vec<Item>, Vec<SyntaxError>> {
    let mut lower = Lower { file, offset, errors: Vec::new() };
    let items = lower.items(pairs.next().expect("grammar: file").into_inner());
    lower.finish(items)
}

fn parse_whole(file: FileId, text: &str) -> Result<File, Vec<SyntaxError>> {
    let mut errors = Vec::new();
    let mut patched: Option<String> = None;
    loop {
        let source = patched.as_deref().unwrap_or(text);
        match NetpolParser::parse(Rule::file, source) {
            Ok(pairs) => {
                if !errors.is_empty() {
                    return Err(errors);
                }
                return lower_file(file, 0, pairs).map(|items| File { items });
            }
            Err(e) => {
                let err = SyntaxError::from_pest(file, source, e);
                let at = err.span().start as usize;
                errors.push(err);
                // Blank the offending line and try again, up to MAX_SYNTAX_ERRORS errors; past
                // them, the rest is only counted.
                match blank_line(source, at) {
                    Some(next) if errors.len() < MAX_SYNTAX_ERRORS => patched = Some(next),
                    Some(next) => {
                        if let Some(more) = count_more(file, &next, at) {
                            errors.push(more);
                        }
                        return Err(errors);
                    }
                    None => return Err(errors),
                }
            }
        }
    }
}

/// How many syntax errors one file lists; past them, the parser counts the rest without
/// listing them ([`SyntaxError::NotShown`]).
pub const MAX_SYNTAX_ERRORS: usize = 20;

/// The statements after byte `at` of `text` (past the line of the last error listed) that do
/// not parse, counted one each, as [`SyntaxError::NotShown`] at the first of them. Each is
/// parsed on its own, so counting costs one pass over the text, not one parse per error.
fn count_more(file: FileId, text: &str, at: usize) -> Option<SyntaxError> {
    let mut first = None;
    let mut count = 0;
    for piece in scan(text, usize::MAX, 1, false).pieces {
        if piece.end <= at || text[piece.clone()].trim().is_empty() {
            continue;
        }
        if NetpolParser::parse(Rule::file, &text[piece.clone()]).is_err() {
            count += 1;
            first.get_or_insert(piece);
        }
    }
    let first = first?;
    let start = first.start + (first.len() - text[first.clone()].trim_start().len());
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    Some(SyntaxError::NotShown {
        shown: MAX_SYNTAX_ERRORS,
        more: count,
        span: Span::new(file, start, end.max(start)),
    })
}

/// `text` with the line holding byte `at` replaced by spaces (same length, so spans hold),
/// or `None` when that changes nothing.
fn blank_line(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[start..end];
    if line.trim().is_empty() {
        return None;
    }
    // Same byte length, so every span after the blanked line still points at the right text.
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    for c in line.chars() {
        if c == '\r' {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out.push_str(&text[end..]);
    Some(out)
}

struct Lower {
    file: FileId,
    /// Where the parsed text starts in the file (pieces of a split file start later).
    offset: usize,
    errors: Vec<SyntaxError>,
}

type P<'i> = Pair<'i, Rule>;

impl Lower {
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    /// `items`, or the errors lowering found in their values.
    fn finish(self, items: Vec<Item>) -> Result<Vec<Item>, Vec<SyntaxError>> {
        if self.errors.is_empty() {
            Ok(items)
        } else {
            Err(self.errors)
        }
    }

    fn items<'i>(&mut self, pairs: impl Iterator<Item = P<'i>>) -> Vec<Item> {
        tight(pairs.filter(|p| p.as_rule() != Rule::EOI).map(|p| self.item(p)).collect())
    }

    fn item(&mut self, p: P) -> Item {
        match p.as_rule() {
            Rule::import => Item::Import(self.import(p)),
            Rule::param_decl => Item::Param(self.param_decl(p)),
            Rule::namespace_stmt => Item::NamespaceStmt(self.name(inner(p).nth(1))),
            Rule::namespace_block => Item::NamespaceBlock(self.namespace_block(p)),
            Rule::namespaces_decl => Item::Namespaces(self.selector_decl(p)),
            Rule::workload_decl => Item::Workload(self.selector_decl(p)),
            Rule::group_decl => Item::Group(self.group_decl(p)),
            Rule::if_block => Item::If(self.if_block(p)),
            Rule::default_deny => Item::DefaultDeny(self.default_deny(p)),
            Rule::expect_stmt => Item::Expect(Box::new(self.expect_stmt(p))),
            Rule::rule_stmt => Item::Rule(self.rule(p)),
            Rule::edge => Item::Edge(self.edge(p)),
            r => unreachable!("grammar: unexpected item {r:?}"),
        }
    }

    fn import(&mut self, p: P) -> Spanned<String> {
        let s = inner(p).nth(1).expect("grammar: import path");
        self.string(s)
    }

    fn param_decl(&mut self, p: P) -> ParamDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let ty = self.name(it.next());
        let default = it.next().map(|l| self.literal(l));
        ParamDecl { name, ty, default, span }
    }

    fn namespace_block(&mut self, p: P) -> NamespaceBlock {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let items = self.items(it);
        NamespaceBlock { name, items, span }
    }

    fn selector_decl(&mut self, p: P) -> SelectorDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let selector = self.selector(it.next().expect("grammar: selector"));
        SelectorDecl { name, selector, span }
    }

    fn group_decl(&mut self, p: P) -> GroupDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let peers = self.peer_list(it.next().expect("grammar: group peers"));
        GroupDecl { name, peers, span }
    }

    fn selector(&mut self, p: P) -> Selector {
        let span = self.span(&p);
        let terms = tight(inner(p).map(|t| self.sel_term(t)).collect());
        Selector { terms, span }
    }

    fn sel_term(&mut self, p: P) -> SelTerm {
        let kind = p.as_rule();
        let mut it = inner(p);
        let key = self.text(it.next().expect("grammar: label key"));
        match kind {
            Rule::sel_eq => SelTerm::Eq { key, value: self.label_value(it.next()) },
            Rule::sel_in => SelTerm::In { key, values: self.value_list(it.nth(1)) },
            Rule::sel_notin => SelTerm::NotIn { key, values: self.value_list(it.nth(1)) },
            Rule::sel_exists => SelTerm::Exists { key },
            Rule::sel_not_exists | Rule::sel_bang => SelTerm::NotExists { key },
            r => unreachable!("grammar: unexpected selector term {r:?}"),
        }
    }

    fn value_list(&mut self, p: Option<P>) -> Vec<Spanned<String>> {
        tight(inner(p.expect("grammar: value list")).map(|v| self.label_value(Some(v))).collect())
    }

    fn label_value(&mut self, p: Option<P>) -> Spanned<String> {
        let v = inner(p.expect("grammar: label value")).next().expect("grammar: label value");
        match v.as_rule() {
            Rule::string => self.string(v),
            _ => self.text(v),
        }
    }

    fn literal(&mut self, p: P) -> Literal {
        let span = self.span(&p);
        let v = inner(p).next().expect("grammar: literal");
        let kind = match v.as_rule() {
            Rule::string => LiteralKind::String(self.string(v).value),
            Rule::cidr => LiteralKind::Cidr(self.cidr(v).value),
            Rule::port_range => {
                let (lo, hi) = self.port_range(v).value;
                LiteralKind::Range(lo, hi)
            }
            Rule::number => LiteralKind::Number(v.as_str().parse().unwrap_or(u32::MAX)),
            Rule::kw_true => LiteralKind::Bool(true),
            Rule::kw_false => LiteralKind::Bool(false),
            Rule::name => LiteralKind::Name(v.as_str().to_string()),
            r => unreachable!("grammar: unexpected literal {r:?}"),
        };
        Literal { kind, span }
    }

    /// `kw_if condition block (kw_else kw_if condition block)* (kw_else block)?`, flat.
    fn if_block(&mut self, p: P) -> IfBlock {
        let span = self.span(&p);
        let mut branches = Vec::new();
        let mut otherwise = Vec::new();
        let mut it = inner(p);
        while let Some(x) = it.next() {
            match x.as_rule() {
                Rule::kw_if => {
                    let condition = self.condition(it.next().expect("grammar: condition"));
                    let items = self.block(it.next().expect("grammar: if block"));
                    branches.push(Branch { condition, items });
                }
                Rule::block => otherwise = self.block(x),
                _ => {} // `else`
            }
        }
        IfBlock { branches: tight(branches), otherwise, span }
    }

    fn block(&mut self, p: P) -> Vec<Item> {
        self.items(inner(p))
    }

    fn condition(&mut self, p: P) -> Condition {
        let span = self.span(&p);
        let mut it = inner(p).peekable();
        let negated = it.next_if(|x| x.as_rule() == Rule::negation).is_some();
        let param = self.name(it.next());
        let compare = it.next().map(|op| {
            let lit = self.literal(it.next().expect("grammar: comparison literal"));
            (op.as_str() == "==", lit)
        });
        Condition { negated, param, compare, span }
    }

    fn default_deny(&mut self, p: P) -> DefaultDeny {
        let span = self.span(&p);
        let mut it = inner(p).skip(2);
        let d = it.next().expect("grammar: direction");
        let direction = match inner(d).next().expect("grammar: direction keyword").as_rule() {
            Rule::kw_ingress => DirectionSpec::Ingress,
            Rule::kw_egress => DirectionSpec::Egress,
            _ => DirectionSpec::All,
        };
        let reason = it.next().map(|r| self.reason(r));
        DefaultDeny { direction, reason, span }
    }

    fn expect_stmt(&mut self, p: P) -> Expect {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let from = self.peer(it.next().expect("grammar: expect source"));
        let verdict = it.next().expect("grammar: verdict");
        let can = inner(verdict).next().map(|k| k.as_rule()) == Some(Rule::kw_can);
        let to = self.peer(it.nth(1).expect("grammar: expect destination"));
        let ports = it.nth(1).map(|ps| self.port_spec(ps));
        Expect { from, can, to, ports, span }
    }

    fn rule(&mut self, p: P) -> ast::Rule {
        let span = self.span(&p);
        let mut it = inner(p);
        let subject = self.subject(it.next().expect("grammar: subject"));
        let body_pair = it.next().expect("grammar: rule body");
        let body = self.rule_body(body_pair);
        let reason = it.next().map(|r| self.reason(r));
        ast::Rule { subject, body, reason, span }
    }

    fn subject(&mut self, p: P) -> NameRef {
        let x = inner(p).next().expect("grammar: subject name");
        self.name_ref(x)
    }

    fn rule_body(&mut self, p: P) -> RuleBody {
        let kind = p.as_rule();
        let parts: Vec<P> = inner(p).collect();
        let ports = |l: &mut Self| {
            parts.iter().find(|x| x.as_rule() == Rule::port_spec).map(|x| l.port_spec(x.clone()))
        };
        let ports = ports(self);
        let peers = parts
            .iter()
            .find(|x| x.as_rule() == Rule::peer_list)
            .map(|x| self.peer_list(x.clone()))
            .unwrap_or_default();
        let nothing = parts.iter().any(|x| x.as_rule() == Rule::kw_nothing);
        match kind {
            Rule::accepts if nothing => RuleBody::AcceptsNothing,
            Rule::accepts => RuleBody::Accepts { ports, peers },
            Rule::connects if nothing => RuleBody::ConnectsNothing,
            Rule::connects => RuleBody::Connects { peers, ports },
            Rule::refuses => RuleBody::Refuses { ports, peers },
            Rule::never_connects => RuleBody::NeverConnects { peers, ports },
            r => unreachable!("grammar: unexpected rule body {r:?}"),
        }
    }

    fn edge(&mut self, p: P) -> Edge {
        let span = self.span(&p);
        let mut it = inner(p);
        let from = self.peer_list(it.next().expect("grammar: edge sources"));
        let to = self.peer_list(it.nth(1).expect("grammar: edge destinations"));
        let mut ports = None;
        let mut reason = None;
        for x in it {
            match x.as_rule() {
                Rule::port_spec => ports = Some(self.port_spec(x)),
                Rule::reason => reason = Some(self.reason(x)),
                _ => {}
            }
        }
        Edge { from, to, ports, reason, span }
    }

    fn reason(&mut self, p: P) -> Spanned<String> {
        self.string(inner(p).next().expect("grammar: reason string"))
    }

    fn port_spec(&mut self, p: P) -> PortSpec {
        let span = self.span(&p);
        let groups = tight(
            inner(p).filter(|x| x.as_rule() == Rule::proto_ports).map(|x| self.proto_ports(x)).collect(),
        );
        PortSpec { groups, span }
    }

    fn proto_ports(&mut self, p: P) -> ProtoPorts {
        let span = self.span(&p);
        let mut it = inner(p);
        let protocol = it.next().expect("grammar: protocol").as_str();
        let protocol = if protocol.eq_ignore_ascii_case("tcp") {
            Protocol::Tcp
        } else if protocol.eq_ignore_ascii_case("udp") {
            Protocol::Udp
        } else {
            Protocol::Sctp
        };
        let ports = tight(it.map(|x| self.port_item(x)).collect());
        ProtoPorts { protocol, ports, span }
    }

    fn port_item(&mut self, p: P) -> PortItem {
        match p.as_rule() {
            Rule::number => PortItem::Number(self.port_number(p)),
            Rule::port_range => PortItem::Range(self.port_range(p)),
            Rule::named_port => PortItem::Name(Box::new(self.ident(p))),
            r => unreachable!("grammar: unexpected port item {r:?}"),
        }
    }

    fn port_number(&mut self, p: P) -> Spanned<u16> {
        let span = self.span(&p);
        match p.as_str().parse::<u32>() {
            Ok(n @ 1..=65535) => Spanned::new(n as u16, span),
            _ => {
                self.errors.push(SyntaxError::BadPort { text: p.as_str().to_string(), span });
                Spanned::new(1, span)
            }
        }
    }

    fn port_range(&mut self, p: P) -> Spanned<(u16, u16)> {
        let span = self.span(&p);
        let text = p.as_str();
        let (lo, hi) = text.split_once('-').expect("grammar: range has a dash");
        let parse = |s: &str| s.parse::<u32>().ok().filter(|n| (1..=65535).contains(n));
        match (parse(lo), parse(hi)) {
            (Some(a), Some(b)) if a <= b => Spanned::new((a as u16, b as u16), span),
            (Some(_), Some(_)) => {
                self.errors.push(SyntaxError::BadRange { text: text.to_string(), span });
                Spanned::new((1, 1), span)
            }
            _ => {
                self.errors.push(SyntaxError::BadPort { text: text.to_string(), span });
                Spanned::new((1, 1), span)
            }
        }
    }

    fn peer_list(&mut self, p: P) -> Vec<Peer> {
        tight(inner(p).map(|x| self.peer(x)).collect())
    }

    fn peer(&mut self, p: P) -> Peer {
        let mut it = inner(p);
        let x = it.next().expect("grammar: peer");
        let span = self.span(&x);
        match x.as_rule() {
            Rule::builtin => Peer::Builtin(Spanned::new(builtin(x.as_str()), span)),
            Rule::namespace_peer => Peer::Namespace(self.name(inner(x).nth(1))),
            Rule::dns_name => Peer::Dns(self.string(inner(x).next().expect("grammar: dns string"))),
            Rule::cidr_peer => Peer::Cidr(self.cidr_peer(x)),
            // `web`, or `web in tenants`: the name, then `in` and the set's name.
            Rule::ref_name => match it.nth(1) {
                None => Peer::Name(self.name_ref(x)),
                Some(set) => {
                    let namespaces = self.ident(set);
                    let span = Span { end: namespaces.span.end, ..span };
                    Peer::In(Box::new(WorkloadIn { workload: self.name_ref(x), namespaces, span }))
                }
            },
            r => unreachable!("grammar: unexpected peer {r:?}"),
        }
    }

    fn cidr_peer(&mut self, p: P) -> CidrPeer {
        let span = self.span(&p);
        let mut it = inner(p);
        let net = self.cidr(it.next().expect("grammar: cidr"));
        let except = match it.nth(1) {
            None => Vec::new(),
            Some(x) if x.as_rule() == Rule::cidr_list => tight(inner(x).map(|c| self.cidr(c)).collect()),
            Some(x) => vec![self.cidr(x)],
        };
        CidrPeer { net, except, span }
    }

    /// A CIDR, or a bare address taken as a single host (`/32` or `/128`).
    fn cidr(&mut self, p: P) -> Spanned<IpNet> {
        let span = self.span(&p);
        let text = p.as_str();
        let parsed = if text.contains('/') {
            text.parse::<IpNet>().ok()
        } else {
            text.parse::<IpAddr>().ok().map(IpNet::from)
        };
        match parsed {
            // Under a prefix shorter than /96 the `ffff` is in the host bits: E0005 below.
            Some(IpNet::V6(v6)) if v6.prefix_len() >= 96 && v6.addr().to_ipv4_mapped().is_some() => {
                let v4 = v6.trunc().addr().to_ipv4_mapped().expect("the prefix keeps the mapped bits");
                let ipv4 = match v6.prefix_len() - 96 {
                    32 if !text.contains('/') => v4.to_string(),
                    len => format!("{v4}/{len}"),
                };
                self.errors.push(SyntaxError::MappedIpv4 { text: text.to_string(), ipv4, span });
                Spanned::new(IpNet::V6(v6.trunc()), span)
            }
            Some(net) if net.trunc() == net => Spanned::new(net, span),
            Some(net) => {
                self.errors.push(SyntaxError::HostBits {
                    text: text.to_string(),
                    network: net.trunc(),
                    span,
                });
                Spanned::new(net.trunc(), span)
            }
            None => {
                self.errors.push(SyntaxError::BadCidr { text: text.to_string(), span });
                Spanned::new(IpNet::from(IpAddr::from([0, 0, 0, 0])), span)
            }
        }
    }

    fn name_ref(&mut self, p: P) -> NameRef {
        let span = self.span(&p);
        if let Some((ns, name)) = p.as_str().split_once('/') {
            let ns_span = Span::new(self.file, span.start as usize, span.start as usize + ns.len());
            let name_span = Span::new(self.file, ns_span.end as usize + 1, span.end as usize);
            return NameRef {
                namespace: Some(Ident { name: ns.to_string(), span: ns_span }),
                name: Ident { name: name.to_string(), span: name_span },
            };
        }
        NameRef { namespace: None, name: self.ident(p) }
    }

    fn name(&mut self, p: Option<P>) -> Ident {
        self.ident(p.expect("grammar: name"))
    }

    fn ident(&mut self, p: P) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn text(&mut self, p: P) -> Spanned<String> {
        Spanned::new(p.as_str().to_string(), self.span(&p))
    }

    /// A string literal without its quotes, escapes resolved.
    fn string(&mut self, p: P) -> Spanned<String> {
        let span = self.span(&p);
        let raw = inner(p).next().map(|i| i.as_str()).unwrap_or("");
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c @ ('"' | '\\')) => out.push(c),
                other => {
                    self.errors.push(SyntaxError::BadEscape {
                        text: format!("\\{}", other.map(String::from).unwrap_or_default()),
                        span,
                    });
                }
            }
        }
        Spanned::new(out, span)
    }
}

/// `v` without spare capacity. A syntax tree is built once and kept until resolve: a list
/// collected from pest's pairs starts at room for four, so a rule's one peer took four peers'
/// room, and the tree of a large program was three times the size of its contents.
fn tight<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

fn inner(p: P) -> pest::iterators::Pairs<Rule> {
    p.into_inner()
}

fn builtin(s: &str) -> Builtin {
    match s {
        "anywhere" | "anything" => Builtin::Anywhere,
        "world" => Builtin::World,
        "cluster" => Builtin::Cluster,
        "host" => Builtin::Host,
        "kube-apiserver" => Builtin::KubeApiserver,
        _ => Builtin::KubeDns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: usize = 8 * 1024;

    /// `text` cut into pieces of at least `target` bytes and parsed on every core.
    fn parse_split(file: FileId, text: &str, target: usize) -> Result<File, Vec<SyntaxError>> {
        let scan = scan(text, MAX_NESTING, target, true);
        parse_pieces(file, text, scan.pieces, scan.parts)
    }

    /// One `namespace` block of `n` workloads with the statements around it, so that only a
    /// scan that cuts inside the block can split it; `extra` goes in its middle.
    fn one_block(n: usize, extra: &str) -> String {
        let mut s = String::from("param p: bool = true\nworkload top { app: top }\nnamespace big {\n");
        for i in 0..n {
            s.push_str(&format!(
                "  workload w{i} {{ app: w{i},\n    tier in (a, b) }}\n  group g{i} =\n    w{i},\n    10.0.0.0/8 except (\n      10.1.0.0/16)\n  w{i} accepts tcp 80 from g{i}   \"a # not, {{\"\n  if p {{\n    w{i} connects to \"x.example.com\" on tcp 443 # {{\n  }}\n  # a comment,\n\n"
            ));
            if i == n / 2 {
                s.push_str(extra);
            }
        }
        s.push_str("  top -> w0 on tcp 1 }   # closed\n\nw0 -> big/w1\n");
        s
    }

    /// A program large enough to be split, with every kind of line continuation.
    fn big(extra: &str) -> String {
        let mut s = String::from("param p: bool = true\n");
        for i in 0..300 {
            s.push_str(&format!(
                "namespace ns-{i} {{\n  workload w {{ app: w,\n    tier in (a, b) }}\n  group g{i} =\n    w,\n    10.0.0.0/8 except (\n      10.1.0.0/16)\n  w accepts tcp 80, 443 from g{i}   \"a # not a comment, {{\"\n  if p {{\n    w connects to \"x.example.com\" on tcp 443 # {{ comment\n  }}\n}}\nw{i} -> v{i} on tcp 8000-8100\n"
            ));
            if i == 250 {
                s.push_str(extra);
            }
        }
        s
    }

    /// A reference's span runs from its namespace (if any) to the end of its name: the text
    /// written, as diagnostics underline it.
    #[test]
    fn a_reference_spans_its_namespace_and_name() {
        let text = "namespace a {\n  w accepts tcp 80 from other/x, y\n  w -> z in some on tcp http\n}\n";
        let file = parse(FileId(0), text).expect("parses");
        let Item::NamespaceBlock(block) = &file.items[0] else { panic!("{:?}", file.items[0]) };
        let (Item::Rule(rule), Item::Edge(edge)) = (&block.items[0], &block.items[1]) else { panic!() };
        let RuleBody::Accepts { peers, .. } = &rule.body else { panic!("{:?}", rule.body) };
        let written = |span: Span| &text[span.range()];
        assert_eq!(written(rule.subject.span()), "w");
        assert_eq!(peers.iter().map(|p| written(p.span())).collect::<Vec<_>>(), ["other/x", "y"]);
        let Peer::In(w) = &edge.to[0] else { panic!("{:?}", edge.to) };
        assert_eq!((written(w.span), written(w.workload.span())), ("z in some", "z"));
        let ports = &edge.ports.as_ref().expect("ports").groups[0].ports;
        assert!(matches!(&ports[0], PortItem::Name(n) if n.name == "http"));
    }

    #[test]
    fn split_parse_equals_whole_parse() {
        for (text, target) in
            [(big(""), SMALL), (one_block(300, ""), SMALL), (big(""), 1), (one_block(20, ""), 1)]
        {
            let Scan { pieces, parts, .. } = scan(&text, MAX_NESTING, target, true);
            assert!(pieces.len() > 2, "the test input must be split");
            assert_eq!(pieces.iter().map(|r| r.len()).sum::<usize>(), text.len());
            let file = FileId(0);
            // Each piece parses on its own (no fallback to the whole file hides a bad cut).
            for (piece, part) in pieces.iter().zip(&parts) {
                assert!(
                    matches!(
                        parse_piece(file, &text, piece.clone(), *part),
                        Some(Piece { lowered: Ok(_), .. })
                    ),
                    "{part:?}: {:?}",
                    &text[piece.clone()]
                );
            }
            let split = parse_split(file, &text, target).expect("parses");
            let whole = parse_whole(file, &text).expect("parses");
            assert_eq!(split, whole);
        }
        // Cut wherever it may be: the parameter, then each namespace block and the edge after
        // it; inside the blocks too, at each statement but the first, and after the closing line.
        let text = big("");
        assert_eq!(scan(&text, MAX_NESTING, 1, false).pieces.len(), 1 + 2 * 300 + 1);
        let parts = scan(&text, MAX_NESTING, 1, true).parts;
        assert_eq!(parts.len(), 1 + 6 * 300 + 1);
        assert_eq!(
            parts[..8],
            [
                Part::Top,
                Part::Opening,
                Part::Middle,
                Part::Middle,
                Part::Middle,
                Part::Closing,
                Part::Top,
                Part::Opening
            ]
        );
        // A block that starts a piece's text, after statements: they are a piece of their own.
        let text = one_block(300, "");
        let Scan { pieces, parts, .. } = scan(&text, MAX_NESTING, SMALL, true);
        assert_eq!(parts[..2], [Part::Top, Part::Opening]);
        assert!(text[pieces[1].clone()].starts_with("namespace big {"));
        assert_eq!(parts.iter().filter(|p| **p == Part::Closing).count(), 1);
        assert!(text[pieces[parts.len() - 2].clone()].ends_with("}   # closed\n"));
    }

    /// Every program in the repository, cut at every statement it allows (inside namespace
    /// blocks too), parses to what the whole parse gives, or fails the same way.
    #[test]
    fn every_program_in_the_repository_parses_the_same_cut_everywhere() {
        fn programs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    programs(&path, out);
                } else if path.extension().is_some_and(|e| e == "netpol") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples", "tests", "editors"] {
            programs(&root.join(dir), &mut files);
        }
        assert!(files.len() > 100, "{} programs", files.len());
        let mut cut_inside = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).expect("a program");
            let scan = scan(&text, MAX_NESTING, 1, true);
            let whole = parse_whole(FileId(0), &text);
            if whole.is_ok() {
                // No fallback to the whole parse hides a bad cut.
                for (piece, part) in scan.pieces.iter().zip(&scan.parts) {
                    let parsed = parse_piece(FileId(0), &text, piece.clone(), *part);
                    assert!(parsed.is_some(), "{}: {part:?} {:?}", path.display(), &text[piece.clone()]);
                }
                cut_inside += scan.parts.iter().filter(|p| **p == Part::Middle).count();
            }
            let split = parse_pieces(FileId(0), &text, scan.pieces, scan.parts);
            assert_eq!(split, whole, "{}", path.display());
        }
        assert!(cut_inside > 10, "the programs have namespace blocks to cut: {cut_inside}");
    }

    /// A block cut into pieces parses to the block the whole parse gives: its span from
    /// `namespace` to `}`, its statements in order.
    #[test]
    fn a_block_cut_into_pieces_is_the_block_whole() {
        let text = one_block(300, "");
        let file = parse_split(FileId(0), &text, SMALL).expect("parses");
        let Item::NamespaceBlock(block) = &file.items[2] else { panic!("{:?}", file.items[2]) };
        let written = &text[block.span.range()];
        assert!(written.starts_with("namespace big {") && written.ends_with("on tcp 1 }"), "{written}");
        assert_eq!(block.items.len(), 4 * 300 + 1);
        assert_eq!(block.items.len(), block.items.capacity());
        assert_eq!(file.items.len(), 4);
    }

    #[test]
    fn the_scan_cuts_between_statements_and_finds_the_first_level_too_deep() {
        let text = "group g =\n  a,\n  b\nw accepts tcp 80 from a, # c,\n  b\nx -> y \"s,\n# a comment,\n\
                    z accepts tcp 1 from (\n a)\nq -> r \"a\\\"\"   \n";
        let pieces: Vec<&str> =
            scan(text, MAX_NESTING, 1, true).pieces.into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            pieces,
            [
                "group g =\n  a,\n  b\n",
                "w accepts tcp 80 from a, # c,\n  b\n",
                "x -> y \"s,\n",
                "# a comment,\n",
                "z accepts tcp 1 from (\n a)\n",
                "q -> r \"a\\\"\"   \n",
                "",
            ]
        );
        // Below twice the target: one piece.
        assert_eq!(
            scan(text, MAX_NESTING, text.len(), true).pieces,
            vec![std::ops::Range { start: 0, end: text.len() }]
        );
        // Brackets in strings and comments do not nest; a line break ends a string, escaped or not.
        let deep = "\"{{{{\" # ((((\n{ ( \"x\\\n{ {";
        assert_eq!(scan(deep, 3, 1, true).too_deep, Some(deep.rfind('{').unwrap_or(0)));
        assert_eq!(scan(deep, 4, 1, true).too_deep, None);
        assert_eq!(scan("}}} {{ {", 2, 1, true).too_deep, Some(7));
    }

    #[test]
    fn split_parse_reports_what_the_whole_parse_reports() {
        let extras = [
            "w accepts tcp 99999 from anywhere\n",
            "w accepts tcp from\n",
            "}\n",
            "\"open string\n",
            "namespace inner {\n",
            "  x accepts tcp 1 from y }\n",
        ];
        for extra in extras {
            for text in [big(extra), one_block(300, extra)] {
                let file = FileId(0);
                let split = parse_split(file, &text, SMALL);
                assert!(split.is_err(), "{extra:?}");
                assert_eq!(split, parse_whole(file, &text), "{extra:?}");
            }
        }
        // A block left open at the end of the file.
        let mut text = one_block(300, "");
        text.truncate(text.find("  top -> w0").expect("the last statement"));
        let split = parse_split(FileId(0), &text, SMALL);
        assert!(split.is_err());
        assert_eq!(split, parse_whole(FileId(0), &text));
    }

    /// The tree is held whole until resolve: a list with room to spare multiplies its size
    /// (a rule's one peer in room for four made the tree three times its contents).
    #[test]
    fn the_tree_keeps_no_spare_room() {
        fn peers(ps: &[Peer], out: &mut Vec<(usize, usize)>) {
            for p in ps {
                if let Peer::Cidr(c) = p {
                    out.push((c.except.len(), c.except.capacity()));
                }
            }
        }
        fn ports(spec: &Option<PortSpec>, out: &mut Vec<(usize, usize)>) {
            if let Some(spec) = spec {
                out.push((spec.groups.len(), spec.groups.capacity()));
                out.extend(spec.groups.iter().map(|g| (g.ports.len(), g.ports.capacity())));
            }
        }
        fn walk(items: &[Item], out: &mut Vec<(usize, usize)>) {
            for item in items {
                match item {
                    Item::NamespaceBlock(b) => {
                        out.push((b.items.len(), b.items.capacity()));
                        walk(&b.items, out);
                    }
                    Item::If(i) => {
                        out.push((i.branches.len(), i.branches.capacity()));
                        for b in &i.branches {
                            out.push((b.items.len(), b.items.capacity()));
                            walk(&b.items, out);
                        }
                    }
                    Item::Workload(d) => out.push((d.selector.terms.len(), d.selector.terms.capacity())),
                    Item::Group(g) => {
                        out.push((g.peers.len(), g.peers.capacity()));
                        peers(&g.peers, out);
                    }
                    Item::Rule(r) => match &r.body {
                        RuleBody::Accepts { ports: p, peers: ps }
                        | RuleBody::Connects { peers: ps, ports: p }
                        | RuleBody::Refuses { ports: p, peers: ps }
                        | RuleBody::NeverConnects { peers: ps, ports: p } => {
                            out.push((ps.len(), ps.capacity()));
                            peers(ps, out);
                            ports(p, out);
                        }
                        _ => {}
                    },
                    Item::Edge(e) => {
                        out.push((e.from.len(), e.from.capacity()));
                        out.push((e.to.len(), e.to.capacity()));
                        ports(&e.ports, out);
                    }
                    _ => {}
                }
            }
        }
        // Split (several pieces joined) and whole.
        for chunk in [SMALL, usize::MAX / 4] {
            let file = parse_split(FileId(0), &big(""), chunk).expect("parses");
            let mut lists = vec![(file.items.len(), file.items.capacity())];
            walk(&file.items, &mut lists);
            assert!(lists.len() > 3000, "{}", lists.len());
            let spare: Vec<_> = lists.iter().filter(|(len, cap)| len != cap).collect();
            assert!(spare.is_empty(), "lists with spare room: {spare:?}");
        }
        // An `expect` is the largest item by far; the others should not pay for its room.
        assert!(std::mem::size_of::<Item>() <= 232, "{}", std::mem::size_of::<Item>());
    }
}
