//! `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy (network-policy-api v0.2.0), as its
//! CRD defines it (`config/crd/{standard,experimental}/policy.networking.k8s.io_clusternetworkpolicies.yaml`
//! and `apis/v1alpha2/clusternetworkpolicy_types.go` of kubernetes-sigs/network-policy-api),
//! beside the NetworkPolicies of the same cluster.
//!
//! - A policy is cluster-scoped, of the `Admin` or the `Baseline` tier, with a `priority` from
//!   0 to 1000: "Policies with lower priority values have higher precedence". Its `subject` is
//!   the pods of the namespaces a selector picks (`namespaces`), or the pods a pod selector
//!   picks in those namespaces (`pods`).
//! - Tiers are evaluated in order (`spec.tier`): Admin; then NetworkPolicy ("v1.NetworkPolicy
//!   always makes a final decision for selected pods. Further evaluation only happens for Pods
//!   not selected by a v1.NetworkPolicy"); then Baseline; then "the default kubernetes
//!   policy … all pods can communicate with each other". Within a tier, policies by priority,
//!   rules in written order ("a rule that appears at the top … would take the highest
//!   precedence"); the first rule that matches decides: `Accept` allows, `Deny` denies, `Pass`
//!   "skips all further ClusterNetworkPolicy rules in the current tier". So a side some
//!   policy selects is [`Fold::Ordered`]: the Admin clauses, the end of the Admin tier (pass),
//!   the NetworkPolicy allows and the end of their tier (deny) where one selects the pod, the
//!   Baseline clauses and the end of theirs (pass); what passes the last tier is allowed.
//! - "CNPs with no ingress rules do not affect ingress traffic" (and the same for egress).
//! - "If two (or more) policies in the same tier with the same priority could match a
//!   connection, then the implementation can apply any of the matching policies" (`priority`):
//!   where two such policies select one pod in one direction and their rules there do not all
//!   have one action (rules of one action answer alike in any order), their clauses only
//!   possibly match there, so what they decide is "possibly", and a problem says so. A subject
//!   that only possibly picks a pod (a namespace label the inventory does not give) makes the
//!   policy's clauses only possibly match that pod.
//! - Not modelled: a pod connecting to its own address is not subject to ClusterNetworkPolicy
//!   (site-src/api-overview.md, "hairpin"); a point of the universe may stand for several pods.
//! - A peer: `namespaces` (every pod of those namespaces), `pods` (`namespaceSelector`, `{}`
//!   when left out as Go's zero value reads it, and the required `podSelector`), and for
//!   egress `networks` (CIDRs: "cluster-internal traffic will be checked against the rule as
//!   well", so a pod, the node and the API server are possibly in them, unless the networks
//!   hold both `0.0.0.0/0` and `::/0`), `nodes` (the node: `{}` every node, else possibly) and
//!   `domainNames` (an address outside the cluster possibly; "only supported for Accept
//!   rules"). Host-networked pods are no pods to `namespaces` and `pods`.
//! - A peer with no field this version knows (one of a newer version) "can infer that the
//!   deployed CRD is of an incompatible version with an unknown field. In that case it should
//!   fail closed": an Accept rule matches nothing, a Deny or Pass rule is "a 'Deny all' rule".
//!   A peer with no field at all is one the CRD rejects.
//! - `protocols`: each exactly one of `tcp`, `udp`, `sctp` (with a `destinationPort`: a
//!   `number`, or a `range` with `start < end`) or `destinationNamedPort` (the container port
//!   of that name, whatever its protocol); none, every port of every protocol.
//!
//! What the API server would reject (a field out of its schema) is a problem, and the policy
//! is read as possibly there: its clauses only possibly match, and the rule that cannot be
//! read possibly matches anything, with an action that may go either way.

use super::*;
use crate::analysis::side::Origin;
use std::collections::BTreeMap;

pub(crate) const CNP_API_VERSION: &str = "policy.networking.k8s.io/v1alpha2";
pub(crate) const CNP_KIND: &str = "ClusterNetworkPolicy";

/// Whether a manifest is a ClusterNetworkPolicy of the version read here.
pub(crate) fn is_cluster_network_policy(obj: &Value) -> bool {
    obj["kind"] == CNP_KIND && obj["apiVersion"] == CNP_API_VERSION
}

/// The lists the CRD caps at 25 items (rules, peers, protocols, networks, domain names).
const MAX_ITEMS: usize = 25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tier {
    Admin,
    Baseline,
}

