//! Kubernetes NetworkPolicy as Calico converts and enforces it, alone and beside Calico
//! policies.

use super::foreign::{deny_all_ingress_of_api, knp, only_possibly, CRD};
use super::*;

#[test]
fn kubernetes_network_policies_are_read_as_calico_converts_them() {
    let u = universe();
    let k = knp(
        "shop",
        "api",
        json!({"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [
            {"from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}},
                      {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
             "ports": [{"port": 8080}, {"protocol": "UDP", "port": 53, "endPort": 54}]}]}),
    );
    let c = read_ok(std::slice::from_ref(&k), &u);
    let want = tcp(8080).union(&PortSet::range(Protocol::Udp, 53, 54));
    let web = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web");
    assert_eq!((web.certain.clone(), web.possible.clone()), (want.clone(), want.clone()));
    // The ipBlock: exactly for addresses, `except` left out.
    assert_eq!(cell(&c, &u, "shop/api", Direction::Ingress, "10.0.0.0").certain, want);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "10.1.0.0").possible.is_empty());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "203.0.113.7").possible.is_empty());
    // The pod selector stays in the policy's namespace (another pod's address may lie in the
    // ipBlock); policyTypes defaults to Ingress.
    assert!(only_possibly(&cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool"), &want));
    assert!(c.side(point(&u, "shop/api"), Direction::Egress).is_open());
    assert!(c.side(point(&u, "shop/web"), Direction::Ingress).is_open());
    // Origins name the Kubernetes object and rule.
    let side = c.side(point(&u, "shop/api"), Direction::Ingress);
    let Step::Clause(first) = &side.steps[0] else { panic!("{side:?}") };
    assert!(
        first.origin.to_string().starts_with("NetworkPolicy shop/api spec.ingress[0]"),
        "{}",
        first.origin
    );
    // Order 1000 in the default tier: a Calico Deny at 500 comes first, one at 2000 after.
    let c = read_ok(&[k.clone(), deny_all_ingress_of_api("deny", 500.0)], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    let c = read_ok(&[k, deny_all_ingress_of_api("deny", 2000.0)], &u);
    assert_eq!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain, want);
}

#[test]
fn kubernetes_namespace_selectors_and_egress() {
    let u = universe();
    let k = knp(
        "shop",
        "web",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [
            {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "tool"}}}]},
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}],
             "ports": [{"protocol": "TCP"}]}]}),
    );
    let c = read_ok(&[k], &u);
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "ops/tool").certain.is_all());
    assert_eq!(
        cell(&c, &u, "shop/web", Direction::Egress, "shop/db").certain,
        PortSet::protocol(Protocol::Tcp)
    );
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "ops/<unlabelled pod>").possible.is_empty());
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "203.0.113.7").possible.is_empty());
    assert!(c.side(point(&u, "shop/web"), Direction::Ingress).is_open());
    // A rule Calico cannot convert is dropped, and said.
    let bad = knp(
        "shop",
        "bad",
        json!({"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}),
    );
    let (c, problems) = Calico::new(&[bad], &u);
    assert!(
        problems.iter().any(|p| p.contains("spec.ingress[0]: Calico cannot convert it")),
        "{problems:#?}"
    );
    assert!(cell(&c, &u, "shop/web", Direction::Ingress, "shop/db").possible.is_empty());
}

#[test]
fn kubernetes_policy_types_decide_what_is_isolated() {
    let u = universe();
    let (web, db) = (point(&u, "shop/web"), point(&u, "shop/db"));
    // Egress rules without Egress in policyTypes never apply; the pod is isolated for ingress.
    let k = knp(
        "shop",
        "web",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "egress": [{}]}),
    );
    let (c, problems) = Calico::new(&[k], &u);
    assert!(problems.len() == 1 && problems[0].contains("spec.policyTypes has no Egress"), "{problems:#?}");
    assert!(c.side(web, Direction::Egress).is_open());
    assert!(c.side(web, Direction::Ingress).at(&u, db).possible.is_empty());
    // Left out: Ingress, and Egress where there are egress rules (the API server's default).
    let k = knp(
        "shop",
        "web",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
    );
    let c = read_ok(&[k], &u);
    assert!(c.side(web, Direction::Ingress).at(&u, db).possible.is_empty());
    assert!(exactly_udp53(&c.side(web, Direction::Egress).at(&u, db)));
}

