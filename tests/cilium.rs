//! One test per Cilium trap (SEMANTICS.md §2.2): each compiles a small program for
//! `--target cilium` and checks the field that carries the trap.

mod common;

use common::*;
use netpol::backend::{Target, Version, Versions};
use serde_json::{json, Value};

const HEAD: &str =
    "namespace shop\nworkload web { app: web }\nworkload api { app: api }\nworkload db { app: db }\n";

fn cilium(src: &str) -> netpol::driver::Compilation {
    compile_str(&format!("{HEAD}{src}"), &[Target::Cilium], &[])
}

fn cilium_at(src: &str, version: Version) -> netpol::driver::Compilation {
    compile_with(
        &format!("{HEAD}{src}"),
        &[Target::Cilium],
        &[],
        Versions { cilium: version, ..Versions::DEFAULT },
    )
}

/// The body of the object named `name`, after checking the whole output is valid.
fn object(c: &netpol::driver::Compilation, name: &str) -> Value {
    assert!(!c.has_errors(), "{}", render(c));
    let objects = &c.outputs[0].1;
    for o in objects {
        let body = o.body();
        assert!(cilium_semantic_errors(&body).is_empty(), "{:?}", cilium_semantic_errors(&body));
    }
    if let Some(schemas) = CrdSchemas::for_target(Target::Cilium) {
        let errors = schemas.object_errors(objects);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    objects.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no object {name}")).body()
}

fn error_codes(c: &netpol::driver::Compilation) -> Vec<&'static str> {
    codes(c).into_iter().filter(|c| c.starts_with('E')).collect()
}

#[test]
fn mixed_peers_are_split_into_one_selector_kind_per_rule() {
    let c = cilium(
        "web connects to api, world, 203.0.113.0/24, \"api.example.com\", kube-dns on tcp 443\nweb connects to kube-dns\n",
    );
    let egress = &object(&c, "web")["spec"]["egress"];
    let rules = egress.as_array().expect("egress");
    let kinds: Vec<Vec<&str>> = rules
        .iter()
        .map(|r| {
            r.as_object().expect("rule").keys().map(String::as_str).filter(|k| *k != "toPorts").collect()
        })
        .collect();
    for k in &kinds {
        assert_eq!(k.len(), 1, "one L3 selector kind per rule: {kinds:?}");
    }
    assert_eq!(rules[0]["toEndpoints"].as_array().map(Vec::len), Some(2), "api and kube-dns share a rule");
    assert_eq!(rules[1]["toEntities"], json!(["world"]));
    assert_eq!(rules[2]["toCIDRSet"], json!([{"cidr": "203.0.113.0/24"}]));
    assert_eq!(rules[3]["toFQDNs"], json!([{"matchName": "api.example.com"}]));
    for r in &rules[..4] {
        assert_eq!(
            r["toPorts"],
            json!([{"ports": [{"port": "443", "protocol": "TCP"}]}]),
            "same ports on every part"
        );
    }
}

#[test]
fn every_selector_names_its_namespace_and_the_k8s_label_source() {
    let c = compile_str(
        "namespace shop { workload web { app: web }\n web accepts tcp 80 from api, mon/prom }\n\
         namespace shop { workload api { app: api } }\nnamespace mon { workload prom { app: prom } }\n",
        &[Target::Cilium],
        &[],
    );
    let web = object(&c, "web");
    assert_eq!(web["spec"]["endpointSelector"], json!({"matchLabels": {"k8s:app": "web"}}));
    assert_eq!(
        web["spec"]["ingress"][0]["fromEndpoints"],
        json!([
            {"matchLabels": {"k8s:app": "api", "k8s:io.kubernetes.pod.namespace": "shop"}},
            {"matchLabels": {"k8s:app": "prom", "k8s:io.kubernetes.pod.namespace": "mon"}},
        ]),
        "even the policy's own namespace is written out"
    );
}

