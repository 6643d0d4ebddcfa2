//! Diagnostics for people (codespan-reporting), for tools (JSON), and for GitHub Actions
//! (workflow annotations), all from the same [`Diagnostic`] values.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::SourceMap;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term::{self, termcolor::WriteColor};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

pub fn human(out: &mut dyn WriteColor, sources: &SourceMap, diags: &[Diagnostic]) -> std::io::Result<()> {
    let config = term::Config::default();
    for d in diags {
        let mut labels = vec![cs::Label::primary(d.primary.span.file.0 as usize, d.primary.span.range())
            .with_message(d.primary.message.clone())];
        labels.extend(d.secondary.iter().map(|l| {
            cs::Label::secondary(l.span.file.0 as usize, l.span.range()).with_message(l.message.clone())
        }));
        let severity = match d.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
            Severity::Note => cs::Severity::Note,
        };
        let diag = cs::Diagnostic::new(severity)
            .with_code(d.code)
            .with_message(d.message.clone())
            .with_labels(labels)
            .with_notes(d.help.iter().map(|h| format!("help: {h}")).collect());
        term::emit_to_write_style(out, &config, sources.files(), &diag).map_err(std::io::Error::other)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    location: JsonLocation<'a>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    #[serde(flatten)]
    location: JsonLocation<'a>,
}

#[derive(Serialize)]
struct JsonLocation<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

fn location<'a>(sources: &'a SourceMap, span: crate::span::Span) -> JsonLocation<'a> {
    let (s, e) = (sources.start_of(span), sources.end_of(span));
    JsonLocation {
        file: sources.name(span.file),
        line: s.line,
        column: s.column,
        end_line: e.line,
        end_column: e.column,
    }
}

pub fn json(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let (errors, warnings) = counts(diags);
    let report = JsonReport {
        diagnostics: diags
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                location: location(sources, d.primary.span),
                labels: std::iter::once(&d.primary)
                    .chain(&d.secondary)
                    .map(|l| JsonLabel { message: &l.message, location: location(sources, l.span) })
                    .collect(),
                help: d.help.as_deref(),
            })
            .collect(),
        errors,
        warnings,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// GitHub workflow commands: `::error file=…,line=…::message`, one per line.
pub fn github(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let l = location(sources, d.primary.span);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(l.file),
            l.line,
            l.column,
            l.end_line,
            l.end_column,
            d.code,
            escape_data(&message)
        ));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// How many diagnostics of one code the human format shows before it sums the rest up in one
/// line (`--all` shows every one; the machine formats always list every one).
pub const PER_CODE: usize = 10;

/// The human format with at most `per_code` diagnostics of each code (`None`: all of them),
/// one line for each code with more, and the summary line. A diagnostic that stands for
/// others ([`Diagnostic::not_shown`]) is always shown.
pub fn human_report(
    out: &mut dyn WriteColor,
    sources: &SourceMap,
    diags: &[Diagnostic],
    per_code: Option<usize>,
) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shown = Vec::new();
    for d in diags {
        let n = seen.entry(d.code).or_default();
        *n += 1;
        if d.not_shown > 0 || per_code.is_none_or(|max| *n <= max) {
            shown.push(d.clone());
        }
    }
    human(out, sources, &shown)?;
    for (code, n) in seen {
        let hidden = n - shown.iter().filter(|d| d.code == code).count();
        if hidden > 0 {
            let what = crate::explain::summary(code).map(|s| format!(" ({s})")).unwrap_or_default();
            writeln!(
                out,
                "note: … and {} more {code}{what} not shown; --all shows every one",
                crate::syntax::thousands(hidden)
            )?;
        }
    }
    writeln!(out, "netpol: {}", summary_of(diags, &shown))
}

/// How many problems `d` stands for: itself, or the ones it counts without showing them.
fn weight(d: &Diagnostic) -> usize {
    d.not_shown.max(1)
}

/// Errors and warnings (notes are neither), counting those a diagnostic stands for.
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).map(weight).sum();
    (errors, diags.iter().filter(|d| d.is_warning()).map(weight).sum())
}

/// `2 errors, 1 warning`.
pub fn summary(diags: &[Diagnostic]) -> String {
    summary_of(diags, diags)
}

/// The summary of `diags` of which `shown` were printed one by one: `2 errors, 1 warning`, or
/// `20 errors shown, 19,980 more not shown, 0 warnings`.
fn summary_of(diags: &[Diagnostic], shown: &[Diagnostic]) -> String {
    let (e, w) = counts(diags);
    let one_by_one = |f: fn(&Diagnostic) -> bool| shown.iter().filter(|d| f(d) && d.not_shown == 0).count();
    let (se, sw) = (one_by_one(Diagnostic::is_error), one_by_one(Diagnostic::is_warning));
    let phrase = |total: usize, shown: usize, word: &str| {
        let plural =
            |n: usize| format!("{} {word}{}", crate::syntax::thousands(n), if n == 1 { "" } else { "s" });
        if shown >= total {
            plural(total)
        } else {
            format!("{} shown, {} more not shown", plural(shown), crate::syntax::thousands(total - shown))
        }
    };
    format!("{}, {}", phrase(e, se, "error"), phrase(w, sw, "warning"))
}
