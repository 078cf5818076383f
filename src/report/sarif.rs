//! The SARIF 2.1.0 report, for code scanning: one run, one rule per kind of finding, one
//! result per package that blocks or could not be judged (plus one per project requirement on
//! numpy that excludes the target), each at the package's line in the lockfile.
//!
//! Results carry a `partialFingerprints` entry built from the rule, the package and its
//! version only, so a finding keeps its identity across runs, machines and line moves.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::paths::{relative_inside, slashes};
use crate::audit::{
    Audit, EvidenceCode, PackageReport, ProjectCodeUse, ProjectRequirement, Verdict,
};
use crate::fix::{FixKind, PinSuggestion};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/np2audit/np2audit";
/// The key of our entry in `partialFingerprints`; bump the suffix if the recipe changes.
const FINGERPRINT_KEY: &str = "np2audit/v1";
const SRCROOT: &str = "%SRCROOT%";

/// One kind of finding. The order is the order of `tool.driver.rules`, so `ruleIndex` is
/// stable; ids never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    DeclaredBlocker,
    BinaryBlocker,
    Suspect,
    Unknown,
    ProjectNumpyCap,
    SourceBlocker,
    ProjectRemovedName,
}

impl Rule {
    /// New rules go at the end: a rule's index and id never change.
    const ALL: [Rule; 7] = [
        Rule::DeclaredBlocker,
        Rule::BinaryBlocker,
        Rule::Suspect,
        Rule::Unknown,
        Rule::ProjectNumpyCap,
        Rule::SourceBlocker,
        Rule::ProjectRemovedName,
    ];

    fn for_verdict(verdict: Verdict) -> Option<Rule> {
        match verdict {
            Verdict::DeclaredBlocker => Some(Rule::DeclaredBlocker),
            Verdict::BinaryBlocker => Some(Rule::BinaryBlocker),
            Verdict::SourceBlocker => Some(Rule::SourceBlocker),
            Verdict::Suspect => Some(Rule::Suspect),
            Verdict::Unknown => Some(Rule::Unknown),
            Verdict::Ready | Verdict::Unaffected => None,
        }
    }

    fn index(self) -> usize {
        Rule::ALL.iter().position(|&r| r == self).unwrap_or(0)
    }

