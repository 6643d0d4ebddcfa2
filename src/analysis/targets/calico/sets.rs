//! Endpoints a rule's selectors pick besides pods: network sets, and pods by service account.
//!
//! Network sets (`NetworkSet`, `GlobalNetworkSet`) are labelled lists of networks that rule
//! selectors pick like endpoints: Felix puts the networks of every network set a rule's
//! selector matches into the rule's IP set. Their labels, as selectors see them
//! (`networksetprocessor.go`): their own, plus `projectcalico.org/namespace` and the namespace
//! profile's `pcns.` labels for a namespaced one. Only the network sets in the objects read are
//! known, so a rule that picks one covers its networks as possibly, and each network set read
//! is reported.

use super::*;

/// A network set as read.
pub(super) struct NetworkSet {
    /// `None`: a GlobalNetworkSet.
    pub(super) namespace: Option<String>,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) nets: Vec<IpNet>,
}

/// The namespace part of a rule's endpoint selector (`getEndpointSelector`, `rules.go`).
pub(super) enum NsPart<'e> {
    /// The rule's namespaceSelector.
    Selector(&'e Expr),
    /// The policy's own namespace (absent from the universe: none).
    Own(Option<ZoneId>),
    /// No namespace condition (a GlobalNetworkPolicy's rule without namespaceSelector).
    Any,
}

/// A rule's namespaceSelector as Felix evaluates it against any endpoint: keys prefixed
/// `pcns.`, `all()` as `has(projectcalico.org/namespace)` and `global()` as
/// `!has(projectcalico.org/namespace)` (`getEndpointSelector`).
fn namespace_expr(e: &Expr) -> Expr {
    match e {
        Expr::All => Expr::Has(LABEL_NAMESPACE.to_string()),
        Expr::Global => Expr::Not(Box::new(Expr::Has(LABEL_NAMESPACE.to_string()))),
        Expr::Not(x) => Expr::Not(Box::new(namespace_expr(x))),
        Expr::And(all) => Expr::And(all.iter().map(namespace_expr).collect()),
        Expr::Or(all) => Expr::Or(all.iter().map(namespace_expr).collect()),
        atom => atom.prefixed(NS_PREFIX),
    }
}

impl<'u, 'a> Reader<'u, 'a> {
    /// A `NetworkSet` or `GlobalNetworkSet`.
    pub(super) fn network_set(&mut self, obj: &Value) -> Option<NetworkSet> {
        let object = object_name(obj);
        let global = obj["kind"] == "GlobalNetworkSet";
        let namespace = match (global, obj["metadata"]["namespace"].as_str()) {
            (true, _) => None,
            (false, Some(ns)) => Some(ns.to_string()),
            (false, None) => {
                self.problem(&object, "a NetworkSet without metadata.namespace; not read");
                return None;
            }
        };
        let mut labels = BTreeMap::new();
        if let Some(m) = obj["metadata"]["labels"].as_object() {
            for (k, v) in m {
                match v.as_str() {
                    Some(v) => {
                        labels.insert(k.clone(), v.to_string());
                    }
                    None => {
                        self.problem(&object, format_args!("metadata.labels.{k} is not a string; left out"))
                    }
                }
            }
        }
        let mut nets = Vec::new();
        for n in obj["spec"]["nets"].as_array().into_iter().flatten() {
            // `convertNetworkSetV2ToV1Value` skips what does not parse, with a warning.
            match n.as_str().and_then(parse_net) {
                Some(net) => nets.push(net),
                None => self.problem(&object, format_args!("spec.nets: {n} is not a network; left out")),
            }
        }
        self.problem(
            &object,
            "a rule selector that picks this network set covers its nets as possibly: other network \
             sets may exist, and the labels of those are not known",
        );
        Some(NetworkSet { namespace, labels, nets })
    }

