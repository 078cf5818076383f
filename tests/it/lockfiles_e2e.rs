//! End to end on real lockfiles: `np2audit lock` on each uv.lock under `testdata/lockfiles/`,
//! offline, against a fixture index that reproduces what live PyPI said about its packages.
//!
//! `testdata/lockfiles/make_index.py` (run by hand) audited each lock against live PyPI and wrote
//! `<lock>/index/*.toml` (the judged wheels' real names, Requires-Python, upload times and
//! Requires-Dist, with fake shared objects carrying the signature the live scan found; plus the
//! numpy releases that decide the default target) and `<lock>/expected.json` (the live report,
//! reduced). Here the offline report, reduced the same way, must equal it exactly, except for
//! the packages `expected.json` lists under `known_differences` (a live verdict a small
//! synthetic wheel cannot reproduce, with the verdict the fixture gives instead). A second run
//! with the same cache must not touch the index at all and must say the same.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{FixtureIndex, IndexOptions};

fn lock_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lockfiles")
        .join(name)
}

struct Run {
    status: i32,
    report: Value,
}

fn run_np2audit(lock: &Path, index: &FixtureIndex, cache: &Path) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_np2audit"));
    command
        .arg("lock")
        .arg(lock)
        .args(["--python-platform", "linux", "--index-url"])
        .arg(index.simple_url())
        .arg("--cache-dir")
        .arg(cache)
        .args(["--format", "json"]);
    // Nothing from the environment may redirect the run: no other index, cache or proxy.
    for variable in [
        "UV_INDEX_URL",
        "PIP_INDEX_URL",
        "NP2AUDIT_CACHE_DIR",
        "NP2AUDIT_LOG",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(variable);
    }
    let output = command.output().expect("run np2audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let status = output
        .status
        .code()
        .unwrap_or_else(|| panic!("np2audit killed by a signal; stderr:\n{stderr}"));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("np2audit exited {status} without a JSON report ({error}); stderr:\n{stderr}")
    });
    Run { status, report }
}

/// The report reduced to what `expected.json` records; mirrors `reduce_report` in
/// `testdata/lockfiles/make_index.py`.
fn reduce(report: &Value, exit_code: i32) -> Value {
    let mut packages: Vec<Value> = report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let codes: BTreeSet<&str> = package["evidence"]
                .as_array()
                .expect("evidence")
                .iter()
                .map(|evidence| evidence["code"].as_str().expect("evidence code"))
                .collect();
            let mut reduced = json!({
                "name": package["name"],
                "version": package["version"],
                "verdict": package["verdict"],
                "evidence": codes,
                "why": package["why"].get(0).cloned().unwrap_or_else(|| json!([])),
            });
            if let Some(fix) = package.get("fix") {
                let parents: Vec<Value> = fix["requires_parent_upgrades"]
                    .as_array()
                    .expect("parent upgrades")
                    .iter()
                    .map(|change| json!([change["package"], change["to"]]))
                    .collect();
                reduced["fix"] = json!({
                    "kind": fix["kind"],
                    "version": fix["version"],
                    "below": fix.get("below").cloned().unwrap_or(Value::Null),
                    "parents": parents,
                    "commands": fix["commands"],
                });
            }
            reduced
        })
        .collect();
    let key = |package: &Value| {
        (
            package["name"].as_str().unwrap_or_default().to_string(),
            package["version"].as_str().unwrap_or_default().to_string(),
        )
    };
    packages.sort_by_key(key);
    json!({
        "target": {
            "numpy": report["target"]["numpy"],
            "python_version": report["target"]["python_version"],
        },
        "summary": report["summary"],
        "project_requirements": report["project_requirements"],
        "exit_code": exit_code,
        "packages": packages,
        "readiness": {
            "status": report["readiness"]["status"],
            "changes": report["readiness"]["changes"]
                .as_array()
                .expect("readiness changes")
                .iter()
                .map(|change| json!([change["package"], change["from"], change["to"]]))
                .collect::<Vec<_>>(),
            "commands": report["readiness"]["commands"],
        },
        "pin": report["pin_suggestion"].get("requirement").cloned().unwrap_or(Value::Null),
    })
}

/// 1 when there are blockers (a blocking verdict, or a project requirement that excludes the
/// target), else 0.
fn exit_code_for(reduced: &Value) -> i32 {
    let summary = &reduced["summary"];
    let blockers =
        summary["declared_blocker"].as_u64().unwrap() + summary["binary_blocker"].as_u64().unwrap();
    let excluding = reduced["project_requirements"]
        .as_array()
        .unwrap()
        .iter()
        .any(|requirement| requirement["excludes_target"] == json!(true));
    i32::from(blockers > 0 || excluding)
}

