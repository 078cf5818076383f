//! One lockfile judged for every environment it serves (`--python-version 3.10,3.12`,
//! `--python-platform linux,macos,windows`, `--matrix`). A universal lock (uv, poetry, pdm)
//! installs different wheels, and different dependencies, per platform and Python version, and
//! the default target NumPy follows the Python version; each environment is audited as a run for
//! it alone would be, all sharing one [`Session`], so a wheel several environments install is
//! fetched and scanned once. One report follows, opening with the matrix.

use anyhow::anyhow;
use futures::StreamExt;

use crate::cli::LockArgs;
use crate::environment::{Platform, PythonVersion, TargetEnvironment};
use crate::exit::{ExitStatus, Failure, input_error};
use crate::fix::merge;
use crate::fix::tool::Tool;
use crate::lockfile::LockedProject;
use crate::progress::Progress;
use crate::report::combined::{Combined, Entry, Subject, environment_label};
use crate::run::{self, Session};

/// Environments audited at once: two overlap one's round trips with the other's scanning.
/// NCEP's uv.lock, 6 environments cold: 23.0 s one at a time, 12.3 s two, 13.1 s four (peak
/// 123, 126–131 and 145 MiB).
const ENVIRONMENTS_AT_ONCE: usize = 2;

/// The platforms `--matrix` judges when neither the lock nor `--python-platform` narrows them.
const DEFAULT_PLATFORMS: [&str; 3] = ["linux", "macos", "windows"];

/// One environment to judge: a Python version (None: the lowest the lock allows, as for a
/// single run) and a platform as given (None: the configured one, else this machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSpec {
    pub python: Option<PythonVersion>,
    pub platform: Option<String>,
}

