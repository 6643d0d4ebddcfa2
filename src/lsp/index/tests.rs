use super::*;

/// Files from memory; imports are plain names.
struct Mem(&'static [(&'static str, &'static str)]);

impl Loader for Mem {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.iter().find(|(p, _)| *p == path).map(|(_, t)| t.to_string()).ok_or("missing".into())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

const MAIN: &str = "\
import \"common.netpol\"
param office: cidr = 10.0.0.0/8
param metrics-port: port = 9100

namespace shop {
  workload web { app: web }
  workload db { app: db, tier: data }
  group front = web
  web accepts tcp 80 from office
  front -> db on tcp metrics-port
  db connects to monitoring/prom on tcp 9090
}
";

const COMMON: &str = "\
namespace monitoring
workload prom { app: prometheus }
prom accepts tcp 9090 from shop/db, namespace shop
";

fn index() -> Index {
    Index::build("main.netpol", &Mem(&[("main.netpol", MAIN), ("common.netpol", COMMON)]))
}

fn offset(text: &str, needle: &str, nth: usize) -> usize {
    text.match_indices(needle).nth(nth).map(|(i, _)| i).expect("needle")
}

fn decl_at<'a>(i: &'a Index, file: u32, text: &str, needle: &str, nth: usize) -> &'a Decl {
    let (d, _) = i.at(FileId(file), offset(text, needle, nth)).expect("a name");
    &i.decls[d]
}

#[test]
fn uses_resolve_like_the_compiler() {
    let i = index();
    assert!(i.root_parsed);
    // `web` in the group, the rule subject and the declaration are one workload of `shop`.
    let web = decl_at(&i, 0, MAIN, "web", 2);
    assert_eq!(
        (web.kind, web.name.as_str(), web.namespace.as_deref()),
        (Kind::Workload, "web", Some("shop"))
    );
    assert_eq!(i.text(web.detail), "{ app: web }");
    // `shop/db` in the imported file is `db` of `shop`; `monitoring/prom` in main is `prom`.
    let db = decl_at(&i, 1, COMMON, "db", 0);
    assert_eq!((db.name.as_str(), db.span.file), ("db", FileId(0)));
    let prom = decl_at(&i, 0, MAIN, "prom", 0);
    assert_eq!((prom.name.as_str(), prom.span.file), ("prom", FileId(1)));
    // A name in port position is the parameter; a cidr parameter as a peer too.
    assert_eq!(decl_at(&i, 0, MAIN, "metrics-port", 1).kind, Kind::Param);
    assert_eq!(decl_at(&i, 0, MAIN, "office", 1).kind, Kind::Param);
    assert_eq!(decl_at(&i, 0, MAIN, "front", 1).kind, Kind::Group);
    // `namespace shop` as a peer and the qualifier of `shop/db` are the namespace.
    let shop = decl_at(&i, 1, COMMON, "shop", 1);
    assert_eq!((shop.kind, shop.span.file), (Kind::Namespace, FileId(0)));
    assert_eq!(decl_at(&i, 1, COMMON, "shop", 0).name, "shop");
}

#[test]
fn references_across_files() {
    let i = index();
    let (db, _) = i.at(FileId(0), offset(MAIN, "db", 0)).expect("db");
    let uses: Vec<(u32, &str)> = i.uses(db).map(|r| (r.span.file.0, i.text(r.span))).collect();
    assert_eq!(uses, [(0, "db"), (0, "db"), (1, "db")]);
    let (web, _) = i.at(FileId(0), offset(MAIN, "web", 0)).expect("web");
    let stmts: Vec<&str> = i.uses(web).map(|r| i.text(r.stmt)).collect();
    assert_eq!(stmts, ["group front = web", "web accepts tcp 80 from office"]);
    // A cursor on nothing, or on a keyword, names nothing.
    assert!(i.at(FileId(0), offset(MAIN, "accepts", 0) + 2).is_none());
    assert!(i.at(FileId(0), 0).is_none());
}

#[test]
fn namespaces_and_outline() {
    let i = index();
    assert_eq!(i.namespace_at(FileId(0), offset(MAIN, "front ->", 0)), Some("shop"));
    assert_eq!(i.namespace_at(FileId(0), offset(MAIN, "param", 0)), None);
    assert_eq!(i.namespace_at(FileId(1), COMMON.len()), Some("monitoring"));
    let outline: Vec<(&str, usize)> =
        i.outlines[0].iter().map(|s| (s.name.as_str(), s.children.len())).collect();
    assert_eq!(outline, [("office", 0), ("metrics-port", 0), ("shop", 3)]);
    let names: Vec<&str> = i.outlines[0][2].children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web", "db", "front"]);
    // A `namespace` line's symbol holds the declarations after it.
    let monitoring = &i.outlines[1][0];
    assert_eq!((monitoring.name.as_str(), monitoring.children.len()), ("monitoring", 1));
    assert!(monitoring.span.end >= monitoring.children[0].span.end);
}

#[test]
fn lines_in_error_are_left_out() {
    const BROKEN: &str =
        "namespace shop {\n  workload web { app: web }\n  web accepts tcp 99999 from \n  web conn\n}\n";
    let i = Index::build("b.netpol", &Mem(&[("b.netpol", BROKEN)]));
    assert!(i.root_parsed);
    let web = decl_at(&i, 0, BROKEN, "web", 0);
    assert_eq!(web.namespace.as_deref(), Some("shop"));
    assert_eq!(i.namespace_at(FileId(0), offset(BROKEN, "conn", 0)), Some("shop"));
    // Nothing to parse at all, or no file: an empty index, no panic.
    for text in ["", "namespace {", "\u{feff}é", "workload"] {
        let files: &'static [(&str, &str)] = Box::leak(Box::new([("x.netpol", text)]));
        let _ = Index::build("x.netpol", &Mem(files));
    }
    assert!(Index::build("nowhere.netpol", &Mem(&[])).decls.is_empty());
}

#[test]
fn a_second_declaration_is_a_use_of_the_first() {
    const TWICE: &str = "group g = anywhere\ngroup g = world\n";
    let i = Index::build("t.netpol", &Mem(&[("t.netpol", TWICE)]));
    assert_eq!(i.decls.len(), 1);
    assert_eq!(i.uses(0).count(), 1);
}

/// Both names of `W in S` are uses: `W` of the workload (resolved like any peer), `S` of the
/// `namespaces` set.
#[test]
fn a_workload_in_a_namespace_set_names_both() {
    const SRC: &str = "namespaces teams { team: a }\nnamespace shop {\n  workload web { app: web }\n  workload db { app: db }\n  db accepts tcp 80 from web in teams\n}\n";
    let i = Index::build("w.netpol", &Mem(&[("w.netpol", SRC)]));
    let web = decl_at(&i, 0, SRC, "web", 2);
    assert_eq!((web.kind, web.namespace.as_deref()), (Kind::Workload, Some("shop")));
    let teams = decl_at(&i, 0, SRC, "teams", 1);
    assert_eq!((teams.kind, teams.span.start), (Kind::NamespaceSet, offset(SRC, "teams", 0) as u32));
}
