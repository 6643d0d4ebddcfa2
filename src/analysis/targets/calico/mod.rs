//! Calico's reading of `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier
//! objects, written from projectcalico/calico's API types and conversion code and from
//! docs.tigera.io, never from the backend's code.
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
//! Endpoints. Only pods are Calico endpoints here: host endpoints, network sets and services
//! are not modelled (no such objects exist), so a point that is not a pod is never policed
//! (its side is open) and no selector picks it. A pod's labels, as selectors see them
//! (`workload_endpoint_default.go`, `conversion.go`), are its own, plus
//! `projectcalico.org/namespace` and `projectcalico.org/orchestrator: k8s`, plus its namespace
//! profile's labels prefixed `pcns.` (the namespace's labels and `projectcalico.org/name`), plus
//! its service account's (`projectcalico.org/serviceaccount`, `pcsa.*`), which the source does
//! not know. A namespace is known by its name only: `projectcalico.org/name`, and
//! `kubernetes.io/metadata.name`, which the API server sets; any other label is open.
//!
//! Addresses. `nets`/`notNets` decide exactly for address points (`Role::World`,
//! `Role::Address`), through [`Universe::addresses_in`]; whether a pod's, the node's or the API
//! server's address lies in a network is open (Calico matches pod addresses too, calico#6634).
//!
//! Objects the API server would reject, and fields that mean nothing the source can say, are
//! reported as problems, never panicked on; the reading given for each says what was assumed.

mod selector;

pub use selector::{parse as parse_selector, tokenize, Expr, Lookup, Tok};

use super::{object_name, origin, Manifests, Reading};
use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{by_majority, Act, Clause, Coverage, Fold, Match, Origin, Side, Step};
use crate::analysis::universe::{Kind, PointId, Universe, ZoneId, NAMESPACE_NAME_LABEL};
use crate::backend::ANNOTATION_SOURCE;
use crate::ir::{Direction, PortMatch, PortRule, Ports, Protocol};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub const API_VERSION: &str = "projectcalico.org/v3";
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
    object: String,
    /// The object's `netpol/source` annotation.
    source: Option<&'a str>,
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
    /// Felix's name: `namespace/name`, or `name` for a GlobalNetworkPolicy.
    key: String,
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

// The caches' hasher: Fx (rustc's). The keys come from one set of manifests; a collision
// only costs a comparison.
use rustc_hash::FxHasher as Fx;

type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Keys that carry their own hash, computed once (tables re-hash on growth).
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached: the keys write their hash alone.
        let mut fx = Fx::with_seed(self.0 as usize);
        fx.write(bytes);
        self.0 = fx.finish();
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

type PrehashedMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Prehashed>>;

/// A JSON value, hashed by its content (equal values, as `==` says, hash alike).
fn hash_value<H: std::hash::Hasher>(v: &Value, h: &mut H) {
    use std::hash::Hash;
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        Value::Number(n) => {
            h.write_u8(3);
            match (n.as_u64(), n.as_i64()) {
                (Some(x), _) => h.write_u64(x),
                (None, Some(x)) => h.write_i64(x),
                (None, None) => h.write_u64(n.as_f64().unwrap_or_default().to_bits()),
            }
        }
        Value::String(s) => {
            h.write_u8(4);
            s.hash(h);
        }
        Value::Array(items) => {
            h.write_u8(5);
            h.write_usize(items.len());
            items.iter().for_each(|x| hash_value(x, h));
        }
        Value::Object(m) => {
            h.write_u8(6);
            h.write_usize(m.len());
            for (k, x) in m {
                k.hash(h);
                hash_value(x, h);
            }
        }
    }
}

/// An entity rule's deciding fields (all but its ports), borrowed from the manifest, and the
/// scope when its selectors depend on it.
#[derive(Clone, Copy)]
struct EntityKey<'a> {
    hash: u64,
    map: &'a Map<String, Value>,
    scope: Option<Scope>,
}

impl<'a> EntityKey<'a> {
    fn new(map: &'a Map<String, Value>, scope: Option<Scope>) -> EntityKey<'a> {
        use std::hash::{Hash, Hasher};
        let mut h = Fx::default();
        for (k, v) in map.iter().filter(|(k, _)| *k != "ports" && *k != "notPorts") {
            k.hash(&mut h);
            hash_value(v, &mut h);
        }
        scope.hash(&mut h);
        EntityKey { hash: h.finish(), map, scope }
    }

    fn fields(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.map.iter().filter(|(k, _)| *k != "ports" && *k != "notPorts")
    }
}

impl std::hash::Hash for EntityKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for EntityKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.scope == other.scope && self.fields().eq(other.fields())
    }
}

impl Eq for EntityKey<'_> {}

/// The fields that decide a rule's ports, borrowed from the manifest.
#[derive(Clone, Copy)]
struct PortsKey<'a> {
    hash: u64,
    fields: [Option<&'a Value>; 5],
}

impl<'a> PortsKey<'a> {
    fn new(fields: [Option<&'a Value>; 5]) -> PortsKey<'a> {
        use std::hash::Hasher;
        let mut h = Fx::default();
        for v in fields {
            match v {
                Some(v) => hash_value(v, &mut h),
                None => h.write_u8(0xff),
            }
        }
        PortsKey { hash: h.finish(), fields }
    }
}

impl std::hash::Hash for PortsKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for PortsKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.fields == other.fields
    }
}

impl Eq for PortsKey<'_> {}

