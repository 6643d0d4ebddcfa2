//! [`Line`]s → text, with the columns aligned:
//!
//! - In a run of one-line statements of one [`Class`] (consecutive lines at one indentation;
//!   full-line comments inside the run do not end it, blank lines and other statements do),
//!   the aligned part (selector, `=`, reason) starts at one column: the longest head of the
//!   run plus the class's gap.
//! - Trailing comments of consecutive lines at one indentation start at one column, two
//!   spaces after the longest of those lines.

use super::layout::{Class, Line};

/// The text of `lines`, every line ended by `newline`.
pub(super) fn render(lines: &[Line], newline: &str) -> String {
    let code = align_tails(lines);
    let comment_cols = comment_columns(lines, &code);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        match line {
            Line::Code { comment, .. } => {
                out.push_str(&code[i]);
                if let Some(c) = comment {
                    let width = code[i].chars().count();
                    pad(&mut out, comment_cols[i].saturating_sub(width).max(if width > 0 { 2 } else { 0 }));
                    out.push_str(c);
                }
            }
            Line::Comment { indent, text } => {
                pad(&mut out, *indent);
                out.push_str(text);
            }
            Line::Blank => {}
        }
        out.push_str(newline);
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The head and the aligned part of a one-line statement.
fn split(line: &Line) -> Option<(Class, usize, &str, Option<&str>)> {
    match line {
        Line::Code { indent, text, tail_at, class: Some(class), .. } => {
            let (head, tail) = match tail_at {
                Some(at) => (&text[..*at], Some(text[*at..].trim_start())),
                None => (text.as_str(), None),
            };
            Some((*class, *indent, head, tail))
        }
        _ => None,
    }
}

/// Each line's code (indentation, statement, aligned part), without its trailing comment.
fn align_tails(lines: &[Line]) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .map(|l| match l {
            Line::Code { indent, text, .. } => format!("{}{text}", " ".repeat(*indent)),
            _ => String::new(),
        })
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let Some((class, indent, ..)) = split(&lines[i]) else {
            i += 1;
            continue;
        };
        let run = run_end(lines, i, class, indent);
        let members: Vec<usize> = (i..run).filter(|&j| split(&lines[j]).is_some()).collect();
        let col = members
            .iter()
            .filter_map(|&j| split(&lines[j]).filter(|s| s.3.is_some()).map(|s| s.2.chars().count()))
            .max()
            .unwrap_or(0);
        for j in members {
            if let Some((_, indent, head, Some(tail))) = split(&lines[j]) {
                let mut s = " ".repeat(indent);
                s.push_str(head);
                pad(&mut s, col - head.chars().count() + class.gap());
                s.push_str(tail);
                out[j] = s;
            }
        }
        i = run;
    }
    out
}

/// The end (exclusive) of the run of `class` statements at `indent` that starts at `start`.
/// Comment lines inside the run belong to it; trailing comment lines do not matter.
fn run_end(lines: &[Line], start: usize, class: Class, indent: usize) -> usize {
    let mut end = start + 1;
    let mut j = start + 1;
    while j < lines.len() {
        match &lines[j] {
            Line::Comment { .. } => {}
            l => match split(l) {
                Some((c, ind, ..)) if c == class && ind == indent => end = j + 1,
                _ => break,
            },
        }
        j += 1;
    }
    end
}

/// The column of each line's trailing comment: two spaces after the longest code of the run
/// of consecutive lines with trailing comments.
fn comment_columns(lines: &[Line], code: &[String]) -> Vec<usize> {
    let commented = |l: &Line| match l {
        Line::Code { indent, comment: Some(_), .. } => Some(*indent),
        _ => None,
    };
    let mut cols = vec![0; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let Some(indent) = commented(&lines[i]) else {
            i += 1;
            continue;
        };
        let end = (i..lines.len()).find(|&j| commented(&lines[j]) != Some(indent)).unwrap_or(lines.len());
        let col = code[i..end].iter().map(|c| c.chars().count()).max().unwrap_or(0) + 2;
        cols[i..end].fill(col);
        i = end;
    }
    cols
}
