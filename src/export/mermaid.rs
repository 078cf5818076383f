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
        writeln!(
            out,
            "    n{}[\"{}\"]",
            id.0,
            label_text(&label(project, id))
        )?;
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
                label_text(&note),
                edge.to.0
            )?,
            None => writeln!(out, "    n{} --> n{}", edge.from.0, edge.to.0)?,
        }
    }
    Ok(())
}

/// Text inside a double-quoted Mermaid label: Mermaid's entity codes for what would end or
/// confuse it (`#` first of all, which starts an entity code itself), and no line breaks. The one
/// rule for every Mermaid this program writes (`export --format mermaid`, Markdown reports).
pub fn label_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '#' => escaped.push_str("#35;"),
            '"' => escaped.push_str("#quot;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '\n' | '\r' => escaped.push(' '),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_quoted_safely() {
        assert_eq!(
            label_text("a \"b\" <c> #d"),
            "a #quot;b#quot; #lt;c#gt; #35;d"
        );
        // Text that reads as an entity code stays text.
        assert_eq!(label_text("#quot;"), "#35;quot;");
        assert_eq!(label_text("a\nb"), "a b");
    }
}
