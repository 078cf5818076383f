//! The binary end to end against the fixture index: verdicts for every signature, every way
//! an index can serve metadata, the cache, offline mode, exit codes and error messages.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{FixtureIndex, IndexOptions, assert_snapshot, descriptions_dir, stable};

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn np2audit(args: &[&str], cwd: Option<&Path>) -> Outcome {
    // Never the user's cache: runs without --cache-dir get a throwaway one, removed after.
    let scratch_cache = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_np2audit"));
    command
        .args(args)
        .env_remove("UV_INDEX_URL")
        .env_remove("PIP_INDEX_URL")
        .env("NP2AUDIT_CACHE_DIR", scratch_cache.path())
        .env("NO_COLOR", "1");
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let output = command.output().expect("run np2audit");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn fixture_lock() -> String {
    repo("testdata/lockfiles/fixture-project/uv.lock")
        .display()
        .to_string()
}

/// Audit the fixture project's lock against `index` with a fresh or given cache. The lock lives
/// inside this repository, whose own Python scripts are no part of the fixture project: its
/// project code is tested on its own.
fn audit_fixture(index: &FixtureIndex, cache: &Path, extra: &[&str]) -> Outcome {
    let lock = fixture_lock();
    let url = index.simple_url();
    let cache = cache.display().to_string();
    let mut args = vec![
        "lock",
        &lock,
        "--python-platform",
        "linux",
        "--index-url",
        &url,
        "--cache-dir",
        &cache,
        "--no-project-code",
    ];
    args.extend_from_slice(extra);
    np2audit(&args, None)
}

/// `name version → verdict` for every judged package.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    let mut verdicts: Vec<(String, String)> = report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                format!(
                    "{} {}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap_or("?")
                ),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in report"))
}

