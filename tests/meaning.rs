//! The emitted Kubernetes policies allow exactly what the source means.
//!
//! An evaluator written from the Kubernetes documentation alone (isolation per direction, union
//! of rules, both sides must allow, empty `from`/`ports` = everything, one peer = namespace AND
//! pod selector) reads the emitted YAML back and is compared with the IR's meaning
//! (`analysis::reach`) on probe connections between every pair of endpoints.

mod common;

use common::*;
use netpol::analysis::reach::{Endpoint, Reach};
use netpol::backend::Target;
use netpol::driver::{compile, Options};
use netpol::ir::{CidrBlock, Entity, Peer, PortMatch, Ports, Program, Protocol, WorkloadId};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A concrete endpoint as Kubernetes sees it.
#[derive(Clone, Debug)]
enum Node {
    Pod { ns: String, labels: BTreeMap<String, String> },
    Ip(IpAddr),
}

fn selector_matches(sel: &Value, labels: &BTreeMap<String, String>) -> bool {
    let exact = sel["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let exprs = sel["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let got = labels.get(e["key"].as_str().unwrap_or(""));
        let values: Vec<&str> =
            e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        match e["operator"].as_str() {
            Some("In") => got.is_some_and(|v| values.contains(&v.as_str())),
            Some("NotIn") => got.is_none_or(|v| !values.contains(&v.as_str())),
            Some("Exists") => got.is_some(),
            Some("DoesNotExist") => got.is_none(),
            other => panic!("operator {other:?}"),
        }
    });
    exact && exprs
}

fn peer_matches(peer: &Value, policy_ns: &str, node: &Node) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        let Node::Ip(ip) = node else { return false };
        let cidr: ipnet::IpNet = block["cidr"].as_str().expect("cidr").parse().expect("cidr");
        let excepted = block["except"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e.as_str().expect("except").parse::<ipnet::IpNet>().expect("except").contains(ip));
        return cidr.contains(ip) && !excepted;
    }
    let Node::Pod { ns, labels } = node else { return false };
    let ns_ok = match peer.get("namespaceSelector") {
        Some(sel) => {
            selector_matches(sel, &BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.clone())]))
        }
        None => ns == policy_ns,
    };
    ns_ok && peer.get("podSelector").is_none_or(|sel| selector_matches(sel, labels))
}

fn port_matches(ports: Option<&Value>, proto: Protocol, port: u16) -> bool {
    let Some(list) = ports.and_then(Value::as_array) else { return true };
    list.iter().any(|p| {
        let proto_ok = p["protocol"].as_str().unwrap_or("TCP") == proto.as_str();
        let port_ok = match (&p["port"], p["endPort"].as_u64()) {
            (Value::Null, _) => true,
            (Value::Number(n), None) => n.as_u64() == Some(port as u64),
            (Value::Number(n), Some(end)) => (n.as_u64().expect("port")..=end).contains(&(port as u64)),
            _ => false, // named ports are not probed
        };
        proto_ok && port_ok
    })
}

/// Kubernetes' verdict for one direction of one endpoint.
fn side_allows(
    policies: &[Value],
    subject: &Node,
    dir: &str,
    other: &Node,
    proto: Protocol,
    port: u16,
) -> bool {
    let Node::Pod { ns, labels } = subject else { return true };
    let (types, key, peers_key) =
        if dir == "ingress" { ("Ingress", "ingress", "from") } else { ("Egress", "egress", "to") };
    let selecting: Vec<&Value> = policies
        .iter()
        .filter(|p| p["metadata"]["namespace"].as_str() == Some(ns.as_str()))
        .filter(|p| selector_matches(&p["spec"]["podSelector"], labels))
        .filter(|p| {
            p["spec"]["policyTypes"].as_array().expect("explicit policyTypes").iter().any(|t| t == types)
        })
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        let policy_ns = p["metadata"]["namespace"].as_str().expect("namespace");
        p["spec"][key].as_array().into_iter().flatten().any(|rule| {
            let peer_ok = match rule.get(peers_key).and_then(Value::as_array) {
                None => true,
                Some(peers) => peers.iter().any(|peer| peer_matches(peer, policy_ns, other)),
            };
            peer_ok && port_matches(rule.get("ports"), proto, port)
        })
    })
}

