//! `netpol fmt` through the real binary: rewriting files and directories, `--check` (exit code
//! and diff), stdin to stdout, and refusing files that do not parse.

mod common;

use common::text;
use std::path::Path;
use std::process::Output;

fn netpol(args: &[&str], dir: &Path, stdin: &str) -> Output {
    common::netpol_with_stdin(args, dir, stdin)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read")
}

const MESSY: &str = "namespace shop\nworkload web {app:web}\nworkload db { app: db }\n\n\n\nweb->db on tcp 5432 \"queries\"   # main path\n";
const TIDY: &str = "namespace shop\nworkload web { app: web }\nworkload db  { app: db }\n\nweb -> db on tcp 5432  \"queries\"  # main path\n";
const BROKEN: &str = "namespace shop\nworkload web {app:web}\nweb accepts tcp 80 frm anywhere\n";

#[test]
fn fmt_rewrites_a_file_and_then_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("p.netpol"), MESSY).expect("write");
    let out = netpol(&["fmt", "p.netpol"], dir.path(), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read(dir.path(), "p.netpol"), TIDY);
    assert_eq!(text(&out.stdout), "");
    // Formatted already: not written again (the modification time stays in the past).
    let file = std::fs::File::options().write(true).open(dir.path().join("p.netpol")).expect("open");
    let past = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    file.set_modified(past).expect("set mtime");
    drop(file);
    let out = netpol(&["fmt", "p.netpol"], dir.path(), "");
    assert_eq!(out.status.code(), Some(0));
    let mtime = std::fs::metadata(dir.path().join("p.netpol")).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(mtime, past, "an unchanged file is not rewritten");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
}

#[test]
fn check_prints_a_unified_diff_and_exits_one_without_writing() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("messy.netpol"), MESSY).expect("write");
    std::fs::write(dir.path().join("tidy.netpol"), TIDY).expect("write");
    let out = netpol(&["fmt", "--check", "messy.netpol", "tidy.netpol"], dir.path(), "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(dir.path(), "messy.netpol"), MESSY, "--check writes nothing");
    let diff = text(&out.stdout);
    assert!(diff.starts_with("--- messy.netpol\n+++ messy.netpol (formatted)\n@@ "), "{diff}");
    assert!(diff.contains("\n-workload web {app:web}\n"), "{diff}");
    assert!(diff.contains("\n+workload web { app: web }\n"), "{diff}");
    assert!(!diff.contains("tidy.netpol"), "a formatted file has no diff: {diff}");
    let out = netpol(&["fmt", "--check", "tidy.netpol"], dir.path(), "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn dash_formats_stdin_to_stdout() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = netpol(&["fmt", "-"], dir.path(), MESSY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TIDY);
    let out = netpol(&["fmt", "-"], dir.path(), TIDY);
    assert_eq!(text(&out.stdout), TIDY, "formatted input comes back unchanged");
    let out = netpol(&["fmt", "--check", "-"], dir.path(), MESSY);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("--- <stdin>\n"), "{}", text(&out.stdout));
    let out = netpol(&["fmt", "--check", "-"], dir.path(), TIDY);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_file_that_does_not_parse_is_left_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("bad.netpol"), BROKEN).expect("write");
    std::fs::write(dir.path().join("good.netpol"), MESSY).expect("write");
    let out = netpol(&["fmt", "bad.netpol", "good.netpol"], dir.path(), "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(dir.path(), "bad.netpol"), BROKEN);
    assert_eq!(read(dir.path(), "good.netpol"), TIDY, "the other files are still formatted");
    let check = netpol(&["check", "bad.netpol"], dir.path(), "");
    assert_eq!(text(&out.stderr), text(&check.stderr), "the diagnostics of `netpol check`");
    assert!(text(&out.stderr).contains("error[E0001]"), "{}", text(&out.stderr));
    let out = netpol(&["fmt", "-"], dir.path(), BROKEN);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "", "nothing on stdout for an editor to paste");
}

#[test]
fn directories_are_searched_for_netpol_files() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("policies/team")).expect("mkdir");
    std::fs::write(dir.path().join("policies/a.netpol"), MESSY).expect("write");
    std::fs::write(dir.path().join("policies/team/b.netpol"), MESSY).expect("write");
    std::fs::write(dir.path().join("policies/notes.txt"), MESSY).expect("write");
    let out = netpol(&["fmt", "--check", "policies"], dir.path(), "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).matches("\n+++ ").count(), 2, "{}", text(&out.stdout));
    let out = netpol(&["fmt", "policies"], dir.path(), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read(dir.path(), "policies/a.netpol"), TIDY);
    assert_eq!(read(dir.path(), "policies/team/b.netpol"), TIDY);
    assert_eq!(read(dir.path(), "policies/notes.txt"), MESSY);
}

#[cfg(unix)]
#[test]
fn fmt_formats_where_a_symlink_points_and_keeps_the_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::create_dir(d.join("shared")).expect("mkdir");
    std::fs::write(d.join("shared/real.netpol"), MESSY).expect("write");
    std::fs::set_permissions(d.join("shared/real.netpol"), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    std::os::unix::fs::symlink("shared/real.netpol", d.join("link.netpol")).expect("link");
    let out = netpol(&["fmt", "link.netpol"], d, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = std::fs::symlink_metadata(d.join("link.netpol")).expect("stat");
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read_link(d.join("link.netpol")).expect("readlink"), Path::new("shared/real.netpol"));
    assert_eq!(read(d, "shared/real.netpol"), TIDY, "the file it names is formatted");
    let mode = std::fs::metadata(d.join("shared/real.netpol")).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "with its permissions");
    // Nothing left behind: no temporary file next to the link or the file.
    for folder in [d.to_path_buf(), d.join("shared")] {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let expected: &[&str] = if folder == d { &["link.netpol", "shared"] } else { &["real.netpol"] };
        assert_eq!(names, expected);
    }
}
