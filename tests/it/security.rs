//! Security end to end: index credentials from every source reach a protected fixture index and
//! nothing else (no output format, log, error message or cache file); TLS is verified, with a
//! custom CA only when the environment names it; an sdist is never fetched, built or run.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::fixture_index::basic_authorization;
use support::tls_proxy::{TestCa, TlsProxy};
use support::{Fault, FaultKind, FaultTarget, FixtureIndex, IndexOptions, Run};

/// The secret: distinctive, so any trace of it anywhere is found.
const TOKEN: &str = "s3cr3t-TOKEN-9f1c2e";
const USER: &str = "ci-bot";
const LOCK: &str = "testdata/lockfiles/fixture-project/uv.lock";

/// Environment variables that would change what np2audit trusts or sends, removed from every run
/// so the user's own settings cannot leak into (or rescue) a test.
const CLEARED: [&str; 15] = [
    "UV_INDEX_URL",
    "PIP_INDEX_URL",
    "NP2AUDIT_LOG",
    "NP2AUDIT_INDEX_USERNAME",
    "NP2AUDIT_INDEX_PASSWORD",
    "NETRC",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// np2audit with `args`, from the repository root, a fresh `HOME` (no `~/.netrc` of the user's)
/// and `env` on top of the cleared environment.
fn np2audit(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_np2audit"));
    command
        .args(args)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in CLEARED {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run np2audit");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `lock LOCK` for Linux into `cache`, with `extra` arguments.
fn lock_args<'a>(lock: &'a str, cache: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "lock",
        lock,
        "--python-platform",
        "linux",
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

fn protected_index() -> FixtureIndex {
    FixtureIndex::start(
        &support::descriptions_dir(),
        IndexOptions {
            basic_auth: Some((USER.into(), TOKEN.into())),
            ..IndexOptions::default()
        },
    )
}

/// `http://USER:TOKEN@127.0.0.1:PORT/simple`
fn with_credentials(url: &str, username: &str, password: &str) -> String {
    url.replacen("://", &format!("://{username}:{password}@"), 1)
}

/// Neither the secret nor the `Authorization` value that carries it appears in `text`.
fn assert_no_secret(secret: &str, text: &str, place: &str) {
    let header = basic_authorization(USER, secret);
    let encoded = header.trim_start_matches("Basic ");
    assert!(
        !text.contains(secret),
        "the secret shows in {place}:\n{text}"
    );
    assert!(
        !text.contains(encoded),
        "the encoded credentials show in {place}:\n{text}"
    );
}

fn assert_run_keeps_secret(secret: &str, run: &Run, what: &str) {
    assert_no_secret(secret, &run.stdout, &format!("stdout of {what}"));
    assert_no_secret(secret, &run.stderr, &format!("stderr of {what}"));
}

/// Every byte of every file under `dir` (the SQLite database, its `-wal` and `-shm`, anything
/// else), searched for the secret.
fn assert_folder_keeps_secret(secret: &str, dir: &Path) {
    let header = basic_authorization(USER, secret);
    let needles = [
        secret.as_bytes(),
        header.trim_start_matches("Basic ").as_bytes(),
    ];
    let mut files = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|window| window == needle),
                "{} holds the secret",
                path.display()
            );
        }
    }
    assert!(files > 0, "nothing was cached in {}", dir.display());
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    let mut verdicts: Vec<(String, String)> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

/// Each evidence message of the report's unknown packages, one per line.
fn unknown_reasons(report: &Value) -> String {
    let mut reasons = String::new();
    for package in report["packages"].as_array().unwrap() {
        if package["verdict"] == "unknown" {
            for evidence in package["evidence"].as_array().unwrap() {
                reasons.push_str(evidence["message"].as_str().unwrap_or(""));
                reasons.push('\n');
            }
        }
    }
    reasons
}

/// A credential source: its name, the lockfile, extra arguments and environment variables.
type Case<'a> = (&'a str, &'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);

