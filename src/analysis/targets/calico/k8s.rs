//! Kubernetes NetworkPolicy as Calico enforces it: converted to a Calico NetworkPolicy the way
//! projectcalico/calico `libcalico-go/lib/backend/k8s/conversion/conversion.go`
//! (`K8sNetworkPolicyToCalico`, `k8sRuleToCalico`, `k8sSelectorToCalico`,
//! `k8sPeerToCalicoFields`) does, after the Kubernetes API server's defaults
//! (kubernetes/kubernetes `pkg/apis/networking/v1/defaults.go`: `policyTypes` is `[Ingress]`,
//! plus `Egress` when there are egress rules; a port's protocol is TCP).
//!
//! - the policy lives in the `default` tier at order 1000 (“We insert all the NetworkPolicy
//!   Policies at order 1000.0”); Felix names it `knp.default.<name>` (`names.K8sNetworkPolicyNamePrefix`
//!   up to Calico v3.31; v3.32 keeps the name and the kind `KubernetesNetworkPolicy`), which
//!   only matters to break ties of order;
//! - every pod selector gets `projectcalico.org/orchestrator == 'k8s'`, so it never picks a
//!   host endpoint or a network set; an empty namespace selector becomes `all()`, a missing
//!   one the policy's own namespace;
//! - a rule becomes one Calico rule per protocol and per peer (protocols sorted, a port without
//!   a number is every port of its protocol, no ports is every protocol); an `ipBlock` becomes
//!   `nets` and its `except` `notNets`;
//! - a rule Calico cannot convert (a port it cannot parse) is dropped, with a warning in its
//!   log (“dropping k8s rule that couldn't be converted”): here a problem, and the rule drops.
//!
//! The Calico rules carry the path of the Kubernetes rule they come from, for origins.

use serde_json::{json, Map, Value};

/// A Kubernetes NetworkPolicy in Calico's form.
pub(super) struct Converted {
    /// A `NetworkPolicy` with the object's own metadata and a Calico v3 spec.
    pub(super) value: Value,
    /// Per direction (ingress, egress), per Calico rule, the Kubernetes rule's path and whether
    /// the rule is to be read as possibly matching (a peer that cannot be converted).
    pub(super) paths: [Vec<(String, bool)>; 2],
    /// Problems, without the object's name.
    pub(super) problems: Vec<String>,
}

pub(super) const API_VERSION: &str = "networking.k8s.io/v1";
/// A selector that picks nothing, for one that cannot be written.
const NOTHING: &str = "has(projectcalico.org/orchestrator) && !has(projectcalico.org/orchestrator)";
const ORCHESTRATOR_K8S: &str = "projectcalico.org/orchestrator == 'k8s'";

/// Whether `obj` is a Kubernetes NetworkPolicy.
pub(super) fn is_kubernetes(obj: &Value) -> bool {
    obj["apiVersion"] == API_VERSION && obj["kind"] == "NetworkPolicy"
}

/// Whether a string can stand in a Calico selector as a label key or value as
/// `k8sSelectorToCalico` writes them (quoted values; keys as `findIdentifier` reads them).
fn plain(s: &str, key: bool) -> bool {
    if key {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
    } else {
        !s.contains(['\'', '"'])
    }
}

/// `k8sSelectorToCalico`; `None` where a key or value cannot be written into a selector (the
/// Kubernetes API server refuses such labels).
fn selector(s: Option<&Value>, pod: bool, problems: &mut Vec<String>, at: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if pod {
        parts.push(ORCHESTRATOR_K8S.to_string());
    }
    let Some(s) = s.filter(|v| !v.is_null()) else { return Some(parts.join(" && ")) };
    let Some(m) = s.as_object() else {
        problems.push(format!("{at} is not an object; read as matching nothing"));
        return None;
    };
    let labels = m.get("matchLabels").and_then(Value::as_object);
    let exprs = m.get("matchExpressions").and_then(Value::as_array);
    if !pod && labels.is_none_or(Map::is_empty) && exprs.is_none_or(Vec::is_empty) {
        return Some("all()".to_string());
    }
    let mut bad = false;
    // matchLabels: a map, so its keys come sorted, as `sort.Strings(keys)` sorts them.
    for (k, v) in labels.into_iter().flatten() {
        match v.as_str() {
            Some(v) if plain(k, true) && plain(v, false) => parts.push(format!("{k} == '{v}'")),
            _ => bad = true,
        }
    }
    for e in exprs.into_iter().flatten() {
        let key = e["key"].as_str().filter(|k| plain(k, true));
        let values: Option<Vec<&str>> = match &e["values"] {
            Value::Null => Some(Vec::new()),
            Value::Array(vs) => vs.iter().map(|v| v.as_str().filter(|v| plain(v, false))).collect(),
            _ => None,
        };
        let (Some(key), Some(values)) = (key, values) else {
            bad = true;
            continue;
        };
        let list = values.join("', '");
        match e["operator"].as_str() {
            Some("In") => parts.push(format!("{key} in {{ '{list}' }}")),
            Some("NotIn") => parts.push(format!("{key} not in {{ '{list}' }}")),
            Some("Exists") => parts.push(format!("has({key})")),
            Some("DoesNotExist") => parts.push(format!("! has({key})")),
            _ => bad = true,
        }
    }
    if bad {
        problems
            .push(format!("{at} has a label or expression the API server refuses; read as matching nothing"));
        return None;
    }
    Some(parts.join(" && "))
}

