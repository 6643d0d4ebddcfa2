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
//!   `toPorts[].ports[]`: `port` a number, a port name, or "0" (every port); `endPort` ends a
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

use super::kubernetes::{
    block_coverage, parse_net, pods_in_zones, scans_pods, slot, union_all, zone_index, Requirement, Selector,
    CHUNK,
};
use super::{object_name, origin, Manifests, Reading};
use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use crate::analysis::universe::{Kind, PointId, Role, Universe, ZoneId};
use crate::ir::{Direction, LabelOp, Protocol};
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
#[derive(Default)]
struct SpecSide {
    /// Set when the spec turns on default deny in this direction.
    isolation: Option<Origin>,
    steps: Vec<Step>,
}

struct Cilium<'u> {
    u: &'u Universe,
    /// Per entry of `spec` / `specs`, per direction.
    specs: Vec<[SpecSide; 2]>,
    /// Per point, per direction: the specs that select it and say something there.
    selecting: Vec<[Vec<u32>; 2]>,
}

impl Semantics for Cilium<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        if self.u.point(p).zone.is_none() {
            return Side::open();
        }
        let d = slot(dir);
        let list = &self.selecting[p as usize][d];
        if list.is_empty() {
            return Side::open();
        }
        let mut steps = Vec::new();
        let mut isolation = Vec::new();
        for &i in list {
            let s = &self.specs[i as usize][d];
            isolation.extend(s.isolation.iter().cloned());
            steps.extend(s.steps.iter().cloned());
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
        };
        let (values, unread) = objects.values(range);
        r.problems.extend(unread);
        for obj in values.iter() {
            r.object(obj);
        }
        (r.problems, r.specs)
    });
    let (problems, specs, selecting) =
        super::join_reads(parts, u.len(), |s: &SpecSide| s.isolation.is_some() || !s.steps.is_empty());
    Reading { semantics: Box::new(Cilium { u, specs, selecting }), problems }
}

/// One peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Peer {
    /// A selector, already scoped as Cilium scopes it.
    Endpoints(Selector),
    Entity(String),
    Cidr(IpNet, Vec<IpNet>),
    Fqdn,
}

struct Reader<'u, 'r> {
    u: &'u Universe,
    zones: &'r HashMap<&'u str, ZoneId>,
    /// Every address point.
    nets: &'r [PointId],
    problems: Vec<String>,
    /// The coverage of peers that take a scan to answer.
    cache: rustc_hash::FxHashMap<Peer, Arc<Coverage>>,
    /// Per spec: what it says per direction, and the pods it selects.
    specs: Vec<([SpecSide; 2], Vec<PointId>)>,
}

/// The sections of one direction: allow rules, deny rules, and their keys.
const SECTIONS: [(usize, &str, &str); 2] = [(0, "ingress", "ingressDeny"), (1, "egress", "egressDeny")];

impl Reader<'_, '_> {
    fn problem(&mut self, obj: &Value, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{} {at}: {what}", object_name(obj)));
    }

    fn object(&mut self, obj: &Value) {
        let namespaced = match obj["kind"].as_str() {
            Some("CiliumNetworkPolicy") => true,
            Some("CiliumClusterwideNetworkPolicy") => false,
            _ => {
                self.problem(obj, "", format!("kind {} is not a Cilium network policy", obj["kind"]));
                return;
            }
        };
        if obj["apiVersion"] != API_VERSION {
            self.problem(obj, "", format!("apiVersion {} (not {API_VERSION})", obj["apiVersion"]));
            return;
        }
        let namespace = if namespaced {
            match obj["metadata"]["namespace"].as_str() {
                Some(ns) => Some(ns.to_string()),
                None => {
                    self.problem(obj, "metadata", "a CiliumNetworkPolicy without a namespace");
                    return;
                }
            }
        } else {
            None
        };
        let mut specs: Vec<(String, &Value)> = Vec::new();
        if let Some(spec) = obj.get("spec").filter(|s| !s.is_null()) {
            specs.push(("spec".to_string(), spec));
        }
        match obj.get("specs") {
            None | Some(Value::Null) => {}
            Some(Value::Array(l)) => {
                specs.extend(l.iter().enumerate().map(|(i, s)| (format!("specs[{i}]"), s)))
            }
            Some(other) => self.problem(obj, "specs", format!("not a list: {other}")),
        }
        if specs.is_empty() {
            self.problem(obj, "", "no spec");
        }
        for (path, spec) in specs {
            self.spec(obj, &path, namespace.as_deref(), spec);
        }
    }

