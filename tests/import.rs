//! `netpol import` of Kubernetes NetworkPolicies: netpol's own output imports back to the same
//! manifests, imports are idempotent, foreign inputs import and prove (with and without an
//! inventory, and as migrations to Cilium and Calico), the proof catches a changed source, and
//! the command line writes only what it may.

mod common;

use common::import::*;
use common::*;
use netpol::backend::Target;
use netpol::import::{self, Layout, Options};
use serde_json::Value;
use std::collections::HashMap;

fn options(to: &[Target]) -> Options {
    Options { layout: Layout::Single, lossy: false, cni: None, to: to.to_vec() }
}

/// Imports and asserts the proof held with no error; the one source file.
fn import_ok(
    policies: &[(&str, &str)],
    inventory: &[(&str, &str)],
    to: &[Target],
) -> (String, import::Import) {
    let (sources, world) = world_of(policies, inventory);
    let result = import::import(&world, &sources, &options(to));
    let errors: Vec<_> =
        result.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
    assert!(result.ok && errors.is_empty(), "import failed: {errors:#?}\n{:?}", result.summaries);
    assert!(result.compile_errors.is_empty());
    let text = result.files[0].1.clone();
    (text, result)
}

fn example_sources() -> Vec<(String, String)> {
    examples()
        .into_iter()
        .map(|e| {
            let text = std::fs::read_to_string(root().join(&e)).expect("example");
            (e, text)
        })
        .collect()
}

#[test]
fn netpol_output_imports_back_to_the_same_manifests() {
    let mut tried = 0;
    for (name, src) in example_sources() {
        let Some(yaml) = compile_yaml(&src, Target::Kubernetes) else { continue };
        tried += 1;
        let (imported, _) = import_ok(&[("in.yaml", &yaml)], &[], &[]);
        assert_eq!(
            bodies(&imported, Target::Kubernetes),
            bodies(&src, Target::Kubernetes),
            "{name}: compile(import(compile(S))) differs from compile(S)\n{imported}"
        );
        // Idempotent: importing the imported source's output gives the same source.
        let again = compile_yaml(&imported, Target::Kubernetes).expect("imported source compiles");
        let (twice, _) = import_ok(&[("in.yaml", &again)], &[], &[]);
        assert_eq!(twice, imported, "{name}: import is not idempotent");
        // The text is already in `netpol fmt`'s layout.
        assert_eq!(netpol::fmt::format_source(&imported).expect("parses"), imported, "{name}");
    }
    assert!(tried >= 9, "only {tried} examples compile for Kubernetes");
}

#[test]
fn examples_migrate_to_cilium_and_calico() {
    for (name, src) in example_sources() {
        let Some(yaml) = compile_yaml(&src, Target::Kubernetes) else { continue };
        let (sources, world) = world_of(&[("in.yaml", &yaml)], &[]);
        let result = import::import(&world, &sources, &options(&[Target::Cilium, Target::Calico]));
        let errors: Vec<_> = result.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
        if !result.compile_errors.is_empty() {
            // Only a construct the target cannot express (E03xx) may stop a migration.
            for (target, _, diags) in &result.compile_errors {
                assert!(diags.iter().all(|d| d.code.starts_with("E03")), "{name} on {target:?}: {diags:?}");
            }
            continue;
        }
        assert!(result.ok && errors.is_empty(), "{name}: {errors:#?}");
        for d in &result.diagnostics {
            assert_eq!(d.code, "W0706", "{name}: {}", d.message);
        }
        assert_eq!(result.summaries.len(), 3, "{name}: {:?}", result.summaries);
    }
}

