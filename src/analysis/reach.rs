//! What the source means: the [`Side`] of every point of the [`Universe`], read from the IR.
//!
//! Semantics of the source language (each backend must implement exactly this):
//! - the rules of a workload apply to every pod its selector picks in its namespace, so pods
//!   that several workloads pick get the rules of all of them;
//! - a pod is isolated in a direction when an allow rule, `accepts nothing` /
//!   `connects to nothing` of a workload that picks it, or a default deny over its namespace
//!   (or the cluster) applies; otherwise everything is allowed;
//! - an isolated pod allows the union of its allow rules;
//! - deny rules subtract from what is allowed and never isolate by themselves;
//! - a connection needs the egress of its source and the ingress of its destination
//!   (Kubernetes: "both the egress policy on the source pod and the ingress policy on the
//!   destination pod need to allow the connection", kubernetes/website network-policies.md).
//!
//! Open facts ([`Match::Maybe`]): whether a network holds a pod's, the node's or the API
//! server's address (Calico matches pod addresses, calico#6634; Cilium does not, cilium#9209;
//! Kubernetes leaves it to the CNI, network-policies.md); whether an address a rule names is
//! outside the cluster (`world`); which addresses a DNS name resolves to; and which labels a
//! namespace carries besides its name.

use super::ports::PortSet;
use super::side::{by_majority, Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use super::universe::{Kind, PointId, Role, Universe, ZoneId, NAMESPACE_NAME_LABEL};
use crate::ir::{Action, Direction, Entity, LabelOp, LabelSelector, Peer, Program, WorkloadId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A rule's peers, compared and hashed by the peers alone (not where they were written), so
/// rules that name the same peers share one coverage without a key built per rule.
struct PeerList<'a>(&'a [crate::ir::PeerRef]);

impl PartialEq for PeerList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0).all(|(a, b)| a.peer == b.peer)
    }
}

impl Eq for PeerList<'_> {}

impl std::hash::Hash for PeerList<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.0.len());
        for p in self.0 {
            p.peer.hash(state);
        }
    }
}

/// The distinct peer lists of `rules`, in order of first use, and for each rule the index of
/// its list. Told apart on every core: the rules are cut into `shards` by their peers' hash,
/// and each shard finds each of its rules' first equal, so the result is the same for any
/// number of shards. Each chunk of rules hands its rules to their shards in one pass (each
/// shard scanning every rule's hash would be work that grows with the number of threads).
fn distinct_peer_lists(rules: &[crate::ir::Rule], shards: usize) -> (Vec<&[crate::ir::PeerRef]>, Vec<usize>) {
    use std::hash::BuildHasher;
    let shards = shards.max(1);
    // Per chunk of rules, in order: each shard's rules, in order.
    let by_chunk: Vec<Vec<Vec<u32>>> = crate::par::chunks(rules.len(), 4096, |range| {
        let mut by_shard = vec![Vec::new(); shards];
        for i in range {
            let h = rustc_hash::FxBuildHasher.hash_one(PeerList(&rules[i].peers));
            by_shard[h as usize % shards].push(i as u32);
        }
        by_shard
    });
    let found = crate::par::chunks(shards, 2, |range| {
        let mut out = Vec::new();
        for shard in range {
            let mut seen: rustc_hash::FxHashMap<PeerList, usize> = rustc_hash::FxHashMap::default();
            for i in by_chunk.iter().flat_map(|chunk| &chunk[shard]).map(|&i| i as usize) {
                out.push((i, *seen.entry(PeerList(&rules[i].peers)).or_insert(i)));
            }
        }
        out
    });
    let mut first = vec![0; rules.len()];
    for (i, f) in found.into_iter().flatten() {
        first[i] = f;
    }
    let mut lists = Vec::new();
    let mut slot = vec![0; rules.len()];
    for (i, r) in rules.iter().enumerate() {
        if first[i] == i {
            slot[i] = lists.len();
            lists.push(&r.peers[..]);
        }
    }
    let shared_by = first.iter().map(|&f| slot[f]).collect();
    (lists, shared_by)
}

/// The source's meaning, ready to give the side of any point.
pub struct SourceSemantics<'p> {
    program: &'p Program,
    u: &'p Universe,
    /// What each rule's peers cover, by rule index.
    covers: Vec<Arc<Coverage>>,
    /// The workloads whose selectors pick each pod, by point.
    picked_by: Vec<Vec<WorkloadId>>,
    /// Indices into `default_denies`: per namespace, its own; and the cluster-wide ones.
    denies_of: Vec<Vec<u32>>,
    cluster_denies: Vec<u32>,
}

