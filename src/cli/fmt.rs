//! `netpol fmt`: rewrites files into the canonical layout (`crate::fmt`), checks that they
//! are in it (`--check`, for CI), or formats stdin to stdout (`-`, for editors).
//!
//! A file that does not parse is never touched: its diagnostics are printed as `netpol check`
//! prints them (or, for a file whose name does not end in `.netpol`, only that it is not netpol
//! source: see [`crate::driver::Loader::is_source`]). A file is written only when its text
//! changes, under a new temporary name next to it first and then renamed over it, so a reader
//! never sees half a file. A symbolic link is formatted where it points: the file it names is
//! replaced, with its permissions, and the link stays a link.
//!
//! A UTF-8 byte-order mark at the start of a file is dropped: the canonical layout is plain
//! UTF-8, and the mark is no character of the program (see [`crate::fs::without_bom`]). A file
//! that has one is therefore not in the layout, and `--check` says so.

use super::input::expand_paths;
use super::{color_choice, render, say, ColorArg, EXIT_ERRORS, EXIT_IO, EXIT_OK};
use crate::diagnostic::Diagnostic;
use crate::fs::{is_source_name, read_source_as_is, read_stream_limited, MAX_SOURCE_BYTES};
use crate::span::SourceMap;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::Write;
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
        let expanded = match expand_paths(&files, false) {
            Ok(expanded) => expanded,
            Err(code) => return code,
        };
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
    let text = match read_stream_limited(std::io::stdin().lock(), MAX_SOURCE_BYTES) {
        Ok(text) => text,
        Err(why) => {
            say(format_args!("error: cannot read stdin: {why}"));
            return Outcome::Failed(EXIT_ERRORS);
        }
    };
    let Some(formatted) = format_text("<stdin>", &text, true, color) else {
        return Outcome::Failed(EXIT_ERRORS);
    };
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
    if let Err(code) = stdout_result(written.and_then(|_| stdout.flush())) {
        return Outcome::Failed(code);
    }
    if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    }
}

fn format_path(path: &Path, check: bool, color: ColorArg) -> Outcome {
    let name = path.display().to_string();
    let text = match read_source_as_is(path) {
        Ok(t) => t,
        Err(why) => {
            say(format_args!("error: cannot read `{name}`: {why}"));
            return Outcome::Failed(EXIT_ERRORS);
        }
    };
    let Some(formatted) = format_text(&name, &text, is_source_name(path), color) else {
        return Outcome::Failed(EXIT_ERRORS);
    };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if check {
        let mut stdout = std::io::stdout().lock();
        let printed = stdout.write_all(diff(&name, &text, &formatted).as_bytes());
        if let Err(code) = stdout_result(printed.and_then(|_| stdout.flush())) {
            return Outcome::Failed(code);
        }
    } else if let Err(e) = write_atomically(path, &formatted) {
        say(format_args!("error: cannot write `{name}`: {e}"));
        return Outcome::Failed(EXIT_IO);
    }
    Outcome::Changed
}

/// As `print_out` in the parent module: a closed stdout is no failure, any other error is
/// exit 3.
fn stdout_result(written: std::io::Result<()>) -> Result<(), i32> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            say(format_args!("error: cannot write to stdout: {e}"));
            Err(EXIT_IO)
        }
        _ => Ok(()),
    }
}

/// The formatted text, or `None` after printing why there is none. The diagnostics of a file
/// that is not netpol `source` by name are not printed, since they quote it.
///
/// A byte-order mark at the start of `text` is left out of the result (and of the text the
/// diagnostics quote, so their columns are the editor's).
fn format_text(name: &str, text: &str, source: bool, color: ColorArg) -> Option<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    match crate::fmt::format_file(file, text) {
        Ok(formatted) => Some(formatted),
        Err(_) if !source => {
            say(format_args!(
                "error: `{name}` is not netpol source: it does not parse, and its name does not end in `.netpol`"
            ));
            None
        }
        Err(diagnostics) => {
            report(&sources, &diagnostics, color);
            None
        }
    }
}

fn report(sources: &SourceMap, diagnostics: &[Diagnostic], color: ColorArg) {
    let mut err = StandardStream::stderr(color_choice(color));
    let _ = render::human_report(&mut err, sources, diagnostics, Some(render::PER_CODE));
}

/// A unified diff from `before` to `after`, both labelled with the file's name.
fn diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Replaces the file `path` names (after symbolic links, so a link stays a link and its target
/// is formatted) by `text`: written to a new file next to it, with its permissions, then
/// renamed over it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let real = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&real)?.permissions();
    let (tmp, mut file) = create_temporary(&real)?;
    let result = file
        .write_all(text.as_bytes())
        .and_then(|_| file.set_permissions(permissions))
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::rename(&tmp, &real));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file next to `real`, under a name no one can guess, created exclusively (never an
/// existing file or link that someone else put there).
fn create_temporary(real: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::hash::{BuildHasher, Hasher};
    let dir = real.parent().unwrap_or(Path::new("."));
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut last = None;
    for attempt in 0..16u32 {
        // Keys drawn at random by the standard library for each `RandomState`.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(attempt);
        h.write_u32(std::process::id());
        let tmp = dir.join(format!(".{name}.{:016x}.netpol-fmt", h.finish()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}
