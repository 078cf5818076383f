//! From findings to fixes: a whole ready tree found by resolution (`resolution`), the commands
//! in the project's own tool that lead to it, the numpy pin when no ready tree exists, and one
//! readiness verdict for the project.
//!
//! Planning only reads: it judges candidate releases through a [`ReleaseJudge`] (the audit's
//! judge, with its cache) and never touches the project's files.

pub mod merge;
pub mod pin;
pub mod resolution;
pub mod tool;

use std::collections::BTreeMap;

use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName, Requirement, VersionOrUrl};
use serde::Serialize;

use crate::environment::TargetEnvironment;
use crate::graph::{DependencyGraph, InstalledSet};
use crate::lockfile::{DependencyKind, LockedPackage, LockedProject, PackageId, PackageSource};
use crate::verdict::{ProjectRequirement, Verdict};
use pin::UpperBound;
use resolution::{Explanation, Outcome, Resolution, ResolvedTree, TreeChange};
pub use tool::{PinSpelling, Tool, ToolKind};

/// Judges releases that are not in the lock: the audit's judge behind a seam, so that
/// planning is tested without an index.
pub trait ReleaseJudge {
    /// Stable, unyanked releases of `name` that support the target Python, oldest first.
    fn releases(&self, name: &PackageName) -> impl Future<Output = Result<ReleaseList, String>>;

    /// The verdict on one release for the target, and its `Requires-Dist`.
    fn judge(
        &self,
        name: &PackageName,
        version: &Version,
        extras: &[ExtraName],
    ) -> impl Future<Output = Candidate>;

    /// The `Requires-Dist` of a locked package the audit judged without reading it
    /// ([`RequiresDist::NotRead`]), or why it cannot be read.
    fn locked_requirements(
        &self,
        package: &LockedPackage,
        extras: &[ExtraName],
    ) -> impl Future<Output = Result<Vec<String>, String>>;
}

/// A package's releases, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ReleaseList {
    pub versions: Vec<Version>,
    /// The first uploaded after NumPy 2.0's first release candidate, when an older one is also
    /// listed: the likeliest first ready release, which the resolution judges early (a guess,
    /// never a verdict: releases before it cannot be built against NumPy 2 headers).
    pub first_after_numpy2: Option<Version>,
}

/// What the audit learned of a judged package's own requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiresDist {
    Read(Vec<String>),
    /// Not needed to judge it (the lock says it does not depend on numpy): the resolution
    /// reads it when it needs it.
    NotRead,
    /// The package could not be judged, for this reason.
    Unreadable(String),
}

impl RequiresDist {
    /// The requirements read, or none.
    pub fn read(&self) -> &[String] {
        match self {
            RequiresDist::Read(requires_dist) => requires_dist,
            RequiresDist::NotRead | RequiresDist::Unreadable(_) => &[],
        }
    }
}

/// What judging a candidate release found.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub verdict: Verdict,
    pub requires_dist: Vec<String>,
    /// One line on what decided the verdict (a 1.x build, a cap, why it could not be judged).
    pub summary: String,
}

impl Candidate {
    /// Ready for the target: nothing in it stands in NumPy's way.
    pub fn is_ready(&self) -> bool {
        matches!(self.verdict, Verdict::Ready | Verdict::Unaffected)
    }
}

/// One package to move, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub package: String,
    pub from: Option<String>,
    pub to: String,
    /// Releases from this one up regress: stay below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<String>,
    /// The requirement that asks for the change (`scipy==1.13.0`, `regress>=1.1,<1.3`).
    pub requirement: String,
    /// `blocker`, `numpy`, or in words what requires the move.
    pub reason: String,
    /// The project's own requirement that must change for this one, when it forbids it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_requirement: Option<ProjectChange>,
    /// Line of the package's entry in the lockfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The tool must be held to exactly this release: left free, it would take the newest
    /// release the tree allows, which the resolution did not find ready.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
}

impl Change {
    /// `name==to`: the exact release the audit found ready.
    pub fn exact(&self) -> String {
        format!("{}=={}", self.package, self.to)
    }
}

/// A requirement the project declares itself that must change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectChange {
    /// The requirement as the project writes it today.
    pub current: String,
    /// `main`, `extra:NAME` or `group:NAME`.
    pub declared_in: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixKind {
    /// A newer release is ready and the tree can be made to allow it.
    Upgrade,
    /// The package leaves the ready tree: what required it no longer does.
    Remove,
    /// No ready tree: hold numpy back.
    Pin,
    /// Nothing to suggest: the package cannot be looked up on the index, or the resolution
    /// could not finish.
    None,
}

/// A release checked while looking for a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedRelease {
    pub package: String,
    pub version: String,
    pub ready: bool,
    pub note: String,
}

