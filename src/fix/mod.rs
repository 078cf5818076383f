//! From findings to fixes: for each blocker the oldest ready release and what else must move
//! for the tree to allow it, the commands in the project's own tool, the numpy pin when nothing
//! is ready, and one readiness verdict for the project.
//!
//! Planning only reads: it judges candidate releases through a [`ReleaseJudge`] (the audit's
//! judge, with its cache) and never touches the project's files.

pub mod pin;
pub mod search;
pub mod tool;

use std::collections::BTreeMap;

use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName, Requirement, VersionOrUrl};
use serde::Serialize;

use crate::audit::{ProjectRequirement, Verdict};
use crate::environment::TargetEnvironment;
use crate::graph::{DependencyGraph, InstalledSet};
use crate::lockfile::{DependencyKind, LockedPackage, LockedProject, PackageId, PackageSource};
use pin::UpperBound;
use search::{Checked, oldest_passing};
pub use tool::{PinSpelling, Tool, ToolKind};

/// How many parents up a chain of required upgrades is followed.
const CHAIN_DEPTH: usize = 3;

/// Judges releases that are not in the lock: the audit's judge behind a seam, so that
/// planning is tested without an index.
pub trait ReleaseJudge {
    /// Stable, unyanked releases of `name` newer than `after` that support the target
    /// Python, oldest first.
    fn newer_releases(
        &self,
        name: &PackageName,
        after: &Version,
    ) -> impl Future<Output = Result<NewerReleases, String>>;

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

/// A blocker's newer releases, oldest first.
#[derive(Debug, Clone, Default)]
pub struct NewerReleases {
    pub versions: Vec<Version>,
    /// The first uploaded after NumPy 2.0's first release candidate, when an older one is also
    /// a candidate: the likeliest first ready release, which the search checks first (a guess,
    /// never a verdict: releases before it cannot be built against NumPy 2 headers).
    pub first_after_numpy2: Option<usize>,
}

/// What the audit learned of a judged package's own requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiresDist {
    Read(Vec<String>),
    /// Not needed to judge it (the lock says it does not depend on numpy): the plan reads it
    /// if the package turns out to be a blocker's parent.
    NotRead,
    /// The package could not be judged, for this reason: a parent like it is never taken to
    /// allow a fix.
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
    /// `blocker`, `numpy`, or `required by NAME VERSION`.
    pub reason: String,
    /// The project's own requirement that must change for this one, when it forbids it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_requirement: Option<ProjectChange>,
    /// Line of the package's entry in the lockfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
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
    /// No ready release (or none the tree allows): hold numpy back.
    Pin,
    /// Nothing to suggest: the package cannot be looked up on the index.
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
    /// The oldest ready release.
    pub version: Option<String>,
    /// Stay below this release: it and those after it regress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<String>,
    /// One line for people.
    pub message: String,
    /// The blocker's own change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Parents that forbid the ready release and must move first, nearest first.
    pub requires_parent_upgrades: Vec<Change>,
    /// The commands that make the change, in the project's tool.
    pub commands: Vec<String>,
    /// Every release judged on the way, oldest first.
    pub checked: Vec<CheckedRelease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadinessStatus {
    /// Nothing blocks the target: move numpy.
    Ready,
    /// Every blocker has a ready upgrade the tree can take.
    ReadyAfterUpgrades,
    /// Some blocker has no ready release: pin numpy.
    Blocked,
    /// NumPy 2 is locked next to 1.x-built extensions: imports fail today.
    Broken,
}

/// The verdict for the whole project.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub message: String,
    /// Every change the move needs, merged over all blockers, numpy last.
    pub changes: Vec<Change>,
    /// The commands that make them all.
    pub commands: Vec<String>,
    /// Blockers with no ready release the tree can take.
    pub blocked_by: Vec<String>,
    /// Packages not judged ready or blocked (suspect, unknown): the verdict does not cover them.
    pub unverified: Vec<String>,
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
    /// True when some blocker has no ready upgrade: the pin is the fix, not a stopgap.
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
    pub locked_numpy: &'a [Version],
    pub project_requirements: &'a [ProjectRequirement],
    pub tool: &'a Tool,
    /// Blockers whose releases were already searched, while the rest of the audit ran.
    pub searched: &'a BTreeMap<PackageId, ReleaseSearch>,
}

