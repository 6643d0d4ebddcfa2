//! `netpol diff`: which connections a policy change adds or removes, through the real binary.

mod common;

use common::{netpol, root, text, write};
use serde_json::Value;
use std::path::Path;

const DIALECTS: [&str; 3] = ["kubernetes", "cilium", "calico"];

fn old_yaml() -> String {
    std::fs::read_to_string(root().join("examples/diff/old.yaml")).expect("old.yaml")
}

/// `netpol diff … --format json` in `dir`: the exit code and the parsed report.
fn json(args: &[&str], dir: &Path) -> (Option<i32>, Value) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = netpol(&all, dir);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), v)
}

/// The changes of a report, as (change, from, to, ports).
fn changes(v: &Value) -> Vec<(String, Vec<String>, Vec<String>, String)> {
    let strings = |x: &Value| -> Vec<String> {
        x.as_array().expect("list").iter().map(|s| s.as_str().expect("string").to_string()).collect()
    };
    v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["change"].as_str().expect("change").to_string(),
                strings(&c["from"]),
                strings(&c["to"]),
                c["ports"].as_str().expect("ports").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_cluster_example_means_the_same_in_every_dialect() {
    let dir = root().join("examples/cluster");
    for a in DIALECTS {
        for b in DIALECTS {
            let out = netpol(&["diff", a, b, "--inventory", "inventory.yaml"], &dir);
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{a} vs {b}: {stdout}{}", text(&out.stderr));
            assert!(stdout.contains("no change: both sides allow the same connections"), "{stdout}");
            assert!(stdout.contains(&format!("old: {a}, as {a} enforces them")), "{stdout}");
        }
    }
}

#[test]
fn a_side_against_itself_is_no_change() {
    let r = root();
    for path in ["examples/diff/old.yaml", "examples/cluster/cilium", "examples/params.netpol"] {
        let (code, v) = json(&[path, path], &r);
        assert_eq!(code, Some(0), "{path}: {v}");
        assert_eq!((v["same"].as_bool(), v["changes"].as_array().map(Vec::len)), (Some(true), Some(0)));
    }
}

#[test]
fn the_example_change_shows_the_moved_port_and_the_added_peer() {
    let (code, v) = json(&["examples/diff/old.yaml", "examples/diff/new.yaml"], &root());
    assert_eq!(code, Some(1));
    let api = "shop/<pod app=api>".to_string();
    let db = "shop/<pod app=db>".to_string();
    assert_eq!(
        changes(&v),
        vec![
            (
                "added".into(),
                vec![api.clone(), "shop/<pod app=reports>".into()],
                vec![db.clone()],
                "tcp 5433".into()
            ),
            ("removed".into(), vec![api], vec![db], "tcp 5432".into()),
        ]
    );
    assert_eq!(
        (v["added"].as_u64(), v["removed"].as_u64(), v["possibly"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(v["old"]["reading"], "kubernetes");
}

#[test]
fn a_changed_port_is_exactly_that_change_with_its_witness_and_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "old.yaml", &old_yaml());
    write(dir.path(), "new.yaml", &old_yaml().replace("port: 5432", "port: 5433"));
    let inventory = root().join("examples/cluster/inventory.yaml");
    let inventory = inventory.to_str().expect("path");
    let (code, v) = json(&["old.yaml", "new.yaml", "--inventory", inventory], dir.path());
    assert_eq!(code, Some(1), "{v}");
    let api = vec!["shop/api(Deployment)".to_string()];
    let db = vec!["shop/db-0".to_string(), "shop/db-1".to_string()];
    assert_eq!(
        changes(&v),
        vec![
            ("added".into(), api.clone(), db.clone(), "tcp 5433".into()),
            ("removed".into(), api, db, "tcp 5432".into()),
        ]
    );
    let added = &v["changes"][0];
    assert_eq!(added["witness"]["from"], "shop/api(Deployment)");
    assert_eq!(added["witness"]["to"], "shop/db-0");
    assert_eq!(added["witness"]["port"], "tcp 5433");
    assert_eq!(added["old"]["verdict"], "not allowed");
    assert_eq!(added["new"]["verdict"], "allowed");
    let rules = |side: &str| added[side]["rules"].to_string();
    assert!(
        rules("new").contains("allows tcp 5433: NetworkPolicy shop/db spec.ingress[0]"),
        "{}",
        rules("new")
    );
    assert!(rules("old").contains("isolated by NetworkPolicy shop/db spec"), "{}", rules("old"));
    let removed = &v["changes"][1];
    assert!(removed["old"]["rules"]
        .to_string()
        .contains("allows tcp 5432: NetworkPolicy shop/db spec.ingress[0]"));
}

#[test]
fn an_added_peer_is_exactly_that_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let added = old_yaml().replace(
        "        matchLabels: {app: api}\n",
        "        matchLabels: {app: api}\n    - namespaceSelector:\n        matchLabels: {kubernetes.io/metadata.name: monitoring}\n",
    );
    write(dir.path(), "old.yaml", &old_yaml());
    write(dir.path(), "new.yaml", &added);
    let inventory = root().join("examples/cluster/inventory.yaml");
    let inventory = inventory.to_str().expect("path");
    let (code, v) = json(&["old.yaml", "new.yaml", "--inventory", inventory], dir.path());
    assert_eq!(code, Some(1), "{v}");
    let got = changes(&v);
    assert_eq!(got.len(), 1, "{got:?}");
    let (change, from, to, ports) = &got[0];
    assert_eq!((change.as_str(), ports.as_str()), ("added", "tcp 5432"));
    assert_eq!(to, &vec!["shop/db-0".to_string(), "shop/db-1".to_string()]);
    assert!(from.iter().all(|f| f.starts_with("monitoring/")) && !from.is_empty(), "{from:?}");
    assert!(v["changes"][0]["new"]["rules"].to_string().contains("NetworkPolicy shop/db spec.ingress[0]"));
}

#[test]
fn a_diff_mirrors_its_reverse() {
    let r = root();
    let pairs = [
        ("examples/diff/old.yaml", "examples/diff/new.yaml"),
        ("examples/params.netpol", "examples/default-deny.netpol"),
        ("examples/cluster/kubernetes", "examples/diff/new.yaml"),
    ];
    for (a, b) in pairs {
        let (c1, forward) = json(&[a, b], &r);
        let (c2, back) = json(&[b, a], &r);
        assert_eq!((c1, c2), (Some(1), Some(1)), "{a} {b}");
        let mut mirrored: Vec<_> = changes(&back)
            .into_iter()
            .map(|(c, f, t, p)| {
                let c = match c.as_str() {
                    "added" => "removed".to_string(),
                    "removed" => "added".to_string(),
                    _ => c,
                };
                (c, f, t, p)
            })
            .collect();
        let mut forward = changes(&forward);
        mirrored.sort();
        forward.sort();
        assert_eq!(forward, mirrored, "{a} {b}");
    }
}

#[test]
fn equal_meanings_written_differently_are_no_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = |name: &str, spec: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n{spec}---\n")
    };
    let a = policy(
        "db",
        "  podSelector:\n    matchLabels: {app: db}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {app: api}\n    ports:\n    - port: 8000\n      endPort: 8100\n  - from:\n    - podSelector:\n        matchLabels: {app: web}\n    ports:\n    - port: 80\n",
    );
    // Split ranges, matchExpressions for matchLabels, the rules in the other order.
    let b = policy(
        "db",
        "  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: [db]}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {app: web}\n    ports:\n    - port: 80\n  - from:\n    - podSelector:\n        matchExpressions:\n        - {key: app, operator: In, values: [api]}\n    ports:\n    - port: 8051\n      endPort: 8100\n    - port: 8000\n      endPort: 8050\n",
    );
    write(dir.path(), "a.yaml", &a);
    write(dir.path(), "b.yaml", &b);
    let (code, v) = json(&["a.yaml", "b.yaml"], dir.path());
    assert_eq!(code, Some(0), "{v}");
    // And a one-port change of the same file is found.
    write(dir.path(), "c.yaml", &b.replace("endPort: 8100", "endPort: 8101"));
    let (code, v) = json(&["a.yaml", "c.yaml"], dir.path());
    assert_eq!(code, Some(1));
    assert_eq!(
        changes(&v).iter().map(|c| (c.0.as_str(), c.3.as_str())).collect::<Vec<_>>(),
        [("added", "tcp 8101")]
    );
}

