//! Calico `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy for a cluster-wide default
//! deny, and a Tier for deny rules.
//!
//! One policy per policed workload, named after it, in the `default` tier, and one per default
//! deny. Semantics follow projectcalico/calico `api/pkg/apis/projectcalico/v3`
//! (`networkpolicy.go`, `policy_common.go`, `tier.go`), the selector tokenizer
//! (`libcalico-go/lib/selector/tokenizer`) and docs.tigera.io's tier reference; each choice
//! below cites why. The traps:
//! - `types` is always written: left out, a policy with only egress rules becomes egress-only
//!   but one with no rules becomes ingress-only (`networkpolicy.go`);
//! - within a tier, the first matching rule of the first policy decides, and a tier whose
//!   policies select an endpoint but match nothing ends in its default action, Deny for the
//!   default tier (`tier.go`). So the default tier holds only allow rules, exactly as Calico's
//!   own conversion of Kubernetes NetworkPolicies does, and isolation means "selected";
//! - deny rules live in their own tier, [`DENY_TIER`], ordered before the default tier, whose
//!   default action is Pass: what they deny is denied whatever any policy allows, what they do
//!   not match goes on to the default tier untouched, so they never isolate (docs.tigera.io
//!   "Tier": "If a NetworkPolicy or GlobalNetworkPolicy in the Tier Passes the packet, the
//!   next Tier containing a Policy that applies to the endpoint processes the packet");
//! - selectors are Calico expressions with quoted values and no escapes;
//! - namespaces by name use `projectcalico.org/name`;
//! - `protocol` is set whenever ports are (`policy_common.go`: "Required if any of the
//!   EntityRules contain Ports"), ranges are `"a:b"`, at most 50 ports per rule;
//! - open-source Calico has no DNS-name matching (no such field in `EntityRule`).

use crate::backend::validation::Notes;
use crate::backend::{
    deny_construct, reason_suffix, Backend, EmitContext, EmitError, Object, Target, Version,
    ANNOTATION_SOURCE,
};
use crate::ir::{
    self, Action, Direction, Entity, LabelOp, LabelSelector, NamespaceId, Peer, PortMatch, Ports, Program,
    Protocol, WorkloadId, KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE,
};
use crate::span::Span;
use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;

pub const API_VERSION: &str = "projectcalico.org/v3";
/// The label Calico puts on every namespace's profile, holding its name.
pub const NAMESPACE_NAME_LABEL: &str = "projectcalico.org/name";
/// The policies' place in the default tier. Calico converts Kubernetes NetworkPolicies to
/// order 1000 (`libcalico-go/lib/backend/k8s/conversion/conversion.go`), so netpol's deny
/// rules are decided before any hand-written NetworkPolicy's allows.
pub const ORDER: u32 = 100;
pub const TIER: &str = "default";
/// `spec.tier` and Tier's `defaultAction`: policy tiers came to open-source Calico in 3.29
/// (calico#9085); before that every policy is in the one implicit tier, and the field is left
/// out. The deny tier needs `defaultAction: Pass`, without which a tier ends in Deny and
/// blocks all it does not match. It is in the same release: `defaultAction` (calico#9232,
/// "Allow users to set the default action in a tier") is in tag v3.29.0's
/// `api/pkg/apis/projectcalico/v3/tier.go` and `libcalico-go/config/crd/crd.projectcalico.org_tiers.yaml`,
/// and Felix 3.29.0 honours it (`felix/rules/endpoints.go`: no end-of-tier drop when the
/// tier's default action is Pass; the BPF and Windows dataplanes likewise). v3.28 has no
/// Tier resource at all.
pub const TIER_SINCE: Version = Version::new(3, 29, 0);
/// The tier of netpol's deny rules. Its policies are named `netpol-deny.<workload>`: before
/// 3.32 a policy outside the default tier had to carry its tier as a prefix (calico#11232
/// lifted that), and the prefixed name stays valid after.
pub const DENY_TIER: &str = "netpol-deny";
/// Before the default tier (order 1,000,000, calico#9085) and after the `kube-admin` tier of
/// ClusterNetworkPolicy (order 1,000).
pub const DENY_TIER_ORDER: u32 = 900_000;
/// `maxLength` of every selector field in the v3 CRDs.
pub const MAX_SELECTOR: usize = 1024;
/// `maxItems` of `ports` and of `nets` / `notNets` in an EntityRule.
pub const MAX_PORTS: usize = 50;
pub const MAX_NETS: usize = 256;
/// `maxItems` of a policy's `ingress` and of its `egress` (`+kubebuilder:validation:MaxItems=1024`
/// in `api/pkg/apis/projectcalico/v3/networkpolicy.go` and `globalnetworkpolicy.go`, calico#12250,
/// after 3.32).
pub const MAX_RULES: usize = 1024;
/// Per-rule annotations (`Rule.metadata.annotations`).
pub const ANNOTATION_REASON: &str = "netpol/reason";

