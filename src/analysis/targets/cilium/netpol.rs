//! Kubernetes `networking.k8s.io/v1` NetworkPolicy as Cilium enforces it: cilium/cilium
//! `pkg/k8s/network_policy.go`, `ParseNetworkPolicy`, turns each policy into one Cilium rule,
//! which the rest of this reader then reads like any other (the peers come scoped: see
//! [`Reader::scoped`](super::Reader::scoped)). What that gives, as `../shared/oracles/cilium`
//! confirms:
//!
//! - The subject is the `podSelector` in the policy's namespace (`default` when none is set,
//!   `ExtractNamespaceOrDefault`).
//! - Each peer of a rule becomes a rule of its own with the rule's ports: a `podSelector` alone
//!   is pinned to the policy's namespace; a `namespaceSelector` (with or without a pod
//!   selector) reads namespace labels as `io.cilium.k8s.namespace.labels.<key>`, `{}` meaning
//!   any namespace; an `ipBlock` becomes `fromCIDRSet` / `toCIDRSet`, so, like every CIDR rule,
//!   it never matches a pod Cilium manages (`layer3.rst`).
//! - A rule without peers matches every peer through the wildcard endpoint selector: pods of
//!   every namespace, and also the node, other nodes, the API server and the world.
//! - A port without protocol is TCP, without number every port of its protocol.
//! - Isolation: without ingress rules the policy isolates ingress when `policyTypes` names
//!   Ingress or does not name Egress; without egress rules it isolates egress when
//!   `policyTypes` names Egress. Rules themselves always apply, whatever `policyTypes` says
//!   (Kubernetes ignores egress rules of a policy whose `policyTypes` lacks Egress; Cilium
//!   does not), which is reported.
//!
//! Allows of NetworkPolicies and Cilium policies add up per pod, and Cilium's denies win over
//! both, since all of them land in one policy repository.

use serde_json::{json, Map, Value};

const NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace";
const NAMESPACE_LABELS: &str = "k8s:io.cilium.k8s.namespace.labels.";

/// Where something is, and what.
type Note = (String, String);

/// The Cilium rule `ParseNetworkPolicy` makes of a NetworkPolicy, and notes on it; an error
/// where Cilium (or the API server before it) refuses the policy.
pub(super) fn spec(obj: &Value) -> Result<(Value, Vec<Note>), Note> {
    let namespace = obj["metadata"]["namespace"].as_str().unwrap_or("default");
    let spec = match &obj["spec"] {
        Value::Object(m) => m,
        Value::Null => return Err(("spec".to_string(), "no spec".to_string())),
        other => return Err(("spec".to_string(), format!("spec is not an object: {other}"))),
    };
    let mut notes = Vec::new();
    let types: Vec<&str> = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Map::new();
    let pod_selector = match spec.get("podSelector") {
        None | Some(Value::Null) => json!({}),
        Some(s) => prefixed(s, "k8s:").map_err(|e| ("spec.podSelector".to_string(), e))?,
    };
    out.insert("endpointSelector".to_string(), pod_selector);
    for (key, peers_key, l3, cidr, isolates) in [
        (
            "ingress",
            "from",
            "fromEndpoints",
            "fromCIDRSet",
            types.contains(&"Ingress") || !types.contains(&"Egress"),
        ),
        ("egress", "to", "toEndpoints", "toCIDRSet", types.contains(&"Egress")),
    ] {
        let rules = match spec.get(key) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(l)) => l.as_slice(),
            Some(other) => return Err((format!("spec.{key}"), format!("not a list: {other}"))),
        };
        let mut cilium = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let at = format!("spec.{key}[{i}]");
            let ports = match rule.get("ports") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(l)) => {
                    l.iter().map(port).collect::<Result<_, _>>().map_err(|e| (format!("{at}.ports"), e))?
                }
                Some(other) => return Err((format!("{at}.ports"), format!("not a list: {other}"))),
            };
            let peers = match rule.get(peers_key) {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(l)) => l.as_slice(),
                Some(other) => return Err((format!("{at}.{peers_key}"), format!("not a list: {other}"))),
            };
            let mut made: Vec<Map<String, Value>> = Vec::new();
            if peers.is_empty() {
                // `api.WildcardEndpointSelector`.
                made.push(Map::from_iter([(l3.to_string(), json!([{}]))]));
            }
            for (j, peer) in peers.iter().enumerate() {
                let at = format!("{at}.{peers_key}[{j}]");
                let mut r = Map::new();
                let ns_sel = peer.get("namespaceSelector").filter(|x| !x.is_null());
                let pod_sel = peer.get("podSelector").filter(|x| !x.is_null());
                if let Some(ns) = ns_sel {
                    let mut sel =
                        prefixed(ns, NAMESPACE_LABELS).map_err(|e| (format!("{at}.namespaceSelector"), e))?;
                    if sel.as_object().is_some_and(|m| m.values().all(empty)) {
                        sel = json!({"matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "Exists"}]});
                    }
                    if let Some(p) = pod_sel {
                        let p = prefixed(p, "k8s:").map_err(|e| (format!("{at}.podSelector"), e))?;
                        sel = merge(&sel, &p);
                    }
                    r.insert(l3.to_string(), json!([sel]));
                } else if let Some(p) = pod_sel {
                    let p = prefixed(p, "k8s:").map_err(|e| (format!("{at}.podSelector"), e))?;
                    let pinned = json!({"matchLabels": {NAMESPACE_LABEL: namespace}});
                    r.insert(l3.to_string(), json!([merge(&p, &pinned)]));
                }
                if let Some(block) = peer.get("ipBlock").filter(|x| !x.is_null()) {
                    r.insert(cidr.to_string(), json!([block]));
                }
                if r.is_empty() {
                    // The API server refuses such a peer ("must specify a peer",
                    // `ValidateNetworkPolicyPeer`).
                    return Err((at, "a peer with neither selectors nor ipBlock".to_string()));
                }
                made.push(r);
            }
            if !ports.is_empty() {
                let to_ports: Vec<Value> = ports.iter().map(|p| json!({"ports": [p]})).collect();
                for r in &mut made {
                    r.insert("toPorts".to_string(), Value::Array(to_ports.clone()));
                }
            }
            cilium.extend(made.into_iter().map(Value::Object));
        }
        if !rules.is_empty() && key == "egress" && !types.is_empty() && !types.contains(&"Egress") {
            notes.push((
                "spec.egress".to_string(),
                "egress rules in a policy whose policyTypes lacks Egress: Kubernetes ignores them, Cilium enforces them; read as Cilium does".to_string(),
            ));
        }
        if cilium.is_empty() && isolates {
            // `[]api.IngressRule{{}}`: an empty rule, which isolates and allows nothing.
            cilium.push(json!({}));
        }
        if !cilium.is_empty() {
            out.insert(key.to_string(), Value::Array(cilium));
        }
    }
    Ok((Value::Object(out), notes))
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(l) => l.is_empty(),
        _ => false,
    }
}

