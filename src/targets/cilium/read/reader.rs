//! Reading one object: its specs, their subjects and sections.

use super::*;

/// One peer of a rule, before its coverage is worked out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Peer {
    /// A selector, already scoped as Cilium scopes it.
    Endpoints(Selector),
    Entity(String),
    Cidr(IpNet, Vec<IpNet>),
    /// Per kind of point, what something the reader does not resolve may cover.
    Open([Match; 4]),
    /// The first for certain, and possibly the second (Cilium releases disagree).
    Either(Box<Peer>, Box<Peer>),
}

/// Why a field is not read: Cilium refuses the policy, or the reader leaves a part out.
pub(super) enum Refusal {
    Rejected(String),
    Unread(String),
}

/// The ports of a rule: numbers and names exactly, and what egress port names may stand for.
pub(super) struct Ports {
    pub(super) all: PortSet,
    pub(super) resolved: PortSet,
}

/// One rule read: its steps, which of them come from endpoint selectors, and its own
/// `fromRequires` / `toRequires`.
#[derive(Default)]
pub(super) struct Rule {
    pub(super) steps: Vec<Step>,
    pub(super) endpoints: Vec<bool>,
    pub(super) requires: Vec<Requirement>,
}

pub(super) struct Reader<'u, 'r> {
    pub(super) u: &'u Universe,
    pub(super) zones: &'r HashMap<&'u str, ZoneId>,
    /// Every address point.
    pub(super) nets: &'r [PointId],
    pub(super) problems: Vec<String>,
    /// The coverage of peers that take a scan to answer.
    pub(super) cache: rustc_hash::FxHashMap<Peer, Arc<Coverage>>,
    /// Per spec: what it says per direction, and the points it selects.
    pub(super) specs: Vec<([SpecSide; 2], Vec<PointId>)>,
    /// The object being read is a Kubernetes NetworkPolicy: its peers come scoped.
    pub(super) k8s: bool,
    /// The spec being read is a host policy.
    pub(super) host: bool,
    /// Cilium refuses the object being read.
    pub(super) rejected: bool,
    /// Whether Cilium takes the object being read depends on the agent's configuration.
    pub(super) possibly: bool,
}

/// The sections of one direction: allow rules, deny rules, and their keys.
const SECTIONS: [(usize, &str, &str); 2] = [(0, "ingress", "ingressDeny"), (1, "egress", "egressDeny")];

impl Reader<'_, '_> {
    pub(super) fn problem(&mut self, obj: &Value, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{} {at}: {what}", object_name(obj)));
    }

    /// Something Cilium's `Parse()` / `Sanitize()` refuses: the agent then enforces nothing of
    /// the object, and so the object is read as absent.
    pub(super) fn reject(&mut self, obj: &Value, at: &str, what: impl std::fmt::Display) {
        if !self.rejected {
            self.problem(obj, at, format!("Cilium refuses this policy ({what}); read as absent"));
        }
        self.rejected = true;
    }

    pub(super) fn object(&mut self, obj: &Value) {
        self.k8s = false;
        self.host = false;
        self.rejected = false;
        self.possibly = false;
        let start = self.specs.len();
        self.read_object(obj);
        if self.rejected {
            self.specs.truncate(start);
        } else if self.possibly {
            for (sides, _) in &mut self.specs[start..] {
                for s in sides.iter_mut() {
                    s.possibly(obj, "");
                }
            }
        }
    }

