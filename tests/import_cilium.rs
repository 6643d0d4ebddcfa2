//! `netpol import` of CiliumNetworkPolicies: netpol's own Cilium output imports back to the
//! same manifests, imports are idempotent, Cilium's upstream examples import and prove or fail
//! with exactly their losses, every field the translator reads proves, and what the language
//! cannot say is refused, or written as a comment with `--lossy`.

mod common;

use common::*;
use netpol::backend::Target;
use netpol::import::{self, Layout, Options};
use netpol::span::SourceMap;
use netpol::world::{Use, World};
use serde_json::Value;

fn world_of(policies: &[(&str, &str)]) -> (SourceMap, World) {
    let mut sources = SourceMap::new();
    let mut world = World::default();
    for (name, text) in policies {
        let file = sources.add(name.to_string(), text.to_string());
        world.add_file(&sources, file, Use::Policies, "default");
    }
    assert!(!world.diagnostics.iter().any(|d| d.is_error()), "{:?}", world.diagnostics);
    (sources, world)
}

fn options(lossy: bool, to: &[Target]) -> Options {
    Options { layout: Layout::Single, lossy, cni: None, to: to.to_vec() }
}

fn run(yaml: &str, lossy: bool, to: &[Target]) -> import::Import {
    let (sources, world) = world_of(&[("in.yaml", yaml)]);
    import::import(&world, &sources, &options(lossy, to))
}

/// Imports and asserts the proof held with no error; the one source file.
fn import_ok(yaml: &str, to: &[Target]) -> String {
    let result = run(yaml, false, to);
    let errors: Vec<_> =
        result.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
    assert!(result.ok && errors.is_empty(), "import failed: {errors:#?}\n{:?}\n{yaml}", result.summaries);
    assert!(result.compile_errors.is_empty());
    assert!(result.summaries[0].starts_with("proved on Cilium"), "{:?}", result.summaries);
    result.files[0].1.clone()
}

/// Imports what must be refused: the (code, label) of each error, and the same import with
/// `--lossy` proves and writes each loss as a comment.
fn refused(yaml: &str) -> Vec<(String, String)> {
    let result = run(yaml, false, &[]);
    assert!(!result.ok && result.files.is_empty(), "{yaml}");
    let mut errors: Vec<(String, String)> = result
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.code.to_string(), d.primary.message.clone()))
        .collect();
    errors.sort();
    assert!(errors.iter().all(|(c, _)| c != "E0701"), "a proof failure is a bug: {errors:?}\n{yaml}");
    let lossy = run(yaml, true, &[]);
    let left: Vec<_> = lossy.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
    assert!(lossy.ok && left.is_empty(), "--lossy: {left:#?}\n{:?}\n{yaml}", lossy.summaries);
    let text = &lossy.files[0].1;
    for (code, _) in errors.iter().filter(|(c, _)| c.starts_with("E070") && c != "E0704") {
        assert!(text.contains(&format!("# not imported ({code}): ")), "{text}");
    }
    errors
}

fn compile_yaml(src: &str) -> Option<String> {
    let c = compile_str(src, &[Target::Cilium], &[]);
    if c.has_errors() {
        return None;
    }
    Some(c.outputs.iter().flat_map(|(_, o)| o).map(|o| format!("---\n{}", o.yaml)).collect())
}

/// The objects of a compile, without netpol's provenance annotations (file:line differ).
fn bodies(src: &str) -> Vec<Value> {
    let c = compile_str(src, &[Target::Cilium], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    c.outputs
        .iter()
        .flat_map(|(_, o)| o)
        .map(|o| {
            let mut v = o.body();
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("annotations");
            }
            v
        })
        .collect()
}

