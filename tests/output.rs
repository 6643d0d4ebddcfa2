//! `compile -o DIR` never loses a file: it replaces and removes only what its manifest says it
//! wrote, never follows a link, refuses an empty result unless asked, and a run killed at any
//! moment leaves the old or the new set once settled (as the next run settles it).

mod common;

use common::{netpol, text, write};
use netpol::cli::output;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every regular file under `dir` (links not followed) with its content, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let p = e.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            let rel = p.strip_prefix(root).expect("under root").to_path_buf();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("-> {}", std::fs::read_link(&p).expect("link").display()));
            } else if meta.is_dir() {
                go(root, &p, out);
            } else {
                out.insert(rel, std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into()));
            }
        }
    }
    let mut out = BTreeMap::new();
    go(dir, dir, &mut out);
    out
}

/// The YAML files only.
fn yaml(dir: &Path) -> BTreeMap<PathBuf, String> {
    tree(dir).into_iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "yaml")).collect()
}

fn program(workloads: usize, port: u16) -> String {
    let mut s = String::from("namespace shop\n");
    for i in 0..workloads {
        s.push_str(&format!("workload w{i} {{ app: w{i} }}\nw{i} accepts tcp {port} from namespace shop\n"));
    }
    s
}

const TWO: &str =
    "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nweb -> db on tcp 5432\n";
const ONE: &str = "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from anywhere\n";

#[test]
fn an_input_that_yields_no_objects_never_empties_the_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", TWO);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let before = tree(&dir.path().join("out"));
    assert_eq!(yaml(&dir.path().join("out")).len(), 2);
    write(dir.path(), "empty.netpol", "# nothing yet\n");
    let out = netpol(&["compile", "empty.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--allow-empty"), "{}", text(&out.stderr));
    assert_eq!(tree(&dir.path().join("out")), before);
    // Asked for, an empty program empties the folder of netpol's files only.
    write(dir.path(), "out/notes.yaml", "mine: true\n");
    let out = netpol(&["compile", "empty.netpol", "-o", "out", "--allow-empty"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("removed 2"), "{}", text(&out.stderr));
    assert_eq!(
        yaml(&dir.path().join("out")).into_keys().collect::<Vec<_>>(),
        vec![PathBuf::from("notes.yaml")]
    );
    // A missing folder with an empty program: created, with its (empty) manifest.
    let out = netpol(&["compile", "empty.netpol", "-o", "fresh/out", "--allow-empty"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("fresh/out/.netpol-manifest").is_file());
}

#[test]
fn files_netpol_did_not_write_are_never_removed_or_overwritten() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", TWO);
    // The user's own manifests, one mentioning netpol's label, one at a path netpol wants.
    let labelled = "# app.kubernetes.io/managed-by: netpol\nkind: Deployment\n";
    write(dir.path(), "out/shop/deployment.yaml", labelled);
    write(dir.path(), "out/shop/networkpolicy-db.yaml", "kind: mine\n");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("shop/networkpolicy-db.yaml: exists, and netpol did not write it"), "{err}");
    // Nothing written: not even the file that had no conflict.
    assert!(!dir.path().join("out/shop/networkpolicy-web.yaml").exists());
    assert!(!dir.path().join("out/.netpol-manifest").exists());
    std::fs::remove_file(dir.path().join("out/shop/networkpolicy-db.yaml")).expect("rm");
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    // The program shrinks: netpol's db policy goes, the user's labelled file stays.
    write(dir.path(), "p.netpol", ONE);
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.path().join("out/shop/networkpolicy-db.yaml").exists());
    assert_eq!(std::fs::read_to_string(dir.path().join("out/shop/deployment.yaml")).expect("read"), labelled);
    // A file netpol wrote but someone changed since: never overwritten, never removed.
    write(dir.path(), "out/shop/networkpolicy-web.yaml", "edited: true\n");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("changed since netpol wrote it"), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/shop/networkpolicy-web.yaml")).expect("read"),
        "edited: true\n"
    );
}

