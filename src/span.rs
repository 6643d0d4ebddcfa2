//! Source files and spans: byte ranges into a file registered in a [`SourceMap`].
//!
//! Spans are `Copy` and carry no lifetimes; pest's borrowed spans are converted once, at the
//! parser boundary, so nothing downstream depends on the parser's types.

use codespan_reporting::files::{Files, SimpleFiles};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

impl std::fmt::Debug for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "file#{}", self.0)
    }
}

/// A byte range `start..end` in one source file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A value with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// A 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// All source files of one compilation, by [`FileId`].
#[derive(Default)]
pub struct SourceMap {
    files: SimpleFiles<String, String>,
    count: u32,
    /// Per file, where its lines start ([`SourceMap::line_of`]).
    lines: Vec<Lines>,
}

/// How many bytes one entry of [`Lines::blocks`] covers.
const BLOCK: usize = 256;

/// Where each line of a file starts (after each `\n`, as codespan-reporting counts lines),
/// and the line each block of [`BLOCK`] bytes starts on. A byte's line is then found among
/// the few lines of its block. A binary search over every line start took 17 probes at
/// 100,000 lines, most of them cache misses, and the backends ask for the line of every rule
/// they write, once per target: 2.7% of a compile for every target.
struct Lines {
    starts: Vec<u32>,
    blocks: Vec<u32>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let starts: Vec<u32> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| (i + 1) as u32))
            .collect();
        let mut blocks = Vec::with_capacity(text.len() / BLOCK + 1);
        let mut line = 0;
        for b in 0..=text.len() / BLOCK {
            while starts.get(line + 1).is_some_and(|&s| s as usize <= b * BLOCK) {
                line += 1;
            }
            blocks.push(line as u32);
        }
        Lines { starts, blocks }
    }

    /// The 0-based line byte `at` is on; past the end, the last line.
    fn index(&self, at: usize) -> usize {
        let b = (at / BLOCK).min(self.blocks.len() - 1);
        let lo = self.blocks[b] as usize;
        // The line the next block starts on, at the latest: `at` is before that block.
        let hi = self.blocks.get(b + 1).map_or(self.starts.len() - 1, |&l| l as usize);
        lo + self.starts[lo + 1..=hi].partition_point(|&s| s as usize <= at)
    }
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        self.lines.push(Lines::new(&text));
        self.files.add(name.into(), text);
        self.count += 1;
        FileId(self.count - 1)
    }

    pub fn name(&self, file: FileId) -> &str {
        self.files.get(file.0 as usize).map(|f| f.name().as_str()).unwrap_or("<unknown>")
    }

    pub fn text(&self, file: FileId) -> &str {
        self.files.get(file.0 as usize).map(|f| f.source().as_str()).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Start position of `span` as line and column.
    pub fn start_of(&self, span: Span) -> LineCol {
        self.position(span.file, span.start as usize)
    }

    /// The line (1-based) `span` starts on: [`SourceMap::start_of`]'s line, without counting
    /// the column's characters (the backends name the source line of every rule they write).
    pub fn line_of(&self, span: Span) -> usize {
        self.lines.get(span.file.0 as usize).map_or(1, |l| l.index(span.start as usize) + 1)
    }

    /// End position of `span` as line and column.
    pub fn end_of(&self, span: Span) -> LineCol {
        self.position(span.file, span.end as usize)
    }

    fn position(&self, file: FileId, byte: usize) -> LineCol {
        match self.files.location(file.0 as usize, byte) {
            Ok(loc) => LineCol { line: loc.line_number, column: loc.column_number },
            Err(_) => LineCol { line: 1, column: 1 },
        }
    }

    /// The text of line `line` (1-based) of `file`, without its line break; "" past the end.
    /// Found through the file's line index, not by scanning the text.
    pub fn line_text(&self, file: FileId, line: usize) -> &str {
        let Some(index) = line.checked_sub(1) else { return "" };
        match self.files.line_range(file.0 as usize, index) {
            Ok(range) => self.text(file).get(range).unwrap_or("").trim_end_matches(['\n', '\r']),
            Err(_) => "",
        }
    }

    /// The span of a whole line, from a `file:line` location as backends write it in
    /// annotations. Leading indentation is left out.
    pub fn locate(&self, location: &str) -> Option<Span> {
        let (name, line) = location.rsplit_once(':')?;
        let line: usize = line.trim().parse().ok()?;
        let file = (0..self.count).map(FileId).find(|f| self.name(*f) == name)?;
        let text = self.text(file);
        let mut start = 0;
        for _ in 1..line {
            start += text[start..].find('\n')? + 1;
        }
        let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
        let indent = text[start..end].len() - text[start..end].trim_start().len();
        Some(Span::new(file, start + indent, end))
    }

    /// The files, for codespan-reporting.
    pub fn files(&self) -> &SimpleFiles<String, String> {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_is_the_line_start_of_gives() {
        let mut sources = SourceMap::new();
        let text = "a\nbé c\r\n\n  d\re\nlast";
        let file = sources.add("f", text);
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let span = Span { file, start: at as u32, end: at as u32 };
            assert_eq!(sources.line_of(span), sources.start_of(span).line, "byte {at}");
        }
        let past = Span { file, start: text.len() as u32 + 5, end: text.len() as u32 + 5 };
        assert_eq!(sources.line_of(past), sources.start_of(past).line);
    }

    proptest::proptest! {
        /// The line of every byte, and of bytes past the end, is codespan-reporting's, in texts
        /// of short and long lines (past one block and several), empty ones, `\r\n`, a lone `\r`
        /// and characters of several bytes.
        #[test]
        fn line_of_is_codespans_line_index(
            parts in proptest::collection::vec(("[a-zé\r ]{0,6}", 0usize..700, "\n|\r\n|\r|"), 0..24),
        ) {
            let text: String =
                parts.iter().map(|(s, pad, end)| format!("{s}{}{end}", "x".repeat(pad % 7 * pad / 6))).collect();
            let mut sources = SourceMap::new();
            sources.add("other", "a\nb\n");
            let file = sources.add("f", text.as_str());
            for at in 0..=text.len() + 3 {
                let span = Span { file, start: at as u32, end: at as u32 };
                let want = sources.files().line_index(file.0 as usize, at).expect("a file") + 1;
                proptest::prop_assert_eq!(sources.line_of(span), want, "byte {} of {:?}", at, text);
            }
        }
    }
}
