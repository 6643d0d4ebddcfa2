//! Calico's reading of the emitted manifests (`analysis::targets::calico`) means what the source
//! means (`analysis::reach`), side by side over the whole universe (`verify::compare`), for
//! every example that compiles for Calico and a few more constructs; and output broken on
//! purpose is caught.

mod common;

use common::*;
use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify;
use netpol::backend::Target;
use netpol::driver::{compile, Compilation, Options};
use netpol::ir::{Direction, Program};
use serde_json::Value;

fn bodies(c: &Compilation) -> Vec<Value> {
    assert_eq!(c.outputs.len(), 1);
    assert_eq!(c.outputs[0].0, Target::Calico);
    let out: Vec<Value> = c.outputs[0].1.iter().map(|o| o.body()).collect();
    assert!(out.iter().all(|v| !v.is_null()), "emitted YAML parses");
    out
}

/// What comparing the reading of `objects` with the source found.
struct Outcome {
    differences: Vec<String>,
    problems: Vec<String>,
    /// Pairs the reading certainly allows on some port.
    allowed: u64,
    /// Sides (point and direction) some policy of the reading polices.
    policed: usize,
}

fn compare(program: &Program, objects: &[Value]) -> Outcome {
    let u = Universe::new(program);
    let source = SourceSemantics::new(program, &u);
    let source_rows = Rows::build(&source, &u);
    let reading = targets::read(Target::Calico, objects, &u);
    let rows = Rows::build(&*reading.semantics, &u);
    let differences =
        verify::compare(&u, &source_rows, &rows).iter().map(|d| d.describe(&u, "calico")).collect();
    let policed = u
        .ids()
        .flat_map(|p| [Direction::Ingress, Direction::Egress].map(|d| reading.semantics.side(p, d)))
        .filter(|s| !s.is_open())
        .count();
    Outcome { differences, problems: reading.problems, allowed: rows.count(&u).1, policed }
}

fn report(what: &str, lines: &[String]) -> String {
    let mut s = format!("{} {what}:\n", lines.len());
    s.push_str(&lines.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
    if lines.len() > 40 {
        s.push_str(&format!("\n… and {} more", lines.len() - 40));
    }
    s
}

fn assert_same(label: &str, outcome: &Outcome) {
    assert!(outcome.problems.is_empty(), "{label}: {}", report("problems", &outcome.problems));
    assert!(outcome.differences.is_empty(), "{label}: {}", report("differences", &outcome.differences));
}

fn compile_file(path: &str, sets: &[(&str, &str)]) -> Compilation {
    let options = Options {
        targets: vec![Target::Calico],
        overrides: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Options::default()
    };
    let c = compile(&[path.to_string()], &DiskLoader, &options);
    assert!(!c.has_errors(), "{path}: {}", render(&c));
    c
}

fn emitted(c: &Compilation) -> (Vec<Value>, &Program) {
    (bodies(c), c.program.as_ref().expect("the checked program"))
}

#[test]
fn every_example_means_the_same_in_calico_as_in_the_source() {
    let all = examples();
    let mut compared = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(root().join(path)).expect("read example");
        if expected_error(&text, Target::Calico.name()).is_some() {
            continue;
        }
        let c = compile_file(path, &[]);
        let (objects, program) = emitted(&c);
        let outcome = compare(program, &objects);
        assert_same(path, &outcome);
        // Not vacuous: the reading polices some sides and allows some connections.
        assert!(outcome.policed > 0 && outcome.allowed > 0, "{path}: {} sides policed", outcome.policed);
        compared.push(path.clone());
    }
    assert!(compared.len() * 2 > all.len(), "only {compared:?} of {} examples compared", all.len());
}

#[test]
fn parameters_and_conditions_keep_the_same_meaning() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("examples/event-streams.netpol", &[("master-host", "192.168.7.0/24")]),
        ("examples/kyma-telemetry.netpol", &[("istio", "true")]),
        (
            "examples/params.netpol",
            &[("env", "prod"), ("mesh", "true"), ("office", "203.0.113.0/24"), ("api-port", "9443")],
        ),
    ];
    for (path, sets) in cases {
        let c = compile_file(path, sets);
        let (objects, program) = emitted(&c);
        assert_same(&format!("{path} {sets:?}"), &compare(program, &objects));
    }
}

/// Constructs the examples do not use (after the reference evaluators' own list).
#[test]
fn more_constructs_keep_the_same_meaning() {
    let programs = MORE_CONSTRUCTS;
    for src in programs {
        let c = compile_str(src, &[Target::Calico], &[]);
        assert!(!c.has_errors(), "{src}{}", render(&c));
        let (objects, program) = emitted(&c);
        assert_same(src, &compare(program, &objects));
    }
}

// ---------------------------------------------------------------------------------------------
// Broken output is caught: each mutation of correct output must make the comparison differ.

/// Asserts that the output is right as emitted and wrong once `mutate` has changed it (and that
/// `mutate` changed something).
fn assert_caught(c: &Compilation, mutate: impl Fn(&mut Value)) {
    let (mut objects, program) = emitted(c);
    assert_same("as emitted", &compare(program, &objects));
    let original = objects.clone();
    objects.iter_mut().for_each(&mutate);
    assert_ne!(objects, original, "the mutation changed nothing");
    let broken = compare(program, &objects);
    assert!(!broken.differences.is_empty(), "the broken output was not caught");
}

