//! `netpol diff OLD NEW` and `netpol diff --git REV [PATH]`: which connections a policy change
//! adds, removes, or leaves open differently. Each side is a `.netpol` program (its meaning, or
//! with `-t` a target's reading of its compiled manifests) or policy manifests of any dialect,
//! read as their CNI enforces them. Both are read over one universe (the inventory's pods, or
//! pods made up from both sides), and compared by `crate::analysis::diff`.

mod git;
mod output;

use super::input::{expand_inputs, expand_manifests, read_manifest, read_stream_limited, MAX_MANIFEST_BYTES};
use super::render::Format;
use super::{report_all, say, ColorArg, InputArgs, EXIT_ERRORS, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::analysis::diff;
use crate::analysis::matrix::Semantics;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::targets;
use crate::analysis::universe::Universe;
use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Compilation, Options};
use crate::span::SourceMap;
use crate::world::ports::Resolved;
use crate::world::universe::{self, Population};
use crate::world::{reading, Dialect, Use, World};
use clap::ValueEnum;
use git::{git_side, Renamed};
use output::{Explained, Report};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    /// For terminals
    Human,
    /// For a pull-request comment: a summary line, a table, details folded
    Markdown,
    /// Stable fields, documented in the README
    Json,
    /// SARIF 2.1.0, for code scanning: a result per change, at the rules that decide it
    Sarif,
}

/// What the command line gives.
pub(crate) struct DiffArgs<'a> {
    pub paths: &'a [PathBuf],
    /// `--old` / `--new`: sides of several paths each.
    pub old: &'a [PathBuf],
    pub new: &'a [PathBuf],
    pub git: Option<&'a str>,
    pub target: Option<Target>,
    pub inventory: &'a [PathBuf],
    pub cni: Option<Dialect>,
    pub namespace: &'a str,
    pub set: &'a [(String, String)],
    pub format: DiffFormat,
    pub color: ColorArg,
}

/// One side's paths: its name in the output, and where its files are.
struct SidePaths {
    label: String,
    /// Empty: nothing at all (a path that did not exist at the revision).
    paths: Vec<PathBuf>,
    /// For files read from a revision: the temporary folder's prefix and what to show instead.
    rename: Option<(PathBuf, String)>,
}

/// A side, read.
enum Read {
    Program(Box<Compilation>),
    Manifests { world: World, cni: Dialect },
}

struct Side {
    label: String,
    read: Read,
}

/// Runs the command; the exit code.
pub(crate) fn run(a: &DiffArgs) -> i32 {
    match run_inner(a) {
        Ok(code) => code,
        // Any input that cannot be compared is trouble (2), as `diff` has it; 3 stays 3.
        Err(EXIT_IO) => EXIT_IO,
        Err(_) => EXIT_USAGE,
    }
}

