//! Several lockfiles in one run (`np2audit lock A B …`, `np2audit lock --recursive DIR`): each
//! is read, configured and judged on its own (its folder's configuration, its lowest Python, its
//! registry), while all share one [`Session`], so a release several lockfiles lock is fetched
//! and scanned once. One combined report follows, and with `--output-dir` one per lockfile.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;

use crate::audit::Audit;
use crate::cli::LockArgs;
use crate::discover::{self, Found};
use crate::exit::{ExitStatus, Failure, input_error};
use crate::lockfile::{self, LockFormat};
use crate::progress::Progress;
use crate::report::combined::{Combined, Entry, Subject};
use crate::report::{self, OutputFormat, Style};
use crate::run::{self, Session};

/// Lockfiles audited at once. Each audit runs in phases (the target, the packages, the fix
/// search) whose round trips wait on each other; overlapping a few lockfiles fills those gaps
/// (six lockfiles on the fixture index at 40 ms per response: 470 ms one at a time, 410 ms four
/// at once, with the same 28 requests), while the HTTP client's 16-request cap bounds the load.
const LOCKFILES_AT_ONCE: usize = 4;

/// What to audit: a lockfile, or a named path that holds none (reported as an error).
enum Target {
    Lockfile(Found),
    Missing { path: PathBuf, message: String },
}

/// How one lockfile ended.
enum Outcome {
    Audited {
        audit: Box<Audit>,
        status: ExitStatus,
    },
    Failed {
        path: PathBuf,
        failure: Failure,
    },
    /// A requirements file found by the search that does not pin: not a lock.
    Skipped,
}

pub async fn audit_lockfiles(args: &LockArgs, progress: Progress) -> Result<ExitStatus, Failure> {
    if args.graph.is_some() || args.suggest_pins {
        return Err(input_error(anyhow::anyhow!(
            "--graph and --suggest-pins show one lockfile's graph or pin: pass one lockfile"
        )));
    }
    if args.matrix || args.audit.has_lists() {
        return Err(input_error(anyhow::anyhow!(
            "--matrix and lists of Python versions or platforms judge one lockfile's              environments: pass one lockfile"
        )));
    }
    if args.paths.iter().any(|path| path == Path::new("-")) {
        return Err(input_error(anyhow::anyhow!(
            "standard input (`-`) can only be audited alone"
        )));
    }
    let targets = targets(args)?;
    let session = Session::new()?;
    progress.lockfiles(targets.len());
    let watch = progress.watch_counters(session.counters());
    let format = args.lock_format.map(LockFormat::from);
    let outcomes: Vec<Outcome> = futures::stream::iter(targets)
        .map(|target| {
            let (session, progress) = (&session, &progress);
            async move {
                let outcome = audit_target(target, format, args, session).await;
                progress.audited_one();
                outcome
            }
        })
        // In order, so reports list lockfiles as they were named and found.
        .buffered(LOCKFILES_AT_ONCE)
        .collect()
        .await;
    drop(watch);

    let stats = session.stats().await;
    let mut skipped = 0;
    let mut entries = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Audited { mut audit, status } => {
                // The network was shared: each lockfile's share of it cannot be told apart.
                audit.stats = stats.clone();
                entries.push((Some(audit), status, None));
            }
            Outcome::Failed { path, failure } => {
                entries.push((None, failure.status, Some((path, failure.error))));
            }
            Outcome::Skipped => skipped += 1,
        }
    }
    if entries.is_empty() {
        return Err(input_error(anyhow::anyhow!(
            "nothing to audit: the {skipped} requirements file(s) found pin nothing (not locks; \
             name one to audit it anyway)"
        )));
    }
    let status = worst(entries.iter().map(|(_, status, _)| *status));
    let combined = Combined {
        subject: Subject::Lockfiles,
        entries: entries
            .iter()
            .map(|(audit, status, failure)| match (audit, failure) {
                (Some(audit), _) => Entry::Audited {
                    audit,
                    exit_code: *status as u8,
                },
                (None, failure) => {
                    let (path, error) = failure.as_ref().expect("a failure without an audit");
                    Entry::Failed {
                        path: path.display().to_string(),
                        message: format!("{error:#}"),
                        exit_code: *status as u8,
                    }
                }
            })
            .collect(),
        stats,
        exit_code: status as u8,
        fix: None,
    };
    if let Some(directory) = &args.output_dir {
        let audits = entries.iter().filter_map(|(audit, _, _)| audit.as_deref());
        write_output_dir(directory, audits, args.audit.format)?;
    }
    write_combined(&combined, args)?;
    Ok(status)
}

