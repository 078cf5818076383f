//! Checks on one release: what its metadata declares (`metadata.rs`) and which NumPy C-API its
//! compiled code was built against (`wheel.rs`). Nothing here prints.

pub mod metadata;
pub mod wheel;

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::index::{IndexError, RemoteWheel};
use wheel::{SharedObjectBuild, SignatureScanner, WheelBuild};

/// Bump when the scanner changes what it concludes: cached scans of older versions are redone.
pub const SCANNER_VERSION: u32 = 1;

/// The result of scanning one wheel's shared objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WheelScan {
    pub build: WheelBuild,
    /// Shared objects read, in order.
    pub scanned: Vec<String>,
    /// Shared objects left unread because the byte budget ran out before a conclusive one.
    pub unscanned: Vec<String>,
}

/// Limits on how much one wheel's scan may read.
#[derive(Debug, Clone, Copy)]
pub struct ScanBudget {
    /// Compressed bytes fetched across all members.
    pub compressed_bytes: u64,
    /// Decompressed bytes of any one member (a guard against decompression bombs).
    pub member_bytes: u64,
}

impl Default for ScanBudget {
    fn default() -> Self {
        ScanBudget {
            compressed_bytes: 512 * 1024 * 1024,
            member_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Scan the shared objects of a wheel, smallest first, stopping at the first conclusive one.
pub async fn scan_wheel(wheel: &RemoteWheel, budget: ScanBudget) -> Result<WheelScan, IndexError> {
    let members: Vec<(String, u64)> = wheel
        .entries()
        .iter()
        .filter(|entry| wheel::is_shared_object(&entry.name))
        .map(|entry| (entry.name.clone(), entry.compressed_size))
        .collect();
    let order = wheel::scan_order(&members);
    let mut scans = Vec::new();
    let mut scanned = Vec::new();
    let mut unscanned = Vec::new();
    let mut spent = 0u64;
    for (name, compressed_size) in &order {
        if spent.saturating_add(*compressed_size) > budget.compressed_bytes {
            unscanned.push(name.clone());
            continue;
        }
        spent += compressed_size;
        let entry = wheel
            .entries()
            .iter()
            .find(|entry| &entry.name == name)
            .expect("member listed from these entries");
        let mut scanner = SignatureScanner::new();
        wheel
            .read_member(entry, budget.member_bytes, |chunk| {
                scanner.feed(chunk);
                if scanner.is_conclusive() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await?;
        let scan = scanner.finish();
        let conclusive = matches!(scan.build, SharedObjectBuild::NumPy1 | SharedObjectBuild::NumPy2 { .. });
        scanned.push(name.clone());
        scans.push((name.clone(), scan));
        if conclusive {
            break;
        }
    }
    let build = wheel::combine(&scans, members.len());
    Ok(WheelScan {
        build,
        scanned,
        unscanned,
    })
}
