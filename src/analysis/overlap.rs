//! Pods that two selectors pick at once.
//!
//! The synthetic [`Universe`](super::universe::Universe) holds one pod per workload, with the
//! labels its selector requires. Two workloads of one namespace whose selectors can pick the
//! same pod (`app: web` and `tier: frontend`) then never share a pod there, so the rules that
//! apply to such a pod (those of both workloads) would never be evaluated. This module finds,
//! for every pair of selectors of one namespace that can pick one pod and that no pod picks
//! yet, the labels of a pod both pick ([`joint_labels`]).
//!
//! Work is bounded: selectors are indexed by the values their exact labels and `in`
//! expressions allow per key, so a pair that disagrees on a key both constrain is never
//! visited (the usual case: every workload its own `app`); each selector visits the
//! candidates of its cheapest key only. A [`Budget`] caps both the candidates visited and the
//! pods added; where it runs out the search stops at a fixed point, the same on every run, and
//! says where ([`Cut`]).

use crate::ir::{LabelOp, LabelSelector};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// The labels of an object that every selector of `all` picks, with as few keys as needed;
/// `None` when no object is picked by all of them.
///
/// Per key, the selectors constrain independently (Kubernetes `LabelSelectorAsSelector`,
/// kubernetes/apimachinery pkg/apis/meta/v1/helpers.go: the requirements are ANDed): an exact
/// label or `In` needs the key with one of its values, `Exists` needs the key, `NotIn` forbids
/// some values (an absent key satisfies it) and `DoesNotExist` forbids the key.
pub fn joint_labels(all: &[&LabelSelector]) -> Option<BTreeMap<String, String>> {
    #[derive(Default)]
    struct Key<'a> {
        /// The values allowed, when some selector lists them (sorted).
        allowed: Option<Vec<&'a str>>,
        present: bool,
        absent: bool,
        excluded: BTreeSet<&'a str>,
    }
    fn allow<'a>(k: &mut Key<'a>, values: impl Iterator<Item = &'a str>) {
        let mut values: Vec<&str> = values.collect();
        values.sort_unstable();
        values.dedup();
        k.allowed = Some(match k.allowed.take() {
            None => values,
            Some(old) => old.into_iter().filter(|v| values.binary_search(v).is_ok()).collect(),
        });
        k.present = true;
    }
    let mut keys: BTreeMap<&str, Key> = BTreeMap::new();
    for s in all {
        for (k, v) in &s.match_labels {
            allow(keys.entry(k).or_default(), std::iter::once(v.as_str()));
        }
        for e in &s.expressions {
            let k = keys.entry(&e.key).or_default();
            match e.op {
                LabelOp::In => allow(k, e.values.iter().map(String::as_str)),
                LabelOp::NotIn => k.excluded.extend(e.values.iter().map(String::as_str)),
                LabelOp::Exists => k.present = true,
                LabelOp::DoesNotExist => k.absent = true,
            }
        }
    }
    let mut labels = BTreeMap::new();
    for (key, k) in keys {
        if !k.present {
            continue;
        }
        if k.absent {
            return None;
        }
        let value = match k.allowed {
            Some(values) => values.into_iter().find(|v| !k.excluded.contains(v))?.to_string(),
            // Any value: the empty one (as `LabelSelector::representative` writes `exists`),
            // else the first `vN` no `notin` names; there are more candidates than exclusions.
            None => std::iter::once(String::new())
                .chain((0..).map(|i| format!("v{i}")))
                .find(|v| !k.excluded.contains(v.as_str()))
                .expect("a value outside a finite set"),
        };
        labels.insert(key.to_string(), value);
    }
    Some(labels)
}

/// One selector of a namespace, with the labels of the pod the universe already holds for it.
pub struct Entry<'a> {
    pub selector: &'a LabelSelector,
    pub labels: &'a BTreeMap<String, String>,
}

/// How much work the search may still do: candidates visited and pods added, over every
/// namespace together.
#[derive(Clone, Debug)]
pub struct Budget {
    pub visits: usize,
    pub pods: usize,
}

/// Pods the overlap pods of a universe may add: as many as its selectors, and never fewer
/// than this.
pub const MIN_POD_BUDGET: usize = 512;

impl Budget {
    /// The budget for a universe of `entries` selectors: a few dozen candidates per selector
    /// (plus a fixed allowance), and as many overlap pods as selectors (at least
    /// [`MIN_POD_BUDGET`]), so the universe at most about doubles its pods.
    pub fn for_entries(entries: usize) -> Budget {
        Budget { visits: 200_000 + 32 * entries, pods: entries.max(MIN_POD_BUDGET) }
    }
}

/// Where the search stopped, when its budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// This pair can pick one pod, but no pod was left in the budget for it (nor for any pair
    /// after it).
    Pods(usize, usize),
    /// The search for the partners of this selector (and of every later one) did not run.
    Search(usize),
}

