//! What one fuzz input is checked for, shared by the cargo-fuzz targets (`fuzz/`) and by
//! `tests/fuzz.rs`, which replays the committed corpus and every past finding on stable Rust.
//! Each function panics when a property fails; a panic, a hang or unbounded memory is a finding.
//!
//! The input is one file, `fuzz.netpol`, held in memory: an `import` of any other path reads
//! nothing from the disk and is E0007.

use crate::analysis::matrix::Rows;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::targets;
use crate::analysis::universe::Universe;
use crate::analysis::verify;
use crate::backend::{Object, Target};
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Compilation, Loader, Options};
use std::collections::HashSet;

/// The name the input is compiled under.
pub const FILE: &str = "fuzz.netpol";

/// One in-memory file; every other path is missing.
struct Single<'a>(&'a str);

impl Loader for Single<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        if path == FILE {
            Ok(self.0.to_string())
        } else {
            Err("no such file".to_string())
        }
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// `text` compiled as [`FILE`] for `targets`, with the default releases and no `--set`.
pub fn compile(text: &str, targets: &[Target]) -> Compilation {
    let options = Options { targets: targets.to_vec(), ..Options::default() };
    driver::compile(&[FILE.to_string()], &Single(text), &options)
}

/// The whole pipeline: parse, resolve and check; each backend on its own (one may refuse a
/// construct the others express); every emitted object read back from its YAML by that
/// target's reader and compared with the source, point by point (`netpol verify`). Checks that
/// - diagnostics render (every span lies in its file);
/// - a target adds no error but its own refusals (E03xx) to those of the plain check;
/// - every emitted object parses as YAML both YAML 1.1 and 1.2 readers type alike, and no two
///   objects of one target share a kind, namespace and name (one would replace the other);
/// - each target's reading has no problems and allows exactly what the source allows.
pub fn pipeline(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let plain = compile(text, &[]);
    render(&plain);
    for target in Target::ALL {
        let c = compile(text, &[target]);
        render(&c);
        if plain.has_errors() {
            assert!(
                c.diagnostics == plain.diagnostics,
                "{}: other diagnostics than the plain check: {:?} vs {:?}",
                target.name(),
                codes(&c.diagnostics),
                codes(&plain.diagnostics)
            );
            continue;
        }
        if c.has_errors() {
            let other: Vec<_> =
                c.diagnostics.iter().filter(|d| d.is_error() && !d.code.starts_with("E03")).collect();
            assert!(
                other.is_empty(),
                "{}: errors only with the target that are no refusal: {:?}",
                target.name(),
                other.iter().map(|d| (d.code, &d.message)).collect::<Vec<_>>()
            );
            assert!(c.outputs.is_empty(), "{}: outputs despite errors", target.name());
            continue;
        }
        let [(t, objects)] = c.outputs.as_slice() else {
            panic!("{}: {} outputs for one target", target.name(), c.outputs.len())
        };
        assert_eq!(*t, target);
        read_back(&c, target, objects);
    }
}

/// The objects of one target read back and compared with the source.
fn read_back(c: &Compilation, target: Target, objects: &[Object]) {
    let name = target.name();
    let _ = crate::yaml::stream(objects);
    let mut ids = HashSet::new();
    for o in objects {
        assert!(
            ids.insert((o.kind, o.namespace.as_deref(), o.name.as_str())),
            "{name}: two objects are {} {}/{}",
            o.kind,
            o.namespace.as_deref().unwrap_or("-"),
            o.name
        );
    }
    let program = c.program.as_ref().expect("a compiled program is kept");
    let u = Universe::new(program);
    let reading = targets::read(target, objects, &u);
    assert!(reading.problems.is_empty(), "{name}: the read-back finds problems: {:?}", reading.problems);
    let source = Rows::build(&SourceSemantics::new(program, &u), &u);
    let rows = Rows::build(&*reading.semantics, &u);
    let diffs = verify::compare(&u, &source, &rows);
    assert!(
        diffs.is_empty(),
        "{name} differs from the source:\n{}",
        diffs.iter().take(5).map(|d| d.describe(&u, name)).collect::<Vec<_>>().join("\n")
    );
}

/// `netpol fmt` (`format_source`): a file that does not parse gets exactly the parse
/// diagnostics `netpol check` reports (never the formatter's internal error); a file that
/// parses formats to a fixed point, and the formatted text means the same as the input on
/// every target: the same diagnostic codes, and the same YAML up to the line numbers in its
/// `file:line` annotations.
pub fn fmt(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let out = match crate::fmt::format_source(text) {
        Ok(out) => out,
        Err(d) => {
            let plain = compile(text, &[]);
            assert!(
                d == plain.diagnostics,
                "fmt refuses with other diagnostics than check: {:?} vs {:?}",
                d.iter().map(|d| (d.code, &d.message)).collect::<Vec<_>>(),
                codes(&plain.diagnostics)
            );
            return;
        }
    };
    match crate::fmt::format_source(&out) {
        Ok(again) => {
            assert!(again == out, "formatting is not idempotent:\n{out}\n---- formatted again\n{again}")
        }
        Err(d) => panic!("the formatted text does not format: {:?}\n{out}", codes(&d)),
    }
    for target in Target::ALL {
        let (before, after) = (meaning(text, target), meaning(&out, target));
        assert!(
            before == after,
            "{}: formatting changes the meaning: {before:?}\nvs {after:?}",
            target.name()
        );
    }
}

/// One target's diagnostic codes and YAML, with the line numbers of `fuzz.netpol:N` removed.
fn meaning(text: &str, target: Target) -> (Vec<&'static str>, String) {
    let c = compile(text, &[target]);
    let yaml = c.outputs.first().map(|(_, o)| crate::yaml::stream(o)).unwrap_or_default();
    (codes(&c.diagnostics), strip_lines(&yaml))
}

fn strip_lines(yaml: &str) -> String {
    let marker = ".netpol:";
    let mut out = String::with_capacity(yaml.len());
    let mut rest = yaml;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        out.push('N');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
    d.iter().map(|d| d.code).collect()
}

/// Renders every diagnostic as the CLI does; a span outside its file would panic here.
fn render(c: &Compilation) {
    let mut buf = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    crate::cli::render::human(&mut buf, &c.sources, &c.diagnostics).expect("diagnostics render");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_lose_their_line_numbers_only() {
        assert_eq!(
            strip_lines("a: fuzz.netpol:12, fuzz.netpol:3\nb: 7"),
            "a: fuzz.netpol:N, fuzz.netpol:N\nb: 7"
        );
    }

    #[test]
    fn imports_read_nothing_from_the_disk() {
        let c = compile("import \"Cargo.toml\"\n", &[]);
        assert_eq!(codes(&c.diagnostics), ["E0007"]);
    }

    /// The checks can fail: a target whose reading differed from the source would be caught
    /// (here, the Kubernetes objects of one program read against another program's universe).
    #[test]
    fn a_reading_that_differs_is_caught() {
        let a = compile(
            "namespace a\nworkload w { app: w }\nw accepts tcp 80 from anywhere\n",
            &[Target::Kubernetes],
        );
        let b = compile(
            "namespace a\nworkload w { app: w }\nw accepts tcp 81 from anywhere\n",
            &[Target::Kubernetes],
        );
        assert!(!a.has_errors() && !b.has_errors());
        let objects = &b.outputs[0].1;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_back(&a, Target::Kubernetes, objects)
        }));
        assert!(caught.is_err(), "port 81 read against a program allowing port 80 must differ");
        read_back(&b, Target::Kubernetes, objects);
    }
}
