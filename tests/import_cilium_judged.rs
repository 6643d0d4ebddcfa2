//! `netpol import` of CiliumNetworkPolicies judged by Cilium's own policy engine
//! (`../shared/oracles/cilium`, skipped without it), and on generated policies: every import
//! proves or its losses excuse what it leaves out, and what imports whole Cilium decides as the
//! originals.

mod common;

use common::import_cilium::*;
use common::*;

/// Pods for every label the cases select on, in every namespace they name.
fn topology() -> String {
    topology_of(NAMESPACES, PODS)
}

const NAMESPACES: &[(&str, &str)] = &[
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

const PODS: &[&str] = &[
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

/// The generated policies select on fewer labels and namespaces: a smaller topology (one pod
/// that no policy names in each namespace) keeps Cilium's engine quick on a hundred of them.
fn generated_topology() -> String {
    topology_of(
        &[
            ("shop", "{team: x}"),
            ("ops", "{team: x}"),
            ("dev", "{team: w}"),
            ("qa", "{}"),
            ("kube-system", "{}"),
        ],
        &["{app: a}", "{app: b}", "{app: c}"],
    )
}

fn topology_of(namespaces: &[(&str, &str)], pods: &[&str]) -> String {
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

/// Keyed by the probe, `src,dst,proto,port` as the oracle prints it.
type Verdicts = std::collections::HashMap<String, (Option<bool>, Option<bool>)>;

/// Cilium's verdicts per probe: allowed or not on the source's egress and the destination's
/// ingress (`None`: not a Cilium endpoint). Sent to a proxy counts as allowed.
fn verdicts(oracle: &std::path::Path, policies: &str, topology: &str) -> Verdicts {
    let out = run_cilium_oracle(oracle, policies, topology, &["-probes", PROBES, "-world", "203.0.113.7"])
        .expect("the oracle runs");
    assert!(out.status.success(), "the oracle refuses:\n{}\n{policies}", text(&out.stderr));
    let side = |v: &str| (v != "-").then(|| v.starts_with("allow"));
    text(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.rsplitn(4, ',');
            let (_, ingress, egress) = (f.next(), f.next().expect("ingress"), f.next().expect("egress"));
            (f.next().expect("probe").to_string(), (side(egress), side(ingress)))
        })
        .collect()
}

/// The originals and the compiled import decide every probe alike in Cilium's own engine.
#[test]
fn cilium_judges_the_import_the_same() {
    let Some(oracle) = cilium_oracle("judge imports with Cilium's engine") else { return };
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
    let oracle = cilium_oracle("judge imports with Cilium's engine");
    let topology = generated_topology();
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
