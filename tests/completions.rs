//! `netpol completions` and `netpol man`, run as a user would: bash sources the script and
//! completes commands and `--target` values; `man -l` renders the pages.

mod common;

use common::{netpol, root, text};
use std::process::Command;

/// What bash's completion function offers for the words typed so far (the last one being
/// completed).
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("netpol.bash");
    std::fs::write(&path, script).expect("write");
    let list = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" ");
    let prev = if words.len() >= 2 { words[words.len() - 2] } else { "" };
    let program = format!(
        "source '{}'; COMP_WORDS=({list}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _netpol netpol '{}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
    );
    let out = Command::new("bash").args(["--norc", "-c", &program]).output().expect("bash runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_commands_and_target_values() {
    let out = netpol(&["completions", "bash"], &root());
    assert_eq!(out.status.code(), Some(0));
    let script = text(&out.stdout);
    let commands = bash_complete(&script, &["netpol", "im"]);
    assert_eq!(commands, ["import"], "{commands:?}");
    let all = bash_complete(&script, &["netpol", ""]);
    for c in ["compile", "check", "verify", "why", "matrix", "import", "fmt", "completions", "man"] {
        assert!(all.iter().any(|w| w == c), "no `{c}` in {all:?}");
    }
    let mut targets = bash_complete(&script, &["netpol", "compile", "--target", ""]);
    targets.sort();
    assert_eq!(targets, ["all", "calico", "cilium", "kubernetes", "kubernetes-cnp"], "{targets:?}");
    let options = bash_complete(&script, &["netpol", "import", "--lo"]);
    assert_eq!(options, ["--lossy"], "{options:?}");
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = netpol(&["completions", shell], &root());
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains("import"), "{shell}: no `import` in the script");
    }
    let out = netpol(&["completions", "tcsh"], &root());
    assert_eq!(out.status.code(), Some(2));
}

/// `man -l` renders netpol(1) and each command's page with its options.
#[test]
fn man_renders_the_pages() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("SKIPPED: man_renders_the_pages: `man` is not installed here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (command, title, option) in
        [(None, "netpol(1)", "completions"), (Some("import"), "netpol-import(1)", "--lossy")]
    {
        let mut args = vec!["man"];
        args.extend(command);
        let out = netpol(&args, &root());
        assert_eq!(out.status.code(), Some(0));
        let page = dir.path().join("page.1");
        std::fs::write(&page, &out.stdout).expect("write");
        let shown = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .expect("man runs");
        assert!(shown.status.success(), "{}", text(&shown.stderr));
        let shown = text(&shown.stdout);
        assert!(shown.contains(title) && shown.contains(option), "{shown}");
    }
    let out = netpol(&["man", "nope"], &root());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the commands are: compile"), "{}", text(&out.stderr));
}