/// One ClusterNetworkPolicy as read.
pub(super) struct Cnp {
    name: String,
    tier: Tier,
    priority: u32,
    /// Per direction: the rules as clauses; `None` where the policy has no rules there.
    steps: [Option<Vec<Step>>; 2],
    /// The pods the subject picks, and how surely.
    pods: Vec<(PointId, Match)>,
    /// The policy itself (`spec.tier`), for the ends of tiers and explanations.
    origin: Origin,
}

/// The ClusterNetworkPolicies of a cluster, and per point and direction those that select it.
#[derive(Default)]
pub(super) struct Cluster {
    policies: Vec<Cnp>,
    /// Per point (empty when there is no policy), per direction: the policies that select it,
    /// in evaluation order (tier, priority, object order), with how surely.
    selecting: Vec<[Vec<(u32, Match)>; 2]>,
}

/// Every point as far as `at` at most.
fn cap(c: &Coverage, at: Match) -> Coverage {
    Coverage {
        kinds: c.kinds.map(|m| m.min(at)),
        zones: c.zones.iter().map(|&(z, m)| (z, m.min(at))).collect(),
        points: c.points.iter().map(|&(p, m)| (p, m.min(at))).collect(),
    }
}

fn capped(step: &Step) -> Step {
    match step {
        Step::Clause(c) => Step::Clause(Clause { cover: Arc::new(cap(&c.cover, Match::Maybe)), ..c.clone() }),
        other => other.clone(),
    }
}

impl Cluster {
    /// The policies read by every worker, in object order; the problems of equal priorities.
    pub(super) fn new(u: &Universe, parts: Vec<Vec<Cnp>>) -> (Cluster, Vec<String>) {
        let policies: Vec<Cnp> = parts.into_iter().flatten().collect();
        if policies.is_empty() {
            return (Cluster::default(), Vec::new());
        }
        let mut order: Vec<u32> = (0..policies.len() as u32).collect();
        order.sort_by_key(|&i| (policies[i as usize].tier, policies[i as usize].priority, i));
        let mut selecting = vec![[Vec::new(), Vec::new()]; u.len()];
        for &i in &order {
            let policy = &policies[i as usize];
            for &(p, m) in &policy.pods {
                for (list, steps) in selecting[p as usize].iter_mut().zip(&policy.steps) {
                    if steps.is_some() {
                        list.push((i, m));
                    }
                }
            }
        }
        // Equal tier and priority over one pod and direction: which applies first is undefined,
        // which matters where their rules do not all act alike.
        let mut clashes = BTreeMap::new();
        for (p, sides) in selecting.iter().enumerate() {
            for (d, list) in sides.iter().enumerate() {
                for run in unordered(&policies, list, d) {
                    for pair in list[run].windows(2) {
                        clashes.entry((pair[0].0, pair[1].0, d)).or_insert(p as PointId);
                    }
                }
            }
        }
        let problems = clashes
            .into_iter()
            .map(|((a, b, d), p)| {
                let (a, b) = (&policies[a as usize], &policies[b as usize]);
                format!(
                    "{} spec.priority: {:?} tier priority {} is also {}'s, and both select {} for {}: which \
                     applies is undefined (the CRD's `priority`); what they decide there is read as possibly",
                    a.name,
                    a.tier,
                    a.priority,
                    b.name,
                    u.point(p).name,
                    ["ingress", "egress"][d],
                )
            })
            .collect();
        (Cluster { policies, selecting }, problems)
    }

    /// The side of pod `p` in direction `d`, given what its NetworkPolicies say there (their
    /// allows and what isolates it, `None` where none selects it).
    pub(super) fn side(&self, p: PointId, d: usize, np: Option<(Vec<Step>, Vec<Origin>)>) -> Side {
        let list = self.selecting.get(p as usize).map_or(&[][..], |s| &s[d][..]);
        if list.is_empty() {
            return match np {
                None => Side::open(),
                Some((steps, isolation)) => Side { fold: Fold::Union { isolated: true }, steps, isolation },
            };
        }
        let mut steps = Vec::new();
        // Only NetworkPolicies isolate: what the Admin and Baseline tiers leave undecided passes.
        let mut isolation = Vec::new();
        let mut np = Some(np);
        for tier in [Tier::Admin, Tier::Baseline] {
            if tier == Tier::Baseline {
                if let Some((allows, origins)) = np.take().flatten() {
                    let origin = origins.first().cloned().unwrap_or_else(|| self.policies[0].origin.clone());
                    steps.extend(allows);
                    steps.push(Step::EndOfTier { pass: false, origin });
                    isolation.extend(origins);
                }
            }
            let of_tier: Vec<(u32, Match)> =
                list.iter().copied().filter(|(i, _)| self.policies[*i as usize].tier == tier).collect();
            let Some(first) = of_tier.first() else { continue };
            let runs = unordered(&self.policies, &of_tier, d);
            for (k, &(i, m)) in of_tier.iter().enumerate() {
                let policy = &self.policies[i as usize];
                let unsure = m != Match::Yes || runs.iter().any(|r| r.contains(&k));
                for step in policy.steps[d].iter().flatten() {
                    steps.push(if unsure { capped(step) } else { step.clone() });
                }
            }
            let origin = self.policies[first.0 as usize].origin.clone();
            steps.push(Step::EndOfTier { pass: true, origin });
        }
        Side { fold: Fold::Ordered, steps, isolation }
    }
}

