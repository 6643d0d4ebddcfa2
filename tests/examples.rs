//! Every example compiles for every target (or fails with the error its header names for that
//! target), matches its snapshot, validates against the upstream schemas, and compiles
//! deterministically.

mod common;

use common::*;
use netpol::backend::Target;
use netpol::driver::{compile, Options};

fn compile_example(path: &str, target: Target) -> netpol::driver::Compilation {
    compile(&[path.to_string()], &DiskLoader, &Options { targets: vec![target], ..Options::default() })
}

#[test]
fn every_example_compiles_or_fails_as_declared() {
    let examples = examples();
    assert!(examples.len() >= 8, "expected the seed and construct examples, found {examples:?}");
    for path in examples {
        let text = std::fs::read_to_string(root().join(&path)).expect("read example");
        let name = path.trim_start_matches("examples/").trim_end_matches(".netpol").to_string();
        for target in Target::EVERY {
            let c = compile_example(&path, target);
            let t = target.name();
            match expected_error(&text, t) {
                Some(code) => {
                    assert!(c.has_errors(), "{path}: expected {code} for {t}, but it compiled");
                    assert!(
                        codes(&c).iter().all(|c| code.split(", ").any(|x| x == *c) || c.starts_with('W')),
                        "{path} ({t}): {:?}",
                        codes(&c)
                    );
                    insta::assert_snapshot!(format!("{name}.{t}.diagnostics"), render(&c));
                }
                None => {
                    assert!(!c.has_errors(), "{path} failed for {t}:\n{}", render(&c));
                    let yaml = netpol::yaml::stream(&c.outputs[0].1);
                    insta::assert_snapshot!(format!("{name}.{t}"), yaml);
                    if !c.diagnostics.is_empty() {
                        insta::assert_snapshot!(format!("{name}.warnings"), render(&c));
                    }
                }
            }
        }
    }
}

#[test]
fn construct_examples_have_no_warnings() {
    for path in examples() {
        if path.contains("event-streams") || path.contains("kyma-telemetry") {
            continue; // Seed transcriptions: their warnings point at the seed tables' own gaps.
        }
        let c = compile_example(&path, Target::Kubernetes);
        let warnings: Vec<_> = c.diagnostics.iter().filter(|d| !d.is_error()).map(|d| d.code).collect();
        assert!(warnings.is_empty(), "{path}: {warnings:?}\n{}", render(&c));
    }
}

#[test]
fn emitted_objects_validate_against_the_upstream_schema() {
    let Some(validator) = kubernetes_validator() else { return };
    let mut checked = 0;
    for path in examples() {
        let c = compile_example(&path, Target::Kubernetes);
        for (_, objects) in &c.outputs {
            let errors = schema_errors(&validator, objects);
            assert!(errors.is_empty(), "{path}: {errors:#?}");
            let errors = server_side_errors(objects);
            assert!(errors.is_empty(), "{path}: {errors:#?}");
            checked += objects.len();
        }
    }
    assert!(checked > 20, "only {checked} objects validated");
}

#[test]
fn custom_resources_validate_against_the_upstream_crds() {
    for target in [Target::Cilium, Target::Calico, Target::KubernetesCnp] {
        let Some(schemas) = CrdSchemas::for_target(target) else { return };
        let mut checked = 0;
        for path in examples() {
            let c = compile_example(&path, target);
            for (_, objects) in &c.outputs {
                let (objects, policies): (Vec<_>, Vec<_>) = objects
                    .iter()
                    .cloned()
                    .partition(|o| o.kind != "NetworkPolicy" || target != Target::KubernetesCnp);
                if let Some(validator) = kubernetes_validator() {
                    let errors = schema_errors(&validator, &policies);
                    assert!(errors.is_empty(), "{path} ({}): {errors:#?}", target.name());
                }
                let objects = &objects;
                let errors = schemas.object_errors(objects);
                assert!(errors.is_empty(), "{path} ({}): {errors:#?}", target.name());
                for o in objects {
                    let body = o.body();
                    let errors = match target {
                        Target::Cilium => cilium_semantic_errors(&body),
                        Target::KubernetesCnp => cnp_semantic_errors(&body),
                        _ => calico_semantic_errors(&body),
                    };
                    assert!(errors.is_empty(), "{path} ({}): {errors:#?}", target.name());
                }
                checked += objects.len() + policies.len();
            }
        }
        let least = if target == Target::KubernetesCnp { 4 } else { 20 };
        assert!(checked > least, "{}: only {checked} objects validated", target.name());
    }
}

