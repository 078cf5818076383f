//! The audit: judge every package the target environment installs, and gather the findings
//! into one [`Audit`] that every report format renders. Checks never print.
//!
//! Three parts: [`model`] (what an audit says), `judge` (learning what a release holds) with the
//! pure verdict table `conclude`, and here the pipeline that judges every package, has the fix
//! stage plan the way out, and gathers the report.

mod conclude;
mod judge;
pub mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName, VersionOrUrl};

use crate::environment::TargetEnvironment;
use crate::fix::{self, ReleaseJudge, RequiresDist, Tool};
use crate::graph::{self, DependencyGraph, InstalledSet, WhyIndex};
use crate::index::{InFlight, IndexClient, IndexError, ProjectFile};
use crate::inspect::metadata;
use crate::inspect::removed::RemovedTable;
use crate::inspect::source::SourceScan;
use crate::inspect::{self, ScanBudget, WheelScan};
use crate::installed::InstalledFacts;
use crate::lockfile::{DependencyKind, LockedProject, PackageId};
use crate::observe::StageObserver;

use conclude::{Judgement, runs_under};
use judge::{JudgeContext, RequirementsFrom, locked_release_files};
pub use judge::{newest_numpy, newest_release};
pub use model::*;

/// How many why-paths each package lists.
pub const WHY_PATH_LIMIT: usize = 5;

/// What to audit against.
pub struct AuditSettings {
    pub environment: TargetEnvironment,
    pub target: Option<Version>,
    pub scan_budget: ScanBudget,
    /// Show the lockfile as `lockfile` in reports (absent for `check`).
    pub show_lockfile: bool,
    /// For an installed environment: what is on disk, judged instead of the index's files.
    pub installed: Option<BTreeMap<PackageId, InstalledFacts>>,
    /// The target is the NumPy the environment has installed (not `--target`).
    pub target_is_installed: bool,
    /// The tool whose commands fixes are spelled in.
    pub tool: Tool,
    /// Told of packages judged and of the network counters (a progress bar, or nobody).
    pub observer: Arc<dyn StageObserver>,
    /// Scans under way, shared by every audit of the run (see [`RunScans`]).
    pub scans: Arc<RunScans>,
    /// The project's own Python code to scan for removed names: its directory.
    pub project_code: Option<PathBuf>,
}

/// Wheel and source scans under way, by key: audits of several lockfiles that meet the same
/// wheel at once read it once.
#[derive(Default)]
pub struct RunScans {
    pub wheels: Scans,
    pub sources: SourceScans,
}

/// Wheel scans under way, by file key: audits of several lockfiles that meet the same wheel at
/// once read it once.
pub type Scans = InFlight<Result<WheelScan, IndexError>>;

/// Source scans under way, by key, shared the same way.
pub type SourceScans = InFlight<Result<SourceScan, IndexError>>;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot choose the target NumPy version: {0} (pass --target to choose it yourself)")]
    Target(String),
}

