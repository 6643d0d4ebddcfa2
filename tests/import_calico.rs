//! `netpol import` of Calico policies: netpol's own Calico output imports back to the same
//! manifests, imports are idempotent, the upstream Calico examples import and prove or fail
//! with exactly their losses, each field's shape proves, losses are refused and written as
//! comments with --lossy, and a Calico → Cilium migration works from the command line.

mod common;

use common::import::*;
use common::*;
use netpol::backend::Target;
use netpol::import::{self, Layout, Options};
use netpol::span::SourceMap;
use netpol::world::{Use, World};

fn options(to: &[Target], lossy: bool) -> Options {
    Options { layout: Layout::Single, lossy, cni: None, to: to.to_vec() }
}

fn errors(result: &import::Import) -> Vec<String> {
    result.diagnostics.iter().filter(|d| d.is_error()).map(|d| format!("{}: {}", d.code, d.message)).collect()
}

/// Imports and asserts the proof held with no error; the one source file.
fn import_ok(policies: &[(&str, &str)], to: &[Target]) -> String {
    let (sources, world) = world_of(policies, &[]);
    let result = import::import(&world, &sources, &options(to, false));
    assert!(
        result.ok && errors(&result).is_empty(),
        "import failed: {:#?}\n{:?}",
        errors(&result),
        result.summaries
    );
    assert!(result.compile_errors.is_empty());
    result.files[0].1.clone()
}

/// Imports what must be refused: the (code, label) of each error.
fn import_refused(policies: &[(&str, &str)]) -> Vec<(String, String)> {
    let (sources, world) = world_of(policies, &[]);
    let result = import::import(&world, &sources, &options(&[], false));
    assert!(!result.ok && result.files.is_empty());
    result
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.code.to_string(), d.primary.message.clone()))
        .collect()
}

#[test]
fn netpol_calico_output_imports_back_to_the_same_manifests() {
    let mut tried = 0;
    for e in examples() {
        let src = std::fs::read_to_string(root().join(&e)).expect("example");
        let Some(yaml) = compile_yaml(&src, Target::Calico) else { continue };
        tried += 1;
        let imported = import_ok(&[("in.yaml", &yaml)], &[]);
        assert_eq!(
            bodies(&imported, Target::Calico),
            bodies(&src, Target::Calico),
            "{e}: compile(import(compile(S))) differs from compile(S)\n{imported}"
        );
        let again = compile_yaml(&imported, Target::Calico).expect("imported source compiles");
        assert_eq!(import_ok(&[("in.yaml", &again)], &[]), imported, "{e}: import is not idempotent");
        assert_eq!(netpol::fmt::format_source(&imported).expect("parses"), imported, "{e}");
    }
    assert!(tried >= 9, "only {tried} examples compile for Calico");
}

/// netpol's cluster-wide default deny (a GlobalNetworkPolicy of every namespace) and deny tier
/// round-trip too, in one file and in a file per namespace.
#[test]
fn cluster_wide_default_deny_and_deny_tier_round_trip() {
    let src = "default deny all\n\nnamespace shop {\n  workload a { app: a }\n  workload b { app: b }\n\n  \
               a accepts tcp 80 from b\n  a refuses from 10.0.0.0/8  \"no VPN\"\n  b connects to a on tcp 80\n}\n";
    let yaml = compile_yaml(src, Target::Calico).expect("compiles");
    let imported = import_ok(&[("in.yaml", &yaml)], &[Target::Cilium]);
    assert!(imported.contains("\ndefault deny all\n"), "{imported}");
    assert_eq!(bodies(&imported, Target::Calico), bodies(src, Target::Calico), "{imported}");
    let (sources, world) = world_of(&[("in.yaml", &yaml)], &[]);
    let per_ns = Options { layout: Layout::PerNamespace, ..options(&[], false) };
    let result = import::import(&world, &sources, &per_ns);
    assert!(result.ok, "{:?}", errors(&result));
    assert!(result
        .files
        .iter()
        .any(|(name, text)| name == "namespaces.netpol" && text.contains("default deny all")));
    // A foreign one with rules: the rules are lost, the isolation kept.
    let g = policy("GlobalNetworkPolicy", "g", "{selector: all(), types: [Ingress], ingress: [{action: Allow, protocol: TCP, destination: {ports: [53]}}]}");
    let got = import_refused(&[("in.yaml", &g)]);
    assert_eq!(got, [("E0702".to_string(), "spec.ingress".to_string())]);
    let (sources, world) = world_of(&[("in.yaml", &g)], &[]);
    let result = import::import(&world, &sources, &options(&[], true));
    assert!(result.ok && result.files[0].1.contains("default deny ingress"), "{:?}", result.summaries);
}

