//! The endpoints reachability is computed over: a finite set of representative points that
//! every policy in the program tells apart.
//!
//! - one pod per declared workload, with the labels its selector requires
//!   ([`LabelSelector::representative`]);
//! - for every two workloads of a namespace whose selectors can pick one pod (`app: web` and
//!   `tier: frontend`), a pod both pick, unless one of their own pods already is one (the same
//!   for the pods `workload in namespaces` peers place in other namespaces); see
//!   [`overlap`](super::overlap), and [`Universe::overlap_cut`] where there are too many;
//! - one pod without labels per namespace (a pod no workload declares), and the cluster DNS pod
//!   (`k8s-app: kube-dns` in `kube-system`, [`KUBE_DNS_LABEL`]);
//! - addresses: two outside the cluster by construction (documentation ranges, RFC 5737 and
//!   RFC 3849), and the first and last address of every network a rule or an `expect` names,
//!   and of every `except` in it;
//! - the node the pods run on, and the Kubernetes API server.
//!
//! Each namespace is a *zone*: the namespaces of the program, and `kube-system` even when the
//! program does not name it. A namespace carries exactly one label here, its name
//! (`kubernetes.io/metadata.name`, set by the API server since 1.22).

use super::overlap;
use crate::ir::{
    CidrBlock, Entity, LabelSelector, NamespaceId, Peer, Program, WorkloadId, KUBE_DNS_LABEL,
    KUBE_DNS_NAMESPACE,
};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Index of a point in [`Universe::points`].
pub type PointId = u32;
/// Index of a namespace in [`Universe::zones`].
pub type ZoneId = u32;

/// The namespace label every namespace carries.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Addresses outside every cluster: TEST-NET-3 (RFC 5737) and the IPv6 documentation prefix
/// (RFC 3849).
pub const WORLD_ADDRESSES: [&str; 2] = ["203.0.113.7", "2001:db8:1::7"];

/// The address after `ip`, if there is one.
pub fn next_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => u32::from(a).checked_add(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(a) => u128::from(a).checked_add(1).map(|n| IpAddr::V6(n.into())),
    }
}

/// The address before `ip`, if there is one.
pub fn previous_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => u32::from(a).checked_sub(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(a) => u128::from(a).checked_sub(1).map(|n| IpAddr::V6(n.into())),
    }
}

/// How the cluster DNS pod is named where no inventory names it.
pub const KUBE_DNS_POD: &str = "kube-dns";

/// What a point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pod,
    Net,
    Host,
    ApiServer,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Pod, Kind::Net, Kind::Host, Kind::ApiServer];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which endpoint of the source a point stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The pod of a declared workload.
    Workload(WorkloadId),
    /// The cluster DNS pod.
    KubeDns,
    /// Pods of an inventory that share namespace, labels, named ports and service account (see
    /// [`crate::world`]).
    Inventory,
    /// A pod of its namespace that no workload declares, without labels.
    Unlabelled,
    /// A pod with a workload's labels in another namespace, which a `workload in namespaces`
    /// peer picks.
    Relocated(WorkloadId),
    /// A pod of its namespace that the selectors of two workloads both pick: two workloads of
    /// the namespace, or one of them and a workload whose pod a `workload in namespaces` peer
    /// places there (or two such). The first is the namespace's own where either is.
    Overlap(WorkloadId, WorkloadId),
    /// An address outside the cluster (a documentation address).
    World(IpAddr),
    /// An address of a network the program names; whether it is inside the cluster is open.
    Address(IpAddr),
    /// The node the pods run on.
    Host,
    /// The Kubernetes API server.
    ApiServer,
}

#[derive(Clone, Debug)]
pub struct Point {
    pub role: Role,
    /// The namespace of a pod.
    pub zone: Option<ZoneId>,
    /// The labels of a pod.
    pub labels: BTreeMap<String, String>,
    /// A pod's service account, where an inventory says it (`None`: an open fact).
    pub service_account: Option<String>,
    /// How messages and tables name it: `namespace/workload`, an address, `host`.
    pub name: String,
}

