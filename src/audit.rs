//! The audit: judge every package the target environment installs, and gather the findings
//! into one [`Audit`] that every report format renders. Checks never print.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName, VersionOrUrl};
use serde::Serialize;

use crate::environment::{PythonVersion, TargetEnvironment, WheelTags};
use crate::fix::{self, Fix, PinSuggestion, Readiness, ReleaseJudge, RequiresDist, Tool};
use crate::graph::{self, DependencyGraph, InstalledSet, WhyIndex};
use crate::index::filename::file_version;
use crate::index::{InFlight, IndexClient, IndexError, ProjectFile, file_key};
use crate::inspect::metadata::{self, DeclaredNumpy};
use crate::inspect::removed::RemovedTable;
use crate::inspect::source::{SOURCE_SCANNER_VERSION, SourceScan};
use crate::inspect::wheel::WheelBuild;
use crate::inspect::{self, ScanBudget, WheelScan};
use crate::installed::InstalledFacts;
use crate::lockfile::{
    DependencyKind, LockFormat, LockedPackage, LockedProject, PackageId, PackageSource,
};

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// NumPy 2.0.0rc1 was uploaded on 2024-03-30: a wheel uploaded before cannot have been built
/// against 2.x headers.
pub const NUMPY2_FIRST_CANDIDATE: &str = "2024-03-30";

/// How many uses of removed names a package's evidence lists before it counts the rest.
const SOURCE_USES_SHOWN: usize = 5;

/// How many why-paths each package lists.
pub const WHY_PATH_LIMIT: usize = 5;

/// The verdict on one package. The strings are a stable contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    DeclaredBlocker,
    BinaryBlocker,
    /// Its Python code uses, when imported, a name the target NumPy removed.
    SourceBlocker,
    Suspect,
    Unknown,
    Ready,
    Unaffected,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::DeclaredBlocker,
        Verdict::BinaryBlocker,
        Verdict::SourceBlocker,
        Verdict::Suspect,
        Verdict::Unknown,
        Verdict::Ready,
        Verdict::Unaffected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::DeclaredBlocker => "declared-blocker",
            Verdict::BinaryBlocker => "binary-blocker",
            Verdict::SourceBlocker => "source-blocker",
            Verdict::Suspect => "suspect",
            Verdict::Unknown => "unknown",
            Verdict::Ready => "ready",
            Verdict::Unaffected => "unaffected",
        }
    }

    pub fn is_blocker(self) -> bool {
        matches!(
            self,
            Verdict::DeclaredBlocker | Verdict::BinaryBlocker | Verdict::SourceBlocker
        )
    }
}

/// Stable codes for each piece of evidence (documented in docs/verdicts.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceCode {
    /// A `Requires-Dist` on numpy excludes the target.
    NumpyCap,
    /// A shared object was built against the NumPy 1.x C-API.
    Numpy1Build,
    /// NumPy 2 is already locked: the 1.x-built extension fails at import today.
    ImportFailsToday,
    /// Built against NumPy 2.x headers.
    Numpy2Build,
    /// Picks NumPy's module by its version at run time, with no import code (works under
    /// NumPy 2).
    RuntimeLookup,
    /// Looks NumPy up through `numpy.core.multiarray` with NumPy 1.x's layout compiled in:
    /// imports under NumPy 2, but some calls go wrong.
    LegacyLookup,
    /// A trace of the NumPy C-API that is not conclusive.
    WeakTrace,
    /// A requirement on numpy that admits the target.
    NumpyRequirement,
    /// A requirement naming numpy that does not parse.
    UnparsableRequirement,
    /// Shared objects scanned, none uses the NumPy C-API.
    NoNumpyCapi,
    /// Only shared libraries in a wheel without a Python ABI tag: not scanned.
    NoExtensionModules,
    PurePython,
    /// The lock records every dependency of the package and none is numpy: nothing it
    /// requires can cap NumPy, so its metadata was not read.
    NoNumpyDependency,
    /// No wheel fits the target environment: the closest one was judged.
    ClosestWheel,
    /// Scan budget ran out before a conclusive shared object.
    ScanIncomplete,
    SdistOnly,
    /// The index lists no file of the locked version.
    NotOnIndex,
    IndexError,
    OfflineMiss,
    /// Git, URL or path sources: not judged from an index.
    NotFromIndex,
    /// Not pinned: the newest release the requirement allows was judged.
    Unpinned,
    /// A 2.x build signature on a wheel uploaded before NumPy 2.0rc1: contradictory.
    UploadPredatesNumpy2,
    /// An `ignore` entry of the configuration matched, but its `until` date has passed.
    IgnoreExpired,
    /// Its Python code uses a name (or call form) the target NumPy removed.
    RemovedName,
    /// Python modules that could not be read or parsed: the source scan does not cover them.
    SourceUnread,
}

impl EvidenceCode {
    /// The stable code, as reports and the JSON show it.
    pub const fn as_str(self) -> &'static str {
        match self {
            EvidenceCode::NumpyCap => "numpy-cap",
            EvidenceCode::Numpy1Build => "numpy1-build",
            EvidenceCode::ImportFailsToday => "import-fails-today",
            EvidenceCode::Numpy2Build => "numpy2-build",
            EvidenceCode::RuntimeLookup => "runtime-lookup",
            EvidenceCode::LegacyLookup => "legacy-lookup",
            EvidenceCode::WeakTrace => "weak-trace",
            EvidenceCode::NumpyRequirement => "numpy-requirement",
            EvidenceCode::UnparsableRequirement => "unparsable-requirement",
            EvidenceCode::NoNumpyCapi => "no-numpy-capi",
            EvidenceCode::NoExtensionModules => "no-extension-modules",
            EvidenceCode::PurePython => "pure-python",
            EvidenceCode::NoNumpyDependency => "no-numpy-dependency",
            EvidenceCode::ClosestWheel => "closest-wheel",
            EvidenceCode::ScanIncomplete => "scan-incomplete",
            EvidenceCode::SdistOnly => "sdist-only",
            EvidenceCode::NotOnIndex => "not-on-index",
            EvidenceCode::IndexError => "index-error",
            EvidenceCode::OfflineMiss => "offline-miss",
            EvidenceCode::NotFromIndex => "not-from-index",
            EvidenceCode::Unpinned => "unpinned",
            EvidenceCode::UploadPredatesNumpy2 => "upload-predates-numpy2",
            EvidenceCode::IgnoreExpired => "ignore-expired",
            EvidenceCode::RemovedName => "removed-name",
            EvidenceCode::SourceUnread => "source-unread",
        }
    }
}

