//! `netpol learn FLOWS…`: source proposed from recorded flows. The properties: replaying the
//! flows against what was learned drops nothing; without any one learned rule, some flow
//! drops; the output is deterministic and `fmt`-stable; learned from the flows a program
//! allows (every connection of it, over an inventory), it is a program `diff` finds the same.

mod common;

use common::flows::{flow, reply, At};
use common::{netpol, netpol_with_stdin, root, text, write};
use std::path::Path;

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = netpol(args, dir);
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The learned source for the flows in `dir/flows.json`.
fn learn(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["learn", "flows.json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args, dir);
    assert_eq!(code, 0, "learn: {err}");
    out
}

/// A small deterministic generator of recordings: workloads of two namespaces (pods with
/// per-pod labels, some named by their Deployment), connections between them on a few ports,
/// DNS lookups, addresses outside the cluster, and replies.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const PODS: &[At] = &[
    At::PodOf("shop", "web-7d9f8-aaaaa", &["app=web", "pod-template-hash=7d9f8"], "Deployment/web"),
    At::PodOf("shop", "web-7d9f8-bbbbb", &["app=web", "pod-template-hash=7d9f8"], "Deployment/web"),
    At::Pod("shop", "api-0", &["app=api", "tier=backend", "statefulset.kubernetes.io/pod-name=api-0"]),
    At::Pod("shop", "api-1", &["app=api", "tier=backend", "statefulset.kubernetes.io/pod-name=api-1"]),
    At::Pod("shop", "db-0", &["app=db", "tier=backend"]),
    At::PodOf(
        "ops",
        "prometheus-5c4b-ccccc",
        &["app.kubernetes.io/name=prometheus"],
        "Deployment/prometheus",
    ),
    At::Pod("ops", "agent-x1", &["app=agent", "controller-revision-hash=abc"]),
    At::Pod("ops", "agent-x2", &["app=agent", "controller-revision-hash=abd"]),
];
const DNS: At = At::Pod("kube-system", "coredns-5d78c-xyz12", &["k8s-app=kube-dns"]);
const WORLD: &[At] = &[At::World("203.0.113.9"), At::World("198.51.100.20"), At::World("2001:db8::5")];

fn recording(seed: u64) -> String {
    let mut g = Gen(seed);
    let mut out = String::new();
    for _ in 0..12 + g.next(10) {
        let from = PODS[g.next(PODS.len())];
        let roll = g.next(10);
        let (to, proto, port) = match roll {
            0 => (DNS, "UDP", 53),
            1 => (WORLD[g.next(WORLD.len())], "TCP", [443, 80][g.next(2)]),
            2 => (PODS[g.next(PODS.len())], "UDP", [8125, 9999][g.next(2)]),
            _ => (PODS[g.next(PODS.len())], "TCP", [80, 8080, 5432, 9090][g.next(4)]),
        };
        let n = 1 + g.next(3);
        for _ in 0..n {
            out.push_str(&flow(from, to, proto, port, "FORWARDED"));
            if proto == "TCP" {
                out.push_str(&reply(from, to, port));
            }
        }
        if g.next(8) == 0 {
            // From the world, into a pod.
            out.push_str(&flow(
                WORLD[g.next(WORLD.len())],
                PODS[g.next(PODS.len())],
                "TCP",
                443,
                "FORWARDED",
            ));
        }
    }
    out
}

#[test]
fn replaying_the_flows_against_what_was_learned_drops_nothing_and_every_rule_is_needed() {
    let mut rules_checked = 0;
    for seed in 0..6 {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        write(d, "flows.json", &recording(seed));
        let learned = learn(d, &["--default-deny"]);
        write(d, "learned.netpol", &learned);
        // Deterministic, and in the canonical layout.
        assert_eq!(learn(d, &["--default-deny"]), learned, "seed {seed}: not deterministic");
        let (code, _, err) = run(&["fmt", "--check", "learned.netpol"], d);
        assert_eq!(code, 0, "seed {seed}: not fmt-stable: {err}\n{learned}");
        // No per-pod label in a selector.
        for label in ["pod-template-hash", "statefulset.kubernetes.io/pod-name", "controller-revision-hash"] {
            assert!(!learned.contains(label), "seed {seed}: {label} in\n{learned}");
        }
        // Nothing recorded is dropped, on the source's meaning and as Kubernetes enforces it.
        for extra in [&[][..], &["-t", "kubernetes"][..]] {
            let mut args = vec!["replay", "learned.netpol", "flows.json"];
            args.extend_from_slice(extra);
            let (code, out, err) = run(&args, d);
            assert_eq!(code, 0, "seed {seed} {extra:?}: {out}{err}\n{learned}");
        }
        // Without any one rule, some flow drops.
        let lines: Vec<&str> = learned.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.contains("\"learned: ") {
                continue;
            }
            let without: Vec<&str> =
                lines.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| *l).collect();
            write(d, "without.netpol", &(without.join("\n") + "\n"));
            let (code, out, err) = run(&["replay", "without.netpol", "flows.json"], d);
            if code == 4 {
                // Only "possibly": the engine does not know pods' addresses, so a rule for an
                // address outside the cluster may, as far as it knows, match the pod. Cilium
                // never matches a pod by a CIDR rule: there it drops.
                let (code, out, err) = run(&["replay", "without.netpol", "flows.json", "-t", "cilium"], d);
                assert_eq!(
                    code,
                    1,
                    "seed {seed}: without `{}` nothing drops on Cilium:\n{out}{err}",
                    l.trim()
                );
            } else {
                assert_eq!(code, 1, "seed {seed}: without `{}` nothing drops:\n{out}{err}", l.trim());
            }
            rules_checked += 1;
        }
    }
    assert!(rules_checked > 40, "only {rules_checked} rules checked");
}

