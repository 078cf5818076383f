//! The audit's report model: per package the verdict, the evidence with its stable codes and why
//! the package is in the tree; for the project its own requirements and code, the readiness and
//! the pin. Every report format renders an [`Audit`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::fix::{Fix, PinSuggestion, Readiness};

pub use crate::verdict::{ProjectRequirement, Verdict};

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// Of the wheels' bytes, what the reads needed: central directories, and each member read
    /// from its local header to where the read stopped (the scan floor of this run).
    pub bytes_needed: u64,
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

/// Packages by verdict, in report order.
pub fn by_verdict(audit: &Audit) -> BTreeMap<Verdict, Vec<&PackageReport>> {
    let mut groups: BTreeMap<Verdict, Vec<&PackageReport>> = BTreeMap::new();
    for package in &audit.packages {
        groups.entry(package.verdict).or_default().push(package);
    }
    groups
}

/// "removed in NumPy 2.0 (where it says so): it fails …; use `…` instead", for packages and
/// for the project's own code alike.
pub(super) fn removal_sentence(
    removed_in: &str,
    source: &str,
    replacement: &str,
    when: &str,
) -> String {
    let replacement = if replacement.is_empty() {
        String::new()
    } else {
        format!("; use `{replacement}` instead")
    };
    format!("removed in NumPy {removed_in} ({source}): {when}{replacement}")
}
