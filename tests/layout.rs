//! The source tree's rules: each CNI's reader stands apart from every emitter (the reader is
//! the independent judge of what an emitter writes), files stay small enough to read, and the
//! language server does not depend on the command line.

mod common;

use common::root;
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A file's code without its tests: nothing after `#[cfg(test)]`, and nothing of a file that
/// is itself tests (`tests.rs`, `tests_*.rs`, or below a `tests` folder).
fn code(path: &Path) -> Option<String> {
    let tests = path.components().any(|c| c.as_os_str() == "tests")
        || path.file_stem().is_some_and(|s| s.to_string_lossy().starts_with("tests"));
    if tests {
        return None;
    }
    let text = std::fs::read_to_string(path).expect("read");
    Some(text.split("#[cfg(test)]").next().unwrap_or("").to_string())
}

/// The reader files of each CNI (and the readers' shared module).
fn reader_files() -> Vec<PathBuf> {
    let src = root().join("src");
    let mut out = vec![src.join("analysis/targets/mod.rs"), src.join("targets/kubernetes/selector.rs")];
    for cni in ["kubernetes", "cilium", "calico"] {
        let dir = src.join("targets").join(cni);
        let single = dir.join("read.rs");
        if single.exists() {
            out.push(single);
        }
        if dir.join("read").is_dir() {
            out.extend(rust_files(&dir.join("read")));
        }
    }
    out
}

/// A grouped import naming an emitter: `backend::{cilium, Object}`.
fn grouped() -> regex::Regex {
    regex::Regex::new(r"backend::\{[^}]*\b(kubernetes|cilium|calico|Backend)\b").expect("pattern")
}

#[test]
fn a_reader_never_imports_an_emitter() {
    let forbidden = [
        "::emit",
        "emit::",
        "backend::kubernetes",
        "backend::cilium",
        "backend::calico",
        "backend::Backend",
        ".backend()",
    ];
    let grouped = grouped();
    let files = reader_files();
    assert!(files.len() >= 10, "{files:?}");
    let mut found = Vec::new();
    for f in files {
        let Some(code) = code(&f) else { continue };
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            if forbidden.iter().any(|p| line.contains(p)) || grouped.is_match(line) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "readers use an emitter:\n{}", found.join("\n"));
}

#[test]
fn the_rule_catches_an_import() {
    // The check above looks at the right text: a reader line that named an emitter is found.
    let grouped = grouped();
    assert!(grouped.is_match("use crate::backend::{cilium::pod_selector, Object};"));
    assert!(!grouped.is_match("use crate::backend::{Object, Target, ANNOTATION_RULES};"));
    assert!(code(Path::new("src/targets/cilium/read/tests.rs")).is_none());
    assert!(reader_files().iter().any(|f| f.ends_with("targets/cilium/read/mod.rs")));
}

#[test]
fn each_cni_keeps_its_emitter_and_reader_side_by_side() {
    for cni in ["kubernetes", "cilium", "calico"] {
        let dir = root().join("src/targets").join(cni);
        let emit = dir.join("emit.rs").exists() || dir.join("emit/mod.rs").exists();
        let read = dir.join("read.rs").exists() || dir.join("read/mod.rs").exists();
        assert!(emit && read, "{cni}: src/targets/{cni}/{{emit,read}}");
    }
    for old in ["src/backend/kubernetes.rs", "src/analysis/targets/cilium", "src/analysis/targets/calico"] {
        assert!(!root().join(old).exists(), "{old} is back outside src/targets");
    }
}

#[test]
fn target_files_stay_under_about_600_lines_of_code() {
    let mut long = Vec::new();
    for f in rust_files(&root().join("src/targets")) {
        let Some(code) = code(&f) else { continue };
        let n = code.lines().count();
        if n > 650 {
            long.push(format!("{}: {n} lines", f.display()));
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

#[test]
fn the_language_server_does_not_use_the_command_line() {
    for f in rust_files(&root().join("src/lsp")) {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(!text.contains("crate::cli") && !text.contains("super::cli"), "{} uses cli", f.display());
    }
}
