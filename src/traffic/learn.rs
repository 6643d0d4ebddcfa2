//! `netpol learn`: `.netpol` source that allows the connections a recording holds, and no other
//! where the recording saw every pod of a namespace.
//!
//! - **Workloads.** Pods are grouped by the workload the flows name (`workloads`: a Deployment,
//!   a StatefulSet…), else by their labels without the per-pod and per-revision ones
//!   ([`PER_POD_LABELS`]). Each group is selected by one label people name workloads by
//!   (`app.kubernetes.io/name`, `app`, …) when that picks none of the other groups' pods, else
//!   by every label its pods share; groups no selector can tell apart are one workload.
//! - **Rules.** One per (workload, direction, peer, protocol), its ports merged, its reason the
//!   number of flows it covers. A connection between two pods is a rule on each side. Lookups
//!   of the cluster DNS (UDP or TCP 53 to `k8s-app: kube-dns` in `kube-system`) are
//!   `connects to kube-dns`. Addresses outside the cluster, and addresses with no identity,
//!   are written as themselves (`/32`, `/128`); the node as `host`, the API server as
//!   `kube-apiserver`. The node's connections to its own pods are allowed by every CNI without
//!   a rule and are not written.
//! - **What is not learned.** Pods of `kube-system`, `kube-public` and `kube-node-lease` are
//!   peers only, never given policies. ICMP echoes: rules name TCP, UDP and SCTP ports, and an
//!   echo is allowed only by a rule for every port, which would allow far more. Both are
//!   counted in the header.
//! - **Default deny.** Written for a namespace where every pod of the namespace was seen:
//!   with `--inventory`, when each of its pods (or workload templates) is one the flows name;
//!   with `--default-deny`, for every namespace learned. Without it, a learned workload is
//!   isolated only in the directions it has rules for.
//!
//! The source is written by the importer's writer ([`crate::import::write`]), so it is in
//! the canonical layout and the same flows always give the same bytes.

