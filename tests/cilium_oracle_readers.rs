//! The Cilium reader (`analysis::targets::cilium`) against Cilium's own policy engine,
//! `../shared/oracles/cilium/cilium-oracle` (see its README): foreign CiliumNetworkPolicies,
//! CiliumClusterwideNetworkPolicies and Kubernetes NetworkPolicies, written by hand to cover
//! every field the reader reads, and upstream example policies (`tests/upstream/cilium/`).
//! For every probe the oracle answers, on the source's egress and on the destination's
//! ingress: where Cilium allows, the reader must say possibly allowed; where Cilium denies or
//! drops, the reader must not say certainly allowed. Where the oracle is absent the test says
//! SKIPPED.

mod common;

use common::*;
use netpol::analysis::targets;
use netpol::analysis::universe::{PointId, Universe};
use netpol::backend::Target;
use netpol::ir::{Direction, Protocol};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The pods of the universe, for the oracle: labels as the program gives them.
const PROGRAM: &str = "\
namespace shop {
  workload web { app: web, env: prod, role: frontend }
  workload api { app: api, role: backend }
  workload svc { app: myService }
  workload db { app: db, env: prod }
  web connects to 10.0.0.0/8
}
namespace ops {
  workload tool { app: tool, env: prod }
}
namespace ns1 { workload a { app: a } }
namespace ns2 { workload b { app: b } }
";

const PROBES: &str = "tcp/53,udp/53,tcp/80,tcp/81,tcp/443,tcp/444,tcp/445,tcp/8080,udp/8080,sctp/2905";

struct World {
    u: Universe,
    topology: String,
    /// Oracle endpoint names to points.
    names: HashMap<String, PointId>,
}

fn world() -> World {
    let c = compile_str(PROGRAM, &[Target::Cilium], &[]);
    let program = c.program.expect("a program");
    let u = Universe::new(&program);
    let mut topology = String::new();
    let mut names = HashMap::new();
    for z in &u.zones {
        topology.push_str(&format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {}}}\n", z.name));
    }
    for p in u.ids() {
        let point = u.point(p);
        let Some(z) = point.zone else { continue };
        let ns = &u.zone(z).name;
        let labels: Vec<String> = point.labels.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
        topology.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{p}, namespace: {ns}, labels: {{{}}}}}\nspec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]}}\n",
            labels.join(", ")
        ));
        names.insert(format!("{ns}/p{p}"), p);
    }
    names.insert("host".to_string(), u.host());
    // The universe's API server stands for one inside the cluster and one outside it.
    names.insert("kube-apiserver".to_string(), u.api_server());
    // An API server outside the cluster (`kube-apiserver@198.51.100.1`) is also in Cilium's
    // `world`; the reader leaves it out, as the source's `world` does (see `entity` in
    // `src/analysis/targets/cilium/rules.rs`), so it is not compared.
    let world = u.ids().find(|p| u.point(*p).name == "203.0.113.7").expect("a world address");
    names.insert("203.0.113.7".to_string(), world);
    World { u, topology, names }
}

