//! One universal lock judged for every environment it serves: a package 1.x-built on one
//! platform only, a dependency a marker switches on for one Python version only, default targets
//! that differ by Python version, and the merged fix.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::run::Run;
use crate::support::{self, FixtureIndex, IndexOptions};

fn index_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/matrix/index")
}

/// A uv lock for Python 3.10–3.12: `app` needs gridfast everywhere and oldpy before 3.12.
/// `supported_markers`, when given, is written as uv writes `tool.uv.environments`.
fn write_lock(dir: &Path, supported_markers: Option<&str>) -> PathBuf {
    let lock = dir.join("uv.lock");
    let supported = supported_markers
        .map(|markers| format!("supported-markers = [{markers}]\n"))
        .unwrap_or_default();
    std::fs::write(
        &lock,
        format!(
            r#"version = 1
revision = 3
requires-python = ">=3.10, <3.13"
{supported}
[[package]]
name = "app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "gridfast" }},
    {{ name = "numpy" }},
    {{ name = "oldpy", marker = "python_full_version < '3.12'" }},
]

[package.metadata]
requires-dist = [
    {{ name = "gridfast" }},
    {{ name = "numpy" }},
    {{ name = "oldpy", marker = "python_full_version < '3.12'" }},
]

[[package]]
name = "gridfast"
version = "1.0.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [
    {{ name = "numpy" }},
]

[[package]]
name = "numpy"
version = "1.26.4"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "oldpy"
version = "1.0.0"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [
    {{ name = "numpy" }},
]
"#
        ),
    )
    .unwrap();
    lock
}

fn run(index: &FixtureIndex, lock: &Path, args: &[&str]) -> Run {
    let mut all = vec![lock.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    support::run::lock_on_index(index, &lock.parent().unwrap().join("cache"), &all)
}

/// Per environment label: (readiness, target numpy, blockers).
fn matrix(report: &Value) -> Vec<(String, String, String, Vec<String>)> {
    report["summary"]["environments"]
        .as_array()
        .expect("summary.environments")
        .iter()
        .map(|line| {
            let environment = &line["environment"];
            let label = format!(
                "{} / {}",
                environment["python_platform"].as_str().unwrap(),
                environment["python_version"].as_str().unwrap()
            );
            let blockers = report["summary"]["blockers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| {
                    b["environments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e == &json!(label))
                })
                .map(|b| b["name"].as_str().unwrap().to_string())
                .collect();
            (
                label,
                line["readiness"].as_str().unwrap().to_string(),
                environment["numpy"].as_str().unwrap().to_string(),
                blockers,
            )
        })
        .collect()
}

/// The fixture index and the universal lock (with `supported_markers`, if any) in a fresh
/// directory, kept alive for the test.
fn universal(supported_markers: Option<&str>) -> (FixtureIndex, tempfile::TempDir, PathBuf) {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_lock(dir.path(), supported_markers);
    (index, dir, lock)
}

fn row(
    label: &str,
    readiness: &str,
    numpy: &str,
    blockers: &[&str],
) -> (String, String, String, Vec<String>) {
    (
        label.into(),
        readiness.into(),
        numpy.into(),
        blockers.iter().map(|b| b.to_string()).collect(),
    )
}

#[test]
fn the_matrix_judges_each_platform_and_python_the_lock_allows() {
    let (index, _dir, lock) = universal(None);
    let run = run(
        &index,
        &lock,
        &[
            "--matrix",
            "--python-platform",
            "linux,macos",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        matrix(&report),
        [
            // gridfast 1.0.0 is 1.x-built on Linux only; oldpy (numpy<2) is there before 3.12
            // only; the default target follows the Python version.
            row(
                "linux / 3.10",
                "ready-after-upgrades",
                "2.2.6",
                &["gridfast", "oldpy"]
            ),
            row(
                "linux / 3.12",
                "ready-after-upgrades",
                "2.5.5",
                &["gridfast"]
            ),
            row("macos / 3.10", "ready-after-upgrades", "2.2.6", &["oldpy"]),
            row("macos / 3.12", "ready", "2.5.5", &[]),
        ]
    );
    // Each environment's report is the single-environment one.
    let environments = report["environments"].as_array().unwrap();
    assert_eq!(environments.len(), 4);
    assert!(
        environments[3]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "oldpy"),
        "oldpy is not installed on 3.12"
    );
    assert_eq!(
        environments[3]["not_in_environment"],
        json!(["oldpy==1.0.0"])
    );

    // The merged fix: the upgrades each environment needs, numpy at the highest target, and
    // the difference named.
    let fix = &report["summary"]["fix"];
    assert_eq!(fix["status"], "ready-after-upgrades");
    let changes: Vec<(&str, &str)> = fix["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["package"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("gridfast", "1.1.0"),
            ("oldpy", "1.1.0"),
            ("numpy", "2.5.5")
        ]
    );
    let gridfast = &fix["changes"][0];
    assert_eq!(
        gridfast["environments"],
        json!(["linux / 3.10", "linux / 3.12"]),
        "{:#}",
        environments[3]["readiness"]
    );
    assert!(gridfast.get("differs").is_none());
    let numpy = &fix["changes"][2];
    assert_eq!(numpy["differs"].as_array().unwrap().len(), 4);
    // The targets differ (numpy 2.5.5 does not install on 3.10): no commands for all, but the
    // --target under which every environment can share one answer.
    assert_eq!(fix["commands"], json!([]), "{fix:#}");
    assert!(
        fix["notes"][0].as_str().unwrap().contains("--target 2.2.6"),
        "{fix:#}"
    );
}

