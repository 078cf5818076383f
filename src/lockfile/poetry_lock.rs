//! Reader for Poetry's `poetry.lock` (`lock-version` 1.x and 2.x), with the project's own
//! requirements read from the `pyproject.toml` beside it.
//!
//! The lock is deserialized into private wire structs that mirror its layout, then validated into
//! a [`LockedProject`]: names are normalised, versions, constraints and markers parsed, and every
//! `[package.dependencies]` entry is linked to the locked package(s) it names. Poetry writes
//! constraints in its own dialect (`^1.2`, `~1.2`, `1.2.*`, `>=1 || <0.5`), so they are converted
//! to PEP 440 first.
//!
//! poetry.lock does not record the project itself, so a synthetic root package is built from
//! `pyproject.toml`: `[project]`, `[dependency-groups]` and the `[tool.poetry]` tables.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree, PackageName, Requirement, VersionOrUrl};
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use toml::Spanned;
use toml::de::{DeTable, Deserializer};

use super::pyproject::{self, GroupEntryWire};
use super::source::{Source, utf8};
use super::{
    DeclaredRequirement, DependencyKind, LockFormat, LockedDependency, LockedFile, LockedPackage,
    LockedProject, LockfileError, PackageId, PackageSource, unreferenced,
};

/// The `lock-version` majors this reader understands. 1.x has `[metadata.files]`; 2.x moved the
/// files into each package and added `groups` and `markers` to packages. Both keep the
/// dependency tables this reader needs.
const SUPPORTED_MAJORS: [&str; 2] = ["1", "2"];

/// Where packages without a `[package.source]` table come from.
const PYPI_SIMPLE: &str = "https://pypi.org/simple";

/// Parse the bytes of a `poetry.lock`; `path` is used in error messages and to find the
/// `pyproject.toml` beside the lock.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let text = utf8(path, bytes)?;
    let reader = Reader::new(path, text);

    let document = DeTable::parse(reader.text).map_err(|err| reader.syntax_error(&err))?;
    // Check the format version before the schema: a future format may not fit the wire structs,
    // and "unsupported version" is the error that helps then.
    reader.check_lock_version(document.get_ref())?;
    let lock = LockWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;

    // The one read besides the given bytes: the project's own requirements live in
    // pyproject.toml, not in the lock. It is local input next to the lock, never the network.
    let project = read_pyproject(path)?;
    reader.unwire(lock, project)
}

// Wire types: the lock's layout, with spans kept where an error may need a line.
//
// Unknown keys are ignored so that newer lock versions still read. Known keys accepted and ignored
// because they describe installation, not the locked graph: `description`, package-level
// `optional`, `python-versions`, `groups` and `markers` (2.x), the top-level `[extras]` table and
// `content-hash`.

