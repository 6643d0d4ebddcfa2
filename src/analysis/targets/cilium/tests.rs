use super::*;
use crate::analysis::matrix::Rows;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::verify::compare;
use crate::ir::Program;
use serde_json::json;

pub(super) fn program(src: &str) -> Program {
    let mut sources = crate::span::SourceMap::new();
    let file = sources.add("test.netpol", src.to_string());
    let ast = crate::syntax::parse(file, sources.text(file)).expect("parses");
    crate::resolve::resolve(&sources, &[(file, ast)], &[]).expect("resolves").program
}

pub(super) fn cnp(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "CiliumNetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

fn ccnp(name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": "CiliumClusterwideNetworkPolicy",
           "metadata": {"name": name}, "spec": spec})
}

pub(super) fn pt(u: &Universe, name: &str) -> PointId {
    u.ids().find(|p| u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
}

pub(super) const SHOP: &str = "namespace shop\n\
    workload web { app: web }\n\
    workload api { app: api }\n\
    namespace ops\n\
    workload tool { app: tool }\n\
    tool connects to 10.0.0.0/8 except 10.1.0.0/16\n";

#[test]
fn label_filter_and_key_sources() {
    assert!(in_identity("app"));
    assert!(in_identity("app.kubernetes.io/name"));
    assert!(in_identity("topology.kubernetes.io/zone"));
    assert!(!in_identity("kubernetes.io/hostname"));
    assert!(!in_identity("node.beta.kubernetes.io/x"));
    assert!(!in_identity("pod-template-hash"));
    assert!(!in_identity("statefulset.kubernetes.io/pod-name"));
    assert!(!in_identity("apps.kubernetes.io/pod-index"));
    assert!(in_identity("statefulset.kubernetes.io/other"));
    assert!(!in_identity("io.kubernetes.container.name"));
    assert_eq!(classify("k8s:app"), Key::Pod("app"));
    assert_eq!(classify("any:app"), Key::Pod("app"));
    assert_eq!(classify("app"), Key::Pod("app"));
    assert_eq!(classify("container:app"), Key::Absent);
    assert_eq!(classify("k8s:io.kubernetes.pod.namespace"), Key::Namespace);
    assert_eq!(classify("k8s:io.cilium.k8s.namespace.labels.team"), Key::NamespaceLabel("team"));
    assert_eq!(classify("k8s:io.cilium.k8s.policy.serviceaccount"), Key::Unknown);
    assert_eq!(classify("reserved:host"), Key::Reserved);
}

#[test]
fn default_deny_sections_and_enable_default_deny() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [
        cnp(
            "shop",
            "web",
            json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
            "ingress": [{"fromEntities": []}], "egress": []}),
        ),
        cnp(
            "shop",
            "api",
            json!({"endpointSelector": {"matchLabels": {"app": "api"}},
            "enableDefaultDeny": {"ingress": false},
            "ingressDeny": [{"fromEndpoints": [{"matchLabels": {"k8s:app": "web"}}],
                             "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}),
        ),
    ];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let (web, api, tool) = (pt(&u, "shop/web"), pt(&u, "shop/api"), pt(&u, "ops/tool"));
    // `fromEntities: []` isolates and allows nothing; `egress: []` is no section.
    assert!(r.semantics.side(web, Direction::Ingress).at(&u, api).possible.is_empty());
    assert!(r.semantics.side(web, Direction::Egress).is_open());
    // A deny section with default deny off subtracts from everything.
    let side = r.semantics.side(api, Direction::Ingress);
    assert_eq!(side.fold, Fold::Union { isolated: false });
    let from_web = side.at(&u, web);
    assert!(
        !from_web.possible.contains(Protocol::Tcp, 8080) && from_web.certain.contains(Protocol::Udp, 8080)
    );
    assert!(side.at(&u, tool).certain.is_all());
}

#[test]
fn default_deny_without_rules_isolates_nothing() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [cnp(
        "shop",
        "web",
        json!({"endpointSelector": {}, "enableDefaultDeny": {"egress": true},
            "ingress": [{"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}),
    )];
    let r = read(&objects, &u);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let web = pt(&u, "shop/web");
    assert!(r.semantics.side(web, Direction::Egress).is_open());
    let ingress = r.semantics.side(web, Direction::Ingress).at(&u, u.api_server());
    assert!(ingress.certain.contains(Protocol::Tcp, 80) && !ingress.possible.contains(Protocol::Tcp, 81));
}

#[test]
fn peers_are_scoped_and_ports_read() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [cnp(
        "shop",
        "api",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "api"}},
        "ingress": [
          {"fromEndpoints": [{"matchLabels": {"k8s:app": "tool"}}]},
          {"fromEndpoints": [{"matchLabels": {"k8s:app": "tool", "k8s:io.kubernetes.pod.namespace": "ops"}}],
           "toPorts": [{"ports": [{"port": "9000", "endPort": 9100, "protocol": "UDP"}, {"port": "http"}]}]},
          {"fromEndpoints": [{"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "a"},
                              "matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}],
           "toPorts": [{"ports": [{"port": "0", "protocol": "SCTP"}]}]},
          {"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}],
           "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}]}]},
          {"fromEntities": ["world"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}
        ]}),
    )];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let side = r.semantics.side(pt(&u, "shop/api"), Direction::Ingress);
    let tool = side.at(&u, pt(&u, "ops/tool"));
    // Rule 0 is pinned to shop; rule 1 names ops, with ANY for the named port.
    assert!(tool.certain.contains(Protocol::Udp, 9100) && !tool.possible.contains(Protocol::Udp, 9101));
    for proto in Protocol::ALL {
        assert!(PortSet::named(proto, "http").is_subset(&tool.certain));
    }
    // Namespace labels other than the name are open.
    assert!(!tool.certain.contains(Protocol::Sctp, 5) && tool.possible.contains(Protocol::Sctp, 5));
    // CIDRs: addresses exactly, never pods; the node open.
    assert!(side.at(&u, pt(&u, "10.0.0.0")).certain.contains(Protocol::Udp, 53));
    // The excepted address: only `world`, possibly.
    let excepted = side.at(&u, pt(&u, "10.1.0.0"));
    assert!(!excepted.possible.contains(Protocol::Udp, 53) && excepted.certain.is_empty());
    assert!(!side.at(&u, pt(&u, "shop/web")).possible.contains(Protocol::Udp, 53));
    let host = side.at(&u, u.host());
    assert!(!host.certain.contains(Protocol::Udp, 53) && host.possible.contains(Protocol::Udp, 53));
    // world: documentation addresses certainly, named ones possibly.
    assert!(side.at(&u, pt(&u, "203.0.113.7")).certain.contains(Protocol::Tcp, 443));
    let named = side.at(&u, pt(&u, "10.255.255.255"));
    assert!(!named.certain.contains(Protocol::Tcp, 443) && named.possible.contains(Protocol::Tcp, 443));
}

#[test]
fn clusterwide_policies_select_across_namespaces() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [ccnp(
        "deny",
        json!({"endpointSelector": {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]},
            "egress": [{"toEndpoints": [{}]}]}),
    )];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    for name in ["shop/web", "ops/<unlabelled pod>", "kube-dns"] {
        let side = r.semantics.side(pt(&u, name), Direction::Egress);
        // `{}` in a clusterwide policy: every pod, nothing else.
        assert!(side.at(&u, pt(&u, "ops/tool")).certain.is_all());
        assert!(side.at(&u, u.api_server()).possible.is_empty());
    }
    assert!(r.semantics.side(u.host(), Direction::Egress).is_open());
}

#[test]
fn odd_manifests_are_problems_not_panics() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [
        json!(17),
        json!({"kind": "CiliumNetworkPolicy", "apiVersion": API_VERSION, "metadata": {"name": "x"}}),
        ccnp("nothing", json!({})),
        ccnp("hosts", json!({"nodeSelector": {}, "ingress": [{}]})),
        cnp(
            "shop",
            "odd",
            json!({"endpointSelector": {}, "enableDefaultDeny": {"egress": true},
            "ingress": [
                {"fromEndpoints": [{"matchLabels": {"reserved:host": ""}}]},
                {"fromEntities": ["martians"]},
                {"fromEntities": ["host"], "fromCIDR": ["10.0.0.0/8"]},
                {"fromCIDRSet": [{"cidr": "nonsense"}]},
                {"toPorts": [{"ports": [{"port": "80", "endPort": 70, "protocol": "TCP"}, {"port": "1", "protocol": "ICMP"}]}]},
                {"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}], "rules": {"http": [{"method": "GET"}]}}]},
                {"fromRequires": [{}]},
                "a rule"
            ],
            "egressDeny": [{"toFQDNs": [{"matchName": "example.com"}]}]}),
        ),
    ];
    let r = read(&objects, &u);
    let refused = r.problems.iter().filter(|p| p.contains("Cilium refuses this policy")).count();
    // 17, `x` (no namespace), `nothing` (no selector), `odd` (an unknown entity first).
    assert_eq!(refused, 2, "{:#?}", r.problems);
    assert!(r.problems.len() >= 5, "{:#?}", r.problems);
    // Cilium refuses `odd` as a whole: it isolates nothing.
    assert!(r.semantics.side(pt(&u, "shop/web"), Direction::Ingress).is_open());
    // The host policy polices the node only possibly: `ingress: [{}]` allows nothing, and
    // whether it applies is open.
    let host = r.semantics.side(u.host(), Direction::Ingress).at(&u, pt(&u, "shop/web"));
    assert!(host.certain.is_empty() && host.possible.is_all());
}

#[test]
fn egress_port_names_resolve_over_the_cluster_not_on_the_destination() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [cnp(
        "shop",
        "web",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
        "egress": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api"}}],
                    "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}, {"port": "443", "protocol": "TCP"}]}]}]}),
    )];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let (web, api) = (pt(&u, "shop/web"), pt(&u, "shop/api"));
    let side = r.semantics.side(web, Direction::Egress);
    let to_api = side.at(&u, api);
    // The number stays exact.
    assert!(to_api.certain.contains(Protocol::Tcp, 443));
    // The name: nothing for certain (two pods anywhere may disagree on its number) ...
    assert!(!PortSet::named(Protocol::Tcp, "http").is_subset(&to_api.certain));
    assert!(!to_api.certain.contains(Protocol::Tcp, 8080));
    // ... and possibly any TCP port, named or not, since its number is opened to api
    // whether api names the port or not.
    assert!(PortSet::protocol(Protocol::Tcp).is_subset(&to_api.possible));
    assert!(!to_api.possible.contains(Protocol::Udp, 8080));
    // Peers the rule does not select get nothing.
    assert!(side.at(&u, pt(&u, "ops/tool")).possible.is_empty());
    // On ingress a name resolves on the pod itself, exactly.
    let ingress = [cnp(
        "shop",
        "api",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "api"}},
        "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:app": "web"}}],
                     "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
    )];
    let r = read(&ingress, &u);
    let from_web = r.semantics.side(api, Direction::Ingress).at(&u, web);
    assert_eq!(from_web.certain, PortSet::named(Protocol::Tcp, "http"));
    assert_eq!(from_web.possible, from_web.certain);
}

