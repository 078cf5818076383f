//! Reader for PDM's `pdm.lock` (`lock_version` 4.x).
//!
//! The file is deserialized into private wire structs that mirror its layout, then validated into
//! a [`LockedProject`]. PDM locks one version of each name for the whole Python range, so every
//! dependency string resolves by name alone. PDM does not lock the project itself: its root is
//! built from `pyproject.toml` beside the lock when there is one.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use pep508_rs::{ExtraName, PackageName, Requirement};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, Deserializer};

use super::pyproject::{Pyproject, read_pyproject};
use super::source::{Source, utf8};
use super::{
    DeclaredRequirement, DependencyKind, LockFormat, LockedDependency, LockedFile, LockedPackage,
    LockedProject, LockfileError, PackageId, PackageSource, unreferenced,
};

/// The `lock_version` major this reader understands. PDM bumps the minor for additive changes
/// (`4.4` targets, `4.5` inherit_metadata), so every `4.x` is accepted.
const SUPPORTED_MAJOR: &str = "4";

/// PDM's default index when `pyproject.toml` names none.
const PYPI_SIMPLE: &str = "https://pypi.org/simple";

/// Parse the bytes of a `pdm.lock`, with the `pyproject.toml` beside it when there is one.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let pyproject = read_pyproject(path)?;
    parse_with_pyproject(path, bytes, pyproject.as_ref())
}

/// The pure part of [`parse`]: no IO; `pyproject` is what [`read_pyproject`] found.
fn parse_with_pyproject(
    path: &Path,
    bytes: &[u8],
    pyproject: Option<&Pyproject>,
) -> Result<LockedProject, LockfileError> {
    let text = utf8(path, bytes)?;
    let reader = Reader(Source::new(path, text));
    let document = DeTable::parse(text).map_err(|err| reader.syntax_error(&err))?;
    reader.check_version(document.get_ref())?;
    let lock = LockWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;
    reader.unwire(lock, pyproject)
}

// Wire types. Unknown keys are ignored so that newer 4.x locks still read. Known keys accepted and
// ignored: `[metadata] groups`, `strategy`, `content_hash`, `cross_platform`, `static_urls`; per
// package `requires_python`, `summary`, `groups`, `marker` (the package-level marker only says
// when PDM installs it; the edges carry their own), `revision`.

#[derive(Deserialize)]
struct LockWire {
    metadata: MetadataWire,
    #[serde(default, rename = "package")]
    packages: Vec<Spanned<PackageWire>>,
}

#[derive(Deserialize)]
struct MetadataWire {
    /// Written by PDM before `targets` existed.
    requires_python: Option<Spanned<String>>,
    #[serde(default)]
    targets: Vec<TargetWire>,
}

/// One `[[metadata.targets]]`: an environment the lock was resolved for.
#[derive(Deserialize)]
struct TargetWire {
    requires_python: Option<Spanned<String>>,
    /// `pdm lock --platform`: `linux`, `manylinux_2_17_x86_64`, `macos_arm64`, `windows_amd64`, …
    platform: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct PackageWire {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    /// Set on the extra entries PDM writes beside a package (`pandas[performance]`): their
    /// dependencies are what the extras add, plus the package itself.
    #[serde(default)]
    extras: Vec<Spanned<String>>,
    /// PEP 508 requirement strings.
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    files: Vec<Spanned<FileWire>>,
    git: Option<String>,
    url: Option<String>,
    path: Option<String>,
    #[serde(default)]
    editable: bool,
    subdirectory: Option<String>,
}

/// One of `files`: `{file, hash}`, or `{url, hash}` with `static_urls`.
#[derive(Deserialize)]
struct FileWire {
    file: Option<String>,
    url: Option<String>,
    hash: Option<Spanned<String>>,
}

/// A dependency string waiting for every package to be known.
struct PendingDependency {
    parent: PackageId,
    via: DependencyKind,
    requirement: Requirement,
    /// Byte offset of the string, for messages.
    offset: usize,
}

/// The file being read. Derefs to [`Source`] so that the shared helpers read as its own
/// methods; the PDM-specific steps are added here.
struct Reader<'a>(Source<'a>);