use super::{End, Port, Recorded};
use crate::import::draft::{Draft, Kind, Peer, Policy, Statement, Subject};
use crate::import::names::PER_POD_LABELS;
use crate::import::write::{write_with_header, Layout};
use crate::ir::{CidrBlock, Direction, Entity, LabelSelector, PortMatch, PortRule, Ports, Protocol};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The labels that name a workload, most telling first (as the importer's names).
const NAME_LABELS: [&str; 6] = ["app.kubernetes.io/name", "app", "k8s-app", "name", "component", "role"];

/// Namespaces of the cluster's own components: their pods are peers, never given policies.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// A pod an inventory lists: namespace, name (`name(Kind)` for a workload's template), labels.
pub struct InventoryPod {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

pub struct Options<'a> {
    /// The inventory's pods: their labels stand for the flows' where both name a pod, and a
    /// namespace whose pods were all seen gets a default deny.
    pub inventory: Option<&'a [InventoryPod]>,
    /// A default deny in every namespace learned.
    pub default_deny: bool,
}

/// The source learned, and what it holds.
pub struct Learned {
    pub source: String,
    pub workloads: usize,
    pub rules: usize,
    /// Namespaces with a default deny.
    pub default_deny: Vec<String>,
    /// Namespaces given rules but no default deny.
    pub open: Vec<String>,
    /// Flows that no rule stands for, and why (also comments in the source's header).
    pub not_learned: Vec<(String, u64)>,
}

/// One group of pods: a workload to be.
struct Group {
    namespace: String,
    /// The name the flows give its workload.
    hint: Option<String>,
    /// Indexes into the recorded ends.
    pods: Vec<u32>,
}

/// Where a recorded end stands in the learned program.
#[derive(Clone)]
enum Place {
    /// A group of pods (index), and whether its namespace gets policies.
    Group(usize, bool),
    /// A cluster DNS pod.
    Dns(usize),
    Peer(Peer),
}

pub fn learn(recorded: &Recorded, options: &Options) -> Learned {
    // The labels of each pod end: the inventory's where it lists the pod.
    let inventory: BTreeMap<(&str, &str), &BTreeMap<String, String>> = options
        .inventory
        .unwrap_or_default()
        .iter()
        .map(|p| ((p.namespace.as_str(), p.name.as_str()), &p.labels))
        .collect();
    let mut labels: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let mut initial: BTreeMap<(String, String), (Option<String>, Vec<u32>)> = BTreeMap::new();
    for (i, e) in recorded.ends.iter().enumerate() {
        let End::Pod(p) = e else { continue };
        let l = inventory
            .get(&(p.namespace.as_str(), p.name.as_str()))
            .map_or_else(|| p.labels.clone(), |l| (*l).clone());
        let stable: BTreeMap<String, String> = l
            .iter()
            .filter(|(k, _)| !PER_POD_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (key, hint) = match &p.workload {
            Some((kind, name)) => (format!("0 {kind}/{name}"), Some(name.clone())),
            None => (format!("1 {stable:?}"), None),
        };
        let entry = initial.entry((p.namespace.clone(), key)).or_insert((hint, Vec::new()));
        entry.1.push(i as u32);
        labels.insert(i as u32, l);
    }
    let mut groups: Vec<Group> =
        initial.into_iter().map(|((namespace, _), (hint, pods))| Group { namespace, hint, pods }).collect();
    let selectors = choose_selectors(&mut groups, &labels);

    // Each end's place.
    let mut group_of: BTreeMap<u32, usize> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for p in &group.pods {
            group_of.insert(*p, g);
        }
    }
    let places: Vec<Place> = recorded
        .ends
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            End::Pod(p) => {
                let g = group_of[&(i as u32)];
                let dns = p.namespace == crate::ir::KUBE_DNS_NAMESPACE
                    && labels[&(i as u32)].get(crate::ir::KUBE_DNS_LABEL.0).map(String::as_str)
                        == Some(crate::ir::KUBE_DNS_LABEL.1);
                if dns {
                    Place::Dns(g)
                } else {
                    Place::Group(g, !SYSTEM_NAMESPACES.contains(&p.namespace.as_str()))
                }
            }
            End::World(ip) | End::Address(ip) => {
                Place::Peer(Peer::Cidr(CidrBlock { net: ipnet::IpNet::from(*ip), except: Vec::new() }))
            }
            End::Host => Place::Peer(Peer::Entity(Entity::Host)),
            End::ApiServer => Place::Peer(Peer::Entity(Entity::KubeApiserver)),
        })
        .collect();
    let peer_of = |place: &Place| -> Peer {
        match place {
            Place::Group(g, _) | Place::Dns(g) => {
                Peer::Pods { namespace: groups[*g].namespace.clone(), selector: selectors[*g].clone() }
            }
            Place::Peer(p) => p.clone(),
        }
    };

    // Rules: (group, direction, peer, protocol) → ports and flows. Protocol `None`: DNS.
    type Key = (usize, u8, Peer, Option<Protocol>);
    let mut rules: BTreeMap<Key, (BTreeSet<u16>, u64)> = BTreeMap::new();
    let mut not_learned: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (&(f, t, port), seen) in recorded.sorted() {
        let (from, to) = (&places[f as usize], &places[t as usize]);
        let (protocol, number) = match port {
            Port::Tcp(p) => (Protocol::Tcp, p),
            Port::Udp(p) => (Protocol::Udp, p),
            Port::Sctp(p) => (Protocol::Sctp, p),
            Port::Echo => {
                *not_learned.entry("ICMP echo requests (rules name TCP, UDP and SCTP ports)").or_default() +=
                    seen.flows;
                continue;
            }
        };
        let mut learned = false;
        if let (Place::Dns(_), 53, Protocol::Udp | Protocol::Tcp) = (to, number, protocol) {
            if let Place::Group(g, true) = from {
                let r = rules.entry((*g, 1, Peer::Entity(Entity::KubeDns), None)).or_default();
                r.1 += seen.flows;
                learned = true;
            }
        } else {
            if let Place::Group(g, true) = from {
                let r = rules.entry((*g, 1, peer_of(to), Some(protocol))).or_default();
                r.0.insert(number);
                r.1 += seen.flows;
                learned = true;
            }
            let from_node = matches!(from, Place::Peer(Peer::Entity(Entity::Host)));
            if let (Place::Group(g, true), false) = (to, from_node) {
                let r = rules.entry((*g, 0, peer_of(from), Some(protocol))).or_default();
                r.0.insert(number);
                r.1 += seen.flows;
                learned = true;
            }
        }
        if !learned {
            let why = if matches!(from, Place::Peer(Peer::Entity(Entity::Host))) {
                "from the node to its pods (allowed without a rule)"
            } else {
                "between pods of kube-system, kube-public or kube-node-lease (never given policies)"
            };
            *not_learned.entry(why).or_default() += seen.flows;
        }
    }

    // The draft: a policy per group with rules.
    let mut draft = Draft::default();
    let mut per_group: BTreeMap<usize, Vec<Statement>> = BTreeMap::new();
    for ((g, dir, peer, protocol), (ports, flows)) in &rules {
        let direction = if *dir == 0 { Direction::Ingress } else { Direction::Egress };
        let ports = protocol.map(|protocol| {
            Ports::Some(ports.iter().map(|p| PortRule { protocol, port: PortMatch::Single(*p) }).collect())
        });
        let reason =
            if *flows == 1 { "learned: 1 flow".to_string() } else { format!("learned: {flows} flows") };
        per_group.entry(*g).or_default().push(Statement {
            kind: Kind::Allow(direction),
            peers: vec![peer.clone()],
            ports,
            reason,
            path: String::new(),
        });
    }
    let learned_namespaces: BTreeSet<String> =
        per_group.keys().map(|g| groups[*g].namespace.clone()).collect();
    for (g, statements) in per_group {
        let group = &groups[g];
        draft.policies.push(Policy {
            object: draft.policies.len(),
            title: String::new(),
            name: group.hint.clone().unwrap_or_default(),
            namespace: group.namespace.clone(),
            subject: Subject::Pods(selectors[g].clone()),
            statements,
            from_netpol: group.hint.is_some(),
        });
    }
    let workloads = draft.policies.len();
    let seen_all = |ns: &str| -> bool {
        let Some(inv) = options.inventory else { return false };
        inv.iter().filter(|p| p.namespace == ns).all(|p| {
            recorded.ends.iter().any(|e| match e {
                End::Pod(q) => {
                    q.namespace == ns
                        && (q.name == p.name
                            || q.workload
                                .as_ref()
                                .is_some_and(|(kind, name)| p.name == format!("{name}({kind})")))
                }
                _ => false,
            })
        })
    };
    let (deny, open): (Vec<String>, Vec<String>) =
        learned_namespaces.iter().cloned().partition(|ns| options.default_deny || seen_all(ns));
    for ns in &deny {
        draft.policies.push(Policy {
            object: draft.policies.len(),
            title: String::new(),
            name: String::new(),
            namespace: ns.clone(),
            subject: Subject::Pods(LabelSelector::default()),
            statements: [Direction::Ingress, Direction::Egress]
                .into_iter()
                .map(|d| Statement {
                    kind: Kind::DefaultDeny(d),
                    peers: Vec::new(),
                    ports: None,
                    reason: String::new(),
                    path: String::new(),
                })
                .collect(),
            from_netpol: false,
        });
    }
    let mut lost: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ns in &open {
        let why = if options.inventory.is_some() {
            "the inventory has pods of this namespace the recording did not see"
        } else {
            "without --inventory, the pods the recording did not see are unknown"
        };
        let notes = lost.entry(ns.clone()).or_default();
        notes.push(format!("No default deny: {why}."));
        notes.push("Add `default deny all` once every pod's traffic is in the recording.".to_string());
    }

    let mut not_learned: Vec<(String, u64)> =
        not_learned.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    // Flows whose ends replay does not judge either (health checks, unknown endpoints).
    not_learned.extend(recorded.unjudged.iter().map(|(why, u)| (why.clone(), u.flows)));
    let header = header(recorded, &not_learned);
    let written = write_with_header(&draft, Layout::Single, &lost, &header);
    let source = written.files.into_iter().next().map(|(_, t)| t).unwrap_or_default();
    Learned { source, workloads, rules: rules.len(), default_deny: deny, open, not_learned }
}