    fn read_object(&mut self, obj: &Value) {
        let namespaced = match (obj["apiVersion"].as_str(), obj["kind"].as_str()) {
            (Some(API_VERSION), Some("CiliumNetworkPolicy")) => true,
            (Some(API_VERSION), Some("CiliumClusterwideNetworkPolicy")) => false,
            (Some(crate::targets::kubernetes::read::API_VERSION), Some("NetworkPolicy")) => {
                self.k8s = true;
                // `ExtractNamespaceOrDefault`.
                let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
                match netpol::spec(obj) {
                    Ok((spec, notes)) => {
                        for (at, what) in notes {
                            self.problem(obj, &at, what);
                        }
                        self.spec(obj, "spec", Some(&ns), &spec);
                    }
                    Err((at, e)) => self.reject(obj, &at, e),
                }
                return;
            }
            _ => {
                self.problem(
                    obj,
                    "",
                    format!(
                        "{} {} is not a Cilium network policy nor a Kubernetes NetworkPolicy; skipped",
                        obj["apiVersion"], obj["kind"]
                    ),
                );
                return;
            }
        };
        let namespace = if namespaced {
            match obj["metadata"]["namespace"].as_str() {
                Some(ns) => Some(ns.to_string()),
                None => {
                    self.problem(
                        obj,
                        "metadata.namespace",
                        "a CiliumNetworkPolicy without a namespace: the API server puts it in the namespace it is applied to, unknown here; skipped",
                    );
                    return;
                }
            }
        } else {
            None
        };
        // `spec` and `specs` may both be present; the rules of both apply
        // (`CiliumNetworkPolicy.Parse`, `pkg/k8s/apis/cilium.io/v2/cnp_types.go`).
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
            // "empty policy" (`Parse`).
            self.reject(obj, "", "neither spec nor specs");
        }
        for (path, spec) in specs {
            self.spec(obj, &path, namespace.as_deref(), spec);
        }
    }

    pub(super) fn spec(&mut self, obj: &Value, path: &str, namespace: Option<&str>, spec: &Value) {
        let Some(map) = spec.as_object() else {
            self.reject(obj, path, "a spec is an object");
            return;
        };
        for k in map.keys() {
            match k.as_str() {
                "endpointSelector" | "nodeSelector" | "ingress" | "ingressDeny" | "egress" | "egressDeny"
                | "enableDefaultDeny" | "description" | "labels" | "log" => {}
                other => self.problem(
                    obj,
                    &format!("{path}.{other}"),
                    "not a field of a Cilium rule (pruned by the CRD schema); ignored",
                ),
            }
        }
        let has = |k: &str| spec.get(k).is_some_and(|x| !x.is_null());
        // "rule must have one of EndpointSelector or NodeSelector", "rule cannot have both"
        // (`Rule.Sanitize`).
        match (has("endpointSelector"), has("nodeSelector")) {
            (false, false) => return self.reject(obj, path, "neither endpointSelector nor nodeSelector"),
            (true, true) => return self.reject(obj, path, "both endpointSelector and nodeSelector"),
            (false, true) if namespace.is_some() && !self.k8s => {
                // "Invalid CiliumNetworkPolicy spec: rule cannot have NodeSelector"
                // (`CiliumNetworkPolicy.Parse`): host policies are clusterwide.
                return self.reject(
                    obj,
                    &format!("{path}.nodeSelector"),
                    "a namespaced policy with a nodeSelector",
                );
            }
            _ => {}
        }
        self.host = has("nodeSelector");
        let key = if self.host { "nodeSelector" } else { "endpointSelector" };
        let mut subject = match Selector::parse(&spec[key]) {
            Ok(s) => s,
            Err(e) => return self.reject(obj, &format!("{path}.{key}"), e),
        };
        if self.host {
            // Host policies (`Documentation/security/host-firewall.rst`): a clusterwide policy
            // with a `nodeSelector` polices the nodes it selects, through the host endpoint,
            // and only where the agent runs with the host firewall on. Neither the node's
            // labels nor that setting are known, so the node's sides are read as possibly
            // policed (see [`SpecSide::possibly`]).
            self.problem(
                obj,
                &format!("{path}.nodeSelector"),
                "a host policy applies only where the host firewall is on, to nodes whose labels are not known; \
                 the node's connections are read as possibly policed by it",
            );
        } else if has_reserved(&subject) {
            self.problem(
                obj,
                &format!("{path}.endpointSelector"),
                "reserved labels are carried by no pod: this spec selects no pod",
            );
            return;
        }
        if let (Some(ns), false) = (namespace, self.host) {
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
            // Most rules read as one step: room for that many up front, so a side's list is not
            // left with a doubling's spare room (a reading holds millions of steps).
            sides[d].steps.reserve_exact(allow.len() + deny.len());
            sides[d].own.reserve_exact(allow.len() + deny.len());
            for (key, rules, deny) in [(allow_key, allow, false), (deny_key, deny, true)] {
                for (i, rule) in rules.iter().enumerate() {
                    let at = format!("{path}.{key}[{i}]");
                    let read = self.rule(obj, &at, namespace, rule, d == 0, deny);
                    if self.rejected {
                        return;
                    }
                    let own = Arc::new(read.requires);
                    for (step, endpoints) in read.steps.into_iter().zip(read.endpoints) {
                        sides[d].steps.push(step);
                        sides[d].own.push(endpoints.then(|| own.clone()));
                    }
                    sides[d].requires.extend(own.iter().cloned());
                }
            }
            sides[d].requires.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            sides[d].requires.dedup();
        }
        let says = sides.iter().any(|s| s.isolation.is_some() || !s.steps.is_empty());
        if !says {
            self.specs.push((sides, Vec::new()));
            return;
        }
        if self.host {
            for s in sides.iter_mut() {
                s.possibly(obj, path);
            }
            self.specs.push((sides, vec![self.u.host()]));
            return;
        }
        let (pods, open) = self.subjects(&subject);
        if !open.is_empty() {
            self.problem(
                obj,
                &format!("{path}.endpointSelector"),
                "selects some pods by namespace labels whose values are unknown here; their connections are read as possibly policed by it",
            );
            let mut maybe: [SpecSide; 2] = Default::default();
            for (m, s) in maybe.iter_mut().zip(&sides) {
                *m = s.clone();
                m.possibly(obj, path);
            }
            self.specs.push((maybe, open));
        }
        self.specs.push((sides, pods));
    }

    /// One section (`ingress`, `egressDeny`, …): absent or empty, no rules.
    pub(super) fn section<'v>(&mut self, obj: &Value, path: &str, spec: &'v Value, key: &str) -> &'v [Value] {
        match spec.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(l)) => l,
            Some(other) => {
                self.reject(obj, &format!("{path}.{key}"), format!("not a list: {other}"));
                &[]
            }
        }
    }

    /// The pods a subject selector selects certainly, and those it selects possibly.
    pub(super) fn subjects(&self, sel: &Selector) -> (Vec<PointId>, Vec<PointId>) {
        let (zones, pods) = self.split(sel);
        let mut out = Vec::new();
        let mut open = Vec::new();
        let hint = pods.hint();
        for (z, m) in zones {
            match m {
                Match::Yes => out.extend(self.u.select_pods(z, hint, |l| pods.matches(l))),
                Match::Maybe => open.extend(self.u.select_pods(z, hint, |l| pods.matches(l))),
                Match::No => {}
            }
        }
        (out, open)
    }

    /// A selector split in two: how far it holds for each namespace (on the labels every pod of
    /// the namespace shares), and the selector over pod labels that remains.
    pub(super) fn split(&self, sel: &Selector) -> (Vec<(ZoneId, Match)>, Selector) {
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
                        Some(v) => yes_if(r.holds(v)),
                    });
                }
                (z, m)
            })
            .collect();
        (zones, pods)
    }
}