    fn id(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => "NP2001",
            Rule::BinaryBlocker => "NP2002",
            Rule::Suspect => "NP2003",
            Rule::Unknown => "NP2004",
            Rule::ProjectNumpyCap => "NP2005",
            Rule::SourceBlocker => "NP2006",
            Rule::ProjectRemovedName => "NP2007",
        }
    }

    /// The verdict string (or `project-numpy-cap`): also the first part of the fingerprint.
    fn slug(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => "declared-blocker",
            Rule::BinaryBlocker => "binary-blocker",
            Rule::Suspect => "suspect",
            Rule::Unknown => "unknown",
            Rule::ProjectNumpyCap => "project-numpy-cap",
            Rule::SourceBlocker => "source-blocker",
            Rule::ProjectRemovedName => "project-removed-name",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => "DeclaredBlocker",
            Rule::BinaryBlocker => "BinaryBlocker",
            Rule::Suspect => "Suspect",
            Rule::Unknown => "Unknown",
            Rule::ProjectNumpyCap => "ProjectNumpyCap",
            Rule::SourceBlocker => "SourceBlocker",
            Rule::ProjectRemovedName => "ProjectRemovedName",
        }
    }

    fn level(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker
            | Rule::BinaryBlocker
            | Rule::ProjectNumpyCap
            | Rule::SourceBlocker
            | Rule::ProjectRemovedName => "error",
            Rule::Suspect => "warning",
            Rule::Unknown => "note",
        }
    }

    fn short_description(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => "A locked package's numpy requirement excludes NumPy 2",
            Rule::BinaryBlocker => "A locked package's wheel was built against the NumPy 1.x C-API",
            Rule::Suspect => "A locked package may not work with NumPy 2",
            Rule::Unknown => "A locked package could not be judged for NumPy 2",
            Rule::ProjectNumpyCap => "The project's own numpy requirement excludes NumPy 2",
            Rule::SourceBlocker => {
                "A locked package's Python code uses, at import, a name the target NumPy removed"
            }
            Rule::ProjectRemovedName => {
                "The project's own Python code uses a name the target NumPy removed"
            }
        }
    }

    fn full_description(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => {
                "The package declares a Requires-Dist on numpy, active in the target environment, \
                 whose specifier excludes the target NumPy version: no resolver will install the \
                 two together."
            }
            Rule::BinaryBlocker => {
                "A shared object in the wheel the target environment installs was compiled \
                 against the NumPy 1.x C-API headers. Extensions built that way fail to import \
                 under NumPy 2, whatever the package's metadata says."
            }
            Rule::Suspect => {
                "The wheel shows a trace of NumPy C-API use that does not tell which NumPy built \
                 it, or looks NumPy up at run time with NumPy 1.x's struct layout compiled in \
                 (pybind11 before 2.12, rust-numpy before 0.22: it imports, but some calls go \
                 wrong), the package names numpy in a requirement that does not parse, or no \
                 wheel fits the target environment and the closest one judged was clean: it may \
                 or may not work with NumPy 2."
            }
            Rule::Unknown => {
                "The package could not be judged: only an sdist is published, it is not on the \
                 index, it comes from a git, URL or path source, the index failed, the cache had \
                 no answer offline, or the scan budget ran out."
            }
            Rule::ProjectNumpyCap => {
                "The project itself requires numpy with a specifier that excludes the target \
                 NumPy version (for example `numpy<2`): nothing else can move until it changes."
            }
            Rule::SourceBlocker => {
                "A Python module of the release the target environment installs uses a name or \
                 call form that the target NumPy removed (or made an error), at module level, in \
                 a class body, a decorator or a default argument: importing it fails."
            }
            Rule::ProjectRemovedName => {
                "A Python file of the project itself uses a name or call form that the target \
                 NumPy removed (or made an error): that code fails under the target."
            }
        }
    }

    fn help_text(self) -> &'static str {
        match self {
            Rule::DeclaredBlocker => {
                "Upgrade the package to its oldest release whose numpy requirement admits NumPy 2 \
                 (np2audit names it and the command that makes the change, in the project's \
                 tool). When no such release exists, hold numpy below 2 with the pin np2audit \
                 suggests until one comes out."
            }
            Rule::BinaryBlocker => {
                "Upgrade the package to its oldest release whose wheel is built against NumPy 2.x \
                 headers or uses no NumPy C-API (np2audit names it and the command). When none \
                 exists, hold numpy below 2 with the suggested pin. If NumPy 2 is already locked, \
                 this import fails today."
            }
            Rule::Suspect => {
                "Check the package by hand: import it under NumPy 2 in a scratch environment, or \
                 read its changelog for NumPy 2 support. Upgrading to a release built after \
                 NumPy 2.0 (June 2024), with a wheel for the target environment, usually settles \
                 it."
            }
            Rule::Unknown => {
                "Re-run with network access (or without --offline) when an index error or a \
                 cache miss caused it. For sdist-only, git, URL or path packages, build or \
                 install the package against NumPy 2 and test the import."
            }
            Rule::ProjectNumpyCap => {
                "Change the project's own requirement on numpy (in pyproject.toml or the \
                 requirements file) so that it admits NumPy 2, after the blockers it protects \
                 against are upgraded, then re-lock."
            }
            Rule::SourceBlocker => {
                "Upgrade the package to its oldest release that no longer uses the removed name \
                 (np2audit names it and the command). When none exists, hold numpy below the \
                 release that removed it with the suggested pin."
            }
            Rule::ProjectRemovedName => {
                "Replace the removed name with what the release notes name (np2audit gives it), \
                 or guard the use with a NumPy version test."
            }
        }
    }

    fn help_markdown(self) -> String {
        let verdict = match self {
            Rule::ProjectNumpyCap => "project requirement".to_string(),
            Rule::ProjectRemovedName => "project code".to_string(),
            _ => format!("`{}` verdict", self.slug()),
        };
        format!(
            "**{}** ({verdict})\n\n{}\n\n**How to fix:** {}\n\nSee np2audit's docs/verdicts.md \
             and docs/fixes.md.",
            self.short_description(),
            self.full_description(),
            self.help_text()
        )
    }

    fn tags(self) -> &'static [&'static str] {
        match self {
            Rule::DeclaredBlocker => &["numpy2", "dependencies", "blocker", "requirement"],
            Rule::BinaryBlocker => &["numpy2", "dependencies", "blocker", "abi"],
            Rule::Suspect => &["numpy2", "dependencies", "needs-review"],
            Rule::Unknown => &["numpy2", "dependencies", "not-judged"],
            Rule::ProjectNumpyCap => &["numpy2", "dependencies", "blocker", "project"],
            Rule::SourceBlocker => &["numpy2", "dependencies", "blocker", "python-api"],
            Rule::ProjectRemovedName => &["numpy2", "python-api", "project"],
        }
    }

    fn descriptor(self) -> Value {
        json!({
            "id": self.id(),
            "name": self.name(),
            "shortDescription": { "text": self.short_description() },
            "fullDescription": { "text": self.full_description() },
            "help": { "text": self.help_text(), "markdown": self.help_markdown() },
            "helpUri": format!("{INFORMATION_URI}/blob/main/docs/verdicts.md"),
            "defaultConfiguration": { "level": self.level() },
            "properties": {
                "tags": self.tags(),
                "verdict": self.slug(),
            },
        })
    }
}