#[test]
fn entities_and_the_cluster_peer() {
    let c = cilium("web accepts from world, host, kube-apiserver\napi accepts tcp 80 from cluster\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEntities"],
        json!(["world", "host", "kube-apiserver"])
    );
    // `cluster` means every pod; Cilium's `cluster` entity would add the nodes.
    assert_eq!(
        object(&c, "api")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}])
    );
    let c = cilium("web accepts tcp 80 from anywhere\n");
    assert_eq!(object(&c, "web")["spec"]["ingress"][0]["fromEntities"], json!(["all"]));
}

#[test]
fn namespaces_by_label_use_namespace_labels_and_stay_cluster_wide() {
    let c = cilium("namespaces prod { env: prod, team in (a, b) }\nweb accepts tcp 80 from prod\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{
            "matchLabels": {"k8s:io.cilium.k8s.namespace.labels.env": "prod"},
            "matchExpressions": [
                {"key": "k8s:io.cilium.k8s.namespace.labels.team", "operator": "In", "values": ["a", "b"]},
                {"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"},
            ],
        }])
    );
}

/// `api in prod`: pod labels and namespace labels in one endpoint selector, so both hold.
#[test]
fn a_workload_in_a_namespace_set_is_one_selector_on_pod_and_namespace_labels() {
    let c = cilium("namespaces prod { env: prod, team in (a, b) }\nweb accepts tcp 80 from api in prod\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromEndpoints"],
        json!([{
            "matchLabels": {"k8s:app": "api", "k8s:io.cilium.k8s.namespace.labels.env": "prod"},
            "matchExpressions": [
                {"key": "k8s:io.cilium.k8s.namespace.labels.team", "operator": "In", "values": ["a", "b"]},
                {"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"},
            ],
        }])
    );
}

#[test]
fn cidr_sets_carry_their_exceptions() {
    let c = cilium("web accepts tcp 443 from 10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16), fd00::/8\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["fromCIDRSet"],
        json!([{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}, {"cidr": "fd00::/8"}])
    );
}

#[test]
fn dns_names_come_with_a_dns_proxy_rule_that_allows_no_more_than_the_source() {
    let c = cilium("web connects to \"*.example.com\" on tcp 443\nweb connects to kube-dns\n");
    let egress = object(&c, "web")["spec"]["egress"].clone();
    assert_eq!(egress[0]["toFQDNs"], json!([{"matchPattern": "*.example.com"}]));
    let proxy = egress.as_array().expect("egress").last().expect("proxy rule").clone();
    assert_eq!(
        proxy,
        json!({
            "toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}],
            "toPorts": [{
                "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                "rules": {"dns": [{"matchPattern": "*"}]},
            }],
        })
    );
    // Only UDP allowed: the proxy rule covers UDP only.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns on udp 53\n");
    let egress = object(&c, "web")["spec"]["egress"].clone();
    let proxy = egress.as_array().expect("egress").last().expect("proxy").clone();
    assert_eq!(proxy["toPorts"][0]["ports"], json!([{"port": "53", "protocol": "UDP"}]));
    // No DNS allowed: an error, not a silent widening.
    let c = cilium("web connects to \"example.com\" on tcp 443\n");
    assert_eq!(error_codes(&c), ["E0305"]);
    // A network deny does not touch pod-to-pod traffic on Cilium, so it does not hide DNS.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns\nweb never connects to 0.0.0.0/0\n");
    assert!(!c.has_errors(), "{}", render(&c));
    // A deny towards the DNS pods does.
    let c = cilium("web connects to \"example.com\" on tcp 443\nweb connects to kube-dns\nweb never connects to namespace kube-system\n");
    assert_eq!(error_codes(&c), ["E0305"]);
}

#[test]
fn deny_rules_with_dns_names_are_errors() {
    let c = cilium("web connects to anywhere\nweb never connects to \"evil.example.com\"\n");
    assert_eq!(error_codes(&c), ["E0301"]);
    assert!(render(&c).contains("cilium"), "{}", render(&c));
}

