//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per finding, at
//! the package's line in the lockfile, so the findings annotate the pull request's diff; then
//! one `::notice` with the readiness verdict. Suppressed findings are left out.

use std::io::Write;
use std::path::Path;

use super::paths::display_path;
use crate::audit::{Audit, EvidenceCode, PackageReport, Verdict};

pub fn render(audit: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    annotations(audit, out)?;
    notice(out, "np2audit", &audit.readiness.message)
}

/// One finding as an annotation, before it is written.
pub(super) struct Annotation {
    pub level: &'static str,
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The title up to the target it names, if it names one (`np2audit: x 1.0 blocks NumPy`).
    pub title: String,
    /// The target NumPy the title ends with, for findings that name it.
    pub target: Option<String>,
    pub message: String,
    /// What the finding is about, the same in every environment it holds in: the package,
    /// version and verdict; the requirement; the removed name's use.
    pub key: String,
}

impl Annotation {
    /// The title with `targets` (one, or several joined when merged across environments).
    pub fn title_with(&self, targets: &[String]) -> String {
        if targets.is_empty() {
            self.title.clone()
        } else {
            format!("{} {}", self.title, targets.join(" / "))
        }
    }

    pub fn write(&self, title: &str, out: &mut dyn Write) -> std::io::Result<()> {
        command(
            out,
            self.level,
            self.file.as_deref(),
            self.line,
            title,
            &self.message,
        )
    }
}

/// The findings' annotations, without the closing readiness notice.
pub(super) fn annotations(audit: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    for annotation in findings(audit) {
        let targets: Vec<String> = annotation.target.iter().cloned().collect();
        annotation.write(&annotation.title_with(&targets), out)?;
    }
    Ok(())
}

/// Every unsuppressed finding of `audit`, in report order.
pub(super) fn findings(audit: &Audit) -> Vec<Annotation> {
    let file = audit
        .lockfile
        .as_ref()
        .filter(|lockfile| lockfile.path != "-")
        .map(|lockfile| display_path(&lockfile.path));
    let mut found = Vec::new();

    for requirement in audit
        .project_requirements
        .iter()
        .filter(|r| r.excludes_target)
    {
        found.push(Annotation {
            level: "error",
            file: file.clone(),
            line: requirement.line,
            title: format!("np2audit: the project requires {}", requirement.requirement),
            target: None,
            message: format!(
                "{} requires `{}` [{}]: excludes NumPy {} — change this first",
                requirement.package,
                requirement.requirement,
                requirement.declared_in,
                audit.target.numpy
            ),
            key: format!(
                "requirement {} {}",
                requirement.package, requirement.requirement
            ),
        });
    }

    if let Some(code) = &audit.project_code {
        for use_ in &code.uses {
            let path = display_path(&Path::new(&code.root).join(&use_.file).to_string_lossy());
            found.push(Annotation {
                level: "error",
                key: format!("code {path}:{} {}", use_.line, use_.name),
                file: Some(path),
                line: Some(use_.line),
                title: format!(
                    "np2audit: {} was removed in NumPy {}",
                    use_.name, use_.removed_in
                ),
                target: None,
                message: use_.message(),
            });
        }
    }

    for package in audit.packages.iter().filter(|p| p.suppressed.is_none()) {
        let (level, title, target) = match package.verdict {
            Verdict::DeclaredBlocker | Verdict::BinaryBlocker | Verdict::SourceBlocker => (
                "error",
                format!("np2audit: {} blocks NumPy", name_version(package)),
                Some(audit.target.numpy.clone()),
            ),
            Verdict::Suspect => (
                "warning",
                format!("np2audit: {} is suspect", name_version(package)),
                None,
            ),
            Verdict::Unknown => (
                "notice",
                format!("np2audit: {} could not be judged", name_version(package)),
                None,
            ),
            Verdict::Ready | Verdict::Unaffected => continue,
        };
        found.push(Annotation {
            level,
            file: file.clone(),
            line: package.line,
            title,
            target,
            message: message(package),
            key: format!(
                "package {} {} {}",
                package.name,
                package.version.as_deref().unwrap_or("?"),
                package.verdict.as_str()
            ),
        });
    }
    found
}

