//! W0207: a rule every connection of which another rule of the same workload, direction and
//! action already covers. Coverage here is sound, never a guess: selectors by subset of their
//! terms, networks by containment, ports by interval inclusion.

use crate::analysis::ports::PortSet;
use crate::diagnostic::Diagnostic;
use crate::ir::{
    CidrBlock, Direction, Entity, LabelSelector, Peer, Program, Rule, WorkloadId, KUBE_DNS_NAMESPACE,
};

pub fn shadowed(p: &Program, w: WorkloadId, out: &mut Vec<Diagnostic>) {
    for dir in [Direction::Ingress, Direction::Egress] {
        let rules: Vec<&Rule> = p.rules_of(w, dir).collect();
        shadowed_among(p, &rules, out);
    }
}

/// Rules of one workload and direction, in source order.
fn shadowed_among(p: &Program, rules: &[&Rule], out: &mut Vec<Diagnostic>) {
    let ports: Vec<PortSet> = rules.iter().map(|r| PortSet::from_ports(&r.ports)).collect();
    let covered = |i: usize, j: usize| {
        rules[i].action == rules[j].action
            && ports[i].is_subset(&ports[j])
            && rules[i].peers.iter().all(|pa| rules[j].peers.iter().any(|pb| covers(p, &pb.peer, &pa.peer)))
    };
    for i in 0..rules.len() {
        // Two rules that cover each other: report only the later one.
        let broader = (0..rules.len()).find(|&j| j != i && covered(i, j) && !(j > i && covered(j, i)));
        let Some(j) = broader else { continue };
        let (a, b) = (rules[i], rules[j]);
        if a.origin == b.origin {
            continue; // two halves of one statement (DNS split): not the user's doing
        }
        out.push(
            Diagnostic::warning(
                "W0207",
                "this rule allows nothing new",
                a.origin,
                "every connection it allows",
            )
            .with_label(b.origin, "is already allowed by this rule")
            .with_help("remove the narrower rule, or narrow the broader one"),
        );
    }
}

/// Whether every endpoint `narrow` names is also named by `broad`.
fn covers(p: &Program, broad: &Peer, narrow: &Peer) -> bool {
    match (broad, narrow) {
        (Peer::Entity(Entity::Anywhere), _) => true,
        (b, n) if b == n => true,
        (
            Peer::Entity(Entity::Cluster),
            Peer::Workload(_) | Peer::Namespace(_) | Peer::NamespaceSet(_) | Peer::WorkloadIn(..),
        ) => true,
        // The same pods in namespaces the narrow set's own selector picks.
        (Peer::NamespaceSet(s), Peer::WorkloadIn(_, n)) => s == n,
        (Peer::Entity(Entity::Cluster), Peer::Entity(Entity::KubeDns)) => true,
        (Peer::Namespace(n), Peer::Workload(w)) => p.workload(*w).namespace == *n,
        (Peer::Namespace(n), Peer::Entity(Entity::KubeDns)) => p.namespace(*n).name == KUBE_DNS_NAMESPACE,
        (Peer::Workload(x), Peer::Workload(w)) => {
            let (x, w) = (p.workload(*x), p.workload(*w));
            x.namespace == w.namespace && implied_by(&x.selector, &w.selector)
        }
        (Peer::Cidr(b), Peer::Cidr(n)) => cidr_covers(b, n),
        _ => false,
    }
}

/// Every term of `broad` is a term of `narrow`, so whatever `narrow` selects, `broad` selects.
fn implied_by(broad: &LabelSelector, narrow: &LabelSelector) -> bool {
    broad.match_labels.iter().all(|(k, v)| narrow.match_labels.get(k) == Some(v))
        && broad.expressions.iter().all(|e| narrow.expressions.contains(e))
}

fn cidr_covers(b: &CidrBlock, n: &CidrBlock) -> bool {
    b.net.contains(&n.net)
        && b.except.iter().all(|e| {
            let disjoint = !(e.contains(&n.net.network()) || n.net.contains(&e.network()));
            disjoint || n.except.iter().any(|ne| ne.contains(e))
        })
}
