//! The emitted policies allow exactly what the source means, for every target.
//!
//! Three evaluators read the emitted YAML back, each written from its CNI's documentation and
//! source alone, never from the backends' code:
//! - Kubernetes `networking.k8s.io/v1` NetworkPolicy ([`kubernetes`]): isolation per direction,
//!   union of rules, empty `from`/`ports` = everything, one peer = namespace AND pod selector;
//! - Cilium `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy ([`cilium`]):
//!   identities with `k8s:` labels, namespace scoping of selectors, entities, CIDR sets,
//!   `toPorts`, default deny per direction and `enableDefaultDeny`, deny rules that win;
//! - Calico `projectcalico.org/v3` NetworkPolicy and GlobalNetworkPolicy ([`calico`]): its own
//!   tokenizer, parser and evaluator of Calico selectors ([`calico_selector`]), tiers in order
//!   with their default actions (Deny, or Pass), ordered policies and rules where the first
//!   match decides, and the profile that allows what every tier passed on.
//!
//! Each is compared with the IR's meaning (`analysis::reach`), one side at a time (a connection
//! needs its source's egress and its destination's ingress), on probe connections between
//! every pair of endpoints, for every example.
//!
//! Open facts. The IR answers "certainly" and "possibly" because the source leaves some facts
//! open: whether a pod's, a node's or the API server's address lies in a CIDR (CNI-specific:
//! Calico matches pod addresses, calico#6634; Cilium does not, cilium#9209; Kubernetes leaves
//! it to the CNI, network-policies.md), whether a probed address lies outside the cluster
//! (`world`), and which labels a namespace carries besides its name. The evaluators take the
//! address facts from a [`Settle`]: settled against the connection (an open fact makes allow
//! rules miss and deny rules hit) a CNI must allow exactly what the IR certainly allows;
//! settled for it, no more than the IR possibly allows. Any real CNI's answers lie between the
//! two. Namespaces carry only their name label here, which is the "against" settlement for
//! allow rules (deny rules over other namespace labels are not modeled and panic).

mod common;

use common::*;
use ipnet::IpNet;
use netpol::analysis::ports::PortSet;
use netpol::analysis::reach::{Endpoint, Reach};
use netpol::backend::Target;
use netpol::driver::{compile, Compilation, Options};
use netpol::ir::{
    CidrBlock, Direction, Entity, LabelExpr, LabelOp, LabelSelector, PortMatch, PortRule, Ports, Program,
    Protocol, WorkloadId,
};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

// ---------------------------------------------------------------------------------------------
// The shared model: endpoints, probes, open facts, and the comparison with the IR.

/// A concrete endpoint as the CNIs see it.
#[derive(Clone, Debug)]
enum Node {
    Pod {
        ns: String,
        labels: BTreeMap<String, String>,
    },
    /// An address that is no pod, not the local node and not the API server: outside the
    /// cluster, or another node's (open, see [`Settle`]).
    Ip(IpAddr),
    /// The node every probed pod runs on.
    Host,
    /// The Kubernetes API server, running off the probed node.
    ApiServer,
}

impl Node {
    fn is_pod(&self) -> bool {
        matches!(self, Node::Pod { .. })
    }
}

/// A destination port: a number, or the name of a container port of the destination pod.
/// A named port's number is unknown: a rule covers it by naming it or by covering every port
/// of its protocol, and no number or range a rule lists stands for it (the IR's `PortSet`
/// model: "A named port is only known to be in a set that names it or holds every port of its
/// protocol").
#[derive(Clone, Debug)]
enum Port {
    Num(u16),
    Named(String),
}

#[derive(Clone, Debug)]
struct Probe {
    proto: Protocol,
    port: Port,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.port {
            Port::Num(n) => write!(f, "{}/{n}", self.proto.as_str()),
            Port::Named(n) => write!(f, "{}/port named {n:?}", self.proto.as_str()),
        }
    }
}

/// The ports one entry of a rule allows.
#[derive(Clone, Debug, PartialEq)]
enum PortSel {
    Every,
    /// Inclusive.
    Range(u16, u16),
    Named(String),
}

impl PortSel {
    fn covers(&self, port: &Port) -> bool {
        match (self, port) {
            (PortSel::Every, _) => true,
            (PortSel::Range(a, b), Port::Num(n)) => (a..=b).contains(&n),
            (PortSel::Range(a, b), Port::Named(_)) => *a <= 1 && *b == u16::MAX,
            (PortSel::Named(x), Port::Named(y)) => x == y,
            (PortSel::Named(_), Port::Num(_)) => false,
        }
    }
}

/// One entry of a rule's port list: some protocols, some ports.
#[derive(Clone, Debug)]
struct PortItem {
    protocols: Vec<Protocol>,
    sel: PortSel,
}

/// A rule's ports; `None` is every port of every protocol.
type PortList = Option<Vec<PortItem>>;

fn ports_cover(list: &PortList, probe: &Probe) -> bool {
    list.as_ref()
        .is_none_or(|l| l.iter().any(|i| i.protocols.contains(&probe.proto) && i.sel.covers(&probe.port)))
}

fn protocol_named(name: &str) -> Option<Protocol> {
    Protocol::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(name))
}

/// How the open facts are settled in one evaluation (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settle {
    /// Open facts go against the connection: what the IR certainly allows.
    Certain,
    /// Open facts go for the connection: what the IR possibly allows.
    Possible,
}

impl Settle {
    /// The answer to an open fact in a rule that allows (`deny == false`) or denies.
    fn open(self, deny: bool) -> bool {
        (self == Settle::Certain) == deny
    }
}

/// What one side of a connection allows, per probe.
type Verdict<'a> = Box<dyn Fn(&Probe) -> bool + 'a>;

fn everything<'a>() -> Verdict<'a> {
    Box::new(|_| true)
}

/// One CNI's reading of a set of emitted objects.
trait Cni {
    /// What `subject`'s policies in `dir` allow with `other`: peers are matched once, ports per
    /// probe. A subject that is no pod is not policed.
    fn side<'a>(&'a self, subject: &Node, dir: Direction, other: &Node, settle: Settle) -> Verdict<'a>;
    /// Objects the CNI would reject or read differently from any meaning (invalid shapes).
    fn problems(&self) -> &[String];
}

/// The labels every namespace has in Kubernetes: its name (`kubernetes.io/metadata.name`, set
/// by the API server since 1.22).
fn namespace_labels(ns: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())])
}

/// A probed endpoint: as the IR sees it, as the CNIs see it, and as messages name it.
struct Probed {
    ep: Endpoint,
    node: Node,
    name: String,
}

/// Every endpoint worth probing. Kubernetes cannot name nodes or the API server, and the local
/// node always reaches local pods there (types.go) and in Calico ("Calico allows all
/// connections from processes running on the host to guest workloads on the host",
/// docs.tigera.io "Protect hosts", calico PR #2691), so the node is probed for Cilium only,
/// which polices it under `--allow-localhost=policy` ([`cilium::LocalHost`]).
fn endpoints(p: &Program, target: Target) -> Vec<Probed> {
    let mut out = Vec::new();
    for (i, w) in p.workloads.iter().enumerate() {
        let id = WorkloadId(i as u32);
        let node =
            Node::Pod { ns: p.namespace(w.namespace).name.clone(), labels: w.selector.representative() };
        out.push(Probed { ep: Endpoint::Workload(id), node, name: p.qualified_name(id) });
    }
    let (k, v) = netpol::ir::KUBE_DNS_LABEL;
    out.push(Probed {
        ep: Endpoint::Entity(Entity::KubeDns),
        node: Node::Pod {
            ns: netpol::ir::KUBE_DNS_NAMESPACE.to_string(),
            labels: BTreeMap::from([(k.to_string(), v.to_string())]),
        },
        name: "kube-dns".to_string(),
    });
    for (i, n) in p.namespaces.iter().enumerate() {
        out.push(Probed {
            ep: Endpoint::NamespacePod(netpol::ir::NamespaceId(i as u32)),
            node: Node::Pod { ns: n.name.clone(), labels: BTreeMap::new() },
            name: format!("{}/<unlabelled pod>", n.name),
        });
    }
    let mut ips: BTreeSet<IpAddr> =
        BTreeSet::from(["203.0.113.7".parse().expect("ip"), "2001:db8:1::7".parse().expect("ip")]);
    for rule in &p.rules {
        for peer in &rule.peers {
            if let netpol::ir::Peer::Cidr(c) = &peer.peer {
                ips.insert(c.net.network());
                ips.insert(c.net.broadcast());
                ips.extend(c.except.iter().map(|e| e.network()));
            }
        }
    }
    for ip in ips {
        out.push(Probed {
            ep: Endpoint::Net(CidrBlock { net: ip.into(), except: Vec::new() }),
            node: Node::Ip(ip),
            name: ip.to_string(),
        });
    }
    if target != Target::Kubernetes {
        out.push(Probed {
            ep: Endpoint::Entity(Entity::KubeApiserver),
            node: Node::ApiServer,
            name: "kube-apiserver".to_string(),
        });
    }
    if target == Target::Cilium {
        out.push(Probed { ep: Endpoint::Entity(Entity::Host), node: Node::Host, name: "host".to_string() });
    }
    out
}

