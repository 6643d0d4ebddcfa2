//! One test per Kubernetes trap in SEMANTICS.md §2.1: each asserts the emitted structure.

mod common;

use common::*;
use netpol::backend::Target;
use serde_json::{json, Value};

const HEAD: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n";

/// Compiles `HEAD + body` and returns the spec of the policy named `name`.
fn spec(body: &str, name: &str) -> Value {
    let c = compile_str(&format!("{HEAD}{body}"), &[Target::Kubernetes], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    let objects = &c.outputs[0].1;
    if let Some(v) = kubernetes_validator() {
        assert_eq!(schema_errors(&v, objects), Vec::<String>::new());
    }
    assert_eq!(server_side_errors(objects), Vec::<String>::new());
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no policy {name}")).body()["spec"]
        .clone()
}

fn error_codes(body: &str) -> Vec<&'static str> {
    let c = compile_str(&format!("{HEAD}{body}"), &[Target::Kubernetes], &[]);
    assert!(c.outputs.is_empty(), "no output on error: {body}");
    codes(&c).into_iter().filter(|c| c.starts_with('E')).collect()
}

#[test]
fn egress_only_policy_states_egress_policy_type() {
    let s = spec(
        "web connects to db on tcp 5432\ndb accepts tcp 5432 from web\nweb connects to kube-dns\n",
        "web",
    );
    assert_eq!(s["policyTypes"], json!(["Egress"]));
    assert!(s.get("ingress").is_none());
}

#[test]
fn deny_all_egress_lists_egress_with_no_rules() {
    let s = spec("web connects to nothing\n", "web");
    assert_eq!(s["policyTypes"], json!(["Egress"]));
    assert!(s.get("egress").is_none_or(|e| e == &json!([])), "{s}");
}

#[test]
fn accepts_nothing_isolates_ingress_without_rules() {
    let s = spec("db accepts nothing\n", "db");
    assert_eq!(s["policyTypes"], json!(["Ingress"]));
    assert!(s.get("ingress").is_none_or(|e| e == &json!([])), "{s}");
}

#[test]
fn protocol_is_always_explicit() {
    let s = spec("db accepts tcp 5432 and udp 53 and sctp 9999 from web\n", "db");
    assert_eq!(
        s["ingress"][0]["ports"],
        json!([{"port": 5432, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}, {"port": 9999, "protocol": "SCTP"}])
    );
    let s = spec("db accepts udp from web\n", "db");
    assert_eq!(s["ingress"][0]["ports"], json!([{"protocol": "UDP"}]), "protocol alone = every port of it");
}

#[test]
fn from_anywhere_omits_from_instead_of_an_ip_block() {
    let s = spec("db accepts tcp 5432 from anywhere\n", "db");
    assert_eq!(s["ingress"][0], json!({"ports": [{"port": 5432, "protocol": "TCP"}]}));
    let s = spec("db accepts from anything\n", "db");
    assert_eq!(s["ingress"], json!([{}]), "allow-all is `ingress: [{{}}]`");
    let s = spec("db accepts tcp 1 from web, anywhere\n", "db");
    assert!(s["ingress"][0].get("from").is_none(), "anywhere absorbs the other peers");
}

#[test]
fn namespaces_are_selected_by_their_immutable_name_label() {
    let s = spec("db accepts tcp 5432 from namespace monitoring\n", "db");
    assert_eq!(
        s["ingress"][0]["from"],
        json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])
    );
}

#[test]
fn cross_namespace_workload_is_one_peer_with_both_selectors() {
    let body = "namespace monitoring {\n  workload prometheus { app: prometheus }\n  prometheus connects to shop/db on tcp 9187\n  prometheus connects to kube-dns\n}\ndb accepts tcp 9187 from monitoring/prometheus\n";
    let s = spec(body, "db");
    assert_eq!(
        s["ingress"][0]["from"],
        json!([{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app": "prometheus"}}
        }])
    );
}

/// `web in teams`: the workload's pods in the set's namespaces, both selectors in ONE peer
/// (two peers would mean "these pods here, or any pod there").
#[test]
fn workload_in_a_namespace_set_is_one_peer_with_both_selectors() {
    let s = spec("namespaces teams { team in (a, b) }\ndb accepts tcp 5432 from web in teams\n", "db");
    assert_eq!(
        s["ingress"][0]["from"],
        json!([{
            "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]},
            "podSelector": {"matchLabels": {"app": "web"}}
        }])
    );
}