/// `::notice title=…::message`: a line in the run's summary, at no file.
pub(super) fn notice(out: &mut dyn Write, title: &str, message: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "::notice title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// `::error file=…,title=…::message` for a lockfile that could not be audited.
pub(super) fn file_error(out: &mut dyn Write, path: &str, message: &str) -> std::io::Result<()> {
    command(
        out,
        "error",
        Some(&display_path(path)),
        None,
        "np2audit: cannot audit this lockfile",
        message,
    )
}

/// The verdict with its key evidence, one why-path, and the fix with its commands.
fn message(package: &PackageReport) -> String {
    let key: Vec<&str> = package
        .evidence
        .iter()
        .filter(|e| {
            if package.verdict.is_blocker() {
                matches!(
                    e.code,
                    EvidenceCode::NumpyCap
                        | EvidenceCode::Numpy1Build
                        | EvidenceCode::ImportFailsToday
                )
            } else {
                !matches!(
                    e.code,
                    EvidenceCode::NumpyRequirement | EvidenceCode::PurePython
                )
            }
        })
        .map(|e| e.message.as_str())
        .collect();
    let mut lines = vec![format!("{}: {}", package.verdict.as_str(), key.join("; "))];
    if let Some(path) = package.why.first() {
        let more = match package.why_total.max(package.why.len()) {
            0 | 1 => String::new(),
            total => format!(" (1 of {total} paths)"),
        };
        lines.push(format!("why: {}{more}", path.join(" → ")));
    }
    if let Some(fix) = &package.fix {
        lines.push(format!("fix: {}", fix.message));
        for parent in &fix.requires_parent_upgrades {
            lines.push(format!(
                "first: {} {} → {} ({})",
                parent.package,
                parent.from.as_deref().unwrap_or("?"),
                parent.to,
                parent.reason
            ));
        }
        for command in &fix.commands {
            lines.push(format!("$ {command}"));
        }
    }
    lines.join("\n")
}

fn name_version(package: &PackageReport) -> String {
    format!(
        "{} {}",
        package.name,
        package.version.as_deref().unwrap_or("?")
    )
}

/// `::level file=…,line=…,title=…::message`, leaving out what is not known.
fn command(
    out: &mut dyn Write,
    level: &str,
    file: Option<&str>,
    line: Option<usize>,
    title: &str,
    message: &str,
) -> std::io::Result<()> {
    let mut properties = Vec::new();
    if let Some(file) = file {
        properties.push(format!("file={}", escape_property(file)));
        if let Some(line) = line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    writeln!(
        out,
        "::{level} {}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// The message of a workflow command: `%`, CR and LF are encoded.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value of a workflow command: as data, and `:` and `,` too.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_newlines() {
        assert_eq!(escape_data("100%"), "100%25");
        assert_eq!(escape_data("a\r\nb"), "a%0D%0Ab");
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
    }

    #[test]
    fn properties_also_escape_colons_and_commas() {
        assert_eq!(escape_property("np2audit: a, b"), "np2audit%3A a%2C b");
        assert_eq!(escape_property("50%\n"), "50%25%0A");
        assert_eq!(escape_property("numpy<2,>=1.20"), "numpy<2%2C>=1.20");
    }

    #[test]
    fn suppressed_findings_are_not_annotated() {
        let mut out = Vec::new();
        render(&crate::report::markdown::tests::sample_audit(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("::error file=uv.lock,line=3,title=np2audit%3A odd|\"pkg\" 1.0 blocks NumPy 2.0::declared-blocker: requires `numpy<2|>3`"), "{text}");
        assert!(lines[1].starts_with("::notice file=uv.lock,line=3,title=np2audit%3A mystery 1.0 could not be judged::unknown: no wheel | sdist only%0Awhy: app → mystery==1.0"), "{text}");
        assert_eq!(
            lines[2],
            "::notice title=np2audit::blocked: 100%25 \"odd|pkg\""
        );
        assert!(!text.contains("hidden"), "{text}");
    }

    #[test]
    fn commands_leave_out_unknown_locations() {
        let mut out = Vec::new();
        command(&mut out, "error", None, Some(3), "t: x", "m\nn").unwrap();
        command(&mut out, "warning", Some("uv.lock"), None, "t", "m").unwrap();
        command(&mut out, "notice", Some("a,b.lock"), Some(7), "t", "m").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::error title=t%3A x::m%0An\n\
             ::warning file=uv.lock,title=t::m\n\
             ::notice file=a%2Cb.lock,line=7,title=t::m\n"
        );
    }
}
