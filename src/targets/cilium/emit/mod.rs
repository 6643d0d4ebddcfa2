//! Cilium `cilium.io/v2` CiliumNetworkPolicy, and CiliumClusterwideNetworkPolicy for a
//! cluster-wide default deny.
//!
//! One policy per policed workload, named after it, and one per default deny. Semantics follow
//! cilium/cilium `Documentation/security/policy/{intro,language,layer3,layer4,deny,kubernetes}.rst`
//! and `pkg/policy/api`; each choice below cites why. The traps:
//! - one kind of L3 peer per rule (endpoints, entities, CIDR sets, FQDNs), so mixed peer lists
//!   are split ("only one selector type being allowed in a single API rule", cilium#38795);
//! - every label key carries the `k8s:` source, and every peer selector names its namespace;
//! - `protocol` is always written (omitted means ANY in Cilium, TCP in Kubernetes);
//! - at most 40 ports per `toPorts` entry (`l4.go`, `MaxItems=40`);
//! - a port name in an egress rule resolves over every pod of the cluster, not on the
//!   destination, so it is E0306 (see `Emitter::egress_named_ports`);
//! - isolation without rules uses an empty non-nil peer list, which selects nothing
//!   (`mergeEndpointSelectors`: "Explicitly check for empty non-nil slices"), never `ingress: []`;
//! - deny rules never isolate: where the source does not isolate a direction that has deny rules,
//!   `enableDefaultDeny` turns Cilium's implicit default deny off (`intro.rst`, 1.16+).

use crate::analysis::ports::PortSet;
use crate::analysis::reach::peer_coverage;
use crate::analysis::side::Match;
use crate::analysis::universe::Universe;
use crate::backend::validation::Notes;
use crate::backend::{
    deny_construct, reason_suffix, Backend, EmitContext, EmitError, Object, Target, Version,
};
use crate::ir::{
    self, Action, Direction, Entity, LabelOp, LabelSelector, NamespaceSetId, Peer, PortMatch, Ports, Program,
    Protocol, WorkloadId, KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE,
};
use crate::span::Span;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde::Serialize;
use std::collections::BTreeMap;

pub const API_VERSION: &str = "cilium.io/v2";
/// The label Cilium gives every pod identity for its namespace (`kubernetes.rst`).
pub const NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace";
/// The prefix of namespace labels copied onto pod identities (`kubernetes.rst`, "Namespace
/// labels"); `getEndpointSelector` in `pkg/k8s/apis/cilium.io/utils` leaves a selector that
/// names [`NAMESPACE_LABEL`] alone instead of scoping it to the policy's namespace.
pub const NAMESPACE_LABELS_PREFIX: &str = "k8s:io.cilium.k8s.namespace.labels.";
/// Label source of Kubernetes pod labels. Without it a key matches labels from any source.
pub const K8S_SOURCE: &str = "k8s:";
/// Most ports one `toPorts` entry may list (`pkg/policy/api/l4.go`, `+kubebuilder:validation:MaxItems=40`).
pub const MAX_PORTS: usize = 40;
/// `endPort`: "policy: Add support for port ranges" (cilium#32807, released in 1.16).
pub const RANGES_SINCE: Version = Version::new(1, 16, 0);
/// `enableDefaultDeny` (cilium#35558, 1.16).
pub const ENABLE_DEFAULT_DENY_SINCE: Version = Version::new(1, 16, 0);
/// `ingressDeny` / `egressDeny` (`deny.rst`: "introduced in 1.9").
pub const DENY_SINCE: Version = Version::new(1, 9, 0);

pub struct Cilium;