/// The runs of `list` (policies in evaluation order) of one tier and priority whose order is
/// undefined and matters: two policies or more, whose rules in direction `d` do not all have
/// one action (rules of one action give the same answer in any order).
fn unordered(policies: &[Cnp], list: &[(u32, Match)], d: usize) -> Vec<std::ops::Range<usize>> {
    let key = |k: usize| {
        let p = &policies[list[k].0 as usize];
        (p.tier, p.priority)
    };
    let acts = |k: usize| {
        let steps = policies[list[k].0 as usize].steps[d].iter().flatten();
        steps.fold(0u8, |m, s| match s {
            Step::Clause(c) => m | 1 << (c.act as u8),
            Step::EndOfTier { .. } => m,
        })
    };
    let mut out = Vec::new();
    let mut start = 0;
    for k in 1..=list.len() {
        if k == list.len() || key(k) != key(start) {
            let mixed = (start..k).fold(0u8, |m, j| m | acts(j)).count_ones() > 1;
            if k - start > 1 && mixed {
                out.push(start..k);
            }
            start = k;
        }
    }
    out
}

/// What one peer covers, or that it names no field this reader knows.
enum PeerRead {
    Cover {
        cover: Arc<Coverage>,
        pods_only: bool,
        domains: bool,
    },
    /// No field set: "fail closed".
    Unknown,
}

