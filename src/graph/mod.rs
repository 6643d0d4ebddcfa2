//! `netpol graph`: the connectivity of a program as a diagram. IR + one reading of it (the
//! source's, or a target's reading of its manifests) → a [`Graph`] of nodes and merged edges →
//! Mermaid ([`mermaid`]), Graphviz DOT ([`dot`]) or SVG laid out in Rust ([`svg`]). No IO.
//!
//! What an edge is. The nodes are the workloads (grouped by namespace) and every other peer a
//! rule names, groups expanded: a namespace, a `namespaces` set, a network, a DNS name, and the
//! built-in peers. The edges follow the rules, one per pair of nodes and kind:
//!
//! - **allowed**: an allow rule of a workload names a peer. Between two workloads the label is
//!   the connection itself, both sides, as the reading allows it. Towards any other peer it is
//!   the rule's ports that some endpoint of the peer may use, both sides. A workload not
//!   isolated in a direction gets an edge to (or from) `anywhere`, marked `not isolated`.
//! - **denied**: a deny rule (`refuses`, `never connects to`) names a peer.
//! - **dropped**: an allow rule's ports that the connection does not get, because the other
//!   side does not allow them (the cross-side warnings W0201/W0202) or a deny takes them away.
//!
//! Every connection the reading allows between a workload's pods and any endpoint is then
//! checked against the allowed edges whose ends stand for its two endpoints; what no edge
//! covers gets an edge of its own between the nodes of its two endpoints. For the source this
//! adds nothing (the tests check it), except at a pod that two workloads pick (`app: a` and
//! `tier: backend`): it gets the rules of both, so `x connects to b` and `a accepts from x`
//! together let `x` reach it, and that edge is drawn to the first of the two (`x -> a`); for a
//! target it shows what the target allows beyond the rules.

pub mod dot;
pub mod mermaid;
pub mod svg;

use crate::analysis::matrix::{node_to_its_pod, Meets, Rows, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::peer_coverage;
use crate::analysis::side::{Cell, Match};
use crate::analysis::universe::{PointId, Role, Universe};
use crate::diagnostic::Diagnostic;
use crate::ir::{Action, CidrBlock, Direction, Entity, NamespaceSetId, Peer, Program, WorkloadId};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;

/// What a node of the diagram stands for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// The pods a workload's selector picks.
    Workload(WorkloadId),
    /// Every pod of a namespace, by name.
    Namespace(String),
    NamespaceSet(NamespaceSetId),
    /// The pods a workload's selector picks in the namespaces of a set.
    WorkloadIn(WorkloadId, NamespaceSetId),
    Net(CidrBlock),
    Entity(Entity),
    Fqdn(String),
}

/// The edges between one ordered pair of nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edge {
    /// Ports allowed, certainly and possibly.
    pub allowed: Cell,
    /// Ports a deny rule names.
    pub denied: PortSet,
    /// Ports an allow rule names that the connection does not get.
    pub dropped: PortSet,
    /// The allowed edge comes from a side that is not isolated.
    pub unrestricted: bool,
}

/// A diagram: nodes and edges, both in a fixed order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every node, with how far it stands for each point of the universe.
    pub nodes: BTreeMap<Node, Vec<Match>>,
    pub edges: BTreeMap<(Node, Node), Edge>,
    /// Allowed connections no rule accounts for, added by [`build`]'s last pass.
    pub extra: usize,
    /// The edges [`Graph::fold_dns`] took out, drawn as a note on the `kube-dns` node.
    pub dns: Option<SharedDns>,
}

/// The workloads' edges to `kube-dns` that say the same thing, drawn once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedDns {
    /// Their label, the same for all of them (`tcp and udp 53`).
    pub label: String,
    /// How many workloads they came from.
    pub workloads: usize,
}

