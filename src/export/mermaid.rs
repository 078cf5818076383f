//! Mermaid flowchart export (renders in GitHub Markdown).

use std::io::Write;

use super::{ExportEdge, edge_note, label};
use crate::lockfile::LockedProject;

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "flowchart LR")?;
    for id in project.ids() {
        writeln!(out, "    n{}[\"{}\"]", id.0, escape(&label(project, id)))?;
    }
    for edge in edges {
        match edge_note(edge) {
            Some(note) => writeln!(
                out,
                "    n{} -->|\"{}\"| n{}",
                edge.from.0,
                escape(&note),
                edge.to.0
            )?,
            None => writeln!(out, "    n{} --> n{}", edge.from.0, edge.to.0)?,
        }
    }
    Ok(())
}

/// Mermaid labels in double quotes take HTML entities for quotes and angle brackets.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
