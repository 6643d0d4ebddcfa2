//! Objects: tiers, policies and their specs.

use super::*;

/// Reads objects that live for `'a`; its caches borrow their keys from them.
pub(super) struct Reader<'u, 'a> {
    pub(super) u: &'u Universe,
    pub(super) problems: Vec<String>,
    pub(super) selectors: FastMap<&'a str, Result<Arc<Expr>, String>>,
    pub(super) entities: PrehashedMap<EntityKey<'a>, Arc<Entity>>,
    pub(super) port_sets: PrehashedMap<PortsKey<'a>, Arc<(PortSet, Vec<String>)>>,
    pub(super) everything: Arc<Coverage>,
    pub(super) all_zones: Vec<(ZoneId, Match)>,
    pub(super) zones_by_name: HashMap<&'u str, ZoneId>,
    /// The network sets among the objects (known after a first pass).
    pub(super) sets: &'a [NetworkSet],
    /// Whether some pod's service account is not known.
    pub(super) open_accounts: bool,
}

impl<'u, 'a> Reader<'u, 'a> {
    pub(super) fn new(u: &'u Universe, sets: &'a [NetworkSet], open_accounts: bool) -> Reader<'u, 'a> {
        Reader {
            u,
            problems: Vec::new(),
            selectors: FastMap::default(),
            entities: PrehashedMap::default(),
            port_sets: PrehashedMap::default(),
            everything: Arc::new(Coverage::everything()),
            all_zones: (0..u.zones.len() as ZoneId).map(|z| (z, Match::Yes)).collect(),
            zones_by_name: u.zones.iter().enumerate().map(|(i, z)| (z.name.as_str(), i as ZoneId)).collect(),
            sets,
            open_accounts,
        }
    }

    /// Room in the caches for about `objects` policies.
    pub(super) fn reserve(&mut self, objects: usize) {
        self.selectors.reserve(objects * 2);
        self.entities.reserve(objects * 4);
        self.port_sets.reserve(64);
    }

    /// One object; `converted`: a Kubernetes NetworkPolicy in Calico's form.
    pub(super) fn object(&mut self, obj: &'a Value, converted: Option<&'a k8s::Converted>) -> Item {
        if let Some(c) = converted {
            let object = object_name(obj);
            for p in &c.problems {
                self.problem(&object, p);
            }
            let form = Form::Kubernetes(&c.paths);
            return self.policy(&c.value, form).map_or(Item::Nothing, |p| Item::Policy(false, p));
        }
        // The same objects as the Calico API server stores them, as `crd.projectcalico.org/v1`
        // custom resources (`libcalico-go/lib/backend/k8s/resources`), read alike.
        let crd = match obj["apiVersion"].as_str() {
            Some(API_VERSION) => false,
            Some(CRD_API_VERSION) => true,
            _ => {
                let what = format!(
                    "apiVersion {} is neither {API_VERSION} nor {CRD_API_VERSION}; not read",
                    obj["apiVersion"]
                );
                self.problem(&object_name(obj), what);
                return Item::Nothing;
            }
        };
        match obj["kind"].as_str() {
            Some("Tier") => self.tier(obj).map_or(Item::Nothing, Item::Tier),
            Some(kind @ ("NetworkPolicy" | "GlobalNetworkPolicy")) => {
                let global = kind == "GlobalNetworkPolicy";
                self.policy(obj, Form::Calico { global, crd })
                    .map_or(Item::Nothing, |p| Item::Policy(global, p))
            }
            // Staged policies only report what they would do (`KindIsStaged`, `model/policy.go`;
            // docs.tigera.io "Staged network policies"): they never allow or deny.
            Some("StagedNetworkPolicy" | "StagedGlobalNetworkPolicy" | "StagedKubernetesNetworkPolicy") => {
                self.problem(&object_name(obj), "a staged policy does not enforce anything; not read");
                Item::Nothing
            }
            Some("NetworkSet" | "GlobalNetworkSet") => {
                self.network_set(obj).map_or(Item::Nothing, Item::NetworkSet)
            }
            _ => {
                let what = format!("kind {} is not read", obj["kind"]);
                self.problem(&object_name(obj), what);
                Item::Nothing
            }
        }
    }

    pub(super) fn problem(&mut self, object: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{object}: {what}"));
    }

