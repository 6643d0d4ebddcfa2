//! `compile -o DIR`: one file per object, written as a transaction that never loses a file.
//!
//! The contract (README, "Writing to a folder"):
//! - **What netpol owns** is what `DIR/.netpol-manifest` lists: each file it wrote, with the
//!   SHA-256 of what it wrote. netpol replaces or removes a file only when it is listed there
//!   and still holds exactly those bytes. A file it did not write (or that was changed since)
//!   is never overwritten: the run stops before writing anything and names it. A listed file
//!   that is gone stale but was changed is left in place and reported. Contents never decide
//!   ownership.
//! - **No links are followed** below `DIR`: every directory is opened relative to its parent
//!   with `O_NOFOLLOW`, files are created with `O_EXCL` under unpredictable names
//!   (`.netpol-<random>.tmp`), and new names are moved into place with `renameat`
//!   (`RENAME_NOREPLACE` where nothing may be there).
//! - **All or nothing.** Before it touches anything, netpol writes a journal
//!   (`DIR/.netpol-journal`) naming every temporary file, backup and folder it may create.
//!   Old files are kept as hard-linked backups until the new manifest is renamed into place,
//!   which is the commit. A failure rolls back at once. A run killed at any moment leaves the
//!   journal, and the next run on `DIR` (or [`recover`]) first restores what the manifest on
//!   disk says: the old set if the kill came before the commit, the new one after, with no
//!   temporary file left.
//! - One run at a time: the folder is locked (`flock`) while it is written.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use crate::backend::Object;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags};

/// The record of what netpol wrote in a folder.
pub const MANIFEST: &str = ".netpol-manifest";
/// Present only while a run is writing (or after one was killed).
pub const JOURNAL: &str = ".netpol-journal";
/// Names netpol reserves for itself in an output folder.
const RESERVED: &str = ".netpol-";

/// What one file is to hold: text in memory, or a stretch of a [`Spool`].
pub trait Content {
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>>;
}

impl Content for &str {
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self.as_bytes()))
    }
}

/// Documents written to an unnamed temporary file as each target is emitted, so a run holds
/// one target's documents at a time instead of all of them until the folder is written; each
/// labelled with its path in the folder.
pub type Spool = crate::spool::Spool<PathBuf>;

/// A finished [`Spool`].
pub type Spooled = crate::spool::Spooled<PathBuf>;

pub use crate::spool::SpooledDocument;

impl Content for SpooledDocument<'_> {
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        SpooledDocument::bytes(self).map(Cow::Owned)
    }
}

/// The documents of a [`Spooled`] file, as [`write_tree`] takes them.
pub fn contents(spooled: &Spooled) -> Vec<(PathBuf, SpooledDocument<'_>)> {
    spooled.documents().map(|(rel, doc)| (rel.clone(), doc)).collect()
}

/// `<namespace>/<kind>-<name>.yaml`, or `_cluster/<kind>-<name>.yaml` for cluster-scoped objects.
pub fn relative_path(o: &Object) -> PathBuf {
    let dir = o.namespace.as_deref().unwrap_or("_cluster");
    PathBuf::from(dir).join(format!("{}-{}.yaml", o.kind.to_ascii_lowercase(), o.name))
}

#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// Plan and report; touch nothing.
    pub dry_run: bool,
    /// An empty result may empty the folder.
    pub allow_empty: bool,
}

/// What a run did (or, dry, would do), as paths relative to the folder.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    /// Files netpol wrote earlier, no longer produced, left in place: why.
    pub left: Vec<(PathBuf, String)>,
    /// An interrupted earlier run was cleaned up first: how.
    pub recovered: Option<String>,
}

impl Summary {
    /// One line: `wrote 2, unchanged 10, removed 1 in DIR`.
    pub fn line(&self, dir: &Path, dry: bool) -> String {
        let verb = if dry { "would write" } else { "wrote" };
        let removed = if dry { "would remove" } else { "removed" };
        let mut s = format!(
            "{verb} {}, unchanged {}, {removed} {} in {}",
            self.written.len(),
            self.unchanged.len(),
            self.removed.len(),
            dir.display()
        );
        if !self.left.is_empty() {
            s.push_str(&format!(", left {} changed since netpol wrote them", self.left.len()));
        }
        s
    }
}

