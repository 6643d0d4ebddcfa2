//! The reachability matrix: for every source and destination point, the ports on which a
//! connection is allowed, certainly and possibly.
//!
//! A connection needs the egress side of its source and the ingress side of its destination, so
//! the matrix is kept as two [`Row`]s per point, never as a table of every pair. Pairs are
//! enumerated by classes: sources whose egress rows share their generic part ([`Generic`]) and
//! region behave alike towards every destination their rows do not name, and so do
//! destinations; the pairs a row names are the exceptions. Nor are pairs of classes visited one
//! by one: away from the zones a generic part lists, the cell between two classes is the
//! egress value for the kind of the destination met with the ingress value for the kind of the
//! source, so destination classes are bucketed by that pair and each source class meets the
//! buckets, then the few classes whose zones single it out (see [`Classes`]). Work is
//! proportional to the points, the buckets times the distinct kind parts of source rows, the
//! classes zone entries single out, and the pairs rows name, plus the output; memory to the
//! points and rows, plus the output.
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
pub trait Semantics: Sync + Send {
    fn side(&self, p: PointId, dir: Direction) -> Side;
}

impl Semantics for super::reach::SourceSemantics<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        super::reach::SourceSemantics::side(self, p, dir)
    }
}

/// The pairs [`Rows::count_stats`] counts, and what it took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Pairs allowed on some port, possibly.
    pub possible: u64,
    /// Pairs allowed on some port, certainly.
    pub certain: u64,
    pub source_classes: usize,
    pub destination_classes: usize,
    /// The cells computed between classes and buckets of classes: what grows with the
    /// classes rather than with the points.
    pub cells: u64,
}

/// The pairs possibly allowed on some port, a source's row at a time: see [`Rows::allowed`].
pub struct Allowed<'r> {
    rows: &'r Rows,
    u: &'r Universe,
    classes: Classes,
    reach: Vec<Reach>,
    /// Per source, the destinations whose cell a row names (sorted).
    exceptions: Vec<Vec<PointId>>,
}

impl Allowed<'_> {
    /// Calls `f` for each destination that `s` possibly reaches on some port, in order.
    pub fn row(&self, s: PointId, mut f: impl FnMut(PointId, &Cell)) {
        let done: Result<(), std::convert::Infallible> = self.try_row(s, |d, cell| {
            f(d, cell);
            Ok(())
        });
        let Ok(()) = done;
    }

    /// Calls `f` for each destination that `s` possibly reaches on some port, in order, until
    /// `f` fails: the first error.
    pub fn try_row<E>(
        &self,
        s: PointId,
        mut f: impl FnMut(PointId, &Cell) -> Result<(), E>,
    ) -> Result<(), E> {
        let (u, classes) = (self.u, &self.classes);
        let named = &self.exceptions[s as usize];
        let mut meets = Meets::default();
        let mut own: Vec<(PointId, usize)> = Vec::with_capacity(named.len());
        for &d in named {
            let i = meets.of(self.rows, u, s, d);
            if !meets.cells[i].is_empty() {
                own.push((d, i));
            }
        }
        let mut items: Vec<(PointId, &Cell)> = own.iter().map(|(d, i)| (*d, &meets.cells[*i])).collect();
        let sc = classes.src[s as usize] as usize;
        let (base, list) = &self.reach[sc];
        for (dc, value) in list {
            let value = match value {
                Value::Base(b) => &base[*b as usize],
                Value::Own(c) => c,
            };
            let members = &classes.dst_members[*dc as usize];
            items.extend(members.iter().filter(|d| named.binary_search(d).is_err()).map(|d| (*d, value)));
        }
        // Runs already in order (the named destinations, then each class's members): the
        // stable sort merges runs.
        items.sort_by_key(|x| x.0);
        for (d, cell) in items {
            f(d, cell)?;
        }
        Ok(())
    }
}