fn emitted_str(src: &str) -> Compilation {
    let c = compile_str(src, &[Target::Calico], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    c
}

/// A deny rule on a direction the source leaves open: Calico's `Pass` matters here.
const DENY_ONLY: &str = "namespace shop\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    workload admin { app: admin }\n\
    web connects to api on tcp 8080\n\
    api refuses tcp 8080 from admin\n";

/// A deny rule, and an allow rule it must win over.
const DENY_OVER_ALLOW: &str = "namespace shop\n\
    workload api { app: api }\n\
    workload admin { app: admin }\n\
    api accepts tcp from namespace shop\n\
    api refuses tcp 8080 from admin\n";

#[test]
fn calico_deny_turned_allow_is_caught() {
    assert_caught(&emitted_str(DENY_ONLY), |o| {
        each_object(o, &mut |m| {
            if m.get("action").is_some_and(|a| a == "Deny") {
                m.insert("action".into(), "Allow".into());
            }
        })
    });
}

#[test]
fn calico_deny_tier_ending_in_deny_is_caught() {
    // Without `defaultAction: Pass` the deny tier ends in Deny (`tier.go`): whatever its rules
    // do not match is denied, so the deny rules would isolate.
    assert_caught(&emitted_str(DENY_ONLY), |o| {
        if o["kind"] == "Tier" {
            o["spec"].as_object_mut().expect("spec").remove("defaultAction");
        }
    });
}

#[test]
fn calico_deny_tier_after_the_default_tier_is_caught() {
    assert_caught(&emitted_str(DENY_OVER_ALLOW), |o| {
        if o["kind"] == "Tier" {
            o["spec"]["order"] = serde_json::json!(2_000_000);
        }
    });
}

#[test]
fn calico_deny_policy_in_the_default_tier_is_caught() {
    // In one tier the allow policy `api` comes before `netpol-deny.api` (same order, by name).
    assert_caught(&emitted_str(DENY_OVER_ALLOW), |o| {
        if o["kind"] == "NetworkPolicy" && o["spec"]["tier"] != "default" {
            o["spec"].as_object_mut().expect("spec").remove("tier");
        }
    });
}

#[test]
fn calico_namespace_selector_dropped_is_caught() {
    assert_caught(&compile_file("examples/cross-namespace.netpol", &[]), |o| {
        each_object(o, &mut |m| {
            // Peers (not the policy's own spec) that pick pods of another namespace.
            if m.contains_key("selector") && !m.contains_key("types") {
                m.remove("namespaceSelector");
            }
        })
    });
}

#[test]
fn calico_wrong_policy_types_are_caught() {
    // `types` left out: a policy with ingress and egress rules keeps both, but the default-deny
    // policies (no rules) fall back to Ingress only, so egress isolation is lost.
    assert_caught(&compile_file("examples/default-deny.netpol", &[]), |o| {
        o["spec"].as_object_mut().expect("spec").remove("types");
    });
}

#[test]
fn calico_port_range_written_as_one_port_is_caught() {
    assert_caught(&compile_file("examples/port-ranges.netpol", &[]), |o| {
        each_object(o, &mut |m| {
            if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    if let Some((a, _)) = p.as_str().and_then(|s| s.split_once(':')) {
                        *p = serde_json::json!(a.parse::<u16>().expect("a port"));
                    }
                }
            }
        })
    });
}

#[test]
fn calico_not_nets_dropped_is_caught() {
    assert_caught(&compile_file("examples/cidr-except.netpol", &[]), |o| {
        each_object(o, &mut |m| {
            m.remove("notNets");
        })
    });
}

// ---------------------------------------------------------------------------------------------
// The reader's selector parser against the backend's selector rendering (ported from the
// reference evaluators' property test).

mod selectors {
    use netpol::analysis::targets::calico::parse_selector;
    use netpol::ir::{LabelExpr, LabelOp, LabelSelector};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const KEYS: &[&str] = &[
        "app",
        "app.kubernetes.io/name",
        "example.com/team",
        "in",
        "not",
        "has",
        "all",
        "global",
        "contains",
        "9x",
        "a-b_c.d",
    ];
    const VALUES: &[&str] =
        &["", "in", "not", "has", "all", "9x", "a.b-c_d", "prod", "Prod", "x", "1.2.3", "not-in"];

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(KEYS).prop_map(str::to_string)
    }

    fn value() -> impl Strategy<Value = String> {
        prop::sample::select(VALUES).prop_map(str::to_string)
    }

    fn label_expr() -> impl Strategy<Value = LabelExpr> {
        (key(), 0..4usize, prop::collection::vec(value(), 1..4)).prop_map(|(key, op, mut values)| {
            let op = [LabelOp::In, LabelOp::NotIn, LabelOp::Exists, LabelOp::DoesNotExist][op];
            values.sort();
            values.dedup();
            if matches!(op, LabelOp::Exists | LabelOp::DoesNotExist) {
                values.clear();
            }
            LabelExpr { key, op, values }
        })
    }

    fn label_selector() -> impl Strategy<Value = LabelSelector> {
        (prop::collection::btree_map(key(), value(), 0..3), prop::collection::vec(label_expr(), 0..4))
            .prop_map(|(match_labels, mut expressions)| {
                expressions.sort();
                expressions.dedup();
                LabelSelector { match_labels, expressions }
            })
    }

    fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
        prop::collection::btree_map(key(), value(), 0..6)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn calico_selector_expressions_select_what_kubernetes_selects(
            sel in label_selector(),
            random in labels(),
        ) {
            let expr = netpol::backend::calico::selector_expr(&sel).expect("writable");
            let parsed = parse_selector(&expr).map_err(|e| TestCaseError::fail(format!("{expr}: {e}")))?;
            let mut close = sel.representative();
            close.extend(random.iter().take(1).map(|(k, v)| (k.clone(), v.clone())));
            for l in [&random, &sel.representative(), &close] {
                prop_assert_eq!(parsed.matches(l), sel.matches(l), "{} on {:?}", expr, l);
            }
        }
    }
}
