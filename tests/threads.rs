//! Output does not depend on the number of threads, and stays byte-identical to what netpol
//! wrote when these hashes were taken (the three CNI targets' hashes are those of netpol before
//! `NETPOL_THREADS` and `kubernetes-cnp` existed): the benchmark's program (`benches/gen`, 1,250
//! workloads over 13 namespaces) compiled for every target under `NETPOL_THREADS` of 1, 3 and
//! 16, and `verify`'s report on it under 1 and 16. A change that means to alter the output updates the hashes in the
//! same commit, and says why.

mod common;

#[path = "../benches/gen/mod.rs"]
#[allow(dead_code)]
mod gen;

use common::*;
use netpol::backend::Target;
use sha2::{Digest, Sha256};

/// SHA-256 of `netpol compile gen.netpol -t TARGET` at 1,250 workloads.
const COMPILED: [(&str, &str); 4] = [
    ("kubernetes", "bf958297952dde2954d87bc7642a69cbbdf839b3c989a4ce6daedbba11921b03"),
    ("cilium", "c3d715de0b3cc1ba76862bd178061e8bc32d094183973f0448f0fef1492ed3d9"),
    ("calico", "8a12d4d4af97464117ac44d5f0c3d09bdc57a9c3c09f8571c6f8514045c83533"),
    // No deny rules in the program: the same NetworkPolicies as `kubernetes`.
    ("kubernetes-cnp", "bf958297952dde2954d87bc7642a69cbbdf839b3c989a4ce6daedbba11921b03"),
];

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(args: &[&str], dir: &std::path::Path, threads: usize) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .current_dir(dir)
        .env("NETPOL_THREADS", threads.to_string())
        .env("NO_COLOR", "1")
        .output()
        .expect("run netpol")
}

#[test]
fn output_is_the_same_under_any_thread_count_and_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workloads = 1250;
    write(dir.path(), "gen.netpol", &gen::generate(workloads, gen::namespaces_for(workloads), gen::SEED));
    let mut got = Vec::new();
    for target in Target::EVERY {
        let mut outputs = Vec::new();
        for threads in [1, 3, 16] {
            let out = run(&["compile", "gen.netpol", "-t", target.name()], dir.path(), threads);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} with {threads} threads: {}",
                target.name(),
                text(&out.stderr)
            );
            outputs.push((threads, sha256(&out.stdout), out.stdout.len()));
        }
        for (threads, hash, _) in &outputs[1..] {
            assert_eq!(
                hash,
                &outputs[0].1,
                "{} with {threads} threads differs from one thread",
                target.name()
            );
        }
        assert!(outputs[0].2 > 1_000_000, "{}: {} bytes", target.name(), outputs[0].2);
        got.push((target.name(), outputs[0].1.clone()));
    }
    let expected: Vec<(&str, String)> = COMPILED.iter().map(|(t, h)| (*t, h.to_string())).collect();
    assert_eq!(got, expected, "the compiled output changed");

    let reports: Vec<Vec<u8>> = [1, 16]
        .iter()
        .map(|&threads| {
            let out = run(&["verify", "gen.netpol", "-t", "all"], dir.path(), threads);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            out.stdout
        })
        .collect();
    assert!(reports.windows(2).all(|w| w[0] == w[1]), "verify's report depends on the threads");
}

#[test]
fn a_bad_thread_count_is_one_per_core() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.netpol", "namespace n\nworkload w { app: w }\nw accepts tcp 80 from anywhere\n");
    let plain = netpol(&["compile", "a.netpol"], dir.path());
    for bad in ["0", "-1", "many", ""] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
            .args(["compile", "a.netpol"])
            .current_dir(dir.path())
            .env("NETPOL_THREADS", bad)
            .output()
            .expect("run");
        assert_eq!(out.stdout, plain.stdout, "NETPOL_THREADS={bad:?}");
        assert_eq!(out.status.code(), Some(0));
    }
}
