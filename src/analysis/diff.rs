//! What a policy change changes: two readings (OLD and NEW) over one universe, compared
//! connection by connection.
//!
//! Each reading gives every connection a range of ports: certainly allowed, possibly allowed
//! ([`Cell`]). A port is
//! - **added** when NEW certainly allows it and OLD never does;
//! - **removed** when OLD certainly allows it and NEW never does;
//! - **possibly** changed when the ranges differ on it otherwise: one side leaves it open
//!   (possibly allowed) where the other decides, or both leave it open differently. These are
//!   never shown as added or removed.
//!
//! Connections are compared, not sides: a changed egress rule that the destination's ingress
//! denies anyway changes no connection. Only the sides whose rows differ are looked at, and
//! for each of them every other point of the universe, so nothing that changes is missed.
//!
//! Changes are grouped for people: the connections of one kind on one port set from one
//! source to several destinations, then those groups with equal destinations merged across
//! sources. Each group keeps one witness connection and port.

use super::matrix::{Meets, Rows, Semantics};
use super::ports::{Port, PortSet};
use super::side::Cell;
use super::universe::{PointId, Universe};
use std::collections::HashMap;

/// What happened to a set of ports of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Added,
    Removed,
    Possibly,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Possibly => "possibly",
        }
    }

    /// The change seen from the other side (`diff B A`).
    pub fn mirror(self) -> Change {
        match self {
            Change::Added => Change::Removed,
            Change::Removed => Change::Added,
            Change::Possibly => Change::Possibly,
        }
    }
}

/// Connections from every point of `from` to every point of `to` that changed alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub change: Change,
    /// Sources and destinations, in point order.
    pub from: Vec<PointId>,
    pub to: Vec<PointId>,
    pub ports: PortSet,
    /// One connection of the group and one port of it.
    pub witness: (PointId, PointId, Port),
}

/// One connection whose range differs, with both readings' cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub from: PointId,
    pub to: PointId,
    pub old: Cell,
    pub new: Cell,
}

impl Connection {
    /// The ports of each kind of change (empty sets left out).
    pub fn changes(&self) -> Changes {
        changes(&self.old, &self.new)
    }
}

/// The ports of each kind of change from cell `a` to cell `b` (empty sets left out).
fn changes(a: &Cell, b: &Cell) -> Changes {
    let added = b.certain.subtract(&a.possible);
    let removed = a.certain.subtract(&b.possible);
    let sym = |x: &PortSet, y: &PortSet| x.subtract(y).union(&y.subtract(x));
    let changed = sym(&a.certain, &b.certain).union(&sym(&a.possible, &b.possible));
    let possibly = changed.subtract(&added).subtract(&removed);
    [(Change::Added, added), (Change::Removed, removed), (Change::Possibly, possibly)]
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// Every connection whose range differs between `old` and `new`, in (source, destination)
/// order: every pair's two cells found on their own, with none of [`diff`]'s shortcuts (which
/// pairs can differ, cells met once per row), so the tests hold [`diff`] against it.
pub fn connections(u: &Universe, old: &dyn Semantics, new: &dyn Semantics) -> Vec<Connection> {
    let (old, new) = (Rows::build(old, u), Rows::build(new, u));
    let mut out = Vec::new();
    for from in u.ids() {
        for to in u.ids().filter(|&d| d != from) {
            let (a, b) = (old.cell(u, from, to), new.cell(u, from, to));
            if a != b {
                out.push(Connection { from, to, old: a, new: b });
            }
        }
    }
    out
}

/// Both readings' rows, and which sides differ.
struct Changed<'u> {
    u: &'u Universe,
    old: Rows,
    new: Rows,
    egress: Vec<bool>,
    /// Every point, where some egress changed; the points whose ingress changed.
    all: Vec<PointId>,
    ingress_changed: Vec<PointId>,
}

impl<'u> Changed<'u> {
    fn new(u: &'u Universe, old: &dyn Semantics, new: &dyn Semantics) -> Self {
        let (ra, rb) = (Rows::build(old, u), Rows::build(new, u));
        let changed = |rows_a: &[super::side::Row], rows_b: &[super::side::Row]| -> Vec<bool> {
            rows_a.iter().zip(rows_b).map(|(x, y)| x != y).collect()
        };
        let (egress, ingress) = (changed(&ra.egress, &rb.egress), changed(&ra.ingress, &rb.ingress));
        let ingress_changed: Vec<PointId> = u.ids().filter(|d| ingress[*d as usize]).collect();
        let all: Vec<PointId> = if egress.contains(&true) { u.ids().collect() } else { Vec::new() };
        Changed { u, old: ra, new: rb, egress, all, ingress_changed }
    }

