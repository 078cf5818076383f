//! The names and call forms NumPy removed (or turned into errors) from 2.0 on: the table in
//! `numpy-removed.toml`, read once, and the questions the source scan asks of it.
//!
//! Each entry was checked by `tests/removed-names/check.py` against real NumPy releases: present
//! before its version, gone (or an error) from it.

use std::collections::HashMap;
use std::sync::LazyLock;

use pep440_rs::Version;
use serde::Deserialize;

/// The table, as shipped.
pub const TABLE_TOML: &str = include_str!("numpy-removed.toml");

/// What kind of use fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A name looked up on a module (`numpy.float_`).
    Attribute,
    /// A submodule that no longer imports (`numpy.linalg.linalg`).
    Module,
    /// A call form that became an error (`numpy.dtype(numpy.inexact)`).
    Call,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// Dotted path from the top-level package: `numpy.in1d`.
    pub path: String,
    pub kind: Kind,
    /// The first release where the use fails.
    pub removed_in: String,
    /// What to use instead ("" when the notes name nothing).
    #[serde(default)]
    pub replacement: String,
    /// The release note or guide section it comes from.
    pub source: String,
    /// For a call form: the callee and the positional argument that makes it fail.
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub argument: Option<String>,
}

impl Removed {
    pub fn removed_in(&self) -> Version {
        self.removed_in
            .parse()
            .unwrap_or_else(|_| Version::new([2]))
    }

    /// How a report names the use: the path, or the call form.
    pub fn display(&self) -> String {
        match (&self.function, &self.argument) {
            (Some(function), Some(argument)) if self.kind == Kind::Call => {
                format!("{function}({argument})")
            }
            _ => self.path.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct TableFile {
    removed: Vec<Removed>,
}

/// The table with the lookups the scan needs.
#[derive(Debug)]
pub struct RemovedTable {
    pub entries: Vec<Removed>,
    /// Attribute and module entries by path.
    by_path: HashMap<String, usize>,
    /// Call entries by callee.
    calls: HashMap<String, Vec<usize>>,
    /// Every entry by the name reports give it ([`Removed::display`]).
    by_display: HashMap<String, usize>,
    /// A fingerprint of the table's text: scans cached under another table are redone.
    pub fingerprint: u64,
}

impl RemovedTable {
    pub fn parse(text: &str) -> Result<RemovedTable, String> {
        let file: TableFile = toml::from_str(text).map_err(|error| error.to_string())?;
        let mut by_path = HashMap::new();
        let mut calls: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in file.removed.iter().enumerate() {
            entry
                .removed_in
                .parse::<Version>()
                .map_err(|error| format!("{}: removed_in: {error}", entry.path))?;
            match entry.kind {
                Kind::Call => {
                    let (Some(function), Some(_)) = (&entry.function, &entry.argument) else {
                        return Err(format!(
                            "{}: a call needs function and argument",
                            entry.path
                        ));
                    };
                    calls.entry(function.clone()).or_default().push(index);
                }
                Kind::Attribute | Kind::Module => {
                    by_path.insert(entry.path.clone(), index);
                }
            }
        }
        let by_display = file
            .removed
            .iter()
            .enumerate()
            .map(|(index, entry)| (entry.display(), index))
            .collect();
        Ok(RemovedTable {
            entries: file.removed,
            by_path,
            calls,
            by_display,
            fingerprint: fnv1a(text.as_bytes()),
        })
    }

    /// The table shipped with np2audit.
    pub fn shipped() -> &'static RemovedTable {
        static TABLE: LazyLock<RemovedTable> = LazyLock::new(|| {
            RemovedTable::parse(TABLE_TOML).expect("the shipped table parses (a unit test says so)")
        });
        &TABLE
    }

    /// The entry a dotted path uses: the shortest prefix of it that the table lists
    /// (`numpy.linalg.linalg.norm` uses the module `numpy.linalg.linalg`).
    pub fn lookup(&self, path: &str) -> Option<usize> {
        let mut end = 0;
        while let Some(dot) = path[end..].find('.').map(|at| end + at) {
            if let Some(&index) = self.by_path.get(&path[..dot]) {
                return Some(index);
            }
            end = dot + 1;
        }
        self.by_path.get(path).copied()
    }

    /// The entry a scan's use names (its [`Removed::display`]).
    pub fn named(&self, display: &str) -> Option<&Removed> {
        self.by_display
            .get(display)
            .map(|&index| &self.entries[index])
    }

    /// The call entries of a callee, with the argument each needs.
    pub fn calls_of(&self, function: &str) -> impl Iterator<Item = (usize, &str)> {
        self.calls
            .get(function)
            .into_iter()
            .flatten()
            .map(|&index| (index, self.entries[index].argument.as_deref().unwrap_or("")))
    }
}

/// FNV-1a, for a fingerprint that is the same on every machine and build.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_each_entry_is_well_formed() {
        let table = RemovedTable::parse(TABLE_TOML).unwrap();
        assert!(table.entries.len() > 50, "{}", table.entries.len());
        for entry in &table.entries {
            assert!(entry.path.starts_with("numpy"), "{}", entry.path);
            assert!(entry.removed_in() >= Version::new([2]), "{}", entry.path);
            assert!(!entry.source.is_empty(), "{}", entry.path);
        }
    }

    #[test]
    fn a_path_uses_the_shortest_listed_prefix() {
        let table = RemovedTable::parse(
            r#"
[[removed]]
path = "numpy.linalg.linalg"
kind = "module"
removed_in = "2.0"
source = "test"

[[removed]]
path = "numpy.in1d"
kind = "attribute"
removed_in = "2.4"
replacement = "numpy.isin"
source = "test"

[[removed]]
path = "numpy.dtype(numpy.inexact)"
kind = "call"
removed_in = "2.4"
source = "test"
function = "numpy.dtype"
argument = "numpy.inexact"
"#,
        )
        .unwrap();
        let path = |index: Option<usize>| index.map(|i| table.entries[i].path.as_str());
        assert_eq!(
            path(table.lookup("numpy.linalg.linalg.norm")),
            Some("numpy.linalg.linalg")
        );
        assert_eq!(
            path(table.lookup("numpy.linalg.linalg")),
            Some("numpy.linalg.linalg")
        );
        assert_eq!(path(table.lookup("numpy.linalg")), None);
        assert_eq!(path(table.lookup("numpy.in1d")), Some("numpy.in1d"));
        assert_eq!(path(table.lookup("numpy.in1dx")), None);
        let calls: Vec<&str> = table.calls_of("numpy.dtype").map(|(_, a)| a).collect();
        assert_eq!(calls, ["numpy.inexact"]);
        assert_eq!(table.entries[2].display(), "numpy.dtype(numpy.inexact)");
    }
}
