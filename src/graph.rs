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
    /// The same, per lock dependency: (parent, index into its `dependencies`).
    followed: BTreeSet<(PackageId, usize)>,
}

impl InstalledSet {
    /// Whether the environment follows the `index`th dependency of `parent`.
    pub fn follows(&self, parent: PackageId, index: usize) -> bool {
        self.followed.contains(&(parent, index))
    }

    /// The installed packages that depend on `child` in this environment.
    pub fn parents(&self, child: PackageId) -> Vec<PackageId> {
        self.edges
            .iter()
            .filter(|(_, to)| *to == child)
            .map(|(from, _)| *from)
            .collect()
    }
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
                set.followed.insert((parent, *edge.weight()));
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
    /// For many targets, build a [`WhyIndex`] once instead.
    pub fn why_paths(&self, set: &InstalledSet, target: PackageId, limit: usize) -> WhyPaths {
        self.why_index(set).paths(target, limit)
    }

    /// The shortest-path structure from the roots within `set`, shared by every target's
    /// why-paths: one breadth-first walk instead of one per reported package.
    pub fn why_index(&self, set: &InstalledSet) -> WhyIndex {
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
        // Lock order (alphabetical in uv.lock) makes the listed paths the same on every run.
        for list in parents.values_mut() {
            list.sort();
        }
        WhyIndex {
            reached: distance.into_keys().collect(),
            parents,
            counts: std::cell::RefCell::new(BTreeMap::new()),
        }
    }
}

/// Shortest-path parents from the roots (see [`DependencyGraph::why_index`]).
pub struct WhyIndex {
    reached: BTreeSet<PackageId>,
    parents: BTreeMap<PackageId, Vec<PackageId>>,
    /// Paths from the roots to each node, counted once.
    counts: std::cell::RefCell<BTreeMap<PackageId, usize>>,
}

impl WhyIndex {
    /// All shortest paths from any root to `target`, at most `limit` of them, and how many
    /// there are in all.
    pub fn paths(&self, target: PackageId, limit: usize) -> WhyPaths {
        if !self.reached.contains(&target) {
            return WhyPaths {
                paths: Vec::new(),
                total: 0,
            };
        }
        let total = count_paths(target, &self.parents, &mut self.counts.borrow_mut());
        let mut paths = Vec::new();
        let mut suffix = vec![target];
        collect_paths(target, &self.parents, &mut suffix, &mut paths, limit);
        WhyPaths { paths, total }
    }
}

/// Whether the lock records no edges between packages (flat requirement files without
/// `# via` comments, Pipfile.lock, pylock.toml without `dependencies`): only its roots point at
/// packages, so why-paths must come from each package's metadata instead.
pub fn is_flat(project: &LockedProject) -> bool {
    let mut packages = project
        .ids()
        .filter(|id| !project.roots.contains(id))
        .peekable();
    packages.peek().is_some() && packages.all(|id| project.package(id).dependencies.is_empty())
}