/// Two entries (by index, the first lower) and the labels of a pod both pick.
pub type Pair = (usize, usize, BTreeMap<String, String>);

/// Every pair `(i, j)`, `i < j`, of `entries` whose selectors can pick one pod while neither
/// entry's own pod is picked by both, with the labels of such a pod; each label set once (and
/// none equal to an entry's own labels). Pairs come in order of `i`, then `j`.
pub fn overlaps(entries: &[Entry], budget: &mut Budget) -> (Vec<Pair>, Option<Cut>) {
    let m = entries.len();
    // Per entry, the values each key may take (exact labels and `in`), or `None` when the
    // selector picks nothing by itself.
    let finite: Vec<Option<BTreeMap<&str, Vec<&str>>>> = entries
        .iter()
        .map(|e| {
            joint_labels(&[e.selector])?;
            let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (k, v) in &e.selector.match_labels {
                keys.insert(k, vec![v]);
            }
            for x in e.selector.expressions.iter().filter(|x| x.op == LabelOp::In) {
                let values: Vec<&str> = x.values.iter().map(String::as_str).collect();
                keys.entry(&x.key).and_modify(|old| old.retain(|v| values.contains(v))).or_insert(values);
            }
            Some(keys)
        })
        .collect();
    let mut having: FxHashMap<&str, usize> = FxHashMap::default();
    let mut by_value: FxHashMap<(&str, &str), Vec<usize>> = FxHashMap::default();
    for (i, keys) in finite.iter().enumerate() {
        for (k, values) in keys.iter().flatten() {
            *having.entry(k).or_default() += 1;
            for v in values {
                by_value.entry((k, v)).or_default().push(i);
            }
        }
    }
    let live = finite.iter().filter(|f| f.is_some()).count();
    // Per key, the entries that do not constrain it to a list of values; built on first use.
    let mut lacking: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    let mut seen: BTreeSet<BTreeMap<String, String>> = entries.iter().map(|e| e.labels.clone()).collect();
    let mut found: Vec<Pair> = Vec::new();
    let mut candidates: Vec<usize> = Vec::new();
    for i in 0..m {
        let Some(keys) = &finite[i] else { continue };
        // The key whose candidates are fewest: the entries that leave it open, and those
        // that allow one of this entry's values.
        let cost = |k: &str, values: &Vec<&str>| {
            live - having.get(k).copied().unwrap_or(0)
                + values.iter().map(|v| by_value.get(&(k, *v)).map_or(0, Vec::len)).sum::<usize>()
        };
        let best = keys.iter().min_by_key(|(k, values)| cost(k, values));
        candidates.clear();
        match best {
            None => {
                if budget.visits < m {
                    return (found, Some(Cut::Search(i)));
                }
                budget.visits -= m;
                candidates.extend(i + 1..m);
            }
            Some((k, values)) => {
                let open = live - having.get(k).copied().unwrap_or(0);
                let listed = cost(k, values) - open;
                let build = if open > 0 && !lacking.contains_key(k) { m } else { 0 };
                if budget.visits < open + listed + build {
                    return (found, Some(Cut::Search(i)));
                }
                budget.visits -= open + listed + build;
                if open > 0 {
                    let list = lacking.entry(k).or_insert_with(|| {
                        (0..m).filter(|j| finite[*j].as_ref().is_some_and(|f| !f.contains_key(k))).collect()
                    });
                    candidates.extend(list.iter().copied().filter(|j| *j > i));
                }
                for v in values {
                    if let Some(js) = by_value.get(&(*k, *v)) {
                        candidates.extend(js.iter().copied().filter(|j| *j > i));
                    }
                }
                candidates.sort_unstable();
                candidates.dedup();
            }
        }
        for &j in &candidates {
            if finite[j].is_none() {
                continue;
            }
            let (a, b) = (&entries[i], &entries[j]);
            // A pod of either entry that both pick already stands for the overlap.
            let both =
                |labels: &BTreeMap<String, String>| a.selector.matches(labels) && b.selector.matches(labels);
            if both(a.labels) || both(b.labels) {
                continue;
            }
            let Some(labels) = joint_labels(&[a.selector, b.selector]) else { continue };
            if seen.contains(&labels) {
                continue;
            }
            if budget.pods == 0 {
                return (found, Some(Cut::Pods(i, j)));
            }
            budget.pods -= 1;
            seen.insert(labels.clone());
            found.push((i, j, labels));
        }
    }
    (found, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::LabelExpr;
    use proptest::prelude::*;

    const KEYS: [&str; 3] = ["a", "b", "c"];
    const VALUES: [&str; 3] = ["x", "y", ""];

    fn sel(labels: &[(&str, &str)], exprs: &[(&str, LabelOp, &[&str])]) -> LabelSelector {
        LabelSelector {
            match_labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expressions: exprs
                .iter()
                .map(|(k, op, vs)| LabelExpr {
                    key: k.to_string(),
                    op: *op,
                    values: {
                        let mut v: Vec<String> = vs.iter().map(|s| s.to_string()).collect();
                        v.sort();
                        v.dedup();
                        v
                    },
                })
                .collect(),
        }
    }

    /// A random selector over [`KEYS`] and [`VALUES`].
    fn selector() -> impl Strategy<Value = LabelSelector> {
        let op = prop_oneof![
            Just(LabelOp::In),
            Just(LabelOp::NotIn),
            Just(LabelOp::Exists),
            Just(LabelOp::DoesNotExist)
        ];
        let expr = (0..KEYS.len(), op, proptest::collection::vec(0..VALUES.len(), 1..3));
        (
            proptest::collection::btree_map(0..KEYS.len(), 0..VALUES.len(), 0..3),
            proptest::collection::vec(expr, 0..3),
        )
            .prop_map(|(labels, exprs)| LabelSelector {
                match_labels: labels
                    .into_iter()
                    .map(|(k, v)| (KEYS[k].to_string(), VALUES[v].to_string()))
                    .collect(),
                expressions: exprs
                    .into_iter()
                    .map(|(k, op, vs)| {
                        let mut values: Vec<String> = match op {
                            LabelOp::In | LabelOp::NotIn => {
                                vs.into_iter().map(|v| VALUES[v].to_string()).collect()
                            }
                            _ => Vec::new(),
                        };
                        values.sort();
                        values.dedup();
                        LabelExpr { key: KEYS[k].to_string(), op, values }
                    })
                    .collect(),
            })
    }

    /// Every label set over [`KEYS`]: each key absent, one of [`VALUES`], or a value no
    /// selector names (which stands for all such values).
    fn every_label_set() -> Vec<BTreeMap<String, String>> {
        let choices: Vec<Option<&str>> =
            std::iter::once(None).chain(VALUES.iter().map(|v| Some(*v))).chain([Some("other")]).collect();
        let mut out = vec![BTreeMap::new()];
        for k in KEYS {
            out = out
                .into_iter()
                .flat_map(|labels| {
                    choices.iter().map(move |c| {
                        let mut l = labels.clone();
                        if let Some(v) = c {
                            l.insert(k.to_string(), v.to_string());
                        }
                        l
                    })
                })
                .collect();
        }
        out
    }

    #[test]
    fn joint_labels_satisfy_both_selectors() {
        let web = sel(&[("app", "web")], &[]);
        let front = sel(&[("tier", "front")], &[]);
        let labels = joint_labels(&[&web, &front]).expect("web and front can share a pod");
        assert!(web.matches(&labels) && front.matches(&labels), "{labels:?}");
        assert_eq!(labels.len(), 2);
        // Exact labels that disagree, `in` lists that do not meet, `exists` against `!key`.
        let api = sel(&[("app", "api")], &[]);
        assert_eq!(joint_labels(&[&web, &api]), None);
        let a = sel(&[], &[("tier", LabelOp::In, &["front", "back"])]);
        let b = sel(&[], &[("tier", LabelOp::In, &["db"])]);
        assert_eq!(joint_labels(&[&a, &b]), None);
        let c = sel(&[], &[("tier", LabelOp::Exists, &[])]);
        let d = sel(&[], &[("tier", LabelOp::DoesNotExist, &[])]);
        assert_eq!(joint_labels(&[&c, &d]), None);
        // `exists` with `notin` of the empty value: a value outside the list.
        let e = sel(&[], &[("tier", LabelOp::NotIn, &["", "v0"])]);
        let labels = joint_labels(&[&c, &e]).expect("some value");
        assert!(c.matches(&labels) && e.matches(&labels), "{labels:?}");
        // `notin` alone is met by leaving the key out.
        assert_eq!(joint_labels(&[&e, &web]), Some(web.match_labels.clone()));
    }

    proptest! {
        #[test]
        fn a_pair_has_joint_labels_exactly_when_some_labels_satisfy_both(a in selector(), b in selector()) {
            let exists = every_label_set().iter().any(|l| a.matches(l) && b.matches(l));
            match joint_labels(&[&a, &b]) {
                Some(labels) => prop_assert!(a.matches(&labels) && b.matches(&labels), "{labels:?}"),
                None => prop_assert!(!exists, "{a:?} and {b:?} share a pod, none found"),
            }
            prop_assert_eq!(joint_labels(&[&a, &b]).is_some(), exists);
        }

        #[test]
        fn every_pair_that_can_share_a_pod_gets_one(selectors in proptest::collection::vec(selector(), 1..8)) {
            let reps: Vec<BTreeMap<String, String>> = selectors.iter().map(LabelSelector::representative).collect();
            let entries: Vec<Entry> = selectors.iter().zip(&reps).map(|(selector, labels)| Entry { selector, labels }).collect();
            let mut budget = Budget::for_entries(entries.len());
            let (found, cut) = overlaps(&entries, &mut budget);
            prop_assert_eq!(cut, None);
            for (i, j, labels) in &found {
                prop_assert!(i < j);
                prop_assert!(selectors[*i].matches(labels) && selectors[*j].matches(labels));
            }
            let pods: Vec<&BTreeMap<String, String>> = reps.iter().chain(found.iter().map(|f| &f.2)).collect();
            let all = every_label_set();
            for (i, a) in selectors.iter().enumerate() {
                for b in &selectors[i + 1..] {
                    if all.iter().any(|l| a.matches(l) && b.matches(l)) {
                        prop_assert!(
                            pods.iter().any(|l| a.matches(l) && b.matches(l)),
                            "no pod for {a:?} and {b:?} among {pods:?}"
                        );
                    }
                }
            }
        }
    }

    fn app(i: usize) -> LabelSelector {
        sel(&[("app", &format!("w-{i}")), ("tier", ["frontend", "backend", "data", "batch"][i % 4])], &[])
    }

    #[test]
    fn selectors_that_disagree_on_a_key_are_never_visited_in_pairs() {
        // The benchmark's shape: every workload its own `app`, four tiers.
        let n = 10_000;
        let selectors: Vec<LabelSelector> = (0..n).map(app).collect();
        let reps: Vec<BTreeMap<String, String>> =
            selectors.iter().map(LabelSelector::representative).collect();
        let entries: Vec<Entry> =
            selectors.iter().zip(&reps).map(|(selector, labels)| Entry { selector, labels }).collect();
        let mut budget = Budget::for_entries(n);
        let start = budget.visits;
        let (found, cut) = overlaps(&entries, &mut budget);
        assert!(found.is_empty() && cut.is_none());
        // One candidate per selector: itself, under its own `app`.
        assert_eq!(start - budget.visits, n);
    }

    #[test]
    fn a_tier_workload_overlaps_each_app_of_its_tier_only() {
        let n = 2_000;
        let mut selectors: Vec<LabelSelector> = (0..n).map(app).collect();
        selectors.push(sel(&[("tier", "frontend")], &[("canary", LabelOp::DoesNotExist, &[])]));
        selectors.push(sel(&[], &[("tier", LabelOp::In, &["backend", "data"])]));
        let reps: Vec<BTreeMap<String, String>> =
            selectors.iter().map(LabelSelector::representative).collect();
        let entries: Vec<Entry> =
            selectors.iter().zip(&reps).map(|(selector, labels)| Entry { selector, labels }).collect();
        let mut budget = Budget::for_entries(entries.len());
        let start = budget.visits;
        let (found, cut) = overlaps(&entries, &mut budget);
        assert_eq!(cut, None);
        // The apps' own pods already carry their tier: each `tier` workload picks them, so no
        // pod is needed; the two tier selectors cannot meet.
        assert!(found.is_empty(), "{:?}", &found[..found.len().min(3)]);
        assert!(start - budget.visits < 8 * entries.len(), "{} visits", start - budget.visits);
    }

    #[test]
    fn past_its_budget_the_search_stops_at_the_same_pair_every_time() {
        // Every workload its own key: every pair can share a pod.
        let n = 40;
        let selectors: Vec<LabelSelector> = (0..n).map(|i| sel(&[(&format!("k{i}"), "x")], &[])).collect();
        let reps: Vec<BTreeMap<String, String>> =
            selectors.iter().map(LabelSelector::representative).collect();
        let entries: Vec<Entry> =
            selectors.iter().zip(&reps).map(|(selector, labels)| Entry { selector, labels }).collect();
        let run = || overlaps(&entries, &mut Budget { visits: 1_000_000, pods: 100 });
        let (found, cut) = run();
        assert_eq!(found.len(), 100);
        // Pairs in order: (0, 1..39) is 39 pods, (1, 2..39) 38, (2, 3..25) the last 23.
        assert_eq!(cut, Some(Cut::Pods(2, 26)));
        assert_eq!(run(), (found, cut));
        let (found, cut) = overlaps(&entries, &mut Budget { visits: 100, pods: 10_000 });
        assert!(matches!(cut, Some(Cut::Search(_))), "{cut:?}");
        assert!(found.len() < n * (n - 1) / 2);
        // With enough of both, every pair.
        let (found, cut) = overlaps(&entries, &mut Budget::for_entries(n * n));
        assert_eq!((found.len(), cut), (n * (n - 1) / 2, None));
    }
}
