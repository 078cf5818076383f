//! The Markdown report (GitHub-flavoured), for `$GITHUB_STEP_SUMMARY` and pull-request comments:
//! the readiness line and counts first, the project's own numpy requirement, a table of blockers
//! with the why-paths and evidence folded under each, the packages that could not be judged, the
//! next steps, and a Mermaid graph of the paths to the blockers. Suppressed findings are only
//! counted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::paths::display_path;
use crate::audit::{Audit, Evidence, EvidenceCode, PackageReport, Verdict};
use crate::export::mermaid;
use crate::fix::{Fix, FixKind, ReadinessStatus};

pub fn render(audit: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    let mut text = String::new();
    header(audit, &mut text);
    project_requirements(audit, &mut text);
    project_code(audit, &mut text);
    let shown: Vec<&PackageReport> = audit
        .packages
        .iter()
        .filter(|p| p.suppressed.is_none())
        .collect();
    let blockers: Vec<&PackageReport> = shown
        .iter()
        .copied()
        .filter(|p| p.verdict.is_blocker())
        .collect();
    blocker_section(audit, &blockers, &mut text);
    doubt_section(&shown, &mut text);
    settled_section(audit, &shown, &mut text);
    next_steps(audit, &mut text);
    graph_section(&blockers, &mut text);
    // One trailing newline, whatever the last section left.
    let text = text.trim_end().to_string() + "\n";
    out.write_all(text.as_bytes())
}

fn header(audit: &Audit, text: &mut String) {
    let subject = match &audit.lockfile {
        Some(lockfile) => format!(
            "{} ({})",
            code(&display_path(&lockfile.path)),
            escape(&lockfile.format)
        ),
        None => "releases given on the command line".to_string(),
    };
    line(text, &format!("## np2audit: {subject}"));
    blank(text);
    let mut target = format!(
        "**Target:** NumPy {} ({}), CPython {} on {}",
        escape(&audit.target.numpy),
        match audit.target.numpy_from {
            "index" => "newest release for this Python",
            "installed" => "installed in this environment",
            _ => "--target",
        },
        escape(&audit.target.python_version),
        escape(&audit.target.python_platform)
    );
    if !audit.locked_numpy.is_empty() {
        target.push_str(&format!(
            " · **locked numpy:** {}",
            escape(&audit.locked_numpy.join(", "))
        ));
    }
    line(text, &target);
    blank(text);

    let readiness = &audit.readiness;
    let marker = match readiness.status {
        ReadinessStatus::Ready => "✅",
        ReadinessStatus::ReadyAfterUpgrades => "🟡",
        ReadinessStatus::Incomplete => "❔",
        ReadinessStatus::Blocked | ReadinessStatus::Broken => "❌",
    };
    line(text, &format!("{marker} {}", inline(&readiness.message)));
    blank(text);

    let summary = &audit.summary;
    line(text, &format!("**Summary:** {}", summary.counts()));
    blank(text);
    if audit.incomplete {
        line(
            text,
            "⚠️ **Incomplete:** index or network failures left packages unknown.",
        );
        blank(text);
    }
    suppressed_line(audit, text);
}

/// "N findings hidden (ignored: …, baseline: …)".
fn suppressed_line(audit: &Audit, text: &mut String) {
    let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    for package in &audit.packages {
        let Some(suppression) = &package.suppressed else {
            continue;
        };
        count += 1;
        let kind = match suppression.kind {
            "ignore" => "ignored",
            other => other,
        };
        let mut item = format!(
            "{} {} ({})",
            escape(&package.name),
            version(package),
            package.verdict.as_str()
        );
        let mut notes = Vec::new();
        if !suppression.reason.is_empty() {
            notes.push(inline(&suppression.reason));
        }
        if let Some(until) = &suppression.until {
            notes.push(format!("until {}", escape(until)));
        }
        if !notes.is_empty() {
            item.push_str(&format!(" — {}", notes.join(", ")));
        }
        by_kind.entry(kind).or_default().push(item);
    }
    if count == 0 {
        return;
    }
    let groups: Vec<String> = by_kind
        .iter()
        .map(|(kind, items)| format!("{kind}: {}", items.join("; ")))
        .collect();
    line(
        text,
        &format!(
            "🙈 {count} {} hidden ({})",
            if count == 1 { "finding" } else { "findings" },
            groups.join("; ")
        ),
    );
    blank(text);
}

