//! The checker's lints: each fires where it should and stays quiet where it should not.

mod common;

use common::*;

const HEAD: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db, tier: data }\nworkload cache { app: cache, tier: data }\nworkload all-data { tier: data }\n";

fn check(body: &str) -> Vec<&'static str> {
    let c = compile_str(&format!("{HEAD}{body}\n"), &[], &[]);
    codes(&c).into_iter().filter(|c| !matches!(*c, "W0203" | "W0204")).collect()
}

#[test]
fn cross_side_warns_in_both_directions_and_not_when_consistent() {
    assert_eq!(check("web connects to db on tcp 5432\ndb accepts tcp 5433 from web"), ["W0201", "W0202"]);
    assert_eq!(check("web connects to db on tcp 5432\ndb accepts tcp 5432 from web"), Vec::<&str>::new());
    assert_eq!(check("web -> db on tcp 5432"), Vec::<&str>::new(), "an edge is consistent by construction");
    // The data tier accepts web, but web reaches only db, not every pod of the tier.
    assert_eq!(check("all-data accepts tcp 1 from web\nweb connects to db on tcp 1"), ["W0202"]);
    // Not isolated on the other side: nothing is dropped, nothing to say.
    assert_eq!(check("web connects to cache on tcp 6379"), Vec::<&str>::new());
}

#[test]
fn cross_side_reports_only_the_missing_ports() {
    let c = compile_str(&format!("{HEAD}web connects to db on tcp 5432, 6000-6010\ndb accepts tcp 6000-6005 from web\nweb connects to kube-dns\ndb connects to kube-dns\n"), &[], &[]);
    let w = c.diagnostics.iter().find(|d| d.code == "W0201").expect("W0201");
    assert_eq!(w.message, "`web` connects to `db` on tcp 5432, 6006-6010, but `db` does not accept it");
    assert_eq!(w.secondary.len(), 2, "both lines are labelled");
}

#[test]
fn shadowed_rules_are_found_soundly() {
    assert_eq!(check("db accepts tcp 80 from web\ndb accepts tcp from anywhere"), ["W0207"]);
    assert_eq!(check("db accepts tcp 80 from web\ndb accepts tcp 80 from namespace shop"), ["W0207"]);
    assert_eq!(
        check("db accepts tcp 80 from cache\ndb accepts tcp 80 from all-data"),
        ["W0207"],
        "fewer labels select more"
    );
    assert_eq!(
        check("db accepts tcp 80 from all-data\ndb accepts tcp 80 from cache"),
        ["W0207"],
        "in either order"
    );
    assert_eq!(
        check("db accepts tcp 80 from web\ndb accepts tcp 80 from cache"),
        Vec::<&str>::new(),
        "unrelated selectors"
    );
    assert_eq!(check("db accepts tcp 80 from web\ndb accepts tcp 81 from anywhere"), Vec::<&str>::new());
    assert_eq!(check("db accepts udp 80 from web\ndb accepts tcp from anywhere"), Vec::<&str>::new());
    assert_eq!(
        check("web connects to 10.1.0.0/16 on tcp 443\nweb connects to 10.0.0.0/8 on tcp 443"),
        ["W0207"]
    );
    assert_eq!(
        check("web connects to 10.1.0.0/16 on tcp 443\nweb connects to 10.0.0.0/8 except 10.1.2.0/24 on tcp 443"),
        Vec::<&str>::new(),
        "an exception inside the narrower network keeps it needed"
    );
    assert_eq!(
        check("db accepts tcp 80 from web\ndb accepts tcp 80 from web"),
        ["W0207"],
        "a duplicate is reported once"
    );
}

#[test]
fn address_lints() {
    assert_eq!(check("web connects to 10.0.0.0/8 on tcp http"), ["W0205"]);
    assert_eq!(check("web connects to 0.0.0.0/0 on tcp 443"), ["W0206"]);
    assert_eq!(check("web connects to anywhere on tcp 443"), Vec::<&str>::new());
}

#[test]
fn contradictions_are_errors_with_both_lines() {
    let c = compile_str(&format!("{HEAD}db accepts nothing\ndb accepts tcp 1 from web\n"), &[], &[]);
    let e = c.diagnostics.iter().find(|d| d.code == "E0201").expect("E0201");
    assert!(e.is_error() && e.secondary.len() == 1);
}

#[test]
fn expectations_hold_or_fail_with_the_reason() {
    let body = "web -> db on tcp 5432\nexpect web can reach db on tcp 5432\nexpect web cannot reach db on tcp 22\nexpect web cannot reach db on udp 53\nexpect db can reach web";
    assert_eq!(check(body), Vec::<&str>::new());
    let c = compile_str(
        &format!("{HEAD}web -> db on tcp 5432\nexpect web can reach db on tcp 5432-5433\n"),
        &[],
        &[],
    );
    let e = c.diagnostics.iter().find(|d| d.code == "E0401").expect("E0401");
    assert_eq!(e.message, "expected `web` to reach `db` on tcp 5433, but it cannot");
    assert!(!e.secondary.is_empty(), "names the side that is missing");
    // `cannot reach` fails where a CIDR may match pods on some CNIs.
    let c = compile_str(
        &format!("{HEAD}db accepts tcp 5432 from 10.0.0.0/8\nexpect web cannot reach db\n"),
        &[],
        &[],
    );
    assert!(codes(&c).contains(&"E0401"));
}

