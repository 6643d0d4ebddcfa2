//! Calico rules, entity rules, ports and selectors → peers and ports in the language's terms.
//! Each field means what the Calico reader (`crate::targets::calico::read`, `rule.rs`,
//! `ports.rs`, `selector.rs`) reads it as; anything the language cannot say with exactly that
//! meaning is `Err((path, what))`, a loss at that path.

use super::draft::Peer;
use super::fields;
use crate::ir::{Direction, Entity, LabelExpr, LabelOp, LabelSelector, PortMatch, PortRule, Ports, Protocol};
use crate::targets::calico::read::{parse_selector, Expr};
use serde_json::Value;

/// The namespace-name label of Calico's namespace profiles.
pub const CALICO_NAME: &str = "projectcalico.org/name";

/// A field the language has no word for: its path and what it is.
pub type Lost = (String, String);

/// Whose endpoints a rule's selector picks without a `namespaceSelector`: those of the
/// policy's namespace for a NetworkPolicy, of every namespace (`global`) for a
/// GlobalNetworkPolicy.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub namespace: &'a str,
    pub global: bool,
}

/// One rule's peers and ports (`None`: every port of every protocol).
pub fn rule(r: &Value, dir: Direction, scope: Scope, path: &str) -> Result<(Vec<Peer>, Option<Ports>), Lost> {
    let Some(m) = r.as_object() else { return Err((path.to_string(), "not an object".into())) };
    for (k, v) in m {
        let what = match k.as_str() {
            "action" | "protocol" | "source" | "destination" | "metadata" => continue,
            _ if v.is_null() => continue,
            "ipVersion" => "`ipVersion` (one IP family's addresses)",
            "notProtocol" => "`notProtocol` (every protocol but one)",
            "icmp" | "notICMP" => "ICMP type and code matches",
            "http" => "HTTP request matches (layer 7)",
            _ => "a field netpol does not read",
        };
        return Err((format!("{path}.{k}"), what.to_string()));
    }
    let protocol = match &r["protocol"] {
        Value::Null => None,
        v => Some(protocol(v).ok_or((
            format!("{path}.protocol"),
            format!("protocol {v} (only TCP, UDP and SCTP have words)"),
        ))?),
    };
    let (peer_key, own_key) =
        if dir == Direction::Ingress { ("source", "destination") } else { ("destination", "source") };
    let empty = serde_json::Map::new();
    let entity = |key: &str| -> Result<&serde_json::Map<String, Value>, Lost> {
        match &r[key] {
            Value::Null => Ok(&empty),
            Value::Object(o) => Ok(o),
            _ => Err((format!("{path}.{key}"), "not an object".into())),
        }
    };
    let (peer, own) = (entity(peer_key)?, entity(own_key)?);
    // The policed pod's own side may only carry the destination ports (ingress).
    for (k, v) in own {
        if is_empty(v) || (k == "ports" && dir == Direction::Ingress) {
            continue;
        }
        return Err((
            format!("{path}.{own_key}.{k}"),
            format!("a condition on the policed pod's own side (`{own_key}.{k}`)"),
        ));
    }
    if dir == Direction::Ingress && peer.get("ports").is_some_and(|v| !is_empty(v)) {
        return Err((format!("{path}.source.ports"), "a condition on the connection's source port".into()));
    }
    let ports_field = if dir == Direction::Ingress { own.get("ports") } else { peer.get("ports") };
    let ports_path = format!("{path}.destination.ports");
    let ports = ports(ports_field, protocol, &ports_path)?;
    let peers = entity_peers(peer, scope, &format!("{path}.{peer_key}"))?;
    Ok((peers, ports))
}

