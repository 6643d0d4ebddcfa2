//! The proof an import makes: the imported source, compiled for a target and read back as that
//! CNI reads it, must allow exactly what the original manifests allow, read as their CNI reads
//! them, on every side of every point of one universe (the inventory's pods, or pods made up
//! from every selector of both), region by region, as `verify` compares.
//!
//! Both readings give each connection a range (certainly allowed, possibly allowed); they agree
//! when the ranges are equal. Each difference comes with a witness (one connection and port)
//! and the original objects' rules that decide it.

use super::write::Files;
use crate::analysis::matrix::{row_of, Semantics};
use crate::analysis::side::{Origin, Step};
use crate::analysis::targets;
use crate::analysis::universe::PointId;
use crate::analysis::verify::{compare_rows, Difference, Verdict};
use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Loader, Options};
use crate::ir::Direction;
use crate::span::SourceMap;
use crate::world::ports::Resolved;
use crate::world::universe::{self, Population};
use crate::world::{reading, Dialect, World};
use std::collections::BTreeMap;

/// The source's files, for the compile.
struct Memory<'a>(&'a BTreeMap<String, String>);

impl Loader for Memory<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| format!("no file `{path}` was imported"))
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// The name the proof compiles a one-file import under.
pub const SINGLE_NAME: &str = "imported.netpol";

/// What the proof found.
pub struct Proof {
    /// The compile of the imported source, when it failed (its own sources and diagnostics).
    pub compile_errors: Option<(SourceMap, Vec<Diagnostic>)>,
    /// Each connection where the readings differ, with the original rules that decide it.
    pub differences: Vec<Mismatch>,
    /// What the original reading does not model (W0605), at the objects' fields.
    pub problems: Vec<Diagnostic>,
    /// Points of the universe, and sides compared.
    pub points: usize,
    pub sides: usize,
}

pub struct Mismatch {
    pub difference: Difference,
    /// `a -> b on tcp 80: the originals say allowed, the import says not allowed (…)`.
    pub text: String,
    /// The original objects' rules that bear on it: (`Kind ns/name`, `spec.ingress[0]`).
    pub origins: Vec<(String, String)>,
    /// What each reading says of the witness.
    pub original: Verdict,
    pub imported: Verdict,
}

impl Proof {
    pub fn holds(&self) -> bool {
        self.compile_errors.is_none() && self.differences.is_empty()
    }
}

/// Compiles `files` for `target` and compares its reading with the reading of `world`'s
/// policies as `cni` enforces them.
pub fn prove(world: &World, sources: &SourceMap, cni: Dialect, files: &Files, target: Target) -> Proof {
    let map: BTreeMap<String, String> = files
        .iter()
        .map(|(name, text)| {
            (if name.is_empty() { SINGLE_NAME.to_string() } else { name.clone() }, text.clone())
        })
        .collect();
    let paths: Vec<String> = map.keys().cloned().collect();
    let mut options = Options { targets: vec![target], ..Options::default() };
    // The originals use `domainNames` only where the cluster's implementation has it.
    options.versions.cnp.domain_names =
        world.policies.iter().any(|(_, o)| super::cluster::uses_domain_names(&o.value));
    let c = driver::compile(&paths, &Memory(&map), &options);
    let (Some(program), false) = (c.program.as_ref(), c.has_errors()) else {
        let errors = c.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        return Proof {
            compile_errors: Some((c.sources, errors)),
            differences: Vec::new(),
            problems: Vec::new(),
            points: 0,
            sides: 0,
        };
    };
    let objects: Vec<crate::backend::Object> =
        c.outputs.into_iter().filter(|(t, _)| *t == target).flat_map(|(_, o)| o).collect();
    let pop = universe::build(world, Some(program), &[]);
    drop(c.program);
    let u = &pop.universe;
    let (original, problems) = reading::read(world, cni, u, sources);
    let imported = targets::read(target, &objects, u);
    drop(objects);
    let original = wrap(original.semantics, &pop, world.has_inventory, cni);
    let imported = wrap(imported.semantics, &pop, world.has_inventory, reading::dialect_of(target));
    // Side by side, point by point, on every core: the rows of both readings are never all
    // held at once.
    let found: Vec<Difference> = crate::par::blocks(u.len(), 512, |range| {
        let mut out = Vec::new();
        for p in range {
            let p = p as PointId;
            for dir in [Direction::Ingress, Direction::Egress] {
                let (a, b) = (row_of(&*original, u, p, dir), row_of(&*imported, u, p, dir));
                if a == b {
                    continue;
                }
                let mut here = Vec::new();
                compare_rows(u, p, dir, &a, &b, &mut here);
                let mut back = Vec::new();
                compare_rows(u, p, dir, &b, &a, &mut back);
                for d in back {
                    if !here.iter().any(|f| same_place(f, &d)) {
                        here.push(d);
                    }
                }
                out.extend(here);
            }
        }
        out
    })
    .into_iter()
    .flatten()
    .collect();
    let differences = found.into_iter().map(|d| mismatch(&pop, &*original, &*imported, d)).collect();
    Proof { compile_errors: None, differences, problems, points: u.len(), sides: u.len() * 2 }
}

/// With an inventory, named ports resolve against its containers, as `verify` reads them.
fn wrap<'a>(
    sem: Box<dyn Semantics + 'a>,
    pop: &'a Population,
    inventory: bool,
    d: Dialect,
) -> Box<dyn Semantics + 'a> {
    if inventory {
        Box::new(Resolved::new(sem, pop, Some(d)))
    } else {
        sem
    }
}

fn same_place(a: &Difference, b: &Difference) -> bool {
    a.subject == b.subject && a.direction == b.direction && a.other == b.other
}

fn mismatch(pop: &Population, original: &dyn Semantics, imported: &dyn Semantics, d: Difference) -> Mismatch {
    let u = &pop.universe;
    let side = original.side(d.subject, d.direction);
    let mut origins: Vec<(String, String)> = Vec::new();
    let mut add = |o: &Origin| {
        if let Origin::Manifest { object, rule, .. } = o {
            let e = (object.to_string(), rule.clone());
            if !origins.contains(&e) {
                origins.push(e);
            }
        }
    };
    for hit in side.explain(u, d.other) {
        match hit.step {
            Step::Clause(c) => add(&c.origin),
            Step::EndOfTier { origin, .. } => add(origin),
        }
    }
    side.isolation.iter().for_each(&mut add);
    let verdict = |sem: &dyn Semantics| {
        let cell = sem.side(d.subject, d.direction).at(u, d.other);
        Verdict::of_port(&cell, &d.port)
    };
    let (was, is) = (verdict(original), verdict(imported));
    let (s, t) = d.connection();
    let name = |p| pop.names(p).join(", ");
    let text = format!(
        "{} -> {} on {}: the originals say {}, the import says {} ({} of {})",
        name(s),
        name(t),
        d.port,
        was.as_str(),
        is.as_str(),
        d.direction.as_str(),
        name(d.subject)
    );
    Mismatch { difference: d, text, origins, original: was, imported: is }
}
