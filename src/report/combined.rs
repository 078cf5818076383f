//! The report of several lockfiles audited in one run: each lockfile's own report, rendered by
//! its format's module as for one lockfile, and a summary over them all — per lockfile one line
//! of counts and readiness, then the blockers across lockfiles and where each is locked, which
//! is what a team owning many projects acts on.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::markdown::{cell, code, escape, inline};
use super::table::Paint;
use super::{OutputFormat, Style, github, json, markdown, sarif, table};
use crate::audit::{Audit, SCHEMA_VERSION, Stats, Summary, Verdict};
use crate::fix::{FixKind, ReadinessStatus};

/// One lockfile of the run: audited, or why it could not be.
pub enum Entry<'a> {
    Audited {
        audit: &'a Audit,
        exit_code: u8,
    },
    Failed {
        path: String,
        message: String,
        exit_code: u8,
    },
}

impl Entry<'_> {
    fn path(&self) -> &str {
        match self {
            Entry::Audited { audit, .. } => audit.lockfile.as_ref().map_or("-", |l| &l.path),
            Entry::Failed { path, .. } => path,
        }
    }
}

/// Every lockfile of the run, in the order they were named and found.
pub struct Combined<'a> {
    pub entries: Vec<Entry<'a>>,
    /// The whole run's network use (the audits share it).
    pub stats: Stats,
    /// The run's exit code: the worst of the lockfiles'.
    pub exit_code: u8,
}

pub fn render(
    combined: &Combined,
    format: OutputFormat,
    style: Style,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => render_table(combined, style, out),
        OutputFormat::Json => render_json(combined, out),
        OutputFormat::Markdown => render_markdown(combined, out),
        OutputFormat::Sarif => render_sarif(combined, out),
        OutputFormat::Github => render_github(combined, out),
    }
}

/// The summary over all lockfiles: the `summary` of the JSON form, and what the other forms
/// print after (or before) the lockfiles' own reports.
#[derive(Debug, Serialize)]
struct CombinedSummary {
    lockfiles: Vec<LockLine>,
    /// Each lockfile's counts added up (a package locked in three lockfiles counts three times).
    totals: Summary,
    /// How many lockfiles have each readiness status.
    readiness: BTreeMap<&'static str, usize>,
    /// Every blocker, once per package, version and verdict, with the lockfiles that lock it.
    blockers: Vec<SharedBlocker>,
    incomplete: bool,
    exit_code: u8,
}

#[derive(Debug, Serialize)]
struct LockLine {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    /// Absent when the lockfile could not be audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incomplete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    exit_code: u8,
}

#[derive(Debug, Serialize)]
struct SharedBlocker {
    name: String,
    version: Option<String>,
    verdict: Verdict,
    lockfiles: Vec<String>,
    /// The ready releases the lockfiles' fixes name (one, unless their targets differ).
    upgrade_to: Vec<String>,
}

fn status_name(status: ReadinessStatus) -> &'static str {
    match status {
        ReadinessStatus::Ready => "ready",
        ReadinessStatus::ReadyAfterUpgrades => "ready-after-upgrades",
        ReadinessStatus::Blocked => "blocked",
        ReadinessStatus::Incomplete => "incomplete",
        ReadinessStatus::Broken => "broken",
    }
}

fn summarize(combined: &Combined) -> CombinedSummary {
    let mut totals = Summary::default();
    let mut readiness = BTreeMap::new();
    let mut blockers: BTreeMap<(String, Option<String>, Verdict), SharedBlocker> = BTreeMap::new();
    let mut lockfiles = Vec::new();
    let mut incomplete = false;
    for entry in &combined.entries {
        let (audit, exit_code) = match entry {
            Entry::Failed {
                path,
                message,
                exit_code,
            } => {
                lockfiles.push(LockLine {
                    path: path.clone(),
                    format: None,
                    readiness: None,
                    summary: None,
                    incomplete: None,
                    error: Some(message.clone()),
                    exit_code: *exit_code,
                });
                continue;
            }
            Entry::Audited { audit, exit_code } => (audit, *exit_code),
        };
        let path = entry.path().to_string();
        let status = status_name(audit.readiness.status);
        *readiness.entry(status).or_insert(0) += 1;
        add(&mut totals, &audit.summary);
        incomplete |= audit.incomplete;
        lockfiles.push(LockLine {
            path: path.clone(),
            format: audit.lockfile.as_ref().map(|l| l.format.clone()),
            readiness: Some(status),
            summary: Some(audit.summary.clone()),
            incomplete: Some(audit.incomplete),
            error: None,
            exit_code,
        });
        for package in audit
            .packages
            .iter()
            .filter(|p| p.verdict.is_blocker() && p.suppressed.is_none())
        {
            let key = (
                package.name.clone(),
                package.version.clone(),
                package.verdict,
            );
            let shared = blockers.entry(key).or_insert_with(|| SharedBlocker {
                name: package.name.clone(),
                version: package.version.clone(),
                verdict: package.verdict,
                lockfiles: Vec::new(),
                upgrade_to: Vec::new(),
            });
            if !shared.lockfiles.contains(&path) {
                shared.lockfiles.push(path.clone());
            }
            if let Some(fix) = &package.fix
                && fix.kind == FixKind::Upgrade
                && let Some(version) = &fix.version
                && !shared.upgrade_to.contains(version)
            {
                shared.upgrade_to.push(version.clone());
            }
        }
    }
    let mut blockers: Vec<SharedBlocker> = blockers.into_values().collect();
    // The most widespread first: that upgrade helps the most projects.
    blockers.sort_by_key(|blocker| std::cmp::Reverse(blocker.lockfiles.len()));
    CombinedSummary {
        lockfiles,
        totals,
        readiness,
        blockers,
        incomplete,
        exit_code: combined.exit_code,
    }
}

