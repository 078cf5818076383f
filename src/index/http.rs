//! HTTP for the index client: bounded concurrency, timeouts, retries with backoff on 429/5xx
//! and transport errors, body size limits, and counters for the report.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::IndexError;
use super::auth::Auth;
use super::permits::{Priority, RequestPermits};
use super::redact::redact_url;

/// Counters every request updates; shown in reports as `stats`.
#[derive(Debug, Default)]
pub struct HttpStats {
    pub requests: AtomicU64,
    pub bytes_fetched: AtomicU64,
    /// Bytes of wheels the reads needed: central directories and end records, and each member
    /// read from its local header to where the read stopped. What the rules require; the rest
    /// of `bytes_fetched` is pages, metadata files and requests that ran past a stop.
    pub bytes_needed: AtomicU64,
}

/// What a finished request gave back.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, unless it went to [`spooled`](Self::spooled).
    pub body: Vec<u8>,
    /// A whole file written to an anonymous temporary file instead of memory (see
    /// [`HttpClient::get_spooled`]).
    pub spooled: Option<SpooledBody>,
}

/// A response body on disk: an unnamed temporary file, gone when dropped.
#[derive(Debug)]
pub struct SpooledBody {
    pub file: std::fs::File,
    pub len: u64,
}

/// Where a 200 answer's body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyTarget {
    Memory,
    /// A temporary file: whole wheels from hosts that ignore `Range`, so memory stays flat
    /// however large the wheel (partial answers stay in memory: they are range-sized).
    FileIfWhole,
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub concurrency: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub retries: u32,
    /// First backoff; doubled on every retry.
    pub backoff: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            concurrency: 50,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

impl HttpSettings {
    /// The defaults, except where hidden environment variables shorten them. They exist so that
    /// tests can provoke network faults in seconds, and are not meant for users:
    /// `NP2AUDIT_HTTP_TIMEOUT` (seconds, fractions allowed: the connect and the read timeout),
    /// `NP2AUDIT_HTTP_RETRIES` (retries after the first attempt) and `NP2AUDIT_HTTP_BACKOFF`
    /// (seconds: the first wait between attempts, when the server names none). Unreadable
    /// values are ignored.
    pub fn from_environment() -> HttpSettings {
        let seconds = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|value| Duration::try_from_secs_f64(value.trim().parse().ok()?).ok())
        };
        let mut settings = HttpSettings::default();
        if let Some(timeout) = seconds("NP2AUDIT_HTTP_TIMEOUT") {
            settings.connect_timeout = timeout;
            settings.read_timeout = timeout;
        }
        if let Some(retries) = std::env::var("NP2AUDIT_HTTP_RETRIES")
            .ok()
            .and_then(|value| value.trim().parse().ok())
        {
            settings.retries = retries;
        }
        if let Some(backoff) = seconds("NP2AUDIT_HTTP_BACKOFF") {
            settings.backoff = backoff;
        }
        settings
    }
}

/// The reqwest client, built on the first request: building it loads the platform's root
/// certificates, a cost a warm run (which makes no request) need not pay.
struct LazyClient {
    client: OnceLock<Result<reqwest::Client, String>>,
    extra_roots: Vec<reqwest::Certificate>,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl LazyClient {
    fn get(&self) -> Result<&reqwest::Client, IndexError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .user_agent(concat!(
                        "np2audit/",
                        env!("CARGO_PKG_VERSION"),
                        " (+https://github.com/np2audit/np2audit)"
                    ))
                    .connect_timeout(self.connect_timeout)
                    .read_timeout(self.read_timeout)
                    .redirect(reqwest::redirect::Policy::limited(10))
                    .tls_certs_merge(self.extra_roots.clone())
                    .build()
                    .map_err(|error| error.without_url().to_string())
            })
            .as_ref()
            .map_err(|message| IndexError::Client(message.clone()))
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: Arc<LazyClient>,
    permits: RequestPermits,
    /// Memory for range-read bodies, in bytes, shared by every member read of the run (see
    /// [`HttpClient::reserve_body`]).
    body_budget: Arc<Semaphore>,
    settings: HttpSettings,
    pub stats: Arc<HttpStats>,
    /// Which request carries which credentials (none unless [`HttpClient::with_auth`]).
    auth: Arc<Auth>,
}

