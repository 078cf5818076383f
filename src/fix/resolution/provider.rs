//! The PubGrub dependency provider: a synchronous view of what the resolution knows so far.
//!
//! PubGrub asks for versions and dependencies synchronously, and our answers come from the index
//! (and from judging wheels), which is asynchronous. Rather than blocking inside the solver, the
//! provider answers from a [`Knowledge`] snapshot; when it lacks an answer it records what it
//! needs, adds what will likely be needed next (the next candidates of the same package), and
//! aborts the run with [`Missing`]. The driver fetches everything recorded, all at once, and
//! runs the solver again from the start. A run over a few hundred packages takes milliseconds,
//! so the cost is the rounds of requests, which batching keeps few.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName, Requirement, VersionOrUrl};
use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics,
};

use super::Ranges;
use crate::fix::RequiresDist;
use crate::lockfile::PackageId;
use crate::verdict::Verdict;

/// A node of the problem PubGrub solves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The project: its own requirements, with numpy's relaxed to the target.
    Root,
    /// NumPy, which has one version here: the target.
    Numpy,
    Package(PackageName),
    /// A package with one extra: depends on the package at the same version, plus what the
    /// extra brings (the way uv models extras).
    Extra(PackageName, ExtraName),
}

impl Node {
    pub fn name(&self) -> Option<&PackageName> {
        match self {
            Node::Package(name) | Node::Extra(name, _) => Some(name),
            Node::Root | Node::Numpy => None,
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => f.write_str("the project"),
            Node::Numpy => f.write_str("numpy"),
            Node::Package(name) => write!(f, "{name}"),
            Node::Extra(name, extra) => write!(f, "{name}[{extra}]"),
        }
    }
}

/// Why a release cannot be part of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Judged and found not ready: a proven fact (a 1.x build).
    NotReady(String),
    /// Could not be judged, or judged only *suspect*: nothing is proven about it.
    Unjudged(String),
}

impl Unusable {
    /// True when the reason is a proven fact, not a gap in what was seen.
    pub fn is_proof(&self) -> bool {
        matches!(self, Unusable::NotReady(_))
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NotReady(reason) | Unusable::Unjudged(reason) => f.write_str(reason),
        }
    }
}

/// What judging one release found, as the solver needs it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub verdict: Verdict,
    /// Its `Requires-Dist`, or why it could not be read.
    pub requires_dist: Result<Vec<String>, String>,
    /// One line on what decided the verdict.
    pub summary: String,
}

/// A locked package as the resolution starts from it.
#[derive(Debug, Clone)]
pub struct Locked {
    pub id: PackageId,
    pub version: Option<Version>,
    /// From a package index: other releases can be judged. Path, git and URL packages keep
    /// the release the lock has, with the requirements it records.
    pub from_index: bool,
    /// The audit's verdict on the locked release, and one line on what decided it.
    pub verdict: Verdict,
    pub summary: String,
    /// What the audit learned of the locked release's own requirements.
    pub requires_dist: RequiresDist,
    /// The requirements the lock records for it (a path package's `requires-dist`), or its
    /// edges in the lock when it records none: what a package not from an index requires,
    /// and what a locked release kept without its requirements read stands on.
    pub recorded: Vec<(Node, Ranges)>,
    /// The packages its lock entry depends on, under any marker. The tool that wrote the lock
    /// installs the locked release with these, whatever else its metadata lists (uv takes one
    /// wheel's metadata for all: eccodes 2.47.0's pure wheel lists `eccodeslib`, its lock entry
    /// does not), so the locked release's requirements are read through them. `None` when the
    /// lock records no edges at all.
    pub edges: Option<BTreeSet<PackageName>>,
}

/// Everything the solver is given before it starts: fixed for the whole resolution.
#[derive(Debug)]
pub struct Setup {
    pub target: Version,
    /// The NumPy the lock has (the newest, if several): where numpy stays in a partial tree.
    pub locked_numpy: Option<Version>,
    pub markers: MarkerEnvironment,
    pub root: Vec<(Node, Ranges)>,
    pub locked: BTreeMap<PackageName, Locked>,
}