#[test]
fn netpol_cilium_output_imports_back_to_the_same_manifests() {
    let mut tried = 0;
    for name in examples() {
        let src = std::fs::read_to_string(root().join(&name)).expect("example");
        let Some(yaml) = compile_yaml(&src) else { continue };
        tried += 1;
        let imported = import_ok(&yaml, &[]);
        assert_eq!(
            bodies(&imported),
            bodies(&src),
            "{name}: compile(import(compile(S))) differs\n{imported}"
        );
        let again = compile_yaml(&imported).expect("imported source compiles");
        assert_eq!(import_ok(&again, &[]), imported, "{name}: import is not idempotent");
        assert_eq!(netpol::fmt::format_source(&imported).expect("parses"), imported, "{name}");
    }
    assert!(tried >= 10, "only {tried} examples compile for Cilium");
}

/// Read as Cilium reads them, a NetworkPolicy's rules of a direction its `policyTypes` leaves
/// out are enforced (the reader says so, E0704), and the import keeps them.
#[test]
fn networkpolicies_beside_cilium_policies_are_read_as_cilium_does() {
    let yaml = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: e, namespace: ops}}\nspec: \
         {{podSelector: {{}}, policyTypes: [Ingress], egress: [{{to: [{{namespaceSelector: {{}}}}]}}]}}\n---\n{}",
        cnp(&format!("{{{A}, ingress: [{{fromEntities: [world]}}]}}"))
    );
    let result = run(&yaml, true, &[]);
    assert!(result.ok, "{:?}", result.summaries);
    assert!(result.files[0].1.contains("e connects to cluster"), "{}", result.files[0].1);
    assert!(result.diagnostics.iter().any(|d| d.code == "E0704"));
}

/// A cluster-wide `default deny` is a CiliumClusterwideNetworkPolicy, and imports back to one.
#[test]
fn cluster_wide_default_deny_round_trips() {
    for deny in ["default deny ingress", "default deny all"] {
        let src = format!(
            "{deny}\n\nnamespace kube-system {{\n  workload dns {{ k8s-app: kube-dns }}\n  dns accepts udp 53 and tcp 53 \
             from cluster\n  dns connects to anywhere\n}}\n"
        );
        let yaml = compile_yaml(&src).expect("compiles");
        assert!(yaml.contains("kind: CiliumClusterwideNetworkPolicy"), "{yaml}");
        let imported = import_ok(&yaml, &[]);
        assert!(imported.contains(&format!("\n{deny}\n\nnamespace kube-system {{")), "{imported}");
        assert_eq!(bodies(&imported), bodies(&src), "{imported}");
        assert_eq!(import_ok(&compile_yaml(&imported).expect("compiles"), &[]), imported);
    }
}

/// Cilium's own examples (`tests/upstream/cilium`) and the cluster example: each proves, or is
/// refused with exactly its losses (and proves with `--lossy`).
#[test]
fn upstream_cilium_policies_import_or_name_their_losses() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).expect(p);
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("tests/upstream/cilium/egress-deny.yaml", &[]),
        ("tests/upstream/cilium/isolate-namespaces.yaml", &[]),
        ("tests/upstream/cilium/l4_port_range.yaml", &[]),
        ("tests/upstream/cilium/http.yaml", &[("E0702", "spec.ingress[0].toPorts[0].rules")]),
        ("tests/upstream/cilium/l4_sni.yaml", &[("E0702", "spec.egress[0].toPorts[0].serverNames")]),
        ("tests/upstream/cilium/requires.yaml", &[("E0702", "specs[0].ingress")]),
        ("examples/cluster/cilium/policies.yaml", &[]),
    ];
    for (path, losses) in cases {
        let yaml = read(path);
        if losses.is_empty() {
            let text = import_ok(&yaml, &[]);
            let again = compile_yaml(&text).expect("compiles");
            assert_eq!(import_ok(&again, &[]), text, "{path}: not idempotent");
        } else {
            let got = refused(&yaml);
            let want: Vec<(String, String)> =
                losses.iter().map(|(c, p)| (c.to_string(), p.to_string())).collect();
            assert_eq!(got, want, "{path}");
        }
    }
}

fn cnp(spec: &str) -> String {
    format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p, namespace: shop}}\nspec: {spec}\n")
}

const A: &str = "endpointSelector: {matchLabels: {app: a}}";

