//! The API servers' own validation, beyond the schemas (`src/backend/validation.rs` lists every
//! rule): each check netpol makes so that no emitted policy is refused, or accepted by Cilium
//! and never enforced. Where Cilium's policy engine is on hand (`shared/oracles/cilium`, or
//! `$NETPOL_CILIUM_ORACLE`), its `Sanitize()` judges the same boundaries as netpol.

mod common;

use common::*;
use netpol::backend::{Target, Versions};

const HEAD: &str = "namespace shop\nworkload web { app: web }\nworkload api { app: api }\n";

fn error_codes(src: &str, targets: &[Target]) -> Vec<&'static str> {
    let c = compile_str(src, targets, &[]);
    codes(&c).into_iter().filter(|c| c.starts_with('E')).collect()
}

#[test]
fn an_exception_equal_to_its_network_is_e0111_on_every_target() {
    for peer in [
        "10.0.0.0/8 except 10.0.0.0/8",
        "fd00:10::/32 except fd00:10::/32",
        "10.0.0.1 except 10.0.0.1/32",
        "192.0.2.0/24 except (192.0.2.0/28, 192.0.2.0/24)",
        "0.0.0.0/0 except 0.0.0.0/0",
    ] {
        let src = format!("{HEAD}web connects to {peer} on tcp 443\n");
        for target in Target::ALL {
            assert_eq!(error_codes(&src, &[target]), ["E0111"], "{peer} on {}", target.name());
        }
        let c = compile_str(&src, &[], &[]);
        assert!(render(&c).contains("is the whole network"), "{}", render(&c));
    }
    // A strict subset is what Kubernetes asks for, and it compiles everywhere.
    let src = format!("{HEAD}web connects to 10.0.0.0/8 except (10.0.0.0/9, 10.128.0.0/9) on tcp 443\n");
    let c = compile_str(&src, &Target::ALL, &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    let kubernetes = &c.outputs.iter().find(|(t, _)| *t == Target::Kubernetes).expect("kubernetes").1;
    assert_eq!(server_side_errors(kubernetes), Vec::<String>::new());
}

#[test]
fn an_ipv4_mapped_ipv6_address_is_e0004() {
    for (peer, ipv4) in [
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("2001:db8::/32 except ::ffff:10.0.0.0/104", "10.0.0.0/8"),
    ] {
        let src = format!("{HEAD}web connects to {peer} on tcp 443\n");
        let c = compile_str(&src, &Target::ALL, &[]);
        assert_eq!(codes(&c), ["E0004"], "{peer}\n{}", render(&c));
        assert!(render(&c).contains(&format!("write the IPv4 network `{ipv4}`")), "{}", render(&c));
    }
    // Through a parameter: not a valid `cidr` value.
    let src = format!("param office: cidr = 203.0.113.0/24\n{HEAD}web connects to office on tcp 443\n");
    let c = compile_str(&src, &[], &[("office", "::ffff:203.0.113.0/120")]);
    assert_eq!(codes(&c), ["E0107"], "{}", render(&c));
    // Other IPv6 addresses with an IPv4 tail are plain IPv6 to every reader.
    let src =
        format!("{HEAD}web connects to 64:ff9b::/96, ::10.0.0.1 on tcp 443\nweb connects to kube-dns\n");
    let c = compile_str(&src, &Target::ALL, &[]);
    assert!(!c.has_errors(), "{}", render(&c));
}

/// The first object named `name` of `target`'s output.
fn emitted(c: &netpol::driver::Compilation, target: Target, name: &str) -> serde_json::Value {
    let objects = &c.outputs.iter().find(|(t, _)| *t == target).expect("target compiled").1;
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no object {name}")).body()
}

#[test]
fn annotations_over_256_kib_are_e0304_on_every_target() {
    let limit = netpol::backend::validation::MAX_ANNOTATIONS;
    assert_eq!(limit, 262_144, "TotalAnnotationSizeLimitB");
    let program =
        |reason_len: usize| format!("{HEAD}web accepts tcp 80 from api \"{}\"\n", "r".repeat(reason_len));
    for target in Target::ALL {
        // The reason alone is over the limit.
        assert_eq!(error_codes(&program(limit), &[target]), ["E0304"], "{}", target.name());
        // Just under it, the policy carries it, and its annotations fit.
        let c = compile_str(&program(limit - 1024), &[target], &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        let body = emitted(&c, target, "web");
        let mut sizes = vec![annotation_bytes(&body["metadata"]["annotations"])];
        for rule in body["spec"]["ingress"].as_array().into_iter().flatten() {
            sizes.push(annotation_bytes(&rule["metadata"]["annotations"]));
        }
        assert!(sizes.iter().any(|s| *s > limit - 1024), "the reason is kept: {sizes:?}");
        assert!(sizes.iter().all(|s| *s <= limit), "{sizes:?}");
    }
    // Many rules on one workload add up on Kubernetes and Cilium, whose policy notes a line
    // per rule; Calico keeps the notes on each rule.
    let reason = "r".repeat(1000);
    let many: String = (1..=300).map(|p| format!("web accepts tcp {p} from api \"{reason}\"\n")).collect();
    let src = format!("{HEAD}{many}");
    assert_eq!(error_codes(&src, &[Target::Kubernetes]), ["E0304"]);
    assert_eq!(error_codes(&src, &[Target::Cilium]), ["E0304"]);
    assert_eq!(error_codes(&src, &[Target::Calico]), Vec::<&str>::new());
}

fn annotation_bytes(annotations: &serde_json::Value) -> usize {
    annotations.as_object().into_iter().flatten().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum()
}

#[test]
fn a_calico_policy_holds_at_most_1024_rules_per_direction() {
    let program = |n: usize, deny: bool| {
        let mut src = String::from("namespace shop\nworkload web { app: web }\n");
        for i in 0..n {
            src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
        }
        let peers: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let verb = if deny { "refuses" } else { "accepts" };
        src.push_str(&format!("web {verb} tcp 80 from {}\n", peers.join(", ")));
        src
    };
    for deny in [false, true] {
        let c = compile_str(&program(1024, deny), &[Target::Calico], &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        let name = if deny { "netpol-deny.web" } else { "web" };
        let rules = emitted(&c, Target::Calico, name)["spec"]["ingress"].as_array().expect("ingress").len();
        assert_eq!(rules, 1024);
        let c = compile_str(&program(1025, deny), &[Target::Calico], &[]);
        assert_eq!(codes(&c), ["E0304"], "{}", render(&c));
        assert!(render(&c).contains("1025 ingress rules"), "{}", render(&c));
    }
    // Kubernetes and Cilium keep the peers of one statement in one rule.
    let c = compile_str(&program(1025, false), &[Target::Kubernetes, Target::Cilium], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
}

/// Label keys at and just past what Cilium's `EndpointSelector.Sanitize` takes: a pod label
/// key is validated as `k8s.<key>`, a namespace label key as
/// `k8s.io.cilium.k8s.namespace.labels.<key>`, each a Kubernetes qualified name.
fn cilium_key_cases() -> Vec<(String, bool)> {
    let name = |n: usize| "k".repeat(n);
    // A DNS-subdomain prefix of `n` characters: a dot after every 49 letters.
    let prefix = |n: usize| {
        let p: String = (0..n).map(|i| if i % 50 == 49 && i + 1 < n { '.' } else { 'p' }).collect();
        assert!(!p.ends_with('.') && p.split('.').all(|l| (1..=63).contains(&l.len())));
        p
    };
    let pod = |key: &str| format!("workload long {{ {key}: x }}\nlong accepts tcp 80 from web\n");
    let ns = |key: &str| format!("namespaces long {{ {key}: x }}\nweb accepts tcp 80 from long\n");
    vec![
        (pod(&name(59)), true),
        (pod(&name(60)), false),
        (pod(&format!("{}/app", prefix(249))), true),
        (pod(&format!("{}/app", prefix(250))), false),
        (ns(&name(28)), true),
        (ns(&name(29)), false),
        (ns(&format!("{}/team", prefix(218))), true),
        (ns(&format!("{}/team", prefix(219))), false),
    ]
}

#[test]
fn cilium_label_keys_fit_its_selector_validation() {
    for (rules, fits) in cilium_key_cases() {
        let src = format!("{HEAD}{rules}");
        assert!(
            error_codes(&src, &[Target::Kubernetes, Target::Calico]).is_empty(),
            "valid Kubernetes keys: {rules}"
        );
        let expected: Vec<&str> = if fits { vec![] } else { vec!["E0304"] };
        assert_eq!(error_codes(&src, &[Target::Cilium]), expected, "{rules}");
    }
}

/// Cilium's own `Sanitize()` accepts exactly the policies netpol emits for these keys, and
/// refuses the ones it would emit for the keys netpol stops at.
#[test]
fn cilium_itself_agrees_on_the_label_key_limits() {
    let Some(oracle) = cilium_oracle("check the limits against Cilium") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    for (rules, fits) in cilium_key_cases() {
        // The same program with every key cut to one that fits, then the key put back in the
        // emitted YAML: the policy netpol would write if it did not stop.
        let src = format!("{HEAD}{rules}");
        let long_key =
            rules.split_once("{ ").and_then(|(_, r)| r.split_once(':')).expect("key").0.to_string();
        let short = src.replace(&long_key, "placeholder");
        let c = compile_with(&short, &[Target::Cilium], &[], Versions::DEFAULT);
        assert!(!c.has_errors(), "{}", render(&c));
        let yaml: String = c.outputs[0]
            .1
            .iter()
            .map(|o| format!("---\n{}", o.yaml.replace("placeholder", &long_key)))
            .collect();
        let path = dir.path().join("policies.yaml");
        std::fs::write(&path, yaml).expect("write");
        let out = std::process::Command::new(&oracle)
            .arg("-policies")
            .arg(&path)
            .arg("-check")
            .output()
            .expect("run cilium-oracle");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!stderr.contains("REJECTED"), fits, "{rules}\n{stderr}");
        assert_eq!(error_codes(&src, &[Target::Cilium]).is_empty(), fits, "{rules}");
    }
}

/// Every code the table in `src/backend/validation.rs` names has a page, so the table cannot
/// point at a check that does not exist.
#[test]
fn the_validation_table_names_real_codes() {
    let text = std::fs::read_to_string(root().join("src/backend/validation.rs")).expect("validation.rs");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("//! | ") && !l.contains("---")).collect();
    assert!(rows.len() > 40, "the table has {} rows", rows.len());
    let mut named = 0;
    for row in &rows {
        for word in row.split(|c: char| !c.is_ascii_alphanumeric()) {
            if word.len() == 5 && word.starts_with('E') && word[1..].chars().all(|c| c.is_ascii_digit()) {
                assert!(netpol::explain::page(word).is_some(), "{word} in the table has no page");
                named += 1;
            }
        }
    }
    assert!(named > 30);
}
