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
use crate::audit::{Audit, LockfileInfo, SCHEMA_VERSION, Stats, Summary, TargetInfo, Verdict};
use crate::fix::FixKind;
use crate::fix::merge::{MergedChange, MergedFix};

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
    /// What the entry is called in the summary: its lockfile, or (judging one lockfile for
    /// several environments) its environment.
    fn label(&self, subject: &Subject) -> String {
        match (self, subject) {
            (Entry::Audited { audit, .. }, Subject::Environments { .. }) => {
                environment_label(audit)
            }
            (Entry::Audited { audit, .. }, Subject::Lockfiles) => audit
                .lockfile
                .as_ref()
                .map_or("-", |l| l.path.as_str())
                .to_string(),
            (Entry::Failed { path, .. }, _) => path.clone(),
        }
    }
}

/// `linux / 3.12`: an environment as the matrix names it.
pub fn environment_label(audit: &Audit) -> String {
    format!(
        "{} / {}",
        audit.target.python_platform, audit.target.python_version
    )
}

/// What the entries of a combined report are.
pub enum Subject {
    /// Several lockfiles, each judged for its own environment.
    Lockfiles,
    /// One lockfile judged for several environments.
    Environments { lockfile: String },
}

impl Subject {
    /// The plural noun the summary uses.
    fn noun(&self) -> &'static str {
        match self {
            Subject::Lockfiles => "lockfiles",
            Subject::Environments { .. } => "environments",
        }
    }

    /// `2 environments`, `1 environment`.
    fn count(&self, count: usize) -> String {
        let noun = self.noun();
        if count == 1 {
            format!("1 {}", noun.trim_end_matches('s'))
        } else {
            format!("{count} {noun}")
        }
    }
}

/// Every lockfile (or environment) of the run, in the order they were named and found.
pub struct Combined<'a> {
    pub subject: Subject,
    pub entries: Vec<Entry<'a>>,
    /// The whole run's network use (the audits share it).
    pub stats: Stats,
    /// The run's exit code: the worst of the lockfiles'.
    pub exit_code: u8,
    /// For one lockfile in several environments: the changes that make every one ready.
    pub fix: Option<MergedFix>,
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
    /// One line per entry, under `lockfiles` or `environments` (see [`Subject::noun`]).
    #[serde(skip)]
    lines: Vec<LockLine>,
    #[serde(flatten)]
    named_lines: BTreeMap<&'static str, Vec<LockLine>>,
    /// Each entry's counts added up (a package locked in three lockfiles counts three times).
    totals: Summary,
    /// How many lockfiles have each readiness status.
    readiness: BTreeMap<&'static str, usize>,
    /// Every blocker, once per package, version and verdict, with the lockfiles that lock it.
    blockers: Vec<SharedBlocker>,
    incomplete: bool,
    exit_code: u8,
    /// One lockfile in several environments: the changes that make every one ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<MergedFix>,
}

#[derive(Debug, Clone, Serialize)]
struct LockLine {
    path: String,
    /// The environment judged, when one lockfile is judged for several.
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<TargetInfo>,
    /// What the summary calls this entry (its path, or its environment).
    #[serde(skip)]
    label: String,
    /// The blockers' names, for the matrix's cells.
    #[serde(skip)]
    blockers: Vec<String>,
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
    /// The entries it blocks in, under `lockfiles` or `environments`.
    #[serde(skip)]
    places: Vec<String>,
    #[serde(flatten)]
    named_places: BTreeMap<&'static str, Vec<String>>,
    /// The ready releases the lockfiles' fixes name (one, unless their targets differ).
    upgrade_to: Vec<String>,
}