pub struct Calico;

impl Backend for Calico {
    fn target(&self) -> Target {
        Target::Calico
    }

    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>> {
        let memo = Memo::new(program);
        let (mut objects, errors) = crate::backend::per_workload(program, |range| {
            let mut e = Emitter { program, cx, memo: &memo, errors: Vec::new() };
            let objects = range.flat_map(|i| e.workload_policies(WorkloadId(i as u32))).collect();
            (objects, e.errors)
        });
        let mut e = Emitter { program, cx, memo: &memo, errors };
        for d in &program.default_denies {
            objects.push(e.default_deny(d));
        }
        if let Some(first) = program.rules.iter().find(|r| r.action == Action::Deny) {
            objects.push(e.deny_tier(first.origin));
        }
        crate::backend::finish(Target::Calico, objects, e.errors)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<&'static str>,
    order: u32,
    selector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<String>,
    types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    egress: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TierSpec {
    order: u32,
    default_action: &'static str,
}

#[derive(Serialize, Clone)]
struct Rule {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<EntityRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<EntityRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<RuleMetadata>,
}

#[derive(Serialize, Clone)]
struct RuleMetadata {
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
struct EntityRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    nets: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_nets: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<ServiceMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<Vec<PortValue>>,
}

/// `ServiceMatch`: the endpoints (addresses and ports) of one Service.
#[derive(Serialize, Clone, PartialEq)]
struct ServiceMatch {
    name: &'static str,
    namespace: &'static str,
}

/// The Service in front of the Kubernetes API server: "the typical access point for the
/// Kubernetes API server" (docs.tigera.io/calico/latest/network-policy/policy-rules/service-policy).
const API_SERVER_SERVICE: ServiceMatch = ServiceMatch { name: "kubernetes", namespace: "default" };

/// A port: a number, a `"min:max"` range, or a named port (`numorstring/port.go`).
#[derive(Serialize, Clone, PartialEq)]
#[serde(untagged)]
enum PortValue {
    Number(u16),
    Text(String),
}

struct Emitter<'a> {
    program: &'a Program,
    cx: &'a EmitContext<'a>,
    memo: &'a Memo,
    errors: Vec<EmitError>,
}

impl Emitter<'_> {
    /// The workload's allow policy in the default tier and its deny policy in [`DENY_TIER`],
    /// each where it has something to say.
    fn workload_policies(&mut self, w: WorkloadId) -> Vec<Object> {
        let p = self.program;
        let wl = p.workload(w);
        let ns = p.namespace(wl.namespace).name.clone();
        let selector = self.workload_selector(w, wl.span);
        let mut out = Vec::new();
        // Allows: every direction with an allow rule or `accepts nothing` is isolated by being
        // selected, and the default tier's Deny ends what no rule allows.
        let mut types = Vec::new();
        let mut sections: [Vec<Rule>; 2] = [Vec::new(), Vec::new()];
        let mut notes = Notes::default();
        for (slot, dir) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
            let isolation = p.isolation_of(w, dir);
            let allow: Vec<&ir::Rule> = p.rules_of(w, dir).filter(|r| r.action == Action::Allow).collect();
            if allow.is_empty() && isolation.is_none() {
                continue;
            }
            types.push(type_name(dir));
            for rule in allow {
                let rules = self.rules(rule, dir, wl.namespace);
                sections[slot].extend(rules);
            }
            if let Some(i) = isolation {
                notes.line(format_args!(
                    "{}: nothing{} ({})",
                    dir.as_str(),
                    reason_suffix(&i.reason),
                    (self.cx.locate)(i.origin)
                ));
            }
        }
        if !types.is_empty() {
            self.too_many_rules(&sections, &wl.name, wl.span);
            let [ingress, egress] = sections;
            let spec = Spec {
                tier: self.tier(),
                order: ORDER,
                selector: selector.clone(),
                namespace_selector: None,
                types,
                ingress,
                egress,
            };
            let annotations = crate::backend::validation::provenance(
                Target::Calico,
                "NetworkPolicy",
                wl,
                (self.cx.locate)(wl.span),
                notes,
                &mut self.errors,
            );
            out.push(object("NetworkPolicy", &wl.name, Some(ns.clone()), annotations, spec, wl.span));
        }
        // Denies: in their own tier, which passes on whatever they do not match.
        let mut types = Vec::new();
        let mut sections: [Vec<Rule>; 2] = [Vec::new(), Vec::new()];
        for (slot, dir) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
            let deny: Vec<&ir::Rule> = p.rules_of(w, dir).filter(|r| r.action == Action::Deny).collect();
            if deny.is_empty() {
                continue;
            }
            if self.cx.versions.calico < TIER_SINCE {
                self.errors.push(EmitError::NeedsVersion {
                    target: Target::Calico,
                    construct: format!("{} (a policy tier of their own)", deny_construct(dir)),
                    needs: TIER_SINCE,
                    have: self.cx.versions.calico,
                    span: deny[0].origin,
                });
            }
            types.push(type_name(dir));
            for rule in deny {
                let rules = self.rules(rule, dir, wl.namespace);
                sections[slot].extend(rules);
            }
        }
        if !types.is_empty() {
            self.too_many_rules(&sections, &format!("{DENY_TIER}.{}", wl.name), wl.span);
            let [ingress, egress] = sections;
            let spec = Spec {
                tier: Some(DENY_TIER),
                order: ORDER,
                selector,
                namespace_selector: None,
                types,
                ingress,
                egress,
            };
            let annotations = BTreeMap::from([(ANNOTATION_SOURCE.to_string(), (self.cx.locate)(wl.span))]);
            let name = format!("{DENY_TIER}.{}", wl.name);
            out.push(object("NetworkPolicy", &name, Some(ns), annotations, spec, wl.span));
        }
        out
    }

    /// E0304 for a section of more than [`MAX_RULES`] rules.
    fn too_many_rules(&mut self, sections: &[Vec<Rule>; 2], policy: &str, span: Span) {
        for (section, dir) in sections.iter().zip(["ingress", "egress"]) {
            if section.len() > MAX_RULES {
                self.errors.push(EmitError::Unrepresentable {
                    target: Target::Calico,
                    what: format!(
                        "{} {dir} rules in the policy `{policy}` (Calico takes {MAX_RULES})",
                        section.len()
                    ),
                    span,
                    help: "Calico writes one rule per peer and protocol: select the peers together (a \
                           `namespaces` set, or one workload whose selector picks them), or merge networks"
                        .to_string(),
                });
            }
        }
    }

    /// The tier of the deny policies: Pass, not Deny, when none of its rules matched.
    fn deny_tier(&self, origin: Span) -> Object {
        let annotations = BTreeMap::from([(ANNOTATION_SOURCE.to_string(), (self.cx.locate)(origin))]);
        let spec = TierSpec { order: DENY_TIER_ORDER, default_action: "Pass" };
        crate::backend::custom_object(API_VERSION, "Tier", DENY_TIER, None, annotations, spec, origin)
    }

    fn tier(&self) -> Option<&'static str> {
        (self.cx.versions.calico >= TIER_SINCE).then_some(TIER)
    }

    /// The Calico rules of one source rule: one per peer shape and protocol, each carrying the
    /// source line and reason.
    fn rules(&mut self, rule: &ir::Rule, dir: Direction, home: NamespaceId) -> Vec<Rule> {
        let action = match rule.action {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
        };
        let peers = self.peers(rule, home);
        let ports = port_groups(&rule.ports);
        let mut annotations =
            BTreeMap::from([(ANNOTATION_SOURCE.to_string(), (self.cx.locate)(rule.origin))]);
        if let Some(r) = &rule.reason {
            annotations.insert(ANNOTATION_REASON.to_string(), r.clone());
        }
        self.errors.extend(crate::backend::validation::annotations_too_large(
            Target::Calico,
            &annotations,
            "one rule",
            rule.origin,
        ));
        let mut out = Vec::new();
        for peer in &peers {
            for (protocol, ports) in &ports {
                let ports = ports.clone().map(|p| EntityRule { ports: Some(p), ..EntityRule::default() });
                let (source, destination) = match dir {
                    // Ingress: the peer is the source; ports are the policed pod's own.
                    Direction::Ingress => (peer.clone(), ports),
                    Direction::Egress => {
                        let mut d = peer.clone().unwrap_or_default();
                        d.ports = ports.and_then(|p| p.ports);
                        (None, (d != EntityRule::default()).then_some(d))
                    }
                };
                out.push(Rule {
                    action,
                    protocol: protocol.map(Protocol::as_str),
                    source,
                    destination,
                    metadata: Some(RuleMetadata { annotations: annotations.clone() }),
                });
            }
        }
        out
    }

    /// The peer side of each rule to emit; `None` matches every peer.
    fn peers(&mut self, rule: &ir::Rule, home: NamespaceId) -> Vec<Option<EntityRule>> {
        let p = self.program;
        if rule.peers.iter().any(|r| matches!(r.peer, Peer::Entity(Entity::Anywhere))) {
            return vec![None];
        }
        let mut out: Vec<Option<EntityRule>> = Vec::new();
        let mut plain_nets: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        for r in &rule.peers {
            let entity = match &r.peer {
                Peer::Workload(x) => {
                    let wl = p.workload(*x);
                    // Without a namespaceSelector, a NetworkPolicy's selector picks endpoints of
                    // the policy's own namespace (`policy_common.go`, EntityRule).
                    EntityRule {
                        selector: Some(self.workload_selector(*x, r.span)),
                        namespace_selector: (wl.namespace != home)
                            .then(|| self.namespace_selector(wl.namespace)),
                        ..EntityRule::default()
                    }
                }
                Peer::Namespace(n) => EntityRule {
                    namespace_selector: Some(self.namespace_selector(*n)),
                    ..EntityRule::default()
                },
                // Both in one entity rule: the workload's pods in the set's namespaces.
                Peer::WorkloadIn(w, s) => EntityRule {
                    selector: Some(self.workload_selector(*w, r.span)),
                    namespace_selector: Some(self.selector(&p.namespace_set(*s).selector, r.span)),
                    ..EntityRule::default()
                },
                Peer::NamespaceSet(s) => EntityRule {
                    namespace_selector: Some(self.selector(&p.namespace_set(*s).selector, r.span)),
                    ..EntityRule::default()
                },
                Peer::Entity(Entity::Cluster) => {
                    EntityRule { namespace_selector: Some("all()".to_string()), ..EntityRule::default() }
                }
                Peer::Entity(Entity::KubeDns) => EntityRule {
                    selector: Some(format!("{} == '{}'", KUBE_DNS_LABEL.0, KUBE_DNS_LABEL.1)),
                    namespace_selector: Some(namespace_by_name(KUBE_DNS_NAMESPACE)),
                    ..EntityRule::default()
                },
                Peer::Cidr(c) if c.except.is_empty() => {
                    // Plain networks of one address family share a rule.
                    let family = usize::from(matches!(c.net, IpNet::V6(_)));
                    let net = c.net.to_string();
                    if !plain_nets[family].contains(&net) {
                        plain_nets[family].push(net);
                    }
                    continue;
                }
                // `notNets` excludes from the whole rule, so a network with exceptions gets a
                // rule of its own (as Calico converts `ipBlock.except`, conversion.go).
                Peer::Cidr(c) => {
                    if c.except.len() > MAX_NETS {
                        self.errors.push(EmitError::Unrepresentable {
                            target: Target::Calico,
                            what: format!(
                                "{} exceptions in one network (`notNets` holds {MAX_NETS})",
                                c.except.len()
                            ),
                            span: r.span,
                            help: "merge the excepted blocks into larger ones, or split the network"
                                .to_string(),
                        });
                        continue;
                    }
                    EntityRule {
                        nets: Some(vec![c.net.to_string()]),
                        not_nets: Some(c.except.iter().map(|e| e.to_string()).collect()),
                        ..EntityRule::default()
                    }
                }
                // A `services` match takes the Service's endpoints, addresses and ports; Calico
                // refuses it with any other field of the entity rule, and in a destination with
                // ports (`validateRule`, `validateEntityRule` in libcalico-go's v3 validator).
                Peer::Entity(Entity::KubeApiserver) => {
                    let named_ports = match &rule.ports {
                        Ports::All => false,
                        Ports::Some(list) => list.iter().any(|p| p.port != PortMatch::All),
                    };
                    if rule.direction == Direction::Egress && named_ports {
                        self.unsupported(
                            "ports on a rule to `kube-apiserver`",
                            r.span,
                            "Calico reaches the API server through the `kubernetes` Service, whose own ports it \
                             takes and which a rule may not narrow; drop the ports (`connects to kube-apiserver`, \
                             or `on tcp`), name the API server's address with a `cidr` parameter, or use --target cilium",
                        );
                        continue;
                    }
                    EntityRule { services: Some(API_SERVER_SERVICE), ..EntityRule::default() }
                }
                Peer::Entity(e @ (Entity::World | Entity::Host)) => {
                    let help = match e {
                        Entity::World => {
                            "Calico has no peer for \"outside the cluster\"; name the external networks as CIDRs, use `anywhere`, or use --target cilium"
                        }
                        _ => "name the nodes' addresses as CIDRs, or use --target cilium",
                    };
                    self.unsupported(&format!("the `{}` peer", e.keyword()), r.span, help);
                    continue;
                }
                Peer::Entity(Entity::Anywhere) => unreachable!("handled above"),
                Peer::Fqdn(name) => {
                    self.unsupported(
                        &format!("DNS names (`\"{name}\"`)"),
                        r.span,
                        "open-source Calico cannot match DNS names; name the addresses as CIDRs, or use --target cilium",
                    );
                    continue;
                }
            };
            let entity = Some(entity);
            if !out.contains(&entity) {
                out.push(entity);
            }
        }
        for nets in plain_nets.iter().filter(|n| !n.is_empty()) {
            for chunk in nets.chunks(MAX_NETS) {
                out.push(Some(EntityRule { nets: Some(chunk.to_vec()), ..EntityRule::default() }));
            }
        }
        out
    }

    fn default_deny(&mut self, d: &ir::DefaultDeny) -> Object {
        let (kind, namespace, namespace_selector) = match d.namespace {
            Some(ns) => ("NetworkPolicy", Some(self.program.namespace(ns).name.clone()), None),
            // Pods of every namespace, and not host endpoints, which have none (the
            // "default deny" example of docs.tigera.io/calico/latest/network-policy/get-started).
            None => ("GlobalNetworkPolicy", None, Some(format!("has({NAMESPACE_NAME_LABEL})"))),
        };
        let spec = Spec {
            tier: self.tier(),
            order: ORDER,
            selector: "all()".to_string(),
            namespace_selector,
            types: vec![type_name(d.direction)],
            ingress: Vec::new(),
            egress: Vec::new(),
        };
        let (name, annotations) =
            crate::backend::default_deny_meta(Target::Calico, kind, d, self.cx, &mut self.errors);
        object(kind, &name, namespace, annotations, spec, d.origin)
    }

    /// A workload's selector expression (see [`Emitter::selector`]), written once per target.
    fn workload_selector(&mut self, w: WorkloadId, span: Span) -> String {
        let expr = self.memo.workloads[w.0 as usize]
            .get_or_init(|| selector_expr(&self.program.workload(w).selector));
        self.expression(expr.clone(), span)
    }

    /// `projectcalico.org/name == '<name>'`, written once per namespace and target.
    fn namespace_selector(&self, n: NamespaceId) -> String {
        self.memo.namespaces[n.0 as usize]
            .get_or_init(|| namespace_by_name(&self.program.namespace(n).name))
            .clone()
    }

    /// A selector expression, or an error where Calico cannot hold it.
    fn selector(&mut self, s: &LabelSelector, span: Span) -> String {
        self.expression(selector_expr(s), span)
    }

    /// The expression, or the error at `span` where Calico cannot hold it.
    fn expression(&mut self, expr: Result<String, String>, span: Span) -> String {
        match expr {
            Ok(expr) => expr,
            Err(what) => {
                self.errors.push(EmitError::Unrepresentable {
                    target: Target::Calico,
                    what,
                    span,
                    help: "shorten the selector: fewer or shorter labels and values".to_string(),
                });
                String::new()
            }
        }
    }

    fn unsupported(&mut self, construct: &str, span: Span, help: &str) {
        self.errors.push(EmitError::Unsupported {
            target: Target::Calico,
            construct: construct.to_string(),
            span,
            help: help.to_string(),
        });
    }
}

