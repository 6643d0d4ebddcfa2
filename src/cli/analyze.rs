//! `netpol verify`, `netpol why` and `netpol matrix`: the reachability engine on the command
//! line. Each compiles the program first (diagnostics as for `check`), then reads the emitted
//! manifests back with each target's semantics.

use crate::analysis::matrix::{Rows, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::side::{Act, Cell, Origin, Side, Step};
use crate::analysis::targets;
use crate::analysis::universe::{next_address, previous_address, PointId, Role, Universe};
use crate::analysis::verify;
use crate::backend::Target;
use crate::driver::Compilation;
use crate::ir::{CidrBlock, Direction, Entity, Peer, Program};
use crate::span::SourceMap;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// `file:line` of an origin, and the line's text for source lines.
pub(crate) fn describe_origin(sources: &SourceMap, o: &Origin) -> String {
    match o {
        Origin::Source(span) => {
            let line = sources.line_of(*span);
            let text = sources.line_text(span.file, line).trim();
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

/// Compares every target's reading of its objects with the source, side by side over every
/// point. The targets are read one after another, each freed before the next is read, so one
/// target's reading (and its rows) is held at a time.
pub fn verify(c: &Compilation, outputs: &[(Target, &dyn targets::Manifests)]) -> Option<VerifyReport> {
    let program = c.program.as_ref()?;
    let u = Universe::new(program);
    let source_semantics = SourceSemantics::new(program, &u);
    let source = Rows::build(&source_semantics, &u);
    let (possible_pairs, certain_pairs) = source.count(&u);
    let mut reports = Vec::new();
    // The previous target's reading and rows are freed beside this one's reading (a million
    // small frees at 100,000 objects, on one thread).
    targets::read_each(outputs, &u, |t, reading| {
        let rows = Rows::build(&*reading.semantics, &u);
        let (p, ce) = rows.count(&u);
        let differences = verify::compare(&u, &source, &rows)
            .iter()
            .map(|d| {
                let (s, dd) = d.connection();
                let mut text = d.describe(&u, t.name());
                for (name, sem) in
                    [("source", &source_semantics as &dyn Semantics), (t.name(), &*reading.semantics)]
                {
                    for line in explain_connection(&c.sources, &u, sem, s, dd, &d.port.to_set()) {
                        let _ = write!(text, "\n    {name}: {line}");
                    }
                }
                text
            })
            .collect();
        reports.push(TargetReport {
            target: t.name(),
            problems: reading.problems.clone(),
            differences,
            possible_pairs: p,
            certain_pairs: ce,
        });
        (rows, reading)
    });
    Some(VerifyReport { points: u.len(), possible_pairs, certain_pairs, targets: reports })
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

/// How a question is answered under one semantics, for one connection or for all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// Certainly allowed on every port asked (on some port, when no port is asked), for every
    /// connection the question stands for.
    Allowed,
    /// Certainly not allowed on any port asked, for any connection.
    NotAllowed,
    /// Certainly allowed for some of the ports or connections, certainly not for the others.
    Partly,
    /// It depends on facts the policy leaves open (whether a network holds a pod's address...).
    Possibly,
    /// The semantics asked do not give the same answer (only for [`WhyReport::answer`]).
    Disagree,
}

impl Answer {
    pub fn of_cell(cell: &Cell, ports: &PortSet) -> Answer {
        let certain = cell.certain.intersect(ports);
        let possible = cell.possible.intersect(ports);
        let allowed = if ports.is_all() { !certain.is_empty() } else { ports.is_subset(&cell.certain) };
        if allowed {
            Answer::Allowed
        } else if possible.is_empty() {
            Answer::NotAllowed
        } else if possible.is_subset(&certain) {
            Answer::Partly
        } else {
            Answer::Possibly
        }
    }

    /// The answer for several connections (or semantics) together.
    pub fn all(answers: impl IntoIterator<Item = Answer>, disagree: bool) -> Answer {
        let mut out: Option<Answer> = None;
        for a in answers {
            out = Some(match out {
                None => a,
                Some(o) if o == a => a,
                Some(_) if disagree => return Answer::Disagree,
                Some(o) if o == Answer::Possibly || a == Answer::Possibly => Answer::Possibly,
                Some(_) => Answer::Partly,
            });
        }
        out.unwrap_or(Answer::Possibly)
    }

    /// `--exit-status`: 0 allowed, 1 not allowed, [`EXIT_WHY_UNSETTLED`] otherwise.
    pub fn exit_code(self) -> i32 {
        match self {
            Answer::Allowed => 0,
            Answer::NotAllowed => 1,
            _ => EXIT_WHY_UNSETTLED,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Allowed => "allowed",
            Answer::NotAllowed => "not allowed",
            Answer::Partly => "partly allowed",
            Answer::Possibly => "possibly allowed",
            Answer::Disagree => "the semantics disagree",
        }
    }
}

/// `why --exit-status`: possibly or partly allowed, or the semantics disagree.
pub const EXIT_WHY_UNSETTLED: i32 = 4;
/// `why --exit-status`: errors in the input (never 1, which means "not allowed" there).
pub const EXIT_WHY_ERRORS: i32 = 5;

/// `netpol why`'s answer (`--format json` prints it as is).
#[derive(Serialize)]
pub struct WhyReport {
    /// Every semantics and every connection together.
    pub answer: Answer,
    pub questions: Vec<Question>,
}

/// One question: `from` → `to` on `ports`.
#[derive(Serialize)]
pub struct Question {
    pub from: String,
    pub to: String,
    /// `None`: no port asked (the answer is then about some port).
    pub ports: Option<String>,
    /// Per semantics, over every connection the question stands for.
    pub answers: Vec<SemanticsAnswer>,
    /// What an end stood for where it is not what was written (`world`).
    pub notes: Vec<String>,
    pub connections: Vec<Connection>,
}

#[derive(Serialize)]
pub struct SemanticsAnswer {
    /// `source` or a target (`kubernetes`, `cilium`, `calico`), or the CNI the manifests are
    /// read as.
    pub semantics: String,
    pub answer: Answer,
}

/// One connection between two points the question's ends stand for.
#[derive(Serialize)]
pub struct Connection {
    pub from: End,
    pub to: End,
    pub verdicts: Vec<Verdict>,
}

#[derive(Serialize)]
pub struct End {
    /// The point: `ns/workload`, an address, `host`...
    pub name: String,
    /// For an address of a network asked about, the addresses it answers for (`first-last`).
    pub addresses: Option<String>,
}

impl End {
    fn label(&self) -> &str {
        self.addresses.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Serialize)]
pub struct Verdict {
    pub semantics: String,
    pub answer: Answer,
    /// As the human form says it: `allowed`, `allowed on tcp 80`...
    pub text: String,
    pub certain: String,
    pub possible: String,
    /// The rules that decide it, on both sides.
    pub rules: Vec<RuleRef>,
    /// The human form's lines.
    pub lines: Vec<String>,
}

/// A rule (or default) that decides one side of a connection.
#[derive(Clone, Serialize)]
pub struct RuleRef {
    /// `egress` or `ingress`.
    pub direction: &'static str,
    /// The point whose side it is.
    pub subject: String,
    /// `allows`, `denies`, `passes`, `denies-end-of-tier`, `passes-end-of-tier`, `isolates`.
    pub action: &'static str,
    /// The ports it decides among those asked (empty for `isolates`).
    pub ports: String,
    /// Whether it applies only if the address matches (an open fact).
    pub if_address_matches: bool,
    /// For a source line: the file, line and text.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub text: Option<String>,
    /// For a manifest: the object (`NetworkPolicy shop/db`), the rule (`spec.ingress[0]`) and
    /// the source line its annotations name, if any.
    pub object: Option<String>,
    pub rule: Option<String>,
    pub from: Option<String>,
}

/// One line of an explanation, and the rule it names, if any.
pub struct Line {
    pub text: String,
    pub rule: Option<RuleRef>,
}

/// `file:line` of an origin, and the line's text for source lines.
fn rule_ref(
    sources: &SourceMap,
    o: &Origin,
    direction: Direction,
    subject: &str,
    action: &'static str,
    ports: String,
    if_address_matches: bool,
) -> RuleRef {
    let mut r = RuleRef {
        direction: direction.as_str(),
        subject: subject.to_string(),
        action,
        ports,
        if_address_matches,
        file: None,
        line: None,
        text: None,
        object: None,
        rule: None,
        from: None,
    };
    match o {
        Origin::Source(span) => {
            let line = sources.line_of(*span);
            r.file = Some(sources.name(span.file).to_string());
            r.line = Some(line);
            r.text = Some(sources.line_text(span.file, line).trim().to_string());
        }
        Origin::Manifest { object, rule, source } => {
            r.object = Some(object.to_string());
            r.rule = Some(rule.clone());
            r.from = source.clone();
        }
    }
    r
}

/// The lines that decide one connection under one semantics: each side's verdict and why.
pub fn explain_connection(
    sources: &SourceMap,
    u: &Universe,
    sem: &dyn Semantics,
    s: PointId,
    d: PointId,
    ports: &PortSet,
) -> Vec<String> {
    explain_connection_lines(sources, u, sem, s, d, ports).into_iter().map(|l| l.text).collect()
}

/// [`explain_connection`], with the rule each line names.
pub fn explain_connection_lines(
    sources: &SourceMap,
    u: &Universe,
    sem: &dyn Semantics,
    s: PointId,
    d: PointId,
    ports: &PortSet,
) -> Vec<Line> {
    let mut out = Vec::new();
    let host_to_pod = crate::analysis::matrix::node_to_its_pod(u, s, d);
    for (dir, subject, other) in [(Direction::Egress, s, d), (Direction::Ingress, d, s)] {
        let side = sem.side(subject, dir);
        let name = &u.point(subject).name;
        if dir == Direction::Ingress && host_to_pod {
            out.push(Line {
                text: format!("ingress of {name}: the node always reaches the pods on it"),
                rule: None,
            });
            continue;
        }
        out.extend(explain_side(sources, u, &side, other, dir, name, ports));
    }
    out
}

pub(crate) fn explain_side(
    sources: &SourceMap,
    u: &Universe,
    side: &Side,
    other: PointId,
    dir: Direction,
    name: &str,
    ports: &PortSet,
) -> Vec<Line> {
    let which = dir.as_str();
    if side.is_open() {
        return vec![Line {
            text: format!("{which} of {name}: not isolated, no policy restricts it"),
            rule: None,
        }];
    }
    let cell = side.at(u, other);
    let verdict = verdict(&cell, ports);
    let mut out = vec![Line { text: format!("{which} of {name}: {verdict}"), rule: None }];
    for hit in side.explain(u, other) {
        if !hit.ports.meets(ports) {
            continue;
        }
        let (what, action, origin) = match hit.step {
            Step::Clause(c) => match c.act {
                Act::Allow => ("allows", "allows", &c.origin),
                Act::Deny => ("denies", "denies", &c.origin),
                Act::Pass => ("passes to the next tier", "passes", &c.origin),
            },
            Step::EndOfTier { pass: true, origin } => {
                ("passes to the next tier (end of tier)", "passes-end-of-tier", origin)
            }
            Step::EndOfTier { pass: false, origin } => ("denies (end of tier)", "denies-end-of-tier", origin),
        };
        let maybe_match = hit.matched == crate::analysis::side::Match::Maybe;
        let maybe = if maybe_match { " (if the address matches)" } else { "" };
        let on = hit.ports.intersect(ports);
        out.push(Line {
            text: format!("  {what} {on}{maybe}: {}", describe_origin(sources, origin)),
            rule: Some(rule_ref(sources, origin, dir, name, action, on.to_string(), maybe_match)),
        });
    }
    if !ports.is_subset(&cell.certain) {
        let rest =
            if out.len() == 1 { "and no rule allows it" } else { "and only the rules above allow anything" };
        for o in &side.isolation {
            out.push(Line {
                text: format!("  isolated by {}, {rest}", describe_origin(sources, o)),
                rule: Some(rule_ref(sources, o, dir, name, "isolates", String::new(), false)),
            });
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

/// One connection under each of `semantics`.
pub(crate) fn connection_report(
    sources: &SourceMap,
    u: &Universe,
    semantics: &[(String, &dyn Semantics)],
    (s, d): (PointId, PointId),
    (from, to): (End, End),
    ports: &PortSet,
) -> Connection {
    let verdicts = semantics.iter().map(|(name, sem)| judge(sources, u, name, *sem, (s, d), ports)).collect();
    Connection { from, to, verdicts }
}

/// The connection `s` → `d` on `ports` under one semantics, with the lines that decide it.
fn judge(
    sources: &SourceMap,
    u: &Universe,
    name: &str,
    sem: &dyn Semantics,
    (s, d): (PointId, PointId),
    ports: &PortSet,
) -> Verdict {
    let cell = crate::analysis::matrix::connection(sem, u, s, d);
    let lines = explain_connection_lines(sources, u, sem, s, d, ports);
    Verdict {
        semantics: name.to_string(),
        answer: Answer::of_cell(&cell, ports),
        text: verdict(&cell, ports),
        certain: ports_text(&cell.certain.intersect(ports)),
        possible: ports_text(&cell.possible.intersect(ports)),
        rules: lines.iter().filter_map(|l| l.rule.clone()).collect(),
        lines: lines.into_iter().map(|l| l.text).collect(),
    }
}

/// The answers per semantics over a question's connections, and the report's answer.
pub(crate) fn settle(q: &mut Question, semantics: &[String]) {
    q.answers = semantics
        .iter()
        .enumerate()
        .map(|(i, name)| SemanticsAnswer {
            semantics: name.clone(),
            answer: Answer::all(
                q.connections.iter().filter_map(|c| c.verdicts.get(i)).map(|v| v.answer),
                false,
            ),
        })
        .collect();
}

pub(crate) fn report(questions: Vec<Question>) -> WhyReport {
    let answer = Answer::all(questions.iter().flat_map(|q| q.answers.iter().map(|a| a.answer)), true);
    WhyReport { answer, questions }
}

/// The human form: for each connection, per semantics, the verdict and the lines on both
/// sides; for a question that stands for several connections, the answer over all of them.
pub fn print_why(r: &WhyReport) -> String {
    let mut out = String::new();
    for q in &r.questions {
        for n in &q.notes {
            let _ = writeln!(out, "{n}");
        }
        let on = q.ports.as_ref().map_or_else(String::new, |p| format!(" on {p}"));
        for c in &q.connections {
            let part = match (&c.from.addresses, &c.to.addresses) {
                (None, None) => String::new(),
                (a, b) => format!(
                    " (for {})",
                    a.iter().chain(b.iter()).map(String::as_str).collect::<Vec<_>>().join(" -> ")
                ),
            };
            let _ = writeln!(out, "{} -> {}{on}{part}", c.from.name, c.to.name);
            for v in &c.verdicts {
                let _ = writeln!(out, "  {}: {}", v.semantics, v.text);
                for line in &v.lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let parts = q.connections.iter().any(|c| c.from.addresses.is_some() || c.to.addresses.is_some());
        if q.connections.len() > 1 && (parts || !q.notes.is_empty()) {
            let _ = writeln!(out, "{} -> {}{on}: {} connections", q.from, q.to, q.connections.len());
            for (i, a) in q.answers.iter().enumerate() {
                let _ = write!(out, "  {}: {}", a.semantics, a.answer.as_str());
                if matches!(a.answer, Answer::Partly | Answer::Possibly) {
                    let _ = write!(out, ": {}", parts_by_answer(q, i));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// Which connections of `q` get which answer under its `i`th semantics, contiguous address
/// ranges to the same end taken together: `allowed for a -> 10.0.0.0-10.0.255.255; …`.
fn parts_by_answer(q: &Question, i: usize) -> String {
    fn range(e: &End) -> Option<(IpAddr, IpAddr)> {
        let text = e.addresses.as_deref()?;
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        Some((a.parse().ok()?, b.parse().ok()?))
    }
    // (answer, from, to) with ranges kept as addresses while they can still grow.
    type Range = Option<(IpAddr, IpAddr)>;
    let mut runs: Vec<(Answer, String, Range, String, Range)> = Vec::new();
    for c in &q.connections {
        let Some(v) = c.verdicts.get(i) else { continue };
        let (fr, tr) = (range(&c.from), range(&c.to));
        let (fl, tl) = (c.from.label().to_string(), c.to.label().to_string());
        if let Some(last) = runs.last_mut() {
            // The runs `a` and `b` joined, where `b` begins right after `a`.
            let join = |a: Option<(IpAddr, IpAddr)>, b: Option<(IpAddr, IpAddr)>| match (a, b) {
                (Some((start, end)), Some((next, to))) if next_address(end) == Some(next) => {
                    Some((start, to))
                }
                _ => None,
            };
            if last.0 == v.answer && fr.is_none() && last.2.is_none() && last.1 == fl {
                if let Some(joined) = join(last.4, tr) {
                    last.4 = Some(joined);
                    continue;
                }
            }
            if last.0 == v.answer && tr.is_none() && last.4.is_none() && last.3 == tl {
                if let Some(joined) = join(last.2, fr) {
                    last.2 = Some(joined);
                    continue;
                }
            }
        }
        runs.push((v.answer, fl, fr, tl, tr));
    }
    let label = |l: &str, r: Option<(IpAddr, IpAddr)>| match r {
        Some((a, b)) if a == b => a.to_string(),
        Some((a, b)) => format!("{a}-{b}"),
        None => l.to_string(),
    };
    let mut by: Vec<(Answer, Vec<String>)> = Vec::new();
    for (answer, fl, fr, tl, tr) in runs {
        let text = format!("{} -> {}", label(&fl, fr), label(&tl, tr));
        match by.iter_mut().find(|(x, _)| *x == answer) {
            Some((_, list)) => list.push(text),
            None => by.push((answer, vec![text])),
        }
    }
    by.iter()
        .map(|(x, list)| format!("{} for {}", x.as_str(), list.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The points a question's end stands for, each with the addresses it answers for where the
/// end is a network of more than one address.
fn ends(program: &Program, u: &Universe, peer: &Peer) -> Vec<(PointId, Option<String>)> {
    let points = u.points_of_peer(program, peer);
    let Peer::Cidr(c) = peer else { return points.into_iter().map(|p| (p, None)).collect() };
    if c.net.network() == c.net.broadcast() {
        return points.into_iter().map(|p| (p, None)).collect();
    }
    // Each point answers for the addresses up to the next point: the universe has a point
    // wherever the networks the policies name begin or end inside the question's network.
    let all: Vec<(IpAddr, PointId)> = u.addresses_in(&c.net).collect();
    points
        .into_iter()
        .map(|p| {
            let i = all.iter().position(|(_, q)| *q == p);
            let range = i.and_then(|i| {
                let first = all[i].0;
                let last = match all.get(i + 1) {
                    Some((next, _)) => previous_address(*next)?,
                    None => c.net.broadcast(),
                };
                Some(if first == last { first.to_string() } else { format!("{first}-{last}") })
            });
            (p, range)
        })
        .collect()
}

/// What `world` stood for: the world addresses, and whether a network the program names
/// holds them.
fn world_note(program: &Program, u: &Universe) -> String {
    let world: Vec<IpAddr> =
        u.ids().filter_map(|p| if let Role::World(ip) = u.point(p).role { Some(ip) } else { None }).collect();
    let named: Vec<String> = program
        .rules
        .iter()
        .flat_map(|r| r.peers.iter())
        .filter_map(|p| match &p.peer {
            Peer::Cidr(c) if world.iter().any(|ip| c.net.contains(ip)) => Some(c.net.to_string()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let list: Vec<String> = world.iter().map(IpAddr::to_string).collect();
    let where_ = if named.is_empty() {
        "outside every network the policies name".to_string()
    } else {
        format!("inside {} the policies name", named.join(", "))
    };
    format!(
        "world: answered for {}, documentation addresses (RFC 5737, RFC 3849) outside the cluster and {where_}; \
         ask about another address by writing it",
        list.join(" and ")
    )
}

/// `netpol why`: each question's connections under the source's meaning, then under each
/// target's reading of its objects in `outputs`. The targets are read one after another, each
/// reading freed beside the next one's (first, where there is one thread), as `verify` does:
/// no more than one target's reading is held.
pub fn why(c: &Compilation, outputs: &[(Target, &dyn targets::Manifests)]) -> Option<WhyReport> {
    why_reading(c, outputs, false)
}

/// [`why`]; `every_object`: read all of each target's objects, not only those that bear on the
/// questions' pods (to test that the answers are the same).
fn why_reading(
    c: &Compilation,
    outputs: &[(Target, &dyn targets::Manifests)],
    every_object: bool,
) -> Option<WhyReport> {
    let program = c.program.as_ref()?;
    let nets: Vec<&CidrBlock> = c
        .queries
        .iter()
        .flat_map(|q| [&q.from.peer, &q.to.peer])
        .filter_map(|p| match p {
            Peer::Cidr(c) => Some(c),
            _ => None,
        })
        .collect();
    let u = Universe::with_questions(program, &nets);
    let source = SourceSemantics::new(program, &u);
    let mut questions = Vec::new();
    // Per question, its ports and the two points of each of its connections, for the targets.
    let mut asked: Vec<(PortSet, Vec<(PointId, PointId)>)> = Vec::new();
    for q in &c.queries {
        let text = |span: crate::span::Span| {
            c.sources.text(span.file).get(span.range()).unwrap_or("").trim().to_string()
        };
        let ports = q.ports.as_ref().map_or_else(PortSet::all, PortSet::from_ports);
        let notes = if [&q.from.peer, &q.to.peer].iter().any(|p| matches!(p, Peer::Entity(Entity::World))) {
            vec![world_note(program, &u)]
        } else {
            Vec::new()
        };
        let mut question = Question {
            from: text(q.from.span),
            to: text(q.to.span),
            ports: (!ports.is_all()).then(|| ports.to_string()),
            answers: Vec::new(),
            notes,
            connections: Vec::new(),
        };
        let mut pairs = Vec::new();
        let destinations = ends(program, &u, &q.to.peer);
        for (s, sa) in ends(program, &u, &q.from.peer) {
            for (d, da) in &destinations {
                let from = End { name: u.point(s).name.clone(), addresses: sa.clone() };
                let to = End { name: u.point(*d).name.clone(), addresses: da.clone() };
                let verdicts = vec![judge(&c.sources, &u, "source", &source, (s, *d), &ports)];
                question.connections.push(Connection { from, to, verdicts });
                pairs.push((s, *d));
            }
        }
        questions.push(question);
        asked.push((ports, pairs));
    }
    // The verdicts depend on the sides of the questions' pods alone: a target's policies of
    // other namespaces are not read (`targets::bearing_on`).
    let subsets: Option<Vec<(Target, targets::Subset)>> = (!every_object).then(|| {
        let namespaces: BTreeSet<&str> = asked
            .iter()
            .flat_map(|(_, pairs)| pairs.iter().flat_map(|&(s, d)| [s, d]))
            .filter_map(|p| u.point(p).zone)
            .map(|z| u.zone(z).name.as_str())
            .collect();
        outputs.iter().map(|&(t, objects)| (t, targets::bearing_on(objects, &namespaces))).collect()
    });
    let read: Vec<(Target, &dyn targets::Manifests)> = match &subsets {
        Some(subsets) => subsets.iter().map(|(t, s)| (*t, s as &dyn targets::Manifests)).collect(),
        None => outputs.to_vec(),
    };
    targets::read_each(&read, &u, |t, reading| {
        for (question, (ports, pairs)) in questions.iter_mut().zip(&asked) {
            for (connection, pair) in question.connections.iter_mut().zip(pairs) {
                connection.verdicts.push(judge(&c.sources, &u, t.name(), &*reading.semantics, *pair, ports));
            }
        }
        reading
    });
    let names: Vec<String> =
        std::iter::once("source").chain(outputs.iter().map(|(t, _)| t.name())).map(str::to_string).collect();
    for question in &mut questions {
        settle(question, &names);
    }
    Some(report(questions))
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

/// The matrix as one JSON value: the document [`write_json`] writes piece by piece.
#[cfg(test)]
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

/// One connection of a matrix in JSON or CSV: its two ends, and its ports as text.
#[derive(Serialize)]
pub(crate) struct JsonConnection<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub certain: &'a str,
    pub possible: &'a str,
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

/// The matrix in `format` under the source's meaning (`of` is `None`), or under a target's
/// reading of its objects, which is freed once its rows are built; written to `out` as it is
/// made, a source's row at a time. Every format lists every pair of points (the table as a
/// cell, CSV and JSON each allowed pair), so the text grows with the square of the points:
/// held whole, it took more memory than the machine had from a few thousand workloads on.
/// The first error writing to `out`.
pub fn matrix(
    program: &Program,
    of: super::Of,
    format: MatrixFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let u = Universe::new(program);
    let (name, rows) = match of {
        None => ("source", Rows::build(&SourceSemantics::new(program, &u), &u)),
        Some((t, objects)) => (t.name(), Rows::build(&*targets::read(t, objects, &u).semantics, &u)),
    };
    match format {
        MatrixFormat::Csv => write_csv(&u, &rows, out),
        MatrixFormat::Json => write_json(&u, &rows, name, out),
        MatrixFormat::Table => write_table(&u, &rows, name, out),
    }
}

fn write_csv(u: &Universe, rows: &Rows, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(CSV_HEADER)?;
    let mut texts = CellTexts::default();
    rows.try_for_each_allowed(u, |s, d, cell| {
        let (certain, possible) = texts.of(cell);
        csv_line(out, &JsonConnection { from: &u.point(s).name, to: &u.point(d).name, certain, possible })
    })
}

/// The first line of a matrix as CSV.
pub(crate) const CSV_HEADER: &[u8] = b"from,to,certain,possible\n";

/// A connection as a line of CSV.
pub(crate) fn csv_line(out: &mut dyn std::io::Write, c: &JsonConnection) -> std::io::Result<()> {
    writeln!(out, "{},{},{},{}", csv(c.from), csv(c.to), csv(c.certain), csv(c.possible))
}

fn write_json(u: &Universe, rows: &Rows, name: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let points = u.ids().map(|p| JsonPoint { name: &u.point(p).name, kind: kind_name(u, p) });
    write_json_matrix(out, name, points, |each| {
        let mut texts = CellTexts::default();
        rows.try_for_each_allowed(u, |s, d, cell| {
            let (certain, possible) = texts.of(cell);
            each(&JsonConnection { from: &u.point(s).name, to: &u.point(d).name, certain, possible })
        })
    })
}

/// A matrix as JSON: the text `serde_json::to_string_pretty` makes of `{semantics, points,
/// connections}`, and a line break, written a point and a connection at a time instead of from
/// one value. `connections` hands each connection to the function it is given.
pub(crate) fn write_json_matrix<P: Serialize>(
    out: &mut dyn std::io::Write,
    semantics: &str,
    points: impl IntoIterator<Item = P>,
    connections: impl FnOnce(&mut dyn FnMut(&JsonConnection) -> std::io::Result<()>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write!(out, "{{\n  \"semantics\": {},\n  \"points\": [", json_text(semantics))?;
    let mut first = true;
    for p in points {
        json_item(out, &mut first, &p)?;
    }
    json_end(out, first)?;
    out.write_all(b",\n  \"connections\": [")?;
    let mut first = true;
    connections(&mut |c| json_item(out, &mut first, c))?;
    json_end(out, first)?;
    out.write_all(b"\n}\n")
}

fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    // Plain data (strings, structs of strings) always serializes.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// One element of an array at the second level of a pretty-printed document: after `[` or
/// the element before, on its own lines, indented four spaces. (A JSON string holds no line
/// break, so every line break of the element's text is between its tokens.)
fn json_item<T: Serialize>(out: &mut dyn std::io::Write, first: &mut bool, value: &T) -> std::io::Result<()> {
    out.write_all(if *first { b"\n    " } else { b",\n    " })?;
    *first = false;
    out.write_all(json_text(value).replace('\n', "\n    ").as_bytes())
}

/// The end of such an array: `]` right after `[` when it is empty, as serde_json writes it.
fn json_end(out: &mut dyn std::io::Write, empty: bool) -> std::io::Result<()> {
    out.write_all(if empty { b"]" } else { b"\n  ]" })
}

/// The port texts of the last cell written. Most pairs share their cell with the pairs
/// beside them (the rows hold one cell per class of points), and comparing two cells is
/// cheaper than writing one.
#[derive(Default)]
struct CellTexts {
    last: Option<(Cell, String, String)>,
}

impl CellTexts {
    fn of(&mut self, cell: &Cell) -> (&str, &str) {
        if self.last.as_ref().is_none_or(|(last, ..)| last != cell) {
            self.last = Some((cell.clone(), ports_text(&cell.certain), ports_text(&cell.possible)));
        }
        let (_, certain, possible) = self.last.as_ref().expect("set above");
        (certain, possible)
    }
}

pub(crate) fn ports_text(p: &PortSet) -> String {
    if p.is_empty() {
        String::new()
    } else {
        p.to_string()
    }
}

pub(crate) fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The matrix as a table, rows sources and columns destinations (numbered as the rows),
/// written to `out` a row at a time: one row of cells is held, not the grid.
pub(crate) fn write_table(
    u: &Universe,
    rows: &Rows,
    name: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let n = u.len();
    let width = n.to_string().len() + 1;
    let label = u.ids().map(|p| u.point(p).name.len()).max().unwrap_or(0);
    writeln!(out, "reachability ({name}): rows are sources, columns destinations")?;
    let mut line = String::new();
    let _ = write!(line, "{:>w$} {:label$} ", "", "", w = width);
    for d in 0..n {
        let _ = write!(line, "{:>width$}", d + 1);
    }
    line.push('\n');
    out.write_all(line.as_bytes())?;
    // The row being filled, and the next row to write.
    let mut cells = vec![b'.'; n];
    let mut next: usize = 0;
    let mut write_row = |out: &mut dyn std::io::Write, s: usize, cells: &mut [u8]| -> std::io::Result<()> {
        line.clear();
        let _ = write!(line, "{:>width$} {:label$} ", s + 1, u.point(s as PointId).name);
        for c in cells.iter_mut() {
            let _ = write!(line, "{:>width$}", *c as char);
            *c = b'.';
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    };
    rows.try_for_each_allowed(u, |s, d, cell| {
        let s = s as usize;
        // The rows before this source, each finished (or without an allowed pair).
        while next < s {
            write_row(out, next, &mut cells)?;
            next += 1;
        }
        cells[d as usize] = if cell.certain.is_all() {
            b'A'
        } else if !cell.certain.is_empty() {
            b'S'
        } else {
            b'?'
        };
        Ok::<(), std::io::Error>(())
    })?;
    while next < n {
        write_row(out, next, &mut cells)?;
        next += 1;
    }
    out.write_all(
        b"A: every port   S: some ports (see --as csv)   ?: only possibly (an open fact, such as whether a network holds a pod's address)   .: nothing\n",
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Of;
    use crate::driver::{compile, Options};
    use crate::fs::FsLoader;
    use crate::ir::WorkloadId;

    /// The paths of the examples, sorted.
    fn example_paths() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut paths: Vec<String> = std::fs::read_dir(dir)
            .expect("examples")
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "netpol"))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        paths.sort();
        paths
    }

    /// The examples that compile, each with its program's matrices: the source's and each
    /// target's (the compilation, and the targets' manifests to read).
    fn example_compilations() -> Vec<(String, Compilation)> {
        example_paths()
            .into_iter()
            .map(|path| {
                let options = Options { targets: Target::ALL.to_vec(), ..Options::default() };
                let c = compile(std::slice::from_ref(&path), &FsLoader, &options);
                (path, c)
            })
            .filter(|(_, c)| c.program.is_some() && !c.has_errors())
            .collect()
    }

    fn written(
        c: &Compilation,
        of: Option<(Target, &dyn targets::Manifests)>,
        format: MatrixFormat,
    ) -> String {
        let mut out = Vec::new();
        matrix(c.program.as_ref().expect("a program"), of, format, &mut out).expect("written to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The matrix written a row and a pair at a time is the text the whole value made: JSON
    /// as serde_json prints the document, the table as its grid of cells, CSV a line per pair.
    #[test]
    fn the_matrix_written_as_it_is_made_is_the_whole_matrix() {
        let mut compared = 0;
        for (path, c) in example_compilations() {
            let program = c.program.as_ref().expect("compiled");
            let u = Universe::new(program);
            let mut readings: Vec<(&str, Of, Rows)> =
                vec![("source", None, Rows::build(&SourceSemantics::new(program, &u), &u))];
            for (t, objects) in &c.outputs {
                let rows = Rows::build(&*targets::read(*t, objects, &u).semantics, &u);
                readings.push((t.name(), Some((*t, objects as &dyn targets::Manifests)), rows));
            }
            for (name, of, rows) in readings {
                let mut pairs = Vec::new();
                rows.for_each_allowed(&u, |s, d, cell| pairs.push((s, d, cell.clone())));
                let texts: Vec<[String; 2]> =
                    pairs.iter().map(|(_, _, c)| [ports_text(&c.certain), ports_text(&c.possible)]).collect();
                let whole = JsonMatrix {
                    semantics: name,
                    points: u
                        .ids()
                        .map(|p| JsonPoint { name: &u.point(p).name, kind: kind_name(&u, p) })
                        .collect(),
                    connections: pairs
                        .iter()
                        .zip(&texts)
                        .map(|((s, d, _), [certain, possible])| JsonConnection {
                            from: &u.point(*s).name,
                            to: &u.point(*d).name,
                            certain,
                            possible,
                        })
                        .collect(),
                };
                let json = serde_json::to_string_pretty(&whole).expect("JSON") + "\n";
                assert_eq!(written(&c, of, MatrixFormat::Json), json, "{path}, {name}");

                let mut csv_text = String::from("from,to,certain,possible\n");
                for (s, d, cell) in &pairs {
                    let fields = [
                        u.point(*s).name.clone(),
                        u.point(*d).name.clone(),
                        ports_text(&cell.certain),
                        ports_text(&cell.possible),
                    ];
                    csv_text += &(fields.map(|f| csv(&f)).join(",") + "\n");
                }
                assert_eq!(written(&c, of, MatrixFormat::Csv), csv_text, "{path}, {name}");

                let n = u.len();
                let mut grid = vec![vec!['.'; n]; n];
                for (s, d, cell) in &pairs {
                    grid[*s as usize][*d as usize] = match (cell.certain.is_all(), cell.certain.is_empty()) {
                        (true, _) => 'A',
                        (false, false) => 'S',
                        (false, true) => '?',
                    };
                }
                let table = written(&c, of, MatrixFormat::Table);
                let lines: Vec<&str> = table.lines().collect();
                assert_eq!(lines.len(), n + 3, "{path}, {name}: a title, a header, a row per point, a key");
                // A row ends in its cells, each right-aligned in the width of the largest number.
                let width = n.to_string().len() + 1;
                for (s, row) in grid.iter().enumerate() {
                    let line: Vec<char> = lines[s + 2].chars().collect();
                    let cells: String =
                        line[line.len() - n * width..].chunks(width).map(|cell| cell[width - 1]).collect();
                    assert_eq!(cells, row.iter().collect::<String>(), "{path}, {name}, row {}", s + 1);
                }
                assert!(pairs.len() > 1 || name != "source", "{path}: a matrix with pairs");
                compared += 1;
            }
        }
        assert!(compared >= 20, "{compared} matrices compared");
    }

    /// Each format is written as it is made, and stops at the first write that fails (a
    /// reader that went away): nothing is written after it, and what was written before it is
    /// a small part of the whole.
    #[test]
    fn the_matrix_is_written_a_piece_at_a_time_and_stops_at_a_failed_write() {
        let (path, c) = example_compilations()
            .into_iter()
            .max_by_key(|(_, c)| c.program.as_ref().map_or(0, |p| p.workloads.len()))
            .expect("an example");
        for format in [MatrixFormat::Table, MatrixFormat::Csv, MatrixFormat::Json] {
            let whole = written(&c, None, format);
            let mut out = crate::cli::FailAfter::new(256);
            let result = matrix(c.program.as_ref().expect("a program"), None, format, &mut out);
            assert!(result.is_err(), "{path}, {format:?}: the failed write is the result");
            assert_eq!(out.failed, 1, "{path}, {format:?}: no write after the failed one");
            // Piece by piece: more than one write reached the writer before it failed.
            assert!(out.writes > 2, "{path}, {format:?}: {} writes", out.writes);
            assert!(whole.len() > 4 * 256, "{path}, {format:?}: the whole is larger than the budget");
        }
    }

    /// `why` reads only the objects that bear on its questions' pods; the answers, every line
    /// that decides them included, are those of a reading of every object. Asked of each
    /// example, on each target it compiles for, for every pair of up to four workloads of one
    /// namespace, and between the first of them and a network and the world, namespace by
    /// namespace (so other namespaces' policies are left out).
    #[test]
    fn why_reads_only_what_bears_on_its_pods_and_answers_the_same() {
        let examples = example_paths();
        let (mut compared, mut left_out) = (0, 0);
        for path in &examples {
            let paths = [path.clone()];
            let plain = compile(&paths, &FsLoader, &Options::default());
            let Some(p) = plain.program.as_ref().filter(|_| !plain.has_errors()) else { continue };
            for ns in 0..p.namespaces.len() {
                let names: Vec<String> = (0..p.workloads.len())
                    .map(|i| WorkloadId(i as u32))
                    .filter(|w| p.workload(*w).namespace.index() == ns)
                    .take(4)
                    .map(|w| p.qualified_name(w))
                    .collect();
                let Some(first) = names.first() else { continue };
                let mut queries: Vec<String> = names
                    .iter()
                    .flat_map(|a| names.iter().map(move |b| format!("expect {a} can reach {b}")))
                    .collect();
                queries.push(format!("expect {first} can reach 10.0.0.0/8 on tcp 443"));
                queries.push(format!("expect world can reach {first}"));
                for target in Target::ALL {
                    let options =
                        Options { targets: vec![target], queries: queries.clone(), ..Options::default() };
                    let c = compile(&paths, &FsLoader, &options);
                    if c.has_errors() {
                        continue;
                    }
                    let outputs: Vec<(Target, &dyn targets::Manifests)> =
                        c.outputs.iter().map(|(t, o)| (*t, o as &dyn targets::Manifests)).collect();
                    let json =
                        |r: Option<WhyReport>| serde_json::to_string_pretty(&r.expect("a report")).unwrap();
                    let some = json(why_reading(&c, &outputs, false));
                    let every = json(why_reading(&c, &outputs, true));
                    assert_eq!(
                        some,
                        every,
                        "{path}, namespace {}, on {}",
                        p.namespaces[ns].name,
                        target.name()
                    );
                    compared += 1;
                    let asked = BTreeSet::from([p.namespaces[ns].name.as_str()]);
                    let (_, objects) = &c.outputs[0];
                    left_out +=
                        objects.len() - targets::Manifests::count(&targets::bearing_on(objects, &asked));
                }
            }
        }
        assert!(compared >= 30, "{compared} programs, namespaces and targets compared");
        assert!(left_out > 0, "no example has a policy of another namespace to leave out");
    }
}