fn project_requirements(audit: &Audit, text: &mut String) {
    let capping: Vec<_> = audit
        .project_requirements
        .iter()
        .filter(|r| r.excludes_target)
        .collect();
    if capping.is_empty() {
        return;
    }
    line(text, "### Project requirement");
    blank(text);
    for requirement in capping {
        let at = requirement
            .line
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        line(
            text,
            &format!(
                "- ❌ **{}** requires {} [{}]{at}: excludes NumPy {} — change this first",
                escape(&requirement.package),
                code(&requirement.requirement),
                escape(&requirement.declared_in),
                escape(&audit.target.numpy)
            ),
        );
    }
    blank(text);
}

fn project_code(audit: &Audit, text: &mut String) {
    let Some(scan) = audit.project_code.as_ref().filter(|c| !c.uses.is_empty()) else {
        return;
    };
    line(text, &format!("### Project code ({})", scan.uses.len()));
    blank(text);
    for found in scan.uses.iter().take(super::table::PROJECT_CODE_SHOWN) {
        let file = display_path(
            &std::path::Path::new(&scan.root)
                .join(&found.file)
                .to_string_lossy(),
        );
        line(
            text,
            &format!(
                "- ❌ {} {}",
                code(&format!("{file}:{}", found.line)),
                escape(&found.message())
            ),
        );
    }
    if scan.uses.len() > super::table::PROJECT_CODE_SHOWN {
        line(
            text,
            &format!(
                "- … and {} more (the JSON report lists every one)",
                scan.uses.len() - super::table::PROJECT_CODE_SHOWN
            ),
        );
    }
    blank(text);
}

fn blocker_section(audit: &Audit, blockers: &[&PackageReport], text: &mut String) {
    line(text, &format!("### Blockers ({})", blockers.len()));
    blank(text);
    if blockers.is_empty() {
        line(text, "No package blocks the target.");
        blank(text);
        return;
    }
    line(text, "| package | version | verdict | evidence | fix |");
    line(text, "|---|---|---|---|---|");
    for package in blockers {
        line(
            text,
            &format!(
                "| {} | {} | {} | {} | {} |",
                cell(&escape(&package.name)),
                cell(&version(package)),
                package.verdict.as_str(),
                cell(&short_evidence(package)),
                cell(&fix_cell(audit, package.fix.as_ref())),
            ),
        );
    }
    blank(text);
    for package in blockers {
        blocker_details(package, text);
    }
}

/// The evidence in a few words: the capping requirement, or the 1.x-built member.
fn short_evidence(package: &PackageReport) -> String {
    let mut parts = Vec::new();
    for evidence in &package.evidence {
        match evidence.code {
            EvidenceCode::NumpyCap => parts.push(match &evidence.requirement {
                Some(requirement) => format!("requires {}", code(requirement)),
                None => inline(&evidence.message),
            }),
            EvidenceCode::Numpy1Build => parts.push(match &evidence.member {
                Some(member) => format!("1.x build: {}", code(member)),
                None => inline(&evidence.message),
            }),
            EvidenceCode::ImportFailsToday => parts.push("fails to import today".to_string()),
            _ => {}
        }
    }
    if parts.is_empty() {
        parts.extend(notable(&package.evidence).map(evidence_message));
    }
    parts.join("<br>")
}

fn fix_cell(audit: &Audit, fix: Option<&Fix>) -> String {
    let Some(fix) = fix else {
        return "—".to_string();
    };
    let pin = audit
        .pin_suggestion
        .as_ref()
        .map(|p| code(&p.requirement))
        .unwrap_or_else(|| "numpy".to_string());
    match (fix.kind, &fix.version) {
        (FixKind::Upgrade, Some(to)) => {
            let mut cell = format!("upgrade to {}", escape(to));
            if let Some(below) = &fix.below {
                cell.push_str(&format!(" (stay below {})", escape(below)));
            }
            if !fix.requires_parent_upgrades.is_empty() {
                let parents: Vec<String> = fix
                    .requires_parent_upgrades
                    .iter()
                    .map(|parent| {
                        format!(
                            "{} {} → {}",
                            escape(&parent.package),
                            escape(parent.from.as_deref().unwrap_or("?")),
                            escape(&parent.to)
                        )
                    })
                    .collect();
                cell.push_str(&format!(", after {}", parents.join(", ")));
            }
            cell
        }
        (FixKind::Pin, Some(to)) => format!(
            "{} is ready but the tree cannot take it: pin {pin}",
            escape(to)
        ),
        (FixKind::Pin, None) => format!("no ready release: pin {pin}"),
        _ => inline(&fix.message),
    }
}

