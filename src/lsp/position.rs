//! Byte offsets ↔ LSP positions. The compiler's spans are byte ranges; LSP positions are a line
//! and a column counted in UTF-16 code units (the protocol's default encoding), so a `é` before
//! an error moves the column by one, and a `𝄞` by two.

use lsp_types::{Position, Range};

/// The start of every line of one text, for converting positions both ways.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts, len: text.len() }
    }

    /// The position of byte `offset` (clamped to the text, and back to a character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, column as u32)
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end.max(start)))
    }

    /// The byte offset of `pos`. A column past the end of its line means the line's end (before
    /// its `\n`), a line past the end of the text means the text's end, and a column inside a
    /// surrogate pair means the character's start: the protocol asks servers to be lenient.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else { return text.len() };
        let end = self.starts.get(pos.line as usize + 1).map_or(text.len(), |&next| next - 1);
        let line = text.get(start..end).unwrap_or("");
        let mut units = 0;
        for (i, c) in line.char_indices() {
            units += c.len_utf16();
            if units > pos.character as usize {
                return start + i;
            }
        }
        start + line.trim_end_matches('\r').len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let index = LineIndex::new(text);
        for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            let pos = index.position(text, offset);
            assert_eq!(index.offset(text, pos), offset, "{text:?} at {offset} ({pos:?})");
        }
    }

    #[test]
    fn ascii_lines() {
        let text = "ab\ncd\n\nef";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position::new(0, 0));
        assert_eq!(index.position(text, 2), Position::new(0, 2));
        assert_eq!(index.position(text, 3), Position::new(1, 0));
        assert_eq!(index.position(text, 7), Position::new(3, 0));
        assert_eq!(index.position(text, 9), Position::new(3, 2));
        round_trip(text);
    }

    #[test]
    fn columns_count_utf16_code_units() {
        // `é` is 2 bytes and 1 unit, `𝄞` is 4 bytes and 2 units, `日` is 3 bytes and 1 unit.
        let text = "# é𝄞日\nweb accepts tcp 99999 from x  \"réason\" bad\n";
        let index = LineIndex::new(text);
        let x = text.find("x ").expect("x");
        assert_eq!(index.position(text, text.find("日").expect("日")), Position::new(0, 5));
        assert_eq!(index.position(text, text.find('\n').expect("nl")), Position::new(0, 6));
        assert_eq!(index.position(text, x), Position::new(1, 27));
        let bad = text.find("bad").expect("bad");
        assert_eq!(index.position(text, bad), Position::new(1, 39));
        assert_eq!(index.offset(text, Position::new(1, 39)), bad);
        round_trip(text);
    }

    #[test]
    fn lenient_positions() {
        let text = "a𝄞b\r\nxy";
        let index = LineIndex::new(text);
        // Inside the surrogate pair: the character's start.
        assert_eq!(index.offset(text, Position::new(0, 2)), 1);
        // Past the end of a line: its end, before `\r\n`.
        assert_eq!(index.offset(text, Position::new(0, 99)), 6);
        // Past the last line: the text's end.
        assert_eq!(index.offset(text, Position::new(7, 0)), text.len());
        // A byte offset inside a character, or past the end, is clamped.
        assert_eq!(index.position(text, 2), Position::new(0, 1));
        assert_eq!(index.position(text, 999), Position::new(1, 2));
        round_trip("");
        round_trip("\n\n");
        round_trip("é\n𝄞\n");
    }
}