pub fn render(audit: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    let log = sarif_log(audit, std::env::current_dir().ok().as_deref());
    write_log(&log, out)
}

pub(super) fn write_log(log: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, log)?;
    writeln!(out)
}

/// The whole log; `cwd` is what lockfile paths are made relative to.
fn sarif_log(audit: &Audit, cwd: Option<&Path>) -> Value {
    log(vec![run_object(audit, cwd)])
}

/// A log of `runs`.
pub(super) fn log(runs: Vec<Value>) -> Value {
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": runs,
    })
}

/// The tool, the same in every run.
fn tool() -> Value {
    json!({
        "driver": {
            "name": "np2audit",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": INFORMATION_URI,
            "rules": Rule::ALL.iter().map(|r| r.descriptor()).collect::<Vec<_>>(),
        }
    })
}

/// A run for a lockfile that could not be audited: no results, and the reason as a tool
/// execution notification at the file.
pub(super) fn failed_run(path: &str, message: &str, cwd: Option<&Path>) -> Value {
    let mut notification = json!({
        "level": "error",
        "message": { "text": message },
    });
    if let Some(artifact) = artifact_location(path, cwd) {
        notification["locations"] =
            json!([{ "physicalLocation": { "artifactLocation": artifact } }]);
    }
    json!({
        "tool": tool(),
        "invocations": [{
            "executionSuccessful": false,
            "toolExecutionNotifications": [notification],
        }],
        "results": [],
        "columnKind": "unicodeCodePoints",
    })
}

/// One audit's run; `cwd` is what lockfile paths are made relative to.
pub(super) fn run_object(audit: &Audit, cwd: Option<&Path>) -> Value {
    let artifact = audit
        .lockfile
        .as_ref()
        .and_then(|lockfile| artifact_location(&lockfile.path, cwd));

    let pin_hint = audit.pin_suggestion.as_ref().and_then(pin_hint);
    let mut results = Vec::new();
    for requirement in audit
        .project_requirements
        .iter()
        .filter(|r| r.excludes_target)
    {
        results.push(project_result(audit, requirement, artifact.as_ref()));
    }
    if let Some(code) = &audit.project_code {
        for found in &code.uses {
            results.push(project_code_result(&code.root, found, cwd));
        }
    }
    for package in &audit.packages {
        if let Some(rule) = Rule::for_verdict(package.verdict) {
            results.push(package_result(
                &audit.target.numpy,
                pin_hint.as_deref(),
                package,
                rule,
                artifact.as_ref(),
            ));
        }
    }

    let mut run = Map::new();
    run.insert("tool".into(), tool());
    if let Some(artifact) = &artifact {
        run.insert(
            "artifacts".into(),
            json!([{
                "location": artifact,
                "roles": ["analysisTarget"],
            }]),
        );
    }
    run.insert("results".into(), Value::Array(results));
    run.insert("columnKind".into(), json!("unicodeCodePoints"));
    run.insert("properties".into(), run_properties(audit));
    Value::Object(run)
}

