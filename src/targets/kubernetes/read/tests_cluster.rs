//! ClusterNetworkPolicy tiers over small programs.

use super::super::tests::program;
use super::super::*;
use crate::analysis::side::Cell;
use serde_json::json;

const SHOP: &str = "namespace shop\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    web connects to api on tcp 8080\n\
    namespace ops\n\
    workload tool { app: tool }\n\
    tool connects to 10.0.0.0/8\n";

fn cnp(name: &str, tier: &str, priority: u32, subject: Value, rules: Value) -> Value {
    let mut spec = json!({"tier": tier, "priority": priority, "subject": subject});
    for (k, v) in rules.as_object().expect("rules") {
        spec[k] = v.clone();
    }
    json!({"apiVersion": CNP_API_VERSION, "kind": CNP_KIND, "metadata": {"name": name}, "spec": spec})
}

fn netpol(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn ns(name: &str) -> Value {
    json!({"matchLabels": {"kubernetes.io/metadata.name": name}})
}

fn pods(namespace: &str, app: &str) -> Value {
    json!({"pods": {"namespaceSelector": ns(namespace), "podSelector": {"matchLabels": {"app": app}}}})
}

fn from(action: &str, peers: Value) -> Value {
    json!({"action": action, "from": peers})
}

struct World {
    u: Universe,
}

impl World {
    fn new() -> World {
        World { u: Universe::new(&program(SHOP)) }
    }

    fn pod(&self, name: &str) -> PointId {
        self.u.ids().find(|p| self.u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
    }

    /// What `dst` allows in from `src` (ingress), or `src` out to `dst` (egress).
    fn cell(&self, objects: &[Value], dir: Direction, at: &str, peer: &str) -> (Cell, Vec<String>) {
        let r = read(objects, &self.u);
        let side = r.semantics.side(self.pod(at), dir);
        (side.at(&self.u, self.pod(peer)), r.problems)
    }

    fn ingress(&self, objects: &[Value], dst: &str, src: &str) -> Cell {
        let (cell, problems) = self.cell(objects, Direction::Ingress, dst, src);
        assert!(problems.is_empty(), "{problems:?}");
        cell
    }
}

fn allows_all(c: &Cell) -> bool {
    c.certain.is_all()
}

fn denies_all(c: &Cell) -> bool {
    c.possible.is_empty()
}

#[test]
fn admin_deny_beats_a_networkpolicy_allow() {
    let w = World::new();
    let objects = [
        netpol("shop", "open", json!({"podSelector": {}, "ingress": [{}]})),
        cnp(
            "no-ops",
            "Admin",
            10,
            pods("shop", "api"),
            json!({"ingress": [from("Deny", json!([{"namespaces": ns("ops")}]))]}),
        ),
    ];
    assert!(denies_all(&w.ingress(&objects, "shop/api", "ops/tool")));
    assert!(allows_all(&w.ingress(&objects, "shop/api", "shop/web")));
    // The pods the policy does not select keep the NetworkPolicy's union.
    let r = read(&objects, &w.u);
    assert_eq!(r.semantics.side(w.pod("shop/web"), Direction::Ingress).fold, Fold::Union { isolated: true });
    assert_eq!(r.semantics.side(w.pod("shop/api"), Direction::Ingress).fold, Fold::Ordered);
    // No egress rules: egress is not affected.
    assert!(r.semantics.side(w.pod("shop/api"), Direction::Egress).is_open());
}

#[test]
fn admin_accept_beats_networkpolicy_isolation() {
    let w = World::new();
    let objects = [
        netpol("shop", "deny", json!({"podSelector": {}})),
        cnp(
            "ops-in",
            "Admin",
            10,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Accept", json!([{"namespaces": ns("ops")}]))]}),
        ),
    ];
    assert!(allows_all(&w.ingress(&objects, "shop/api", "ops/tool")));
    assert!(denies_all(&w.ingress(&objects, "shop/api", "shop/web")));
}

#[test]
fn pass_skips_the_admin_tier_to_the_networkpolicies() {
    let w = World::new();
    let objects = [
        netpol(
            "shop",
            "ops",
            json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": ns("ops")}]}]}),
        ),
        cnp(
            "deny-all",
            "Admin",
            20,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Deny", json!([{"namespaces": {}}]))]}),
        ),
        cnp(
            "pass-ops",
            "Admin",
            5,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Pass", json!([{"namespaces": ns("ops")}]))]}),
        ),
    ];
    assert!(allows_all(&w.ingress(&objects, "shop/api", "ops/tool")));
    assert!(denies_all(&w.ingress(&objects, "shop/api", "shop/web")));
    // Passed, and no NetworkPolicy in ops: the default allows.
    let o = [
        objects[2].clone(),
        cnp(
            "pass-shop",
            "Admin",
            5,
            json!({"namespaces": ns("ops")}),
            json!({"ingress": [from("Pass", json!([{"namespaces": {}}]))]}),
        ),
    ];
    assert!(allows_all(&w.ingress(&o, "ops/tool", "shop/web")));
}

#[test]
fn baseline_applies_only_to_pods_no_networkpolicy_selects() {
    let w = World::new();
    let objects = [
        netpol(
            "shop",
            "api",
            json!({"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        ),
        cnp(
            "baseline",
            "Baseline",
            1,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Deny", json!([{"namespaces": {}}]))]}),
        ),
    ];
    // api: the NetworkPolicy decides (allows web, isolates from the rest).
    assert!(allows_all(&w.ingress(&objects, "shop/api", "shop/web")));
    assert!(denies_all(&w.ingress(&objects, "shop/api", "ops/tool")));
    // web: no NetworkPolicy; the Baseline Deny decides.
    assert!(denies_all(&w.ingress(&objects, "shop/web", "ops/tool")));
    assert!(denies_all(&w.ingress(&objects, "shop/<unlabelled pod>", "shop/api")));
    // A Baseline Accept where the NetworkPolicy isolates does nothing.
    let objects = [
        objects[0].clone(),
        cnp(
            "baseline",
            "Baseline",
            1,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Accept", json!([{"namespaces": {}}]))]}),
        ),
    ];
    assert!(denies_all(&w.ingress(&objects, "shop/api", "ops/tool")));
}

#[test]
fn what_no_tier_decides_is_allowed() {
    let w = World::new();
    let objects = [
        cnp(
            "a",
            "Admin",
            1,
            json!({"namespaces": {}}),
            json!({"ingress": [from("Deny", json!([{"namespaces": ns("ops")}]))]}),
        ),
        cnp(
            "b",
            "Baseline",
            1,
            json!({"namespaces": {}}),
            json!({"ingress": [from("Deny", json!([pods("shop", "api")]))]}),
        ),
    ];
    assert!(allows_all(&w.ingress(&objects, "shop/api", "shop/web")));
    assert!(denies_all(&w.ingress(&objects, "shop/web", "shop/api")));
    assert!(denies_all(&w.ingress(&objects, "shop/web", "ops/tool")));
    // Not pods: the node and addresses are no namespaces' pods.
    assert!(allows_all(&w.ingress(&objects, "shop/web", "host")));
}

#[test]
fn lower_priority_numbers_come_first_whatever_the_object_order() {
    let w = World::new();
    let deny = cnp(
        "deny",
        "Admin",
        10,
        pods("shop", "api"),
        json!({"ingress": [from("Deny", json!([{"namespaces": ns("ops")}]))]}),
    );
    let accept = cnp(
        "accept",
        "Admin",
        5,
        pods("shop", "api"),
        json!({"ingress": [{"action": "Accept", "from": [{"namespaces": ns("ops")}], "protocols": [{"tcp": {"destinationPort": {"number": 80}}}, {"udp": {"destinationPort": {"range": {"start": 53, "end": 54}}}}]}]}),
    );
    for objects in [[deny.clone(), accept.clone()], [accept.clone(), deny.clone()]] {
        let c = w.ingress(&objects, "shop/api", "ops/tool");
        assert!(c.certain.contains(Protocol::Tcp, 80) && c.certain.contains(Protocol::Udp, 54));
        assert!(!c.possible.contains(Protocol::Tcp, 81) && !c.possible.contains(Protocol::Udp, 55));
        assert!(!c.possible.contains(Protocol::Sctp, 80));
    }
}

#[test]
fn rules_apply_in_written_order() {
    let w = World::new();
    let accept = json!({"action": "Accept", "from": [{"namespaces": ns("ops")}], "protocols": [{"tcp": {"destinationPort": {"number": 80}}}]});
    let deny = from("Deny", json!([{"namespaces": ns("ops")}]));
    let one = |rules: Value| [cnp("p", "Admin", 1, pods("shop", "api"), json!({ "ingress": rules }))];
    let c = w.ingress(&one(json!([accept.clone(), deny.clone()])), "shop/api", "ops/tool");
    assert!(c.certain.contains(Protocol::Tcp, 80) && !c.possible.contains(Protocol::Tcp, 81));
    assert!(denies_all(&w.ingress(&one(json!([deny, accept])), "shop/api", "ops/tool")));
}

#[test]
fn equal_priorities_over_one_pod_are_possibly_and_a_problem() {
    let w = World::new();
    let objects = [
        cnp(
            "accept",
            "Admin",
            5,
            pods("shop", "api"),
            json!({"ingress": [from("Accept", json!([{"namespaces": ns("ops")}]))]}),
        ),
        cnp(
            "deny",
            "Admin",
            5,
            json!({"namespaces": ns("shop")}),
            json!({"ingress": [from("Deny", json!([{"namespaces": ns("ops")}]))]}),
        ),
    ];
    let (c, problems) = w.cell(&objects, Direction::Ingress, "shop/api", "ops/tool");
    assert!(c.certain.is_empty() && c.possible.is_all(), "{c:?}");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("ClusterNetworkPolicy accept spec.priority:")
            && problems[0].contains("undefined")
    );
    // Where only one of them selects the pod, it decides.
    let (c, _) = w.cell(&objects, Direction::Ingress, "shop/web", "ops/tool");
    assert!(denies_all(&c));
    // Rules of one action give one answer in any order: no clash.
    let mut alike = objects.clone();
    alike[0]["spec"]["ingress"][0]["action"] = json!("Deny");
    let (c, problems) = w.cell(&alike, Direction::Ingress, "shop/api", "ops/tool");
    assert!(denies_all(&c) && problems.is_empty(), "{problems:?}");
    // Another tier, or another priority: no clash.
    let mut other = objects.clone();
    other[1]["spec"]["priority"] = json!(6);
    assert!(allows_all(&w.ingress(&other, "shop/api", "ops/tool")));
}

#[test]
fn networks_match_pods_possibly_and_all_addresses_certainly() {
    let w = World::new();
    let egress = |nets: Value| {
        [cnp(
            "nets",
            "Admin",
            1,
            pods("ops", "tool"),
            json!({"egress": [{"action": "Deny", "to": [{"networks": nets}]}]}),
        )]
    };
    let r = read(&egress(json!(["10.0.0.0/8"])), &w.u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let side = r.semantics.side(w.pod("ops/tool"), Direction::Egress);
    assert!(side.at(&w.u, w.pod("10.0.0.0")).possible.is_empty());
    assert!(side.at(&w.u, w.pod("203.0.113.7")).certain.is_all());
    let web = side.at(&w.u, w.pod("shop/web"));
    assert!(web.certain.is_empty() && web.possible.is_all());
    let r = read(&egress(json!(["0.0.0.0/0", "::/0"])), &w.u);
    let side = r.semantics.side(w.pod("ops/tool"), Direction::Egress);
    for p in ["shop/web", "host", "203.0.113.7"] {
        assert!(side.at(&w.u, w.pod(p)).possible.is_empty(), "{p}");
    }
}

#[test]
fn nodes_and_domain_names() {
    let w = World::new();
    let objects = [cnp(
        "out",
        "Admin",
        1,
        pods("ops", "tool"),
        json!({"egress": [
            {"action": "Accept", "to": [{"nodes": {}}, {"domainNames": ["example.com"]}]},
            {"action": "Deny", "to": [{"networks": ["0.0.0.0/0", "::/0"]}]}
        ]}),
    )];
    let (host, problems) = w.cell(&objects, Direction::Egress, "ops/tool", "host");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(host.certain.is_all());
    let (world, _) = w.cell(&objects, Direction::Egress, "ops/tool", "203.0.113.7");
    assert!(world.certain.is_empty() && world.possible.is_all());
    // domainNames on a Deny: a problem.
    let objects = [cnp(
        "dn",
        "Admin",
        1,
        pods("ops", "tool"),
        json!({"egress": [{"action": "Deny", "to": [{"domainNames": ["example.com"]}]}]}),
    )];
    let (_, problems) = w.cell(&objects, Direction::Egress, "ops/tool", "host");
    assert!(problems.len() == 1 && problems[0].contains("domainNames"), "{problems:?}");
}

#[test]
fn named_ports_and_failing_closed() {
    let w = World::new();
    let named = [cnp(
        "n",
        "Admin",
        1,
        pods("shop", "api"),
        json!({"ingress": [
            {"action": "Accept", "from": [{"namespaces": {}}], "protocols": [{"destinationNamedPort": "http"}]},
            {"action": "Deny", "from": [{"namespaces": {}}]}
        ]}),
    )];
    let c = w.ingress(&named, "shop/api", "shop/web");
    assert!(PortSet::named(Protocol::Tcp, "http").is_subset(&c.certain));
    assert!(PortSet::named(Protocol::Udp, "http").is_subset(&c.certain));
    assert!(!c.possible.contains(Protocol::Tcp, 80));
    // A peer of a newer version: the Accept rule matches nothing (its other peers neither), a
    // Deny or Pass rule denies everything.
    let accept = [
        cnp(
            "a",
            "Admin",
            1,
            pods("shop", "api"),
            json!({"ingress": [from("Accept", json!([{"namespaces": {}}, {"services": {}}]))]}),
        ),
        netpol("shop", "deny", json!({"podSelector": {}})),
    ];
    let (c, problems) = w.cell(&accept, Direction::Ingress, "shop/api", "shop/web");
    assert!(denies_all(&c) && problems.len() == 1, "{problems:?}");
    let pass = [cnp(
        "p",
        "Admin",
        1,
        pods("shop", "api"),
        json!({"ingress": [from("Pass", json!([{"services": {}}]))]}),
    )];
    let (c, _) = w.cell(&pass, Direction::Ingress, "shop/api", "ops/tool");
    assert!(denies_all(&c));
    // A peer with no field at all is rejected by the CRD: possibly.
    let empty = [cnp("e", "Admin", 1, pods("shop", "api"), json!({"ingress": [from("Pass", json!([{}]))]}))];
    let (c, problems) = w.cell(&empty, Direction::Ingress, "shop/api", "ops/tool");
    assert!(c.certain.is_empty() && c.possible.is_all() && problems.len() == 1, "{c:?} {problems:?}");
}

#[test]
fn what_the_crd_rejects_is_possibly() {
    let w = World::new();
    let objects = [
        cnp(
            "bad",
            "Admin",
            1,
            pods("shop", "api"),
            json!({"ingress": [
                from("Deny", json!([{"namespaces": ns("ops")}])),
                {"action": "Accept", "from": [{"namespaces": {}}], "protocols": [{"tcp": {}}]}
            ]}),
        ),
        cnp("no-tier", "Middle", 1, pods("shop", "api"), json!({})),
        cnp("two", "Admin", 1, json!({"namespaces": {}, "pods": {"podSelector": {}}}), json!({})),
        cnp("far", "Admin", 1001, json!({"namespaces": {}}), json!({})),
    ];
    let (c, problems) = w.cell(&objects, Direction::Ingress, "shop/api", "ops/tool");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(c.certain.is_empty() && c.possible.is_all(), "{c:?}");
    let (c, _) = w.cell(&objects, Direction::Ingress, "shop/api", "shop/web");
    assert!(c.certain.is_empty() && c.possible.is_all(), "{c:?}");
}

#[test]
fn a_subject_that_possibly_picks_a_pod_decides_possibly() {
    let w = World::new();
    // The program's namespaces carry their name label only: `team` is an open fact.
    let objects = [cnp(
        "team",
        "Admin",
        1,
        json!({"namespaces": {"matchLabels": {"team": "a"}}}),
        json!({"ingress": [from("Deny", json!([{"namespaces": {}}]))]}),
    )];
    let c = w.ingress(&objects, "shop/web", "ops/tool");
    assert!(c.certain.is_empty() && c.possible.is_all(), "{c:?}");
    // Named by its name label, the namespace is picked for certain.
    let objects = [cnp(
        "shop",
        "Admin",
        1,
        json!({"namespaces": ns("shop")}),
        json!({"ingress": [from("Deny", json!([{"namespaces": {}}]))]}),
    )];
    assert!(denies_all(&w.ingress(&objects, "shop/web", "ops/tool")));
}
