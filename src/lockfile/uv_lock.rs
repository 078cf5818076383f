//! Reader for uv's `uv.lock` (format `version = 1`, any `revision`).
//!
//! The file is deserialized into private wire structs that mirror its layout, then validated into
//! a [`LockedProject`]: names are normalised, versions, specifiers and markers parsed, and every
//! dependency entry is resolved to the one locked package it names.

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;
use pep508_rs::{MarkerTree, PackageName, Requirement};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, Deserializer};

use super::source::{Source, utf8};
use super::{
    DeclaredRequirement, DependencyKind, LockFormat, LockedDependency, LockedFile, LockedPackage,
    LockedProject, LockfileError, PackageId, PackageSource,
};

/// The uv.lock format version this reader understands. uv bumps `revision`, not `version`, for
/// changes older readers can still read, so every revision is accepted.
const SUPPORTED_VERSION: u64 = 1;

/// Parse the bytes of a `uv.lock`; `path` is only used in error messages.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let reader = Reader::new(path, utf8(path, bytes)?);

    let document = DeTable::parse(reader.text).map_err(|err| reader.syntax_error(&err))?;
    // Check the format version before the schema: a future format may not fit the wire structs,
    // and "unsupported version" is the error that helps then.
    reader.check_version(document.get_ref())?;
    let lock = LockWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;
    reader.unwire(lock)
}

// Wire types: the file's layout, with spans kept where an error may need a line.
//
// Unknown keys are ignored so that newer revisions still read. Known keys accepted and ignored
// because they steer uv's resolver, not the locked graph: `revision`, `resolution-markers`,
// `required-markers`, `conflicts`, `[options]`, the `[manifest]` tables
// other than `members`, and per package `resolution-markers` and `metadata.provides-extras`.

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockWire {
    requires_python: Option<Spanned<String>>,
    #[serde(default)]
    supported_markers: Vec<Spanned<String>>,
    #[serde(default)]
    manifest: ManifestWire,
    #[serde(default, rename = "package")]
    packages: Vec<Spanned<PackageWire>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ManifestWire {
    /// The workspace members, present when the workspace has more than the root project.
    #[serde(default)]
    members: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageWire {
    name: Spanned<String>,
    /// Absent for packages with a dynamic version from a path, git or virtual source.
    version: Option<Spanned<String>>,
    source: Option<Spanned<SourceWire>>,
    #[serde(default)]
    dependencies: Vec<Spanned<DependencyWire>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<Spanned<String>, Vec<Spanned<DependencyWire>>>,
    /// uv's name for the dependency groups (PEP 735) of a package.
    #[serde(default)]
    dev_dependencies: BTreeMap<Spanned<String>, Vec<Spanned<DependencyWire>>>,
    sdist: Option<Spanned<FileWire>>,
    #[serde(default)]
    wheels: Vec<Spanned<FileWire>>,
    #[serde(default)]
    metadata: MetadataWire,
}

/// `source = { registry = "…" }` and its siblings: exactly one key names the kind.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SourceWire {
    registry: Option<String>,
    git: Option<String>,
    url: Option<String>,
    path: Option<String>,
    directory: Option<String>,
    editable: Option<String>,
    r#virtual: Option<String>,
    /// Only with `url`: the project's directory inside the archive.
    subdirectory: Option<String>,
}

/// One entry of `dependencies`, `optional-dependencies` or `dev-dependencies`. `version` and
/// `source` appear only when the name alone does not pick one locked package.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DependencyWire {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    source: Option<Spanned<SourceWire>>,
    marker: Option<Spanned<String>>,
    #[serde(default)]
    extra: Vec<Spanned<String>>,
}

/// An `sdist` or one of `wheels`. A direct URL or path package records its sdist as a bare hash:
/// the file is then the package source itself.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileWire {
    url: Option<String>,
    path: Option<String>,
    filename: Option<String>,
    hash: Option<Spanned<String>>,
    size: Option<u64>,
    upload_time: Option<String>,
}

/// `[package.metadata]`: what a package whose metadata uv cannot re-read from an index (the
/// project, path and git packages) declares.
#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MetadataWire {
    #[serde(default)]
    requires_dist: Vec<Spanned<RequirementWire>>,
    #[serde(default)]
    requires_dev: BTreeMap<Spanned<String>, Vec<Spanned<RequirementWire>>>,
}

/// A requirement as uv writes it into `[package.metadata]`: split into fields, with the source
/// in one of `url`, `git`, `path`, `directory`, `editable`, `virtual` (or a registry `specifier`).
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RequirementWire {
    name: String,
    specifier: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
    url: Option<String>,
    subdirectory: Option<String>,
    git: Option<String>,
}