fn header(recorded: &Recorded, not_learned: &[(String, u64)]) -> String {
    let c = &recorded.counts;
    let flows = if c.flows == 1 { "1 flow".to_string() } else { format!("{} flows", c.flows) };
    let files = recorded.files.join(", ");
    let mut out = format!(
        "# Learned by `netpol learn` from {flows} in {files}.\n\
         # Each rule allows what the recording saw, and its reason counts the flows it covers.\n\
         # Review before use: a connection the recording did not see is not allowed.\n"
    );
    for (why, n) in not_learned {
        let flows = if *n == 1 { "1 flow".to_string() } else { format!("{n} flows") };
        let _ = writeln!(out, "# Not learned: {flows}, {why}.");
    }
    out
}

/// A selector per group that picks none of the other groups' pods (of its namespace); groups
/// that cannot be told apart are merged first.
fn choose_selectors(
    groups: &mut Vec<Group>,
    labels: &BTreeMap<u32, BTreeMap<String, String>>,
) -> Vec<LabelSelector> {
    loop {
        let common: Vec<BTreeMap<String, String>> = groups
            .iter()
            .map(|g| {
                let mut it = g.pods.iter().map(|p| &labels[p]);
                let first = it.next().cloned().unwrap_or_default();
                let mut c: BTreeMap<String, String> =
                    first.into_iter().filter(|(k, _)| !PER_POD_LABELS.contains(&k.as_str())).collect();
                for l in it {
                    c.retain(|k, v| l.get(k) == Some(v));
                }
                c
            })
            .collect();
        let picks = |sel: &BTreeMap<String, String>, pod: u32| {
            sel.iter().all(|(k, v)| labels[&pod].get(k) == Some(v))
        };
        let mut chosen = Vec::with_capacity(groups.len());
        let mut merge: Option<(usize, usize)> = None;
        for (i, g) in groups.iter().enumerate() {
            let others: Vec<(usize, u32)> = groups
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.namespace == g.namespace)
                .flat_map(|(j, o)| o.pods.iter().map(move |p| (j, *p)))
                .collect();
            let mut candidates: Vec<BTreeMap<String, String>> = NAME_LABELS
                .iter()
                .filter_map(|k| common[i].get(*k).map(|v| BTreeMap::from([(k.to_string(), v.clone())])))
                .collect();
            candidates.push(common[i].clone());
            match candidates.into_iter().find(|c| others.iter().all(|(_, p)| !picks(c, *p))) {
                Some(c) => chosen.push(c),
                None => {
                    let full = &common[i];
                    let j = others
                        .iter()
                        .find(|(_, p)| picks(full, *p))
                        .map(|(j, _)| *j)
                        .expect("a pod it picks");
                    merge = Some((i.min(j), i.max(j)));
                    break;
                }
            }
        }
        match merge {
            None => {
                return chosen
                    .into_iter()
                    .map(|match_labels| LabelSelector { match_labels, expressions: Vec::new() })
                    .collect()
            }
            Some((a, b)) => {
                let gone = groups.remove(b);
                let keep = &mut groups[a];
                keep.pods.extend(gone.pods);
                keep.pods.sort_unstable();
                if keep.hint.is_none() {
                    keep.hint = gone.hint;
                }
            }
        }
    }
}
