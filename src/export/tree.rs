//! `np2audit tree`: the dependency tree as text, as `uv tree` draws it; repeated subtrees are
//! shown once and marked `(*)`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use pep508_rs::PackageName;

use super::ExportEdge;
use crate::lockfile::{LockedProject, PackageId};

#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Show who depends on this package instead (like `uv tree --invert --package`).
    pub invert: Option<PackageName>,
    /// How deep to draw (the top level is depth 0).
    pub depth: Option<usize>,
}

pub fn render(
    project: &LockedProject,
    edges: &[ExportEdge],
    options: &TreeOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut children: BTreeMap<PackageId, Vec<&ExportEdge>> = BTreeMap::new();
    for edge in edges {
        let (from, _) = oriented(edge, options.invert.is_some());
        children.entry(from).or_default().push(edge);
    }
    for list in children.values_mut() {
        // As uv draws it: plain dependencies first, then those of extras, then of groups.
        list.sort_by_key(|edge| {
            let (_, to) = oriented(edge, options.invert.is_some());
            let kind = u8::from(edge.extra.is_some()) + 2 * u8::from(edge.group.is_some());
            let through = edge.extra.clone().or_else(|| edge.group.clone());
            (kind, through, project.package(to).name.to_string(), to)
        });
        list.dedup_by_key(|edge| {
            let (from, to) = oriented(edge, options.invert.is_some());
            (from, to, edge.extra.clone(), edge.group.clone())
        });
    }
    let tops: Vec<PackageId> = match &options.invert {
        Some(name) => project
            .ids()
            .filter(|&id| &project.package(id).name == name)
            .collect(),
        None => project.roots.clone(),
    };
    let mut seen: BTreeSet<(PackageId, Vec<String>)> = BTreeSet::new();
    let mut repeated = false;
    for top in tops {
        writeln!(out, "{}", label(project, top))?;
        // The top of the tree brings all its extras; deeper nodes only those asked of them.
        let node = Node {
            id: top,
            extras: None,
        };
        draw(
            project,
            &children,
            options,
            &node,
            "",
            1,
            &mut seen,
            &mut repeated,
            out,
        )?;
    }
    if repeated {
        writeln!(out, "(*) Package tree already displayed")?;
    }
    Ok(())
}

/// `name vVERSION`, as `uv tree` writes it.
fn label(project: &LockedProject, id: PackageId) -> String {
    let package = project.package(id);
    match &package.version {
        Some(version) => format!("{} v{version}", package.name),
        None => package.name.to_string(),
    }
}

/// Only extras and groups: markers make trees unreadable (the graph exports keep them).
fn edge_note(edge: &ExportEdge) -> Option<String> {
    match (&edge.extra, &edge.group) {
        (Some(extra), _) => Some(format!("extra: {extra}")),
        (_, Some(group)) => Some(format!("group: {group}")),
        _ => None,
    }
}

/// (parent, child) as drawn: inverted trees walk edges backwards.
fn oriented(edge: &ExportEdge, invert: bool) -> (PackageId, PackageId) {
    if invert {
        (edge.to, edge.from)
    } else {
        (edge.from, edge.to)
    }
}

/// A package as drawn: with the extras its parent asked for (`None`: all of them).
struct Node {
    id: PackageId,
    extras: Option<Vec<String>>,
}

#[allow(clippy::too_many_arguments)]
fn draw(
    project: &LockedProject,
    children: &BTreeMap<PackageId, Vec<&ExportEdge>>,
    options: &TreeOptions,
    node: &Node,
    prefix: &str,
    depth: usize,
    seen: &mut BTreeSet<(PackageId, Vec<String>)>,
    repeated: &mut bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if options.depth.is_some_and(|limit| depth > limit) {
        return Ok(());
    }
    let Some(all) = children.get(&node.id) else {
        return Ok(());
    };
    let invert = options.invert.is_some();
    let list: Vec<&&ExportEdge> = all
        .iter()
        .filter(|edge| match (&edge.extra, &node.extras) {
            (Some(extra), Some(asked)) if !invert => asked.contains(extra),
            _ => true,
        })
        .collect();
    for (index, edge) in list.iter().enumerate() {
        let last = index + 1 == list.len();
        let (_, child) = oriented(edge, options.invert.is_some());
        let note = edge_note(edge)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let extras = if invert {
            Vec::new()
        } else {
            edge.extras.clone()
        };
        let expanded_before = !seen.insert((child, extras.clone()));
        let has_children = children.contains_key(&child);
        let repeat = if expanded_before && has_children {
            *repeated = true;
            " (*)"
        } else {
            ""
        };
        let child_label = if options.invert.is_some() || edge.extras.is_empty() {
            label(project, child)
        } else {
            let package = project.package(child);
            let extras = format!("{}[{}]", package.name, edge.extras.join(", "));
            match &package.version {
                Some(version) => format!("{extras} v{version}"),
                None => extras,
            }
        };
        writeln!(
            out,
            "{prefix}{}{child_label}{note}{repeat}",
            if last { "└── " } else { "├── " },
        )?;
        if !expanded_before {
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            let next = Node {
                id: child,
                extras: Some(extras),
            };
            draw(
                project,
                children,
                options,
                &next,
                &deeper,
                depth + 1,
                seen,
                repeated,
                out,
            )?;
        }
    }
    Ok(())
}