/// Every field the translator reads: (spec, what the source must say).
fn shapes() -> Vec<(String, &'static str)> {
    let cases: &[(&str, &'static str)] = &[
        // Isolation: an empty rule, an empty peer list, a namespace-wide one.
        ("{endpointSelector: {}, ingress: [{}]}", "default deny ingress"),
        ("{endpointSelector: {}, ingress: [{}], egress: [{toEntities: []}]}", "default deny all"),
        (&format!("{{{A}, egress: [{{toEndpoints: []}}]}}"), "a connects to nothing"),
        // Deny alone isolates, unless enableDefaultDeny says otherwise.
        (&format!("{{{A}, ingressDeny: [{{fromEntities: [world]}}]}}"), "a accepts nothing"),
        (
            &format!("{{{A}, enableDefaultDeny: {{egress: false}}, egressDeny: [{{toCIDR: [10.0.0.0/8]}}]}}"),
            "a never connects to 10.0.0.0/8  \"from",
        ),
        (
            "{endpointSelector: {}, ingressDeny: [{fromEntities: [world]}], egress: [{toEntities: [world], toPorts: \
             [{ports: [{port: '443', protocol: TCP}]}]}]}",
            "default deny ingress",
        ),
        // Subjects: sources, the namespace label Cilium replaces.
        (
            "{endpointSelector: {matchLabels: {k8s:app: a, k8s:io.kubernetes.pod.namespace: shop}}, ingress: \
             [{fromEndpoints: [{matchLabels: {any:app: b}}]}]}",
            "a accepts from b",
        ),
        // Endpoint peers.
        (
            &format!(
                "{{{A}, ingress: [{{fromEndpoints: [{{}}, {{matchLabels: {{k8s:io.kubernetes.pod.namespace: ops}}}}, \
                 {{matchLabels: {{app: c, io.kubernetes.pod.namespace: ops}}}}, {{matchExpressions: [{{key: \
                 k8s:io.kubernetes.pod.namespace, operator: Exists}}]}}, {{matchLabels: \
                 {{k8s:io.cilium.k8s.namespace.labels.team: x}}, matchExpressions: [{{key: \
                 k8s:io.kubernetes.pod.namespace, operator: Exists}}]}}, {{matchLabels: {{k8s:app: d, \
                 k8s:io.cilium.k8s.namespace.labels.team: w}}, matchExpressions: [{{key: \
                 k8s:io.kubernetes.pod.namespace, operator: Exists}}]}}, {{matchExpressions: [{{key: \
                 k8s:io.kubernetes.pod.namespace, operator: In, values: [dev, qa]}}, {{key: app, operator: \
                 NotIn, values: [e]}}]}}]}}]}}"
            ),
            "namespace ops, ops/c, cluster",
        ),
        // Entities, networks.
        (
            &format!(
                "{{{A}, egress: [{{toEntities: [world, host, kube-apiserver]}}, {{toCIDR: [192.0.2.1/32]}}, \
                 {{toCIDRSet: [{{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}}], ingress: [{{fromEntities: [all]}}]}}"
            ),
            "a connects to world, host, kube-apiserver",
        ),
        // Ports: any protocol, ranges, names on ingress, a whole protocol, every port.
        (
            &format!(
                "{{{A}, ingress: [{{toPorts: [{{ports: [{{port: '80'}}, {{port: '8000', endPort: 8080, protocol: \
                 TCP}}, {{port: http, protocol: TCP}}, {{port: '0', protocol: UDP}}]}}]}}, {{fromEntities: [world], \
                 toPorts: [{{ports: [{{port: '0', protocol: ANY}}]}}]}}]}}"
            ),
            "a accepts tcp 80, 8000-8080, http and udp and sctp 80 from anywhere",
        ),
        // DNS names, with the DNS they need; the DNS proxy rule netpol writes again.
        (
            &format!(
                "{{{A}, egress: [{{toFQDNs: [{{matchName: api.example.com}}, {{matchPattern: '*.example.org'}}], \
                 toPorts: [{{ports: [{{port: '443', protocol: TCP}}]}}]}}, {{toEndpoints: [{{matchLabels: \
                 {{k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}}}], toPorts: [{{ports: \
                 [{{port: '53', protocol: UDP}}, {{port: '53', protocol: TCP}}], rules: {{dns: [{{matchPattern: \
                 '*'}}]}}}}]}}]}}"
            ),
            "a connects to \"api.example.com\", \"*.example.org\" on tcp 443",
        ),
    ];
    cases.iter().map(|(s, e)| (s.to_string(), *e)).collect()
}

const SPECS: &str =
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspecs:\n\
    - {endpointSelector: {matchLabels: {app: a}}, ingress: [{fromEndpoints: [{matchLabels: {app: b}}]}]}\n\
    - {endpointSelector: {matchLabels: {app: b}}, egress: [{toEndpoints: [{matchLabels: {app: a}}]}]}\n";

/// Every field the translator reads, as Cilium reads it.
#[test]
fn policy_shapes_import_and_prove() {
    for (spec, expect) in shapes() {
        let yaml = cnp(&spec);
        let text = import_ok(&yaml, &[]);
        assert!(text.contains(expect), "{spec}: no `{expect}` in\n{text}");
        // Idempotent.
        let again = compile_yaml(&text).expect("compiles");
        assert_eq!(import_ok(&again, &[]), text, "{spec}");
    }
    // `specs`: a policy per spec, each rule's reason naming its spec.
    let text = import_ok(SPECS, &[]);
    assert!(
        text.contains("b connects to a  \"from CiliumNetworkPolicy shop/p specs[1].egress[0]\""),
        "{text}"
    );
}

/// Cilium policies migrate: the imported source proves on Kubernetes and Calico too, but for
/// what those CNIs cannot express (E03xx) or read differently (W0706).
#[test]
fn cilium_policies_migrate_to_kubernetes_and_calico() {
    let mut proved = 0;
    for (spec, _) in shapes() {
        let result = run(&cnp(&spec), false, &[Target::Kubernetes, Target::Calico]);
        for (target, _, diags) in &result.compile_errors {
            assert!(diags.iter().all(|d| d.code.starts_with("E03")), "{spec} on {target:?}: {diags:?}");
        }
        let errors: Vec<_> = result.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
        assert!(
            errors.is_empty() && result.summaries[0].starts_with("proved on Cilium"),
            "{spec}: {errors:#?}"
        );
        for d in &result.diagnostics {
            assert_eq!(d.code, "W0706", "{spec}: {}", d.message);
        }
        proved += result.summaries.iter().filter(|s| s.starts_with("proved on")).count();
    }
    assert!(proved > shapes().len() + 5, "only {proved} proofs held");
}

/// What the language has no word for: refused at its field, a comment with `--lossy`.
#[test]
fn losses_are_refused_at_their_field() {
    let e = |path: &str| vec![("E0702".to_string(), path.to_string())];
    let at = |rule: &str| format!("{{{A}, {rule}}}");
    let mut cases: Vec<(String, Vec<(String, String)>)> = vec![
        (
            at("egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: '80', protocol: TCP}], rules: {http: [{method: GET}]}}]}]"),
            e("spec.egress[0].toPorts[0].rules"),
        ),
        (at("egress: [{toServices: [{k8sService: {serviceName: x, namespace: z}}]}]"), e("spec.egress[0].toServices")),
        (at("egress: [{toGroups: [{aws: {securityGroupsIds: [sg-1]}}]}]"), e("spec.egress[0].toGroups")),
        (at("ingress: [{fromEndpoints: [{}], fromRequires: [{matchLabels: {env: prod}}]}]"), e("spec.ingress")),
        (at("ingress: [{icmps: [{fields: [{type: 8}]}]}]"), e("spec.ingress[0].icmps")),
        (at("ingress: [{fromEntities: [cluster]}]"), e("spec.ingress[0].fromEntities[0]")),
        (at("ingress: [{fromEntities: [remote-node]}]"), e("spec.ingress[0].fromEntities[0]")),
        (at("egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: http, protocol: TCP}]}]}]"), e("spec.egress[0].toPorts[0].ports[0].port")),
        (at("egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: '0', protocol: ICMP}]}]}]"), e("spec.egress[0].toPorts[0].ports[0].protocol")),
        (at("egress: [{toCIDRSet: [{cidrGroupRef: office}]}]"), e("spec.egress[0].toCIDRSet[0]")),
        (
            at("ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: x}}]}]"),
            e("spec.ingress[0].fromEndpoints[0]"),
        ),
        (at("enableDefaultDeny: {ingress: false}, ingress: [{fromEntities: [world]}]"), e("spec.ingress")),
        (
            at("egress: [{toFQDNs: [{matchName: example.com}], toPorts: [{ports: [{port: '443', protocol: TCP}]}]}]"),
            e("spec.egress[0]"),
        ),
        (at("egress: [{toFQDNs: [{matchPattern: '**.example.com'}]}, {toEndpoints: [{}]}]"), e("spec.egress[0].toFQDNs[0]")),
        (
            at("egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: '443', protocol: TCP}], serverNames: [a.b]}]}]"),
            e("spec.egress[0].toPorts[0].serverNames"),
        ),
        (
            at("ingress: [{fromEndpoints: [{}], authentication: {mode: required}}]"),
            e("spec.ingress[0].authentication"),
        ),
        (
            "{endpointSelector: {matchLabels: {io.cilium.k8s.namespace.labels.team: x}}, ingress: [{}]}".to_string(),
            e("spec"),
        ),
    ];
    // What Cilium refuses it enforces none of: the whole object is the loss.
    let object = || vec![("E0704".to_string(), "this object".to_string())];
    cases.push((
        at("ingress: [{fromEndpoints: [{}], fromEntities: [world]}], egress: [{toEntities: [world]}]"),
        object(),
    ));
    cases.push((
        at("egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: '0', protocol: TCP}], rules: {http: [{}]}}]}]"),
        object(),
    ));
    cases.push((at("egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]}]"), object()));
    for (spec, want) in cases {
        assert_eq!(refused(&cnp(&spec)), want, "{spec}");
    }
    let ccnp = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: p}\nspec: \
                {endpointSelector: {}, ingress: [{}]}\n";
    assert_eq!(refused(ccnp), vec![("E0702".to_string(), "this object".to_string())]);
    // A clusterwide policy with rules has no word either.
    let ccnp = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: p}\nspec: \
                {endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}, \
                ingress: [{fromEntities: [world]}]}\n";
    assert_eq!(refused(ccnp), vec![("E0702".to_string(), "this object".to_string())]);
}

