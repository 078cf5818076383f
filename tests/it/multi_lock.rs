//! Several lockfiles in one run against the fixture index: `testdata/multi/` holds a uv.lock, a
//! poetry.lock, a compiled requirements.txt and a Pipfile.lock that share packages, next to
//! folders a recursive search must skip (hidden, virtualenvs, node_modules; their "lockfiles"
//! are garbage, so reading one would show as an error).

use crate::support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{
    FixtureIndex, IndexOptions, Run, assert_snapshot, audit_lock_args, descriptions_dir, stable,
};

const TREE: &str = "testdata/multi";
/// What `--recursive testdata/multi` finds, in order.
const FOUND: [&str; 4] = [
    "testdata/multi/api/uv.lock",
    "testdata/multi/jobs/requirements.txt",
    "testdata/multi/legacy/Pipfile.lock",
    "testdata/multi/web/poetry.lock",
];

/// `np2audit lock ARGS… --python-platform linux --index-url INDEX --cache-dir CACHE
/// --no-project-code`, from the
/// repository root.
fn lock(index: &FixtureIndex, cache: &Path, args: &[&str]) -> Run {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    audit_lock_args(index, cache, &args)
}

fn start_index() -> FixtureIndex {
    FixtureIndex::start(&descriptions_dir(), IndexOptions::default())
}

/// A report with its network counters blanked: they depend on what the cache held.
fn without_stats(mut report: Value) -> Value {
    report["stats"] = Value::Null;
    if let Some(lockfiles) = report["lockfiles"].as_array_mut() {
        for lockfile in lockfiles {
            lockfile["stats"] = Value::Null;
        }
    }
    report
}

fn paths(report: &Value) -> Vec<String> {
    report["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lockfile"]["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_recursive_search_finds_the_lockfiles_in_order_and_skips_the_rest() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let run = lock(
        &index,
        cache.path(),
        &["--recursive", TREE, "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["schema_version"], 1);
    // Hidden folders, virtualenvs and node_modules hold garbage: nothing was read there.
    assert_eq!(report["errors"], json!([]));
    // requirements-dev.txt has ranges: an input, not a lock.
    assert_eq!(paths(&report), FOUND);
    let formats: Vec<&str> = report["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lockfile"]["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        ["uv.lock", "requirements.txt", "Pipfile.lock", "poetry.lock"]
    );
    // Each lockfile keeps its own settings: jobs/np2audit.toml names Python 3.11 for the
    // requirements file, which records none.
    for lockfile in report["lockfiles"].as_array().unwrap() {
        assert_eq!(lockfile["target"]["python_version"], "3.11");
    }

    let summary = &report["summary"];
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["incomplete"], false);
    // Totals add up the lockfiles' own summaries.
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for lockfile in report["lockfiles"].as_array().unwrap() {
        for (key, value) in lockfile["summary"].as_object().unwrap() {
            *totals.entry(key.clone()).or_default() += value.as_u64().unwrap();
        }
    }
    let expected: BTreeMap<String, u64> = summary["totals"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(totals, expected);
    let lines: Vec<(&str, &str, u64)> = summary["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap(),
                l["readiness"].as_str().unwrap(),
                l["exit_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (FOUND[0], "blocked", 1),
            (FOUND[1], "incomplete", 1),
            (FOUND[2], "blocked", 1),
            (FOUND[3], "ready-after-upgrades", 1),
        ]
    );
    // The blockers across lockfiles, the most widespread first, each with where it is locked.
    let blockers: Vec<(&str, &str, Vec<&str>, Value)> = summary["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap(),
                b["verdict"].as_str().unwrap(),
                b["lockfiles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap())
                    .collect(),
                b["upgrade_to"].clone(),
            )
        })
        .collect();
    assert_eq!(
        blockers,
        [
            (
                "bottleneck",
                "binary-blocker",
                vec![FOUND[0], FOUND[1], FOUND[3]],
                json!(["1.4.0"])
            ),
            (
                "oldcap",
                "declared-blocker",
                vec![FOUND[0], FOUND[2]],
                json!([])
            ),
            ("cyold", "binary-blocker", vec![FOUND[3]], json!(["1.0.0"])),
            ("plainlib", "binary-blocker", vec![FOUND[0]], json!([])),
        ]
    );
    assert_eq!(
        summary["readiness"],
        json!({"blocked": 2, "incomplete": 1, "ready-after-upgrades": 1})
    );
    // The network was shared: every lockfile reports the run's counters.
    let stats = &report["stats"];
    assert!(stats["requests"].as_u64().unwrap() > 0);
    for lockfile in report["lockfiles"].as_array().unwrap() {
        assert_eq!(&lockfile["stats"], stats);
    }
}

/// Requests per path, for the paths that name files (wheels and `.metadata`).
fn file_requests(index: &FixtureIndex) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for path in index.stats().paths {
        if path.contains("/files/") {
            *counts.entry(path).or_default() += 1;
        }
    }
    counts
}

