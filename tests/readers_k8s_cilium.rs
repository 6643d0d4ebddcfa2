//! The Kubernetes and Cilium readers (`analysis::targets`) against the source's meaning
//! (`analysis::reach`): every example, and a few more programs, means the same on each target
//! as in the source, region by region (`analysis::verify`); and broken output is caught.

mod common;

use common::*;
use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify::compare;
use netpol::backend::Target;
use netpol::driver::{compile, Compilation, Options};
use netpol::ir::Program;
use serde_json::{json, Value};
use std::time::Instant;

const TARGETS: [Target; 2] = [Target::Kubernetes, Target::Cilium];

fn bodies(c: &Compilation, target: Target) -> Vec<Value> {
    assert_eq!(c.outputs.len(), 1);
    assert_eq!(c.outputs[0].0, target);
    let out: Vec<Value> = c.outputs[0].1.iter().map(|o| o.body()).collect();
    assert!(out.iter().all(|v| !v.is_null()), "emitted YAML parses");
    out
}

/// What a target's reading of `objects` says differently from `program`: its problems, then
/// every difference (the first 40, and how many more).
fn differences(target: Target, objects: &[Value], program: &Program) -> Vec<String> {
    let u = Universe::new(program);
    let source = SourceSemantics::new(program, &u);
    let reading = targets::read(target, objects, &u);
    let mut out = reading.problems.clone();
    let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(reading.semantics.as_ref(), &u));
    out.extend(diffs.iter().take(40).map(|d| d.describe(&u, target.name())));
    if diffs.len() > 40 {
        out.push(format!("… and {} more differences", diffs.len() - 40));
    }
    out
}

fn compile_file(path: &str, target: Target, sets: &[(&str, &str)]) -> Compilation {
    let options = Options {
        overrides: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        targets: vec![target],
        ..Options::default()
    };
    compile(&[path.to_string()], &DiskLoader, &options)
}

/// The program and the objects of a compilation that must succeed.
fn emitted(c: Compilation, target: Target, what: &str) -> (Program, Vec<Value>) {
    assert!(!c.has_errors(), "{what} for {}:\n{}", target.name(), render(&c));
    let objects = bodies(&c, target);
    (c.program.expect("a compiled program"), objects)
}

#[test]
fn every_example_means_the_same_on_kubernetes_and_cilium_as_in_the_source() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for path in examples() {
        let text = std::fs::read_to_string(root().join(&path)).expect("read example");
        for target in TARGETS {
            if expected_error(&text, target.name()).is_some() {
                continue; // examples.rs checks the error
            }
            let (program, objects) = emitted(compile_file(&path, target, &[]), target, &path);
            let t = Instant::now();
            let u = Universe::new(&program);
            let source = SourceSemantics::new(&program, &u);
            let source_rows = Rows::build(&source, &u);
            let source_time = t.elapsed();
            let t = Instant::now();
            let reading = targets::read(target, &objects, &u);
            let target_rows = Rows::build(reading.semantics.as_ref(), &u);
            let target_time = t.elapsed();
            eprintln!(
                "{path} on {}: {} objects, {} points; source {:.1} ms, read + rows {:.1} ms",
                target.name(),
                objects.len(),
                u.len(),
                source_time.as_secs_f64() * 1e3,
                target_time.as_secs_f64() * 1e3
            );
            failures.extend(reading.problems.iter().map(|p| format!("{path} ({}): {p}", target.name())));
            let diffs = compare(&u, &source_rows, &target_rows);
            failures.extend(diffs.iter().map(|d| format!("{path}: {}", d.describe(&u, target.name()))));
            // Not vacuous: the target polices something.
            assert!(
                u.ids().any(|p| !reading.semantics.side(p, netpol::ir::Direction::Ingress).is_open()
                    || !reading.semantics.side(p, netpol::ir::Direction::Egress).is_open()),
                "{path}: {} polices nothing",
                target.name()
            );
            compared += 1;
        }
    }
    assert!(compared >= 15, "only {compared} example compilations compared");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
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
        for target in TARGETS {
            let (program, objects) = emitted(compile_file(path, target, sets), target, path);
            let diffs = differences(target, &objects, &program);
            assert!(diffs.is_empty(), "{path} {sets:?} for {}:\n{}", target.name(), diffs.join("\n"));
        }
    }
}

