//! Inputs that used to blow up: deep nesting (a stack overflow in `check`, `compile`, `fmt` and
//! the language server), long chains of groups, groups that double at each level, long
//! `else if` chains. Each runs to its end, at a size well past what broke, and the work is
//! bounded by what the output holds (sizes are asserted, never times: speed belongs to
//! `benches/compile.rs`).

mod common;

use common::*;
use netpol::backend::Target;
use netpol::driver::Loader;
use netpol::ir::{PortMatch, PortRule, Ports};
use netpol::syntax::ast::Protocol;
use netpol::syntax::MAX_NESTING;
use std::collections::HashMap;

/// The stack the tests run the pipeline on: half a worker thread's 2 MiB (netpol's smallest),
/// in a debug build, whose frames are larger than a release build's.
const SMALL_STACK: usize = 1024 * 1024;

/// Runs `f` on a thread with [`SMALL_STACK`]: an overflow aborts the test binary, so passing
/// proves the depth fits.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(SMALL_STACK)
            .spawn_scoped(s, f)
            .expect("thread")
            .join()
            .expect("no panic")
    })
}

/// `ifs` nested `if` blocks inside a `namespace` block, the rule at the bottom: nesting depth
/// `ifs + 1`.
fn nested(ifs: usize) -> String {
    format!(
        "param p: bool = true\nnamespace n {{\n  workload w {{ app: w }}\n{}w accepts tcp 80 from anywhere\n{}}}\n",
        "if p {\n".repeat(ifs),
        "}\n".repeat(ifs)
    )
}

struct Mem(HashMap<String, String>);

impl Loader for Mem {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "missing".into())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

