//! Graphviz DOT: a cluster per namespace, a shape per kind of peer, allowed edges black,
//! denied red with a bar, dropped orange and dashed, and a legend.

use super::{key, Graph, Kind, Node};
use crate::ir::{Entity, Program};
use std::fmt::Write as _;

pub fn render(program: &Program, g: &Graph) -> String {
    let mut out = String::from("digraph netpol {\n  rankdir=LR;\n");
    out.push_str(
        "  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let (groups, outside) = g.layout(program);
    for (ns, nodes) in &groups {
        let _ = writeln!(out, "  subgraph {} {{", quote(&format!("cluster_{ns}")));
        let _ = writeln!(out, "    label={};", quote(&format!("namespace {ns}")));
        for node in nodes {
            let _ = writeln!(out, "    {}", node_decl(program, g, node));
        }
        out.push_str("  }\n");
    }
    for node in outside {
        let _ = writeln!(out, "  {}", node_decl(program, g, node));
    }
    for l in g.lines() {
        let (a, b) = (quote(&key(program, l.from)), quote(&key(program, l.to)));
        let _ = writeln!(out, "  {a} -> {b} [label={}{}];", quote(&l.label), style(l.kind));
    }
    let kinds = g.kinds();
    if !kinds.is_empty() {
        out.push_str("  subgraph \"cluster_legend\" {\n    label=\"legend\";\n");
        out.push_str("    node [shape=point, width=0.05];\n");
        for (i, k) in kinds.iter().enumerate() {
            let _ = writeln!(
                out,
                "    \"legend {}\" -> \"legend {}\" [label={}{}];",
                2 * i,
                2 * i + 1,
                quote(k.legend()),
                style(*k)
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn style(kind: Kind) -> &'static str {
    match kind {
        Kind::Allowed => "",
        Kind::Denied => ", color=\"#d62728\", fontcolor=\"#d62728\", arrowhead=tee, penwidth=2",
        Kind::Dropped => ", color=\"#ff7f0e\", fontcolor=\"#ff7f0e\", style=dashed",
    }
}

fn node_decl(program: &Program, g: &Graph, node: &Node) -> String {
    let shape = match node {
        Node::Workload(_) => "box, style=rounded",
        Node::Namespace(_) => "folder",
        Node::NamespaceSet(_) => "tab",
        Node::WorkloadIn(..) => "box, style=\"rounded,dashed\"",
        Node::Net(_) => "parallelogram",
        Node::Fqdn(_) => "note",
        Node::Entity(Entity::Anywhere) => "doublecircle",
        Node::Entity(Entity::World) => "circle",
        Node::Entity(Entity::Cluster) => "ellipse",
        Node::Entity(Entity::Host) => "house",
        Node::Entity(Entity::KubeApiserver) => "hexagon",
        Node::Entity(Entity::KubeDns) => "cylinder",
    };
    format!("{} [label={}, shape={shape}];", quote(&key(program, node)), quote(&g.node_label(program, node)))
}

/// A DOT quoted string: `"` and `\` escaped, newlines as `\n`.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}
