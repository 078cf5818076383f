//! Reader for PEP 751 lockfiles (`pylock.toml`, `pylock.<name>.toml`, `lock-version = "1.x"`).
//!
//! PEP 751 records which packages to install and when (each package's `marker`), not who needs
//! whom. When the packages carry the optional `dependencies` arrays those become the edges;
//! otherwise the graph is flat: a synthetic root for the project depends on every package, with
//! the package's marker on the edge.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

use pep508_rs::{MarkerTree, PackageName};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, Deserializer};

use super::pyproject::{Pyproject, read_pyproject};
use super::source::{Source, utf8};
use super::{
    DependencyKind, LockFormat, LockedDependency, LockedFile, LockedPackage, LockedProject,
    LockfileError, PackageId, PackageSource, unreferenced,
};

/// The `lock-version` major this reader understands; PEP 751 says a newer minor must still read.
const SUPPORTED_MAJOR: &str = "1";

/// Parse the bytes of a `pylock.toml`, with the `pyproject.toml` beside it when there is one.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let pyproject = read_pyproject(path)?;
    parse_with_pyproject(path, bytes, pyproject.as_ref())
}

/// The pure part of [`parse`].
fn parse_with_pyproject(
    path: &Path,
    bytes: &[u8],
    pyproject: Option<&Pyproject>,
) -> Result<LockedProject, LockfileError> {
    let text = utf8(path, bytes)?;
    let reader = Source::new(path, text);
    let document = DeTable::parse(text).map_err(|err| reader.syntax_error(&err))?;
    check_version(&reader, document.get_ref())?;
    let lock = LockWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;
    unwire(&reader, path, lock, pyproject)
}

