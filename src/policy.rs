//! What a team has decided about findings: which ones it accepts (the configuration's
//! `ignore` list, a `--baseline` report) and which ones fail the run (`--fail-on`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use time::Date;

use crate::audit::{Audit, Evidence, EvidenceCode, Suppression, Verdict};
use crate::config::FailOn;
use crate::config::IgnoreEntry;

/// What fails the run by default.
pub const DEFAULT_FAIL_ON: [FailOn; 3] = [FailOn::Declared, FailOn::Binary, FailOn::Source];

fn fails_on(verdict: Verdict) -> Option<FailOn> {
    match verdict {
        Verdict::DeclaredBlocker => Some(FailOn::Declared),
        Verdict::BinaryBlocker => Some(FailOn::Binary),
        Verdict::SourceBlocker => Some(FailOn::Source),
        Verdict::Suspect => Some(FailOn::Suspect),
        Verdict::Unknown => Some(FailOn::Unknown),
        Verdict::Ready | Verdict::Unaffected => None,
    }
}

/// Hide the findings the ignore list accepts. An entry past its `until` date hides nothing
/// and says so on the package; entries that match no finding are returned as warnings.
pub fn apply_ignores(
    audit: &mut Audit,
    entries: &[IgnoreEntry],
    config: &Path,
    today: Date,
) -> Vec<String> {
    let mut used = vec![false; entries.len()];
    for package in &mut audit.packages {
        if fails_on(package.verdict).is_none() || package.suppressed.is_some() {
            continue;
        }
        let found = entries.iter().enumerate().find(|(_, entry)| {
            entry.package.as_ref() == package.name
                && entry.version.as_ref().is_none_or(|version| {
                    package.version.as_deref() == Some(version.to_string().as_str())
                })
        });
        let Some((index, entry)) = found else {
            continue;
        };
        used[index] = true;
        match entry.until {
            Some(until) if until < today => package.evidence.push(Evidence {
                file: Some(format!("{}:{}", config.display(), entry.line)),
                ..Evidence::new(
                    EvidenceCode::IgnoreExpired,
                    format!(
                        "the ignore entry for it expired on {until} (\"{}\"): reported again",
                        entry.reason
                    ),
                )
            }),
            until => {
                package.suppressed = Some(Suppression {
                    kind: "ignore",
                    reason: entry.reason.clone(),
                    until: until.map(|date| date.to_string()),
                })
            }
        }
    }
    entries
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(entry, _)| {
            format!(
                "{}:{}: the ignore entry for {}{} matches no finding",
                config.display(),
                entry.line,
                entry.package,
                entry
                    .version
                    .as_ref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

type Finding = (String, Option<String>, String);

/// The findings of an earlier report: (name, version, verdict). From a combined report (several
/// lockfiles), each lockfile's own, by its path; from a matrix (one lockfile, several
/// environments), each environment's own, by its platform and Python version.
#[derive(Debug, Default)]
pub struct Baseline {
    path: String,
    findings: BTreeSet<Finding>,
    by_lockfile: Option<BTreeMap<String, BTreeSet<Finding>>>,
    by_environment: Option<BTreeMap<String, BTreeSet<Finding>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("--baseline {path}: {message}")]
pub struct BaselineError {
    path: String,
    message: String,
}

#[derive(Deserialize)]
struct ReportWire {
    schema_version: u32,
    /// A single lockfile's report.
    #[serde(default)]
    packages: Option<Vec<PackageWire>>,
    #[serde(default)]
    lockfile: Option<LockfileWire>,
    /// A combined report: one report per lockfile.
    #[serde(default)]
    lockfiles: Option<Vec<ReportWire>>,
    /// A matrix: one report per environment.
    #[serde(default)]
    environments: Option<Vec<ReportWire>>,
    #[serde(default)]
    target: Option<TargetWire>,
}

#[derive(Deserialize)]
struct TargetWire {
    python_version: String,
    python_platform: String,
}

/// How a matrix names an environment, in a baseline and in the audit it is applied to.
fn environment_key(platform: &str, python: &str) -> String {
    format!("{platform} / {python}")
}

#[derive(Deserialize)]
struct LockfileWire {
    path: String,
}

fn findings(packages: Vec<PackageWire>) -> BTreeSet<Finding> {
    packages
        .into_iter()
        .map(|p| (p.name, p.version, p.verdict))
        .collect()
}

#[derive(Deserialize)]
struct PackageWire {
    name: String,
    version: Option<String>,
    verdict: String,
}

impl Baseline {
    /// Read a report written by `--format json`.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let error = |message: String| BaselineError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let report: ReportWire = serde_json::from_str(&text).map_err(|e| {
            error(format!(
                "line {}: not an np2audit JSON report ({e})",
                e.line()
            ))
        })?;
        if report.schema_version != crate::audit::SCHEMA_VERSION {
            return Err(error(format!(
                "schema_version {} is not the {} this np2audit writes",
                report.schema_version,
                crate::audit::SCHEMA_VERSION
            )));
        }
        let path = path.display().to_string();
        if let (None, Some(environments)) = (&report.packages, report.environments) {
            return Ok(Baseline {
                path,
                by_environment: Some(
                    environments
                        .into_iter()
                        .filter_map(|report| {
                            let target = report.target?;
                            Some((
                                environment_key(&target.python_platform, &target.python_version),
                                findings(report.packages?),
                            ))
                        })
                        .collect(),
                ),
                ..Baseline::default()
            });
        }
        match (report.packages, report.lockfiles) {
            (Some(packages), _) => Ok(Baseline {
                path,
                findings: findings(packages),
                by_lockfile: None,
                by_environment: None,
            }),
            (None, Some(lockfiles)) => Ok(Baseline {
                path,
                findings: BTreeSet::new(),
                by_environment: None,
                by_lockfile: Some(
                    lockfiles
                        .into_iter()
                        .filter_map(|report| {
                            Some((report.lockfile?.path, findings(report.packages?)))
                        })
                        .collect(),
                ),
            }),
            (None, None) => Err(error(
                "not an np2audit JSON report (no `packages`, `lockfiles` or `environments`)"
                    .to_string(),
            )),
        }
    }

    /// Hide findings the baseline already had (same package, version and verdict).
    pub fn apply(&self, audit: &mut Audit) {
        let environment =
            environment_key(&audit.target.python_platform, &audit.target.python_version);
        let findings = match (&self.by_lockfile, &self.by_environment) {
            // An environment the earlier matrix did not judge: all its findings are new.
            (_, Some(by_environment)) => match by_environment.get(&environment) {
                Some(findings) => findings,
                None => return,
            },
            (None, None) => &self.findings,
            // A lockfile the earlier run did not have: all its findings are new.
            (Some(by_lockfile), None) => match audit
                .lockfile
                .as_ref()
                .and_then(|lockfile| by_lockfile.get(&lockfile.path))
            {
                Some(findings) => findings,
                None => return,
            },
        };
        for package in &mut audit.packages {
            if fails_on(package.verdict).is_none() || package.suppressed.is_some() {
                continue;
            }
            let key = (
                package.name.clone(),
                package.version.clone(),
                package.verdict.as_str().to_string(),
            );
            if findings.contains(&key) {
                package.suppressed = Some(Suppression {
                    kind: "baseline",
                    reason: format!("already in {}", self.path),
                    until: None,
                });
            }
        }
    }
}

/// Whether the audit's findings fail the run under `fail_on`. Suppressed findings never do;
/// the project's own numpy cap counts as a declared blocker, its own uses of removed names as
/// source blockers.
pub fn fails(audit: &Audit, fail_on: &[FailOn]) -> bool {
    let project_cap = fail_on.contains(&FailOn::Declared)
        && audit.project_requirements.iter().any(|r| r.excludes_target);
    let project_code = fail_on.contains(&FailOn::Source)
        && audit
            .project_code
            .as_ref()
            .is_some_and(|code| !code.uses.is_empty());
    project_cap
        || project_code
        || audit.packages.iter().any(|package| {
            package.suppressed.is_none()
                && fails_on(package.verdict).is_some_and(|kind| fail_on.contains(&kind))
        })
}
