//! Coverage of an inventory (`netpol check --inventory`): what the policies do and do not
//! reach among the cluster's real pods, for a `.netpol` program and for manifests alike.
//!
//! | code | finding |
//! | --- | --- |
//! | W0610 | a workload's selector, or a policy's, picks no pod of the inventory |
//! | W0611 | pods no policy isolates, per direction: everything may reach them (ingress) or they may reach everything (egress) |
//! | W0612 | a rule names a port that no container of the pods it is about declares |
//! | W0613 | pods that two workloads of the program pick, so both workloads' rules apply to them |
//! | W0614 | a namespace the program or a policy names, or a namespace set, that matches no namespace of the inventory |
//! | W0615 | a rule whose peers pick nothing: it allows (or denies) nothing |
//!
//! The findings come from the semantics (the source's, or a CNI's reading of manifests), so
//! they hold for every dialect alike: a pod is isolated when its side in that direction is;
//! a policy picks pods when it takes part in the side of one; a rule's peers pick something
//! when its coverage holds any point.

use super::universe::Population;
use super::{reading, Dialect, Object, World};
use crate::analysis::matrix::Semantics;
use crate::analysis::side::{Act, Fold, Match, Origin, Side, Step};
use crate::analysis::universe::{PointId, Role};
use crate::diagnostic::Diagnostic;
use crate::ir::{Direction, Program};
use crate::span::{SourceMap, Span};
use std::collections::{BTreeMap, BTreeSet};

/// Whether a side is isolated: it starts from nothing (or, in tiers, some policy applies).
fn isolated(side: &Side) -> bool {
    match side.fold {
        Fold::Union { isolated } => isolated,
        Fold::Ordered => side.steps.iter().any(|s| matches!(s, Step::EndOfTier { .. })),
    }
}

/// At most five names, then how many more.
fn some(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    let mut out = format!("`{}`", shown.join("`, `"));
    if names.len() > 5 {
        out.push_str(&format!(" and {} more", names.len() - 5));
    }
    out
}