/// Bytes of range-read bodies held at once across the run: fetched or being fetched, and not
/// yet consumed (member reads' chunks and source reads' spans). With 50 requests and 256 audits
/// at once, member reads of up to 8 MiB a chunk would otherwise hold hundreds of megabytes.
/// Measured cold on the 66 pins of `markers-extras-groups` and on `check` of the 268 ground-truth
/// releases: 32 MiB peaks at 83 MiB and takes 38 s on the releases; 24 MiB, 77 MiB and 41 s;
/// 16 MiB, 69 MiB but 52 s (source reads hold their spans while their modules are parsed, and
/// member reads wait); 8 MiB makes even the 66 pins a second slower.
pub const BODY_BUDGET: u64 = 24 * 1024 * 1024;

/// A share of [`BODY_BUDGET`], given back when dropped.
pub struct BodyReservation {
    _permit: OwnedSemaphorePermit,
}

/// The longest server-requested wait we honour; beyond it the request fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl HttpClient {
    pub fn new(settings: HttpSettings) -> Result<HttpClient, IndexError> {
        // Certificates named by SSL_CERT_FILE / SSL_CERT_DIR are read now, so that a bad one is
        // an error before anything else happens.
        let extra_roots = super::tls::extra_roots()?;
        Ok(HttpClient {
            client: Arc::new(LazyClient {
                client: OnceLock::new(),
                extra_roots,
                connect_timeout: settings.connect_timeout,
                read_timeout: settings.read_timeout,
            }),
            permits: RequestPermits::new(settings.concurrency),
            body_budget: Arc::new(Semaphore::new(BODY_BUDGET as usize)),
            settings,
            stats: Arc::new(HttpStats::default()),
            auth: Arc::default(),
        })
    }

    /// Count `bytes` of a wheel as needed by a read (see [`HttpStats::bytes_needed`]).
    pub fn note_needed(&self, bytes: u64) {
        self.stats.bytes_needed.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Wait for `bytes` of the body budget (at most the whole budget). Only a reader that holds
    /// no reservation may wait: one that does uses [`try_reserve_body`](Self::try_reserve_body),
    /// so that nobody waits while holding what another waits for.
    pub async fn reserve_body(&self, bytes: u64) -> BodyReservation {
        let permit = Arc::clone(&self.body_budget)
            .acquire_many_owned(budget_share(bytes))
            .await
            .expect("semaphore never closed");
        BodyReservation { _permit: permit }
    }

    /// `bytes` of the body budget if free now.
    pub fn try_reserve_body(&self, bytes: u64) -> Option<BodyReservation> {
        Arc::clone(&self.body_budget)
            .try_acquire_many_owned(budget_share(bytes))
            .ok()
            .map(|permit| BodyReservation { _permit: permit })
    }

    /// Send credentials as `auth` decides, request by request.
    pub fn with_auth(mut self, auth: Auth) -> HttpClient {
        self.auth = Arc::new(auth);
        self
    }

    /// GET `url` with `headers`, retrying transient failures. Bodies above `max_body` bytes fail.
    pub async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
    ) -> Result<HttpResponse, IndexError> {
        self.get_into(url, headers, max_body, BodyTarget::Memory, Priority::Leads)
            .await
    }

    /// [`get`](Self::get) for a request nothing else waits on (a `.metadata` file): while every
    /// request slot is taken, it waits behind the requests that lead to more.
    pub async fn get_leaf(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
    ) -> Result<HttpResponse, IndexError> {
        self.get_into(url, headers, max_body, BodyTarget::Memory, Priority::Leaf)
            .await
    }

    /// [`get`](Self::get), but a 200 answer's body is written to a temporary file
    /// ([`HttpResponse::spooled`]) instead of memory.
    pub async fn get_spooled(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
    ) -> Result<HttpResponse, IndexError> {
        self.get_into(
            url,
            headers,
            max_body,
            BodyTarget::FileIfWhole,
            Priority::Leads,
        )
        .await
    }

    async fn get_into(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
        target: BodyTarget,
        priority: Priority,
    ) -> Result<HttpResponse, IndexError> {
        with_retries(&self.settings, url, || {
            self.get_once(url, headers.clone(), max_body, target, priority)
        })
        .await
    }

    async fn get_once(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
        target: BodyTarget,
        priority: Priority,
    ) -> Result<HttpResponse, Attempt> {
        let _permit = self.permits.acquire(priority).await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let transport = |error: reqwest::Error, phase: Phase| {
            let failed = IndexError::Transport {
                url: redact_url(url),
                message: describe(&error, phase),
            };
            // A redirect loop stays a loop however often it is asked, and a certificate that
            // does not verify stays unverified.
            if error.is_redirect() || is_certificate_error(&error) {
                Attempt::Final(failed)
            } else {
                Attempt::Transient(failed)
            }
        };
        let too_large = |limit: u64| {
            Attempt::Final(IndexError::TooLarge {
                url: redact_url(url),
                limit,
            })
        };
        let range = headers
            .get(reqwest::header::RANGE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        // Pages and metadata files compress well (PyPI's JSON pages by ~10×). reqwest's own
        // decompression would hide the bytes on the wire from the counters, so np2audit asks
        // for gzip itself and inflates here. Range reads and whole files ask for `identity`.
        let mut headers = headers;
        if range.is_none() && !headers.contains_key(ACCEPT_ENCODING) {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let client = self.client.get().map_err(Attempt::Final)?;
        let mut request = client.get(url.clone()).headers(headers);
        if let Some(credentials) = self.auth.for_url(url) {
            request = request.basic_auth(&credentials.username, credentials.password.as_ref());
        }
        let mut response = request
            .send()
            .await
            .map_err(|error| transport(error, Phase::Head))?;
        let status = response.status();
        let headers = response.headers().clone();
        // A partial answer is no longer than the range asked for, whatever the caller would
        // accept as a whole file.
        let max_body = match range.as_deref().and_then(range_length) {
            Some(length) if status == StatusCode::PARTIAL_CONTENT => max_body.min(length),
            _ => max_body,
        };
        if let Some(length) = response.content_length()
            && length > max_body
        {
            return Err(too_large(max_body));
        }
        let spool_failed = |error: std::io::Error| {
            Attempt::Final(IndexError::Client(format!(
                "cannot write a download to a temporary file: {error}"
            )))
        };
        let mut spool = match target {
            BodyTarget::FileIfWhole if status == StatusCode::OK => {
                Some(tempfile::tempfile().map_err(spool_failed)?)
            }
            _ => None,
        };
        // Sized once from the announced length (already checked against the limit): growing
        // by doubling would copy each body and, at its peak, hold up to twice its size.
        let announced = response.content_length().filter(|_| spool.is_none());
        let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
        let mut len = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport(error, Phase::Body))?
        {
            self.stats
                .bytes_fetched
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if len + chunk.len() as u64 > max_body {
                return Err(too_large(max_body));
            }
            len += chunk.len() as u64;
            match &mut spool {
                Some(file) => off_the_runtime(|| file.write_all(&chunk))
                    .await
                    .map_err(spool_failed)?,
                None => body.extend_from_slice(&chunk),
            }
        }
        let gzipped = headers
            .get(CONTENT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("gzip"));
        if gzipped && spool.is_none() {
            body = gunzip(&body, max_body).map_err(|error| match error {
                Gunzip::TooLarge => too_large(max_body),
                // A gzip stream that does not decode is a body that broke off or was mangled
                // on the way: worth another try.
                Gunzip::Corrupt(message) => Attempt::Transient(IndexError::Transport {
                    url: redact_url(url),
                    message: format!("the response body broke off: {message}"),
                }),
            })?;
        }
        tracing::debug!(
            url = %redact_url(url),
            range = range.as_deref().unwrap_or("-"),
            status = status.as_u16(),
            bytes = len,
            gzipped,
            spooled = spool.is_some(),
            "GET"
        );
        Ok(HttpResponse {
            status,
            headers,
            body,
            spooled: spool.map(|file| SpooledBody { file, len }),
        })
    }
}

