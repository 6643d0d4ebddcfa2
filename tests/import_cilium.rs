//! `netpol import` of CiliumNetworkPolicies: netpol's own Cilium output imports back to the
//! same manifests, imports are idempotent, Cilium's upstream examples import and prove or fail
//! with exactly their losses, every field the translator reads proves, and what the language
//! cannot say is refused, or written as a comment with `--lossy`.

mod common;

use common::import::bodies;
use common::import_cilium::*;
use common::*;
use netpol::backend::Target;
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

#[test]
fn netpol_cilium_output_imports_back_to_the_same_manifests() {
    let mut tried = 0;
    for name in examples() {
        let src = std::fs::read_to_string(root().join(&name)).expect("example");
        let Some(yaml) = compile_yaml(&src) else { continue };
        tried += 1;
        let imported = import_ok(&yaml, &[]);
        assert_eq!(
            bodies(&imported, Target::Cilium),
            bodies(&src, Target::Cilium),
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
        assert_eq!(bodies(&imported, Target::Cilium), bodies(&src, Target::Cilium), "{imported}");
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
    let host = ccnp.replace("endpointSelector: {}", "nodeSelector: {}");
    assert_eq!(refused(&host), vec![("E0702".to_string(), "this object".to_string())]);
    // A clusterwide policy with rules has no word either.
    let ccnp = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: p}\nspec: \
                {endpointSelector: {matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}, \
                ingress: [{fromEntities: [world]}]}\n";
    assert_eq!(refused(ccnp), vec![("E0702".to_string(), "this object".to_string())]);
}