/// Foreign policies: the cluster example, and the published Online Boutique policies, with and
/// without their inventory.
#[test]
fn foreign_policies_import_and_prove() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).expect(p);
    let cluster = read("examples/cluster/kubernetes/policies.yaml");
    let inventory = read("examples/cluster/inventory.yaml");
    let (with_inventory, result) =
        import_ok(&[("policies.yaml", &cluster)], &[("inventory.yaml", &inventory)], &[]);
    assert!(result.summaries[0].starts_with("proved on Kubernetes"), "{:?}", result.summaries);
    let (without, _) = import_ok(&[("policies.yaml", &cluster)], &[], &[]);
    assert_eq!(with_inventory, without, "the source does not depend on the inventory");
    assert!(without.contains("\"from NetworkPolicy "), "reasons name the originals:\n{without}");
    // Idempotent on foreign input too.
    let again = compile_yaml(&without, Target::Kubernetes).expect("compiles");
    assert_eq!(import_ok(&[("in.yaml", &again)], &[], &[]).0, without);

    let boutique = read("tests/upstream/nca/onlineboutique/netpols.yaml");
    let pods = read("tests/upstream/nca/onlineboutique/kubernetes-manifests.yaml");
    let ns = read("tests/upstream/nca/onlineboutique/ns.yaml");
    let (text, _) = import_ok(&[("netpols.yaml", &boutique)], &[("pods.yaml", &pods), ("ns.yaml", &ns)], &[]);
    assert!(text.contains("workload"), "{text}");
    import_ok(&[("netpols.yaml", &boutique)], &[], &[Target::Cilium, Target::Calico]);
}

/// Shapes the translator has to get exactly right.
#[test]
fn policy_shapes_import_and_prove() {
    let spec = |s: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: shop}}\nspec: {s}\n")
    };
    let cases = [
        // Default deny, both directions, and egress alone.
        ("{podSelector: {}, policyTypes: [Ingress, Egress]}", "default deny all"),
        ("{podSelector: {}, policyTypes: [Egress]}", "default deny egress"),
        // Isolation without rules; rules of a direction policyTypes leaves out.
        ("{podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress], egress: [{}]}", "a accepts nothing"),
        // Every peer kind.
        (
            "{podSelector: {matchLabels: {app: a}}, ingress: [{from: [{podSelector: {}}, {namespaceSelector: {}}, \
             {namespaceSelector: {matchLabels: {team: x}}}, {namespaceSelector: {matchExpressions: [{key: team, \
             operator: Exists}]}, podSelector: {matchLabels: {app: b}}}, {ipBlock: {cidr: 10.0.0.0/8, except: \
             [10.1.0.0/16, 10.2.0.0/16]}}, {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}, \
             podSelector: {matchLabels: {app: c}}}]}]}",
            "10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16)",
        ),
        // Ports: default protocol, ranges, names, a whole protocol.
        (
            "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: 80}, {port: 8000, endPort: 8080}, \
             {port: http}, {protocol: UDP}, {port: 9000, endPort: 9000, protocol: SCTP}]}]}",
            "a accepts tcp 80, 8000-8080, http and udp and sctp 9000 from anywhere",
        ),
        // DNS, the usual way.
        (
            "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: \
             {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: \
             kube-dns}}}], ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}]}",
            "a connects to kube-dns  \"from",
        ),
        // A podSelector {} with rules: a workload of every pod.
        ("{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: b}}}]}]}", "workload p {}"),
    ];
    for (s, expect) in cases {
        let yaml = spec(s);
        let (text, _) = import_ok(&[("in.yaml", &yaml)], &[], &[Target::Cilium, Target::Calico]);
        assert!(text.contains(expect), "{s}: no `{expect}` in\n{text}");
    }
}

/// A list of three or more peers that two rules repeat becomes a group; one that is not
/// repeated, or is shorter, stays as it is. The source still proves, and imports back the same.
#[test]
fn repeated_peer_lists_become_groups() {
    let policy = |name: &str, app: &str, peers: &[&str], port: u16| {
        let from: Vec<String> =
            peers.iter().map(|p| format!("{{podSelector: {{matchLabels: {{app: {p}}}}}}}")).collect();
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\n\
             spec: {{podSelector: {{matchLabels: {{app: {app}}}}}, ingress: [{{from: [{}], ports: [{{port: {port}}}]}}]}}\n",
            from.join(", ")
        )
    };
    let yaml = [
        policy("db", "db", &["api", "worker", "cron"], 5432),
        policy("cache", "cache", &["api", "worker", "cron"], 6379),
        policy("queue", "queue", &["api", "worker"], 5672),
        policy("search", "search", &["api", "worker"], 9200),
        policy("audit", "audit", &["api", "worker", "web"], 514),
    ]
    .concat();
    let (text, _) = import_ok(&[("in.yaml", &yaml)], &[], &[Target::Cilium, Target::Calico]);
    assert!(text.contains("group api-worker-cron = api, worker, cron"), "{text}");
    assert!(text.contains("cache accepts tcp 6379 from api-worker-cron "), "{text}");
    assert!(text.contains("db accepts tcp 5432 from api-worker-cron "), "{text}");
    assert!(text.contains("queue accepts tcp 5672 from api, worker "), "{text}");
    assert!(text.contains("audit accepts tcp 514 from api, worker, web "), "{text}");
    assert_eq!(text.matches("group ").count(), 1, "{text}");
    let again = compile_yaml(&text, Target::Kubernetes).expect("compiles");
    let (back, _) = import_ok(&[("again.yaml", &again)], &[], &[]);
    assert_eq!(back, text);
}