#[test]
fn egress_deny_port_names_deny_possibly_anything_of_their_protocol() {
    let p = program(SHOP);
    let u = Universe::new(&p);
    let objects = [cnp(
        "shop",
        "web",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
        "enableDefaultDeny": {"egress": false},
        "egressDeny": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api"}}],
                        "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
    )];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let to_api = r.semantics.side(pt(&u, "shop/web"), Direction::Egress).at(&u, pt(&u, "shop/api"));
    // It may deny any TCP port (the name's number, wherever it is defined) or nothing
    // (two pods disagree): no TCP port is certainly allowed, every one possibly.
    assert!(!to_api.certain.contains(Protocol::Tcp, 8080));
    assert!(!PortSet::named(Protocol::Tcp, "http").is_subset(&to_api.certain));
    assert!(PortSet::protocol(Protocol::Tcp).is_subset(&to_api.possible));
    assert!(to_api.certain.contains(Protocol::Udp, 8080));
}

#[test]
fn verify_sees_an_egress_port_name_as_cilium_reads_it() {
    let p = program(
        "namespace shop\n\
         workload web { app: web }\n\
         workload api { app: api }\n\
         web connects to api on tcp http\n",
    );
    let u = Universe::new(&p);
    // What netpol emitted before E0306: the source's rule, word for word.
    let objects = [cnp(
        "shop",
        "web",
        json!({"endpointSelector": {"matchLabels": {"k8s:app": "web"}},
        "egress": [{"toEndpoints": [{"matchLabels": {"k8s:app": "api", "k8s:io.kubernetes.pod.namespace": "shop"}}],
                    "toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]}]}),
    )];
    let r = read(&objects, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let source = SourceSemantics::new(&p, &u);
    let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(r.semantics.as_ref(), &u));
    let text: Vec<String> = diffs.iter().map(|d| d.describe(&u, "cilium")).collect();
    assert!(!diffs.is_empty(), "Cilium opens a number to api that the source does not");
    assert!(text.iter().any(|t| t.contains("shop/web") && t.contains("shop/api")), "{text:#?}");
}

fn emitted(src: &str) -> (Program, Vec<Value>) {
    let p = program(src);
    let locate = |_| "test.netpol:1".to_string();
    let cx = crate::backend::EmitContext { locate: &locate, versions: crate::backend::Versions::DEFAULT };
    let objects = crate::backend::Target::Cilium.backend().emit(&p, &cx).expect("emits");
    (p, objects.iter().map(|o| o.body()).collect())
}

#[test]
fn the_source_and_the_emitted_policies_agree() {
    let (p, bodies) = emitted(
        "default deny all\n\
         namespace shop {\n\
           workload web { app: web }\n\
           workload api { app: api }\n\
           web connects to kube-dns\n\
           web connects to \"*.example.com\" on tcp 443\n\
           web -> api on tcp 8080\n\
           web accepts tcp 80 from namespace edge\n\
           api refuses tcp 8080 from 10.0.0.0/8\n\
           api accepts from world\n\
         }\n",
    );
    let u = Universe::new(&p);
    let r = read(&bodies, &u);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let source = SourceSemantics::new(&p, &u);
    let diffs = compare(&u, &Rows::build(&source, &u), &Rows::build(r.semantics.as_ref(), &u));
    let text: Vec<String> = diffs.iter().map(|d| d.describe(&u, "cilium")).collect();
    assert!(diffs.is_empty(), "{text:#?}");
}