/// Every upstream Calico example: proved, or refused with exactly these (code, label) errors.
#[test]
fn upstream_calico_examples_import_or_name_their_losses() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("examples/cluster/calico/policies.yaml", &[]),
        ("tests/upstream/calico/get-started/allow-egress-external.yaml", &[]),
        ("tests/upstream/calico/get-started/allow-tcp-6379.yaml", &[]),
        ("tests/upstream/calico/get-started/allow-tcp-6379-namespace-selector.yaml", &[]),
        ("tests/upstream/calico/winfv-egress.yaml", &[]),
        ("tests/upstream/calico/winfv-ingress.yaml", &[]),
        ("tests/upstream/calico/get-started/deny-blue.yaml", &[("E0702", "spec.selector")]),
        ("tests/upstream/calico/get-started/deny-circle-blue.yaml", &[("E0702", "spec.selector")]),
        ("tests/upstream/calico/globalnetworkpolicy-reference.yaml", &[("E0702", "spec.selector")]),
        (
            "tests/upstream/calico/app-policy-demo.yaml",
            &[("E0702", "spec.selector"), ("E0702", "spec.selector"), ("E0702", "spec.selector")],
        ),
    ];
    for (path, expected) in cases {
        let text = std::fs::read_to_string(root().join(path)).expect(path);
        if expected.is_empty() {
            import_ok(&[(path, &text)], &[]);
            continue;
        }
        let got = import_refused(&[(path, &text)]);
        let want: Vec<(String, String)> =
            expected.iter().map(|(c, l)| (c.to_string(), l.to_string())).collect();
        assert_eq!(got, want, "{path}");
        // With --lossy the rest is written and proved.
        let (sources, world) = world_of(&[(path, &text)], &[]);
        let result = import::import(&world, &sources, &options(&[], true));
        assert!(result.ok, "{path}: {:?} {:?}", errors(&result), result.summaries);
        assert!(result.files[0].1.contains("# not imported (E0702)"), "{path}");
    }
    // The migration seed file is not YAML 1.1-safe: it is refused before any import.
    let seed = std::fs::read_to_string(root().join("tests/upstream/calico/migration-seed-resources.yaml"))
        .expect("seed");
    let mut sources = SourceMap::new();
    let mut world = World::default();
    let file = sources.add("seed.yaml", seed);
    world.add_file(&sources, file, Use::Policies, "default");
    assert!(world.diagnostics.iter().any(|d| d.code == "E0601"));
}

fn policy(kind: &str, name: &str, spec: &str) -> String {
    let ns = if kind == "NetworkPolicy" { ", namespace: shop" } else { "" };
    format!(
        "---\napiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {{name: {name}{ns}}}\nspec: {spec}\n"
    )
}

