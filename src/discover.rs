//! Finding lockfiles: the one a directory holds (`np2audit lock DIR`), and every one under a
//! tree (`np2audit lock --recursive DIR`). Only names are looked at here; whether a
//! requirements file pins is decided once it is read (see [`is_lock`]).

use std::path::{Path, PathBuf};

use crate::lockfile::LockedProject;

/// The lockfiles looked for in a directory, in order.
pub const LOCKFILE_NAMES: [&str; 6] = [
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "pylock.toml",
    "Pipfile.lock",
    "requirements.txt",
];

/// Directories a recursive search never enters (besides hidden ones and virtualenvs): they
/// hold installed or vendored packages, or build output, not a project's lockfiles.
pub const SKIPPED_DIRECTORIES: [&str; 4] =
    ["node_modules", "target", "site-packages", "__pypackages__"];

/// `PATH`; for a directory (default: the current one) its first lockfile by [`LOCKFILE_NAMES`].
pub fn find_lockfile(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let directory = match path {
        Some(path) if !path.is_dir() => return Ok(path.to_path_buf()),
        Some(path) => path.to_path_buf(),
        None => PathBuf::from("."),
    };
    LOCKFILE_NAMES
        .iter()
        .map(|name| directory.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            let place = match path {
                Some(path) => format!("{}", path.display()),
                None => "the current directory".to_string(),
            };
            anyhow::anyhow!(
                "no lockfile in {place} (looked for {}): pass the lockfile's path",
                LOCKFILE_NAMES.join(", ")
            )
        })
}

/// A lockfile found by a recursive search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// A `requirements*.txt`: audited only if it turns out to pin ([`is_lock`]).
    pub requirements: bool,
}

/// How a file name counts in a recursive search: not at all, as a lockfile, or as a
/// requirements file that counts if it pins.
fn classify(name: &str) -> Option<bool> {
    let lockfile = matches!(
        name,
        "uv.lock" | "poetry.lock" | "pdm.lock" | "Pipfile.lock" | "pylock.toml"
    ) || (name.starts_with("pylock.") && name.ends_with(".toml"));
    if lockfile {
        return Some(false);
    }
    (name.starts_with("requirements") && name.ends_with(".txt")).then_some(true)
}

fn skipped(directory: &Path, name: &str) -> bool {
    name.starts_with('.')
        || SKIPPED_DIRECTORIES.contains(&name)
        // A virtualenv under any name (`venv`, `env`, `.tox/py311`): its site-packages hold
        // other projects' files.
        || directory.join("pyvenv.cfg").is_file()
}

/// Every lockfile under `root`: a directory's own files first, then its subdirectories', each
/// by name, so the order is the same on every machine. The walk (the `ignore` crate, as ripgrep
/// and uv use) honours `.gitignore` files, git repository or not, so build outputs and
/// virtualenvs a project ignores are not searched; symbolic links are not followed (they may
/// loop); `root` itself is searched even if it would be skipped, because the user named it. An
/// unreadable subdirectory is warned about and passed over.
pub fn find_lockfiles(root: &Path) -> anyhow::Result<Vec<Found>> {
    if !root.is_dir() {
        anyhow::bail!("--recursive {}: not a directory", root.display());
    }
    std::fs::read_dir(root)
        .map_err(|error| anyhow::anyhow!("--recursive {}: {error}", root.display()))?;
    let walk = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .require_git(false)
        .git_global(false)
        .git_exclude(false)
        .ignore(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_directory = entry.file_type().is_some_and(|kind| kind.is_dir());
            entry.depth() == 0
                || !is_directory
                || !skipped(entry.path(), &entry.file_name().to_string_lossy())
        })
        .build();
    let mut found = Vec::new();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tracing::warn!("skipping {error}");
                continue;
            }
        };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(requirements) = classify(&name) {
            found.push(Found {
                path: entry.into_path(),
                requirements,
            });
        }
    }
    // A directory's own files, then each subdirectory's, by name: the folders leading to a
    // file, compared part by part, then the file's name.
    found.sort_by_cached_key(|file| {
        let relative = file.path.strip_prefix(root).unwrap_or(&file.path);
        let folders: Vec<String> = relative
            .parent()
            .map(|parent| {
                parent
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let name = relative
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        (folders, name)
    });
    Ok(found)
}

/// Whether a requirements file found by a search is a lock worth auditing: written by a
/// compiler (pip-compile, `uv pip compile`, `uv export` say so in their header), or pinning
/// every requirement exactly (`pip freeze`). Hand-written inputs with ranges
/// (`requirements-dev.txt` holding `pytest>=8`) are not: auditing them would judge whatever
/// release is newest today, not what is deployed.
pub fn is_lock(project: &LockedProject) -> bool {
    project.generated_by.is_some() || project.packages.iter().all(|p| p.specifier.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_count() {
        assert_eq!(classify("uv.lock"), Some(false));
        assert_eq!(classify("pylock.toml"), Some(false));
        assert_eq!(classify("pylock.prod.toml"), Some(false));
        assert_eq!(classify("Pipfile.lock"), Some(false));
        assert_eq!(classify("requirements.txt"), Some(true));
        assert_eq!(classify("requirements-dev.txt"), Some(true));
        assert_eq!(classify("requirements.in"), None);
        assert_eq!(classify("constraints.txt"), None);
        assert_eq!(classify("pyproject.toml"), None);
        assert_eq!(classify("Pipfile"), None);
    }

    #[test]
    fn search_order_and_skips() {
        let root = tempfile::tempdir().unwrap();
        let touch = |relative: &str| {
            let path = root.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        };
        for relative in [
            "uv.lock",
            "b/poetry.lock",
            "a/z/pdm.lock",
            "a/uv.lock",
            "a/requirements-dev.txt",
            "a/requirements.in",
            ".hidden/uv.lock",
            "node_modules/x/uv.lock",
            "target/uv.lock",
            "venv/pyvenv.cfg",
            "venv/lib/site-packages/pkg/uv.lock",
            "lib/site-packages/uv.lock",
            "__pypackages__/uv.lock",
            "build/uv.lock",
            "envs/py311/uv.lock",
        ] {
            touch(relative);
        }
        // What the project ignores is not its lockfiles, in a git repository or not.
        std::fs::write(root.path().join(".gitignore"), "build/\nenvs/\n").unwrap();
        let found: Vec<(String, bool)> = find_lockfiles(root.path())
            .unwrap()
            .into_iter()
            .map(|found| {
                let relative = found.path.strip_prefix(root.path()).unwrap();
                (
                    relative.to_string_lossy().replace('\\', "/"),
                    found.requirements,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("uv.lock".to_string(), false),
                ("a/requirements-dev.txt".to_string(), true),
                ("a/uv.lock".to_string(), false),
                ("a/z/pdm.lock".to_string(), false),
                ("b/poetry.lock".to_string(), false),
            ]
        );
        assert!(find_lockfiles(&root.path().join("uv.lock")).is_err());
    }
}
