//! Peers of a rule and the subject of a spec: label selectors as Cilium reads their keys
//! (`k8s:`/`any:` sources, the namespace label, namespace labels, reserved labels), entities,
//! CIDR sets and DNS selectors.

use super::super::draft::Peer;
use super::super::fields::{self, selector};
use super::super::kubernetes::{is_kube_dns, UNREADABLE};
use super::super::NO_WORD;
use super::REFUSED;
use crate::ir::{Entity, LabelExpr, LabelOp, LabelSelector, KUBE_DNS_NAMESPACE};
use serde_json::Value;

/// The identity label of a pod's namespace, without its source.
const NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// The prefix of namespace labels on pod identities, without its source.
const NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";

/// Where a selector key reads, as the reader classifies it.
enum Key {
    Pod(String),
    Namespace,
    NamespaceLabel(String),
    Reserved(String),
    /// Not a label the import can say: the reason.
    Other(String),
}

fn classify(key: &str) -> Key {
    let bare = match key.split_once(':') {
        Some(("k8s" | "any", k)) => k,
        Some(("reserved", k)) => return Key::Reserved(k.to_string()),
        Some((source, _)) => return Key::Other(format!("the label source `{source}:`, which no pod has")),
        None => key,
    };
    if bare == NAMESPACE {
        Key::Namespace
    } else if let Some(rest) = bare.strip_prefix(NAMESPACE_LABELS) {
        Key::NamespaceLabel(rest.to_string())
    } else if bare.starts_with("io.cilium.k8s.policy.") {
        Key::Other(format!("the identity label `{bare}` (service account or cluster)"))
    } else if crate::analysis::targets::cilium::in_identity(bare) {
        Key::Pod(bare.to_string())
    } else {
        Key::Other(format!("the label `{bare}`, which Cilium leaves out of identities"))
    }
}

/// A selector split by what its keys read: pod labels, the namespace requirements, namespace
/// labels, reserved labels.
#[derive(Default)]
struct Split {
    pods: LabelSelector,
    namespace: Vec<LabelExpr>,
    namespace_labels: LabelSelector,
    reserved: Vec<LabelExpr>,
}

fn split(v: &Value) -> Result<Split, (&'static str, String)> {
    let sel = selector(v).map_err(|w| (REFUSED, w))?;
    let mut out = Split::default();
    let exprs = sel.match_labels.iter().map(|(k, v)| LabelExpr {
        key: k.clone(),
        op: LabelOp::In,
        values: vec![v.clone()],
    });
    for (i, e) in exprs.chain(sel.expressions.iter().cloned()).enumerate() {
        let label = i < sel.match_labels.len();
        let put = |s: &mut LabelSelector, key: String, e: LabelExpr| -> Result<(), (&'static str, String)> {
            if label {
                let value = e.values[0].clone();
                if s.match_labels.insert(key.clone(), value.clone()).is_some_and(|old| old != value) {
                    return Err((
                        UNREADABLE,
                        format!("two values for the label `{key}`: it selects nothing"),
                    ));
                }
            } else {
                s.expressions.push(LabelExpr { key, ..e });
            }
            Ok(())
        };
        match classify(&e.key) {
            Key::Pod(k) => put(&mut out.pods, k, e)?,
            Key::NamespaceLabel(k) => put(&mut out.namespace_labels, k, e)?,
            Key::Namespace => out.namespace.push(e),
            Key::Reserved(k) => out.reserved.push(LabelExpr { key: k, ..e }),
            Key::Other(why) => return Err((NO_WORD, format!("a selector on {why}"))),
        }
    }
    for s in [&mut out.pods, &mut out.namespace_labels] {
        s.expressions.sort();
        s.expressions.dedup();
        let mut keys: Vec<&String> =
            s.match_labels.keys().chain(s.expressions.iter().map(|e| &e.key)).collect();
        keys.sort();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err((NO_WORD, format!("a selector with two requirements on the label `{}`", w[0])));
        }
    }
    Ok(out)
}

/// The subject: pods of the policy's namespace, which Cilium adds to the selector in place of
/// any namespace the labels name.
pub(super) fn subject(v: &Value) -> Result<LabelSelector, (&'static str, String)> {
    let s = split(v)?;
    if !s.reserved.is_empty() {
        return Err((NO_WORD, "a subject by reserved labels: it selects no pod".into()));
    }
    if !s.namespace_labels.is_empty() {
        return Err((NO_WORD, "a subject by the labels of its namespace".into()));
    }
    // Cilium replaces a namespace `matchLabels` names with the policy's; one in
    // `matchExpressions` it keeps.
    let labels = &v["matchLabels"];
    let named =
        ["", "k8s:", "any:"].iter().filter(|p| labels.get(format!("{p}{NAMESPACE}")).is_some()).count();
    if s.namespace.len() > named {
        return Err((NO_WORD, "a subject with a namespace requirement in `matchExpressions`".into()));
    }
    Ok(s.pods)
}

