//! Rules: their peers and ports.

use super::*;

impl Reader<'_, '_> {
    /// One rule of a section as clauses: one, and a second for the port names of an egress
    /// rule (see [`Reader::port_rules`]).
    pub(super) fn rule(
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
    pub(super) fn peer(
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
    pub(super) fn port_rules(
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

    pub(super) fn coverage(&mut self, peers: Vec<Peer>) -> Arc<Coverage> {
        let parts = peers.into_iter().map(|p| self.cached(p)).collect();
        union_all(self.u, parts)
    }

    /// A peer's coverage, kept for the next rule that names the same peer when it took a scan
    /// of namespaces, pods or addresses (others are cheaper to redo than to look up).
    pub(super) fn cached(&mut self, peer: Peer) -> Arc<Coverage> {
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

    pub(super) fn peer_coverage(&self, peer: &Peer) -> Coverage {
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
    pub(super) fn endpoints(&self, sel: &Selector, zones: &[(ZoneId, Match)], pods: &Selector) -> Coverage {
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

    pub(super) fn entity(&self, e: &str) -> Coverage {
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