/// A label selector with every key prefixed (`NewESFromK8sLabelSelector`).
fn prefixed(sel: &Value, prefix: &str) -> Result<Value, String> {
    let map = sel.as_object().ok_or_else(|| format!("a label selector is an object, not {sel}"))?;
    let mut out = Map::new();
    for (k, v) in map {
        match k.as_str() {
            "matchLabels" => {
                let labels = match v {
                    Value::Null => Map::new(),
                    Value::Object(m) => m.iter().map(|(k, v)| (format!("{prefix}{k}"), v.clone())).collect(),
                    other => return Err(format!("matchLabels is not a map: {other}")),
                };
                out.insert(k.clone(), Value::Object(labels));
            }
            "matchExpressions" => {
                let mut list = Vec::new();
                for e in v.as_array().into_iter().flatten() {
                    let mut e = e.clone();
                    if let Some(key) = e.get("key").and_then(Value::as_str) {
                        e["key"] = Value::String(format!("{prefix}{key}"));
                    }
                    list.push(e);
                }
                out.insert(k.clone(), Value::Array(list));
            }
            other => return Err(format!("unknown label selector field `{other}`")),
        }
    }
    Ok(Value::Object(out))
}

/// Two selectors as one: both sets of labels and of expressions.
fn merge(a: &Value, b: &Value) -> Value {
    let mut labels = Map::new();
    let mut exprs = Vec::new();
    for s in [a, b] {
        if let Some(m) = s["matchLabels"].as_object() {
            labels.extend(m.clone());
        }
        exprs.extend(s["matchExpressions"].as_array().into_iter().flatten().cloned());
    }
    json!({"matchLabels": labels, "matchExpressions": exprs})
}

/// One `NetworkPolicyPort` as a Cilium `PortProtocol` (`parsePorts`): protocol TCP unless
/// given, port "0" (every port) unless given, `endPort` kept.
fn port(p: &Value) -> Result<Value, String> {
    let map = p.as_object().ok_or_else(|| format!("a port is an object, not {p}"))?;
    let protocol = match map.get("protocol") {
        None | Some(Value::Null) => "TCP".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("protocol {other}")),
    };
    let number = match map.get("port") {
        None | Some(Value::Null) => "0".to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("port {other}")),
    };
    let mut out = json!({"port": number, "protocol": protocol});
    if let Some(end) = map.get("endPort").filter(|e| !e.is_null()) {
        out["endPort"] = end.clone();
    }
    Ok(out)
}