    /// The addresses of the network sets that a rule's endpoint selector (`ns` and `sel`, and-ed)
    /// picks, as possibly; pods, the node and the API server possibly where some set is picked
    /// (their addresses may lie in its networks).
    pub(super) fn sets_cover(&self, ns: &NsPart, sel: Option<&Expr>) -> Coverage {
        let u = self.u;
        let ns_expr = match ns {
            NsPart::Selector(e) => Some(namespace_expr(e)),
            _ => None,
        };
        let mut c = Coverage::none();
        for set in self.sets.iter() {
            let get = |k: &str| -> Lookup<'_> {
                if k == LABEL_NAMESPACE {
                    return Lookup::Known(set.namespace.as_deref());
                }
                match (k.strip_prefix(NS_PREFIX), &set.namespace) {
                    (Some(_), None) => Lookup::Known(None),
                    (Some(key), Some(name)) => match self.zones_by_name.get(name.as_str()) {
                        Some(&z) => ns_get(u, z)(key),
                        None if key == NAMESPACE_NAME => Lookup::Known(Some(name.as_str())),
                        None => Lookup::Unknown,
                    },
                    (None, _) => Lookup::Known(set.labels.get(k).map(String::as_str)),
                }
            };
            let in_ns = match (ns, &ns_expr) {
                (_, Some(e)) => e.eval(&get, Match::Yes),
                (NsPart::Own(Some(z)), _) => {
                    if set.namespace.as_deref() == Some(u.zone(*z).name.as_str()) {
                        Match::Yes
                    } else {
                        Match::No
                    }
                }
                (NsPart::Own(None), _) => Match::No,
                _ => Match::Yes,
            };
            let m = in_ns.min(sel.map_or(Match::Yes, |e| e.eval(&get, Match::Yes)));
            if m != Match::No && !set.nets.is_empty() {
                c = c.union(&cap(&self.nets_cover(&set.nets), Match::Maybe), u);
            }
        }
        c
    }

    /// A rule's `serviceAccounts` (`ServiceAccountMatch`) as a selector on pods, as
    /// `parseServiceAccounts` (`rules.go`) writes it: `names` as
    /// `projectcalico.org/serviceaccount in {…}`, and-ed with `selector` prefixed `pcsa.`.
    /// `Ok(None)`: no condition; `Err`: a field that does not read (a problem).
    pub(super) fn accounts(
        &mut self,
        v: Option<&'a Value>,
        problems: &mut Vec<String>,
    ) -> Result<Option<Expr>, ()> {
        let m = match v {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(m)) => m,
            Some(other) => {
                problems.push(format!("serviceAccounts {other} is not an object; read as matching nothing"));
                return Err(());
            }
        };
        let mut names: Vec<String> = Vec::new();
        match m.get("names") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for n in list {
                    match n.as_str() {
                        Some(n) => names.push(n.to_string()),
                        None => {
                            problems.push(format!(
                                "serviceAccounts.names: {n} is not a name; read as matching nothing"
                            ));
                            return Err(());
                        }
                    }
                }
            }
            Some(other) => {
                problems
                    .push(format!("serviceAccounts.names {other} is not a list; read as matching nothing"));
                return Err(());
            }
        }
        names.sort();
        names.dedup();
        let selector = match self.selector_field(m.get("selector"), "serviceAccounts.selector", problems) {
            Field::Absent => None,
            Field::Parsed(e) => {
                let reads_labels = e.keys().any(|k| k != NAMESPACE_NAME);
                if reads_labels {
                    problems.push(
                        "serviceAccounts.selector reads labels of service accounts, which are not known \
                         (but for projectcalico.org/name); read as possibly matching"
                            .into(),
                    );
                }
                Some(e.prefixed(SA_PREFIX))
            }
            Field::Bad => return Err(()),
        };
        if self.open_accounts {
            problems.push(
                "serviceAccounts: pods whose service account is not known are read as possibly matching"
                    .into(),
            );
        }
        let by_name = (!names.is_empty()).then(|| Expr::In(LABEL_SERVICE_ACCOUNT.to_string(), names));
        Ok(match (selector, by_name) {
            (Some(s), Some(n)) => Some(and_expr(&s, n)),
            (s, n) => s.or(n),
        })
    }
}
