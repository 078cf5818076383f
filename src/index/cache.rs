//! The on-disk cache: SQLite through sqlx, schema in `migrations/` (embedded).
//!
//! WAL mode and a busy timeout let two np2audit processes share one cache; every write is one
//! statement, so a crash mid-write leaves the previous state.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::simple::ProjectFile;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("cache query failed: {0}")]
    Query(String),
}

impl From<sqlx::Error> for CacheError {
    fn from(error: sqlx::Error) -> Self {
        CacheError::Query(error.to_string())
    }
}

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

#[derive(Clone)]
pub struct Cache {
    pool: SqlitePool,
}

pub const DATABASE_FILE: &str = "np2audit.sqlite3";

impl Cache {
    /// Open (creating and migrating as needed) the cache in `dir`.
    pub async fn open(dir: &Path) -> Result<Cache, CacheError> {
        let open_error = |message: String| CacheError::Open {
            path: dir.to_path_buf(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|error| open_error(error.to_string()))?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|error| open_error(error.to_string()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|error| open_error(format!("migrating the schema failed: {error}")))?;
        Ok(Cache { pool })
    }

    /// An in-memory cache, for tests and `--no-cache`.
    pub async fn in_memory() -> Result<Cache, CacheError> {
        let options = SqliteConnectOptions::new().in_memory(true);
        // One connection: every in-memory connection would be a separate database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|error| CacheError::Query(error.to_string()))?;
        Ok(Cache { pool })
    }

    pub async fn page(&self, index_url: &str, name: &str) -> Result<Option<PageState>, CacheError> {
        let row = sqlx::query(
            "SELECT fetched_at, etag, last_modified FROM project_pages WHERE index_url = ? AND name = ?",
        )
        .bind(index_url)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| PageState {
            fetched_at: row.get::<i64, _>("fetched_at").max(0) as u64,
            etag: row.get("etag"),
            last_modified: row.get("last_modified"),
        }))
    }

    /// Replace a project's page: its state and its files, grouped by `version_of`, in one
    /// transaction so a crash leaves the old page or the new one, never a mix.
    pub async fn store_page(
        &self,
        index_url: &str,
        name: &str,
        state: &PageState,
        files: &[ProjectFile],
        version_of: impl Fn(&ProjectFile) -> String,
    ) -> Result<(), CacheError> {
        let mut releases: BTreeMap<String, Vec<&ProjectFile>> = BTreeMap::new();
        for file in files {
            releases.entry(version_of(file)).or_default().push(file);
        }
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR REPLACE INTO project_pages (index_url, name, fetched_at, etag, last_modified)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(index_url)
        .bind(name)
        .bind(state.fetched_at as i64)
        .bind(&state.etag)
        .bind(&state.last_modified)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM release_files WHERE index_url = ? AND name = ?")
            .bind(index_url)
            .bind(name)
            .execute(&mut *transaction)
            .await?;
        for (version, files) in releases {
            let files_json =
                serde_json::to_string(&files).map_err(|e| CacheError::Query(e.to_string()))?;
            sqlx::query(
                "INSERT INTO release_files (index_url, name, version, files_json) VALUES (?, ?, ?, ?)",
            )
            .bind(index_url)
            .bind(name)
            .bind(version)
            .bind(files_json)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The cached files of one release (`version` as `store_page`'s `version_of` gave it).
    pub async fn release_files(
        &self,
        index_url: &str,
        name: &str,
        version: &str,
    ) -> Result<Vec<ProjectFile>, CacheError> {
        let rows = sqlx::query(
            "SELECT files_json FROM release_files WHERE index_url = ? AND name = ? AND version = ?",
        )
        .bind(index_url)
        .bind(name)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        Ok(decode_files(rows))
    }

    /// Every cached file of a project.
    pub async fn project_files(
        &self,
        index_url: &str,
        name: &str,
    ) -> Result<Vec<ProjectFile>, CacheError> {
        let rows =
            sqlx::query("SELECT files_json FROM release_files WHERE index_url = ? AND name = ?")
                .bind(index_url)
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
        Ok(decode_files(rows))
    }

    /// Mark a cached page as just checked (after a 304).
    pub async fn touch_page(&self, index_url: &str, name: &str) -> Result<(), CacheError> {
        sqlx::query("UPDATE project_pages SET fetched_at = ? WHERE index_url = ? AND name = ?")
            .bind(now() as i64)
            .bind(index_url)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn metadata(&self, file_key: &str) -> Result<Option<String>, CacheError> {
        let row = sqlx::query("SELECT metadata FROM core_metadata WHERE file_key = ?")
            .bind(file_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.get("metadata")))
    }

    pub async fn store_metadata(
        &self,
        file_key: &str,
        filename: &str,
        metadata: &str,
    ) -> Result<(), CacheError> {
        sqlx::query(
            "INSERT OR REPLACE INTO core_metadata (file_key, filename, metadata, stored_at) VALUES (?, ?, ?, ?)",
        )
        .bind(file_key)
        .bind(filename)
        .bind(metadata)
        .bind(now() as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn scan(
        &self,
        file_key: &str,
        scanner_version: u32,
    ) -> Result<Option<String>, CacheError> {
        let row = sqlx::query(
            "SELECT result_json FROM wheel_scans WHERE file_key = ? AND scanner_version = ?",
        )
        .bind(file_key)
        .bind(i64::from(scanner_version))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.get("result_json")))
    }

    pub async fn store_scan(
        &self,
        file_key: &str,
        scanner_version: u32,
        filename: &str,
        result_json: &str,
    ) -> Result<(), CacheError> {
        sqlx::query(
            "INSERT OR REPLACE INTO wheel_scans (file_key, scanner_version, filename, result_json, stored_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(file_key)
        .bind(i64::from(scanner_version))
        .bind(filename)
        .bind(result_json)
        .bind(now() as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn host_refuses_ranges(&self, host: &str) -> Result<bool, CacheError> {
        let row = sqlx::query("SELECT 1 FROM hosts_without_ranges WHERE host = ?")
            .bind(host)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub async fn remember_host_refuses_ranges(&self, host: &str) -> Result<(), CacheError> {
        sqlx::query("INSERT OR REPLACE INTO hosts_without_ranges (host, checked_at) VALUES (?, ?)")
            .bind(host)
            .bind(now() as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Rows this version cannot read are skipped: the page is refetched when it expires.
fn decode_files(rows: Vec<SqliteRow>) -> Vec<ProjectFile> {
    rows.iter()
        .filter_map(|row| serde_json::from_str::<Vec<ProjectFile>>(row.get("files_json")).ok())
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
    async fn two_handles_share_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cache::open(dir.path()).await.unwrap();
        let second = Cache::open(dir.path()).await.unwrap();
        first.store_metadata("k", "f", "m").await.unwrap();
        assert_eq!(second.metadata("k").await.unwrap().as_deref(), Some("m"));
    }
}
