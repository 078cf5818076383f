//! Why no ready tree exists, in words: the facts at the leaves of PubGrub's derivation, each a
//! requirement, a 1.x build, a listing of releases, or a release that could not be judged. The
//! failure is *proven* only when every fact is one of the first three.

use std::collections::BTreeMap;
use std::ops::Bound;

use pep440_rs::Version;
use pubgrub::{DefaultStringReporter, DerivationTree, External, Reporter};
use serde::Serialize;

use super::provider::{Knowledge, Node, Setup, Unusable};
use super::{PlanInput, Ranges};

/// The explanation of a failed resolution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explanation {
    /// True when every fact is proven (requirements, 1.x builds, listings): no ready tree
    /// exists. False when some release could not be judged, or a listing failed.
    pub proven: bool,
    /// The facts the derivation rests on, in words, the project's own requirements last.
    pub facts: Vec<String>,
    /// The facts that are not proven: what could not be judged, and why.
    pub missing: Vec<String>,
    /// The solver's full derivation, for whoever wants to follow it step by step.
    pub derivation: String,
    /// The packages the derivation names.
    #[serde(skip)]
    pub packages: Vec<pep508_rs::PackageName>,
    /// For each of `facts`, the packages it is about.
    #[serde(skip)]
    pub about: Vec<Vec<pep508_rs::PackageName>>,
}

impl Explanation {
    /// The resolution stopped before it could say anything (a bound on its work).
    pub fn gave_up(reason: String) -> Explanation {
        Explanation {
            proven: false,
            facts: Vec::new(),
            missing: vec![reason.clone()],
            derivation: reason,
            packages: Vec::new(),
            about: Vec::new(),
        }
    }

    /// The facts about `name`'s own releases and requirements on it, in words.
    pub fn facts_about(&self, name: &pep508_rs::PackageName) -> Vec<&str> {
        self.facts
            .iter()
            .zip(&self.about)
            .filter(|(_, about)| about.contains(name))
            .map(|(fact, _)| fact.as_str())
            .collect()
    }

    /// The facts as one sentence.
    pub fn summary(&self) -> String {
        if self.facts.is_empty() {
            return self.missing.join("; ");
        }
        self.facts.join("; ")
    }
}

/// One leaf of the derivation, before it is put in words.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fact {
    /// `owner` (None: the project) requires `node` within `range`.
    Requires {
        owner: Option<Node>,
        owner_range: Ranges,
        node: Node,
        range: Ranges,
    },
    /// No release of `node` lies in `range`.
    NoRelease { node: Node, range: Ranges },
    /// Releases of `node` in `range` cannot be taken.
    Unusable {
        node: Node,
        range: Ranges,
        why: Unusable,
    },
}

impl Fact {
    /// Whether the fact rules releases of `node`'s package out (a requirement of its own, or
    /// releases that cannot be taken), beside a bare "no release".
    fn is_about(&self, node: &Node) -> bool {
        match self {
            Fact::Requires {
                owner: Some(owner), ..
            } => owner.name() == node.name(),
            Fact::Unusable { node: other, .. } => other.name() == node.name(),
            Fact::Requires { owner: None, .. } | Fact::NoRelease { .. } => false,
        }
    }
}

