//! One set of changes that makes every environment of a universal lock ready: each
//! environment's resolution (its own [`Readiness`]), merged. Where environments need different
//! releases of a package the higher one is taken, and the report says so: a universal lock holds
//! one release per package unless the tool forks it by marker, so the lower environment must be
//! checked against it (and for numpy, whose default target follows the Python version, the
//! merged target is the highest).

use std::str::FromStr;

use pep440_rs::Version;
use serde::Serialize;

use super::tool::Tool;
use super::{Change, Readiness, ReadinessStatus};

/// The answer for every environment at once.
#[derive(Debug, Clone, Serialize)]
pub struct MergedFix {
    /// `ready` (nothing to change anywhere), `ready-after-upgrades` (the changes below make
    /// every environment ready), `blocked`, `incomplete` or `broken`: the worst environment's.
    pub status: &'static str,
    /// Every package to move in some environment, at the highest release any one needs, numpy
    /// last.
    pub changes: Vec<MergedChange>,
    /// The commands that make them, spelled for the lock's tool.
    pub commands: Vec<String>,
    /// What the commands leave out, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Environments that no change makes ready, with what blocks them.
    pub blocked: Vec<BlockedEnvironment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergedChange {
    pub package: String,
    pub from: Option<String>,
    pub to: String,
    /// The environments that need the move.
    pub environments: Vec<String>,
    /// Set when the environments need different releases: each environment with its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<EnvironmentVersion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentVersion {
    pub environment: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockedEnvironment {
    pub environment: String,
    pub status: &'static str,
    pub blocked_by: Vec<String>,
}

/// How bad an environment's readiness is, for the worst across them.
fn rank(status: ReadinessStatus) -> u8 {
    match status {
        ReadinessStatus::Ready => 0,
        ReadinessStatus::ReadyAfterUpgrades => 1,
        ReadinessStatus::Incomplete => 2,
        ReadinessStatus::Blocked => 3,
        ReadinessStatus::Broken => 4,
    }
}

/// One environment's answer, as the merge takes it.
pub struct EnvironmentReadiness<'a> {
    /// How reports name the environment (`linux / 3.12`).
    pub label: String,
    /// The NumPy it was judged against.
    pub target: &'a str,
    pub readiness: &'a Readiness,
}

/// Merge the environments' readiness into one answer for `tool`.
pub fn merge(environments: &[EnvironmentReadiness], tool: &Tool) -> MergedFix {
    let worst = environments
        .iter()
        .map(|environment| environment.readiness.status)
        .max_by_key(|&status| rank(status))
        .unwrap_or(ReadinessStatus::Ready);
    // Per package, in the order first seen (each readiness lists numpy last).
    let mut merged: Vec<(Change, Vec<EnvironmentVersion>)> = Vec::new();
    let mut blocked = Vec::new();
    for EnvironmentReadiness {
        label, readiness, ..
    } in environments
    {
        if matches!(
            readiness.status,
            ReadinessStatus::Blocked | ReadinessStatus::Incomplete | ReadinessStatus::Broken
        ) {
            blocked.push(BlockedEnvironment {
                environment: label.clone(),
                status: readiness.status.as_str(),
                blocked_by: readiness
                    .blocked_by
                    .iter()
                    .chain(&readiness.unverified)
                    .cloned()
                    .collect(),
            });
        }
        for change in &readiness.changes {
            let wanted = EnvironmentVersion {
                environment: label.clone(),
                version: change.to.clone(),
            };
            match merged.iter_mut().find(|(c, _)| c.package == change.package) {
                Some((kept, wants)) => {
                    if release_order(&change.to) > release_order(&kept.to) {
                        *kept = change.clone();
                    }
                    wants.push(wanted);
                }
                None => merged.push((change.clone(), vec![wanted])),
            }
        }
    }
    // numpy last, as in each environment's list.
    merged.sort_by_key(|(change, _)| change.package == "numpy");
    // The default target follows the Python version, and what the newest Python's target needs
    // may not install on the oldest Python (NumPy 2.5 and pandas 3.0 need 3.11 or later): with
    // targets that differ, no one set of commands is sure to serve every environment. A run with
    // one --target for all gives one.
    let mut targets: Vec<&str> = environments.iter().map(|e| e.target).collect();
    targets.sort_by_key(|target| release_order(target));
    targets.dedup();
    let mut notes = Vec::new();
    let commands = if let [lowest, .., highest] = targets[..] {
        notes.push(format!(
            "the environments' target numpy differs ({lowest} to {highest}: it follows the \
             Python version), and a release one environment needs may not install on another's \
             Python: no commands are given for all; run again with --target {lowest} to judge \
             every environment against a numpy they can all install"
        ));
        Vec::new()
    } else {
        tool.upgrade_commands(
            &merged
                .iter()
                .map(|(change, _)| change.clone())
                .collect::<Vec<_>>(),
        )
    };
    let changes = merged
        .into_iter()
        .map(|(change, wants)| {
            let differs = if wants.iter().all(|w| w.version == change.to) {
                Vec::new()
            } else {
                wants.clone()
            };
            MergedChange {
                package: change.package,
                from: change.from,
                to: change.to,
                environments: wants.into_iter().map(|w| w.environment).collect(),
                differs,
            }
        })
        .collect();
    MergedFix {
        status: worst.as_str(),
        changes,
        commands,
        notes,
        blocked,
    }
}

/// How releases order: by PEP 440 (a version that does not parse before every one that does),
/// then as text.
fn release_order(version: &str) -> (Option<Version>, &str) {
    (Version::from_str(version).ok(), version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::tool::ToolKind;

    fn change(package: &str, from: &str, to: &str) -> Change {
        Change {
            package: package.into(),
            from: Some(from.into()),
            to: to.into(),
            below: None,
            requirement: format!("{package}=={to}"),
            reason: "blocker".into(),
            project_requirement: None,
            line: None,
            exact: false,
        }
    }

    fn readiness(status: ReadinessStatus, changes: Vec<Change>, blocked_by: &[&str]) -> Readiness {
        Readiness {
            status,
            message: String::new(),
            changes,
            commands: Vec::new(),
            blocked_by: blocked_by.iter().map(|s| s.to_string()).collect(),
            unverified: Vec::new(),
            resolution: None,
        }
    }

    fn at<'a>(label: &str, target: &'a str, readiness: &'a Readiness) -> EnvironmentReadiness<'a> {
        EnvironmentReadiness {
            label: label.into(),
            target,
            readiness,
        }
    }

    fn uv() -> Tool {
        Tool {
            kind: ToolKind::Uv,
            regenerate: None,
            file: "uv.lock".into(),
        }
    }

    #[test]
    fn the_higher_release_wins_and_the_difference_is_named() {
        let linux = readiness(
            ReadinessStatus::ReadyAfterUpgrades,
            vec![
                change("speedup", "1.0.0", "2.0.0"),
                change("numpy", "1.26.4", "2.2.6"),
            ],
            &[],
        );
        let macos = readiness(
            ReadinessStatus::ReadyAfterUpgrades,
            vec![
                change("speedup", "1.0.0", "2.1.0"),
                change("scipy", "1.11.4", "1.13.0"),
                change("numpy", "1.26.4", "2.2.6"),
            ],
            &[],
        );
        let merged = merge(
            &[
                at("linux / 3.10", "2.2.6", &linux),
                at("macos / 3.10", "2.2.6", &macos),
            ],
            &uv(),
        );
        assert_eq!(merged.status, "ready-after-upgrades");
        let names: Vec<(&str, &str)> = merged
            .changes
            .iter()
            .map(|c| (c.package.as_str(), c.to.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("speedup", "2.1.0"),
                ("scipy", "1.13.0"),
                ("numpy", "2.2.6")
            ]
        );
        let speedup = &merged.changes[0];
        assert_eq!(speedup.environments, ["linux / 3.10", "macos / 3.10"]);
        assert_eq!(speedup.differs.len(), 2);
        assert_eq!(speedup.differs[0].version, "2.0.0");
        assert!(merged.changes[1].differs.is_empty());
        assert_eq!(merged.changes[1].environments, ["macos / 3.10"]);
        let commands = merged.commands.join("\n");
        assert!(commands.contains("speedup==2.1.0"), "{commands}");
        assert!(commands.contains("scipy==1.13.0"), "{commands}");
        assert!(merged.blocked.is_empty());
    }

    #[test]
    fn targets_that_differ_by_python_give_no_commands_for_all() {
        // 3.10 is ready at 2.2.6 and names no numpy change; 3.12 moves to 2.5.5, which does not
        // install on 3.10 (modern-numpy2's pdm.lock gave `pdm add ... "numpy>=2.5.5"`).
        let older = readiness(ReadinessStatus::Ready, Vec::new(), &[]);
        let newer = readiness(
            ReadinessStatus::ReadyAfterUpgrades,
            vec![
                change("speedup", "1.0.0", "2.0.0"),
                change("numpy", "2.2.6", "2.5.5"),
            ],
            &[],
        );
        let merged = merge(
            &[
                at("linux / 3.10", "2.2.6", &older),
                at("linux / 3.12", "2.5.5", &newer),
            ],
            &uv(),
        );
        assert!(merged.commands.is_empty(), "{:?}", merged.commands);
        assert_eq!(merged.changes.len(), 2);
        assert_eq!(merged.notes.len(), 1);
        assert!(
            merged.notes[0].contains("2.2.6 to 2.5.5")
                && merged.notes[0].contains("--target 2.2.6"),
            "{:?}",
            merged.notes
        );
    }

    #[test]
    fn a_blocked_environment_makes_the_whole_answer_blocked() {
        let ready = readiness(ReadinessStatus::Ready, Vec::new(), &[]);
        let blocked = readiness(ReadinessStatus::Blocked, Vec::new(), &["oldcap"]);
        let merged = merge(
            &[
                at("linux / 3.12", "2.5.5", &ready),
                at("windows / 3.12", "2.5.5", &blocked),
            ],
            &uv(),
        );
        assert_eq!(merged.status, "blocked");
        assert_eq!(merged.blocked.len(), 1);
        assert_eq!(merged.blocked[0].environment, "windows / 3.12");
        assert_eq!(merged.blocked[0].blocked_by, ["oldcap"]);
        assert!(merged.commands.is_empty());
    }
}