/// A reservation's size in permits: at most the whole budget, so any read can proceed alone.
fn budget_share(bytes: u64) -> u32 {
    bytes.clamp(1, BODY_BUDGET) as u32
}

enum Gunzip {
    TooLarge,
    Corrupt(String),
}

/// A gzip body inflated, refusing output past `max_body` bytes (a small body may inflate to
/// gigabytes).
fn gunzip(body: &[u8], max_body: u64) -> Result<Vec<u8>, Gunzip> {
    use std::io::Read;

    let mut inflated = Vec::with_capacity(body.len().saturating_mul(4));
    let mut decoder = flate2::read::MultiGzDecoder::new(body).take(max_body.saturating_add(1));
    decoder
        .read_to_end(&mut inflated)
        .map_err(|error| Gunzip::Corrupt(error.to_string()))?;
    if inflated.len() as u64 > max_body {
        return Err(Gunzip::TooLarge);
    }
    Ok(inflated)
}

/// Why one attempt failed: worth another try, or not.
enum Attempt {
    Transient(IndexError),
    Final(IndexError),
}

/// Run `attempt_once` until it succeeds, fails for good, or the retries run out: transient
/// failures (429, 5xx, connection errors) are retried after the server's `Retry-After`, else an
/// exponential backoff from `settings.backoff` with jitter; a server asking for a longer pause than
/// [`MAX_RETRY_AFTER`] is not asked again. Waits are `tokio::time` sleeps, so tests run them on
/// a paused clock.
async fn with_retries<Fut>(
    settings: &HttpSettings,
    url: &Url,
    mut attempt_once: impl FnMut() -> Fut,
) -> Result<HttpResponse, IndexError>
where
    Fut: Future<Output = Result<HttpResponse, Attempt>>,
{
    let mut attempt = 0;
    loop {
        let outcome = attempt_once().await;
        let retry_after = match &outcome {
            Ok(response) if is_transient(response.status) => Some(retry_after(
                &response.headers,
                time::OffsetDateTime::now_utc(),
            )),
            Err(Attempt::Transient(_)) => Some(None),
            _ => None,
        };
        // A server that asks for a longer pause than we wait is not asked again.
        let too_long = retry_after.flatten().filter(|wait| *wait > MAX_RETRY_AFTER);
        match retry_after {
            Some(wait) if attempt < settings.retries && too_long.is_none() => {
                let backoff = jittered(settings.backoff * 2u32.saturating_pow(attempt));
                // The server's own wait is kept as it is: it asked for no less.
                let wait = wait.unwrap_or(backoff);
                tracing::debug!(url = %redact_url(url), attempt, ?wait, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Some(_) => {
                return match outcome {
                    Ok(response) => Err(match too_long {
                        Some(wait) => IndexError::Transport {
                            url: redact_url(url),
                            message: format!(
                                "HTTP {} asking to retry after {} s, longer than the {} s np2audit waits",
                                response.status.as_u16(),
                                wait.as_secs(),
                                MAX_RETRY_AFTER.as_secs()
                            ),
                        },
                        None => IndexError::Status {
                            url: redact_url(url),
                            status: response.status.as_u16(),
                            attempts: attempt + 1,
                        },
                    }),
                    Err(Attempt::Transient(IndexError::Transport { url, message })) => {
                        Err(IndexError::Transport {
                            url,
                            message: format!("{message} (after {} attempts)", attempt + 1),
                        })
                    }
                    Err(Attempt::Transient(error) | Attempt::Final(error)) => Err(error),
                };
            }
            None => {
                return outcome
                    .map_err(|(Attempt::Transient(error) | Attempt::Final(error))| error);
            }
        }
    }
}

/// Run CPU-bound or blocking work — inflating a fetched chunk and the scan its sink runs over the
/// output, a spooled body's write to its temporary file —
/// so that it does not hold up the runtime's other tasks (requests in flight, timers): on a
/// worker of the multi-threaded runtime it is handed off with `block_in_place` (tokio gives the
/// worker's queue to another thread meanwhile), at most one piece of work per CPU at once.
/// Elsewhere (a single-threaded runtime, in tests) it runs in place.
pub(crate) async fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    static SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cpus)
    });
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if !multi_threaded {
        return work();
    }
    let _slot = SLOTS
        .acquire()
        .await
        .expect("the CPU slots are never closed");
    tokio::task::block_in_place(work)
}

