//! Generated programs mean the same in every target as in the source: for random programs
//! (overlapping selectors, namespaces, networks with exceptions, deny rules, default denies,
//! named ports and ranges, built-in peers), every target that compiles the program reads its own
//! manifests back as allowing exactly what the source allows, side by side over every point
//! (`analysis::verify`). A target that cannot express a construct must refuse with E03xx, never
//! emit something else.

mod common;

use common::*;
use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify;
use netpol::backend::{Object, Target};
use proptest::prelude::*;

const NAMESPACES: [&str; 2] = ["a", "b"];

fn selector() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..4u8).prop_map(|i| format!("app: w{i}")),
        1 => (0..4u8).prop_map(|i| format!("app: w{i}, tier: front")),
        1 => Just("tier in (front, back)".to_string()),
        1 => Just("tier: back, canary notin (yes)".to_string()),
        1 => Just("tier exists".to_string()),
    ]
}

fn ports() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" on tcp 80".to_string()),
        Just(" on tcp 8000-8100".to_string()),
        Just(" on tcp 80, 443 and udp 53".to_string()),
        Just(" on tcp http".to_string()),
        Just(" on sctp 9000".to_string()),
        Just(" on udp".to_string()),
    ]
}

/// A peer, written from inside namespace `ns` of `n` workloads per namespace.
fn peer(workloads: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0..workloads, 0..2usize).prop_map(|(w, k)| format!("{}/w{w}", NAMESPACES[k])),
        1 => (0..2usize).prop_map(|k| format!("namespace {}", NAMESPACES[k])),
        1 => Just("cluster".to_string()),
        1 => Just("anywhere".to_string()),
        1 => Just("kube-dns".to_string()),
        1 => Just("10.0.0.0/8 except 10.1.0.0/16".to_string()),
        1 => Just("192.168.1.0/24".to_string()),
        1 => Just("world".to_string()),
        1 => Just("team-ns".to_string()),
    ]
}

fn rule(workloads: usize) -> impl Strategy<Value = String> {
    let subject = 0..workloads;
    (subject, 0..6u8, prop::collection::vec(peer(workloads), 1..3), ports()).prop_map(
        |(w, kind, peers, ports)| {
            let peers = peers.join(", ");
            let port_words = ports.trim_start().trim_start_matches("on ").to_string();
            match kind {
                0 | 1 => {
                    format!("w{w} accepts {port_words} from {peers}").replace("accepts  from", "accepts from")
                }
                2 | 3 => format!("w{w} connects to {peers}{ports}"),
                4 => {
                    format!("w{w} refuses {port_words} from {peers}").replace("refuses  from", "refuses from")
                }
                _ => format!("w{w} never connects to {peers}{ports}"),
            }
        },
    )
}

fn program() -> impl Strategy<Value = String> {
    (2..4usize)
        .prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(selector(), n * 2),
                prop::collection::vec(rule(n), 1..8),
                prop::collection::vec(rule(n), 0..6),
                prop::collection::vec(0..6u8, 2),
            )
        })
        .prop_map(|(n, selectors, rules_a, rules_b, extras)| {
            let mut text = String::from("namespaces team-ns { kubernetes.io/metadata.name in (b, other) }\n");
            for (k, ns) in NAMESPACES.iter().enumerate() {
                text.push_str(&format!("namespace {ns} {{\n"));
                for w in 0..n {
                    text.push_str(&format!("  workload w{w} {{ {} }}\n", selectors[k * n + w]));
                }
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

/// Compiles `src` for one target; `None` when the target refuses a construct (E03xx) or the
/// program is invalid in the source (both are fine for a generated program).
fn check(src: &str) -> Result<usize, TestCaseError> {
    let mut verified = 0;
    for target in Target::ALL {
        let c = compile_str(src, &[target], &[]);
        if c.has_errors() {
            let codes = codes(&c);
            let source_error = codes.iter().any(|c| !c.starts_with("E03") && c.starts_with('E'));
            // The same program fails the same way without a target, or the target refused a
            // construct with E03xx; nothing else may fail.
            let plain = compile_str(src, &[], &[]);
            prop_assert!(
                source_error == plain.has_errors(),
                "{}: errors {codes:?} only with the target\n{src}",
                target.name()
            );
            continue;
        }
        let program = c.program.as_ref().expect("program");
        let u = Universe::new(program);
        let source = Rows::build(&SourceSemantics::new(program, &u), &u);
        let objects: Vec<serde_json::Value> = c.outputs[0].1.iter().map(Object::body).collect();
        let reading = targets::read(target, &objects, &u);
        prop_assert!(reading.problems.is_empty(), "{}: {:?}\n{src}", target.name(), reading.problems);
        let rows = Rows::build(&*reading.semantics, &u);
        let diffs = verify::compare(&u, &source, &rows);
        prop_assert!(
            diffs.is_empty(),
            "{} differs from the source:\n{}\n---- program\n{src}",
            target.name(),
            diffs.iter().take(5).map(|d| d.describe(&u, target.name())).collect::<Vec<_>>().join("\n")
        );
        verified += 1;
    }
    Ok(verified)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_target_means_what_the_source_means(src in program()) {
        check(&src)?;
    }
}

/// The generator is not vacuous: most programs compile for some target and get verified.
#[test]
fn generated_programs_mostly_compile() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut total, mut verified) = (0, 0);
    for _ in 0..40 {
        let src = program().new_tree(&mut runner).expect("tree").current();
        total += 1;
        verified += usize::from(check(&src).is_ok_and(|n| n > 0));
    }
    assert!(
        verified * 2 > total,
        "only {verified} of {total} generated programs were verified on some target"
    );
}
