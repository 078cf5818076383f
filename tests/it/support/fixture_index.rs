//! The fixture index: a small hand-written HTTP/1.1 server on 127.0.0.1 that speaks the Simple
//! API (PEP 503 HTML, PEP 691 JSON), serves PEP 658 `.metadata` files and honours byte ranges.
//!
//! It runs on its own tokio runtime in a background thread, so sync and async tests can use it
//! alike. Connections are kept alive (HTTP/1.1) until the client closes them; idle connections
//! are never closed by the server, which keeps pooling clients such as reqwest free of races.
//!
//! [`Fault`]s make it misbehave on purpose for chosen requests (error statuses, stalls, resets,
//! truncated or oversized bodies, redirect loops, ignored ranges), and [`Blackhole`] is an
//! address that never completes a connection, so tests can check how clients survive a bad
//! network.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::descriptions::{Catalog, IndexFile, Project, Yanked};
use super::normalize_name;
use super::wheel_builder::sha256_hex;

const JSON_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+json";
const HTML_CONTENT_TYPE: &str = "text/html";
const FILE_CONTENT_TYPE: &str = "application/octet-stream";
/// Requests with a larger head than this are refused.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How the index behaves; each switch imitates a kind of real index or mirror.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Serve PEP 691 JSON to clients that ask for it; if false, always HTML.
    pub json: bool,
    /// Advertise core metadata on project pages (`core-metadata` / `data-core-metadata` and the
    /// legacy `dist-info-metadata` spellings).
    pub core_metadata_field: bool,
    /// Serve `<file-url>.metadata`; if false, those answer 404.
    pub metadata_files: bool,
    /// Honour single `Range: bytes=…` requests with 206; if false, ignore `Range` and send 200.
    pub ranges: bool,
    /// Sleep this long before each response.
    pub latency: Option<Duration>,
    /// Misbehaviours, tried in order: a request gets the first that matches it and has uses left.
    pub faults: Vec<Fault>,
    /// Answer 401 to every request without `Authorization: Basic` for this user and password.
    pub basic_auth: Option<(String, String)>,
    /// Gzip pages and `.metadata` files for clients that accept it, as PyPI does.
    pub gzip: bool,
}

/// A misbehaviour for the requests one [`FaultTarget`] matches.
#[derive(Debug, Clone)]
pub struct Fault {
    pub target: FaultTarget,
    pub kind: FaultKind,
    /// Misbehave on the first `n` matching requests only, then answer normally (a transient
    /// fault that retries can outlast); `None`: on every one.
    pub times: Option<u64>,
}

impl Fault {
    /// A fault on every matching request.
    pub fn always(target: FaultTarget, kind: FaultKind) -> Fault {
        Fault {
            target,
            kind,
            times: None,
        }
    }

    /// A fault on the first `times` matching requests.
    pub fn first(times: u64, target: FaultTarget, kind: FaultKind) -> Fault {
        Fault {
            target,
            kind,
            times: Some(times),
        }
    }
}

/// Which requests a fault applies to, by project (any spelling; compared normalized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// The project page, `/simple/{project}/`.
    Page(String),
    /// The `.metadata` files of the project's wheels.
    Metadata(String),
    /// The project's distribution files, whole or ranged.
    File(String),
    /// One release's distribution files and `.metadata` files: (project, version).
    Release(String, String),
}

/// How a faulty response goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and a short text body, with `Retry-After: {seconds}` if given.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Send the head and half the body, then neither send nor close: a client's read timeout.
    Stall,
    /// Send the head and half the body, then reset the connection (RST).
    Reset,
    /// Announce the whole body's length, send half of it, then close the connection cleanly.
    Truncate,
    /// The normal response under another `Content-Type`.
    ContentType(String),
    /// Status 200 with this body and content type instead of the normal response.
    Body { content_type: String, body: Vec<u8> },
    /// The normal response, announced as `Content-Encoding: gzip` but sent as it is: a body
    /// that does not inflate.
    NotGzip,
    /// Redirect (302) to the very URL asked for, forever.
    RedirectLoop,
    /// Announce a `Content-Length` of this many bytes, send a few, then close.
    ClaimLength(u64),
    /// Ignore `Range` and answer 200 with the whole file, as some mirrors do.
    IgnoreRange,
    /// A project page whose files are listed at absolute URLs under this base URL instead
    /// (e.g. a [`Blackhole`]), as indexes that keep files on another host do.
    FilesAt(String),
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            json: true,
            core_metadata_field: true,
            metadata_files: true,
            ranges: true,
            latency: None,
            faults: Vec::new(),
            basic_auth: None,
            gzip: false,
        }
    }
}

