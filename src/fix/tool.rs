//! How the project's own tool spells a change: the upgrade commands and the `numpy<2` pin,
//! for uv, poetry, pdm, pipenv, pip-compile / `uv pip compile`, and plain requirement files.

use serde::Serialize;

use super::{Change, ProjectChange};
use crate::lockfile::{LockFormat, LockedProject};

/// The tool that owns the lockfile, and how to regenerate a file it exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub kind: ToolKind,
    /// The command that wrote an exported or compiled file, re-run after the lock changes.
    pub regenerate: Option<String>,
    /// The lockfile's name, for edits to a plain requirements file.
    pub file: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolKind {
    Uv,
    UvPipCompile,
    PipCompile,
    Poetry,
    Pdm,
    Pipenv,
    /// A requirements file or pylock.toml that no known tool claims: edited by hand.
    Requirements,
    /// An installed environment, or releases named on the command line.
    Pip,
}

/// The pin, spelled for the tool: what to write where, and what to run after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinSpelling {
    pub file: String,
    pub snippet: String,
    pub commands: Vec<String>,
}

impl Tool {
    /// The tool behind `project`, from its format and the header of a generated file.
    pub fn of(project: &LockedProject) -> Tool {
        let generated = project.generated_by.clone();
        let by = |prefix: &str| {
            generated
                .as_deref()
                .is_some_and(|command| command.starts_with(prefix))
        };
        let kind = match project.format {
            LockFormat::UvLock => ToolKind::Uv,
            LockFormat::PoetryLock => ToolKind::Poetry,
            LockFormat::PdmLock => ToolKind::Pdm,
            LockFormat::PipfileLock => ToolKind::Pipenv,
            LockFormat::Installed => ToolKind::Pip,
            LockFormat::Requirements | LockFormat::Pylock if by("uv export") => ToolKind::Uv,
            LockFormat::Requirements | LockFormat::Pylock if by("uv pip compile") => {
                ToolKind::UvPipCompile
            }
            LockFormat::Requirements if by("pip-compile") => ToolKind::PipCompile,
            LockFormat::Requirements | LockFormat::Pylock => ToolKind::Requirements,
        };
        let regenerate = match kind {
            ToolKind::Uv | ToolKind::UvPipCompile | ToolKind::PipCompile => generated,
            _ => None,
        };
        let file = project
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "requirements.txt".to_string());
        Tool {
            kind,
            regenerate,
            file,
        }
    }

    /// Releases given on the command line: plain pip.
    pub fn pip() -> Tool {
        Tool {
            kind: ToolKind::Pip,
            regenerate: None,
            file: String::new(),
        }
    }

    /// The commands (or, for a hand-kept file, the edits) that make `changes`.
    pub fn upgrade_commands(&self, changes: &[Change]) -> Vec<String> {
        if changes.is_empty() {
            return Vec::new();
        }
        let (direct, mut transitive): (Vec<&Change>, Vec<&Change>) = changes
            .iter()
            .partition(|change| change.project_requirement.is_some());
        // A rewritten requirement that still admits the locked release (`numpy>=1.20` for
        // `numpy>=1.20,<2`) does not move the lock by itself: upgrade that package too.
        transitive.extend(direct.iter().filter(|change| admits_locked(change)));
        let mut commands = match self.kind {
            ToolKind::Uv => {
                let mut commands = add_commands("uv add", &direct, uv_group_flag);
                let upgrades: Vec<String> = transitive
                    .iter()
                    .map(|change| format!("--upgrade-package {}", quote(&change.exact())))
                    .collect();
                if !upgrades.is_empty() {
                    commands.push(format!("uv lock {}", upgrades.join(" ")));
                }
                commands
            }
            ToolKind::Poetry => {
                let mut commands = add_commands("poetry add", &direct, uv_group_flag);
                // `poetry update` moves a package to the newest release the tree allows; where
                // that is not the release found ready, only `add` can hold it there.
                let (bounded, free): (Vec<&Change>, Vec<&Change>) = transitive
                    .iter()
                    .partition(|change| change.below.is_some() || change.exact);
                if !free.is_empty() {
                    let names: Vec<&str> = free.iter().map(|c| c.package.as_str()).collect();
                    commands.push(format!("poetry update {}", names.join(" ")));
                }
                for change in bounded {
                    let requirement = if change.exact {
                        change.exact()
                    } else {
                        change.requirement.clone()
                    };
                    commands.push(format!("poetry add {}", quote(&requirement)));
                }
                commands
            }
            // `pdm update` refuses packages the project does not list; a transitive one is
            // raised by adding it as a requirement.
            ToolKind::Pdm => {
                let mut commands = add_commands("pdm add", &direct, pdm_group_flag);
                commands.extend(update_then_raise(&transitive, "pdm update", "pdm add"));
                commands
            }
            ToolKind::Pipenv => {
                let mut commands = add_commands("pipenv install", &direct, pipenv_group_flag);
                commands.extend(update_then_raise(
                    &transitive,
                    "pipenv update",
                    "pipenv upgrade",
                ));
                commands
            }
            ToolKind::UvPipCompile | ToolKind::PipCompile => {
                let base = self.regenerate.clone().unwrap_or_else(|| match self.kind {
                    ToolKind::UvPipCompile => "uv pip compile requirements.in".to_string(),
                    _ => "pip-compile requirements.in".to_string(),
                });
                // The compiler's input holds the project's own requirements: those change
                // there first, then the file is compiled again with the rest upgraded.
                let input = base
                    .split_whitespace()
                    .find(|word| word.ends_with(".toml") || word.ends_with(".in"))
                    .unwrap_or("the input file")
                    .to_string();
                let mut commands: Vec<String> = direct
                    .iter()
                    .filter_map(|change| {
                        let current = &change.project_requirement.as_ref()?.current;
                        Some(format!(
                            "edit {input}: replace `{current}` with `{}`",
                            change.requirement
                        ))
                    })
                    .collect();
                let upgrades: Vec<String> = transitive
                    .iter()
                    .map(|change| format!("--upgrade-package {}", quote(&change.exact())))
                    .collect();
                commands.push(if upgrades.is_empty() {
                    base
                } else {
                    format!("{base} {}", upgrades.join(" "))
                });
                return commands;
            }
            ToolKind::Requirements => {
                return changes
                    .iter()
                    .map(|change| {
                        let place = match change.line {
                            Some(line) => format!("{}:{line}", self.file),
                            None => self.file.clone(),
                        };
                        match &change.from {
                            Some(from) => format!(
                                "{place}: replace `{}=={from}` with `{}`",
                                change.package,
                                change.exact()
                            ),
                            None => format!("{place}: add `{}`", change.exact()),
                        }
                    })
                    .collect();
            }
            ToolKind::Pip => {
                let requirements: Vec<String> = changes
                    .iter()
                    .map(|change| quote(&change.exact()))
                    .collect();
                return vec![format!("pip install {}", requirements.join(" "))];
            }
        };
        if let Some(regenerate) = &self.regenerate {
            commands.push(regenerate.clone());
        }
        commands
    }

    /// The pin `requirement` (e.g. `numpy<2`) the way the tool keeps it.
    pub fn pin(&self, requirement: &str) -> PinSpelling {
        let (name, specifier) = split_requirement(requirement);
        let constraints = |commands: Vec<String>| PinSpelling {
            file: "constraints.txt".to_string(),
            snippet: format!("{requirement}\n"),
            commands,
        };
        let mut spelling = match self.kind {
            ToolKind::Uv => PinSpelling {
                file: "pyproject.toml".to_string(),
                snippet: format!("[tool.uv]\nconstraint-dependencies = [\"{requirement}\"]\n"),
                commands: vec!["uv lock".to_string()],
            },
            ToolKind::Poetry => PinSpelling {
                file: "pyproject.toml".to_string(),
                snippet: format!("[tool.poetry.dependencies]\n{name} = \"{specifier}\"\n"),
                commands: vec![format!("poetry add {}", quote(requirement))],
            },
            ToolKind::Pdm => PinSpelling {
                file: "pyproject.toml".to_string(),
                snippet: format!("[tool.pdm.resolution.overrides]\n{name} = \"{specifier}\"\n"),
                commands: vec!["pdm lock".to_string()],
            },
            ToolKind::Pipenv => PinSpelling {
                file: "Pipfile".to_string(),
                snippet: format!("[packages]\n{name} = \"{specifier}\"\n"),
                commands: vec!["pipenv lock".to_string()],
            },
            ToolKind::UvPipCompile | ToolKind::PipCompile => {
                let base = self.regenerate.clone().unwrap_or_else(|| match self.kind {
                    ToolKind::UvPipCompile => "uv pip compile requirements.in".to_string(),
                    _ => "pip-compile requirements.in".to_string(),
                });
                return constraints(vec![format!("{base} --constraint constraints.txt")]);
            }
            ToolKind::Requirements => {
                return constraints(vec![format!(
                    "pip install -r {} --constraint constraints.txt",
                    self.file
                )]);
            }
            ToolKind::Pip => {
                return constraints(vec![format!(
                    "pip install {} --constraint constraints.txt",
                    quote(requirement)
                )]);
            }
        };
        if let Some(regenerate) = &self.regenerate {
            spelling.commands.push(regenerate.clone());
        }
        spelling
    }
}

