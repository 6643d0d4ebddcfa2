//! Protocols, ports and networks as Calico reads them (`numorstring`, `ParseCIDROrIP`).

use super::*;

/// The ports a rule matches: its protocol (`None` = every protocol) less `notProtocol`, within
/// `destination.ports`, outside `destination.notPorts`. Problems name fields from the rule.
pub(super) fn port_set(
    [protocol, not_protocol, icmp, ports, not_ports]: [Option<&Value>; 5],
    problems: &mut Vec<String>,
) -> PortSet {
    let mut read = |key: &str, v: Option<&Value>| -> Option<Proto> {
        let v = v?;
        Some(protocol_of(v).unwrap_or_else(|| {
            problems.push(format!("{key} {v} is not a protocol; read as none of TCP, UDP, SCTP"));
            Proto::Other
        }))
    };
    let proto = read("protocol", protocol);
    let not_proto = read("notProtocol", not_protocol);
    let protocols: &[Protocol] = match &proto {
        None => &Protocol::ALL,
        Some(Proto::Modelled(p)) => std::slice::from_ref(p),
        Some(Proto::Other) => &[],
    };
    // `icmp` only matches ICMP packets.
    if icmp.is_some() {
        return PortSet::empty();
    }
    let mut lists: [Option<PortSet>; 2] = [None, None];
    for (slot, (key, list)) in [("ports", ports), ("notPorts", not_ports)].into_iter().enumerate() {
        let Some(list) = list else { continue };
        let Some(list) = list.as_array() else {
            problems.push(format!("destination.{key} is not a list; ignored"));
            continue;
        };
        if list.is_empty() {
            continue;
        }
        if !matches!(proto, Some(Proto::Modelled(_))) {
            // "Required if any of the EntityRules contain Ports" (`policy_common.go`).
            problems.push(format!(
                "destination.{key} without a TCP, UDP or SCTP protocol (the API server refuses it); \
                 read for every protocol given"
            ));
        }
        let mut rules = Vec::with_capacity(list.len() * protocols.len());
        for v in list {
            let Some(entry) = port_of(v) else {
                problems.push(format!("destination.{key}: {v} is not a port; left out"));
                continue;
            };
            for &protocol in protocols {
                let port = match &entry {
                    PortEntry::Range(a, b) if a == b => PortMatch::Single(*a),
                    PortEntry::Range(a, b) => PortMatch::Range(*a, *b),
                    PortEntry::Name(n) => PortMatch::Named(n.clone()),
                };
                rules.push(PortRule { protocol, port });
            }
        }
        lists[slot] = Some(PortSet::from_ports(&Ports::Some(rules)));
    }
    let [ports, not_ports] = lists;
    let mut set = match (ports, &proto) {
        (Some(listed), _) => listed,
        (None, None) => PortSet::all(),
        (None, Some(Proto::Modelled(p))) => PortSet::protocol(*p),
        (None, Some(Proto::Other)) => PortSet::empty(),
    };
    if let Some(Proto::Modelled(p)) = not_proto {
        set = set.subtract(&PortSet::protocol(p));
    }
    if let Some(excluded) = not_ports {
        set = set.subtract(&excluded);
    }
    set
}

/// `numorstring.Protocol`: a name (compared case-insensitively) or a number.
pub(super) fn protocol_of(v: &Value) -> Option<Proto> {
    match v {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Modelled(Protocol::Tcp)),
            "udp" => Some(Proto::Modelled(Protocol::Udp)),
            "sctp" => Some(Proto::Modelled(Protocol::Sctp)),
            "icmp" | "icmpv6" | "udplite" => Some(Proto::Other),
            _ => None,
        },
        Value::Number(n) => match n.as_u64()? {
            6 => Some(Proto::Modelled(Protocol::Tcp)),
            17 => Some(Proto::Modelled(Protocol::Udp)),
            132 => Some(Proto::Modelled(Protocol::Sctp)),
            1..=255 => Some(Proto::Other),
            _ => None,
        },
        _ => None,
    }
}

/// `numorstring.Port`: a number, a `"min:max"` range, a number as text, or a port name.
pub(super) fn port_of(v: &Value) -> Option<PortEntry> {
    let number = |s: &str| s.trim().parse::<u16>().ok().filter(|n| *n > 0);
    match v {
        Value::Number(n) => {
            let n = u16::try_from(n.as_u64()?).ok().filter(|n| *n > 0)?;
            Some(PortEntry::Range(n, n))
        }
        Value::String(s) => {
            if let Some((a, b)) = s.split_once(':') {
                let a = a.trim().parse::<u16>().ok()?;
                let b = number(b)?;
                (a <= b).then_some(PortEntry::Range(a.max(1), b))
            } else if s.bytes().all(|c| c.is_ascii_digit()) {
                number(s).map(|n| PortEntry::Range(n, n))
            } else if s.is_empty() {
                None
            } else {
                Some(PortEntry::Name(s.clone()))
            }
        }
        _ => None,
    }
}

/// A CIDR, or a bare address (`ParseCIDROrIP`).
pub(super) fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}
