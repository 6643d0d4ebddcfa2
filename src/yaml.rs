//! YAML in and out: the one place that turns objects into text and reads text back.
//!
//! **The YAML 1.1 trap.** kubectl reads manifests through sigs.k8s.io/yaml, which is go-yaml v2
//! and types plain scalars by YAML 1.1 rules, as PyYAML does; serde_yaml and most newer readers
//! use YAML 1.2's core schema. A plain `on`, `y`, `0o17`, `1_000`, `2024-01-02` or `010` is a
//! string to one and a boolean, number or timestamp to the other (see [`resolve`]), so a label
//! value written bare can make the apply fail or select something else. The writer therefore
//! writes a scalar plain only when every one of those readers types it as a string, and the
//! reader ([`parse`]) refuses a document holding a plain scalar the readers type differently,
//! so `verify` catches a writer that ever lets one through.
//!
//! The writer's layout follows libyaml's block style (two-space indents, sequences in a mapping
//! not indented, `|` blocks for text with line breaks): the layout `kubectl` users know.

use crate::backend::Object;
use serde::Serialize;
use serde_json::Value;
use serde_yaml::Value as Node;

/// One typed object as a YAML document (no leading `---`), fields in the type's order.
pub fn document<T: Serialize>(value: &T) -> String {
    // Serializing plain data structures (strings, maps, lists, integers) cannot fail.
    let node = serde_yaml::to_value(value).unwrap_or(Node::Null);
    let mut out = String::with_capacity(1024);
    match &node {
        Node::Mapping(m) if !m.is_empty() => mapping(&mut out, m, 0, false),
        Node::Sequence(s) if !s.is_empty() => sequence(&mut out, s, 0, false),
        other => {
            inline(&mut out, other, 0, true);
            out.push('\n');
        }
    }
    // Documents are kept until the run writes them: without the room the string grew into.
    out.shrink_to_fit();
    out
}

/// Objects as one multi-document stream, `kubectl apply -f` ready.
pub fn stream(objects: &[Object]) -> String {
    let mut out = String::with_capacity(objects.iter().map(|o| o.yaml.len() + 4).sum());
    for o in objects {
        out.push_str("---\n");
        out.push_str(&o.yaml);
    }
    out
}

// ---- writer ---------------------------------------------------------------------------------

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A block mapping at `n` spaces; `inline_first`: its first key follows a `- ` already written.
fn mapping(out: &mut String, m: &serde_yaml::Mapping, n: usize, inline_first: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, n);
        }
        key(out, k);
        out.push(':');
        match v {
            Node::Mapping(m) if !m.is_empty() => {
                out.push('\n');
                mapping(out, m, n + 2, false);
            }
            Node::Sequence(s) if !s.is_empty() => {
                out.push('\n');
                sequence(out, s, n, false);
            }
            other => {
                out.push(' ');
                inline(out, other, n + 2, true);
                out.push('\n');
            }
        }
    }
}

/// A block sequence at `n` spaces; `inline_first`: its first `- ` follows a `- ` already written.
fn sequence(out: &mut String, s: &[Node], n: usize, inline_first: bool) {
    for (i, item) in s.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, n);
        }
        out.push_str("- ");
        match item {
            Node::Mapping(m) if !m.is_empty() => mapping(out, m, n + 2, true),
            Node::Sequence(s) if !s.is_empty() => sequence(out, s, n + 2, true),
            other => {
                // A block scalar's indentation indicator would be relative to the sequence:
                // keep items to one line.
                inline(out, other, n + 2, false);
                out.push('\n');
            }
        }
    }
}

fn key(out: &mut String, k: &Node) {
    match k {
        Node::String(s) => scalar(out, s, 0, false),
        other => inline(out, other, 0, false),
    }
}

/// A node written after `key: ` or `- ` (a block scalar's lines at `n` spaces, when allowed).
fn inline(out: &mut String, v: &Node, n: usize, block_ok: bool) {
    match v {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(x) => out.push_str(&x.to_string()),
        Node::String(s) => scalar(out, s, n, block_ok),
        Node::Sequence(_) => out.push_str("[]"),
        Node::Mapping(_) => out.push_str("{}"),
        Node::Tagged(t) => inline(out, &t.value, n, block_ok),
    }
}

