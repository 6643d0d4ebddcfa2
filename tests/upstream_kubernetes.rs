//! The Kubernetes project's example policies and the standard recipe policies
//! (tests/upstream/kubernetes, see its README), as a user brings them: `netpol verify` checks
//! what each example's own text says must and must not connect (its `expects/` file) against
//! the manifests as the Kubernetes API defines them, over the pods its walkthrough creates
//! (`inventory.yaml`); and `netpol import` turns each into `.netpol` source with the proof
//! holding. The suite's e2e cases, as YAML, are checked in `tests/e2e_netpol.rs`.

mod common;

use common::{netpol, root, text, turned_around};
use std::path::PathBuf;

/// Each example: its expectations (`expects/<name>.netpol`) and the manifests they are about.
/// Two examples are meant to be applied over another (the recipe "allow all traffic to an
/// application" over "deny all traffic to an application"; the documentation's allow-all
/// policies over its default denies), and are checked that way.
const CASES: &[(&str, &[&str])] = &[
    ("01-deny-all-traffic-to-an-application", &["recipes/01-deny-all-traffic-to-an-application.yaml"]),
    ("02-limit-traffic-to-an-application", &["recipes/02-limit-traffic-to-an-application.yaml"]),
    (
        "02a-allow-all-traffic-to-an-application",
        &[
            "recipes/01-deny-all-traffic-to-an-application.yaml",
            "recipes/02a-allow-all-traffic-to-an-application.yaml",
        ],
    ),
    (
        "03-deny-all-non-whitelisted-traffic-in-the-namespace",
        &["recipes/03-deny-all-non-whitelisted-traffic-in-the-namespace.yaml"],
    ),
    ("04-deny-traffic-from-other-namespaces", &["recipes/04-deny-traffic-from-other-namespaces.yaml"]),
    ("05-allow-traffic-from-all-namespaces", &["recipes/05-allow-traffic-from-all-namespaces.yaml"]),
    ("06-allow-traffic-from-a-namespace", &["recipes/06-allow-traffic-from-a-namespace.yaml"]),
    (
        "07-allow-traffic-from-some-pods-in-another-namespace",
        &["recipes/07-allow-traffic-from-some-pods-in-another-namespace.yaml"],
    ),
    ("08-allow-external-traffic", &["recipes/08-allow-external-traffic.yaml"]),
    ("09-allow-traffic-only-to-a-port", &["recipes/09-allow-traffic-only-to-a-port.yaml"]),
    (
        "10-allowing-traffic-with-multiple-selectors",
        &["recipes/10-allowing-traffic-with-multiple-selectors.yaml"],
    ),
    (
        "11-deny-egress-traffic-from-an-application",
        &["recipes/11-deny-egress-traffic-from-an-application.yaml"],
    ),
    (
        "11-deny-egress-traffic-from-an-application-allow-dns",
        &["recipes/11-deny-egress-traffic-from-an-application-allow-dns.yaml"],
    ),
    (
        "12-deny-all-non-whitelisted-traffic-from-the-namespace",
        &["recipes/12-deny-all-non-whitelisted-traffic-from-the-namespace.yaml"],
    ),
    ("14-deny-external-egress-traffic", &["recipes/14-deny-external-egress-traffic.yaml"]),
    ("networkpolicy", &["website/networkpolicy.yaml"]),
    ("networkpolicy-multiport-egress", &["website/networkpolicy-multiport-egress.yaml"]),
    ("nginx-policy", &["website/nginx-policy.yaml"]),
    ("network-policy-default-deny-ingress", &["website/network-policy-default-deny-ingress.yaml"]),
    (
        "network-policy-allow-all-ingress",
        &[
            "website/network-policy-default-deny-ingress.yaml",
            "website/network-policy-allow-all-ingress.yaml",
        ],
    ),
    ("network-policy-default-deny-egress", &["website/network-policy-default-deny-egress.yaml"]),
    (
        "network-policy-allow-all-egress",
        &["website/network-policy-default-deny-egress.yaml", "website/network-policy-allow-all-egress.yaml"],
    ),
    ("network-policy-default-deny-all", &["website/network-policy-default-deny-all.yaml"]),
    (
        "network-policy-allow-all-egress-deny-all-ingress",
        &["website/network-policy-allow-all-egress-deny-all-ingress.yaml"],
    ),
];

