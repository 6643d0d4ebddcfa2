//! `netpol diff OLD NEW` and `netpol diff --git REV [PATH]`: which connections a policy change
//! adds, removes, or leaves open differently. Each side is a `.netpol` program (its meaning, or
//! with `-t` a target's reading of its compiled manifests) or policy manifests of any dialect,
//! read as their CNI enforces them. Both are read over one universe (the inventory's pods, or
//! pods made up from both sides), and compared by `crate::analysis::diff`.

use super::analyze::{explain_connection, verdict};
use super::input::{expand_inputs, expand_manifests, read_manifest};
use super::render::Format;
use super::{report_all, say, ColorArg, InputArgs, EXIT_ERRORS, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::analysis::diff::{self, Change, Group};
use crate::analysis::matrix::{self, Semantics};
use crate::analysis::reach::SourceSemantics;
use crate::analysis::targets;
use crate::analysis::universe::{PointId, Universe};
use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Compilation, Loader, Options};
use crate::span::SourceMap;
use crate::world::ports::Resolved;
use crate::world::universe::{self, Population};
use crate::world::{reading, Dialect, Use, World};
use clap::ValueEnum;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    /// For terminals
    Human,
    /// For a pull-request comment: a summary line, a table, details folded
    Markdown,
    /// Stable fields, documented in the README
    Json,
}

/// What the command line gives.
pub(crate) struct DiffArgs<'a> {
    pub paths: &'a [PathBuf],
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
    /// `None`: nothing at all (a path that did not exist at the revision).
    path: Option<PathBuf>,
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
            let new = SidePaths { label: path.display().to_string(), path: Some(path), rename: None };
            (Some(tmp), old, new)
        }
        None => {
            let [old, new] = a.paths else {
                say(format_args!("error: give two paths, OLD and NEW (or --git REV [PATH])"));
                return Err(EXIT_USAGE);
            };
            let side = |p: &PathBuf| SidePaths {
                label: p.display().to_string(),
                path: Some(p.clone()),
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
            Read::Program(c) if a.target.is_none() => c.program.as_ref(),
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
        },
        new: Explained {
            label: &new_side.label,
            reading: &new_reading,
            sem: &*new_sem,
            u: new_u,
            sources: sources_of(&new_side, &man),
        },
    };
    let text = match a.format {
        DiffFormat::Human => report.human(),
        DiffFormat::Markdown => report.markdown(),
        DiffFormat::Json => report.json(),
    };
    let code = if groups.is_empty() { EXIT_OK } else { EXIT_ERRORS };
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
                (wrap(r.semantics, Some(dialect(t))), format!("compiled:{}", t.name()))
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

fn dialect(t: Target) -> Dialect {
    match t {
        Target::Kubernetes => Dialect::Kubernetes,
        Target::Cilium => Dialect::Cilium,
        Target::Calico => Dialect::Calico,
    }
}

/// Reads one file into the map, under its own name or its name at the revision.
fn add_file(
    man: &mut SourceMap,
    p: &Path,
    rename: Option<&(PathBuf, String)>,
) -> Result<crate::span::FileId, i32> {
    let name = shown(p, rename);
    match read_manifest(p) {
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
    let (sources, manifests) = match &s.path {
        Some(p) => expand_inputs(std::slice::from_ref(p))?,
        None => (Vec::new(), Vec::new()),
    };
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

/// Sources read from a revision: named `REV:path`, read from the temporary folder.
struct Renamed<'a> {
    tmp: &'a Path,
    shown: &'a str,
}

impl Renamed<'_> {
    fn real(&self, name: &str) -> String {
        match name.strip_prefix(self.shown) {
            Some(rest) => self.tmp.join(rest).display().to_string(),
            None => name.to_string(),
        }
    }
}

impl Loader for Renamed<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        super::FsLoader.load(&self.real(path))
    }

    fn join(&self, from: &str, import: &str) -> String {
        match from.strip_prefix(self.shown) {
            Some(rest) => format!("{}{}", self.shown, super::FsLoader.join(rest, import)),
            None => super::FsLoader.join(from, import),
        }
    }

    fn key(&self, path: &str) -> String {
        super::FsLoader.key(&self.real(path))
    }

    fn is_source(&self, path: &str) -> bool {
        super::FsLoader.is_source(path)
    }
}

