//! Kubernetes `networking.k8s.io/v1` NetworkPolicy, as the API defines it: kubernetes/api
//! `networking/v1/types.go`, kubernetes `pkg/apis/networking/v1/defaults.go` and
//! `pkg/apis/networking/validation/validation.go`, and kubernetes/website
//! `concepts/services-networking/network-policies.md`.
//!
//! - A policy selects the pods of its own namespace that its `podSelector` picks (`{}`: all of
//!   them), and polices the directions its `policyTypes` names. Without `policyTypes`, Ingress
//!   always, and Egress when the policy has egress rules (`SetDefaults_NetworkPolicy`:
//!   "Any policy that does not specify policyTypes implies at least "Ingress"", Egress added
//!   when `len(Spec.Egress) != 0`).
//! - A pod some policy selects in a direction is isolated there and allows the union of the
//!   rules of every such policy ("Network policies do not conflict; they are additive. If any
//!   policy or policies select a pod, the pod is restricted to what is allowed by the union of
//!   those policies' ingress/egress rules", network-policies.md); a pod no policy selects is
//!   open.
//! - A rule without `from`/`to`, or with an empty list, matches every peer; without `ports`, or
//!   with an empty list, every port ("If this field is empty or missing, this rule matches all
//!   sources / all ports", types.go).
//! - A peer is an `ipBlock` (alone), or a `namespaceSelector` and/or a `podSelector`: both
//!   given, the pods the pod selector picks in the namespaces the namespace selector picks; the
//!   pod selector alone, pods of the policy's namespace; the namespace selector alone, every pod
//!   of those namespaces (`NetworkPolicyPeer`, types.go).
//! - A port without `protocol` is TCP; without `port`, every port of the protocol; a string
//!   port is a named container port; `endPort` ends a numeric range (`NetworkPolicyPort`).
//! - Whether an `ipBlock` covers a pod's, the node's or the API server's address is left to
//!   the CNI, so it is open here ([`Match::Maybe`]). network-policies.md: "These should be
//!   cluster-external IPs, since Pod IPs are ephemeral and unpredictable", and whether address
//!   rewriting happens "before or after NetworkPolicy processing … may be different for
//!   different combinations of network plugin, cloud provider, `Service` implementation".
//!
//! The label selector reading and the pods-in-namespaces coverage (`super::selector`) are
//! shared with the Cilium reader.

use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use crate::analysis::targets::{object_name, origin, Manifests, Reading};
use crate::analysis::universe::{Kind, PointId, Universe, ZoneId};
use crate::ir::{Direction, LabelOp, Protocol};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub const API_VERSION: &str = "networking.k8s.io/v1";
/// The namespace label the API server sets on every namespace (since 1.22).
const NAMESPACE_NAME_LABEL: &str = crate::analysis::universe::NAMESPACE_NAME_LABEL;

pub(crate) use super::selector::*;

mod cluster;
pub(crate) use cluster::{is_cluster_network_policy, CNP_API_VERSION, CNP_KIND};

// ---------------------------------------------------------------------------------------------
// The reader.

/// What one direction of one policy says, ready to be copied into sides.
struct PolicySide {
    isolation: Origin,
    steps: Vec<Step>,
}

struct Kubernetes<'u> {
    u: &'u Universe,
    /// Per policy, per direction (ingress, egress): `None` where `policyTypes` leaves it out.
    policies: Vec<[Option<PolicySide>; 2]>,
    /// Per point, per direction: the policies that select it there, in object order.
    selecting: Vec<[Vec<u32>; 2]>,
    /// The ClusterNetworkPolicies, whose tiers surround the NetworkPolicies' where they apply.
    cluster: cluster::Cluster,
}

impl Semantics for Kubernetes<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        if self.u.point(p).zone.is_none() {
            return Side::open();
        }
        let d = slot(dir);
        let list = &self.selecting[p as usize][d];
        let np = (!list.is_empty()).then(|| {
            let mut steps = Vec::new();
            let mut isolation = Vec::with_capacity(list.len());
            for &i in list {
                if let Some(s) = &self.policies[i as usize][d] {
                    steps.extend(s.steps.iter().cloned());
                    isolation.push(s.isolation.clone());
                }
            }
            (steps, isolation)
        });
        // Without a ClusterNetworkPolicy there, the NetworkPolicies' union (or open).
        self.cluster.side(p, d, np)
    }
}

