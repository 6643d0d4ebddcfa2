//! The IR: the checked meaning of a program, and the only thing backends see.
//!
//! Names are bound to ids, groups are expanded, parameters applied, conditionals decided, edges
//! split into their two sides, and `kube-dns` without ports lowered to DNS ports. Every rule keeps
//! the span of the statement it came from (`origin`), so any later stage can point at the user's
//! line.

use crate::span::Span;
use ipnet::IpNet;
use std::collections::BTreeMap;

pub use crate::syntax::ast::Protocol;

macro_rules! id {
    ($name:ident, $prefix:literal) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(NamespaceId, "ns");
id!(WorkloadId, "w");
id!(NamespaceSetId, "nsset");

/// A checked program: everything the backends and analyses need.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub namespaces: Vec<Namespace>,
    pub workloads: Vec<Workload>,
    pub namespace_sets: Vec<NamespaceSet>,
    pub rules: Vec<Rule>,
    /// `accepts nothing` / `connects to nothing`: isolation without rules.
    pub isolations: Vec<Isolation>,
    pub default_denies: Vec<DefaultDeny>,
    pub expects: Vec<Expect>,
    /// Rule indices per workload and direction, and whether each is isolated; see [`Program::index`].
    index: Vec<[Vec<u32>; 2]>,
    isolated: Vec<[bool; 2]>,
    isolation_index: Vec<[Option<u32>; 2]>,
    /// Per namespace and direction, the first default deny that covers it.
    default_deny_index: Vec<[Option<u32>; 2]>,
}

#[derive(Clone, Debug)]
pub struct Namespace {
    pub name: String,
    /// Where the namespace was first named.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub namespace: NamespaceId,
    pub selector: LabelSelector,
    pub span: Span,
}

/// Namespaces chosen by labels (`namespaces NAME { … }`).
#[derive(Clone, Debug)]
pub struct NamespaceSet {
    pub name: String,
    pub selector: LabelSelector,
    pub span: Span,
}

/// A Kubernetes label selector: the AND of exact labels and set expressions.
/// Sorted, so equal selectors compare equal and output is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<LabelExpr>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelExpr {
    pub key: String,
    pub op: LabelOp,
    /// Sorted and deduplicated; empty for `Exists` / `DoesNotExist`.
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelOp {
    /// The Kubernetes `matchExpressions` operator.
    pub fn as_k8s(self) -> &'static str {
        match self {
            LabelOp::In => "In",
            LabelOp::NotIn => "NotIn",
            LabelOp::Exists => "Exists",
            LabelOp::DoesNotExist => "DoesNotExist",
        }
    }
}

impl LabelSelector {
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether an object with exactly `labels` is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|e| {
                let got = labels.get(&e.key);
                match e.op {
                    LabelOp::In => got.is_some_and(|v| e.values.contains(v)),
                    LabelOp::NotIn => got.is_none_or(|v| !e.values.contains(v)),
                    LabelOp::Exists => got.is_some(),
                    LabelOp::DoesNotExist => got.is_none(),
                }
            })
    }

    /// The labels of a representative object this selector selects: exact labels, and the first
    /// value of each `in` (an `exists` key gets an empty value). Used by the analyses to decide
    /// which declared workloads a selector picks.
    pub fn representative(&self) -> BTreeMap<String, String> {
        let mut labels = self.match_labels.clone();
        for e in &self.expressions {
            match e.op {
                LabelOp::In => {
                    labels
                        .entry(e.key.clone())
                        .or_insert_with(|| e.values.first().cloned().unwrap_or_default());
                }
                LabelOp::Exists => {
                    labels.entry(e.key.clone()).or_default();
                }
                LabelOp::NotIn | LabelOp::DoesNotExist => {}
            }
        }
        labels
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The direction the other end of a connection sees it in.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::Egress => Direction::Ingress,
            Direction::Ingress => Direction::Egress,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    Deny,
}

/// One rule of one workload in one direction: `subject` may exchange traffic on `ports` with
/// any of `peers` (Allow), or may not (Deny).
#[derive(Clone, Debug)]
pub struct Rule {
    pub subject: WorkloadId,
    pub direction: Direction,
    pub action: Action,
    pub peers: Vec<PeerRef>,
    pub ports: Ports,
    pub reason: Option<String>,
    pub origin: Span,
}