/// Characters every reader (YAML 1.1 and 1.2) takes literally in a plain, single-quoted or
/// block scalar. Tabs, controls, the byte order mark and YAML 1.1's extra line breaks (NEL,
/// U+2028, U+2029, which 1.2 reads as ordinary characters) are not among them.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
        && c != '\u{2028}'
        && c != '\u{2029}'
}

/// Whether `s` may be written as a plain scalar in block context and reads back as this very
/// string under YAML 1.1 and 1.2 alike. One pass over the bytes (the writer asks this of every
/// scalar it writes).
pub fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else { return false };
    let followed_by_space = |i: usize| b.get(i + 1).is_none_or(|&c| c == b' ');
    if first == b' '
        || last == b' '
        || last == b':'
        || b"#,[]{}&*!|>'\"%@`".contains(&first)
        || (b"?:-".contains(&first) && followed_by_space(0))
        || b.starts_with(b"---")
        || b.starts_with(b"...")
    {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        match c {
            // `: ` starts a value, ` #` a comment.
            b':' if b.get(i + 1) == Some(&b' ') => return false,
            b'#' if i > 0 && b[i - 1] == b' ' => return false,
            b' '..=b'~' => {}
            // Past ASCII: each character at its first byte.
            0x80.. => {
                if s.is_char_boundary(i) && !s[i..].chars().next().is_some_and(printable) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    resolve::all_read_as_string(s)
}

fn scalar(out: &mut String, s: &str, n: usize, block_ok: bool) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(printable) {
        out.push('\'');
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                out.push_str("''");
            }
            out.push_str(part);
        }
        out.push('\'');
    } else if block_ok && literal_ok(s) {
        literal(out, s, n);
    } else {
        double_quoted(out, s);
    }
}

/// Text with line breaks that a `|` block keeps exactly: printable lines, no space before a
/// break (editors strip those), not all breaks.
fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && s.chars().all(|c| c == '\n' || printable(c))
        && !s.contains(" \n")
        && !s.ends_with(' ')
        && s.chars().any(|c| c != '\n')
}

fn literal(out: &mut String, s: &str, n: usize) {
    out.push('|');
    if s.starts_with([' ', '\n']) {
        out.push('2');
    }
    let body = s.trim_end_matches('\n');
    match s.len() - body.len() {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, n);
            out.push_str(line);
        }
    }
}

/// A double-quoted scalar with escapes both YAML 1.1 and 1.2 define.
fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{B}' => out.push_str("\\v"),
            '\u{C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1B}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
}

// ---- reader ---------------------------------------------------------------------------------

/// A document read back as JSON. Refused: text that is not one YAML document, anchors, tags,
/// keys that are not strings, and any plain scalar that YAML 1.1 readers and YAML 1.2 readers
/// type differently (kubectl would apply something other than what a 1.2 reader sees).
pub fn parse(document: &str) -> Result<Value, String> {
    use saphyr_parser::{Event, Parser};
    let mut tree = Tree::default();
    let mut documents = 0;
    for event in Parser::new_from_str(document) {
        let (event, span) = event.map_err(|e| format!("not YAML: {e}"))?;
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err("more than one YAML document".into());
                }
            }
            other => tree.feed(other, span.start.line())?,
        }
    }
    Ok(tree.root.unwrap_or(Value::Null))
}

/// One document of a stream read by [`parse_stream`].
#[derive(Debug)]
pub struct StreamDocument {
    /// Where it starts and ends in the text, in bytes, and the line it starts on (from 1).
    pub start: usize,
    pub end: usize,
    pub line: usize,
    /// The document, refused as [`parse`] refuses one.
    pub value: Result<Value, String>,
}

