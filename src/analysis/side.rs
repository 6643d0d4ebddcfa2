//! One side of connections: what the policies of one point allow in one direction, towards
//! every other point of the [`Universe`].
//!
//! Every semantics (the source's, and each CNI's reading of its manifests) describes a side as
//! a list of [`Step`]s: clauses that allow, deny or pass some ports to the points they cover,
//! and, for tiered CNIs, the ends of tiers. How the steps combine is the [`Fold`]:
//! - [`Fold::Union`] (the source, Kubernetes, Cilium): an isolated side starts from nothing and
//!   an open one from everything; allows add, and denies take away whatever allowed it;
//! - [`Fold::Ordered`] (Calico): the first clause that matches a port decides it; `Pass` hands
//!   the port to the next tier; the end of a tier denies or passes what is left; what the last
//!   tier passes on is allowed (the profile).
//!
//! Coverage is three-valued ([`Match`]) because the source leaves some facts open (whether a
//! network holds a pod's or a node's address, whether an address is outside the cluster, which
//! labels a namespace has besides its name). Each side is folded twice: with open facts against
//! the connection (allows miss, denies hit), giving what is *certainly* allowed, and for it,
//! giving what is *possibly* allowed. A Pass that only possibly matches may lead either way
//! (the next tier may allow what this tier denies, or the other way round), so its ports are
//! denied in the first fold and allowed in the second.
//!
//! A [`Row`] is a side evaluated at every point, stored by regions: one value per kind of point,
//! one per namespace some clause singles out, and one per point some clause singles out. Nothing
//! is evaluated per point unless a clause names that point.

use super::ports::PortSet;
use super::universe::{Kind, PointId, Universe, ZoneId};
use crate::span::Span;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Match {
    #[default]
    No,
    Maybe,
    Yes,
}

/// The points a clause covers: per kind, overridden per namespace (for its pods), overridden
/// per point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Coverage {
    pub kinds: [Match; 4],
    /// Sorted by zone.
    pub zones: Vec<(ZoneId, Match)>,
    /// Sorted by point.
    pub points: Vec<(PointId, Match)>,
}

impl Coverage {
    pub fn none() -> Coverage {
        Coverage::default()
    }

    pub fn everything() -> Coverage {
        Coverage { kinds: [Match::Yes; 4], ..Coverage::default() }
    }

    /// Every point of one kind.
    pub fn kind(kind: Kind, m: Match) -> Coverage {
        let mut c = Coverage::none();
        c.kinds[kind.index()] = m;
        c
    }

    /// Every pod of some zones.
    pub fn zones(zones: impl IntoIterator<Item = (ZoneId, Match)>) -> Coverage {
        let mut c =
            Coverage { zones: zones.into_iter().filter(|z| z.1 != Match::No).collect(), ..Coverage::none() };
        c.zones.sort();
        c.zones.dedup_by_key(|z| z.0);
        c
    }

    /// Some points.
    pub fn points(points: impl IntoIterator<Item = (PointId, Match)>) -> Coverage {
        let mut c = Coverage {
            points: points.into_iter().filter(|p| p.1 != Match::No).collect(),
            ..Coverage::none()
        };
        c.points.sort();
        c.points.dedup_by_key(|p| p.0);
        c
    }

    pub fn is_none(&self) -> bool {
        self.kinds.iter().all(|m| *m == Match::No)
            && self.zones.iter().all(|z| z.1 == Match::No)
            && self.points.iter().all(|p| p.1 == Match::No)
    }

    /// How far the clause covers the pods of `zone` that no point entry names.
    pub fn zone_match(&self, zone: ZoneId) -> Match {
        match self.zones.binary_search_by_key(&zone, |z| z.0) {
            Ok(i) => self.zones[i].1,
            Err(_) => self.kinds[Kind::Pod.index()],
        }
    }

    pub fn get(&self, u: &Universe, p: PointId) -> Match {
        if let Ok(i) = self.points.binary_search_by_key(&p, |x| x.0) {
            return self.points[i].1;
        }
        let point = u.point(p);
        match point.zone {
            Some(z) => self.zone_match(z),
            None => self.kinds[point.kind().index()],
        }
    }

