//! `np2audit cache info|clean|prune`: what the cache holds, and removing what is no longer
//! wanted. Works the same on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;

use pep508_rs::PackageName;
use sqlx::Row;

use super::{Backend, Cache, CacheError, now};

/// Scans no run reads again: binary scans by another scanner version, and source scans by
/// another source scanner or against another table of removed names. Binds: `$1` the binary
/// scanner's version, `$2` the current source scans' key pattern, `$3` the source scanner's.
macro_rules! stale_scans {
    () => {
        "NOT ((file_key NOT LIKE '%#source:%' AND scanner_version = $1) \
         OR (file_key LIKE $2 AND scanner_version = $3))"
    };
}

/// Which scans a run reads, so which are stale: the cache stores scans but does not make them,
/// so the scanners' versions come from the caller (`inspect` owns them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentScanners {
    /// The binary (shared-object) scanner's version.
    pub wheel: u32,
    /// The source scanner's version.
    pub source: u32,
    /// The fingerprint of the table of removed names source scans are made against.
    pub removed_table: u64,
}

impl CurrentScanners {
    /// The `LIKE` pattern of the keys source scans are stored under with today's table.
    fn source_keys(&self) -> String {
        format!("%#source:{:016x}", self.removed_table)
    }
}

/// Every table, in the order `info` lists them, with what a row of it is.
const TABLES: [(&str, &str); 5] = [
    ("project_pages", "project pages"),
    ("release_files", "releases listed"),
    ("core_metadata", "core metadata files"),
    ("wheel_scans", "wheel scans"),
    ("hosts_without_ranges", "hosts without range requests"),
];

/// How long "this host refuses range requests" is believed: hosts change their CDN.
const HOST_MEMORY_SECONDS: u64 = 30 * 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub what: &'static str,
    pub rows: u64,
}

#[derive(Debug, Clone)]
pub struct CacheInfo {
    pub location: String,
    pub backend: &'static str,
    /// The newest migration applied.
    pub schema_version: Option<i64>,
    pub tables: Vec<TableCount>,
    /// Bytes on disk (SQLite: the file and its WAL; PostgreSQL: the tables and their indexes).
    pub bytes: Option<u64>,
    /// Scans made by an older scanner: never read again, removed by `prune`.
    pub stale_scans: u64,
    /// Unix seconds of the oldest and newest project page fetch.
    pub pages_fetched: Option<(u64, u64)>,
}

/// What `clean` or `prune` removed.
#[derive(Debug, Clone, Default)]
pub struct Cleaned {
    pub rows: BTreeMap<&'static str, u64>,
    pub bytes_before: Option<u64>,
    pub bytes_after: Option<u64>,
}

impl Cleaned {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Also remove anything stored or fetched longer ago than this many seconds.
    pub older_than: Option<u64>,
    /// Scans by other scanners than these are removed.
    pub current: CurrentScanners,
}