/// Every document of a YAML stream (`---`-separated; JSON is one document), read as [`parse`]
/// reads one. A document refused for what it holds does not stop the others; text that is
/// not YAML ends the stream, and is the last document's error.
pub fn parse_stream(text: &str) -> Vec<StreamDocument> {
    use saphyr_parser::{Event, Parser};
    let offsets = Offsets::new(text);
    let mut out = Vec::new();
    // The document being read: its start, line, and the tree or why it is refused.
    let mut open: Option<(usize, usize, Result<Tree, String>)> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(x) => x,
            Err(e) => {
                let at = offsets.byte(e.marker().line(), e.marker().col());
                let (start, line) = open.take().map_or((at, e.marker().line()), |o| (o.0, o.1));
                out.push(StreamDocument {
                    start,
                    end: text.len(),
                    line,
                    value: Err(format!("not YAML: {e}")),
                });
                return out;
            }
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let line = span.start.line();
                open = Some((offsets.byte(line, span.start.col()), line, Ok(Tree::default())));
            }
            Event::DocumentEnd => {
                if let Some((start, line, tree)) = open.take() {
                    let end = offsets.byte(span.end.line(), span.end.col()).max(start);
                    let value = tree.map(|t| t.root.unwrap_or(Value::Null));
                    let (start, end) = trim_range(text, start, end);
                    let _ = line;
                    let line = offsets.lines.partition_point(|l| *l <= start);
                    out.push(StreamDocument { start, end, line, value });
                }
            }
            other => {
                if let Some((_, _, tree @ Ok(_))) = open.as_mut() {
                    let line = span.start.line();
                    if let Err(e) = tree.as_mut().map(|t| t.feed(other, line)).unwrap_or(Ok(())) {
                        *tree = Err(e);
                    }
                }
            }
        }
    }
    out
}

/// `start..end` of `text` less the whitespace and document markers (`---`, `...`) at its
/// ends, which belong to no node.
fn trim_range(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    loop {
        let t = &text[start..end];
        let trimmed = t.trim_end();
        end = start + trimmed.len();
        match trimmed.rsplit_once('\n') {
            Some((_, last)) if last == "---" || last == "..." || last.starts_with("--- ") => {
                end -= last.len();
            }
            _ => break,
        }
    }
    loop {
        let t = &text[start..end];
        let trimmed = t.trim_start();
        start = end - trimmed.len();
        if trimmed.starts_with("---") && trimmed[3..].starts_with(['\n', '\r', ' ']) || trimmed == "---" {
            start += 3;
        } else {
            break;
        }
    }
    (start, end.max(start))
}

/// Byte offsets of (line, column in characters) positions of a text.
struct Offsets<'a> {
    text: &'a str,
    lines: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Offsets { text, lines }
    }

    /// `line` from 1, `col` from 0.
    fn byte(&self, line: usize, col: usize) -> usize {
        let start = self.lines.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len());
        let rest = &self.text[start..];
        start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i)
    }
}

/// Where the node at `path` (`spec.ingress[0].from[1]`: keys, and list indices in brackets)
/// starts and ends in `document`, in bytes: the longest prefix of the path that exists there.
/// `None` when `document` is not YAML or not even the path's first key is in it.
pub fn locate(document: &str, path: &str) -> Option<(usize, usize)> {
    use saphyr_parser::{Event, Parser};
    enum Step {
        Key(String),
        Index(usize),
    }
    let mut want = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            want.push(Step::Key(key.to_string()));
        }
        while let Some((n, after)) = rest.split_once(']') {
            want.push(Step::Index(n.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    enum Frame {
        Seq(usize),
        Map(Option<String>),
    }
    let offsets = Offsets::new(document);
    let mut stack: Vec<Frame> = Vec::new();
    // How many steps of `want` the open frames match; the best node found so far.
    let mut matched = 0;
    let mut best: Option<(usize, (usize, usize))> = None;
    // Per frame that is a node on the path: its depth in the path and its start.
    let mut starts: Vec<(usize, usize, usize)> = Vec::new();
    for event in Parser::new_from_str(document) {
        let (event, span) = event.ok()?;
        let at = offsets.byte(span.start.line(), span.start.col());
        let end = offsets.byte(span.end.line(), span.end.col());
        // Whether the node this event begins is the next step of the path.
        let is_key = matches!(stack.last(), Some(Frame::Map(None)));
        let on_path = !is_key
            && stack.len() == matched
            && match (stack.last(), want.get(matched.wrapping_sub(1))) {
                (None, _) => true,
                (Some(Frame::Seq(i)), Some(Step::Index(n))) => i == n,
                (Some(Frame::Map(Some(k))), Some(Step::Key(w))) => k == w,
                _ => false,
            };
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if on_path {
                    starts.push((stack.len(), matched, at));
                    best = Some((matched, (at, at)));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq(0)
                } else {
                    Frame::Map(None)
                });
                if on_path {
                    matched = (matched + 1).min(want.len() + 1);
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                if starts.last().is_some_and(|s| s.0 == stack.len()) {
                    let (_, depth, start) = starts.pop().expect("checked");
                    if best.is_none_or(|b| b.0 <= depth) {
                        best = Some((depth, (start, end.max(start))));
                    }
                    matched = depth;
                }
            }
            Event::Scalar(text, ..) => {
                if is_key {
                    if let Some(Frame::Map(k)) = stack.last_mut() {
                        *k = Some(text.into_owned());
                    }
                    continue;
                }
                if on_path && best.is_none_or(|b| b.0 <= matched) {
                    best = Some((matched, (at, end.max(at))));
                }
            }
            Event::Alias(_) => {}
            _ => continue,
        }
        // A value ended: move its parent on.
        match stack.last_mut() {
            Some(Frame::Seq(i)) => *i += 1,
            Some(Frame::Map(k)) => *k = None,
            None => {}
        }
    }
    // The root alone is no location.
    best.filter(|b| b.0 > 0).map(|(_, (s, e))| trim_range(document, s, e))
}

