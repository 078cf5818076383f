//! Graphviz DOT export.

use std::io::Write;

use super::{ExportEdge, edge_note, label};
use crate::lockfile::LockedProject;

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "digraph dependencies {{")?;
    writeln!(out, "    rankdir=LR;")?;
    writeln!(out, "    node [shape=box, fontname=\"Helvetica\"];")?;
    for id in project.ids() {
        let shape = if project.roots.contains(&id) {
            ", style=bold"
        } else {
            ""
        };
        writeln!(
            out,
            "    n{} [label={}{shape}];",
            id.0,
            quote(&label(project, id))
        )?;
    }
    for edge in edges {
        match edge_note(edge) {
            Some(note) => writeln!(
                out,
                "    n{} -> n{} [label={}];",
                edge.from.0,
                edge.to.0,
                quote(&note)
            )?,
            None => writeln!(out, "    n{} -> n{};", edge.from.0, edge.to.0)?,
        }
    }
    writeln!(out, "}}")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
