//! Where the cache lives and how it is opened: a SQLite file in a directory, or a PostgreSQL
//! database shared by a fleet of CI runners. Both are migrated with the same embedded
//! migrations.
//!
//! A SQLite file that is damaged, half-migrated or not np2audit's is moved aside and rebuilt
//! (the cache only holds what the index can serve again). One written by a newer np2audit is
//! left alone: that run works from memory instead. A PostgreSQL database is never rebuilt.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool};
use sqlx::{ConnectOptions, Connection};

use super::{Backend, Cache, CacheError};
use crate::index::redact::redact_str;

pub const DATABASE_FILE: &str = "np2audit.sqlite3";
/// Left by a run that met a damaged database mid-run: the next open rebuilds it.
const DAMAGED_MARKER: &str = "np2audit.sqlite3.damaged";
/// Held while a process opens, migrates or rebuilds the file, so two processes starting at
/// once never migrate twice or rebuild a database the other has just made.
const OPEN_LOCK: &str = "np2audit.sqlite3.lock";
/// Where an unusable database is moved (one slot: the previous one is replaced).
const SET_ASIDE: &str = "np2audit.sqlite3.broken";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Where the cache is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// A directory holding `np2audit.sqlite3`.
    Dir(PathBuf),
    /// `postgres://…` or `postgresql://…`.
    Url(String),
}

impl CacheLocation {
    /// A `--cache-url` value, checked for a scheme np2audit can use.
    pub fn from_url(url: &str) -> Result<CacheLocation, String> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("postgres" | "postgresql") => Ok(CacheLocation::Url(url.to_string())),
            _ => Err(format!(
                "`{}` is not a PostgreSQL URL (expected postgres://USER:PASSWORD@HOST/DATABASE; \
                 for a SQLite cache give --cache-dir)",
                redact_str(url)
            )),
        }
    }

    /// The location as it may be shown: a URL's password is masked.
    pub fn shown(&self) -> String {
        match self {
            CacheLocation::Dir(dir) => dir.join(DATABASE_FILE).display().to_string(),
            CacheLocation::Url(url) => redact_str(url),
        }
    }
}

/// Why a database could not be opened, and so what to do about it.
enum Problem {
    /// Damaged, half-migrated or someone else's: rebuild it.
    Unusable(String),
    /// Written by a newer np2audit: leave it for that version.
    Newer(String),
    /// Anything else (permissions, a full disk, a server that is down): report it.
    Other(String),
}

impl Problem {
    fn message(self) -> String {
        match self {
            Problem::Unusable(message) | Problem::Newer(message) | Problem::Other(message) => {
                message
            }
        }
    }
}

fn install_drivers() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(sqlx::any::install_default_drivers);
}

pub(super) async fn open(location: &CacheLocation) -> Result<Cache, CacheError> {
    install_drivers();
    match location {
        CacheLocation::Dir(dir) => open_sqlite(dir).await,
        CacheLocation::Url(url) => open_postgres(url).await,
    }
}

pub(super) async fn in_memory() -> Result<Cache, CacheError> {
    install_drivers();
    let options = AnyConnectOptions::from_str("sqlite::memory:")?;
    // One connection: every in-memory connection would be a separate database.
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|error| CacheError::Query(error.to_string()))?;
    Ok(Cache {
        pool,
        backend: Backend::Sqlite { file: None },
        off: Arc::new(AtomicBool::new(false)),
        preloaded: Arc::default(),
    })
}

async fn open_sqlite(dir: &Path) -> Result<Cache, CacheError> {
    let file = dir.join(DATABASE_FILE);
    let open_error = |message: String| CacheError::Open {
        path: file.display().to_string(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|error| open_error(error.to_string()))?;
    let lock_path = dir.join(OPEN_LOCK);
    let _lock = tokio::task::spawn_blocking(move || -> std::io::Result<File> {
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)?;
        lock.lock()?;
        Ok(lock)
    })
    .await
    .map_err(|error| open_error(error.to_string()))?
    .map_err(|error| open_error(format!("cannot lock the cache: {error}")))?;

    let marker = dir.join(DAMAGED_MARKER);
    let outcome = if marker.exists() {
        Err(Problem::Unusable(
            "an earlier run found it damaged".to_string(),
        ))
    } else {
        connect_sqlite(&file).await
    };
    let pool = match outcome {
        Ok(pool) => pool,
        Err(Problem::Unusable(reason)) => {
            let aside = dir.join(SET_ASIDE);
            set_aside(&file, &aside).map_err(|error| {
                open_error(format!("{reason}, and it cannot be moved aside: {error}"))
            })?;
            let _ = std::fs::remove_file(&marker);
            tracing::warn!(
                "the cache at {} could not be used ({reason}): moved it to {} and started a new one",
                file.display(),
                aside.display()
            );
            connect_sqlite(&file)
                .await
                .map_err(|problem| open_error(problem.message()))?
        }
        Err(problem) => return Err(open_error(problem.message())),
    };
    Ok(Cache {
        pool,
        backend: Backend::Sqlite { file: Some(file) },
        off: Arc::new(AtomicBool::new(false)),
        preloaded: Arc::default(),
    })
}

