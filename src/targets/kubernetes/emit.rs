//! Kubernetes `networking.k8s.io/v1` NetworkPolicy, built from `k8s-openapi` types.
//!
//! One NetworkPolicy per policed workload, named after it, and one per namespace default deny.
//! Semantics follow kubernetes/api `networking/v1/types.go` and the website's
//! `concepts/services-networking/network-policies.md`; each choice below cites why.

use crate::backend::validation::Notes;
use crate::backend::{reason_suffix, Backend, EmitContext, EmitError, Object, Target, MANAGED_BY};
use crate::ir::{
    self, Action, Direction, Entity, LabelSelector, NamespaceId, Peer, PortMatch, Ports, Program, WorkloadId,
    KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE,
};
use crate::span::Span;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The immutable namespace-name label, set by the API server on every namespace since 1.21.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub struct Kubernetes;

impl Backend for Kubernetes {
    fn target(&self) -> Target {
        Target::Kubernetes
    }

    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>> {
        let (objects, errors) = policies(program, cx, None);
        crate::backend::finish(Target::Kubernetes, objects, errors)
    }
}

/// Every NetworkPolicy of `program`, unsorted. Alone (`companion: None`), every deny rule and
/// cluster-wide default deny is an error; as the NetworkPolicy half of `companion` (the target
/// that writes ClusterNetworkPolicies beside them), those and the allows to DNS names are left
/// to it, and errors name that target.
pub(crate) fn policies(
    program: &Program,
    cx: &EmitContext,
    companion: Option<Target>,
) -> (Vec<Object>, Vec<EmitError>) {
    let target = companion.unwrap_or(Target::Kubernetes);
    let mut e = Emitter { program, cx, errors: Vec::new(), target };
    if !e.companion() {
        // Every deny rule is an error here, whether or not its workload gets a policy: a deny
        // that is not emitted must never pass silently.
        for rule in program.rules.iter().filter(|r| r.action == Action::Deny) {
            e.unsupported(
                crate::backend::deny_construct(rule.direction),
                rule.origin,
                "Kubernetes NetworkPolicy only allows; use --target cilium or --target calico for deny rules, \
                 or --target kubernetes-cnp where the cluster implements ClusterNetworkPolicy",
            );
        }
    }
    let (mut objects, errors) = crate::backend::per_workload(program, |range| {
        let mut e = Emitter { program, cx, errors: Vec::new(), target };
        let objects = range.filter_map(|i| e.workload_policy(WorkloadId(i as u32))).collect();
        (objects, e.errors)
    });
    e.errors.extend(errors);
    for d in &program.default_denies {
        objects.extend(e.default_deny(d));
    }
    (objects, e.errors)
}

struct Emitter<'a> {
    program: &'a Program,
    cx: &'a EmitContext<'a>,
    errors: Vec<EmitError>,
    /// The target errors name: `kubernetes`, or the companion's.
    target: Target,
}