impl RequirementWire {
    /// The requirement as a PEP 508 string: `name[extras] specifier ; marker`, or
    /// `name[extras] @ url ; marker` for a direct URL or git reference.
    ///
    /// Local sources (`path`, `directory`, `editable`, `virtual`) have no PEP 508 spelling relative
    /// to the lockfile, so they become a bare name: a local path pins no version range, and the
    /// audit reads only names, version ranges and markers.
    fn to_pep508(&self) -> String {
        let mut pep508 = self.name.clone();
        if !self.extras.is_empty() {
            pep508.push('[');
            pep508.push_str(&self.extras.join(","));
            pep508.push(']');
        }
        if let Some(url) = &self.url {
            pep508.push_str(" @ ");
            pep508.push_str(url);
            if let Some(subdirectory) = &self.subdirectory {
                pep508.push_str("#subdirectory=");
                pep508.push_str(subdirectory);
            }
        } else if let Some(git) = &self.git {
            pep508.push_str(" @ ");
            pep508.push_str(&git_requirement_url(git));
        } else if let Some(specifier) = &self.specifier {
            pep508.push(' ');
            pep508.push_str(specifier);
        }
        if let Some(marker) = &self.marker {
            // The space before `;` ends a URL for the PEP 508 parser.
            pep508.push_str(" ; ");
            pep508.push_str(marker);
        }
        pep508
    }
}

/// A dependency entry of one package, waiting for every package to be known.
struct PendingDependency {
    parent: PackageId,
    via: DependencyKind,
    wire: Spanned<DependencyWire>,
}

/// The file being read. Derefs to [`Source`] so that the shared helpers read as its own
/// methods; the uv-specific steps are added here.
struct Reader<'a>(Source<'a>);

impl<'a> Deref for Reader<'a> {
    type Target = Source<'a>;

    fn deref(&self) -> &Source<'a> {
        &self.0
    }
}

impl<'a> Reader<'a> {
    fn new(path: &'a Path, text: &'a str) -> Self {
        Reader(Source::new(path, text))
    }

    fn check_version(&self, document: &DeTable<'_>) -> Result<(), LockfileError> {
        let Some(version) = document.get("version") else {
            return Err(self.error(
                0,
                format!("missing `version`; expected `version = {SUPPORTED_VERSION}`"),
            ));
        };
        let number = version
            .get_ref()
            .as_integer()
            .and_then(|integer| u64::from_str_radix(integer.as_str(), integer.radix()).ok());
        match number {
            Some(SUPPORTED_VERSION) => Ok(()),
            Some(other) => Err(self.error_at(
                version,
                format!(
                    "unsupported uv.lock `version = {other}`; np2audit reads \
                     `version = {SUPPORTED_VERSION}`"
                ),
            )),
            None => Err(self.error_at(
                version,
                format!(
                    "expected `version` to be the integer {SUPPORTED_VERSION}, found a TOML {}",
                    version.get_ref().type_str()
                ),
            )),
        }
    }

