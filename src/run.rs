//! Running a command: resolve settings, read the subject, audit it, write the report, and say
//! which exit code the outcome deserves.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;

use crate::audit::{self, Audit, AuditSettings, RunScans, Stats};
use crate::cache_command;
use crate::check;
use crate::cli::{AuditArgs, Cli, Command, EnvArgs, GraphSource, LockArgs};
use crate::config;
use crate::discover::find_lockfile;
use crate::environment::{PythonVersion, TargetEnvironment};
use crate::exit::input_error;
pub use crate::exit::{ExitStatus, Failure};
use crate::export::{self, TreeOptions};
use crate::fix::Tool;
use crate::index::{Cache, HttpClient, HttpSettings, IndexClient, auth};
use crate::inspect::ScanBudget;
use crate::installed;
use crate::lockfile::{self, LockFormat, LockedProject, PackageSource};
use crate::policy;
use crate::progress::Progress;
use crate::report::{self, OutputFormat, Style};
use crate::settings::{self, Settings};
use pep508_rs::PackageName;

/// Run the subcommand `cli` names, to the exit status it ends with.
pub async fn run_command(cli: Cli) -> Result<ExitStatus, Failure> {
    let progress = Progress::new(!cli.quiet && cli.verbose == 0 && std::io::stderr().is_terminal());
    match cli.command {
        Command::Lock(args) => {
            if args.recursive.is_empty() && args.paths.len() <= 1 {
                audit_one_lockfile(&args, progress).await
            } else {
                crate::multi::audit_lockfiles(&args, progress).await
            }
        }
        Command::Env(args) => audit_environment(&args, progress).await,
        Command::Cache(args) => cache_command::run_cache_command(&args).await,
        Command::Tree(args) => {
            let (project, environment) = read_graph_source(&args.source)?;
            let edges = export::edges(&project, environment.as_ref());
            let invert = args
                .invert
                .as_deref()
                .map(|name| {
                    PackageName::new(name.to_string())
                        .map_err(|e| input_error(anyhow::anyhow!("--invert: {e}")))
                })
                .transpose()?;
            if let Some(name) = &invert
                && !project.packages.iter().any(|p| &p.name == name)
            {
                return Err(input_error(anyhow::anyhow!(
                    "--invert: `{name}` is not in the lock"
                )));
            }
            let options = TreeOptions {
                invert,
                depth: args.depth,
            };
            write_stdout(|out| export::render_tree(&project, &edges, &options, out))
        }
        Command::Graph(args) => {
            let (project, environment) = read_graph_source(&args.source)?;
            let edges = export::edges(&project, environment.as_ref());
            let none = export::Highlights::new();
            write_stdout(|out| export::render_graph(&project, &edges, args.format, &none, out))
        }
        Command::Check(args) => {
            let config = config::discover(Path::new(".")).map_err(input_error)?;
            let mut settings = args.audit.resolve(config).map_err(input_error)?;
            settings.progress = progress;
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
            let mut audit = audit_project(
                &project,
                &client,
                &settings,
                python,
                false,
                &Arc::default(),
                None,
            )
            .await?;
            settle(&mut audit, &args.audit, &settings)?;
            finish(&audit, &args.audit, &settings)
        }
    }
}

/// `np2audit lock [PATH]`: one lockfile, its report as it always was.
async fn audit_one_lockfile(args: &LockArgs, progress: Progress) -> Result<ExitStatus, Failure> {
    let path = find_lockfile(args.paths.first().map(PathBuf::as_path)).map_err(input_error)?;
    let project =
        lockfile::read_lockfile(&path, args.lock_format.map(Into::into)).map_err(input_error)?;
    if let Some(environments) = crate::matrix::requested(args, &project)? {
        return crate::matrix::audit_environments(project, environments, args, progress).await;
    }
    let session = Session::new()?;
    let Audited {
        project,
        audit,
        settings,
        python,
    } = audit_lockfile(
        project,
        &args.audit,
        &session,
        progress,
        !args.no_project_code,
    )
    .await?;
    if let Some(format) = args.graph {
        let environment = TargetEnvironment::new(python, settings.platform.clone());
        let edges = export::edges(&project, Some(&environment));
        let highlights = highlights(&project, &audit);
        write_stdout(|out| export::render_graph(&project, &edges, format, &highlights, out))?;
        return Ok(exit_status(&audit, &settings));
    }
    if args.suggest_pins {
        return suggest_pins(&audit, &settings);
    }
    if let Some(directory) = &args.output_dir {
        crate::multi::write_output_dir(directory, [&audit], args.audit.format)?;
    }
    finish(&audit, &args.audit, &settings)
}

