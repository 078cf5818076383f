//! Locks that list their files (uv.lock, pylock.toml) made against the index in use: each
//! package's release is judged from the wheels the lock names, without its project page. Pages
//! are still read where the lock does not say enough or names another index, and for a
//! blocker's fix search.

mod support;

use serde_json::Value;
use support::{
    FixtureIndex, IndexOptions, audit_lock, descriptions_dir, write_uv_lock,
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