fn add(totals: &mut Summary, summary: &Summary) {
    totals.declared_blocker += summary.declared_blocker;
    totals.binary_blocker += summary.binary_blocker;
    totals.source_blocker += summary.source_blocker;
    totals.suspect += summary.suspect;
    totals.unknown += summary.unknown;
    totals.ready += summary.ready;
    totals.unaffected += summary.unaffected;
    totals.not_in_environment += summary.not_in_environment;
    totals.suppressed += summary.suppressed;
}

fn blocker_label(blocker: &SharedBlocker) -> String {
    format!(
        "{} {}",
        blocker.name,
        blocker.version.as_deref().unwrap_or("?")
    )
}

fn upgrade_note(blocker: &SharedBlocker) -> String {
    if blocker.upgrade_to.is_empty() {
        "no ready upgrade".to_string()
    } else {
        format!("upgrade to {}", blocker.upgrade_to.join(" or "))
    }
}

// ---- table ----

fn render_table(combined: &Combined, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    let count = combined.entries.len();
    for (index, entry) in combined.entries.iter().enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "{}",
            paint.bold(&format!("=== {}/{count} {} ===", index + 1, entry.path()))
        )?;
        match entry {
            Entry::Audited { audit, .. } => table::render_findings(audit, style, out)?,
            Entry::Failed { message, .. } => writeln!(
                out,
                "{}",
                paint.verdict(Verdict::DeclaredBlocker, &format!("error: {message}"))
            )?,
        }
    }

    let summary = summarize(combined);
    writeln!(out)?;
    writeln!(out, "{}", paint.bold(&format!("=== {count} lockfiles ===")))?;
    let width = summary
        .lockfiles
        .iter()
        .map(|l| l.path.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = summary
        .lockfiles
        .iter()
        .map(|l| l.readiness.unwrap_or("error").len())
        .max()
        .unwrap_or(0);
    for line in &summary.lockfiles {
        let status = line.readiness.unwrap_or("error");
        let tone = match line.readiness {
            Some("ready") => Verdict::Ready,
            Some("ready-after-upgrades") => Verdict::Suspect,
            _ => Verdict::DeclaredBlocker,
        };
        let detail = match (&line.summary, &line.error) {
            (Some(counts), _) => counts.counts(),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "  {:width$}  {}  exit {}  {detail}",
            line.path,
            paint.verdict(tone, &format!("{status:status_width$}")),
            line.exit_code,
        )?;
    }
    if !summary.blockers.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} ({})",
            paint.verdict(Verdict::DeclaredBlocker, "blockers across lockfiles"),
            summary.blockers.len()
        )?;
        for blocker in &summary.blockers {
            writeln!(
                out,
                "  {} {} in {}: {}; {}",
                paint.bold(&blocker_label(blocker)),
                blocker.verdict.as_str(),
                match blocker.lockfiles.len() {
                    1 => "1 lockfile".to_string(),
                    n => format!("{n} lockfiles"),
                },
                blocker.lockfiles.join(", "),
                upgrade_note(blocker)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "totals: {}", summary.totals.counts())?;
    if summary.incomplete {
        writeln!(
            out,
            "{}",
            paint.verdict(
                Verdict::Unknown,
                "incomplete: index or network failures left packages unknown"
            )
        )?;
    }
    table::stats_line(&combined.stats, style, out)
}

// ---- json ----

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    lockfiles: Vec<&'a Audit>,
    errors: Vec<JsonError<'a>>,
    summary: CombinedSummary,
    stats: &'a Stats,
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: &'a str,
    message: &'a str,
    exit_code: u8,
}

