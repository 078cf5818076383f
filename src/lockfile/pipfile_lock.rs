//! Reader for pipenv's `Pipfile.lock` (JSON, `pipfile-spec` 6).
//!
//! pipenv records what to install for `[packages]` (`default`) and `[dev-packages]` (`develop`),
//! not who needs whom, so the graph is flat: a synthetic root for the project depends on every
//! package, through group `dev` for the develop section. serde_json keeps no positions, so each
//! package's line is found by scanning the text for its key.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree, PackageName};
use serde::Deserialize;

use super::source::{Source, utf8};
use super::{
    DependencyKind, LockFormat, LockedDependency, LockedPackage, LockedProject, LockfileError,
    PackageId, PackageSource,
};

/// Parse the bytes of a `Pipfile.lock`; `path` names it in messages and names the root.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let source = Source::new(path, utf8(path, bytes)?);
    let lock: LockWire =
        serde_json::from_str(source.text).map_err(|err| json_error(&source, &err))?;
    let lines = key_lines(source.text);
    Unwire {
        source,
        lines: &lines,
    }
    .project(lock)
}

// Wire types. Known keys accepted and ignored: `_meta.hash`, `_meta.pipfile-spec`,
// `sources[].verify_ssl`, and per package `hashes` (pipenv records digests without file names,
// which is all a `LockedFile` is not) and `editable`'s siblings `subdirectory`.

#[derive(Deserialize)]
struct LockWire {
    #[serde(rename = "_meta")]
    meta: MetaWire,
    #[serde(default)]
    default: BTreeMap<String, EntryWire>,
    #[serde(default)]
    develop: BTreeMap<String, EntryWire>,
}

#[derive(Deserialize)]
struct MetaWire {
    #[serde(default)]
    requires: RequiresWire,
    #[serde(default)]
    sources: Vec<SourceWire>,
}

#[derive(Default, Deserialize)]
struct RequiresWire {
    python_version: Option<String>,
    python_full_version: Option<String>,
}

#[derive(Deserialize)]
struct SourceWire {
    name: String,
    url: String,
}

#[derive(Deserialize)]
struct EntryWire {
    version: Option<String>,
    markers: Option<String>,
    index: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
    git: Option<String>,
    r#ref: Option<String>,
    path: Option<String>,
    file: Option<String>,
    #[serde(default)]
    editable: bool,
}

/// A serde_json error as a parse error; serde_json knows the line.
fn json_error(source: &Source<'_>, err: &serde_json::Error) -> LockfileError {
    let rendered = err.to_string();
    // serde_json appends " at line L column C"; our `path:line:` prefix says it already.
    let message = rendered
        .rsplit_once(" at line ")
        .map_or(rendered.as_str(), |(message, _)| message);
    let message = match err.classify() {
        serde_json::error::Category::Data => {
            format!("expected a Pipfile.lock layout: {message}")
        }
        _ => format!("invalid JSON: {message}"),
    };
    source.error_line(err.line().max(1), message)
}

/// The 1-based line of every package key: `(section, raw name)` → line, for the keys directly
/// inside the top-level `default` and `develop` objects.
fn key_lines(text: &str) -> HashMap<(String, String), usize> {
    let mut lines = HashMap::new();
    let bytes = text.as_bytes();
    // The key that opened each enclosing object, outermost first.
    let mut path: Vec<Option<String>> = Vec::new();
    let mut last_key: Option<String> = None;
    let mut line = 1;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => line += 1,
            b'{' | b'[' => {
                path.push(last_key.take());
            }
            b'}' | b']' => {
                path.pop();
                last_key = None;
            }
            b'"' => {
                let start_line = line;
                let mut end = index + 1;
                let mut escaped = false;
                while end < bytes.len() {
                    match bytes[end] {
                        b'\\' if !escaped => escaped = true,
                        b'"' if !escaped => break,
                        b'\n' => {
                            line += 1;
                            escaped = false;
                        }
                        _ => escaped = false,
                    }
                    end += 1;
                }
                let raw = &text[index + 1..end.min(text.len())];
                let is_key = bytes[end.saturating_add(1).min(bytes.len())..]
                    .iter()
                    .find(|byte| !byte.is_ascii_whitespace())
                    == Some(&b':');
                if is_key {
                    if path.len() == 2
                        && let Some(Some(section)) = path.get(1)
                        && (section == "default" || section == "develop")
                    {
                        lines.insert((section.clone(), raw.to_string()), start_line);
                    }
                    last_key = Some(raw.to_string());
                }
                index = end;
            }
            b',' => last_key = None,
            _ => {}
        }
        index += 1;
    }
    lines
}