fn codes(package: &Value) -> Vec<String> {
    package["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

fn expected_fixture_verdicts() -> Vec<(String, String)> {
    [
        ("bottleneck 1.3.7", "binary-blocker"),
        ("cyold 0.9.0", "binary-blocker"),
        ("localtool 0.1.0", "unknown"),
        ("oldcap 1.0.0", "declared-blocker"),
        ("plainlib 17.0.0", "binary-blocker"),
        ("pyruntime 2.1.0", "ready"),
        ("sdistonly 0.5.0", "unknown"),
        ("weakpkg 1.2.0", "suspect"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .to_vec()
}

/// Compare with a golden file; `UPDATE_SNAPSHOTS=1` rewrites it.
#[test]
fn check_tells_a_numpy1_build_from_a_numpy2_build() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let out = np2audit(
        &[
            "check",
            "bottleneck==1.3.7",
            "bottleneck==1.4.0",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_eq!(
        verdicts(&report),
        vec![
            ("bottleneck 1.3.7".into(), "binary-blocker".into()),
            ("bottleneck 1.4.0".into(), "ready".into())
        ]
    );
    // The default target: newest stable numpy admitting 3.11 (2.3.5; 2.4.0rc1 is a pre-release).
    assert_eq!(report["target"]["numpy"], "2.3.5");
    assert_eq!(report["lockfile"], Value::Null);
    let old = &report["packages"][0];
    let evidence = &old["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "numpy1-build")
        .unwrap();
    assert!(evidence["member"].as_str().unwrap().ends_with(".so"));
    assert!(
        evidence["strings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "numpy.core._multiarray_umath")
    );
}

#[test]
fn every_signature_gets_its_verdict() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let out = np2audit(
        &[
            "check",
            "cyold==0.9.0",
            "cyold==1.0.0",
            "pyruntime",
            "pylegacy==0.4.0",
            "weakpkg==1.2.0",
            "plainlib==17.0.0",
            "oldcap",
            "sdistonly==0.5.0",
            "earlybird==0.3.0",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--target",
            "2.2.6",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_eq!(
        verdicts(&report),
        [
            ("cyold 0.9.0", "binary-blocker"),
            ("cyold 1.0.0", "ready"),
            ("earlybird 0.3.0", "suspect"),
            ("oldcap 1.0.0", "declared-blocker"),
            ("plainlib 17.0.0", "binary-blocker"),
            ("pylegacy 0.4.0", "suspect"),
            ("pyruntime 2.1.0", "ready"),
            ("sdistonly 0.5.0", "unknown"),
            ("weakpkg 1.2.0", "suspect"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec()
    );
    // `oldcap` without a version is its newest release, not the yanked 0.9.0 and not 1.0.0's cap ignored.
    assert!(codes(package(&report, "oldcap")).contains(&"numpy-cap".to_string()));
    assert!(codes(package(&report, "pyruntime")).contains(&"runtime-lookup".to_string()));
    assert!(codes(package(&report, "pylegacy")).contains(&"legacy-lookup".to_string()));
    assert!(codes(package(&report, "weakpkg")).contains(&"weak-trace".to_string()));
    assert!(codes(package(&report, "sdistonly")).contains(&"sdist-only".to_string()));
    assert!(codes(package(&report, "earlybird")).contains(&"upload-predates-numpy2".to_string()));
    let plainlib = package(&report, "plainlib");
    let member = plainlib["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["member"].as_str())
        .unwrap();
    assert_eq!(member, "plainlib/libplain_python.so.1700");
    // A sdist-only package is unknown but not an index failure.
    assert_eq!(report["incomplete"], false);
}

/// Issue 16: a bare `numpy._core` (pybind11 2.12's run-time chooser) is no 2.x build, and one
/// 1.x-built object makes a wheel a blocker whatever the others show.
#[test]
fn a_runtime_chooser_is_no_2x_build_and_the_worst_object_decides() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let out = np2audit(
        &[
            "check",
            "tensorkit==0.1.55",
            "tensorkit==0.1.59",
            "tensorkit==0.1.61",
            "tensorkit==0.1.62",
            "pyruntime==2.1.0",
            "pylegacy==0.4.0",
            "mixedbuild==3.0.0",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--target",
            "2.0.2",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_eq!(
        verdicts(&report),
        [
            ("mixedbuild 3.0.0", "binary-blocker"),
            ("pylegacy 0.4.0", "suspect"),
            ("pyruntime 2.1.0", "ready"),
            ("tensorkit 0.1.55", "binary-blocker"),
            ("tensorkit 0.1.59", "binary-blocker"),
            ("tensorkit 0.1.61", "binary-blocker"),
            ("tensorkit 0.1.62", "ready"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec()
    );
    let evidence = |name: &str, version: &str, code: &str| -> Value {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name && p["version"] == version)
            .and_then(|p| {
                p["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["code"] == code)
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no {code} evidence for {name} {version}"))
    };
    let strings = |evidence: &Value| -> Vec<String> {
        evidence["strings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };

    // The chooser beside 1.x import code: the evidence names both, and says which decided.
    let blocked = evidence("tensorkit", "0.1.59", "numpy1-build");
    let found = strings(&blocked);
    for string in [
        "numpy.core._multiarray_umath",
        "numpy._core",
        "NumpyVersion",
    ] {
        assert!(found.iter().any(|s| s == string), "{string}: {found:?}");
    }
    assert!(!found.iter().any(|s| s == "numpy._core._multiarray_umath"));
    let message = blocked["message"].as_str().unwrap();
    assert!(
        message.contains("no NumPy 2 import string")
            && message
                .contains("`numpy._core`, `NumpyVersion` belong to a run-time module chooser"),
        "{message}"
    );

    // The chooser beside 2.x import code: the 2.x import string decides, and is the one named.
    let ready = evidence("tensorkit", "0.1.62", "numpy2-build");
    assert!(strings(&ready).contains(&"numpy._core._multiarray_umath".to_string()));
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("(has `numpy._core._multiarray_umath`)"),
        "{ready}"
    );

    // The chooser alone looks NumPy up at run time.
    let lookup = evidence("pyruntime", "2.1.0", "runtime-lookup");
    assert!(
        lookup["message"]
            .as_str()
            .unwrap()
            .contains("the chooser of pybind11 2.12+"),
        "{lookup}"
    );
    assert!(
        !codes(package(&report, "pyruntime")).contains(&"numpy2-build".to_string()),
        "a chooser alone is no 2.x build"
    );
    // A lookup without the chooser keeps 1.x's layout: suspect, with the evidence to say why.
    let legacy = evidence("pylegacy", "0.4.0", "legacy-lookup");
    assert!(
        legacy["message"]
            .as_str()
            .unwrap()
            .contains("no version choice"),
        "{legacy}"
    );

    // Two builds in one wheel: the 1.x-built vendored module decides though the other is 2.x.
    let mixed = evidence("mixedbuild", "3.0.0", "numpy1-build");
    assert_eq!(
        mixed["member"],
        "mixedbuild/_vendor/_legacy.cpython-311-x86_64-linux-gnu.so"
    );
}

#[test]
fn lock_report_snapshots() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let table = audit_fixture(&index, cache.path(), &[]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert_snapshot("fixture-project.table.txt", &stable(&table.stdout, &index));

    let json = audit_fixture(&index, cache.path(), &["--format", "json"]);
    assert_eq!(json.code, 1);
    let mut report = json.json();
    assert_eq!(verdicts(&report), expected_fixture_verdicts());
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["target"]["numpy"], "2.3.5");
    assert_eq!(report["target"]["python_version"], "3.11");
    assert_eq!(report["lockfile"]["format"], "uv.lock");
    assert_eq!(report["locked_numpy"], serde_json::json!(["1.26.4"]));
    assert_eq!(report["project_requirements"][0]["requirement"], "numpy<2");
    assert_eq!(report["project_requirements"][0]["excludes_target"], true);
    assert_eq!(
        report["not_in_environment"],
        serde_json::json!(["colorama==0.4.6"])
    );
    assert_eq!(report["summary"]["not_in_environment"], 1);
    // Why-paths go through extras and groups of the project.
    assert_eq!(
        package(&report, "cyold")["why"],
        serde_json::json!([["fixture-app", "pyruntime==2.1.0", "cyold==0.9.0"]])
    );
    assert_eq!(
        package(&report, "weakpkg")["why"],
        serde_json::json!([["fixture-app", "weakpkg==1.2.0"]])
    );
    report["stats"] = Value::Null;
    let text = serde_json::to_string_pretty(&report).unwrap();
    assert_snapshot("fixture-project.json", &stable(&text, &index));
}

/// The same verdicts whichever way the index serves metadata and files.
#[test]
fn every_index_flavour_gives_the_same_verdicts() {
    let flavours = [
        ("json", IndexOptions::default()),
        (
            "html",
            IndexOptions {
                json: false,
                ..IndexOptions::default()
            },
        ),
        (
            "no-metadata-files",
            IndexOptions {
                core_metadata_field: false,
                metadata_files: false,
                ..IndexOptions::default()
            },
        ),
        (
            "no-ranges",
            IndexOptions {
                core_metadata_field: false,
                metadata_files: false,
                ranges: false,
                ..IndexOptions::default()
            },
        ),
    ];
    for (name, options) in flavours {
        let ranges = options.ranges;
        let metadata_files = options.metadata_files;
        let index = FixtureIndex::start(&descriptions_dir(), options);
        let cache = tempfile::tempdir().unwrap();
        let out = audit_fixture(&index, cache.path(), &["--format", "json"]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert_eq!(verdicts(&out.json()), expected_fixture_verdicts(), "{name}");
        let stats = index.stats();
        if ranges {
            // Range reads serve every wheel: no file is ever downloaded whole.
            assert_eq!(
                stats.file_requests, stats.range_requests,
                "{name}: {:?}",
                stats.paths
            );
        }
        if !metadata_files {
            assert!(stats.range_requests > 0, "{name}");
        }
    }
}

#[test]
fn second_run_makes_no_requests_and_refresh_only_revalidates_pages() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let first = audit_fixture(&index, cache.path(), &["--format", "json"]);
    assert!(index.stats().requests > 0);
    index.reset_stats();
    let second = audit_fixture(&index, cache.path(), &["--format", "json"]);
    assert_eq!(index.stats().requests, 0, "{:?}", index.stats().paths);
    let (mut a, mut b) = (first.json(), second.json());
    assert_eq!(b["stats"]["requests"], 0);
    assert!(b["stats"]["cache_hits"].as_u64().unwrap() > 0);
    a["stats"] = Value::Null;
    b["stats"] = Value::Null;
    assert_eq!(a, b);

    index.reset_stats();
    let refreshed = audit_fixture(&index, cache.path(), &["--format", "json", "--refresh"]);
    let stats = index.stats();
    assert!(stats.pages > 0);
    assert_eq!(stats.metadata, 0, "{:?}", stats.paths);
    assert_eq!(stats.file_requests, 0, "{:?}", stats.paths);
    assert_eq!(verdicts(&refreshed.json()), expected_fixture_verdicts());

    // Offline after a run: the same answer from the cache alone.
    let offline = audit_fixture(&index, cache.path(), &["--format", "json", "--offline"]);
    assert_eq!(verdicts(&offline.json()), expected_fixture_verdicts());
}

#[test]
fn offline_without_cache_is_incomplete_not_fine() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let out = np2audit(
        &[
            "check",
            "pyruntime==2.1.0",
            "--target",
            "2.2.6",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--offline",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report = out.json();
    assert_eq!(
        verdicts(&report),
        vec![("pyruntime 2.1.0".into(), "unknown".into())]
    );
    assert_eq!(codes(package(&report, "pyruntime")), vec!["offline-miss"]);
    assert_eq!(index.stats().requests, 0);
}

#[test]
fn index_down_is_incomplete_and_credentials_never_show() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://alice:hunter2@127.0.0.1:{port}/simple");
    let out = np2audit(
        &[
            "check",
            "pyruntime==2.1.0",
            "--target",
            "2.2.6",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--index-url",
            &url,
            "--cache-dir",
            &cache.path().display().to_string(),
        ],
        None,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.contains("[index-error]"), "{}", out.stdout);
    assert!(out.stdout.contains("incomplete"), "{}", out.stdout);
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    // Without --target the target itself cannot be chosen: incomplete, with advice.
    let out = np2audit(
        &[
            "check",
            "pyruntime==2.1.0",
            "--index-url",
            &url,
            "--cache-dir",
            &cache.path().display().to_string(),
        ],
        None,
    );
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("--target"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"));
}

#[test]
fn numpy2_already_locked_means_imports_fail_today() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let lock = repo("testdata/lockfiles/fixture-numpy2/uv.lock")
        .display()
        .to_string();
    let out = np2audit(
        &[
            "lock",
            &lock,
            "--python-platform",
            "linux",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["locked_numpy"], serde_json::json!(["2.2.6"]));
    let bottleneck = package(&report, "bottleneck");
    assert_eq!(bottleneck["verdict"], "binary-blocker");
    assert!(codes(bottleneck).contains(&"import-fails-today".to_string()));
    assert!(report["project_requirements"][0]["excludes_target"] == false);
}

#[test]
fn other_platforms_choose_their_own_wheels_and_markers() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().display().to_string();
    let url = index.simple_url();
    let base = [
        "--python-version",
        "3.11",
        "--index-url",
        &url,
        "--cache-dir",
        &cache,
        "--format",
        "json",
    ];
    let mut args = vec!["check", "bottleneck==1.4.0", "--python-platform", "windows"];
    args.extend_from_slice(&base);
    let report = np2audit(&args, None).json();
    assert_eq!(
        package(&report, "bottleneck")["wheel"],
        "Bottleneck-1.4.0-cp311-cp311-win_amd64.whl"
    );
    // No wheel for this platform: the closest one is judged, and the report says so.
    let mut args = vec!["check", "pyruntime==2.1.0", "--python-platform", "macos"];
    args.extend_from_slice(&base);
    let report = np2audit(&args, None).json();
    let pyruntime = package(&report, "pyruntime");
    assert!(codes(pyruntime).contains(&"closest-wheel".to_string()));
    // Clean as that wheel may be, the build this environment would make is not judged.
    assert_eq!(pyruntime["verdict"], "suspect");
    // On Windows the marker-guarded colorama is installed (and is not on this index).
    let lock = fixture_lock();
    let mut args = vec![
        "lock",
        &lock,
        "--python-platform",
        "windows",
        "--target",
        "2.2.6",
    ];
    args.extend_from_slice(&base);
    let report = np2audit(&args, None).json();
    assert_eq!(report["not_in_environment"], serde_json::json!([]));
    assert_eq!(package(&report, "colorama")["verdict"], "unknown");
    assert_eq!(codes(package(&report, "colorama")), vec!["not-on-index"]);
}

#[test]
fn bad_input_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("uv.lock");
    std::fs::write(&broken, "version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\nsource = { registry = \"https://x\" }\ndependencies = [{ name = \"missing\" }]\n").unwrap();
    let out = np2audit(&["lock", &broken.display().to_string()], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!("{}:7:", broken.display())),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    // A missing file: named once, with the reason once.
    let missing = dir.path().join("gone/requirements.txt");
    let out = np2audit(&["lock", &missing.display().to_string()], None);
    assert_eq!(out.code, 2);
    let line = out.stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with(&format!("error: {}: cannot read: ", missing.display()))
            && line.matches("os error 2").count() == 1,
        "{}",
        out.stderr
    );

    let poetry = dir.path().join("poetry.lock");
    std::fs::write(&poetry, "[[package]]\n").unwrap();
    let out = np2audit(&["lock", &poetry.display().to_string()], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(&format!("{}:1: missing `[metadata]`", poetry.display())),
        "{}",
        out.stderr
    );
    // A file of another format under a lockfile's name says what it looks like.
    let uv_content = std::fs::read(repo("testdata/lockfiles/fixture-numpy2/uv.lock")).unwrap();
    std::fs::write(&poetry, uv_content).unwrap();
    let out = np2audit(&["lock", &poetry.display().to_string()], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "{}:1: this looks like a uv.lock file, not a poetry.lock file",
            poetry.display()
        )),
        "{}",
        out.stderr
    );

    let empty = tempfile::tempdir().unwrap();
    let out = np2audit(&["lock"], Some(empty.path()));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no lockfile in the current directory"),
        "{}",
        out.stderr
    );

    let out = np2audit(
        &[
            "lock",
            &dir.path().join("absent.lock").display().to_string(),
        ],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("absent.lock"), "{}", out.stderr);

    let out = np2audit(
        &[
            "check",
            "numpy>=1",
            "--python-platform",
            "linux",
            "--target",
            "2",
        ],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("only exact `==` pins"),
        "{}",
        out.stderr
    );

    for (flag, value, message) in [
        ("--python-platform", "solaris", "unknown platform `solaris`"),
        (
            "--python-version",
            "three",
            "invalid Python version `three`",
        ),
        ("--target", "two", "`two` is not a PEP 440 version"),
    ] {
        let out = np2audit(&["check", "bottleneck", flag, value], None);
        assert_eq!(out.code, 2, "{flag}");
        assert!(out.stderr.contains(message), "{flag}: {}", out.stderr);
    }
    let out = np2audit(&["lock", "--format", "yaml"], None);
    assert_eq!(out.code, 2);
}

#[test]
fn a_cache_from_a_newer_version_does_not_stop_the_audit() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    audit_fixture(&index, cache.path(), &["--format", "json"]);
    // Pretend a newer np2audit migrated this cache further.
    let database = cache.path().join("np2audit.sqlite3");
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect({:?}); c.execute(\"INSERT INTO _sqlx_migrations VALUES (29991231000000, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)\"); c.commit()",
            database.display().to_string()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let out = audit_fixture(&index, cache.path(), &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("temporary in-memory cache"),
        "{}",
        out.stderr
    );
    assert_eq!(verdicts(&out.json()), expected_fixture_verdicts());
}

#[test]
fn lock_graph_highlights_the_blockers() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let out = audit_fixture(&index, cache.path(), &["--graph", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let graph = out.json();
    let verdict = |name: &str| {
        graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()["verdict"]
            .clone()
    };
    assert_eq!(verdict("bottleneck"), "binary-blocker");
    assert_eq!(verdict("oldcap"), "declared-blocker");
    assert_eq!(verdict("fixture-app"), Value::Null);
    // Only the edges the audited environment follows: colorama is Windows-only.
    let colorama = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "colorama")
        .unwrap()["id"]
        .clone();
    assert!(
        graph["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["to"] != colorama)
    );
    let mermaid = audit_fixture(&index, cache.path(), &["--graph", "mermaid"]);
    assert!(
        mermaid.stdout.contains("classDef blocker"),
        "{}",
        mermaid.stdout
    );
    assert!(
        mermaid
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("class ") && l.ends_with(" blocker"))
            .count()
            == 4
    );
}

#[test]
fn lockfiles_come_from_standard_input_with_their_format() {
    use std::io::Write;
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_np2audit"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lock = std::fs::read(fixture_lock()).unwrap();
        child.stdin.take().unwrap().write_all(&lock).unwrap();
        child.wait_with_output().unwrap()
    };
    let url = index.simple_url();
    let cache = cache.path().display().to_string();
    let common = [
        "--python-platform",
        "linux",
        "--index-url",
        &url,
        "--cache-dir",
        &cache,
        "--format",
        "json",
    ];
    let mut args = vec!["lock", "-", "--lock-format", "uv"];
    args.extend_from_slice(&common);
    let output = run(&args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdicts(&report), expected_fixture_verdicts());
    let mut args = vec!["lock", "-"];
    args.extend_from_slice(&common);
    let output = run(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs --lock-format"));
}

#[test]
fn a_python_outside_the_locks_requires_python_is_warned_about() {
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().display().to_string();
    let lock = fixture_lock();
    let run = |python: &str| {
        np2audit(
            &[
                "lock",
                &lock,
                "--python-version",
                python,
                "--offline",
                "--cache-dir",
                &cache,
            ],
            None,
        )
    };
    // The fixture project requires Python >= 3.11.
    let outside = run("3.10");
    assert!(
        outside
            .stderr
            .contains("CPython 3.10 is outside the requires-python of"),
        "{}",
        outside.stderr
    );
    assert!(outside.stderr.contains("`>=3.11`"), "{}", outside.stderr);
    let inside = run("3.12");
    assert!(
        !inside.stderr.contains("outside the requires-python"),
        "{}",
        inside.stderr
    );
    // Restricting the graph to that Python says the same.
    let graph = np2audit(&["graph", &lock, "--python-version", "3.10"], None);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(
        graph
            .stderr
            .contains("CPython 3.10 is outside the requires-python of"),
        "{}",
        graph.stderr
    );
}

/// Issue 18: a package's Python modules are read for names NumPy removed, and judged against
/// the target: at import a source blocker, only in functions suspect, guarded uses nothing.
#[test]
fn removed_names_in_python_modules_are_judged_against_the_target() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let url = index.simple_url();
    let cache_dir = cache.path().display().to_string();
    let check = |target: &str| -> Outcome {
        np2audit(
            &[
                "check",
                "oldnames==1.0.0",
                "oldnames==1.1.0",
                "oldnames==1.2.0",
                "oldnames==2.0.0",
                "--python-version",
                "3.11",
                "--python-platform",
                "linux",
                "--target",
                target,
                "--index-url",
                &url,
                "--cache-dir",
                &cache_dir,
                "--format",
                "json",
            ],
            None,
        )
    };
    let removed = |report: &Value, version: &str| -> Vec<(String, String, String)> {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["version"] == version)
            .unwrap()["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["code"] == "removed-name")
            .map(|e| {
                (
                    e["member"].as_str().unwrap_or_default().to_string(),
                    e["strings"][0].as_str().unwrap_or_default().to_string(),
                    e["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };

    index.reset_stats();
    let early = check("2.0.2");
    assert_eq!(early.code, 1, "{}", early.stderr);
    let early = early.json();
    assert_eq!(
        verdicts(&early),
        pairs(&[
            ("oldnames 1.0.0", "source-blocker"),
            ("oldnames 1.1.0", "suspect"),
            ("oldnames 1.2.0", "ready"),
            ("oldnames 2.0.0", "ready"),
        ])
    );
    // The use at import decides, with its place, the NumPy that removed it and the replacement.
    let blocking = removed(&early, "1.0.0");
    let (member, name, message) = &blocking[0];
    assert_eq!(
        (member.as_str(), name.as_str()),
        ("oldnames/__init__.py:5", "numpy.float_")
    );
    assert!(
        message.contains("removed in NumPy 2.0")
            && message.contains("it fails when the module is imported")
            && message.contains("`numpy.float64`"),
        "{message}"
    );
    assert!(
        blocking
            .iter()
            .any(|(member, name, message)| member == "oldnames/util.py:5"
                && name == "numpy.product"
                && message.contains("fails when called")),
        "{blocking:?}"
    );
    // Lazily imported numpy, inside functions: suspect, "fails when called"; `in1d` is still
    // there in 2.0.
    let lazy = removed(&early, "1.1.0");
    assert_eq!(
        lazy.iter()
            .map(|(m, n, _)| (m.as_str(), n.as_str()))
            .collect::<Vec<_>>(),
        [("oldnames/util.py:4", "numpy.product")],
        "{lazy:?}"
    );
    assert!(lazy[0].2.contains("fails when called"), "{lazy:?}");
    assert!(
        removed(&early, "1.2.0").is_empty(),
        "guarded uses are no uses"
    );
    // The 2 MB tests module of 1.2.0 is never fetched: only the modules the scan reads are.
    let wheel = index
        .file_bytes("oldnames-1.2.0-py3-none-any.whl")
        .unwrap()
        .len() as u64;
    assert!(wheel > 2_000_000, "{wheel}");
    assert!(
        index.stats().bytes_sent < wheel / 4,
        "{} bytes sent for a {wheel}-byte wheel",
        index.stats().bytes_sent
    );

    // The same wheels under a later target: `in1d` is gone in 2.4, and the registry decorator
    // that looks the decorated function's name up on numpy fails at import.
    let late = check("2.4.6");
    assert_eq!(late.code, 1, "{}", late.stderr);
    let late = late.json();
    assert_eq!(
        verdicts(&late),
        pairs(&[
            ("oldnames 1.0.0", "source-blocker"),
            ("oldnames 1.1.0", "suspect"),
            ("oldnames 1.2.0", "ready"),
            ("oldnames 2.0.0", "source-blocker"),
        ])
    );
    let registry = removed(&late, "2.0.0");
    let (member, name, message) = &registry[0];
    assert!(member.starts_with("oldnames/__init__.py:"), "{registry:?}");
    assert_eq!(name, "numpy.in1d");
    assert!(
        message.contains("through register()") && message.contains("`numpy.isin`"),
        "{message}"
    );
    assert!(
        removed(&late, "1.1.0")
            .iter()
            .any(|(m, n, _)| m == "oldnames/util.py:10" && n == "numpy.in1d")
    );

    // `--fail-on` without source: the source blockers no longer fail the run.
    let lenient = np2audit(
        &[
            "check",
            "oldnames==2.0.0",
            "--python-version",
            "3.11",
            "--target",
            "2.4.6",
            "--index-url",
            &url,
            "--cache-dir",
            &cache_dir,
            "--fail-on",
            "declared,binary",
        ],
        None,
    );
    assert_eq!(lenient.code, 0, "{}{}", lenient.stdout, lenient.stderr);
    assert!(
        lenient.stdout.contains("source-blocker"),
        "{}",
        lenient.stdout
    );
}

/// A project beside its lock: the fixture project's lock with its own Python code.
fn project_with_code() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    std::fs::copy(fixture_lock(), root.join("uv.lock")).unwrap();
    let files = [
        (
            "pyproject.toml",
            "[project]\nname = \"fixture-app\"\nversion = \"0.1.0\"\n",
        ),
        (".gitignore", "build/\n"),
        (
            "src/fixture_app/__init__.py",
            "import numpy as np\n\nEPS = np.finfo(np.float_).eps\n",
        ),
        (
            "src/fixture_app/stats.py",
            "import numpy as np\n\n\ndef area(y):\n    return np.product(y)\n\n\n\
             try:\n    from numpy import in1d\nexcept ImportError:\n    in1d = np.isin\n",
        ),
        (
            "tests/test_stats.py",
            "import numpy\n\n\ndef test_total():\n    assert numpy.product([2, 3]) == 6\n",
        ),
        // Ignored by .gitignore, and hidden: not the project's code.
        (
            "build/lib/generated.py",
            "import numpy as np\nX = np.float_\n",
        ),
        (".venv/lib/site.py", "import numpy as np\nX = np.float_\n"),
    ];
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    project
}

/// Issue 18: `lock` scans the project's own Python files beside `pyproject.toml` (honouring
/// `.gitignore`) and reports each use of what the target removed, in every format.
#[test]
fn the_projects_own_code_is_checked_against_the_target() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let project = project_with_code();
    let url = index.simple_url();
    let cache_dir = cache.path().display().to_string();
    let run = |extra: &[&str]| -> Outcome {
        let mut args = vec![
            "lock",
            "uv.lock",
            "--python-platform",
            "linux",
            "--index-url",
            &url,
            "--cache-dir",
            &cache_dir,
        ];
        args.extend_from_slice(extra);
        np2audit(&args, Some(project.path()))
    };
    let stable_here = |text: &str| {
        let root = std::fs::canonicalize(project.path()).unwrap();
        stable(text, &index)
            .replace(&root.display().to_string(), "<project>")
            .replace(&project.path().display().to_string(), "<project>")
    };

    let json = run(&["--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report = json.json();
    let code = &report["project_code"];
    assert_eq!(code["modules"], 3, "{code}");
    let uses: Vec<(String, u64, String, bool)> = code["uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["file"].as_str().unwrap().to_string(),
                u["line"].as_u64().unwrap(),
                u["name"].as_str().unwrap().to_string(),
                u["at_import"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        uses,
        [
            ("src/fixture_app/__init__.py", 3, "numpy.float_", true),
            ("src/fixture_app/stats.py", 5, "numpy.product", false),
            ("tests/test_stats.py", 5, "numpy.product", false),
        ]
        .map(|(f, l, n, i)| (f.to_string(), l, n.to_string(), i))
    );
    assert!(
        report["readiness"]["message"].as_str().unwrap().contains(
            "the project's own code must change too: 3 uses of names NumPy 2.3.5 removed"
        ),
        "{}",
        report["readiness"]
    );

    for (format, snapshot) in [
        ("table", "project-code.table.txt"),
        ("markdown", "project-code.md"),
        ("sarif", "project-code.sarif"),
        ("github", "project-code.github.txt"),
    ] {
        let out = run(&["--format", format]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert_snapshot(snapshot, &stable_here(&out.stdout));
    }

    // The project's code alone fails a run that fails only on source findings; the flag turns
    // the scan off.
    let source_only = run(&["--fail-on", "source"]);
    assert_eq!(source_only.code, 1, "{}", source_only.stderr);
    let off = run(&[
        "--fail-on",
        "source",
        "--no-project-code",
        "--format",
        "json",
    ]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    assert!(off.json()["project_code"].is_null());
}
