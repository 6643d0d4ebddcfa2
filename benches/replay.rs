//! `netpol replay` benchmark: a million generated Hubble flows (`hubble observe -o jsonpb`
//! lines) replayed against the 10,000-workload program (`benches/gen`), through the command
//! line as a user runs it: `netpol replay gen.netpol flows.json --format json`.
//!
//!     cargo bench --bench replay                        # 10,000 workloads; 100,000 and 1,000,000 flows
//!     NETPOL_BENCH_QUICK=1 cargo bench --bench replay   # 1,250 workloads; 2,000 and 20,000 flows (CI smoke run)
//!     NETPOL_BENCH_SIZE=5000 NETPOL_BENCH_FLOWS=300000 cargo bench --bench replay
//!
//! The flows are drawn from a fixed pool of distinct connections (pod to pod on the ports the
//! program names and on others, DNS lookups, addresses outside the cluster), each followed by
//! its reply half the time, so a tenth of the flows already holds nearly every connection:
//! memory must then stay the same from the smaller run to the larger, since the reader keeps
//! connections, not flows. Each run is a child process (this bench re-executed as `netpol`),
//! so its peak memory (`VmHWM`) is its own. Reported: the time of each run, the flows per
//! second between the two (the cost of a flow, without compiling the program), and both
//! peaks. Exits 1 when a run fails or finds nothing to drop (the numbers would mean nothing).

mod gen;

/// The allocator the `netpol` binary uses (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

const CHILD: &str = "NETPOL_BENCH_REPLAY_CHILD";
const PEAK_TAG: &str = "netpol-bench-peak-kb";

fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A pod of the generated program: workload `w`, one of its two pods.
fn pod(w: usize, i: usize, workloads: usize, namespaces: usize) -> String {
    let ns = w * namespaces / workloads;
    let tier = ["frontend", "backend", "data", "batch"][w % 4];
    format!(
        r#"{{"namespace":"ns-{ns}","pod_name":"w-{w}-5d8f9-{i}","labels":["k8s:app=w-{w}","k8s:tier={tier}","k8s:pod-template-hash=5d8f9","k8s:io.kubernetes.pod.namespace=ns-{ns}"],"workloads":[{{"name":"w-{w}","kind":"Deployment"}}]}}"#
    )
}

/// Writes `flows` lines to `path`, drawn from a pool of `pool` distinct connections.
fn write_flows(
    path: &Path,
    flows: usize,
    pool: usize,
    workloads: usize,
    namespaces: usize,
) -> std::io::Result<()> {
    let mut rng = Lcg(0x7265_706c_6179);
    // The pool: (from, to, protocol, port), as JSON pieces.
    let dns = r#"{"namespace":"kube-system","pod_name":"coredns-0","labels":["k8s:k8s-app=kube-dns","k8s:io.kubernetes.pod.namespace=kube-system"]}"#;
    let conns: Vec<(String, String, &str, u16, &str)> = (0..pool)
        .map(|_| {
            let a = rng.below(workloads);
            let from = pod(a, rng.below(2), workloads, namespaces);
            match rng.below(10) {
                0 => (from, dns.to_string(), "UDP", 53, "10.96.0.10"),
                1 => (from, r#"{"labels":["reserved:world"]}"#.to_string(), "TCP", 443, "203.0.113.9"),
                _ => {
                    let b = rng.below(workloads);
                    let port = [6379, 5000 + (b % 1000) as u16, 9090, 8050, 7443, 22][rng.below(6)];
                    (from, pod(b, rng.below(2), workloads, namespaces), "TCP", port, "10.2.0.2")
                }
            }
        })
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0;
    while written < flows {
        let (from, to, proto, port, ip) = &conns[rng.below(conns.len())];
        writeln!(
            out,
            r#"{{"flow":{{"time":"2026-12-01T10:00:00Z","verdict":"FORWARDED","IP":{{"source":"10.1.0.1","destination":"{ip}"}},"l4":{{"{proto}":{{"source_port":40000,"destination_port":{port}}}}},"source":{from},"destination":{to},"traffic_direction":"EGRESS","is_reply":false}},"node_name":"worker-1"}}"#
        )?;
        written += 1;
        if written < flows && *proto == "TCP" && rng.below(2) == 0 {
            writeln!(
                out,
                r#"{{"flow":{{"time":"2026-12-01T10:00:00Z","verdict":"FORWARDED","IP":{{"source":"{ip}","destination":"10.1.0.1"}},"l4":{{"TCP":{{"source_port":{port},"destination_port":40000,"flags":{{"SYN":true,"ACK":true}}}}}},"source":{to},"destination":{from},"traffic_direction":"INGRESS","is_reply":true}},"node_name":"worker-1"}}"#
            )?;
            written += 1;
        }
    }
    out.flush()
}

/// One replay in a child process: (seconds, peak MB, the report).
fn replay(program: &Path, flows: &Path) -> Result<(f64, f64, serde_json::Value), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let out = Command::new(me)
        .args(["replay", &program.display().to_string(), &flows.display().to_string(), "--format", "json"])
        .env(CHILD, "1")
        .output()
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !matches!(out.status.code(), Some(0 | 1 | 4)) {
        return Err(format!("replay exited {:?}:\n{stderr}", out.status.code()));
    }
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix(PEAK_TAG)?.trim().parse::<f64>().ok())
        .ok_or("the child reported no peak")?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok((secs, peak / 1024.0, report))
}