/// `k8sPortToCalico`: the port (with `endPort`, `"port:endPort"`), as Calico's port string.
fn port(p: &Map<String, Value>) -> Result<Option<Value>, String> {
    let port = match p.get("port") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("port {other} is neither a number nor a name")),
    };
    match p.get("endPort") {
        None | Some(Value::Null) => {}
        Some(end) => {
            let Some(end) = end.as_u64() else { return Err(format!("endPort {end} is not a number")) };
            if port.parse::<u64>().is_err() {
                // `numorstring.PortFromString("name:N")` fails.
                return Err(format!("endPort beside the named port {port:?}"));
            }
            return Ok(Some(Value::String(format!("{port}:{end}"))));
        }
    }
    Ok(Some(match port.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => Value::String(port),
    }))
}

/// `K8sNetworkPolicyToCalico` of one Kubernetes NetworkPolicy.
pub(super) fn convert(obj: &Value) -> Converted {
    let mut problems = Vec::new();
    let spec = obj["spec"].as_object();
    if spec.is_none() {
        problems
            .push("spec is missing or not an object; read as selecting every pod of its namespace".into());
    }
    let empty = Map::new();
    let spec = spec.unwrap_or(&empty);
    for k in spec.keys() {
        if !["podSelector", "policyTypes", "ingress", "egress"].contains(&k.as_str()) {
            problems.push(format!("spec.{k} is not a NetworkPolicy field; ignored"));
        }
    }
    let pod_selector = selector(spec.get("podSelector"), true, &mut problems, "spec.podSelector");
    let mut calico_rules: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    let mut paths: [Vec<(String, bool)>; 2] = [Vec::new(), Vec::new()];
    for (d, (key, peers_key)) in [("ingress", "from"), ("egress", "to")].into_iter().enumerate() {
        let Some(list) = spec.get(key).filter(|v| !v.is_null()) else { continue };
        let Some(list) = list.as_array() else {
            problems.push(format!("spec.{key} is not a list; no rules read"));
            continue;
        };
        for (i, r) in list.iter().enumerate() {
            let path = format!("spec.{key}[{i}]");
            match rule(r, d == 0, peers_key, &path, &mut problems) {
                Some(rules) => {
                    for (rule, open) in rules {
                        calico_rules[d].push(rule);
                        paths[d].push((path.clone(), open));
                    }
                }
                None => problems.push(format!("{path}: Calico cannot convert it and drops it")),
            }
        }
    }
    // policyTypes, defaulted by the API server.
    let mut types: Vec<&str> = Vec::new();
    match spec.get("policyTypes") {
        Some(Value::Array(t)) if !t.is_empty() => {
            for x in t {
                match x.as_str() {
                    Some(x @ ("Ingress" | "Egress")) => {
                        if !types.contains(&x) {
                            types.push(x)
                        }
                    }
                    _ => {
                        problems.push(format!("spec.policyTypes: {x} is neither Ingress nor Egress; ignored"))
                    }
                }
            }
            // `K8sNetworkPolicyToCalico`: Ingress first; none at all reads as Ingress.
            types.sort();
            if types.is_empty() {
                types.push("Ingress");
            }
        }
        _ => {
            types.push("Ingress");
            if spec.get("egress").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
                types.push("Egress");
            }
        }
    }
    let mut calico_spec = Map::new();
    calico_spec.insert("tier".into(), json!("default"));
    calico_spec.insert("order".into(), json!(1000.0));
    match pod_selector {
        Some(s) => calico_spec.insert("selector".into(), json!(s)),
        // A selector that cannot be written: a selector that picks nothing.
        None => calico_spec.insert("selector".into(), json!(NOTHING)),
    };
    let [ingress, egress] = calico_rules;
    calico_spec.insert("ingress".into(), Value::Array(ingress));
    calico_spec.insert("egress".into(), Value::Array(egress));
    calico_spec.insert("types".into(), json!(types));
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": obj["metadata"].clone(),
        "spec": Value::Object(calico_spec),
    });
    Converted { value, paths, problems }
}

