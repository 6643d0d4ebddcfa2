//! What the IR allows: for a source and a destination endpoint, the ports on which a connection
//! is allowed, by the source's egress and the destination's ingress together.
//!
//! Semantics of the source language (each backend must implement exactly this):
//! - a workload is isolated in a direction when an allow rule, `accepts nothing` /
//!   `connects to nothing`, or a default deny selects it; otherwise everything is allowed;
//! - an isolated workload allows the union of its matching allow rules;
//! - deny rules subtract from what is allowed and never isolate by themselves;
//! - a connection needs the egress of its source and the ingress of its destination
//!   (Kubernetes: "both the egress policy on the source pod and the ingress policy on the
//!   destination pod need to allow the connection", kubernetes/website network-policies.md).
//!
//! Endpoints that are not declared workloads are not policed here. Matching of a peer against
//! an endpoint is three-valued: a CIDR may or may not contain a pod's address depending on the
//! CNI (calico#6634 vs cilium#9209), so the analysis keeps a *certain* and a *possible* answer.

use super::ports::PortSet;
use crate::ir::{Action, CidrBlock, Direction, Entity, NamespaceId, Peer, PeerRef, Program, WorkloadId};
use std::collections::BTreeMap;

/// One side of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A pod of a declared workload.
    Workload(WorkloadId),
    /// Some pod of a namespace with no particular labels.
    NamespacePod(NamespaceId),
    Net(CidrBlock),
    Entity(Entity),
}

impl Endpoint {
    pub fn from_peer(p: &PeerRef) -> Option<Endpoint> {
        Some(match &p.peer {
            Peer::Workload(w) => Endpoint::Workload(*w),
            Peer::Namespace(n) => Endpoint::NamespacePod(*n),
            Peer::Cidr(c) => Endpoint::Net(c.clone()),
            Peer::Entity(e) => Endpoint::Entity(*e),
            Peer::NamespaceSet(_) | Peer::Fqdn(_) => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    No,
    Maybe,
    Yes,
}

/// The ports allowed between two endpoints: certainly, and possibly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub certain: PortSet,
    pub possible: PortSet,
}

pub struct Reach<'p> {
    program: &'p Program,
    /// Representative labels of every workload's pods.
    labels: Vec<BTreeMap<String, String>>,
}

impl<'p> Reach<'p> {
    pub fn new(program: &'p Program) -> Self {
        let labels = program.workloads.iter().map(|w| w.selector.representative()).collect();
        Reach { program, labels }
    }

    /// Ports on which `src` may open a connection to `dst`.
    pub fn allowed(&self, src: &Endpoint, dst: &Endpoint) -> Allowed {
        let out = self.side(src, Direction::Egress, dst);
        let inn = self.side(dst, Direction::Ingress, src);
        Allowed {
            certain: out.certain.intersect(&inn.certain),
            possible: out.possible.intersect(&inn.possible),
        }
    }

    /// What `subject`'s own policy in `direction` allows with `other`.
    pub fn side(&self, subject: &Endpoint, direction: Direction, other: &Endpoint) -> Allowed {
        let Endpoint::Workload(w) = subject else {
            return Allowed { certain: PortSet::all(), possible: PortSet::all() };
        };
        let (mut certain, mut possible) = if self.program.is_isolated(*w, direction) {
            (PortSet::empty(), PortSet::empty())
        } else {
            (PortSet::all(), PortSet::all())
        };
        let (mut deny_certain, mut deny_possible) = (PortSet::empty(), PortSet::empty());
        for rule in self.program.rules_of(*w, direction) {
            let m = rule.peers.iter().map(|p| self.matches(&p.peer, other)).max().unwrap_or(Match::No);
            if m == Match::No {
                continue;
            }
            let ports = PortSet::from_ports(&rule.ports);
            match (rule.action, m) {
                (Action::Allow, Match::Yes) => {
                    certain = certain.union(&ports);
                    possible = possible.union(&ports);
                }
                (Action::Allow, _) => possible = possible.union(&ports),
                (Action::Deny, Match::Yes) => {
                    deny_certain = deny_certain.union(&ports);
                    deny_possible = deny_possible.union(&ports);
                }
                (Action::Deny, _) => deny_possible = deny_possible.union(&ports),
            }
        }
        Allowed { certain: certain.subtract(&deny_possible), possible: possible.subtract(&deny_certain) }
    }

