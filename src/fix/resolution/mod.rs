//! Resolution: find a whole tree in which every package is ready for the target NumPy, the way
//! a resolver would — PubGrub over the releases of the index, where a release is only taken once
//! the audit's own checks judge it ready or unaffected.
//!
//! The roots are the project's own requirements with its numpy requirement relaxed to the
//! target, plus numpy at the target. Locked releases are preferred (the smallest change): a
//! package that must move gets the oldest ready release newer than the locked one, a package
//! new to the tree the newest ready one. A failure is *proven* (`blocked`) only when every fact
//! in the solver's derivation is one: a requirement, a 1.x build, a listing of releases. A
//! release that could not be judged, or a listing that failed, makes it *incomplete* instead.

mod explain;
mod provider;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures::StreamExt;
use pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName};
use pubgrub::{PubGrubError, SelectedDependencies};
use serde::Serialize;

use super::{PlanInput, ReleaseJudge, RequiresDist, extras_of};
use crate::lockfile::{DependencyKind, PackageSource};
use crate::verdict::Verdict;
pub use explain::Explanation;
pub use provider::JUDGE_AHEAD;
use provider::{Judged, Knowledge, Locked, Missing, Mode, Need, Node, Provider, Setup};

/// PEP 440 version sets, as PubGrub solves over them.
pub type Ranges = pubgrub::Ranges<Version>;

/// At most this many releases are judged for one resolution; past it, releases not judged yet
/// count as unjudged, and a failure that needs them is *incomplete*, never *blocked*.
pub const MAX_JUDGED: usize = 400;
/// At most this many rounds of requests.
const MAX_ROUNDS: usize = 60;
/// Requests of one round under way at once (the HTTP client bounds connections itself).
const FETCHES_AT_ONCE: usize = 64;

/// What the resolution found.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub outcome: Outcome,
    /// Releases judged on the way (beyond those of the lock), by package.
    pub judged: BTreeMap<PackageName, Vec<(Version, Verdict)>>,
    /// Rounds of requests the solver waited for.
    pub rounds: usize,
    /// The releases listed for each package asked about, oldest first.
    pub listed: BTreeMap<PackageName, Vec<Version>>,
    /// When no ready tree was found: the tree with numpy where the lock has it, in which the
    /// blockers that can move to a ready release do (the upgrades that help now).
    pub partial: Option<ResolvedTree>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// A tree in which every package from the index is ready or unaffected, except those in
    /// `unverified` (kept as they are because nothing else could be judged).
    Resolved(ResolvedTree),
    /// No ready tree exists: proven from requirements, 1.x builds and listings alone.
    Blocked(Explanation),
    /// No tree was found, but the proof rests on releases that could not be judged (or the
    /// work bound): the answer is not known.
    Incomplete(Explanation),
}

/// The tree the solver chose.
#[derive(Debug, Clone, Default)]
pub struct ResolvedTree {
    /// Every package in the tree and its release (numpy and the project left out).
    pub versions: BTreeMap<PackageName, Version>,
    /// Extras of each package that some requirement in the tree activates.
    pub extras: BTreeMap<PackageName, BTreeSet<ExtraName>>,
    /// Who requires whom in the tree (`None` is the project), with the requirement's range.
    pub edges: BTreeMap<Option<PackageName>, BTreeMap<PackageName, Ranges>>,
    /// Packages kept at their locked release without being judged ready (lenient mode), and
    /// packages not from an index, which are never judged.
    pub unverified: BTreeMap<PackageName, String>,
    /// Unverified packages kept without their requirements read: what they allow is unknown,
    /// so nothing below them in the tree is confirmed.
    pub requirements_unknown: BTreeSet<PackageName>,
    /// Locked packages that had to move because their locked release's own requirement leaves
    /// out what the tree needs (`parentpin 1.0.0 requires childcap<2, …`).
    pub held_back_by_own_requirement: BTreeMap<PackageName, String>,
}