/// The exit status of a run of several audits (lockfiles, or environments): the most severe.
pub(crate) fn worst(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
    statuses
        .into_iter()
        .max_by_key(|&status| severity(status))
        .unwrap_or(ExitStatus::Clean)
}

/// Which exit code wins across lockfiles: one that could not be read (2), then blockers (1),
/// then an incomplete audit (3) — within one lockfile blockers already outrank an incomplete
/// audit, and the run keeps that order.
fn severity(status: ExitStatus) -> u8 {
    match status {
        ExitStatus::Error => 3,
        ExitStatus::Blockers => 2,
        ExitStatus::Incomplete => 1,
        ExitStatus::Clean => 0,
    }
}

/// The named paths (a directory means its lockfile, as for one), then every lockfile under
/// each `--recursive` directory; a file named twice is audited once.
fn targets(args: &LockArgs) -> Result<Vec<Target>, Failure> {
    let mut targets = Vec::new();
    for path in &args.paths {
        targets.push(match discover::find_lockfile(Some(path)) {
            Ok(path) => Target::Lockfile(Found {
                path,
                requirements: false,
            }),
            Err(error) => Target::Missing {
                path: path.clone(),
                message: error.to_string(),
            },
        });
    }
    for directory in &args.recursive {
        let found = discover::find_lockfiles(directory).map_err(input_error)?;
        if found.is_empty() {
            return Err(input_error(anyhow::anyhow!(
                "no lockfiles under {} (looked for uv.lock, poetry.lock, pdm.lock, pylock.toml, \
                 pylock.*.toml, Pipfile.lock and requirements*.txt, outside hidden directories, \
                 virtualenvs, {})",
                directory.display(),
                discover::SKIPPED_DIRECTORIES.join(", ")
            )));
        }
        targets.extend(found.into_iter().map(Target::Lockfile));
    }
    let mut seen = BTreeSet::new();
    targets.retain(|target| match target {
        Target::Lockfile(found) => {
            seen.insert(std::fs::canonicalize(&found.path).unwrap_or_else(|_| found.path.clone()))
        }
        Target::Missing { .. } => true,
    });
    Ok(targets)
}

async fn audit_target(
    target: Target,
    format: Option<LockFormat>,
    args: &LockArgs,
    session: &Session,
) -> Outcome {
    let found = match target {
        Target::Lockfile(found) => found,
        Target::Missing { path, message } => {
            return Outcome::Failed {
                path,
                failure: input_error(anyhow::anyhow!(message)),
            };
        }
    };
    let project = match lockfile::read_lockfile(&found.path, format) {
        Ok(project) => project,
        Err(error) => {
            return Outcome::Failed {
                path: found.path,
                failure: input_error(error),
            };
        }
    };
    if found.requirements && !discover::is_lock(&project) {
        tracing::info!(
            "skipping {}: it does not pin its requirements (not a lock)",
            found.path.display()
        );
        return Outcome::Skipped;
    }
    match run::audit_lockfile(
        project,
        &args.audit,
        session,
        Progress::hidden(),
        !args.no_project_code,
    )
    .await
    {
        Ok(audited) => Outcome::Audited {
            status: run::exit_status(&audited.audit, &audited.settings),
            audit: Box::new(audited.audit),
        },
        Err(failure) => Outcome::Failed {
            path: found.path,
            failure,
        },
    }
}