/// `k8sRuleToCalico`: the Calico rules of one Kubernetes rule, each with whether it is to be
/// read as possibly matching; `None` where Calico drops the rule.
fn rule(
    r: &Value,
    ingress: bool,
    peers_key: &str,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<Vec<(Value, bool)>> {
    let Some(r) = r.as_object() else {
        problems.push(format!("{path} is not an object"));
        return None;
    };
    // Ports by protocol: `None` = every port of it.
    let mut by_protocol: std::collections::BTreeMap<String, Option<Vec<Value>>> = Default::default();
    let ports = r.get("ports").and_then(Value::as_array).filter(|p| !p.is_empty());
    match ports {
        None => {
            by_protocol.insert(String::new(), None);
        }
        Some(ports) => {
            for (j, p) in ports.iter().enumerate() {
                let Some(p) = p.as_object() else {
                    problems.push(format!("{path}.ports[{j}] is not an object"));
                    return None;
                };
                let protocol = match p.get("protocol") {
                    None | Some(Value::Null) => "TCP".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        problems.push(format!("{path}.ports[{j}].protocol {other} is not a protocol"));
                        return None;
                    }
                };
                let number = match port(p) {
                    Ok(n) => n,
                    Err(e) => {
                        problems.push(format!("{path}.ports[{j}]: {e}"));
                        return None;
                    }
                };
                let entry = by_protocol.entry(protocol).or_insert(Some(Vec::new()));
                match (number, entry) {
                    (None, e) => *e = None,
                    (Some(n), Some(list)) => list.push(n),
                    (Some(_), None) => {}
                }
            }
        }
    }
    // Peers: `None` = no peer condition.
    let peers: Vec<Option<&Value>> = match r.get(peers_key).and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list.iter().map(Some).collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for (protocol, ports) in &by_protocol {
        for (k, peer) in peers.iter().enumerate() {
            let at = format!("{path}.{peers_key}[{k}]");
            let (entity, open) = match peer {
                None => (Map::new(), false),
                Some(peer) => self::peer(peer, &at, problems),
            };
            let mut rule = Map::new();
            rule.insert("action".into(), json!("Allow"));
            if !protocol.is_empty() {
                rule.insert("protocol".into(), json!(protocol));
            }
            let mut ports_entity = Map::new();
            if let Some(list) = ports {
                ports_entity.insert("ports".into(), Value::Array(list.clone()));
            }
            if ingress {
                rule.insert("source".into(), Value::Object(entity));
                rule.insert("destination".into(), Value::Object(ports_entity));
            } else {
                let mut dest = entity;
                dest.extend(ports_entity);
                rule.insert("destination".into(), Value::Object(dest));
            }
            out.push((Value::Object(rule), open));
        }
    }
    Some(out)
}

/// `k8sPeerToCalicoFields`: the entity rule of one peer, and whether it is to be read as
/// possibly matching.
fn peer(peer: &Value, at: &str, problems: &mut Vec<String>) -> (Map<String, Value>, bool) {
    let mut m = Map::new();
    let Some(p) = peer.as_object() else {
        problems.push(format!("{at} is not an object; read as possibly matching"));
        return (m, true);
    };
    if let Some(block) = p.get("ipBlock").filter(|v| !v.is_null()) {
        let cidr = block["cidr"].as_str().filter(|c| c.parse::<ipnet::IpNet>().is_ok());
        let except: Option<Vec<&str>> = match &block["except"] {
            Value::Null => Some(Vec::new()),
            Value::Array(l) => {
                l.iter().map(|x| x.as_str().filter(|c| c.parse::<ipnet::IpNet>().is_ok())).collect()
            }
            _ => None,
        };
        let (Some(cidr), Some(except)) = (cidr, except) else {
            // Calico logs the parse error and leaves the peer without any condition; the API
            // server refuses such a CIDR in the first place.
            problems.push(format!(
                "{at}.ipBlock has a CIDR that does not parse (the API server refuses it); read as possibly matching"
            ));
            return (m, true);
        };
        m.insert("nets".into(), json!([cidr]));
        if !except.is_empty() {
            m.insert("notNets".into(), json!(except));
        }
        return (m, false);
    }
    let pods = selector(p.get("podSelector"), true, problems, &format!("{at}.podSelector"));
    let namespaces = match p.get("namespaceSelector").filter(|v| !v.is_null()) {
        None => Some(String::new()),
        Some(v) => selector(Some(v), false, problems, &format!("{at}.namespaceSelector")),
    };
    match (pods, namespaces) {
        (Some(pods), Some(namespaces)) => {
            m.insert("selector".into(), json!(pods));
            if !namespaces.is_empty() {
                m.insert("namespaceSelector".into(), json!(namespaces));
            }
        }
        _ => {
            // A selector that cannot be written matches nothing.
            m.insert("selector".into(), json!(NOTHING));
        }
    }
    (m, false)
}
