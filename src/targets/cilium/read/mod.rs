//! Cilium `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, from
//! cilium/cilium `Documentation/security/policy/{intro,language,layer3,layer4,layer7,deny,
//! kubernetes}.rst`, `pkg/policy/api` (`rule.go`, `l4.go`, `entity.go`),
//! `pkg/k8s/apis/cilium.io/utils/utils.go` (`ParseToCiliumRule`, `getEndpointSelector`) and
//! `pkg/labelsfilter/filter.go`.
//!
//! - Identities. A pod's identity labels are its Kubernetes labels with source `k8s`, its
//!   namespace (`k8s:io.kubernetes.pod.namespace`) and its namespace's labels
//!   (`k8s:io.cilium.k8s.namespace.labels.<key>`, `kubernetes.rst`), less the labels the
//!   default label filter leaves out of identities (`defaultLabelPrefixCfg`: keys starting
//!   with `kubernetes.io`, `io.kubernetes`, `k8s.io`, `pod-template-hash`, …, but not
//!   `app.kubernetes.io`). A selector key `source:key` reads that source's label; `any:key`
//!   and a key without a source read any source (`language.rst`, "Label sources"). A
//!   namespace is known by its name only: any other namespace label is open, and so are the
//!   `io.cilium.k8s.policy.*` labels (service account, cluster name).
//! - Subjects. A CiliumNetworkPolicy's `endpointSelector` only selects pods of its namespace
//!   (`ParseToCiliumRule` adds the namespace match, replacing any the user wrote); a
//!   clusterwide one's selects as written.
//! - Peer selectors (`fromEndpoints`, `toEndpoints`) that do not name the namespace label are
//!   limited to the policy's namespace, or in a clusterwide policy to endpoints that have a
//!   namespace (`getEndpointSelector`). Since cilium#30650 a namespaced policy's selector over
//!   namespace labels is left alone; before, it was pinned to the policy's namespace
//!   (cilium#18865). Such selectors are reported and read the older way.
//! - Default deny, per direction: a selected pod is isolated in a direction when a policy that
//!   selects it has rules (allow or deny) in that direction, unless its `enableDefaultDeny`
//!   turns that off (`intro.rst`: "If any rule selects an endpoint and the rule has an ingress
//!   section, the endpoint goes into default deny-mode for ingress"; "Rules with
//!   EnableDefaultDeny disabled are ignored when determining the default mode";
//!   `evaluateDefaultDenyForRule`, with the agent's default
//!   `--enable-non-default-deny-policies`). The flag travels with each rule's policy entry
//!   (`ParseCiliumRule`), so `enableDefaultDeny: true` over a direction without rules isolates
//!   nothing (reported). An empty section (`ingress: []`) is no section; a rule whose peer list
//!   is present but empty selects no peer ("Explicitly check for empty non-nil slices, it
//!   should not result in any identity being selected", `mergeEndpointSelectors`), yet still
//!   isolates. A rule without `toPorts`, or with an empty list, covers every port (an entry's
//!   "L4 specifies the source/destination port rules or none if empty").
//! - Allows add up, and deny rules take precedence over allow rules ("Deny policies take
//!   precedence over allow policies, regardless of whether they are a Cilium Network Policy,
//!   a Clusterwide Cilium Network Policy or even a Kubernetes Network Policy", `deny.rst`).
//! - A rule without any L3 field applies to every peer; without `toPorts`, to every port.
//!   `toPorts[].ports[]`: `port` a number, a port name, or "0" (every port), never left out
//!   (Cilium refuses the policy); `endPort` ends a
//!   range; `protocol` TCP, UDP, SCTP or ANY, omitted meaning ANY (`l4.go`).
//! - Entities (`layer3.rst`, `entity.go`): `all` everything; `world` outside the cluster
//!   (documentation addresses certainly, named addresses possibly); `cluster` every pod and the
//!   node, and possibly any address (remote nodes, unmanaged endpoints) or the API server
//!   (whose identity also carries `remote-node` when it runs on a cluster node); `host` the
//!   local node; `remote-node`, `health`, `ingress`, `unmanaged` possibly a named address;
//!   `kube-apiserver` the API server; `init`, `none` nothing here.
//! - CIDRs (`layer3.rst`): "CIDR rules do not apply to traffic where both sides of the
//!   connection are either managed by Cilium or use an IP belonging to a node in the cluster",
//!   so a CIDR never covers a pod; the node (which the same page also lists among what CIDR
//!   rules apply to, and which `policy-cidr-match-mode: nodes` makes selectable) and the API
//!   server (in the cluster or not) are open.
//! - `toFQDNs` covers the addresses DNS answers teach, which are outside what the source can
//!   name: any address, possibly. The DNS proxy rule (`rules.dns` with `matchPattern: "*"`,
//!   `layer7.rst` "DNS Proxy") lets every lookup through, so at L4 it allows its ports.
//!
//! The node always reaching local pods (`--allow-localhost`) is the matrix's rule, not read
//! here. Shapes Cilium would reject, read differently across releases, or that this reader
//! does not model (L7 rules other than the DNS wildcard, host policies, ICMP, services,
//! groups, reserved labels) are reported as problems.

