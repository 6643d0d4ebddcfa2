//! The GitHub Action (`action.yml`): its definition is consistent (every input it uses is
//! declared, its outputs come from its check step, which runs `ci/action.sh`), and that step
//! runs as a runner would run it (inputs as `INPUT_*`, `GITHUB_OUTPUT` set): annotations for
//! the findings, the outputs, SARIF when asked, and the pull-request comment when asked.

mod common;

use common::{netpol, root, text};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    serde_yaml::from_str(&text).expect("action.yml is YAML")
}

#[test]
fn the_action_uses_only_what_it_declares() {
    let a = action();
    assert_eq!(a["runs"]["using"], "composite");
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let inputs = a["inputs"].as_object().expect("inputs");
    for used in text.split("inputs.").skip(1) {
        let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        assert!(inputs.contains_key(&name), "`inputs.{name}` is used but not declared");
    }
    let steps = a["runs"]["steps"].as_array().expect("steps");
    let check = steps.iter().find(|s| s["id"] == "check").expect("a step `check`");
    assert!(check["run"].as_str().expect("run").contains("ci/action.sh"));
    for (name, output) in a["outputs"].as_object().expect("outputs") {
        let value = output["value"].as_str().expect("value");
        assert_eq!(value, format!("${{{{ steps.check.outputs.{name} }}}}"), "output {name}");
    }
    for step in steps.iter().filter(|s| s.get("run").is_some()) {
        assert_eq!(step["shell"], "bash", "a composite run step needs a shell: {step:?}");
    }
}

/// Runs `ci/action.sh` in `dir` with the inputs; (status, stdout, the outputs written).
fn run_step(dir: &Path, inputs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = dir.join("github_output");
    let _ = std::fs::remove_file(&output);
    let mut c = Command::new("bash");
    c.arg(root().join("ci/action.sh"))
        .current_dir(dir)
        .env("NETPOL", env!("CARGO_BIN_EXE_netpol"))
        .env("GITHUB_OUTPUT", &output)
        .env_remove("PR_NUMBER")
        .env_remove("GITHUB_TOKEN");
    for (k, v) in inputs {
        c.env(k, v);
    }
    let out = c.output().expect("bash runs");
    (out.status.code(), text(&out.stdout), std::fs::read_to_string(&output).unwrap_or_default())
}

#[test]
fn the_check_step_annotates_and_sets_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/shop.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from nobody\n",
    )
    .expect("write");
    let (code, stdout, outputs) =
        run_step(dir.path(), &[("INPUT_PATH", "policies"), ("INPUT_SARIF", "netpol.sarif")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("::error file=policies/shop.netpol,line=3")), "{stdout}");
    assert_eq!(outputs, "errors=1\nwarnings=0\n");
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("netpol.sarif")).expect("the SARIF file"),
    )
    .expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "E0101");

    std::fs::write(
        dir.path().join("policies/shop.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\n",
    )
    .expect("write");
    let (code, stdout, outputs) =
        run_step(dir.path(), &[("INPUT_PATH", "policies"), ("INPUT_TARGET", "all")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(outputs, "errors=0\nwarnings=0\n");
}

/// With `diff-comment`, the step also runs the pull-request diff (printed here, without a
/// token) and sets `changed`.
#[test]
fn the_check_step_comments_the_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(d)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::create_dir(d.join("policies")).expect("mkdir");
    let program =
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\ndb accepts tcp 5432 from web\n";
    std::fs::write(d.join("policies/shop.netpol"), program).expect("write");
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    std::fs::write(d.join("policies/shop.netpol"), program.replace("5432", "5433")).expect("write");
    git(&["commit", "-q", "-am", "the change"]);
    let (code, stdout, outputs) =
        run_step(d, &[("INPUT_PATH", "policies"), ("INPUT_DIFF_COMMENT", "true"), ("BASE_REF", "HEAD~1")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(outputs, "errors=0\nwarnings=0\nchanged=true\n");
    let diff = netpol(&["diff", "--git", "HEAD~1", "policies", "--format", "markdown"], d);
    assert!(stdout.ends_with(&text(&diff.stdout)), "{stdout}");
}
