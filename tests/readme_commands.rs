//! Every command the README shows runs, word for word: each `netpol …` line of its `sh` and
//! `console` blocks (and "Try it"'s `cargo run --release -- …`, with the built binary) runs in
//! a copy of the examples, with the exit status it is meant to have. A command that is not
//! netpol's (cargo, kubectl, the fuzzing steps) is named in `NOT_NETPOL`, so a new one cannot be
//! skipped without a word.

mod common;

use common::{root, text};
use std::path::Path;
use std::process::Command;

/// Commands that are not netpol's, and what checks them instead.
const NOT_NETPOL: &[&str] = &[
    // Tested by the packaging measurements and by CI itself (`.ci/run` is the test command).
    "cargo install --path .",
    "cargo test",
    // The inventory a user dumps from a cluster; `examples/cluster/inventory.yaml` stands in.
    "kubectl get namespaces,pods,deployments,statefulsets,daemonsets -A -o yaml > inventory.yaml",
    // Development: snapshot review, schema override and fuzzing need tools CI does not install.
    "cargo install cargo-insta",
    "cargo insta review",
    "cargo insta test --review",
    "INSTA_UPDATE=always cargo test",
    "NETPOL_SCHEMAS=/path/to/schemas cargo test",
    "cargo install cargo-fuzz",
    "cargo +nightly fuzz run -s none -a pipeline -- -dict=fuzz/netpol.dict -max_len=4096 -rss_limit_mb=2048 -timeout=10 -max_total_time=600",
    "cargo +nightly fuzz run -s none -a fmt fuzz/corpus/fmt fuzz/corpus/pipeline -- -dict=fuzz/netpol.dict -max_len=4096 -rss_limit_mb=2048 -timeout=10 -max_total_time=600",
    "bin=fuzz/target/x86_64-unknown-linux-gnu/release",
    "mkdir /tmp/min && $bin/pipeline -set_cover_merge=1 -use_counters=0 /tmp/min fuzz/corpus/pipeline",
    "rm -r fuzz/corpus/pipeline && mv /tmp/min fuzz/corpus/pipeline",
];

/// Commands whose documented exit status is not 0.
const EXIT: &[(&str, i32)] = &[
    // A diff that finds changes exits 1, as `diff(1)` does.
    ("netpol diff examples/diff/old.yaml examples/diff/new.yaml", 1),
    // A replay in which some recorded flow would be dropped exits 1.
    ("netpol replay examples/event-streams.netpol examples/flows/event-streams.jsonl", 1),
];

/// The commands of the README's shell blocks, in order, with their line numbers: `$ ` lines of
/// `console` blocks, every line of `sh` blocks (continuations joined, comments dropped).
fn commands(readme: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        let n = i + 1;
        if let Some(lang) = line.strip_prefix("```") {
            block = if block.is_some() { None } else { Some(lang.trim()) };
            continue;
        }
        let cmd = match block {
            Some("sh" | "bash") => line,
            Some("console") => match line.strip_prefix("$ ") {
                Some(c) => c,
                None => continue,
            },
            _ => continue,
        };
        // A comment after the command: two spaces or more, then `#`.
        let cmd = match cmd.find("  #").or_else(|| cmd.find("\t#")) {
            Some(at) => &cmd[..at],
            None => cmd,
        };
        let cmd = cmd.trim();
        let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        match cmd.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head.trim());
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(cmd);
                if !joined.is_empty() {
                    out.push((start, joined));
                }
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

