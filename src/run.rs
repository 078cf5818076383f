//! Running a command: resolve settings, read the subject, audit it, write the report, and say
//! which exit code the outcome deserves.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::audit::{self, Audit, AuditSettings};
use crate::check;
use crate::cli::{AuditArgs, Cli, Command};
use crate::environment::{PythonVersion, TargetEnvironment};
use crate::index::{Cache, HttpClient, HttpSettings, IndexClient};
use crate::inspect::ScanBudget;
use crate::lockfile::{self, LockedProject, PackageSource};
use crate::report::{self, OutputFormat, Style};
use crate::settings::{self, Settings};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// No blockers.
    Clean = 0,
    /// Blockers found.
    Blockers = 1,
    /// Usage or input error.
    Error = 2,
    /// Index or network failures left packages unknown.
    Incomplete = 3,
}

/// An error that ends the run, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
}

fn input_error(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        status: ExitStatus::Error,
        error: error.into(),
    }
}

pub async fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    match cli.command {
        Command::Lock(args) => {
            let path = find_lockfile(args.path.as_deref()).map_err(input_error)?;
            let project = lockfile::read_lockfile(&path).map_err(input_error)?;
            let settings = Settings::resolve(&args.audit).map_err(input_error)?;
            let python = match settings.python {
                Some(python) => python,
                None => lowest_python(&project),
            };
            let index_url = settings
                .index_url
                .clone()
                .or_else(|| lock_registry(&project))
                .unwrap_or_else(|| settings::PYPI_SIMPLE.to_string());
            let client = open_client(&settings, &index_url).await?;
            let audit = audit_project(&project, &client, &settings, python, true).await?;
            finish(&audit, &args.audit, &settings)
        }
        Command::Check(args) => {
            let settings = Settings::resolve(&args.audit).map_err(input_error)?;
            let python = settings
                .python
                .or_else(settings::local_python)
                .unwrap_or(PythonVersion::new(3, 12));
            let index_url = settings
                .index_url
                .clone()
                .unwrap_or_else(|| settings::PYPI_SIMPLE.to_string());
            let client = open_client(&settings, &index_url).await?;
            let project = check::releases_project(&args.specs, &client, python)
                .await
                .map_err(|error| Failure {
                    status: match error {
                        check::CheckError::Spec { .. } => ExitStatus::Error,
                        check::CheckError::Lookup { .. } => ExitStatus::Incomplete,
                    },
                    error: error.into(),
                })?;
            let audit = audit_project(&project, &client, &settings, python, false).await?;
            finish(&audit, &args.audit, &settings)
        }
    }
}

/// `PATH`, or `uv.lock` in the current directory.
fn find_lockfile(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    match path {
        Some(path) if path.is_dir() => {
            let candidate = path.join("uv.lock");
            anyhow::ensure!(
                candidate.is_file(),
                "{}: no uv.lock in this directory",
                path.display()
            );
            Ok(candidate)
        }
        Some(path) => Ok(path.to_path_buf()),
        None => {
            let candidate = PathBuf::from("uv.lock");
            anyhow::ensure!(
                candidate.is_file(),
                "no uv.lock in the current directory: pass the lockfile's path (`np2audit lock path/to/uv.lock`)"
            );
            Ok(candidate)
        }
    }
}

/// The lowest Python the lock's `requires-python` admits, else the local one, else 3.12.
fn lowest_python(project: &LockedProject) -> PythonVersion {
    project
        .requires_python
        .as_ref()
        .and_then(PythonVersion::lowest_admitted)
        .or_else(settings::local_python)
        .unwrap_or(PythonVersion::new(3, 12))
}

/// The registry every registry package of the lock names, when there is exactly one.
fn lock_registry(project: &LockedProject) -> Option<String> {
    let mut registries = project
        .packages
        .iter()
        .filter_map(|package| match &package.source {
            PackageSource::Registry(url) => Some(url.clone()),
            _ => None,
        });
    let first = registries.next()?;
    registries.all(|url| url == first).then_some(first)
}

async fn open_client(settings: &Settings, index_url: &str) -> Result<IndexClient, Failure> {
    // A cache written by a newer np2audit, or damaged, must not stop the audit: it runs on a
    // cache in memory instead and says so.
    let cache = match Cache::open(&settings.cache_dir).await {
        Ok(cache) => cache,
        Err(error) => {
            tracing::warn!("{error}; using a temporary in-memory cache for this run");
            Cache::in_memory()
                .await
                .context("opening an in-memory cache")
                .map_err(input_error)?
        }
    };
    let http = HttpClient::new(HttpSettings::default()).map_err(input_error)?;
    IndexClient::new(index_url, http, cache, settings.cache_mode).map_err(input_error)
}

async fn audit_project(
    project: &LockedProject,
    client: &IndexClient,
    settings: &Settings,
    python: PythonVersion,
    show_lockfile: bool,
) -> Result<Audit, Failure> {
    let audit_settings = AuditSettings {
        environment: TargetEnvironment::new(python, settings.platform.clone()),
        target: settings.target.clone(),
        scan_budget: ScanBudget::default(),
        show_lockfile,
    };
    audit::run(project, client, &audit_settings)
        .await
        .map_err(|error| Failure {
            status: ExitStatus::Incomplete,
            error: error.into(),
        })
}

fn finish(audit: &Audit, args: &AuditArgs, settings: &Settings) -> Result<ExitStatus, Failure> {
    let stdout = std::io::stdout();
    let color = settings.format == OutputFormat::Table
        && stdout.is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = stdout.lock();
    report::render(audit, args.format, Style { color }, &mut out)
        .and_then(|()| out.flush())
        .context("writing the report")
        .map_err(input_error)?;
    Ok(if audit.has_blockers() {
        ExitStatus::Blockers
    } else if audit.incomplete {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    })
}