/// A lockfile audited under its own settings.
pub(crate) struct Audited {
    pub project: LockedProject,
    pub audit: Audit,
    pub settings: Settings,
    pub python: PythonVersion,
}

/// Audit a lockfile that was read: the configuration beside it, its lowest Python and its
/// registry decide what flags leave open; the ignore list and `--baseline` are applied.
pub(crate) async fn audit_lockfile(
    project: LockedProject,
    args: &AuditArgs,
    session: &Session,
    progress: Progress,
    scan_project_code: bool,
) -> Result<Audited, Failure> {
    for warning in &project.warnings {
        tracing::warn!("{warning}");
    }
    let path = &project.path;
    let folder = match path.parent() {
        Some(parent) if path != Path::new("-") && !parent.as_os_str().is_empty() => {
            parent.to_path_buf()
        }
        _ => PathBuf::from("."),
    };
    let config = config::discover(&folder).map_err(input_error)?;
    let mut settings = args.resolve(config).map_err(input_error)?;
    settings.progress = progress;
    settings.project_dir = folder;
    let python = match settings.python {
        Some(python) => python,
        None => lowest_python(&project),
    };
    warn_if_outside_requires_python(&project, python);
    let index_url = settings
        .index_url
        .clone()
        .or_else(|| lock_registry(&project))
        .unwrap_or_else(|| settings::PYPI_SIMPLE.to_string());
    let client = session.client(&settings, &index_url).await?;
    let project_code = if scan_project_code && path != Path::new("-") {
        project_root(&settings.project_dir, project.format)
    } else {
        None
    };
    let mut audit = audit_project(
        &project,
        &client,
        &settings,
        python,
        true,
        &session.scans,
        project_code,
    )
    .await?;
    settle(&mut audit, args, &settings)?;
    Ok(Audited {
        project,
        audit,
        settings,
        python,
    })
}