impl Serialize for EvidenceCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub code: EvidenceCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
}

impl Evidence {
    pub(crate) fn new(code: EvidenceCode, message: impl Into<String>) -> Evidence {
        Evidence {
            code,
            message: message.into(),
            file: None,
            member: None,
            strings: Vec::new(),
            requirement: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    pub name: String,
    pub version: Option<String>,
    pub verdict: Verdict,
    /// The file judged (the wheel the target environment would install).
    pub wheel: Option<String>,
    pub evidence: Vec<Evidence>,
    /// Shortest paths from the project's roots, each `name==version` from root to package.
    pub why: Vec<Vec<String>>,
    /// How many shortest paths exist in all (`why` lists at most a few).
    pub why_total: usize,
    /// Line of the package's entry in the lockfile.
    pub line: Option<usize>,
    pub source: String,
    /// For a blocker: the oldest ready release and how to get there, or why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Set when an `ignore` entry of the configuration or `--baseline` hides this finding:
    /// reports leave it out of the findings (SARIF marks it suppressed) and it never fails the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// True when the unknown verdict comes from a network, index or cache failure.
    #[serde(skip)]
    pub failed: bool,
}

/// Why a finding is hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `ignore` (the configuration's ignore list) or `baseline` (in the `--baseline` report).
    pub kind: &'static str,
    /// The reason the ignore entry gives, or where the baseline is.
    pub reason: String,
    /// The ignore entry's `until` date (YYYY-MM-DD), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRequirement {
    pub package: String,
    pub requirement: String,
    /// `main`, `extra:NAME` or `group:NAME`.
    pub declared_in: String,
    pub excludes_target: bool,
    pub line: Option<usize>,
}

/// The scan of the project's own Python code for names the target NumPy removed.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectCode {
    /// The directory scanned (the one holding the project's `pyproject.toml`).
    pub root: String,
    /// Python files read.
    pub modules: usize,
    /// Uses of what the target removed, by file and line.
    pub uses: Vec<ProjectCodeUse>,
    /// Files that did not parse or could not be read: the scan does not cover them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// A use, in the project's own Python code, of a name the target NumPy removed.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectCodeUse {
    /// Relative to [`ProjectCode::root`].
    pub file: String,
    pub line: usize,
    /// The removed name or call form.
    pub name: String,
    pub removed_in: String,
    pub replacement: String,
    /// The release note section it comes from.
    pub source: String,
    /// Runs when the module is imported (else when a function is called).
    pub at_import: bool,
}