/// `numorstring.Protocol`, for the protocols the language names.
fn protocol(v: &Value) -> Option<Protocol> {
    match v {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        },
        Value::Number(n) => match n.as_u64()? {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        },
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `destination.ports` with the rule's protocol.
fn ports(list: Option<&Value>, protocol: Option<Protocol>, path: &str) -> Result<Option<Ports>, Lost> {
    let list = match list {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err((path.to_string(), "not a list".into())),
    };
    let Some(protocol) = protocol else {
        if list.is_empty() {
            return Ok(None);
        }
        return Err((path.to_string(), "ports without a protocol (the API server refuses them)".into()));
    };
    if list.is_empty() {
        return Ok(Some(Ports::Some(vec![PortRule { protocol, port: PortMatch::All }])));
    }
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let port = port(v).ok_or_else(|| (format!("{path}[{i}]"), format!("{v} is not a port")))?;
        if let PortMatch::Named(n) = &port {
            if !crate::resolve::is_port_name(n) {
                return Err((format!("{path}[{i}]"), format!("`{n}`, which is no Kubernetes port name")));
            }
        }
        out.push(PortRule { protocol, port });
    }
    out.sort();
    out.dedup();
    Ok(Some(Ports::Some(out)))
}

/// `numorstring.Port`: a number, `"a:b"`, a number as text, or a port name.
fn port(v: &Value) -> Option<PortMatch> {
    let number = |s: &str| s.trim().parse::<u16>().ok().filter(|n| *n > 0);
    let (a, b) = match v {
        Value::Number(n) => {
            let n = u16::try_from(n.as_u64()?).ok().filter(|n| *n > 0)?;
            (n, n)
        }
        Value::String(s) => match s.split_once(':') {
            Some((a, b)) => (number(a)?, number(b)?),
            None if s.bytes().all(|c| c.is_ascii_digit()) => (number(s)?, number(s)?),
            None => return Some(PortMatch::Named(s.clone())),
        },
        _ => return None,
    };
    match a.cmp(&b) {
        std::cmp::Ordering::Equal => Some(PortMatch::Single(a)),
        std::cmp::Ordering::Less => Some(PortMatch::Range(a, b)),
        std::cmp::Ordering::Greater => None,
    }
}

/// The peers of an entity rule (`source` of an ingress rule, `destination` of an egress rule).
fn entity_peers(m: &serde_json::Map<String, Value>, scope: Scope, path: &str) -> Result<Vec<Peer>, Lost> {
    let at = |k: &str| format!("{path}.{k}");
    for (k, v) in m {
        let what = match k.as_str() {
            "selector" | "namespaceSelector" | "nets" | "notNets" | "services" | "ports" => continue,
            _ if is_empty(v) => continue,
            "notSelector" => "`notSelector` (every endpoint but those a selector picks)",
            "notPorts" => "`notPorts` (every port but some)",
            "serviceAccounts" => "service account matches",
            _ => "a field netpol does not read",
        };
        return Err((at(k), what.to_string()));
    }
    let field = |k: &str| m.get(k).filter(|v| !is_empty(v));
    let (sel, ns, nets, not_nets, services) =
        (field("selector"), field("namespaceSelector"), field("nets"), field("notNets"), field("services"));
    if let Some(s) = services {
        if sel.is_some() || ns.is_some() || nets.is_some() || not_nets.is_some() || field("ports").is_some() {
            return Err((at("services"), "a Service beside other conditions".into()));
        }
        if s["name"] == "kubernetes"
            && s["namespace"] == "default"
            && s.as_object().is_some_and(|o| o.len() == 2)
        {
            return Ok(vec![Peer::Entity(Entity::KubeApiserver)]);
        }
        return Err((at("services"), "a Service's endpoints (only the API server's has a word)".into()));
    }
    if let Some(nets) = nets {
        if sel.is_some() || ns.is_some() {
            return Err((
                path.to_string(),
                "networks and selectors in one entity rule (both must hold)".into(),
            ));
        }
        let list = strings(nets).ok_or((at("nets"), "not a list of networks".to_string()))?;
        let except = match not_nets {
            None => Vec::new(),
            Some(v) => strings(v).ok_or((at("notNets"), "not a list of networks".to_string()))?,
        };
        let mut peers = Vec::new();
        for n in &list {
            let mut c = fields::cidr(n, &except).map_err(|w| (at("nets"), w))?;
            // Networks nest or are apart: a `notNets` network apart from this one changes
            // nothing of it, one inside is an exception, one around it leaves only what Calico
            // may read of pods' addresses, which the language has no word for.
            if c.except.iter().any(|e| e.contains(&c.net)) {
                return Err((at("notNets"), format!("`notNets` around all of the network {}", c.net)));
            }
            let net = c.net;
            c.except.retain(|e| net.contains(e));
            if !peers.contains(&Peer::Cidr(c.clone())) {
                peers.push(Peer::Cidr(c));
            }
        }
        return Ok(peers);
    }
    if not_nets.is_some() {
        return Err((at("notNets"), "`notNets` without `nets` (every address but some)".into()));
    }
    let pods = sel.map(|s| pod_selector(s, &at("selector"))).transpose()?;
    let Some(ns) = ns else {
        return Ok(vec![match pods {
            None => Peer::Entity(Entity::Anywhere),
            Some(p) if scope.global => Peer::PodsIn { pods: p, namespaces: LabelSelector::default() },
            Some(p) => Peer::Pods { namespace: scope.namespace.to_string(), selector: p },
        }]);
    };
    let text = ns.as_str().ok_or((at("namespaceSelector"), "not a string".to_string()))?;
    let expr = parse_selector(text)
        .map_err(|e| (at("namespaceSelector"), format!("`{text}` does not parse: {e}")))?;
    if let Some(name) = namespace_name(&expr) {
        return Ok(vec![match pods {
            None => Peer::Namespace(name),
            Some(p) => Peer::Pods { namespace: name, selector: p },
        }]);
    }
    let namespaces = label_selector(&expr).map_err(|w| (at("namespaceSelector"), w))?;
    if let Some(k) = namespaces
        .match_labels
        .keys()
        .chain(namespaces.expressions.iter().map(|e| &e.key))
        .find(|k| calico_key(k))
    {
        return Err((at("namespaceSelector"), format!("a namespace selector on Calico's own label `{k}`")));
    }
    Ok(vec![match pods {
        None if namespaces.is_empty() => Peer::Entity(Entity::Cluster),
        None => Peer::Namespaces(namespaces),
        Some(p) => Peer::PodsIn { pods: p, namespaces },
    }])
}

