//! `expect` assertions (E0401), decided against the source's meaning and against each target's
//! reading of its own manifests.
//!
//! `expect A can reach B [on PORTS]` holds when every point A stands for reaches every point B
//! stands for on every listed port (on some port, without `on`), whatever the open facts are.
//! `expect A cannot reach B [on PORTS]` holds when no point of A may reach any point of B on a
//! listed port (on any port, without `on`), whatever the open facts are. A workload stands for
//! its pods, a namespace for every pod in it, `cluster` for every pod, a network for its
//! addresses, `world` for addresses outside the cluster.

use super::matrix::Semantics;
use super::ports::PortSet;
use super::side::{Act, Cell, Match, Origin, Side, Step};
use super::universe::{PointId, Universe};
use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::ir::{Direction, Expect, Program};
use crate::span::Span;
use std::collections::HashMap;

/// A failed assertion, with the lines that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectFailure {
    /// `None`: the source itself says otherwise; else only this target's manifests do.
    pub target: Option<Target>,
    pub message: String,
    pub span: Span,
    pub explain: Vec<(Span, String)>,
    pub help: String,
}

impl ExpectFailure {
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d =
            Diagnostic::error("E0401", self.message.clone(), self.span, "this expectation does not hold")
                .with_help(self.help.clone());
        for (span, text) in &self.explain {
            d = d.with_label(*span, text.clone());
        }
        d
    }
}

/// Checks every `expect` of the program against `sem`: the source's meaning (`target: None`),
/// or a target's reading of its manifests. `locate` turns a manifest origin into the source
/// line it names.
pub fn check(
    program: &Program,
    u: &Universe,
    sem: &dyn Semantics,
    target: Option<Target>,
    locate: &dyn Fn(&Origin) -> Option<Span>,
) -> Vec<ExpectFailure> {
    let mut sides = Sides::new(sem);
    program.expects.iter().filter_map(|e| check_one(program, u, &mut sides, e, target, locate)).collect()
}

/// Checks every `expect` against the source's meaning.
pub fn check_expects(program: &Program) -> Vec<ExpectFailure> {
    if program.expects.is_empty() {
        return Vec::new();
    }
    let u = Universe::new(program);
    let sem = super::reach::SourceSemantics::new(program, &u);
    check(program, &u, &sem, None, &|o| match o {
        Origin::Source(s) => Some(*s),
        Origin::Manifest { .. } => None,
    })
}

/// Sides computed once each.
pub(crate) struct Sides<'a> {
    sem: &'a dyn Semantics,
    cache: HashMap<(PointId, Direction), Side>,
}

impl<'a> Sides<'a> {
    pub(crate) fn new(sem: &'a dyn Semantics) -> Self {
        Sides { sem, cache: HashMap::new() }
    }

    pub(crate) fn get(&mut self, p: PointId, dir: Direction) -> &Side {
        let sem = self.sem;
        self.cache.entry((p, dir)).or_insert_with(|| sem.side(p, dir))
    }

    /// The connection from `s` to `d`, and what each side allows of it.
    fn connection(&mut self, u: &Universe, s: PointId, d: PointId) -> (Cell, Cell, Cell) {
        let out = self.get(s, Direction::Egress).at(u, d);
        // The node always reaches the pods on it (see `matrix`).
        let inn = if super::matrix::node_to_its_pod(u, s, d) {
            Cell::all()
        } else {
            self.get(d, Direction::Ingress).at(u, s)
        };
        (out.intersect(&inn), out, inn)
    }
}

fn check_one(
    program: &Program,
    u: &Universe,
    sides: &mut Sides,
    e: &Expect,
    target: Option<Target>,
    locate: &dyn Fn(&Origin) -> Option<Span>,
) -> Option<ExpectFailure> {
    let sources = u.points_of_peer(program, &e.from.peer);
    let destinations = u.points_of_peer(program, &e.to.peer);
    let wanted = e.ports.as_ref().map_or_else(PortSet::all, PortSet::from_ports);
    let on = |t: Option<Target>| t.map(|t| format!(" on {}", t.name())).unwrap_or_default();
    let whom = |p: PointId| u.point(p).name.clone();
    let single = sources.len() == 1 && destinations.len() == 1;
    // `it`, or the pair that fails when an end stands for several points.
    let pair = |s: PointId, d: PointId| {
        if single {
            "it".to_string()
        } else {
            format!("`{}` -> `{}`", whom(s), whom(d))
        }
    };
    for &s in &sources {
        for &d in &destinations {
            if s == d
                && u.point(s).is_pod()
                && !matches!(
                    u.point(s).role,
                    super::universe::Role::Workload(_)
                        | super::universe::Role::Relocated(_)
                        | super::universe::Role::Overlap(..)
                )
            {
                continue;
            }
            let (cell, out, inn) = sides.connection(u, s, d);
            if e.can {
                let ok = if e.ports.is_some() {
                    wanted.is_subset(&cell.certain)
                } else {
                    !cell.certain.is_empty()
                };
                if ok {
                    continue;
                }
                let missing = if e.ports.is_some() { wanted.subtract(&cell.certain) } else { wanted.clone() };
                let mut explain = Vec::new();
                for (dir, side_cell, subject, other) in
                    [(Direction::Egress, &out, s, d), (Direction::Ingress, &inn, d, s)]
                {
                    let short = if e.ports.is_some() {
                        !missing.is_subset(&side_cell.certain)
                    } else {
                        side_cell.certain.is_empty()
                    };
                    if short {
                        let side = sides.get(subject, dir).clone();
                        explain.extend(blame(u, &side, other, dir, &whom(subject), &missing, target, locate));
                    }
                }
                return Some(ExpectFailure {
                    target,
                    message: format!(
                        "expected `{}` to reach `{}` on {missing}, but{} {} cannot",
                        text(program, &e.from),
                        text(program, &e.to),
                        on(target),
                        pair(s, d)
                    ),
                    span: e.origin,
                    explain,
                    help: "add the missing rule, or correct the expectation".into(),
                });
            }
            let possible = cell.possible.intersect(&wanted);
            if possible.is_empty() {
                continue;
            }
            let mut explain = Vec::new();
            for (dir, subject, other) in [(Direction::Egress, s, d), (Direction::Ingress, d, s)] {
                let side = sides.get(subject, dir).clone();
                explain.extend(allowing(u, &side, other, dir, &whom(subject), &possible, target, locate));
            }
            let maybe = if cell.certain.intersect(&wanted).is_empty() { "possibly " } else { "" };
            return Some(ExpectFailure {
                target,
                message: format!(
                    "expected `{}` not to reach `{}`, but{} {} {maybe}can on {possible}",
                    text(program, &e.from),
                    text(program, &e.to),
                    on(target),
                    pair(s, d)
                ),
                span: e.origin,
                explain,
                help: "narrow the rules that allow it, or correct the expectation".into(),
            });
        }
    }
    None
}

