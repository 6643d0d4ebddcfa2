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