impl Reader<'_, '_> {
    /// One ClusterNetworkPolicy. One that cannot be placed (no tier, priority or subject the
    /// CRD allows) is left out with a problem: the API server rejects it.
    pub(super) fn cluster_policy(&mut self, obj: &Value) {
        let spec = &obj["spec"];
        let Some(map) = spec.as_object() else {
            self.problem(obj, "spec", "missing (required); not read");
            return;
        };
        for k in map.keys() {
            if !["tier", "priority", "subject", "ingress", "egress"].contains(&k.as_str()) {
                self.problem(obj, "spec", format!("unknown field `{k}` (not in the v0.2.0 CRD); ignored"));
            }
        }
        let tier = match spec["tier"].as_str() {
            Some("Admin") => Tier::Admin,
            Some("Baseline") => Tier::Baseline,
            _ => {
                self.problem(
                    obj,
                    "spec.tier",
                    format!("{} is not Admin or Baseline; not read", spec["tier"]),
                );
                return;
            }
        };
        let Some(priority) = spec["priority"].as_u64().filter(|p| *p <= 1000) else {
            self.problem(obj, "spec.priority", format!("{} is not 0 to 1000; not read", spec["priority"]));
            return;
        };
        let pods = match self.subject(&spec["subject"]) {
            Ok(p) => p,
            Err((at, why)) => {
                self.problem(obj, &format!("spec.subject{at}"), format!("{why}; not read"));
                return;
            }
        };
        let mut rejected = false;
        let mut steps: [Option<Vec<Step>>; 2] = [None, None];
        for (d, key, peers_key) in [(0, "ingress", "from"), (1, "egress", "to")] {
            let rules: &[Value] = match spec.get(key) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(l)) if l.is_empty() => continue,
                Some(Value::Array(l)) => l,
                Some(other) => {
                    let at = format!("spec.{key}");
                    steps[d] = Some(vec![self.unread_rule(
                        obj,
                        &at,
                        &format!("not a list: {other}"),
                        &mut rejected,
                    )]);
                    continue;
                }
            };
            if rules.len() > MAX_ITEMS {
                self.problem(obj, &format!("spec.{key}"), "more than 25 rules (rejected by the CRD)");
                rejected = true;
            }
            let list = rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    self.cluster_rule(obj, &format!("spec.{key}[{i}]"), r, peers_key, &mut rejected)
                })
                .collect();
            steps[d] = Some(list);
        }
        if rejected {
            // The API server rejects the object: it possibly does not exist.
            for list in steps.iter_mut().flatten() {
                *list = list.iter().map(capped).collect();
            }
        }
        let origin = origin(obj, "spec.tier".to_string(), None);
        self.cluster.push(Cnp {
            name: object_name(obj),
            tier,
            priority: priority as u32,
            steps,
            pods,
            origin,
        });
    }

    /// The pods `spec.subject` picks, or where and why it cannot be read.
    fn subject(&self, v: &Value) -> Result<Vec<(PointId, Match)>, (String, String)> {
        let map = v.as_object().ok_or_else(|| (String::new(), "missing or not an object".to_string()))?;
        let known: Vec<&String> =
            map.keys().filter(|k| ["namespaces", "pods"].contains(&k.as_str())).collect();
        if known.len() != 1 || map.len() != 1 {
            return Err((String::new(), "exactly one of namespaces and pods is required".to_string()));
        }
        let (namespaces, pods) = peer_selectors(v, "")?;
        let zones = self.namespaces(&namespaces);
        let u = self.u;
        let mut out = Vec::new();
        for (z, m) in zones.into_iter().filter(|z| z.1 != Match::No) {
            match &pods {
                None => out.extend(u.zone(z).pods.iter().map(|&p| (p, m))),
                Some(sel) => {
                    out.extend(u.select_pods(z, sel.hint(), |l| sel.matches(l)).into_iter().map(|p| (p, m)))
                }
            }
        }
        Ok(out)
    }

    /// A rule the reader cannot read: possibly matching anything, possibly deciding either way
    /// (a Pass that possibly matches), and the policy possibly rejected.
    fn unread_rule(&mut self, obj: &Value, at: &str, why: &str, rejected: &mut bool) -> Step {
        self.problem(obj, at, format!("{why}; read as possibly matching anything (the CRD rejects this)"));
        *rejected = true;
        Step::Clause(Clause {
            cover: Arc::new(possibly_anything()),
            ports: PortSet::all(),
            act: Act::Pass,
            origin: origin(obj, at.to_string(), None),
        })
    }

    fn cluster_rule(
        &mut self,
        obj: &Value,
        at: &str,
        rule: &Value,
        peers_key: &str,
        rejected: &mut bool,
    ) -> Step {
        let Some(map) = rule.as_object() else {
            return self.unread_rule(obj, at, "a rule is an object", rejected);
        };
        for k in map.keys() {
            if ![peers_key, "action", "name", "protocols"].contains(&k.as_str()) {
                self.problem(obj, at, format!("unknown field `{k}` (not in the v0.2.0 CRD); ignored"));
            }
        }
        let act = match rule["action"].as_str() {
            Some("Accept") => Act::Allow,
            Some("Deny") => Act::Deny,
            Some("Pass") => Act::Pass,
            _ => {
                let why = format!("action {} is not Accept, Deny or Pass", rule["action"]);
                return self.unread_rule(obj, &format!("{at}.action"), &why, rejected);
            }
        };
        let (ports, named) = match cluster_ports(rule.get("protocols")) {
            Ok(p) => p,
            Err((sub, why)) => return self.unread_rule(obj, &format!("{at}.protocols{sub}"), &why, rejected),
        };
        let peers_at = format!("{at}.{peers_key}");
        let list = match rule.get(peers_key) {
            Some(Value::Array(l)) if !l.is_empty() && l.len() <= MAX_ITEMS => l,
            _ => return self.unread_rule(obj, &peers_at, "1 to 25 peers are required", rejected),
        };
        let clause = |cover, ports, act| {
            Step::Clause(Clause { cover, ports, act, origin: origin(obj, at.to_string(), Some(rule)) })
        };
        let mut parts = Vec::new();
        let (mut pods_only, mut domains) = (true, false);
        for (j, p) in list.iter().enumerate() {
            let peer_at = format!("{peers_at}[{j}]");
            match self.cluster_peer(p, peers_key == "to") {
                Ok(PeerRead::Cover { cover, pods_only: po, domains: dn }) => {
                    parts.push(cover);
                    pods_only &= po;
                    domains |= dn;
                }
                Ok(PeerRead::Unknown) => {
                    // "For "Accept" rules, "fail closed" means: "treat the rule as matching no
                    // traffic". For "Deny" and "Pass" rules, … as a 'Deny all' rule" (the peer's
                    // description in the CRD).
                    let what = if act == Act::Allow { "matching nothing" } else { "denying everything" };
                    self.problem(
                        obj,
                        &peer_at,
                        format!("a peer with no field this version knows; the rule is read, failing closed, as {what}"),
                    );
                    return if act == Act::Allow {
                        clause(Arc::new(Coverage::none()), PortSet::all(), Act::Allow)
                    } else {
                        clause(Arc::new(Coverage::everything()), PortSet::all(), Act::Deny)
                    };
                }
                Err(why) => return self.unread_rule(obj, &peer_at, &why, rejected),
            }
        }
        if named && !pods_only {
            // The rule's CEL validation in the CRD.
            let why = "networks/nodes/domainNames peer cannot be set with namedPorts";
            return self.unread_rule(obj, at, why, rejected);
        }
        if domains && act != Act::Allow {
            // Nothing rejects it, but "DomainNames is only supported for Accept rules": what
            // the CNI does with it is unknown. The peer only possibly matches anyway.
            self.problem(obj, &peers_at, "domainNames in a rule that is not Accept (only Accept supports them); read as possibly matching");
        }
        clause(union_all(self.u, parts), ports, act)
    }

    fn cluster_peer(&mut self, p: &Value, egress: bool) -> Result<PeerRead, String> {
        let map = p.as_object().ok_or("a peer is an object")?;
        let fields: &[&str] = if egress {
            &["namespaces", "pods", "networks", "nodes", "domainNames"]
        } else {
            &["namespaces", "pods"]
        };
        if map.is_empty() {
            // The CRD's minProperties: no cluster holds such a peer (one holding only fields of
            // a newer version is what failing closed is for).
            return Err("a peer with no field".to_string());
        }
        let set: Vec<&str> = map.keys().map(String::as_str).filter(|k| fields.contains(k)).collect();
        match set.as_slice() {
            [] => return Ok(PeerRead::Unknown),
            [_] => {}
            _ => return Err(format!("{} set in one peer (exactly one is allowed)", set.join(" and "))),
        }
        let u = self.u;
        let (cover, pods_only, domains) = match set[0] {
            "namespaces" | "pods" => {
                let (namespaces, pods) = peer_selectors(p, "")
                    .map_err(|(at, why)| format!("{}: {why}", at.trim_start_matches('.')))?;
                (self.cached(None, Peer::Pods { namespaces: Some(namespaces), pods }), true, false)
            }
            "networks" => {
                let list = p["networks"].as_array().filter(|l| !l.is_empty() && l.len() <= MAX_ITEMS);
                let list = list.ok_or("networks: 1 to 25 CIDRs are required")?;
                let nets = list.iter().map(parse_net).collect::<Result<Vec<IpNet>, _>>()?;
                let mut c = Coverage::none();
                for n in &nets {
                    c = c.union(&block_coverage(u, &n.trunc(), &[]), u);
                }
                // "cluster-internal traffic will be checked against the rule as well": a pod's,
                // the node's and the API server's addresses are in the networks when they
                // span every address of both families; otherwise possibly.
                let all = ["0.0.0.0/0", "::/0"].iter().all(|a| nets.iter().any(|n| n.to_string() == *a));
                for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
                    c.kinds[k.index()] = if all { Match::Yes } else { Match::Maybe };
                }
                if all {
                    c.zones.clear();
                    c.points.retain(|(q, _)| u.point(*q).kind() == Kind::Net);
                }
                (Arc::new(c), false, false)
            }
            "nodes" => {
                let sel = Selector::parse(&p["nodes"]).map_err(|e| format!("nodes: {e}"))?;
                // The node's labels are unknown: a selector with terms possibly picks it.
                let m = if sel.is_empty() { Match::Yes } else { Match::Maybe };
                (Arc::new(Coverage::kind(Kind::Host, m)), false, false)
            }
            _ => {
                let list = p["domainNames"].as_array().filter(|l| !l.is_empty() && l.len() <= MAX_ITEMS);
                let list = list.ok_or("domainNames: 1 to 25 names are required")?;
                if let Some(bad) = list.iter().find(|n| n.as_str().is_none_or(|s| s.is_empty())) {
                    return Err(format!("domainNames: {bad} is not a domain name"));
                }
                // As a DNS name in the source: some address outside the cluster, possibly.
                (Arc::new(Coverage::kind(Kind::Net, Match::Maybe)), false, true)
            }
        };
        Ok(PeerRead::Cover { cover, pods_only, domains })
    }
}