    fn unwire(&self, lock: LockWire) -> Result<LockedProject, LockfileError> {
        let requires_python = lock
            .requires_python
            .map(|raw| {
                VersionSpecifiers::from_str(raw.get_ref()).map_err(|err| {
                    self.error_at(
                        &raw,
                        format!(
                            "expected `requires-python` to be PEP 440 version specifiers, \
                             found `{}`: {}",
                            raw.get_ref(),
                            first_line(&err)
                        ),
                    )
                })
            })
            .transpose()?;

        let supported_markers = lock
            .supported_markers
            .iter()
            .map(|raw| {
                pep508_rs::MarkerTree::from_str(raw.get_ref()).map_err(|err| {
                    self.error_at(
                        raw,
                        format!(
                            "expected `supported-markers` to hold PEP 508 markers, found `{}`: {}",
                            raw.get_ref(),
                            first_line(&err)
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        // Two passes: a dependency can only be resolved once every package is known.
        let mut packages: Vec<LockedPackage> = Vec::with_capacity(lock.packages.len());
        let mut by_name: HashMap<PackageName, Vec<PackageId>> = HashMap::new();
        let mut pending = Vec::new();
        for wire in lock.packages {
            let id = PackageId(packages.len());
            let package = self.unwire_package(wire, id, &mut pending)?;
            self.add_package(&mut packages, &mut by_name, package)?;
        }

        let mut edges = Vec::with_capacity(pending.len());
        for dependency in pending {
            let parent = dependency.parent;
            edges.push((parent, self.resolve(&packages, &by_name, dependency)?));
        }
        for (parent, edge) in edges {
            packages[parent.0].dependencies.push(edge);
        }

        let roots = self.roots(&packages, &lock.manifest.members)?;
        Ok(LockedProject {
            path: self.path.to_path_buf(),
            format: LockFormat::UvLock,
            requires_python,
            packages,
            roots,
            // uv records each package's registry in its source; the audit reads it there.
            index_urls: Vec::new(),
            warnings: Vec::new(),
            generated_by: None,
            supported_markers,
        })
    }

    /// Validate one `[[package]]` on its own; its dependency entries go to `pending`.
    fn unwire_package(
        &self,
        wire: Spanned<PackageWire>,
        id: PackageId,
        pending: &mut Vec<PendingDependency>,
    ) -> Result<LockedPackage, LockfileError> {
        // The span of an array-of-tables entry is its `[[package]]` header.
        let header = wire.span().start;
        let line = self.line(header);
        let wire = wire.into_inner();

        let name = self.package_name(&wire.name, "name")?;
        let version = wire
            .version
            .as_ref()
            .map(|raw| self.version(raw))
            .transpose()?;
        let display_id = match &version {
            Some(version) => format!("{name}=={version}"),
            None => name.to_string(),
        };
        let Some(source) = wire.source else {
            return Err(self.error(header, format!("package `{display_id}` has no `source`")));
        };
        let source = self.source(source)?;

        let mut files = Vec::with_capacity(wire.wheels.len() + 1);
        for file in wire.sdist.into_iter().chain(wire.wheels) {
            files.push(self.file(file, &source)?);
        }

        let mut declared = Vec::with_capacity(wire.metadata.requires_dist.len());
        for requirement in &wire.metadata.requires_dist {
            declared.push(DeclaredRequirement {
                requirement: self.requirement(requirement, &display_id)?,
                // Entries behind `extra == '…'` stay Normal: their marker still says which extra.
                via: DependencyKind::Normal,
            });
        }
        for (group, requirements) in &wire.metadata.requires_dev {
            let group = self.group_name(group)?;
            for requirement in requirements {
                declared.push(DeclaredRequirement {
                    requirement: self.requirement(requirement, &display_id)?,
                    via: DependencyKind::Group(group.clone()),
                });
            }
        }

        let mut queue = |via: DependencyKind, entries: Vec<Spanned<DependencyWire>>| {
            pending.extend(entries.into_iter().map(|wire| PendingDependency {
                parent: id,
                via: via.clone(),
                wire,
            }));
        };
        queue(DependencyKind::Normal, wire.dependencies);
        for (extra, entries) in wire.optional_dependencies {
            queue(DependencyKind::Extra(self.extra_name(&extra)?), entries);
        }
        for (group, entries) in wire.dev_dependencies {
            queue(DependencyKind::Group(self.group_name(&group)?), entries);
        }

        Ok(LockedPackage {
            name,
            version,
            specifier: None,
            source,
            dependencies: Vec::new(),
            files,
            declared,
            line,
        })
    }

    /// Find the one locked package a dependency entry names, by normalised name and by the
    /// `version` and `source` it gives.
    fn resolve(
        &self,
        packages: &[LockedPackage],
        by_name: &HashMap<PackageName, Vec<PackageId>>,
        dependency: PendingDependency,
    ) -> Result<LockedDependency, LockfileError> {
        let PendingDependency { parent, via, wire } = dependency;
        let entry = wire.span().start;
        let wire = wire.into_inner();

        let name = self.package_name(&wire.name, "name")?;
        let version = wire
            .version
            .as_ref()
            .map(|raw| self.version(raw))
            .transpose()?;
        let source = wire.source.map(|raw| self.source(raw)).transpose()?;
        let marker = match &wire.marker {
            Some(raw) => self.marker(raw)?,
            None => MarkerTree::TRUE,
        };
        let extras = wire
            .extra
            .iter()
            .map(|extra| self.extra_name(extra))
            .collect::<Result<Vec<_>, _>>()?;

        let same_name = by_name.get(&name).map_or(&[][..], Vec::as_slice);
        let matches: Vec<PackageId> = same_name
            .iter()
            .copied()
            .filter(|id| {
                let candidate = &packages[id.0];
                version
                    .as_ref()
                    .is_none_or(|version| candidate.version.as_ref() == Some(version))
                    && source
                        .as_ref()
                        .is_none_or(|source| &candidate.source == source)
            })
            .collect();
        if let [package] = matches[..] {
            return Ok(LockedDependency {
                package,
                marker,
                extras,
                via,
            });
        }

        let mut wanted = name.to_string();
        if let Some(version) = &version {
            wanted.push_str(&format!("=={version}"));
        }
        if let Some(source) = &source {
            wanted.push_str(&format!(" from {} `{}`", source.kind(), source.location()));
        }
        let locked = |ids: &[PackageId]| {
            ids.iter()
                .map(|id| format!("`{}`", packages[id.0].display_id()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let parent = packages[parent.0].display_id();
        let message = if matches.is_empty() {
            let mut message =
                format!("dependency `{wanted}` of `{parent}` matches no locked package");
            if !same_name.is_empty() {
                message.push_str(&format!("; locked are {}", locked(same_name)));
            }
            message
        } else {
            format!(
                "dependency `{wanted}` of `{parent}` is ambiguous: it matches {}; expected \
                 `version` or `source` to pick one",
                locked(&matches)
            )
        };
        Err(self.error(entry, message))
    }

    /// The project's own packages: the one uv locked at `.`, plus the workspace members. A lock
    /// that records neither (not written by uv for a project) starts from the packages nothing
    /// depends on.
    fn roots(
        &self,
        packages: &[LockedPackage],
        members: &[Spanned<String>],
    ) -> Result<Vec<PackageId>, LockfileError> {
        let mut roots: Vec<PackageId> = (0..packages.len())
            .map(PackageId)
            .filter(|id| is_project_directory(&packages[id.0].source))
            .collect();
        for member in members {
            let name = self.package_name(member, "members")?;
            let before = roots.len();
            roots.extend(
                (0..packages.len())
                    .map(PackageId)
                    .filter(|id| packages[id.0].name == name),
            );
            if roots.len() == before {
                return Err(self.error_at(
                    member,
                    format!("workspace member `{name}` in `[manifest]` is not a locked package"),
                ));
            }
        }

        if roots.is_empty() {
            let mut depended_on = vec![false; packages.len()];
            for (parent, package) in packages.iter().enumerate() {
                for dependency in &package.dependencies {
                    // An extra enabling other extras of its own package is no parent.
                    if dependency.package.0 != parent {
                        depended_on[dependency.package.0] = true;
                    }
                }
            }
            roots = (0..packages.len())
                .filter(|&index| !depended_on[index])
                .map(PackageId)
                .collect();
        }
        roots.sort_unstable();
        roots.dedup();
        Ok(roots)
    }

    fn source(&self, wire: Spanned<SourceWire>) -> Result<PackageSource, LockfileError> {
        let span = wire.span();
        let SourceWire {
            registry,
            git,
            url,
            path,
            directory,
            editable,
            r#virtual,
            subdirectory,
        } = wire.into_inner();
        // Keep a URL's subdirectory as PEP 508 spells it, so that two projects in one archive
        // stay two sources.
        let url = url.map(|url| match subdirectory {
            Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
            None => url,
        });
        let mut kinds = [
            registry.map(PackageSource::Registry),
            git.map(PackageSource::Git),
            url.map(PackageSource::Url),
            path.map(PackageSource::Path),
            directory.map(PackageSource::Directory),
            editable.map(PackageSource::Editable),
            r#virtual.map(PackageSource::Virtual),
        ]
        .into_iter()
        .flatten();
        match (kinds.next(), kinds.next()) {
            (Some(source), None) => Ok(source),
            _ => Err(self.error(
                span.start,
                "expected `source` to have exactly one of `registry`, `git`, `url`, `path`, \
                 `directory`, `editable` or `virtual`",
            )),
        }
    }

    fn file(
        &self,
        wire: Spanned<FileWire>,
        source: &PackageSource,
    ) -> Result<LockedFile, LockfileError> {
        let start = wire.span().start;
        let wire = wire.into_inner();
        let filename = wire
            .url
            .as_deref()
            .and_then(crate::dist::filename_from_url)
            .or_else(|| wire.filename.clone())
            .or_else(|| wire.path.as_deref().and_then(file_name_from_path))
            .or_else(|| match source {
                PackageSource::Url(url) => crate::dist::filename_from_url(url),
                PackageSource::Path(path) => file_name_from_path(path),
                _ => None,
            })
            .ok_or_else(|| {
                self.error(
                    start,
                    "expected a distribution file to have a `url`, `path` or `filename`",
                )
            })?;
        let sha256 = match &wire.hash {
            Some(hash) => self.sha256(hash)?,
            None => None,
        };
        Ok(LockedFile {
            filename,
            url: wire.url,
            sha256,
            size: wire.size,
            upload_time: wire.upload_time,
        })
    }

    fn requirement(
        &self,
        wire: &Spanned<RequirementWire>,
        owner: &str,
    ) -> Result<Requirement, LockfileError> {
        let pep508 = wire.get_ref().to_pep508();
        crate::requirement::parse(&pep508).map_err(|err| {
            self.error_at(
                wire,
                format!(
                    "expected a PEP 508 requirement in the metadata of `{owner}`, found \
                     `{pep508}`: {}",
                    err
                ),
            )
        })
    }

    fn marker(&self, raw: &Spanned<String>) -> Result<MarkerTree, LockfileError> {
        crate::requirement::parse_marker(raw.get_ref()).map_err(|message| {
            self.error_at(
                raw,
                format!(
                    "expected `marker` to be a PEP 508 environment marker, found `{}`: {}",
                    raw.get_ref(),
                    message
                ),
            )
        })
    }
}

/// The first line of an error whose `Display` goes on to underline the input, without the colon
/// that introduces the underlining.
fn first_line(err: &impl std::fmt::Display) -> String {
    let rendered = err.to_string();
    let line = rendered.lines().next().unwrap_or_default();
    line.trim_end().trim_end_matches(':').to_string()
}

/// uv locks the project it was run for at `.`: as `virtual` when the project is not a package,
/// as `editable` (or `directory`) when it is. Path dependencies elsewhere are not roots.
fn is_project_directory(source: &PackageSource) -> bool {
    match source {
        PackageSource::Virtual(location)
        | PackageSource::Editable(location)
        | PackageSource::Directory(location)
        | PackageSource::Path(location) => location == ".",
        PackageSource::Registry(_) | PackageSource::Git(_) | PackageSource::Url(_) => false,
    }
}

/// The last component of a path as uv writes it (`/` separators, `\` tolerated).
fn file_name_from_path(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// uv records a git requirement as `https://host/repo?rev=v1#<commit>` (query keys `branch`,
/// `tag`, `rev` and `subdirectory`); PEP 508 spells it `git+https://host/repo@v1#subdirectory=…`.
/// The commit is what the lock resolved, not what was declared, so it is left out.
fn git_requirement_url(git: &str) -> String {
    let without_commit = git.split_once('#').map_or(git, |(url, _)| url);
    let (repository, query) = without_commit
        .split_once('?')
        .unwrap_or((without_commit, ""));
    let mut url = if repository.starts_with("git+") {
        repository.to_string()
    } else {
        format!("git+{repository}")
    };
    let mut subdirectory = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "branch" | "tag" | "rev" => {
                url.push('@');
                url.push_str(&value);
            }
            "subdirectory" => subdirectory = Some(value),
            _ => {}
        }
    }
    if let Some(subdirectory) = subdirectory {
        url.push_str("#subdirectory=");
        url.push_str(&subdirectory);
    }
    url
}

#[cfg(test)]
mod tests {

    #[test]
    fn supported_markers_are_the_environments_the_lock_declares() {
        let text = "version = 1\nrevision = 3\nrequires-python = \">=3.10\"\n\
                    supported-markers = [\"sys_platform == 'darwin'\"]\n\n[[package]]\n\
                    name = \"app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n";
        let project = crate::lockfile::parse_lockfile(
            std::path::Path::new("uv.lock"),
            crate::lockfile::LockFormat::UvLock,
            text.as_bytes(),
        )
        .unwrap();
        let markers: Vec<_> = project
            .supported_markers
            .iter()
            .map(|marker| marker.try_to_string())
            .collect();
        assert_eq!(markers, [Some("sys_platform == 'darwin'".to_string())]);

        let bad = text.replace("sys_platform == 'darwin'", "sys_platform ==");
        let error = crate::lockfile::parse_lockfile(
            std::path::Path::new("uv.lock"),
            crate::lockfile::LockFormat::UvLock,
            bad.as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("uv.lock:4") && error.contains("supported-markers"),
            "{error}"
        );
    }
    #[test]
    fn percent_escapes_in_paths_are_decoded_and_bad_ones_kept() {
        assert_eq!(
            crate::dist::percent_decode("my%20pkg-1.0.whl"),
            "my pkg-1.0.whl"
        );
        assert_eq!(crate::dist::percent_decode("100%25"), "100%");
        assert_eq!(crate::dist::percent_decode("50%zz"), "50%zz");
        assert_eq!(crate::dist::percent_decode("%ff"), "%ff");
    }

    use crate::lockfile::fixtures;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::lockfile::line_of;
    use pep440_rs::Version;
    use pep508_rs::ExtraName;

    /// `(parent, parent_version, child, child_version, via, marker)`, as tree.json lists edges.
    type Edge = (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    fn fixture_dir(folder: &str) -> PathBuf {
        fixtures::fixture_dir(folder)
    }

    fn read_fixture(folder: &str) -> LockedProject {
        fixtures::read_fixture(folder, "uv.lock", LockFormat::UvLock)
    }

    fn read_tree(folder: &str) -> Value {
        fixtures::read_json(folder, "tree.json")
    }

    /// Versions compared in PEP 440 normal form, so spelling differences cannot fail a test.
    fn normal_version(raw: &str) -> String {
        Version::from_str(raw)
            .expect("tree.json version")
            .to_string()
    }

    /// Markers compared by meaning: both sides parsed, then printed in pep508_rs's canonical form.
    fn normal_marker(marker: &MarkerTree) -> Option<String> {
        marker.try_to_string()
    }

    fn name_and_version(package: &LockedPackage) -> (String, Option<String>) {
        (
            package.name.to_string(),
            package.version.as_ref().map(ToString::to_string),
        )
    }

    /// Compare a lock with the tree uv itself printed for it (see testdata/README.md).
    fn assert_matches_ground_truth(folder: &str) {
        let project = read_fixture(folder);
        let tree = read_tree(folder);

        let expected_root = (
            tree["root"]["name"].as_str().unwrap().to_string(),
            Some(normal_version(tree["root"]["version"].as_str().unwrap())),
        );
        let roots: Vec<_> = project
            .roots
            .iter()
            .map(|&id| name_and_version(project.package(id)))
            .collect();
        assert_eq!(roots, vec![expected_root], "{folder}: roots");

        let mut expected_packages = BTreeSet::new();
        for (name, versions) in tree["packages"].as_object().unwrap() {
            let versions = match versions {
                Value::Array(list) => list.iter().map(|v| v.as_str().unwrap()).collect(),
                other => vec![other.as_str().unwrap()],
            };
            for version in versions {
                expected_packages.insert((name.clone(), Some(normal_version(version))));
            }
        }
        let locked: Vec<_> = project
            .ids()
            .filter(|id| !project.roots.contains(id))
            .map(|id| name_and_version(project.package(id)))
            .collect();
        assert_eq!(
            locked.len() as u64,
            tree["locked_package_count"].as_u64().unwrap(),
            "{folder}: locked package count"
        );
        assert_eq!(
            locked.into_iter().collect::<BTreeSet<_>>(),
            expected_packages,
            "{folder}: packages"
        );

        let expected_edges: BTreeSet<Edge> = tree["edges_detailed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                let text = |key: &str| edge[key].as_str().map(str::to_string);
                let marker = text("marker").map(|raw| MarkerTree::from_str(&raw).unwrap());
                (
                    text("parent").unwrap(),
                    text("parent_version").map(|v| normal_version(&v)),
                    text("child").unwrap(),
                    text("child_version").map(|v| normal_version(&v)),
                    text("via"),
                    marker.as_ref().and_then(normal_marker),
                )
            })
            .collect();
        let mut edges = Vec::new();
        for parent_id in project.ids() {
            let parent = project.package(parent_id);
            for dependency in &parent.dependencies {
                // tree.json folds extra nodes onto their package and drops an extra's edge to
                // its own package, so a package never depends on itself there.
                if dependency.package == parent_id {
                    continue;
                }
                let (parent_name, parent_version) = name_and_version(parent);
                let (child_name, child_version) =
                    name_and_version(project.package(dependency.package));
                let via = match &dependency.via {
                    DependencyKind::Normal => None,
                    other => Some(other.to_string()),
                };
                edges.push((
                    parent_name,
                    parent_version,
                    child_name,
                    child_version,
                    via,
                    normal_marker(&dependency.marker),
                ));
            }
        }
        let edge_count = edges.len();
        let edges: BTreeSet<Edge> = edges.into_iter().collect();
        assert_eq!(edge_count, edges.len(), "{folder}: duplicate edges");
        let missing: Vec<_> = expected_edges.difference(&edges).collect();
        let unexpected: Vec<_> = edges.difference(&expected_edges).collect();
        assert!(
            missing.is_empty() && unexpected.is_empty(),
            "{folder}: edges differ\nmissing: {missing:#?}\nunexpected: {unexpected:#?}"
        );
    }

    #[test]
    fn ds2023_numpy1_matches_uv_tree() {
        assert_matches_ground_truth("ds2023-numpy1");
    }

    #[test]
    fn modern_numpy2_matches_uv_tree() {
        assert_matches_ground_truth("modern-numpy2");
    }

    #[test]
    fn markers_extras_groups_matches_uv_tree() {
        assert_matches_ground_truth("markers-extras-groups");
    }

    #[test]
    fn public_ncep_matches_uv_tree() {
        assert_matches_ground_truth("NWC-CUAHSI-Summer-Institute__NCEP");
    }

    #[test]
    fn ds2023_root_declares_numpy_below_2() {
        let project = read_fixture("ds2023-numpy1");
        let root = project.package(project.roots[0]);
        let numpy: Vec<_> = root
            .declared
            .iter()
            .filter(|declared| declared.requirement.name.as_ref() == "numpy")
            .collect();
        assert_eq!(numpy.len(), 1);
        assert_eq!(numpy[0].requirement.to_string(), "numpy<2");
        assert_eq!(numpy[0].via, DependencyKind::Normal);
        assert_eq!(
            project.requires_python,
            Some(VersionSpecifiers::from_str(">=3.10, <3.12").unwrap())
        );
    }

    #[test]
    fn reads_extras_groups_and_declared_metadata() {
        let project = read_fixture("markers-extras-groups");
        let root = project.package(project.roots[0]);

        let pandas: Vec<_> = root
            .dependencies
            .iter()
            .filter(|dependency| project.package(dependency.package).name.as_ref() == "pandas")
            .collect();
        assert_eq!(pandas.len(), 2, "one pandas per Python fork");
        for dependency in pandas {
            assert_eq!(
                dependency.extras,
                vec![ExtraName::from_str("performance").unwrap()]
            );
            assert_eq!(dependency.via, DependencyKind::Normal);
        }

        let declared: BTreeSet<(String, String)> = root
            .declared
            .iter()
            .map(|declared| (declared.via.to_string(), declared.requirement.to_string()))
            .collect();
        for expected in [
            ("", "pandas[performance]>=2.2"),
            ("", "seaborn>=0.13 ; extra == 'plot'"),
            ("", "tomli>=2.0 ; python_full_version < '3.11'"),
            ("group:dev", "pytest>=8"),
            ("group:docs", "sphinx>=7"),
        ] {
            let expected = (expected.0.to_string(), expected.1.to_string());
            assert!(
                declared.contains(&expected),
                "{expected:?} in {declared:#?}"
            );
        }
    }

    #[test]
    fn reads_distribution_files() {
        let project = read_fixture("ds2023-numpy1");
        let cloudpickle = project
            .packages
            .iter()
            .find(|package| package.name.as_ref() == "cloudpickle")
            .unwrap();
        assert_eq!(cloudpickle.line, 9);
        assert_eq!(
            cloudpickle.source,
            PackageSource::Registry("https://pypi.org/simple".to_string())
        );
        assert_eq!(
            cloudpickle.files,
            vec![
                LockedFile {
                    filename: "cloudpickle-3.1.2.tar.gz".to_string(),
                    url: Some(
                        "https://files.pythonhosted.org/packages/27/fb/576f067976d320f5f0114a8d9fa1215425441bb35627b1993e5afd8111e5/cloudpickle-3.1.2.tar.gz"
                            .to_string()
                    ),
                    sha256: Some(
                        "7fda9eb655c9c230dab534f1983763de5835249750e85fbcef43aaa30a9a2414"
                            .to_string()
                    ),
                    size: Some(22330),
                    upload_time: Some("2025-11-03T09:25:26.604Z".to_string()),
                },
                LockedFile {
                    filename: "cloudpickle-3.1.2-py3-none-any.whl".to_string(),
                    url: Some(
                        "https://files.pythonhosted.org/packages/88/39/799be3f2f0f38cc727ee3b4f1445fe6d5e4133064ec2e4115069418a5bb6/cloudpickle-3.1.2-py3-none-any.whl"
                            .to_string()
                    ),
                    sha256: Some(
                        "9acb47f6afd73f60dc1df93bb801b472f05ff42fa6c84167d25cb206be1fbf4a"
                            .to_string()
                    ),
                    size: Some(22228),
                    upload_time: Some("2025-11-03T09:25:25.534Z".to_string()),
                },
            ]
        );
    }

    fn parse_text(text: &str) -> Result<LockedProject, LockfileError> {
        parse(Path::new("project/uv.lock"), text.as_bytes())
    }

    /// Parse text that must fail; check the error names the file and return line and message.
    fn parse_error(bytes: &[u8]) -> (usize, String) {
        let path = Path::new("project/uv.lock");
        fixtures::expect_parse_error(parse(path, bytes), path)
    }

    const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn reads_every_source_kind_and_workspace_members() {
        let text = format!(
            r#"version = 1
revision = 3
requires-python = ">=3.12"

[options]
exclude-newer = "2025-01-01T00:00:00Z"

[manifest]
members = ["App", "tools"]
constraints = [{{ name = "numpy", specifier = "<2" }}]

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "lib", version = "1.0.0", source = {{ git = "https://github.com/org/lib?rev=v1#abc123" }} }},
    {{ name = "plain" }},
    {{ name = "torch" }},
]

[package.metadata]
requires-dist = [
    {{ name = "lib", git = "https://github.com/org/lib?rev=v1" }},
    {{ name = "plain", url = "https://example.org/plain-2.0.tar.gz" }},
    {{ name = "tools", editable = "tools" }},
    {{ name = "torch", specifier = ">=2", index = "https://download.pytorch.org/whl/cpu" }},
]

[[package]]
name = "lib"
version = "1.0.0"
source = {{ git = "https://github.com/org/lib?rev=v1#abc123" }}

[[package]]
name = "lib"
version = "1.0.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "plain"
version = "2.0"
source = {{ url = "https://example.org/plain-2.0.tar.gz" }}
sdist = {{ hash = "sha256:{DIGEST}" }}

[[package]]
name = "tools"
source = {{ editable = "tools" }}

[[package]]
name = "local-wheel"
version = "3.0"
source = {{ path = "wheels/local_wheel-3.0-py3-none-any.whl" }}
wheels = [{{ filename = "local_wheel-3.0-py3-none-any.whl", hash = "sha256:{DIGEST}" }}]

[[package]]
name = "torch"
version = "2.1.0+cpu"
source = {{ registry = "https://download.pytorch.org/whl/cpu" }}
wheels = [
    {{ url = "https://download.pytorch.org/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256={DIGEST}", hash = "SHA256:{upper}" }},
]
"#,
            upper = DIGEST.replace('0', "A"),
        );
        let project = parse_text(&text).unwrap_or_else(|err| panic!("{err}"));
        let by_name = |name: &str| {
            project
                .packages
                .iter()
                .position(|package| package.name.as_ref() == name)
                .map(PackageId)
                .unwrap()
        };

        let app = project.package(by_name("app"));
        assert_eq!(app.line, 12);
        let lib = project.package(app.dependencies[0].package);
        assert_eq!(
            lib.source.kind(),
            "git",
            "the source picks between two lib==1.0.0"
        );
        assert_eq!(lib.line, 30);
        let declared: Vec<String> = app
            .declared
            .iter()
            .map(|declared| declared.requirement.to_string())
            .collect();
        assert_eq!(
            declared,
            [
                "lib @ git+https://github.com/org/lib@v1",
                "plain @ https://example.org/plain-2.0.tar.gz",
                "tools",
                "torch>=2",
            ]
        );

        // `.` is the project, and every `[manifest]` member is a root too.
        assert_eq!(project.roots, vec![by_name("app"), by_name("tools")]);
        assert_eq!(project.package(by_name("tools")).version, None);

        let plain = project.package(by_name("plain"));
        assert_eq!(plain.files[0].filename, "plain-2.0.tar.gz");
        assert_eq!(plain.files[0].sha256.as_deref(), Some(DIGEST));
        let local = project.package(by_name("local-wheel"));
        assert_eq!(local.source.kind(), "path");
        assert_eq!(local.files[0].filename, "local_wheel-3.0-py3-none-any.whl");
        let torch = project.package(by_name("torch"));
        assert_eq!(
            torch.files[0].filename,
            "torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl"
        );
        assert_eq!(
            torch.files[0].sha256.as_deref(),
            Some(DIGEST.replace('0', "a").as_str())
        );
    }

    #[test]
    fn roots_fall_back_to_packages_nothing_depends_on() {
        let project = parse_text(
            r#"version = 1

[[package]]
name = "a"
version = "1"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "b" }]

[package.optional-dependencies]
all = [{ name = "a", extra = ["fast"] }]

[[package]]
name = "b"
version = "1"
source = { registry = "https://pypi.org/simple" }
"#,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(project.roots, vec![PackageId(0)]);
        assert_eq!(project.requires_python, None);

        // `a[all]` enabling `a[fast]` stays an edge of `a` to itself, carrying the extra.
        let own_extra = &project.package(PackageId(0)).dependencies[1];
        assert_eq!(own_extra.package, PackageId(0));
        assert_eq!(own_extra.extras, vec![ExtraName::from_str("fast").unwrap()]);
        assert_eq!(
            own_extra.via,
            DependencyKind::Extra(ExtraName::from_str("all").unwrap())
        );
    }

    #[test]
    fn line_numbers_agree_with_line_of() {
        let text = "version = 1\n\n[[package]]\r\nname = \"a\"\n";
        let reader = Reader::new(Path::new("uv.lock"), text);
        for offset in 0..=text.len() + 1 {
            assert_eq!(
                reader.line(offset),
                line_of(text, offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn rejects_truncated_toml() {
        let text = std::fs::read_to_string(fixture_dir("ds2023-numpy1").join("uv.lock")).unwrap();
        let cut = text.find("name = \"scikit-learn\"").unwrap() + "name = \"scik".len();
        let (line, message) = parse_error(&text.as_bytes()[..cut]);
        assert_eq!(line, line_of(&text, cut));
        assert!(message.starts_with("invalid TOML: "), "{message}");
    }

    #[test]
    fn rejects_unsupported_version() {
        let (line, message) = parse_error(b"# written by a future uv\nversion = 2\nrevision = 1\n");
        assert_eq!(line, 2);
        assert!(
            message.contains("unsupported uv.lock `version = 2`"),
            "{message}"
        );
    }

    #[test]
    fn rejects_missing_version() {
        let (line, message) = parse_error(b"revision = 3\n");
        assert_eq!(line, 1);
        assert!(message.contains("missing `version`"), "{message}");
    }

    #[test]
    fn rejects_package_without_source() {
        let (line, message) = parse_error(
            b"version = 1\n\n[[package]]\nname = \"numpy\"\nversion = \"1.26.4\"\n\n[[package]]\nname = \"Foo_Bar\"\nversion = \"1.0\"\n",
        );
        assert_eq!(line, 3);
        assert_eq!(message, "package `numpy==1.26.4` has no `source`");
    }

    #[test]
    fn rejects_dependency_on_unlocked_package() {
        let (line, message) = parse_error(
            br#"version = 1

[[package]]
name = "pandas"
version = "2.0.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "python-dateutil" },
    { name = "numpy" },
]

[[package]]
name = "python-dateutil"
version = "2.9.0"
source = { registry = "https://pypi.org/simple" }
"#,
        );
        assert_eq!(line, 9);
        assert_eq!(
            message,
            "dependency `numpy` of `pandas==2.0.3` matches no locked package"
        );
    }

    #[test]
    fn rejects_bad_marker() {
        let (line, message) = parse_error(
            br#"version = 1

[[package]]
name = "a"
version = "1"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "b", marker = "python_version >> '3.11'" },
]

[[package]]
name = "b"
version = "1"
source = { registry = "https://pypi.org/simple" }
"#,
        );
        assert_eq!(line, 8);
        assert!(
            message.starts_with(
                "expected `marker` to be a PEP 508 environment marker, found `python_version >> '3.11'`"
            ),
            "{message}"
        );
    }

    #[test]
    fn rejects_bad_version() {
        let (line, message) = parse_error(
            b"version = 1\n\n[[package]]\nname = \"a\"\nversion = \"abc\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
        );
        assert_eq!(line, 5);
        assert_eq!(
            message,
            "expected `version` to be a PEP 440 version, found `abc`"
        );
    }

    #[test]
    fn rejects_wrong_type() {
        let (line, message) = parse_error(
            b"version = 1\n\n[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\nsource = { registry = \"https://pypi.org/simple\" }\ndependencies = \"numpy\"\n",
        );
        assert_eq!(line, 7);
        assert!(message.contains("expected a sequence"), "{message}");
        assert!(message.contains("package.dependencies"), "{message}");
    }

    #[test]
    fn rejects_ambiguous_dependency() {
        let (line, message) = parse_error(
            br#"version = 1

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "2.2.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "scipy"
version = "1.15.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "NumPy" }]
"#,
        );
        assert_eq!(line, 17);
        assert_eq!(
            message,
            "dependency `numpy` of `scipy==1.15.3` is ambiguous: it matches `numpy==1.26.4`, \
             `numpy==2.2.6`; expected `version` or `source` to pick one"
        );
    }

    #[test]
    fn rejects_package_locked_twice() {
        let (line, message) = parse_error(
            b"version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"x\" }\n\n[[package]]\nname = \"A\"\nversion = \"1.0\"\nsource = { registry = \"x\" }\n",
        );
        assert_eq!(line, 8);
        assert_eq!(
            message,
            "package `a==1.0` is locked twice, at lines 3 and 8"
        );
    }

    #[test]
    fn rejects_source_with_two_kinds() {
        let (line, message) = parse_error(
            b"version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"x\", path = \"y\" }\n",
        );
        assert_eq!(line, 6);
        assert!(
            message.starts_with("expected `source` to have exactly one of"),
            "{message}"
        );
    }

    #[test]
    fn rejects_non_utf8() {
        let (line, message) = parse_error(b"version = 1\n\n[[package]]\nname = \"caf\xe9\"\n");
        assert_eq!(line, 4);
        assert!(message.starts_with("expected UTF-8 text"), "{message}");
    }
}
