//! Issue 17: the readiness comes from resolving a whole ready tree (`testdata/resolution/index/`):
//! a chain of parents that must move for a leaf's fix, a parent whose ready release brings a new
//! dependency that regressed, a tree with no ready release at all, a requirement that markers
//! and extras switch on, and an index that fails for the candidates (never `blocked`).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{Fault, FaultKind, FaultTarget, FixtureIndex, IndexOptions, Run, write_uv_lock_tree};

fn index_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/resolution/index")
}

/// `np2audit lock LOCK --format json` against `index`, retries shortened.
fn audit(index: &FixtureIndex, lock: &Path, extra: &[&str]) -> Value {
    let cache = lock.parent().unwrap().join("cache");
    let output = support::run::isolated(&mut Command::new(env!("CARGO_BIN_EXE_np2audit")))
        .arg("lock")
        .arg(lock)
        .args(["--index-url", &index.simple_url(), "--target", "2.1.3"])
        .args(["--python-version", "3.11", "--format", "json"])
        .arg("--cache-dir")
        .arg(&cache)
        .args(extra)
        .env("NP2AUDIT_HTTP_RETRIES", "1")
        .env("NP2AUDIT_HTTP_BACKOFF", "0.01")
        .output()
        .expect("run np2audit");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
    .json()
}

fn linux(index: &FixtureIndex, lock: &Path) -> Value {
    audit(index, lock, &["--python-platform", "linux"])
}

/// `(package, from, to)` of the readiness's changes.
fn changes(report: &Value) -> Vec<(String, Option<String>, String)> {
    report["readiness"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["package"].as_str().unwrap().to_string(),
                c["from"].as_str().map(str::to_string),
                c["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn tree_change<'a>(report: &'a Value, package: &str) -> &'a Value {
    report["readiness"]["resolution"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["package"] == package)
        .unwrap_or_else(|| panic!("{package} does not change: {report:#}"))
}

fn fix<'a>(report: &'a Value, name: &str) -> &'a Value {
    &report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))["fix"]
}

fn change(name: &str, from: &str, to: &str) -> (String, Option<String>, String) {
    (name.to_string(), Some(from.to_string()), to.to_string())
}

#[test]
fn a_leaf_whose_ready_release_needs_two_parents_to_move_is_fixed_with_them() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["toplib", "numpy"],
        &[
            ("leaflib", "1.0.0", &["numpy"]),
            ("midlib", "1.0.0", &["leaflib"]),
            ("numpy", "1.26.4", &[]),
            ("toplib", "1.0.0", &["midlib"]),
        ],
    );
    let report = linux(&index, &lock);
    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "ready-after-upgrades", "{readiness:#}");
    assert_eq!(
        changes(&report),
        [
            change("midlib", "1.0.0", "2.0.0"),
            change("toplib", "1.0.0", "2.0.0"),
            change("leaflib", "1.0.0", "2.0.0"),
            change("numpy", "1.26.4", "2.1.3"),
        ]
    );
    // Each move says what makes it: the blocker, then its parents' own requirements.
    assert_eq!(tree_change(&report, "leaflib")["reason"], "blocker");
    assert_eq!(
        tree_change(&report, "midlib")["because"],
        "midlib 1.0.0 requires `leaflib<2`, and the tree needs leaflib 2.0.0"
    );
    assert_eq!(
        tree_change(&report, "toplib")["because"],
        "toplib 1.0.0 requires `midlib<2`, and the tree needs midlib 2.0.0"
    );
    assert_eq!(
        tree_change(&report, "leaflib")["why"],
        json!(["toplib==2.0.0", "midlib==2.0.0", "leaflib==2.0.0"])
    );
    let leaf = fix(&report, "leaflib");
    assert_eq!(leaf["kind"], "upgrade");
    let parents: Vec<&str> = leaf["requires_parent_upgrades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["package"].as_str().unwrap())
        .collect();
    assert_eq!(parents, ["toplib", "midlib"]);
    assert_eq!(
        readiness["commands"],
        json!([
            "uv lock --upgrade-package midlib==2.0.0 --upgrade-package toplib==2.0.0 --upgrade-package leaflib==2.0.0 --upgrade-package numpy==2.1.3"
        ])
    );
}

