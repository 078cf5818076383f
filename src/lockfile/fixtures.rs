//! Helpers the reader tests share: the real lockfiles under `testdata/lockfiles/`, and parse
//! errors checked for their `file:line: message` shape.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{LockFormat, LockedProject, LockfileError, parse_lockfile};

pub(super) fn fixture_dir(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lockfiles")
        .join(folder)
}

/// Read `testdata/lockfiles/<folder>/<file>` as `format`; a failure fails the test.
pub(super) fn read_fixture(folder: &str, file: &str, format: LockFormat) -> LockedProject {
    let path = fixture_dir(folder).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("fixture {file}: {err}"));
    parse_lockfile(&path, format, &bytes).unwrap_or_else(|err| panic!("{err}"))
}

/// A JSON file of the fixture folder (the trees the real tools reported).
pub(super) fn read_json(folder: &str, file: &str) -> Value {
    let bytes =
        std::fs::read(fixture_dir(folder).join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|err| panic!("{file} is not JSON: {err}"))
}

/// The line and message of the parse error `result` must be, in the file `path`.
pub(super) fn expect_parse_error(
    result: Result<LockedProject, LockfileError>,
    path: &Path,
) -> (usize, String) {
    let err = result.expect_err("the lockfile should be rejected");
    let rendered = err.to_string();
    match err {
        LockfileError::Parse {
            path: named,
            line,
            message,
        } => {
            assert_eq!(named, path);
            assert_eq!(rendered, format!("{}:{line}: {message}", path.display()));
            (line, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}