/// Reads NetworkPolicies (and ClusterNetworkPolicies, [`cluster`]) as the Kubernetes API
/// defines them. Objects are read on every core, each once; then each pod gets the list of
/// policies that select it.
pub fn read<'u>(objects: &(impl Manifests + ?Sized), u: &'u Universe) -> Reading<'u> {
    let zones = zone_index(u);
    let parts = crate::par::blocks(objects.count(), CHUNK, |range| {
        let mut r = Reader {
            u,
            zones: &zones,
            problems: Vec::new(),
            cache: rustc_hash::FxHashMap::default(),
            policies: Vec::new(),
            cluster: Vec::new(),
        };
        crate::analysis::targets::each_object(objects, range, |obj| match obj {
            Ok(obj) => r.object(obj),
            Err(problem) => r.problems.push(problem),
        });
        ((r.problems, r.policies), r.cluster)
    });
    let (parts, cluster): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let (mut problems, policies, selecting) =
        crate::analysis::targets::join_reads(parts, u.len(), Option::is_some);
    let (cluster, clashes) = cluster::Cluster::new(u, cluster);
    problems.extend(clashes);
    Reading { semantics: Box::new(Kubernetes { u, policies, selecting, cluster }), problems }
}

/// One peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Peer {
    Block {
        net: IpNet,
        except: Vec<IpNet>,
    },
    /// `namespaces: None` is the policy's namespace; `pods: None` every pod.
    Pods {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
}

struct Reader<'u, 'z> {
    u: &'u Universe,
    zones: &'z HashMap<&'u str, ZoneId>,
    problems: Vec<String>,
    /// The coverage of peers that take a scan to answer, by the policy's zone and the peer.
    cache: rustc_hash::FxHashMap<(Option<ZoneId>, Peer), Arc<Coverage>>,
    /// Per policy: what it says per direction, and the pods it selects.
    policies: Vec<([Option<PolicySide>; 2], Vec<PointId>)>,
    /// The ClusterNetworkPolicies read.
    cluster: Vec<cluster::Cnp>,
}

impl Reader<'_, '_> {
    fn problem(&mut self, obj: &Value, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{} {at}: {what}", object_name(obj)));
    }

