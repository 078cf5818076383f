//! The numpy pin a project needs while blockers remain: its bound, and the locked packages a
//! pin would break (those that require a NumPy at or above it).

use std::fmt;

use pep440_rs::{Operator, Version, VersionSpecifiers};

/// An upper bound on numpy: `<2`, `<2.1`, or `<=1.26.4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperBound {
    pub version: Version,
    pub inclusive: bool,
}

impl UpperBound {
    pub fn below(version: Version) -> UpperBound {
        UpperBound {
            version,
            inclusive: false,
        }
    }

    /// The tighter of two bounds.
    pub fn min(self, other: UpperBound) -> UpperBound {
        match self.version.cmp(&other.version) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal if !self.inclusive => self,
            std::cmp::Ordering::Equal => other,
        }
    }

    pub fn admits(&self, version: &Version) -> bool {
        if self.inclusive {
            version <= &self.version
        } else {
            version < &self.version
        }
    }
}

impl fmt::Display for UpperBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = if self.inclusive { "<=" } else { "<" };
        write!(f, "{operator}{}", self.version)
    }
}

/// The tightest upper bound a specifier set puts on versions, if it puts one.
pub fn upper_bound(specifiers: &VersionSpecifiers) -> Option<UpperBound> {
    specifiers
        .iter()
        .filter_map(|specifier| {
            let version = specifier.version();
            match specifier.operator() {
                Operator::LessThan => Some(UpperBound::below(version.clone())),
                Operator::LessThanEqual | Operator::Equal | Operator::ExactEqual => {
                    Some(UpperBound {
                        version: version.clone(),
                        inclusive: true,
                    })
                }
                // `==1.26.*` stops below 1.27; `~=1.21` below 2, `~=1.21.0` below 1.22.
                Operator::EqualStar => Some(UpperBound::below(bump(version.release(), 0))),
                Operator::TildeEqual => Some(UpperBound::below(bump(version.release(), 1))),
                _ => None,
            }
        })
        .reduce(UpperBound::min)
}

/// The release with its segment `len - 1 - from_end` raised by one and the rest dropped.
fn bump(release: &[u64], from_end: usize) -> Version {
    let keep = release.len().saturating_sub(from_end).max(1);
    let mut segments: Vec<u64> = release[..keep].to_vec();
    if let Some(last) = segments.last_mut() {
        *last += 1;
    }
    Version::new(segments)
}

/// The lowest version a specifier set admits, as (version, inclusive), if it has a floor.
pub fn lower_bound(specifiers: &VersionSpecifiers) -> Option<(Version, bool)> {
    specifiers
        .iter()
        .filter_map(|specifier| {
            let version = specifier.version().clone();
            match specifier.operator() {
                Operator::GreaterThanEqual
                | Operator::Equal
                | Operator::ExactEqual
                | Operator::TildeEqual
                | Operator::EqualStar => Some((version, true)),
                Operator::GreaterThan => Some((version, false)),
                _ => None,
            }
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
}

/// Whether a requirement's specifiers leave no version under `pin`: pinning would break it.
pub fn conflicts_with(specifiers: &VersionSpecifiers, pin: &UpperBound) -> bool {
    let Some((floor, inclusive)) = lower_bound(specifiers) else {
        return false;
    };
    if pin.inclusive {
        floor > pin.version || (floor == pin.version && !inclusive)
    } else {
        floor >= pin.version
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn specifiers(text: &str) -> VersionSpecifiers {
        VersionSpecifiers::from_str(text).unwrap()
    }

    fn bound(text: &str) -> Option<String> {
        upper_bound(&specifiers(text)).map(|b| b.to_string())
    }

    #[test]
    fn caps_become_the_tightest_upper_bound() {
        assert_eq!(bound("<2,>=1.20").as_deref(), Some("<2"));
        assert_eq!(bound(">=1.21.6,<1.28.0").as_deref(), Some("<1.28.0"));
        assert_eq!(bound("<=1.26.4").as_deref(), Some("<=1.26.4"));
        assert_eq!(bound("==1.26.*").as_deref(), Some("<1.27"));
        assert_eq!(bound("~=1.21").as_deref(), Some("<2"));
        assert_eq!(bound("~=1.21.0").as_deref(), Some("<1.22"));
        assert_eq!(bound("<2.1,<2").as_deref(), Some("<2"));
        assert_eq!(bound(">=1.20"), None);
        assert_eq!(bound("!=2.0.0"), None);
    }

    #[test]
    fn a_pin_conflicts_with_requirements_that_start_at_or_above_it() {
        let pin = UpperBound::below(Version::from_str("2").unwrap());
        assert!(conflicts_with(&specifiers(">=2"), &pin));
        assert!(conflicts_with(&specifiers(">=2.1,<3"), &pin));
        assert!(conflicts_with(&specifiers("==2.1.3"), &pin));
        assert!(!conflicts_with(&specifiers(">=1.22"), &pin));
        assert!(!conflicts_with(&specifiers("<3"), &pin));
        assert!(!conflicts_with(&specifiers(">1.99"), &pin));
        let inclusive = UpperBound {
            version: Version::from_str("1.26.4").unwrap(),
            inclusive: true,
        };
        assert!(!conflicts_with(&specifiers(">=1.26.4"), &inclusive));
        assert!(conflicts_with(&specifiers(">1.26.4"), &inclusive));
    }
}