/// What fixes one blocker.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub kind: FixKind,
    /// The release in the ready tree.
    pub version: Option<String>,
    /// Stay below this release: it and those after it regress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<String>,
    /// One line for people.
    pub message: String,
    /// The blocker's own change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Packages on the blocker's path from the project that move with it, nearest the project
    /// first.
    pub requires_parent_upgrades: Vec<Change>,
    /// The commands that make the change, in the project's tool.
    pub commands: Vec<String>,
    /// Every release of the blocker judged on the way, oldest first.
    pub checked: Vec<CheckedRelease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadinessStatus {
    /// Nothing blocks the target: move numpy.
    Ready,
    /// The resolution found a tree in which every package is ready or unaffected.
    ReadyAfterUpgrades,
    /// The resolution proved that no ready tree exists: pin numpy.
    Blocked,
    /// The answer rests on packages or releases that could not be judged.
    Incomplete,
    /// NumPy 2 is locked next to 1.x-built extensions: imports fail today.
    Broken,
}

impl ReadinessStatus {
    /// The kebab-case name reports use (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            ReadinessStatus::Ready => "ready",
            ReadinessStatus::ReadyAfterUpgrades => "ready-after-upgrades",
            ReadinessStatus::Blocked => "blocked",
            ReadinessStatus::Incomplete => "incomplete",
            ReadinessStatus::Broken => "broken",
        }
    }
}

/// The verdict for the whole project.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub message: String,
    /// Every change the move needs, numpy last.
    pub changes: Vec<Change>,
    /// The commands that make them all.
    pub commands: Vec<String>,
    /// Blockers with no ready release the tree can take.
    pub blocked_by: Vec<String>,
    /// Packages not judged ready (suspect, unknown, not from an index) that the answer does not
    /// cover.
    pub unverified: Vec<String>,
    /// What the resolution found, when it ran (it does when anything must move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ResolutionReport>,
}

/// The resolution as the JSON report gives it (`readiness.resolution`).
#[derive(Debug, Clone, Serialize)]
pub struct ResolutionReport {
    /// `resolved`, `blocked` or `incomplete`.
    pub outcome: &'static str,
    /// Every package that differs between the lock and the resolved tree.
    pub changes: Vec<TreeChange>,
    /// Releases judged beyond those of the lock.
    pub releases_judged: usize,
    /// Rounds of requests the solver waited for.
    pub rounds: usize,
    /// Why no ready tree was found (blocked or incomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// A package whose own requirement would break under the pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinConflict {
    pub package: String,
    pub requirement: String,
}

/// The numpy pin that keeps the lock working while blockers remain.
#[derive(Debug, Clone, Serialize)]
pub struct PinSuggestion {
    /// `numpy<2`.
    pub requirement: String,
    /// True when no ready tree was found: the pin is the fix, not a stopgap.
    pub required: bool,
    /// The blockers that set the bound.
    pub because: Vec<String>,
    /// The project's own requirement that already holds numpy there, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already: Option<String>,
    /// Locked packages that require a NumPy at or above the bound: with these, the pin would
    /// not resolve, so no spelling is offered.
    pub conflicts: Vec<PinConflict>,
    /// What to write where, in the project's tool (absent when a conflict makes it useless).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spelling: Option<PinSpelling>,
}

/// Everything planning needs from the audit.
pub struct PlanInput<'a> {
    pub project: &'a LockedProject,
    pub graph: &'a DependencyGraph,
    pub installed: &'a InstalledSet,
    pub environment: &'a TargetEnvironment,
    pub target: &'a Version,
    /// Each judged package's verdict and what it requires (its locked release).
    pub judged: &'a BTreeMap<PackageId, (Verdict, RequiresDist)>,
    /// One line per judged package on what decided its verdict.
    pub summaries: &'a BTreeMap<PackageId, String>,
    pub locked_numpy: &'a [Version],
    pub project_requirements: &'a [ProjectRequirement],
    pub tool: &'a Tool,
    /// Shows the resolution's releases judged.
    pub progress: &'a dyn crate::observe::StageObserver,
}

/// The plan: a fix per blocker, the readiness verdict and the pin.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fixes: BTreeMap<PackageId, Fix>,
    pub readiness: Readiness,
    pub pin: Option<PinSuggestion>,
}

/// Start judging what a blocker's resolution will likely ask for first — its releases and the
/// next few after the locked one — while the rest of the audit still runs: the judge caches
/// every answer, so the resolution later finds them there. Nothing is decided here.
pub async fn warm_up(judge: &impl ReleaseJudge, package: &LockedPackage) {
    if !matches!(package.source, PackageSource::Registry(_)) {
        return;
    }
    let Some(locked) = &package.version else {
        return;
    };
    let Ok(list) = judge.releases(&package.name).await else {
        return;
    };
    let mut first: Vec<&Version> = list
        .versions
        .iter()
        .filter(|version| *version > locked)
        .take(resolution::JUDGE_AHEAD)
        .collect();
    if let Some(likely) = &list.first_after_numpy2
        && likely > locked
        && !first.contains(&likely)
    {
        first.push(likely);
    }
    futures::future::join_all(
        first
            .into_iter()
            .map(|version| judge.judge(&package.name, version, &[])),
    )
    .await;
}

