//! Reachability benchmark: the full matrix of the synthetic program (`benches/gen`) under the
//! source's meaning and under each target's reading of its own manifests, and the comparison
//! of each target with the source.
//!
//!     cargo bench --bench matrix                 # 10,000 workloads, every target
//!     cargo bench --bench matrix -- --quick      # 1,250 workloads (CI smoke run)
//!     NETPOL_BENCH_SIZE=5000 cargo bench --bench matrix
//!     NETPOL_BENCH_TARGET=cilium cargo bench --bench matrix   # one target, or `none`
//!
//! Timed, after compiling for every target (not timed here; see `benches/compile.rs`) with
//! each target's objects spooled to a temporary file, as `netpol verify` does: building the
//! universe, every row of the source, and per target, one after another: reading the
//! manifests back from the spool and their YAML, every row, the comparison with the source, and the count of allowed pairs
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
use netpol::driver::{compile_into, Loader, Options};
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

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    netpol::alloc::tune();
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
    // As `netpol verify`: each target's objects spooled to a temporary file as they are
    // emitted, and read back from it one target at a time.
    let mut spooled = Vec::new();
    let c = compile_into(&["gen.netpol".to_string()], &loader, &options, &mut |t, objects| {
        let bytes: usize = objects.iter().map(|o| o.yaml.len()).sum();
        spooled.push((t, targets::spool(&objects).expect("spooled to a temporary file"), bytes));
    });
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

    // Each stage's time, how long one thread alone was busy in it (`par::busy`: the part more
    // cores cannot shorten), and how long one worker was at the uneven end of a parallel call.
    let now = || (Instant::now(), netpol::par::busy());
    let lap = |t: &mut (Instant, netpol::par::BusyTime)| {
        let next = now();
        let busy = next.1 - t.1;
        let out = format!(
            "{:.0} ms ({:.0} alone, {:.0} uneven)",
            ms(next.0 - t.0),
            ms(busy.alone),
            ms(busy.uneven)
        );
        *t = next;
        out
    };
    let first = now();
    let start = Instant::now();
    let mut t = now();
    let u = Universe::new(program);
    let universe = lap(&mut t);
    let source = SourceSemantics::new(program, &u);
    let semantics = lap(&mut t);
    let source_rows = Rows::build(&source, &u);
    let rows = lap(&mut t);
    let (possible, certain) = source_rows.count(&u);
    let count = lap(&mut t);
    eprintln!("  (source stages: universe {universe}, semantics {semantics}, rows {rows}, count {count})");
    let mut line = format!(
        "  source: {} points, rows + count {:.0} ms, {certain} pairs allowed ({} more possibly)",
        u.len(),
        start.elapsed().as_secs_f64() * 1000.0,
        possible - certain
    );
    println!("{line}");
    let mut failed = false;
    let mut previous = None;
    for (target, objects, bytes) in &spooled {
        let whole = now();
        let mut t = whole;
        // As `netpol verify` reads them: each worker parses a block of YAML, reads it, frees it;
        // the previous target's reading and rows are freed beside it.
        let old = previous.take();
        let ((), reading) = netpol::par::join(move || drop(old), || targets::read(*target, objects, &u));
        let read = lap(&mut t);
        let rows = Rows::build(&*reading.semantics, &u);
        let build = lap(&mut t);
        let differences = verify::compare(&u, &source_rows, &rows);
        let compare = lap(&mut t);
        let (p, ce) = rows.count(&u);
        let count = lap(&mut t);
        let mut w = whole;
        line = format!(
            "  {}: {} objects, {:.1} MB of YAML; yaml + read {read}, rows {build}, compare {compare}, count {count}, total {}; {ce} pairs allowed ({} more possibly), {} differences, {} problems",
            target.name(),
            objects.len(),
            *bytes as f64 / 1e6,
            lap(&mut w),
            p - ce,
            differences.len(),
            reading.problems.len()
        );
        println!("{line}");
        failed |= !differences.is_empty() || !reading.problems.is_empty();
        previous = Some((rows, reading));
    }
    drop(previous);
    let total = start.elapsed().as_secs_f64();
    let mut all = first;
    eprintln!("  (the whole matrix: {})", lap(&mut all));
    let judged = if quick {
        "smoke run: not judged".to_string()
    } else {
        format!("target < {TARGET_SECONDS:.0} s: {}", if total < TARGET_SECONDS { "PASS" } else { "FAIL" })
    };
    println!(
        "full matrix, source and {} targets: {total:.2} s ({judged}), peak {}",
        spooled.len(),
        peak_mb().map_or("n/a".to_string(), |m| format!("{m:.0} MB"))
    );
    if failed {
        eprintln!("a target differs from the source; see above");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
