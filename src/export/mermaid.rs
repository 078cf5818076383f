//! Mermaid flowchart export (renders in GitHub Markdown).

use std::io::Write;

use super::{ExportEdge, Highlights, edge_note, label};
use crate::lockfile::LockedProject;

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    highlights: &Highlights,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "flowchart LR")?;
    for id in project.ids() {
        writeln!(out, "    n{}[\"{}\"]", id.0, escape(&label(project, id)))?;
    }
    if !highlights.is_empty() {
        writeln!(out, "    classDef blocker fill:#f4a6a6,stroke:#b00")?;
        writeln!(out, "    classDef doubt fill:#f6d7a0,stroke:#a60")?;
        for (id, verdict) in highlights {
            let class = match *verdict {
                "declared-blocker" | "binary-blocker" => "blocker",
                "suspect" | "unknown" => "doubt",
                _ => continue,
            };
            writeln!(out, "    class n{} {class}", id.0)?;
        }
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
