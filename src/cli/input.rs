//! The paths of a command line expanded to `.netpol` files and manifests (reading the files
//! themselves is `crate::fs`, shared with the language server).
//!
//! - **The walk** below a directory follows symbolic links to directories (a linked folder of
//!   shared policies is part of the program: leaving it out could leave a workload without the
//!   policy that isolates it), but walks every directory once, known by its device and inode.
//!   A link to `.` or to a parent, or two links to one folder, add nothing, so the walk is
//!   linear in the directories there are. Entries are visited in sorted order, so which path
//!   names a file reached twice does not depend on the order the system lists them in.

pub(crate) use crate::fs::{read_manifest, read_stream_limited, FsLoader, MAX_MANIFEST_BYTES};
use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// The source files a command line names: files as given, and every `.netpol` file below each
/// directory, sorted per directory. `Err` holds the exit code once the reason is printed: a
/// directory that cannot be read (exit 3), or, unless `allow_empty`, paths that name no file
/// at all (exit 1: a typo in a directory's name must not pass for "no policies").
pub(crate) fn expand_paths(paths: &[PathBuf], allow_empty: bool) -> Result<Vec<String>, i32> {
    let mut out = Vec::new();
    let mut empty = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = match walk(p, is_netpol_name) {
                Ok(found) => found,
                Err((dir, e)) => {
                    super::say(format_args!("error: cannot read directory `{}`: {e}", dir.display()));
                    return Err(super::EXIT_IO);
                }
            };
            if found.is_empty() {
                empty.push(p);
            }
            out.extend(found.into_iter().map(|f| f.display().to_string()));
        } else {
            out.push(p.display().to_string());
        }
    }
    if out.is_empty() && !allow_empty {
        let names: Vec<String> = empty.iter().map(|p| format!("`{}`", p.display())).collect();
        super::say(format_args!("error: no .netpol file under {}", names.join(", ")));
        super::say(format_args!(
            "help: give the folder that holds the .netpol files, or the files themselves"
        ));
        return Err(super::EXIT_ERRORS);
    }
    for p in empty {
        super::say(format_args!("warning: no .netpol files under `{}`", p.display()));
    }
    Ok(out)
}

/// How the walk knows a directory it has walked: device and inode, or elsewhere the real path.
#[cfg(unix)]
type DirId = (u64, u64);
#[cfg(not(unix))]
type DirId = PathBuf;

#[cfg(unix)]
fn dir_id(_: &Path, m: &Metadata) -> DirId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dir_id(p: &Path, _: &Metadata) -> DirId {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn is_netpol_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "netpol")
}

/// Whether a file is a manifest by its name: `.yaml`, `.yml` or `.json`.
pub(crate) fn is_manifest_name(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
}

/// The paths of an analysis command (`verify`, `why`, `matrix`): `.netpol` sources, and
/// manifests (`.yaml`, `.yml`, `.json`, or `-` for stdin). A directory gives both kinds of
/// file below it. `Err` holds the exit code once the reason is printed.
pub(crate) fn expand_inputs(paths: &[PathBuf]) -> Result<(Vec<String>, Vec<PathBuf>), i32> {
    let (mut sources, mut manifests, mut empty) = (Vec::new(), Vec::new(), Vec::new());
    for p in paths {
        if p.as_os_str() == "-" || (!p.is_dir() && is_manifest_name(p)) {
            manifests.push(p.clone());
        } else if p.is_dir() {
            let found = walk(p, |f| is_netpol_name(f) || is_manifest_name(f)).map_err(|(dir, e)| {
                super::say(format_args!("error: cannot read directory `{}`: {e}", dir.display()));
                super::EXIT_IO
            })?;
            if found.is_empty() {
                empty.push(p);
            }
            for f in found {
                if is_netpol_name(&f) {
                    sources.push(f.display().to_string());
                } else {
                    manifests.push(f);
                }
            }
        } else {
            sources.push(p.display().to_string());
        }
    }
    // As `expand_paths`: nothing at all is an error, an empty folder beside others a warning.
    if sources.is_empty() && manifests.is_empty() {
        let names: Vec<String> = empty.iter().map(|p| format!("`{}`", p.display())).collect();
        super::say(format_args!("error: no .netpol file under {}", names.join(", ")));
        super::say(format_args!(
            "help: give the folder that holds the .netpol files or the policy manifests (.yaml, .yml, .json), or the files themselves"
        ));
        return Err(super::EXIT_ERRORS);
    }
    for p in empty {
        super::say(format_args!("warning: no .netpol files or manifests under `{}`", p.display()));
    }
    Ok((sources, manifests))
}

/// The manifest files below the paths of `--inventory` (files as given, `-` for stdin).
pub(crate) fn expand_manifests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, i32> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = walk(p, is_manifest_name).map_err(|(dir, e)| {
                super::say(format_args!("error: cannot read directory `{}`: {e}", dir.display()));
                super::EXIT_IO
            })?;
            if found.is_empty() {
                super::say(format_args!("error: no .yaml, .yml or .json file under `{}`", p.display()));
                return Err(super::EXIT_ERRORS);
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Every entry `want` accepts that is not a directory, below `root`, sorted. A directory
/// that cannot be listed is an error, with its path.
fn walk(root: &Path, want: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let mut seen: HashSet<DirId> = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let meta = fs::metadata(&dir).map_err(|e| (dir.clone(), e))?;
        if !seen.insert(dir_id(&dir, &meta)) {
            continue;
        }
        let listed: io::Result<Vec<PathBuf>> =
            fs::read_dir(&dir).and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect());
        let mut entries = listed.map_err(|e| (dir.clone(), e))?;
        entries.sort();
        let mut below = Vec::new();
        for path in entries {
            // After symbolic links; a dangling link named `*.netpol` is kept, for the loader
            // to say it names no file.
            match fs::metadata(&path) {
                Ok(m) if m.is_dir() => below.push(path),
                _ if want(&path) => out.push(path),
                _ => {}
            }
        }
        // Popped in sorted order: the walk is depth first, in name order.
        stack.extend(below.into_iter().rev());
    }
    out.sort();
    Ok(out)
}
