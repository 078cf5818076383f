//! Every report format on the same fixture audit, as golden files (`UPDATE_SNAPSHOTS=1`
//! rewrites them), and `--output`.

use crate::support;

use std::path::Path;

use support::{FixtureIndex, IndexOptions, assert_snapshot, audit_lock, descriptions_dir, stable};

fn audit(index: &FixtureIndex, cache: &Path, extra: &[&str]) -> (i32, String, String) {
    let lock =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lockfiles/fixture-project/uv.lock");
    let run = audit_lock(index, &lock, cache, extra);
    (run.code, run.stdout, run.stderr)
}

#[test]
fn every_format_has_a_golden_file() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("table", "report.table.txt"),
        ("markdown", "report.md"),
        ("sarif", "report.sarif"),
        ("github", "report.github.txt"),
    ] {
        let (code, stdout, stderr) = audit(&index, cache.path(), &["--format", format]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert_snapshot(file, &stable(&stdout, &index));
    }
}

#[test]
fn output_writes_the_report_to_a_file() {
    let index = FixtureIndex::start(&descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let (_, printed, _) = audit(&index, cache.path(), &["--format", "markdown"]);
    let file = cache.path().join("report.md");
    let (code, stdout, stderr) = audit(
        &index,
        cache.path(),
        &["--format", "markdown", "--output", file.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);

    let (code, _, stderr) = audit(
        &index,
        cache.path(),
        &["--output", "/nonexistent-dir/report.txt"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent-dir/report.txt"), "{stderr}");
}
