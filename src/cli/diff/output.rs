//! What `diff` prints: for people, for a pull request (Markdown), and for tools (JSON).

use crate::analysis::diff::{Change, Group};
use crate::analysis::matrix::{self, Semantics};
use crate::analysis::side::Origin;
use crate::analysis::universe::{PointId, Universe};
use crate::cli::analyze::{deciding_origins, explain_connection, verdict};
use crate::cli::sarif;
use crate::span::SourceMap;
use crate::world::universe::Population;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

pub(super) struct Explained<'a> {
    pub label: &'a str,
    pub reading: &'a str,
    pub sem: &'a dyn Semantics,
    pub u: &'a Universe,
    pub sources: &'a SourceMap,
    /// The paths the side was read from, as given (for a revision: their working-tree paths).
    pub paths: Vec<String>,
    /// The prefix of file names read from a revision (`REV:`).
    pub rev: Option<&'a str>,
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

    /// SARIF locations of the rules that decide the witness on this side: source lines, and
    /// manifest rules (at the `file:line` their annotations give, and by object and field).
    fn locations(&self, s: PointId, d: PointId, port: &crate::analysis::ports::Port) -> Vec<Value> {
        let origins = deciding_origins(self.u, self.sem, s, d, &port.to_set());
        let mut out = Vec::new();
        for o in origins {
            match o {
                Origin::Source(span) => {
                    let name = self.sources.name(span.file);
                    let (shown, message) = match self.rev.and_then(|r| Some((name.strip_prefix(r)?, r))) {
                        Some((path, rev)) => (path, format!("at {}", rev.trim_end_matches(':'))),
                        None => (name, String::new()),
                    };
                    out.push(sarif::location_named(shown, self.sources, span, Some(&message)));
                }
                Origin::Manifest { object, rule, source } => {
                    let mut loc = json!({"logicalLocations": [{
                        "fullyQualifiedName": format!("{object} {rule}"),
                        "kind": "object",
                    }]});
                    if let Some((file, line)) = source.as_deref().and_then(|s| s.rsplit_once(':')) {
                        if let Ok(line) = line.parse::<u64>() {
                            loc["physicalLocation"] = json!({
                                "artifactLocation": {"uri": sarif::uri(file)},
                                "region": {"startLine": line.max(1)},
                            });
                        }
                    }
                    out.push(loc);
                }
            }
        }
        out
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
struct JsonDiff<'a, C: Serialize> {
    old: JsonInput<'a>,
    new: JsonInput<'a>,
    same: bool,
    added: usize,
    removed: usize,
    possibly: usize,
    changes: C,
}

/// A sequence serialized from an iterator as it goes (once), so its items are not all held.
struct Lazy<I>(std::cell::RefCell<Option<I>>);

