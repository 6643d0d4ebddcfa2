//! Every example compiles for Kubernetes (or fails with the error its header names), matches
//! its snapshot, validates against the upstream schema, and compiles deterministically.

mod common;

use common::*;
use netpol::backend::Target;
use netpol::driver::{compile, Options};

fn compile_example(path: &str) -> netpol::driver::Compilation {
    compile(
        &[path.to_string()],
        &DiskLoader,
        &Options { overrides: Vec::new(), targets: vec![Target::Kubernetes], ..Options::default() },
    )
}

#[test]
fn every_example_compiles_or_fails_as_declared() {
    let examples = examples();
    assert!(examples.len() >= 8, "expected the seed and construct examples, found {examples:?}");
    for path in examples {
        let text = std::fs::read_to_string(root().join(&path)).expect("read example");
        let c = compile_example(&path);
        let name = path.trim_start_matches("examples/").trim_end_matches(".netpol").to_string();
        match expected_error(&text, "kubernetes") {
            Some(code) => {
                assert!(c.has_errors(), "{path}: expected {code}, but it compiled");
                assert!(
                    codes(&c).iter().all(|c| *c == code || c.starts_with('W')),
                    "{path}: {:?}",
                    codes(&c)
                );
                insta::assert_snapshot!(format!("{name}.kubernetes.diagnostics"), render(&c));
            }
            None => {
                assert!(!c.has_errors(), "{path} failed:\n{}", render(&c));
                let yaml = netpol::yaml::stream(&c.outputs[0].1);
                insta::assert_snapshot!(format!("{name}.kubernetes"), yaml);
                if !c.diagnostics.is_empty() {
                    insta::assert_snapshot!(format!("{name}.warnings"), render(&c));
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
        let c = compile_example(&path);
        let warnings: Vec<_> = c.diagnostics.iter().filter(|d| !d.is_error()).map(|d| d.code).collect();
        assert!(warnings.is_empty(), "{path}: {warnings:?}\n{}", render(&c));
    }
}

#[test]
fn emitted_objects_validate_against_the_upstream_schema() {
    let Some(validator) = kubernetes_validator() else { return };
    let mut checked = 0;
    for path in examples() {
        let c = compile_example(&path);
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
fn schema_validation_catches_a_broken_object() {
    let Some(validator) = kubernetes_validator() else { return };
    let c = compile_example("examples/event-streams.netpol");
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
        let a = compile_example(&path);
        let b = compile_example(&path);
        let text = |c: &netpol::driver::Compilation| {
            c.outputs.iter().map(|(_, o)| netpol::yaml::stream(o)).collect::<String>()
        };
        assert_eq!(text(&a), text(&b), "{path}");
        assert_eq!(render(&a), render(&b), "{path}");
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
