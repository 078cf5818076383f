//! The cache: what was learned from the index, in SQLite (a file in the cache directory) or in
//! a shared PostgreSQL database (`--cache-url`), through sqlx's `Any` driver so one set of
//! queries and one set of migrations (`migrations/`, embedded) serve both.
//!
//! Opening, rebuilding a damaged file and choosing the backend is `open.rs`; `cache info`,
//! `clean` and `prune` are `maintenance.rs`.
//!
//! Every write is one statement or one transaction, so a process killed mid-write leaves the
//! previous state. Once open, the cache never fails an audit: a query that fails is reported
//! once and treated as a miss (reads) or skipped (writes).

mod maintenance;
mod open;
mod preload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::simple::ProjectFile;

pub use maintenance::{CacheInfo, Cleaned, CurrentScanners, PruneOptions, TableCount};
pub use open::{CacheLocation, DATABASE_FILE};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache at {path}: {message}")]
    Open { path: String, message: String },
    #[error("cache query failed: {0}")]
    Query(String),
}

impl From<sqlx::Error> for CacheError {
    fn from(error: sqlx::Error) -> Self {
        CacheError::Query(error.to_string())
    }
}

/// Releases written by one statement when a page is stored (4 parameters each: well under
/// SQLite's and PostgreSQL's limits).
const RELEASES_PER_INSERT: usize = 64;

/// What is known about a cached project page: when it was fetched and its validators. Its
/// files are stored per release (see [`Cache::release_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageState {
    pub fetched_at: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl PageState {
    pub fn is_fresh(&self, ttl: Duration) -> bool {
        now().saturating_sub(self.fetched_at) < ttl.as_secs()
    }
}

/// Which database a [`Cache`] talks to.
#[derive(Debug, Clone)]
enum Backend {
    /// A file (`None`: in memory).
    Sqlite { file: Option<PathBuf> },
    /// A server, shown without its password.
    Postgres { shown: String },
}

#[derive(Clone)]
pub struct Cache {
    pool: AnyPool,
    backend: Backend,
    /// Set by the first failed query: the rest of the run does without the cache (a broken
    /// database would otherwise cost a timeout per query).
    off: Arc<AtomicBool>,
    /// Read ahead for this run (see `preload.rs`).
    preloaded: Arc<std::sync::Mutex<preload::Preloaded>>,
}

impl Cache {
    /// Open (creating, migrating and, if damaged, rebuilding as needed) the cache at `location`.
    pub async fn open(location: &CacheLocation) -> Result<Cache, CacheError> {
        open::open(location).await
    }

    /// An in-memory cache, for tests and for runs whose cache cannot be opened.
    pub async fn in_memory() -> Result<Cache, CacheError> {
        open::in_memory().await
    }

    /// Where the cache lives, as it may be shown (no password).
    pub fn shown_location(&self) -> String {
        match &self.backend {
            Backend::Sqlite { file: Some(file) } => file.display().to_string(),
            Backend::Sqlite { file: None } => "(in memory)".to_string(),
            Backend::Postgres { shown } => shown.clone(),
        }
    }

    fn read_ahead(&self) -> std::sync::MutexGuard<'_, preload::Preloaded> {
        self.preloaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_off(&self) -> bool {
        self.off.load(Ordering::Relaxed)
    }

    /// Whether the cache still answers: a query failed earlier in this run turns it off.
    pub fn is_available(&self) -> bool {
        !self.is_off()
    }