/// Constructs the examples do not use, each program on every target that accepts it.
#[test]
fn more_constructs_keep_the_same_meaning() {
    let extra = [
        // Two workloads that pick the same pods; named ports; the API server and the node.
        "namespace shop\n\
         workload all { tier: web }\n\
         workload one { tier: web, app: shop }\n\
         all accepts tcp http from namespace shop\n\
         one accepts tcp 8080 from namespace ops\n\
         one connects to kube-apiserver on tcp 443\n\
         namespace ops\n",
    ];
    let programs: Vec<&str> = MORE_CONSTRUCTS.iter().copied().chain(extra).collect();
    let mut compared = [0; 2];
    for &src in &programs {
        for (i, target) in TARGETS.into_iter().enumerate() {
            let c = compile_str(src, &[target], &[]);
            if c.has_errors() {
                continue;
            }
            compared[i] += 1;
            let (program, objects) = emitted(c, target, src);
            let diffs = differences(target, &objects, &program);
            assert!(diffs.is_empty(), "{src}for {}:\n{}", target.name(), diffs.join("\n"));
        }
    }
    assert_eq!(compared[1], programs.len(), "every program compiles for Cilium");
    assert!(compared[0] >= 2, "{compared:?}");
}

// ---------------------------------------------------------------------------------------------
// Broken output is caught: each mutation of correct output must make the comparison differ.

/// Asserts that the output is right as emitted and wrong once `mutate` has changed it.
fn assert_caught(target: Target, (program, mut objects): (Program, Vec<Value>), mutate: impl Fn(&mut Value)) {
    let before = differences(target, &objects, &program);
    assert!(before.is_empty(), "{}", before.join("\n"));
    let original = objects.clone();
    objects.iter_mut().for_each(&mutate);
    assert_ne!(objects, original, "the mutation changed nothing");
    let after = differences(target, &objects, &program);
    assert!(!after.is_empty(), "the broken output was not caught");
    eprintln!("caught:\n{}", after.join("\n"));
}

fn example(path: &str, target: Target) -> (Program, Vec<Value>) {
    emitted(compile_file(path, target, &[]), target, path)
}

fn source(src: &str, target: Target) -> (Program, Vec<Value>) {
    emitted(compile_str(src, &[target], &[]), target, src)
}

/// A deny rule on a direction the source leaves open.
const DENY_ONLY: &str = "namespace shop\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    workload admin { app: admin }\n\
    web connects to api on tcp 8080\n\
    api refuses tcp 8080 from admin\n";

#[test]
fn kubernetes_namespace_selector_dropped_is_caught() {
    assert_caught(Target::Kubernetes, example("examples/cross-namespace.netpol", Target::Kubernetes), |o| {
        each_object(o, &mut |m| {
            if m.contains_key("podSelector") && m.contains_key("namespaceSelector") {
                m.remove("namespaceSelector");
            }
        })
    });
}

#[test]
fn kubernetes_policy_types_left_to_the_default_is_caught() {
    // An egress-only policy without `policyTypes` polices ingress too (`SetDefaults_NetworkPolicy`).
    assert_caught(Target::Kubernetes, example("examples/cross-namespace.netpol", Target::Kubernetes), |o| {
        if o["spec"]["policyTypes"] == json!(["Egress"]) {
            o["spec"].as_object_mut().expect("spec").remove("policyTypes");
        }
    });
}

#[test]
fn kubernetes_protocol_dropped_is_caught() {
    // A port without protocol is TCP: the UDP DNS rules would become TCP.
    assert_caught(Target::Kubernetes, example("examples/cross-namespace.netpol", Target::Kubernetes), |o| {
        each_object(o, &mut |m| {
            if m.get("protocol").is_some_and(|p| p == "UDP") {
                m.remove("protocol");
            }
        })
    });
}

