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

use super::matrix::{Rows, Semantics};
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
    pub fn changes(&self) -> Vec<(Change, PortSet)> {
        let (a, b) = (&self.old, &self.new);
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
}

/// Every connection whose range differs between `old` and `new`, in (source, destination)
/// order.
pub fn connections(u: &Universe, old: &dyn Semantics, new: &dyn Semantics) -> Vec<Connection> {
    let (ra, rb) = (Rows::build(old, u), Rows::build(new, u));
    let changed = |rows_a: &[super::side::Row], rows_b: &[super::side::Row]| -> Vec<bool> {
        rows_a.iter().zip(rows_b).map(|(x, y)| x != y).collect()
    };
    let (egress, ingress) = (changed(&ra.egress, &rb.egress), changed(&ra.ingress, &rb.ingress));
    let ingress_changed: Vec<PointId> = u.ids().filter(|d| ingress[*d as usize]).collect();
    let mut out = Vec::new();
    // Each pair once, in order: every destination of a source whose egress changed, else the
    // destinations whose ingress changed.
    for s in u.ids() {
        let all: Vec<PointId>;
        let destinations: &[PointId] = if egress[s as usize] {
            all = u.ids().collect();
            &all
        } else {
            &ingress_changed
        };
        for &d in destinations {
            if s == d {
                continue;
            }
            let (old, new) = (ra.cell(u, s, d), rb.cell(u, s, d));
            if old != new {
                out.push(Connection { from: s, to: d, old, new });
            }
        }
    }
    out
}

/// The changes of `connections`, grouped.
pub fn group(connections: &[Connection]) -> Vec<Group> {
    // By (change, source, ports): the destinations.
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
    // By (change, destinations, ports): the sources.
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
    groups.sort_by(|a, b| {
        (a.change, &a.from, &a.to, a.ports.to_string()).cmp(&(b.change, &b.from, &b.to, b.ports.to_string()))
    });
    groups
}

/// Every change from `old` to `new` over `u`, grouped.
pub fn diff(u: &Universe, old: &dyn Semantics, new: &dyn Semantics) -> Vec<Group> {
    group(&connections(u, old, new))
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