/// What the program or the manifests say about the pods of the inventory; see the module
/// comment. `cni`: the dialect the manifests are read as, when the semantics is theirs.
pub fn check(
    sources: &SourceMap,
    world: &World,
    pop: &Population,
    sem: &dyn Semantics,
    program: Option<&Program>,
    cni: Option<Dialect>,
) -> Vec<Diagnostic> {
    let u = &pop.universe;
    let mut out = Vec::new();
    let objects: Vec<&Object> = cni.map(|c| reading::policies(world, c)).unwrap_or_default();
    let locate = |o: &Origin| -> Option<Span> {
        match o {
            Origin::Source(s) => Some(*s),
            Origin::Manifest { object, rule, .. } => {
                objects.iter().find(|x| *x.name() == **object).map(|x| x.locate(sources, rule))
            }
        }
    };
    let pod_at = |p: PointId| -> Option<Span> {
        let (span, path) = pop.at[p as usize].as_ref()?;
        let object = Object { value: serde_json::Value::Null, span: *span, path: path.clone() };
        Some(object.locate(sources, "kind"))
    };
    let pods: Vec<PointId> = u
        .ids()
        .filter(|p| u.point(*p).role == Role::Inventory && !pop.members[*p as usize].is_empty())
        .collect();
    // What the sides show: the objects that take part, the rules that cover something, and
    // the named ports each allow rule names towards pods that do not declare them.
    let mut taking_part: BTreeSet<String> = BTreeSet::new();
    let mut covering: BTreeMap<String, (Origin, bool)> = BTreeMap::new();
    let mut ports_named: BTreeMap<(String, String), (Origin, bool)> = BTreeMap::new();
    for dir in [Direction::Ingress, Direction::Egress] {
        let mut open: Vec<PointId> = Vec::new();
        for &p in &pods {
            let side = sem.side(p, dir);
            if !isolated(&side) {
                open.push(p);
            }
            for o in &side.isolation {
                if let Origin::Manifest { object, .. } = o {
                    taking_part.insert(object.to_string());
                }
            }
            for step in &side.steps {
                let Step::Clause(c) = step else { continue };
                if let Origin::Manifest { object, .. } = &c.origin {
                    taking_part.insert(object.to_string());
                }
                let key = c.origin.to_string();
                let covers = !c.cover.is_none();
                let entry = covering.entry(key.clone()).or_insert((c.origin.clone(), false));
                entry.1 |= covers;
                if c.act != Act::Allow {
                    continue;
                }
                // A named port is the destination's: the subject's on ingress, the peers' on
                // egress (those the rule certainly covers).
                for (protocol, name) in c.ports.listed_names() {
                    let declared = |q: PointId| {
                        pop.ports[q as usize].iter().any(|x| x.name == name && x.protocol == protocol)
                    };
                    let somewhere = match dir {
                        Direction::Ingress => declared(p),
                        Direction::Egress => {
                            pods.iter().any(|&q| c.cover.get(u, q) == Match::Yes && declared(q))
                        }
                    };
                    let e = ports_named
                        .entry((key.clone(), format!("{} {name}", protocol.as_str().to_ascii_lowercase())))
                        .or_insert((c.origin.clone(), false));
                    e.1 |= somewhere;
                }
            }
        }
        // W0611: per point, the pods no policy isolates in this direction.
        for p in open {
            let names = &pop.members[p as usize];
            let (what, effect) = match dir {
                Direction::Ingress => ("ingress", "anything may connect to them"),
                Direction::Egress => ("egress", "they may connect to anything"),
            };
            let Some(span) = pod_at(p) else { continue };
            out.push(
                Diagnostic::warning(
                    "W0611",
                    format!("no policy isolates {} for {what}: {effect}", some(names)),
                    span,
                    format!("not isolated for {what}"),
                )
                .with_help(format!(
                    "if that is not meant, add a policy (or a default deny) that selects them for {what}"
                )),
            );
        }
    }
    // W0615: rules whose peers pick nothing.
    for (origin, covers) in covering.values() {
        if *covers {
            continue;
        }
        if let Some(span) = locate(origin) {
            out.push(
                Diagnostic::warning(
                    "W0615",
                    format!("the peers of {origin} pick nothing"),
                    span,
                    "picks nothing",
                )
                .with_help("check the peer's selectors and namespaces against the inventory"),
            );
        }
    }
    // W0612: named ports no pod declares. A rule that names a port for every protocol (a
    // ClusterNetworkPolicy's `destinationNamedPort`) needs it declared for one of them.
    let any_protocol = |key: &str, port: &str| -> Option<bool> {
        let name = port.split_once(' ').map_or(port, |(_, n)| n);
        let mut declared = false;
        for p in ["tcp", "udp", "sctp"] {
            declared |= ports_named.get(&(key.to_string(), format!("{p} {name}")))?.1;
        }
        Some(declared)
    };
    for ((key, port), (origin, declared)) in &ports_named {
        if *declared {
            continue;
        }
        if let Some(any) = any_protocol(key, port) {
            // Reported once, at its TCP entry.
            if any || !port.starts_with("tcp ") {
                continue;
            }
        }
        if let Some(span) = locate(origin) {
            out.push(
                Diagnostic::warning(
                    "W0612",
                    format!("{origin} names the port `{port}`, which no container of the pods it is about declares"),
                    span,
                    "a port no pod declares",
                )
                .with_help(
                    "name a port the destination's containers declare (`ports[].name`), or use its number",
                ),
            );
        }
    }
    // W0610 (manifests): policies that take part in no pod's sides (W0614 says why, for a
    // policy in a namespace the inventory does not have).
    let listed: BTreeSet<&str> = world.inventory.namespaces.iter().map(|n| n.name.as_str()).collect();
    let unlisted = |o: &Object| {
        !listed.is_empty() && o.value["metadata"]["namespace"].as_str().is_some_and(|ns| !listed.contains(ns))
    };
    for o in &objects {
        let kind = o.value["kind"].as_str().unwrap_or("");
        let skipped = matches!(kind, "Tier" | "NetworkSet" | "GlobalNetworkSet" | "HostEndpoint");
        if skipped || taking_part.contains(&o.name()) || unlisted(o) {
            continue;
        }
        let field = ["spec.podSelector", "spec.endpointSelector", "spec.nodeSelector", "spec.selector"]
            .into_iter()
            .find(|f| f.split('.').try_fold(&o.value, |v, k| v.get(k)).is_some())
            .unwrap_or("spec");
        out.push(
            Diagnostic::warning(
                "W0610",
                format!("{} selects no pod of the inventory", o.name()),
                o.locate(sources, field),
                "selects no pod",
            )
            .with_help("check the selector and the namespace against the inventory's pods"),
        );
    }
    // W0614 (manifests): policies in a namespace the inventory does not list.
    if !world.inventory.namespaces.is_empty() {
        let known: BTreeSet<&str> = world.inventory.namespaces.iter().map(|n| n.name.as_str()).collect();
        for o in &objects {
            if let Some(ns) = o.value["metadata"]["namespace"].as_str().filter(|ns| !known.contains(ns)) {
                out.push(
                    Diagnostic::warning(
                        "W0614",
                        format!("{} is in namespace `{ns}`, which is not in the inventory", o.name()),
                        o.locate(sources, "metadata.namespace"),
                        "no such namespace",
                    )
                    .with_help("check the namespace against the inventory's namespaces"),
                );
            }
        }
    }
    if let Some(program) = program {
        out.extend(program_findings(world, pop, program));
    }
    out
}

