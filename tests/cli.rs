//! The real binary, as CI pipelines run it: stdout, stderr and exit codes.

mod common;

use std::path::Path;

use common::{netpol, text, write};

const GOOD: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nweb -> db on tcp 5432 \"queries\"\nweb connects to kube-dns\n";
const BAD: &str = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from frontend\n";
const WARN: &str = "namespace shop\nworkload web { app: web }\nworkload unused { app: x }\nweb accepts tcp 80 from anywhere\n";

#[test]
fn compile_prints_yaml_on_stdout_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["compile", "p.netpol", "--target", "kubernetes"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    insta::assert_snapshot!("cli_compile_stdout", text(&out.stdout));
}

#[test]
fn errors_exit_one_with_diagnostics_on_stderr_and_nothing_on_stdout() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", BAD);
    let out = netpol(&["compile", "p.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!("cli_compile_error_stderr", text(&out.stderr));
}

#[test]
fn check_reports_json_and_github_annotations() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", BAD);
    let out = netpol(&["check", "p.netpol", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(report["errors"], 1);
    assert_eq!(report["diagnostics"][0]["code"], "E0101");
    assert_eq!(report["diagnostics"][0]["line"], 3);
    assert_eq!(report["diagnostics"][0]["column"], 25);
    let out = netpol(&["check", "p.netpol", "--format", "github"], dir.path());
    assert_eq!(
        text(&out.stdout),
        "::error file=p.netpol,line=3,col=25,endLine=3,endColumn=33,title=E0101::unknown peer `frontend`%0Ahelp: declare it, as in `workload frontend { app: frontend }`\n"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", WARN);
    let out = netpol(&["check", "p.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[W0204]"));
    let out = netpol(&["check", "p.netpol", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = netpol(&["compile", "p.netpol", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "", "no YAML when warnings are denied");
}

#[test]
fn output_folder_gets_one_file_per_object_and_stale_files_go() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let web = dir.path().join("out/shop/networkpolicy-web.yaml");
    let db = dir.path().join("out/shop/networkpolicy-db.yaml");
    assert!(web.is_file() && db.is_file());
    write(dir.path(), "out/notes.yaml", "kept: true\n");
    // db loses its policy: its file must go, the user's own file must stay.
    write(
        dir.path(),
        "p.netpol",
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\n",
    );
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(web.is_file() && !db.exists());
    assert!(dir.path().join("out/notes.yaml").is_file());
}

#[test]
fn a_failed_compile_leaves_the_output_folder_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let snapshot = |d: &Path| -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = walk(&d.join("out"))
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("read")))
            .collect();
        files.sort();
        files
    };
    let before = snapshot(dir.path());
    write(dir.path(), "p.netpol", &format!("{GOOD}web accepts tcp 80 from nobody\n"));
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(snapshot(dir.path()), before);
}

/// `--target all -o`: Kubernetes emits and is spooled before Cilium fails (an egress port
/// name, E0306). The spooled documents must not reach the folder.
#[test]
fn a_target_that_fails_after_another_was_spooled_leaves_the_folder_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["compile", "p.netpol", "-t", "all", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before: Vec<_> = walk(&dir.path().join("out"))
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).expect("read")))
        .collect();
    assert!(before.iter().any(|(p, _)| p.starts_with(dir.path().join("out/cilium"))));
    write(dir.path(), "p.netpol", &format!("{GOOD}web connects to db on tcp http\n"));
    let out = netpol(&["compile", "p.netpol", "-t", "all", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E0306"), "{}", text(&out.stderr));
    let after: Vec<_> = walk(&dir.path().join("out"))
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).expect("read")))
        .collect();
    assert_eq!(after, before);
    assert!(!dir.path().join("out/.netpol-journal").exists());
}

