//! The terminal report: the project's own numpy requirement first, then packages grouped by
//! verdict, blockers with their why-paths and evidence, the rest listed compactly.

use std::io::Write;

use indicatif::HumanBytes;

use super::Style;
use crate::audit::{Audit, EvidenceCode, PackageReport, Stats, Verdict, by_verdict};
use crate::fix::{FixKind, ReadinessStatus};

/// Uses of removed names in the project's code that the table lists; JSON and SARIF list all.
pub(super) const PROJECT_CODE_SHOWN: usize = 30;

pub(super) struct Paint {
    pub color: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    pub fn verdict(&self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::DeclaredBlocker | Verdict::BinaryBlocker | Verdict::SourceBlocker => "1;31",
            Verdict::Suspect | Verdict::Unknown => "1;33",
            Verdict::Ready => "32",
            Verdict::Unaffected => "2",
        };
        self.wrap(code, text)
    }
}

pub fn render(audit: &Audit, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    render_findings(audit, style, out)?;
    stats_line(&audit.stats, style, out)
}

/// Everything but the network counters, which a combined report gives once for all lockfiles.
pub(super) fn render_findings(
    audit: &Audit,
    style: Style,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    let subject = match &audit.lockfile {
        Some(lockfile) => format!("{} ({})", lockfile.path, lockfile.format),
        None => "releases given on the command line".to_string(),
    };
    writeln!(out, "{} {subject}", paint.bold("np2audit"))?;
    writeln!(
        out,
        "target: NumPy {} ({}), CPython {} on {}",
        audit.target.numpy,
        match audit.target.numpy_from {
            "index" => "newest release for this Python",
            "installed" => "installed in this environment",
            _ => "--target",
        },
        audit.target.python_version,
        audit.target.python_platform
    )?;
    if !audit.locked_numpy.is_empty() {
        writeln!(out, "locked numpy: {}", audit.locked_numpy.join(", "))?;
    }
    let readiness = &audit.readiness;
    let tone = match readiness.status {
        ReadinessStatus::Ready => Verdict::Ready,
        ReadinessStatus::ReadyAfterUpgrades | ReadinessStatus::Incomplete => Verdict::Suspect,
        ReadinessStatus::Blocked | ReadinessStatus::Broken => Verdict::DeclaredBlocker,
    };
    writeln!(out, "{}", paint.verdict(tone, &readiness.message))?;

    let capping: Vec<_> = audit
        .project_requirements
        .iter()
        .filter(|r| r.excludes_target)
        .collect();
    if !capping.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint.verdict(Verdict::DeclaredBlocker, "project requirement")
        )?;
        for requirement in capping {
            let line = requirement
                .line
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} requires `{}` [{}]{line}: excludes NumPy {} — change this first",
                paint.bold(&requirement.package),
                requirement.requirement,
                requirement.declared_in,
                audit.target.numpy
            )?;
        }
    }

    if let Some(code) = audit.project_code.as_ref().filter(|c| !c.uses.is_empty()) {
        writeln!(out)?;
        writeln!(
            out,
            "{} ({} use{} of names NumPy {} removed; {} file{} read under {})",
            paint.verdict(Verdict::SourceBlocker, "project code"),
            code.uses.len(),
            crate::fix::plural(code.uses.len()),
            audit.target.numpy,
            code.modules,
            crate::fix::plural(code.modules),
            super::paths::display_path(&code.root)
        )?;
        for found in code.uses.iter().take(PROJECT_CODE_SHOWN) {
            writeln!(
                out,
                "  {}:{} {}",
                paint.bold(&found.file),
                found.line,
                found.message()
            )?;
        }
        if code.uses.len() > PROJECT_CODE_SHOWN {
            writeln!(
                out,
                "  … and {} more (`--format json` lists every one)",
                code.uses.len() - PROJECT_CODE_SHOWN
            )?;
        }
    }

    let groups = by_verdict(audit);
    for verdict in Verdict::ALL {
        let Some(packages) = groups.get(&verdict) else {
            continue;
        };
        let packages: Vec<&PackageReport> = packages
            .iter()
            .copied()
            .filter(|p| p.suppressed.is_none())
            .collect();
        if packages.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{} ({})",
            paint.verdict(verdict, verdict.as_str()),
            packages.len()
        )?;
        match verdict {
            Verdict::Ready | Verdict::Unaffected => compact_list(&packages, &paint, out)?,
            _ => {
                for package in &packages {
                    detailed(package, &paint, out)?;
                }
            }
        }
    }

    let hidden: Vec<&PackageReport> = audit
        .packages
        .iter()
        .filter(|p| p.suppressed.is_some())
        .collect();
    if !hidden.is_empty() {
        writeln!(out)?;
        writeln!(out, "{} ({})", paint.dim("hidden"), hidden.len())?;
        for package in hidden {
            let suppression = package.suppressed.as_ref().expect("filtered");
            let until = suppression
                .until
                .as_deref()
                .map(|u| format!(", until {u}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {} {} ({}: {}{until})",
                package.name,
                package.version.as_deref().unwrap_or("?"),
                package.verdict.as_str(),
                suppression.kind,
                suppression.reason
            )?;
        }
    }

    next_steps(audit, &paint, out)?;

    writeln!(out)?;
    let summary = &audit.summary;
    writeln!(out, "summary: {}", summary.counts())?;
    if audit.incomplete {
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

/// `12 requests, 1.2 MiB fetched, 3 cache hits`.
pub(super) fn stats_line(stats: &Stats, style: Style, out: &mut dyn Write) -> std::io::Result<()> {
    let paint = Paint { color: style.color };
    writeln!(
        out,
        "{}",
        paint.dim(&format!(
            "{} requests, {} fetched, {} cache hits",
            stats.requests,
            HumanBytes(stats.bytes_fetched),
            stats.cache_hits
        ))
    )
}

fn detailed(package: &PackageReport, paint: &Paint, out: &mut dyn Write) -> std::io::Result<()> {
    let version = package.version.as_deref().unwrap_or("?");
    writeln!(out, "  {} {version}", paint.bold(&package.name))?;
    for evidence in &package.evidence {
        // Admitting requirements and plain facts are noise next to the finding itself.
        if matches!(
            evidence.code,
            EvidenceCode::NumpyRequirement | EvidenceCode::PurePython
        ) {
            continue;
        }
        let label = format!("[{}]", evidence.code.as_str());
        let lines = wrap(
            &evidence.message,
            terminal_width().saturating_sub(5 + label.len()),
        );
        for (index, line) in lines.iter().enumerate() {
            if index == 0 {
                writeln!(out, "    {} {line}", paint.dim(&label))?;
            } else {
                writeln!(out, "    {:width$} {line}", "", width = label.len())?;
            }
        }
    }
    for path in &package.why {
        writeln!(out, "    {} {}", paint.dim("why:"), path.join(" → "))?;
    }
    if package.why_total > package.why.len() {
        writeln!(
            out,
            "    {} and {} more",
            paint.dim("why:"),
            package.why_total - package.why.len()
        )?;
    }
    if let Some(fix) = &package.fix {
        let label = match fix.kind {
            FixKind::Upgrade | FixKind::Remove => paint.verdict(Verdict::Ready, "fix:"),
            FixKind::Pin | FixKind::None => paint.verdict(Verdict::Unknown, "fix:"),
        };
        for (index, line) in wrap(&fix.message, terminal_width().saturating_sub(9))
            .iter()
            .enumerate()
        {
            if index == 0 {
                writeln!(out, "    {label} {line}")?;
            } else {
                writeln!(out, "         {line}")?;
            }
        }
        for parent in &fix.requires_parent_upgrades {
            writeln!(
                out,
                "      {} {} {} → {} ({})",
                paint.dim("first:"),
                parent.package,
                parent.from.as_deref().unwrap_or("?"),
                parent.to,
                parent.reason
            )?;
        }
        for command in &fix.commands {
            writeln!(out, "      {} {command}", paint.dim("$"))?;
        }
    }
    Ok(())
}

/// What to do next: every change in one go, and the pin while blockers remain.
fn next_steps(audit: &Audit, paint: &Paint, out: &mut dyn Write) -> std::io::Result<()> {
    let readiness = &audit.readiness;
    if !readiness.commands.is_empty() {
        let title = match readiness.status {
            ReadinessStatus::Ready => "to move to the target",
            ReadinessStatus::ReadyAfterUpgrades => "to make the tree ready and move to the target",
            ReadinessStatus::Broken if readiness.blocked_by.is_empty() => "to repair the lock",
            ReadinessStatus::Incomplete => {
                "to reach the tree found (what could not be judged aside)"
            }
            _ => "upgrades that help now (numpy stays where it is)",
        };
        writeln!(out)?;
        writeln!(out, "{}", paint.bold(title))?;
        for command in &readiness.commands {
            writeln!(out, "  {} {command}", paint.dim("$"))?;
        }
    }
    let Some(pin) = &audit.pin_suggestion else {
        return Ok(());
    };
    writeln!(out)?;
    if !pin.conflicts.is_empty() {
        writeln!(
            out,
            "{} `{}` cannot be pinned: locked packages need NumPy at or above it",
            paint.verdict(Verdict::DeclaredBlocker, "pin:"),
            pin.requirement
        )?;
        for conflict in &pin.conflicts {
            writeln!(
                out,
                "  {} requires `{}`",
                conflict.package, conflict.requirement
            )?;
        }
        return Ok(());
    }
    let why = if pin.required {
        "needed: some blockers have no ready release"
    } else {
        "until the upgrades land"
    };
    match &pin.already {
        Some(own) => writeln!(
            out,
            "{} `{}` ({why}) — the project's own `{own}` already holds it",
            paint.bold("pin:"),
            pin.requirement
        )?,
        None => {
            writeln!(out, "{} `{}` ({why})", paint.bold("pin:"), pin.requirement)?;
            if let Some(spelling) = &pin.spelling {
                writeln!(out, "  {} {}:", paint.dim("in"), spelling.file)?;
                for line in spelling.snippet.lines() {
                    writeln!(out, "    {line}")?;
                }
                for command in &spelling.commands {
                    writeln!(out, "  {} {command}", paint.dim("$"))?;
                }
            }
        }
    }
    Ok(())
}

fn compact_list(
    packages: &[&PackageReport],
    paint: &Paint,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let width = terminal_width();
    let mut line = String::from(" ");
    for (index, package) in packages.iter().enumerate() {
        let item = format!(
            " {} {}{}",
            package.name,
            package.version.as_deref().unwrap_or("?"),
            if index + 1 < packages.len() { "," } else { "" }
        );
        if line.len() + item.len() > width && !line.trim().is_empty() {
            writeln!(out, "{}", paint.dim(&line))?;
            line = String::from(" ");
        }
        line.push_str(&item);
    }
    if !line.trim().is_empty() {
        writeln!(out, "{}", paint.dim(&line))?;
    }
    Ok(())
}

/// `$COLUMNS`, else the terminal's width when standard output is one, else 100.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            console::Term::stdout()
                .size_checked()
                .map(|(_, columns)| usize::from(columns))
        })
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(100)
}

/// Break `text` at spaces into lines of at most `width` characters (a longer word stays whole:
/// file names and requirements are never split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_breaks_at_spaces_and_keeps_long_words_whole() {
        assert_eq!(
            wrap("requires `numpy<2`, which excludes NumPy 2.2.6", 24),
            ["requires `numpy<2`,", "which excludes NumPy", "2.2.6"]
        );
        let long = "scipy/optimize/_lsap.cpython-310-x86_64-linux-gnu.so was built";
        assert_eq!(
            wrap(long, 20),
            [
                "scipy/optimize/_lsap.cpython-310-x86_64-linux-gnu.so",
                "was built"
            ]
        );
        assert_eq!(wrap("short", 80), ["short"]);
    }
}
