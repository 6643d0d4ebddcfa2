//! One test per Calico trap (SEMANTICS.md §2.3): each compiles a small program for
//! `--target calico` and checks the field that carries the trap.

mod common;

use common::*;
use netpol::backend::{Target, Version, Versions};
use serde_json::{json, Value};

const HEAD: &str =
    "namespace shop\nworkload web { app: web }\nworkload api { app: api }\nworkload db { app: db }\n";

fn calico(src: &str) -> netpol::driver::Compilation {
    compile_str(&format!("{HEAD}{src}"), &[Target::Calico], &[])
}

/// The body of the object named `name`, after checking the whole output is valid.
fn object(c: &netpol::driver::Compilation, name: &str) -> Value {
    assert!(!c.has_errors(), "{}", render(c));
    let objects = &c.outputs[0].1;
    for o in objects {
        let body = o.body();
        assert!(calico_semantic_errors(&body).is_empty(), "{:?}", calico_semantic_errors(&body));
        assert_eq!(body["apiVersion"], "projectcalico.org/v3", "v3 only, never crd.projectcalico.org/v1");
    }
    if let Some(schemas) = CrdSchemas::for_target(Target::Calico) {
        let errors = schemas.object_errors(objects);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no object {name}")).body()
}

fn error_codes(c: &netpol::driver::Compilation) -> Vec<&'static str> {
    codes(c).into_iter().filter(|c| c.starts_with('E')).collect()
}

/// The rules of a section without their provenance annotations.
fn bare(rules: &Value) -> Value {
    let mut rules = rules.clone();
    for r in rules.as_array_mut().into_iter().flatten() {
        r.as_object_mut().expect("rule").remove("metadata");
    }
    rules
}

#[test]
fn selectors_are_calico_expressions_with_quoted_values() {
    let c = compile_str(
        "namespace shop\nworkload web { app.kubernetes.io/name: web, tier in (a, b), env notin (test), team exists, legacy does-not-exist }\n\
         workload api { app: api }\nweb accepts from api\n",
        &[Target::Calico],
        &[],
    );
    assert_eq!(
        object(&c, "web")["spec"]["selector"],
        "app.kubernetes.io/name == 'web' && env not in {'test'} && !has(legacy) && has(team) && tier in {'a', 'b'}"
    );
}

#[test]
fn awkward_label_values_stay_literal_values() {
    // Values that look like numbers, keywords or functions of the selector language, and the
    // empty value: quoted, each stays a value.
    let c = compile_str(
        "namespace shop\nworkload web { version: \"\", app: all, mode in (has, in, not, \"9\") }\nworkload api { app: api }\nweb accepts from api\n",
        &[Target::Calico],
        &[],
    );
    assert_eq!(
        object(&c, "web")["spec"]["selector"],
        "app == 'all' && version == '' && mode in {'9', 'has', 'in', 'not'}"
    );
}

#[test]
fn over_long_selectors_are_errors_not_truncations() {
    let values: Vec<String> = (0..120).map(|i| format!("value-number-{i}")).collect();
    let c = calico(&format!("workload big {{ app in ({}) }}\nbig accepts from web\n", values.join(", ")));
    assert_eq!(error_codes(&c), ["E0304"]);
    assert!(render(&c).contains("1024"), "{}", render(&c));
}

#[test]
fn namespaces_by_name_and_label() {
    let c = compile_str(
        "namespace shop { workload web { app: web }\n web accepts tcp 80 from api, mon/prom, namespace mon, prod, cluster }\n\
         namespace shop { workload api { app: api } }\nnamespace mon { workload prom { app: prom } }\n\
         namespaces prod { env: prod }\n",
        &[Target::Calico],
        &[],
    );
    let sources: Vec<Value> = object(&c, "web")["spec"]["ingress"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["source"].clone())
        .collect();
    assert_eq!(
        sources,
        [
            json!({"selector": "app == 'api'"}),
            json!({"selector": "app == 'prom'", "namespaceSelector": "projectcalico.org/name == 'mon'"}),
            json!({"namespaceSelector": "projectcalico.org/name == 'mon'"}),
            json!({"namespaceSelector": "env == 'prod'"}),
            json!({"namespaceSelector": "all()"}),
        ]
    );
}

