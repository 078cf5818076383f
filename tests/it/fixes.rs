//! Fix advice end to end against a fixture index built for it (`testdata/fixes/index/`): the
//! next release ready, a ready release its parent forbids, no ready release (the pin), a pin
//! that conflicts with a package needing NumPy 2, a newest release that regresses, and a parent
//! whose requirements cannot be read.

use crate::support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::{
    FixtureIndex, IndexOptions, Run, assert_snapshot, audit_lock, stable, write_uv_lock_tree,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn start_index() -> FixtureIndex {
    FixtureIndex::start(&repo("testdata/fixes/index"), IndexOptions::default())
}

fn audit(index: &FixtureIndex, cache: &Path, lock: &str, extra: &[&str]) -> Run {
    audit_lock(index, &repo(lock), cache, extra)
}

fn json_audit(index: &FixtureIndex, cache: &Path, lock: &str) -> Value {
    audit(index, cache, lock, &["--format", "json"]).json()
}

fn fix<'a>(report: &'a Value, name: &str) -> &'a Value {
    let package = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"));
    &package["fix"]
}

const APP: &str = "testdata/fixes/app/uv.lock";
const BROKEN: &str = "testdata/fixes/broken/uv.lock";

fn checked_versions(fix: &Value) -> Vec<(String, String, bool)> {
    fix["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["package"].as_str().unwrap().to_string(),
                c["version"].as_str().unwrap().to_string(),
                c["ready"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_next_stable_release_is_the_fix_and_yanked_or_pre_releases_are_skipped() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let report = json_audit(&index, cache.path(), APP);
    let fix = fix(&report, "nextready");
    assert_eq!(fix["kind"], "upgrade");
    assert_eq!(fix["version"], "1.1.0");
    // 1.0.5 (yanked) and 1.1.0rc1 (a pre-release) are built against 2.x but never offered.
    let checked = checked_versions(fix);
    assert!(
        checked
            .iter()
            .all(|(_, v, _)| v != "1.0.5" && v != "1.1.0rc1"),
        "{checked:?}"
    );
    // The project pins it exactly, so the project's requirement is what changes.
    assert_eq!(fix["change"]["requirement"], "nextready==1.1.0");
    assert_eq!(
        fix["change"]["project_requirement"],
        json!({"current": "nextready==1.0.0", "declared_in": "main"})
    );
    assert_eq!(fix["commands"], json!(["uv add nextready==1.1.0"]));
    assert_eq!(fix["requires_parent_upgrades"], json!([]));
}

#[test]
fn a_ready_release_the_parent_forbids_brings_the_parent_upgrade_along() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let report = json_audit(&index, cache.path(), APP);
    let fix = fix(&report, "childcap");
    assert_eq!(fix["kind"], "upgrade");
    assert_eq!(fix["version"], "2.0.0");
    let parents = fix["requires_parent_upgrades"].as_array().unwrap();
    assert_eq!(parents.len(), 1, "{parents:?}");
    assert_eq!(parents[0]["package"], "parentpin");
    assert_eq!(parents[0]["from"], "1.0.0");
    // 1.1.0 still requires childcap<2: the oldest parent that allows 2.0.0 is 1.2.0.
    assert_eq!(parents[0]["to"], "1.2.0");
    assert_eq!(
        parents[0]["reason"],
        "parentpin 1.0.0 requires `childcap>=1.0,<2`, and the tree needs childcap 2.0.0"
    );
    // 1.1.0 was judged on the way: ready itself, but it still requires childcap<2.
    assert!(
        checked_versions(fix)
            .iter()
            .any(|(package, version, _)| package == "parentpin" && version == "1.1.0"),
        "{fix:#}"
    );
    assert_eq!(
        fix["commands"],
        json!(["uv lock --upgrade-package parentpin==1.2.0 --upgrade-package childcap==2.0.0"])
    );
}

#[test]
fn a_newest_release_that_regresses_is_fenced_off() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let report = json_audit(&index, cache.path(), APP);
    let fix = fix(&report, "regress");
    assert_eq!(fix["kind"], "upgrade");
    assert_eq!(fix["version"], "1.1.0");
    assert_eq!(fix["below"], "1.3.0");
    assert_eq!(fix["change"]["requirement"], "regress>=1.1.0,<1.3.0");
    assert_eq!(
        checked_versions(fix),
        [
            ("regress".to_string(), "1.1.0".to_string(), true),
            ("regress".to_string(), "1.2.0".to_string(), true),
            ("regress".to_string(), "1.3.0".to_string(), false),
        ]
    );
    // uv moves to the exact release, so the regression is never picked.
    assert_eq!(
        fix["commands"],
        json!(["uv lock --upgrade-package regress==1.1.0"])
    );
}

