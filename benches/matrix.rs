//! Reachability benchmark: the full matrix of the synthetic program (`benches/gen`) under the
//! source's meaning and under each target's reading of its own manifests, and the comparison
//! of each target with the source.
//!
//!     cargo bench --bench matrix                 # 10,000 workloads, every target
//!     cargo bench --bench matrix -- --quick      # 1,250 workloads (CI smoke run)
//!     NETPOL_BENCH_SIZE=5000 cargo bench --bench matrix
//!     NETPOL_BENCH_TARGET=cilium cargo bench --bench matrix   # one target, or `none`
//!
//! Timed, after compiling for every target (not timed here; see `benches/compile.rs`):
//! building the universe, every row of the source, and per target: reading the manifests back
//! from their YAML, every row, the comparison with the source, and the count of allowed pairs
//! (which visits every pair of points through the matrix's classes). The target: under 5 s for
//! 10,000 workloads and all three targets. Exits 1 if the program does not compile or a target
//! differs from the source, since then the numbers mean nothing.

mod gen;

/// The allocator the `netpol` binary uses (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::analysis::verify;
use netpol::backend::Target;
use netpol::driver::{compile, Loader, Options};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

const TARGET_SECONDS: f64 = 5.0;

struct Mem(HashMap<String, String>);

impl Loader for Mem {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "missing".into())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() -> ExitCode {
    netpol::alloc::keep_freed_memory();
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let workloads = std::env::var("NETPOL_BENCH_SIZE")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(if quick { 1250 } else { 10_000 });
    let text = gen::generate(workloads, gen::namespaces_for(workloads), gen::SEED);
    let loader = Mem(HashMap::from([("gen.netpol".to_string(), text)]));
    // `NETPOL_BENCH_TARGET`: a target name, `all` (the default) or `none` (the source alone).
    let targets = match std::env::var("NETPOL_BENCH_TARGET").ok().as_deref() {
        None | Some("") | Some("all") => Target::ALL.to_vec(),
        Some("none") => Vec::new(),
        Some(name) => match Target::from_name(name) {
            Some(t) => vec![t],
            None => {
                eprintln!("NETPOL_BENCH_TARGET: unknown target {name}");
                return ExitCode::FAILURE;
            }
        },
    };
    let options = Options { targets, ..Options::default() };
    let t = Instant::now();
    let c = compile(&["gen.netpol".to_string()], &loader, &options);
    let compile_time = t.elapsed();
    let Some(program) = c.program.as_ref().filter(|_| !c.has_errors()) else {
        eprintln!("the generated program does not compile");
        return ExitCode::FAILURE;
    };
    let compile_peak = peak_mb();
    println!(
        "netpol matrix benchmark: {workloads} workloads, every target (compile took {:.2} s, peak {})",
        compile_time.as_secs_f64(),
        compile_peak.map_or("n/a".to_string(), |m| format!("{m:.0} MB"))
    );

    let start = Instant::now();
    let u = Universe::new(program);
    let t_universe = start.elapsed();
    let source = SourceSemantics::new(program, &u);
    let t_sem = start.elapsed();
    let source_rows = Rows::build(&source, &u);
    let t_rows = start.elapsed();
    let (possible, certain) = source_rows.count(&u);
    eprintln!(
        "  (source stages: universe {:.0} ms, semantics {:.0} ms, rows {:.0} ms, count {:.0} ms)",
        t_universe.as_secs_f64() * 1000.0,
        (t_sem - t_universe).as_secs_f64() * 1000.0,
        (t_rows - t_sem).as_secs_f64() * 1000.0,
        (start.elapsed() - t_rows).as_secs_f64() * 1000.0
    );
    let mut line = format!(
        "  source: {} points, rows + count {:.0} ms, {certain} pairs allowed ({} more possibly)",
        u.len(),
        start.elapsed().as_secs_f64() * 1000.0,
        possible - certain
    );
    println!("{line}");
    let mut failed = false;
    for (target, objects) in &c.outputs {
        let t = Instant::now();
        // As `netpol verify` reads them: each worker parses a block of YAML, reads it, frees it.
        let reading = targets::read(*target, objects, &u);
        let read = t.elapsed();
        let rows = Rows::build(&*reading.semantics, &u);
        let build = t.elapsed() - read;
        let differences = verify::compare(&u, &source_rows, &rows);
        let (p, ce) = rows.count(&u);
        line = format!(
            "  {}: {} objects, {:.1} MB of YAML; yaml + read {:.0} ms, rows {:.0} ms, total {:.0} ms; {ce} pairs allowed ({} more possibly), {} differences, {} problems",
            target.name(),
            objects.len(),
            objects.iter().map(|o| o.yaml.len()).sum::<usize>() as f64 / 1e6,
            read.as_secs_f64() * 1000.0,
            build.as_secs_f64() * 1000.0,
            t.elapsed().as_secs_f64() * 1000.0,
            p - ce,
            differences.len(),
            reading.problems.len()
        );
        println!("{line}");
        failed |= !differences.is_empty() || !reading.problems.is_empty();
    }
    let total = start.elapsed().as_secs_f64();
    let judged = if quick {
        "smoke run: not judged".to_string()
    } else {
        format!("target < {TARGET_SECONDS:.0} s: {}", if total < TARGET_SECONDS { "PASS" } else { "FAIL" })
    };
    println!(
        "full matrix, source and {} targets: {total:.2} s ({judged}), peak {}",
        c.outputs.len(),
        peak_mb().map_or("n/a".to_string(), |m| format!("{m:.0} MB"))
    );
    if failed {
        eprintln!("a target differs from the source; see above");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