impl Emitter<'_> {
    /// Whether a companion writes the deny rules, cluster-wide default denies and DNS names.
    fn companion(&self) -> bool {
        self.target != Target::Kubernetes
    }

    fn workload_policy(&mut self, w: WorkloadId) -> Option<Object> {
        let p = self.program;
        let wl = p.workload(w);
        let isolated =
            |dir| p.rules_of(w, dir).any(|r| r.action == Action::Allow) || p.isolation_of(w, dir).is_some();
        let (ingress_on, egress_on) = (isolated(Direction::Ingress), isolated(Direction::Egress));
        if !ingress_on && !egress_on {
            return None;
        }
        let mut notes = Notes::default();
        let ingress = self.rules(w, Direction::Ingress, &mut notes);
        let egress = self.rules(w, Direction::Egress, &mut notes);
        for dir in [Direction::Ingress, Direction::Egress] {
            if let Some(iso) = p.isolation_of(w, dir) {
                let reason = reason_suffix(&iso.reason);
                notes.line(format_args!(
                    "{}: nothing{reason} ({})",
                    dir.as_str(),
                    (self.cx.locate)(iso.origin)
                ));
            }
        }
        // Always explicit: if omitted, every policy counts as Ingress and Egress only when an
        // egress section exists, so an egress-only or deny-all-egress policy would be wrong
        // (types.go `PolicyTypes`; Calico defaults differently, so never rely on defaults).
        let mut policy_types = Vec::new();
        if ingress_on {
            policy_types.push("Ingress".to_string());
        }
        if egress_on {
            policy_types.push("Egress".to_string());
        }
        let spec = net::NetworkPolicySpec {
            pod_selector: Some(label_selector(&wl.selector)),
            policy_types: Some(policy_types),
            ingress: ingress_on.then_some(
                ingress
                    .into_iter()
                    .map(|(from, ports)| net::NetworkPolicyIngressRule { from, ports })
                    .collect(),
            ),
            egress: egress_on.then_some(
                egress.into_iter().map(|(to, ports)| net::NetworkPolicyEgressRule { to, ports }).collect(),
            ),
        };
        let ns = p.namespace(wl.namespace).name.clone();
        let annotations = crate::backend::validation::provenance(
            self.target,
            "NetworkPolicy",
            wl,
            (self.cx.locate)(wl.span),
            notes,
            &mut self.errors,
        );
        Some(object(&wl.name, ns, annotations, spec, wl.span))
    }

    /// One Kubernetes rule per IR allow rule, in source order, with a provenance line each.
    #[allow(clippy::type_complexity)]
    fn rules(
        &mut self,
        w: WorkloadId,
        dir: Direction,
        notes: &mut Notes,
    ) -> Vec<(Option<Vec<net::NetworkPolicyPeer>>, Option<Vec<net::NetworkPolicyPort>>)> {
        let mut out = Vec::new();
        for rule in self.program.rules_of(w, dir) {
            if rule.action == Action::Deny {
                // Reported once for every deny rule in `emit`, or written by the companion.
                continue;
            }
            if self.companion() && rule.peers.iter().all(|p| matches!(p.peer, Peer::Fqdn(_))) {
                // Only DNS names: the companion writes the rule. Left here, its peer list would
                // be empty, and an empty `to` matches every destination (types.go).
                continue;
            }
            let peers = self.peers(rule, self.program.workload(w).namespace);
            let ports = ports(&rule.ports);
            let index = out.len();
            let reason = reason_suffix(&rule.reason);
            notes.line(format_args!("{}[{index}]{reason} ({})", dir.as_str(), (self.cx.locate)(rule.origin)));
            out.push((peers, ports));
        }
        out
    }

    /// `None` means every peer: "from anywhere" omits `from` entirely. An ipBlock of 0.0.0.0/0
    /// would not be the same: whether it matches pod and node IPs is CNI-specific (types.go
    /// `IPBlock`; calico#6634 vs cilium#9209), and Gardener found omission the portable form.
    fn peers(&mut self, rule: &ir::Rule, home: NamespaceId) -> Option<Vec<net::NetworkPolicyPeer>> {
        if rule.peers.iter().any(|p| matches!(p.peer, Peer::Entity(Entity::Anywhere))) {
            return None;
        }
        let mut out: Vec<net::NetworkPolicyPeer> = Vec::new();
        for p in &rule.peers {
            if let Some(peer) = self.peer(&p.peer, home, p.span) {
                if !out.contains(&peer) {
                    out.push(peer);
                }
            }
        }
        Some(out)
    }

    fn peer(&mut self, peer: &Peer, home: NamespaceId, span: Span) -> Option<net::NetworkPolicyPeer> {
        let p = self.program;
        Some(match peer {
            Peer::Workload(x) => {
                let wl = p.workload(*x);
                // Namespace and pod selector in ONE peer: pods matching podSelector *in* that
                // namespace. Two peers would mean "local pods OR any pod of the namespace"
                // (website, "Behavior of to and from selectors").
                let namespace_selector =
                    (wl.namespace != home).then(|| namespace_by_name(&p.namespace(wl.namespace).name));
                net::NetworkPolicyPeer {
                    pod_selector: Some(label_selector(&wl.selector)),
                    namespace_selector,
                    ip_block: None,
                }
            }
            // Both selectors in one peer: the workload's pods in the set's namespaces.
            Peer::WorkloadIn(w, s) => net::NetworkPolicyPeer {
                pod_selector: Some(label_selector(&p.workload(*w).selector)),
                namespace_selector: Some(label_selector(&p.namespace_set(*s).selector)),
                ip_block: None,
            },
            Peer::Namespace(n) => net::NetworkPolicyPeer {
                namespace_selector: Some(namespace_by_name(&p.namespace(*n).name)),
                ..Default::default()
            },
            Peer::NamespaceSet(s) => net::NetworkPolicyPeer {
                namespace_selector: Some(label_selector(&p.namespace_set(*s).selector)),
                ..Default::default()
            },
            Peer::Cidr(c) => net::NetworkPolicyPeer {
                ip_block: Some(net::IPBlock {
                    cidr: c.net.to_string(),
                    except: (!c.except.is_empty()).then(|| c.except.iter().map(|e| e.to_string()).collect()),
                }),
                ..Default::default()
            },
            // `namespaceSelector: {}` selects all namespaces (types.go `NetworkPolicyPeer`).
            Peer::Entity(Entity::Cluster) => net::NetworkPolicyPeer {
                namespace_selector: Some(meta::LabelSelector::default()),
                ..Default::default()
            },
            Peer::Entity(Entity::KubeDns) => net::NetworkPolicyPeer {
                namespace_selector: Some(namespace_by_name(KUBE_DNS_NAMESPACE)),
                pod_selector: Some(meta::LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        KUBE_DNS_LABEL.0.to_string(),
                        KUBE_DNS_LABEL.1.to_string(),
                    )])),
                    match_expressions: None,
                }),
                ip_block: None,
            },
            Peer::Entity(Entity::Anywhere) => return None,
            Peer::Entity(e @ (Entity::World | Entity::Host | Entity::KubeApiserver)) => {
                let help = match e {
                    Entity::World => "use `anywhere`, name the external networks as CIDRs, or use --target cilium",
                    Entity::Host => "name the nodes' addresses as CIDRs (a pod's own node always reaches it), or use --target cilium",
                    _ => "name the API server's address with a `cidr` parameter, as in `param api: cidr = 10.0.0.1`, or use --target cilium",
                };
                self.unsupported(&format!("the `{}` peer", e.keyword()), span, help);
                return None;
            }
            // Written by the companion; the rule keeps its other peers.
            Peer::Fqdn(_) if self.companion() => return None,
            Peer::Fqdn(name) => {
                self.unsupported(
                    &format!("DNS names (`\"{name}\"`)"),
                    span,
                    "name the destination's addresses as CIDRs, or use --target cilium for DNS names",
                );
                return None;
            }
        })
    }

    fn default_deny(&mut self, d: &ir::DefaultDeny) -> Option<Object> {
        let Some(ns) = d.namespace else {
            if self.companion() {
                return None;
            }
            self.unsupported(
                "a cluster-wide default deny",
                d.origin,
                "put `default deny` inside a namespace; a NetworkPolicy is namespaced",
            );
            return None;
        };
        // The documented pattern: select every pod, list the type, give no rules
        // (website "Default policies").
        let dir = match d.direction {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        };
        let spec = net::NetworkPolicySpec {
            pod_selector: Some(meta::LabelSelector::default()),
            policy_types: Some(vec![dir.to_string()]),
            ingress: None,
            egress: None,
        };
        let (name, annotations) =
            crate::backend::default_deny_meta(self.target, "NetworkPolicy", d, self.cx, &mut self.errors);
        Some(object(&name, self.program.namespace(ns).name.clone(), annotations, spec, d.origin))
    }

    fn unsupported(&mut self, construct: &str, span: Span, help: &str) {
        self.errors.push(EmitError::Unsupported {
            target: self.target,
            construct: construct.to_string(),
            span,
            help: help.to_string(),
        });
    }
}