#[test]
fn deny_rules_never_isolate() {
    // Ingress open except for the deny: default deny must be switched off.
    let c = cilium("web refuses tcp 22 from world\n");
    let spec = object(&c, "web")["spec"].clone();
    assert_eq!(spec["ingressDeny"][0]["fromEntities"], json!(["world"]));
    assert_eq!(spec["enableDefaultDeny"], json!({"ingress": false}));
    assert!(spec.get("ingress").is_none());
    // Isolated anyway: no enableDefaultDeny.
    let c = cilium("web accepts tcp 80 from api\nweb refuses tcp 80 from db\n");
    let spec = object(&c, "web")["spec"].clone();
    assert!(spec.get("enableDefaultDeny").is_none(), "{spec}");
    assert_eq!(spec["ingressDeny"][0]["fromEndpoints"][0]["matchLabels"]["k8s:app"], "db");
    // Egress the same way.
    let c = cilium("web never connects to 169.254.169.254\n");
    assert_eq!(object(&c, "web")["spec"]["enableDefaultDeny"], json!({"egress": false}));
}

#[test]
fn enable_default_deny_needs_cilium_1_16() {
    let c = cilium_at("web refuses from world\n", Version::new(1, 15, 0));
    assert_eq!(error_codes(&c), ["E0303"]);
    let text = render(&c);
    assert!(text.contains("--cilium-version 1.16"), "{text}");
    let c = cilium_at("web accepts from api\nweb refuses from world\n", Version::new(1, 15, 0));
    assert!(!c.has_errors(), "isolated: ingressDeny alone is fine before 1.16\n{}", render(&c));
    let c = cilium_at("web accepts from api\nweb refuses from world\n", Version::new(1, 8, 0));
    assert_eq!(error_codes(&c), ["E0303"], "deny rules need 1.9");
}

#[test]
fn port_ranges_need_cilium_1_16() {
    let c = cilium_at("web accepts tcp 8000-8100 from api\n", Version::new(1, 15, 4));
    assert_eq!(error_codes(&c), ["E0303"]);
    let c = cilium_at("web accepts tcp 8000-8100 from api\n", Version::new(1, 16, 0));
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["toPorts"],
        json!([{"ports": [{"port": "8000", "endPort": 8100, "protocol": "TCP"}]}])
    );
}

#[test]
fn protocols_are_always_explicit() {
    let c = cilium("web accepts tcp 80, http and udp 53 and sctp from api\n");
    assert_eq!(
        object(&c, "web")["spec"]["ingress"][0]["toPorts"],
        json!([{"ports": [
            {"port": "80", "protocol": "TCP"},
            {"port": "http", "protocol": "TCP"},
            {"port": "53", "protocol": "UDP"},
            {"port": "0", "protocol": "SCTP"},
        ]}]),
        "omitted protocol means ANY in Cilium; protocol-only uses port 0"
    );
    let c = cilium("web accepts from api\n");
    assert!(object(&c, "web")["spec"]["ingress"][0].get("toPorts").is_none(), "no ports: every port");
}