impl Backend for Cilium {
    fn target(&self) -> Target {
        Target::Cilium
    }

    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>> {
        let has_fqdn = program.rules.iter().any(|r| r.peers.iter().any(|p| matches!(p.peer, Peer::Fqdn(_))));
        let universe = has_fqdn.then(|| Universe::new(program));
        let (mut objects, errors) = crate::backend::per_workload(program, |range| {
            let mut e = Emitter::new(program, cx, universe.as_ref(), Vec::new());
            let objects = range.filter_map(|i| e.workload_policy(WorkloadId(i as u32))).collect();
            (objects, e.errors)
        });
        let mut e = Emitter::new(program, cx, universe.as_ref(), errors);
        // A selector on a dropped label is reported once per declaration, not per use.
        let mut seen = std::collections::HashSet::new();
        e.errors.retain(|err| seen.insert(err.clone()));
        for d in &program.default_denies {
            objects.push(e.default_deny(d));
        }
        crate::backend::finish(Target::Cilium, objects, e.errors)
    }
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Spec {
    endpoint_selector: meta::LabelSelector,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_default_deny: Option<DefaultDeny>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress_deny: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    egress: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    egress_deny: Vec<Rule>,
}

#[derive(Serialize, Default)]
struct DefaultDeny {
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    egress: Option<bool>,
}

/// One ingress or egress rule. Exactly one of the peer fields is set (`None` is omitted,
/// `Some(vec![])` is the explicit "nothing").
#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    from_endpoints: Option<Vec<meta::LabelSelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_entities: Option<Vec<&'static str>>,
    #[serde(rename = "fromCIDRSet", skip_serializing_if = "Option::is_none")]
    from_cidr_set: Option<Vec<CidrRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_endpoints: Option<Vec<meta::LabelSelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_entities: Option<Vec<&'static str>>,
    #[serde(rename = "toCIDRSet", skip_serializing_if = "Option::is_none")]
    to_cidr_set: Option<Vec<CidrRule>>,
    #[serde(rename = "toFQDNs", skip_serializing_if = "Option::is_none")]
    to_fqdns: Option<Vec<FqdnSelector>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_ports: Option<Vec<PortRule>>,
}

impl Rule {
    /// A rule towards endpoints: `fromEndpoints` on ingress, `toEndpoints` on egress.
    fn endpoints(dir: Direction, peers: Vec<meta::LabelSelector>) -> Rule {
        match dir {
            Direction::Ingress => Rule { from_endpoints: Some(peers), ..Rule::default() },
            Direction::Egress => Rule { to_endpoints: Some(peers), ..Rule::default() },
        }
    }

    /// `fromEntities` / `toEntities`; an empty list selects nothing.
    fn entities(dir: Direction, peers: Vec<&'static str>) -> Rule {
        match dir {
            Direction::Ingress => Rule { from_entities: Some(peers), ..Rule::default() },
            Direction::Egress => Rule { to_entities: Some(peers), ..Rule::default() },
        }
    }

    fn cidrs(dir: Direction, peers: Vec<CidrRule>) -> Rule {
        match dir {
            Direction::Ingress => Rule { from_cidr_set: Some(peers), ..Rule::default() },
            Direction::Egress => Rule { to_cidr_set: Some(peers), ..Rule::default() },
        }
    }
}

#[derive(Serialize, Clone, PartialEq)]
struct CidrRule {
    cidr: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
}

#[derive(Serialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
struct FqdnSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    match_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    match_pattern: Option<String>,
}

#[derive(Serialize, Clone)]
struct PortRule {
    ports: Vec<PortProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<L7Rules>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PortProtocol {
    port: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_port: Option<i32>,
    protocol: &'static str,
}

#[derive(Serialize, Clone)]
struct L7Rules {
    dns: Vec<FqdnSelector>,
}

/// The peers of one IR rule, sorted into Cilium's mutually exclusive selector kinds.
#[derive(Default)]
struct Peers {
    endpoints: Vec<meta::LabelSelector>,
    entities: Vec<&'static str>,
    cidrs: Vec<CidrRule>,
    fqdns: Vec<FqdnSelector>,
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

struct Emitter<'a> {
    program: &'a Program,
    cx: &'a EmitContext<'a>,
    /// Present when some rule names a DNS name: decides whether the DNS-proxy rule is allowed.
    universe: Option<&'a Universe>,
    errors: Vec<EmitError>,
    /// The selectors [`identity_labels`](Emitter::identity_labels) has looked at: a workload's
    /// is named by every rule towards it, and its problems are reported once anyway.
    checked: rustc_hash::FxHashSet<Labels>,
}

impl<'a> Emitter<'a> {
    fn new(
        program: &'a Program,
        cx: &'a EmitContext<'a>,
        universe: Option<&'a Universe>,
        errors: Vec<EmitError>,
    ) -> Self {
        Emitter { program, cx, universe, errors, checked: rustc_hash::FxHashSet::default() }
    }