fn blocker_details(package: &PackageReport, text: &mut String) {
    let paths = package.why_total.max(package.why.len());
    line(
        text,
        &format!(
            "<details><summary>Why is {} here? ({paths} {})</summary>",
            html(&package.name),
            if paths == 1 { "path" } else { "paths" }
        ),
    );
    blank(text);
    if !package.why.is_empty() {
        line(text, "**Paths from the project:**");
        blank(text);
        for path in &package.why {
            line(text, &format!("- {}", why_path(path)));
        }
        if package.why_total > package.why.len() {
            line(
                text,
                &format!("- … and {} more", package.why_total - package.why.len()),
            );
        }
        blank(text);
    }
    line(text, "**Evidence:**");
    blank(text);
    for evidence in notable(&package.evidence) {
        line(
            text,
            &format!(
                "- `{}` {}",
                evidence.code.as_str(),
                evidence_message(evidence)
            ),
        );
    }
    blank(text);
    if let Some(fix) = &package.fix {
        line(text, &format!("**Fix:** {}", inline(&fix.message)));
        blank(text);
        for parent in &fix.requires_parent_upgrades {
            line(
                text,
                &format!(
                    "- first: {} {} → {} ({})",
                    escape(&parent.package),
                    escape(parent.from.as_deref().unwrap_or("?")),
                    escape(&parent.to),
                    inline(&parent.reason)
                ),
            );
        }
        if !fix.requires_parent_upgrades.is_empty() {
            blank(text);
        }
        if !fix.commands.is_empty() {
            fenced(text, "sh", &fix.commands.join("\n"));
            blank(text);
        }
    }
    line(text, "</details>");
    blank(text);
}

/// Suspect and unknown packages: the report's verdict does not cover them.
fn doubt_section(shown: &[&PackageReport], text: &mut String) {
    let doubts: Vec<&&PackageReport> = shown
        .iter()
        .filter(|p| matches!(p.verdict, Verdict::Suspect | Verdict::Unknown))
        .collect();
    if doubts.is_empty() {
        return;
    }
    line(text, &format!("### Could not be judged ({})", doubts.len()));
    blank(text);
    line(text, "| package | version | verdict | reason |");
    line(text, "|---|---|---|---|");
    for package in doubts {
        let reason: Vec<String> = notable(&package.evidence).map(evidence_message).collect();
        line(
            text,
            &format!(
                "| {} | {} | {} | {} |",
                cell(&escape(&package.name)),
                cell(&version(package)),
                package.verdict.as_str(),
                cell(&reason.join("<br>")),
            ),
        );
    }
    blank(text);
}

/// Ready and unaffected packages: counted, and listed folded.
fn settled_section(audit: &Audit, shown: &[&PackageReport], text: &mut String) {
    let list = |verdict: Verdict| -> Vec<String> {
        shown
            .iter()
            .filter(|p| p.verdict == verdict)
            .map(|p| format!("{} {}", escape(&p.name), version(p)))
            .collect()
    };
    let ready = list(Verdict::Ready);
    let unaffected = list(Verdict::Unaffected);
    let absent = &audit.not_in_environment;
    if ready.is_empty() && unaffected.is_empty() && absent.is_empty() {
        return;
    }
    line(
        text,
        &format!(
            "<details><summary>{} ready, {} unaffected, {} not in this environment</summary>",
            ready.len(),
            unaffected.len(),
            absent.len()
        ),
    );
    blank(text);
    for (label, items) in [
        ("ready", ready),
        ("unaffected", unaffected),
        (
            "not in this environment",
            absent.iter().map(|a| escape(a)).collect(),
        ),
    ] {
        if !items.is_empty() {
            line(text, &format!("- **{label}:** {}", items.join(", ")));
        }
    }
    blank(text);
    line(text, "</details>");
    blank(text);
}