    /// The points either covers, each as far as the farther one covers it.
    pub fn union(&self, other: &Coverage, u: &Universe) -> Coverage {
        let kinds = std::array::from_fn(|i| self.kinds[i].max(other.kinds[i]));
        let mut zones: Vec<ZoneId> = self.zones.iter().chain(&other.zones).map(|z| z.0).collect();
        zones.sort_unstable();
        zones.dedup();
        let mut points: Vec<PointId> = self.points.iter().chain(&other.points).map(|p| p.0).collect();
        points.sort_unstable();
        points.dedup();
        Coverage {
            kinds,
            zones: zones.into_iter().map(|z| (z, self.zone_match(z).max(other.zone_match(z)))).collect(),
            points: points.into_iter().map(|p| (p, self.get(u, p).max(other.get(u, p)))).collect(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    Allow,
    Deny,
    Pass,
}

/// Where a clause comes from, for `why`: a line of the source, or a rule of an emitted object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    Source(Span),
    Manifest {
        /// `Kind namespace/name`: one string for every rule of the object (a reading holds an
        /// origin per clause).
        object: Arc<str>,
        /// Where in the object: `spec.ingress[1]`.
        rule: String,
        /// The `file:line` the object's annotations give for it.
        source: Option<String>,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Source(s) => write!(f, "{s:?}"),
            Origin::Manifest { object, rule, source: Some(line) } => {
                write!(f, "{object} {rule} (from {line})")
            }
            Origin::Manifest { object, rule, source: None } => write!(f, "{object} {rule}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Clause {
    pub cover: Arc<Coverage>,
    pub ports: PortSet,
    pub act: Act,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Clause(Clause),
    /// The end of a tier some policy of which applied: what no rule decided is denied, or
    /// passed to the next tier. Only in [`Fold::Ordered`].
    EndOfTier {
        pass: bool,
        origin: Origin,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fold {
    /// Allows add up, denies win. `isolated`: starts from nothing rather than everything.
    Union { isolated: bool },
    /// The first step that matches a port decides it; see the module comment.
    Ordered,
}

/// What one point's policies say in one direction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Side {
    pub fold: Fold,
    pub steps: Vec<Step>,
    /// What makes the side isolated, for explanations.
    pub isolation: Vec<Origin>,
}

/// The ports allowed towards one point: certainly, and possibly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cell {
    pub certain: PortSet,
    pub possible: PortSet,
}

impl Cell {
    pub fn all() -> Cell {
        Cell { certain: PortSet::all(), possible: PortSet::all() }
    }

    pub fn none() -> Cell {
        Cell::default()
    }

    pub fn intersect(&self, other: &Cell) -> Cell {
        Cell {
            certain: self.certain.intersect(&other.certain),
            possible: self.possible.intersect(&other.possible),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.possible.is_empty()
    }
}

/// How one step bore on one connection, for explanations.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    pub step: &'a Step,
    pub matched: Match,
    /// The ports this step decided (allowed, denied or passed), open facts for the connection.
    pub ports: PortSet,
}

impl Side {
    /// A side no policy polices: everything is allowed.
    pub fn open() -> Side {
        Side { fold: Fold::Union { isolated: false }, steps: Vec::new(), isolation: Vec::new() }
    }

    pub fn is_open(&self) -> bool {
        self.fold == (Fold::Union { isolated: false }) && self.steps.is_empty()
    }

    /// The ports allowed towards a point its clauses cover as `matched` says.
    pub fn eval(&self, matched: impl Fn(&Clause) -> Match) -> Cell {
        self.eval_signature(&self.signature(matched))
    }

    /// How each step matches one point (`No` for the ends of tiers): all a fold needs.
    fn signature(&self, matched: impl Fn(&Clause) -> Match) -> Vec<Match> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Clause(c) => matched(c),
                Step::EndOfTier { .. } => Match::No,
            })
            .collect()
    }

    fn eval_signature(&self, sig: &[Match]) -> Cell {
        let certain = self.fold_with(sig, false);
        // Without an open fact both folds are the same.
        if !sig.contains(&Match::Maybe) {
            return Cell { possible: certain.clone(), certain };
        }
        Cell { certain, possible: self.fold_with(sig, true) }
    }

    /// The ports allowed towards point `p`.
    pub fn at(&self, u: &Universe, p: PointId) -> Cell {
        self.eval(|c| c.cover.get(u, p))
    }

    /// Whether every port of `wanted` is possibly allowed towards point `p`: what the
    /// cross-side lints ask of each rule that names a workload. Same answer as
    /// `wanted.is_subset(&self.at(u, p).possible)`, without the fold where one clause settles it.
    pub fn possibly_allows(&self, u: &Universe, p: PointId, wanted: &PortSet) -> bool {
        self.possibly_allows_by(|c| c.cover.get(u, p), wanted)
    }

    fn possibly_allows_by(&self, matched: impl Fn(&Clause) -> Match, wanted: &PortSet) -> bool {
        // In a union, what is possibly allowed is every allow clause that can match, less the
        // deny and pass clauses that certainly match. With no deny or pass clause that can match
        // at all, one allow clause that can match and holds every wanted port answers yes.
        if matches!(self.fold, Fold::Union { .. }) {
            let mut covered = false;
            let mut settled = true;
            for step in &self.steps {
                let Step::Clause(c) = step else { continue };
                if matched(c) == Match::No {
                    continue;
                }
                match c.act {
                    Act::Allow => covered = covered || wanted.is_subset(&c.ports),
                    Act::Deny | Act::Pass => {
                        settled = false;
                        break;
                    }
                }
            }
            if settled && covered {
                return true;
            }
        }
        wanted.is_subset(&self.eval(matched).possible)
    }

    fn fold_with(&self, sig: &[Match], possible: bool) -> PortSet {
        // Open facts: for the connection when `possible`, else against it.
        let hits = |i: usize, c: &Clause| match sig[i] {
            Match::Yes => true,
            Match::No => false,
            Match::Maybe => possible == (c.act == Act::Allow),
        };
        match self.fold {
            Fold::Union { isolated } => {
                let mut allowed = if isolated { PortSet::empty() } else { PortSet::all() };
                let mut denied = PortSet::empty();
                for (i, step) in self.steps.iter().enumerate() {
                    let Step::Clause(c) = step else { continue };
                    if hits(i, c) {
                        match c.act {
                            Act::Allow => allowed = allowed.union(&c.ports),
                            Act::Deny | Act::Pass => denied = denied.union(&c.ports),
                        }
                    }
                }
                allowed.subtract(&denied)
            }
            Fold::Ordered => {
                let (mut allowed, mut open, mut passed) =
                    (PortSet::empty(), PortSet::all(), PortSet::empty());
                for (i, step) in self.steps.iter().enumerate() {
                    match step {
                        Step::Clause(c) => {
                            if open.is_empty() {
                                continue;
                            }
                            // A Pass that only possibly matches: passed, a later tier (or the
                            // profile) decides; not passed, this tier goes on. Either may be
                            // the one that allows, so the ports it would take are denied for
                            // what is certain and allowed for what is possible.
                            if sig[i] == Match::Maybe && c.act == Act::Pass {
                                let decided = open.intersect(&c.ports);
                                open = open.subtract(&decided);
                                if possible {
                                    allowed = allowed.union(&decided);
                                }
                                continue;
                            }
                            if !hits(i, c) {
                                continue;
                            }
                            let decided = open.intersect(&c.ports);
                            open = open.subtract(&decided);
                            match c.act {
                                Act::Allow => allowed = allowed.union(&decided),
                                Act::Deny => {}
                                Act::Pass => passed = passed.union(&decided),
                            }
                        }
                        Step::EndOfTier { pass, .. } => {
                            if *pass {
                                passed = passed.union(&open);
                            }
                            open = std::mem::take(&mut passed);
                        }
                    }
                }
                allowed.union(&open)
            }
        }
    }

    /// Every step that bears on the connection towards `p`, with the ports it decided.
    pub fn explain(&self, u: &Universe, p: PointId) -> Vec<Hit<'_>> {
        let mut out = Vec::new();
        let mut open = PortSet::all();
        for step in &self.steps {
            match step {
                Step::Clause(c) => {
                    let m = c.cover.get(u, p);
                    if m == Match::No {
                        continue;
                    }
                    let ports = match self.fold {
                        Fold::Union { .. } => c.ports.clone(),
                        Fold::Ordered => {
                            let d = open.intersect(&c.ports);
                            if m == Match::Yes {
                                open = open.subtract(&d);
                            }
                            d
                        }
                    };
                    if !ports.is_empty() {
                        out.push(Hit { step, matched: m, ports });
                    }
                }
                Step::EndOfTier { .. } => {
                    if !open.is_empty() {
                        out.push(Hit { step, matched: Match::Yes, ports: open.clone() });
                    }
                }
            }
        }
        out
    }
}