impl Cache {
    /// What the cache holds; scans by other scanners than `current` are counted as stale.
    pub async fn info(&self, current: &CurrentScanners) -> Result<CacheInfo, CacheError> {
        let mut tables = Vec::new();
        for (table, what) in TABLES {
            let rows: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.pool)
                    .await?;
            tables.push(TableCount {
                table,
                what,
                rows: rows.max(0) as u64,
            });
        }
        let schema_version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        let stale_scans: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM wheel_scans WHERE ",
            stale_scans!()
        ))
        .bind(i64::from(current.wheel))
        .bind(current.source_keys())
        .bind(i64::from(current.source))
        .fetch_one(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT MIN(fetched_at) AS oldest, MAX(fetched_at) AS newest FROM project_pages",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        let newest: Option<i64> = row.try_get("newest")?;
        Ok(CacheInfo {
            location: self.shown_location(),
            backend: match self.backend {
                Backend::Sqlite { .. } => "sqlite",
                Backend::Postgres { .. } => "postgres",
            },
            schema_version,
            tables,
            bytes: self.bytes().await?,
            stale_scans: stale_scans.max(0) as u64,
            pages_fetched: oldest
                .zip(newest)
                .map(|(oldest, newest)| (oldest.max(0) as u64, newest.max(0) as u64)),
        })
    }

    /// Remove everything, or only what belongs to `packages`.
    pub async fn clean(&self, packages: &[PackageName]) -> Result<Cleaned, CacheError> {
        let bytes_before = self.bytes().await?;
        let mut cleaned = Cleaned {
            bytes_before,
            ..Cleaned::default()
        };
        let mut transaction = self.pool.begin().await?;
        if packages.is_empty() {
            for (table, _) in TABLES {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&mut *transaction)
                    .await?;
                cleaned.rows.insert(table, done.rows_affected());
            }
        } else {
            for package in packages {
                for table in ["project_pages", "release_files"] {
                    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE name = $1"
                    )))
                    .bind(package.as_ref())
                    .execute(&mut *transaction)
                    .await?;
                    *cleaned.rows.entry(table).or_default() += done.rows_affected();
                }
            }
            // Immutable data is keyed by file hash: find a package's rows by their file names.
            for table in ["core_metadata", "wheel_scans"] {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT DISTINCT file_key, filename FROM {table}"
                )))
                .fetch_all(&mut *transaction)
                .await?;
                for row in rows {
                    let filename: String = row.try_get("filename")?;
                    if !packages.iter().any(|name| file_of(&filename, name)) {
                        continue;
                    }
                    let file_key: String = row.try_get("file_key")?;
                    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE file_key = $1"
                    )))
                    .bind(file_key)
                    .execute(&mut *transaction)
                    .await?;
                    *cleaned.rows.entry(table).or_default() += done.rows_affected();
                }
            }
        }
        transaction.commit().await?;
        self.compact().await?;
        cleaned.bytes_after = self.bytes().await?;
        Ok(cleaned)
    }

    /// Remove what no run will read again: scans by older scanners, releases whose page is
    /// gone, stale notes about hosts; with `older_than`, everything older too.
    pub async fn prune(&self, options: &PruneOptions) -> Result<Cleaned, CacheError> {
        let mut cleaned = Cleaned {
            bytes_before: self.bytes().await?,
            ..Cleaned::default()
        };
        let now = now() as i64;
        let mut transaction = self.pool.begin().await?;
        let stale = sqlx::query(concat!("DELETE FROM wheel_scans WHERE ", stale_scans!()))
            .bind(i64::from(options.current.wheel))
            .bind(options.current.source_keys())
            .bind(i64::from(options.current.source))
            .execute(&mut *transaction)
            .await?;
        *cleaned.rows.entry("wheel_scans").or_default() += stale.rows_affected();
        let mut run = async |table: &'static str, sql: &str, bind: Option<i64>| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            if let Some(value) = bind {
                query = query.bind(value);
            }
            let done = query.execute(&mut *transaction).await?;
            *cleaned.rows.entry(table).or_default() += done.rows_affected();
            Ok::<(), sqlx::Error>(())
        };
        run(
            "hosts_without_ranges",
            "DELETE FROM hosts_without_ranges WHERE checked_at < $1",
            Some(now - HOST_MEMORY_SECONDS as i64),
        )
        .await?;
        if let Some(age) = options.older_than {
            let cutoff = Some(now - age.min(i64::MAX as u64) as i64);
            run(
                "project_pages",
                "DELETE FROM project_pages WHERE fetched_at < $1",
                cutoff,
            )
            .await?;
            run(
                "core_metadata",
                "DELETE FROM core_metadata WHERE stored_at < $1",
                cutoff,
            )
            .await?;
            run(
                "wheel_scans",
                "DELETE FROM wheel_scans WHERE stored_at < $1",
                cutoff,
            )
            .await?;
        }
        run(
            "release_files",
            "DELETE FROM release_files WHERE NOT EXISTS (SELECT 1 FROM project_pages p
                 WHERE p.index_url = release_files.index_url AND p.name = release_files.name)",
            None,
        )
        .await?;
        transaction.commit().await?;
        self.compact().await?;
        cleaned.bytes_after = self.bytes().await?;
        Ok(cleaned)
    }

    /// Give freed space back to the file system (SQLite; PostgreSQL's autovacuum does it).
    async fn compact(&self) -> Result<(), CacheError> {
        if let Backend::Sqlite { file: Some(_) } = self.backend {
            sqlx::raw_sql("VACUUM").execute(&self.pool).await?;
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn bytes(&self) -> Result<Option<u64>, CacheError> {
        match &self.backend {
            Backend::Sqlite { file: Some(file) } => Ok(Some(sqlite_bytes(file))),
            Backend::Sqlite { file: None } => Ok(None),
            Backend::Postgres { .. } => {
                let names = TABLES.map(|(table, _)| format!("'{table}'")).join(", ");
                let bytes: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT)
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind = 'r' AND n.nspname = current_schema()
                       AND c.relname IN ({names})"
                )))
                .fetch_one(&self.pool)
                .await?;
                Ok(Some(bytes.max(0) as u64))
            }
        }
    }
}

fn sqlite_bytes(file: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
        })
        .sum()
}

