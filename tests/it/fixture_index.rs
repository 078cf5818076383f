//! Smoke tests for the offline fixture index in `tests/it/support`: the pages, files, ranges and
//! switches that the index client's tests will rely on.

use crate::support;

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::descriptions::Catalog;
use support::wheel_builder::{
    CYTHON_NUMPY1_IMPORT_FAILED, NUMPY1_MULTIARRAY_UMATH, NUMPY2_MULTIARRAY_UMATH,
};
use support::{FixtureIndex, IndexOptions, descriptions_dir, header, http_get, http_request};

const JSON: (&str, &str) = ("Accept", "application/vnd.pypi.simple.v1+json");
const BOTTLENECK_137: &str =
    "Bottleneck-1.3.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
const BOTTLENECK_140: &str =
    "Bottleneck-1.4.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";

fn start(options: IndexOptions) -> FixtureIndex {
    FixtureIndex::start(&descriptions_dir(), options)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn json_page(index: &FixtureIndex, project: &str) -> Value {
    let (status, headers, body) = http_get(&format!("{}/{project}/", index.simple_url()), &[JSON]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/vnd.pypi.simple.v1+json")
    );
    serde_json::from_slice(&body).expect("project page is JSON")
}

#[test]
fn json_project_page_lists_files_with_their_sha256() {
    let index = start(IndexOptions::default());
    let page = json_page(&index, "bottleneck");

    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(page["name"], "bottleneck");
    assert_eq!(page["versions"], serde_json::json!(["1.3.7", "1.4.0"]));
    let files = page["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    for file in files {
        let filename = file["filename"].as_str().unwrap();
        let bytes = index.file_bytes(filename).expect("listed file is built");
        assert_eq!(file["hashes"]["sha256"], sha256_hex(&bytes), "{filename}");
        assert_eq!(file["size"], bytes.len(), "{filename}");
        assert_eq!(file["url"], format!("../../files/{filename}"));
        assert_eq!(file["yanked"], false);
        assert!(file["upload-time"].as_str().unwrap().ends_with('Z'));
    }
    let old = &files[0];
    assert_eq!(old["filename"], BOTTLENECK_137);
    assert!(old.get("requires-python").is_none());
    assert!(old["core-metadata"]["sha256"].is_string());
    assert_eq!(old["core-metadata"], old["data-dist-info-metadata"]);
    let sdist = &files[1];
    assert_eq!(sdist["filename"], "Bottleneck-1.3.7.tar.gz");
    assert_eq!(sdist["core-metadata"], false);
    assert_eq!(files[2]["requires-python"], ">=3.9");
}

#[test]
fn project_names_are_normalized_and_the_trailing_slash_is_optional() {
    let index = start(IndexOptions::default());
    let simple = index.simple_url();

    let (status, _, body) = http_get(&format!("{simple}/bottleneck"), &[JSON]);
    assert_eq!(status, 200);
    assert!(contains(&body, BOTTLENECK_140));

    let (status, headers, _) = http_get(&format!("{simple}/BottleNeck/"), &[JSON]);
    assert_eq!(status, 301);
    assert_eq!(header(&headers, "location"), Some("/simple/bottleneck/"));

    let (status, _, _) = http_get(&format!("{simple}/no-such-project/"), &[JSON]);
    assert_eq!(status, 404);

    let (status, _, body) = http_get(&format!("{simple}/"), &[JSON]);
    assert_eq!(status, 200);
    let list: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = list["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|project| project["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Bottleneck") && names.contains(&"numpy"));
}

#[test]
fn html_page_is_served_when_json_is_off_or_not_asked_for() {
    let json_off = start(IndexOptions {
        json: false,
        ..IndexOptions::default()
    });
    let (status, headers, body) =
        http_get(&format!("{}/bottleneck/", json_off.simple_url()), &[JSON]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("text/html"));
    let html = String::from_utf8(body).unwrap();
    let sha256 = json_off.file_sha256(BOTTLENECK_140).unwrap();
    let (_, _, metadata) = http_get(
        &format!("{}.metadata", json_off.file_url(BOTTLENECK_140)),
        &[],
    );
    let expected = format!(
        "<a href=\"../../files/{BOTTLENECK_140}#sha256={sha256}\" data-requires-python=\"&gt;=3.9\" data-core-metadata=\"sha256={}\"",
        sha256_hex(&metadata)
    );
    assert!(html.contains(&expected), "{html}");

    // The default index still answers HTML to a client that does not ask for JSON.
    let index = start(IndexOptions::default());
    let (_, headers, body) = http_get(&format!("{}/oldcap/", index.simple_url()), &[]);
    assert_eq!(header(&headers, "content-type"), Some("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("data-yanked=\"broken &lt;import&gt; &amp; packaging\""),
        "{html}"
    );
}

#[test]
fn pages_revalidate_with_etags() {
    let index = start(IndexOptions::default());
    let url = format!("{}/numpy/", index.simple_url());
    let (_, headers, _) = http_get(&url, &[JSON]);
    let etag = header(&headers, "etag")
        .expect("pages carry an ETag")
        .to_string();

    let (status, headers, body) = http_get(&url, &[JSON, ("If-None-Match", &etag)]);
    assert_eq!(status, 304);
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    assert!(body.is_empty());

    // The HTML form is a different representation with its own tag.
    let (status, _, _) = http_get(&url, &[("If-None-Match", &etag)]);
    assert_eq!(status, 200);
}

#[test]
fn metadata_files_carry_the_wheels_metadata() {
    let index = start(IndexOptions::default());
    let page = json_page(&index, "bottleneck");
    let advertised = page["files"][2]["core-metadata"]["sha256"].clone();

    let (status, _, body) = http_get(&format!("{}.metadata", index.file_url(BOTTLENECK_140)), &[]);
    assert_eq!(status, 200);
    assert!(body.starts_with(b"Metadata-Version"));
    assert!(contains(&body, "Requires-Dist: numpy"));
    assert_eq!(advertised, sha256_hex(&body));

    // It is byte for byte the METADATA member of the wheel.
    let wheel = index.file_bytes(BOTTLENECK_140).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(wheel)).unwrap();
    let mut member = Vec::new();
    archive
        .by_name("Bottleneck-1.4.0.dist-info/METADATA")
        .unwrap()
        .read_to_end(&mut member)
        .unwrap();
    assert_eq!(member, body);
}

#[test]
fn metadata_can_be_hidden_from_pages_and_from_the_file_host() {
    let index = start(IndexOptions {
        core_metadata_field: false,
        metadata_files: false,
        ..IndexOptions::default()
    });
    let page = json_page(&index, "bottleneck");
    assert!(page["files"][0].get("core-metadata").is_none());
    assert!(page["files"][0].get("data-dist-info-metadata").is_none());

    let (status, _, _) = http_get(&format!("{}.metadata", index.file_url(BOTTLENECK_137)), &[]);
    assert_eq!(status, 404);
    assert_eq!(index.stats().metadata, 1);
}

#[test]
fn ranges_are_honoured() {
    let index = start(IndexOptions::default());
    let url = index.file_url(BOTTLENECK_137);
    let wheel = index.file_bytes(BOTTLENECK_137).unwrap();
    let length = wheel.len();

    let (status, headers, body) = http_get(&url, &[("Range", "bytes=-100")]);
    assert_eq!(status, 206);
    assert_eq!(body, wheel[length - 100..]);
    let content_range = format!("bytes {}-{}/{length}", length - 100, length - 1);
    assert_eq!(
        header(&headers, "content-range"),
        Some(content_range.as_str())
    );
    assert_eq!(header(&headers, "accept-ranges"), Some("bytes"));

    let (status, _, body) = http_get(&url, &[("Range", "bytes=0-3")]);
    assert_eq!(status, 206);
    assert_eq!(body, b"PK\x03\x04");

    let (status, _, body) = http_get(&url, &[("Range", &format!("bytes={}-", length - 10))]);
    assert_eq!(status, 206);
    assert_eq!(body, wheel[length - 10..]);

    let (status, headers, _) = http_get(&url, &[("Range", &format!("bytes={length}-"))]);
    assert_eq!(status, 416);
    let unsatisfied = format!("bytes */{length}");
    assert_eq!(
        header(&headers, "content-range"),
        Some(unsatisfied.as_str())
    );
}

#[test]
fn ranges_can_be_refused() {
    let index = start(IndexOptions {
        ranges: false,
        ..IndexOptions::default()
    });
    let wheel = index.file_bytes(BOTTLENECK_137).unwrap();
    let (status, headers, body) =
        http_get(&index.file_url(BOTTLENECK_137), &[("Range", "bytes=-100")]);
    assert_eq!(status, 200);
    assert_eq!(body, wheel);
    assert_eq!(header(&headers, "accept-ranges"), None);
    assert_eq!(index.stats().range_requests, 1);
}

#[test]
fn head_answers_with_headers_only() {
    let index = start(IndexOptions::default());
    let wheel = index.file_bytes(BOTTLENECK_140).unwrap();
    let (status, headers, body) = http_request("HEAD", &index.file_url(BOTTLENECK_140), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-length"),
        Some(wheel.len().to_string().as_str())
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/octet-stream")
    );
    assert!(body.is_empty());
    assert_eq!(index.stats().bytes_sent, 0);
}

#[test]
fn stats_count_requests_by_kind() {
    let index = start(IndexOptions::default());
    json_page(&index, "bottleneck");
    index.reset_stats();

    let file = index.file_url(BOTTLENECK_140);
    json_page(&index, "numpy");
    http_get(&format!("{file}.metadata"), &[]);
    http_get(&file, &[]);
    http_get(&file, &[("Range", "bytes=-100")]);
    http_get(&format!("{}/missing.whl", index.base_url()), &[]);

    let stats = index.stats();
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.pages, 1);
    assert_eq!(stats.metadata, 1);
    assert_eq!(stats.file_requests, 2);
    assert_eq!(stats.range_requests, 1);
    assert_eq!(stats.paths[0], "/simple/numpy/");
    assert_eq!(stats.paths[2], format!("/files/{BOTTLENECK_140}"));
    let wheel_length = index.file_bytes(BOTTLENECK_140).unwrap().len() as u64;
    assert!(stats.bytes_sent > wheel_length + 100);
}