/// A blocker's newer releases, searched for the oldest ready one.
#[derive(Debug, Clone)]
pub struct ReleaseSearch {
    /// The extras the releases were judged with.
    extras: Vec<ExtraName>,
    result: Result<(search::SearchOutcome, Vec<CheckedRelease>), String>,
}

/// Search a blocker's newer releases for the oldest ready one, as [`plan`] would. The audit
/// calls this as soon as a blocker's verdict is in, so the search (a few round trips per
/// release checked) overlaps the judging of the rest of the tree instead of following it.
/// `None` when the package has no releases to search (not from an index, or not pinned).
pub async fn search_blocker(
    judge: &impl ReleaseJudge,
    package: &LockedPackage,
    extras: Vec<ExtraName>,
) -> Option<ReleaseSearch> {
    if !matches!(package.source, PackageSource::Registry(_)) {
        return None;
    }
    let locked = package.version.as_ref()?;
    let result = search_ready(judge, &package.name, locked, &extras, |_| None).await;
    Some(ReleaseSearch { extras, result })
}

/// The plan: a fix per blocker, the readiness verdict and the pin.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fixes: BTreeMap<PackageId, Fix>,
    pub readiness: Readiness,
    pub pin: Option<PinSuggestion>,
}

/// Plan the fixes for every blocker in `input`.
pub async fn plan(input: &PlanInput<'_>, judge: &impl ReleaseJudge) -> Plan {
    let blockers: Vec<PackageId> = input
        .judged
        .iter()
        .filter(|(_, (verdict, _))| verdict.is_blocker())
        .map(|(&id, _)| id)
        .collect();
    let fixes: BTreeMap<PackageId, Fix> = futures::future::join_all(
        blockers
            .iter()
            .map(|&id| async move { (id, fix_blocker(input, judge, id).await) }),
    )
    .await
    .into_iter()
    .collect();
    let pin = pin_suggestion(input, &fixes);
    let readiness = readiness(input, &fixes, pin.as_ref());
    Plan {
        fixes,
        readiness,
        pin,
    }
}