/// Shapes of every field the translator reads, each proved on Calico.
#[test]
fn calico_policy_shapes_import_and_prove() {
    let np = |s: &str| policy("NetworkPolicy", "p", s);
    let cases: Vec<(String, &str)> = vec![
        // Default deny, both directions; isolation without rules; types defaulted.
        (np("{selector: all(), types: [Ingress, Egress]}"), "default deny all"),
        (np("{selector: app == 'a', types: [Ingress]}"), "a accepts nothing"),
        (np("{selector: app == 'a', egress: [{action: Allow}]}"), "a connects to anywhere"),
        // Selectors of every label-selector form.
        (
            np("{selector: \"app == 'a' && tier != 'x' && has(team) && !has(legacy) && env in {'p', 'q'}\", \
                ingress: [{action: Allow, source: {selector: \"app not in {'z'}\"}}]}"),
            "env in (p, q)",
        ),
        // Peers: namespaces by name, by label, every namespace, pods in namespaces, networks.
        (
            np("{selector: app == 'a', ingress: [{action: Allow, source: {namespaceSelector: \
                \"projectcalico.org/name == 'ops'\"}}, {action: Allow, source: {namespaceSelector: team == 'x'}}, \
                {action: Allow, source: {namespaceSelector: all()}}, {action: Allow, source: {namespaceSelector: \
                team == 'y', selector: app == 'b'}}, {action: Allow, source: {nets: [10.0.0.0/8], notNets: \
                [10.1.0.0/16]}}, {action: Allow, source: {nets: [192.168.0.0/16, '::/0']}}]}"),
            "a accepts from 10.0.0.0/8 except 10.1.0.0/16",
        ),
        // `notNets` inside one of the networks, and apart from all of them.
        (
            np("{selector: app == 'a', egress: [{action: Allow, destination: {nets: [10.0.0.0/8, 172.16.0.0/12], \
                notNets: [10.1.0.0/16, 192.168.0.0/16]}}]}"),
            "a connects to 10.0.0.0/8 except 10.1.0.0/16, 172.16.0.0/12",
        ),
        // Ports: numbers, ranges, names, a protocol alone, protocol numbers.
        (
            np("{selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {ports: [80, \
                '8000:8080', http]}}, {action: Allow, protocol: 17}]}"),
            "a accepts tcp 80, 8000-8080, http and udp from anywhere",
        ),
        // DNS, as netpol and most people write it.
        (
            np("{selector: app == 'a', types: [Egress], egress: [{action: Allow, protocol: UDP, destination: \
                {selector: k8s-app == 'kube-dns', namespaceSelector: \"projectcalico.org/name == 'kube-system'\", \
                ports: [53]}}, {action: Allow, protocol: TCP, destination: {selector: k8s-app == 'kube-dns', \
                namespaceSelector: \"projectcalico.org/name == 'kube-system'\", ports: [53]}}]}"),
            "a connects to kube-dns",
        ),
        // The API server's Service.
        (
            np("{selector: app == 'a', types: [Egress], egress: [{action: Allow, destination: {services: \
                {name: kubernetes, namespace: default}}}]}"),
            "a connects to kube-apiserver",
        ),
        // Deny rules before the allows of the first policy of the default tier.
        (
            np("{selector: app == 'a', order: 10, ingress: [{action: Deny, source: {nets: [10.9.0.0/16]}}, \
                {action: Allow}]}"),
            "a refuses from 10.9.0.0/16",
        ),
        // A deny-only policy first in the default tier isolates too.
        (np("{selector: app == 'a', types: [Egress], egress: [{action: Deny, destination: {nets: [1.1.1.1/32]}}]}"), "a connects to nothing"),
        // A GlobalNetworkPolicy of one namespace by name; its rule selectors pick every namespace.
        (
            policy(
                "GlobalNetworkPolicy",
                "g",
                "{namespaceSelector: \"projectcalico.org/name == 'shop'\", selector: app == 'a', ingress: [{action: \
                 Allow, source: {selector: app == 'b'}}]}",
            ),
            "a accepts from b in",
        ),
        // crd.projectcalico.org/v1, as the API server stores it.
        (
            "apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: default.p, namespace: \
             shop}\nspec: {selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]}\n"
                .to_string(),
            "a accepts tcp 443 from anywhere",
        ),
    ];
    for (yaml, expect) in &cases {
        let text = import_ok(&[("in.yaml", yaml)], &[]);
        assert!(text.contains(expect), "{yaml}: no `{expect}` in\n{text}");
    }
    // A foreign deny tier of netpol's shape: a tier that passes on, before the default tier.
    let tier =
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100, \
                defaultAction: Pass}\n";
    let deny = "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: security.block, namespace: \
                shop}\nspec: {tier: security, selector: app == 'a', egress: [{action: Deny, destination: {nets: \
                [169.254.169.254/32]}}]}\n";
    let allow = np("{selector: app == 'a', ingress: [{action: Allow}]}");
    let text = import_ok(&[("in.yaml", &format!("{tier}{deny}{allow}"))], &[Target::Cilium]);
    assert!(text.contains("a never connects to 169.254.169.254/32"), "{text}");
    assert!(!text.contains("connects to nothing"), "a pass tier does not isolate:\n{text}");
}