#[test]
fn nesting_at_the_limit_works_on_a_small_stack() {
    let src = nested(MAX_NESTING - 1);
    on_small_stack(|| {
        let c = compile_str(&src, &Target::ALL, &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        assert!(
            c.outputs.iter().all(|(_, objects)| !objects.is_empty()),
            "the rule at the bottom is emitted"
        );
        let formatted = netpol::fmt::format_source(&src).expect("formats");
        assert_eq!(netpol::fmt::format_source(&formatted).as_deref(), Ok(formatted.as_str()));
        let loader = Mem(HashMap::from([("deep.netpol".to_string(), src.clone())]));
        let a = netpol::lsp::analyze("deep.netpol", &loader);
        assert!(a.diagnostics.iter().all(|(_, d)| d.iter().all(|d| d.severity != Some(lsp_error()))));
        assert!(a.index.root_parsed);
        assert!(a.index.decls.iter().any(|d| d.name == "w"), "the index reaches into the blocks");
    });
}

fn lsp_error() -> lsp_types::DiagnosticSeverity {
    lsp_types::DiagnosticSeverity::ERROR
}

#[test]
fn nesting_past_the_limit_is_e0008_on_every_path() {
    for ifs in [MAX_NESTING, 3000, 100_000] {
        let src = nested(ifs);
        // The bracket that opens level MAX_NESTING + 1: the `{` of if number MAX_NESTING.
        let line = 3 + MAX_NESTING; // 1-based: param, namespace, workload, then the ifs
        on_small_stack(|| {
            let c = compile_str(&src, &Target::ALL, &[]);
            assert_eq!(codes(&c), ["E0008"], "{ifs}");
            let d = &c.diagnostics[0];
            let at = d.primary.span.start as usize;
            assert_eq!(&src[at..at + 1], "{");
            assert_eq!(
                src[..at].matches('\n').count() + 1,
                line,
                "{ifs}: the error is at the first bracket too deep"
            );
            assert!(d.help.as_deref().is_some_and(|h| h.contains(&MAX_NESTING.to_string())));

            let errors = netpol::fmt::format_source(&src).expect_err("not formatted");
            assert_eq!(errors.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0008"]);

            let loader = Mem(HashMap::from([("deep.netpol".to_string(), src.clone())]));
            let a = netpol::lsp::analyze("deep.netpol", &loader);
            let lsp_codes: Vec<String> = a
                .diagnostics
                .iter()
                .flat_map(|(_, d)| d.iter().filter_map(|d| d.code.clone()))
                .map(|c| match c {
                    lsp_types::NumberOrString::String(s) => s,
                    lsp_types::NumberOrString::Number(n) => n.to_string(),
                })
                .collect();
            assert_eq!(lsp_codes, ["E0008"]);
        });
    }
}

#[test]
fn brackets_in_strings_and_comments_do_not_count() {
    let deep = "{".repeat(MAX_NESTING + 1);
    let src =
        format!("namespace n\nworkload w {{ app: w }} # {deep}\nw accepts tcp 80 from anywhere \"{deep}\"\n");
    let c = compile_str(&src, &[], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    // Selectors and lists count: a `( … )` inside a selector at the limit is one too many.
    let src = format!(
        "param p: bool = true\nnamespace n {{\n{}workload w {{ app in (a, b) }}\n{}}}\n",
        "if p {\n".repeat(MAX_NESTING - 2),
        "}\n".repeat(MAX_NESTING - 2)
    );
    assert_eq!(codes(&compile_str(&src, &[], &[])), ["E0008"]);
    let src = src.replacen("if p {\n", "", 1).replacen("}\n", "", 1);
    assert_eq!(codes(&compile_str(&src, &[], &[])), ["W0204"], "one level less fits");
}

/// `else if` is a repetition in the grammar and a list in the syntax tree: a chain of any
/// length nests nothing, and the branch taken is the first whose condition holds.
#[test]
fn a_long_else_if_chain_works_on_a_small_stack() {
    let n = 3_000;
    let mut src = String::from("param p: int = 0\nnamespace n\nworkload w { app: w }\nif p == 0 {\n  w accepts tcp 1 from anywhere\n}");
    for i in 1..n {
        src.push_str(&format!(" else if p == {i} {{\n  w accepts tcp {} from anywhere\n}}", i % 65535 + 1));
    }
    src.push_str(" else {\n  w accepts tcp 9 from anywhere\n}\n");
    on_small_stack(|| {
        for (value, port) in [("0", 1), ("7", 8), ("2999", 3000), ("3000", 9)] {
            let c = compile_str(&src, &[], &[("p", value)]);
            assert!(!c.has_errors(), "{}", render(&c));
            let rules = &c.program.as_ref().expect("program").rules;
            assert_eq!(rules.len(), 1, "p = {value}: one branch is taken");
            let tcp = PortRule { protocol: Protocol::Tcp, port: PortMatch::Single(port) };
            assert_eq!(rules[0].ports, Ports::Some(vec![tcp]), "p = {value}");
        }
        let formatted = netpol::fmt::format_source(&src).expect("formats");
        assert_eq!(formatted.matches("else if").count(), n - 1);
        let loader = Mem(HashMap::from([("chain.netpol".to_string(), src.clone())]));
        let a = netpol::lsp::analyze("chain.netpol", &loader);
        let p = a.index.decls.iter().position(|d| d.name == "p").expect("p declared");
        assert_eq!(a.index.uses(p).count(), n, "every condition of the chain is a use of `p`");
    });
}

/// `group g1 = g0`, `group g2 = g1`, …: expanded on an explicit stack, so any length fits.
#[test]
fn a_long_chain_of_groups_works_on_a_small_stack() {
    let n = 10_000;
    let mut src = String::from("namespace n\nworkload w { app: w }\nworkload v { app: v }\ngroup g0 = v\n");
    for i in 1..n {
        src.push_str(&format!("group g{i} = g{}\n", i - 1));
    }
    src.push_str(&format!("w accepts tcp 80 from g{}\ng{} connects to w on tcp 80\n", n - 1, n - 1));
    on_small_stack(|| {
        let c = compile_str(&src, &Target::ALL, &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        let rules = &c.program.as_ref().expect("program").rules;
        assert_eq!(rules.len(), 2);
        assert!(rules.iter().all(|r| r.peers.len() == 1));
        let loader = Mem(HashMap::from([("chain.netpol".to_string(), src.clone())]));
        assert!(netpol::lsp::analyze("chain.netpol", &loader).index.root_parsed);
        netpol::fmt::format_source(&src).expect("formats");
    });
    // A cycle at the end of a long chain is still found, at the reference that closes it.
    let cyclic = src.replace("group g0 = v\n", &format!("group g0 = v, g{}\n", n - 1));
    assert_eq!(codes(&compile_str(&cyclic, &[], &[])), ["E0116"]);
}

/// Groups that double at each level: `g1 = g0, g0`, `g2 = g1, g1`, … `g29` names its two
/// workloads 2²⁹ times. A group is a set of peers, so every rule names each workload once.
#[test]
fn groups_that_double_at_each_level_are_sets() {
    let levels = 30;
    let mut src = String::from(
        "namespace n\nworkload w { app: w }\nworkload v { app: v }\nworkload u { app: u }\ngroup g0 = w, v, w\n",
    );
    for i in 1..levels {
        src.push_str(&format!("group g{i} = g{0}, g{0}\n", i - 1));
    }
    let top = format!("g{}", levels - 1);
    for (stmt, rules) in [
        (format!("u accepts tcp 80 from {top}, w, {top}"), 1),
        (format!("{top} connects to u on tcp 80"), 2),
        (format!("{top} -> {top}, u on tcp 80"), 2 + 3),
    ] {
        let src = format!("{src}{stmt}\n");
        let c = compile_str(&src, &Target::ALL, &[]);
        assert!(!c.has_errors(), "{stmt}: {}", render(&c));
        let program = c.program.as_ref().expect("program");
        assert_eq!(program.rules.len(), rules, "{stmt}: one rule per subject and direction");
        for r in &program.rules {
            let mut peers: Vec<_> = r.peers.iter().map(|p| &p.peer).collect();
            let n = peers.len();
            assert!(n <= 3, "{stmt}: {n} peers");
            peers.sort();
            peers.dedup();
            assert_eq!(peers.len(), n, "{stmt}: a peer twice in one rule");
        }
        // The emitted policies name each peer once too: no list of any object holds an
        // element twice.
        for (target, objects) in &c.outputs {
            for o in objects {
                assert_no_repeats(&o.body(), &format!("{stmt}: {}", target.name()));
            }
        }
    }
}

fn assert_no_repeats(v: &serde_json::Value, what: &str) {
    match v {
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                assert!(!items[..i].contains(x), "{what}: {x} twice in {v}");
                assert_no_repeats(x, what);
            }
        }
        serde_json::Value::Object(fields) => fields.values().for_each(|x| assert_no_repeats(x, what)),
        _ => {}
    }
}

/// Thousands of unknown names: each is E0101, and only the first ones get a suggestion (each
/// compares the name with every declaration, so suggesting them all was quadratic).
#[test]
fn thousands_of_unknown_names_are_each_reported() {
    let n = 3000;
    let mut src = String::from("namespace n\nworkload w { app: w }\n");
    for i in 0..n {
        src.push_str(&format!("workload x{i} {{ app: x{i} }}\n"));
    }
    for i in 0..n {
        src.push_str(&format!("w accepts tcp 80 from x{i}y\n"));
    }
    let c = compile_str(&src, &[], &[]);
    let unknown: Vec<_> = c.diagnostics.iter().filter(|d| d.code == "E0101").collect();
    assert_eq!(unknown.len(), n);
    assert_eq!(unknown[0].help.as_deref(), Some("did you mean `x0`?"));
    let suggested =
        unknown.iter().filter(|d| d.help.as_deref().is_some_and(|h| h.starts_with("did you mean"))).count();
    assert_eq!(suggested, 64);
    assert!(unknown.iter().all(|d| d.help.is_some()), "every E0101 keeps a help line");
}