/// Whether a wheel or sdist file name belongs to project `name`.
fn file_of(filename: &str, name: &PackageName) -> bool {
    crate::dist::project_name(filename).is_some_and(|project| &project == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::cache::PageState;
    use crate::index::simple::{CoreMetadata, ProjectFile};

    fn name(text: &str) -> PackageName {
        PackageName::new(text.to_string()).unwrap()
    }

    #[test]
    fn file_names_are_matched_to_their_project() {
        assert!(file_of(
            "Bottleneck-1.3.7-cp311-cp311-linux_x86_64.whl",
            &name("bottleneck")
        ));
        assert!(file_of(
            "scikit_learn-1.4.2-cp311-cp311-linux_x86_64.whl",
            &name("scikit-learn")
        ));
        assert!(file_of("scikit-learn-1.4.2.tar.gz", &name("scikit-learn")));
        assert!(!file_of("scikit-learn-1.4.2.tar.gz", &name("scikit")));
        assert!(!file_of(
            "numpy-2.0.0-cp311-cp311-linux_x86_64.whl",
            &name("numpy2")
        ));
        assert!(!file_of("README", &name("readme")));
    }

    fn file(filename: &str) -> ProjectFile {
        ProjectFile {
            filename: filename.into(),
            url: format!("https://x/{filename}"),
            sha256: Some("ab".into()),
            requires_python: None,
            size: Some(1),
            upload_time: None,
            yanked: None,
            core_metadata: CoreMetadata::Available,
        }
    }

    const CURRENT: CurrentScanners = CurrentScanners {
        wheel: 7,
        source: 3,
        removed_table: 0xfeed,
    };
    const SCANNER_VERSION: u32 = CURRENT.wheel;

    async fn filled() -> Cache {
        let cache = Cache::in_memory().await.unwrap();
        let state = PageState {
            fetched_at: now() - 100 * 24 * 3600,
            etag: None,
            last_modified: None,
        };
        for project in ["alpha", "beta"] {
            let files = [file(&format!("{project}-1.0-py3-none-any.whl"))];
            cache
                .store_page("i", project, &state, &files, |_| "1.0".to_string())
                .await
                .unwrap();
            let key = format!("sha256:{project}");
            let wheel = format!("{project}-1.0-py3-none-any.whl");
            cache.store_metadata(&key, &wheel, "Name: x").await.unwrap();
            cache
                .store_scan(&key, SCANNER_VERSION, &wheel, "{}")
                .await
                .unwrap();
            cache
                .store_scan(&key, SCANNER_VERSION - 1, &wheel, "{}")
                .await
                .unwrap();
        }
        cache
    }

    fn rows(info: &CacheInfo, table: &str) -> u64 {
        info.tables.iter().find(|t| t.table == table).unwrap().rows
    }

    #[tokio::test]
    async fn info_counts_every_table_and_stale_scans() {
        let cache = filled().await;
        let info = cache.info(&CURRENT).await.unwrap();
        assert_eq!(info.backend, "sqlite");
        assert_eq!(info.schema_version, Some(20261122000000));
        assert_eq!(rows(&info, "project_pages"), 2);
        assert_eq!(rows(&info, "release_files"), 2);
        assert_eq!(rows(&info, "core_metadata"), 2);
        assert_eq!(rows(&info, "wheel_scans"), 4);
        assert_eq!(info.stale_scans, 2);
        assert!(info.pages_fetched.is_some());
    }

    #[tokio::test]
    async fn clean_of_one_package_leaves_the_others() {
        let cache = filled().await;
        let cleaned = cache.clean(&[name("Alpha")]).await.unwrap();
        assert_eq!(cleaned.rows["project_pages"], 1);
        assert_eq!(cleaned.rows["release_files"], 1);
        assert_eq!(cleaned.rows["core_metadata"], 1);
        assert_eq!(cleaned.rows["wheel_scans"], 2);
        let info = cache.info(&CURRENT).await.unwrap();
        assert_eq!(rows(&info, "project_pages"), 1);
        assert!(cache.metadata("sha256:beta").await.unwrap().is_some());
        assert!(cache.metadata("sha256:alpha").await.unwrap().is_none());

        let all = cache.clean(&[]).await.unwrap();
        assert_eq!(all.total_rows(), 1 + 1 + 1 + 2);
        let info = cache.info(&CURRENT).await.unwrap();
        assert!(info.tables.iter().all(|t| t.rows == 0), "{info:?}");
    }

    #[tokio::test]
    async fn prune_removes_stale_scans_and_with_an_age_old_entries() {
        let cache = filled().await;
        let pruned = cache
            .prune(&PruneOptions {
                older_than: None,
                current: CURRENT,
            })
            .await
            .unwrap();
        assert_eq!(pruned.rows["wheel_scans"], 2);
        assert_eq!(pruned.rows["release_files"], 0);
        assert!(
            cache
                .scan("sha256:alpha", SCANNER_VERSION)
                .await
                .unwrap()
                .is_some()
        );

        // Pages are 100 days old; metadata and scans were stored just now.
        let pruned = cache
            .prune(&PruneOptions {
                older_than: Some(30 * 24 * 3600),
                current: CURRENT,
            })
            .await
            .unwrap();
        assert_eq!(pruned.rows["project_pages"], 2);
        assert_eq!(pruned.rows["release_files"], 2, "orphaned releases go too");
        assert_eq!(pruned.rows["core_metadata"], 0);
        assert!(cache.page("i", "alpha").await.unwrap().is_none());
    }
}
