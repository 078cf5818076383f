//! Warm runs read what a whole lockfile needs in a handful of queries instead of several per
//! package: one query per table and batch of names or keys, held in memory for the run. A
//! thousand single-row queries cost more in sqlx's hand-offs than in SQLite itself.

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::{Cache, PageState, decode_files};
use crate::index::simple::ProjectFile;
pub(super) use ReadAhead::{Absent, Found, Unknown};

/// Rows per query: far below SQLite's and PostgreSQL's limits on bound parameters.
const BATCH: usize = 400;

/// What was read ahead: rows found, and the files whose metadata or scan was looked for and is
/// not cached (a cold run asks for each once, not once per package in single-row queries that
/// delay its first requests). Anything else is asked of the database as before; writes of a
/// page drop what was read ahead for it, and a stored metadata or scan is no longer absent.
/// Another process may store what is held as absent meanwhile: this run then fetches it too.
#[derive(Debug, Default)]
pub(super) struct Preloaded {
    pages: HashMap<(String, String), PageState>,
    releases: HashMap<(String, String, String), Vec<ProjectFile>>,
    metadata: HashMap<String, String>,
    scans: HashMap<(String, u32), String>,
    absent_metadata: HashSet<String>,
    absent_scans: HashSet<(String, u32)>,
    /// Whether a host refuses range requests, once asked of the database (once per wheel
    /// otherwise).
    pub(super) hosts_refusing_ranges: HashMap<String, bool>,
}

/// What the read-ahead knows of one row.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadAhead<T> {
    Found(T),
    /// Looked for ahead and not in the cache.
    Absent,
    /// Not looked for ahead: ask the database.
    Unknown,
}

/// `$first, $first+1, …` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Preloaded {
    pub(super) fn page(&self, index_url: &str, name: &str) -> Option<PageState> {
        self.pages
            .get(&(index_url.to_string(), name.to_string()))
            .cloned()
    }

    pub(super) fn release_files(
        &self,
        index_url: &str,
        name: &str,
        version: &str,
    ) -> Option<Vec<ProjectFile>> {
        self.releases
            .get(&(index_url.to_string(), name.to_string(), version.to_string()))
            .cloned()
    }

    pub(super) fn metadata(&self, file_key: &str) -> ReadAhead<String> {
        match self.metadata.get(file_key) {
            Some(metadata) => ReadAhead::Found(metadata.clone()),
            None if self.absent_metadata.contains(file_key) => ReadAhead::Absent,
            None => ReadAhead::Unknown,
        }
    }

    pub(super) fn scan(&self, file_key: &str, scanner_version: u32) -> ReadAhead<String> {
        let key = (file_key.to_string(), scanner_version);
        match self.scans.get(&key) {
            Some(scan) => ReadAhead::Found(scan.clone()),
            None if self.absent_scans.contains(&key) => ReadAhead::Absent,
            None => ReadAhead::Unknown,
        }
    }

    pub(super) fn stored_metadata(&mut self, file_key: &str) {
        self.absent_metadata.remove(file_key);
    }

    pub(super) fn stored_scan(&mut self, file_key: &str, scanner_version: u32) {
        self.absent_scans
            .remove(&(file_key.to_string(), scanner_version));
    }

    /// A page was stored anew: what was read ahead for it is stale.
    pub(super) fn forget_page(&mut self, index_url: &str, name: &str) {
        self.pages
            .remove(&(index_url.to_string(), name.to_string()));
        self.releases
            .retain(|(index, project, _), _| !(index == index_url && project == name));
    }
}