#[derive(Debug)]
pub enum Error {
    Io {
        what: String,
        error: io::Error,
    },
    /// Files netpol must not overwrite, with why; nothing was written.
    Refused(Vec<(PathBuf, String)>),
    /// The program yields no objects and `--allow-empty` was not given.
    Empty,
    /// Another run holds the folder.
    Busy,
    /// The manifest cannot be read, so netpol cannot tell what it owns.
    BadManifest(String),
    /// Tests: the process "dies" at a checkpoint, leaving everything as it is.
    #[cfg(test)]
    Killed,
}

#[cfg(test)]
thread_local! {
    /// Tests: fail (`false`) or die (`true`) at the given checkpoint of the next run.
    static STOP_AT: std::cell::Cell<Option<(usize, bool)>> = const { std::cell::Cell::new(None) };
    static PASSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Before each change to the folder: where tests make a run fail or die.
fn checkpoint() -> Result<(), Error> {
    #[cfg(test)]
    {
        let n = PASSED.get();
        PASSED.set(n + 1);
        if let Some((at, die)) = STOP_AT.get() {
            if n == at {
                return Err(if die {
                    Error::Killed
                } else {
                    Error::Io { what: "test".into(), error: io::Error::other("injected failure") }
                });
            }
        }
    }
    Ok(())
}

impl Error {
    pub fn help(&self) -> &'static str {
        match self {
            Error::Io { .. } => "nothing was changed: the folder holds the files it held before",
            Error::Refused(_) => {
                "netpol only replaces files it wrote (listed in .netpol-manifest) and that are unchanged; move these away and run again"
            }
            Error::Empty => {
                "pass --allow-empty if no policies is really what the program means (files netpol wrote there are then removed)"
            }
            Error::Busy => "wait for the other netpol run to finish",
            Error::BadManifest(_) => "restore .netpol-manifest, or move the folder away and write a new one",
            #[cfg(test)]
            Error::Killed => "",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, error } => write!(f, "{what}: {error}"),
            Error::Refused(paths) => {
                write!(f, "netpol will not overwrite:")?;
                for (p, why) in paths {
                    write!(f, "\n  {}: {why}", p.display())?;
                }
                Ok(())
            }
            Error::Empty => write!(f, "the program yields no objects, so nothing would be written"),
            Error::Busy => write!(f, "another netpol run is writing to this folder"),
            Error::BadManifest(why) => write!(f, "cannot read {MANIFEST}: {why}"),
            #[cfg(test)]
            Error::Killed => write!(f, "killed"),
        }
    }
}

fn io_err(what: impl fmt::Display) -> impl FnOnce(rustix::io::Errno) -> Error {
    move |e| Error::Io { what: what.to_string(), error: e.into() }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn random_name(suffix: &str) -> Result<String, Error> {
    let mut buf = [0u8; 12];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Io { what: "random name".into(), error: io::Error::other(e.to_string()) })?;
    Ok(format!("{RESERVED}{}.{suffix}", buf.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// A relative path's directory (`""` for the folder itself) and file name, both plain.
fn split(rel: &Path) -> Option<(String, String)> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            _ => return None,
        }
    }
    let name = parts.pop()?;
    if parts.iter().chain([&name]).any(|p| p.starts_with(RESERVED) || p.contains(['\t', '\n'])) {
        return None;
    }
    Some((parts.join("/"), name))
}

/// Directories below the root, opened without following links, cached by relative path.
struct Dirs {
    root: OwnedFd,
    open: BTreeMap<String, OwnedFd>,
}

const DIR_FLAGS: OFlags =
    OFlags::DIRECTORY.union(OFlags::RDONLY).union(OFlags::CLOEXEC).union(OFlags::NOFOLLOW);

impl Dirs {
    fn new(root: OwnedFd) -> Dirs {
        Dirs { root, open: BTreeMap::new() }
    }

