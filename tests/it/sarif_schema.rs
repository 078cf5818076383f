//! `--format sarif` against the official SARIF 2.1.0 JSON schema (vendored in
//! `testdata/sarif/`), on the fixture project and on the fix-advice fixtures: valid, a result
//! per finding at the package's line, stable fingerprints, consistent rule references.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{FixtureIndex, IndexOptions, audit_lock, descriptions_dir};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

const FIXTURE_LOCK: &str = "testdata/lockfiles/fixture-project/uv.lock";
const FIXES_LOCK: &str = "testdata/fixes/app/uv.lock";

fn audit(index: &FixtureIndex, cache: &Path, lock: &str, extra: &[&str]) -> (i32, String, String) {
    let run = audit_lock(index, &repo(lock), cache, extra);
    (run.code, run.stdout, run.stderr)
}

fn audit_json(index: &FixtureIndex, cache: &Path, lock: &str, format: &str) -> Value {
    let (code, stdout, stderr) = audit(index, cache, lock, &["--format", format]);
    assert!(code == 0 || code == 1, "{format}: exit {code}\n{stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{format} output is not JSON ({e}):\n{stdout}\n{stderr}"))
}

/// The `language` pattern of the official schema has a stray `]`: ECMA-262 reads it as a
/// literal, but it is not a valid `regex` format, so the draft-07 meta-schema check rejects the
/// whole schema. As an ECMA regex it means `^[a-zA-Z]{2}` (its first alternative matches
/// everything the second does), so that is what it is replaced with, in memory only.
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
const LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}";

fn repair_patterns(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "pattern" && child == BROKEN_LANGUAGE_PATTERN {
                    *child = json!(LANGUAGE_PATTERN);
                } else {
                    repair_patterns(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(repair_patterns),
        _ => {}
    }
}

pub(crate) fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo("testdata/sarif/sarif-schema-2.1.0.json"))
        .expect("read the vendored SARIF schema");
    let mut schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    repair_patterns(&mut schema);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator
        .iter_errors(log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

pub(crate) fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors = schema_errors(validator, log);
    assert!(
        errors.is_empty(),
        "{} schema violation(s):\n{}\n\nlog:\n{}",
        errors.len(),
        errors.join("\n"),
        serde_json::to_string_pretty(log).unwrap()
    );
}

fn run(log: &Value) -> &Value {
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    &runs[0]
}

fn results(log: &Value) -> &Vec<Value> {
    run(log)["results"].as_array().expect("results")
}

fn fingerprint(result: &Value) -> String {
    result["partialFingerprints"]["np2audit/v1"]
        .as_str()
        .unwrap_or_else(|| panic!("no np2audit/v1 fingerprint: {result}"))
        .to_string()
}

/// The package (or project) a result is about, from its logical location.
fn subject(result: &Value) -> String {
    result["locations"][0]["logicalLocations"][0]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("no logical location: {result}"))
        .to_string()
}

/// Every result's ruleId names a rule, ruleIndex points at that same rule, and the result's
/// level is the rule's default.
fn assert_rules_consistent(log: &Value) {
    let rules = run(log)["tool"]["driver"]["rules"]
        .as_array()
        .expect("driver rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "rule ids are unique: {ids:?}");
    for rule in rules {
        for field in ["name", "shortDescription", "fullDescription", "help"] {
            assert!(rule.get(field).is_some(), "rule without {field}: {rule}");
        }
        assert!(rule["help"]["markdown"].is_string(), "{rule}");
        assert!(
            !rule["properties"]["tags"].as_array().unwrap().is_empty(),
            "{rule}"
        );
    }
    for result in results(log) {
        let id = result["ruleId"].as_str().expect("ruleId");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert!(index < rules.len(), "ruleIndex out of range: {result}");
        assert_eq!(rules[index]["id"], id, "ruleIndex and ruleId disagree");
        assert_eq!(
            result["level"], rules[index]["defaultConfiguration"]["level"],
            "{result}"
        );
    }
}

/// Each result placed in the lockfile sits at the line `--format json` gives the package.
fn assert_lines_match(sarif: &Value, report: &Value, lock: &str) {
    let lines: BTreeMap<String, Option<u64>> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["line"].as_u64()))
        .collect();
    let project_lines: BTreeMap<String, Option<u64>> = report["project_requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["package"].as_str().unwrap().to_string(),
                r["line"].as_u64(),
            )
        })
        .collect();
    for result in results(sarif) {
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"],
            json!({ "uri": lock, "uriBaseId": "%SRCROOT%" }),
            "{result}"
        );
        let name = subject(result);
        let expected = if result["ruleId"] == "NP2005" {
            project_lines[&name]
        } else {
            lines
                .get(&name)
                .copied()
                .unwrap_or_else(|| panic!("{name} is not in the JSON report"))
        };
        match expected {
            Some(line) => assert_eq!(physical["region"]["startLine"], line, "{name}"),
            None => assert!(physical.get("region").is_none(), "{name}: {result}"),
        }
    }
}