fn run_inner(a: &DiffArgs) -> Result<i32, i32> {
    if a.git.is_some() && !(a.old.is_empty() && a.new.is_empty()) {
        say(format_args!("error: --old and --new do not go with --git"));
        return Err(EXIT_USAGE);
    }
    let (_tmp, old, new) = match a.git {
        Some(rev) => {
            if a.paths.len() > 1 {
                say(format_args!("error: with --git, give one PATH (the working tree's side)"));
                return Err(EXIT_USAGE);
            }
            let path = a.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
            let (tmp, old) = git_side(rev, &path).map_err(|e| {
                say(format_args!("error: {e}"));
                EXIT_USAGE
            })?;
            let new = SidePaths { label: path.display().to_string(), paths: vec![path], rename: None };
            (Some(tmp), old, new)
        }
        None => {
            let (old, new): (&[PathBuf], &[PathBuf]) = match (a.paths, a.old.is_empty() && a.new.is_empty()) {
                ([old, new], true) => (std::slice::from_ref(old), std::slice::from_ref(new)),
                ([], false) if !a.old.is_empty() && !a.new.is_empty() => (a.old, a.new),
                _ => {
                    say(format_args!(
                        "error: give two paths, OLD and NEW; or sides of several paths with --old PATH… \
                         --new PATH…; or --git REV [PATH]"
                    ));
                    return Err(EXIT_USAGE);
                }
            };
            let stdin = old.iter().chain(new).chain(a.inventory).filter(|p| p.as_os_str() == "-").count();
            if stdin > 1 {
                say(format_args!("error: `-` (stdin) is given twice"));
                return Err(EXIT_USAGE);
            }
            let side = |ps: &[PathBuf]| SidePaths {
                label: ps.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                paths: ps.to_vec(),
                rename: None,
            };
            (None, side(old), side(new))
        }
    };
    let input = InputArgs {
        paths: Vec::new(),
        set: Vec::new(),
        deny_warnings: false,
        format: Format::Human,
        color: a.color,
        levels: Default::default(),
    };
    let mut man = SourceMap::new();
    let mut diags: Vec<Diagnostic> = Vec::new();
    // The universe's world: both sides' policies and the inventory.
    let mut whole = World::default();
    let mut inventory = World::default();
    for p in expand_manifests(a.inventory)? {
        let file = add_file(&mut man, &p, None)?;
        inventory.add_file(&man, file, Use::Inventory, a.namespace);
        whole.add_file(&man, file, Use::Inventory, a.namespace);
    }
    diags.append(&mut inventory.diagnostics);
    let mut sides = Vec::new();
    for s in [&old, &new] {
        let side = load_side(a, s, &mut man, &mut whole, &mut diags, &input)?;
        sides.push(side);
    }
    let failed = diags.iter().any(Diagnostic::is_error);
    let (new_side, old_side) = (sides.pop().expect("two sides"), sides.pop().expect("two sides"));
    let programs: Vec<&crate::ir::Program> = [&old_side, &new_side]
        .into_iter()
        .filter_map(|s| match &s.read {
            // With -t too: the program's workloads are pods of the universe.
            Read::Program(c) => c.program.as_ref(),
            _ => None,
        })
        .collect();
    if failed {
        report_all(&input, &man, &mut diags, false);
        return Err(EXIT_ERRORS);
    }
    let pop = universe::build_for(&whole, &programs, &[]);
    // The second program reads over the same points, bound to its own namespaces.
    let bound: Option<Universe> = match programs.as_slice() {
        [_, second] => Some(pop.bound_to(second).ok_or_else(|| {
            say(format_args!("error: the universe misses a namespace of the new program"));
            EXIT_ERRORS
        })?),
        _ => None,
    };
    let has_inventory = whole.has_inventory;
    let u = &pop.universe;
    let is_program = |s: &Side| matches!(s.read, Read::Program(_)) && a.target.is_none();
    // The second program reads over the bound universe (the same points).
    let old_u = u;
    let new_u = if is_program(&old_side) && is_program(&new_side) { bound.as_ref().unwrap_or(u) } else { u };
    let (old_sem, old_reading) = read_side(a, &old_side, &pop, old_u, has_inventory, &man, &mut diags);
    let (new_sem, new_reading) = read_side(a, &new_side, &pop, new_u, has_inventory, &man, &mut diags);
    report_all(&input, &man, &mut diags, false);
    let groups = diff::diff(u, &*old_sem, &*new_sem);
    let report = Report {
        pop: &pop,
        groups: &groups,
        old: Explained {
            label: &old_side.label,
            reading: &old_reading,
            sem: &*old_sem,
            u: old_u,
            sources: sources_of(&old_side, &man),
            paths: old.paths.iter().map(|p| shown(p, old.rename.as_ref())).collect(),
            rev: old.rename.as_ref().map(|(_, r)| r.as_str()),
        },
        new: Explained {
            label: &new_side.label,
            reading: &new_reading,
            sem: &*new_sem,
            u: new_u,
            sources: sources_of(&new_side, &man),
            paths: new.paths.iter().map(|p| p.display().to_string()).collect(),
            rev: None,
        },
    };
    let code = if groups.is_empty() { EXIT_OK } else { EXIT_ERRORS };
    let text = match a.format {
        DiffFormat::Human => report.human(),
        DiffFormat::Markdown => report.markdown(),
        // Written as it is made: it names every point of every change.
        DiffFormat::Json => return Ok(super::stream_out(code, |out| report.write_json(out))),
        DiffFormat::Sarif => report.sarif(),
    };
    Ok(super::print_out(&text, code))
}