    /// The directory `rel` (`""` is the root), if it exists; created if `create`. A link or a
    /// non-directory on the way is an error: netpol writes nothing through links.
    fn get(&mut self, rel: &str, create: bool) -> Result<Option<&OwnedFd>, Error> {
        if rel.is_empty() {
            return Ok(Some(&self.root));
        }
        if !self.open.contains_key(rel) {
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            let parent = match self.get(parent, create)? {
                Some(fd) => fd.try_clone().map_err(|e| Error::Io { what: parent.to_string(), error: e })?,
                None => return Ok(None),
            };
            let fd = match rfs::openat(&parent, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if create => {
                    match rfs::mkdirat(&parent, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(io_err(format!("cannot create folder `{rel}`"))(e)),
                    }
                    rfs::openat(&parent, name, DIR_FLAGS, Mode::empty()).map_err(not_a_dir(rel))?
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(not_a_dir(rel)(e)),
            };
            self.open.insert(rel.to_string(), fd);
        }
        Ok(self.open.get(rel))
    }
}

fn not_a_dir(rel: &str) -> impl FnOnce(rustix::io::Errno) -> Error + '_ {
    move |e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => Error::Refused(vec![(
            PathBuf::from(rel),
            "is a link or not a folder; netpol never writes through links".into(),
        )]),
        e => io_err(format!("cannot open folder `{rel}`"))(e),
    }
}

/// What is at `name` in `dir`, without following a link.
enum Found {
    Nothing,
    File(Vec<u8>),
    Other(&'static str),
}

fn look(dir: &OwnedFd, name: &str, rel: &str) -> Result<Found, Error> {
    let st = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(Found::Nothing),
        Err(e) => return Err(io_err(format!("cannot look at `{rel}`"))(e)),
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Symlink => return Ok(Found::Other("a symbolic link")),
        FileType::Directory => return Ok(Found::Other("a folder")),
        _ => return Ok(Found::Other("not a regular file")),
    }
    let fd = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(io_err(format!("cannot read `{rel}`")))?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Io { what: format!("cannot read `{rel}`"), error: e })?;
    Ok(Found::File(bytes))
}

/// `DIR/.netpol-manifest`: transaction id and path → SHA-256.
struct Manifest {
    txn: String,
    files: BTreeMap<String, String>,
}

const MANIFEST_HEADER: &str =
    "# netpol wrote the files listed here and replaces or removes only these, while unchanged. Do not edit.";

impl Manifest {
    fn render(&self) -> String {
        let mut s = format!("{MANIFEST_HEADER}\nnetpol-manifest v1 {}\n", self.txn);
        for (path, hash) in &self.files {
            s.push_str(&format!("{hash}\t{path}\n"));
        }
        s
    }

    fn parse(text: &str) -> Result<Manifest, String> {
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let txn = lines
            .next()
            .and_then(|l| l.strip_prefix("netpol-manifest v1 "))
            .ok_or("not a netpol manifest (v1)")?
            .to_string();
        let mut files = BTreeMap::new();
        for l in lines {
            let (hash, path) = l.split_once('\t').ok_or_else(|| format!("bad line `{l}`"))?;
            if hash.len() != 64 || split(Path::new(path)).is_none() {
                return Err(format!("bad line `{l}`"));
            }
            files.insert(path.to_string(), hash.to_string());
        }
        Ok(Manifest { txn, files })
    }
}

fn read_manifest(dirs: &Dirs) -> Result<Option<Manifest>, Error> {
    match look(&dirs.root, MANIFEST, MANIFEST)? {
        Found::Nothing => Ok(None),
        Found::Other(what) => Err(Error::BadManifest(format!("it is {what}"))),
        Found::File(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| Error::BadManifest("not UTF-8".into()))?;
            Manifest::parse(&text).map(Some).map_err(Error::BadManifest)
        }
    }
}

/// One step of a run, as the journal records it before the run touches anything.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// A new file `dir/name`, staged as `tmp`; its SHA-256.
    Create { dir: String, name: String, tmp: String, hash: String },
    /// `dir/name` replaced by `tmp`; the old file hard-linked as `backup` first.
    Replace { dir: String, name: String, tmp: String, backup: String },
    /// `dir/name` moved to `backup`, deleted after the commit.
    Remove { dir: String, name: String, backup: String },
    /// A folder the run may create.
    Mkdir { dir: String },
    /// The new manifest, staged in the root.
    Manifest { tmp: String },
}

struct Journal {
    txn: String,
    steps: Vec<Step>,
}

