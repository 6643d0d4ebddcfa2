//! Sets of (protocol, port) as sorted disjoint intervals per protocol, plus named ports.
//! Nothing here enumerates ports one by one.

use crate::ir::{PortMatch, Ports, Protocol};
use std::collections::BTreeSet;
use std::fmt;

/// Inclusive, sorted, disjoint, non-adjacent intervals over 1..=65535.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Intervals(Vec<(u16, u16)>);

impl Intervals {
    pub fn full() -> Self {
        Intervals(vec![(1, u16::MAX)])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.0 == [(1, u16::MAX)]
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(a, b)| a <= port && port <= b)
    }

    pub fn insert(&mut self, lo: u16, hi: u16) {
        // In place: the list is sorted and disjoint but for the new interval, so after the
        // sort each one either joins the last kept one or is kept after it.
        self.0.push((lo, hi));
        self.0.sort_unstable();
        let mut kept = 0;
        for i in 1..self.0.len() {
            let (a, b) = self.0[i];
            let last = &mut self.0[kept];
            if a as u32 <= last.1 as u32 + 1 {
                last.1 = last.1.max(b);
            } else {
                kept += 1;
                self.0[kept] = (a, b);
            }
        }
        self.0.truncate(kept + 1);
    }

    pub fn union(&self, other: &Intervals) -> Intervals {
        if other.0.is_empty() {
            return self.clone();
        }
        if self.0.is_empty() {
            return other.clone();
        }
        // Both are sorted: merge them, then join what touches.
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() || j < other.0.len() {
            let next = if j >= other.0.len() || (i < self.0.len() && self.0[i] <= other.0[j]) {
                i += 1;
                self.0[i - 1]
            } else {
                j += 1;
                other.0[j - 1]
            };
            match merged.last_mut() {
                Some(last) if next.0 as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(next.1),
                _ => merged.push(next),
            }
        }
        Intervals(merged)
    }

    pub fn intersect(&self, other: &Intervals) -> Intervals {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a1, b1) = self.0[i];
            let (a2, b2) = other.0[j];
            let (lo, hi) = (a1.max(a2), b1.min(b2));
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Intervals(out)
    }

    pub fn complement(&self) -> Intervals {
        let mut out = Vec::new();
        let mut next: u32 = 1;
        for &(a, b) in &self.0 {
            if (a as u32) > next {
                out.push((next as u16, a - 1));
            }
            next = b as u32 + 1;
        }
        if next <= u16::MAX as u32 {
            out.push((next as u16, u16::MAX));
        }
        Intervals(out)
    }

    pub fn subtract(&self, other: &Intervals) -> Intervals {
        self.intersect(&other.complement())
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }

    /// Whether every port of `self` is in `other`, without building a set: each interval of
    /// `self` must lie inside one of `other` (whose intervals are disjoint and not adjacent).
    pub fn is_subset(&self, other: &Intervals) -> bool {
        let mut j = 0;
        self.0.iter().all(|&(a, b)| {
            while other.0.get(j).is_some_and(|o| o.1 < a) {
                j += 1;
            }
            other.0.get(j).is_some_and(|o| o.0 <= a && b <= o.1)
        })
    }
}

/// The port names of one protocol in a set: some names, or every name but some.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Names {
    Only(BTreeSet<String>),
    AllBut(BTreeSet<String>),
}

impl Default for Names {
    fn default() -> Self {
        Names::Only(BTreeSet::new())
    }
}

