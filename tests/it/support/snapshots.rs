//! Golden files under `tests/snapshots/`: compared byte for byte, rewritten with
//! `UPDATE_SNAPSHOTS=1`.

use std::path::Path;

use super::FixtureIndex;

pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/{name}"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1\n{actual}",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "snapshot {name} differs:\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// Replace what changes from run to run: the index port, temporary paths, the repo path.
pub fn stable(text: &str, index: &FixtureIndex) -> String {
    text.replace(&index.base_url(), "http://<index>")
        .replace(env!("CARGO_MANIFEST_DIR"), "<repo>")
        .lines()
        .filter(|line| !line.contains(" requests, "))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