/// What the server has been asked so far.
#[derive(Debug, Clone, Default)]
pub struct IndexStats {
    /// Every request, whatever its path or outcome.
    pub requests: u64,
    /// Requests under `/simple` (project list and project pages, including 304s and 404s).
    pub pages: u64,
    /// Requests for `<file>.metadata`, including those answered 404.
    pub metadata: u64,
    /// Requests for files under `/files/` other than `.metadata`, full and ranged.
    pub file_requests: u64,
    /// Those file requests that carried a `Range` header (whether or not it was honoured).
    pub range_requests: u64,
    /// Body bytes sent (HEAD and 304 responses send none; for faults, what the response
    /// would have carried).
    pub bytes_sent: u64,
    /// Requests answered with a fault, and by which one (its position in `IndexOptions.faults`).
    pub faults: Vec<usize>,
    /// Request targets in the order they arrived.
    pub paths: Vec<String>,
    /// Requests that carried an `Authorization` header, right or wrong.
    pub authorized: u64,
    /// The most requests under way at once (read, not yet answered).
    pub max_in_flight: usize,
    /// When each request arrived, in order.
    pub arrivals: Vec<std::time::Instant>,
}

/// A running fixture index; dropping it stops the server.
pub struct FixtureIndex {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    catalog: Arc<Catalog>,
    options: IndexOptions,
    stats: Mutex<IndexStats>,
    /// Requests read and not yet answered.
    in_flight: Mutex<usize>,
}

impl IndexStats {
    /// How many requests fault number `fault` answered.
    pub fn faulted(&self, fault: usize) -> usize {
        self.faults.iter().filter(|&&used| used == fault).count()
    }

    /// How many rounds of requests arrived, one after another: a request more than `gap` after
    /// the first of the current round starts a new one. With the index's latency as `gap`, the
    /// number of round trips a client waited for, whatever the machine's load.
    pub fn rounds(&self, gap: Duration) -> usize {
        let mut rounds = 0;
        let mut round_start = None;
        for &arrival in &self.arrivals {
            if round_start.is_none_or(|start: std::time::Instant| arrival - start > gap) {
                rounds += 1;
                round_start = Some(arrival);
            }
        }
        rounds
    }

    /// How many requests went to a path ending with `suffix` (the query ignored).
    pub fn requests_to(&self, suffix: &str) -> usize {
        self.paths
            .iter()
            .filter(|path| path.split('?').next().unwrap_or("").ends_with(suffix))
            .count()
    }
}

impl FixtureIndex {
    /// Builds every package described in `descriptions_dir` (once per test process; see
    /// `Catalog::cached`), starts the server on 127.0.0.1 (any free port) and returns once it
    /// listens.
    pub fn start(descriptions_dir: &Path, options: IndexOptions) -> FixtureIndex {
        let catalog = Catalog::cached(descriptions_dir);
        let shared = Arc::new(Shared {
            catalog,
            options,
            stats: Mutex::new(IndexStats::default()),
            in_flight: Mutex::new(0),
        });

        // Bind before spawning, so the port is listening by the time `start` returns.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fixture index");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let address = listener.local_addr().expect("listener address");

        let (shutdown, shutdown_signal) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fixture-index".into())
            .spawn(move || serve(listener, thread_shared, shutdown_signal))
            .expect("spawn fixture index thread");

        FixtureIndex {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `http://127.0.0.1:PORT/simple`
    pub fn simple_url(&self) -> String {
        format!("{}/simple", self.base_url())
    }

    /// The absolute URL a file is served at.
    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.base_url())
    }

