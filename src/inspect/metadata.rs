//! Core metadata (`METADATA`, PEP 566): the fields np2audit needs, and the declared check —
//! does the package's requirement on numpy admit the target version?

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName, VersionOrUrl};

/// The fields of a METADATA file that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
}

/// Read the header block of a METADATA file (RFC 822 style: `Key: value`, continuation lines
/// start with whitespace, a blank line ends the headers).
pub fn parse_core_metadata(text: &str) -> CoreMetadata {
    let mut metadata = CoreMetadata::default();
    // Only the fields kept are copied: other headers (a description, keywords) may run to
    // megabytes.
    let mut current: Option<(&'static str, String)> = None;
    let finish = |field: Option<(&'static str, String)>, metadata: &mut CoreMetadata| {
        let Some((key, value)) = field else { return };
        let value = value.trim().to_string();
        match key {
            "name" => metadata.name = Some(value),
            "version" => metadata.version = Some(value),
            "requires-python" => metadata.requires_python = Some(value),
            _ => metadata.requires_dist.push(value),
        }
    };
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        finish(current.take(), &mut metadata);
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim();
            let kept = ["name", "version", "requires-python", "requires-dist"]
                .into_iter()
                .find(|field| key.eq_ignore_ascii_case(field));
            current = kept.map(|field| (field, value.to_string()));
        }
    }
    finish(current, &mut metadata);
    metadata
}

/// What a package declares about numpy, for one environment and target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredNumpy {
    /// `Requires-Dist` lines on numpy whose markers hold in the environment, as written.
    pub applicable: Vec<String>,
    /// Those of them whose specifier excludes the target.
    pub excluding: Vec<String>,
    /// Lines on numpy that only apply with extras nobody asked for, or elsewhere.
    pub inactive: Vec<String>,
    /// Lines naming numpy that did not parse as PEP 508 (reported, never ignored silently).
    pub unparsable: Vec<String>,
}

impl DeclaredNumpy {
    pub fn requires_numpy(&self) -> bool {
        !self.applicable.is_empty()
    }
}

/// Evaluate every `Requires-Dist` on numpy against the environment, the extras the lock
/// activates for this package, and the target NumPy version.
pub fn check_declared(
    requires_dist: &[String],
    environment: &MarkerEnvironment,
    extras: &[ExtraName],
    target: &Version,
) -> DeclaredNumpy {
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");
    let mut declared = DeclaredNumpy::default();
    for line in requires_dist {
        // Through the panic-free parser: METADATA comes from the network, read lossily.
        let parsed = crate::requirement::parse(line);
        let requirement = match parsed {
            Ok(requirement) => requirement,
            Err(_) => {
                if names_numpy(line) {
                    declared.unparsable.push(line.clone());
                }
                continue;
            }
        };
        if requirement.name != numpy {
            continue;
        }
        if !requirement.marker.evaluate(environment, extras) {
            declared.inactive.push(line.clone());
            continue;
        }
        declared.applicable.push(line.clone());
        if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url
            && !admits(specifiers, target)
        {
            declared.excluding.push(line.clone());
        }
    }
    declared
}

/// Whether `specifiers` admit `target`. A bare `numpy<2` excludes 2.0.0 and every 2.x.
pub fn admits(specifiers: &VersionSpecifiers, target: &Version) -> bool {
    specifiers.contains(target)
}

