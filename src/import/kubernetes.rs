//! Kubernetes `networking.k8s.io/v1` NetworkPolicy → statements. The meaning of each field is
//! the reader's (`crate::targets::kubernetes::read`, which cites the API): a policy polices the
//! pods its `podSelector` picks in its namespace, in the directions its `policyTypes` names
//! (Ingress always and Egress when there are egress rules, where it is missing); rules are
//! unions; an omitted or empty `from`/`to` is every peer and `ports` every port; a port without
//! a protocol is TCP.
//!
//! Shapes, and what they become:
//! - `podSelector: {}` with a direction and no rule: `default deny` for that direction;
//! - a direction with no rule otherwise: `accepts nothing` / `connects to nothing`;
//! - peers: `podSelector` alone → pods of the policy's namespace (`{}`: a workload with an
//!   empty selector); `namespaceSelector` on the namespace name alone → `namespace N`, with a
//!   `podSelector` → that namespace's pods; `namespaceSelector: {}` alone → `cluster`; other
//!   namespace selectors → namespaces sets (`W in S` with a pod selector); the cluster DNS
//!   pods (`kube-system`, `k8s-app: kube-dns`) with ports → `kube-dns`; `ipBlock` → a network
//!   with its exceptions; no peer → `anywhere`.

use super::draft::{Draft, Kind, Loss, Peer, Policy, Statement, Subject};
use super::fields::{self, selector};
use crate::analysis::universe::NAMESPACE_NAME_LABEL;
use crate::ir::{
    Direction, Entity, LabelSelector, PortMatch, PortRule, Ports, Protocol, KUBE_DNS_LABEL,
    KUBE_DNS_NAMESPACE,
};
use serde_json::Value;

/// The loss code for a field the importer cannot read as the API defines it.
pub const UNREADABLE: &str = "E0704";

/// Adds the statements of NetworkPolicy `obj` (the world's policy number `index`).
pub fn translate(index: usize, obj: &Value, draft: &mut Draft) {
    translate_on(index, obj, draft, false)
}

/// [`translate`], read as `cilium` enforces NetworkPolicies when set: Cilium turns every rule
/// into a rule of its own, so it enforces the rules of a direction `policyTypes` leaves out
/// (`crate::targets::cilium::read`, `netpol.rs`).
pub fn translate_on(index: usize, obj: &Value, draft: &mut Draft, cilium: bool) {
    let title = crate::analysis::targets::object_name(obj);
    let namespace = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
    let name = obj["metadata"]["name"].as_str().unwrap_or("policy").to_string();
    let own = fields::from_netpol(obj);
    let reasons = fields::netpol_reasons(obj);
    let spec = &obj["spec"];
    let mut lose = |path: &str, message: String| {
        draft.losses.push(Loss {
            code: UNREADABLE,
            object: index,
            path: path.to_string(),
            message: format!("{title} {path}: {message}"),
            help: "fix the object: the API server would refuse it, or a CNI would read it in its own way"
                .to_string(),
        })
    };
    let subject = match selector(&spec["podSelector"]) {
        Ok(s) => s,
        Err(why) => return lose("spec.podSelector", why),
    };
    let types: Vec<Direction> = match &spec["policyTypes"] {
        Value::Null => {
            let egress = spec["egress"].as_array().is_some_and(|e| !e.is_empty());
            let mut t = vec![Direction::Ingress];
            if egress {
                t.push(Direction::Egress);
            }
            t
        }
        Value::Array(a) => {
            let mut t = Vec::new();
            for (i, v) in a.iter().enumerate() {
                match v.as_str() {
                    Some("Ingress") => t.push(Direction::Ingress),
                    Some("Egress") => t.push(Direction::Egress),
                    _ => return lose(&format!("spec.policyTypes[{i}]"), "not Ingress or Egress".into()),
                }
            }
            t
        }
        _ => return lose("spec.policyTypes", "must be a list".into()),
    };
    let mut statements = Vec::new();
    for dir in [Direction::Ingress, Direction::Egress] {
        let key = dir.as_str();
        let rules = match &spec[key] {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().collect(),
            _ => {
                lose(&format!("spec.{key}"), "must be a list".into());
                continue;
            }
        };
        let enforced = types.contains(&dir) || (cilium && !rules.is_empty());
        if !enforced {
            // Rules of a direction `policyTypes` leaves out are not enforced.
            if !rules.is_empty() {
                draft.ignored.push(Loss {
                    code: super::IGNORED,
                    object: index,
                    path: format!("spec.{key}"),
                    message: format!(
                        "{title} spec.{key}: `policyTypes` leaves out {key}, so these rules have no effect"
                    ),
                    help: format!(
                        "add `{}` to `policyTypes` if the rules are meant, or delete them",
                        if dir == Direction::Ingress { "Ingress" } else { "Egress" }
                    ),
                });
            }
            continue;
        }
        if rules.is_empty() {
            let kind = if subject.is_empty() { Kind::DefaultDeny(dir) } else { Kind::Nothing(dir) };
            let path = format!("spec.{key}");
            let reason = if own { String::new() } else { format!("from {title} {path}") };
            statements.push(Statement { kind, peers: Vec::new(), ports: None, reason, path });
            continue;
        }
        for (i, rule) in rules.into_iter().enumerate() {
            let path = format!("spec.{key}[{i}]");
            match statement(rule, dir, &namespace, &path) {
                Ok((peers, mut ports)) => {
                    // `connects to kube-dns` alone means its DNS ports.
                    if peers == [Peer::Entity(Entity::KubeDns)] && ports == Some(Ports::dns()) {
                        ports = None;
                    }
                    statements.push(Statement {
                        kind: Kind::Allow(dir),
                        peers,
                        ports,
                        reason: fields::reason(&reasons, own, &title, &path),
                        path,
                    })
                }
                Err((at, why)) => lose(&at, why),
            }
        }
    }
    draft.policies.push(Policy {
        object: index,
        title,
        name,
        namespace,
        subject: Subject::Pods(subject),
        statements,
        from_netpol: own,
    });
}

