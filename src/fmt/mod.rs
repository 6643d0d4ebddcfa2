//! `netpol fmt`: a `.netpol` text → the same program in the one canonical layout. No IO: the
//! CLI (`cli::fmt`) and the language server call [`format_source`].
//!
//! The layout, decided once:
//!
//! - **Order is kept.** Statements stay where they were written: sorting would move comments
//!   away from what they explain and change the order a reader meets things in.
//! - One statement per line; blocks (`namespace X { … }`, `if … { … } else { … }`) indent
//!   their statements by two spaces, and their `}` closes on its own line. `} else {` stays
//!   on one line, as the grammar requires. An empty block without comments is `{}`.
//! - Tokens are kept exactly as written (names, `anything`, `does-not-exist` or `!key`,
//!   strings and their escapes); only the space between them changes: one space between
//!   words, none before `,` and `:`, one after; `{ app: kafka }`, `(a, b)`, `a -> b`, `!flag`,
//!   `param p: bool = true`.
//! - Line breaks inside a statement are the writer's. A list of peers or ports broken after a
//!   comma stays broken there, its continuation lines starting under the list's first element
//!   (`group g =` broken after `=` indents the peers one step). A bracketed list (selector,
//!   `in (…)`, `except (…)`) broken anywhere is laid out one element per line, indented one
//!   step, the closing bracket on its own line; one written on one line stays on one line.
//!   Trailing commas are dropped.
//! - Alignment: consecutive one-line `workload` statements align their selectors,
//!   `namespaces` statements theirs, `group` statements their `=`; consecutive rules, edges and
//!   default denies align their reasons (two spaces after the longest rule). Verbs are not
//!   aligned: subjects of one run are usually the same name. A run ends at a blank line or a
//!   statement of another kind; a full-line comment does not end it. Trailing comments of
//!   consecutive lines align two spaces after the longest line.
//! - Comments (full-line and trailing) stay where they are, trailing spaces removed; runs of
//!   blank lines become one; blank lines at the start and end of the file and of a block go.
//! - Lines end as the file's first line does (`\r\n` or `\n`), and the file ends with one.
//!
//! Safety net: the result is parsed again, and its syntax tree (every rule and token) and its
//! list of comments must equal the input's. If not, nothing is returned but an
//! [`INTERNAL`] diagnostic, so a formatter bug can never change or drop a line of a policy.

mod layout;
mod render;
mod trivia;

use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};
use crate::syntax::{self, NetpolParser, Rule};
use pest::Parser as _;

/// The code of the diagnostic for a formatter bug. It is no user error, so it has no page in
/// `docs/errors` and no number.
pub const INTERNAL: &str = "internal";

/// `text` in the canonical layout. Errors: the parse diagnostics of `text` (E00xx, exactly
/// those `netpol check` reports), or one [`INTERNAL`] diagnostic. Spans are byte offsets
/// into `text`, in file [`FileId`] `0`.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    format_file(FileId(0), text)
}

/// [`format_source`] for a file registered as `file` in a source map.
pub fn format_file(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    syntax::parse(file, text).map_err(|errors| {
        // In file order and each once, as `netpol check` reports them (`driver::finish`): the
        // parser recovers line by line and may meet an error twice or out of order.
        let mut d = errors.iter().map(|e| e.to_diagnostic()).collect::<Vec<_>>();
        crate::diagnostic::sort(&mut d);
        d.dedup();
        d
    })?;
    let internal = |why: &str| vec![internal(file, text, why)];
    let mut pairs =
        NetpolParser::parse(Rule::file, text).map_err(|_| internal("the parse tree is missing"))?;
    let root = pairs.next().ok_or_else(|| internal("the parse tree is empty"))?;
    let lines = layout::file(text, root);
    let out = render::render(&lines, newline_of(text));
    check_same(text, &out).map_err(|why| internal(&why))?;
    Ok(out)
}

/// `\r\n` when the first line of `text` ends so, else `\n`.
fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

fn internal(file: FileId, text: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        INTERNAL,
        format!("the formatter would change the program ({why}), so it was left as it is"),
        Span::new(file, 0, text.len().min(text.find(['\n', '\r']).unwrap_or(text.len()))),
        "in this file",
    )
    .with_help("this is a bug in `netpol fmt`; please report it with this file")
}

/// `Err` with a reason unless `after` parses to the same tree, token for token, and has the
/// same comments in the same order as `before`.
fn check_same(before: &str, after: &str) -> Result<(), String> {
    if syntax::parse(FileId(0), after).is_err() {
        return Err("the result does not parse".into());
    }
    let (a, b) = (tree(before)?, tree(after)?);
    if a != b {
        let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        return Err(format!("token {at} differs: {:?} became {:?}", a.get(at), b.get(at)));
    }
    if trivia::comments(before) != trivia::comments(after) {
        return Err("the comments differ".into());
    }
    Ok(())
}

/// Every rule of the parse tree in pre-order, with the text of each token.
fn tree(text: &str) -> Result<Vec<(Rule, &str)>, String> {
    let pairs = NetpolParser::parse(Rule::file, text).map_err(|_| "the result does not parse".to_string())?;
    let mut out = Vec::new();
    for p in pairs.flatten() {
        let empty = p.clone().into_inner().next().is_none();
        let token = match p.as_rule() {
            Rule::string => true,
            Rule::block | Rule::selector => false, // `{}` and `{ }`: nothing inside but layout
            _ => empty,
        };
        out.push((p.as_rule(), if token { p.as_str() } else { "" }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safety_net_catches_a_lost_comment_and_a_changed_token() {
        let src = "namespace a # x\nworkload w { app: w }\n";
        assert!(check_same(src, src).is_ok());
        assert!(check_same(src, "namespace a\nworkload w { app: w }\n").is_err());
        assert!(check_same(src, "namespace a # x\nworkload w { app: v }\n").is_err());
        assert!(check_same(src, "namespace a # x\nworkload w { app: w, x: y }\n").is_err());
    }

    #[test]
    fn line_ends_follow_the_first_line() {
        assert_eq!(
            format_source("namespace a\r\nnamespace b").as_deref(),
            Ok("namespace a\r\nnamespace b\r\n")
        );
        assert_eq!(format_source("").as_deref(), Ok(""));
    }
}
