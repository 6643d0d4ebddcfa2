//! `--target kubernetes-cnp`: Kubernetes NetworkPolicy for every allow (the [`super::emit`]
//! emitter), and the network-policy API's ClusterNetworkPolicy (`policy.networking.k8s.io/
//! v1alpha2`, kubernetes-sigs/network-policy-api v0.2.0, `apis/v1alpha2` and its CRDs in
//! `schemas/kubernetes/network-policy-api/`) for what NetworkPolicy cannot say.
//!
//! How a cluster evaluates them (the CRD's `tier` description): the Admin tier first (policies by
//! ascending `priority`, rules in written order; the first rule that matches decides: `Accept`,
//! `Deny`, or `Pass`, which skips the rest of the tier), then NetworkPolicy (a pod some policy
//! selects gets the union of their allows, the rest is denied), then the Baseline tier, then
//! everything is allowed. So:
//! - `refuses` / `never connects to` become Admin-tier `Deny` rules, one policy per workload
//!   (more where the per-object limits need it): denied whatever any tier allows, as the source
//!   means, and never isolating on their own, since a rule that does not match falls through;
//! - a cluster-wide `default deny egress` becomes a Baseline-tier policy that denies every
//!   destination: NetworkPolicy decides first for pods it selects, as the source's allows do;
//! - with `--cnp-feature domain-names`, allows to DNS names become Admin-tier `Accept` rules
//!   with `domainNames` (experimental, Accept-only in the CRD), after every deny.
//!
//! The traps, each an error or a shape that avoids it:
//! - ingress peers are `namespaces` or `pods` only: a deny from a network, `world`, `anywhere`,
//!   the node or the API server cannot be written (E0301), and neither can a cluster-wide
//!   `default deny ingress` (traffic from outside the cluster would still get in);
//! - `networks` "also matches pod addresses" (CRD, `networks`): a deny to a network is written
//!   after a `Pass` of every pod destination, so it never cuts in-cluster traffic the source
//!   allows (whether a network holds a pod's address is open in the source, and Cilium reads
//!   it this way too); a network with exceptions becomes the blocks that remain;
//! - "If two (or more) policies in the same tier with the same priority could match a
//!   connection … there is no way for the user to reliably determine which one it will choose"
//!   (CRD, `priority`): every policy gets its own priority, in a fixed order (denies to peers,
//!   then denies to networks, then DNS-name accepts; by namespace and workload name), and more
//!   than the 1001 priorities is E0304;
//! - at most 25 rules per direction, 25 peers per rule, 25 protocols per rule and 25 networks
//!   or domain names per peer (CRD `maxItems`): longer lists are split over rules, peers and
//!   policies, never cut;
//! - `destinationNamedPort` matches a container port by name whatever its protocol, so a
//!   source `tcp http` cannot be written (E0301); `domainNames` takes exact names or a
//!   `*.` prefix that matches one or more labels, wider than the source's `*`, which matches
//!   one: only exact names are written.

use super::emit::{label_selector, namespace_by_name};
use crate::backend::validation::Notes;
use crate::backend::{Backend, EmitContext, EmitError, Object, Target};
use crate::ir::{
    Action, Direction, Entity, Peer, PeerRef, PortMatch, Ports, Program, Protocol, Rule, WorkloadId,
    KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE,
};
use crate::span::Span;
use ipnet::IpNet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde::Serialize;
use std::collections::BTreeMap;

pub const API_VERSION: &str = "policy.networking.k8s.io/v1alpha2";
pub const KIND: &str = "ClusterNetworkPolicy";
/// `maxItems` of the v0.2.0 CRD: rules per direction, peers per rule, protocols per rule,
/// networks and domain names per peer.
pub const MAX_ITEMS: usize = 25;
/// `priority` is 0–1000.
pub const MAX_PRIORITY: usize = 1000;

const TARGET: Target = Target::KubernetesCnp;

pub struct KubernetesCnp;