/// A side's semantics over `u` (its own universe), and how it is read: `source` (a program's
/// meaning), a CNI's name (manifests as it enforces them), or `compiled:TARGET`.
fn read_side<'a>(
    a: &DiffArgs,
    s: &'a Side,
    pop: &'a Population,
    u: &'a Universe,
    has_inventory: bool,
    man: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> (Box<dyn Semantics + 'a>, String) {
    let wrap = |sem: Box<dyn Semantics + 'a>, cni: Option<Dialect>| -> Box<dyn Semantics + 'a> {
        if has_inventory {
            Box::new(Resolved::new(sem, pop, cni))
        } else {
            sem
        }
    };
    match &s.read {
        Read::Program(c) => match (a.target, c.program.as_ref()) {
            (Some(t), _) => {
                let none = Vec::new();
                let objects = c.outputs.iter().find(|(x, _)| *x == t).map_or(&none, |(_, o)| o);
                let r = targets::read(t, objects, u);
                (wrap(r.semantics, Some(reading::dialect_of(t))), format!("compiled:{}", t.name()))
            }
            (None, Some(program)) => {
                (wrap(Box::new(SourceSemantics::new(program, u)), None), "source".to_string())
            }
            // Not reached: a side without a program stops at its compile errors.
            (None, None) => {
                let (r, _) = reading::read(&World::default(), Dialect::Kubernetes, u, man);
                (r.semantics, "kubernetes".to_string())
            }
        },
        Read::Manifests { world, cni } => {
            let (r, found) = reading::read(world, *cni, u, man);
            diags.extend(found);
            (wrap(r.semantics, Some(*cni)), cni.name().to_string())
        }
    }
}

/// The sources a side's origins point into.
fn sources_of<'a>(s: &'a Side, man: &'a SourceMap) -> &'a SourceMap {
    match &s.read {
        Read::Program(c) => &c.sources,
        Read::Manifests { .. } => man,
    }
}

/// Reads one file into the map, under its own name or its name at the revision.
fn add_file(
    man: &mut SourceMap,
    p: &Path,
    rename: Option<&(PathBuf, String)>,
) -> Result<crate::span::FileId, i32> {
    let (name, text) = if p.as_os_str() == "-" {
        ("<stdin>".to_string(), read_stream_limited(std::io::stdin().lock(), MAX_MANIFEST_BYTES))
    } else {
        (shown(p, rename), read_manifest(p))
    };
    match text {
        Ok(text) => Ok(man.add(name, text)),
        Err(why) => {
            say(format_args!("error: cannot read `{name}`: {why}"));
            Err(EXIT_USAGE)
        }
    }
}

fn shown(p: &Path, rename: Option<&(PathBuf, String)>) -> String {
    match rename.and_then(|(prefix, instead)| Some((p.strip_prefix(prefix).ok()?, instead))) {
        Some((rest, instead)) => format!("{instead}{}", rest.display()),
        None => p.display().to_string(),
    }
}

/// Reads a side: its manifests (into its own world and the universe's), or compiles its
/// program. Compile diagnostics are printed here, with their own sources.
fn load_side(
    a: &DiffArgs,
    s: &SidePaths,
    man: &mut SourceMap,
    whole: &mut World,
    diags: &mut Vec<Diagnostic>,
    input: &InputArgs,
) -> Result<Side, i32> {
    let (sources, manifests) =
        if s.paths.is_empty() { (Vec::new(), Vec::new()) } else { expand_inputs(&s.paths)? };
    let mut world = World::default();
    for p in &manifests {
        let file = add_file(man, p, s.rename.as_ref())?;
        world.add_file(man, file, Use::Policies, a.namespace);
        whole.add_file(man, file, Use::Policies, a.namespace);
    }
    whole.diagnostics.clear();
    diags.append(&mut world.diagnostics);
    if sources.is_empty() {
        let cni = match reading::choose(&world, a.cni) {
            Ok(d) => d,
            Err(d) => {
                diags.push(*d);
                Dialect::Kubernetes
            }
        };
        return Ok(Side { label: s.label.clone(), read: Read::Manifests { world, cni } });
    }
    if !world.policies.is_empty() {
        say(format_args!(
            "error: `{}` holds both .netpol files and policy manifests; give one kind per side",
            s.label
        ));
        return Err(EXIT_USAGE);
    }
    let options = Options {
        overrides: a.set.to_vec(),
        expects_elsewhere: true,
        targets: a.target.into_iter().collect(),
        ..Options::default()
    };
    let mut c = match &s.rename {
        // Files of a revision are named `REV:path` (in diagnostics and in the rules shown).
        Some((tmp, instead)) => {
            let names: Vec<String> = sources.iter().map(|p| shown(Path::new(p), s.rename.as_ref())).collect();
            driver::compile(&names, &Renamed { tmp, shown: instead }, &options)
        }
        None => driver::compile(&sources, &super::FsLoader, &options),
    };
    if !c.diagnostics.is_empty() {
        report_all(input, &c.sources, &mut c.diagnostics, false);
    }
    if c.has_errors() || c.program.is_none() {
        return Err(EXIT_ERRORS);
    }
    Ok(Side { label: s.label.clone(), read: Read::Program(Box::new(c)) })
}