impl Journal {
    fn render(&self) -> String {
        let mut s = format!("netpol-journal v1 {}\n", self.txn);
        for step in &self.steps {
            let line = match step {
                Step::Create { dir, name, tmp, hash } => format!("create\t{dir}\t{name}\t{tmp}\t{hash}"),
                Step::Replace { dir, name, tmp, backup } => {
                    format!("replace\t{dir}\t{name}\t{tmp}\t{backup}")
                }
                Step::Remove { dir, name, backup } => format!("remove\t{dir}\t{name}\t{backup}"),
                Step::Mkdir { dir } => format!("mkdir\t{dir}"),
                Step::Manifest { tmp } => format!("manifest\t{tmp}"),
            };
            s.push_str(&line);
            s.push('\n');
        }
        s.push_str("end\n");
        s
    }

    /// A journal cut short by a kill is read up to its last whole line: nothing after it was
    /// started, since the journal is complete before the first file is created.
    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.split_inclusive('\n');
        let txn = lines.next()?.strip_prefix("netpol-journal v1 ")?.trim_end().to_string();
        let mut steps = Vec::new();
        for line in lines {
            let Some(line) = line.strip_suffix('\n') else { break };
            let f: Vec<&str> = line.split('\t').collect();
            let s = |i: usize| f.get(i).map(|x| x.to_string()).unwrap_or_default();
            let step = match f[0] {
                "create" => Step::Create { dir: s(1), name: s(2), tmp: s(3), hash: s(4) },
                "replace" => Step::Replace { dir: s(1), name: s(2), tmp: s(3), backup: s(4) },
                "remove" => Step::Remove { dir: s(1), name: s(2), backup: s(3) },
                "mkdir" => Step::Mkdir { dir: s(1) },
                "manifest" => Step::Manifest { tmp: s(1) },
                "end" => break,
                _ => return None,
            };
            // Every name the journal gives for netpol's own files must be one of its own.
            let own = |n: &str| n.starts_with(RESERVED) && !n.contains('/');
            let ok = match &step {
                Step::Create { tmp, .. } | Step::Manifest { tmp } => own(tmp),
                Step::Replace { tmp, backup, .. } => own(tmp) && own(backup),
                Step::Remove { backup, .. } => own(backup),
                Step::Mkdir { .. } => true,
            };
            if !ok {
                return None;
            }
            steps.push(step);
        }
        Some(Journal { txn, steps })
    }
}

fn unlink_quiet(dir: &OwnedFd, name: &str) {
    let _ = rfs::unlinkat(dir, name, AtFlags::empty());
}