/// W0610, W0613 and W0614 for the program's own declarations.
fn program_findings(world: &World, pop: &Population, program: &Program) -> Vec<Diagnostic> {
    let u = &pop.universe;
    let mut out = Vec::new();
    let mut picked: BTreeMap<PointId, Vec<usize>> = BTreeMap::new();
    for (i, w) in program.workloads.iter().enumerate() {
        let pods: Vec<PointId> = u
            .select(u.zone_of_namespace(w.namespace), &w.selector)
            .into_iter()
            .filter(|p| !pop.members[*p as usize].is_empty())
            .collect();
        if pods.is_empty() {
            out.push(
                Diagnostic::warning(
                    "W0610",
                    format!("workload `{}` picks no pod of the inventory", w.name),
                    w.span,
                    "picks no pod",
                )
                .with_help("check its labels and namespace against the inventory's pods"),
            );
        }
        for p in pods {
            picked.entry(p).or_default().push(i);
        }
    }
    // W0613: once per pair of workloads, naming the pods they share.
    let mut shared: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for (p, ws) in &picked {
        for (k, a) in ws.iter().enumerate() {
            for b in &ws[k + 1..] {
                shared.entry((*a, *b)).or_default().extend(pop.members[*p as usize].iter().cloned());
            }
        }
    }
    for ((a, b), names) in shared {
        let (wa, wb) = (&program.workloads[a], &program.workloads[b]);
        out.push(
            Diagnostic::warning(
                "W0613",
                format!(
                    "`{}` and `{}` both pick {}, which get the rules of both",
                    wa.name,
                    wb.name,
                    some(&names)
                ),
                wb.span,
                format!("also picked by `{}`", wa.name),
            )
            .with_label(wa.span, "picks them too")
            .with_help("if the workloads are meant to be apart, make their selectors exclusive"),
        );
    }
    // W0614: namespaces and namespace sets that match no namespace the inventory lists.
    if !world.inventory.namespaces.is_empty() {
        let known: BTreeSet<&str> = world.inventory.namespaces.iter().map(|n| n.name.as_str()).collect();
        for ns in &program.namespaces {
            if !known.contains(ns.name.as_str()) {
                out.push(
                    Diagnostic::warning(
                        "W0614",
                        format!("namespace `{}` is not in the inventory", ns.name),
                        ns.span,
                        "no such namespace",
                    )
                    .with_help("check the name against the inventory's namespaces"),
                );
            }
        }
        for set in &program.namespace_sets {
            let any = world.inventory.namespaces.iter().any(|n| set.selector.matches(&n.labels));
            if !any {
                out.push(
                    Diagnostic::warning(
                        "W0614",
                        format!("namespaces `{}` match no namespace of the inventory", set.name),
                        set.span,
                        "matches no namespace",
                    )
                    .with_help("check the labels against the inventory's namespaces"),
                );
            }
        }
    }
    out
}