impl Backend for KubernetesCnp {
    fn target(&self) -> Target {
        TARGET
    }

    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>> {
        let (mut objects, mut errors) = super::emit::policies(program, cx, Some(TARGET));
        let mut e = Emitter { program, cx, errors: Vec::new() };
        objects.extend(e.admin());
        objects.extend(e.baseline());
        errors.extend(e.errors);
        crate::backend::finish(TARGET, objects, errors)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    tier: &'static str,
    priority: usize,
    subject: Subject,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<RuleOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    egress: Vec<RuleOut>,
}

/// Exactly one of the two (the YAML writer writes no enums: each one-of is a struct of options).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<meta::LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<Pods>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pods {
    namespace_selector: meta::LabelSelector,
    pod_selector: meta::LabelSelector,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct PeerOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespaces: Option<meta::LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<Pods>,
    #[serde(skip_serializing_if = "Option::is_none")]
    networks: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain_names: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<Vec<PeerOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Vec<PeerOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocols: Option<Vec<ProtocolOut>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProtocolOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<PortOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<PortOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sctp: Option<PortOut>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct PortOut {
    destination_port: Destination,
}

/// `number` or `range`, exactly one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Destination {
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<Range>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct Range {
    start: u16,
    end: u16,
}

fn number(p: u16) -> Destination {
    Destination { number: Some(p), range: None }
}

fn range(start: u16, end: u16) -> Destination {
    Destination { number: None, range: Some(Range { start, end }) }
}

/// The Admin-tier blocks, in priority order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Block {
    /// Denies to pods, namespaces and every address.
    Deny,
    /// Denies to networks, after a `Pass` of every pod.
    DenyNetworks,
    /// Accepts to DNS names.
    Domains,
}

impl Block {
    fn suffix(self) -> &'static str {
        match self {
            Block::Deny => "deny",
            Block::DenyNetworks => "deny-networks",
            Block::Domains => "domains",
        }
    }
}

/// One workload's rules of one block, per direction, each with its provenance note.
#[derive(Default)]
struct Rules {
    ingress: Vec<(RuleOut, String)>,
    egress: Vec<(RuleOut, String)>,
}

struct Emitter<'a> {
    program: &'a Program,
    cx: &'a EmitContext<'a>,
    errors: Vec<EmitError>,
}

