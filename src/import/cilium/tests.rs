//! The Cilium translator's shapes, peers and loss paths.

use super::*;
use serde_json::json;

fn one(spec: Value) -> Draft {
    let mut d = Draft::default();
    let obj = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "p", "namespace": "shop"}, "spec": spec});
    translate(0, &obj, &mut d);
    d
}

fn kinds(d: &Draft) -> Vec<Kind> {
    d.policies[0].statements.iter().map(|s| s.kind).collect()
}

#[test]
fn isolation_follows_rules_and_enable_default_deny() {
    let sel = json!({"matchLabels": {"app": "a"}});
    let d = one(json!({"endpointSelector": {}, "ingress": [{}]}));
    assert_eq!(kinds(&d), [Kind::DefaultDeny(Direction::Ingress)]);
    // An empty section is no section.
    let d = one(json!({"endpointSelector": sel, "ingress": []}));
    assert!(kinds(&d).is_empty());
    let d = one(json!({"endpointSelector": sel, "egressDeny": [{"toEntities": ["world"]}]}));
    assert_eq!(kinds(&d), [Kind::Nothing(Direction::Egress), Kind::Deny(Direction::Egress)]);
    let d = one(json!({"endpointSelector": sel, "enableDefaultDeny": {"egress": false},
        "egressDeny": [{"toEntities": ["world"]}]}));
    assert_eq!(kinds(&d), [Kind::Deny(Direction::Egress)]);
    let d = one(json!({"endpointSelector": sel, "enableDefaultDeny": {"ingress": false},
        "ingress": [{"fromEntities": ["world"]}]}));
    assert_eq!(d.losses[0].path, "spec.ingress");
    // Ports without peers: every peer; neither: none.
    let d = one(json!({"endpointSelector": sel, "ingress": [{"toPorts": [{"ports": [{"port": "80"}]}]}]}));
    let s = &d.policies[0].statements[0];
    assert_eq!(s.peers, [Peer::Entity(Entity::Anywhere)]);
    assert_eq!(
        s.ports.as_ref().map(|p| match p {
            Ports::Some(l) => l.len(),
            Ports::All => 0,
        }),
        Some(3),
        "no protocol is every protocol"
    );
}

#[test]
fn peers_as_the_reader_scopes_them() {
    let d =
        one(json!({"endpointSelector": {"matchLabels": {"k8s:app": "a"}}, "ingress": [{"fromEndpoints": [
            {},
            {"matchLabels": {"k8s:app": "b"}},
            {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]},
            {"matchLabels": {"reserved:host": ""}},
        ]}]}));
    let s = &d.policies[0].statements[0];
    assert_eq!(s.peers[0], Peer::Namespace("shop".into()));
    assert!(matches!(&s.peers[1], Peer::Pods { namespace, .. } if namespace == "shop"));
    assert_eq!(s.peers[2], Peer::Entity(Entity::Cluster));
    assert_eq!(s.peers[3], Peer::Entity(Entity::Host));
    let Subject::Pods(subject) = &d.policies[0].subject;
    assert_eq!(subject.match_labels.keys().collect::<Vec<_>>(), ["app"]);
}

#[test]
fn losses_name_their_field() {
    let d = one(json!({"endpointSelector": {}, "egress": [{"toEntities": ["cluster"]}]}));
    assert_eq!((d.losses[0].code, d.losses[0].path.as_str()), (NO_WORD, "spec.egress[0].toEntities[0]"));
    let d =
        one(json!({"endpointSelector": {}, "egress": [{"toEntities": ["world"], "toCIDR": ["10.0.0.0/8"]}]}));
    // Cilium refuses the object: nothing of it is said, the loss is the object.
    assert_eq!((d.losses[0].code, d.losses[0].path.as_str()), (UNREADABLE, ""));
    assert!(d.losses[0].message.contains("spec.egress[0]: combines"), "{}", d.losses[0].message);
    assert!(d.policies.is_empty());
    let d = one(json!({"endpointSelector": {"matchLabels": {"io.cilium.k8s.namespace.labels.team": "x"}},
        "ingress": [{}]}));
    assert_eq!(d.losses[0].path, "spec", "a lost subject takes the spec's rules with it");
    assert!(d.losses[0].message.contains("spec.endpointSelector"), "{}", d.losses[0].message);
    // Requirements bear on every endpoint rule of their direction.
    let d = one(json!({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]},
        {"fromEndpoints": [{}], "fromRequires": [{"matchLabels": {"env": "prod"}}]}]}));
    assert_eq!(d.losses[0].path, "spec.ingress");
    assert!(d.losses[0].message.contains("spec.ingress[1].fromRequires"), "{}", d.losses[0].message);
    // A namespaced host policy is refused.
    let d = one(json!({"nodeSelector": {}, "ingress": [{}]}));
    assert_eq!((d.losses[0].code, d.losses[0].path.as_str()), (UNREADABLE, ""));
}