/// The proof is no formality: a source that allows another port than the originals fails it,
/// with the connection and the original rule that decides it.
#[test]
fn the_proof_catches_a_changed_source() {
    let yaml =
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\n\
                spec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - podSelector: \
                {matchLabels: {app: web}}\n    ports:\n    - port: 8080\n";
    let (text, _) = import_ok(&[("in.yaml", yaml)], &[], &[]);
    let (sources, world) = world_of(&[("in.yaml", yaml)], &[]);
    let changed = text.replace("tcp 8080", "tcp 8081");
    assert_ne!(changed, text);
    let files = vec![(String::new(), changed)];
    let proof = import::proof::prove(
        &world,
        &sources,
        netpol::world::Dialect::Kubernetes,
        &files,
        Target::Kubernetes,
    );
    assert!(!proof.holds());
    let m = &proof.differences[0];
    assert!(
        m.text.contains("-> shop/<pod app=api>") && m.text.contains("the originals say allowed"),
        "{}",
        m.text
    );
    assert!(
        proof
            .differences
            .iter()
            .any(|m| m.origins.contains(&("NetworkPolicy shop/api".into(), "spec.ingress[0]".into()))),
        "{:?}",
        proof.differences.iter().map(|m| &m.origins).collect::<Vec<_>>()
    );
    // And the unchanged source holds.
    let files = vec![(String::new(), text)];
    assert!(import::proof::prove(
        &world,
        &sources,
        netpol::world::Dialect::Kubernetes,
        &files,
        Target::Kubernetes
    )
    .holds());
}

/// One file per namespace compiles, as a folder, to what the one file compiles to.
#[test]
fn a_file_per_namespace_means_the_same() {
    let src = std::fs::read_to_string(root().join("examples/cross-namespace.netpol")).expect("example");
    let yaml = compile_yaml(&src, Target::Kubernetes).expect("compiles");
    let (sources, world) = world_of(&[("in.yaml", &yaml)], &[]);
    let result = import::import(&world, &sources, &Options { layout: Layout::PerNamespace, ..options(&[]) });
    assert!(result.ok, "{:?}", result.summaries);
    let names: Vec<&str> = result.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["namespaces.netpol", "monitoring.netpol", "payments.netpol"]);
    let loader = MemLoader(result.files.iter().cloned().collect::<HashMap<_, _>>());
    let paths: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let options = netpol::driver::Options { targets: vec![Target::Kubernetes], ..Default::default() };
    let c = netpol::driver::compile(&paths, &loader, &options);
    assert!(!c.has_errors(), "{}", render(&c));
    let strip = |objects: Vec<Value>| -> Vec<Value> {
        objects
            .into_iter()
            .map(|mut v| {
                v["metadata"].as_object_mut().expect("metadata").remove("annotations");
                v
            })
            .collect()
    };
    let per_ns = strip(c.outputs.iter().flat_map(|(_, o)| o).map(|o| o.body()).collect());
    assert_eq!(per_ns, bodies(&src, Target::Kubernetes));
}

// ---- the command line ------------------------------------------------------------------

const POLICY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\n\
                      spec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - podSelector: \
                      {matchLabels: {app: web}}\n    ports:\n    - port: 8080\n";

