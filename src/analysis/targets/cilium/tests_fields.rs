//! Fields of foreign policies, one by one.

use super::tests::{cnp, program, pt, SHOP};
use super::*;
use serde_json::json;

fn netpol(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

#[test]
fn network_policies_read_as_cilium_enforces_them() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [
        netpol(
            "shop",
            "k",
            json!({"podSelector": {"matchLabels": {"app": "api"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}, {"ports": [{"port": 80}]}]}),
        ),
        cnp(
            "shop",
            "c",
            json!({"endpointSelector": {"matchLabels": {"app": "api"}},
            "ingressDeny": [{"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}),
        ),
    ];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let side = r.semantics.side(pt(&u, "shop/api"), Direction::Ingress);
    // An ipBlock never matches a pod; a rule without peers matches every identity on TCP 80.
    let web = side.at(&u, pt(&u, "shop/web"));
    assert!(web.certain.contains(Protocol::Tcp, 80) && !web.possible.contains(Protocol::Tcp, 81));
    assert!(!web.possible.contains(Protocol::Udp, 80));
    // The world: everything by the ipBlock, but the CNP's deny wins on TCP 80.
    let world = side.at(&u, pt(&u, "203.0.113.7"));
    assert!(world.certain.contains(Protocol::Tcp, 81) && !world.possible.contains(Protocol::Tcp, 80));
}

#[test]
fn requirements_services_and_authentication_are_possibly() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [cnp(
        "shop",
        "api",
        json!({"endpointSelector": {"matchLabels": {"app": "api"}},
            "ingress": [
                {"fromRequires": [{"matchLabels": {"app": "web"}}]},
                {"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]},
                {"fromEndpoints": [{"matchLabels": {"app": "web"}}], "authentication": {"mode": "required"},
                 "toPorts": [{"ports": [{"port": "81", "protocol": "TCP"}]}]}],
            "egress": [{"toServices": [{"k8sService": {"serviceName": "s", "namespace": "shop"}}]}]}),
    )];
    let r = read(&objects, &u);
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    let api = pt(&u, "shop/api");
    let side = r.semantics.side(api, Direction::Ingress);
    // Another rule's requirement: Cilium 1.17 applies it, later releases do not.
    let web = side.at(&u, pt(&u, "shop/web"));
    assert!(!web.certain.contains(Protocol::Tcp, 80) && web.possible.contains(Protocol::Tcp, 80));
    // Mutual authentication: possibly.
    assert!(!web.certain.contains(Protocol::Tcp, 81) && web.possible.contains(Protocol::Tcp, 81));
    // Services: possibly any backend, certainly none.
    let out = r.semantics.side(api, Direction::Egress).at(&u, pt(&u, "ops/tool"));
    assert!(out.certain.is_empty() && out.possible.is_all());
}
