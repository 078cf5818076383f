//! Reports: one file per output format, all rendering the same [`Audit`]. Reports never fetch.

mod json;
mod table;

use std::io::Write;

use crate::audit::Audit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table for people, grouped by verdict.
    Table,
    /// The versioned JSON report (see the README for the schema).
    Json,
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
    }
}