#[test]
fn every_credential_source_opens_a_protected_index() {
    let index = protected_index();
    let home = tempfile::tempdir().unwrap();
    let bare = index.simple_url();
    let in_url = with_credentials(&bare, USER, TOKEN);

    // What an open index says about the project: each authenticated run must say the same.
    let open = FixtureIndex::start(&support::descriptions_dir(), IndexOptions::default());
    let cache = tempfile::tempdir().unwrap();
    let expected = np2audit(
        home.path(),
        &lock_args(
            LOCK,
            cache.path(),
            &["--index-url", &open.simple_url(), "--format", "json"],
        ),
        &[],
    );
    let expected_verdicts = verdicts(&expected.json());
    assert!(
        expected_verdicts
            .iter()
            .any(|(_, verdict)| verdict == "binary-blocker"),
        "{expected_verdicts:?}"
    );

    // uv's named index: `[[tool.uv.index]]` in the project's pyproject.toml, beside the lock.
    let project = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(LOCK),
        project.path().join("uv.lock"),
    )
    .unwrap();
    std::fs::write(
        project.path().join("pyproject.toml"),
        format!(
            "[project]\nname = \"fixture-app\"\nversion = \"0.1.0\"\n\n\
             [[tool.uv.index]]\nname = \"private-fixture.1\"\nurl = \"{bare}/\"\n"
        ),
    )
    .unwrap();
    let project_lock = project.path().join("uv.lock");
    let netrc = home.path().join("netrc-for-the-index");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1\n  login {USER}\n  password {TOKEN}\n"),
    )
    .unwrap();
    let netrc = netrc.to_str().unwrap();

    let cases: [Case; 7] = [
        (
            "the --index-url user info",
            LOCK,
            vec!["--index-url", &in_url],
            vec![],
        ),
        (
            "UV_INDEX_URL",
            LOCK,
            vec![],
            vec![("UV_INDEX_URL", in_url.as_str())],
        ),
        (
            "PIP_INDEX_URL",
            LOCK,
            vec![],
            vec![("PIP_INDEX_URL", in_url.as_str())],
        ),
        (
            "$NETRC",
            LOCK,
            vec!["--index-url", &bare],
            vec![("NETRC", netrc)],
        ),
        (
            "NP2AUDIT_INDEX_USERNAME/PASSWORD",
            LOCK,
            vec!["--index-url", &bare],
            vec![
                ("NP2AUDIT_INDEX_USERNAME", USER),
                ("NP2AUDIT_INDEX_PASSWORD", TOKEN),
            ],
        ),
        (
            "UV_INDEX_<NAME>_USERNAME/PASSWORD",
            project_lock.to_str().unwrap(),
            vec!["--index-url", &bare],
            vec![
                ("UV_INDEX_PRIVATE_FIXTURE_1_USERNAME", USER),
                ("UV_INDEX_PRIVATE_FIXTURE_1_PASSWORD", TOKEN),
            ],
        ),
        // Last: it writes `~/.netrc` into the test's HOME, which every later run would read.
        ("~/.netrc", LOCK, vec!["--index-url", &bare], vec![]),
    ];
    for (source, lock, mut extra, env) in cases {
        if source == "~/.netrc" {
            std::fs::copy(netrc, home.path().join(".netrc")).unwrap();
        }
        let cache = tempfile::tempdir().unwrap();
        extra.extend(["--format", "json", "-vv"]);
        index.reset_stats();
        let run = np2audit(home.path(), &lock_args(lock, cache.path(), &extra), &env);
        let report = run.json();
        assert_eq!(
            report["incomplete"],
            false,
            "{source}: {}\n{}",
            unknown_reasons(&report),
            run.stderr
        );
        assert_eq!(verdicts(&report), expected_verdicts, "{source}");
        assert_eq!(run.code, expected.code, "{source}: {}", run.stderr);
        let stats = index.stats();
        assert!(
            stats.authorized > 0 && stats.authorized == stats.requests,
            "{source}"
        );
        assert_run_keeps_secret(TOKEN, &run, source);
        assert_folder_keeps_secret(TOKEN, cache.path());
    }
}

#[test]
fn without_credentials_a_protected_index_leaves_packages_unknown_with_the_reason() {
    let index = protected_index();
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wrong = "wr0ng-TOKEN-77d1ab";
    let url = with_credentials(&index.simple_url(), USER, wrong);
    for (what, index_url) in [
        ("no credentials", index.simple_url()),
        ("wrong credentials", url),
    ] {
        let args = lock_args(
            LOCK,
            cache.path(),
            &[
                "--index-url",
                &index_url,
                "--target",
                "2.2.6",
                // The project's own `numpy<2` is a finding: without this, exit 1.
                "--no-fail",
                "--format",
                "json",
                "-vv",
            ],
        );
        let run = np2audit(home.path(), &args, &[]);
        assert_eq!(run.code, 3, "{what}: {}", run.stderr);
        let report = run.json();
        assert_eq!(report["incomplete"], true, "{what}");
        let bottleneck = package(&report, "bottleneck");
        assert_eq!(bottleneck["verdict"], "unknown", "{what}");
        let reason = bottleneck["evidence"][0]["message"].as_str().unwrap();
        assert!(
            reason.contains("HTTP 401") && reason.contains("credentials missing or refused"),
            "{what}: {reason}"
        );
        assert_run_keeps_secret(wrong, &run, what);
        assert_folder_keeps_secret(wrong, cache.path());
    }
}

