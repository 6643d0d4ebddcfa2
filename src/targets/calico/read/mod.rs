//! Calico's reading of policy objects written by anyone, written from projectcalico/calico's
//! API types, conversion code and Felix, and from docs.tigera.io, never from the backend's
//! code. It reads, in one list:
//! - `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier, and the same objects
//!   as the Calico API server stores them, `crd.projectcalico.org/v1`, whose policy names carry
//!   their tier (`objects::crd_name`);
//! - `networking.k8s.io/v1` NetworkPolicy, converted as Calico converts it (`k8s`);
//! - NetworkSet and GlobalNetworkSet, which rule selectors pick (`sets`).
//!
//! Staged policies enforce nothing and are not read; policies of host endpoints (`doNotTrack`,
//! `preDNAT`) are refused; anything else is reported and skipped. Files by concern: `read`
//! (objects and specs), `rule` (rules and entity rules), `ports`, `sets` (network sets and
//! service accounts), `cover` (labels as selectors see them, coverage algebra), `keys` (cache
//! keys), `selector` (the selector language).
//!
//! What a side is, after Felix (`felix/calc/policy_sorter.go`, the per-endpoint chains of
//! `felix/rules`) and the tier reference (docs.tigera.io "Tier"):
//! - the policies that select a pod and govern a direction are grouped by tier, tiers in their
//!   `order` ("If the order is omitted, it may be considered to be "infinite" … Tiers with
//!   identical order will be applied in alphanumerical order based on the Tier "Name"",
//!   `tier.go`; Felix's `TierLess`), policies in a tier by their
//!   `order` (missing = infinite, "Policies with identical order will be applied in
//!   alphanumerical order based on the Policy 'Name'", `networkpolicy.go`; Felix's name of a
//!   namespaced policy is `namespace/name`, `networkpolicyprocessor.go`), rules in order;
//! - the first rule that matches a packet decides: Allow and Deny end the evaluation, Pass goes
//!   to the next tier, Log goes on to the next rule;
//! - a tier in which some policy applies to the endpoint ends in its `defaultAction`, "the
//!   action applied to workloads selected by a policy in the tier, but not rule matched the
//!   workload's traffic. [Default: Deny]", or Pass (`tier.go`; "If a NetworkPolicy or
//!   GlobalNetworkPolicy in the Tier Passes the packet, the next Tier containing a Policy that
//!   applies to the endpoint processes the packet"); the `default` tier exists without a Tier
//!   object, at order 1,000,000, and denies;
//! - what the last tier passes on goes to the endpoint's profiles ("If the last Tier applying
//!   to the endpoint Passes the packet, that endpoint's Profiles are evaluated"), and the
//!   profile of a Kubernetes namespace allows everything (`NamespaceToProfile`,
//!   `conversion.go`: "default ingress and egress rules, which are both 'allow'"); with no
//!   policy at all the profile alone decides, so the side is open.
//!
//! Endpoints. Only pods are Calico endpoints here: host endpoints and services are not
//! modelled, so a point that is not a pod is never policed (its side is open). A pod's labels,
//! as selectors see them (`workload_endpoint_default.go`, `conversion.go`), are its own, plus
//! `projectcalico.org/namespace` and `projectcalico.org/orchestrator: k8s`, plus its namespace
//! profile's labels prefixed `pcns.` (the namespace's labels and `projectcalico.org/name`), plus
//! its service account (`projectcalico.org/serviceaccount`, `pcsa.projectcalico.org/name`),
//! known where the universe gives [`Point::service_account`](crate::analysis::universe::Point),
//! and the account's other `pcsa.` labels, never known. A namespace's labels are those the
//! universe knows ([`Zone::label`](crate::analysis::universe::Zone::label)); any other is open.
//! A selector that possibly picks a pod makes its policy possibly apply: its rules possibly
//! match, and its tier's default Deny possibly applies.
//!
//! Addresses. `nets`/`notNets` decide exactly for address points (`Role::World`,
//! `Role::Address`), through [`Universe::addresses_in`]; whether a pod's, the node's or the API
//! server's address lies in a network is open (Calico matches pod addresses too, calico#6634).
//!
//! Objects the API server would reject, and fields that mean nothing the source can say, are
//! reported as problems, never panicked on; the reading given for each says what was assumed.