#[test]
fn a_new_dependency_that_regressed_gets_its_newest_ready_release() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["framework", "numpy"],
        &[("framework", "1.0.0", &["numpy"]), ("numpy", "1.26.4", &[])],
    );
    let report = linux(&index, &lock);
    assert_eq!(
        report["readiness"]["status"], "ready-after-upgrades",
        "{:#}",
        report["readiness"]
    );
    assert_eq!(
        changes(&report),
        [
            ("helper".to_string(), None::<String>, "1.1.0".to_string()),
            change("framework", "1.0.0", "2.0.0"),
            change("numpy", "1.26.4", "2.1.3"),
        ]
    );
    let helper = tree_change(&report, "helper");
    assert_eq!(helper["reason"], "new-dependency");
    assert_eq!(helper["because"], "framework 2.0.0 requires helper>=1.0");
    // Its newest release (1.2.0) is 1.x-built: a tool left free would take it, so the change
    // holds it to the release found ready.
    let held = report["readiness"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["package"] == "helper")
        .unwrap();
    assert_eq!(held["below"], "1.2.0", "{held:#}");
    let judged: Vec<(&str, bool)> = fix(&report, "framework")["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["version"].as_str().unwrap(),
                c["ready"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(judged.contains(&("2.0.0", true)), "{judged:?}");
}

#[test]
fn a_tree_with_no_ready_release_is_blocked_and_says_why() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["capped", "framework", "numpy"],
        &[
            ("capped", "1.0.0", &["numpy"]),
            ("framework", "1.0.0", &["numpy"]),
            ("numpy", "1.26.4", &[]),
        ],
    );
    let report = linux(&index, &lock);
    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "blocked", "{readiness:#}");
    let explanation = &readiness["resolution"]["explanation"];
    assert_eq!(explanation["proven"], true);
    let message = readiness["message"].as_str().unwrap();
    for part in [
        "capped",
        "requires numpy",
        "<2",
        "the project requires capped",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(readiness["blocked_by"], json!(["capped 1.0.0"]));
    // framework can still move, with numpy where it is: an upgrade that helps now.
    let framework = fix(&report, "framework");
    assert_eq!(framework["kind"], "upgrade", "{framework:#}");
    assert_eq!(framework["version"], "2.0.0");
    assert!(
        readiness["commands"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c.as_str().unwrap().contains("numpy==")),
        "numpy stays where it is while blocked: {readiness:#}"
    );
    assert_eq!(report["pin_suggestion"]["required"], true);
}

/// A `uv.lock` where the project requires `plotkit[fast]`, and plotkit's `fast` extra brings
/// speedup on Linux only.
fn write_extras_lock(dir: &Path) -> PathBuf {
    let lock = dir.join("uv.lock");
    std::fs::write(
        &lock,
        r#"version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "numpy" },
    { name = "plotkit", extra = ["fast"] },
]

[package.metadata]
requires-dist = [
    { name = "numpy" },
    { name = "plotkit", extras = ["fast"] },
]

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "plotkit"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
fast = [
    { name = "speedup", marker = "sys_platform == 'linux'" },
]

[[package]]
name = "speedup"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "numpy" },
]
"#,
    )
    .unwrap();
    lock
}

#[test]
fn a_requirement_that_an_extra_and_a_marker_switch_on_is_resolved_where_it_is_on() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_extras_lock(dir.path());
    let report = linux(&index, &lock);
    assert_eq!(
        report["readiness"]["status"], "ready-after-upgrades",
        "{:#}",
        report["readiness"]
    );
    assert_eq!(
        changes(&report),
        [
            change("speedup", "1.0.0", "2.0.0"),
            change("numpy", "1.26.4", "2.1.3")
        ]
    );
    assert_eq!(
        tree_change(&report, "speedup")["why"],
        json!(["plotkit==1.0.0", "speedup==2.0.0"])
    );

    // On macOS the extra's requirement is off: nothing blocks.
    let macos = audit(&index, &lock, &["--python-platform", "macos"]);
    assert_eq!(
        macos["readiness"]["status"], "ready",
        "{:#}",
        macos["readiness"]
    );
    assert!(
        macos["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "speedup")
    );
}

