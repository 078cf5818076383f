//! Lockfiles: one reader per format, all producing the same [`LockedProject`].
//!
//! Readers get bytes and a path for messages; they never touch the network.

#[cfg(test)]
mod fixtures;
mod pdm_lock;
mod pipfile_lock;
mod poetry_lock;
mod pylock;
mod pyproject;
mod requirements;
mod source;
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
    /// An installed environment (`np2audit env`), not a file.
    Installed,
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
            LockFormat::Installed => "site-packages",
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

impl LockFormat {
    /// Recognise a lockfile by what it holds, for files with other names and for standard input.
    pub fn from_content(bytes: &[u8]) -> Option<LockFormat> {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            return (text.contains("\"_meta\"") && text.contains("\"default\""))
                .then_some(LockFormat::PipfileLock);
        }
        let has_line = |prefix: &str| {
            text.lines()
                .any(|line| line.trim_start().starts_with(prefix))
        };
        if has_line("[[packages]]") && has_line("lock-version") {
            return Some(LockFormat::Pylock);
        }
        if has_line("[[package]]") || has_line("[metadata]") {
            if has_line("lock_version") || has_line("strategy =") {
                return Some(LockFormat::PdmLock);
            }
            if has_line("lock-version") || has_line("content-hash") || has_line("[metadata.files]")
            {
                return Some(LockFormat::PoetryLock);
            }
            if has_line("version = 1") || has_line("revision =") || has_line("source = {") {
                return Some(LockFormat::UvLock);
            }
            return None;
        }
        // A requirements file: every meaningful line is an option or starts like a name or URL.
        let mut meaningful = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .peekable();
        meaningful.peek()?;
        meaningful
            .all(|line| {
                line.starts_with('-')
                    || line.starts_with('.')
                    || line.starts_with('/')
                    || line
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
            })
            .then_some(LockFormat::Requirements)
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
    // The reason is in the message, not a `source`: `{:#}` would print it twice.
    #[error("{path}: cannot read: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("reading a lockfile from standard input needs --lock-format")]
    NeedsFormat,
    #[error("{path}:{line}: {}", first_line(.message))]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: not a lockfile np2audit recognises (expected uv.lock, poetry.lock, pdm.lock, \
         Pipfile.lock, pylock.toml or a requirements file; --lock-format names the format)"
    )]
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
    /// Package indexes the file names (`--index-url`/`--extra-index-url` lines, sources),
    /// the primary first. Credentials are kept as written; never print them unredacted.
    pub index_urls: Vec<String>,
    /// Things the reader noticed that the user should hear about (e.g. "not a lock: N
    /// requirements are not pinned"), each once.
    pub warnings: Vec<String>,
    /// The command that wrote the file, from its `autogenerated by … via the following
    /// command` header (pip-compile, `uv pip compile`, `uv export`), so advice can re-run it.
    pub generated_by: Option<String>,
    /// The environments the lock declares it serves (uv's `supported-markers`, written from
    /// `tool.uv.environments`); empty when it declares none (every environment).
    pub supported_markers: Vec<pep508_rs::MarkerTree>,
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
    /// Absent for some path, git and virtual sources, and for unpinned requirements.
    pub version: Option<Version>,
    /// For an unpinned requirement (a requirements file that is not a lock): what it allows.
    /// The audit judges the newest release it admits.
    pub specifier: Option<VersionSpecifiers>,
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

/// The first line of a message: the PEP 440/508 parsers' errors go on to echo the input with a
/// caret under the fault, which would break the one-line `file:line: message` shape.
fn first_line(message: &str) -> &str {
    let line = message.lines().next().unwrap_or_default().trim_end();
    if line.len() < message.trim_end().len() {
        line.trim_end_matches(':')
    } else {
        line
    }
}