fn main() -> ExitCode {
    netpol::alloc::tune();
    if std::env::var_os(CHILD).is_some() {
        // The child: `netpol` itself, then its peak.
        let code = netpol::cli::main();
        eprintln!("{PEAK_TAG} {}", peak_kb());
        return ExitCode::from(code as u8);
    }
    let quick = std::env::var("NETPOL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let number = |var: &str, default: usize| {
        std::env::var(var).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(default)
    };
    let workloads = number("NETPOL_BENCH_SIZE", if quick { 1250 } else { 10_000 });
    let flows = number("NETPOL_BENCH_FLOWS", if quick { 20_000 } else { 1_000_000 });
    let namespaces = gen::namespaces_for(workloads);
    let pool = (flows / 50).max(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("gen.netpol");
    std::fs::write(&program, gen::generate(workloads, namespaces, gen::SEED)).expect("write the program");
    println!("netpol replay benchmark: {workloads} workloads, flows from {pool} distinct connections");
    let mut runs = Vec::new();
    for n in [flows / 10, flows] {
        let path = dir.path().join(format!("flows-{n}.json"));
        let t = Instant::now();
        if let Err(e) = write_flows(&path, n, pool, workloads, namespaces) {
            eprintln!("cannot write the flows: {e}");
            return ExitCode::FAILURE;
        }
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("  generated {n} flows ({} MB) in {:.2?}", size >> 20, t.elapsed());
        let (secs, peak, report) = match replay(&program, &path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let count = |k: &str| report[k].as_u64().unwrap_or(0);
        println!(
            "  {n:>9} flows: {secs:>6.2} s, peak {peak:>6.0} MB; {} connections, {} allowed, {} dropped, {} possibly dropped flows",
            count("connections"),
            count("allowed_flows"),
            count("dropped_flows"),
            count("possibly_flows")
        );
        if count("dropped_flows") == 0 || count("allowed_flows") == 0 {
            eprintln!("the generated flows should be partly allowed, partly dropped");
            return ExitCode::FAILURE;
        }
        runs.push((n, secs, peak));
        let _ = std::fs::remove_file(&path);
    }
    let [(n0, t0, m0), (n1, t1, m1)] = runs[..] else { unreachable!("two runs") };
    let rate = (n1 - n0) as f64 / (t1 - t0).max(1e-9);
    println!(
        "  {:.0} flows/s beyond the first {n0} (the program compiled once per run); peak {m0:.0} MB → {m1:.0} MB ({:+.1}%)",
        rate,
        (m1 - m0) / m0 * 100.0
    );
    println!("  {n1} flows end to end: {t1:.2} s ({:.0} flows/s)", n1 as f64 / t1);
    if quick {
        println!("smoke run: not judged");
    }
    ExitCode::SUCCESS
}