    pub(super) fn tier(&mut self, obj: &Value) -> Option<Tier> {
        let object = object_name(obj);
        let Some(name) = obj["metadata"]["name"].as_str() else {
            self.problem(&object, "no metadata.name; not read");
            return None;
        };
        let spec = match &obj["spec"] {
            Value::Object(m) => m,
            Value::Null => empty_map(),
            _ => {
                self.problem(&object, "spec is not an object; not read");
                return None;
            }
        };
        for k in spec.keys() {
            if k != "order" && k != "defaultAction" {
                self.problem(&object, format_args!("spec.{k} is not read"));
            }
        }
        // `defaultAction`: "[Default: Deny]", `Enum=Pass;Deny` (`tier.go`).
        let pass = match spec.get("defaultAction") {
            None | Some(Value::Null) => false,
            Some(v) if v == "Deny" => false,
            Some(v) if v == "Pass" => true,
            Some(v) => {
                self.problem(
                    &object,
                    format_args!("defaultAction {v} is neither Deny nor Pass; read as Deny"),
                );
                false
            }
        };
        let order = match spec.get("order") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(o) => Some(o),
                None => {
                    self.problem(&object, format_args!("order {v} is not a number; read as last"));
                    None
                }
            },
        };
        let origin = origin(obj, "spec.defaultAction".to_string(), None);
        Some(Tier { name: name.to_string(), order, pass, origin })
    }

    /// A selector field (`what` names it in problems). The empty string is no selector, as in
    /// Go (`!= ""` throughout `rules.go`).
    pub(super) fn selector_field(
        &mut self,
        v: Option<&'a Value>,
        what: &str,
        problems: &mut Vec<String>,
    ) -> Field {
        let text = match v {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::String(s)) if s.is_empty() => return Field::Absent,
            Some(Value::String(s)) => s,
            Some(other) => {
                problems.push(format!("{what} {other} is not a string; read as matching nothing"));
                return Field::Bad;
            }
        };
        if text.len() > 1024 {
            // `maxLength` of every selector field in the v3 CRDs.
            problems.push(format!("{what} is longer than 1024 characters; the API server refuses it"));
        }
        let parsed =
            self.selectors.entry(text.as_str()).or_insert_with(|| parse_selector(text).map(Arc::new));
        match parsed {
            Ok(e) => Field::Parsed(e.clone()),
            Err(e) => {
                problems.push(format!("{what} `{text}` does not parse ({e}); read as matching nothing"));
                Field::Bad
            }
        }
    }

    pub(super) fn policy(&mut self, obj: &'a Value, form: Form<'a>) -> Option<Read> {
        let object = object_name(obj);
        let global = matches!(form, Form::Calico { global: true, .. });
        let Some(name) = obj["metadata"]["name"].as_str() else {
            self.problem(&object, "no metadata.name; not read");
            return None;
        };
        let spec = match &obj["spec"] {
            Value::Object(m) => m,
            Value::Null => empty_map(),
            _ => {
                self.problem(&object, "spec is not an object; not read");
                return None;
            }
        };
        let mut problems = Vec::new();
        let tier = match spec.get("tier") {
            None | Some(Value::Null) => DEFAULT_TIER.to_string(),
            Some(Value::String(t)) if t.is_empty() => DEFAULT_TIER.to_string(),
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                problems.push(format!("spec.tier {other} is not a string; read as the default tier"));
                DEFAULT_TIER.to_string()
            }
        };
        // Felix's name of the policy, which breaks ties of order.
        let (name, key_v332) = match form {
            Form::Calico { crd: true, .. } => {
                let n = crd_name(name, &tier, &mut problems);
                (n.clone(), n)
            }
            Form::Kubernetes(_) => (format!("{K8S_PREFIX}{name}"), name.to_string()),
            Form::Calico { crd: false, .. } => (name.to_string(), name.to_string()),
        };
        let namespace = if global { None } else { obj["metadata"]["namespace"].as_str() };
        let kind = match form {
            Form::Kubernetes(_) => "KubernetesNetworkPolicy",
            Form::Calico { global: true, .. } => "GlobalNetworkPolicy",
            Form::Calico { .. } => "NetworkPolicy",
        };
        let key_v332 = format!("{key_v332}/{}/{kind}", namespace.unwrap_or(""));
        let (key, scope) = match (global, namespace) {
            (false, Some(ns)) => {
                (format!("{ns}/{name}"), Scope::Namespace(self.zones_by_name.get(ns).copied()))
            }
            (false, None) => {
                self.problem(&object, "a NetworkPolicy without metadata.namespace; not read");
                return None;
            }
            (true, _) => {
                if obj["metadata"]["namespace"].is_string() {
                    problems
                        .push("a GlobalNetworkPolicy has no namespace; metadata.namespace ignored".into());
                }
                (name, Scope::Global)
            }
        };
        let mut accounts = Field::Absent;
        for k in spec.keys() {
            match k.as_str() {
                // `performanceHints` only tells Felix when to program a policy.
                "tier" | "order" | "selector" | "types" | "ingress" | "egress" | "performanceHints" => {}
                // `applyOnForward` only bears on host endpoints: a pod's policy always polices
                // what is forwarded to or from it (docs.tigera.io "Apply policy to forwarded
                // traffic"; `ConvertNetworkPolicyV3ToV1Value` sets it false for NetworkPolicy).
                "applyOnForward" => {}
                "namespaceSelector" if global => {}
                "namespaceSelector" => problems.push(
                    "a NetworkPolicy has no spec.namespaceSelector (the API server refuses it); ignored"
                        .to_string(),
                ),
                "serviceAccountSelector" => {
                    accounts = self.selector_field(spec.get(k), "spec.serviceAccountSelector", &mut problems)
                }
                // Untracked and pre-DNAT policies police host endpoints only (docs.tigera.io,
                // "Summary of host endpoint policies", "Pre-DNAT policy"; Felix renders them
                // into the raw and mangle tables of host interfaces), which are not modelled.
                "doNotTrack" | "preDNAT" => {
                    if spec.get(k) == Some(&Value::Bool(true)) {
                        self.problem(
                            &object,
                            format_args!(
                                "spec.{k}: the policy polices host endpoints, which are not modelled; not read"
                            ),
                        );
                        return None;
                    }
                }
                // The API server prunes fields its schema does not know.
                other => problems.push(format!("spec.{other} is not a field of the policy; ignored")),
            }
        }
        // "If the order is omitted, it may be considered to be 'infinite'" (`networkpolicy.go`).
        let order = match spec.get("order") {
            None | Some(Value::Null) => f64::INFINITY,
            Some(v) => v.as_f64().unwrap_or_else(|| {
                problems.push(format!("spec.order {v} is not a number; read as infinite"));
                f64::INFINITY
            }),
        };
        let selector = match self.selector_field(spec.get("selector"), "spec.selector", &mut problems) {
            Field::Absent => Some(Arc::new(Expr::All)),
            Field::Parsed(e) => Some(e),
            Field::Bad => None,
        };
        let namespaces = if global {
            match self.selector_field(spec.get("namespaceSelector"), "spec.namespaceSelector", &mut problems)
            {
                Field::Absent => Some(None),
                Field::Parsed(e) => Some(Some(e)),
                Field::Bad => None,
            }
        } else {
            Some(None)
        };
        // `spec.serviceAccountSelector`, prefixed `pcsa.` and and-ed to the selector
        // (`prefixAndAppendSelector`); a GlobalNetworkPolicy's `all()` there becomes
        // `has(projectcalico.org/serviceaccount)` (`globalnetworkpolicyprocessor.go`,
        // `networkpolicyprocessor.go`).
        let selector = match (selector, accounts) {
            (s, Field::Absent) => s,
            (Some(s), Field::Parsed(a)) => {
                let mut a = a.prefixed(SA_PREFIX);
                if global && a == Expr::All {
                    a = Expr::Has(LABEL_SERVICE_ACCOUNT.to_string());
                }
                Some(Arc::new(and_expr(&s, a)))
            }
            (_, Field::Bad) | (None, _) => None,
        };
        let selects = match (selector, namespaces, scope) {
            (Some(selector), Some(None), Scope::Namespace(zone)) => Selects::Namespace { zone, selector },
            (Some(selector), Some(namespaces), Scope::Global) => Selects::Global { namespaces, selector },
            _ => Selects::Nothing,
        };
        // Where rules come from, as `targets::origin` says it: the object, and the `file:line`
        // of the rule's own annotation, else the object's.
        let paths = match form {
            Form::Kubernetes(paths) => Some(paths),
            Form::Calico { .. } => None,
        };
        let at = At {
            object: object.as_str().into(),
            source: obj["metadata"]["annotations"][ANNOTATION_SOURCE].as_str(),
            paths,
        };
        let mut rules: [Vec<Rule>; 2] = [Vec::new(), Vec::new()];
        let mut present = [false, false];
        for d in 0..2 {
            let key = DIRS[d];
            match spec.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => {
                    present[d] = !list.is_empty();
                    rules[d].reserve(list.len());
                    for (i, r) in list.iter().enumerate() {
                        if let Some(rule) = self.rule(&at, scope, d, i, r, &mut problems) {
                            push_merged(&mut rules[d], rule, self.u);
                        }
                    }
                }
                Some(_) => problems.push(format!("spec.{key} is not a list; no rules read")),
            }
        }
        // Left out (or empty), `types` is [Ingress] with no egress rules, [Egress] with egress
        // rules and no ingress rules, both with both (`networkpolicy.go`, `Types`).
        let types = match spec.get("types") {
            Some(Value::Array(t)) if !t.is_empty() => {
                let mut types = [false, false];
                for x in t {
                    // Felix compares them case-insensitively (`ExtractPolicyMetadata`).
                    match x.as_str().map(str::to_ascii_lowercase).as_deref() {
                        Some("ingress") => types[0] = true,
                        Some("egress") => types[1] = true,
                        _ => problems.push(format!("spec.types: {x} is neither Ingress nor Egress")),
                    }
                }
                types
            }
            None | Some(Value::Null) | Some(Value::Array(_)) => [!present[1] || present[0], present[1]],
            Some(other) => {
                problems.push(format!("spec.types {other} is not a list; defaulted from the rules"));
                [!present[1] || present[0], present[1]]
            }
        };
        for d in 0..2 {
            if present[d] && !types[d] {
                let types = if paths.is_some() { "spec.policyTypes" } else { "spec.types" };
                problems.push(format!(
                    "spec.{} has rules but {types} has no {}; they never apply",
                    DIRS[d],
                    if d == 0 { "Ingress" } else { "Egress" }
                ));
            }
        }
        for p in problems {
            self.problem(&object, p);
        }
        let policy = Policy { tier: 0, types, rules, origin: origin(obj, "spec.selector".to_string(), None) };
        let namespace = namespace.map(str::to_string);
        Some(Read { key, key_v332, namespace, object, tier, order, selects, policy })
    }
}