// ---- Cilium's own engine as the judge ---------------------------------------------------

fn oracle() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("NETPOL_CILIUM_ORACLE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/oracles/cilium/cilium-oracle"));
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "SKIPPED: {} not found; set NETPOL_CILIUM_ORACLE to judge imports with Cilium's engine",
            path.display()
        );
        None
    }
}

/// Pods for every label the cases select on, in every namespace they name.
fn topology() -> String {
    let namespaces: &[(&str, &str)] = &[
        ("shop", "{team: x}"),
        ("ops", "{team: x}"),
        ("dev", "{team: w}"),
        ("qa", "{}"),
        ("ns1", "{}"),
        ("ns2", "{}"),
        ("payments", "{}"),
        ("monitoring", "{}"),
        ("kube-system", "{}"),
    ];
    let pods = [
        "{app: a}",
        "{app: b}",
        "{app: c}",
        "{app: d}",
        "{app: e}",
        "{app: api}",
        "{app: web}",
        "{app: db}",
        "{app: gateway}",
        "{role: frontend}",
        "{role: backend}",
        "{app: myService}",
    ];
    let mut out = String::new();
    for (ns, labels) in namespaces {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {labels}}}\n"
        ));
        for (i, l) in pods.iter().enumerate() {
            out.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: {ns}, labels: {l}}}\n\
                 spec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]}}\n"
            ));
        }
    }
    out.push_str(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: dns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n\
         spec: {containers: [{name: c}]}\n",
    );
    out
}