/// Where a point falls in a row when no point entry names it: the pods of a zone, or a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    Zone(ZoneId),
    Kind(Kind),
}

impl Region {
    pub fn of(u: &Universe, p: PointId) -> Region {
        let point = u.point(p);
        match point.zone {
            Some(z) => Region::Zone(z),
            None => Region::Kind(point.kind()),
        }
    }
}

/// The values of a row at the points it does not name, which many rows share.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Generic {
    pub kinds: [Cell; 4],
    /// Pods of a zone; sorted. Pods of other zones take `kinds[Pod]`.
    pub zones: Vec<(ZoneId, Cell)>,
}

impl Generic {
    pub fn at(&self, region: Region) -> &Cell {
        match region {
            Region::Zone(z) => match self.zones.binary_search_by_key(&z, |x| x.0) {
                Ok(i) => &self.zones[i].1,
                Err(_) => &self.kinds[Kind::Pod.index()],
            },
            Region::Kind(k) => &self.kinds[k.index()],
        }
    }
}

/// A side evaluated at every point, by regions (see the module comment).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Row {
    pub generic: Arc<Generic>,
    /// Sorted. Cells are shared: a row's entries that fold alike share one, and
    /// [`Rows::build`](super::matrix::Rows::build) shares equal cells across rows (a cell is
    /// a few hundred bytes, and a large program's rows name millions of points with a few
    /// thousand distinct cells).
    pub points: Vec<(PointId, Arc<Cell>)>,
}