/// Every port a rule mentions, its neighbours, and a few others, per protocol; and every port
/// name a rule mentions plus one no rule mentions.
fn probes(p: &Program) -> Vec<Probe> {
    let mut ports: BTreeSet<u16> = BTreeSet::from([1, 53, 80, 443, 65535]);
    let mut names: BTreeSet<String> = BTreeSet::from(["unnamed-probe".to_string()]);
    for rule in &p.rules {
        if let Ports::Some(list) = &rule.ports {
            for r in list {
                match &r.port {
                    PortMatch::Single(x) => {
                        ports.extend([x.saturating_sub(1).max(1), *x, x.saturating_add(1)])
                    }
                    PortMatch::Range(a, b) => {
                        ports.extend([a.saturating_sub(1).max(1), *a, *b, b.saturating_add(1)])
                    }
                    PortMatch::Named(n) => {
                        names.insert(n.clone());
                    }
                    PortMatch::All => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    for proto in Protocol::ALL {
        out.extend(ports.iter().map(|n| Probe { proto, port: Port::Num(*n) }));
        out.extend(names.iter().map(|n| Probe { proto, port: Port::Named(n.clone()) }));
    }
    out
}

/// Whether an IR port set holds a probe.
fn ir_contains(set: &PortSet, probe: &Probe) -> bool {
    match &probe.port {
        Port::Num(n) => set.contains(probe.proto, *n),
        Port::Named(name) => PortSet::from_ports(&Ports::Some(vec![PortRule {
            protocol: probe.proto,
            port: PortMatch::Named(name.clone()),
        }]))
        .is_subset(set),
    }
}

/// A reader of `target`'s objects.
fn reader(target: Target, objects: &[Value]) -> Box<dyn Cni> {
    match target {
        Target::Kubernetes => Box::new(kubernetes::Kubernetes::new(objects)),
        Target::Cilium => Box::new(cilium::Cilium::new(objects, cilium::LocalHost::Policy)),
        Target::Calico => Box::new(calico::Calico::new(objects)),
    }
}

/// Every place where `target`'s reading of `objects` differs from what `program` means, and
/// every invalid object. Empty when they agree.
fn differences(target: Target, objects: &[Value], program: &Program) -> Vec<String> {
    compare(&*reader(target, objects), target, program).differences
}

/// What one comparison found, and how much it looked at.
struct Outcome {
    differences: Vec<String>,
    /// Probes compared (one side, one settlement of the open facts each)...
    checked: usize,
    /// ...and how many of them the CNI allowed.
    allowed: usize,
}

fn compare(cni: &dyn Cni, target: Target, program: &Program) -> Outcome {
    let mut out: Vec<String> = cni.problems().to_vec();
    let (mut checked, mut allowed) = (0, 0);
    let reach = Reach::new(program);
    let eps = endpoints(program, target);
    let probes = probes(program);
    for s in &eps {
        if !policed(program, s) {
            continue;
        }
        for o in &eps {
            for dir in [Direction::Ingress, Direction::Egress] {
                let ir = reach.side(&s.ep, dir, &o.ep);
                let lo = cni.side(&s.node, dir, &o.node, Settle::Certain);
                let hi = cni.side(&s.node, dir, &o.node, Settle::Possible);
                let destination = if dir == Direction::Ingress { &s.node } else { &o.node };
                // The IR's port sets hold a named port only where a set names it or holds every
                // port of its protocol (`PortSet`), so once a deny rule has taken numbers out of
                // "every port" they cannot say "every other named port" and drop them all.
                let named_ok = destination.is_pod()
                    && !matches!(s.ep, Endpoint::Workload(w)
                        if program.rules_of(w, dir).any(|r| r.action == netpol::ir::Action::Deny));
                for probe in &probes {
                    if matches!(probe.port, Port::Named(_)) && !named_ok {
                        continue;
                    }
                    let (certain, possible) =
                        (ir_contains(&ir.certain, probe), ir_contains(&ir.possible, probe));
                    let (l, h) = (lo(probe), hi(probe));
                    checked += 2;
                    allowed += usize::from(l) + usize::from(h);
                    if l != certain || (h && !possible) {
                        let (word, towards) =
                            if dir == Direction::Ingress { ("ingress", "from") } else { ("egress", "to") };
                        out.push(format!(
                            "{word} of {} {towards} {}, {probe}: {} allows {} (open facts against) / {} (for); \
                             the source allows it {}",
                            s.name,
                            o.name,
                            target.title(),
                            yes(l),
                            yes(h),
                            match (certain, possible) {
                                (true, _) => "certainly",
                                (false, true) => "possibly",
                                (false, false) => "never",
                            }
                        ));
                    }
                }
            }
        }
    }
    Outcome { differences: out, checked, allowed }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Whether the IR says what `ep`'s own policies allow. It polices declared workloads; any other
/// pod is open unless a default deny covers its namespace or some workload's selector picks it,
/// which `Reach` does not model ("Endpoints that are not declared workloads are not policed
/// here"). Non-pods have no policies in either.
fn policed(p: &Program, ep: &Probed) -> bool {
    let Node::Pod { ns, labels } = &ep.node else { return false };
    match ep.ep {
        Endpoint::Workload(_) => true,
        _ => {
            !p.default_denies.iter().any(|d| d.namespace.is_none_or(|n| p.namespace(n).name == *ns))
                && !p
                    .workloads
                    .iter()
                    .any(|w| p.namespace(w.namespace).name == *ns && w.selector.matches(labels))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes label selectors, shared by the Kubernetes and Cilium readers.

/// A Kubernetes `LabelSelector`: every `matchLabels` pair AND every `matchExpressions`
/// requirement (apimachinery `LabelSelectorAsSelector`); `In` and `Exists` need the key,
/// `NotIn` and `DoesNotExist` also hold without it. `{}` selects everything.
#[derive(Clone, Debug, Default)]
struct Sel {
    exact: Vec<(String, String)>,
    reqs: Vec<(String, LabelOp, Vec<String>)>,
}

impl Sel {
    fn parse(v: &Value) -> Sel {
        let obj = v.as_object().unwrap_or_else(|| panic!("a label selector is an object: {v}"));
        for k in obj.keys() {
            assert!(k == "matchLabels" || k == "matchExpressions", "unknown label selector field {k}");
        }
        let exact = obj
            .get("matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().expect("label values are strings").to_string()))
            .collect();
        let reqs = obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let op = match e["operator"].as_str() {
                    Some("In") => LabelOp::In,
                    Some("NotIn") => LabelOp::NotIn,
                    Some("Exists") => LabelOp::Exists,
                    Some("DoesNotExist") => LabelOp::DoesNotExist,
                    other => panic!("operator {other:?}"),
                };
                let values = e["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_str().expect("value").to_string())
                    .collect();
                (e["key"].as_str().expect("key").to_string(), op, values)
            })
            .collect();
        Sel { exact, reqs }
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.exact.iter().map(|(k, _)| k.as_str()).chain(self.reqs.iter().map(|(k, _, _)| k.as_str()))
    }

    fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.exact.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.reqs.iter().all(|(k, op, values)| {
                let got = get(k);
                match op {
                    LabelOp::In => got.is_some_and(|v| values.iter().any(|x| x == v)),
                    LabelOp::NotIn => got.is_none_or(|v| !values.iter().any(|x| x == v)),
                    LabelOp::Exists => got.is_some(),
                    LabelOp::DoesNotExist => got.is_none(),
                }
            })
    }

    fn matches_map(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches(|k| labels.get(k).map(String::as_str))
    }
}

fn direction_slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

// ---------------------------------------------------------------------------------------------

/// Kubernetes NetworkPolicy, from kubernetes/api `networking/v1/types.go` and
/// kubernetes/website `network-policies.md`.
mod kubernetes {
    use super::*;

    pub struct Kubernetes {
        policies: Vec<Policy>,
        problems: Vec<String>,
    }

    struct Policy {
        ns: String,
        pods: Sel,
        /// Ingress, egress: whether `policyTypes` names the direction.
        types: [bool; 2],
        rules: [Vec<Rule>; 2],
    }

    struct Rule {
        /// `None`: no `from`/`to`, every peer.
        peers: Option<Vec<PeerK>>,
        ports: PortList,
    }

    enum PeerK {
        Block(IpNet, Vec<IpNet>),
        /// `None` selectors are left out: `namespaceSelector` absent = the policy's namespace,
        /// `podSelector` absent = every pod.
        Pods {
            namespaces: Option<Sel>,
            pods: Option<Sel>,
        },
    }

    impl Kubernetes {
        pub fn new(objects: &[Value]) -> Kubernetes {
            let mut problems = Vec::new();
            let mut policies = Vec::new();
            for o in objects {
                assert_eq!(o["kind"], "NetworkPolicy", "only NetworkPolicies are emitted: {o}");
                if o["apiVersion"] != "networking.k8s.io/v1" {
                    problems.push(format!("{}: apiVersion {}", o["metadata"]["name"], o["apiVersion"]));
                }
                let spec = &o["spec"];
                // Without `policyTypes`, Egress depends on whether an egress section exists
                // (types.go); the backend must always write it.
                let types = spec["policyTypes"].as_array().expect("explicit policyTypes");
                let has = |t: &str| types.iter().any(|x| x == t);
                let rules = ["ingress", "egress"].map(|key| {
                    let peers_key = if key == "ingress" { "from" } else { "to" };
                    spec[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| Rule {
                            peers: r
                                .get(peers_key)
                                .and_then(Value::as_array)
                                .map(|l| l.iter().map(peer).collect()),
                            ports: ports(r.get("ports")),
                        })
                        .collect()
                });
                policies.push(Policy {
                    ns: o["metadata"]["namespace"].as_str().expect("namespace").to_string(),
                    pods: Sel::parse(&spec["podSelector"]),
                    types: [has("Ingress"), has("Egress")],
                    rules,
                });
            }
            Kubernetes { policies, problems }
        }
    }

    fn peer(v: &Value) -> PeerK {
        if let Some(block) = v.get("ipBlock") {
            // "If this field is set then neither of the other fields can be" (types.go).
            assert!(v.get("podSelector").is_none() && v.get("namespaceSelector").is_none());
            let net: IpNet = block["cidr"].as_str().expect("cidr").parse().expect("cidr");
            let except = block["except"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e.as_str().expect("except").parse().expect("except"))
                .collect();
            return PeerK::Block(net, except);
        }
        PeerK::Pods {
            namespaces: v.get("namespaceSelector").map(Sel::parse),
            pods: v.get("podSelector").map(Sel::parse),
        }
    }

    /// `protocol` defaults to TCP; no `port` is every port; `endPort` ends a range; a string
    /// port is a named container port (types.go `NetworkPolicyPort`). No `ports` is every port.
    fn ports(v: Option<&Value>) -> PortList {
        let list = v.and_then(Value::as_array)?;
        Some(
            list.iter()
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    let sel = match (&p["port"], p["endPort"].as_u64()) {
                        (Value::Null, _) => PortSel::Every,
                        (Value::Number(n), end) => {
                            let n = n.as_u64().expect("port") as u16;
                            PortSel::Range(n, end.map_or(n, |e| e as u16))
                        }
                        (Value::String(s), None) => PortSel::Named(s.clone()),
                        other => panic!("port {other:?}"),
                    };
                    PortItem { protocols: protocol_named(proto).into_iter().collect(), sel }
                })
                .collect(),
        )
    }

    fn peer_matches(peer: &PeerK, policy_ns: &str, node: &Node, settle: Settle) -> bool {
        match (peer, node) {
            (PeerK::Block(net, except), Node::Ip(ip)) => {
                net.contains(ip) && !except.iter().any(|e| e.contains(ip))
            }
            // Whether an ipBlock matches cluster addresses is left to the CNI.
            (PeerK::Block(..), _) => settle.open(false),
            (PeerK::Pods { namespaces, pods }, Node::Pod { ns, labels }) => {
                let ns_ok = match namespaces {
                    Some(sel) => sel.matches_map(&namespace_labels(ns)),
                    None => ns == policy_ns,
                };
                ns_ok && pods.as_ref().is_none_or(|sel| sel.matches_map(labels))
            }
            (PeerK::Pods { .. }, _) => false,
        }
    }

    impl Cni for Kubernetes {
        fn side<'a>(&'a self, subject: &Node, dir: Direction, other: &Node, settle: Settle) -> Verdict<'a> {
            let Node::Pod { ns, labels } = subject else { return everything() };
            let d = direction_slot(dir);
            let selecting: Vec<&Policy> = self
                .policies
                .iter()
                .filter(|p| p.ns == *ns && p.types[d] && p.pods.matches_map(labels))
                .collect();
            if selecting.is_empty() {
                return everything();
            }
            let allowed: Vec<&PortList> = selecting
                .iter()
                .flat_map(|p| p.rules[d].iter().map(move |r| (p, r)))
                .filter(|(p, r)| {
                    r.peers.as_ref().is_none_or(|l| l.iter().any(|x| peer_matches(x, &p.ns, other, settle)))
                })
                .map(|(_, r)| &r.ports)
                .collect();
            Box::new(move |probe| allowed.iter().any(|p| ports_cover(p, probe)))
        }

        fn problems(&self) -> &[String] {
            &self.problems
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Cilium CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, from cilium/cilium
/// `Documentation/security/policy/{intro,language,layer3,layer4,deny,kubernetes}.rst`,
/// `pkg/policy/api` and `pkg/k8s/apis/cilium.io/utils/utils.go` (`ParseToCiliumRule`,
/// `getEndpointSelector`).
mod cilium {
    use super::*;

    /// The identity label holding a pod's namespace (`kubernetes.rst`).
    pub const NAMESPACE: &str = "io.kubernetes.pod.namespace";
    /// The prefix of namespace labels on pod identities (`kubernetes.rst`, "Namespace labels").
    pub const NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";

    /// `--allow-localhost`. In Kubernetes mode the default `auto` becomes `always`: "Kubernetes
    /// demands that the localhost can always reach local pods" (daemon/cmd, `AllowLocalhostAuto`).
    /// With `policy` the local node is policed like any peer, which is what the source means.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum LocalHost {
        Always,
        Policy,
    }

    pub struct Cilium {
        rules: Vec<SpecRule>,
        problems: Vec<String>,
        local_host: LocalHost,
    }

    /// One entry of `spec` / `specs`.
    struct SpecRule {
        /// `None` for a CiliumClusterwideNetworkPolicy.
        namespace: Option<String>,
        subject: Sel,
        /// Per direction: whether selecting a pod turns on default deny.
        default_deny: [bool; 2],
        allow: [Vec<Rule>; 2],
        deny: [Vec<Rule>; 2],
    }

    struct Rule {
        /// `None`: no L3 field, every peer. `Some(vec![])`: a present but empty list, no peer
        /// ("Explicitly check for empty non-nil slices, it should not result in any identity
        /// being selected", `mergeEndpointSelectors`).
        peers: Option<Vec<PeerC>>,
        ports: PortList,
    }

    enum PeerC {
        Endpoints(Sel),
        Entity(String),
        Cidr(IpNet, Vec<IpNet>),
        /// `toFQDNs`: addresses a DNS name resolves to. DNS names cover no probed endpoint (the
        /// IR gives them none: `Endpoint::from_peer`).
        Fqdn,
    }

    /// A pod's identity labels: its labels with source `k8s`, its namespace, and its
    /// namespace's labels (`kubernetes.rst`).
    pub fn identity(ns: &str, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut id: BTreeMap<String, String> =
            labels.iter().map(|(k, v)| (format!("k8s:{k}"), v.clone())).collect();
        id.insert(format!("k8s:{NAMESPACE}"), ns.to_string());
        for (k, v) in namespace_labels(ns) {
            id.insert(format!("k8s:{NAMESPACE_LABELS}{k}"), v);
        }
        id
    }

    /// The value a selector key reads: `source:key` reads that source's label; `any:key` and a
    /// key without a source read the label from any source (`language.rst`, "Label sources").
    pub fn get<'a>(id: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
        let bare = match key.split_once(':') {
            Some(("any", k)) => k,
            Some(_) => return id.get(key).map(String::as_str),
            None => key,
        };
        id.iter().find(|(k, _)| k.split_once(':').is_some_and(|(_, x)| x == bare)).map(|(_, v)| v.as_str())
    }

    fn mentions_namespace(sel: &Sel) -> bool {
        sel.keys()
            .any(|k| k == format!("k8s:{NAMESPACE}") || k == format!("any:{NAMESPACE}") || k == NAMESPACE)
    }

    /// A peer selector as Cilium applies it (`getEndpointSelector`): one that does not name the
    /// namespace label is limited to the policy's namespace, or in a clusterwide policy to
    /// endpoints that have a namespace. (Since cilium#30650 a CNP selector over namespace labels
    /// is left alone too; before, it was pinned to the policy's namespace, cilium#18865. Only
    /// the rule both versions share is modeled, so namespace-label selectors must name the
    /// namespace key to reach other namespaces on every version.)
    fn scope(mut sel: Sel, namespace: Option<&str>) -> Sel {
        assert!(!sel.keys().any(|k| k.starts_with("reserved:")), "reserved selectors are not modeled");
        if !mentions_namespace(&sel) {
            match namespace {
                Some(ns) => sel.exact.push((format!("k8s:{NAMESPACE}"), ns.to_string())),
                None => sel.reqs.push((format!("k8s:{NAMESPACE}"), LabelOp::Exists, Vec::new())),
            }
        }
        sel
    }

    impl Cilium {
        pub fn new(objects: &[Value], local_host: LocalHost) -> Cilium {
            let mut c = Cilium { rules: Vec::new(), problems: Vec::new(), local_host };
            for o in objects {
                let name = o["metadata"]["name"].as_str().expect("name").to_string();
                if o["apiVersion"] != "cilium.io/v2" {
                    c.problems.push(format!("{name}: apiVersion {}", o["apiVersion"]));
                }
                let namespace = match o["kind"].as_str() {
                    Some("CiliumNetworkPolicy") => {
                        Some(o["metadata"]["namespace"].as_str().expect("a CNP has a namespace").to_string())
                    }
                    Some("CiliumClusterwideNetworkPolicy") => None,
                    other => panic!("{name}: kind {other:?}"),
                };
                let specs: Vec<&Value> =
                    o.get("spec").into_iter().chain(o["specs"].as_array().into_iter().flatten()).collect();
                assert!(!specs.is_empty(), "{name}: no spec");
                for spec in specs {
                    c.spec(&name, namespace.as_deref(), spec);
                }
            }
            c
        }

        fn spec(&mut self, name: &str, namespace: Option<&str>, spec: &Value) {
            for k in spec.as_object().expect("spec").keys() {
                assert!(
                    [
                        "endpointSelector",
                        "ingress",
                        "ingressDeny",
                        "egress",
                        "egressDeny",
                        "enableDefaultDeny",
                        "description",
                        "labels"
                    ]
                    .contains(&k.as_str()),
                    "{name}: spec field {k} is not modeled"
                );
            }
            let subject = Sel::parse(spec.get("endpointSelector").expect("endpointSelector"));
            let mut allow: [Vec<Rule>; 2] = Default::default();
            let mut deny: [Vec<Rule>; 2] = Default::default();
            let mut default_deny = [false; 2];
            for (d, (allow_key, deny_key)) in
                [("ingress", "ingressDeny"), ("egress", "egressDeny")].into_iter().enumerate()
            {
                let section = |key: &str| spec[key].as_array().cloned().unwrap_or_default();
                let (a, n) = (section(allow_key), section(deny_key));
                // "ingress = len(rule.Ingress) > 0 || len(rule.IngressDeny) > 0" unless
                // `enableDefaultDeny` says otherwise (`Rule.Sanitize`, `intro.rst`).
                default_deny[d] = match spec["enableDefaultDeny"][allow_key].as_bool() {
                    Some(true) if a.is_empty() && n.is_empty() => {
                        panic!(
                            "{name}: enableDefaultDeny without rules did not enforce in 1.16 (cilium#35558)"
                        )
                    }
                    Some(b) => b,
                    None => !a.is_empty() || !n.is_empty(),
                };
                allow[d] = a.iter().map(|r| self.rule(name, namespace, r, d == 0, false)).collect();
                deny[d] = n.iter().map(|r| self.rule(name, namespace, r, d == 0, true)).collect();
            }
            self.rules.push(SpecRule {
                namespace: namespace.map(str::to_string),
                subject,
                default_deny,
                allow,
                deny,
            });
        }

        fn rule(
            &mut self,
            name: &str,
            namespace: Option<&str>,
            r: &Value,
            ingress: bool,
            deny: bool,
        ) -> Rule {
            let l3: &[&str] = if ingress {
                &["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet"]
            } else {
                &["toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toFQDNs"]
            };
            for k in r.as_object().expect("rule").keys() {
                assert!(l3.contains(&k.as_str()) || k == "toPorts", "{name}: rule field {k} is not modeled");
            }
            let present: Vec<&&str> = l3.iter().filter(|k| r.get(**k).is_some()).collect();
            if present.len() > 1 {
                // "only one selector type being allowed in a single API rule"
                // (`mergeEndpointSelectors`; cilium#38795).
                self.problems.push(format!("{name}: one rule has {present:?}"));
            }
            let peers = (!present.is_empty()).then(|| {
                let mut out = Vec::new();
                for key in &present {
                    let list = r[**key].as_array().unwrap_or_else(|| panic!("{name}: {key} is a list"));
                    for p in list {
                        out.push(match **key {
                            "fromEndpoints" | "toEndpoints" => {
                                PeerC::Endpoints(scope(Sel::parse(p), namespace))
                            }
                            "fromEntities" | "toEntities" => {
                                PeerC::Entity(p.as_str().expect("entity").to_string())
                            }
                            "fromCIDR" | "toCIDR" => {
                                PeerC::Cidr(p.as_str().expect("cidr").parse().expect("cidr"), Vec::new())
                            }
                            "fromCIDRSet" | "toCIDRSet" => PeerC::Cidr(
                                p["cidr"].as_str().expect("cidr").parse().expect("cidr"),
                                p["except"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .map(|e| e.as_str().expect("except").parse().expect("except"))
                                    .collect(),
                            ),
                            _ => {
                                if deny {
                                    // "Deny policies do not support … ToFQDNs" (`deny.rst`).
                                    self.problems.push(format!("{name}: toFQDNs in a deny rule"));
                                }
                                PeerC::Fqdn
                            }
                        });
                    }
                }
                out
            });
            for p in peers.iter().flatten().filter(|_| deny) {
                if let PeerC::Endpoints(sel) = p {
                    let other_ns_labels = sel.keys().any(|k| {
                        k.contains(NAMESPACE_LABELS)
                            && !k.ends_with(&format!("{NAMESPACE_LABELS}kubernetes.io/metadata.name"))
                    });
                    assert!(!other_ns_labels, "{name}: deny rules over namespace labels are not modeled");
                }
            }
            Rule { peers, ports: self.port_rules(name, r.get("toPorts"), deny) }
        }

        /// `toPorts[].ports[]`: `port` a number, a name, or "0" (every port); `endPort` ends a
        /// range; `protocol` TCP, UDP, SCTP or ANY, and omitted means ANY (`l4.go`). No `toPorts`
        /// is every port of every protocol.
        fn port_rules(&mut self, name: &str, v: Option<&Value>, deny: bool) -> PortList {
            let list = v?.as_array().expect("toPorts is a list");
            let mut out = Vec::new();
            for pr in list {
                for k in pr.as_object().expect("port rule").keys() {
                    assert!(k == "ports" || k == "rules", "{name}: toPorts field {k} is not modeled");
                }
                if let Some(rules) = pr.get("rules") {
                    if deny {
                        self.problems.push(format!("{name}: L7 rules in a deny rule (deny.rst)"));
                    }
                    // A DNS rule matching every name lets every lookup through the proxy: at L4
                    // it allows its ports (`layer7.rst`, "DNS Proxy").
                    let all_names = rules.as_object().is_some_and(|o| o.keys().all(|k| k == "dns"))
                        && rules["dns"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|d| d["matchPattern"] == "*"));
                    assert!(all_names, "{name}: L7 rules {rules} are not modeled");
                }
                let ports = pr["ports"].as_array().expect("ports");
                assert!(!ports.is_empty(), "{name}: empty ports list is not modeled");
                for p in ports {
                    let protocols = match p["protocol"].as_str() {
                        None | Some("ANY") => Protocol::ALL.to_vec(),
                        Some(s) => vec![protocol_named(s).unwrap_or_else(|| panic!("{name}: protocol {s}"))],
                    };
                    let port = p["port"].as_str().unwrap_or("0");
                    let sel = match port.parse::<u16>() {
                        Ok(0) => PortSel::Every,
                        Ok(n) => PortSel::Range(n, p["endPort"].as_u64().map_or(n, |e| e as u16)),
                        Err(_) => PortSel::Named(port.to_string()),
                    };
                    out.push(PortItem { protocols, sel });
                }
            }
            Some(out)
        }
    }

    /// Entities (`layer3.rst`): `all` is everything; `world` is outside the cluster; `cluster`
    /// is every endpoint of the cluster including nodes; `host` the local node; `remote-node`
    /// the other nodes; `kube-apiserver` the API server. Whether a probed address is outside
    /// the cluster or another node's is open.
    fn entity_matches(e: &str, node: &Node, settle: Settle, deny: bool) -> bool {
        match (e, node) {
            ("all", _) => true,
            ("world" | "remote-node", Node::Ip(_)) => settle.open(deny),
            ("world-ipv4", Node::Ip(ip)) => ip.is_ipv4() && settle.open(deny),
            ("world-ipv6", Node::Ip(ip)) => ip.is_ipv6() && settle.open(deny),
            ("cluster", Node::Pod { .. } | Node::Host) => true,
            ("cluster", Node::Ip(_)) => settle.open(deny),
            ("host", Node::Host) => true,
            ("kube-apiserver", Node::ApiServer) => true,
            (
                "world" | "world-ipv4" | "world-ipv6" | "cluster" | "host" | "remote-node" | "kube-apiserver"
                | "health" | "init" | "ingress" | "unmanaged",
                _,
            ) => false,
            (other, _) => panic!("unknown entity {other}"),
        }
    }

    impl Rule {
        fn peers_match(
            &self,
            other: &Node,
            other_id: Option<&BTreeMap<String, String>>,
            settle: Settle,
            deny: bool,
        ) -> bool {
            self.peers.as_ref().is_none_or(|l| {
                l.iter().any(|p| match p {
                    PeerC::Endpoints(sel) => other_id.is_some_and(|id| sel.matches(|k| get(id, k))),
                    PeerC::Entity(e) => entity_matches(e, other, settle, deny),
                    PeerC::Cidr(net, except) => match other {
                        Node::Ip(ip) => net.contains(ip) && !except.iter().any(|e| e.contains(ip)),
                        // "CIDR rules do not apply to traffic where both sides … are managed by
                        // Cilium or use an IP belonging to a node" (`layer3.rst`): open here.
                        _ => settle.open(deny),
                    },
                    PeerC::Fqdn => false,
                })
            })
        }
    }

    impl Cni for Cilium {
        fn side<'a>(&'a self, subject: &Node, dir: Direction, other: &Node, settle: Settle) -> Verdict<'a> {
            let Node::Pod { ns, labels } = subject else { return everything() };
            if dir == Direction::Ingress
                && matches!(other, Node::Host)
                && self.local_host == LocalHost::Always
            {
                return everything();
            }
            let d = direction_slot(dir);
            let id = identity(ns, labels);
            let other_id = match other {
                Node::Pod { ns, labels } => Some(identity(ns, labels)),
                _ => None,
            };
            let (mut isolated, mut allow, mut deny) = (false, Vec::new(), Vec::new());
            for r in &self.rules {
                // A CNP's endpointSelector only selects pods of its namespace
                // (`ParseToCiliumRule`); a clusterwide one selects as written.
                if !(r.namespace.as_ref().is_none_or(|n| n == ns) && r.subject.matches(|k| get(&id, k))) {
                    continue;
                }
                isolated |= r.default_deny[d];
                allow.extend(
                    r.allow[d]
                        .iter()
                        .filter(|x| x.peers_match(other, other_id.as_ref(), settle, false))
                        .map(|x| &x.ports),
                );
                deny.extend(
                    r.deny[d]
                        .iter()
                        .filter(|x| x.peers_match(other, other_id.as_ref(), settle, true))
                        .map(|x| &x.ports),
                );
            }
            // Allowed by some rule of an isolated direction (or not isolated), and not denied:
            // deny rules "take precedence over allow rules" (`deny.rst`).
            Box::new(move |probe| {
                (!isolated || allow.iter().any(|p| ports_cover(p, probe)))
                    && !deny.iter().any(|p| ports_cover(p, probe))
            })
        }

        fn problems(&self) -> &[String] {
            &self.problems
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Calico's selector language, after projectcalico/calico
/// `libcalico-go/lib/selector/tokenizer/tokenizer.go` (tokens), `parser/parser.go` (grammar:
/// `||` over `&&` over possibly negated operations) and `parser/ast.go` (evaluation).
mod calico_selector {
    use std::collections::BTreeMap;

    #[derive(Clone, Debug, PartialEq)]
    pub enum Tok {
        Label(String),
        Str(String),
        LBrace,
        RBrace,
        Comma,
        Eq,
        Ne,
        In,
        Not,
        NotIn,
        Contains,
        StartsWith,
        EndsWith,
        All,
        Has(String),
        LParen,
        RParen,
        And,
        Or,
        Global,
        Eof,
    }

    /// `findIdentifier`: the leading run of `[a-zA-Z0-9_./-]`, or "" when the input holds
    /// nothing else up to its end (as the Go function, which returns "" when the loop ends).
    fn identifier(s: &str) -> &str {
        match s.find(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c))) {
            Some(i) => &s[..i],
            None => "",
        }
    }

    fn trim(s: &str) -> &str {
        s.trim_start_matches([' ', '\t'])
    }

    pub fn tokenize(mut input: &str) -> Result<Vec<Tok>, String> {
        let mut toks = Vec::new();
        loop {
            let start = input.len();
            input = trim(input);
            if input.is_empty() {
                toks.push(Tok::Eof);
                return Ok(toks);
            }
            let after_label = matches!(toks.last(), Some(Tok::Label(_)));
            let first = input.as_bytes()[0];
            let mut push = |t: Tok, n: usize, input: &mut &str| {
                toks.push(t);
                *input = &input[n..];
            };
            match first {
                b'(' => push(Tok::LParen, 1, &mut input),
                b')' => push(Tok::RParen, 1, &mut input),
                b'{' => push(Tok::LBrace, 1, &mut input),
                b'}' => push(Tok::RBrace, 1, &mut input),
                b',' => push(Tok::Comma, 1, &mut input),
                // Strings: single or double quotes, no escapes.
                b'"' | b'\'' => {
                    let rest = &input[1..];
                    let end = rest.find(first as char).ok_or("unterminated string")?;
                    toks.push(Tok::Str(rest[..end].to_string()));
                    input = &rest[end + 1..];
                }
                b'=' if input.starts_with("==") => push(Tok::Eq, 2, &mut input),
                b'=' => return Err("expected ==".into()),
                b'!' if input.starts_with("!=") => push(Tok::Ne, 2, &mut input),
                b'!' => push(Tok::Not, 1, &mut input),
                b'&' if input.starts_with("&&") => push(Tok::And, 2, &mut input),
                b'&' => return Err("expected &&".into()),
                b'|' if input.starts_with("||") => push(Tok::Or, 2, &mut input),
                b'|' => return Err("expected ||".into()),
                // After a label: an operator word, never another label.
                _ if after_label => {
                    let two_words = |input: &str, first: &str| -> Option<usize> {
                        let rest = trim(&input[first.len()..]);
                        rest.starts_with(if first == "not" { "in" } else { "with" })
                            .then(|| input.len() - rest.len() + if first == "not" { 2 } else { 4 })
                    };
                    if input.starts_with("contains") {
                        push(Tok::Contains, "contains".len(), &mut input)
                    } else if input.starts_with("starts") {
                        let n = two_words(input, "starts").ok_or("expected an operator after a label")?;
                        push(Tok::StartsWith, n, &mut input)
                    } else if input.starts_with("ends") {
                        let n = two_words(input, "ends").ok_or("expected an operator after a label")?;
                        push(Tok::EndsWith, n, &mut input)
                    } else if input.starts_with("not") {
                        let n = two_words(input, "not").ok_or("expected an operator after a label")?;
                        push(Tok::NotIn, n, &mut input)
                    } else if input.starts_with("in") {
                        push(Tok::In, 2, &mut input)
                    } else {
                        return Err("unexpected characters after a label, expecting an operator".into());
                    }
                }
                _ if input.starts_with("has(") => {
                    let rest = trim(&input[4..]);
                    let ident = identifier(rest);
                    if ident.is_empty() {
                        return Err("no label name in has( expression".into());
                    }
                    let rest = trim(&rest[ident.len()..]);
                    if !rest.starts_with(')') {
                        return Err("no closing ')' after has(".into());
                    }
                    toks.push(Tok::Has(ident.to_string()));
                    input = &rest[1..];
                }
                _ if input.starts_with("all(") || input.starts_with("global(") => {
                    let (tok, n) = if input.starts_with("all(") { (Tok::All, 4) } else { (Tok::Global, 7) };
                    let rest = trim(&input[n..]);
                    if !rest.starts_with(')') {
                        return Err("no closing ')'".into());
                    }
                    toks.push(tok);
                    input = &rest[1..];
                }
                _ => {
                    let ident = identifier(input);
                    if ident.is_empty() {
                        return Err("unexpected characters".into());
                    }
                    toks.push(Tok::Label(ident.to_string()));
                    input = &input[ident.len()..];
                }
            }
            if input.len() >= start {
                return Err("infinite loop detected in tokenizer".into());
            }
        }
    }

    #[derive(Clone, Debug, PartialEq)]
    pub enum Expr {
        All,
        Global,
        Has(String),
        Eq(String, String),
        Ne(String, String),
        Contains(String, String),
        StartsWith(String, String),
        EndsWith(String, String),
        In(String, Vec<String>),
        NotIn(String, Vec<String>),
        Not(Box<Expr>),
        And(Vec<Expr>),
        Or(Vec<Expr>),
    }

    /// An empty selector is `all()`; anything after a complete expression is an error.
    pub fn parse(selector: &str) -> Result<Expr, String> {
        let toks = tokenize(selector)?;
        if toks[0] == Tok::Eof {
            return Ok(Expr::All);
        }
        let (e, rest) = or(&toks)?;
        if rest.len() != 1 {
            return Err(format!("unexpected content at end of selector {rest:?}"));
        }
        Ok(e)
    }

    type Parsed<'t> = Result<(Expr, &'t [Tok]), String>;

    fn or(t: &[Tok]) -> Parsed<'_> {
        let (first, mut rest) = and(t)?;
        let mut all = vec![first];
        while rest[0] == Tok::Or {
            let (e, r) = and(&rest[1..])?;
            all.push(e);
            rest = r;
        }
        Ok((if all.len() == 1 { all.remove(0) } else { Expr::Or(all) }, rest))
    }

    fn and(t: &[Tok]) -> Parsed<'_> {
        let (first, mut rest) = operation(t)?;
        let mut all = vec![first];
        while rest[0] == Tok::And {
            let (e, r) = operation(&rest[1..])?;
            all.push(e);
            rest = r;
        }
        Ok((if all.len() == 1 { all.remove(0) } else { Expr::And(all) }, rest))
    }

    /// One possibly negated operation; leading `!`s collapse to one negation or none. The token
    /// list always ends with `Eof`, which nothing consumes, so indexing the next token is safe.
    fn operation(mut t: &[Tok]) -> Parsed<'_> {
        let mut negated = false;
        while t[0] == Tok::Not {
            negated = !negated;
            t = &t[1..];
        }
        let (e, rest) = match &t[0] {
            Tok::Has(k) => (Expr::Has(k.clone()), &t[1..]),
            Tok::All => (Expr::All, &t[1..]),
            Tok::Global => (Expr::Global, &t[1..]),
            Tok::Label(k) => {
                if t.len() < 3 {
                    return Err("unexpected end of string looking for op".into());
                }
                let k = k.clone();
                match (&t[1], &t[2]) {
                    (Tok::Eq, Tok::Str(v)) => (Expr::Eq(k, v.clone()), &t[3..]),
                    (Tok::Ne, Tok::Str(v)) => (Expr::Ne(k, v.clone()), &t[3..]),
                    (Tok::Contains, Tok::Str(v)) => (Expr::Contains(k, v.clone()), &t[3..]),
                    (Tok::StartsWith, Tok::Str(v)) => (Expr::StartsWith(k, v.clone()), &t[3..]),
                    (Tok::EndsWith, Tok::Str(v)) => (Expr::EndsWith(k, v.clone()), &t[3..]),
                    (Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith, _) => {
                        return Err("expected string".into())
                    }
                    (op @ (Tok::In | Tok::NotIn), Tok::LBrace) => {
                        let mut rest = &t[3..];
                        let mut values = Vec::new();
                        while let Tok::Str(v) = &rest[0] {
                            values.push(v.clone());
                            rest = &rest[1..];
                            if rest[0] == Tok::Comma {
                                rest = &rest[1..];
                            } else {
                                break;
                            }
                        }
                        if rest[0] != Tok::RBrace {
                            return Err("expected }".into());
                        }
                        let e = if *op == Tok::In { Expr::In(k, values) } else { Expr::NotIn(k, values) };
                        (e, &rest[1..])
                    }
                    (Tok::In | Tok::NotIn, _) => return Err("expected set literal".into()),
                    (other, _) => return Err(format!("expected == or != not: {other:?}")),
                }
            }
            Tok::LParen => {
                let (e, rest) = or(&t[1..])?;
                if rest[0] != Tok::RParen {
                    return Err("expected )".into());
                }
                (e, &rest[1..])
            }
            other => return Err(format!("unexpected token: {other:?}")),
        };
        Ok((if negated { Expr::Not(Box::new(e)) } else { e }, rest))
    }

    impl Expr {
        /// `ast.go`: `==`, `in`, `contains`, `starts with`, `ends with` need the label; `!=` and
        /// `not in` also hold without it; `all()` and `global()` evaluate to true.
        pub fn eval(&self, labels: &BTreeMap<String, String>) -> bool {
            let get = |k: &String| labels.get(k);
            match self {
                Expr::All | Expr::Global => true,
                Expr::Has(k) => labels.contains_key(k),
                Expr::Eq(k, v) => get(k) == Some(v),
                Expr::Ne(k, v) => get(k) != Some(v),
                Expr::Contains(k, v) => get(k).is_some_and(|x| x.contains(v.as_str())),
                Expr::StartsWith(k, v) => get(k).is_some_and(|x| x.starts_with(v.as_str())),
                Expr::EndsWith(k, v) => get(k).is_some_and(|x| x.ends_with(v.as_str())),
                Expr::In(k, s) => get(k).is_some_and(|x| s.contains(x)),
                Expr::NotIn(k, s) => get(k).is_none_or(|x| !s.contains(x)),
                Expr::Not(e) => !e.eval(labels),
                Expr::And(all) => all.iter().all(|e| e.eval(labels)),
                Expr::Or(all) => all.iter().any(|e| e.eval(labels)),
            }
        }

        /// Every label name the expression reads, and whether it uses `global()`.
        pub fn keys(&self, out: &mut Vec<String>) -> bool {
            match self {
                Expr::All => false,
                Expr::Global => true,
                Expr::Has(k)
                | Expr::Eq(k, _)
                | Expr::Ne(k, _)
                | Expr::Contains(k, _)
                | Expr::StartsWith(k, _)
                | Expr::EndsWith(k, _)
                | Expr::In(k, _)
                | Expr::NotIn(k, _) => {
                    out.push(k.clone());
                    false
                }
                Expr::Not(e) => e.keys(out),
                Expr::And(all) | Expr::Or(all) => all.iter().fold(false, |g, e| e.keys(out) | g),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Calico `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier, from
/// projectcalico/calico `api/pkg/apis/projectcalico/v3/{networkpolicy.go,policy_common.go,tier.go}`,
/// `api/pkg/lib/numorstring/{port,protocol}.go`, the selector package, and docs.tigera.io's tier
/// reference.
mod calico {
    use super::calico_selector::{self, Expr};
    use super::*;

    /// The automatic namespace-name label of Calico's namespace profiles (docs.tigera.io
    /// "Calico labels").
    pub const NAMESPACE_NAME: &str = "projectcalico.org/name";

    pub struct Calico {
        policies: Vec<Policy>,
        tiers: BTreeMap<String, Tier>,
        problems: Vec<String>,
    }

    /// The tier every policy without `spec.tier` is in: order 1,000,000 (`DefaultTierOrder`,
    /// `tier.go`) and the default action Deny.
    pub const DEFAULT_TIER: &str = "default";

    struct Tier {
        /// Lower first; a missing order is "infinite", ties by name (`tier.go`).
        order: f64,
        /// `defaultAction`: what happens to traffic of an endpoint a policy of the tier selects
        /// that no rule of the tier matched. "[Default: Deny]"; the other choice is Pass.
        pass: bool,
    }

    struct Policy {
        name: String,
        tier: String,
        /// `None` for a GlobalNetworkPolicy.
        namespace: Option<String>,
        /// Lower first; a missing order counts as infinite (`networkpolicy.go`).
        order: f64,
        selector: Expr,
        namespace_selector: Option<Expr>,
        types: [bool; 2],
        rules: [Vec<Rule>; 2],
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Action {
        Allow,
        Deny,
        Pass,
        Log,
    }

    struct Rule {
        action: Action,
        /// `None`: any protocol.
        protocol: Option<Option<Protocol>>,
        not_protocol: Option<Option<Protocol>>,
        source: EntityRule,
        destination: EntityRule,
    }

    #[derive(Default)]
    struct EntityRule {
        nets: Option<Vec<IpNet>>,
        not_nets: Vec<IpNet>,
        selector: Option<Expr>,
        not_selector: Option<Expr>,
        namespace_selector: Option<Expr>,
        ports: Option<Vec<PortSel>>,
        not_ports: Vec<PortSel>,
    }

    /// A workload endpoint's labels: the pod's, plus the namespace, orchestrator and service
    /// account labels Calico adds (`libcalico-go/lib/backend/k8s/conversion`, "append two
    /// additional labels for namespace and orchestrator matches"). Probed pods run as `default`.
    fn pod_labels(ns: &str, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = labels.clone();
        out.insert("projectcalico.org/namespace".to_string(), ns.to_string());
        out.insert("projectcalico.org/orchestrator".to_string(), "k8s".to_string());
        out.insert("projectcalico.org/serviceaccount".to_string(), "default".to_string());
        out
    }

    /// A namespace's labels as namespace selectors see them: its Kubernetes labels and its name.
    fn ns_labels(ns: &str) -> BTreeMap<String, String> {
        let mut out = namespace_labels(ns);
        out.insert(NAMESPACE_NAME.to_string(), ns.to_string());
        out
    }

    /// `numorstring.Protocol`: a name or a number.
    fn protocol_of(v: &Value) -> Option<Protocol> {
        match v {
            Value::String(s) => protocol_named(s),
            Value::Number(n) => match n.as_u64() {
                Some(6) => Some(Protocol::Tcp),
                Some(17) => Some(Protocol::Udp),
                Some(132) => Some(Protocol::Sctp),
                _ => None,
            },
            other => panic!("protocol {other}"),
        }
    }

    /// `numorstring.Port`: a number, a `"min:max"` range, or a named port.
    fn port(v: &Value) -> PortSel {
        match v {
            Value::Number(n) => {
                let n = n.as_u64().expect("port") as u16;
                PortSel::Range(n, n)
            }
            Value::String(s) => {
                if let Some((a, b)) = s.split_once(':') {
                    PortSel::Range(a.parse().expect("range"), b.parse().expect("range"))
                } else if let Ok(n) = s.parse::<u16>() {
                    PortSel::Range(n, n)
                } else {
                    PortSel::Named(s.clone())
                }
            }
            other => panic!("port {other}"),
        }
    }

    impl Calico {
        pub fn new(objects: &[Value]) -> Calico {
            let tiers =
                BTreeMap::from([(DEFAULT_TIER.to_string(), Tier { order: 1_000_000.0, pass: false })]);
            let mut c = Calico { policies: Vec::new(), tiers, problems: Vec::new() };
            for o in objects.iter().filter(|o| o["kind"] == "Tier") {
                c.tier(o);
            }
            for o in objects.iter().filter(|o| o["kind"] != "Tier") {
                c.policy(o);
            }
            for p in &c.policies {
                if !c.tiers.contains_key(&p.tier) {
                    c.problems.push(format!("{}: tier {} does not exist", p.name, p.tier));
                }
            }
            c
        }

        fn tier(&mut self, o: &Value) {
            let name = o["metadata"]["name"].as_str().expect("name").to_string();
            if o["apiVersion"] != "projectcalico.org/v3" {
                self.problems.push(format!("{name}: apiVersion {}", o["apiVersion"]));
            }
            let spec = &o["spec"];
            for k in spec.as_object().expect("spec").keys() {
                assert!(k == "order" || k == "defaultAction", "{name}: tier field {k} is not modeled");
            }
            let pass = match spec["defaultAction"].as_str() {
                None | Some("Deny") => false,
                Some("Pass") => true,
                Some(other) => {
                    self.problems.push(format!("{name}: defaultAction {other}"));
                    false
                }
            };
            let order = spec["order"].as_f64().unwrap_or(f64::INFINITY);
            self.tiers.insert(name, Tier { order, pass });
        }

        fn selector(&mut self, name: &str, what: &str, s: &Value) -> Expr {
            let text = s.as_str().unwrap_or_else(|| panic!("{name}: {what} is a string"));
            if text.len() > 1024 {
                self.problems.push(format!("{name}: {what} longer than 1024 characters"));
            }
            match calico_selector::parse(text) {
                Ok(e) => e,
                Err(e) => {
                    self.problems.push(format!("{name}: {what} `{text}` does not parse: {e}"));
                    Expr::Not(Box::new(Expr::All))
                }
            }
        }

        fn policy(&mut self, o: &Value) {
            let name = o["metadata"]["name"].as_str().expect("name").to_string();
            if o["apiVersion"] != "projectcalico.org/v3" {
                self.problems.push(format!("{name}: apiVersion {}", o["apiVersion"]));
            }
            let namespace = match o["kind"].as_str() {
                Some("NetworkPolicy") => {
                    Some(o["metadata"]["namespace"].as_str().expect("namespace").to_string())
                }
                Some("GlobalNetworkPolicy") => None,
                other => panic!("{name}: kind {other:?}"),
            };
            let spec = &o["spec"];
            for k in spec.as_object().expect("spec").keys() {
                assert!(
                    ["tier", "order", "selector", "namespaceSelector", "types", "ingress", "egress"]
                        .contains(&k.as_str()),
                    "{name}: spec field {k} is not modeled"
                );
            }
            let tier = spec["tier"].as_str().unwrap_or(DEFAULT_TIER).to_string();
            if namespace.is_some() && spec.get("namespaceSelector").is_some() {
                self.problems.push(format!("{name}: a NetworkPolicy has no spec.namespaceSelector"));
            }
            let selector = spec.get("selector").map_or(Expr::All, |s| self.selector(&name, "selector", s));
            let namespace_selector =
                spec.get("namespaceSelector").map(|s| self.selector(&name, "namespaceSelector", s));
            let rules = ["ingress", "egress"].map(|key| {
                spec[key].as_array().into_iter().flatten().map(|r| self.rule(&name, r)).collect::<Vec<_>>()
            });
            // Left out, `types` is [Ingress] with no egress rules, [Egress] with egress rules
            // and no ingress rules, both with both (`networkpolicy.go`).
            let types = match spec["types"].as_array() {
                Some(t) => [t.iter().any(|x| x == "Ingress"), t.iter().any(|x| x == "Egress")],
                None => [rules[1].is_empty() || !rules[0].is_empty(), !rules[1].is_empty()],
            };
            let order = spec["order"].as_f64().unwrap_or(f64::INFINITY);
            self.policies.push(Policy {
                name,
                tier,
                namespace,
                order,
                selector,
                namespace_selector,
                types,
                rules,
            });
        }

        fn rule(&mut self, name: &str, r: &Value) -> Rule {
            for k in r.as_object().expect("rule").keys() {
                assert!(
                    ["action", "protocol", "notProtocol", "source", "destination", "metadata"]
                        .contains(&k.as_str()),
                    "{name}: rule field {k} is not modeled"
                );
            }
            let action = match r["action"].as_str() {
                Some("Allow") => Action::Allow,
                Some("Deny") => Action::Deny,
                Some("Pass") => Action::Pass,
                Some("Log") => Action::Log,
                other => panic!("{name}: action {other:?}"),
            };
            let source = self.entity(name, r.get("source"), action);
            let destination = self.entity(name, r.get("destination"), action);
            assert!(
                source.ports.is_none() && source.not_ports.is_empty(),
                "{name}: source ports are not modeled"
            );
            let protocol = r.get("protocol").map(protocol_of);
            if (destination.ports.is_some() || !destination.not_ports.is_empty())
                && !matches!(protocol, Some(Some(_)))
            {
                // "Required if any of the EntityRules contain Ports" (`policy_common.go`).
                self.problems.push(format!("{name}: ports without a TCP, UDP or SCTP protocol"));
            }
            Rule {
                action,
                protocol,
                not_protocol: r.get("notProtocol").map(protocol_of),
                source,
                destination,
            }
        }

        fn entity(&mut self, name: &str, v: Option<&Value>, action: Action) -> EntityRule {
            let Some(v) = v else { return EntityRule::default() };
            for k in v.as_object().expect("entity rule").keys() {
                assert!(
                    ["nets", "notNets", "selector", "notSelector", "namespaceSelector", "ports", "notPorts"]
                        .contains(&k.as_str()),
                    "{name}: entity rule field {k} is not modeled"
                );
            }
            let nets = |key: &str| -> Option<Vec<IpNet>> {
                v.get(key).map(|l| {
                    l.as_array()
                        .expect("nets")
                        .iter()
                        .map(|n| n.as_str().expect("net").parse().expect("net"))
                        .collect()
                })
            };
            let namespace_selector =
                v.get("namespaceSelector").map(|s| self.selector(name, "namespaceSelector", s));
            if let Some(ns) = &namespace_selector {
                let mut keys = Vec::new();
                let global = ns.keys(&mut keys);
                assert!(!global, "{name}: global() namespace selectors are not modeled");
                if action == Action::Deny {
                    assert!(
                        keys.iter().all(|k| k == NAMESPACE_NAME || k == "kubernetes.io/metadata.name"),
                        "{name}: deny rules over namespace labels are not modeled"
                    );
                }
            }
            EntityRule {
                nets: nets("nets"),
                not_nets: nets("notNets").unwrap_or_default(),
                selector: v.get("selector").map(|s| self.selector(name, "selector", s)),
                not_selector: v.get("notSelector").map(|s| self.selector(name, "notSelector", s)),
                namespace_selector,
                ports: v.get("ports").map(|l| l.as_array().expect("ports").iter().map(port).collect()),
                not_ports: v["notPorts"].as_array().into_iter().flatten().map(port).collect(),
            }
        }
    }

    impl Policy {
        /// A NetworkPolicy's selector picks endpoints of its namespace; a GlobalNetworkPolicy's
        /// picks endpoints of every namespace its `namespaceSelector` picks (`networkpolicy.go`).
        fn selects(&self, ns: &str, labels: &BTreeMap<String, String>) -> bool {
            self.namespace.as_ref().is_none_or(|n| n == ns)
                && self.selector.eval(&pod_labels(ns, labels))
                && self.namespace_selector.as_ref().is_none_or(|s| s.eval(&ns_labels(ns)))
        }
    }

    impl EntityRule {
        /// Whether the endpoint fits every field but the ports (`policy_common.go`, EntityRule).
        fn matches(&self, policy: &Policy, node: &Node, settle: Settle, deny: bool) -> bool {
            // nets / notNets: the endpoint's address. For a pod, node or the API server, open.
            if self.nets.is_some() || !self.not_nets.is_empty() {
                let fits = match node {
                    Node::Ip(ip) => {
                        self.nets.as_ref().is_none_or(|n| n.iter().any(|n| n.contains(ip)))
                            && !self.not_nets.iter().any(|n| n.contains(ip))
                    }
                    _ => settle.open(deny),
                };
                if !fits {
                    return false;
                }
            }
            let pod = match node {
                Node::Pod { ns, labels } => Some((ns.as_str(), pod_labels(ns, labels))),
                _ => None,
            };
            // "When both NamespaceSelector and another selector are defined on the same rule,
            // then only workload endpoints that are matched by both selectors will be selected.
            // For NetworkPolicy, an empty NamespaceSelector implies that the Selector is limited
            // to selecting only workload endpoints in the same namespace as the NetworkPolicy.
            // For GlobalNetworkPolicy, an empty NamespaceSelector implies the Selector applies to
            // workload endpoints across all namespaces."
            let in_scope = |ns: &str| match &self.namespace_selector {
                Some(s) => s.eval(&ns_labels(ns)),
                None => policy.namespace.as_ref().is_none_or(|n| n == ns),
            };
            if self.selector.is_some() || self.namespace_selector.is_some() {
                let Some((ns, labels)) = &pod else { return false };
                if !in_scope(ns) || !self.selector.as_ref().is_none_or(|s| s.eval(labels)) {
                    return false;
                }
            }
            // notSelector: "packets that are not from Calico-controlled endpoints that do have
            // the label".
            if let (Some(s), Some((ns, labels))) = (&self.not_selector, &pod) {
                if in_scope(ns) && s.eval(labels) {
                    return false;
                }
            }
            true
        }
    }

    impl Rule {
        fn matches_l4(&self, probe: &Probe) -> bool {
            self.protocol.is_none_or(|p| p == Some(probe.proto))
                && self.not_protocol.is_none_or(|p| p != Some(probe.proto))
                && self.destination.ports.as_ref().is_none_or(|l| l.iter().any(|p| p.covers(&probe.port)))
                && !self.destination.not_ports.iter().any(|p| p.covers(&probe.port))
        }
    }

    impl Cni for Calico {
        fn side<'a>(&'a self, subject: &Node, dir: Direction, other: &Node, settle: Settle) -> Verdict<'a> {
            let Node::Pod { ns, labels } = subject else { return everything() };
            let d = direction_slot(dir);
            // Policies that select the endpoint and apply to the direction, by tier.
            let mut by_tier: BTreeMap<&str, Vec<&Policy>> = BTreeMap::new();
            for p in self.policies.iter().filter(|p| p.types[d] && p.selects(ns, labels)) {
                by_tier.entry(p.tier.as_str()).or_default().push(p);
            }
            // Tiers in order, ties by name; a tier no policy applies in is skipped.
            let mut tiers: Vec<(&str, Vec<&Policy>)> = by_tier.into_iter().collect();
            let order = |t: &str| self.tiers.get(t).map_or(f64::INFINITY, |t| t.order);
            tiers.sort_by(|a, b| order(a.0).total_cmp(&order(b.0)).then_with(|| a.0.cmp(b.0)));
            let (source, destination) =
                if dir == Direction::Ingress { (other, subject) } else { (subject, other) };
            // Per tier: its policies' rules whose endpoints fit, policies lowest order first and
            // ties by name (`networkpolicy.go`), rules in order; and whether it passes at the end.
            let steps: Vec<(Vec<&Rule>, bool)> = tiers
                .into_iter()
                .map(|(tier, mut policies)| {
                    policies.sort_by(|a, b| a.order.total_cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
                    let rules = policies
                        .iter()
                        .flat_map(|p| p.rules[d].iter().map(move |r| (*p, r)))
                        .filter(|(p, r)| {
                            let deny = r.action == Action::Deny;
                            r.source.matches(p, source, settle, deny)
                                && r.destination.matches(p, destination, settle, deny)
                        })
                        .map(|(_, r)| r)
                        .collect();
                    (rules, self.tiers.get(tier).is_some_and(|t| t.pass))
                })
                .collect();
            // Within a tier the first matching rule decides: Allow and Deny end the evaluation,
            // Pass goes on to the next tier that applies, Log goes on to the next rule. A tier
            // whose rules all miss ends in its default action. Passed beyond the last tier (or
            // with no tier applying), the endpoint's profile decides, and a Kubernetes
            // namespace's profile allows everything (docs.tigera.io "Tier": "If a
            // NetworkPolicy or GlobalNetworkPolicy in the Tier Passes the packet, the next Tier
            // containing a Policy that applies to the endpoint processes the packet"; "If the
            // last Tier applying to the endpoint Passes the packet, that endpoint's Profiles are
            // evaluated").
            Box::new(move |probe| {
                'tiers: for (rules, pass) in &steps {
                    for r in rules {
                        if r.matches_l4(probe) {
                            match r.action {
                                Action::Allow => return true,
                                Action::Deny => return false,
                                Action::Pass => continue 'tiers,
                                Action::Log => {}
                            }
                        }
                    }
                    if !pass {
                        return false;
                    }
                }
                true
            })
        }

        fn problems(&self) -> &[String] {
            &self.problems
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The comparisons.

fn options(target: Target, sets: &[(String, String)]) -> Options {
    Options { overrides: sets.to_vec(), targets: vec![target], ..Options::default() }
}

fn bodies(c: &Compilation, target: Target) -> Vec<Value> {
    assert_eq!(c.outputs.len(), 1);
    assert_eq!(c.outputs[0].0, target);
    let out: Vec<Value> = c.outputs[0].1.iter().map(|o| o.body()).collect();
    assert!(out.iter().all(|v| !v.is_null()), "emitted YAML parses");
    out
}

fn report(diffs: &[String]) -> String {
    let mut s = diffs.iter().take(40).cloned().collect::<Vec<_>>().join("\n");
    if diffs.len() > 40 {
        s.push_str(&format!("\n… and {} more", diffs.len() - 40));
    }
    s
}

/// Compares every example that compiles for `target`; asserts that most did.
fn every_example_means_the_same_in(target: Target) {
    let all = examples();
    let mut compared = Vec::new();
    let mut diffs = Vec::new();
    for path in &all {
        let c = compile(std::slice::from_ref(path), &DiskLoader, &options(target, &[]));
        if c.has_errors() {
            continue; // examples a target rejects are covered by examples.rs
        }
        let program = program_of(path, &[]);
        let outcome = compare(&*reader(target, &bodies(&c, target)), target, &program);
        // Not vacuous: something was compared, and the CNI both allowed and refused.
        assert!(
            outcome.checked > 0 && outcome.allowed > 0 && outcome.allowed < outcome.checked,
            "{path}: {} allowed of {} compared",
            outcome.allowed,
            outcome.checked
        );
        diffs.extend(outcome.differences.into_iter().map(|d| format!("{path}: {d}")));
        compared.push(path.clone());
    }
    assert!(
        compared.len() * 2 > all.len(),
        "only {compared:?} of {} examples compile for {}",
        all.len(),
        target.name()
    );
    assert!(diffs.is_empty(), "{} differences for {}:\n{}", diffs.len(), target.name(), report(&diffs));
}

#[test]
fn every_example_means_the_same_in_kubernetes_as_in_the_source() {
    every_example_means_the_same_in(Target::Kubernetes);
}

#[test]
fn every_example_means_the_same_in_cilium_as_in_the_source() {
    every_example_means_the_same_in(Target::Cilium);
}

#[test]
fn every_example_means_the_same_in_calico_as_in_the_source() {
    every_example_means_the_same_in(Target::Calico);
}

#[test]
fn parameters_and_conditions_keep_the_same_meaning() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("examples/event-streams.netpol", &[("master-host", "192.168.7.0/24")]),
        ("examples/kyma-telemetry.netpol", &[("istio", "true")]),
        (
            "examples/params.netpol",
            &[("env", "prod"), ("mesh", "true"), ("office", "203.0.113.0/24"), ("api-port", "9443")],
        ),
    ];
    for (path, sets) in cases {
        let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let program = program_of(path, &sets);
        for target in Target::ALL {
            let c = compile(&[path.to_string()], &DiskLoader, &options(target, &sets));
            assert!(!c.has_errors(), "{path} for {}: {}", target.name(), render(&c));
            let diffs = differences(target, &bodies(&c, target), &program);
            assert!(diffs.is_empty(), "{path} {sets:?} for {}:\n{}", target.name(), report(&diffs));
        }
    }
}

/// Constructs the examples do not use, each program on every target that accepts it.
#[test]
fn more_constructs_keep_the_same_meaning() {
    let programs = [
        // A cluster-wide default deny: CiliumClusterwideNetworkPolicy / GlobalNetworkPolicy.
        "default deny all\n\
         namespace shop {\n\
           workload web { app: web }\n\
           workload api { app: api }\n\
           web connects to kube-dns\n\
           web -> api on tcp 8080\n\
           web accepts tcp 80 from namespace edge\n\
         }\n",
        // Set-based selectors; namespace sets by labels and by name.
        "namespace apps\n\
         workload api { app: api, tier in (backend, core), track notin (canary), team exists, !legacy }\n\
         workload web { app in (web, \"web-v2\") }\n\
         namespaces teams { team in (a, b), env: prod }\n\
         namespaces by-name { kubernetes.io/metadata.name in (apps, tools) }\n\
         api accepts tcp 8080 from web\n\
         api accepts tcp 9090 from teams\n\
         api accepts udp 53 from by-name\n\
         web connects to api on tcp 8080 and udp 8080\n\
         web connects to cluster on sctp\n",
        // Deny rules over namespaces, CIDRs with exceptions and port ranges, on open and
        // isolated directions.
        "namespace ops\n\
         workload tool { app: tool }\n\
         workload db { app: db }\n\
         tool never connects to namespace prod on tcp 5432\n\
         tool never connects to 10.0.0.0/8 except 10.1.0.0/16 on udp 1000-2000\n\
         db refuses sctp from tool\n\
         db accepts from namespace ops\n\
         tool connects to db on tcp 5432 and sctp 1-65535\n",
    ];
    let mut compared: BTreeMap<&str, usize> = BTreeMap::new();
    for src in programs {
        let program = program_of_text("test.netpol", src.to_string(), &[]);
        let mut any = false;
        for target in Target::ALL {
            let c = compile_str(src, &[target], &[]);
            if c.has_errors() {
                continue;
            }
            any = true;
            *compared.entry(target.name()).or_default() += 1;
            let diffs = differences(target, &bodies(&c, target), &program);
            assert!(diffs.is_empty(), "{src}for {}:\n{}", target.name(), report(&diffs));
        }
        assert!(any, "{src}compiles for no target: {}", render(&compile_str(src, &Target::ALL, &[])));
    }
    assert!(compared.get("cilium").is_some_and(|n| *n == programs.len()), "{compared:?}");
    assert!(compared.get("calico").is_some_and(|n| *n == programs.len()), "{compared:?}");
}

/// A namespace set whose selector holds for a namespace with only its name label (`notin`, `!`)
/// picks `kube-system`, so every target admits the cluster DNS pods through it. `Reach::matches`
/// has no case for a namespace set against `Endpoint::Entity(KubeDns)` and answers No, so the IR
/// says kube-dns can never reach `api` there (and for other sets, No where it should say Maybe).
/// This fails until `analysis::reach` handles that case; the emitted policies are right.
#[test]
fn namespace_sets_that_pick_kube_system_cover_kube_dns() {
    let src = "namespace apps\n\
        workload api { app: api }\n\
        namespaces non-prod { env notin (prod) }\n\
        namespaces no-owner { !owner }\n\
        api accepts tcp 9090 from non-prod\n\
        api accepts udp 53 from no-owner\n";
    let program = program_of_text("test.netpol", src.to_string(), &[]);
    let mut diffs = Vec::new();
    for target in Target::ALL {
        let c = compile_str(src, &[target], &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        diffs.extend(differences(target, &bodies(&c, target), &program));
    }
    assert!(diffs.is_empty(), "{}", report(&diffs));
}

/// The IR of a file, through the public pipeline stages.
fn program_of(path: &str, sets: &[(String, String)]) -> Program {
    let text = std::fs::read_to_string(root().join(path)).expect("read");
    program_of_text(path, text, sets)
}

fn program_of_text(path: &str, text: String, sets: &[(String, String)]) -> Program {
    let mut sources = netpol::span::SourceMap::new();
    let file = sources.add(path, text);
    let ast = netpol::syntax::parse(file, sources.text(file)).expect("parses");
    let mut overrides = Vec::new();
    let cmd =
        sources.add("<command line>", sets.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>());
    let mut at = 0;
    for (k, v) in sets {
        let span = |a: usize, b: usize| netpol::span::Span::new(cmd, a, b);
        overrides.push(netpol::resolve::Override {
            name: netpol::span::Spanned::new(k.clone(), span(at, at + k.len())),
            value: netpol::span::Spanned::new(v.clone(), span(at + k.len() + 1, at + k.len() + 1 + v.len())),
        });
        at += k.len() + v.len() + 2;
    }
    netpol::resolve::resolve(&sources, &[(file, ast)], &overrides).expect("resolves").program
}

// ---------------------------------------------------------------------------------------------
// Broken output is caught: each mutation of correct output must make the comparison differ.

/// The emitted objects and the IR of an in-memory program, for one target.
fn emitted_str(src: &str, target: Target) -> (Vec<Value>, Program) {
    let c = compile_str(src, &[target], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    (bodies(&c, target), program_of_text("test.netpol", src.to_string(), &[]))
}

fn emitted_file(path: &str, target: Target) -> (Vec<Value>, Program) {
    let c = compile(&[path.to_string()], &DiskLoader, &options(target, &[]));
    assert!(!c.has_errors(), "{}", render(&c));
    (bodies(&c, target), program_of(path, &[]))
}

/// Applies `f` to every JSON object in `v`, depth first.
fn each_object(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match v {
        Value::Object(m) => {
            f(m);
            m.values_mut().for_each(|x| each_object(x, f));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| each_object(x, f)),
        _ => {}
    }
}

/// Asserts that the output is right as emitted and wrong once `mutate` has changed it (and that
/// `mutate` changed something).
fn assert_caught(target: Target, (mut objects, program): (Vec<Value>, Program), mutate: impl Fn(&mut Value)) {
    let before = differences(target, &objects, &program);
    assert!(before.is_empty(), "{}", report(&before));
    let original = objects.clone();
    objects.iter_mut().for_each(&mutate);
    assert_ne!(objects, original, "the mutation changed nothing");
    assert!(!differences(target, &objects, &program).is_empty(), "the broken output was not caught");
}

/// A deny rule on a direction the source leaves open: both Calico's `Pass` and Cilium's
/// `enableDefaultDeny` matter here.
const DENY_ONLY: &str = "namespace shop\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    workload admin { app: admin }\n\
    web connects to api on tcp 8080\n\
    api refuses tcp 8080 from admin\n";

#[test]
fn calico_deny_turned_allow_is_caught() {
    assert_caught(Target::Calico, emitted_str(DENY_ONLY, Target::Calico), |o| {
        each_object(o, &mut |m| {
            if m.get("action").is_some_and(|a| a == "Deny") {
                m.insert("action".into(), "Allow".into());
            }
        })
    });
}

/// A deny rule, and an allow rule it must win over.
const DENY_OVER_ALLOW: &str = "namespace shop\n\
    workload api { app: api }\n\
    workload admin { app: admin }\n\
    api accepts tcp from namespace shop\n\
    api refuses tcp 8080 from admin\n";

#[test]
fn calico_deny_tier_ending_in_deny_is_caught() {
    // Without `defaultAction: Pass` the deny tier ends in Deny (`tier.go`): whatever its rules do
    // not match is denied, so the deny rules would isolate.
    assert_caught(Target::Calico, emitted_str(DENY_ONLY, Target::Calico), |o| {
        if o["kind"] == "Tier" {
            o["spec"].as_object_mut().expect("spec").remove("defaultAction");
        }
    });
}

#[test]
fn calico_deny_tier_after_the_default_tier_is_caught() {
    assert_caught(Target::Calico, emitted_str(DENY_OVER_ALLOW, Target::Calico), |o| {
        if o["kind"] == "Tier" {
            o["spec"]["order"] = serde_json::json!(2_000_000);
        }
    });
}

#[test]
fn calico_deny_policy_in_the_default_tier_is_caught() {
    // In one tier the allow policy `api` comes before `netpol-deny.api` (same order, by name).
    assert_caught(Target::Calico, emitted_str(DENY_OVER_ALLOW, Target::Calico), |o| {
        if o["kind"] == "NetworkPolicy" && o["spec"]["tier"] != "default" {
            o["spec"].as_object_mut().expect("spec").remove("tier");
        }
    });
}

#[test]
fn calico_namespace_selector_dropped_is_caught() {
    assert_caught(Target::Calico, emitted_file("examples/cross-namespace.netpol", Target::Calico), |o| {
        each_object(o, &mut |m| {
            // Peers (not the policy's own spec) that pick pods of another namespace.
            if m.contains_key("selector") && !m.contains_key("types") {
                m.remove("namespaceSelector");
            }
        })
    });
}

#[test]
fn cilium_peer_without_namespace_is_caught() {
    assert_caught(Target::Cilium, emitted_file("examples/cross-namespace.netpol", Target::Cilium), |o| {
        for section in ["ingress", "egress"] {
            for rule in o["spec"].get_mut(section).and_then(Value::as_array_mut).into_iter().flatten() {
                for key in ["fromEndpoints", "toEndpoints"] {
                    for sel in rule.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
                        if let Some(labels) = sel.get_mut("matchLabels").and_then(Value::as_object_mut) {
                            labels.remove("k8s:io.kubernetes.pod.namespace");
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn cilium_missing_enable_default_deny_is_caught() {
    assert_caught(Target::Cilium, emitted_str(DENY_ONLY, Target::Cilium), |o| {
        o["spec"].as_object_mut().expect("spec").remove("enableDefaultDeny");
    });
}

#[test]
fn cilium_omitted_protocol_is_caught() {
    // Omitted means ANY in Cilium (`l4.go`), so TCP-only rules would open UDP and SCTP too.
    assert_caught(Target::Cilium, emitted_file("examples/edges-and-groups.netpol", Target::Cilium), |o| {
        each_object(o, &mut |m| {
            if m.contains_key("port") {
                m.remove("protocol");
            }
        })
    });
}

#[test]
fn cilium_empty_ingress_list_instead_of_empty_peers_is_caught() {
    // `ingress: []` does not isolate; `fromEntities: []` in one rule does (`intro.rst`,
    // `mergeEndpointSelectors`).
    let src = "namespace shop\n\
        default deny ingress\n\
        workload web { app: web }\n\
        workload api { app: api }\n\
        web connects to api on tcp 8080\n";
    assert_caught(Target::Cilium, emitted_str(src, Target::Cilium), |o| {
        let spec = &mut o["spec"];
        if spec["ingress"]
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["fromEntities"] == serde_json::json!([]))
        {
            spec["ingress"] = serde_json::json!([]);
        }
    });
}

#[test]
fn kubernetes_namespace_selector_dropped_is_caught() {
    assert_caught(
        Target::Kubernetes,
        emitted_file("examples/cross-namespace.netpol", Target::Kubernetes),
        |o| {
            each_object(o, &mut |m| {
                if m.contains_key("podSelector") && m.contains_key("namespaceSelector") {
                    m.remove("namespaceSelector");
                }
            })
        },
    );
}

/// Cilium's default `--allow-localhost` (`auto`, which is `always` in Kubernetes mode) lets the
/// local node reach every local pod whatever the policy, so `X accepts … from host` and any
/// ingress isolation do not hold for node traffic there. The comparisons above assume
/// `--allow-localhost=policy`; this pins the difference to exactly that traffic.
#[test]
fn with_cilium_default_allow_localhost_only_node_ingress_differs() {
    let (objects, program) = emitted_file("examples/cilium-only.netpol", Target::Cilium);
    let cni = cilium::Cilium::new(&objects, cilium::LocalHost::Always);
    let diffs = compare(&cni, Target::Cilium, &program).differences;
    assert!(!diffs.is_empty());
    assert!(
        diffs.iter().all(|d| d.starts_with("ingress of ") && d.contains(" from host, ")),
        "{}",
        report(&diffs)
    );
}

// ---------------------------------------------------------------------------------------------
// The Calico selector reader on its own, and both backends' selector renderings against
// `LabelSelector::matches`.

#[test]
fn calico_selectors_tokenize_and_parse_as_upstream() {
    use calico_selector::{parse, Expr};
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let l = labels(&[("a", "x"), ("in", "not"), ("b.c/d-e_f", "")]);
    for (sel, want) in [
        ("", true),
        ("all()", true),
        ("  all( )  ", true),
        ("a == 'x'", true),
        ("a == \"x\"", true),
        ("a != 'x'", false),
        ("missing != 'x'", true),
        ("in == 'not'", true),
        ("in in {'not'}", true),
        ("in not in {'not'}", false),
        ("missing not in {'x'}", true),
        ("missing in {'x'}", false),
        ("a in {}", false),
        ("a in {'y', 'x',}", true),
        ("has(b.c/d-e_f)", true),
        ("has( b.c/d-e_f )", true),
        ("b.c/d-e_f == ''", true),
        ("!has(a)", false),
        ("!!has(a)", true),
        ("a == 'y' || has(in) && in == 'not'", true),
        ("(a == 'y' || has(in)) && in == 'no'", false),
        ("!(a == 'y')", true),
        ("a contains 'x'", true),
        ("a starts  with 'x'", true),
        ("a ends with 'y'", false),
        ("global()", true),
    ] {
        let e = parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
        assert_eq!(e.eval(&l), want, "{sel}: {e:?}");
    }
    assert_eq!(parse("!!has(a)").expect("parses"), Expr::Has("a".into()));
    for bad in [
        "a = 'x'",
        "a == x",
        "a == 'x",
        "a == 'x' b",
        "a",
        "has(a",
        "has()",
        "(a == 'x'",
        "a in 'x'",
        "a in {'x'",
        "a & b",
        "a | b",
        "a not 'x'",
        "a == 'x' &&",
        "a ≠ 'x'",
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
}

const KEYS: &[&str] = &[
    "app",
    "app.kubernetes.io/name",
    "example.com/team",
    "in",
    "not",
    "has",
    "all",
    "global",
    "contains",
    "9x",
    "a-b_c.d",
];
const VALUES: &[&str] =
    &["", "in", "not", "has", "all", "9x", "a.b-c_d", "prod", "Prod", "x", "1.2.3", "not-in"];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(VALUES).prop_map(str::to_string)
}

fn label_expr() -> impl Strategy<Value = LabelExpr> {
    (key(), 0..4usize, prop::collection::vec(value(), 1..4)).prop_map(|(key, op, mut values)| {
        let op = [LabelOp::In, LabelOp::NotIn, LabelOp::Exists, LabelOp::DoesNotExist][op];
        values.sort();
        values.dedup();
        if matches!(op, LabelOp::Exists | LabelOp::DoesNotExist) {
            values.clear();
        }
        LabelExpr { key, op, values }
    })
}

fn label_selector() -> impl Strategy<Value = LabelSelector> {
    (prop::collection::btree_map(key(), value(), 0..3), prop::collection::vec(label_expr(), 0..4)).prop_map(
        |(match_labels, mut expressions)| {
            expressions.sort();
            expressions.dedup();
            LabelSelector { match_labels, expressions }
        },
    )
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key(), value(), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn calico_selector_expressions_select_what_kubernetes_selects(
        sel in label_selector(),
        random in labels(),
    ) {
        let expr = netpol::backend::calico::selector_expr(&sel).expect("writable");
        let parsed = calico_selector::parse(&expr).map_err(|e| TestCaseError::fail(format!("{expr}: {e}")))?;
        let mut close = sel.representative();
        close.extend(random.iter().take(1).map(|(k, v)| (k.clone(), v.clone())));
        for l in [&random, &sel.representative(), &close] {
            prop_assert_eq!(parsed.eval(l), sel.matches(l), "{} on {:?}", expr, l);
        }
    }

    #[test]
    fn cilium_pod_selectors_select_what_kubernetes_selects(
        sel in label_selector(),
        random in labels(),
        pod_ns in prop::sample::select(&["a", "b"][..]),
        policy_ns in prop::sample::select(&["a", "b"][..]),
    ) {
        for l in [&random, &sel.representative()] {
            let id = cilium::identity(pod_ns, l);
            let get = |k: &str| cilium::get(&id, k);
            let bare = Sel::parse(&serde_json::to_value(netpol::backend::cilium::pod_selector(&sel, None)).expect("json"));
            prop_assert_eq!(bare.matches(get), sel.matches(l), "{:?} on {:?}", bare, l);
            let pinned = Sel::parse(
                &serde_json::to_value(netpol::backend::cilium::pod_selector(&sel, Some(policy_ns))).expect("json"),
            );
            prop_assert_eq!(pinned.matches(get), sel.matches(l) && pod_ns == policy_ns, "{:?} on {:?}", pinned, l);
        }
    }
}