/// Audit `project` for `settings`: judge every package, plan the fixes, gather the report.
pub async fn audit_project(
    project: &LockedProject,
    client: &IndexClient,
    settings: &AuditSettings,
) -> Result<Audit, AuditError> {
    let environment = &settings.environment;
    let (target, numpy_from) = match &settings.target {
        Some(version) if settings.installed.is_some() && settings.target_is_installed => {
            (version.clone(), "installed")
        }
        Some(version) => (version.clone(), "option"),
        None => (newest_numpy(client, environment.python).await?, "index"),
    };
    // The project's own code is read beside the index work: it needs nothing from it.
    let project_code = settings.project_code.clone().map(|root| {
        let target = target.clone();
        tokio::task::spawn_blocking(move || scan_project_code(&root, &target))
    });
    let graph = DependencyGraph::new(project);
    let installed = graph.installed(project, environment);
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");

    let mut locked_numpy = Vec::new();
    let mut to_judge = Vec::new();
    for (&id, extras) in &installed.packages {
        let package = project.package(id);
        if graph.roots().contains(&id) {
            continue;
        }
        if package.name == numpy {
            if let Some(version) = &package.version {
                locked_numpy.push(version.clone());
            }
            continue;
        }
        let requirements = RequirementsFrom::of(project, package, &numpy);
        to_judge.push((id, extras.iter().cloned().collect::<Vec<_>>(), requirements));
    }
    locked_numpy.sort();
    let numpy2_locked = locked_numpy
        .iter()
        .any(|v| v.release().first().copied().unwrap_or(0) >= 2);

    let context = JudgeContext {
        client,
        environment,
        target: &target,
        budget: settings.scan_budget,
        numpy2_locked,
        installed: settings.installed.as_ref(),
        scans: &settings.scans.wheels,
        source_scans: &settings.scans.sources,
    };
    let progress = settings.observer.as_ref();
    let releases: Vec<(PackageName, Version)> = to_judge
        .iter()
        .filter_map(|(id, _, _)| {
            let package = project.package(*id);
            Some((package.name.clone(), package.version.clone()?))
        })
        .collect();
    let lock_files: Vec<ProjectFile> = to_judge
        .iter()
        .filter_map(|(id, _, _)| locked_release_files(project.package(*id), client))
        .flatten()
        .collect();
    client
        .preload(&releases, &lock_files, inspect::SCANNER_VERSION)
        .await;
    progress.judging(to_judge.len());
    let _watch = progress.watch(Box::new(client.stats_handle()));
    let unread: BTreeSet<PackageId> = to_judge
        .iter()
        .filter(|(_, _, requirements)| *requirements == RequirementsFrom::Lock)
        .map(|(id, _, _)| *id)
        .collect();
    let mut parents_read: BTreeMap<PackageId, RequiresDist> = BTreeMap::new();
    let judged: Vec<(PackageId, Judgement)> = futures::stream::iter(to_judge)
        .map(|(id, extras, requirements)| {
            let context = &context;
            let (installed, unread) = (&installed, &unread);
            async move {
                let package = project.package(id);
                let judgement = match context.installed.and_then(|facts| facts.get(&id)) {
                    Some(facts) => context.judge_installed(facts, &extras).await,
                    None => context.judge(package, &extras, requirements).await,
                };
                progress.judged_one();
                // What the resolution will ask for first about a blocker starts now, beside
                // the judging still under way: its releases, the next few after the locked
                // one, and the requirements its parents were judged without. These are the
                // longest chains of round trips in a cold audit; the answers wait in the cache.
                let parents = if judgement.verdict.is_blocker() {
                    let parents = installed
                        .parents(id)
                        .into_iter()
                        .filter(|parent| unread.contains(parent));
                    let _ = &extras;
                    tokio::join!(
                        fix::warm_up(context, package),
                        read_requirements(context, project, installed, parents)
                    )
                    .1
                } else {
                    Vec::new()
                };
                (id, judgement, parents)
            }
        })
        // Requests are bounded by the HTTP client's permits; this bounds only the tasks, and
        // is wide enough that every permit stays busy while packages wait on round trips.
        .buffer_unordered(256)
        .map(|(id, judgement, parents)| {
            parents_read.extend(parents);
            (id, judgement)
        })
        .collect()
        .await;

    // Files that record no edges between packages get them from the metadata just read.
    let inferred;
    let (project, graph, installed) = if graph::is_flat(project) {
        let requires_dist = judged
            .iter()
            .map(|(id, judgement)| (*id, judgement.requires_dist.read().to_vec()))
            .collect();
        inferred = graph::with_inferred_edges(project, &requires_dist, environment);
        let graph = DependencyGraph::new(&inferred);
        let installed = graph.installed(&inferred, environment);
        (&inferred, graph, installed)
    } else {
        (project, graph, installed)
    };
    let project_requirements =
        project_requirements(project, &graph, &installed, environment, &target);
    let verdicts: BTreeMap<PackageId, (Verdict, RequiresDist)> = judged
        .iter()
        .map(|(id, judgement)| {
            let requires_dist = match (&judgement.requires_dist, parents_read.remove(id)) {
                (RequiresDist::NotRead, Some(read)) => read,
                (requires_dist, _) => requires_dist.clone(),
            };
            (*id, (judgement.verdict, requires_dist))
        })
        .collect();
    let summaries: BTreeMap<PackageId, String> = judged
        .iter()
        .map(|(id, judgement)| (*id, judgement.summary()))
        .collect();
    let mut plan = fix::plan(
        &fix::PlanInput {
            project,
            graph: &graph,
            installed: &installed,
            environment,
            target: &target,
            judged: &verdicts,
            summaries: &summaries,
            locked_numpy: &locked_numpy,
            project_requirements: &project_requirements,
            tool: &settings.tool,
            progress,
        },
        &context,
    )
    .await;
    let why = graph.why_index(&installed);
    let mut packages: Vec<PackageReport> = judged
        .into_iter()
        .map(|(id, judgement)| {
            let mut report = report_package(project, &graph, &why, id, judgement);
            report.fix = plan.fixes.remove(&id);
            report
        })
        .collect();
    packages
        .sort_by(|a, b| (a.verdict, &a.name, &a.version).cmp(&(b.verdict, &b.name, &b.version)));

    let mut summary = Summary::default();
    for package in &packages {
        *match package.verdict {
            Verdict::DeclaredBlocker => &mut summary.declared_blocker,
            Verdict::BinaryBlocker => &mut summary.binary_blocker,
            Verdict::SourceBlocker => &mut summary.source_blocker,
            Verdict::Suspect => &mut summary.suspect,
            Verdict::Unknown => &mut summary.unknown,
            Verdict::Ready => &mut summary.ready,
            Verdict::Unaffected => &mut summary.unaffected,
        } += 1;
    }
    let mut not_in_environment: Vec<String> = project
        .ids()
        .filter(|id| !installed.packages.contains_key(id) && !graph.roots().contains(id))
        .map(|id| project.package(id).display_id())
        .collect();
    not_in_environment.sort();
    summary.not_in_environment = not_in_environment.len();

    let project_code = match project_code {
        Some(scan) => Some(scan.await.expect("the project code scan does not panic")),
        None => None,
    };
    if let Some(code) = project_code.as_ref().filter(|code| !code.uses.is_empty()) {
        let files: BTreeSet<&str> = code.uses.iter().map(|found| found.file.as_str()).collect();
        plan.readiness.message.push_str(&format!(
            "; the project's own code must change too: {} use{} of names NumPy {target} removed ({} file{}; see project code)",
            code.uses.len(),
            fix::plural(code.uses.len()),
            files.len(),
            fix::plural(files.len()),
        ));
    }

    Ok(Audit {
        schema_version: SCHEMA_VERSION,
        target: TargetInfo {
            numpy: target.to_string(),
            numpy_from,
            python_version: environment.python.to_string(),
            python_platform: environment.platform.to_string(),
        },
        lockfile: settings.show_lockfile.then(|| LockfileInfo {
            path: project.path.display().to_string(),
            format: project.format.to_string(),
        }),
        index_url: client.display_url(),
        locked_numpy: locked_numpy.iter().map(ToString::to_string).collect(),
        project_requirements,
        project_code,
        readiness: plan.readiness,
        pin_suggestion: plan.pin,
        incomplete: packages.iter().any(|p| p.failed),
        packages,
        not_in_environment,
        summary,
        stats: Stats {
            requests: client.requests(),
            bytes_fetched: client.bytes_fetched(),
            bytes_needed: client.bytes_needed(),
            cache_hits: client.cache_hits(),
        },
    })
}

