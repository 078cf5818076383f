//! np2audit on a bad network: the fixture index (`testdata/faults/index/`) misbehaves for one
//! package, `victim`, in one way per test — error statuses, stalls, resets, truncated and
//! oversized bodies, broken pages, redirect loops, ignored ranges — and the audit must retry a
//! bounded number of times, judge `victim` `unknown` with a reason naming what happened (or
//! normally, when the fault clears within the retries), judge the other packages as usual, exit
//! 3 when something stayed unknown, never panic, and stay small in memory.
//!
//! Timeouts, retries and backoff are shortened through np2audit's hidden `NP2AUDIT_HTTP_*`
//! variables, so the whole file runs in seconds.

use crate::support;

use std::path::Path;
use std::time::Duration;

use support::{
    Blackhole, Fault, FaultKind, FaultTarget, FixtureIndex, IndexOptions, MeasuredAudit,
    measured_audit, write_uv_lock,
};

/// Attempts per request: the first and `NP2AUDIT_HTTP_RETRIES` more.
const ATTEMPTS: usize = 3;
const HTTP_ENV: [(&str, &str); 3] = [
    ("NP2AUDIT_HTTP_TIMEOUT", "0.5"),
    ("NP2AUDIT_HTTP_RETRIES", "2"),
    ("NP2AUDIT_HTTP_BACKOFF", "0.05"),
];
const MEMORY_LIMIT: u64 = 100 * 1024 * 1024;
const JSON_PAGE: &str = "application/vnd.pypi.simple.v1+json";

fn start(faults: Vec<Fault>) -> FixtureIndex {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/faults/index");
    FixtureIndex::start(
        &dir,
        IndexOptions {
            faults,
            ..IndexOptions::default()
        },
    )
}

fn page() -> FaultTarget {
    FaultTarget::Page("victim".into())
}

fn metadata() -> FaultTarget {
    FaultTarget::Metadata("victim".into())
}

fn wheel() -> FaultTarget {
    FaultTarget::File("victim".into())
}

fn status(status: u16, retry_after: Option<u64>) -> FaultKind {
    FaultKind::Status {
        status,
        retry_after,
    }
}

/// One audit of victim, bystander, plainlib and numpy against an index, as JSON.
type Audit = MeasuredAudit;

/// What every fault test checks of its audit.
trait FaultChecks {
    fn assert_rest_judged(&self);
    fn assert_victim_unknown(&self, reason: &str);
    fn assert_small(&self);
}

impl FaultChecks for Audit {
    /// The packages nobody faulted came out as they do on a sound index.
    fn assert_rest_judged(&self) {
        assert_eq!(self.verdict("bystander"), "ready", "{}", self.run.stdout);
        assert_eq!(
            self.verdict("plainlib"),
            "unaffected",
            "{}",
            self.run.stdout
        );
    }

    /// `victim` is unknown for an index error whose evidence says `reason`, and the run is
    /// incomplete (exit 3), with everything else judged.
    fn assert_victim_unknown(&self, reason: &str) {
        assert_eq!(self.verdict("victim"), "unknown", "{}", self.run.stdout);
        let evidence = self.evidence("victim");
        assert!(evidence.contains("index-error"), "{evidence}");
        assert!(
            evidence.to_lowercase().contains(&reason.to_lowercase()),
            "expected {reason:?} in:\n{evidence}"
        );
        assert_eq!(self.run.code, 3, "{}", self.run.stderr);
        assert_eq!(self.report["incomplete"], true);
        self.assert_rest_judged();
    }

    fn assert_small(&self) {
        assert!(
            self.run.peak_rss < MEMORY_LIMIT,
            "peak RSS {} MiB",
            self.run.peak_rss >> 20
        );
    }
}

fn audit(index: &FixtureIndex) -> Audit {
    audit_at(&index.simple_url())
}

fn audit_at(index_url: &str) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let lock = write_uv_lock(
        dir.path(),
        &[
            ("bystander", "2.0.0"),
            ("numpy", "1.26.4"),
            ("plainlib", "3.1.0"),
            ("victim", "1.0.0"),
        ],
    );
    measured_audit(index_url, &lock, &dir.path().join("cache"), &HTTP_ENV)
}

