//! Reports: one file per output format, all rendering the same [`Audit`]; `combined.rs` puts
//! several lockfiles' reports together. Reports never fetch.

pub mod combined;
mod github;
mod json;
mod markdown;
mod paths;
mod sarif;
mod table;

use std::io::Write;

use crate::audit::Audit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table for people, grouped by verdict.
    Table,
    /// The versioned JSON report (schema in docs/json.md).
    Json,
    /// Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments.
    Markdown,
    /// SARIF 2.1.0 for code scanning, each result at the package's line in the lockfile.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`) that annotate the diff.
    Github,
}

/// How a report may style its text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

pub fn render(
    audit: &Audit,
    format: OutputFormat,
    style: Style,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => table::render(audit, style, out),
        OutputFormat::Json => json::render(audit, out),
        OutputFormat::Markdown => markdown::render(audit, out),
        OutputFormat::Sarif => sarif::render(audit, out),
        OutputFormat::Github => github::render(audit, out),
    }
}