impl Emitter<'_> {
    /// Every Admin-tier policy, priorities given in block order.
    fn admin(&mut self) -> Vec<Object> {
        let p = self.program;
        let mut order: Vec<WorkloadId> = (0..p.workloads.len() as u32).map(WorkloadId).collect();
        order.sort_by(|a, b| {
            let (wa, wb) = (p.workload(*a), p.workload(*b));
            (&p.namespace(wa.namespace).name, &wa.name).cmp(&(&p.namespace(wb.namespace).name, &wb.name))
        });
        let mut blocks: Vec<(Block, WorkloadId, Rules)> = Vec::new();
        for &w in &order {
            let mut by_block: BTreeMap<Block, Rules> = BTreeMap::new();
            for rule in p.rules_of_workload(w) {
                self.rule(rule, &mut by_block);
            }
            blocks.extend(by_block.into_iter().map(|(b, r)| (b, w, r)));
        }
        blocks.sort_by_key(|(b, _, _)| *b);
        let mut objects = Vec::new();
        for (block, w, rules) in blocks {
            self.policies(block, w, rules, &mut objects);
        }
        objects
    }

    /// Sorts one rule of a workload into its blocks, or reports why it cannot be written.
    fn rule(&mut self, rule: &Rule, by_block: &mut BTreeMap<Block, Rules>) {
        // As the NetworkPolicies' `netpol/rules` lines: `egress[1]: reason (file:line)`.
        let note =
            format!("{} ({})", crate::backend::reason_suffix(&rule.reason), (self.cx.locate)(rule.origin));
        match rule.action {
            Action::Allow => {
                let names: Vec<(&str, Span)> = rule
                    .peers
                    .iter()
                    .filter_map(|p| match &p.peer {
                        Peer::Fqdn(n) => Some((n.as_str(), p.span)),
                        _ => None,
                    })
                    .collect();
                if names.is_empty() {
                    return;
                }
                let mut exact = Vec::new();
                for &(name, span) in &names {
                    if name.contains('*') {
                        self.unsupported(
                            &format!("the DNS pattern `\"{name}\"`"),
                            span,
                            "ClusterNetworkPolicy's `*.` matches one or more labels, and the source's `*` \
                             exactly one, so the pattern would allow more; list the exact names, or use \
                             --target cilium",
                        );
                    } else {
                        exact.push(name.trim_end_matches('.').to_string());
                    }
                }
                if exact.is_empty() {
                    return;
                }
                if !self.cx.versions.cnp.domain_names {
                    let (name, span) =
                        names.iter().find(|(n, _)| !n.contains('*')).copied().unwrap_or(names[0]);
                    self.errors.push(EmitError::NeedsFeature {
                        target: TARGET,
                        construct: format!("DNS names (`\"{name}\"`)"),
                        feature: "ClusterNetworkPolicy's experimental `domainNames` peer",
                        flag: "--cnp-feature domain-names".to_string(),
                        span,
                    });
                    return;
                }
                let Some(protocols) = self.protocols(rule) else { return };
                let peers: Vec<PeerOut> = exact
                    .chunks(MAX_ITEMS)
                    .map(|c| PeerOut { domain_names: Some(c.to_vec()), ..PeerOut::default() })
                    .collect();
                let out = &mut by_block.entry(Block::Domains).or_default().egress;
                push_split(out, "Accept", Direction::Egress, &peers, &protocols, &note);
            }
            Action::Deny => {
                let (mut peers, mut networks) = (Vec::new(), Vec::new());
                for p in &rule.peers {
                    self.deny_peer(rule.direction, p, &mut peers, &mut networks);
                }
                let Some(protocols) = self.protocols(rule) else { return };
                if !peers.is_empty() {
                    let rules = by_block.entry(Block::Deny).or_default();
                    let out = if rule.direction == Direction::Ingress {
                        &mut rules.ingress
                    } else {
                        &mut rules.egress
                    };
                    push_split(out, "Deny", rule.direction, &peers, &protocols, &note);
                }
                if !networks.is_empty() {
                    networks.sort();
                    networks.dedup();
                    let peers: Vec<PeerOut> = networks
                        .chunks(MAX_ITEMS)
                        .map(|c| PeerOut {
                            networks: Some(c.iter().map(IpNet::to_string).collect()),
                            ..PeerOut::default()
                        })
                        .collect();
                    let out = &mut by_block.entry(Block::DenyNetworks).or_default().egress;
                    push_split(out, "Deny", Direction::Egress, &peers, &protocols, &note);
                }
            }
        }
    }

    /// One peer of a deny rule: a peer of the first block, networks of the second, or an error.
    fn deny_peer(
        &mut self,
        dir: Direction,
        p: &PeerRef,
        peers: &mut Vec<PeerOut>,
        networks: &mut Vec<IpNet>,
    ) {
        let prog = self.program;
        let ingress_only = "ClusterNetworkPolicy's ingress peers are namespaces and pods only; refuse the \
                            traffic where it starts, or use --target cilium or --target calico";
        let out = match &p.peer {
            Peer::Workload(x) => {
                let wl = prog.workload(*x);
                pods(namespace_by_name(&prog.namespace(wl.namespace).name), label_selector(&wl.selector))
            }
            Peer::WorkloadIn(w, s) => pods(
                label_selector(&prog.namespace_set(*s).selector),
                label_selector(&prog.workload(*w).selector),
            ),
            Peer::Namespace(n) => namespaces(namespace_by_name(&prog.namespace(*n).name)),
            Peer::NamespaceSet(s) => namespaces(label_selector(&prog.namespace_set(*s).selector)),
            Peer::Entity(Entity::Cluster) => namespaces(meta::LabelSelector::default()),
            Peer::Entity(Entity::KubeDns) => pods(
                namespace_by_name(KUBE_DNS_NAMESPACE),
                meta::LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        KUBE_DNS_LABEL.0.to_string(),
                        KUBE_DNS_LABEL.1.to_string(),
                    )])),
                    match_expressions: None,
                },
            ),
            // Every destination: every address, and every pod by name too, so no reading
            // depends on whether the networks hold pod addresses.
            Peer::Entity(Entity::Anywhere) if dir == Direction::Egress => {
                peers.push(namespaces(meta::LabelSelector::default()));
                PeerOut { networks: Some(vec!["0.0.0.0/0".into(), "::/0".into()]), ..PeerOut::default() }
            }
            Peer::Cidr(c) if dir == Direction::Egress => {
                networks.extend(subtract(c.net, &c.except));
                return;
            }
            Peer::Entity(Entity::Anywhere) => {
                return self.unsupported("a deny from `anywhere` on ingress", p.span, ingress_only)
            }
            Peer::Cidr(c) => {
                return self.unsupported(
                    &format!("a deny from the network {} on ingress", c.net),
                    p.span,
                    ingress_only,
                )
            }
            Peer::Entity(e @ (Entity::World | Entity::Host | Entity::KubeApiserver)) => {
                let help = match (e, dir) {
                    (Entity::World, Direction::Egress) => {
                        "a network peer also matches pods and nodes; name the external networks as CIDRs, or \
                         use --target cilium"
                    }
                    (_, Direction::Ingress) => ingress_only,
                    (Entity::Host, _) => "name the nodes' addresses as CIDRs, or use --target cilium",
                    _ => "name the API server's address as a CIDR, or use --target cilium",
                };
                return self.unsupported(&format!("a deny with the `{}` peer", e.keyword()), p.span, help);
            }
            Peer::Fqdn(name) => {
                return self.unsupported(
                    &format!("DNS names in deny rules (`\"{name}\"`)"),
                    p.span,
                    "ClusterNetworkPolicy's `domainNames` are for Accept rules only; name the destination's \
                     addresses as CIDRs, or use --target cilium",
                )
            }
        };
        if !peers.contains(&out) {
            peers.push(out);
        }
    }

    /// The protocols of a rule: `Some(vec![])` for every port, `None` (reported) where a port
    /// cannot be written.
    fn protocols(&mut self, rule: &Rule) -> Option<Vec<ProtocolOut>> {
        let Ports::Some(list) = &rule.ports else { return Some(Vec::new()) };
        let mut out = Vec::new();
        for r in list {
            let destination_port = match &r.port {
                // `tcp: {}` is refused (`minProperties: 1`): every port is the whole range.
                PortMatch::All => range(1, 65535),
                PortMatch::Single(p) => number(*p),
                PortMatch::Range(a, b) if a == b => number(*a),
                PortMatch::Range(a, b) => range(*a, *b),
                PortMatch::Named(n) => {
                    self.unsupported(
                        &format!("the named port `{} {n}`", r.protocol.as_str().to_ascii_lowercase()),
                        rule.origin,
                        "ClusterNetworkPolicy's `destinationNamedPort` matches a container port by name \
                         whatever its protocol; write the port number",
                    );
                    return None;
                }
            };
            let port = Some(PortOut { destination_port });
            out.push(match r.protocol {
                Protocol::Tcp => ProtocolOut { tcp: port, ..ProtocolOut::default() },
                Protocol::Udp => ProtocolOut { udp: port, ..ProtocolOut::default() },
                Protocol::Sctp => ProtocolOut { sctp: port, ..ProtocolOut::default() },
            });
        }
        Some(out)
    }

    /// One block's rules of one workload as policies of at most [`MAX_ITEMS`] rules per
    /// direction, each with the next priority.
    fn policies(&mut self, block: Block, w: WorkloadId, rules: Rules, objects: &mut Vec<Object>) {
        let p = self.program;
        let wl = p.workload(w);
        let ns = &p.namespace(wl.namespace).name;
        // Every pod destination goes on to NetworkPolicy before a network can match it.
        let pass = (block == Block::DenyNetworks).then(|| {
            let to = Some(vec![namespaces(meta::LabelSelector::default())]);
            (
                RuleOut { action: "Pass", from: None, to, protocols: None },
                ": pods go on to NetworkPolicy".to_string(),
            )
        });
        let per = MAX_ITEMS - usize::from(pass.is_some());
        let ingress: Vec<_> = rules.ingress.chunks(MAX_ITEMS).collect();
        let egress: Vec<_> = rules.egress.chunks(per).collect();
        let parts = ingress.len().max(egress.len());
        for i in 0..parts {
            let priority = usize::from(self.cx.versions.cnp.first_priority) + objects.len();
            let name = match i {
                0 => format!("{ns}.{}.{}", wl.name, block.suffix()),
                _ => format!("{ns}.{}.{}-{}", wl.name, block.suffix(), i + 1),
            };
            if priority > MAX_PRIORITY {
                self.errors.push(EmitError::Unrepresentable {
                    target: TARGET,
                    what: format!(
                        "the ClusterNetworkPolicy `{name}`: its priority would be {priority}, past the Admin tier's last, \
                         {MAX_PRIORITY}, and each policy needs its own"
                    ),
                    span: wl.span,
                    help: "start lower with --cnp-first-priority, give fewer workloads deny rules (a rule on a \
                           namespace or a group covers many), or use --target cilium or --target calico"
                        .to_string(),
                });
                return;
            }
            let mut notes = Notes::default();
            let mut section =
                |chunk: Option<&&[(RuleOut, String)]>, dir: Direction, pass: Option<&(RuleOut, String)>| {
                    let mut out = Vec::new();
                    if let Some(chunk) = chunk {
                        for (rule, note) in pass.into_iter().chain(chunk.iter()) {
                            notes.line(format_args!("{}[{}]{note}", dir.as_str(), out.len()));
                            out.push(rule.clone());
                        }
                    }
                    out
                };
            let ingress = section(ingress.get(i), Direction::Ingress, None);
            let egress = section(egress.get(i), Direction::Egress, pass.as_ref());
            let subject = Subject {
                namespaces: None,
                pods: Some(Pods {
                    namespace_selector: namespace_by_name(ns),
                    pod_selector: label_selector(&wl.selector),
                }),
            };
            let spec = Spec { tier: "Admin", priority, subject, ingress, egress };
            let annotations = crate::backend::validation::provenance(
                TARGET,
                KIND,
                wl,
                (self.cx.locate)(wl.span),
                notes,
                &mut self.errors,
            );
            objects.push(crate::backend::custom_object(
                API_VERSION,
                KIND,
                &name,
                None,
                annotations,
                spec,
                wl.span,
            ));
        }
    }

    /// The Baseline tier: a cluster-wide `default deny egress` denies every destination of every
    /// pod NetworkPolicy does not decide for. A cluster-wide `default deny ingress` cannot be
    /// written: ingress peers are pods and namespaces, so traffic from outside the cluster would
    /// still reach pods no NetworkPolicy selects.
    fn baseline(&mut self) -> Vec<Object> {
        let mut objects = Vec::new();
        let cluster_wide = self.program.default_denies.iter().filter(|d| d.namespace.is_none());
        for d in cluster_wide {
            if d.direction == Direction::Ingress {
                self.unsupported(
                    "a cluster-wide default deny of ingress",
                    d.origin,
                    "ClusterNetworkPolicy's ingress peers are namespaces and pods, so traffic from outside the \
                     cluster would still reach pods no NetworkPolicy selects; write `default deny ingress` in \
                     each namespace, or use --target cilium or --target calico",
                );
                continue;
            }
            let name = format!("default-deny-{}", d.direction.as_str());
            if objects.iter().any(|o: &Object| o.name == name) {
                continue;
            }
            // Every pod by name, and every address (networks also hold the nodes' and the API
            // server's): nothing is left to whether a network holds an address.
            let to = vec![
                namespaces(meta::LabelSelector::default()),
                PeerOut { networks: Some(vec!["0.0.0.0/0".into(), "::/0".into()]), ..PeerOut::default() },
            ];
            let rule = RuleOut { action: "Deny", from: None, to: Some(to), protocols: None };
            let spec = Spec {
                tier: "Baseline",
                priority: usize::from(self.cx.versions.cnp.first_priority) + objects.len(),
                subject: Subject { namespaces: Some(meta::LabelSelector::default()), pods: None },
                ingress: Vec::new(),
                egress: vec![rule],
            };
            let mut annotations =
                BTreeMap::from([(crate::backend::ANNOTATION_SOURCE.to_string(), (self.cx.locate)(d.origin))]);
            if let Some(r) = &d.reason {
                annotations.insert(crate::backend::ANNOTATION_RULES.to_string(), r.clone());
            }
            objects.push(crate::backend::custom_object(
                API_VERSION,
                KIND,
                &name,
                None,
                annotations,
                spec,
                d.origin,
            ));
        }
        objects
    }

    fn unsupported(&mut self, construct: &str, span: Span, help: &str) {
        self.errors.push(EmitError::Unsupported {
            target: TARGET,
            construct: construct.to_string(),
            span,
            help: help.to_string(),
        });
    }
}

