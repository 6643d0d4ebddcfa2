//! Rules and entity rules: the endpoints and ports a rule matches.

use super::*;

impl<'u, 'a> Reader<'u, 'a> {
    /// One rule, or `None` where it decides nothing (Log, no modelled port, no endpoint).
    pub(super) fn rule(
        &mut self,
        at: &At,
        scope: Scope,
        d: usize,
        i: usize,
        r: &'a Value,
        problems: &mut Vec<String>,
    ) -> Option<Rule> {
        // A converted Kubernetes rule is named by the rule it comes from.
        let converted = at.paths.and_then(|p| p[d].get(i));
        let path = || match converted {
            Some((path, _)) => path.clone(),
            None => format!("spec.{}[{i}]", DIRS[d]),
        };
        let Some(m) = r.as_object() else {
            problems.push(format!("{} is not an object; not read", path()));
            return None;
        };
        // Every field in one pass.
        let (mut action, mut source, mut destination, mut ip_version) = (None, None, None, None);
        let (mut protocol, mut not_protocol, mut icmp, mut metadata) = (None, None, None, None);
        let mut open = converted.is_some_and(|c| c.1);
        let mut not_icmp = false;
        for (k, v) in m {
            match k.as_str() {
                "action" => action = Some(v),
                "source" => source = Some(v),
                "destination" => destination = Some(v),
                "ipVersion" => ip_version = Some(v).filter(|v| !v.is_null()),
                "protocol" => protocol = Some(v).filter(|v| !v.is_null()),
                "notProtocol" => not_protocol = Some(v).filter(|v| !v.is_null()),
                "icmp" => icmp = Some(v).filter(|v| !v.is_null()),
                "metadata" => metadata = Some(v),
                "notICMP" => not_icmp = !v.is_null(),
                // An HTTP match (`HTTPMatch`, `policy_common.go`) is enforced at layer 7 by the
                // application layer, not by Felix's layer 3/4 rules.
                "http" => {
                    problems.push(format!(
                        "{}.http matches HTTP requests (layer 7), which are not modelled; read as possibly matching",
                        path()
                    ));
                    open = true;
                }
                other => {
                    problems.push(format!(
                        "{}.{other} is not read; the rule is read as possibly matching",
                        path()
                    ));
                    open = true;
                }
            }
        }
        let act = match action.and_then(Value::as_str) {
            Some("Allow") => Act::Allow,
            Some("Deny") => Act::Deny,
            Some("Pass") => Act::Pass,
            // Log goes on to the next rule: it decides nothing.
            Some("Log") => return None,
            _ => {
                let action = action.unwrap_or(&Value::Null);
                problems
                    .push(format!("{}.action {action} is not Allow, Deny, Pass or Log; not read", path()));
                return None;
            }
        };
        // `icmp` and `notICMP` need protocol ICMP or ICMPv6 (the CRD's validation rules,
        // `policy_common.go`), which no TCP, UDP or SCTP port matches anyway; `icmp` alone is
        // read as that. A `notICMP` beside another protocol is refused by the API server.
        if not_icmp && !protocol.and_then(protocol_of).is_some_and(|p| matches!(p, Proto::Other)) {
            problems.push(format!(
                "{}.notICMP without protocol ICMP or ICMPv6 (the API server refuses it); read as possibly matching",
                path()
            ));
            open = true;
        }
        let ports = self.ports([protocol, not_protocol, icmp], destination.and_then(Value::as_object));
        problems.extend(ports.1.iter().map(|p| format!("{}.{p}", path())));
        if let Some(source) = source.and_then(Value::as_object) {
            for key in ["ports", "notPorts"] {
                if source.get(key).and_then(Value::as_array).is_some_and(|l| !l.is_empty()) {
                    problems.push(format!(
                        "{}.source.{key} restricts the connection's source port, which is not modelled; \
                         read as possibly matching",
                        path()
                    ));
                    open = true;
                }
            }
        }
        // A rule's destination ports are the connection's destination port in either direction:
        // on the policed pod for ingress, on the peer for egress.
        let ((peer, peer_key), (own, own_key)) = if d == 0 {
            ((source, "source"), (destination, "destination"))
        } else {
            ((destination, "destination"), (source, "source"))
        };
        // A Service may only be the peer (an ingress rule's source, an egress rule's
        // destination), and a destination Service takes the Service's own ports
        // (`validateNetworkPolicy`, `validateRule`).
        let has_services = |v: Option<&Value>| v.is_some_and(|v| !v["services"].is_null());
        if has_services(own) {
            problems.push(format!("{}.{own_key}.services: Calico refuses a Service there; not read", path()));
            return None;
        }
        if d == 1
            && has_services(peer)
            && ["ports", "notPorts"].iter().any(|k| peer.is_some_and(|v| !v[*k].is_null()))
        {
            problems.push(format!(
                "{}.destination: Calico refuses ports beside services (the Service's ports count); not read",
                path()
            ));
            return None;
        }
        let peer = self.entity(peer, scope, problems, &|| format!("{}.{peer_key}", path()));
        let own = self.entity(own, scope, problems, &|| format!("{}.{own_key}", path()));
        if ports.0.is_empty() {
            return None;
        }
        let mut cover = peer.unwrap_or_else(|| self.everything.clone());
        if let Some(v) = ip_version {
            match v.as_u64() {
                Some(version @ (4 | 6)) => {
                    cover = Arc::new(normalize(and(&cover, &self.family(version), self.u), self.u))
                }
                _ => problems.push(format!("{}.ipVersion {v} is neither 4 nor 6; ignored", path())),
            }
        }
        if open {
            cover = Arc::new(cap(&cover, Match::Maybe));
        }
        if cover.is_none() || own.as_ref().is_some_and(|c| c.is_none()) {
            return None;
        }
        let own_source = metadata.and_then(|x| x["annotations"][ANNOTATION_SOURCE].as_str());
        let origin = Origin::Manifest {
            object: at.object.clone(),
            rule: path(),
            source: own_source.or(at.source).map(|s| s.split(',').next().unwrap_or(s).trim().to_string()),
        };
        let clause = Clause { cover, ports: ports.0.clone(), act, origin };
        let capped = own.as_ref().map(|_| {
            Box::new(Clause { cover: Arc::new(cap(&clause.cover, Match::Maybe)), ..clause.clone() })
        });
        Some(Rule { clause, own, capped })
    }