fn object(
    name: &str,
    ns: String,
    annotations: BTreeMap<String, String>,
    spec: net::NetworkPolicySpec,
    origin: Span,
) -> Object {
    let policy = net::NetworkPolicy {
        metadata: meta::ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(ns.clone()),
            labels: Some(BTreeMap::from([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())])),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(spec),
    };
    Object {
        kind: "NetworkPolicy",
        namespace: Some(ns),
        name: name.to_string(),
        yaml: crate::yaml::document(&policy),
        origin,
    }
}

pub(crate) fn namespace_by_name(name: &str) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: Some(BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())])),
        match_expressions: None,
    }
}

pub(crate) fn label_selector(s: &LabelSelector) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: (!s.match_labels.is_empty()).then(|| s.match_labels.clone()),
        match_expressions: (!s.expressions.is_empty()).then(|| {
            s.expressions
                .iter()
                .map(|e| meta::LabelSelectorRequirement {
                    key: e.key.clone(),
                    operator: e.op.as_k8s().to_string(),
                    values: (!e.values.is_empty()).then(|| e.values.clone()),
                })
                .collect()
        }),
    }
}

/// `None` means every port: "If this field is empty or missing, this rule matches all ports"
/// (types.go). `protocol` is always written out, though Kubernetes defaults it to TCP, because
/// other dialects default differently (Cilium: ANY).
fn ports(ports: &Ports) -> Option<Vec<net::NetworkPolicyPort>> {
    let Ports::Some(list) = ports else { return None };
    Some(
        list.iter()
            .map(|r| {
                let (port, end_port) = match &r.port {
                    PortMatch::All => (None, None),
                    PortMatch::Single(p) => (Some(IntOrString::Int(*p as i32)), None),
                    // `endPort` needs a numeric `port` and is GA since 1.25 (KEP-2079).
                    PortMatch::Range(a, b) => (Some(IntOrString::Int(*a as i32)), Some(*b as i32)),
                    // A named port never gets `endPort` (types.go).
                    PortMatch::Named(n) => (Some(IntOrString::String(n.clone())), None),
                };
                net::NetworkPolicyPort { protocol: Some(r.protocol.as_str().to_string()), port, end_port }
            })
            .collect(),
    )
}