fn pods(namespace_selector: meta::LabelSelector, pod_selector: meta::LabelSelector) -> PeerOut {
    PeerOut { pods: Some(Pods { namespace_selector, pod_selector }), ..PeerOut::default() }
}

fn namespaces(selector: meta::LabelSelector) -> PeerOut {
    PeerOut { namespaces: Some(selector), ..PeerOut::default() }
}

/// One source rule as rules of at most [`MAX_ITEMS`] peers and protocols each: every pair of
/// chunks, so together they match exactly what the source rule does.
fn push_split(
    out: &mut Vec<(RuleOut, String)>,
    action: &'static str,
    dir: Direction,
    peers: &[PeerOut],
    protocols: &[ProtocolOut],
    note: &str,
) {
    let protocol_chunks: Vec<Option<Vec<ProtocolOut>>> = if protocols.is_empty() {
        vec![None]
    } else {
        protocols.chunks(MAX_ITEMS).map(|c| Some(c.to_vec())).collect()
    };
    for peers in peers.chunks(MAX_ITEMS) {
        for protocols in &protocol_chunks {
            let peers = Some(peers.to_vec());
            let (from, to) = if dir == Direction::Ingress { (peers, None) } else { (None, peers) };
            out.push((RuleOut { action, from, to, protocols: protocols.clone() }, note.to_string()));
        }
    }
}