type Failure = (String, String);

/// One rule's peers and ports.
fn statement(
    rule: &Value,
    dir: Direction,
    namespace: &str,
    path: &str,
) -> Result<(Vec<Peer>, Option<Ports>), Failure> {
    let key = if dir == Direction::Ingress { "from" } else { "to" };
    let ports = ports(&rule["ports"], path)?;
    let peers = match &rule[key] {
        Value::Null => vec![Peer::Entity(Entity::Anywhere)],
        Value::Array(a) if a.is_empty() => vec![Peer::Entity(Entity::Anywhere)],
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, p)| peer(p, namespace, ports.is_some()).map_err(|w| (format!("{path}.{key}[{i}]"), w)))
            .collect::<Result<_, _>>()?,
        _ => return Err((format!("{path}.{key}"), "must be a list".into())),
    };
    Ok((peers, ports))
}

/// `Some` ports, or `None` for every port.
fn ports(v: &Value, path: &str) -> Result<Option<Ports>, Failure> {
    let list = match v {
        Value::Null => return Ok(None),
        Value::Array(a) if a.is_empty() => return Ok(None),
        Value::Array(a) => a,
        _ => return Err((format!("{path}.ports"), "must be a list".into())),
    };
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!("{path}.ports[{i}]");
        let protocol = match p["protocol"].as_str() {
            None if p["protocol"].is_null() => Protocol::Tcp,
            Some("TCP") => Protocol::Tcp,
            Some("UDP") => Protocol::Udp,
            Some("SCTP") => Protocol::Sctp,
            _ => return Err((format!("{at}.protocol"), "not TCP, UDP or SCTP".into())),
        };
        let port = match (&p["port"], &p["endPort"]) {
            (Value::Null, Value::Null) => PortMatch::All,
            (Value::Number(n), end) => {
                let start = n
                    .as_u64()
                    .filter(|n| (1..=65535).contains(n))
                    .ok_or((format!("{at}.port"), "not a port number from 1 to 65535".to_string()))?
                    as u16;
                match end {
                    Value::Null => PortMatch::Single(start),
                    Value::Number(e) => {
                        let end = e.as_u64().filter(|e| (start as u64..=65535).contains(e)).ok_or((
                            format!("{at}.endPort"),
                            "not a port number from `port` to 65535".to_string(),
                        ))? as u16;
                        if end == start {
                            PortMatch::Single(start)
                        } else {
                            PortMatch::Range(start, end)
                        }
                    }
                    _ => return Err((format!("{at}.endPort"), "must be a number".into())),
                }
            }
            (Value::String(name), Value::Null) => PortMatch::Named(name.clone()),
            (Value::String(_), _) => {
                return Err((format!("{at}.endPort"), "a named port takes no `endPort`".into()))
            }
            (Value::Null, _) => return Err((format!("{at}.endPort"), "`endPort` without `port`".into())),
            _ => return Err((format!("{at}.port"), "must be a number or a name".into())),
        };
        out.push(PortRule { protocol, port });
    }
    out.sort();
    out.dedup();
    Ok(Some(Ports::Some(out)))
}