use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use crate::analysis::targets::{object_name, origin, Manifests, Reading};
use crate::analysis::universe::{Kind, PointId, Role, Universe, ZoneId};
use crate::ir::{Direction, LabelOp, Protocol};
use crate::targets::kubernetes::read::{
    block_coverage, parse_net, pods_in_zones, scans_pods, slot, union_all, yes_if, zone_index, Requirement,
    Selector, CHUNK,
};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub const API_VERSION: &str = "cilium.io/v2";
/// The identity label of a pod's namespace (`kubernetes.rst`).
const NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// The prefix of namespace labels on pod identities (`kubernetes.rst`, "Namespace labels").
const NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";
/// Identity labels Cilium derives for every pod whose values the universe does not know.
const POLICY_LABELS: &str = "io.cilium.k8s.policy.";

/// What a selector key reads on an identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key<'a> {
    /// A pod label (bare key), part of the pod's identity.
    Pod(&'a str),
    /// The pod's namespace name.
    Namespace,
    /// A label of the pod's namespace.
    NamespaceLabel(&'a str),
    /// A label every pod has with a value the universe does not know.
    Unknown,
    /// A label no pod's identity has: another source, or a key the label filter drops.
    Absent,
    /// `reserved:` labels, of Cilium's own identities.
    Reserved,
}

fn classify(key: &str) -> Key<'_> {
    let bare = match key.split_once(':') {
        Some(("k8s" | "any", k)) => k,
        Some(("reserved", _)) => return Key::Reserved,
        Some(_) => return Key::Absent,
        None => key,
    };
    if bare == NAMESPACE {
        Key::Namespace
    } else if let Some(rest) = bare.strip_prefix(NAMESPACE_LABELS) {
        Key::NamespaceLabel(rest)
    } else if bare.starts_with(POLICY_LABELS) {
        Key::Unknown
    } else if in_identity(bare) {
        Key::Pod(bare)
    } else {
        Key::Absent
    }
}

/// Whether Cilium's default label filter keeps a pod label in identities
/// (`pkg/labelsfilter/filter.go`, `defaultLabelPrefixCfg` and `filterLabels`): patterns match
/// at the start of the key; a label is kept when no ignore pattern matches, or an include
/// pattern matches a longer part than the shortest matching ignore pattern.
pub fn in_identity(key: &str) -> bool {
    let mut ignored: Option<usize> = None;
    let mut ignore = |len: usize| ignored = Some(ignored.map_or(len, |i| i.min(len)));
    for p in [
        "io.kubernetes",
        "kubernetes.io",
        // Per-pod labels of StatefulSets and indexed Jobs.
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/job-completion-index",
        "k8s.io",
        "pod-template-generation",
        "pod-template-hash",
        "controller-revision-hash",
        "etcd_node",
    ] {
        if key.starts_with(p) {
            ignore(p.len());
        }
    }
    // `.*beta\.kubernetes\.io` (greedy) and `annotation.*`.
    const BETA: &[u8] = b"beta.kubernetes.io";
    if let Some(i) = key.as_bytes().windows(BETA.len()).rposition(|w| w == BETA) {
        ignore(i + BETA.len());
    }
    if key.starts_with("annotation") {
        ignore(key.len());
    }
    let Some(ignored) = ignored else { return true };
    let included = [
        "io.kubernetes.pod.namespace",
        "io.cilium.k8s.namespace.labels",
        "app.kubernetes.io",
        "io.cilium.k8s.policy.cluster",
    ]
    .into_iter()
    .filter(|p| key.starts_with(p))
    .map(str::len)
    .max()
    .unwrap_or(0);
    included > ignored
}

fn names_namespace(sel: &Selector) -> bool {
    sel.reqs.iter().any(|r| classify(&r.key) == Key::Namespace)
}

fn has_reserved(sel: &Selector) -> bool {
    sel.reqs.iter().any(|r| classify(&r.key) == Key::Reserved)
}

fn requirement(key: &str, op: LabelOp, values: &[&str]) -> Requirement {
    Requirement { key: key.to_string(), op, values: values.iter().map(|v| v.to_string()).collect() }
}

// ---------------------------------------------------------------------------------------------
// The semantics.

/// What one direction of one spec says.
#[derive(Clone, Default)]
struct SpecSide {
    /// Set when the spec turns on default deny in this direction.
    isolation: Option<Origin>,
    steps: Vec<Step>,
    /// Per step: for a step over endpoint selectors, the `fromRequires` / `toRequires` of its
    /// own rule.
    own: Vec<Option<Arc<Vec<Requirement>>>>,
    /// Every requirement of the spec's rules in this direction.
    requires: Vec<Requirement>,
}