    pub fn stats(&self) -> IndexStats {
        self.shared.stats.lock().unwrap().clone()
    }

    pub fn reset_stats(&self) {
        *self.shared.stats.lock().unwrap() = IndexStats::default();
    }

    /// The built bytes of a wheel or sdist, by filename.
    pub fn file_bytes(&self, filename: &str) -> Option<Vec<u8>> {
        let file = self.shared.catalog.files.get(filename)?;
        Some(file.bytes.as_ref().clone())
    }

    /// The sha256 (lowercase hex) of a built file, by filename.
    pub fn file_sha256(&self, filename: &str) -> Option<String> {
        let file = self.shared.catalog.files.get(filename)?;
        Some(file.sha256.clone())
    }

    /// Filenames of a project's files, in listing order.
    pub fn filenames(&self, project: &str) -> Vec<String> {
        self.shared
            .catalog
            .projects
            .get(&normalize_name(project))
            .map(|project| project.files.iter().map(|file| file.filename.clone()))
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Drop for FixtureIndex {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server thread: accept until told to stop. Dropping the runtime at the end cancels
/// every connection task still running.
fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    shutdown_signal: oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("fixture index runtime");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("tokio listener");
        let accept_loop = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
            }
        };
        tokio::select! {
            _ = shutdown_signal => {}
            _ = accept_loop => {}
        }
    });
}

/// One parsed request head (bodies are read and discarded).
struct Request {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn wants_close(&self) -> bool {
        let connection = self.header("connection").unwrap_or("");
        let has_token = |token: &str| {
            connection
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        };
        if self.http10 {
            !has_token("keep-alive")
        } else {
            has_token("close")
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delivery: Delivery,
}

/// How a response goes out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Whole,
    /// Head and half the body, then silence until the client gives up.
    Stall,
    /// Head and half the body, then a reset.
    Reset,
    /// Head and half the body, then a clean close.
    Truncate,
    /// A head announcing this length, a few bytes of body, then a clean close.
    ClaimLength(u64),
}

impl Response {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
            delivery: Delivery::Whole,
        }
    }

    fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delivery: Delivery::Whole,
        }
    }

    fn not_found() -> Response {
        Response::new(404, "text/plain", b"not found\n".to_vec())
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    fn with_content_type(mut self, content_type: &str) -> Response {
        self.headers.retain(|(name, _)| *name != "Content-Type");
        self.with_header("Content-Type", content_type)
    }
}

/// One request under way, counted from when it is read until its response is written (or the
/// connection ends).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> InFlight<'a> {
        let mut in_flight = shared.in_flight.lock().unwrap();
        let mut stats = shared.stats.lock().unwrap();
        stats.arrivals.push(std::time::Instant::now());
        *in_flight += 1;
        stats.max_in_flight = stats.max_in_flight.max(*in_flight);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        *self.0.in_flight.lock().unwrap() -= 1;
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let request = match read_request(&mut reader).await {
            Ok(Some(request)) => request,
            // The client closed the connection between requests.
            Ok(None) => return,
            Err(reason) => {
                let response = Response::new(400, "text/plain", format!("{reason}\n").into());
                let _ = write_response(&mut writer, response, false, true).await;
                return;
            }
        };
        let _under_way = InFlight::enter(&shared);
        if let Some(latency) = shared.options.latency {
            tokio::time::sleep(latency).await;
        }
        let head_only = request.method == "HEAD";
        // Stats are recorded before the response goes out, so a test that has its answer
        // always sees the request counted.
        let response = respond(&shared, &request);
        let close = request.wants_close();
        match response.delivery {
            Delivery::Whole => {}
            Delivery::Stall => {
                let _ = write_partial(&mut writer, &response, None).await;
                // The runtime is dropped with the index, which ends this wait.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Delivery::Reset => {
                let _ = write_partial(&mut writer, &response, None).await;
                // Zero linger turns the close into a reset; reuniting keeps the write half from
                // sending a clean FIN first.
                if let Ok(stream) = reader.into_inner().reunite(writer) {
                    let _ = stream.set_zero_linger();
                }
                return;
            }
            Delivery::Truncate => {
                let _ = write_partial(&mut writer, &response, None).await;
                let _ = writer.shutdown().await;
                return;
            }
            Delivery::ClaimLength(length) => {
                let _ = write_partial(&mut writer, &response, Some(length)).await;
                let _ = writer.shutdown().await;
                return;
            }
        }
        if write_response(&mut writer, response, head_only, close)
            .await
            .is_err()
            || close
        {
            return;
        }
    }
}