/// The diagram of `program` under one reading.
pub fn build(program: &Program, u: &Universe, sem: &dyn Semantics) -> Graph {
    let rows = Rows::build(sem, u);
    let mut g = Graph::default();
    for w in 0..program.workloads.len() {
        g.node(program, u, Node::Workload(WorkloadId(w as u32)));
    }
    for rule in &program.rules {
        let ports = PortSet::from_ports(&rule.ports);
        for peer in &rule.peers {
            let other = node_of_peer(program, &peer.peer);
            g.node(program, u, other.clone());
            let me = Node::Workload(rule.subject);
            let key = match rule.direction {
                Direction::Egress => (me, other),
                Direction::Ingress => (other, me),
            };
            if rule.action == Action::Deny {
                let e = g.edges.entry(key).or_default();
                e.denied = e.denied.union(&ports);
                continue;
            }
            let cell = g.connections(u, &rows, &key, rule.subject, rule.direction);
            // Between two workloads, every port both sides allow; only possibly allowed, the
            // rule's ports alone (the rest hangs on open facts other edges show).
            let cell = match peer.peer {
                Peer::Workload(_) => Cell {
                    possible: cell.certain.union(&cell.possible.intersect(&ports)),
                    certain: cell.certain,
                },
                _ => Cell {
                    certain: cell.certain.intersect(&ports),
                    possible: cell.possible.intersect(&ports),
                },
            };
            let e = g.edges.entry(key).or_default();
            e.dropped = e.dropped.union(&ports.subtract(&cell.possible));
            e.allowed = union(&e.allowed, &cell);
        }
    }
    unrestricted(program, u, &rows, &mut g);
    complete(program, u, &rows, &mut g);
    for e in g.edges.values_mut() {
        e.dropped = e.dropped.subtract(&e.allowed.possible).subtract(&e.denied);
    }
    g
}

/// Edges from `anywhere` to workloads not isolated for ingress, and to `anywhere` from those
/// not isolated for egress.
fn unrestricted(program: &Program, u: &Universe, rows: &Rows, g: &mut Graph) {
    for w in (0..program.workloads.len()).map(|i| WorkloadId(i as u32)) {
        for dir in [Direction::Ingress, Direction::Egress] {
            if program.is_isolated(w, dir) {
                continue;
            }
            let any = Node::Entity(Entity::Anywhere);
            g.node(program, u, any.clone());
            let key = match dir {
                Direction::Egress => (Node::Workload(w), any),
                Direction::Ingress => (any, Node::Workload(w)),
            };
            let cell = g.connections(u, rows, &key, w, dir);
            let e = g.edges.entry(key).or_default();
            e.allowed = union(&e.allowed, &cell);
            e.unrestricted = true;
        }
    }
}

/// Adds an edge for every allowed connection of a workload's pods that no edge covers.
///
/// What the edges cover is gathered source by source ([`Cover`]), never by looking at every
/// edge for every connection.
fn complete(program: &Program, u: &Universe, rows: &Rows, g: &mut Graph) {
    let cover = Cover::new(u, g);
    let governed: Vec<bool> = {
        let mut v = vec![false; u.len()];
        for (n, m) in &g.nodes {
            if let Node::Workload(_) = n {
                for (p, m) in m.iter().enumerate() {
                    v[p] |= *m == Match::Yes;
                }
            }
        }
        v
    };
    let mut missing: Vec<(PointId, PointId, Cell)> = Vec::new();
    let mut acc = Acc::new(u.len());
    rows.for_each_allowed(u, |s, d, cell| {
        // The node always reaches the pods on it, whatever the policies say: not drawn.
        if (!governed[s as usize] && !governed[d as usize]) || node_to_its_pod(u, s, d) {
            return;
        }
        if acc.source != Some(s) {
            cover.from(s, &mut acc);
        }
        let rest = cover.rest(&acc, d, cell);
        if !rest.certain.is_empty() || !rest.possible.is_empty() {
            missing.push((s, d, rest));
        }
    });
    let mut node_of: HashMap<PointId, Node> = HashMap::default();
    let mut at = |p: PointId| node_of.entry(p).or_insert_with(|| cover.node_of_point(u, p)).clone();
    let missing: Vec<((Node, Node), Cell)> =
        missing.into_iter().map(|(s, d, cell)| ((at(s), at(d)), cell)).collect();
    g.extra = missing.len();
    for (key, cell) in missing {
        g.node(program, u, key.0.clone());
        g.node(program, u, key.1.clone());
        let e = g.edges.entry(key).or_default();
        e.allowed = union(&e.allowed, &cell);
    }
}

/// A node that stands for more points than this is looked up point by point, not listed.
const WIDE: usize = 64;