#[test]
fn types_order_and_tier_are_explicit() {
    let c = calico("web connects to api on tcp 80\nweb connects to kube-dns\napi accepts nothing\n");
    let web = object(&c, "web")["spec"].clone();
    assert_eq!(web["types"], json!(["Egress"]), "egress rules only: Egress only");
    assert_eq!(web["order"], 100);
    assert_eq!(web["tier"], "default");
    let api = object(&c, "api")["spec"].clone();
    assert_eq!(api["types"], json!(["Ingress"]));
    assert!(api.get("ingress").is_none(), "isolated with no rule: the tier's default Deny decides");
    // Before 3.29 open-source Calico has no tiers and no `tier` field.
    let c = compile_with(
        &format!("{HEAD}web accepts from api\n"),
        &[Target::Calico],
        &[],
        Versions { calico: Version::new(3, 28, 0), ..Versions::DEFAULT },
    );
    assert!(object(&c, "web")["spec"].get("tier").is_none());
}

#[test]
fn deny_rules_live_in_a_tier_of_their_own_that_passes_the_rest() {
    let c = calico("web accepts tcp 80 from anywhere\nweb refuses tcp 80 from 198.51.100.0/24\n");
    let allow = object(&c, "web")["spec"].clone();
    assert_eq!(allow["tier"], "default");
    assert_eq!(
        bare(&allow["ingress"]),
        json!([{"action": "Allow", "protocol": "TCP", "destination": {"ports": [80]}}])
    );
    let deny = object(&c, "netpol-deny.web");
    assert_eq!(deny["metadata"]["namespace"], "shop");
    assert_eq!(deny["spec"]["tier"], "netpol-deny");
    assert_eq!(deny["spec"]["selector"], "app == 'web'");
    assert_eq!(deny["spec"]["types"], json!(["Ingress"]));
    assert_eq!(
        bare(&deny["spec"]["ingress"]),
        json!([{"action": "Deny", "protocol": "TCP", "source": {"nets": ["198.51.100.0/24"]}, "destination": {"ports": [80]}}])
    );
    // The tier: before the default tier (order 1,000,000), and Pass where no deny matched,
    // so a deny never isolates and never skips an allow.
    let tier = object(&c, "netpol-deny");
    assert_eq!(tier["kind"], "Tier");
    assert!(tier["metadata"].get("namespace").is_none());
    assert_eq!(tier["spec"], json!({"order": 900000, "defaultAction": "Pass"}));
    // Deny only: no default-tier policy, so the direction stays open.
    let c = calico("web never connects to 169.254.169.254\n");
    let names: Vec<&str> = c.outputs[0].1.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["netpol-deny", "netpol-deny.web"]);
    assert_eq!(object(&c, "netpol-deny.web")["spec"]["types"], json!(["Egress"]));
    // No deny rule: no tier.
    let c = calico("web accepts from api\n");
    assert!(c.outputs[0].1.iter().all(|o| o.kind != "Tier"));
}

#[test]
fn deny_rules_need_calico_tiers() {
    let c = compile_with(
        &format!("{HEAD}web refuses from api\n"),
        &[Target::Calico],
        &[],
        Versions { calico: Version::new(3, 28, 0), ..Versions::DEFAULT },
    );
    assert_eq!(error_codes(&c), ["E0303"]);
    assert!(render(&c).contains("--calico-version 3.29"), "{}", render(&c));
}

