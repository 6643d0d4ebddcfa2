//! Stage 3, `check`: IR → warnings and consistency errors (E02xx / W02xx). Collects every
//! problem; never stops at the first.

use crate::analysis::ports::PortSet;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::universe::Universe;
use crate::diagnostic::Diagnostic;
use crate::ir::{Action, Direction, Entity, Peer, PortMatch, Ports, Program, Protocol, Rule, WorkloadId};
use crate::resolve::{Resolved, Unused};
use crate::span::Span;

mod shadow;

/// Runs every check on a resolved program. Checks look at one workload at a time, so the
/// workloads are split across cores; the result is sorted, never in scheduling order.
pub fn check(resolved: &Resolved) -> Vec<Diagnostic> {
    let p = &resolved.program;
    let u = Universe::new(p);
    let reach = Reach { u: &u, sem: SourceSemantics::new(p, &u) };
    let parts = crate::par::blocks(p.workloads.len(), 512, |range| {
        let mut out = Vec::new();
        for w in range.map(|i| WorkloadId(i as u32)) {
            contradictions(p, w, &mut out);
            dns(p, &reach, w, &mut out);
            peer_lints(p, w, &mut out);
            shadow::shadowed(p, w, &mut out);
        }
        out
    });
    let mut out: Vec<Diagnostic> = parts.into_iter().flatten().collect();
    out.extend(cross_side(p, &reach));
    unused(&resolved.unused, &mut out);
    cluster_dns(p, &mut out);
    overlaps_left_out(p, &u, &mut out);
    crate::diagnostic::sort(&mut out);
    out
}

/// W0210: the universe holds a pod for every two workloads whose selectors can pick one pod,
/// within a budget ([`crate::analysis::overlap::Budget`]); past it, the pods the remaining
/// pairs share are not analyzed, and the analyses say so rather than grow without bound.
fn overlaps_left_out(p: &Program, u: &Universe, out: &mut Vec<Diagnostic>) {
    use crate::analysis::universe::OverlapCut;
    let Some(cut) = u.overlap_cut else { return };
    let help = format!(
        "`verify`, `matrix`, `why` and `graph` add a pod for at most one such pair per workload \
         (and at least {}); selectors that cannot pick one pod (different values of a key they \
         share, such as `app`) need none",
        crate::analysis::overlap::MIN_POD_BUDGET
    );
    let d = match cut {
        OverlapCut::Pods { zone, pair: (a, b) } => Diagnostic::warning(
            "W0210",
            format!(
                "too many pairs of workloads can pick the same pod: the pods `{}` and `{}` share in \
                 `{}`, and those of later pairs, are not analyzed",
                p.qualified_name(a),
                p.qualified_name(b),
                u.zone(zone).name
            ),
            p.workload(b).span,
            format!("`{}` and `{}` can pick the same pod", p.workload(a).name, p.workload(b).name),
        ),
        OverlapCut::Search { zone, at } => Diagnostic::warning(
            "W0210",
            format!(
                "too many workloads to search for the pods two of them share: the pairs of `{}` in \
                 `{}`, and of later workloads, are not analyzed",
                p.qualified_name(at),
                u.zone(zone).name
            ),
            p.workload(at).span,
            "the search for the pods this workload shares stopped here",
        ),
    };
    out.push(d.with_help(help));
}