/// The graph's nodes by number and their allowed edges: what [`Graph::covered`] reads,
/// arranged to answer it for one source and every destination at once. A node that stands
/// for few points lists them (and, as a tail, is listed under each); one that stands for many
/// (`anywhere`; a network, which may hold any pod) is looked up in its membership instead, so
/// nothing here grows with nodes times points.
struct Cover<'g> {
    nodes: Vec<&'g Node>,
    /// Per node, how far it stands for each point (the graph's own vectors).
    membership: Vec<&'g [Match]>,
    /// Per node that stands for at most [`WIDE`] points: those points, in order.
    members: Vec<Option<Vec<(PointId, Match)>>>,
    /// Per point, the few-point tails of allowed edges that stand for it.
    tails_of: Vec<Vec<(u32, Match)>>,
    /// The many-point tails of allowed edges.
    wide_tails: Vec<u32>,
    /// Per node, the allowed edges that leave it: (head, edge).
    out: Vec<Vec<(u32, &'g Edge)>>,
}

/// What the edges cover from the current source: per destination, through the edges whose
/// head stands for few points; and the edges whose head stands for many, looked at per
/// destination asked about.
struct Acc<'g> {
    source: Option<PointId>,
    stamp: u32,
    cells: Vec<(u32, Cell)>,
    /// (head, edge, how far the tail stands for the source).
    wide: Vec<(u32, &'g Edge, Match)>,
}

impl<'g> Acc<'g> {
    fn new(points: usize) -> Acc<'g> {
        Acc { source: None, stamp: 0, cells: vec![(0, Cell::none()); points], wide: Vec::new() }
    }

    fn get(&self, d: PointId) -> Option<&Cell> {
        let (stamp, cell) = &self.cells[d as usize];
        (*stamp == self.stamp).then_some(cell)
    }

    fn at(&mut self, d: PointId) -> &mut Cell {
        let (stamp, cell) = &mut self.cells[d as usize];
        if *stamp != self.stamp {
            *stamp = self.stamp;
            *cell = Cell::none();
        }
        cell
    }
}