impl Cache {
    /// Read ahead the pages and releases of `releases` (`(name, release key)`, as
    /// [`Cache::release_files`] takes them) on `index_url`, and the metadata and scans by
    /// `scanner_version` of every file they list. `file_key` names a file as the cache does.
    /// `file_keys`: more files whose metadata and scans to read ahead (files known without a
    /// page).
    pub async fn preload(
        &self,
        index_url: &str,
        releases: &[(String, String)],
        file_keys: &[String],
        scanner_version: u32,
        file_key: impl Fn(&ProjectFile) -> String,
    ) {
        if self.is_off() || (releases.is_empty() && file_keys.is_empty()) {
            return;
        }
        let result = self
            .load_ahead(index_url, releases, file_keys, scanner_version, file_key)
            .await;
        let loaded = self.degrade(result.map(Some), None);
        if let Some(loaded) = loaded {
            let mut preloaded = self.read_ahead();
            preloaded.pages.extend(loaded.pages);
            preloaded.releases.extend(loaded.releases);
            preloaded.metadata.extend(loaded.metadata);
            preloaded.scans.extend(loaded.scans);
            preloaded.absent_metadata.extend(loaded.absent_metadata);
            preloaded.absent_scans.extend(loaded.absent_scans);
        }
    }

    async fn load_ahead(
        &self,
        index_url: &str,
        releases: &[(String, String)],
        file_keys: &[String],
        scanner_version: u32,
        file_key: impl Fn(&ProjectFile) -> String,
    ) -> Result<Preloaded, sqlx::Error> {
        let mut loaded = Preloaded::default();
        let mut names: Vec<&str> = releases.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let wanted: std::collections::HashSet<(&str, &str)> = releases
            .iter()
            .map(|(name, version)| (name.as_str(), version.as_str()))
            .collect();
        let mut keys = Vec::new();
        for batch in names.chunks(BATCH) {
            let sql = format!(
                "SELECT name, fetched_at, etag, last_modified FROM project_pages
                 WHERE index_url = $1 AND name IN ({})",
                placeholders(2, batch.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(index_url);
            for name in batch {
                query = query.bind(*name);
            }
            for row in query.fetch_all(&self.pool).await? {
                let name: String = row.try_get("name")?;
                let state = PageState {
                    fetched_at: row.try_get::<i64, _>("fetched_at")?.max(0) as u64,
                    etag: row.try_get("etag")?,
                    last_modified: row.try_get("last_modified")?,
                };
                loaded.pages.insert((index_url.to_string(), name), state);
            }
        }
        // Only the releases asked for: a project's other releases can be many and large.
        let pairs: Vec<(&str, &str)> = wanted.iter().copied().collect();
        for batch in pairs.chunks(BATCH / 2) {
            let tuples = (0..batch.len())
                .map(|i| format!("(${}, ${})", 2 + 2 * i, 3 + 2 * i))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT name, version, files_json FROM release_files
                 WHERE index_url = $1 AND (name, version) IN (VALUES {tuples})"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(index_url);
            for (name, version) in batch {
                query = query.bind(*name).bind(*version);
            }
            for row in query.fetch_all(&self.pool).await? {
                let name: String = row.try_get("name")?;
                let version: String = row.try_get("version")?;
                let files = decode_files(vec![row]);
                keys.extend(files.iter().map(&file_key));
                loaded
                    .releases
                    .entry((index_url.to_string(), name, version))
                    .or_default()
                    .extend(files);
            }
        }
        keys.extend(file_keys.iter().cloned());
        keys.sort_unstable();
        keys.dedup();
        for batch in keys.chunks(BATCH) {
            let sql = format!(
                "SELECT file_key, metadata FROM core_metadata WHERE file_key IN ({})",
                placeholders(1, batch.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in batch {
                query = query.bind(key.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                loaded
                    .metadata
                    .insert(row.try_get("file_key")?, row.try_get("metadata")?);
            }
            let sql = format!(
                "SELECT file_key, result_json FROM wheel_scans
                 WHERE scanner_version = $1 AND file_key IN ({})",
                placeholders(2, batch.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(scanner_version));
            for key in batch {
                query = query.bind(key.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                loaded.scans.insert(
                    (row.try_get("file_key")?, scanner_version),
                    row.try_get("result_json")?,
                );
            }
        }
        for key in keys {
            if !loaded.metadata.contains_key(&key) {
                loaded.absent_metadata.insert(key.clone());
            }
            let key = (key, scanner_version);
            if !loaded.scans.contains_key(&key) {
                loaded.absent_scans.insert(key);
            }
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::cache::now;
    use crate::index::simple::CoreMetadata;

    fn file(filename: &str, sha: &str) -> ProjectFile {
        ProjectFile {
            filename: filename.into(),
            url: format!("https://x/{filename}"),
            sha256: Some(sha.into()),
            requires_python: None,
            size: Some(1),
            upload_time: None,
            yanked: None,
            core_metadata: CoreMetadata::Available,
        }
    }

    fn key(file: &ProjectFile) -> String {
        format!("sha256:{}", file.sha256.as_deref().unwrap())
    }

    #[tokio::test]
    async fn read_ahead_serves_reads_and_a_new_page_replaces_it() {
        let cache = Cache::in_memory().await.unwrap();
        let state = PageState {
            fetched_at: now(),
            etag: Some("e".into()),
            last_modified: None,
        };
        let old = file("a-1.0-py3-none-any.whl", "aa");
        let new = file("a-2.0-py3-none-any.whl", "bb");
        let version_of = |f: &ProjectFile| f.filename.split('-').nth(1).unwrap().to_string();
        cache
            .store_page("i", "a", &state, &[old.clone(), new.clone()], version_of)
            .await
            .unwrap();
        cache
            .store_metadata("sha256:aa", "a", "Name: a")
            .await
            .unwrap();
        cache.store_scan("sha256:aa", 4, "a", "{}").await.unwrap();
        cache.store_scan("sha256:bb", 4, "a", "{}").await.unwrap();

        cache
            .preload("i", &[("a".into(), "1.0".into())], &[], 4, key)
            .await;
        {
            let preloaded = cache.preloaded.lock().unwrap();
            assert_eq!(preloaded.page("i", "a"), Some(state.clone()));
            assert_eq!(
                preloaded.release_files("i", "a", "1.0"),
                Some(vec![old.clone()])
            );
            assert_eq!(
                preloaded.release_files("i", "a", "2.0"),
                None,
                "not asked for"
            );
            assert_eq!(preloaded.metadata("sha256:aa"), Found("Name: a".into()));
            assert_eq!(preloaded.scan("sha256:aa", 4), Found("{}".into()));
            assert_eq!(preloaded.scan("sha256:bb", 4), Unknown, "not a file of 1.0");
        }
        assert_eq!(
            cache.release_files("i", "a", "1.0").await.unwrap(),
            vec![old]
        );

        // Files known without a page (from a lock) are read ahead by their keys.
        cache.preload("i", &[], &["sha256:bb".into()], 4, key).await;
        assert_eq!(
            cache.preloaded.lock().unwrap().scan("sha256:bb", 4),
            Found("{}".into())
        );

        cache
            .store_page("i", "a", &state, std::slice::from_ref(&new), version_of)
            .await
            .unwrap();
        assert!(
            cache
                .release_files("i", "a", "1.0")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn files_read_ahead_and_not_cached_are_not_asked_again_until_stored() {
        let cache = Cache::in_memory().await.unwrap();
        cache.preload("i", &[], &["sha256:cc".into()], 4, key).await;
        {
            let preloaded = cache.preloaded.lock().unwrap();
            assert_eq!(preloaded.metadata("sha256:cc"), Absent);
            assert_eq!(preloaded.scan("sha256:cc", 4), Absent);
            assert_eq!(preloaded.scan("sha256:cc", 5), Unknown, "another scanner");
        }
        assert_eq!(cache.metadata("sha256:cc").await.unwrap(), None);
        assert_eq!(cache.scan("sha256:cc", 4).await.unwrap(), None);
        // What this run stores is found again, not taken for absent.
        cache
            .store_metadata("sha256:cc", "c", "Name: c")
            .await
            .unwrap();
        cache.store_scan("sha256:cc", 4, "c", "{}").await.unwrap();
        assert_eq!(
            cache.metadata("sha256:cc").await.unwrap().as_deref(),
            Some("Name: c")
        );
        assert_eq!(
            cache.scan("sha256:cc", 4).await.unwrap().as_deref(),
            Some("{}")
        );
    }
}