impl<'p> SourceSemantics<'p> {
    pub fn new(program: &'p Program, u: &'p Universe) -> Self {
        // Each workload's pods on every core; joined in workload order, as one thread would.
        let selected = crate::par::blocks(program.workloads.len(), 512, |range| {
            let ws = &program.workloads[range];
            ws.iter().map(|w| u.select(u.zone_of_namespace(w.namespace), &w.selector)).collect::<Vec<_>>()
        });
        let mut picked_by = vec![Vec::new(); u.len()];
        for (i, points) in selected.into_iter().flatten().enumerate() {
            for p in points {
                picked_by[p as usize].push(WorkloadId(i as u32));
            }
        }
        // Rules that name the same peers (one network on many ports, a group in many rules)
        // share one coverage. A point lies in at most one network per prefix length, so the
        // distinct networks' coverages hold at most 129 entries per point, however many rules
        // overlap.
        let shards = if program.rules.len() >= 4096 { crate::par::threads() } else { 1 };
        let (lists, shared_by) = distinct_peer_lists(&program.rules, shards);
        let shared: Vec<Arc<Coverage>> = crate::par::blocks(lists.len(), 2048, |range| {
            lists[range].iter().map(|peers| Arc::new(peers_coverage(program, u, peers))).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let covers = shared_by.iter().map(|&i| shared[i].clone()).collect();
        let mut denies_of = vec![Vec::new(); program.namespaces.len()];
        let mut cluster_denies = Vec::new();
        for (k, d) in program.default_denies.iter().enumerate() {
            match d.namespace {
                Some(ns) => denies_of[ns.index()].push(k as u32),
                None => cluster_denies.push(k as u32),
            }
        }
        SourceSemantics { program, u, covers, picked_by, denies_of, cluster_denies }
    }

    /// The workloads whose rules apply to a point.
    pub fn workloads_of(&self, p: PointId) -> &[WorkloadId] {
        &self.picked_by[p as usize]
    }

    pub fn side(&self, p: PointId, dir: Direction) -> Side {
        let point = self.u.point(p);
        let Some(zone) = point.zone else { return Side::open() };
        let mut isolation = Vec::new();
        let mut steps = Vec::new();
        let workloads = &self.picked_by[p as usize];
        for &w in workloads {
            if self.program.is_isolated(w, dir) {
                if let Some(line) = self.program.isolating_line(w, dir) {
                    isolation.push(Origin::Source(line));
                }
            }
        }
        // The default denies of the namespace and the cluster-wide ones, in source order.
        let own = self.u.zone(zone).namespace.map_or(&[][..], |n| &self.denies_of[n.index()]);
        let mut denies: Vec<u32> = own.iter().chain(&self.cluster_denies).copied().collect();
        denies.sort_unstable();
        for k in denies {
            let d = &self.program.default_denies[k as usize];
            if d.direction == dir {
                isolation.push(Origin::Source(d.origin));
            }
        }
        // Rules in source order, whichever workload they belong to.
        let mut rules: Vec<usize> = Vec::new();
        for &w in workloads {
            rules.extend(self.program.rule_indices(w, dir));
        }
        rules.sort_unstable();
        rules.dedup();
        for i in rules {
            let r = &self.program.rules[i];
            steps.push(Step::Clause(Clause {
                cover: self.covers[i].clone(),
                ports: PortSet::from_ports(&r.ports),
                act: match r.action {
                    Action::Allow => Act::Allow,
                    Action::Deny => Act::Deny,
                },
                origin: Origin::Source(r.origin),
            }));
        }
        if isolation.is_empty() && steps.is_empty() {
            return Side::open();
        }
        isolation.dedup();
        Side { fold: Fold::Union { isolated: !isolation.is_empty() }, steps, isolation }
    }

    pub fn coverage(&self, peer: &Peer) -> Coverage {
        peer_coverage(self.program, self.u, peer)
    }
}

fn peers_coverage(program: &Program, u: &Universe, peers: &[crate::ir::PeerRef]) -> Coverage {
    let mut out = Coverage::none();
    for (i, p) in peers.iter().enumerate() {
        let c = peer_coverage(program, u, &p.peer);
        out = if i == 0 { c } else { out.union(&c, u) };
    }
    out
}

/// The points one peer of the source covers.
pub fn peer_coverage(program: &Program, u: &Universe, peer: &Peer) -> Coverage {
    use Match::*;
    match peer {
        Peer::Workload(w) => {
            let wl = program.workload(*w);
            Coverage::points(
                u.select(u.zone_of_namespace(wl.namespace), &wl.selector).into_iter().map(|p| (p, Yes)),
            )
        }
        Peer::Namespace(n) => Coverage::zones([(u.zone_of_namespace(*n), Yes)]),
        Peer::WorkloadIn(w, s) => {
            let sel = &program.namespace_set(*s).selector;
            let pods = &program.workload(*w).selector;
            Coverage::points(
                zones_picked(sel, u).flat_map(|(z, m)| u.select(z, pods).into_iter().map(move |p| (p, m))),
            )
        }
        Peer::NamespaceSet(s) => {
            let (others, named) = namespace_set_match(&program.namespace_set(*s).selector, u);
            // Most sets match most namespaces alike (maybe, on labels the program leaves
            // open): that is the pod kind's value, and only the others are listed.
            let (pods, zones) = by_majority(&others, named, u.zones.len());
            let mut cover = Coverage::none();
            cover.kinds[Kind::Pod.index()] = pods;
            cover.zones = zones;
            cover
        }
        Peer::Cidr(c) => {
            let mut cover = Coverage::points(u.addresses_outside(&c.net, &c.except).map(|p| (p, Yes)));
            // Pods, the node and the API server have addresses too; whether this network
            // holds them is open.
            for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
                cover.kinds[k.index()] = Maybe;
            }
            cover
        }
        Peer::Fqdn(_) => Coverage::kind(Kind::Net, Maybe),
        Peer::Entity(e) => match e {
            Entity::Anywhere => Coverage::everything(),
            Entity::World => {
                let mut c = Coverage::points(
                    u.ids().filter(|p| matches!(u.point(*p).role, Role::World(_))).map(|p| (p, Yes)),
                );
                c.kinds[Kind::Net.index()] = Maybe;
                // Whether the API server runs outside the cluster (a managed control plane) is
                // open, and outside it is `world` (Cilium gives it `reserved:world` then, as
                // `../shared/oracles/cilium -apiserver-ip` shows).
                c.kinds[Kind::ApiServer.index()] = Maybe;
                c
            }
            Entity::Cluster => Coverage::kind(Kind::Pod, Yes),
            Entity::Host => Coverage::points([(u.host(), Yes)]),
            Entity::KubeApiserver => Coverage::points([(u.api_server(), Yes)]),
            Entity::KubeDns => {
                let (k, v) = crate::ir::KUBE_DNS_LABEL;
                let zone = u.point(u.kube_dns()).zone.unwrap_or(0);
                Coverage::points(u.select_pods(zone, Some((k, v)), |_| true).into_iter().map(|p| (p, Yes)))
            }
        },
    }
}

/// Whether a namespace selector picks a namespace known only by its name label: requirements on
/// the name decide; any other requirement is open.
/// How a namespace selector matches every namespace, without visiting each: only the names
/// its terms on the namespace's name mention can match otherwise than the rest. Returns the
/// match of every namespace it does not mention, and the match of each one it mentions (sorted
/// by zone).
pub fn namespace_set_match(sel: &LabelSelector, u: &Universe) -> (Match, Vec<(ZoneId, Match)>) {
    let mut mentioned: Vec<&str> = Vec::new();
    mentioned
        .extend(sel.match_labels.iter().filter(|(k, _)| *k == NAMESPACE_NAME_LABEL).map(|(_, v)| v.as_str()));
    for e in sel.expressions.iter().filter(|e| e.key == NAMESPACE_NAME_LABEL) {
        mentioned.extend(e.values.iter().map(String::as_str));
    }
    // A name no term mentions: longer than every one they do.
    let other: String = mentioned.iter().copied().chain(["-"]).collect();
    let others = namespace_match(sel, &BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), other)]));
    let mut named: Vec<(ZoneId, Match)> = mentioned
        .iter()
        .filter_map(|name| u.zone_named(name))
        .map(|z| (z, namespace_match(sel, &u.zone(z).labels)))
        .collect();
    named.sort_unstable();
    named.dedup_by_key(|z| z.0);
    (others, named)
}

