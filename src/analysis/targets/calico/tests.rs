//! The reader on small manifests: the fold, ordering, selectors, addresses, ports, and odd
//! input read as problems rather than panics.

use super::*;
use crate::analysis::side::Cell;
use crate::driver::{compile, Loader, Options};
use serde_json::json;

struct One(&'static str);

impl Loader for One {
    fn load(&self, _path: &str) -> Result<String, String> {
        Ok(self.0.to_string())
    }
    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// Namespaces `shop` (web, api, db) and `ops` (tool); addresses from 10.0.0.0/8 and
/// 10.1.0.0/16, and the two outside ones.
const SRC: &str = "namespace shop {\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    workload db { app: db, tier: data }\n\
    web connects to api on tcp 8080\n\
    api connects to 10.0.0.0/8 except 10.1.0.0/16\n\
    }\n\
    namespace ops {\n\
    workload tool { app: tool }\n\
    }\n";

fn universe() -> Universe {
    let c = compile(&["t.netpol".to_string()], &One(SRC), &Options::default());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    Universe::new(c.program.as_ref().expect("program"))
}

fn point(u: &Universe, name: &str) -> PointId {
    u.ids().find(|p| u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
}

fn np(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn gnp(name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "GlobalNetworkPolicy", "metadata": {"name": name}, "spec": spec})
}

fn tier(name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "Tier", "metadata": {"name": name}, "spec": spec})
}

fn tcp(port: u16) -> PortSet {
    PortSet::range(Protocol::Tcp, port, port)
}

/// The connection from `s` to `d` on the side of `subject` in `dir`.
fn cell(c: &Calico, u: &Universe, subject: &str, dir: Direction, other: &str) -> Cell {
    c.side(point(u, subject), dir).at(u, point(u, other))
}

fn read_ok<'u>(objects: &[Value], u: &'u Universe) -> Calico<'u> {
    let (c, problems) = Calico::new(objects, u);
    assert!(problems.is_empty(), "{problems:#?}");
    c
}

#[test]
fn no_policy_and_no_pod_are_open() {
    let u = universe();
    let c = read_ok(&[np("shop", "api", json!({"selector": "app == 'api'", "types": ["Ingress"]}))], &u);
    assert!(c.side(point(&u, "shop/web"), Direction::Ingress).is_open());
    assert!(c.side(point(&u, "shop/api"), Direction::Egress).is_open());
    assert!(c.side(u.host(), Direction::Ingress).is_open());
    assert!(c.side(point(&u, "203.0.113.7"), Direction::Egress).is_open());
    // Selected with no rules: the default tier denies.
    let side = c.side(point(&u, "shop/api"), Direction::Ingress);
    assert_eq!(side.fold, Fold::Ordered);
    assert!(matches!(side.steps.as_slice(), [Step::EndOfTier { pass: false, .. }]));
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
}

#[test]
fn allow_rules_in_the_default_tier_isolate() {
    let u = universe();
    let c = read_ok(
        &[np(
            "shop",
            "api",
            json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [
                {"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"},
                 "destination": {"ports": [8080, "9000:9010", "http"]}}]}),
        )],
        &u,
    );
    let web = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web");
    let want = tcp(8080)
        .union(&PortSet::range(Protocol::Tcp, 9000, 9010))
        .union(&PortSet::named(Protocol::Tcp, "http"));
    assert_eq!(web.certain, want);
    assert_eq!(web.possible, want);
    // Same labels in another namespace: a NetworkPolicy's selector stays in its namespace.
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/db").possible.is_empty());
}

