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
//! adds nothing (the tests check it); for a target it shows what the target allows beyond
//! the rules.

pub mod dot;
pub mod mermaid;
pub mod svg;

use crate::analysis::matrix::{node_to_its_pod, Rows, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::peer_coverage;
use crate::analysis::side::{Cell, Match};
use crate::analysis::universe::{PointId, Role, Universe};
use crate::ir::{Action, CidrBlock, Direction, Entity, NamespaceSetId, Peer, Program, WorkloadId};
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
fn complete(program: &Program, u: &Universe, rows: &Rows, g: &mut Graph) {
    let governed: Vec<bool> = {
        let mut v = vec![false; u.len()];
        for key in g.nodes.keys() {
            if let Node::Workload(_) = key {
                for (p, m) in g.nodes[key].iter().enumerate() {
                    v[p] |= *m == Match::Yes;
                }
            }
        }
        v
    };
    let mut missing: Vec<(PointId, PointId, Cell)> = Vec::new();
    rows.for_each_allowed(u, |s, d, cell| {
        // The node always reaches the pods on it, whatever the policies say: not drawn.
        if (!governed[s as usize] && !governed[d as usize]) || node_to_its_pod(u, s, d) {
            return;
        }
        let covered = g.covered(s, d);
        let rest = Cell {
            certain: cell.certain.subtract(&covered.certain),
            possible: cell.possible.subtract(&covered.possible),
        };
        if !rest.certain.is_empty() || !rest.possible.is_empty() {
            missing.push((s, d, rest));
        }
    });
    g.extra = missing.len();
    for (s, d, cell) in missing {
        let key = (g.node_of_point(u, s), g.node_of_point(u, d));
        g.node(program, u, key.0.clone());
        g.node(program, u, key.1.clone());
        let e = g.edges.entry(key).or_default();
        e.allowed = union(&e.allowed, &cell);
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
        let mut out = Cell::none();
        for (q, m) in self.nodes[other].iter().enumerate() {
            if *m == Match::No {
                continue;
            }
            let q = q as PointId;
            let c = if dir == Direction::Egress { rows.cell(u, me, q) } else { rows.cell(u, q, me) };
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

    /// The node that names one point: its workload, its namespace, the narrowest network in the
    /// diagram that holds it, or the built-in peer it is.
    fn node_of_point(&self, u: &Universe, p: PointId) -> Node {
        let point = u.point(p);
        match &point.role {
            Role::Workload(w) => Node::Workload(*w),
            // Drawn as the node of the peer that named it.
            Role::Relocated(w) => self
                .nodes
                .iter()
                .find(|(n, m)| matches!(n, Node::WorkloadIn(x, _) if x == w) && m[p as usize] != Match::No)
                .map_or_else(|| Node::Workload(*w), |(n, _)| n.clone()),
            Role::KubeDns => Node::Entity(Entity::KubeDns),
            Role::Unlabelled => Node::Namespace(u.zone(point.zone.unwrap_or(0)).name.clone()),
            Role::World(_) => Node::Entity(Entity::World),
            Role::Host => Node::Entity(Entity::Host),
            Role::ApiServer => Node::Entity(Entity::KubeApiserver),
            Role::Address(ip) => {
                let narrowest = self
                    .nodes
                    .iter()
                    .filter_map(|(n, m)| match n {
                        Node::Net(c) if m[p as usize] == Match::Yes => Some(c),
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

/// The diagram in one format.
pub fn render(program: &Program, g: &Graph, format: Format) -> String {
    match format {
        Format::Mermaid => mermaid::render(program, g),
        Format::Dot => dot::render(program, g),
        Format::Svg => svg::render(program, g),
    }
}
