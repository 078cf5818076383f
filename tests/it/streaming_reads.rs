//! Member reads stream: a wheel's members are fetched in bounded range requests and only as far
//! as the reader wants, against the offline fixture index.

use crate::support;

use std::io::{Cursor, Read};
use std::ops::ControlFlow;
use std::time::Duration;

use np2audit::index::http::BODY_BUDGET;
use np2audit::index::{Cache, CacheMode, HttpClient, HttpSettings, IndexClient, RemoteWheel};
use np2audit::inspect::wheel::WheelBuild;
use np2audit::inspect::{self, ScanBudget};
use np2audit::zipfile::ZipEntry;
use pep508_rs::PackageName;
use support::{FixtureIndex, IndexOptions, descriptions_dir};

const BOTTLENECK_137: &str =
    "Bottleneck-1.3.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
const BOTTLENECK_140: &str =
    "Bottleneck-1.4.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
const BIGLIB: &str = "biglib-9.0.0-py3-none-manylinux_2_27_x86_64.whl";
const MOVE: &str = "bottleneck/move.cpython-311-x86_64-linux-gnu.so";
const REDUCE: &str = "bottleneck/reduce.cpython-311-x86_64-linux-gnu.so";
const LIBBIG: &str = "biglib/lib/libbig.so.9";

async fn open(index: &FixtureIndex, project: &str, filename: &str) -> RemoteWheel {
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    open_with(index, http, project, filename).await
}

/// [`open`] through `http`, whose body budget the wheel's reads then share.
async fn open_with(
    index: &FixtureIndex,
    http: HttpClient,
    project: &str,
    filename: &str,
) -> RemoteWheel {
    let cache = Cache::in_memory().await.unwrap();
    let client = IndexClient::new(&index.simple_url(), http, cache, CacheMode::Refresh).unwrap();
    let name = PackageName::new(project.to_string()).unwrap();
    let files = client.project_files(&name).await.unwrap();
    let file = files
        .iter()
        .find(|file| file.filename == filename)
        .unwrap_or_else(|| panic!("{filename} is listed"));
    client.open_wheel(file).await.unwrap()
}

fn entry<'a>(wheel: &'a RemoteWheel, name: &str) -> &'a ZipEntry {
    wheel
        .entries()
        .iter()
        .find(|entry| entry.name == name)
        .unwrap_or_else(|| panic!("{name} is in {}", wheel.filename()))
}