const PROBES: &str = "tcp/53,udp/53,tcp/80,udp/80,sctp/80,tcp/443,tcp/444,tcp/7999,tcp/8000,tcp/8080,udp/8080,tcp/8081,tcp/5432,tcp/9187,udp/8125";

type Verdicts = std::collections::BTreeMap<(String, String, String, String), (Option<bool>, Option<bool>)>;

/// Cilium's verdicts per probe: allowed or not on the source's egress and the destination's
/// ingress (`None`: not a Cilium endpoint). Sent to a proxy counts as allowed.
fn verdicts(oracle: &std::path::Path, policies: &str, topology: &str) -> Verdicts {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, t) = (dir.path().join("p.yaml"), dir.path().join("t.yaml"));
    std::fs::write(&p, policies).expect("write");
    std::fs::write(&t, topology).expect("write");
    let out = std::process::Command::new(oracle)
        .arg("-policies")
        .arg(&p)
        .arg("-topology")
        .arg(&t)
        .args(["-probes", PROBES, "-world", "203.0.113.7"])
        .output()
        .expect("the oracle runs");
    assert!(out.status.success(), "the oracle refuses:\n{}\n{policies}", text(&out.stderr));
    let side = |v: &str| (v != "-").then(|| v.starts_with("allow"));
    text(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].into(), f[1].into(), f[2].into(), f[3].into()), (side(f[4]), side(f[5])))
        })
        .collect()
}