impl ResolvedTree {
    /// The shortest path from the project to `name` in the tree, as `name==version` steps.
    pub fn why(&self, name: &PackageName) -> Vec<String> {
        let mut parent: BTreeMap<&PackageName, Option<&PackageName>> = BTreeMap::new();
        let mut queue: VecDeque<Option<&PackageName>> = VecDeque::from([None]);
        while let Some(node) = queue.pop_front() {
            let owned = node.cloned();
            for child in self.edges.get(&owned).into_iter().flat_map(|c| c.keys()) {
                if parent.contains_key(child) {
                    continue;
                }
                parent.insert(child, node);
                queue.push_back(Some(child));
            }
        }
        let mut path = Vec::new();
        let mut at = Some(name);
        while let Some(step) = at {
            if !parent.contains_key(step) {
                return Vec::new();
            }
            path.push(match self.versions.get(step) {
                Some(version) => format!("{step}=={version}"),
                None => step.to_string(),
            });
            at = parent[step];
        }
        path.reverse();
        path
    }

    /// The packages in the tree that require `name`, with their requirement's range.
    pub fn required_by(&self, name: &PackageName) -> Vec<(Option<&PackageName>, &Ranges)> {
        self.edges
            .iter()
            .filter_map(|(parent, children)| {
                children.get(name).map(|range| (parent.as_ref(), range))
            })
            .collect()
    }
}

/// Find a ready tree for `input`, judging candidate releases through `judge`.
pub async fn resolve(input: &PlanInput<'_>, judge: &impl ReleaseJudge) -> Resolution {
    let setup = setup(input);
    let mut driver = Driver {
        setup: &setup,
        input,
        knowledge: Knowledge::default(),
        judged_count: 0,
        rounds: 0,
    };
    // The packages that will have to move are listed in one round first.
    let moving: BTreeSet<Need> = setup
        .locked
        .iter()
        .filter(|(_, locked)| {
            locked.from_index && !matches!(locked.verdict, Verdict::Ready | Verdict::Unaffected)
        })
        .map(|(name, _)| Need::Releases(name.clone()))
        .collect();
    if !moving.is_empty() {
        driver.rounds += 1;
        driver.fetch(moving, judge).await;
    }
    let outcome = match driver.run(Mode::Strict, judge).await {
        Run::Solved(tree) => Outcome::Resolved(tree),
        Run::NoSolution(explanation) if explanation.proven => Outcome::Blocked(explanation),
        // Not proven: try again keeping the locked releases that could not be judged. A
        // relaxation has every tree the strict problem has, so its proven failure proves the
        // strict one's too.
        Run::NoSolution(_) | Run::GaveUp(_) => match driver.run(Mode::Lenient, judge).await {
            Run::Solved(tree) => Outcome::Resolved(tree),
            Run::NoSolution(explanation) if explanation.proven => Outcome::Blocked(explanation),
            Run::NoSolution(explanation) => Outcome::Incomplete(explanation),
            Run::GaveUp(reason) => Outcome::Incomplete(Explanation::gave_up(reason)),
        },
    };
    let partial = match &outcome {
        Outcome::Resolved(_) => None,
        Outcome::Blocked(explanation) | Outcome::Incomplete(explanation) => {
            driver.partial(explanation, judge).await
        }
    };
    let mut judged: BTreeMap<PackageName, Vec<(Version, Verdict)>> = BTreeMap::new();
    for ((name, version), found) in &driver.knowledge.judged {
        judged
            .entry(name.clone())
            .or_default()
            .push((version.clone(), found.verdict));
    }
    for releases in judged.values_mut() {
        releases.sort();
    }
    let listed = driver
        .knowledge
        .releases
        .iter()
        .filter_map(|(name, listed)| Some((name.clone(), listed.as_ref().ok()?.clone())))
        .collect();
    Resolution {
        outcome,
        judged,
        rounds: driver.rounds,
        listed,
        partial,
    }
}

enum Run {
    Solved(ResolvedTree),
    NoSolution(Explanation),
    GaveUp(String),
}