/// The rule (by slug) each package's result carries.
fn verdicts(log: &Value) -> BTreeMap<String, String> {
    let rules = run(log)["tool"]["driver"]["rules"].as_array().unwrap();
    results(log)
        .iter()
        .map(|result| {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            let verdict = rules[index]["properties"]["verdict"]
                .as_str()
                .unwrap()
                .to_string();
            (subject(result), verdict)
        })
        .collect()
}

#[test]
fn fixture_project_sarif_is_valid_and_tracks_every_finding() {
    let validator = validator();
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let report = audit_json(&index, cache.path(), FIXTURE_LOCK, "json");
    let first = audit_json(&index, cache.path(), FIXTURE_LOCK, "sarif");
    assert_valid(&validator, &first);

    assert_eq!(first["version"], "2.1.0");
    let driver = &run(&first)["tool"]["driver"];
    assert_eq!(driver["name"], "np2audit");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_rules_consistent(&first);
    assert_lines_match(&first, &report, FIXTURE_LOCK);

    let verdicts = verdicts(&first);
    for (name, verdict) in [
        ("oldcap", "declared-blocker"),
        ("bottleneck", "binary-blocker"),
        ("cyold", "binary-blocker"),
        ("plainlib", "binary-blocker"),
        ("weakpkg", "suspect"),
        ("sdistonly", "unknown"),
        ("localtool", "unknown"),
        ("fixture-app", "project-numpy-cap"),
    ] {
        assert_eq!(
            verdicts.get(name).map(String::as_str),
            Some(verdict),
            "{name}: {verdicts:?}"
        );
    }
    // Ready and unaffected packages are not findings.
    assert!(!verdicts.contains_key("pyruntime"), "{verdicts:?}");
    assert_eq!(
        results(&first).len(),
        verdicts.len(),
        "one result per subject"
    );

    let bottleneck = results(&first)
        .iter()
        .find(|r| subject(r) == "bottleneck")
        .unwrap();
    let text = bottleneck["message"]["text"].as_str().unwrap();
    for part in [
        "bottleneck==1.3.7",
        "binary-blocker",
        "NumPy 1.x C-API",
        "upgrade bottleneck 1.3.7 → 1.4.0",
        "uv add bottleneck==1.4.0",
    ] {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }

    let properties = &run(&first)["properties"];
    assert_eq!(
        properties["readiness"]["status"],
        report["readiness"]["status"]
    );
    assert_eq!(
        properties["readiness"]["message"],
        report["readiness"]["message"]
    );
    assert_eq!(properties["target"]["numpy"], report["target"]["numpy"]);

    // Fingerprints: one per finding, and the same on a second run from the cache.
    let fingerprints: Vec<String> = results(&first).iter().map(fingerprint).collect();
    let distinct: BTreeSet<&String> = fingerprints.iter().collect();
    assert_eq!(distinct.len(), fingerprints.len(), "{fingerprints:?}");
    let second = audit_json(&index, cache.path(), FIXTURE_LOCK, "sarif");
    assert_valid(&validator, &second);
    let again: Vec<String> = results(&second).iter().map(fingerprint).collect();
    assert_eq!(fingerprints, again);
    assert_eq!(first, second, "the log is deterministic");
}

#[test]
fn fixes_app_sarif_is_valid() {
    let validator = validator();
    let index = FixtureIndex::start(&repo("testdata/fixes/index"), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let report = audit_json(&index, cache.path(), FIXES_LOCK, "json");
    let log = audit_json(&index, cache.path(), FIXES_LOCK, "sarif");
    assert_valid(&validator, &log);
    assert_rules_consistent(&log);
    assert_lines_match(&log, &report, FIXES_LOCK);

    let verdicts = verdicts(&log);
    let expected: BTreeMap<String, String> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !matches!(p["verdict"].as_str(), Some("ready" | "unaffected")))
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(expected.contains_key("childcap"), "{expected:?}");
    assert_eq!(verdicts, expected);

    // A fix that needs a parent upgrade first says so.
    let childcap = results(&log)
        .iter()
        .find(|r| subject(r) == "childcap")
        .unwrap();
    let text = childcap["message"]["text"].as_str().unwrap();
    assert!(text.contains("parentpin"), "{text}");
}