// ---- --git ------------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `path` as it is at `rev`, copied into a temporary folder (the user's tree is never written).
fn git_side(rev: &str, path: &Path) -> Result<(tempfile::TempDir, SidePaths), String> {
    let real = std::fs::canonicalize(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let dir =
        if real.is_dir() { real.clone() } else { real.parent().map(Path::to_path_buf).unwrap_or_default() };
    let top = git(&dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| format!("`{}` is not inside a git repository", path.display()))?;
    let top = std::fs::canonicalize(String::from_utf8_lossy(&top).trim())
        .map_err(|e| format!("cannot read the repository's folder: {e}"))?;
    let commit = git(&top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| format!("`{rev}` is no revision of the repository at `{}`", top.display()))?;
    let commit = String::from_utf8_lossy(&commit).trim().to_string();
    let rel =
        real.strip_prefix(&top).map_err(|_| format!("`{}` is outside the repository", path.display()))?;
    let rel_text = rel.to_string_lossy().replace('\\', "/");
    let spec = if rel_text.is_empty() { ".".to_string() } else { rel_text.clone() };
    let listing = git(&top, &["ls-tree", "-r", "-z", "--full-tree", &commit, "--", &spec])?;
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let mut found = false;
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, file)) = entry.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (mode, kind) = (meta.next().unwrap_or(""), meta.next().unwrap_or(""));
        // Regular files only: no links, no submodules.
        if kind != "blob" || !(mode == "100644" || mode == "100755") {
            continue;
        }
        let single = file == rel_text;
        let wanted = single || super::input::is_manifest_name(Path::new(file)) || file.ends_with(".netpol");
        if !wanted || Path::new(file).components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            continue;
        }
        let body = git(&top, &["cat-file", "blob", &format!("{commit}:{file}")])?;
        let to = tmp.path().join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot write a temporary file: {e}"))?;
        }
        std::fs::write(&to, body).map_err(|e| format!("cannot write a temporary file: {e}"))?;
        found = true;
    }
    let label = format!("{rev}:{}", if rel_text.is_empty() { "." } else { &rel_text });
    let old = tmp.path().join(rel);
    if !found {
        say(format_args!("note: `{label}` holds no policies; the old side has none"));
    }
    let rename = Some((tmp.path().to_path_buf(), format!("{rev}:")));
    let side = SidePaths { label, path: found.then_some(old), rename };
    Ok((tmp, side))
}

// ---- output -----------------------------------------------------------------------------

struct Explained<'a> {
    label: &'a str,
    reading: &'a str,
    sem: &'a dyn Semantics,
    u: &'a Universe,
    sources: &'a SourceMap,
}

impl Explained<'_> {
    /// How the side is read, in words.
    fn how(&self) -> String {
        match self.reading.strip_prefix("compiled:") {
            _ if self.reading == "source" => "the program's meaning".to_string(),
            Some(t) => format!("compiled for {t}, as {t} enforces it"),
            None => format!("as {} enforces them", self.reading),
        }
    }

    /// The verdict on the witness, and the lines that decide it.
    fn explain(&self, s: PointId, d: PointId, port: &crate::analysis::ports::Port) -> (String, Vec<String>) {
        let ports = port.to_set();
        let cell = matrix::connection(self.sem, self.u, s, d);
        (verdict(&cell, &ports), explain_connection(self.sources, self.u, self.sem, s, d, &ports))
    }
}

struct Report<'a> {
    pop: &'a Population,
    groups: &'a [Group],
    old: Explained<'a>,
    new: Explained<'a>,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    old: JsonInput<'a>,
    new: JsonInput<'a>,
    same: bool,
    added: usize,
    removed: usize,
    possibly: usize,
    changes: Vec<JsonChange>,
}

#[derive(Serialize)]
struct JsonInput<'a> {
    path: &'a str,
    reading: &'a str,
}

#[derive(Serialize)]
struct JsonChange {
    change: &'static str,
    from: Vec<String>,
    to: Vec<String>,
    ports: String,
    witness: JsonWitness,
    old: JsonVerdict,
    new: JsonVerdict,
}

#[derive(Serialize)]
struct JsonWitness {
    from: String,
    to: String,
    port: String,
}

#[derive(Serialize)]
struct JsonVerdict {
    verdict: String,
    rules: Vec<String>,
}

/// A group, ready to print.
struct Shown {
    change: Change,
    from: Vec<String>,
    to: Vec<String>,
    ports: String,
    witness: (String, String, String),
    old: (String, Vec<String>),
    new: (String, Vec<String>),
}

const SHOWN_NAMES: usize = 4;