struct Driver<'a, 'i> {
    setup: &'a Setup,
    input: &'a PlanInput<'i>,
    knowledge: Knowledge,
    judged_count: usize,
    rounds: usize,
}

/// How many times the partial tree is solved again with more blockers allowed to stay.
const PARTIAL_ATTEMPTS: usize = 8;

impl Driver<'_, '_> {
    /// The partial tree: numpy where the lock has it, the blockers the failure names allowed
    /// to stay, every other blocker moved to a ready release. When that fails too, the
    /// blockers its own failure names may stay as well, and so on.
    async fn partial(
        &mut self,
        failure: &Explanation,
        judge: &impl ReleaseJudge,
    ) -> Option<ResolvedTree> {
        let mut stay: BTreeSet<PackageName> = failure
            .packages
            .iter()
            .filter(|name| self.setup.locked.contains_key(*name))
            .cloned()
            .collect();
        for _ in 0..PARTIAL_ATTEMPTS {
            match self.run_with(Mode::Partial, &stay, judge).await {
                Run::Solved(tree) => return Some(tree),
                Run::NoSolution(explanation) => {
                    let before = stay.len();
                    stay.extend(
                        explanation
                            .packages
                            .iter()
                            .filter(|name| self.setup.locked.contains_key(*name))
                            .cloned(),
                    );
                    if stay.len() == before {
                        return None;
                    }
                }
                Run::GaveUp(_) => return None,
            }
        }
        None
    }

    async fn run(&mut self, mode: Mode, judge: &impl ReleaseJudge) -> Run {
        self.run_with(mode, &BTreeSet::new(), judge).await
    }

    async fn run_with(
        &mut self,
        mode: Mode,
        stay: &BTreeSet<PackageName>,
        judge: &impl ReleaseJudge,
    ) -> Run {
        loop {
            let may_judge = self.judged_count < MAX_JUDGED;
            let provider = Provider::new(self.setup, &self.knowledge, mode, may_judge, stay);
            let needs = match pubgrub::resolve(&provider, Node::Root, provider::root_version()) {
                Ok(solution) => {
                    let tree = self.tree(&provider, &solution);
                    let unsure = self.unsure_assumptions(&provider, &tree);
                    if unsure.is_empty() {
                        return Run::Solved(tree);
                    }
                    unsure
                }
                // The derivation is kept whole: a fact about releases that could not be listed
                // decides whether the failure is proven.
                Err(PubGrubError::NoSolution(derivation)) => {
                    return Run::NoSolution(explain::explain(
                        &derivation,
                        self.setup,
                        &self.knowledge,
                        self.input,
                    ));
                }
                Err(
                    PubGrubError::ErrorChoosingVersion {
                        source: Missing, ..
                    }
                    | PubGrubError::ErrorRetrievingDependencies {
                        source: Missing, ..
                    },
                ) => provider.needs(),
                Err(other) => return Run::GaveUp(other.to_string()),
            };
            if needs.is_empty() {
                return Run::GaveUp("the solver stopped without saying what it needs".into());
            }
            if self.rounds >= MAX_ROUNDS {
                return Run::GaveUp(format!(
                    "stopped after {MAX_ROUNDS} rounds of requests to the index"
                ));
            }
            self.rounds += 1;
            tracing::debug!(round = self.rounds, ?mode, ?needs, "resolution fetches");
            self.fetch(needs, judge).await;
        }
    }

    /// Locked releases taken on their lock edges whose children moved: what they really
    /// require must be read before the tree can stand.
    fn unsure_assumptions(&self, provider: &Provider<'_>, tree: &ResolvedTree) -> BTreeSet<Need> {
        let project = self.input.project;
        provider
            .assumed
            .borrow()
            .iter()
            .filter(|name| {
                let locked = &self.setup.locked[*name];
                tree.versions.get(*name) == locked.version.as_ref()
                    && project
                        .package(locked.id)
                        .dependencies
                        .iter()
                        .any(|dependency| {
                            let child = project.package(dependency.package);
                            child.name.as_ref() != "numpy"
                                && self.setup.locked.contains_key(&child.name)
                                && tree.versions.get(&child.name) != child.version.as_ref()
                        })
            })
            .map(|name| Need::LockedRequirements(name.clone()))
            .collect()
    }