/// A subject's or a peer's `namespaces` or `pods`: the namespace selector, and the pod
/// selector (`None`: every pod); or where and why they cannot be read.
fn peer_selectors(v: &Value, at: &str) -> Result<(Selector, Option<Selector>), (String, String)> {
    let parse = |x: &Value, at: String| Selector::parse(x).map_err(|e| (at, e));
    if let Some(ns) = v.get("namespaces") {
        return Ok((parse(ns, format!("{at}.namespaces"))?, None));
    }
    let pods = &v["pods"];
    let Some(map) = pods.as_object() else {
        return Err((format!("{at}.pods"), "not an object".to_string()));
    };
    if let Some(k) = map.keys().find(|k| !["namespaceSelector", "podSelector"].contains(&k.as_str())) {
        return Err((format!("{at}.pods"), format!("unknown field `{k}`")));
    }
    // `namespaceSelector` is not required by the CRD; Go's zero value, `{}`, picks every
    // namespace ("if empty, it selects all Namespaces").
    let ns = match pods.get("namespaceSelector") {
        None | Some(Value::Null) => Selector::default(),
        Some(x) => parse(x, format!("{at}.pods.namespaceSelector"))?,
    };
    let Some(ps) = pods.get("podSelector").filter(|x| !x.is_null()) else {
        return Err((format!("{at}.pods.podSelector"), "missing (required)".to_string()));
    };
    Ok((ns, Some(parse(ps, format!("{at}.pods.podSelector"))?)))
}