mod cover;
mod k8s;
mod keys;
mod objects;
mod ports;
mod rule;
mod selector;
mod sets;

pub use selector::{parse as parse_selector, tokenize, Expr, Lookup, Tok};

use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{by_majority, Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use crate::analysis::targets::{object_name, origin, Manifests, Reading};
use crate::analysis::universe::{Kind, PointId, Universe, ZoneId, NAMESPACE_NAME_LABEL};
use crate::backend::ANNOTATION_SOURCE;
use crate::ir::{Direction, PortMatch, PortRule, Ports, Protocol};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use cover::*;
use keys::*;
use objects::*;
use ports::*;
use sets::*;

pub const API_VERSION: &str = "projectcalico.org/v3";
/// The same objects as the Calico API server stores them in the Kubernetes datastore.
pub const CRD_API_VERSION: &str = "crd.projectcalico.org/v1";
/// The prefix Felix names a Kubernetes NetworkPolicy by (`names.K8sNetworkPolicyNamePrefix`).
const K8S_PREFIX: &str = "knp.default.";
/// The tier of every policy without `spec.tier`; it exists without a Tier object.
pub const DEFAULT_TIER: &str = "default";
/// `DefaultTierOrder` (`tier.go`, calico#9085).
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;
/// The namespace-name label of namespace profiles (`conversion.NameLabel`).
pub const NAMESPACE_NAME: &str = "projectcalico.org/name";
/// Labels Calico adds to every workload endpoint (`apiv3.LabelNamespace`, `LabelOrchestrator`,
/// `LabelServiceAccount`).
const LABEL_NAMESPACE: &str = "projectcalico.org/namespace";
const LABEL_ORCHESTRATOR: &str = "projectcalico.org/orchestrator";
const LABEL_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";
/// Prefixes of inherited profile labels (`conversion/constants.go`).
const NS_PREFIX: &str = "pcns.";
const SA_PREFIX: &str = "pcsa.";
/// The service account's name, as its profile labels it (`ServiceAccountToProfile`).
const SA_NAME: &str = "pcsa.projectcalico.org/name";

const DIRS: [&str; 2] = ["ingress", "egress"];

fn slot(dir: Direction) -> usize {
    match dir {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

/// Reads `objects` as Calico would.
pub fn read<'u>(objects: &(impl Manifests + ?Sized), u: &'u Universe) -> Reading<'u> {
    let (calico, problems) = Calico::new(objects, u);
    Reading { semantics: Box::new(calico), problems }
}

/// Calico's meaning of a set of objects, ready to give the side of any point.
pub struct Calico<'u> {
    u: &'u Universe,
    /// In evaluation order.
    tiers: Vec<Tier>,
    /// In evaluation order: by tier, then order, then name.
    policies: Vec<Policy>,
    /// Per zone, the policies that select every pod of it; sorted.
    zone_policies: Vec<Vec<u32>>,
    /// Per point, the further policies that select it; sorted.
    point_policies: Vec<Vec<u32>>,
}

struct Tier {
    name: String,
    /// `None`: after every ordered tier.
    order: Option<f64>,
    /// `defaultAction: Pass`.
    pass: bool,
    origin: Origin,
}

struct Policy {
    tier: u32,
    /// Whether it governs ingress, egress.
    types: [bool; 2],
    rules: [Vec<Rule>; 2],
    origin: Origin,
}

/// One rule that can decide something, read once.
struct Rule {
    /// The peer side as coverage, the ports, the action.
    clause: Clause,
    /// The rule's conditions on the policed endpoint itself (`destination` of an ingress rule,
    /// `source` of an egress rule), when it has any; evaluated at the point.
    own: Option<Arc<Coverage>>,
    /// The clause with its coverage capped at `Maybe`, for points `own` may or may not cover.
    capped: Option<Box<Clause>>,
}

/// The object a policy's rules come from, for their origins.
struct At<'a> {
    /// Shared by every rule's origin.
    object: Arc<str>,
    /// The object's `netpol/source` annotation.
    source: Option<&'a str>,
    /// For a converted Kubernetes NetworkPolicy, per direction and rule, the path of the rule it
    /// comes from and whether it is read as possibly matching.
    paths: Option<&'a [Vec<(String, bool)>; 2]>,
}