    /// Whether a rule's peer covers an endpoint.
    pub fn matches(&self, peer: &Peer, ep: &Endpoint) -> Match {
        use Match::*;
        match (peer, ep) {
            (Peer::Entity(Entity::Anywhere), _) => Yes,
            (_, Endpoint::Entity(Entity::Anywhere)) => Maybe,
            (Peer::Workload(x), Endpoint::Workload(w)) => yes_if(self.selects(*x, *w)),
            (Peer::Namespace(n), Endpoint::Workload(w)) => yes_if(self.program.workload(*w).namespace == *n),
            (Peer::Namespace(n), Endpoint::NamespacePod(m)) => yes_if(n == m),
            // The cluster DNS pods are pods of `kube-system`, so a namespace set covers them as
            // it covers that namespace.
            (
                Peer::NamespaceSet(s),
                Endpoint::Workload(_) | Endpoint::NamespacePod(_) | Endpoint::Entity(Entity::KubeDns),
            ) => {
                let ns = match ep {
                    Endpoint::Entity(_) => crate::ir::KUBE_DNS_NAMESPACE.to_string(),
                    _ => self
                        .namespace_of(ep)
                        .map(|n| self.program.namespace(n).name.clone())
                        .unwrap_or_default(),
                };
                let labels = BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns)]);
                if self.program.namespace_set(*s).selector.matches(&labels) {
                    Yes
                } else {
                    Maybe
                }
            }
            (Peer::Entity(Entity::Cluster), Endpoint::Workload(_) | Endpoint::NamespacePod(_)) => Yes,
            (Peer::Entity(Entity::Cluster), Endpoint::Entity(Entity::Cluster | Entity::KubeDns)) => Yes,
            (Peer::Entity(e), Endpoint::Entity(f)) if e == f => Yes,
            (Peer::Entity(Entity::KubeDns), Endpoint::Workload(w)) => yes_if(self.is_kube_dns(*w)),
            (Peer::Namespace(n), Endpoint::Entity(Entity::KubeDns)) => {
                yes_if(self.program.namespace(*n).name == crate::ir::KUBE_DNS_NAMESPACE)
            }
            (Peer::Cidr(c), Endpoint::Net(n)) => cidr_match(c, n),
            // Whether an ipBlock matches pod, node or API-server addresses is CNI-specific.
            (Peer::Cidr(_), _) => Maybe,
            (Peer::Entity(Entity::World), Endpoint::Net(_)) => Maybe,
            (_, Endpoint::Entity(Entity::Cluster)) => Maybe,
            _ => No,
        }
    }

    /// Whether workload `x`'s selector picks the pods of workload `w`.
    fn selects(&self, x: WorkloadId, w: WorkloadId) -> bool {
        let (xw, ww) = (self.program.workload(x), self.program.workload(w));
        x == w || (xw.namespace == ww.namespace && xw.selector.matches(&self.labels[w.index()]))
    }

    fn is_kube_dns(&self, w: WorkloadId) -> bool {
        let wl = self.program.workload(w);
        let (k, v) = crate::ir::KUBE_DNS_LABEL;
        self.program.namespace(wl.namespace).name == crate::ir::KUBE_DNS_NAMESPACE
            && self.labels[w.index()].get(k).is_some_and(|x| x == v)
    }

    fn namespace_of(&self, ep: &Endpoint) -> Option<NamespaceId> {
        match ep {
            Endpoint::Workload(w) => Some(self.program.workload(*w).namespace),
            Endpoint::NamespacePod(n) => Some(*n),
            _ => None,
        }
    }
}

fn yes_if(b: bool) -> Match {
    if b {
        Match::Yes
    } else {
        Match::No
    }
}

/// Does the peer block `c` cover every address of `n` (Yes), some (Maybe), or none (No)?
fn cidr_match(c: &CidrBlock, n: &CidrBlock) -> Match {
    let overlaps = |a: &ipnet::IpNet, b: &ipnet::IpNet| a.contains(b) || b.contains(a);
    if !overlaps(&c.net, &n.net) {
        return Match::No;
    }
    let holed = c.except.iter().any(|e| overlaps(e, &n.net));
    if c.net.contains(&n.net) && !holed {
        return Match::Yes;
    }
    if c.except.iter().any(|e| e.contains(&n.net)) {
        return Match::No;
    }
    Match::Maybe
}