impl ProjectCodeUse {
    /// What the use is and what to write instead, in a sentence.
    pub fn message(&self) -> String {
        let when = if self.at_import {
            "it fails when the module is imported"
        } else {
            "it fails when called"
        };
        format!(
            "uses `{}`, {}",
            self.name,
            removal_sentence(&self.removed_in, &self.source, &self.replacement, when)
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    pub numpy: String,
    /// `option` when `--target` chose it, `index` when the newest fitting release did,
    /// `installed` when it is the NumPy an audited environment has.
    pub numpy_from: &'static str,
    pub python_version: String,
    pub python_platform: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockfileInfo {
    pub path: String,
    pub format: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub declared_blocker: usize,
    pub binary_blocker: usize,
    pub source_blocker: usize,
    pub suspect: usize,
    pub unknown: usize,
    pub ready: usize,
    pub unaffected: usize,
    pub not_in_environment: usize,
    /// Findings hidden by the ignore list or the baseline (still counted under their verdict).
    pub suppressed: usize,
}

impl Summary {
    /// `3 declared-blocker, 1 binary-blocker, …; 4 not in this environment`, as reports print it.
    pub fn counts(&self) -> String {
        let hidden = if self.suppressed > 0 {
            format!("; {} hidden", self.suppressed)
        } else {
            String::new()
        };
        format!(
            "{} declared-blocker, {} binary-blocker, {} source-blocker, {} suspect, {} unknown, {} ready, {} unaffected; {} not in this environment{hidden}",
            self.declared_blocker,
            self.binary_blocker,
            self.source_blocker,
            self.suspect,
            self.unknown,
            self.ready,
            self.unaffected,
            self.not_in_environment,
        )
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub bytes_fetched: u64,
    pub cache_hits: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub schema_version: u32,
    pub target: TargetInfo,
    pub lockfile: Option<LockfileInfo>,
    pub index_url: String,
    /// The numpy version(s) the target environment installs from the lock today.
    pub locked_numpy: Vec<String>,
    /// The project's own requirements on numpy: usually the first line to change.
    pub project_requirements: Vec<ProjectRequirement>,
    /// The project's own Python code, scanned for names the target NumPy removed (absent
    /// when not scanned: `check`, `env`, `--no-project-code`, or no project beside the lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_code: Option<ProjectCode>,
    /// The verdict for the whole project, with every change the move needs.
    pub readiness: Readiness,
    /// The numpy pin that keeps the lock working while blockers remain.
    pub pin_suggestion: Option<PinSuggestion>,
    pub packages: Vec<PackageReport>,
    /// Locked packages the target environment does not install (markers false), not judged.
    pub not_in_environment: Vec<String>,
    pub summary: Summary,
    /// True when index or network failures left packages unknown.
    pub incomplete: bool,
    pub stats: Stats,
}

impl Audit {
    pub fn has_blockers(&self) -> bool {
        self.summary.declared_blocker + self.summary.binary_blocker + self.summary.source_blocker
            > 0
            || self.project_requirements.iter().any(|r| r.excludes_target)
            || self
                .project_code
                .as_ref()
                .is_some_and(|code| !code.uses.is_empty())
    }
}

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
    pub progress: crate::progress::Progress,
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
    let progress = &settings.progress;
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
    let _watch = progress.watch(client);
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

/// The newest stable, unyanked NumPy release whose `Requires-Python` admits `python`.
pub async fn newest_numpy(
    client: &IndexClient,
    python: PythonVersion,
) -> Result<Version, AuditError> {
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");
    let files = client
        .project_files(&numpy)
        .await
        .map_err(|error| AuditError::Target(error.to_string()))?;
    newest_release(&files, "numpy", python).ok_or_else(|| {
        AuditError::Target(format!(
            "no NumPy release on the index supports Python {python}"
        ))
    })
}

/// The newest stable release among `files` with an unyanked file that supports `python`.
pub fn newest_release(files: &[ProjectFile], name: &str, python: PythonVersion) -> Option<Version> {
    stable_releases(files, name, python).max()
}

/// The stable versions among `files` that have an unyanked file supporting `python` (with
/// repeats: one per file).
fn stable_releases<'a>(
    files: &'a [ProjectFile],
    name: &'a str,
    python: PythonVersion,
) -> impl Iterator<Item = Version> + 'a {
    files
        .iter()
        .filter(|file| file.yanked.is_none())
        .filter(move |file| {
            file.requires_python
                .as_deref()
                .and_then(|r| r.parse::<pep440_rs::VersionSpecifiers>().ok())
                .is_none_or(|specifiers| python.satisfies(&specifiers))
        })
        .filter_map(move |file| file_version(&file.filename, name))
        .filter(|version| version.is_stable())
}

struct JudgeContext<'a> {
    client: &'a IndexClient,
    environment: &'a TargetEnvironment,
    target: &'a Version,
    budget: ScanBudget,
    numpy2_locked: bool,
    installed: Option<&'a BTreeMap<PackageId, InstalledFacts>>,
    scans: &'a Scans,
    source_scans: &'a SourceScans,
}

impl Judgement {
    /// A few words on what decided the verdict, for the resolution's explanations (the
    /// evidence itself is in the report).
    fn summary(&self) -> String {
        let find = |code: EvidenceCode| self.evidence.iter().find(|e| e.code == code);
        let member = |evidence: &Evidence| {
            evidence
                .member
                .as_deref()
                .map(|member| member.rsplit('/').next().unwrap_or(member).to_string())
                .unwrap_or_default()
        };
        match self.verdict {
            Verdict::DeclaredBlocker => find(EvidenceCode::NumpyCap)
                .and_then(|e| e.requirement.clone())
                .map(|requirement| format!("requires `{requirement}`"))
                .unwrap_or_else(|| "caps numpy".to_string()),
            Verdict::BinaryBlocker => find(EvidenceCode::Numpy1Build)
                .map(|e| format!("{} is built against NumPy 1.x", member(e)))
                .unwrap_or_else(|| "built against NumPy 1.x".to_string()),
            Verdict::SourceBlocker => find(EvidenceCode::RemovedName)
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "uses a name NumPy removed".to_string()),
            Verdict::Suspect => {
                if let Some(e) = find(EvidenceCode::LegacyLookup) {
                    format!("{} looks NumPy up with 1.x's layout compiled in", member(e))
                } else if let Some(e) = find(EvidenceCode::WeakTrace) {
                    format!(
                        "{} shows a NumPy C-API trace that tells no build",
                        member(e)
                    )
                } else if find(EvidenceCode::ClosestWheel).is_some() {
                    "no wheel fits the environment".to_string()
                } else if find(EvidenceCode::UploadPredatesNumpy2).is_some() {
                    "a 2.x build uploaded before NumPy 2 existed".to_string()
                } else {
                    "a requirement on numpy does not parse".to_string()
                }
            }
            Verdict::Unknown => {
                let Some(evidence) = self.evidence.iter().find(|e| {
                    matches!(
                        e.code,
                        EvidenceCode::SdistOnly
                            | EvidenceCode::NotOnIndex
                            | EvidenceCode::NotFromIndex
                            | EvidenceCode::OfflineMiss
                            | EvidenceCode::IndexError
                            | EvidenceCode::ScanIncomplete
                    )
                }) else {
                    return "could not be judged".to_string();
                };
                match evidence.code {
                    EvidenceCode::SdistOnly => "sdist only: its build cannot be judged".into(),
                    EvidenceCode::NotFromIndex => "not from an index: not judged".into(),
                    EvidenceCode::ScanIncomplete => "the scan budget ran out".into(),
                    _ => evidence.message.clone(),
                }
            }
            Verdict::Ready | Verdict::Unaffected => self.verdict.as_str().to_string(),
        }
    }
}

/// Whether a use happens under the target: the NumPy version tests around it admit it.
fn runs_under(found: &inspect::source::SourceUse, target: &Version) -> bool {
    found.requires.as_ref().is_none_or(|requires| {
        requires
            .parse::<pep440_rs::VersionSpecifiers>()
            .map_or(true, |specifiers| specifiers.contains(target))
    })
}

/// What a use is, when it fails, and what to write instead, in a sentence.
fn removed_name_message(
    found: &inspect::source::SourceUse,
    entry: &inspect::removed::Removed,
) -> String {
    let when = match (found.at_import, found.definite) {
        (true, true) => "it fails when the module is imported",
        (true, false) => "it may fail when the module is imported (the calls may not reach it)",
        (false, _) => "it fails when called",
    };
    let via = if found.via.is_empty() {
        String::new()
    } else {
        format!(" through {}", found.via.join(" → "))
    };
    format!(
        "{}:{} uses `{}`{via}, {}",
        found.file,
        found.line,
        found.path,
        removal_sentence(&entry.removed_in, &entry.source, &entry.replacement, when)
    )
}

/// "removed in NumPy 2.0 (where it says so): it fails …; use `…` instead", for packages and
/// for the project's own code alike.
fn removal_sentence(removed_in: &str, source: &str, replacement: &str, when: &str) -> String {
    let replacement = if replacement.is_empty() {
        String::new()
    } else {
        format!("; use `{replacement}` instead")
    };
    format!("removed in NumPy {removed_in} ({source}): {when}{replacement}")
}

/// Whether a release's Python modules are read for what NumPy removed: it depends on numpy (a
/// requirement on it in its metadata, under any marker, or compiled code that uses its C-API),
/// and neither its build (1.x) nor a requirement that applies here (the environment's markers,
/// the lock's extras) already blocks the target, whatever its Python code does.
fn needs_source_scan(
    metadata: Option<&Result<String, IndexError>>,
    scan: &Result<Option<WheelScan>, IndexError>,
    environment: &MarkerEnvironment,
    extras: &[ExtraName],
    target: &Version,
) -> bool {
    let requires_dist = metadata
        .and_then(|m| m.as_ref().ok())
        .map(|text| metadata::parse_core_metadata(text).requires_dist)
        .unwrap_or_default();
    let requires = requires_dist
        .iter()
        .filter_map(|line| crate::requirement::parse(line).ok())
        .any(|requirement| requirement.name.as_ref() == "numpy");
    let build = scan
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|scan| &scan.build);
    let uses_capi = build
        .is_some_and(|build| !matches!(build, WheelBuild::NoNumpy { .. } | WheelBuild::PurePython));
    let built_against_1 = matches!(build, Some(WheelBuild::NumPy1 { .. }));
    let excludes = !metadata::check_declared(&requires_dist, environment, extras, target)
        .excluding
        .is_empty();
    (requires || uses_capi) && !built_against_1 && !excludes
}

