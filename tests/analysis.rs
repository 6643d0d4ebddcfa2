//! The reachability engine on its own: the matrix's class-grouped enumeration and count agree
//! with asking every pair; the source's meaning for constructs the old model left out
//! (overlapping workloads, default-denied pods nobody declares, named ports after a deny, the
//! node reaching its pods).

mod common;

use common::gen;
use common::*;
use netpol::analysis::matrix::{connection, Rows};
use netpol::analysis::ports::PortSet;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::side::Cell;
use netpol::analysis::universe::{PointId, Universe};
use netpol::ir::{Program, Protocol, WorkloadId};

fn program(src: &str) -> Program {
    let c = compile_str(src, &[], &[]);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.program.expect("program")
}

fn workload(p: &Program, u: &Universe, qualified: &str) -> PointId {
    let i = (0..p.workloads.len())
        .find(|i| p.qualified_name(WorkloadId(*i as u32)) == qualified)
        .unwrap_or_else(|| panic!("no workload {qualified}"));
    u.workload(WorkloadId(i as u32))
}

/// Every pair, the slow way.
fn naive(rows: &Rows, u: &Universe) -> Vec<(PointId, PointId, Cell)> {
    let mut out = Vec::new();
    for s in u.ids() {
        for d in u.ids() {
            let c = rows.cell(u, s, d);
            if !c.is_empty() {
                out.push((s, d, c));
            }
        }
    }
    out
}