/// The blocks of `net` outside every block of `except`, largest first within each half.
pub(crate) fn subtract(net: IpNet, except: &[IpNet]) -> Vec<IpNet> {
    if except.iter().any(|e| e.contains(&net)) {
        return Vec::new();
    }
    if !except.iter().any(|e| net.contains(e)) {
        return vec![net];
    }
    match net.subnets(net.prefix_len() + 1) {
        Ok(halves) => halves.flat_map(|h| subtract(h, except)).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("net")).collect()
    }

    #[test]
    fn subtracting_exceptions_leaves_exactly_the_rest() {
        let rest = subtract("10.0.0.0/8".parse().unwrap(), &nets(&["10.1.0.0/16"]));
        assert_eq!(
            rest,
            nets(&[
                "10.0.0.0/16",
                "10.2.0.0/15",
                "10.4.0.0/14",
                "10.8.0.0/13",
                "10.16.0.0/12",
                "10.32.0.0/11",
                "10.64.0.0/10",
                "10.128.0.0/9"
            ])
        );
        assert!(subtract("10.0.0.0/8".parse().unwrap(), &nets(&["10.0.0.0/7"])).is_empty());
        assert_eq!(subtract("10.0.0.0/8".parse().unwrap(), &nets(&["11.0.0.0/8"])), nets(&["10.0.0.0/8"]));
        let v6 = subtract("fd00::/8".parse().unwrap(), &nets(&["fd00::/9", "fd80::/10"]));
        assert_eq!(v6, nets(&["fdc0::/10"]));
    }
}