#[derive(Deserialize)]
struct LockWire {
    #[serde(default, rename = "package")]
    packages: Vec<Spanned<PackageWire>>,
    #[serde(default)]
    metadata: MetadataWire,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MetadataWire {
    python_versions: Option<Spanned<String>>,
    /// lock-version 1.x: the files of every package, by package name.
    #[serde(default)]
    files: BTreeMap<Spanned<String>, Vec<Spanned<FileWire>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageWire {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    /// lock-version 2.x: the package's files.
    #[serde(default)]
    files: Vec<Spanned<FileWire>>,
    #[serde(default)]
    dependencies: Dependencies,
    /// Extra name → requirement strings (`"pandas (>=1.0)"`); names which optional dependencies
    /// each extra enables.
    #[serde(default)]
    extras: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    source: Option<Spanned<SourceWire>>,
    /// lock-version 2.x: where the package is installed, one marker or one per group.
    markers: Option<Spanned<PackageMarkersWire>>,
    /// A directory package installed in development mode.
    #[serde(default)]
    develop: bool,
}

/// `markers = "…"`, or `markers = {main = "…", dev = "…"}` when groups need it in different
/// environments.
#[derive(Deserialize)]
#[serde(untagged)]
enum PackageMarkersWire {
    Single(String),
    ByGroup(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SourceWire {
    r#type: Spanned<String>,
    url: Option<String>,
    reference: Option<String>,
    /// Spelled with an underscore, unlike every other key Poetry writes.
    #[serde(rename = "resolved_reference")]
    resolved_reference: Option<String>,
    subdirectory: Option<String>,
}

#[derive(Deserialize)]
struct FileWire {
    file: String,
    hash: Option<Spanned<String>>,
}

/// A dependency as Poetry writes it, in the lock and in `pyproject.toml`: a bare constraint
/// (`"^1.2"`), one inline table, or a list of tables that are alternatives chosen by marker.
enum DependencyWire {
    Constraint(String),
    Table(Box<DependencyTableWire>),
    Alternatives(Vec<DependencyTableWire>),
}

impl<'de> Deserialize<'de> for DependencyWire {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DependencyWire;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(
                    "a version constraint string, an inline table or a list of inline tables",
                )
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(DependencyWire::Constraint(value.to_string()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                DependencyTableWire::deserialize(MapAccessDeserializer::new(map))
                    .map(|table| DependencyWire::Table(Box::new(table)))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                sequence: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<AlternativeWire>::deserialize(SeqAccessDeserializer::new(sequence)).map(
                    |alternatives| {
                        DependencyWire::Alternatives(
                            alternatives.into_iter().map(|wire| wire.0).collect(),
                        )
                    },
                )
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// One entry of a list of alternatives; its own type so that a wrong entry is reported as
/// "expected an inline table", not by the name of a Rust struct.
struct AlternativeWire(DependencyTableWire);

impl<'de> Deserialize<'de> for AlternativeWire {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AlternativeWire;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter
                    .write_str("an inline table such as `{version = \">=1.2\", markers = \"…\"}`")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                DependencyTableWire::deserialize(MapAccessDeserializer::new(map))
                    .map(AlternativeWire)
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

impl DependencyWire {
    /// The alternatives, a bare constraint being one table with only `version`.
    fn tables(&self) -> Vec<DependencyTableWire> {
        match self {
            DependencyWire::Constraint(version) => vec![DependencyTableWire {
                version: Some(version.clone()),
                ..DependencyTableWire::default()
            }],
            DependencyWire::Table(table) => vec![(**table).clone()],
            DependencyWire::Alternatives(tables) => tables.clone(),
        }
    }
}

/// `{version, markers, python, optional, extras}`, or a direct reference (`git`, `url`, `path`).
/// `source`, `allow-prereleases`, `develop` and the like steer installation and are ignored.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DependencyTableWire {
    version: Option<String>,
    markers: Option<String>,
    python: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    extras: Vec<String>,
    git: Option<String>,
    rev: Option<String>,
    tag: Option<String>,
    branch: Option<String>,
    url: Option<String>,
    subdirectory: Option<String>,
}

// Wire types for pyproject.toml: only the tables that name the project and its requirements.

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PyprojectWire {
    #[serde(default)]
    project: ProjectWire,
    #[serde(default)]
    dependency_groups: BTreeMap<Spanned<String>, Vec<Spanned<GroupEntryWire>>>,
    #[serde(default)]
    tool: ToolWire,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProjectWire {
    name: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

/// Poetry's dependency tables: name → constraint, table or alternatives.
type Dependencies = BTreeMap<Spanned<String>, Spanned<DependencyWire>>;

#[derive(Default, Deserialize)]
struct ToolWire {
    #[serde(default)]
    poetry: PoetryWire,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PoetryWire {
    name: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Dependencies,
    /// Poetry < 1.2's spelling of the `dev` group.
    #[serde(default)]
    dev_dependencies: Dependencies,
    #[serde(default)]
    group: BTreeMap<Spanned<String>, PoetryGroupWire>,
    #[serde(default)]
    extras: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    source: Vec<PoetrySourceWire>,
}

#[derive(Default, Deserialize)]
struct PoetryGroupWire {
    #[serde(default)]
    dependencies: Dependencies,
}

#[derive(Deserialize)]
struct PoetrySourceWire {
    url: Option<String>,
    priority: Option<String>,
    /// Poetry < 1.5: `default = true` / `secondary = true` instead of `priority`.
    default: Option<bool>,
    secondary: Option<bool>,
}

impl PoetrySourceWire {
    fn is_primary(&self) -> bool {
        match self.priority.as_deref() {
            Some(priority) => priority == "primary" || priority == "default",
            None => self.default == Some(true) || self.secondary != Some(true),
        }
    }
}

/// The project as pyproject.toml declares it, validated.
struct Project {
    name: PackageName,
    version: Option<Version>,
    declared: Vec<DeclaredRequirement>,
    /// Index URLs of the project's primary Poetry sources.
    primary_sources: Vec<String>,
}

/// One `[[package]]`, validated, with what is needed to link it once all are known.
struct UnwiredPackage {
    package: LockedPackage,
    /// Where Poetry installs the package (lock-version 2.x `markers`); true when not recorded.
    environment: MarkerTree,
    dependencies: Vec<(PackageName, Alternative, DependencyKind)>,
}

/// One alternative of a lock dependency, validated.
struct Alternative {
    /// Any of these (Poetry's `||`); one empty entry allows every version.
    specifiers: Vec<VersionSpecifiers>,
    marker: MarkerTree,
    extras: Vec<ExtraName>,
    optional: bool,
}

/// The file being read. Derefs to [`Source`] so that the shared helpers read as its own
/// methods; the Poetry-specific steps are added here.
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

    fn check_lock_version(&self, document: &DeTable<'_>) -> Result<(), LockfileError> {
        let expected = "expected `[metadata]` with `lock-version = \"1.x\"` or `\"2.x\"`";
        let Some(metadata) = document.get("metadata") else {
            // The file ends where the table was due.
            let end = self.text.trim_end().len();
            return Err(self.error(end, format!("missing `[metadata]`; {expected}")));
        };
        let Some(table) = metadata.get_ref().as_table() else {
            return Err(self.error_at(
                metadata,
                format!(
                    "{expected}, found `metadata` as a TOML {}",
                    metadata.get_ref().type_str()
                ),
            ));
        };
        let Some(version) = table.get("lock-version") else {
            return Err(self.error_at(metadata, format!("missing `lock-version`; {expected}")));
        };
        let Some(text) = version.get_ref().as_str() else {
            return Err(self.error_at(
                version,
                format!("{expected}, found a TOML {}", version.get_ref().type_str()),
            ));
        };
        let major = text.split('.').next().unwrap_or_default();
        if SUPPORTED_MAJORS.contains(&major) {
            Ok(())
        } else {
            Err(self.error_at(
                version,
                format!(
                    "unsupported poetry.lock `lock-version = \"{text}\"`; np2audit reads \
                     lock-version 1.x and 2.x"
                ),
            ))
        }
    }

    fn unwire(
        &self,
        lock: LockWire,
        project: Option<Project>,
    ) -> Result<LockedProject, LockfileError> {
        let requires_python = match &lock.metadata.python_versions {
            Some(raw) => {
                let alternatives = self.constraint(raw, raw.get_ref(), "python-versions")?;
                // A `||` range has no PEP 440 spelling; leaving it out only loses a hint.
                match <[VersionSpecifiers; 1]>::try_from(alternatives) {
                    Ok([specifiers]) if !specifiers.is_empty() => Some(specifiers),
                    _ => None,
                }
            }
            None => None,
        };

        let mut old_files: HashMap<PackageName, Vec<Spanned<FileWire>>> = HashMap::new();
        for (name, files) in lock.metadata.files {
            old_files
                .entry(self.package_name(&name, "metadata.files")?)
                .or_default()
                .extend(files);
        }

        // Two passes: a dependency can only be linked once every package is known.
        let mut packages: Vec<LockedPackage> = Vec::with_capacity(lock.packages.len() + 1);
        let mut by_name: HashMap<PackageName, Vec<PackageId>> = HashMap::new();
        let mut pending = Vec::new();
        let mut environments = Vec::with_capacity(lock.packages.len());
        let mut index_urls = Vec::new();
        for wire in lock.packages {
            let id = PackageId(packages.len());
            let UnwiredPackage {
                package,
                environment,
                dependencies,
            } = self.unwire_package(wire, &mut index_urls)?;
            self.add_package(&mut packages, &mut by_name, package)?;
            environments.push(environment);
            pending.push((id, dependencies));
        }
        self.assign_old_files(&mut packages, &by_name, old_files)?;

        for (parent, dependencies) in pending {
            for (name, alternative, via) in dependencies {
                let targets = matching(&packages, &by_name, &name, &alternative.specifiers);
                let mut context = environments[parent.0].clone();
                context.and(alternative.marker.clone());
                let targets = coinstallable(targets, &environments, &context);
                for (package, marker) in where_taken(targets, &environments, &alternative.marker) {
                    add_edge(
                        &mut packages[parent.0].dependencies,
                        LockedDependency {
                            package,
                            marker,
                            extras: alternative.extras.clone(),
                            via: via.clone(),
                        },
                    );
                }
            }
        }

        let roots = match project {
            Some(project) => {
                // The primary source goes first; the lock lists sources in package order.
                let primary = |url: &String| {
                    project
                        .primary_sources
                        .iter()
                        .any(|source| same_url(source, url))
                };
                index_urls.sort_by_key(|url| !primary(url));
                vec![add_root(&mut packages, &by_name, &environments, project)]
            }
            None => unreferenced(&packages),
        };

        Ok(LockedProject {
            path: self.path.to_path_buf(),
            format: LockFormat::PoetryLock,
            requires_python,
            packages,
            roots,
            index_urls,
            warnings: Vec::new(),
            generated_by: None,
            supported_markers: Vec::new(),
        })
    }

    /// Validate one `[[package]]`; its dependencies come back for linking once all are known.
    fn unwire_package(
        &self,
        wire: Spanned<PackageWire>,
        index_urls: &mut Vec<String>,
    ) -> Result<UnwiredPackage, LockfileError> {
        // The span of an array-of-tables entry is its `[[package]]` header.
        let header = wire.span().start;
        let line = self.line(header);
        let wire = wire.into_inner();

        let name = self.package_name(&wire.name, "name")?;
        let Some(raw_version) = &wire.version else {
            return Err(self.error(
                header,
                format!(
                    "package `{name}` has no `version`; expected every `[[package]]` to have one"
                ),
            ));
        };
        let version = self.version(raw_version)?;
        let display_id = format!("{name}=={version}");
        let environment = match &wire.markers {
            Some(raw) => self.environment(raw, &display_id)?,
            None => MarkerTree::TRUE,
        };

        let source = match wire.source {
            Some(source) => self.source(source, wire.develop, index_urls)?,
            None => PackageSource::Registry(PYPI_SIMPLE.to_string()),
        };

        let mut files = Vec::with_capacity(wire.files.len());
        for file in wire.files {
            files.push(self.file(file)?);
        }

        // Which extras name each optional dependency.
        let mut extras_naming: HashMap<PackageName, Vec<ExtraName>> = HashMap::new();
        for (extra, requirements) in &wire.extras {
            let extra = self.extra_name(extra)?;
            for requirement in requirements {
                let named = self.extra_requirement_name(requirement, &display_id)?;
                let naming = extras_naming.entry(named).or_default();
                if !naming.contains(&extra) {
                    naming.push(extra.clone());
                }
            }
        }

        let mut dependencies = Vec::new();
        for (raw_name, wire) in wire.dependencies {
            let dependency = self.package_name(&raw_name, "package.dependencies")?;
            let context = format!("dependency `{dependency}` of `{display_id}`");
            for alternative in self.alternatives(&wire, &context)? {
                if !alternative.optional {
                    dependencies.push((dependency.clone(), alternative, DependencyKind::Normal));
                    continue;
                }
                // An optional dependency exists only through the extras that name it; one named
                // by no extra cannot be installed and is no edge.
                for extra in extras_naming.get(&dependency).into_iter().flatten() {
                    dependencies.push((
                        dependency.clone(),
                        Alternative {
                            specifiers: alternative.specifiers.clone(),
                            // The edge's kind says which extra; the marker keeps the rest.
                            marker: alternative
                                .marker
                                .clone()
                                .simplify_extras(std::slice::from_ref(extra)),
                            extras: alternative.extras.clone(),
                            optional: true,
                        },
                        DependencyKind::Extra(extra.clone()),
                    ));
                }
            }
        }

        let package = LockedPackage {
            name,
            version: Some(version),
            specifier: None,
            source,
            dependencies: Vec::new(),
            files,
            declared: Vec::new(),
            line,
        };
        Ok(UnwiredPackage {
            package,
            environment,
            dependencies,
        })
    }

    /// Validate a dependency's alternatives: constraint to PEP 440, `markers` and `python` to one
    /// marker.
    fn alternatives(
        &self,
        wire: &Spanned<DependencyWire>,
        context: &str,
    ) -> Result<Vec<Alternative>, LockfileError> {
        let tables = wire.get_ref().tables();
        let mut alternatives = Vec::with_capacity(tables.len());
        for table in tables {
            let specifiers = match (&table.version, &table.git, &table.url) {
                (Some(version), _, _) => self.constraint(wire, version, context)?,
                // A direct reference pins no range; any locked version is the one.
                _ => vec![VersionSpecifiers::empty()],
            };
            let marker = self.dependency_marker(wire, &table, context)?;
            let extras = table
                .extras
                .iter()
                .map(|extra| {
                    ExtraName::from_str(extra).map_err(|_| {
                        self.error_at(
                            wire,
                            format!(
                                "expected `extras` of {context} to be extra names, found `{extra}`"
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            alternatives.push(Alternative {
                specifiers,
                marker,
                extras,
                optional: table.optional,
            });
        }
        Ok(alternatives)
    }

    /// `markers` and `python` of a dependency table, as one marker.
    fn dependency_marker(
        &self,
        at: &Spanned<impl Sized>,
        table: &DependencyTableWire,
        context: &str,
    ) -> Result<MarkerTree, LockfileError> {
        let mut marker = match &table.markers {
            Some(raw) => crate::requirement::parse_marker(raw).map_err(|message| {
                self.error_at(
                    at,
                    format!(
                        "expected `markers` of {context} to be a PEP 508 environment marker, \
                         found `{raw}`: {}",
                        message
                    ),
                )
            })?,
            None => MarkerTree::TRUE,
        };
        if let Some(python) = &table.python {
            let alternatives = self.constraint(at, python, context)?;
            let python_marker = python_marker(&alternatives).map_err(|message| {
                self.error_at(
                    at,
                    format!("expected `python` of {context} to be a Python version constraint, found `{python}`: {message}"),
                )
            })?;
            marker.and(python_marker);
        }
        Ok(marker)
    }

    /// A package's `markers`, all groups together, with every extra taken as enabled: the
    /// environment where some group or extra of the project installs it.
    fn environment(
        &self,
        raw: &Spanned<PackageMarkersWire>,
        display_id: &str,
    ) -> Result<MarkerTree, LockfileError> {
        let texts: Vec<&String> = match raw.get_ref() {
            PackageMarkersWire::Single(text) => vec![text],
            PackageMarkersWire::ByGroup(groups) => groups.values().collect(),
        };
        let mut environment = MarkerTree::FALSE;
        for text in texts {
            let marker = crate::requirement::parse_marker(text).map_err(|message| {
                self.error_at(
                    raw,
                    format!(
                        "expected `markers` of `{display_id}` to be a PEP 508 environment \
                         marker, found `{text}`: {}",
                        message
                    ),
                )
            })?;
            environment.or(marker.simplify_extras_with(|_| true));
        }
        Ok(environment)
    }

    /// A Poetry constraint converted to PEP 440, or an error at `at`.
    fn constraint<T>(
        &self,
        at: &Spanned<T>,
        raw: &str,
        context: &str,
    ) -> Result<Vec<VersionSpecifiers>, LockfileError> {
        poetry_constraint_to_pep440(raw).map_err(|message| {
            self.error_at(
                at,
                format!(
                    "expected the constraint of {context} to be a Poetry version constraint \
                     (`^1.2`, `~1.2`, `>=1,<2`, `1.2.*`), found `{raw}`: {message}"
                ),
            )
        })
    }

    fn source(
        &self,
        wire: Spanned<SourceWire>,
        develop: bool,
        index_urls: &mut Vec<String>,
    ) -> Result<PackageSource, LockfileError> {
        let span = wire.span();
        let wire = wire.into_inner();
        let Some(url) = wire.url else {
            return Err(self.error(span.start, "expected `[package.source]` to have a `url`"));
        };
        let source = match wire.r#type.get_ref().as_str() {
            "legacy" => {
                if !index_urls.contains(&url) {
                    index_urls.push(url.clone());
                }
                PackageSource::Registry(url)
            }
            // Spelled as uv records git sources, `repository?rev=…#commit`, so that both readers
            // hand the audit one shape.
            "git" => {
                let mut location = url;
                if let Some(reference) = &wire.reference {
                    location.push_str("?rev=");
                    location.push_str(reference);
                }
                if let Some(subdirectory) = &wire.subdirectory {
                    location.push_str(if wire.reference.is_some() { "&" } else { "?" });
                    location.push_str("subdirectory=");
                    location.push_str(subdirectory);
                }
                if let Some(commit) = &wire.resolved_reference {
                    location.push('#');
                    location.push_str(commit);
                }
                PackageSource::Git(location)
            }
            "url" => PackageSource::Url(match &wire.subdirectory {
                Some(subdirectory) => format!("{url}#subdirectory={subdirectory}"),
                None => url,
            }),
            "file" => PackageSource::Path(url),
            "directory" if develop => PackageSource::Editable(url),
            "directory" => PackageSource::Directory(url),
            other => {
                return Err(self.error_at(
                    &wire.r#type,
                    format!(
                        "expected `[package.source]` `type` to be one of `legacy`, `git`, `url`, \
                         `file` or `directory`, found `{other}`"
                    ),
                ));
            }
        };
        Ok(source)
    }

    fn file(&self, wire: Spanned<FileWire>) -> Result<LockedFile, LockfileError> {
        let wire = wire.into_inner();
        let sha256 = match &wire.hash {
            Some(hash) => self.sha256(hash)?,
            None => None,
        };
        Ok(LockedFile {
            filename: wire.file,
            url: None,
            sha256,
            size: None,
            upload_time: None,
        })
    }

    /// lock-version 1.x lists files by name for every version of that name; each file goes to
    /// the package whose version its file name carries (all to the one, when one is locked).
    fn assign_old_files(
        &self,
        packages: &mut [LockedPackage],
        by_name: &HashMap<PackageName, Vec<PackageId>>,
        old_files: HashMap<PackageName, Vec<Spanned<FileWire>>>,
    ) -> Result<(), LockfileError> {
        for (name, files) in old_files {
            let Some(ids) = by_name.get(&name) else {
                continue;
            };
            for file in files {
                let file = self.file(file)?;
                let owner = match ids[..] {
                    [only] => Some(only),
                    _ => {
                        let version =
                            crate::dist::file_version(&file.filename, Some(name.as_ref()));
                        ids.iter().copied().find(|id| {
                            packages[id.0].version.is_some() && packages[id.0].version == version
                        })
                    }
                };
                if let Some(owner) = owner {
                    packages[owner.0].files.push(file);
                }
            }
        }
        Ok(())
    }

    /// The package an extra's requirement names: `"pandas[aws] (>=1.0) ; python_version >= '3.8'"`
    /// → `pandas`. Only the name matters: the constraint is the dependency table's.
    fn extra_requirement_name(
        &self,
        raw: &Spanned<String>,
        owner: &str,
    ) -> Result<PackageName, LockfileError> {
        let text = raw.get_ref().trim_start();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(text.len());
        PackageName::from_str(&text[..end]).map_err(|_| {
            self.error_at(
                raw,
                format!(
                    "expected the `[package.extras]` of `{owner}` to list requirements such as \
                     `name (>=1.0)`, found `{}`",
                    raw.get_ref()
                ),
            )
        })
    }

    /// A PEP 508 requirement string of pyproject.toml.
    fn requirement(&self, raw: &Spanned<String>, key: &str) -> Result<Requirement, LockfileError> {
        crate::requirement::parse(raw.get_ref()).map_err(|err| {
            self.error_at(
                raw,
                format!(
                    "expected `{key}` to list PEP 508 requirements, found `{}`: {}",
                    raw.get_ref(),
                    err
                ),
            )
        })
    }

    /// A Poetry dependency of pyproject.toml as PEP 508 requirements: one per alternative (and
    /// per `||` branch, which PEP 440 cannot spell in one specifier).
    fn poetry_requirements(
        &self,
        name: &Spanned<String>,
        wire: &Spanned<DependencyWire>,
        key: &str,
    ) -> Result<Vec<(Requirement, bool)>, LockfileError> {
        let package = self.package_name(name, key)?;
        let context = format!("`{package}` in `[{key}]`");
        let tables = wire.get_ref().tables();
        let mut requirements = Vec::new();
        for table in tables {
            let marker = self.dependency_marker(wire, &table, &context)?;
            let mut head = package.to_string();
            if !table.extras.is_empty() {
                head.push('[');
                head.push_str(&table.extras.join(","));
                head.push(']');
            }
            let mut specifiers = Vec::new();
            if let Some(git) = &table.git {
                let mut url = if git.starts_with("git+") {
                    git.clone()
                } else {
                    format!("git+{git}")
                };
                if let Some(reference) = table
                    .rev
                    .as_ref()
                    .or(table.tag.as_ref())
                    .or(table.branch.as_ref())
                {
                    url.push('@');
                    url.push_str(reference);
                }
                if let Some(subdirectory) = &table.subdirectory {
                    url.push_str("#subdirectory=");
                    url.push_str(subdirectory);
                }
                specifiers.push(format!(" @ {url}"));
            } else if let Some(url) = &table.url {
                specifiers.push(format!(" @ {url}"));
            } else if let Some(version) = &table.version {
                for alternative in self.constraint(wire, version, &context)? {
                    specifiers.push(format!(" {alternative}"));
                }
            } else {
                // A local path pins no version range.
                specifiers.push(String::new());
            }
            for specifier in specifiers {
                let mut pep508 = format!("{head}{specifier}");
                if let Some(marker) = marker.try_to_string() {
                    // The space before `;` ends a URL for the PEP 508 parser.
                    pep508.push_str(" ; ");
                    pep508.push_str(&marker);
                }
                let requirement = crate::requirement::parse(&pep508).map_err(|err| {
                    self.error_at(
                        wire,
                        format!(
                            "expected {context} to convert to a PEP 508 requirement, found \
                             `{pep508}`: {}",
                            err
                        ),
                    )
                })?;
                requirements.push((requirement, table.optional));
            }
        }
        Ok(requirements)
    }
}

/// Read and validate the `pyproject.toml` beside the lock; `None` when there is none.
fn read_pyproject(lock_path: &Path) -> Result<Option<Project>, LockfileError> {
    let directory = lock_path.parent().unwrap_or(Path::new(""));
    let Some((path, bytes)) = pyproject::read_beside(lock_path)? else {
        return Ok(None);
    };
    parse_pyproject(&path, &bytes, directory).map(Some)
}

/// The pure part of [`read_pyproject`]: `directory` names the project when the file does not.
fn parse_pyproject(path: &Path, bytes: &[u8], directory: &Path) -> Result<Project, LockfileError> {
    let text = utf8(path, bytes)?;
    let reader = Reader::new(path, text);
    let document = DeTable::parse(reader.text).map_err(|err| reader.syntax_error(&err))?;
    let wire = PyprojectWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;
    reader.project(wire, directory)
}

/// The requirements a `pyproject.toml` declares, read as the Poetry reader reads it.
pub(super) fn declared_in_pyproject(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<DeclaredRequirement>, LockfileError> {
    let directory = path.parent().unwrap_or(Path::new(""));
    parse_pyproject(path, bytes, directory).map(|project| project.declared)
}

impl Reader<'_> {
    /// The project pyproject.toml declares: name, version and every requirement with the extra
    /// or group that holds it.
    fn project(&self, wire: PyprojectWire, directory: &Path) -> Result<Project, LockfileError> {
        let PyprojectWire {
            project,
            dependency_groups,
            tool: ToolWire { poetry },
        } = wire;

        let name = match project.name.as_ref().or(poetry.name.as_ref()) {
            Some(raw) => self.package_name(raw, "name")?,
            None => fallback_name(directory).ok_or_else(|| {
                self.error(
                    0,
                    "expected `[project]` or `[tool.poetry]` to have a `name` (the directory's \
                     name is no package name)",
                )
            })?,
        };
        let version = match project.version.as_ref().or(poetry.version.as_ref()) {
            Some(raw) => Some(self.version(raw)?),
            None => None,
        };

        let mut declared = Vec::new();
        for raw in &project.dependencies {
            declared.push(DeclaredRequirement {
                requirement: self.requirement(raw, "project.dependencies")?,
                via: DependencyKind::Normal,
            });
        }
        for (extra, requirements) in &project.optional_dependencies {
            let extra = self.extra_name(extra)?;
            for raw in requirements {
                declared.push(DeclaredRequirement {
                    requirement: self.requirement(raw, "project.optional-dependencies")?,
                    via: DependencyKind::Extra(extra.clone()),
                });
            }
        }
        for (group, entries) in &dependency_groups {
            let group_name = self.group_name(group)?;
            for entry in entries {
                // `{include-group = …}` adds another group's requirements, which are declared
                // under that group already.
                if let GroupEntryWire::Requirement(raw) = entry.get_ref() {
                    let raw = Spanned::new(entry.span(), raw.clone());
                    declared.push(DeclaredRequirement {
                        requirement: self.requirement(&raw, "dependency-groups")?,
                        via: DependencyKind::Group(group_name.clone()),
                    });
                }
            }
        }

        // Which `[tool.poetry.extras]` name each optional Poetry dependency.
        let mut extras_naming: HashMap<PackageName, Vec<ExtraName>> = HashMap::new();
        for (extra, names) in &poetry.extras {
            let extra = self.extra_name(extra)?;
            for raw in names {
                let named = self.package_name(raw, "tool.poetry.extras")?;
                extras_naming.entry(named).or_default().push(extra.clone());
            }
        }
        // With a `[project]` table, Poetry 2 reads `[tool.poetry.dependencies]` only to refine
        // the requirements `[project]` declares; those are declared once, from `[project]`.
        let from_project: Vec<PackageName> = declared
            .iter()
            .filter(|declared| declared.via == DependencyKind::Normal)
            .map(|declared| declared.requirement.name.clone())
            .collect();
        for (raw_name, wire) in &poetry.dependencies {
            if raw_name.get_ref() == "python" {
                continue;
            }
            for (requirement, optional) in
                self.poetry_requirements(raw_name, wire, "tool.poetry.dependencies")?
            {
                if from_project.contains(&requirement.name) {
                    continue;
                }
                if !optional {
                    declared.push(DeclaredRequirement {
                        requirement,
                        via: DependencyKind::Normal,
                    });
                    continue;
                }
                for extra in extras_naming.get(&requirement.name).into_iter().flatten() {
                    declared.push(DeclaredRequirement {
                        requirement: requirement.clone(),
                        via: DependencyKind::Extra(extra.clone()),
                    });
                }
            }
        }
        let mut groups: Vec<(String, &Dependencies, String)> = Vec::new();
        if !poetry.dev_dependencies.is_empty() {
            groups.push((
                "dev".to_string(),
                &poetry.dev_dependencies,
                "tool.poetry.dev-dependencies".to_string(),
            ));
        }
        for (group, tables) in &poetry.group {
            groups.push((
                self.group_name(group)?,
                &tables.dependencies,
                format!("tool.poetry.group.{}.dependencies", group.get_ref()),
            ));
        }
        for (group, dependencies, key) in groups {
            for (raw_name, wire) in dependencies {
                if raw_name.get_ref() == "python" {
                    continue;
                }
                for (requirement, _) in self.poetry_requirements(raw_name, wire, &key)? {
                    declared.push(DeclaredRequirement {
                        requirement,
                        via: DependencyKind::Group(group.clone()),
                    });
                }
            }
        }

        let primary_sources = poetry
            .source
            .iter()
            .filter(|source| source.is_primary())
            .filter_map(|source| source.url.clone())
            .collect();
        Ok(Project {
            name,
            version,
            declared,
            primary_sources,
        })
    }
}

/// The project's name when pyproject.toml gives none: its directory's.
fn fallback_name(directory: &Path) -> Option<PackageName> {
    let directory = std::fs::canonicalize(directory).ok()?;
    PackageName::from_str(&directory.file_name()?.to_string_lossy()).ok()
}

/// Append the project's synthetic root package, linked to what its requirements select.
fn add_root(
    packages: &mut Vec<LockedPackage>,
    by_name: &HashMap<PackageName, Vec<PackageId>>,
    environments: &[MarkerTree],
    project: Project,
) -> PackageId {
    let mut dependencies = Vec::new();
    for declared in &project.declared {
        let requirement = &declared.requirement;
        let specifiers = match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => vec![specifiers.clone()],
            Some(VersionOrUrl::Url(_)) | None => vec![VersionSpecifiers::empty()],
        };
        let mut targets = matching(packages, by_name, &requirement.name, &specifiers);
        if targets.is_empty() {
            // pyproject.toml edited after locking: what is installed is what the lock holds.
            targets = by_name.get(&requirement.name).cloned().unwrap_or_default();
        }
        let targets = coinstallable(targets, environments, &requirement.marker);
        for (package, marker) in where_taken(targets, environments, &requirement.marker) {
            add_edge(
                &mut dependencies,
                LockedDependency {
                    package,
                    marker,
                    extras: requirement.extras.clone(),
                    via: declared.via.clone(),
                },
            );
        }
    }
    let id = PackageId(packages.len());
    packages.push(LockedPackage {
        name: project.name,
        version: project.version,
        specifier: None,
        source: PackageSource::Virtual(".".to_string()),
        dependencies,
        files: Vec::new(),
        declared: project.declared,
        line: 0,
    });
    id
}

/// The locked packages named `name` whose version one of `specifiers` admits.
///
/// Poetry keeps a package's dependency entries for environments the project's Python range rules
/// out, and locks nothing for them, so an entry may match no package; it is then no edge.
fn matching(
    packages: &[LockedPackage],
    by_name: &HashMap<PackageName, Vec<PackageId>>,
    name: &PackageName,
    specifiers: &[VersionSpecifiers],
) -> Vec<PackageId> {
    by_name
        .get(name)
        .into_iter()
        .flatten()
        .copied()
        .filter(|id| match &packages[id.0].version {
            Some(version) => specifiers
                .iter()
                .any(|specifiers| specifiers.contains(version)),
            None => true,
        })
        .collect()
}

/// Of the versions a constraint admits, those Poetry installs somewhere the edge can be taken:
/// with numpy locked at 2.2.6 for Python 3.10 and at 2.5.5 for 3.11 on, pandas 3.1.1 (Python
/// 3.11 on) asking for `numpy>=2.0.2` gets 2.5.5 only. When the markers rule out every version
/// they are Poetry's approximation, not the truth, so all the admitted versions stay.
fn coinstallable(
    targets: Vec<PackageId>,
    environments: &[MarkerTree],
    context: &MarkerTree,
) -> Vec<PackageId> {
    let kept: Vec<PackageId> = targets
        .iter()
        .copied()
        .filter(|id| {
            let mut both = context.clone();
            both.and(environments[id.0].clone());
            !both.is_false()
        })
        .collect();
    if kept.is_empty() { targets } else { kept }
}

/// Each target with the marker of the edge to it. A constraint that links several versions
/// (scipy 1.15.3, locked for Python 3.10, and 1.17.1, from 3.11 on) takes each only where Poetry
/// installs it, so that one environment gets one version. A single target keeps the edge's own
/// marker: Poetry's markers are an approximation, and alone they could drop a package it installs.
fn where_taken(
    targets: Vec<PackageId>,
    environments: &[MarkerTree],
    marker: &MarkerTree,
) -> Vec<(PackageId, MarkerTree)> {
    let several = targets.len() > 1;
    targets
        .into_iter()
        .map(|id| {
            let mut taken = marker.clone();
            if several {
                taken.and(environments[id.0].clone());
            }
            (id, taken)
        })
        .collect()
}

/// Add an edge, merging it with an edge to the same package through the same extra or group:
/// alternatives by marker that select the same version become one edge with either marker.
fn add_edge(edges: &mut Vec<LockedDependency>, edge: LockedDependency) {
    match edges.iter_mut().find(|existing| {
        existing.package == edge.package
            && existing.via == edge.via
            && existing.extras == edge.extras
    }) {
        Some(existing) => existing.marker.or(edge.marker),
        None => edges.push(edge),
    }
}

/// Index URLs compared without a trailing slash: Poetry writes `…/simple` in the lock for a
/// source declared as `…/simple/`.
fn same_url(left: &str, right: &str) -> bool {
    left.trim_end_matches('/') == right.trim_end_matches('/')
}

/// Convert a Poetry version constraint to PEP 440 version specifiers.
///
/// Poetry accepts `^1.2.3` (up to the next breaking release: `>=1.2.3,<2.0.0`, and for 0.x
/// `^0.2` → `>=0.2,<0.3`), `~1.2` (`>=1.2,<1.3`), `*` (any), bare versions (`1.2.3` →
/// `==1.2.3`, `1.2.*` → `==1.2.*`), PEP 440 comparisons, `,` or spaces between clauses that must
/// all hold, and `||` between alternatives. PEP 440 has no "or", so the result holds one set of
/// specifiers per alternative; a version is allowed when any of them contains it.
pub(crate) fn poetry_constraint_to_pep440(
    constraint: &str,
) -> Result<Vec<VersionSpecifiers>, String> {
    let mut alternatives = Vec::new();
    for branch in constraint.split('|') {
        if branch.trim().is_empty() {
            // `||` splits into an empty piece between the bars.
            continue;
        }
        let mut clauses = Vec::new();
        for piece in branch.split(',') {
            // `>= 1.0 <2.0`: a bare operator belongs to the version after it.
            let mut pending_operator = String::new();
            for token in piece.split_whitespace() {
                if token
                    .chars()
                    .all(|c| matches!(c, '<' | '>' | '=' | '!' | '~' | '^'))
                {
                    pending_operator.push_str(token);
                    continue;
                }
                let clause = format!("{pending_operator}{token}");
                pending_operator.clear();
                if let Some(converted) = poetry_clause_to_pep440(&clause)? {
                    clauses.push(converted);
                }
            }
            if !pending_operator.is_empty() {
                return Err(format!("`{pending_operator}` has no version after it"));
            }
        }
        let joined = clauses.join(",");
        let specifiers = VersionSpecifiers::from_str(&joined).map_err(|err| err.to_string())?;
        alternatives.push(specifiers);
    }
    if alternatives.is_empty() {
        if constraint.trim().is_empty() {
            // An empty constraint allows everything, like `*`.
            return Ok(vec![VersionSpecifiers::empty()]);
        }
        return Err("no version constraint between the `|`".to_string());
    }
    Ok(alternatives)
}

/// One clause of a Poetry constraint as PEP 440 (`None` for `*`).
fn poetry_clause_to_pep440(clause: &str) -> Result<Option<String>, String> {
    if clause == "*" {
        return Ok(None);
    }
    if let Some(rest) = clause.strip_prefix('^') {
        let version = release_version(rest)?;
        let release = version.release();
        // The first non-zero part is what a breaking release bumps; all zeros bump the last.
        let index = release
            .iter()
            .position(|&part| part != 0)
            .unwrap_or(release.len() - 1);
        return Ok(Some(format!(">={rest},<{}", bump(release, index))));
    }
    if clause.starts_with("~=") {
        return Ok(Some(clause.to_string()));
    }
    if let Some(rest) = clause.strip_prefix('~') {
        let version = release_version(rest)?;
        let release = version.release();
        let index = if release.len() == 1 { 0 } else { 1 };
        return Ok(Some(format!(">={rest},<{}", bump(release, index))));
    }
    if ["==", "!=", ">=", "<=", "<", ">"]
        .iter()
        .any(|operator| clause.starts_with(operator))
    {
        return Ok(Some(clause.to_string()));
    }
    if let Some(rest) = clause.strip_prefix('=') {
        return Ok(Some(format!("=={rest}")));
    }
    Ok(Some(format!("=={clause}")))
}

fn release_version(text: &str) -> Result<Version, String> {
    let version =
        Version::from_str(text).map_err(|_| format!("`{text}` is not a PEP 440 version"))?;
    if version.release().is_empty() {
        return Err(format!("`{text}` has no release number"));
    }
    Ok(version)
}

/// The release bumped at `index`, later parts zeroed, as many parts as given: `(1.2.3, 0)` →
/// `2.0.0`.
fn bump(release: &[u64], index: usize) -> String {
    release
        .iter()
        .enumerate()
        .map(|(position, &part)| match position.cmp(&index) {
            std::cmp::Ordering::Less => part.to_string(),
            std::cmp::Ordering::Equal => part.saturating_add(1).to_string(),
            std::cmp::Ordering::Greater => "0".to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Poetry's `python = ">=3.8,<3.11"` as an environment marker. Two-part versions compare with
/// `python_version`, the rest with `python_full_version`, as Poetry itself writes them.
fn python_marker(alternatives: &[VersionSpecifiers]) -> Result<MarkerTree, String> {
    let mut marker = MarkerTree::FALSE;
    for specifiers in alternatives {
        let mut clauses = Vec::new();
        for specifier in specifiers.iter() {
            let text = specifier.to_string();
            let split = text
                .find(|c: char| c.is_ascii_digit())
                .ok_or_else(|| format!("`{text}` has no version"))?;
            let (operator, version) = text.split_at(split);
            let version = version.trim();
            let field = if specifier.version().release().len() <= 2
                && !version.contains(['*', '+'])
                && !specifier.version().any_prerelease()
            {
                "python_version"
            } else {
                "python_full_version"
            };
            clauses.push(format!("{field} {} '{version}'", operator.trim()));
        }
        if clauses.is_empty() {
            return Ok(MarkerTree::TRUE);
        }
        let conjunction = crate::requirement::parse_marker(&clauses.join(" and "))?;
        marker.or(conjunction);
    }
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use crate::lockfile::fixtures;
    use std::collections::BTreeSet;

    use serde_json::Value;

    use std::path::PathBuf;

    use super::*;
    use crate::lockfile::line_of;
    use crate::lockfile::parse_lockfile;

    const FOLDERS: [&str; 5] = [
        "ds2023-numpy1",
        "modern-numpy2",
        "markers-extras-groups",
        "poetry-classic",
        "arcziwoda__mnist_digit_recognition",
    ];

    fn fixture_dir(folder: &str) -> PathBuf {
        fixtures::fixture_dir(folder)
    }

    fn read_fixture(folder: &str) -> LockedProject {
        fixtures::read_fixture(folder, "poetry.lock", LockFormat::PoetryLock)
    }

    fn read_tree(folder: &str) -> Value {
        fixtures::read_json(folder, "tree.poetry.json")
    }

    fn normal_version(raw: &str) -> String {
        Version::from_str(raw).expect("a version").to_string()
    }

    /// Compare a lock with the ground truth of testdata/README.md: the packages poetry.lock
    /// holds, the edges derivable from its `[package.dependencies]` (`edges_from_lockfile`), and
    /// the root's edges as `poetry show --tree` prints them (`edges`, the project as parent).
    fn assert_matches_ground_truth(folder: &str) {
        let project = read_fixture(folder);
        let tree = read_tree(folder);
        let root_name = tree["project"].as_str().unwrap();

        let roots: Vec<String> = project
            .roots
            .iter()
            .map(|&id| project.package(id).name.to_string())
            .collect();
        assert_eq!(roots, vec![root_name.to_string()], "{folder}: roots");

        let mut expected_packages = BTreeSet::new();
        for (name, versions) in tree["packages"].as_object().unwrap() {
            let versions = match versions {
                Value::Array(list) => list.iter().map(|v| v.as_str().unwrap()).collect(),
                other => vec![other.as_str().unwrap()],
            };
            for version in versions {
                expected_packages.insert((name.clone(), normal_version(version)));
            }
        }
        let locked: Vec<(String, String)> = project
            .ids()
            .filter(|id| !project.roots.contains(id))
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
            "{folder}: locked package count"
        );
        assert_eq!(
            locked.into_iter().collect::<BTreeSet<_>>(),
            expected_packages,
            "{folder}: packages"
        );

        let mut expected_edges: BTreeSet<(String, String)> = tree["edges_from_lockfile"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                (
                    edge["parent"].as_str().unwrap().to_string(),
                    edge["child"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        expected_edges.extend(
            tree["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| {
                    (
                        edge[0].as_str().unwrap().to_string(),
                        edge[1].as_str().unwrap().to_string(),
                    )
                })
                .filter(|(parent, _)| parent == root_name),
        );
        let mut edges = BTreeSet::new();
        for parent_id in project.ids() {
            let parent = project.package(parent_id);
            for dependency in &parent.dependencies {
                edges.insert((
                    parent.name.to_string(),
                    project.package(dependency.package).name.to_string(),
                ));
            }
        }
        let missing: Vec<_> = expected_edges.difference(&edges).collect();
        let unexpected: Vec<_> = edges.difference(&expected_edges).collect();
        assert!(
            missing.is_empty() && unexpected.is_empty(),
            "{folder}: edges missing {missing:?}, unexpected {unexpected:?}"
        );
    }

    #[test]
    fn matches_ground_truth_ds2023_numpy1() {
        assert_matches_ground_truth("ds2023-numpy1");
    }

    #[test]
    fn matches_ground_truth_modern_numpy2() {
        assert_matches_ground_truth("modern-numpy2");
    }

    #[test]
    fn matches_ground_truth_markers_extras_groups() {
        assert_matches_ground_truth("markers-extras-groups");
    }

    #[test]
    fn matches_ground_truth_poetry_classic() {
        assert_matches_ground_truth("poetry-classic");
    }

    #[test]
    fn matches_ground_truth_poetry_1_8_lock() {
        assert_matches_ground_truth("arcziwoda__mnist_digit_recognition");
    }

    #[test]
    fn every_fixture_reads_files_sources_and_python_range() {
        for folder in FOLDERS {
            let project = read_fixture(folder);
            let root = project.package(project.roots[0]);
            assert_eq!(root.source, PackageSource::Virtual(".".to_string()));
            assert_eq!(root.line, 0);
            assert!(project.requires_python.is_some(), "{folder}");
            for id in project.ids().filter(|id| !project.roots.contains(id)) {
                let package = project.package(id);
                assert!(
                    !package.files.is_empty(),
                    "{folder}: {}",
                    package.display_id()
                );
                assert!(package.line > 0);
            }
        }
        let classic = read_fixture("poetry-classic");
        assert_eq!(classic.index_urls, vec![PYPI_SIMPLE.to_string()]);
        assert_eq!(
            classic.requires_python,
            Some(VersionSpecifiers::from_str(">=3.10,<3.13").unwrap())
        );
        let public = read_fixture("arcziwoda__mnist_digit_recognition");
        assert!(public.index_urls.is_empty());
        assert_eq!(
            public.requires_python,
            Some(VersionSpecifiers::from_str(">=3.11,<4.0").unwrap())
        );
        assert!(
            public
                .packages
                .iter()
                .all(|package| package.source.kind() != "git")
        );
    }

    /// The root's own numpy requirement, as the audit shows it.
    fn declared_numpy(folder: &str) -> (VersionSpecifiers, DependencyKind) {
        let project = read_fixture(folder);
        let root = project.package(project.roots[0]);
        let numpy = PackageName::from_str("numpy").unwrap();
        let declared = root
            .declared
            .iter()
            .find(|declared| declared.requirement.name == numpy)
            .expect("the root declares numpy");
        match &declared.requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                (specifiers.clone(), declared.via.clone())
            }
            other => panic!("expected a version range, found {other:?}"),
        }
    }

    #[test]
    fn root_declares_the_numpy_cap() {
        let two = Version::from_str("2.0").unwrap();
        let locked = Version::from_str("1.26.4").unwrap();
        for folder in ["ds2023-numpy1", "poetry-classic"] {
            let (specifiers, via) = declared_numpy(folder);
            assert!(!specifiers.contains(&two), "{folder}: {specifiers}");
            assert!(specifiers.contains(&locked), "{folder}: {specifiers}");
            assert_eq!(via, DependencyKind::Normal);
        }
        let (specifiers, _) = declared_numpy("poetry-classic");
        assert_eq!(
            specifiers,
            VersionSpecifiers::from_str(">=1.26,<2.0").unwrap()
        );
    }

    #[test]
    fn root_edges_carry_groups_and_extras() {
        let project = read_fixture("poetry-classic");
        let root = project.package(project.roots[0]);
        let via = |name: &str| {
            root.dependencies
                .iter()
                .filter(|dependency| project.package(dependency.package).name.as_ref() == name)
                .map(|dependency| dependency.via.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(via("pyarrow"), ["extra:parquet"]);
        assert_eq!(via("pytest"), ["group:dev"]);
        assert_eq!(via("jupyterlab"), ["group:notebook"]);
        assert_eq!(via("numpy"), [""]);
        let sqlalchemy = root
            .dependencies
            .iter()
            .find(|dependency| project.package(dependency.package).name.as_ref() == "sqlalchemy")
            .unwrap();
        assert_eq!(
            sqlalchemy.extras,
            vec![ExtraName::from_str("asyncio").unwrap()]
        );
    }

    #[test]
    fn forked_dependencies_link_each_satisfying_version_with_its_marker() {
        let project = read_fixture("modern-numpy2");
        let numpy_of = |pandas_version: &str| {
            let pandas = project
                .packages
                .iter()
                .find(|package| {
                    package.name.as_ref() == "pandas"
                        && package.version == Some(Version::from_str(pandas_version).unwrap())
                })
                .unwrap();
            pandas
                .dependencies
                .iter()
                .filter(|dependency| project.package(dependency.package).name.as_ref() == "numpy")
                .map(|dependency| {
                    (
                        project
                            .package(dependency.package)
                            .version
                            .as_ref()
                            .unwrap()
                            .to_string(),
                        dependency.marker.try_to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        // pandas 3.1.1 (Python >= 3.11) lists `numpy = [{>=2.0.2, py<3.14}, {>=2.3.3, py>=3.14}]`:
        // numpy 2.2.6 admits the first constraint but is locked for Python 3.10 only. Of the two
        // left, each is taken only where Poetry installs it (2.4.6 on 3.11, 2.5.5 from 3.12), so
        // that Python 3.11 gets one numpy, not both.
        let marker = |text: &str| MarkerTree::from_str(text).unwrap().try_to_string();
        assert_eq!(
            numpy_of("3.1.1"),
            vec![
                ("2.4.6".to_string(), marker("python_version == '3.11'")),
                ("2.5.5".to_string(), marker("python_version >= '3.12'")),
            ]
        );
        assert_eq!(
            numpy_of("2.3.3"),
            vec![(
                "2.2.6".to_string(),
                MarkerTree::from_str("python_version < '3.11'")
                    .unwrap()
                    .try_to_string()
            )]
        );
    }

    #[test]
    fn optional_dependencies_are_edges_through_extras_only() {
        let project = read_fixture("markers-extras-groups");
        let pandas = project
            .packages
            .iter()
            .find(|package| package.name.as_ref() == "pandas")
            .unwrap();
        let performance = DependencyKind::Extra(ExtraName::from_str("performance").unwrap());
        let to_bottleneck: Vec<&LockedDependency> = pandas
            .dependencies
            .iter()
            .filter(|dependency| project.package(dependency.package).name.as_ref() == "bottleneck")
            .collect();
        // Named by `performance` (and, in pandas 2.3.3, by `all` too); never a plain edge.
        assert!(
            to_bottleneck
                .iter()
                .all(|dependency| matches!(dependency.via, DependencyKind::Extra(_)))
        );
        let bottleneck = to_bottleneck
            .iter()
            .find(|dependency| dependency.via == performance)
            .expect("an edge through `performance`");
        // The extra is the edge's kind; the marker no longer repeats it.
        assert_eq!(bottleneck.marker, MarkerTree::TRUE);
    }

    #[test]
    fn converts_poetry_constraints() {
        let cases = [
            ("^1.2.3", ">=1.2.3,<2.0.0"),
            ("^0.2", ">=0.2,<0.3"),
            ("^0.0.3", ">=0.0.3,<0.0.4"),
            ("^0", ">=0,<1"),
            ("~1.2", ">=1.2,<1.3"),
            ("~1.2.3", ">=1.2.3,<1.3.0"),
            ("~1", ">=1,<2"),
            ("~=1.2", "~=1.2"),
            ("*", ""),
            ("", ""),
            ("1.2.*", "==1.2.*"),
            ("==13.1.1.3.*", "==13.1.1.3.*"),
            (">=1,<2", ">=1,<2"),
            (">= 1.0 < 2.0", ">=1.0,<2.0"),
            ("1.2.3", "==1.2.3"),
            ("=1.2.3", "==1.2.3"),
            (">=2.11.0,!=2.14.1", ">=2.11.0,!=2.14.1"),
        ];
        for (poetry, pep440) in cases {
            assert_eq!(
                poetry_constraint_to_pep440(poetry),
                Ok(vec![VersionSpecifiers::from_str(pep440).unwrap()]),
                "{poetry}"
            );
        }
        assert_eq!(
            poetry_constraint_to_pep440("<1.0 || >=2.0,<3"),
            Ok(vec![
                VersionSpecifiers::from_str("<1.0").unwrap(),
                VersionSpecifiers::from_str(">=2.0,<3").unwrap(),
            ])
        );
        for bad in ["^", "^abc", ">=", "1.2.3.x", ">>1"] {
            assert!(poetry_constraint_to_pep440(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn converts_python_constraints_to_markers() {
        let marker = |constraint: &str| {
            python_marker(&poetry_constraint_to_pep440(constraint).unwrap())
                .unwrap()
                .try_to_string()
        };
        assert_eq!(
            marker(">=3.8,<3.11"),
            MarkerTree::from_str("python_version >= '3.8' and python_version < '3.11'")
                .unwrap()
                .try_to_string()
        );
        assert_eq!(
            marker("^3.8"),
            MarkerTree::from_str("python_version >= '3.8' and python_version < '4.0'")
                .unwrap()
                .try_to_string()
        );
        assert_eq!(marker("*"), None);
    }

    fn parse_text(path: &Path, text: &str) -> Result<LockedProject, LockfileError> {
        parse_lockfile(path, LockFormat::PoetryLock, text.as_bytes())
    }

    /// A lock path in a directory that does not exist, so no pyproject.toml is read.
    fn lonely_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lockfiles/no-such-project/poetry.lock")
    }

    /// Parse text that must fail; check the error names `path` and return line and message.
    fn parse_error_at(path: &Path, text: &[u8]) -> (usize, String) {
        parse_error_named(path, "poetry.lock", text)
    }

    /// Parse a lock that must fail with an error naming the file `file_name`.
    fn parse_error_named(path: &Path, file_name: &str, text: &[u8]) -> (usize, String) {
        let err = parse_lockfile(path, LockFormat::PoetryLock, text)
            .expect_err("the input should be rejected");
        let rendered = err.to_string();
        match err {
            LockfileError::Parse {
                path: named,
                line,
                message,
            } => {
                assert_eq!(rendered, format!("{}:{line}: {message}", named.display()));
                assert_eq!(named.file_name().unwrap(), file_name);
                (line, message)
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    fn parse_error(text: &str) -> (usize, String) {
        parse_error_at(&lonely_path(), text.as_bytes())
    }

    const METADATA: &str = "\n[metadata]\nlock-version = \"2.1\"\npython-versions = \">=3.10\"\ncontent-hash = \"x\"\n";

    #[test]
    fn without_pyproject_roots_are_the_unreferenced_packages() {
        let text = format!(
            r#"[[package]]
name = "A"
version = "1"
optional = false
python-versions = "*"
files = []

[package.dependencies]
b = {{version = "^1.0", python = "<3.11"}}
c = {{version = ">=1", optional = true}}

[package.extras]
fast = ["c (>=1)"]

[[package]]
name = "b"
version = "1.5"
files = []

[[package]]
name = "c"
version = "2"
files = []
{METADATA}"#
        );
        let project = parse_text(&lonely_path(), &text).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(project.roots, vec![PackageId(0)]);
        let a = project.package(PackageId(0));
        assert_eq!(a.line, 1);
        assert_eq!(a.source, PackageSource::Registry(PYPI_SIMPLE.to_string()));
        assert_eq!(a.dependencies.len(), 2);
        assert_eq!(
            a.dependencies[0].marker,
            MarkerTree::from_str("python_version < '3.11'").unwrap()
        );
        assert_eq!(
            a.dependencies[1].via,
            DependencyKind::Extra(ExtraName::from_str("fast").unwrap())
        );
        assert!(project.index_urls.is_empty());
    }

    #[test]
    fn reads_lock_version_1_files_and_sources() {
        let digest = "0".repeat(64);
        let text = format!(
            r#"[[package]]
name = "lib"
version = "1.0"
develop = false

[package.source]
type = "git"
url = "https://github.com/org/lib"
reference = "v1"
resolved_reference = "abc123"

[[package]]
name = "numpy"
version = "1.26.4"

[[package]]
name = "numpy"
version = "2.0.0"

[package.source]
type = "legacy"
url = "https://mirror.example/simple"
reference = "mirror"

[metadata]
lock-version = "1.1"
python-versions = "^3.9"
content-hash = "x"

[metadata.files]
lib = []
NumPy = [
    {{file = "numpy-1.26.4.tar.gz", hash = "sha256:{digest}"}},
    {{file = "numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl", hash = "md5:abcd"}},
]
"#
        );
        let project = parse_text(&lonely_path(), &text).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            project.package(PackageId(0)).source,
            PackageSource::Git("https://github.com/org/lib?rev=v1#abc123".to_string())
        );
        assert_eq!(project.package(PackageId(1)).files.len(), 1);
        assert_eq!(
            project.package(PackageId(1)).files[0].sha256.as_deref(),
            Some(digest.as_str())
        );
        assert_eq!(project.package(PackageId(2)).files[0].sha256, None);
        assert_eq!(project.index_urls, vec!["https://mirror.example/simple"]);
    }

    #[test]
    fn rejects_truncated_toml() {
        let text =
            std::fs::read_to_string(fixture_dir("ds2023-numpy1").join("poetry.lock")).unwrap();
        let cut = text.find("name = \"scikit-learn\"").unwrap() + "name = \"scik".len();
        let (line, message) = parse_error_at(&lonely_path(), &text.as_bytes()[..cut]);
        assert_eq!(line, line_of(&text, cut));
        assert!(message.starts_with("invalid TOML: "), "{message}");
    }

    #[test]
    fn rejects_missing_or_unsupported_lock_version() {
        let (line, message) = parse_error("[[package]]\nname = \"a\"\nversion = \"1\"\n");
        assert_eq!(line, 3);
        assert!(message.starts_with("missing `[metadata]`"), "{message}");
        let (line, message) =
            parse_error("[metadata]\ncontent-hash = \"x\"\nlock-version = \"3.0\"\n");
        assert_eq!(line, 3);
        assert!(
            message.contains("unsupported poetry.lock `lock-version = \"3.0\"`"),
            "{message}"
        );
    }

    #[test]
    fn rejects_wrong_type_for_dependencies() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\ndependencies = [\"numpy\"]\n{METADATA}"
        ));
        assert_eq!(line, 4);
        assert!(message.contains("package.dependencies"), "{message}");

        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\n\n[package.dependencies]\nnumpy = 3\n{METADATA}"
        ));
        assert_eq!(line, 6);
        assert!(
            message.contains("expected a version constraint string, an inline table or a list"),
            "{message}"
        );
    }

    #[test]
    fn rejects_wrong_alternative_and_bad_package_markers() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\n\n[package.dependencies]\nnumpy = [\"^1\"]\n{METADATA}"
        ));
        assert_eq!(line, 6);
        assert!(message.contains("expected an inline table"), "{message}");
        assert!(message.contains("package.dependencies.numpy"), "{message}");

        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\nmarkers = {{main = \"os >< 1\"}}\n{METADATA}"
        ));
        assert_eq!(line, 4);
        assert!(
            message.starts_with("expected `markers` of `pandas==2.0.3` to be a PEP 508"),
            "{message}"
        );
    }

    #[test]
    fn rejects_package_without_version() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"numpy\"\nversion = \"1.26.4\"\n\n[[package]]\nname = \"Foo_Bar\"\n{METADATA}"
        ));
        assert_eq!(line, 5);
        assert_eq!(
            message,
            "package `foo-bar` has no `version`; expected every `[[package]]` to have one"
        );
    }

    #[test]
    fn rejects_bad_constraint() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"pandas\"\nversion = \"2.0.3\"\n\n[package.dependencies]\npytz = \">=2020.1\"\nnumpy = {{version = \"^one\"}}\n{METADATA}"
        ));
        assert_eq!(line, 7);
        assert!(
            message.starts_with(
                "expected the constraint of dependency `numpy` of `pandas==2.0.3` to be a Poetry \
                 version constraint"
            ),
            "{message}"
        );
        assert!(message.contains("found `^one`"), "{message}");
    }

    #[test]
    fn rejects_bad_markers() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"a\"\nversion = \"1\"\n\n[package.dependencies]\nb = [\n  {{version = \">=1\", markers = \"python_version >> '3.11'\"}},\n]\n{METADATA}"
        ));
        assert_eq!(line, 6);
        assert!(
            message.starts_with(
                "expected `markers` of dependency `b` of `a==1` to be a PEP 508 environment \
                 marker, found `python_version >> '3.11'`"
            ),
            "{message}"
        );
    }

    #[test]
    fn rejects_bad_version_and_source_type() {
        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"a\"\nversion = \"abc\"\n{METADATA}"
        ));
        assert_eq!(line, 3);
        assert_eq!(
            message,
            "expected `version` to be a PEP 440 version, found `abc`"
        );

        let (line, message) = parse_error(&format!(
            "[[package]]\nname = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"svn\"\nurl = \"x\"\n{METADATA}"
        ));
        assert_eq!(line, 6);
        assert!(message.contains("found `svn`"), "{message}");
    }

    #[test]
    fn rejects_malformed_pyproject() {
        let directory = tempfile::tempdir().unwrap();
        let lock = directory.path().join("poetry.lock");
        let pyproject = directory.path().join("pyproject.toml");
        let text = format!("[[package]]\nname = \"a\"\nversion = \"1\"\n{METADATA}");
        // The lock is fine each time; the error must name pyproject.toml and its line.
        let pyproject_error = |content: &str| {
            std::fs::write(&pyproject, content).unwrap();
            parse_error_named(&lock, "pyproject.toml", text.as_bytes())
        };

        let (line, message) =
            pyproject_error("[project]\nname = \"app\"\ndependencies = [\n  \"a>=1\",\n");
        assert_eq!(line, 4);
        assert!(message.starts_with("invalid TOML"), "{message}");

        let (line, message) = pyproject_error(
            "[tool.poetry]\nname = \"app\"\n\n[tool.poetry.dependencies]\npython = \"^3.10\"\na = \"^x\"\n",
        );
        assert_eq!(line, 6);
        assert!(
            message.contains("`a` in `[tool.poetry.dependencies]`"),
            "{message}"
        );

        let (line, message) = pyproject_error(
            "[project]\nname = \"app\"\ndependencies = [\n  \"a>=1\",\n  \"numpy <<2\",\n]\n",
        );
        assert_eq!(line, 5);
        assert!(message.contains("PEP 508"), "{message}");

        let (line, message) = pyproject_error("[project]\nname = \"app\"\ndependencies = \"a\"\n");
        assert_eq!(line, 3);
        assert!(message.contains("project.dependencies"), "{message}");

        std::fs::write(
            &pyproject,
            "[project]\nname = \"App\"\ndependencies = [\"a>=1\"]\n",
        )
        .unwrap();
        let project = parse_text(&lock, &text).unwrap_or_else(|err| panic!("{err}"));
        let root = project.package(project.roots[0]);
        assert_eq!(root.name.as_ref(), "app");
        assert_eq!(root.dependencies[0].package, PackageId(0));
    }
}