pub fn explain(
    derivation: &DerivationTree<Node, Ranges, Unusable>,
    setup: &Setup,
    knowledge: &Knowledge,
    input: &PlanInput<'_>,
) -> Explanation {
    let mut facts = Vec::new();
    collect(derivation, &mut facts);
    let python = input.environment.python;
    let every_release = |node: &Node, range: &Ranges| -> bool {
        let Some(name) = node.name() else {
            return false;
        };
        let listed = match knowledge.releases.get(name) {
            Some(Ok(listed)) => listed,
            _ => return false,
        };
        !listed.is_empty() && listed.iter().all(|version| range.contains(version))
    };
    let releases_text = |node: &Node, range: &Ranges| -> String {
        if every_release(node, range) {
            format!("every release of {node} for CPython {python}")
        } else {
            format!("{node}{}", range_text(range))
        }
    };
    let locked_line = |node: &Node| -> String {
        let Some(name) = node.name() else {
            return String::new();
        };
        // Where the project asks for it: the root's entry in the lockfile.
        let lock = input
            .project
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        input
            .graph
            .roots()
            .iter()
            .map(|&root| input.project.package(root))
            .find(|root| {
                root.declared.iter().any(|d| &d.requirement.name == name)
                    || root
                        .dependencies
                        .iter()
                        .any(|d| &input.project.package(d.package).name == name)
            })
            .map(|root| {
                let via = root
                    .declared
                    .iter()
                    .find(|d| &d.requirement.name == name)
                    .map(|d| match &d.via {
                        crate::lockfile::DependencyKind::Normal => String::new(),
                        crate::lockfile::DependencyKind::Extra(extra) => {
                            format!("extra `{extra}`, ")
                        }
                        crate::lockfile::DependencyKind::Group(group) => {
                            format!("group `{group}`, ")
                        }
                    })
                    .unwrap_or_default();
                if root.line > 0 {
                    format!(" ({via}{lock} line {})", root.line)
                } else if !via.is_empty() {
                    format!(" ({})", via.trim_end_matches(", "))
                } else {
                    String::new()
                }
            })
            .unwrap_or_default()
    };

    let mut proven_facts: Vec<(bool, String, Vec<pep508_rs::PackageName>)> = Vec::new();
    let names = |nodes: &[&Node]| -> Vec<pep508_rs::PackageName> {
        nodes
            .iter()
            .filter_map(|node| node.name().cloned())
            .collect()
    };
    let mut missing = Vec::new();
    // Packages none of whose releases in reach can be taken.
    let mut exhausted: Vec<String> = Vec::new();
    // Releases of one package that cannot be taken, gathered into one sentence per kind.
    let mut unusable: BTreeMap<(String, bool), (Vec<String>, String)> = BTreeMap::new();
    for fact in &facts {
        match fact {
            Fact::Requires {
                owner: None,
                node: Node::Numpy,
                ..
            } => proven_facts.push((
                true,
                format!("the target is NumPy {}", setup.target),
                Vec::new(),
            )),
            Fact::Requires {
                owner: None,
                node,
                range,
                ..
            } => proven_facts.push((
                true,
                format!(
                    "the project requires {node}{}{}",
                    range_text(range),
                    locked_line(node)
                ),
                names(&[node]),
            )),
            Fact::Requires {
                owner: Some(owner),
                owner_range,
                node,
                range,
            } => proven_facts.push((
                false,
                format!(
                    "{} requires {node}{}",
                    releases_text(owner, owner_range),
                    range_text(range)
                ),
                names(&[owner, node]),
            )),
            Fact::NoRelease {
                node: Node::Numpy,
                range,
            } => proven_facts.push((
                false,
                format!(
                    "numpy{} leaves out the target {}",
                    range_text(range),
                    setup.target
                ),
                Vec::new(),
            )),
            Fact::NoRelease { node, range } => {
                let name = node.name().map(ToString::to_string).unwrap_or_default();
                let listing = node.name().and_then(|name| knowledge.releases.get(name));
                match listing {
                    Some(Err(error)) => {
                        missing.push(format!(
                            "the releases of {name} could not be listed: {error}"
                        ));
                    }
                    // What is left of the range once the releases other facts rule out are
                    // gone: said with those facts ("every release of … is not ready").
                    Some(Ok(listed))
                        if !listed.iter().any(|v| range.contains(v))
                            && facts.iter().any(|fact| fact.is_about(node)) =>
                    {
                        exhausted.push(name);
                    }
                    _ if range == &Ranges::full() => proven_facts.push((
                        false,
                        format!("{node} has no release for CPython {python}"),
                        names(&[node]),
                    )),
                    _ => proven_facts.push((
                        false,
                        format!(
                            "no release of {node}{} is published for CPython {python}",
                            range_text(range)
                        ),
                        names(&[node]),
                    )),
                }
            }
            Fact::Unusable { node, range, why } => {
                let name = node.name().map(ToString::to_string).unwrap_or_default();
                let entry = unusable
                    .entry((name, why.is_proof()))
                    .or_insert_with(|| (Vec::new(), why.to_string()));
                entry.0.push(range_text_bare(range));
            }
        }
    }
    let unjudged: Vec<String> = unusable
        .keys()
        .filter(|(_, proof)| !proof)
        .map(|(name, _)| name.clone())
        .collect();
    for ((name, proof), (mut versions, first_reason)) in unusable {
        versions.sort_by_key(|text| text.parse::<Version>().ok());
        let about: Vec<pep508_rs::PackageName> = pep508_rs::PackageName::new(name.clone())
            .into_iter()
            .collect();
        let count = versions.len();
        let listed = versions.join(", ");
        // "No release is ready" only when none of the others was left unjudged.
        let exhausted = exhausted.contains(&name) && !unjudged.contains(&name);
        if proof && exhausted {
            proven_facts.push((
                false,
                format!(
                    "no release of {name} for CPython {python} that the tree allows is ready: {listed} (e.g. {first_reason})"
                ),
                about,
            ));
        } else if proof {
            proven_facts.push((
                false,
                if count == 1 {
                    format!("{name} {listed} is not ready: {first_reason}")
                } else {
                    format!("{name} {listed} are not ready (e.g. {first_reason})")
                },
                about,
            ));
        } else {
            missing.push(format!("{name} {listed}: {first_reason}"));
        }
    }
    // The packages' own facts first, the project's requirements last.
    proven_facts.sort_by_key(|(about_project, _, _)| *about_project);
    let mut words: Vec<String> = Vec::new();
    let mut about: Vec<Vec<pep508_rs::PackageName>> = Vec::new();
    for (_, fact, packages) in proven_facts {
        if !words.contains(&fact) {
            words.push(fact);
            about.push(packages);
        }
    }
    for fact in &missing {
        let fact = format!("not judged: {fact}");
        if !words.contains(&fact) {
            words.push(fact);
            about.push(Vec::new());
        }
    }
    let mut packages: Vec<pep508_rs::PackageName> = derivation
        .packages()
        .into_iter()
        .filter_map(|node| node.name().cloned())
        .collect();
    packages.sort();
    packages.dedup();
    Explanation {
        proven: missing.is_empty(),
        facts: words,
        missing,
        derivation: DefaultStringReporter::report(derivation),
        packages,
        about,
    }
}

