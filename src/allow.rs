//! Allowing warnings in the source: `# netpol: allow CODE` comments.
//!
//! - `stmt  # netpol: allow W0203` at the end of a line allows the codes on that line;
//! - `# netpol: allow W0203` on a line of its own covers the next statement, all its lines
//!   (a block statement, `namespace x { … }` or `if … { … }`, with everything in it);
//! - `# netpol: allow-file W0203` covers the whole file.
//!
//! Several codes are separated by commas; a reason may follow ` -- `:
//! `# netpol: allow W0203, W0204 -- the table lists DNS separately`. An allow applies to
//! warnings and notes, never to errors. A comment that starts `netpol:` and is no well-formed
//! directive is an error (E0009), and an allow that matches nothing is a warning (W0211), so a
//! stale allow does not silence the next, different problem on its line unnoticed.
//!
//! The command line's `--allow`, `--warn` and `--deny` are applied after these, by the CLI.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{FileId, SourceMap, Span};

/// Where an allow applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Lines `first..=last` (1-based) of the file.
    Lines(usize, usize),
    File,
}

/// One code of one directive.
#[derive(Debug)]
struct Allow {
    code: String,
    span: Span,
    scope: Scope,
    used: bool,
}

/// Applies the `# netpol: allow` comments of every file in `sources` to `diags`: removes what
/// they allow, adds E0009 for malformed directives and, when `report_unused` (the checks that
/// emit warnings ran), W0211 for each code that allowed nothing.
pub fn apply(sources: &SourceMap, diags: &mut Vec<Diagnostic>, report_unused: bool) {
    let mut allows = Vec::new();
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for i in 0..sources.len() {
        let file = FileId(i as u32);
        let text = sources.text(file);
        lines.push(line_starts(text));
        if text.contains("netpol:") {
            scan(file, text, &mut allows, &mut problems);
        }
    }
    if !allows.is_empty() {
        diags.retain(|d| {
            if d.severity == Severity::Error {
                return true;
            }
            let file = d.primary.span.file;
            let Some(starts) = lines.get(file.0 as usize) else { return true };
            let line = line_of(starts, d.primary.span.start as usize);
            let mut allowed = false;
            for a in allows.iter_mut().filter(|a| a.span.file == file && a.code == d.code) {
                let covers = match a.scope {
                    Scope::File => true,
                    Scope::Lines(first, last) => (first..=last).contains(&line),
                };
                if covers {
                    a.used = true;
                    allowed = true;
                }
            }
            !allowed
        });
    }
    if report_unused {
        for a in allows.iter().filter(|a| !a.used) {
            problems.push(
                Diagnostic::warning(
                    "W0211",
                    format!("`allow {}` matches no diagnostic", a.code),
                    a.span,
                    match a.scope {
                        Scope::File => "nothing in this file has this code",
                        Scope::Lines(..) => "nothing where this comment applies has this code",
                    },
                )
                .with_help(format!(
                    "remove `{}` from the comment; the problem it allowed is gone, or the comment \
                     is not where the problem is reported",
                    a.code
                )),
            );
        }
    }
    diags.extend(problems);
    crate::diagnostic::sort(diags);
}

/// Byte offsets where lines start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// The 1-based line of byte `at`.
fn line_of(starts: &[usize], at: usize) -> usize {
    starts.partition_point(|s| *s <= at).max(1)
}

/// The comment of a line: the byte where its `#` is, outside strings, if any.
fn comment_start(line: &str) -> Option<usize> {
    let (mut in_string, mut escaped) = (false, false);
    for (i, b) in line.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            (in_string, escaped) = (true, false);
        } else if b == b'#' {
            return Some(i);
        }
    }
    None
}