/// `a && b`, flat where `a` is a conjunction already (so `Expr::hint` sees every conjunct).
pub(super) fn and_expr(a: &Expr, b: Expr) -> Expr {
    match (a, b) {
        (Expr::All, b) => b,
        (a, Expr::All) => a.clone(),
        (Expr::And(all), b) => {
            let mut all = all.clone();
            all.push(b);
            Expr::And(all)
        }
        (a, b) => Expr::And(vec![a.clone(), b]),
    }
}

/// The name Felix knows a `crd.projectcalico.org/v1` policy by. Calico v3.28 to v3.31 stores a
/// policy of tier `t` under `t.<name>`, and one of the default tier under `default.<name>`
/// whose API name drops the prefix (`names.TieredPolicyName`, `ClientTieredPolicyName`,
/// `validateBackendTieredPolicyName` in `libcalico-go/lib/names/policy.go` before
/// calico#11232); earlier releases had no tiers in the open-source API, and v3.32 and later
/// store the name as it is. A name that fits none of these is reported.
pub(super) fn crd_name(name: &str, tier: &str, problems: &mut Vec<String>) -> String {
    if tier == DEFAULT_TIER {
        if let Some(rest) = name.strip_prefix("default.") {
            return rest.to_string();
        }
        if let Some((prefix, _)) = name.split_once('.') {
            problems.push(format!(
                "metadata.name {name:?} begins with {prefix:?}. but the policy is in the default tier \
                 (Calico v3.28 to v3.31 refuses that name); read as the policy {name:?} of tier default"
            ));
        }
        return name.to_string();
    }
    if !name.starts_with(&format!("{tier}.")) {
        problems.push(format!(
            "metadata.name {name:?} lacks the prefix {tier:?}. that Calico v3.28 to v3.31 stores a policy \
             of tier {tier:?} under (v3.32 and later need none); read as the policy {name:?} of tier {tier:?}"
        ));
    }
    name.to_string()
}