/// A flat project with edges inferred from each package's `Requires-Dist`, restricted to the
/// locked packages (the edges pip-compile's `# via` comments would have given). The roots keep
/// their edges only to packages nothing else requires, unless the environment could not reach
/// the package otherwise.
pub fn with_inferred_edges(
    project: &LockedProject,
    requires_dist: &BTreeMap<PackageId, Vec<String>>,
    environment: &TargetEnvironment,
) -> LockedProject {
    use crate::lockfile::LockedDependency;
    use pep508_rs::VersionOrUrl;

    let mut inferred = project.clone();
    let mut required: BTreeSet<PackageId> = BTreeSet::new();
    for (&parent, lines) in requires_dist {
        for line in lines {
            let Ok(requirement) = crate::requirement::parse(line) else {
                continue;
            };
            let candidates = project.ids().filter(|&id| {
                let package = project.package(id);
                id != parent
                    && !project.roots.contains(&id)
                    && package.name == requirement.name
                    && match (&requirement.version_or_url, &package.version) {
                        (Some(VersionOrUrl::VersionSpecifier(specifiers)), Some(version)) => {
                            specifiers.contains(version)
                        }
                        _ => true,
                    }
            });
            for child in candidates.collect::<Vec<_>>() {
                required.insert(child);
                inferred.packages[parent.0]
                    .dependencies
                    .push(LockedDependency {
                        package: child,
                        marker: requirement.marker.clone(),
                        extras: requirement.extras.clone(),
                        via: DependencyKind::Normal,
                    });
            }
        }
    }
    // What a root declares itself stays a direct dependency, whoever else requires it.
    for &root in &project.roots {
        for declared in &project.package(root).declared {
            required.retain(|&id| project.package(id).name != declared.requirement.name);
        }
    }
    let before = DependencyGraph::new(project).installed(project, environment);
    let mut trimmed = inferred.clone();
    for &root in &project.roots {
        trimmed.packages[root.0]
            .dependencies
            .retain(|dependency| !required.contains(&dependency.package));
    }
    // A package only reachable through a cycle of inferred edges keeps its root edge.
    let after = DependencyGraph::new(&trimmed).installed(&trimmed, environment);
    let lost: BTreeSet<PackageId> = before
        .packages
        .keys()
        .filter(|id| !after.packages.contains_key(id))
        .copied()
        .collect();
    for &root in &project.roots {
        trimmed.packages[root.0].dependencies = inferred.packages[root.0]
            .dependencies
            .iter()
            .filter(|d| !required.contains(&d.package) || lost.contains(&d.package))
            .cloned()
            .collect();
    }
    trimmed
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::lockfile::{LockFormat, parse_lockfile};

    /// A diamond (app → a, b → c) plus marker-, extra- and group-guarded edges.
    const LOCK: &str = r#"
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "a" },
    { name = "b" },
    { name = "winonly", marker = "sys_platform == 'win32'" },
]

[package.optional-dependencies]
fast = [{ name = "e", extra = ["speed"] }]

[package.dev-dependencies]
dev = [{ name = "d" }]

[[package]]
name = "a"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "c" }]

[[package]]
name = "b"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "c" }]

[[package]]
name = "c"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "d"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "e"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
speed = [{ name = "f" }]