impl<I: Iterator<Item = T>, T: Serialize> Serialize for Lazy<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.borrow_mut().take() {
            Some(items) => s.collect_seq(items),
            None => s.collect_seq(std::iter::empty::<T>()),
        }
    }
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

    /// Each group ready to print, made as it is asked for: a group lists every name of its
    /// sources and destinations, and a change that reaches most pairs has as many groups as
    /// points, each with most points' names.
    fn shown(&self) -> impl Iterator<Item = Shown> + '_ {
        let pop = self.pop;
        let all = |ps: &[PointId]| -> Vec<String> {
            ps.iter().flat_map(|p| pop.names(*p)).map(str::to_string).collect()
        };
        self.groups.iter().map(move |g| {
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
        if self.groups.is_empty() {
            return out;
        }
        out.push_str("\n| Change | From | To | Ports |\n|---|---|---|---|\n");
        // Names in code spans: `<pod app=api>` is no HTML tag there; a `|` would end the cell.
        let code = |n: &str| format!("`{}`", n.replace('|', "\\|").replace('`', "'"));
        // The table and the witnesses below it, each group written to both as it is made.
        let mut details =
            String::from("\n<details><summary>Witnesses and the rules that decide them</summary>\n\n");
        for s in self.shown() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.change.as_str(),
                names_as(&s.from, code),
                names_as(&s.to, code),
                s.ports.replace('|', "\\|")
            );
            let (f, t, p) = &s.witness;
            let _ = writeln!(details, "**{}**: `{f}` -> `{t}` on {p}\n\n```", s.change.as_str());
            for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                let _ = writeln!(details, "{which}: {verdict}");
                for line in lines {
                    let _ = writeln!(details, "  {line}");
                }
            }
            details.push_str("```\n\n");
        }
        out.push_str(&details);
        out.push_str("</details>\n");
        out
    }

    /// The report as JSON, written to `out` a change at a time (a change lists every name of
    /// its sources and destinations). The first error writing to `out`.
    pub(super) fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let verdict = |(v, rules): (String, Vec<String>)| JsonVerdict { verdict: v, rules };
        let changes = self.shown().map(|s| JsonChange {
            change: s.change.as_str(),
            from: s.from,
            to: s.to,
            ports: s.ports,
            witness: JsonWitness { from: s.witness.0, to: s.witness.1, port: s.witness.2 },
            old: verdict(s.old),
            new: verdict(s.new),
        });
        let d = JsonDiff {
            old: JsonInput { path: self.old.label, reading: self.old.reading },
            new: JsonInput { path: self.new.label, reading: self.new.reading },
            same: self.groups.is_empty(),
            added: self.count(Change::Added),
            removed: self.count(Change::Removed),
            possibly: self.count(Change::Possibly),
            changes: Lazy(std::cell::RefCell::new(Some(changes))),
        };
        serde_json::to_writer_pretty(&mut *out, &d)?;
        out.write_all(b"\n")
    }

    /// SARIF 2.1.0, for code scanning: a rule per kind of change, a result per change with the
    /// witness and both sides' verdicts in its message, located at the rules that decide it on
    /// the new side (on the old side where the new side has none, such as a deleted rule: its
    /// path in the working tree, with the revision in the location's message). A result with no
    /// such line points at the new side's first path, so that every result has a file. The
    /// fingerprint is the change, its names and ports: it does not move with lines.
    pub(super) fn sarif(&self) -> String {
        const RULES: [(&str, &str, &str, &str); 3] = [
            ("added", "warning", "A connection the change allows", "The new side certainly allows this connection and the old side never does."),
            ("removed", "warning", "A connection the change stops", "The old side certainly allows this connection and the new side never does."),
            ("possibly", "note", "A connection the change leaves open differently", "The sides differ on this connection, but at least one side leaves it open to facts the policies do not fix (an address, a label): it is neither certainly added nor certainly removed."),
        ];
        let rules: Vec<Value> = RULES
            .iter()
            .map(|(id, level, short, full)| {
                json!({
                    "id": format!("diff/{id}"),
                    "name": format!("diff-{id}"),
                    "shortDescription": {"text": short},
                    "fullDescription": {"text": full},
                    "help": {"text": "netpol diff: see the README section \"Reviewing a change\""},
                    "defaultConfiguration": {"level": level},
                })
            })
            .collect();
        let fallback = self.new.paths.first().or(self.old.paths.first()).map(|p| {
            json!({"physicalLocation": {
                "artifactLocation": {"uri": sarif::uri(p)},
                "region": {"startLine": 1},
            }})
        });
        let results: Vec<Value> = self
            .groups
            .iter()
            .zip(self.shown())
            .map(|(g, s)| {
                let index = RULES.iter().position(|r| r.0 == s.change.as_str()).unwrap_or(0);
                let (ws, wd, wp) = &g.witness;
                let mut locations = self.new.locations(*ws, *wd, wp);
                if !locations.iter().any(|l| l.get("physicalLocation").is_some()) {
                    locations.extend(self.old.locations(*ws, *wd, wp));
                }
                if !locations.iter().any(|l| l.get("physicalLocation").is_some()) {
                    locations.extend(fallback.clone());
                }
                let (f, t, p) = &s.witness;
                let mut text = format!(
                    "{}: {} -> {} on {}\nwitness: {f} -> {t} on {p}",
                    s.change.as_str(),
                    names(&s.from),
                    names(&s.to),
                    s.ports
                );
                for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                    let _ = write!(text, "\n{which}: {verdict}");
                    for line in lines {
                        let _ = write!(text, "\n  {line}");
                    }
                }
                let mut h = Sha256::new();
                for part in [s.change.as_str(), &s.from.join(","), &s.to.join(","), &s.ports] {
                    h.update(part.as_bytes());
                    h.update([0]);
                }
                let fingerprint: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
                json!({
                    "ruleId": format!("diff/{}", s.change.as_str()),
                    "ruleIndex": index,
                    "level": RULES[index].1,
                    "message": {"text": text},
                    "locations": locations,
                    "partialFingerprints": {"netpol-diff/v1": fingerprint},
                })
            })
            .collect();
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
}
