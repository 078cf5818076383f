//! The package index client: Simple API pages, core metadata and wheel members, each fetched
//! the cheapest way the index allows and cached (`cache.rs`). It knows nothing of lockfiles.

pub mod auth;
pub mod cache;
pub mod filename;
pub mod http;
pub mod in_flight;
mod permits;
pub mod redact;
mod remote_wheel;
pub mod simple;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pep440_rs::Version;
use pep508_rs::PackageName;
use reqwest::Url;
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use tokio::sync::{Mutex, OnceCell};

pub use cache::Cache;
pub use http::{HttpClient, HttpSettings};
pub use in_flight::InFlight;
pub use remote_wheel::RemoteWheel;
pub use simple::{CoreMetadata, ProjectFile};

use cache::PageState;
use redact::{redact_url, strip_credentials};

/// Why something could not be fetched. Messages never contain credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IndexError {
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status} (after {attempts} attempts)")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url}: HTTP {status}{}", auth::status_hint(*status))]
    Unexpected { url: String, status: u16 },
    #[error("{url}: not found on the index (HTTP 404)")]
    NotFound { url: String },
    #[error("{url}: response larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: {message}")]
    BadResponse { url: String, message: String },
    #[error("offline and not in the cache: {what}")]
    Offline { what: String },
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("cache: {0}")]
    Cache(String),
}

impl From<cache::CacheError> for IndexError {
    fn from(error: cache::CacheError) -> Self {
        IndexError::Cache(error.to_string())
    }
}

/// How the cache is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Pages younger than the time-to-live are used as they are; older ones are revalidated.
    Normal { page_ttl: Duration },
    /// Revalidate every page (immutable data is still served from the cache).
    Refresh,
    /// Never touch the network.
    Offline,
}

type WheelCell = Arc<OnceCell<Result<Arc<RemoteWheel>, IndexError>>>;
type PageCell = Arc<OnceCell<Result<Page, IndexError>>>;

/// A project page as this run knows it.
#[derive(Debug, Clone)]
enum Page {
    /// Fetched now and not stored (the cache is off): its files are in memory.
    Fetched(Arc<Vec<ProjectFile>>),
    /// In the cache, found valid or just stored: its files are read from there, release by
    /// release.
    Cached,
}

pub struct IndexClient {
    http: HttpClient,
    cache: Cache,
    index_url: Url,
    index_key: String,
    mode: CacheMode,
    cache_hits: AtomicU64,
    /// One fetch per project per run, however many packages ask.
    pages: Mutex<HashMap<String, PageCell>>,
    /// Wheels opened this run, by URL (see [`Self::shared_wheel`]).
    wheels: Mutex<HashMap<String, WheelCell>>,
    /// Metadata reads under way, by file key: audits of several lockfiles that meet the same
    /// release at once fetch it once.
    metadata_in_flight: InFlight<Result<String, IndexError>>,
    /// Hosts that answered 404 for a `.metadata` file their pages did not advertise: later
    /// unadvertised files on them go straight to range reads.
    hosts_without_metadata: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Largest project page, `.metadata` file or METADATA member accepted.
const MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;
const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

impl IndexClient {
    pub fn new(
        index_url: &str,
        http: HttpClient,
        cache: Cache,
        mode: CacheMode,
    ) -> Result<IndexClient, IndexError> {
        let mut index_url = Url::parse(index_url).map_err(|error| {
            IndexError::Client(format!(
                "invalid index URL `{}`: {error}",
                redact::redact_str(index_url)
            ))
        })?;
        if !index_url.path().ends_with('/') {
            let path = format!("{}/", index_url.path());
            index_url.set_path(&path);
        }
        Ok(IndexClient {
            index_key: strip_credentials(&index_url),
            http,
            cache,
            index_url,
            mode,
            cache_hits: AtomicU64::new(0),
            pages: Mutex::new(HashMap::new()),
            wheels: Mutex::new(HashMap::new()),
            metadata_in_flight: InFlight::default(),
            hosts_without_metadata: std::sync::Mutex::default(),
        })
    }

    /// The index URL as it may be shown (credentials masked).
    pub fn display_url(&self) -> String {
        redact_url(&self.index_url)
    }

    /// Whether `registry` (a lock's record of where a package came from) names this index:
    /// the same URL, credentials and a trailing slash aside.
    pub fn is_registry(&self, registry: &str) -> bool {
        let Ok(mut url) = Url::parse(registry.trim()) else {
            return false;
        };
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        strip_credentials(&url) == self.index_key
    }

