//! `netpol graph`: the diagram covers every allowed connection, each format is well-formed and
//! says what the model says, output is deterministic, and the README's diagrams are current.

mod common;

use common::{compile_str, examples, root, DiskLoader};
use graphviz_rust::dot_structures::{EdgeTy, Graph as Dot, Id, Stmt, Vertex};
use netpol::analysis::matrix::{node_to_its_pod, Rows, Semantics};
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::side::Match;
use netpol::analysis::targets;
use netpol::analysis::universe::Universe;
use netpol::backend::Target;
use netpol::driver::{compile, Compilation, Options};
use netpol::graph::{self, build, dot, mermaid, Format, Graph, Kind};
use netpol::ir::Program;
use std::collections::{BTreeMap, BTreeSet};

/// Small programs, one feature each, and one with many.
const SMALL: &[(&str, &str)] = &[
    ("edge", "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nweb -> db on tcp 5432\n"),
    (
        "one_sided",
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n\
         web connects to db on tcp 5432, 8000-8100\ndb accepts tcp 5432 from web\n",
    ),
    (
        "deny",
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80, 443 from anywhere\n\
         web refuses tcp 80 from 203.0.113.0/24\nweb never connects to 169.254.169.254\n",
    ),
    (
        "peers",
        "namespaces partner-teams { team in (fraud, risk) }\n\
         namespace monitoring {\n  workload prometheus { app: prometheus }\n}\n\
         namespace shop\nworkload api { app: api }\nworkload db { app: db }\n\
         api accepts tcp http, 9000-9100 from namespace monitoring, partner-teams\n\
         api accepts udp 53 from 2001:db8::/32 except 2001:db8:1::/48\n\
         api connects to kube-dns\napi connects to kube-apiserver on tcp 443\n\
         api connects to \"*.example.com\" on tcp 443\napi connects to world on tcp 443\n\
         api accepts tcp 9100 from host\napi -> db on sctp 2905\ndb connects to cluster on tcp 9\n",
    ),
    (
        "default_deny",
        "namespace shop\ndefault deny all\nworkload web { app: web }\nworkload api { app: api }\n\
         web -> api on tcp 8080\n",
    ),
    ("open", "namespace shop\nworkload web { app: web }\nworkload api { app: api }\nweb connects to api on tcp 80\n"),
    (
        "workload_in",
        "namespaces teams { kubernetes.io/metadata.name in (a, b) }\n\
         namespace mon {\n  workload prometheus { app: prometheus }\n}\n\
         namespace a {\n  workload api { app: api }\n  workload agent { app: prometheus }\n\
           api accepts tcp 9090 from mon/prometheus in teams\n}\n\
         namespace b {\n  workload db { app: db }\n  db accepts tcp 5432 from a/api\n  db connects to mon/prometheus in teams on tcp 9100\n}\n",
    ),
];

fn program(c: &Compilation) -> &Program {
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.program.as_ref().expect("program")
}

fn example(path: &str, targets: &[Target]) -> Compilation {
    let options = Options { targets: targets.to_vec(), ..Options::default() };
    compile(&[path.to_string()], &DiskLoader, &options)
}

/// Every compiling example and small program, with the targets each compiles for.
fn programs() -> Vec<(String, Compilation)> {
    let mut out = Vec::new();
    for path in examples() {
        let c = example(&path, &[]);
        if !c.has_errors() {
            out.push((path, c));
        }
    }
    for (name, src) in SMALL {
        out.push((name.to_string(), compile_str(src, &[], &[])));
    }
    out
}

fn targets_of(name: &str) -> Vec<(Target, Compilation)> {
    Target::ALL
        .into_iter()
        .filter_map(|t| {
            let c = match SMALL.iter().find(|(n, _)| *n == name) {
                Some((_, src)) => compile_str(src, &[t], &[]),
                None => example(name, &[t]),
            };
            (!c.has_errors()).then_some((t, c))
        })
        .collect()
}