impl Names {
    fn all() -> Self {
        Names::AllBut(BTreeSet::new())
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            Names::Only(s) => s.contains(name),
            Names::AllBut(s) => !s.contains(name),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Names::Only(s) if s.is_empty())
    }

    fn is_all(&self) -> bool {
        matches!(self, Names::AllBut(s) if s.is_empty())
    }

    fn complement(&self) -> Names {
        match self {
            Names::Only(s) => Names::AllBut(s.clone()),
            Names::AllBut(s) => Names::Only(s.clone()),
        }
    }

    fn union(&self, other: &Names) -> Names {
        match (self, other) {
            (Names::Only(a), Names::Only(b)) => Names::Only(a.union(b).cloned().collect()),
            (Names::AllBut(a), Names::AllBut(b)) => Names::AllBut(a.intersection(b).cloned().collect()),
            (Names::Only(a), Names::AllBut(b)) | (Names::AllBut(b), Names::Only(a)) => {
                Names::AllBut(b.difference(a).cloned().collect())
            }
        }
    }

    fn intersect(&self, other: &Names) -> Names {
        self.complement().union(&other.complement()).complement()
    }

    fn is_subset(&self, other: &Names) -> bool {
        match (self, other) {
            (Names::Only(a), Names::Only(b)) => a.is_subset(b),
            (Names::Only(a), Names::AllBut(b)) => a.is_disjoint(b),
            // Every name but a finite set is never inside a finite set.
            (Names::AllBut(_), Names::Only(_)) => false,
            (Names::AllBut(a), Names::AllBut(b)) => b.is_subset(a),
        }
    }
}

/// A set of connections' destination ports, per protocol: numeric intervals, and names of the
/// destination pod's container ports.
///
/// A port name stands for a number only the destination pod knows, so names and numbers are
/// kept apart: a rule for `tcp 80` does not cover the port named `http`, and a rule for `http`
/// does not cover 80, in the source and in every target's reading alike. A rule for every port
/// of a protocol covers every name too. Names are kept as a finite set or as "every name but a
/// finite set", so every operation is exact: taking `tcp 80` out of "every port" leaves every
/// name in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    numeric: [Intervals; 3],
    names: NameSets,
}

/// The names of each protocol of a [`PortSet`]. Most sets list no name, and every clause of a
/// reading holds a set, so sets without names keep none: 8 bytes instead of 96 (a target's
/// reading of 100,000 workloads holds millions of clauses). Kept canonical (no names is always
/// `None`), so the derived equality and hash are the sets'.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct NameSets(Option<Box<[Names; 3]>>);

static NO_NAMES: [Names; 3] =
    [Names::Only(BTreeSet::new()), Names::Only(BTreeSet::new()), Names::Only(BTreeSet::new())];

impl NameSets {
    fn from_fn(f: impl FnMut(usize) -> Names) -> Self {
        let names: [Names; 3] = std::array::from_fn(f);
        NameSets((!names.iter().all(Names::is_empty)).then(|| Box::new(names)))
    }

    /// `f` of each protocol's names in `self` and `other`, where `f` of two empty lists is
    /// empty (union, intersection, difference): two sets without names give none, without
    /// calling it.
    fn zip(&self, other: &NameSets, f: impl Fn(&Names, &Names) -> Names) -> Self {
        if self.0.is_none() && other.0.is_none() {
            return NameSets(None);
        }
        NameSets::from_fn(|i| f(&self[i], &other[i]))
    }

    fn set(&mut self, i: usize, names: Names) {
        let mut all = self.0.take().map_or_else(|| NO_NAMES.clone(), |b| *b);
        all[i] = names;
        *self = NameSets::from_fn(|k| std::mem::take(&mut all[k]));
    }

    fn iter(&self) -> std::slice::Iter<'_, Names> {
        self.all().iter()
    }

    fn all(&self) -> &[Names; 3] {
        self.0.as_deref().unwrap_or(&NO_NAMES)
    }
}

impl std::ops::Index<usize> for NameSets {
    type Output = Names;

    fn index(&self, i: usize) -> &Names {
        &self.all()[i]
    }
}

/// As the three protocols' names were printed before they were boxed.
impl fmt::Debug for NameSets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.all().fmt(f)
    }
}

fn slot(p: Protocol) -> usize {
    match p {
        Protocol::Tcp => 0,
        Protocol::Udp => 1,
        Protocol::Sctp => 2,
    }
}