#[test]
fn no_output_format_and_no_log_level_shows_the_secret() {
    let index = protected_index();
    let home = tempfile::tempdir().unwrap();
    let url = with_credentials(&index.simple_url(), USER, TOKEN);
    let mut caches = Vec::new();
    for format in ["table", "json", "markdown", "sarif", "github"] {
        let cache = tempfile::tempdir().unwrap();
        let run = np2audit(
            home.path(),
            &lock_args(
                LOCK,
                cache.path(),
                &["--index-url", &url, "--format", format],
            ),
            &[],
        );
        assert_eq!(run.code, 1, "{format}: blockers expected\n{}", run.stderr);
        assert!(
            run.stdout.contains("bottleneck"),
            "{format}: {}",
            run.stdout
        );
        assert_run_keeps_secret(TOKEN, &run, format);
        caches.push(cache);
    }
    // `-vv`, then everything every crate logs (reqwest, hyper, rustls, sqlx included).
    for (what, verbose, env) in [
        ("-vv", "-vv", vec![]),
        ("NP2AUDIT_LOG=trace", "-vv", vec![("NP2AUDIT_LOG", "trace")]),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let run = np2audit(
            home.path(),
            &lock_args(LOCK, cache.path(), &["--index-url", &url, verbose]),
            &env,
        );
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains("GET") && run.stderr.contains("/simple/bottleneck/"),
            "{what} logs the requests: {}",
            run.stderr
        );
        assert_run_keeps_secret(TOKEN, &run, what);
        caches.push(cache);
    }
    // A second run on a warm cache (revalidating pages) adds nothing of it either.
    let cache = caches.pop().unwrap();
    let run = np2audit(
        home.path(),
        &lock_args(
            LOCK,
            cache.path(),
            &["--index-url", &url, "--refresh", "-vv"],
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_run_keeps_secret(TOKEN, &run, "a refresh");
    caches.push(cache);
    for cache in &caches {
        assert_folder_keeps_secret(TOKEN, cache.path());
    }
}

/// A server that answers every request with 500.
fn always_failing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            });
        }
    });
    format!("http://{address}/simple")
}

/// An address nothing listens on.
fn refusing_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/simple")
}

#[test]
fn index_failures_name_their_cause_but_not_the_secret() {
    let home = tempfile::tempdir().unwrap();
    for (what, index_url, cause) in [
        ("HTTP 500", always_failing_server(), "HTTP 500"),
        (
            "a refused connection",
            refusing_address(),
            "could not connect",
        ),
    ] {
        let url = with_credentials(&index_url, USER, TOKEN);
        for format in ["json", "table"] {
            let cache = tempfile::tempdir().unwrap();
            let args = lock_args(
                LOCK,
                cache.path(),
                &[
                    "--index-url",
                    &url,
                    "--target",
                    "2.2.6",
                    // The project's own `numpy<2` is a finding: without this, exit 1.
                    "--no-fail",
                    "--format",
                    format,
                    "-vv",
                ],
            );
            let run = np2audit(home.path(), &args, &[]);
            assert_eq!(run.code, 3, "{what}, {format}: {}", run.stderr);
            assert!(
                run.stdout.contains(cause),
                "{what}, {format}: {}",
                run.stdout
            );
            assert_run_keeps_secret(TOKEN, &run, &format!("{what}, {format}"));
        }
        // Without --target the run stops early (the target cannot be chosen): that error too.
        let cache = tempfile::tempdir().unwrap();
        let run = np2audit(
            home.path(),
            &lock_args(LOCK, cache.path(), &["--index-url", &url]),
            &[],
        );
        assert_ne!(run.code, 0, "{what}");
        assert!(run.stderr.contains(cause), "{what}: {}", run.stderr);
        assert_run_keeps_secret(TOKEN, &run, &format!("{what}, early"));
    }
}

