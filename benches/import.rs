//! `netpol import` at the size of the largest policy sets reported: 2,500 namespaces with 100
//! Kubernetes NetworkPolicies each and 250,000 pods (the `world` benchmark's shape). Timed:
//! reading the streams, the import (translation, names, the source in `fmt`'s layout) and its
//! proof (compiling the source back for Kubernetes, reading both over the inventory's pods, and
//! comparing every side).
//!
//!     cargo bench --bench import                        # 2,500 namespaces
//!     cargo bench --bench import -- --quick             # 25 namespaces (CI smoke run)
//!     NETPOL_BENCH_NAMESPACES=250 cargo bench --bench import
//!
//! It must grow linearly with the namespaces. Exits 1 if the import is not proved, since the
//! numbers would mean nothing.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use netpol::import::{self, Layout, Options};
use netpol::span::SourceMap;
use netpol::world::{Use, World};
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
    let (policy_text, inventory_text) = (policies(namespaces), inventory(namespaces));
    println!(
        "{namespaces} namespaces, {} policies, {} pods",
        namespaces * POLICIES_PER_NAMESPACE,
        namespaces * PODS_PER_NAMESPACE
    );
    let start = Instant::now();
    let mut sources = SourceMap::new();
    let policy_file = sources.add("policies.yaml", policy_text);
    let inventory_file = sources.add("inventory.yaml", inventory_text);
    let mut world = World::default();
    world.add_file(&sources, policy_file, Use::Policies, "default");
    world.add_file(&sources, inventory_file, Use::Inventory, "default");
    let read_time = start.elapsed();
    let t = Instant::now();
    let options = Options { layout: Layout::Single, lossy: false, cni: None, to: Vec::new() };
    let result = import::import(&world, &sources, &options);
    let import_time = t.elapsed();
    if !result.ok {
        eprintln!("the import is not proved: {:?}", result.summaries);
        for d in result.diagnostics.iter().take(3) {
            eprintln!("  {}: {}", d.code, d.message);
        }
        return ExitCode::FAILURE;
    }
    let bytes: usize = result.files.iter().map(|(_, t)| t.len()).sum();
    let lines: usize = result.files.iter().map(|(_, t)| t.lines().count()).sum();
    println!("{}", result.summaries.join("\n"));
    println!("source: {lines} lines, {} MB", bytes >> 20);
    let peak = peak_mb().map_or("?".to_string(), |m| format!("{m:.0} MB"));
    println!(
        "read {read_time:.2?}, import and proof {import_time:.2?}, total {:.2?}, peak memory {peak}",
        start.elapsed()
    );
    ExitCode::SUCCESS
}