fn victim_wheel(index: &FixtureIndex) -> String {
    let names = index.filenames("victim");
    assert_eq!(names.len(), 1);
    names.into_iter().next().unwrap()
}

/// Requests for victim's page, its `.metadata` file and its wheel.
fn victim_requests(index: &FixtureIndex) -> (usize, usize, usize) {
    let wheel = victim_wheel(index);
    let stats = index.stats();
    (
        stats.requests_to("/simple/victim/"),
        stats.requests_to(&format!("{wheel}.metadata")),
        stats.requests_to(&wheel),
    )
}

#[test]
fn a_sound_index_judges_every_package() {
    let index = start(Vec::new());
    let audit = audit(&index);
    assert_eq!(audit.run.code, 0, "{}", audit.run.stderr);
    assert_eq!(audit.verdict("victim"), "ready");
    assert_eq!(audit.report["incomplete"], false);
    audit.assert_rest_judged();
    assert_eq!(victim_requests(&index).0, 1);
    // A scanned wheel's METADATA is read from the tail fetched for the scan when it lies there
    // (bystander's); victim's long one does not, so it comes as `.metadata`.
    let stats = index.stats();
    let bystander = index.filenames("bystander").into_iter().next().unwrap();
    assert_eq!(stats.requests_to(&format!("{bystander}.metadata")), 0);
    assert_eq!(victim_requests(&index).1, 1);
}

#[test]
fn a_page_answering_500_is_retried_then_unknown() {
    let index = start(vec![Fault::always(page(), status(500, None))]);
    let audit = audit(&index);
    audit.assert_victim_unknown("HTTP 500 (after 3 attempts)");
    assert_eq!(victim_requests(&index), (ATTEMPTS, 0, 0));
}

#[test]
fn metadata_answering_503_with_retry_after_waits_as_told_then_unknown() {
    let index = start(vec![Fault::always(metadata(), status(503, Some(1)))]);
    let audit = audit(&index);
    audit.assert_victim_unknown("HTTP 503 (after 3 attempts)");
    assert_eq!(victim_requests(&index).1, ATTEMPTS);
    // Two waits of the one second the server asked for, not the 50 ms backoff.
    assert!(
        audit.run.wall >= Duration::from_secs(2),
        "{:?}",
        audit.run.wall
    );
}

#[test]
fn a_retry_after_longer_than_np2audit_waits_fails_at_once() {
    let index = start(vec![Fault::always(metadata(), status(503, Some(3600)))]);
    let audit = audit(&index);
    audit.assert_victim_unknown("asking to retry after 3600 s");
    assert_eq!(victim_requests(&index).1, 1);
}

#[test]
fn a_wheel_answering_503_without_retry_after_backs_off_then_unknown() {
    let index = start(vec![Fault::always(wheel(), status(503, None))]);
    let audit = audit(&index);
    audit.assert_victim_unknown("HTTP 503 (after 3 attempts)");
    // The metadata came from the `.metadata` file; only the scan needed the wheel.
    assert_eq!(victim_requests(&index), (1, 1, ATTEMPTS));
    assert!(audit.evidence("victim").contains("wheel scan"));
}

#[test]
fn a_page_answering_429_is_retried_then_unknown() {
    let index = start(vec![Fault::always(page(), status(429, None))]);
    let audit = audit(&index);
    audit.assert_victim_unknown("HTTP 429 (after 3 attempts)");
    assert_eq!(victim_requests(&index), (ATTEMPTS, 0, 0));
}

#[test]
fn transient_faults_that_clear_within_the_retries_give_the_normal_verdict() {
    let index = start(vec![
        Fault::first(2, page(), status(429, Some(1))),
        Fault::first(2, metadata(), status(500, None)),
        Fault::first(1, wheel(), FaultKind::Reset),
        Fault::first(
            1,
            FaultTarget::File("bystander".into()),
            FaultKind::Truncate,
        ),
        // plainlib is pure Python: its metadata comes as `.metadata`, never from a wheel's tail.
        Fault::first(
            2,
            FaultTarget::Metadata("plainlib".into()),
            FaultKind::Stall,
        ),
    ]);
    let audit = audit(&index);
    assert_eq!(
        audit.run.code, 0,
        "{}\n{}",
        audit.run.stdout, audit.run.stderr
    );
    assert_eq!(
        audit.verdict("victim"),
        "ready",
        "{}",
        audit.evidence("victim")
    );
    assert_eq!(audit.report["incomplete"], false);
    audit.assert_rest_judged();
    let stats = index.stats();
    for (fault, times) in [(0, 2), (1, 2), (2, 1), (3, 1), (4, 2)] {
        assert_eq!(stats.faulted(fault), times, "fault {fault}");
    }
    let (pages, metadata, _) = victim_requests(&index);
    assert_eq!((pages, metadata), (3, 3));
}