/// For tools that only update what the project lists: `update` for the project's own
/// requirements that still admit the locked release, `raise` with the new requirement for the
/// rest (exactly the release found ready, where the tool left free would take another).
fn update_then_raise(changes: &[&Change], update: &str, raise: &str) -> Vec<String> {
    let (listed, unlisted): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|change| change.project_requirement.is_some() && !change.exact);
    let mut commands = Vec::new();
    if !listed.is_empty() {
        let names: Vec<&str> = listed.iter().map(|c| c.package.as_str()).collect();
        commands.push(format!("{update} {}", names.join(" ")));
    }
    if !unlisted.is_empty() {
        let requirements: Vec<String> = unlisted
            .iter()
            .map(|change| {
                quote(&if change.exact {
                    change.exact()
                } else {
                    change.requirement.clone()
                })
            })
            .collect();
        commands.push(format!("{raise} {}", requirements.join(" ")));
    }
    commands
}

/// One add command per place the project declares the changed requirements.
fn add_commands(
    program: &str,
    direct: &[&Change],
    flag: fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut places: Vec<&str> = direct
        .iter()
        .filter_map(|change| change.project_requirement.as_ref())
        .map(|requirement: &ProjectChange| requirement.declared_in.as_str())
        .collect();
    places.sort();
    places.dedup();
    places
        .into_iter()
        .map(|place| {
            let requirements: Vec<String> = direct
                .iter()
                .filter(|change| {
                    change
                        .project_requirement
                        .as_ref()
                        .is_some_and(|r| r.declared_in == place)
                })
                .map(|change| quote(&change.requirement))
                .collect();
            let flag = flag(place).map(|f| format!(" {f}")).unwrap_or_default();
            format!("{program}{flag} {}", requirements.join(" "))
        })
        .collect()
}