fn run_properties(audit: &Audit) -> Value {
    let readiness = &audit.readiness;
    let mut properties = json!({
        "target": {
            "numpy": audit.target.numpy,
            "numpyFrom": audit.target.numpy_from,
            "pythonVersion": audit.target.python_version,
            "pythonPlatform": audit.target.python_platform,
        },
        "readiness": {
            "status": readiness.status,
            "message": readiness.message,
            "commands": readiness.commands,
            "blockedBy": readiness.blocked_by,
            "unverified": readiness.unverified,
        },
        "lockedNumpy": audit.locked_numpy,
        "incomplete": audit.incomplete,
    });
    if let Some(lockfile) = &audit.lockfile {
        properties["lockfileFormat"] = json!(lockfile.format);
    }
    if let Some(pin) = &audit.pin_suggestion {
        properties["pinSuggestion"] = json!({
            "requirement": pin.requirement,
            "required": pin.required,
        });
    }
    properties
}

/// Where and how to pin numpy, for blockers whose fix is the pin; none when the pin conflicts.
fn pin_hint(pin: &PinSuggestion) -> Option<String> {
    if !pin.conflicts.is_empty() {
        return None;
    }
    let requirement = &pin.requirement;
    Some(match (&pin.already, &pin.spelling) {
        (Some(own), _) => format!("`{requirement}` (the project's own `{own}` already holds it)"),
        (None, Some(spelling)) if spelling.commands.is_empty() => {
            format!("`{requirement}` in {}", spelling.file)
        }
        (None, Some(spelling)) => format!(
            "`{requirement}` in {}, then: {}",
            spelling.file,
            spelling.commands.join("; ")
        ),
        (None, None) => format!("`{requirement}`"),
    })
}

fn package_result(
    target_numpy: &str,
    pin_hint: Option<&str>,
    package: &PackageReport,
    rule: Rule,
    artifact: Option<&Value>,
) -> Value {
    let version = package.version.as_deref().unwrap_or("");
    let spelled = match &package.version {
        Some(version) => format!("{}=={version}", package.name),
        None => package.name.clone(),
    };

    let mut text = format!(
        "{spelled}: {} for NumPy {}",
        package.verdict.as_str(),
        target_numpy
    );
    let key_evidence: Vec<_> = package
        .evidence
        .iter()
        .filter(|e| {
            !matches!(
                e.code,
                EvidenceCode::NumpyRequirement | EvidenceCode::PurePython
            )
        })
        .collect();
    for evidence in &key_evidence {
        text.push_str("\n- ");
        text.push_str(&evidence.message);
    }
    if let Some(fix) = &package.fix {
        text.push_str("\nfix: ");
        text.push_str(&fix.message);
        for parent in &fix.requires_parent_upgrades {
            text.push_str(&format!(
                "\n  first: {} {} → {} ({})",
                parent.package,
                parent.from.as_deref().unwrap_or("?"),
                parent.to,
                parent.reason
            ));
        }
        for command in &fix.commands {
            text.push_str("\n  $ ");
            text.push_str(command);
        }
        if let (FixKind::Pin, Some(hint)) = (fix.kind, pin_hint) {
            text.push_str("\n  pin: ");
            text.push_str(hint);
        }
    }

    let logical = json!({
        "name": package.name,
        "fullyQualifiedName": spelled,
    });
    let mut result = result_skeleton(rule, text, artifact, package.line, logical);

    let fingerprint_source = format!("{}:{}:{version}", rule.slug(), package.name);
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT_KEY: fnv1a64_hex(&fingerprint_source) }),
    );
    if let Some(suppressed) = &package.suppressed {
        let mut suppression = json!({
            "kind": "external",
            "status": "accepted",
            "justification": suppressed.reason,
            "properties": { "np2auditKind": suppressed.kind },
        });
        if let Some(until) = &suppressed.until {
            suppression["properties"]["until"] = json!(until);
        }
        result.insert("suppressions".into(), json!([suppression]));
    }

    let mut properties = json!({
        "package": package.name,
        "version": package.version,
        "verdict": package.verdict,
        "source": package.source,
        "evidenceCodes": package.evidence.iter().map(|e| e.code).collect::<Vec<_>>(),
        "why": package.why.iter().map(|path| path.join(" -> ")).collect::<Vec<_>>(),
    });
    if let Some(wheel) = &package.wheel {
        properties["wheel"] = json!(wheel);
    }
    if let Some(fix) = &package.fix {
        properties["fix"] = json!({
            "kind": fix.kind,
            "version": fix.version,
            "message": fix.message,
            "commands": fix.commands,
        });
    }
    result.insert("properties".into(), properties);
    Value::Object(result)
}