/// A JSON tree built from parser events (see [`parse`] for what is refused).
#[derive(Default)]
struct Tree {
    stack: Vec<Open>,
    root: Option<Value>,
}

enum Open {
    Seq(Vec<Value>),
    Map(serde_json::Map<String, Value>, Option<String>),
}

impl Tree {
    fn feed(&mut self, event: saphyr_parser::Event<'_>, line: usize) -> Result<(), String> {
        use saphyr_parser::{Event, ScalarStyle};
        let value = match event {
            Event::Alias(_) => return Err(format!("line {line}: an alias; manifests are written without")),
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if anchor != 0 || tag.is_some() =>
            {
                return Err(format!("line {line}: an anchor or tag; manifests are written without"))
            }
            Event::SequenceStart(..) => {
                self.stack.push(Open::Seq(Vec::new()));
                return Ok(());
            }
            Event::MappingStart(..) => {
                self.stack.push(Open::Map(serde_json::Map::new(), None));
                return Ok(());
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Open::Seq(items)) => Value::Array(items),
                _ => return Err("not YAML: unbalanced sequence".into()),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Open::Map(map, None)) => Value::Object(map),
                _ => return Err("not YAML: unbalanced mapping".into()),
            },
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return Err(format!("line {line}: an anchor or tag; manifests are written without"));
                }
                if style == ScalarStyle::Plain {
                    resolve::agreed(&text).map_err(|why| format!("line {line}: plain `{text}` {why}"))?
                } else {
                    Value::String(text.into_owned())
                }
            }
            _ => return Ok(()),
        };
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Open::Seq(items)) => items.push(value),
            Some(Open::Map(map, pending)) => match pending.take() {
                Some(k) => {
                    if map.insert(k.clone(), value).is_some() {
                        return Err(format!("line {line}: key `{k}` appears twice"));
                    }
                }
                None => match value {
                    Value::String(k) => *pending = Some(k),
                    other => return Err(format!("line {line}: a key that is not a string ({other})")),
                },
            },
        }
        Ok(())
    }
}

/// How YAML readers type a plain scalar: the YAML 1.2 core schema (serde_yaml and most newer
/// readers), and the YAML 1.1 readers kubectl and Python tooling use.
///
/// Sources: YAML 1.2.2 §10.3.2 (core schema tag resolution); the YAML 1.1 type repository
/// (yaml.org/type/{bool,int,float,null,timestamp,merge,value}.html); PyYAML's
/// `yaml/resolver.py` and `constructor.py`; go-yaml v2's `resolve.go` (used by
/// sigs.k8s.io/yaml, hence kubectl and the API machinery's YAML decoding).
pub mod resolve {
    use regex::Regex;
    use serde_json::Value;
    use std::sync::LazyLock;