    /// A failed query: said once, then the run goes on without the cache's help.
    fn degrade<T>(&self, result: Result<T, sqlx::Error>, fallback: T) -> T {
        match result {
            Ok(value) => value,
            Err(error) => {
                if let Backend::Sqlite { file: Some(file) } = &self.backend
                    && open::is_damage(&error)
                {
                    open::mark_damaged(file);
                }
                if !self.off.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "cache at {}: {error}; going on without it for the rest of this run",
                        self.shown_location()
                    );
                }
                fallback
            }
        }
    }

    pub async fn page(&self, index_url: &str, name: &str) -> Result<Option<PageState>, CacheError> {
        if self.is_off() {
            return Ok(None);
        }
        if let Some(state) = self.read_ahead().page(index_url, name) {
            return Ok(Some(state));
        }
        let row = sqlx::query(
            "SELECT fetched_at, etag, last_modified FROM project_pages WHERE index_url = $1 AND name = $2",
        )
        .bind(index_url)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .and_then(|row| {
            row.map(|row| {
                Ok(PageState {
                    fetched_at: row.try_get::<i64, _>("fetched_at")?.max(0) as u64,
                    etag: row.try_get("etag")?,
                    last_modified: row.try_get("last_modified")?,
                })
            })
            .transpose()
        });
        Ok(self.degrade(row, None))
    }

    /// Replace a project's page: its state and its files, grouped by `version_of`, in one
    /// transaction so a crash leaves the old page or the new one, never a mix. `true` when it
    /// was stored (the cache is on and the write went through).
    pub async fn store_page(
        &self,
        index_url: &str,
        name: &str,
        state: &PageState,
        files: &[ProjectFile],
        version_of: impl Fn(&ProjectFile) -> String,
    ) -> Result<bool, CacheError> {
        if self.is_off() {
            return Ok(false);
        }
        self.read_ahead().forget_page(index_url, name);
        let mut releases: BTreeMap<String, Vec<&ProjectFile>> = BTreeMap::new();
        for file in files {
            releases.entry(version_of(file)).or_default().push(file);
        }
        let releases: Vec<(String, Vec<&ProjectFile>)> = releases.into_iter().collect();
        let result = async {
            let mut transaction = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO project_pages (index_url, name, fetched_at, etag, last_modified)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (index_url, name) DO UPDATE SET fetched_at = excluded.fetched_at,
                     etag = excluded.etag, last_modified = excluded.last_modified",
            )
            .bind(index_url)
            .bind(name)
            .bind(state.fetched_at as i64)
            .bind(state.etag.clone())
            .bind(state.last_modified.clone())
            .execute(&mut *transaction)
            .await?;
            sqlx::query("DELETE FROM release_files WHERE index_url = $1 AND name = $2")
                .bind(index_url)
                .bind(name)
                .execute(&mut *transaction)
                .await?;
            // Many releases to a statement: a cold audit stores a page per package, and one
            // statement per release kept pages (and their files) queued behind the writer.
            // Each batch is encoded just before it is written, so a page is never held twice.
            for batch in releases.chunks(RELEASES_PER_INSERT) {
                let mut statement = String::from(
                    "INSERT INTO release_files (index_url, name, version, files_json) VALUES ",
                );
                for row in 0..batch.len() {
                    let first = row * 4 + 1;
                    let separator = if row == 0 { "" } else { ", " };
                    let _ = write!(
                        statement,
                        "{separator}(${first}, ${}, ${}, ${})",
                        first + 1,
                        first + 2,
                        first + 3
                    );
                }
                // Only placeholders were added to the literal: every value is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
                for (version, files) in batch {
                    let files_json = serde_json::to_string(files)
                        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
                    query = query
                        .bind(index_url)
                        .bind(name)
                        .bind(version.as_str())
                        .bind(files_json);
                }
                query.execute(&mut *transaction).await?;
            }
            transaction.commit().await
        }
        .await;
        Ok(self.degrade(result.map(|()| true), false))
    }

    /// The cached files of one release (`version` as `store_page`'s `version_of` gave it).
    pub async fn release_files(
        &self,
        index_url: &str,
        name: &str,
        version: &str,
    ) -> Result<Vec<ProjectFile>, CacheError> {
        if self.is_off() {
            return Ok(Vec::new());
        }
        if let Some(files) = self.read_ahead().release_files(index_url, name, version) {
            return Ok(files);
        }
        let rows = sqlx::query(
            "SELECT files_json FROM release_files WHERE index_url = $1 AND name = $2 AND version = $3",
        )
        .bind(index_url)
        .bind(name)
        .bind(version)
        .fetch_all(&self.pool)
        .await;
        Ok(decode_files(self.degrade(rows, Vec::new())))
    }

    /// Every cached file of a project.
    pub async fn project_files(
        &self,
        index_url: &str,
        name: &str,
    ) -> Result<Vec<ProjectFile>, CacheError> {
        if self.is_off() {
            return Ok(Vec::new());
        }
        let rows =
            sqlx::query("SELECT files_json FROM release_files WHERE index_url = $1 AND name = $2")
                .bind(index_url)
                .bind(name)
                .fetch_all(&self.pool)
                .await;
        Ok(decode_files(self.degrade(rows, Vec::new())))
    }

    /// Mark a cached page as just checked (after a 304).
    pub async fn touch_page(&self, index_url: &str, name: &str) -> Result<(), CacheError> {
        if self.is_off() {
            return Ok(());
        }
        let result = sqlx::query(
            "UPDATE project_pages SET fetched_at = $1 WHERE index_url = $2 AND name = $3",
        )
        .bind(now() as i64)
        .bind(index_url)
        .bind(name)
        .execute(&self.pool)
        .await;
        self.degrade(result.map(drop), ());
        Ok(())
    }

    pub async fn metadata(&self, file_key: &str) -> Result<Option<String>, CacheError> {
        if self.is_off() {
            return Ok(None);
        }
        match self.read_ahead().metadata(file_key) {
            preload::Found(metadata) => return Ok(Some(metadata)),
            preload::Absent => return Ok(None),
            preload::Unknown => {}
        }
        let row = sqlx::query("SELECT metadata FROM core_metadata WHERE file_key = $1")
            .bind(file_key)
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.map(|row| row.try_get("metadata")).transpose());
        Ok(self.degrade(row, None))
    }

    pub async fn store_metadata(
        &self,
        file_key: &str,
        filename: &str,
        metadata: &str,
    ) -> Result<(), CacheError> {
        if self.is_off() {
            return Ok(());
        }
        let result = sqlx::query(
            "INSERT INTO core_metadata (file_key, filename, metadata, stored_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (file_key) DO UPDATE SET filename = excluded.filename,
                 metadata = excluded.metadata, stored_at = excluded.stored_at",
        )
        .bind(file_key)
        .bind(filename)
        .bind(metadata)
        .bind(now() as i64)
        .execute(&self.pool)
        .await;
        self.read_ahead().stored_metadata(file_key);
        self.degrade(result.map(drop), ());
        Ok(())
    }

    pub async fn scan(
        &self,
        file_key: &str,
        scanner_version: u32,
    ) -> Result<Option<String>, CacheError> {
        if self.is_off() {
            return Ok(None);
        }
        match self.read_ahead().scan(file_key, scanner_version) {
            preload::Found(scan) => return Ok(Some(scan)),
            preload::Absent => return Ok(None),
            preload::Unknown => {}
        }
        let row = sqlx::query(
            "SELECT result_json FROM wheel_scans WHERE file_key = $1 AND scanner_version = $2",
        )
        .bind(file_key)
        .bind(i64::from(scanner_version))
        .fetch_optional(&self.pool)
        .await
        .and_then(|row| row.map(|row| row.try_get("result_json")).transpose());
        Ok(self.degrade(row, None))
    }

    pub async fn store_scan(
        &self,
        file_key: &str,
        scanner_version: u32,
        filename: &str,
        result_json: &str,
    ) -> Result<(), CacheError> {
        if self.is_off() {
            return Ok(());
        }
        let result = sqlx::query(
            "INSERT INTO wheel_scans (file_key, scanner_version, filename, result_json, stored_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (file_key, scanner_version) DO UPDATE SET filename = excluded.filename,
                 result_json = excluded.result_json, stored_at = excluded.stored_at",
        )
        .bind(file_key)
        .bind(i64::from(scanner_version))
        .bind(filename)
        .bind(result_json)
        .bind(now() as i64)
        .execute(&self.pool)
        .await;
        self.read_ahead().stored_scan(file_key, scanner_version);
        self.degrade(result.map(drop), ());
        Ok(())
    }

    pub async fn host_refuses_ranges(&self, host: &str) -> Result<bool, CacheError> {
        if self.is_off() {
            return Ok(false);
        }
        if let Some(&refuses) = self.read_ahead().hosts_refusing_ranges.get(host) {
            return Ok(refuses);
        }
        let row = sqlx::query("SELECT host FROM hosts_without_ranges WHERE host = $1")
            .bind(host)
            .fetch_optional(&self.pool)
            .await;
        let refuses = self.degrade(row, None).is_some();
        self.read_ahead()
            .hosts_refusing_ranges
            .insert(host.to_string(), refuses);
        Ok(refuses)
    }

    pub async fn remember_host_refuses_ranges(&self, host: &str) -> Result<(), CacheError> {
        if self.is_off() {
            return Ok(());
        }
        let result = sqlx::query(
            "INSERT INTO hosts_without_ranges (host, checked_at) VALUES ($1, $2)
             ON CONFLICT (host) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(host)
        .bind(now() as i64)
        .execute(&self.pool)
        .await;
        self.read_ahead()
            .hosts_refusing_ranges
            .insert(host.to_string(), true);
        self.degrade(result.map(drop), ());
        Ok(())
    }
}