/// The program's allowed connections, recorded, over an inventory of its pods: what is learned
/// allows the same on every point (`netpol diff` says the same), default deny included because
/// the inventory shows every pod was seen.
#[test]
fn learning_a_programs_own_traffic_gives_back_the_same_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "shop.netpol",
        "namespace shop\n\ndefault deny all\n\n\
         workload storefront { app: storefront }\nworkload orders { app: orders }\nworkload postgres { app: postgres }\n\n\
         storefront connects to orders on tcp 9000\nstorefront connects to kube-dns\n\
         orders accepts tcp 9000 from storefront\norders connects to postgres on tcp 5432\n\
         postgres accepts tcp 5432 from orders\n",
    );
    let storefront = At::Pod("shop", "storefront-1", &["app=storefront"]);
    let orders = At::Pod("shop", "orders-1", &["app=orders"]);
    let postgres = At::Pod("shop", "postgres-0", &["app=postgres"]);
    let flows = [
        flow(storefront, orders, "TCP", 9000, "FORWARDED"),
        flow(storefront, DNS, "UDP", 53, "FORWARDED"),
        flow(storefront, DNS, "TCP", 53, "FORWARDED"),
        flow(orders, postgres, "TCP", 5432, "FORWARDED"),
    ]
    .concat();
    write(d, "flows.json", &flows);
    let mut inventory = String::new();
    for (name, app) in [("storefront-1", "storefront"), ("orders-1", "orders"), ("postgres-0", "postgres")] {
        inventory.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{app: {app}}}}}\n\
             spec: {{containers: [{{name: c}}]}}\n"
        ));
    }
    inventory.push_str(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns-5d78c-xyz12, namespace: kube-system, labels: {k8s-app: kube-dns}}\n\
         spec: {containers: [{name: c}]}\n",
    );
    write(d, "inventory.yaml", &inventory);
    let learned = learn(d, &["--inventory", "inventory.yaml"]);
    assert!(learned.contains("default deny all"), "{learned}");
    write(d, "learned.netpol", &learned);
    let (code, out, err) =
        run(&["diff", "shop.netpol", "learned.netpol", "--inventory", "inventory.yaml"], d);
    assert_eq!(code, 0, "the learned program differs:\n{out}{err}\n{learned}");
    // A pod the recording did not see: no default deny, and the source says why.
    inventory.push_str(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: batch-1, namespace: shop, labels: {app: batch}}\n\
         spec: {containers: [{name: c}]}\n",
    );
    write(d, "inventory.yaml", &inventory);
    let learned = learn(d, &["--inventory", "inventory.yaml"]);
    assert!(!learned.lines().any(|l| l.trim() == "default deny all"), "{learned}");
    assert!(learned.contains("# No default deny: the inventory has pods of this namespace"), "{learned}");
    write(d, "learned.netpol", &learned);
    let (code, out, _) = run(&["diff", "shop.netpol", "learned.netpol", "--inventory", "inventory.yaml"], d);
    assert_eq!(code, 1, "without a default deny, batch-1 is open: {out}");
}

#[test]
fn workloads_are_named_and_selected_by_what_lasts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Two Deployments share `app: api` and differ in `track`; two pods of one StatefulSet carry
    // per-pod labels; two ReplicaSets of one Deployment differ only in pod-template-hash.
    let stable = At::PodOf(
        "shop",
        "api-6b5f-aaaaa",
        &["app=api", "track=stable", "pod-template-hash=6b5f"],
        "Deployment/api",
    );
    let canary = At::PodOf(
        "shop",
        "api-canary-77c9-bbbbb",
        &["app=api", "track=canary", "pod-template-hash=77c9"],
        "Deployment/api-canary",
    );
    let old = At::PodOf("shop", "web-1111-ccccc", &["app=web", "pod-template-hash=1111"], "Deployment/web");
    let new = At::PodOf("shop", "web-2222-ddddd", &["app=web", "pod-template-hash=2222"], "Deployment/web");
    let db0 = At::Pod("shop", "db-0", &["app=db", "statefulset.kubernetes.io/pod-name=db-0"]);
    let db1 = At::Pod("shop", "db-1", &["app=db", "statefulset.kubernetes.io/pod-name=db-1"]);
    let flows = [
        flow(old, stable, "TCP", 8080, "FORWARDED"),
        flow(new, canary, "TCP", 8080, "FORWARDED"),
        flow(stable, db0, "TCP", 5432, "FORWARDED"),
        flow(canary, db1, "TCP", 5432, "FORWARDED"),
        flow(stable, db1, "TCP", 5433, "FORWARDED"),
    ]
    .concat();
    write(d, "flows.json", &flows);
    let learned = learn(d, &["--default-deny"]);
    insta::assert_snapshot!("learn_workloads", learned);
    assert!(learned.contains("workload api "), "{learned}");
    assert!(learned.contains("workload api-canary "), "{learned}");
    assert!(learned.contains("{ app: web }"), "{learned}");
    assert!(learned.contains("{ app: db }"), "{learned}");
    // The two Deployments are told apart by `track`; one rule per peer and protocol, ports merged.
    assert!(learned.contains("api connects to db on tcp 5432, 5433"), "{learned}");
}

