//! `expect` assertions decided against the IR's meaning (E0401).

use super::ports::PortSet;
use super::reach::{Endpoint, Match, Reach};
use crate::diagnostic::Diagnostic;
use crate::ir::{Action, Direction, Expect, Program};
use crate::span::Span;

/// A failed assertion, with the lines that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectFailure {
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

/// Checks every `expect` of the program.
pub fn check_expects(program: &Program) -> Vec<ExpectFailure> {
    let reach = Reach::new(program);
    program.expects.iter().filter_map(|e| check_one(program, &reach, e)).collect()
}

fn check_one(program: &Program, reach: &Reach, e: &Expect) -> Option<ExpectFailure> {
    let src = Endpoint::from_peer(&e.from)?;
    let dst = Endpoint::from_peer(&e.to)?;
    let wanted = e.ports.as_ref().map_or_else(PortSet::all, PortSet::from_ports);
    let names = (endpoint_name(program, &src), endpoint_name(program, &dst));
    let out = reach.side(&src, Direction::Egress, &dst);
    let inn = reach.side(&dst, Direction::Ingress, &src);
    if e.can {
        let certain = out.certain.intersect(&inn.certain);
        let ok = if e.ports.is_some() { wanted.is_subset(&certain) } else { !certain.is_empty() };
        if ok {
            return None;
        }
        let missing = if e.ports.is_some() { wanted.subtract(&certain) } else { wanted.clone() };
        let mut explain = Vec::new();
        if !wanted.subtract(&out.certain).is_empty() || (e.ports.is_none() && out.certain.is_empty()) {
            explain.extend(blame(program, &src, Direction::Egress, &names.0));
        }
        if !wanted.subtract(&inn.certain).is_empty() || (e.ports.is_none() && inn.certain.is_empty()) {
            explain.extend(blame(program, &dst, Direction::Ingress, &names.1));
        }
        return Some(ExpectFailure {
            message: format!("expected `{}` to reach `{}` on {missing}, but it cannot", names.0, names.1),
            span: e.origin,
            explain,
            help: "add the missing rule, or correct the expectation".into(),
        });
    }
    let possible = out.possible.intersect(&inn.possible).intersect(&wanted);
    if possible.is_empty() {
        return None;
    }
    let mut explain = allowing_rules(program, reach, &src, Direction::Egress, &dst, &possible);
    explain.extend(allowing_rules(program, reach, &dst, Direction::Ingress, &src, &possible));
    Some(ExpectFailure {
        message: format!("expected `{}` not to reach `{}`, but it can on {possible}", names.0, names.1),
        span: e.origin,
        explain,
        help: "narrow the rules that allow it, or correct the expectation".into(),
    })
}

/// Why one side does not allow: its deny rules, or the lines that isolate it.
fn blame(program: &Program, ep: &Endpoint, dir: Direction, name: &str) -> Vec<(Span, String)> {
    let Endpoint::Workload(w) = ep else { return Vec::new() };
    let denies: Vec<_> = program.rules_of(*w, dir).filter(|r| r.action == Action::Deny).collect();
    if let Some(r) = denies.first() {
        return vec![(r.origin, format!("the {} of `{name}` denies it here", dir.as_str()))];
    }
    let what = format!("`{name}` is isolated for {} here, and no rule allows this", dir.as_str());
    program.isolating_line(*w, dir).map(|line| vec![(line, what)]).unwrap_or_default()
}

fn allowing_rules(
    program: &Program,
    reach: &Reach,
    subject: &Endpoint,
    dir: Direction,
    other: &Endpoint,
    ports: &PortSet,
) -> Vec<(Span, String)> {
    let Endpoint::Workload(w) = subject else { return Vec::new() };
    program
        .rules_of(*w, dir)
        .filter(|r| r.action == Action::Allow)
        .filter(|r| r.peers.iter().any(|p| reach.matches(&p.peer, other) != Match::No))
        .filter(|r| !PortSet::from_ports(&r.ports).intersect(ports).is_empty())
        .map(|r| (r.origin, format!("{} allowed here", dir.as_str())))
        .collect()
}

fn endpoint_name(program: &Program, ep: &Endpoint) -> String {
    match ep {
        Endpoint::Workload(w) => program.workload(*w).name.clone(),
        Endpoint::NamespacePod(n) => format!("namespace {}", program.namespace(*n).name),
        Endpoint::Net(c) => c.net.to_string(),
        Endpoint::Entity(e) => e.keyword().to_string(),
    }
}