    /// Fetch everything a run needed, at once.
    async fn fetch(&mut self, needs: BTreeSet<Need>, judge: &impl ReleaseJudge) {
        let input = self.input;
        let setup = self.setup;
        let fetched: Vec<(Need, Fetched)> = futures::stream::iter(needs)
            .map(|need| async move {
                let fetched = match &need {
                    Need::Releases(name) => Fetched::Releases(judge.releases(name).await),
                    Need::Judge(name, version) => {
                        Fetched::Judged(judge.judge(name, version, &[]).await)
                    }
                    Need::LockedRequirements(name) => {
                        let locked = &setup.locked[name];
                        let package = input.project.package(locked.id);
                        let extras = extras_of(input.installed, locked.id);
                        Fetched::Requirements(judge.locked_requirements(package, &extras).await)
                    }
                };
                (need, fetched)
            })
            .buffer_unordered(FETCHES_AT_ONCE)
            .collect()
            .await;
        for (need, fetched) in fetched {
            match (need, fetched) {
                (Need::Releases(name), Fetched::Releases(listed)) => {
                    let listed = listed.map(|list| {
                        if let Some(likely) = list.first_after_numpy2 {
                            self.knowledge
                                .first_after_numpy2
                                .insert(name.clone(), likely);
                        }
                        list.versions
                    });
                    self.knowledge.releases.insert(name, listed);
                }
                (Need::Judge(name, version), Fetched::Judged(candidate)) => {
                    self.judged_count += 1;
                    self.input.progress.judged_one();
                    let requires_dist = match candidate.verdict {
                        Verdict::Unknown if candidate.requires_dist.is_empty() => {
                            Err(candidate.summary.clone())
                        }
                        _ => Ok(candidate.requires_dist),
                    };
                    self.knowledge.judged.insert(
                        (name, version),
                        Judged {
                            verdict: candidate.verdict,
                            requires_dist,
                            summary: candidate.summary,
                        },
                    );
                }
                (Need::LockedRequirements(name), Fetched::Requirements(read)) => {
                    self.knowledge.locked_requirements.insert(name, read);
                }
                _ => unreachable!("each need is answered by its own kind"),
            }
        }
    }

