//! `netpol fmt`: rewrites files into the canonical layout (`crate::fmt`), checks that they
//! are in it (`--check`, for CI), or formats stdin to stdout (`-`, for editors).
//!
//! A file that does not parse is never touched: its diagnostics are printed as `netpol check`
//! prints them. A file is written only when its text changes, under a temporary name first and
//! then renamed over the original, so a reader never sees half a file.

use super::{color_choice, expand_paths, render, ColorArg, EXIT_ERRORS, EXIT_IO, EXIT_OK};
use crate::diagnostic::Diagnostic;
use crate::span::SourceMap;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What one input became.
enum Outcome {
    Unchanged,
    Changed,
    Failed(i32),
}

/// Runs `netpol fmt`; returns the exit code.
pub(super) fn run(paths: &[PathBuf], check: bool, color: ColorArg) -> i32 {
    let stdin = Path::new("-");
    let files: Vec<PathBuf> = paths.iter().filter(|p| p.as_path() != stdin).cloned().collect();
    let mut outcomes = Vec::new();
    if paths.iter().any(|p| p.as_path() == stdin) {
        outcomes.push(format_stdin(check, color));
    }
    if !files.is_empty() {
        let Some(expanded) = expand_paths(&files) else { return EXIT_IO };
        outcomes.extend(expanded.iter().map(|f| format_path(Path::new(f), check, color)));
    }
    exit_code(&outcomes, check)
}

fn exit_code(outcomes: &[Outcome], check: bool) -> i32 {
    let failed =
        outcomes.iter().filter_map(|o| if let Outcome::Failed(c) = o { Some(*c) } else { None }).max();
    match failed {
        Some(code) => code,
        None if check && outcomes.iter().any(|o| matches!(o, Outcome::Changed)) => EXIT_ERRORS,
        None => EXIT_OK,
    }
}

fn format_stdin(check: bool, color: ColorArg) -> Outcome {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: cannot read stdin: {e}");
        return Outcome::Failed(EXIT_ERRORS);
    }
    let Some(formatted) = format_text("<stdin>", &text, color) else { return Outcome::Failed(EXIT_ERRORS) };
    let changed = formatted != text;
    let mut stdout = std::io::stdout().lock();
    let written = if check {
        if changed {
            stdout.write_all(diff("<stdin>", &text, &formatted).as_bytes())
        } else {
            Ok(())
        }
    } else {
        stdout.write_all(formatted.as_bytes())
    };
    if written.and_then(|_| stdout.flush()).is_err() {
        return Outcome::Failed(EXIT_IO);
    }
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

fn format_path(path: &Path, check: bool, color: ColorArg) -> Outcome {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {e}");
            return Outcome::Failed(EXIT_ERRORS);
        }
    };
    let Some(formatted) = format_text(&name, &text, color) else { return Outcome::Failed(EXIT_ERRORS) };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if check {
        let mut stdout = std::io::stdout().lock();
        let printed = stdout.write_all(diff(&name, &text, &formatted).as_bytes());
        if printed.and_then(|_| stdout.flush()).is_err() {
            return Outcome::Failed(EXIT_IO);
        }
    } else if let Err(e) = write_atomically(path, &formatted) {
        eprintln!("error: cannot write `{name}`: {e}");
        return Outcome::Failed(EXIT_IO);
    }
    Outcome::Changed
}

/// The formatted text, or `None` after printing why there is none.
fn format_text(name: &str, text: &str, color: ColorArg) -> Option<String> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    match crate::fmt::format_file(file, text) {
        Ok(formatted) => Some(formatted),
        Err(diagnostics) => {
            report(&sources, &diagnostics, color);
            None
        }
    }
}

fn report(sources: &SourceMap, diagnostics: &[Diagnostic], color: ColorArg) {
    let mut err = StandardStream::stderr(color_choice(color));
    let _ = render::human(&mut err, sources, diagnostics);
    let _ = writeln!(err, "netpol: {}", render::summary(diagnostics));
}

/// A unified diff from `before` to `after`, both labelled with the file's name.
fn diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Writes `text` to a temporary file next to `path` (with `path`'s permissions), then renames
/// it over `path`.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("netpol.netpol-tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, text)
        .and_then(|_| std::fs::metadata(path))
        .and_then(|m| std::fs::set_permissions(&tmp, m.permissions()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