impl Point {
    pub fn kind(&self) -> Kind {
        match self.role {
            Role::Workload(_)
            | Role::Relocated(_)
            | Role::Overlap(..)
            | Role::KubeDns
            | Role::Unlabelled
            | Role::Inventory => Kind::Pod,
            Role::World(_) | Role::Address(_) => Kind::Net,
            Role::Host => Kind::Host,
            Role::ApiServer => Kind::ApiServer,
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self.role {
            Role::World(ip) | Role::Address(ip) => Some(ip),
            _ => None,
        }
    }

    pub fn is_pod(&self) -> bool {
        self.kind() == Kind::Pod
    }
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub name: String,
    /// The program's namespace, if the program names it.
    pub namespace: Option<NamespaceId>,
    /// The namespace's labels: its name only, unless `labels_known`.
    pub labels: BTreeMap<String, String>,
    /// Whether `labels` are all the namespace's labels (read from an inventory), so a label
    /// missing there is known to be absent; otherwise only the name label is known and any
    /// other label is an open fact.
    pub labels_known: bool,
    /// Every pod of the zone, the unlabelled one included.
    pub pods: Vec<PointId>,
    pub unlabelled: PointId,
}

impl Zone {
    /// A label of the namespace as far as it is known: `Some(None)` known absent, `None` open.
    pub fn label(&self, key: &str) -> Option<Option<&str>> {
        match self.labels.get(key) {
            Some(v) => Some(Some(v.as_str())),
            None if self.labels_known => Some(None),
            None => None,
        }
    }
}

/// Where the search for overlap pods stopped ([`Universe::overlap_cut`]): every pod found
/// before is in the universe, none after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlapCut {
    /// These two workloads' selectors can pick one pod of `zone`, but the universe already holds
    /// as many overlap pods as it may.
    Pods { zone: ZoneId, pair: (WorkloadId, WorkloadId) },
    /// The pairs of this workload (in `zone`) and of those after it were not searched: the
    /// selectors leave too many candidates open.
    Search { zone: ZoneId, at: WorkloadId },
}

/// A zone's pods by label key, then value.
type LabelIndex = rustc_hash::FxHashMap<String, rustc_hash::FxHashMap<String, Vec<PointId>>>;

/// Files pod `id` under each of its labels, copying a key or value only the first time.
fn file_labels(index: &mut LabelIndex, id: PointId, labels: &BTreeMap<String, String>) {
    for (k, v) in labels {
        if !index.contains_key(k) {
            index.insert(k.clone(), Default::default());
        }
        let Some(values) = index.get_mut(k) else { continue };
        match values.get_mut(v) {
            Some(pods) => pods.push(id),
            None => {
                values.insert(v.clone(), vec![id]);
            }
        }
    }
}

#[derive(Clone)]
pub struct Universe {
    pub points: Vec<Point>,
    pub zones: Vec<Zone>,
    /// Zones by name.
    zone_by_name: rustc_hash::FxHashMap<String, ZoneId>,
    /// Per zone, the pods of each label key and value, in point order.
    by_label: Vec<LabelIndex>,
    /// Addresses, sorted.
    nets: Vec<(IpAddr, PointId)>,
    workloads: Vec<PointId>,
    /// The zone of each namespace of the program.
    zone_of_ns: Vec<ZoneId>,
    /// Whether the pods are an inventory's (see [`crate::world`]) rather than one per workload:
    /// a workload then stands for the pods its selector picks.
    inventory: bool,
    /// Where the search for overlap pods stopped, when there were too many to add.
    pub overlap_cut: Option<OverlapCut>,
    /// The points of each kind, in order.
    by_kind: [Vec<PointId>; 4],
    kube_dns: PointId,
    host: PointId,
    api_server: PointId,
}