    fn workload_policy(&mut self, w: WorkloadId) -> Option<Object> {
        let p = self.program;
        let wl = p.workload(w);
        let mut spec = Spec { endpoint_selector: pod_selector(&wl.selector, None), ..Spec::default() };
        self.check_labels(Labels::Workload(w));
        let mut notes = Notes::default();
        let mut default_deny = DefaultDeny::default();
        let mut any = false;
        for dir in [Direction::Ingress, Direction::Egress] {
            let (allow, deny): (Vec<&ir::Rule>, Vec<&ir::Rule>) =
                p.rules_of(w, dir).partition(|r| r.action == Action::Allow);
            let isolation = p.isolation_of(w, dir);
            if allow.is_empty() && deny.is_empty() && isolation.is_none() {
                continue;
            }
            any = true;
            let (allow_name, deny_name) = match dir {
                Direction::Ingress => ("ingress", "ingressDeny"),
                Direction::Egress => ("egress", "egressDeny"),
            };
            let mut allows = Vec::new();
            let mut fqdn_at = None;
            for rule in &allow {
                let rules = self.rules(rule, dir);
                fqdn_at = fqdn_at
                    .or_else(|| rule.peers.iter().find(|p| matches!(p.peer, Peer::Fqdn(_))).map(|p| p.span));
                self.note(&mut notes, allow_name, allows.len(), rules.len(), &rule.reason, rule.origin);
                allows.extend(rules);
            }
            if let Some(span) = fqdn_at {
                if let Some(rule) = self.dns_proxy_rule(w, span) {
                    notes.line(format_args!(
                        "{allow_name}[{}]: DNS lookups through Cilium's DNS proxy, so DNS names resolve ({})",
                        allows.len(),
                        (self.cx.locate)(span)
                    ));
                    allows.push(rule);
                }
            }
            let isolated = p.is_isolated(w, dir);
            if isolated && allows.is_empty() {
                // Isolated with nothing allowed: a rule whose peer list is empty but present.
                // It turns on default deny for the direction and selects no peer.
                let (reason, origin) = match isolation {
                    Some(i) => (i.reason.clone(), i.origin),
                    None => (None, p.isolating_line(w, dir).unwrap_or(wl.span)),
                };
                notes.line(format_args!(
                    "{allow_name}[0]: nothing{} ({})",
                    reason_suffix(&reason),
                    (self.cx.locate)(origin)
                ));
                allows.push(Rule::entities(dir, Vec::new()));
            }
            let mut denies = Vec::new();
            for rule in &deny {
                if self.cx.versions.cilium < DENY_SINCE {
                    self.needs(deny_construct(dir), DENY_SINCE, rule.origin);
                }
                let rules = self.rules(rule, dir);
                self.note(&mut notes, deny_name, denies.len(), rules.len(), &rule.reason, rule.origin);
                denies.extend(rules);
            }
            if !isolated && !deny.is_empty() {
                // A deny section alone turns on default deny for its direction
                // (`evaluateDefaultDenyForRule`); the source only subtracts.
                if self.cx.versions.cilium < ENABLE_DEFAULT_DENY_SINCE {
                    self.needs(
                        &format!(
                            "{} for a workload whose {} is otherwise open (`enableDefaultDeny`)",
                            deny_construct(dir),
                            dir.as_str()
                        ),
                        ENABLE_DEFAULT_DENY_SINCE,
                        deny[0].origin,
                    );
                }
                match dir {
                    Direction::Ingress => default_deny.ingress = Some(false),
                    Direction::Egress => default_deny.egress = Some(false),
                }
            }
            match dir {
                Direction::Ingress => (spec.ingress, spec.ingress_deny) = (allows, denies),
                Direction::Egress => (spec.egress, spec.egress_deny) = (allows, denies),
            }
        }
        if !any {
            return None;
        }
        if default_deny.ingress.is_some() || default_deny.egress.is_some() {
            spec.enable_default_deny = Some(default_deny);
        }
        let ns = p.namespace(wl.namespace).name.clone();
        let annotations = crate::backend::validation::provenance(
            Target::Cilium,
            "CiliumNetworkPolicy",
            wl,
            (self.cx.locate)(wl.span),
            notes,
            &mut self.errors,
        );
        Some(object("CiliumNetworkPolicy", &wl.name, Some(ns), annotations, spec, wl.span))
    }

