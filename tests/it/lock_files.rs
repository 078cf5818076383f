//! Locks that list their files (uv.lock, pylock.toml) made against the index in use: each
//! package's release is judged from the wheels the lock names, without its project page. Pages
//! are still read where the lock does not say enough or names another index, and for a
//! blocker's fix search. A lock that records every dependency also spares the metadata of
//! pure-Python packages that do not depend on numpy.

use crate::support;

use serde_json::Value;
use support::{
    FixtureIndex, IndexOptions, audit_lock, descriptions_dir, write_uv_lock, write_uv_lock_tree,
    write_uv_lock_with_files,
};

const PACKAGES: [(&str, &str); 3] = [
    ("bottleneck", "1.4.0"),
    ("numpy", "1.26.4"),
    ("pyruntime", "2.1.0"),
];

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_string(),
                package["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_lock_listing_its_wheels_needs_no_project_page_but_numpys() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let with_files = write_uv_lock_with_files(dir.path(), &index, &index.simple_url(), &PACKAGES);
    let run = audit_lock(
        &index,
        &with_files,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stats = index.stats();
    assert_eq!(stats.pages, 1, "{:?}", stats.paths);
    assert_eq!(stats.requests_to("/simple/numpy/"), 1);

    // The same verdicts as from the pages.
    let pages_dir = tempfile::tempdir().unwrap();
    let bare = write_uv_lock(pages_dir.path(), &PACKAGES);
    let from_pages = audit_lock(
        &index,
        &bare,
        &pages_dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(verdicts(&run.json()), verdicts(&from_pages.json()));
    assert_eq!(
        verdicts(&run.json()),
        [
            ("bottleneck".to_string(), "ready".to_string()),
            ("pyruntime".to_string(), "ready".to_string()),
        ]
    );

    // Warm: nothing fetched, not even a page revalidation for the listed packages.
    index.reset_stats();
    let warm = audit_lock(
        &index,
        &with_files,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(warm.code, 0, "{}", warm.stderr);
    assert_eq!(index.stats().requests, 0, "{:?}", index.stats().paths);
}

#[test]
fn a_lock_made_against_another_index_is_judged_from_this_ones_pages() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_with_files(dir.path(), &index, "https://pypi.org/simple", &PACKAGES);
    let run = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stats = index.stats();
    assert_eq!(stats.requests_to("/simple/bottleneck/"), 1);
    assert_eq!(stats.requests_to("/simple/pyruntime/"), 1);
}

#[test]
fn a_blockers_fix_search_still_reads_its_page() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock_with_files(
        dir.path(),
        &index,
        &index.simple_url(),
        &[("bottleneck", "1.3.7"), ("numpy", "1.26.4")],
    );
    let run = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let bottleneck = &report["packages"][0];
    assert_eq!(bottleneck["verdict"], "binary-blocker", "{bottleneck}");
    assert_eq!(bottleneck["fix"]["version"], "1.4.0", "{bottleneck}");
    // Judging 1.3.7 needed no page; looking for its fix did.
    assert_eq!(index.stats().requests_to("/simple/bottleneck/"), 1);
}

/// The evidence codes of one package of a JSON report.
fn evidence_codes(report: &Value, name: &str) -> Vec<String> {
    report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|package| package["name"] == name)
        .unwrap_or_else(|| panic!("{name} is reported"))["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|evidence| evidence["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_pure_package_whose_lock_entry_names_no_numpy_is_judged_without_its_metadata() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    // As uv writes it: oldcap requires numpy, purelib does not.
    let lock = write_uv_lock_tree(
        dir.path(),
        &["numpy", "oldcap", "purelib"],
        &[
            ("numpy", "1.26.4", &[]),
            ("oldcap", "1.0.0", &["numpy"]),
            ("purelib", "1.0.0", &[]),
        ],
    );
    let run = audit_lock(
        &index,
        &lock,
        &dir.path().join("cache"),
        &["--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        verdicts(&report),
        [
            ("oldcap".to_string(), "declared-blocker".to_string()),
            ("purelib".to_string(), "unaffected".to_string()),
        ]
    );
    assert_eq!(
        evidence_codes(&report, "purelib"),
        ["no-numpy-dependency", "pure-python"]
    );
    let stats = index.stats();
    assert_eq!(
        stats.requests_to("/purelib-1.0.0-py3-none-any.whl.metadata"),
        0,
        "{:?}",
        stats.paths
    );
    assert_eq!(
        stats.requests_to("/oldcap-1.0.0-py3-none-any.whl.metadata"),
        1
    );

    // A requirements file records no dependencies of its own: both are read.
    index.reset_stats();
    let requirements = dir.path().join("requirements.txt");
    std::fs::write(
        &requirements,
        "numpy==1.26.4\noldcap==1.0.0\npurelib==1.0.0\n",
    )
    .unwrap();
    let flat = audit_lock(
        &index,
        &requirements,
        &dir.path().join("cache-flat"),
        &["--format", "json"],
    );
    assert_eq!(verdicts(&flat.json()), verdicts(&report));
    assert_eq!(evidence_codes(&flat.json(), "purelib"), ["pure-python"]);
    assert_eq!(
        index
            .stats()
            .requests_to("/purelib-1.0.0-py3-none-any.whl.metadata"),
        1
    );
}

/// A requirements file that does not pin: the newest release each requirement allows is judged,
/// and the evidence says so (`unpinned`), so a reader knows the verdict is about that release.
#[test]
fn an_unpinned_requirement_is_judged_at_the_newest_release_it_allows() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let requirements = dir.path().join("requirements.txt");
    std::fs::write(&requirements, "bottleneck<1.4\nnumpy==1.26.4\n").unwrap();
    let run = audit_lock(
        &index,
        &requirements,
        &dir.path().join("cache"),
        &["--format", "json", "--target", "2.2.6", "--no-fail"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let bottleneck = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "bottleneck")
        .expect("bottleneck judged");
    assert_eq!(bottleneck["verdict"], "binary-blocker", "{bottleneck:#}");
    assert_eq!(bottleneck["version"], "1.3.7");
    let unpinned = bottleneck["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|evidence| evidence["code"] == "unpinned")
        .expect("unpinned evidence");
    let message = unpinned["message"].as_str().unwrap();
    assert!(
        message.contains("1.3.7") && message.contains("<1.4"),
        "{message}"
    );
}
