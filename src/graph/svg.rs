//! SVG without Graphviz: the diagram laid out by `layout-rs` (a layered layout written in
//! Rust). It draws no clusters, so each node of a namespace says its namespace on a second
//! line, and the kinds of peer differ by shape and fill. Edges are coloured as in the other
//! formats (allowed black, denied red, dropped orange and dashed), with a legend.

use super::{label, Graph, Kind, Node};
use crate::ir::{Entity, Program};
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use std::collections::BTreeMap;

const FONT: usize = 14;

pub fn render(program: &Program, g: &Graph) -> String {
    if g.nodes.is_empty() {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n\
                <svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n"
            .to_string();
    }
    let dir = Orientation::LeftToRight;
    let mut vg = VisualGraph::new(dir);
    let mut handles = BTreeMap::new();
    for node in g.nodes.keys() {
        let (shape, fill) = shape(program, node);
        let look = StyleAttr::new(Color::fast("black"), 1, Some(Color::fast(fill)), rounded(node), FONT);
        let size = get_shape_size(dir, &shape, FONT, false);
        handles.insert(node, vg.add_node(Element::create(shape, look, dir, size)));
    }
    for l in g.lines() {
        vg.add_edge(arrow(l.kind, &l.label), handles[l.from], handles[l.to]);
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
        vg.add_edge(arrow(k, ""), ends[0], ends[1]);
    }
    let mut writer = SVGWriter::new();
    vg.do_it(false, false, false, &mut writer);
    sort_styles(&writer.finalize())
}

fn shape(program: &Program, node: &Node) -> (ShapeKind, &'static str) {
    let text = label(program, node);
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