/// Reads objects that live for `'a`; its caches borrow their keys from them.
struct Reader<'u, 'a> {
    u: &'u Universe,
    problems: Vec<String>,
    selectors: FastMap<&'a str, Result<Arc<Expr>, String>>,
    entities: PrehashedMap<EntityKey<'a>, Arc<Entity>>,
    port_sets: PrehashedMap<PortsKey<'a>, Arc<(PortSet, Vec<String>)>>,
    everything: Arc<Coverage>,
    all_zones: Vec<(ZoneId, Match)>,
    zones_by_name: HashMap<&'u str, ZoneId>,
}

/// One object as read.
enum Item {
    Tier(Tier),
    /// Whether it is a GlobalNetworkPolicy, and the policy.
    Policy(bool, Read),
    Nothing,
}

impl<'u> Calico<'u> {
    pub fn new(objects: &(impl Manifests + ?Sized), u: &'u Universe) -> (Calico<'u>, Vec<String>) {
        // Each object on its own, on every core, each worker with its own caches (which borrow
        // from the block's objects, so they go with them).
        let parts = crate::par::blocks(objects.count(), 512, |range| {
            let (values, unread) = objects.values(range);
            let mut r = Reader::new(u);
            r.problems.extend(unread);
            r.reserve(values.len());
            let items: Vec<Item> = values.iter().map(|obj| r.object(obj)).collect();
            let problems = std::mem::take(&mut r.problems);
            drop(r);
            (items, problems)
        });
        let mut problems = Vec::new();
        // A later object of the same kind and name replaces an earlier one, as `kubectl apply`
        // of the stream would.
        let mut tiers: BTreeMap<String, Tier> = BTreeMap::new();
        let mut reads: BTreeMap<(bool, String), Read> = BTreeMap::new();
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
                    Item::Policy(global, p) => {
                        let object = p.object.clone();
                        if reads.insert((global, p.key.clone()), p).is_some() {
                            twice.push(object);
                        }
                    }
                    Item::Nothing => {}
                }
            }
        }
        problems.extend(twice.into_iter().map(|o| format!("{o}: appears twice; the last one counts")));
        tiers.entry(DEFAULT_TIER.to_string()).or_insert_with(|| Tier {
            name: DEFAULT_TIER.to_string(),
            order: Some(DEFAULT_TIER_ORDER),
            pass: false,
            origin: Origin::Manifest {
                object: format!("Tier {DEFAULT_TIER}"),
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
        let mut ordered: Vec<(u32, Read)> = Vec::new();
        for p in reads.into_values() {
            match tier_index.get(p.tier.as_str()) {
                Some(&t) => ordered.push((t, p)),
                // The API server refuses a policy in a tier that does not exist.
                None => problems
                    .push(format!("{}: tier {:?} does not exist; the policy is not read", p.object, p.tier)),
            }
        }
        // `PolKVLess`: order, then name.
        ordered.sort_by(|(ta, a), (tb, b)| {
            ta.cmp(tb).then_with(|| a.order.total_cmp(&b.order)).then_with(|| a.key.cmp(&b.key))
        });
        let mut zone_policies = vec![Vec::new(); u.zones.len()];
        let mut point_policies = vec![Vec::new(); u.len()];
        let mut policies = Vec::with_capacity(ordered.len());
        for (i, (tier, mut read)) in ordered.into_iter().enumerate() {
            let open = std::cell::Cell::new(false);
            let mut select = |zone: ZoneId, selector: &Expr| {
                if *selector == Expr::All {
                    zone_policies[zone as usize].push(i as u32);
                    return;
                }
                let candidates = match selector.hint(is_pod_label) {
                    Some((k, v)) => u.pods_with_label(zone, k, v),
                    None => &u.zone(zone).pods,
                };
                for &p in candidates {
                    match selector.eval(&pod_get(u, zone, &u.point(p).labels), Match::Yes) {
                        Match::Yes => point_policies[p as usize].push(i as u32),
                        Match::Maybe => open.set(true),
                        Match::No => {}
                    }
                }
            };
            match &read.selects {
                Selects::Nothing | Selects::Namespace { zone: None, .. } => {}
                Selects::Namespace { zone: Some(z), selector } => select(*z, selector),
                Selects::Global { namespaces, selector } => {
                    for z in 0..u.zones.len() as ZoneId {
                        // A policy's `namespaceSelector`: `all()` is rewritten to
                        // `has(projectcalico.org/namespace)` (`globalnetworkpolicyprocessor.go`)
                        // and `global()` evaluates true (`ast.go`): both hold for every pod.
                        let m = namespaces.as_ref().map_or(Match::Yes, |e| e.eval(&ns_get(u, z), Match::Yes));
                        match m {
                            Match::Yes => select(z, selector),
                            Match::Maybe => open.set(true),
                            Match::No => {}
                        }
                    }
                }
            }
            if open.get() {
                problems.push(format!(
                    "{}: whether it selects some pods depends on labels the source does not know \
                     (namespace labels besides the name, service accounts); read as not selecting them",
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
        let mut tier: Option<u32> = None;
        let end = |t: u32| {
            let tier = &self.tiers[t as usize];
            Step::EndOfTier { pass: tier.pass, origin: tier.origin.clone() }
        };
        for i in self.applicable(p, zone) {
            let policy = &self.policies[i as usize];
            if !policy.types[d] {
                continue;
            }
            if tier != Some(policy.tier) {
                if let Some(t) = tier {
                    steps.push(end(t));
                }
                tier = Some(policy.tier);
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
                steps.push(Step::Clause(clause.clone()));
            }
        }
        let Some(t) = tier else { return Side::open() };
        steps.push(end(t));
        Side { fold: Fold::Ordered, steps, isolation }
    }
}

impl Semantics for Calico<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        Calico::side(self, p, dir)
    }
}

/// Whether a key is one of the pod's own labels (the universe indexes those), rather than one
/// Calico adds.
fn is_pod_label(k: &str) -> bool {
    !(k == LABEL_NAMESPACE
        || k == LABEL_ORCHESTRATOR
        || k == LABEL_SERVICE_ACCOUNT
        || k.starts_with(NS_PREFIX)
        || k.starts_with(SA_PREFIX))
}

/// A pod's labels as Calico's selectors see them (see the module comment).
fn pod_get<'a>(
    u: &'a Universe,
    zone: ZoneId,
    labels: &'a BTreeMap<String, String>,
) -> impl Fn(&str) -> Lookup<'a> {
    move |k: &str| match k {
        LABEL_NAMESPACE => Lookup::Known(Some(u.zone(zone).name.as_str())),
        LABEL_ORCHESTRATOR => Lookup::Known(Some("k8s")),
        LABEL_SERVICE_ACCOUNT => Lookup::Unknown,
        _ if k.starts_with(SA_PREFIX) => Lookup::Unknown,
        _ => match k.strip_prefix(NS_PREFIX) {
            Some(ns_key) => ns_get(u, zone)(ns_key),
            None => Lookup::Known(labels.get(k).map(String::as_str)),
        },
    }
}

/// A namespace's labels as a namespace selector sees them (its keys are matched with the
/// `pcns.` prefix against the profile's labels, `rules.go`, `conversion.go`).
fn ns_get<'a>(u: &'a Universe, zone: ZoneId) -> impl Fn(&str) -> Lookup<'a> + 'a {
    let z = u.zone(zone);
    move |k: &str| {
        if k == NAMESPACE_NAME {
            Lookup::Known(Some(z.name.as_str()))
        } else {
            match z.label(k) {
                Some(v) => Lookup::Known(v),
                None => Lookup::Unknown,
            }
        }
    }
}