#[test]
fn at_most_forty_ports_per_entry() {
    let ports: Vec<String> = (1000..1045).map(|p| p.to_string()).collect();
    let c = cilium(&format!("web accepts tcp {} from api\n", ports.join(", ")));
    let to_ports = object(&c, "web")["spec"]["ingress"][0]["toPorts"].clone();
    let sizes: Vec<usize> = to_ports
        .as_array()
        .expect("toPorts")
        .iter()
        .map(|e| e["ports"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [40, 5]);
}

#[test]
fn accepts_nothing_is_an_empty_peer_list_never_an_empty_section() {
    let c = cilium("web accepts nothing \"closed\"\nweb connects to nothing\n");
    let web = object(&c, "web");
    assert_eq!(web["spec"]["ingress"], json!([{"fromEntities": []}]));
    assert_eq!(web["spec"]["egress"], json!([{"toEntities": []}]));
    assert!(web["metadata"]["annotations"]["netpol/rules"]
        .as_str()
        .expect("notes")
        .contains("nothing: closed"));
    let yaml = &c.outputs[0].1.iter().find(|o| o.name == "web").expect("web").yaml;
    assert!(!yaml.contains("ingress: []") && !yaml.contains("Requires"), "{yaml}");
}

#[test]
fn default_deny_per_namespace_and_cluster_wide() {
    let c = compile_str(
        "default deny ingress\nnamespace shop { default deny egress\n workload web { app: web }\n web connects to kube-dns }\n",
        &[Target::Cilium],
        &[],
    );
    assert!(!c.has_errors(), "{}", render(&c));
    let objects = &c.outputs[0].1;
    let ccnp = objects.iter().find(|o| o.kind == "CiliumClusterwideNetworkPolicy").expect("CCNP").body();
    assert!(ccnp["metadata"].get("namespace").is_none());
    assert_eq!(
        ccnp["spec"]["endpointSelector"],
        json!({"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}),
        "pods only, not Cilium's own health endpoints"
    );
    assert_eq!(ccnp["spec"]["ingress"], json!([{"fromEntities": []}]));
    let cnp = object(&c, "default-deny-egress");
    assert_eq!(cnp["metadata"]["namespace"], "shop");
    assert_eq!(cnp["spec"]["endpointSelector"], json!({}));
    assert_eq!(cnp["spec"]["egress"], json!([{"toEntities": []}]));
}

#[test]
fn selectors_render_every_operator_with_the_k8s_source() {
    let c = compile_str(
        "namespace shop\nworkload web { app: web, tier in (a, b), env notin (test), team exists, legacy does-not-exist }\n\
         workload api { app: api }\nweb accepts from api\n",
        &[Target::Cilium],
        &[],
    );
    assert_eq!(
        object(&c, "web")["spec"]["endpointSelector"],
        json!({
            "matchLabels": {"k8s:app": "web"},
            "matchExpressions": [
                {"key": "k8s:env", "operator": "NotIn", "values": ["test"]},
                {"key": "k8s:legacy", "operator": "DoesNotExist"},
                {"key": "k8s:team", "operator": "Exists"},
                {"key": "k8s:tier", "operator": "In", "values": ["a", "b"]},
            ],
        })
    );
}

#[test]
fn reasons_and_sources_are_carried_per_rule() {
    let c = cilium("web accepts tcp 80 from api, world \"the shop front\"\n");
    let notes =
        object(&c, "web")["metadata"]["annotations"]["netpol/rules"].as_str().expect("notes").to_string();
    assert_eq!(
        notes,
        "ingress[0]: the shop front (test.netpol:5)\ningress[1]: the shop front (test.netpol:5)"
    );
}

#[test]
fn egress_port_names_are_errors_and_ingress_port_names_are_kept() {
    // Cilium resolves an egress port name across every pod of the cluster, not on the
    // destination: allow and deny rules, edges, on every release.
    for src in [
        "web connects to api on tcp http\n",
        "web never connects to api on tcp http\n",
        "web -> api on tcp http\n",
    ] {
        let c = cilium(src);
        assert_eq!(error_codes(&c), ["E0306"], "{src}{}", render(&c));
        let c = cilium_at(src, Version::new(1, 20, 0));
        assert_eq!(error_codes(&c), ["E0306"], "{src}{}", render(&c));
    }
    let text = render(&cilium("web connects to api on tcp http\n"));
    assert!(text.contains("every pod of the cluster") && text.contains("allows nothing"), "{text}");
    let text = render(&cilium("web never connects to api on tcp http\n"));
    assert!(text.contains("denies nothing"), "{text}");
    // Numbers on egress, names on ingress: as written.
    let c = cilium("web connects to api on tcp 8080\napi accepts tcp http from web\n");
    assert_eq!(
        object(&c, "api")["spec"]["ingress"][0]["toPorts"],
        json!([{"ports": [{"port": "http", "protocol": "TCP"}]}])
    );
    // Kubernetes and Calico resolve a name on the destination: no error there.
    for target in [Target::Kubernetes, Target::Calico] {
        let c = compile_str(&format!("{HEAD}web connects to api on tcp http\n"), &[target], &[]);
        assert!(!c.has_errors(), "{}", render(&c));
    }
}

/// What Cilium decides on the source's egress for one probe.
struct Verdict {
    src: String,
    dst: String,
    protocol: String,
    port: u16,
    /// `allow`, `allow-proxy`, `deny` (an explicit deny) or `drop` (default deny).
    egress: String,
}

/// The oracle's egress verdicts for `policies` over `topology`. `None` (after saying so) where
/// the oracle cannot run on this machine.
fn oracle_egress(
    oracle: &std::path::Path,
    policies: &str,
    topology: &str,
    probes: &str,
) -> Option<Vec<Verdict>> {
    let out = match run_cilium_oracle(oracle, policies, topology, &["-probes", probes]) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: {} does not run here: {e}", oracle.display());
            return None;
        }
    };
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    assert!(out.status.success(), "oracle failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("src,dst,proto,port,egress,ingress,allowed"));
    Some(
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                assert_eq!(f.len(), 7, "{l}");
                Verdict {
                    src: f[0].to_string(),
                    dst: f[1].to_string(),
                    protocol: f[2].to_string(),
                    port: f[3].parse().expect("port"),
                    egress: f[4].to_string(),
                }
            })
            .collect(),
    )
}

