//! Paths as reports show them: relative to the working directory when the file lies inside it
//! (so a CI log or code-scanning alert points at the checkout), with forward slashes on every
//! platform. One rule for the table, Markdown, GitHub annotations and SARIF.

use std::path::{Component, Path, PathBuf};

/// `path` relative to the current directory when it lies inside it, with forward slashes;
/// otherwise as given.
pub(super) fn display_path(path: &str) -> String {
    let cwd = std::env::current_dir().ok();
    relative_inside(Path::new(path), cwd.as_deref()).unwrap_or_else(|| path.to_string())
}

/// `path` relative to `cwd`, with forward slashes, when it lies inside `cwd`.
pub(super) fn relative_inside(path: &Path, cwd: Option<&Path>) -> Option<String> {
    if path.is_relative() {
        let normal = normalize(path);
        if !normal.as_os_str().is_empty()
            && !matches!(normal.components().next(), Some(Component::ParentDir))
        {
            return Some(slashes(&normal));
        }
    }
    let cwd = cwd?;
    let absolute = if path.is_relative() {
        cwd.join(path)
    } else {
        path.to_path_buf()
    };
    if let Ok(inside) = normalize(&absolute).strip_prefix(normalize(cwd)) {
        return Some(slashes(inside)).filter(|s| !s.is_empty());
    }
    // Symlinked directories (`/tmp` on macOS, say): compare the real paths.
    let real_path = std::fs::canonicalize(&absolute).ok()?;
    let real_cwd = std::fs::canonicalize(cwd).ok()?;
    let inside = real_path.strip_prefix(&real_cwd).ok()?;
    Some(slashes(inside)).filter(|s| !s.is_empty())
}

/// Drops `.` and folds `dir/..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = normal.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    normal.pop();
                } else if !matches!(last, Some(Component::RootDir | Component::Prefix(_))) {
                    normal.push("..");
                }
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The path with forward slashes; a rooted path keeps its leading slash (`/home/…`), a
/// Windows one starts with its prefix (`C:/…`).
pub(super) fn slashes(path: &Path) -> String {
    let mut parts = Vec::new();
    let mut rooted = false;
    let mut prefixed = false;
    for component in path.components() {
        match component {
            Component::RootDir => rooted = true,
            Component::Prefix(prefix) => {
                prefixed = true;
                parts.push(prefix.as_os_str().to_string_lossy().into_owned());
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/").replace('\\', "/");
    if rooted && !prefixed {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_working_directory_become_relative() {
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("sub").join("uv.lock");
        assert_eq!(display_path(&inside.display().to_string()), "sub/uv.lock");
        assert_eq!(display_path("./a/uv.lock"), "a/uv.lock");
        assert_eq!(
            display_path("/nowhere-else/uv.lock"),
            "/nowhere-else/uv.lock"
        );
    }

    #[test]
    fn relative_to_a_given_directory() {
        let cwd = Path::new("/work/app");
        assert_eq!(
            relative_inside(Path::new("/work/app/sub/uv.lock"), Some(cwd)).as_deref(),
            Some("sub/uv.lock")
        );
        assert_eq!(
            relative_inside(Path::new("sub/../uv.lock"), Some(cwd)).as_deref(),
            Some("uv.lock")
        );
        assert_eq!(
            relative_inside(Path::new("/elsewhere/uv.lock"), Some(cwd)),
            None
        );
        assert_eq!(relative_inside(Path::new("../uv.lock"), Some(cwd)), None);
    }
}
