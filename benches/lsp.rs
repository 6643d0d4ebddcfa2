//! The language server's work per change on a generated 2,000-line document: `lsp::analyze`,
//! the compile `netpol check` runs (no target emitted), the diagnostics' conversion and the
//! index, built from the compile's own syntax trees. The edits alternate between two texts, so
//! nothing can be reused. A second series types an unfinished rule in the middle of the file,
//! which the index then parses again line by line. For comparison, the compile alone
//! (`lsp::check`) and an index that parses by itself (`Index::build`) are timed too.
//!
//!     cargo bench --bench lsp
//!     NETPOL_BENCH_QUICK=1 cargo bench --bench lsp     # a few iterations (CI smoke run)
//!
//! Exits 1 when the median of a change's whole work is 50 ms or more.

use netpol::driver::Loader;
use netpol::lsp::index::Index;
use netpol::lsp::{analyze, check, Overlay};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod gen;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LINES: usize = 2000;
const BUDGET_MS: f64 = 50.0;
const PATH: &str = "/bench/gen.netpol";

/// The smallest generated program of at least [`LINES`] lines.
fn document() -> String {
    (10..)
        .step_by(5)
        .map(|w| gen::generate(w, gen::namespaces_for(w), gen::SEED))
        .find(|t| t.lines().count() >= LINES)
        .unwrap_or_default()
}

/// `text` with the first rule after the middle replaced by `rest` after the rule's subject.
fn edited(text: &str, rest: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let middle = lines.len() / 2;
    let at = (middle..lines.len()).find(|&i| lines[i].trim_start().starts_with("w-")).unwrap_or(middle);
    let subject = lines[at].split_whitespace().next().unwrap_or("w-0").to_string();
    let replacement = format!("  {subject} {rest}");
    lines[at] = &replacement;
    lines.join("\n") + "\n"
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stat(times: &[Duration]) -> (f64, f64) {
    let mut t = times.to_vec();
    t.sort();
    let p95 = t[((t.len() * 95).div_ceil(100)).saturating_sub(1).min(t.len() - 1)];
    (ms(t[t.len() / 2]), ms(p95))
}

/// Applies `texts` in turn, `runs` times, timing `work` on each; returns the times and the
/// number of diagnostics of the last run.
fn series(texts: &[String], runs: usize, work: impl Fn(&Overlay) -> usize) -> (Vec<Duration>, usize) {
    let mut open = HashMap::new();
    let mut times = Vec::new();
    let mut count = 0;
    for run in 0..runs {
        open.insert(PATH.to_string(), texts[run % texts.len()].clone());
        let overlay = Overlay { open: &open };
        let start = Instant::now();
        count = work(&overlay);
        times.push(start.elapsed());
    }
    (times, count)
}

/// One way to handle a change; returns a count to print.
type Work = fn(&Overlay) -> usize;

fn analyzed(overlay: &Overlay) -> usize {
    let a = analyze(PATH, overlay);
    assert!(!a.index.decls.is_empty(), "the index is empty");
    a.diagnostics.iter().map(|(_, d)| d.len()).sum()
}

fn checked(overlay: &Overlay) -> usize {
    check(PATH, overlay).iter().map(|(_, d)| d.len()).sum()
}

fn indexed(overlay: &Overlay) -> usize {
    Index::build(PATH, overlay as &dyn Loader).decls.len()
}

fn main() -> ExitCode {
    let quick = std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let runs = if quick { 6 } else { 40 };
    let text = document();
    let valid = [text.clone(), edited(&text, "connects to kube-dns   \"an edit\"")];
    let broken = [text.clone(), edited(&text, "connects to")];
    println!(
        "netpol lsp benchmark: {} lines, {} bytes; {runs} changes per series",
        text.lines().count(),
        text.len()
    );
    println!("{:<44} {:>10} {:>10} {:>12}", "per change", "median ms", "p95 ms", "diagnostics");
    let mut worst: f64 = 0.0;
    for (name, texts) in [("valid edit", &valid), ("unfinished rule", &broken)] {
        let parts: [(&str, Work); 3] = [
            ("analyze (the server's work)", analyzed),
            ("compile alone", checked),
            ("index parsing by itself", indexed),
        ];
        for (part, work) in parts {
            let (times, count) = series(texts, runs, work);
            let (median, p95) = stat(&times);
            println!("{:<44} {median:>10.2} {p95:>10.2} {count:>12}", format!("{name}: {part}"));
            if part.starts_with("analyze") {
                worst = worst.max(median);
            }
        }
    }
    if quick {
        println!(
            "smoke run: {worst:.1} ms (median) at most, not judged against the {BUDGET_MS:.0} ms budget; \
             run without NETPOL_BENCH_QUICK to judge it"
        );
        return ExitCode::SUCCESS;
    }
    if worst >= BUDGET_MS {
        println!("FAIL: the server's work on a change takes {worst:.1} ms (median), the budget is {BUDGET_MS:.0} ms");
        return ExitCode::FAILURE;
    }
    println!(
        "PASS: the server's work on a change takes at most {worst:.1} ms (median), under {BUDGET_MS:.0} ms"
    );
    ExitCode::SUCCESS
}
