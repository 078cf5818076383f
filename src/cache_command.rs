//! `np2audit cache dir|info|clean|prune`: the cache as its owner sees it.

use std::io::Write;

use anyhow::Context;
use indicatif::HumanBytes;
use pep508_rs::PackageName;

use crate::cli::{CacheArgs, CacheCommand};
use crate::exit::{ExitStatus, Failure};
use crate::index::Cache;
use crate::index::cache::{CacheInfo, CacheLocation, Cleaned, CurrentScanners, PruneOptions};
use crate::inspect;
use crate::settings;

const DAY: u64 = 24 * 60 * 60;

pub async fn run_cache_command(args: &CacheArgs) -> Result<ExitStatus, Failure> {
    let location = settings::cache_location(args.cache_dir.as_deref(), args.cache_url.as_deref())
        .map_err(input_error)?;
    if let CacheCommand::Dir = args.command {
        return print(format!("{}\n", location.shown()));
    }
    // Looking must not create a cache that is not there.
    if let CacheLocation::Dir(dir) = &location
        && !dir.join(crate::index::cache::DATABASE_FILE).exists()
    {
        return print(format!("No cache at {}\n", location.shown()));
    }
    let cache = Cache::open(&location).await.map_err(|error| Failure {
        status: ExitStatus::Error,
        error: error.into(),
    })?;
    let text = match &args.command {
        CacheCommand::Dir => unreachable!("answered above"),
        CacheCommand::Info => {
            describe(&cache.info(&current_scanners()).await.map_err(input_error)?)
        }
        CacheCommand::Clean { packages } => {
            let names = packages
                .iter()
                .map(|name| {
                    PackageName::new(name.clone())
                        .with_context(|| format!("`{name}` is not a package name"))
                })
                .collect::<anyhow::Result<Vec<_>>>()
                .map_err(input_error)?;
            let cleaned = cache.clean(&names).await.map_err(input_error)?;
            let what = if names.is_empty() {
                "everything".to_string()
            } else {
                names
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            removed(
                &format!("Cleaned {what} from {}", cache.shown_location()),
                &cleaned,
            )
        }
        CacheCommand::Prune { older_than } => {
            let options = PruneOptions {
                older_than: older_than.map(|days| days.saturating_mul(DAY)),
                current: current_scanners(),
            };
            let cleaned = cache.prune(&options).await.map_err(input_error)?;
            removed(&format!("Pruned {}", cache.shown_location()), &cleaned)
        }
    };
    print(text)
}

fn input_error(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        status: ExitStatus::Error,
        error: error.into(),
    }
}

fn print(text: String) -> Result<ExitStatus, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(input_error)?;
    Ok(ExitStatus::Clean)
}

/// The scans this build of np2audit reads; the rest are stale.
fn current_scanners() -> CurrentScanners {
    CurrentScanners {
        wheel: inspect::SCANNER_VERSION,
        source: inspect::source::SOURCE_SCANNER_VERSION,
        removed_table: inspect::removed::RemovedTable::shipped().fingerprint,
    }
}

fn describe(info: &CacheInfo) -> String {
    let mut text = format!("Cache: {} ({})\n", info.location, info.backend);
    if let Some(version) = info.schema_version {
        text.push_str(&format!("Schema: {version}\n"));
    }
    if let Some(bytes) = info.bytes {
        text.push_str(&format!("Size: {}\n", HumanBytes(bytes)));
    }
    let width = info.tables.iter().map(|t| t.what.len()).max().unwrap_or(0);
    for table in &info.tables {
        text.push_str(&format!("  {:<width$}  {}\n", table.what, table.rows));
    }
    if info.stale_scans > 0 {
        text.push_str(&format!(
            "{} scans by an older scanner can go: `np2audit cache prune`\n",
            info.stale_scans
        ));
    }
    if let Some((oldest, newest)) = info.pages_fetched {
        let now = crate::index::cache::now();
        let (newest, oldest) = (
            age(now.saturating_sub(newest)),
            age(now.saturating_sub(oldest)),
        );
        if newest == oldest {
            text.push_str(&format!("Project pages fetched {newest} ago\n"));
        } else {
            text.push_str(&format!(
                "Project pages fetched between {newest} and {oldest} ago\n"
            ));
        }
    }
    text
}

fn removed(headline: &str, cleaned: &Cleaned) -> String {
    let mut text = format!("{headline}: {} entries removed", cleaned.total_rows());
    if let (Some(before), Some(after)) = (cleaned.bytes_before, cleaned.bytes_after) {
        text.push_str(&format!(
            ", {} freed ({} left)",
            HumanBytes(before.saturating_sub(after)),
            HumanBytes(after)
        ));
    }
    text.push('\n');
    for (table, rows) in cleaned.rows.iter().filter(|(_, rows)| **rows > 0) {
        text.push_str(&format!("  {table}: {rows}\n"));
    }
    text
}

fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * DAY => format!("{} h", s / 3600),
        s => format!("{} days", s / DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_write_them() {
        assert_eq!(age(30), "30 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(5 * 3600), "5 h");
        assert_eq!(age(3 * DAY), "3 days");
    }
}
