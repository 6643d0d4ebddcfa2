//! Sets of (protocol, port) as sorted disjoint intervals per protocol, plus named ports.
//! Nothing here enumerates ports one by one.

use crate::ir::{PortMatch, Ports, Protocol};
use std::collections::BTreeSet;
use std::fmt;

/// Inclusive, sorted, disjoint, non-adjacent intervals over 1..=65535.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        self.0.push((lo, hi));
        self.0.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(last) if a as u32 <= last.1 as u32 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }

    pub fn union(&self, other: &Intervals) -> Intervals {
        let mut out = self.clone();
        other.0.iter().for_each(|&(a, b)| out.insert(a, b));
        out
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
}

/// A set of connections' destination ports: numeric intervals per protocol and named ports.
/// A named port is only known to be in a set that names it or holds every port of its protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSet {
    numeric: [Intervals; 3],
    named: BTreeSet<(Protocol, String)>,
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
        PortSet { numeric: [Intervals::full(), Intervals::full(), Intervals::full()], named: BTreeSet::new() }
    }

    pub fn from_ports(ports: &Ports) -> Self {
        let Ports::Some(list) = ports else { return Self::all() };
        let mut out = Self::empty();
        for r in list {
            let n = &mut out.numeric[slot(r.protocol)];
            match &r.port {
                PortMatch::All => n.insert(1, u16::MAX),
                PortMatch::Single(p) => n.insert(*p, *p),
                PortMatch::Range(a, b) => n.insert(*a, *b),
                PortMatch::Named(name) => {
                    out.named.insert((r.protocol, name.clone()));
                }
            }
        }
        out.normalize();
        out
    }

    /// Drops named ports already covered by a full protocol range.
    fn normalize(&mut self) {
        let numeric = &self.numeric;
        self.named.retain(|(p, _)| !numeric[slot(*p)].is_full());
    }

    pub fn is_empty(&self) -> bool {
        self.numeric.iter().all(Intervals::is_empty) && self.named.is_empty()
    }

    pub fn is_all(&self) -> bool {
        self.numeric.iter().all(Intervals::is_full)
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.numeric[slot(protocol)].contains(port)
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet {
            numeric: std::array::from_fn(|i| self.numeric[i].union(&other.numeric[i])),
            named: self.named.union(&other.named).cloned().collect(),
        };
        out.normalize();
        out
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let keep = |set: &PortSet, (p, name): &(Protocol, String)| {
            set.numeric[slot(*p)].is_full() || set.named.contains(&(*p, name.clone()))
        };
        let mut named: BTreeSet<_> = self.named.iter().filter(|n| keep(other, n)).cloned().collect();
        named.extend(other.named.iter().filter(|n| keep(self, n)).cloned());
        let mut out =
            PortSet { numeric: std::array::from_fn(|i| self.numeric[i].intersect(&other.numeric[i])), named };
        out.normalize();
        out
    }

    pub fn subtract(&self, other: &PortSet) -> PortSet {
        let named = self
            .named
            .iter()
            .filter(|(p, n)| !(other.numeric[slot(*p)].is_full() || other.named.contains(&(*p, n.clone()))))
            .cloned()
            .collect();
        PortSet { numeric: std::array::from_fn(|i| self.numeric[i].subtract(&other.numeric[i])), named }
    }

    pub fn is_subset(&self, other: &PortSet) -> bool {
        self.subtract(other).is_empty()
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
            let n = &self.numeric[slot(p)];
            let mut items: Vec<String> = if n.is_full() {
                Vec::new()
            } else {
                n.ranges()
                    .iter()
                    .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect()
            };
            items.extend(self.named.iter().filter(|(q, _)| *q == p).map(|(_, name)| name.clone()));
            if n.is_full() {
                parts.push(p.as_str().to_ascii_lowercase());
            } else if !items.is_empty() {
                parts.push(format!("{} {}", p.as_str().to_ascii_lowercase(), items.join(", ")));
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
}