impl<'g> Cover<'g> {
    fn new(u: &Universe, g: &'g Graph) -> Cover<'g> {
        let nodes: Vec<&Node> = g.nodes.keys().collect();
        let membership: Vec<&[Match]> = g.nodes.values().map(Vec::as_slice).collect();
        let index: HashMap<&Node, u32> = nodes.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
        let mut out = vec![Vec::new(); nodes.len()];
        for ((a, b), e) in &g.edges {
            if !e.allowed.possible.is_empty() {
                out[index[a] as usize].push((index[b], e));
            }
        }
        let members: Vec<Option<Vec<(PointId, Match)>>> = membership
            .iter()
            .map(|m| {
                let mut list = Vec::new();
                for (p, m) in m.iter().enumerate().filter(|(_, m)| **m != Match::No) {
                    if list.len() == WIDE {
                        return None;
                    }
                    list.push((p as PointId, *m));
                }
                Some(list)
            })
            .collect();
        let mut tails_of = vec![Vec::new(); u.len()];
        let mut wide_tails = Vec::new();
        for (a, list) in members.iter().enumerate() {
            if out[a].is_empty() {
                continue;
            }
            match list {
                Some(list) => {
                    for &(p, m) in list {
                        tails_of[p as usize].push((a as u32, m));
                    }
                }
                None => wide_tails.push(a as u32),
            }
        }
        Cover { nodes, membership, members, tails_of, wide_tails, out }
    }

    /// Sets `acc` up for source `s`: the allowed edges whose tail stands for `s`, each added
    /// to the destinations its head stands for, or kept aside when those are many.
    fn from(&self, s: PointId, acc: &mut Acc<'g>) {
        acc.source = Some(s);
        acc.stamp += 1;
        acc.wide.clear();
        let wide = self.wide_tails.iter().map(|&a| (a, self.membership[a as usize][s as usize]));
        let tails = self.tails_of[s as usize].iter().copied().chain(wide.filter(|t| t.1 != Match::No));
        for (a, ma) in tails {
            for &(b, e) in &self.out[a as usize] {
                let Some(members) = &self.members[b as usize] else {
                    acc.wide.push((b, e, ma));
                    continue;
                };
                for &(d, mb) in members {
                    let cell = acc.at(d);
                    add(&mut cell.possible, &e.allowed.possible);
                    if ma == Match::Yes && mb == Match::Yes {
                        add(&mut cell.certain, &e.allowed.certain);
                    }
                }
            }
        }
    }

    /// What of `cell`, from the source `acc` is set up for to `d`, no edge covers: `cell` less
    /// [`Graph::covered`].
    fn rest(&self, acc: &Acc, d: PointId, cell: &Cell) -> Cell {
        let mut rest = match acc.get(d) {
            Some(covered) => Cell {
                certain: less(&cell.certain, &covered.certain),
                possible: less(&cell.possible, &covered.possible),
            },
            None => cell.clone(),
        };
        for &(b, e, ma) in &acc.wide {
            if rest.possible.is_empty() && rest.certain.is_empty() {
                break;
            }
            let mb = self.membership[b as usize][d as usize];
            if mb == Match::No {
                continue;
            }
            rest.possible = less(&rest.possible, &e.allowed.possible);
            if ma == Match::Yes && mb == Match::Yes {
                rest.certain = less(&rest.certain, &e.allowed.certain);
            }
        }
        rest
    }

    /// The node that names one point: its workload, its namespace, the narrowest network in the
    /// diagram that holds it, or the built-in peer it is.
    fn node_of_point(&self, u: &Universe, p: PointId) -> Node {
        let point = u.point(p);
        let standing = || {
            self.nodes
                .iter()
                .zip(&self.membership)
                .map(|(n, m)| (*n, m[p as usize]))
                .filter(|x| x.1 != Match::No)
        };
        let relocated = |w: &WorkloadId| {
            standing()
                .find(|(n, _)| matches!(n, Node::WorkloadIn(x, _) if x == w))
                .map_or_else(|| Node::Workload(*w), |(n, _)| n.clone())
        };
        match &point.role {
            Role::Workload(w) => Node::Workload(*w),
            // Drawn as the node of the peer that named it.
            Role::Relocated(w) => relocated(w),
            // Drawn as its first workload: the namespace's own where either is.
            Role::Overlap(w, _) if u.point(u.workload(*w)).zone == point.zone => Node::Workload(*w),
            Role::Overlap(w, _) => relocated(w),
            Role::KubeDns => Node::Entity(Entity::KubeDns),
            // Graphs draw a program's universe, which has no inventory pods; one would stand
            // for its namespace.
            Role::Unlabelled | Role::Inventory => {
                Node::Namespace(u.zone(point.zone.unwrap_or(0)).name.clone())
            }
            Role::World(_) => Node::Entity(Entity::World),
            Role::Host => Node::Entity(Entity::Host),
            Role::ApiServer => Node::Entity(Entity::KubeApiserver),
            Role::Address(ip) => {
                let narrowest = standing()
                    .filter_map(|(n, m)| match n {
                        Node::Net(c) if m == Match::Yes => Some(c),
                        _ => None,
                    })
                    .max_by_key(|c| c.net.prefix_len());
                match narrowest {
                    Some(c) => Node::Net(c.clone()),
                    None => Node::Net(CidrBlock { net: ipnet::IpNet::from(*ip), except: Vec::new() }),
                }
            }
        }
    }
}

/// `a` less `b`, building no set where `b` covers `a` (most connections are drawn already).
fn less(a: &PortSet, b: &PortSet) -> PortSet {
    if a.is_subset(b) {
        PortSet::empty()
    } else {
        a.subtract(b)
    }
}

/// `b` added to `a`, building no set where `a` has it already.
fn add(a: &mut PortSet, b: &PortSet) {
    if !b.is_subset(a) {
        *a = a.union(b);
    }
}

fn union(a: &Cell, b: &Cell) -> Cell {
    Cell { certain: a.certain.union(&b.certain), possible: a.possible.union(&b.possible) }
}

impl Graph {
    fn node(&mut self, program: &Program, u: &Universe, node: Node) {
        if let std::collections::btree_map::Entry::Vacant(e) = self.nodes.entry(node) {
            let m = membership(program, u, e.key());
            e.insert(m);
        }
    }

