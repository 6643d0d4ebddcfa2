//! The synthetic program the benchmarks compile and analyze: `workloads` workloads over
//! namespace blocks, ≈10 rules each (see [`generate`]). Shared by `benches/compile.rs` and
//! `benches/matrix.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const SEED: u64 = 0x6e65_7470_6f6c;
pub const WORKLOADS_PER_NAMESPACE: usize = 100;

pub fn namespaces_for(workloads: usize) -> usize {
    workloads.div_ceil(WORKLOADS_PER_NAMESPACE).max(1)
}

/// A tiny deterministic generator (Knuth's MMIX LCG; the high bits are the good ones).
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What a workload listens on; an edge picks one of these on its target, and both the
/// `connects` of the source and the `accepts` of the target are written with it.
fn listen_spec(target: usize, kind: usize) -> String {
    match kind {
        0 => format!("tcp {}", 5000 + target % 1000),
        1 => "tcp 9090, 9100".to_string(),
        2 => "tcp 8000-8100".to_string(),
        _ => "udp 7000-7010 and tcp 7443".to_string(),
    }
}
const LISTEN_KINDS: usize = 4;

const TIERS: [&str; 4] = ["frontend", "backend", "data", "batch"];

/// A valid program of `workloads` workloads spread over `namespaces` namespace blocks, ≈10 rules
/// per workload: connections between workloads written on both sides (so the checker's
/// cross-side warnings stay quiet), in and across namespaces, with port lists, ranges and
/// several protocols; one-sided rules towards CIDRs (with `except`) and `anywhere`; and a
/// `connects to kube-dns` per workload.
pub fn generate(workloads: usize, namespaces: usize, seed: u64) -> String {
    let namespaces = namespaces.clamp(1, workloads.max(1));
    let mut rng = Lcg::new(seed);
    let ns_of = |w: usize| w * namespaces / workloads;
    // Workloads of namespace k: first_of(k)..first_of(k + 1).
    let first_of = |k: usize| (k * workloads).div_ceil(namespaces);
    let name = |w: usize| format!("w-{w}");
    // How `w` is written from inside namespace `from`.
    let reference = |from: usize, w: usize| {
        if ns_of(w) == from {
            name(w)
        } else {
            format!("ns-{}/w-{w}", ns_of(w))
        }
    };

    // Rule lines per subject workload, written in the subject's namespace block.
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(workloads);
    // Incoming edges per target: listen kind → sources.
    let mut incoming: Vec<BTreeMap<usize, Vec<usize>>> = vec![BTreeMap::new(); workloads];

    for a in 0..workloads {
        let mut mine = Vec::new();
        let ns = ns_of(a);
        let (lo, hi) = (first_of(ns), first_of(ns + 1));
        // Outgoing connections: two in the namespace, one across (when there is another).
        let mut targets: Vec<usize> = Vec::new();
        let mut pick = |rng: &mut Lcg, same: bool| -> Option<usize> {
            for _ in 0..8 {
                let b = if same { lo + rng.below(hi - lo) } else { rng.below(workloads) };
                if b != a && !targets.contains(&b) && (same || ns_of(b) != ns) {
                    targets.push(b);
                    return Some(b);
                }
            }
            None
        };
        let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for same in [true, true, false] {
            if !same && namespaces == 1 {
                continue;
            }
            if let Some(b) = pick(&mut rng, same) {
                let kind = rng.below(LISTEN_KINDS);
                out.entry(kind).or_default().push(b);
                incoming[b].entry(kind).or_default().push(a);
            }
        }
        // One line per listen kind, with every target of that kind as a peer list.
        for (kind, bs) in &out {
            let peers: Vec<String> = bs.iter().map(|&b| reference(ns, b)).collect();
            let spec = bs.iter().map(|&b| listen_spec(b, *kind)).collect::<Vec<_>>();
            // Kind 0 is per-target (each target's own port), so it gets one line per target.
            if *kind == 0 {
                for (p, s) in peers.iter().zip(&spec) {
                    mine.push(format!("{} connects to {p} on {s}", name(a)));
                }
            } else {
                mine.push(format!("{} connects to {} on {}", name(a), peers.join(", "), spec[0]));
            }
        }
        // An edge writes both sides at once; mostly within the namespace, sometimes across.
        let cross = namespaces > 1 && rng.chance(20);
        let pick_edge = if cross { pick(&mut rng, false) } else { pick(&mut rng, true) };
        if let Some(c) = pick_edge {
            let reason = if rng.chance(50) { "   \"cache\"" } else { "" };
            mine.push(format!("{} -> {} on tcp 6379{reason}", name(a), reference(ns, c)));
        }
        // One-sided rules: addresses and `anywhere`, which the cross-side check does not follow.
        let (x, y) = (a / 250 % 256, a % 250);
        mine.push(format!(
            "{} accepts tcp 443, 8443 from 10.{x}.{y}.0/24 except 10.{x}.{y}.128/25   \"office network\"",
            name(a)
        ));
        mine.push(format!("{} connects to 172.{}.{y}.0/24 on tcp 443 and udp 514", name(a), 16 + x % 16));
        if a % 4 == 0 {
            mine.push(format!("{} accepts tcp 80 from anywhere   \"public\"", name(a)));
        }
        if a % 5 == 0 {
            mine.push(format!("{} connects to anywhere on tcp 443", name(a)));
        }
        if a % 3 == 0 {
            mine.push(format!("{} accepts udp 53 from 192.168.{}.0/24", name(a), a % 256));
        }
        mine.push(format!("{} connects to kube-dns", name(a)));
        lines.push(mine);
    }

    // The accepting side of every connection, grouped by port spec, peers in a list.
    for (b, by_kind) in incoming.iter().enumerate() {
        let ns = ns_of(b);
        for (kind, sources) in by_kind {
            let peers: Vec<String> = sources.iter().map(|&a| reference(ns, a)).collect();
            let reason =
                if kind % 2 == 0 { format!("   \"from {} peers\"", peers.len()) } else { String::new() };
            lines[b].push(format!(
                "{} accepts {} from {}{reason}",
                name(b),
                listen_spec(b, *kind),
                peers.join(", ")
            ));
        }
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Generated by benches/compile.rs: {workloads} workloads, {namespaces} namespaces, seed {seed}."
    );
    for k in 0..namespaces {
        let _ = writeln!(text, "\nnamespace ns-{k} {{");
        for w in first_of(k)..first_of(k + 1) {
            let _ = writeln!(
                text,
                "  workload {} {{ app: {}, tier: {} }}",
                name(w),
                name(w),
                TIERS[w % TIERS.len()]
            );
        }
        for own in &lines[first_of(k)..first_of(k + 1)] {
            text.push('\n');
            for line in own {
                let _ = writeln!(text, "  {line}");
            }
        }
        text.push_str("}\n");
    }
    text
}
