//! Calico `projectcalico.org/v3` NetworkPolicy and GlobalNetworkPolicy (and the same objects as
//! `crd.projectcalico.org/v1` stores them) → statements. The meaning of each field is the
//! Calico reader's (`crate::targets::calico::read`): tiers in their order, policies in a tier by
//! `order` then name, the first matching rule decides; a tier in which a policy selects a pod
//! ends in its `defaultAction` (Deny for the default tier), so being selected in the default
//! tier isolates.
//!
//! The whole set is translated at once, because order and tiers relate policies:
//! - a policy of the default tier polices the pods its `selector` picks in its namespace, in the
//!   directions of `types` (defaulted from the rules as Calico does); its Allow rules are unions,
//!   whatever their order, so they are `accepts`/`connects to`; a direction with no Allow rule is
//!   `accepts nothing` / `connects to nothing` (`default deny` for `all()` with no rule);
//! - Deny rules are `refuses` / `never connects to`, which deny whatever any rule allows, where
//!   Calico's order gives them that meaning: in a tier that passes on what it does not match
//!   (`defaultAction: Pass`), ordered before the default tier, and holding no Allow rule (the
//!   shape netpol writes, [`crate::targets::calico::emit::DENY_TIER`]); or in the default tier
//!   before every Allow rule of a policy that is evaluated before every other policy that may
//!   select the same pods (by `order`, then name; Kubernetes NetworkPolicies are at order 1000);
//! - a GlobalNetworkPolicy whose `namespaceSelector` picks one namespace by name is that
//!   namespace's policy, whose rule selectors pick pods of every namespace.
//!
//! Everything else (Pass and Log rules, other tiers, other GlobalNetworkPolicies, host-endpoint
//! policies, network sets, negated matches, service accounts, ICMP, HTTP) is a loss.

use super::calico_rules::{self, namespace_name, pod_selector, Scope, CALICO_NAME};
use super::draft::{Draft, Kind, Loss, Peer, Policy, Statement, Subject};
use super::fields;
use crate::analysis::targets::object_name;
use crate::backend::ANNOTATION_SOURCE;
use crate::ir::{Direction, Entity, LabelSelector, Ports, KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE};
use crate::targets::calico::emit::ANNOTATION_REASON;
use crate::targets::calico::read::{parse_selector, Expr, CRD_API_VERSION, DEFAULT_TIER, DEFAULT_TIER_ORDER};
use serde_json::Value;
use std::collections::BTreeMap;

/// A tier among the inputs: its order (`None`: after every ordered tier) and whether it passes
/// on what it does not match.
struct Tier {
    order: Option<f64>,
    pass: bool,
}

/// A policy of the default tier, for the order of its Deny rules.
struct Head {
    object: usize,
    /// `None`: a GlobalNetworkPolicy, which may select pods of any namespace.
    namespace: Option<String>,
    order: f64,
    /// Felix's name of the policy, which breaks ties of order.
    name: String,
    types: [bool; 2],
    /// Whether it has rules that may decide before a later policy's Deny (any but Deny and
    /// Log), per direction.
    decides: [bool; 2],
}

