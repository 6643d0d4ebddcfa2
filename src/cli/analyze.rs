//! `netpol verify`, `netpol why` and `netpol matrix`: the reachability engine on the command
//! line. Each compiles the program first (diagnostics as for `check`), then reads the emitted
//! manifests back with each target's semantics.

use crate::analysis::matrix::{Rows, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::side::{Act, Cell, Origin, Side, Step};
use crate::analysis::targets::{self, Reading};
use crate::analysis::universe::{PointId, Universe};
use crate::analysis::verify;
use crate::backend::Target;
use crate::driver::Compilation;
use crate::ir::{Direction, Program};
use crate::span::SourceMap;
use serde::Serialize;
use std::fmt::Write as _;

/// The source's meaning and every compiled target's reading of its manifests.
pub struct Analysis<'a> {
    pub program: &'a Program,
    pub universe: &'a Universe,
    pub source: SourceSemantics<'a>,
    pub readings: Vec<(Target, Reading<'a>)>,
}

impl<'a> Analysis<'a> {
    /// Reads each target's objects: from `c.read_back` when the compile kept them, else from
    /// their YAML.
    pub fn new(program: &'a Program, universe: &'a Universe, c: &Compilation) -> Self {
        let readings = c
            .outputs
            .iter()
            .map(|(t, objects)| match c.read_back.iter().find(|(r, _)| r == t) {
                Some((_, bodies)) => (*t, targets::read(*t, bodies, universe)),
                None => (*t, targets::read(*t, objects, universe)),
            })
            .collect();
        Analysis { program, universe, source: SourceSemantics::new(program, universe), readings }
    }

    /// `source` first, then each target.
    pub fn semantics(&self) -> Vec<(&'static str, &dyn Semantics)> {
        let mut out: Vec<(&'static str, &dyn Semantics)> = vec![("source", &self.source)];
        out.extend(self.readings.iter().map(|(t, r)| (t.name(), &*r.semantics)));
        out
    }
}

/// `file:line` of an origin, and the line's text for source lines.
fn describe_origin(sources: &SourceMap, o: &Origin) -> String {
    match o {
        Origin::Source(span) => {
            let line = sources.start_of(*span).line;
            let text = sources.text(span.file).lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
            format!("{}:{line}: {text}", sources.name(span.file))
        }
        other => other.to_string(),
    }
}

// ---- verify -------------------------------------------------------------------------------

/// What `verify` found for one target.
#[derive(Serialize)]
pub struct TargetReport {
    pub target: &'static str,
    pub problems: Vec<String>,
    pub differences: Vec<String>,
    /// Pairs of points possibly / certainly allowed on some port, as the target reads it.
    pub possible_pairs: u64,
    pub certain_pairs: u64,
}

#[derive(Serialize)]
pub struct VerifyReport {
    pub points: usize,
    pub possible_pairs: u64,
    pub certain_pairs: u64,
    pub targets: Vec<TargetReport>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.targets.iter().all(|t| t.problems.is_empty() && t.differences.is_empty())
    }
}

/// Compares every target's reading with the source, side by side over every point.
pub fn verify(c: &Compilation) -> Option<VerifyReport> {
    let program = c.program.as_ref()?;
    let u = Universe::new(program);
    let a = Analysis::new(program, &u, c);
    let source = Rows::build(&a.source, &u);
    let (possible_pairs, certain_pairs) = source.count(&u);
    let mut targets = Vec::new();
    for (t, reading) in &a.readings {
        let rows = Rows::build(&*reading.semantics, &u);
        let (p, ce) = rows.count(&u);
        let differences = verify::compare(&u, &source, &rows)
            .iter()
            .map(|d| {
                let (s, dd) = d.connection();
                let mut text = d.describe(&u, t.name());
                for (name, sem) in [("source", &a.source as &dyn Semantics), (t.name(), &*reading.semantics)]
                {
                    for line in explain_connection(&c.sources, &u, sem, s, dd, &d.port.to_set()) {
                        let _ = write!(text, "\n    {name}: {line}");
                    }
                }
                text
            })
            .collect();
        targets.push(TargetReport {
            target: t.name(),
            problems: reading.problems.clone(),
            differences,
            possible_pairs: p,
            certain_pairs: ce,
        });
    }
    Some(VerifyReport { points: u.len(), possible_pairs, certain_pairs, targets })
}

pub fn print_verify(r: &VerifyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "source: {} points, {} pairs allowed on some port ({} more possibly)",
        r.points,
        r.certain_pairs,
        r.possible_pairs - r.certain_pairs
    );
    for t in &r.targets {
        if t.problems.is_empty() && t.differences.is_empty() {
            let _ = writeln!(
                out,
                "{}: agrees with the source ({} pairs allowed on some port, {} more possibly)",
                t.target,
                t.certain_pairs,
                t.possible_pairs - t.certain_pairs
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{}: {} difference(s) from the source, {} problem(s) in the manifests",
            t.target,
            t.differences.len(),
            t.problems.len()
        );
        for p in &t.problems {
            let _ = writeln!(out, "  problem: {p}");
        }
        for d in &t.differences {
            let _ = writeln!(out, "  difference: {d}");
        }
    }
    out
}

// ---- why ----------------------------------------------------------------------------------

/// The lines that decide one connection under one semantics: each side's verdict and why.
pub fn explain_connection(
    sources: &SourceMap,
    u: &Universe,
    sem: &dyn Semantics,
    s: PointId,
    d: PointId,
    ports: &PortSet,
) -> Vec<String> {
    let mut out = Vec::new();
    let host_to_pod = crate::analysis::matrix::node_to_its_pod(u, s, d);
    for (dir, subject, other) in [(Direction::Egress, s, d), (Direction::Ingress, d, s)] {
        let side = sem.side(subject, dir);
        let name = &u.point(subject).name;
        if dir == Direction::Ingress && host_to_pod {
            out.push(format!("ingress of {name}: the node always reaches the pods on it"));
            continue;
        }
        out.extend(explain_side(sources, u, &side, other, dir, name, ports));
    }
    out
}

fn explain_side(
    sources: &SourceMap,
    u: &Universe,
    side: &Side,
    other: PointId,
    dir: Direction,
    name: &str,
    ports: &PortSet,
) -> Vec<String> {
    let which = dir.as_str();
    if side.is_open() {
        return vec![format!("{which} of {name}: not isolated, no policy restricts it")];
    }
    let cell = side.at(u, other);
    let verdict = verdict(&cell, ports);
    let mut out = vec![format!("{which} of {name}: {verdict}")];
    for hit in side.explain(u, other) {
        if !hit.ports.meets(ports) {
            continue;
        }
        let (what, origin) = match hit.step {
            Step::Clause(c) => (
                match c.act {
                    Act::Allow => "allows",
                    Act::Deny => "denies",
                    Act::Pass => "passes to the next tier",
                },
                &c.origin,
            ),
            Step::EndOfTier { pass: true, origin } => ("passes to the next tier (end of tier)", origin),
            Step::EndOfTier { pass: false, origin } => ("denies (end of tier)", origin),
        };
        let maybe =
            if hit.matched == crate::analysis::side::Match::Maybe { " (if the address matches)" } else { "" };
        out.push(format!(
            "  {what} {}{maybe}: {}",
            hit.ports.intersect(ports),
            describe_origin(sources, origin)
        ));
    }
    if !ports.is_subset(&cell.certain) {
        let rest =
            if out.len() == 1 { "and no rule allows it" } else { "and only the rules above allow anything" };
        for o in &side.isolation {
            out.push(format!("  isolated by {}, {rest}", describe_origin(sources, o)));
        }
    }
    out
}

pub(crate) fn verdict(cell: &Cell, ports: &PortSet) -> String {
    let certain = cell.certain.intersect(ports);
    let possible = cell.possible.intersect(ports);
    if !ports.is_all() && ports.is_subset(&cell.certain) {
        "allowed".to_string()
    } else if certain.is_empty() && possible.is_empty() {
        "not allowed".to_string()
    } else if certain.is_empty() {
        format!("possibly allowed on {possible} (depends on facts the policy leaves open)")
    } else {
        format!("allowed on {certain}")
    }
}

/// `netpol why`: for each query, per semantics, the verdict and the lines on both sides.
pub fn why(c: &Compilation) -> Option<String> {
    let program = c.program.as_ref()?;
    let u = Universe::new(program);
    let a = Analysis::new(program, &u, c);
    let mut out = String::new();
    for q in &c.queries {
        let sources = u.points_of_peer(program, &q.from.peer);
        let destinations = u.points_of_peer(program, &q.to.peer);
        let ports = q.ports.as_ref().map_or_else(PortSet::all, PortSet::from_ports);
        for &s in &sources {
            for &d in &destinations {
                let on = if ports.is_all() { String::new() } else { format!(" on {ports}") };
                let _ = writeln!(out, "{} -> {}{on}", u.point(s).name, u.point(d).name);
                for (name, sem) in a.semantics() {
                    let cell = crate::analysis::matrix::connection(sem, &u, s, d);
                    let _ = writeln!(out, "  {name}: {}", verdict(&cell, &ports));
                    for line in explain_connection(&c.sources, &u, sem, s, d, &ports) {
                        let _ = writeln!(out, "    {line}");
                    }
                }
            }
        }
    }
    Some(out)
}

// ---- matrix -------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MatrixFormat {
    /// For people (`human` is the same)
    #[value(alias = "human")]
    Table,
    Csv,
    Json,
}