    /// The connections of source `s` that changed (destination, old cell, new cell), in order.
    /// Each pair is looked at once: every destination of a source whose egress changed, else
    /// the destinations whose ingress changed. Rows share equal cells, so a row holds few
    /// distinct pairs of them: each side's meet of a pair is found once ([`Meets`]), and
    /// whether the two meets differ once per pair of meets.
    fn row(&self, s: PointId) -> ChangedRow<'_> {
        let u = self.u;
        let destinations: &[PointId] =
            if self.egress[s as usize] { &self.all } else { &self.ingress_changed };
        let mut row = ChangedRow { old: Meets::default(), new: Meets::default(), changed: Vec::new() };
        let mut differ: rustc_hash::FxHashMap<(usize, usize), bool> = rustc_hash::FxHashMap::default();
        for &d in destinations.iter().filter(|&&d| d != s) {
            let (a, b) = (row.old.of(&self.old, u, s, d), row.new.of(&self.new, u, s, d));
            if *differ.entry((a, b)).or_insert_with(|| row.old.cells[a] != row.new.cells[b]) {
                row.changed.push((d, a, b));
            }
        }
        row
    }
}

/// A source's changed connections: (destination, old cell, new cell) by the cells' places in
/// the two sides' meets.
struct ChangedRow<'r> {
    old: Meets<'r>,
    new: Meets<'r>,
    changed: Vec<(PointId, usize, usize)>,
}

impl ChangedRow<'_> {
    fn iter(&self) -> impl Iterator<Item = (PointId, &Cell, &Cell)> {
        self.changed.iter().map(|&(d, a, b)| (d, &self.old.cells[a], &self.new.cells[b]))
    }
}

/// The changes of `connections` (in source order, as [`connections`] gives them), grouped.
pub fn group(connections: &[Connection]) -> Vec<Group> {
    let mut groups = Groups::default();
    let mut last = None;
    for run in connections.chunk_by(|a, b| a.from == b.from) {
        let from = run[0].from;
        groups.add(from, by_ports(run.iter().map(|c| (c.to, &c.old, &c.new)), &mut last));
    }
    groups.finish()
}

/// Every change from `old` to `new` over `u`, grouped. The sources are taken in waves, each
/// wave's changed connections found on every core and grouped in source order, so only a
/// wave's are held (a change that reaches most pairs, such as a cluster-wide default deny,
/// changes a number of connections that grows with the square of the points).
pub fn diff(u: &Universe, old: &dyn Semantics, new: &dyn Semantics) -> Vec<Group> {
    // A wave's destinations lists hold at most about 16 million points, and each thread
    // takes several blocks of a wave.
    let threads = crate::par::threads();
    let wave = ((1usize << 24) / u.len().max(1)).clamp(4 * threads, 64 * threads);
    diff_in_waves(u, old, new, wave)
}

/// [`diff`], `wave` sources at a time.
fn diff_in_waves(u: &Universe, old: &dyn Semantics, new: &dyn Semantics, wave: usize) -> Vec<Group> {
    let changed = Changed::new(u, old, new);
    let mut groups = Groups::default();
    let n = u.len();
    for start in (0..n).step_by(wave) {
        let end = (start + wave).min(n);
        let found = crate::par::blocks(end - start, 16, |range| {
            let mut last = None;
            range
                .map(|i| {
                    let s = (start + i) as PointId;
                    (s, by_ports(changed.row(s).iter(), &mut last))
                })
                .collect::<Vec<_>>()
        });
        for (s, by_ports) in found.into_iter().flatten() {
            groups.add(s, by_ports);
        }
    }
    groups.finish()
}

/// The kinds of change of one connection, each with its ports ([`Connection::changes`]).
type Changes = Vec<(Change, PortSet)>;

/// The changes of the last pair of cells a source's changes were found for (equal cells
/// follow each other along a row).
type LastChanges = Option<(Cell, Cell, Changes)>;