#[test]
fn wheels_are_zips_whose_shared_objects_carry_the_signature() {
    let index = start(IndexOptions::default());
    let read_member = |filename: &str, member: &str| {
        let wheel = index.file_bytes(filename).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(wheel)).unwrap();
        let mut bytes = Vec::new();
        archive
            .by_name(member)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    };

    // Filler is incompressible, so the wheel is about as large as its members.
    let wheel = index.file_bytes(BOTTLENECK_137).unwrap();
    assert!(wheel.len() > 300_000, "{}", wheel.len());
    let archive = zip::ZipArchive::new(Cursor::new(wheel)).unwrap();
    let names: Vec<&str> = archive.file_names().collect();
    for expected in ["METADATA", "WHEEL", "RECORD"] {
        let member = format!("Bottleneck-1.3.7.dist-info/{expected}");
        assert!(names.contains(&member.as_str()), "{names:?}");
    }
    assert!(names.contains(&"bottleneck/__init__.py"));

    let numpy1 = read_member(
        BOTTLENECK_137,
        "bottleneck/reduce.cpython-311-x86_64-linux-gnu.so",
    );
    assert_eq!(numpy1.len(), 200_000);
    assert!(numpy1.starts_with(b"\x7fELF"));
    assert!(contains(&numpy1, NUMPY1_MULTIARRAY_UMATH));
    assert!(contains(&numpy1, "_ARRAY_API"));
    assert!(contains(&numpy1, CYTHON_NUMPY1_IMPORT_FAILED));
    assert!(!contains(&numpy1, "numpy._core"));

    let numpy2 = read_member(
        BOTTLENECK_140,
        "bottleneck/reduce.cpython-311-x86_64-linux-gnu.so",
    );
    assert!(contains(&numpy2, NUMPY2_MULTIARRAY_UMATH));
    assert!(contains(&numpy2, NUMPY1_MULTIARRAY_UMATH));

    let plainlib = "plainlib-17.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    let extension = read_member(plainlib, "plainlib/lib.cpython-311-x86_64-linux-gnu.so");
    assert!(!contains(&extension, "numpy"));
    let library = read_member(plainlib, "plainlib/libplain_python.so.1700");
    assert!(contains(&library, NUMPY1_MULTIARRAY_UMATH));

    let wheel_file = read_member(
        "oldcap-1.0.0-py3-none-any.whl",
        "oldcap-1.0.0.dist-info/WHEEL",
    );
    assert!(contains(&wheel_file, "Root-Is-Purelib: true"));
}