#[test]
fn each_release_is_fetched_once_across_lockfiles() {
    // Latency makes the lockfiles' audits overlap, as they do against a real index.
    let index = FixtureIndex::start(
        &descriptions_dir(),
        IndexOptions {
            latency: Some(Duration::from_millis(15)),
            ..IndexOptions::default()
        },
    );
    // Each lockfile alone, each with a cold cache: what one lockfile costs.
    let mut single_total = 0;
    let mut most_per_path: BTreeMap<String, usize> = BTreeMap::new();
    let mut all_pages = std::collections::BTreeSet::new();
    for lockfile in FOUND {
        let cache = tempfile::tempdir().unwrap();
        index.reset_stats();
        let run = lock(&index, cache.path(), &[lockfile, "--format", "json"]);
        assert_eq!(run.code, 1, "{lockfile}: {}", run.stderr);
        let stats = index.stats();
        single_total += stats.requests;
        all_pages.extend(
            stats
                .paths
                .into_iter()
                .filter(|p| p.starts_with("/simple/")),
        );
        for (path, count) in file_requests(&index) {
            let most = most_per_path.entry(path).or_default();
            *most = (*most).max(count);
        }
    }

    let cache = tempfile::tempdir().unwrap();
    index.reset_stats();
    let run = lock(
        &index,
        cache.path(),
        &["--recursive", TREE, "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let stats = index.stats();
    // Every project page once, however many lockfiles lock the project.
    let mut pages: BTreeMap<&str, usize> = BTreeMap::new();
    for path in &stats.paths {
        if path.starts_with("/simple/") {
            *pages.entry(path.as_str()).or_default() += 1;
        }
    }
    assert!(pages.values().all(|&count| count == 1), "{pages:#?}");
    // Every wheel and metadata file no more often than one lockfile alone needs it: shared
    // releases are read once for all.
    for (path, count) in file_requests(&index) {
        let single = most_per_path.get(&path).copied().unwrap_or(0);
        assert!(
            count <= single,
            "{path}: {count} requests, one lockfile alone makes {single}"
        );
    }
    // In all, what one lockfile holding them all would cost: each page and file once.
    let union = all_pages.len() + most_per_path.values().sum::<usize>();
    assert!(
        stats.requests as usize <= union && stats.requests < single_total,
        "{} requests for all, {union} for their union, {single_total} one by one",
        stats.requests
    );
    // The report counts what the index saw.
    assert_eq!(run.json()["stats"]["requests"], stats.requests);
}

#[test]
fn output_dir_holds_each_lockfiles_own_report() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let run = lock(
        &index,
        cache.path(),
        &[
            "--recursive",
            TREE,
            "--format",
            "json",
            "--output-dir",
            out_dir,
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "testdata__multi__api__uv.lock.json",
            "testdata__multi__jobs__requirements.txt.json",
            "testdata__multi__legacy__Pipfile.lock.json",
            "testdata__multi__web__poetry.lock.json",
        ]
    );
    let combined = run.json();
    for (index_in_run, lockfile) in FOUND.iter().enumerate() {
        let name = format!("{}.json", lockfile.replace('/', "__"));
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join(&name)).unwrap())
                .unwrap();
        // What `lock PATH` alone reports (from the warm cache: only the counters differ).
        let single = lock(&index, cache.path(), &[lockfile, "--format", "json"]);
        assert_eq!(single.code, 1, "{lockfile}: {}", single.stderr);
        assert_eq!(
            without_stats(written.clone()),
            without_stats(single.json()),
            "{name}"
        );
        // And the combined report holds the same object.
        assert_eq!(
            without_stats(combined["lockfiles"][index_in_run].clone()),
            without_stats(written),
            "{name}"
        );
    }
}

