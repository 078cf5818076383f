//! Small `uv.lock` files written by tests: a virtual project that depends directly on each
//! given package, every package from the registry.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `dir/uv.lock` for a project on Python >= 3.11 that depends on `packages`
/// (`(name, version)`, numpy among them when wanted) and returns its path.
pub fn write_uv_lock(dir: &Path, packages: &[(&str, &str)]) -> PathBuf {
    let mut lock = String::from("version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n");
    let mut names: Vec<&str> = packages.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    lock.push_str(
        "\n[[package]]\nname = \"audited-app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n",
    );
    for name in &names {
        writeln!(lock, "    {{ name = \"{name}\" }},").unwrap();
    }
    lock.push_str("]\n\n[package.metadata]\nrequires-dist = [\n");
    for name in &names {
        writeln!(lock, "    {{ name = \"{name}\" }},").unwrap();
    }
    lock.push_str("]\n");
    let mut sorted = packages.to_vec();
    sorted.sort_unstable();
    for (name, version) in sorted {
        write!(
            lock,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        )
        .unwrap();
    }
    let path = dir.join("uv.lock");
    std::fs::write(&path, lock).expect("write uv.lock");
    path
}
