//! Named ports resolved against the inventory's containers, per CNI.
//!
//! A port name in a policy stands for the number a container declares under that name. With an
//! inventory those numbers are known, so [`Resolved`] turns each rule's port names into
//! numbers before the sides are folded (a deny of `http` then takes away the right number):
//! - **ingress**, on every CNI: the destination is the pod whose side it is, so its own
//!   containers' ports decide, exactly; a name it does not declare matches nothing
//!   (Kubernetes `NetworkPolicyPort`: "a named port on a pod", resolved on the selected pod);
//! - **egress**, Kubernetes and Calico: the destination pod's ports decide. Where every pod the
//!   rule covers declares the name with one number, that number is exact; otherwise the rule's
//!   named part is read as *possibly* allowing the numbers any of them declares;
//! - **egress**, Cilium (the releases netpol targets): a name is looked up across every pod
//!   of the cluster, and where two pods give it different numbers the rule opens nothing for
//!   it (cilium#30003, see E0306). The Cilium reader already reads such a rule as possibly
//!   any port of its protocol; a name that still reaches here is looked up cluster-wide.
//!
//! Points whose ports are not known (pods made up without an inventory) keep names as they are.

use super::inventory::NamedPort;
use super::universe::Population;
use super::Dialect;
use crate::analysis::matrix::Semantics;
use crate::analysis::ports::PortSet;
use crate::analysis::side::{Clause, Coverage, Match, Side, Step};
use crate::analysis::universe::{Kind, PointId};
use crate::ir::{Direction, Protocol};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// An egress clause's ports, resolved: parts, each with the furthest match it keeps.
type Parts = Vec<(PortSet, Match)>;

/// A semantics with named ports resolved against the inventory (see the module comment).
pub struct Resolved<'a> {
    inner: Box<dyn Semantics + 'a>,
    pop: &'a Population,
    /// Cilium's cluster-wide reading of egress names.
    cilium: bool,
    /// Per (protocol, name): every number inventory pods declare for it.
    declared: BTreeMap<(Protocol, String), BTreeSet<u16>>,
    /// Per inventory pod point: its ports, for lookups.
    has_ports: Vec<bool>,
    /// Egress resolutions already worked out, per (coverage, port set).
    cache: Mutex<HashMap<(Arc<Coverage>, PortSet), Parts>>,
}