/// Adds the statements of the Calico objects `calico` (world policy number, object);
/// `kubernetes`: the Kubernetes NetworkPolicies beside them, which Calico enforces in its
/// default tier.
pub fn translate(calico: &[(usize, &Value)], kubernetes: &[(usize, &Value)], draft: &mut Draft) {
    let mut tiers = BTreeMap::new();
    for &(_, obj) in calico.iter().filter(|(_, o)| o["kind"] == "Tier") {
        let Some(name) = obj["metadata"]["name"].as_str() else { continue };
        let order = obj["spec"]["order"].as_f64();
        tiers.insert(name.to_string(), Tier { order, pass: obj["spec"]["defaultAction"] == "Pass" });
    }
    let mut heads: Vec<Head> = calico.iter().filter_map(|&(i, o)| head(i, o)).collect();
    for &(i, obj) in kubernetes {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        heads.push(Head {
            object: i,
            namespace: Some(ns.to_string()),
            order: 1000.0,
            name: format!("{ns}/knp.default.{name}"),
            types: [true, true],
            decides: [true, true],
        });
    }
    // An object given twice: the last one counts (the reader says so).
    let id =
        |o: &Value| (o["kind"].clone(), o["metadata"]["namespace"].clone(), o["metadata"]["name"].clone());
    for (at, &(i, obj)) in calico.iter().enumerate() {
        if calico[at + 1..].iter().any(|(_, later)| id(later) == id(obj)) {
            continue;
        }
        match obj["kind"].as_str() {
            Some("NetworkPolicy" | "GlobalNetworkPolicy") => policy(i, obj, &tiers, &heads, draft),
            Some(kind @ ("NetworkSet" | "GlobalNetworkSet")) => draft.losses.push(Loss {
                code: super::NO_WORD,
                object: i,
                path: String::new(),
                message: format!(
                    "{}: a {kind} adds its networks to what rule selectors pick; the language has no word \
                     for it",
                    object_name(obj)
                ),
                help: "name the set's networks in the rules that select it".to_string(),
            }),
            // Tiers are read with the policies in them; the reader reports anything else.
            _ => {}
        }
    }
}

/// The policy's place in the default tier, where it is there.
fn head(i: usize, obj: &Value) -> Option<Head> {
    let global = match obj["kind"].as_str() {
        Some("NetworkPolicy") => false,
        Some("GlobalNetworkPolicy") => true,
        _ => return None,
    };
    let spec = &obj["spec"];
    if !matches!(spec["tier"].as_str(), None | Some("" | DEFAULT_TIER)) {
        return None;
    }
    let name = policy_name(obj, DEFAULT_TIER);
    let namespace = (!global).then(|| obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string());
    let present = |k: &str| spec[k].as_array().is_some_and(|a| !a.is_empty());
    Some(Head {
        object: i,
        name: match &namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name,
        },
        namespace,
        order: spec["order"].as_f64().unwrap_or(f64::INFINITY),
        types: types(spec, [present("ingress"), present("egress")]),
        decides: ["ingress", "egress"].map(|k| {
            spec[k]
                .as_array()
                .is_some_and(|a| a.iter().any(|r| !matches!(r["action"].as_str(), Some("Deny" | "Log"))))
        }),
    })
}

/// The policy's name as Felix knows it: a `crd.projectcalico.org/v1` name of the default tier
/// drops its `default.` prefix.
fn policy_name(obj: &Value, tier: &str) -> String {
    let name = obj["metadata"]["name"].as_str().unwrap_or("policy");
    if obj["apiVersion"] == CRD_API_VERSION && tier == DEFAULT_TIER {
        return name.strip_prefix("default.").unwrap_or(name).to_string();
    }
    name.to_string()
}

/// `types`, or (left out or empty) Ingress without egress rules or with ingress rules, Egress
/// with egress rules (`networkpolicy.go`).
fn types(spec: &Value, present: [bool; 2]) -> [bool; 2] {
    match spec["types"].as_array() {
        Some(t) if !t.is_empty() => {
            let has = |x: &str| t.iter().any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(x)));
            [has("ingress"), has("egress")]
        }
        _ => [!present[1] || present[0], present[1]],
    }
}

/// One statement before merging, with what may merge it with its neighbours.
struct Item {
    kind: Kind,
    peers: Vec<Peer>,
    ports: Option<Ports>,
    reason: String,
    path: String,
    /// netpol's own rules: the source line and reason of the statement they were written for.
    key: Option<String>,
}