fn names_numpy(line: &str) -> bool {
    let name: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    name.eq_ignore_ascii_case("numpy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::TargetEnvironment;
    use std::str::FromStr;

    fn env(python: &str) -> TargetEnvironment {
        TargetEnvironment::new(python.parse().unwrap(), "linux".parse().unwrap())
    }

    #[test]
    fn reads_headers_with_continuations_and_stops_at_the_body() {
        let text = "Metadata-Version: 2.1\nName: pandas\nVersion: 2.0.3\nRequires-Python: >=3.8\n\
                    Requires-Dist: numpy (>=1.21.0) ; python_version >= \"3.10\"\nSummary: long\n  continued\n\
                    Requires-Dist: pytz\n\nRequires-Dist: not-a-header-but-body\n";
        let metadata = parse_core_metadata(text);
        assert_eq!(metadata.name.as_deref(), Some("pandas"));
        assert_eq!(metadata.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(
            metadata.requires_dist,
            vec!["numpy (>=1.21.0) ; python_version >= \"3.10\"", "pytz"]
        );
    }

    #[test]
    fn caps_are_found_with_markers_and_extras_applied() {
        let target = Version::from_str("2.2.6").unwrap();
        let lines: Vec<String> = [
            "numpy <2,>=1.20",
            "numpy>=1.17 ; python_version < \"3.10\"",
            "numpy<1.28.0,>=1.21.6",
            "numpy ; extra == \"test\"",
            "numpy (>=1.23.2) ; python_version >= \"3.11\"",
            "numpy-financial<2",
            "numpy >= 1.20 ; !!! broken",
        ]
        .map(String::from)
        .to_vec();
        let declared = check_declared(&lines, env("3.11").markers(), &[], &target);
        assert_eq!(
            declared.excluding,
            vec!["numpy <2,>=1.20", "numpy<1.28.0,>=1.21.6"]
        );
        assert_eq!(declared.applicable.len(), 3);
        assert_eq!(declared.inactive.len(), 2);
        assert_eq!(declared.unparsable, vec!["numpy >= 1.20 ; !!! broken"]);

        let test = ExtraName::from_str("test").unwrap();
        let with_extra = check_declared(&lines[3..4], env("3.11").markers(), &[test], &target);
        assert!(with_extra.requires_numpy());
        assert!(with_extra.excluding.is_empty());
    }

    /// Found by fuzzing (`fuzz/`, targets `pyproject`, `metadata` and `lock_detect`): pep508_rs
    /// 0.9 panics on a name ending in a separator, so one such `Requires-Dist` would abort the
    /// audit.
    #[test]
    fn names_ending_in_a_separator_are_unparsable_not_a_panic() {
        let target = Version::from_str("2.2.6").unwrap();
        let lines: Vec<String> = ["numpy- >=1", "a-<2", "scikit-~earn>=1.5", "numpy_.=1"]
            .map(String::from)
            .to_vec();
        assert!(
            lines
                .iter()
                .all(|line| crate::requirement::name_ends_in_separator(line))
        );
        let declared = check_declared(&lines, env("3.11").markers(), &[], &target);
        assert!(declared.applicable.is_empty());
        assert!(!crate::requirement::name_ends_in_separator(
            "numpy-financial<2"
        ));
    }

    /// Found by fuzzing: METADATA with a byte that is not UTF-8 inside a marker is read with
    /// U+FFFD in its place, and pep508_rs 0.9 sliced through it and panicked, aborting the audit.
    #[test]
    fn a_marker_holding_a_replacement_character_is_unparsable_not_a_panic() {
        let target = Version::from_str("2.2.6").unwrap();
        let lines = vec!["numpy ; extra == \"te\u{fffd}st\"".to_string()];
        let declared = check_declared(&lines, env("3.11").markers(), &[], &target);
        assert_eq!(declared.unparsable, lines);
    }

    #[test]
    fn target_edge_cases() {
        let admit = |spec: &str, target: &str| {
            admits(
                &VersionSpecifiers::from_str(spec).unwrap(),
                &Version::from_str(target).unwrap(),
            )
        };
        assert!(!admit("<2", "2.0.0"));
        assert!(!admit("<2.3", "2.4.0"));
        assert!(admit("<2.3", "2.2.6"));
        assert!(!admit("~=1.23", "2.0.0"));
        assert!(!admit("==1.26.*", "2.0.0"));
        assert!(!admit("<1.27", "2.0.0"));
        assert!(admit(">=1.17", "2.5.0"));
    }
}