/// A member's bytes as the zip crate reads them from the whole file.
fn expected(index: &FixtureIndex, filename: &str, member: &str) -> Vec<u8> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(index.file_bytes(filename).unwrap())).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(member)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// The whole member through `read_member`, and whether it reported a complete read.
async fn read_all(wheel: &RemoteWheel, member: &str) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let finished = wheel
        .read_member(entry(wheel, member), u64::MAX, |chunk| {
            out.extend_from_slice(chunk);
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    (out, finished)
}

/// Read `member` through the signature scanner until it is conclusive; whether the read
/// reached the member's end.
async fn scan_until_conclusive(wheel: &RemoteWheel, member: &str) -> bool {
    let mut scanner = inspect::wheel::SignatureScanner::new();
    wheel
        .read_member(entry(wheel, member), u64::MAX, |chunk| {
            scanner.feed(chunk);
            if scanner.is_conclusive() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .unwrap()
}

fn start(options: IndexOptions) -> FixtureIndex {
    FixtureIndex::start(&descriptions_dir(), options)
}

#[tokio::test]
async fn a_numpy2_build_reads_each_member_only_until_it_shows() {
    let index = start(IndexOptions::default());
    let mut wheel = open(&index, "bottleneck", BOTTLENECK_140).await;
    // Chunks far smaller than the members, so stopping early shows in the bytes sent.
    wheel.set_read_chunks(16 * 1024, 16 * 1024);
    let members_size = entry(&wheel, MOVE).compressed_size + entry(&wheel, REDUCE).compressed_size;
    assert!(members_size > 300_000, "{members_size}");

    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    match &scan.build {
        WheelBuild::NumPy2 {
            member,
            oldest_numpy,
            ..
        } => {
            assert_eq!(member, MOVE);
            assert_eq!(oldest_numpy.as_deref(), Some("1.23"));
        }
        other => panic!("expected a NumPy 2 build, got {other:?}"),
    }
    // A 2.x-built member does not end the scan: another object of the wheel could be 1.x-built.
    assert_eq!(scan.scanned, [MOVE, REDUCE]);
    let stats = index.stats();
    // The NumPy 2 strings sit in each member's `.rodata`, before its read-only end: reading
    // stops there.
    assert!(
        stats.bytes_sent < members_size * 3 / 4,
        "sent {} of {members_size} bytes of members",
        stats.bytes_sent
    );
    assert!(stats.range_requests >= 4, "{stats:?}");

    // The reader that stopped is told so.
    let finished = scan_until_conclusive(&wheel, REDUCE).await;
    assert!(!finished);
}

#[tokio::test]
async fn a_numpy1_build_is_read_to_the_end_of_its_read_only_segments() {
    let index = start(IndexOptions::default());
    let mut wheel = open(&index, "bottleneck", BOTTLENECK_137).await;
    wheel.set_read_chunks(16 * 1024, 16 * 1024);
    let member_size = entry(&wheel, MOVE).compressed_size;

    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    assert!(
        matches!(&scan.build, WheelBuild::NumPy1 { member, .. } if member == MOVE),
        "{scan:?}"
    );
    // A 1.x verdict is never conclusive before the read-only segments end (the fixture's last
    // quarter is writable data): a NumPy 2 import string may still follow.
    let stats = index.stats();
    assert!(stats.bytes_sent >= member_size * 3 / 4, "{stats:?}");
    assert!(
        stats.range_requests >= member_size * 3 / 4 / (16 * 1024),
        "{stats:?}"
    );
}

#[tokio::test]
async fn chunked_reads_give_the_members_bytes_whatever_the_chunk_sizes() {
    let index = start(IndexOptions::default());
    let want = expected(&index, BOTTLENECK_137, REDUCE);
    // Tiny first chunks split the local header across requests.
    for (first, max) in [
        (10, 100_000),
        (1000, 4000),
        (16 * 1024, 64 * 1024),
        (1 << 20, 8 << 20),
    ] {
        let mut wheel = open(&index, "bottleneck", BOTTLENECK_137).await;
        wheel.set_read_chunks(first, max);
        let (bytes, finished) = read_all(&wheel, REDUCE).await;
        assert!(finished, "chunks {first}..{max}");
        assert!(bytes == want, "chunks {first}..{max}: wrong bytes");
    }
}

#[tokio::test]
async fn small_members_come_in_one_request_and_large_ones_in_growing_chunks() {
    let index = start(IndexOptions::default());
    let wheel = open(&index, "bottleneck", BOTTLENECK_137).await;
    index.reset_stats();
    let (bytes, _) = read_all(&wheel, REDUCE).await;
    assert_eq!(bytes, expected(&index, BOTTLENECK_137, REDUCE));
    assert_eq!(index.stats().range_requests, 1);

    // 1.5 MB, incompressible: 1 MiB, then up to 2 MiB more, stopping where the tail fetched
    // when the wheel was opened starts; the member's last bytes come from that tail.
    let wheel = open(&index, "biglib", BIGLIB).await;
    let member_size = entry(&wheel, LIBBIG).compressed_size;
    assert!(member_size > 1_500_000, "{member_size}");
    index.reset_stats();
    let (bytes, finished) = read_all(&wheel, LIBBIG).await;
    assert!(finished);
    assert!(bytes == expected(&index, BIGLIB, LIBBIG));
    let stats = index.stats();
    assert_eq!(stats.range_requests, 2, "{stats:?}");
    assert!(stats.bytes_sent < member_size, "{stats:?}");
}

#[tokio::test]
async fn members_in_the_fetched_tail_need_no_request() {
    let index = start(IndexOptions::default());
    let wheel = open(&index, "bottleneck", BOTTLENECK_140).await;
    index.reset_stats();
    let metadata = wheel.read_metadata().await.unwrap();
    assert!(metadata.contains("Name: Bottleneck"), "{metadata}");
    assert_eq!(index.stats().requests, 0);
}

#[tokio::test]
async fn hosts_without_ranges_are_read_from_the_whole_file() {
    let index = start(IndexOptions {
        ranges: false,
        ..IndexOptions::default()
    });
    let wheel = open(&index, "bottleneck", BOTTLENECK_140).await;
    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    assert!(matches!(scan.build, WheelBuild::NumPy2 { .. }), "{scan:?}");
    let (bytes, finished) = read_all(&wheel, REDUCE).await;
    assert!(finished);
    assert_eq!(bytes, expected(&index, BOTTLENECK_140, REDUCE));
    assert_eq!(index.stats().requests, 0);
}

#[tokio::test]
async fn wheels_without_extension_modules_are_not_scanned() {
    let index = start(IndexOptions::default());
    let wheel = open(&index, "biglib", BIGLIB).await;
    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    assert_eq!(scan.build, WheelBuild::NoNumpy { shared_objects: 0 });
    assert_eq!(scan.libraries_not_scanned, [LIBBIG]);
    assert!(scan.scanned.is_empty() && scan.unscanned.is_empty());
    assert_eq!(index.stats().requests, 0);
}

#[tokio::test]
async fn a_read_that_stops_in_its_first_chunk_sends_no_second_request() {
    let index = start(IndexOptions::default());
    let mut wheel = open(&index, "bottleneck", BOTTLENECK_140).await;
    // One chunk holds the NumPy 2 strings (they sit at 60–72% of the member).
    let member_size = entry(&wheel, MOVE).compressed_size;
    wheel.set_read_chunks(member_size * 4 / 5, 8 << 20);
    index.reset_stats();
    let finished = scan_until_conclusive(&wheel, MOVE).await;
    assert!(!finished);
    let stats = index.stats();
    assert_eq!(stats.range_requests, 1, "{stats:?}");
    assert!(stats.bytes_sent < member_size, "{stats:?}");
}

/// `read`, run while the whole body budget is spent elsewhere: it must fetch nothing, and finish
/// once the budget is given back. Its output.
async fn after_the_budget_is_given_back<T>(
    index: &FixtureIndex,
    http: &HttpClient,
    read: impl std::future::Future<Output = T>,
) -> T {
    index.reset_stats();
    let everything = http.reserve_body(BODY_BUDGET).await;
    tokio::pin!(read);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut read)
            .await
            .is_err()
    );
    assert_eq!(index.stats().range_requests, 0);
    drop(everything);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the read goes on once the budget is free")
}

#[tokio::test]
async fn member_reads_wait_for_the_body_budget() {
    let index = start(IndexOptions::default());
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let wheel = open_with(&index, http.clone(), "biglib", BIGLIB).await;
    let (bytes, finished) =
        after_the_budget_is_given_back(&index, &http, read_all(&wheel, LIBBIG)).await;
    assert!(finished);
    assert!(bytes == expected(&index, BIGLIB, LIBBIG));
}

/// Small members read several to a request (how a release's modules are read for the source
/// scan), with their names and bytes.
async fn read_small(wheel: &RemoteWheel, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let entries: Vec<&ZipEntry> = names.iter().map(|name| entry(wheel, name)).collect();
    let mut read = Vec::new();
    wheel
        .read_small_members(&entries, u64::MAX, async |name, bytes| {
            read.push((name, bytes.unwrap()));
        })
        .await
        .unwrap();
    read
}

const MANYSMALL: &str = "manysmall-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl";
const SMALL_MEMBERS: [&str; 4] = [
    "manysmall/a.cpython-311-x86_64-linux-gnu.so",
    "manysmall/b.cpython-311-x86_64-linux-gnu.so",
    "manysmall/i.cpython-311-x86_64-linux-gnu.so",
    "manysmall/l.cpython-311-x86_64-linux-gnu.so",
];

#[tokio::test]
async fn small_member_reads_wait_for_the_body_budget_too() {
    let index = start(IndexOptions::default());
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let wheel = open_with(&index, http.clone(), "manysmall", MANYSMALL).await;
    // A release's modules wait too: their spans' bodies count against the budget like member
    // reads' chunks.
    let read =
        after_the_budget_is_given_back(&index, &http, read_small(&wheel, &SMALL_MEMBERS)).await;
    assert!(index.stats().range_requests > 0);
    let names: Vec<&str> = read.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, SMALL_MEMBERS);
    for (name, bytes) in &read {
        assert!(*bytes == expected(&index, MANYSMALL, name), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_reads_at_once_share_the_budget_and_all_finish() {
    let index = start(IndexOptions::default());
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let want = expected(&index, BIGLIB, LIBBIG);
    // Chunks as large as the whole budget allows, so readers must take turns.
    let mut wheel = open_with(&index, http.clone(), "biglib", BIGLIB).await;
    wheel.set_read_chunks(BODY_BUDGET / 3, BODY_BUDGET);
    let wheel = std::sync::Arc::new(wheel);
    let reads: Vec<_> = (0..24)
        .map(|_| {
            let wheel = wheel.clone();
            tokio::spawn(async move { read_all(&wheel, LIBBIG).await })
        })
        .collect();
    // Small-member reads (several spans each) share the same budget, and finish too.
    let small = open_with(&index, http.clone(), "manysmall", MANYSMALL).await;
    // (Polled together in this task: a read's sink borrows what it fills.)
    let small_reads = futures::future::join_all((0..8).map(|_| read_small(&small, &SMALL_MEMBERS)));
    let small_reads = tokio::time::timeout(Duration::from_secs(30), small_reads)
        .await
        .expect("no reader waits forever");
    for read in small_reads {
        assert_eq!(read.len(), SMALL_MEMBERS.len());
    }
    for read in reads {
        let (bytes, finished) = tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("no reader waits forever")
            .unwrap();
        assert!(finished);
        assert!(bytes == want);
    }
    // Every reservation was given back.
    let all = tokio::time::timeout(Duration::from_secs(1), http.reserve_body(BODY_BUDGET)).await;
    assert!(all.is_ok(), "the budget is not whole again");
}

#[tokio::test]
async fn members_are_read_ahead_small_ones_at_once_larger_ones_after_a_read_in_vain() {
    let latency = Duration::from_millis(150);
    let index = start(IndexOptions {
        latency: Some(latency),
        ..IndexOptions::default()
    });
    let filename = "manysmall-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl";
    let wheel = open(&index, "manysmall", filename).await;
    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    // The eight 3 kB modules and the 90 and 120 kB ones, without a 1.x build, then the 1.x-built
    // one, which decides.
    assert!(
        matches!(&scan.build, WheelBuild::NumPy1 { member, .. } if member.ends_with("/k.cpython-311-x86_64-linux-gnu.so")),
        "{scan:?}"
    );
    assert_eq!(scan.scanned.len(), 11, "{scan:?}");
    // Two rounds of requests, not four (or eleven): the small ones together, then, as they were
    // read without deciding, the three larger ones together. The 600 kB one would take the bytes
    // read ahead past the bound, so it waits, and is never read.
    let stats = index.stats();
    assert_eq!(stats.range_requests, 11, "{stats:?}");
    assert_eq!(stats.rounds(latency / 2), 2, "{stats:?}");
    assert_eq!(stats.max_in_flight, 8, "{stats:?}");
}

#[tokio::test]
async fn a_wheel_whose_first_member_is_1x_built_reads_no_other() {
    let index = start(IndexOptions::default());
    let wheel = open(&index, "bottleneck", BOTTLENECK_137).await;
    index.reset_stats();
    let scan = inspect::scan_wheel(&wheel, ScanBudget::default())
        .await
        .unwrap();
    assert!(matches!(scan.build, WheelBuild::NumPy1 { .. }), "{scan:?}");
    assert_eq!(scan.scanned, [MOVE]);
    assert_eq!(index.stats().range_requests, 1);
}

#[tokio::test]
async fn a_last_piece_of_an_eighth_of_a_chunk_comes_with_the_chunk_before_it() {
    let index = start(IndexOptions::default());
    let want = expected(&index, BIGLIB, LIBBIG);
    let mut wheel = open(&index, "biglib", BIGLIB).await;
    let size = entry(&wheel, LIBBIG).compressed_size;
    // A first chunk a little short of the member: the rest comes with it.
    wheel.set_read_chunks(size * 9 / 10, size * 9 / 10);
    index.reset_stats();
    let (bytes, finished) = read_all(&wheel, LIBBIG).await;
    assert!(finished && bytes == want);
    assert_eq!(index.stats().range_requests, 1);
    // Half the member: the rest is a chunk of its own.
    wheel.set_read_chunks(size / 2, size / 2);
    index.reset_stats();
    let (bytes, finished) = read_all(&wheel, LIBBIG).await;
    assert!(finished && bytes == want);
    assert_eq!(index.stats().range_requests, 2);
}

/// Inflating and scanning a member does not hold the runtime's worker: on a runtime with one
/// worker, a task that can only run while the read's sink is busy still runs. (Inflated in place
/// on the worker, the sink would wait for it forever; the wait is bounded only to fail.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn inflating_a_member_leaves_the_runtime_free() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let index = start(IndexOptions::default());
    let wheel = open(&index, "bottleneck", BOTTLENECK_137).await;
    let ran = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(tokio::sync::Notify::new());
    let bystander = {
        let (ran, asked) = (ran.clone(), asked.clone());
        tokio::spawn(async move {
            asked.notified().await;
            ran.store(true, Ordering::SeqCst);
        })
    };
    let read = tokio::spawn(async move {
        let entry = entry(&wheel, MOVE).clone();
        let mut waited = false;
        wheel
            .read_member(&entry, u64::MAX, |_chunk| {
                if !waited {
                    waited = true;
                    asked.notify_one();
                    let deadline = std::time::Instant::now() + Duration::from_secs(30);
                    while !ran.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    assert!(ran.load(Ordering::SeqCst), "the other task never ran");
                }
                ControlFlow::Break(())
            })
            .await
            .unwrap()
    });
    assert!(!read.await.unwrap());
    bystander.await.unwrap();
}

/// A reader that knows how much output it wants (the scan, once an object's program headers
/// say where its read-only segments end) is not sent much more: the next request stops about
/// where that output's compressed bytes end.
#[tokio::test]
async fn requests_stop_near_the_output_the_reader_wants() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let index = start(IndexOptions::default());
    let wheel = open(&index, "biglib", BIGLIB).await;
    let member_size = entry(&wheel, LIBBIG).compressed_size;
    let uncompressed = entry(&wheel, LIBBIG).uncompressed_size;
    let want = uncompressed * 3 / 4;
    let read = |hint: bool| {
        let wheel = &wheel;
        async move {
            let wanted = AtomicU64::new(u64::MAX);
            let mut seen = 0u64;
            let entry = entry(wheel, LIBBIG).clone();
            wheel
                .read_member_wanting(&entry, u64::MAX, &wanted, |chunk| {
                    if hint {
                        wanted.store(want, Ordering::Relaxed);
                    }
                    seen += chunk.len() as u64;
                    if seen >= want {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .await
                .unwrap()
        }
    };
    index.reset_stats();
    assert!(!read(false).await);
    let blind = index.stats().bytes_sent;
    index.reset_stats();
    assert!(!read(true).await);
    let told = index.stats().bytes_sent;
    // Incompressible: compressed bytes are about the output's.
    assert!(told >= want * 99 / 100, "{told} of {member_size}");
    assert!(
        told <= want + want / 8 + 128 * 1024,
        "{told} of {member_size} for {want}"
    );
    assert!(told < blind, "told {told}, blind {blind}");
}

/// A member's bytes from its local header to the end of its data, read from the file itself.
fn local_member_len(index: &FixtureIndex, filename: &str, entry: &ZipEntry) -> u64 {
    let file = index.file_bytes(filename).unwrap();
    let at = entry.local_header_offset as usize;
    let name_len = u16::from_le_bytes([file[at + 26], file[at + 27]]) as u64;
    let extra_len = u16::from_le_bytes([file[at + 28], file[at + 29]]) as u64;
    30 + name_len + extra_len + entry.compressed_size
}

/// Bytes the client's reads needed, and bytes it fetched, so far.
fn needed_and_fetched(http: &HttpClient) -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (
        http.stats.bytes_needed.load(Relaxed),
        http.stats.bytes_fetched.load(Relaxed),
    )
}

#[tokio::test]
async fn the_bytes_reads_needed_are_counted_apart_from_those_fetched() {
    let index = start(IndexOptions::default());
    // Opening a wheel needs its central directory and end records.
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let wheel = open_with(&index, http.clone(), "biglib", BIGLIB).await;
    let (directory, fetched) = needed_and_fetched(&http);
    assert!(
        directory > 0 && directory < fetched,
        "{directory} of {fetched}"
    );
    // A member read whole needs all of it.
    let (_, finished) = read_all(&wheel, LIBBIG).await;
    assert!(finished);
    assert_eq!(
        needed_and_fetched(&http).0 - directory,
        local_member_len(&index, BIGLIB, entry(&wheel, LIBBIG))
    );

    // A read that stops early needs only what it inflated, though its request ran further.
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let mut wheel = open_with(&index, http.clone(), "bottleneck", BOTTLENECK_140).await;
    let member_size = entry(&wheel, MOVE).compressed_size;
    wheel.set_read_chunks(member_size * 4 / 5, 8 << 20);
    let before = needed_and_fetched(&http);
    assert!(!scan_until_conclusive(&wheel, MOVE).await);
    let after = needed_and_fetched(&http);
    let (needed, fetched) = (after.0 - before.0, after.1 - before.1);
    assert!(
        needed > 0 && needed < member_size,
        "{needed} of {member_size}"
    );
    assert!(needed <= fetched, "{needed} > {fetched}");

    // Small members read together need each of them whole (their extra fields taken as empty).
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let wheel = open_with(&index, http.clone(), "manysmall", MANYSMALL).await;
    let before = needed_and_fetched(&http).0;
    read_small(&wheel, &SMALL_MEMBERS).await;
    let members: u64 = SMALL_MEMBERS
        .iter()
        .map(|name| local_member_len(&index, MANYSMALL, entry(&wheel, name)))
        .sum();
    assert_eq!(needed_and_fetched(&http).0 - before, members);
}
