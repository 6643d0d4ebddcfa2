//! Random `.netpol` programs for property tests: two namespaces `a` and `b` with workloads
//! `w0…` whose selectors overlap, a namespace set, a group per namespace, and rules of every
//! kind (ingress, egress, deny, edges) with peers of every kind (workloads across namespaces,
//! namespaces, the set, a workload's pods in the set's namespaces, groups, IPv4 and IPv6
//! networks with exceptions, built-in peers), ports of every shape (lists, ranges, named ports,
//! several protocols, a whole protocol) and reasons. [`Shape`] adds what only some tests want.

use proptest::prelude::*;

pub const NAMESPACES: [&str; 2] = ["a", "b"];

/// Optional parts of a generated program.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    /// `param mesh: bool = false` and an `if mesh { … } else { … }` block in namespace `a`.
    pub conditional: bool,
    /// `expect w0 can reach kube-dns on udp 53` in each namespace, after the rule that allows
    /// it (without `denies`, nothing can take that away).
    pub expects: bool,
    /// A `default deny` or `w0 accepts nothing` in some namespaces.
    pub isolation: bool,
    /// Deny rules (`refuses`, `never connects to`), which only some targets express.
    pub denies: bool,
}

pub fn selector() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..4u8).prop_map(|i| format!("app: w{i}")),
        1 => (0..4u8).prop_map(|i| format!("app: w{i}, tier: front")),
        1 => Just("tier in (front, back)".to_string()),
        1 => Just("tier: back, canary notin (yes, maybe)".to_string()),
        1 => Just("tier exists".to_string()),
        1 => Just("tier exists, !legacy".to_string()),
    ]
}

/// ` on PORTS`, or nothing (every port).
pub fn ports() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" on tcp 80".to_string()),
        Just(" on tcp 8000-8100".to_string()),
        Just(" on tcp 80, 443 and udp 53".to_string()),
        Just(" on tcp http".to_string()),
        Just(" on tcp http, 8080".to_string()),
        Just(" on sctp 9000".to_string()),
        Just(" on udp".to_string()),
    ]
}

/// A peer, written from inside either namespace of `workloads` workloads per namespace.
pub fn peer(workloads: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0..workloads, 0..2usize).prop_map(|(w, k)| format!("{}/w{w}", NAMESPACES[k])),
        1 => (0..2usize).prop_map(|k| format!("namespace {}", NAMESPACES[k])),
        1 => (0..2usize).prop_map(|k| format!("all-{}", NAMESPACES[k])),
        1 => Just("team-ns".to_string()),
        1 => (0..workloads).prop_map(|w| format!("w{w} in team-ns")),
        1 => Just("cluster".to_string()),
        1 => Just("anywhere".to_string()),
        1 => Just("world".to_string()),
        1 => Just("kube-dns".to_string()),
        1 => Just("kube-apiserver".to_string()),
        1 => Just("10.0.0.0/8 except 10.1.0.0/16".to_string()),
        1 => Just("10.0.0.0/8 except (10.1.0.0/16, 10.2.0.0/16)".to_string()),
        1 => Just("192.168.1.0/24".to_string()),
        1 => Just("fd00:10::/32 except fd00:10:99::/48".to_string()),
    ]
}

/// One rule of workload `w0…` of the namespace it is written in, with an optional reason;
/// without `denies`, allow rules only.
pub fn rule(workloads: usize, denies: bool) -> impl Strategy<Value = String> {
    let reason = prop_oneof![3 => Just(""), 1 => Just(" \"why # not a comment\""), 1 => Just(" \"plain\"")];
    (0..workloads, 0..7u8, prop::collection::vec(peer(workloads), 1..4), ports(), reason).prop_map(
        move |(w, kind, peers, ports, reason)| {
            let kind = match kind {
                4 if !denies => 0,
                5 if !denies => 2,
                k => k,
            };
            let peers = peers.join(", ");
            let port_words = ports.trim_start().trim_start_matches("on ").to_string();
            let rule =
                match kind {
                    0 | 1 => format!("w{w} accepts {port_words} from {peers}")
                        .replace("accepts  from", "accepts from"),
                    2 | 3 => format!("w{w} connects to {peers}{ports}"),
                    4 => format!("w{w} refuses {port_words} from {peers}")
                        .replace("refuses  from", "refuses from"),
                    5 => format!("w{w} never connects to {peers}{ports}"),
                    _ => format!("w{w} -> {peers}{ports}"),
                };
            format!("{rule}{reason}")
        },
    )
}

pub fn program(shape: Shape) -> impl Strategy<Value = String> {
    (2..4usize)
        .prop_flat_map(move |n| {
            (
                Just(n),
                prop::collection::vec(selector(), n * 2),
                prop::collection::vec(rule(n, shape.denies), 1..8),
                prop::collection::vec(rule(n, shape.denies), 0..6),
                prop::collection::vec(rule(n, shape.denies), 0..3),
                prop::collection::vec(0..6u8, 2),
            )
        })
        .prop_map(move |(n, selectors, rules_a, rules_b, conditional, extras)| {
            let mut text = String::new();
            if shape.conditional {
                text.push_str("param mesh: bool = false\n");
            }
            text.push_str("namespaces team-ns { kubernetes.io/metadata.name in (b, other) }\n");
            for (k, ns) in NAMESPACES.iter().enumerate() {
                text.push_str(&format!("namespace {ns} {{\n"));
                for w in 0..n {
                    text.push_str(&format!("  workload w{w} {{ {} }}\n", selectors[k * n + w]));
                }
                let members: Vec<String> = (0..n).map(|w| format!("w{w}")).collect();
                text.push_str(&format!("  group all-{ns} = {}\n", members.join(", ")));
                for r in if k == 0 { &rules_a } else { &rules_b } {
                    text.push_str(&format!("  {r}\n"));
                }
                if shape.conditional && k == 0 && !conditional.is_empty() {
                    text.push_str("  if mesh {\n");
                    for r in &conditional {
                        text.push_str(&format!("    {r}\n"));
                    }
                    text.push_str("  } else {\n    w0 connects to kube-dns\n  }\n");
                }
                if shape.isolation {
                    match extras[k] {
                        0 => text.push_str("  default deny ingress\n"),
                        1 => text.push_str("  default deny egress\n"),
                        2 => text.push_str("  w0 accepts nothing\n"),
                        _ => {}
                    }
                }
                if shape.expects {
                    text.push_str(
                        "  w0 connects to kube-dns on udp 53\n  expect w0 can reach kube-dns on udp 53\n",
                    );
                }
                text.push_str("}\n");
            }
            text
        })
}