/// W0208: a cluster-wide default deny also isolates the cluster DNS pods in `kube-system`, so
/// unless a declared workload for them allows that direction, every lookup in the cluster
/// fails (ingress) or the DNS server cannot reach its upstreams and the API server (egress).
fn cluster_dns(p: &Program, out: &mut Vec<Diagnostic>) {
    let (key, value) = crate::ir::KUBE_DNS_LABEL;
    let dns_workloads: Vec<WorkloadId> = (0..p.workloads.len())
        .map(|i| WorkloadId(i as u32))
        .filter(|w| {
            let wl = p.workload(*w);
            p.namespace(wl.namespace).name == crate::ir::KUBE_DNS_NAMESPACE
                && wl.selector.representative().get(key).is_some_and(|v| v == value)
        })
        .collect();
    for d in p.default_denies.iter().filter(|d| d.namespace.is_none()) {
        let allowed =
            dns_workloads.iter().any(|w| p.rules_of(*w, d.direction).any(|r| r.action == Action::Allow));
        if allowed {
            continue;
        }
        let (what, rule) = match d.direction {
            Direction::Ingress => {
                ("no pod can resolve names", "coredns accepts udp 53 and tcp 53 from cluster")
            }
            Direction::Egress => (
                "the DNS pods cannot reach their upstream servers",
                "coredns connects to anywhere on udp 53 and tcp 53",
            ),
        };
        out.push(
            Diagnostic::warning(
                "W0208",
                format!("this cluster-wide default deny also isolates the cluster DNS: {what}"),
                d.origin,
                format!("isolates the {} of every pod, `kube-system` included", d.direction.as_str()),
            )
            .with_help(format!(
                "declare the DNS pods and allow them: `namespace kube-system {{ workload coredns {{ {key}: {value} }} }}` \
                 and `{rule}`"
            )),
        );
    }
}

/// E0201: `accepts nothing` and an allow rule in the same direction.
fn contradictions(p: &Program, w: WorkloadId, out: &mut Vec<Diagnostic>) {
    for iso in [Direction::Ingress, Direction::Egress].into_iter().filter_map(|d| p.isolation_of(w, d)) {
        if let Some(rule) = p.rules_of(iso.subject, iso.direction).find(|r| r.action == Action::Allow) {
            let name = &p.workload(iso.subject).name;
            let (says, verb) = match iso.direction {
                Direction::Ingress => ("accepts nothing", "accepts traffic"),
                Direction::Egress => ("connects to nothing", "connects"),
            };
            out.push(
                Diagnostic::error(
                    "E0201",
                    format!("`{name}` {says} but also {verb}"),
                    rule.origin,
                    "this rule allows traffic",
                )
                .with_label(iso.origin, format!("`{name}` {says} here"))
                .with_help(format!("remove `{says}`, or remove the rule")),
            );
        }
    }
}

/// The source's meaning, for checks that ask what a side allows.
struct Reach<'a> {
    u: &'a Universe,
    sem: SourceSemantics<'a>,
}