async fn fix_blocker(input: &PlanInput<'_>, judge: &impl ReleaseJudge, id: PackageId) -> Fix {
    let package = input.project.package(id);
    let name = &package.name;
    let none = |message: String| Fix {
        kind: FixKind::None,
        version: None,
        below: None,
        message,
        change: None,
        requires_parent_upgrades: Vec::new(),
        commands: Vec::new(),
        checked: Vec::new(),
    };
    if !matches!(package.source, PackageSource::Registry(_)) {
        return none(format!(
            "{name} comes from a {} source, not an index: no releases to search",
            package.source.kind()
        ));
    }
    let Some(locked) = &package.version else {
        return none(format!("{name} has no locked version to upgrade from"));
    };
    let extras = extras_of(input.installed, id);
    // Searched early with the same extras (for a requirements file, edges inferred later may
    // have added some), or searched now.
    let searched = match input
        .searched
        .get(&id)
        .filter(|early| early.extras == extras)
    {
        Some(early) => early.result.clone(),
        None => search_ready(judge, name, locked, &extras, |_| None).await,
    };
    let (outcome, checked) = match searched {
        Ok(found) => found,
        Err(reason) => return none(format!("cannot list the releases of {name}: {reason}")),
    };
    let Some(version) = outcome.found.clone() else {
        let message = if checked.is_empty() {
            format!(
                "{name} has no release newer than {locked} for CPython {}: pin numpy until a ready one comes out",
                input.environment.python
            )
        } else if outcome.exhausted {
            format!(
                "none of the {} newer releases of {name} checked is ready for NumPy {}: pin numpy until one is",
                checked.len(),
                input.target
            )
        } else {
            format!(
                "no newer release of {name} is ready for NumPy {} ({} checked): pin numpy until one is",
                input.target,
                checked.len()
            )
        };
        return Fix {
            kind: FixKind::Pin,
            checked,
            ..none(message)
        };
    };
    let below = outcome.below.clone();
    let mut checked = checked;
    let chain = allow_upgrade(input, judge, id, &version, 0, &mut checked).await;
    let (direct, parents) = match chain {
        Ok(chain) => chain,
        Err(reason) => {
            return Fix {
                kind: FixKind::Pin,
                version: Some(version.to_string()),
                below: below.map(|v| v.to_string()),
                checked,
                ..none(format!(
                    "{name} {version} is ready, but the tree cannot take it: {reason}; pin numpy until it can"
                ))
            };
        }
    };
    let change = change_for(
        input,
        id,
        &version,
        below.as_ref(),
        direct,
        "blocker".into(),
    );
    let mut all = parents.clone();
    all.push(change.clone());
    let commands = input.tool.upgrade_commands(&all);
    let via = if parents.is_empty() {
        String::new()
    } else {
        format!(
            ", after {}",
            parents
                .iter()
                .map(|c| format!("{} {}", c.package, c.to))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let bound = below
        .as_ref()
        .map(|b| format!(" (stay below {b}: it regresses)"))
        .unwrap_or_default();
    Fix {
        kind: FixKind::Upgrade,
        version: Some(version.to_string()),
        below: below.map(|v| v.to_string()),
        message: format!("upgrade {name} {locked} → {version}{bound}{via}"),
        change: Some(change),
        requires_parent_upgrades: parents,
        commands,
        checked,
    }
}

/// Search `name`'s releases newer than `after` for the oldest that is ready and passes
/// `allows` (a parent's extra condition: `None` to pass, `Some(reason)` to fail).
async fn search_ready(
    judge: &impl ReleaseJudge,
    name: &PackageName,
    after: &Version,
    extras: &[ExtraName],
    allows: impl Fn(&Candidate) -> Option<String>,
) -> Result<(search::SearchOutcome, Vec<CheckedRelease>), String> {
    let releases = judge.newer_releases(name, after).await?;
    let allows = &allows;
    let outcome = oldest_passing(
        &releases.versions,
        releases.first_after_numpy2,
        |version| async move {
            let candidate = judge.judge(name, &version, extras).await;
            if !candidate.is_ready() {
                return (false, candidate.verdict.as_str().to_string());
            }
            match allows(&candidate) {
                Some(reason) => (false, reason),
                None => (true, candidate.verdict.as_str().to_string()),
            }
        },
    )
    .await;
    let checked = outcome
        .checked
        .iter()
        .map(
            |Checked {
                 version,
                 passed,
                 note,
             }| CheckedRelease {
                package: name.to_string(),
                version: version.to_string(),
                ready: *passed,
                note: note.clone(),
            },
        )
        .collect();
    Ok((outcome, checked))
}

/// Make the tree allow `child` at `version`: for each installed parent whose requirement
/// forbids it, either the project's own requirement changes, or the parent moves to its oldest
/// ready release that allows it (and so on up, to [`CHAIN_DEPTH`]).
///
/// Returns the project requirement on `child` to change (if any) and the parent changes.
async fn allow_upgrade(
    input: &PlanInput<'_>,
    judge: &impl ReleaseJudge,
    child: PackageId,
    version: &Version,
    depth: usize,
    checked: &mut Vec<CheckedRelease>,
) -> Result<(Option<ProjectChange>, Vec<Change>), String> {
    let child_name = &input.project.package(child).name;
    let mut direct = None;
    let mut changes = Vec::new();
    let mut parents = input.installed.parents(child);
    parents.retain(|&parent| parent != child);
    parents.sort();
    for parent in parents {
        let package = input.project.package(parent);
        let extras = extras_of(input.installed, parent);
        if input.graph.roots().contains(&parent) {
            for declared in &package.declared {
                let requirement = &declared.requirement;
                if &requirement.name != child_name
                    || !requirement
                        .marker
                        .evaluate(input.environment.markers(), &extras)
                    || admits(requirement, version)
                {
                    continue;
                }
                direct = Some(ProjectChange {
                    current: requirement.to_string(),
                    declared_in: match &declared.via {
                        DependencyKind::Normal => "main".to_string(),
                        other => other.to_string(),
                    },
                });
            }
            continue;
        }
        let unreadable = |reason: &str| {
            format!(
                "cannot read what {} requires, to check it allows {child_name} {version}: {reason}",
                package.display_id()
            )
        };
        let read_now;
        let requires_dist = match input.judged.get(&parent) {
            Some((_, RequiresDist::Read(requires_dist))) => requires_dist.as_slice(),
            Some((_, RequiresDist::NotRead)) => {
                read_now = judge
                    .locked_requirements(package, &extras)
                    .await
                    .map_err(|reason| unreadable(&reason))?;
                read_now.as_slice()
            }
            Some((_, RequiresDist::Unreadable(reason))) => return Err(unreadable(reason)),
            None => &[],
        };
        let forbidding = requirements_on(requires_dist, child_name, input.environment, &extras)
            .into_iter()
            .find(|requirement| !admits(requirement, version));
        let Some(forbidding) = forbidding else {
            continue;
        };
        let Some(locked) = &package.version else {
            return Err(format!(
                "{} requires `{forbidding}`, and has no locked version to upgrade from",
                package.name
            ));
        };
        if depth + 1 >= CHAIN_DEPTH {
            return Err(format!(
                "{} {locked} requires `{forbidding}`, and the chain of parents to upgrade is longer than {CHAIN_DEPTH}",
                package.name
            ));
        }
        let environment = input.environment;
        let (outcome, parent_checked) = search_ready(
            judge,
            &package.name,
            locked,
            &extras,
            |candidate: &Candidate| {
                requirements_on(&candidate.requires_dist, child_name, environment, &extras)
                    .into_iter()
                    .find(|requirement| !admits(requirement, version))
                    .map(|requirement| format!("requires `{requirement}`"))
            },
        )
        .await
        .map_err(|reason| format!("cannot list the releases of {}: {reason}", package.name))?;
        checked.extend(parent_checked);
        let Some(parent_version) = outcome.found else {
            return Err(format!(
                "{} {locked} requires `{forbidding}`, and no newer release of {} is both ready and allows {child_name} {version}",
                package.name, package.name
            ));
        };
        let (parent_direct, grandparents) = Box::pin(allow_upgrade(
            input,
            judge,
            parent,
            &parent_version,
            depth + 1,
            checked,
        ))
        .await?;
        changes.extend(grandparents);
        changes.push(change_for(
            input,
            parent,
            &parent_version,
            outcome.below.as_ref(),
            parent_direct,
            format!("{} {locked} requires `{forbidding}`", package.name),
        ));
    }
    Ok((direct, changes))
}

/// The change that moves `id` to `version`.
fn change_for(
    input: &PlanInput<'_>,
    id: PackageId,
    version: &Version,
    below: Option<&Version>,
    project_requirement: Option<ProjectChange>,
    reason: String,
) -> Change {
    let package = input.project.package(id);
    let requirement = new_requirement(
        package.name.as_ref(),
        version,
        below,
        project_requirement.as_ref(),
    );
    Change {
        package: package.name.to_string(),
        from: package.version.as_ref().map(ToString::to_string),
        to: version.to_string(),
        below: below.map(ToString::to_string),
        requirement,
        reason,
        project_requirement,
        line: (package.line > 0).then_some(package.line),
    }
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

fn display(input: &PlanInput<'_>, id: PackageId) -> String {
    let package = input.project.package(id);
    match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.to_string(),
    }
}

/// The project's verdict, and every change merged into one set of commands.
fn readiness(
    input: &PlanInput<'_>,
    fixes: &BTreeMap<PackageId, Fix>,
    pin: Option<&PinSuggestion>,
) -> Readiness {
    let mut merged: BTreeMap<String, Change> = BTreeMap::new();
    for fix in fixes.values().filter(|fix| fix.kind == FixKind::Upgrade) {
        for change in fix.requires_parent_upgrades.iter().chain(&fix.change) {
            merge(&mut merged, change.clone());
        }
    }
    let mut changes: Vec<Change> = merged.into_values().collect();
    // Parents first, in the order they were found; the blockers after them; numpy last.
    changes.sort_by_key(|change| change.reason == "blocker");
    let numpy_change = numpy_change(input);
    let blocked_by: Vec<String> = fixes
        .iter()
        .filter(|(_, fix)| fix.kind != FixKind::Upgrade)
        .map(|(&id, _)| display(input, id))
        .collect();
    let unverified: Vec<String> = input
        .judged
        .iter()
        .filter(|(_, (verdict, _))| matches!(verdict, Verdict::Suspect | Verdict::Unknown))
        .map(|(&id, (verdict, _))| format!("{} ({})", display(input, id), verdict.as_str()))
        .collect();
    let broken: Vec<String> = input
        .judged
        .iter()
        .filter(|(_, (verdict, _))| *verdict == Verdict::BinaryBlocker)
        .map(|(&id, _)| display(input, id))
        .collect();
    let numpy2_locked = input
        .locked_numpy
        .iter()
        .any(|v| v.release().first().is_some_and(|&major| major >= 2));

    let target = input.target;
    let upgrades = |changes: &[Change]| {
        changes
            .iter()
            .map(|c| match &c.from {
                Some(from) => format!("{} {from} → {}", c.package, c.to),
                None => format!("{} → {}", c.package, c.to),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has = |names: &[String]| if names.len() == 1 { "has" } else { "have" };
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
    let (status, mut message) = if numpy2_locked && !broken.is_empty() {
        let remedy = if blocked_by.is_empty() {
            format!(
                "fixed by {} upgrade(s): {}",
                changes.len(),
                upgrades(&changes)
            )
        } else {
            format!(
                "{} {} no ready release; {pin_remedy}",
                blocked_by.join(", "),
                has(&blocked_by)
            )
        };
        (
            ReadinessStatus::Broken,
            format!(
                "broken: NumPy {} is locked next to 1.x-built extensions ({}), which fail at import today; {remedy}",
                input
                    .locked_numpy
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                broken.join(", ")
            ),
        )
    } else if !blocked_by.is_empty() {
        (
            ReadinessStatus::Blocked,
            format!(
                "blocked: {} {} no ready release the tree can take; {pin_remedy}",
                blocked_by.join(", "),
                has(&blocked_by)
            ),
        )
    } else if changes.is_empty()
        && numpy_change
            .as_ref()
            .is_none_or(|c| c.project_requirement.is_none())
    {
        (
            ReadinessStatus::Ready,
            format!("ready now: nothing in the tree blocks NumPy {target}"),
        )
    } else {
        let mut all = changes.clone();
        all.extend(
            numpy_change
                .clone()
                .filter(|c| c.project_requirement.is_some()),
        );
        (
            ReadinessStatus::ReadyAfterUpgrades,
            format!(
                "ready after {} change{}: {}",
                all.len(),
                if all.len() == 1 { "" } else { "s" },
                upgrades(&all)
            ),
        )
    };
    if !unverified.is_empty() {
        message.push_str(&format!(
            " (not covered: {} package(s) could not be judged: {})",
            unverified.len(),
            unverified.join(", ")
        ));
    }
    // While blocked, the upgrades that exist still help; numpy itself stays where it is.
    let mut all = changes;
    if blocked_by.is_empty() {
        all.extend(numpy_change);
    }
    let commands = input.tool.upgrade_commands(&all);
    Readiness {
        status,
        message,
        changes: all,
        commands,
        blocked_by,
        unverified,
    }
}

/// Keep the higher of two changes to one package, with any project requirement either asks for.
fn merge(merged: &mut BTreeMap<String, Change>, change: Change) {
    match merged.get_mut(&change.package) {
        None => {
            merged.insert(change.package.clone(), change);
        }
        Some(existing) => {
            let newer = |c: &Change| c.to.parse::<Version>().ok();
            let requirement = existing
                .project_requirement
                .clone()
                .or(change.project_requirement.clone());
            if newer(&change) > newer(existing) {
                *existing = change;
            }
            existing.project_requirement = requirement;
        }
    }
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
    })
}

/// The pin that keeps today's lock working while any blocker remains.
fn pin_suggestion(
    input: &PlanInput<'_>,
    fixes: &BTreeMap<PackageId, Fix>,
) -> Option<PinSuggestion> {
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
            because.push(display(input, id));
            bound = Some(match bound {
                Some(bound) => bound.min(from_package),
                None => from_package,
            });
        }
    }
    let bound = bound?;
    let requirement = format!("numpy{bound}");
    let required = fixes.values().any(|fix| fix.kind != FixKind::Upgrade);

    let mut conflicts = Vec::new();
    for (&id, (_, requires_dist)) in input.judged {
        let extras = extras_of(input.installed, id);
        for requirement in requirements_on(requires_dist.read(), &numpy, input.environment, &extras)
        {
            if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url
                && pin::conflicts_with(specifiers, &bound)
            {
                conflicts.push(PinConflict {
                    package: display(input, id),
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::environment::{Platform, PythonVersion};
    use crate::lockfile::{LockFormat, parse_lockfile};

    const LOCK: &str = r#"version = 1
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "blocker" }]

[package.metadata]
requires-dist = [{ name = "blocker", specifier = "==1.0.0" }]

[[package]]
name = "blocker"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }
"#;

    /// Releases 1.1.0 and 1.2.0 of `blocker`; 1.2.0 is ready. Counts the searches it serves.
    #[derive(Default)]
    struct CountingJudge {
        listings: AtomicUsize,
    }

    impl ReleaseJudge for CountingJudge {
        async fn newer_releases(
            &self,
            _name: &PackageName,
            _after: &Version,
        ) -> Result<NewerReleases, String> {
            self.listings.fetch_add(1, Ordering::SeqCst);
            Ok(NewerReleases {
                versions: vec![
                    Version::from_str("1.1.0").unwrap(),
                    Version::from_str("1.2.0").unwrap(),
                ],
                first_after_numpy2: None,
            })
        }

        async fn judge(
            &self,
            _name: &PackageName,
            version: &Version,
            _extras: &[ExtraName],
        ) -> Candidate {
            let ready = *version >= Version::from_str("1.2.0").unwrap();
            Candidate {
                verdict: if ready {
                    Verdict::Ready
                } else {
                    Verdict::BinaryBlocker
                },
                requires_dist: Vec::new(),
            }
        }

        async fn locked_requirements(
            &self,
            package: &LockedPackage,
            _extras: &[ExtraName],
        ) -> Result<Vec<String>, String> {
            // The blocker's only parent is the project, whose requirements are in the lock.
            Err(format!("{} is not a parent here", package.name))
        }
    }

    /// Plan the fixes of the lock above, whose `blocker` is a binary blocker, with `searched`
    /// as what the audit searched early; returns the fix found.
    fn plan_with(judge: &CountingJudge, search_early: bool) -> Fix {
        let project =
            parse_lockfile(Path::new("uv.lock"), LockFormat::UvLock, LOCK.as_bytes()).unwrap();
        let graph = DependencyGraph::new(&project);
        let environment = TargetEnvironment::new(
            PythonVersion::new(3, 11),
            Platform::from_str("linux").unwrap(),
        );
        let installed = graph.installed(&project, &environment);
        let blocker = project
            .ids()
            .find(|&id| project.package(id).name.as_ref() == "blocker")
            .unwrap();
        let judged = BTreeMap::from([(
            blocker,
            (Verdict::BinaryBlocker, RequiresDist::Read(Vec::new())),
        )]);
        let mut searched = BTreeMap::new();
        if search_early {
            let extras = extras_of(&installed, blocker);
            let search = futures::executor::block_on(search_blocker(
                judge,
                project.package(blocker),
                extras,
            ));
            searched.insert(blocker, search.unwrap());
        }
        let target = Version::from_str("2.0.0").unwrap();
        let tool = Tool::of(&project);
        let input = PlanInput {
            project: &project,
            graph: &graph,
            installed: &installed,
            environment: &environment,
            target: &target,
            judged: &judged,
            locked_numpy: &[],
            project_requirements: &[],
            tool: &tool,
            searched: &searched,
        };
        let mut plan = futures::executor::block_on(plan(&input, judge));
        plan.fixes.remove(&blocker).unwrap()
    }

    #[test]
    fn a_blocker_searched_early_is_not_searched_again() {
        let judge = CountingJudge::default();
        let fix = plan_with(&judge, true);
        assert_eq!(fix.version.as_deref(), Some("1.2.0"), "{fix:?}");
        assert_eq!(
            judge.listings.load(Ordering::SeqCst),
            1,
            "one search, early"
        );
        // Without an early search, planning searches itself, to the same fix.
        let judge = CountingJudge::default();
        let fix = plan_with(&judge, false);
        assert_eq!(fix.version.as_deref(), Some("1.2.0"), "{fix:?}");
        assert_eq!(judge.listings.load(Ordering::SeqCst), 1);
    }
}
