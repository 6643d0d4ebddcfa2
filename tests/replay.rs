//! `netpol replay PROGRAM FLOWS…`: recorded Hubble flows judged against a policy. The flows
//! here are written as `hubble observe -o jsonpb` writes them (`flow()` below builds one line);
//! the program is `examples/default-deny.netpol` unless a test says otherwise.

mod common;

use common::flows::{flow, reply, At};
use common::{netpol, netpol_with_stdin, root, text, write};
use serde_json::Value;
use std::path::Path;

const STOREFRONT: At = At::Pod("shop", "storefront-5c7d9-abcde", &["app=storefront"]);
const ORDERS: At = At::Pod("shop", "orders-6f8b4-fghij", &["app=orders"]);
const POSTGRES: At = At::Pod("shop", "postgres-0", &["app=postgres"]);
const DNS: At = At::Pod("kube-system", "coredns-5d78c-xyz12", &["k8s-app=kube-dns"]);

/// Flows the example allows: each connection its rules name, and their replies.
fn allowed_flows() -> String {
    [
        flow(STOREFRONT, ORDERS, "TCP", 9000, "FORWARDED"),
        reply(STOREFRONT, ORDERS, 9000),
        flow(STOREFRONT, ORDERS, "TCP", 9000, "FORWARDED"),
        flow(ORDERS, POSTGRES, "TCP", 5432, "FORWARDED"),
        flow(STOREFRONT, DNS, "UDP", 53, "FORWARDED"),
        flow(At::World("203.0.113.9"), STOREFRONT, "TCP", 8080, "FORWARDED"),
    ]
    .concat()
}

/// A connection no rule allows (both sides), twice, and an echo request.
fn dropped_flows() -> String {
    [
        flow(STOREFRONT, POSTGRES, "TCP", 5432, "FORWARDED"),
        flow(STOREFRONT, POSTGRES, "TCP", 5432, "FORWARDED"),
        flow(ORDERS, STOREFRONT, "ICMPv4", 0, "FORWARDED"),
    ]
    .concat()
}

fn replay(args: &[&str], dir: &Path) -> (i32, String, String) {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    let out = netpol(&all, dir);
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn example() -> String {
    root().join("examples/default-deny.netpol").display().to_string()
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[test]
fn allowed_flows_exit_0_and_replies_are_not_judged() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "flows.json", &allowed_flows());
    let (code, out, err) = replay(&[&example(), "flows.json"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("replayed 6 flows"), "{out}");
    assert!(out.contains("4 connections (5 flows), and 1 reply not judged on its own"), "{out}");
    assert!(out.contains("every judged flow is allowed (5 flows)"), "{out}");
    let (code, out, _) = replay(&[&example(), "flows.json", "--format", "json"], dir.path());
    assert_eq!(code, 0);
    let v = json_of(&out);
    assert_eq!(v["semantics"], "source");
    assert_eq!(v["allowed_flows"], 5);
    assert_eq!(v["dropped_flows"], 0);
    assert_eq!(v["counts"]["replies"], 1);
    assert_eq!(v["connections"], 4);
}

#[test]
fn dropped_flows_are_grouped_by_the_rules_that_decide() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "flows.json", &format!("{}{}", allowed_flows(), dropped_flows()));
    let (code, out, err) = replay(&[&example(), "flows.json"], dir.path());
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("3 of 8 judged flows would be dropped"), "{out}");
    let (code, out, _) = replay(&[&example(), "flows.json", "--format", "json"], dir.path());
    assert_eq!(code, 1);
    let v = json_of(&out);
    assert_eq!(v["dropped_flows"], 3);
    let groups = v["dropped"].as_array().expect("groups");
    // storefront -> postgres: storefront's egress and postgres's ingress both leave it out;
    // the echo: storefront's ingress allows tcp 8080 only.
    let postgres = groups.iter().find(|g| g["example"]["to"] == "shop/postgres-0").expect("postgres group");
    assert_eq!(postgres["flows"], 2);
    assert_eq!(postgres["connections"], 1);
    assert_eq!(postgres["example"]["port"], "tcp 5432");
    assert_eq!(postgres["example"]["at"], "flows.json:7");
    let lines: Vec<u64> =
        postgres["rules"].as_array().expect("rules").iter().filter_map(|r| r["line"].as_u64()).collect();
    let src = std::fs::read_to_string(example()).expect("example");
    let line_of = |needle: &str| src.lines().position(|l| l.starts_with(needle)).expect(needle) as u64 + 1;
    assert!(lines.contains(&line_of("storefront connects to orders")), "{postgres:#}");
    assert!(lines.contains(&line_of("postgres accepts tcp 5432 from orders")), "{postgres:#}");
    let echo = groups.iter().find(|g| g["example"]["port"] == "icmp echo").expect("echo group");
    assert_eq!(echo["example"]["from"], "shop/orders-6f8b4-fghij");
    assert_eq!(echo["flows"], 1);
    // Markdown for a pull request: a table row per group.
    let (code, md, _) = replay(&[&example(), "flows.json", "--format", "markdown"], dir.path());
    assert_eq!(code, 1);
    assert!(md.starts_with("**3 of 8 judged flows would be dropped**"), "{md}");
    assert!(md.contains("| Would drop | flows | connections | example |"), "{md}");
    assert!(md.contains("`shop/storefront-5c7d9-abcde` → `shop/postgres-0` on tcp 5432"), "{md}");
}

