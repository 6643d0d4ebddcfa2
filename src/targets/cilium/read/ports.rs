//! Ports of a rule (`toPorts`), and what else a port rule says.

use super::*;

impl Reader<'_, '_> {
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
                    // "DNS rules do not support port ranges" (`PortProtocol.sanitize`, as
                    // `../shared/oracles/cilium` shows): an `endPort` above the port.
                    Ok(_) if rules.is_some() && dns && is_range(p) => {
                        self.reject(obj, &format!("{at}.ports[{j}]"), "DNS rules over a port range");
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
}

/// Whether a `PortProtocol` is a range: an `endPort` above its port.
fn is_range(p: &Value) -> bool {
    let port = match &p["port"] {
        Value::String(s) => s.parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    p["endPort"].as_u64().is_some_and(|e| port.is_some_and(|n| e > n))
}

/// Whether L7 rules are the DNS proxy's "every name" rule (`layer7.rst`, "DNS Proxy").
fn dns_wildcard(rules: &Value) -> bool {
    rules.as_object().is_some_and(|o| o.keys().all(|k| k == "dns"))
        && rules["dns"].as_array().is_some_and(|l| l.iter().any(|d| d["matchPattern"] == "*"))
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
        // "Port must be specified" (`PortProtocol.sanitize`, as `../shared/oracles/cilium`
        // shows): a port is a number, a name or "0", never left out.
        None | Some(Value::Null) => return Err(Refusal::Rejected("Port must be specified".to_string())),
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
