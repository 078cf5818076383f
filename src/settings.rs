//! What the command line resolves to: explicit flags, then environment variables, then what
//! the lockfile says, then defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pep440_rs::Version;

use crate::config::{Config, FailOn};
use crate::environment::{Platform, PythonVersion};
use crate::index::CacheMode;
use crate::index::cache::CacheLocation;
use crate::report::OutputFormat;

pub const PYPI_SIMPLE: &str = "https://pypi.org/simple";
/// How long a project page is trusted before it is revalidated.
pub const PAGE_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("--target: `{0}` is not a PEP 440 version")]
    Target(String),
    #[error("--python-version: {0}")]
    Python(String),
    #[error("--python-platform: {0}")]
    Platform(String),
    #[error("no cache directory: pass --cache-dir or set NP2AUDIT_CACHE_DIR")]
    CacheDir,
    #[error("--cache-url: {0}")]
    CacheUrl(String),
    #[error(
        "{0}: a comma-separated list judges several environments, which only `np2audit lock` does"
    )]
    List(&'static str),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Option<Version>,
    /// `None`: decided by the subject (the lockfile's requires-python, or the local python3).
    pub python: Option<PythonVersion>,
    pub platform: Platform,
    /// An index chosen by flag or environment; `None` lets the lockfile decide.
    pub index_url: Option<String>,
    pub cache: CacheLocation,
    pub cache_mode: CacheMode,
    pub format: OutputFormat,
    /// Which findings fail the run.
    pub fail_on: Vec<FailOn>,
    pub no_fail: bool,
    /// The configuration found beside the subject (for its ignore list).
    pub config: Config,
    /// Hidden unless standard error is a terminal (see [`crate::run::run_command`]).
    pub progress: crate::progress::Progress,
    /// The project's folder (the lockfile's, else the current one): where its uv index names
    /// are read, for their credential variables.
    pub project_dir: PathBuf,
}

/// `--cache-url` (or `NP2AUDIT_CACHE_URL`), else `--cache-dir` (or `NP2AUDIT_CACHE_DIR`), else
/// the platform's cache directory. A flag beats either variable.
pub fn cache_location(
    dir: Option<&Path>,
    url: Option<&str>,
) -> Result<CacheLocation, SettingsError> {
    if let Some(dir) = dir {
        return Ok(CacheLocation::Dir(dir.to_path_buf()));
    }
    if let Some(url) = url
        .map(str::to_string)
        .or_else(|| non_empty_env("NP2AUDIT_CACHE_URL"))
    {
        return CacheLocation::from_url(&url).map_err(SettingsError::CacheUrl);
    }
    let dir = match non_empty_env("NP2AUDIT_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::cache_dir()
            .ok_or(SettingsError::CacheDir)?
            .join("np2audit"),
    };
    Ok(CacheLocation::Dir(dir))
}

pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The feature version of the `python3` on PATH, if there is one.
pub fn local_python() -> Option<PythonVersion> {
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}