    /// A plain scalar's type and value under one reader.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Typed {
        Str,
        Null,
        Bool(bool),
        Int(i128),
        /// The float's bits, NaN normalised, so readings compare exactly.
        Float(u64),
        Timestamp,
        /// `<<` (YAML 1.1 merge key) and `=` (YAML 1.1 value key).
        Special,
    }

    fn float(x: f64) -> Typed {
        Typed::Float(if x.is_nan() { f64::NAN.to_bits() } else { x.to_bits() })
    }

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
    }

    /// Fast exit: every non-string reading starts with one of these, or is empty, and is
    /// made of letters, digits and `+-._:~<=`, space or tab (timestamps).
    fn may_be_typed(s: &str) -> bool {
        match s.as_bytes().first() {
            None => true,
            // Words: only the boolean and null ones are typed, by some reader.
            Some(c) if c.is_ascii_alphabetic() => matches!(
                s,
                "y" | "Y"
                    | "yes"
                    | "Yes"
                    | "YES"
                    | "n"
                    | "N"
                    | "no"
                    | "No"
                    | "NO"
                    | "true"
                    | "True"
                    | "TRUE"
                    | "false"
                    | "False"
                    | "FALSE"
                    | "on"
                    | "On"
                    | "ON"
                    | "off"
                    | "Off"
                    | "OFF"
                    | "null"
                    | "Null"
                    | "NULL"
            ),
            Some(c) => {
                b"0123456789+-.~<=".contains(c)
                    && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-._:~<= \t".contains(&c))
            }
        }
    }

    /// Fast path: a decimal integer every reader reads alike (no sign, no leading zero).
    fn plain_decimal(s: &str) -> Option<i64> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > 18 || (b[0] == b'0' && b.len() > 1) || !b.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        s.parse().ok()
    }

    /// YAML 1.2.2 core schema (§10.3.2).
    pub fn core12(s: &str) -> Typed {
        static INT10: LazyLock<Regex> = LazyLock::new(|| re(r"^[-+]?[0-9]+$"));
        static INT8: LazyLock<Regex> = LazyLock::new(|| re(r"^0o[0-7]+$"));
        static INT16: LazyLock<Regex> = LazyLock::new(|| re(r"^0x[0-9a-fA-F]+$"));
        static FLOAT: LazyLock<Regex> =
            LazyLock::new(|| re(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"));
        match s {
            "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
            "true" | "True" | "TRUE" => return Typed::Bool(true),
            "false" | "False" | "FALSE" => return Typed::Bool(false),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return float(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => return float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => return float(f64::NAN),
            _ => {}
        }
        if !may_be_typed(s) {
            return Typed::Str;
        }
        if INT10.is_match(s) {
            return int(s, 10);
        }
        if INT8.is_match(s) {
            return int(&s[2..], 8);
        }
        if INT16.is_match(s) {
            return int(&s[2..], 16);
        }
        if FLOAT.is_match(s) {
            return s.parse::<f64>().map_or(Typed::Str, float);
        }
        Typed::Str
    }

    fn int(digits: &str, radix: u32) -> Typed {
        // Out of range for i128 (hundreds of digits): still a number to every reader that
        // matched it, and never equal to another reading.
        i128::from_str_radix(digits, radix).map_or(Typed::Float(u64::MAX - 1), Typed::Int)
    }

    fn signed(s: &str) -> (i128, &str) {
        match s.as_bytes().first() {
            Some(b'-') => (-1, &s[1..]),
            Some(b'+') => (1, &s[1..]),
            _ => (1, s),
        }
    }

    fn negate(t: Typed, sign: i128) -> Typed {
        match t {
            Typed::Int(i) => Typed::Int(i * sign),
            Typed::Float(b) if sign < 0 && b != u64::MAX - 1 => float(-f64::from_bits(b)),
            other => other,
        }
    }

    /// `a:b:c` in base 60 (YAML 1.1 sexagesimal), with `fraction` appended to the last part.
    fn base60(s: &str) -> Option<f64> {
        let mut x = 0f64;
        for part in s.split(':') {
            x = x * 60.0 + part.parse::<f64>().ok()?;
        }
        Some(x)
    }

    static TIMESTAMP11: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)$",
        )
    });

    /// The YAML 1.1 type repository as PyYAML implements it (`resolver.py`, `constructor.py`);
    /// the spec's own patterns differ from PyYAML's only in ways [`spec11`] covers.
    pub fn pyyaml(s: &str) -> Typed {
        static BOOL: LazyLock<Regex> = LazyLock::new(|| {
            re(r"^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
        });
        static INT: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
            )
        });
        static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
            re(
                r"^([-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)?|\.[0-9_]+([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$",
            )
        });
        match s {
            "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
            "<<" | "=" => return Typed::Special,
            _ => {}
        }
        if !may_be_typed(s) {
            return Typed::Str;
        }
        if BOOL.is_match(s) {
            return Typed::Bool(matches!(
                s,
                "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
            ));
        }
        if INT.is_match(s) {
            let stripped = s.replace('_', "");
            let (sign, v) = signed(&stripped);
            let t = if v == "0" {
                Typed::Int(0)
            } else if let Some(b) = v.strip_prefix("0b") {
                int(b, 2)
            } else if let Some(h) = v.strip_prefix("0x") {
                int(h, 16)
            } else if let Some(o) = v.strip_prefix('0') {
                int(o, 8)
            } else if v.contains(':') {
                v.split(':')
                    .try_fold(0i128, |acc, d| Some(acc * 60 + d.parse::<i128>().ok()?))
                    .map_or(Typed::Str, Typed::Int)
            } else {
                int(v, 10)
            };
            return negate(t, sign);
        }
        if FLOAT.is_match(s) {
            let v = s.replace('_', "").to_ascii_lowercase();
            let (sign, v) = signed(&v);
            let x = match v {
                ".inf" => f64::INFINITY,
                ".nan" => return float(f64::NAN),
                v if v.contains(':') => base60(v).unwrap_or(f64::NAN),
                v => v.parse::<f64>().unwrap_or(f64::NAN),
            };
            return negate(float(x), sign);
        }
        if TIMESTAMP11.is_match(s) {
            return Typed::Timestamp;
        }
        Typed::Str
    }

    /// The YAML 1.1 type repository's own patterns (yaml.org/type/*.html), where they are wider
    /// than PyYAML's: `y`/`n` booleans, `[0-9.]*` after a float's point.
    pub fn spec11(s: &str) -> Typed {
        static FLOAT: LazyLock<Regex> =
            LazyLock::new(|| re(r"^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$"));
        match s {
            "y" | "Y" => return Typed::Bool(true),
            "n" | "N" => return Typed::Bool(false),
            _ => {}
        }
        match pyyaml(s) {
            Typed::Str if FLOAT.is_match(s) => match s.replace('_', "").parse::<f64>() {
                Ok(x) => float(x),
                // `1.2.3`: a float by the pattern that no reader can give a value.
                Err(_) => Typed::Float(u64::MAX),
            },
            other => other,
        }
    }

    /// go-yaml v2's `resolve` for an untagged plain scalar (sigs.k8s.io/yaml, kubectl).
    pub fn goyaml2(s: &str) -> Typed {
        static FLOAT: LazyLock<Regex> =
            LazyLock::new(|| re(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"));
        static GO_INT: LazyLock<Regex> =
            LazyLock::new(|| re(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$"));
        static DATE: LazyLock<Regex> = LazyLock::new(|| {
            re(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}.*)?$")
        });
        match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                return Typed::Bool(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
                return Typed::Bool(false)
            }
            "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
            ".nan" | ".NaN" | ".NAN" => return float(f64::NAN),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return float(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => return float(f64::NEG_INFINITY),
            "<<" => return Typed::Special,
            _ => {}
        }
        let Some(first) = s.bytes().next() else { return Typed::Null };
        if first == b'.' {
            // strconv.ParseFloat on the text as it is.
            return if FLOAT.is_match(s) { s.parse::<f64>().map_or(Typed::Str, float) } else { Typed::Str };
        }
        if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
            return Typed::Str;
        }
        if DATE.is_match(s) {
            return Typed::Timestamp;
        }
        let plain = s.replace('_', "");
        if GO_INT.is_match(&plain) {
            let (sign, v) = signed(&plain);
            let lower = v.to_ascii_lowercase();
            let t = if let Some(h) = lower.strip_prefix("0x") {
                int(h, 16)
            } else if let Some(b) = lower.strip_prefix("0b") {
                int(b, 2)
            } else if let Some(o) = lower.strip_prefix("0o") {
                int(o, 8)
            } else if lower.len() > 1 && lower.starts_with('0') {
                int(&lower[1..], 8)
            } else {
                int(&lower, 10)
            };
            return negate(t, sign);
        }
        if FLOAT.is_match(&plain) {
            return plain.parse::<f64>().map_or(Typed::Str, float);
        }
        Typed::Str
    }

    /// Whether every reader types plain `s` as a string (the writer's test for writing it
    /// plain).
    pub fn all_read_as_string(s: &str) -> bool {
        if !may_be_typed(s) {
            return !s.is_empty();
        }
        // Digits alone (a Cilium port, say): an integer under YAML 1.2's core schema
        // (`[-+]?[0-9]+`), whatever the others make of it, so not a string to every reader.
        if s.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
        [core12(s), pyyaml(s), spec11(s), goyaml2(s)].iter().all(|t| *t == Typed::Str)
    }

    /// The value of plain `s` when every reader agrees on it; why not, when they do not.
    pub fn agreed(s: &str) -> Result<Value, String> {
        if !may_be_typed(s) {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(n) = plain_decimal(s) {
            return Ok(Value::from(n));
        }
        match s {
            "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
            "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let readings = [
            ("YAML 1.2", core12(s)),
            ("PyYAML", pyyaml(s)),
            ("YAML 1.1", spec11(s)),
            ("kubectl", goyaml2(s)),
        ];
        if let Some((who, t)) = readings.iter().find(|(_, t)| *t != readings[0].1) {
            return Err(format!(
                "reads as {} under YAML 1.2 but as {} under {who}; quote it",
                describe(&readings[0].1),
                describe(t)
            ));
        }
        Ok(match readings[0].1 {
            Typed::Str => Value::String(s.to_string()),
            Typed::Null => Value::Null,
            Typed::Bool(b) => Value::Bool(b),
            Typed::Int(i) => i64::try_from(i)
                .map(Value::from)
                .or_else(|_| u64::try_from(i).map(Value::from))
                .map_err(|_| format!("plain `{s}` is an integer out of range"))?,
            Typed::Float(b) => serde_json::Number::from_f64(f64::from_bits(b))
                .map(Value::Number)
                .ok_or_else(|| format!("plain `{s}` is not a finite number"))?,
            Typed::Timestamp | Typed::Special => unreachable!("YAML 1.2 has no timestamps or merge keys"),
        })
    }

    fn describe(t: &Typed) -> String {
        match t {
            Typed::Str => "a string".into(),
            Typed::Null => "null".into(),
            Typed::Bool(b) => format!("the boolean {b}"),
            Typed::Int(i) => format!("the integer {i}"),
            Typed::Float(b) => format!("the number {}", f64::from_bits(*b)),
            Typed::Timestamp => "a timestamp".into(),
            Typed::Special => "a merge or value key".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve::*;

    #[test]
    fn the_trap_words_are_typed_differently() {
        for s in [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "Yes",
            "ON",
            "1_000",
            "0o17",
            "010",
            "2024-01-02",
            "1:20",
            "1e3",
            "08",
            "<<",
        ] {
            assert!(!all_read_as_string(s), "{s}");
            assert!(agreed(s).is_err(), "{s}");
        }
        for s in ["8080", "true", "false", "null", "~", "-1", "0", "1.5", "0x1F"] {
            assert!(agreed(s).is_ok(), "{s}: {:?}", agreed(s));
        }
        for s in ["web", "kafka-0", "10.0.0.0/8", "fd00::/8", "app.kubernetes.io/name", "v1", "a:b"] {
            assert!(all_read_as_string(s), "{s}");
        }
    }

    /// Digits alone are a number to YAML 1.2, so never written plain, however PyYAML reads them
    /// (`08` is a string to it).
    #[test]
    fn digits_alone_are_not_a_string_to_every_reader() {
        for s in ["0", "8", "08", "0123", "443", "65535", "123456789012345678901234567890"] {
            assert!(!all_read_as_string(s), "{s}");
            assert!(matches!(core12(s), Typed::Int(_)), "{s}: {:?}", core12(s));
        }
        assert_eq!(pyyaml("08"), Typed::Str);
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;
    use serde_json::json;

    const STREAM: &str = "# a comment\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata:\n  name: ns1\n  labels:\n    on: x\n---\n---\nkind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: c\n      ports:\n      - containerPort: 80\n        name: http\n";

    #[test]
    fn a_stream_is_read_document_by_document() {
        let docs = parse_stream(STREAM);
        assert_eq!(docs.len(), 4, "{docs:#?}");
        assert_eq!(
            docs[0].value.as_ref().expect("first"),
            &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}})
        );
        assert_eq!(docs[0].line, 2);
        // A plain `on` key is refused in its document only.
        assert!(docs[1].value.as_ref().is_err_and(|e| e.contains("plain `on`")), "{:?}", docs[1].value);
        assert_eq!(docs[1].line, 6);
        assert_eq!(docs[2].value.as_ref().expect("empty"), &Value::Null);
        assert_eq!(docs[3].value.as_ref().expect("list")["items"][0]["kind"], "Pod");
        for d in &docs {
            assert!(d.start <= d.end && d.end <= STREAM.len());
        }
        assert!(
            STREAM[docs[3].start..docs[3].end].starts_with("kind: List"),
            "{:?}",
            &STREAM[docs[3].start..]
        );
    }

    #[test]
    fn broken_yaml_ends_the_stream_with_an_error() {
        let docs = parse_stream("kind: Pod\n---\nkind: [Pod\n---\nkind: Namespace\n");
        assert_eq!(docs.len(), 2, "{docs:#?}");
        assert!(docs[0].value.is_ok());
        assert!(docs[1].value.as_ref().is_err_and(|e| e.starts_with("not YAML")));
        // JSON is YAML.
        let docs = parse_stream("{\"kind\": \"List\", \"items\": [{\"kind\": \"Pod\"}]}");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].value.as_ref().expect("json")["items"][0]["kind"], "Pod");
    }

    #[test]
    fn locate_finds_the_node_at_a_path_or_its_nearest_ancestor() {
        let doc = "kind: NetworkPolicy\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {app: web}\n    - ipBlock:\n        cidr: 10.0.0.0/8\n  - ports:\n    - port: 80\n";
        let at = |path: &str| locate(doc, path).map(|(s, e)| &doc[s..e]);
        assert_eq!(at("kind"), Some("NetworkPolicy"));
        assert_eq!(at("spec.ingress[1].ports[0].port"), Some("80"));
        assert_eq!(at("spec.ingress[0].from[1].ipBlock.cidr"), Some("10.0.0.0/8"));
        assert!(
            at("spec.ingress[0].from[1]").is_some_and(|t| t.starts_with("ipBlock:")),
            "{:?}",
            at("spec.ingress[0].from[1]")
        );
        assert!(
            at("spec.ingress[0].from[0]").is_some_and(|t| t.starts_with("podSelector:") && t.contains("web"))
        );
        // Past what exists: the deepest node that does.
        assert_eq!(at("spec.ingress[1].ports[0].endPort"), Some("port: 80"));
        let ingress = at("spec.ingress[7]");
        assert!(ingress.is_some_and(|t| t.starts_with("from:") && t.ends_with("port: 80")), "{ingress:?}");
        assert_eq!(at("metadata"), None);
        // Multi-byte text before the node.
        let doc = "metadata:\n  name: é\nspec:\n  x: 1\n";
        assert_eq!(locate(doc, "spec.x").map(|(s, e)| &doc[s..e]), Some("1"));
    }
}

