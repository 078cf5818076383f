//! The JSON report: [`Audit`] serialised as is; its shape is versioned by `schema_version`.

use std::io::Write;

use serde::Serialize;

use crate::audit::Audit;

pub fn render(audit: &Audit, out: &mut dyn Write) -> std::io::Result<()> {
    write(audit, out)
}

/// Pretty-printed, with a final newline.
pub(super) fn write(value: &impl Serialize, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
