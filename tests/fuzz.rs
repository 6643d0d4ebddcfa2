//! The fuzz targets' checks (`netpol::fuzzing`, run by `cargo +nightly fuzz run pipeline|fmt`
//! in `fuzz/`) on stable Rust: every input of the committed, minimised corpora
//! (`fuzz/corpus/*/`) and every input a fuzzer ever failed on (`tests/fuzz_regressions/`),
//! each through both the whole pipeline and `fmt`.
//!
//! Inputs for failures still open sit in `tests/fuzz_regressions/open/`: they are not run
//! here until their fix lands and they are moved up a folder.

mod common;

use common::root;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    out.sort();
    out
}

fn run_all(paths: &[PathBuf]) {
    for path in paths {
        let input = std::fs::read(path).expect("read");
        let name = path.strip_prefix(root()).unwrap_or(path).display().to_string();
        for (check, f) in
            [("pipeline", netpol::fuzzing::pipeline as fn(&[u8])), ("fmt", netpol::fuzzing::fmt)]
        {
            if let Err(e) = std::panic::catch_unwind(|| f(&input)) {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{check} fails on {name}: {why}\n---- input\n{}", String::from_utf8_lossy(&input));
            }
        }
    }
}

#[test]
fn the_pipeline_corpus_passes() {
    let paths = files(&root().join("fuzz/corpus/pipeline"));
    assert!(paths.len() >= 20, "the pipeline corpus is committed ({} files)", paths.len());
    run_all(&paths);
}

#[test]
fn the_fmt_corpus_passes() {
    let paths = files(&root().join("fuzz/corpus/fmt"));
    assert!(paths.len() >= 20, "the fmt corpus is committed ({} files)", paths.len());
    run_all(&paths);
}

#[test]
fn every_past_finding_passes() {
    run_all(&files(&root().join("tests/fuzz_regressions")));
}

/// The corpora cover the seeds' constructs: each example's first statement of each kind is in
/// some corpus file, so a corpus minimised into a handful of trivial inputs would fail here.
#[test]
fn the_corpora_keep_the_examples_constructs() {
    let mut text = String::new();
    for dir in ["fuzz/corpus/pipeline", "fuzz/corpus/fmt"] {
        for p in files(&root().join(dir)) {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(p).expect("read")));
        }
    }
    for word in
        ["accepts", "connects to", "except", "default deny", "expect", "param", "if ", "group", "refuses"]
    {
        assert!(text.contains(word), "no corpus input uses `{word}`");
    }
}