/// How an `expect` names an end: its source text is not at hand, so the peer's display name.
fn text(program: &Program, p: &crate::ir::PeerRef) -> String {
    use crate::ir::Peer;
    match &p.peer {
        Peer::Workload(w) => program.workload(*w).name.clone(),
        Peer::Namespace(n) => format!("namespace {}", program.namespace(*n).name),
        Peer::NamespaceSet(s) => program.namespace_set(*s).name.clone(),
        Peer::WorkloadIn(w, s) => {
            format!("{} in {}", program.workload(*w).name, program.namespace_set(*s).name)
        }
        Peer::Cidr(c) => c.net.to_string(),
        Peer::Entity(e) => e.keyword().to_string(),
        Peer::Fqdn(f) => f.clone(),
    }
}

fn label(target: Option<Target>, origin: &Origin, text: String) -> String {
    match (target, origin) {
        (Some(t), Origin::Manifest { object, rule, .. }) => format!("{}: {object} {rule}: {text}", t.name()),
        _ => text,
    }
}

/// Why one side does not allow `missing`: the deny clauses that hit, or what isolates it.
#[allow(clippy::too_many_arguments)]
fn blame(
    u: &Universe,
    side: &Side,
    other: PointId,
    dir: Direction,
    name: &str,
    missing: &PortSet,
    target: Option<Target>,
    locate: &dyn Fn(&Origin) -> Option<Span>,
) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    for hit in side.explain(u, other) {
        let (origin, what) = match hit.step {
            Step::Clause(c) if c.act != Act::Allow && hit.ports.meets(missing) => {
                (&c.origin, format!("the {} of `{name}` denies it here", dir.as_str()))
            }
            // The end of a tier that passes what it leaves (Calico's pass tiers, the
            // ClusterNetworkPolicy tiers) denies nothing.
            Step::EndOfTier { pass: false, origin } if hit.ports.meets(missing) => {
                (origin, format!("the {} of `{name}` ends in deny here", dir.as_str()))
            }
            // An allow that depends on a fact the policies leave open (labels of a namespace
            // no inventory lists, whether an address is a pod's): possible, not certain.
            Step::Clause(c) if c.act == Act::Allow && hit.matched == Match::Maybe && hit.ports.meets(missing) => (
                &c.origin,
                format!(
                    "the {} of `{name}` allows it here only if a fact left open holds (such as a namespace's labels)",
                    dir.as_str()
                ),
            ),
            _ => continue,
        };
        if let Some(span) = locate(origin) {
            out.push((span, label(target, origin, what)));
        }
    }
    if out.is_empty() {
        let what = format!("`{name}` is isolated for {} here, and no rule allows this", dir.as_str());
        if let Some((span, origin)) = side.isolation.iter().find_map(|o| locate(o).map(|s| (s, o))) {
            out.push((span, label(target, origin, what)));
        }
    }
    out
}

/// The allow clauses of one side that let `ports` through.
#[allow(clippy::too_many_arguments)]
fn allowing(
    u: &Universe,
    side: &Side,
    other: PointId,
    dir: Direction,
    name: &str,
    ports: &PortSet,
    target: Option<Target>,
    locate: &dyn Fn(&Origin) -> Option<Span>,
) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    for hit in side.explain(u, other) {
        let Step::Clause(c) = hit.step else { continue };
        if c.act == Act::Allow && hit.ports.meets(ports) {
            if let Some(span) = locate(&c.origin) {
                out.push((
                    span,
                    label(target, &c.origin, format!("{} of `{name}` allowed here", dir.as_str())),
                ));
            }
        }
    }
    out
}