impl Universe {
    /// A universe with no points yet, for [`crate::world`] to fill.
    pub(crate) fn empty() -> Universe {
        Universe {
            points: Vec::new(),
            zones: Vec::new(),
            zone_by_name: rustc_hash::FxHashMap::default(),
            by_label: Vec::new(),
            nets: Vec::new(),
            workloads: Vec::new(),
            zone_of_ns: Vec::new(),
            inventory: false,
            overlap_cut: None,
            by_kind: Default::default(),
            kube_dns: 0,
            host: 0,
            api_server: 0,
        }
    }

    pub fn new(program: &Program) -> Universe {
        Universe::with_questions(program, &[])
    }

    /// [`Universe::new`], with the networks of questions asked about the program (`netpol
    /// why`) told apart too: their first and last address, and inside each, the first address
    /// of every network the program names and the address after each one's last, so every part
    /// of a question's network that the policies treat alike has a point of its own.
    pub fn with_questions(program: &Program, questions: &[&CidrBlock]) -> Universe {
        Universe::build(program, questions, true)
    }

    /// [`Universe::with_questions`]; `share_overlaps` as [`Universe::add_overlaps_sharing`]
    /// takes it.
    fn build(program: &Program, questions: &[&CidrBlock], share_overlaps: bool) -> Universe {
        let mut u = Universe::empty();
        let mut zone_of_ns = Vec::new();
        for (i, ns) in program.namespaces.iter().enumerate() {
            zone_of_ns.push(u.add_zone(&ns.name, Some(NamespaceId(i as u32))));
        }
        let kube_system = match program.namespaces.iter().position(|n| n.name == KUBE_DNS_NAMESPACE) {
            Some(i) => zone_of_ns[i],
            None => u.add_zone(KUBE_DNS_NAMESPACE, None),
        };
        // Each workload's pod labels and name on every core; the pods added in workload order.
        let pods = crate::par::chunks(program.workloads.len(), 1024, |range| {
            range
                .map(|i| {
                    let id = WorkloadId(i as u32);
                    (program.workload(id).selector.representative(), program.qualified_name(id))
                })
                .collect::<Vec<_>>()
        });
        for (i, (labels, name)) in pods.into_iter().flatten().enumerate() {
            let id = WorkloadId(i as u32);
            let zone = zone_of_ns[program.workload(id).namespace.index()];
            let p = u.push_pod(Role::Workload(id), zone, labels, name);
            u.workloads.push(p);
        }
        // Indexing them pod by pod was most of the universe's time on one thread (80 ms at
        // 100,000 workloads).
        u.index_labels();
        // `workload in namespaces` peers: a pod with the workload's labels in every namespace
        // the set may pick, besides the workload's own.
        let mut relocated: BTreeSet<(WorkloadId, ZoneId)> = BTreeSet::new();
        let peers: BTreeSet<(WorkloadId, crate::ir::NamespaceSetId)> = program
            .rules
            .iter()
            .flat_map(|r| r.peers.iter())
            .chain(program.expects.iter().flat_map(|e| [&e.from, &e.to]))
            .filter_map(|peer| match peer.peer {
                Peer::WorkloadIn(w, set) => Some((w, set)),
                _ => None,
            })
            .collect();
        for (w, set) in peers {
            let sel = &program.namespace_set(set).selector;
            let home = zone_of_ns[program.workload(w).namespace.index()];
            for (z, _) in super::reach::zones_picked(sel, &u) {
                if z != home {
                    relocated.insert((w, z));
                }
            }
        }
        for (w, z) in relocated {
            let wl = program.workload(w);
            let name = format!("{}/<{} pod>", u.zones[z as usize].name, wl.name);
            u.add_pod(Role::Relocated(w), z, wl.selector.representative(), name);
        }
        u.add_overlaps_sharing(program, share_overlaps);
        let (k, v) = KUBE_DNS_LABEL;
        u.kube_dns = u.add_pod(
            Role::KubeDns,
            kube_system,
            BTreeMap::from([(k.to_string(), v.to_string())]),
            KUBE_DNS_POD.to_string(),
        );
        for z in 0..u.zones.len() {
            let name = format!("{}/<unlabelled pod>", u.zones[z].name);
            let p = u.add_pod(Role::Unlabelled, z as ZoneId, BTreeMap::new(), name);
            u.zones[z].unlabelled = p;
        }
        // The first and last address of every network the rules and `expect`s name, gathered
        // on every core.
        let ends = |c: &CidrBlock, out: &mut Vec<IpAddr>| {
            for n in std::iter::once(&c.net).chain(&c.except) {
                out.extend([n.network(), n.broadcast()]);
            }
        };
        let named = crate::par::chunks(program.rules.len(), 4096, |range| {
            let mut out = Vec::new();
            for peer in program.rules[range].iter().flat_map(|r| &r.peers) {
                if let Peer::Cidr(c) = &peer.peer {
                    ends(c, &mut out);
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        });
        let mut named: Vec<IpAddr> = named.into_iter().flatten().collect();
        for peer in program.expects.iter().flat_map(|e| [&e.from, &e.to]) {
            if let Peer::Cidr(c) = &peer.peer {
                ends(c, &mut named);
            }
        }
        let mut addresses: BTreeSet<IpAddr> = named.into_iter().collect();
        if !questions.is_empty() {
            // Every change of which networks hold an address: a network's first address, and
            // the one after its last (the world addresses are networks of one address here).
            let mut changes: BTreeSet<IpAddr> = BTreeSet::new();
            let world = WORLD_ADDRESSES.iter().filter_map(|a| a.parse::<IpAddr>().ok());
            let named = program
                .rules
                .iter()
                .flat_map(|r| r.peers.iter())
                .chain(program.expects.iter().flat_map(|e| [&e.from, &e.to]))
                .filter_map(|p| match &p.peer {
                    Peer::Cidr(c) => Some(c),
                    _ => None,
                })
                .chain(questions.iter().copied())
                .flat_map(|c| std::iter::once(&c.net).chain(c.except.iter()))
                .map(|n| (n.network(), n.broadcast()))
                .chain(world.map(|ip| (ip, ip)));
            for (first, last) in named {
                changes.insert(first);
                if let Some(after) = next_address(last) {
                    changes.insert(after);
                }
            }
            for q in questions {
                addresses.insert(q.net.network());
                addresses.insert(q.net.broadcast());
                addresses.extend(changes.iter().filter(|ip| q.net.contains(*ip)));
            }
        }
        u.zone_of_ns = zone_of_ns;
        u.finish(addresses);
        u
    }

    /// Adds the points outside the pods (the world addresses, `addresses`, the node and the
    /// API server) and the indexes; the last step of building a universe.
    pub(crate) fn finish(&mut self, addresses: BTreeSet<IpAddr>) {
        self.finish_with_outside(addresses, &BTreeSet::new());
    }

    /// [`Universe::finish`], with `outside`: addresses known to be outside the cluster (a
    /// recorded flow's `reserved:world`), which are `world` points beside the documentation
    /// addresses.
    pub(crate) fn finish_with_outside(
        &mut self,
        mut addresses: BTreeSet<IpAddr>,
        outside: &BTreeSet<IpAddr>,
    ) {
        let mut world: Vec<IpAddr> = WORLD_ADDRESSES.iter().filter_map(|a| a.parse().ok()).collect();
        world.extend(outside.iter().filter(|ip| !world.contains(ip)).copied().collect::<Vec<_>>());
        for ip in &world {
            addresses.remove(ip);
            self.add_point(Role::World(*ip), ip.to_string());
        }
        let addresses: Vec<IpAddr> = addresses.into_iter().collect();
        let names = crate::par::chunks(addresses.len(), 4096, |range| {
            addresses[range].iter().map(|ip| ip.to_string()).collect::<Vec<_>>()
        });
        for (ip, name) in addresses.iter().zip(names.into_iter().flatten()) {
            self.add_point(Role::Address(*ip), name);
        }
        self.nets =
            self.points.iter().enumerate().filter_map(|(i, p)| p.ip().map(|ip| (ip, i as PointId))).collect();
        self.nets.sort();
        self.host = self.add_point(Role::Host, "host".to_string());
        self.api_server = self.add_point(Role::ApiServer, "kube-apiserver".to_string());
        for p in self.ids() {
            self.by_kind[self.point(p).kind().index()].push(p);
        }
    }

    /// A pod for every pair of selectors of a namespace (its workloads', and those of the
    /// workloads placed there by `workload in namespaces` peers) that can pick one pod which
    /// none of their own pods is; within [`overlap::Budget::for_entries`], spent namespace by
    /// namespace in order.
    ///
    /// The namespaces are searched on every core, each with an equal share of the budget. A
    /// search that finishes within its share and within what the namespaces before it left
    /// found what the search in order finds (a search that does not run out of budget does not
    /// depend on it); any other is searched again, in order, with what is left. So the pods,
    /// and where the search stops, are those of one search in order, and the work is at most
    /// twice its budget: a namespace searched again spent no more than its share before.
    ///
    /// With `share` false no namespace gets a share, so each is searched in order with what the
    /// ones before it left: the search the shares stand in for.
    fn add_overlaps_sharing(&mut self, program: &Program, share: bool) {
        let entries: usize = self.workloads.len()
            + self.points.iter().filter(|p| matches!(p.role, Role::Relocated(_))).count();
        let mut budget = overlap::Budget::for_entries(entries);
        // Per zone, the zone's workload pods, then the pods placed there, in point order.
        let zones: Vec<(ZoneId, Vec<(WorkloadId, PointId)>)> = (0..self.zones.len() as ZoneId)
            .map(|z| {
                let pods = self
                    .zone(z)
                    .pods
                    .iter()
                    .filter_map(|&p| match self.point(p).role {
                        Role::Workload(w) | Role::Relocated(w) => Some((w, p)),
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                (z, pods)
            })
            .filter(|(_, pods)| pods.len() >= 2)
            .collect();
        let this = &*self;
        let entries_of = |pods: &[(WorkloadId, PointId)]| -> Vec<overlap::Entry> {
            pods.iter()
                .map(|&(w, p)| overlap::Entry {
                    selector: &program.workload(w).selector,
                    labels: &this.point(p).labels,
                })
                .collect()
        };
        let parts = if share { zones.len().max(1) } else { usize::MAX };
        let each = overlap::Budget { visits: budget.visits / parts, pods: budget.pods / parts };
        let searched = crate::par::blocks(zones.len(), 2, |range| {
            range
                .map(|i| {
                    let mut left = each.clone();
                    let (found, cut) = overlap::overlaps(&entries_of(&zones[i].1), &mut left);
                    let spent =
                        overlap::Budget { visits: each.visits - left.visits, pods: each.pods - left.pods };
                    (found, cut, spent)
                })
                .collect::<Vec<_>>()
        });
        let mut added: Vec<(Role, ZoneId, BTreeMap<String, String>, String)> = Vec::new();
        let mut overlap_cut = None;
        for ((z, pods), (found, cut, spent)) in zones.iter().zip(searched.into_iter().flatten()) {
            let (found, cut) = if cut.is_none() && spent.visits <= budget.visits && spent.pods <= budget.pods
            {
                budget.visits -= spent.visits;
                budget.pods -= spent.pods;
                (found, None)
            } else {
                overlap::overlaps(&entries_of(pods), &mut budget)
            };
            let zone = &this.zones[*z as usize];
            let named = |w: WorkloadId| {
                let wl = program.workload(w);
                if zone.namespace == Some(wl.namespace) {
                    wl.name.clone()
                } else {
                    program.qualified_name(w)
                }
            };
            for (i, j, labels) in found {
                let (a, b) = (pods[i].0, pods[j].0);
                let name = format!("{}/<{}+{} pod>", zone.name, named(a), named(b));
                added.push((Role::Overlap(a, b), *z, labels, name));
            }
            if let Some(cut) = cut {
                overlap_cut = Some(match cut {
                    overlap::Cut::Pods(i, j) => OverlapCut::Pods { zone: *z, pair: (pods[i].0, pods[j].0) },
                    overlap::Cut::Search(i) => OverlapCut::Search { zone: *z, at: pods[i].0 },
                });
                break;
            }
        }
        self.overlap_cut = overlap_cut;
        for (role, z, labels, name) in added {
            self.add_pod(role, z, labels, name);
        }
    }

    pub(crate) fn add_zone(&mut self, name: &str, namespace: Option<NamespaceId>) -> ZoneId {
        self.zone_by_name.entry(name.to_string()).or_insert(self.zones.len() as ZoneId);
        self.by_label.push(LabelIndex::default());
        self.zones.push(Zone {
            name: name.to_string(),
            namespace,
            labels: BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]),
            labels_known: false,
            pods: Vec::new(),
            unlabelled: 0,
        });
        (self.zones.len() - 1) as ZoneId
    }

    pub(crate) fn add_point(&mut self, role: Role, name: String) -> PointId {
        self.points.push(Point { role, zone: None, labels: BTreeMap::new(), service_account: None, name });
        (self.points.len() - 1) as PointId
    }

    pub(crate) fn add_pod(
        &mut self,
        role: Role,
        zone: ZoneId,
        labels: BTreeMap<String, String>,
        name: String,
    ) -> PointId {
        let id = self.push_pod(role, zone, labels, name);
        let point = &self.points[id as usize];
        file_labels(&mut self.by_label[zone as usize], id, &point.labels);
        id
    }

    /// [`Universe::add_pod`] without the label index: [`Universe::index_labels`] must follow.
    fn push_pod(
        &mut self,
        role: Role,
        zone: ZoneId,
        labels: BTreeMap<String, String>,
        name: String,
    ) -> PointId {
        let id = self.points.len() as PointId;
        self.points.push(Point { role, zone: Some(zone), labels, service_account: None, name });
        self.zones[zone as usize].pods.push(id);
        id
    }

    /// Builds every zone's label index from its pods, the zones on every core: what adding
    /// each pod with [`Universe::add_pod`] builds (its pods are in point order).
    fn index_labels(&mut self) {
        let this = &*self;
        let indexes = crate::par::blocks(this.zones.len(), 1, |range| {
            range
                .map(|z| {
                    let mut index = LabelIndex::default();
                    for &p in &this.zones[z].pods {
                        file_labels(&mut index, p, &this.point(p).labels);
                    }
                    index
                })
                .collect::<Vec<_>>()
        });
        self.by_label = indexes.into_iter().flatten().collect();
    }

    pub fn point(&self, p: PointId) -> &Point {
        &self.points[p as usize]
    }

    pub fn zone(&self, z: ZoneId) -> &Zone {
        &self.zones[z as usize]
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = PointId> {
        0..self.points.len() as PointId
    }

    /// Every point of one kind, in order.
    pub fn points_of_kind(&self, kind: Kind) -> &[PointId] {
        &self.by_kind[kind.index()]
    }

    pub fn zone_named(&self, name: &str) -> Option<ZoneId> {
        self.zone_by_name.get(name).copied()
    }

    /// The zone of a namespace of the program.
    pub fn zone_of_namespace(&self, ns: NamespaceId) -> ZoneId {
        self.zone_of_ns[ns.index()]
    }

    /// Whether the pods are an inventory's: see [`Universe::points_of_peer`].
    pub fn is_inventory(&self) -> bool {
        self.inventory
    }

    pub(crate) fn set_inventory(&mut self, zone_of_ns: Vec<ZoneId>, kube_dns: PointId) {
        self.inventory = true;
        self.zone_of_ns = zone_of_ns;
        self.kube_dns = kube_dns;
    }

    pub(crate) fn zone_mut(&mut self, z: ZoneId) -> &mut Zone {
        &mut self.zones[z as usize]
    }

    pub fn workload(&self, w: WorkloadId) -> PointId {
        self.workloads[w.index()]
    }

    pub fn kube_dns(&self) -> PointId {
        self.kube_dns
    }

    pub fn host(&self) -> PointId {
        self.host
    }

    pub fn api_server(&self) -> PointId {
        self.api_server
    }

    /// The pods of `zone` carrying the label `key: value`.
    pub fn pods_with_label(&self, zone: ZoneId, key: &str, value: &str) -> &[PointId] {
        let index = self.by_label.get(zone as usize);
        index.and_then(|i| i.get(key)).and_then(|values| values.get(value)).map_or(&[], Vec::as_slice)
    }

    /// The pods of `zone` a selector picks. `hint` is a label every pod it picks carries, which
    /// narrows the search to the pods with that label.
    pub fn select_pods(
        &self,
        zone: ZoneId,
        hint: Option<(&str, &str)>,
        matches: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Vec<PointId> {
        let candidates = match hint {
            Some((k, v)) => self.pods_with_label(zone, k, v),
            None => &self.zone(zone).pods,
        };
        candidates.iter().copied().filter(|p| matches(&self.point(*p).labels)).collect()
    }

    /// The pods of `zone` a Kubernetes label selector picks.
    pub fn select(&self, zone: ZoneId, selector: &LabelSelector) -> Vec<PointId> {
        let hint = selector.match_labels.iter().next().map(|(k, v)| (k.as_str(), v.as_str()));
        self.select_pods(zone, hint, |labels| selector.matches(labels))
    }

    /// Every address point inside `net` (whatever its excepts), in address order.
    pub fn addresses_in(&self, net: &IpNet) -> impl Iterator<Item = (IpAddr, PointId)> + '_ {
        let (lo, hi) = (net.network(), net.broadcast());
        let start = self.nets.partition_point(|(ip, _)| *ip < lo);
        self.nets[start..].iter().take_while(move |(ip, _)| *ip <= hi).copied()
    }

    /// Every address point of `net` that lies in none of `except`, in address order. The
    /// exceptions are merged into disjoint ranges and swept along with the points, so a network
    /// with thousands of exceptions costs their number plus its points' (times a sort), not
    /// their product.
    pub fn addresses_outside(&self, net: &IpNet, except: &[IpNet]) -> impl Iterator<Item = PointId> + '_ {
        let mut ranges: Vec<(IpAddr, IpAddr)> = except.iter().map(|e| (e.network(), e.broadcast())).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(IpAddr, IpAddr)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let mut next = 0;
        self.addresses_in(net).filter_map(move |(ip, p)| {
            while merged.get(next).is_some_and(|r| r.1 < ip) {
                next += 1;
            }
            let excepted = merged.get(next).is_some_and(|r| r.0 <= ip);
            (!excepted).then_some(p)
        })
    }

    /// The points an `expect` names by a peer: what it stands for in full.
    pub fn points_of_peer(&self, program: &Program, peer: &Peer) -> Vec<PointId> {
        match peer {
            Peer::Workload(w) if self.inventory => {
                let wl = program.workload(*w);
                self.select(self.zone_of_namespace(wl.namespace), &wl.selector)
            }
            Peer::Workload(w) => vec![self.workload(*w)],
            Peer::Namespace(n) => self.zone(self.zone_of_namespace(*n)).pods.clone(),
            Peer::NamespaceSet(s) => {
                let sel = &program.namespace_set(*s).selector;
                self.zones.iter().filter(|z| sel.matches(&z.labels)).flat_map(|z| z.pods.clone()).collect()
            }
            Peer::WorkloadIn(w, s) => {
                let sel = &program.namespace_set(*s).selector;
                let pods = &program.workload(*w).selector;
                (0..self.zones.len() as ZoneId)
                    .filter(|z| sel.matches(&self.zone(*z).labels))
                    .flat_map(|z| self.select(z, pods))
                    .collect()
            }
            Peer::Cidr(c) => self
                .addresses_in(&c.net)
                .filter(|(ip, _)| !c.except.iter().any(|e| e.contains(ip)))
                .map(|(_, p)| p)
                .collect(),
            Peer::Entity(e) => match e {
                Entity::Anywhere => self.ids().collect(),
                Entity::World => {
                    self.ids().filter(|p| matches!(self.point(*p).role, Role::World(_))).collect()
                }
                Entity::Cluster => self.ids().filter(|p| self.point(*p).is_pod()).collect(),
                Entity::Host => vec![self.host],
                Entity::KubeApiserver => vec![self.api_server],
                Entity::KubeDns => vec![self.kube_dns],
            },
            Peer::Fqdn(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> Program {
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", text);
        let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
        crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program
    }

    /// Namespaces of `sizes[i]` workloads, each selecting on a key of its own, so every two of
    /// a namespace can pick one pod: `n·(n-1)/2` overlap pods, against a budget of as many pods
    /// as workloads (at least 512).
    fn crowded(sizes: &[usize]) -> String {
        let mut s = String::new();
        for (i, n) in sizes.iter().enumerate() {
            s += &format!("namespace ns-{i} {{\n");
            for w in 0..*n {
                s += &format!("  workload w-{w} {{ key-{w}: x }}\n");
            }
            s += "}\n";
        }
        s
    }

    fn pods(u: &Universe) -> Vec<(String, BTreeMap<String, String>)> {
        u.points.iter().map(|p| (p.name.clone(), p.labels.clone())).collect()
    }

    #[test]
    fn shares_find_the_pods_and_the_cut_of_the_search_in_order() {
        // No cut; cuts in the second namespace and the last; one namespace past the budget on
        // its own; namespaces too small to search between the others; and namespaces within
        // their share after one that took more than its own (29 workloads: 406 pods of the
        // 512, leaving 106: the next 15 take 105 and the third must stop after one).
        let shapes: [&[usize]; 7] = [
            &[5, 8, 3],
            &[20, 40, 20, 20],
            &[30, 30, 12, 30],
            &[10, 1, 10, 10, 33],
            &[40],
            &[1, 33, 0, 33, 2],
            &[29, 15, 15, 15],
        ];
        let mut cuts = 0;
        for sizes in shapes {
            let p = program(&crowded(sizes));
            let shared = Universe::new(&p);
            let ordered = Universe::build(&p, &[], false);
            assert_eq!(pods(&shared), pods(&ordered), "{sizes:?}");
            assert_eq!(shared.overlap_cut, ordered.overlap_cut, "{sizes:?}");
            cuts += usize::from(shared.overlap_cut.is_some());
        }
        assert!(cuts >= 4, "the shapes reach the budget");
    }

    /// The label index built zone by zone after the workloads' pods equals a scan of each
    /// zone's pods, for every label any pod carries (the overlap pods, kube-dns and the
    /// unlabelled pods were added one by one after it).
    #[test]
    fn the_label_index_lists_every_pod_with_the_label_in_point_order() {
        let mut text = crowded(&[6, 0, 9, 3]);
        text += "namespace ns-1 {
  workload a { app: web, tier: x }
  workload b { app: web }
}
";
        text += "namespace kube-system {
  workload dns { k8s-app: kube-dns }
}
";
        let p = program(&text);
        let u = Universe::new(&p);
        let mut checked = 0;
        for z in 0..u.zones.len() as ZoneId {
            let labels: BTreeSet<(&String, &String)> =
                u.zone(z).pods.iter().flat_map(|&pod| u.point(pod).labels.iter()).collect();
            for (k, v) in labels {
                let scan: Vec<PointId> = (0..u.len() as PointId)
                    .filter(|&pod| u.point(pod).zone == Some(z) && u.point(pod).labels.get(k) == Some(v))
                    .collect();
                assert_eq!(u.pods_with_label(z, k, v), scan.as_slice(), "zone {z} {k}={v}");
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
        assert!(u.pods_with_label(0, "no-such-key", "x").is_empty());
        assert!(u.pods_with_label(u.zones.len() as ZoneId, "app", "web").is_empty());
    }
}