#[test]
fn no_ready_release_means_a_pin_spelled_for_the_tool() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let report = json_audit(&index, cache.path(), APP);
    let fix = fix(&report, "stuck");
    assert_eq!(fix["kind"], "pin");
    assert_eq!(fix["version"], Value::Null);
    assert_eq!(
        checked_versions(fix),
        [("stuck".into(), "1.1.0".into(), false)]
    );

    let pin = &report["pin_suggestion"];
    assert_eq!(pin["requirement"], "numpy<2");
    assert_eq!(pin["required"], true);
    assert_eq!(pin["conflicts"], json!([]));
    assert_eq!(
        pin["spelling"],
        json!({
            "file": "pyproject.toml",
            "snippet": "[tool.uv]\nconstraint-dependencies = [\"numpy<2\"]\n",
            "commands": ["uv lock"],
        })
    );

    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "blocked");
    assert_eq!(readiness["blocked_by"], json!(["stuck 1.0.0"]));
    // The upgrades that exist still help; numpy is not moved while blocked.
    assert_eq!(
        readiness["commands"],
        json!([
            "uv add nextready==1.1.0",
            "uv lock --upgrade-package parentpin==1.2.0 --upgrade-package childcap==2.0.0 --upgrade-package regress==1.1.0"
        ])
    );

    let pins = audit(&index, cache.path(), APP, &["--suggest-pins"]);
    assert_eq!(pins.code, 1, "{}", pins.stderr);
    assert_eq!(
        pins.stdout,
        "# np2audit: hold numpy<2: childcap 1.0.0, nextready 1.0.0, regress 1.0.0, stuck 1.0.0 block NumPy 2.1.3 with no ready release yet; add to pyproject.toml (merge into the table if it is already there), then run: uv lock\n[tool.uv]\nconstraint-dependencies = [\"numpy<2\"]\n"
    );
}

#[test]
fn a_pin_that_breaks_a_package_needing_numpy2_is_reported_not_suggested() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let report = json_audit(&index, cache.path(), BROKEN);
    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "broken");
    assert!(
        readiness["message"]
            .as_str()
            .unwrap()
            .contains("would conflict with needsnew 1.0.0"),
        "{readiness}"
    );
    let pin = &report["pin_suggestion"];
    assert_eq!(
        pin["conflicts"],
        json!([{"package": "needsnew 1.0.0", "requirement": "numpy>=2.0"}])
    );
    assert_eq!(pin.get("spelling"), None, "no pin is offered: {pin}");

    let pins = audit(&index, cache.path(), BROKEN, &["--suggest-pins"]);
    assert_eq!(pins.code, 1);
    assert_eq!(pins.stdout, "");
    assert!(
        pins.stderr.contains("needsnew 1.0.0 requires `numpy>=2.0`"),
        "{}",
        pins.stderr
    );
}

#[test]
fn fix_advice_snapshots() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    for (lock, name) in [(APP, "fixes-app"), (BROKEN, "fixes-broken")] {
        let table = audit(&index, cache.path(), lock, &[]);
        assert_eq!(table.code, 1, "{}", table.stderr);
        assert_snapshot(&format!("{name}.table.txt"), &stable(&table.stdout, &index));
    }
    let mut report = json_audit(&index, cache.path(), APP);
    report["stats"] = Value::Null;
    let text = serde_json::to_string_pretty(&report).unwrap();
    assert_snapshot("fixes-app.json", &stable(&text, &index));
}

#[test]
fn a_second_audit_with_fixes_is_served_from_the_cache() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let first = json_audit(&index, cache.path(), APP);
    index.reset_stats();
    let second = json_audit(&index, cache.path(), APP);
    assert_eq!(index.stats().requests, 0, "{:?}", index.stats());
    assert_eq!(first["readiness"], second["readiness"]);
}