#[test]
fn same_namespace_workload_is_a_pod_selector_only() {
    let s = spec("db accepts tcp 5432 from web\n", "db");
    assert_eq!(s["ingress"][0]["from"], json!([{"podSelector": {"matchLabels": {"app": "web"}}}]));
}

#[test]
fn whole_cluster_is_an_empty_namespace_selector() {
    let s = spec("db accepts tcp 5432 from cluster\n", "db");
    assert_eq!(s["ingress"][0]["from"], json!([{"namespaceSelector": {}}]));
}

#[test]
fn ranges_use_end_port_and_named_ports_never_do() {
    let s = spec("db accepts tcp 8000-8100, metrics from web\n", "db");
    assert_eq!(
        s["ingress"][0]["ports"],
        json!([{"endPort": 8100, "port": 8000, "protocol": "TCP"}, {"port": "metrics", "protocol": "TCP"}])
    );
}

#[test]
fn ip_block_except_stays_inside_its_cidr() {
    let s = spec(
        "web connects to 10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16) on tcp 443\nweb connects to kube-dns\n",
        "web",
    );
    assert_eq!(
        s["egress"][0]["to"],
        json!([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}])
    );
    assert_eq!(error_codes("web connects to 10.0.0.0/8 except 192.168.0.0/16\n"), ["E0111"]);
    assert_eq!(error_codes("web connects to 10.0.0.1/8\n"), ["E0005"]);
}