#[derive(Serialize)]
struct JsonMatrix<'a> {
    semantics: &'a str,
    points: Vec<JsonPoint<'a>>,
    connections: Vec<JsonConnection<'a>>,
}

#[derive(Serialize)]
struct JsonPoint<'a> {
    name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
struct JsonConnection<'a> {
    from: &'a str,
    to: &'a str,
    certain: String,
    possible: String,
}

fn kind_name(u: &Universe, p: PointId) -> &'static str {
    use crate::analysis::universe::Role;
    match u.point(p).role {
        Role::Workload(_) => "workload",
        Role::Relocated(_) | Role::Overlap(..) => "pod",
        Role::KubeDns => "kube-dns",
        Role::Unlabelled | Role::Inventory => "pod",
        Role::World(_) => "world",
        Role::Address(_) => "address",
        Role::Host => "host",
        Role::ApiServer => "kube-apiserver",
    }
}

/// The matrix under `semantics` (`source` or a target name) in `format`.
pub fn matrix(c: &Compilation, semantics: &str, format: MatrixFormat) -> Option<String> {
    let program = c.program.as_ref()?;
    let u = Universe::new(program);
    let a = Analysis::new(program, &u, c);
    let (name, sem) = a.semantics().into_iter().find(|(n, _)| *n == semantics)?;
    let rows = Rows::build(sem, &u);
    let mut out = String::new();
    match format {
        MatrixFormat::Csv => {
            out.push_str("from,to,certain,possible\n");
            rows.for_each_allowed(&u, |s, d, cell| {
                let _ = writeln!(
                    out,
                    "{},{},{},{}",
                    csv(&u.point(s).name),
                    csv(&u.point(d).name),
                    csv(&ports_text(&cell.certain)),
                    csv(&ports_text(&cell.possible))
                );
            });
        }
        MatrixFormat::Json => {
            let mut connections = Vec::new();
            rows.for_each_allowed(&u, |s, d, cell| {
                connections.push(JsonConnection {
                    from: &u.point(s).name,
                    to: &u.point(d).name,
                    certain: ports_text(&cell.certain),
                    possible: ports_text(&cell.possible),
                })
            });
            let points =
                u.ids().map(|p| JsonPoint { name: &u.point(p).name, kind: kind_name(&u, p) }).collect();
            let m = JsonMatrix { semantics: name, points, connections };
            out = serde_json::to_string_pretty(&m).unwrap_or_default();
            out.push('\n');
        }
        MatrixFormat::Table => out = table(&u, &rows, name),
    }
    Some(out)
}

