//! The lock's graph for people and tools, without an audit: a text tree (`np2audit tree`) and
//! DOT, Mermaid and JSON exports (`np2audit graph`). Nothing here touches the network.

mod dot;
mod json;
pub mod mermaid;
mod tree;

use std::collections::BTreeMap;
use std::io::Write;

use crate::environment::TargetEnvironment;
use crate::graph::DependencyGraph;
use crate::lockfile::{DependencyKind, LockedProject, PackageId};

pub use tree::TreeOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    /// The documented JSON contract (schema version 1).
    Json,
}

/// One edge of the exported graph.
#[derive(Debug, Clone)]
pub struct ExportEdge {
    pub from: PackageId,
    pub to: PackageId,
    pub marker: Option<String>,
    /// Extras of the child this edge asks for.
    pub extras: Vec<String>,
    pub extra: Option<String>,
    pub group: Option<String>,
}

/// The edges to show: every edge of the lock (like `uv tree --universal`), or only those one
/// environment follows.
pub fn edges(project: &LockedProject, environment: Option<&TargetEnvironment>) -> Vec<ExportEdge> {
    let installed = environment
        .map(|environment| DependencyGraph::new(project).installed(project, environment));
    let mut edges = Vec::new();
    for from in project.ids() {
        for (index, dependency) in project.package(from).dependencies.iter().enumerate() {
            if installed
                .as_ref()
                .is_some_and(|set| !set.follows(from, index))
            {
                continue;
            }
            edges.push(ExportEdge {
                from,
                to: dependency.package,
                marker: dependency.marker.contents().map(|m| m.to_string()),
                extras: dependency.extras.iter().map(ToString::to_string).collect(),
                extra: match &dependency.via {
                    DependencyKind::Extra(extra) => Some(extra.to_string()),
                    _ => None,
                },
                group: match &dependency.via {
                    DependencyKind::Group(group) => Some(group.clone()),
                    _ => None,
                },
            });
        }
    }
    edges
}

/// Verdict strings by package, to highlight an audit's findings in the graph.
pub type Highlights = BTreeMap<PackageId, &'static str>;

pub fn render_graph(
    project: &LockedProject,
    edges: &[ExportEdge],
    format: GraphFormat,
    highlights: &Highlights,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        GraphFormat::Dot => dot::render(project, edges, highlights, out),
        GraphFormat::Mermaid => mermaid::render(project, edges, highlights, out),
        GraphFormat::Json => json::render(project, edges, highlights, out),
    }
}

pub fn render_tree(
    project: &LockedProject,
    edges: &[ExportEdge],
    options: &TreeOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    tree::render(project, edges, options, out)
}

/// `name version` for people.
fn label(project: &LockedProject, id: PackageId) -> String {
    let package = project.package(id);
    match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.to_string(),
    }
}

/// What qualifies an edge, as `extra: x`, `group: g` and the marker.
fn edge_note(edge: &ExportEdge) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(extra) = &edge.extra {
        parts.push(format!("extra: {extra}"));
    }
    if let Some(group) = &edge.group {
        parts.push(format!("group: {group}"));
    }
    if let Some(marker) = &edge.marker {
        parts.push(marker.clone());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