#[test]
fn candidates_the_index_cannot_serve_leave_the_answer_incomplete_never_blocked() {
    let faults = ["1.1.0", "1.2.0"]
        .map(|version| {
            Fault::always(
                FaultTarget::Release("shaky".into(), version.into()),
                FaultKind::Status {
                    status: 503,
                    retry_after: None,
                },
            )
        })
        .to_vec();
    let index = FixtureIndex::start(
        &index_dir(),
        IndexOptions {
            faults,
            ..IndexOptions::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["shaky", "numpy"],
        &[("numpy", "1.26.4", &[]), ("shaky", "1.0.0", &["numpy"])],
    );
    let report = linux(&index, &lock);
    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "incomplete", "{readiness:#}");
    let explanation = &readiness["resolution"]["explanation"];
    assert_eq!(explanation["proven"], false);
    let missing = explanation["missing"].to_string();
    assert!(
        missing.contains("shaky 1.1.0") && missing.contains("503"),
        "{missing}"
    );
    let shaky = fix(&report, "shaky");
    assert_eq!(shaky["kind"], "pin");
    let message = shaky["message"].as_str().unwrap();
    assert!(
        message.contains("could be confirmed")
            && message.contains("not judged: shaky 1.1.0, 1.2.0")
            && !message.contains("none of"),
        "{message}"
    );
    // The same tree with a healthy index is ready after the upgrade.
    let healthy = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["shaky", "numpy"],
        &[("numpy", "1.26.4", &[]), ("shaky", "1.0.0", &["numpy"])],
    );
    let report = linux(&healthy, &lock);
    assert_eq!(report["readiness"]["status"], "ready-after-upgrades");
    assert_eq!(fix(&report, "shaky")["version"], "1.1.0");
}

#[test]
fn one_run_judges_each_platform_and_reports_the_matrix() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_extras_lock(dir.path());
    let report = audit(&index, &lock, &["--python-platform", "linux,macos"]);

    // Each environment's report is the one a run for it alone writes.
    let environments = report["environments"].as_array().expect("environments[]");
    assert_eq!(environments.len(), 2, "{report:#}");
    let linux = &environments[0];
    let macos = &environments[1];
    assert_eq!(linux["target"]["python_platform"], "linux");
    assert_eq!(macos["target"]["python_platform"], "macos");
    assert_eq!(linux["readiness"]["status"], "ready-after-upgrades");
    assert_eq!(macos["readiness"]["status"], "ready");
    assert_eq!(
        changes(linux),
        [
            change("speedup", "1.0.0", "2.0.0"),
            change("numpy", "1.26.4", "2.1.3")
        ]
    );

    // The summary: one line per environment, and the blocker with where it blocks.
    let summary = &report["summary"];
    let lines = summary["environments"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["environment"]["python_platform"], "linux");
    assert_eq!(lines[0]["readiness"], "ready-after-upgrades");
    assert_eq!(lines[1]["readiness"], "ready");
    let blockers = summary["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 1, "{summary:#}");
    assert_eq!(blockers[0]["name"], "speedup");
    assert_eq!(blockers[0]["environments"], json!(["linux / 3.11"]));
    assert_eq!(
        report["lockfile"]["path"].as_str().unwrap(),
        lock.display().to_string()
    );
    assert_eq!(report["lockfile"]["format"], "uv.lock");
    // The worst environment's exit code (linux has a binary blocker).
    assert_eq!(summary["exit_code"], 1);
}

#[test]
fn the_matrix_table_opens_with_every_environment_and_the_worst_exit_code_wins() {
    let index = FixtureIndex::start(&index_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_extras_lock(dir.path());
    let output = support::run::isolated(&mut Command::new(env!("CARGO_BIN_EXE_np2audit")))
        .arg("lock")
        .arg(&lock)
        .args(["--index-url", &index.simple_url(), "--target", "2.1.3"])
        .args([
            "--python-version",
            "3.11",
            "--python-platform",
            "macos,linux",
        ])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .expect("run np2audit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let matrix: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("=== 2 environments ==="))
        .skip(1)
        .take(2)
        .collect();
    assert!(matrix[0].starts_with("  macos / 3.11  ready "), "{stdout}");
    assert!(
        matrix[1].starts_with("  linux / 3.11  ready-after-upgrades")
            && matrix[1].ends_with("blocked by speedup"),
        "{stdout}"
    );
    assert!(
        stdout.contains("speedup 1.0.0 binary-blocker in 1 environment: linux / 3.11"),
        "{stdout}"
    );
    // The matrix comes before the environments' own reports.
    let matrix_at = stdout.find("=== 2 environments ===").unwrap();
    let first_report = stdout
        .find("=== 1/2 macos / 3.11 ===")
        .expect("macos report");
    assert!(matrix_at < first_report);
}

#[test]
fn a_list_of_environments_is_only_for_one_lockfile_under_lock() {
    let dir = tempfile::tempdir().unwrap();
    let output = support::run::isolated(&mut Command::new(env!("CARGO_BIN_EXE_np2audit")))
        .args([
            "check",
            "numpy==2.1.3",
            "--python-version",
            "3.10,3.12",
            "--offline",
        ])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .expect("run np2audit");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("only `np2audit lock` does"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