const L7: &str = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: api, namespace: shop}\n\
                  spec:\n  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints:\n    - \
                  matchLabels: {app: web}\n    toPorts:\n    - ports:\n      - {port: \"8080\", protocol: TCP}\n      \
                  rules:\n        http:\n        - {method: GET}\n";

#[test]
fn cli_prints_the_source_and_the_proof() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.yaml", POLICY);
    let out = netpol(&["import", "p.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let source = text(&out.stdout);
    assert!(source.contains("api accepts tcp 8080 from web"), "{source}");
    assert!(text(&out.stderr).contains("proved on Kubernetes NetworkPolicy"), "{}", text(&out.stderr));
    // Deterministic.
    assert_eq!(text(&netpol(&["import", "p.yaml"], dir.path()).stdout), source);
    // The same through stdin.
    let piped = netpol_with_stdin(&["import", "-"], dir.path(), POLICY);
    assert_eq!(text(&piped.stdout), source);
    // .netpol source is not an input.
    write(dir.path(), "a.netpol", "namespace a\n");
    assert_eq!(netpol(&["import", "a.netpol"], dir.path()).status.code(), Some(2));
}

#[test]
fn cli_output_file_is_created_never_replaced() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.yaml", POLICY);
    let out = netpol(&["import", "p.yaml", "-o", "shop.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("shop.netpol")).expect("written");
    // Again: the same text, left as it is.
    let out = netpol(&["import", "p.yaml", "-o", "shop.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("unchanged"), "{}", text(&out.stderr));
    // A file with other text is never replaced.
    write(dir.path(), "mine.netpol", "# mine\n");
    let out = netpol(&["import", "p.yaml", "-o", "mine.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("mine.netpol")).expect("kept"), "# mine\n");
    // The written file compiles.
    let out = netpol(&["check", "shop.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}\n{written}", text(&out.stderr));
}

#[test]
fn cli_output_folder_has_a_file_per_namespace() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.yaml", POLICY);
    let out = netpol(&["import", "p.yaml", "-o", "src"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("src/shop.netpol").is_file());
    assert!(dir.path().join("src/.netpol-manifest").is_file());
    // A file netpol did not write is never touched.
    write(dir.path(), "other/shop.netpol", "# mine\n");
    let out = netpol(&["import", "p.yaml", "-o", "other"], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("other/shop.netpol")).expect("kept"), "# mine\n");
    let out = netpol(&["check", "src"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn cli_refuses_losses_and_writes_the_rest_with_lossy() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.yaml", L7);
    let out = netpol(&["import", "p.yaml", "-o", "shop.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E0702"), "{}", text(&out.stderr));
    assert!(!dir.path().join("shop.netpol").exists(), "a refused import writes nothing");
    let out = netpol(&["import", "p.yaml", "--lossy", "-o", "shop.netpol"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning[E0702]"), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("shop.netpol")).expect("written");
    assert!(written.contains("# not imported (E0702): CiliumNetworkPolicy shop/api"), "{written}");
    // --deny-warnings refuses it again.
    let out = netpol(&["import", "p.yaml", "--lossy", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_migration_reports_what_the_cnis_read_differently() {
    let dir = tempfile::tempdir().expect("tmp");
    let yaml =
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\n\
                spec:\n  podSelector: {matchLabels: {app: api}}\n  egress:\n  - to:\n    - ipBlock: {cidr: \
                10.0.0.0/8}\n    ports:\n    - port: 443\n";
    write(dir.path(), "p.yaml", yaml);
    let out = netpol(&["import", "p.yaml", "--to", "cilium", "--to", "calico"], dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning[W0706]: on Cilium"), "{err}");
    assert!(err.contains("proved on Calico: the imported source allows exactly"), "{err}");
}

/// The console blocks of README "Bringing existing policies" are what the binary prints, as a
/// terminal shows it: the diagnostics, the source, then the proof's lines (stdout dropped where
/// the command sends it to `/dev/null`). Trailing spaces are not compared.
#[test]
fn the_readme_import_section_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find("## Bringing existing policies").expect("section");
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
    assert_eq!(commands.len(), 3, "{commands:?}");
    let trim = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    for (cmd, want) in commands {
        let (args, quiet) = match cmd.strip_suffix(" > /dev/null") {
            Some(a) => (a.to_string(), true),
            None => (cmd.clone(), false),
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = netpol(&args, &root());
        assert_eq!(out.status.code(), Some(0), "`netpol {cmd}`: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let split = stderr.find("proved on ").unwrap_or(stderr.len());
        let (diagnostics, proof) = stderr.split_at(split);
        let stdout = if quiet { String::new() } else { text(&out.stdout) };
        let got = format!("{diagnostics}{stdout}{proof}");
        assert_eq!(trim(&got), trim(&want), "`netpol {cmd}` prints something else now; update the README");
    }
}