/// Each target's reading of the compiled manifests, and the manifests given as the policy,
/// drop what the source's meaning drops.
#[test]
fn targets_and_manifests_agree_with_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "flows.json", &format!("{}{}", allowed_flows(), dropped_flows()));
    let (_, source, _) = replay(&[&example(), "flows.json", "--format", "json"], dir.path());
    let source = json_of(&source);
    for target in ["kubernetes", "cilium", "calico"] {
        let (code, out, err) =
            replay(&[&example(), "flows.json", "-t", target, "--format", "json"], dir.path());
        assert_eq!(code, 1, "{target}: {out}{err}");
        let v = json_of(&out);
        assert_eq!(v["semantics"], format!("compiled:{target}"));
        assert_eq!(v["dropped_flows"], source["dropped_flows"], "{target}: {out}");
        assert_eq!(v["allowed_flows"], source["allowed_flows"], "{target}: {out}");

        let compiled = netpol(&["compile", &example(), "--target", target], dir.path());
        assert!(compiled.status.success(), "{}", text(&compiled.stderr));
        write(dir.path(), &format!("{target}.yaml"), &text(&compiled.stdout));
        let (code, out, err) =
            replay(&[&format!("{target}.yaml"), "flows.json", "--format", "json"], dir.path());
        assert_eq!(code, 1, "{target} manifests: {out}{err}");
        let v = json_of(&out);
        assert_eq!(v["semantics"], target);
        assert_eq!(v["dropped_flows"], source["dropped_flows"], "{target} manifests: {out}");
        // A manifest's rule is named by its object.
        let rules = v["dropped"][0]["rules"].as_array().expect("rules");
        assert!(rules.iter().any(|r| r["object"].is_string()), "{target}: {rules:?}");
    }
}

/// Where the policy leaves the answer to a fact it does not know (an address block that may
/// hold the pod), the flow is "possibly" dropped: exit 4, not 0 or 1.
#[test]
fn possibly_dropped_exits_4() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "p.netpol",
        "namespace shop\nworkload orders { app: orders }\nworkload storefront { app: storefront }\n\
         orders accepts tcp 9000 from 10.0.0.0/8\n",
    );
    write(dir.path(), "flows.json", &flow(STOREFRONT, ORDERS, "TCP", 9000, "FORWARDED"));
    let (code, out, err) = replay(&["p.netpol", "flows.json"], dir.path());
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("possibly dropped"), "{out}");
    assert!(out.contains("nothing would be dropped for certain; 1 flow possibly would"), "{out}");
}

/// `--inventory` pods stand for the recorded ones of the same name: their labels decide.
#[test]
fn inventory_pods_stand_for_recorded_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unlabelled = At::Pod("shop", "orders-6f8b4-fghij", &[]);
    write(dir.path(), "flows.json", &flow(STOREFRONT, unlabelled, "TCP", 9000, "FORWARDED"));
    let (code, out, _) = replay(&[&example(), "flows.json"], dir.path());
    assert_eq!(code, 1, "without labels the pod is no workload's: {out}");
    write(
        dir.path(),
        "inventory.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: orders-6f8b4-fghij, namespace: shop, labels: {app: orders}}\n\
         spec: {containers: [{name: c}]}\n",
    );
    let (code, out, err) = replay(&[&example(), "flows.json", "--inventory", "inventory.yaml"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
}

/// A broken line is a warning with its line number, and the rest is replayed; stdin works.
#[test]
fn malformed_lines_warn_and_stdin_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = flow(STOREFRONT, ORDERS, "TCP", 9000, "FORWARDED");
    let body = format!("{good}{{\"flow\": {{\"IP\": \n{good}not json at all\n");
    let out = netpol_with_stdin(&["replay", &example(), "-", "--color", "never"], dir.path(), &body);
    let (out_s, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{out_s}{err}");
    assert!(err.contains("warning[W0801]: cannot read this flow: not a JSON object"), "{err}");
    assert!(err.contains("<stdin>:2:") && err.contains("<stdin>:4:"), "{err}");
    assert!(out_s.contains("replayed 2 flows"), "{out_s}");
}

#[test]
fn input_trouble_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "empty.json", "");
    let (code, _, err) = replay(&[&example(), "empty.json", "--color", "never"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[E0802]"), "{err}");
    write(dir.path(), "flows.json", &allowed_flows());
    let (code, _, err) = replay(&["missing.netpol", "flows.json"], dir.path());
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = replay(&[&example(), "missing.json"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read `missing.json`"), "{err}");
    write(dir.path(), "bad.netpol", "namespace shop\nworkload w { app: w }\nw accepts tcp 80 from nobody\n");
    let (code, _, err) = replay(&["bad.netpol", "flows.json"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E0101"), "{err}");
}

/// The example in the README: the seed example's workloads, recorded.
#[test]
fn the_event_streams_recording() {
    let (code, out, err) =
        replay(&["examples/event-streams.netpol", "examples/flows/event-streams.jsonl"], &root());
    assert_eq!(code, 1, "{out}{err}");
    insta::assert_snapshot!("replay_event_streams", out);
    // Output is deterministic.
    let (_, again, _) =
        replay(&["examples/event-streams.netpol", "examples/flows/event-streams.jsonl"], &root());
    assert_eq!(out, again);
}

/// The README's example prints what the README shows.
#[test]
fn the_readme_example_is_what_replay_prints() {
    let (args, want) = common::readme_example("Replaying recorded traffic");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = netpol(&args, &root());
    assert_eq!(text(&out.stdout), want, "README.md's replay example differs from the output");
}