fn render_json(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    let report = JsonReport {
        schema_version: SCHEMA_VERSION,
        lockfiles: combined
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Audited { audit, .. } => Some(*audit),
                Entry::Failed { .. } => None,
            })
            .collect(),
        errors: combined
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Failed {
                    path,
                    message,
                    exit_code,
                } => Some(JsonError {
                    path,
                    message,
                    exit_code: *exit_code,
                }),
                Entry::Audited { .. } => None,
            })
            .collect(),
        summary: summarize(combined),
        stats: &combined.stats,
    };
    json::write(&report, out)
}

// ---- markdown ----

fn render_markdown(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    let summary = summarize(combined);
    let mut text = format!("# np2audit: {} lockfiles\n\n", combined.entries.len());
    text.push_str("| lockfile | readiness | declared | binary | source | suspect | unknown | ready | unaffected | exit |\n");
    text.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for line in &summary.lockfiles {
        let lockfile = match &line.format {
            Some(format) => format!("{} ({})", code(&line.path), escape(format)),
            None => code(&line.path),
        };
        let cells: Vec<String> = match (&line.summary, line.readiness) {
            (Some(counts), Some(status)) => vec![
                format!(
                    "{} {status}",
                    match status {
                        "ready" => "✅",
                        "ready-after-upgrades" => "🟡",
                        _ => "❌",
                    }
                ),
                counts.declared_blocker.to_string(),
                counts.binary_blocker.to_string(),
                counts.source_blocker.to_string(),
                counts.suspect.to_string(),
                counts.unknown.to_string(),
                counts.ready.to_string(),
                counts.unaffected.to_string(),
            ],
            _ => {
                let mut cells = vec![format!(
                    "⚠️ error: {}",
                    line.error.as_deref().map(inline).unwrap_or_default()
                )];
                cells.resize(8, String::new());
                cells
            }
        };
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&lockfile),
            cells.join(" | "),
            line.exit_code
        ));
    }
    text.push('\n');
    text.push_str(&format!("**Totals:** {}\n\n", summary.totals.counts()));
    if summary.incomplete {
        text.push_str("⚠️ **Incomplete:** index or network failures left packages unknown.\n\n");
    }
    text.push_str(&format!(
        "## Blockers across lockfiles ({})\n\n",
        summary.blockers.len()
    ));
    if summary.blockers.is_empty() {
        text.push_str("No package blocks the target in any lockfile.\n\n");
    } else {
        text.push_str("| package | version | verdict | lockfiles | fix |\n");
        text.push_str("|---|---|---|---|---|\n");
        for blocker in &summary.blockers {
            let lockfiles: Vec<String> = blocker.lockfiles.iter().map(|p| code(p)).collect();
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&escape(&blocker.name)),
                cell(&escape(blocker.version.as_deref().unwrap_or("?"))),
                blocker.verdict.as_str(),
                cell(&lockfiles.join("<br>")),
                cell(&escape(&upgrade_note(blocker)))
            ));
        }
        text.push('\n');
    }
    out.write_all((text.trim_end().to_string() + "\n").as_bytes())?;
    for entry in &combined.entries {
        writeln!(out)?;
        match entry {
            Entry::Audited { audit, .. } => markdown::render(audit, out)?,
            Entry::Failed { path, message, .. } => {
                writeln!(out, "## np2audit: {}", code(path))?;
                writeln!(out)?;
                writeln!(out, "⚠️ **Error:** {}", inline(message))?;
            }
        }
    }
    Ok(())
}

// ---- sarif ----

fn render_sarif(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    let cwd = std::env::current_dir().ok();
    let runs = combined
        .entries
        .iter()
        .map(|entry| {
            let mut run = match entry {
                Entry::Audited { audit, .. } => sarif::run_object(audit, cwd.as_deref()),
                Entry::Failed { path, message, .. } => {
                    sarif::failed_run(path, message, cwd.as_deref())
                }
            };
            // Code scanning keeps one analysis per category: each lockfile is its own, so a
            // lockfile's alerts close when it is fixed, not when another one is.
            run["automationDetails"] = serde_json::json!({
                "id": format!("np2audit/{}/", super::paths::display_path(entry.path())),
            });
            run
        })
        .collect();
    sarif::write_log(&sarif::log(runs), out)
}

// ---- github ----

fn render_github(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    for entry in &combined.entries {
        match entry {
            Entry::Audited { audit, .. } => {
                github::annotations(audit, out)?;
                github::notice(
                    out,
                    &format!("np2audit: {}", entry.path()),
                    &audit.readiness.message,
                )?;
            }
            Entry::Failed { path, message, .. } => github::file_error(out, path, message)?,
        }
    }
    Ok(())
}