#[test]
fn files_on_another_host_get_the_index_credentials_never_and_netrc_ones_only_when_named() {
    let home = tempfile::tempdir().unwrap();
    // The index at 127.0.0.1 lists every file at `localhost` on another port (a CDN).
    let start = |cdn: Option<(&str, &str)>| {
        let cdn = FixtureIndex::start(
            &support::descriptions_dir(),
            IndexOptions {
                basic_auth: cdn.map(|(user, password)| (user.into(), password.into())),
                ..IndexOptions::default()
            },
        );
        let files_at = cdn.base_url().replace("127.0.0.1", "localhost");
        let faults = ["numpy", "bottleneck"]
            .map(|name| {
                Fault::always(
                    FaultTarget::Page(name.into()),
                    FaultKind::FilesAt(files_at.clone()),
                )
            })
            .to_vec();
        let index = FixtureIndex::start(
            &support::descriptions_dir(),
            IndexOptions {
                basic_auth: Some((USER.into(), TOKEN.into())),
                faults,
                ..IndexOptions::default()
            },
        );
        (index, cdn)
    };
    let check = |index: &FixtureIndex, env: &[(&str, &str)]| {
        let cache = tempfile::tempdir().unwrap();
        let url = with_credentials(&index.simple_url(), USER, TOKEN);
        let run = np2audit(
            home.path(),
            &[
                "check",
                "bottleneck==1.3.7",
                "--index-url",
                &url,
                "--python-version",
                "3.11",
                "--python-platform",
                "linux",
                "--format",
                "json",
                "--cache-dir",
                cache.path().to_str().unwrap(),
            ],
            env,
        );
        assert_run_keeps_secret(TOKEN, &run, "check");
        run
    };

    let (index, cdn) = start(None);
    let run = check(&index, &[]);
    assert_eq!(
        package(&run.json(), "bottleneck")["verdict"],
        "binary-blocker",
        "{}",
        run.stderr
    );
    let served = cdn.stats();
    assert!(served.requests > 0, "the files came from the other host");
    assert_eq!(served.authorized, 0, "the other host got credentials");
    assert!(index.stats().authorized > 0);

    // A netrc machine entry for the file host is its login, and only its.
    let cdn_token = "cdn-TOKEN-5e0b";
    let (index, cdn) = start(Some(("cdn-reader", cdn_token)));
    let netrc = home.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine localhost login cdn-reader password {cdn_token}\n"),
    )
    .unwrap();
    let run = check(&index, &[("NETRC", netrc.to_str().unwrap())]);
    assert_eq!(
        package(&run.json(), "bottleneck")["verdict"],
        "binary-blocker",
        "{}",
        run.stderr
    );
    assert_eq!(cdn.stats().authorized, cdn.stats().requests);
    assert_run_keeps_secret(cdn_token, &run, "check with a netrc");
}

/// `check bottleneck==1.3.7` against `index_url` with `env`.
fn check_over_tls(home: &Path, index_url: &str, env: &[(&str, &str)]) -> (Run, Value) {
    let cache = tempfile::tempdir().unwrap();
    let run = np2audit(
        home,
        &[
            "check",
            "bottleneck==1.3.7",
            "--index-url",
            index_url,
            "--target",
            "2.2.6",
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--format",
            "json",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        env,
    );
    let report = run.json();
    (run, report)
}

#[test]
fn tls_is_verified_and_a_custom_ca_is_trusted_only_when_named() {
    let index = FixtureIndex::start(&support::descriptions_dir(), IndexOptions::default());
    let ca = TestCa::generate();
    let proxy = TlsProxy::start(&index.base_url(), &ca);
    let home = tempfile::tempdir().unwrap();
    let url = format!("{}/simple", proxy.base_url());

    let (run, report) = check_over_tls(home.path(), &url, &[]);
    assert_eq!(
        run.code, 3,
        "an unknown CA must fail the run: {}",
        run.stderr
    );
    let bottleneck = package(&report, "bottleneck");
    assert_eq!(bottleneck["verdict"], "unknown");
    let reason = bottleneck["evidence"][0]["message"].as_str().unwrap();
    assert!(reason.contains("certificate"), "{reason}");
    assert_eq!(index.stats().requests, 0, "nothing got through the proxy");
    // A certificate that does not verify will not verify on a retry: one attempt per request
    // (the numpy page and bottleneck's), not four.
    assert!(
        proxy.connections() <= 2,
        "{} connections",
        proxy.connections()
    );
    // Said once, in the report, not again by the TLS library on stderr.
    assert!(!run.stderr.contains("failed to verify"), "{}", run.stderr);

    let ca_pem = ca.ca_pem();
    let ca_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&ca_pem, ca_dir.path().join("test-ca.pem")).unwrap();
    for (variable, value) in [
        ("SSL_CERT_FILE", ca_pem.clone()),
        ("SSL_CERT_DIR", ca_dir.path().to_path_buf()),
        ("REQUESTS_CA_BUNDLE", ca_pem.clone()),
    ] {
        index.reset_stats();
        let (run, report) =
            check_over_tls(home.path(), &url, &[(variable, value.to_str().unwrap())]);
        assert_eq!(run.code, 1, "{variable}: {}", run.stderr);
        assert_eq!(
            package(&report, "bottleneck")["verdict"],
            "binary-blocker",
            "{variable}: {}",
            unknown_reasons(&report)
        );
        assert!(index.stats().requests > 0, "{variable}");
    }

    // A bundle that cannot be read is an error, not a quiet fall back to the system store.
    let missing = home.path().join("no-such-bundle.pem");
    let missing = missing.to_str().unwrap();
    for variable in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"] {
        let cache = tempfile::tempdir().unwrap();
        let cache = cache.path().to_str().unwrap();
        let args = [
            "check",
            "bottleneck==1.3.7",
            "--index-url",
            &url,
            "--cache-dir",
            cache,
        ];
        let run = np2audit(home.path(), &args, &[(variable, missing)]);
        assert_eq!(run.code, 2, "{variable}: {}", run.stderr);
        assert!(
            run.stderr.contains(variable) && run.stderr.contains("no-such-bundle.pem"),
            "{}",
            run.stderr
        );
    }
}