fn strings(v: &Value) -> Option<Vec<&str>> {
    v.as_array()?.iter().map(Value::as_str).collect()
}

/// The namespace a selector picks by name alone (`projectcalico.org/name == 'x'`).
pub fn namespace_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Eq(k, v) if k == CALICO_NAME => Some(v.clone()),
        _ => None,
    }
}

/// Labels Calico adds to endpoints and namespaces itself: the language's selectors do not see them.
fn calico_key(k: &str) -> bool {
    k.starts_with("projectcalico.org/") || k.starts_with("pcns.") || k.starts_with("pcsa.")
}

/// A pod selector field: a selector text on pods' own labels.
pub fn pod_selector(v: &Value, path: &str) -> Result<LabelSelector, Lost> {
    let text = v.as_str().ok_or((path.to_string(), "not a string".to_string()))?;
    let expr =
        parse_selector(text).map_err(|e| (path.to_string(), format!("`{text}` does not parse: {e}")))?;
    let s = label_selector(&expr).map_err(|w| (path.to_string(), w))?;
    if let Some(k) = s.match_labels.keys().chain(s.expressions.iter().map(|e| &e.key)).find(|k| calico_key(k))
    {
        return Err((path.to_string(), format!("a selector on Calico's own label `{k}`")));
    }
    Ok(s)
}

