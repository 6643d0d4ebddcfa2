//! `expect` lines checked against manifests netpol did not write: a `.netpol` file of
//! declarations and `expect`s pins what hand-written or Helm-rendered policies must and must
//! not allow. A failure names the manifest objects and rules that decide (E0401, its labels
//! at those rules in the YAML). An `expect` whose end picks no point (a workload no pod of the
//! inventory matches) would hold vacuously, so it is an error of its own (E0607).

use super::{reading, Dialect, Object, World};
use crate::analysis::expect::{self, ExpectFailure};
use crate::analysis::matrix::Semantics;
use crate::analysis::side::Origin;
use crate::analysis::universe::Universe;
use crate::diagnostic::Diagnostic;
use crate::ir::Program;
use crate::span::{SourceMap, Span};

/// The diagnostics of every `expect` of `program` that does not hold under `sem`: the
/// reading of `world`'s policies as `cni` enforces them, or (`None`) the program's meaning.
pub fn check(
    sources: &SourceMap,
    program: &Program,
    world: &World,
    cni: Option<Dialect>,
    u: &Universe,
    sem: &dyn Semantics,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut checkable = program.clone();
    checkable.expects.clear();
    for e in &program.expects {
        match [&e.from, &e.to].into_iter().find(|end| u.points_of_peer(program, &end.peer).is_empty()) {
            Some(end) => out.push(
                Diagnostic::error(
                    "E0607",
                    "this expectation names no pod, so it proves nothing",
                    end.span,
                    "picks no pod of the inventory",
                )
                .with_help("check the selector and namespace against the inventory, or add its pods to it"),
            ),
            None => checkable.expects.push(e.clone()),
        }
    }
    let objects = cni.map(|c| reading::policies(world, c)).unwrap_or_default();
    let locate = |o: &Origin| match o {
        Origin::Source(s) => Some(*s),
        Origin::Manifest { object, rule, .. } => {
            objects.iter().find(|x| *x.name() == **object).map(|x: &&Object| x.locate(sources, rule))
        }
    };
    let failures: Vec<ExpectFailure> = expect::check(
        &checkable,
        u,
        sem,
        cni.map(reading::target),
        &locate as &dyn Fn(&Origin) -> Option<Span>,
    );
    out.extend(failures.iter().map(ExpectFailure::to_diagnostic));
    out
}