impl<'a> Deref for Reader<'a> {
    type Target = Source<'a>;

    fn deref(&self) -> &Source<'a> {
        &self.0
    }
}

impl Reader<'_> {
    fn check_version(&self, document: &DeTable<'_>) -> Result<(), LockfileError> {
        let Some(metadata) = document.get("metadata") else {
            return Err(self.error(
                0,
                "missing `[metadata]`; expected a pdm.lock with `[metadata] lock_version = \"4.x\"`",
            ));
        };
        let Some(version) = metadata
            .get_ref()
            .as_table()
            .and_then(|table| table.get("lock_version"))
        else {
            return Err(self.error_at(
                metadata,
                "missing `lock_version` in `[metadata]`; expected `lock_version = \"4.x\"`",
            ));
        };
        match version.get_ref().as_str() {
            Some(raw) if raw.split('.').next() == Some(SUPPORTED_MAJOR) => Ok(()),
            Some(raw) => Err(self.error_at(
                version,
                format!(
                    "unsupported pdm.lock `lock_version = \"{raw}\"`; np2audit reads \
                     `lock_version = \"{SUPPORTED_MAJOR}.x\"`"
                ),
            )),
            None => Err(self.error_at(
                version,
                format!(
                    "expected `lock_version` to be a string, found a TOML {}",
                    version.get_ref().type_str()
                ),
            )),
        }
    }

    fn unwire(
        &self,
        lock: LockWire,
        pyproject: Option<&Pyproject>,
    ) -> Result<LockedProject, LockfileError> {
        let requires_python = self.requires_python(&lock.metadata)?;
        let supported_markers = self.supported_markers(&lock.metadata)?;
        let index = pyproject
            .and_then(|pyproject| pyproject.index_urls.first())
            .map_or(PYPI_SIMPLE, String::as_str);

        let mut packages: Vec<LockedPackage> = Vec::with_capacity(lock.packages.len() + 1);
        let mut by_name: HashMap<PackageName, PackageId> = HashMap::new();
        // Extra entries are read after their package, which may come later in the file.
        let mut extra_entries = Vec::new();
        let mut pending = Vec::new();
        for wire in lock.packages {
            if !wire.get_ref().extras.is_empty() {
                extra_entries.push(wire);
                continue;
            }
            let id = PackageId(packages.len());
            let package = self.unwire_package(wire, id, index, &mut pending)?;
            if let Some(twin) = by_name.get(&package.name) {
                let twin = &packages[twin.0];
                return Err(self.error_line(
                    package.line,
                    format!(
                        "package `{}` is locked twice, at lines {} and {}; expected one version \
                         of each name in a pdm.lock",
                        package.name, twin.line, package.line
                    ),
                ));
            }
            by_name.insert(package.name.clone(), id);
            packages.push(package);
        }
        for wire in extra_entries {
            self.unwire_extra_entry(wire, &packages, &by_name, &mut pending)?;
        }

        for dependency in pending {
            let PendingDependency {
                parent,
                via,
                requirement,
                offset,
            } = dependency;
            let Some(&child) = by_name.get(&requirement.name) else {
                // PDM leaves out what no target environment installs (`importlib-resources;
                // python_version < "3.10"` under `requires_python >= 3.10`).
                tracing::debug!(
                    "{}:{}: dependency `{}` of `{}` is not locked; skipped",
                    self.path.display(),
                    self.line(offset),
                    requirement.name,
                    packages[parent.0].display_id()
                );
                continue;
            };
            // An extra entry lists its own package; that edge says nothing.
            if child == parent && requirement.extras.is_empty() {
                continue;
            }
            packages[parent.0].dependencies.push(LockedDependency {
                package: child,
                marker: requirement.marker,
                extras: requirement.extras,
                via,
            });
        }

        let mut index_urls = Vec::new();
        let roots = match pyproject.and_then(|pyproject| pyproject.root()) {
            Some(mut root) => {
                let id = PackageId(packages.len());
                root.dependencies = project_edges(&root.declared, &by_name);
                packages.push(root);
                index_urls = pyproject.map(|p| p.index_urls.clone()).unwrap_or_default();
                vec![id]
            }
            None => unreferenced(&packages),
        };

        Ok(LockedProject {
            path: self.path.to_path_buf(),
            format: LockFormat::PdmLock,
            requires_python,
            packages,
            roots,
            index_urls,
            warnings: Vec::new(),
            generated_by: None,
            supported_markers,
        })
    }

    /// The platforms the lock's targets name, as markers (`sys_platform == 'linux'`); none when
    /// a target names no platform (it serves them all). pdm's `--platform` names a wheel
    /// platform family; its operating system is what decides which wheels a target installs.
    fn supported_markers(
        &self,
        metadata: &MetadataWire,
    ) -> Result<Vec<pep508_rs::MarkerTree>, LockfileError> {
        let mut markers: Vec<pep508_rs::MarkerTree> = Vec::new();
        for target in &metadata.targets {
            let Some(platform) = &target.platform else {
                return Ok(Vec::new());
            };
            let name = platform.get_ref().to_ascii_lowercase();
            let os = if name.starts_with("manylinux")
                || name.starts_with("musllinux")
                || name.starts_with("linux")
            {
                "linux"
            } else if name.starts_with("macos") {
                "darwin"
            } else if name.starts_with("windows") {
                "win32"
            } else {
                return Err(self.error_at(
                    platform,
                    format!(
                        "expected `platform` to be a pdm platform (linux, manylinux_…, \
                         musllinux_…, macos_…, windows_…), found `{}`",
                        platform.get_ref()
                    ),
                ));
            };
            let marker = pep508_rs::MarkerTree::from_str(&format!("sys_platform == '{os}'"))
                .expect("a sys_platform marker parses");
            if !markers.contains(&marker) {
                markers.push(marker);
            }
        }
        Ok(markers)
    }

    /// `[metadata] requires_python`, else the one every target agrees on.
    fn requires_python(
        &self,
        metadata: &MetadataWire,
    ) -> Result<Option<VersionSpecifiers>, LockfileError> {
        let mut found: Option<VersionSpecifiers> = None;
        let raws = metadata.requires_python.iter().chain(
            metadata
                .targets
                .iter()
                .filter_map(|t| t.requires_python.as_ref()),
        );
        let mut disagree = false;
        for raw in raws {
            let specifiers = self.specifiers(raw, "requires_python")?;
            match &found {
                None => found = Some(specifiers),
                Some(first) if *first != specifiers => disagree = true,
                Some(_) => {}
            }
        }
        // Targets with different Python ranges have no single range; the audit then picks its own.
        Ok(if disagree { None } else { found })
    }

    fn unwire_package(
        &self,
        wire: Spanned<PackageWire>,
        id: PackageId,
        index: &str,
        pending: &mut Vec<PendingDependency>,
    ) -> Result<LockedPackage, LockfileError> {
        let header = wire.span().start;
        let line = self.line(header);
        let wire = wire.into_inner();
        let name = self.package_name(&wire.name, "name")?;
        let source = self.source(&wire, index);
        let version = match &wire.version {
            Some(raw) => Some(self.version(raw)?),
            // A git, URL or path package may have a version PDM could not know statically.
            None if matches!(source, PackageSource::Registry(_)) => {
                return Err(self.error(
                    header,
                    format!("package `{name}` has no `version`; expected `version = \"…\"`"),
                ));
            }
            None => None,
        };
        let display_id = match &version {
            Some(version) => format!("{name}=={version}"),
            None => name.to_string(),
        };
        let files = wire
            .files
            .iter()
            .map(|file| self.file(file))
            .collect::<Result<Vec<_>, _>>()?;
        for raw in &wire.dependencies {
            pending.push(PendingDependency {
                parent: id,
                via: DependencyKind::Normal,
                requirement: self.dependency(raw, &display_id)?,
                offset: raw.span().start,
            });
        }
        Ok(LockedPackage {
            name,
            version,
            specifier: None,
            source,
            dependencies: Vec::new(),
            files,
            declared: Vec::new(),
            line,
        })
    }

    /// An entry with `extras = [...]`: its dependencies become edges of the base package, through
    /// each extra.
    fn unwire_extra_entry(
        &self,
        wire: Spanned<PackageWire>,
        packages: &[LockedPackage],
        by_name: &HashMap<PackageName, PackageId>,
        pending: &mut Vec<PendingDependency>,
    ) -> Result<(), LockfileError> {
        let header = wire.span().start;
        let wire = wire.into_inner();
        let name = self.package_name(&wire.name, "name")?;
        let Some(&base) = by_name.get(&name) else {
            return Err(self.error(
                header,
                format!(
                    "extras entry of `{name}` has no `[[package]]` entry of `{name}` without extras"
                ),
            ));
        };
        if let Some(raw) = &wire.version {
            let version = self.version(raw)?;
            if packages[base.0].version.as_ref() != Some(&version) {
                return Err(self.error_at(
                    raw,
                    format!(
                        "extras entry `{name}=={version}` does not match the locked `{}`",
                        packages[base.0].display_id()
                    ),
                ));
            }
        }
        let owner = packages[base.0].display_id();
        for extra in &wire.extras {
            let extra = ExtraName::from_str(extra.get_ref()).map_err(|_| {
                self.error_at(
                    extra,
                    format!("expected an extra name, found `{}`", extra.get_ref()),
                )
            })?;
            for raw in &wire.dependencies {
                pending.push(PendingDependency {
                    parent: base,
                    via: DependencyKind::Extra(extra.clone()),
                    requirement: self.dependency(raw, &owner)?,
                    offset: raw.span().start,
                });
            }
        }
        Ok(())
    }

    fn source(&self, wire: &PackageWire, index: &str) -> PackageSource {
        if let Some(git) = &wire.git {
            return PackageSource::Git(git.clone());
        }
        if let Some(url) = &wire.url {
            return PackageSource::Url(match &wire.subdirectory {
                Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
                None => url.clone(),
            });
        }
        if let Some(path) = &wire.path {
            return if wire.editable {
                PackageSource::Editable(path.clone())
            } else {
                PackageSource::Path(path.clone())
            };
        }
        PackageSource::Registry(index.to_string())
    }

    fn dependency(&self, raw: &Spanned<String>, owner: &str) -> Result<Requirement, LockfileError> {
        crate::requirement::parse(raw.get_ref()).map_err(|err| {
            self.error_at(
                raw,
                format!(
                    "expected the dependencies of `{owner}` to be PEP 508 requirements, found \
                     `{}`: {}",
                    raw.get_ref(),
                    err
                ),
            )
        })
    }

    fn file(&self, wire: &Spanned<FileWire>) -> Result<LockedFile, LockfileError> {
        let file = wire.get_ref();
        let filename = file
            .file
            .clone()
            .or_else(|| file.url.as_deref().and_then(crate::dist::filename_from_url))
            .ok_or_else(|| {
                self.error_at(wire, "expected a file entry to have a `file` or `url`")
            })?;
        let sha256 = match &file.hash {
            Some(hash) => self.sha256(hash)?,
            None => None,
        };
        Ok(LockedFile {
            filename,
            url: file.url.clone(),
            sha256,
            size: None,
            upload_time: None,
        })
    }
}

