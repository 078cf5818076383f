//! np2audit against hostile artifacts: wheels whose zip structure lies (members outside the
//! file, wrong offsets, sizes that disagree), decompression bombs, absurd entry counts, and
//! METADATA that is huge or not UTF-8 — served by the fixture index from
//! `testdata/faults/hostile/`, each package audited next to a sound one (`plainlib`).
//!
//! Each must end in a verdict the bytes really support — `unknown` with a reason when they could
//! not be read, never `ready` or `unaffected` — within bounded memory and time, and without a
//! panic.

use crate::support;

use std::path::Path;

use support::{FixtureIndex, IndexOptions, MeasuredAudit, measured_audit, write_uv_lock};

const MEMORY_LIMIT: u64 = 100 * 1024 * 1024;

fn start() -> FixtureIndex {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/faults/hostile");
    FixtureIndex::start(&dir, IndexOptions::default())
}

type Audit = MeasuredAudit;

/// Audit `package` 1.0.0 (with numpy and plainlib) and check what holds for every hostile case:
/// no panic, the bystander judged, memory bounded (a run that hangs is killed by the harness).
fn audit(package: &str) -> Audit {
    let index = start();
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock(
        dir.path(),
        &[
            ("numpy", "1.26.4"),
            ("plainlib", "3.1.0"),
            (package, "1.0.0"),
        ],
    );
    let audit = measured_audit(&index.simple_url(), &lock, &dir.path().join("cache"), &[]);
    let run = &audit.run;
    eprintln!(
        "{package}: exit {}, {:?}, peak RSS {} MiB, {} bytes from the index",
        run.code,
        run.wall,
        run.peak_rss >> 20,
        index.stats().bytes_sent
    );
    assert_eq!(
        audit.verdict("plainlib"),
        "unaffected",
        "{}",
        audit.run.stdout
    );
    assert!(
        audit.run.peak_rss < MEMORY_LIMIT,
        "{package}: peak RSS {} MiB",
        audit.run.peak_rss >> 20
    );
    audit
}

/// `package` is unknown, with evidence for it that says `reason`; the audit itself completed.
fn assert_unknown(package: &str, reason: &str) -> Audit {
    let audit = audit(package);
    assert_eq!(
        audit.verdict(package),
        "unknown",
        "{}",
        audit.evidence(package)
    );
    let evidence = audit.evidence(package);
    assert!(
        evidence.contains(reason),
        "expected {reason:?} in:\n{evidence}"
    );
    audit
}

#[test]
fn a_directory_placing_a_member_outside_the_file_is_unknown() {
    let audit = assert_unknown("zip-outside", "runs past the central directory start");
    // Neither the metadata nor the scan could use the archive.
    let evidence = audit.evidence("zip-outside");
    assert!(evidence.contains("metadata: ") && evidence.contains("wheel scan: "));
    assert_eq!(
        audit.run.code, 0,
        "an archive that lies is reported, not a network failure"
    );
}

#[test]
fn a_directory_offset_into_a_local_header_is_unknown() {
    let audit = assert_unknown("zip-offset", "no local file header signature");
    // METADATA, which the directory places right, was read: the cap check ran.
    assert!(audit.evidence("zip-offset").contains("numpy-requirement"));
}

#[test]
fn a_directory_size_that_disagrees_with_the_local_header_is_unknown() {
    assert_unknown("zip-sizes", "deflate data ends before its final block");
}

#[test]
fn a_decompression_bomb_declared_small_stops_at_its_declared_size() {
    assert_unknown("zip-bomb", "decompresses past its 2048-byte limit");
}

/// Declared honestly as ~4 GiB, under the 2 GiB member budget the scan allows: the ratio of
/// output to input gives it away long before that budget is spent.
#[test]
fn a_decompression_bomb_declared_huge_stops_at_the_ratio_guard() {
    assert_unknown("zip-declared-bomb", "a decompression bomb");
}

#[test]
fn an_end_record_claiming_ten_million_entries_is_unknown() {
    assert_unknown(
        "zip-entry-count",
        "end record claims 10000000 entries but the",
    );
}

/// The end record claims the whole file as its directory: refused before any of it is fetched.
#[test]
fn an_end_record_claiming_the_whole_file_as_directory_is_unknown() {
    let index = start();
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock(
        dir.path(),
        &[("numpy", "1.26.4"), ("zip-directory-huge", "1.0.0")],
    );
    let audit = measured_audit(&index.simple_url(), &lock, &dir.path().join("cache"), &[]);
    assert_eq!(audit.verdict("zip-directory-huge"), "unknown");
    let evidence = audit.evidence("zip-directory-huge");
    assert!(evidence.contains("central directory claims"), "{evidence}");
    // The 24 MB wheel's tail is read, not the rest.
    let sent = index.stats().bytes_sent;
    assert!(sent < 2 * 1024 * 1024, "{sent} bytes sent");
}

#[test]
fn a_wheel_with_200_000_entries_more_is_unknown() {
    assert_unknown("zip-many-entries", "more than 200000 entries");
}

#[test]
fn oversized_metadata_files_are_refused() {
    let audit = assert_unknown("meta-oversized", "larger than the 16777216-byte limit");
    // Refused by its Content-Length, before the body.
    assert_eq!(audit.run.code, 3);
}

#[test]
fn an_oversized_metadata_member_is_refused() {
    assert_unknown(
        "meta-oversized-member",
        "decompresses past its 16777216-byte limit",
    );
}

/// A 6 MB header and a 500 KB `Requires-Dist` line are large, not wrong: the numpy cap is found.
#[test]
fn giant_headers_within_the_limit_are_read_to_the_numpy_cap() {
    for package in ["meta-giant", "meta-giant-member"] {
        let audit = audit(package);
        assert_eq!(
            audit.verdict(package),
            "declared-blocker",
            "{}",
            audit.evidence(package)
        );
        assert!(audit.evidence(package).contains("numpy<2,>=1.21"));
        assert_eq!(audit.run.code, 1);
    }
}

/// Bytes that are not UTF-8 are replaced, not fatal: the cap on numpy is still read.
#[test]
fn metadata_that_is_not_utf8_is_still_read() {
    for package in ["meta-latin1", "meta-latin1-member"] {
        let audit = audit(package);
        assert_eq!(
            audit.verdict(package),
            "declared-blocker",
            "{}",
            audit.evidence(package)
        );
        assert!(audit.evidence(package).contains("numpy<2,>=1.21"));
        assert_eq!(audit.run.code, 1);
    }
}