/// One `NetworkPolicyPeer`. `with_ports`: the rule names ports, so `kube-dns` may stand for the
/// DNS pods (written without ports it would mean the DNS ports).
fn peer(v: &Value, namespace: &str, with_ports: bool) -> Result<Peer, String> {
    let ip = &v["ipBlock"];
    let (ns, pods) = (&v["namespaceSelector"], &v["podSelector"]);
    if !ip.is_null() {
        if !ns.is_null() || !pods.is_null() {
            return Err("`ipBlock` with a selector in one peer".into());
        }
        let net = fields::string(&ip["cidr"], "cidr")?;
        let except = match &ip["except"] {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().map(|e| fields::string(e, "except")).collect::<Result<_, _>>()?,
            _ => return Err("`except` must be a list".into()),
        };
        return fields::cidr(net, &except).map(Peer::Cidr);
    }
    if ns.is_null() && pods.is_null() {
        return Err("a peer needs `ipBlock`, `namespaceSelector` or `podSelector`".into());
    }
    let pods_sel = selector(pods)?;
    if ns.is_null() {
        return Ok(Peer::Pods { namespace: namespace.to_string(), selector: pods_sel });
    }
    let ns_sel = selector(ns)?;
    let named = namespace_name(&ns_sel);
    match named {
        Some(n) if n == KUBE_DNS_NAMESPACE && with_ports && is_kube_dns(&pods_sel) => {
            Ok(Peer::Entity(Entity::KubeDns))
        }
        Some(n) if pods_sel.is_empty() => Ok(Peer::Namespace(n.to_string())),
        Some(n) => Ok(Peer::Pods { namespace: n.to_string(), selector: pods_sel }),
        None if ns_sel.is_empty() && pods_sel.is_empty() => Ok(Peer::Entity(Entity::Cluster)),
        None if pods_sel.is_empty() => Ok(Peer::Namespaces(ns_sel)),
        None => Ok(Peer::PodsIn { pods: pods_sel, namespaces: ns_sel }),
    }
}

/// The namespace a selector picks by name alone (`kubernetes.io/metadata.name: N`).
pub fn namespace_name(s: &LabelSelector) -> Option<&str> {
    if !s.expressions.is_empty() || s.match_labels.len() != 1 {
        return None;
    }
    s.match_labels.get(NAMESPACE_NAME_LABEL).map(String::as_str)
}

/// Exactly the cluster DNS pods' selector.
pub fn is_kube_dns(s: &LabelSelector) -> bool {
    s.expressions.is_empty()
        && s.match_labels.len() == 1
        && s.match_labels.get(KUBE_DNS_LABEL.0).map(String::as_str) == Some(KUBE_DNS_LABEL.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(spec: Value) -> Draft {
        let mut d = Draft::default();
        let obj = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "shop"}, "spec": spec});
        translate(0, &obj, &mut d);
        d
    }

    #[test]
    fn policy_types_default_and_isolation_shapes() {
        let d = one(json!({"podSelector": {}}));
        assert_eq!(d.policies[0].statements.len(), 1);
        assert_eq!(d.policies[0].statements[0].kind, Kind::DefaultDeny(Direction::Ingress));
        let d = one(json!({"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
            "ingress": [{}]}));
        let kinds: Vec<_> = d.policies[0].statements.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Nothing(Direction::Egress)],
            "ingress rules not in policyTypes are not enforced"
        );
        let d = one(json!({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}));
        let kinds: Vec<_> = d.policies[0].statements.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [Kind::DefaultDeny(Direction::Ingress), Kind::Allow(Direction::Egress)]);
    }

    #[test]
    fn peers() {
        let d = one(json!({"podSelector": {}, "ingress": [{"from": [
            {"podSelector": {}},
            {"namespaceSelector": {}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
             "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},
            {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {"matchLabels": {"app": "x"}}},
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
        ]}]}));
        let s = &d.policies[0].statements[0];
        assert!(
            matches!(&s.peers[0], Peer::Pods { namespace, selector } if namespace == "shop" && selector.is_empty())
        );
        assert_eq!(s.peers[1], Peer::Entity(Entity::Cluster));
        // Without ports, `kube-dns` would mean DNS ports only: the pods stay pods.
        assert!(matches!(&s.peers[2], Peer::Pods { namespace, .. } if namespace == "kube-system"));
        assert!(matches!(&s.peers[3], Peer::PodsIn { .. }));
        assert!(matches!(&s.peers[4], Peer::Cidr(c) if c.except.len() == 1));
        assert_eq!(s.ports, None);
        assert_eq!(s.reason, "from NetworkPolicy shop/p spec.ingress[0]");
    }

    #[test]
    fn bad_fields_are_losses_at_their_path() {
        let d = one(json!({"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}));
        assert_eq!(d.losses[0].path, "spec.ingress[0].ports[0].protocol");
        let d = one(json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "x"}}]}]}));
        assert_eq!(d.losses[0].path, "spec.ingress[0].from[0]");
    }
}
