//! One test per Cilium trap (SEMANTICS.md §2.2): each compiles a small program for
//! `--target cilium` and checks the field that carries the trap.

mod common;

use common::*;
use netpol::backend::{Target, Version, Versions};
use serde_json::{json, Value};

const HEAD: &str =
    "namespace shop\nworkload web { app: web }\nworkload api { app: api }\nworkload db { app: db }\n";

fn cilium(src: &str) -> netpol::driver::Compilation {
    compile_str(&format!("{HEAD}{src}"), &[Target::Cilium], &[])
}

fn cilium_at(src: &str, version: Version) -> netpol::driver::Compilation {
    compile_with(
        &format!("{HEAD}{src}"),
        &[Target::Cilium],
        &[],
        Versions { cilium: version, ..Versions::DEFAULT },
    )
}

/// The body of the object named `name`, after checking the whole output is valid.
fn object(c: &netpol::driver::Compilation, name: &str) -> Value {
    assert!(!c.has_errors(), "{}", render(c));
    let objects = &c.outputs[0].1;
    for o in objects {
        let body = o.body();
        assert!(cilium_semantic_errors(&body).is_empty(), "{:?}", cilium_semantic_errors(&body));
    }
    if let Some(schemas) = CrdSchemas::for_target(Target::Cilium) {
        let errors = schemas.object_errors(objects);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no object {name}")).body()
}

fn error_codes(c: &netpol::driver::Compilation) -> Vec<&'static str> {
    codes(c).into_iter().filter(|c| c.starts_with('E')).collect()
}

#[test]
fn mixed_peers_are_split_into_one_selector_kind_per_rule() {
    let c = cilium(
        "web connects to api, world, 203.0.113.0/24, \"api.example.com\", kube-dns on tcp 443\nweb connects to kube-dns\n",
    );
    let egress = &object(&c, "web")["spec"]["egress"];
    let rules = egress.as_array().expect("egress");
    let kinds: Vec<Vec<&str>> = rules
        .iter()
        .map(|r| {
            r.as_object().expect("rule").keys().map(String::as_str).filter(|k| *k != "toPorts").collect()
        })
        .collect();
    for k in &kinds {
        assert_eq!(k.len(), 1, "one L3 selector kind per rule: {kinds:?}");
    }
    assert_eq!(rules[0]["toEndpoints"].as_array().map(Vec::len), Some(2), "api and kube-dns share a rule");
    assert_eq!(rules[1]["toEntities"], json!(["world"]));
    assert_eq!(rules[2]["toCIDRSet"], json!([{"cidr": "203.0.113.0/24"}]));
    assert_eq!(rules[3]["toFQDNs"], json!([{"matchName": "api.example.com"}]));
    for r in &rules[..4] {
        assert_eq!(
            r["toPorts"],
            json!([{"ports": [{"port": "443", "protocol": "TCP"}]}]),
            "same ports on every part"
        );
    }
}

#[test]
fn every_selector_names_its_namespace_and_the_k8s_label_source() {
    let c = compile_str(
        "namespace shop { workload web { app: web }\n web accepts tcp 80 from api, mon/prom }\n\
         namespace shop { workload api { app: api } }\nnamespace mon { workload prom { app: prom } }\n",
        &[Target::Cilium],
        &[],
    );
    let web = object(&c, "web");
    assert_eq!(web["spec"]["endpointSelector"], json!({"matchLabels": {"k8s:app": "web"}}));
    assert_eq!(
        web["spec"]["ingress"][0]["fromEndpoints"],
        json!([
            {"matchLabels": {"k8s:app": "api", "k8s:io.kubernetes.pod.namespace": "shop"}},
            {"matchLabels": {"k8s:app": "prom", "k8s:io.kubernetes.pod.namespace": "mon"}},
        ]),
        "even the policy's own namespace is written out"
    );
}

#[test]
fn entities_and_the_cluster_peer() {
    let c = cilium("web accepts from world, host, kube-apiserver\napi accepts tcp 80 from cluster\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEntities"],
        json!(["world", "host", "kube-apiserver"])
    );
    // `cluster` means every pod; Cilium's `cluster` entity would add the nodes.
    assert_eq!(
        object(&c, "api")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}])
    );
    let c = cilium("web accepts tcp 80 from anywhere\n");
    assert_eq!(object(&c, "web")["spec"]["ingress"][0]["fromEntities"], json!(["all"]));
}

#[test]
fn namespaces_by_label_use_namespace_labels_and_stay_cluster_wide() {
    let c = cilium("namespaces prod { env: prod, team in (a, b) }\nweb accepts tcp 80 from prod\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{
            "matchLabels": {"k8s:io.cilium.k8s.namespace.labels.env": "prod"},
            "matchExpressions": [
                {"key": "k8s:io.cilium.k8s.namespace.labels.team", "operator": "In", "values": ["a", "b"]},
                {"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"},
            ],
        }])
    );
}