/// Which kind of object a policy comes from.
#[derive(Clone, Copy)]
enum Form<'a> {
    /// `projectcalico.org/v3`, or (`crd`) `crd.projectcalico.org/v1`.
    Calico { global: bool, crd: bool },
    /// A Kubernetes NetworkPolicy converted; its rules' paths.
    Kubernetes(&'a [Vec<(String, bool)>; 2]),
}

/// Whom a policy's own selector is evaluated against.
enum Selects {
    Nothing,
    /// A NetworkPolicy: pods of one namespace (absent from the universe: none).
    Namespace {
        zone: Option<ZoneId>,
        selector: Arc<Expr>,
    },
    /// A GlobalNetworkPolicy: pods of the namespaces its `namespaceSelector` picks.
    Global {
        namespaces: Option<Arc<Expr>>,
        selector: Arc<Expr>,
    },
}

/// A policy as read, before ordering.
struct Read {
    /// Felix's name up to Calico v3.31: `namespace/name`, or `name` for a GlobalNetworkPolicy.
    key: String,
    /// What Felix breaks ties of order by from v3.32: `name/namespace/kind` (`PolKVLess`).
    key_v332: String,
    /// The namespace of a namespaced policy.
    namespace: Option<String>,
    object: String,
    tier: String,
    order: f64,
    selects: Selects,
    policy: Policy,
}

/// Where a rule's selectors look when it names no namespaces (`rules.go`,
/// `getEndpointSelector`): a NetworkPolicy's own namespace, or every namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scope {
    Namespace(Option<ZoneId>),
    Global,
}

/// A selector field as read.
enum Field {
    Absent,
    Parsed(Arc<Expr>),
    Bad,
}

/// An entity rule's conditions on one endpoint, read once per distinct shape.
struct Entity {
    /// `None`: no condition (every endpoint).
    cover: Option<Arc<Coverage>>,
    /// Problems, without the object's name.
    problems: Vec<String>,
}

enum Proto {
    Modelled(Protocol),
    /// ICMP, ICMPv6, UDPLite or another number: none of the ports the analysis models.
    Other,
}

enum PortEntry {
    Range(u16, u16),
    Name(String),
}

/// A spec that is left out reads as an empty one.
fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// One object as read.
enum Item {
    Tier(Tier),
    /// Whether it is a GlobalNetworkPolicy, and the policy.
    Policy(bool, Read),
    NetworkSet(NetworkSet),
    Nothing,
}

/// Whom a policy's own selectors pick: whole zones, and single pods (each `Yes` or `Maybe`),
/// and whether some of it depends on what is not known.
struct Selection {
    zones: Vec<(ZoneId, Match)>,
    points: Vec<(PointId, Match)>,
    open: bool,
}

fn selection(u: &Universe, selects: &Selects) -> Selection {
    let mut out = Selection { zones: Vec::new(), points: Vec::new(), open: false };
    let select = |out: &mut Selection, zone: ZoneId, selector: &Expr, within: Match| {
        // A selector that reads only what every pod of the namespace shares (`all()`, the
        // namespace, the orchestrator, as a Kubernetes policy's `{}` becomes) decides for the
        // whole namespace at once.
        if selector
            .keys()
            .all(|k| !is_pod_label(k) && k != LABEL_SERVICE_ACCOUNT && !k.starts_with(SA_PREFIX))
        {
            let none = BTreeMap::new();
            let m = selector.eval(&pod_get(u, zone, &none, None), Match::Yes).min(within);
            out.open |= m == Match::Maybe;
            if m != Match::No {
                out.zones.push((zone, m));
            }
            return;
        }
        let candidates = match selector.hint(is_pod_label) {
            Some((k, v)) => u.pods_with_label(zone, k, v),
            None => &u.zone(zone).pods,
        };
        for &p in candidates {
            let point = u.point(p);
            let get = pod_get(u, zone, &point.labels, point.service_account.as_deref());
            let m = selector.eval(&get, Match::Yes).min(within);
            out.open |= m == Match::Maybe;
            if m != Match::No {
                out.points.push((p, m));
            }
        }
    };
    match selects {
        Selects::Nothing | Selects::Namespace { zone: None, .. } => {}
        Selects::Namespace { zone: Some(z), selector } => select(&mut out, *z, selector, Match::Yes),
        Selects::Global { namespaces, selector } => {
            for z in 0..u.zones.len() as ZoneId {
                // A policy's `namespaceSelector`: `all()` is rewritten to
                // `has(projectcalico.org/namespace)` (`globalnetworkpolicyprocessor.go`) and
                // `global()` evaluates true (`ast.go`): both hold for every pod.
                let m = namespaces.as_ref().map_or(Match::Yes, |e| e.eval(&ns_get(u, z), Match::Yes));
                out.open |= m == Match::Maybe;
                if m != Match::No {
                    select(&mut out, z, selector, m);
                }
            }
        }
    }
    out
}

