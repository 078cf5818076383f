//! `np2audit env`: an installed environment judged from the files on disk, with no index at all.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::Signature;
use support::wheel_builder::shared_object_bytes;

/// Install a distribution by hand: its METADATA, RECORD and shared objects.
fn install(
    site: &Path,
    name: &str,
    version: &str,
    requires: &[&str],
    objects: &[(&str, Signature)],
) {
    let info = site.join(format!("{name}-{version}.dist-info"));
    std::fs::create_dir_all(&info).unwrap();
    let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    for requirement in requires {
        metadata.push_str(&format!("Requires-Dist: {requirement}\n"));
    }
    std::fs::write(info.join("METADATA"), metadata).unwrap();
    let mut record = String::new();
    for (path, signature) in objects {
        let file = site.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, shared_object_bytes(path, *signature, 30_000)).unwrap();
        record.push_str(&format!("{path},sha256=x,30000\n"));
    }
    record.push_str(&format!("{name}-{version}.dist-info/RECORD,,\n"));
    std::fs::write(info.join("RECORD"), record).unwrap();
}

#[test]
fn a_numpy1_build_next_to_numpy2_fails_today_offline() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("lib/python3.11/site-packages");
    install(
        &site,
        "numpy",
        "2.2.6",
        &[],
        &[(
            "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy2,
        )],
    );
    install(
        &site,
        "Bottleneck",
        "1.3.7",
        &["numpy"],
        &[(
            "bottleneck/reduce.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy1,
        )],
    );
    install(
        &site,
        "pandas",
        "2.2.3",
        &["numpy>=1.23.2", "pytz>=2020.1"],
        &[(
            "pandas/_libs/lib.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy2,
        )],
    );
    install(&site, "pytz", "2025.1", &[], &[]);
    let cache = tempfile::tempdir().unwrap();
    // No index answers on this port: any request would fail the run.
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args([
            "env",
            &site.display().to_string(),
            "--offline",
            "--python-platform",
            "linux",
            "--format",
            "json",
        ])
        .args([
            "--index-url",
            "http://127.0.0.1:9/simple",
            "--cache-dir",
            &cache.path().display().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["target"]["numpy"], "2.2.6");
    assert_eq!(report["target"]["numpy_from"], "installed");
    assert_eq!(report["target"]["python_version"], "3.11");
    assert_eq!(report["stats"]["requests"], 0);
    let package = |name: &str| {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let bottleneck = package("bottleneck");
    assert_eq!(bottleneck["verdict"], "binary-blocker");
    let codes: Vec<&str> = bottleneck["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"import-fails-today"), "{codes:?}");
    assert_eq!(package("pandas")["verdict"], "ready");
    assert_eq!(package("pytz")["verdict"], "unaffected");
    // Edges come from the installed metadata: pytz is there because pandas needs it.
    assert_eq!(
        package("pytz")["why"],
        serde_json::json!([["environment", "pandas==2.2.3", "pytz==2025.1"]])
    );
}

#[test]
fn not_an_environment_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args(["env", &dir.path().display().to_string(), "--offline"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("neither a site-packages directory"),
        "{stderr}"
    );
}

/// Issue 17: a distribution installed from an index (no `direct_url.json`) is an index package:
/// its fix is resolved like a locked one's and spelled for pip; one installed from a directory
/// (PEP 610 `dir_info`) keeps that source and gets no upgrade.
#[test]
fn distributions_installed_from_an_index_are_resolved_like_locked_ones() {
    let index = support::FixtureIndex::start(
        &support::descriptions_dir(),
        support::IndexOptions::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("lib/python3.11/site-packages");
    install(
        &site,
        "numpy",
        "1.26.4",
        &[],
        &[(
            "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy1,
        )],
    );
    install(
        &site,
        "Bottleneck",
        "1.3.7",
        &["numpy"],
        &[(
            "bottleneck/reduce.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy1,
        )],
    );
    install(
        &site,
        "localext",
        "0.1.0",
        &["numpy"],
        &[(
            "localext/_ext.cpython-311-x86_64-linux-gnu.so",
            Signature::Numpy2,
        )],
    );
    std::fs::write(
        site.join("localext-0.1.0.dist-info/direct_url.json"),
        r#"{"url": "file:///src/localext", "dir_info": {"editable": true}}"#,
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args([
            "env",
            &site.display().to_string(),
            "--python-platform",
            "linux",
            "--python-version",
            "3.11",
            "--target",
            "2.3.5",
            "--format",
            "json",
            "--index-url",
            &index.simple_url(),
            "--cache-dir",
            &cache.path().display().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let package = |name: &str| {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let bottleneck = package("bottleneck");
    assert_eq!(bottleneck["source"], "registry", "{bottleneck:#}");
    assert_eq!(bottleneck["fix"]["kind"], "upgrade", "{bottleneck:#}");
    assert_eq!(bottleneck["fix"]["version"], "1.4.0");
    assert_eq!(
        bottleneck["fix"]["commands"],
        serde_json::json!(["pip install bottleneck==1.4.0"])
    );
    assert_eq!(package("localext")["source"], "editable");
    // The editable distribution is judged from its files, which are 2.x-built: it stays.
    assert_eq!(package("localext")["verdict"], "ready");
    let readiness = &report["readiness"];
    assert_eq!(readiness["status"], "ready-after-upgrades", "{readiness:#}");
    assert!(
        readiness["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("bottleneck==1.4.0")),
        "{readiness:#}"
    );
}
