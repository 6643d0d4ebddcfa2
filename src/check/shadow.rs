//! W0207: a rule every connection of which another rule of the same workload, direction and
//! action already covers. Coverage here is sound, never a guess: selectors by subset of their
//! terms, networks by containment, ports by interval inclusion.

use crate::analysis::ports::PortSet;
use crate::diagnostic::Diagnostic;
use crate::ir::{
    CidrBlock, Direction, Entity, LabelExpr, LabelSelector, NamespaceId, NamespaceSetId, Peer, Program, Rule,
    WorkloadId, KUBE_DNS_NAMESPACE,
};
use ipnet::IpNet;
use rustc_hash::FxHashMap;

pub fn shadowed(p: &Program, w: WorkloadId, out: &mut Vec<Diagnostic>) {
    for dir in [Direction::Ingress, Direction::Egress] {
        let rules: Vec<&Rule> = p.rules_of(w, dir).collect();
        shadowed_among(p, &rules, out);
    }
}

/// Rules of one workload and direction, in source order.
fn shadowed_among<'p>(p: &'p Program, rules: &[&'p Rule], out: &mut Vec<Diagnostic>) {
    for (i, broader) in broader_rules(p, rules).into_iter().enumerate() {
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

/// Whether rule `i` is covered by rule `j`: same action, a subset of its ports, and each peer
/// covered by one of its peers.
fn covered_by(p: &Program, rules: &[&Rule], ports: &[PortSet], i: usize, j: usize) -> bool {
    rules[i].action == rules[j].action
        && ports[i].is_subset(&ports[j])
        && rules[i].peers.iter().all(|pa| rules[j].peers.iter().any(|pb| covers(p, &pb.peer, &pa.peer)))
}

/// For each rule, the first other rule that covers it; of two rules that cover each other,
/// only the later one is covered.
///
/// A few rules are compared pair by pair ([`by_scan`]). More are only compared with the rules
/// that have a peer able to cover their first peer ([`by_index`]), so a workload with
/// thousands of rules on distinct networks or workloads costs about their number, not its
/// square. Both name the same rule (tests compare them).
fn broader_rules<'p>(p: &'p Program, rules: &[&'p Rule]) -> Vec<Option<usize>> {
    broader_rules_counted(p, rules).0
}

/// Up to this many rules of a workload and direction (most have a handful), comparing every
/// pair costs less than filing their peers in an index: at 10,000 workloads of 4 to 6 rules
/// each, the index made W0207 about a quarter of `check`.
const SCAN_UP_TO: usize = 8;

/// [`broader_rules`], and how many pairs of rules it compared.
fn broader_rules_counted<'p>(p: &'p Program, rules: &[&'p Rule]) -> (Vec<Option<usize>>, usize) {
    let ports: Vec<PortSet> = rules.iter().map(|r| PortSet::from_ports(&r.ports)).collect();
    let compared = std::cell::Cell::new(0);
    let covered = |i: usize, j: usize| {
        compared.set(compared.get() + 1);
        covered_by(p, rules, &ports, i, j)
    };
    let broader =
        if rules.len() <= SCAN_UP_TO { by_scan(rules.len(), covered) } else { by_index(p, rules, covered) };
    (broader, compared.get())
}

/// Whether rule `j` is the broader of rules `i` and `j`, by `covered(i, j)`: `j` covers `i`,
/// and of two rules that cover each other, the later one is covered.
fn broader(covered: &impl Fn(usize, usize) -> bool, i: usize, j: usize) -> bool {
    j != i && covered(i, j) && !(j > i && covered(j, i))
}

/// [`broader_rules`] by comparing every rule with every other, in source order.
fn by_scan(n: usize, covered: impl Fn(usize, usize) -> bool) -> Vec<Option<usize>> {
    (0..n).map(|i| (0..n).find(|&j| broader(&covered, i, j))).collect()
}

/// [`broader_rules`] through [`Candidates`]. The candidates come in source order, so the rule
/// named is the one [`by_scan`] finds.
fn by_index<'p>(
    p: &'p Program,
    rules: &[&'p Rule],
    covered: impl Fn(usize, usize) -> bool,
) -> Vec<Option<usize>> {
    let candidates = Candidates::new(p, rules);
    let mut keys = Vec::new();
    (0..rules.len())
        .map(|i| {
            let Some(first) = rules[i].peers.first() else {
                return (0..rules.len()).find(|&j| broader(&covered, i, j));
            };
            // Each key's rules are in source order: the first broader rule of each, then the
            // earliest of those.
            keys.clear();
            Candidates::keys(p, &first.peer, &mut keys);
            let mut best: Option<usize> = None;
            for k in &keys {
                let list = candidates.by_key.get(k).map_or(&[][..], Vec::as_slice);
                let before = best.map_or(list.len(), |b| list.partition_point(|&j| j < b));
                if let Some(j) = list[..before].iter().copied().find(|&j| broader(&covered, i, j)) {
                    best = Some(j);
                }
            }
            best
        })
        .collect()
}

/// Where a peer is filed in [`Candidates`]: each key a broad peer is filed under is one that
/// [`Candidates::keys`] lists for every narrow peer it [`covers`].
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key<'p> {
    Anywhere,
    Cluster,
    /// Any other peer: only an equal one covers it.
    Same(&'p Peer),
    Namespace(NamespaceId),
    NamespaceSet(NamespaceSetId),
    /// A workload's namespace and one term of its selector (the first label, else the first
    /// expression, else none): a broad workload's terms are all terms of the narrow one's.
    Workload(NamespaceId, Option<(&'p str, &'p str)>, Option<&'p LabelExpr>),
    /// A network, found from a narrow network by each of its supernets.
    Net(IpNet),
}

/// The rules of one workload and direction, by the keys of their peers (a rule without peers
/// covers nothing that has one, so it is filed nowhere).
struct Candidates<'p> {
    /// Rule indices in source order, once per key.
    by_key: FxHashMap<Key<'p>, Vec<usize>>,
}

impl<'p> Candidates<'p> {
    fn new(p: &'p Program, rules: &[&'p Rule]) -> Self {
        let mut by_key: FxHashMap<Key<'p>, Vec<usize>> = FxHashMap::default();
        for (j, r) in rules.iter().enumerate() {
            for pb in &r.peers {
                let list = by_key.entry(Self::file(p, &pb.peer)).or_default();
                if list.last() != Some(&j) {
                    list.push(j);
                }
            }
        }
        Candidates { by_key }
    }

    /// The key a broad peer is filed under.
    fn file(p: &'p Program, broad: &'p Peer) -> Key<'p> {
        match broad {
            Peer::Entity(Entity::Anywhere) => Key::Anywhere,
            Peer::Entity(Entity::Cluster) => Key::Cluster,
            Peer::Namespace(n) => Key::Namespace(*n),
            Peer::NamespaceSet(s) => Key::NamespaceSet(*s),
            Peer::Workload(x) => {
                let x = p.workload(*x);
                let label = x.selector.match_labels.iter().next().map(|(k, v)| (k.as_str(), v.as_str()));
                let expr = if label.is_some() { None } else { x.selector.expressions.first() };
                Key::Workload(x.namespace, label, expr)
            }
            Peer::Cidr(b) => Key::Net(b.net.trunc()),
            other => Key::Same(other),
        }
    }

    /// Every key a peer that covers `narrow` may be filed under.
    fn keys(p: &'p Program, narrow: &'p Peer, out: &mut Vec<Key<'p>>) {
        // `Anywhere` covers all, and an equal peer is filed where the narrow one would be.
        out.extend([Key::Anywhere, Self::file(p, narrow)]);
        match narrow {
            Peer::Workload(w) => {
                let w = p.workload(*w);
                let ns = w.namespace;
                out.extend([Key::Cluster, Key::Namespace(ns), Key::Workload(ns, None, None)]);
                let sel = &w.selector;
                out.extend(sel.match_labels.iter().map(|(k, v)| Key::Workload(ns, Some((k, v)), None)));
                out.extend(sel.expressions.iter().map(|e| Key::Workload(ns, None, Some(e))));
            }
            Peer::WorkloadIn(_, s) => out.extend([Key::Cluster, Key::NamespaceSet(*s)]),
            Peer::Namespace(_) | Peer::NamespaceSet(_) => out.push(Key::Cluster),
            Peer::Entity(Entity::KubeDns) => {
                out.push(Key::Cluster);
                // Looked up here, for the few rules that name kube-dns: once per workload it
                // was a walk over every namespace for every workload.
                let kube_system = (0..p.namespaces.len() as u32)
                    .map(NamespaceId)
                    .find(|n| p.namespace(*n).name == KUBE_DNS_NAMESPACE);
                out.extend(kube_system.map(Key::Namespace));
            }
            Peer::Cidr(n) => {
                let supernets =
                    (0..=n.net.prefix_len()).filter_map(|len| IpNet::new(n.net.network(), len).ok());
                out.extend(supernets.map(|s| Key::Net(s.trunc())));
            }
            _ => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{compile, Loader, Options};
    use proptest::prelude::*;

    /// The index and the scan on the same rules; [`by_scan`] compares every rule with every
    /// other, the definition of the broader rule.
    fn by_index_and_by_scan(p: &Program, rules: &[&Rule]) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
        let ports: Vec<PortSet> = rules.iter().map(|r| PortSet::from_ports(&r.ports)).collect();
        let covered = |i: usize, j: usize| covered_by(p, rules, &ports, i, j);
        (by_index(p, rules, covered), by_scan(rules.len(), covered))
    }

    struct One(String);

    impl Loader for One {
        fn load(&self, _: &str) -> Result<String, String> {
            Ok(self.0.clone())
        }

        fn join(&self, _: &str, import: &str) -> String {
            import.to_string()
        }
    }

    /// Peers of every kind `covers` relates: workloads whose selectors imply one another,
    /// namespaces (`kube-system` too), sets, `w in set`, nested networks with exceptions,
    /// built-in peers, a DNS name.
    const PEERS: &[&str] = &[
        "a",
        "ab",
        "abc",
        "x",
        "e",
        "e2",
        "e3",
        "kube-system/k",
        "namespace s",
        "namespace kube-system",
        "namespace t",
        "prod",
        "a in prod",
        "ab in prod",
        "cluster",
        "anywhere",
        "kube-dns",
        "world",
        "host",
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.0.0.0/8 except 10.1.0.0/16",
        "10.1.0.0/16 except 10.1.2.0/24",
        "10.1.2.3",
        "2001:db8::/32",
        "2001:db8:1::/48",
        "\"api.example.com\"",
        "t/y",
    ];

    fn program() -> impl Strategy<Value = String> {
        let rule = (
            0usize..2,
            proptest::collection::vec(proptest::sample::select(PEERS), 1..4),
            proptest::sample::select(
                &["", " on tcp", " on tcp 80", " on tcp 80-90", " on tcp 80 and udp 53"][..],
            ),
        );
        proptest::collection::vec(rule, 1..14).prop_map(|rules| {
            let mut s = String::from(
                "namespaces prod { env: prod }\n\
                 namespace kube-system\nworkload k { app: k }\n\
                 namespace t\nworkload y { app: y }\n\
                 namespace s\n\
                 workload a { app: a }\nworkload ab { app: a, tier: b }\n\
                 workload abc { app: a, tier: b, v: c }\nworkload x { tier: b }\n\
                 workload e { v in (c, d) }\nworkload e2 { app: a, v in (c, d) }\n\
                 workload e3 { aa: z, app: a, v in (c, d) }\n",
            );
            for (verb, peers, ports) in rules {
                let peers = peers.join(", ");
                match verb {
                    0 => s.push_str(&format!("a connects to {peers}{ports}\n")),
                    _ => s.push_str(&format!("a never connects to {peers}{ports}\n")),
                }
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The index finds exactly the broader rule a scan of every pair finds.
        #[test]
        fn the_index_finds_what_a_scan_finds(src in program()) {
            let c = compile(&["p.netpol".to_string()], &One(src.clone()), &Options::default());
            let Some(p) = c.program.as_ref() else { return Ok(()) };
            for w in 0..p.workloads.len() as u32 {
                for dir in [Direction::Ingress, Direction::Egress] {
                    let rules: Vec<&Rule> = p.rules_of(WorkloadId(w), dir).collect();
                    let (index, scan) = by_index_and_by_scan(p, &rules);
                    prop_assert_eq!(&index, &scan, "{}", src);
                    prop_assert_eq!(broader_rules(p, &rules), scan, "{}", src);
                }
            }
        }
    }

    /// Many rules of one workload on nested networks and distinct ports: each is compared with
    /// the rules on its supernets only, and the counts say so (work, not time).
    #[test]
    fn rules_are_compared_with_their_candidates_only() {
        let mut src = String::from("namespace s\nworkload a { app: a }\n");
        for i in 0..2000u32 {
            src.push_str(&format!("a connects to 10.{}.{}.0/24 on tcp {}\n", i / 250, i % 250, i + 1));
        }
        src.push_str("a connects to 10.0.0.0/8 on tcp 1-65535\n");
        let c = compile(&["p.netpol".to_string()], &One(src), &Options::default());
        let p = c.program.as_ref().expect("compiles");
        let rules: Vec<&Rule> = p.rules_of(WorkloadId(0), Direction::Egress).collect();
        let (broader, compared) = broader_rules_counted(p, &rules);
        // Each /24 is compared with the /8 both ways, the /8 with nothing: not 2001².
        assert_eq!(compared, 2000 * 2);
        assert!(broader[..2000].iter().all(|b| *b == Some(2000)), "each /24 is inside the /8 on every port");
        assert_eq!(broader[2000], None);
    }
}
