//! The ClusterNetworkPolicy conformance suite of kubernetes-sigs/network-policy-api
//! (tests/upstream/network-policy-api, see its README) as a user brings it: `netpol verify`
//! checks what each step of each upstream test pokes, and whether the suite expects the poke to
//! connect (its `expects/` file), against the step's manifests as the Kubernetes API defines
//! ClusterNetworkPolicy beside NetworkPolicy, over the suite's namespaces and pods
//! (`inventory.yaml`).

mod common;

use common::{netpol, root, text, turned_around};
use std::path::{Path, PathBuf};

/// Each step: its expectations (`expects/<name>.netpol`, `<ShortName>-<t.Run index>`) and the
/// manifests as they stand at that step: the upstream files, or where the test has patched its
/// policies by then (swapped rules, a changed action or priority, a deleted NetworkPolicy),
/// `patched/<name>.yaml`.
const CASES: &[(&str, &[&str])] = &[
    ("CNPAdminTierEgressNamedPort-0", &["patched/CNPAdminTierEgressNamedPort-0.yaml"]),
    ("CNPAdminTierIngressNamedPort-0", &["patched/CNPAdminTierIngressNamedPort-0.yaml"]),
    ("CNPAdminTierEgressInlineCIDRPeers-0", &["base/admin_tier/standard-egress-inline-cidr-rules.yaml"]),
    ("CNPAdminTierEgressSCTP-0", &["base/admin_tier/standard-egress-sctp-rules.yaml"]),
    ("CNPAdminTierEgressSCTP-1", &["base/admin_tier/standard-egress-sctp-rules.yaml"]),
    ("CNPAdminTierEgressSCTP-2", &["patched/CNPAdminTierEgressSCTP-2.yaml"]),
    ("CNPAdminTierEgressSCTP-3", &["patched/CNPAdminTierEgressSCTP-3.yaml"]),
    ("CNPAdminTierEgressSCTP-4", &["patched/CNPAdminTierEgressSCTP-4.yaml"]),
    ("CNPAdminTierEgressSCTP-5", &["patched/CNPAdminTierEgressSCTP-5.yaml"]),
    ("CNPAdminTierEgressTCP-0", &["base/admin_tier/standard-egress-tcp-rules.yaml"]),
    ("CNPAdminTierEgressTCP-1", &["base/admin_tier/standard-egress-tcp-rules.yaml"]),
    ("CNPAdminTierEgressTCP-2", &["patched/CNPAdminTierEgressTCP-2.yaml"]),
    ("CNPAdminTierEgressTCP-3", &["patched/CNPAdminTierEgressTCP-3.yaml"]),
    ("CNPAdminTierEgressTCP-4", &["patched/CNPAdminTierEgressTCP-4.yaml"]),
    ("CNPAdminTierEgressTCP-5", &["patched/CNPAdminTierEgressTCP-5.yaml"]),
    ("CNPAdminTierEgressUDP-0", &["base/admin_tier/standard-egress-udp-rules.yaml"]),
    ("CNPAdminTierEgressUDP-1", &["base/admin_tier/standard-egress-udp-rules.yaml"]),
    ("CNPAdminTierEgressUDP-2", &["patched/CNPAdminTierEgressUDP-2.yaml"]),
    ("CNPAdminTierEgressUDP-3", &["patched/CNPAdminTierEgressUDP-3.yaml"]),
    ("CNPAdminTierEgressUDP-4", &["patched/CNPAdminTierEgressUDP-4.yaml"]),
    ("CNPAdminTierEgressUDP-5", &["patched/CNPAdminTierEgressUDP-5.yaml"]),
    ("CNPAdminTierGress-0", &["base/admin_tier/standard-gress-rules-combined.yaml"]),
    ("CNPAdminTierGress-1", &["base/admin_tier/standard-gress-rules-combined.yaml"]),
    ("CNPAdminTierGress-2", &["patched/CNPAdminTierGress-2.yaml"]),
    ("CNPAdminTierGress-3", &["patched/CNPAdminTierGress-3.yaml"]),
    ("CNPAdminTierGress-4", &["patched/CNPAdminTierGress-4.yaml"]),
    ("CNPAdminTierGress-5", &["patched/CNPAdminTierGress-5.yaml"]),
    ("CNPAdminTierIngressSCTP-0", &["base/admin_tier/standard-ingress-sctp-rules.yaml"]),
    ("CNPAdminTierIngressSCTP-1", &["base/admin_tier/standard-ingress-sctp-rules.yaml"]),
    ("CNPAdminTierIngressSCTP-2", &["patched/CNPAdminTierIngressSCTP-2.yaml"]),
    ("CNPAdminTierIngressSCTP-3", &["patched/CNPAdminTierIngressSCTP-3.yaml"]),
    ("CNPAdminTierIngressSCTP-4", &["patched/CNPAdminTierIngressSCTP-4.yaml"]),
    ("CNPAdminTierIngressSCTP-5", &["patched/CNPAdminTierIngressSCTP-5.yaml"]),
    ("CNPAdminTierIngressTCP-0", &["base/admin_tier/standard-ingress-tcp-rules.yaml"]),
    ("CNPAdminTierIngressTCP-1", &["base/admin_tier/standard-ingress-tcp-rules.yaml"]),
    ("CNPAdminTierIngressTCP-2", &["patched/CNPAdminTierIngressTCP-2.yaml"]),
    ("CNPAdminTierIngressTCP-3", &["patched/CNPAdminTierIngressTCP-3.yaml"]),
    ("CNPAdminTierIngressTCP-4", &["patched/CNPAdminTierIngressTCP-4.yaml"]),
    ("CNPAdminTierIngressTCP-5", &["patched/CNPAdminTierIngressTCP-5.yaml"]),
    ("CNPAdminTierIngressUDP-0", &["base/admin_tier/standard-ingress-udp-rules.yaml"]),
    ("CNPAdminTierIngressUDP-1", &["base/admin_tier/standard-ingress-udp-rules.yaml"]),
    ("CNPAdminTierIngressUDP-2", &["patched/CNPAdminTierIngressUDP-2.yaml"]),
    ("CNPAdminTierIngressUDP-3", &["patched/CNPAdminTierIngressUDP-3.yaml"]),
    ("CNPAdminTierIngressUDP-4", &["patched/CNPAdminTierIngressUDP-4.yaml"]),
    ("CNPAdminTierIngressUDP-5", &["patched/CNPAdminTierIngressUDP-5.yaml"]),
    ("CNPAdminTierIntegration-0", &["base/api_integration/standard-anp-np-banp.yaml"]),
    ("CNPAdminTierIntegration-1", &["base/api_integration/standard-anp-np-banp.yaml"]),
    ("CNPAdminTierIntegration-2", &["patched/CNPAdminTierIntegration-2.yaml"]),
    ("CNPAdminTierIntegration-3", &["patched/CNPAdminTierIntegration-3.yaml"]),
    ("CNPAdminTierIntegration-4", &["patched/CNPAdminTierIntegration-4.yaml"]),
    ("CNPAdminTierIntegration-5", &["patched/CNPAdminTierIntegration-5.yaml"]),
    ("CNPAdminTierPriorityField-0", &["base/admin_tier/standard-priority-field.yaml"]),
    ("CNPAdminTierPriorityField-1", &["base/admin_tier/standard-priority-field.yaml"]),
    ("CNPAdminTierPriorityField-2", &["patched/CNPAdminTierPriorityField-2.yaml"]),
    ("CNPBaselineTierEgressNamedPort-0", &["patched/CNPBaselineTierEgressNamedPort-0.yaml"]),
    ("CNPBaselineTierIngressNamedPort-0", &["patched/CNPBaselineTierIngressNamedPort-0.yaml"]),
    (
        "CNPBaselineTierEgressInlineCIDRPeers-0",
        &["base/baseline_tier/standard-egress-inline-cidr-rules.yaml"],
    ),
    ("CNPBaselineTierEgressSCTP-0", &["base/baseline_tier/standard-egress-sctp-rules.yaml"]),
    ("CNPBaselineTierEgressSCTP-1", &["base/baseline_tier/standard-egress-sctp-rules.yaml"]),
    ("CNPBaselineTierEgressSCTP-2", &["patched/CNPBaselineTierEgressSCTP-2.yaml"]),
    ("CNPBaselineTierEgressSCTP-3", &["patched/CNPBaselineTierEgressSCTP-3.yaml"]),
    ("CNPBaselineTierEgressTCP-0", &["base/baseline_tier/standard-egress-tcp-rules.yaml"]),
    ("CNPBaselineTierEgressTCP-1", &["base/baseline_tier/standard-egress-tcp-rules.yaml"]),
    ("CNPBaselineTierEgressTCP-2", &["patched/CNPBaselineTierEgressTCP-2.yaml"]),
    ("CNPBaselineTierEgressTCP-3", &["patched/CNPBaselineTierEgressTCP-3.yaml"]),
    ("CNPBaselineTierEgressUDP-0", &["base/baseline_tier/standard-egress-udp-rules.yaml"]),
    ("CNPBaselineTierEgressUDP-1", &["base/baseline_tier/standard-egress-udp-rules.yaml"]),
    ("CNPBaselineTierEgressUDP-2", &["patched/CNPBaselineTierEgressUDP-2.yaml"]),
    ("CNPBaselineTierEgressUDP-3", &["patched/CNPBaselineTierEgressUDP-3.yaml"]),
    ("CNPBaselineTierGress-0", &["base/baseline_tier/standard-gress-rules-combined.yaml"]),
    ("CNPBaselineTierGress-1", &["base/baseline_tier/standard-gress-rules-combined.yaml"]),
    ("CNPBaselineTierGress-2", &["patched/CNPBaselineTierGress-2.yaml"]),
    ("CNPBaselineTierGress-3", &["patched/CNPBaselineTierGress-3.yaml"]),
    ("CNPBaselineTierIngressSCTP-0", &["base/baseline_tier/standard-ingress-sctp-rules.yaml"]),
    ("CNPBaselineTierIngressSCTP-1", &["base/baseline_tier/standard-ingress-sctp-rules.yaml"]),
    ("CNPBaselineTierIngressSCTP-2", &["patched/CNPBaselineTierIngressSCTP-2.yaml"]),
    ("CNPBaselineTierIngressSCTP-3", &["patched/CNPBaselineTierIngressSCTP-3.yaml"]),
    ("CNPBaselineTierIngressTCP-0", &["base/baseline_tier/standard-ingress-tcp-rules.yaml"]),
    ("CNPBaselineTierIngressTCP-1", &["base/baseline_tier/standard-ingress-tcp-rules.yaml"]),
    ("CNPBaselineTierIngressTCP-2", &["patched/CNPBaselineTierIngressTCP-2.yaml"]),
    ("CNPBaselineTierIngressTCP-3", &["patched/CNPBaselineTierIngressTCP-3.yaml"]),
    ("CNPBaselineTierIngressUDP-0", &["base/baseline_tier/standard-ingress-udp-rules.yaml"]),
    ("CNPBaselineTierIngressUDP-1", &["base/baseline_tier/standard-ingress-udp-rules.yaml"]),
    ("CNPBaselineTierIngressUDP-2", &["patched/CNPBaselineTierIngressUDP-2.yaml"]),
    ("CNPBaselineTierIngressUDP-3", &["patched/CNPBaselineTierIngressUDP-3.yaml"]),
];

