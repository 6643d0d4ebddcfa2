//! `netpol diff` benchmark: two 10,000-workload programs (`benches/gen`) that differ in one
//! rule, diffed by their meaning, against the cost of one side's full matrix over the same
//! points (every row and the count of allowed pairs, as `benches/matrix.rs` times it).
//!
//!     cargo bench --bench diff                        # 10,000 workloads
//!     NETPOL_BENCH_QUICK=1 cargo bench --bench diff   # 1,250 workloads (CI smoke run)
//!     NETPOL_BENCH_SIZE=5000 cargo bench --bench diff
//!
//! The goal: the diff costs no more than twice one side's matrix. Exits 1 when the diff does
//! not find exactly the one change made (then the numbers mean nothing).

mod gen;

/// The allocator the `netpol` binary uses (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use netpol::analysis::diff::{self, Change};
use netpol::analysis::matrix::Rows;
use netpol::analysis::reach::SourceSemantics;
use netpol::driver::{compile, Loader, Options};
use netpol::world::{universe, World};
use std::process::ExitCode;
use std::time::Instant;

struct One(String);

impl Loader for One {
    fn load(&self, _path: &str) -> Result<String, String> {
        Ok(self.0.clone())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn main() -> ExitCode {
    netpol::alloc::tune();
    let quick = std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let workloads = std::env::var("NETPOL_BENCH_SIZE")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(if quick { 1250 } else { 10_000 });
    let old_text = gen::generate(workloads, gen::namespaces_for(workloads), gen::SEED);
    // The one change: the first edge (`a -> b on tcp 6379`, both sides) moves to port 6380.
    let Some(at) = old_text.find(" on tcp 6379") else {
        eprintln!("the generated program has no edge to change");
        return ExitCode::FAILURE;
    };
    let mut new_text = old_text.clone();
    new_text.replace_range(at..at + " on tcp 6379".len(), " on tcp 6380");
    let build =
        |text: &str| compile(&["gen.netpol".to_string()], &One(text.to_string()), &Options::default());
    let (old, new) = (build(&old_text), build(&new_text));
    let (Some(po), Some(pn)) = (old.program.as_ref(), new.program.as_ref()) else {
        eprintln!("the generated programs do not compile");
        return ExitCode::FAILURE;
    };
    let world = World::default();
    println!("netpol diff benchmark: {workloads} workloads, one rule changed");
    let baseline = peak_mb();

    // One side's matrix over the same points.
    let t = Instant::now();
    let pop = universe::build_for(&world, &[po, pn], &[]);
    let u = &pop.universe;
    let rows = Rows::build(&SourceSemantics::new(po, u), u);
    let (_, certain) = rows.count(u);
    let matrix = t.elapsed().as_secs_f64();
    drop(rows);
    println!(
        "  one side's matrix: {} points, {certain} pairs allowed, {matrix:.2} s, peak {:.0} MB",
        u.len(),
        peak_mb()
    );

    // The diff, from the points on.
    let t = Instant::now();
    let pop = universe::build_for(&world, &[po, pn], &[]);
    let Some(bound) = pop.bound_to(pn) else {
        eprintln!("the new program's namespaces are not in the universe");
        return ExitCode::FAILURE;
    };
    let u = &pop.universe;
    let (so, sn) = (SourceSemantics::new(po, u), SourceSemantics::new(pn, &bound));
    let groups = diff::diff(u, &so, &sn);
    let took = t.elapsed().as_secs_f64();
    let added = groups.iter().filter(|g| g.change == Change::Added).count();
    let removed = groups.iter().filter(|g| g.change == Change::Removed).count();
    println!(
        "  diff: {} group(s) ({added} added, {removed} removed), {took:.2} s, peak {:.0} MB \
         (before the runs: {baseline:.0} MB)",
        groups.len(),
        peak_mb()
    );
    let ratio = took / matrix.max(1e-9);
    if quick {
        println!(
            "  diff / one side's matrix: {ratio:.2} (smoke run: not judged against the goal of at most 2)"
        );
    } else {
        println!(
            "  diff / one side's matrix: {ratio:.2} (goal at most 2: {})",
            if ratio <= 2.0 { "PASS" } else { "FAIL" }
        );
    }
    if added != 1 || removed != 1 || groups.len() != 2 {
        eprintln!("the diff should find one added and one removed port: {} groups", groups.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