#[test]
fn a_pass_tier_before_the_default_tier_denies_without_isolating() {
    let u = universe();
    let objects = [
        tier("netpol-deny", json!({"order": 900000, "defaultAction": "Pass"})),
        np(
            "shop",
            "netpol-deny.api",
            json!({"tier": "netpol-deny", "order": 100, "selector": "app == 'api'", "types": ["Ingress"],
                   "ingress": [{"action": "Deny", "protocol": "TCP", "source": {"selector": "app == 'web'"},
                                "destination": {"ports": [22]}}]}),
        ),
    ];
    let c = read_ok(&objects, &u);
    let side = c.side(point(&u, "shop/api"), Direction::Ingress);
    assert!(matches!(side.steps.as_slice(), [Step::Clause(_), Step::EndOfTier { pass: true, .. }]));
    let web = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web");
    assert_eq!(web.certain, PortSet::all().subtract(&tcp(22)));
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all());
    // Without `defaultAction: Pass` the tier ends in Deny.
    let mut objects = objects;
    objects[0] = tier("netpol-deny", json!({"order": 900000}));
    let c = read_ok(&objects, &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").possible.is_empty());
}

#[test]
fn tiers_and_policies_run_in_order() {
    let u = universe();
    let allow = |name: &str, order: Option<f64>, tier: &str, action: &str| {
        let mut spec = json!({"tier": tier, "selector": "all()", "types": ["Egress"],
                              "egress": [{"action": action, "protocol": "TCP", "destination": {"ports": [80]}}]});
        if let Some(o) = order {
            spec["order"] = json!(o);
        }
        np("shop", name, spec)
    };
    let web = |c: &Calico| {
        cell(c, &u, "shop/web", Direction::Egress, "shop/api").certain.contains(Protocol::Tcp, 80)
    };
    // Lower order first.
    let c =
        read_ok(&[allow("a", Some(2.0), "default", "Deny"), allow("b", Some(1.0), "default", "Allow")], &u);
    assert!(web(&c));
    // Same order: by name.
    let c =
        read_ok(&[allow("b", Some(1.0), "default", "Allow"), allow("a", Some(1.0), "default", "Deny")], &u);
    assert!(!web(&c));
    // No order: after every ordered policy.
    let c = read_ok(&[allow("a", None, "default", "Deny"), allow("b", Some(5.0), "default", "Allow")], &u);
    assert!(web(&c));
    // Tiers: lower order first; the default tier is at 1,000,000.
    let t = |order: f64| tier("t", json!({"order": order, "defaultAction": "Pass"}));
    let c = read_ok(
        &[t(10.0), allow("t.a", Some(1.0), "t", "Deny"), allow("b", Some(1.0), "default", "Allow")],
        &u,
    );
    assert!(!web(&c));
    let c = read_ok(
        &[t(2e6), allow("t.a", Some(1.0), "t", "Deny"), allow("b", Some(1.0), "default", "Allow")],
        &u,
    );
    assert!(web(&c));
    // A Pass rule goes to the next tier; Log goes on to the next rule.
    let c = read_ok(
        &[
            t(10.0),
            allow("t.a", Some(1.0), "t", "Pass"),
            allow("t.b", Some(2.0), "t", "Deny"),
            allow("b", Some(1.0), "default", "Log"),
            allow("c", Some(2.0), "default", "Allow"),
        ],
        &u,
    );
    assert!(web(&c));
}

#[test]
fn types_default_from_the_rules() {
    let u = universe();
    let rule = json!([{"action": "Allow"}]);
    for (spec, ingress, egress) in [
        (json!({}), true, false),
        (json!({"egress": rule}), false, true),
        (json!({"ingress": rule, "egress": rule}), true, true),
        (json!({"ingress": rule}), true, false),
        (json!({"types": []}), true, false),
        (json!({"types": ["Egress"]}), false, true),
    ] {
        let c = read_ok(&[np("shop", "p", spec.clone())], &u);
        let api = point(&u, "shop/api");
        assert_eq!(!c.side(api, Direction::Ingress).is_open(), ingress, "{spec}");
        assert_eq!(!c.side(api, Direction::Egress).is_open(), egress, "{spec}");
    }
}

