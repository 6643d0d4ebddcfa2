//! Writing one file per object into an output folder without ever leaving it half-written:
//! every file is written to a temporary name first, then renamed into place; files an earlier
//! run of netpol wrote that are no longer produced are removed last.

use crate::backend::{Object, MANAGED_BY};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `<namespace>/<kind>-<name>.yaml`, or `_cluster/<kind>-<name>.yaml` for cluster-scoped objects.
pub fn relative_path(o: &Object) -> PathBuf {
    let dir = o.namespace.as_deref().unwrap_or("_cluster");
    PathBuf::from(dir).join(format!("{}-{}.yaml", o.kind.to_ascii_lowercase(), o.name))
}

/// Writes `files` (relative path → content) under `root`.
pub fn write_tree(root: &Path, files: &[(PathBuf, &str)]) -> io::Result<()> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (rel, content) in files {
            let dest = root.join(rel);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)?;
            }
            let tmp = dest.with_extension(format!("yaml.netpol-tmp-{}", std::process::id()));
            fs::write(&tmp, content)?;
            staged.push((tmp, dest));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (tmp, dest) in &staged {
        fs::rename(tmp, dest)?;
    }
    remove_stale(root, files)
}

/// Removes YAML files under `root` that carry netpol's managed-by label but were not written
/// now (the workload or namespace they came from is gone).
fn remove_stale(root: &Path, keep: &[(PathBuf, &str)]) -> io::Result<()> {
    let keep: std::collections::HashSet<PathBuf> = keep.iter().map(|(p, _)| root.join(p)).collect();
    let marker = format!("{}: {}", MANAGED_BY.0, MANAGED_BY.1);
    for path in yaml_files(root)? {
        if keep.contains(&path) {
            continue;
        }
        if fs::read_to_string(&path).is_ok_and(|t| t.contains(&marker)) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn yaml_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(yaml_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    Ok(out)
}