#[test]
fn files_on_a_host_that_never_accepts_time_out_on_connect() {
    let blackhole = Blackhole::start();
    let index = start(vec![Fault::always(
        page(),
        FaultKind::FilesAt(blackhole.base_url()),
    )]);
    let audit = audit(&index);
    audit.assert_victim_unknown("timed out connecting");
    // Neither the metadata nor the wheel reached the index itself.
    assert_eq!(victim_requests(&index), (1, 0, 0));
    // Three connect timeouts of half a second each, for the metadata and the wheel at once:
    // a lower bound, which no load can break (the retry schedule itself is tested on tokio's
    // paused clock in src/index/http.rs).
    let wall = audit.run.wall;
    assert!(wall >= Duration::from_millis(1500), "{wall:?}");
}

#[test]
fn a_wheel_that_stalls_mid_body_times_out_on_read() {
    let index = start(vec![Fault::always(wheel(), FaultKind::Stall)]);
    let audit = audit(&index);
    audit.assert_victim_unknown("timed out reading the response body");
    assert_eq!(victim_requests(&index).2, ATTEMPTS);
}

#[test]
fn metadata_whose_connection_resets_mid_body_is_retried_then_unknown() {
    let index = start(vec![Fault::always(metadata(), FaultKind::Reset)]);
    let audit = audit(&index);
    audit.assert_victim_unknown("after 3 attempts");
    assert!(audit.evidence("victim").contains("metadata"));
    assert_eq!(victim_requests(&index).1, ATTEMPTS);
}

#[test]
fn a_page_cut_short_of_its_content_length_is_retried_then_unknown() {
    let index = start(vec![Fault::always(page(), FaultKind::Truncate)]);
    let audit = audit(&index);
    audit.assert_victim_unknown("broke off");
    assert_eq!(victim_requests(&index), (ATTEMPTS, 0, 0));
}

#[test]
fn gzipped_pages_and_metadata_are_inflated_and_counted_as_sent() {
    let sent = |gzip: bool| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/faults/index");
        let index = FixtureIndex::start(
            &dir,
            IndexOptions {
                gzip,
                ..IndexOptions::default()
            },
        );
        let audit = audit(&index);
        assert_eq!(audit.run.code, 0, "{}", audit.run.stderr);
        assert_eq!(audit.verdict("victim"), "ready");
        audit.assert_rest_judged();
        // np2audit counts the bytes that crossed the wire, compressed or not.
        let sent = index.stats().bytes_sent;
        assert_eq!(audit.report["stats"]["bytes_fetched"], sent);
        sent
    };
    let (identity, gzipped) = (sent(false), sent(true));
    assert!(
        gzipped < identity,
        "gzip {gzipped} B, identity {identity} B"
    );
}

#[test]
fn a_page_that_claims_gzip_but_does_not_inflate_is_retried_then_unknown() {
    let index = start(vec![Fault::always(page(), FaultKind::NotGzip)]);
    let audit = audit(&index);
    audit.assert_victim_unknown("broke off");
    assert_eq!(victim_requests(&index), (ATTEMPTS, 0, 0));
}

#[test]
fn a_page_of_the_wrong_content_type_is_unknown_without_retries() {
    let index = start(vec![Fault::always(
        page(),
        FaultKind::ContentType("image/png".into()),
    )]);
    let audit = audit(&index);
    audit.assert_victim_unknown("content type `image/png`");
    assert_eq!(victim_requests(&index), (1, 0, 0));
}