#[test]
fn namespaces_by_name_are_exact_and_other_labels_open() {
    let u = universe();
    let rule = |ns: &str| json!({"action": "Allow", "source": {"namespaceSelector": ns}});
    let c = read_ok(
        &[np(
            "shop",
            "api",
            json!({"selector": "app == 'api'", "ingress": [rule("projectcalico.org/name == 'ops'"), rule("team == 'a'")]}),
        )],
        &u,
    );
    let tool = cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool");
    assert!(tool.certain.is_all());
    let web = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web");
    assert!(web.certain.is_empty() && web.possible.is_all());
    let dns = cell(&c, &u, "shop/api", Direction::Ingress, "kube-dns");
    assert!(dns.certain.is_empty() && dns.possible.is_all());
    // Not an address, the node or the API server.
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "203.0.113.7").possible.is_empty());
    // `kubernetes.io/metadata.name` is set by the API server: exact too. `all()` is every
    // namespace, `global()` none.
    for (sel, tool, web) in [
        ("kubernetes.io/metadata.name in {'ops'}", true, false),
        ("all()", true, true),
        ("global()", false, false),
    ] {
        let c =
            read_ok(&[np("shop", "api", json!({"selector": "app == 'api'", "ingress": [rule(sel)]}))], &u);
        assert_eq!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all(), tool, "{sel}");
        assert_eq!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain.is_all(), web, "{sel}");
    }
}