/// Plan the move to the target for `input`: resolve a ready tree when anything must move.
pub async fn plan(input: &PlanInput<'_>, judge: &impl ReleaseJudge) -> Plan {
    let must_move = input
        .judged
        .values()
        .any(|(verdict, _)| !matches!(verdict, Verdict::Ready | Verdict::Unaffected));
    let resolution = if must_move {
        input.progress.resolving();
        Some(resolution::resolve(input, judge).await)
    } else {
        None
    };
    // The tree the commands lead to: the ready one, or when there is none, the partial one
    // in which the blockers that can move do, with numpy where it is.
    let tree = resolution.as_ref().and_then(|r| match &r.outcome {
        Outcome::Resolved(tree) => Some(tree),
        Outcome::Blocked(_) | Outcome::Incomplete(_) => r.partial.as_ref(),
    });
    let changes = tree
        .map(|tree| resolution::tree_changes(input, tree))
        .unwrap_or_default();
    let actionable = match (resolution.as_ref(), tree) {
        (Some(resolution), Some(tree)) => actionable_changes(input, resolution, tree, &changes),
        _ => Vec::new(),
    };
    let fixes = blocker_fixes(input, resolution.as_ref(), tree, &changes, &actionable);
    let resolved = matches!(
        resolution.as_ref().map(|r| &r.outcome),
        None | Some(Outcome::Resolved(_))
    );
    let pin = pin_suggestion(input, !resolved);
    let readiness = readiness(
        input,
        resolution.as_ref(),
        changes,
        actionable,
        &fixes,
        pin.as_ref(),
    );
    Plan {
        fixes,
        readiness,
        pin,
    }
}

/// The changes a tool must make to reach the resolved tree: every package that moves or is
/// added (those that leave need no command of their own), with the project's own requirement
/// rewritten where it forbids the new release.
fn actionable_changes(
    input: &PlanInput<'_>,
    resolution: &Resolution,
    tree: &ResolvedTree,
    changes: &[TreeChange],
) -> Vec<Change> {
    let mut actionable = Vec::new();
    for change in changes {
        let (Some(to), Ok(name)) = (&change.to, PackageName::new(change.package.clone())) else {
            continue;
        };
        let Ok(version) = to.parse::<Version>() else {
            continue;
        };
        let project_requirement = project_requirement_on(input, &name, &version);
        let locked = input.project.packages.iter().find(|package| {
            package.name == name && package.version.as_ref().map(ToString::to_string) == change.from
        });
        // What a tool left free would take: fine when every release up to it was judged ready;
        // else held below the first that regresses, or to exactly this release.
        let (free, below) = newest_allowed(tree, &name, &version, resolution);
        let exact = project_requirement.is_none() && !free && below.is_none();
        actionable.push(Change {
            package: change.package.clone(),
            from: change.from.clone(),
            to: to.clone(),
            below: below.as_ref().map(ToString::to_string),
            requirement: new_requirement(
                &change.package,
                &version,
                below.as_ref(),
                project_requirement.as_ref(),
            ),
            reason: if change.reason == "blocker" {
                "blocker".to_string()
            } else {
                change.because.clone()
            },
            project_requirement,
            line: locked.map(|package| package.line).filter(|&line| line > 0),
            exact,
        });
    }
    // What the blockers' moves stand on first, then the blockers.
    actionable.sort_by_key(|change| change.reason == "blocker");
    actionable
}

/// Whether a tool left free to take the newest release of `name` the tree allows would still
/// get a ready one (every listed release from `version` up to that newest was judged ready),
/// and otherwise the first release above `version` judged not ready, when every one between
/// was judged ready (a regression to stay below).
fn newest_allowed(
    tree: &ResolvedTree,
    name: &PackageName,
    version: &Version,
    resolution: &Resolution,
) -> (bool, Option<Version>) {
    let Some(listed) = resolution.listed.get(name) else {
        return (false, None);
    };
    let allowed = tree
        .required_by(name)
        .into_iter()
        .fold(resolution::Ranges::full(), |range, (_, required)| {
            range.intersection(required)
        });
    let judged: BTreeMap<&Version, Verdict> = resolution
        .judged
        .get(name)
        .into_iter()
        .flatten()
        .map(|(version, verdict)| (version, *verdict))
        .collect();
    for candidate in listed
        .iter()
        .filter(|v| *v > version && allowed.contains(v))
    {
        match judged.get(candidate) {
            Some(Verdict::Ready | Verdict::Unaffected) => continue,
            Some(_) => return (false, Some(candidate.clone())),
            None => return (false, None),
        }
    }
    (true, None)
}

