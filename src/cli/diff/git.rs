//! `--git REV`: the old side as it is at a revision, copied into a temporary folder, and a
//! loader that names its files `REV:path`.

use super::SidePaths;
use crate::cli::say;
use crate::driver::Loader;
use std::path::Path;

/// Sources read from a revision: named `REV:path`, read from the temporary folder.
pub(super) struct Renamed<'a> {
    pub tmp: &'a Path,
    pub shown: &'a str,
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
        crate::cli::FsLoader.load(&self.real(path))
    }

    fn join(&self, from: &str, import: &str) -> String {
        match from.strip_prefix(self.shown) {
            Some(rest) => format!("{}{}", self.shown, crate::cli::FsLoader.join(rest, import)),
            None => crate::cli::FsLoader.join(from, import),
        }
    }

    fn key(&self, path: &str) -> String {
        crate::cli::FsLoader.key(&self.real(path))
    }

    fn is_source(&self, path: &str) -> bool {
        crate::cli::FsLoader.is_source(path)
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
pub(super) fn git_side(rev: &str, path: &Path) -> Result<(tempfile::TempDir, SidePaths), String> {
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
        let wanted =
            single || crate::cli::input::is_manifest_name(Path::new(file)) || file.ends_with(".netpol");
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
    let side = SidePaths { label, paths: if found { vec![old] } else { Vec::new() }, rename };
    Ok((tmp, side))
}