fn project_result(
    audit: &Audit,
    requirement: &ProjectRequirement,
    artifact: Option<&Value>,
) -> Value {
    let rule = Rule::ProjectNumpyCap;
    let text = format!(
        "{} requires `{}` [{}], which excludes NumPy {}: change the project's own numpy \
         requirement first",
        requirement.package, requirement.requirement, requirement.declared_in, audit.target.numpy
    );
    let logical = json!({
        "name": requirement.package,
        "fullyQualifiedName": format!("{} [{}]", requirement.package, requirement.declared_in),
    });
    let mut result = result_skeleton(rule, text, artifact, requirement.line, logical);
    let fingerprint_source = format!(
        "{}:{}:{}:{}",
        rule.slug(),
        requirement.package,
        requirement.declared_in,
        requirement.requirement
    );
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT_KEY: fnv1a64_hex(&fingerprint_source) }),
    );
    result.insert(
        "properties".into(),
        json!({
            "package": requirement.package,
            "requirement": requirement.requirement,
            "declaredIn": requirement.declared_in,
        }),
    );
    Value::Object(result)
}

fn project_code_result(root: &str, found: &ProjectCodeUse, cwd: Option<&Path>) -> Value {
    let rule = Rule::ProjectRemovedName;
    let path = Path::new(root).join(&found.file);
    let artifact = artifact_location(&path.to_string_lossy(), cwd);
    let logical = json!({ "name": found.file, "fullyQualifiedName": found.name });
    let text = format!("{}:{} {}", found.file, found.line, found.message());
    let mut result = result_skeleton(rule, text, artifact.as_ref(), Some(found.line), logical);
    // The line is left out: an edit above the use must not make it a new finding.
    let fingerprint_source = format!("{}:{}:{}", rule.slug(), found.file, found.name);
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT_KEY: fnv1a64_hex(&fingerprint_source) }),
    );
    result.insert(
        "properties".into(),
        json!({
            "name": found.name,
            "removedIn": found.removed_in,
            "replacement": found.replacement,
            "source": found.source,
            "atImport": found.at_import,
        }),
    );
    Value::Object(result)
}

/// ruleId, ruleIndex, level, message and locations: what every result has.
fn result_skeleton(
    rule: Rule,
    text: String,
    artifact: Option<&Value>,
    line: Option<usize>,
    logical: Value,
) -> Map<String, Value> {
    let mut location = Map::new();
    if let Some(artifact) = artifact {
        let mut physical = json!({ "artifactLocation": artifact });
        if let Some(line) = line.filter(|&l| l > 0) {
            physical["region"] = json!({ "startLine": line });
        }
        location.insert("physicalLocation".into(), physical);
    }
    location.insert("logicalLocations".into(), json!([logical]));

    let mut result = Map::new();
    result.insert("ruleId".into(), json!(rule.id()));
    result.insert("ruleIndex".into(), json!(rule.index()));
    result.insert("kind".into(), json!("fail"));
    result.insert("level".into(), json!(rule.level()));
    result.insert("message".into(), json!({ "text": text }));
    result.insert("locations".into(), json!([Value::Object(location)]));
    result
}

/// The lockfile as a SARIF artifactLocation: relative to `cwd` (under `%SRCROOT%`) when it is
/// inside it, else an absolute `file:` URI. `None` for standard input.
fn artifact_location(path: &str, cwd: Option<&Path>) -> Option<Value> {
    if path.is_empty() || path == "-" {
        return None;
    }
    let path = Path::new(path);
    if let Some(relative) = relative_inside(path, cwd) {
        return Some(json!({
            "uri": encode_uri_path(&relative),
            "uriBaseId": SRCROOT,
        }));
    }
    let absolute = match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let absolute = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    let mut text = slashes(&absolute);
    if !text.starts_with('/') {
        // A Windows drive path: `file:///C:/…`.
        text.insert(0, '/');
    }
    Some(json!({ "uri": format!("file://{}", encode_uri_path(&text)) }))
}