/// The meets of pairs of cells that rows hand out, each found once: rows share equal cells
/// (see [`Row::points`]), so a row's many entries hold few distinct pairs. Keyed by the two
/// cells' addresses: the cells are borrowed for as long as the memo lives (`'r`), so no
/// address is reused for another cell meanwhile.
#[derive(Default)]
pub struct Meets<'r> {
    index: HashMap<(usize, usize), usize>,
    /// The meets found, each once.
    pub cells: Vec<Cell>,
    cells_of: std::marker::PhantomData<&'r Cell>,
}

impl<'r> Meets<'r> {
    /// The index in [`cells`](Self::cells) of the cell of `s` → `d` under `rows`
    /// ([`Rows::cell`]).
    pub fn of(&mut self, rows: &'r Rows, u: &Universe, s: PointId, d: PointId) -> usize {
        let (a, b) = rows.ends(u, s, d);
        let key = (std::ptr::from_ref(a) as usize, std::ptr::from_ref(b) as usize);
        *self.index.entry(key).or_insert_with(|| {
            self.cells.push(a.intersect(b));
            self.cells.len() - 1
        })
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
    /// Every row, on every core. Generic parts that are equal are shared, and so are the cells
    /// of point entries: first within each block of points, on its core; then the parts and
    /// cells each block kept are looked up across blocks, in block order (a few thousand, on
    /// one thread), and each block's rows take the ones kept, on every core again.
    pub fn build(sem: &dyn Semantics, u: &Universe) -> Rows {
        let n = u.len();
        let parts = crate::par::blocks(n, 512, |range| {
            let mut shared = Shared::default();
            let rows = range
                .map(|p| {
                    let p = p as PointId;
                    let mut i = row_of(sem, u, p, Direction::Ingress);
                    let mut e = row_of(sem, u, p, Direction::Egress);
                    shared.row(&mut i);
                    shared.row(&mut e);
                    (i, e)
                })
                .collect::<Vec<_>>();
            (std::sync::Mutex::new(rows), shared)
        });
        // Per block, what each of its parts and cells (by address) becomes. The blocks' own
        // `Shared` keep theirs alive until every row is rewritten, so no address is reused.
        let mut across = Shared::default();
        let kept: Vec<(Kept<Generic>, Kept<Cell>)> = parts
            .iter()
            .map(|(_, shared)| (across.generics.kept(&shared.generics), across.cells.kept(&shared.cells)))
            .collect();
        crate::par::blocks(parts.len(), 2, |range| {
            for b in range {
                let (generics, cells) = &kept[b];
                let mut rows = parts[b].0.lock().unwrap_or_else(|e| e.into_inner());
                for (i, e) in rows.iter_mut() {
                    for row in [i, e] {
                        if let Some(g) = generics.get(&(Arc::as_ptr(&row.generic) as usize)) {
                            row.generic = g.clone();
                        }
                        for (_, cell) in &mut row.points {
                            if let Some(c) = cells.get(&(Arc::as_ptr(cell) as usize)) {
                                *cell = c.clone();
                            }
                        }
                    }
                }
            }
        });
        let (mut ingress, mut egress) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (rows, _) in parts {
            for (i, e) in rows.into_inner().unwrap_or_else(|e| e.into_inner()) {
                ingress.push(i);
                egress.push(e);
            }
        }
        Rows { ingress, egress }
    }

    pub fn cell(&self, u: &Universe, s: PointId, d: PointId) -> Cell {
        let (out, into) = self.ends(u, s, d);
        out.intersect(into)
    }

    /// The two cells that [`Rows::cell`] meets: `s`'s egress towards `d`, and `d`'s ingress
    /// from `s`.
    pub fn ends(&self, u: &Universe, s: PointId, d: PointId) -> (&Cell, &Cell) {
        (self.egress[s as usize].get(u, d), self.ingress[d as usize].get(u, s))
    }

    /// Calls `f` for every pair that is possibly allowed on some port, sources in order and
    /// destinations in order within a source.
    pub fn for_each_allowed(&self, u: &Universe, mut f: impl FnMut(PointId, PointId, &Cell)) {
        let done: Result<(), std::convert::Infallible> = self.try_for_each_allowed(u, |s, d, cell| {
            f(s, d, cell);
            Ok(())
        });
        let Ok(()) = done;
    }

    /// [`for_each_allowed`](Self::for_each_allowed) until `f` fails (a writer whose reader
    /// went away): the first error.
    pub fn try_for_each_allowed<E>(
        &self,
        u: &Universe,
        mut f: impl FnMut(PointId, PointId, &Cell) -> Result<(), E>,
    ) -> Result<(), E> {
        let allowed = self.allowed(u);
        for s in u.ids() {
            allowed.try_row(s, |d, cell| f(s, d, cell))?;
        }
        Ok(())
    }

    /// What [`try_for_each_allowed`](Self::try_for_each_allowed) walks, for walking the
    /// sources in another order, one row at a time (the points' classes and what each class
    /// reaches: memory linear in the points, as the rows).
    pub fn allowed<'r>(&'r self, u: &'r Universe) -> Allowed<'r> {
        let classes = Classes::new(self, u);
        let reach = classes.reach();
        let exceptions = self.exceptions();
        Allowed { rows: self, u, classes, reach, exceptions }
    }

    /// Counts of pairs: possibly allowed on some port, and certainly allowed on some port.
    ///
    /// Source classes in blocks, on every core, each meeting the destination buckets and the
    /// destination classes that single it out; then source points in blocks, on every core,
    /// each correcting the pairs its rows (or its destinations' rows) name. The points, not
    /// the classes: one class may hold most points. Nothing per pair of classes is kept, so
    /// memory stays linear in the points.
    pub fn count(&self, u: &Universe) -> (u64, u64) {
        let c = self.count_stats(u);
        (c.possible, c.certain)
    }

    /// [`count`](Self::count), with the work it took.
    pub fn count_stats(&self, u: &Universe) -> Count {
        let classes = Classes::new(self, u);
        let exceptions = self.exceptions();
        let order = classes.by_base();
        let parts = crate::par::blocks(order.len(), 64, |range| {
            let (mut possible, mut certain, mut cells) = (0i64, 0i64, 0u64);
            let mut scratch = Scratch::new(classes.dst_key.len());
            // Per bucket of the current base: (possibly, certainly) allowed.
            let mut base: Option<(u32, Vec<(bool, bool)>)> = None;
            for &sc in &order[range] {
                let sc = sc as usize;
                let b = classes.base_of[sc];
                if base.as_ref().is_none_or(|x| x.0 != b) {
                    let flags = classes.base_flags(sc);
                    cells += flags.len() as u64;
                    base = Some((b, flags));
                }
                let flags = &base.as_ref().expect("set above").1;
                let buckets = classes.buckets_for(sc);
                let sources = classes.src_members[sc].len() as i64;
                for (j, &(p, c)) in flags.iter().enumerate() {
                    let pairs = sources * buckets.points[j] as i64;
                    possible += pairs * i64::from(p);
                    certain += pairs * i64::from(c);
                }
                let stamp = scratch.next();
                classes.singled_out(sc, &mut scratch.seen, stamp, |dc, cell| {
                    let (gp, gc) = flags[buckets.of[dc as usize] as usize];
                    let (p, c) = (!cell.possible.is_empty(), !cell.certain.is_empty());
                    let pairs = sources * classes.dst_members[dc as usize].len() as i64;
                    possible += pairs * (i64::from(p) - i64::from(gp));
                    certain += pairs * (i64::from(c) - i64::from(gc));
                    cells += 1;
                });
            }
            (possible, certain, cells)
        });
        // The pairs rows name, by source point on every core (a class may hold most points):
        // each replaces the value of its classes, away from named pairs, with its own.
        let named = crate::par::blocks(u.len(), 512, |range| {
            let (mut possible, mut certain) = (0i64, 0i64);
            for s in range {
                let region = Region::of(u, s as PointId);
                let generic = &self.egress[s].generic;
                for &d in &exceptions[s] {
                    let (gp, gc) =
                        meets(generic.at(Region::of(u, d)), self.ingress[d as usize].generic.at(region));
                    let (out, into) = self.ends(u, s as PointId, d);
                    let (p, c) = meets(out, into);
                    possible += i64::from(p) - i64::from(gp);
                    certain += i64::from(c) - i64::from(gc);
                }
            }
            (possible, certain, 0)
        });
        let mut out = Count {
            source_classes: classes.src_key.len(),
            destination_classes: classes.dst_key.len(),
            ..Count::default()
        };
        let (mut possible, mut certain) = (0i64, 0i64);
        for (p, c, cells) in parts.into_iter().chain(named) {
            possible += p;
            certain += c;
            out.cells += cells;
        }
        out.possible = possible as u64;
        out.certain = certain as u64;
        out
    }

    /// How many values the rows hold: every distinct generic part's (counted once, however
    /// many rows share it) and every point entry. What the matrix keeps in memory.
    pub fn size(&self) -> usize {
        let mut seen: HashMap<*const Generic, ()> = HashMap::default();
        let mut n = 0;
        for row in self.ingress.iter().chain(&self.egress) {
            if seen.insert(Arc::as_ptr(&row.generic), ()).is_none() {
                n += Kind::ALL.len() + row.generic.zones.len();
            }
            n += row.points.len();
        }
        n
    }

    /// Per source, the destinations whose cell a row names (the source's egress row names the
    /// destination, or the destination's ingress row names the source); sorted. On every
    /// core: the pairs ingress rows name are gathered per block of destinations, sorted by
    /// source, and each block of sources takes its stretch of each.
    fn exceptions(&self) -> Vec<Vec<PointId>> {
        let n = self.egress.len();
        let named: Vec<Vec<(PointId, PointId)>> = crate::par::blocks(n, 512, |range| {
            let mut pairs: Vec<(PointId, PointId)> = range
                .flat_map(|d| self.ingress[d].points.iter().map(move |(s, _)| (*s, d as PointId)))
                .collect();
            pairs.sort_unstable();
            pairs
        });
        let parts = crate::par::blocks(n, 512, |range| {
            let mut pairs: Vec<(PointId, PointId)> = named
                .iter()
                .flat_map(|v| {
                    let from = v.partition_point(|x| (x.0 as usize) < range.start);
                    let to = v.partition_point(|x| (x.0 as usize) < range.end);
                    &v[from..to]
                })
                .copied()
                .collect();
            pairs.sort_unstable();
            let mut at = 0;
            range
                .map(|s| {
                    let mut v: Vec<PointId> = self.egress[s].points.iter().map(|x| x.0).collect();
                    while at < pairs.len() && pairs[at].0 as usize == s {
                        v.push(pairs[at].1);
                        at += 1;
                    }
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect::<Vec<_>>()
        });
        parts.into_iter().flatten().collect()
    }
}

/// Equal generic parts and cells of rows, one of each kept.
#[derive(Default)]
struct Shared {
    generics: Interner<Generic>,
    cells: Interner<Cell>,
}

impl Shared {
    fn row(&mut self, row: &mut Row) {
        self.generics.share(&mut row.generic);
        for (_, cell) in &mut row.points {
            self.cells.share(cell);
        }
    }
}

/// One value of each kind kept: equal values are the same `Arc`.
struct Interner<T>(HashMap<Arc<T>, ()>);

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner(HashMap::default())
    }
}

/// What each value of a block (by address) becomes across blocks.
type Kept<T> = HashMap<usize, Arc<T>>;

impl<T: Eq + std::hash::Hash> Interner<T> {
    /// `x` becomes the value kept equal to it, or is kept.
    fn share(&mut self, x: &mut Arc<T>) {
        match self.0.get_key_value(x) {
            Some((kept, _)) => *x = kept.clone(),
            None => {
                self.0.insert(x.clone(), ());
            }
        }
    }