/// The namespaces a namespace selector may pick, each with how far, in zone order.
pub fn zones_picked<'u>(sel: &LabelSelector, u: &'u Universe) -> impl Iterator<Item = (ZoneId, Match)> + 'u {
    let (others, named) = namespace_set_match(sel, u);
    let all: Box<dyn Iterator<Item = (ZoneId, Match)>> = if others == Match::No {
        Box::new(named.into_iter())
    } else {
        let mut named = named.into_iter().peekable();
        Box::new((0..u.zones.len() as ZoneId).map(move |z| match named.peek() {
            Some(&(nz, m)) if nz == z => {
                named.next();
                (z, m)
            }
            _ => (z, others),
        }))
    };
    all.filter(|z| z.1 != Match::No)
}

pub fn namespace_match(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> Match {
    let name = labels.get(NAMESPACE_NAME_LABEL);
    let mut m = Match::Yes;
    for (k, v) in &sel.match_labels {
        m = m.min(if k == NAMESPACE_NAME_LABEL { yes_if(name == Some(v)) } else { Match::Maybe });
    }
    for e in &sel.expressions {
        if e.key != NAMESPACE_NAME_LABEL {
            m = m.min(Match::Maybe);
            continue;
        }
        let ok = match e.op {
            LabelOp::In => name.is_some_and(|v| e.values.contains(v)),
            LabelOp::NotIn => name.is_none_or(|v| !e.values.contains(v)),
            LabelOp::Exists => name.is_some(),
            LabelOp::DoesNotExist => name.is_none(),
        };
        m = m.min(yes_if(ok));
    }
    m
}

fn yes_if(b: bool) -> Match {
    if b {
        Match::Yes
    } else {
        Match::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules that name the same peers share one coverage: 500 rules on one network and 500 on
    /// another compute two, and every rule still has the coverage of its own peers.
    #[test]
    fn peer_lists_are_told_apart_alike_in_any_number_of_shards() {
        let mut src = String::from("namespace n\nworkload w { app: w }\nworkload v { app: v }\n");
        // More rules than one chunk of the hashing takes, so several chunks hand rules to shards.
        for i in 0..7000 {
            let peers = ["v", "v, 10.0.0.0/8", "10.0.0.0/8, v", "namespace m", "v, namespace m", "cluster"];
            src.push_str(&format!("w accepts tcp {} from {}\n", i + 1, peers[(i * 7 + i / 5) % peers.len()]));
            if i % 3 == 0 {
                src.push_str(&format!("w connects to 10.{}.0.0/16 on tcp 80\n", i % 40));
            }
        }
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", src);
        let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
        let program = crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program;
        // One list per distinct sequence of peers, numbered in order of first use.
        let mut want: Vec<Vec<&Peer>> = Vec::new();
        let want_by: Vec<usize> = program
            .rules
            .iter()
            .map(|r| {
                let peers: Vec<&Peer> = r.peers.iter().map(|p| &p.peer).collect();
                want.iter().position(|w| *w == peers).unwrap_or_else(|| {
                    want.push(peers);
                    want.len() - 1
                })
            })
            .collect();
        assert!(want.len() > 40 && want.len() < program.rules.len() / 10, "{}", want.len());
        for shards in [1, 2, 3, 7, 64] {
            let (lists, by) = distinct_peer_lists(&program.rules, shards);
            let lists: Vec<Vec<&Peer>> = lists.iter().map(|l| l.iter().map(|p| &p.peer).collect()).collect();
            assert_eq!(lists, want, "{shards} shards");
            assert_eq!(by, want_by, "{shards} shards");
        }
    }

    #[test]
    fn rules_with_the_same_peers_share_one_coverage() {
        let mut src = String::from("namespace n\nworkload w { app: w }\n");
        for i in 0..500 {
            src.push_str(&format!("w connects to 10.0.0.0/8 except 10.1.0.0/16 on tcp {}\n", i + 1));
            src.push_str(&format!("w connects to 10.1.0.0/16 on tcp {}\n", i + 1));
        }
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", src);
        let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
        let program = crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program;
        let u = Universe::new(&program);
        let s = SourceSemantics::new(&program, &u);
        let mut distinct: Vec<*const Coverage> = s.covers.iter().map(Arc::as_ptr).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 2);
        for (r, cover) in program.rules.iter().zip(&s.covers) {
            assert_eq!(**cover, peers_coverage(&program, &u, &r.peers));
        }
    }
}
