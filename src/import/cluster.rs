//! ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`) → statements, for the shapes the
//! language has words for. The meaning of each field is the reader's
//! (`crate::targets::kubernetes::read` and its ClusterNetworkPolicy part, which cite the API);
//! the proof then checks the whole import against that reading, tiers and priorities included.
//!
//! Shapes, and what they become:
//! - an Admin-tier policy whose subject is one namespace's pods (`pods` with a namespace
//!   selector on the name alone, or `namespaces` on the name alone): its `Deny` rules are
//!   `refuses` / `never connects to` statements of that workload; peers as in a NetworkPolicy
//!   (`pods`, `namespaces`, `namespaces: {}` → `cluster`, the cluster DNS pods with ports →
//!   `kube-dns`), and `networks` → networks. `networks` `0.0.0.0/0` with `::/0` is `anywhere`
//!   until a `Pass` of every pod (`to: [namespaces: {}]`, any port) has gone before: after it,
//!   a network only holds addresses outside the pods, as netpol's own networks;
//! - an Admin-tier `Accept` to `domainNames`: an allow to those DNS names;
//! - a Baseline-tier policy of every namespace that denies every egress destination: the
//!   cluster-wide `default deny egress`.
//!
//! Everything else is a loss (E0702): other Accepts and Passes (they decide before the
//! NetworkPolicies, which the language's allows never do), other Baseline rules, `nodes`, named
//! ports (they have no protocol), subjects that are not one namespace's pods.

use super::draft::{Draft, Kind, Loss, Peer, Policy, Statement, Subject};
use super::fields::{self, selector};
use super::kubernetes::{is_kube_dns, namespace_name};
use crate::ir::{Direction, Entity, LabelSelector, PortMatch, PortRule, Ports, Protocol, KUBE_DNS_NAMESPACE};
use serde_json::Value;

pub(crate) use crate::analysis::targets::kubernetes::is_cluster_network_policy;

/// Whether a ClusterNetworkPolicy has an egress peer of `domainNames` (experimental).
pub(crate) fn uses_domain_names(obj: &Value) -> bool {
    is_cluster_network_policy(obj)
        && obj["spec"]["egress"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["to"].as_array().into_iter().flatten())
            .any(|p| p.get("domainNames").is_some())
}