/// The head of `response` announcing `length` (default: the whole body), then the first half of
/// the body (at most 4 KiB when a length is claimed).
async fn write_partial<W>(
    writer: &mut W,
    response: &Response,
    length: Option<u64>,
) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let announced = length.unwrap_or(response.body.len() as u64);
    head.push_str(&format!(
        "Content-Length: {announced}\r\nServer: np2audit-fixture-index\r\n\r\n"
    ));
    writer.write_all(head.as_bytes()).await?;
    let sent = match length {
        Some(_) => response.body.len().min(4096),
        None => response.body.len() / 2,
    };
    writer.write_all(&response.body[..sent]).await?;
    writer.flush().await
}

/// Reads one request head; `Ok(None)` on a clean end of stream before any byte of it.
async fn read_request<R>(reader: &mut BufReader<R>) -> Result<Option<Request>, String>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut lines: Vec<String> = Vec::new();
    let mut head_bytes = 0;
    loop {
        let mut line = Vec::new();
        let read = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|error| error.to_string())?;
        if read == 0 {
            return if lines.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside a request head".into())
            };
        }
        head_bytes += read;
        if head_bytes > MAX_HEAD_BYTES {
            return Err("request head too large".into());
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if line.is_empty() {
            // Blank lines before the request line are allowed (RFC 9112 §2.2); after it, one
            // ends the head.
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }

    let mut request_line = lines[0].split_whitespace();
    let (Some(method), Some(target), Some(version), None) = (
        request_line.next(),
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) else {
        return Err(format!("malformed request line {:?}", lines[0]));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("unsupported protocol {version:?}"));
    }
    let mut headers = Vec::new();
    for line in &lines[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line {line:?}"));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
        http10: version == "HTTP/1.0",
        headers,
    };

    // GET and HEAD carry no body, but skip one if a client sends it anyway.
    if request.header("transfer-encoding").is_some() {
        return Err("request bodies with transfer-encoding are not supported".into());
    }
    if let Some(length) = request.header("content-length") {
        let length: u64 = length
            .parse()
            .map_err(|_| format!("bad content-length {length:?}"))?;
        let mut discard = reader.take(length);
        tokio::io::copy(&mut discard, &mut tokio::io::sink())
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(Some(request))
}