#[test]
fn a_target_set_for_all_applies_to_every_environment() {
    let (index, _dir, lock) = universal(None);
    let run = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10,3.12",
            "--python-platform",
            "macos",
            "--target",
            "2.2.6",
            "--format",
            "json",
        ],
    );
    let report = run.json();
    assert_eq!(
        matrix(&report),
        [
            row("macos / 3.10", "ready-after-upgrades", "2.2.6", &["oldpy"]),
            row("macos / 3.12", "ready", "2.2.6", &[]),
        ]
    );
    let numpy = report["summary"]["fix"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["package"] == "numpy")
        .cloned()
        .unwrap();
    assert_eq!(numpy["to"], "2.2.6");
    assert!(numpy.get("differs").is_none(), "{numpy:#}");
    // One target for all: one set of commands.
    let commands = report["summary"]["fix"]["commands"].to_string();
    assert!(
        commands.contains("oldpy==1.1.0") && commands.contains("numpy"),
        "{commands}"
    );
}

#[test]
fn supported_markers_narrow_the_matrix_to_what_the_lock_serves() {
    let (index, _dir, lock) = universal(Some("\"sys_platform == 'darwin'\""));
    let run = run(&index, &lock, &["--matrix", "--format", "json"]);
    let report = run.json();
    let labels: Vec<String> = matrix(&report).into_iter().map(|row| row.0).collect();
    assert_eq!(labels, ["macos / 3.10", "macos / 3.12"], "{}", run.stderr);
    // Blocked by oldpy on 3.10 only: the worst environment's exit code.
    assert_eq!(run.code, 1);
}

#[test]
fn a_package_blocked_everywhere_is_named_once() {
    let (index, _dir, lock) = universal(None);
    let run = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10,3.12",
            "--python-platform",
            "linux",
        ],
    );
    assert!(
        run.stdout
            .contains("gridfast 1.0.0 binary-blocker in every environment; upgrade to 1.1.0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("oldpy 1.0.0 declared-blocker in 1 environment: linux / 3.10"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("to make every environment ready"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("environments differ: 2.2.6 in linux / 3.10, 2.5.5 in linux / 3.12"),
        "{}",
        run.stdout
    );
}

#[test]
fn matrix_golden_files() {
    let (index, dir, lock) = universal(None);
    for (format, name) in [
        ("table", "universal.table.txt"),
        ("markdown", "universal.md"),
        ("json", "universal.json"),
        ("github", "universal.github.txt"),
        ("sarif", "universal.sarif"),
    ] {
        let run = run(
            &index,
            &lock,
            &[
                "--matrix",
                "--python-platform",
                "linux,macos",
                "--format",
                format,
            ],
        );
        let text = run
            .stdout
            .replace(&dir.path().display().to_string(), "<dir>");
        let text = support::snapshots::stable(&text, &index);
        let text: String = text
            .lines()
            .filter(|line| !line.starts_with("network:"))
            .map(|line| format!("{line}\n"))
            .collect();
        support::snapshots::assert_snapshot(name, &text);
    }
}

