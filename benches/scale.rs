//! Inputs that once grew super-linearly: `verify` over many namespaces, and `netpol graph` on
//! dense and wide diagrams. Each case doubles (or more) in size from one line to the next, so
//! the time and memory columns show how it grows.
//!
//!     cargo bench --bench scale                  # every size
//!     cargo bench --bench scale -- --quick       # the smallest sizes (CI smoke run)
//!     NETPOL_BENCH_QUICK=1 cargo bench --bench scale
//!
//! Cases:
//! - `verify N namespaces`: N namespace blocks of one workload under `default deny all`, each
//!   reaching the next namespace as a whole and accepted from the previous one (a zone entry
//!   in every row), compiled for every target; timed: universe, the source's rows and every
//!   target's (read back, rows, comparison with the source, pair count), as `netpol verify`.
//!   This took 150 s and 7.8 GB at 4,000 namespaces when every namespace made matrix classes
//!   of its own.
//! - `mermaid/dot N+N`: N workloads, each connecting to the next three, and N networks: the
//!   diagram's build (which checks every allowed connection against the edges) and text. 300
//!   took 23 s when each connection looked at every edge.
//! - `svg chain N`: the same chain without networks, laid out by `layout-rs`; 35 workloads
//!   took minutes when its cycle check walked every path.
//! - `svg dense N`: N workloads that all accept from all (`group`): laid out without the
//!   crossing minimisation, or refused with E0501 past the size limit.
//!
//! Memory is the process's peak (`VmHWM`) after the case, and sizes only grow, so it is the
//! case's own peak. A benchmark, not a test: it exits 1 only when a case fails to compile or a
//! target differs from the source.

use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify;
use netpol::backend::Target;
use netpol::driver::{compile, Compilation, Loader, Options};
use netpol::graph::{self, Format};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

/// The allocator the `netpol` binary uses (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Mem(HashMap<String, String>);

impl Loader for Mem {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "missing".into())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn build(text: String, targets: Vec<Target>) -> Option<Compilation> {
    let loader = Mem(HashMap::from([("scale.netpol".to_string(), text)]));
    let c = compile(&["scale.netpol".to_string()], &loader, &Options { targets, ..Options::default() });
    if c.has_errors() {
        eprintln!("a generated program does not compile: {:?}", c.diagnostics.first());
        return None;
    }
    Some(c)
}

/// `n` namespaces of one workload, default-denied, each reaching the next one as a namespace.
fn namespaces(n: usize) -> String {
    let mut src = String::new();
    for i in 0..n {
        let (next, prev) = ((i + 1) % n, (i + n - 1) % n);
        src.push_str(&format!(
            "namespace ns-{i} {{\n  default deny all\n  workload w {{ app: w{i} }}\n  \
             w connects to namespace ns-{next} on tcp 80\n  w accepts tcp 80 from namespace ns-{prev}\n}}\n"
        ));
    }
    src
}

/// `n` workloads, each connecting to the next three (both sides written), and `nets` networks
/// one workload each connects to.
fn chain(n: usize, nets: usize) -> String {
    let mut src = String::from("namespace app\n");
    for i in 0..n {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    for i in 0..n {
        for j in [i + 1, i + 2, i + 3] {
            let j = j % n;
            src.push_str(&format!("w{i} connects to w{j} on tcp 80\nw{j} accepts tcp 80 from w{i}\n"));
        }
    }
    for k in 0..nets {
        src.push_str(&format!("w{} connects to 10.{}.{}.0/24 on tcp 443\n", k % n, k / 256, k % 256));
    }
    src
}

/// `n` workloads that all accept from all.
fn dense(n: usize) -> String {
    let mut src = String::from("namespace app\n");
    for i in 0..n {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    let all: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    src.push_str(&format!("group all = {}\nall accepts tcp 80 from all\n", all.join(", ")));
    src
}

fn verify_case(n: usize) -> bool {
    let Some(c) = build(namespaces(n), Target::ALL.to_vec()) else { return false };
    let p = c.program.as_ref().expect("program");
    let start = Instant::now();
    let u = Universe::new(p);
    let source = Rows::build(&SourceSemantics::new(p, &u), &u);
    let (possible, _) = source.count(&u);
    let mut ok = true;
    for (t, objects) in &c.outputs {
        let reading = targets::read(*t, objects, &u);
        let rows = Rows::build(&*reading.semantics, &u);
        ok &= verify::compare(&u, &source, &rows).is_empty() && rows.count(&u).0 == possible;
    }
    println!(
        "  verify {n:>6} namespaces: {:>7} points, {:>8.0} ms, peak {:>6.0} MB{}",
        u.len(),
        start.elapsed().as_secs_f64() * 1000.0,
        peak_mb(),
        if ok { "" } else { "  TARGETS DIFFER" }
    );
    ok
}

fn graph_case(label: &str, text: String, formats: &[Format]) -> bool {
    let Some(c) = build(text, Vec::new()) else { return false };
    let p = c.program.as_ref().expect("program");
    for &format in formats {
        let start = Instant::now();
        let u = Universe::new(p);
        let g = graph::build(p, &u, &SourceSemantics::new(p, &u));
        let out = graph::render(p, &g, format);
        let result = match &out {
            Ok(text) => format!("{} bytes", text.len()),
            Err(d) => d.code.to_string(),
        };
        println!(
            "  {:<7} {label:<14} {:>5} nodes {:>6} edges: {:>8.0} ms, peak {:>6.0} MB, {result}",
            format!("{format:?}").to_lowercase(),
            g.nodes.len(),
            g.edges.len(),
            start.elapsed().as_secs_f64() * 1000.0,
            peak_mb()
        );
    }
    true
}

fn main() -> ExitCode {
    netpol::alloc::tune();
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (namespace_sizes, wide_sizes, chain_sizes, dense_sizes): (&[usize], &[usize], &[usize], &[usize]) =
        if quick {
            (&[500, 1000], &[150, 300], &[20, 40], &[12, 20])
        } else {
            (&[1000, 2000, 4000, 8000, 16000], &[300, 1000, 3000], &[40, 80, 160], &[12, 16, 20, 40])
        };
    println!("netpol scale benchmark{}", if quick { " (quick)" } else { "" });
    let mut ok = true;
    for &n in chain_sizes {
        ok &= graph_case(&format!("chain {n}"), chain(n, 0), &[Format::Svg]);
    }
    for &n in dense_sizes {
        ok &= graph_case(&format!("dense {n}"), dense(n), &[Format::Svg]);
    }
    for &n in wide_sizes {
        ok &= graph_case(&format!("chain {n}+{n}"), chain(n, n), &[Format::Mermaid, Format::Dot]);
    }
    for &n in namespace_sizes {
        ok &= verify_case(n);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