#[test]
fn ipv6_blocks_are_emitted_canonically() {
    let s = spec(
        "web connects to 2001:db8::/32 except 2001:db8:ff::/48 on tcp 443\nweb connects to kube-dns\n",
        "web",
    );
    assert_eq!(
        s["egress"][0]["to"],
        json!([{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:ff::/48"]}}])
    );
}

#[test]
fn dns_is_udp_and_tcp_53_to_kube_dns_in_one_peer() {
    let s = spec("web connects to kube-dns\n", "web");
    assert_eq!(
        s["egress"][0],
        json!({
            "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "to": [{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}
            }]
        })
    );
}

#[test]
fn namespace_default_deny_selects_every_pod() {
    let s = spec("default deny all\n", "default-deny-egress");
    assert_eq!(s, json!({"podSelector": {}, "policyTypes": ["Egress"]}));
    let s = spec("default deny ingress\n", "default-deny-ingress");
    assert_eq!(s, json!({"podSelector": {}, "policyTypes": ["Ingress"]}));
}

#[test]
fn set_expressions_become_match_expressions() {
    let body = "namespace lab\nworkload w { app: w, tier in (b, a), env notin (test), canary exists, legacy does-not-exist }\nw accepts tcp 80 from anywhere\n";
    let c = compile_str(body, &[Target::Kubernetes], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    assert_eq!(
        c.outputs[0].1[0].body()["spec"]["podSelector"],
        json!({
            "matchExpressions": [
                {"key": "canary", "operator": "Exists"},
                {"key": "env", "operator": "NotIn", "values": ["test"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "tier", "operator": "In", "values": ["a", "b"]}
            ],
            "matchLabels": {"app": "w"}
        })
    );
}

#[test]
fn edges_produce_both_sides() {
    let c = compile_str(
        &format!("{HEAD}web -> db on tcp 5432\nweb connects to kube-dns\n"),
        &[Target::Kubernetes],
        &[],
    );
    assert!(c.diagnostics.is_empty(), "{}", render(&c));
    let by_name =
        |n: &str| c.outputs[0].1.iter().find(|o| o.name == n).expect("policy").body()["spec"].clone();
    assert_eq!(by_name("web")["egress"][0]["to"], json!([{"podSelector": {"matchLabels": {"app": "db"}}}]));
    assert_eq!(
        by_name("db")["ingress"][0]["from"],
        json!([{"podSelector": {"matchLabels": {"app": "web"}}}])
    );
}

#[test]
fn constructs_kubernetes_cannot_express_are_errors_naming_the_target() {
    for body in [
        "db refuses tcp 22 from web\n",
        "web never connects to db on tcp 22\n",
        "web connects to \"api.example.com\" on tcp 443\n",
        "web connects to world on tcp 443\n",
        "db accepts tcp 9100 from host\n",
        "web connects to kube-apiserver on tcp 443\n",
    ] {
        assert_eq!(error_codes(body), ["E0301"], "{body}");
        let c = compile_str(&format!("{HEAD}{body}"), &[Target::Kubernetes], &[]);
        let e = c.diagnostics.iter().find(|d| d.is_error()).expect("an error");
        assert!(e.message.contains("`kubernetes`"), "{}", e.message);
        assert!(e.help.is_some());
    }
    let c = compile_str("default deny ingress\n", &[Target::Kubernetes], &[]);
    assert_eq!(codes(&c), ["E0301", "W0208"], "cluster-wide default deny (and the DNS it would isolate)");
}

#[test]
fn clashing_object_names_are_an_error() {
    let body = "workload default-deny-ingress { app: x }\ndefault deny ingress\ndefault-deny-ingress accepts tcp 80 from web\n";
    assert_eq!(error_codes(body), ["E0302"]);
}

#[test]
fn parameters_apply_from_the_command_line_and_decide_conditions() {
    let body = "param api: cidr = 10.0.0.1\nparam metrics: bool = false\nparam metrics-port: port = 9090\n\
                web connects to api on tcp 443\nweb connects to kube-dns\nif metrics {\n  web accepts tcp metrics-port from db\n} else {\n  web accepts nothing\n}\n";
    let run = |sets: &[(&str, &str)]| {
        let c = compile_str(&format!("{HEAD}{body}"), &[Target::Kubernetes], sets);
        assert!(!c.has_errors(), "{}", render(&c));
        c.outputs[0].1.iter().find(|o| o.name == "web").expect("web").body()["spec"].clone()
    };
    let default = run(&[]);
    assert_eq!(default["egress"][0]["to"], json!([{"ipBlock": {"cidr": "10.0.0.1/32"}}]));
    assert_eq!(default["policyTypes"], json!(["Ingress", "Egress"]));
    assert!(default.get("ingress").is_none_or(|i| i == &json!([])));
    let set = run(&[("api", "192.168.1.10/32"), ("metrics", "true"), ("metrics-port", "9100")]);
    assert_eq!(set["egress"][0]["to"], json!([{"ipBlock": {"cidr": "192.168.1.10/32"}}]));
    assert_eq!(set["ingress"][0]["ports"], json!([{"port": 9100, "protocol": "TCP"}]));
}

#[test]
fn objects_carry_the_managed_by_label_and_provenance() {
    let c = compile_str(
        &format!("{HEAD}db accepts tcp 5432 from web \"app queries\"\n"),
        &[Target::Kubernetes],
        &[],
    );
    let meta = &c.outputs[0].1[0].body()["metadata"];
    assert_eq!(meta["labels"], json!({"app.kubernetes.io/managed-by": "netpol"}));
    assert_eq!(meta["annotations"]["netpol/source"], json!("test.netpol:3"));
    assert_eq!(meta["annotations"]["netpol/rules"], json!("ingress[0]: app queries (test.netpol:4)"));
    assert_eq!(meta["namespace"], json!("shop"));
}

#[test]
fn dns_warning_fires_for_restricted_egress_but_not_for_connects_to_nothing() {
    let c = compile_str(
        &format!("{HEAD}web connects to db on tcp 5432\ndb accepts tcp 5432 from web\n"),
        &[],
        &[],
    );
    assert_eq!(codes(&c), ["W0203"]);
    let c = compile_str(&format!("{HEAD}web connects to nothing\ndb accepts nothing\n"), &[], &[]);
    assert_eq!(codes(&c), Vec::<&str>::new(), "{}", render(&c));
}

#[test]
fn isolation_reasons_are_carried_into_the_annotations() {
    let c = compile_str(&format!("{HEAD}db accepts nothing \"batch only\"\n"), &[Target::Kubernetes], &[]);
    let meta = &c.outputs[0].1[0].body()["metadata"];
    assert_eq!(meta["annotations"]["netpol/rules"], json!("ingress: nothing: batch only (test.netpol:4)"));
}