#[test]
fn what_is_not_learned_is_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let web = At::Pod("shop", "web-1", &["app=web"]);
    let proxy = At::Pod("kube-system", "kube-proxy-1", &["k8s-app=kube-proxy"]);
    let flows = [
        flow(web, DNS, "UDP", 53, "FORWARDED"),
        flow(web, At::Pod("shop", "db-1", &["app=db"]), "ICMPv4", 0, "FORWARDED"),
        flow(proxy, DNS, "TCP", 9153, "FORWARDED"),
        flow(proxy, web, "TCP", 8080, "FORWARDED"),
    ]
    .concat();
    write(d, "flows.json", &flows);
    let (code, out, err) = run(&["learn", "flows.json"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# Not learned: 1 flow, ICMP echo requests"), "{out}");
    assert!(out.contains("# Not learned: 1 flow, between pods of kube-system"), "{out}");
    assert!(out.contains("web connects to kube-dns"), "{out}");
    // kube-system pods are peers, declared, never given policies.
    assert!(out.contains("web accepts tcp 8080 from kube-system/kube-proxy"), "{out}");
    assert!(!out.contains("kube-proxy accepts") && !out.contains("kube-proxy connects"), "{out}");
    assert!(err.contains("not learned: 1 flow, ICMP echo requests"), "{err}");
    assert!(err.contains("no default deny in: shop"), "{err}");
}

#[test]
fn output_file_stdin_and_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let web = At::Pod("shop", "web-1", &["app=web"]);
    let body = flow(web, DNS, "UDP", 53, "FORWARDED");
    write(d, "flows.json", &body);
    let (code, _, err) = run(&["learn", "flows.json", "-o", "learned.netpol"], d);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote learned.netpol"), "{err}");
    let written = std::fs::read_to_string(d.join("learned.netpol")).expect("written");
    // The same again: unchanged. Something else there: never replaced.
    let (code, _, err) = run(&["learn", "flows.json", "-o", "learned.netpol"], d);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("unchanged"), "{err}");
    write(d, "mine.netpol", "# my own file\n");
    let (code, _, err) = run(&["learn", "flows.json", "-o", "mine.netpol"], d);
    assert_eq!(code, 3, "{err}");
    assert_eq!(std::fs::read_to_string(d.join("mine.netpol")).expect("read"), "# my own file\n");
    let (code, _, _) = run(&["learn", "flows.json", "-o", "learned.yaml"], d);
    assert_eq!(code, 2);
    // stdin, with the same result.
    let out = netpol_with_stdin(&["learn", "-"], d, &body);
    assert_eq!(text(&out.stdout), written.replace("flows.json", "<stdin>"));
    // No flow: E0802, exit 2.
    write(d, "empty.json", "\n");
    let (code, _, err) = run(&["learn", "empty.json", "--color", "never"], d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[E0802]"), "{err}");
}

/// The README's example: the seed recording learned, and replayed against what was learned.
#[test]
fn the_event_streams_recording_learned() {
    let (code, out, err) = run(&["learn", "examples/flows/event-streams.jsonl"], &root());
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("learn_event_streams", out);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "learned.netpol", &out);
    let flows = root().join("examples/flows/event-streams.jsonl");
    let (code, out, err) = run(&["replay", "learned.netpol", flows.to_str().expect("utf-8")], dir.path());
    assert_eq!(code, 0, "{out}{err}");
}

/// The README's example prints what the README shows, on stdout and (its `text` block) stderr.
#[test]
fn the_readme_example_is_what_learn_prints() {
    let (args, want) = common::readme_example("Learning a policy from traffic");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&args, &root());
    assert_eq!(code, 0);
    assert_eq!(out, want, "README.md's learn example differs from the output");
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = &readme[readme.find("## Learning a policy from traffic").expect("section")..];
    let stderr = section.split("```text\n").nth(1).expect("the stderr block");
    assert_eq!(err, &stderr[..stderr.find("```").expect("closed")]);
}