    /// `section[i]: reason (file:line)` for each Cilium rule one source rule became.
    fn note(
        &self,
        notes: &mut Notes,
        section: &str,
        start: usize,
        n: usize,
        reason: &Option<String>,
        at: Span,
    ) {
        if n == 0 {
            return;
        }
        let (reason, at) = (reason_suffix(reason), (self.cx.locate)(at));
        for i in start..start + n {
            notes.line(format_args!("{section}[{i}]{reason} ({at})"));
        }
    }

    /// The Cilium rules of one source rule: one per kind of peer, each with the same ports.
    fn rules(&mut self, rule: &ir::Rule, dir: Direction) -> Vec<Rule> {
        if dir == Direction::Egress {
            self.egress_named_ports(rule);
        }
        let to_ports = self.port_rules(&rule.ports, rule.origin);
        let mut peers = Peers::default();
        for p in &rule.peers {
            self.peer(&p.peer, p.span, rule.action, &mut peers);
        }
        if peers.entities.contains(&"all") {
            // `all` covers every other peer of the rule.
            peers = Peers { entities: vec!["all"], ..Peers::default() };
        }
        let mut out = Vec::new();
        if !peers.endpoints.is_empty() {
            out.push(Rule::endpoints(dir, peers.endpoints));
        }
        if !peers.entities.is_empty() {
            out.push(Rule::entities(dir, peers.entities));
        }
        if !peers.cidrs.is_empty() {
            out.push(Rule::cidrs(dir, peers.cidrs));
        }
        if !peers.fqdns.is_empty() {
            out.push(Rule { to_fqdns: Some(peers.fqdns), ..Rule::default() });
        }
        for r in &mut out {
            r.to_ports.clone_from(&to_ports);
        }
        out
    }

    fn peer(&mut self, peer: &Peer, span: Span, action: Action, out: &mut Peers) {
        let p = self.program;
        match peer {
            Peer::Workload(x) => {
                let wl = p.workload(*x);
                self.check_labels(Labels::Workload(*x));
                push_unique(
                    &mut out.endpoints,
                    pod_selector(&wl.selector, Some(&p.namespace(wl.namespace).name)),
                );
            }
            Peer::Namespace(n) => push_unique(&mut out.endpoints, namespace_selector(&p.namespace(*n).name)),
            Peer::WorkloadIn(w, s) => {
                let (wl, set) = (p.workload(*w), p.namespace_set(*s));
                self.check_labels(Labels::Workload(*w));
                self.check_labels(Labels::Set(*s));
                push_unique(&mut out.endpoints, workload_in_selector(&wl.selector, &set.selector))
            }
            Peer::NamespaceSet(s) => {
                let set = p.namespace_set(*s);
                self.check_labels(Labels::Set(*s));
                push_unique(&mut out.endpoints, namespace_set_selector(&set.selector))
            }
            // Every pod: any endpoint that has a namespace. The `cluster` entity would also
            // take in the nodes (`layer3.rst`: "cluster … including host/remote-node").
            Peer::Entity(Entity::Cluster) => push_unique(&mut out.endpoints, all_pods_selector()),
            Peer::Entity(Entity::KubeDns) => push_unique(&mut out.endpoints, kube_dns_selector()),
            Peer::Entity(Entity::Anywhere) => push_unique(&mut out.entities, "all"),
            Peer::Entity(Entity::World) => push_unique(&mut out.entities, "world"),
            Peer::Entity(Entity::Host) => push_unique(&mut out.entities, "host"),
            Peer::Entity(Entity::KubeApiserver) => push_unique(&mut out.entities, "kube-apiserver"),
            Peer::Cidr(c) => push_unique(
                &mut out.cidrs,
                CidrRule {
                    cidr: c.net.to_string(),
                    except: c.except.iter().map(|e| e.to_string()).collect(),
                },
            ),
            Peer::Fqdn(name) if action == Action::Deny => self.errors.push(EmitError::Unsupported {
                target: Target::Cilium,
                construct: format!("DNS names in deny rules (`\"{name}\"`)"),
                span,
                help: "Cilium deny rules take no `toFQDNs` (deny.rst); name the addresses as CIDRs"
                    .to_string(),
            }),
            // `*` matches within one dot-separated label (`layer3.rst`, "DNS based").
            Peer::Fqdn(name) => push_unique(
                &mut out.fqdns,
                if name.contains('*') {
                    FqdnSelector { match_name: None, match_pattern: Some(name.clone()) }
                } else {
                    FqdnSelector { match_name: Some(name.clone()), match_pattern: None }
                },
            ),
        }
    }