#[test]
fn crd_validation_catches_broken_objects() {
    for target in [Target::Cilium, Target::Calico] {
        let Some(schemas) = CrdSchemas::for_target(target) else { return };
        let c = compile_example("examples/event-streams.netpol", target);
        let mut body = c.outputs[0].1[0].body();
        assert!(schemas.errors(std::slice::from_ref(&body)).is_empty(), "{}", target.name());
        let mut typo = body.clone();
        typo["spec"]["ingress"][0]["form"] = serde_json::json!([]);
        assert!(!schemas.errors(&[typo]).is_empty(), "{}: a typo'd field must fail", target.name());
        let mut kind = body.clone();
        kind["apiVersion"] = serde_json::json!("cilium.io/v1");
        kind["kind"] = serde_json::json!("NetworkPolicy2");
        assert!(!schemas.errors(&[kind]).is_empty(), "{}: a wrong kind must fail", target.name());
        match target {
            Target::Cilium => {
                body["spec"]["ingress"][0]["toPorts"][0]["ports"][0]["protocol"] = "ICMP".into()
            }
            _ => body["spec"]["ingress"][0]["action"] = "Accept".into(),
        }
        assert!(!schemas.errors(&[body]).is_empty(), "{}: a bad enum value must fail", target.name());
    }
}

#[test]
fn schema_validation_catches_a_broken_object() {
    let Some(validator) = kubernetes_validator() else { return };
    let c = compile_example("examples/event-streams.netpol", Target::Kubernetes);
    let mut body = c.outputs[0].1[0].body();
    assert!(value_schema_errors(&validator, std::slice::from_ref(&body)).is_empty());
    body["spec"]["ingress"][0]["form"] = serde_json::json!([]);
    assert!(
        !value_schema_errors(&validator, &[body]).is_empty(),
        "a typo'd field must fail the strict schema"
    );
}

#[test]
fn output_is_deterministic() {
    for path in examples() {
        for target in Target::EVERY {
            let a = compile_example(&path, target);
            let b = compile_example(&path, target);
            let text = |c: &netpol::driver::Compilation| {
                c.outputs.iter().map(|(_, o)| netpol::yaml::stream(o)).collect::<String>()
            };
            assert_eq!(text(&a), text(&b), "{path} ({})", target.name());
            assert_eq!(render(&a), render(&b), "{path} ({})", target.name());
        }
    }
}

#[test]
fn the_promised_sentence_is_in_the_seed_example_and_compiles() {
    let text = std::fs::read_to_string(root().join("examples/event-streams.netpol")).expect("read");
    assert!(text.lines().any(|l| l
        .trim_start()
        .starts_with("kafka accepts tcp 8084 from rest-api, producer, geo-replicator")));
    let c = compile_str(
        "namespace eventstreams\nworkload kafka { app: kafka }\nworkload rest-api { app: rest-api }\n\
         workload producer { app: producer }\nworkload geo-replicator { app: geo }\n\
         kafka accepts tcp 8084 from rest-api, producer, geo-replicator\n",
        &[Target::Kubernetes],
        &[],
    );
    assert!(!c.has_errors(), "{}", render(&c));
    let kafka = c.outputs[0].1.iter().find(|o| o.name == "kafka").expect("kafka policy").body();
    let kafka = &kafka["spec"];
    assert_eq!(kafka["policyTypes"], serde_json::json!(["Ingress"]));
    assert_eq!(kafka["ingress"][0]["from"].as_array().map(Vec::len), Some(3));
    assert_eq!(kafka["ingress"][0]["ports"], serde_json::json!([{"port": 8084, "protocol": "TCP"}]));
}