/// The validator is not vacuous: it rejects logs that break the schema.
#[test]
fn the_schema_rejects_broken_logs() {
    let validator = validator();
    let valid = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "np2audit" } },
            "results": [{
                "ruleId": "NP2001",
                "level": "error",
                "message": { "text": "x" },
            }],
        }],
    });
    assert_valid(&validator, &valid);
    for (pointer, broken) in [
        ("/version", json!("2.0.0")),
        ("/runs/0/results/0/level", json!("fatal")),
        ("/runs/0/results/0/message", json!("x")),
        ("/runs/0/results/0/partialFingerprints", json!({ "a": 1 })),
        ("/runs/0/tool/driver/bogus", json!(true)),
    ] {
        let mut log = valid.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        log.pointer_mut(parent).unwrap()[key] = broken;
        assert!(
            !schema_errors(&validator, &log).is_empty(),
            "{pointer} should be rejected"
        );
    }
}

/// `check` audits no lockfile: results have only a logical location, and are still valid.
#[test]
fn check_sarif_has_logical_locations_only() {
    let validator = validator();
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args([
            "check",
            "bottleneck==1.3.7",
            "oldcap",
            "sdistonly==0.5.0",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--index-url",
            &index.simple_url(),
            "--format",
            "sarif",
        ])
        .arg("--cache-dir")
        .arg(cache.path())
        .env_remove("UV_INDEX_URL")
        .env_remove("PIP_INDEX_URL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run np2audit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_valid(&validator, &log);
    assert_rules_consistent(&log);
    assert!(run(&log).get("artifacts").is_none());
    let verdicts = verdicts(&log);
    assert_eq!(
        verdicts,
        BTreeMap::from([
            ("bottleneck".to_string(), "binary-blocker".to_string()),
            ("oldcap".to_string(), "declared-blocker".to_string()),
            ("sdistonly".to_string(), "unknown".to_string()),
        ])
    );
    for result in results(&log) {
        let location = &result["locations"][0];
        assert!(location.get("physicalLocation").is_none(), "{result}");
        assert!(location["logicalLocations"][0]["fullyQualifiedName"].is_string());
    }
}

/// Several lockfiles: one run each, valid, each run the same as that lockfile's own log but for
/// its own category; a lockfile that cannot be read is a run with a failed invocation.
#[test]
fn several_lockfiles_give_one_valid_run_each() {
    let validator = validator();
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let broken = scratch.path().join("poetry.lock");
    std::fs::write(&broken, "[[package]\n").unwrap();
    const OTHER: &str = "testdata/multi/web/poetry.lock";
    let (code, stdout, stderr) = audit(
        &index,
        cache.path(),
        FIXTURE_LOCK,
        &[OTHER, broken.to_str().unwrap(), "--format", "sarif"],
    );
    assert_eq!(code, 2, "{stderr}");
    let log: Value = serde_json::from_str(&stdout).unwrap();
    assert_valid(&validator, &log);
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let categories: Vec<&str> = runs
        .iter()
        .map(|r| r["automationDetails"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            format!("np2audit/{FIXTURE_LOCK}/"),
            format!("np2audit/{OTHER}/"),
            format!("np2audit/{}/", broken.display()),
        ]
    );
    for (lock, combined_run) in [FIXTURE_LOCK, OTHER].iter().zip(runs) {
        let single = audit_json(&index, cache.path(), lock, "sarif");
        let mut combined_run = combined_run.clone();
        combined_run
            .as_object_mut()
            .unwrap()
            .remove("automationDetails");
        assert_eq!(&combined_run, run(&single), "{lock}");
    }
    let failed = &runs[2]["invocations"][0];
    assert_eq!(failed["executionSuccessful"], false);
    let notification = &failed["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error");
    assert!(
        notification["message"]["text"]
            .as_str()
            .unwrap()
            .contains("poetry.lock:1"),
        "{notification}"
    );
    assert_eq!(runs[2]["results"], json!([]));
}