    fn object(&mut self, obj: &Value) {
        if is_cluster_network_policy(obj) {
            return self.cluster_policy(obj);
        }
        if obj["kind"] != "NetworkPolicy" || obj["apiVersion"] != API_VERSION {
            self.problem(
                obj,
                "",
                format!(
                    "not a {API_VERSION} NetworkPolicy (apiVersion {}, kind {})",
                    obj["apiVersion"], obj["kind"]
                ),
            );
            return;
        }
        let Some(ns) = obj["metadata"]["namespace"].as_str() else {
            // Applied without one, it lands in whatever namespace the client uses.
            self.problem(obj, "metadata", "no namespace");
            return;
        };
        let zone = self.zones.get(ns).copied();
        let spec = &obj["spec"];
        let Some(spec_map) = spec.as_object() else {
            self.problem(obj, "spec", "missing");
            return;
        };
        for k in spec_map.keys() {
            if !["podSelector", "policyTypes", "ingress", "egress"].contains(&k.as_str()) {
                self.problem(obj, "spec", format!("unknown field `{k}`"));
            }
        }
        let subject = match spec.get("podSelector") {
            // `podSelector:` with no value: the API decodes null into the struct's zero value,
            // `{}` (`PodSelector metav1.LabelSelector`, not a pointer, in types.go); the
            // network-policy-api conformance suite applies such a policy
            // (conformance/base/api_integration/standard-anp-np-banp.yaml).
            Some(Value::Null) => Selector::default(),
            Some(v) => match Selector::parse(v) {
                Ok(s) => s,
                Err(e) => {
                    self.problem(obj, "spec.podSelector", e);
                    return;
                }
            },
            None => {
                // Read as `{}`, every pod of the namespace, but the field is required.
                self.problem(obj, "spec.podSelector", "missing (required; read as `{}`, every pod)");
                Selector::default()
            }
        };
        let types = self.policy_types(obj, spec);
        let mut sides: [Option<PolicySide>; 2] = [None, None];
        for (d, key, peers_key) in [(0, "ingress", "from"), (1, "egress", "to")] {
            if !types[d] {
                if spec.get(key).is_some_and(|r| r.as_array().is_some_and(|l| !l.is_empty())) {
                    // The rules of a direction the policy does not police are never used.
                    self.problem(obj, &format!("spec.{key}"), "rules of a direction policyTypes leaves out");
                }
                continue;
            }
            let rules: &[Value] = match spec.get(key) {
                None | Some(Value::Null) => &[],
                Some(Value::Array(l)) => l,
                Some(other) => {
                    self.problem(obj, &format!("spec.{key}"), format!("not a list: {other}"));
                    &[]
                }
            };
            // Room for every rule up front: grown by doubling, a side's steps (a reading holds
            // one per rule of every object) kept up to half their room spare.
            let mut steps = Vec::with_capacity(rules.len());
            for (i, rule) in rules.iter().enumerate() {
                let at = format!("spec.{key}[{i}]");
                if let Some(step) = self.rule(obj, zone, &at, rule, peers_key) {
                    steps.push(step);
                }
            }
            let isolation = origin(
                obj,
                if spec.get("policyTypes").is_some() { "spec.policyTypes" } else { "spec" }.to_string(),
                None,
            );
            sides[d] = Some(PolicySide { isolation, steps });
        }
        let pods = match zone {
            Some(zone) if types.iter().any(|t| *t) => {
                self.u.select_pods(zone, subject.hint(), |l| subject.matches(l))
            }
            _ => Vec::new(),
        };
        self.policies.push((sides, pods));
    }

    /// Which directions the policy polices: `policyTypes`, or its default.
    fn policy_types(&mut self, obj: &Value, spec: &Value) -> [bool; 2] {
        let listed = spec.get("policyTypes").and_then(Value::as_array).filter(|l| !l.is_empty());
        match listed {
            Some(l) => {
                let mut types = [false; 2];
                for t in l {
                    match t.as_str() {
                        Some("Ingress") => types[0] = true,
                        Some("Egress") => types[1] = true,
                        _ => self.problem(obj, "spec.policyTypes", format!("unknown policy type {t}")),
                    }
                }
                types
            }
            None => {
                if spec.get("policyTypes").is_some_and(|v| !v.is_null() && !v.is_array()) {
                    self.problem(obj, "spec.policyTypes", "not a list");
                }
                // `SetDefaults_NetworkPolicy` (pkg/apis/networking/v1/defaults.go).
                let egress = spec.get("egress").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
                [true, egress]
            }
        }
    }

    /// One ingress or egress rule as an allow clause. A rule, a port or a peer that cannot be
    /// read (the API server rejects the object) is a problem, and what it would allow is open:
    /// the rule possibly allows anything, so the answers it decides say "possibly" rather
    /// than guess whether the object exists or what it meant.
    fn rule(
        &mut self,
        obj: &Value,
        zone: Option<ZoneId>,
        at: &str,
        rule: &Value,
        peers_key: &str,
    ) -> Option<Step> {
        let open = |r: &Value| {
            Step::Clause(Clause {
                cover: Arc::new(possibly_anything()),
                ports: PortSet::all(),
                act: Act::Allow,
                origin: origin(obj, at.to_string(), Some(r)),
            })
        };
        let Some(map) = rule.as_object() else {
            self.problem(obj, at, "a rule is an object; read as possibly allowing anything");
            return Some(open(rule));
        };
        for k in map.keys() {
            if k != peers_key && k != "ports" {
                self.problem(obj, at, format!("unknown field `{k}`"));
            }
        }
        let Some(ports) = self.ports(obj, at, rule.get("ports")) else {
            return Some(open(rule));
        };
        let cover = match rule.get(peers_key) {
            None | Some(Value::Null) => Arc::new(Coverage::everything()),
            Some(Value::Array(list)) if list.is_empty() => Arc::new(Coverage::everything()),
            Some(Value::Array(list)) => {
                let mut peers = Vec::new();
                let mut unread = false;
                for (j, p) in list.iter().enumerate() {
                    match peer(p) {
                        Ok(x) => peers.push(x),
                        Err(e) => {
                            self.problem(
                                obj,
                                &format!("{at}.{peers_key}[{j}]"),
                                format!("{e}; read as possibly any peer"),
                            );
                            unread = true;
                        }
                    }
                }
                let cover = self.coverage(zone, peers);
                if unread {
                    Arc::new(cover.union(&possibly_anything(), self.u))
                } else {
                    cover
                }
            }
            Some(other) => {
                self.problem(
                    obj,
                    &format!("{at}.{peers_key}"),
                    format!("not a list: {other}; read as possibly any peer"),
                );
                return Some(open(rule));
            }
        };
        Some(Step::Clause(Clause {
            cover,
            ports,
            act: Act::Allow,
            origin: origin(obj, at.to_string(), Some(rule)),
        }))
    }

