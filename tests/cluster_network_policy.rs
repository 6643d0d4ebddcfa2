//! `--target kubernetes-cnp`: NetworkPolicy for allows, ClusterNetworkPolicy
//! (`policy.networking.k8s.io/v1alpha2`) for deny rules, the cluster-wide default deny of
//! egress and DNS-name accepts. Each trap of the API has a test here: ingress peers are pods
//! and namespaces only; `networks` matches pod addresses; priorities are unique; the
//! per-object limits are met by splitting; `domainNames` is experimental and Accept-only. The
//! objects validate against the v0.2.0 CRDs (standard and experimental channels) and the CEL
//! rules, and what they allow is checked against the source in `tests/properties.rs` and
//! below, through the engine's reading of both tiers.

mod common;

use common::*;
use netpol::backend::{CnpFeatures, Target, Versions};
use netpol::driver::Compilation;
use serde_json::Value;

const T: Target = Target::KubernetesCnp;

const PREAMBLE: &str =
    "namespace shop\nworkload web { app: web }\nworkload api { app: api }\nworkload db { app: db }\n";

fn cnp(src: &str) -> Compilation {
    compile_str(&format!("{PREAMBLE}{src}\n"), &[T], &[])
}

fn with_domain_names(src: &str) -> Compilation {
    let versions =
        Versions { cnp: CnpFeatures { domain_names: true, ..CnpFeatures::STANDARD }, ..Versions::DEFAULT };
    compile_with(&format!("{PREAMBLE}{src}\n"), &[T], &[], versions)
}