#[test]
fn sdists_are_gzipped_tars_with_pkg_info() {
    let index = start(IndexOptions::default());
    let sdist = index.file_bytes("sdistonly-0.5.0.tar.gz").unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&sdist[..])
        .read_to_end(&mut tar)
        .unwrap();
    assert!(tar.starts_with(b"sdistonly-0.5.0/PKG-INFO\0"));
    assert!(contains(&tar, "Requires-Dist: numpy>=1.21"));
}

#[test]
fn builds_are_deterministic() {
    // `FixtureIndex::start` shares one build per process, so build twice by hand.
    let first = Catalog::build(&descriptions_dir());
    let second = Catalog::build(&descriptions_dir());
    assert!(first.files.len() > 20, "{}", first.files.len());
    assert_eq!(first.files.len(), second.files.len());
    for (filename, file) in &first.files {
        assert_eq!(file.sha256, second.files[filename].sha256, "{filename}");
    }
}

#[test]
fn connections_are_kept_alive() {
    let index = start(IndexOptions::default());
    let address = index.base_url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    for _ in 0..3 {
        write!(
            stream,
            "GET /simple/oldcap/ HTTP/1.1\r\nHost: {address}\r\nAccept: {}\r\n\r\n",
            JSON.1
        )
        .unwrap();
        let (status, length) = read_head(&mut reader);
        assert_eq!(status, 200);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }
    assert_eq!(index.stats().requests, 3);
}