#[test]
fn an_invalid_json_page_is_unknown_without_retries() {
    let index = start(vec![Fault::always(
        page(),
        FaultKind::Body {
            content_type: JSON_PAGE.into(),
            body: br#"{"meta": {"api-version": "1.1"}, "files": [{"filename": "#.to_vec(),
        },
    )]);
    let audit = audit(&index);
    audit.assert_victim_unknown("invalid JSON project page");
    assert_eq!(victim_requests(&index), (1, 0, 0));
}

#[test]
fn an_invalid_html_page_is_unknown_without_retries() {
    for body in [
        // Not HTML at all.
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xff".to_vec(),
        // HTML that ends inside a tag.
        b"<!DOCTYPE html><html><body><a href=\"../../files/victim-1.0.0-cp311".to_vec(),
    ] {
        let index = start(vec![Fault::always(
            page(),
            FaultKind::Body {
                content_type: "text/html".into(),
                body,
            },
        )]);
        let audit = audit(&index);
        audit.assert_victim_unknown("HTML project page");
        assert_eq!(victim_requests(&index), (1, 0, 0));
    }
}

#[test]
fn a_redirect_loop_is_cut_off_and_not_retried() {
    let index = start(vec![Fault::always(page(), FaultKind::RedirectLoop)]);
    let audit = audit(&index);
    audit.assert_victim_unknown("redirect");
    // The first request and ten redirects, once: retrying a loop cannot help.
    assert_eq!(victim_requests(&index), (11, 0, 0));
}

#[test]
fn a_claimed_content_length_of_10_gb_is_refused_before_the_body() {
    for target in [page(), metadata(), wheel()] {
        let index = start(vec![Fault::always(
            target.clone(),
            FaultKind::ClaimLength(10_000_000_000),
        )]);
        let audit = audit(&index);
        audit.assert_victim_unknown("-byte limit");
        audit.assert_small();
        // Too large is not transient: one request.
        assert_eq!(index.stats().faults.len(), 1, "{target:?}");
    }
}

#[test]
fn a_range_answer_longer_than_the_range_is_refused_before_the_body() {
    // 500 MB is under the whole-wheel limit, but the tail probe asked for 64 KiB.
    let index = start(vec![Fault::always(
        wheel(),
        FaultKind::ClaimLength(500_000_000),
    )]);
    let audit = audit(&index);
    audit.assert_victim_unknown("-byte limit");
    audit.assert_small();
    assert_eq!(victim_requests(&index).2, 1);
}

#[test]
fn a_range_request_answered_with_the_whole_file_is_judged_from_it() {
    let index = start(vec![Fault::always(wheel(), FaultKind::IgnoreRange)]);
    let audit = audit(&index);
    assert_eq!(audit.run.code, 0, "{}", audit.run.stderr);
    assert_eq!(
        audit.verdict("victim"),
        "ready",
        "{}",
        audit.evidence("victim")
    );
    audit.assert_rest_judged();
    audit.assert_small();
    // The whole file came with the first request and served every read after it.
    assert_eq!(victim_requests(&index).2, 1);
}

#[test]
fn a_large_wheel_from_a_host_without_ranges_goes_to_disk_not_memory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/faults/big");
    let index = FixtureIndex::start(
        &dir,
        IndexOptions {
            ranges: false,
            metadata_files: false,
            ..IndexOptions::default()
        },
    );
    let wheel = index.filenames("bigwheel").into_iter().next().unwrap();
    let size = index.file_bytes(&wheel).unwrap().len() as u64;
    assert!(size > 120_000_000, "larger than the memory limit: {size}");
    let project = tempfile::tempdir().unwrap();
    let lock = write_uv_lock(
        project.path(),
        &[("bigwheel", "1.0.0"), ("numpy", "1.26.4")],
    );
    let audit = measured_audit(
        &index.simple_url(),
        &lock,
        &project.path().join("cache"),
        &[],
    );
    let bigwheel = audit.package("bigwheel");
    assert_eq!(bigwheel["verdict"], "ready", "{bigwheel}");
    // One download of the whole file served the metadata and the scan.
    assert_eq!(index.stats().requests_to(&wheel), 1);
    assert!(
        audit.run.peak_rss < MEMORY_LIMIT,
        "peak RSS {} MiB for a {} MiB wheel",
        audit.run.peak_rss >> 20,
        size >> 20
    );
}
