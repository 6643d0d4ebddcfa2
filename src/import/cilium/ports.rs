//! `toPorts`: the ports of a rule, and what else a port rule says (`pkg/policy/api/l4.go`).

use super::{no_word, refused, unreadable, Failure};
use crate::ir::{Direction, PortMatch, PortRule, Ports, Protocol};
use serde_json::Value;

const PROTOCOLS: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

/// The ports of a rule (`None`: every port of every protocol), and whether the rule is the DNS
/// proxy rule that lets every name through (`rules.dns: [{matchPattern: "*"}]`, egress only),
/// which at L4 allows its ports like any rule.
pub(super) fn to_ports(
    v: Option<&Value>,
    dir: Direction,
    deny: bool,
    at: &str,
) -> Result<(Option<Ports>, bool), Failure> {
    let list = match v {
        None | Some(Value::Null) => return Ok((None, false)),
        Some(Value::Array(l)) if l.is_empty() => return Ok((None, false)),
        Some(Value::Array(l)) => l,
        Some(_) => return Err(refused(format!("{at}.toPorts"), "must be a list")),
    };
    if let Some(f) = refusal(list, dir, deny, at) {
        return Err(f);
    }
    let mut out = Vec::new();
    let mut every = false;
    let mut dns_proxy = false;
    for (i, pr) in list.iter().enumerate() {
        let at = format!("{at}.toPorts[{i}]");
        let Some(map) = pr.as_object() else { return Err(refused(at, "a port rule must be an object")) };
        let ports = match &pr["ports"] {
            Value::Array(l) => l.as_slice(),
            _ => &[][..],
        };
        // What Cilium refuses comes first: it takes the whole object with it.
        let mut entry = Vec::new();
        let mut lost = None;
        for (j, p) in ports.iter().enumerate() {
            match port(p, &format!("{at}.ports[{j}]")) {
                Ok(rules)
                    if dir == Direction::Egress
                        && matches!(rules[..], [PortRule { port: PortMatch::Named(_), .. }, ..]) =>
                {
                    let name = p["port"].as_str().unwrap_or_default();
                    lost.get_or_insert(no_word(
                        format!("{at}.ports[{j}].port"),
                        format!(
                            "the port name `{name}` in an egress rule, which Cilium resolves over every pod of the \
                             cluster rather than on the destination"
                        ),
                    ));
                }
                Ok(rules) => entry.extend(rules),
                Err(f) if f.1 == super::REFUSED => return Err(f),
                Err(f) => {
                    lost.get_or_insert(f);
                }
            }
        }
        if !deny {
            if let Some(why) = sanitize(pr, dir, &entry) {
                return Err(refused(at, why));
            }
        }
        if let Some(f) = lost {
            return Err(f);
        }
        for (k, x) in map {
            if x.is_null() {
                continue;
            }
            match k.as_str() {
                "ports" if x.is_array() => {}
                "ports" => return Err(unreadable(format!("{at}.ports"), "must be a list")),
                _ if deny => {
                    return Err(unreadable(
                        format!("{at}.{k}"),
                        "not a field of a deny rule's ports (the CRD schema prunes it)",
                    ))
                }
                "rules" if *x == serde_json::json!({"dns": [{"matchPattern": "*"}]}) => dns_proxy = true,
                "rules" if x.as_object().is_some_and(|o| o.values().all(Value::is_null)) => {}
                "rules" => {
                    let kinds: Vec<&str> = x
                        .as_object()
                        .map(|o| o.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.as_str()).collect())
                        .unwrap_or_default();
                    let what = format!(
                        "layer 7 rules (`{}`), which a proxy applies per request",
                        kinds.join("`, `")
                    );
                    return Err(no_word(format!("{at}.rules"), what));
                }
                "serverNames" => {
                    return Err(no_word(format!("{at}.{k}"), "TLS server names (`serverNames`)"))
                }
                "listener" => return Err(no_word(format!("{at}.{k}"), "an Envoy listener (`listener`)")),
                "originatingTLS" | "terminatingTLS" => {
                    return Err(no_word(format!("{at}.{k}"), format!("TLS interception (`{k}`)")))
                }
                _ => {
                    return Err(unreadable(
                        format!("{at}.{k}"),
                        "not a field of a port rule (the CRD schema prunes it)",
                    ))
                }
            }
        }
        if ports.is_empty() {
            // A port rule without ports: no port restriction.
            every = true;
        }
        out.extend(entry);
    }
    out.sort();
    out.dedup();
    let all = |p: Protocol| out.contains(&PortRule { protocol: p, port: PortMatch::All });
    if every || PROTOCOLS.into_iter().all(all) {
        return Ok((None, dns_proxy));
    }
    // A protocol's every port takes in its single ports.
    let whole: Vec<Protocol> = PROTOCOLS.into_iter().filter(|p| all(*p)).collect();
    out.retain(|r| r.port == PortMatch::All || !whole.contains(&r.protocol));
    Ok((Some(Ports::Some(out)), dns_proxy))
}

