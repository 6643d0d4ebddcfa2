//! `--format sarif`: SARIF 2.1.0 that validates against the OASIS schema (`schemas/sarif/`),
//! from `check`, `compile` and `verify`, with results at their lines and fingerprints that do
//! not move when lines above a finding do.

mod common;

use common::{netpol, root, schemas_dir, text};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let dir = schemas_dir().expect("schemas");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sarif/sarif-schema-2.1.0.json")).expect("the SARIF schema"),
    )
    .expect("JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn valid(log: &str) -> Value {
    let v: Value = serde_json::from_str(log).unwrap_or_else(|e| panic!("not JSON ({e}):\n{log}"));
    let errors: Vec<String> =
        validator().iter_errors(&v).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "not SARIF 2.1.0: {errors:#?}\n{log}");
    v
}

const BAD: &str = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from nobody\n";

#[test]
fn check_writes_valid_sarif_with_rules_and_locations() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("shop.netpol"), BAD).expect("write");
    let out = netpol(&["check", "shop.netpol", "--format", "sarif"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let log = valid(&text(&out.stdout));
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "netpol");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "E0101");
    assert_eq!(run["tool"]["driver"]["rules"][0]["shortDescription"]["text"], "unknown name");
    assert!(run["tool"]["driver"]["rules"][0]["help"]["markdown"]
        .as_str()
        .expect("help")
        .starts_with("# E0101"));
    let result = &run["results"][0];
    assert_eq!((result["ruleId"].as_str(), result["level"].as_str()), (Some("E0101"), Some("error")));
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "shop.netpol");
    assert_eq!(
        (at["region"]["startLine"].as_u64(), at["region"]["startColumn"].as_u64()),
        (Some(3), Some(25))
    );
    assert_eq!(run["results"].as_array().map(Vec::len), Some(1));
    // The schema is no formality: a level SARIF does not know fails it.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(validator().iter_errors(&broken).next().is_some());

    // A clean file: a valid log with no result.
    std::fs::write(
        dir.path().join("shop.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\n",
    )
    .expect("write");
    let out = netpol(&["check", "shop.netpol", "--format", "sarif"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let log = valid(&text(&out.stdout));
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}

/// The same input gives the same bytes; a line added above a finding moves its region, not its
/// fingerprint.
#[test]
fn fingerprints_are_stable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |src: &str| {
        std::fs::write(dir.path().join("shop.netpol"), src).expect("write");
        text(&netpol(&["check", "shop.netpol", "--format", "sarif"], dir.path()).stdout)
    };
    let first = run(BAD);
    assert_eq!(first, run(BAD));
    let moved: Value = serde_json::from_str(&run(&format!("# the shop\n{BAD}"))).expect("JSON");
    let first: Value = serde_json::from_str(&first).expect("JSON");
    let (a, b) = (&first["runs"][0]["results"][0], &moved["runs"][0]["results"][0]);
    assert_eq!(a["partialFingerprints"], b["partialFingerprints"]);
    let line = |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64();
    assert_eq!(line(b), line(a).map(|l| l + 1));
    // Another finding has another fingerprint.
    let other: Value = serde_json::from_str(&run(&BAD.replace("nobody", "someone"))).expect("JSON");
    assert_ne!(other["runs"][0]["results"][0]["partialFingerprints"], a["partialFingerprints"]);
}

/// `compile` and `verify` keep stdout for their own output (YAML, the verdicts) and write SARIF
/// on stderr. Warnings and related locations validate too.
#[test]
fn compile_and_verify_write_sarif() {
    let out =
        netpol(&["compile", "examples/named-ports.netpol", "-t", "cilium", "--format", "sarif"], &root());
    let log = valid(&text(&out.stderr));
    assert!(log["runs"][0]["results"].is_array());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("shop.netpol"),
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\ndb accepts tcp 80 from web\n\
         expect web can reach db on tcp 5432\n",
    )
    .expect("write");
    let out = netpol(&["verify", "shop.netpol", "--format", "sarif"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = valid(&text(&out.stderr));
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "E0401"), "{log}");
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

const SHOP: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n\
                    workload cache { app: cache }\ndb accepts tcp 5432 from web\n\
                    cache accepts tcp 6379 from web\n";

fn results(log: &Value) -> Vec<(String, String, Option<u64>)> {
    let mut out: Vec<(String, String, Option<u64>)> = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let at = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap_or("").to_string(),
                at["artifactLocation"]["uri"].as_str().unwrap_or("").to_string(),
                at["region"]["startLine"].as_u64(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `diff --format sarif`: a result per change, at the line that decides it on the new side; a
/// removed rule points at its file in the working tree, with the revision named.
#[test]
fn diff_writes_valid_sarif_at_the_deciding_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("old.netpol"), SHOP).expect("write");
    std::fs::write(d.join("new.netpol"), SHOP.replace("5432", "5433")).expect("write");
    let out = netpol(&["diff", "old.netpol", "new.netpol", "--format", "sarif"], d);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = valid(&text(&out.stdout));
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(rules, ["diff/added", "diff/removed", "diff/possibly"]);
    // Added: the new rule on tcp 5433; removed: the new side's rule that isolates db on 5432.
    assert_eq!(
        results(&log),
        [
            ("diff/added".to_string(), "new.netpol".to_string(), Some(5)),
            ("diff/removed".to_string(), "new.netpol".to_string(), Some(5)),
        ]
    );
    let added = &log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "diff/added")
        .expect("added")
        .clone();
    let message = added["message"]["text"].as_str().expect("text");
    assert!(message.starts_with("added: shop/<pod app=web> -> shop/<pod app=db> on tcp 5433\n"), "{message}");
    assert!(message.contains("new: allowed"), "{message}");
    // The same input, the same bytes; no change, no result.
    assert_eq!(
        text(&out.stdout),
        text(&netpol(&["diff", "old.netpol", "new.netpol", "--format", "sarif"], d).stdout)
    );
    let same = netpol(&["diff", "old.netpol", "old.netpol", "--format", "sarif"], d);
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(valid(&text(&same.stdout))["runs"][0]["results"].as_array().map(Vec::len), Some(0));

    // A rule deleted since the last commit opens `cache` to everyone: no line of the new side
    // decides that, so the results point at the deleted line, under the working tree's path,
    // with the revision in the location's message.
    git(d, &["init", "-q"]);
    std::fs::create_dir(d.join("net")).expect("mkdir");
    std::fs::write(d.join("net/shop.netpol"), SHOP).expect("write");
    git(d, &["add", "net"]);
    git(d, &["commit", "-qm", "one"]);
    std::fs::write(d.join("net/shop.netpol"), SHOP.replace("cache accepts tcp 6379 from web\n", ""))
        .expect("write");
    let out = netpol(&["diff", "--git", "HEAD", "net", "--format", "sarif"], d);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = valid(&text(&out.stdout));
    let found = results(&log);
    assert!(!found.is_empty());
    assert!(
        found.iter().all(|r| *r == ("diff/added".to_string(), "net/shop.netpol".to_string(), Some(6))),
        "{found:?}"
    );
    let at = &log["runs"][0]["results"][0]["locations"][0];
    assert_eq!(at["message"]["text"], "at HEAD");
}