/// The combined report to `--output`, else standard output.
pub(crate) fn write_combined(combined: &Combined, args: &LockArgs) -> Result<(), Failure> {
    let format = args.audit.format;
    if let Some(path) = &args.audit.output {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the report to {}", path.display()))
                .map_err(input_error)?,
        );
        return report::combined::render(combined, format, Style { color: false }, &mut file)
            .and_then(|()| file.flush())
            .with_context(|| format!("writing the report to {}", path.display()))
            .map_err(input_error);
    }
    let stdout = std::io::stdout();
    let color = format == OutputFormat::Table
        && stdout.is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // Standard output is line-buffered: a report of thousands of lines would cost a write each.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match report::combined::render(combined, format, Style { color }, &mut out)
        .and_then(|()| out.flush())
    {
        // The reader went away (`| head`): what it wanted was written.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing the report").map_err(input_error),
    }
}

/// `--output-dir`: each lockfile's own report, as `lock PATH --output FILE` writes it.
pub fn write_output_dir<'a>(
    directory: &Path,
    audits: impl IntoIterator<Item = &'a Audit>,
    format: OutputFormat,
) -> Result<(), Failure> {
    let named = audits.into_iter().map(|audit| {
        let shown = audit.lockfile.as_ref().map_or("-", |l| l.path.as_str());
        (report_stem(shown), audit)
    });
    write_named_reports(directory, named, format)
}

/// Each report into `directory` as `STEM.EXT` (`STEM-2.EXT` … when a stem repeats).
pub(crate) fn write_named_reports<'a>(
    directory: &Path,
    reports: impl IntoIterator<Item = (String, &'a Audit)>,
    format: OutputFormat,
) -> Result<(), Failure> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("cannot create {}", directory.display()))
        .map_err(input_error)?;
    let mut used = BTreeSet::new();
    for (stem, audit) in reports {
        let mut name = format!("{stem}.{}", extension(format));
        let mut counter = 2;
        while !used.insert(name.clone()) {
            name = format!("{stem}-{counter}.{}", extension(format));
            counter += 1;
        }
        let path = directory.join(&name);
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .with_context(|| format!("cannot write the report to {}", path.display()))
                .map_err(input_error)?,
        );
        report::render(audit, format, Style { color: false }, &mut file)
            .and_then(|()| file.flush())
            .with_context(|| format!("writing the report to {}", path.display()))
            .map_err(input_error)?;
    }
    Ok(())
}

/// A file name from a lockfile's path as reports show it: its components joined by `__`
/// (`services/api/uv.lock` → `services__api__uv.lock`), `..` spelled `up`, a leading root or
/// drive left out, so every lockfile of a tree gets a distinct, flat name.
pub(crate) fn report_stem(shown: &str) -> String {
    let parts: Vec<String> = Path::new(shown)
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            Component::ParentDir => Some("up".to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    if parts.is_empty() || shown == "-" {
        "stdin".to_string()
    } else {
        parts.join("__")
    }
}

fn extension(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Table | OutputFormat::Github => "txt",
        OutputFormat::Json => "json",
        OutputFormat::Markdown => "md",
        OutputFormat::Sarif => "sarif",
    }
}

#[cfg(test)]
mod tests {
    use super::{report_stem, severity};
    use crate::exit::ExitStatus;

    #[test]
    fn report_names_flatten_the_lockfile_path() {
        assert_eq!(
            report_stem("services/api/uv.lock"),
            "services__api__uv.lock"
        );
        assert_eq!(report_stem("./uv.lock"), "uv.lock");
        assert_eq!(
            report_stem("../other/poetry.lock"),
            "up__other__poetry.lock"
        );
        assert_eq!(report_stem("/srv/app/pdm.lock"), "srv__app__pdm.lock");
        assert_eq!(report_stem("-"), "stdin");
    }

    #[test]
    fn an_unreadable_lockfile_outranks_blockers_which_outrank_an_incomplete_audit() {
        let mut statuses = [
            ExitStatus::Incomplete,
            ExitStatus::Clean,
            ExitStatus::Blockers,
            ExitStatus::Error,
        ];
        statuses.sort_by_key(|&s| std::cmp::Reverse(severity(s)));
        assert_eq!(
            statuses,
            [
                ExitStatus::Error,
                ExitStatus::Blockers,
                ExitStatus::Incomplete,
                ExitStatus::Clean
            ]
        );
    }
}
