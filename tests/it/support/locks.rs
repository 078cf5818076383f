//! Small `uv.lock` files written by tests: a virtual project that depends directly on each
//! given package (or on some, with the edges given), every package from the registry.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `dir/uv.lock` for a project on Python >= 3.11 that depends on `packages`
/// (`(name, version)`, numpy among them when wanted) and returns its path. With numpy among
/// them, every other package lists it as a dependency, so that each one's metadata is read (a
/// pure-Python package whose entry names no numpy is judged without it).
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
    let with_numpy = names.contains(&"numpy");
    for (name, version) in sorted {
        write!(
            lock,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        )
        .unwrap();
        if with_numpy && name != "numpy" {
            lock.push_str("dependencies = [\n    { name = \"numpy\" },\n]\n");
        }
    }
    let path = dir.join("uv.lock");
    std::fs::write(&path, lock).expect("write uv.lock");
    path
}

/// [`write_uv_lock`], but as uv writes a lock made against `registry`: each package's files of
/// its version listed with the URL, hash and size the fixture index serves them at.
pub fn write_uv_lock_with_files(
    dir: &Path,
    index: &super::FixtureIndex,
    registry: &str,
    packages: &[(&str, &str)],
) -> PathBuf {
    let path = write_uv_lock(dir, packages);
    let mut lock = std::fs::read_to_string(&path).expect("read uv.lock back");
    for (name, version) in packages {
        let stanza = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        );
        let mut files = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"{registry}\" }}\nwheels = [\n"
        );
        let distribution = super::wheel_builder::filename_distribution(name).to_lowercase();
        for filename in index.filenames(name) {
            let prefix = format!("{distribution}-{version}-");
            if !filename.to_lowercase().starts_with(&prefix) || !filename.ends_with(".whl") {
                continue;
            }
            writeln!(
                files,
                "    {{ url = \"{}\", hash = \"sha256:{}\", size = {} }},",
                index.file_url(&filename),
                index.file_sha256(&filename).expect("a built file"),
                index.file_bytes(&filename).expect("a built file").len(),
            )
            .unwrap();
        }
        files.push_str("]\n");
        assert!(lock.contains(&stanza), "{stanza} in\n{lock}");
        lock = lock.replace(&stanza, &files);
    }
    std::fs::write(&path, lock).expect("write uv.lock");
    path
}

/// Writes `dir/uv.lock` as uv writes it for a project `app` on Python >= 3.11 that requires
/// `direct`, with `packages` as `(name, version, dependencies)` from the registry (numpy among
/// them when wanted), and returns its path.
pub fn write_uv_lock_tree(
    dir: &Path,
    direct: &[&str],
    packages: &[(&str, &str, &[&str])],
) -> PathBuf {
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|name| format!("    {{ name = \"{name}\" }},\n"))
            .collect::<String>()
    };
    let mut lock = format!(
        "version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\ndependencies = [\n{}]\n\n[package.metadata]\nrequires-dist = [\n{}]\n",
        list(direct),
        list(direct)
    );
    for (name, version, dependencies) in packages {
        write!(
            lock,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        )
        .unwrap();
        if !dependencies.is_empty() {
            write!(lock, "dependencies = [\n{}]\n", list(dependencies)).unwrap();
        }
    }
    let path = dir.join("uv.lock");
    std::fs::write(&path, lock).expect("write uv.lock");
    path
}