    fn spec(&mut self, obj: &Value, path: &str, namespace: Option<&str>, spec: &Value) {
        let Some(map) = spec.as_object() else {
            self.problem(obj, path, "not an object");
            return;
        };
        for k in map.keys() {
            match k.as_str() {
                "endpointSelector" | "ingress" | "ingressDeny" | "egress" | "egressDeny"
                | "enableDefaultDeny" | "description" | "labels" | "nodeSelector" => {}
                other => self.problem(obj, path, format!("field `{other}` is not modeled")),
            }
        }
        if map.contains_key("nodeSelector") {
            // Host policies police nodes, which are open here (`host-firewall.rst`).
            self.problem(obj, &format!("{path}.nodeSelector"), "host policies are not modeled");
            return;
        }
        let Some(selector) = spec.get("endpointSelector") else {
            self.problem(obj, path, "no endpointSelector");
            return;
        };
        let mut subject = match Selector::parse(selector) {
            Ok(s) => s,
            Err(e) => {
                self.problem(obj, &format!("{path}.endpointSelector"), e);
                return;
            }
        };
        if has_reserved(&subject) {
            self.problem(
                obj,
                &format!("{path}.endpointSelector"),
                "reserved labels select no pod here; not modeled",
            );
            return;
        }
        if let Some(ns) = namespace {
            // "EndpointSelector always applies in namespace of the policy resource, removing
            // illegal namespace match" (`ParseToCiliumRule`): `AddMatch` replaces the user's.
            let before = subject.reqs.len();
            let labels = subject.labels;
            let mut conflicting = false;
            let mut kept = Vec::new();
            for (i, r) in subject.reqs.drain(..).enumerate() {
                if i < labels && classify(&r.key) == Key::Namespace {
                    conflicting |= r.values.first().map(String::as_str) != Some(ns);
                    continue;
                }
                kept.push(r);
            }
            subject.labels = labels - (before - kept.len());
            subject.reqs = kept;
            if conflicting {
                self.problem(
                    obj,
                    &format!("{path}.endpointSelector"),
                    "names another namespace, which Cilium replaces",
                );
            }
            subject.reqs.insert(0, requirement(&format!("k8s:{NAMESPACE}"), LabelOp::In, &[ns]));
            subject.labels += 1;
        }
        let edd = &spec["enableDefaultDeny"];
        if let Some(m) = edd.as_object() {
            for (k, v) in m {
                if !(k == "ingress" || k == "egress") || !(v.is_boolean() || v.is_null()) {
                    self.problem(obj, &format!("{path}.enableDefaultDeny"), format!("`{k}: {v}`"));
                }
            }
        } else if !edd.is_null() {
            self.problem(obj, &format!("{path}.enableDefaultDeny"), "not an object");
        }
        let mut sides: [SpecSide; 2] = Default::default();
        for (d, allow_key, deny_key) in SECTIONS {
            let allow = self.section(obj, path, spec, allow_key);
            let deny = self.section(obj, path, spec, deny_key);
            let explicit = edd[allow_key].as_bool();
            let has_rules = !allow.is_empty() || !deny.is_empty();
            // Default deny travels with each rule (`ParseCiliumRule` makes one policy entry per
            // rule, each with the spec's `evaluateDefaultDenyForRule`), so a direction without
            // rules never turns it on, whatever `enableDefaultDeny` says.
            let default_deny = has_rules && explicit.unwrap_or(true);
            if explicit == Some(true) && !has_rules {
                self.problem(
                    obj,
                    &format!("{path}.enableDefaultDeny.{allow_key}"),
                    "default deny without rules in the direction does not isolate (cilium#35558)",
                );
            }
            if default_deny {
                let at = match explicit {
                    Some(_) => format!("{path}.enableDefaultDeny.{allow_key}"),
                    None if !allow.is_empty() => format!("{path}.{allow_key}"),
                    None => format!("{path}.{deny_key}"),
                };
                sides[d].isolation = Some(origin(obj, at, None));
            }
            for (key, rules, deny) in [(allow_key, allow, false), (deny_key, deny, true)] {
                for (i, rule) in rules.iter().enumerate() {
                    let at = format!("{path}.{key}[{i}]");
                    let steps = self.rule(obj, &at, namespace, rule, d == 0, deny);
                    sides[d].steps.extend(steps);
                }
            }
        }
        let says = sides.iter().any(|s| s.isolation.is_some() || !s.steps.is_empty());
        if !says {
            self.specs.push((sides, Vec::new()));
            return;
        }
        let (pods, open) = self.subjects(&subject);
        if open {
            self.problem(
                obj,
                &format!("{path}.endpointSelector"),
                "selects pods by labels whose values are unknown here (namespace labels other than the name); read as selecting none of them",
            );
        }
        self.specs.push((sides, pods));
    }