// Wire types. Known keys accepted and ignored: `lock-version` (checked first), `environments`,
// `extras`, `dependency-groups`, `default-groups`, `created-by`, `[tool]`, per package
// `requires-python`, `attestation-identities` and `[packages.tool]`.

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockWire {
    requires_python: Option<Spanned<String>>,
    #[serde(default)]
    packages: Vec<Spanned<PackageWire>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageWire {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    marker: Option<Spanned<String>>,
    index: Option<String>,
    vcs: Option<VcsWire>,
    directory: Option<DirectoryWire>,
    archive: Option<Spanned<FileWire>>,
    sdist: Option<Spanned<FileWire>>,
    #[serde(default)]
    wheels: Vec<Spanned<FileWire>>,
    /// Optional in PEP 751: each entry names one other package of the lock.
    dependencies: Option<Vec<Spanned<DependencyWire>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct VcsWire {
    url: Option<String>,
    path: Option<String>,
    commit_id: Option<String>,
    subdirectory: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DirectoryWire {
    path: String,
    #[serde(default)]
    editable: bool,
}

/// An `archive`, `sdist` or one of `wheels`.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileWire {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    /// A TOML datetime in the files uv writes.
    upload_time: Option<toml::value::Datetime>,
    size: Option<u64>,
    #[serde(default)]
    hashes: BTreeMap<String, Spanned<String>>,
    subdirectory: Option<String>,
}

#[derive(Deserialize)]
struct DependencyWire {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
}

fn check_version(reader: &Source<'_>, document: &DeTable<'_>) -> Result<(), LockfileError> {
    let Some(version) = document.get("lock-version") else {
        return Err(reader.error(
            0,
            "missing `lock-version`; expected `lock-version = \"1.0\"`",
        ));
    };
    match version.get_ref().as_str() {
        Some(raw) if raw.split('.').next() == Some(SUPPORTED_MAJOR) => Ok(()),
        Some(raw) => Err(reader.error_at(
            version,
            format!(
                "unsupported pylock.toml `lock-version = \"{raw}\"`; np2audit reads \
                 `lock-version = \"{SUPPORTED_MAJOR}.x\"`"
            ),
        )),
        None => Err(reader.error_at(
            version,
            format!(
                "expected `lock-version` to be a string, found a TOML {}",
                version.get_ref().type_str()
            ),
        )),
    }
}

fn unwire(
    reader: &Source<'_>,
    path: &Path,
    lock: LockWire,
    pyproject: Option<&Pyproject>,
) -> Result<LockedProject, LockfileError> {
    let requires_python = lock
        .requires_python
        .as_ref()
        .map(|raw| reader.specifiers(raw, "requires-python"))
        .transpose()?;

    let mut packages = Vec::with_capacity(lock.packages.len() + 1);
    let mut markers = Vec::with_capacity(lock.packages.len());
    let mut pending = Vec::new();
    let mut index_urls: Vec<String> = Vec::new();
    let mut by_name: HashMap<PackageName, Vec<PackageId>> = HashMap::new();
    let mut records_dependencies = false;
    for wire in lock.packages {
        let id = PackageId(packages.len());
        let header = wire.span().start;
        let wire = wire.into_inner();
        if let Some(index) = &wire.index
            && !index_urls.contains(index)
        {
            index_urls.push(index.clone());
        }
        let marker = match &wire.marker {
            Some(raw) => crate::requirement::parse_marker(raw.get_ref()).map_err(|message| {
                reader.error_at(
                    raw,
                    format!(
                        "expected `marker` to be a PEP 508 environment marker, found `{}`: {}",
                        raw.get_ref(),
                        message
                    ),
                )
            })?,
            None => MarkerTree::TRUE,
        };
        if let Some(dependencies) = wire.dependencies {
            records_dependencies = true;
            pending.extend(dependencies.into_iter().map(|entry| (id, entry)));
        }
        let package = unwire_package(reader, header, wire.name, wire.version, {
            let PackageWire {
                index,
                vcs,
                directory,
                archive,
                sdist,
                wheels,
                ..
            } = wire;
            SourceParts {
                index,
                vcs,
                directory,
                archive,
                sdist,
                wheels,
            }
        })?;
        // A name locked at several versions (forks) is several packages, kept apart by marker.
        let same_name = by_name.entry(package.name.clone()).or_default();
        same_name.push(id);
        packages.push(package);
        markers.push(marker);
    }

    for (parent, entry) in pending {
        let start = entry.span().start;
        let entry = entry.into_inner();
        let name = reader.package_name(&entry.name, "name")?;
        let wanted = entry
            .version
            .as_ref()
            .map(|raw| reader.version(raw))
            .transpose()?;
        let matches: Vec<PackageId> = by_name
            .get(&name)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|id| {
                wanted
                    .as_ref()
                    .is_none_or(|wanted| packages[id.0].version.as_ref() == Some(wanted))
            })
            .collect();
        let [child] = matches[..] else {
            let owner = packages[parent.0].display_id();
            let message = if matches.is_empty() {
                format!("dependency `{name}` of `{owner}` matches no locked package")
            } else {
                format!(
                    "dependency `{name}` of `{owner}` is ambiguous: it matches {} packages; \
                     expected `version` to pick one",
                    matches.len()
                )
            };
            return Err(reader.error(start, message));
        };
        packages[parent.0].dependencies.push(LockedDependency {
            package: child,
            // The child's own marker says when it is installed at all.
            marker: markers[child.0].clone(),
            extras: Vec::new(),
            via: DependencyKind::Normal,
        });
    }

    // The root depends on everything (flat lock) or on what nothing else depends on.
    let children = if records_dependencies {
        unreferenced(&packages)
    } else {
        (0..packages.len()).map(PackageId).collect()
    };
    let mut root = pyproject
        .and_then(Pyproject::root)
        .unwrap_or_else(|| stem_root(path));
    root.dependencies = children
        .into_iter()
        .map(|package| LockedDependency {
            package,
            marker: markers[package.0].clone(),
            extras: Vec::new(),
            via: DependencyKind::Normal,
        })
        .collect();
    let root_id = PackageId(packages.len());
    packages.push(root);

    Ok(LockedProject {
        path: path.to_path_buf(),
        format: LockFormat::Pylock,
        requires_python,
        packages,
        roots: vec![root_id],
        index_urls,
        warnings: Vec::new(),
        generated_by: None,
        supported_markers: Vec::new(),
    })
}

/// A root named after the file: `pylock.toml` → `pylock`, `pylock.dev.toml` → `pylock-dev`.
fn stem_root(path: &Path) -> LockedPackage {
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| PackageName::from_str(stem).ok())
        .unwrap_or_else(|| PackageName::from_str("pylock").expect("a valid package name"));
    LockedPackage {
        name: stem,
        version: None,
        specifier: None,
        source: PackageSource::Virtual(".".to_string()),
        dependencies: Vec::new(),
        files: Vec::new(),
        declared: Vec::new(),
        line: 1,
    }
}