    /// A port name in an egress rule is E0306. Cilium resolves it on the source's side, over
    /// the container ports of every pod of the cluster, not on the destination as the source
    /// means: `Endpoint.GetNamedPort` ("egress needs named ports of all the pods",
    /// `pkg/endpoint/policy.go`) asks the agent's `NamedPortMultiMap`, whose `GetNamedPort`
    /// (`pkg/types/portmap.go`) fails with `ErrDuplicateNamedPorts` as soon as two pods give
    /// the name different numbers; `L4Filter.toMapState` (`pkg/policy/l4.go`) then adds no
    /// entry ("nothing to be done for undefined named port"), for allow and deny rules alike.
    /// Otherwise the one number is opened (or denied) towards every peer the rule selects,
    /// whether that peer names the port or not. Cilium's own policy engine
    /// (`../shared/oracles/cilium`) shows both. An allow rule would open a port the source
    /// does not, and a deny rule would deny less than the source says, so neither is emitted.
    /// Ingress rules are exact: a name resolves on the pod itself, the destination. (Cilium
    /// 1.20 resolves egress names per destination identity, cilium#44429 and cilium#45760;
    /// netpol does not rely on that yet.)
    fn egress_named_ports(&mut self, rule: &ir::Rule) {
        let Ports::Some(list) = &rule.ports else { return };
        for r in list {
            if let PortMatch::Named(name) = &r.port {
                self.errors.push(EmitError::EgressNamedPort {
                    name: name.clone(),
                    protocol: r.protocol,
                    deny: rule.action == Action::Deny,
                    span: rule.origin,
                });
            }
        }
    }

    /// `None` for every port of every protocol (no L4 restriction). Protocol-only rules use
    /// port 0, which is how Cilium itself reads a NetworkPolicy port without a number
    /// (cilium#14720, "treat empty NetworkPolicyPort as all ports").
    fn port_rules(&mut self, ports: &Ports, span: Span) -> Option<Vec<PortRule>> {
        let Ports::Some(list) = ports else { return None };
        let mut out = Vec::new();
        for r in list {
            let protocol = r.protocol.as_str();
            out.push(match &r.port {
                PortMatch::All => PortProtocol { port: "0".to_string(), end_port: None, protocol },
                PortMatch::Single(n) => PortProtocol { port: n.to_string(), end_port: None, protocol },
                PortMatch::Range(a, b) => {
                    if self.cx.versions.cilium < RANGES_SINCE {
                        self.needs("port ranges", RANGES_SINCE, span);
                    }
                    PortProtocol { port: a.to_string(), end_port: Some(i32::from(*b)), protocol }
                }
                PortMatch::Named(n) => PortProtocol { port: n.clone(), end_port: None, protocol },
            });
        }
        Some(out.chunks(MAX_PORTS).map(|c| PortRule { ports: c.to_vec(), rules: None }).collect())
    }