fn dir() -> PathBuf {
    root().join("tests/upstream/kubernetes")
}

fn expects_file(name: &str) -> String {
    format!("expects/{name}.netpol")
}

fn verify(expects: &str, manifests: &[&str], cwd: &std::path::Path) -> (Option<i32>, String, String) {
    let mut args = vec!["verify", expects];
    args.extend_from_slice(manifests);
    args.extend(["--inventory", "inventory.yaml"]);
    let out = netpol(&args, cwd);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn expect_count(src: &str) -> usize {
    src.lines().filter(|l| l.starts_with("expect ")).count()
}

#[test]
fn every_example_file_is_checked() {
    let mut listed: Vec<String> = CASES.iter().flat_map(|(_, m)| m.iter().map(|s| s.to_string())).collect();
    listed.sort();
    listed.dedup();
    let mut on_disk = Vec::new();
    for sub in ["recipes", "website"] {
        for e in std::fs::read_dir(dir().join(sub)).expect("dir") {
            on_disk.push(format!("{sub}/{}", e.expect("entry").file_name().to_string_lossy()));
        }
    }
    on_disk.sort();
    assert_eq!(listed, on_disk, "every upstream example has a case, and every case an example");
    let mut expects: Vec<String> = std::fs::read_dir(dir().join("expects"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    expects.sort();
    let mut named: Vec<String> = CASES.iter().map(|(n, _)| format!("{n}.netpol")).collect();
    named.sort();
    assert_eq!(expects, named);
}

#[test]
fn what_each_example_says_holds() {
    for (name, manifests) in CASES {
        let expects = expects_file(name);
        let n = expect_count(&std::fs::read_to_string(dir().join(&expects)).expect("expects"));
        assert!(n > 0, "{name}: no expectation");
        let (code, stdout, stderr) = verify(&expects, manifests, &dir());
        assert_eq!(code, Some(0), "{name}:\n{stdout}{stderr}");
        assert!(stdout.contains("as kubernetes enforces them"), "{name}: {stdout}");
        assert!(stdout.contains(&format!("expect: {n} of {n} hold")), "{name}: {stdout}");
        assert!(!stderr.contains("warning[") && !stderr.contains("error["), "{name}:\n{stderr}");
    }
}

/// Each expectation decides: written the other way round, every one of them fails.
#[test]
fn every_expectation_turned_around_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for sub in ["recipes", "website", "expects"] {
        std::fs::create_dir(tmp.path().join(sub)).expect("mkdir");
        for e in std::fs::read_dir(dir().join(sub)).expect("dir") {
            let e = e.expect("entry");
            let text = std::fs::read_to_string(e.path()).expect("read");
            let text = if sub == "expects" { turned_around(&text) } else { text };
            std::fs::write(tmp.path().join(sub).join(e.file_name()), text).expect("write");
        }
    }
    std::fs::copy(dir().join("inventory.yaml"), tmp.path().join("inventory.yaml")).expect("copy");
    for (name, manifests) in CASES {
        let expects = expects_file(name);
        let n = expect_count(&std::fs::read_to_string(tmp.path().join(&expects)).expect("expects"));
        let (code, stdout, stderr) = verify(&expects, manifests, tmp.path());
        assert_eq!(code, Some(1), "{name}:\n{stdout}{stderr}");
        assert!(stdout.contains(&format!("expect: 0 of {n} hold")), "{name}: {stdout}");
    }
}

#[test]
fn every_example_imports_and_proves() {
    for (name, manifests) in CASES {
        let mut args = vec!["import"];
        args.extend_from_slice(manifests);
        args.extend(["--inventory", "inventory.yaml"]);
        let out = netpol(&args, &dir());
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{name}:\n{stdout}{stderr}");
        assert!(stderr.contains("proved on Kubernetes"), "{name}: {stderr}");
        assert!(!stderr.contains("error["), "{name}:\n{stderr}");
    }
}
