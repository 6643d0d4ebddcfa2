//! How the real binary reads its inputs and writes on stdout: the walk below a directory
//! (symbolic links, cycles), special files and huge files as sources or imports, paths that
//! name no source, files that must never be quoted, and a closed stdout.
//!
//! Every run has a deadline, and the process is killed past it: a hang (a walk that never ends,
//! a read from a FIFO) fails the test instead of blocking the run.
#![cfg(unix)]

use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout and stderr together.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs netpol in `dir`, with a stdin that stays open (so that reading `/dev/stdin` would wait
/// for ever) and `stdout` as given (a pipe that is read, by default).
fn run_with(dir: &Path, args: &[&str], stdout: Option<Stdio>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(stdout.unwrap_or_else(Stdio::piped))
        .stderr(Stdio::piped())
        .spawn()
        .expect("run netpol");
    let stdin = child.stdin.take();
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`netpol {}` still runs after {DEADLINE:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(stdin);
    Run { code: status.code(), stdout: out.join().expect("stdout"), stderr: err.join().expect("stderr") }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    run_with(dir, args, None)
}

fn write(path: impl AsRef<Path>, body: &str) {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, body).expect("write");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// The codes of a `--format json` report.
fn codes(json: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().expect("code").to_string())
        .collect()
}

const SHOP: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nweb -> db on tcp 5432 \"queries\"\nweb connects to kube-dns\n";
const BILLING: &str = "namespace billing\nworkload api { app: api }\napi accepts tcp 443 from anywhere\n";

#[test]
fn links_back_into_the_folder_are_walked_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d.join("in/p.netpol"), SHOP);
    // Two links to the folder itself and one to its parent: before, the walk went down every
    // path of links until the system refused, 2^40 of them.
    symlink(".", d.join("in/a")).expect("link");
    symlink(".", d.join("in/b")).expect("link");
    write(d.join("in/sub/q.netpol"), BILLING);
    symlink("..", d.join("in/sub/up")).expect("link");
    let walked = run(d, &["compile", "in"]);
    assert_eq!(walked.code, Some(0), "{}", walked.stderr);
    let listed = run(d, &["compile", "in/p.netpol", "in/sub/q.netpol"]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(walked.stdout, listed.stdout, "each file once, named by its path without links");
}

#[test]
fn a_linked_folder_of_policies_is_part_of_the_program() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d.join("in/p.netpol"), SHOP);
    write(d.join("shared/billing.netpol"), BILLING);
    symlink("../shared", d.join("in/shared")).expect("link");
    let out = run(d, &["compile", "in"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("namespace: billing"), "{}", out.stdout);
    assert!(out.stdout.contains("namespace: shop"), "{}", out.stdout);
}