/// One `PortProtocol`: per protocol it names (none: every one), its port.
fn port(p: &Value, at: &str) -> Result<Vec<PortRule>, Failure> {
    let Some(map) = p.as_object() else { return Err(refused(at, "a port must be an object")) };
    if let Some(k) = map.keys().find(|k| !["port", "endPort", "protocol"].contains(&k.as_str())) {
        return Err(unreadable(format!("{at}.{k}"), "not a field of a port"));
    }
    let protocols: Vec<Protocol> = match &p["protocol"] {
        Value::Null => PROTOCOLS.to_vec(),
        Value::String(s) => match s.to_ascii_uppercase().as_str() {
            "" | "ANY" => PROTOCOLS.to_vec(),
            "TCP" => vec![Protocol::Tcp],
            "UDP" => vec![Protocol::Udp],
            "SCTP" => vec![Protocol::Sctp],
            "ICMP" | "ICMPV6" | "VRRP" | "IGMP" => {
                return Err(no_word(format!("{at}.protocol"), format!("the protocol {s}")))
            }
            _ => return Err(refused(format!("{at}.protocol"), format!("`{s}` is not a protocol"))),
        },
        _ => return Err(refused(format!("{at}.protocol"), "must be a string")),
    };
    let text = match &p["port"] {
        Value::Null => return Err(refused(format!("{at}.port"), "Port must be specified")),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(refused(format!("{at}.port"), "must be a number or a name")),
    };
    let end = match &p["endPort"] {
        Value::Null => None,
        e => Some(
            e.as_u64()
                .filter(|e| *e <= 65535)
                .ok_or_else(|| unreadable(format!("{at}.endPort"), "not a port number"))? as u16,
        ),
    };
    let m = match text.parse::<u32>() {
        Ok(0) if end.is_some_and(|e| e > 0) => {
            return Err(unreadable(format!("{at}.endPort"), "`endPort` with port 0"))
        }
        Ok(0) => PortMatch::All,
        Ok(n) if n <= 65535 => {
            let n = n as u16;
            match end {
                Some(e) if e > 0 && e < n => {
                    return Err(unreadable(format!("{at}.endPort"), format!("{e} is below the port {n}")))
                }
                Some(e) if e > n => PortMatch::Range(n, e),
                _ => PortMatch::Single(n),
            }
        }
        Ok(_) => return Err(refused(format!("{at}.port"), "not a port number")),
        Err(_) if text.is_empty() => return Err(refused(format!("{at}.port"), "an empty port")),
        Err(_) if end.is_some() => {
            return Err(unreadable(format!("{at}.endPort"), "`endPort` with a port name"))
        }
        Err(_) => PortMatch::Named(text.to_ascii_lowercase()),
    };
    Ok(protocols.into_iter().map(|protocol| PortRule { protocol, port: m.clone() }).collect())
}

/// Why Cilium refuses a port rule of an allow rule (`PortRule.sanitize`), if it does: DNS rules
/// on ingress or without ports, a listener on ingress or beside L7 rules, several L7 kinds,
/// `l7` without `l7proto`, server names beside L7 rules without TLS termination, L7 rules over
/// port 0 or (but DNS) over anything but TCP.
fn sanitize(pr: &Value, dir: Direction, entry: &[PortRule]) -> Option<&'static str> {
    let present = |v: &Value, k: &str| v.get(k).is_some_and(|x| !x.is_null());
    let rules = pr.get("rules").filter(|r| r.as_object().is_some_and(|o| !o.is_empty()));
    let kinds: Vec<&str> = rules
        .and_then(Value::as_object)
        .map(|o| {
            o.iter().filter(|(k, x)| !x.is_null() && k.as_str() != "l7").map(|(k, _)| k.as_str()).collect()
        })
        .unwrap_or_default();
    let dns = kinds.contains(&"dns");
    if present(pr, "listener") && (dir == Direction::Ingress || rules.is_some()) {
        return Some("a listener on ingress or beside L7 rules");
    }
    let r = rules?;
    if dir == Direction::Ingress && dns {
        return Some("DNS rules on ingress");
    }
    if kinds.len() > 1 {
        return Some("several L7 protocols in one port rule");
    }
    if present(r, "l7") && !present(r, "l7proto") {
        return Some("`l7` without `l7proto`");
    }
    if present(pr, "serverNames") && !present(pr, "terminatingTLS") {
        return Some("server names beside L7 rules without TLS termination");
    }
    if dns && entry.is_empty() {
        return Some("DNS rules without ports");
    }
    if dns && entry.iter().any(|p| matches!(p.port, PortMatch::Range(..))) {
        return Some("DNS rules over a port range");
    }
    if entry.iter().any(|p| p.port == PortMatch::All) {
        return Some("L7 rules over port 0");
    }
    if !dns && entry.iter().any(|p| p.protocol != Protocol::Tcp) {
        return Some("L7 rules over a protocol other than TCP");
    }
    None
}

/// What Cilium refuses in any port rule of the list: found before any loss, since it takes the
/// whole object with it.
fn refusal(list: &[Value], dir: Direction, deny: bool, at: &str) -> Option<Failure> {
    for (i, pr) in list.iter().enumerate() {
        let at = format!("{at}.toPorts[{i}]");
        if !pr.is_object() {
            return Some(refused(at, "a port rule must be an object"));
        }
        let mut entry = Vec::new();
        for (j, p) in pr["ports"].as_array().into_iter().flatten().enumerate() {
            match port(p, &format!("{at}.ports[{j}]")) {
                Ok(rules) => entry.extend(rules),
                Err(f) if f.1 == super::REFUSED => return Some(f),
                Err(_) => {}
            }
        }
        if let Some(why) = (!deny).then(|| sanitize(pr, dir, &entry)).flatten() {
            return Some(refused(at, why));
        }
    }
    None
}