#[test]
fn a_program_means_what_its_compiled_manifests_mean() {
    let dir = tempfile::tempdir().expect("tempdir");
    for example in ["named-ports", "cross-namespace", "params"] {
        let source = root().join(format!("examples/{example}.netpol"));
        let source = source.to_str().expect("path");
        for target in ["kubernetes", "calico"] {
            let out = netpol(&["compile", source, "-t", target], dir.path());
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let file = format!("{example}-{target}.yaml");
            std::fs::write(dir.path().join(&file), &out.stdout).expect("write");
            let (code, v) = json(&[source, &file], dir.path());
            assert_eq!(code, Some(0), "{example} on {target}: {v}");
            assert_eq!(v["old"]["reading"], "source");
        }
        // -t: both sides as Cilium reads their compiled manifests (named ports in egress rules
        // do not compile for Cilium).
        if example == "named-ports" {
            continue;
        }
        let (code, v) = json(&[source, source, "-t", "cilium"], dir.path());
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(v["new"]["reading"], "compiled:cilium");
    }
}

#[test]
fn a_fact_one_side_leaves_open_is_possibly_never_added_or_removed() {
    // Cilium never matches pods by address, where the program leaves it open.
    let dir = tempfile::tempdir().expect("tempdir");
    let source = root().join("examples/params.netpol");
    let source = source.to_str().expect("path");
    let out = netpol(&["compile", source, "-t", "cilium"], dir.path());
    std::fs::write(dir.path().join("cilium.yaml"), &out.stdout).expect("write");
    let (code, v) = json(&[source, "cilium.yaml"], dir.path());
    assert_eq!(code, Some(1), "{v}");
    assert_eq!((v["added"].as_u64(), v["removed"].as_u64()), (Some(0), Some(0)), "{v}");
    assert!(v["possibly"].as_u64() > Some(0));
    assert!(changes(&v).iter().all(|c| c.0 == "possibly"));
    assert!(v["changes"][0]["old"]["verdict"].as_str().expect("verdict").starts_with("possibly allowed"));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn git_mode_compares_a_revision_with_the_working_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(d, "policies/shop.yaml", &old_yaml());
    write(d, "README.txt", "not a policy\n");
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "one"]);
    write(d, "policies/shop.yaml", &old_yaml().replace("port: 5432", "port: 6543"));
    git(d, &["commit", "-qam", "two"]);
    // The working tree equals HEAD: no change; HEAD~1 had the old port.
    let (code, v) = json(&["--git", "HEAD"], d);
    assert_eq!(code, Some(0), "{v}");
    let (code, v) = json(&["--git", "HEAD~1", "policies"], d);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["old"]["path"], "HEAD~1:policies");
    let got: Vec<(String, String)> = changes(&v).into_iter().map(|c| (c.0, c.3)).collect();
    assert_eq!(
        got,
        [("added".to_string(), "tcp 6543".to_string()), ("removed".to_string(), "tcp 5432".to_string())]
    );
    // A file of the working tree changed since HEAD.
    write(d, "policies/shop.yaml", &old_yaml());
    let (code, v) = json(&["--git", "HEAD", "policies/shop.yaml"], d);
    assert_eq!(code, Some(1), "{v}");
    // Nothing was written into the tree.
    assert_eq!(git(d, &["status", "--porcelain"]), " M policies/shop.yaml\n");
    // A missing revision, and a path outside any repository.
    let out = netpol(&["diff", "--git", "no-such-rev"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`no-such-rev` is no revision"), "{}", text(&out.stderr));
    let outside = tempfile::tempdir().expect("tempdir");
    let out = netpol(&["diff", "--git", "HEAD", "."], outside.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not inside a git repository"), "{}", text(&out.stderr));
}

#[test]
fn markdown_has_the_summary_line_the_table_and_the_details() {
    let out = netpol(
        &["diff", "examples/diff/old.yaml", "examples/diff/new.yaml", "--format", "markdown"],
        &root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let md = text(&out.stdout);
    assert!(md.starts_with("**netpol diff**: 2 change(s): 1 added, 1 removed\n"), "{md}");
    assert!(md.contains("| Change | From | To | Ports |\n|---|---|---|---|\n"), "{md}");
    assert!(md.contains("| removed | `shop/<pod app=api>` | `shop/<pod app=db>` | tcp 5432 |"), "{md}");
    assert!(md.contains("<details>") && md.trim_end().ends_with("</details>"), "{md}");
}

#[test]
fn exit_codes_and_errors() {
    let r = root();
    let code = |args: &[&str]| netpol(args, &r).status.code();
    assert_eq!(code(&["diff", "examples/diff/old.yaml"]), Some(2));
    assert_eq!(code(&["diff", "examples/diff/old.yaml", "no/such/file.yaml"]), Some(2));
    assert_eq!(code(&["diff", "a", "b", "c"]), Some(2));
    assert_eq!(
        code(&["diff", "examples/diff/old.yaml", "examples/diff/new.yaml", "--format", "nope"]),
        Some(2)
    );
    // One side on stdin, but not both.
    let old = old_yaml();
    let out = common::netpol_with_stdin(&["diff", "-", "examples/diff/old.yaml"], &r, &old);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // (Refused before stdin is read: nothing is written to it, so no broken pipe either.)
    assert_eq!(code(&["diff", "-", "-"]), Some(2));
    // A .netpol side that does not compile: its errors on stderr, exit 2.
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "bad.netpol", "namespace shop\nworkload web { app: web }\nweb -> nowhere on tcp 80\n");
    let out = netpol(&["diff", "bad.netpol", "bad.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn the_readme_diff_section_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find("## Reviewing a change").expect("section");
    let section = &readme[start..start + readme[start..].find("\n## ").expect("next section")];
    let mut commands: Vec<(String, String)> = Vec::new();
    for block in section.split("```console\n").skip(1) {
        let block = &block[..block.find("```").expect("closed")];
        for line in block.lines() {
            match line.strip_prefix("$ netpol ") {
                Some(cmd) => commands.push((cmd.to_string(), String::new())),
                None => {
                    let last = commands.last_mut().expect("output after a command");
                    last.1.push_str(line);
                    last.1.push('\n');
                }
            }
        }
    }
    assert!(!commands.is_empty());
    let trim = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    for (cmd, want) in commands {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let out = netpol(&args, &root());
        let got = format!("{}{}", text(&out.stderr), text(&out.stdout));
        assert_eq!(trim(&got), trim(&want), "`netpol {cmd}` prints something else now; update the README");
    }
}

#[test]
fn git_mode_reads_a_program_at_a_revision_under_its_revision_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    git(d, &["init", "-q"]);
    let source = std::fs::read_to_string(root().join("examples/params.netpol")).expect("params");
    write(d, "net/params.netpol", &source);
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "one"]);
    write(d, "net/params.netpol", &source.replace("tcp 9000", "tcp 9001"));
    let (code, v) = json(&["--git", "HEAD", "net"], d);
    assert_eq!(code, Some(1), "{v}");
    let got: Vec<(String, String)> = changes(&v).into_iter().map(|c| (c.0, c.3)).collect();
    assert_eq!(
        got,
        [("added".to_string(), "tcp 9001".to_string()), ("removed".to_string(), "tcp 9000".to_string())]
    );
    // The old side's lines are named by the revision, not by a temporary folder.
    let old_rules = v["changes"][1]["old"]["rules"].to_string();
    assert!(old_rules.contains("HEAD:net/params.netpol:15"), "{old_rules}");
    assert!(!v.to_string().contains("/tmp"), "{v}");
    // A path that did not exist at the revision: the old side has no policies.
    write(d, "more/shop.yaml", &old_yaml());
    let out = netpol(&["diff", "--git", "HEAD", "more"], d);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("`HEAD:more` holds no policies"), "{}", text(&out.stderr));
}

