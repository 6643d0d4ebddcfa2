//! `netpol import`: reads manifests, writes the `.netpol` source the library imports
//! (`crate::import`), and prints the proof. Stdout, one file (`-o FILE.netpol`, created, never
//! replacing a file), or a folder of one file per namespace (`-o DIR`, written as `compile -o`
//! writes, replacing only files netpol wrote there).

use super::output::{self, WriteOptions};
use super::{print_out, report_all, say, world, InputArgs, EXIT_ERRORS, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::backend::Target;
use crate::import::{self, Layout};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub(crate) struct ImportArgs<'a> {
    pub input: &'a InputArgs,
    pub manifests: Vec<PathBuf>,
    pub inventory: Vec<PathBuf>,
    pub namespace: String,
    pub cni: Option<crate::world::Dialect>,
    pub output: Option<PathBuf>,
    pub lossy: bool,
    pub to: Vec<Target>,
}

enum Destination<'a> {
    Stdout,
    File(&'a Path),
    Dir(&'a Path),
}

pub(crate) fn run(a: ImportArgs) -> i32 {
    let dest = match a.output.as_deref() {
        None => Destination::Stdout,
        Some(p) if p.is_dir() => Destination::Dir(p),
        Some(p) if p.extension().is_some_and(|e| e == "netpol") => Destination::File(p),
        Some(p) => Destination::Dir(p),
    };
    let inputs = world::WorldInput {
        sources: &[],
        manifests: &a.manifests,
        inventory: &a.inventory,
        set: &[],
        namespace: &a.namespace,
    };
    let mut l = match world::load(&inputs) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if l.diagnostics.iter().any(|d| d.is_error()) {
        report_all(a.input, &l.sources, &mut l.diagnostics, false);
        return EXIT_ERRORS;
    }
    if l.world.policies.is_empty() {
        report_all(a.input, &l.sources, &mut l.diagnostics, false);
        say(format_args!("error: no policy in the input: nothing to import"));
        return EXIT_ERRORS;
    }
    let layout = if matches!(dest, Destination::Dir(_)) { Layout::PerNamespace } else { Layout::Single };
    let options = import::Options { layout, lossy: a.lossy, cni: a.cni, to: a.to.clone() };
    let result = import::import(&l.world, &l.sources, &options);
    let mut diagnostics = result.diagnostics;
    diagnostics.append(&mut l.diagnostics);
    report_all(a.input, &l.sources, &mut diagnostics, false);
    for (target, map, mut errors) in result.compile_errors {
        say(format_args!("error: the imported source does not compile for {}:", target.title()));
        report_all(a.input, &map, &mut errors, false);
    }
    let summaries = || result.summaries.iter().for_each(|line| say(format_args!("{line}")));
    if !result.ok {
        summaries();
        say(format_args!("import refused: nothing written"));
        return EXIT_ERRORS;
    }
    if a.input.warnings_deny(&diagnostics) {
        summaries();
        say(format_args!("import refused (--deny-warnings): nothing written"));
        return EXIT_ERRORS;
    }
    // The source, then what was proved of it.
    let code = write(dest, &result.files);
    summaries();
    code
}

fn write(dest: Destination, files: &[(String, String)]) -> i32 {
    match dest {
        Destination::Stdout => {
            let text: String = files.iter().map(|(_, t)| t.as_str()).collect();
            print_out(&text, EXIT_OK)
        }
        Destination::File(path) => {
            let text = files.first().map(|(_, t)| t.as_str()).unwrap_or_default();
            write_new_file(path, text, "import")
        }
        Destination::Dir(dir) => {
            let files: Vec<(PathBuf, &str)> =
                files.iter().map(|(n, t)| (PathBuf::from(n), t.as_str())).collect();
            match output::write_tree(dir, &files, WriteOptions::default()) {
                Ok(summary) => {
                    for (p, why) in &summary.left {
                        say(format_args!("warning: left `{}` in place: {why}", p.display()));
                    }
                    say(format_args!("{}", summary.line(dir, false)));
                    EXIT_OK
                }
                Err(e) => {
                    say(format_args!("error: cannot write to `{}`: {e}", dir.display()));
                    say(format_args!("help: {}", e.help()));
                    EXIT_IO
                }
            }
        }
    }
}

/// Writes `text` to a new file at `path`: created under a temporary name beside it and linked
/// in without replacing anything. An existing file is left as it is: unchanged when it holds
/// the same text, else an error.
pub(crate) fn write_new_file(path: &Path, text: &str, command: &str) -> i32 {
    if let Ok(existing) = std::fs::read(path) {
        if existing == text.as_bytes() {
            say(format_args!("unchanged {}", path.display()));
            return EXIT_OK;
        }
        say(format_args!(
            "error: `{}` exists; `netpol {command} -o FILE` never replaces a file",
            path.display()
        ));
        say(format_args!("help: remove it, or give another path (or a folder: -o DIR)"));
        return EXIT_IO;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let result = tempfile::NamedTempFile::new_in(dir).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.as_file().sync_all()?;
        f.persist_noclobber(path).map_err(|e| e.error)?;
        Ok(())
    });
    match result {
        Ok(()) => {
            say(format_args!("wrote {}", path.display()));
            EXIT_OK
        }
        Err(e) => {
            say(format_args!("error: cannot write `{}`: {e}", path.display()));
            EXIT_IO
        }
    }
}

/// `--to` without a target the readers know is refused by clap; a `.netpol` input is not.
pub(crate) fn refuse_sources(sources: &[String]) -> Option<i32> {
    let first = sources.first()?;
    say(format_args!(
        "error: `{first}` is .netpol source; `netpol import` reads policy manifests (.yaml, .yml, .json)"
    ));
    Some(EXIT_USAGE)
}