/// Tiers and the tier's `defaultAction` both came in Calico 3.29.0 (calico#9085, calico#9232),
/// so the deny tier, which must Pass what it does not deny, works from that release on: at
/// 3.29.0 itself the tier is written with `defaultAction: Pass`, and at the last 3.28 patch
/// release (no tiers, no `defaultAction`) a deny rule is E0303.
#[test]
fn the_deny_tier_passes_from_the_release_that_has_default_action() {
    let src = format!("{HEAD}web accepts tcp 80 from anywhere\nweb refuses tcp 80 from 198.51.100.0/24\n");
    let at =
        |v: Version| compile_with(&src, &[Target::Calico], &[], Versions { calico: v, ..Versions::DEFAULT });
    let c = at(netpol::backend::calico::TIER_SINCE);
    assert_eq!(netpol::backend::calico::TIER_SINCE, Version::new(3, 29, 0));
    let tier = object(&c, "netpol-deny");
    assert_eq!(tier["spec"]["defaultAction"], "Pass", "without it the tier would end in Deny");
    assert_eq!(object(&c, "netpol-deny.web")["spec"]["tier"], "netpol-deny");
    assert_eq!(object(&c, "web")["spec"]["tier"], "default");
    let c = at(Version::new(3, 28, 99));
    assert_eq!(error_codes(&c), ["E0303"], "{}", render(&c));
    assert!(c.outputs.is_empty() || c.outputs.iter().all(|(_, o)| o.is_empty()));
}

#[test]
fn networks_with_exceptions_get_their_own_rule_and_families_are_not_mixed() {
    let c = calico(
        "web accepts tcp 443 from 10.0.0.0/8 except 10.1.0.0/16, 192.168.0.0/16, fd00::/8, 172.16.0.0/12\n",
    );
    let sources: Vec<Value> = object(&c, "web")["spec"]["ingress"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["source"].clone())
        .collect();
    assert_eq!(
        sources,
        [
            json!({"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"]}),
            json!({"nets": ["192.168.0.0/16", "172.16.0.0/12"]}),
            json!({"nets": ["fd00::/8"]}),
        ]
    );
}

#[test]
fn ports_ranges_named_ports_and_protocols() {
    let c = calico("web accepts tcp 80, 8000-8100, http and udp and sctp 2905 from api\n");
    let rules = bare(&object(&c, "web")["spec"]["ingress"]);
    let ports: Vec<(Value, Value)> = rules
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| (r["protocol"].clone(), r["destination"].clone()))
        .collect();
    assert_eq!(
        ports,
        [
            (json!("TCP"), json!({"ports": [80, "8000:8100", "http"]})),
            (json!("UDP"), Value::Null),
            (json!("SCTP"), json!({"ports": [2905]})),
        ]
    );
    let c = calico("web accepts from api\n");
    let rule = &bare(&object(&c, "web")["spec"]["ingress"])[0];
    assert!(rule.get("protocol").is_none() && rule.get("destination").is_none(), "every port: {rule}");
}

#[test]
fn at_most_fifty_ports_per_rule() {
    let ports: Vec<String> = (1000..1060).map(|p| p.to_string()).collect();
    let c = calico(&format!("web accepts tcp {} from api\n", ports.join(", ")));
    let rules = object(&c, "web")["spec"]["ingress"].clone();
    let sizes: Vec<usize> = rules
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["destination"]["ports"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [50, 10]);
}

#[test]
fn kube_dns_anywhere_and_egress_shape() {
    let c = calico("web connects to kube-dns\nweb accepts from anywhere\n");
    let web = object(&c, "web")["spec"].clone();
    assert_eq!(
        bare(&web["egress"]),
        json!([
            {"action": "Allow", "protocol": "TCP", "destination": {
                "selector": "k8s-app == 'kube-dns'", "namespaceSelector": "projectcalico.org/name == 'kube-system'", "ports": [53]}},
            {"action": "Allow", "protocol": "UDP", "destination": {
                "selector": "k8s-app == 'kube-dns'", "namespaceSelector": "projectcalico.org/name == 'kube-system'", "ports": [53]}},
        ])
    );
    assert_eq!(bare(&web["ingress"]), json!([{"action": "Allow"}]), "anywhere: no source at all");
}

