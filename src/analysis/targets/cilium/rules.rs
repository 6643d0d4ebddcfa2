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

    /// `toPorts`: absent or empty, every port of every protocol (`len(ToPorts) == 0`: no L4
    /// restriction). Returns the ports, and apart from them what the port names of an egress
    /// rule may stand for; `None` when Cilium refuses the policy.
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
    ///
    /// What a `PortRule` holds besides ports (`l4.go`): L7 `rules` (`http`, `kafka`, `dns`,
    /// `l7proto` with `l7`), `serverNames`, `listener`, `originatingTLS`, `terminatingTLS`.
    /// They all send the connection to a proxy that decides per request: the connection's
    /// layer 3/4 part is allowed (the oracle's `allow-proxy`), what the proxy lets through is
    /// not modelled and is reported. `PortRule.sanitize` refuses DNS rules on ingress, a
    /// listener on ingress or beside L7 rules, L7 rules over port 0 or (but DNS) over
    /// anything but TCP, `l7` without `l7proto`, two L7 kinds in one entry, server names
    /// beside L7 rules without TLS termination, and L7 rules in host policies.
    pub(super) fn port_rules(
        &mut self,
        obj: &Value,
        at: &str,
        v: Option<&Value>,
        deny: bool,
        ingress: bool,
    ) -> Option<Ports> {
        let mut out = Ports { all: PortSet::empty(), resolved: PortSet::empty() };
        let list = match v {
            None | Some(Value::Null) => return Some(Ports { all: PortSet::all(), ..out }),
            Some(Value::Array(l)) => l,
            Some(other) => {
                self.reject(obj, &format!("{at}.toPorts"), format!("not a list: {other}"));
                return None;
            }
        };
        if list.is_empty() {
            return Some(Ports { all: PortSet::all(), ..out });
        }
        for (i, pr) in list.iter().enumerate() {
            let at = format!("{at}.toPorts[{i}]");
            let Some(map) = pr.as_object() else {
                self.reject(obj, &at, "not an object");
                return None;
            };
            let allowed: &[&str] = if deny {
                &["ports"]
            } else {
                &["ports", "rules", "serverNames", "listener", "originatingTLS", "terminatingTLS"]
            };
            for k in map.keys() {
                if !allowed.contains(&k.as_str()) {
                    self.problem(
                        obj,
                        &format!("{at}.{k}"),
                        "not a field of this port rule (pruned by the CRD schema); ignored",
                    );
                }
            }
            let present = |k: &str| map.get(k).is_some_and(|x| !x.is_null());
            let rules = pr.get("rules").filter(|r| !deny && r.as_object().is_some_and(|o| !o.is_empty()));
            let kinds: Vec<&str> = rules
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter(|(k, x)| !x.is_null() && k.as_str() != "l7")
                        .map(|(k, _)| k.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let dns = kinds.contains(&"dns");
            if !deny && present("listener") && ingress {
                self.reject(obj, &format!("{at}.listener"), "a listener on ingress");
                return None;
            }
            if !deny && present("listener") && rules.is_some() {
                self.reject(obj, &format!("{at}.listener"), "a listener beside L7 rules");
                return None;
            }
            if let Some(r) = rules {
                if ingress && dns {
                    self.reject(obj, &format!("{at}.rules.dns"), "DNS rules on ingress");
                    return None;
                }
                if kinds.len() > 1 {
                    self.reject(obj, &format!("{at}.rules"), "several L7 protocols in one port rule");
                    return None;
                }
                if present_in(r, "l7") && !present_in(r, "l7proto") {
                    self.reject(obj, &format!("{at}.rules.l7"), "`l7` without `l7proto`");
                    return None;
                }
                if self.host {
                    self.reject(obj, &format!("{at}.rules"), "L7 rules in a host policy");
                    return None;
                }
                if present("serverNames") && !present("terminatingTLS") {
                    self.reject(
                        obj,
                        &format!("{at}.serverNames"),
                        "server names beside L7 rules without TLS termination",
                    );
                    return None;
                }
            }
            let ports = match pr.get("ports") {
                Some(Value::Array(l)) if !l.is_empty() => l.as_slice(),
                _ if rules.is_some() && dns => {
                    self.reject(obj, &at, "DNS rules without port 53");
                    return None;
                }
                _ => &[],
            };
            if ports.is_empty() {
                // `PortRule` without ports: no port restriction from this entry.
                self.problem(obj, &at, "no ports: read as every port");
                out.all = PortSet::all();
            }
            for (j, p) in ports.iter().enumerate() {
                match port(p) {
                    Ok((_, _, true)) if rules.is_some() => {
                        self.reject(obj, &format!("{at}.ports[{j}]"), "L7 rules over port 0");
                        return None;
                    }
                    Ok((set, _, _))
                        if rules.is_some() && !dns && !set.is_subset(&PortSet::protocol(Protocol::Tcp)) =>
                    {
                        let _ = set;
                        self.reject(
                            obj,
                            &format!("{at}.ports[{j}]"),
                            "L7 rules over a protocol other than TCP",
                        );
                        return None;
                    }
                    Ok((set, true, _)) if !ingress => {
                        out.resolved = out.resolved.union(&every_port_of_its_protocols(&set))
                    }
                    Ok((set, _, _)) => out.all = out.all.union(&set),
                    Err(Refusal::Rejected(e)) => {
                        self.reject(obj, &format!("{at}.ports[{j}]"), e);
                        return None;
                    }
                    Err(Refusal::Unread(e)) => self.problem(obj, &format!("{at}.ports[{j}]"), e),
                }
            }
            let proxied: Vec<&str> = ["serverNames", "listener", "originatingTLS", "terminatingTLS"]
                .into_iter()
                .filter(|k| !deny && present(k))
                .collect();
            let wildcard_dns = rules.is_some_and(dns_wildcard);
            if (rules.is_some() && !wildcard_dns) || !proxied.is_empty() {
                let what = match kinds.first() {
                    Some(k) => format!("L7 `{k}` rules"),
                    None => proxied.join(", "),
                };
                self.problem(
                    obj,
                    &at,
                    format!(
                        "{what} send these ports to a proxy that decides per request, which is not modelled; \
                         read as allowing the connections at layer 3/4"
                    ),
                );
            }
        }
        Some(out)
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
    /// `../shared/oracles/cilium` shows them: `world` holds every address outside the cluster
    /// and an API server outside it (whose identity carries `reserved:world`); `world-ipv4`
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
            let mut c = Coverage::points(self.nets.iter().filter_map(|&p| {
                let point = u.point(p);
                let ip = point.ip()?;
                if v4.is_some_and(|v4| v4 != ip.is_ipv4()) {
                    return None;
                }
                Some((p, if matches!(point.role, Role::World(_)) { outside } else { Match::Maybe }))
            }));
            c.kinds[Kind::ApiServer.index()] = Match::Maybe;
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

/// Whether L7 rules are the DNS proxy's "every name" rule (`layer7.rst`, "DNS Proxy").
fn dns_wildcard(rules: &Value) -> bool {
    rules.as_object().is_some_and(|o| o.keys().all(|k| k == "dns"))
        && rules["dns"].as_array().is_some_and(|l| l.iter().any(|d| d["matchPattern"] == "*"))
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

/// Every port, numbered or named, of each protocol that `set` has a port of.
fn every_port_of_its_protocols(set: &PortSet) -> PortSet {
    Protocol::ALL
        .into_iter()
        .map(PortSet::protocol)
        .filter(|p| set.meets(p))
        .fold(PortSet::empty(), |acc, p| acc.union(&p))
}

/// One `PortProtocol` (`l4.go`), and whether its port is a name.
fn port(v: &Value) -> Result<(PortSet, bool, bool), Refusal> {
    let unread = |e: String| Refusal::Unread(format!("{e}; this port is left out"));
    let map = v.as_object().ok_or_else(|| Refusal::Rejected("a port is an object".to_string()))?;
    for k in map.keys() {
        if !["port", "endPort", "protocol"].contains(&k.as_str()) {
            return Err(unread(format!("`{k}` is not a field of a port")));
        }
    }
    // "Protocol is the L4 protocol. If omitted or empty, any protocol matches" (`l4.go`);
    // `ParseL4Proto` takes any case and also ICMP, ICMPv6, VRRP and IGMP, which lie outside
    // the TCP, UDP and SCTP ports modelled, so such an entry opens none of them.
    let protocols: Vec<Protocol> = match v.get("protocol").filter(|p| !p.is_null()) {
        None => Protocol::ALL.to_vec(),
        Some(p) => match p.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("ANY") | Some("") => Protocol::ALL.to_vec(),
            Some("ICMP" | "ICMPV6" | "VRRP" | "IGMP") => Vec::new(),
            Some(s) => match Protocol::ALL.into_iter().find(|x| x.as_str() == s) {
                Some(x) => vec![x],
                None => return Err(Refusal::Rejected(format!("protocol {p}"))),
            },
            None => return Err(Refusal::Rejected(format!("protocol {p}"))),
        },
    };
    let text = match v.get("port") {
        None | Some(Value::Null) => "0".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(Refusal::Rejected(format!("port {other}"))),
    };
    let end = match v.get("endPort") {
        None | Some(Value::Null) => None,
        Some(e) => {
            Some(e.as_u64().filter(|e| *e <= 65535).ok_or_else(|| unread(format!("endPort {e}")))? as u16)
        }
    };
    let mut out = PortSet::empty();
    let mut named = false;
    let zero = text.parse::<u32>() == Ok(0);
    for p in protocols {
        out = out.union(&match text.parse::<u32>() {
            Ok(0) if end.is_some_and(|e| e > 0) => return Err(unread("endPort with port 0".to_string())),
            Ok(0) => PortSet::protocol(p),
            Ok(n) if n <= 65535 => {
                let n = n as u16;
                match end {
                    Some(e) if e > 0 && e < n => {
                        return Err(unread(format!("endPort {e} is below port {n}")))
                    }
                    Some(e) if e > 0 => PortSet::range(p, n, e),
                    _ => PortSet::range(p, n, n),
                }
            }
            Ok(n) => return Err(Refusal::Rejected(format!("port {n}"))),
            Err(_) if text.is_empty() => return Err(Refusal::Rejected("Port must be specified".to_string())),
            Err(_) if end.is_some() => return Err(unread(format!("endPort with the named port {text:?}"))),
            Err(_) => {
                named = true;
                // Port names are lower-cased (`PortProtocol.sanitize`).
                PortSet::named(p, &text.to_ascii_lowercase())
            }
        });
    }
    Ok((out, named, zero))
}

/// Whether an object has a non-null field.
fn present_in(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}