/// No room for the spool (`TMPDIR` missing): exit 3, and the folder is as it was.
#[test]
fn no_spool_means_an_io_error_and_an_untouched_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let web = dir.path().join("out/shop/networkpolicy-web.yaml");
    let before = std::fs::read(&web).expect("written");
    write(dir.path(), "p.netpol", &GOOD.replace("5432", "5433"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(["compile", "p.netpol", "-o", "out"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("TMPDIR", dir.path().join("no-such-folder"))
        .output()
        .expect("run netpol");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot write a temporary file"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("help: nothing was changed"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&web).expect("still there"), before);
    // With room again, the change is written.
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    assert_ne!(std::fs::read(&web).expect("written"), before);
}

/// What the spool hands the folder writer is each document exactly as stdout gets it.
#[test]
fn every_target_in_a_folder_holds_exactly_what_stdout_gets() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = format!(
        "{GOOD}workload api {{ app: api }}\napi accepts tcp 8080 from web\nweb connects to api on tcp 8080\n"
    );
    write(dir.path(), "p.netpol", &src);
    let out = netpol(&["compile", "p.netpol", "-t", "all", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for target in ["kubernetes", "cilium", "calico"] {
        let stream = netpol(&["compile", "p.netpol", "-t", target], dir.path());
        assert_eq!(stream.status.code(), Some(0));
        let mut files = walk(&dir.path().join("out").join(target));
        files.sort();
        let mut docs: Vec<String> = files.iter().map(|p| std::fs::read_to_string(p).expect("read")).collect();
        let mut streamed: Vec<String> =
            text(&stream.stdout).split("---\n").filter(|d| !d.is_empty()).map(str::to_string).collect();
        docs.sort();
        streamed.sort();
        assert!(docs.len() >= 3, "{target}: {docs:?}");
        assert_eq!(docs, streamed, "{target}");
    }
}

/// The manifests under `dir` (not netpol's own `.netpol-manifest`).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    out
}

#[test]
fn directories_and_imports_compile_together() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("pol/shared")).expect("mkdir");
    write(dir.path(), "pol/shared/params.netpol", "param api: cidr = 10.0.0.1\n");
    write(dir.path(), "pol/a.netpol", "import \"shared/params.netpol\"\nnamespace a\nworkload web { app: web }\nweb connects to api on tcp 443\nweb connects to kube-dns\n");
    write(dir.path(), "pol/b.netpol", "import \"shared/params.netpol\"\nnamespace b\nworkload job { app: job }\njob connects to api on tcp 6443\njob connects to kube-dns\n");
    let out = netpol(&["compile", "pol", "--set", "api=192.168.0.1"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(yaml.contains("namespace: a") && yaml.contains("namespace: b"));
    assert_eq!(yaml.matches("cidr: 192.168.0.1/32").count(), 2);
    write(dir.path(), "pol/c.netpol", "import \"missing.netpol\"\n");
    let out = netpol(&["check", "pol"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0007]"));
}

#[test]
fn bad_set_values_are_diagnostics_with_the_command_line_as_source() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", "namespace a\nparam api: cidr = 10.0.0.1\nworkload web { app: web }\nweb connects to api\nweb connects to kube-dns\n");
    let out = netpol(&["check", "p.netpol", "--set", "api=not-an-ip"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0107]") && err.contains("<command line>"), "{err}");
    let out = netpol(&["check", "p.netpol", "--set", "nonsense"], dir.path());
    assert_eq!(out.status.code(), Some(2), "malformed --set is a usage error");
}

#[test]
fn explain_prints_pages_and_rejects_unknown_codes() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = netpol(&["explain", "e0101"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("# E0101"));
    let out = netpol(&["explain", "E9999"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    // A word of the language: the page the editor's hover shows.
    let out = netpol(&["explain", "kube-dns"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), ::netpol::words::page("kube-dns").expect("a page"));
}

#[test]
fn usage_errors_exit_two_and_help_exits_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    assert_eq!(netpol(&["compile"], dir.path()).status.code(), Some(2));
    assert_eq!(netpol(&["compile", "x.netpol", "--target", "nope"], dir.path()).status.code(), Some(2));
    let help = netpol(&["--help"], dir.path());
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("Exit codes"));
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", BAD);
    let always = netpol(&["check", "p.netpol", "--color", "always"], dir.path());
    assert!(text(&always.stderr).contains('\u{1b}'), "escape codes with --color always");
    let auto = netpol(&["check", "p.netpol"], dir.path());
    assert!(!text(&auto.stderr).contains('\u{1b}'), "NO_COLOR turns auto off");
}

#[test]
fn unreadable_input_is_a_diagnostic_not_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("bin.netpol"), [0xff, 0xfe, 0x00, 0x41]).expect("write");
    let out = netpol(&["check", "bin.netpol", "missing.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not UTF-8") && err.contains("no such file"), "{err}");
}

const DENY: &str = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\nweb refuses tcp 80 from 198.51.100.0/24\n";

#[test]
fn target_all_writes_one_folder_per_target() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["compile", "p.netpol", "--target", "all", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for file in [
        "out/kubernetes/shop/networkpolicy-web.yaml",
        "out/cilium/shop/ciliumnetworkpolicy-web.yaml",
        "out/calico/shop/networkpolicy-web.yaml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing; wrote {:?}", walk(&dir.path().join("out")));
    }
    let calico =
        std::fs::read_to_string(dir.path().join("out/calico/shop/networkpolicy-web.yaml")).expect("read");
    assert!(calico.starts_with("apiVersion: projectcalico.org/v3\n"), "{calico}");
    // Each target's file is exactly what `--target T` prints.
    let single = netpol(&["compile", "p.netpol", "--target", "cilium"], dir.path());
    let cilium = std::fs::read_to_string(dir.path().join("out/cilium/shop/ciliumnetworkpolicy-web.yaml"))
        .expect("read");
    assert!(text(&single.stdout).contains(&cilium));
}

#[test]
fn target_all_fails_whole_when_one_target_cannot_express_the_source() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    assert_eq!(netpol(&["compile", "p.netpol", "-t", "all", "-o", "out"], dir.path()).status.code(), Some(0));
    let contents = |d: &Path| -> Vec<(std::path::PathBuf, String)> {
        let mut files: Vec<_> = walk(&d.join("out"))
            .into_iter()
            .map(|p| (p.clone(), std::fs::read_to_string(&p).expect("read")))
            .collect();
        files.sort();
        files
    };
    let before = contents(dir.path());
    assert_eq!(before.len(), 6, "two policies for each of three targets");
    // Deny rules: fine for Cilium and Calico, E0301 for Kubernetes, so nothing is written.
    write(dir.path(), "p.netpol", DENY);
    let out = netpol(&["compile", "p.netpol", "-t", "all", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0301]: target `kubernetes` cannot express deny rules"));
    assert_eq!(contents(dir.path()), before, "nothing written, nothing removed");
    // The same for `check`.
    let out = netpol(&["check", "p.netpol", "-t", "all"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = netpol(&["check", "p.netpol", "-t", "calico"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn target_all_without_an_output_folder_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["compile", "p.netpol", "--target", "all"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("-o DIR"), "{}", text(&out.stderr));
}

#[test]
fn cni_versions_are_checked_and_validated() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "p.netpol",
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 8000-8100 from anywhere\n",
    );
    let out = netpol(&["compile", "p.netpol", "-t", "cilium", "--cilium-version", "1.15"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0303]"), "{}", text(&out.stderr));
    let out = netpol(&["compile", "p.netpol", "-t", "cilium", "--cilium-version", "v1.16.2"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("endPort: 8100"));
    let out = netpol(&["compile", "p.netpol", "-t", "cilium", "--cilium-version", "latest"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected a version such as 1.16"), "{}", text(&out.stderr));
    let out = netpol(&["compile", "p.netpol", "-t", "calico", "--calico-version", "3.28"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("tier:"), "no tiers before Calico 3.29");
}

#[test]
fn cluster_scoped_objects_go_to_the_cluster_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "p.netpol",
        "default deny ingress\nnamespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\n",
    );
    let out = netpol(&["compile", "p.netpol", "-t", "cilium", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir
        .path()
        .join("out/_cluster/ciliumclusterwidenetworkpolicy-default-deny-ingress.yaml")
        .is_file());
    let out = netpol(&["compile", "p.netpol", "-t", "calico", "-o", "out2"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("out2/_cluster/globalnetworkpolicy-default-deny-ingress.yaml").is_file());
}

#[test]
fn verify_agrees_on_every_target_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "p.netpol",
        &format!("{GOOD}expect web can reach db on tcp 5432\nexpect web cannot reach world\n"),
    );
    let out = netpol(&["verify", "p.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    for t in ["kubernetes", "cilium", "calico"] {
        assert!(stdout.contains(&format!("{t}: agrees with the source")), "{stdout}");
    }
    let out = netpol(&["verify", "p.netpol", "--json", "-t", "calico"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["targets"][0]["target"], "calico");
    assert_eq!(report["targets"][0]["differences"].as_array().map(Vec::len), Some(0));
}

/// `verify` reads each target's objects back from a spool; where no temporary file can be
/// written it holds them in memory instead, with the same report.
#[test]
fn verify_reports_alike_from_its_spool_and_from_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", &format!("{GOOD}expect web can reach db on tcp 5432\n"));
    let run = |tmp: Option<&Path>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_netpol"));
        cmd.args(["verify", "p.netpol", "--json"]).current_dir(dir.path()).env("NO_COLOR", "1");
        if let Some(t) = tmp {
            cmd.env("TMPDIR", t);
        }
        cmd.output().expect("run netpol")
    };
    let spooled = run(None);
    assert_eq!(spooled.status.code(), Some(0), "{}", text(&spooled.stderr));
    let report: serde_json::Value = serde_json::from_slice(&spooled.stdout).expect("json");
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 3, "{report}");
    assert!(targets.iter().all(|t| t["possible_pairs"].as_u64() > Some(0)), "{report}");
    let held = run(Some(&dir.path().join("no-such-folder")));
    assert_eq!(held.status.code(), Some(0), "{}", text(&held.stderr));
    assert_eq!(text(&held.stdout), text(&spooled.stdout));
}

#[test]
fn a_failing_expect_fails_compile_check_and_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", &format!("{GOOD}expect web can reach world\n"));
    for cmd in ["compile", "check", "verify"] {
        let out = netpol(&[cmd, "p.netpol"], dir.path());
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(text(&out.stderr).contains("error[E0401]"), "{cmd}: {}", text(&out.stderr));
    }
}

#[test]
fn why_names_the_lines_on_both_sides_for_every_target() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["why", "p.netpol", "shop/web", "shop/db", "on", "tcp", "5432"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("shop/web -> shop/db on tcp 5432\n"), "{stdout}");
    for t in ["source", "kubernetes", "cilium", "calico"] {
        assert!(stdout.contains(&format!("  {t}: allowed\n")), "{t}: {stdout}");
    }
    assert!(stdout.contains("p.netpol:4: web -> db on tcp 5432"), "{stdout}");
    assert!(stdout.contains("NetworkPolicy shop/db spec.ingress[0] (from p.netpol:4)"), "{stdout}");
    // web's egress is isolated by its first egress rule, which is named.
    let out = netpol(&["why", "p.netpol", "shop/web", "world", "-t", "kubernetes"], dir.path());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("  source: not allowed"), "{stdout}");
    assert!(stdout.contains("isolated by p.netpol:4: web -> db on tcp 5432"), "{stdout}");
    assert!(stdout.contains("ingress of 203.0.113.7: not isolated"), "{stdout}");
    // A name that does not exist is an ordinary diagnostic.
    let out = netpol(&["why", "p.netpol", "shop/nope", "shop/db"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("<query>"), "{}", text(&out.stderr));
}

/// One namespace, a workload that talks to two of the four /16s at the ends of 10.0.0.0/8.
const ADDRESSES: &str = "namespace shop\nworkload frontend { app: frontend }\nworkload cart { app: cart }\n\
    workload payment { app: payment }\nfrontend -> cart on tcp 7070\n\
    payment connects to 10.0.0.0/16 on tcp 443\npayment connects to 10.255.0.0/16 on tcp 443\n";

#[test]
fn why_resolves_bare_names_as_expect_lines_do() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "app.netpol", ADDRESSES);
    let out = netpol(&["why", "app.netpol", "frontend", "cart", "on", "tcp", "7070"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("shop/frontend -> shop/cart on tcp 7070\n"), "{stdout}");
    assert!(stdout.contains("  source: allowed\n"), "{stdout}");
    // A name two namespaces declare is an error that lists both.
    write(dir.path(), "two.netpol", &format!("{ADDRESSES}namespace blog\nworkload cart {{ app: cart }}\n"));
    let out = netpol(&["why", "two.netpol", "frontend", "cart", "on", "tcp", "7070"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[E0101]: `cart` is a workload in 2 namespaces"), "{stderr}");
    assert!(stderr.contains("help: name one with its namespace: `shop/cart`, `blog/cart`"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn why_answers_for_addresses_and_networks_in_both_directions() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "app.netpol", ADDRESSES);
    let why = |args: &[&str]| {
        let mut all = vec!["why", "app.netpol"];
        all.extend_from_slice(args);
        let out = netpol(&all, dir.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    for to in ["8.8.8.8", "8.8.8.8/32"] {
        let stdout = why(&["shop/payment", to, "on", "tcp", "443"]);
        assert!(stdout.starts_with("shop/payment -> 8.8.8.8 on tcp 443\n"), "{stdout}");
        for t in ["source", "kubernetes", "cilium", "calico"] {
            assert!(stdout.contains(&format!("  {t}: not allowed\n")), "{t}: {stdout}");
        }
        assert!(stdout.contains("isolated by app.netpol:6: payment connects to 10.0.0.0/16"), "{stdout}");
    }
    // An address inside a network a rule names.
    let stdout = why(&["shop/payment", "10.0.1.1", "on", "tcp", "443", "-t", "kubernetes"]);
    assert!(stdout.contains("  source: allowed\n"), "{stdout}");
    assert!(stdout.contains("allows tcp 443: app.netpol:6: payment connects to 10.0.0.0/16"), "{stdout}");
    // The address as the source: nothing isolates payment's ingress.
    let stdout = why(&["8.8.8.8", "shop/payment", "on", "tcp", "443", "-t", "kubernetes"]);
    assert!(stdout.starts_with("8.8.8.8 -> shop/payment on tcp 443\n"), "{stdout}");
    assert!(stdout.contains("  kubernetes: allowed\n"), "{stdout}");
    // A network the rules cover only in part is never answered "allowed": the middle of
    // 10.0.0.0/8, which no point at a named network's edge stands for, is not allowed.
    let stdout = why(&["shop/payment", "10.0.0.0/8", "on", "tcp", "443"]);
    assert!(!stdout.contains("5 connections\n  source: allowed\n"), "{stdout}");
    assert!(stdout.contains("shop/payment -> 10.1.0.0 on tcp 443 (for 10.1.0.0-10.254.255.255)"), "{stdout}");
    assert!(stdout.contains("shop/payment -> 10.0.0.0/8 on tcp 443: 5 connections\n"), "{stdout}");
    for t in ["source", "kubernetes", "cilium", "calico"] {
        let line = format!(
            "  {t}: partly allowed: allowed for shop/payment -> 10.0.0.0-10.0.255.255, \
             shop/payment -> 10.255.0.0-10.255.255.255; not allowed for shop/payment -> 10.1.0.0-10.254.255.255\n"
        );
        assert!(stdout.contains(&line), "{t}: {stdout}");
    }
    // A network wholly inside a rule's is allowed; the reverse direction too.
    let stdout = why(&["shop/payment", "10.0.8.0/24", "on", "tcp", "443", "-t", "calico"]);
    assert!(stdout.contains("  calico: allowed\n") && !stdout.contains("not allowed"), "{stdout}");
    let stdout = why(&["10.0.0.0/8", "shop/cart", "on", "tcp", "7070", "-t", "calico"]);
    assert!(stdout.contains("10.0.0.0/8 -> shop/cart on tcp 7070: "), "{stdout}");
    assert!(stdout.contains("  calico: not allowed\n"), "{stdout}");
}

#[test]
fn why_says_which_addresses_stand_for_world() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "app.netpol", ADDRESSES);
    let out = netpol(&["why", "app.netpol", "shop/payment", "world", "-t", "kubernetes"], dir.path());
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "world: answered for 203.0.113.7 and 2001:db8:1::7, documentation addresses (RFC 5737, RFC 3849) \
             outside the cluster and outside every network the policies name; ask about another address by writing it\n"
        ),
        "{stdout}"
    );
    write(dir.path(), "doc.netpol", &format!("{ADDRESSES}payment connects to 203.0.113.0/24\n"));
    let out = netpol(&["why", "doc.netpol", "shop/payment", "world", "-t", "kubernetes"], dir.path());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("outside the cluster and inside 203.0.113.0/24 the policies name"), "{stdout}");
}

#[test]
fn why_prints_json_and_exits_with_the_answer_when_asked() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "app.netpol", ADDRESSES);
    let run = |args: &[&str]| {
        let mut all = vec!["why", "app.netpol"];
        all.extend_from_slice(args);
        netpol(&all, dir.path())
    };
    let out = run(&["frontend", "cart", "on", "tcp", "7070", "--format", "json", "-t", "kubernetes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(r["answer"], "allowed");
    let q = &r["questions"][0];
    assert_eq!(
        (q["from"].as_str(), q["to"].as_str(), q["ports"].as_str()),
        (Some("frontend"), Some("cart"), Some("tcp 7070"))
    );
    assert_eq!(q["answers"][1]["semantics"], "kubernetes");
    assert_eq!(q["answers"][1]["answer"], "allowed");
    let c = &q["connections"][0];
    assert_eq!(c["from"]["name"], "shop/frontend");
    let rule = &c["verdicts"][0]["rules"][0];
    assert_eq!((rule["file"].as_str(), rule["line"].as_u64()), (Some("app.netpol"), Some(5)));
    assert_eq!((rule["direction"].as_str(), rule["action"].as_str()), (Some("egress"), Some("allows")));
    assert_eq!(c["verdicts"][1]["rules"][0]["object"], "NetworkPolicy shop/frontend");
    // The addresses each answer stands for.
    let out = run(&["shop/payment", "10.0.0.0/8", "on", "tcp", "443", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(r["answer"], "partly");
    let parts: Vec<&str> = r["questions"][0]["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter_map(|c| c["to"]["addresses"].as_str())
        .collect();
    assert!(parts.contains(&"10.1.0.0-10.254.255.255"), "{parts:?}");
    // Exit statuses, only when asked.
    for (args, code) in [
        (&["frontend", "cart", "on", "tcp", "7070"][..], 0),
        (&["frontend", "payment", "on", "tcp", "7070"][..], 1),
        (&["shop/payment", "10.0.0.0/8", "on", "tcp", "443"][..], 4),
        (&["frontend", "cart", "on", "tcp", "7070", "and", "tcp", "80"][..], 4),
        (&["frontend", "nothere"][..], 5),
    ] {
        let mut all = args.to_vec();
        assert_eq!(run(&all).status.code(), Some(if code == 5 { 1 } else { 0 }), "{args:?}");
        all.push("--exit-status");
        assert_eq!(run(&all).status.code(), Some(code), "{args:?}");
    }
    assert_eq!(run(&["frontend", "cart", "--format", "yaml"]).status.code(), Some(2));
}

#[test]
fn matrix_prints_a_table_csv_and_json() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", GOOD);
    let out = netpol(&["matrix", "p.netpol", "--as", "csv"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.starts_with("from,to,certain,possible\n"));
    assert!(csv.contains("shop/web,shop/db,tcp 5432,tcp 5432\n"), "{csv}");
    assert!(csv.contains("shop/db,shop/web,all ports,all ports\n"), "neither side restricts it: {csv}");
    assert!(!csv.contains("shop/web,203.0.113.7"), "web's egress is restricted: {csv}");
    let out = netpol(&["matrix", "p.netpol", "--as", "json", "-t", "cilium"], dir.path());
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(m["semantics"], "cilium");
    assert!(m["connections"]
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x["from"] == "shop/web" && x["to"] == "shop/db")));
    let out = netpol(&["matrix", "p.netpol"], dir.path());
    assert!(text(&out.stdout).starts_with("reachability (source)"), "{}", text(&out.stdout));
}

/// One convention for output formats: `--format` on every command; the older spellings
/// (`matrix --as`, `verify --json`) are the same; `json` makes the diagnostics JSON too.
#[test]
fn format_is_the_one_spelling_and_the_old_ones_are_aliases() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "p.netpol",
        &format!("{GOOD}workload unused {{ app: unused }}\nexpect web can reach db on tcp 5432\n"),
    );
    let run = |args: &[&str]| netpol(args, dir.path());
    for (new, old) in [
        (&["matrix", "p.netpol", "--format", "csv"][..], &["matrix", "p.netpol", "--as", "csv"][..]),
        (&["matrix", "p.netpol", "--format", "json"], &["matrix", "p.netpol", "--as", "json"]),
        (&["matrix", "p.netpol", "--format", "human"], &["matrix", "p.netpol", "--format", "table"]),
        (&["verify", "p.netpol", "--format", "json"], &["verify", "p.netpol", "--json"]),
    ] {
        let (a, b) = (run(new), run(old));
        assert_eq!(a.status.code(), Some(0), "{new:?}: {}", text(&a.stderr));
        assert_eq!(
            (text(&a.stdout), text(&a.stderr)),
            (text(&b.stdout), text(&b.stderr)),
            "{new:?} vs {old:?}"
        );
    }
    // verify --format json: the report on stdout, the diagnostics (a warning here) as JSON.
    let out = run(&["verify", "p.netpol", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    assert!(report["targets"].is_array(), "{report}");
    let diags: serde_json::Value = serde_json::from_slice(&out.stderr).expect("diagnostics are JSON");
    assert!(diags.to_string().contains("W0"), "{diags}");
    // matrix --format json: likewise.
    let out = run(&["matrix", "p.netpol", "--format", "json"]);
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stderr).is_ok(), "{}", text(&out.stderr));
    // Both spellings at once is a bad command line.
    assert_eq!(run(&["verify", "p.netpol", "--json", "--format", "json"]).status.code(), Some(2));
    assert_eq!(run(&["matrix", "p.netpol", "--format", "svg"]).status.code(), Some(2));
    // check, compile and import keep theirs.
    let out = run(&["check", "p.netpol", "--format", "json"]);
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok(), "{}", text(&out.stdout));
}

