//! HTTP for the index client: bounded concurrency, timeouts, retries with backoff on 429/5xx
//! and transport errors, body size limits, and counters for the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::sync::Semaphore;

use super::IndexError;
use super::redact::redact_url;

/// Counters every request updates; shown in reports as `stats`.
#[derive(Debug, Default)]
pub struct HttpStats {
    pub requests: AtomicU64,
    pub bytes_fetched: AtomicU64,
}

/// What a finished request gave back.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
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
            concurrency: 16,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    settings: HttpSettings,
    pub stats: Arc<HttpStats>,
}

/// The longest server-requested wait we honour; beyond it the request fails instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl HttpClient {
    pub fn new(settings: HttpSettings) -> Result<HttpClient, IndexError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "np2audit/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/np2audit/np2audit)"
            ))
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|error| IndexError::Client(error.without_url().to_string()))?;
        Ok(HttpClient {
            client,
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            stats: Arc::new(HttpStats::default()),
        })
    }

    /// GET `url` with `headers`, retrying transient failures. Bodies above `max_body` bytes fail.
    pub async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
    ) -> Result<HttpResponse, IndexError> {
        let mut attempt = 0;
        loop {
            let outcome = self.get_once(url, headers.clone(), max_body).await;
            let retry_after = match &outcome {
                Ok(response) if is_transient(response.status) => {
                    Some(retry_after(&response.headers))
                }
                Err(IndexError::Transport { .. }) => Some(None),
                _ => None,
            };
            match retry_after {
                Some(wait) if attempt < self.settings.retries => {
                    let backoff = self.settings.backoff * 2u32.saturating_pow(attempt);
                    let wait = wait.unwrap_or(backoff).min(MAX_RETRY_AFTER);
                    tracing::debug!(url = %redact_url(url), attempt, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Some(_) => {
                    return match outcome {
                        Ok(response) => Err(IndexError::Status {
                            url: redact_url(url),
                            status: response.status.as_u16(),
                            attempts: attempt + 1,
                        }),
                        Err(IndexError::Transport { url, message }) => Err(IndexError::Transport {
                            url,
                            message: format!("{message} (after {} attempts)", attempt + 1),
                        }),
                        Err(error) => Err(error),
                    };
                }
                None => return outcome,
            }
        }
    }

    async fn get_once(
        &self,
        url: &Url,
        headers: HeaderMap,
        max_body: u64,
    ) -> Result<HttpResponse, IndexError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let transport = |error: reqwest::Error| IndexError::Transport {
            url: redact_url(url),
            message: describe(&error),
        };
        let range = headers
            .get(reqwest::header::RANGE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let mut response = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(length) = response.content_length()
            && length > max_body
        {
            return Err(IndexError::TooLarge {
                url: redact_url(url),
                limit: max_body,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            self.stats
                .bytes_fetched
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if body.len() as u64 + chunk.len() as u64 > max_body {
                return Err(IndexError::TooLarge {
                    url: redact_url(url),
                    limit: max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            url = %redact_url(url),
            range = range.as_deref().unwrap_or("-"),
            status = status.as_u16(),
            bytes = body.len(),
            "GET"
        );
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (the HTTP-date form is rare on indexes and treated as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value: &HeaderValue = headers.get(RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// A reqwest error as one line, without the URL (which may carry credentials).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
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