struct SourceParts {
    index: Option<String>,
    vcs: Option<VcsWire>,
    directory: Option<DirectoryWire>,
    archive: Option<Spanned<FileWire>>,
    sdist: Option<Spanned<FileWire>>,
    wheels: Vec<Spanned<FileWire>>,
}

fn unwire_package(
    reader: &Source<'_>,
    header: usize,
    name: Spanned<String>,
    raw_version: Option<Spanned<String>>,
    parts: SourceParts,
) -> Result<LockedPackage, LockfileError> {
    let name = reader.package_name(&name, "name")?;
    let version = raw_version
        .as_ref()
        .map(|raw| reader.version(raw))
        .transpose()?;
    let from_files = parts.sdist.is_some() || !parts.wheels.is_empty();
    if version.is_none() && from_files {
        return Err(reader.error(
            header,
            format!(
                "package `{name}` has no `version`; expected one for a package with `sdist` or \
                 `wheels`"
            ),
        ));
    }

    let mut files = Vec::with_capacity(parts.wheels.len() + 1);
    for file in parts.sdist.iter().chain(&parts.wheels) {
        files.push(locked_file(reader, file)?);
    }

    let source = if let Some(vcs) = parts.vcs {
        let location = vcs.url.or(vcs.path).ok_or_else(|| {
            reader.error(
                header,
                format!("expected `vcs` of `{name}` to have a `url` or `path`"),
            )
        })?;
        let mut location = match vcs.commit_id {
            Some(commit) => format!("{location}@{commit}"),
            None => location,
        };
        if let Some(subdirectory) = vcs.subdirectory {
            location.push_str(&format!("#subdirectory={subdirectory}"));
        }
        PackageSource::Git(location)
    } else if let Some(directory) = parts.directory {
        if directory.editable {
            PackageSource::Editable(directory.path)
        } else {
            PackageSource::Directory(directory.path)
        }
    } else if let Some(archive) = parts.archive {
        let file = locked_file(reader, &archive)?;
        let archive = archive.into_inner();
        let source = match (archive.url, archive.path) {
            (Some(url), _) => PackageSource::Url(match archive.subdirectory {
                Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
                None => url,
            }),
            (None, Some(path)) => PackageSource::Path(path),
            (None, None) => {
                return Err(reader.error(
                    header,
                    format!("expected `archive` of `{name}` to have a `url` or `path`"),
                ));
            }
        };
        files.push(file);
        source
    } else if let Some(index) = parts.index {
        PackageSource::Registry(index)
    } else if let Some(first) = files.first() {
        // Files without an index: the file itself is where the package comes from.
        match &first.url {
            Some(url) => PackageSource::Url(url.clone()),
            None => PackageSource::Path(first.filename.clone()),
        }
    } else {
        return Err(reader.error(
            header,
            format!(
                "package `{name}` has no source; expected one of `vcs`, `directory`, `archive`, \
                 `index`, `sdist` or `wheels`"
            ),
        ));
    };

    Ok(LockedPackage {
        name,
        version,
        specifier: None,
        source,
        dependencies: Vec::new(),
        files,
        declared: Vec::new(),
        line: reader.line(header),
    })
}