/// W0201 / W0202: one side allows a connection between two workloads that the other side drops.
///
/// Every allow rule that names a workload as a peer asks what that workload's own side allows
/// back. The side is built once per workload and direction, for every rule that names it
/// (building it for each naming rule and peer was most of `check`'s time), and the warnings come
/// out in the order of the naming rules: by subject, ingress before egress, source order, peer
/// order.
fn cross_side(p: &Program, reach: &Reach) -> Vec<Diagnostic> {
    /// A rule naming a workload: its order (subject, then its place among the subject's
    /// namings), the rule and the peer.
    type Naming = ((u32, u32), u32, u32);
    // The allow rules that name each workload: (order, rule, peer), the order being the naming
    // rule's place (subject, direction, rule, peer). Gathered by subject on every core, then
    // handed to the workloads they name, in that order.
    let naming = crate::par::blocks(p.workloads.len(), 512, |range| {
        let mut out = Vec::new();
        for w in range {
            let mut seq = 0u32;
            for dir in [Direction::Ingress, Direction::Egress] {
                for i in p.rule_indices(WorkloadId(w as u32), dir) {
                    let rule = &p.rules[i];
                    if rule.action != Action::Allow {
                        continue;
                    }
                    for (k, peer) in rule.peers.iter().enumerate() {
                        if let Peer::Workload(other) = peer.peer {
                            if p.is_isolated(other, rule.direction.opposite()) {
                                out.push((other, ((w as u32, seq), i as u32, k as u32)));
                                seq += 1;
                            }
                        }
                    }
                }
            }
        }
        out
    });
    let mut named_by: Vec<Vec<Naming>> = vec![Vec::new(); p.workloads.len()];
    for (other, naming) in naming.into_iter().flatten() {
        named_by[other.index()].push(naming);
    }
    let parts = crate::par::blocks(p.workloads.len(), 512, |range| {
        let mut out = Vec::new();
        for other in range {
            let mut sides: [Option<crate::analysis::side::Side>; 2] = [None, None];
            let point = reach.u.workload(WorkloadId(other as u32));
            for &(order, i, k) in &named_by[other] {
                let rule = &p.rules[i as usize];
                let dir = rule.direction.opposite();
                let side = sides[crate::ir::dir_slot(dir)].get_or_insert_with(|| reach.sem.side(point, dir));
                let subject = reach.u.workload(rule.subject);
                let wanted = PortSet::from_ports(&rule.ports);
                if side.possibly_allows(reach.u, subject, &wanted) {
                    continue;
                }
                let missing = wanted.subtract(&side.at(reach.u, subject).possible);
                let peer = &rule.peers[k as usize];
                out.push((order, cross_side_warning(p, rule, WorkloadId(other as u32), peer.span, &missing)));
            }
        }
        out
    });
    let mut found: Vec<((u32, u32), Diagnostic)> = parts.into_iter().flatten().collect();
    found.sort_unstable_by_key(|(order, _)| *order);
    found.into_iter().map(|(_, d)| d).collect()
}

fn cross_side_warning(
    p: &Program,
    rule: &Rule,
    other: WorkloadId,
    at: Span,
    missing: &PortSet,
) -> Diagnostic {
    let (me, them) = (&p.workload(rule.subject).name, &p.workload(other).name);
    // `PortSet` displays as port syntax (`tcp 80 and udp 53`), so the help is a valid line.
    let (accept_ports, on_ports) = if missing.is_all() {
        (String::new(), String::new())
    } else {
        (format!("{missing} "), format!(" on {missing}"))
    };
    let (code, message, help) = match rule.direction {
        Direction::Egress => (
            "W0201",
            format!("`{me}` connects to `{them}` on {missing}, but `{them}` does not accept it"),
            format!("add `{them} accepts {accept_ports}from {me}`, or remove the connection"),
        ),
        Direction::Ingress => (
            "W0202",
            format!("`{me}` accepts {missing} from `{them}`, but `{them}` does not connect to it"),
            format!("add `{them} connects to {me}{on_ports}`, or remove the rule"),
        ),
    };
    let other_dir = rule.direction.opposite();
    let side_span = p.isolating_line(other, other_dir).unwrap_or(p.workload(other).span);
    Diagnostic::warning(code, message, at, "the traffic would be dropped")
        .with_label(rule.origin, format!("{} of `{me}` here", rule.direction.as_str()))
        .with_label(side_span, format!("`{them}` restricts {} here", other_dir.as_str()))
        .with_help(help)
}

/// W0203: restricted egress with no way to resolve names.
fn dns(p: &Program, reach: &Reach, id: WorkloadId, out: &mut Vec<Diagnostic>) {
    if !p.is_isolated(id, Direction::Egress) {
        return;
    }
    // `connects to nothing` says the pods make no connection at all, DNS included.
    let says_nothing = p.isolation_of(id, Direction::Egress).is_some();
    if says_nothing && p.rules_of(id, Direction::Egress).all(|r| r.action == Action::Deny) {
        return;
    }
    let side = reach.sem.side(reach.u.workload(id), Direction::Egress);
    if side.possibly_allows(reach.u, reach.u.kube_dns(), &PortSet::range(Protocol::Udp, 53, 53)) {
        return;
    }
    let w = p.workload(id);
    let mut d = Diagnostic::warning(
        "W0203",
        format!("`{}` restricts egress but cannot reach DNS", w.name),
        w.span,
        "no rule allows UDP 53 to kube-dns",
    )
    .with_help(format!(
        "add `{} connects to kube-dns`, or ignore this if the pods never resolve names",
        w.name
    ));
    if let Some(line) = p.isolating_line(id, Direction::Egress) {
        d = d.with_label(line, "egress restricted here");
    }
    out.push(d);
}