#[test]
fn rule_selectors_are_scoped_as_in_rules_go() {
    let u = universe();
    let ingress = json!([{"action": "Allow", "source": {"selector": "has(app)"}}]);
    // A GlobalNetworkPolicy's rule selector looks in every namespace.
    let c = read_ok(&[gnp("g", json!({"selector": "app == 'api'", "ingress": ingress}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/<unlabelled pod>").possible.is_empty());
    // A NetworkPolicy's in its own.
    let c = read_ok(&[np("shop", "p", json!({"selector": "app == 'api'", "ingress": ingress}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain.is_all());
    // notSelector alone in a NetworkPolicy: pods of its namespace but those.
    let not = json!([{"action": "Allow", "source": {"notSelector": "app == 'web'"}}]);
    let c = read_ok(&[np("shop", "p", json!({"selector": "app == 'api'", "ingress": not}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/db").certain.is_all());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "203.0.113.7").possible.is_empty());
    // ... and in a GlobalNetworkPolicy: everything but those pods, addresses included.
    let c = read_ok(&[gnp("g", json!({"selector": "app == 'api'", "ingress": not}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "203.0.113.7").certain.is_all());
    // Calico's own labels.
    let own = json!([{"action": "Allow", "source": {"selector": "projectcalico.org/namespace == 'ops' && projectcalico.org/orchestrator == 'k8s'"}}]);
    let c = read_ok(&[gnp("g", json!({"selector": "app == 'api'", "ingress": own}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
}

#[test]
fn selectors_that_match_everything_stay_zone_or_kind_wide() {
    let u = universe();
    let shop = u.zone_named("shop").expect("shop");
    let values = [
        json!({"namespaceSelector": "all()"}),
        json!({"selector": "all()"}),
        json!({"selector": "!has(tier)"}),
        json!({"selector": "app == 'api'"}),
    ];
    let mut r = Reader::new(&u, &[], true);
    let mut cover = |i: usize, scope: Scope| {
        r.entity(Some(&values[i]), scope, &mut Vec::new(), &|| "x".to_string()).expect("a condition")
    };
    let all = cover(0, Scope::Global);
    assert_eq!(*all, Coverage::kind(Kind::Pod, Match::Yes));
    let own = cover(1, Scope::Namespace(Some(shop)));
    assert_eq!(*own, Coverage::zones([(shop, Match::Yes)]));
    // `!has(tier)` holds for the unlabelled pod: the zone, less the pod that has it.
    let lacking = cover(2, Scope::Namespace(Some(shop)));
    assert_eq!(lacking.zones, vec![(shop, Match::Yes)]);
    assert_eq!(lacking.points, vec![(point(&u, "shop/db"), Match::No)]);
    // A hint: only the pods with the label are looked at.
    let api = cover(3, Scope::Global);
    assert_eq!(api.points, vec![(point(&u, "shop/api"), Match::Yes)]);
    assert!(api.zones.is_empty() && api.kinds == [Match::No; 4]);
}

#[test]
fn networks_decide_addresses_exactly_and_pods_maybe() {
    let u = universe();
    let c = read_ok(
        &[np(
            "shop",
            "api",
            json!({"selector": "app == 'api'", "types": ["Egress"], "egress": [
                {"action": "Deny", "destination": {"nets": ["10.1.0.0/16"]}},
                {"action": "Allow", "destination": {"nets": ["10.0.0.0/8"], "notNets": ["10.255.0.0/16"]}}]}),
        )],
        &u,
    );
    let at = |name: &str| cell(&c, &u, "shop/api", Direction::Egress, name);
    assert!(at("10.0.0.0").certain.is_all());
    assert!(at("10.1.0.0").possible.is_empty());
    assert!(at("10.255.255.255").possible.is_empty());
    assert!(at("203.0.113.7").possible.is_empty());
    // Pods: the deny may hit, the allow may hit: possibly allowed, not certainly.
    let web = at("shop/web");
    assert!(web.certain.is_empty() && web.possible.is_all());
    // nets AND selector: both must hold.
    let c = read_ok(
        &[np(
            "shop",
            "api",
            json!({"selector": "app == 'api'", "types": ["Egress"], "egress": [
                {"action": "Allow", "destination": {"nets": ["10.0.0.0/8"], "selector": "app == 'web'"}}]}),
        )],
        &u,
    );
    assert!(cell(&c, &u, "shop/api", Direction::Egress, "10.0.0.0").possible.is_empty());
    let web = cell(&c, &u, "shop/api", Direction::Egress, "shop/web");
    assert!(web.certain.is_empty() && web.possible.is_all());
}

#[test]
fn conditions_on_the_policed_pod_itself() {
    let u = universe();
    // An ingress rule's destination selector narrows which selected pods it applies to.
    let c = read_ok(
        &[np(
            "shop",
            "p",
            json!({"selector": "has(app)", "types": ["Ingress"], "ingress": [
                {"action": "Allow", "destination": {"selector": "app == 'api'"}}]}),
        )],
        &u,
    );
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool").certain.is_all());
    assert!(cell(&c, &u, "shop/web", Direction::Ingress, "ops/tool").possible.is_empty());
    // An egress rule's source nets: whether the pod's address is in them is open.
    let c = read_ok(
        &[np(
            "shop",
            "p",
            json!({"selector": "app == 'api'", "types": ["Egress"], "egress": [
                {"action": "Allow", "source": {"nets": ["10.0.0.0/8"]}}]}),
        )],
        &u,
    );
    let tool = cell(&c, &u, "shop/api", Direction::Egress, "ops/tool");
    assert!(tool.certain.is_empty() && tool.possible.is_all());
}

#[test]
fn protocols_and_ports() {
    let u = universe();
    let side = |rule: Value| {
        let (c, problems) = Calico::new(
            &[np("shop", "p", json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [rule]}))],
            &u,
        );
        (cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain, problems)
    };
    let (s, p) =
        side(json!({"action": "Allow", "protocol": "UDP", "destination": {"ports": [53, "1000:1002"]}}));
    assert!(p.is_empty());
    assert_eq!(s, PortSet::range(Protocol::Udp, 53, 53).union(&PortSet::range(Protocol::Udp, 1000, 1002)));
    let (s, _) = side(json!({"action": "Allow", "protocol": 132}));
    assert_eq!(s, PortSet::protocol(Protocol::Sctp));
    let (s, _) = side(json!({"action": "Allow", "notProtocol": "TCP"}));
    assert_eq!(s, PortSet::all().subtract(&PortSet::protocol(Protocol::Tcp)));
    let (s, _) =
        side(json!({"action": "Allow", "protocol": "TCP", "destination": {"notPorts": [22, "metrics"]}}));
    assert_eq!(
        s,
        PortSet::protocol(Protocol::Tcp)
            .subtract(&tcp(22))
            .subtract(&PortSet::named(Protocol::Tcp, "metrics"))
    );
    let (s, _) = side(json!({"action": "Allow", "protocol": "ICMP"}));
    assert!(s.is_empty());
    // Ports without a protocol: the API server refuses it.
    let (_, p) = side(json!({"action": "Allow", "destination": {"ports": [80]}}));
    assert!(p.iter().any(|p| p.contains("without a TCP, UDP or SCTP protocol")), "{p:?}");
    // Source ports: open.
    let (s, p) = side(json!({"action": "Allow", "source": {"ports": [1234]}}));
    assert!(s.is_empty() && !p.is_empty());
}

#[test]
fn policies_that_are_not_created_or_select_nothing_are_problems() {
    let u = universe();
    let (c, problems) = Calico::new(
        &[
            np("shop", "a", json!({"tier": "missing", "selector": "all()"})),
            np("shop", "b", json!({"selector": "app == "})),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "k"}}),
            json!({"apiVersion": API_VERSION, "kind": "GlobalNetworkSet", "metadata": {"name": "s"}}),
        ],
        &u,
    );
    assert_eq!(problems.len(), 5, "{problems:#?}");
    for want in ["does not parse", "without metadata.namespace", "GlobalNetworkSet", "does not exist"] {
        assert!(problems.iter().any(|p| p.contains(want)), "{want}: {problems:#?}");
    }
    assert!(c.side(point(&u, "shop/api"), Direction::Ingress).is_open());
}

#[test]
fn odd_manifests_never_panic() {
    let u = universe();
    let odd = [
        json!(null),
        json!(42),
        json!("text"),
        json!({"apiVersion": API_VERSION}),
        json!({"apiVersion": API_VERSION, "kind": "NetworkPolicy"}),
        json!({"apiVersion": API_VERSION, "kind": "Tier", "metadata": {"name": "t"}, "spec": {"order": "x", "defaultAction": 3}}),
        np("shop", "s1", json!("spec")),
        np("shop", "s2", json!({"selector": 5, "types": "Ingress", "ingress": {}, "order": "first"})),
        np(
            "shop",
            "s3",
            json!({"types": ["Sideways", 1], "ingress": [1, "x", {}, {"action": "Allow", "protocol": {}}]}),
        ),
        np(
            "shop",
            "s4",
            json!({"egress": [{"action": "Deny", "destination": {"nets": "10.0.0.0/8", "ports": "80"}}]}),
        ),
        np(
            "shop",
            "s5",
            json!({"egress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": [0, -1, 70000, "9:1", ":", "", null, {}]}}]}),
        ),
        np(
            "shop",
            "s6",
            json!({"egress": [{"action": "Allow", "destination": {"nets": ["x", 1], "notSelector": "((", "serviceAccounts": {}}, "ipVersion": 5, "http": {}}]}),
        ),
        gnp(
            "g1",
            json!({"namespaceSelector": "env == 'x'", "selector": "projectcalico.org/serviceaccount == 'a'"}),
        ),
        gnp("g2", json!({"doNotTrack": true, "preDNAT": "yes", "serviceAccountSelector": "all()"})),
    ];
    let (c, problems) = Calico::new(&odd, &u);
    assert!(!problems.is_empty());
    for p in u.ids() {
        for dir in [Direction::Ingress, Direction::Egress] {
            let side = c.side(p, dir);
            for q in u.ids() {
                let _ = side.at(&u, q);
            }
        }
    }
}

#[test]
fn merging_rules_of_one_source_line_is_exact() {
    use crate::analysis::side::Row;
    let u = universe();
    let rules = |shared: bool| {
        let meta = |i: usize| {
            let line = if shared { "t.netpol:1".to_string() } else { format!("t.netpol:{i}") };
            json!({"annotations": {crate::backend::ANNOTATION_SOURCE: line}})
        };
        let mut list = Vec::new();
        let peers = [
            json!({"selector": "app == 'web'"}),
            json!({"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"]}),
            json!({"namespaceSelector": "team == 'a'"}),
            json!({"selector": "app == 'web'"}),
        ];
        for (i, (action, peer, proto, port)) in [
            ("Deny", &peers[0], "TCP", 22),
            ("Deny", &peers[0], "UDP", 22),
            ("Allow", &peers[1], "TCP", 80),
            ("Allow", &peers[2], "TCP", 80),
            ("Allow", &peers[3], "TCP", 80),
            ("Allow", &peers[3], "UDP", 53),
            ("Pass", &peers[1], "TCP", 443),
            ("Pass", &peers[2], "TCP", 443),
        ]
        .into_iter()
        .enumerate()
        {
            list.push(json!({"action": action, "protocol": proto, "source": peer,
                             "destination": {"ports": [port]}, "metadata": meta(i)}));
        }
        vec![
            tier("t", json!({"order": 1, "defaultAction": "Pass"})),
            np(
                "shop",
                "t.p",
                json!({"tier": "t", "selector": "app == 'api'", "types": ["Ingress"], "ingress": list}),
            ),
            np(
                "shop",
                "p",
                json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [
                {"action": "Allow", "protocol": "TCP", "source": {"nets": ["10.0.0.0/8"]}}]}),
            ),
        ]
    };
    let (merged, separate) = (read_ok(&rules(true), &u), read_ok(&rules(false), &u));
    let api = point(&u, "shop/api");
    let (a, b) = (merged.side(api, Direction::Ingress), separate.side(api, Direction::Ingress));
    assert!(a.steps.len() < b.steps.len(), "{} steps merged, {} not", a.steps.len(), b.steps.len());
    let (ra, rb) = (Row::of(&a, &u), Row::of(&b, &u));
    for p in u.ids() {
        assert_eq!(ra.get(&u, p), rb.get(&u, p), "at {}", u.point(p).name);
    }
}

#[test]
fn origins_are_those_of_targets_origin() {
    let u = universe();
    let annotated = |source: Option<&str>| match source {
        Some(s) => json!({"annotations": {crate::backend::ANNOTATION_SOURCE: s}}),
        None => json!({}),
    };
    let mut obj = np(
        "shop",
        "api",
        json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [
            {"action": "Allow", "protocol": "TCP", "metadata": annotated(Some("a.netpol:3, a.netpol:4"))},
            {"action": "Allow", "protocol": "UDP", "metadata": annotated(None)},
            {"action": "Allow", "protocol": "SCTP"}]}),
    );
    obj["metadata"]["annotations"] = json!({crate::backend::ANNOTATION_SOURCE: "a.netpol:1"});
    let c = read_ok(std::slice::from_ref(&obj), &u);
    let side = c.side(point(&u, "shop/api"), Direction::Ingress);
    let origins: Vec<&Origin> = side
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Clause(c) => Some(&c.origin),
            _ => None,
        })
        .collect();
    // The last two come from the object's line, so they merge.
    let rules = obj["spec"]["ingress"].as_array().expect("rules");
    assert_eq!(origins.len(), 2);
    assert_eq!(*origins[0], origin(&obj, "spec.ingress[0]".to_string(), Some(&rules[0])));
    let mut merged = origin(&obj, "spec.ingress[1]".to_string(), Some(&rules[1]));
    if let Origin::Manifest { rule, .. } = &mut merged {
        *rule = "spec.ingress[1,2]".to_string();
    }
    assert_eq!(*origins[1], merged);
}

mod foreign;
mod kubernetes;
