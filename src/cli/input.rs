//! Reading sources: the paths of a command line expanded to `.netpol` files, and the files
//! themselves.
//!
//! - **The walk** below a directory follows symbolic links to directories (a linked folder of
//!   shared policies is part of the program: leaving it out could leave a workload without the
//!   policy that isolates it), but walks every directory once, known by its device and inode.
//!   A link to `.` or to a parent, or two links to one folder, add nothing, so the walk is
//!   linear in the directories there are. Entries are visited in sorted order, so which path
//!   names a file reached twice does not depend on the order the system lists them in.
//! - **A source file** is read only when it is a regular file (after symbolic links) of at most
//!   [`MAX_SOURCE_BYTES`]: a FIFO, a device such as `/dev/stdin` or `/dev/zero`, or a socket is
//!   refused before it is opened, and again on the file as opened (without blocking), so one
//!   swapped in between cannot block the read either.
//! - **A file that is not netpol source by name** (its real name, after symbolic links, does
//!   not end in `.netpol`) is read, but when it does not parse no part of it is shown: see
//!   [`crate::driver::Loader::is_source`].

use crate::driver::Loader;
use std::collections::HashSet;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest source file netpol reads: 16 MiB, hundreds of times the largest policy file
/// anyone writes by hand, and a bound on what an `import` of a huge file can cost.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

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

/// The largest manifest file or stream netpol reads: 2 GiB, enough for a dump of a quarter of
/// a million pods, and a bound on what a stream without end can cost.
pub const MAX_MANIFEST_BYTES: u64 = 2 << 30;

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

/// The text of the source file at `path`, or why there is none (a short phrase that never
/// quotes the file). Only a regular file of at most [`MAX_SOURCE_BYTES`] is read.
pub(crate) fn read_source(path: &Path) -> Result<String, String> {
    read_limited(path, MAX_SOURCE_BYTES)
}

/// The text of a manifest file: as [`read_source`], up to [`MAX_MANIFEST_BYTES`].
pub(crate) fn read_manifest(path: &Path) -> Result<String, String> {
    read_limited(path, MAX_MANIFEST_BYTES)
}

fn read_limited(path: &Path, max: u64) -> Result<String, String> {
    regular(&fs::metadata(path).map_err(describe)?, max)?;
    let file = open(path).map_err(describe)?;
    // The file as opened: a FIFO swapped in after the check above is refused here, and the
    // open did not wait for a writer.
    let meta = file.metadata().map_err(describe)?;
    regular(&meta, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(describe)?;
    // The file may have grown since it was measured.
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Reads what the source reader reads of a stream (stdin): at most [`MAX_SOURCE_BYTES`], UTF-8.
pub(crate) fn read_stream(input: impl Read) -> Result<String, String> {
    read_stream_limited(input, MAX_SOURCE_BYTES)
}

/// A stream of at most `max` bytes, UTF-8.
pub(crate) fn read_stream_limited(input: impl Read, max: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    input.take(max + 1).read_to_end(&mut bytes).map_err(describe)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Opens for reading without waiting: a FIFO opens at once (and is then refused), and a
/// terminal does not become the controlling one.
fn open(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

fn regular(m: &Metadata, max: u64) -> Result<(), String> {
    if m.is_dir() {
        return Err("a directory, not a file".to_string());
    }
    if !m.is_file() {
        return Err(format!("{}, not a regular file", kind(m)));
    }
    if m.len() > max {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_large(max: u64) -> String {
    format!("larger than {} MiB, the most netpol reads of such a file", max >> 20)
}

#[cfg(unix)]
fn kind(m: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind(_: &Metadata) -> &'static str {
    "a special file"
}

fn describe(e: io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}

/// Whether the file at `path` is netpol source by its name: its real name, after symbolic
/// links, ends in `.netpol`. A link `x.netpol` to `~/.aws/credentials` is not.
pub(crate) fn is_source_name(path: &Path) -> bool {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    real.extension().is_some_and(|e| e == "netpol")
}

/// Reads sources from the file system.
pub(crate) struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        read_source(Path::new(path))
    }

    fn join(&self, from: &str, import: &str) -> String {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        base.join(import).display().to_string()
    }

    fn key(&self, path: &str) -> String {
        fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
    }

    fn is_source(&self, path: &str) -> bool {
        is_source_name(Path::new(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_is_refused_at_the_limit() {
        assert_eq!(read_stream(io::repeat(b'a')), Err(too_large(MAX_SOURCE_BYTES)));
        let fits = io::repeat(b'a').take(10);
        assert_eq!(read_stream(fits).as_deref(), Ok("aaaaaaaaaa"));
    }
}
