//! Reading one object: its specs, their subjects and sections.

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Peer {
    /// A selector, already scoped as Cilium scopes it.
    Endpoints(Selector),
    Entity(String),
    Cidr(IpNet, Vec<IpNet>),
    Fqdn,
}

pub(super) struct Reader<'u, 'r> {
    pub(super) u: &'u Universe,
    pub(super) zones: &'r HashMap<&'u str, ZoneId>,
    /// Every address point.
    pub(super) nets: &'r [PointId],
    pub(super) problems: Vec<String>,
    /// The coverage of peers that take a scan to answer.
    pub(super) cache: rustc_hash::FxHashMap<Peer, Arc<Coverage>>,
    /// Per spec: what it says per direction, and the pods it selects.
    pub(super) specs: Vec<([SpecSide; 2], Vec<PointId>)>,
}

/// The sections of one direction: allow rules, deny rules, and their keys.
const SECTIONS: [(usize, &str, &str); 2] = [(0, "ingress", "ingressDeny"), (1, "egress", "egressDeny")];

impl Reader<'_, '_> {
    pub(super) fn problem(&mut self, obj: &Value, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{} {at}: {what}", object_name(obj)));
    }

    pub(super) fn object(&mut self, obj: &Value) {
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

    pub(super) fn spec(&mut self, obj: &Value, path: &str, namespace: Option<&str>, spec: &Value) {
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
    pub(super) fn section<'v>(&mut self, obj: &Value, path: &str, spec: &'v Value, key: &str) -> &'v [Value] {
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
    pub(super) fn subjects(&self, sel: &Selector) -> (Vec<PointId>, bool) {
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