/// What has been fetched so far; grows between runs.
#[derive(Debug, Default)]
pub struct Knowledge {
    /// Stable, unyanked releases for the target Python, ascending; or why they could not be
    /// listed.
    pub releases: HashMap<PackageName, Result<Vec<Version>, String>>,
    /// Releases judged for the resolution (the locked ones come with [`Locked::verdict`]).
    pub judged: HashMap<(PackageName, Version), Judged>,
    /// Requirements of locked releases the audit judged without reading them, read since.
    pub locked_requirements: HashMap<PackageName, Result<Vec<String>, String>>,
    /// The first release uploaded after NumPy 2.0's first release candidate, per package:
    /// judged early, as the likeliest first ready one.
    pub first_after_numpy2: HashMap<PackageName, Version>,
}

/// Something the provider needed and did not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Releases(PackageName),
    Judge(PackageName, Version),
    /// The `Requires-Dist` of a locked release the audit judged without reading it.
    LockedRequirements(PackageName),
}

/// The run stopped to fetch what [`Provider::needs`] lists.
#[derive(Debug, thiserror::Error)]
#[error("the resolution needs more from the index")]
pub struct Missing;

/// How the solver treats locked releases that could not be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only releases judged ready or unaffected are taken.
    Strict,
    /// Locked releases that could not be judged (or only as *suspect*) are kept as they are,
    /// so the rest of the tree can still be resolved; the answer is then not proven.
    Lenient,
    /// When no ready tree exists: numpy stays where the lock has it, the blockers that hold it
    /// back ([`Provider::stay`]) may stay too, and every other blocker must move to a ready
    /// release — the upgrades that help now. Locked releases that could not be judged stay.
    Partial,
}

/// How many candidates of one package are asked for at once when one is missing.
pub const JUDGE_AHEAD: usize = 4;

pub struct Provider<'a> {
    setup: &'a Setup,
    knowledge: &'a Knowledge,
    mode: Mode,
    /// In a partial tree, the blockers allowed to stay at their locked release.
    stay: &'a BTreeSet<PackageName>,
    /// False once the work bound is reached: releases not judged yet are then unusable.
    may_judge: bool,
    needs: RefCell<BTreeSet<Need>>,
    /// Locked releases taken without being judged ready (lenient mode).
    pub taken_unverified: RefCell<BTreeSet<PackageName>>,
    /// Locked releases whose requirements the audit did not read, taken on their lock edges:
    /// sound while their children stay where the lock has them, checked after a solution.
    pub assumed: RefCell<BTreeSet<PackageName>>,
}