/// A source's changed connections (destinations in order) by (change, ports), in order of
/// first appearance: the destinations.
fn by_ports<'c>(
    row: impl Iterator<Item = (PointId, &'c Cell, &'c Cell)>,
    last: &mut LastChanges,
) -> Vec<(Change, PortSet, Vec<PointId>)> {
    let mut by_ports: Vec<(Change, PortSet, Vec<PointId>)> = Vec::new();
    let mut slot_of: HashMap<(Change, PortSet), usize> = HashMap::new();
    // The slots of the last pair of cells' changes, while the cells stay the same.
    let mut slots: Option<Vec<usize>> = None;
    for (to, old, new) in row {
        let same = last.as_ref().is_some_and(|(a, b, _)| a == old && b == new);
        if !same {
            *last = Some((old.clone(), new.clone(), changes(old, new)));
        }
        if !same || slots.is_none() {
            let (_, _, changes) = last.as_ref().expect("set above");
            let slot = |(change, ports): &(Change, PortSet)| {
                *slot_of.entry((*change, ports.clone())).or_insert_with(|| {
                    by_ports.push((*change, ports.clone(), Vec::new()));
                    by_ports.len() - 1
                })
            };
            slots = Some(changes.iter().map(slot).collect());
        }
        for &slot in slots.as_deref().unwrap_or_default() {
            by_ports[slot].2.push(to);
        }
    }
    by_ports
}

/// Changes grouped as they come, a source at a time: a source's destinations by (change,
/// ports) ([`by_ports`]), merged across sources where destinations, change and ports are equal.
#[derive(Default)]
struct Groups {
    groups: Vec<Group>,
    /// The groups by the hash of their change, destinations and ports (not by a copy of them:
    /// a change that reaches most pairs has a group per source, each with most destinations).
    index: HashMap<u64, Vec<usize>>,
}

impl Groups {
    /// Source `from`'s changes, sources in order.
    fn add(&mut self, from: PointId, by_ports: Vec<(Change, PortSet, Vec<PointId>)>) {
        for (change, ports, to) in by_ports {
            use std::hash::BuildHasher;
            let hash = rustc_hash::FxBuildHasher.hash_one((change, &to, &ports));
            let groups = &mut self.groups;
            let same =
                |&i: &usize| groups[i].change == change && groups[i].to == to && groups[i].ports == ports;
            match self.index.get(&hash).and_then(|is| is.iter().copied().find(same)) {
                Some(i) => self.groups[i].from.push(from),
                None => {
                    let Some(port) = ports.sample() else { continue };
                    let witness = (from, to[0], port);
                    self.index.entry(hash).or_default().push(self.groups.len());
                    self.groups.push(Group { change, from: vec![from], to, ports, witness });
                }
            }
        }
    }

    fn finish(self) -> Vec<Group> {
        sorted(self.groups)
    }
}