/// `api in prod`: pod labels and namespace labels in one endpoint selector, so both hold.
#[test]
fn a_workload_in_a_namespace_set_is_one_selector_on_pod_and_namespace_labels() {
    let c = cilium("namespaces prod { env: prod, team in (a, b) }\nweb accepts tcp 80 from api in prod\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{
            "matchLabels": {"k8s:app": "api", "k8s:io.cilium.k8s.namespace.labels.env": "prod"},
            "matchExpressions": [
                {"key": "k8s:io.cilium.k8s.namespace.labels.team", "operator": "In", "values": ["a", "b"]},
                {"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"},
            ],
        }])
    );
}

#[test]
fn cidr_sets_carry_their_exceptions() {
    let c = cilium("web accepts tcp 443 from 10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16), fd00::/8\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromCIDRSet"],
        json!([{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}, {"cidr": "fd00::/8"}])
    );
}

#[test]
fn dns_names_come_with_a_dns_proxy_rule_that_allows_no_more_than_the_source() {
    let c = cilium("web connects to \"*.example.com\" on tcp 443\nweb connects to kube-dns\n");
    let egress = object(&c, "web")["spec"]["egress"].clone();
    assert_eq!(egress[0]["toFQDNs"], json!([{"matchPattern": "*.example.com"}]));
    let proxy = egress.as_array().expect("egress").last().expect("proxy rule").clone();
    assert_eq!(
        proxy,
        json!({
            "toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}],
            "toPorts": [{
                "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                "rules": {"dns": [{"matchPattern": "*"}]},
            }],
        })
    );
    // Only UDP allowed: the proxy rule covers UDP only.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns on udp 53\n");
    let egress = object(&c, "web")["spec"]["egress"].clone();
    let proxy = egress.as_array().expect("egress").last().expect("proxy").clone();
    assert_eq!(proxy["toPorts"][0]["ports"], json!([{"port": "53", "protocol": "UDP"}]));
    // No DNS allowed: an error, not a silent widening.
    let c = cilium("web connects to \"example.com\" on tcp 443\n");
    assert_eq!(error_codes(&c), ["E0305"]);
    // A network deny does not touch pod-to-pod traffic on Cilium, so it does not hide DNS.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns\nweb never connects to 0.0.0.0/0\n");
    assert!(!c.has_errors(), "{}", render(&c));
    // A deny towards the DNS pods does.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns\nweb never connects to namespace kube-system\n");
    assert_eq!(error_codes(&c), ["E0305"]);
}

#[test]
fn deny_rules_with_dns_names_are_errors() {
    let c = cilium("web connects to anywhere\nweb never connects to \"evil.example.com\"\n");
    assert_eq!(error_codes(&c), ["E0301"]);
    assert!(render(&c).contains("cilium"), "{}", render(&c));
}

#[test]
fn deny_rules_never_isolate() {
    // Ingress open except for the deny: default deny must be switched off.
    let c = cilium("web refuses tcp 22 from world\n");
    let spec = object(&c, "web")["spec"].clone();
    assert_eq!(spec["ingressDeny"][0]["fromEntities"], json!(["world"]));
    assert_eq!(spec["enableDefaultDeny"], json!({"ingress": false}));
    assert!(spec.get("ingress").is_none());
    // Isolated anyway: no enableDefaultDeny.
    let c = cilium("web accepts tcp 80 from api\nweb refuses tcp 80 from db\n");
    let spec = object(&c, "web")["spec"].clone();
    assert!(spec.get("enableDefaultDeny").is_none(), "{spec}");
    assert_eq!(spec["ingressDeny"][0]["fromEndpoints"][0]["matchLabels"]["k8s:app"], "db");
    // Egress the same way.
    let c = cilium("web never connects to 169.254.169.254\n");
    assert_eq!(object(&c, "web")["spec"]["enableDefaultDeny"], json!({"egress": false}));
}

#[test]
fn enable_default_deny_needs_cilium_1_16() {
    let c = cilium_at("web refuses from world\n", Version::new(1, 15, 0));
    assert_eq!(error_codes(&c), ["E0303"]);
    let text = render(&c);
    assert!(text.contains("--cilium-version 1.16"), "{text}");
    let c = cilium_at("web accepts from api\nweb refuses from world\n", Version::new(1, 15, 0));
    assert!(!c.has_errors(), "isolated: ingressDeny alone is fine before 1.16\n{}", render(&c));
    let c = cilium_at("web accepts from api\nweb refuses from world\n", Version::new(1, 8, 0));
    assert_eq!(error_codes(&c), ["E0303"], "deny rules need 1.9");
}