/// What to do next: every change in one go, and the pin while blockers remain.
fn next_steps(audit: &Audit, text: &mut String) {
    let readiness = &audit.readiness;
    if readiness.commands.is_empty() && audit.pin_suggestion.is_none() {
        return;
    }
    line(text, "### Next steps");
    blank(text);
    if !readiness.commands.is_empty() {
        let title = match readiness.status {
            ReadinessStatus::Ready => "To move to the target:",
            ReadinessStatus::ReadyAfterUpgrades => "To make the tree ready and move to the target:",
            ReadinessStatus::Broken if readiness.blocked_by.is_empty() => "To repair the lock:",
            ReadinessStatus::Incomplete => {
                "To reach the tree found (what could not be judged aside):"
            }
            _ => "Upgrades that help now (numpy stays where it is):",
        };
        line(text, title);
        blank(text);
        fenced(text, "sh", &readiness.commands.join("\n"));
        blank(text);
    }
    let Some(pin) = &audit.pin_suggestion else {
        return;
    };
    if !pin.conflicts.is_empty() {
        line(
            text,
            &format!(
                "❌ **Pin:** {} cannot be pinned: locked packages need NumPy at or above it",
                code(&pin.requirement)
            ),
        );
        blank(text);
        for conflict in &pin.conflicts {
            line(
                text,
                &format!(
                    "- {} requires {}",
                    escape(&conflict.package),
                    code(&conflict.requirement)
                ),
            );
        }
        blank(text);
        return;
    }
    let why = if pin.required {
        "needed: some blockers have no ready release"
    } else {
        "until the upgrades land"
    };
    match &pin.already {
        Some(own) => {
            line(
                text,
                &format!(
                    "**Pin:** {} ({why}) — the project's own {} already holds it.",
                    code(&pin.requirement),
                    code(own)
                ),
            );
            blank(text);
        }
        None => {
            line(
                text,
                &format!("**Pin:** {} ({why})", code(&pin.requirement)),
            );
            blank(text);
            if let Some(spelling) = &pin.spelling {
                line(text, &format!("In {}:", code(&spelling.file)));
                blank(text);
                fenced(text, language(&spelling.file), &spelling.snippet);
                blank(text);
                if !spelling.commands.is_empty() {
                    line(text, "Then:");
                    blank(text);
                    fenced(text, "sh", &spelling.commands.join("\n"));
                    blank(text);
                }
            }
        }
    }
}

/// The why-paths to the blockers as a Mermaid graph: roots first, blockers filled red.
fn graph_section(blockers: &[&PackageReport], text: &mut String) {
    let Some(graph) = mermaid(blockers) else {
        return;
    };
    line(text, "### Why-paths to the blockers");
    blank(text);
    fenced(text, "mermaid", &graph);
    blank(text);
}

/// The Mermaid source, or `None` when no blocker has a path.
fn mermaid(blockers: &[&PackageReport]) -> Option<String> {
    let mut roots = BTreeSet::new();
    let mut others = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for package in blockers {
        for path in &package.why {
            let Some(first) = path.first() else {
                continue;
            };
            roots.insert(first.as_str());
            for node in &path[1..] {
                others.insert(node.as_str());
            }
            for pair in path.windows(2) {
                edges.insert((pair[0].as_str(), pair[1].as_str()));
            }
        }
    }
    if roots.is_empty() {
        return None;
    }
    // A root reached through another root is still drawn once, as a root.
    let nodes: Vec<&str> = roots
        .iter()
        .copied()
        .chain(others.iter().copied().filter(|n| !roots.contains(n)))
        .collect();
    let ids: BTreeMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (*node, format!("n{index}")))
        .collect();
    let blocker_ids: BTreeSet<String> = blockers
        .iter()
        .filter_map(|p| p.why.first().and_then(|path| path.last()))
        .filter_map(|node| ids.get(node.as_str()).cloned())
        .collect();

    let mut graph = String::from("graph LR\n");
    for node in &nodes {
        graph.push_str(&format!(
            "    {}[\"{}\"]\n",
            ids[node],
            mermaid::label_text(&node_label(node))
        ));
    }
    let mut sorted_edges: Vec<(usize, usize)> = edges
        .iter()
        .map(|(from, to)| {
            let index = |n: &str| nodes.iter().position(|m| *m == n).unwrap_or(0);
            (index(from), index(to))
        })
        .collect();
    sorted_edges.sort_unstable();
    for (from, to) in sorted_edges {
        graph.push_str(&format!("    n{from} --> n{to}\n"));
    }
    graph.push_str("    classDef blocker fill:#fdd,stroke:#c00\n");
    if !blocker_ids.is_empty() {
        let mut list: Vec<&String> = blocker_ids.iter().collect();
        list.sort_by_key(|id| id[1..].parse::<usize>().unwrap_or(usize::MAX));
        let list: Vec<&str> = list.into_iter().map(String::as_str).collect();
        graph.push_str(&format!("    class {} blocker\n", list.join(",")));
    }
    Some(graph)
}