    pub fn requests(&self) -> u64 {
        self.http.stats.requests.load(Ordering::Relaxed)
    }

    pub fn bytes_fetched(&self) -> u64 {
        self.http.stats.bytes_fetched.load(Ordering::Relaxed)
    }

    /// Of the wheels' bytes, what the reads needed (see [`http::HttpStats::bytes_needed`]).
    pub fn bytes_needed(&self) -> u64 {
        self.http.stats.bytes_needed.load(Ordering::Relaxed)
    }

    /// Requests made and bytes fetched so far, readable from another task.
    pub fn stats_handle(&self) -> impl Fn() -> (u64, u64) + Send + 'static {
        let stats = self.http.stats.clone();
        move || {
            (
                stats.requests.load(Ordering::Relaxed),
                stats.bytes_fetched.load(Ordering::Relaxed),
            )
        }
    }

    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn is_offline(&self) -> bool {
        self.mode == CacheMode::Offline
    }

    fn hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a cache hit made by a caller that reads the cache directly (wheel scans).
    pub fn note_cache_hit(&self) {
        self.hit();
    }

    /// Read ahead from the cache what judging these releases will ask of it: on a warm run
    /// a handful of queries instead of several per package.
    /// `files`: files known without a page (from the lock), whose metadata and scans are read
    /// ahead too.
    /// `scanner_version`: the binary scanner's, whose scans are the ones read.
    pub async fn preload(
        &self,
        releases: &[(PackageName, Version)],
        files: &[ProjectFile],
        scanner_version: u32,
    ) {
        let keys: Vec<(String, String)> = releases
            .iter()
            .map(|(name, version)| (name.to_string(), filename::release_key(version)))
            .collect();
        let file_keys: Vec<String> = files.iter().map(file_key).collect();
        self.cache
            .preload(
                &self.index_key,
                &keys,
                &file_keys,
                scanner_version,
                file_key,
            )
            .await;
    }

    /// Every file the index lists for a project.
    pub async fn project_files(
        &self,
        name: &PackageName,
    ) -> Result<Arc<Vec<ProjectFile>>, IndexError> {
        if let Page::Cached = self.page(name).await? {
            let files = self
                .cache
                .project_files(&self.index_key, name.as_ref())
                .await?;
            if self.cache.is_available() {
                return Ok(Arc::new(files));
            }
        }
        self.page_in_memory(name).await
    }

