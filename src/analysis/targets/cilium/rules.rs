//! Rules: their peers and ports.

use super::*;

impl Reader<'_, '_> {
    /// One rule of a section as clauses (see [`Rule`]).
    ///
    /// Which fields a rule has, per `pkg/policy/api/{ingress,egress}.go` (`IngressCommonRule`,
    /// `EgressCommonRule`, and the allow-only `toPorts` rules, `toFQDNs` and `authentication`),
    /// and what `Sanitize()` refuses (`pkg/policy/api/rule_validation.go`): two kinds of peer
    /// in one rule, `icmps` beside `toPorts`, `toServices` beside `toPorts`, and the L7 shapes
    /// checked in [`Reader::port_rules`]. A refused rule makes Cilium refuse the whole policy.
    pub(super) fn rule(
        &mut self,
        obj: &Value,
        at: &str,
        namespace: Option<&str>,
        rule: &Value,
        ingress: bool,
        deny: bool,
    ) -> Rule {
        let mut out = Rule::default();
        let Some(map) = rule.as_object() else {
            self.problem(obj, at, "a rule is an object; read as matching nothing");
            return out;
        };
        let kinds: &[&str] = if ingress {
            &["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes", "fromGroups"]
        } else if deny {
            &["toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toServices", "toNodes", "toGroups"]
        } else {
            &[
                "toEndpoints",
                "toEntities",
                "toCIDR",
                "toCIDRSet",
                "toFQDNs",
                "toServices",
                "toNodes",
                "toGroups",
            ]
        };
        let requires_key = if ingress { "fromRequires" } else { "toRequires" };
        let mut l3: Vec<&str> = Vec::new();
        let mut unknown = false;
        for k in map.keys() {
            let k = k.as_str();
            if kinds.contains(&k) {
                l3.push(k);
            } else if k == requires_key || k == "toPorts" || k == "icmps" || (k == "authentication" && !deny)
            {
            } else {
                // Not a field of this kind of rule: the CRD's schema prunes it, so Cilium
                // never sees it. What the rule means without it is read below; since a field
                // the author meant may have been a peer list, the rule is read as possibly
                // covering any peer.
                unknown = true;
                self.problem(
                    obj,
                    &format!("{at}.{k}"),
                    "not a field of this rule (pruned by the CRD schema); the rule is read as possibly matching any peer",
                );
            }
        }
        if l3.iter().any(|k| {
            (*k == "fromNodes" || *k == "toNodes") && rule[*k].as_array().is_some_and(|l| !l.is_empty())
        }) {
            // Cilium refuses the policy unless `enable-node-selector-labels` is set.
            self.possibly = true;
        }
        let nonempty: Vec<&str> =
            l3.iter().copied().filter(|k| rule[*k].as_array().is_some_and(|l| !l.is_empty())).collect();
        if nonempty.len() > 1 {
            // "Combining %s and %s is not supported yet" (`IngressRule.sanitize`).
            self.reject(obj, at, format!("combines {} and {}", nonempty[0], nonempty[1]));
            return out;
        }
        let has = |k: &str| map.get(k).and_then(Value::as_array).is_some_and(|l| !l.is_empty());
        if has("icmps") && has("toPorts") {
            // "The ICMPs block may only be present without ToPorts".
            self.reject(obj, at, "has both icmps and toPorts");
            return out;
        }
        if has("toServices") && has("toPorts") {
            // "Combining ToServices and ToPorts is not supported yet" (cilium#20067).
            self.reject(obj, at, "has both toServices and toPorts");
            return out;
        }
        if has("icmps") {
            self.problem(
                obj,
                &format!("{at}.icmps"),
                "ICMP is outside the TCP, UDP and SCTP ports modelled: the entry opens none of them",
            );
            // The rule's L4 part is its ICMP types alone (`icmpRules`), so it covers no port
            // of those protocols (as `../shared/oracles/cilium` shows).
            return out;
        }
        let Some(ports) = self.port_rules(obj, at, rule.get("toPorts"), deny, ingress) else {
            return out;
        };
        // Requirements: ANDed into the rule's own endpoint selectors, scoped as they are.
        let mut requires = Vec::new();
        match rule.get(requires_key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (j, v) in list.iter().enumerate() {
                    match Selector::parse(v) {
                        Ok(sel) => requires.extend(self.scoped(sel, namespace, false).reqs),
                        Err(e) => {
                            self.reject(obj, &format!("{at}.{requires_key}[{j}]"), e);
                            return Rule::default();
                        }
                    }
                }
            }
            Some(other) => self.problem(obj, &format!("{at}.{requires_key}"), format!("not a list: {other}")),
        }
        requires.sort_by(|a, b| (&a.key, a.op as u8, &a.values).cmp(&(&b.key, b.op as u8, &b.values)));
        requires.dedup();
        out.requires = requires.clone();
        // Without any peer list, a rule with ports (or ICMP types) applies to every peer; one
        // with neither matches nothing ("An empty rule selects nothing": `ingress: [{}]`
        // isolates and allows nothing, as `../shared/oracles/cilium` shows).
        let wildcard = l3.is_empty();
        let no_l4 = ports.all.is_empty() && ports.resolved.is_empty();
        let mut cover = if wildcard {
            if matches!(map.get("toPorts"), Some(Value::Array(l)) if !l.is_empty()) {
                Arc::new(Coverage::everything())
            } else {
                Arc::new(Coverage::none())
            }
        } else {
            let mut peers = Vec::new();
            for key in &l3 {
                let Some(list) = rule[*key].as_array() else {
                    self.problem(obj, &format!("{at}.{key}"), "not a list; read as selecting no peer");
                    continue;
                };
                for (j, v) in list.iter().enumerate() {
                    match self.peer(key, v, namespace, &requires) {
                        Ok((p, problem)) => {
                            peers.push(p);
                            if let Some(e) = problem {
                                self.problem(obj, &format!("{at}.{key}[{j}]"), e);
                            }
                        }
                        Err(Refusal::Rejected(e)) => {
                            self.reject(obj, &format!("{at}.{key}[{j}]"), e);
                            return Rule::default();
                        }
                        Err(Refusal::Unread(e)) => {
                            self.problem(obj, &format!("{at}.{key}[{j}]"), e);
                            peers.push(Peer::Open([Match::Maybe; 4]));
                        }
                    }
                }
            }
            self.coverage(peers)
        };
        if unknown {
            cover = Arc::new(Coverage { kinds: [Match::Maybe; 4], ..Coverage::none() }.union(&cover, self.u));
        }
        if no_l4 {
            return out;
        }
        let mut possibly_only = false;
        if !deny {
            if let Some(auth) = map.get("authentication").filter(|a| !a.is_null()) {
                // "mode: required": the datapath drops the connection until the two sides
                // have authenticated (mutual authentication, `Documentation/network/
                // servicemesh/mutual-authentication`), which is outside what is modelled.
                if auth["mode"] != "disabled" {
                    possibly_only = true;
                    self.problem(
                        obj,
                        &format!("{at}.authentication"),
                        "mutual authentication is not modelled; the rule's connections are read as possibly allowed",
                    );
                }
            }
        }
        if possibly_only {
            cover = Arc::new(at_most_maybe(&cover));
        }
        let act = if deny { Act::Deny } else { Act::Allow };
        let origin = origin(obj, at.to_string(), Some(rule));
        let endpoints = l3.contains(&"fromEndpoints") || l3.contains(&"toEndpoints");
        let push = |out: &mut Rule, cover: Arc<Coverage>, ports: PortSet| {
            out.steps.push(Step::Clause(Clause { cover, ports, act, origin: origin.clone() }));
            out.endpoints.push(endpoints);
        };
        if !ports.all.is_empty() {
            push(&mut out, cover.clone(), ports.all);
        }
        if !ports.resolved.is_empty() {
            // Port names resolved over the whole cluster: whether they resolve, and to which
            // number, depends on pods the universe does not know, so the clause only possibly
            // covers its peers, on any port of the names' protocols.
            push(&mut out, Arc::new(at_most_maybe(&cover)), ports.resolved);
        }
        out
    }

    /// A selector scoped as `ParseToCiliumRule` scopes peers (`getEndpointSelector`, cilium/cilium
    /// `pkg/k8s/apis/cilium.io/utils/utils.go`): one that does not name the namespace label is
    /// limited to the policy's namespace, or in a clusterwide policy to endpoints that have a
    /// namespace. A Kubernetes NetworkPolicy's peers come scoped already (`k8s`).
    pub(super) fn scoped(&self, mut sel: Selector, namespace: Option<&str>, k8s: bool) -> Selector {
        if k8s || names_namespace(&sel) {
            return sel;
        }
        match namespace {
            Some(ns) => sel.reqs.push(requirement(&format!("k8s:{NAMESPACE}"), LabelOp::In, &[ns])),
            // "For a clusterwide policy if a namespace is not specified in the labels we add a
            // selector to only match endpoints that contains a namespace label".
            None => sel.reqs.push(requirement(&format!("k8s:{NAMESPACE}"), LabelOp::Exists, &[])),
        }
        sel
    }

    /// One peer, and what is wrong with it if Cilium reads it but not as it seems to mean.
    pub(super) fn peer(
        &self,
        key: &str,
        v: &Value,
        namespace: Option<&str>,
        requires: &[Requirement],
    ) -> Result<(Peer, Option<String>), Refusal> {
        let rejected = |e: String| Refusal::Rejected(e);
        let non_pods = |m: Match| Peer::Open([Match::No, m, m, m]);
        match key {
            "fromEndpoints" | "toEndpoints" => {
                let sel = Selector::parse(v).map_err(rejected)?;
                if has_reserved(&sel) {
                    // Reserved labels are carried by Cilium's own identities only (`entity.go`,
                    // `EntitySelectorMapping`): one `reserved:<entity>` label is that entity.
                    let entity = match sel.reqs.as_slice() {
                        [r] if r.op == LabelOp::In && r.values.len() == 1 => {
                            r.key.strip_prefix("reserved:").filter(|e| ENTITIES.contains(e))
                        }
                        _ => None,
                    };
                    return Ok(match entity {
                        Some(e) => (Peer::Entity(e.to_string()), None),
                        None => (
                            non_pods(Match::Maybe),
                            Some("a selector over reserved labels is read as possibly selecting any endpoint that is not a pod".to_string()),
                        ),
                    });
                }
                let mut problem = None;
                let mut peer = {
                    let mut s = self.scoped(sel.clone(), namespace, self.k8s);
                    s.reqs.extend(requires.iter().cloned());
                    Peer::Endpoints(s)
                };
                if !self.k8s
                    && namespace.is_some()
                    && !names_namespace(&sel)
                    && sel.reqs.iter().any(|r| matches!(classify(&r.key), Key::NamespaceLabel(_)))
                {
                    // Since cilium#30650 a namespaced policy's selector over namespace labels is
                    // left alone; before, it was pinned to the policy's namespace (cilium#18865).
                    problem = Some(
                        "a selector over namespace labels without the namespace key: pinned to the policy's namespace \
                         by older Cilium releases (cilium#18865), not since cilium#30650; pods of other namespaces \
                         are read as possibly selected"
                            .to_string(),
                    );
                    let mut free = sel;
                    free.reqs.extend(requires.iter().cloned());
                    peer = Peer::Either(Box::new(peer), Box::new(Peer::Endpoints(free)));
                }
                Ok((peer, problem))
            }
            "fromEntities" | "toEntities" => {
                let e = v.as_str().ok_or_else(|| rejected(format!("entity {v} is not a string")))?;
                if !ENTITIES.contains(&e) {
                    // "unsupported entity" (`IngressRule.sanitize`).
                    return Err(rejected(format!("unsupported entity {e:?}")));
                }
                Ok((Peer::Entity(e.to_string()), None))
            }
            "fromCIDR" | "toCIDR" => Ok((Peer::Cidr(cidr(v).map_err(rejected)?, Vec::new()), None)),
            "fromCIDRSet" | "toCIDRSet" => {
                let map = v.as_object().ok_or_else(|| rejected("a CIDR rule is an object".to_string()))?;
                for k in map.keys() {
                    if !["cidr", "except", "cidrGroupRef", "cidrGroupSelector"].contains(&k.as_str()) {
                        return Err(Refusal::Unread(format!(
                            "`{k}` is not a field of a CIDR rule; read as possibly any address"
                        )));
                    }
                }
                if map.contains_key("cidrGroupRef") || map.contains_key("cidrGroupSelector") {
                    // The addresses of CiliumCIDRGroup objects (`cidr.go`, `CIDRRule`), which
                    // are not read: whatever they hold is possibly covered, never a pod
                    // (CIDR rules never match pods, below).
                    return Ok((
                        non_pods(Match::Maybe),
                        Some("CIDR groups are not read; read as possibly any address, the node or the API server".to_string()),
                    ));
                }
                // `CIDRRule.sanitize`: the prefix parses, and every `except` lies inside it.
                let net = parse_net(&v["cidr"]).map_err(rejected)?;
                let mut except = Vec::new();
                for e in v["except"].as_array().into_iter().flatten() {
                    let x = parse_net(e).map_err(rejected)?;
                    if !net.contains(&x.network()) {
                        return Err(rejected(format!("except {x} is not inside {net}")));
                    }
                    except.push(x);
                }
                Ok((Peer::Cidr(net, except), None))
            }
            "toFQDNs" => {
                let map = v.as_object().ok_or_else(|| rejected("a DNS selector is an object".to_string()))?;
                if !map.keys().all(|k| k == "matchName" || k == "matchPattern") || map.is_empty() {
                    return Err(rejected(format!("DNS selector {v}")));
                }
                // The addresses DNS answers teach: outside what the source can name, never a
                // pod, the node or the API server (FQDN identities are CIDR identities, which
                // never match what Cilium knows as part of the cluster, `layer3.rst`).
                Ok((Peer::Open([Match::No, Match::Maybe, Match::No, Match::No]), None))
            }
            "toServices" => Ok((
                Peer::Open([Match::Maybe; 4]),
                Some(
                    "services are not read: their backends (pods or addresses) are read as possibly selected"
                        .to_string(),
                ),
            )),
            "fromGroups" | "toGroups" => Ok((
                non_pods(Match::Maybe),
                Some("cloud provider groups are not read: read as possibly any address".to_string()),
            )),
            // "FromNodes/ToNodes rules can only be applied when the enable-node-selector-labels
            // flag is set" (`rule_validation.go`): otherwise Cilium refuses the policy, which
            // [`Reader::object`] reads as possibly in force.
            _ => Ok((
                non_pods(Match::Maybe),
                Some(
                    "node labels are not known: read as possibly the node, a remote node or the API server"
                        .to_string(),
                ),
            )),
        }
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
            Peer::Entity(_) | Peer::Either(..) => {}
            Peer::Cidr(..) | Peer::Open(_) => return Arc::new(self.peer_coverage(&peer)),
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
            Peer::Open(kinds) => Coverage { kinds: *kinds, ..Coverage::none() },
            Peer::Either(certain, possible) => {
                let possible = at_most_maybe(&self.peer_coverage(possible));
                self.peer_coverage(certain).union(&possible, u)
            }
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

    /// An entity (`entity.go`, `EntitySelectorMapping`; `layer3.rst`, "Entities Based"), as
    /// `../shared/oracles/cilium` shows them: `world` holds every address outside the cluster,
    /// and possibly the API server (when it runs outside); `world-ipv4`
    /// and `world-ipv6` select those addresses of one family only in a dual-stack cluster,
    /// and nothing in a single-stack one (so: possibly); `remote-node` the other nodes, and
    /// an API server that runs on one; `cluster` every pod and the node, possibly any address
    /// (remote nodes, unmanaged endpoints) or the API server; `health`, `ingress` and
    /// `unmanaged` possibly an address; `init` and `none` nothing here.
    pub(super) fn entity(&self, e: &str) -> Coverage {
        let u = self.u;
        // An address outside the cluster is `world` as far as `outside` says; one a rule
        // names, possibly.
        let world = |v4: Option<bool>, outside: Match| {
            let c = Coverage::points(self.nets.iter().filter_map(|&p| {
                let point = u.point(p);
                let ip = point.ip()?;
                if v4.is_some_and(|v4| v4 != ip.is_ipv4()) {
                    return None;
                }
                Some((p, if matches!(point.role, Role::World(_)) { outside } else { Match::Maybe }))
            }));
            c
        };
        let maybe = |kinds: &[Kind]| {
            let mut c = Coverage::none();
            for k in kinds {
                c.kinds[k.index()] = Match::Maybe;
            }
            c
        };
        match e {
            "all" => Coverage::everything(),
            "world" => {
                let mut c = world(None, Match::Yes);
                c.kinds[Kind::Net.index()] = Match::Maybe;
                // An API server outside the cluster is also `world` (its identity carries
                // `reserved:world`: `../shared/oracles/cilium -apiserver-ip`); whether it is
                // outside is open.
                c.kinds[Kind::ApiServer.index()] = Match::Maybe;
                c
            }
            "world-ipv4" => world(Some(true), Match::Maybe),
            "world-ipv6" => world(Some(false), Match::Maybe),
            "cluster" => {
                Coverage { kinds: [Match::Yes, Match::Maybe, Match::Yes, Match::Maybe], ..Coverage::none() }
            }
            "host" => Coverage::kind(Kind::Host, Match::Yes),
            "kube-apiserver" => Coverage::kind(Kind::ApiServer, Match::Yes),
            "remote-node" => maybe(&[Kind::Net, Kind::ApiServer]),
            "health" | "ingress" | "unmanaged" => maybe(&[Kind::Net]),
            _ => Coverage::none(),
        }
    }
}

/// A CIDR, or a bare address as its own network.
pub(super) fn cidr(v: &Value) -> Result<IpNet, String> {
    parse_net(v)
        .or_else(|e| v.as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok()).map(IpNet::from).ok_or(e))
}

/// A coverage that covers possibly whatever `c` covers certainly or possibly.
pub(super) fn at_most_maybe(c: &Coverage) -> Coverage {
    let cap = |m: Match| m.min(Match::Maybe);
    Coverage {
        kinds: c.kinds.map(cap),
        zones: c.zones.iter().map(|&(z, m)| (z, cap(m))).collect(),
        points: c.points.iter().map(|&(p, m)| (p, cap(m))).collect(),
    }
}
