//! Labels as Calico's selectors see them, and coverage algebra.

use super::*;

/// Whether a key is one of the pod's own labels (the universe indexes those), rather than one
/// Calico adds.
pub(super) fn is_pod_label(k: &str) -> bool {
    !(k == LABEL_NAMESPACE
        || k == LABEL_ORCHESTRATOR
        || k == LABEL_SERVICE_ACCOUNT
        || k.starts_with(NS_PREFIX)
        || k.starts_with(SA_PREFIX))
}

/// A pod's labels as Calico's selectors see them (see the module comment). `sa`: its service
/// account, where known.
pub(super) fn pod_get<'a>(
    u: &'a Universe,
    zone: ZoneId,
    labels: &'a BTreeMap<String, String>,
    sa: Option<&'a str>,
) -> impl Fn(&str) -> Lookup<'a> {
    // `workload_endpoint_default.go` sets `projectcalico.org/serviceaccount` from the pod's
    // `serviceAccountName` (always set: the API server defaults it); the service account's
    // profile (`ServiceAccountToProfile`, `conversion.go`) adds its labels prefixed `pcsa.` and
    // `pcsa.projectcalico.org/name`. Labels of service accounts are not known here.
    move |k: &str| match k {
        LABEL_NAMESPACE => Lookup::Known(Some(u.zone(zone).name.as_str())),
        LABEL_ORCHESTRATOR => Lookup::Known(Some("k8s")),
        LABEL_SERVICE_ACCOUNT => sa.map_or(Lookup::Unknown, |sa| Lookup::Known(Some(sa))),
        SA_NAME => sa.map_or(Lookup::Unknown, |sa| Lookup::Known(Some(sa))),
        _ if k.starts_with(SA_PREFIX) => Lookup::Unknown,
        _ => match k.strip_prefix(NS_PREFIX) {
            Some(ns_key) => ns_get(u, zone)(ns_key),
            None => Lookup::Known(labels.get(k).map(String::as_str)),
        },
    }
}

/// A namespace's labels as a namespace selector sees them (its keys are matched with the
/// `pcns.` prefix against the profile's labels, `rules.go`, `conversion.go`).
pub(super) fn ns_get<'a>(u: &'a Universe, zone: ZoneId) -> impl Fn(&str) -> Lookup<'a> + 'a {
    let z = u.zone(zone);
    move |k: &str| {
        if k == NAMESPACE_NAME {
            Lookup::Known(Some(z.name.as_str()))
        } else {
            match z.label(k) {
                Some(v) => Lookup::Known(v),
                None => Lookup::Unknown,
            }
        }
    }
}

// ---- coverage algebra ------------------------------------------------------------------------

pub(super) fn map_cover(c: &Coverage, f: impl Fn(Match) -> Match) -> Coverage {
    Coverage {
        kinds: c.kinds.map(&f),
        zones: c.zones.iter().map(|&(z, m)| (z, f(m))).collect(),
        points: c.points.iter().map(|&(p, m)| (p, f(m))).collect(),
    }
}

pub(super) fn negate(c: &Coverage) -> Coverage {
    map_cover(c, |m| match m {
        Match::Yes => Match::No,
        Match::No => Match::Yes,
        Match::Maybe => Match::Maybe,
    })
}

pub(super) fn cap(c: &Coverage, at: Match) -> Coverage {
    map_cover(c, |m| m.min(at))
}

/// The points both cover, each as far as the nearer one covers it.
pub(super) fn and(a: &Coverage, b: &Coverage, u: &Universe) -> Coverage {
    let kinds = std::array::from_fn(|i| a.kinds[i].min(b.kinds[i]));
    let mut zones: Vec<ZoneId> = a.zones.iter().chain(&b.zones).map(|z| z.0).collect();
    zones.sort_unstable();
    zones.dedup();
    let mut points: Vec<PointId> = a.points.iter().chain(&b.points).map(|p| p.0).collect();
    points.sort_unstable();
    points.dedup();
    Coverage {
        kinds,
        zones: zones.into_iter().map(|z| (z, a.zone_match(z).min(b.zone_match(z)))).collect(),
        points: points.into_iter().map(|p| (p, a.get(u, p).min(b.get(u, p)))).collect(),
    }
}