#[test]
fn a_broken_lockfile_is_reported_and_the_others_are_audited() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let broken = scratch.path().join("uv.lock");
    std::fs::write(&broken, "version = 1\n[[package]\nname = \"x\"\n").unwrap();
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = lock(
        &index,
        cache.path(),
        &[
            FOUND[0],
            broken.to_str().unwrap(),
            empty.to_str().unwrap(),
            FOUND[2],
            "--format",
            "json",
        ],
    );
    // The worst outcome wins: a lockfile that cannot be read (2) outranks blockers (1).
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(paths(&report), [FOUND[0], FOUND[2]]);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0]["path"], broken.to_str().unwrap());
    assert!(
        errors[0]["message"].as_str().unwrap().contains("uv.lock:2"),
        "{}",
        errors[0]["message"]
    );
    assert_eq!(errors[0]["exit_code"], 2);
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("no lockfile in"),
        "{}",
        errors[1]["message"]
    );
    assert_eq!(report["summary"]["exit_code"], 2);
    let codes: Vec<u64> = report["summary"]["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["exit_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [1, 2, 2, 1]);

    // The table says it in place, and GitHub annotates the broken file.
    let table = lock(&index, cache.path(), &[FOUND[0], broken.to_str().unwrap()]);
    assert_eq!(table.code, 2);
    assert!(table.stdout.contains("=== 2/2 "), "{}", table.stdout);
    assert!(table.stdout.contains("error: "), "{}", table.stdout);
    let github = lock(
        &index,
        cache.path(),
        &[FOUND[0], broken.to_str().unwrap(), "--format", "github"],
    );
    assert_eq!(github.code, 2);
    let notices: Vec<&str> = github
        .stdout
        .lines()
        .filter(|l| l.starts_with("::notice title=np2audit%3A "))
        .collect();
    assert_eq!(notices.len(), 1, "{}", github.stdout);
    assert!(notices[0].contains("testdata/multi/api/uv.lock"));
    assert!(
        github
            .stdout
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("cannot audit")),
        "{}",
        github.stdout
    );
}

#[test]
fn combined_report_snapshots() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let table = lock(&index, cache.path(), &["--recursive", TREE]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert_snapshot("multi.table.txt", &stable(&table.stdout, &index));

    let markdown = lock(
        &index,
        cache.path(),
        &["--recursive", TREE, "--format", "markdown"],
    );
    assert_eq!(markdown.code, 1);
    assert_snapshot("multi.md", &stable(&markdown.stdout, &index));

    let json = lock(
        &index,
        cache.path(),
        &["--recursive", TREE, "--format", "json"],
    );
    assert_eq!(json.code, 1);
    let text = serde_json::to_string_pretty(&without_stats(json.json())).unwrap();
    assert_snapshot("multi.json", &stable(&text, &index));
}

#[test]
fn a_combined_baseline_hides_each_lockfiles_known_findings() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let baseline = scratch.path().join("baseline.json");
    let first = lock(
        &index,
        cache.path(),
        &[FOUND[0], FOUND[3], "--format", "json"],
    );
    assert_eq!(first.code, 1, "{}", first.stderr);
    std::fs::write(&baseline, &first.stdout).unwrap();
    // Another lockfile joins: its findings are new even where another lockfile had them.
    let second = lock(
        &index,
        cache.path(),
        &[
            FOUND[0],
            FOUND[1],
            FOUND[3],
            "--format",
            "json",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(second.code, 1, "{}", second.stderr);
    let report = second.json();
    let codes: Vec<u64> = report["summary"]["lockfiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["exit_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [0, 1, 0]);
    let blockers: Vec<(&str, Vec<&str>)> = report["summary"]["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap(),
                b["lockfiles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(blockers, [("bottleneck", vec![FOUND[1]])]);
}

#[test]
fn usage_errors_are_caught_before_the_network() {
    let index = start_index();
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let run = lock(
        &index,
        cache.path(),
        &["--recursive", empty.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no lockfiles under"), "{}", run.stderr);
    let run = lock(
        &index,
        cache.path(),
        &[FOUND[0], FOUND[1], "--graph", "dot"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("pass one lockfile"), "{}", run.stderr);
    let run = lock(
        &index,
        cache.path(),
        &["--recursive", TREE, "--suggest-pins"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(index.stats().requests, 0);
}