/// Groups in the order they are shown: by change, sources, destinations and ports.
fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| {
        (a.change, &a.from, &a.to, a.ports.to_string()).cmp(&(b.change, &b.from, &b.to, b.ports.to_string()))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Protocol;

    fn cell(certain: PortSet, possible: PortSet) -> Cell {
        Cell { certain, possible }
    }

    fn tcp(lo: u16, hi: u16) -> PortSet {
        PortSet::range(Protocol::Tcp, lo, hi)
    }

    #[test]
    fn diff_an_added_port_is_added_and_mirrors_as_removed() {
        let c = Connection {
            from: 0,
            to: 1,
            old: cell(tcp(80, 80), tcp(80, 80)),
            new: cell(tcp(80, 81), tcp(80, 81)),
        };
        assert_eq!(c.changes(), vec![(Change::Added, tcp(81, 81))]);
        let back = Connection { from: 0, to: 1, old: c.new.clone(), new: c.old.clone() };
        assert_eq!(back.changes(), vec![(Change::Removed, tcp(81, 81))]);
    }

    #[test]
    fn diff_a_port_one_side_leaves_open_is_possibly_never_added() {
        let old = cell(PortSet::empty(), tcp(80, 80));
        let new = cell(tcp(80, 80), tcp(80, 80));
        let c = Connection { from: 0, to: 1, old, new };
        assert_eq!(c.changes(), vec![(Change::Possibly, tcp(80, 80))]);
    }

    /// The grouping as it was made from every changed connection at once.
    fn group_whole(connections: &[Connection]) -> Vec<Group> {
        let mut by_source: Vec<(Change, PointId, PortSet, Vec<PointId>)> = Vec::new();
        let mut index: HashMap<(Change, PointId, PortSet), usize> = HashMap::new();
        for c in connections {
            for (change, ports) in c.changes() {
                match index.get(&(change, c.from, ports.clone())) {
                    Some(&i) => by_source[i].3.push(c.to),
                    None => {
                        index.insert((change, c.from, ports.clone()), by_source.len());
                        by_source.push((change, c.from, ports, vec![c.to]));
                    }
                }
            }
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<(Change, Vec<PointId>, PortSet), usize> = HashMap::new();
        for (change, from, ports, to) in by_source {
            let key = (change, to, ports);
            match index.get(&key) {
                Some(&i) => groups[i].from.push(from),
                None => {
                    let Some(port) = key.2.sample() else { continue };
                    let witness = (from, key.1[0], port);
                    groups.push(Group {
                        change,
                        from: vec![from],
                        to: key.1.clone(),
                        ports: key.2.clone(),
                        witness,
                    });
                    index.insert(key, groups.len() - 1);
                }
            }
        }
        sorted(groups)
    }

    /// The program of `text`, if it parses and resolves.
    fn program(text: &str) -> Option<crate::ir::Program> {
        let mut sources = crate::span::SourceMap::new();
        let file = sources.add("test.netpol", text.to_string());
        let ast = crate::syntax::parse(file, sources.text(file)).ok()?;
        Some(crate::resolve::resolve(&sources, &[(file, ast)], &[]).ok()?.program)
    }

    /// Each example against itself with some of its rules left out, and with a cluster-wide
    /// default deny added (a change that reaches most pairs), both ways: grouped a source at a
    /// time as every connection at once.
    #[test]
    fn diff_a_source_at_a_time_groups_as_every_connection_at_once() {
        use crate::analysis::reach::SourceSemantics;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("examples")
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "netpol"))
            .collect();
        paths.sort();
        let (mut compared, mut most) = (0, 0);
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("read");
            let fewer: String = text
                .lines()
                .enumerate()
                .filter(|(i, l)| i % 3 != 0 || !(l.contains(" accepts ") || l.contains(" connects to ")))
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let denied = format!("default deny all\n{text}");
            let mut sides = vec![program(&text).expect("an example resolves")];
            sides.extend([fewer, denied].iter().filter_map(|other| program(other)));
            for (a, b) in
                [(0, 1), (1, 0), (0, 2), (2, 0)].into_iter().filter(|(a, b)| *a.max(b) < sides.len())
            {
                let (po, pn) = (&sides[a], &sides[b]);
                let pop = crate::world::universe::build_for(&crate::world::World::default(), &[po, pn], &[]);
                let Some(bound) = pop.bound_to(pn) else { continue };
                let u = &pop.universe;
                let (so, sn) = (SourceSemantics::new(po, u), SourceSemantics::new(pn, &bound));
                let connections = connections(u, &so, &sn);
                let groups = diff(u, &so, &sn);
                assert_eq!(groups, group_whole(&connections), "{}: {a} against {b}", path.display());
                for wave in [1, 3] {
                    let in_waves = diff_in_waves(u, &so, &sn, wave);
                    assert_eq!(in_waves, groups, "{}: {a} against {b}, waves of {wave}", path.display());
                }
                assert_eq!(group(&connections), groups, "{}: {a} against {b}", path.display());
                compared += 1;
                most = most.max(groups.len());
            }
        }
        assert!(compared > 20 && most > 5, "{compared} diffs compared, at most {most} groups");
    }

    #[test]
    fn diff_groups_destinations_then_sources() {
        let changed = |from, to| Connection {
            from,
            to,
            old: cell(PortSet::empty(), PortSet::empty()),
            new: cell(tcp(5432, 5432), tcp(5432, 5432)),
        };
        let groups = group(&[changed(0, 2), changed(0, 3), changed(1, 2), changed(1, 3)]);
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].from.clone(), groups[0].to.clone()), (vec![0, 1], vec![2, 3]));
        assert_eq!(groups[0].change, Change::Added);
    }
}