#[test]
fn links_in_the_output_folder_are_never_followed() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", TWO);
    // Another project's output, with files of the same names and netpol's label.
    let other = dir.path().join("other");
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "other"], dir.path()).status.code(), Some(0));
    let other_before = tree(&other);
    // `out/shop` is a link to it: netpol refuses to write through it.
    std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
    std::os::unix::fs::symlink(other.join("shop"), dir.path().join("out/shop")).expect("link");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("never writes through links"), "{}", text(&out.stderr));
    assert_eq!(tree(&other), other_before);
    // A link to `.` and one to the other project inside the folder: left alone, run after run.
    std::fs::remove_file(dir.path().join("out/shop")).expect("rm");
    std::os::unix::fs::symlink(".", dir.path().join("out/self")).expect("link");
    std::os::unix::fs::symlink(&other, dir.path().join("out/elsewhere")).expect("link");
    for program in [TWO, ONE, TWO] {
        write(dir.path(), "p.netpol", program);
        let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(dir.path().join("out/shop/networkpolicy-web.yaml").is_file());
    }
    assert_eq!(tree(&other), other_before);
    // A link planted where netpol will write a file: refused, its target untouched.
    write(dir.path(), "secret", "do not touch\n");
    std::fs::remove_file(dir.path().join("out/shop/networkpolicy-db.yaml")).expect("rm");
    std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("out/shop/networkpolicy-db.yaml"))
        .expect("link");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is a symbolic link"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("secret")).expect("read"), "do not touch\n");
}

#[test]
fn a_run_prints_what_it_did_and_a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", TWO);
    let out = netpol(&["compile", "p.netpol", "-o", "out", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("write     shop/networkpolicy-web.yaml"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("would write 2, unchanged 0, would remove 0 in out"));
    assert!(!dir.path().join("out").exists());
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert!(text(&out.stderr).contains("wrote 2, unchanged 0, removed 0 in out"), "{}", text(&out.stderr));
    write(dir.path(), "p.netpol", ONE);
    let before = tree(&dir.path().join("out"));
    let out = netpol(&["compile", "p.netpol", "-o", "out", "--dry-run"], dir.path());
    assert_eq!(
        text(&out.stdout),
        "write     shop/networkpolicy-web.yaml\nremove    shop/networkpolicy-db.yaml\n"
    );
    assert_eq!(tree(&dir.path().join("out")), before);
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert!(text(&out.stderr).contains("wrote 1, unchanged 0, removed 1 in out"), "{}", text(&out.stderr));
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert!(text(&out.stderr).contains("wrote 0, unchanged 1, removed 0 in out"), "{}", text(&out.stderr));
    // No temporary file, backup or journal is left behind.
    let names: Vec<_> = tree(&dir.path().join("out")).into_keys().collect();
    assert_eq!(names, vec![PathBuf::from(".netpol-manifest"), PathBuf::from("shop/networkpolicy-web.yaml")]);
}

#[test]
fn a_folder_in_the_way_fails_the_run_before_anything_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", ONE);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let before = tree(&dir.path().join("out"));
    std::fs::create_dir_all(dir.path().join("out/shop/networkpolicy-db.yaml")).expect("mkdir");
    write(dir.path(), "p.netpol", &TWO.replace("5432", "5433"));
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("is a folder"), "{}", text(&out.stderr));
    assert_eq!(tree(&dir.path().join("out")), before);
}

#[test]
fn a_second_run_on_the_same_folder_waits_its_turn() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", ONE);
    std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
    let held = std::fs::File::open(dir.path().join("out")).expect("open");
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).expect("lock");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("another netpol run is writing"), "{}", text(&out.stderr));
    drop(held);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
}