/// W0204: declared but never referenced.
fn unused(unused: &[Unused], out: &mut Vec<Diagnostic>) {
    for u in unused {
        out.push(
            Diagnostic::warning(
                "W0204",
                format!("{} `{}` is never used", u.kind.noun(), u.name),
                u.span,
                "declared here",
            )
            .with_help("use it in a rule, or remove the declaration"),
        );
    }
}

/// W0205 (named port with an address peer) and W0206 (`0.0.0.0/0`, `::/0`).
fn peer_lints(p: &Program, w: WorkloadId, out: &mut Vec<Diagnostic>) {
    for rule in p.rules_of_workload(w) {
        let named = match &rule.ports {
            Ports::Some(list) => list.iter().any(|r| matches!(r.port, PortMatch::Named(_))),
            Ports::All => false,
        };
        for peer in &rule.peers {
            let is_address = matches!(
                peer.peer,
                Peer::Cidr(_)
                    | Peer::Fqdn(_)
                    | Peer::Entity(Entity::World | Entity::Host | Entity::KubeApiserver)
            );
            if named && is_address && rule.direction == Direction::Egress {
                out.push(
                    Diagnostic::warning(
                        "W0205",
                        "named port used with an address peer",
                        peer.span,
                        "a named port resolves on the destination pod; an address has no pod",
                    )
                    .with_label(rule.origin, "in this rule")
                    .with_help("use port numbers for networks and external peers"),
                );
            }
        }
        // W0209: the node a pod runs on always reaches it, on every target (see the module
        // comment of `analysis::matrix` for the upstream sources), so `host` in an ingress rule
        // adds nothing, and cannot be refused.
        if rule.direction == Direction::Ingress {
            if let Some(peer) = rule.peers.iter().find(|x| x.peer == Peer::Entity(Entity::Host)) {
                let (message, label, help) = match rule.action {
                    Action::Allow => (
                        "`host` always reaches the pods on it; accepting it changes nothing",
                        "the node a pod runs on is let in whatever the policies say",
                        "remove `host` from this rule",
                    ),
                    Action::Deny => (
                        "`host` cannot be refused: the node a pod runs on always reaches it",
                        "this part of the rule is never enforced",
                        "remove `host` from this rule; to keep other nodes out, refuse their CIDRs",
                    ),
                };
                out.push(
                    Diagnostic::warning("W0209", message, peer.span, label)
                        .with_label(rule.origin, "in this rule")
                        .with_help(help),
                );
            }
        }
        // One warning per written peer: a group such as `any-ip = 0.0.0.0/0, ::/0` is one place.
        let mut wide: Vec<(Span, Vec<String>)> = Vec::new();
        for peer in &rule.peers {
            if let Peer::Cidr(c) = &peer.peer {
                if c.net.prefix_len() == 0 {
                    match wide.iter_mut().find(|(s, _)| *s == peer.span) {
                        Some((_, nets)) => nets.push(format!("`{}`", c.net)),
                        None => wide.push((peer.span, vec![format!("`{}`", c.net)])),
                    }
                }
            }
        }
        for (span, nets) in wide {
            let verb = if nets.len() == 1 { "means" } else { "mean" };
            out.push(
                Diagnostic::warning(
                    "W0206",
                    format!("{} {verb} different things on different CNIs", nets.join(" and ")),
                    span,
                    "whether this matches pods and nodes depends on the CNI",
                )
                .with_help("use `anywhere` for all traffic, or `world` for traffic from outside the cluster"),
            );
        }
    }
}
