//! SVG without Graphviz: the diagram laid out by `layout-rs` (a layered layout written in
//! Rust). It draws no clusters, so each node of a namespace says its namespace on a second
//! line, and the kinds of peer differ by shape and fill. Edges are coloured as in the other
//! formats (allowed black, denied red, dropped orange and dashed), with a legend.

use super::{Graph, Kind, Node};
use crate::ir::{Entity, Program};
use layout::adt::dag::NodeHandle;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use std::collections::BTreeMap;

const FONT: usize = 14;

/// The most boxes `layout-rs` is given to place: the nodes, a box per edge label, and a box on
/// each rank a long edge crosses ([`layout_size`]). Placing them takes time that grows faster
/// than their square (about 2 s for 4,000 on one core); a larger diagram is refused, with
/// Graphviz as the way out (E0501).
pub const MAX_LAYOUT_BOXES: u64 = 4000;

/// Above this much work (boxes squared, plus what one pass of the crossing minimisation
/// compares), the crossing minimisation is left out: it makes 50 passes, each growing with
/// the cube of a rank's width, and takes minutes on a dense diagram that it can place in a
/// second without it. Below it, it takes about a second at most.
const CROSSING_BUDGET: u64 = 3_000_000;

/// A diagram too large to lay out: how many boxes it would take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    pub boxes: u64,
}

pub fn render(program: &Program, g: &Graph) -> Result<String, TooLarge> {
    if g.nodes.is_empty() {
        return Ok("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n\
                <svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n"
            .to_string());
    }
    let dir = Orientation::LeftToRight;
    let mut vg = VisualGraph::new(dir);
    let mut handles = BTreeMap::new();
    for node in g.nodes.keys() {
        let (shape, fill) = shape(program, g, node);
        let look = StyleAttr::new(Color::fast("black"), 1, Some(Color::fast(fill)), rounded(node), FONT);
        let size = get_shape_size(dir, &shape, FONT, false);
        handles.insert(node, vg.add_node(Element::create(shape, look, dir, size)));
    }
    let mut edges: Vec<(Arrow, NodeHandle, NodeHandle)> = Vec::new();
    for l in g.lines() {
        edges.push((arrow(l.kind, &l.label), handles[l.from], handles[l.to]));
    }
    for k in g.kinds() {
        let ends: Vec<_> = [format!("legend: {}", k.legend()), " ".to_string()]
            .into_iter()
            .map(|text| {
                let shape = ShapeKind::Box(text);
                let look = StyleAttr::new(Color::fast("white"), 0, Some(Color::fast("white")), 0, FONT);
                let size = get_shape_size(dir, &shape, FONT, false);
                vg.add_node(Element::create(shape, look, dir, size))
            })
            .collect();
        edges.push((arrow(k, ""), ends[0], ends[1]));
    }
    let edges = acyclic(vg.num_nodes(), edges);
    let (boxes, crossing) = layout_size(vg.num_nodes(), &edges);
    if boxes > MAX_LAYOUT_BOXES {
        return Err(TooLarge { boxes });
    }
    for (arrow, from, to) in edges {
        vg.add_edge(arrow, from, to);
    }
    // `layout-rs` checks its whole DAG for cycles after every edge it adds, by a search that
    // walks every path: exponential in the nodes of a dense diagram. The edges come acyclic.
    vg.dag.set_validate(false);
    let skip_crossing = boxes * boxes + crossing > CROSSING_BUDGET;
    let mut writer = SVGWriter::new();
    vg.do_it(false, skip_crossing, false, &mut writer);
    Ok(sort_styles(&writer.finalize()))
}