struct Unwire<'a> {
    source: Source<'a>,
    lines: &'a HashMap<(String, String), usize>,
}

impl Unwire<'_> {
    fn project(&self, lock: LockWire) -> Result<LockedProject, LockfileError> {
        let requires_python = self.requires_python(&lock.meta.requires)?;
        let indexes: Vec<(String, String)> = lock
            .meta
            .sources
            .iter()
            .map(|source| (source.name.clone(), source.url.clone()))
            .collect();

        let mut packages: Vec<LockedPackage> = Vec::new();
        let mut edges = Vec::new();
        for (section, entries, via) in [
            ("default", lock.default, DependencyKind::Normal),
            (
                "develop",
                lock.develop,
                DependencyKind::Group("dev".to_string()),
            ),
        ] {
            for (raw_name, entry) in entries {
                let line = self
                    .lines
                    .get(&(section.to_string(), raw_name.clone()))
                    .copied()
                    .unwrap_or(1);
                let (package, marker, extras) =
                    self.package(section, &raw_name, entry, line, &indexes)?;
                // A package in both sections at one version is one package with two edges.
                let id = match packages.iter().position(|other| {
                    other.name == package.name
                        && other.version == package.version
                        && other.specifier == package.specifier
                        && other.source == package.source
                }) {
                    Some(index) => PackageId(index),
                    None => {
                        packages.push(package);
                        PackageId(packages.len() - 1)
                    }
                };
                edges.push(LockedDependency {
                    package: id,
                    marker,
                    extras,
                    via: via.clone(),
                });
            }
        }

        let root_name = self
            .source
            .path
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .and_then(|name| PackageName::from_str(name).ok())
            .unwrap_or_else(|| PackageName::from_str("pipfile").expect("a valid package name"));
        let root = PackageId(packages.len());
        packages.push(LockedPackage {
            name: root_name,
            version: None,
            specifier: None,
            source: PackageSource::Virtual(".".to_string()),
            dependencies: edges,
            files: Vec::new(),
            declared: Vec::new(),
            // The project has no entry of its own; `_meta` opens the file.
            line: 1,
        });

        Ok(LockedProject {
            path: self.source.path.to_path_buf(),
            format: LockFormat::PipfileLock,
            requires_python,
            packages,
            roots: vec![root],
            index_urls: indexes.into_iter().map(|(_, url)| url).collect(),
            warnings: Vec::new(),
            generated_by: None,
            supported_markers: Vec::new(),
        })
    }

    /// `_meta.requires`: `python_full_version = "3.11.7"` pins one release, `python_version =
    /// "3.11"` a minor series.
    fn requires_python(
        &self,
        requires: &RequiresWire,
    ) -> Result<Option<VersionSpecifiers>, LockfileError> {
        let specifier = match (&requires.python_full_version, &requires.python_version) {
            (Some(full), _) => format!("=={full}"),
            (None, Some(minor)) => format!("=={minor}.*"),
            (None, None) => return Ok(None),
        };
        VersionSpecifiers::from_str(&specifier)
            .map(Some)
            .map_err(|_| {
                self.source.error_line(
                    1,
                    format!(
                        "expected `_meta.requires` to name a Python version, found `{}`",
                        specifier.trim_start_matches("==").trim_end_matches(".*")
                    ),
                )
            })
    }

    #[allow(clippy::type_complexity)]
    fn package(
        &self,
        section: &str,
        raw_name: &str,
        entry: EntryWire,
        line: usize,
        indexes: &[(String, String)],
    ) -> Result<(LockedPackage, MarkerTree, Vec<ExtraName>), LockfileError> {
        let name = PackageName::from_str(raw_name).map_err(|_| {
            self.source.error_line(
                line,
                format!("expected the keys of `{section}` to be package names, found `{raw_name}`"),
            )
        })?;
        let marker = match &entry.markers {
            Some(raw) => MarkerTree::from_str(raw).map_err(|err| {
                self.source.error_line(
                    line,
                    format!(
                        "expected `markers` of `{name}` to be a PEP 508 environment marker, \
                         found `{raw}`: {}",
                        err.message
                    ),
                )
            })?,
            None => MarkerTree::TRUE,
        };
        let extras = entry
            .extras
            .iter()
            .map(|extra| {
                ExtraName::from_str(extra).map_err(|_| {
                    self.source.error_line(
                        line,
                        format!("expected `extras` of `{name}` to be extra names, found `{extra}`"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let (version, specifier) = match &entry.version {
            // A git checkout's version is whatever the commit declares.
            _ if entry.git.is_some() => (None, None),
            Some(raw) => self.version(&name, raw, line)?,
            None => (None, None),
        };
        let source = if let Some(git) = entry.git {
            PackageSource::Git(match entry.r#ref {
                Some(reference) => format!("{git}@{reference}"),
                None => git,
            })
        } else if let Some(path) = entry.path {
            if entry.editable {
                PackageSource::Editable(path)
            } else {
                PackageSource::Path(path)
            }
        } else if let Some(file) = entry.file {
            PackageSource::Url(file)
        } else {
            if version.is_none() && specifier.is_none() {
                return Err(self.source.error_line(
                    line,
                    format!(
                        "package `{name}` has no `version`; expected `\"version\": \"==…\"` or \
                         a `git`, `path` or `file` source"
                    ),
                ));
            }
            // pipenv leaves `index` out for packages pulled in by others: the first source.
            let url = match &entry.index {
                Some(index) => indexes
                    .iter()
                    .find(|(source, _)| source == index)
                    .map(|(_, url)| url.clone())
                    .ok_or_else(|| {
                        self.source.error_line(
                            line,
                            format!(
                                "`index` of `{name}` is `{index}`, which names no source in \
                                 `_meta.sources`"
                            ),
                        )
                    })?,
                None => indexes.first().map_or_else(
                    || "https://pypi.org/simple".to_string(),
                    |(_, url)| url.clone(),
                ),
            };
            PackageSource::Registry(url)
        };
        let package = LockedPackage {
            name,
            version,
            specifier,
            source,
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line,
        };
        Ok((package, marker, extras))
    }

    /// `"==1.2.3"` is a locked version; other specifiers (`"*"` aside) are kept as what is
    /// allowed, and anything else is an error.
    fn version(
        &self,
        name: &PackageName,
        raw: &str,
        line: usize,
    ) -> Result<(Option<Version>, Option<VersionSpecifiers>), LockfileError> {
        let invalid = || {
            self.source.error_line(
                line,
                format!("expected `version` of `{name}` to be `==<version>`, found `{raw}`"),
            )
        };
        if raw.trim() == "*" {
            return Ok((None, None));
        }
        let specifiers = VersionSpecifiers::from_str(raw).map_err(|_| invalid())?;
        match specifiers.iter().collect::<Vec<_>>()[..] {
            [single] if matches!(single.operator(), Operator::Equal | Operator::ExactEqual) => {
                Ok((Some(single.version().clone()), None))
            }
            _ => Ok((None, Some(specifiers))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::fixtures;

    fn read_fixture() -> LockedProject {
        fixtures::read_fixture("pipenv-example", "Pipfile.lock", LockFormat::PipfileLock)
    }

    fn parse_error(text: &str) -> (usize, String) {
        let path = Path::new("Pipfile.lock");
        fixtures::expect_parse_error(parse(path, text.as_bytes()), path)
    }

    #[test]
    fn reads_the_example_lock() {
        let project = read_fixture();
        assert_eq!(project.index_urls, ["https://pypi.org/simple"]);
        assert_eq!(
            project.requires_python,
            Some(VersionSpecifiers::from_str("==3.11.*").unwrap())
        );
        assert_eq!(project.roots.len(), 1);
        let root = project.package(project.roots[0]);
        assert_eq!(root.name.as_ref(), "pipenv-example");

        let listed: Vec<(String, String, usize, String)> = root
            .dependencies
            .iter()
            .map(|edge| {
                let package = project.package(edge.package);
                (
                    package.display_id(),
                    edge.via.to_string(),
                    package.line,
                    edge.marker.try_to_string().unwrap_or_default(),
                )
            })
            .collect();
        let find = |id: &str| listed.iter().find(|entry| entry.0 == id).unwrap().clone();
        assert_eq!(listed.len(), 12);
        assert_eq!(
            find("numpy==1.26.4"),
            (
                "numpy==1.26.4".into(),
                String::new(),
                23,
                "python_full_version >= '3.9'".into()
            )
        );
        assert_eq!(find("pandas==2.0.3").2, 32);
        assert_eq!(find("pywin32==306").3, "sys_platform == 'win32'");
        assert_eq!(find("pytest==8.1.1").1, "group:dev");
        assert_eq!(find("pytest==8.1.1").2, 101);

        let mylib = project
            .packages
            .iter()
            .find(|package| package.name.as_ref() == "mylib")
            .unwrap();
        assert_eq!(mylib.version, None);
        assert_eq!(mylib.line, 19);
        assert_eq!(
            mylib.source,
            PackageSource::Git(
                "https://github.com/example/mylib.git@9f2c1e0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
                    .into()
            )
        );
        let requests = root
            .dependencies
            .iter()
            .find(|edge| project.package(edge.package).name.as_ref() == "requests")
            .unwrap();
        assert_eq!(requests.extras, vec![ExtraName::from_str("socks").unwrap()]);
        for package in &project.packages {
            assert!(package.files.is_empty());
            if package.name.as_ref() != "mylib"
                && project.package(project.roots[0]).name != package.name
            {
                assert_eq!(
                    package.source,
                    PackageSource::Registry("https://pypi.org/simple".into())
                );
            }
        }
    }

    #[test]
    fn key_lines_skip_nested_and_string_braces() {
        let text = "{\n \"_meta\": {\"x\": \"{\"},\n \"default\": {\n  \"a\": {\"version\": \"==1\"},\n  \"b\\\"\": {}\n },\n \"develop\": {\"c\": {}}\n}\n";
        let lines = key_lines(text);
        assert_eq!(lines.get(&("default".into(), "a".into())), Some(&4));
        assert_eq!(lines.get(&("default".into(), "b\\\"".into())), Some(&5));
        assert_eq!(lines.get(&("develop".into(), "c".into())), Some(&7));
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn rejects_invalid_json() {
        let (line, message) = parse_error("{\n  \"_meta\": {\n    \"sources\": [,]\n");
        assert_eq!(line, 3);
        assert!(message.starts_with("invalid JSON: "), "{message}");
    }

    #[test]
    fn rejects_wrong_types() {
        let (line, message) = parse_error(
            "{\n  \"_meta\": {},\n  \"default\": {\n    \"numpy\": {\"version\": 1}\n  }\n}\n",
        );
        assert_eq!(line, 4);
        assert!(
            message.starts_with("expected a Pipfile.lock layout: invalid type"),
            "{message}"
        );

        let (line, message) = parse_error("{\"default\": {}}");
        assert_eq!(line, 1);
        assert!(message.contains("missing field `_meta`"), "{message}");
    }

    #[test]
    fn rejects_bad_versions_markers_and_indexes() {
        let lock = |entry: &str| {
            format!(
                "{{\n  \"_meta\": {{\"sources\": [{{\"name\": \"pypi\", \"url\": \"https://pypi.org/simple\", \"verify_ssl\": true}}]}},\n  \"default\": {{\n    \"numpy\": {entry}\n  }}\n}}\n"
            )
        };
        let (line, message) = parse_error(&lock("{\"version\": \"1.26.4\"}"));
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "expected `version` of `numpy` to be `==<version>`, found `1.26.4`"
        );

        let (line, message) =
            parse_error(&lock("{\"version\": \"==1\", \"markers\": \"os >> 'x'\"}"));
        assert_eq!(line, 4);
        assert!(
            message.starts_with("expected `markers` of `numpy`"),
            "{message}"
        );

        let (line, message) = parse_error(&lock("{\"version\": \"==1\", \"index\": \"private\"}"));
        assert_eq!(line, 4);
        assert!(message.contains("names no source"), "{message}");

        let (line, message) = parse_error(&lock("{\"hashes\": []}"));
        assert_eq!(line, 4);
        assert!(
            message.starts_with("package `numpy` has no `version`"),
            "{message}"
        );

        let project = parse(
            Path::new("Pipfile.lock"),
            lock("{\"version\": \">=1,<2\"}").as_bytes(),
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let numpy = project.package(PackageId(0));
        assert_eq!(numpy.version, None);
        assert_eq!(
            numpy.specifier,
            Some(VersionSpecifiers::from_str(">=1,<2").unwrap())
        );
        assert_eq!(project.package(project.roots[0]).name.as_ref(), "pipfile");
    }
}
