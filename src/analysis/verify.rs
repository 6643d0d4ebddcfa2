//! A target's manifests against the source: every side of every point, compared region by
//! region, with a witness connection for each difference.
//!
//! The source leaves some facts open ([`Match::Maybe`](super::side::Match)), so it gives a range
//! for each connection: what it certainly allows and what it possibly allows. A target agrees
//! when its own range lies inside: it allows at least what the source certainly allows (nothing
//! the source promises breaks) and at most what the source possibly allows (nothing the source
//! never allows opens). A CNI decides some open facts (Cilium never matches pods by address), so
//! its range may be narrower than the source's.

use super::matrix::Rows;
use super::ports::{Port, PortSet};
use super::side::{Cell, Region, Row};
use super::universe::{Kind, PointId, Universe};
use crate::ir::Direction;

/// One connection where a target and the source disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The point whose policies differ.
    pub subject: PointId,
    pub direction: Direction,
    /// The other end of the connection.
    pub other: PointId,
    pub port: Port,
    /// What the source says of this port: certainly, possibly or never allowed.
    pub source: Verdict,
    pub target: Verdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Certainly,
    Possibly,
    Never,
}

impl Verdict {
    /// What `cell` says of one port.
    pub fn of_port(cell: &Cell, port: &Port) -> Verdict {
        Verdict::of(cell, &port.to_set())
    }

    fn of(cell: &Cell, port: &PortSet) -> Verdict {
        if port.is_subset(&cell.certain) {
            Verdict::Certainly
        } else if port.meets(&cell.possible) {
            Verdict::Possibly
        } else {
            Verdict::Never
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Certainly => "allowed",
            Verdict::Possibly => "possibly allowed",
            Verdict::Never => "not allowed",
        }
    }
}

impl Difference {
    /// The connection: (source, destination).
    pub fn connection(&self) -> (PointId, PointId) {
        match self.direction {
            Direction::Egress => (self.subject, self.other),
            Direction::Ingress => (self.other, self.subject),
        }
    }

    pub fn describe(&self, u: &Universe, target: &str) -> String {
        let (s, d) = self.connection();
        format!(
            "{} -> {} on {}: the source says {}, {target} says {} ({} of {})",
            u.point(s).name,
            u.point(d).name,
            self.port,
            self.source.as_str(),
            self.target.as_str(),
            self.direction.as_str(),
            u.point(self.subject).name
        )
    }
}

/// Every difference between the rows of the source and a target; at most one per region of a
/// side. Points in blocks, on every core; the differences in point order.
pub fn compare(u: &Universe, source: &Rows, target: &Rows) -> Vec<Difference> {
    let parts = crate::par::blocks(u.len(), 512, |range| {
        let mut out = Vec::new();
        for p in range {
            for (dir, a, b) in [
                (Direction::Ingress, &source.ingress[p], &target.ingress[p]),
                (Direction::Egress, &source.egress[p], &target.egress[p]),
            ] {
                if a == b {
                    continue;
                }
                compare_rows(u, p as PointId, dir, a, b, &mut out);
            }
        }
        out
    });
    parts.concat()
}

/// The differences of one side: where `b`'s range is not inside `a`'s.
pub fn compare_rows(
    u: &Universe,
    subject: PointId,
    direction: Direction,
    a: &Row,
    b: &Row,
    out: &mut Vec<Difference>,
) {
    let mut check = |other: PointId, x: &Cell, y: &Cell| {
        if let Some(port) = witness(x, y) {
            let set = port.to_set();
            out.push(Difference {
                subject,
                direction,
                other,
                source: Verdict::of(x, &set),
                target: Verdict::of(y, &set),
                port,
            });
        }
    };
    // Points either row names.
    let mut named: Vec<PointId> = a.points.iter().chain(&b.points).map(|x| x.0).collect();
    named.sort_unstable();
    named.dedup();
    for &p in &named {
        check(p, a.get(u, p), b.get(u, p));
    }
    // Regions: every zone either row lists, and every kind; each at a point neither row names.
    let mut regions: Vec<Region> = Kind::ALL.into_iter().map(Region::Kind).collect();
    regions.extend(a.generic.zones.iter().chain(&b.generic.zones).map(|z| Region::Zone(z.0)));
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        let (x, y) = (a.generic.at(region), b.generic.at(region));
        if x == y {
            continue;
        }
        let Some(p) = representative(u, region, a, b, &named) else { continue };
        check(p, x, y);
    }
}

/// A port on which the target's range leaves the source's.
fn witness(source: &Cell, target: &Cell) -> Option<Port> {
    source
        .certain
        .subtract(&target.certain)
        .sample()
        .or_else(|| target.possible.subtract(&source.possible).sample())
}

/// The lowest point of `region` that falls in it in both rows (no point entry, no zone entry
/// for the kind region). Looks at the region's own points only, in order.
fn representative(u: &Universe, region: Region, a: &Row, b: &Row, named: &[PointId]) -> Option<PointId> {
    let listed = |z| {
        a.generic.zones.binary_search_by_key(&z, |x| x.0).is_ok()
            || b.generic.zones.binary_search_by_key(&z, |x| x.0).is_ok()
    };
    let unnamed = |p: &&PointId| named.binary_search(p).is_err();
    match region {
        Region::Zone(z) => u.zone(z).pods.iter().find(unnamed).copied(),
        Region::Kind(Kind::Pod) => u
            .points_of_kind(Kind::Pod)
            .iter()
            .filter(unnamed)
            .find(|p| u.point(**p).zone.is_some_and(|z| !listed(z)))
            .copied(),
        Region::Kind(k) => {
            u.points_of_kind(k).iter().filter(unnamed).find(|p| u.point(**p).zone.is_none()).copied()
        }
    }
}