impl PortSet {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn all() -> Self {
        PortSet {
            numeric: [Intervals::full(), Intervals::full(), Intervals::full()],
            names: NameSets::from_fn(|_| Names::all()),
        }
    }

    /// Every port of one protocol.
    pub fn protocol(protocol: Protocol) -> Self {
        let mut out = Self::empty();
        out.numeric[slot(protocol)] = Intervals::full();
        out.names.set(slot(protocol), Names::all());
        out
    }

    /// The ports `lo..=hi` of one protocol.
    pub fn range(protocol: Protocol, lo: u16, hi: u16) -> Self {
        let mut out = Self::empty();
        out.numeric[slot(protocol)].insert(lo.max(1), hi);
        out
    }

    /// The container port called `name`, of one protocol.
    pub fn named(protocol: Protocol, name: &str) -> Self {
        let mut out = Self::empty();
        out.names.set(slot(protocol), Names::Only(BTreeSet::from([name.to_string()])));
        out
    }

    pub fn from_ports(ports: &Ports) -> Self {
        let Ports::Some(list) = ports else { return Self::all() };
        let mut out = Self::empty();
        for r in list {
            let i = slot(r.protocol);
            match &r.port {
                PortMatch::All => {
                    out.numeric[i] = Intervals::full();
                    out.names.set(i, Names::all());
                }
                PortMatch::Single(p) => out.numeric[i].insert(*p, *p),
                PortMatch::Range(a, b) => out.numeric[i].insert(*a, *b),
                PortMatch::Named(name) => {
                    let names = out.names[i].union(&Names::Only([name.clone()].into()));
                    out.names.set(i, names);
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.numeric.iter().all(Intervals::is_empty) && self.names.iter().all(Names::is_empty)
    }

    /// The set with each port name it lists (by name) replaced by the number `lookup` gives
    /// it, or by nothing where `lookup` has none: the ports of one destination whose
    /// containers' named ports are known.
    pub fn resolve_names(&self, lookup: impl Fn(Protocol, &str) -> Option<u16>) -> PortSet {
        let mut out = self.clone();
        for p in Protocol::ALL {
            if let Names::Only(names) = &self.names[slot(p)] {
                for n in names {
                    if let Some(port) = lookup(p, n) {
                        out.numeric[slot(p)].insert(port, port);
                    }
                }
                out.names.set(slot(p), Names::Only(BTreeSet::new()));
            }
        }
        out
    }

    /// The port names the set lists by name, per protocol (a set of every name but some
    /// lists none).
    pub fn listed_names(&self) -> Vec<(Protocol, &str)> {
        let mut out = Vec::new();
        for p in Protocol::ALL {
            if let Names::Only(names) = &self.names[slot(p)] {
                out.extend(names.iter().map(|n| (p, n.as_str())));
            }
        }
        out
    }

    pub fn is_all(&self) -> bool {
        self.numeric.iter().all(Intervals::is_full) && self.names.iter().all(Names::is_all)
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.numeric[slot(protocol)].contains(port)
    }

    pub fn contains_name(&self, protocol: Protocol, name: &str) -> bool {
        self.names[slot(protocol)].contains(name)
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        PortSet {
            numeric: std::array::from_fn(|i| self.numeric[i].union(&other.numeric[i])),
            names: self.names.zip(&other.names, Names::union),
        }
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        PortSet {
            numeric: std::array::from_fn(|i| self.numeric[i].intersect(&other.numeric[i])),
            names: self.names.zip(&other.names, Names::intersect),
        }
    }

    pub fn subtract(&self, other: &PortSet) -> PortSet {
        PortSet {
            numeric: std::array::from_fn(|i| self.numeric[i].subtract(&other.numeric[i])),
            names: self.names.zip(&other.names, |a, b| a.intersect(&b.complement())),
        }
    }

    /// Whether every port of `self` is in `other`; it builds no set, so the checks that compare
    /// many pairs of rules (W0207) stay cheap.
    pub fn is_subset(&self, other: &PortSet) -> bool {
        (0..3)
            .all(|i| self.numeric[i].is_subset(&other.numeric[i]) && self.names[i].is_subset(&other.names[i]))
    }

    /// Whether the two sets share a port, without building their intersection.
    pub fn meets(&self, other: &PortSet) -> bool {
        (0..3).any(|i| {
            !self.numeric[i].intersect(&other.numeric[i]).is_empty()
                || !self.names[i].intersect(&other.names[i]).is_empty()
        })
    }

    /// One port of the set, for a witness: the lowest number of the first protocol that has one,
    /// else a name.
    pub fn sample(&self) -> Option<Port> {
        for p in Protocol::ALL {
            if let Some(&(a, _)) = self.numeric[slot(p)].ranges().first() {
                return Some(Port { protocol: p, port: PortId::Number(a) });
            }
        }
        for p in Protocol::ALL {
            match &self.names[slot(p)] {
                Names::Only(s) => {
                    if let Some(n) = s.iter().next() {
                        return Some(Port { protocol: p, port: PortId::Name(n.clone()) });
                    }
                }
                Names::AllBut(s) => {
                    let name =
                        (0..).map(|k| format!("port-{k}")).find(|n| !s.contains(n)).unwrap_or_default();
                    return Some(Port { protocol: p, port: PortId::Name(name) });
                }
            }
        }
        None
    }
}

/// One destination port: a number or a container port's name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    pub protocol: Protocol,
    pub port: PortId,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortId {
    Number(u16),
    Name(String),
}

impl Port {
    pub fn to_set(&self) -> PortSet {
        match &self.port {
            PortId::Number(n) => PortSet::range(self.protocol, *n, *n),
            PortId::Name(name) => PortSet::named(self.protocol, name),
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.protocol.as_str().to_ascii_lowercase();
        match &self.port {
            PortId::Number(n) => write!(f, "{p} {n}"),
            PortId::Name(n) => write!(f, "{p} {n}"),
        }
    }
}

impl fmt::Display for PortSet {
    /// `tcp 80, 8000-8100 and udp 53`, or `all ports`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all ports");
        }
        let mut parts = Vec::new();
        for p in Protocol::ALL {
            let (n, names) = (&self.numeric[slot(p)], &self.names[slot(p)]);
            let proto = p.as_str().to_ascii_lowercase();
            if n.is_full() && names.is_all() {
                parts.push(proto);
                continue;
            }
            let mut items: Vec<String> = n
                .ranges()
                .iter()
                .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                .collect();
            match names {
                Names::Only(s) => items.extend(s.iter().cloned()),
                Names::AllBut(s) if s.is_empty() => items.push("every named port".to_string()),
                Names::AllBut(s) => items.push(format!(
                    "every named port but {}",
                    s.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
            if !items.is_empty() {
                parts.push(format!("{proto} {}", items.join(", ")));
            }
        }
        if parts.is_empty() {
            return f.write_str("no ports");
        }
        f.write_str(&parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::PortRule;

    fn ports(rules: &[(Protocol, PortMatch)]) -> PortSet {
        PortSet::from_ports(&Ports::Some(
            rules.iter().map(|(p, m)| PortRule { protocol: *p, port: m.clone() }).collect(),
        ))
    }

    #[test]
    fn intervals_merge_and_complement() {
        let mut i = Intervals::default();
        i.insert(10, 20);
        i.insert(21, 30);
        i.insert(5, 5);
        assert_eq!(i.ranges(), &[(5, 5), (10, 30)]);
        assert_eq!(i.complement().ranges(), &[(1, 4), (6, 9), (31, 65535)]);
        assert_eq!(Intervals::full().complement().ranges(), &[]);
    }

    /// A set whose names were all taken out is the set that never had any: equal, with the
    /// same hash (readings and rows are deduplicated by hash), and as small.
    #[test]
    fn a_set_without_names_is_one_value_however_it_was_built() {
        use std::hash::{BuildHasher, RandomState};
        let named = PortSet::named(Protocol::Tcp, "http").union(&PortSet::range(Protocol::Tcp, 80, 80));
        let built = [
            named.subtract(&PortSet::named(Protocol::Tcp, "http")),
            named.resolve_names(|_, _| Some(80)),
            named.intersect(&PortSet::range(Protocol::Tcp, 1, 100)),
        ];
        let plain = PortSet::range(Protocol::Tcp, 80, 80);
        let hasher = RandomState::new();
        for set in &built {
            assert_eq!(set, &plain);
            assert_eq!(hasher.hash_one(set), hasher.hash_one(&plain));
            assert!(set.names.0.is_none());
        }
        assert_ne!(named, plain);
        assert!(std::mem::size_of::<PortSet>() <= 80, "{}", std::mem::size_of::<PortSet>());
        assert!(format!("{plain:?}").contains("names: [Only({}), Only({}), Only({})]"));
    }

    #[test]
    fn set_algebra() {
        let a =
            ports(&[(Protocol::Tcp, PortMatch::Range(8000, 8100)), (Protocol::Udp, PortMatch::Single(53))]);
        let b = ports(&[(Protocol::Tcp, PortMatch::Single(8080))]);
        assert!(b.is_subset(&a));
        assert!(!a.is_subset(&b));
        assert_eq!(a.subtract(&b).to_string(), "tcp 8000-8079, 8081-8100 and udp 53");
        assert_eq!(a.intersect(&b).to_string(), "tcp 8080");
        assert!(PortSet::all().subtract(&PortSet::all()).is_empty());
    }

    #[test]
    fn named_ports_are_covered_only_by_name_or_full_range() {
        let named = ports(&[(Protocol::Tcp, PortMatch::Named("http".into()))]);
        let numeric = ports(&[(Protocol::Tcp, PortMatch::Single(80))]);
        let all_tcp = ports(&[(Protocol::Tcp, PortMatch::All)]);
        assert!(!named.is_subset(&numeric));
        assert!(named.is_subset(&all_tcp));
        assert!(named.is_subset(&named));
        assert!(named.intersect(&numeric).is_empty());
    }

    proptest::proptest! {
        /// Inserting intervals one by one (merged in place) gives the ports a bitmap of them
        /// has, as sorted, disjoint, non-adjacent intervals, whatever the order.
        #[test]
        fn insert_keeps_the_intervals_a_bitmap_has(
            xs in proptest::collection::vec((1u16..60, 0u16..8), 0..12),
        ) {
            let mut set = Intervals::default();
            let mut bits = [false; 70];
            for &(lo, len) in &xs {
                set.insert(lo, lo + len);
                (lo..=lo + len).for_each(|p| bits[p as usize] = true);
            }
            let ranges = set.ranges();
            proptest::prop_assert!(ranges.windows(2).all(|w| w[0].1 as u32 + 1 < w[1].0 as u32));
            for (p, &bit) in bits.iter().enumerate().skip(1) {
                proptest::prop_assert_eq!(set.contains(p as u16), bit, "port {}", p);
            }
        }

        /// Union, intersection, complement and subtraction give the ports bitmaps of their
        /// operands give, as sorted, disjoint, non-adjacent intervals (the edges of the port
        /// range among them).
        #[test]
        fn set_operations_agree_with_bitmaps(
            xs in proptest::collection::vec((0u16..24, 0u16..6), 0..6),
            ys in proptest::collection::vec((0u16..24, 0u16..6), 0..6),
        ) {
            // Small ports, and the same shapes at the top of the range.
            let build = |items: &[(u16, u16)]| {
                let mut set = Intervals::default();
                for &(lo, len) in items {
                    match lo % 2 {
                        0 => set.insert(lo / 2 + 1, lo / 2 + 1 + len),
                        _ => set.insert(u16::MAX - lo / 2 - len, u16::MAX - lo / 2),
                    }
                }
                set
            };
            let (a, b) = (build(&xs), build(&ys));
            let ports = |set: &Intervals| -> Vec<u16> {
                (1..=40).chain(u16::MAX - 40..=u16::MAX).filter(|&p| set.contains(p)).collect()
            };
            let model = |f: &dyn Fn(bool, bool) -> bool| -> Vec<u16> {
                (1..=40).chain(u16::MAX - 40..=u16::MAX).filter(|&p| f(a.contains(p), b.contains(p))).collect()
            };
            for (set, want) in [
                (a.union(&b), model(&|x, y| x || y)),
                (a.intersect(&b), model(&|x, y| x && y)),
                (a.subtract(&b), model(&|x, y| x && !y)),
                (b.subtract(&a), model(&|x, y| y && !x)),
                (a.complement(), model(&|x, _| !x)),
            ] {
                let ranges = set.ranges();
                proptest::prop_assert!(
                    ranges.windows(2).all(|w| w[0].1 as u32 + 1 < w[1].0 as u32),
                    "{:?}", ranges
                );
                proptest::prop_assert_eq!(ports(&set), want, "{:?} {:?}: {:?}", a, b, ranges);
            }
            // Nothing outside the ports looked at: every interval touches them.
            proptest::prop_assert!(a.subtract(&b).ranges().iter().all(|&(lo, hi)| lo <= 46 || hi >= u16::MAX - 40));
        }

        /// `is_subset` (which builds nothing) agrees with its definition, `a − b = ∅`, on sets
        /// built by union, subtraction and complement of small ranges and names.
        #[test]
        fn is_subset_is_an_empty_difference(
            xs in proptest::collection::vec((0usize..3, 1u16..40, 0u16..10, 0usize..4), 0..6),
            ys in proptest::collection::vec((0usize..3, 1u16..40, 0u16..10, 0usize..4), 0..6),
            cut in 0usize..3,
        ) {
            let build = |items: &[(usize, u16, u16, usize)]| {
                let mut set = PortSet::empty();
                for &(p, lo, len, kind) in items {
                    let protocol = Protocol::ALL[p];
                    let part = match kind {
                        0 => PortSet::range(protocol, lo, lo + len),
                        1 => PortSet::named(protocol, ["a", "b", "c"][len as usize % 3]),
                        2 => PortSet::protocol(protocol),
                        _ => PortSet::all().subtract(&PortSet::named(protocol, "a")),
                    };
                    set = set.union(&part);
                }
                set
            };
            let (a, mut b) = (build(&xs), build(&ys));
            if cut == 1 {
                b = PortSet::all().subtract(&b);
            }
            proptest::prop_assert_eq!(a.is_subset(&b), a.subtract(&b).is_empty());
            proptest::prop_assert_eq!(b.is_subset(&a), b.subtract(&a).is_empty());
            proptest::prop_assert!(a.is_subset(&a.union(&b)));
        }
    }

    #[test]
    fn taking_numbers_out_of_every_port_keeps_the_names() {
        let http = ports(&[(Protocol::Tcp, PortMatch::Named("http".into()))]);
        let eighty = ports(&[(Protocol::Tcp, PortMatch::Single(80))]);
        let rest = PortSet::all().subtract(&eighty);
        assert!(http.is_subset(&rest));
        assert!(!rest.contains(Protocol::Tcp, 80));
        let no_http = PortSet::all().subtract(&http);
        assert!(!http.is_subset(&no_http));
        assert!(no_http.contains_name(Protocol::Tcp, "metrics"));
        assert!(no_http.union(&http).is_all());
        assert_eq!(no_http.to_string(), "tcp 1-65535, every named port but http and udp and sctp");
        assert_eq!(http.sample().map(|p| p.to_string()), Some("tcp http".to_string()));
    }
}