/// One request to a stand-in for the GitHub API: its request line and body; answers 201.
fn serve_one(listener: std::net::TcpListener) -> std::thread::JoinHandle<(String, String)> {
    use std::io::{BufRead, BufReader, Read, Write};
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a request");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("request line");
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header.trim().is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .expect("answer");
        (request_line.trim().to_string(), String::from_utf8(body).expect("utf-8"))
    })
}

/// The pull-request step of README "CI recipe" (`ci/pr-diff-comment.sh`), run as the runner
/// would on a repository with two commits: it posts the markdown diff as a comment on the pull
/// request and sets the step's output; with nothing changed, `changed=false`.
#[test]
fn the_pull_request_step_posts_the_diff_as_a_comment() {
    let repo = tempfile::tempdir().expect("tempdir");
    let dir = repo.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(dir.join("policies")).expect("mkdir");
    let old = std::fs::read_to_string(root().join("examples/diff/old.yaml")).expect("old");
    let new = std::fs::read_to_string(root().join("examples/diff/new.yaml")).expect("new");
    std::fs::write(dir.join("policies/shop.yaml"), &old).expect("write");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "base"]);
    std::fs::write(dir.join("policies/shop.yaml"), &new).expect("write");
    git(dir, &["commit", "-q", "-am", "the change"]);

    let run = |base: &str, api: Option<&str>| {
        let output = repo.path().join("github_output");
        let _ = std::fs::remove_file(&output);
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(root().join("ci/pr-diff-comment.sh"))
            .current_dir(repo.path())
            .env("NETPOL", env!("CARGO_BIN_EXE_netpol"))
            .env("BASE_REF", base)
            .env("POLICY_PATH", "policies")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_REPOSITORY", "shop/policies")
            .env_remove("PR_NUMBER")
            .env_remove("GITHUB_TOKEN");
        if let Some(api) = api {
            cmd.env("GITHUB_API_URL", api).env("PR_NUMBER", "7").env("GITHUB_TOKEN", "token");
        }
        let out = cmd.output().expect("bash runs");
        let set = std::fs::read_to_string(&output).unwrap_or_default();
        (out.status.code(), text(&out.stdout), text(&out.stderr), set)
    };

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let api = format!("http://{}", listener.local_addr().expect("address"));
    let server = serve_one(listener);
    let (code, stdout, stderr, set) = run("HEAD~1", Some(&api));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(set, "changed=true\n");
    let (request, body) = server.join().expect("the server");
    assert_eq!(request, "POST /repos/shop/policies/issues/7/comments HTTP/1.1");
    let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
    let comment = body["body"].as_str().expect("a body");
    let expected = netpol(&["diff", "--git", "HEAD~1", "policies", "--format", "markdown"], repo.path());
    assert_eq!(comment, text(&expected.stdout));
    assert!(comment.starts_with("**netpol diff**: 2 change(s): 1 added, 1 removed"), "{comment}");
    assert!(
        comment.contains("| removed | `shop/<pod app=api>` | `shop/<pod app=db>` | tcp 5432 |"),
        "{comment}"
    );

    // Nothing changed: no comment is needed to know it, but the output says so.
    let (code, stdout, _, set) = run("HEAD", None);
    assert_eq!(code, Some(0));
    assert_eq!(set, "changed=false\n");
    assert_eq!(
        stdout,
        text(&netpol(&["diff", "--git", "HEAD", "policies", "--format", "markdown"], repo.path()).stdout)
    );

    // A revision that is not there fails the step with netpol's status.
    let (code, _, stderr, _) = run("no-such-revision", None);
    assert_eq!(code, Some(2), "{stderr}");
}