fn dir() -> PathBuf {
    root().join("tests/upstream/network-policy-api")
}

fn verify(name: &str, manifests: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let expects = format!("expects/{name}.netpol");
    let mut args = vec!["verify", expects.as_str()];
    args.extend_from_slice(manifests);
    args.extend(["--inventory", "inventory.yaml"]);
    let out = netpol(&args, cwd);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn expect_count(src: &str) -> usize {
    src.lines().filter(|l| l.starts_with("expect ")).count()
}

fn files_under(sub: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir().join(sub)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir()).expect("under").to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_is_checked() {
    let mut listed: Vec<String> = CASES.iter().flat_map(|(_, m)| m.iter().map(|s| s.to_string())).collect();
    listed.sort();
    listed.dedup();
    let mut on_disk = files_under("base");
    on_disk.extend(files_under("patched"));
    on_disk.sort();
    assert_eq!(listed, on_disk, "every manifest has a case, and every case its manifests");
    let mut named: Vec<String> = CASES.iter().map(|(n, _)| format!("expects/{n}.netpol")).collect();
    named.sort();
    assert_eq!(files_under("expects"), named);
}

#[test]
fn what_each_step_pokes_holds() {
    let mut total = 0;
    for (name, manifests) in CASES {
        let n = expect_count(
            &std::fs::read_to_string(dir().join(format!("expects/{name}.netpol"))).expect("expects"),
        );
        assert!(n > 0, "{name}: no expectation");
        total += n;
        let (code, stdout, stderr) = verify(name, manifests, &dir());
        assert_eq!(code, Some(0), "{name}:\n{stdout}{stderr}");
        assert!(stdout.contains("as kubernetes enforces them"), "{name}: {stdout}");
        assert!(stdout.contains(&format!("expect: {n} of {n} hold")), "{name}: {stdout}");
        assert!(!stderr.contains("warning[") && !stderr.contains("error["), "{name}:\n{stderr}");
    }
    // The pokes of the transcribed tests, less those of one pod pair and port a step repeats.
    assert!(total >= 150, "{total}");
}

/// Each expectation decides: written the other way round, every one of them fails.
#[test]
fn every_expectation_turned_around_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for f in files_under("base").into_iter().chain(files_under("patched")).chain(files_under("expects")) {
        let text = std::fs::read_to_string(dir().join(&f)).expect("read");
        let text = if f.starts_with("expects/") { turned_around(&text) } else { text };
        let to = tmp.path().join(&f);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(to, text).expect("write");
    }
    std::fs::copy(dir().join("inventory.yaml"), tmp.path().join("inventory.yaml")).expect("copy");
    for (name, manifests) in CASES {
        let n = expect_count(
            &std::fs::read_to_string(tmp.path().join(format!("expects/{name}.netpol"))).expect("expects"),
        );
        let (code, stdout, stderr) = verify(name, manifests, tmp.path());
        assert_eq!(code, Some(1), "{name}:\n{stdout}{stderr}");
        assert!(stdout.contains(&format!("expect: 0 of {n} hold")), "{name}: {stdout}");
    }
}
