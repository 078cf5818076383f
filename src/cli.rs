//! What the user typed. Flag names follow uv's where uv has one.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use pep440_rs::Version;

use crate::config::{Config, FailOn};
use crate::environment::{Platform, PythonVersion};
use crate::export::GraphFormat;
use crate::index::CacheMode;
use crate::lockfile::LockFormat;
use crate::report::OutputFormat;
use crate::settings::{self, Settings, SettingsError};

/// Lockfile formats by the names users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LockFormatArg {
    Uv,
    Poetry,
    Pdm,
    Pipfile,
    Pylock,
    Requirements,
}

impl From<LockFormatArg> for LockFormat {
    fn from(format: LockFormatArg) -> LockFormat {
        match format {
            LockFormatArg::Uv => LockFormat::UvLock,
            LockFormatArg::Poetry => LockFormat::PoetryLock,
            LockFormatArg::Pdm => LockFormat::PdmLock,
            LockFormatArg::Pipfile => LockFormat::PipfileLock,
            LockFormatArg::Pylock => LockFormat::Pylock,
            LockFormatArg::Requirements => LockFormat::Requirements,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "np2audit",
    version,
    about = "Find what in a Python dependency tree blocks the move to NumPy 2",
    after_help = "Exit codes: 0 no blockers, 1 blockers found, 2 usage or input error, 3 audit incomplete."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only the report (no warnings).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit lockfiles (default: the lockfile in the current directory); several, or a tree of
    /// them with --recursive, in one run that fetches each release once.
    Lock(LockArgs),
    /// Audit single releases without a lockfile: `scipy==1.11.4`, or a bare name for the newest release.
    Check(CheckArgs),
    /// Audit an installed environment from the files on disk (no network needed for verdicts).
    Env(EnvArgs),
    /// Print the lock's dependency tree (every fork and marker unless an environment is given).
    Tree(TreeArgs),
    /// Export the lock's dependency graph as DOT, Mermaid or JSON.
    Graph(GraphArgs),
    /// Inspect or empty the cache.
    Cache(CacheArgs),
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
    /// The cache directory [env: NP2AUDIT_CACHE_DIR; default: the platform cache dir].
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// A PostgreSQL cache, as postgres://USER:PASSWORD@HOST/DATABASE [env: NP2AUDIT_CACHE_URL].
    #[arg(long, value_name = "URL", global = true, conflicts_with = "cache_dir")]
    pub cache_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print where the cache is.
    Dir,
    /// Print what the cache holds: entries per kind, size, schema, staleness.
    Info,
    /// Remove everything from the cache, or only what belongs to the named packages.
    Clean {
        /// Packages whose pages, metadata and scans to remove [default: everything].
        #[arg(value_name = "PACKAGE")]
        packages: Vec<String>,
    },
    /// Remove what no run will use again: scans by older scanner versions, releases whose page
    /// is gone, old notes about hosts; with --older-than, everything older too.
    Prune {
        /// Also remove entries fetched or stored more than this many days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u64>,
    },
}

/// Which lockfile, and optionally which environment, a graph command reads.
#[derive(Debug, Args)]
pub struct GraphSource {
    /// The lockfile (`-` reads standard input; give --lock-format) [default: the lockfile in the
    /// current directory].
    pub path: Option<PathBuf>,
    /// The lockfile's format [default: from the file name, else from its content].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub lock_format: Option<LockFormatArg>,
    /// Restrict to what this Python version installs (with --python-platform, or this machine).
    #[arg(long, value_name = "X.Y")]
    pub python_version: Option<String>,
    /// Restrict to what this platform installs (with --python-version, or the lowest the lock allows).
    #[arg(long, value_name = "PLATFORM")]
    pub python_platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[command(flatten)]
    pub source: GraphSource,
    /// Show the packages that depend on PACKAGE, like `uv tree --invert --package`.
    #[arg(long, value_name = "PACKAGE")]
    pub invert: Option<String>,
    /// How many levels to draw.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub source: GraphSource,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Lockfiles to audit, or directories to take the lockfile from (`-` reads standard input;
    /// give --lock-format) [default: the lockfile in the current directory]. With more than one,
    /// or with --recursive, the report combines them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also audit every lockfile under DIR (repeatable): hidden directories, virtualenvs,
    /// node_modules, target, site-packages and __pypackages__ are skipped; requirements*.txt
    /// files count when they pin (a compiler header, or every requirement `==`).
    #[arg(long, short = 'r', value_name = "DIR")]
    pub recursive: Vec<PathBuf>,
    /// Also write one report per lockfile into DIR (in --format), named after the lockfile's
    /// path: `services/api/uv.lock` → `services__api__uv.lock.json`.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Judge every environment the lock serves: the platforms and Python versions it declares
    /// (uv's `supported-markers`, pdm's target platforms), else linux, macos and windows × the
    /// lowest and highest Python its `requires-python` allows; --python-version and
    /// --python-platform replace either side. One lockfile only.
    #[arg(long, conflicts_with = "recursive")]
    pub matrix: bool,
    /// The lockfile's format [default: from the file name, else from its content].
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "recursive")]
    pub lock_format: Option<LockFormatArg>,
    /// Print the audited environment's graph instead of the report, blockers highlighted
    /// (one lockfile only).
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "recursive")]
    pub graph: Option<GraphFormat>,
    /// Print only the numpy pin that keeps the lock working, spelled for the lock's tool and
    /// ready to paste (nothing when no pin is needed; one lockfile only).
    #[arg(long, conflicts_with_all = ["graph", "recursive"])]
    pub suggest_pins: bool,
    /// Do not scan the project's own Python files (beside its pyproject.toml) for names the
    /// target NumPy removed.
    #[arg(long)]
    pub no_project_code: bool,
    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// A site-packages directory or a virtualenv [default: $VIRTUAL_ENV, else .venv, else the
    /// environment of `python3` on PATH].
    pub path: Option<PathBuf>,
    /// The interpreter whose environment to audit.
    #[arg(long, value_name = "PYTHON", conflicts_with = "path")]
    pub python: Option<PathBuf>,
    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Releases as `NAME==VERSION` or `NAME`.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<String>,
    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// The NumPy version to move to [default: the newest release that supports the Python version].
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// The Python version to judge for, e.g. 3.11 [default: the lowest the lockfile allows; for
    /// `check`, the `python3` on PATH, else 3.12]. For `lock`, a comma-separated list judges
    /// each (`3.10,3.12`).
    #[arg(long, value_name = "X.Y")]
    pub python_version: Option<String>,
    /// The platform to judge for: linux, macos, windows, or a target such as
    /// x86_64-manylinux_2_28 or aarch64-apple-darwin [default: this machine]. For `lock`, a
    /// comma-separated list judges each (`linux,macos,windows`).
    #[arg(long, value_name = "PLATFORM")]
    pub python_platform: Option<String>,
    /// The package index (Simple API) [env: UV_INDEX_URL, PIP_INDEX_URL; default: the lock's
    /// registry, else https://pypi.org/simple].
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,
    /// Use only the cache; what it lacks is reported unknown.
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,
    /// Revalidate every cached project page (immutable file data stays cached).
    #[arg(long)]
    pub refresh: bool,
    /// The cache directory [env: NP2AUDIT_CACHE_DIR; default: the platform cache dir].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// A PostgreSQL database to cache in, shared by CI runners, as
    /// postgres://USER:PASSWORD@HOST/DATABASE [env: NP2AUDIT_CACHE_URL].
    #[arg(long, value_name = "URL", conflicts_with = "cache_dir")]
    pub cache_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which findings fail the run (exit 1), comma-separated: declared, binary, source,
    /// suspect, unknown [default: declared,binary,source; config: fail-on].
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_enum)]
    pub fail_on: Option<Vec<FailOn>>,
    /// Exit 0 whatever the findings, unless the audit could not run (exit 2) or was incomplete (3).
    #[arg(long)]
    pub no_fail: bool,
    /// A previous JSON report: findings already in it are hidden, only new ones are reported.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

