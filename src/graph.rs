//! The dependency graph of a lock (petgraph): which packages a target environment installs, and
//! why each is there — the shortest paths from the project's roots.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use pep508_rs::ExtraName;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::environment::TargetEnvironment;
use crate::lockfile::{DependencyKind, LockedProject, PackageId};

/// One node per locked package; one edge per lock dependency (index into the parent's list).
pub struct DependencyGraph {
    graph: DiGraph<PackageId, usize>,
    roots: Vec<PackageId>,
}

/// The part of the graph one environment installs.
#[derive(Debug, Clone, Default)]
pub struct InstalledSet {
    /// Every installed package with the extras activated on it.
    pub packages: BTreeMap<PackageId, BTreeSet<ExtraName>>,
    /// Edges the environment follows: (parent, child).
    edges: BTreeSet<(PackageId, PackageId)>,
}

/// Shortest paths from a root to a package, capped; `total` counts them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyPaths {
    pub paths: Vec<Vec<PackageId>>,
    pub total: usize,
}

impl DependencyGraph {
    pub fn new(project: &LockedProject) -> DependencyGraph {
        let mut graph = DiGraph::with_capacity(project.packages.len(), 0);
        for id in project.ids() {
            graph.add_node(id);
        }
        for (parent, package) in project.packages.iter().enumerate() {
            for (index, dependency) in package.dependencies.iter().enumerate() {
                graph.add_edge(
                    NodeIndex::new(parent),
                    NodeIndex::new(dependency.package.0),
                    index,
                );
            }
        }
        DependencyGraph {
            graph,
            roots: project.roots.clone(),
        }
    }

    pub fn roots(&self) -> &[PackageId] {
        &self.roots
    }

    /// Walk from the roots following the edges whose markers hold in `environment`. Roots bring
    /// every extra and dependency group they declare (as `uv sync --all-extras --all-groups`);
    /// other packages bring the extras their parents ask for.
    pub fn installed(
        &self,
        project: &LockedProject,
        environment: &TargetEnvironment,
    ) -> InstalledSet {
        let mut set = InstalledSet::default();
        let mut queue: VecDeque<PackageId> = VecDeque::new();
        for &root in &self.roots {
            set.packages.insert(root, root_extras(project, root));
            queue.push_back(root);
        }
        while let Some(parent) = queue.pop_front() {
            let extras: Vec<ExtraName> = set.packages[&parent].iter().cloned().collect();
            let is_root = self.roots.contains(&parent);
            for edge in self
                .graph
                .edges_directed(NodeIndex::new(parent.0), Direction::Outgoing)
            {
                let dependency = &project.package(parent).dependencies[*edge.weight()];
                let follows = match &dependency.via {
                    DependencyKind::Normal => true,
                    DependencyKind::Extra(extra) => extras.contains(extra),
                    DependencyKind::Group(_) => is_root,
                };
                if !follows || !dependency.marker.evaluate(environment.markers(), &extras) {
                    continue;
                }
                let child = dependency.package;
                set.edges.insert((parent, child));
                let known = set.packages.entry(child).or_default();
                let before = known.len();
                let is_new = before == 0 && !queue.contains(&child);
                known.extend(dependency.extras.iter().cloned());
                // Revisit a package when it gains extras: they may bring new dependencies.
                if is_new || known.len() > before {
                    queue.push_back(child);
                }
            }
        }
        set
    }

    /// All shortest paths from any root to `target` within `set`, at most `limit` of them.
    pub fn why_paths(&self, set: &InstalledSet, target: PackageId, limit: usize) -> WhyPaths {
        // Breadth-first from all roots at once gives each node its distance and the parents
        // that lie on a shortest path to it.
        let mut distance: BTreeMap<PackageId, usize> = BTreeMap::new();
        let mut parents: BTreeMap<PackageId, Vec<PackageId>> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for &root in &self.roots {
            distance.insert(root, 0);
            queue.push_back(root);
        }
        while let Some(node) = queue.pop_front() {
            let next = distance[&node] + 1;
            for edge in self
                .graph
                .edges_directed(NodeIndex::new(node.0), Direction::Outgoing)
            {
                let child = self.graph[edge.target()];
                if !set.edges.contains(&(node, child)) {
                    continue;
                }
                match distance.get(&child) {
                    None => {
                        distance.insert(child, next);
                        parents.entry(child).or_default().push(node);
                        queue.push_back(child);
                    }
                    Some(&d) if d == next => {
                        let list = parents.entry(child).or_default();
                        if !list.contains(&node) {
                            list.push(node);
                        }
                    }
                    _ => {}
                }
            }
        }
        if !distance.contains_key(&target) {
            return WhyPaths {
                paths: Vec::new(),
                total: 0,
            };
        }
        let total = count_paths(target, &parents, &mut BTreeMap::new());
        let mut paths = Vec::new();
        let mut suffix = vec![target];
        collect_paths(target, &parents, &mut suffix, &mut paths, limit);
        WhyPaths { paths, total }
    }
}

fn root_extras(project: &LockedProject, root: PackageId) -> BTreeSet<ExtraName> {
    project
        .package(root)
        .dependencies
        .iter()
        .filter_map(|dependency| match &dependency.via {
            DependencyKind::Extra(extra) => Some(extra.clone()),
            _ => None,
        })
        .collect()
}

fn count_paths(
    node: PackageId,
    parents: &BTreeMap<PackageId, Vec<PackageId>>,
    memo: &mut BTreeMap<PackageId, usize>,
) -> usize {
    if let Some(&count) = memo.get(&node) {
        return count;
    }
    let count = match parents.get(&node) {
        None => 1,
        Some(list) => list
            .iter()
            .map(|&parent| count_paths(parent, parents, memo))
            .fold(0usize, usize::saturating_add),
    };
    memo.insert(node, count);
    count
}

fn collect_paths(
    node: PackageId,
    parents: &BTreeMap<PackageId, Vec<PackageId>>,
    suffix: &mut Vec<PackageId>,
    paths: &mut Vec<Vec<PackageId>>,
    limit: usize,
) {
    if paths.len() >= limit {
        return;
    }
    match parents.get(&node) {
        None => {
            let mut path = suffix.clone();
            path.reverse();
            paths.push(path);
        }
        Some(list) => {
            for &parent in list {
                suffix.push(parent);
                collect_paths(parent, parents, suffix, paths, limit);
                suffix.pop();
            }
        }
    }
}