// ---- coverage algebra ------------------------------------------------------------------------

fn map_cover(c: &Coverage, f: impl Fn(Match) -> Match) -> Coverage {
    Coverage {
        kinds: c.kinds.map(&f),
        zones: c.zones.iter().map(|&(z, m)| (z, f(m))).collect(),
        points: c.points.iter().map(|&(p, m)| (p, f(m))).collect(),
    }
}

fn negate(c: &Coverage) -> Coverage {
    map_cover(c, |m| match m {
        Match::Yes => Match::No,
        Match::No => Match::Yes,
        Match::Maybe => Match::Maybe,
    })
}

fn cap(c: &Coverage, at: Match) -> Coverage {
    map_cover(c, |m| m.min(at))
}

/// The points both cover, each as far as the nearer one covers it.
fn and(a: &Coverage, b: &Coverage, u: &Universe) -> Coverage {
    let kinds = std::array::from_fn(|i| a.kinds[i].min(b.kinds[i]));
    let mut zones: Vec<ZoneId> = a.zones.iter().chain(&b.zones).map(|z| z.0).collect();
    zones.sort_unstable();
    zones.dedup();
    let mut points: Vec<PointId> = a.points.iter().chain(&b.points).map(|p| p.0).collect();
    points.sort_unstable();
    points.dedup();
    Coverage {
        kinds,
        zones: zones.into_iter().map(|z| (z, a.zone_match(z).min(b.zone_match(z)))).collect(),
        points: points.into_iter().map(|p| (p, a.get(u, p).min(b.get(u, p)))).collect(),
    }
}

/// Drops zone and point entries that say what their fallback says.
fn normalize(mut c: Coverage, u: &Universe) -> Coverage {
    let (pods, zones) = by_majority(&c.kinds[Kind::Pod.index()], std::mem::take(&mut c.zones), u.zones.len());
    c.kinds[Kind::Pod.index()] = pods;
    c.zones = zones;
    let points = std::mem::take(&mut c.points);
    c.points = points
        .into_iter()
        .filter(|&(p, m)| {
            let point = u.point(p);
            let fallback = match point.zone {
                Some(z) => c.zone_match(z),
                None => c.kinds[point.kind().index()],
            };
            m != fallback
        })
        .collect();
    c
}

impl<'u, 'a> Reader<'u, 'a> {
    fn new(u: &'u Universe) -> Reader<'u, 'a> {
        Reader {
            u,
            problems: Vec::new(),
            selectors: FastMap::default(),
            entities: PrehashedMap::default(),
            port_sets: PrehashedMap::default(),
            everything: Arc::new(Coverage::everything()),
            all_zones: (0..u.zones.len() as ZoneId).map(|z| (z, Match::Yes)).collect(),
            zones_by_name: u.zones.iter().enumerate().map(|(i, z)| (z.name.as_str(), i as ZoneId)).collect(),
        }
    }

    /// Room in the caches for about `objects` policies.
    fn reserve(&mut self, objects: usize) {
        self.selectors.reserve(objects * 2);
        self.entities.reserve(objects * 4);
        self.port_sets.reserve(64);
    }

    fn object(&mut self, obj: &'a Value) -> Item {
        if obj["apiVersion"] != API_VERSION {
            let what = format!("apiVersion {} is not {API_VERSION}; not read", obj["apiVersion"]);
            self.problem(&object_name(obj), what);
            return Item::Nothing;
        }
        match obj["kind"].as_str() {
            Some("Tier") => self.tier(obj).map_or(Item::Nothing, Item::Tier),
            Some(kind @ ("NetworkPolicy" | "GlobalNetworkPolicy")) => {
                let global = kind == "GlobalNetworkPolicy";
                self.policy(obj, global).map_or(Item::Nothing, |p| Item::Policy(global, p))
            }
            _ => {
                let what = format!("kind {} is not read", obj["kind"]);
                self.problem(&object_name(obj), what);
                Item::Nothing
            }
        }
    }