/// The edges with the back edges turned around (drawn the same way, `Arrow::reverse`), as
/// `layout-rs` turns them (`VisualGraph::to_valid_dag`: in order, an edge whose head already
/// reaches its tail), and in an order in which it finds nothing to turn at once: by the
/// topological rank of the tail. Its own search walks every path from the head, without
/// remembering the nodes it has been through, which is exponential in the paths of the
/// diagram; an edge added before any edge leaves its head has no path to walk.
fn acyclic(
    nodes: usize,
    edges: Vec<(Arrow, NodeHandle, NodeHandle)>,
) -> Vec<(Arrow, NodeHandle, NodeHandle)> {
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    let mut seen = vec![0u32; nodes];
    let mut stamp = 0;
    let mut out = Vec::with_capacity(edges.len());
    for (arrow, from, to) in edges {
        let (a, b) = (from.get_index(), to.get_index());
        if a == b {
            out.push((arrow, from, to));
            continue;
        }
        stamp += 1;
        if reaches(&succ, b, a, &mut seen, stamp) {
            succ[b].push(a);
            out.push((arrow.reverse(), to, from));
        } else {
            succ[a].push(b);
            out.push((arrow, from, to));
        }
    }
    // Kahn's order, lowest node first among the ready ones.
    let mut indegree = vec![0usize; nodes];
    for list in &succ {
        for &b in list {
            indegree[b] += 1;
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> =
        (0..nodes).filter(|n| indegree[*n] == 0).map(std::cmp::Reverse).collect();
    let mut rank = vec![0usize; nodes];
    let mut next = 0;
    while let Some(std::cmp::Reverse(n)) = ready.pop() {
        rank[n] = next;
        next += 1;
        for &b in &succ[n] {
            indegree[b] -= 1;
            if indegree[b] == 0 {
                ready.push(std::cmp::Reverse(b));
            }
        }
    }
    out.sort_by_key(|e| rank[e.1.get_index()]);
    out
}

/// Whether `from` reaches `to` along `succ`: each node visited once.
fn reaches(succ: &[Vec<usize>], from: usize, to: usize, seen: &mut [u32], stamp: u32) -> bool {
    let mut stack = vec![from];
    seen[from] = stamp;
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        for &m in &succ[n] {
            if seen[m] != stamp {
                seen[m] = stamp;
                stack.push(m);
            }
        }
    }
    false
}

fn shape(program: &Program, g: &Graph, node: &Node) -> (ShapeKind, &'static str) {
    let text = g.node_label(program, node);
    let ns = |n: &str| format!("{text}\n{n}");
    match node {
        Node::Workload(w) => {
            (ShapeKind::Box(ns(&program.namespace(program.workload(*w).namespace).name)), "white")
        }
        Node::Namespace(_) | Node::NamespaceSet(_) => (ShapeKind::Box(text), "lightblue"),
        Node::WorkloadIn(..) => (ShapeKind::Box(text), "white"),
        Node::Net(_) => (ShapeKind::Box(format!("network\n{text}")), "lightyellow"),
        Node::Fqdn(_) => (ShapeKind::Box(format!("DNS name\n{text}")), "lavender"),
        Node::Entity(Entity::Anywhere) => (ShapeKind::DoubleCircle(text), "lightyellow"),
        Node::Entity(Entity::World) => (ShapeKind::Circle(text), "lightyellow"),
        Node::Entity(Entity::Cluster) => (ShapeKind::Circle(text), "lightblue"),
        Node::Entity(_) => (ShapeKind::Box(text), "lightgreen"),
    }
}

fn rounded(node: &Node) -> usize {
    match node {
        Node::Workload(_) => 8,
        _ => 0,
    }
}

fn arrow(kind: Kind, text: &str) -> Arrow {
    let (color, style, end) = match kind {
        Kind::Allowed => ("black", LineStyleKind::Normal, LineEndKind::Arrow),
        Kind::Denied => ("#d62728", LineStyleKind::Normal, LineEndKind::Arrow),
        Kind::Dropped => ("#ff7f0e", LineStyleKind::Dashed, LineEndKind::Arrow),
    };
    let width = if kind == Kind::Denied { 2 } else { 1 };
    let look = StyleAttr::new(Color::fast(color), width, None, 0, FONT - 2);
    Arrow::new(LineEndKind::None, end, style, text, &look, &None, &None)
}

/// `layout-rs` writes its font classes in hash-map order; sorted, the output is the same on
/// every run.
fn sort_styles(svg: &str) -> String {
    let (Some(start), Some(end)) = (svg.find("<style>\n"), svg.find("</style>")) else {
        return svg.to_string();
    };
    let body = start + "<style>\n".len();
    let mut lines: Vec<&str> = svg[body..end].lines().collect();
    lines.sort_unstable();
    let mut out = String::with_capacity(svg.len());
    out.push_str(&svg[..body]);
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&svg[end..]);
    out
}