#[test]
fn large_programs_check_and_emit_on_all_cores_without_losing_anything() {
    let n = 1500;
    let mut src = String::from("namespace big\n");
    for i in 0..n {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    for i in 0..n {
        let next = (i + 1) % n;
        src.push_str(&format!("w{i} connects to w{next} on tcp 80\nw{next} accepts tcp 81 from w{i}\nw{i} connects to kube-dns\n"));
    }
    let first = compile_str(&src, &[netpol::backend::Target::Kubernetes], &[]);
    let count = |code: &str| first.diagnostics.iter().filter(|d| d.code == code).count();
    assert_eq!((count("W0201"), count("W0202")), (n, n));
    assert_eq!(first.outputs[0].1.len(), n, "one policy per workload");
    let again = compile_str(&src, &[netpol::backend::Target::Kubernetes], &[]);
    assert_eq!(render(&first), render(&again));
    assert_eq!(netpol::yaml::stream(&first.outputs[0].1), netpol::yaml::stream(&again.outputs[0].1));
    let lines: Vec<usize> =
        first.diagnostics.iter().map(|d| first.sources.start_of(d.primary.span).line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "diagnostics in source order");
}

/// W0204 knows namespaces: a workload is used by references in its own namespace (or
/// qualified with it), not by a namesake elsewhere.
#[test]
fn unused_workloads_are_told_apart_by_namespace() {
    let unused = |src: &str| -> Vec<String> {
        let c = compile_str(src, &[], &[]);
        assert!(!c.has_errors(), "{}", render(&c));
        let sources = &c.sources;
        c.diagnostics
            .iter()
            .filter(|d| d.code == "W0204")
            .map(|d| format!("line {}", sources.start_of(d.primary.span).line))
            .collect()
    };
    let two = "namespace a {\n  workload web { app: web }\n  workload db { app: db }\n  db accepts tcp 5432 from web\n}\n\
               namespace b {\n  workload web { app: web }\n  workload api { app: api }\n  api accepts tcp 80 from namespace a\n}\n";
    assert_eq!(unused(two), ["line 7"]);
    let qualified = two.replace("from namespace a", "from namespace a, b/web");
    assert_eq!(unused(&qualified), Vec::<String>::new());
    let statement = "namespace a\nworkload web { app: web }\nworkload db { app: db }\ndb accepts from web\n";
    assert_eq!(unused(statement), Vec::<String>::new());
    let grouped = "namespace a {\n  workload web { app: web }\n  workload db { app: db }\n  group front = web\n  db accepts from front\n}\n\
                   namespace b {\n  workload web { app: web }\n  web accepts from a/db\n}\n";
    assert_eq!(unused(grouped), Vec::<String>::new());
}

/// `W in S`: `W` must be a workload and `S` a `namespaces` set; the expectation over it covers
/// the workload's pods in every namespace of the set, its own namespace only if the set has it.
#[test]
fn a_workload_in_a_namespace_set() {
    let sets = "namespaces others { kubernetes.io/metadata.name notin (shop) }\n\
                namespaces everywhere { }\n";
    assert_eq!(check(&format!("{sets}db accepts tcp 5432 from web in others")), Vec::<&str>::new());
    for (peer, code) in [
        ("others in others", "E0103"),
        ("web in shop", "E0103"),
        ("web in nowhere", "E0101"),
        ("nobody in others", "E0101"),
    ] {
        assert_eq!(check(&format!("{sets}db accepts tcp 5432 from {peer}")), [code], "{peer}");
    }
    // Pods of `web` in other namespaces reach db; `web` in shop does not.
    let body = format!(
        "{sets}db accepts tcp 5432 from web in others\n\
         expect web in others can reach db on tcp 5432\n\
         expect web cannot reach db\n\
         expect web in everywhere cannot reach db"
    );
    let c = compile_str(
        &format!("{HEAD}{body}\nnamespace ops {{\n  workload tool {{ app: tool }}\n}}\n"),
        &[],
        &[],
    );
    let failed: Vec<&str> =
        c.diagnostics.iter().filter(|d| d.code == "E0401").map(|d| d.message.as_str()).collect();
    assert_eq!(
        failed,
        ["expected `web in everywhere` not to reach `db`, but `ops/<web pod>` -> `shop/db` can on tcp 5432"],
        "{}",
        render(&c)
    );
}