/// The originals and the compiled import decide every probe alike in Cilium's own engine.
#[test]
fn cilium_judges_the_import_the_same() {
    let Some(oracle) = oracle() else { return };
    let read = |p: &str| std::fs::read_to_string(root().join(p)).expect(p);
    let mut cases: Vec<(String, String)> = shapes().into_iter().map(|(s, _)| (s.clone(), cnp(&s))).collect();
    cases.push(("specs".into(), SPECS.into()));
    for path in ["tests/upstream/cilium/isolate-namespaces.yaml", "examples/cluster/cilium/policies.yaml"] {
        cases.push((path.into(), read(path)));
    }
    for path in ["tests/upstream/cilium/egress-deny.yaml", "tests/upstream/cilium/l4_port_range.yaml"] {
        cases.push((path.into(), read(path).replacen("metadata:\n", "metadata:\n  namespace: shop\n", 1)));
    }
    let topology = topology();
    for (name, yaml) in cases {
        let imported = compile_yaml(&import_ok(&yaml, &[])).expect("compiles");
        let (original, ours) = (verdicts(&oracle, &yaml, &topology), verdicts(&oracle, &imported, &topology));
        let differ: Vec<String> = original
            .iter()
            .filter(|(k, v)| ours.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k:?}: original {v:?}, imported {:?}", ours.get(k)))
            .collect();
        assert!(differ.is_empty(), "{name}: Cilium decides differently:\n{}\n{imported}", differ.join("\n"));
        assert!(original.len() > 100, "{name}: only {} probes", original.len());
    }
}

// ---- generated policies -----------------------------------------------------------------