    /// One section (`ingress`, `egressDeny`, …): absent or empty, no rules.
    fn section<'v>(&mut self, obj: &Value, path: &str, spec: &'v Value, key: &str) -> &'v [Value] {
        match spec.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(l)) => l,
            Some(other) => {
                self.problem(obj, &format!("{path}.{key}"), format!("not a list: {other}"));
                &[]
            }
        }
    }

    /// The pods a subject selector selects. `true` when it selects some pods only possibly.
    fn subjects(&self, sel: &Selector) -> (Vec<PointId>, bool) {
        let (zones, pods) = self.split(sel);
        let mut out = Vec::new();
        let mut open = false;
        let hint = pods.hint();
        for (z, m) in zones {
            match m {
                Match::Yes => out.extend(self.u.select_pods(z, hint, |l| pods.matches(l))),
                Match::Maybe => open |= !self.u.select_pods(z, hint, |l| pods.matches(l)).is_empty(),
                Match::No => {}
            }
        }
        (out, open)
    }

    /// A selector split in two: how far it holds for each namespace (on the labels every pod of
    /// the namespace shares), and the selector over pod labels that remains.
    fn split(&self, sel: &Selector) -> (Vec<(ZoneId, Match)>, Selector) {
        let u = self.u;
        let mut pods = Selector::default();
        let mut shared: Vec<(&Requirement, Key)> = Vec::new();
        for r in &sel.reqs {
            match classify(&r.key) {
                Key::Pod(bare) => pods.reqs.push(Requirement { key: bare.to_string(), ..r.clone() }),
                k => shared.push((r, k)),
            }
        }
        let by_name = shared.iter().find(|(r, k)| *k == Key::Namespace && r.op == LabelOp::In);
        let candidates: Vec<ZoneId> = match by_name {
            Some((r, _)) => r.values.iter().filter_map(|n| self.zones.get(n.as_str()).copied()).collect(),
            None => (0..u.zones.len() as ZoneId).collect(),
        };
        let zones = candidates
            .into_iter()
            .map(|z| {
                let zone = u.zone(z);
                let mut m = Match::Yes;
                for (r, k) in &shared {
                    let got = match k {
                        Key::Namespace => Some(Some(zone.name.as_str())),
                        Key::NamespaceLabel(l) => zone.label(l),
                        Key::Unknown => None,
                        Key::Absent | Key::Reserved | Key::Pod(_) => Some(None),
                    };
                    m = m.min(match got {
                        None => Match::Maybe,
                        Some(v) => super::kubernetes::yes_if(r.holds(v)),
                    });
                }
                (z, m)
            })
            .collect();
        (zones, pods)
    }

    /// One rule of a section as clauses: one, and a second for the port names of an egress
    /// rule (see [`Reader::port_rules`]).
    fn rule(
        &mut self,
        obj: &Value,
        at: &str,
        namespace: Option<&str>,
        rule: &Value,
        ingress: bool,
        deny: bool,
    ) -> Vec<Step> {
        let Some(map) = rule.as_object() else {
            self.problem(obj, at, "a rule is an object");
            return Vec::new();
        };
        let (modeled, unmodeled): (&[&str], &[&str]) = if ingress {
            (
                &["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet"],
                &["fromRequires", "fromNodes", "fromGroups"],
            )
        } else {
            (
                &["toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toFQDNs"],
                &["toRequires", "toServices", "toNodes", "toGroups"],
            )
        };
        let mut l3 = Vec::new();
        for k in map.keys() {
            let k = k.as_str();
            if modeled.contains(&k) || unmodeled.contains(&k) {
                l3.push(k);
                if unmodeled.contains(&k) {
                    self.problem(obj, at, format!("`{k}` is not modeled; read as selecting no peer"));
                }
            } else if k == "icmps" {
                if !map.contains_key("toPorts") {
                    self.problem(obj, at, "ICMP rules are not modeled; read as allowing no port");
                    return Vec::new();
                }
                self.problem(obj, at, "ICMP rules are not modeled");
            } else if k != "toPorts" {
                self.problem(obj, at, format!("field `{k}` is not modeled"));
            }
        }
        if l3.len() > 1 {
            // "only one selector type being allowed in a single API rule"
            // (`mergeEndpointSelectors`, cilium#38795).
            self.problem(obj, at, format!("one rule mixes {l3:?}"));
        }
        let Some((ports, resolved)) = self.port_rules(obj, at, rule.get("toPorts"), deny, !ingress) else {
            return Vec::new();
        };
        let cover = if l3.is_empty() {
            Arc::new(Coverage::everything())
        } else {
            let mut peers = Vec::new();
            for key in l3 {
                if unmodeled.contains(&key) {
                    continue;
                }
                let Some(list) = rule[key].as_array() else {
                    self.problem(obj, &format!("{at}.{key}"), "not a list");
                    continue;
                };
                for (j, v) in list.iter().enumerate() {
                    let (p, problem) = match self.peer(key, v, namespace, deny) {
                        Ok((p, problem)) => (Some(p), problem),
                        Err(e) => (None, Some(e)),
                    };
                    peers.extend(p);
                    if let Some(e) = problem {
                        self.problem(obj, &format!("{at}.{key}[{j}]"), e);
                    }
                }
            }
            self.coverage(peers)
        };
        let act = if deny { Act::Deny } else { Act::Allow };
        let origin = origin(obj, at.to_string(), Some(rule));
        let mut steps = Vec::new();
        if resolved.is_empty() {
            steps.push(Step::Clause(Clause { cover, ports, act, origin }));
            return steps;
        }
        // Port names resolved over the whole cluster: whether they resolve, and to which
        // number, depends on pods the universe does not know, so the clause only possibly
        // covers its peers, on any port of the names' protocols.
        let possibly = Arc::new(at_most_maybe(&cover));
        if !ports.is_empty() {
            steps.push(Step::Clause(Clause { cover, ports, act, origin: origin.clone() }));
        }
        steps.push(Step::Clause(Clause { cover: possibly, ports: resolved, act, origin }));
        steps
    }

    /// One peer, and what is wrong with it if Cilium reads it but not as it seems to mean.
    fn peer(
        &self,
        key: &str,
        v: &Value,
        namespace: Option<&str>,
        deny: bool,
    ) -> Result<(Peer, Option<String>), String> {
        match key {
            "fromEndpoints" | "toEndpoints" => {
                let mut sel = Selector::parse(v)?;
                if has_reserved(&sel) {
                    return Err("reserved labels are not modeled; read as selecting no peer".to_string());
                }
                let mut problem = None;
                if !names_namespace(&sel) {
                    match namespace {
                        Some(ns) => {
                            if sel.reqs.iter().any(|r| matches!(classify(&r.key), Key::NamespaceLabel(_))) {
                                problem = Some(format!(
                                    "a selector over namespace labels without the namespace key: pinned to {ns} \
                                     by older Cilium releases (cilium#18865), not since cilium#30650; read as pinned"
                                ));
                            }
                            sel.reqs.push(requirement(&format!("k8s:{NAMESPACE}"), LabelOp::In, &[ns]));
                        }
                        // "For a clusterwide policy if a namespace is not specified in the labels
                        // we add a selector to only match endpoints that contains a namespace
                        // label" (`getEndpointSelector`).
                        None => sel.reqs.push(requirement(&format!("k8s:{NAMESPACE}"), LabelOp::Exists, &[])),
                    }
                }
                Ok((Peer::Endpoints(sel), problem))
            }
            "fromEntities" | "toEntities" => {
                let e = v.as_str().ok_or_else(|| format!("entity {v} is not a string"))?;
                const KNOWN: &[&str] = &[
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
                if !KNOWN.contains(&e) {
                    return Err(format!("unknown entity {e:?}"));
                }
                Ok((Peer::Entity(e.to_string()), None))
            }
            "fromCIDR" | "toCIDR" => Ok((Peer::Cidr(cidr(v)?, Vec::new()), None)),
            "fromCIDRSet" | "toCIDRSet" => {
                let map = v.as_object().ok_or("a CIDR rule is an object")?;
                for k in map.keys() {
                    if k != "cidr" && k != "except" {
                        return Err(format!("`{k}` is not modeled; read as selecting no peer"));
                    }
                }
                let net = cidr(&v["cidr"])?;
                let mut except = Vec::new();
                for e in v["except"].as_array().into_iter().flatten() {
                    except.push(cidr(e)?);
                }
                Ok((Peer::Cidr(net, except), None))
            }
            _ => {
                if deny {
                    // "Deny policies do not support: policy enforcement at L7 … ToFQDNs" (`deny.rst`).
                    return Err("toFQDNs in a deny rule (not supported)".to_string());
                }
                let map = v.as_object().ok_or("a DNS selector is an object")?;
                if !map.keys().all(|k| k == "matchName" || k == "matchPattern") || map.is_empty() {
                    return Err(format!("DNS selector {v}"));
                }
                Ok((Peer::Fqdn, None))
            }
        }
    }

    /// `toPorts`: absent, every port of every protocol. Returns the ports, and apart from them
    /// what the port names of an egress rule may stand for.
    ///
    /// Cilium resolves a port name of an ingress rule on the pod itself, the destination, as
    /// the source does. A port name of an egress rule it resolves over every pod of the
    /// cluster: `Endpoint.GetNamedPort` ("egress needs named ports of all the pods",
    /// `pkg/endpoint/policy.go`) asks `NamedPortMultiMap.GetNamedPort`
    /// (`pkg/types/portmap.go`), which fails with `ErrDuplicateNamedPorts` when two pods give
    /// the name different numbers, and then `L4Filter.toMapState` (`pkg/policy/l4.go`) adds
    /// nothing; otherwise the rule covers that one number towards every peer it selects,
    /// whether the peer names the port or not (both seen with `../shared/oracles/cilium`).
    /// The universe does not know the container ports of the cluster's pods, so such a name
    /// stands for nothing certainly and for any port of its protocol possibly: never narrower
    /// nor wider than Cilium. (Cilium 1.20 resolves egress names per destination identity,
    /// cilium#44429 and cilium#45760, which lies within the same range.)
    fn port_rules(
        &mut self,
        obj: &Value,
        at: &str,
        v: Option<&Value>,
        deny: bool,
        egress: bool,
    ) -> Option<(PortSet, PortSet)> {
        let mut resolved = PortSet::empty();
        let list = match v {
            None | Some(Value::Null) => return Some((PortSet::all(), resolved)),
            Some(Value::Array(l)) => l,
            Some(other) => {
                self.problem(obj, &format!("{at}.toPorts"), format!("not a list: {other}"));
                return None;
            }
        };
        if list.is_empty() {
            // `len(ToPorts) == 0`: no L4 restriction.
            return Some((PortSet::all(), resolved));
        }
        let mut out = PortSet::empty();
        for (i, pr) in list.iter().enumerate() {
            let at = format!("{at}.toPorts[{i}]");
            let Some(map) = pr.as_object() else {
                self.problem(obj, &at, "not an object");
                continue;
            };
            for k in map.keys() {
                if k != "ports" && k != "rules" {
                    self.problem(obj, &at, format!("`{k}` is not modeled"));
                }
            }
            if let Some(rules) = pr.get("rules").filter(|r| !r.is_null()) {
                if deny {
                    self.problem(
                        obj,
                        &format!("{at}.rules"),
                        "L7 rules in a deny rule (not supported, deny.rst)",
                    );
                } else if !dns_wildcard(rules) {
                    self.problem(
                        obj,
                        &format!("{at}.rules"),
                        "L7 rules allow only some requests on these ports; read as the whole ports",
                    );
                }
            }
            let ports = match pr.get("ports") {
                Some(Value::Array(l)) if !l.is_empty() => l,
                _ => {
                    self.problem(obj, &at, "no ports; read as every port");
                    out = PortSet::all();
                    continue;
                }
            };
            for (j, p) in ports.iter().enumerate() {
                match port(p) {
                    Ok((set, true)) if egress => {
                        resolved = resolved.union(&every_port_of_its_protocols(&set))
                    }
                    Ok((set, _)) => out = out.union(&set),
                    Err(e) => self.problem(obj, &format!("{at}.ports[{j}]"), e),
                }
            }
        }
        Some((out, resolved))
    }

    fn coverage(&mut self, peers: Vec<Peer>) -> Arc<Coverage> {
        let parts = peers.into_iter().map(|p| self.cached(p)).collect();
        union_all(self.u, parts)
    }

    /// A peer's coverage, kept for the next rule that names the same peer when it took a scan
    /// of namespaces, pods or addresses (others are cheaper to redo than to look up).
    fn cached(&mut self, peer: Peer) -> Arc<Coverage> {
        match &peer {
            Peer::Endpoints(sel) => {
                let by_name =
                    sel.reqs.iter().any(|r| classify(&r.key) == Key::Namespace && r.op == LabelOp::In);
                if by_name {
                    let (zones, pods) = self.split(sel);
                    if !scans_pods(&pods) {
                        return Arc::new(self.endpoints(sel, &zones, &pods));
                    }
                }
            }
            Peer::Entity(_) => {}
            Peer::Cidr(..) | Peer::Fqdn => return Arc::new(self.peer_coverage(&peer)),
        }
        if let Some(c) = self.cache.get(&peer) {
            return c.clone();
        }
        let c = Arc::new(self.peer_coverage(&peer));
        self.cache.insert(peer, c.clone());
        c
    }

    fn peer_coverage(&self, peer: &Peer) -> Coverage {
        let u = self.u;
        match peer {
            Peer::Endpoints(sel) => {
                let (zones, pods) = self.split(sel);
                self.endpoints(sel, &zones, &pods)
            }
            Peer::Cidr(net, except) => {
                let mut c = block_coverage(u, net, except);
                c.kinds[Kind::Host.index()] = Match::Maybe;
                c.kinds[Kind::ApiServer.index()] = Match::Maybe;
                c
            }
            Peer::Fqdn => Coverage::kind(Kind::Net, Match::Maybe),
            Peer::Entity(e) => self.entity(e),
        }
    }

    /// What an endpoint selector covers, from its [`split`](Self::split).
    fn endpoints(&self, sel: &Selector, zones: &[(ZoneId, Match)], pods: &Selector) -> Coverage {
        let mut c = pods_in_zones(self.u, zones, pods);
        // Identities without Kubernetes labels (world and CIDR identities, the nodes, the API
        // server) are selected by a selector that holds without any label, such as one over
        // the namespace key with `NotIn` or `DoesNotExist`.
        if sel.reqs.iter().all(|r| r.holds(None)) {
            for k in [Kind::Net, Kind::Host, Kind::ApiServer] {
                c.kinds[k.index()] = Match::Yes;
            }
        }
        c
    }

    fn entity(&self, e: &str) -> Coverage {
        let u = self.u;
        let net_maybe = || Coverage::kind(Kind::Net, Match::Maybe);
        // An address outside the cluster certainly is `world`; one a rule names possibly.
        let world = |v4: Option<bool>| {
            Coverage::points(self.nets.iter().filter_map(|&p| {
                let point = u.point(p);
                let ip = point.ip()?;
                if v4.is_some_and(|v4| v4 != ip.is_ipv4()) {
                    return None;
                }
                Some((p, if matches!(point.role, Role::World(_)) { Match::Yes } else { Match::Maybe }))
            }))
        };
        match e {
            "all" => Coverage::everything(),
            "world" => {
                let mut c = world(None);
                c.kinds[Kind::Net.index()] = Match::Maybe;
                c
            }
            "world-ipv4" => world(Some(true)),
            "world-ipv6" => world(Some(false)),
            "cluster" => {
                Coverage { kinds: [Match::Yes, Match::Maybe, Match::Yes, Match::Maybe], ..Coverage::none() }
            }
            "host" => Coverage::kind(Kind::Host, Match::Yes),
            "kube-apiserver" => Coverage::kind(Kind::ApiServer, Match::Yes),
            "remote-node" | "health" | "ingress" | "unmanaged" => net_maybe(),
            _ => Coverage::none(),
        }
    }
}