    /// The tree of a solution: versions, extras, and who requires whom.
    fn tree(
        &self,
        provider: &Provider<'_>,
        solution: &SelectedDependencies<Node, Version>,
    ) -> ResolvedTree {
        use pubgrub::DependencyProvider;
        let mut tree = ResolvedTree::default();
        for (node, version) in solution.iter() {
            match node {
                Node::Package(name) => {
                    tree.versions.insert(name.clone(), version.clone());
                }
                Node::Extra(name, extra) => {
                    tree.extras
                        .entry(name.clone())
                        .or_default()
                        .insert(extra.clone());
                }
                Node::Root | Node::Numpy => {}
            }
        }
        for (node, version) in solution.iter() {
            let parent = match node {
                Node::Root => None,
                Node::Package(name) | Node::Extra(name, _) => Some(name.clone()),
                Node::Numpy => continue,
            };
            let Ok(pubgrub::Dependencies::Available(dependencies)) =
                provider.get_dependencies(node, version)
            else {
                continue;
            };
            for (child, range) in dependencies {
                let Node::Package(child) = child else {
                    continue;
                };
                if Some(&child) == parent.as_ref() || !tree.versions.contains_key(&child) {
                    continue;
                }
                tree.edges
                    .entry(parent.clone())
                    .or_default()
                    .entry(child)
                    .or_insert(range);
            }
        }
        // Why a locked package moved though nothing requires it elsewhere: its locked
        // release's own requirement leaves out what the tree needs.
        for (name, locked) in &self.setup.locked {
            let (Some(locked_version), Some(version)) = (&locked.version, tree.versions.get(name))
            else {
                continue;
            };
            if locked_version == version {
                continue;
            }
            let Ok(pubgrub::Dependencies::Available(dependencies)) =
                provider.get_dependencies(&Node::Package(name.clone()), locked_version)
            else {
                continue;
            };
            for (child, range) in dependencies {
                let Node::Package(child) = child else {
                    continue;
                };
                if let Some(needed) = tree.versions.get(&child)
                    && !range.contains(needed)
                {
                    tree.held_back_by_own_requirement.insert(
                        name.clone(),
                        format!(
                            "{name} {locked_version} requires `{child}{}`, and the tree needs {child} {needed}",
                            explain::range_text(&range)
                        ),
                    );
                    break;
                }
            }
        }
        if mode_is_partial(provider) {
            return tree;
        }
        for name in provider.taken_unverified.borrow().iter() {
            let locked = &self.setup.locked[name];
            let read = match &locked.requires_dist {
                RequiresDist::Read(_) => true,
                RequiresDist::NotRead => {
                    matches!(self.knowledge.locked_requirements.get(name), Some(Ok(_)))
                }
                RequiresDist::Unreadable(_) => false,
            };
            if !read {
                tree.requirements_unknown.insert(name.clone());
            }
            tree.unverified.insert(
                name.clone(),
                format!("{}: {}", locked.verdict.as_str(), locked.summary),
            );
        }
        // Packages not from an index are taken as the lock has them; only what was judged of
        // them (an installed distribution's files) covers them.
        for (name, locked) in &self.setup.locked {
            if !locked.from_index
                && tree.versions.contains_key(name)
                && !matches!(locked.verdict, Verdict::Ready | Verdict::Unaffected)
            {
                tree.unverified.insert(name.clone(), locked.summary.clone());
            }
        }
        tree
    }
}

fn mode_is_partial(provider: &Provider<'_>) -> bool {
    provider.mode() == Mode::Partial
}

enum Fetched {
    Releases(Result<super::ReleaseList, String>),
    Judged(super::Candidate),
    Requirements(Result<Vec<String>, String>),
}