/// A peer and the span it was written at (the group reference, if it came from a group).
#[derive(Clone, Debug)]
pub struct PeerRef {
    pub peer: Peer,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// Pods of a declared workload.
    Workload(WorkloadId),
    /// Every pod of one namespace, by name.
    Namespace(NamespaceId),
    /// Every pod of the namespaces a label selector picks.
    NamespaceSet(NamespaceSetId),
    /// The pods a workload's selector picks, in every namespace of a set (the workload's own
    /// namespace only if the set picks it).
    WorkloadIn(WorkloadId, NamespaceSetId),
    Cidr(CidrBlock),
    Entity(Entity),
    /// A DNS name or pattern (`*.example.com`), egress only.
    Fqdn(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CidrBlock {
    pub net: IpNet,
    pub except: Vec<IpNet>,
}

/// Built-in peers with a fixed meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// Every source or destination: all pods, all nodes, all addresses.
    Anywhere,
    /// Addresses outside the cluster.
    World,
    /// Every pod in every namespace of the cluster.
    Cluster,
    /// The node the pod runs on.
    Host,
    /// The Kubernetes API server.
    KubeApiserver,
    /// The cluster DNS pods: `k8s-app: kube-dns` in `kube-system`.
    KubeDns,
}

impl Entity {
    pub fn keyword(self) -> &'static str {
        match self {
            Entity::Anywhere => "anywhere",
            Entity::World => "world",
            Entity::Cluster => "cluster",
            Entity::Host => "host",
            Entity::KubeApiserver => "kube-apiserver",
            Entity::KubeDns => "kube-dns",
        }
    }
}