/// Larger than any real lockfile (the biggest seen are a few MB): a path such as `/dev/zero`
/// or a runaway pipe is refused instead of read until memory runs out.
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// Everything `reader` gives, up to [`MAX_LOCKFILE_BYTES`]; more is an error.
pub(crate) fn read_limited(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(reader, MAX_LOCKFILE_BYTES + 1),
        &mut bytes,
    )?;
    if bytes.len() as u64 > MAX_LOCKFILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, which no lockfile is",
                MAX_LOCKFILE_BYTES >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// Read a lockfile from disk (or standard input for `-`), choosing the reader by `format`,
/// else the file name, else the content.
pub fn read_lockfile(
    path: &Path,
    format: Option<LockFormat>,
) -> Result<LockedProject, LockfileError> {
    if path == Path::new("-") && format.is_none() {
        return Err(LockfileError::NeedsFormat);
    }
    let bytes = if path == Path::new("-") {
        read_limited(std::io::stdin().lock())
    } else {
        std::fs::File::open(path).and_then(read_limited)
    }
    .map_err(|error| LockfileError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let named = format.or_else(|| LockFormat::from_path(path));
    let Some(format) = named.or_else(|| LockFormat::from_content(&bytes)) else {
        return Err(LockfileError::Unrecognised {
            path: path.to_path_buf(),
        });
    };
    parse_lockfile(path, format, &bytes).map_err(|error| {
        // A file of one format under another's name: say what it looks like.
        match (&error, LockFormat::from_content(&bytes)) {
            (LockfileError::Parse { .. }, Some(actual)) if actual != format => LockfileError::Parse {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "this looks like a {actual} file, not a {format} file (pass --lock-format to read it as one)"
                ),
            },
            _ => error,
        }
    })
}

/// Parse lockfile bytes in a known format.
pub fn parse_lockfile(
    path: &Path,
    format: LockFormat,
    bytes: &[u8],
) -> Result<LockedProject, LockfileError> {
    let project = match format {
        LockFormat::UvLock => uv_lock::parse(path, bytes),
        LockFormat::PoetryLock => poetry_lock::parse(path, bytes),
        LockFormat::PdmLock => pdm_lock::parse(path, bytes),
        LockFormat::PipfileLock => pipfile_lock::parse(path, bytes),
        LockFormat::Pylock => pylock::parse(path, bytes),
        LockFormat::Requirements => requirements::parse(path, bytes),
        LockFormat::Installed => Err(LockfileError::Parse {
            path: path.to_path_buf(),
            line: 1,
            message: "an installed environment is read with `np2audit env`, not as a file".into(),
        }),
    }?;
    let text = String::from_utf8_lossy(bytes);
    let mut project = LockedProject {
        generated_by: source::generator_command(&text),
        requires_python: project
            .requires_python
            .or_else(|| source::generator_python(&text)),
        ..project
    };
    declare_compiled_inputs(&mut project)?;
    Ok(project)
}

/// The requirements a `pyproject.toml` declares, read as the reader for `format` reads the one
/// beside its lock: Poetry's reader also takes `[tool.poetry]` tables and needs a project name,
/// the others read the PEP 621 and PEP 735 tables. `path` names the file in messages.
pub fn parse_pyproject(
    path: &Path,
    format: LockFormat,
    bytes: &[u8],
) -> Result<Vec<DeclaredRequirement>, LockfileError> {
    match format {
        LockFormat::PoetryLock => poetry_lock::declared_in_pyproject(path, bytes),
        _ => pyproject::parse_pyproject(path, bytes).map(|pyproject| pyproject.declared),
    }
}