/// A Calico selector that is a label selector: a conjunction of `==`, `!=`, `in`, `not in`,
/// `has`, `!has` (and their negations), or `all()`.
pub fn label_selector(e: &Expr) -> Result<LabelSelector, String> {
    let mut out = LabelSelector::default();
    let parts: Vec<&Expr> = match e {
        Expr::And(all) => all.iter().collect(),
        e => vec![e],
    };
    let expr = |key: &str, op, values: &[String]| {
        let mut values = values.to_vec();
        values.sort();
        values.dedup();
        LabelExpr { key: key.to_string(), op, values }
    };
    for p in parts {
        let e = match p {
            Expr::All => continue,
            Expr::Eq(k, v) => {
                if out.match_labels.get(k).is_some_and(|x| x != v) {
                    return Err(format!("a selector that requires two values of `{k}` (it matches nothing)"));
                }
                out.match_labels.insert(k.clone(), v.clone());
                continue;
            }
            Expr::Ne(k, v) => expr(k, LabelOp::NotIn, std::slice::from_ref(v)),
            Expr::In(k, vs) if !vs.is_empty() => expr(k, LabelOp::In, vs),
            Expr::NotIn(k, vs) if !vs.is_empty() => expr(k, LabelOp::NotIn, vs),
            Expr::NotIn(_, _) => continue,
            Expr::Has(k) => expr(k, LabelOp::Exists, &[]),
            Expr::Not(inner) => match &**inner {
                Expr::Has(k) => expr(k, LabelOp::DoesNotExist, &[]),
                Expr::Eq(k, v) => expr(k, LabelOp::NotIn, std::slice::from_ref(v)),
                Expr::In(k, vs) if !vs.is_empty() => expr(k, LabelOp::NotIn, vs),
                Expr::Ne(k, v) => {
                    out.match_labels.insert(k.clone(), v.clone());
                    continue;
                }
                _ => return Err(format!("the selector term `!{}`, which is no label selector", show(inner))),
            },
            other => return Err(format!("the selector term `{}`, which is no label selector", show(other))),
        };
        out.expressions.push(e);
    }
    one_term_per_key(out)
}

/// The language names a key once per selector: terms on one key joined into one, exactly, or
/// `Err`.
fn one_term_per_key(s: LabelSelector) -> Result<LabelSelector, String> {
    use LabelOp::*;
    let nothing =
        |k: &str| Err(format!("a selector whose terms on `{k}` contradict each other (it matches nothing)"));
    let mut out = LabelSelector { match_labels: s.match_labels, expressions: Vec::new() };
    let mut by_key: std::collections::BTreeMap<String, LabelExpr> = std::collections::BTreeMap::new();
    for e in s.expressions {
        if let Some(v) = out.match_labels.get(&e.key) {
            let holds = match e.op {
                In => e.values.contains(v),
                NotIn => !e.values.contains(v),
                Exists => true,
                DoesNotExist => false,
            };
            if !holds {
                return nothing(&e.key);
            }
            continue;
        }
        let Some(prev) = by_key.remove(&e.key) else {
            by_key.insert(e.key.clone(), e);
            continue;
        };
        let values = |keep: &dyn Fn(&String) -> bool, from: &[String]| -> Vec<String> {
            from.iter().filter(|v| keep(v)).cloned().collect()
        };
        let joined = match (prev.op, e.op) {
            (In, In) => (In, values(&|v| e.values.contains(v), &prev.values)),
            (In, NotIn) => (In, values(&|v| !e.values.contains(v), &prev.values)),
            (NotIn, In) => (In, values(&|v| !prev.values.contains(v), &e.values)),
            (NotIn, NotIn) => {
                let mut all = [prev.values.clone(), e.values.clone()].concat();
                all.sort();
                all.dedup();
                (NotIn, all)
            }
            (In, Exists) => (In, prev.values.clone()),
            (Exists, In) => (In, e.values.clone()),
            (Exists, Exists) => (Exists, Vec::new()),
            (NotIn, DoesNotExist) | (DoesNotExist, NotIn) | (DoesNotExist, DoesNotExist) => {
                (DoesNotExist, Vec::new())
            }
            (In, DoesNotExist) | (DoesNotExist, In) | (Exists, DoesNotExist) | (DoesNotExist, Exists) => {
                return nothing(&e.key)
            }
            (NotIn, Exists) | (Exists, NotIn) => {
                return Err(format!(
                    "`has({k})` beside `{k} not in {{..}}`: the language names a key once",
                    k = e.key
                ))
            }
        };
        if joined.0 == In && joined.1.is_empty() {
            return nothing(&e.key);
        }
        by_key.insert(e.key.clone(), LabelExpr { key: e.key, op: joined.0, values: joined.1 });
    }
    out.expressions = by_key.into_values().collect();
    out.expressions.sort();
    // Pods' labels are Kubernetes labels, and so are the language's selectors.
    let values = out.match_labels.values().chain(out.expressions.iter().flat_map(|e| &e.values));
    let keys = out.match_labels.keys().chain(out.expressions.iter().map(|e| &e.key));
    for k in keys {
        if let Some(why) = crate::resolve::label_key_problem(k) {
            return Err(format!("the label key `{k}`, which is no Kubernetes label key ({why})"));
        }
    }
    for v in values {
        if let Some(why) = crate::resolve::label_value_problem(v) {
            return Err(format!("the label value `{v}`, which is no Kubernetes label value ({why})"));
        }
    }
    Ok(out)
}