#[test]
fn cilium_peer_without_namespace_is_caught() {
    assert_caught(Target::Cilium, example("examples/cross-namespace.netpol", Target::Cilium), |o| {
        for section in ["ingress", "egress"] {
            for rule in o["spec"].get_mut(section).and_then(Value::as_array_mut).into_iter().flatten() {
                for key in ["fromEndpoints", "toEndpoints"] {
                    for sel in rule.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
                        if let Some(labels) = sel.get_mut("matchLabels").and_then(Value::as_object_mut) {
                            labels.remove("k8s:io.kubernetes.pod.namespace");
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn cilium_missing_enable_default_deny_is_caught() {
    assert_caught(Target::Cilium, source(DENY_ONLY, Target::Cilium), |o| {
        o["spec"].as_object_mut().expect("spec").remove("enableDefaultDeny");
    });
}

#[test]
fn cilium_omitted_protocol_is_caught() {
    // Omitted means ANY in Cilium (`l4.go`), so TCP-only rules would open UDP and SCTP too.
    assert_caught(Target::Cilium, example("examples/edges-and-groups.netpol", Target::Cilium), |o| {
        each_object(o, &mut |m| {
            if m.contains_key("port") {
                m.remove("protocol");
            }
        })
    });
}

#[test]
fn cilium_empty_ingress_list_instead_of_empty_peers_is_caught() {
    // `ingress: []` does not isolate; `fromEntities: []` in one rule does.
    let src = "namespace shop\n\
        default deny ingress\n\
        workload web { app: web }\n\
        workload api { app: api }\n\
        web connects to api on tcp 8080\n";
    assert_caught(Target::Cilium, source(src, Target::Cilium), |o| {
        let spec = &mut o["spec"];
        if spec["ingress"].as_array().is_some_and(|l| l.len() == 1 && l[0]["fromEntities"] == json!([])) {
            spec["ingress"] = json!([]);
        }
    });
}

#[test]
fn cilium_deny_turned_allow_is_caught() {
    assert_caught(Target::Cilium, example("examples/deny-rules.netpol", Target::Cilium), |o| {
        let spec = o["spec"].as_object_mut().expect("spec");
        for (deny, allow) in [("ingressDeny", "ingress"), ("egressDeny", "egress")] {
            if let Some(Value::Array(rules)) = spec.remove(deny) {
                match spec.entry(allow).or_insert_with(|| json!([])) {
                    Value::Array(l) => l.extend(rules),
                    _ => unreachable!("sections are lists"),
                }
            }
        }
    });
}

#[test]
fn cilium_port_range_cut_short_is_caught() {
    assert_caught(Target::Cilium, example("examples/port-ranges.netpol", Target::Cilium), |o| {
        each_object(o, &mut |m| {
            m.remove("endPort");
        })
    });
}

// ---------------------------------------------------------------------------------------------
// Odd manifests are read without panicking: every value of some emitted objects replaced by
// values of other shapes, or removed.

/// The JSON pointer of every value inside `v` (not `v` itself).
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", escape(k));
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn odd_manifests_are_read_without_panicking() {
    let replacements = [
        json!(null),
        json!(0),
        json!(-1),
        json!(70000),
        json!("x"),
        json!(""),
        json!("0"),
        json!(true),
        json!([]),
        json!({}),
        json!([null]),
        json!([{}]),
    ];
    let cases = [
        ("examples/cross-namespace.netpol", Target::Kubernetes),
        ("examples/named-ports.netpol", Target::Kubernetes),
        ("examples/cidr-except.netpol", Target::Kubernetes),
        ("examples/cilium-only.netpol", Target::Cilium),
        ("examples/cross-namespace.netpol", Target::Cilium),
        ("examples/port-ranges.netpol", Target::Cilium),
    ];
    let mut variants = 0;
    for (path, target) in cases {
        let (program, objects) = example(path, target);
        let u = Universe::new(&program);
        for (i, object) in objects.iter().enumerate() {
            let mut paths = Vec::new();
            pointers(object, "", &mut paths);
            for p in &paths {
                let mut changed: Vec<Value> = Vec::new();
                let (parent, key) = p.rsplit_once('/').expect("a pointer");
                let mut removed = object.clone();
                match removed.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        a.remove(key.parse::<usize>().expect("an index"));
                    }
                    _ => unreachable!("pointers lead into containers"),
                }
                changed.push(removed);
                for r in &replacements {
                    let mut o = object.clone();
                    *o.pointer_mut(p).expect("the pointer exists") = r.clone();
                    changed.push(o);
                }
                for o in changed {
                    let mut set = objects.clone();
                    set[i] = o;
                    let reading = targets::read(target, &set, &u);
                    let _ = Rows::build(reading.semantics.as_ref(), &u);
                    variants += 1;
                }
            }
        }
    }
    assert!(variants > 1000, "{variants}");
}