fn exactly_udp53(c: &Cell) -> bool {
    let want = PortSet::range(Protocol::Udp, 53, 53);
    c.certain == want && c.possible == want
}

/// Kubernetes and Calico policies in one list, ordered around the Kubernetes one's order 1000;
/// network-config-analyzer 2.1.0 gives the same verdicts for the same shape.
#[test]
fn kubernetes_and_calico_policies_together() {
    let mut u = universe();
    for z in &mut u.zones {
        z.labels_known = true;
        if z.name == "ops" {
            z.labels.insert("shape".into(), "circle".into());
        }
    }
    let objects = [
        knp(
            "shop",
            "k",
            json!({"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}, {"namespaceSelector": {"matchLabels": {"shape": "circle"}}}],
             "ports": [{"port": 80}, {"port": 443}]}]}),
        ),
        np(
            "shop",
            "early",
            json!({"order": 500, "selector": "app == 'api'", "types": ["Ingress"], "ingress": [
            {"action": "Deny", "protocol": "TCP", "source": {"namespaceSelector": "shape == 'circle'"}, "destination": {"ports": [443]}}]}),
        ),
        np(
            "shop",
            "late",
            json!({"order": 2000, "selector": "app == 'api'", "types": ["Ingress"], "ingress": [
            {"action": "Deny", "protocol": "TCP", "source": {"selector": "app == 'web'"}, "destination": {"ports": [80]}}]}),
        ),
    ];
    let c = read_ok(&objects, &u);
    let tool = cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool");
    assert!(tool.certain == tcp(80) && tool.possible == tcp(80), "{tool:?}");
    let web = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web");
    assert!(web.certain == tcp(80).union(&tcp(443)) && web.possible == web.certain, "{web:?}");
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/db").possible.is_empty());
}

#[test]
fn odd_foreign_objects_never_panic() {
    let u = universe();
    let odd = [
        knp("shop", "k1", json!("spec")),
        knp("shop", "k2", json!({"podSelector": 3, "ingress": {}, "egress": [3, {"to": 4, "ports": "x"}]})),
        knp(
            "shop",
            "k3",
            json!({"podSelector": {"matchLabels": {"a": 1}, "matchExpressions": [{"key": "b", "operator": "Has"}]},
            "ingress": [{"from": [3, {"ipBlock": {"cidr": "x"}}, {"namespaceSelector": {"matchExpressions": 5}}],
                         "ports": [{"port": 80, "endPort": "x"}, {"protocol": 6}, 3]}], "policyTypes": ["Sideways", 2]}),
        ),
        knp(
            "shop",
            "k4",
            json!({"podSelector": {"matchLabels": {"a b": "c'"}}, "ingress": [{"ports": [{"port": true}]}]}),
        ),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "k5"}, "spec": {}}),
        json!({"apiVersion": CRD, "kind": "NetworkPolicy", "metadata": {"name": 5, "namespace": "shop"}}),
        json!({"apiVersion": CRD, "kind": "StagedNetworkPolicy"}),
        json!({"apiVersion": API_VERSION, "kind": "NetworkSet", "metadata": {"name": "n"}, "spec": {"nets": "x"}}),
        json!({"apiVersion": API_VERSION, "kind": "GlobalNetworkSet", "metadata": {"name": "g", "labels": {"a": 1}},
               "spec": {"nets": ["x", 3, "10.0.0.0/8"]}}),
        np(
            "shop",
            "sa",
            json!({"serviceAccountSelector": 3, "ingress": [{"action": "Allow",
            "source": {"serviceAccounts": {"names": [1], "selector": "(("}}},
            {"action": "Allow", "source": {"serviceAccounts": "x"}, "notICMP": {}},
            {"action": "Allow", "destination": {"serviceAccounts": {"names": "x"}}}]}),
        ),
    ];
    let (c, problems) = Calico::new(&odd, &u);
    assert!(problems.len() >= odd.len(), "{problems:#?}");
    for p in u.ids() {
        for dir in [Direction::Ingress, Direction::Egress] {
            let side = c.side(p, dir);
            for q in u.ids() {
                let _ = side.at(&u, q);
            }
        }
    }
}