fn policy(i: usize, obj: &Value, tiers: &BTreeMap<String, Tier>, heads: &[Head], draft: &mut Draft) {
    let title = object_name(obj);
    let global = obj["kind"] == "GlobalNetworkPolicy";
    let spec = &obj["spec"];
    let own = fields::from_netpol(obj);
    let mut losses: Vec<(String, String, &str)> = Vec::new();
    const HELP_POLICY: &str = "write this policy in .netpol by hand, or leave it out";
    const HELP_RULE: &str = "write this rule in .netpol by hand, or leave it out";
    let finish = |losses: Vec<(String, String, &str)>, draft: &mut Draft| {
        for (path, what, help) in losses {
            let message = format!("{title} {path}: {what}");
            draft.losses.push(Loss {
                code: super::NO_WORD,
                object: i,
                path,
                message,
                help: help.to_string(),
            });
        }
    };
    if obj["metadata"]["name"].as_str().is_none() {
        losses.push((
            "metadata".into(),
            "a policy without a name (Calico does not read it)".into(),
            HELP_POLICY,
        ));
        return finish(losses, draft);
    }
    if !spec.is_object() && !spec.is_null() {
        losses.push((
            "spec".into(),
            "a spec that is not an object (Calico does not read it)".into(),
            HELP_POLICY,
        ));
        return finish(losses, draft);
    }
    let flag = |k: &str| spec[k] == Value::Bool(true);
    if flag("applyOnForward") {
        losses.push((
            "spec.applyOnForward".into(),
            "`applyOnForward` (host endpoints' forwarded traffic)".into(),
            HELP_POLICY,
        ));
    }
    for k in ["doNotTrack", "preDNAT"] {
        if flag(k) {
            losses.push((
                format!("spec.{k}"),
                format!("`{k}`: a policy of host endpoints, which the language does not police"),
                HELP_POLICY,
            ));
            return finish(losses, draft);
        }
    }
    if spec["serviceAccountSelector"].as_str().is_some_and(|s| !s.is_empty()) {
        losses.push((
            "spec.serviceAccountSelector".into(),
            "pods selected by service account".into(),
            HELP_POLICY,
        ));
        return finish(losses, draft);
    }
    let tier = spec["tier"].as_str().filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TIER).to_string();
    let deny_tier = tier != DEFAULT_TIER;
    // A Tier object may give the default tier another order, or make it pass on.
    let default_order = tiers.get(DEFAULT_TIER).and_then(|t| t.order).unwrap_or(DEFAULT_TIER_ORDER);
    if !deny_tier && tiers.get(DEFAULT_TIER).is_some_and(|t| t.pass) {
        let what = "a policy of the default tier, which a Tier object makes pass on what no rule matches: \
                    being selected does not isolate";
        losses.push(("spec.selector".into(), what.into(), HELP_POLICY));
        return finish(losses, draft);
    }
    if deny_tier {
        let why = match tiers.get(&tier) {
            None => Some(format!("the tier `{tier}`, which is not among the inputs")),
            Some(t) if !t.pass => {
                Some(format!("the tier `{tier}`, which denies what its policies select and no rule matches"))
            }
            Some(t) if t.order.is_none_or(|o| o >= default_order) => {
                Some(format!("the tier `{tier}`, ordered after the default tier"))
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            let what = format!(
                "{why}: the language's deny rules are a tier before the default tier that passes on what it \
                 does not deny"
            );
            losses.push(("spec.tier".into(), what, HELP_POLICY));
            return finish(losses, draft);
        }
    }
    // A GlobalNetworkPolicy of every pod of every namespace (netpol's cluster-wide default
    // deny): the policy of namespace "", whose rule-less directions are `default deny`.
    let ns_expr = spec["namespaceSelector"].as_str().filter(|s| !s.is_empty()).map(parse_selector);
    let every_namespace = match &ns_expr {
        None => true,
        Some(Ok(Expr::All)) => true,
        Some(Ok(Expr::Has(k))) => k == CALICO_NAME,
        _ => false,
    };
    let all_pods = match &spec["selector"] {
        Value::Null => true,
        Value::String(s) => matches!(parse_selector(s), Ok(Expr::All)),
        _ => false,
    };
    let cluster = global && every_namespace && all_pods;
    let namespace = if cluster {
        String::new()
    } else if global {
        let by_name = ns_expr.and_then(Result::ok).and_then(|e| namespace_name(&e));
        match by_name {
            Some(n) => n,
            None => {
                let (path, which) = match spec["namespaceSelector"].as_str().filter(|s| !s.is_empty()) {
                    None => ("spec.selector", "of every namespace"),
                    Some(_) => ("spec.namespaceSelector", "of the namespaces a selector picks"),
                };
                let what =
                    format!("a GlobalNetworkPolicy polices pods {which}; a workload lives in one namespace");
                losses.push((path.into(), what, HELP_POLICY));
                return finish(losses, draft);
            }
        }
    } else {
        obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string()
    };
    let subject = match &spec["selector"] {
        Value::Null => LabelSelector::default(),
        Value::String(s) if s.is_empty() => LabelSelector::default(),
        v => match pod_selector(v, "spec.selector") {
            Ok(s) => s,
            Err((path, what)) => {
                losses.push((path, what, HELP_POLICY));
                return finish(losses, draft);
            }
        },
    };
    let mut name = policy_name(obj, &tier);
    if deny_tier {
        name = name.strip_prefix(&format!("{tier}.")).map(str::to_string).unwrap_or(name);
    }
    let me = heads.iter().find(|h| h.object == i);
    let scope = Scope { namespace: &namespace, global };
    let present = |k: &str| spec[k].as_array().is_some_and(|a| !a.is_empty());
    let types = types(spec, [present("ingress"), present("egress")]);
    let mut statements = Vec::new();
    for (d, dir) in [Direction::Ingress, Direction::Egress].into_iter().enumerate() {
        let key = dir.as_str();
        let rules: Vec<&Value> = spec[key].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        if !types[d] {
            if !rules.is_empty() {
                draft.ignored.push(Loss {
                    code: super::IGNORED,
                    object: i,
                    path: format!("spec.{key}"),
                    message: format!(
                        "{title} spec.{key}: `types` leaves out {key}, so these rules have no effect"
                    ),
                    help: format!(
                        "add `{}` to `types` if the rules are meant, or delete them",
                        type_name(dir)
                    ),
                });
            }
            continue;
        }
        if cluster {
            // Selected in the default tier, every pod is isolated; the rules have no word.
            if !rules.is_empty() {
                let what =
                    "rules of a GlobalNetworkPolicy of every pod: the language's rules are a workload's";
                losses.push((format!("spec.{key}"), what.into(), HELP_RULE));
            }
            if !deny_tier {
                let path = format!("spec.{key}");
                let reason = if own { String::new() } else { format!("from {title} {path}") };
                statements.push(Statement {
                    kind: Kind::DefaultDeny(dir),
                    peers: Vec::new(),
                    ports: None,
                    reason,
                    path,
                });
            }
            continue;
        }
        let mut items = Vec::new();
        let mut allowed_before = false;
        for (j, r) in rules.iter().enumerate() {
            let path = format!("spec.{key}[{j}]");
            let action = r["action"].as_str();
            let not = |what: &str| (format!("{path}.action"), what.to_string(), HELP_RULE);
            let kind = match action {
                Some("Allow") if deny_tier => Err(not(&format!(
                    "an Allow rule in the tier `{tier}`, before the default tier: it allows whatever later \
                     policies deny"
                ))),
                Some("Allow") => Ok(Kind::Allow(dir)),
                Some("Deny") if deny_tier => Ok(Kind::Deny(dir)),
                Some("Deny") if allowed_before => Err(not(
                    "a Deny rule after an Allow or Pass rule of its policy: where both match the earlier one \
                     decides",
                )),
                Some("Deny") if !first(me, heads, d) => Err(not(
                    "a Deny rule of the default tier whose policy is not evaluated before every other policy \
                     that may select the same pods (by `order`, then name): what an earlier policy allows, \
                     it cannot deny",
                )),
                Some("Deny") => Ok(Kind::Deny(dir)),
                Some("Pass") => Err(not("a Pass rule (on to the next tier)")),
                Some("Log") => Err(not("a Log rule")),
                _ => Err(not("an action that is not Allow, Deny, Pass or Log")),
            };
            allowed_before |= matches!(action, Some("Allow" | "Pass"));
            let kind = match kind {
                Ok(k) => k,
                Err(l) => {
                    losses.push(l);
                    continue;
                }
            };
            match calico_rules::rule(r, dir, scope, &path) {
                Ok((peers, ports)) => {
                    let notes = &r["metadata"]["annotations"];
                    let reason = match own {
                        true => notes[ANNOTATION_REASON].as_str().unwrap_or_default().to_string(),
                        false => format!("from {title} {path}"),
                    };
                    let key = own.then(|| {
                        format!("{}\n{reason}", notes[ANNOTATION_SOURCE].as_str().unwrap_or_default())
                    });
                    items.push(Item { kind, peers, ports, reason, path, key });
                }
                Err((at, what)) => losses.push((at, what, HELP_RULE)),
            }
        }
        let allows = items.iter().any(|s| s.kind == Kind::Allow(dir));
        statements.extend(merge(items));
        // Selected in the default tier: isolated, whatever the rules.
        if !deny_tier && !allows {
            let kind = if rules.is_empty() && subject.is_empty() {
                Kind::DefaultDeny(dir)
            } else {
                Kind::Nothing(dir)
            };
            let path = format!("spec.{key}");
            let reason = if own { String::new() } else { format!("from {title} {path}") };
            statements.push(Statement { kind, peers: Vec::new(), ports: None, reason, path });
        }
    }
    finish(losses, draft);
    draft.policies.push(Policy {
        object: i,
        title: title.clone(),
        name,
        namespace,
        subject: Subject::Pods(subject),
        statements,
        from_netpol: own,
    });
}