    /// Each value `other` kept, by its address, and the value kept here equal to it.
    fn kept(&mut self, other: &Interner<T>) -> Kept<T> {
        other
            .0
            .keys()
            .map(|x| {
                let mut k = x.clone();
                self.share(&mut k);
                (Arc::as_ptr(x) as usize, k)
            })
            .collect()
    }
}

/// Whether the connection `out ∩ inn` is possibly, and certainly, allowed on some port.
fn meets(out: &Cell, inn: &Cell) -> (bool, bool) {
    (out.possible.meets(&inn.possible), out.certain.meets(&inn.certain))
}

/// What a source class reaches: its base's cells, and each destination class it reaches with
/// the cell towards it.
type Reach = (Arc<Vec<Cell>>, Vec<(u32, Value)>);

/// A cell of the reach of a source class: its base value towards a bucket, or its own.
enum Value {
    Base(u32),
    Own(Box<Cell>),
}

/// Marks of the destination classes already seen, per source class.
struct Scratch {
    seen: Vec<u32>,
    stamp: u32,
}

impl Scratch {
    fn new(classes: usize) -> Scratch {
        Scratch { seen: vec![0; classes], stamp: 0 }
    }

    fn next(&mut self) -> u32 {
        self.stamp += 1;
        self.stamp
    }
}

/// Sources grouped by (region, egress generic part), destinations by (region, ingress generic
/// part). A region counts only where some row on the other side tells it apart: a pod of a
/// zone that no generic part of the other direction lists is in the pod kind's region, like
/// every other such pod, so that many namespaces do not make as many classes.
///
/// The cell from a source class (region `rs`, generic part `g`) to a destination class (`rd`,
/// `h`) is `g.at(rd) ∩ h.at(rs)`. Unless `g` lists the zone `rd` is, or `h` the zone `rs` is,
/// that is `g.kinds[kind of rd] ∩ h.kinds[kind of rs]`: the *base* value. So destination
/// classes fall in *buckets* per kind of source, by (kind of their region, their value
/// towards that kind), and source classes in *bases*, by (kind of their region, kinds part of
/// their generic part): a base meets each bucket once, and each source class computes on its
/// own only the destination classes it is *singled out* by (the zone entries of either part).
struct Classes {
    src: Vec<u32>,
    src_key: Vec<(Region, Arc<Generic>)>,
    dst_key: Vec<(Region, Arc<Generic>)>,
    src_members: Vec<Vec<PointId>>,
    dst_members: Vec<Vec<PointId>>,
    /// The base of each source class.
    base_of: Vec<u32>,
    /// Per kind of source region, the buckets of destination classes.
    buckets: [Buckets; 4],
    /// Per zone, the destination classes whose region is that zone.
    dst_in_zone: Vec<Vec<u32>>,
    /// Per zone, the distinct ingress generic parts that list it; per such part, its
    /// destination classes.
    parts_listing: Vec<Vec<u32>>,
    part_classes: Vec<Vec<u32>>,
}

/// Destination classes by (kind of their region, their ingress value towards one kind of
/// source).
#[derive(Default)]
struct Buckets {
    keys: Vec<(Kind, Cell)>,
    /// The bucket of each destination class.
    of: Vec<u32>,
    /// The points in each bucket.
    points: Vec<u64>,
    /// The destination classes in each bucket.
    classes: Vec<Vec<u32>>,
}

fn kind_of(r: Region) -> Kind {
    match r {
        Region::Zone(_) => Kind::Pod,
        Region::Kind(k) => k,
    }
}

impl Classes {
    fn new(rows: &Rows, u: &Universe) -> Classes {
        // The zones some generic part of `rows` lists (each shared part looked at once).
        let listed = |rows: &[Row]| {
            let mut seen: HashMap<*const Generic, ()> = HashMap::default();
            let mut zones = vec![false; u.zones.len()];
            for row in rows {
                if seen.insert(Arc::as_ptr(&row.generic), ()).is_none() {
                    for (z, _) in &row.generic.zones {
                        zones[*z as usize] = true;
                    }
                }
            }
            zones
        };
        // `seen_by`: the zones the other direction's rows list.
        let group = |rows: &[Row], seen_by: &[bool]| {
            let mut ids: HashMap<(Region, *const Generic), u32> = HashMap::default();
            let (mut of, mut keys, mut members) = (Vec::new(), Vec::new(), Vec::<Vec<PointId>>::new());
            for p in u.ids() {
                let region = match Region::of(u, p) {
                    Region::Zone(z) if !seen_by[z as usize] => Region::Kind(Kind::Pod),
                    r => r,
                };
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
        let (by_egress, by_ingress) = (listed(&rows.egress), listed(&rows.ingress));
        let (src, src_key, src_members) = group(&rows.egress, &by_ingress);
        let (_, dst_key, dst_members) = group(&rows.ingress, &by_egress);

        let mut bases: HashMap<(Kind, &[Cell; 4]), u32> = HashMap::default();
        let base_of = src_key
            .iter()
            .map(|(r, g)| {
                let next = bases.len() as u32;
                *bases.entry((kind_of(*r), &g.kinds)).or_insert(next)
            })
            .collect();
        let buckets = std::array::from_fn(|ks| {
            let mut b = Buckets::default();
            let mut ids: HashMap<(Kind, &Cell), u32> = HashMap::default();
            for (dc, (r, h)) in dst_key.iter().enumerate() {
                let key = (kind_of(*r), &h.kinds[ks]);
                let next = b.keys.len() as u32;
                let id = *ids.entry(key).or_insert(next);
                if id == next {
                    b.keys.push((key.0, key.1.clone()));
                    b.points.push(0);
                    b.classes.push(Vec::new());
                }
                b.of.push(id);
                b.points[id as usize] += dst_members[dc].len() as u64;
                b.classes[id as usize].push(dc as u32);
            }
            b
        });
        let mut dst_in_zone = vec![Vec::new(); u.zones.len()];
        let mut parts: HashMap<*const Generic, u32> = HashMap::default();
        let mut parts_listing = vec![Vec::new(); u.zones.len()];
        let mut part_classes: Vec<Vec<u32>> = Vec::new();
        for (dc, (r, h)) in dst_key.iter().enumerate() {
            if let Region::Zone(z) = r {
                dst_in_zone[*z as usize].push(dc as u32);
            }
            let next = part_classes.len() as u32;
            let id = *parts.entry(Arc::as_ptr(h)).or_insert(next);
            if id == next {
                part_classes.push(Vec::new());
                for (z, _) in &h.zones {
                    parts_listing[*z as usize].push(id);
                }
            }
            part_classes[id as usize].push(dc as u32);
        }
        Classes {
            src,
            src_key,
            dst_key,
            src_members,
            dst_members,
            base_of,
            buckets,
            dst_in_zone,
            parts_listing,
            part_classes,
        }
    }

    /// The cell from source class `sc` to destination class `dc`, away from named pairs.
    fn cell(&self, sc: usize, dc: usize) -> Cell {
        let ((sr, sg), (dr, dg)) = (&self.src_key[sc], &self.dst_key[dc]);
        sg.at(*dr).intersect(dg.at(*sr))
    }

    fn buckets_for(&self, sc: usize) -> &Buckets {
        &self.buckets[kind_of(self.src_key[sc].0).index()]
    }

    /// The base value of `sc` towards each of its buckets.
    fn base_cells(&self, sc: usize) -> Vec<Cell> {
        let g = &self.src_key[sc].1;
        self.buckets_for(sc).keys.iter().map(|(kd, h)| g.kinds[kd.index()].intersect(h)).collect()
    }

    /// Whether the base value of `sc` towards each of its buckets is possibly, and certainly,
    /// not empty.
    fn base_flags(&self, sc: usize) -> Vec<(bool, bool)> {
        let g = &self.src_key[sc].1;
        self.buckets_for(sc)
            .keys
            .iter()
            .map(|(kd, h)| {
                let v = &g.kinds[kd.index()];
                (v.possible.meets(&h.possible), v.certain.meets(&h.certain))
            })
            .collect()
    }

    /// Source classes, those of one base next to each other.
    fn by_base(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.src_key.len() as u32).collect();
        order.sort_by_key(|&sc| self.base_of[sc as usize]);
        order
    }

    /// Calls `f` once with the cell towards each destination class that a zone entry of either
    /// generic part singles out for `sc`, marking it `stamp` in `seen`.
    fn singled_out(&self, sc: usize, seen: &mut [u32], stamp: u32, mut f: impl FnMut(u32, Cell)) {
        let (rs, g) = &self.src_key[sc];
        let mut visit = |dc: u32| {
            if seen[dc as usize] != stamp {
                seen[dc as usize] = stamp;
                f(dc, self.cell(sc, dc as usize));
            }
        };
        for (z, _) in &g.zones {
            self.dst_in_zone[*z as usize].iter().copied().for_each(&mut visit);
        }
        if let Region::Zone(z) = rs {
            for part in &self.parts_listing[*z as usize] {
                self.part_classes[*part as usize].iter().copied().for_each(&mut visit);
            }
        }
    }

    /// Per source class: its base cells, and the destination classes it may reach away from
    /// named pairs with the cell, each a base cell or its own.
    fn reach(&self) -> Vec<Reach> {
        let order = self.by_base();
        let parts = crate::par::blocks(order.len(), 64, |range| {
            let mut scratch = Scratch::new(self.dst_key.len());
            let mut base: Option<(u32, Arc<Vec<Cell>>)> = None;
            let mut out = Vec::with_capacity(range.len());
            for &sc in &order[range] {
                let sc = sc as usize;
                let b = self.base_of[sc];
                if base.as_ref().is_none_or(|x| x.0 != b) {
                    base = Some((b, Arc::new(self.base_cells(sc))));
                }
                let cells = base.as_ref().expect("set above").1.clone();
                let stamp = scratch.next();
                let mut list = Vec::new();
                self.singled_out(sc, &mut scratch.seen, stamp, |dc, cell| {
                    if !cell.is_empty() {
                        list.push((dc, Value::Own(Box::new(cell))));
                    }
                });
                let buckets = self.buckets_for(sc);
                for (j, cell) in cells.iter().enumerate() {
                    if !cell.is_empty() {
                        let others =
                            buckets.classes[j].iter().filter(|dc| scratch.seen[**dc as usize] != stamp);
                        list.extend(others.map(|dc| (*dc, Value::Base(j as u32))));
                    }
                }
                out.push((sc, (cells, list)));
            }
            out
        });
        let mut reach: Vec<Option<Reach>> = (0..self.src_key.len()).map(|_| None).collect();
        for (sc, r) in parts.into_iter().flatten() {
            reach[sc] = Some(r);
        }
        reach.into_iter().map(|r| r.expect("every source class")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exceptions gathered in blocks on every core are those of one walk over every row:
    /// rows that name points at random, many of them named only by the other side's row,
    /// across more points than one block.
    #[test]
    fn exceptions_in_blocks_are_those_of_one_walk() {
        let n = 3000u32;
        let cell = Arc::new(Cell::none());
        // A small generator of its own (xorshift), so the rows are the same on every run.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut row = |how_many: u64| {
            let mut r = Row::open();
            let mut points: Vec<PointId> =
                (0..next() % how_many).map(|_| (next() % u64::from(n)) as PointId).collect();
            points.sort_unstable();
            points.dedup();
            r.points = points.into_iter().map(|p| (p, cell.clone())).collect();
            r
        };
        let rows =
            Rows { ingress: (0..n).map(|_| row(12)).collect(), egress: (0..n).map(|_| row(3)).collect() };
        let mut slow: Vec<Vec<PointId>> =
            rows.egress.iter().map(|r| r.points.iter().map(|x| x.0).collect()).collect();
        for (d, r) in rows.ingress.iter().enumerate() {
            for (s, _) in &r.points {
                slow[*s as usize].push(d as PointId);
            }
        }
        for v in &mut slow {
            v.sort_unstable();
            v.dedup();
        }
        assert!(slow.iter().map(Vec::len).sum::<usize>() > n as usize * 3, "too few exceptions to mean much");
        assert_eq!(rows.exceptions(), slow);
    }
}