#[test]
fn grouped_enumeration_and_count_agree_with_every_pair_on_every_example() {
    let mut checked = 0;
    for path in examples() {
        let c = netpol::driver::compile(
            std::slice::from_ref(&path),
            &DiskLoader,
            &netpol::driver::Options::default(),
        );
        let Some(p) = c.program.as_ref().filter(|_| !c.has_errors()) else { continue };
        let u = Universe::new(p);
        let sem = SourceSemantics::new(p, &u);
        let rows = Rows::build(&sem, &u);
        let slow = naive(&rows, &u);
        let mut fast = Vec::new();
        rows.for_each_allowed(&u, |s, d, c| fast.push((s, d, c.clone())));
        assert_eq!(fast, slow, "{path}: enumeration");
        let certain = slow.iter().filter(|x| !x.2.certain.is_empty()).count() as u64;
        assert_eq!(rows.count(&u), (slow.len() as u64, certain), "{path}: count");
        // Rows agree with the sides they come from.
        for &(s, d, ref cell) in slow.iter().take(200) {
            assert_eq!(&connection(&sem, &u, s, d), cell, "{path}: {s} -> {d}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} examples compiled");
}

#[test]
fn pods_several_workloads_pick_get_the_rules_of_all_of_them() {
    let p = program(
        "namespace shop\n\
         workload api { app: api }\n\
         workload backends { tier: backend }\n\
         workload web { app: web }\n\
         api accepts tcp 8080 from web\n\
         backends accepts tcp 9090 from web\n",
    );
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let (web, api) = (workload(&p, &u, "shop/web"), workload(&p, &u, "shop/api"));
    // api's representative pod carries only `app: api`, so `backends` does not pick it...
    assert!(connection(&sem, &u, web, api).certain.contains(Protocol::Tcp, 8080));
    assert!(!connection(&sem, &u, web, api).possible.contains(Protocol::Tcp, 9090));
    // ...but a workload whose selector both pick gets both rules.
    let p = program(
        "namespace shop\n\
         workload api { app: api, tier: backend }\n\
         workload backends { tier: backend }\n\
         workload web { app: web }\n\
         api accepts tcp 8080 from web\n\
         backends accepts tcp 9090 from web\n",
    );
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let (web, api) = (workload(&p, &u, "shop/web"), workload(&p, &u, "shop/api"));
    let cell = connection(&sem, &u, web, api);
    assert!(cell.certain.contains(Protocol::Tcp, 8080) && cell.certain.contains(Protocol::Tcp, 9090));
}

/// The point named `name`.
fn point_named(u: &Universe, name: &str) -> Option<PointId> {
    u.ids().find(|p| u.point(*p).name == name)
}

/// Every two workloads of a namespace whose selectors can pick one pod have a pod in the
/// universe that both pick.
fn every_overlap_has_a_pod(p: &Program, u: &Universe) {
    for (i, a) in p.workloads.iter().enumerate() {
        for b in &p.workloads[i + 1..] {
            if a.namespace != b.namespace {
                continue;
            }
            let joint = netpol::analysis::overlap::joint_labels(&[&a.selector, &b.selector]);
            let zone = u.zone(u.zone_of_namespace(a.namespace));
            let shared = zone.pods.iter().any(|x| {
                let labels = &u.point(*x).labels;
                a.selector.matches(labels) && b.selector.matches(labels)
            });
            assert_eq!(shared, joint.is_some(), "`{}` and `{}`", a.name, b.name);
        }
    }
}

#[test]
fn workloads_that_can_pick_one_pod_share_a_pod_in_the_universe() {
    use netpol::analysis::universe::Role;
    let p = program(
        "namespace shop\n\
         workload api { app: api }\n\
         workload backends { tier: backend }\n\
         workload web { app: web }\n\
         workload stable { app in (api, web), canary notin (yes) }\n\
         workload plain { !tier }\n\
         api accepts tcp 8080 from web\n\
         backends accepts tcp 9090 from web\n\
         stable accepts tcp 7070 from web\n\
         plain accepts tcp 6060 from web\n",
    );
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let id =
        |name: &str| WorkloadId(p.workloads.iter().position(|w| w.name == name).expect("workload") as u32);
    let web = workload(&p, &u, "shop/web");
    // A pod both `api` and `backends` pick gets the rules of both.
    let pod = point_named(&u, "shop/<api+backends pod>").expect("a pod of api and backends");
    assert_eq!(u.point(pod).role, Role::Overlap(id("api"), id("backends")));
    assert!(p.workload(id("api")).selector.matches(&u.point(pod).labels));
    assert!(p.workload(id("backends")).selector.matches(&u.point(pod).labels));
    assert_eq!(sem.workloads_of(pod), &[id("api"), id("backends"), id("stable")]);
    let cell = connection(&sem, &u, web, pod);
    assert!(cell.certain.contains(Protocol::Tcp, 8080) && cell.certain.contains(Protocol::Tcp, 9090));
    // `api` and `web` never pick one pod; `stable` already picks api's and web's own pods;
    // `plain` picks every pod without `tier` (api's own), but not backends'.
    assert!(u.ids().all(|x| !u.point(x).name.contains("api+web")));
    assert!(point_named(&u, "shop/<api+stable pod>").is_none());
    assert!(point_named(&u, "shop/<api+plain pod>").is_none());
    assert!(point_named(&u, "shop/<backends+plain pod>").is_none());
    every_overlap_has_a_pod(&p, &u);
    // `backends` and `stable` share the same pod: `app: api` (stable's first value) and
    // `tier: backend`, which gets the rules of all three.
    assert!(point_named(&u, "shop/<backends+stable pod>").is_none());
    let cell = connection(&sem, &u, web, pod);
    assert!(cell.certain.contains(Protocol::Tcp, 9090) && cell.certain.contains(Protocol::Tcp, 7070));
}

#[test]
fn a_workload_placed_in_another_namespace_shares_pods_with_the_workloads_there() {
    use netpol::analysis::universe::Role;
    use netpol::analysis::verify;
    use netpol::ir::Direction;
    let src = "namespaces teams { team: yes }\n\
               namespace data {\n\
                 workload db { app: db }\n\
                 workload backends { tier: backend }\n\
                 db accepts tcp 80 from shop/web\n\
                 backends accepts tcp 9090 from shop/web\n\
               }\n\
               namespace shop {\n\
                 workload web { app: web }\n\
                 workload cache { role: cache }\n\
                 web connects to data/db in teams on tcp 80\n\
                 web connects to data/backends on tcp 9090\n\
                 cache accepts tcp 6379 from web\n\
                 web connects to cache on tcp 6379\n\
               }\n";
    let p = program(src);
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let id =
        |name: &str| WorkloadId(p.workloads.iter().position(|w| w.name == name).expect("workload") as u32);
    let web = workload(&p, &u, "shop/web");
    // In its own namespace, db's and backends' selectors can pick one pod.
    let pod = point_named(&u, "data/<db+backends pod>").expect("a pod of db and backends");
    assert_eq!(u.point(pod).role, Role::Overlap(id("db"), id("backends")));
    // (Whether `data` is one of the `teams` is open.)
    let cell = connection(&sem, &u, web, pod);
    assert!(cell.possible.contains(Protocol::Tcp, 80) && cell.certain.contains(Protocol::Tcp, 9090));
    // `db in teams` may pick pods with db's labels in `shop`: one of them may be a cache pod.
    let pod = point_named(&u, "shop/<cache+data/db pod>").expect("a pod of cache and db in shop");
    assert_eq!(u.point(pod).role, Role::Overlap(id("cache"), id("db")));
    assert!(p.workload(id("cache")).selector.matches(&u.point(pod).labels));
    assert!(p.workload(id("db")).selector.matches(&u.point(pod).labels));
    assert_eq!(sem.workloads_of(pod), &[id("cache")][..]);
    let out = sem.side(web, Direction::Egress).at(&u, pod);
    assert!(out.possible.contains(Protocol::Tcp, 80) && out.possible.contains(Protocol::Tcp, 6379));
    assert!(point_named(&u, "shop/<web+cache pod>").is_some());
    every_overlap_has_a_pod(&p, &u);
    // Every target means the same as the source on these pods too.
    let (readings, u) = readings(src).expect("compiles");
    let (_, source) = &readings[0];
    assert!(readings.len() > 1);
    for (name, rows) in &readings[1..] {
        let diffs = verify::compare(&u, source, rows);
        assert!(
            diffs.is_empty(),
            "{name}: {:?}",
            diffs.iter().map(|d| d.describe(&u, name)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_default_deny_isolates_pods_no_workload_declares() {
    let p = program("namespace shop\nworkload web { app: web }\ndefault deny ingress\n");
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let web = workload(&p, &u, "shop/web");
    let other = u.zone(u.zone_named("shop").expect("zone")).unlabelled;
    assert!(connection(&sem, &u, web, other).is_empty(), "the unlabelled pod of shop is isolated too");
    let dns = u.kube_dns();
    assert!(!connection(&sem, &u, web, dns).is_empty(), "kube-system is not covered");
}

#[test]
fn a_cluster_wide_default_deny_isolates_the_cluster_dns() {
    let p = program(
        "default deny ingress\nnamespace shop\nworkload web { app: web }\nweb connects to kube-dns\n",
    );
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    assert!(connection(&sem, &u, workload(&p, &u, "shop/web"), u.kube_dns()).is_empty());
}

#[test]
fn named_ports_survive_a_deny_of_other_ports() {
    let p = program(
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\ndb refuses tcp 22 from web\n",
    );
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let cell = connection(&sem, &u, workload(&p, &u, "shop/web"), workload(&p, &u, "shop/db"));
    assert!(cell.certain.contains_name(Protocol::Tcp, "http"));
    assert!(!cell.possible.contains(Protocol::Tcp, 22));
    assert!(cell.certain.contains(Protocol::Tcp, 23));
}

#[test]
fn the_node_always_reaches_its_pods() {
    let p = program("namespace shop\nworkload db { app: db }\ndb accepts nothing\n");
    let u = Universe::new(&p);
    let sem = SourceSemantics::new(&p, &u);
    let db = workload(&p, &u, "shop/db");
    assert!(connection(&sem, &u, u.host(), db).certain.is_all());
    let rows = Rows::build(&sem, &u);
    assert!(rows.cell(&u, u.host(), db).certain.is_all());
    assert!(rows.cell(&u, u.zone(0).unlabelled, db).is_empty());
    assert_eq!(PortSet::all().to_string(), "all ports");
}

/// `verify`, `why` and `matrix` ask the compile to keep the manifests it read back for the
/// `expect`s; those must be the objects' own YAML, target by target, and a plain compile must
/// not hold on to them.
#[test]
fn the_compile_hands_on_what_it_read_back_only_when_asked() {
    use netpol::backend::Target;
    use netpol::driver::{compile, Options};
    let src = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n\
               db accepts tcp 5432 from web\nexpect web can reach db on tcp 5432\n";
    let loader = MemLoader(std::collections::HashMap::from([("a.netpol".to_string(), src.to_string())]));
    let paths = ["a.netpol".to_string()];
    let kept = compile(
        &paths,
        &loader,
        &Options { targets: Target::ALL.to_vec(), keep_read_back: true, ..Options::default() },
    );
    assert!(!kept.has_errors(), "{}", render(&kept));
    let targets: Vec<_> = kept.read_back.iter().map(|(t, _)| *t).collect();
    assert_eq!(targets, Target::ALL.to_vec());
    for ((t, bodies), (o, objects)) in kept.read_back.iter().zip(&kept.outputs) {
        assert_eq!(t, o);
        let expected: Vec<_> = objects.iter().map(|o| o.body()).collect();
        assert_eq!(bodies, &expected, "{}", t.name());
    }
    let plain = compile(&paths, &loader, &Options { targets: Target::ALL.to_vec(), ..Options::default() });
    assert!(plain.read_back.is_empty());
}

/// Readers take the emitted objects and parse their YAML block by block on the worker that
/// reads them, or take values already read back. Both ways must mean the same, on a program
/// large enough to be cut into blocks, and a document that is not YAML is a problem, not a
/// silent gap.
#[test]
fn readers_mean_the_same_from_yaml_blocks_and_from_read_back_values() {
    use netpol::analysis::targets;
    use netpol::analysis::verify;
    use netpol::backend::Target;
    use netpol::driver::{compile, Options};
    let mut src = String::from("namespace shop\n");
    let n = 1500;
    for i in 0..n {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    for i in 0..n {
        src.push_str(&format!("w{i} accepts tcp {} from w{}\n", 1000 + i % 7, (i + 1) % n));
    }
    let loader = MemLoader(std::collections::HashMap::from([("big.netpol".to_string(), src)]));
    let c = compile(
        &["big.netpol".to_string()],
        &loader,
        &Options { targets: Target::ALL.to_vec(), ..Options::default() },
    );
    assert!(!c.has_errors(), "{}", render(&c));
    let p = c.program.as_ref().expect("program");
    let u = Universe::new(p);
    let source = Rows::build(&SourceSemantics::new(p, &u), &u);
    for (t, objects) in &c.outputs {
        assert!(objects.len() >= n, "{}: {} objects", t.name(), objects.len());
        let from_yaml = targets::read(*t, objects, &u);
        let from_values = targets::read(*t, &targets::bodies(objects), &u);
        assert!(from_yaml.problems.is_empty(), "{}: {:?}", t.name(), from_yaml.problems);
        assert_eq!(from_yaml.problems, from_values.problems, "{}", t.name());
        let (a, b) = (Rows::build(&*from_yaml.semantics, &u), Rows::build(&*from_values.semantics, &u));
        assert!(verify::compare(&u, &a, &b).is_empty(), "{}: the two readings differ", t.name());
        assert!(verify::compare(&u, &source, &a).is_empty(), "{}: differs from the source", t.name());

        let mut broken = objects.clone();
        broken[n / 2].yaml = "spec: [unclosed\n".to_string();
        let reading = targets::read(*t, &broken, &u);
        assert_eq!(reading.problems.len(), 1, "{}: {:?}", t.name(), reading.problems);
    }
}

proptest::proptest! {
    /// The sweep that finds the address points outside every exception agrees with asking each
    /// exception about each point, for exceptions that overlap, nest and repeat, on IPv4 and
    /// IPv6.
    #[test]
    fn addresses_outside_the_exceptions_are_the_naive_filter(
        v6 in proptest::bool::ANY,
        excepts in proptest::collection::vec((proptest::num::u32::ANY, 9u8..31), 1..24),
        others in proptest::collection::vec((proptest::num::u32::ANY, 8u8..31), 0..12),
    ) {
        use ipnet::IpNet;
        use std::net::IpAddr;
        // A subnet of `net`, from random bits and a prefix length.
        let sub = |net: IpNet, bits: u32, len: u8| -> IpNet {
            let addr: IpAddr = match net {
                IpNet::V4(n) => std::net::Ipv4Addr::from(u32::from(n.network()) | (bits & (u32::MAX >> 8))).into(),
                IpNet::V6(n) => std::net::Ipv6Addr::from(u128::from(n.network()) | ((bits as u128) << 64)).into(),
            };
            let len = if v6 { len + 24 } else { len };
            IpNet::new(addr, len).expect("prefix").trunc()
        };
        let net: IpNet = if v6 { "2001:db8::/32" } else { "10.0.0.0/8" }.parse().expect("net");
        let except: Vec<IpNet> = excepts.iter().map(|&(b, l)| sub(net, b, l)).collect();
        let mut src = format!(
            "namespace n\nworkload w {{ app: w }}\nw connects to {net} except ({})\n",
            except.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        );
        for &(b, l) in &others {
            src.push_str(&format!("w connects to {} on tcp 443\n", sub(net, b, l)));
        }
        let p = program(&src);
        let u = Universe::new(&p);
        let fast: Vec<PointId> = u.addresses_outside(&net, &except).collect();
        let naive: Vec<PointId> = u
            .addresses_in(&net)
            .filter(|(ip, _)| !except.iter().any(|e| e.contains(ip)))
            .map(|(_, point)| point)
            .collect();
        proptest::prop_assert_eq!(fast, naive);
    }
}

/// Every reading of a program, the source's first, then each target's that compiles it: its
/// name and its rows.
fn readings(src: &str) -> Option<(Vec<(&'static str, Rows)>, Universe)> {
    use netpol::analysis::targets;
    use netpol::backend::Target;
    let c = compile_str(src, &[], &[]);
    let p = c.program.clone().filter(|_| !c.has_errors())?;
    let u = Universe::new(&p);
    let mut out = vec![("source", Rows::build(&SourceSemantics::new(&p, &u), &u))];
    for t in Target::ALL {
        let c = compile_str(src, &[t], &[]);
        if c.has_errors() {
            continue;
        }
        let reading = targets::read(t, &c.outputs[0].1, &u);
        out.push((t.name(), Rows::build(&*reading.semantics, &u)));
    }
    Some((out, u))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// In generated programs (overlapping selectors, `W in S` peers), every two workloads of a
    /// namespace that can pick one pod have a pod there that both pick, and every overlap pod
    /// is picked by its two workloads.
    #[test]
    fn every_two_workloads_that_can_share_a_pod_have_one(
        src in gen::program(gen::Shape { conditional: true, isolation: true, expects: false, denies: true })
    ) {
        use netpol::analysis::universe::Role;
        let c = compile_str(&src, &[], &[]);
        if let Some(p) = c.program.as_ref().filter(|_| !c.has_errors()) {
            let u = Universe::new(p);
            every_overlap_has_a_pod(p, &u);
            for x in u.ids() {
                if let Role::Overlap(a, b) = u.point(x).role {
                    let labels = &u.point(x).labels;
                    proptest::prop_assert!(p.workload(a).selector.matches(labels), "{}", u.point(x).name);
                    proptest::prop_assert!(p.workload(b).selector.matches(labels), "{}", u.point(x).name);
                }
            }
        }
    }

    /// The matrix's classes, buckets and zone entries give every pair exactly, on every
    /// reading of generated programs (namespaces, namespace sets, `in` peers, networks, default
    /// denies, deny rules).
    #[test]
    fn grouped_enumeration_and_count_agree_with_every_pair_on_every_reading(
        src in gen::program(gen::Shape { conditional: true, isolation: true, expects: false, denies: true })
    ) {
        if let Some((readings, u)) = readings(&src) {
            for (name, rows) in readings {
                let slow = naive(&rows, &u);
                let mut fast = Vec::new();
                rows.for_each_allowed(&u, |s, d, c| fast.push((s, d, c.clone())));
                proptest::prop_assert!(fast == slow, "{name}: enumeration\n{src}");
                let certain = slow.iter().filter(|x| !x.2.certain.is_empty()).count() as u64;
                proptest::prop_assert_eq!(rows.count(&u), (slow.len() as u64, certain), "{}: count\n{}", name, src);
            }
        }
    }
}

/// `namespaces` namespace blocks of one workload each, in one of four shapes.
fn namespaces_program(namespaces: usize, shape: &str) -> String {
    let mut src = String::new();
    if shape == "set" {
        src.push_str("namespaces teams { team: a }\n");
    }
    for i in 0..namespaces {
        let (next, prev) = ((i + 1) % namespaces, (i + namespaces - 1) % namespaces);
        src.push_str(&format!("namespace ns-{i} {{\n  workload w {{ app: w{i} }}\n"));
        if shape == "deny" || shape == "zone" {
            src.push_str("  default deny all\n");
        }
        if shape == "zone" {
            src.push_str(&format!("  w connects to namespace ns-{next} on tcp 80\n"));
            src.push_str(&format!("  w accepts tcp 80 from namespace ns-{prev}\n"));
        } else {
            src.push_str(&format!("  w connects to ns-{next}/w on tcp 80\n"));
            src.push_str(&format!("  w accepts tcp 80 from ns-{prev}/w\n"));
        }
        if shape == "set" {
            src.push_str("  w accepts tcp 81 from teams\n");
        }
        src.push_str("}\n");
    }
    src
}

/// Many namespaces: what the rows hold and what counting the pairs computes between classes
/// grow with the points, not with their square (each namespace once made classes of its own,
/// and a namespace set listed every namespace in every row). Sizes, not times: a bound on the
/// work, on every reading.
#[test]
fn rows_and_counting_stay_linear_in_the_namespaces() {
    let n = 600;
    for shape in ["open", "deny", "zone", "set"] {
        let (readings, u) = readings(&namespaces_program(n, shape)).expect("compiles");
        let points = u.len();
        assert!(points >= 2 * n, "{shape}: {points} points");
        let source_count = readings[0].1.count(&u);
        assert!(source_count.0 > 0, "{shape}: nothing allowed");
        // More points than one block of the count's per-point pass: the blocks' corrections,
        // on every core, add up to every pair counted the slow way.
        let rows = &readings[0].1;
        let mut slow = (0, 0);
        for s in u.ids() {
            for d in u.ids() {
                let c = rows.cell(&u, s, d);
                slow.0 += u64::from(!c.possible.is_empty());
                slow.1 += u64::from(!c.certain.is_empty());
            }
        }
        assert_eq!(source_count, slow, "{shape}: the count is not every pair's");
        // Rows are built in blocks on every core: equal generic parts and equal cells are
        // still one value each, across blocks.
        for (name, rows) in &readings {
            let mut generics = std::collections::HashMap::new();
            let mut cells = std::collections::HashMap::new();
            for row in rows.ingress.iter().chain(&rows.egress) {
                let g = generics.entry(&*row.generic).or_insert(std::sync::Arc::as_ptr(&row.generic));
                assert_eq!(*g, std::sync::Arc::as_ptr(&row.generic), "{shape}: {name}: a generic part twice");
                for (_, cell) in &row.points {
                    let c = cells.entry(&**cell).or_insert(std::sync::Arc::as_ptr(cell));
                    assert_eq!(*c, std::sync::Arc::as_ptr(cell), "{shape}: {name}: a cell twice");
                }
            }
        }
        for (name, rows) in &readings {
            let stats = rows.count_stats(&u);
            assert_eq!((stats.possible, stats.certain), source_count, "{shape}: {name} counts otherwise");
            assert!(
                stats.cells as usize <= 16 * points,
                "{shape}: {name}: {} cells for {points} points",
                stats.cells
            );
            assert!(
                rows.size() <= 16 * points,
                "{shape}: {name}: rows hold {} values for {points} points",
                rows.size()
            );
        }
    }
}
