//! The pre-commit hooks (`.pre-commit-hooks.yaml`), run by the real pre-commit (pinned, from
//! PyPI; `.ci/run` installs it and names it in `NETPOL_PRE_COMMIT`) on a temporary repository
//! that uses this one as its hook source, at its HEAD commit: a bad `.netpol` file fails the
//! commit with its diagnostic; an unformatted one is fixed by the fmt hook; the check-only fmt
//! hook fails without changing the file.
//!
//! pre-commit builds netpol from this repository with cargo (`language: rust`); the test
//! builds it unoptimised (the release profile overridden through cargo's environment: the
//! hooks' behaviour, not the binary's speed, is under test, and an optimised build of every
//! dependency costs CI minutes) and keeps cargo's target folder and pre-commit's cache under
//! `target/`, so a second run is quick. Where pre-commit is missing the test says
//! SKIPPED, unless `NETPOL_REQUIRE_PRE_COMMIT=1`, where it fails.

mod common;

use common::{root, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pre_commit() -> Option<PathBuf> {
    let path =
        std::env::var_os("NETPOL_PRE_COMMIT").map(PathBuf::from).unwrap_or_else(|| "pre-commit".into());
    if Command::new(&path).arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some(path);
    }
    let why = format!("{} does not run here; `python3 -m pip install pre-commit==4.7.0`", path.display());
    assert_ne!(std::env::var("NETPOL_REQUIRE_PRE_COMMIT").as_deref(), Ok("1"), "{why}");
    eprintln!("SKIPPED: the pre-commit hook tests: {why}");
    None
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("PRE_COMMIT_COLOR", "never")
        .output()
        .expect("git runs")
}

#[test]
fn hooks_check_and_format_on_commit() {
    let Some(pre_commit) = pre_commit() else { return };
    let rev = text(&git(&root(), &["rev-parse", "HEAD"]).stdout).trim().to_string();
    let committed = git(&root(), &["show", "HEAD:.pre-commit-hooks.yaml"]);
    assert!(committed.status.success(), "commit .pre-commit-hooks.yaml first: the hooks are read at HEAD");

    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    assert!(git(dir, &["init", "-q", "-b", "main"]).status.success());
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: netpol-check\n  - id: netpol-fmt\n",
            root().display()
        ),
    )
    .expect("write");
    // pre-commit's cache and cargo's target folder outlive the test; the build is unoptimised.
    let cache = root().join("target/pre-commit");
    let hook_env = |c: &mut Command| {
        c.env("PRE_COMMIT_HOME", cache.join("home"))
            .env("CARGO_TARGET_DIR", cache.join("cargo-target"))
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
            .env("PRE_COMMIT_COLOR", "never");
    };
    let mut install = Command::new(&pre_commit);
    install.args(["install", "--install-hooks"]).current_dir(dir);
    hook_env(&mut install);
    let out = install.output().expect("pre-commit runs");
    assert!(out.status.success(), "pre-commit install: {}{}", text(&out.stdout), text(&out.stderr));

    let commit = |message: &str| {
        let mut c = Command::new("git");
        c.args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(["commit", "-q", "-m", message])
            .current_dir(dir);
        hook_env(&mut c);
        let out = c.output().expect("git commit runs");
        (out.status.success(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
    };

    // A name that is not declared: the commit fails with the diagnostic.
    std::fs::write(
        dir.join("shop.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from nobody\n",
    )
    .expect("write");
    assert!(git(dir, &["add", "."]).status.success());
    let (ok, said) = commit("a bad policy");
    assert!(!ok, "the commit should fail:\n{said}");
    assert!(said.contains("netpol check") && said.contains("E0101"), "{said}");

    // Fixed but not in the canonical layout: the fmt hook rewrites it and stops the commit once.
    let messy = "namespace shop\nworkload   web {app: web}\nweb accepts tcp 80 from   anywhere\n";
    std::fs::write(dir.join("shop.netpol"), messy).expect("write");
    assert!(git(dir, &["add", "."]).status.success());
    let (ok, said) = commit("a messy policy");
    assert!(!ok && said.contains("files were modified by this hook"), "{said}");
    let formatted = std::fs::read_to_string(dir.join("shop.netpol")).expect("read");
    assert_ne!(formatted, messy);
    assert!(formatted.contains("workload web { app: web }"), "{formatted}");
    assert!(git(dir, &["add", "."]).status.success());
    let (ok, said) = commit("the policy, formatted");
    assert!(ok, "{said}");

    // The check-only hook fails on an unformatted file and leaves it alone.
    let mut run = Command::new(&pre_commit);
    std::fs::write(dir.join("shop.netpol"), messy).expect("write");
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!("repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: netpol-fmt-check\n", root().display()),
    )
    .expect("write");
    run.args(["run", "--all-files"]).current_dir(dir);
    hook_env(&mut run);
    let out = run.output().expect("pre-commit runs");
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(dir.join("shop.netpol")).expect("read"), messy);
}