/// uv and poetry spell both the same way: `--optional EXTRA`, `--group GROUP`.
fn uv_group_flag(place: &str) -> Option<String> {
    if let Some(extra) = place.strip_prefix("extra:") {
        Some(format!("--optional {extra}"))
    } else {
        place
            .strip_prefix("group:")
            .map(|group| format!("--group {group}"))
    }
}

fn pdm_group_flag(place: &str) -> Option<String> {
    if let Some(extra) = place.strip_prefix("extra:") {
        Some(format!("-G {extra}"))
    } else {
        place
            .strip_prefix("group:")
            .map(|group| format!("-dG {group}"))
    }
}

fn pipenv_group_flag(place: &str) -> Option<String> {
    match place.strip_prefix("group:") {
        Some("develop" | "dev") => Some("--dev".to_string()),
        Some(group) => Some(format!("--categories {group}")),
        None => None,
    }
}

/// Whether the change's new requirement still admits the release locked today.
fn admits_locked(change: &Change) -> bool {
    let Some(from) = change
        .from
        .as_deref()
        .and_then(|v| v.parse::<pep440_rs::Version>().ok())
    else {
        return false;
    };
    match crate::requirement::parse(&change.requirement) {
        Ok(requirement) => match requirement.version_or_url {
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => {
                specifiers.contains(&from)
            }
            _ => true,
        },
        Err(_) => false,
    }
}

/// Quote a requirement for a POSIX shell when it has characters the shell would read.
fn quote(requirement: &str) -> String {
    if requirement
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '[' | ']'))
    {
        requirement.to_string()
    } else {
        format!("\"{requirement}\"")
    }
}