/// A gzipped tar with `{root}/PKG-INFO`, `{root}/setup.py` and `{root}/pyproject.toml`.
fn sdist(root: &str, setup_py: &str) -> Vec<u8> {
    let pkg_info = "Metadata-Version: 2.1\nName: sdistonly\nVersion: 0.5.0\n";
    let pyproject =
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    let mut tar = Vec::new();
    for (name, text) in [
        ("PKG-INFO", pkg_info),
        ("setup.py", setup_py),
        ("pyproject.toml", pyproject),
    ] {
        let mut header = [0u8; 512];
        let path = format!("{root}/{name}");
        header[..path.len()].copy_from_slice(path.as_bytes());
        let fields: [(usize, String); 5] = [
            (100, format!("{:07o}\0", 0o644)),
            (108, format!("{:07o}\0", 0)),
            (116, format!("{:07o}\0", 0)),
            (124, format!("{:011o}\0", text.len())),
            (136, format!("{:011o}\0", 0)),
        ];
        for (offset, value) in fields {
            header[offset..offset + value.len()].copy_from_slice(value.as_bytes());
        }
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let checksum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
        header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
        tar.extend_from_slice(&header);
        tar.extend_from_slice(text.as_bytes());
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&tar).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn an_sdist_is_never_fetched_built_or_run() {
    let work = tempfile::tempdir().unwrap();
    let marker: PathBuf = work.path().join("setup-py-ran");
    // What any build of this sdist would run first.
    let setup_py = format!(
        "open({:?}, 'w').write('np2audit ran setup.py')\nfrom setuptools import setup\nsetup()\n",
        marker.to_str().unwrap()
    );
    let body = sdist("sdistonly-0.5.0", &setup_py);
    let index = FixtureIndex::start(
        &support::descriptions_dir(),
        IndexOptions {
            faults: vec![Fault::always(
                FaultTarget::File("sdistonly".into()),
                FaultKind::Body {
                    content_type: "application/gzip".into(),
                    body,
                },
            )],
            ..IndexOptions::default()
        },
    );
    let cache = tempfile::tempdir().unwrap();
    let run = np2audit(
        work.path(),
        &[
            "check",
            "sdistonly==0.5.0",
            "--index-url",
            &index.simple_url(),
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
            "--format",
            "json",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        &[],
    );
    let report = run.json();
    let sdistonly = package(&report, "sdistonly");
    assert_eq!(sdistonly["verdict"], "unknown", "{}", run.stderr);
    assert_eq!(sdistonly["evidence"][0]["code"], "sdist-only");
    assert!(!marker.exists(), "setup.py ran");
    let stats = index.stats();
    assert_eq!(stats.requests_to(".tar.gz"), 0, "the sdist was downloaded");
    assert!(stats.faults.is_empty());
}