fn show(e: &Expr) -> String {
    match e {
        Expr::Global => "global()".into(),
        Expr::Or(_) => "||".into(),
        Expr::Contains(k, v) => format!("{k} contains '{v}'"),
        Expr::StartsWith(k, v) => format!("{k} starts with '{v}'"),
        Expr::EndsWith(k, v) => format!("{k} ends with '{v}'"),
        Expr::In(k, _) => format!("{k} in {{}}"),
        Expr::Not(_) => "!(...)".into(),
        _ => "(...)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_that_are_label_selectors() {
        let e = parse_selector("app == 'a' && tier != 'x' && has(t) && !has(u) && k in {'b', 'a'}").unwrap();
        let s = label_selector(&e).unwrap();
        assert_eq!(s.match_labels["app"], "a");
        assert_eq!(s.expressions.len(), 4);
        let e = parse_selector(
            "a == 'x' && a != 'y' && has(a) && b in {'1', '2'} && b != '2' && !has(c) && c != 'z'",
        )
        .unwrap();
        let s = label_selector(&e).unwrap();
        assert_eq!(s.match_labels.len(), 1);
        assert_eq!(s.expressions.len(), 2, "{s:?}");
        assert_eq!(s.expressions[0].values, ["1"]);
        assert_eq!(s.expressions[1].op, LabelOp::DoesNotExist);
        for bad in [
            "a == 'x' || b == 'y'",
            "global()",
            "a starts with 'x'",
            "a == 'x' && a == 'y'",
            "a == 'x' && !has(a)",
            "has(a) && a != 'x'",
            "a == 'two words'",
        ] {
            assert!(label_selector(&parse_selector(bad).unwrap()).is_err(), "{bad}");
        }
        assert!(label_selector(&parse_selector("all()").unwrap()).unwrap().is_empty());
    }

    #[test]
    fn rules_and_their_losses() {
        let scope = Scope { namespace: "shop", global: false };
        let r = json!({"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"},
            "destination": {"ports": [80, "8000:8080", "http"]}});
        let (peers, ports) = rule(&r, Direction::Ingress, scope, "spec.ingress[0]").unwrap();
        assert!(matches!(&peers[0], Peer::Pods { namespace, .. } if namespace == "shop"));
        let Some(Ports::Some(p)) = ports else { panic!() };
        assert_eq!(p.len(), 3);
        let r = json!({"action": "Allow", "source": {"notSelector": "a == 'b'"}});
        assert_eq!(
            rule(&r, Direction::Ingress, scope, "spec.ingress[0]").unwrap_err().0,
            "spec.ingress[0].source.notSelector"
        );
        let r = json!({"action": "Allow", "destination": {"selector": "a == 'b'"}});
        assert_eq!(
            rule(&r, Direction::Ingress, scope, "spec.ingress[1]").unwrap_err().0,
            "spec.ingress[1].destination.selector"
        );
        let r = json!({"action": "Allow", "protocol": "ICMP"});
        assert_eq!(
            rule(&r, Direction::Egress, scope, "spec.egress[0]").unwrap_err().0,
            "spec.egress[0].protocol"
        );
        let r =
            json!({"action": "Allow", "destination": {"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"]}});
        let (peers, _) = rule(&r, Direction::Egress, scope, "spec.egress[0]").unwrap();
        assert!(matches!(&peers[0], Peer::Cidr(c) if c.except.len() == 1));
        let r =
            json!({"action": "Allow", "source": {"namespaceSelector": "projectcalico.org/name == 'mon'"}});
        let (peers, _) = rule(&r, Direction::Ingress, scope, "p").unwrap();
        assert_eq!(peers, [Peer::Namespace("mon".into())]);
        let r = json!({"action": "Allow", "source": {"namespaceSelector": "all()"}});
        assert_eq!(rule(&r, Direction::Ingress, scope, "p").unwrap().0, [Peer::Entity(Entity::Cluster)]);
    }
}