/// What the language cannot say is refused at its field, and written as a comment with --lossy.
#[test]
fn calico_losses_are_named_at_their_field() {
    let np = |s: &str| policy("NetworkPolicy", "p", s);
    let allow = "{action: Allow}";
    let cases: Vec<(String, &str)> = vec![
        (
            np("{selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {ports: [Not_A_Name]}}]}"),
            "spec.ingress[0].destination.ports[0]",
        ),
        (np("{selector: app == 'a', ingress: [{action: Log}, {action: Allow}]}"), "spec.ingress[0].action"),
        (np("{selector: app == 'a', ingress: [{action: Pass}]}"), "spec.ingress[0].action"),
        (np("{selector: app == 'a', ingress: [{action: Allow}, {action: Deny, source: {nets: [10.0.0.0/8]}}]}"), "spec.ingress[1].action"),
        (np("{selector: app == 'a', ingress: [{action: Allow, source: {notSelector: app == 'b'}}]}"), "spec.ingress[0].source.notSelector"),
        (np("{selector: app == 'a', ingress: [{action: Allow, source: {nets: [10.1.0.0/16], notNets: [10.0.0.0/8]}}]}"), "spec.ingress[0].source.notNets"),
        (np("{selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {notPorts: [22]}}]}"), "spec.ingress[0].destination.notPorts"),
        (np("{selector: app == 'a', ingress: [{action: Allow, notProtocol: UDP}]}"), "spec.ingress[0].notProtocol"),
        (np("{selector: app == 'a', ingress: [{action: Allow, source: {serviceAccounts: {names: [x]}}}]}"), "spec.ingress[0].source.serviceAccounts"),
        (np("{selector: app == 'a', ingress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}]}"), "spec.ingress[0].icmp"),
        (np("{selector: app == 'a', ingress: [{action: Allow, http: {methods: [GET]}}]}"), "spec.ingress[0].http"),
        (np("{selector: app == 'a', ingress: [{action: Allow, protocol: TCP, source: {ports: [80]}}]}"), "spec.ingress[0].source.ports"),
        (np("{selector: app == 'a', ingress: [{action: Allow, destination: {selector: app == 'x'}}]}"), "spec.ingress[0].destination.selector"),
        (np("{selector: app == 'a' || app == 'b', ingress: [{action: Allow}]}"), "spec.selector"),
        (np("{selector: app == 'a', ingress: [{action: Allow, source: {selector: app starts with 'b'}}]}"), "spec.ingress[0].source.selector"),
        (np("{selector: app == 'a', ingress: [{action: Allow, source: {namespaceSelector: global()}}]}"), "spec.ingress[0].source.namespaceSelector"),
        (np(&format!("{{selector: app == 'a', applyOnForward: true, ingress: [{allow}]}}")), "spec.applyOnForward"),
        (np("{selector: app == 'a', tier: nowhere, ingress: [{action: Allow}]}"), "spec.tier"),
        (policy("GlobalNetworkPolicy", "g", "{selector: app == 'a', ingress: [{action: Allow}]}"), "spec.selector"),
        (policy("GlobalNetworkPolicy", "g", "{selector: app == 'a', namespaceSelector: team == 'x', ingress: [{action: Allow}]}"), "spec.namespaceSelector"),
    ];
    for (yaml, path) in &cases {
        let got = import_refused(&[("in.yaml", yaml)]);
        assert!(got.iter().any(|(c, l)| c == "E0702" && l == path), "{yaml}: {got:?}");
        assert!(got.iter().all(|(c, _)| c == "E0702" || c == "E0704"), "{yaml}: {got:?}");
        let (sources, world) = world_of(&[("in.yaml", yaml)], &[]);
        let result = import::import(&world, &sources, &options(&[], true));
        assert!(result.ok, "{yaml}: {:?} {:?}", errors(&result), result.summaries);
        assert!(result.files[0].1.contains("# not imported (E0702): "), "{yaml}");
    }
    // Order: a Deny in a policy evaluated after another that selects the same namespace's pods.
    let first = np("{selector: app == 'b', order: 1, ingress: [{action: Allow}]}");
    let second = policy(
        "NetworkPolicy",
        "q",
        "{selector: app == 'a', order: 2, ingress: [{action: Deny, source: {nets: [10.0.0.0/8]}}]}",
    );
    let got = import_refused(&[("in.yaml", &format!("{first}{second}"))]);
    assert_eq!(got, [("E0702".to_string(), "spec.ingress[0].action".to_string())]);
    // A deny tier ordered after the default tier.
    let late = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: late}\nspec: {order: 2000000, defaultAction: Pass}\n";
    let deny =
        policy("NetworkPolicy", "late.q", "{tier: late, selector: app == 'a', ingress: [{action: Deny}]}");
    let got = import_refused(&[("in.yaml", &format!("{late}{deny}"))]);
    assert_eq!(got, [("E0702".to_string(), "spec.tier".to_string())]);
}

