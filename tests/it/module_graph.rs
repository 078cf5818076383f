//! The stages import one way only (see `src/lib.rs`): a module may import a stage below it, never
//! one beside or above it. Read from the source, so a new `use` that turns the flow around
//! fails here rather than in a reviewer's head.

use std::collections::BTreeSet;
use std::path::Path;

/// Stages, lowest first; modules of one rank must not import each other.
const STAGES: &[(&str, u32)] = &[
    ("requirement", 0),
    ("zipfile", 0),
    ("environment", 1),
    ("archive", 1),
    ("lockfile", 2),
    ("graph", 3),
    ("index", 4),
    ("inspect", 4),
    ("verdict", 5),
    ("observe", 5),
    ("installed", 5),
    ("fix", 6),
    ("audit", 7),
    ("export", 7),
    ("report", 8),
];

fn rank(module: &str) -> Option<u32> {
    STAGES
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, rank)| *rank)
}

/// The top-level module a file under `src/` belongs to.
fn module_of(path: &Path, src: &Path) -> String {
    let relative = path.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap();
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// `crate::name` paths in code, leaving out unit tests and comments.
fn imports(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let name: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn stages_import_only_the_stages_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in ignore::WalkBuilder::new(&src).build() {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let module = module_of(entry.path(), &src);
        let Some(from) = rank(&module) else {
            continue;
        };
        seen.insert(module.clone());
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for imported in imports(&text) {
            if imported == module {
                continue;
            }
            if let Some(to) = rank(&imported)
                && to >= from
            {
                wrong.push(format!(
                    "{} imports {imported} (stage {to}, not below {module}'s {from})",
                    entry.path().strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert_eq!(seen.len(), STAGES.len(), "stages found: {seen:?}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