    /// The connections between a workload's pod and every endpoint the other end of `key`
    /// stands for: certainly allowed towards some endpoint it certainly stands for, possibly
    /// towards some it possibly stands for.
    fn connections(
        &self,
        u: &Universe,
        rows: &Rows,
        key: &(Node, Node),
        w: WorkloadId,
        dir: Direction,
    ) -> Cell {
        let me = u.workload(w);
        let other = match dir {
            Direction::Egress => &key.1,
            Direction::Ingress => &key.0,
        };
        if let Node::Workload(o) = other {
            let o = u.workload(*o);
            return if dir == Direction::Egress { rows.cell(u, me, o) } else { rows.cell(u, o, me) };
        }
        // Rows share equal cells, so the other end's many points hold few distinct pairs of
        // cells: each pair is met once, and each meet added once (certainly and possibly).
        let mut meets = Meets::default();
        let mut added: HashSet<(usize, bool)> = HashSet::default();
        let mut out = Cell::none();
        for (q, m) in self.nodes[other].iter().enumerate() {
            if *m == Match::No {
                continue;
            }
            let q = q as PointId;
            let (s, d) = if dir == Direction::Egress { (me, q) } else { (q, me) };
            let c = meets.of(rows, u, s, d);
            if !added.insert((c, *m == Match::Yes)) {
                continue;
            }
            let c = &meets.cells[c];
            out.possible = out.possible.union(&c.possible);
            if *m == Match::Yes {
                out.certain = out.certain.union(&c.certain);
            }
        }
        out
    }

    /// The ports the allowed edges cover between two points: certainly, through nodes that
    /// certainly stand for both; possibly, through nodes that possibly do.
    pub fn covered(&self, s: PointId, d: PointId) -> Cell {
        let mut out = Cell::none();
        for ((a, b), e) in &self.edges {
            let (ma, mb) = (self.nodes[a][s as usize], self.nodes[b][d as usize]);
            if ma == Match::No || mb == Match::No {
                continue;
            }
            out.possible = out.possible.union(&e.allowed.possible);
            if ma == Match::Yes && mb == Match::Yes {
                out.certain = out.certain.union(&e.allowed.certain);
            }
        }
        out
    }
}

/// The node a rule's peer is drawn as.
fn node_of_peer(program: &Program, peer: &Peer) -> Node {
    match peer {
        Peer::Workload(w) => Node::Workload(*w),
        Peer::Namespace(n) => Node::Namespace(program.namespace(*n).name.clone()),
        Peer::NamespaceSet(s) => Node::NamespaceSet(*s),
        Peer::WorkloadIn(w, s) => Node::WorkloadIn(*w, *s),
        Peer::Cidr(c) => Node::Net(c.clone()),
        Peer::Entity(e) => Node::Entity(*e),
        Peer::Fqdn(f) => Node::Fqdn(f.clone()),
    }
}

/// How far a node stands for each point: as the peer it is covers it in a rule.
fn membership(program: &Program, u: &Universe, node: &Node) -> Vec<Match> {
    let cover = match node {
        Node::Namespace(name) => {
            let mut v = vec![Match::No; u.len()];
            if let Some(z) = u.zone_named(name) {
                for p in &u.zone(z).pods {
                    v[*p as usize] = Match::Yes;
                }
            }
            return v;
        }
        Node::Workload(w) => peer_coverage(program, u, &Peer::Workload(*w)),
        Node::NamespaceSet(s) => peer_coverage(program, u, &Peer::NamespaceSet(*s)),
        Node::WorkloadIn(w, s) => peer_coverage(program, u, &Peer::WorkloadIn(*w, *s)),
        Node::Net(c) => peer_coverage(program, u, &Peer::Cidr(c.clone())),
        Node::Entity(e) => peer_coverage(program, u, &Peer::Entity(*e)),
        Node::Fqdn(f) => peer_coverage(program, u, &Peer::Fqdn(f.clone())),
    };
    u.ids().map(|p| cover.get(u, p)).collect()
}

// ---- what the renderers share ------------------------------------------------------------

/// The three kinds of drawn edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Allowed,
    Denied,
    Dropped,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Allowed, Kind::Denied, Kind::Dropped];

    /// The legend's words.
    pub fn legend(self) -> &'static str {
        match self {
            Kind::Allowed => "allowed",
            Kind::Denied => "denied by a deny rule",
            Kind::Dropped => "allowed by one side only: dropped",
        }
    }
}