/// `api in prod`: the workload's selector and the set's namespaceSelector in one entity rule.
#[test]
fn a_workload_in_a_namespace_set_has_both_selectors_in_one_rule() {
    let c = calico("namespaces prod { env: prod }\nweb accepts tcp 80 from api in prod\n");
    assert_eq!(
        bare(&object(&c, "web")["spec"]["ingress"]),
        json!([{"action": "Allow", "protocol": "TCP",
                "source": {"selector": "app == 'api'", "namespaceSelector": "env == 'prod'"},
                "destination": {"ports": [80]}}])
    );
}

/// The API server is reached through its Service, `kubernetes` in `default`, as Calico's
/// service-policy guide does: a destination Service for egress (the Service's own ports: a rule
/// may not add any), a source Service for ingress (with the pod's ports as usual).
#[test]
fn kube_apiserver_is_the_kubernetes_service() {
    let c = calico("web connects to kube-apiserver\napi connects to kube-apiserver on tcp\ndb accepts tcp 8443 from kube-apiserver\n");
    let service = json!({"name": "kubernetes", "namespace": "default"});
    assert_eq!(
        bare(&object(&c, "web")["spec"]["egress"]),
        json!([{"action": "Allow", "destination": {"services": service}}])
    );
    assert_eq!(
        bare(&object(&c, "api")["spec"]["egress"]),
        json!([{"action": "Allow", "protocol": "TCP", "destination": {"services": service}}])
    );
    assert_eq!(
        bare(&object(&c, "db")["spec"]["ingress"]),
        json!([{"action": "Allow", "protocol": "TCP", "source": {"services": service}, "destination": {"ports": [8443]}}])
    );
}

#[test]
fn what_open_source_calico_cannot_express_is_an_error_naming_it() {
    for (src, what) in [
        ("web connects to \"api.example.com\" on tcp 443\n", "DNS names"),
        ("web accepts from world\n", "`world`"),
        ("web accepts from host\n", "`host`"),
        ("web connects to kube-apiserver on tcp 443\n", "ports on a rule to `kube-apiserver`"),
    ] {
        let c = calico(src);
        assert_eq!(error_codes(&c), ["E0301"], "{src}");
        let text = render(&c);
        assert!(text.contains("target `calico` cannot express") && text.contains(what), "{text}");
        assert!(text.contains("--target cilium"), "the help names a target that can: {text}");
        assert!(c.outputs.is_empty(), "nothing is emitted");
    }
}

#[test]
fn default_deny_per_namespace_and_cluster_wide() {
    let c = compile_str(
        "default deny egress\nnamespace shop { default deny ingress\n workload web { app: web }\n web accepts from anywhere }\n",
        &[Target::Calico],
        &[],
    );
    let gnp = c.outputs[0].1.iter().find(|o| o.kind == "GlobalNetworkPolicy").expect("GNP").body();
    assert_eq!(gnp["spec"]["namespaceSelector"], "has(projectcalico.org/name)", "pods, not host endpoints");
    assert_eq!(gnp["spec"]["selector"], "all()");
    assert_eq!(gnp["spec"]["types"], json!(["Egress"]));
    let np = object(&c, "default-deny-ingress");
    assert_eq!(np["metadata"]["namespace"], "shop");
    assert_eq!(np["spec"]["types"], json!(["Ingress"]));
    assert!(np["spec"].get("ingress").is_none());
}

#[test]
fn every_rule_carries_its_source_line_and_reason() {
    let c = calico("web accepts tcp 80 from api \"the shop front\"\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["metadata"],
        json!({"annotations": {"netpol/reason": "the shop front", "netpol/source": "test.netpol:5"}})
    );
}