/// What judging one package found, before why-paths are attached.
struct Judgement {
    verdict: Verdict,
    /// The version judged when the lock pins none (an unpinned requirement).
    version: Option<String>,
    wheel: Option<String>,
    evidence: Vec<Evidence>,
    failed: bool,
    /// The judged wheel's `Requires-Dist`, for inferring edges of flat requirement files and
    /// for checking what parents allow when planning fixes.
    requires_dist: RequiresDist,
}

/// Where judging a package learns what it requires: its wheel's `Requires-Dist`, or the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequirementsFrom {
    /// Read the judged wheel's `Requires-Dist`.
    Metadata,
    /// The lock records every dependency of the package (uv, poetry, pdm) and none is numpy:
    /// nothing it requires can cap NumPy. A pure-Python wheel is then judged without fetching
    /// its metadata, which is most of a cold audit's requests. Fix planning reads it later if
    /// it turns out to be a blocker's parent.
    Lock,
}

impl RequirementsFrom {
    fn of(
        project: &LockedProject,
        package: &LockedPackage,
        numpy: &PackageName,
    ) -> RequirementsFrom {
        let records_every_dependency = matches!(
            project.format,
            LockFormat::UvLock | LockFormat::PoetryLock | LockFormat::PdmLock
        );
        let depends_on_numpy = package
            .dependencies
            .iter()
            .any(|dependency| &project.package(dependency.package).name == numpy);
        if records_every_dependency && !depends_on_numpy {
            RequirementsFrom::Lock
        } else {
            RequirementsFrom::Metadata
        }
    }
}

impl Judgement {
    fn unknown(evidence: Evidence, failed: bool) -> Judgement {
        Judgement {
            verdict: Verdict::Unknown,
            version: None,
            wheel: None,
            requires_dist: RequiresDist::Unreadable(evidence.message.clone()),
            evidence: vec![evidence],
            failed,
        }
    }
}

fn failure_evidence(error: &IndexError, what: &str) -> Evidence {
    match error {
        IndexError::Offline { .. } => {
            Evidence::new(EvidenceCode::OfflineMiss, format!("{what}: {error}"))
        }
        _ => Evidence::new(EvidenceCode::IndexError, format!("{what}: {error}")),
    }
}