    /// The files of one release of a project. From a valid cached page only that release's
    /// files are read: pages of busy projects list thousands.
    pub async fn release_files(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Vec<ProjectFile>, IndexError> {
        if let Page::Cached = self.page(name).await? {
            let files = self
                .cache
                .release_files(
                    &self.index_key,
                    name.as_ref(),
                    &filename::release_key(version),
                )
                .await?;
            if self.cache.is_available() {
                return Ok(files);
            }
        }
        Ok(self
            .page_in_memory(name)
            .await?
            .iter()
            .filter(|file| {
                crate::dist::file_version(&file.filename, Some(name.as_ref())).as_ref()
                    == Some(version)
            })
            .cloned()
            .collect())
    }

    /// The page's files when the cache cannot give them: it is off, or it failed while they
    /// were read (then [`Self::page`] fetches the page again).
    async fn page_in_memory(
        &self,
        name: &PackageName,
    ) -> Result<Arc<Vec<ProjectFile>>, IndexError> {
        match self.page(name).await? {
            Page::Fetched(files) => Ok(files),
            // Only a working cache says a page is cached.
            Page::Cached => Err(IndexError::Client(format!(
                "the cache failed while the page of `{name}` was read from it"
            ))),
        }
    }

    /// The project's page, fetched or revalidated at most once per run.
    async fn page(&self, name: &PackageName) -> Result<Page, IndexError> {
        let cell = {
            let mut pages = self.pages.lock().await;
            pages.entry(name.to_string()).or_default().clone()
        };
        let page = cell.get_or_init(|| self.fetch_page(name)).await.clone()?;
        if matches!(page, Page::Cached) && !self.cache.is_available() {
            // The cache failed after the page went into it (or was found there), so its files
            // cannot be read back: fetch it again, once, and keep it in memory.
            let cell = {
                let mut pages = self.pages.lock().await;
                let entry = pages.entry(name.to_string()).or_default();
                if Arc::ptr_eq(entry, &cell) {
                    *entry = PageCell::default();
                }
                entry.clone()
            };
            return cell.get_or_init(|| self.fetch_page(name)).await.clone();
        }
        Ok(page)
    }

    async fn fetch_page(&self, name: &PackageName) -> Result<Page, IndexError> {
        let key = name.to_string();
        let cached = self.cache.page(&self.index_key, &key).await?;
        let page_url = self
            .index_url
            .join(&format!("{key}/"))
            .map_err(|error| IndexError::Client(error.to_string()))?;
        match (&cached, self.mode) {
            (Some(_), CacheMode::Offline) => {
                self.hit();
                return Ok(Page::Cached);
            }
            (None, CacheMode::Offline) => {
                return Err(IndexError::Offline {
                    what: format!("the project page of `{key}`"),
                });
            }
            (Some(state), CacheMode::Normal { page_ttl }) if state.is_fresh(page_ttl) => {
                self.hit();
                return Ok(Page::Cached);
            }
            _ => {}
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(simple::ACCEPT));
        if let Some(state) = &cached {
            if let Some(etag) = state
                .etag
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = state
                .last_modified
                .as_deref()
                .and_then(|m| HeaderValue::from_str(m).ok())
            {
                headers.insert(IF_MODIFIED_SINCE, modified);
            }
        }
        let response = self.http.get(&page_url, headers, MAX_PAGE_BYTES).await?;
        match response.status.as_u16() {
            304 if cached.is_some() => {
                self.cache.touch_page(&self.index_key, &key).await?;
                self.hit();
                Ok(Page::Cached)
            }
            200 => {
                let content_type = response
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let files = simple::parse_project_page(&response.body, content_type, &page_url)
                    .map_err(|error| IndexError::BadResponse {
                        url: redact_url(&page_url),
                        message: error.to_string(),
                    })?;
                let header = |name| {
                    response
                        .headers
                        .get(name)
                        .and_then(|v: &HeaderValue| v.to_str().ok())
                        .map(str::to_string)
                };
                let state = PageState {
                    fetched_at: cache::now(),
                    etag: header(ETAG),
                    last_modified: header(LAST_MODIFIED),
                };
                // Bodies of busy projects run to megabytes: let this one go before the cache
                // write, which may wait behind other pages'.
                drop(response);
                let version_of = |file: &ProjectFile| {
                    crate::dist::file_version(&file.filename, Some(&key))
                        .map(|version| filename::release_key(&version))
                        .unwrap_or_default()
                };
                let stored = self
                    .cache
                    .store_page(&self.index_key, &key, &state, &files, version_of)
                    .await?;
                // A stored page is read back release by release. Held in memory, the pages of
                // a lock without file URLs (poetry) took more than they weigh on the wire.
                Ok(if stored {
                    Page::Cached
                } else {
                    Page::Fetched(Arc::new(files))
                })
            }
            404 => Err(IndexError::NotFound {
                url: redact_url(&page_url),
            }),
            status => Err(IndexError::Unexpected {
                url: redact_url(&page_url),
                status,
            }),
        }
    }

    /// The wheel's core metadata (`METADATA`), by the cheapest route: the PEP 658 `.metadata`
    /// file, else a range read of the wheel's METADATA member, else the whole wheel.
    pub async fn core_metadata(&self, file: &ProjectFile) -> Result<String, IndexError> {
        let key = file_key(file);
        self.metadata_in_flight
            .run(&key, || self.read_core_metadata(file, &key, false))
            .await
    }

    /// [`core_metadata`](Self::core_metadata) of a wheel that is scanned. Its tail, fetched for
    /// the scan anyway, usually holds the METADATA member (wheels put `.dist-info` last): read
    /// there, it costs no request of its own, and the verdict waits on nothing the scan does
    /// not. Otherwise, the usual route. (Metadata is cached with the scan, so a cached scan
    /// without cached metadata, the one case where the tail is fetched for this alone, is rare.)
    pub async fn core_metadata_of_scanned(&self, file: &ProjectFile) -> Result<String, IndexError> {
        let key = file_key(file);
        self.metadata_in_flight
            .run(&key, || self.read_core_metadata(file, &key, true))
            .await
    }

    async fn read_core_metadata(
        &self,
        file: &ProjectFile,
        key: &str,
        from_wheel_tail: bool,
    ) -> Result<String, IndexError> {
        if let Some(metadata) = self.cache.metadata(key).await? {
            self.hit();
            return Ok(metadata);
        }
        if self.is_offline() {
            return Err(IndexError::Offline {
                what: format!("the metadata of {}", file.filename),
            });
        }
        // A wheel that cannot be opened is reported by its scan; the metadata may still come.
        if from_wheel_tail
            && let Ok(wheel) = self.shared_wheel(file).await
            && wheel.holds_metadata()
        {
            let metadata = wheel.read_metadata().await?;
            self.cache
                .store_metadata(key, &file.filename, &metadata)
                .await?;
            return Ok(metadata);
        }
        let metadata = match self.metadata_file(file).await? {
            Some(metadata) => metadata,
            None => {
                let wheel = self.shared_wheel(file).await?;
                wheel.read_metadata().await?
            }
        };
        self.cache
            .store_metadata(key, &file.filename, &metadata)
            .await?;
        Ok(metadata)
    }

    /// `GET {url}.metadata`; `None` when the index does not serve it.
    async fn metadata_file(&self, file: &ProjectFile) -> Result<Option<String>, IndexError> {
        if file.core_metadata == CoreMetadata::Absent {
            return Ok(None);
        }
        let url = metadata_url(parse_file_url(&file.url)?);
        let host = url.host_str().unwrap_or_default().to_string();
        let unadvertised = file.core_metadata == CoreMetadata::NotStated;
        if unadvertised && self.lacks_metadata_files(&host) {
            return Ok(None);
        }
        let response = self
            .http
            .get_leaf(&url, HeaderMap::new(), MAX_METADATA_BYTES)
            .await?;
        match response.status.as_u16() {
            200 => Ok(Some(String::from_utf8_lossy(&response.body).into_owned())),
            // Mirrors that drop the field often also lack the file; fall back quietly.
            403 | 404 | 410 => {
                if unadvertised {
                    self.hosts_without_metadata
                        .lock()
                        .expect("lock not poisoned")
                        .insert(host);
                }
                Ok(None)
            }
            status => Err(IndexError::Unexpected {
                url: redact_url(&url),
                status,
            }),
        }
    }

    fn lacks_metadata_files(&self, host: &str) -> bool {
        self.hosts_without_metadata
            .lock()
            .expect("lock not poisoned")
            .contains(host)
    }

    /// Open a wheel for member reads: range reads where the host allows them.
    pub async fn open_wheel(&self, file: &ProjectFile) -> Result<RemoteWheel, IndexError> {
        let url = parse_file_url(&file.url)?;
        RemoteWheel::open(self.http.clone(), self.cache.clone(), url, file).await
    }

    /// [`Self::open_wheel`], once per file per run: the metadata read and the scan of one wheel
    /// share its tail and central directory instead of fetching them twice.
    pub async fn shared_wheel(&self, file: &ProjectFile) -> Result<Arc<RemoteWheel>, IndexError> {
        let cell = {
            let mut wheels = self.wheels.lock().await;
            wheels.entry(file.url.clone()).or_default().clone()
        };
        cell.get_or_init(|| async { self.open_wheel(file).await.map(Arc::new) })
            .await
            .clone()
    }

    /// Forget an opened wheel once every reader is done with it, so its tail is freed.
    pub async fn release_wheel(&self, file: &ProjectFile) {
        self.wheels.lock().await.remove(&file.url);
    }
}

/// The cache key of a file: its sha256 when known, else its URL without credentials.
pub fn file_key(file: &ProjectFile) -> String {
    match &file.sha256 {
        Some(sha256) => format!("sha256:{sha256}"),
        None => match Url::parse(&file.url) {
            Ok(url) => format!("url:{}", strip_credentials(&url)),
            Err(_) => format!("url:{}", file.url),
        },
    }
}

/// PEP 658: the file's path gains `.metadata`; a query string (a private index's token) stays
/// where it is.
fn metadata_url(mut url: Url) -> Url {
    let path = format!("{}.metadata", url.path());
    url.set_path(&path);
    url
}

fn parse_file_url(url: &str) -> Result<Url, IndexError> {
    Url::parse(url).map_err(|error| IndexError::BadResponse {
        url: redact::redact_str(url),
        message: format!("invalid file URL: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: `.metadata` went after a private index's query string (`…whl?token=x.metadata`).
    #[test]
    fn the_metadata_file_is_the_files_path_with_metadata_and_the_same_query() {
        let file =
            Url::parse("https://pkgs.example/files/demo_pkg-1.0-py3-none-any.whl?token=a&b=c")
                .unwrap();
        assert_eq!(
            metadata_url(file).as_str(),
            "https://pkgs.example/files/demo_pkg-1.0-py3-none-any.whl.metadata?token=a&b=c"
        );
        let plain = Url::parse("https://files.pythonhosted.org/p/x-1.0-py3-none-any.whl").unwrap();
        assert_eq!(
            metadata_url(plain).as_str(),
            "https://files.pythonhosted.org/p/x-1.0-py3-none-any.whl.metadata"
        );
    }
}