/// `scipy==1.11.4` → `scipy 1.11.4`; a root keeps its name.
fn node_label(node: &str) -> String {
    match node.split_once("==") {
        Some((name, version)) => format!("{name} {version}"),
        None => node.to_string(),
    }
}

/// Evidence worth showing: admitting requirements and plain facts are noise next to a finding.
fn notable(evidence: &[Evidence]) -> impl Iterator<Item = &Evidence> {
    evidence.iter().filter(|e| {
        !matches!(
            e.code,
            EvidenceCode::NumpyRequirement | EvidenceCode::PurePython
        )
    })
}

/// An evidence message, with the shared object it names (at its start) as code.
fn evidence_message(evidence: &Evidence) -> String {
    if let Some(member) = &evidence.member
        && let Some(rest) = evidence.message.strip_prefix(member.as_str())
    {
        return format!("{}{}", code(member), inline(rest));
    }
    inline(&evidence.message)
}

fn why_path(path: &[String]) -> String {
    path.iter()
        .map(|node| escape(node))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn version(package: &PackageReport) -> String {
    escape(package.version.as_deref().unwrap_or("?"))
}

/// The info string for a snippet written to `file`.
fn language(file: &str) -> &'static str {
    let name = file.rsplit('/').next().unwrap_or(file);
    if name.ends_with(".toml") || name == "Pipfile" {
        "toml"
    } else {
        "text"
    }
}

fn line(text: &mut String, content: &str) {
    text.push_str(content);
    text.push('\n');
}

/// One empty line between blocks, never two.
fn blank(text: &mut String) {
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
}

/// A fenced code block whose fence is longer than any run of backticks in `content`.
fn fenced(text: &mut String, info: &str, content: &str) {
    let fence = "`".repeat(3.max(longest_backtick_run(content) + 1));
    line(text, &format!("{fence}{info}"));
    let content = content.trim_end_matches('\n');
    if !content.is_empty() {
        line(text, content);
    }
    line(text, &fence);
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for character in text.chars() {
        if character == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Plain text made inert in Markdown: no emphasis, links, HTML, code or table cells start or
/// end in it, and it stays on one line.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                escaped.push('\\');
                escaped.push(character);
            }
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '\n' | '\r' => escaped.push(' '),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A code span holding `text` verbatim: the fence is longer than any backtick run inside.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A message in the audit's own style, where `…` marks requirements and file names: those
/// become code spans, the rest is escaped. Unbalanced backticks are escaped as text.
pub(super) fn inline(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(message);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                code(part)
            } else {
                escape(part)
            }
        })
        .collect()
}

/// A table cell: `|` ends a cell even inside a code span, so every bare one is escaped.
pub(super) fn cell(content: &str) -> String {
    let mut escaped = String::with_capacity(content.len());
    let mut backslashes = 0usize;
    for character in content.chars() {
        if character == '|' && backslashes.is_multiple_of(2) {
            escaped.push('\\');
        }
        backslashes = if character == '\\' {
            backslashes + 1
        } else {
            0
        };
        escaped.push(character);
    }
    escaped.replace(['\n', '\r'], " ")
}

/// Text inside an HTML element (`<summary>`): Markdown is not read there.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
pub(in crate::report) mod tests {
    use super::*;
    use crate::audit::{LockfileInfo, Stats, Summary, Suppression, TargetInfo};
    use crate::fix::Readiness;

    fn package(name: &str, verdict: Verdict, evidence: Evidence) -> PackageReport {
        PackageReport {
            name: name.to_string(),
            version: Some("1.0".to_string()),
            verdict,
            wheel: None,
            evidence: vec![evidence],
            why: vec![vec!["app".to_string(), format!("{name}==1.0")]],
            why_total: 1,
            line: Some(3),
            source: "registry".to_string(),
            fix: None,
            suppressed: None,
            failed: false,
        }
    }

