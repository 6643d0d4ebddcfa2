//! Mermaid `flowchart LR`, as GitHub and GitLab render it inside Markdown: a subgraph per
//! namespace, a shape per kind of peer, `-->` allowed, `--x` denied (red), `-.->` dropped
//! (orange), and a legend.

use super::{ident, key, Graph, Kind, Node};
use crate::ir::{Entity, Program};
use std::fmt::Write as _;

const RED: &str = "#d62728";
const ORANGE: &str = "#ff7f0e";

pub fn render(program: &Program, g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let (groups, outside) = g.layout(program);
    for (ns, nodes) in &groups {
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", ident("ns_", ns), text(&format!("namespace {ns}")));
        for node in nodes {
            let _ = writeln!(out, "    {}", node_decl(program, g, node));
        }
        out.push_str("  end\n");
    }
    for node in outside {
        let _ = writeln!(out, "  {}", node_decl(program, g, node));
    }
    let mut styles: Vec<(Kind, usize)> = Vec::new();
    let lines = g.lines();
    for (i, l) in lines.iter().enumerate() {
        let (a, b) = (id(program, l.from), id(program, l.to));
        let _ = writeln!(out, "  {a} {}|\"{}\"| {b}", arrow(l.kind), text(&l.label));
        styles.push((l.kind, i));
    }
    let kinds = g.kinds();
    if !kinds.is_empty() {
        out.push_str("  subgraph legend[\"legend\"]\n    direction LR\n");
        for (i, k) in kinds.iter().enumerate() {
            let _ = writeln!(
                out,
                "    legend_{}[\" \"] {}|\"{}\"| legend_{}[\" \"]",
                2 * i,
                arrow(*k),
                k.legend(),
                2 * i + 1
            );
            styles.push((*k, lines.len() + i));
        }
        out.push_str("  end\n");
    }
    for (kind, color) in [(Kind::Denied, RED), (Kind::Dropped, ORANGE)] {
        let ids: Vec<String> = styles.iter().filter(|s| s.0 == kind).map(|s| s.1.to_string()).collect();
        if !ids.is_empty() {
            let _ =
                writeln!(out, "  linkStyle {} stroke:{color},stroke-width:2px,color:{color}", ids.join(","));
        }
    }
    out
}

fn arrow(kind: Kind) -> &'static str {
    match kind {
        Kind::Allowed => "-->",
        Kind::Denied => "--x",
        Kind::Dropped => "-.->",
    }
}

/// The node's id: `n_` and its key, escaped.
pub fn id(program: &Program, node: &Node) -> String {
    ident("n_", &key(program, node))
}

fn node_decl(program: &Program, g: &Graph, node: &Node) -> String {
    let t = text(&g.node_label(program, node));
    let shape = match node {
        Node::Workload(_) => format!("[\"{t}\"]"),
        Node::WorkloadIn(..) => format!("(\"{t}\")"),
        Node::Namespace(_) | Node::NamespaceSet(_) => format!("[[\"{t}\"]]"),
        Node::Net(_) => format!("[/\"{t}\"/]"),
        Node::Fqdn(_) => format!(">\"{t}\"]"),
        Node::Entity(Entity::Anywhere | Entity::World) => format!("((\"{t}\"))"),
        Node::Entity(Entity::Cluster) => format!("([\"{t}\"])"),
        Node::Entity(Entity::Host) => format!("[/\"{t}\"\\]"),
        Node::Entity(Entity::KubeApiserver) => format!("{{{{\"{t}\"}}}}"),
        Node::Entity(Entity::KubeDns) => format!("[(\"{t}\")]"),
    };
    format!("{}{shape}", id(program, node))
}

/// Text for inside `"…"`: Mermaid's entity codes for the characters that would end or mark
/// it up.
fn text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}