fn names(list: &[String]) -> String {
    if list.len() <= SHOWN_NAMES {
        list.join(", ")
    } else {
        format!("{} and {} more", list[..SHOWN_NAMES].join(", "), list.len() - SHOWN_NAMES)
    }
}

impl Report<'_> {
    fn count(&self, c: Change) -> usize {
        self.groups.iter().filter(|g| g.change == c).count()
    }

    fn shown(&self) -> Vec<Shown> {
        let pop = self.pop;
        let all = |ps: &[PointId]| -> Vec<String> {
            ps.iter().flat_map(|p| pop.names(*p)).map(str::to_string).collect()
        };
        self.groups
            .iter()
            .map(|g| {
                let (s, d, port) = &g.witness;
                let first = |p: PointId| pop.names(p).first().map_or_else(String::new, |n| n.to_string());
                Shown {
                    change: g.change,
                    from: all(&g.from),
                    to: all(&g.to),
                    ports: g.ports.to_string(),
                    witness: (first(*s), first(*d), port.to_string()),
                    old: self.old.explain(*s, *d, port),
                    new: self.new.explain(*s, *d, port),
                }
            })
            .collect()
    }

    fn summary(&self) -> String {
        if self.groups.is_empty() {
            return "no change: both sides allow the same connections".to_string();
        }
        let (a, r, p) =
            (self.count(Change::Added), self.count(Change::Removed), self.count(Change::Possibly));
        let mut out = format!("{} change(s): {a} added, {r} removed", self.groups.len());
        if p > 0 {
            let _ = write!(out, ", {p} possibly (one side leaves them open)");
        }
        out
    }

    fn human(&self) -> String {
        let mut out = String::new();
        for (which, e) in [("old", &self.old), ("new", &self.new)] {
            let _ = writeln!(out, "{which}: {}, {}", e.label, e.how());
        }
        let _ = writeln!(out, "{}", self.summary());
        for s in self.shown() {
            let _ = writeln!(out);
            let _ =
                writeln!(out, "{}: {} -> {} on {}", s.change.as_str(), names(&s.from), names(&s.to), s.ports);
            let (f, t, p) = &s.witness;
            let _ = writeln!(out, "  witness: {f} -> {t} on {p}");
            for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                let _ = writeln!(out, "  {which}: {verdict}");
                for line in lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("**netpol diff**: {}\n\n", self.summary());
        let _ = writeln!(
            out,
            "Old: `{}`, {}; new: `{}`, {}.",
            self.old.label,
            self.old.how(),
            self.new.label,
            self.new.how()
        );
        let shown = self.shown();
        if shown.is_empty() {
            return out;
        }
        out.push_str("\n| Change | From | To | Ports |\n|---|---|---|---|\n");
        let cell = |s: &str| s.replace('|', "\\|");
        for s in &shown {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.change.as_str(),
                cell(&names(&s.from)),
                cell(&names(&s.to)),
                cell(&s.ports)
            );
        }
        out.push_str("\n<details><summary>Witnesses and the rules that decide them</summary>\n\n");
        for s in &shown {
            let (f, t, p) = &s.witness;
            let _ = writeln!(out, "**{}**: `{f}` -> `{t}` on {p}\n\n```", s.change.as_str());
            for (which, (verdict, lines)) in [("old", &s.old), ("new", &s.new)] {
                let _ = writeln!(out, "{which}: {verdict}");
                for line in lines {
                    let _ = writeln!(out, "  {line}");
                }
            }
            out.push_str("```\n\n");
        }
        out.push_str("</details>\n");
        out
    }

    fn json(&self) -> String {
        let verdict = |(v, rules): (String, Vec<String>)| JsonVerdict { verdict: v, rules };
        let changes = self
            .shown()
            .into_iter()
            .map(|s| JsonChange {
                change: s.change.as_str(),
                from: s.from,
                to: s.to,
                ports: s.ports,
                witness: JsonWitness { from: s.witness.0, to: s.witness.1, port: s.witness.2 },
                old: verdict(s.old),
                new: verdict(s.new),
            })
            .collect();
        let d = JsonDiff {
            old: JsonInput { path: self.old.label, reading: self.old.reading },
            new: JsonInput { path: self.new.label, reading: self.new.reading },
            same: self.groups.is_empty(),
            added: self.count(Change::Added),
            removed: self.count(Change::Removed),
            possibly: self.count(Change::Possibly),
            changes,
        };
        serde_json::to_string_pretty(&d).unwrap_or_default() + "\n"
    }
}