fn type_name(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "Ingress",
        Direction::Egress => "Egress",
    }
}

/// Whether the default-tier policy `me` is evaluated, in direction `d`, before every other
/// policy of the default tier that may select the same pods.
fn first(me: Option<&Head>, heads: &[Head], d: usize) -> bool {
    let Some(me) = me else { return false };
    heads.iter().filter(|h| h.object != me.object && h.types[d] && h.decides[d]).all(|h| {
        let overlap = match (&h.namespace, &me.namespace) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let after = match h.order.partial_cmp(&me.order) {
            Some(std::cmp::Ordering::Greater) => true,
            Some(std::cmp::Ordering::Equal) => h.name > me.name,
            _ => false,
        };
        !overlap || after
    })
}

/// Neighbouring rules of one statement merged back: rules with the same peers (their ports
/// joined), and netpol's own rules of one source statement, where together they are exactly
/// their peers on their ports.
fn merge(items: Vec<Item>) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut items = items.into_iter().peekable();
    while let Some(first) = items.next() {
        let mut group = vec![first];
        while let Some(next) = items.peek() {
            let head = &group[0];
            let same = next.kind == head.kind
                && (next.peers == head.peers || (head.key.is_some() && next.key == head.key));
            if !same {
                break;
            }
            group.extend(items.next());
        }
        match joined(&group) {
            Some(s) => out.push(s),
            None => {
                out.extend(group.into_iter().map(|g| statement(g.kind, g.peers, g.ports, g.reason, g.path)))
            }
        }
    }
    out
}