/// One endpoint selector of a rule: one peer, or one per namespace it names.
pub(super) fn endpoints(
    v: &Value,
    namespace: &str,
    with_ports: bool,
) -> Result<Vec<Peer>, (&'static str, String)> {
    let s = split(v)?;
    if !s.reserved.is_empty() {
        let only = s.namespace.is_empty() && s.pods.is_empty() && s.namespace_labels.is_empty();
        return match s.reserved.as_slice() {
            [e] if only && e.op == LabelOp::In && e.values.len() == 1 => {
                entity(&Value::String(e.key.clone())).map(|p| vec![p]).map_err(|(_, why)| (NO_WORD, why))
            }
            _ => Err((NO_WORD, "a selector over reserved labels beside others".into())),
        };
    }
    let names: Option<Vec<String>> = match s.namespace.as_slice() {
        [] => None,
        [e] if e.op == LabelOp::In => Some(e.values.clone()),
        [e] if e.op == LabelOp::Exists => Some(Vec::new()),
        _ => return Err((NO_WORD, "a namespace requirement other than one name, names, or `Exists`".into())),
    };
    let pods = s.pods;
    match names {
        None if !s.namespace_labels.is_empty() => Err((
            NO_WORD,
            "namespace labels without the namespace key: older Cilium releases pin the selector to the policy's \
             namespace (cilium#18865), newer do not (cilium#30650)"
                .into(),
        )),
        // Every pod of the policy's namespace: netpol writes `namespace N` the same way.
        None if pods.is_empty() => Ok(vec![Peer::Namespace(namespace.to_string())]),
        None => Ok(vec![Peer::Pods { namespace: namespace.to_string(), selector: pods }]),
        Some(all) if all.is_empty() => Ok(vec![match (pods.is_empty(), s.namespace_labels.is_empty()) {
            (true, true) => Peer::Entity(Entity::Cluster),
            (true, false) => Peer::Namespaces(s.namespace_labels),
            (false, _) => Peer::PodsIn { pods, namespaces: s.namespace_labels },
        }]),
        Some(_) if !s.namespace_labels.is_empty() => {
            Err((NO_WORD, "a selector on both a namespace's name and its labels".into()))
        }
        Some(names) => Ok(names
            .into_iter()
            .map(|n| {
                if n == KUBE_DNS_NAMESPACE && with_ports && is_kube_dns(&pods) {
                    Peer::Entity(Entity::KubeDns)
                } else if pods.is_empty() {
                    Peer::Namespace(n)
                } else {
                    Peer::Pods { namespace: n, selector: pods.clone() }
                }
            })
            .collect()),
    }
}

/// An entity (`entity.go`): those the language has a word of the same meaning for.
pub(super) fn entity(v: &Value) -> Result<Peer, (&'static str, String)> {
    let e = v.as_str().ok_or((REFUSED, "an entity must be a string".to_string()))?;
    Ok(Peer::Entity(match e {
        "all" => Entity::Anywhere,
        "world" => Entity::World,
        "host" => Entity::Host,
        "kube-apiserver" => Entity::KubeApiserver,
        "cluster" => {
            return Err((
                NO_WORD,
                "the entity `cluster`, which also takes in the nodes and possibly other addresses (netpol's `cluster` \
                 is every pod)"
                    .into(),
            ))
        }
        "world-ipv4" | "world-ipv6" | "remote-node" | "health" | "ingress" | "unmanaged" | "init" | "none" => {
            return Err((NO_WORD, format!("the entity `{e}`")))
        }
        _ => return Err((REFUSED, format!("`{e}` is not an entity"))),
    }))
}

/// A `CIDRRule`: a network and its exceptions, each inside it.
pub(super) fn cidr_set(v: &Value) -> Result<Peer, (&'static str, String)> {
    let Some(map) = v.as_object() else { return Err((REFUSED, "a CIDR rule must be an object".into())) };
    if map.contains_key("cidrGroupRef") || map.contains_key("cidrGroupSelector") {
        return Err((NO_WORD, "CiliumCIDRGroups as peers".into()));
    }
    if let Some(k) = map.keys().find(|k| *k != "cidr" && *k != "except") {
        return Err((UNREADABLE, format!("`{k}` is not a field of a CIDR rule")));
    }
    let net = fields::string(&v["cidr"], "cidr").map_err(|w| (REFUSED, w))?;
    let except: Vec<&str> = match &v["except"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .map(|e| fields::string(e, "except"))
            .collect::<Result<_, _>>()
            .map_err(|w| (REFUSED, w))?,
        _ => return Err((UNREADABLE, "`except` must be a list".into())),
    };
    let block = fields::cidr(net, &except).map_err(|w| (REFUSED, w))?;
    if let Some(x) = block.except.iter().find(|x| !block.net.contains(&x.network())) {
        return Err((REFUSED, format!("except {x} is not inside {}", block.net)));
    }
    Ok(Peer::Cidr(block))
}

/// A DNS selector: a name, or a pattern the language writes the same way.
pub(super) fn fqdn(v: &Value) -> Result<Peer, (&'static str, String)> {
    let valid = v
        .as_object()
        .is_some_and(|m| !m.is_empty() && m.keys().all(|k| k == "matchName" || k == "matchPattern"));
    if !valid {
        return Err((REFUSED, format!("DNS selector {v}")));
    }
    let text = match (v["matchName"].as_str(), v["matchPattern"].as_str()) {
        (Some(n), None) if !n.contains('*') => n,
        (None, Some(p)) => p,
        _ => return Err((NO_WORD, format!("the DNS selector {v}"))),
    };
    if !crate::resolve::is_dns_pattern(text) {
        return Err((
            NO_WORD,
            format!("the DNS pattern `{text}` (`**` or a name the language does not take)"),
        ));
    }
    Ok(Peer::Fqdn(text.to_string()))
}

/// Exactly every pod of every namespace: the namespace label `Exists`, nothing else.
pub(super) fn every_pod(v: &Value) -> bool {
    split(v).is_ok_and(|s| {
        s.pods.is_empty()
            && s.namespace_labels.is_empty()
            && s.reserved.is_empty()
            && matches!(s.namespace.as_slice(), [e] if e.op == LabelOp::Exists)
    })
}