/// A CIDR, or a bare address as its own network.
fn cidr(v: &Value) -> Result<IpNet, String> {
    parse_net(v)
        .or_else(|e| v.as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok()).map(IpNet::from).ok_or(e))
}

/// Whether L7 rules are the DNS proxy's "every name" rule (`layer7.rst`, "DNS Proxy").
fn dns_wildcard(rules: &Value) -> bool {
    rules.as_object().is_some_and(|o| o.keys().all(|k| k == "dns"))
        && rules["dns"].as_array().is_some_and(|l| l.iter().any(|d| d["matchPattern"] == "*"))
}

/// A coverage that covers possibly whatever `c` covers certainly or possibly.
fn at_most_maybe(c: &Coverage) -> Coverage {
    let cap = |m: Match| m.min(Match::Maybe);
    Coverage {
        kinds: c.kinds.map(cap),
        zones: c.zones.iter().map(|&(z, m)| (z, cap(m))).collect(),
        points: c.points.iter().map(|&(p, m)| (p, cap(m))).collect(),
    }
}

/// Every port, numbered or named, of each protocol that `set` has a port of.
fn every_port_of_its_protocols(set: &PortSet) -> PortSet {
    Protocol::ALL
        .into_iter()
        .map(PortSet::protocol)
        .filter(|p| set.meets(p))
        .fold(PortSet::empty(), |acc, p| acc.union(&p))
}