[[package]]
name = "f"
version = "1.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "winonly"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
"#;

    fn setup(platform: &str) -> (LockedProject, DependencyGraph, InstalledSet) {
        let project =
            parse_lockfile(Path::new("uv.lock"), LockFormat::UvLock, LOCK.as_bytes()).unwrap();
        let graph = DependencyGraph::new(&project);
        let environment =
            TargetEnvironment::new("3.11".parse().unwrap(), platform.parse().unwrap());
        let installed = graph.installed(&project, &environment);
        (project, graph, installed)
    }

    fn id(project: &LockedProject, name: &str) -> PackageId {
        project
            .ids()
            .find(|&id| project.package(id).name.as_ref() == name)
            .unwrap()
    }

    fn names(project: &LockedProject, set: &InstalledSet) -> Vec<String> {
        set.packages
            .keys()
            .map(|&id| project.package(id).name.to_string())
            .collect()
    }

    #[test]
    fn markers_extras_and_groups_decide_what_is_installed() {
        let (project, _, linux) = setup("linux");
        let mut installed = names(&project, &linux);
        installed.sort();
        // `f` comes through the extra `speed` that the project's `fast` extra asks of `e`.
        assert_eq!(installed, ["a", "app", "b", "c", "d", "e", "f"]);
        let (project, _, windows) = setup("windows");
        assert!(names(&project, &windows).contains(&"winonly".to_string()));
    }

    #[test]
    fn why_paths_are_all_the_shortest_ones() {
        let (project, graph, installed) = setup("linux");
        let why = graph.why_paths(&installed, id(&project, "c"), 5);
        assert_eq!(why.total, 2);
        let rendered: Vec<Vec<String>> = why
            .paths
            .iter()
            .map(|path| {
                path.iter()
                    .map(|&n| project.package(n).name.to_string())
                    .collect()
            })
            .collect();
        assert_eq!(rendered, [["app", "a", "c"], ["app", "b", "c"]]);
        let capped = graph.why_paths(&installed, id(&project, "c"), 1);
        assert_eq!((capped.paths.len(), capped.total), (1, 2));
        let not_installed = graph.why_paths(&installed, id(&project, "winonly"), 5);
        assert_eq!(not_installed.total, 0);
    }

    #[test]
    fn flat_projects_get_edges_from_metadata() {
        let flat = r#"
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "pandas" }, { name = "numpy" }, { name = "pytz" }]

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pandas"
version = "2.0.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytz"
version = "2024.1"
source = { registry = "https://pypi.org/simple" }
"#;
        let project =
            parse_lockfile(Path::new("uv.lock"), LockFormat::UvLock, flat.as_bytes()).unwrap();
        assert!(is_flat(&project));
        let environment = TargetEnvironment::new("3.11".parse().unwrap(), "linux".parse().unwrap());
        let pandas = id(&project, "pandas");
        let requires = BTreeMap::from([(
            pandas,
            vec![
                "numpy>=1.23.2; python_version >= \"3.11\"".to_string(),
                "pytz>=2020.1".to_string(),
                "pytest>=7; extra == \"test\"".to_string(),
            ],
        )]);
        let inferred = with_inferred_edges(&project, &requires, &environment);
        assert!(!is_flat(&inferred));
        let graph = DependencyGraph::new(&inferred);
        let installed = graph.installed(&inferred, &environment);
        assert_eq!(installed.packages.len(), 4);
        let why = graph.why_paths(&installed, id(&inferred, "numpy"), 5);
        let path: Vec<String> = why.paths[0]
            .iter()
            .map(|&n| inferred.package(n).name.to_string())
            .collect();
        assert_eq!(path, ["app", "pandas", "numpy"]);
    }

    /// In each environment a lock that forks by Python version installs one version of each
    /// package: the one locked for that Python.
    fn assert_one_version_per_environment(
        lock: &str,
        format: LockFormat,
        forks: &[(&str, &str, &str)],
    ) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(lock);
        let bytes = std::fs::read(&path).unwrap();
        let project = parse_lockfile(&path, format, &bytes).unwrap();
        let graph = DependencyGraph::new(&project);
        for &(python, name, version) in forks {
            let environment =
                TargetEnvironment::new(python.parse().unwrap(), "linux".parse().unwrap());
            let installed = graph.installed(&project, &environment);
            let mut seen = std::collections::HashMap::new();
            for &id in installed.packages.keys() {
                let package = project.package(id);
                let version = package.version.as_ref().map(ToString::to_string);
                if let Some(other) = seen.insert(package.name.to_string(), version.clone()) {
                    panic!(
                        "python {python}: {} twice, {other:?} and {version:?}",
                        package.name
                    );
                }
            }
            assert_eq!(
                seen.get(name),
                Some(&Some(version.to_string())),
                "python {python}"
            );
        }
    }

    #[test]
    fn forked_versions_resolve_per_environment() {
        assert_one_version_per_environment(
            "testdata/lockfiles/ds2023-numpy1/uv.lock",
            LockFormat::UvLock,
            &[
                ("3.10", "contourpy", "1.3.2"),
                ("3.11", "contourpy", "1.3.3"),
            ],
        );
        // Poetry links `scipy = ">=1.8.0"` to both versions it locked; each package's
        // `markers` says where it is installed.
        assert_one_version_per_environment(
            "testdata/lockfiles/poetry-classic/poetry.lock",
            LockFormat::PoetryLock,
            &[("3.10", "scipy", "1.15.3"), ("3.12", "scipy", "1.17.1")],
        );
        assert_one_version_per_environment(
            "testdata/lockfiles/modern-numpy2/poetry.lock",
            LockFormat::PoetryLock,
            &[("3.11", "numpy", "2.4.6"), ("3.12", "numpy", "2.5.5")],
        );
    }
}