/// A requirements file compiled from the `pyproject.toml` beside it (`uv pip compile
/// pyproject.toml`, `pip-compile pyproject.toml`, `uv export`) carries the project's own
/// requirements there: the root declares them, so the project's `numpy<2` and its exact pins
/// are known to the audit and to fix advice.
fn declare_compiled_inputs(project: &mut LockedProject) -> Result<(), LockfileError> {
    let Some(command) = &project.generated_by else {
        return Ok(());
    };
    let from_pyproject = command.starts_with("uv export")
        || command
            .split_whitespace()
            .any(|word| word.ends_with("pyproject.toml"));
    let [root] = project.roots[..] else {
        return Ok(());
    };
    if project.format != LockFormat::Requirements || !project.package(root).declared.is_empty() {
        return Ok(());
    }
    if from_pyproject {
        if let Some(pyproject) = pyproject::read_pyproject(&project.path)? {
            project.packages[root.0].declared = pyproject.declared;
        }
        return Ok(());
    }
    // `pip-compile requirements.in`: the input beside the output holds what the project asks
    // for, exact pins included (`spacy==3.7.5`), which fix advice must rewrite there.
    let Some(input) = command
        .split_whitespace()
        .find(|word| word.ends_with(".in") && !word.starts_with('-'))
    else {
        return Ok(());
    };
    let path = project
        .path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(input);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    project.packages[root.0].declared = requirements::input_requirements(&path, &bytes)?;
    Ok(())
}

/// 1-based line number of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The packages nothing else depends on: the roots of a lock without its project.
fn unreferenced(packages: &[LockedPackage]) -> Vec<PackageId> {
    let mut depended_on = vec![false; packages.len()];
    for (parent, package) in packages.iter().enumerate() {
        for dependency in &package.dependencies {
            if dependency.package.0 != parent {
                depended_on[dependency.package.0] = true;
            }
        }
    }
    (0..packages.len())
        .filter(|&index| !depended_on[index])
        .map(PackageId)
        .collect()
}

#[cfg(test)]
mod fuzz_regressions {
    //! Inputs the fuzz targets found (`testdata/fuzz-regressions/`): each is an error on one
    //! line naming its file and line, never a panic.

    use super::*;

    fn one_line_error(error: LockfileError, path: &Path, line: usize) -> String {
        let shown = error.to_string();
        assert!(!shown.contains('\n'), "{shown:?}");
        assert!(
            shown.starts_with(&format!("{}:{line}: ", path.display())),
            "{shown:?}"
        );
        shown
    }

    fn regression(name: &str) -> (PathBuf, Vec<u8>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/fuzz-regressions")
            .join(name);
        let bytes = std::fs::read(&path).expect("regression input");
        (path, bytes)
    }

    #[test]
    fn a_name_ending_in_a_dash_before_a_semicolon() {
        let (path, bytes) = regression("requirements-name-dash-semicolon.txt");
        let error = parse_lockfile(&path, LockFormat::Requirements, &bytes).unwrap_err();
        let shown = one_line_error(error, &path, 202);
        assert!(shown.contains("must end in a letter or digit"), "{shown}");
    }

    #[test]
    fn an_extra_ending_in_a_dash() {
        let path = Path::new("requirements.txt");
        let error = parse_lockfile(path, LockFormat::Requirements, b"o[q-,find-links").unwrap_err();
        let shown = one_line_error(error, path, 1);
        assert!(shown.contains("extra"), "{shown}");
    }

    #[test]
    fn a_marker_error_that_echoes_its_input() {
        let path = Path::new("requirements.txt");
        let bytes = b"source = { registry = \"https://pypi.org/simple\"; extra == \"test\" }\n";
        let error = parse_lockfile(path, LockFormat::Requirements, bytes).unwrap_err();
        one_line_error(error, path, 1);
    }

    #[test]
    fn a_poetry_constraint_that_is_no_version() {
        let (path, bytes) = regression("pyproject-plus-version.toml");
        let error = parse_pyproject(&path, LockFormat::PoetryLock, &bytes).unwrap_err();
        let shown = error.to_string();
        assert!(!shown.contains('\n'), "{shown:?}");
        assert!(shown.contains("+1.13.1"), "{shown}");
    }

    #[test]
    fn markers_beyond_ascii_are_refused_not_sliced() {
        let path = Path::new("requirements.txt");
        let bytes = "numpy==1.26.4 ; ex\u{fffd}tra == \"test\"\n".as_bytes();
        let error = parse_lockfile(path, LockFormat::Requirements, bytes).unwrap_err();
        let shown = one_line_error(error, path, 1);
        assert!(shown.contains("ASCII"), "{shown}");
    }
}
