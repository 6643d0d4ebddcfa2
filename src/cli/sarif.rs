//! Diagnostics as SARIF 2.1.0 (`--format sarif`), for code scanning: one rule per diagnostic
//! code, with the code's page (`docs/errors/`) as its help; one result per diagnostic, at its
//! file, line and column (columns count Unicode code points, from 1); secondary labels as
//! related locations. Each result has a fingerprint that does not move with its line: the
//! code, the file, the message and the text of the lines it points at, hashed.
//!
//! The format: <https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>; the tests
//! validate the output against the OASIS schema (`schemas/sarif/`).

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{SourceMap, Span};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The SARIF log of `diags`.
pub fn sarif(sources: &SourceMap, diags: &[Diagnostic]) -> String {
    // Rules: every code used, in code order; a result names its rule by index.
    let codes: BTreeMap<&str, usize> = {
        let mut used: Vec<&str> = diags.iter().map(|d| d.code).collect();
        used.sort_unstable();
        used.dedup();
        used.into_iter().enumerate().map(|(i, c)| (c, i)).collect()
    };
    let rules: Vec<Value> = codes.keys().map(|code| rule(code)).collect();
    let results: Vec<Value> = diags.iter().map(|d| result(sources, d, codes[d.code])).collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "netpol",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

/// A code's rule: its page's title as the short description, the page as the help.
fn rule(code: &str) -> Value {
    let page = crate::explain::PAGES.iter().find(|(c, _)| *c == code).map(|(_, p)| *p).unwrap_or("");
    let title = page
        .lines()
        .next()
        .and_then(|l| l.split_once(": ").map(|(_, t)| t.to_string()))
        .unwrap_or_else(|| code.to_string());
    let summary = page.split("\n\n").nth(1).map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "));
    json!({
        "id": code,
        "name": code,
        "shortDescription": {"text": title},
        "fullDescription": {"text": summary.unwrap_or_else(|| title.clone())},
        "help": {"text": format!("netpol explain {code}"), "markdown": page},
        "defaultConfiguration": {"level": level_of_code(code)},
    })
}

fn level_of_code(code: &str) -> &'static str {
    match code.chars().next() {
        Some('E') => "error",
        Some('W') => "warning",
        _ => "note",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn location(sources: &SourceMap, span: Span, message: Option<&str>) -> Value {
    location_named(sources.name(span.file), sources, span, message)
}

/// A location in `span`'s file, under the name `name` (a file of an old revision is shown
/// under its path in the working tree).
pub(crate) fn location_named(name: &str, sources: &SourceMap, span: Span, message: Option<&str>) -> Value {
    let (s, e) = (sources.start_of(span), sources.end_of(span));
    let mut loc = json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(name)},
        "region": {
            "startLine": s.line,
            "startColumn": s.column,
            "endLine": e.line,
            "endColumn": e.column.max(if e.line == s.line { s.column } else { 1 }),
        },
    }});
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        loc["message"] = json!({"text": m});
    }
    loc
}

/// A file name as a URI: a relative reference for a relative path (code scanning resolves it
/// against the repository), `file://` for an absolute one; `/` separators, characters outside
/// the unreserved set and `/` percent-encoded.
pub(crate) fn uri(name: &str) -> String {
    let mut out = String::new();
    if name.starts_with('/') {
        out.push_str("file://");
    }
    for b in name.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(sources: &SourceMap, d: &Diagnostic, rule_index: usize) -> Value {
    let text = match &d.help {
        Some(h) => format!("{}\nhelp: {h}", d.message),
        None => d.message.clone(),
    };
    let related: Vec<Value> = d
        .secondary
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut loc = location(sources, l.span, Some(&l.message));
            loc["id"] = json!(i);
            loc
        })
        .collect();
    let mut r = json!({
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": {"text": text},
        "locations": [location(sources, d.primary.span, Some(&d.primary.message))],
        "partialFingerprints": {"netpol/v1": fingerprint(sources, d)},
    });
    if !related.is_empty() {
        r["relatedLocations"] = json!(related);
    }
    r
}

/// The code, the file, the message and the text of the lines the primary label covers: the
/// same finding keeps its fingerprint when lines above it move.
fn fingerprint(sources: &SourceMap, d: &Diagnostic) -> String {
    let span = d.primary.span;
    let text = sources.text(span.file);
    let start = text[..(span.start as usize).min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let end =
        text[(span.end as usize).min(text.len())..].find('\n').map_or(text.len(), |i| span.end as usize + i);
    let mut h = Sha256::new();
    for part in [d.code, sources.name(span.file), &d.message, text.get(start..end).unwrap_or("").trim()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}