#[test]
fn egress_port_names_are_read_as_cilium_enforces_them() {
    use netpol::analysis::targets;
    use netpol::analysis::universe::Universe;
    use netpol::ir::{Direction, Protocol};

    let Some(oracle) = cilium_oracle("check against Cilium's policy engine") else { return };
    // `web` may reach `api` and `db` on `http`; `api` may not reach `db` on `http`.
    let manifests = "\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {'k8s:app': web}}
  egress:
  - toEndpoints:
    - matchLabels: {'k8s:app': api, 'k8s:io.kubernetes.pod.namespace': shop}
    - matchLabels: {'k8s:app': db, 'k8s:io.kubernetes.pod.namespace': shop}
    toPorts: [{ports: [{port: http, protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {'k8s:app': api}}
  enableDefaultDeny: {egress: false}
  egressDeny:
  - toEndpoints:
    - matchLabels: {'k8s:app': db, 'k8s:io.kubernetes.pod.namespace': shop}
    toPorts: [{ports: [{port: http, protocol: TCP}]}]
";
    let pod = |ns: &str, app: &str, ports: &str| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}, namespace: {ns}, labels: {{app: {app}}}}}\n\
             spec: {{containers: [{{name: c, ports: [{ports}]}}]}}\n"
        )
    };
    let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
                      apiVersion: v1\nkind: Namespace\nmetadata: {name: elsewhere}\n";
    let shop = format!(
        "{namespaces}{}{}{}",
        pod("shop", "web", ""),
        pod("shop", "api", "{name: http, containerPort: 8080}"),
        pod("shop", "db", "{name: pg, containerPort: 5432}")
    );
    // Only `api` names `http`; then a pod no policy mentions gives it another number.
    let one_number = shop.clone();
    let two_numbers = format!("{shop}{}", pod("elsewhere", "other", "{name: http, containerPort: 9090}"));

    let c = compile_str(HEAD, &[Target::Cilium], &[]);
    let program = c.program.expect("a program");
    let u = Universe::new(&program);
    let objects: Vec<Value> =
        manifests.split("\n---\n").map(|d| netpol::yaml::parse(d).expect("YAML")).collect();
    assert!(objects.iter().all(|o| o["kind"] == "CiliumNetworkPolicy"), "{objects:?}");
    let reading = targets::read(Target::Cilium, &objects, &u);
    assert!(reading.problems.is_empty(), "{:?}", reading.problems);
    let point = |name: &str| u.ids().find(|p| u.point(*p).name == name).expect("a point");

    let mut facts = Vec::new();
    for (case, topology) in [("one number", &one_number), ("two numbers", &two_numbers)] {
        let Some(rows) = oracle_egress(&oracle, manifests, topology, "tcp/8080,tcp/9090,udp/8080") else {
            return;
        };
        for v in rows {
            let pods = ["shop/web", "shop/api", "shop/db"];
            if !(pods.contains(&v.src.as_str()) && pods.contains(&v.dst.as_str())) {
                continue;
            }
            let protocol = match v.protocol.as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                other => panic!("probe protocol {other}"),
            };
            let port = v.port;
            let cell = reading.semantics.side(point(&v.src), Direction::Egress).at(&u, point(&v.dst));
            let what =
                format!("{case}: {} -> {} {}/{port}: Cilium says {}", v.src, v.dst, v.protocol, v.egress);
            match v.egress.as_str() {
                "allow" | "allow-proxy" => {
                    assert!(cell.possible.contains(protocol, port), "{what}; read as impossible")
                }
                _ => assert!(!cell.certain.contains(protocol, port), "{what}; read as certain"),
            }
            facts.push((case, v));
        }
    }
    // The facts E0306 rests on, as Cilium's engine shows them: one number is opened to every
    // selected pod, `db` too, which names no such port; two numbers anywhere open nothing, and
    // a deny then denies nothing.
    let verdict = |case: &str, src: &str, dst: &str, port: u16| {
        facts
            .iter()
            .find(|(c, v)| {
                *c == case && v.src == src && v.dst == dst && v.protocol == "tcp" && v.port == port
            })
            .map(|(_, v)| v.egress.as_str())
            .unwrap_or_else(|| panic!("no verdict for {case} {src} -> {dst} tcp/{port}"))
    };
    assert_eq!(verdict("one number", "shop/web", "shop/db", 8080), "allow");
    assert_eq!(verdict("one number", "shop/api", "shop/db", 8080), "deny");
    assert_eq!(verdict("two numbers", "shop/web", "shop/api", 8080), "drop");
    assert_eq!(verdict("two numbers", "shop/api", "shop/db", 8080), "allow");
}