fn exists(dir: &OwnedFd, name: &str) -> bool {
    rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

/// Undoes (before the commit) or completes (after it) the run `journal` describes, so the
/// folder holds exactly what the manifest on disk says; then removes the journal.
fn settle(dirs: &mut Dirs, journal: &Journal) -> Result<String, Error> {
    let committed = read_manifest(dirs).ok().flatten().is_some_and(|m| m.txn == journal.txn);
    for step in journal.steps.iter().rev() {
        match step {
            Step::Create { dir, name, tmp, hash } => {
                let Some(d) = dirs.get(dir, false)? else { continue };
                unlink_quiet(d, tmp);
                if !committed {
                    // Ours when it holds exactly what the run wrote (it was created with
                    // RENAME_NOREPLACE, so nothing else was there).
                    if let Found::File(bytes) = look(d, name, name)? {
                        if sha256(&bytes) == *hash {
                            unlink_quiet(d, name);
                        }
                    }
                }
            }
            Step::Replace { dir, name, tmp, backup } => {
                let Some(d) = dirs.get(dir, false)? else { continue };
                unlink_quiet(d, tmp);
                if committed {
                    unlink_quiet(d, backup);
                } else if exists(d, backup) {
                    rfs::renameat(d, backup.as_str(), d, name.as_str())
                        .map_err(io_err(format!("cannot restore `{dir}/{name}`")))?;
                    // Before the new file was moved in, both names are links to the old file,
                    // and rename leaves both in place.
                    unlink_quiet(d, backup);
                }
            }
            Step::Remove { dir, name, backup } => {
                let Some(d) = dirs.get(dir, false)? else { continue };
                if committed {
                    unlink_quiet(d, backup);
                } else if exists(d, backup) {
                    rfs::renameat(d, backup.as_str(), d, name.as_str())
                        .map_err(io_err(format!("cannot restore `{dir}/{name}`")))?;
                }
            }
            Step::Mkdir { dir } => {
                if !committed {
                    dirs.open.remove(dir);
                    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
                    if let Some(p) = dirs.get(parent, false)? {
                        let _ = rfs::unlinkat(p, name, AtFlags::REMOVEDIR);
                    }
                }
            }
            Step::Manifest { tmp } => unlink_quiet(&dirs.root, tmp),
        }
    }
    if committed {
        for step in &journal.steps {
            if let Step::Remove { dir, .. } = step {
                remove_if_empty(dirs, dir);
            }
        }
    }
    rfs::unlinkat(&dirs.root, JOURNAL, AtFlags::empty()).map_err(io_err("cannot remove the journal"))?;
    Ok(if committed { "completed an interrupted run" } else { "rolled back an interrupted run" }.to_string())
}

fn remove_if_empty(dirs: &mut Dirs, dir: &str) {
    if dir.is_empty() {
        return;
    }
    dirs.open.remove(dir);
    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
    if let Ok(Some(p)) = dirs.get(parent, false) {
        if rfs::unlinkat(p, name, AtFlags::REMOVEDIR).is_ok() {
            remove_if_empty(dirs, parent);
        }
    }
}

fn open_root(root: &Path) -> Result<OwnedFd, Error> {
    rfs::open(root, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(io_err(format!("cannot open `{}`", root.display())))
}

fn lock(root: &OwnedFd) -> Result<(), Error> {
    match rfs::flock(root, rfs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Error::Busy),
        Err(e) => Err(io_err("cannot lock the folder")(e)),
    }
}

fn read_journal(dirs: &Dirs) -> Result<Option<Journal>, Error> {
    match look(&dirs.root, JOURNAL, JOURNAL)? {
        Found::Nothing => Ok(None),
        Found::Other(what) => Err(Error::BadManifest(format!("{JOURNAL} is {what}"))),
        // An unreadable journal: nothing was started after it (it is written in full before
        // the first file), so only it needs removing.
        Found::File(bytes) => Ok(Some(
            String::from_utf8(bytes)
                .ok()
                .and_then(|t| Journal::parse(&t))
                .unwrap_or(Journal { txn: String::new(), steps: Vec::new() }),
        )),
    }
}

/// Settles a run that was interrupted in `root` (see the module doc). `None` when there was
/// none to settle.
pub fn recover(root: &Path) -> Result<Option<String>, Error> {
    let mut dirs = Dirs::new(open_root(root)?);
    lock(&dirs.root)?;
    match read_journal(&dirs)? {
        Some(j) => settle(&mut dirs, &j).map(Some),
        None => Ok(None),
    }
}

/// What to do with one path.
/// A step planned for one file; contents stay the caller's, read again when written.
enum Plan<'a, C> {
    Create { dir: String, name: String, content: &'a C },
    Replace { dir: String, name: String, content: &'a C },
    Unchanged,
    Remove { dir: String, name: String },
}

/// Writes `files` (relative path → content) under `root` as one transaction.
pub fn write_tree<C: Content>(
    root: &Path,
    files: &[(PathBuf, C)],
    opts: WriteOptions,
) -> Result<Summary, Error> {
    if files.is_empty() && !opts.allow_empty {
        return Err(Error::Empty);
    }
    let mut wanted: BTreeMap<String, (String, String, &C)> = BTreeMap::new();
    for (rel, content) in files {
        let (dir, name) = split(rel).ok_or_else(|| Error::Io {
            what: format!("`{}`", rel.display()),
            error: io::Error::new(io::ErrorKind::InvalidInput, "not a plain relative path"),
        })?;
        wanted.insert(
            if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") },
            (dir, name, content),
        );
    }
    let mut summary = Summary::default();
    if opts.dry_run && !root.exists() {
        summary.written = wanted.keys().map(PathBuf::from).collect();
        return Ok(summary);
    }
    if !opts.dry_run {
        std::fs::create_dir_all(root)
            .map_err(|e| Error::Io { what: format!("cannot create `{}`", root.display()), error: e })?;
    }
    let mut dirs = Dirs::new(open_root(root)?);
    if !opts.dry_run {
        lock(&dirs.root)?;
        if let Some(j) = read_journal(&dirs)? {
            summary.recovered = Some(settle(&mut dirs, &j)?);
        }
    } else if read_journal(&dirs)?.is_some() {
        summary.recovered = Some("an interrupted run will be settled first".into());
    }
    let old = read_manifest(&dirs)?.map(|m| m.files).unwrap_or_default();

    // Plan everything before touching anything.
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    let mut new_manifest = BTreeMap::new();
    for (rel, (dir, name, content)) in &wanted {
        let content: &C = content;
        let bytes = content.bytes().map_err(|e| Error::Io { what: format!("`{rel}`"), error: e })?;
        let hash = sha256(&bytes);
        new_manifest.insert(rel.clone(), hash.clone());
        let found = match dirs.get(dir, false) {
            Ok(Some(d)) => look(d, name, rel)?,
            Ok(None) => Found::Nothing,
            Err(Error::Refused(r)) => {
                refused.extend(r);
                continue;
            }
            Err(e) => return Err(e),
        };
        match found {
            Found::Nothing => {
                summary.written.push(rel.into());
                plans.push(Plan::Create { dir: dir.clone(), name: name.clone(), content });
            }
            Found::Other(what) => refused.push((rel.into(), format!("is {what}, not a file netpol wrote"))),
            Found::File(old_bytes) if old_bytes == *bytes => {
                summary.unchanged.push(rel.into());
                plans.push(Plan::Unchanged);
            }
            Found::File(old_bytes) => match old.get(rel) {
                Some(h) if *h == sha256(&old_bytes) => {
                    summary.written.push(rel.into());
                    plans.push(Plan::Replace { dir: dir.clone(), name: name.clone(), content });
                }
                Some(_) => refused.push((rel.into(), "changed since netpol wrote it".into())),
                None => refused.push((rel.into(), "exists, and netpol did not write it".into())),
            },
        }
    }
    for (rel, hash) in &old {
        if wanted.contains_key(rel) {
            continue;
        }
        let Some((dir, name)) = split(Path::new(rel)) else { continue };
        let found = match dirs.get(&dir, false) {
            Ok(Some(d)) => look(d, &name, rel)?,
            Ok(None) => Found::Nothing,
            Err(_) => Found::Other("behind a link or not a folder"),
        };
        match found {
            Found::Nothing => {}
            Found::File(bytes) if sha256(&bytes) == *hash => {
                summary.removed.push(rel.into());
                plans.push(Plan::Remove { dir, name });
            }
            Found::File(_) => summary.left.push((rel.into(), "changed since netpol wrote it".into())),
            Found::Other(what) => summary.left.push((rel.into(), format!("is now {what}"))),
        }
    }
    if !refused.is_empty() {
        return Err(Error::Refused(refused));
    }
    if opts.dry_run {
        return Ok(summary);
    }
    apply(&mut dirs, plans, new_manifest)?;
    Ok(summary)
}

/// Journal, stage, back up, rename, commit, clean up; on any failure, roll back.
fn apply<C: Content>(
    dirs: &mut Dirs,
    plans: Vec<Plan<'_, C>>,
    files: BTreeMap<String, String>,
) -> Result<(), Error> {
    let txn = random_name("txn")?.trim_start_matches(RESERVED).trim_end_matches(".txn").to_string();
    let mut steps = Vec::new();
    let mut contents = Vec::new();
    let mut mkdirs = BTreeSet::new();
    for plan in plans {
        match plan {
            Plan::Create { dir, name, content } => {
                if dirs.get(&dir, false)?.is_none() {
                    // Every missing folder on the way, outermost first.
                    let mut at = String::new();
                    for part in dir.split('/') {
                        at = if at.is_empty() { part.to_string() } else { format!("{at}/{part}") };
                        if mkdirs.insert(at.clone()) {
                            steps.push(Step::Mkdir { dir: at.clone() });
                        }
                    }
                }
                let tmp = random_name("tmp")?;
                let hash = sha256(
                    &content.bytes().map_err(|e| Error::Io { what: format!("`{dir}/{name}`"), error: e })?,
                );
                steps.push(Step::Create { dir, name, tmp, hash });
                contents.push(content);
            }
            Plan::Replace { dir, name, content } => {
                steps.push(Step::Replace {
                    dir,
                    name,
                    tmp: random_name("tmp")?,
                    backup: random_name("old")?,
                });
                contents.push(content);
            }
            Plan::Remove { dir, name } => steps.push(Step::Remove { dir, name, backup: random_name("old")? }),
            Plan::Unchanged => {}
        }
    }
    let manifest = Manifest { txn: txn.clone(), files };
    let manifest_tmp = random_name("tmp")?;
    steps.push(Step::Manifest { tmp: manifest_tmp.clone() });
    let journal = Journal { txn, steps };

    if let Err(e) = create_file(&dirs.root, JOURNAL, journal.render().as_bytes(), true) {
        // Nothing was started: only the journal itself may be there, cut short.
        if e != rustix::io::Errno::EXIST {
            unlink_quiet(&dirs.root, JOURNAL);
        }
        return Err(io_err("cannot write the journal")(e));
    }
    let result = (|| {
        checkpoint()?;
        // Stage every new file.
        let mut contents = contents.iter();
        for step in &journal.steps {
            match step {
                Step::Mkdir { dir } => {
                    dirs.get(dir, true)?;
                }
                Step::Create { dir, tmp, .. } | Step::Replace { dir, tmp, .. } => {
                    let d = dirs.get(dir, true)?.ok_or_else(|| missing(dir))?;
                    let content = match contents.next() {
                        Some(c) => c.bytes().map_err(|e| Error::Io { what: format!("`{dir}`"), error: e })?,
                        None => Cow::Borrowed(&[][..]),
                    };
                    checkpoint()?;
                    create_file(d, tmp, &content, false)
                        .map_err(io_err(format!("cannot write in `{dir}`")))?;
                }
                _ => {}
            }
        }
        create_file(&dirs.root, &manifest_tmp, manifest.render().as_bytes(), true)
            .map_err(io_err("cannot write the manifest"))?;
        // Keep the old files until the commit.
        for step in &journal.steps {
            if let Step::Replace { dir, name, backup, .. } = step {
                let d = dirs.get(dir, false)?.ok_or_else(|| missing(dir))?;
                checkpoint()?;
                rfs::linkat(d, name.as_str(), d, backup.as_str(), AtFlags::empty())
                    .map_err(io_err(format!("cannot keep a copy of `{dir}/{name}`")))?;
            }
        }
        // Move everything into place.
        for step in &journal.steps {
            if matches!(step, Step::Create { .. } | Step::Replace { .. } | Step::Remove { .. }) {
                checkpoint()?;
            }
            match step {
                Step::Create { dir, name, tmp, .. } => {
                    let d = dirs.get(dir, false)?.ok_or_else(|| missing(dir))?;
                    rfs::renameat_with(d, tmp.as_str(), d, name.as_str(), RenameFlags::NOREPLACE)
                        .map_err(io_err(format!("cannot create `{dir}/{name}`")))?;
                }
                Step::Replace { dir, name, tmp, .. } => {
                    let d = dirs.get(dir, false)?.ok_or_else(|| missing(dir))?;
                    rfs::renameat(d, tmp.as_str(), d, name.as_str())
                        .map_err(io_err(format!("cannot replace `{dir}/{name}`")))?;
                }
                Step::Remove { dir, name, backup } => {
                    let d = dirs.get(dir, false)?.ok_or_else(|| missing(dir))?;
                    rfs::renameat(d, name.as_str(), d, backup.as_str())
                        .map_err(io_err(format!("cannot remove `{dir}/{name}`")))?;
                }
                _ => {}
            }
        }
        // Everything on disk before the commit (against a power cut; a kill needs no sync).
        #[cfg(target_os = "linux")]
        let _ = rfs::syncfs(&dirs.root);
        checkpoint()?;
        rfs::renameat(&dirs.root, manifest_tmp.as_str(), &dirs.root, MANIFEST)
            .map_err(io_err("cannot write the manifest"))?;
        checkpoint()
    })();
    match result {
        #[cfg(test)]
        Err(Error::Killed) => Err(Error::Killed),
        // Committed: drop the backups and the journal.
        Ok(()) => settle(dirs, &journal).map(|_| ()),
        Err(e) => {
            settle(dirs, &journal)?;
            Err(e)
        }
    }
}

fn missing(dir: &str) -> Error {
    Error::Io { what: format!("folder `{dir}`"), error: io::Error::from(io::ErrorKind::NotFound) }
}

/// Creates `name` in `dir` exclusively (never through a link) with `content`.
fn create_file(dir: &OwnedFd, name: &str, content: &[u8], sync: bool) -> rustix::io::Result<()> {
    let fd = rfs::openat(
        dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o666),
    )?;
    let mut f = std::fs::File::from(fd);
    let written = f.write_all(content).and_then(|_| if sync { f.sync_all() } else { Ok(()) });
    written.map_err(|e| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize, tag: &str) -> Vec<(PathBuf, String)> {
        (0..n).map(|i| (PathBuf::from(format!("ns{}/f{i}.yaml", i % 3)), format!("{tag} {i}\n"))).collect()
    }

    fn disk(root: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for d in std::fs::read_dir(root).expect("root") {
            let p = d.expect("entry").path();
            if p.is_dir() {
                for f in std::fs::read_dir(&p).expect("dir") {
                    let f = f.expect("entry").path();
                    let rel = f.strip_prefix(root).expect("rel").display().to_string();
                    out.insert(rel, std::fs::read_to_string(&f).expect("read"));
                }
            } else {
                let name = p.file_name().expect("name").to_string_lossy().to_string();
                if name != MANIFEST {
                    out.insert(name, String::new());
                }
            }
        }
        out
    }

    fn want(set: &[(PathBuf, String)]) -> BTreeMap<String, String> {
        set.iter().map(|(p, c)| (p.display().to_string(), c.clone())).collect()
    }

    fn run(root: &Path, set: &[(PathBuf, String)], stop: Option<(usize, bool)>) -> Result<Summary, Error> {
        let refs: Vec<(PathBuf, &str)> = set.iter().map(|(p, c)| (p.clone(), c.as_str())).collect();
        PASSED.set(0);
        STOP_AT.set(stop);
        let r = write_tree(root, &refs, WriteOptions::default());
        STOP_AT.set(None);
        r
    }

    /// A failure at every checkpoint rolls back to exactly the old set; a death at every
    /// checkpoint settles (as the next run would) to exactly the old or the new set.
    #[test]
    fn every_checkpoint_rolls_back_or_settles_whole() {
        let old = files(7, "old");
        // Some replaced, some new (ns3 is a new folder), some removed, one unchanged.
        let mut new = files(5, "new");
        new.push((PathBuf::from("ns3/g.yaml"), "g\n".into()));
        new.push(old[4].clone());
        new.sort();
        new.dedup_by(|a, b| a.0 == b.0);
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("out");
        run(&root, &old, None).expect("old");
        // Count the checkpoints of a whole run.
        let probe = tempfile::tempdir().expect("tmp");
        run(&probe.path().join("out"), &old, None).expect("old");
        run(&probe.path().join("out"), &new, None).expect("new");
        let checkpoints = PASSED.get();
        assert!(checkpoints > 10, "{checkpoints}");
        for at in 0..checkpoints {
            assert!(run(&root, &new, Some((at, false))).is_err(), "failure at {at}");
            if at + 1 < checkpoints {
                assert_eq!(disk(&root), want(&old), "failure at checkpoint {at} did not roll back");
            } else {
                // After the commit: the new set stands.
                assert_eq!(disk(&root), want(&new), "failure after the commit");
                run(&root, &old, None).expect("old again");
            }

            assert!(matches!(run(&root, &new, Some((at, true))), Err(Error::Killed)));
            assert!(root.join(JOURNAL).exists(), "death at {at} left no journal");
            recover(&root).expect("recover");
            let now = disk(&root);
            assert!(now == want(&old) || now == want(&new), "death at checkpoint {at}: {now:?}");
            // Back to the old set for the next round.
            run(&root, &old, None).expect("old again");
            assert_eq!(disk(&root), want(&old));
        }
        // The last checkpoint is after the commit: dying there keeps the new set.
        assert!(matches!(run(&root, &new, Some((checkpoints - 1, true))), Err(Error::Killed)));
        recover(&root).expect("recover");
        assert_eq!(disk(&root), want(&new));
    }
}