/// The problem as the solver starts it: the project's requirements, and the locked packages.
fn setup(input: &PlanInput<'_>) -> Setup {
    let project = input.project;
    let markers = input.environment.markers().clone();
    let roots: BTreeSet<&PackageName> = input
        .graph
        .roots()
        .iter()
        .map(|&root| &project.package(root).name)
        .collect();
    let target = input.target.clone();
    // A lock that records no edges at all says nothing of what a release requires.
    let flat = project
        .ids()
        .filter(|id| !input.graph.roots().contains(id))
        .all(|id| project.package(id).dependencies.is_empty());

    // What a locked package stands on in the lock: its edges, each to any release.
    let edges_of = |id| -> Vec<(Node, Ranges)> {
        let package = project.package(id);
        let extras = extras_of(input.installed, id);
        let mut nodes = Vec::new();
        for (index, dependency) in package.dependencies.iter().enumerate() {
            if !input.installed.follows(id, index) {
                continue;
            }
            let child = &project.package(dependency.package).name;
            if roots.contains(child) {
                continue;
            }
            if child.as_ref() == "numpy" {
                nodes.push((Node::Numpy, Ranges::full()));
                continue;
            }
            nodes.push((Node::Package(child.clone()), Ranges::full()));
            for extra in &dependency.extras {
                nodes.push((Node::Extra(child.clone(), extra.clone()), Ranges::full()));
            }
            let _ = &extras;
        }
        nodes
    };
    // What the lock records a package declaring, active in the environment.
    let declared_of = |id| -> Vec<(Node, Ranges)> {
        let package = project.package(id);
        let extras = extras_of(input.installed, id);
        package
            .declared
            .iter()
            .filter(|declared| match &declared.via {
                DependencyKind::Extra(extra) => extras.contains(extra),
                DependencyKind::Normal | DependencyKind::Group(_) => true,
            })
            .filter(|declared| declared.requirement.marker.evaluate(&markers, &extras))
            .filter(|declared| !roots.contains(&declared.requirement.name))
            .flat_map(|declared| provider::nodes_of(&declared.requirement))
            .collect()
    };

    // The project's own requirements keep their floors; their caps and pins are the project's
    // to rewrite, so the solver may move past them (the commands then rewrite them).
    let mut root: Vec<(Node, Ranges)> = Vec::new();
    for &id in input.graph.roots() {
        let nodes = if project.package(id).declared.is_empty() {
            edges_of(id)
        } else {
            declared_of(id)
                .into_iter()
                .map(|(node, range)| (node, floor_of(&range)))
                .collect()
        };
        root.extend(nodes.into_iter().filter(|(node, _)| *node != Node::Numpy));
    }
    // The project's numpy requirement, relaxed to the target.
    root.push((Node::Numpy, Ranges::singleton(target.clone())));
    let mut merged: BTreeMap<Node, Ranges> = BTreeMap::new();
    for (node, range) in root {
        merged
            .entry(node)
            .and_modify(|existing| *existing = existing.intersection(&range))
            .or_insert(range);
    }

    let mut locked = BTreeMap::new();
    for &id in input.installed.packages.keys() {
        let package = project.package(id);
        if input.graph.roots().contains(&id) || package.name.as_ref() == "numpy" {
            continue;
        }
        let from_index = matches!(package.source, PackageSource::Registry(_));
        let (verdict, requires_dist) = input
            .judged
            .get(&id)
            .cloned()
            .unwrap_or((Verdict::Unknown, RequiresDist::NotRead));
        let summary = input.summaries.get(&id).cloned().unwrap_or_else(|| {
            if from_index {
                verdict.as_str().to_string()
            } else {
                format!("{} source, not judged", package.source.kind())
            }
        });
        let recorded = if !from_index && !package.declared.is_empty() {
            declared_of(id)
        } else {
            edges_of(id)
        };
        let edges = (!flat).then(|| {
            package
                .dependencies
                .iter()
                .map(|dependency| project.package(dependency.package).name.clone())
                .collect()
        });
        locked.insert(
            package.name.clone(),
            Locked {
                id,
                version: package.version.clone(),
                from_index,
                verdict,
                summary,
                requires_dist,
                recorded,
                edges,
            },
        );
    }
    Setup {
        target,
        locked_numpy: input.locked_numpy.iter().max().cloned(),
        markers,
        root: merged.into_iter().collect(),
        locked,
    }
}

/// The releases from the lowest one `range` admits up: a requirement with its caps and pins
/// lifted, its floor kept.
fn floor_of(range: &Ranges) -> Ranges {
    use std::ops::Bound;
    match range.iter().next() {
        None => Ranges::empty(),
        Some((Bound::Unbounded, _)) => Ranges::full(),
        Some((Bound::Included(low), _)) => Ranges::higher_than(low.clone()),
        Some((Bound::Excluded(low), _)) => Ranges::strictly_higher_than(low.clone()),
    }
}

/// One package that differs between the lock and the resolved tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeChange {
    pub package: String,
    /// The locked release; absent for a package new to the tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The release in the resolved tree; absent for a package that leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `blocker`, `not-judged`, `required`, `new-dependency` or `no-longer-required`.
    pub reason: &'static str,
    /// In words: which verdict, requirement or parent makes it move.
    pub because: String,
    /// From the project to the package, in the tree it belongs to (the resolved one, or the
    /// lock's for a package that leaves).
    pub why: Vec<String>,
}

