//! An installed environment (a `site-packages` directory) read from disk: its distributions,
//! their metadata and their shared objects, so it can be judged with no network at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep508_rs::{MarkerTree, PackageName};

use crate::environment::PythonVersion;
use crate::inspect::metadata::parse_core_metadata;
use crate::inspect::wheel::is_shared_object;
use crate::lockfile::{
    DependencyKind, LockFormat, LockedDependency, LockedPackage, LockedProject, LockfileError,
    PackageId, PackageSource,
};

/// What is known on disk about one installed distribution.
#[derive(Debug, Clone)]
pub struct InstalledFacts {
    /// The `.dist-info` directory's name, shown where a wheel's file name would be.
    pub dist_info: String,
    pub metadata: String,
    /// Shared objects the distribution installed (from its `RECORD`), as (record path, file).
    pub shared_objects: Vec<(String, PathBuf)>,
    /// Python modules it installed that the source scan reads, the same way.
    pub python_modules: Vec<(String, PathBuf)>,
}

#[derive(Debug)]
pub struct InstalledEnvironment {
    pub site_packages: PathBuf,
    /// The environment's Python, when it could be told (from the interpreter or the path).
    pub python: Option<PythonVersion>,
    /// The distributions, flat under a synthetic root (edges come from their metadata).
    pub project: LockedProject,
    pub facts: BTreeMap<PackageId, InstalledFacts>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{0}")]
    Lockfile(#[from] LockfileError),
    #[error("{path}: {message}")]
    Locate { path: PathBuf, message: String },
}

/// Find the environment to audit: `PATH` (a site-packages directory or a virtualenv), or the
/// environment of `--python`, else `$VIRTUAL_ENV`, else `.venv`, else `python3` on PATH.
pub fn locate(
    path: Option<&Path>,
    python: Option<&Path>,
) -> Result<(PathBuf, Option<PythonVersion>), EnvironmentError> {
    if let Some(path) = path {
        if has_dist_info(path) {
            return Ok((path.to_path_buf(), python_from_path(path)));
        }
        // A virtualenv directory: ask its interpreter.
        for interpreter in ["bin/python", "Scripts/python.exe"] {
            let candidate = path.join(interpreter);
            if candidate.is_file() {
                return ask_interpreter(&candidate);
            }
        }
        return Err(EnvironmentError::Locate {
            path: path.to_path_buf(),
            message: "neither a site-packages directory (no *.dist-info inside) nor a virtualenv"
                .into(),
        });
    }
    if let Some(python) = python {
        return ask_interpreter(python);
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        return locate(Some(Path::new(&venv)), None);
    }
    if Path::new(".venv").is_dir() {
        return locate(Some(Path::new(".venv")), None);
    }
    ask_interpreter(Path::new("python3"))
}

fn has_dist_info(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().ends_with(".dist-info"))
    })
}

/// `lib/python3.11/site-packages` says 3.11.
fn python_from_path(path: &Path) -> Option<PythonVersion> {
    path.components().find_map(|component| {
        let text = component.as_os_str().to_str()?;
        text.strip_prefix("python")?.parse().ok()
    })
}

fn ask_interpreter(python: &Path) -> Result<(PathBuf, Option<PythonVersion>), EnvironmentError> {
    let fail = |message: String| EnvironmentError::Locate {
        path: python.to_path_buf(),
        message,
    };
    let output = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, sysconfig; print(sysconfig.get_paths()['platlib']); print('%d.%d' % sys.version_info[:2])",
        ])
        .output()
        .map_err(|error| fail(format!("cannot run it: {error}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "it failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let site_packages = lines
        .next()
        .map(PathBuf::from)
        .ok_or_else(|| fail("it printed nothing".into()))?;
    let version = lines.next().and_then(|v| v.trim().parse().ok());
    Ok((site_packages, version))
}

/// Read every `*.dist-info` in `site_packages`. A distribution installed from an index (no
/// `direct_url.json`, PEP 610) counts as a release of `index`, whose other releases a fix may
/// move to; the others keep the source their `direct_url.json` names.
pub fn read(
    site_packages: &Path,
    python: Option<PythonVersion>,
    index: &str,
) -> Result<InstalledEnvironment, EnvironmentError> {
    let io_error = |error| LockfileError::Io {
        path: site_packages.to_path_buf(),
        error,
    };
    let mut dist_infos: Vec<PathBuf> = std::fs::read_dir(site_packages)
        .map_err(io_error)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "dist-info") && path.is_dir())
        .collect();
    dist_infos.sort();

    let root = LockedPackage {
        name: PackageName::new("environment".to_string()).expect("valid name"),
        version: None,
        specifier: None,
        source: PackageSource::Virtual(site_packages.display().to_string()),
        dependencies: Vec::new(),
        files: Vec::new(),
        declared: Vec::new(),
        line: 0,
    };
    let mut packages = vec![root];
    let mut facts = BTreeMap::new();
    for dist_info in dist_infos {
        let metadata_path = dist_info.join("METADATA");
        let Ok(bytes) = std::fs::read(&metadata_path) else {
            // pip itself ignores a .dist-info without METADATA; say so instead of guessing.
            tracing::warn!("{}: no METADATA, skipped", dist_info.display());
            continue;
        };
        let metadata = String::from_utf8_lossy(&bytes).into_owned();
        let parsed = parse_core_metadata(&metadata);
        let parse_error = |message: String| LockfileError::Parse {
            path: metadata_path.clone(),
            line: 1,
            message,
        };
        let name = parsed
            .name
            .as_deref()
            .ok_or_else(|| parse_error("expected a `Name:` header".into()))?;
        let name = PackageName::new(name.to_string())
            .map_err(|e| parse_error(format!("invalid `Name: {name}`: {e}")))?;
        let version = parsed
            .version
            .as_deref()
            .map(|v| {
                v.parse()
                    .map_err(|_| parse_error(format!("`Version: {v}` is not a PEP 440 version")))
            })
            .transpose()?;
        let record = std::fs::read_to_string(dist_info.join("RECORD")).unwrap_or_default();
        let shared_objects = record_shared_objects(&record, site_packages);
        let python_modules = record_files(
            &record,
            site_packages,
            crate::inspect::source::is_scanned_module,
        );
        let id = PackageId(packages.len());
        packages[0].dependencies.push(LockedDependency {
            package: id,
            marker: MarkerTree::TRUE,
            extras: Vec::new(),
            via: DependencyKind::Normal,
        });
        packages.push(LockedPackage {
            name,
            version,
            specifier: None,
            source: installed_from(&dist_info, index),
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line: 0,
        });
        facts.insert(
            id,
            InstalledFacts {
                dist_info: dist_info
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                metadata,
                shared_objects,
                python_modules,
            },
        );
    }
    Ok(InstalledEnvironment {
        site_packages: site_packages.to_path_buf(),
        python,
        project: LockedProject {
            path: site_packages.to_path_buf(),
            format: LockFormat::Installed,
            requires_python: None,
            packages,
            roots: vec![PackageId(0)],
            index_urls: Vec::new(),
            warnings: Vec::new(),
            generated_by: None,
            supported_markers: Vec::new(),
        },
        facts,
    })
}