/// Every endpoint worth probing, as the IR sees it and as Kubernetes sees it.
fn endpoints(p: &Program) -> Vec<(Endpoint, Node)> {
    let mut out: Vec<(Endpoint, Node)> = Vec::new();
    for (i, w) in p.workloads.iter().enumerate() {
        let node =
            Node::Pod { ns: p.namespace(w.namespace).name.clone(), labels: w.selector.representative() };
        out.push((Endpoint::Workload(WorkloadId(i as u32)), node));
    }
    let dns = BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]);
    out.push((Endpoint::Entity(Entity::KubeDns), Node::Pod { ns: "kube-system".into(), labels: dns }));
    let mut ips: BTreeSet<IpAddr> =
        BTreeSet::from(["203.0.113.7".parse().expect("ip"), "2001:db8:1::7".parse().expect("ip")]);
    for rule in &p.rules {
        for peer in &rule.peers {
            if let Peer::Cidr(c) = &peer.peer {
                ips.insert(c.net.network());
                ips.insert(c.net.broadcast());
                ips.extend(c.except.iter().map(|e| e.network()));
            }
        }
    }
    for ip in ips {
        out.push((Endpoint::Net(CidrBlock { net: ip.into(), except: Vec::new() }), Node::Ip(ip)));
    }
    out
}

/// Every port a rule mentions, its neighbours, and a few others, per protocol.
fn probes(p: &Program) -> Vec<(Protocol, u16)> {
    let mut ports: BTreeSet<u16> = BTreeSet::from([1, 53, 80, 443, 65535]);
    for rule in &p.rules {
        if let Ports::Some(list) = &rule.ports {
            for r in list {
                match r.port {
                    PortMatch::Single(x) => {
                        ports.extend([x.saturating_sub(1).max(1), x, x.saturating_add(1)])
                    }
                    PortMatch::Range(a, b) => {
                        ports.extend([a.saturating_sub(1).max(1), a, b, b.saturating_add(1)])
                    }
                    PortMatch::All | PortMatch::Named(_) => {}
                }
            }
        }
    }
    Protocol::ALL.iter().flat_map(|proto| ports.iter().map(move |port| (*proto, *port))).collect()
}

fn assert_same_meaning(name: &str, c: &netpol::driver::Compilation, program: &Program) {
    let policies: Vec<Value> = c.outputs[0].1.iter().map(|o| o.body()).collect();
    let reach = Reach::new(program);
    let eps = endpoints(program);
    let probes = probes(program);
    let mut checked = 0;
    for (src_ep, src) in &eps {
        for (dst_ep, dst) in &eps {
            if matches!((src, dst), (Node::Ip(_), Node::Ip(_))) {
                continue;
            }
            let ir = reach.allowed(src_ep, dst_ep).certain;
            for &(proto, port) in &probes {
                let k8s = side_allows(&policies, src, "egress", dst, proto, port)
                    && side_allows(&policies, dst, "ingress", src, proto, port);
                assert_eq!(k8s, ir.contains(proto, port), "{name}: {src:?} -> {dst:?} {proto:?}/{port}");
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn every_example_means_the_same_in_kubernetes_as_in_the_source() {
    for path in examples() {
        let options =
            Options { overrides: Vec::new(), targets: vec![Target::Kubernetes], ..Options::default() };
        let c = compile(std::slice::from_ref(&path), &DiskLoader, &options);
        if c.has_errors() {
            continue; // examples a target rejects are covered by examples.rs
        }
        let program = program_of(&path, &[]);
        assert_same_meaning(&path, &c, &program);
    }
}

#[test]
fn parameters_and_conditions_keep_the_same_meaning() {
    let path = "examples/event-streams.netpol";
    let sets = [("master-host".to_string(), "192.168.7.0/24".to_string())];
    let c = compile(
        &[path.to_string()],
        &DiskLoader,
        &Options { overrides: sets.to_vec(), targets: vec![Target::Kubernetes], ..Options::default() },
    );
    assert!(!c.has_errors(), "{}", render(&c));
    assert_same_meaning(path, &c, &program_of(path, &sets));
}

/// The IR of a file, through the public pipeline stages.
fn program_of(path: &str, sets: &[(String, String)]) -> Program {
    let text = std::fs::read_to_string(root().join(path)).expect("read");
    let mut sources = netpol::span::SourceMap::new();
    let file = sources.add(path, text);
    let ast = netpol::syntax::parse(file, sources.text(file)).expect("parses");
    let mut overrides = Vec::new();
    let cmd =
        sources.add("<command line>", sets.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>());
    let mut at = 0;
    for (k, v) in sets {
        let span = |a: usize, b: usize| netpol::span::Span::new(cmd, a, b);
        overrides.push(netpol::resolve::Override {
            name: netpol::span::Spanned::new(k.clone(), span(at, at + k.len())),
            value: netpol::span::Spanned::new(v.clone(), span(at + k.len() + 1, at + k.len() + 1 + v.len())),
        });
        at += k.len() + v.len() + 2;
    }
    netpol::resolve::resolve(&sources, &[(file, ast)], &overrides).expect("resolves").program
}