/// One line to draw: an ordered pair of nodes, a kind and its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'g> {
    pub from: &'g Node,
    pub to: &'g Node,
    pub kind: Kind,
    pub label: String,
}

impl Graph {
    /// Takes out the edges from workloads to `kube-dns` that only allow, with the label most
    /// of them have (ties: the first label in order), when two or more have it; the
    /// `kube-dns` node then says it in a note instead ([`Graph::node_label`]). Such edges are
    /// most of a diagram of a program with restricted egress, one per workload, all alike.
    /// Edges with another label, a deny or a dropped part stay, and so does the node.
    pub fn fold_dns(&mut self) {
        let dns = Node::Entity(Entity::KubeDns);
        let plain = |(from, to): &(Node, Node), e: &Edge| {
            matches!(from, Node::Workload(_))
                && *to == dns
                && e.denied.is_empty()
                && e.dropped.is_empty()
                && !e.unrestricted
                && !e.allowed.possible.is_empty()
        };
        let mut by_label: BTreeMap<String, Vec<(Node, Node)>> = BTreeMap::new();
        for (key, e) in self.edges.iter().filter(|(k, e)| plain(k, e)) {
            by_label.entry(allowed_label(e)).or_default().push(key.clone());
        }
        // The most frequent label; `max_by_key` keeps the last of equals, so walk backwards.
        let Some((label, keys)) = by_label.into_iter().rev().max_by_key(|(_, keys)| keys.len()) else {
            return;
        };
        if keys.len() < 2 {
            return;
        }
        for key in &keys {
            self.edges.remove(key);
        }
        self.dns = Some(SharedDns { label, workloads: keys.len() });
    }

    /// The text inside a node: [`label`], and on `kube-dns` the note of the edges
    /// [`Graph::fold_dns`] took out.
    pub fn node_label(&self, program: &Program, node: &Node) -> String {
        let text = label(program, node);
        match (&self.dns, node) {
            (Some(d), Node::Entity(Entity::KubeDns)) => {
                let all = program.workloads.len();
                let from = if d.workloads == all {
                    "every workload".to_string()
                } else {
                    format!("{} of {all} workloads", d.workloads)
                };
                format!("{text}\n{} from {from}", d.label)
            }
            _ => text,
        }
    }

    /// Every line to draw, in order: by pair of nodes, then allowed, denied, dropped.
    pub fn lines(&self) -> Vec<Line<'_>> {
        let mut out = Vec::new();
        for ((from, to), e) in &self.edges {
            let mut add = |kind, label: String| out.push(Line { from, to, kind, label });
            if !e.allowed.possible.is_empty() {
                add(Kind::Allowed, allowed_label(e));
            }
            if !e.denied.is_empty() {
                add(Kind::Denied, format!("deny {}", e.denied));
            }
            if !e.dropped.is_empty() {
                add(Kind::Dropped, format!("dropped {}", e.dropped));
            }
        }
        out
    }

    /// The kinds of line the diagram has, for its legend.
    pub fn kinds(&self) -> Vec<Kind> {
        let lines = self.lines();
        Kind::ALL.into_iter().filter(|k| lines.iter().any(|l| l.kind == *k)).collect()
    }

    /// Namespaces in program order (then others), each with its nodes; then the nodes outside
    /// every namespace.
    pub fn layout<'g>(&'g self, program: &Program) -> (Vec<(String, Vec<&'g Node>)>, Vec<&'g Node>) {
        let mut groups: Vec<(String, Vec<&Node>)> =
            program.namespaces.iter().map(|n| (n.name.clone(), Vec::new())).collect();
        let mut outside = Vec::new();
        for node in self.nodes.keys() {
            let ns = match node {
                Node::Workload(w) => Some(program.namespace(program.workload(*w).namespace).name.clone()),
                Node::Namespace(n) => Some(n.clone()),
                _ => None,
            };
            let Some(ns) = ns else {
                outside.push(node);
                continue;
            };
            match groups.iter_mut().find(|g| g.0 == ns) {
                Some(g) => g.1.push(node),
                None => groups.push((ns, vec![node])),
            }
        }
        groups.retain(|g| !g.1.is_empty());
        (groups, outside)
    }
}