fn ports_text(p: &PortSet) -> String {
    if p.is_empty() {
        String::new()
    } else {
        p.to_string()
    }
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Rows are sources, columns destinations (numbered as the rows).
pub(crate) fn table(u: &Universe, rows: &Rows, name: &str) -> String {
    let n = u.len();
    let width = n.to_string().len() + 1;
    let label = u.ids().map(|p| u.point(p).name.len()).max().unwrap_or(0);
    let mut grid = vec![vec!['.'; n]; n];
    rows.for_each_allowed(u, |s, d, cell| {
        grid[s as usize][d as usize] = if cell.certain.is_all() {
            'A'
        } else if !cell.certain.is_empty() {
            'S'
        } else {
            '?'
        };
    });
    let mut out = format!("reachability ({name}): rows are sources, columns destinations\n");
    let _ = write!(out, "{:>w$} {:label$} ", "", "", w = width);
    for d in 0..n {
        let _ = write!(out, "{:>width$}", d + 1);
    }
    out.push('\n');
    for (s, cells) in grid.iter().enumerate() {
        let _ = write!(out, "{:>width$} {:label$} ", s + 1, u.point(s as PointId).name);
        for c in cells {
            let _ = write!(out, "{c:>width$}");
        }
        out.push('\n');
    }
    out.push_str(
        "A: every port   S: some ports (see --as csv)   ?: only possibly (an open fact, such as whether a network holds a pod's address)   .: nothing\n",
    );
    out
}

/// The rules that decide a connection on `ports`, on both sides (egress of `s`, ingress of
/// `d`): every step that decided some of those ports, and what isolates a side that does not
/// certainly allow them all. The structured form of [`explain_connection`], for SARIF.
pub(crate) fn deciding_origins(
    u: &Universe,
    sem: &dyn Semantics,
    s: PointId,
    d: PointId,
    ports: &PortSet,
) -> Vec<Origin> {
    let mut out: Vec<Origin> = Vec::new();
    let host_to_pod = crate::analysis::matrix::node_to_its_pod(u, s, d);
    for (dir, subject, other) in [(Direction::Egress, s, d), (Direction::Ingress, d, s)] {
        let side = sem.side(subject, dir);
        if (dir == Direction::Ingress && host_to_pod) || side.is_open() {
            continue;
        }
        for hit in side.explain(u, other) {
            if hit.ports.meets(ports) {
                out.push(match hit.step {
                    Step::Clause(c) => c.origin.clone(),
                    Step::EndOfTier { origin, .. } => origin.clone(),
                });
            }
        }
        if !ports.is_subset(&side.at(u, other).certain) {
            out.extend(side.isolation.iter().cloned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|o| seen.insert(o.clone()));
    out
}