impl AuditArgs {
    /// The first of --python-version and --python-platform written as a list (`3.10,3.12`).
    fn list_flag(&self) -> Option<&'static str> {
        [
            ("--python-version", &self.python_version),
            ("--python-platform", &self.python_platform),
        ]
        .into_iter()
        .find(|(_, value)| value.as_deref().is_some_and(|value| value.contains(',')))
        .map(|(flag, _)| flag)
    }

    /// Whether either environment flag was written as a list: several environments (`lock`).
    pub fn has_lists(&self) -> bool {
        self.list_flag().is_some()
    }

    /// The settings these flags resolve to: flags first, then environment variables, then
    /// `config`.
    pub fn resolve(&self, config: Config) -> Result<Settings, SettingsError> {
        let args = self;
        let target = args
            .target
            .as_deref()
            .map(|t| {
                t.parse::<Version>()
                    .map_err(|_| SettingsError::Target(t.to_string()))
            })
            .transpose()?
            .or_else(|| config.target.clone());
        if let Some(flag) = args.list_flag() {
            return Err(SettingsError::List(flag));
        }
        let python = args
            .python_version
            .as_deref()
            .map(|p| {
                p.parse::<PythonVersion>()
                    .map_err(|e| SettingsError::Python(e.to_string()))
            })
            .transpose()?
            .or(config.python);
        let platform = match args.python_platform.as_deref() {
            Some(name) => name
                .parse()
                .map_err(|e: crate::environment::UnknownPlatform| {
                    SettingsError::Platform(e.to_string())
                })?,
            None => config.platform.clone().unwrap_or_else(Platform::host),
        };
        let index_url = args
            .index_url
            .clone()
            .or_else(|| settings::non_empty_env("UV_INDEX_URL"))
            .or_else(|| settings::non_empty_env("PIP_INDEX_URL"))
            .or_else(|| config.index_url.clone());
        let cache = settings::cache_location(args.cache_dir.as_deref(), args.cache_url.as_deref())?;
        let cache_mode = if args.offline {
            CacheMode::Offline
        } else if args.refresh {
            CacheMode::Refresh
        } else {
            CacheMode::Normal {
                page_ttl: settings::PAGE_TTL,
            }
        };
        Ok(Settings {
            target,
            python,
            platform,
            index_url,
            cache,
            cache_mode,
            format: args.format,
            fail_on: args
                .fail_on
                .clone()
                .or_else(|| config.fail_on.clone())
                .unwrap_or_else(|| crate::policy::DEFAULT_FAIL_ON.to_vec()),
            no_fail: args.no_fail,
            config,
            progress: crate::progress::Progress::hidden(),
            project_dir: PathBuf::from("."),
        })
    }
}