    fn problem(&mut self, object: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{object}: {what}"));
    }

    fn tier(&mut self, obj: &Value) -> Option<Tier> {
        let object = object_name(obj);
        let Some(name) = obj["metadata"]["name"].as_str() else {
            self.problem(&object, "no metadata.name; not read");
            return None;
        };
        let spec = match &obj["spec"] {
            Value::Object(m) => m,
            Value::Null => empty_map(),
            _ => {
                self.problem(&object, "spec is not an object; not read");
                return None;
            }
        };
        for k in spec.keys() {
            if k != "order" && k != "defaultAction" {
                self.problem(&object, format_args!("spec.{k} is not read"));
            }
        }
        // `defaultAction`: "[Default: Deny]", `Enum=Pass;Deny` (`tier.go`).
        let pass = match spec.get("defaultAction") {
            None | Some(Value::Null) => false,
            Some(v) if v == "Deny" => false,
            Some(v) if v == "Pass" => true,
            Some(v) => {
                self.problem(
                    &object,
                    format_args!("defaultAction {v} is neither Deny nor Pass; read as Deny"),
                );
                false
            }
        };
        let order = match spec.get("order") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(o) => Some(o),
                None => {
                    self.problem(&object, format_args!("order {v} is not a number; read as last"));
                    None
                }
            },
        };
        let origin = origin(obj, "spec.defaultAction".to_string(), None);
        Some(Tier { name: name.to_string(), order, pass, origin })
    }

    /// A selector field (`what` names it in problems). The empty string is no selector, as in
    /// Go (`!= ""` throughout `rules.go`).
    fn selector_field(&mut self, v: Option<&'a Value>, what: &str, problems: &mut Vec<String>) -> Field {
        let text = match v {
            None | Some(Value::Null) => return Field::Absent,
            Some(Value::String(s)) if s.is_empty() => return Field::Absent,
            Some(Value::String(s)) => s,
            Some(other) => {
                problems.push(format!("{what} {other} is not a string; read as matching nothing"));
                return Field::Bad;
            }
        };
        if text.len() > 1024 {
            // `maxLength` of every selector field in the v3 CRDs.
            problems.push(format!("{what} is longer than 1024 characters; the API server refuses it"));
        }
        let parsed =
            self.selectors.entry(text.as_str()).or_insert_with(|| parse_selector(text).map(Arc::new));
        match parsed {
            Ok(e) => Field::Parsed(e.clone()),
            Err(e) => {
                problems.push(format!("{what} `{text}` does not parse ({e}); read as matching nothing"));
                Field::Bad
            }
        }
    }

    fn policy(&mut self, obj: &'a Value, global: bool) -> Option<Read> {
        let object = object_name(obj);
        let Some(name) = obj["metadata"]["name"].as_str() else {
            self.problem(&object, "no metadata.name; not read");
            return None;
        };
        let namespace = obj["metadata"]["namespace"].as_str();
        let (key, scope) = match (global, namespace) {
            (false, Some(ns)) => {
                (format!("{ns}/{name}"), Scope::Namespace(self.zones_by_name.get(ns).copied()))
            }
            (false, None) => {
                self.problem(&object, "a NetworkPolicy without metadata.namespace; not read");
                return None;
            }
            (true, ns) => {
                if ns.is_some() {
                    self.problem(
                        &object,
                        "a GlobalNetworkPolicy has no namespace; metadata.namespace ignored",
                    );
                }
                (name.to_string(), Scope::Global)
            }
        };
        let spec = match &obj["spec"] {
            Value::Object(m) => m,
            Value::Null => empty_map(),
            _ => {
                self.problem(&object, "spec is not an object; not read");
                return None;
            }
        };
        let mut problems = Vec::new();
        let mut selects_nothing = false;
        for k in spec.keys() {
            match k.as_str() {
                "tier" | "order" | "selector" | "types" | "ingress" | "egress" | "applyOnForward"
                | "performanceHints" => {}
                "namespaceSelector" if global => {}
                "namespaceSelector" => problems.push(
                    "a NetworkPolicy has no spec.namespaceSelector (the API server refuses it); ignored"
                        .to_string(),
                ),
                "serviceAccountSelector" => {
                    problems.push(
                        "spec.serviceAccountSelector picks pods by service account, which the source does \
                         not know; read as selecting no pod"
                            .to_string(),
                    );
                    selects_nothing = true;
                }
                // Untracked and pre-DNAT policies are host endpoint policies (docs.tigera.io,
                // "Summary of host endpoint policies", "Pre-DNAT policy"): not a pod's own.
                "doNotTrack" | "preDNAT" => {
                    if spec.get(k) == Some(&Value::Bool(true)) {
                        problems.push(format!(
                            "spec.{k}: applies to host endpoints only; read as selecting no pod"
                        ));
                        selects_nothing = true;
                    }
                }
                other => problems.push(format!("spec.{other} is not read")),
            }
        }
        let tier = match spec.get("tier") {
            None | Some(Value::Null) => DEFAULT_TIER.to_string(),
            Some(Value::String(t)) if t.is_empty() => DEFAULT_TIER.to_string(),
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                problems.push(format!("spec.tier {other} is not a string; read as the default tier"));
                DEFAULT_TIER.to_string()
            }
        };
        // "If the order is omitted, it may be considered to be 'infinite'" (`networkpolicy.go`).
        let order = match spec.get("order") {
            None | Some(Value::Null) => f64::INFINITY,
            Some(v) => v.as_f64().unwrap_or_else(|| {
                problems.push(format!("spec.order {v} is not a number; read as infinite"));
                f64::INFINITY
            }),
        };
        let selector = match self.selector_field(spec.get("selector"), "spec.selector", &mut problems) {
            Field::Absent => Some(Arc::new(Expr::All)),
            Field::Parsed(e) => Some(e),
            Field::Bad => None,
        };
        let namespaces = if global {
            match self.selector_field(spec.get("namespaceSelector"), "spec.namespaceSelector", &mut problems)
            {
                Field::Absent => Some(None),
                Field::Parsed(e) => Some(Some(e)),
                Field::Bad => None,
            }
        } else {
            Some(None)
        };
        let selects = match (selects_nothing, selector, namespaces, scope) {
            (false, Some(selector), Some(None), Scope::Namespace(zone)) => {
                Selects::Namespace { zone, selector }
            }
            (false, Some(selector), Some(namespaces), Scope::Global) => {
                Selects::Global { namespaces, selector }
            }
            _ => Selects::Nothing,
        };
        // Where rules come from, as `targets::origin` says it: the object, and the `file:line`
        // of the rule's own annotation, else the object's.
        let at =
            At { object: object.clone(), source: obj["metadata"]["annotations"][ANNOTATION_SOURCE].as_str() };
        let mut rules: [Vec<Rule>; 2] = [Vec::new(), Vec::new()];
        let mut present = [false, false];
        for d in 0..2 {
            let key = DIRS[d];
            match spec.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => {
                    present[d] = !list.is_empty();
                    rules[d].reserve(list.len());
                    for (i, r) in list.iter().enumerate() {
                        if let Some(rule) = self.rule(&at, scope, d, i, r, &mut problems) {
                            push_merged(&mut rules[d], rule, self.u);
                        }
                    }
                }
                Some(_) => problems.push(format!("spec.{key} is not a list; no rules read")),
            }
        }
        // Left out (or empty), `types` is [Ingress] with no egress rules, [Egress] with egress
        // rules and no ingress rules, both with both (`networkpolicy.go`, `Types`).
        let types = match spec.get("types") {
            Some(Value::Array(t)) if !t.is_empty() => {
                let mut types = [false, false];
                for x in t {
                    // Felix compares them case-insensitively (`ExtractPolicyMetadata`).
                    match x.as_str().map(str::to_ascii_lowercase).as_deref() {
                        Some("ingress") => types[0] = true,
                        Some("egress") => types[1] = true,
                        _ => problems.push(format!("spec.types: {x} is neither Ingress nor Egress")),
                    }
                }
                types
            }
            None | Some(Value::Null) | Some(Value::Array(_)) => [!present[1] || present[0], present[1]],
            Some(other) => {
                problems.push(format!("spec.types {other} is not a list; defaulted from the rules"));
                [!present[1] || present[0], present[1]]
            }
        };
        for d in 0..2 {
            if present[d] && !types[d] {
                problems.push(format!(
                    "spec.{} has rules but spec.types has no {}; they never apply",
                    DIRS[d],
                    if d == 0 { "Ingress" } else { "Egress" }
                ));
            }
        }
        for p in problems {
            self.problem(&object, p);
        }
        let policy = Policy { tier: 0, types, rules, origin: origin(obj, "spec.selector".to_string(), None) };
        Some(Read { key, object, tier, order, selects, policy })
    }

    /// One rule, or `None` where it decides nothing (Log, no modelled port, no endpoint).
    fn rule(
        &mut self,
        at: &At,
        scope: Scope,
        d: usize,
        i: usize,
        r: &'a Value,
        problems: &mut Vec<String>,
    ) -> Option<Rule> {
        let path = || format!("spec.{}[{i}]", DIRS[d]);
        let Some(m) = r.as_object() else {
            problems.push(format!("{} is not an object; not read", path()));
            return None;
        };
        // Every field in one pass.
        let (mut action, mut source, mut destination, mut ip_version) = (None, None, None, None);
        let (mut protocol, mut not_protocol, mut icmp, mut metadata) = (None, None, None, None);
        let mut open = false;
        for (k, v) in m {
            match k.as_str() {
                "action" => action = Some(v),
                "source" => source = Some(v),
                "destination" => destination = Some(v),
                "ipVersion" => ip_version = Some(v).filter(|v| !v.is_null()),
                "protocol" => protocol = Some(v).filter(|v| !v.is_null()),
                "notProtocol" => not_protocol = Some(v).filter(|v| !v.is_null()),
                "icmp" => icmp = Some(v).filter(|v| !v.is_null()),
                "metadata" => metadata = Some(v),
                "notICMP" => {}
                "http" => {
                    problems.push(format!(
                        "{}.http matches requests, which the source cannot say; read as open",
                        path()
                    ));
                    open = true;
                }
                other => {
                    problems.push(format!("{}.{other} is not read; the rule is read as open", path()));
                    open = true;
                }
            }
        }
        let act = match action.and_then(Value::as_str) {
            Some("Allow") => Act::Allow,
            Some("Deny") => Act::Deny,
            Some("Pass") => Act::Pass,
            // Log goes on to the next rule: it decides nothing.
            Some("Log") => return None,
            _ => {
                let action = action.unwrap_or(&Value::Null);
                problems
                    .push(format!("{}.action {action} is not Allow, Deny, Pass or Log; not read", path()));
                return None;
            }
        };
        let ports = self.ports([protocol, not_protocol, icmp], destination.and_then(Value::as_object));
        problems.extend(ports.1.iter().map(|p| format!("{}.{p}", path())));
        if let Some(source) = source.and_then(Value::as_object) {
            for key in ["ports", "notPorts"] {
                if source.get(key).and_then(Value::as_array).is_some_and(|l| !l.is_empty()) {
                    problems.push(format!(
                        "{}.source.{key} restricts the connection's source port, which the source cannot \
                         say; read as open",
                        path()
                    ));
                    open = true;
                }
            }
        }
        // A rule's destination ports are the connection's destination port in either direction:
        // on the policed pod for ingress, on the peer for egress.
        let ((peer, peer_key), (own, own_key)) = if d == 0 {
            ((source, "source"), (destination, "destination"))
        } else {
            ((destination, "destination"), (source, "source"))
        };
        // A Service may only be the peer (an ingress rule's source, an egress rule's
        // destination), and a destination Service takes the Service's own ports
        // (`validateNetworkPolicy`, `validateRule`).
        let has_services = |v: Option<&Value>| v.is_some_and(|v| !v["services"].is_null());
        if has_services(own) {
            problems.push(format!("{}.{own_key}.services: Calico refuses a Service there; not read", path()));
            return None;
        }
        if d == 1
            && has_services(peer)
            && ["ports", "notPorts"].iter().any(|k| peer.is_some_and(|v| !v[*k].is_null()))
        {
            problems.push(format!(
                "{}.destination: Calico refuses ports beside services (the Service's ports count); not read",
                path()
            ));
            return None;
        }
        let peer = self.entity(peer, scope, problems, &|| format!("{}.{peer_key}", path()));
        let own = self.entity(own, scope, problems, &|| format!("{}.{own_key}", path()));
        if ports.0.is_empty() {
            return None;
        }
        let mut cover = peer.unwrap_or_else(|| self.everything.clone());
        if let Some(v) = ip_version {
            match v.as_u64() {
                Some(version @ (4 | 6)) => {
                    cover = Arc::new(normalize(and(&cover, &self.family(version), self.u), self.u))
                }
                _ => problems.push(format!("{}.ipVersion {v} is neither 4 nor 6; ignored", path())),
            }
        }
        if open {
            cover = Arc::new(cap(&cover, Match::Maybe));
        }
        if cover.is_none() || own.as_ref().is_some_and(|c| c.is_none()) {
            return None;
        }
        let own_source = metadata.and_then(|x| x["annotations"][ANNOTATION_SOURCE].as_str());
        let origin = Origin::Manifest {
            object: at.object.clone(),
            rule: path(),
            source: own_source.or(at.source).map(|s| s.split(',').next().unwrap_or(s).trim().to_string()),
        };
        let clause = Clause { cover, ports: ports.0.clone(), act, origin };
        let capped = own.as_ref().map(|_| {
            Box::new(Clause { cover: Arc::new(cap(&clause.cover, Match::Maybe)), ..clause.clone() })
        });
        Some(Rule { clause, own, capped })
    }

    /// The address points of one IP version, and every other point maybe (a pod, the node and
    /// the API server may have addresses of both).
    fn family(&self, version: u64) -> Coverage {
        let all: IpNet = if version == 4 { "0.0.0.0/0" } else { "::/0" }.parse().expect("a network");
        let mut c = Coverage::points(self.u.addresses_in(&all).map(|(_, p)| (p, Match::Yes)));
        for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
            c.kinds[k.index()] = Match::Maybe;
        }
        c
    }

    /// The ports a rule matches, read once per distinct shape, with problems relative to the
    /// rule.
    fn ports(
        &mut self,
        [protocol, not_protocol, icmp]: [Option<&'a Value>; 3],
        destination: Option<&'a Map<String, Value>>,
    ) -> Arc<(PortSet, Vec<String>)> {
        let (mut ports, mut not_ports) = (None, None);
        for (k, v) in destination.into_iter().flatten() {
            match k.as_str() {
                "ports" => ports = Some(v).filter(|v| !v.is_null()),
                "notPorts" => not_ports = Some(v).filter(|v| !v.is_null()),
                _ => {}
            }
        }
        let key = PortsKey::new([protocol, not_protocol, icmp, ports, not_ports]);
        if let Some(p) = self.port_sets.get(&key) {
            return p.clone();
        }
        let mut problems = Vec::new();
        let set = Arc::new((port_set(key.fields, &mut problems), problems));
        self.port_sets.insert(key, set.clone());
        set
    }

    /// An entity rule's conditions on one endpoint, but its ports; `None` when it has none.
    /// `at` names it in problems.
    fn entity(
        &mut self,
        v: Option<&'a Value>,
        scope: Scope,
        problems: &mut Vec<String>,
        at: &dyn Fn() -> String,
    ) -> Option<Arc<Coverage>> {
        let m = match v {
            None | Some(Value::Null) => return None,
            Some(Value::Object(m)) => m,
            Some(other) => {
                problems.push(format!("{} {other} is not an object; read as matching nothing", at()));
                return Some(Arc::new(Coverage::none()));
            }
        };
        // The cache key: the fields that decide, and the scope where selectors depend on it.
        // A namespaceSelector makes the rest independent of the scope (see `read_entity`).
        let namespaced = match m.get("namespaceSelector") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
        let mut scoped = false;
        let mut deciding = false;
        for k in m.keys() {
            match k.as_str() {
                "ports" | "notPorts" => continue,
                "selector" | "notSelector" | "namespaceSelector" | "serviceAccounts" => scoped = !namespaced,
                _ => {}
            }
            deciding = true;
        }
        if !deciding {
            return None;
        }
        let key = EntityKey::new(m, scoped.then_some(scope));
        let entity = match self.entities.get(&key) {
            Some(e) => e.clone(),
            None => {
                let e = Arc::new(self.read_entity(m, scope));
                self.entities.insert(key, e.clone());
                e
            }
        };
        if !entity.problems.is_empty() {
            let at = at();
            problems.extend(entity.problems.iter().map(|p| format!("{at}: {p}")));
        }
        entity.cover.clone()
    }

    /// `EntityRule` (`policy_common.go`), every field but the ports: all of them must hold.
    fn read_entity(&mut self, m: &'a Map<String, Value>, scope: Scope) -> Entity {
        let u = self.u;
        let mut problems = Vec::new();
        let mut conditions: Vec<Coverage> = Vec::new();
        let mut nothing = false;
        let mut open = false;
        for k in m.keys() {
            match k.as_str() {
                "nets" | "notNets" | "selector" | "notSelector" | "namespaceSelector" | "ports"
                | "notPorts" | "serviceAccounts" => {}
                "services" => {}
                other => {
                    problems.push(format!("{other} is not read; read as open"));
                    open = true;
                }
            }
        }
        // nets / notNets: the endpoint's address. An empty list is no condition
        // (`len(nets) == 0`, `rules.go`).
        for (key, positive) in [("nets", true), ("notNets", false)] {
            let Some(list) = m.get(key).filter(|v| !v.is_null()) else { continue };
            let Some(list) = list.as_array() else {
                problems.push(format!("{key} {list} is not a list; read as matching nothing"));
                nothing = true;
                continue;
            };
            let mut nets = Vec::new();
            for n in list {
                match n.as_str().and_then(parse_net) {
                    Some(net) => nets.push(net),
                    None => problems.push(format!("{key}: {n} is not a network; left out")),
                }
            }
            if !nets.is_empty() {
                conditions.push(if positive {
                    self.nets_cover(&nets)
                } else {
                    negate(&self.nets_cover(&nets))
                });
            }
        }
        // services: the endpoints of a Service. Calico refuses it beside any other field that
        // picks endpoints (`validateEntityRule`, libcalico-go's v3 validator). The one Service
        // the source names is the API server's, `kubernetes` in `default`; others are not
        // modelled.
        if let Some(services) = m.get("services").filter(|v| !v.is_null()) {
            let beside: Vec<&str> =
                ["selector", "notSelector", "namespaceSelector", "serviceAccounts", "nets", "notNets"]
                    .into_iter()
                    .filter(|k| {
                        m.get(*k).is_some_and(|v| !v.is_null() && v != "" && v != &Value::Array(vec![]))
                    })
                    .collect();
            if !beside.is_empty() {
                problems.push(format!(
                    "services beside {}: Calico refuses the rule; read as matching nothing",
                    beside.join(", ")
                ));
                nothing = true;
            } else if services["name"] == "kubernetes" && services["namespace"] == "default" {
                conditions.push(Coverage::points([(u.api_server(), Match::Yes)]));
            } else {
                problems.push(format!(
                    "services {services} picks a Service's endpoints, which are not modelled; read as open"
                ));
                open = true;
            }
        }
        let selector = self.selector_field(m.get("selector"), "selector", &mut problems);
        let not_selector = self.selector_field(m.get("notSelector"), "notSelector", &mut problems);
        let namespaces = self.selector_field(m.get("namespaceSelector"), "namespaceSelector", &mut problems);
        let accounts = m.get("serviceAccounts").is_some_and(|v| !v.is_null());
        if accounts {
            problems.push("serviceAccounts picks pods by service account, which the source does not know; read as maybe".into());
        }
        if [&selector, &not_selector, &namespaces].iter().any(|f| matches!(f, Field::Bad)) {
            nothing = true;
        } else {
            let present = |f: &Field| matches!(f, Field::Parsed(_));
            // `getEndpointSelector` (`rules.go`): the namespace part is the namespaceSelector,
            // else the NetworkPolicy's own namespace, else none (a GlobalNetworkPolicy); it
            // restricts the endpoints "as soon as _any_ of the selector fields are used,
            // including NotSelector". The notSelector itself is not namespaced.
            let ns_part = present(&namespaces) || matches!(scope, Scope::Namespace(_));
            let positive = present(&selector)
                || accounts
                || (ns_part && (present(&not_selector) || present(&namespaces)));
            if positive {
                let zones: Vec<(ZoneId, Match)> = match (&namespaces, scope) {
                    // A rule's namespaceSelector: `all()` becomes "in some namespace" and
                    // `global()` "in none" (`rules.go`).
                    (Field::Parsed(e), _) => {
                        // A selector that requires one name picks that namespace or none.
                        let by_name = e.hint(|k| k == NAMESPACE_NAME || k == NAMESPACE_NAME_LABEL);
                        let candidates: Vec<ZoneId> = match by_name {
                            Some((_, name)) => self.zones_by_name.get(name).copied().into_iter().collect(),
                            None => (0..u.zones.len() as ZoneId).collect(),
                        };
                        candidates
                            .into_iter()
                            .map(|z| (z, e.eval(&ns_get(u, z), Match::No)))
                            .filter(|z| z.1 != Match::No)
                            .collect()
                    }
                    (_, Scope::Namespace(z)) => z.map(|z| (z, Match::Yes)).into_iter().collect(),
                    (_, Scope::Global) => self.all_zones.clone(),
                };
                let sel = match &selector {
                    Field::Parsed(e) => Some(&**e),
                    _ => None,
                };
                let mut c = self.pods_cover(&zones, sel);
                if accounts {
                    c = cap(&c, Match::Maybe);
                }
                conditions.push(c);
            }
            if let Field::Parsed(e) = &not_selector {
                // "Negative match on selected endpoints": everything but the pods it picks,
                // in any namespace.
                conditions.push(negate(&self.pods_cover(&self.all_zones, Some(e))));
            }
        }
        let cover = if nothing {
            Some(Arc::new(Coverage::none()))
        } else {
            let mut cover = conditions.into_iter().reduce(|a, b| and(&a, &b, u));
            if open {
                cover = Some(cap(cover.as_ref().unwrap_or(&Coverage::everything()), Match::Maybe));
            }
            cover.map(|c| Arc::new(normalize(c, u)))
        };
        Entity { cover, problems }
    }

    /// Address points in any of `nets`; pods, the node and the API server maybe.
    fn nets_cover(&self, nets: &[IpNet]) -> Coverage {
        let mut c =
            Coverage::points(nets.iter().flat_map(|n| self.u.addresses_in(n)).map(|(_, p)| (p, Match::Yes)));
        for k in [Kind::Pod, Kind::Host, Kind::ApiServer] {
            c.kinds[k.index()] = Match::Maybe;
        }
        c
    }

    /// The pods of `zones` (each as far as its namespace matches) that `selector` picks
    /// (`None`: every pod). No other point.
    fn pods_cover(&self, zones: &[(ZoneId, Match)], selector: Option<&Expr>) -> Coverage {
        let u = self.u;
        let selector = selector.filter(|e| **e != Expr::All);
        let hint = selector.and_then(|e| e.hint(is_pod_label));
        let none = BTreeMap::new();
        let mut values: Vec<(ZoneId, Match)> = Vec::with_capacity(zones.len());
        let mut points: Vec<(PointId, Match)> = Vec::new();
        for &(z, within) in zones {
            let Some(e) = selector else {
                values.push((z, within));
                continue;
            };
            // The value at pods the zone holds without labels the selector reads; then every
            // pod that differs.
            let base = e.eval(&pod_get(u, z, &none), Match::Yes).min(within);
            values.push((z, base));
            let candidates = match hint {
                Some((k, v)) if base == Match::No => u.pods_with_label(z, k, v),
                _ => &u.zone(z).pods,
            };
            for &p in candidates {
                let m = e.eval(&pod_get(u, z, &u.point(p).labels), Match::Yes).min(within);
                if m != base {
                    points.push((p, m));
                }
            }
        }
        let mut c = Coverage::none();
        let uniform = values.len() == u.zones.len() && values.windows(2).all(|w| w[0].1 == w[1].1);
        match values.first() {
            Some(&(_, m)) if uniform => c.kinds[Kind::Pod.index()] = m,
            _ => {
                values.retain(|z| z.1 != Match::No);
                values.sort_unstable();
                c.zones = values;
            }
        }
        points.sort_unstable();
        c.points = points;
        c
    }
}