impl SpecSide {
    /// The side of a spec that is possibly not in force (a host policy, a policy Cilium takes
    /// only under some agent setting, a subject picked by unknown labels): its allows and
    /// denies possibly apply, and if it isolates, the point is possibly isolated, which an
    /// allow of everything, possibly, stands for (certain: what its rules allow for certain;
    /// possible: everything).
    fn possibly(&mut self, obj: &Value, path: &str) {
        if self.isolation.is_none() && self.steps.is_empty() {
            return;
        }
        for s in &mut self.steps {
            if let Step::Clause(c) = s {
                c.cover = Arc::new(rules::at_most_maybe(&c.cover));
            }
        }
        if self.isolation.is_some() {
            let origin =
                origin(obj, if path.is_empty() { "spec".to_string() } else { path.to_string() }, None);
            self.steps.insert(
                0,
                Step::Clause(Clause {
                    cover: Arc::new(Coverage { kinds: [Match::Maybe; 4], ..Coverage::none() }),
                    ports: PortSet::all(),
                    act: Act::Allow,
                    origin,
                }),
            );
            self.own.insert(0, None);
        }
    }
}

struct Cilium {
    /// Per entry of `spec` / `specs`, per direction.
    specs: Vec<[SpecSide; 2]>,
    /// Per point, per direction: the specs that select it and say something there.
    selecting: Vec<[Vec<u32>; 2]>,
}

impl Semantics for Cilium {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        let d = slot(dir);
        let list = &self.selecting[p as usize][d];
        if list.is_empty() {
            return Side::open();
        }
        // `fromRequires` / `toRequires`: Cilium 1.17 ANDs the requirements of every rule that
        // selects the endpoint into the endpoint selectors of all of them ("requirements form
        // conjunctions across all rules", `rule.resolveIngressPolicy` in
        // `pkg/policy/rule.go`, as `../shared/oracles/cilium` shows); later releases AND each
        // rule's own into its own selectors only (`RulesToPolicyEntries`,
        // `pkg/policy/utils/utils.go`). A rule is read with its own requirements, and where
        // others bear on the same point it covers its peers only possibly.
        let mut all: Vec<&Requirement> = Vec::new();
        for &i in list {
            all.extend(self.specs[i as usize][d].requires.iter());
        }
        let mut steps = Vec::new();
        let mut isolation = Vec::new();
        for &i in list {
            let s = &self.specs[i as usize][d];
            isolation.extend(s.isolation.iter().cloned());
            for (step, own) in s.steps.iter().zip(&s.own) {
                match (step, own) {
                    (Step::Clause(c), Some(own)) if all.iter().any(|r| !own.contains(r)) => {
                        steps.push(Step::Clause(Clause {
                            cover: Arc::new(rules::at_most_maybe(&c.cover)),
                            ..c.clone()
                        }))
                    }
                    _ => steps.push(step.clone()),
                }
            }
        }
        if isolation.is_empty() && steps.is_empty() {
            return Side::open();
        }
        Side { fold: Fold::Union { isolated: !isolation.is_empty() }, steps, isolation }
    }
}

/// Reads CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies as Cilium does.
pub fn read<'u>(objects: &(impl Manifests + ?Sized), u: &'u Universe) -> Reading<'u> {
    let mut nets: Vec<PointId> = Vec::new();
    for all in ["0.0.0.0/0", "::/0"] {
        let net: IpNet = all.parse().expect("a valid network");
        nets.extend(u.addresses_in(&net).map(|(_, p)| p));
    }
    let zones = zone_index(u);
    // Objects are read on every core, each once; then each pod gets the specs that select it.
    let parts = crate::par::blocks(objects.count(), CHUNK, |range| {
        let mut r = Reader {
            u,
            zones: &zones,
            nets: &nets,
            problems: Vec::new(),
            cache: rustc_hash::FxHashMap::default(),
            specs: Vec::new(),
            k8s: false,
            host: false,
            rejected: false,
            possibly: false,
        };
        crate::analysis::targets::each_object(objects, range, |obj| match obj {
            Ok(obj) => r.object(obj),
            Err(problem) => r.problems.push(problem),
        });
        (r.problems, r.specs)
    });
    let (problems, specs, selecting) =
        crate::analysis::targets::join_reads(parts, u.len(), |s: &SpecSide| {
            s.isolation.is_some() || !s.steps.is_empty()
        });
    Reading { semantics: Box::new(Cilium { specs, selecting }), problems }
}

/// The entities Cilium knows (`EntitySelectorMapping`, `pkg/policy/api/entity.go`).
const ENTITIES: &[&str] = &[
    "all",
    "world",
    "world-ipv4",
    "world-ipv6",
    "cluster",
    "host",
    "remote-node",
    "kube-apiserver",
    "health",
    "init",
    "ingress",
    "unmanaged",
    "none",
];

mod netpol;
mod ports;
mod reader;
mod rules;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fields;

use reader::{Peer, Ports, Reader, Refusal, Rule};
