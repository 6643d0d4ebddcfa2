//! The differential test of netpol's reading of Kubernetes and Calico policies against IBM's
//! network-config-analyzer (NCA, `pip install network-config-analyzer==2.1.0`), an analyzer
//! nobody here wrote. The work is in `tests/nca/` (Python, beside NCA): `gen.py` draws a cluster
//! (namespaces, Pods, Deployments) and policies from a seed, `nca_matrix.py` asks NCA for its
//! connectivity map, `compare.py` compares it pair by pair with `netpol matrix POLICIES
//! --inventory INVENTORY --as csv`, `difftest.py` drives the seeds. A disagreement names the
//! seed, the pair and both answers; the seed's input files stay under
//! `target/tmp/nca/seed-N/`. NCA's own published cases (`tests/upstream/nca/`, see its README)
//! are compared the same way.
//!
//! Each input is also imported (`netpol import`), the imported source compiled back to the
//! input's dialect, and NCA asked again: its map of the compiled import must equal its map of
//! the originals (`difftest.py --import`), so the import's proof is judged by NCA too; of a
//! Calico input, the objects the import refuses are left out. The cluster example
//! (`examples/cluster`, Kubernetes and Calico) is one more case.
//!
//! Where python3 or NCA is missing the tests say `SKIPPED: ...` on stderr and pass, unless
//! `NETPOL_REQUIRE_NCA=1` (set by `.ci/run`, which installs NCA and names its Python in
//! `NETPOL_NCA_PYTHON`), where they fail.
//! `NETPOL_NCA_SEEDS=A:B` runs other seeds (A included, B not).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Seeds run by default: under a minute on two cores in a debug build.
const SEEDS: &str = "0:40";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A line the test harness does not capture, so a skip shows in `cargo test`'s output.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The Python that has NCA: `$NETPOL_NCA_PYTHON` (`.ci/run` installs NCA in a virtual
/// environment), else `python3`.
fn python() -> String {
    std::env::var("NETPOL_NCA_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Whether NCA can run here; when not, says SKIPPED (or fails, where it is required).
fn nca_available(test: &str) -> bool {
    let probe = Command::new(python()).args(["-c", "import nca, yaml; from nca import nca_cli"]).output();
    let why = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "network-config-analyzer is not installed for {} ({}); \
             `python3 -m pip install network-config-analyzer==2.1.0`",
            python(),
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").trim()
        ),
        Err(e) => format!("{} does not run here: {e}", python()),
    };
    if std::env::var("NETPOL_REQUIRE_NCA").as_deref() == Ok("1") {
        panic!("{test}: NETPOL_REQUIRE_NCA=1 but {why}");
    }
    say(&format!("SKIPPED: {test}: {why}"));
    false
}

fn out_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn difftest(args: &[&str]) -> (bool, String) {
    let out = Command::new(python())
        .arg(root().join("tests/nca/difftest.py"))
        .args(args)
        .output()
        .expect("run tests/nca/difftest.py");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// netpol's connectivity matrix over random Kubernetes and Calico policies and a random
/// inventory is NCA's: on every pair of inventory pods, what NCA allows is what netpol says is
/// possibly allowed (exactly, where no rule names an address block), and what netpol says is
/// certainly allowed NCA allows; likewise between pods and the addresses netpol names.
#[test]
fn netpol_reads_policies_as_nca_does() {
    if !nca_available("netpol_reads_policies_as_nca_does") {
        return;
    }
    let seeds = std::env::var("NETPOL_NCA_SEEDS").unwrap_or_else(|_| SEEDS.to_string());
    let out = out_dir("nca");
    let (ok, report) = difftest(&[
        "--netpol",
        env!("CARGO_BIN_EXE_netpol"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--seeds",
        &seeds,
        "--upstream",
        root().join("tests/upstream/nca").to_str().expect("utf-8 path"),
        "--import",
        "--case",
        root().join("examples/cluster/calico/policies.yaml").to_str().expect("utf-8 path"),
        root().join("examples/cluster/inventory.yaml").to_str().expect("utf-8 path"),
        "--case",
        root().join("examples/cluster/kubernetes/policies.yaml").to_str().expect("utf-8 path"),
        root().join("examples/cluster/inventory.yaml").to_str().expect("utf-8 path"),
    ]);
    for line in report.lines().rev().take(2).collect::<Vec<_>>().into_iter().rev() {
        say(line);
    }
    assert!(ok, "netpol and NCA disagree (inputs kept under {}):\n{report}", out.display());
    let imports = report.lines().find(|l| l.starts_with("imports: ")).expect("the imports' line");
    let judged: usize =
        imports["imports: ".len()..].split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(judged > 0, "no import was judged by NCA: {imports}");
}

/// The comparison itself: NCA's own answer, written as netpol's CSV, agrees; the same answer
/// with a port taken from a pair, or a pair added, does not.
#[test]
fn the_comparison_catches_disagreements() {
    if !nca_available("the_comparison_catches_disagreements") {
        return;
    }
    let out = out_dir("nca-self-test");
    let (ok, report) =
        difftest(&["--self-test", "--out", out.to_str().expect("utf-8 path"), "--seeds", "0:16"]);
    assert!(ok, "the comparison's self-test failed:\n{report}");
    assert!(report.contains("self-test: 16 seeds, 0 failures"), "{report}");
}