fn locked_file(reader: &Source<'_>, wire: &Spanned<FileWire>) -> Result<LockedFile, LockfileError> {
    let file = wire.get_ref();
    let filename = file
        .name
        .clone()
        .or_else(|| file.url.as_deref().and_then(crate::dist::filename_from_url))
        .or_else(|| {
            file.path
                .as_deref()
                .and_then(|path| path.rsplit(['/', '\\']).next())
                .filter(|name| !name.is_empty())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            reader.error_at(
                wire,
                "expected a distribution file to have a `name`, `url` or `path`",
            )
        })?;
    let sha256 = match file.hashes.get("sha256") {
        Some(digest) => {
            let hash = Spanned::new(digest.span(), format!("sha256:{}", digest.get_ref()));
            reader.sha256(&hash)?
        }
        None => None,
    };
    Ok(LockedFile {
        filename,
        url: file.url.clone(),
        sha256,
        size: file.size,
        upload_time: file.upload_time.as_ref().map(ToString::to_string),
    })
}

#[cfg(test)]
mod tests {
    use crate::lockfile::fixtures;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use pep440_rs::{Version, VersionSpecifiers};
    use serde_json::Value;

    use super::*;

    fn fixture_dir(folder: &str) -> PathBuf {
        fixtures::fixture_dir(folder)
    }

    fn read_fixture(folder: &str) -> LockedProject {
        fixtures::read_fixture(folder, "pylock.toml", LockFormat::Pylock)
    }