/// Reads the directives of one file.
fn scan(file: FileId, text: &str, allows: &mut Vec<Allow>, problems: &mut Vec<Diagnostic>) {
    let lines: Vec<(usize, &str)> = {
        let mut start = 0;
        text.split_inclusive('\n')
            .map(|l| {
                let at = start;
                start += l.len();
                (at, l.trim_end_matches(['\n', '\r']))
            })
            .collect()
    };
    for (n, (offset, line)) in lines.iter().enumerate() {
        let Some(hash) = comment_start(line) else { continue };
        let body = &line[hash + 1..];
        let trimmed = body.trim_start();
        let Some(rest) = trimmed.strip_prefix("netpol:") else { continue };
        let rest_at = offset + hash + 1 + (body.len() - trimmed.len()) + "netpol:".len();
        let own_line = line[..hash].trim().is_empty();
        let directive = Span::new(file, offset + hash, offset + line.len());
        match parse_directive(file, rest, rest_at) {
            Err(d) => problems.push(*d),
            Ok((file_wide, codes)) => {
                let scope = if file_wide {
                    Scope::File
                } else if own_line {
                    match next_statement(&lines, n + 1) {
                        Some((first, last)) => Scope::Lines(first + 1, last + 1),
                        None => {
                            problems.push(
                                Diagnostic::error(
                                    "E0009",
                                    "`netpol: allow` on its own line with no statement after it",
                                    directive,
                                    "no statement follows",
                                )
                                .with_help(
                                    "put the comment on the line before the statement it is about, or \
                                     write `# netpol: allow-file` and the codes for the whole file",
                                ),
                            );
                            continue;
                        }
                    }
                } else {
                    Scope::Lines(n + 1, n + 1)
                };
                allows.extend(codes.into_iter().map(|(code, span)| Allow { code, span, scope, used: false }));
            }
        }
    }
}

/// The first and last line index (0-based) of the statement that starts at or after line
/// `from`, skipping blank and comment lines: it runs on while a bracket is open or a line
/// ends in `,`, `=`, `{` or `(`, as the grammar continues a statement.
fn next_statement(lines: &[(usize, &str)], from: usize) -> Option<(usize, usize)> {
    let code = |l: &str| -> String {
        let end = comment_start(l).unwrap_or(l.len());
        l[..end].trim().to_string()
    };
    let first = (from..lines.len()).find(|i| !code(lines[*i].1).is_empty())?;
    let mut depth = 0i64;
    for (i, (_, line)) in lines.iter().enumerate().skip(first) {
        let c = code(line);
        let mut in_string = false;
        let mut escaped = false;
        for b in c.bytes() {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'(' => depth += 1,
                b'}' | b')' => depth -= 1,
                _ => {}
            }
        }
        let continues = c.ends_with([',', '=', '{', '(']) || (c.is_empty() && depth > 0);
        if depth <= 0 && !continues {
            return Some((first, i));
        }
    }
    Some((first, lines.len() - 1))
}

