//! `netpol graph`: the connectivity as a Mermaid, DOT or SVG diagram, as the source means it
//! or as one target's manifests read back mean it.

use crate::analysis::reach::SourceSemantics;
use crate::analysis::targets;
use crate::analysis::universe::Universe;
use crate::diagnostic::Diagnostic;
use crate::driver::Compilation;
use crate::graph;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Mermaid `flowchart LR`, for GitHub and GitLab Markdown
    Mermaid,
    /// Graphviz DOT
    Dot,
    /// SVG, laid out without Graphviz
    Svg,
}

impl GraphFormat {
    fn format(self) -> graph::Format {
        match self {
            GraphFormat::Mermaid => graph::Format::Mermaid,
            GraphFormat::Dot => graph::Format::Dot,
            GraphFormat::Svg => graph::Format::Svg,
        }
    }
}

/// The diagram of a compiled program: the source's meaning (`of` is `None`), or a target's
/// reading of its objects. `None` when the program did not resolve; a diagram too large for
/// its format is a diagnostic. The workloads' alike edges to kube-dns are drawn once
/// ([`graph::Graph::fold_dns`]) unless `every_dns_edge`.
pub fn diagram(
    c: &Compilation,
    of: super::Of,
    format: GraphFormat,
    every_dns_edge: bool,
) -> Option<Result<String, Box<Diagnostic>>> {
    let program = c.program.as_ref()?;
    let u = Universe::new(program);
    let mut g = match of {
        None => graph::build(program, &u, &SourceSemantics::new(program, &u)),
        Some((t, objects)) => graph::build(program, &u, &*targets::read(t, objects, &u).semantics),
    };
    if !every_dns_edge {
        g.fold_dns();
    }
    Some(graph::render(program, &g, format.format()))
}