/// WAL lets readers and one writer work at once; the busy timeout makes a second process wait
/// for the writer instead of failing.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

async fn connect_sqlite(file: &Path) -> Result<AnyPool, Problem> {
    let url = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .to_url_lossy();
    let options =
        AnyConnectOptions::from_url(&url).map_err(|error| Problem::Other(error.to_string()))?;
    // Check and migrate the file on one connection first: a pool would keep retrying a broken
    // file until its timeout.
    let mut connection = options.connect().await.map_err(classify)?;
    let checked = check_sqlite(&mut connection).await;
    let _ = connection.close().await;
    checked?;
    AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|connection, _| {
            Box::pin(async move {
                sqlx::raw_sql(SQLITE_PRAGMAS).execute(connection).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(classify)
}

async fn check_sqlite(connection: &mut AnyConnection) -> Result<(), Problem> {
    sqlx::raw_sql(SQLITE_PRAGMAS)
        .execute(&mut *connection)
        .await
        .map_err(classify)?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *connection)
            .await
            .map_err(classify)?;
    if !tables.is_empty() && !tables.iter().any(|table| table == "_sqlx_migrations") {
        return Err(Problem::Unusable(format!(
            "it is not an np2audit cache: it holds the tables {}",
            tables.join(", ")
        )));
    }
    migrate(connection, true).await
}

async fn open_postgres(url: &str) -> Result<Cache, CacheError> {
    let shown = redact_str(url);
    let open_error = |message: String| CacheError::Open {
        path: shown.clone(),
        message: scrub(&message, url),
    };
    let options =
        AnyConnectOptions::from_str(url).map_err(|error| open_error(error.to_string()))?;
    // One connection first, so a server that is down or refuses us fails at once (a pool
    // would retry until its timeout). sqlx holds an advisory lock while migrating, so runners
    // starting at once take turns.
    let mut connection = options
        .connect()
        .await
        .map_err(|error| open_error(error.to_string()))?;
    let migrated = migrate(&mut connection, false).await;
    let _ = connection.close().await;
    migrated.map_err(|problem| open_error(problem.message()))?;
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(options)
        .await
        .map_err(|error| open_error(error.to_string()))?;
    Ok(Cache {
        pool,
        backend: Backend::Postgres { shown },
        off: Arc::new(AtomicBool::new(false)),
        preloaded: Arc::default(),
    })
}

async fn migrate(connection: &mut AnyConnection, rebuildable: bool) -> Result<(), Problem> {
    let unusable = |message: String| {
        if rebuildable {
            Problem::Unusable(message)
        } else {
            Problem::Other(message)
        }
    };
    match MIGRATOR.run(connection).await {
        Ok(()) => Ok(()),
        Err(MigrateError::VersionMissing(version)) => Err(Problem::Newer(format!(
            "it was written by a newer np2audit (schema {version})"
        ))),
        Err(MigrateError::VersionMismatch(version)) => Err(unusable(format!(
            "its schema {version} differs from this np2audit's"
        ))),
        Err(MigrateError::Dirty(version)) => {
            Err(unusable(format!("schema {version} was left half-applied")))
        }
        Err(MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _)) => {
            match classify(error) {
                Problem::Unusable(message) => Err(unusable(message)),
                // A migration that fails as SQL means the tables are not the ones expected.
                Problem::Other(message) if message.contains("(code: 1)") => {
                    Err(unusable(format!("migrating it failed: {message}")))
                }
                problem => Err(problem),
            }
        }
        Err(error) => Err(Problem::Other(format!(
            "migrating the schema failed: {error}"
        ))),
    }
}

/// SQLite's primary result codes that mean the file itself is bad.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_NOTADB: i64 = 26;

fn sqlite_code(error: &sqlx::Error) -> Option<i64> {
    let code = error.as_database_error()?.code()?;
    code.parse::<i64>().ok().map(|code| code & 0xff)
}

/// A failed query that means the database file is damaged.
pub(super) fn is_damage(error: &sqlx::Error) -> bool {
    matches!(sqlite_code(error), Some(SQLITE_CORRUPT | SQLITE_NOTADB))
}

fn classify(error: sqlx::Error) -> Problem {
    if is_damage(&error) {
        return Problem::Unusable(error.to_string());
    }
    match sqlite_code(&error) {
        Some(code) => Problem::Other(format!("{error} (code: {code})")),
        None => Problem::Other(error.to_string()),
    }
}

/// Leave a note for the next run that this file is damaged (it is rebuilt when next opened).
pub(super) fn mark_damaged(file: &Path) {
    if let Some(dir) = file.parent() {
        let _ = File::create(dir.join(DAMAGED_MARKER));
    }
}

/// Move the database aside, with its WAL and shared-memory files (a stale WAL must never be
/// replayed into the new database).
fn set_aside(file: &Path, aside: &Path) -> std::io::Result<()> {
    match std::fs::rename(file, aside) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A server's error text without the URL's password, should a driver ever echo it.
fn scrub(message: &str, url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match parsed.password() {
            Some(password) if !password.is_empty() => message.replace(password, "****"),
            _ => message.to_string(),
        },
        Err(_) => message.to_string(),
    }
}