    /// `ports`: absent or empty, every port; an entry that cannot be read makes the rule unusable.
    fn ports(&mut self, obj: &Value, at: &str, v: Option<&Value>) -> Option<PortSet> {
        let list = match v {
            None | Some(Value::Null) => return Some(PortSet::all()),
            Some(Value::Array(l)) if l.is_empty() => return Some(PortSet::all()),
            Some(Value::Array(l)) => l,
            Some(other) => {
                self.problem(
                    obj,
                    &format!("{at}.ports"),
                    format!("not a list: {other}; the rule is read as possibly allowing anything"),
                );
                return None;
            }
        };
        let mut out = PortSet::empty();
        for (i, p) in list.iter().enumerate() {
            match port(p) {
                Ok(set) => out = out.union(&set),
                Err(e) => {
                    self.problem(
                        obj,
                        &format!("{at}.ports[{i}]"),
                        format!("{e}; the rule is read as possibly allowing anything"),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn coverage(&mut self, zone: Option<ZoneId>, peers: Vec<Peer>) -> Arc<Coverage> {
        let parts = peers.into_iter().map(|p| self.cached(zone, p)).collect();
        union_all(self.u, parts)
    }

    /// A peer's coverage, kept for the next rule that names the same peer when it took a scan
    /// of zones or pods (others are cheaper to redo than to look up).
    fn cached(&mut self, zone: Option<ZoneId>, peer: Peer) -> Arc<Coverage> {
        let scans = match &peer {
            Peer::Block { .. } => false,
            Peer::Pods { namespaces, pods } => {
                namespaces.as_ref().is_some_and(|n| {
                    !n.reqs.iter().any(|r| r.key == NAMESPACE_NAME_LABEL && r.op == LabelOp::In)
                }) || pods.as_ref().is_some_and(scans_pods)
            }
        };
        if !scans {
            return Arc::new(self.peer_coverage(zone, &peer));
        }
        // A peer with a namespaceSelector means the same in every policy's namespace.
        let zone = match &peer {
            Peer::Pods { namespaces: Some(_), .. } => None,
            _ => zone,
        };
        let key = (zone, peer);
        if let Some(c) = self.cache.get(&key) {
            return c.clone();
        }
        let c = Arc::new(self.peer_coverage(zone, &key.1));
        self.cache.insert(key, c.clone());
        c
    }

    fn peer_coverage(&self, zone: Option<ZoneId>, peer: &Peer) -> Coverage {
        let u = self.u;
        match peer {
            Peer::Block { net, except } => {
                let mut c = block_coverage(u, net, except);
                // Pods, the node and the API server have addresses too; whether an ipBlock
                // matches them is the CNI's choice (see the module comment).
                for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
                    c.kinds[k.index()] = Match::Maybe;
                }
                c
            }
            Peer::Pods { namespaces, pods } => {
                let zones: Vec<(ZoneId, Match)> = match namespaces {
                    None => zone.map(|z| (z, Match::Yes)).into_iter().collect(),
                    Some(sel) => self.namespaces(sel),
                };
                pods_in_zones(u, &zones, pods.as_ref().unwrap_or(&Selector::default()))
            }
        }
    }

    /// How far a namespace selector picks each namespace. A namespace is known by its name
    /// label only: a requirement on any other label is open.
    fn namespaces(&self, sel: &Selector) -> Vec<(ZoneId, Match)> {
        let u = self.u;
        let by_name = sel.reqs.iter().find(|r| r.key == NAMESPACE_NAME_LABEL && r.op == LabelOp::In);
        let candidates: Vec<ZoneId> = match by_name {
            Some(r) => r.values.iter().filter_map(|n| self.zones.get(n.as_str()).copied()).collect(),
            None => (0..u.zones.len() as ZoneId).collect(),
        };
        candidates
            .into_iter()
            .map(|z| {
                let zone = u.zone(z);
                (z, sel.eval(|k| zone.label(k)))
            })
            .collect()
    }
}

/// One `NetworkPolicyPeer`.
fn peer(v: &Value) -> Result<Peer, String> {
    let map = v.as_object().ok_or("a peer is an object")?;
    for k in map.keys() {
        if !["ipBlock", "namespaceSelector", "podSelector"].contains(&k.as_str()) {
            return Err(format!("unknown field `{k}`"));
        }
    }
    if let Some(block) = v.get("ipBlock") {
        // "If this field is set then neither of the other fields can be" (types.go).
        if map.len() > 1 {
            return Err("ipBlock with a selector (rejected by validation)".to_string());
        }
        let net = parse_net(&block["cidr"])?;
        let mut except = Vec::new();
        for e in block["except"].as_array().into_iter().flatten() {
            let e = parse_net(e)?;
            // "Except values will be rejected if they are outside the cidr range" (types.go).
            if !(net.contains(&e.network()) && e.prefix_len() >= net.prefix_len()) {
                return Err(format!("except {e} is outside {net} (rejected by validation)"));
            }
            except.push(e);
        }
        return Ok(Peer::Block { net, except });
    }
    if map.is_empty() {
        return Err("a peer names nothing (rejected by validation)".to_string());
    }
    let sel = |k: &str| v.get(k).filter(|x| !x.is_null()).map(Selector::parse).transpose();
    Ok(Peer::Pods { namespaces: sel("namespaceSelector")?, pods: sel("podSelector")? })
}

/// One `NetworkPolicyPort`.
fn port(v: &Value) -> Result<PortSet, String> {
    let map = v.as_object().ok_or("a port is an object")?;
    for k in map.keys() {
        if !["protocol", "port", "endPort"].contains(&k.as_str()) {
            return Err(format!("unknown field `{k}`"));
        }
    }
    // "If not specified, this field defaults to TCP" (types.go); the values are exact.
    let protocol = match v.get("protocol") {
        None | Some(Value::Null) => Protocol::Tcp,
        Some(p) => Protocol::ALL
            .into_iter()
            .find(|x| p.as_str() == Some(x.as_str()))
            .ok_or_else(|| format!("protocol {p} is not TCP, UDP or SCTP"))?,
    };
    let end = match v.get("endPort") {
        None | Some(Value::Null) => None,
        Some(e) => {
            Some(e.as_u64().filter(|e| (1..=65535).contains(e)).ok_or_else(|| format!("endPort {e}"))? as u16)
        }
    };
    match v.get("port") {
        None | Some(Value::Null) => {
            if end.is_some() {
                return Err("endPort without port (rejected by validation)".to_string());
            }
            Ok(PortSet::protocol(protocol))
        }
        Some(Value::Number(n)) => {
            let n = n.as_u64().filter(|n| (1..=65535).contains(n)).ok_or_else(|| format!("port {n}"))? as u16;
            match end {
                Some(e) if e < n => Err(format!("endPort {e} is below port {n} (rejected by validation)")),
                Some(e) => Ok(PortSet::range(protocol, n, e)),
                None => Ok(PortSet::range(protocol, n, n)),
            }
        }
        Some(Value::String(s)) => {
            if end.is_some() {
                // "The endPort must be … not be defined if the port field is … a named
                // (string) port" (types.go).
                return Err(format!("endPort with the named port {s:?} (rejected by validation)"));
            }
            if !is_port_name(s) {
                return Err(format!("port {s:?} is not a valid port name (IANA_SVC_NAME)"));
            }
            Ok(PortSet::named(protocol, s))
        }
        Some(other) => Err(format!("port {other}")),
    }
}

/// An `IANA_SVC_NAME` (apimachinery `validation.IsValidPortName`): at most 15 lowercase
/// letters, digits and single inner hyphens, with at least one letter.
fn is_port_name(s: &str) -> bool {
    s.len() <= 15
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::matrix::Rows;
    use crate::analysis::reach::SourceSemantics;
    use crate::analysis::verify::compare;
    use crate::ir::Program;
    use serde_json::json;

    pub(crate) fn program(src: &str) -> Program {
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", src.to_string());
        let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
        crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program
    }

    fn netpol(ns: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": "NetworkPolicy",
               "metadata": {"name": name, "namespace": ns}, "spec": spec})
    }

    fn pod(u: &Universe, name: &str) -> PointId {
        u.ids().find(|p| u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
    }

    const SHOP: &str = "namespace shop\n\
        workload web { app: web }\n\
        workload api { app: api, tier: backend }\n\
        web connects to api on tcp 8080\n\
        namespace ops\n\
        workload tool { app: tool }\n\
        tool connects to 10.0.0.0/8 except 10.1.0.0/16\n";

    #[test]
    fn unselected_pods_and_non_pods_are_open() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let r = read(&[netpol("shop", "api", json!({"podSelector": {"matchLabels": {"app": "api"}}}))], &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(r.semantics.side(pod(&u, "shop/web"), Direction::Ingress).is_open());
        assert!(r.semantics.side(u.host(), Direction::Ingress).is_open());
        // policyTypes defaults to Ingress only.
        let api = pod(&u, "shop/api");
        assert!(r.semantics.side(api, Direction::Egress).is_open());
        let side = r.semantics.side(api, Direction::Ingress);
        assert_eq!(side.fold, Fold::Union { isolated: true });
        assert!(side.at(&u, pod(&u, "shop/web")).possible.is_empty());
    }

    #[test]
    fn egress_section_defaults_policy_types_to_both() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let r = read(
            &[netpol("shop", "web", json!({"podSelector": {}, "egress": [{"ports": [{"port": 8080}]}]}))],
            &u,
        );
        let web = pod(&u, "shop/web");
        let e = r.semantics.side(web, Direction::Egress).at(&u, pod(&u, "shop/api"));
        assert!(e.certain.contains(Protocol::Tcp, 8080));
        assert!(!e.possible.contains(Protocol::Udp, 8080));
        assert!(!e.possible.contains(Protocol::Tcp, 8081));
        // Ingress is isolated with no rules, for every pod of the namespace, the unlabelled too.
        for name in ["shop/web", "shop/api", "shop/<unlabelled pod>"] {
            assert!(r.semantics.side(pod(&u, name), Direction::Ingress).at(&u, web).possible.is_empty());
        }
        assert!(r.semantics.side(pod(&u, "ops/tool"), Direction::Ingress).is_open());
    }

    #[test]
    fn peers_namespaces_pods_and_blocks() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let r = read(
            &[netpol(
                "shop",
                "api",
                json!({"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                "ingress": [
                  {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]},
                  {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}},
                             "podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}}],
                   "ports": [{"protocol": "UDP", "port": 1000, "endPort": 2000}]},
                  {"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}], "ports": [{"protocol": "SCTP"}]},
                  {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}
                ]}),
            )],
            &u,
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let side = r.semantics.side(pod(&u, "shop/api"), Direction::Ingress);
        let web = side.at(&u, pod(&u, "shop/web"));
        assert!(PortSet::named(Protocol::Tcp, "http").is_subset(&web.certain));
        // Named ports are not numbers; only the ipBlock rule (pods open) possibly covers 80.
        assert!(!web.certain.contains(Protocol::Tcp, 80) && web.possible.contains(Protocol::Tcp, 80));
        let tool = side.at(&u, pod(&u, "ops/tool"));
        assert!(tool.certain.contains(Protocol::Udp, 1500) && !tool.certain.contains(Protocol::Udp, 2001));
        // The ops namespace's other labels are unknown: SCTP is possible, not certain.
        assert!(!tool.certain.contains(Protocol::Sctp, 1) && tool.possible.contains(Protocol::Sctp, 1));
        // The unlabelled pod of shop is covered by no selector: only the ipBlock, possibly.
        let other = side.at(&u, pod(&u, "shop/<unlabelled pod>"));
        assert!(other.certain.is_empty() && other.possible.is_all());
        // ipBlock: addresses exactly, pods and the node open.
        let at = |ip: &str| side.at(&u, pod(&u, ip));
        assert!(at("10.0.0.0").certain.is_all());
        assert!(at("10.255.255.255").certain.is_all());
        assert!(at("10.1.0.0").possible.is_empty() && at("10.1.255.255").possible.is_empty());
        assert!(at("203.0.113.7").possible.is_empty());
        let host = side.at(&u, u.host());
        assert!(host.certain.is_empty() && host.possible.is_all());
    }

    #[test]
    fn selectors_that_pick_unlabelled_pods_cover_zones() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let sel =
            Selector::parse(&json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}))
                .expect("selector");
        let shop = u.zone_named("shop").expect("shop");
        let c = pods_in_zones(&u, &[(shop, Match::Yes)], &sel);
        assert_eq!(c.zones, vec![(shop, Match::Yes)]);
        assert_eq!(c.points, vec![(pod(&u, "shop/api"), Match::No)]);
        let all: Vec<_> = (0..u.zones.len() as ZoneId).map(|z| (z, Match::Maybe)).collect();
        let c = pods_in_zones(&u, &all, &Selector::default());
        assert_eq!(c.kinds[Kind::Pod.index()], Match::Maybe);
        assert!(c.zones.is_empty() && c.points.is_empty());
    }

    #[test]
    fn odd_manifests_are_problems_not_panics() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [
            json!({"kind": "NetworkPolicy", "apiVersion": "v1"}),
            json!(null),
            json!({"kind": "NetworkPolicy", "apiVersion": API_VERSION, "metadata": {"name": "x"}}),
            netpol(
                "shop",
                "a",
                json!({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Like"}]}}),
            ),
            netpol(
                "shop",
                "b",
                json!({"podSelector": {}, "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]},
                    {"ports": [{"port": 80, "endPort": 70}]},
                    {"ports": [{"port": "http", "endPort": 90}]},
                    {"ports": [{"protocol": "tcp"}]},
                    {"from": [{}]},
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]},
                    {"from": "everyone"}
                ]}),
            ),
        ];
        let r = read(&objects, &u);
        assert!(r.problems.len() >= 10, "{:#?}", r.problems);
        // The broken rules possibly allow anything, and certainly nothing: the API server
        // rejects the object, and what it was meant to say is unknown.
        let side = r.semantics.side(pod(&u, "shop/web"), Direction::Ingress);
        let cell = side.at(&u, pod(&u, "ops/tool"));
        assert!(cell.certain.is_empty() && cell.possible.is_all(), "{cell:?}");
    }

    #[test]
    fn the_source_and_the_emitted_policies_agree() {
        let src = "namespace shop\n\
            default deny egress\n\
            workload web { app: web }\n\
            workload api { app: api }\n\
            web connects to api on tcp 8080\n\
            web connects to kube-dns\n\
            api accepts tcp 8080 from web\n\
            api accepts udp 9000-9100 from namespace ops\n\
            namespace ops\n";
        let p = program(src);
        let u = Universe::new(&p);
        let locate = |_| "test.netpol:1".to_string();
        let cx = crate::backend::EmitContext { locate: &locate, versions: crate::backend::Versions::DEFAULT };
        let objects = crate::backend::Target::Kubernetes.backend().emit(&p, &cx).expect("emits");
        let bodies: Vec<Value> = objects.iter().map(|o| o.body()).collect();
        let r = read(&bodies, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let source = SourceSemantics::new(&p, &u);
        let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(r.semantics.as_ref(), &u));
        let text: Vec<String> = diffs.iter().map(|d| d.describe(&u, "kubernetes")).collect();
        assert!(diffs.is_empty(), "{text:#?}");
    }
}
