//! One `np2audit lock … --format json` run measured (wall time, peak memory) and read back, for
//! the tests that bound what a fault or a hostile file may cost.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{Measured, run_measured};

pub struct MeasuredAudit {
    pub run: Measured,
    pub report: Value,
}

/// Audit `lock` against `index_url` with a cache in `cache`, with `envs` set, measured. Fails
/// the test on a panic or a report that is not JSON.
pub fn measured_audit(
    index_url: &str,
    lock: &Path,
    cache: &Path,
    envs: &[(&str, &str)],
) -> MeasuredAudit {
    let run = run_measured(
        super::run::isolated(&mut Command::new(env!("CARGO_BIN_EXE_np2audit")))
            .arg("lock")
            .arg(lock)
            .args(["--python-platform", "linux", "--format", "json"])
            .args(["--index-url", index_url])
            .arg("--cache-dir")
            .arg(cache)
            .envs(envs.iter().copied()),
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}\n{}", run.stdout, run.stderr));
    MeasuredAudit { run, report }
}

impl MeasuredAudit {
    pub fn package(&self, name: &str) -> &Value {
        self.report["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|package| package["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in the report:\n{}", self.run.stdout))
    }

    pub fn verdict(&self, name: &str) -> &str {
        self.package(name)["verdict"].as_str().expect("verdict")
    }

    /// Every evidence code and message of a package, one per line.
    pub fn evidence(&self, name: &str) -> String {
        self.package(name)["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .map(|evidence| format!("{}: {}", evidence["code"], evidence["message"]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
