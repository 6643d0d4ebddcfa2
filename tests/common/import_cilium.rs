//! Helpers of the Cilium import tests (`tests/import_cilium*.rs`): importing manifests as
//! `netpol import` does, and the policy shapes both files use.

use netpol::backend::Target;
use netpol::import::{self, Layout, Options};

pub fn options(lossy: bool, to: &[Target]) -> Options {
    Options { layout: Layout::Single, lossy, cni: None, to: to.to_vec() }
}

pub fn run(yaml: &str, lossy: bool, to: &[Target]) -> import::Import {
    let (sources, world) = super::import::world_of(&[("in.yaml", yaml)], &[]);
    import::import(&world, &sources, &options(lossy, to))
}

/// Imports and asserts the proof held with no error; the one source file.
pub fn import_ok(yaml: &str, to: &[Target]) -> String {
    let result = run(yaml, false, to);
    let errors: Vec<_> =
        result.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
    assert!(result.ok && errors.is_empty(), "import failed: {errors:#?}\n{:?}\n{yaml}", result.summaries);
    assert!(result.compile_errors.is_empty());
    assert!(result.summaries[0].starts_with("proved on Cilium"), "{:?}", result.summaries);
    result.files[0].1.clone()
}

/// The source compiled for Cilium, as one YAML stream.
pub fn compile_yaml(src: &str) -> Option<String> {
    super::import::compile_yaml(src, Target::Cilium)
}

pub fn cnp(spec: &str) -> String {
    format!("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p, namespace: shop}}\nspec: {spec}\n")
}

pub const A: &str = "endpointSelector: {matchLabels: {app: a}}";

/// Every field the translator reads: (spec, what the source must say).
pub fn shapes() -> Vec<(String, &'static str)> {
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

pub const SPECS: &str =
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspecs:\n\
    - {endpointSelector: {matchLabels: {app: a}}, ingress: [{fromEndpoints: [{matchLabels: {app: b}}]}]}\n\
    - {endpointSelector: {matchLabels: {app: b}}, egress: [{toEndpoints: [{matchLabels: {app: a}}]}]}\n";