async fn write_response<W>(
    writer: &mut W,
    response: Response,
    head_only: bool,
    close: bool,
) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // 304 has no body and must not announce one; everything else gets a length (for HEAD,
    // the length a GET would have had).
    if response.status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    head.push_str("Server: np2audit-fixture-index\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes()).await?;
    if !head_only && response.status != 304 {
        writer.write_all(&response.body).await?;
    }
    writer.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Routes a request, records it in the stats, and builds the response (faulty, if a fault
/// matches it).
fn respond(shared: &Shared, request: &Request) -> Response {
    let path = percent_decode(request.target.split(['?', '#']).next().unwrap_or(""));
    let mut stats = shared.stats.lock().unwrap();
    stats.requests += 1;
    stats.paths.push(request.target.clone());
    let authorization = request.header("authorization");
    if authorization.is_some() {
        stats.authorized += 1;
    }
    if let Some((username, password)) = &shared.options.basic_auth
        && authorization != Some(basic_authorization(username, password).as_str())
    {
        return Response::new(401, "text/plain", b"unauthorized\n".to_vec())
            .with_header("WWW-Authenticate", "Basic realm=\"fixture\"");
    }

    // What the request is for, in the terms faults use.
    let target = if path == "/simple" || path.starts_with("/simple/") {
        let name = path.strip_prefix("/simple").unwrap_or("").trim_matches('/');
        (!name.is_empty()).then(|| FaultTarget::Page(normalize_name(name)))
    } else if let Some(filename) = path.strip_prefix("/files/") {
        if let Some(file) = shared.catalog.files.get(filename) {
            Some(FaultTarget::File(file.project.clone()))
        } else {
            filename
                .strip_suffix(".metadata")
                .and_then(|wheel| shared.catalog.files.get(wheel))
                .map(|file| FaultTarget::Metadata(file.project.clone()))
        }
    } else {
        None
    };
    // A file request is also a request for its release's files.
    let release = path.strip_prefix("/files/").and_then(|filename| {
        let file = shared.catalog.files.get(filename).or_else(|| {
            filename
                .strip_suffix(".metadata")
                .and_then(|wheel| shared.catalog.files.get(wheel))
        })?;
        Some(FaultTarget::Release(
            file.project.clone(),
            file.version.clone(),
        ))
    });
    let fault = shared
        .options
        .faults
        .iter()
        .enumerate()
        .find(|(position, fault)| {
            [target.as_ref(), release.as_ref()]
                .into_iter()
                .flatten()
                .any(|target| fault_matches(&fault.target, target))
                && fault
                    .times
                    .is_none_or(|times| (stats.faulted(*position) as u64) < times)
        });
    if let Some((position, _)) = fault {
        stats.faults.push(position);
    }
    let fault = fault.map(|(_, fault)| &fault.kind);

    let response = if request.method != "GET" && request.method != "HEAD" {
        Response::new(405, "text/plain", b"only GET and HEAD\n".to_vec())
            .with_header("Allow", "GET, HEAD")
    } else if path == "/simple" || path.starts_with("/simple/") {
        stats.pages += 1;
        let files_at = match fault {
            Some(FaultKind::FilesAt(base)) => Some(base.as_str()),
            _ => None,
        };
        simple_page(shared, request, &path, files_at)
    } else if let Some(filename) = path.strip_prefix("/files/") {
        if let Some(file) = shared.catalog.files.get(filename) {
            stats.file_requests += 1;
            if request.header("range").is_some() {
                stats.range_requests += 1;
            }
            if fault == Some(&FaultKind::IgnoreRange) {
                Response::new(200, FILE_CONTENT_TYPE, file.bytes.to_vec())
            } else {
                serve_bytes(shared, request, &file.bytes, FILE_CONTENT_TYPE)
            }
        } else if let Some(wheel) = filename.strip_suffix(".metadata") {
            stats.metadata += 1;
            let metadata = shared
                .catalog
                .files
                .get(wheel)
                .and_then(|file| file.metadata.as_ref());
            match metadata {
                Some((bytes, _)) if shared.options.metadata_files => {
                    serve_bytes(shared, request, bytes, FILE_CONTENT_TYPE)
                }
                _ => Response::not_found(),
            }
        } else {
            Response::not_found()
        }
    } else {
        Response::not_found()
    };
    let compressible = matches!(
        target,
        Some(FaultTarget::Page(_) | FaultTarget::Metadata(_))
    );
    let response = if shared.options.gzip
        && compressible
        && response.status == 200
        && request
            .header("accept-encoding")
            .is_some_and(|accepted| accepted.split(',').any(|coding| coding.trim() == "gzip"))
    {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &response.body).expect("gzip in memory");
        Response {
            body: encoder.finish().expect("gzip in memory"),
            ..response
        }
        .with_header("Content-Encoding", "gzip")
    } else {
        response
    };
    let response = match fault {
        Some(kind) => apply_fault(kind, request, response),
        None => response,
    };

    if !(request.method == "HEAD" || response.status == 304) {
        stats.bytes_sent += response.body.len() as u64;
    }
    response
}

fn fault_matches(fault: &FaultTarget, request: &FaultTarget) -> bool {
    match (fault, request) {
        (FaultTarget::Page(a), FaultTarget::Page(b))
        | (FaultTarget::Metadata(a), FaultTarget::Metadata(b))
        | (FaultTarget::File(a), FaultTarget::File(b)) => normalize_name(a) == *b,
        (FaultTarget::Release(project, version), FaultTarget::Release(b, v)) => {
            normalize_name(project) == *b && version == v
        }
        _ => false,
    }
}

/// The faulty form of a normal response. `FilesAt` and `IgnoreRange` were applied while it
/// was built.
fn apply_fault(kind: &FaultKind, request: &Request, response: Response) -> Response {
    match kind {
        FaultKind::Status {
            status,
            retry_after,
        } => {
            let faulty = Response::new(
                *status,
                "text/plain",
                format!("fixture fault: {status}\n").into_bytes(),
            );
            match retry_after {
                Some(seconds) => faulty.with_header("Retry-After", seconds.to_string()),
                None => faulty,
            }
        }
        FaultKind::Stall => Response {
            delivery: Delivery::Stall,
            ..response
        },
        FaultKind::Reset => Response {
            delivery: Delivery::Reset,
            ..response
        },
        FaultKind::Truncate => Response {
            delivery: Delivery::Truncate,
            ..response
        },
        FaultKind::ClaimLength(length) => Response {
            delivery: Delivery::ClaimLength(*length),
            ..response
        },
        FaultKind::ContentType(content_type) => response.with_content_type(content_type),
        FaultKind::Body { content_type, body } => Response::new(200, content_type, body.clone()),
        FaultKind::RedirectLoop => {
            Response::empty(302).with_header("Location", request.target.clone())
        }
        FaultKind::NotGzip => response.with_header("Content-Encoding", "gzip"),
        FaultKind::IgnoreRange | FaultKind::FilesAt(_) => response,
    }
}

/// `/simple`, `/simple/` and `/simple/{name}[/]`.
fn simple_page(shared: &Shared, request: &Request, path: &str, files_at: Option<&str>) -> Response {
    let json = shared.options.json && wants_json(request.header("accept"));
    let name = path.strip_prefix("/simple").unwrap_or("").trim_matches('/');
    let body = if name.is_empty() {
        project_list(&shared.catalog, json)
    } else if name.contains('/') {
        return Response::not_found();
    } else {
        let normalized = normalize_name(name);
        let Some(project) = shared.catalog.projects.get(&normalized) else {
            return Response::not_found();
        };
        if name != normalized {
            // PyPI redirects non-normalized names to the normalized page.
            return Response::empty(301).with_header("Location", format!("/simple/{normalized}/"));
        }
        if json {
            project_json(project, &shared.options, files_at)
        } else {
            project_html(project, &shared.options, files_at)
        }
    };

    let etag = format!("\"{}\"", &sha256_hex(&body)[..32]);
    let matches = request.header("if-none-match").is_some_and(|tags| {
        tags.split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == etag)
    });
    let content_type = if json {
        JSON_CONTENT_TYPE
    } else {
        HTML_CONTENT_TYPE
    };
    let response = if matches {
        Response::empty(304)
    } else {
        Response::new(200, content_type, body)
    };
    response
        .with_header("ETag", etag)
        .with_header("Vary", "Accept")
        .with_header("Cache-Control", "max-age=600")
}