impl Row {
    pub fn open() -> Row {
        Row {
            generic: Arc::new(Generic { kinds: std::array::from_fn(|_| Cell::all()), zones: Vec::new() }),
            points: Vec::new(),
        }
    }

    pub fn of(side: &Side, u: &Universe) -> Row {
        if side.is_open() {
            return Row::open();
        }
        let mut zones: Vec<ZoneId> = Vec::new();
        let mut points: Vec<PointId> = Vec::new();
        for step in &side.steps {
            if let Step::Clause(c) = step {
                zones.extend(c.cover.zones.iter().map(|z| z.0));
                points.extend(c.cover.points.iter().map(|p| p.0));
            }
        }
        zones.sort_unstable();
        zones.dedup();
        points.sort_unstable();
        points.dedup();
        // Regions that every step matches alike share one fold.
        let mut folded: rustc_hash::FxHashMap<Vec<Match>, Arc<Cell>> = rustc_hash::FxHashMap::default();
        let mut eval = |matched: &dyn Fn(&Clause) -> Match| {
            let sig = side.signature(matched);
            folded.entry(sig).or_insert_with_key(|sig| Arc::new(side.eval_signature(sig))).clone()
        };
        let mut kinds: [Cell; 4] = std::array::from_fn(|k| (*eval(&|c: &Clause| c.cover.kinds[k])).clone());
        let zones: Vec<(ZoneId, Cell)> =
            zones.into_iter().map(|z| (z, (*eval(&|c: &Clause| c.cover.zone_match(z))).clone())).collect();
        let (pods, zones) = by_majority(&kinds[Kind::Pod.index()], zones, u.zones.len());
        kinds[Kind::Pod.index()] = pods;
        let generic = Generic { kinds, zones };
        // A point entry that says what its region says is left out.
        let points = points
            .into_iter()
            .map(|p| (p, eval(&|c: &Clause| c.cover.get(u, p))))
            .filter(|(p, cell)| **cell != *generic.at(Region::of(u, *p)))
            .collect();
        Row { generic: Arc::new(generic), points }
    }