/// Cilium's default label filter leaves some labels out of security identities, so a selector
/// on one matches no pod: an error at the declaration, reported once however many rules name
/// it, as the policy's subject or as a peer, and for namespace labels as for pod labels.
#[test]
fn selectors_on_labels_left_out_of_identities_are_errors_once_per_declaration() {
    let hashed = "workload hashed { pod-template-hash: x }\n";
    let rules = [
        // The subject of its own policy, and a peer of other workloads' rules.
        "hashed accepts tcp 80 from web\nweb connects to hashed on tcp 80\napi connects to hashed on tcp 81\nhashed connects to db on tcp 5432\n",
        // A peer only.
        "web accepts tcp 80 from hashed\napi accepts tcp 80 from hashed\ndb accepts tcp 80 from hashed\n",
    ];
    for rules in rules {
        let c = cilium(&format!("{hashed}{rules}"));
        assert_eq!(error_codes(&c), ["E0301"], "{}", render(&c));
        assert!(render(&c).contains("the label `pod-template-hash`"), "{}", render(&c));
    }
    // A namespace set on a label the filter drops (`.*beta.kubernetes.io`), named alone and
    // with a workload's pods in it, beside the workload above: one error per declaration.
    let zoned = "namespaces zoned { failure-domain.beta.kubernetes.io/zone: a }\n";
    let c = cilium(&format!(
        "{hashed}{zoned}web accepts tcp 80 from zoned\napi accepts tcp 80 from db in zoned\ndb accepts tcp 80 from hashed in zoned\n"
    ));
    assert_eq!(error_codes(&c), ["E0301", "E0301"], "{}", render(&c));
    let text = render(&c);
    assert!(
        text.contains("`pod-template-hash`") && text.contains("`failure-domain.beta.kubernetes.io/zone`"),
        "{text}"
    );
}
