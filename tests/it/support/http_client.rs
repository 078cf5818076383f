//! A minimal blocking HTTP/1.1 client for poking the fixture index directly: one request per
//! connection (`Connection: close`), no redirects, no TLS, no chunked bodies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Response headers in the order received; names as sent by the server.
pub type Headers = Vec<(String, String)>;

/// `GET url` with extra request headers; returns status, headers and body.
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, Headers, Vec<u8>) {
    http_request("GET", url, headers)
}

/// Any bodiless request (`GET`, `HEAD`, …). Panics on network or protocol errors.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, Headers, Vec<u8>) {
    let url = url::Url::parse(url).unwrap_or_else(|error| panic!("bad url {url:?}: {error}"));
    assert_eq!(url.scheme(), "http", "only plain http is supported");
    let host = url.host_str().expect("url has a host");
    let port = url.port_or_known_default().expect("url has a port");
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };

    let mut stream = TcpStream::connect((host, port))
        .unwrap_or_else(|error| panic!("connect {host}:{port}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set read timeout");
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send request");

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_response(&raw, method == "HEAD")
}

/// The first header value named `name` (case-insensitive).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Splits a complete HTTP/1.1 response into status, headers and body (cut to
/// `Content-Length`, and empty for HEAD).
pub fn parse_response(raw: &[u8], head_only: bool) -> (u16, Headers, Vec<u8>) {
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("response has a complete head");
    let head = std::str::from_utf8(&raw[..head_end]).expect("response head is UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();

    let mut body = if head_only {
        Vec::new()
    } else {
        raw[head_end + 4..].to_vec()
    };
    if let Some(length) = header(&headers, "content-length").and_then(|value| value.parse().ok()) {
        body.truncate(length);
    }
    (status, headers, body)
}