/// The project's own requirement on `name` that forbids `version`, if it declares one.
fn project_requirement_on(
    input: &PlanInput<'_>,
    name: &PackageName,
    version: &Version,
) -> Option<ProjectChange> {
    for &root in input.graph.roots() {
        let package = input.project.package(root);
        let extras = extras_of(input.installed, root);
        for declared in &package.declared {
            let requirement = &declared.requirement;
            if &requirement.name != name
                || !requirement
                    .marker
                    .evaluate(input.environment.markers(), &extras)
                || admits(requirement, version)
            {
                continue;
            }
            return Some(ProjectChange {
                current: requirement.to_string(),
                declared_in: match &declared.via {
                    DependencyKind::Normal => "main".to_string(),
                    other => other.to_string(),
                },
            });
        }
    }
    None
}

/// Each blocker's fix, read off the resolution.
fn blocker_fixes(
    input: &PlanInput<'_>,
    resolution: Option<&Resolution>,
    tree: Option<&ResolvedTree>,
    changes: &[TreeChange],
    actionable: &[Change],
) -> BTreeMap<PackageId, Fix> {
    let mut fixes = BTreeMap::new();
    for (&id, (verdict, _)) in input.judged {
        if !verdict.is_blocker() {
            continue;
        }
        let package = input.project.package(id);
        let name = &package.name;
        let locked = package
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        // The blocker's releases judged on the way, and those of the packages that move with it.
        let with_it: Vec<PackageName> = std::iter::once(name.clone())
            .chain(
                tree.map(|tree| moved_ancestors(tree, name, actionable))
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|change| PackageName::new(change.package.clone()).ok()),
            )
            .collect();
        let checked: Vec<CheckedRelease> = with_it
            .iter()
            .flat_map(|package| {
                resolution
                    .and_then(|r| r.judged.get(package))
                    .into_iter()
                    .flatten()
                    .map(move |(version, verdict)| CheckedRelease {
                        package: package.to_string(),
                        version: version.to_string(),
                        ready: matches!(verdict, Verdict::Ready | Verdict::Unaffected),
                        note: verdict.as_str().to_string(),
                    })
            })
            .collect();
        let none = |kind: FixKind, message: String| Fix {
            kind,
            version: None,
            below: None,
            message,
            change: None,
            requires_parent_upgrades: Vec::new(),
            commands: Vec::new(),
            checked: checked.clone(),
        };
        if !matches!(package.source, PackageSource::Registry(_)) {
            fixes.insert(
                id,
                none(
                    FixKind::None,
                    format!(
                        "{name} comes from a {} source, not an index: no releases to search",
                        package.source.kind()
                    ),
                ),
            );
            continue;
        }
        let outcome = resolution.map(|r| &r.outcome);
        let resolved = matches!(outcome, Some(Outcome::Resolved(_)));
        let moved = tree.filter(|tree| {
            // In a partial tree a blocker that stays where it is holds numpy back.
            resolved || tree.versions.get(name) != package.version.as_ref()
        });
        let fix = match (moved, outcome) {
            (Some(tree), _) => {
                let ancestors = moved_ancestors(tree, name, actionable);
                let own = actionable.iter().find(|c| c.package == name.as_ref());
                let via = if ancestors.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", with {}",
                        ancestors
                            .iter()
                            .map(|c| match &c.from {
                                Some(from) => format!("{} {from} → {}", c.package, c.to),
                                None => format!("{} {} (new)", c.package, c.to),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let now = if resolved {
                    ""
                } else {
                    " (it works with today's numpy too: an upgrade that helps now)"
                };
                // A parent kept without its requirements read may forbid this release.
                let unconfirmed = tree.required_by(name).into_iter().find_map(|(parent, _)| {
                    parent.filter(|p| tree.requirements_unknown.contains(*p))
                });
                match own {
                    Some(change) if unconfirmed.is_some() => {
                        let parent = unconfirmed.expect("checked above");
                        let parent_id = tree
                            .versions
                            .get(parent)
                            .map(|v| format!("{parent}=={v}"))
                            .unwrap_or_else(|| parent.to_string());
                        let why = tree.unverified.get(parent).cloned().unwrap_or_default();
                        Fix {
                            kind: FixKind::Pin,
                            version: Some(change.to.clone()),
                            below: change.below.clone(),
                            message: format!(
                                "{name} {} is ready, but the tree cannot be shown to take it: cannot read what {parent_id} requires, to check it allows {name} {} ({why}); pin numpy until it can",
                                change.to, change.to
                            ),
                            change: None,
                            requires_parent_upgrades: Vec::new(),
                            commands: Vec::new(),
                            checked: checked.clone(),
                        }
                    }
                    Some(change) => {
                        let mut all = ancestors.clone();
                        all.push(change.clone());
                        Fix {
                            kind: FixKind::Upgrade,
                            version: Some(change.to.clone()),
                            below: change.below.clone(),
                            message: format!("upgrade {name} {locked} → {}{via}{now}", change.to),
                            change: Some(change.clone()),
                            requires_parent_upgrades: ancestors.clone(),
                            commands: input.tool.upgrade_commands(&all),
                            checked: checked.clone(),
                        }
                    }
                    None => {
                        let because = changes
                            .iter()
                            .find(|c| c.package == name.as_ref())
                            .map(|c| c.because.clone())
                            .unwrap_or_default();
                        let movers = moved_lock_ancestors(input, id, actionable);
                        Fix {
                            kind: FixKind::Remove,
                            version: None,
                            below: None,
                            message: format!("{name} {locked} leaves the ready tree: {because}"),
                            change: None,
                            commands: input.tool.upgrade_commands(&movers),
                            requires_parent_upgrades: movers,
                            checked: checked.clone(),
                        }
                    }
                }
            }
            (None, Some(Outcome::Blocked(explanation))) => none(
                FixKind::Pin,
                no_tree_message(input, name, &locked, &checked, explanation, true),
            ),
            (None, Some(Outcome::Incomplete(explanation))) => none(
                FixKind::Pin,
                no_tree_message(input, name, &locked, &checked, explanation, false),
            ),
            (None, _) => none(FixKind::None, String::new()),
        };
        fixes.insert(id, fix);
    }
    fixes
}

/// The fix message of a blocker that cannot move: what its own releases show. Why the tree as
/// a whole is stuck is the readiness line's to say.
fn no_tree_message(
    input: &PlanInput<'_>,
    name: &PackageName,
    locked: &str,
    checked: &[CheckedRelease],
    explanation: &Explanation,
    proven: bool,
) -> String {
    let target = input.target;
    let own: Vec<&CheckedRelease> = checked
        .iter()
        .filter(|c| c.package == name.as_ref())
        .collect();
    let ready = own.iter().find(|c| c.ready);
    let newer = own
        .iter()
        .filter(
            |c| match (c.version.parse::<Version>(), locked.parse::<Version>()) {
                (Ok(v), Ok(l)) => v > l,
                _ => true,
            },
        )
        .count();
    // The other blockers the failure names: those that hold numpy back.
    let others: Vec<String> = explanation
        .packages
        .iter()
        .filter(|package| *package != name)
        .filter(|package| {
            input.judged.iter().any(|(id, (verdict, _))| {
                verdict.is_blocker() && &input.project.package(*id).name == *package
            })
        })
        .map(ToString::to_string)
        .collect();
    match ready {
        Some(ready) if others.is_empty() => format!(
            "{name} {} is ready, but the tree {} take it (see the readiness line): pin numpy until it can",
            ready.version,
            if proven {
                "cannot"
            } else {
                "could not be shown to"
            }
        ),
        Some(ready) => format!(
            "{name} {} is ready, but the tree cannot take it while {} hold{} numpy back: pin numpy until it can",
            ready.version,
            others.join(", "),
            if others.len() == 1 { "s" } else { "" }
        ),
        // What the failure says of this package itself (its parents' requirements on it).
        None if proven && !explanation.facts_about(name).is_empty() => format!(
            "no release of {name} that the tree allows is ready for NumPy {target}: {}; pin numpy until one is",
            explanation.facts_about(name).join("; ")
        ),
        None if newer == 0 => format!(
            "{name} has no release newer than {locked} for CPython {} that the tree allows: pin numpy until a ready one comes out",
            input.environment.python
        ),
        None if proven => format!(
            "none of the {newer} newer release{} of {name} is ready for NumPy {target}: pin numpy until one is",
            if newer == 1 { "" } else { "s" }
        ),
        None => {
            let unjudged: Vec<&String> = explanation
                .missing
                .iter()
                .filter(|fact| fact.starts_with(&format!("{name} ")))
                .collect();
            let why = if unjudged.is_empty() {
                String::new()
            } else {
                format!(
                    "; not judged: {}",
                    unjudged
                        .iter()
                        .map(|fact| fact.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            format!(
                "no ready release of {name} could be confirmed for NumPy {target} ({} judged{why}): pin numpy until one is",
                own.len()
            )
        }
    }
}

/// The changes on `name`'s path from the project in the resolved tree, nearest the project
/// first, itself left out.
fn moved_ancestors(tree: &ResolvedTree, name: &PackageName, actionable: &[Change]) -> Vec<Change> {
    let path = tree.why(name);
    path.iter()
        .take(path.len().saturating_sub(1))
        .filter_map(|step| {
            let package = step.split("==").next().unwrap_or(step);
            actionable.iter().find(|c| c.package == package).cloned()
        })
        .collect()
}

/// The changes among a package's ancestors in the lock (for a package that leaves the tree).
fn moved_lock_ancestors(
    input: &PlanInput<'_>,
    id: PackageId,
    actionable: &[Change],
) -> Vec<Change> {
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = vec![id];
    let mut found = Vec::new();
    while let Some(at) = queue.pop() {
        for parent in input.installed.parents(at) {
            if !seen.insert(parent) {
                continue;
            }
            let name = input.project.package(parent).name.as_ref();
            if let Some(change) = actionable.iter().find(|c| c.package == name) {
                found.push(change.clone());
            }
            queue.push(parent);
        }
    }
    found.sort_by(|a, b| a.package.cmp(&b.package));
    found
}

/// The requirement to write: exact when the project pins exactly, else a floor (and the
/// regression's ceiling). Extras and markers of the project's requirement are kept.
fn new_requirement(
    name: &str,
    version: &Version,
    below: Option<&Version>,
    current: Option<&ProjectChange>,
) -> String {
    let parsed = current.and_then(|c| crate::requirement::parse(&c.current).ok());
    let exact = parsed.as_ref().is_some_and(|requirement| {
        matches!(&requirement.version_or_url, Some(VersionOrUrl::VersionSpecifier(s))
            if s.iter().any(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual)))
    });
    let extras = parsed
        .as_ref()
        .filter(|r| !r.extras.is_empty())
        .map(|r| {
            let names: Vec<String> = r.extras.iter().map(ToString::to_string).collect();
            format!("[{}]", names.join(","))
        })
        .unwrap_or_default();
    let marker = parsed
        .as_ref()
        .and_then(|r| r.marker.contents())
        .map(|m| format!("; {m}"))
        .unwrap_or_default();
    let specifier = match (exact, below) {
        (true, _) => format!("=={version}"),
        (false, Some(below)) => format!(">={version},<{below}"),
        (false, None) => format!(">={version}"),
    };
    format!("{name}{extras}{specifier}{marker}")
}

/// The requirements in `requires_dist` on `name` that apply in the environment.
fn requirements_on(
    requires_dist: &[String],
    name: &PackageName,
    environment: &TargetEnvironment,
    extras: &[ExtraName],
) -> Vec<Requirement> {
    requires_dist
        .iter()
        .filter_map(|line| crate::requirement::parse(line).ok())
        .filter(|requirement| {
            &requirement.name == name && requirement.marker.evaluate(environment.markers(), extras)
        })
        .collect()
}

fn admits(requirement: &Requirement, version: &Version) -> bool {
    match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers.contains(version),
        _ => true,
    }
}

pub(crate) fn extras_of(installed: &InstalledSet, id: PackageId) -> Vec<ExtraName> {
    installed
        .packages
        .get(&id)
        .map(|extras| extras.iter().cloned().collect())
        .unwrap_or_default()
}

/// The project's verdict, and every change in one set of commands.
fn readiness(
    input: &PlanInput<'_>,
    resolution: Option<&Resolution>,
    tree_changes: Vec<TreeChange>,
    changes: Vec<Change>,
    fixes: &BTreeMap<PackageId, Fix>,
    pin: Option<&PinSuggestion>,
) -> Readiness {
    let target = input.target;
    let display = |id: PackageId| {
        let package = input.project.package(id);
        match &package.version {
            Some(version) => format!("{} {version}", package.name),
            None => package.name.to_string(),
        }
    };
    // The blockers with no ready release the tree can take: those that did not move.
    let blockers: Vec<String> = input
        .judged
        .iter()
        .filter(|(id, (verdict, _))| {
            verdict.is_blocker()
                && fixes
                    .get(id)
                    .is_none_or(|fix| !matches!(fix.kind, FixKind::Upgrade | FixKind::Remove))
        })
        .map(|(&id, _)| display(id))
        .collect();
    let broken: Vec<String> = input
        .judged
        .iter()
        .filter(|(_, (verdict, _))| *verdict == Verdict::BinaryBlocker)
        .map(|(&id, _)| display(id))
        .collect();
    let numpy2_locked = input
        .locked_numpy
        .iter()
        .any(|v| v.release().first().is_some_and(|&major| major >= 2));
    let upgrades = |changes: &[Change]| {
        changes
            .iter()
            .map(|c| match &c.from {
                Some(from) => format!("{} {from} → {}", c.package, c.to),
                None => format!("{} {} (new)", c.package, c.to),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // A pin that would break a package needing a newer NumPy is no remedy: say so instead.
    let pin_remedy = match pin {
        Some(pin) if !pin.conflicts.is_empty() => format!(
            "and `{}` would conflict with {}: no NumPy satisfies both, so one of them must go",
            pin.requirement,
            pin.conflicts
                .iter()
                .map(|c| format!("{} (`{}`)", c.package, c.requirement))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(pin) => format!("pin `{}` until a ready release comes out", pin.requirement),
        None => "hold numpy back until a ready release comes out".to_string(),
    };
    let numpy_change = numpy_change(input);
    let mut all = changes.clone();
    all.extend(numpy_change.clone());
    let tree = match resolution.map(|r| &r.outcome) {
        Some(Outcome::Resolved(tree)) => Some(tree),
        _ => None,
    };
    let unverified: Vec<String> = match tree {
        Some(tree) => tree
            .unverified
            .iter()
            .map(|(name, why)| {
                let version = tree
                    .versions
                    .get(name)
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                format!("{name}{version} ({why})")
            })
            .collect(),
        None => input
            .judged
            .iter()
            .filter(|(_, (verdict, _))| matches!(verdict, Verdict::Suspect | Verdict::Unknown))
            .map(|(&id, (verdict, _))| format!("{} ({})", display(id), verdict.as_str()))
            .collect(),
    };
    let explanation = match resolution.map(|r| &r.outcome) {
        Some(Outcome::Blocked(explanation) | Outcome::Incomplete(explanation)) => {
            Some(explanation.clone())
        }
        _ => None,
    };
    // While no ready tree exists, the upgrades that exist still help; numpy stays.
    let help_now = input.tool.upgrade_commands(&changes);
    let (status, message, commands, blocked_by) = match resolution.map(|r| &r.outcome) {
        Some(Outcome::Blocked(explanation)) => {
            let message = format!(
                "blocked: no ready tree exists for NumPy {target}: {}; {pin_remedy}",
                explanation.summary()
            );
            if numpy2_locked && !broken.is_empty() {
                (
                    ReadinessStatus::Broken,
                    broken_message(input, &broken, &message),
                    help_now,
                    blockers,
                )
            } else {
                (ReadinessStatus::Blocked, message, help_now, blockers)
            }
        }
        Some(Outcome::Incomplete(explanation)) => (
            ReadinessStatus::Incomplete,
            format!(
                "incomplete: no ready tree for NumPy {target} could be confirmed, because {}; {pin_remedy}",
                explanation.missing.join("; ")
            ),
            help_now,
            blockers,
        ),
        _ if numpy2_locked && !broken.is_empty() => (
            ReadinessStatus::Broken,
            broken_message(
                input,
                &broken,
                &format!("fixed by {} change(s): {}", all.len(), upgrades(&all)),
            ),
            input.tool.upgrade_commands(&all),
            Vec::new(),
        ),
        _ if !unverified.is_empty() => (
            ReadinessStatus::Incomplete,
            format!(
                "incomplete: for NumPy {target}, {}, except what could not be judged: {}",
                if changes.is_empty() {
                    "nothing blocks the move".to_string()
                } else {
                    format!(
                        "ready after {} change{} ({})",
                        all.len(),
                        plural(all.len()),
                        upgrades(&all)
                    )
                },
                unverified.join(", ")
            ),
            input.tool.upgrade_commands(&all),
            Vec::new(),
        ),
        _ if changes.is_empty()
            && numpy_change
                .as_ref()
                .is_none_or(|c| c.project_requirement.is_none()) =>
        {
            (
                ReadinessStatus::Ready,
                format!("ready now: nothing in the tree blocks NumPy {target}"),
                input.tool.upgrade_commands(&all),
                Vec::new(),
            )
        }
        _ => (
            ReadinessStatus::ReadyAfterUpgrades,
            format!(
                "ready after {} change{}: {}",
                all.len(),
                plural(all.len()),
                upgrades(&all)
            ),
            input.tool.upgrade_commands(&all),
            Vec::new(),
        ),
    };
    let resolution_report = resolution.map(|resolution| ResolutionReport {
        outcome: match resolution.outcome {
            Outcome::Resolved(_) => "resolved",
            Outcome::Blocked(_) => "blocked",
            Outcome::Incomplete(_) => "incomplete",
        },
        changes: tree_changes,
        releases_judged: resolution.judged.values().map(Vec::len).sum(),
        rounds: resolution.rounds,
        explanation,
    });
    // Without a ready tree, numpy itself stays where it is.
    let changes = if resolution.is_some_and(|r| !matches!(r.outcome, Outcome::Resolved(_))) {
        changes
    } else {
        all
    };
    Readiness {
        status,
        message,
        changes,
        commands,
        blocked_by,
        unverified,
        resolution: resolution_report,
    }
}

pub(crate) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The message of a lock whose NumPy 2 sits next to 1.x-built extensions.
fn broken_message(input: &PlanInput<'_>, broken: &[String], remedy: &str) -> String {
    format!(
        "broken: NumPy {} is locked next to 1.x-built extensions ({}), which fail at import today; {remedy}",
        input
            .locked_numpy
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        broken.join(", ")
    )
}

/// Moving numpy itself to the target: the project's capping requirement, and the lock.
fn numpy_change(input: &PlanInput<'_>) -> Option<Change> {
    let target = input.target;
    let locked = input.locked_numpy.iter().max();
    let capping = input
        .project_requirements
        .iter()
        .find(|requirement| requirement.excludes_target);
    if locked.is_some_and(|locked| locked >= target) && capping.is_none() {
        return None;
    }
    let project_requirement = capping.map(|requirement| ProjectChange {
        current: requirement.requirement.clone(),
        declared_in: requirement.declared_in.clone(),
    });
    // Keep the parts of the project's requirement that admit the target (a floor a library
    // wants to keep); when none do, ask for the target itself.
    let requirement = match capping.and_then(|r| crate::requirement::parse(&r.requirement).ok()) {
        Some(requirement) => {
            let kept: Vec<String> = match &requirement.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers
                    .iter()
                    .filter(|s| s.contains(target))
                    .map(ToString::to_string)
                    .collect(),
                _ => Vec::new(),
            };
            let specifier = if kept.is_empty() {
                format!(">={target}")
            } else {
                kept.join(",")
            };
            let marker = requirement
                .marker
                .contents()
                .map(|m| format!("; {m}"))
                .unwrap_or_default();
            format!("numpy{specifier}{marker}")
        }
        None => format!("numpy>={target}"),
    };
    let line = input
        .project
        .packages
        .iter()
        .find(|p| p.name.as_ref() == "numpy")
        .map(|p| p.line)
        .filter(|&line| line > 0);
    Some(Change {
        package: "numpy".to_string(),
        from: locked.map(ToString::to_string),
        to: target.to_string(),
        below: None,
        requirement,
        reason: "numpy".to_string(),
        project_requirement,
        line,
        exact: false,
    })
}

/// The pin that keeps today's lock working while any blocker remains.
fn pin_suggestion(input: &PlanInput<'_>, required: bool) -> Option<PinSuggestion> {
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");
    let two = Version::new([2]);
    let mut bound: Option<UpperBound> = None;
    let mut because = Vec::new();
    for (&id, (verdict, requires_dist)) in input.judged {
        let from_package = match verdict {
            // A 1.x-built extension imports under no NumPy 2.
            Verdict::BinaryBlocker => Some(UpperBound::below(two.clone())),
            Verdict::DeclaredBlocker => {
                let extras = extras_of(input.installed, id);
                requirements_on(requires_dist.read(), &numpy, input.environment, &extras)
                    .iter()
                    .filter(|requirement| !admits(requirement, input.target))
                    .filter_map(|requirement| match &requirement.version_or_url {
                        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                            pin::upper_bound(specifiers)
                        }
                        _ => None,
                    })
                    .reduce(UpperBound::min)
                    // A cap below 2 (`<1.28.0`) is held by the resolver itself; the pin only
                    // has to keep NumPy 2 out, and says so the way people write it.
                    .map(|cap| {
                        if cap.version < two && input.target >= &two {
                            UpperBound::below(two.clone())
                        } else {
                            cap
                        }
                    })
            }
            _ => None,
        };
        if let Some(from_package) = from_package {
            let package = input.project.package(id);
            because.push(match &package.version {
                Some(version) => format!("{} {version}", package.name),
                None => package.name.to_string(),
            });
            bound = Some(match bound {
                Some(bound) => bound.min(from_package),
                None => from_package,
            });
        }
    }
    let bound = bound?;
    let requirement = format!("numpy{bound}");

    let mut conflicts = Vec::new();
    for (&id, (_, requires_dist)) in input.judged {
        let extras = extras_of(input.installed, id);
        for requirement in requirements_on(requires_dist.read(), &numpy, input.environment, &extras)
        {
            if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url
                && pin::conflicts_with(specifiers, &bound)
            {
                let package = input.project.package(id);
                conflicts.push(PinConflict {
                    package: match &package.version {
                        Some(version) => format!("{} {version}", package.name),
                        None => package.name.to_string(),
                    },
                    requirement: requirement.to_string(),
                });
            }
        }
    }
    let mut already = None;
    for requirement in input.project_requirements {
        let Ok(parsed) = crate::requirement::parse(&requirement.requirement) else {
            continue;
        };
        let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &parsed.version_or_url else {
            continue;
        };
        if pin::conflicts_with(specifiers, &bound) {
            conflicts.push(PinConflict {
                package: format!("{} (the project)", requirement.package),
                requirement: requirement.requirement.clone(),
            });
        } else if holds(specifiers, &bound) {
            already = Some(requirement.requirement.clone());
        }
    }
    let spelling = conflicts.is_empty().then(|| input.tool.pin(&requirement));
    Some(PinSuggestion {
        requirement,
        required,
        because,
        already,
        conflicts,
        spelling,
    })
}

/// Whether `specifiers` already keep numpy within `bound`.
fn holds(specifiers: &VersionSpecifiers, bound: &UpperBound) -> bool {
    pin::upper_bound(specifiers).is_some_and(|own| own.clone().min(bound.clone()) == own)
}