/// A small deterministic generator of CiliumNetworkPolicies from fragments of every field the
/// translator reads, and some it refuses or loses.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len())]
    }

    fn rule(&mut self, ingress: bool, deny: bool) -> String {
        let (pre, selectors) = if ingress { ("from", "fromRequires") } else { ("to", "toRequires") };
        let peers = [
            format!("{pre}Endpoints: [{{}}]"),
            format!("{pre}Endpoints: [{{matchLabels: {{app: b}}}}]"),
            format!("{pre}Endpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: ops}}}}]"),
            format!("{pre}Endpoints: [{{matchLabels: {{any:app: a, io.kubernetes.pod.namespace: dev}}}}]"),
            format!("{pre}Endpoints: [{{matchExpressions: [{{key: k8s:io.kubernetes.pod.namespace, operator: Exists}}]}}]"),
            format!(
                "{pre}Endpoints: [{{matchLabels: {{k8s:io.cilium.k8s.namespace.labels.team: x}}, matchExpressions: \
                 [{{key: k8s:io.kubernetes.pod.namespace, operator: Exists}}]}}]"
            ),
            format!("{pre}Endpoints: [{{matchLabels: {{k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}}}]"),
            format!("{pre}Endpoints: []"),
            format!("{pre}Entities: [{}]", self.pick(&["all", "world", "host", "kube-apiserver", "cluster"])),
            format!("{pre}CIDR: [{}]", self.pick(&["10.0.0.0/8", "192.0.2.0/24", "0.0.0.0/0"])),
            format!("{pre}CIDRSet: [{{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]"),
            format!("{selectors}: [{{matchLabels: {{app: a}}}}]"),
            String::new(),
        ];
        let mut parts = vec![peers[self.next(peers.len())].clone()];
        if !ingress && !deny && self.next(6) == 0 {
            parts = vec!["toFQDNs: [{matchName: example.com}, {matchPattern: '*.example.org'}]".to_string()];
        }
        if self.next(2) == 0 {
            let port = self.pick(&["'53'", "'80'", "'443'", "'0'", "http", "'8000', endPort: 8080"]);
            let protocol = self.pick(&["TCP", "UDP", "SCTP", "ANY"]);
            let rules = match self.next(8) {
                0 => ", rules: {dns: [{matchPattern: '*'}]}",
                1 => ", rules: {http: [{method: GET}]}",
                _ => "",
            };
            parts.push(format!("toPorts: [{{ports: [{{port: {port}, protocol: {protocol}}}]{rules}}}]"));
        }
        format!("{{{}}}", parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(", "))
    }

    fn policy(&mut self) -> String {
        let subject = self.pick(&[
            "{}",
            "{matchLabels: {app: a}}",
            "{matchLabels: {k8s:app: b, k8s:io.kubernetes.pod.namespace: shop}}",
        ]);
        let mut spec = vec![format!("endpointSelector: {subject}")];
        for (key, ingress, deny) in [
            ("ingress", true, false),
            ("egress", false, false),
            ("ingressDeny", true, true),
            ("egressDeny", false, true),
        ] {
            if self.next(2) == 0 {
                let rules: Vec<String> = (0..self.next(3)).map(|_| self.rule(ingress, deny)).collect();
                spec.push(format!("{key}: [{}]", rules.join(", ")));
            }
        }
        if self.next(8) == 0 {
            spec.push(format!(
                "enableDefaultDeny: {{{}: {}}}",
                self.pick(&["ingress", "egress"]),
                self.pick(&["true", "false"])
            ));
        }
        cnp(&format!("{{{}}}", spec.join(", ")))
    }
}

/// Generated policies: every import proves, or its losses excuse all it leaves out; what
/// imports whole, Cilium's own engine decides as the originals.
#[test]
fn generated_policies_import_and_prove() {
    let oracle = oracle();
    let topology = topology();
    let mut g = Gen(7);
    let (mut whole, mut judged) = (0, 0);
    for _ in 0..100 {
        let yaml = g.policy();
        let lossy = run(&yaml, true, &[]);
        let errors: Vec<_> = lossy.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
        assert!(lossy.ok && errors.is_empty(), "{errors:#?}\n{:?}\n{yaml}", lossy.summaries);
        let result = run(&yaml, false, &[]);
        if !result.ok {
            continue;
        }
        whole += 1;
        let text = &result.files[0].1;
        let imported = compile_yaml(text).expect("compiles");
        if imported.is_empty() {
            // The original says nothing (no rule in any direction).
            assert!(
                !text.contains(" accepts ") && !text.contains(" connects ") && !text.contains("deny"),
                "{text}"
            );
            continue;
        }
        assert_eq!(import_ok(&imported, &[]), *text, "not idempotent\n{yaml}");
        if let Some(oracle) = &oracle {
            let (original, ours) =
                (verdicts(oracle, &yaml, &topology), verdicts(oracle, &imported, &topology));
            assert_eq!(original, ours, "Cilium decides differently\n{yaml}\n{imported}");
            judged += 1;
        }
    }
    assert!(whole > 20, "only {whole} generated policies import whole");
    println!("{whole} imported whole, {judged} judged by Cilium");
}