/// Every allowed connection the program governs (a workload's pod at one end; not the node
/// to its own pods) lies inside the allowed edges between nodes standing for its two ends.
fn assert_covers(name: &str, u: &Universe, sem: &dyn Semantics, g: &Graph) {
    let rows = Rows::build(sem, u);
    let governed: BTreeSet<u32> = g
        .nodes
        .iter()
        .filter(|(n, _)| matches!(n, graph::Node::Workload(_)))
        .flat_map(|(_, m)| m.iter().enumerate().filter(|(_, m)| **m == Match::Yes).map(|(p, _)| p as u32))
        .collect();
    let mut pairs = 0;
    rows.for_each_allowed(u, |s, d, cell| {
        if !(governed.contains(&s) || governed.contains(&d)) || node_to_its_pod(u, s, d) {
            return;
        }
        pairs += 1;
        let covered = g.covered(s, d);
        let (from, to) = (&u.point(s).name, &u.point(d).name);
        assert!(
            cell.certain.is_subset(&covered.certain),
            "{name}: {from} -> {to} on {} not drawn",
            cell.certain
        );
        assert!(
            cell.possible.is_subset(&covered.possible),
            "{name}: {from} -> {to} maybe {} not drawn",
            cell.possible
        );
    });
    assert!(pairs > 0, "{name}: no allowed connection at all");
}

#[test]
fn every_allowed_connection_of_the_source_is_an_edge_from_a_rule() {
    for (name, c) in programs() {
        let p = program(&c);
        let u = Universe::new(p);
        let sem = SourceSemantics::new(p, &u);
        let g = build(p, &u, &sem);
        assert_eq!(g.extra, 0, "{name}: the rules' edges leave connections out");
        assert_covers(&name, &u, &sem, &g);
    }
}

#[test]
fn every_allowed_connection_of_each_target_is_an_edge() {
    for (name, c) in programs() {
        let source = {
            let p = program(&c);
            let u = Universe::new(p);
            lines(p, &build(p, &u, &SourceSemantics::new(p, &u)))
        };
        for (t, tc) in targets_of(&name) {
            let p = program(&tc);
            let u = Universe::new(p);
            let objects = &tc.outputs[0].1;
            let reading = targets::read(t, &targets::bodies(objects), &u);
            let g = build(p, &u, &*reading.semantics);
            assert_covers(&format!("{name} on {}", t.name()), &u, &*reading.semantics, &g);
            // Every target agrees with the source on these programs: the same edges, and
            // nothing beyond the rules (labels may differ where a target settles an open fact).
            let shape = |l: &BTreeSet<(String, String, Kind, String)>| -> BTreeSet<(String, String, Kind)> {
                l.iter().map(|(a, b, k, _)| (a.clone(), b.clone(), *k)).collect()
            };
            assert_eq!(shape(&lines(p, &g)), shape(&source), "{name}: {} draws other edges", t.name());
            assert_eq!(g.extra, 0, "{name}: {} allows what no rule does", t.name());
        }
    }
}

#[test]
fn allowed_edges_claim_only_what_some_pair_of_their_ends_may_do() {
    for (name, c) in programs() {
        let p = program(&c);
        let u = Universe::new(p);
        let sem = SourceSemantics::new(p, &u);
        let rows = Rows::build(&sem, &u);
        let g = build(p, &u, &sem);
        for ((a, b), e) in &g.edges {
            if e.allowed.possible.is_empty() {
                continue;
            }
            let ends = |n: &graph::Node| -> Vec<u32> {
                g.nodes[n]
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m != Match::No)
                    .map(|(p, _)| p as u32)
                    .collect()
            };
            let mut got = netpol::analysis::ports::PortSet::empty();
            for s in ends(a) {
                for d in ends(b) {
                    got = got.union(&rows.cell(&u, s, d).possible);
                }
            }
            assert!(
                e.allowed.possible.is_subset(&got),
                "{name}: {} -> {} claims {}",
                graph::key(p, a),
                graph::key(p, b),
                e.allowed.possible
            );
        }
    }
}

/// (from key, to key, kind, label) of every line the model draws.
fn lines(p: &Program, g: &Graph) -> BTreeSet<(String, String, Kind, String)> {
    g.lines().into_iter().map(|l| (graph::key(p, l.from), graph::key(p, l.to), l.kind, l.label)).collect()
}

fn source_graph(c: &Compilation) -> Graph {
    let p = program(c);
    let u = Universe::new(p);
    build(p, &u, &SourceSemantics::new(p, &u))
}

fn seeds() -> Vec<(String, Compilation)> {
    ["examples/event-streams.netpol", "examples/kyma-telemetry.netpol"]
        .iter()
        .map(|p| (p.to_string(), example(p, &[])))
        .chain(SMALL.iter().map(|(n, s)| (n.to_string(), compile_str(s, &[], &[]))))
        .collect()
}

