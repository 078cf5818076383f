//! Graphviz DOT export.

use std::io::Write;

use super::{ExportEdge, Highlights, edge_note, label};
use crate::lockfile::LockedProject;

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    highlights: &Highlights,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "digraph dependencies {{")?;
    writeln!(out, "    rankdir=LR;")?;
    writeln!(out, "    node [shape=box, fontname=\"Helvetica\"];")?;
    for id in project.ids() {
        let mut shape = String::new();
        if project.roots.contains(&id) {
            shape.push_str(", style=bold");
        }
        if let Some(color) = highlights.get(&id).and_then(|verdict| color(verdict)) {
            shape.push_str(&format!(", style=filled, fillcolor=\"{color}\""));
        }
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

/// Blockers red, doubts amber; the rest stay plain.
fn color(verdict: &str) -> Option<&'static str> {
    match verdict {
        "declared-blocker" | "binary-blocker" => Some("#f4a6a6"),
        "suspect" | "unknown" => Some("#f6d7a0"),
        _ => None,
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