impl<'a> Resolved<'a> {
    /// `cni`: the reading's CNI, `None` for the program's own meaning (resolved as Kubernetes).
    pub fn new(inner: Box<dyn Semantics + 'a>, pop: &'a Population, cni: Option<Dialect>) -> Self {
        let mut declared: BTreeMap<(Protocol, String), BTreeSet<u16>> = BTreeMap::new();
        for ports in &pop.ports {
            for p in ports {
                declared.entry((p.protocol, p.name.clone())).or_default().insert(p.port);
            }
        }
        let has_ports = (0..pop.universe.len()).map(|p| !pop.members[p].is_empty()).collect();
        Resolved {
            inner,
            pop,
            cilium: cni == Some(Dialect::Cilium),
            declared,
            has_ports,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn lookup(ports: &[NamedPort]) -> impl Fn(Protocol, &str) -> Option<u16> + '_ {
        move |protocol, name| ports.iter().find(|x| x.protocol == protocol && x.name == name).map(|x| x.port)
    }

    /// The inventory pods a coverage covers, each as far as it does.
    fn covered(&self, cover: &Coverage) -> Vec<(PointId, Match)> {
        let u = &self.pop.universe;
        // Only the pods it may cover: all of them where it covers pods of unlisted zones, else
        // those of the zones and points it lists.
        let candidates: Vec<PointId> = if cover.kinds[Kind::Pod.index()] != Match::No {
            u.points_of_kind(Kind::Pod).to_vec()
        } else {
            let mut c: Vec<PointId> =
                cover.zones.iter().flat_map(|(z, _)| u.zone(*z).pods.iter().copied()).collect();
            c.extend(cover.points.iter().map(|x| x.0));
            c.sort_unstable();
            c.dedup();
            c
        };
        candidates
            .into_iter()
            .filter(|p| self.has_ports[*p as usize])
            .map(|p| (p, cover.get(u, p)))
            .filter(|x| x.1 != Match::No)
            .collect()
    }

    /// An egress clause's ports, resolved: parts with the match they keep (`Yes`: as the
    /// clause covers; `Maybe`: only possibly).
    fn egress(&self, c: &Clause) -> Vec<(PortSet, Match)> {
        let names = c.ports.listed_names();
        if names.is_empty() {
            return vec![(c.ports.clone(), Match::Yes)];
        }
        let key = (c.cover.clone(), c.ports.clone());
        if let Some(hit) = self.cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let numeric = c.ports.resolve_names(|_, _| None);
        let out = if self.cilium {
            // One number across the cluster, or nothing.
            let global = c.ports.resolve_names(|p, n| match self.declared.get(&(p, n.to_string())) {
                Some(set) if set.len() == 1 => set.iter().next().copied(),
                _ => None,
            });
            vec![(global, Match::Yes)]
        } else {
            // Per name: the numbers of the pods the rule covers. Uniform where every one of
            // them gives the same answer: one number, or none declaring it (a name given for
            // every protocol, as a ClusterNetworkPolicy's `destinationNamedPort`, is declared
            // for one of them only).
            let covered = self.covered(&c.cover);
            let mut uniform = true;
            let mut numbers: BTreeMap<(Protocol, &str), BTreeSet<u16>> = BTreeMap::new();
            for (p, name) in &names {
                let set = numbers.entry((*p, name)).or_default();
                let mut missing = false;
                for (q, _) in &covered {
                    match Self::lookup(&self.pop.ports[*q as usize])(*p, name) {
                        Some(n) => {
                            set.insert(n);
                        }
                        None => missing = true,
                    }
                }
                uniform &= set.len() <= 1 && (!missing || set.is_empty());
            }
            let mut resolved = PortSet::empty();
            for ((p, _), set) in &numbers {
                for n in set {
                    resolved = resolved.union(&PortSet::range(*p, *n, *n));
                }
            }
            if uniform {
                vec![(numeric.union(&resolved), Match::Yes)]
            } else {
                vec![(numeric, Match::Yes), (resolved, Match::Maybe)]
            }
        };
        if let Ok(mut m) = self.cache.lock() {
            m.insert(key, out.clone());
        }
        out
    }
}

impl Semantics for Resolved<'_> {
    fn side(&self, p: PointId, dir: Direction) -> Side {
        let mut side = self.inner.side(p, dir);
        let named = |s: &Step| matches!(s, Step::Clause(c) if !c.ports.listed_names().is_empty());
        if !side.steps.iter().any(named) {
            return side;
        }
        match dir {
            Direction::Ingress => {
                if !self.has_ports[p as usize] {
                    return side;
                }
                let ports = &self.pop.ports[p as usize];
                for step in &mut side.steps {
                    if let Step::Clause(c) = step {
                        c.ports = c.ports.resolve_names(Self::lookup(ports));
                    }
                }
            }
            Direction::Egress => {
                let mut steps = Vec::with_capacity(side.steps.len());
                for step in side.steps {
                    let Step::Clause(c) = &step else {
                        steps.push(step);
                        continue;
                    };
                    if c.ports.listed_names().is_empty() {
                        steps.push(step);
                        continue;
                    }
                    for (ports, m) in self.egress(c) {
                        let cover = match m {
                            Match::Yes => c.cover.clone(),
                            // Only possibly: what the clause covers, no further than Maybe.
                            _ => Arc::new(at_most_maybe(&c.cover)),
                        };
                        steps.push(Step::Clause(Clause {
                            cover,
                            ports,
                            act: c.act,
                            origin: c.origin.clone(),
                        }));
                    }
                }
                side.steps = steps;
            }
        }
        side
    }
}

fn at_most_maybe(c: &Coverage) -> Coverage {
    let cap = |m: Match| m.min(Match::Maybe);
    Coverage {
        kinds: c.kinds.map(cap),
        zones: c.zones.iter().map(|(z, m)| (*z, cap(*m))).collect(),
        points: c.points.iter().map(|(p, m)| (*p, cap(*m))).collect(),
    }
}