/// `numpy<2` → (`numpy`, `<2`).
fn split_requirement(requirement: &str) -> (&str, &str) {
    let split = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    (&requirement[..split], requirement[split..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(kind: ToolKind, regenerate: Option<&str>) -> Tool {
        Tool {
            kind,
            regenerate: regenerate.map(str::to_string),
            file: "requirements.txt".to_string(),
        }
    }

    fn change(package: &str, from: &str, to: &str, direct: Option<(&str, &str)>) -> Change {
        Change {
            package: package.to_string(),
            from: Some(from.to_string()),
            to: to.to_string(),
            below: None,
            requirement: match direct {
                Some((current, _)) if current.contains("==") => format!("{package}=={to}"),
                _ => format!("{package}>={to}"),
            },
            reason: "blocker".to_string(),
            project_requirement: direct.map(|(current, place)| ProjectChange {
                current: current.to_string(),
                declared_in: place.to_string(),
            }),
            line: Some(12),
            exact: false,
        }
    }

    #[test]
    fn uv_adds_direct_requirements_and_upgrades_the_rest_exactly() {
        let changes = [
            change("scipy", "1.11.4", "1.13.0", Some(("scipy==1.11.4", "main"))),
            change("pytest-x", "1.0", "2.0", Some(("pytest-x<2", "group:dev"))),
            change("bottleneck", "1.3.7", "1.4.0", None),
            change("contourpy", "1.0.0", "1.2.1", None),
        ];
        assert_eq!(
            tool(ToolKind::Uv, None).upgrade_commands(&changes),
            [
                "uv add --group dev \"pytest-x>=2.0\"",
                "uv add scipy==1.13.0",
                "uv lock --upgrade-package bottleneck==1.4.0 --upgrade-package contourpy==1.2.1",
            ]
        );
        // A file `uv export` wrote is exported again after the lock changes.
        let exported = tool(ToolKind::Uv, Some("uv export --frozen -o requirements.txt"));
        assert_eq!(
            exported.upgrade_commands(&changes[2..3]),
            [
                "uv lock --upgrade-package bottleneck==1.4.0",
                "uv export --frozen -o requirements.txt"
            ]
        );
    }

    #[test]
    fn poetry_updates_unless_a_regression_needs_a_bound() {
        let mut bounded = change("regress", "1.0", "1.1", None);
        bounded.below = Some("1.3".to_string());
        bounded.requirement = "regress>=1.1,<1.3".to_string();
        let changes = [
            change("bottleneck", "1.3.7", "1.4.0", None),
            bounded,
            change("scipy", "1.11.4", "1.13.0", Some(("scipy==1.11.4", "main"))),
        ];
        assert_eq!(
            tool(ToolKind::Poetry, None).upgrade_commands(&changes),
            [
                "poetry add scipy==1.13.0",
                "poetry update bottleneck",
                "poetry add \"regress>=1.1,<1.3\"",
            ]
        );
    }

    #[test]
    fn compiled_files_are_compiled_again_with_upgrade_packages() {
        let changes = [change("bottleneck", "1.3.7", "1.4.0", None)];
        assert_eq!(
            tool(
                ToolKind::UvPipCompile,
                Some("uv pip compile pyproject.toml -o requirements.txt")
            )
            .upgrade_commands(&changes),
            [
                "uv pip compile pyproject.toml -o requirements.txt --upgrade-package bottleneck==1.4.0"
            ]
        );
        let direct = [
            change("scipy", "1.11.4", "1.13.0", Some(("scipy==1.11.4", "main"))),
            change("bottleneck", "1.3.7", "1.4.0", None),
        ];
        let mut numpy = change("numpy", "1.26.4", "2.2.6", Some(("numpy>=1.20,<2", "main")));
        numpy.requirement = "numpy>=1.20".to_string();
        assert_eq!(
            tool(ToolKind::Uv, None).upgrade_commands(&[numpy]),
            [
                "uv add \"numpy>=1.20\"",
                "uv lock --upgrade-package numpy==2.2.6"
            ]
        );
        assert_eq!(
            tool(
                ToolKind::PipCompile,
                Some("pip-compile -o requirements.txt pyproject.toml")
            )
            .upgrade_commands(&direct),
            [
                "edit pyproject.toml: replace `scipy==1.11.4` with `scipy==1.13.0`",
                "pip-compile -o requirements.txt pyproject.toml --upgrade-package bottleneck==1.4.0",
            ]
        );
        assert_eq!(
            tool(ToolKind::Requirements, None).upgrade_commands(&changes),
            ["requirements.txt:12: replace `bottleneck==1.3.7` with `bottleneck==1.4.0`"]
        );
        assert_eq!(
            tool(ToolKind::Pdm, None).upgrade_commands(&changes),
            ["pdm add \"bottleneck>=1.4.0\""]
        );
        assert_eq!(
            Tool::pip().upgrade_commands(&changes),
            ["pip install bottleneck==1.4.0"]
        );
    }

    #[test]
    fn pins_are_spelled_where_each_tool_keeps_constraints() {
        let uv = tool(ToolKind::Uv, None).pin("numpy<2");
        assert_eq!(uv.file, "pyproject.toml");
        assert_eq!(
            uv.snippet,
            "[tool.uv]\nconstraint-dependencies = [\"numpy<2\"]\n"
        );
        assert_eq!(uv.commands, ["uv lock"]);
        let poetry = tool(ToolKind::Poetry, None).pin("numpy<2");
        assert_eq!(
            poetry.snippet,
            "[tool.poetry.dependencies]\nnumpy = \"<2\"\n"
        );
        assert_eq!(poetry.commands, ["poetry add \"numpy<2\""]);
        let pdm = tool(ToolKind::Pdm, None).pin("numpy<2.1");
        assert_eq!(
            pdm.snippet,
            "[tool.pdm.resolution.overrides]\nnumpy = \"<2.1\"\n"
        );
        let compiled =
            tool(ToolKind::PipCompile, Some("pip-compile requirements.in")).pin("numpy<2");
        assert_eq!(compiled.file, "constraints.txt");
        assert_eq!(compiled.snippet, "numpy<2\n");
        assert_eq!(
            compiled.commands,
            ["pip-compile requirements.in --constraint constraints.txt"]
        );
        assert_eq!(
            tool(ToolKind::Pipenv, None).pin("numpy<2").snippet,
            "[packages]\nnumpy = \"<2\"\n"
        );
    }
}