#[test]
fn every_readme_command_runs_as_written() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let all = commands(&readme);
    assert!(all.len() > 20, "the extraction finds the README's commands: {all:#?}");

    // A user's working copy: the examples and upstream files the commands name, a policy folder,
    // an inventory, a home for completion scripts.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    copy_dir(&root.join("examples"), &d.join("examples"));
    copy_dir(&root.join("tests/upstream"), &d.join("tests/upstream"));
    std::fs::create_dir(d.join("policies")).expect("mkdir");
    std::fs::copy(root.join("examples/event-streams.netpol"), d.join("policies/event-streams.netpol"))
        .expect("copy");
    std::fs::copy(root.join("examples/cross-namespace.netpol"), d.join("shop.netpol")).expect("copy");
    std::fs::copy(root.join("examples/cluster/inventory.yaml"), d.join("inventory.yaml")).expect("copy");
    let home = d.join("home");
    std::fs::create_dir_all(home.join(".local/share/bash-completion/completions")).expect("mkdir");
    let bin = Path::new(env!("CARGO_BIN_EXE_netpol"));
    let path =
        format!("{}:{}", bin.parent().expect("bin dir").display(), std::env::var("PATH").unwrap_or_default());

    let mut ran = 0;
    let mut failures = Vec::new();
    for (line, cmd) in &all {
        let runnable = match cmd.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("netpol {rest}"),
            None if cmd.starts_with("netpol ") => cmd.clone(),
            None => {
                if cmd == "bash .ci/run" {
                    // The test command itself: this test is part of what it runs.
                    continue;
                }
                assert!(
                    NOT_NETPOL.contains(&cmd.as_str()),
                    "README.md:{line}: `{cmd}` is not a netpol command; run it here or name it in NOT_NETPOL"
                );
                continue;
            }
        };
        let out = Command::new("bash")
            .args(["-c", &format!("set -o pipefail; {runnable}")])
            .current_dir(d)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .env_remove("NETPOL_SCHEMAS")
            .output()
            .expect("bash");
        ran += 1;
        let want = EXIT.iter().find(|(c, _)| c == cmd).map_or(0, |(_, code)| *code);
        if out.status.code() != Some(want) {
            failures.push(format!(
                "README.md:{line}: `{cmd}` exited {:?}, not {want}\n{}{}",
                out.status.code(),
                text(&out.stderr).lines().take(30).collect::<Vec<_>>().join("\n"),
                text(&out.stdout).lines().take(10).collect::<Vec<_>>().join("\n"),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} README commands failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran >= 20, "only {ran} commands ran");
    // Every exception still names a command the README shows.
    for (c, _) in EXIT {
        assert!(all.iter().any(|(_, a)| a == c), "EXIT names `{c}`, which the README no longer shows");
    }
}

/// "Try it" is exactly two commands: one that builds and runs the compiler on an example, one
/// that runs the tests; and the first one's output starts with the YAML, not with warnings.
#[test]
fn try_it_is_two_commands_and_the_first_screen_is_the_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme.split("\n## Try it\n").nth(1).and_then(|s| s.split("\n## ").next()).expect("Try it");
    let cmds = commands(section);
    let cmds: Vec<&str> = cmds.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(cmds[0].starts_with("cargo run --release -- "), "{cmds:?}");
    let rest = cmds[0].trim_start_matches("cargo run --release -- ");
    let args: Vec<&str> = rest.split_whitespace().collect();
    let out = common::netpol(&args, &root());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).trim().is_empty(), "the first screen is the YAML:\n{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("# Generated by netpol")
            || text(&out.stdout).starts_with("---")
            || text(&out.stdout).starts_with("apiVersion"),
        "{}",
        text(&out.stdout)
    );
}

/// `netpol check examples/` reads the folder as one program, and the examples declare the same
/// workloads: the duplicate's help says why, and how to check separate programs.
#[test]
fn a_duplicate_across_files_says_the_files_are_one_program() {
    let out = common::netpol(&["check", "examples/"], &root());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0102]"), "{err}");
    assert!(err.contains("make one program, so check separate programs one file at a time"), "{err}");
    // Within one file, the plain help.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.netpol"),
        "namespace a\nworkload w { app: w }\nworkload w { app: v }\n",
    )
    .expect("write");
    let err = text(&common::netpol(&["check", "a.netpol"], dir.path()).stderr);
    assert!(err.contains("help: rename one of them, or remove the second declaration\n"), "{err}");
}