impl<'u> Calico<'u> {
    pub fn new(objects: &(impl Manifests + ?Sized), u: &'u Universe) -> (Calico<'u>, Vec<String>) {
        // Each object on its own, on every core, each worker with its own caches (which borrow
        // from the objects of the slice it parsed, so they go with them). Rule selectors pick network sets
        // too: where the objects hold some, a second pass reads the policies knowing them all.
        let open_accounts = u.points.iter().any(|p| p.is_pod() && p.service_account.is_none());
        let pass = |sets: &[NetworkSet]| {
            crate::par::blocks(objects.count(), 512, |range| {
                let (mut items, mut problems) = (Vec::with_capacity(range.len()), Vec::new());
                for slice in crate::analysis::targets::slices(range) {
                    let (values, unread) = objects.values(slice);
                    let converted: Vec<Option<k8s::Converted>> =
                        values.iter().map(|v| k8s::is_kubernetes(v).then(|| k8s::convert(v))).collect();
                    let mut r = Reader::new(u, sets, open_accounts);
                    r.problems.extend(unread);
                    r.reserve(values.len());
                    items.extend(values.iter().zip(&converted).map(|(obj, c)| r.object(obj, c.as_ref())));
                    problems.append(&mut r.problems);
                }
                (items, problems)
            })
        };
        let mut parts = pass(&[]);
        let sets: Vec<NetworkSet> = parts
            .iter_mut()
            .flat_map(|(items, _)| items.iter_mut())
            .filter_map(|item| match std::mem::replace(item, Item::Nothing) {
                Item::NetworkSet(s) => Some(s),
                other => {
                    *item = other;
                    None
                }
            })
            .collect();
        if !sets.is_empty() {
            parts = pass(&sets);
        }
        let mut problems = Vec::new();
        // A later object of the same kind and name replaces an earlier one, as `kubectl apply`
        // of the stream would.
        let mut tiers: BTreeMap<String, Tier> = BTreeMap::new();
        // Policies by (global, key): where each one read lies in `reads` (moving the index, not
        // the policy, as they are found and sorted).
        let mut index: rustc_hash::FxHashMap<(bool, String), usize> = rustc_hash::FxHashMap::default();
        let mut reads: Vec<(bool, Read)> = Vec::new();
        let mut twice = Vec::new();
        for (items, more) in parts {
            problems.extend(more);
            for item in items {
                match item {
                    Item::Tier(t) => {
                        let object = format!("Tier {}", t.name);
                        if tiers.insert(t.name.clone(), t).is_some() {
                            twice.push(object);
                        }
                    }
                    Item::Policy(global, p) => match index.entry((global, p.key.clone())) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            twice.push(p.object.clone());
                            reads[*e.get()].1 = p;
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(reads.len());
                            reads.push((global, p));
                        }
                    },
                    Item::NetworkSet(_) | Item::Nothing => {}
                }
            }
        }
        problems.extend(twice.into_iter().map(|o| format!("{o}: appears twice; the last one counts")));
        tiers.entry(DEFAULT_TIER.to_string()).or_insert_with(|| Tier {
            name: DEFAULT_TIER.to_string(),
            order: Some(DEFAULT_TIER_ORDER),
            pass: false,
            origin: Origin::Manifest {
                object: format!("Tier {DEFAULT_TIER}").into(),
                rule: "spec.defaultAction".to_string(),
                source: None,
            },
        });
        // Tiers in order (`TierLess`): ordered ones first, lower first, ties by name.
        let mut tiers: Vec<Tier> = tiers.into_values().collect();
        tiers.sort_by(|a, b| match (a.order, b.order) {
            (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.name.cmp(&b.name)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.name.cmp(&b.name),
        });
        let tier_index: HashMap<&str, u32> =
            tiers.iter().enumerate().map(|(i, t)| (t.name.as_str(), i as u32)).collect();
        drop(index);
        // By (global, key), as problems are listed; then `PolKVLess`: tier, order, then name
        // (ties of name by global, as the listing left them).
        let mut by_key: Vec<usize> = (0..reads.len()).collect();
        by_key.sort_unstable_by(|&a, &b| (reads[a].0, &reads[a].1.key).cmp(&(reads[b].0, &reads[b].1.key)));
        let mut in_order: Vec<(u32, usize)> = Vec::with_capacity(reads.len());
        for i in by_key {
            let p = &reads[i].1;
            match tier_index.get(p.tier.as_str()) {
                Some(&t) => in_order.push((t, i)),
                // The API server refuses a policy in a tier that does not exist.
                None => problems
                    .push(format!("{}: tier {:?} does not exist; the policy is not read", p.object, p.tier)),
            }
        }
        in_order.sort_by(|&(ta, a), &(tb, b)| {
            let (a, b) = (&reads[a].1, &reads[b].1);
            ta.cmp(&tb).then_with(|| a.order.total_cmp(&b.order)).then_with(|| a.key.cmp(&b.key))
        });
        let mut reads: Vec<Option<Read>> = reads.into_iter().map(|(_, r)| Some(r)).collect();
        let ordered: Vec<(u32, Read)> =
            in_order.into_iter().filter_map(|(t, i)| Some((t, reads[i].take()?))).collect();
        problems.extend(release_dependent_ties(&ordered));
        // Whom each policy selects, on every core; then the lists per zone and point, in policy
        // order, so each stays sorted.
        let selected = crate::par::blocks(ordered.len(), 256, |range| {
            ordered[range].iter().map(|(_, read)| selection(u, &read.selects)).collect::<Vec<_>>()
        });
        let mut zone_policies = vec![Vec::new(); u.zones.len()];
        let mut point_policies = vec![Vec::new(); u.len()];
        let mut policies = Vec::with_capacity(ordered.len());
        for (i, ((tier, mut read), s)) in ordered.into_iter().zip(selected.into_iter().flatten()).enumerate()
        {
            // Entries are `index << 1`, with the low bit set where the policy possibly selects.
            let entry = |m: Match| (i as u32) << 1 | u32::from(m == Match::Maybe);
            for (z, m) in s.zones {
                zone_policies[z as usize].push(entry(m));
            }
            for (p, m) in s.points {
                point_policies[p as usize].push(entry(m));
            }
            if s.open {
                problems.push(format!(
                    "{}: whether it selects some pods depends on labels that are not known (namespace \
                     labels, service accounts); read as possibly selecting them",
                    read.object
                ));
            }
            read.policy.tier = tier;
            policies.push(read.policy);
        }
        let calico = Calico { u, tiers, policies, zone_policies, point_policies };
        (calico, problems)
    }

    /// The policies that apply to a pod, in evaluation order (every direction).
    fn applicable(&self, p: PointId, zone: ZoneId) -> impl Iterator<Item = u32> + '_ {
        let (a, b) = (&self.zone_policies[zone as usize], &self.point_policies[p as usize]);
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || {
            let next = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x <= y => {
                    i += 1;
                    if x == y {
                        j += 1;
                    }
                    x
                }
                (_, Some(&y)) => {
                    j += 1;
                    y
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (None, None) => return None,
            };
            Some(next)
        })
    }

    pub fn side(&self, p: PointId, dir: Direction) -> Side {
        let u = self.u;
        let Some(zone) = u.point(p).zone else { return Side::open() };
        let d = slot(dir);
        let mut steps = Vec::new();
        let mut isolation = Vec::new();
        // The tier being read, and whether some policy of it certainly applies.
        let mut tier: Option<(u32, bool)> = None;
        // The end of a tier. Where its policies only possibly apply, its default Deny possibly
        // applies: a Deny of everything as possibly, then what is left passes on.
        let end = |(t, certain): (u32, bool), steps: &mut Vec<Step>| {
            let tier = &self.tiers[t as usize];
            if !certain && !tier.pass {
                steps.push(Step::Clause(Clause {
                    cover: Arc::new(cap(&Coverage::everything(), Match::Maybe)),
                    ports: PortSet::all(),
                    act: Act::Deny,
                    origin: tier.origin.clone(),
                }));
            }
            steps.push(Step::EndOfTier { pass: tier.pass || !certain, origin: tier.origin.clone() });
        };
        for entry in self.applicable(p, zone) {
            let (i, possibly) = (entry >> 1, entry & 1 == 1);
            let policy = &self.policies[i as usize];
            if !policy.types[d] {
                continue;
            }
            match &mut tier {
                Some((t, certain)) if *t == policy.tier => *certain |= !possibly,
                _ => {
                    if let Some(t) = tier {
                        end(t, &mut steps);
                    }
                    tier = Some((policy.tier, !possibly));
                }
            }
            if !self.tiers[policy.tier as usize].pass {
                isolation.push(policy.origin.clone());
            }
            for rule in &policy.rules[d] {
                let clause = match &rule.own {
                    None => &rule.clause,
                    Some(own) => match own.get(u, p) {
                        Match::Yes => &rule.clause,
                        Match::Maybe => rule.capped.as_deref().unwrap_or(&rule.clause),
                        Match::No => continue,
                    },
                };
                if possibly {
                    let cover = Arc::new(cap(&clause.cover, Match::Maybe));
                    steps.push(Step::Clause(Clause { cover, ..clause.clone() }));
                } else {
                    steps.push(Step::Clause(clause.clone()));
                }
            }
        }
        let Some(t) = tier else { return Side::open() };
        end(t, &mut steps);
        Side { fold: Fold::Ordered, steps, isolation }
    }
}