// ---- DOT ------------------------------------------------------------------------------------

fn unquote(id: &Id) -> String {
    match id {
        Id::Escaped(s) => s[1..s.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\"),
        Id::Plain(s) | Id::Html(s) | Id::Anonymous(s) => s.clone(),
    }
}

/// Declared node ids and (from, to, label) of the edges, outside the legend.
fn dot_parts(stmts: &[Stmt], nodes: &mut BTreeSet<String>, edges: &mut Vec<(String, String, String)>) {
    for s in stmts {
        match s {
            Stmt::Node(n) => {
                nodes.insert(unquote(&n.id.0));
            }
            Stmt::Subgraph(sg) if unquote(&sg.id) != "cluster_legend" => dot_parts(&sg.stmts, nodes, edges),
            Stmt::Edge(e) => {
                let EdgeTy::Pair(Vertex::N(a), Vertex::N(b)) = &e.ty else { panic!("edge {e:?}") };
                let label = e.attributes.iter().find(|a| unquote(&a.0) == "label").expect("label");
                edges.push((unquote(&a.0), unquote(&b.0), unquote(&label.1)));
            }
            _ => {}
        }
    }
}

#[test]
fn dot_parses_and_draws_exactly_the_models_edges() {
    for (name, c) in seeds() {
        let p = program(&c);
        let g = source_graph(&c);
        let text = dot::render(p, &g);
        let parsed = graphviz_rust::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        let Dot::DiGraph { stmts, .. } = parsed else { panic!("{name}: not a digraph") };
        let (mut nodes, mut edges) = (BTreeSet::new(), Vec::new());
        dot_parts(&stmts, &mut nodes, &mut edges);
        let want: BTreeSet<String> = g.nodes.keys().map(|n| graph::key(p, n)).collect();
        assert_eq!(nodes, want, "{name}: nodes");
        for (a, b, _) in &edges {
            assert!(nodes.contains(a) && nodes.contains(b), "{name}: edge {a} -> {b} to an undeclared node");
        }
        let got: BTreeSet<(String, String, String)> = edges.into_iter().collect();
        let want: BTreeSet<(String, String, String)> =
            lines(p, &g).into_iter().map(|(a, b, _, l)| (a, b, l)).collect();
        assert_eq!(got, want, "{name}: edges");
    }
}

#[test]
fn dot_quotes_awkward_names() {
    assert_eq!(dot::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    let c = compile_str(
        "namespace my-ns\nworkload a-b { app: a }\na-b connects to fd00:10::/32 except fd00:10:99::/48 on tcp 443\n",
        &[],
        &[],
    );
    let text = dot::render(program(&c), &source_graph(&c));
    graphviz_rust::parse(&text).expect("parses");
    assert!(text.contains("\"fd00:10::/32 except fd00:10:99::/48\" ["), "{text}");
    assert!(text.contains("\"my-ns/a-b\" ["), "{text}");
}

// ---- Mermaid --------------------------------------------------------------------------------

/// A checker of the subset of Mermaid's flowchart grammar the renderer writes: returns the
/// edges (from id, to id, label) outside the legend, or what is wrong.
fn check_mermaid(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut lines = text.lines();
    if lines.next() != Some("flowchart LR") {
        return Err("first line is not `flowchart LR`".into());
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let quoted =
        |s: &str| s.len() >= 2 && s.starts_with('"') && s.ends_with('"') && !s[1..s.len() - 1].contains('"');
    let shapes = [
        ("[\"", "\"]"),
        ("[[\"", "\"]]"),
        ("[/\"", "\"/]"),
        (">\"", "\"]"),
        ("((\"", "\"))"),
        ("([\"", "\"])"),
        ("[/\"", "\"\\]"),
        ("{{\"", "\"}}"),
        ("[(\"", "\")]"),
        ("(\"", "\")"),
    ];
    // `id` alone, or `id` and a shape around a quoted label: the id if well-formed.
    let node = |s: &str| -> Option<(String, bool)> {
        let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
        let (id, rest) = s.split_at(end);
        if !ident(id) {
            return None;
        }
        if rest.is_empty() {
            return Some((id.to_string(), false));
        }
        shapes
            .iter()
            .any(|(o, c)| {
                rest.starts_with(o)
                    && rest.ends_with(c)
                    && quoted(&rest[o.len() - 1..rest.len() - c.len() + 1])
            })
            .then(|| (id.to_string(), true))
    };
    let (mut declared, mut subgraphs) = (BTreeSet::new(), BTreeSet::new());
    let (mut depth, mut edges, mut count, mut in_legend) = (0, Vec::new(), 0usize, false);
    for line in lines {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("subgraph ") {
            let (id, label) = rest.split_once('[').ok_or(format!("subgraph without label: {l}"))?;
            if !ident(id)
                || !label.ends_with(']')
                || !quoted(&label[..label.len() - 1])
                || !subgraphs.insert(id)
            {
                return Err(format!("bad subgraph: {l}"));
            }
            in_legend = id == "legend";
            depth += 1;
        } else if l == "end" {
            depth -= 1;
            in_legend = false;
            if depth < 0 {
                return Err("`end` without `subgraph`".into());
            }
        } else if l == "direction LR" {
            if depth == 0 {
                return Err("direction outside a subgraph".into());
            }
        } else if let Some(rest) = l.strip_prefix("linkStyle ") {
            let (ids, _) = rest.split_once(' ').ok_or("linkStyle without style")?;
            for i in ids.split(',') {
                let i: usize = i.parse().map_err(|_| format!("bad link index in {l}"))?;
                if i >= count {
                    return Err(format!("linkStyle {i} of {count} links"));
                }
            }
        } else if let Some((at, arrow)) =
            [" -->|", " --x|", " -.->|"].iter().filter_map(|a| l.find(a).map(|i| (i, *a))).min()
        {
            let (from, rest) = (&l[..at], &l[at + arrow.len()..]);
            let (label, to) = rest.rsplit_once("| ").ok_or(format!("bad edge label: {l}"))?;
            if !quoted(label) {
                return Err(format!("label not quoted: {l}"));
            }
            let (a, b) =
                (node(from).ok_or(format!("bad node {from}"))?, node(to).ok_or(format!("bad node {to}"))?);
            for (id, decl) in [&a, &b] {
                if *decl {
                    declared.insert(id.clone());
                } else if !declared.contains(id) {
                    return Err(format!("edge to undeclared node {id}"));
                }
            }
            count += 1;
            if !in_legend {
                edges.push((a.0, b.0, label[1..label.len() - 1].to_string()));
            }
        } else {
            let (id, decl) = node(l).ok_or(format!("bad line: {l}"))?;
            if !decl || !declared.insert(id.clone()) || subgraphs.contains(id.as_str()) {
                return Err(format!("node declared twice or without a shape: {l}"));
            }
        }
    }
    if depth != 0 {
        return Err("unbalanced subgraph/end".into());
    }
    Ok(edges)
}

#[test]
fn mermaid_is_well_formed_and_draws_exactly_the_models_edges() {
    for (name, c) in seeds() {
        let p = program(&c);
        let g = source_graph(&c);
        let text = mermaid::render(p, &g);
        let edges = check_mermaid(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        let got: BTreeSet<_> = edges.into_iter().collect();
        let want: BTreeSet<_> = g
            .lines()
            .into_iter()
            .map(|l| (mermaid::id(p, l.from), mermaid::id(p, l.to), l.label.replace('"', "#quot;")))
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn the_mermaid_checker_catches_mistakes() {
    let good =
        "flowchart LR\n  subgraph s[\"x\"]\n    a[\"a\"]\n  end\n  b((\"b\"))\n  a -->|\"tcp 80\"| b\n";
    assert!(check_mermaid(good).is_ok());
    for bad in [
        good.replace("  end\n", ""),
        good.replace("  b((\"b\"))\n", ""),
        good.replace("|\"tcp 80\"|", "|tcp \"80|"),
        good.replace("a[\"a\"]", "a-b[\"a\"]"),
        format!("{good}  linkStyle 1 stroke:red\n"),
    ] {
        assert!(check_mermaid(&bad).is_err(), "accepted:\n{bad}");
    }
}

#[test]
fn ids_are_safe_and_distinct() {
    let keys = ["a-b/c", "a/b-c", "a--b/c", "10.0.0.0/8", "fd00::/8", "a_b", "end", "\"*.x.com\""];
    let ids: BTreeSet<String> = keys.iter().map(|k| graph::ident("n_", k)).collect();
    assert_eq!(ids.len(), keys.len());
    assert!(ids.iter().all(|i| i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
}

// ---- SVG ------------------------------------------------------------------------------------

#[test]
fn svg_is_well_formed_and_names_every_workload() {
    for (name, c) in seeds() {
        let p = program(&c);
        let text = graph::render(p, &source_graph(&c), Format::Svg).expect("small enough");
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let words: BTreeSet<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
        for w in &p.workloads {
            assert!(words.contains(w.name.as_str()), "{name}: no `{}` in the SVG", w.name);
        }
    }
}

#[test]
fn every_format_is_the_same_on_every_run() {
    for (name, c) in seeds() {
        let p = program(&c);
        for f in [Format::Mermaid, Format::Dot, Format::Svg] {
            let first = graph::render(p, &source_graph(&c), f).expect("small enough");
            for _ in 0..3 {
                assert_eq!(
                    graph::render(p, &source_graph(&c), f).expect("small enough"),
                    first,
                    "{name}: {f:?} differs between runs"
                );
            }
        }
    }
}

#[test]
fn snapshots_of_small_programs() {
    for (name, src) in SMALL {
        let c = compile_str(src, &[], &[]);
        let p = program(&c);
        let g = source_graph(&c);
        insta::assert_snapshot!(format!("graph_{name}_mermaid"), mermaid::render(p, &g));
        insta::assert_snapshot!(format!("graph_{name}_dot"), dot::render(p, &g));
        if *name == "edge" || *name == "deny" {
            insta::assert_snapshot!(
                format!("graph_{name}_svg"),
                graph::render(p, &g, Format::Svg).expect("small")
            );
        }
    }
}

#[test]
fn a_target_that_drops_a_rule_shows_it() {
    // Kubernetes' reading of manifests with one ingress rule removed: the edge is dropped.
    let src = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nweb -> db on tcp 5432\n";
    let c = compile_str(src, &[Target::Kubernetes], &[]);
    let p = program(&c);
    let u = Universe::new(p);
    let mut bodies = targets::bodies(&c.outputs[0].1);
    for b in &mut bodies {
        if b["metadata"]["name"] == "db" {
            b["spec"]["ingress"] = serde_json::json!([]);
        }
    }
    let reading = targets::read(Target::Kubernetes, &bodies, &u);
    let g = build(p, &u, &*reading.semantics);
    let drawn = lines(p, &g);
    assert!(
        drawn.contains(&("shop/web".into(), "shop/db".into(), Kind::Dropped, "dropped tcp 5432".into())),
        "{drawn:?}"
    );
}

// ---- the real `dot`, the README, the command line -------------------------------------------

#[test]
fn graphviz_renders_the_dot_when_it_is_installed() {
    let Ok(out) = std::process::Command::new("dot").arg("-V").output() else {
        println!("SKIPPED: Graphviz `dot` is not on PATH");
        return;
    };
    assert!(out.status.success());
    let c = example("examples/event-streams.netpol", &[]);
    let text = dot::render(program(&c), &source_graph(&c));
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run dot");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("dot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "dot: {stderr}");
    let svg = String::from_utf8(out.stdout).expect("utf-8");
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(&svg, options).expect("dot's SVG parses");
    assert!(svg.contains("zookeeper"));
}

/// The Mermaid blocks of the README's "Diagrams" section, by the example each follows.
fn readme_diagrams() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme.split("\n## Diagrams\n").nth(1).expect("a Diagrams section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = BTreeMap::new();
    let mut current = None;
    let mut lines = section.lines();
    while let Some(l) = lines.next() {
        if let Some(path) =
            l.split("](").nth(1).and_then(|r| r.split(')').next()).filter(|p| p.ends_with(".netpol"))
        {
            current = Some(path.to_string());
        }
        if l == "```mermaid" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            out.insert(
                current.clone().expect("a diagram follows a link to its example"),
                body.join("\n") + "\n",
            );
        }
    }
    out
}

#[test]
fn readme_diagrams_are_what_the_tool_prints() {
    let diagrams = readme_diagrams();
    let want =
        ["examples/default-deny.netpol", "examples/event-streams.netpol", "examples/kyma-telemetry.netpol"];
    assert_eq!(diagrams.keys().map(String::as_str).collect::<Vec<_>>(), want);
    for (path, body) in &diagrams {
        let c = example(path, &[]);
        // As the command draws it: the alike edges to kube-dns once.
        let mut g = source_graph(&c);
        g.fold_dns();
        let now = mermaid::render(program(&c), &g);
        assert_eq!(body, &now, "README's diagram of {path} is stale: run `netpol graph {path}`");
    }
}

#[test]
fn the_command_prints_a_diagram_or_the_diagnostics() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .expect("run netpol")
    };
    let ok = run(&["graph", "examples/edges-and-groups.netpol", "--format", "dot", "-t", "calico"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("digraph netpol {"));
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("bad.netpol"),
        "namespace shop\nworkload web { app: web }\nweb accepts tcp 80 from nobody\n",
    )
    .expect("write");
    let bad = dir.path().join("bad.netpol");
    let out = run(&["graph", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0101"));
    // A construct the target cannot express: that target's diagnostics, exit 1.
    let deny = run(&["graph", "examples/deny-rules.netpol", "--target", "kubernetes"]);
    assert_eq!(deny.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&deny.stderr).contains("E0301"));
    // Too dense to lay out as SVG: E0501 at once, exit 1, nothing on stdout; DOT draws it.
    let dense = dir.path().join("dense.netpol");
    std::fs::write(&dense, dense_program(24)).expect("write");
    let svg = run(&["graph", dense.to_str().expect("path"), "--format", "svg"]);
    assert_eq!(svg.status.code(), Some(1));
    assert!(svg.stdout.is_empty());
    let err = String::from_utf8_lossy(&svg.stderr);
    assert!(err.contains("E0501") && err.contains("--format dot"), "{err}");
    let dot = run(&["graph", dense.to_str().expect("path"), "--format", "dot"]);
    assert_eq!(dot.status.code(), Some(0), "{}", String::from_utf8_lossy(&dot.stderr));
    assert!(String::from_utf8_lossy(&dot.stdout).matches(" -> ").count() >= 24 * 24);
}

/// `n` workloads that all accept from all: `n * n` edges.
fn dense_program(n: usize) -> String {
    let mut src = String::from("namespace app\n");
    for i in 0..n {
        src.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    let all: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    src.push_str(&format!("group all = {}\nall accepts tcp 80 from all\n", all.join(", ")));
    src
}

/// Diagrams whose layout once took minutes: a chain where each workload reaches the next
/// three (`layout-rs` walked every path of it to find cycles) and a dense one (its crossing
/// minimisation). Both come out as SVG, the dense one without the crossing minimisation; and
/// past the size limit the diagram is refused, not laid out.
#[test]
fn svg_lays_out_chains_and_dense_diagrams_and_refuses_past_its_limit() {
    let mut chain = String::from("namespace app\n");
    let n = 40;
    for i in 0..n {
        chain.push_str(&format!("workload w{i} {{ app: w{i} }}\n"));
    }
    for i in 0..n {
        for j in [i + 1, i + 2, i + 3] {
            let j = j % n;
            chain.push_str(&format!("w{i} connects to w{j} on tcp 80\nw{j} accepts tcp 80 from w{i}\n"));
        }
    }
    for (src, ok) in [(chain, true), (dense_program(14), true), (dense_program(24), false)] {
        let c = compile_str(&src, &[], &[]);
        let p = program(&c);
        let u = Universe::new(p);
        let g = build(p, &u, &SourceSemantics::new(p, &u));
        match graph::render(p, &g, Format::Svg) {
            Ok(svg) => {
                assert!(ok, "laid out past the limit");
                roxmltree::Document::parse(&svg).expect("well-formed");
                // Every line and every legend entry drawn.
                assert_eq!(svg.matches("<path id=\"arrow").count(), g.lines().len() + g.kinds().len());
            }
            Err(d) => {
                assert!(!ok, "refused: {}", d.message);
                assert_eq!(d.code, "E0501");
            }
        }
    }
}

/// A pod that `a` and `b` both pick gets the rules of both: `x connects to b` and
/// `a accepts from x` let `x` reach it, which no rule's edge says; the diagram draws that
/// connection to the first workload. Without the overlap, the rules' edges cover everything.
#[test]
fn a_pod_two_workloads_pick_draws_what_their_rules_allow_together() {
    use netpol::graph::Node;
    use netpol::ir::{Protocol, WorkloadId};
    let src = |b: &str| {
        format!(
            "namespace shop\nworkload x {{ app: x }}\nworkload a {{ app: a }}\nworkload b {{ {b} }}\n\
             x connects to b on tcp 5000\na accepts tcp 5000 from x\n\
             x connects to a on tcp 6000\nb accepts tcp 6000 from x\n"
        )
    };
    let graph_of = |b: &str| {
        let c = compile_str(&src(b), &[], &[]);
        let p = program(&c).clone();
        let u = Universe::new(&p);
        let g = build(&p, &u, &SourceSemantics::new(&p, &u));
        assert_covers(b, &u, &SourceSemantics::new(&p, &u), &g);
        g
    };
    let (x, a) = (Node::Workload(WorkloadId(0)), Node::Workload(WorkloadId(1)));
    let g = graph_of("tier: backend");
    assert!(g.extra > 0);
    let e = &g.edges[&(x.clone(), a.clone())];
    assert!(
        e.allowed.certain.contains(Protocol::Tcp, 5000) && e.allowed.certain.contains(Protocol::Tcp, 6000)
    );
    let g = graph_of("app: b");
    assert_eq!(g.extra, 0);
    assert!(g.edges[&(x, a)].allowed.possible.is_empty());
}

/// The workloads' alike edges to kube-dns are drawn once, as a note on its node; one that
/// differs keeps its edge, and `--dns` draws them all.
#[test]
fn alike_edges_to_kube_dns_are_drawn_once() {
    let src = "namespace shop\ndefault deny egress\nworkload web { app: web }\nworkload api { app: api }\n\
               workload db { app: db }\nworkload batch { app: batch }\nweb connects to kube-dns\n\
               api connects to kube-dns\ndb connects to kube-dns\nbatch connects to kube-dns on udp 53\n";
    let c = compile_str(src, &[], &[]);
    let p = program(&c);
    let all = source_graph(&c);
    let mut g = all.clone();
    g.fold_dns();
    let dns = graph::Node::Entity(netpol::ir::Entity::KubeDns);
    let into_dns = |g: &Graph| g.edges.keys().filter(|(_, to)| *to == dns).count();
    assert_eq!(into_dns(&all), 4);
    assert_eq!(into_dns(&g), 1, "batch's own edge stays");
    assert_eq!(g.dns, Some(graph::SharedDns { label: "tcp 53 and udp 53".to_string(), workloads: 3 }));
    assert!(g.nodes.contains_key(&dns));
    assert_eq!(g.node_label(p, &dns), "kube-dns (cluster DNS)\ntcp 53 and udp 53 from 3 of 4 workloads");
    let m = mermaid::render(p, &g);
    assert!(m.contains("kube-dns (cluster DNS)<br>tcp 53 and udp 53 from 3 of 4 workloads"), "{m}");
    check_mermaid(&m).expect("well-formed");
    insta::assert_snapshot!("graph_shared_dns_mermaid", m);
    insta::assert_snapshot!("graph_shared_dns_dot", dot::render(p, &g));
    // Deterministic, and every format draws it.
    assert_eq!(mermaid::render(p, &g), m);
    assert!(graph::render(p, &g, Format::Svg).expect("small").contains("3 of 4 workloads"));
    // Nothing to fold: one edge alone stays an edge.
    let c = compile_str("namespace shop\nworkload web { app: web }\nweb connects to kube-dns\n", &[], &[]);
    let mut g = source_graph(&c);
    g.fold_dns();
    assert_eq!(g.dns, None);
    assert_eq!(into_dns(&g), 1);

    // The command folds them; `--dns` draws each.
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
            .args(args)
            .current_dir(root())
            .output()
            .expect("run netpol");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let folded = run(&["graph", "examples/default-deny.netpol"]);
    assert!(folded.contains("tcp 53 and udp 53 from every workload"), "{folded}");
    assert!(!folded.contains("-->|\"tcp 53 and udp 53\"| n_kube_2d_dns"), "{folded}");
    let every = run(&["graph", "examples/default-deny.netpol", "--dns"]);
    assert_eq!(every.matches("-->|\"tcp 53 and udp 53\"| n_kube_2d_dns").count(), 3, "{every}");
}
