//! The reachability matrix: for every source and destination point, the ports on which a
//! connection is allowed, certainly and possibly.
//!
//! A connection needs the egress side of its source and the ingress side of its destination, so
//! the matrix is kept as two [`Row`]s per point, never as a table of every pair. Pairs are
//! enumerated by classes: sources whose egress rows share their generic part ([`Generic`]) and
//! namespace behave alike towards every destination their rows do not name, and so do
//! destinations; the pairs a row names are the exceptions. Work is proportional to the number
//! of classes squared plus the pairs rows name, plus the output.
//!
//! One rule holds on every target and in the source alike: the node a pod runs on always
//! reaches it. Kubernetes: "traffic to and from the node where a Pod is running is always
//! allowed, regardless of the IP address of the Pod or the node" (network-policies.md); Calico:
//! "Calico allows all connections from processes running on the host to guest workloads on the
//! host" (docs.tigera.io, "Protect hosts"); Cilium: `--allow-localhost` defaults to `always` in
//! Kubernetes mode. The ingress rows of pods therefore allow everything from `host`.

use super::side::{Cell, Generic, Region, Row, Side};
use super::universe::{Kind, PointId, Universe};
use crate::ir::Direction;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// A reading of policies: the side of any point in any direction.
pub trait Semantics: Sync {
    fn side(&self, p: PointId, dir: Direction) -> Side;
}

impl Semantics for super::reach::SourceSemantics<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        super::reach::SourceSemantics::side(self, p, dir)
    }
}

/// Every point's two rows under one semantics.
pub struct Rows {
    pub ingress: Vec<Row>,
    pub egress: Vec<Row>,
}

/// The side of a point as the matrix uses it: with the node always reaching local pods.
pub fn row_of(sem: &dyn Semantics, u: &Universe, p: PointId, dir: Direction) -> Row {
    let mut row = Row::of(&sem.side(p, dir), u);
    if dir == Direction::Ingress && u.point(p).is_pod() {
        let host = u.host();
        row.points.retain(|x| x.0 != host);
        if row.generic.kinds[Kind::Host.index()] != Cell::all() {
            Arc::make_mut(&mut row.generic).kinds[Kind::Host.index()] = Cell::all();
        }
    }
    row
}

/// Whether `s` is the node and `d` a pod on it: the destination's ingress then allows
/// everything, whatever its policies say (see the module comment).
pub fn node_to_its_pod(u: &Universe, s: PointId, d: PointId) -> bool {
    s == u.host() && u.point(d).is_pod()
}

/// The connection from `s` to `d`, from their sides alone (no rows needed).
pub fn connection(sem: &dyn Semantics, u: &Universe, s: PointId, d: PointId) -> Cell {
    let out = sem.side(s, Direction::Egress).at(u, d);
    let inn = if node_to_its_pod(u, s, d) { Cell::all() } else { sem.side(d, Direction::Ingress).at(u, s) };
    out.intersect(&inn)
}

impl Rows {
    /// Every row, on every core. Generic parts that are equal are shared: first within each
    /// block of points, on its core, then across blocks.
    pub fn build(sem: &dyn Semantics, u: &Universe) -> Rows {
        let n = u.len();
        let open = Row::open().generic;
        let share = |interned: &mut HashMap<Arc<Generic>, ()>, row: &mut Row| {
            if Arc::ptr_eq(&row.generic, &open) {
                return;
            }
            if let Some((g, _)) = interned.get_key_value(&row.generic) {
                row.generic = g.clone();
            } else {
                interned.insert(row.generic.clone(), ());
            }
        };
        let parts = crate::par::blocks(n, 512, |range| {
            let mut interned = HashMap::default();
            range
                .map(|p| {
                    let p = p as PointId;
                    let mut i = row_of(sem, u, p, Direction::Ingress);
                    let mut e = row_of(sem, u, p, Direction::Egress);
                    share(&mut interned, &mut i);
                    share(&mut interned, &mut e);
                    (i, e)
                })
                .collect::<Vec<_>>()
        });
        // Across blocks, a generic part already shared within its block is looked up once.
        let mut interned: HashMap<Arc<Generic>, ()> = HashMap::default();
        let mut seen: HashMap<*const Generic, Arc<Generic>> = HashMap::default();
        let (mut ingress, mut egress) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for part in parts {
            seen.clear();
            for (mut i, mut e) in part {
                for row in [&mut i, &mut e] {
                    match seen.get(&Arc::as_ptr(&row.generic)) {
                        Some(g) => row.generic = g.clone(),
                        None => {
                            let key = Arc::as_ptr(&row.generic);
                            share(&mut interned, row);
                            seen.insert(key, row.generic.clone());
                        }
                    }
                }
                ingress.push(i);
                egress.push(e);
            }
        }
        Rows { ingress, egress }
    }

    pub fn cell(&self, u: &Universe, s: PointId, d: PointId) -> Cell {
        self.egress[s as usize].get(u, d).intersect(self.ingress[d as usize].get(u, s))
    }