impl JudgeContext<'_> {
    /// Judge an installed distribution from disk: its METADATA and its shared objects.
    async fn judge_installed(&self, facts: &InstalledFacts, extras: &[ExtraName]) -> Judgement {
        let files = facts.shared_objects.clone();
        let scan = if files.is_empty() {
            Ok(None)
        } else {
            tokio::task::spawn_blocking(move || inspect::scan_files(&files))
                .await
                .map_err(|e| IndexError::Client(e.to_string()))
                .and_then(|result| {
                    result.map(Some).map_err(|error| IndexError::BadResponse {
                        url: facts.dist_info.clone(),
                        message: format!("reading an installed shared object failed: {error}"),
                    })
                })
        };
        // Stands in for a wheel: installed files have a name and nothing else an index gives.
        let installed = ProjectFile {
            filename: facts.dist_info.clone(),
            url: String::new(),
            sha256: None,
            requires_python: None,
            size: None,
            upload_time: None,
            yanked: None,
            core_metadata: crate::index::CoreMetadata::Available,
        };
        let metadata = Some(Ok(facts.metadata.clone()));
        let source = if needs_source_scan(
            metadata.as_ref(),
            &scan,
            self.environment.markers(),
            extras,
            self.target,
        ) {
            let modules = facts.python_modules.clone();
            Some(
                tokio::task::spawn_blocking(move || {
                    inspect::scan_source_files(&modules, RemovedTable::shipped())
                })
                .await
                .map_err(|e| IndexError::Client(e.to_string())),
            )
        } else {
            None
        };
        let mut judgement = self.conclude(&installed, false, metadata, scan, source, extras);
        if facts.shared_objects.is_empty() {
            for evidence in &mut judgement.evidence {
                if evidence.code == EvidenceCode::PurePython {
                    evidence.message = "no shared objects installed".into();
                }
            }
        }
        judgement
    }

    async fn judge(
        &self,
        package: &LockedPackage,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        if !matches!(package.source, PackageSource::Registry(_)) {
            let mut judgement = Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotFromIndex,
                    format!(
                        "{} source ({}): not published on an index, so it cannot be judged from one",
                        package.source.kind(),
                        crate::index::redact::redact_str(package.source.location())
                    ),
                ),
                false,
            );
            // A workspace member or path source: the lock may record what it requires.
            if !package.declared.is_empty() {
                judgement.requires_dist = RequiresDist::Read(
                    package
                        .declared
                        .iter()
                        .filter(|declared| declared.via == DependencyKind::Normal)
                        .map(|declared| declared.requirement.to_string())
                        .collect(),
                );
            }
            return judgement;
        }
        let version = match (&package.version, &package.specifier) {
            (Some(version), _) => version.clone(),
            (None, Some(specifier)) => match self.newest_allowed(package, specifier).await {
                Ok(version) => {
                    let mut judgement = self
                        .judge_release(package, &version, extras, requirements)
                        .await;
                    judgement.evidence.insert(
                        0,
                        Evidence::new(
                            EvidenceCode::Unpinned,
                            format!(
                                "not pinned (`{}{specifier}`): judged {version}, the newest release it allows for CPython {}",
                                package.name, self.environment.python
                            ),
                        ),
                    );
                    judgement.version = Some(version.to_string());
                    return judgement;
                }
                Err(judgement) => return judgement,
            },
            (None, None) => {
                return Judgement::unknown(
                    Evidence::new(EvidenceCode::NotOnIndex, "the lock records no version"),
                    false,
                );
            }
        };
        self.judge_release(package, &version, extras, requirements)
            .await
    }

    /// The newest stable release an unpinned requirement allows for the target Python.
    async fn newest_allowed(
        &self,
        package: &LockedPackage,
        specifier: &pep440_rs::VersionSpecifiers,
    ) -> Result<Version, Judgement> {
        let files = match self.client.project_files(&package.name).await {
            Ok(files) => files,
            Err(IndexError::NotFound { url }) => {
                return Err(Judgement::unknown(
                    Evidence::new(
                        EvidenceCode::NotOnIndex,
                        format!("the index has no project page for it ({url})"),
                    ),
                    false,
                ));
            }
            Err(error) => {
                return Err(Judgement::unknown(
                    failure_evidence(&error, "project page"),
                    true,
                ));
            }
        };
        let allowed: Vec<ProjectFile> = files
            .iter()
            .filter(|file| {
                file_version(&file.filename, package.name.as_ref())
                    .is_some_and(|v| specifier.contains(&v))
            })
            .cloned()
            .collect();
        newest_release(&allowed, package.name.as_ref(), self.environment.python).ok_or_else(|| {
            Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotOnIndex,
                    format!(
                        "no stable release allowed by `{specifier}` supports CPython {}",
                        self.environment.python
                    ),
                ),
                false,
            )
        })
    }

    async fn judge_release(
        &self,
        package: &LockedPackage,
        version: &Version,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        let from_lock = locked_release_files(package, self.client);
        let files = match from_lock {
            Some(files) => Ok(files),
            None => self.client.release_files(&package.name, version).await,
        };
        let files = match files {
            Ok(files) => files,
            Err(IndexError::NotFound { url }) => {
                return Judgement::unknown(
                    Evidence::new(
                        EvidenceCode::NotOnIndex,
                        format!("the index has no project page for it ({url})"),
                    ),
                    false,
                );
            }
            Err(error) => {
                return Judgement::unknown(failure_evidence(&error, "project page"), true);
            }
        };
        let candidates = release_files(&files, package);
        if candidates.is_empty() {
            return Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotOnIndex,
                    format!("the index lists no file of {} {}", package.name, version),
                ),
                false,
            );
        }
        let Some((wheel, closest)) = self.choose_wheel(&candidates) else {
            return Judgement::unknown(
                Evidence::new(
                    EvidenceCode::SdistOnly,
                    format!(
                        "{} {} has no wheel on the index (sdist only): its build cannot be judged without building it",
                        package.name, version
                    ),
                ),
                false,
            );
        };
        self.judge_wheel(&wheel, closest, extras, requirements)
            .await
    }

    /// The wheel the environment installs, or failing that the closest one (`true`).
    fn choose_wheel(&self, files: &[ProjectFile]) -> Option<(ProjectFile, bool)> {
        let wheels: Vec<(&ProjectFile, WheelTags)> = files
            .iter()
            .filter_map(|file| Some((file, WheelTags::from_filename(&file.filename)?)))
            .collect();
        if let Some((file, _)) = wheels
            .iter()
            .filter_map(|(file, tags)| Some((*file, self.environment.wheel_rank(tags)?)))
            .min_by_key(|(file, rank)| (*rank, file.filename.clone()))
        {
            return Some((file.clone(), false));
        }
        wheels
            .iter()
            .min_by_key(|(file, tags)| {
                (self.environment.wheel_distance(tags), file.filename.clone())
            })
            .map(|(file, _)| ((*file).clone(), true))
    }

    async fn judge_wheel(
        &self,
        wheel: &ProjectFile,
        closest: bool,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        let tags = WheelTags::from_filename(&wheel.filename).expect("chosen among wheels");
        let (metadata, scan) = if tags.is_pure() {
            let metadata = match requirements {
                RequirementsFrom::Metadata => Some(self.client.core_metadata(wheel).await),
                RequirementsFrom::Lock => None,
            };
            (metadata, Ok(None))
        } else {
            // A scanned wheel's metadata usually comes with its tail, at no cost: read it
            // whatever the lock says, for fix planning.
            let (metadata, scan) = tokio::join!(
                self.client.core_metadata_of_scanned(wheel),
                self.scan(wheel)
            );
            (Some(metadata), scan.map(Some))
        };
        let source = if needs_source_scan(
            metadata.as_ref(),
            &scan,
            self.environment.markers(),
            extras,
            self.target,
        ) {
            Some(self.source_scan(wheel).await)
        } else {
            None
        };
        self.client.release_wheel(wheel).await;
        self.conclude(wheel, closest, metadata, scan, source, extras)
    }

    /// Scan a wheel's Python modules, from the cache when they were scanned before with the
    /// same table.
    async fn source_scan(&self, wheel: &ProjectFile) -> Result<SourceScan, IndexError> {
        let table = RemovedTable::shipped();
        let key = format!("{}#source:{:016x}", file_key(wheel), table.fingerprint);
        self.source_scans
            .run(&key, || self.source_scan_once(wheel, &key))
            .await
    }

    async fn source_scan_once(
        &self,
        wheel: &ProjectFile,
        key: &str,
    ) -> Result<SourceScan, IndexError> {
        let table = RemovedTable::shipped();
        let cache = self.client.cache();
        if let Some(json) = cache.scan(key, SOURCE_SCANNER_VERSION).await?
            && let Ok(scan) = serde_json::from_str(&json)
        {
            self.client.note_cache_hit();
            return Ok(scan);
        }
        if self.client.is_offline() {
            return Err(IndexError::Offline {
                what: format!("the source scan of {}", wheel.filename),
            });
        }
        let remote = self.client.shared_wheel(wheel).await?;
        let scan = inspect::scan_wheel_sources(remote.as_ref(), table).await?;
        let json = serde_json::to_string(&scan).expect("source scans serialise");
        cache
            .store_scan(key, SOURCE_SCANNER_VERSION, &wheel.filename, &json)
            .await?;
        Ok(scan)
    }

    /// Evidence from a source scan, for the target: returns (a use that fails at import
    /// whenever the module is imported, any use).
    fn source_evidence(
        &self,
        wheel: &ProjectFile,
        scan: &SourceScan,
        evidence: &mut Vec<Evidence>,
    ) -> (bool, bool) {
        let table = RemovedTable::shipped();
        let applies: Vec<(&inspect::source::SourceUse, &inspect::removed::Removed)> = scan
            .uses
            .iter()
            .filter_map(|found| Some((found, table.named(&found.path)?)))
            .filter(|(found, entry)| {
                entry.removed_in() <= *self.target && runs_under(found, self.target)
            })
            .collect();
        let blocks = |found: &inspect::source::SourceUse| found.at_import && found.definite;
        // What fails at import first: it decides.
        let mut ordered = applies.clone();
        ordered.sort_by_key(|(found, _)| (!blocks(found), !found.at_import));
        for (found, entry) in ordered.iter().take(SOURCE_USES_SHOWN) {
            evidence.push(Evidence {
                file: Some(wheel.filename.clone()),
                member: Some(format!("{}:{}", found.file, found.line)),
                strings: vec![found.path.clone()],
                ..Evidence::new(
                    EvidenceCode::RemovedName,
                    removed_name_message(found, entry),
                )
            });
        }
        if applies.len() > SOURCE_USES_SHOWN {
            evidence.push(Evidence::new(
                EvidenceCode::RemovedName,
                format!(
                    "and {} more use(s) of names NumPy {} removed",
                    applies.len() - SOURCE_USES_SHOWN,
                    self.target
                ),
            ));
        }
        if !scan.unreadable.is_empty() {
            evidence.push(Evidence::new(
                EvidenceCode::SourceUnread,
                format!(
                    "{} of {} Python module(s) do not parse (they fail to import under any NumPy), so the source scan does not cover them: {}",
                    scan.unreadable.len(),
                    scan.modules,
                    scan.unreadable
                        .iter()
                        .take(3)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !scan.unread.is_empty() {
            evidence.push(Evidence::new(
                EvidenceCode::SourceUnread,
                format!(
                    "{} of {} Python module(s) could not be read, so what they use is unknown: {}",
                    scan.unread.len(),
                    scan.modules,
                    scan.unread
                        .iter()
                        .take(3)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        (
            applies.iter().any(|(found, _)| blocks(found)),
            !applies.is_empty() || !scan.unread.is_empty(),
        )
    }

    /// The verdict from what was learned about one distribution, wherever it came from (the
    /// index, or an installed environment on disk). `metadata` is `None` when it was not read
    /// ([`RequirementsFrom::Lock`]).
    fn conclude(
        &self,
        wheel: &ProjectFile,
        closest: bool,
        metadata: Option<Result<String, IndexError>>,
        scan: Result<Option<WheelScan>, IndexError>,
        source: Option<Result<SourceScan, IndexError>>,
        extras: &[ExtraName],
    ) -> Judgement {
        let mut evidence = Vec::new();
        let mut requires_dist = RequiresDist::NotRead;
        let mut failed = false;
        let mut unknown = false;
        let mut suspect = false;
        let file = Some(wheel.filename.clone());
        if closest {
            evidence.push(Evidence {
                file: file.clone(),
                ..Evidence::new(
                    EvidenceCode::ClosestWheel,
                    format!(
                        "no wheel for CPython {} on {}; judged the closest available: {} \
                         (the environment would build this release from its sdist, which is \
                         not judged: a clean result is only suspect)",
                        self.environment.python, self.environment.platform, wheel.filename
                    ),
                )
            });
        }

        // Declared check.
        let declared = match &metadata {
            None => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoNumpyDependency,
                    "the lock lists no dependency on numpy: no requirement of it can cap NumPy",
                ));
                DeclaredNumpy::default()
            }
            Some(Ok(text)) => {
                let parsed = metadata::parse_core_metadata(text);
                requires_dist = RequiresDist::Read(parsed.requires_dist.clone());
                let declared = metadata::check_declared(
                    &parsed.requires_dist,
                    self.environment.markers(),
                    extras,
                    self.target,
                );
                declared_evidence(&declared, self.target, &mut evidence);
                suspect |= !declared.unparsable.is_empty();
                declared
            }
            Some(Err(error)) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                let failure = failure_evidence(error, "metadata");
                requires_dist = RequiresDist::Unreadable(failure.message.clone());
                evidence.push(failure);
                DeclaredNumpy::default()
            }
        };

        // Binary check.
        let mut binary_blocker = false;
        let mut uses_capi = false;
        match scan {
            Ok(None) => evidence.push(Evidence::new(
                EvidenceCode::PurePython,
                "pure-Python wheel: no compiled code",
            )),
            Ok(Some(scan)) => {
                let (blocker, capi, weak) = self.binary_evidence(wheel, &scan, &mut evidence);
                binary_blocker = blocker;
                uses_capi = capi;
                suspect |= weak;
                if !scan.unscanned.is_empty() && !blocker && !capi {
                    unknown = true;
                    evidence.push(Evidence::new(
                        EvidenceCode::ScanIncomplete,
                        format!(
                            "{} shared object(s) left unscanned (scan budget reached): {}",
                            scan.unscanned.len(),
                            scan.unscanned.join(", ")
                        ),
                    ));
                }
            }
            Err(error) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                evidence.push(failure_evidence(&error, "wheel scan"));
            }
        }

        // Source check: what the Python modules use of what the target removed.
        let mut source_blocker = false;
        match &source {
            None => {}
            Some(Ok(found)) => {
                let (at_import, any) = self.source_evidence(wheel, found, &mut evidence);
                source_blocker = at_import;
                // Only inside functions: fails when called, not at import.
                suspect |= any && !at_import;
            }
            Some(Err(error)) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                evidence.push(failure_evidence(error, "source scan"));
            }
        }

        let verdict = if !declared.excluding.is_empty() {
            Verdict::DeclaredBlocker
        } else if binary_blocker {
            Verdict::BinaryBlocker
        } else if source_blocker {
            Verdict::SourceBlocker
        } else if unknown {
            Verdict::Unknown
        } else if suspect || closest {
            // A clean look at another environment's wheel says nothing certain about the build
            // this one would make.
            Verdict::Suspect
        } else if declared.requires_numpy() || uses_capi {
            Verdict::Ready
        } else {
            Verdict::Unaffected
        };
        Judgement {
            verdict,
            version: None,
            wheel: file,
            evidence,
            failed: failed && verdict == Verdict::Unknown,
            requires_dist,
        }
    }

    /// Scan a wheel, from the cache when it was scanned before.
    async fn scan(&self, wheel: &ProjectFile) -> Result<WheelScan, IndexError> {
        let key = file_key(wheel);
        self.scans.run(&key, || self.scan_once(wheel, &key)).await
    }

    async fn scan_once(&self, wheel: &ProjectFile, key: &str) -> Result<WheelScan, IndexError> {
        let cache = self.client.cache();
        if let Some(json) = cache.scan(key, inspect::SCANNER_VERSION).await?
            && let Ok(scan) = serde_json::from_str(&json)
        {
            self.client.note_cache_hit();
            return Ok(scan);
        }
        if self.client.is_offline() {
            return Err(IndexError::Offline {
                what: format!("the scan of {}", wheel.filename),
            });
        }
        let remote = self.client.shared_wheel(wheel).await?;
        let scan = inspect::scan_wheel(remote.as_ref(), self.budget).await?;
        if scan.unscanned.is_empty() {
            let json = serde_json::to_string(&scan).expect("scan results serialise");
            cache
                .store_scan(key, inspect::SCANNER_VERSION, &wheel.filename, &json)
                .await?;
        }
        Ok(scan)
    }

    /// Evidence from a scan; returns (binary blocker, uses the NumPy C-API, weak trace only).
    fn binary_evidence(
        &self,
        wheel: &ProjectFile,
        scan: &WheelScan,
        evidence: &mut Vec<Evidence>,
    ) -> (bool, bool, bool) {
        let file = Some(wheel.filename.clone());
        let early = wheel
            .upload_time
            .as_deref()
            .is_some_and(|time| time < NUMPY2_FIRST_CANDIDATE);
        match &scan.build {
            WheelBuild::NumPy1 { member, strings } => {
                evidence.push(Evidence {
                    file: file.clone(),
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::Numpy1Build,
                        format!(
                            "{member} was built against the NumPy 1.x C-API (has {} and no NumPy 2 import string{}): it fails to import under NumPy 2",
                            quoted(strings.iter().filter(|s| !is_chooser_string(s))),
                            chooser_note(strings),
                        ),
                    )
                });
                if self.numpy2_locked {
                    evidence.push(Evidence::new(
                        EvidenceCode::ImportFailsToday,
                        if self.installed.is_some() {
                            "NumPy 2 is already installed here: importing this package fails today"
                        } else {
                            "the lock already installs NumPy 2: importing this package fails today"
                        },
                    ));
                }
                (true, true, false)
            }
            WheelBuild::NumPy2 {
                member,
                oldest_numpy,
                strings,
            } => {
                let oldest = oldest_numpy
                    .as_deref()
                    .map(|v| format!("; supports NumPy >= {v}"))
                    .unwrap_or_default();
                let others = scan.scanned.len().saturating_sub(1);
                let rest = match others {
                    0 => String::new(),
                    1 => "; the other shared object scanned is not 1.x-built".to_string(),
                    n => format!("; none of the other {n} shared objects scanned is 1.x-built"),
                };
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::Numpy2Build,
                        format!(
                            "{member} was built against NumPy 2.x headers (has {}){oldest}{rest}",
                            quoted(strings.iter().filter(|s| is_numpy2_import_string(s)))
                        ),
                    )
                });
                // The upload date is a prior, never a verdict: a 2.x build uploaded before 2.x
                // headers existed contradicts itself, so neither reading is trusted.
                if early {
                    let uploaded = wheel.upload_time.as_deref().unwrap_or_default();
                    evidence.push(Evidence::new(
                        EvidenceCode::UploadPredatesNumpy2,
                        format!(
                            "but the wheel was uploaded {uploaded}, before NumPy 2.0's first release candidate ({NUMPY2_FIRST_CANDIDATE}): it cannot have been built against 2.x headers"
                        ),
                    ));
                }
                (false, true, early)
            }
            WheelBuild::RuntimeLookup { member, strings } => {
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::RuntimeLookup,
                        if strings.iter().any(|s| s == "numpy._core") {
                            format!(
                                "{member} picks NumPy's module at run time ({}: the chooser of pybind11 2.12+ or rust-numpy 0.22+, between `numpy._core` and `numpy.core` by NumPy's version) and compiles in no NumPy import code: works under NumPy 2",
                                quoted(strings.iter())
                            )
                        } else {
                            format!(
                                "{member} names NumPy's modules ({}) but reads no C-API table through them and compiles in no NumPy import code: works under NumPy 2 through the `numpy.core` compatibility module",
                                quoted(strings.iter())
                            )
                        },
                    )
                });
                (false, true, false)
            }
            WheelBuild::LegacyLookup { member, strings } => {
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::LegacyLookup,
                        format!(
                            "{member} looks NumPy up at run time through `numpy.core.multiarray` ({}) with no version choice, as pybind11 before 2.12 and rust-numpy before 0.22 do: it imports under NumPy 2 but keeps NumPy 1.x's struct layout, and calls that read it can go wrong (qdldl 0.1.5.post3 and mapbox-earcut 1.0.1 return wrong numbers, tokenizers 0.19.1 panics)",
                            quoted(strings.iter())
                        ),
                    )
                });
                (false, true, true)
            }
            WheelBuild::Weak { member, strings } => {
                let when = if early {
                    format!(
                        ", and the wheel was uploaded before NumPy 2.0's first release candidate ({NUMPY2_FIRST_CANDIDATE})"
                    )
                } else {
                    String::new()
                };
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::WeakTrace,
                        if strings.iter().any(|s| s == "flatiter") {
                            format!(
                                "{member} is a Cython module that checks NumPy's type sizes at import ({}) but shows no NumPy version string: Cython 3.2 and later compress a module's strings, and a module that cimports numpy only through a .pxd never runs `import_array`. Built against NumPy 1.x it fails at import; which NumPy built it cannot be read{when}",
                                quoted(strings.iter())
                            )
                        } else {
                            format!(
                                "{member} carries {} but none of the strings that tell a 1.x build from a 2.x one{when}",
                                quoted(strings.iter())
                            )
                        },
                    )
                });
                (false, true, true)
            }
            WheelBuild::NoNumpy { .. } if !scan.libraries_not_scanned.is_empty() => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoExtensionModules,
                    format!(
                        "{} shared librar{} not scanned: the wheel is tagged without a Python ABI and has no extension module, so nothing in it is imported from Python",
                        scan.libraries_not_scanned.len(),
                        if scan.libraries_not_scanned.len() == 1 { "y" } else { "ies" }
                    ),
                ));
                (false, false, false)
            }
            WheelBuild::NoNumpy { .. } => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoNumpyCapi,
                    format!(
                        "{} shared object(s) scanned, extension modules first: none uses the NumPy C-API",
                        scan.scanned.len()
                    ),
                ));
                (false, false, false)
            }
            WheelBuild::PurePython => {
                evidence.push(Evidence::new(
                    EvidenceCode::PurePython,
                    "no shared objects in the wheel",
                ));
                (false, false, false)
            }
        }
    }
}

