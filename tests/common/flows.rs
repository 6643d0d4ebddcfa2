//! Recorded flows as `hubble observe -o jsonpb` writes them, one JSON line each, for the
//! `replay` and `learn` tests.

use serde_json::{json, Value};

/// An end of a flow: a pod (namespace, name, labels as `key=value`, and the workload the flow
/// names, `Kind/name`, or ""), or an address outside the cluster (`reserved:world`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At<'a> {
    Pod(&'a str, &'a str, &'a [&'a str]),
    PodOf(&'a str, &'a str, &'a [&'a str], &'a str),
    World(&'a str),
}

pub fn endpoint(at: At) -> Value {
    match at {
        At::Pod(ns, name, labels) => endpoint(At::PodOf(ns, name, labels, "")),
        At::PodOf(ns, name, labels, workload) => {
            let mut l: Vec<String> = labels.iter().map(|l| format!("k8s:{l}")).collect();
            l.push(format!("k8s:io.kubernetes.pod.namespace={ns}"));
            let mut e = json!({"namespace": ns, "pod_name": name, "labels": l});
            if let Some((kind, name)) = workload.split_once('/') {
                e["workloads"] = json!([{"name": name, "kind": kind}]);
            }
            e
        }
        At::World(_) => json!({"labels": ["reserved:world"]}),
    }
}

fn address(at: At) -> String {
    match at {
        At::World(ip) => ip.to_string(),
        At::Pod(_, name, _) | At::PodOf(_, name, _, _) => {
            // A stable made-up pod address.
            let h = name.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            format!("10.{}.{}.{}", 1 + h % 200, (h >> 8) % 250, 1 + (h >> 16) % 250)
        }
    }
}

/// One flow line: `proto` is `TCP`, `UDP`, `SCTP` or `ICMPv4` (an echo request).
pub fn flow(from: At, to: At, proto: &str, port: u16, verdict: &str) -> String {
    let l4 = match proto {
        "ICMPv4" => json!({"ICMPv4": {"type": 8}}),
        "TCP" => json!({"TCP": {"source_port": 40000, "destination_port": port, "flags": {"SYN": true}}}),
        p => json!({ p: {"source_port": 40000, "destination_port": port} }),
    };
    line(from, to, l4, false, verdict)
}

pub fn line(from: At, to: At, l4: Value, is_reply: bool, verdict: &str) -> String {
    let f = json!({
        "time": "2026-12-01T10:00:00Z",
        "verdict": verdict,
        "IP": {"source": address(from), "destination": address(to), "ipVersion": "IPv4"},
        "l4": l4,
        "source": endpoint(from),
        "destination": endpoint(to),
        "traffic_direction": "EGRESS",
        "is_reply": is_reply,
    });
    format!("{}\n", json!({ "flow": f, "node_name": "worker-1" }))
}

/// The reply to a TCP connection (SYN+ACK from the server): never judged.
pub fn reply(from: At, to: At, port: u16) -> String {
    let l4 =
        json!({"TCP": {"source_port": port, "destination_port": 40000, "flags": {"SYN": true, "ACK": true}}});
    line(to, from, l4, true, "FORWARDED")
}