/// What laying the diagram out costs `layout-rs`, from its own steps: every labelled edge gets
/// a node for its label, nodes are ranked by the longest path to them, an edge across several
/// ranks gets a node on each, and the crossing minimisation compares every two nodes of a rank
/// with the next rank. Returns (nodes after those steps, Σ over ranks of width² × next width).
fn layout_size(nodes: usize, edges: &[(Arrow, NodeHandle, NodeHandle)]) -> (u64, u64) {
    // Edges come in the order of the rank of their tail (`acyclic`): one pass ranks them.
    let mut level = vec![0u64; nodes];
    let len = |a: &Arrow| if a.text.is_empty() { 1 } else { 2 };
    for (a, from, to) in edges {
        let (f, t) = (from.get_index(), to.get_index());
        if f != t {
            level[t] = level[t].max(level[f] + len(a));
        }
    }
    let top = level.iter().copied().max().unwrap_or(0) as usize;
    let mut width = vec![0u64; top + 2];
    for l in &level {
        width[*l as usize] += 1;
    }
    for (a, from, to) in edges {
        let (f, t) = (from.get_index(), to.get_index());
        if f == t {
            width[level[f] as usize] += u64::from(!a.text.is_empty());
            continue;
        }
        for l in level[f] + 1..level[t] {
            width[l as usize] += 1;
        }
    }
    let total = width.iter().sum();
    let crossing = width.windows(2).map(|w| w[0] * w[0] * w[1]).sum();
    (total, crossing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `to` is reachable from `from`, the slow way.
    fn path(edges: &[(usize, usize)], from: usize, to: usize) -> bool {
        let mut seen = vec![from];
        let mut i = 0;
        while i < seen.len() {
            let n = seen[i];
            for &(a, b) in edges {
                if a == n && !seen.contains(&b) {
                    seen.push(b);
                }
            }
            i += 1;
        }
        seen.contains(&to)
    }

    /// On a dense diagram with cycles: the edges turned exactly as `layout-rs` turns them (an
    /// edge whose head reaches its tail through the edges before it), drawn the same way, and
    /// ordered so that no edge leaves a node before every edge into it is in: `layout-rs`'s
    /// own cycle search then has no path to walk.
    #[test]
    fn edges_come_acyclic_and_in_topological_order() {
        let n = 12;
        let mut input = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if (i * 7 + j * 3) % 4 != 0 {
                    input.push((i, j));
                }
            }
        }
        // In no particular order, so that the order the edges come in has to change.
        input.sort_by_key(|&(i, j)| (i * 31 + j * 17) % 97);
        let handles: Vec<NodeHandle> = (0..n).map(NodeHandle::new).collect();
        let edges: Vec<_> =
            input.iter().map(|&(a, b)| (Arrow::simple("x"), handles[a], handles[b])).collect();
        let out = acyclic(n, edges);
        assert_eq!(out.len(), input.len());
        // The turns layout-rs makes, edge by edge in the input order.
        let mut dag: Vec<(usize, usize)> = Vec::new();
        let mut expected = Vec::new();
        for &(a, b) in &input {
            let e = if a != b && path(&dag, b, a) { (b, a, true) } else { (a, b, false) };
            if e.0 != e.1 {
                dag.push((e.0, e.1));
            }
            expected.push(e);
        }
        let mut got: Vec<(usize, usize, bool)> = out
            .iter()
            .map(|(arrow, a, b)| (a.get_index(), b.get_index(), matches!(arrow.start, LineEndKind::Arrow)))
            .collect();
        let mut want = expected.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "the same edges, turned where layout-rs turns them");
        for (i, (_, a, b)) in out.iter().enumerate() {
            let head = b.get_index();
            assert!(
                a.get_index() == head || out[..i].iter().all(|(_, t, _)| t.get_index() != head),
                "an edge leaves {head} before edge {i} enters it"
            );
        }
    }
}