    /// pylock.toml was exported from the same folder's uv.lock, so its packages are tree.json's
    /// (uv exports every fork's version, with the fork's marker on the package).
    fn assert_matches_uv_tree(folder: &str) {
        let project = read_fixture(folder);
        let bytes = std::fs::read(fixture_dir(folder).join("tree.json")).expect("tree.json");
        let tree: Value = serde_json::from_slice(&bytes).unwrap();

        assert_eq!(project.roots.len(), 1);
        let root_id = project.roots[0];
        let root = project.package(root_id);
        assert_eq!(root.name.as_ref(), tree["root"]["name"].as_str().unwrap());

        let mut expected = BTreeSet::new();
        for (name, versions) in tree["packages"].as_object().unwrap() {
            let versions = match versions {
                Value::Array(list) => list.iter().map(|v| v.as_str().unwrap()).collect(),
                other => vec![other.as_str().unwrap()],
            };
            for version in versions {
                let version = Version::from_str(version).unwrap().to_string();
                expected.insert((name.clone(), version));
            }
        }
        let locked: Vec<(String, String)> = project
            .ids()
            .filter(|&id| id != root_id)
            .map(|id| {
                let package = project.package(id);
                (
                    package.name.to_string(),
                    package.version.as_ref().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            locked.len() as u64,
            tree["locked_package_count"].as_u64().unwrap(),
            "{folder}: count"
        );
        assert_eq!(
            locked.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{folder}: packages"
        );

        // No `dependencies` in uv's export: the root reaches every package directly, once.
        let children: Vec<PackageId> = root
            .dependencies
            .iter()
            .map(|dependency| dependency.package)
            .collect();
        assert_eq!(children, (0..root_id.0).map(PackageId).collect::<Vec<_>>());
        for id in project.ids().filter(|&id| id != root_id) {
            assert!(project.package(id).dependencies.is_empty());
            assert!(!project.package(id).files.is_empty());
        }
    }

    #[test]
    fn ds2023_numpy1_matches_uv_tree() {
        assert_matches_uv_tree("ds2023-numpy1");
    }

    #[test]
    fn modern_numpy2_matches_uv_tree() {
        assert_matches_uv_tree("modern-numpy2");
    }

    #[test]
    fn markers_extras_groups_matches_uv_tree() {
        assert_matches_uv_tree("markers-extras-groups");
    }

    #[test]
    fn reads_markers_files_and_declared_requirements() {
        let project = read_fixture("ds2023-numpy1");
        assert_eq!(
            project.requires_python,
            Some(VersionSpecifiers::from_str(">=3.10, <3.12").unwrap())
        );
        assert_eq!(project.index_urls, ["https://pypi.org/simple"]);
        let root = project.package(project.roots[0]);
        assert!(
            root.declared
                .iter()
                .any(|declared| declared.requirement.to_string() == "numpy<2")
        );
        let contourpy = root
            .dependencies
            .iter()
            .find(|dependency| {
                project.package(dependency.package).display_id() == "contourpy==1.3.2"
            })
            .unwrap();
        assert_eq!(
            contourpy.marker.try_to_string().as_deref(),
            Some("python_full_version < '3.11'")
        );
        let cloudpickle = project.package(PackageId(0));
        assert_eq!(cloudpickle.name.as_ref(), "cloudpickle");
        assert_eq!(cloudpickle.line, 7);
        assert_eq!(
            cloudpickle.source,
            PackageSource::Registry("https://pypi.org/simple".into())
        );
        assert_eq!(
            cloudpickle.files[0],
            LockedFile {
                filename: "cloudpickle-3.1.2.tar.gz".to_string(),
                url: Some(
                    "https://files.pythonhosted.org/packages/27/fb/576f067976d320f5f0114a8d9fa1215425441bb35627b1993e5afd8111e5/cloudpickle-3.1.2.tar.gz"
                        .to_string()
                ),
                sha256: Some(
                    "7fda9eb655c9c230dab534f1983763de5835249750e85fbcef43aaa30a9a2414".to_string()
                ),
                size: Some(22330),
                upload_time: Some("2025-11-03T09:25:26Z".to_string()),
            }
        );
    }

    fn parse_text(text: &str) -> Result<LockedProject, LockfileError> {
        parse_with_pyproject(Path::new("project/pylock.dev.toml"), text.as_bytes(), None)
    }

    fn parse_error(text: &str) -> (usize, String) {
        fixtures::expect_parse_error(parse_text(text), Path::new("project/pylock.dev.toml"))
    }

    const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn reads_sources_and_recorded_dependencies() {
        let text = format!(
            r#"lock-version = "1.0"
created-by = "hand"
environments = ["sys_platform == 'linux'"]
extras = []
dependency-groups = ["dev"]
default-groups = ["dev"]

[[packages]]
name = "App"
directory = {{ path = ".", editable = true }}
dependencies = [{{ name = "lib" }}, {{ name = "numpy", version = "1.26.4" }}]

[[packages]]
name = "lib"
vcs = {{ type = "git", url = "https://github.com/org/lib", requested-revision = "v1", commit-id = "abc123" }}

[[packages]]
name = "numpy"
version = "1.26.4"
index = "https://pypi.org/simple"
wheels = [{{ url = "https://example.org/numpy-1.26.4-cp311-cp311-linux_x86_64.whl", hashes = {{ sha256 = "{DIGEST}" }} }}]

[[packages]]
name = "numpy"
version = "2.2.6"
marker = "python_version >= '3.13'"
index = "https://mirror.example.org/simple"
sdist = {{ name = "numpy-2.2.6.tar.gz", url = "https://mirror.example.org/numpy-2.2.6.tar.gz", hashes = {{ sha512 = "ab" }} }}

[[packages]]
name = "plain"
version = "2.0"
archive = {{ url = "https://example.org/plain-2.0.tar.gz", hashes = {{ sha256 = "{DIGEST}" }} }}
"#
        );
        let project = parse_text(&text).unwrap_or_else(|err| panic!("{err}"));
        let root = project.package(project.roots[0]);
        assert_eq!(root.name.as_ref(), "pylock-dev");
        let children: Vec<String> = root
            .dependencies
            .iter()
            .map(|dependency| project.package(dependency.package).display_id())
            .collect();
        assert_eq!(children, ["app", "numpy==2.2.6", "plain==2.0"]);
        assert_eq!(
            root.dependencies[1].marker.try_to_string().as_deref(),
            Some("python_full_version >= '3.13'")
        );
        let app = project.package(PackageId(0));
        assert_eq!(app.source, PackageSource::Editable(".".into()));
        let app_children: Vec<String> = app
            .dependencies
            .iter()
            .map(|dependency| project.package(dependency.package).display_id())
            .collect();
        assert_eq!(app_children, ["lib", "numpy==1.26.4"]);
        assert_eq!(
            project.package(PackageId(1)).source,
            PackageSource::Git("https://github.com/org/lib@abc123".into())
        );
        assert_eq!(
            project.index_urls,
            [
                "https://pypi.org/simple",
                "https://mirror.example.org/simple"
            ]
        );
        let mirror = project.package(PackageId(3));
        assert_eq!(mirror.files[0].sha256, None);
        let plain = project.package(PackageId(4));
        assert_eq!(
            plain.source,
            PackageSource::Url("https://example.org/plain-2.0.tar.gz".into())
        );
        assert_eq!(plain.files[0].filename, "plain-2.0.tar.gz");
        assert_eq!(plain.files[0].sha256.as_deref(), Some(DIGEST));
    }

    #[test]
    fn rejects_truncated_toml() {
        let text =
            std::fs::read_to_string(fixture_dir("ds2023-numpy1").join("pylock.toml")).unwrap();
        let cut = text.find("name = \"scikit-learn\"").unwrap() + "name = \"scik".len();
        let (line, message) = parse_error(&text[..cut]);
        assert_eq!(line, super::super::line_of(&text, cut));
        assert!(message.starts_with("invalid TOML: "), "{message}");
    }

    #[test]
    fn rejects_missing_or_future_lock_version() {
        let (line, message) = parse_error("created-by = \"x\"\n");
        assert_eq!(
            (line, message.as_str()),
            (
                1,
                "missing `lock-version`; expected `lock-version = \"1.0\"`"
            )
        );
        let (line, message) = parse_error("\nlock-version = \"2.0\"\n");
        assert_eq!(line, 2);
        assert!(message.starts_with("unsupported pylock.toml"), "{message}");
    }

    #[test]
    fn rejects_bad_packages() {
        let head = "lock-version = \"1.0\"\n\n[[packages]]\nname = \"a\"\n";
        let (line, message) = parse_error(&format!(
            "{head}version = \"1\"\nmarker = \"python_version >> '3'\"\nindex = \"x\"\n"
        ));
        assert_eq!(line, 6);
        assert!(
            message.starts_with("expected `marker` to be a PEP 508"),
            "{message}"
        );

        let (line, message) = parse_error(&format!(
            "{head}wheels = [{{ url = \"https://x/a-1-py3-none-any.whl\" }}]\n"
        ));
        assert_eq!(line, 3);
        assert!(
            message.starts_with("package `a` has no `version`"),
            "{message}"
        );

        let (line, message) = parse_error(&format!("{head}version = \"1\"\n"));
        assert_eq!(line, 3);
        assert!(
            message.starts_with("package `a` has no source"),
            "{message}"
        );

        let (line, message) = parse_error(&format!(
            "{head}version = \"1\"\nindex = \"x\"\ndependencies = [{{ name = \"b\" }}]\n"
        ));
        assert_eq!(line, 7);
        assert_eq!(
            message,
            "dependency `b` of `a==1` matches no locked package"
        );

        let (line, message) = parse_error(&format!("{head}version = 1\n"));
        assert_eq!(line, 5);
        assert!(message.contains("expected a string"), "{message}");
    }
}