#[cfg(test)]
mod plain_tests {
    use proptest::prelude::*;

    /// `plain_ok` as the rules read, one test after another (the writer's one-pass version
    /// must agree with it on every string).
    fn plain_ok_by_rules(s: &str) -> bool {
        let b = s.as_bytes();
        let Some(&first) = b.first() else { return false };
        let followed_by_space = |i: usize| b.get(i + 1).is_none_or(|&c| c == b' ');
        !(first == b' '
            || b[b.len() - 1] == b' '
            || b"#,[]{}&*!|>'\"%@`".contains(&first)
            || (b"?:-".contains(&first) && followed_by_space(0))
            || s.starts_with("---")
            || s.starts_with("...")
            || s.ends_with(':')
            || s.contains(": ")
            || s.contains(" #")
            || !s.chars().all(super::printable))
            && super::resolve::all_read_as_string(s)
    }

    #[test]
    fn plain_ok_agrees_with_the_rules_on_chosen_strings() {
        for s in [
            "",
            " ",
            "a",
            "a ",
            " a",
            "a:",
            "a: b",
            "a:b",
            "a #b",
            "a#b",
            "#a",
            "- a",
            "-a",
            "-",
            "? a",
            "?a",
            ":a",
            ": a",
            "---",
            "--a",
            "...",
            "..a",
            "é",
            "é: x",
            "xé #y",
            "a\tb",
            "a\u{85}b",
            "a\u{feff}",
            "\u{2028}",
            "yes",
            "web",
            "10.0.0.0/8",
            "app.kubernetes.io/name",
            "x\u{7f}",
            "ü:",
            "ü: ",
            "a ü",
            "%x",
            "@x",
            "`x",
            "x`",
        ] {
            assert_eq!(super::plain_ok(s), plain_ok_by_rules(s), "{s:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn plain_ok_agrees_with_the_rules(s in "[ :#a-c?\\-.\\t\u{85}\u{a0}\u{e9}\u{2028}\u{feff}]{0,8}|\\PC{0,10}") {
            prop_assert_eq!(super::plain_ok(&s), plain_ok_by_rules(&s), "{:?}", s);
        }
    }
}