/// The project a lockfile belongs to: the directory that holds `pyproject.toml`, `setup.py` or
/// `setup.cfg`. uv, Poetry and PDM always write their lock beside the project's
/// `pyproject.toml`, so only that folder counts; other inputs (`requirements/base.txt`,
/// `Pipfile.lock`, `pylock.toml`) may sit below the project, so the search goes up, not leaving
/// the git repository. None when there is none: a lockfile alone names no code to scan.
fn project_root(lock_folder: &Path, format: LockFormat) -> Option<PathBuf> {
    let start = std::path::absolute(lock_folder).ok()?;
    let is_project = |folder: &Path| {
        ["pyproject.toml", "setup.py", "setup.cfg"]
            .iter()
            .any(|marker| folder.join(marker).is_file())
    };
    if matches!(
        format,
        LockFormat::UvLock | LockFormat::PoetryLock | LockFormat::PdmLock
    ) {
        return is_project(&start).then_some(start);
    }
    for folder in start.ancestors() {
        if is_project(folder) {
            return Some(folder.to_path_buf());
        }
        if folder.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Read the lockfile a graph command names, and the environment it is restricted to, if any.
fn read_graph_source(
    source: &GraphSource,
) -> Result<(LockedProject, Option<TargetEnvironment>), Failure> {
    let path = find_lockfile(source.path.as_deref()).map_err(input_error)?;
    let project =
        lockfile::read_lockfile(&path, source.lock_format.map(Into::into)).map_err(input_error)?;
    if source.python_version.is_none() && source.python_platform.is_none() {
        return Ok((project, None));
    }
    let python = match &source.python_version {
        Some(text) => text
            .parse()
            .map_err(|e: crate::environment::InvalidPythonVersion| {
                input_error(anyhow::anyhow!("--python-version: {e}"))
            })?,
        None => lowest_python(&project),
    };
    warn_if_outside_requires_python(&project, python);
    let platform = match &source.python_platform {
        Some(text) => text
            .parse()
            .map_err(|e: crate::environment::UnknownPlatform| {
                input_error(anyhow::anyhow!("--python-platform: {e}"))
            })?,
        None => crate::environment::Platform::host(),
    };
    Ok((project, Some(TargetEnvironment::new(python, platform))))
}

fn write_stdout(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<ExitStatus, Failure> {
    let stdout = std::io::stdout();
    // Standard output is line-buffered: a report of thousands of lines would cost a write each.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        result => result.context("writing the output").map_err(input_error)?,
    }
    Ok(ExitStatus::Clean)
}

/// A Python the lock was not resolved for gets what the lock holds for others, or nothing.
fn warn_if_outside_requires_python(project: &LockedProject, python: PythonVersion) {
    if let Some(requires_python) = &project.requires_python
        && !python.satisfies(requires_python)
    {
        tracing::warn!(
            "CPython {python} is outside the requires-python of {} (`{requires_python}`): the \
             lock was not resolved for it, so packages locked only for other Pythons are left out",
            project.path.display()
        );
    }
}

/// The lowest Python the lock's `requires-python` admits, else the local one, else 3.12.
pub(crate) fn lowest_python(project: &LockedProject) -> PythonVersion {
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

/// What the audits of one run share: the cache, the HTTP connections and their counters, one
/// index client per index (so each project page is fetched once), and the wheel scans under
/// way. Opened on first use, so a bad lockfile is reported before the cache is touched.
pub(crate) struct Session {
    http: HttpClient,
    cache: tokio::sync::OnceCell<Cache>,
    /// By the index URL as given and where its credentials come from: lockfiles naming the same
    /// index with different credentials (another uv index name) get their own client.
    clients: tokio::sync::Mutex<HashMap<String, Arc<IndexClient>>>,
    pub scans: Arc<RunScans>,
}

impl Session {
    pub fn new() -> Result<Session, Failure> {
        Ok(Session {
            http: HttpClient::new(HttpSettings::from_environment()).map_err(input_error)?,
            cache: tokio::sync::OnceCell::new(),
            clients: tokio::sync::Mutex::default(),
            scans: Arc::default(),
        })
    }

    /// The index client for `index_url`, shared with every audit of the run that uses it.
    pub async fn client(
        &self,
        settings: &Settings,
        index_url: &str,
    ) -> Result<Arc<IndexClient>, Failure> {
        let cache = self
            .cache
            .get_or_try_init(|| async {
                // A cache written by a newer np2audit, or damaged, must not stop the audit: it
                // runs on a cache in memory instead and says so.
                match Cache::open(&settings.cache).await {
                    Ok(cache) => Ok(cache),
                    Err(error) => {
                        tracing::warn!("{error}; using a temporary in-memory cache for this run");
                        Cache::in_memory()
                            .await
                            .context("opening an in-memory cache")
                            .map_err(input_error)
                    }
                }
            })
            .await?;
        // Credentials leave the URL here: what the index client keeps, caches and shows has none.
        let (bare_url, auth) = auth::discover(index_url, &settings.project_dir);
        let key = format!("{index_url}\n{:?}", auth.index_source());
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        if let Some(source) = auth.index_source() {
            tracing::debug!(?source, "index credentials");
        }
        // Clones of one HttpClient share its connections, request limit and counters.
        let http = self.http.clone().with_auth(auth);
        let client = Arc::new(
            IndexClient::new(&bare_url, http, cache.clone(), settings.cache_mode)
                .map_err(input_error)?,
        );
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Requests and bytes of the whole run (the clients share one counter), and the cache hits
    /// of every client.
    pub async fn stats(&self) -> Stats {
        let (requests, bytes_fetched) = self.counters()();
        let clients = self.clients.lock().await;
        Stats {
            requests,
            bytes_fetched,
            bytes_needed: self.http.stats.bytes_needed.load(Ordering::Relaxed),
            cache_hits: clients.values().map(|c| c.cache_hits()).sum(),
        }
    }

    /// Requests made and bytes fetched so far, readable from another task.
    pub fn counters(&self) -> impl Fn() -> (u64, u64) + Send + 'static {
        let stats = self.http.stats.clone();
        move || {
            (
                stats.requests.load(Ordering::Relaxed),
                stats.bytes_fetched.load(Ordering::Relaxed),
            )
        }
    }
}

async fn open_client(settings: &Settings, index_url: &str) -> Result<Arc<IndexClient>, Failure> {
    Session::new()?.client(settings, index_url).await
}

async fn audit_project(
    project: &LockedProject,
    client: &IndexClient,
    settings: &Settings,
    python: PythonVersion,
    show_lockfile: bool,
    scans: &Arc<RunScans>,
    project_code: Option<PathBuf>,
) -> Result<Audit, Failure> {
    let audit_settings = AuditSettings {
        environment: TargetEnvironment::new(python, settings.platform.clone()),
        target: settings.target.clone(),
        scan_budget: ScanBudget::default(),
        show_lockfile,
        installed: None,
        target_is_installed: false,
        tool: if show_lockfile {
            Tool::of(project)
        } else {
            Tool::pip()
        },
        observer: Arc::new(settings.progress.clone()),
        scans: scans.clone(),
        project_code,
    };
    run_audit(project, client, &audit_settings).await
}

/// Audit an installed environment: verdicts come from the files on disk.
async fn audit_environment(args: &EnvArgs, progress: Progress) -> Result<ExitStatus, Failure> {
    let config = config::discover(Path::new(".")).map_err(input_error)?;
    let mut settings = args.audit.resolve(config).map_err(input_error)?;
    settings.progress = progress;
    let (site_packages, interpreter_python) =
        installed::locate(args.path.as_deref(), args.python.as_deref()).map_err(input_error)?;
    let index_url = settings
        .index_url
        .clone()
        .unwrap_or_else(|| settings::PYPI_SIMPLE.to_string());
    let environment =
        installed::read(&site_packages, interpreter_python, &index_url).map_err(input_error)?;
    let python = settings
        .python
        .or(environment.python)
        .or_else(settings::local_python)
        .unwrap_or(PythonVersion::new(3, 12));
    // Already on NumPy 2: judge against what is installed, which needs no index at all.
    let installed_numpy = environment
        .project
        .packages
        .iter()
        .filter(|p| p.name.as_ref() == "numpy")
        .filter_map(|p| p.version.clone())
        .find(|v| v.release().first().is_some_and(|&major| major >= 2));
    let target_is_installed = settings.target.is_none() && installed_numpy.is_some();
    let target = settings.target.clone().or(installed_numpy);
    let client = open_client(&settings, &index_url).await?;
    let audit_settings = AuditSettings {
        environment: TargetEnvironment::new(python, settings.platform.clone()),
        target,
        scan_budget: ScanBudget::default(),
        show_lockfile: true,
        installed: Some(environment.facts),
        target_is_installed,
        tool: Tool::pip(),
        observer: Arc::new(settings.progress.clone()),
        scans: Arc::default(),
        project_code: None,
    };
    let mut audit = run_audit(&environment.project, &client, &audit_settings).await?;
    settle(&mut audit, &args.audit, &settings)?;
    finish(&audit, &args.audit, &settings)
}

async fn run_audit(
    project: &LockedProject,
    client: &IndexClient,
    audit_settings: &AuditSettings,
) -> Result<Audit, Failure> {
    audit::audit_project(project, client, audit_settings)
        .await
        .map_err(|error| Failure {
            status: ExitStatus::Incomplete,
            error: error.into(),
        })
}

fn finish(audit: &Audit, args: &AuditArgs, settings: &Settings) -> Result<ExitStatus, Failure> {
    if let Some(path) = &args.output {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the report to {}", path.display()))
                .map_err(input_error)?,
        );
        report::render(audit, args.format, Style { color: false }, &mut file)
            .and_then(|()| file.flush())
            .with_context(|| format!("writing the report to {}", path.display()))
            .map_err(input_error)?;
        return Ok(exit_status(audit, settings));
    }
    let stdout = std::io::stdout();
    let color = settings.format == OutputFormat::Table
        && stdout.is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // Standard output is line-buffered: a report of thousands of lines would cost a write each.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match report::render(audit, args.format, Style { color }, &mut out).and_then(|()| out.flush()) {
        // The reader went away (`| head`): what it wanted was written.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        result => result.context("writing the report").map_err(input_error)?,
    }
    Ok(exit_status(audit, settings))
}

/// `--suggest-pins`: the pin block alone on standard output, ready to paste; why there is
/// none on standard error.
fn suggest_pins(audit: &Audit, settings: &Settings) -> Result<ExitStatus, Failure> {
    let Some(pin) = &audit.pin_suggestion else {
        eprintln!(
            "no pin needed: nothing in the tree blocks NumPy {}",
            audit.target.numpy
        );
        return Ok(exit_status(audit, settings));
    };
    let Some(spelling) = &pin.spelling else {
        let conflicts: Vec<String> = pin
            .conflicts
            .iter()
            .map(|c| format!("{} requires `{}`", c.package, c.requirement))
            .collect();
        return Err(Failure {
            status: ExitStatus::Blockers,
            error: anyhow::anyhow!(
                "no pin suggested: `{}` would conflict with locked packages that need a newer NumPy: {}",
                pin.requirement,
                conflicts.join("; ")
            ),
        });
    };
    if let Some(own) = &pin.already {
        eprintln!(
            "note: the project's own requirement `{own}` already holds numpy there; the pin below makes it explicit for the whole tree"
        );
    }
    let then = if spelling.commands.is_empty() {
        String::new()
    } else {
        format!(", then run: {}", spelling.commands.join(" && "))
    };
    write_stdout(|out| {
        let reason = if pin.required {
            format!(
                ": {} block NumPy {} with no ready release yet",
                pin.because.join(", "),
                audit.target.numpy
            )
        } else {
            format!(" until {} are upgraded", pin.because.join(", "))
        };
        let merge = if spelling.snippet.starts_with('[') {
            " (merge into the table if it is already there)"
        } else {
            ""
        };
        writeln!(
            out,
            "# np2audit: hold {}{reason}; add to {}{merge}{then}",
            pin.requirement, spelling.file
        )?;
        write!(out, "{}", spelling.snippet)
    })?;
    Ok(exit_status(audit, settings))
}

/// Apply what the team decided: the configuration's ignore list, then `--baseline`.
fn settle(audit: &mut Audit, args: &AuditArgs, settings: &Settings) -> Result<(), Failure> {
    if let Some(path) = &settings.config.path {
        let today = time::OffsetDateTime::now_utc().date();
        for warning in policy::apply_ignores(audit, &settings.config.ignore, path, today) {
            tracing::warn!("{warning}");
        }
    }
    if let Some(path) = &args.baseline {
        policy::Baseline::read(path)
            .map_err(input_error)?
            .apply(audit);
    }
    audit.summary.suppressed = audit
        .packages
        .iter()
        .filter(|p| p.suppressed.is_some())
        .count();
    Ok(())
}

/// The exit code an audit deserves under the run's `--fail-on` and `--no-fail`.
pub(crate) fn exit_status(audit: &Audit, settings: &Settings) -> ExitStatus {
    if !settings.no_fail && policy::fails(audit, &settings.fail_on) {
        ExitStatus::Blockers
    } else if audit.incomplete {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    }
}

/// Each judged package's verdict, by its place in the lock.
fn highlights(project: &LockedProject, audit: &Audit) -> export::Highlights {
    let mut highlights = export::Highlights::new();
    for report in &audit.packages {
        let found = project.ids().find(|&id| {
            let package = project.package(id);
            package.name.as_ref() == report.name
                && package.version.as_ref().map(ToString::to_string) == report.version
        });
        if let Some(id) = found {
            highlights.insert(id, report.verdict.as_str());
        }
    }
    highlights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_beside_a_tools_lock_and_above_a_requirements_file() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("app/requirements")).unwrap();
        std::fs::write(
            root.join("app/pyproject.toml"),
            "[project]\nname = \"app\"\n",
        )
        .unwrap();
        let app = std::path::absolute(root.join("app")).unwrap();

        assert_eq!(project_root(&app, LockFormat::UvLock), Some(app.clone()));
        assert_eq!(
            project_root(&app.join("requirements"), LockFormat::Requirements),
            Some(app.clone())
        );
        // A uv, Poetry or PDM lock is written beside its pyproject.toml: none beside it, no
        // project.
        assert_eq!(
            project_root(&app.join("requirements"), LockFormat::PoetryLock),
            None
        );
        // The search stops at the repository's root.
        assert_eq!(project_root(root, LockFormat::Requirements), None);
    }
}