#[test]
fn a_byte_order_mark_is_read_over_and_columns_are_the_editors() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", &format!("\u{feff}{GOOD}"));
    let out = netpol(&["check", "p.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An error on the first line: its column counts from the first real character.
    write(dir.path(), "bad.netpol", "\u{feff}namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from fronted\nwebb accepts tcp 80 from web\n");
    let out = netpol(&["check", "bad.netpol", "--format", "json"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["diagnostics"][0]["line"], 3);
    assert_eq!(report["diagnostics"][0]["column"], 25);
    write(dir.path(), "first.netpol", "\u{feff}} shop\n");
    let out = netpol(&["check", "first.netpol", "--format", "json"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (report["diagnostics"][0]["line"].as_u64(), report["diagnostics"][0]["column"].as_u64()),
        (Some(1), Some(1))
    );
    // `fmt` drops the mark: `--check` says the file changes, and the file is written without.
    write(dir.path(), "f.netpol", "\u{feff}namespace shop\n");
    assert_eq!(netpol(&["fmt", "--check", "f.netpol"], dir.path()).status.code(), Some(1));
    assert_eq!(netpol(&["fmt", "f.netpol"], dir.path()).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(dir.path().join("f.netpol")).expect("read"), "namespace shop\n");
    let out = common::netpol_with_stdin(&["fmt", "-"], dir.path(), "\u{feff}namespace shop\n");
    assert_eq!(text(&out.stdout), "namespace shop\n");
}

#[test]
fn warnings_are_allowed_warned_and_denied_by_code() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", WARN); // W0204 (unused) and W0206? no: `anywhere`
    let out = netpol(&["check", "p.netpol", "--format", "json"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<String> = report["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(!codes.is_empty());
    let mut args = vec!["check", "p.netpol", "--deny-warnings"];
    assert_eq!(netpol(&args, dir.path()).status.code(), Some(1));
    for c in &codes {
        args.extend(["--allow", c.as_str()]);
    }
    let out = netpol(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    // --warn keeps a code a warning under --deny-warnings.
    let mut args = vec!["check", "p.netpol", "--deny-warnings"];
    for c in &codes {
        args.extend(["--warn", c.as_str()]);
    }
    let out = netpol(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning["));
    // --deny makes one an error.
    let out = netpol(&["compile", "p.netpol", "--deny", "w0204"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[W0204]"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    // Errors cannot be allowed; unknown codes and two levels for one code are refused.
    for bad in [&["--allow", "E0101"][..], &["--deny", "W9999"], &["--allow", "W0204", "--deny", "W0204"]] {
        let mut args = vec!["check", "p.netpol"];
        args.extend(bad);
        let out = netpol(&args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(text(&out.stderr).starts_with("error: "), "{}", text(&out.stderr));
    }
    write(dir.path(), "bad.netpol", BAD);
    assert_eq!(netpol(&["check", "bad.netpol", "--allow", "E0101"], dir.path()).status.code(), Some(2));
}

#[test]
fn inline_allows_cover_a_line_a_statement_or_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = "namespace shop\nworkload web { app: web }\nworkload unused { app: x }  # netpol: allow W0204 -- kept for later\nweb accepts tcp 80 from anywhere\n";
    write(dir.path(), "p.netpol", src);
    let out = netpol(&["check", "p.netpol", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let src = "namespace shop\nworkload web { app: web }\n# netpol: allow W0204\nworkload unused {\n  app: x\n}\nweb accepts tcp 80 from anywhere\n";
    write(dir.path(), "p.netpol", src);
    assert_eq!(netpol(&["check", "p.netpol", "--deny-warnings"], dir.path()).status.code(), Some(0));
    // `fmt` leaves the comments where they are.
    assert_eq!(netpol(&["fmt", "--check", "p.netpol"], dir.path()).status.code(), Some(0));
    let src = "# netpol: allow-file W0204\nnamespace shop\nworkload web { app: web }\nworkload unused { app: x }\nweb accepts tcp 80 from anywhere\n";
    write(dir.path(), "p.netpol", src);
    assert_eq!(netpol(&["check", "p.netpol", "--deny-warnings"], dir.path()).status.code(), Some(0));
    // An allow that matches nothing is a warning.
    let src = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere  # netpol: allow W0204\n";
    write(dir.path(), "p.netpol", src);
    let out = netpol(&["check", "p.netpol", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("warning[W0211]"), "{}", text(&out.stderr));
}

/// The section "Allowing a warning" of the README: its program, checked by its command line.
#[test]
fn the_readme_allow_example_passes_deny_warnings() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let section = &readme[readme.find("### Allowing a warning").expect("section")..];
    let section = &section[..section.find("\n## ").expect("section end")];
    let block = |fence: &str| {
        let start = section.find(fence).expect("block") + fence.len();
        section[start..start + section[start..].find("```").expect("closed")].to_string()
    };
    let program = block("```netpol\n");
    let command = block("```sh\n");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "netpol");
    let file = *words.last().expect("a file");
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), file, &program);
    let out = netpol(&words[1..], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    // Every allow in it is needed: without the comments, or without the flag, it fails.
    let bare: String = program
        .lines()
        .map(|l| l.split(" # netpol").next().unwrap_or(l))
        .filter(|l| !l.starts_with("# netpol"))
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    write(dir.path(), file, &bare);
    assert_eq!(netpol(&words[1..], dir.path()).status.code(), Some(1));
    write(dir.path(), file, &program);
    let without_flag: Vec<&str> =
        words[1..].iter().copied().filter(|w| *w != "--allow" && *w != "W0204").collect();
    assert_eq!(netpol(&without_flag, dir.path()).status.code(), Some(1));
}

#[test]
fn many_diagnostics_of_one_code_are_summed_up_and_quiet_prints_errors_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut src = String::from("namespace shop\nworkload web { app: web }\n");
    for i in 0..25 {
        src.push_str(&format!("workload unused{i} {{ app: x{i} }}\n"));
    }
    src.push_str("web accepts tcp 80 from anywhere\n");
    write(dir.path(), "p.netpol", &src);
    let out = netpol(&["check", "p.netpol"], dir.path());
    let err = text(&out.stderr);
    assert_eq!(err.matches("warning[W0204]").count(), 10, "{err}");
    assert!(
        err.contains("note: … and 15 more W0204 (unused declaration) not shown; --all shows every one"),
        "{err}"
    );
    assert!(err.trim_end().ends_with("netpol: 0 errors, 10 warnings shown, 15 more not shown"), "{err}");
    let out = netpol(&["check", "p.netpol", "--all"], dir.path());
    assert_eq!(text(&out.stderr).matches("warning[W0204]").count(), 25);
    let out = netpol(&["check", "p.netpol", "--format", "json"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["diagnostics"].as_array().map(Vec::len), Some(25));
    // --quiet: errors only, same exit status.
    let out = netpol(&["check", "p.netpol", "--quiet", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "");
    write(dir.path(), "bad.netpol", &format!("{}{}", src, "web accepts tcp 80 from nowhere\n"));
    let out = netpol(&["check", "bad.netpol", "--quiet"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0101]") && !err.contains("warning["), "{err}");
}

#[test]
fn syntax_errors_past_the_cap_are_counted_in_the_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut src = String::from("namespace shop\n");
    for _ in 0..20_000 {
        src.push_str("web acepts tcp 80 from api\n");
    }
    write(dir.path(), "p.netpol", &src);
    let out = netpol(&["check", "p.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("19,980 more syntax errors not shown"), "{err}");
    assert!(err.contains("note: … and 10 more E0001 (syntax error) not shown"), "{err}");
    assert!(err.trim_end().ends_with("netpol: 10 errors shown, 19,990 more not shown, 0 warnings"), "{err}");
    let out = netpol(&["check", "p.netpol", "--all"], dir.path());
    let err = text(&out.stderr);
    assert!(
        err.trim_end().ends_with("netpol: 20 errors shown, 19,980 more not shown, 0 warnings"),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );
    let out = netpol(&["check", "p.netpol", "--format", "json"], dir.path());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["errors"], 20_000);
}

/// The seed examples allow their intended warnings in the source, so the README's CI recipe
/// (`netpol check --deny-warnings`) passes on them.
#[test]
fn the_seed_examples_pass_deny_warnings() {
    for example in ["examples/kyma-telemetry.netpol", "examples/event-streams.netpol"] {
        let out = netpol(&["check", "--deny-warnings", example], &common::root());
        assert_eq!(out.status.code(), Some(0), "{example}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "");
    }
}