/// `a`, `b`, `c`: scan strings as a report quotes them.
fn quoted<'a>(strings: impl Iterator<Item = &'a String>) -> String {
    strings
        .map(|string| format!("`{string}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Strings only NumPy 2's import code holds (`inspect::wheel`'s 2.x signature).
fn is_numpy2_import_string(string: &str) -> bool {
    matches!(
        string,
        "numpy._core._multiarray_umath" | "numpy._core.multiarray failed to import"
    )
}

/// Strings of a run-time module chooser (pybind11 2.12 and later), which prove no build.
fn is_chooser_string(string: &str) -> bool {
    matches!(string, "numpy._core" | "NumpyVersion")
}

/// For a 1.x-built object that also holds a run-time chooser, says why that does not count.
fn chooser_note(strings: &[String]) -> String {
    let chooser: Vec<&String> = strings.iter().filter(|s| is_chooser_string(s)).collect();
    if chooser.is_empty() {
        String::new()
    } else {
        format!(
            "; its {} belong to a run-time module chooser, which shows no 2.x build",
            quoted(chooser.into_iter())
        )
    }
}

impl ReleaseJudge for JudgeContext<'_> {
    async fn releases(&self, name: &PackageName) -> Result<fix::ReleaseList, String> {
        let files = self
            .client
            .project_files(name)
            .await
            .map_err(|error| error.to_string())?;
        let mut versions: Vec<Version> =
            stable_releases(&files, name.as_ref(), self.environment.python).collect();
        versions.sort();
        versions.dedup();
        // A release went up when its earliest file did.
        let mut first_upload: HashMap<Version, &str> = HashMap::new();
        for file in files.iter() {
            if let (Some(version), Some(time)) = (
                file_version(&file.filename, name.as_ref()),
                file.upload_time.as_deref(),
            ) {
                let earliest = first_upload.entry(version).or_insert(time);
                *earliest = (*earliest).min(time);
            }
        }
        let first_after_numpy2 = versions
            .iter()
            .position(|version| {
                first_upload
                    .get(version)
                    .is_some_and(|&time| time >= NUMPY2_FIRST_CANDIDATE)
            })
            .filter(|&index| index > 0)
            .map(|index| versions[index].clone());
        // What the cache holds of these releases is read in a few queries now rather than
        // several per release judged.
        let releases: Vec<(PackageName, Version)> = versions
            .iter()
            .map(|version| (name.clone(), version.clone()))
            .collect();
        self.client
            .preload(&releases, &[], inspect::SCANNER_VERSION)
            .await;
        Ok(fix::ReleaseList {
            versions,
            first_after_numpy2,
        })
    }

    async fn judge(
        &self,
        name: &PackageName,
        version: &Version,
        extras: &[ExtraName],
    ) -> fix::Candidate {
        let package = LockedPackage {
            name: name.clone(),
            version: Some(version.clone()),
            specifier: None,
            source: PackageSource::Registry(self.client.display_url()),
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line: 0,
        };
        let judgement = self
            .judge_release(&package, version, extras, RequirementsFrom::Metadata)
            .await;
        fix::Candidate {
            verdict: judgement.verdict,
            requires_dist: judgement.requires_dist.read().to_vec(),
            summary: judgement.summary(),
        }
    }

    async fn locked_requirements(
        &self,
        package: &LockedPackage,
        extras: &[ExtraName],
    ) -> Result<Vec<String>, String> {
        match self
            .judge(package, extras, RequirementsFrom::Metadata)
            .await
            .requires_dist
        {
            RequiresDist::Read(requires_dist) => Ok(requires_dist),
            RequiresDist::Unreadable(reason) => Err(reason),
            RequiresDist::NotRead => Err("its metadata was not read".to_string()),
        }
    }
}

fn declared_evidence(declared: &DeclaredNumpy, target: &Version, evidence: &mut Vec<Evidence>) {
    for requirement in &declared.excluding {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::NumpyCap,
                format!("requires `{requirement}`, which excludes NumPy {target}"),
            )
        });
    }
    for requirement in declared
        .applicable
        .iter()
        .filter(|r| !declared.excluding.contains(r))
    {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::NumpyRequirement,
                format!("requires `{requirement}`, which admits NumPy {target}"),
            )
        });
    }
    for requirement in &declared.unparsable {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::UnparsableRequirement,
                format!("a requirement on numpy does not parse as PEP 508: `{requirement}`"),
            )
        });
    }
}