    /// The value at a point.
    pub fn get(&self, u: &Universe, p: PointId) -> &Cell {
        match self.points.binary_search_by_key(&p, |x| x.0) {
            Ok(i) => &self.points[i].1,
            Err(_) => self.generic.at(Region::of(u, p)),
        }
    }

    pub fn names_point(&self, p: PointId) -> bool {
        self.points.binary_search_by_key(&p, |x| x.0).is_ok()
    }
}

/// Values per zone with the value most zones have as the default: `fallback` is the value of
/// the zones `listed` leaves out, and stays the default unless another value has strictly more
/// zones (ties between others go to the value of the lowest zone); every zone that differs
/// from the default is listed. A value that nearly every namespace shares (an open fact about
/// namespace labels) is then not listed per namespace, and rows that mean the same mostly
/// have the same form. Returns (default, sorted list).
pub fn by_majority<T: Clone + Eq + std::hash::Hash>(
    fallback: &T,
    mut listed: Vec<(ZoneId, T)>,
    zones: usize,
) -> (T, Vec<(ZoneId, T)>) {
    listed.sort_by_key(|z| z.0);
    listed.dedup_by_key(|z| z.0);
    let unlisted = zones.saturating_sub(listed.len());
    // The lowest zone `listed` leaves out.
    let first_unlisted =
        listed.iter().enumerate().find(|(i, z)| z.0 as usize != *i).map_or(listed.len(), |(i, _)| i);
    // Per value: (zones, lowest zone).
    let mut count: rustc_hash::FxHashMap<&T, (usize, usize)> = rustc_hash::FxHashMap::default();
    if unlisted > 0 {
        count.insert(fallback, (unlisted, first_unlisted));
    }
    for (z, v) in &listed {
        let e = count.entry(v).or_insert((0, *z as usize));
        e.0 += 1;
        e.1 = e.1.min(*z as usize);
    }
    let kept = count.get(fallback).map_or(0, |n| n.0);
    let (best, best_zones) = count
        .iter()
        .filter(|(v, n)| n.0 > kept && **v != fallback)
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map_or((fallback.clone(), kept), |(v, n)| ((*v).clone(), n.0));
    drop(count);
    if best == *fallback {
        let listed = listed.into_iter().filter(|z| z.1 != best).collect();
        return (best, listed);
    }
    // Most zones differ from the fallback: they are fewer than the listed ones.
    let mut out = Vec::with_capacity(zones.saturating_sub(best_zones));
    let mut listed = listed.into_iter().peekable();
    for z in 0..zones as ZoneId {
        let v = match listed.peek() {
            Some((lz, _)) if *lz == z => listed.next().expect("peeked").1,
            _ => fallback.clone(),
        };
        if v != best {
            out.push((z, v));
        }
    }
    (best, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Protocol;

    #[test]
    fn a_pass_that_possibly_matches_leaves_the_outcome_open() {
        // Tier 1: a Pass that possibly matches, then the tier's default Deny; what is passed
        // on is allowed by the profile. Passed: allowed; not passed: denied.
        let maybe_pass = Clause {
            cover: Arc::new(Coverage::kind(Kind::Pod, Match::Maybe)),
            ports: PortSet::all(),
            act: Act::Pass,
            origin: Origin::Manifest { object: "p".into(), rule: "r".into(), source: None },
        };
        let side = Side {
            fold: Fold::Ordered,
            steps: vec![
                Step::Clause(maybe_pass),
                Step::EndOfTier {
                    pass: false,
                    origin: Origin::Manifest { object: "t".into(), rule: "".into(), source: None },
                },
            ],
            isolation: Vec::new(),
        };
        let cell = side.eval(|c| c.cover.kinds[Kind::Pod.index()]);
        assert!(cell.certain.is_empty(), "{cell:?}");
        assert!(cell.possible.is_all(), "{cell:?}");
        // Certainly matching, it passes and the profile allows.
        let cell = side.eval(|_| Match::Yes);
        assert!(cell.certain.is_all());
    }

    /// The shortcut of `possibly_allows` answers as the fold does, for every union of up to
    /// three clauses of each action, match and a few port sets, isolated or not.
    #[test]
    fn possibly_allows_answers_as_the_fold() {
        let ports = [
            PortSet::all(),
            PortSet::empty(),
            PortSet::range(Protocol::Tcp, 80, 80),
            PortSet::range(Protocol::Tcp, 1, 1000),
            PortSet::range(Protocol::Udp, 53, 53).union(&PortSet::range(Protocol::Tcp, 53, 53)),
            PortSet::named(Protocol::Tcp, "http"),
        ];
        let acts = [Act::Allow, Act::Deny, Act::Pass];
        let matches = [Match::Yes, Match::Maybe, Match::No];
        let origin = || Origin::Manifest { object: "p".into(), rule: "r".into(), source: None };
        let mut clauses = Vec::new();
        for act in acts {
            for m in matches {
                for p in &ports {
                    clauses.push((act, m, p.clone()));
                }
            }
        }
        let mut checked = 0;
        for (i, a) in clauses.iter().enumerate() {
            for b in clauses.iter().skip(i).step_by(5) {
                for c in clauses.iter().step_by(7) {
                    for isolated in [true, false] {
                        let chosen = [a, b, c];
                        let side = Side {
                            fold: Fold::Union { isolated },
                            steps: chosen
                                .iter()
                                .map(|(act, _, p)| {
                                    Step::Clause(Clause {
                                        cover: Arc::new(Coverage::none()),
                                        ports: p.clone(),
                                        act: *act,
                                        origin: origin(),
                                    })
                                })
                                .collect(),
                            isolation: Vec::new(),
                        };
                        // Each clause's match, told apart by its position.
                        let matched = |c: &Clause| {
                            let k = side
                                .steps
                                .iter()
                                .position(|s| matches!(s, Step::Clause(x) if std::ptr::eq(x, c)));
                            chosen[k.expect("a clause of the side")].1
                        };
                        for wanted in &ports {
                            let fold = wanted.is_subset(&side.eval(matched).possible);
                            assert_eq!(
                                side.possibly_allows_by(matched, wanted),
                                fold,
                                "{chosen:?} {wanted:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    /// The value of every zone, from a default and a list.
    fn values(default: Match, listed: &[(ZoneId, Match)], zones: usize) -> Vec<Match> {
        (0..zones as ZoneId).map(|z| listed.iter().find(|l| l.0 == z).map_or(default, |l| l.1)).collect()
    }

    #[test]
    fn by_majority_keeps_every_zone_value_and_lists_the_fewer() {
        use Match::*;
        type Case = (Match, Vec<(ZoneId, Match)>, usize);
        let cases: [Case; 5] = [
            // Every zone listed alike: nothing left to list.
            (No, (0..6).map(|z| (z, Maybe)).collect(), 6),
            // Most listed alike, one not, one left out.
            (No, vec![(0, Maybe), (1, Yes), (2, Maybe), (4, Maybe), (5, Maybe)], 6),
            // A tie keeps the fallback.
            (No, vec![(0, Yes), (1, Yes), (2, No)], 4),
            // Entries equal to the fallback are dropped; unsorted input.
            (No, vec![(3, Yes), (1, No), (0, Maybe)], 5),
            (Yes, Vec::new(), 3),
        ];
        for (fallback, listed, zones) in cases {
            let before = values(fallback, &listed, zones);
            let (default, out) = by_majority(&fallback, listed.clone(), zones);
            assert_eq!(values(default, &out, zones), before, "{fallback:?} {listed:?}");
            let most = before.iter().filter(|v| **v == default).count();
            assert!(before.iter().all(|v| before.iter().filter(|w| w == &v).count() <= most));
            assert!(out.iter().all(|z| z.1 != default) && out.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert_eq!(by_majority(&No, (0..6).map(|z| (z, Maybe)).collect(), 6), (Maybe, Vec::new()));
        assert_eq!(by_majority(&No, vec![(0, Yes), (1, Yes), (2, No)], 4), (No, vec![(0, Yes), (1, Yes)]));
    }
}