fn summarize(combined: &Combined) -> CombinedSummary {
    let mut totals = Summary::default();
    let mut readiness = BTreeMap::new();
    let mut blockers: BTreeMap<(String, Option<String>, Verdict), SharedBlocker> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut incomplete = false;
    for entry in &combined.entries {
        let (audit, exit_code) = match entry {
            Entry::Failed {
                path,
                message,
                exit_code,
            } => {
                lines.push(LockLine {
                    path: path.clone(),
                    environment: None,
                    label: path.clone(),
                    blockers: Vec::new(),
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
        let label = entry.label(&combined.subject);
        let status = audit.readiness.status.as_str();
        *readiness.entry(status).or_insert(0) += 1;
        add(&mut totals, &audit.summary);
        incomplete |= audit.incomplete;
        lines.push(LockLine {
            path: audit
                .lockfile
                .as_ref()
                .map_or("-", |l| l.path.as_str())
                .to_string(),
            environment: matches!(combined.subject, Subject::Environments { .. })
                .then(|| audit.target.clone()),
            label: label.clone(),
            blockers: audit
                .packages
                .iter()
                .filter(|p| p.verdict.is_blocker() && p.suppressed.is_none())
                .map(|p| p.name.clone())
                .collect(),
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
                places: Vec::new(),
                named_places: BTreeMap::new(),
                upgrade_to: Vec::new(),
            });
            if !shared.places.contains(&label) {
                shared.places.push(label.clone());
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
    blockers.sort_by_key(|blocker| std::cmp::Reverse(blocker.places.len()));
    let noun = combined.subject.noun();
    for blocker in &mut blockers {
        blocker.named_places = BTreeMap::from([(noun, blocker.places.clone())]);
    }
    CombinedSummary {
        named_lines: BTreeMap::from([(noun, lines.clone())]),
        lines,
        totals,
        readiness,
        blockers,
        incomplete,
        exit_code: combined.exit_code,
        fix: combined.fix.clone(),
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
    let summary = summarize(combined);
    match &combined.subject {
        Subject::Lockfiles => {
            table_entries(combined, style, out)?;
            writeln!(out)?;
            table_summary(combined, &summary, style, out)?;
        }
        // The matrix first: the answer for every environment, then each one's report.
        Subject::Environments { lockfile } => {
            writeln!(
                out,
                "{}",
                paint.bold(&format!(
                    "np2audit: {lockfile} in {}",
                    combined.subject.count(combined.entries.len())
                ))
            )?;
            table_summary(combined, &summary, style, out)?;
            writeln!(out)?;
            table_entries(combined, style, out)?;
            writeln!(out)?;
        }
    }
    table::stats_line(&combined.stats, style, out)
}

/// Each entry's own report, under a header naming it.
fn table_entries(combined: &Combined, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    let count = combined.entries.len();
    for (index, entry) in combined.entries.iter().enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        let label = entry.label(&combined.subject);
        writeln!(
            out,
            "{}",
            paint.bold(&format!("=== {}/{count} {label} ===", index + 1))
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
    Ok(())
}

/// One line per entry (readiness, exit code, counts; for environments the target and the
/// blockers), then the blockers across entries and the totals.
fn table_summary(
    combined: &Combined,
    summary: &CombinedSummary,
    style: Style,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    let noun = combined.subject.noun();
    writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "=== {} ===",
            combined.subject.count(combined.entries.len())
        ))
    )?;
    let width = summary
        .lines
        .iter()
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = summary
        .lines
        .iter()
        .map(|l| l.readiness.unwrap_or("error").len())
        .max()
        .unwrap_or(0);
    for line in &summary.lines {
        let status = line.readiness.unwrap_or("error");
        let tone = match line.readiness {
            Some("ready") => Verdict::Ready,
            Some("ready-after-upgrades") => Verdict::Suspect,
            _ => Verdict::DeclaredBlocker,
        };
        let mut detail = match (&line.summary, &line.error) {
            (Some(counts), _) => counts.counts(),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        if let Some(target) = &line.environment {
            detail = format!("numpy {} ({})  {detail}", target.numpy, target.numpy_from);
        }
        if !line.blockers.is_empty() {
            detail.push_str(&format!("; blocked by {}", line.blockers.join(", ")));
        }
        writeln!(
            out,
            "  {:width$}  {}  exit {}  {detail}",
            line.label,
            paint.verdict(tone, &format!("{status:status_width$}")),
            line.exit_code,
        )?;
    }
    if !summary.blockers.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} ({})",
            paint.verdict(Verdict::DeclaredBlocker, &format!("blockers across {noun}")),
            summary.blockers.len()
        )?;
        for blocker in &summary.blockers {
            writeln!(
                out,
                "  {} {} in {}; {}",
                paint.bold(&blocker_label(blocker)),
                blocker.verdict.as_str(),
                places(combined, summary, blocker),
                upgrade_note(blocker)
            )?;
        }
    }
    if let Some(fix) = &summary.fix {
        table_fix(fix, style, out)?;
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
    Ok(())
}

/// The merged fix: what makes every environment ready, where environments differ, and which
/// ones nothing makes ready.
fn table_fix(fix: &MergedFix, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    if fix.changes.is_empty() && fix.blocked.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    if !fix.changes.is_empty() {
        writeln!(out, "{}", paint.bold("to make every environment ready"))?;
        for change in &fix.changes {
            writeln!(
                out,
                "  {} {} → {} (needed in {})",
                change.package,
                change.from.as_deref().unwrap_or("?"),
                merged_to(fix, change),
                change.environments.join(", ")
            )?;
            if !change.differs.is_empty() {
                let each: Vec<String> = change
                    .differs
                    .iter()
                    .map(|want| format!("{} in {}", want.version, want.environment))
                    .collect();
                let taken = if fix.commands.is_empty() {
                    ""
                } else {
                    "; the highest is taken — one lock holds one release unless the tool forks \
                     it by marker"
                };
                writeln!(out, "    environments differ: {}{taken}", each.join(", "))?;
            }
        }
        for command in &fix.commands {
            writeln!(out, "  $ {command}")?;
        }
        for note in &fix.notes {
            writeln!(out, "  note: {note}")?;
        }
    }
    if !fix.blocked.is_empty() {
        writeln!(out, "{}", paint.bold("environments no change makes ready"))?;
    }
    for blocked in &fix.blocked {
        writeln!(
            out,
            "  {}",
            paint.verdict(
                Verdict::DeclaredBlocker,
                &format!(
                    "{}: {}{}",
                    blocked.environment,
                    blocked.status,
                    if blocked.blocked_by.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", blocked.blocked_by.join(", "))
                    }
                )
            )
        )?;
    }
    Ok(())
}

/// The environments a finding holds in, as messages name them: `every environment` when it
/// holds in all `of` them (a package blocked everywhere is named once), else each.
fn holds_in(labels: &[String], of: usize) -> Option<String> {
    (labels.len() == of && of > 1).then(|| "every environment".to_string())
}

/// Where a blocker blocks: `every environment` when it blocks in all of them (a package
/// blocked everywhere is named once), else how many and which.
fn places(combined: &Combined, summary: &CombinedSummary, blocker: &SharedBlocker) -> String {
    let noun = combined.subject.noun();
    let all = summary.lines.len();
    let everywhere = matches!(combined.subject, Subject::Environments { .. })
        .then(|| holds_in(&blocker.places, all))
        .flatten();
    if let Some(everywhere) = everywhere {
        return everywhere;
    }
    match blocker.places.len() {
        1 => format!("1 {}: {}", noun.trim_end_matches('s'), blocker.places[0]),
        n => format!("{n} {noun}: {}", blocker.places.join(", ")),
    }
}

// ---- json ----

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    /// The lockfile judged for several environments, as a single report names it (absent
    /// for several lockfiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    lockfile: Option<&'a LockfileInfo>,
    /// Each entry's report as a run for it alone writes it, under `lockfiles` or `environments`.
    #[serde(flatten)]
    reports: BTreeMap<&'static str, Vec<&'a Audit>>,
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
    let audits = combined
        .entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Audited { audit, .. } => Some(*audit),
            Entry::Failed { .. } => None,
        })
        .collect();
    let report = JsonReport {
        schema_version: SCHEMA_VERSION,
        lockfile: match &combined.subject {
            Subject::Environments { .. } => combined.entries.iter().find_map(|entry| match entry {
                Entry::Audited { audit, .. } => audit.lockfile.as_ref(),
                Entry::Failed { .. } => None,
            }),
            Subject::Lockfiles => None,
        },
        reports: BTreeMap::from([(combined.subject.noun(), audits)]),
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
    let noun = combined.subject.noun();
    let environments = matches!(combined.subject, Subject::Environments { .. });
    let mut text = match &combined.subject {
        Subject::Lockfiles => format!("# np2audit: {} lockfiles\n\n", combined.entries.len()),
        Subject::Environments { lockfile } => format!(
            "# np2audit: {} in {}\n\n",
            code(lockfile),
            combined.subject.count(combined.entries.len())
        ),
    };
    if environments {
        text.push_str("| environment | numpy target | readiness | blocked by | declared | binary | source | suspect | unknown | ready | unaffected | exit |\n");
        text.push_str("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    } else {
        text.push_str("| lockfile | readiness | declared | binary | source | suspect | unknown | ready | unaffected | exit |\n");
        text.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    }
    for line in &summary.lines {
        let mut first = match (&line.environment, &line.format) {
            (Some(_), _) => vec![code(&line.label)],
            (None, Some(format)) => vec![format!("{} ({})", code(&line.path), escape(format))],
            (None, None) => vec![code(&line.path)],
        };
        if let Some(target) = &line.environment {
            first.push(format!("{} ({})", escape(&target.numpy), target.numpy_from));
        }
        let lockfile = first
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join(" | ");
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
        let mut cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        if environments {
            let blocked_by: Vec<String> = line.blockers.iter().map(|name| escape(name)).collect();
            cells.insert(1, cell(&blocked_by.join(", ")));
        }
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            lockfile,
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
        "## Blockers across {noun} ({})\n\n",
        summary.blockers.len()
    ));
    if summary.blockers.is_empty() {
        text.push_str(&format!(
            "No package blocks the target in any {}.\n\n",
            noun.trim_end_matches('s')
        ));
    } else {
        text.push_str(&format!("| package | version | verdict | {noun} | fix |\n"));
        text.push_str("|---|---|---|---|---|\n");
        let all = summary.lines.len();
        for blocker in &summary.blockers {
            let lockfiles: Vec<String> = match holds_in(&blocker.places, all) {
                Some(everywhere) if environments => vec![everywhere],
                _ => blocker.places.iter().map(|p| code(p)).collect(),
            };
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
    if let Some(fix) = &summary.fix {
        markdown_fix(fix, &mut text);
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

/// The release a merged change moves to: the highest, or for numpy whose targets follow the
/// Python version (left out of the commands), each target.
fn merged_to(fix: &MergedFix, change: &MergedChange) -> String {
    if change.package == "numpy" && !change.differs.is_empty() && !fix.notes.is_empty() {
        let mut versions: Vec<&str> = Vec::new();
        for want in &change.differs {
            if !versions.contains(&want.version.as_str()) {
                versions.push(&want.version);
            }
        }
        format!("{} (by Python version)", versions.join(" or "))
    } else {
        change.to.clone()
    }
}

/// The merged fix as a section of its own.
fn markdown_fix(fix: &MergedFix, text: &mut String) {
    text.push_str("## To make every environment ready\n\n");
    if fix.changes.is_empty() && fix.blocked.is_empty() {
        text.push_str("Nothing to change: every environment is ready.\n\n");
        return;
    }
    if !fix.changes.is_empty() {
        text.push_str("| package | from | to | needed in | environments differ |\n");
        text.push_str("|---|---|---|---|---|\n");
        for change in &fix.changes {
            let differs: Vec<String> = change
                .differs
                .iter()
                .map(|want| format!("{} in {}", escape(&want.version), code(&want.environment)))
                .collect();
            let needed: Vec<String> = change.environments.iter().map(|e| code(e)).collect();
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&escape(&change.package)),
                cell(&escape(change.from.as_deref().unwrap_or("?"))),
                cell(&escape(&merged_to(fix, change))),
                cell(&needed.join(", ")),
                cell(&differs.join(", "))
            ));
        }
        text.push('\n');
        if !fix.commands.is_empty() && fix.changes.iter().any(|change| !change.differs.is_empty()) {
            text.push_str(
                "Where environments differ the highest release is taken: one lock holds one \
                 release of a package unless the tool forks it by marker.\n\n",
            );
        }
        if !fix.commands.is_empty() {
            text.push_str("```sh\n");
            for command in &fix.commands {
                text.push_str(command);
                text.push('\n');
            }
            text.push_str("```\n\n");
        }
        for note in &fix.notes {
            text.push_str(&format!("**Note:** {}\n\n", escape(note)));
        }
    }
    for blocked in &fix.blocked {
        text.push_str(&format!(
            "❌ {} is {}{}\n\n",
            code(&blocked.environment),
            blocked.status,
            if blocked.blocked_by.is_empty() {
                String::new()
            } else {
                format!(": {}", escape(&blocked.blocked_by.join(", ")))
            }
        ));
    }
}

// ---- sarif ----

fn render_sarif(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    if let Subject::Environments { lockfile } = &combined.subject {
        return render_sarif_environments(combined, lockfile, out);
    }
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
            let id = match (&combined.subject, entry) {
                (Subject::Environments { lockfile }, Entry::Audited { audit, .. }) => format!(
                    "np2audit/{}/{}-{}/",
                    super::paths::display_path(lockfile),
                    audit.target.python_platform,
                    audit.target.python_version
                ),
                _ => format!(
                    "np2audit/{}/",
                    super::paths::display_path(&entry.label(&combined.subject))
                ),
            };
            run["automationDetails"] = serde_json::json!({ "id": id });
            run
        })
        .collect();
    sarif::write_log(&sarif::log(runs), out)
}