/// Where a distribution came from, by its `direct_url.json` (PEP 610): written by pip and uv
/// for anything not installed from an index (a VCS checkout, a local directory, an archive's
/// URL). Without one it came from an index.
fn installed_from(dist_info: &Path, index: &str) -> PackageSource {
    let Ok(text) = std::fs::read_to_string(dist_info.join("direct_url.json")) else {
        return PackageSource::Registry(index.to_string());
    };
    let Ok(direct) = serde_json::from_str::<serde_json::Value>(&text) else {
        // Present but unreadable: it was not installed from an index, whatever it says.
        return PackageSource::Url(dist_info.display().to_string());
    };
    let url = direct["url"].as_str().unwrap_or_default().to_string();
    if direct.get("vcs_info").is_some() {
        PackageSource::Git(url)
    } else if direct["dir_info"]["editable"] == serde_json::Value::Bool(true) {
        PackageSource::Editable(url)
    } else if direct.get("dir_info").is_some() {
        PackageSource::Directory(url)
    } else {
        PackageSource::Url(url)
    }
}

/// Shared objects listed in a `RECORD` (CSV: path, hash, size), resolved against site-packages.
fn record_shared_objects(record: &str, site_packages: &Path) -> Vec<(String, PathBuf)> {
    record_files(record, site_packages, is_shared_object)
}

/// The files a `RECORD` lists that `keep` wants, resolved against site-packages.
fn record_files(
    record: &str,
    site_packages: &Path,
    keep: fn(&str) -> bool,
) -> Vec<(String, PathBuf)> {
    record
        .lines()
        .filter_map(|line| {
            // Paths with commas are quoted; shared-object paths practically never are.
            let path = line
                .strip_prefix('"')
                .map_or_else(|| line.split(',').next(), |rest| rest.split('"').next())?;
            keep(path).then(|| (path.to_string(), site_packages.join(path)))
        })
        .filter(|(_, file)| file.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dist_infos_and_their_shared_objects() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("lib/python3.12/site-packages");
        let info = site.join("demo-1.0.dist-info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::create_dir_all(site.join("demo")).unwrap();
        std::fs::write(
            info.join("METADATA"),
            "Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\nRequires-Dist: numpy>=1.20\n",
        )
        .unwrap();
        std::fs::write(
            site.join("demo/_ext.cpython-312-x86_64-linux-gnu.so"),
            b"\x7fELF numpy.core._multiarray_umath",
        )
        .unwrap();
        std::fs::write(
            info.join("RECORD"),
            "demo/__init__.py,sha256=x,1\ndemo/_ext.cpython-312-x86_64-linux-gnu.so,sha256=y,30\ndemo-1.0.dist-info/RECORD,,\n",
        )
        .unwrap();
        let broken = site.join("broken-0.1.dist-info");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(
            broken.join("METADATA"),
            "Name: broken\nVersion: not a version\n",
        )
        .unwrap();
        let error = read(&site, python_from_path(&site), "https://pypi.org/simple")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("broken-0.1.dist-info/METADATA:1: `Version: not a version`"),
            "{error}"
        );
        std::fs::remove_dir_all(&broken).unwrap();

        let environment = read(&site, python_from_path(&site), "https://pypi.org/simple").unwrap();
        assert_eq!(environment.python, Some(PythonVersion::new(3, 12)));
        assert_eq!(environment.project.packages.len(), 2);
        assert_eq!(environment.project.packages[1].name.as_ref(), "demo");
        let facts = &environment.facts[&PackageId(1)];
        assert_eq!(facts.shared_objects.len(), 1);
        assert!(facts.metadata.contains("Requires-Dist: numpy"));
    }
}