/// Content negotiation (PEP 691): JSON when the client rates it at least as high as any HTML
/// form, HTML otherwise (also when no `Accept` is sent).
fn wants_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut json_quality: f32 = 0.0;
    let mut html_quality: f32 = 0.0;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|value| value.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
                json_quality = json_quality.max(quality)
            }
            "application/vnd.pypi.simple.v1+html"
            | "application/vnd.pypi.simple.latest+html"
            | "text/html"
            | "*/*" => html_quality = html_quality.max(quality),
            _ => {}
        }
    }
    json_quality > 0.0 && json_quality >= html_quality
}

fn project_list(catalog: &Catalog, json: bool) -> Vec<u8> {
    if json {
        let projects: Vec<Value> = catalog
            .projects
            .values()
            .map(|project| json!({ "name": project.name }))
            .collect();
        let page = json!({ "meta": { "api-version": "1.1" }, "projects": projects });
        return serde_json::to_vec_pretty(&page).expect("serialize project list");
    }
    let mut html = html_head("Simple index");
    for project in catalog.projects.values() {
        html.push_str(&format!(
            "    <a href=\"{}/\">{}</a><br />\n",
            escape_html(&project.normalized),
            escape_html(&project.name)
        ));
    }
    html.push_str("  </body>\n</html>\n");
    html.into_bytes()
}

