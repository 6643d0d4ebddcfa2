//! Kubernetes label selectors and the coverage of pods, namespaces and networks they give,
//! shared by the Kubernetes reader and the Cilium reader (whose endpoint selectors are label
//! selectors too): apimachinery `LabelSelectorAsSelector` and `labels.Requirement.Matches`.

use crate::analysis::side::{by_majority, Coverage, Match};
use crate::analysis::universe::{Kind, Universe, ZoneId};
use crate::ir::{Direction, LabelOp};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One requirement of a label selector. `matchLabels` pairs are `In` with one value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Requirement {
    pub key: String,
    pub op: LabelOp,
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a label value (`None`: the label is absent) meets the requirement.
    pub fn holds(&self, got: Option<&str>) -> bool {
        match self.op {
            LabelOp::In => got.is_some_and(|v| self.values.iter().any(|x| x == v)),
            LabelOp::NotIn => got.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            LabelOp::Exists => got.is_some(),
            LabelOp::DoesNotExist => got.is_none(),
        }
    }
}

/// A Kubernetes `LabelSelector`: every `matchLabels` pair AND every `matchExpressions`
/// requirement (apimachinery `LabelSelectorAsSelector`). `In` and `Exists` need the key,
/// `NotIn` and `DoesNotExist` also hold without it (apimachinery `labels.Requirement.Matches`).
/// `{}` selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Selector {
    pub reqs: Vec<Requirement>,
    /// How many of `reqs`, from the start, came from `matchLabels`.
    pub labels: usize,
}

/// A label's value as far as it is known: `Some(None)` is known absent, `None` unknown.
pub(crate) type Lookup<'a> = Option<Option<&'a str>>;

impl Selector {
    /// Reads a selector; an error says what the API server would reject.
    pub fn parse(v: &Value) -> Result<Selector, String> {
        let obj = v.as_object().ok_or_else(|| format!("a label selector is an object, not {v}"))?;
        let mut sel = Selector::default();
        for (k, x) in obj {
            match k.as_str() {
                "matchLabels" => {
                    if x.is_null() {
                        continue;
                    }
                    let m = x.as_object().ok_or("matchLabels is a map of strings")?;
                    for (key, value) in m {
                        let value = value
                            .as_str()
                            .ok_or_else(|| format!("matchLabels {key}: the value {value} is not a string"))?;
                        sel.reqs.push(Requirement {
                            key: key.clone(),
                            op: LabelOp::In,
                            values: vec![value.to_string()],
                        });
                    }
                }
                "matchExpressions" => {}
                other => return Err(format!("unknown label selector field `{other}`")),
            }
        }
        sel.labels = sel.reqs.len();
        for e in obj.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = e["key"].as_str().ok_or_else(|| format!("matchExpressions: no key in {e}"))?;
            let op = match e["operator"].as_str() {
                Some("In") => LabelOp::In,
                Some("NotIn") => LabelOp::NotIn,
                Some("Exists") => LabelOp::Exists,
                Some("DoesNotExist") => LabelOp::DoesNotExist,
                _ => return Err(format!("matchExpressions {key}: operator {}", e["operator"])),
            };
            let mut values = Vec::new();
            for x in e["values"].as_array().into_iter().flatten() {
                values.push(
                    x.as_str()
                        .ok_or_else(|| format!("matchExpressions {key}: value {x} is not a string"))?
                        .to_string(),
                );
            }
            // "values … If the operator is In or NotIn, the values array must be non-empty. If
            // the operator is Exists or DoesNotExist, the values array must be empty"
            // (apimachinery `LabelSelectorRequirement`, validated by `ValidateLabelSelector`).
            match op {
                LabelOp::In | LabelOp::NotIn if values.is_empty() => {
                    return Err(format!("matchExpressions {key}: {} without values", op.as_k8s()))
                }
                LabelOp::Exists | LabelOp::DoesNotExist if !values.is_empty() => {
                    return Err(format!("matchExpressions {key}: {} with values", op.as_k8s()))
                }
                _ => {}
            }
            sel.reqs.push(Requirement { key: key.to_string(), op, values });
        }
        if obj.get("matchExpressions").is_some_and(|x| !x.is_null() && !x.is_array()) {
            return Err("matchExpressions is a list".to_string());
        }
        Ok(sel)
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether the selector picks a set of labels known exactly.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| r.holds(labels.get(&r.key).map(String::as_str)))
    }

    /// How far the selector picks labels some of which are unknown: a requirement on an
    /// unknown label is open, and the requirements combine as a three-valued AND.
    pub fn eval<'a>(&self, get: impl Fn(&str) -> Lookup<'a>) -> Match {
        let mut m = Match::Yes;
        for r in &self.reqs {
            m = m.min(match get(&r.key) {
                None => Match::Maybe,
                Some(v) => yes_if(r.holds(v)),
            });
            if m == Match::No {
                break;
            }
        }
        m
    }

    /// A label every set of labels the selector picks carries, to look pods up by.
    pub fn hint(&self) -> Option<(&str, &str)> {
        self.reqs
            .iter()
            .find(|r| r.op == LabelOp::In && r.values.len() == 1)
            .map(|r| (r.key.as_str(), r.values[0].as_str()))
    }
}

