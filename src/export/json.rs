//! The graph as JSON: a documented contract, versioned by `schema_version`.

use std::io::Write;

use serde::Serialize;

use super::{ExportEdge, Highlights};
use crate::lockfile::LockedProject;

#[derive(Serialize)]
struct GraphDocument<'a> {
    schema_version: u32,
    lockfile: Lockfile,
    roots: Vec<usize>,
    nodes: Vec<Node>,
    edges: Vec<Edge<'a>>,
}

#[derive(Serialize)]
struct Lockfile {
    path: String,
    format: String,
}

#[derive(Serialize)]
struct Node {
    id: usize,
    name: String,
    version: Option<String>,
    source: &'static str,
    /// The audit's verdict, when the graph comes with an audit (`np2audit lock --graph json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'static str>,
}

#[derive(Serialize)]
struct Edge<'a> {
    from: usize,
    to: usize,
    marker: Option<&'a str>,
    extra: Option<&'a str>,
    group: Option<&'a str>,
}

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    highlights: &Highlights,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let document = GraphDocument {
        schema_version: 1,
        lockfile: Lockfile {
            path: project.path.display().to_string(),
            format: project.format.to_string(),
        },
        roots: project.roots.iter().map(|id| id.0).collect(),
        nodes: project
            .ids()
            .map(|id| {
                let package = project.package(id);
                Node {
                    id: id.0,
                    name: package.name.to_string(),
                    version: package.version.as_ref().map(ToString::to_string),
                    source: package.source.kind(),
                    verdict: highlights.get(&id).copied(),
                }
            })
            .collect(),
        edges: edges
            .iter()
            .map(|edge| Edge {
                from: edge.from.0,
                to: edge.to.0,
                marker: edge.marker.as_deref(),
                extra: edge.extra.as_deref(),
                group: edge.group.as_deref(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