/// netpol's Calico output of every example migrates to Cilium and Kubernetes: proved, up to what
/// the CNIs read differently (W0706), or stopped only by a construct the target cannot express.
#[test]
fn calico_examples_migrate_to_cilium_and_kubernetes() {
    for e in examples() {
        let src = std::fs::read_to_string(root().join(&e)).expect("example");
        let Some(yaml) = compile_yaml(&src, Target::Calico) else { continue };
        let (sources, world) = world_of(&[("in.yaml", &yaml)], &[]);
        let result = import::import(&world, &sources, &options(&[Target::Cilium, Target::Kubernetes], false));
        let mut failed_targets = 0;
        for (target, _, diags) in &result.compile_errors {
            assert!(diags.iter().all(|d| d.code.starts_with("E03")), "{e} on {target:?}: {diags:?}");
            failed_targets += 1;
        }
        for d in result.diagnostics.iter().filter(|d| d.code != "W0706") {
            assert!(failed_targets > 0, "{e}: {} {}", d.code, d.message);
        }
        assert!(result.summaries[0].starts_with("proved on Calico"), "{e}: {:?}", result.summaries);
        let proved = result.summaries.iter().filter(|s| s.starts_with("proved on ")).count();
        assert_eq!(proved + failed_targets, 3, "{e}: {:?}", result.summaries);
    }
}

/// Foreign Calico input imports the same source again from its own compile (idempotence).
#[test]
fn foreign_calico_imports_are_idempotent() {
    let cluster =
        std::fs::read_to_string(root().join("examples/cluster/calico/policies.yaml")).expect("cluster");
    let text = import_ok(&[("policies.yaml", &cluster)], &[]);
    assert!(text.contains("\"from NetworkPolicy shop/db spec.ingress[1]\""), "{text}");
    let again = compile_yaml(&text, Target::Calico).expect("compiles");
    assert_eq!(import_ok(&[("in.yaml", &again)], &[]), text);
    // A Tier object that makes the default tier pass on: being selected does not isolate there.
    let tier = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\nspec: {defaultAction: Pass}\n";
    let np = policy("NetworkPolicy", "p", "{selector: app == 'a', ingress: [{action: Allow}]}");
    let got = import_refused(&[("in.yaml", &format!("{tier}{np}"))]);
    assert!(got.contains(&("E0702".to_string(), "spec.selector".to_string())), "{got:?}");
}

#[test]
fn cli_migrates_the_calico_cluster_example_to_cilium() {
    let out = netpol(&["import", "examples/cluster/calico", "--to", "cilium"], &root());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("proved on Calico: the imported source allows exactly"), "{err}");
    assert!(err.contains("proved on Cilium: the imported source allows exactly"), "{err}");
    let source = text(&out.stdout);
    assert!(source.contains("db accepts tcp 9187 from namespace monitoring"), "{source}");
    assert!(source.contains("gateway accepts tcp 443 from api in"), "{source}");
}

/// Malformed Calico objects never panic the import and never fail its proof: each is refused
/// or imported.
#[test]
fn malformed_calico_objects_are_refused_not_panicked_on() {
    let specs = [
        "{selector: 5}",
        "{selector: \"app == \"}",
        "{selector: app == 'a', types: Ingress}",
        "{selector: app == 'a', types: [Sideways]}",
        "{selector: app == 'a', ingress: {action: Allow}}",
        "{selector: app == 'a', ingress: [5, null, {}]}",
        "{selector: app == 'a', ingress: [{action: Allow, protocol: [TCP]}]}",
        "{selector: app == 'a', ingress: [{action: Allow, protocol: TCP, destination: {ports: [0, 70000, '9:1', {}, '']}}]}",
        "{selector: app == 'a', ingress: [{action: Allow, source: {nets: [5, x]}}]}",
        "{selector: app == 'a', ingress: [{action: Allow, source: {nets: 10.0.0.0/8}}]}",
        "{selector: app == 'a', ingress: [{action: Allow, source: {selector: 7, namespaceSelector: []}}]}",
        "{selector: app == 'a', ingress: [{action: Allow, source: {services: {name: x}}}]}",
        "{selector: app == 'a', ingress: [{action: Allow, source: 5, destination: 6}]}",
        "{selector: app == 'a', tier: 5, order: x, ingress: [{action: Allow}]}",
        "{selector: app == 'a', egress: [{action: Deny}, {action: Allow}], order: -1}",
        "5",
    ];
    let nameless =
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {namespace: shop}\nspec: {}\n";
    let yamls = specs.iter().map(|s| policy("NetworkPolicy", "p", s)).chain([nameless.to_string()]);
    for (s, yaml) in specs.iter().chain(&["(no name)"]).zip(yamls) {
        let (sources, world) = world_of(&[("in.yaml", &yaml)], &[]);
        for lossy in [false, true] {
            let result = import::import(&world, &sources, &options(&[Target::Cilium], lossy));
            assert!(!result.diagnostics.iter().any(|d| d.code == "E0701"), "{s}: {:?}", errors(&result));
        }
    }
}