pub(crate) fn yes_if(b: bool) -> Match {
    if b {
        Match::Yes
    } else {
        Match::No
    }
}

/// The pods of some zones, each zone as far as its match says, that `pods` picks by their
/// (exact) labels. A selector that picks the zone's unlabelled pod covers the zone as a
/// whole, with the pods it does not pick named as exceptions; any other is looked up through
/// its hint. The value most zones share becomes the pod kind's.
pub(crate) fn pods_in_zones(u: &Universe, zones: &[(ZoneId, Match)], pods: &Selector) -> Coverage {
    let mut c = Coverage::none();
    let mut live: Vec<(ZoneId, Match)> = zones.iter().copied().filter(|z| z.1 != Match::No).collect();
    live.sort();
    live.dedup_by_key(|z| z.0);
    let whole_zones = pods.matches(&BTreeMap::new());
    let hint = pods.hint();
    for &(z, m) in &live {
        if whole_zones {
            c.zones.push((z, m));
            if !pods.is_empty() {
                for &p in &u.zone(z).pods {
                    if !pods.matches(&u.point(p).labels) {
                        c.points.push((p, Match::No));
                    }
                }
            }
        } else {
            c.points.extend(u.select_pods(z, hint, |l| pods.matches(l)).into_iter().map(|p| (p, m)));
        }
    }
    if whole_zones {
        // The value most zones share is the pod kind's; only the others are listed.
        let (pods, zones) = by_majority(&Match::No, std::mem::take(&mut c.zones), u.zones.len());
        c.kinds[Kind::Pod.index()] = pods;
        c.zones = zones;
    }
    c.points.sort_unstable();
    c.points.dedup_by_key(|p| p.0);
    c
}

/// Every point, possibly: what a rule that cannot be read may cover.
pub(crate) fn possibly_anything() -> Coverage {
    Coverage { kinds: [Match::Maybe; 4], ..Coverage::none() }
}

/// The coverage of a network and its exceptions over the address points: in the network and
/// in no exception, Yes; else No. What it says of the other kinds is the caller's.
pub(crate) fn block_coverage(u: &Universe, net: &IpNet, except: &[IpNet]) -> Coverage {
    Coverage::points(u.addresses_outside(net, except).map(|p| (p, Match::Yes)))
}

/// The coverage of several peers: the farthest each point is covered. One peer's is shared.
pub(crate) fn union_all(u: &Universe, mut parts: Vec<Arc<Coverage>>) -> Arc<Coverage> {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_else(|| Arc::new(Coverage::none()));
    }
    let mut out = parts[0].union(&parts[1], u);
    for c in &parts[2..] {
        out = out.union(c, u);
    }
    Arc::new(out)
}

/// Whether a pod selector is answered by scanning every pod of a zone rather than through an
/// index: it has no hint, or it picks the unlabelled pod but not every pod.
pub(crate) fn scans_pods(pods: &Selector) -> bool {
    !pods.is_empty() && (pods.hint().is_none() || pods.matches(&BTreeMap::new()))
}

/// Objects read per thread at least, when reading on several.
pub(crate) const CHUNK: usize = 256;

pub(crate) fn parse_net(v: &Value) -> Result<IpNet, String> {
    let s = v.as_str().ok_or_else(|| format!("{v} is not a CIDR string"))?;
    s.parse::<IpNet>().map_err(|e| format!("{s:?} is not a CIDR: {e}"))
}

/// Zone ids by namespace name.
pub(crate) fn zone_index(u: &Universe) -> HashMap<&str, ZoneId> {
    u.zones.iter().enumerate().map(|(i, z)| (z.name.as_str(), i as ZoneId)).collect()
}

pub(crate) fn slot(d: Direction) -> usize {
    match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}