/// Edges from the project's declared requirements to the packages PDM locked for them.
fn project_edges(
    declared: &[DeclaredRequirement],
    by_name: &HashMap<PackageName, PackageId>,
) -> Vec<LockedDependency> {
    declared
        .iter()
        .filter_map(|declared| {
            let requirement = &declared.requirement;
            let Some(&package) = by_name.get(&requirement.name) else {
                // A group the lock was not made with, or a marker no target satisfies.
                tracing::debug!("project requirement `{requirement}` is not locked; skipped");
                return None;
            };
            Some(LockedDependency {
                package,
                marker: requirement.marker.clone(),
                extras: requirement.extras.clone(),
                via: declared.via.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lockfile::fixtures;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::lockfile::line_of;
    use crate::lockfile::pyproject::parse_pyproject;
    use pep440_rs::Version;

    fn fixture_dir(folder: &str) -> PathBuf {
        fixtures::fixture_dir(folder)
    }

    fn read_fixture(folder: &str) -> LockedProject {
        fixtures::read_fixture(folder, "pdm.lock", LockFormat::PdmLock)
    }

    fn read_tree(folder: &str) -> Value {
        fixtures::read_json(folder, "tree.pdm.json")
    }

    /// Compare a lock with the tree the corpus script read from it (see testdata/README.md).
    /// tree.pdm.json lists the project's own edges nowhere, and lists edges to packages PDM did
    /// not lock (their marker holds on no target Python); neither is in the comparison.
    fn assert_matches_ground_truth(folder: &str, root: &str) {
        let project = read_fixture(folder);
        let tree = read_tree(folder);

        assert_eq!(project.roots.len(), 1, "{folder}: roots");
        let root_id = project.roots[0];
        assert_eq!(project.package(root_id).name.as_ref(), root);

        let expected_packages: BTreeSet<(String, String)> = tree["packages"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, version)| {
                let version = Version::from_str(version.as_str().unwrap()).unwrap();
                (name.clone(), version.to_string())
            })
            .collect();
        let locked: BTreeSet<(String, String)> = project
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
            project.packages.len() - 1,
            tree["locked_package_count"].as_u64().unwrap() as usize,
            "{folder}: locked package count"
        );
        assert_eq!(locked, expected_packages, "{folder}: packages");

        let is_locked = |name: &str| expected_packages.iter().any(|(locked, _)| locked == name);
        // (parent, child, requirement as written, canonical)
        let expected_edges: BTreeSet<(String, String, String)> = tree["edges_detailed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|edge| is_locked(edge["child"].as_str().unwrap()))
            .map(|edge| {
                let requirement: Requirement =
                    Requirement::from_str(edge["requirement"].as_str().unwrap()).unwrap();
                (
                    edge["parent"].as_str().unwrap().to_string(),
                    edge["child"].as_str().unwrap().to_string(),
                    requirement.marker.try_to_string().unwrap_or_default(),
                )
            })
            .collect();
        let mut edges = Vec::new();
        for parent_id in project.ids().filter(|&id| id != root_id) {
            let parent = project.package(parent_id);
            for dependency in &parent.dependencies {
                edges.push((
                    parent.name.to_string(),
                    project.package(dependency.package).name.to_string(),
                    dependency.marker.try_to_string().unwrap_or_default(),
                ));
            }
        }
        let count = edges.len();
        let edges: BTreeSet<_> = edges.into_iter().collect();
        assert_eq!(count, edges.len(), "{folder}: duplicate edges");
        assert_eq!(edges, expected_edges, "{folder}: edges");

        let expected_pairs: BTreeSet<(String, String)> = tree["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                (
                    edge[0].as_str().unwrap().to_string(),
                    edge[1].as_str().unwrap().to_string(),
                )
            })
            .filter(|(_, child)| is_locked(child))
            .collect();
        let pairs: BTreeSet<(String, String)> = edges
            .into_iter()
            .map(|(parent, child, _)| (parent, child))
            .collect();
        assert_eq!(pairs, expected_pairs, "{folder}: edge pairs");

        // Every requirement of pyproject.toml that PDM locked is an edge of the root.
        let root_package = project.package(root_id);
        let declared: BTreeSet<String> = root_package
            .declared
            .iter()
            .map(|declared| declared.requirement.name.to_string())
            .filter(|name| is_locked(name))
            .collect();
        let children: BTreeSet<String> = root_package
            .dependencies
            .iter()
            .map(|dependency| project.package(dependency.package).name.to_string())
            .collect();
        assert!(!children.is_empty(), "{folder}: root edges");
        assert_eq!(children, declared, "{folder}: root edges");
    }

    #[test]
    fn ds2023_numpy1_matches_pdm_tree() {
        assert_matches_ground_truth("ds2023-numpy1", "ds2023-analysis");
    }

    #[test]
    fn modern_numpy2_matches_pdm_tree() {
        let project = read_fixture("modern-numpy2");
        let root = project.package(project.roots[0]).name.to_string();
        assert_matches_ground_truth("modern-numpy2", &root);
    }

    #[test]
    fn public_ft_linear_regression_matches_pdm_tree() {
        assert_matches_ground_truth("0xSpyC__ft_linear_regression", "ft-linear-regression");
    }

    #[test]
    fn ds2023_root_declares_numpy_below_2() {
        let project = read_fixture("ds2023-numpy1");
        let root = project.package(project.roots[0]);
        assert_eq!(root.source, PackageSource::Virtual(".".to_string()));
        let numpy: Vec<_> = root
            .declared
            .iter()
            .filter(|declared| declared.requirement.name.as_ref() == "numpy")
            .collect();
        assert_eq!(numpy.len(), 1);
        assert_eq!(numpy[0].requirement.to_string(), "numpy<2");
        assert_eq!(
            project.requires_python,
            Some(VersionSpecifiers::from_str(">=3.10,<3.12").unwrap())
        );

        let pandas = project
            .packages
            .iter()
            .find(|package| package.name.as_ref() == "pandas")
            .unwrap();
        assert_eq!(pandas.line, 238);
        assert_eq!(
            pandas.source,
            PackageSource::Registry("https://pypi.org/simple".to_string())
        );
        let to_numpy: Vec<String> = pandas
            .dependencies
            .iter()
            .filter(|dependency| project.package(dependency.package).name.as_ref() == "numpy")
            .map(|dependency| dependency.marker.try_to_string().unwrap())
            .collect();
        assert_eq!(
            to_numpy.len(),
            3,
            "one edge per requirement string: {to_numpy:?}"
        );

        let cloudpickle = project
            .packages
            .iter()
            .find(|package| package.name.as_ref() == "cloudpickle")
            .unwrap();
        assert_eq!(cloudpickle.line, 13);
        assert_eq!(
            cloudpickle.files[0],
            LockedFile {
                filename: "cloudpickle-3.1.2-py3-none-any.whl".to_string(),
                url: None,
                sha256: Some(
                    "9acb47f6afd73f60dc1df93bb801b472f05ff42fa6c84167d25cb206be1fbf4a".to_string()
                ),
                size: None,
                upload_time: None,
            }
        );
    }

    const LOCK_HEAD: &str = "# This file is @generated by PDM.\n\n[metadata]\ngroups = [\"default\"]\nstrategy = [\"inherit_metadata\"]\nlock_version = \"4.5.0\"\ncontent_hash = \"sha256:00\"\n\n[[metadata.targets]]\nrequires_python = \">=3.9\"\n";

    fn parse_text(text: &str) -> Result<LockedProject, LockfileError> {
        parse_with_pyproject(Path::new("project/pdm.lock"), text.as_bytes(), None)
    }

    fn parse_error(text: &str) -> (usize, String) {
        fixtures::expect_parse_error(parse_text(text), Path::new("project/pdm.lock"))
    }

    #[test]
    fn target_platforms_are_the_environments_the_lock_serves() {
        let head = "# This file is @generated by PDM.\n\n[metadata]\ngroups = [\"default\"]\n\
                    lock_version = \"4.5.0\"\ncontent_hash = \"sha256:00\"\n";
        let targets = "[[metadata.targets]]\nrequires_python = \">=3.10\"\n\
                       platform = \"manylinux_2_17_x86_64\"\n\n\
                       [[metadata.targets]]\nrequires_python = \">=3.10\"\nplatform = \"windows_amd64\"\n";
        let project = parse_text(&format!("{head}\n{targets}")).unwrap();
        let markers: Vec<_> = project
            .supported_markers
            .iter()
            .map(|marker| marker.try_to_string().unwrap())
            .collect();
        assert_eq!(
            markers,
            ["sys_platform == 'linux'", "sys_platform == 'win32'"]
        );

        // A target without a platform serves every platform.
        let project = parse_text(LOCK_HEAD).unwrap();
        assert!(project.supported_markers.is_empty());

        let (line, message) = parse_error(&format!(
            "{head}\n[[metadata.targets]]\nrequires_python = \">=3.10\"\nplatform = \"amiga\"\n"
        ));
        assert_eq!(line, 10);
        assert!(
            message.contains("`platform`") && message.contains("amiga"),
            "{message}"
        );
    }

    #[test]
    fn folds_extra_entries_and_falls_back_to_unreferenced_roots() {
        let text = format!(
            r#"{LOCK_HEAD}
[[package]]
name = "app"
version = "1.0"
dependencies = [
    "Pandas[performance]>=2; python_version >= \"3.10\"",
    "lib @ git+https://github.com/org/lib@v1",
]

[[package]]
name = "pandas"
version = "2.2.3"
extras = ["performance"]
dependencies = [
    "bottleneck>=1.3.6",
    "pandas==2.2.3",
]

[[package]]
name = "pandas"
version = "2.2.3"

[[package]]
name = "bottleneck"
version = "1.4.2"

[[package]]
name = "lib"
git = "https://github.com/org/lib"
revision = "abc123"
"#
        );
        let project = parse_text(&text).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(project.packages.len(), 4);
        assert_eq!(project.roots, vec![PackageId(0)]);
        let app = project.package(PackageId(0));
        let pandas = app.dependencies[0].package;
        assert_eq!(project.package(pandas).display_id(), "pandas==2.2.3");
        assert_eq!(project.package(pandas).line, 29);
        assert_eq!(
            app.dependencies[0].extras,
            vec![ExtraName::from_str("performance").unwrap()]
        );
        assert_eq!(
            app.dependencies[0].marker.try_to_string().as_deref(),
            Some("python_full_version >= '3.10'")
        );
        let lib = project.package(app.dependencies[1].package);
        assert_eq!(
            lib.source,
            PackageSource::Git("https://github.com/org/lib".into())
        );
        assert_eq!(lib.version, None);
        let pandas_edges = &project.package(pandas).dependencies;
        assert_eq!(
            pandas_edges.len(),
            1,
            "the extra entry's self-reference is dropped"
        );
        assert_eq!(
            project.package(pandas_edges[0].package).name.as_ref(),
            "bottleneck"
        );
        assert_eq!(
            pandas_edges[0].via,
            DependencyKind::Extra(ExtraName::from_str("performance").unwrap())
        );
    }

    #[test]
    fn project_root_from_pyproject() {
        let pyproject = parse_pyproject(
            Path::new("project/pyproject.toml"),
            br#"[project]
name = "My_App"
dependencies = ["numpy<2", "missing>=1"]

[project.optional-dependencies]
plot = ["matplotlib"]

[dependency-groups]
test = ["pytest", {include-group = "lint"}]
lint = ["ruff"]

[tool.pdm]
distribution = false

[tool.pdm.dev-dependencies]
docs = ["sphinx", "-e file:///${PROJECT_ROOT}/sub"]

[[tool.pdm.source]]
name = "private"
url = "https://pypi.example.org/simple"
"#,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let text = format!(
            "{LOCK_HEAD}\n[[package]]\nname = \"numpy\"\nversion = \"1.26.4\"\n\n[[package]]\nname = \"pytest\"\nversion = \"8.0\"\n\n[[package]]\nname = \"ruff\"\nversion = \"0.5\"\n"
        );
        let project = parse_with_pyproject(
            Path::new("project/pdm.lock"),
            text.as_bytes(),
            Some(&pyproject),
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let root = project.package(project.roots[0]);
        assert_eq!(root.name.as_ref(), "my-app");
        assert_eq!(root.source, PackageSource::Virtual(".".into()));
        let declared: Vec<String> = root
            .declared
            .iter()
            .map(|declared| format!("{}|{}", declared.via, declared.requirement))
            .collect();
        assert_eq!(
            declared,
            [
                "|numpy<2",
                "|missing>=1",
                "extra:plot|matplotlib",
                "group:docs|sphinx",
                "group:lint|ruff",
                "group:test|pytest",
                "group:test|ruff",
            ]
        );
        let edges: Vec<String> = root
            .dependencies
            .iter()
            .map(|edge| format!("{}|{}", edge.via, project.package(edge.package).name))
            .collect();
        assert_eq!(
            edges,
            [
                "|numpy",
                "group:lint|ruff",
                "group:test|pytest",
                "group:test|ruff"
            ]
        );
        assert_eq!(project.index_urls, ["https://pypi.example.org/simple"]);
        assert_eq!(
            project.package(PackageId(0)).source,
            PackageSource::Registry("https://pypi.example.org/simple".into())
        );
    }

    #[test]
    fn rejects_truncated_toml() {
        let text = std::fs::read_to_string(fixture_dir("ds2023-numpy1").join("pdm.lock")).unwrap();
        let cut = text.find("name = \"scikit-learn\"").unwrap() + "name = \"scik".len();
        let (line, message) = parse_error(&text[..cut]);
        assert_eq!(line, line_of(&text, cut));
        assert!(message.starts_with("invalid TOML: "), "{message}");
    }

    #[test]
    fn rejects_dependency_that_is_not_pep508() {
        let (line, message) = parse_error(&format!(
            "{LOCK_HEAD}\n[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\ndependencies = [\n    \"numpy>=1.21\",\n    \"numpy >>= 1\",\n]\n"
        ));
        assert_eq!(line, 17);
        assert!(
            message.starts_with(
                "expected the dependencies of `pandas==2.0.3` to be PEP 508 requirements, found `numpy >>= 1`"
            ),
            "{message}"
        );
    }

    #[test]
    fn rejects_missing_version() {
        let (line, message) = parse_error(&format!("{LOCK_HEAD}\n[[package]]\nname = \"numpy\"\n"));
        assert_eq!(line, 12);
        assert_eq!(
            message,
            "package `numpy` has no `version`; expected `version = \"…\"`"
        );
    }

    #[test]
    fn rejects_bad_version_and_wrong_types() {
        let (line, message) = parse_error(&format!(
            "{LOCK_HEAD}\n[[package]]\nname = \"numpy\"\nversion = \"one\"\n"
        ));
        assert_eq!(line, 14);
        assert_eq!(
            message,
            "expected `version` to be a PEP 440 version, found `one`"
        );

        let (line, message) = parse_error(&format!(
            "{LOCK_HEAD}\n[[package]]\nname = \"numpy\"\nversion = \"1\"\ndependencies = \"six\"\n"
        ));
        assert_eq!(line, 15);
        assert!(message.contains("expected a sequence"), "{message}");
    }

    #[test]
    fn rejects_unsupported_lock_version_and_twins() {
        let (line, message) = parse_error("[metadata]\nlock_version = \"5.0\"\n");
        assert_eq!(line, 2);
        assert!(message.starts_with("unsupported pdm.lock"), "{message}");

        let (line, message) = parse_error("[[package]]\nname = \"a\"\n");
        assert_eq!(line, 1);
        assert!(message.starts_with("missing `[metadata]`"), "{message}");

        let (line, message) = parse_error(&format!(
            "{LOCK_HEAD}\n[[package]]\nname = \"a\"\nversion = \"1\"\n\n[[package]]\nname = \"A\"\nversion = \"2\"\n"
        ));
        assert_eq!(line, 16);
        assert!(
            message.starts_with("package `a` is locked twice, at lines 12 and 16"),
            "{message}"
        );
    }
}