/// `protocols`: the ports, and whether a named port is among them; or where and why not.
fn cluster_ports(v: Option<&Value>) -> Result<(PortSet, bool), (String, String)> {
    let list = match v {
        None | Some(Value::Null) => return Ok((PortSet::all(), false)),
        Some(Value::Array(l)) if !l.is_empty() && l.len() <= MAX_ITEMS => l,
        Some(_) => return Err((String::new(), "1 to 25 protocols are required".to_string())),
    };
    let mut out = PortSet::empty();
    let mut named = false;
    for (i, p) in list.iter().enumerate() {
        let at = format!("[{i}]");
        let err = |why: String| Err((at.clone(), why));
        let Some(map) = p.as_object().filter(|m| m.len() == 1) else {
            return err("exactly one of tcp, udp, sctp and destinationNamedPort is required".to_string());
        };
        let (k, x) = map.iter().next().expect("one field");
        let protocol = match k.as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            "destinationNamedPort" => {
                let Some(name) = x.as_str().filter(|s| !s.is_empty()) else {
                    return err(format!("destinationNamedPort {x} is not a port name"));
                };
                // The container port of that name, of whichever protocol it has.
                for proto in Protocol::ALL {
                    out = out.union(&PortSet::named(proto, name));
                }
                named = true;
                continue;
            }
            other => return err(format!("unknown field `{other}`")),
        };
        // The CRD's minProperties on `tcp` (and `udp`, `sctp`) rejects one without a
        // `destinationPort`, though the API overview (site-src/api-overview.md) calls it
        // optional, "all ports for the specified protocol": no cluster holds one.
        let port = x.as_object().filter(|m| m.len() == 1).and_then(|m| m.get("destinationPort"));
        let Some(port) = port.and_then(Value::as_object).filter(|m| m.len() == 1) else {
            return err(format!("{k}: exactly one destinationPort with a number or a range is required"));
        };
        let number = |v: &Value| v.as_u64().filter(|n| (1..=65535).contains(n)).map(|n| n as u16);
        let set = match (port.get("number"), port.get("range")) {
            (Some(n), None) => number(n).map(|n| PortSet::range(protocol, n, n)),
            (None, Some(r)) => match (number(&r["start"]), number(&r["end"])) {
                // Every port number: whatever number a port name stands for is among them.
                (Some(1), Some(65535)) => Some(PortSet::protocol(protocol)),
                (Some(s), Some(e)) if s < e => Some(PortSet::range(protocol, s, e)),
                _ => None,
            },
            _ => None,
        };
        let Some(set) = set else {
            return err(format!("{k}.destinationPort {x}: a number 1-65535, or a range with start < end"));
        };
        out = out.union(&set);
    }
    Ok((out, named))
}

#[cfg(test)]
#[path = "tests_cluster.rs"]
mod tests;
