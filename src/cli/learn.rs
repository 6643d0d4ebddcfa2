//! `netpol learn FLOWS… [-o FILE]`: `.netpol` source proposed from recorded flows
//! (`crate::traffic::learn`), checked by compiling it before it is printed or written.

use super::input::expand_manifests;
use super::{report_all, say, ColorArg, EXIT_ERRORS, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Loader, Options};
use crate::span::SourceMap;
use crate::traffic::learn::{self, InventoryPod};
use crate::world::{Use, World};
use std::path::{Path, PathBuf};

pub(crate) struct LearnArgs<'a> {
    pub flows: &'a [PathBuf],
    pub inventory: &'a [PathBuf],
    pub namespace: &'a str,
    pub output: Option<&'a Path>,
    pub default_deny: bool,
    pub color: ColorArg,
}

/// The name the learned source is compiled under, to check it.
const LEARNED: &str = "learned.netpol";

struct One<'a>(&'a str);

impl Loader for One<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        if path == LEARNED {
            Ok(self.0.to_string())
        } else {
            Err(format!("no file `{path}`"))
        }
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

pub(crate) fn run(a: &LearnArgs) -> i32 {
    let input = super::replay::plain_input(a.color);
    if a.flows.iter().chain(a.inventory).filter(|p| p.as_os_str() == "-").count() > 1 {
        say(format_args!("error: `-` (stdin) is given twice"));
        return EXIT_USAGE;
    }
    if let Some(out) = a.output {
        if out.extension().is_none_or(|e| e != "netpol") {
            say(format_args!("error: `{}`: -o takes a file name ending in .netpol", out.display()));
            return EXIT_USAGE;
        }
    }
    let recorded = match super::replay::read_flows(a.flows, &input) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The inventory's pods.
    let mut inventory: Option<Vec<InventoryPod>> = None;
    if !a.inventory.is_empty() {
        let mut man = SourceMap::new();
        let mut world = World::default();
        let paths = match expand_manifests(a.inventory) {
            Ok(p) => p,
            Err(code) => return code,
        };
        for p in paths {
            match super::replay::add_file(&mut man, &p) {
                Ok(file) => world.add_file(&man, file, Use::Inventory, a.namespace),
                Err(code) => return code,
            }
        }
        let mut found = std::mem::take(&mut world.diagnostics);
        let failed = found.iter().any(Diagnostic::is_error);
        report_all(&input, &man, &mut found, false);
        if failed {
            return EXIT_USAGE;
        }
        inventory = Some(
            world
                .inventory
                .pods()
                .into_iter()
                .map(|p| InventoryPod {
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                    labels: p.labels.clone(),
                })
                .collect(),
        );
    }
    let learned = learn::learn(
        &recorded,
        &learn::Options { inventory: inventory.as_deref(), default_deny: a.default_deny },
    );
    // The source must compile: anything else is netpol's own bug.
    let mut c = driver::compile(&[LEARNED.to_string()], &One(&learned.source), &Options::default());
    if c.has_errors() {
        say(format_args!("error: the learned source does not compile (a bug in netpol; please report it):"));
        report_all(&input, &c.sources, &mut c.diagnostics, false);
        return EXIT_ERRORS;
    }
    let summary = format!(
        "learned {} and {} from {}",
        plural(learned.workloads as u64, "workload"),
        plural(learned.rules as u64, "rule"),
        plural(recorded.counts.flows, "flow"),
    );
    let code = match a.output {
        None => super::print_out(&learned.source, EXIT_OK),
        Some(path) => super::import::write_new_file(path, &learned.source, "learn"),
    };
    if code == EXIT_OK || code == EXIT_IO && a.output.is_none() {
        say(format_args!("{summary}"));
        if !learned.default_deny.is_empty() {
            say(format_args!("default deny in: {}", learned.default_deny.join(", ")));
        }
        if !learned.open.is_empty() {
            let how = if a.inventory.is_empty() {
                "give --inventory (every pod of a namespace seen) or --default-deny"
            } else {
                "some of their pods were not in the recording; --default-deny writes it anyway"
            };
            say(format_args!("no default deny in: {} ({how})", learned.open.join(", ")));
        }
        for (why, n) in &learned.not_learned {
            say(format_args!("not learned: {}, {why}", plural(*n, "flow")));
        }
    }
    code
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