    /// The address points of one IP version, and every other point maybe (a pod, the node and
    /// the API server may have addresses of both).
    pub(super) fn family(&self, version: u64) -> Coverage {
        let all: IpNet = if version == 4 { "0.0.0.0/0" } else { "::/0" }.parse().expect("a network");
        let mut c = Coverage::points(self.u.addresses_in(&all).map(|(_, p)| (p, Match::Yes)));
        for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
            c.kinds[k.index()] = Match::Maybe;
        }
        c
    }

    /// The ports a rule matches, read once per distinct shape, with problems relative to the
    /// rule.
    pub(super) fn ports(
        &mut self,
        [protocol, not_protocol, icmp]: [Option<&'a Value>; 3],
        destination: Option<&'a Map<String, Value>>,
    ) -> Arc<(PortSet, Vec<String>)> {
        let (mut ports, mut not_ports) = (None, None);
        for (k, v) in destination.into_iter().flatten() {
            match k.as_str() {
                "ports" => ports = Some(v).filter(|v| !v.is_null()),
                "notPorts" => not_ports = Some(v).filter(|v| !v.is_null()),
                _ => {}
            }
        }
        let key = PortsKey::new([protocol, not_protocol, icmp, ports, not_ports]);
        if let Some(p) = self.port_sets.get(&key) {
            return p.clone();
        }
        let mut problems = Vec::new();
        let set = Arc::new((port_set(key.fields, &mut problems), problems));
        self.port_sets.insert(key, set.clone());
        set
    }

    /// An entity rule's conditions on one endpoint, but its ports; `None` when it has none.
    /// `at` names it in problems.
    pub(super) fn entity(
        &mut self,
        v: Option<&'a Value>,
        scope: Scope,
        problems: &mut Vec<String>,
        at: &dyn Fn() -> String,
    ) -> Option<Arc<Coverage>> {
        let m = match v {
            None | Some(Value::Null) => return None,
            Some(Value::Object(m)) => m,
            Some(other) => {
                problems.push(format!("{} {other} is not an object; read as matching nothing", at()));
                return Some(Arc::new(Coverage::none()));
            }
        };
        // The cache key: the fields that decide, and the scope where selectors depend on it.
        // A namespaceSelector makes the rest independent of the scope (see `read_entity`).
        let namespaced = match m.get("namespaceSelector") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        let mut scoped = false;
        let mut deciding = false;
        for k in m.keys() {
            match k.as_str() {
                "ports" | "notPorts" => continue,
                "selector" | "notSelector" | "namespaceSelector" | "serviceAccounts" => scoped = !namespaced,
                _ => {}
            }
            deciding = true;
        }
        if !deciding {
            return None;
        }
        let key = EntityKey::new(m, scoped.then_some(scope));
        let entity = match self.entities.get(&key) {
            Some(e) => e.clone(),
            None => {
                let e = Arc::new(self.read_entity(m, scope));
                self.entities.insert(key, e.clone());
                e
            }
        };
        if !entity.problems.is_empty() {
            let at = at();
            problems.extend(entity.problems.iter().map(|p| format!("{at}: {p}")));
        }
        entity.cover.clone()
    }

    /// `EntityRule` (`policy_common.go`), every field but the ports: all of them must hold.
    pub(super) fn read_entity(&mut self, m: &'a Map<String, Value>, scope: Scope) -> Entity {
        let u = self.u;
        let mut problems = Vec::new();
        let mut conditions: Vec<Coverage> = Vec::new();
        let mut nothing = false;
        let mut open = false;
        for k in m.keys() {
            match k.as_str() {
                "nets" | "notNets" | "selector" | "notSelector" | "namespaceSelector" | "ports"
                | "notPorts" | "serviceAccounts" => {}
                "services" => {}
                other => {
                    problems.push(format!("{other} is not read; read as possibly matching"));
                    open = true;
                }
            }
        }
        // nets / notNets: the endpoint's address. An empty list is no condition
        // (`len(nets) == 0`, `rules.go`).
        for (key, positive) in [("nets", true), ("notNets", false)] {
            let Some(list) = m.get(key).filter(|v| !v.is_null()) else { continue };
            let Some(list) = list.as_array() else {
                problems.push(format!("{key} {list} is not a list; read as matching nothing"));
                nothing = true;
                continue;
            };
            let mut nets = Vec::new();
            for n in list {
                match n.as_str().and_then(parse_net) {
                    Some(net) => nets.push(net),
                    None => problems.push(format!("{key}: {n} is not a network; left out")),
                }
            }
            if !nets.is_empty() {
                conditions.push(if positive {
                    self.nets_cover(&nets)
                } else {
                    negate(&self.nets_cover(&nets))
                });
            }
        }
        // services: the endpoints of a Service. Calico refuses it beside any other field that
        // picks endpoints (`validateEntityRule`, libcalico-go's v3 validator). The one Service
        // the source names is the API server's, `kubernetes` in `default`; others are not
        // modelled.
        if let Some(services) = m.get("services").filter(|v| !v.is_null()) {
            let beside: Vec<&str> =
                ["selector", "notSelector", "namespaceSelector", "serviceAccounts", "nets", "notNets"]
                    .into_iter()
                    .filter(|k| {
                        m.get(*k).is_some_and(|v| !v.is_null() && v != "" && v != &Value::Array(vec![]))
                    })
                    .collect();
            if !beside.is_empty() {
                problems.push(format!(
                    "services beside {}: Calico refuses the rule; read as matching nothing",
                    beside.join(", ")
                ));
                nothing = true;
            } else if services["name"] == "kubernetes" && services["namespace"] == "default" {
                conditions.push(Coverage::points([(u.api_server(), Match::Yes)]));
            } else {
                problems.push(format!(
                    "services {services} picks a Service's endpoints, which are not modelled; read as possibly matching"
                ));
                open = true;
            }
        }
        let selector = self.selector_field(m.get("selector"), "selector", &mut problems);
        let not_selector = self.selector_field(m.get("notSelector"), "notSelector", &mut problems);
        let namespaces = self.selector_field(m.get("namespaceSelector"), "namespaceSelector", &mut problems);
        let accounts = self.accounts(m.get("serviceAccounts"), &mut problems);
        if [&selector, &not_selector, &namespaces].iter().any(|f| matches!(f, Field::Bad))
            || accounts.is_err()
        {
            nothing = true;
        } else {
            let present = |f: &Field| matches!(f, Field::Parsed(_));
            // `GetEntityRuleSelector` (`rules.go`): the service account match and the
            // selector, and-ed.
            let sel: Option<Expr> = match (accounts.ok().flatten(), &selector) {
                (None, Field::Parsed(e)) => Some((**e).clone()),
                (Some(a), Field::Parsed(e)) => Some(and_expr(&a, (**e).clone())),
                (a, _) => a,
            };
            // `getEndpointSelector` (`rules.go`): the namespace part is the namespaceSelector,
            // else the NetworkPolicy's own namespace, else none (a GlobalNetworkPolicy); it
            // restricts the endpoints "as soon as _any_ of the selector fields are used,
            // including NotSelector". The notSelector itself is not namespaced.
            let ns_part = present(&namespaces) || matches!(scope, Scope::Namespace(_));
            let positive = sel.is_some() || (ns_part && (present(&not_selector) || present(&namespaces)));
            if positive {
                let zones: Vec<(ZoneId, Match)> = match (&namespaces, scope) {
                    // A rule's namespaceSelector: `all()` becomes "in some namespace" and
                    // `global()` "in none" (`rules.go`).
                    (Field::Parsed(e), _) => {
                        // A selector that requires one name picks that namespace or none.
                        let by_name = e.hint(|k| k == NAMESPACE_NAME || k == NAMESPACE_NAME_LABEL);
                        let candidates: Vec<ZoneId> = match by_name {
                            Some((_, name)) => self.zones_by_name.get(name).copied().into_iter().collect(),
                            None => (0..u.zones.len() as ZoneId).collect(),
                        };
                        candidates
                            .into_iter()
                            .map(|z| (z, e.eval(&ns_get(u, z), Match::No)))
                            .filter(|z| z.1 != Match::No)
                            .collect()
                    }
                    (_, Scope::Namespace(z)) => z.map(|z| (z, Match::Yes)).into_iter().collect(),
                    (_, Scope::Global) => self.all_zones.clone(),
                };
                let mut c = self.pods_cover(&zones, sel.as_ref());
                if !self.sets.is_empty() {
                    let ns = match &namespaces {
                        Field::Parsed(e) => NsPart::Selector(e),
                        _ => match scope {
                            Scope::Namespace(z) => NsPart::Own(z),
                            Scope::Global => NsPart::Any,
                        },
                    };
                    c = c.union(&self.sets_cover(&ns, sel.as_ref()), u);
                }
                conditions.push(c);
            }
            if let Field::Parsed(e) = &not_selector {
                // "Negative match on selected endpoints": everything but the pods (and network
                // sets) it picks, in any namespace.
                let mut c = self.pods_cover(&self.all_zones, Some(e));
                if !self.sets.is_empty() {
                    c = c.union(&self.sets_cover(&NsPart::Any, Some(e)), u);
                }
                conditions.push(negate(&c));
            }
        }
        let cover = if nothing {
            Some(Arc::new(Coverage::none()))
        } else {
            let mut cover = conditions.into_iter().reduce(|a, b| and(&a, &b, u));
            if open {
                cover = Some(cap(cover.as_ref().unwrap_or(&Coverage::everything()), Match::Maybe));
            }
            cover.map(|c| Arc::new(normalize(c, u)))
        };
        Entity { cover, problems }
    }

    /// Address points in any of `nets`; pods, the node and the API server maybe.
    pub(super) fn nets_cover(&self, nets: &[IpNet]) -> Coverage {
        let mut c =
            Coverage::points(nets.iter().flat_map(|n| self.u.addresses_in(n)).map(|(_, p)| (p, Match::Yes)));
        for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
            c.kinds[k.index()] = Match::Maybe;
        }
        c
    }

    /// The pods of `zones` (each as far as its namespace matches) that `selector` picks
    /// (`None`: every pod). No other point.
    pub(super) fn pods_cover(&self, zones: &[(ZoneId, Match)], selector: Option<&Expr>) -> Coverage {
        let u = self.u;
        let selector = selector.filter(|e| **e != Expr::All);
        let hint = selector.and_then(|e| e.hint(is_pod_label));
        let none = BTreeMap::new();
        let mut values: Vec<(ZoneId, Match)> = Vec::with_capacity(zones.len());
        let mut points: Vec<(PointId, Match)> = Vec::new();
        for &(z, within) in zones {
            let Some(e) = selector else {
                values.push((z, within));
                continue;
            };
            // The value at pods the zone holds without labels the selector reads; then every
            // pod that differs.
            let base = e.eval(&pod_get(u, z, &none, None), Match::Yes).min(within);
            values.push((z, base));
            let candidates = match hint {
                Some((k, v)) if base == Match::No => u.pods_with_label(z, k, v),
                _ => &u.zone(z).pods,
            };
            for &p in candidates {
                let m = e
                    .eval(
                        &pod_get(u, z, &u.point(p).labels, u.point(p).service_account.as_deref()),
                        Match::Yes,
                    )
                    .min(within);
                if m != base {
                    points.push((p, m));
                }
            }
        }
        let mut c = Coverage::none();
        let uniform = values.len() == u.zones.len() && values.windows(2).all(|w| w[0].1 == w[1].1);
        match values.first() {
            Some(&(_, m)) if uniform => c.kinds[Kind::Pod.index()] = m,
            _ => {
                values.retain(|z| z.1 != Match::No);
                values.sort_unstable();
                c.zones = values;
            }
        }
        points.sort_unstable();
        c.points = points;
        c
    }
}