/// Percent-encodes everything but unreserved characters, `/` and the `:` of a drive letter
/// (`/C:/…`).
fn encode_uri_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut encoded = String::with_capacity(path.len());
    for (index, &byte) in bytes.iter().enumerate() {
        let drive_colon =
            byte == b':' && index == 2 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic();
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/')
            || drive_colon;
        if keep {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// FNV-1a, 64 bits, as 16 hex digits: a stable fingerprint without a hashing dependency.
fn fnv1a64_hex(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Suppression;

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64_hex(""), "cbf29ce484222325");
        assert_eq!(fnv1a64_hex("a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a64_hex("foobar"), "85944171f73967e8");
    }

    #[test]
    fn lockfile_paths_inside_the_working_directory_become_relative() {
        let cwd = Path::new("/work/repo");
        let location = |path: &str| artifact_location(path, Some(cwd)).unwrap();
        assert_eq!(
            location("/work/repo/sub/uv.lock"),
            json!({ "uri": "sub/uv.lock", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            location("uv.lock"),
            json!({ "uri": "uv.lock", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            location("./a/./b/../uv.lock"),
            json!({ "uri": "a/uv.lock", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            location("/work/repo/my dir/uv.lock"),
            json!({ "uri": "my%20dir/uv.lock", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            location("/elsewhere/uv.lock"),
            json!({ "uri": "file:///elsewhere/uv.lock" })
        );
        assert_eq!(
            location("/work/repo-other/uv.lock"),
            json!({ "uri": "file:///work/repo-other/uv.lock" })
        );
        assert_eq!(artifact_location("-", Some(cwd)), None);
    }

    #[test]
    fn every_finding_verdict_has_a_rule_and_the_rest_none() {
        for verdict in Verdict::ALL {
            let rule = Rule::for_verdict(verdict);
            assert_eq!(
                rule.is_some(),
                !matches!(verdict, Verdict::Ready | Verdict::Unaffected)
            );
            if let Some(rule) = rule {
                assert_eq!(rule.slug(), verdict.as_str());
                assert_eq!(Rule::ALL[rule.index()], rule);
            }
        }
    }

    fn report(verdict: Verdict, suppressed: Option<Suppression>) -> PackageReport {
        PackageReport {
            name: "oldcap".into(),
            version: Some("1.0.0".into()),
            verdict,
            wheel: Some("oldcap-1.0.0-py3-none-any.whl".into()),
            evidence: Vec::new(),
            why: vec![vec!["app".into(), "oldcap==1.0.0".into()]],
            why_total: 1,
            line: Some(78),
            source: "registry".into(),
            fix: None,
            suppressed,
            failed: false,
        }
    }

    #[test]
    fn suppressed_findings_stay_in_the_log_marked_external() {
        let artifact = json!({ "uri": "uv.lock", "uriBaseId": "%SRCROOT%" });
        let suppression = Suppression {
            kind: "ignore",
            reason: "waiting for upstream".into(),
            until: Some("2030-01-01".into()),
        };
        let package = report(Verdict::DeclaredBlocker, Some(suppression));
        let result = package_result(
            "2.3.5",
            None,
            &package,
            Rule::DeclaredBlocker,
            Some(&artifact),
        );
        assert_eq!(
            result["suppressions"],
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": "waiting for upstream",
                "properties": { "np2auditKind": "ignore", "until": "2030-01-01" },
            }])
        );
        assert_eq!(result["ruleId"], "NP2001");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            78
        );

        let plain = package_result(
            "2.3.5",
            None,
            &report(Verdict::DeclaredBlocker, None),
            Rule::DeclaredBlocker,
            Some(&artifact),
        );
        assert!(plain.get("suppressions").is_none());
        // Suppression does not change the finding's identity.
        assert_eq!(plain["partialFingerprints"], result["partialFingerprints"]);
    }

    #[test]
    fn without_a_lockfile_results_have_only_a_logical_location() {
        let package = report(Verdict::Unknown, None);
        let result = package_result("2.3.5", None, &package, Rule::Unknown, None);
        let location = &result["locations"][0];
        assert!(location.get("physicalLocation").is_none(), "{location}");
        assert_eq!(
            location["logicalLocations"],
            json!([{ "name": "oldcap", "fullyQualifiedName": "oldcap==1.0.0" }])
        );
        assert_eq!(result["level"], "note");
    }
}