fn allowed_label(e: &Edge) -> String {
    let Cell { certain, possible } = &e.allowed;
    let maybe = possible.subtract(certain);
    let mut label = match (certain.is_empty(), maybe.is_empty()) {
        (false, true) => certain.to_string(),
        (true, _) => format!("maybe {maybe}"),
        (false, false) => format!("{certain}; maybe {maybe}"),
    };
    if e.unrestricted {
        label.push_str(" (not isolated)");
    }
    label
}

/// A stable, unique key naming a node: `ns/name`, `namespace ns`, a network, a keyword.
pub fn key(program: &Program, node: &Node) -> String {
    match node {
        Node::Workload(w) => program.qualified_name(*w),
        Node::Namespace(n) => format!("namespace {n}"),
        Node::NamespaceSet(s) => format!("namespaces {}", program.namespace_set(*s).name),
        Node::WorkloadIn(w, s) => {
            format!("{} in {}", program.qualified_name(*w), program.namespace_set(*s).name)
        }
        Node::Net(c) => net_text(c),
        Node::Entity(e) => e.keyword().to_string(),
        Node::Fqdn(f) => format!("\"{f}\""),
    }
}

/// The text inside a node.
pub fn label(program: &Program, node: &Node) -> String {
    match node {
        Node::Workload(w) => program.workload(*w).name.clone(),
        Node::Namespace(n) => format!("all pods of {n}"),
        Node::NamespaceSet(s) => format!("namespaces {}", program.namespace_set(*s).name),
        Node::WorkloadIn(w, s) => {
            format!("{} in {}", program.workload(*w).name, program.namespace_set(*s).name)
        }
        Node::Entity(Entity::KubeDns) => "kube-dns (cluster DNS)".to_string(),
        Node::Entity(Entity::Host) => "host (the node)".to_string(),
        Node::Entity(Entity::Cluster) => "cluster (every pod)".to_string(),
        Node::Fqdn(f) => f.clone(),
        _ => key(program, node),
    }
}

fn net_text(c: &CidrBlock) -> String {
    match c.except.as_slice() {
        [] => c.net.to_string(),
        [one] => format!("{} except {one}", c.net),
        many => {
            let list: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{} except ({})", c.net, list.join(", "))
        }
    }
}

/// An identifier made of ASCII letters, digits and `_` only, different for different keys:
/// every other character becomes `_` and its code in hex, then `_`.
pub fn ident(prefix: &str, key: &str) -> String {
    let mut out = String::from(prefix);
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("_{:x}_", c as u32));
        }
    }
    out
}

/// Which diagram to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
    Svg,
}

/// The diagram in one format; an SVG too large to lay out is E0501.
pub fn render(program: &Program, g: &Graph, format: Format) -> Result<String, Box<Diagnostic>> {
    match format {
        Format::Mermaid => Ok(mermaid::render(program, g)),
        Format::Dot => Ok(dot::render(program, g)),
        Format::Svg => svg::render(program, g).map_err(|e| Box::new(too_large(program, g, e))),
    }
}

/// E0501, at the rule that names the most peers (the first of them), else at the first
/// workload.
fn too_large(program: &Program, g: &Graph, e: svg::TooLarge) -> Diagnostic {
    let widest = program.rules.iter().rev().max_by_key(|r| r.peers.len());
    let (span, label) = match widest {
        Some(r) => (r.origin, format!("this rule names {} peers", r.peers.len())),
        None => (program.workloads.first().map(|w| w.span).unwrap_or_default(), "declared here".to_string()),
    };
    let lines = g.lines().len();
    Diagnostic::error(
        "E0501",
        format!(
            "the diagram is too large to lay out as SVG: {} nodes and {lines} edges take {} boxes, more than {}",
            g.nodes.len(),
            e.boxes,
            svg::MAX_LAYOUT_BOXES
        ),
        span,
        label,
    )
    .with_help(
        "use `--format dot` and render it with Graphviz (`netpol graph --format dot FILE | dot -Tsvg -o graph.svg`), \
         or `--format mermaid`",
    )
}