/// File URLs are relative to the project page (`/simple/{name}/`), so clients must resolve them;
/// absolute under `files_at` when a fault moves them to another host.
fn file_url(file: &IndexFile, files_at: Option<&str>) -> String {
    match files_at {
        Some(base) => format!("{}/files/{}", base.trim_end_matches('/'), file.filename),
        None => format!("../../files/{}", file.filename),
    }
}

fn project_json(project: &Project, options: &IndexOptions, files_at: Option<&str>) -> Vec<u8> {
    let files: Vec<Value> = project
        .files
        .iter()
        .map(|file| {
            let mut entry = json!({
                "filename": file.filename,
                "url": file_url(file, files_at),
                "hashes": { "sha256": file.sha256 },
                "size": file.bytes.len(),
                "yanked": match &file.yanked {
                    Yanked::Flag(flag) => json!(flag),
                    Yanked::Reason(reason) => json!(reason),
                },
            });
            let fields = entry.as_object_mut().expect("file entry is an object");
            if let Some(requires_python) = &file.requires_python {
                fields.insert("requires-python".into(), json!(requires_python));
            }
            if let Some(upload_time) = &file.upload_time {
                fields.insert("upload-time".into(), json!(upload_time));
            }
            if options.core_metadata_field {
                let core_metadata = match &file.metadata {
                    Some((_, sha256)) => json!({ "sha256": sha256 }),
                    None => json!(false),
                };
                fields.insert("core-metadata".into(), core_metadata.clone());
                fields.insert("data-dist-info-metadata".into(), core_metadata);
            }
            entry
        })
        .collect();
    let page = json!({
        "meta": { "api-version": "1.1" },
        "name": project.normalized,
        "files": files,
        "versions": project.versions,
    });
    serde_json::to_vec_pretty(&page).expect("serialize project page")
}

fn project_html(project: &Project, options: &IndexOptions, files_at: Option<&str>) -> Vec<u8> {
    let mut html = html_head(&format!("Links for {}", project.name));
    html.push_str(&format!(
        "    <h1>Links for {}</h1>\n",
        escape_html(&project.name)
    ));
    for file in &project.files {
        let href = format!("{}#sha256={}", file_url(file, files_at), file.sha256);
        let mut anchor = format!("    <a href=\"{}\"", escape_html(&href));
        if let Some(requires_python) = &file.requires_python {
            anchor.push_str(&format!(
                " data-requires-python=\"{}\"",
                escape_html(requires_python)
            ));
        }
        match &file.yanked {
            Yanked::Flag(false) => {}
            Yanked::Flag(true) => anchor.push_str(" data-yanked=\"\""),
            Yanked::Reason(reason) => {
                anchor.push_str(&format!(" data-yanked=\"{}\"", escape_html(reason)))
            }
        }
        if options.core_metadata_field
            && let Some((_, sha256)) = &file.metadata
        {
            anchor.push_str(&format!(
                " data-core-metadata=\"sha256={sha256}\" data-dist-info-metadata=\"sha256={sha256}\""
            ));
        }
        anchor.push_str(&format!(">{}</a><br />\n", escape_html(&file.filename)));
        html.push_str(&anchor);
    }
    html.push_str("  </body>\n</html>\n");
    html.into_bytes()
}