/// The (protocol, ports) pairs of a rule: every protocol and port, or per protocol every
/// port or up to [`MAX_PORTS`] at a time.
#[allow(clippy::type_complexity)]
fn port_groups(ports: &Ports) -> Vec<(Option<Protocol>, Option<Vec<PortValue>>)> {
    let Ports::Some(list) = ports else { return vec![(None, None)] };
    let mut out = Vec::new();
    for proto in Protocol::ALL {
        let of: Vec<&ir::PortRule> = list.iter().filter(|r| r.protocol == proto).collect();
        if of.is_empty() {
            continue;
        }
        if of.iter().any(|r| r.port == PortMatch::All) {
            out.push((Some(proto), None));
            continue;
        }
        let values: Vec<PortValue> = of
            .iter()
            .map(|r| match &r.port {
                PortMatch::Single(n) => PortValue::Number(*n),
                PortMatch::Range(a, b) => PortValue::Text(format!("{a}:{b}")),
                PortMatch::Named(n) => PortValue::Text(n.clone()),
                PortMatch::All => unreachable!("handled above"),
            })
            .collect();
        for chunk in values.chunks(MAX_PORTS) {
            out.push((Some(proto), Some(chunk.to_vec())));
        }
    }
    out
}

fn object(
    kind: &'static str,
    name: &str,
    namespace: Option<String>,
    annotations: BTreeMap<String, String>,
    spec: Spec,
    origin: Span,
) -> Object {
    crate::backend::custom_object(API_VERSION, kind, name, namespace, annotations, spec, origin)
}

fn type_name(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "Ingress",
        Direction::Egress => "Egress",
    }
}

mod selectors;
use selectors::*;
pub use selectors::{quote, selector_expr};