/// The emitted objects, read back from their YAML, after checking every one against its
/// schema: NetworkPolicies against Kubernetes' own, ClusterNetworkPolicies against both
/// channels' CRDs (only the experimental one when `experimental`), the CEL rules, and unique
/// priorities.
fn checked(c: &Compilation, experimental: bool) -> Vec<Value> {
    assert!(!c.has_errors(), "{}", render(c));
    let objects = &c.outputs[0].1;
    let bodies: Vec<Value> = objects.iter().map(|o| o.body()).collect();
    assert!(bodies.iter().all(|b| !b.is_null()), "every document reads alike under YAML 1.1 and 1.2");
    let (cnps, nps): (Vec<Value>, Vec<Value>) =
        bodies.iter().cloned().partition(|b| b["kind"] == "ClusterNetworkPolicy");
    if let Some(v) = kubernetes_validator() {
        let errors = value_schema_errors(&v, &nps);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let dir = schemas_dir().expect("schemas");
    let channel = |c: &str| {
        crd_validator(&dir.join(format!(
            "kubernetes/network-policy-api/v0.2.0/{c}/policy.networking.k8s.io_clusternetworkpolicies.yaml"
        )))
    };
    let experimental_crd = channel("experimental");
    for b in &cnps {
        let errors: Vec<String> =
            experimental_crd.iter_errors(b).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", b["metadata"]["name"]);
        if !experimental {
            assert!(channel("standard").is_valid(b), "{} fits the standard channel", b["metadata"]["name"]);
        }
        let errors = cnp_semantic_errors(b);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let clashes = cnp_priority_clashes(&cnps);
    assert!(clashes.is_empty(), "{clashes:?}");
    bodies
}

fn named<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects.iter().find(|o| o["metadata"]["name"] == name).unwrap_or_else(|| {
        panic!(
            "no object {name} among {:?}",
            objects.iter().map(|o| &o["metadata"]["name"]).collect::<Vec<_>>()
        )
    })
}

fn errors_of(c: &Compilation) -> Vec<(&'static str, String)> {
    c.diagnostics.iter().filter(|d| d.is_error()).map(|d| (d.code, d.message.clone())).collect()
}

#[test]
fn denies_become_admin_tier_denies_and_allows_stay_networkpolicy() {
    let c = cnp("db accepts tcp 5432 from api\ndb refuses tcp 5432 from web \"never from the web tier\"\n\
                 api connects to db on tcp 5432\napi never connects to web on tcp 22");
    let objects = checked(&c, false);
    let deny = named(&objects, "shop.db.deny");
    assert_eq!(deny["spec"]["tier"], "Admin");
    assert_eq!(deny["spec"]["subject"]["pods"]["podSelector"]["matchLabels"]["app"], "db");
    assert_eq!(
        deny["spec"]["subject"]["pods"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "shop"
    );
    let rule = &deny["spec"]["ingress"][0];
    assert_eq!(rule["action"], "Deny");
    assert_eq!(rule["from"][0]["pods"]["podSelector"]["matchLabels"]["app"], "web");
    assert_eq!(rule["protocols"][0]["tcp"]["destinationPort"]["number"], 5432);
    assert!(deny["metadata"]["annotations"]["netpol/rules"]
        .as_str()
        .unwrap()
        .contains("never from the web tier"));
    let api = named(&objects, "shop.api.deny");
    assert_eq!(api["spec"]["egress"][0]["to"][0]["pods"]["podSelector"]["matchLabels"]["app"], "web");
    // The allows are NetworkPolicy, with no trace of the denies.
    let np = named(&objects, "db");
    assert_eq!(np["kind"], "NetworkPolicy");
    assert_eq!(np["spec"]["ingress"].as_array().map(Vec::len), Some(1));
    assert_eq!(np["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app"], "api");
    // A deny alone never isolates: `web` has no NetworkPolicy.
    assert!(objects.iter().all(|o| o["metadata"]["name"] != "web"));
}

/// Trap 1: ingress peers are namespaces or pods; a deny from an address cannot be written.
#[test]
fn ingress_denies_from_addresses_are_refused() {
    for peer in ["10.0.0.0/8", "world", "anywhere", "host", "kube-apiserver"] {
        let c = cnp(&format!("db refuses tcp 5432 from {peer}"));
        let errors = errors_of(&c);
        assert_eq!(errors.len(), 1, "{peer}: {}", render(&c));
        assert_eq!(errors[0].0, "E0301", "{peer}");
        assert!(errors[0].1.contains("kubernetes-cnp"), "{peer}: {}", errors[0].1);
        assert!(render(&c).contains("ingress peers are namespaces and pods only"), "{peer}: {}", render(&c));
        assert!(c.outputs.iter().all(|(_, o)| o.is_empty()), "{peer}: a failed compile emits nothing");
    }
    // The same peers on egress, except the ones with no address of their own.
    for (peer, ok) in [("10.0.0.0/8", true), ("anywhere", true), ("world", false), ("host", false)] {
        let c = cnp(&format!("db never connects to {peer}"));
        assert_eq!(!c.has_errors(), ok, "{peer}: {}", render(&c));
    }
}

/// Trap 2: `networks` matches pod addresses too, so a deny to a network comes after a `Pass` of
/// every pod, in a policy after every deny to pods, and exceptions are subtracted.
#[test]
fn a_deny_to_a_network_never_cuts_traffic_to_pods() {
    let c = cnp("api connects to db on tcp 5432\ndb accepts tcp 5432 from api\n\
                 api never connects to 10.0.0.0/8 except 10.1.0.0/16\napi never connects to web on tcp 80");
    let objects = checked(&c, false);
    let networks = named(&objects, "shop.api.deny-networks");
    let egress = networks["spec"]["egress"].as_array().expect("egress");
    assert_eq!(egress[0]["action"], "Pass");
    assert_eq!(egress[0]["to"], serde_json::json!([{"namespaces": {}}]));
    assert!(egress[0].get("protocols").is_none(), "every port of every pod passes");
    assert_eq!(egress[1]["action"], "Deny");
    let blocks: Vec<&str> =
        egress[1]["to"][0]["networks"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(blocks.len(), 8, "{blocks:?}");
    assert!(!blocks.iter().any(|b| b.starts_with("10.1.")), "{blocks:?}");
    // The Pass skips the rest of the Admin tier, so every deny to pods comes first.
    let pods = named(&objects, "shop.api.deny");
    assert!(pods["spec"]["priority"].as_u64() < networks["spec"]["priority"].as_u64());
    // Read back, traffic to pods is certainly allowed where the source leaves it open (whether
    // the network holds the pods' addresses): the Pass decides before any network can.
    use netpol::analysis::matrix::Rows;
    use netpol::analysis::reach::SourceSemantics;
    use netpol::analysis::universe::Universe;
    use netpol::ir::WorkloadId;
    let p = c.program.as_ref().expect("program");
    let u = Universe::new(p);
    let (api, db) = (u.workload(WorkloadId(1)), u.workload(WorkloadId(2)));
    let read = netpol::analysis::targets::read(T, &c.outputs[0].1, &u);
    let target = Rows::build(&*read.semantics, &u).cell(&u, api, db);
    let source = Rows::build(&SourceSemantics::new(p, &u), &u).cell(&u, api, db);
    assert!(source.certain.is_empty() && !source.possible.is_empty(), "{source:?}");
    assert!(!target.certain.is_empty(), "the target cuts api -> db: {target:?}");
    // `anywhere` is every address and every pod, so it needs no Pass.
    let c = cnp("api never connects to anywhere on tcp 25");
    let objects = checked(&c, false);
    let deny = named(&objects, "shop.api.deny");
    assert_eq!(deny["spec"]["egress"][0]["to"][0], serde_json::json!({"namespaces": {}}));
    assert_eq!(deny["spec"]["egress"][0]["to"][1]["networks"], serde_json::json!(["0.0.0.0/0", "::/0"]));
}

/// Trap 3: two policies of one tier and priority matching one connection are undefined, so
/// every policy has its own priority, in an order that does not depend on the source's order.
#[test]
fn priorities_are_unique_and_follow_namespace_and_workload_names() {
    let mut src = String::new();
    for i in (0..40).rev() {
        src.push_str(&format!(
            "workload w{i:02} {{ app: w{i:02} }}\nw{i:02} never connects to db on tcp 22\n"
        ));
        src.push_str(&format!("w{i:02} never connects to 192.0.2.{i}/32\n"));
    }
    let objects = checked(&cnp(&src), false);
    let mut admin: Vec<(u64, String)> = objects
        .iter()
        .filter(|o| o["spec"]["tier"] == "Admin")
        .map(|o| {
            (o["spec"]["priority"].as_u64().unwrap(), o["metadata"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    admin.sort();
    assert_eq!(admin.len(), 80);
    assert_eq!(admin[0], (0, "shop.w00.deny".to_string()));
    assert_eq!(admin[39], (39, "shop.w39.deny".to_string()));
    assert_eq!(admin[40], (40, "shop.w00.deny-networks".to_string()));
    assert_eq!(admin[79], (79, "shop.w39.deny-networks".to_string()));
}

#[test]
fn more_policies_than_priorities_is_an_error() {
    let mut src = String::new();
    for i in 0..1002 {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\nw{i} never connects to db on tcp 22\n"));
    }
    let c = cnp(&src);
    let errors = errors_of(&c);
    assert!(!errors.is_empty() && errors.iter().all(|e| e.0 == "E0304"), "{errors:?}");
    assert!(errors[0].1.contains("would be 1001, past the Admin tier's last, 1000"), "{}", errors[0].1);
}

/// `--cnp-first-priority` moves netpol's policies clear of the cluster's other ones, in both
/// tiers, and the range still ends at 1000.
#[test]
fn the_first_priority_is_the_users() {
    let mut src = String::from("default deny egress\nnamespace shop\nworkload db { app: db }\n");
    for i in 0..20 {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\nw{i} never connects to db on tcp 22\n"));
    }
    let at = |first: u16| {
        let versions = Versions {
            cnp: CnpFeatures { first_priority: first, ..CnpFeatures::STANDARD },
            ..Versions::DEFAULT
        };
        compile_with(&src, &[T], &[], versions)
    };
    let objects = checked(&at(500), false);
    let mut admin: Vec<u64> = objects
        .iter()
        .filter(|o| o["spec"]["tier"] == "Admin")
        .map(|o| o["spec"]["priority"].as_u64().unwrap())
        .collect();
    admin.sort_unstable();
    assert_eq!(admin, (500..520).collect::<Vec<u64>>());
    assert_eq!(named(&objects, "default-deny-egress")["spec"]["priority"], 500);
    let errors = errors_of(&at(990));
    assert!(!errors.is_empty() && errors.iter().all(|e| e.0 == "E0304"), "{errors:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.netpol", &src);
    let out =
        netpol(&["compile", "a.netpol", "-t", "kubernetes-cnp", "--cnp-first-priority", "1001"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out =
        netpol(&["compile", "a.netpol", "-t", "kubernetes-cnp", "--cnp-first-priority", "700"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("priority: 700"), "{}", text(&out.stdout));
}

/// Trap 4: at most 25 rules per direction, peers per rule, protocols per rule and networks per
/// peer; longer lists are split, and every peer, port and network is still there.
#[test]
fn the_per_object_limits_are_met_by_splitting() {
    let mut src = String::new();
    let workloads: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
    for w in &workloads {
        src.push_str(&format!("workload {w} {{ app: {w} }}\n"));
    }
    let ports: Vec<String> = (0..30).map(|i| (1000 + 2 * i).to_string()).collect();
    src.push_str(&format!("db refuses tcp {} from {}\n", ports.join(", "), workloads.join(", ")));
    for i in 0..60 {
        src.push_str(&format!("api never connects to web on tcp {}\n", 2000 + i));
    }
    let nets: Vec<String> = (0..60).map(|i| format!("198.51.{i}.0/24")).collect();
    src.push_str(&format!("web never connects to {}\n", nets.join(", ")));
    let objects = checked(&cnp(&src), false);

    let db = named(&objects, "shop.db.deny");
    let rules = db["spec"]["ingress"].as_array().unwrap();
    assert_eq!(rules.len(), 4, "30 peers × 30 ports: two chunks of each");
    let mut pairs = std::collections::BTreeSet::new();
    for r in rules {
        for p in r["from"].as_array().unwrap() {
            for q in r["protocols"].as_array().unwrap() {
                pairs.insert((
                    p["pods"]["podSelector"]["matchLabels"]["app"].as_str().unwrap().to_string(),
                    q["tcp"]["destinationPort"]["number"].as_u64().unwrap(),
                ));
            }
        }
    }
    assert_eq!(pairs.len(), 30 * 30, "every peer with every port");

    let parts: Vec<&Value> =
        ["shop.api.deny", "shop.api.deny-2", "shop.api.deny-3"].iter().map(|n| named(&objects, n)).collect();
    let counts: Vec<usize> = parts.iter().map(|o| o["spec"]["egress"].as_array().unwrap().len()).collect();
    assert_eq!(counts, [25, 25, 10]);

    let web = named(&objects, "shop.web.deny-networks");
    let deny = &web["spec"]["egress"][1];
    let peers = deny["to"].as_array().unwrap();
    assert_eq!(
        peers.iter().map(|p| p["networks"].as_array().unwrap().len()).collect::<Vec<_>>(),
        [25, 25, 10]
    );
}

/// Trap 5: `domainNames` is experimental and Accept-only: an allow to a DNS name needs the
/// user to say the implementation has it; a deny to one, or a pattern, cannot be written.
#[test]
fn domain_names_are_experimental_and_accept_only() {
    let src = "api connects to \"api.example.com\" on tcp 443\napi connects to kube-dns\n\
               api never connects to 192.0.2.0/24";
    let errors = errors_of(&cnp(src));
    assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), ["E0303"], "{errors:?}");
    assert!(errors[0].1.contains("domainNames"), "{}", errors[0].1);

    let c = with_domain_names(src);
    let objects = checked(&c, true);
    let domains = named(&objects, "shop.api.domains");
    let rule = &domains["spec"]["egress"][0];
    assert_eq!(rule["action"], "Accept");
    assert_eq!(rule["to"][0]["domainNames"], serde_json::json!(["api.example.com"]));
    // After every deny: a DNS name never undoes one.
    let deny = named(&objects, "shop.api.deny-networks");
    assert!(deny["spec"]["priority"].as_u64() < domains["spec"]["priority"].as_u64());
    // The standard channel has no `domainNames`.
    let dir = schemas_dir().unwrap();
    let standard = crd_validator(&dir.join(
        "kubernetes/network-policy-api/v0.2.0/standard/policy.networking.k8s.io_clusternetworkpolicies.yaml",
    ));
    assert!(!standard.is_valid(domains), "the standard channel refuses domainNames");
    // The NetworkPolicy keeps the other allows and no empty peer list (which would allow all).
    let np = named(&objects, "api");
    let egress = np["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 1, "{egress:?}");
    assert_eq!(egress[0]["to"][0]["podSelector"]["matchLabels"]["k8s-app"], "kube-dns");

    for (src, code) in [
        ("api never connects to \"ads.example.com\"", "E0301"),
        ("api connects to \"*.example.com\" on tcp 443\napi connects to kube-dns", "E0301"),
    ] {
        let errors = errors_of(&with_domain_names(src));
        assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), [code], "{src}: {errors:?}");
    }
}

#[test]
fn named_ports_in_cluster_rules_are_refused() {
    let errors = errors_of(&cnp("db refuses tcp postgres from web"));
    assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), ["E0301"]);
    assert!(errors[0].1.contains("tcp postgres"), "{}", errors[0].1);
    // In a NetworkPolicy a named port is fine.
    assert!(!cnp("db accepts tcp postgres from web").has_errors());
}

/// A cluster-wide `default deny egress` is a Baseline policy that denies every destination;
/// a cluster-wide `default deny ingress` cannot be written (outside traffic would get in).
#[test]
fn cluster_wide_default_denies() {
    let c = compile_str(
        &format!("default deny egress \"no egress by default\"\n{PREAMBLE}web connects to kube-dns\n"),
        &[T],
        &[],
    );
    let objects = checked(&c, false);
    let baseline = named(&objects, "default-deny-egress");
    assert_eq!(baseline["spec"]["tier"], "Baseline");
    assert_eq!(baseline["spec"]["subject"], serde_json::json!({"namespaces": {}}));
    assert_eq!(
        baseline["spec"]["egress"],
        serde_json::json!([{"action": "Deny", "to": [{"namespaces": {}}, {"networks": ["0.0.0.0/0", "::/0"]}]}])
    );
    assert!(baseline["spec"].get("ingress").is_none());
    let c = compile_str(&format!("default deny all\n{PREAMBLE}"), &[T], &[]);
    let errors = errors_of(&c);
    assert_eq!(errors.iter().map(|e| e.0).collect::<Vec<_>>(), ["E0301"]);
    assert!(errors[0].1.contains("cluster-wide default deny of ingress"), "{}", errors[0].1);
    // A namespace's default deny stays a NetworkPolicy.
    let objects = checked(&cnp("default deny all"), false);
    assert_eq!(named(&objects, "default-deny-ingress")["kind"], "NetworkPolicy");
}

/// Selector values YAML 1.1 reads as booleans or numbers are quoted, in ClusterNetworkPolicy
/// selectors as anywhere else.
#[test]
fn yaml_1_1_values_are_quoted() {
    let c = cnp("workload odd { on: yes, n: 0o17, d: 2024-01-02 }\nodd never connects to db on tcp 22\ndb refuses from odd");
    let objects = checked(&c, false);
    let deny = named(&objects, "shop.odd.deny");
    assert_eq!(deny["spec"]["subject"]["pods"]["podSelector"]["matchLabels"]["on"], "yes");
    assert_eq!(deny["spec"]["subject"]["pods"]["podSelector"]["matchLabels"]["n"], "0o17");
    let yaml = &c.outputs[0].1.iter().find(|o| o.name == "shop.odd.deny").unwrap().yaml;
    assert!(yaml.contains("'on': 'yes'") || yaml.contains("\"on\": \"yes\""), "{yaml}");
}

#[test]
fn the_command_line_compiles_for_kubernetes_cnp() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.netpol",
        &format!("{PREAMBLE}api connects to \"api.example.com\" on tcp 443\napi connects to kube-dns\n"),
    );
    let out = netpol(&["compile", "a.netpol", "--target", "kubernetes-cnp"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--cnp-feature domain-names"), "{}", text(&out.stderr));
    let out = netpol(
        &["compile", "a.netpol", "--target", "kubernetes-cnp", "--cnp-feature", "domain-names"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(yaml.contains("kind: ClusterNetworkPolicy") && yaml.contains("- api.example.com"), "{yaml}");
    // `all` stays the three CNI dialects.
    let out = netpol(&["compile", "a.netpol", "--target", "all"], dir.path());
    assert!(!text(&out.stdout).contains("ClusterNetworkPolicy"));
}

/// Generated programs of every construct `kubernetes-cnp` writes (deny rules to pods, namespaces,
/// sets, `cluster`, `kube-dns`, networks with exceptions and `anywhere`; allows of every kind
/// NetworkPolicy has; namespace and cluster-wide default denies of egress) compile, and the
/// engine's reading of both tiers of the output allows exactly what the source does.
mod generated {
    use super::common::gen::{ports, selector, NAMESPACES};
    use super::*;
    use netpol::analysis::matrix::Rows;
    use netpol::analysis::reach::SourceSemantics;
    use netpol::analysis::targets;
    use netpol::analysis::universe::Universe;
    use netpol::analysis::verify;
    use proptest::prelude::*;

    fn pod_peer(n: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (0..n, 0..2usize).prop_map(|(w, k)| format!("{}/w{w}", NAMESPACES[k])),
            1 => (0..2usize).prop_map(|k| format!("namespace {}", NAMESPACES[k])),
            1 => (0..2usize).prop_map(|k| format!("all-{}", NAMESPACES[k])),
            1 => Just("team-ns".to_string()),
            1 => (0..n).prop_map(|w| format!("w{w} in team-ns")),
            1 => Just("cluster".to_string()),
            1 => Just("kube-dns".to_string()),
        ]
    }

    fn net_peer() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("10.0.0.0/8 except 10.1.0.0/16".to_string()),
            Just("10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16)".to_string()),
            Just("192.168.1.0/24".to_string()),
            Just("fd00:10::/32 except fd00:10:99::/48".to_string()),
            Just("anywhere".to_string()),
        ]
    }

    fn rule(n: usize) -> impl Strategy<Value = String> {
        let peers = |net: bool| {
            let one = if net {
                prop_oneof![3 => pod_peer(n), 2 => net_peer()].boxed()
            } else {
                pod_peer(n).boxed()
            };
            prop::collection::vec(one, 1..4).prop_map(|p| p.join(", "))
        };
        (0..n, 0..4u8, peers(true), peers(false), ports()).prop_map(|(w, kind, any, pods, ports)| {
            let numbered = if ports.contains("http") { String::new() } else { ports.clone() };
            let words = ports.trim_start().trim_start_matches("on ").to_string();
            let numbered_words = numbered.trim_start().trim_start_matches("on ").to_string();
            match kind {
                0 => format!("w{w} accepts {words} from {any}").replace("accepts  from", "accepts from"),
                1 => format!("w{w} connects to {any}{ports}"),
                2 => format!("w{w} refuses {numbered_words} from {pods}")
                    .replace("refuses  from", "refuses from"),
                _ => format!("w{w} never connects to {any}{numbered}"),
            }
        })
    }

    fn program() -> impl Strategy<Value = String> {
        (2..4usize)
            .prop_flat_map(|n| {
                (
                    Just(n),
                    prop::collection::vec(selector(), n * 2),
                    prop::collection::vec(rule(n), 1..8),
                    prop::collection::vec(rule(n), 0..6),
                    prop::collection::vec(0..5u8, 3),
                )
            })
            .prop_map(|(n, selectors, rules_a, rules_b, extras)| {
                let mut text = String::new();
                if extras[2] < 2 {
                    text.push_str("default deny egress\n");
                }
                text.push_str("namespaces team-ns { kubernetes.io/metadata.name in (b, other) }\n");
                for (k, ns) in NAMESPACES.iter().enumerate() {
                    text.push_str(&format!("namespace {ns} {{\n"));
                    for w in 0..n {
                        text.push_str(&format!("  workload w{w} {{ {} }}\n", selectors[k * n + w]));
                    }
                    let members: Vec<String> = (0..n).map(|w| format!("w{w}")).collect();
                    text.push_str(&format!("  group all-{ns} = {}\n", members.join(", ")));
                    for r in if k == 0 { &rules_a } else { &rules_b } {
                        text.push_str(&format!("  {r}\n"));
                    }
                    match extras[k] {
                        0 => text.push_str("  default deny ingress\n"),
                        1 => text.push_str("  default deny egress\n"),
                        2 => text.push_str("  w0 accepts nothing\n"),
                        _ => {}
                    }
                    text.push_str("}\n");
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn kubernetes_cnp_means_what_the_source_means(src in program()) {
            // Contradictions (`accepts nothing` beside an allow) are the source's own errors.
            prop_assume!(!compile_str(&src, &[], &[]).has_errors());
            let c = compile_str(&src, &[T], &[]);
            prop_assert!(!c.has_errors(), "{}\n{src}", render(&c));
            let p = c.program.as_ref().expect("program");
            let u = Universe::new(p);
            let source = Rows::build(&SourceSemantics::new(p, &u), &u);
            let objects: Vec<Value> = c.outputs[0].1.iter().map(|o| o.body()).collect();
            let reading = targets::read(T, &objects, &u);
            prop_assert!(reading.problems.is_empty(), "{:?}\n{src}", reading.problems);
            let rows = Rows::build(&*reading.semantics, &u);
            let diffs = verify::compare(&u, &source, &rows);
            prop_assert!(
                diffs.is_empty(),
                "{}\n---- program\n{src}",
                diffs.iter().take(5).map(|d| d.describe(&u, T.name())).collect::<Vec<_>>().join("\n")
            );
            let clashes = cnp_priority_clashes(&objects);
            prop_assert!(clashes.is_empty(), "{clashes:?}");
        }
    }
}

/// A program compiled for `kubernetes-cnp` imports back to the same statements, proved on
/// `kubernetes-cnp`; an Admin-tier Accept or Pass netpol did not write is a loss.
#[test]
fn compiled_cluster_network_policies_import_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        netpol(&["compile", "examples/cluster-guardrails.netpol", "--target", "kubernetes-cnp"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    write(dir.path(), "cluster.yaml", &text(&out.stdout));
    let out = netpol(&["import", "cluster.yaml"], dir.path());
    let (source, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("proved on Kubernetes with ClusterNetworkPolicy"), "{stderr}");
    for line in [
        "default deny egress",
        "ledger refuses from shell",
        "ledger never connects to 10.20.9.0/24",
        "ledger accepts tcp 8443 from namespace payments",
    ] {
        assert!(source.contains(line), "no `{line}` in\n{source}");
    }
    // Accepts to DNS names come back as allows; the proof compiles them with `domainNames`.
    write(
        dir.path(),
        "dns.netpol",
        &format!("{PREAMBLE}api connects to \"api.example.com\" on tcp 443\napi connects to kube-dns\n"),
    );
    let out = netpol(
        &["compile", "dns.netpol", "-t", "kubernetes-cnp", "--cnp-feature", "domain-names"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    write(dir.path(), "dns.yaml", &text(&out.stdout));
    let out = netpol(&["import", "dns.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("api connects to \"api.example.com\" on tcp 443"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("proved on Kubernetes with ClusterNetworkPolicy"),
        "{}",
        text(&out.stderr)
    );
    // Someone else's Admin-tier Accept decides before NetworkPolicy: no statement says that.
    write(
        dir.path(),
        "accept.yaml",
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: monitoring\n\
         spec:\n  tier: Admin\n  priority: 5\n  subject:\n    namespaces:\n      matchLabels:\n        \
         kubernetes.io/metadata.name: shop\n  ingress:\n  - action: Accept\n    from:\n    - namespaces:\n        \
         matchLabels:\n          kubernetes.io/metadata.name: monitoring\n",
    );
    let out = netpol(&["import", "accept.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E0702"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Admin-tier `Accept`"), "{}", text(&out.stderr));
}

/// `diff` reads both tiers: a deny added as a ClusterNetworkPolicy removes the connection,
/// whether the sides are programs read as `kubernetes-cnp` or the manifests themselves, and
/// names the deciding rule.
#[test]
fn diff_sees_a_deny_added_in_the_admin_tier() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old =
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\ndb accepts tcp 5432 from web\n";
    write(dir.path(), "old.netpol", old);
    write(dir.path(), "new.netpol", &format!("{old}db refuses tcp 5432 from web\n"));
    for side in ["netpol", "yaml"] {
        if side == "yaml" {
            for name in ["old", "new"] {
                let out = netpol(&["compile", &format!("{name}.netpol"), "-t", "kubernetes-cnp"], dir.path());
                write(dir.path(), &format!("{name}.yaml"), &text(&out.stdout));
            }
        }
        let mut args = vec!["diff".to_string(), format!("old.{side}"), format!("new.{side}")];
        if side == "netpol" {
            args.extend(["-t".to_string(), "kubernetes-cnp".to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = netpol(&args, dir.path());
        let report = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{side}: {report}{}", text(&out.stderr));
        assert!(report.contains("0 added, 1 removed"), "{side}: {report}");
        assert!(report.contains("ClusterNetworkPolicy shop.db.deny spec.ingress[0]"), "{side}: {report}");
    }
}