/// The number of bytes a `Range: bytes=a-b` or `bytes=-n` header asks for (`None` for open
/// ranges and anything else).
fn range_length(range: &str) -> Option<u64> {
    let (first, last) = range.trim().strip_prefix("bytes=")?.split_once('-')?;
    let last: u64 = last.trim().parse().ok()?;
    match first.trim() {
        "" => Some(last),
        first => last.checked_sub(first.parse().ok()?)?.checked_add(1),
    }
}

fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After`, in either form HTTP allows: seconds, or an HTTP date (IMF-fixdate, `Sun, 06
/// Nov 1994 08:49:37 GMT`), which is a wait of what remains until then (none if it is past).
fn retry_after(headers: &HeaderMap, now: time::OffsetDateTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// `base` with equal jitter: half of it, plus a random part of the other half, so clients that
/// failed together do not all come back at once.
fn jittered(base: Duration) -> Duration {
    base / 2 + base.mul_f64(fastrand::f64() / 2.0)
}

/// Whether TLS refused the server's certificate, somewhere down `error`'s causes (rustls' error
/// sits inside `io::Error`s inside the connector's error; an `io::Error` hides what it wraps
/// from `source()`, so those are opened with `get_ref()`).
fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if matches!(
        error.downcast_ref::<rustls::Error>(),
        Some(rustls::Error::InvalidCertificate(_))
    ) {
        return true;
    }
    let wrapped = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .map(|inner| inner as &(dyn std::error::Error + 'static));
    wrapped.is_some_and(is_certificate_error) || error.source().is_some_and(is_certificate_error)
}

/// Where in a request an error struck.
#[derive(Clone, Copy)]
enum Phase {
    /// Connecting, sending, or waiting for the response head.
    Head,
    /// Reading the response body.
    Body,
}

/// A reqwest error as one line, without the URL (which may carry credentials).
fn describe(error: &reqwest::Error, phase: Phase) -> String {
    // reqwest does not tell a connect timeout from a wait for the response head, so a timeout
    // is placed by the phase it struck in.
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        match phase {
            Phase::Head => "timed out connecting or waiting for the response",
            Phase::Body => "timed out reading the response body",
        }
    } else if error.is_redirect() {
        "too many redirects"
    } else if error.is_body() || error.is_decode() {
        "the response body broke off"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers in turn: a status with an optional `Retry-After`, or a connection failure.
    fn answers(
        script: Vec<Result<(u16, Option<&'static str>), &'static str>>,
    ) -> (
        impl FnMut() -> std::future::Ready<Result<HttpResponse, Attempt>>,
        Arc<AtomicU64>,
    ) {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let mut script = script.into_iter();
        let next = move || {
            counted.fetch_add(1, Ordering::Relaxed);
            std::future::ready(match script.next().expect("no more answers scripted") {
                Ok((status, retry_after)) => {
                    let mut headers = HeaderMap::new();
                    if let Some(seconds) = retry_after {
                        headers.insert(RETRY_AFTER, HeaderValue::from_static(seconds));
                    }
                    Ok(HttpResponse {
                        status: StatusCode::from_u16(status).unwrap(),
                        headers,
                        body: Vec::new(),
                        spooled: None,
                    })
                }
                Err(message) => Err(Attempt::Transient(IndexError::Transport {
                    url: "https://example.org/x".into(),
                    message: message.into(),
                })),
            })
        };
        (next, calls)
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        let now = time::macros::datetime!(2026-12-05 10:00:00 UTC);
        let header = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers, now)
        };
        assert_eq!(header("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            header("Sat, 05 Dec 2026 10:00:07 GMT"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            header("Sat, 05 Dec 2026 09:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(header("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn jitter_keeps_at_least_half_the_backoff() {
        for _ in 0..1000 {
            let wait = jittered(Duration::from_millis(400));
            assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400));
        }
    }

    fn settings() -> HttpSettings {
        HttpSettings {
            retries: 3,
            backoff: Duration::from_millis(250),
            ..HttpSettings::default()
        }
    }

    fn url() -> Url {
        Url::parse("https://example.org/simple/x/").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_back_off_exponentially_then_give_up() {
        let (next, calls) = answers(vec![
            Ok((503, None)),
            Ok((500, None)),
            Ok((429, None)),
            Ok((503, None)),
        ]);
        let started = tokio::time::Instant::now();
        let error = with_retries(&settings(), &url(), next).await.unwrap_err();
        // 250 ms, 500 ms and 1 s between the four attempts, each with equal jitter (half of it
        // fixed, half random), on the paused clock.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(875) && waited <= Duration::from_millis(1750),
            "{waited:?}"
        );
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        assert!(
            matches!(
                error,
                IndexError::Status {
                    status: 503,
                    attempts: 4,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_as_told_and_a_long_one_is_not_waited_at_all() {
        let (next, _) = answers(vec![
            Ok((503, Some("2"))),
            Ok((429, Some("1"))),
            Ok((200, None)),
        ]);
        let started = tokio::time::Instant::now();
        let response = with_retries(&settings(), &url(), next).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(started.elapsed(), Duration::from_secs(3));

        let (next, calls) = answers(vec![Ok((503, Some("3600")))]);
        let started = tokio::time::Instant::now();
        let error = with_retries(&settings(), &url(), next).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert!(
            error.to_string().contains("asking to retry after 3600 s"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn connection_failures_are_retried_and_counted_in_the_message() {
        let (next, _) = answers(vec![Err("connection reset"); 4]);
        let started = tokio::time::Instant::now();
        let error = with_retries(&settings(), &url(), next).await.unwrap_err();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(875) && waited <= Duration::from_millis(1750),
            "{waited:?}"
        );
        assert!(
            error
                .to_string()
                .contains("connection reset (after 4 attempts)"),
            "{error}"
        );

        // A failure that is not transient (a 404) is not retried.
        let (next, calls) = answers(vec![Ok((404, None))]);
        let response = with_retries(&settings(), &url(), next).await.unwrap();
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_bodies_are_inflated_within_the_limit() {
        let page = br#"{"meta":{"api-version":"1.1"},"files":[]}"#.repeat(100);
        assert_eq!(
            gunzip(&gzip(&page), page.len() as u64).ok(),
            Some(page.clone())
        );
        // A small body that inflates past the limit is refused, not inflated whole.
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 20_000);
        assert!(matches!(gunzip(&bomb, 1 << 20), Err(Gunzip::TooLarge)));
        let mut cut = gzip(&page);
        cut.truncate(cut.len() / 2);
        assert!(matches!(gunzip(&cut, 1 << 20), Err(Gunzip::Corrupt(_))));
        assert!(matches!(
            gunzip(b"not gzip", 1 << 20),
            Err(Gunzip::Corrupt(_))
        ));
    }

    #[test]
    fn a_refused_certificate_is_found_however_deeply_wrapped() {
        use std::io::{Error, ErrorKind};
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As hyper-util hands it over: io::Error(Other, io::Error(InvalidData, rustls)).
        let wrapped = Error::other(Error::new(ErrorKind::InvalidData, refused));
        assert!(is_certificate_error(&wrapped));
        let flaky = Error::new(ErrorKind::ConnectionReset, "connection reset by peer");
        assert!(!is_certificate_error(&flaky));
        let other_tls = Error::new(ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert!(!is_certificate_error(&other_tls));
    }

    #[test]
    fn range_lengths_are_read_from_closed_ranges_only() {
        assert_eq!(range_length("bytes=-65634"), Some(65_634));
        assert_eq!(range_length("bytes=100-199"), Some(100));
        assert_eq!(range_length("bytes=0-0"), Some(1));
        assert_eq!(range_length("bytes=100-"), None);
        assert_eq!(range_length("bytes=200-100"), None);
        assert_eq!(range_length("bytes=0-1,5-9"), None);
        assert_eq!(range_length("items=0-9"), None);
    }
}