#[test]
fn the_sarif_log_has_one_result_per_finding_naming_its_environments_and_is_valid() {
    let (index, _dir, lock) = universal(None);
    let run = run(
        &index,
        &lock,
        &[
            "--matrix",
            "--python-platform",
            "linux,macos",
            "--format",
            "sarif",
        ],
    );
    let log: Value = serde_json::from_str(&run.stdout).unwrap();
    crate::sarif_schema::assert_valid(&crate::sarif_schema::validator(), &log);
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let results = runs[0]["results"].as_array().unwrap();
    // gridfast blocks on two environments, oldpy on two: one result each.
    assert_eq!(results.len(), 2, "{:#}", runs[0]["results"]);
    let gridfast = results
        .iter()
        .find(|r| r["message"]["text"].as_str().unwrap().contains("gridfast"))
        .unwrap();
    assert_eq!(
        gridfast["properties"]["environments"],
        json!(["linux / 3.10", "linux / 3.12"])
    );
    assert!(
        gridfast["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("In linux / 3.10, linux / 3.12: ")
    );
    assert_eq!(
        runs[0]["properties"]["environments"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn a_list_of_one_is_a_matrix_of_one_and_bad_items_name_their_flag() {
    let (index, dir, lock) = universal(None);
    let one = run(
        &index,
        &lock,
        &["--python-version", "3.12,", "--python-platform", "macos"],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout.contains("=== 1 environment ==="),
        "{}",
        one.stdout
    );
    assert!(
        one.stdout.contains("  macos / 3.12  ready"),
        "{}",
        one.stdout
    );

    let bad = run(&index, &lock, &["--python-version", "3.10,3.x"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--python-version: invalid Python version `3.x`"),
        "{}",
        bad.stderr
    );
    let bad = run(&index, &lock, &["--python-platform", "linux,amiga"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--python-platform: unknown platform `amiga`"),
        "{}",
        bad.stderr
    );

    // Nothing the lock serves: an error, not an empty report.
    let darwin_only = write_lock(dir.path(), Some("\"sys_platform == 'darwin'\""));
    let none = run(
        &index,
        &darwin_only,
        &["--python-platform", "linux,windows"],
    );
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("none of the environments asked for"),
        "{}",
        none.stderr
    );
}

#[test]
fn output_dir_writes_one_report_per_environment_named_after_it() {
    let (index, dir, lock) = universal(None);
    let reports = dir.path().join("reports");
    let run = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10,3.12",
            "--python-platform",
            "macos",
            "--format",
            "json",
            "--output-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    // The lockfile's flattened path, then the environment.
    assert!(names[0].ends_with("__uv.lock.macos-3.10.json"), "{names:?}");
    assert!(names[1].ends_with("__uv.lock.macos-3.12.json"), "{names:?}");
    let one: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(&names[0])).unwrap()).unwrap();
    assert_eq!(one["target"]["python_version"], "3.10");
    assert_eq!(one["target"]["python_platform"], "macos");
}

#[test]
fn a_matrix_report_is_a_baseline_environment_by_environment() {
    let (index, dir, lock) = universal(None);
    let baseline = dir.path().join("baseline.json");
    let first = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10",
            "--python-platform",
            "linux,macos",
            "--format",
            "json",
        ],
    );
    assert_eq!(first.code, 1);
    std::fs::write(&baseline, &first.stdout).unwrap();

    // Same environments: every finding was there before.
    let again = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10",
            "--python-platform",
            "linux,macos",
            "--baseline",
            baseline.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let report = again.json();
    let lines = report["summary"]["environments"].as_array().unwrap();
    assert!(
        lines.iter().all(|line| line["exit_code"] == 0),
        "{lines:#?}"
    );

    // An environment the baseline did not judge: its findings are new.
    let wider = run(
        &index,
        &lock,
        &[
            "--python-version",
            "3.10,3.12",
            "--python-platform",
            "linux",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(wider.code, 1, "{}", wider.stdout);
    assert!(
        wider
            .stdout
            .contains("gridfast 1.0.0 binary-blocker in 1 environment: linux / 3.12"),
        "{}",
        wider.stdout
    );
}