#[test]
fn port_ranges_need_cilium_1_16() {
    let c = cilium_at("web accepts tcp 8000-8100 from api\n", Version::new(1, 15, 4));
    assert_eq!(error_codes(&c), ["E0303"]);
    let c = cilium_at("web accepts tcp 8000-8100 from api\n", Version::new(1, 16, 0));
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["toPorts"],
        json!([{"ports": [{"port": "8000", "endPort": 8100, "protocol": "TCP"}]}])
    );
}

#[test]
fn protocols_are_always_explicit() {
    let c = cilium("web accepts tcp 80, http and udp 53 and sctp from api\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["toPorts"],
        json!([{"ports": [
            {"port": "80", "protocol": "TCP"},
            {"port": "http", "protocol": "TCP"},
            {"port": "53", "protocol": "UDP"},
            {"port": "0", "protocol": "SCTP"},
        ]}]),
        "omitted protocol means ANY in Cilium; protocol-only uses port 0"
    );
    let c = cilium("web accepts from api\n");
    assert!(object(&c, "web")["spec"]["ingress"][0].get("toPorts").is_none(), "no ports: every port");
}

#[test]
fn at_most_forty_ports_per_entry() {
    let ports: Vec<String> = (1000..1045).map(|p| p.to_string()).collect();
    let c = cilium(&format!("web accepts tcp {} from api\n", ports.join(", ")));
    let to_ports = object(&c, "web")["spec"]["ingress"][0]["toPorts"].clone();
    let sizes: Vec<usize> = to_ports
        .as_array()
        .expect("toPorts")
        .iter()
        .map(|e| e["ports"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [40, 5]);
}

#[test]
fn accepts_nothing_is_an_empty_peer_list_never_an_empty_section() {
    let c = cilium("web accepts nothing \"closed\"\nweb connects to nothing\n");
    let web = object(&c, "web");
    assert_eq!(web["spec"]["ingress"], json!([{"fromEntities": []}]));
    assert_eq!(web["spec"]["egress"], json!([{"toEntities": []}]));
    assert!(web["metadata"]["annotations"]["netpol/rules"]
        .as_str()
        .expect("notes")
        .contains("nothing: closed"));
    let yaml = &c.outputs[0].1.iter().find(|o| o.name == "web").expect("web").yaml;
    assert!(!yaml.contains("ingress: []") && !yaml.contains("Requires"), "{yaml}");
}

#[test]
fn default_deny_per_namespace_and_cluster_wide() {
    let c = compile_str(
        "default deny ingress\nnamespace shop { default deny egress\n workload web { app: web }\n web connects to kube-dns }\n",
        &[Target::Cilium],
        &[],
    );
    assert!(!c.has_errors(), "{}", render(&c));
    let objects = &c.outputs[0].1;
    let ccnp = objects.iter().find(|o| o.kind == "CiliumClusterwideNetworkPolicy").expect("CCNP").body();
    assert!(ccnp["metadata"].get("namespace").is_none());
    assert_eq!(
        ccnp["spec"]["endpointSelector"],
        json!({"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}),
        "pods only, not Cilium's own health endpoints"
    );
    assert_eq!(ccnp["spec"]["ingress"], json!([{"fromEntities": []}]));
    let cnp = object(&c, "default-deny-egress");
    assert_eq!(cnp["metadata"]["namespace"], "shop");
    assert_eq!(cnp["spec"]["endpointSelector"], json!({}));
    assert_eq!(cnp["spec"]["egress"], json!([{"toEntities": []}]));
}

#[test]
fn selectors_render_every_operator_with_the_k8s_source() {
    let c = compile_str(
        "namespace shop\nworkload web { app: web, tier in (a, b), env notin (test), team exists, legacy does-not-exist }\n\
         workload api { app: api }\nweb accepts from api\n",
        &[Target::Cilium],
        &[],
    );
    assert_eq!(
        object(&c, "web")["spec"]["endpointSelector"],
        json!({
            "matchLabels": {"k8s:app": "web"},
            "matchExpressions": [
                {"key": "k8s:env", "operator": "NotIn", "values": ["test"]},
                {"key": "k8s:legacy", "operator": "DoesNotExist"},
                {"key": "k8s:team", "operator": "Exists"},
                {"key": "k8s:tier", "operator": "In", "values": ["a", "b"]},
            ],
        })
    );
}

#[test]
fn reasons_and_sources_are_carried_per_rule() {
    let c = cilium("web accepts tcp 80 from api, world \"the shop front\"\n");
    let notes =
        object(&c, "web")["metadata"]["annotations"]["netpol/rules"].as_str().expect("notes").to_string();
    assert_eq!(
        notes,
        "ingress[0]: the shop front (test.netpol:5)\ningress[1]: the shop front (test.netpol:5)"
    );
}
