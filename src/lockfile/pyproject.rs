//! The `pyproject.toml` beside a lock that records no project of its own (PDM, pylock.toml).
//! PDM and pylock.toml do not lock the project itself; its name and requirements come from here,
//! so the audit can show the project's own `numpy<2`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep508_rs::PackageName;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, Deserializer};

use super::source::{Source, utf8};
use super::{DeclaredRequirement, DependencyKind, LockedPackage, LockfileError, PackageSource};

/// What the `pyproject.toml` beside a lock says about the project.
#[derive(Debug, Clone)]
pub(super) struct Pyproject {
    pub(super) name: Option<PackageName>,
    /// `[tool.pdm] distribution = false`: the project is not a package.
    pub(super) is_package: bool,
    pub(super) declared: Vec<DeclaredRequirement>,
    /// `[[tool.pdm.source]]` URLs, in the order written.
    pub(super) index_urls: Vec<String>,
}

impl Pyproject {
    /// The synthetic package standing for the project, when it has a name.
    pub(super) fn root(&self) -> Option<LockedPackage> {
        let name = self.name.clone()?;
        Some(LockedPackage {
            name,
            version: None,
            specifier: None,
            source: if self.is_package {
                PackageSource::Editable(".".to_string())
            } else {
                PackageSource::Virtual(".".to_string())
            },
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: self.declared.clone(),
            // The project has no entry in the lock; its requirements live in pyproject.toml.
            line: 1,
        })
    }
}

/// Read `pyproject.toml` from the lock's folder; `None` when there is none.
pub(super) fn read_pyproject(lock_path: &Path) -> Result<Option<Pyproject>, LockfileError> {
    match read_beside(lock_path)? {
        Some((path, bytes)) => parse_pyproject(&path, &bytes).map(Some),
        None => Ok(None),
    }
}

/// The path and bytes of the `pyproject.toml` in the lock's folder; `None` when there is none.
/// Poetry reads its own tables from the same file.
pub(super) fn read_beside(lock_path: &Path) -> Result<Option<(PathBuf, Vec<u8>)>, LockfileError> {
    let path = lock_path
        .parent()
        .unwrap_or(Path::new(""))
        .join("pyproject.toml");
    match std::fs::File::open(&path).and_then(super::read_limited) {
        Ok(bytes) => Ok(Some((path, bytes))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(LockfileError::Io { path, error }),
    }
}

#[derive(Deserialize)]
struct PyprojectWire {
    #[serde(default)]
    project: ProjectWire,
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<Spanned<String>, Vec<Spanned<GroupEntryWire>>>,
    #[serde(default)]
    tool: ToolWire,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProjectWire {
    name: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

/// A PEP 735 group entry: a requirement, or `{include-group = "…"}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum GroupEntryWire {
    Requirement(String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

#[derive(Default, Deserialize)]
struct ToolWire {
    #[serde(default)]
    pdm: PdmToolWire,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PdmToolWire {
    distribution: Option<bool>,
    #[serde(default)]
    dev_dependencies: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    source: Vec<PdmSourceWire>,
}

#[derive(Deserialize)]
struct PdmSourceWire {
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parse a `pyproject.toml`; `path` names it in messages.
pub(super) fn parse_pyproject(path: &Path, bytes: &[u8]) -> Result<Pyproject, LockfileError> {
    let text = utf8(path, bytes)?;
    let reader = Source::new(path, text);
    let document = DeTable::parse(text).map_err(|err| reader.syntax_error(&err))?;
    let wire = PyprojectWire::deserialize(Deserializer::from(document))
        .map_err(|err| reader.schema_error(&err))?;

    let name = wire
        .project
        .name
        .as_ref()
        .map(|raw| reader.package_name(raw, "name"))
        .transpose()?;
    let requirement = |raw: &Spanned<String>| {
        crate::requirement::parse(raw.get_ref()).map_err(|err| {
            reader.error_at(
                raw,
                format!(
                    "expected a PEP 508 requirement, found `{}`: {}",
                    raw.get_ref(),
                    err
                ),
            )
        })
    };

    let mut declared = Vec::new();
    for raw in &wire.project.dependencies {
        declared.push(DeclaredRequirement {
            requirement: requirement(raw)?,
            via: DependencyKind::Normal,
        });
    }
    for (extra, requirements) in &wire.project.optional_dependencies {
        let extra = reader.extra_name(extra)?;
        for raw in requirements {
            declared.push(DeclaredRequirement {
                requirement: requirement(raw)?,
                via: DependencyKind::Extra(extra.clone()),
            });
        }
    }
    for (group, requirements) in &wire.tool.pdm.dev_dependencies {
        let group = reader.group_name(group)?;
        for raw in requirements {
            // PDM allows editable lines (`-e file:///…`) here; they name a path, not a release.
            if raw.get_ref().trim_start().starts_with("-e") {
                continue;
            }
            declared.push(DeclaredRequirement {
                requirement: requirement(raw)?,
                via: DependencyKind::Group(group.clone()),
            });
        }
    }
    let groups: BTreeMap<String, &Vec<Spanned<GroupEntryWire>>> = wire
        .dependency_groups
        .iter()
        .map(|(name, entries)| Ok((reader.group_name(name)?, entries)))
        .collect::<Result<_, LockfileError>>()?;
    for (group, entries) in &groups {
        // Walk `include-group` entries; a group is read once, so a cycle ends.
        let mut seen = vec![group.clone()];
        let mut stack: Vec<&Spanned<GroupEntryWire>> = entries.iter().rev().collect();
        while let Some(entry) = stack.pop() {
            match entry.get_ref() {
                GroupEntryWire::Requirement(text) => {
                    let raw = Spanned::new(entry.span(), text.clone());
                    declared.push(DeclaredRequirement {
                        requirement: requirement(&raw)?,
                        via: DependencyKind::Group(group.clone()),
                    });
                }
                GroupEntryWire::Include { include_group } => {
                    let included =
                        reader.group_name(&Spanned::new(entry.span(), include_group.clone()))?;
                    let Some(entries) = groups.get(&included) else {
                        return Err(reader.error_at(
                            entry,
                            format!("`include-group = \"{included}\"` names no dependency group"),
                        ));
                    };
                    if !seen.contains(&included) {
                        seen.push(included);
                        stack.extend(entries.iter().rev());
                    }
                }
            }
        }
    }

    let index_urls = wire
        .tool
        .pdm
        .source
        .iter()
        // `find_links` sources are not Simple API indexes.
        .filter(|source| source.kind.as_deref().is_none_or(|kind| kind == "index"))
        .filter_map(|source| source.url.clone())
        .collect();
    Ok(Pyproject {
        name,
        is_package: wire.tool.pdm.distribution.unwrap_or(true),
        declared,
        index_urls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (`fuzz/`, target `pyproject`): a requirement whose name ends in a
    /// separator made pep508_rs panic instead of failing.
    #[test]
    fn a_name_ending_in_a_separator_is_a_parse_error() {
        let text = b"[project]\nname = \"app\"\ndependencies = [\"scikit-~earn>=1.5\"]\n";
        let error = parse_pyproject(Path::new("pyproject.toml"), text).unwrap_err();
        assert!(
            error.to_string().starts_with("pyproject.toml:3: "),
            "{error}"
        );
    }
}