    /// The rule that sends the workload's DNS lookups through Cilium's DNS proxy, without which
    /// `toFQDNs` never learns an address (`layer3.rst` "DNS based", `layer7.rst` "DNS Proxy").
    /// It only covers what the source already allows towards the cluster DNS, so it never
    /// widens: no allowed lookups is an error instead.
    fn dns_proxy_rule(&mut self, w: WorkloadId, span: Span) -> Option<Rule> {
        let allowed = self.dns_allowed(w);
        let ports: Vec<PortProtocol> = [Protocol::Udp, Protocol::Tcp]
            .into_iter()
            .filter(|p| allowed.contains(*p, 53))
            .map(|p| PortProtocol { port: "53".to_string(), end_port: None, protocol: p.as_str() })
            .collect();
        if ports.is_empty() {
            self.errors
                .push(EmitError::FqdnWithoutDns { workload: self.program.workload(w).name.clone(), span });
            return None;
        }
        Some(Rule {
            to_endpoints: Some(vec![kube_dns_selector()]),
            to_ports: Some(vec![PortRule {
                ports,
                rules: Some(L7Rules {
                    dns: vec![FqdnSelector { match_name: None, match_pattern: Some("*".to_string()) }],
                }),
            }]),
            ..Rule::default()
        })
    }

    /// The ports on which the workload's own egress rules let it reach the cluster DNS on
    /// Cilium. Only peers that certainly cover the DNS pods count, and CIDR peers never do:
    /// "CIDR rules do not apply to traffic where both sides … are managed by Cilium"
    /// (`layer3.rst`), so neither an allowed nor a denied network touches this traffic.
    fn dns_allowed(&self, w: WorkloadId) -> PortSet {
        let u = self.universe.expect("the universe is built when some rule names a DNS name");
        let mut allow =
            if self.program.is_isolated(w, Direction::Egress) { PortSet::empty() } else { PortSet::all() };
        let mut deny = PortSet::empty();
        for rule in self.program.rules_of(w, Direction::Egress) {
            if rule
                .peers
                .iter()
                .any(|p| peer_coverage(self.program, u, &p.peer).get(u, u.kube_dns()) == Match::Yes)
            {
                let ports = PortSet::from_ports(&rule.ports);
                match rule.action {
                    Action::Allow => allow = allow.union(&ports),
                    Action::Deny => deny = deny.union(&ports),
                }
            }
        }
        allow.subtract(&deny)
    }

    fn default_deny(&mut self, d: &ir::DefaultDeny) -> Object {
        let rule = Rule::entities(d.direction, Vec::new());
        let (kind, namespace, endpoint_selector) = match d.namespace {
            // An empty selector in a namespaced policy selects every pod of its namespace.
            Some(ns) => (
                "CiliumNetworkPolicy",
                Some(self.program.namespace(ns).name.clone()),
                meta::LabelSelector::default(),
            ),
            // Every pod of the cluster, and not Cilium's own endpoints (health, ingress),
            // which have no namespace.
            None => ("CiliumClusterwideNetworkPolicy", None, all_pods_selector()),
        };
        let mut spec = Spec { endpoint_selector, ..Spec::default() };
        match d.direction {
            Direction::Ingress => spec.ingress = vec![rule],
            Direction::Egress => spec.egress = vec![rule],
        }
        let (name, annotations) =
            crate::backend::default_deny_meta(Target::Cilium, kind, d, self.cx, &mut self.errors);
        object(kind, &name, namespace, annotations, spec, d.origin)
    }

    fn needs(&mut self, construct: &str, needs: Version, span: Span) {
        self.errors.push(EmitError::NeedsVersion {
            target: Target::Cilium,
            construct: construct.to_string(),
            needs,
            have: self.cx.versions.cilium,
            span,
        });
    }
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

mod selectors;
use selectors::*;