/// Adds a rule after the ones before it, merged into the previous one where the two decide as
/// one: the same action and the same conditions on the policed pod, from the same source line
/// (the backend writes one rule per peer and per protocol), and either the same endpoints or
/// the same ports. In the ordered fold two such consecutive clauses decide exactly what one
/// decides:
/// - same endpoints, ports `a` then `b`: the first takes `open ∩ a`, the second
///   `(open − a) ∩ b`, together `open ∩ (a ∪ b)`;
/// - same ports, endpoints `A` then `B`: the pair decides the ports where `A` or `B` hits, and
///   so does one clause over `A ∪ B` (a `Maybe` hits or misses by the action alone, the same
///   for both clauses).
///
/// Sides get fewer steps; the merged origin names every rule (`spec.egress[3,4]`).
fn push_merged(rules: &mut Vec<Rule>, rule: Rule, u: &Universe) {
    rules.push(rule);
    while rules.len() >= 2 {
        let (a, b) = (&rules[rules.len() - 2], &rules[rules.len() - 1]);
        let same_own = match (&a.own, &b.own) {
            (None, None) => true,
            (Some(x), Some(y)) => Arc::ptr_eq(x, y) || x == y,
            _ => false,
        };
        let same_source = match (&a.clause.origin, &b.clause.origin) {
            (Origin::Manifest { source: x, .. }, Origin::Manifest { source: y, .. }) => x == y,
            _ => false,
        };
        if !(a.clause.act == b.clause.act && same_own && same_source) {
            return;
        }
        let same_cover = Arc::ptr_eq(&a.clause.cover, &b.clause.cover) || a.clause.cover == b.clause.cover;
        if !same_cover && a.clause.ports != b.clause.ports {
            return;
        }
        let b = rules.pop().expect("two rules");
        let a = rules.last_mut().expect("two rules");
        if same_cover {
            a.clause.ports = a.clause.ports.union(&b.clause.ports);
        } else {
            a.clause.cover = Arc::new(normalize(a.clause.cover.union(&b.clause.cover, u), u));
        }
        if let (Origin::Manifest { rule: path, .. }, Origin::Manifest { rule: next, .. }) =
            (&mut a.clause.origin, &b.clause.origin)
        {
            if let (Some(i), true) = (next.rfind('['), path.ends_with(']')) {
                path.pop();
                path.push(',');
                path.push_str(&next[i + 1..]);
            }
        }
        if a.capped.is_some() {
            a.capped = Some(Box::new(Clause {
                cover: Arc::new(cap(&a.clause.cover, Match::Maybe)),
                ..a.clause.clone()
            }));
        }
    }
}

/// The ports a rule matches: its protocol (`None` = every protocol) less `notProtocol`, within
/// `destination.ports`, outside `destination.notPorts`. Problems name fields from the rule.
fn port_set(
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
fn protocol_of(v: &Value) -> Option<Proto> {
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
fn port_of(v: &Value) -> Option<PortEntry> {
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
fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests;