fn html_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape_html(title)
    )
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// A file or metadata body, whole or — when ranges are on and the request has a single
/// satisfiable `Range` — the requested slice.
fn serve_bytes(shared: &Shared, request: &Request, bytes: &[u8], content_type: &str) -> Response {
    if !shared.options.ranges {
        return Response::new(200, content_type, bytes.to_vec());
    }
    let length = bytes.len();
    match request
        .header("range")
        .map(|range| parse_range(range, length))
    {
        Some(RangeRequest::Satisfiable { start, end }) => {
            Response::new(206, content_type, bytes[start..=end].to_vec())
                .with_header("Content-Range", format!("bytes {start}-{end}/{length}"))
                .with_header("Accept-Ranges", "bytes")
        }
        Some(RangeRequest::Unsatisfiable) => Response::empty(416)
            .with_header("Content-Range", format!("bytes */{length}"))
            .with_header("Accept-Ranges", "bytes"),
        Some(RangeRequest::Ignored) | None => {
            Response::new(200, content_type, bytes.to_vec()).with_header("Accept-Ranges", "bytes")
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Inclusive byte positions, already clamped to the body.
    Satisfiable {
        start: usize,
        end: usize,
    },
    Unsatisfiable,
    /// Malformed or multi-range: answered with the whole body, as RFC 9110 allows.
    Ignored,
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` (RFC 9110 §14.1.2).
fn parse_range(header: &str, length: usize) -> RangeRequest {
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return RangeRequest::Ignored;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let parse = |text: &str| text.trim().parse::<usize>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // Suffix: the last n bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if length == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Satisfiable {
                start: length.saturating_sub(suffix),
                end: length - 1,
            },
            None => RangeRequest::Ignored,
        },
        (false, true) => match parse(first) {
            Some(start) if start >= length => RangeRequest::Unsatisfiable,
            Some(start) => RangeRequest::Satisfiable {
                start,
                end: length - 1,
            },
            None => RangeRequest::Ignored,
        },
        (false, false) => match (parse(first), parse(last)) {
            (Some(start), Some(end)) if start > end => RangeRequest::Ignored,
            (Some(start), Some(_)) if start >= length => RangeRequest::Unsatisfiable,
            (Some(start), Some(end)) => RangeRequest::Satisfiable {
                start,
                end: end.min(length - 1),
            },
            _ => RangeRequest::Ignored,
        },
        (true, true) => RangeRequest::Ignored,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .filter(|pair| pair.iter().all(u8::is_ascii_hexdigit))
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A 127.0.0.1 address whose connections never complete: its listener's accept queue is kept
/// full and nothing accepts, so the kernel drops further SYNs and a client's connect attempt
/// times out — deterministically, and without any outside network.
pub struct Blackhole {
    address: SocketAddr,
    // Held so the socket keeps listening with a full queue; the runtime owns its registration.
    _listener: TcpListener,
    _fillers: Vec<std::net::TcpStream>,
    _runtime: tokio::runtime::Runtime,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("blackhole runtime");
        let _entered = runtime.enter();
        let socket = tokio::net::TcpSocket::new_v4().expect("blackhole socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind blackhole");
        let address = socket.local_addr().expect("blackhole address");
        // The shortest queue there is; the connections below fill it.
        let listener = socket.listen(0).expect("blackhole listens");
        let mut fillers = Vec::new();
        while fillers.len() < 8 {
            match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
                Ok(stream) => fillers.push(stream),
                Err(_) => break,
            }
        }
        Blackhole {
            address,
            _listener: listener,
            _fillers: fillers,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// The `Authorization` header value of HTTP Basic auth (RFC 7617): base64 of `user:password`.
pub fn basic_authorization(username: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{username}:{password}").into_bytes();
    let mut encoded = String::from("Basic ");
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for position in 0..4 {
            if position <= chunk.len() {
                encoded.push(ALPHABET[(group >> (18 - 6 * position) & 63) as usize] as char);
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}