/// Rows this version cannot read are skipped: the page is refetched when it expires.
fn decode_files(rows: Vec<AnyRow>) -> Vec<ProjectFile> {
    rows.iter()
        .filter_map(|row| row.try_get::<String, _>("files_json").ok())
        .filter_map(|json| serde_json::from_str::<Vec<ProjectFile>>(&json).ok())
        .flatten()
        .collect()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::simple::CoreMetadata;

    fn file() -> ProjectFile {
        ProjectFile {
            filename: "a-1-py3-none-any.whl".into(),
            url: "https://x/a.whl".into(),
            sha256: Some("ab".into()),
            requires_python: None,
            size: Some(1),
            upload_time: None,
            yanked: None,
            core_metadata: CoreMetadata::Available,
        }
    }

    #[tokio::test]
    async fn round_trips_every_table() {
        let cache = Cache::in_memory().await.unwrap();
        assert!(cache.page("i", "a").await.unwrap().is_none());
        let state = PageState {
            fetched_at: now(),
            etag: Some("\"e\"".into()),
            last_modified: None,
        };
        let mut other = file();
        other.filename = "a-2-py3-none-any.whl".into();
        let version_of = |f: &ProjectFile| f.filename.split('-').nth(1).unwrap().to_string();
        let both = [file(), other.clone()];
        cache
            .store_page("i", "a", &state, &both, version_of)
            .await
            .unwrap();
        let cached = cache.page("i", "a").await.unwrap().unwrap();
        assert_eq!(cached, state);
        assert!(cached.is_fresh(Duration::from_secs(60)));
        assert_eq!(
            cache.release_files("i", "a", "1").await.unwrap(),
            vec![file()]
        );
        assert!(cache.release_files("i", "a", "3").await.unwrap().is_empty());
        assert_eq!(cache.project_files("i", "a").await.unwrap().len(), 2);
        // A new page replaces every release of the old one.
        cache
            .store_page("i", "a", &state, &[other], version_of)
            .await
            .unwrap();
        assert!(cache.release_files("i", "a", "1").await.unwrap().is_empty());
        cache
            .store_metadata("sha256:ab", "a.whl", "Name: a")
            .await
            .unwrap();
        assert_eq!(
            cache.metadata("sha256:ab").await.unwrap().as_deref(),
            Some("Name: a")
        );
        cache
            .store_scan("sha256:ab", 1, "a.whl", "{}")
            .await
            .unwrap();
        assert!(cache.scan("sha256:ab", 2).await.unwrap().is_none());
        assert!(cache.scan("sha256:ab", 1).await.unwrap().is_some());
        assert!(!cache.host_refuses_ranges("h").await.unwrap());
        cache.remember_host_refuses_ranges("h").await.unwrap();
        assert!(cache.host_refuses_ranges("h").await.unwrap());
    }

    #[tokio::test]
    async fn a_page_of_many_releases_is_stored_in_batches_and_read_back_whole() {
        let cache = Cache::in_memory().await.unwrap();
        let state = PageState {
            fetched_at: now(),
            etag: None,
            last_modified: None,
        };
        // Two full batches and a part, with two files in some releases.
        let releases = RELEASES_PER_INSERT * 2 + 7;
        let mut files = Vec::new();
        for release in 0..releases {
            let mut wheel = file();
            wheel.filename = format!("a-{release}-py3-none-any.whl");
            files.push(wheel);
            if release % 3 == 0 {
                let mut sdist = file();
                sdist.filename = format!("a-{release}.tar.gz");
                files.push(sdist);
            }
        }
        let version_of = |f: &ProjectFile| {
            f.filename
                .trim_end_matches(".tar.gz")
                .split('-')
                .nth(1)
                .unwrap()
                .to_string()
        };
        let stored = cache
            .store_page("i", "a", &state, &files, version_of)
            .await
            .unwrap();
        assert!(stored);
        assert_eq!(
            cache.project_files("i", "a").await.unwrap().len(),
            files.len()
        );
        for release in [
            0,
            RELEASES_PER_INSERT - 1,
            RELEASES_PER_INSERT,
            releases - 1,
        ] {
            let expected: Vec<ProjectFile> = files
                .iter()
                .filter(|f| version_of(f) == release.to_string())
                .cloned()
                .collect();
            assert_eq!(
                cache
                    .release_files("i", "a", &release.to_string())
                    .await
                    .unwrap(),
                expected,
                "release {release}"
            );
        }
    }

    #[tokio::test]
    async fn two_handles_share_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let location = CacheLocation::Dir(dir.path().to_path_buf());
        let first = Cache::open(&location).await.unwrap();
        let second = Cache::open(&location).await.unwrap();
        first.store_metadata("k", "f", "m").await.unwrap();
        assert_eq!(second.metadata("k").await.unwrap().as_deref(), Some("m"));
    }
}