/// A parent that cannot be judged (not on the index) has requirements nobody read: the tree is
/// not taken to allow the blocker's ready release. The fix names the release, says why it
/// cannot be confirmed, and the readiness does not count it.
#[test]
fn a_parent_whose_requirements_cannot_be_read_is_not_taken_to_allow_the_fix() {
    let index = start_index();
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["mystery", "numpy"],
        &[
            ("childcap", "1.0.0", &["numpy"]),
            ("mystery", "1.0.0", &["childcap"]),
            ("numpy", "1.26.4", &[]),
        ],
    );
    let run = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    let report = run.json();
    let fix = fix(&report, "childcap");
    assert_eq!(fix["kind"], "pin", "{fix:#}");
    assert_eq!(
        fix["version"], "2.0.0",
        "the ready release is still named: {fix:#}"
    );
    let message = fix["message"].as_str().unwrap();
    assert!(
        message.contains("cannot read what mystery==1.0.0 requires"),
        "{message}"
    );
    assert!(message.contains("no project page"), "{message}");
}

/// A parent from a path source is not on the index, but the lock records what it requires:
/// that is what the plan checks.
#[test]
fn a_path_parent_is_checked_against_the_requirements_the_lock_records() {
    let index = start_index();
    let dir = tempfile::tempdir().unwrap();
    // The tree app → localparent → childcap, with localparent from a directory and the
    // requirement on childcap that uv records for it.
    let lock_with = |specifier: &str| {
        let lock = write_uv_lock_tree(
            dir.path(),
            &["localparent", "numpy"],
            &[
                ("childcap", "1.0.0", &["numpy"]),
                ("localparent", "0.3.0", &["childcap"]),
                ("numpy", "1.26.4", &[]),
            ],
        );
        let text = std::fs::read_to_string(&lock).unwrap().replace(
            "source = { registry = \"https://pypi.org/simple\" }\ndependencies = [\n    { name = \"childcap\" },\n]\n",
            &format!(
                "source = {{ directory = \"libs/localparent\" }}\ndependencies = [\n    {{ name = \"childcap\" }},\n]\n\n[package.metadata]\nrequires-dist = [{{ name = \"childcap\", specifier = \"{specifier}\" }}]\n"
            ),
        );
        assert!(text.contains("libs/localparent"));
        text
    };
    let lock = dir.path().join("uv.lock");

    std::fs::write(&lock, lock_with(">=1.0")).unwrap();
    let report = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    )
    .json();
    let allowed = fix(&report, "childcap");
    assert_eq!(allowed["kind"], "upgrade", "{allowed:#}");
    assert_eq!(allowed["version"], "2.0.0");

    std::fs::write(&lock, lock_with(">=1.0,<2")).unwrap();
    let report = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    )
    .json();
    let forbidden = fix(&report, "childcap");
    assert_eq!(forbidden["kind"], "pin", "{forbidden:#}");
    let message = forbidden["message"].as_str().unwrap();
    assert!(message.contains("localparent"), "{message}");
}

/// Issue 16: the fix skips releases that carry pybind11's run-time chooser beside 1.x import
/// code (they install and then fail at import) and names the first really 2.x-built one.
#[test]
fn releases_with_only_a_runtime_chooser_are_not_offered_as_the_fix() {
    let index = FixtureIndex::start(&support::descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_tree(
        dir.path(),
        &["tensorkit", "numpy"],
        &[
            ("numpy", "1.26.4", &[]),
            ("tensorkit", "0.1.55", &["numpy"]),
        ],
    );
    let report = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json", "--target", "2.0.2"],
    )
    .json();
    let fix = fix(&report, "tensorkit");
    assert_eq!(fix["kind"], "upgrade", "{fix:#}");
    assert_eq!(fix["version"], "0.1.62", "{fix:#}");
    let checked = checked_versions(fix);
    for version in ["0.1.59", "0.1.60", "0.1.61"] {
        assert!(
            checked
                .iter()
                .all(|(_, checked, ready)| checked != version || !ready),
            "{version} is not ready: {checked:?}"
        );
    }
}