/// Drops zone and point entries that say what their fallback says.
pub(super) fn normalize(mut c: Coverage, u: &Universe) -> Coverage {
    let (pods, zones) = by_majority(&c.kinds[Kind::Pod.index()], std::mem::take(&mut c.zones), u.zones.len());
    c.kinds[Kind::Pod.index()] = pods;
    c.zones = zones;
    let points = std::mem::take(&mut c.points);
    c.points = points
        .into_iter()
        .filter(|&(p, m)| {
            let point = u.point(p);
            let fallback = match point.zone {
                Some(z) => c.zone_match(z),
                None => c.kinds[point.kind().index()],
            };
            m != fallback
        })
        .collect();
    c
}

/// Adds a rule after the ones before it, merged into the previous one where the two decide as
/// one: the same action and the same conditions on the policed pod, from the same source line
/// (the backend writes one rule per peer and per protocol), and either the same endpoints or
/// the same ports. In the ordered fold two such consecutive clauses decide exactly what one
/// decides:
/// - same endpoints, ports `a` then `b`: the first takes `open ∩ a`, the second
///   `(open − a) ∩ b`, together `open ∩ (a ∪ b)`;
/// - same ports, endpoints `A` then `B`: the pair decides the ports where `A` or `B` hits, and
///   so does one clause over `A ∪ B` (a `Maybe` hits or misses by the action alone, the same
///   for both clauses).
///
/// Sides get fewer steps; the merged origin names every rule (`spec.egress[3,4]`).
pub(super) fn push_merged(rules: &mut Vec<Rule>, rule: Rule, u: &Universe) {
    rules.push(rule);
    while rules.len() >= 2 {
        let (a, b) = (&rules[rules.len() - 2], &rules[rules.len() - 1]);
        let same_own = match (&a.own, &b.own) {
            (None, None) => true,
            (Some(x), Some(y)) => Arc::ptr_eq(x, y) || x == y,
            _ => false,
        };
        let same_source = match (&a.clause.origin, &b.clause.origin) {
            (Origin::Manifest { source: x, .. }, Origin::Manifest { source: y, .. }) => x == y,
            _ => false,
        };
        if !(a.clause.act == b.clause.act && same_own && same_source) {
            return;
        }
        let same_cover = Arc::ptr_eq(&a.clause.cover, &b.clause.cover) || a.clause.cover == b.clause.cover;
        if !same_cover && a.clause.ports != b.clause.ports {
            return;
        }
        let b = rules.pop().expect("two rules");
        let a = rules.last_mut().expect("two rules");
        if same_cover {
            a.clause.ports = a.clause.ports.union(&b.clause.ports);
        } else {
            a.clause.cover = Arc::new(normalize(a.clause.cover.union(&b.clause.cover, u), u));
        }
        if let (Origin::Manifest { rule: path, .. }, Origin::Manifest { rule: next, .. }) =
            (&mut a.clause.origin, &b.clause.origin)
        {
            if let (Some(i), Some(j)) = (next.rfind('['), path.rfind('[')) {
                // Converted Kubernetes rules share the path of the rule they come from.
                let index = next[i + 1..].trim_end_matches(']');
                let listed = path[j + 1..].trim_end_matches(']').split(',').any(|x| x == index);
                if path.ends_with(']') && !listed {
                    path.pop();
                    path.push(',');
                    path.push_str(&next[i + 1..]);
                }
            }
        }
        if a.capped.is_some() {
            a.capped = Some(Box::new(Clause {
                cover: Arc::new(cap(&a.clause.cover, Match::Maybe)),
                ..a.clause.clone()
            }));
        }
    }
}