/// Status and Content-Length of one response read from a kept-alive connection.
fn read_head(reader: &mut impl std::io::BufRead) -> (u16, usize) {
    let mut status = 0;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            return (status, length);
        }
        if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
            status = code[..3].parse().unwrap();
        } else if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
}

#[tokio::test]
async fn a_pooling_reqwest_client_works_against_it() {
    let index = start(IndexOptions {
        latency: Some(std::time::Duration::from_millis(20)),
        ..IndexOptions::default()
    });
    let client = reqwest::Client::new();
    let page_url = url::Url::parse(&format!("{}/bottleneck/", index.simple_url())).unwrap();
    let page: Value = client
        .get(page_url.clone())
        .header(JSON.0, JSON.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Resolve every relative file URL and fetch the tails concurrently, several times over.
    let mut requests = Vec::new();
    for _ in 0..3 {
        for file in page["files"].as_array().unwrap() {
            let url = page_url.join(file["url"].as_str().unwrap()).unwrap();
            let request = client.get(url).header("Range", "bytes=-22").send();
            requests.push(async move { request.await.unwrap().bytes().await.unwrap() });
        }
    }
    let tails = futures::future::join_all(requests).await;
    assert_eq!(tails.len(), 18);
    for (tail, file) in tails
        .iter()
        .zip(page["files"].as_array().unwrap().iter().cycle())
    {
        let bytes = index
            .file_bytes(file["filename"].as_str().unwrap())
            .unwrap();
        assert_eq!(tail[..], bytes[bytes.len() - 22..]);
    }
    assert_eq!(index.stats().range_requests, 18);
}