/// A group of rules as one statement, where every peer is matched on the same ports.
fn joined(group: &[Item]) -> Option<Statement> {
    let mut peers: Vec<Peer> = Vec::new();
    let mut ports: Vec<Option<Ports>> = Vec::new();
    for item in group {
        for p in &item.peers {
            let at = match peers.iter().position(|x| x == p) {
                Some(at) => at,
                None => {
                    peers.push(p.clone());
                    ports.push(Some(Ports::Some(Vec::new())));
                    peers.len() - 1
                }
            };
            ports[at] = union(ports[at].take(), item.ports.clone());
        }
    }
    let first = ports.first()?.clone();
    if ports.iter().any(|p| *p != first) {
        return None;
    }
    let g = &group[0];
    Some(statement(g.kind, peers, first, g.reason.clone(), g.path.clone()))
}

/// Ports together; `None` is every port.
fn union(a: Option<Ports>, b: Option<Ports>) -> Option<Ports> {
    match (a, b) {
        (Some(Ports::Some(mut a)), Some(Ports::Some(b))) => {
            a.extend(b);
            a.sort();
            a.dedup();
            Some(Ports::Some(a))
        }
        _ => None,
    }
}

/// A statement; the cluster DNS pods on the DNS ports are `kube-dns`.
fn statement(
    kind: Kind,
    mut peers: Vec<Peer>,
    mut ports: Option<Ports>,
    reason: String,
    path: String,
) -> Statement {
    if let [Peer::Pods { namespace, selector }] = peers.as_slice() {
        let dns = namespace == KUBE_DNS_NAMESPACE
            && selector.expressions.is_empty()
            && selector.match_labels.len() == 1
            && selector.match_labels.get(KUBE_DNS_LABEL.0).map(String::as_str) == Some(KUBE_DNS_LABEL.1);
        if dns && ports == Some(Ports::dns()) {
            peers = vec![Peer::Entity(Entity::KubeDns)];
            ports = None;
        }
    }
    Statement { kind, peers, ports, reason, path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn translate_all(objects: &[Value]) -> Draft {
        let mut d = Draft::default();
        let calico: Vec<(usize, &Value)> = objects.iter().enumerate().collect();
        translate(&calico, &[], &mut d);
        d
    }

    fn np(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
    }

    #[test]
    fn deny_rules_need_to_come_first() {
        let deny = json!({"selector": "app == 'a'", "order": 5, "ingress": [{"action": "Deny"}]});
        let allow = json!({"selector": "app == 'b'", "order": 1, "ingress": [{"action": "Allow"}]});
        // An earlier policy that may allow: the Deny is lost.
        let d = translate_all(&[np("p", deny.clone()), np("q", allow)]);
        assert_eq!(d.losses.len(), 1, "{:?}", d.losses);
        assert_eq!(d.losses[0].path, "spec.ingress[0].action");
        // An earlier policy that only denies: the Deny holds.
        let other = json!({"selector": "app == 'b'", "order": 1, "ingress": [{"action": "Deny"}]});
        let d = translate_all(&[np("p", deny), np("q", other)]);
        assert!(d.losses.is_empty(), "{:?}", d.losses);
        let kinds: Vec<Kind> = d.policies[0].statements.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [Kind::Deny(Direction::Ingress), Kind::Nothing(Direction::Ingress)]);
    }

    #[test]
    fn neighbouring_rules_merge_only_where_exact() {
        let spec = json!({"selector": "app == 'a'", "ingress": [
            {"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'b'"}, "destination": {"ports": [80]}},
            {"action": "Allow", "protocol": "UDP", "source": {"selector": "app == 'b'"}, "destination": {"ports": [53]}},
            {"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'c'"}, "destination": {"ports": [80]}},
        ]});
        let d = translate_all(&[np("p", spec)]);
        let s = &d.policies[0].statements;
        // The same peer's ports join; another peer on other ports stays apart.
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(matches!(&s[0].ports, Some(Ports::Some(p)) if p.len() == 2));
    }
}