/// One lockfile in several environments: one run, with one result per finding (a package and
/// verdict, a requirement, a removed name: its fingerprint), its message naming the
/// environments it holds in and `properties.environments` listing them; the run's properties
/// give each environment's readiness.
fn render_sarif_environments(
    combined: &Combined,
    lockfile: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let cwd = std::env::current_dir().ok();
    let mut run: Option<serde_json::Value> = None;
    // Per result kept (the first environment's): its fingerprint and where it holds.
    let mut kept_results: Vec<serde_json::Value> = Vec::new();
    let mut holds: Vec<(serde_json::Value, Vec<String>)> = Vec::new();
    let mut environments = Vec::new();
    for entry in &combined.entries {
        let Entry::Audited { audit, .. } = entry else {
            continue;
        };
        let label = entry.label(&combined.subject);
        environments.push(serde_json::json!({
            "name": label,
            "pythonVersion": audit.target.python_version,
            "pythonPlatform": audit.target.python_platform,
            "targetNumpy": audit.target.numpy,
            "readiness": audit.readiness.status.as_str(),
        }));
        let mut this = sarif::run_object(audit, cwd.as_deref());
        let results = std::mem::take(&mut this["results"]);
        run.get_or_insert(this);
        for result in results.as_array().into_iter().flatten() {
            let fingerprint = result["partialFingerprints"].clone();
            match holds.iter_mut().find(|(known, _)| *known == fingerprint) {
                Some((_, labels)) => labels.push(label.clone()),
                None => {
                    holds.push((fingerprint, vec![label.clone()]));
                    kept_results.push(result.clone());
                }
            }
        }
    }
    let Some(mut run) = run else {
        return sarif::write_log(&sarif::log(Vec::new()), out);
    };
    let all = environments.len();
    for (result, (_, labels)) in kept_results.iter_mut().zip(&holds) {
        let place = holds_in(labels, all).unwrap_or_else(|| labels.join(", "));
        if let Some(text) = result["message"]["text"].as_str() {
            result["message"]["text"] = serde_json::json!(format!("In {place}: {text}"));
        }
        result["properties"]["environments"] = serde_json::json!(labels);
    }
    run["results"] = serde_json::Value::Array(kept_results);
    run["properties"]["environments"] = serde_json::Value::Array(environments);
    run["automationDetails"] = serde_json::json!({
        "id": format!("np2audit/{}/", super::paths::display_path(lockfile)),
    });
    sarif::write_log(&sarif::log(vec![run]), out)
}