/// The namespace and pod labels of the cluster DNS. Both CoreDNS and kube-dns deployments
/// carry `k8s-app: kube-dns` in `kube-system`.
pub const KUBE_DNS_NAMESPACE: &str = "kube-system";
pub const KUBE_DNS_LABEL: (&str, &str) = ("k8s-app", "kube-dns");

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ports {
    /// Every port of every protocol.
    All,
    /// Sorted and deduplicated.
    Some(Vec<PortRule>),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRule {
    pub protocol: Protocol,
    pub port: PortMatch,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortMatch {
    /// Every port of the protocol.
    All,
    Single(u16),
    /// Inclusive.
    Range(u16, u16),
    /// A named container port of the destination pod.
    Named(String),
}

impl Ports {
    /// The ports of DNS: UDP and TCP 53 (TCP is needed for large answers; calico#8224).
    pub fn dns() -> Ports {
        Ports::Some(vec![
            PortRule { protocol: Protocol::Tcp, port: PortMatch::Single(53) },
            PortRule { protocol: Protocol::Udp, port: PortMatch::Single(53) },
        ])
    }
}

/// A workload isolated in a direction with no rule of its own (`accepts nothing`).
#[derive(Clone, Debug)]
pub struct Isolation {
    pub subject: WorkloadId,
    pub direction: Direction,
    pub reason: Option<String>,
    pub origin: Span,
}

/// `default deny DIRECTION`: every pod of a namespace (or, with `namespace: None`, of the
/// cluster) is isolated in that direction.
#[derive(Clone, Debug)]
pub struct DefaultDeny {
    pub namespace: Option<NamespaceId>,
    pub direction: Direction,
    pub reason: Option<String>,
    pub origin: Span,
}

/// `expect A can|cannot reach B [on PORTS]`.
#[derive(Clone, Debug)]
pub struct Expect {
    pub from: PeerRef,
    pub to: PeerRef,
    pub can: bool,
    /// `None`: any port (for `can`, some port; for `cannot`, every port).
    pub ports: Option<Ports>,
    pub origin: Span,
}

pub(crate) fn dir_slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

impl Program {
    pub fn workload(&self, id: WorkloadId) -> &Workload {
        &self.workloads[id.index()]
    }

    pub fn namespace(&self, id: NamespaceId) -> &Namespace {
        &self.namespaces[id.index()]
    }

    pub fn namespace_set(&self, id: NamespaceSetId) -> &NamespaceSet {
        &self.namespace_sets[id.index()]
    }

    /// Builds the per-workload lookups. Resolve calls it once the program is complete; a
    /// program changed afterwards must call it again.
    pub fn index(&mut self) {
        let n = self.workloads.len();
        self.index = vec![[Vec::new(), Vec::new()]; n];
        for (i, r) in self.rules.iter().enumerate() {
            self.index[r.subject.index()][dir_slot(r.direction)].push(i as u32);
        }
        self.isolated = vec![[false; 2]; n];
        for r in self.rules.iter().filter(|r| r.action == Action::Allow) {
            self.isolated[r.subject.index()][dir_slot(r.direction)] = true;
        }
        self.isolation_index = vec![[None; 2]; n];
        for (k, i) in self.isolations.iter().enumerate() {
            self.isolated[i.subject.index()][dir_slot(i.direction)] = true;
            self.isolation_index[i.subject.index()][dir_slot(i.direction)].get_or_insert(k as u32);
        }
        self.default_deny_index = vec![[None; 2]; self.namespaces.len()];
        let mut cluster_wide: [Option<u32>; 2] = [None; 2];
        for (k, d) in self.default_denies.iter().enumerate() {
            let slot = dir_slot(d.direction);
            match d.namespace {
                Some(ns) => {
                    if let Some(first) = self.default_deny_index.get_mut(ns.index()) {
                        first[slot].get_or_insert(k as u32);
                    }
                }
                None => {
                    cluster_wide[slot].get_or_insert(k as u32);
                }
            }
        }
        for first in &mut self.default_deny_index {
            for slot in 0..2 {
                first[slot] = match (first[slot], cluster_wide[slot]) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        for (w, wl) in self.workloads.iter().enumerate() {
            for slot in 0..2 {
                if self.default_deny_index.get(wl.namespace.index()).is_some_and(|d| d[slot].is_some()) {
                    self.isolated[w][slot] = true;
                }
            }
        }
    }

    /// The first default deny that covers the pods of a namespace in a direction.
    pub fn default_deny_of(&self, ns: NamespaceId, direction: Direction) -> Option<&DefaultDeny> {
        let k = self.default_deny_index.get(ns.index())?[dir_slot(direction)]?;
        Some(&self.default_denies[k as usize])
    }

    /// Rules of one workload in one direction, in source order.
    pub fn rules_of(&self, subject: WorkloadId, direction: Direction) -> impl Iterator<Item = &Rule> {
        let ids = self.index.get(subject.index()).map(|d| d[dir_slot(direction)].as_slice()).unwrap_or(&[]);
        ids.iter().map(move |i| &self.rules[*i as usize])
    }

    /// Indices into `rules` of one workload's rules in one direction, in source order.
    pub fn rule_indices(
        &self,
        subject: WorkloadId,
        direction: Direction,
    ) -> impl Iterator<Item = usize> + '_ {
        let ids = self.index.get(subject.index()).map(|d| d[dir_slot(direction)].as_slice()).unwrap_or(&[]);
        ids.iter().map(|i| *i as usize)
    }

    /// Rules of one workload in both directions: ingress, then egress, each in source order.
    pub fn rules_of_workload(&self, subject: WorkloadId) -> impl Iterator<Item = &Rule> {
        self.rules_of(subject, Direction::Ingress).chain(self.rules_of(subject, Direction::Egress))
    }

    /// The first line that makes a workload isolated in a direction: an allow rule, else
    /// `accepts nothing` / `connects to nothing`, else a default deny that covers it.
    pub fn isolating_line(&self, subject: WorkloadId, direction: Direction) -> Option<Span> {
        let ns = self.workload(subject).namespace;
        self.rules_of(subject, direction)
            .find(|r| r.action == Action::Allow)
            .map(|r| r.origin)
            .or_else(|| self.isolation_of(subject, direction).map(|i| i.origin))
            .or_else(|| self.default_deny_of(ns, direction).map(|d| d.origin))
    }

    /// The first `accepts nothing` / `connects to nothing` of a workload in a direction.
    pub fn isolation_of(&self, subject: WorkloadId, direction: Direction) -> Option<&Isolation> {
        let k = self.isolation_index.get(subject.index())?[dir_slot(direction)]?;
        self.isolations.get(k as usize)
    }

    /// Whether `subject` is isolated in `direction`: some allow rule, an explicit isolation, or a
    /// namespace- or cluster-wide default deny selects it. Deny rules alone do not isolate.
    pub fn is_isolated(&self, subject: WorkloadId, direction: Direction) -> bool {
        self.isolated.get(subject.index()).is_some_and(|d| d[dir_slot(direction)])
    }

    /// "namespace/name" of a workload, for messages.
    pub fn qualified_name(&self, id: WorkloadId) -> String {
        let w = self.workload(id);
        format!("{}/{}", self.namespace(w.namespace).name, w.name)
    }
}
