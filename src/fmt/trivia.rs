//! What lies between two tokens of the parse tree: spaces, line breaks, comments and the
//! grammar's literal punctuation (`{`, `,`, `=` …). The grammar makes comments silent, so this
//! scan is how the formatter finds them. A gap never holds a string (strings are tokens of
//! their own), so every `#` in a gap starts a comment.

/// One piece of a gap that the layout keeps. Punctuation and spaces are dropped: the layout
/// writes its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Trivia {
    /// A comment, from `#` to the end of its line, trailing spaces and tabs removed.
    Comment(String),
    /// A line break (`\n`, `\r\n` or a lone `\r`, as the grammar's `line_break`).
    Newline,
}

/// The comments and line breaks of `gap`, in order.
pub(super) fn scan(gap: &str) -> Vec<Trivia> {
    let mut out = Vec::new();
    let mut rest = gap;
    while let Some(c) = rest.chars().next() {
        match c {
            '#' => {
                let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
                out.push(Trivia::Comment(rest[..end].trim_end_matches([' ', '\t']).to_string()));
                rest = &rest[end..];
            }
            '\r' if rest.starts_with("\r\n") => {
                out.push(Trivia::Newline);
                rest = &rest[2..];
            }
            '\n' | '\r' => {
                out.push(Trivia::Newline);
                rest = &rest[1..];
            }
            _ => rest = &rest[c.len_utf8()..],
        }
    }
    out
}

/// Every comment of a whole source text, in order, found without the grammar: strings are
/// skipped (a `#` inside quotes is text), and a string ends at its closing quote or at the end
/// of its line. The formatter's safety net compares this list before and after.
pub(super) fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, s)) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next_if(|(_, n)| *n != '\n' && *n != '\r');
                        }
                        '"' | '\n' | '\r' => break,
                        _ => {}
                    }
                }
            }
            '#' => {
                let end = text[i..].find(['\n', '\r']).map_or(text.len(), |e| i + e);
                out.push(text[i..end].trim_end_matches([' ', '\t']).to_string());
                while chars.next_if(|(j, _)| *j < end).is_some() {}
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_keep_comments_and_breaks_only() {
        use Trivia::*;
        assert_eq!(
            scan(",  # one \t\r\n\n\t# two\r}"),
            [Comment("# one".into()), Newline, Newline, Comment("# two".into()), Newline]
        );
        assert!(scan(" , { ").is_empty());
    }

    #[test]
    fn comments_skip_strings() {
        assert_eq!(comments("a \"x # y \\\" # z\" # real\nb \"open # no\n# last"), ["# real", "# last"]);
    }
}
