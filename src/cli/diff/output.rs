//! What `diff` prints: for people, for a pull request (Markdown), and for tools (JSON).

use crate::analysis::diff::{Change, Group};
use crate::analysis::matrix::{self, Semantics};
use crate::analysis::universe::{PointId, Universe};
use crate::cli::analyze::{explain_connection, verdict};
use crate::span::SourceMap;
use crate::world::universe::Population;
use serde::Serialize;
use std::fmt::Write as _;

pub(super) struct Explained<'a> {
    pub label: &'a str,
    pub reading: &'a str,
    pub sem: &'a dyn Semantics,
    pub u: &'a Universe,
    pub sources: &'a SourceMap,
}

impl Explained<'_> {
    /// How the side is read, in words.
    fn how(&self) -> String {
        match self.reading.strip_prefix("compiled:") {
            _ if self.reading == "source" => "the program's meaning".to_string(),
            Some(t) => format!("compiled for {t}, as {t} enforces it"),
            None => format!("as {} enforces them", self.reading),
        }
    }

    /// The verdict on the witness, and the lines that decide it.
    fn explain(&self, s: PointId, d: PointId, port: &crate::analysis::ports::Port) -> (String, Vec<String>) {
        let ports = port.to_set();
        let cell = matrix::connection(self.sem, self.u, s, d);
        (verdict(&cell, &ports), explain_connection(self.sources, self.u, self.sem, s, d, &ports))
    }
}

pub(super) struct Report<'a> {
    pub pop: &'a Population,
    pub groups: &'a [Group],
    pub old: Explained<'a>,
    pub new: Explained<'a>,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    old: JsonInput<'a>,
    new: JsonInput<'a>,
    same: bool,
    added: usize,
    removed: usize,
    possibly: usize,
    changes: Vec<JsonChange>,
}

#[derive(Serialize)]
struct JsonInput<'a> {
    path: &'a str,
    reading: &'a str,
}

#[derive(Serialize)]
struct JsonChange {
    change: &'static str,
    from: Vec<String>,
    to: Vec<String>,
    ports: String,
    witness: JsonWitness,
    old: JsonVerdict,
    new: JsonVerdict,
}

#[derive(Serialize)]
struct JsonWitness {
    from: String,
    to: String,
    port: String,
}

#[derive(Serialize)]
struct JsonVerdict {
    verdict: String,
    rules: Vec<String>,
}

/// A group, ready to print.
struct Shown {
    change: Change,
    from: Vec<String>,
    to: Vec<String>,
    ports: String,
    witness: (String, String, String),
    old: (String, Vec<String>),
    new: (String, Vec<String>),
}

const SHOWN_NAMES: usize = 4;

fn names(list: &[String]) -> String {
    names_as(list, |n| n.to_string())
}

/// The first names, each written by `one`, and how many more.
fn names_as(list: &[String], one: impl Fn(&str) -> String) -> String {
    let shown: Vec<String> = list.iter().take(SHOWN_NAMES).map(|n| one(n)).collect();
    match list.len().saturating_sub(SHOWN_NAMES) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

impl Report<'_> {
    fn count(&self, c: Change) -> usize {
        self.groups.iter().filter(|g| g.change == c).count()
    }

    fn shown(&self) -> Vec<Shown> {
        let pop = self.pop;
        let all = |ps: &[PointId]| -> Vec<String> {
            ps.iter().flat_map(|p| pop.names(*p)).map(str::to_string).collect()
        };
        self.groups
            .iter()
            .map(|g| {
                let (s, d, port) = &g.witness;
                let first = |p: PointId| pop.names(p).first().map_or_else(String::new, |n| n.to_string());
                Shown {
                    change: g.change,
                    from: all(&g.from),
                    to: all(&g.to),
                    ports: g.ports.to_string(),
                    witness: (first(*s), first(*d), port.to_string()),
                    old: self.old.explain(*s, *d, port),
                    new: self.new.explain(*s, *d, port),
                }
            })
            .collect()
    }

    fn summary(&self) -> String {
        if self.groups.is_empty() {
            return "no change: both sides allow the same connections".to_string();
        }
        let (a, r, p) =
            (self.count(Change::Added), self.count(Change::Removed), self.count(Change::Possibly));
        let mut out = format!("{} change(s): {a} added, {r} removed", self.groups.len());
        if p > 0 {
            let _ = write!(out, ", {p} possibly (one side leaves them open)");
        }
        out
    }

    pub(super) fn human(&self) -> String {
        let mut out = String::new();
        for (which, e) in [("old", &self.old), ("new", &self.new)] {
            let _ = writeln!(out, "{which}: {}, {}", e.label, e.how());
        }
        let _ = writeln!(out, "{}", self.summary());
        for s in self.shown() {
            let _ = writeln!(out);
            let _ =
                writeln!(out, "{}: {} -> {} on {}", s.change.as_str(), names(&s.from), names(&s.to), s.ports);
            let (f, t, p) = &s.witness;
            let _ = writeln!(out, "  witness: {f} -> {t} on {p}");
            for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                let _ = writeln!(out, "  {which}: {verdict}");
                for line in lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        out
    }

    pub(super) fn markdown(&self) -> String {
        let mut out = format!("**netpol diff**: {}\n\n", self.summary());
        let _ = writeln!(
            out,
            "Old: `{}`, {}; new: `{}`, {}.",
            self.old.label,
            self.old.how(),
            self.new.label,
            self.new.how()
        );
        let shown = self.shown();
        if shown.is_empty() {
            return out;
        }
        out.push_str("\n| Change | From | To | Ports |\n|---|---|---|---|\n");
        // Names in code spans: `<pod app=api>` is no HTML tag there; a `|` would end the cell.
        let code = |n: &str| format!("`{}`", n.replace('|', "\\|").replace('`', "'"));
        for s in &shown {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.change.as_str(),
                names_as(&s.from, code),
                names_as(&s.to, code),
                s.ports.replace('|', "\\|")
            );
        }
        out.push_str("\n<details><summary>Witnesses and the rules that decide them</summary>\n\n");
        for s in &shown {
            let (f, t, p) = &s.witness;
            let _ = writeln!(out, "**{}**: `{f}` -> `{t}` on {p}\n\n```", s.change.as_str());
            for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                let _ = writeln!(out, "{which}: {verdict}");
                for line in lines {
                    let _ = writeln!(out, "  {line}");
                }
            }
            out.push_str("```\n\n");
        }
        out.push_str("</details>\n");
        out
    }

    pub(super) fn json(&self) -> String {
        let verdict = |(v, rules): (String, Vec<String>)| JsonVerdict { verdict: v, rules };
        let changes = self
            .shown()
            .into_iter()
            .map(|s| JsonChange {
                change: s.change.as_str(),
                from: s.from,
                to: s.to,
                ports: s.ports,
                witness: JsonWitness { from: s.witness.0, to: s.witness.1, port: s.witness.2 },
                old: verdict(s.old),
                new: verdict(s.new),
            })
            .collect();
        let d = JsonDiff {
            old: JsonInput { path: self.old.label, reading: self.old.reading },
            new: JsonInput { path: self.new.label, reading: self.new.reading },
            same: self.groups.is_empty(),
            added: self.count(Change::Added),
            removed: self.count(Change::Removed),
            possibly: self.count(Change::Possibly),
            changes,
        };
        serde_json::to_string_pretty(&d).unwrap_or_default() + "\n"
    }
}
