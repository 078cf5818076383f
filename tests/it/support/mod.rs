//! Test support shared by the integration tests: an offline fixture package index served on
//! 127.0.0.1, built from the TOML descriptions under `testdata/index/`.
//!
//! ```ignore
//! mod support;
//! let index = support::FixtureIndex::start(&support::descriptions_dir(), Default::default());
//! // point np2audit at index.simple_url()
//! ```

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod descriptions;
pub mod fixture_index;
pub mod http_client;
pub mod locks;
pub mod measure;
pub mod measured_audit;
pub mod run;
pub mod snapshots;
pub mod tls_proxy;
pub mod wheel_builder;

use std::path::PathBuf;

pub use fixture_index::{
    Blackhole, Fault, FaultKind, FaultTarget, FixtureIndex, IndexOptions, IndexStats,
};
pub use http_client::{Headers, header, http_get, http_request};
pub use locks::{write_uv_lock, write_uv_lock_tree, write_uv_lock_with_files};
pub use measure::{Measured, run_measured};
pub use measured_audit::{MeasuredAudit, measured_audit};
pub use run::{Run, audit_lock, audit_lock_args};
pub use snapshots::{assert_snapshot, stable};
pub use wheel_builder::Signature;

/// `testdata/index/`: the descriptions of the standard fixture packages.
pub fn descriptions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/index")
}

/// PEP 503 normalization: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.push(character.to_ascii_lowercase());
        }
    }
    normalized
}