#[test]
fn an_older_folder_without_a_manifest_is_adopted_only_where_the_bytes_agree() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", TWO);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    std::fs::remove_file(dir.path().join("out/.netpol-manifest")).expect("rm");
    let out = netpol(&["compile", "p.netpol", "-o", "out"], dir.path());
    assert!(text(&out.stderr).contains("wrote 0, unchanged 2"), "{}", text(&out.stderr));
    assert!(dir.path().join("out/.netpol-manifest").is_file());
}

/// Kills `compile -o` at random moments between two programs of 200 and 150 objects; after each
/// kill the folder, once settled as the next run settles it, holds exactly the old or the new
/// set, and nothing of netpol's own is left behind.
#[test]
fn a_kill_at_any_moment_leaves_the_old_or_the_new_set() {
    let dir = tempfile::tempdir().expect("tmp");
    let programs = [program(200, 80), program(150, 81)];
    let mut sets = Vec::new();
    for (i, p) in programs.iter().enumerate() {
        write(dir.path(), &format!("p{i}.netpol"), p);
        let reference = format!("ref{i}");
        assert_eq!(
            netpol(&["compile", &format!("p{i}.netpol"), "-o", &reference], dir.path()).status.code(),
            Some(0)
        );
        sets.push(yaml(&dir.path().join(reference)));
    }
    assert_ne!(sets[0], sets[1]);
    let out = dir.path().join("out");
    assert_eq!(netpol(&["compile", "p0.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    // How long compiling and planning take, and a whole run, to aim the kills at the writing.
    let start = std::time::Instant::now();
    assert_eq!(
        netpol(&["compile", "p1.netpol", "-o", "out", "--dry-run"], dir.path()).status.code(),
        Some(0)
    );
    let plan = start.elapsed().as_micros() as u64;
    let start = std::time::Instant::now();
    assert_eq!(netpol(&["compile", "p1.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let whole = start.elapsed().as_micros() as u64;
    let (first, span) = (plan * 6 / 10, (whole * 12 / 10).saturating_sub(plan * 6 / 10).max(1000));
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let (mut interrupted, mut settled_old, mut settled_new) = (0, 0, 0);
    for round in 0..30 {
        let from = yaml(&out);
        let to = &sets[round % 2];
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_micros(first + seed % span);
        let mut child = Command::new(env!("CARGO_BIN_EXE_netpol"))
            .args(["compile", &format!("p{}.netpol", round % 2), "-o", "out"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        if out.join(".netpol-journal").exists() {
            interrupted += 1;
        }
        output::recover(&out).expect("settle");
        let now = yaml(&out);
        if now == from {
            settled_old += 1;
        } else if now == *to {
            settled_new += 1;
        } else {
            panic!("round {round}: after a kill at {delay:?} the folder is neither the old nor the new set");
        }
        let leftovers: Vec<_> = tree(&out)
            .into_keys()
            .filter(|p| p.to_string_lossy().contains(".netpol-") && !p.ends_with(".netpol-manifest"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    eprintln!("30 kills: {interrupted} mid-write, {settled_old} settled old, {settled_new} settled new");
}

/// A write that fails half-way (here the file size limit, as a full disk would) rolls back:
/// the folder keeps exactly its old files, with no temporary file, empty or not, left.
#[test]
fn a_write_that_fails_half_way_rolls_back() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "p.netpol", ONE);
    assert_eq!(netpol(&["compile", "p.netpol", "-o", "out"], dir.path()).status.code(), Some(0));
    let before = tree(&dir.path().join("out"));
    // Three objects; the last in write order carries a 4 KiB reason, past a 2 KiB limit.
    let reason = "x".repeat(4096);
    write(
        dir.path(),
        "p.netpol",
        &format!(
            "{}workload zz {{ app: zz }}\nzz accepts tcp 443 from web \"{reason}\"\n",
            TWO.replace("5432", "5433")
        ),
    );
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 2; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_netpol"))
        .args(["compile", "p.netpol", "-o", "out"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run netpol");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("File too large"), "{}", text(&out.stderr));
    assert_eq!(tree(&dir.path().join("out")), before);
}
