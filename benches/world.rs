//! Reading the world at the size of the largest policy sets reported: 2,500 namespaces with
//! 100 Kubernetes NetworkPolicies each, and an inventory of 250,000 pods, all as YAML. Timed:
//! reading both streams (YAML, classification, inventory), building the universe, the
//! Kubernetes reading of the policies, every row, and the count of every allowed pair.
//!
//!     cargo bench --bench world                        # 2,500 namespaces (250,000 pods)
//!     cargo bench --bench world -- --quick             # 25 namespaces (CI smoke run)
//!     NETPOL_BENCH_NAMESPACES=250 cargo bench --bench world
//!     NETPOL_BENCH_WRITE=DIR cargo bench --bench world # also write policies.yaml and inventory.yaml to DIR
//!
//! The goal on a 2-core machine: under 60 s and 6 GB at full size, and linear from 250
//! namespaces. Exits 1 if the input reads with any error, since the numbers would mean nothing.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use netpol::analysis::matrix::Rows;
use netpol::span::SourceMap;
use netpol::world::{reading, universe, Use, World};
use std::process::ExitCode;
use std::time::Instant;

#[path = "shapes/world.rs"]
mod shapes;
use shapes::{inventory, peak_mb, policies, PODS_PER_NAMESPACE, POLICIES_PER_NAMESPACE};

fn main() -> ExitCode {
    netpol::alloc::tune();
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let namespaces = std::env::var("NETPOL_BENCH_NAMESPACES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(if quick { 25 } else { 2500 });
    let t = Instant::now();
    let (policy_text, inventory_text) = (policies(namespaces), inventory(namespaces));
    println!(
        "generated {namespaces} namespaces, {} policies ({} MB), {} pods ({} MB) in {:.2?}",
        namespaces * POLICIES_PER_NAMESPACE,
        policy_text.len() >> 20,
        namespaces * PODS_PER_NAMESPACE,
        inventory_text.len() >> 20,
        t.elapsed()
    );
    if let Ok(dir) = std::env::var("NETPOL_BENCH_WRITE") {
        let dir = std::path::Path::new(&dir);
        let written = std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(dir.join("policies.yaml"), &policy_text))
            .and_then(|_| std::fs::write(dir.join("inventory.yaml"), &inventory_text));
        if let Err(e) = written {
            eprintln!("NETPOL_BENCH_WRITE: {e}");
            return ExitCode::FAILURE;
        }
    }
    let start = Instant::now();
    let mut sources = SourceMap::new();
    let policy_file = sources.add("policies.yaml", policy_text);
    let inventory_file = sources.add("inventory.yaml", inventory_text);
    let mut world = World::default();
    world.add_file(&sources, policy_file, Use::Policies, "default");
    world.add_file(&sources, inventory_file, Use::Inventory, "default");
    let read_time = start.elapsed();
    if !world.diagnostics.is_empty() {
        eprintln!(
            "the input reads with {} diagnostics, first: {:?}",
            world.diagnostics.len(),
            world.diagnostics[0].message
        );
        return ExitCode::FAILURE;
    }
    let t = Instant::now();
    let cni = reading::choose(&world, None).expect("Kubernetes policies alone");
    let population = universe::build(&world, None, &[]);
    let u = &population.universe;
    let universe_time = t.elapsed();
    let t = Instant::now();
    let (r, problems) = reading::read(&world, cni, u, &sources);
    let policy_time = t.elapsed();
    if !problems.is_empty() {
        eprintln!("the reader finds {} problems, first: {}", problems.len(), problems[0].message);
        return ExitCode::FAILURE;
    }
    // Named ports resolved against the inventory, as the command line does.
    let sem = netpol::world::ports::Resolved::new(r.semantics, &population, Some(cni));
    let t = Instant::now();
    let rows = Rows::build(&sem, u);
    let rows_time = t.elapsed();
    let t = Instant::now();
    let (possible, certain) = rows.count(u);
    let count_time = t.elapsed();
    let total = start.elapsed();
    println!(
        "read {read_time:.2?}, universe {universe_time:.2?} ({} points), policies {policy_time:.2?}, rows {rows_time:.2?}, count {count_time:.2?}",
        u.len()
    );
    println!("{certain} pairs allowed on some port ({} more possibly)", possible - certain);
    let peak = peak_mb().map_or("?".to_string(), |m| format!("{m:.0} MB"));
    println!("total (read to count) {total:.2?}, peak memory {peak}");
    ExitCode::SUCCESS
}
