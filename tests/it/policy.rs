//! What a team decides about findings: `--fail-on`, `--no-fail`, the configuration
//! (`np2audit.toml`, `[tool.np2audit]`) with its ignore list, and `--baseline`.

use crate::support;

use std::path::Path;

use serde_json::Value;
use support::{FixtureIndex, IndexOptions, Run, audit_lock, descriptions_dir};

/// A uv.lock whose project depends on `packages` (name, version) from the standard fixture index.
fn write_lock(dir: &Path, packages: &[(&str, &str)]) {
    let mut text = String::from("version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n\n");
    text.push_str("[[package]]\nname = \"policy-app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n");
    for (name, _) in packages {
        text.push_str(&format!("    {{ name = \"{name}\" }},\n"));
    }
    text.push_str("]\n");
    // As uv writes it: the packages that require numpy list it (here, all but numpy).
    for (name, version) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        ));
        if *name != "numpy" {
            text.push_str("dependencies = [\n    { name = \"numpy\" },\n]\n");
        }
    }
    std::fs::write(dir.join("uv.lock"), text).unwrap();
}

fn audit(index: &FixtureIndex, project: &Path, extra: &[&str]) -> Run {
    audit_lock(
        index,
        &project.join("uv.lock"),
        &project.join(".cache"),
        extra,
    )
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

#[test]
fn fail_on_chooses_which_findings_fail_the_run() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let project = tempfile::tempdir().unwrap();
    // A suspect and an unknown, no blocker.
    write_lock(
        project.path(),
        &[
            ("weakpkg", "1.2.0"),
            ("sdistonly", "0.5.0"),
            ("numpy", "1.26.4"),
        ],
    );
    let clean = audit(&index, project.path(), &[]);
    assert_eq!(clean.code, 0);
    // Standard error is a pipe here: no progress, no noise.
    assert_eq!(clean.stderr, "");
    assert_eq!(
        audit(&index, project.path(), &["--fail-on", "suspect"]).code,
        1
    );
    assert_eq!(
        audit(&index, project.path(), &["--fail-on", "declared,unknown"]).code,
        1
    );
    assert_eq!(
        audit(&index, project.path(), &["--fail-on", "declared,binary"]).code,
        0
    );
    let bad = audit(&index, project.path(), &["--fail-on", "sometimes"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("sometimes"), "{}", bad.stderr);

    // The configuration's fail-on applies; the flag overrides it.
    std::fs::write(
        project.path().join("np2audit.toml"),
        "fail-on = [\"unknown\"]\n",
    )
    .unwrap();
    assert_eq!(audit(&index, project.path(), &[]).code, 1);
    assert_eq!(
        audit(&index, project.path(), &["--fail-on", "binary"]).code,
        0
    );
}

#[test]
fn no_fail_exits_zero_with_blockers_but_not_when_the_audit_cannot_run() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let project = tempfile::tempdir().unwrap();
    write_lock(
        project.path(),
        &[("bottleneck", "1.3.7"), ("numpy", "1.26.4")],
    );
    assert_eq!(audit(&index, project.path(), &[]).code, 1);
    let run = audit(&index, project.path(), &["--no-fail", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        package(&run.json(), "bottleneck")["verdict"],
        "binary-blocker"
    );
    // Bad input is still an error.
    std::fs::write(project.path().join("uv.lock"), "version = \"x\"\n").unwrap();
    assert_eq!(audit(&index, project.path(), &["--no-fail"]).code, 2);
}

#[test]
fn ignore_entries_hide_findings_until_they_expire() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let project = tempfile::tempdir().unwrap();
    write_lock(
        project.path(),
        &[
            ("bottleneck", "1.3.7"),
            ("oldcap", "1.0.0"),
            ("numpy", "1.26.4"),
        ],
    );
    std::fs::write(
        project.path().join("pyproject.toml"),
        r#"[project]
name = "policy-app"

[tool.np2audit]
ignore = [
    { package = "Bottleneck", version = "1.3.7", reason = "replaced next sprint", until = 2999-12-31 },
    { package = "oldcap", reason = "vendored fork", until = 2001-01-01 },
    { package = "gone", reason = "removed long ago" },
]
"#,
    )
    .unwrap();
    let run = audit(&index, project.path(), &["--format", "json"]);
    // oldcap's entry expired: it is reported again, and fails the run.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        package(&report, "bottleneck")["suppressed"],
        serde_json::json!({"kind": "ignore", "reason": "replaced next sprint", "until": "2999-12-31"})
    );
    let oldcap = package(&report, "oldcap");
    assert_eq!(oldcap.get("suppressed"), None);
    let expired: Vec<&Value> = oldcap["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "ignore-expired")
        .collect();
    assert_eq!(expired.len(), 1, "{oldcap}");
    assert!(
        expired[0]["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2001-01-01")
    );
    assert!(
        expired[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("pyproject.toml:7")
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    // An entry that matches nothing is pointed out.
    assert!(
        run.stderr
            .contains("pyproject.toml:8: the ignore entry for gone matches no finding"),
        "{}",
        run.stderr
    );

    // With the expired entry gone, every remaining finding is hidden and the run passes.
    std::fs::write(
        project.path().join("np2audit.toml"),
        "ignore = [\n  { package = \"bottleneck\", reason = \"r\" },\n  { package = \"oldcap\", reason = \"r\" },\n]\n",
    )
    .unwrap();
    let table = audit(&index, project.path(), &[]);
    assert_eq!(table.code, 0, "{}", table.stdout);
    assert!(table.stdout.contains("hidden (2)"), "{}", table.stdout);
    assert!(
        !table.stdout.contains("binary-blocker (1)"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_baseline_hides_the_findings_it_already_had() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let project = tempfile::tempdir().unwrap();
    write_lock(
        project.path(),
        &[("bottleneck", "1.3.7"), ("numpy", "1.26.4")],
    );
    let baseline = project.path().join("baseline.json");
    let first = audit(
        &index,
        project.path(),
        &["--format", "json", "--output", baseline.to_str().unwrap()],
    );
    assert_eq!(first.code, 1);

    let same = audit(
        &index,
        project.path(),
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(same.code, 0, "{}", same.stdout);

    // A new finding is reported and fails; the old one stays hidden.
    write_lock(
        project.path(),
        &[
            ("bottleneck", "1.3.7"),
            ("cyold", "0.9.0"),
            ("numpy", "1.26.4"),
        ],
    );
    let run = audit(
        &index,
        project.path(),
        &["--baseline", baseline.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(
        package(&report, "bottleneck")["suppressed"]["kind"],
        "baseline"
    );
    assert_eq!(package(&report, "cyold").get("suppressed"), None);

    // Not a report: a clear error.
    std::fs::write(&baseline, "{\"packages\": 3}").unwrap();
    let bad = audit(
        &index,
        project.path(),
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("baseline.json"), "{}", bad.stderr);
}

#[test]
fn configuration_sets_the_audit_and_bad_configuration_is_an_error_with_its_line() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let project = tempfile::tempdir().unwrap();
    write_lock(
        project.path(),
        &[("bottleneck", "1.4.0"), ("numpy", "1.26.4")],
    );
    std::fs::write(
        project.path().join("np2audit.toml"),
        "target = \"2.0.0\"\npython-version = \"3.12\"\n",
    )
    .unwrap();
    let report = audit(&index, project.path(), &["--format", "json"]).json();
    assert_eq!(report["target"]["numpy"], "2.0.0");
    assert_eq!(report["target"]["python_version"], "3.12");
    // Flags win.
    let report = audit(
        &index,
        project.path(),
        &["--format", "json", "--target", "2.1.0"],
    )
    .json();
    assert_eq!(report["target"]["numpy"], "2.1.0");

    std::fs::write(
        project.path().join("np2audit.toml"),
        "\npython-version = \"three\"\n",
    )
    .unwrap();
    let bad = audit(&index, project.path(), &[]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("np2audit.toml:2: python-version"),
        "{}",
        bad.stderr
    );
}