/// `allow W0203, W0204 -- reason` or `allow-file W0203`: whether it is file-wide, and each
/// code with its span. `at` is the byte offset of `rest` in the file.
#[allow(clippy::type_complexity)]
fn parse_directive(
    file: FileId,
    rest: &str,
    at: usize,
) -> Result<(bool, Vec<(String, Span)>), Box<Diagnostic>> {
    let whole = Span::new(file, at, at + rest.len());
    let malformed = |message: String, span: Span, label: &str, help: String| {
        Box::new(Diagnostic::error("E0009", message, span, label).with_help(help))
    };
    let body = rest.split_once(" --").map_or(rest, |(b, _)| b);
    let trimmed = body.trim_start();
    let word_at = at + (body.len() - trimmed.len());
    let verb_len = trimmed.find(|c: char| c.is_whitespace()).unwrap_or(trimmed.len());
    let verb = &trimmed[..verb_len];
    let file_wide = match verb {
        "allow" => false,
        "allow-file" => true,
        _ => {
            let suggestion = crate::resolve::suggest(verb, ["allow", "allow-file"].into_iter());
            return Err(malformed(
                format!("unknown directive `netpol: {verb}`"),
                Span::new(file, word_at, word_at + verb.len()),
                "not a directive",
                match suggestion {
                    Some(s) => format!(
                        "did you mean `{s}`? a directive reads `# netpol: allow W0203` or \
                         `# netpol: allow-file W0203`; start other comments with another word"
                    ),
                    None => "a directive reads `# netpol: allow W0203` or `# netpol: allow-file W0203`; \
                             start other comments with another word"
                        .to_string(),
                },
            ));
        }
    };
    let mut codes = Vec::new();
    let list_at = word_at + verb_len;
    let mut offset = list_at;
    for part in body[list_at - at..].split(',') {
        let code = part.trim();
        let start = offset + (part.len() - part.trim_start().len());
        offset += part.len() + 1;
        let span = Span::new(file, start, start + code.len());
        if code.is_empty() {
            return Err(malformed(
                format!("`netpol: {verb}` without a code"),
                if codes.is_empty() { Span::new(file, word_at, word_at + verb_len) } else { span },
                "a code is missing",
                format!(
                    "name the codes it allows, separated by commas, as in `# netpol: {verb} W0203, W0204`"
                ),
            ));
        }
        let upper = code.to_ascii_uppercase();
        if crate::explain::page(&upper).is_none() {
            return Err(malformed(
                format!("`{code}` is not a diagnostic code"),
                span,
                "no such code",
                "write codes as `netpol check` prints them, such as W0203, separated by commas; \
                 a reason goes after ` -- `"
                    .to_string(),
            ));
        }
        if upper.starts_with('E') {
            return Err(malformed(
                format!("`{upper}` is an error, and errors cannot be allowed"),
                span,
                "an error",
                "fix the error; only warnings (W…) and notes (N…) can be allowed".to_string(),
            ));
        }
        codes.push((upper, span));
    }
    if codes.is_empty() {
        return Err(malformed(
            format!("`netpol: {verb}` without a code"),
            whole,
            "a code is missing",
            format!("name the codes it allows, as in `# netpol: {verb} W0203`"),
        ));
    }
    Ok((file_wide, codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, diags: Vec<(&'static str, usize)>) -> Vec<(&'static str, usize)> {
        let mut sources = SourceMap::new();
        let file = sources.add("t.netpol", text.to_string());
        let starts = line_starts(text);
        let mut d: Vec<Diagnostic> = diags
            .into_iter()
            .map(|(code, line)| {
                let at = starts[line - 1];
                Diagnostic::warning(code, "w", Span::new(file, at, at + 1), "here")
            })
            .collect();
        apply(&sources, &mut d, true);
        d.iter().map(|d| (d.code, line_of(&starts, d.primary.span.start as usize))).collect()
    }

    #[test]
    fn trailing_own_line_and_file_scopes() {
        let text = "a -> b  # netpol: allow W0203\nc -> d\n# netpol: allow W0201, W0202 -- why\ngroup g = a,\n  b\ne -> f\n";
        let got = run(text, vec![("W0203", 1), ("W0203", 2), ("W0201", 5), ("W0202", 4), ("W0201", 6)]);
        assert_eq!(got, [("W0203", 2), ("W0201", 6)]);
        let text = "# netpol: allow-file W0203\na -> b\nc -> d\n";
        assert_eq!(run(text, vec![("W0203", 2), ("W0203", 3)]), []);
    }

    #[test]
    fn unused_and_malformed_directives_are_reported() {
        let got = run("a -> b  # netpol: allow W0203\n", vec![]);
        assert_eq!(got, [("W0211", 1)]);
        for bad in [
            "# netpol: alow W0203\na -> b\n",
            "# netpol: allow E0101\na -> b\n",
            "# netpol: allow W9\na -> b\n",
            "# netpol: allow\na -> b\n",
            "a -> b\n# netpol: allow W0203\n",
        ] {
            let got = run(bad, vec![]);
            assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), ["E0009"], "{bad}");
        }
    }

    #[test]
    fn a_hash_in_a_string_is_no_comment() {
        let got = run("a -> b \"# netpol: allow W0203\"\n", vec![("W0203", 1)]);
        assert_eq!(got, [("W0203", 1)]);
    }
}