fn collect(tree: &DerivationTree<Node, Ranges, Unusable>, facts: &mut Vec<Fact>) {
    match tree {
        DerivationTree::External(external) => {
            let fact = match external {
                External::NotRoot(..) => return,
                External::NoVersions(node, range) => Fact::NoRelease {
                    node: node.clone(),
                    range: range.clone(),
                },
                External::FromDependencyOf(owner, owner_range, node, range) => Fact::Requires {
                    owner: (*owner != Node::Root).then(|| owner.clone()),
                    owner_range: owner_range.clone(),
                    node: node.clone(),
                    range: range.clone(),
                },
                External::Custom(node, range, why) => Fact::Unusable {
                    node: node.clone(),
                    range: range.clone(),
                    why: why.clone(),
                },
            };
            if !facts.contains(&fact) {
                facts.push(fact);
            }
        }
        DerivationTree::Derived(derived) => {
            collect(&derived.cause1, facts);
            collect(&derived.cause2, facts);
        }
    }
}

/// A range as a requirement's specifier, after the package name: `>=1.2,<2`, `==1.4.0`, or
/// nothing for any release. Pieces are joined with ` or `.
pub fn range_text(range: &Ranges) -> String {
    let bare = range_text_bare(range);
    if bare.is_empty() {
        String::new()
    } else if bare.starts_with(['<', '>', '=', '!']) {
        bare
    } else {
        format!(" {bare}")
    }
}

/// The same without a leading space, and a single release as just its version (`2.1.0`).
pub fn range_text_bare(range: &Ranges) -> String {
    if range == &Ranges::full() {
        return String::new();
    }
    if range.is_empty() {
        return " (no release)".to_string();
    }
    let pieces: Vec<String> = range
        .iter()
        .map(|(lower, upper)| piece(lower, upper))
        .collect();
    pieces.join(" or ")
}

fn piece(lower: &Bound<Version>, upper: &Bound<Version>) -> String {
    match (lower, upper) {
        (Bound::Included(low), Bound::Included(high)) if low == high => low.to_string(),
        (Bound::Unbounded, Bound::Unbounded) => String::new(),
        (low, high) => {
            let low = match low {
                Bound::Included(v) => Some(format!(">={v}")),
                Bound::Excluded(v) => Some(format!(">{v}")),
                Bound::Unbounded => None,
            };
            let high = match high {
                Bound::Included(v) => Some(format!("<={v}")),
                Bound::Excluded(v) => Some(format!("<{v}")),
                Bound::Unbounded => None,
            };
            low.into_iter().chain(high).collect::<Vec<_>>().join(",")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pep440_rs::VersionSpecifiers;

    use super::*;

    fn ranges(specifiers: &str) -> Ranges {
        Ranges::from(VersionSpecifiers::from_str(specifiers).unwrap())
    }

    #[test]
    fn ranges_read_like_specifiers() {
        assert_eq!(range_text(&ranges("<2")), "<2");
        assert_eq!(range_text(&ranges(">=1.22,<2")), ">=1.22,<2");
        assert_eq!(range_text(&ranges("==2.2.6")), " 2.2.6");
        assert_eq!(range_text(&Ranges::full()), "");
        assert_eq!(range_text(&ranges("!=1.5")), "<1.5 or >1.5");
        assert_eq!(range_text_bare(&ranges("==1.0.0")), "1.0.0");
    }
}
