//! The cache under stress: two processes at once, processes killed mid-run, damaged, foreign,
//! newer and older cache files, `np2audit cache info|clean|prune`, and the shared PostgreSQL
//! cache (`--cache-url`, opt-in: set NP2AUDIT_TEST_POSTGRES_URL, as `.ci/run` does).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;
use support::{FixtureIndex, IndexOptions, Run, audit_lock, descriptions_dir};

fn lock() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/lockfiles/fixture-project/uv.lock")
}

fn start(latency_ms: u64) -> FixtureIndex {
    FixtureIndex::start(
        &descriptions_dir(),
        IndexOptions {
            latency: (latency_ms > 0).then(|| Duration::from_millis(latency_ms)),
            ..IndexOptions::default()
        },
    )
}

/// The verdicts of a JSON report, without what differs between runs (stats).
fn verdicts(run: &Run) -> Vec<(String, String, String)> {
    let report = run.json();
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap_or("").to_string(),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn requests(run: &Run) -> u64 {
    run.json()["stats"]["requests"].as_u64().unwrap()
}

fn audit(index: &FixtureIndex, cache: &Path) -> Run {
    audit_lock(index, &lock(), cache, &["--format", "json"])
}

/// A run on a fresh cache: what every other run must agree with.
fn reference(index: &FixtureIndex) -> (Run, Vec<(String, String, String)>) {
    let fresh = tempfile::tempdir().unwrap();
    let run = audit(index, fresh.path());
    assert!(run.code == 1 || run.code == 0, "{}", run.stderr);
    let verdicts = verdicts(&run);
    assert!(verdicts.len() >= 5, "{verdicts:?}");
    (run, verdicts)
}

fn np2audit(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args(args)
        .env_remove("NP2AUDIT_CACHE_DIR")
        .env_remove("NP2AUDIT_CACHE_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn spawn_audit(index: &FixtureIndex, cache_args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .arg("lock")
        .arg(lock())
        .args(["--python-platform", "linux", "--format", "json"])
        .args(["--index-url", &index.simple_url()])
        .args(cache_args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Run {
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn two_processes_share_one_cache_directory() {
    let index = start(20);
    let (_, expected) = reference(&index);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    // Both start on an empty directory: both create, migrate and fill the same file.
    let first = spawn_audit(&index, &["--cache-dir", dir]);
    let second = spawn_audit(&index, &["--cache-dir", dir]);
    for run in [finish(first), finish(second)] {
        no_panic(&run);
        assert_eq!(verdicts(&run), expected, "{}", run.stderr);
        assert!(!run.stderr.contains("cache"), "{}", run.stderr);
    }
    let warm = audit(&index, cache.path());
    assert_eq!(verdicts(&warm), expected);
    assert_eq!(
        requests(&warm),
        0,
        "everything was cached by one or the other"
    );
}

#[test]
fn a_process_killed_mid_run_leaves_a_usable_cache() {
    let index = start(15);
    let (_, expected) = reference(&index);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    // Killed (SIGKILL: no cleanup of any kind) at several points of a cold run, each on the
    // cache the previous one left.
    for delay in [40, 120, 250, 400, 700] {
        let mut child = spawn_audit(&index, &["--cache-dir", dir]);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let rerun = audit(&index, cache.path());
    no_panic(&rerun);
    assert_eq!(verdicts(&rerun), expected, "{}", rerun.stderr);
    assert!(
        !rerun.stderr.contains("could not be used"),
        "the cache was not damaged: {}",
        rerun.stderr
    );
    assert!(!cache.path().join("np2audit.sqlite3.broken").exists());
    let warm = audit(&index, cache.path());
    assert_eq!(requests(&warm), 0);
}

#[test]
fn a_file_that_is_not_a_database_is_set_aside_and_rebuilt() {
    let index = start(0);
    let (_, expected) = reference(&index);
    let cache = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(cache.path().join("np2audit.sqlite3"), &garbage).unwrap();

    let run = audit(&index, cache.path());
    no_panic(&run);
    assert_eq!(verdicts(&run), expected);
    assert!(
        run.stderr.contains("could not be used") && run.stderr.contains("started a new one"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(cache.path().join("np2audit.sqlite3.broken")).unwrap(),
        garbage,
        "the damaged file is kept aside, untouched"
    );
    let warm = audit(&index, cache.path());
    assert_eq!(warm.stderr, "", "the rebuilt cache is used quietly");
    assert_eq!(requests(&warm), 0);
}

#[test]
fn a_truncated_database_is_survived_then_rebuilt() {
    let index = start(0);
    let (_, expected) = reference(&index);
    let cache = tempfile::tempdir().unwrap();
    audit(&index, cache.path());
    // `cache info` folds the WAL into the file; then cut the file short.
    np2audit(&[
        "cache",
        "prune",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    let file = cache.path().join("np2audit.sqlite3");
    let length = std::fs::metadata(&file).unwrap().len();
    assert!(length > 8192, "a filled cache: {length} bytes");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(length / 3)
        .unwrap();

    // Whatever the damage shows as (at open, or on a query mid-run), the audit completes
    // with the right verdicts, and within two runs the cache is whole again.
    let first = audit(&index, cache.path());
    no_panic(&first);
    assert_eq!(verdicts(&first), expected, "{}", first.stderr);
    assert!(
        first.stderr.contains("cache"),
        "the damage is reported: {}",
        first.stderr
    );
    let second = audit(&index, cache.path());
    no_panic(&second);
    assert_eq!(verdicts(&second), expected, "{}", second.stderr);
    let third = audit(&index, cache.path());
    assert_eq!(third.stderr, "");
    assert_eq!(verdicts(&third), expected);
    assert_eq!(requests(&third), 0);
}

fn sqlite_url(file: &Path) -> String {
    format!("sqlite://{}?mode=rwc", file.display())
}

/// A page just fetched is kept in the cache, not in memory, and read back from there. If the
/// cache fails after that, the page is fetched again: its files are never lost to the run.
#[tokio::test]
async fn a_cache_that_fails_after_a_page_is_stored_costs_a_refetch_not_the_files() {
    use np2audit::index::cache::CacheLocation;
    use np2audit::index::{Cache, CacheMode, HttpClient, HttpSettings, IndexClient};
    use pep508_rs::PackageName;

    let index = start(0);
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(&CacheLocation::Dir(dir.path().to_path_buf()))
        .await
        .unwrap();
    let http = HttpClient::new(HttpSettings::default()).unwrap();
    let mode = CacheMode::Normal {
        page_ttl: Duration::from_secs(600),
    };
    let client = IndexClient::new(&index.simple_url(), http, cache.clone(), mode).unwrap();
    let name = PackageName::new("bottleneck".to_string()).unwrap();
    let version: pep440_rs::Version = "1.3.7".parse().unwrap();

    let stored = client.release_files(&name, &version).await.unwrap();
    assert!(!stored.is_empty(), "the fixture lists bottleneck 1.3.7");
    assert_eq!(index.stats().pages, 1);
    assert!(cache.is_available());

    // Another process (or the disk) breaks the database under this run.
    let mut other =
        sqlx::SqliteConnection::connect(&sqlite_url(&dir.path().join("np2audit.sqlite3")))
            .await
            .unwrap();
    sqlx::raw_sql("DROP TABLE release_files")
        .execute(&mut other)
        .await
        .unwrap();
    other.close().await.unwrap();

    let after = client.release_files(&name, &version).await.unwrap();
    assert!(
        !cache.is_available(),
        "the failed query turned the cache off"
    );
    assert_eq!(after, stored);
    assert_eq!(index.stats().pages, 2, "fetched again, once");
    let all = client.project_files(&name).await.unwrap();
    assert!(all.len() >= stored.len());
    assert_eq!(index.stats().pages, 2, "and kept for the rest of the run");
}

#[tokio::test]
async fn a_foreign_database_is_set_aside_not_written_into() {
    let index = start(0);
    let (_, expected) = reference(&index);
    let cache = tempfile::tempdir().unwrap();
    let file = cache.path().join("np2audit.sqlite3");
    let mut foreign = sqlx::SqliteConnection::connect(&sqlite_url(&file))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('keep me')")
        .execute(&mut foreign)
        .await
        .unwrap();
    foreign.close().await.unwrap();

    let run = tokio::task::spawn_blocking({
        let dir = cache.path().to_path_buf();
        move || audit(&index, &dir)
    })
    .await
    .unwrap();
    assert_eq!(verdicts(&run), expected);
    assert!(
        run.stderr.contains("not an np2audit cache"),
        "{}",
        run.stderr
    );
    let mut aside =
        sqlx::SqliteConnection::connect(&sqlite_url(&cache.path().join("np2audit.sqlite3.broken")))
            .await
            .unwrap();
    let kept: String = sqlx::query_scalar("SELECT text FROM notes")
        .fetch_one(&mut aside)
        .await
        .unwrap();
    assert_eq!(kept, "keep me");
}

#[tokio::test]
async fn a_cache_from_a_newer_np2audit_is_left_alone() {
    let index = start(0);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_path_buf();
    let first = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            let first = audit(&index, &dir);
            (index, first)
        }
    })
    .await
    .unwrap();
    let (index, first) = first;
    let expected = verdicts(&first);
    let file = dir.join("np2audit.sqlite3");
    let mut connection = sqlx::SqliteConnection::connect(&sqlite_url(&file))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (29991231000000, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();

    let run = tokio::task::spawn_blocking(move || audit(&index, &dir))
        .await
        .unwrap();
    assert_eq!(verdicts(&run), expected);
    assert!(run.stderr.contains("newer np2audit"), "{}", run.stderr);
    assert!(requests(&run) > 0, "this run worked from memory");
    let mut connection = sqlx::SqliteConnection::connect(&sqlite_url(&file))
        .await
        .unwrap();
    let future: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 29991231000000")
            .fetch_one(&mut connection)
            .await
            .unwrap();
    assert_eq!(future, 1, "the newer cache is untouched");
}

#[tokio::test]
async fn an_old_schema_is_migrated_keeping_what_stays_valid() {
    let cache = tempfile::tempdir().unwrap();
    // Schema 1 exactly as the first release made it.
    let first_only = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/20261121000000_initial.sql"),
        first_only.path().join("20261121000000_initial.sql"),
    )
    .unwrap();
    let file = cache.path().join("np2audit.sqlite3");
    let mut connection = sqlx::SqliteConnection::connect(&sqlite_url(&file))
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first_only.path())
        .await
        .unwrap()
        .run(&mut connection)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO core_metadata VALUES ('sha256:aa', 'a-1.0-py3-none-any.whl', 'Name: a', 1700000000);
         INSERT INTO wheel_scans VALUES ('sha256:aa', 1, 'a-1.0-py3-none-any.whl', '{}', 1700000000);
         INSERT INTO project_pages VALUES ('https://pypi.org/simple/', 'a', 1700000000, NULL, NULL, '[]');",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();

    let dir = cache.path().to_str().unwrap().to_string();
    let info =
        tokio::task::spawn_blocking(move || np2audit(&["cache", "info", "--cache-dir", &dir]))
            .await
            .unwrap();
    assert_eq!(info.code, 0, "{}", info.stderr);
    assert!(
        info.stdout.contains("Schema: 20261122000000"),
        "{}",
        info.stdout
    );
    // Metadata is forever; a schema-1 page held its files inline and is dropped (schema 2).
    assert!(
        info.stdout.contains("core metadata files           1"),
        "{}",
        info.stdout
    );
    assert!(
        info.stdout.contains("project pages                 0"),
        "{}",
        info.stdout
    );
    assert!(
        info.stdout.contains("1 scans by an older scanner"),
        "{}",
        info.stdout
    );
}

#[test]
fn cache_commands_report_clean_and_prune() {
    let index = start(0);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();

    let missing = np2audit(&["cache", "info", "--cache-dir", dir]);
    assert_eq!(missing.code, 0);
    assert!(
        missing.stdout.starts_with("No cache at "),
        "{}",
        missing.stdout
    );
    assert!(
        !cache.path().join("np2audit.sqlite3").exists(),
        "looking creates nothing"
    );
    let shown = np2audit(&["cache", "dir", "--cache-dir", dir]);
    assert_eq!(
        shown.stdout.trim(),
        cache.path().join("np2audit.sqlite3").display().to_string()
    );

    audit(&index, cache.path());
    let info = np2audit(&["cache", "info", "--cache-dir", dir]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    let count = |text: &str, what: &str| -> u64 {
        text.lines()
            .find(|line| line.trim_start().starts_with(what))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{what}` in\n{text}"))
    };
    assert!(count(&info.stdout, "project pages") >= 5, "{}", info.stdout);
    assert!(
        count(&info.stdout, "core metadata files") >= 3,
        "{}",
        info.stdout
    );

    let pruned = np2audit(&["cache", "prune", "--cache-dir", dir]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert!(pruned.stdout.starts_with("Pruned "), "{}", pruned.stdout);
    let after_prune = np2audit(&["cache", "info", "--cache-dir", dir]);
    assert_eq!(
        count(&after_prune.stdout, "project pages"),
        count(&info.stdout, "project pages"),
        "fresh pages are kept"
    );

    let one = np2audit(&["cache", "clean", "bottleneck", "--cache-dir", dir]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout.starts_with("Cleaned bottleneck from "),
        "{}",
        one.stdout
    );
    let after_one = np2audit(&["cache", "info", "--cache-dir", dir]);
    assert_eq!(
        count(&after_one.stdout, "project pages"),
        count(&info.stdout, "project pages") - 1
    );
    // The next audit fetches bottleneck's page again, and only what bottleneck needs.
    index.reset_stats();
    audit(&index, cache.path());
    let paths = index.stats().paths;
    assert!(paths.iter().any(|p| p.contains("bottleneck")), "{paths:?}");
    assert!(
        paths
            .iter()
            .all(|p| p.to_lowercase().contains("bottleneck")),
        "{paths:?}"
    );

    let all = np2audit(&["cache", "clean", "--cache-dir", dir]);
    assert!(
        all.stdout.starts_with("Cleaned everything from "),
        "{}",
        all.stdout
    );
    let empty = np2audit(&["cache", "info", "--cache-dir", dir]);
    assert_eq!(count(&empty.stdout, "project pages"), 0);
    assert_eq!(count(&empty.stdout, "wheel scans"), 0);

    let bad = np2audit(&["cache", "clean", "not a name!", "--cache-dir", dir]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("`not a name!` is not a package name"),
        "{}",
        bad.stderr
    );
}

/// The PostgreSQL tests share one database: one at a time.
static POSTGRES: Mutex<()> = Mutex::new(());

fn postgres_url() -> String {
    std::env::var("NP2AUDIT_TEST_POSTGRES_URL")
        .expect("set NP2AUDIT_TEST_POSTGRES_URL to a PostgreSQL database the tests may empty")
}

#[test]
#[ignore = "needs PostgreSQL: set NP2AUDIT_TEST_POSTGRES_URL (.ci/run starts one)"]
fn two_audits_share_a_postgres_cache_at_once() {
    let _one_at_a_time = POSTGRES.lock().unwrap_or_else(|e| e.into_inner());
    let url = postgres_url();
    let cleaned = np2audit(&["cache", "clean", "--cache-url", &url]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    let index = start(20);
    let (_, expected) = reference(&index);

    let first = spawn_audit(&index, &["--cache-url", &url]);
    let second = spawn_audit(&index, &["--cache-url", &url]);
    for run in [finish(first), finish(second)] {
        no_panic(&run);
        assert_eq!(verdicts(&run), expected, "{}", run.stderr);
        assert_eq!(run.stderr, "", "no cache trouble");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .arg("lock")
        .arg(lock())
        .args(["--python-platform", "linux", "--format", "json"])
        .args(["--index-url", &index.simple_url(), "--cache-url", &url])
        .output()
        .unwrap();
    let warm: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        warm["stats"]["requests"], 0,
        "the third run is served by the shared cache"
    );

    let info = np2audit(&["cache", "info", "--cache-url", &url]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    assert!(info.stdout.contains("(postgres)"), "{}", info.stdout);
    assert!(
        info.stdout.contains("Schema: 20261122000000"),
        "{}",
        info.stdout
    );
    let password = url::Url::parse(&url)
        .unwrap()
        .password()
        .unwrap_or("")
        .to_string();
    if !password.is_empty() {
        assert!(
            !info.stdout.contains(&password),
            "the password is never shown"
        );
    }
}

#[test]
#[ignore = "needs PostgreSQL: set NP2AUDIT_TEST_POSTGRES_URL (.ci/run starts one)"]
fn a_postgres_cache_that_refuses_us_costs_speed_not_the_audit() {
    let _one_at_a_time = POSTGRES.lock().unwrap_or_else(|e| e.into_inner());
    let mut url = url::Url::parse(&postgres_url()).unwrap();
    url.set_password(Some("wrong-s3cret-password")).unwrap();
    let index = start(0);
    let (_, expected) = reference(&index);
    let run = finish(spawn_audit(&index, &["--cache-url", url.as_str()]));
    assert_eq!(verdicts(&run), expected, "{}", run.stderr);
    assert!(run.stderr.contains("in-memory cache"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("wrong-s3cret-password"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("wrong-s3cret-password"));
}

/// Issue 16: scans cached by the scanner before it stopped taking a bare `numpy._core` for a
/// 2.x build are not trusted. A scan stored under the old version that says tensorkit 0.1.59
/// is 2.x-built (what that scanner concluded) is ignored, the wheel is scanned again, and the
/// verdict is the blocker it is.
#[tokio::test]
async fn scans_cached_by_the_scanner_before_the_chooser_rule_are_redone() {
    let index = start(0);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap().to_string();
    let check = |dir: String, url: String| {
        tokio::task::spawn_blocking(move || {
            np2audit(&[
                "check",
                "tensorkit==0.1.59",
                "--index-url",
                &url,
                "--cache-dir",
                &dir,
                "--python-version",
                "3.11",
                "--python-platform",
                "linux",
                "--target",
                "2.0.2",
                "--format",
                "json",
                "--no-fail",
            ])
        })
    };
    let first = check(dir.clone(), index.simple_url()).await.unwrap();
    assert_eq!(verdicts(&first)[0].2, "binary-blocker", "{}", first.stderr);

    // What scanner version 4 stored for it: the bare `numpy._core` read as a 2.x build.
    let mut connection =
        sqlx::SqliteConnection::connect(&sqlite_url(&cache.path().join("np2audit.sqlite3")))
            .await
            .unwrap();
    let old = r#"{"build":{"kind":"numpy2","member":"tensorkit/_tensorkit.cpython-311-x86_64-linux-gnu.so","oldest_numpy":null,"strings":["numpy._core"]},"scanned":["tensorkit/_tensorkit.cpython-311-x86_64-linux-gnu.so"],"unscanned":[]}"#;
    let updated = sqlx::query("UPDATE wheel_scans SET scanner_version = 4, result_json = $1 WHERE filename LIKE 'tensorkit-0.1.59-%' AND file_key NOT LIKE '%#source:%'")
        .bind(old)
        .execute(&mut connection)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    connection.close().await.unwrap();

    let again = check(dir, index.simple_url()).await.unwrap();
    assert_eq!(verdicts(&again)[0].2, "binary-blocker", "{}", again.stderr);
    assert!(requests(&again) > 0, "the old scan was not taken as it is");
}
