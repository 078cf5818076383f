//! Lockfiles: one reader per format, all producing the same [`LockedProject`].
//!
//! Readers get bytes and a path for messages; they never touch the network.

mod uv_lock;

use std::fmt;
use std::path::{Path, PathBuf};

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerTree, PackageName, Requirement};

/// The formats np2audit knows by name. Only some can be read today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFormat {
    UvLock,
    PoetryLock,
    PdmLock,
    PipfileLock,
    Pylock,
    Requirements,
}

impl LockFormat {
    /// The stable name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LockFormat::UvLock => "uv.lock",
            LockFormat::PoetryLock => "poetry.lock",
            LockFormat::PdmLock => "pdm.lock",
            LockFormat::PipfileLock => "Pipfile.lock",
            LockFormat::Pylock => "pylock.toml",
            LockFormat::Requirements => "requirements.txt",
        }
    }

    /// Recognise a lockfile by its file name.
    pub fn from_path(path: &Path) -> Option<LockFormat> {
        let name = path.file_name()?.to_str()?;
        match name {
            "uv.lock" => Some(LockFormat::UvLock),
            "poetry.lock" => Some(LockFormat::PoetryLock),
            "pdm.lock" => Some(LockFormat::PdmLock),
            "Pipfile.lock" => Some(LockFormat::PipfileLock),
            "pylock.toml" => Some(LockFormat::Pylock),
            _ if name.starts_with("pylock.") && name.ends_with(".toml") => Some(LockFormat::Pylock),
            _ if name.ends_with(".txt") || name.ends_with(".in") => Some(LockFormat::Requirements),
            _ => None,
        }
    }
}

impl fmt::Display for LockFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a lockfile could not be read. Every variant names the file; parse errors name the line.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {format} files are not supported yet (np2audit reads uv.lock today)")]
    Unsupported { path: PathBuf, format: LockFormat },
    #[error("{path}: not a lockfile np2audit recognises (expected a file named uv.lock)")]
    Unrecognised { path: PathBuf },
}

/// Index of a package in [`LockedProject::packages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageId(pub usize);

/// A whole lockfile, format-independent.
#[derive(Debug, Clone)]
pub struct LockedProject {
    pub path: PathBuf,
    pub format: LockFormat,
    /// The project's `requires-python`, when the lockfile records it.
    pub requires_python: Option<VersionSpecifiers>,
    pub packages: Vec<LockedPackage>,
    /// The project's own package(s): where every why-path starts.
    pub roots: Vec<PackageId>,
}

impl LockedProject {
    pub fn package(&self, id: PackageId) -> &LockedPackage {
        &self.packages[id.0]
    }

    pub fn ids(&self) -> impl Iterator<Item = PackageId> + '_ {
        (0..self.packages.len()).map(PackageId)
    }
}

/// One locked release. A name locked at several versions (forked resolutions) gives several.
#[derive(Debug, Clone)]
pub struct LockedPackage {
    pub name: PackageName,
    /// Absent for some path, git and virtual sources.
    pub version: Option<Version>,
    pub source: PackageSource,
    pub dependencies: Vec<LockedDependency>,
    /// Distribution files the lock records (wheels and sdist), when it records them.
    pub files: Vec<LockedFile>,
    /// What the package itself declares, for packages whose metadata lives in the lock
    /// (the project's own package): its requirements, with the group that holds them.
    pub declared: Vec<DeclaredRequirement>,
    /// 1-based line of the package's entry in the lockfile.
    pub line: usize,
}

impl LockedPackage {
    /// `name==version`, or the bare name when no version is locked.
    pub fn display_id(&self) -> String {
        match &self.version {
            Some(version) => format!("{}=={}", self.name, version),
            None => self.name.to_string(),
        }
    }
}

/// Where a locked package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// A package index (Simple API); the URL as the lock records it.
    Registry(String),
    Git(String),
    Url(String),
    Path(String),
    Directory(String),
    Editable(String),
    /// The project itself when it is not a package (uv's `virtual`).
    Virtual(String),
}

impl PackageSource {
    pub fn kind(&self) -> &'static str {
        match self {
            PackageSource::Registry(_) => "registry",
            PackageSource::Git(_) => "git",
            PackageSource::Url(_) => "url",
            PackageSource::Path(_) => "path",
            PackageSource::Directory(_) => "directory",
            PackageSource::Editable(_) => "editable",
            PackageSource::Virtual(_) => "virtual",
        }
    }

    pub fn location(&self) -> &str {
        match self {
            PackageSource::Registry(s)
            | PackageSource::Git(s)
            | PackageSource::Url(s)
            | PackageSource::Path(s)
            | PackageSource::Directory(s)
            | PackageSource::Editable(s)
            | PackageSource::Virtual(s) => s,
        }
    }
}

/// An edge of the lock: `from` depends on [`LockedDependency::package`].
#[derive(Debug, Clone)]
pub struct LockedDependency {
    pub package: PackageId,
    /// The environment marker on the edge (true when none).
    pub marker: MarkerTree,
    /// Extras of the dependency that this edge activates.
    pub extras: Vec<ExtraName>,
    /// Whether the edge exists only through an extra or a dependency group of the parent.
    pub via: DependencyKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DependencyKind {
    Normal,
    Extra(ExtraName),
    Group(String),
}

impl fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DependencyKind::Normal => Ok(()),
            DependencyKind::Extra(extra) => write!(f, "extra:{extra}"),
            DependencyKind::Group(group) => write!(f, "group:{group}"),
        }
    }
}

/// A distribution file named by the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedFile {
    pub filename: String,
    pub url: Option<String>,
    /// Lowercase hex sha256, when the lock records it.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// RFC 3339 upload time, when the lock records it.
    pub upload_time: Option<String>,
}

/// A requirement a locked package declares itself (for the project's own package).
#[derive(Debug, Clone)]
pub struct DeclaredRequirement {
    pub requirement: Requirement,
    /// `None` for the main dependencies, else the extra or group holding it.
    pub via: DependencyKind,
}

/// Read a lockfile from disk, choosing the reader by file name.
pub fn read_lockfile(path: &Path) -> Result<LockedProject, LockfileError> {
    let format = LockFormat::from_path(path).ok_or_else(|| LockfileError::Unrecognised {
        path: path.to_path_buf(),
    })?;
    let bytes = std::fs::read(path).map_err(|source| LockfileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_lockfile(path, format, &bytes)
}

/// Parse lockfile bytes in a known format.
pub fn parse_lockfile(
    path: &Path,
    format: LockFormat,
    bytes: &[u8],
) -> Result<LockedProject, LockfileError> {
    match format {
        LockFormat::UvLock => uv_lock::parse(path, bytes),
        other => Err(LockfileError::Unsupported {
            path: path.to_path_buf(),
            format: other,
        }),
    }
}

/// 1-based line number of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