/// What the oracle says, per probe and side; `None` where it refuses the policies.
fn ask(oracle: &Path, policies: &str, topology: &str) -> Result<Vec<Vec<String>>, String> {
    let out = run_cilium_oracle(
        oracle,
        policies,
        topology,
        &["-probes", PROBES, "-world", "203.0.113.7", "-apiserver-ip", "198.51.100.1"],
    )
    .map_err(|e| format!("does not run: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok(String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect())
}

/// Compares the reader with the oracle over `policies`; returns the probes compared and
/// those the reader answers exactly (certain = possible).
fn compare(oracle: &Path, w: &World, name: &str, policies: &str) -> (usize, usize) {
    let objects: Vec<Value> = policies
        .split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| netpol::yaml::parse(d).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    let reading = targets::cilium::read(&objects, &w.u);
    let rows = match ask(oracle, policies, &w.topology) {
        Ok(rows) => rows,
        Err(e) => {
            // Cilium refuses a policy: the reader must say so, and read it as absent.
            assert!(e.contains("REJECTED"), "{name}: the oracle failed: {e}");
            assert!(
                reading.problems.iter().any(|p| p.contains("Cilium refuses")),
                "{name}: Cilium refuses ({e}), the reader does not say so: {:#?}",
                reading.problems
            );
            return (0, 0);
        }
    };
    let (mut compared, mut exact) = (0, 0);
    let mut wrong = Vec::new();
    for f in rows {
        let (Some(&src), Some(&dst)) = (w.names.get(&f[0]), w.names.get(&f[1])) else { continue };
        let protocol = match f[2].as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            other => panic!("probe protocol {other}"),
        };
        let port: u16 = f[3].parse().expect("port");
        for (verdict, point, dir, peer) in
            [(&f[4], src, Direction::Egress, dst), (&f[5], dst, Direction::Ingress, src)]
        {
            // The node reaching a pod is the matrix's rule (`--allow-localhost`), not a reader's.
            if verdict == "-" || (dir == Direction::Ingress && src == w.u.host()) {
                continue;
            }
            let cell = reading.semantics.side(point, dir).at(&w.u, peer);
            let (certain, possible) =
                (cell.certain.contains(protocol, port), cell.possible.contains(protocol, port));
            compared += 1;
            let allowed = verdict.starts_with("allow");
            if certain == possible {
                exact += 1;
            }
            if allowed && !possible || !allowed && certain {
                wrong.push(format!(
                    "{} -> {} {}/{port} {dir:?}: Cilium says {verdict}, the reader says certain={certain} possible={possible}",
                    f[0], f[1], f[2]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{name}: the reader disagrees with Cilium:\n{}\nproblems: {:#?}",
        wrong.join("\n"),
        reading.problems
    );
    (compared, exact)
}

const CASES: &[(&str, &str)] = &[
    ("empty rule isolates, L4-only rule covers everything", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{}]
  egress: [{toPorts: [{ports: [{port: '80', protocol: TCP}]}]}, {toPorts: []}]
"),
    ("fromRequires across rules", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromRequires: [{matchLabels: {env: prod}}]
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: '80', protocol: TCP}]}]
  - fromEntities: [world]
    toPorts: [{ports: [{port: '81', protocol: TCP}]}]
  - fromEndpoints: [{matchLabels: {app: tool, k8s:io.kubernetes.pod.namespace: ops}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: b, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: db}}
  egress:
  - toRequires: [{matchLabels: {role: frontend}}]
    toEndpoints: [{}]
"),
    ("entities", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
specs:
- endpointSelector: {matchLabels: {app: web}}
  egress:
  - toEntities: [world-ipv4]
  - toEntities: [remote-node, health, init, unmanaged, ingress, none]
    toPorts: [{ports: [{port: '81', protocol: tcp}]}]
  - toEntities: [kube-apiserver]
    toPorts: [{ports: [{port: '443'}]}]
  - toEntities: [cluster]
    toPorts: [{ports: [{port: '8080'}]}]
- endpointSelector: {matchLabels: {app: api}}
  egress:
  - toEntities: [world]
  - toEntities: [host]
    toPorts: [{ports: [{port: '53', protocol: ANY}]}]
  ingress:
  - fromEntities: [all]
    toPorts: [{ports: [{port: '80'}]}]
"),
    ("CIDRs, FQDNs, groups, services, nodes", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toCIDR: [203.0.113.0/24]
    toPorts: [{ports: [{port: '443', protocol: TCP}]}]
  - toCIDRSet: [{cidr: 0.0.0.0/0, except: [203.0.113.0/24]}]
    toPorts: [{ports: [{port: '80', protocol: TCP}]}]
  - toFQDNs: [{matchPattern: '*.example.com'}]
    toPorts: [{ports: [{port: '444', protocol: TCP}]}]
  - toCIDRSet: [{cidrGroupRef: office}]
    toPorts: [{ports: [{port: '445', protocol: TCP}]}]
  - toEndpoints: [{matchLabels: {k8s-app: kube-dns, k8s:io.kubernetes.pod.namespace: kube-system}}]
    toPorts: [{ports: [{port: '53', protocol: ANY}], rules: {dns: [{matchPattern: '*'}]}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: b, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  egress:
  - toServices: [{k8sService: {serviceName: s, namespace: shop}}]
  - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]
"),
    ("deny rules and enableDefaultDeny", "
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-tool}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false, egress: false}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: tool}}]
    toPorts: [{ports: [{port: '80', endPort: 443, protocol: TCP}]}]
  egressDeny:
  - toEntities: [world]
    toPorts: [{ports: [{port: '443', protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: open, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress: [{fromEntities: [all]}]
"),
    ("L7, TLS, listener and authentication", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts:
    - ports: [{port: '80', protocol: TCP}]
      rules: {http: [{method: GET, path: /}]}
    - ports: [{port: '8080', protocol: TCP}]
      rules: {kafka: [{topic: t}]}
  - fromEndpoints: [{matchLabels: {app: db}}]
    authentication: {mode: required}
  egress:
  - toEndpoints: [{}]
    toPorts:
    - ports: [{port: '443', protocol: TCP}]
      serverNames: [example.com]
    - ports: [{port: '444', protocol: TCP}]
      listener: {envoyConfig: {kind: CiliumEnvoyConfig, name: x}, name: lst}
"),
    ("ICMP rules", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{}]
    icmps: [{fields: [{type: 8, family: IPv4}]}]
"),
    ("a rule Cilium refuses", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{}]
    fromEntities: [world]
"),
    ("a port without a number Cilium refuses", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - toPorts: [{ports: [{protocol: UDP}]}]
"),
    ("DNS rules over a port range Cilium refuses", "
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  egress:
  - toPorts: [{ports: [{port: '53', endPort: 54, protocol: UDP}], rules: {dns: [{matchPattern: '*'}]}}]
"),
    ("NetworkPolicy as Cilium enforces it, beside a CNP", "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports: [{port: 80, endPort: 443}]
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: http}]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}, podSelector: {matchLabels: {app: tool}}}]
  - to: [{podSelector: {}}]
    ports: [{protocol: UDP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: d, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: e, namespace: ops}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress: [{to: [{namespaceSelector: {}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress: [{fromEntities: [world], toPorts: [{ports: [{port: '8080'}]}]}]
  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: '81', protocol: TCP}]}]}]
"),
];

#[test]
fn the_cilium_reader_agrees_with_ciliums_engine() {
    let Some(oracle) = cilium_oracle("compare with Cilium's engine") else { return };
    let w = world();
    let mut total = (0, 0);
    let mut cases: Vec<(String, String)> =
        CASES.iter().map(|(n, p)| (n.to_string(), p.to_string())).collect();
    let dir = root().join("tests/upstream/cilium");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).expect("upstream examples").flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        let text = std::fs::read_to_string(&f).expect("read");
        // Upstream examples leave the namespace to `kubectl apply`.
        let text = if text.contains("namespace:") {
            text
        } else {
            text.replace("metadata:\n  name:", "metadata:\n  namespace: shop\n  name:")
        };
        cases.push((f.file_name().unwrap().to_string_lossy().to_string(), text));
    }
    for (name, policies) in &cases {
        let (c, e) = compare(&oracle, &w, name, policies.trim_start());
        println!("{name}: {c} verdicts compared, {e} read exactly");
        total.0 += c;
        total.1 += e;
    }
    assert!(total.0 > 1000, "too few verdicts compared: {total:?}");
}
