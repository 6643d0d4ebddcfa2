//! Generated programs mean the same in every target as in the source: for random programs
//! (`tests/common/gen.rs`: overlapping selectors, namespaces, groups, edges, IPv4 and IPv6
//! networks with exceptions, deny rules, default denies, named ports and ranges, built-in
//! peers, conditional blocks), every target that compiles the program (`kubernetes-cnp` too,
//! read through both ClusterNetworkPolicy tiers) reads its own
//! manifests back as allowing exactly what the source allows, side by side over every point
//! (`analysis::verify`). A target that cannot express a construct must refuse with E03xx, never
//! emit something else.

mod common;

use common::gen;
use common::*;
use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify;
use netpol::backend::{Object, Target};
use proptest::prelude::*;

/// Every construct of the generator, with isolation (`default deny`, `accepts nothing`) and an
/// `if`/`else` on a parameter; no `expect` (the source must compile for the targets to be
/// compared).
fn program() -> impl Strategy<Value = String> {
    gen::program(gen::Shape { conditional: true, isolation: true, expects: false, denies: true })
}

/// Compiles `src` for one target; `None` when the target refuses a construct (E03xx) or the
/// program is invalid in the source (both are fine for a generated program).
fn check(src: &str) -> Result<usize, TestCaseError> {
    let mut verified = 0;
    for target in Target::EVERY {
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

/// The generator is not vacuous: most programs compile for some target and get verified, and
/// many of those have pods that two workloads pick (`Role::Overlap`), which the comparison
/// then covers.
#[test]
fn generated_programs_mostly_compile() {
    use netpol::analysis::universe::Role;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut total, mut verified, mut overlapping) = (0, 0, 0);
    for _ in 0..40 {
        let src = program().new_tree(&mut runner).expect("tree").current();
        total += 1;
        let ok = check(&src).is_ok_and(|n| n > 0);
        verified += usize::from(ok);
        let c = compile_str(&src, &[], &[]);
        let shared = c
            .program
            .as_ref()
            .is_some_and(|p| Universe::new(p).points.iter().any(|x| matches!(x.role, Role::Overlap(..))));
        overlapping += usize::from(ok && shared);
    }
    assert!(
        verified * 2 > total,
        "only {verified} of {total} generated programs were verified on some target"
    );
    assert!(
        overlapping * 4 > total,
        "only {overlapping} of {total} verified programs have a pod two workloads pick"
    );
}