/// The release's files; when the lock names files, only those the lock allows.
/// The release's files as the lock records them, when it records every one with its URL and
/// the registry it names is the index in use (a lock made against PyPI and audited against a
/// mirror goes through the mirror's pages). No project page is needed then: uv.lock and
/// pylock.toml list every wheel of the locked release with its URL, hash and upload time.
fn locked_release_files(package: &LockedPackage, client: &IndexClient) -> Option<Vec<ProjectFile>> {
    let PackageSource::Registry(registry) = &package.source else {
        return None;
    };
    if package.files.is_empty()
        || !client.is_registry(registry)
        || !package
            .files
            .iter()
            .any(|file| file.filename.ends_with(".whl"))
    {
        return None;
    }
    package
        .files
        .iter()
        .map(|file| {
            Some(ProjectFile {
                filename: file.filename.clone(),
                url: file.url.clone()?,
                sha256: file.sha256.clone(),
                requires_python: None,
                size: file.size,
                upload_time: file.upload_time.clone(),
                yanked: None,
                core_metadata: crate::index::CoreMetadata::NotStated,
            })
        })
        .collect()
}

fn release_files(files: &[ProjectFile], package: &LockedPackage) -> Vec<ProjectFile> {
    let of_version = files.to_vec();
    if package.files.is_empty() {
        return of_version;
    }
    let locked: Vec<ProjectFile> = of_version
        .iter()
        .filter(|file| {
            package.files.iter().any(|locked| {
                locked.filename == file.filename
                    && match (&locked.sha256, &file.sha256) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
        })
        .cloned()
        .collect();
    if locked.is_empty() {
        of_version
    } else {
        locked
    }
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

/// Packages by verdict, in report order.
pub fn by_verdict(audit: &Audit) -> BTreeMap<Verdict, Vec<&PackageReport>> {
    let mut groups: BTreeMap<Verdict, Vec<&PackageReport>> = BTreeMap::new();
    for package in &audit.packages {
        groups.entry(package.verdict).or_default().push(package);
    }
    groups
}