impl<'a> Provider<'a> {
    pub fn new(
        setup: &'a Setup,
        knowledge: &'a Knowledge,
        mode: Mode,
        may_judge: bool,
        stay: &'a BTreeSet<PackageName>,
    ) -> Self {
        Provider {
            setup,
            knowledge,
            mode,
            stay,
            may_judge,
            needs: RefCell::new(BTreeSet::new()),
            taken_unverified: RefCell::new(BTreeSet::new()),
            assumed: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the last run stopped for, and what it will likely need next.
    pub fn needs(&self) -> BTreeSet<Need> {
        self.needs.borrow().clone()
    }

    fn need(&self, need: Need) {
        self.needs.borrow_mut().insert(need);
    }

    /// The releases to choose from, in the order of preference: the locked release first, then
    /// newer ones oldest first (the smallest move), then older ones newest first; for a
    /// package new to the tree, newest first. `None` when they are not listed yet.
    pub fn candidates(&self, name: &PackageName) -> Option<Vec<Version>> {
        let locked = self.setup.locked.get(name);
        if let Some(locked) = locked.filter(|locked| !locked.from_index) {
            return Some(locked.version.iter().cloned().collect());
        }
        let locked_version = locked.and_then(|locked| locked.version.clone());
        let listed = match self.knowledge.releases.get(name) {
            Some(Ok(listed)) => listed.as_slice(),
            // A listing that failed leaves the locked release alone to choose.
            Some(Err(_)) => &[],
            None => return None,
        };
        let mut ordered = Vec::with_capacity(listed.len() + 1);
        match &locked_version {
            // A blocker kept where it is only when no ready release fits.
            Some(locked) if self.mode == Mode::Partial && self.stay.contains(name) => {
                ordered.extend(listed.iter().filter(|v| *v > locked).cloned());
                ordered.extend(listed.iter().rev().filter(|v| *v < locked).cloned());
                ordered.push(locked.clone());
            }
            Some(locked) => {
                ordered.push(locked.clone());
                ordered.extend(listed.iter().filter(|v| *v > locked).cloned());
                ordered.extend(listed.iter().rev().filter(|v| *v < locked).cloned());
            }
            None => ordered.extend(listed.iter().rev().cloned()),
        }
        Some(ordered)
    }

    /// What is known of one release: the audit's judgement for the locked one, else the
    /// resolution's. `Err` names what must be fetched first.
    fn judged(&self, name: &PackageName, version: &Version) -> Result<Judged, Need> {
        if let Some(locked) = self.setup.locked.get(name)
            && locked.version.as_ref() == Some(version)
        {
            let requires_dist = match &locked.requires_dist {
                RequiresDist::Read(requires_dist) => Ok(requires_dist.clone()),
                RequiresDist::Unreadable(reason) => Err(reason.clone()),
                RequiresDist::NotRead => match self.knowledge.locked_requirements.get(name) {
                    Some(read) => read.clone(),
                    // Not read: its lock edges stand in (see `assumed`).
                    None => {
                        self.assumed.borrow_mut().insert(name.clone());
                        return Ok(Judged {
                            verdict: locked.verdict,
                            requires_dist: Ok(Vec::new()),
                            summary: locked.summary.clone(),
                        });
                    }
                },
            };
            return Ok(Judged {
                verdict: locked.verdict,
                requires_dist,
                summary: locked.summary.clone(),
            });
        }
        self.knowledge
            .judged
            .get(&(name.clone(), version.clone()))
            .cloned()
            .ok_or_else(|| Need::Judge(name.clone(), version.clone()))
    }

    /// Whether the locked release may be taken as it is, before anything else is listed: it
    /// is not known to be unusable here, and (in a partial tree) it is no blocker that must
    /// move.
    pub fn may_stand(&self, locked: &Locked) -> bool {
        if !locked.from_index {
            return true;
        }
        match (self.mode, locked.verdict) {
            (_, Verdict::Ready | Verdict::Unaffected) => true,
            (Mode::Partial, verdict) if verdict.is_blocker() => false,
            (Mode::Lenient | Mode::Partial, Verdict::Suspect | Verdict::Unknown) => true,
            // A cap meets the target as a conflict; the solver then lists the others.
            (Mode::Strict | Mode::Lenient, Verdict::DeclaredBlocker) => true,
            _ => false,
        }
    }

    fn is_judged(&self, name: &PackageName, version: &Version) -> bool {
        self.judged(name, version).is_ok()
    }

    fn is_locked_version(&self, name: &PackageName, version: &Version) -> bool {
        self.setup
            .locked
            .get(name)
            .is_some_and(|locked| locked.version.as_ref() == Some(version))
    }

    /// Whether a release can be in the tree, and its requirements when it can (`None`: kept as
    /// it is without them, so its lock edges stand in).
    fn usable(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Result<Option<Vec<String>>, Unusable>, Missing> {
        let judged = match self.judged(name, version) {
            Ok(judged) => judged,
            Err(need @ Need::LockedRequirements(_)) => {
                self.need(need);
                return Err(Missing);
            }
            Err(_) if !self.may_judge => {
                return Ok(Err(Unusable::Unjudged(
                    "not judged: the resolution's bound on releases judged was reached".into(),
                )));
            }
            Err(need) => {
                self.need(need);
                return Err(Missing);
            }
        };
        let locked = self.is_locked_version(name, version);
        if locked && self.mode == Mode::Partial && self.stay.contains(name) {
            // A blocker that holds numpy back stays as it is today.
            return Ok(Ok(judged.requires_dist.ok()));
        }
        let keep_as_is = locked && matches!(self.mode, Mode::Lenient | Mode::Partial);
        if self.mode == Mode::Partial && judged.verdict == Verdict::DeclaredBlocker {
            // With numpy held back a cap would not conflict, but a release that caps it is
            // no step towards the target.
            return Ok(Err(Unusable::NotReady(judged.summary)));
        }
        match judged.verdict {
            Verdict::BinaryBlocker | Verdict::SourceBlocker => {
                return Ok(Err(Unusable::NotReady(judged.summary)));
            }
            Verdict::Suspect | Verdict::Unknown if !keep_as_is => {
                return Ok(Err(Unusable::Unjudged(format!(
                    "{}: {}",
                    judged.verdict.as_str(),
                    judged.summary
                ))));
            }
            Verdict::Suspect | Verdict::Unknown => {
                self.taken_unverified.borrow_mut().insert(name.clone());
            }
            // A declared cap is a requirement on numpy: the solver meets it as a conflict.
            Verdict::DeclaredBlocker | Verdict::Ready | Verdict::Unaffected => {}
        }
        match judged.requires_dist {
            Ok(requires_dist) => Ok(Ok(Some(requires_dist))),
            Err(_) if keep_as_is => {
                self.taken_unverified.borrow_mut().insert(name.clone());
                Ok(Ok(None))
            }
            Err(reason) => Ok(Err(Unusable::Unjudged(format!(
                "cannot read what it requires: {reason}"
            )))),
        }
    }

    /// The NumPy the tree is solved with: the target, or where the lock has it (partial).
    fn numpy(&self) -> Version {
        match (self.mode, &self.setup.locked_numpy) {
            (Mode::Partial, Some(locked)) => locked.clone(),
            _ => self.setup.target.clone(),
        }
    }

    /// The solver's view of `requires_dist` under the target environment and `extras`.
    pub fn requirements(
        &self,
        owner: &PackageName,
        requires_dist: &[String],
        extras: &[ExtraName],
    ) -> Vec<(Node, Ranges)> {
        let mut merged: BTreeMap<Node, Ranges> = BTreeMap::new();
        for line in requires_dist {
            let Ok(requirement) = crate::requirement::parse(line) else {
                // An unparsable requirement naming numpy makes the release suspect in the
                // audit; others say nothing the solver can use.
                continue;
            };
            if !requirement.marker.evaluate(&self.setup.markers, extras) {
                continue;
            }
            for (node, range) in nodes_of(&requirement) {
                // A package's requirement on itself (an extra asking for another) is met by
                // the release itself.
                if node == Node::Package(owner.clone()) {
                    continue;
                }
                merged
                    .entry(node)
                    .and_modify(|existing| *existing = existing.intersection(&range))
                    .or_insert(range);
            }
        }
        merged.into_iter().collect()
    }
}

/// The nodes a requirement puts in the tree, each with its range.
pub fn nodes_of(requirement: &Requirement) -> Vec<(Node, Ranges)> {
    let range = match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => Ranges::from(specifiers.clone()),
        // A URL requirement names no release of the index: any release stands for it.
        Some(VersionOrUrl::Url(_)) | None => Ranges::full(),
    };
    if requirement.name.as_ref() == "numpy" {
        return vec![(Node::Numpy, range)];
    }
    let mut nodes = vec![(Node::Package(requirement.name.clone()), range.clone())];
    for extra in &requirement.extras {
        nodes.push((
            Node::Extra(requirement.name.clone(), extra.clone()),
            range.clone(),
        ));
    }
    nodes
}

/// The version the project itself is given (the solver needs one).
pub fn root_version() -> Version {
    Version::new([0])
}

impl DependencyProvider for Provider<'_> {
    type P = Node;
    type V = Version;
    type VS = Ranges;
    type M = Unusable;
    type Err = Missing;
    /// Decide the root and numpy first, then the packages that conflicted most, then those with
    /// the fewest candidates left.
    type Priority = (u8, u32, Reverse<usize>);

    fn prioritize(
        &self,
        node: &Node,
        range: &Ranges,
        statistics: &PackageResolutionStatistics,
    ) -> Self::Priority {
        match node {
            Node::Root => (3, 0, Reverse(0)),
            Node::Numpy => (2, 0, Reverse(0)),
            Node::Package(name) | Node::Extra(name, _) => {
                let left = self
                    .candidates(name)
                    .map(|candidates| candidates.iter().filter(|v| range.contains(v)).count())
                    .unwrap_or(usize::MAX);
                (1, statistics.conflict_count(), Reverse(left))
            }
        }
    }

    fn choose_version(&self, node: &Node, range: &Ranges) -> Result<Option<Version>, Missing> {
        let name = match node {
            Node::Root => return Ok(Some(root_version()).filter(|v| range.contains(v))),
            Node::Numpy => return Ok(Some(self.numpy()).filter(|v| range.contains(v))),
            Node::Package(name) | Node::Extra(name, _) => name,
        };
        // The locked release, when the range still has it and it may stand, needs no listing:
        // most packages of a tree stay where they are.
        if let Some(locked) = self.setup.locked.get(name)
            && let Some(version) = &locked.version
            && range.contains(version)
            && self.may_stand(locked)
        {
            return Ok(Some(version.clone()));
        }
        let Some(candidates) = self.candidates(name) else {
            self.need(Need::Releases(name.clone()));
            return Err(Missing);
        };
        let in_range: Vec<&Version> = candidates.iter().filter(|v| range.contains(v)).collect();
        let Some(&chosen) = in_range.first() else {
            return Ok(None);
        };
        // The chosen release will be asked for next; the ones after it too, if it is not ready.
        if self.may_judge && !self.is_judged(name, chosen) {
            let mut ahead: Vec<&Version> = in_range
                .iter()
                .copied()
                .filter(|v| !self.is_judged(name, v) && !self.is_locked_version(name, v))
                .take(JUDGE_AHEAD)
                .collect();
            if let Some(likely) = self.knowledge.first_after_numpy2.get(name)
                && range.contains(likely)
                && !self.is_judged(name, likely)
            {
                ahead.push(likely);
            }
            for version in ahead {
                self.need(Need::Judge(name.clone(), version.clone()));
            }
        }
        Ok(Some(chosen.clone()))
    }

    fn get_dependencies(
        &self,
        node: &Node,
        version: &Version,
    ) -> Result<Dependencies<Node, Ranges, Unusable>, Missing> {
        let available = |dependencies: Vec<(Node, Ranges)>| {
            Ok(Dependencies::Available(DependencyConstraints::from_iter(
                dependencies,
            )))
        };
        let (name, extra) = match node {
            Node::Root => {
                let numpy = self.numpy();
                let root = self
                    .setup
                    .root
                    .iter()
                    .map(|(node, range)| match node {
                        Node::Numpy => (Node::Numpy, Ranges::singleton(numpy.clone())),
                        _ => (node.clone(), range.clone()),
                    })
                    .collect();
                return available(root);
            }
            Node::Numpy => return available(Vec::new()),
            Node::Package(name) => (name, None),
            Node::Extra(name, extra) => (name, Some(extra)),
        };
        let with_base = |mut dependencies: Vec<(Node, Ranges)>| {
            if extra.is_some() {
                dependencies.push((
                    Node::Package(name.clone()),
                    Ranges::singleton(version.clone()),
                ));
            }
            dependencies
        };
        if let Some(locked) = self.setup.locked.get(name).filter(|l| !l.from_index) {
            // Not from an index: the release the lock has, with what the lock records.
            return available(with_base(locked.recorded.clone()));
        }
        let dependencies = match self.usable(name, version)? {
            Ok(Some(_))
                if self.assumed.borrow().contains(name)
                    && self.is_locked_version(name, version) =>
            {
                self.setup.locked[name].recorded.clone()
            }
            Ok(Some(requires_dist)) => {
                let extras: Vec<ExtraName> = extra.cloned().into_iter().collect();
                let mut dependencies = self.requirements(name, &requires_dist, &extras);
                if self.is_locked_version(name, version)
                    && let Some(edges) = &self.setup.locked[name].edges
                {
                    dependencies
                        .retain(|(node, _)| node.name().is_none_or(|child| edges.contains(child)));
                }
                dependencies
            }
            // Kept as it is without its requirements read: its lock edges stand in.
            Ok(None) => self
                .setup
                .locked
                .get(name)
                .map(|locked| locked.recorded.clone())
                .unwrap_or_default(),
            Err(unusable) => return Ok(Dependencies::Unavailable(unusable)),
        };
        available(with_base(dependencies))
    }
}