/// `expected.json` with its known differences applied: what the offline run must report.
fn offline_expectation(expected: &Value) -> Value {
    let mut expectation = expected.clone();
    let differences = expectation
        .as_object_mut()
        .unwrap()
        .remove("known_differences")
        .unwrap_or_else(|| json!([]));
    for difference in differences.as_array().unwrap() {
        let (live, fixture) = (&difference["live"], &difference["fixture"]);
        let package = expectation["packages"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|package| {
                package["name"] == difference["name"] && package["version"] == difference["version"]
            })
            .unwrap_or_else(|| {
                panic!("known difference for a package not in the report: {difference}")
            });
        assert_eq!(
            package["verdict"], live["verdict"],
            "stale known difference: {difference}"
        );
        assert_eq!(
            package["evidence"], live["evidence"],
            "stale known difference: {difference}"
        );
        package["verdict"] = fixture["verdict"].clone();
        package["evidence"] = fixture["evidence"].clone();
        let count = |verdict: &Value| verdict.as_str().unwrap().replace('-', "_");
        let summary = &mut expectation["summary"];
        summary[count(&live["verdict"])] =
            json!(summary[count(&live["verdict"])].as_u64().unwrap() - 1);
        summary[count(&fixture["verdict"])] =
            json!(summary[count(&fixture["verdict"])].as_u64().unwrap() + 1);
    }
    expectation["exit_code"] = json!(exit_code_for(&expectation));
    expectation
}

/// Package-by-package differences, so a failure says which verdicts moved.
fn describe_differences(actual: &Value, expected: &Value) -> String {
    let mut lines = Vec::new();
    for key in [
        "target",
        "summary",
        "project_requirements",
        "exit_code",
        "readiness",
        "pin",
    ] {
        if actual[key] != expected[key] {
            lines.push(format!(
                "{key}: got {} expected {}",
                actual[key], expected[key]
            ));
        }
    }
    let label = |package: &Value| format!("{} {}", package["name"], package["version"]);
    let actual_packages = actual["packages"].as_array().unwrap();
    let expected_packages = expected["packages"].as_array().unwrap();
    for package in expected_packages {
        match actual_packages
            .iter()
            .find(|other| label(other) == label(package))
        {
            None => lines.push(format!("missing: {}", label(package))),
            Some(other) if other != package => {
                lines.push(format!("got {other}\n  expected {package}"))
            }
            Some(_) => {}
        }
    }
    for package in actual_packages {
        if !expected_packages
            .iter()
            .any(|other| label(other) == label(package))
        {
            lines.push(format!("unexpected: {package}"));
        }
    }
    lines.join("\n")
}

fn without_stats(report: &Value) -> Value {
    let mut report = report.clone();
    report.as_object_mut().unwrap().remove("stats");
    report
}

fn audit_lock(name: &str) {
    let dir = lock_dir(name);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("read expected.json"),
    )
    .expect("expected.json is JSON");
    let expectation = offline_expectation(&expected);

    let index = FixtureIndex::start(&dir.join("index"), IndexOptions::default());
    let cache = tempfile::tempdir().expect("cache dir");
    let lock = dir.join("uv.lock");

    let first = run_np2audit(&lock, &index, cache.path());
    assert_eq!(
        first.report["incomplete"],
        json!(false),
        "{name}: index failures: {:#}",
        first.report
    );
    let reduced = reduce(&first.report, first.status);
    assert!(
        reduced == expectation,
        "{name}: the offline report differs from expected.json (with its known differences):\n{}",
        describe_differences(&reduced, &expectation)
    );
    assert_eq!(
        first.status,
        exit_code_for(&expectation),
        "{name}: exit code"
    );
    assert!(
        index.stats().requests > 0,
        "{name}: the first run never asked the index"
    );

    // Everything is cached now: file data forever, project pages for 30 minutes.
    index.reset_stats();
    let second = run_np2audit(&lock, &index, cache.path());
    let stats = index.stats();
    assert_eq!(
        stats.requests, 0,
        "{name}: the second run asked the index: {:?}",
        stats.paths
    );
    assert_eq!(
        second.status, first.status,
        "{name}: exit code of the second run"
    );
    assert_eq!(
        without_stats(&second.report),
        without_stats(&first.report),
        "{name}: the second run's report differs"
    );
}

#[test]
fn ds2023_numpy1() {
    audit_lock("ds2023-numpy1");
}

#[test]
fn modern_numpy2() {
    audit_lock("modern-numpy2");
}

#[test]
fn markers_extras_groups() {
    audit_lock("markers-extras-groups");
}

#[test]
fn nwc_cuahsi_summer_institute_ncep() {
    audit_lock("NWC-CUAHSI-Summer-Institute__NCEP");
}
