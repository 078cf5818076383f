//! Running the np2audit binary from tests: never the user's cache or index settings, no
//! colours, from the repository root (so reports show repository-relative paths).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::FixtureIndex;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// `command` cut off from the user's settings: no index URL from the environment, no log
/// level, no colours.
pub fn isolated(command: &mut Command) -> &mut Command {
    command
        .env_remove("UV_INDEX_URL")
        .env_remove("PIP_INDEX_URL")
        .env_remove("NP2AUDIT_LOG")
        .env("NO_COLOR", "1")
}

/// `np2audit lock LOCK --python-platform linux --index-url INDEX --cache-dir CACHE EXTRA…`.
pub fn audit_lock(index: &FixtureIndex, lock: &Path, cache: &Path, extra: &[&str]) -> Run {
    let mut args = vec![OsStr::new(lock)];
    args.extend(extra.iter().map(OsStr::new));
    audit_lock_args(index, cache, &args)
}

/// `np2audit lock ARGS… --python-platform linux --index-url INDEX --cache-dir CACHE
/// --no-project-code`.
pub fn audit_lock_args(index: &FixtureIndex, cache: &Path, args: &[&OsStr]) -> Run {
    let mut args = args.to_vec();
    args.extend(["--python-platform", "linux"].map(OsStr::new));
    lock_on_index(index, cache, &args)
}

/// `np2audit lock ARGS… --index-url INDEX --cache-dir CACHE --no-project-code`, the platform
/// left to ARGS.
pub fn lock_on_index(index: &FixtureIndex, cache: &Path, args: &[&OsStr]) -> Run {
    let output = isolated(&mut Command::new(env!("CARGO_BIN_EXE_np2audit")))
        .arg("lock")
        .args(args)
        .args(["--index-url", &index.simple_url()])
        .arg("--cache-dir")
        .arg(cache)
        // The fixture locks live inside this repository, whose own scripts are not theirs.
        .arg("--no-project-code")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run np2audit");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