/// A side of several paths (`--old P… --new P…`): the cluster example's policies split over
/// two files mean what the one file does; a change in one of them shows; a side given half is
/// a usage error.
#[test]
fn sides_of_several_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole =
        std::fs::read_to_string(root().join("examples/cluster/kubernetes/policies.yaml")).expect("policies");
    let docs: Vec<&str> = whole.split("\n---\n").collect();
    assert!(docs.len() > 2, "the example has several documents");
    let half = docs.len() / 2;
    std::fs::write(dir.path().join("a.yaml"), docs[..half].join("\n---\n")).expect("write");
    std::fs::write(dir.path().join("b.yaml"), docs[half..].join("\n---\n")).expect("write");
    std::fs::write(dir.path().join("all.yaml"), &whole).expect("write");
    let inventory = root().join("examples/cluster/inventory.yaml");
    let inventory = inventory.to_str().expect("utf-8");
    let run = |args: &[&str]| netpol(args, dir.path());
    let same =
        run(&["diff", "--old", "a.yaml", "--old", "b.yaml", "--new", "all.yaml", "--inventory", inventory]);
    assert_eq!(same.status.code(), Some(0), "{}{}", text(&same.stdout), text(&same.stderr));
    assert!(
        text(&same.stdout).starts_with("old: a.yaml, b.yaml, as kubernetes enforces them\n"),
        "{}",
        text(&same.stdout)
    );
    std::fs::write(
        dir.path().join("b.yaml"),
        docs[half..].join("\n---\n").replace("port: 5432", "port: 5433"),
    )
    .expect("write");
    let changed =
        run(&["diff", "--old", "all.yaml", "--new", "a.yaml", "--new", "b.yaml", "--inventory", inventory]);
    assert_eq!(changed.status.code(), Some(1), "{}{}", text(&changed.stdout), text(&changed.stderr));
    assert!(text(&changed.stdout).contains("1 added, 1 removed"), "{}", text(&changed.stdout));
    for args in [
        &["diff", "--old", "a.yaml"][..],
        &["diff", "--old", "a.yaml", "--new", "b.yaml", "all.yaml"],
        &["diff", "--old", "a.yaml", "--new", "b.yaml", "--git", "HEAD"],
    ] {
        assert_eq!(run(args).status.code(), Some(2), "{args:?}");
    }
}