    /// A small audit: a blocker whose name needs escaping, a suppressed blocker, an unknown.
    pub(in crate::report) fn sample_audit() -> Audit {
        let cap = Evidence {
            code: EvidenceCode::NumpyCap,
            message: "requires `numpy<2|>3`, which excludes NumPy 2.0".to_string(),
            file: None,
            member: None,
            strings: Vec::new(),
            requirement: Some("numpy<2|>3".to_string()),
        };
        let mut hidden = package("hidden", Verdict::BinaryBlocker, cap.clone());
        hidden.suppressed = Some(Suppression {
            kind: "ignore",
            reason: "vendored, fixed upstream".to_string(),
            until: Some("2030-01-01".to_string()),
        });
        let unknown = Evidence {
            code: EvidenceCode::SdistOnly,
            message: "no wheel | sdist only".to_string(),
            ..cap.clone()
        };
        Audit {
            schema_version: 1,
            target: TargetInfo {
                numpy: "2.0".to_string(),
                numpy_from: "option",
                python_version: "3.12".to_string(),
                python_platform: "linux".to_string(),
            },
            lockfile: Some(LockfileInfo {
                path: "uv.lock".to_string(),
                format: "uv.lock".to_string(),
            }),
            index_url: String::new(),
            locked_numpy: vec!["1.26.4".to_string()],
            project_requirements: Vec::new(),
            project_code: None,
            readiness: Readiness {
                status: ReadinessStatus::Blocked,
                message: "blocked: 100% \"odd|pkg\"".to_string(),
                changes: Vec::new(),
                commands: Vec::new(),
                blocked_by: Vec::new(),
                unverified: Vec::new(),
                resolution: None,
            },
            pin_suggestion: None,
            packages: vec![
                package("odd|\"pkg\"", Verdict::DeclaredBlocker, cap),
                hidden,
                package("mystery", Verdict::Unknown, unknown),
            ],
            not_in_environment: Vec::new(),
            summary: Summary::default(),
            incomplete: false,
            stats: Stats::default(),
        }
    }

    #[test]
    fn renders_escaped_cells_hidden_findings_and_a_safe_graph() {
        let mut out = Vec::new();
        render(&sample_audit(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("```\n") && !text.ends_with("\n\n"), "{text}");
        assert!(
            text.contains("| odd\\|\"pkg\" | 1.0 | declared-blocker | requires `numpy<2\\|>3` |"),
            "{text}"
        );
        assert!(
            text.contains("| mystery | 1.0 | unknown | no wheel \\| sdist only |"),
            "{text}"
        );
        assert!(
            text.contains(
                "1 finding hidden (ignored: hidden 1.0 (binary-blocker) — vendored, fixed upstream, until 2030-01-01)"
            ),
            "{text}"
        );
        assert!(!text.contains("| hidden |"), "{text}");
        assert!(!text.contains("Why is hidden here"), "{text}");
        assert!(text.contains("<summary>Why is odd|&quot;pkg&quot; here? (1 path)</summary>"));
        assert!(
            text.contains("    n1[\"odd|#quot;pkg#quot; 1.0\"]\n"),
            "{text}"
        );
        assert!(text.contains("    class n1 blocker\n"), "{text}");
        assert!(!text.contains("\x1b["));
    }

    #[test]
    fn escape_makes_markdown_inert() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("*x* _y_"), "\\*x\\* \\_y\\_");
        assert_eq!(escape("[l](u)"), "\\[l\\](u)");
        assert_eq!(escape("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(escape("a\\b"), "a\\\\b");
        assert_eq!(escape("two\nlines"), "two lines");
        assert_eq!(escape("scipy 1.11.4"), "scipy 1.11.4");
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes_survive_cells() {
        assert_eq!(code("numpy<2,>=1.20"), "`numpy<2,>=1.20`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(cell(&code("numpy<2|>3")), "`numpy<2\\|>3`");
        // An escaped pipe stays escaped once.
        assert_eq!(cell(&escape("a|b")), "a\\|b");
    }

    #[test]
    fn inline_keeps_the_audits_code_spans() {
        assert_eq!(
            inline("requires `numpy<2`, which excludes *this*"),
            "requires `numpy<2`, which excludes \\*this\\*"
        );
        assert_eq!(inline("odd ` tick"), "odd \\` tick");
    }

    #[test]
    fn fences_outgrow_the_content() {
        let mut text = String::new();
        fenced(&mut text, "sh", "echo ```");
        assert_eq!(text, "````sh\necho ```\n````\n");
    }

    #[test]
    fn mermaid_nodes_are_labelled_name_space_version() {
        assert_eq!(node_label("scipy==1.11.4"), "scipy 1.11.4");
        assert_eq!(node_label("app"), "app");
    }
}