/// One `PortProtocol` (`l4.go`), and whether its port is a name.
fn port(v: &Value) -> Result<(PortSet, bool), String> {
    let map = v.as_object().ok_or("a port is an object")?;
    for k in map.keys() {
        if !["port", "endPort", "protocol"].contains(&k.as_str()) {
            return Err(format!("`{k}` is not modeled"));
        }
    }
    // "Protocol is the L4 protocol. If omitted or empty, any protocol matches" (`l4.go`).
    let protocols: Vec<Protocol> =
        match v.get("protocol").and_then(|p| if p.is_null() { None } else { Some(p) }) {
            None => Protocol::ALL.to_vec(),
            Some(p) => match p.as_str() {
                Some("ANY") => Protocol::ALL.to_vec(),
                Some(s) => vec![Protocol::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| format!("protocol {s} is not modeled"))?],
                None => return Err(format!("protocol {p}")),
            },
        };
    let text = match v.get("port") {
        None | Some(Value::Null) => "0".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(format!("port {other}")),
    };
    let end = match v.get("endPort") {
        None | Some(Value::Null) => None,
        Some(e) => Some(e.as_u64().filter(|e| *e <= 65535).ok_or_else(|| format!("endPort {e}"))? as u16),
    };
    let mut out = PortSet::empty();
    let mut named = false;
    for p in protocols {
        out = out.union(&match text.parse::<u32>() {
            Ok(0) if end.is_some_and(|e| e > 0) => return Err("endPort with port 0".to_string()),
            Ok(0) => PortSet::protocol(p),
            Ok(n) if n <= 65535 => {
                let n = n as u16;
                match end {
                    Some(e) if e > 0 && e < n => return Err(format!("endPort {e} is below port {n}")),
                    Some(e) if e > 0 => PortSet::range(p, n, e),
                    _ => PortSet::range(p, n, n),
                }
            }
            Ok(n) => return Err(format!("port {n}")),
            Err(_) if text.is_empty() => return Err("an empty port".to_string()),
            Err(_) if end.is_some() => return Err(format!("endPort with the named port {text:?}")),
            Err(_) => {
                named = true;
                PortSet::named(p, &text)
            }
        });
    }
    Ok((out, named))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::matrix::Rows;
    use crate::analysis::reach::SourceSemantics;
    use crate::analysis::verify::compare;
    use crate::ir::Program;
    use serde_json::json;

    fn program(src: &str) -> Program {
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", src.to_string());
        let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
        crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program
    }

    fn cnp(ns: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": "CiliumNetworkPolicy",
               "metadata": {"name": name, "namespace": ns}, "spec": spec})
    }

    fn ccnp(name: &str, spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": "CiliumClusterwideNetworkPolicy",
               "metadata": {"name": name}, "spec": spec})
    }

    fn pt(u: &Universe, name: &str) -> PointId {
        u.ids().find(|p| u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
    }

    const SHOP: &str = "namespace shop\n\
        workload web { app: web }\n\
        workload api { app: api }\n\
        namespace ops\n\
        workload tool { app: tool }\n\
        tool connects to 10.0.0.0/8 except 10.1.0.0/16\n";

    #[test]
    fn label_filter_and_key_sources() {
        assert!(in_identity("app"));
        assert!(in_identity("app.kubernetes.io/name"));
        assert!(in_identity("topology.kubernetes.io/zone"));
        assert!(!in_identity("kubernetes.io/hostname"));
        assert!(!in_identity("node.beta.kubernetes.io/x"));
        assert!(!in_identity("pod-template-hash"));
        assert!(!in_identity("statefulset.kubernetes.io/pod-name"));
        assert!(!in_identity("apps.kubernetes.io/pod-index"));
        assert!(in_identity("statefulset.kubernetes.io/other"));
        assert!(!in_identity("io.kubernetes.container.name"));
        assert_eq!(classify("k8s:app"), Key::Pod("app"));
        assert_eq!(classify("any:app"), Key::Pod("app"));
        assert_eq!(classify("app"), Key::Pod("app"));
        assert_eq!(classify("container:app"), Key::Absent);
        assert_eq!(classify("k8s:io.kubernetes.pod.namespace"), Key::Namespace);
        assert_eq!(classify("k8s:io.cilium.k8s.namespace.labels.team"), Key::NamespaceLabel("team"));
        assert_eq!(classify("k8s:io.cilium.k8s.policy.serviceaccount"), Key::Unknown);
        assert_eq!(classify("reserved:host"), Key::Reserved);
    }

    #[test]
    fn default_deny_sections_and_enable_default_deny() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [
            cnp(
                "shop",
                "web",
                json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
                "ingress": [{"fromEntities": []}], "egress": []}),
            ),
            cnp(
                "shop",
                "api",
                json!({"endpointSelector": {"matchLabels": {"app": "api"}},
                "enableDefaultDeny": {"ingress": false},
                "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"k8s:app": "web"}}],
                                 "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}),
            ),
        ];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let (web, api, tool) = (pt(&u, "shop/web"), pt(&u, "shop/api"), pt(&u, "ops/tool"));
        // `fromEntities: []` isolates and allows nothing; `egress: []` is no section.
        assert!(r.semantics.side(web, Direction::Ingress).at(&u, api).possible.is_empty());
        assert!(r.semantics.side(web, Direction::Egress).is_open());
        // A deny section with default deny off subtracts from everything.
        let side = r.semantics.side(api, Direction::Ingress);
        assert_eq!(side.fold, Fold::Union { isolated: false });
        let from_web = side.at(&u, web);
        assert!(
            !from_web.possible.contains(Protocol::Tcp, 8080)
                && from_web.certain.contains(Protocol::Udp, 8080)
        );
        assert!(side.at(&u, tool).certain.is_all());
    }

    #[test]
    fn default_deny_without_rules_isolates_nothing() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [cnp(
            "shop",
            "web",
            json!({"endpointSelector": {}, "enableDefaultDeny": {"egress": true},
                "ingress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}),
        )];
        let r = read(&objects, &u);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let web = pt(&u, "shop/web");
        assert!(r.semantics.side(web, Direction::Egress).is_open());
        let ingress = r.semantics.side(web, Direction::Ingress).at(&u, u.api_server());
        assert!(ingress.certain.contains(Protocol::Tcp, 80) && !ingress.possible.contains(Protocol::Tcp, 81));
    }

    #[test]
    fn peers_are_scoped_and_ports_read() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [cnp(
            "shop",
            "api",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "api"}},
            "ingress": [
              {"fromEndpoints": [{"matchLabels": {"k8s:app": "tool"}}]},
              {"fromEndpoints": [{"matchLabels": {"k8s:app": "tool", "k8s:io.kubernetes.pod.namespace": "ops"}}],
               "toPorts": [{"ports": [{"port": "9000", "endPort": 9100, "protocol": "UDP"}, {"port": "http"}]}]},
              {"fromEndpoints": [{"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "a"},
                                  "matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}],
               "toPorts": [{"ports": [{"port": "0", "protocol": "SCTP"}]}]},
              {"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}],
               "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
              {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}
            ]}),
        )];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let side = r.semantics.side(pt(&u, "shop/api"), Direction::Ingress);
        let tool = side.at(&u, pt(&u, "ops/tool"));
        // Rule 0 is pinned to shop; rule 1 names ops, with ANY for the named port.
        assert!(tool.certain.contains(Protocol::Udp, 9100) && !tool.possible.contains(Protocol::Udp, 9101));
        for proto in Protocol::ALL {
            assert!(PortSet::named(proto, "http").is_subset(&tool.certain));
        }
        // Namespace labels other than the name are open.
        assert!(!tool.certain.contains(Protocol::Sctp, 5) && tool.possible.contains(Protocol::Sctp, 5));
        // CIDRs: addresses exactly, never pods; the node open.
        assert!(side.at(&u, pt(&u, "10.0.0.0")).certain.contains(Protocol::Udp, 53));
        // The excepted address: only `world`, possibly.
        let excepted = side.at(&u, pt(&u, "10.1.0.0"));
        assert!(!excepted.possible.contains(Protocol::Udp, 53) && excepted.certain.is_empty());
        assert!(!side.at(&u, pt(&u, "shop/web")).possible.contains(Protocol::Udp, 53));
        let host = side.at(&u, u.host());
        assert!(!host.certain.contains(Protocol::Udp, 53) && host.possible.contains(Protocol::Udp, 53));
        // world: documentation addresses certainly, named ones possibly.
        assert!(side.at(&u, pt(&u, "203.0.113.7")).certain.contains(Protocol::Tcp, 443));
        let named = side.at(&u, pt(&u, "10.255.255.255"));
        assert!(!named.certain.contains(Protocol::Tcp, 443) && named.possible.contains(Protocol::Tcp, 443));
    }

    #[test]
    fn clusterwide_policies_select_across_namespaces() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [ccnp(
            "deny",
            json!({"endpointSelector": {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]},
                "egress": [{"toEndpoints": [{}]}]}),
        )];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        for name in ["shop/web", "ops/<unlabelled pod>", "kube-dns"] {
            let side = r.semantics.side(pt(&u, name), Direction::Egress);
            // `{}` in a clusterwide policy: every pod, nothing else.
            assert!(side.at(&u, pt(&u, "ops/tool")).certain.is_all());
            assert!(side.at(&u, u.api_server()).possible.is_empty());
        }
        assert!(r.semantics.side(u.host(), Direction::Egress).is_open());
    }

    #[test]
    fn odd_manifests_are_problems_not_panics() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [
            json!(17),
            json!({"kind": "CiliumNetworkPolicy", "apiVersion": API_VERSION, "metadata": {"name": "x"}}),
            ccnp("nothing", json!({})),
            ccnp("hosts", json!({"nodeSelector": {}, "ingress": [{}]})),
            cnp(
                "shop",
                "odd",
                json!({"endpointSelector": {}, "enableDefaultDeny": {"egress": true},
                "ingress": [
                    {"fromEndpoints": [{"matchLabels": {"reserved:host": ""}}]},
                    {"fromEntities": ["martians"]},
                    {"fromEntities": ["host"], "fromCIDR": ["10.0.0.0/8"]},
                    {"fromCIDRSet": [{"cidr": "nonsense"}]},
                    {"toPorts": [{"ports": [{"port": "80", "endPort": 70, "protocol": "TCP"}, {"port": "1", "protocol": "ICMP"}]}]},
                    {"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}], "rules": {"http": [{"method": "GET"}]}}]},
                    {"fromRequires": [{}]},
                    "a rule"
                ],
                "egressDeny": [{"toFQDNs": [{"matchName": "example.com"}]}]}),
            ),
        ];
        let r = read(&objects, &u);
        assert!(r.problems.len() >= 12, "{:#?}", r.problems);
        let side = r.semantics.side(pt(&u, "shop/web"), Direction::Ingress);
        assert_eq!(side.fold, Fold::Union { isolated: true });
    }

    #[test]
    fn egress_port_names_resolve_over_the_cluster_not_on_the_destination() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [cnp(
            "shop",
            "web",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
            "egress": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api"}}],
                        "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}, {"port": "443", "protocol": "TCP"}]}]}]}),
        )];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let (web, api) = (pt(&u, "shop/web"), pt(&u, "shop/api"));
        let side = r.semantics.side(web, Direction::Egress);
        let to_api = side.at(&u, api);
        // The number stays exact.
        assert!(to_api.certain.contains(Protocol::Tcp, 443));
        // The name: nothing for certain (two pods anywhere may disagree on its number) ...
        assert!(!PortSet::named(Protocol::Tcp, "http").is_subset(&to_api.certain));
        assert!(!to_api.certain.contains(Protocol::Tcp, 8080));
        // ... and possibly any TCP port, named or not, since its number is opened to api
        // whether api names the port or not.
        assert!(PortSet::protocol(Protocol::Tcp).is_subset(&to_api.possible));
        assert!(!to_api.possible.contains(Protocol::Udp, 8080));
        // Peers the rule does not select get nothing.
        assert!(side.at(&u, pt(&u, "ops/tool")).possible.is_empty());
        // On ingress a name resolves on the pod itself, exactly.
        let ingress = [cnp(
            "shop",
            "api",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "api"}},
            "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:app": "web"}}],
                         "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
        )];
        let r = read(&ingress, &u);
        let from_web = r.semantics.side(api, Direction::Ingress).at(&u, web);
        assert_eq!(from_web.certain, PortSet::named(Protocol::Tcp, "http"));
        assert_eq!(from_web.possible, from_web.certain);
    }

    #[test]
    fn egress_deny_port_names_deny_possibly_anything_of_their_protocol() {
        let p = program(SHOP);
        let u = Universe::new(&p);
        let objects = [cnp(
            "shop",
            "web",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
            "enableDefaultDeny": {"egress": false},
            "egressDeny": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api"}}],
                            "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
        )];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let to_api = r.semantics.side(pt(&u, "shop/web"), Direction::Egress).at(&u, pt(&u, "shop/api"));
        // It may deny any TCP port (the name's number, wherever it is defined) or nothing
        // (two pods disagree): no TCP port is certainly allowed, every one possibly.
        assert!(!to_api.certain.contains(Protocol::Tcp, 8080));
        assert!(!PortSet::named(Protocol::Tcp, "http").is_subset(&to_api.certain));
        assert!(PortSet::protocol(Protocol::Tcp).is_subset(&to_api.possible));
        assert!(to_api.certain.contains(Protocol::Udp, 8080));
    }

    #[test]
    fn verify_sees_an_egress_port_name_as_cilium_reads_it() {
        let p = program(
            "namespace shop\n\
             workload web { app: web }\n\
             workload api { app: api }\n\
             web connects to api on tcp http\n",
        );
        let u = Universe::new(&p);
        // What netpol emitted before E0306: the source's rule, word for word.
        let objects = [cnp(
            "shop",
            "web",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
            "egress": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api", "k8s:io.kubernetes.pod.namespace": "shop"}}],
                        "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
        )];
        let r = read(&objects, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let source = SourceSemantics::new(&p, &u);
        let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(r.semantics.as_ref(), &u));
        let text: Vec<String> = diffs.iter().map(|d| d.describe(&u, "cilium")).collect();
        assert!(!diffs.is_empty(), "Cilium opens a number to api that the source does not");
        assert!(text.iter().any(|t| t.contains("shop/web") && t.contains("shop/api")), "{text:#?}");
    }

    fn emitted(src: &str) -> (Program, Vec<Value>) {
        let p = program(src);
        let locate = |_| "test.netpol:1".to_string();
        let cx = crate::backend::EmitContext { locate: &locate, versions: crate::backend::Versions::DEFAULT };
        let objects = crate::backend::Target::Cilium.backend().emit(&p, &cx).expect("emits");
        (p, objects.iter().map(|o| o.body()).collect())
    }

    #[test]
    fn the_source_and_the_emitted_policies_agree() {
        let (p, bodies) = emitted(
            "default deny all\n\
             namespace shop {\n\
               workload web { app: web }\n\
               workload api { app: api }\n\
               web connects to kube-dns\n\
               web connects to \"*.example.com\" on tcp 443\n\
               web -> api on tcp 8080\n\
               web accepts tcp 80 from namespace edge\n\
               api refuses tcp 8080 from 10.0.0.0/8\n\
               api accepts from world\n\
             }\n",
        );
        let u = Universe::new(&p);
        let r = read(&bodies, &u);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let source = SourceSemantics::new(&p, &u);
        let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(r.semantics.as_ref(), &u));
        let text: Vec<String> = diffs.iter().map(|d| d.describe(&u, "cilium")).collect();
        assert!(diffs.is_empty(), "{text:#?}");
    }
}