// ---- github ----

fn render_github(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    if matches!(combined.subject, Subject::Environments { .. }) {
        return render_github_environments(combined, out);
    }
    for entry in &combined.entries {
        match entry {
            Entry::Audited { audit, .. } => {
                github::annotations(audit, out)?;
                github::notice(
                    out,
                    &format!("np2audit: {}", entry.label(&combined.subject)),
                    &audit.readiness.message,
                )?;
            }
            Entry::Failed { path, message, .. } => github::file_error(out, path, message)?,
        }
    }
    Ok(())
}

/// One lockfile in several environments: one annotation per package and verdict (and per
/// requirement or removed name), its title naming the environments it holds in (`… (in linux /
/// 3.11, macos / 3.11)` or `(in every environment)`) and each target it blocks; the message is
/// the first environment's. Then each environment's readiness as a notice.
fn render_github_environments(combined: &Combined, out: &mut dyn Write) -> std::io::Result<()> {
    struct Merged {
        annotation: github::Annotation,
        targets: Vec<String>,
        labels: Vec<String>,
    }
    let mut merged: Vec<Merged> = Vec::new();
    for entry in &combined.entries {
        let Entry::Audited { audit, .. } = entry else {
            continue;
        };
        let label = entry.label(&combined.subject);
        for annotation in github::findings(audit) {
            match merged
                .iter_mut()
                .find(|m| m.annotation.key == annotation.key)
            {
                Some(known) => {
                    if let Some(target) = &annotation.target
                        && !known.targets.contains(target)
                    {
                        known.targets.push(target.clone());
                    }
                    known.labels.push(label.clone());
                }
                None => merged.push(Merged {
                    targets: annotation.target.iter().cloned().collect(),
                    labels: vec![label.clone()],
                    annotation,
                }),
            }
        }
    }
    let all = combined.entries.len();
    for Merged {
        annotation,
        targets,
        labels,
    } in &merged
    {
        let place = holds_in(labels, all).unwrap_or_else(|| labels.join(", "));
        let title = format!("{} (in {place})", annotation.title_with(targets));
        annotation.write(&title, out)?;
    }
    for entry in &combined.entries {
        match entry {
            Entry::Audited { audit, .. } => github::notice(
                out,
                &format!("np2audit: {}", entry.label(&combined.subject)),
                &audit.readiness.message,
            )?,
            Entry::Failed { path, message, .. } => github::file_error(out, path, message)?,
        }
    }
    Ok(())
}