/// Every difference between the lock and `tree`, blockers first.
pub fn tree_changes(input: &PlanInput<'_>, tree: &ResolvedTree) -> Vec<TreeChange> {
    let project = input.project;
    let mut locked: BTreeMap<&PackageName, (crate::lockfile::PackageId, Option<&Version>)> =
        BTreeMap::new();
    for &id in input.installed.packages.keys() {
        let package = project.package(id);
        if input.graph.roots().contains(&id) || package.name.as_ref() == "numpy" {
            continue;
        }
        locked.insert(&package.name, (id, package.version.as_ref()));
    }
    let why_locked = input.graph.why_index(input.installed);
    let mut changes = Vec::new();
    for (name, version) in &tree.versions {
        let (from, id) = match locked.get(name) {
            Some((_, Some(from))) if *from == version => continue,
            Some((id, from)) => (from.map(ToString::to_string), Some(*id)),
            None => (None, None),
        };
        let verdict = id
            .and_then(|id| input.judged.get(&id))
            .map(|(verdict, _)| *verdict);
        let required_by = tree.required_by(name);
        let requirement_text = |(parent, range): &(Option<&PackageName>, &Ranges)| {
            let range = explain::range_text(range);
            match parent {
                None => format!("the project requires {name}{range}"),
                Some(parent) => format!(
                    "{parent} {} requires {name}{range}",
                    tree.versions
                        .get(*parent)
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            }
        };
        let (reason, because) = match (verdict, &from) {
            (Some(verdict), _) if verdict.is_blocker() => (
                "blocker",
                format!(
                    "{name} {} is a {}",
                    from.as_deref().unwrap_or_default(),
                    verdict.as_str()
                ),
            ),
            (Some(verdict @ (Verdict::Suspect | Verdict::Unknown)), _) => (
                "not-judged",
                format!(
                    "{name} {} is {}: a release judged ready replaces it",
                    from.as_deref().unwrap_or_default(),
                    verdict.as_str()
                ),
            ),
            (_, None) => (
                "new-dependency",
                required_by
                    .first()
                    .map(requirement_text)
                    .unwrap_or_else(|| "new in the tree".to_string()),
            ),
            (_, Some(_)) if tree.held_back_by_own_requirement.contains_key(name) => {
                ("required", tree.held_back_by_own_requirement[name].clone())
            }
            (_, Some(from)) => {
                let from_version: Option<Version> = from.parse().ok();
                // The requirement in the tree that rules the locked release out.
                let excluding = required_by.iter().find(|(_, range)| {
                    from_version
                        .as_ref()
                        .is_some_and(|from| !range.contains(from))
                });
                (
                    "required",
                    excluding
                        .or(required_by.first())
                        .map(requirement_text)
                        .unwrap_or_else(|| "moved with the tree".to_string()),
                )
            }
        };
        changes.push(TreeChange {
            package: name.to_string(),
            from,
            to: Some(version.to_string()),
            reason,
            because,
            why: tree.why(name),
        });
    }
    for (name, (id, from)) in &locked {
        if tree.versions.contains_key(*name) {
            continue;
        }
        let parents: Vec<String> = input
            .installed
            .parents(*id)
            .into_iter()
            .filter(|parent| !input.graph.roots().contains(parent))
            .map(|parent| project.package(parent).name.to_string())
            .collect();
        let because = if parents.is_empty() {
            "the project no longer requires it".to_string()
        } else {
            format!(
                "{} no longer require{} it in the resolved tree",
                parents.join(", "),
                if parents.len() == 1 { "s" } else { "" }
            )
        };
        changes.push(TreeChange {
            package: name.to_string(),
            from: from.map(ToString::to_string),
            to: None,
            reason: "no-longer-required",
            because,
            why: why_locked
                .paths(*id, 1)
                .paths
                .into_iter()
                .next()
                .map(|path| {
                    path.into_iter()
                        .map(|step| project.package(step).display_id())
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    let order = |reason: &str| match reason {
        "blocker" => 0,
        "not-judged" => 1,
        "required" => 2,
        "new-dependency" => 3,
        _ => 4,
    };
    changes.sort_by(|a, b| (order(a.reason), &a.package).cmp(&(order(b.reason), &b.package)));
    changes
}