/// Scan the project's own Python files under `root` and keep the uses of what `target` removed.
fn scan_project_code(root: &std::path::Path, target: &Version) -> ProjectCode {
    let table = RemovedTable::shipped();
    let scan = inspect::source::scan_project(root, table);
    let uses = scan
        .uses
        .iter()
        .filter_map(|found| Some((found, table.named(&found.path)?)))
        .filter(|(found, entry)| entry.removed_in() <= *target && runs_under(found, target))
        .map(|(found, entry)| ProjectCodeUse {
            file: found.file.clone(),
            line: found.line,
            name: found.path.clone(),
            removed_in: entry.removed_in.clone(),
            replacement: entry.replacement.clone(),
            source: entry.source.clone(),
            at_import: found.at_import && found.definite,
        })
        .collect();
    ProjectCode {
        root: root.display().to_string(),
        modules: scan.modules,
        uses,
        unreadable: scan.unreadable.into_iter().chain(scan.unread).collect(),
    }
}

/// The requirements of `packages` (judged without them), read at once, or why they cannot be.
async fn read_requirements(
    context: &JudgeContext<'_>,
    project: &LockedProject,
    installed: &InstalledSet,
    packages: impl Iterator<Item = PackageId>,
) -> Vec<(PackageId, RequiresDist)> {
    let reads = packages.map(|id| async move {
        let extras = fix::extras_of(installed, id);
        let read = context
            .locked_requirements(project.package(id), &extras)
            .await;
        let requires_dist = match read {
            Ok(requires_dist) => RequiresDist::Read(requires_dist),
            Err(reason) => RequiresDist::Unreadable(reason),
        };
        (id, requires_dist)
    });
    futures::future::join_all(reads).await
}