    /// Calls `f` for every pair that is possibly allowed on some port, sources in order and
    /// destinations in order within a source.
    pub fn for_each_allowed(&self, u: &Universe, mut f: impl FnMut(PointId, PointId, &Cell)) {
        let classes = Classes::new(self, u);
        let table = classes.table();
        let exceptions = self.exceptions();
        for s in u.ids() {
            let named = &exceptions[s as usize];
            let own: Vec<(PointId, Cell)> =
                named.iter().map(|&d| (d, self.cell(u, s, d))).filter(|(_, c)| !c.is_empty()).collect();
            let mut items: Vec<(PointId, &Cell)> = own.iter().map(|(d, c)| (*d, c)).collect();
            for (dc, value) in &table[classes.src[s as usize] as usize] {
                let members = &classes.dst_members[*dc as usize];
                items.extend(members.iter().filter(|d| named.binary_search(d).is_err()).map(|d| (*d, value)));
            }
            items.sort_unstable_by_key(|x| x.0);
            for (d, cell) in items {
                f(s, d, cell);
            }
        }
    }

    /// Counts of pairs: possibly allowed on some port, and certainly allowed on some port.
    pub fn count(&self, u: &Universe) -> (u64, u64) {
        let classes = Classes::new(self, u);
        let table = classes.table();
        let flags = |sc: u32, dc: u32| {
            table[sc as usize]
                .binary_search_by_key(&dc, |x| x.0)
                .map_or((false, false), |i| (true, !table[sc as usize][i].1.certain.is_empty()))
        };
        let (mut possible, mut certain) = (0i64, 0i64);
        for (sc, row) in table.iter().enumerate() {
            let sources = classes.src_members[sc].len() as i64;
            for (dc, v) in row {
                let pairs = sources * classes.dst_members[*dc as usize].len() as i64;
                possible += pairs;
                certain += pairs * i64::from(!v.certain.is_empty());
            }
        }
        // The pairs rows name, by blocks of sources on every core.
        let exceptions = self.exceptions();
        let parts = crate::par::blocks(exceptions.len(), 1024, |range| {
            let (mut possible, mut certain) = (0i64, 0i64);
            for s in range {
                let sc = classes.src[s];
                for &d in &exceptions[s] {
                    let (gp, gc) = flags(sc, classes.dst[d as usize]);
                    let cell = self.cell(u, s as PointId, d);
                    possible += i64::from(!cell.possible.is_empty()) - i64::from(gp);
                    certain += i64::from(!cell.certain.is_empty()) - i64::from(gc);
                }
            }
            (possible, certain)
        });
        for (p, c) in parts {
            possible += p;
            certain += c;
        }
        (possible as u64, certain as u64)
    }

    /// Per source, the destinations whose cell a row names (the source's egress row names the
    /// destination, or the destination's ingress row names the source); sorted.
    fn exceptions(&self) -> Vec<Vec<PointId>> {
        let mut out: Vec<Vec<PointId>> =
            self.egress.iter().map(|r| r.points.iter().map(|x| x.0).collect()).collect();
        for (d, row) in self.ingress.iter().enumerate() {
            for (s, _) in &row.points {
                out[*s as usize].push(d as PointId);
            }
        }
        for v in &mut out {
            v.sort_unstable();
            v.dedup();
        }
        out
    }
}

/// Sources grouped by (region, egress generic part), destinations by (region, ingress generic
/// part).
struct Classes {
    src: Vec<u32>,
    dst: Vec<u32>,
    src_key: Vec<(Region, Arc<Generic>)>,
    dst_key: Vec<(Region, Arc<Generic>)>,
    src_members: Vec<Vec<PointId>>,
    dst_members: Vec<Vec<PointId>>,
}

impl Classes {
    fn new(rows: &Rows, u: &Universe) -> Classes {
        let group = |rows: &[Row]| {
            let mut ids: HashMap<(Region, *const Generic), u32> = HashMap::default();
            let (mut of, mut keys, mut members) = (Vec::new(), Vec::new(), Vec::<Vec<PointId>>::new());
            for p in u.ids() {
                let region = Region::of(u, p);
                let g = &rows[p as usize].generic;
                let next = keys.len() as u32;
                let id = *ids.entry((region, Arc::as_ptr(g))).or_insert(next);
                if id == next {
                    keys.push((region, g.clone()));
                    members.push(Vec::new());
                }
                members[id as usize].push(p);
                of.push(id);
            }
            (of, keys, members)
        };
        let (src, src_key, src_members) = group(&rows.egress);
        let (dst, dst_key, dst_members) = group(&rows.ingress);
        Classes { src, dst, src_key, dst_key, src_members, dst_members }
    }

    /// Per source class, the destination classes it may reach away from named pairs, with
    /// the cell; sorted by destination class.
    fn table(&self) -> Vec<Vec<(u32, Cell)>> {
        crate::par::blocks(self.src_key.len(), 64, |range| {
            range
                .map(|sc| {
                    let (sr, sg) = &self.src_key[sc];
                    self.dst_key
                        .iter()
                        .enumerate()
                        .filter_map(|(dc, (dr, dg))| {
                            let v = sg.at(*dr).intersect(dg.at(*sr));
                            (!v.is_empty()).then_some((dc as u32, v))
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }
}