/// Policies of one tier with one order that may select the same pod (of one namespace, or
/// global), that have rules, one of them not an Allow, and that Felix orders differently up to v3.31 (by `namespace/name`) and from v3.32
/// (by `name/namespace/kind`, calico#11232): which comes first depends on the release. Read in
/// the order of the earlier releases, and reported. `ordered` is sorted.
fn release_dependent_ties<'a>(ordered: &'a [(u32, Read)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < ordered.len() {
        let (t, first) = &ordered[start];
        let end = start
            + ordered[start..]
                .iter()
                .take_while(|(u, r)| u == t && r.order.total_cmp(&first.order).is_eq())
                .count();
        let group = &ordered[start..end];
        // The group's policies per namespace, in the group's order (by `key`).
        let mut globals: Vec<&Read> = Vec::new();
        let mut by_namespace: BTreeMap<&str, Vec<&Read>> = BTreeMap::new();
        for (_, r) in group {
            match r.namespace.as_deref() {
                None => globals.push(r),
                Some(ns) => by_namespace.entry(ns).or_default().push(r),
            }
        }
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        let mut check = |mut sub: Vec<&'a Read>| {
            // Order only matters between policies with rules, one of which does not allow: allows
            // add up in any order.
            sub.retain(|r| r.policy.rules.iter().any(|rules| !rules.is_empty()));
            let denies =
                |r: &&Read| r.policy.rules.iter().flatten().any(|rule| rule.clause.act != Act::Allow);
            if sub.len() < 2 || !sub.iter().any(denies) {
                return;
            }
            let mut v332 = sub.clone();
            v332.sort_by(|a, b| a.key_v332.cmp(&b.key_v332));
            if sub.iter().zip(&v332).any(|(a, b)| a.key != b.key) {
                reported.extend(sub.iter().map(|r| r.object.as_str()));
            }
        };
        if by_namespace.is_empty() {
            check(globals.clone());
        }
        for members in by_namespace.into_values() {
            let mut sub = globals.clone();
            sub.extend(members);
            sub.sort_by(|a, b| a.key.cmp(&b.key));
            check(sub);
        }
        if !reported.is_empty() {
            let order = if first.order.is_finite() { first.order.to_string() } else { "none".to_string() };
            let mut names: Vec<&str> = reported.iter().copied().take(10).collect();
            let more = format!("and {} more", reported.len().saturating_sub(10));
            if reported.len() > 10 {
                names.push(&more);
            }
            out.push(format!(
                "{}: share order {order} in one tier, and Calico up to v3.31 (by namespace/name) and from \
                 v3.32 (by name/namespace/kind) put them in different orders; read in the order of v3.31",
                names.join(", ")
            ));
        }
        start = end;
    }
    out
}

impl Semantics for Calico<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        Calico::side(self, p, dir)
    }
}

#[cfg(test)]
mod tests;