fn report_package(
    project: &LockedProject,
    graph: &DependencyGraph,
    why: &WhyIndex,
    id: PackageId,
    judgement: Judgement,
) -> PackageReport {
    let package = project.package(id);
    let why = why.paths(id, WHY_PATH_LIMIT);
    PackageReport {
        name: package.name.to_string(),
        version: package
            .version
            .as_ref()
            .map(ToString::to_string)
            .or(judgement.version),
        verdict: judgement.verdict,
        wheel: judgement.wheel,
        evidence: judgement.evidence,
        why: why
            .paths
            .iter()
            .map(|path| {
                path.iter()
                    .map(|&node| path_label(project, graph, node))
                    .collect()
            })
            .collect(),
        why_total: why.total,
        line: (package.line > 0).then_some(package.line),
        source: package.source.kind().to_string(),
        fix: None,
        suppressed: None,
        failed: judgement.failed,
    }
}

/// Roots appear by name alone (their version is the project's own); others as `name==version`.
fn path_label(project: &LockedProject, graph: &DependencyGraph, id: PackageId) -> String {
    let package = project.package(id);
    if graph.roots().contains(&id) {
        package.name.to_string()
    } else {
        package.display_id()
    }
}

fn project_requirements(
    project: &LockedProject,
    graph: &DependencyGraph,
    installed: &InstalledSet,
    environment: &TargetEnvironment,
    target: &Version,
) -> Vec<ProjectRequirement> {
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");
    let mut found = Vec::new();
    for &root in graph.roots() {
        let package = project.package(root);
        let extras: Vec<ExtraName> = installed
            .packages
            .get(&root)
            .map(|e| e.iter().cloned().collect())
            .unwrap_or_default();
        for declared in &package.declared {
            let requirement = &declared.requirement;
            if requirement.name != numpy
                || !requirement.marker.evaluate(environment.markers(), &extras)
            {
                continue;
            }
            let excludes_target = match &requirement.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    !metadata::admits(specifiers, target)
                }
                _ => false,
            };
            found.push(ProjectRequirement {
                package: package.name.to_string(),
                requirement: requirement.to_string(),
                declared_in: match &declared.via {
                    DependencyKind::Normal => "main".to_string(),
                    other => other.to_string(),
                },
                excludes_target,
                line: (package.line > 0).then_some(package.line),
            });
        }
    }
    found
}