/// Adds the statements of ClusterNetworkPolicy `obj` (the world's policy number `index`).
pub fn translate(index: usize, obj: &Value, draft: &mut Draft) {
    let title = crate::analysis::targets::object_name(obj);
    let own = fields::from_netpol(obj);
    let name = obj["metadata"]["name"].as_str().unwrap_or("policy");
    // netpol names its policies `<namespace>.<workload>.<part>`: the workload's name.
    let name = match name.split('.').collect::<Vec<_>>().as_slice() {
        [_, workload, _] if own => workload.to_string(),
        _ => name.to_string(),
    };
    let reasons = fields::netpol_reasons(obj);
    let spec = &obj["spec"];
    let mut losses = Vec::new();
    let mut lose = |path: &str, message: String, help: &str| {
        losses.push(Loss {
            code: super::NO_WORD,
            object: index,
            path: path.to_string(),
            message: format!("{title} {path}: {message}"),
            help: help.to_string(),
        })
    };
    let tier = spec["tier"].as_str().unwrap_or("");
    let mut statements = Vec::new();
    let (namespace, subject) = if tier == "Baseline" {
        if baseline_default_deny_egress(spec) {
            let path = "spec.egress[0]".to_string();
            let reason = if own {
                obj["metadata"]["annotations"][crate::backend::ANNOTATION_RULES]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            } else {
                format!("from {title} {path}")
            };
            statements.push(Statement {
                kind: Kind::DefaultDeny(Direction::Egress),
                peers: Vec::new(),
                ports: None,
                reason,
                path,
            });
            (String::new(), LabelSelector::default())
        } else {
            lose(
                "spec",
                "a Baseline-tier policy other than a cluster-wide default deny of egress".into(),
                "the language's cluster-wide `default deny egress` is a Baseline policy of every namespace that \
                 denies every destination; other Baseline rules decide after NetworkPolicy, which no statement does",
            );
            draft.losses.extend(losses);
            return;
        }
    } else {
        match subject(&spec["subject"]) {
            Ok(s) => s,
            Err(why) => {
                lose(
                    "spec.subject",
                    why,
                    "the language's rules belong to a workload: the pods a selector picks in one namespace",
                );
                draft.losses.extend(losses);
                return;
            }
        }
    };
    if tier != "Baseline" {
        for dir in [Direction::Ingress, Direction::Egress] {
            let key = dir.as_str();
            let peers_key = if dir == Direction::Ingress { "from" } else { "to" };
            // After a `Pass` of every pod, pods never reach the later rules of this policy.
            let mut pods_passed = false;
            for (i, rule) in spec[key].as_array().into_iter().flatten().enumerate() {
                let path = format!("spec.{key}[{i}]");
                let action = rule["action"].as_str().unwrap_or("");
                let peers = rule[peers_key].as_array().cloned().unwrap_or_default();
                if action == "Pass"
                    && dir == Direction::Egress
                    && is_every_pod(&peers)
                    && rule["protocols"].is_null()
                {
                    pods_passed = true;
                    continue;
                }
                let ports = match ports(&rule["protocols"]) {
                    Ok(p) => p,
                    Err(why) => {
                        lose(&format!("{path}.protocols"), why, "write the port numbers with their protocol");
                        continue;
                    }
                };
                let kind = match action {
                    "Deny" => Kind::Deny(dir),
                    "Accept" if peers.iter().all(|p| !p["domainNames"].is_null()) && !peers.is_empty() => {
                        Kind::Allow(dir)
                    }
                    _ => {
                        lose(
                            &path,
                            format!("an Admin-tier `{action}` rule"),
                            "an Admin-tier Accept or Pass decides before NetworkPolicy, which the language's \
                             allows never do; only Deny rules and Accepts to DNS names are imported",
                        );
                        continue;
                    }
                };
                let mut out = Vec::new();
                let mut failed = false;
                for (j, p) in peers.iter().enumerate() {
                    match peer(p, ports.is_some(), pods_passed) {
                        Ok(list) => out.extend(list),
                        Err(why) => {
                            lose(
                                &format!("{path}.{peers_key}[{j}]"),
                                why,
                                "write the peer as pods or namespaces",
                            );
                            failed = true;
                        }
                    }
                }
                if failed || out.is_empty() {
                    continue;
                }
                out.sort();
                out.dedup();
                statements.push(Statement {
                    kind,
                    peers: out,
                    ports,
                    reason: fields::reason(&reasons, own, &title, &path),
                    path,
                });
            }
        }
    }
    draft.losses.extend(losses);
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

/// One namespace and the pods of it a subject picks.
fn subject(v: &Value) -> Result<(String, LabelSelector), String> {
    if let Some(ns) = v.get("namespaces") {
        let sel = selector(ns)?;
        return match namespace_name(&sel) {
            Some(n) => Ok((n.to_string(), LabelSelector::default())),
            None => Err("a subject of namespaces chosen by labels".into()),
        };
    }
    if let Some(pods) = v.get("pods") {
        let ns = selector(&pods["namespaceSelector"])?;
        let sel = selector(&pods["podSelector"])?;
        return match namespace_name(&ns) {
            Some(n) => Ok((n.to_string(), sel)),
            None => Err("a subject of pods in namespaces chosen by labels".into()),
        };
    }
    Err("a subject that is neither `namespaces` nor `pods`".into())
}

/// `[namespaces: {}]`: every pod.
fn is_every_pod(peers: &[Value]) -> bool {
    peers.len() == 1
        && peers[0].as_object().is_some_and(|m| m.len() == 1)
        && peers[0]["namespaces"].as_object().is_some_and(|m| m.is_empty())
}

/// The Baseline shape netpol writes for a cluster-wide `default deny egress`: every namespace,
/// no ingress, one egress Deny of every address (and every pod), on every port.
fn baseline_default_deny_egress(spec: &Value) -> bool {
    let every_namespace = spec["subject"]["namespaces"].as_object().is_some_and(|m| m.is_empty())
        && spec["subject"].as_object().is_some_and(|m| m.len() == 1);
    let no_ingress = spec["ingress"].as_array().is_none_or(|a| a.is_empty());
    let Some([rule]) = spec["egress"].as_array().map(Vec::as_slice) else { return false };
    let networks: Vec<&str> = rule["to"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["networks"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    every_namespace
        && no_ingress
        && rule["action"] == "Deny"
        && rule["protocols"].is_null()
        && networks.contains(&"0.0.0.0/0")
        && networks.contains(&"::/0")
}

/// One peer as the language's peers.
fn peer(v: &Value, with_ports: bool, pods_passed: bool) -> Result<Vec<Peer>, String> {
    if let Some(ns) = v.get("namespaces") {
        let sel = selector(ns)?;
        return Ok(vec![match namespace_name(&sel) {
            Some(n) => Peer::Namespace(n.to_string()),
            None if sel.is_empty() => Peer::Entity(Entity::Cluster),
            None => Peer::Namespaces(sel),
        }]);
    }
    if let Some(pods) = v.get("pods") {
        let ns = selector(&pods["namespaceSelector"])?;
        let sel = selector(&pods["podSelector"])?;
        return Ok(vec![match namespace_name(&ns) {
            Some(n) if n == KUBE_DNS_NAMESPACE && with_ports && is_kube_dns(&sel) => {
                Peer::Entity(Entity::KubeDns)
            }
            Some(n) => Peer::Pods { namespace: n.to_string(), selector: sel },
            None => Peer::PodsIn { pods: sel, namespaces: ns },
        }]);
    }
    if let Some(nets) = v.get("networks").and_then(Value::as_array) {
        let nets: Vec<&str> = nets.iter().filter_map(Value::as_str).collect();
        if !pods_passed && nets.contains(&"0.0.0.0/0") && nets.contains(&"::/0") {
            let rest: Vec<&str> =
                nets.iter().copied().filter(|n| *n != "0.0.0.0/0" && *n != "::/0").collect();
            if rest.is_empty() {
                return Ok(vec![Peer::Entity(Entity::Anywhere)]);
            }
        }
        return nets.iter().map(|n| fields::cidr(n, &[]).map(Peer::Cidr)).collect();
    }
    if let Some(names) = v.get("domainNames").and_then(Value::as_array) {
        return Ok(names.iter().filter_map(Value::as_str).map(|n| Peer::Fqdn(n.to_string())).collect());
    }
    Err("a peer the language has no word for (`nodes`, or none of the known fields)".into())
}

/// `protocols` as ports: `None` for every port.
fn ports(v: &Value) -> Result<Option<Ports>, String> {
    let Some(list) = v.as_array() else { return Ok(None) };
    let mut out = Vec::new();
    for p in list {
        if p.get("destinationNamedPort").is_some() {
            return Err("a named port without a protocol".into());
        }
        let (protocol, body) = match (p.get("tcp"), p.get("udp"), p.get("sctp")) {
            (Some(b), None, None) => (Protocol::Tcp, b),
            (None, Some(b), None) => (Protocol::Udp, b),
            (None, None, Some(b)) => (Protocol::Sctp, b),
            _ => return Err("not exactly one of tcp, udp or sctp".into()),
        };
        let d = &body["destinationPort"];
        let port = if let Some(n) = d["number"].as_u64() {
            PortMatch::Single(u16::try_from(n).map_err(|_| "a port above 65535")?)
        } else if let (Some(a), Some(b)) = (d["range"]["start"].as_u64(), d["range"]["end"].as_u64()) {
            let (a, b) = (
                u16::try_from(a).map_err(|_| "a port above 65535")?,
                u16::try_from(b).map_err(|_| "a port above 65535")?,
            );
            match (a, b) {
                (1, 65535) => PortMatch::All,
                (a, b) if a < b => PortMatch::Range(a, b),
                _ => return Err("a range whose start is not below its end".into()),
            }
        } else {
            return Err("a destination port that is neither a number nor a range".into());
        };
        out.push(PortRule { protocol, port });
    }
    out.sort();
    out.dedup();
    Ok(Some(Ports::Some(out)))
}