/// The environments `args` ask for, or None when they ask for one (the single-run report).
pub fn requested(
    args: &LockArgs,
    project: &LockedProject,
) -> Result<Option<Vec<EnvironmentSpec>>, Failure> {
    let mut pythons = list(args.audit.python_version.as_deref())
        .into_iter()
        .map(|text| {
            text.parse::<PythonVersion>()
                .map_err(|error| input_error(anyhow!("--python-version: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut platforms = list(args.audit.python_platform.as_deref());
    for name in &platforms {
        name.parse::<Platform>()
            .map_err(|error| input_error(anyhow!("--python-platform: {error}")))?;
    }
    if args.matrix {
        if pythons.is_empty() {
            pythons = lock_pythons(project);
        }
        if platforms.is_empty() {
            platforms = DEFAULT_PLATFORMS.map(String::from).to_vec();
        }
    } else if pythons.len() <= 1 && platforms.len() <= 1 && !args.audit.has_lists() {
        // A flag written as a list (`3.11,`) gets the matrix's report, of one.
        return Ok(None);
    }
    let pythons: Vec<Option<PythonVersion>> = if pythons.is_empty() {
        vec![None]
    } else {
        pythons.into_iter().map(Some).collect()
    };
    let platforms: Vec<Option<String>> = if platforms.is_empty() {
        vec![None]
    } else {
        platforms.into_iter().map(Some).collect()
    };
    let mut specs = Vec::new();
    let mut outside = Vec::new();
    for platform in &platforms {
        for &python in &pythons {
            let spec = EnvironmentSpec {
                python,
                platform: platform.clone(),
            };
            if declared(project, &spec) {
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            } else {
                outside.push(spec);
            }
        }
    }
    for spec in &outside {
        tracing::warn!(
            "{}: not judged for {}: the lock's `supported-markers` leave it out",
            project.path.display(),
            label(spec)
        );
    }
    if specs.is_empty() {
        return Err(input_error(anyhow!(
            "{}: none of the environments asked for is one the lock serves (its \
             `supported-markers`)",
            project.path.display()
        )));
    }
    Ok(Some(specs))
}

/// Comma-separated values, trimmed, empty ones left out.
fn list(value: Option<&str>) -> Vec<String> {
    value
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// The lowest and the highest released Python the lock's `requires-python` admits (when it
/// records none, the one a single run would take).
fn lock_pythons(project: &LockedProject) -> Vec<PythonVersion> {
    let Some(specifiers) = &project.requires_python else {
        return vec![run::lowest_python(project)];
    };
    let mut pythons: Vec<PythonVersion> = [
        PythonVersion::lowest_admitted(specifiers),
        PythonVersion::highest_admitted(specifiers),
    ]
    .into_iter()
    .flatten()
    .collect();
    pythons.dedup();
    pythons
}

/// Whether the lock serves `spec`: it declares no environments, or one of them holds there.
/// A spec without a Python version is judged at the lock's lowest, as its run will be.
fn declared(project: &LockedProject, spec: &EnvironmentSpec) -> bool {
    if project.supported_markers.is_empty() {
        return true;
    }
    let python = spec.python.unwrap_or_else(|| run::lowest_python(project));
    let platform = match &spec.platform {
        Some(name) => name.parse().unwrap_or_else(|_| Platform::host()),
        None => Platform::host(),
    };
    let environment = TargetEnvironment::new(python, platform);
    project
        .supported_markers
        .iter()
        .any(|marker| marker.evaluate(environment.markers(), &[]))
}

/// How an environment is named before it is audited (afterwards, from its report).
fn label(spec: &EnvironmentSpec) -> String {
    let python = spec
        .python
        .map_or("the lock's lowest Python".to_string(), |p| {
            format!("Python {p}")
        });
    format!(
        "{} / {python}",
        spec.platform.as_deref().unwrap_or("this machine")
    )
}

/// Audit `project` once per environment of `specs`, and report them together.
pub async fn audit_environments(
    project: LockedProject,
    specs: Vec<EnvironmentSpec>,
    args: &LockArgs,
    progress: Progress,
) -> Result<ExitStatus, Failure> {
    if args.graph.is_some() || args.suggest_pins {
        return Err(input_error(anyhow!(
            "--graph and --suggest-pins show one environment: give one --python-version and \
             --python-platform"
        )));
    }
    let session = Session::new()?;
    progress.environments(specs.len());
    let watch = progress.watch_counters(session.counters());
    let lockfile = project.path.display().to_string();
    let outcomes: Vec<Result<run::Audited, Failure>> = futures::stream::iter(specs)
        .map(|spec| {
            let (session, progress, project) = (&session, &progress, project.clone());
            let mut audit_args = args.audit.clone();
            audit_args.python_version = spec.python.map(|p| p.to_string());
            audit_args.python_platform = spec.platform.clone();
            async move {
                let outcome = run::audit_lockfile(
                    project,
                    &audit_args,
                    session,
                    Progress::hidden(),
                    !args.no_project_code,
                )
                .await;
                progress.audited_one();
                outcome
            }
        })
        // In order: the matrix lists environments as they were asked for.
        .buffered(ENVIRONMENTS_AT_ONCE)
        .collect()
        .await;
    drop(watch);

    let stats = session.stats().await;
    let mut audited = Vec::new();
    for outcome in outcomes {
        // An environment that cannot be audited (a bad flag, the index down for its target)
        // fails the run as a single run would: the matrix would otherwise hide it.
        let mut one = outcome?;
        one.audit.stats = stats.clone();
        let status = run::exit_status(&one.audit, &one.settings);
        audited.push((one, status));
    }
    let status = crate::multi::worst(audited.iter().map(|(_, status)| *status));
    let readiness: Vec<merge::EnvironmentReadiness> = audited
        .iter()
        .map(|(one, _)| merge::EnvironmentReadiness {
            label: environment_label(&one.audit),
            target: &one.audit.target.numpy,
            readiness: &one.audit.readiness,
        })
        .collect();
    let fix = merge::merge(&readiness, &Tool::of(&project));
    let combined = Combined {
        subject: Subject::Environments {
            lockfile: lockfile.clone(),
        },
        fix: Some(fix),
        entries: audited
            .iter()
            .map(|(one, status)| Entry::Audited {
                audit: &one.audit,
                exit_code: *status as u8,
            })
            .collect(),
        stats,
        exit_code: status as u8,
    };
    if let Some(directory) = &args.output_dir {
        // `uv.lock.linux-3.12.json`: the lockfile's name, then the environment's.
        let stem = crate::multi::report_stem(&lockfile);
        let named = audited.iter().map(|(one, _)| {
            let target = &one.audit.target;
            (
                format!(
                    "{stem}.{}-{}",
                    target.python_platform, target.python_version
                ),
                &one.audit,
            )
        });
        crate::multi::write_named_reports(directory, named, args.audit.format)?;
    }
    crate::multi::write_combined(&combined, args)?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn project(requires_python: Option<&str>, markers: &[&str]) -> LockedProject {
        LockedProject {
            path: "uv.lock".into(),
            format: crate::lockfile::LockFormat::UvLock,
            requires_python: requires_python
                .map(|text| pep440_rs::VersionSpecifiers::from_str(text).unwrap()),
            packages: Vec::new(),
            roots: Vec::new(),
            index_urls: Vec::new(),
            warnings: Vec::new(),
            generated_by: None,
            supported_markers: markers
                .iter()
                .map(|text| pep508_rs::MarkerTree::from_str(text).unwrap())
                .collect(),
        }
    }

    #[test]
    fn the_matrix_is_the_lowest_and_highest_python_the_lock_allows_on_three_platforms() {
        assert_eq!(
            lock_pythons(&project(Some(">=3.10"), &[])),
            [PythonVersion::new(3, 10), PythonVersion::NEWEST_RELEASED]
        );
        assert_eq!(
            lock_pythons(&project(Some(">=3.9,<3.13"), &[])),
            [PythonVersion::new(3, 9), PythonVersion::new(3, 12)]
        );
        assert_eq!(
            lock_pythons(&project(Some("==3.11.*"), &[])),
            [PythonVersion::new(3, 11)]
        );
    }

    #[test]
    fn supported_markers_leave_out_the_environments_the_lock_does_not_serve() {
        let linux_only = project(Some(">=3.10"), &["sys_platform == 'linux'"]);
        let spec = |python: u8, platform: &str| EnvironmentSpec {
            python: Some(PythonVersion::new(3, python)),
            platform: Some(platform.to_string()),
        };
        assert!(declared(&linux_only, &spec(10, "linux")));
        assert!(!declared(&linux_only, &spec(10, "windows")));
        assert!(!declared(&linux_only, &spec(12, "macos")));
        let newer_on_mac = project(
            None,
            &[
                "sys_platform == 'linux'",
                "sys_platform == 'darwin' and python_full_version >= '3.12'",
            ],
        );
        assert!(declared(&newer_on_mac, &spec(12, "macos")));
        assert!(!declared(&newer_on_mac, &spec(11, "macos")));
        assert!(declared(&project(None, &[]), &spec(11, "windows")));
    }

    #[test]
    fn lists_are_comma_separated_and_trimmed() {
        assert_eq!(list(Some("3.10, 3.12,,")), ["3.10", "3.12"]);
        assert_eq!(list(None), Vec::<String>::new());
    }
}