#[test]
fn a_fifo_named_like_a_source_is_refused_with_a_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d.join("in/p.netpol"), SHOP);
    mkfifo(&d.join("in/pipe.netpol"));
    let out = run(d, &["check", "in", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert_eq!(codes(&out.stdout), ["E0007"], "{}", out.stdout);
    assert!(out.stdout.contains("a FIFO, not a regular file"), "{}", out.stdout);
}

#[test]
fn imports_of_devices_fifos_and_huge_files_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    mkfifo(&d.join("pipe.netpol"));
    // Sparse: 17 MiB that take no room on the disk.
    let big = std::fs::File::create(d.join("big.netpol")).expect("create");
    big.set_len(17 << 20).expect("grow");
    write(
        d.join("p.netpol"),
        "namespace shop\nimport \"/dev/zero\"\nimport \"/dev/stdin\"\nimport \"pipe.netpol\"\nimport \"big.netpol\"\nworkload web { app: web }\n",
    );
    let out = run(d, &["check", "p.netpol", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert_eq!(codes(&out.stdout), ["E0007"; 4], "{}", out.stdout);
    for why in ["a character device, not a regular file", "a FIFO, not a regular file", "larger than 16 MiB"]
    {
        assert!(out.stdout.contains(why), "no `{why}` in {}", out.stdout);
    }
    // Named on the command line, the same.
    let out = run(d, &["check", "/dev/stdin", "pipe.netpol"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert_eq!(out.stderr.matches("error[E0007]").count(), 2, "{}", out.stderr);
}

#[test]
fn paths_that_name_no_source_are_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d.join("empty/README.md"), "policies go here\n");
    for command in ["compile", "check", "verify", "matrix", "graph", "fmt"] {
        let out = run(d, &[command, "empty"]);
        assert_eq!(out.code, Some(1), "{command}: {}", out.all());
        assert_eq!(out.stdout, "", "{command}");
        assert!(out.stderr.contains("error: no .netpol file under `empty`"), "{command}: {}", out.stderr);
    }
    // A typo in a file's name is an unreadable file, as before.
    let out = run(d, &["compile", "polices.netpol"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(out.stderr.contains("error[E0007]: cannot read `polices.netpol`"), "{}", out.stderr);
    // With a source besides, an empty folder is only a warning.
    write(d.join("p.netpol"), SHOP);
    let out = run(d, &["compile", "p.netpol", "empty"]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stderr.contains("warning: no .netpol files under `empty`"), "{}", out.stderr);
}

const SECRET: &str = "S3CR3T-7f1c9a";

#[test]
fn the_text_of_a_file_that_is_not_netpol_source_is_never_shown() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // As a credentials file could be. The parser's message would quote the second word.
    let secret = d.join("credentials");
    write(&secret, &format!("password {SECRET}\n"));
    // Control: the same text in a `.netpol` file is quoted, so the checks below can see it.
    write(d.join("own.netpol"), &format!("password {SECRET}\n"));
    let out = run(d, &["check", "own.netpol"]);
    assert!(out.all().contains(SECRET), "{}", out.all());

    write(
        d.join("p.netpol"),
        &format!("namespace shop\nimport \"{}\"\nworkload web {{ app: web }}\n", secret.display()),
    );
    std::fs::create_dir(d.join("tree")).expect("mkdir");
    symlink(&secret, d.join("tree/evil.netpol")).expect("link");
    let runs: &[&[&str]] = &[
        &["check", "p.netpol"],
        &["check", "p.netpol", "--format", "json"],
        &["check", "p.netpol", "--format", "github"],
        &["compile", "p.netpol"],
        &["check", "tree"],
        &["check", "tree", "--format", "json"],
        &["compile", "tree", "--format", "github"],
        &["check", "credentials"],
        &["fmt", "tree"],
        &["fmt", "--check", "tree/evil.netpol"],
    ];
    for args in runs {
        let out = run(d, args);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.all());
        assert!(!out.all().contains(SECRET), "{args:?} shows the secret:\n{}", out.all());
        assert!(out.all().contains("not netpol source"), "{args:?}: {}", out.all());
    }
    let out = run(d, &["check", "p.netpol", "--format", "json"]);
    assert_eq!(codes(&out.stdout), ["E0007"], "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&secret).expect("read"), format!("password {SECRET}\n"));
}

/// A pipe whose read end is closed: writing to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills the two descriptors; the read end is closed at once and the write
    // end handed to the child, which owns it from then on.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
        libc::close(fds[0]);
        Stdio::from_raw_fd(fds[1])
    }
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d.join("p.netpol"), SHOP);
    write(d.join("moved.netpol"), &SHOP.replace("5432", "5433"));
    write(
        d.join("bad.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from frontend\n",
    );
    write(d.join("messy.netpol"), "namespace shop\nworkload web {app:web}\n");
    // A world: a policy and an inventory of pods.
    write(
        d.join("policy.yaml"),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Ingress]\n",
    );
    write(
        d.join("inventory.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: shop, labels: {app: a}}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: shop, labels: {app: b}}}\n",
    );
    // The exit code is the command's own result, as with a stdout that reads everything.
    let cases: &[(&[&str], i32)] = &[
        (&["compile", "p.netpol"], 0),
        (&["matrix", "p.netpol"], 0),
        (&["matrix", "p.netpol", "--as", "json"], 0),
        (&["matrix", "p.netpol", "--format", "csv"], 0),
        (&["matrix", "policy.yaml", "--inventory", "inventory.yaml"], 0),
        (&["matrix", "policy.yaml", "--inventory", "inventory.yaml", "--as", "csv"], 0),
        (&["matrix", "policy.yaml", "--inventory", "inventory.yaml", "--as", "json"], 0),
        (&["diff", "p.netpol", "moved.netpol"], 1),
        (&["diff", "p.netpol", "moved.netpol", "--format", "json"], 1),
        (&["graph", "p.netpol"], 0),
        (&["graph", "p.netpol", "--format", "svg"], 0),
        (&["verify", "p.netpol"], 0),
        (&["why", "p.netpol", "shop/web", "shop/db", "on", "tcp", "5432"], 0),
        (&["explain", "E0101"], 0),
        (&["check", "bad.netpol", "--format", "json"], 1),
        (&["fmt", "--check", "messy.netpol"], 1),
    ];
    for (args, code) in cases {
        let open = run(d, args);
        assert_eq!(open.code, Some(*code), "{args:?} with stdout open: {}", open.all());
        assert!(!open.stdout.is_empty(), "{args:?} prints something");
        let closed = run_with(d, args, Some(closed_pipe()));
        assert_eq!(closed.code, Some(*code), "{args:?} with stdout closed: {}", closed.stderr);
        assert_eq!(closed.stderr, open.stderr, "{args:?}: nothing more on stderr");
    }
}
