//! Reader for pip requirements files (`requirements.txt`, `*.in`), read the way pip reads them.
//!
//! A requirements file is a list of lines, not a lock: it may pin every package (`uv pip compile`,
//! `pip-compile`, `uv export`) or only name ranges. The reader follows pip's line handling —
//! `\` continuations, comments, `${VAR}` expansion, `-r`/`-c` includes read from disk relative to
//! the including file, the global options — and builds the graph from what the file says:
//!
//! * every requirement becomes a package: an exact `==`/`===` pin gives a version, anything else a
//!   [`LockedPackage::specifier`] (and one warning that the file is not a lock); `-e`, URL, VCS and
//!   local path lines give packages with a non-registry source and no version;
//! * the `# via` annotations that `pip-compile`, `uv pip compile` and `uv export` write below each
//!   requirement become edges parent → package; a via entry that names the project (`-r file`,
//!   `name (pyproject.toml)`, or a name that is not in the file) is an edge from the root;
//! * a synthetic root package, named after the file's stem, depends on every requirement with no
//!   via annotation. A file without any annotations (hand-written, or written with
//!   `--no-annotate`) is therefore flat: the root depends on every package and the audit fills in
//!   the edges between packages from metadata later. That is the normal shape of such a file, so it
//!   is not worth a warning.
//!
//! Hashes (`--hash=sha256:…`) are checked for form and otherwise ignored: they name no file, so
//! they make no [`super::LockedFile`]. The network is never used: a `-r https://…` include is an
//! error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{
    ExtraName, MarkerTree, PackageName, Pep508Error, Requirement, VerbatimUrl, VersionOrUrl,
};

use super::source::utf8;
use super::{
    DeclaredRequirement, DependencyKind, LockFormat, LockedDependency, LockedPackage,
    LockedProject, LockfileError, PackageId, PackageSource,
};

/// The index pip uses when a file names none (`--index-url` default).
const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// How many unpinned names the not-a-lock warning lists before it stops.
const WARNING_NAME_LIMIT: usize = 10;

/// Parse the bytes of a requirements file; files it includes with `-r`/`-c` are read from disk,
/// relative to the directory of the file that names them.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<LockedProject, LockfileError> {
    let mut collector = Collector::default();
    let top = FileFrame {
        key: file_key(path),
        path: path.to_path_buf(),
    };
    collector.read_file(&top, bytes, false, &mut Vec::new())?;
    collector.build(path)
}

/// Every requirement of an input file (`requirements.in` a compiler read), pinned or not, and
/// of the files it includes: the project's own requirements, as the project writes them.
pub(super) fn input_requirements(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<DeclaredRequirement>, LockfileError> {
    let mut collector = Collector::default();
    let top = FileFrame {
        key: file_key(path),
        path: path.to_path_buf(),
    };
    collector.read_file(&top, bytes, false, &mut Vec::new())?;
    Ok(collector
        .entries
        .into_iter()
        .filter_map(|(entry, _)| entry.requirement)
        .map(|requirement| DeclaredRequirement {
            requirement,
            via: DependencyKind::Normal,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Reading lines

/// One line of a file after pip's preprocessing.
enum Item {
    /// A logical line (continuations joined, comment stripped), with the 1-based line it starts on
    /// and the comment that ended it, if any.
    Logical {
        line: usize,
        text: String,
        comment: Option<String>,
    },
    /// A line holding only a comment: the text after `#`.
    Comment { body: String },
}

/// Split text into pip's logical lines. Like pip's `join_lines`, a comment-only line never
/// continues and ends a pending continuation; unlike pip, comment-only lines are kept, because the
/// `# via` annotations live in them.
fn logical_lines(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim_start().starts_with('#') {
            if let Some((start, joined)) = pending.take() {
                items.push(finish_logical(start, joined));
            }
            let body = raw.trim_start()[1..].to_string();
            items.push(Item::Comment { body });
        } else if raw.ends_with('\\') {
            let part = raw.trim_end_matches('\\');
            match &mut pending {
                Some((_, joined)) => joined.push_str(part),
                None => pending = Some((line, part.to_string())),
            }
        } else {
            match pending.take() {
                Some((start, mut joined)) => {
                    joined.push_str(raw);
                    items.push(finish_logical(start, joined));
                }
                None => items.push(finish_logical(line, raw.to_string())),
            }
        }
    }
    if let Some((start, joined)) = pending {
        items.push(finish_logical(start, joined));
    }
    items
}

/// Strip a trailing comment as pip's `COMMENT_RE` (`(^|\s+)#.*$`) does: a `#` at the start or
/// after whitespace, so that `#` inside a URL fragment (`#egg=name`) survives.
fn finish_logical(line: usize, joined: String) -> Item {
    let bytes = joined.as_bytes();
    let hash = (0..bytes.len())
        .find(|&at| bytes[at] == b'#' && (at == 0 || bytes[at - 1].is_ascii_whitespace()));
    match hash {
        Some(at) => Item::Logical {
            line,
            text: joined[..at].trim_end().to_string(),
            comment: Some(joined[at + 1..].to_string()),
        },
        None => Item::Logical {
            line,
            text: joined,
            comment: None,
        },
    }
}

/// Expand `${NAME}` (NAME of `A-Z`, `0-9`, `_`) from the environment as pip does; a variable that
/// is unset or empty is left as written.
fn expand_env(text: &str) -> Cow<'_, str> {
    if !text.contains("${") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            match std::env::var(name) {
                Ok(value) if !value.is_empty() => out.push_str(&value),
                _ => out.push_str(&rest[start..start + 3 + name_len]),
            }
            rest = &after[name_len + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Split an options string into words as pip does (Python's `shlex.split`).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    shlex::split(text).ok_or_else(|| "expected a closing quote".to_string())
}

/// pip's `break_args_options`: the words before the first one starting with `-` are the
/// requirement, the rest are options.
fn split_args_options(line: &str) -> (String, String) {
    let tokens: Vec<&str> = line.split(' ').collect();
    let split = tokens
        .iter()
        .position(|token| token.starts_with('-'))
        .unwrap_or(tokens.len());
    (tokens[..split].join(" "), tokens[split..].join(" "))
}

// ---------------------------------------------------------------------------------------------
// Options

/// The options pip accepts in a requirements file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionKind {
    Requirement,
    Constraint,
    Editable,
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    FindLinks,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    Pre,
    TrustedHost,
    UseFeature,
    Hash,
    ConfigSettings,
    GlobalOption,
}

impl OptionKind {
    fn from_long(name: &str) -> Option<OptionKind> {
        Some(match name {
            "requirement" => OptionKind::Requirement,
            "constraint" => OptionKind::Constraint,
            "editable" => OptionKind::Editable,
            "index-url" => OptionKind::IndexUrl,
            "extra-index-url" => OptionKind::ExtraIndexUrl,
            "no-index" => OptionKind::NoIndex,
            "find-links" => OptionKind::FindLinks,
            "no-binary" => OptionKind::NoBinary,
            "only-binary" => OptionKind::OnlyBinary,
            "prefer-binary" => OptionKind::PreferBinary,
            "require-hashes" => OptionKind::RequireHashes,
            "pre" => OptionKind::Pre,
            "trusted-host" => OptionKind::TrustedHost,
            "use-feature" => OptionKind::UseFeature,
            "hash" => OptionKind::Hash,
            "config-settings" => OptionKind::ConfigSettings,
            "global-option" => OptionKind::GlobalOption,
            _ => return None,
        })
    }

    fn from_short(letter: char) -> Option<OptionKind> {
        Some(match letter {
            'r' => OptionKind::Requirement,
            'c' => OptionKind::Constraint,
            'e' => OptionKind::Editable,
            'i' => OptionKind::IndexUrl,
            'f' => OptionKind::FindLinks,
            _ => return None,
        })
    }

    fn takes_value(self) -> bool {
        !matches!(
            self,
            OptionKind::NoIndex
                | OptionKind::PreferBinary
                | OptionKind::RequireHashes
                | OptionKind::Pre
        )
    }
}

/// One option as written, with its value.
struct ParsedOption {
    kind: OptionKind,
    spelling: String,
    value: Option<String>,
}

/// Parse option words the way optparse does: `--name=value`, `--name value`, `-xvalue`,
/// `-x value`.
fn parse_options(words: &[String]) -> Result<Vec<ParsedOption>, String> {
    let mut options = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        index += 1;
        let (kind, spelling, inline) = if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let kind = OptionKind::from_long(name)
                .ok_or_else(|| format!("expected a pip requirements option, found `--{name}`"))?;
            (kind, format!("--{name}"), inline)
        } else if let Some(short) = word.strip_prefix('-') {
            let mut letters = short.chars();
            let letter = letters.next();
            let kind = letter
                .and_then(OptionKind::from_short)
                .ok_or_else(|| format!("expected a pip requirements option, found `{word}`"))?;
            let rest = letters.as_str();
            let inline = (!rest.is_empty()).then(|| rest.to_string());
            (kind, format!("-{}", letter.unwrap_or('-')), inline)
        } else {
            return Err(format!(
                "expected an option starting with `-` after the requirement, found `{word}`"
            ));
        };
        let value = if kind.takes_value() {
            match inline {
                Some(value) => Some(value),
                None => match words.get(index) {
                    Some(value) => {
                        index += 1;
                        Some(value.clone())
                    }
                    None => return Err(format!("expected a value after `{spelling}`")),
                },
            }
        } else if inline.is_some() {
            return Err(format!("expected no value after `{spelling}`"));
        } else {
            None
        };
        options.push(ParsedOption {
            kind,
            spelling,
            value,
        });
    }
    Ok(options)
}

/// Check a `--hash` value's form: `sha256:`, `sha384:` or `sha512:` (the algorithms pip accepts)
/// and a hex digest of that algorithm's length.
fn check_hash(value: &str) -> Result<(), String> {
    let expected = || {
        format!(
            "expected --hash=ALGORITHM:HEXDIGEST with ALGORITHM sha256, sha384 or sha512, found \
             `{value}`"
        )
    };
    let (algorithm, digest) = value.split_once(':').ok_or_else(expected)?;
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(expected()),
    };
    if digest.len() != length || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected a {length}-digit hex digest after `{algorithm}:` in --hash, found `{digest}`"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requirements

/// What a requirement line asks for.
#[derive(Debug, Clone)]
enum Wanted {
    /// `==version` or `===version`.
    Pinned(Version),
    /// Any other specifier, including none.
    Range(VersionSpecifiers),
    /// A URL, VCS reference, local path or editable install.
    Direct(PackageSource),
}

/// One entry of a `# via` annotation.
#[derive(Debug, Clone)]
enum Via {
    /// The project itself: `-r file`, `-c file`, `name (pyproject.toml)`.
    Project,
    /// Another package (or, when no package of that name is in the file, the project).
    Package(PackageName),
}

/// A requirement or constraint line, as read.
#[derive(Debug, Clone)]
struct Entry {
    name: PackageName,
    extras: Vec<ExtraName>,
    wanted: Wanted,
    marker: MarkerTree,
    /// `None` when no annotation follows the line.
    via: Option<Vec<Via>>,
    /// The requirement as a PEP 508 requirement, for the root's declared requirements.
    requirement: Option<Requirement>,
    line: usize,
}

/// Parse a via entry as pip-compile and uv write it.
fn parse_via(text: &str) -> Option<Via> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('-') || text.contains('(') {
        return Some(Via::Project);
    }
    let name_end = text
        .find(|c: char| c == '[' || c.is_whitespace())
        .unwrap_or(text.len());
    Some(match PackageName::from_str(&text[..name_end]) {
        Ok(name) => Via::Package(name),
        Err(_) => Via::Project,
    })
}

/// Whether a requirement string is a bare URL (pip's `is_url`): a scheme pip knows.
fn is_url(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "file" | "ftp")
        || ["git+", "hg+", "svn+", "bzr+"]
            .iter()
            .any(|prefix| scheme.starts_with(prefix))
        || matches!(scheme.as_str(), "git" | "hg" | "svn" | "bzr")
}

/// Whether a requirement string is a local path rather than a PEP 508 requirement: pip looks for
/// a path separator or a leading dot. `name @ ./path` is PEP 508.
fn looks_like_path(text: &str) -> bool {
    if text.contains('@') {
        return false;
    }
    text.starts_with('.')
        || text.starts_with('~')
        || text.contains('/')
        || text.contains(std::path::MAIN_SEPARATOR)
}

/// The package name a URL or path names: `#egg=`, then a wheel or sdist file name, then the last
/// path component (without `.git` and `@ref`).
fn name_from_location(location: &str) -> Option<PackageName> {
    let (without_fragment, fragment) = match location.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (location, None),
    };
    if let Some(fragment) = fragment {
        for part in fragment.split('&') {
            if let Some(egg) = part.strip_prefix("egg=") {
                return PackageName::from_str(egg).ok();
            }
        }
    }
    let trimmed = without_fragment.trim_end_matches(['/', '\\']);
    let last = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    let last = last.split('@').next().unwrap_or(last);
    if crate::dist::is_distribution(last) {
        return crate::dist::project_name(last);
    }
    let last = last.strip_suffix(".git").unwrap_or(last);
    if last == "." || last == ".." || last.is_empty() {
        return None;
    }
    PackageName::from_str(last).ok()
}

/// Join `relative` onto `base` and fold `.` and `..` without touching the file system.
fn join_lexically(base: &Path, relative: &str) -> PathBuf {
    let joined = base.join(relative);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The source of a local path: an archive is a file, anything else a directory.
fn local_source(path: &Path, editable: bool) -> PackageSource {
    let display = path.display().to_string();
    if editable {
        PackageSource::Editable(display)
    } else if crate::dist::is_distribution(&display.to_ascii_lowercase()) {
        PackageSource::Path(display)
    } else {
        PackageSource::Directory(display)
    }
}

/// The source of a URL: `git+…` is git, `file:` a local path, anything else a plain URL.
fn url_source(url: &str, base: &Path, editable: bool) -> PackageSource {
    if editable {
        return PackageSource::Editable(url.to_string());
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("git+") || lower.starts_with("git:") {
        PackageSource::Git(url.to_string())
    } else if let Some(rest) = lower.strip_prefix("file:") {
        let rest = &url[url.len() - rest.len()..];
        let path = rest.strip_prefix("//").unwrap_or(rest);
        local_source(&join_lexically(base, path), false)
    } else {
        PackageSource::Url(url.to_string())
    }
}

/// A PEP 508 parse error as one line: pep508_rs's own `Display` draws a caret under the input.
fn pep508_message(error: &Pep508Error) -> String {
    format!(
        "expected a PEP 508 requirement (name[extras] specifier ; marker): {} (at column {})",
        error.message,
        error.start + 1
    )
}

/// A bare URL, path or editable location, with pip's `; ` marker separator.
fn parse_direct(location: &str, base: &Path, editable: bool) -> Result<Entry, String> {
    let (location, marker) = match location.split_once("; ") {
        Some((location, marker)) => (location.trim(), Some(marker.trim())),
        None => (location.trim(), None),
    };
    let marker = match marker {
        Some(marker) => crate::requirement::parse_marker(marker)
            .map_err(|error| format!("expected an environment marker after `;`: {error}"))?,
        None => MarkerTree::TRUE,
    };
    let name = name_from_location(location).ok_or_else(|| {
        format!(
            "expected a package name in `{location}` (a `#egg=name` fragment, or a file or \
             directory named after the package)"
        )
    })?;
    let source = if is_url(location) {
        url_source(location, base, editable)
    } else {
        let path = join_lexically(base, location);
        local_source(&path, editable)
    };
    Ok(Entry {
        name,
        extras: Vec::new(),
        wanted: Wanted::Direct(source),
        marker,
        via: None,
        requirement: None,
        line: 0,
    })
}

/// A requirement line's requirement part.
fn parse_requirement(text: &str, base: &Path) -> Result<Entry, String> {
    let before_marker = text.split(';').next().unwrap_or(text).trim();
    if is_url(before_marker) || looks_like_path(before_marker) {
        return parse_direct(text, base, false);
    }
    crate::requirement::refuse_known_panics(text).map_err(|reason| {
        format!("expected a PEP 508 requirement (name[extras] specifier ; marker): {reason}")
    })?;
    let requirement =
        Requirement::<VerbatimUrl>::parse(text, base).map_err(|error| pep508_message(&error))?;
    let wanted = match &requirement.version_or_url {
        None => Wanted::Range(VersionSpecifiers::empty()),
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => match &specifiers[..] {
            [only] if matches!(only.operator(), Operator::Equal | Operator::ExactEqual) => {
                Wanted::Pinned(only.version().clone())
            }
            _ => Wanted::Range(specifiers.clone()),
        },
        Some(VersionOrUrl::Url(url)) => {
            let written = url
                .given()
                .map(str::to_string)
                .unwrap_or_else(|| url.raw().to_string());
            Wanted::Direct(url_source(&written, base, false))
        }
    };
    Ok(Entry {
        name: requirement.name.clone(),
        extras: requirement.extras.clone(),
        wanted,
        marker: requirement.marker.clone(),
        via: None,
        requirement: Some(requirement),
        line: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// Files and includes

/// A file on the include stack.
struct FileFrame {
    /// The canonical path when the file exists on disk, for cycle detection.
    key: PathBuf,
    /// The path as it is shown in messages.
    path: PathBuf,
}

fn file_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Everything read from the file and its includes.
#[derive(Default)]
struct Collector {
    /// Requirements, with the file each came from (index into `files`).
    entries: Vec<(Entry, usize)>,
    constraints: Vec<Entry>,
    files: Vec<PathBuf>,
    index_url: Option<String>,
    extra_index_urls: Vec<String>,
    no_index: Option<(PathBuf, usize)>,
}

impl Collector {
    /// Read one file. `stack` holds the including files and the line of each `-r`/`-c`.
    fn read_file(
        &mut self,
        frame: &FileFrame,
        bytes: &[u8],
        constraint: bool,
        stack: &mut Vec<(FileFrame, usize)>,
    ) -> Result<(), LockfileError> {
        let path = frame.path.as_path();
        let error = |line: usize, message: String| LockfileError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let text = utf8(path, bytes)?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let file_index = self.files.len();
        self.files.push(path.to_path_buf());

        // The entry the next `# via` annotation belongs to, and whether a multi-line annotation
        // is open.
        let mut last: Option<usize> = None;
        let mut in_via = false;
        for item in logical_lines(text) {
            match item {
                Item::Comment { body } => {
                    let trimmed = body.trim_start();
                    if let Some(rest) = trimmed
                        .strip_prefix("via")
                        .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
                    {
                        in_via = rest.trim().is_empty();
                        if let Some(entry) = last {
                            let via = self.via_list(entry, constraint);
                            via.extend(rest.split(',').filter_map(parse_via));
                        }
                    } else if in_via && body.starts_with("  ") {
                        if let Some(entry) = last {
                            let via = self.via_list(entry, constraint);
                            via.extend(parse_via(&body));
                        }
                    } else {
                        in_via = false;
                    }
                }
                Item::Logical {
                    line,
                    text,
                    comment,
                } => {
                    in_via = false;
                    let expanded = expand_env(text.trim());
                    if expanded.is_empty() {
                        continue;
                    }
                    last = None;
                    let (args, options) = split_args_options(&expanded);
                    let words = split_words(&options).map_err(|message| error(line, message))?;
                    let options = parse_options(&words).map_err(|message| error(line, message))?;
                    let mut entry = None;
                    if !args.trim().is_empty() {
                        let mut parsed = parse_requirement(args.trim(), &base)
                            .map_err(|message| error(line, message))?;
                        parsed.line = line;
                        entry = Some(parsed);
                    }
                    for option in &options {
                        let value = option.value.as_deref().unwrap_or_default();
                        match option.kind {
                            OptionKind::Hash => {
                                check_hash(value).map_err(|message| error(line, message))?;
                                if entry.is_none() {
                                    return Err(error(
                                        line,
                                        "expected a requirement before --hash".to_string(),
                                    ));
                                }
                            }
                            // Per-requirement build settings: no effect on what is installed.
                            OptionKind::ConfigSettings | OptionKind::GlobalOption => {}
                            // pip ignores global options on a requirement line.
                            _ if entry.is_some() => {}
                            OptionKind::Editable => {
                                let mut parsed = parse_direct(value, &base, true)
                                    .map_err(|message| error(line, message))?;
                                parsed.line = line;
                                entry = Some(parsed);
                            }
                            OptionKind::Requirement | OptionKind::Constraint => {
                                stack.push((
                                    FileFrame {
                                        key: frame.key.clone(),
                                        path: frame.path.clone(),
                                    },
                                    line,
                                ));
                                let result = self.include(
                                    &base,
                                    option,
                                    value,
                                    // pip: `-r` inside a constraints file reads requirements,
                                    // `-c` anywhere reads constraints.
                                    option.kind == OptionKind::Constraint,
                                    stack,
                                );
                                stack.pop();
                                result?;
                            }
                            OptionKind::IndexUrl => self.index_url = Some(value.to_string()),
                            OptionKind::ExtraIndexUrl => {
                                if !self.extra_index_urls.iter().any(|url| url == value) {
                                    self.extra_index_urls.push(value.to_string());
                                }
                            }
                            OptionKind::NoIndex => {
                                self.no_index.get_or_insert((path.to_path_buf(), line));
                            }
                            OptionKind::FindLinks
                            | OptionKind::NoBinary
                            | OptionKind::OnlyBinary
                            | OptionKind::PreferBinary
                            | OptionKind::RequireHashes
                            | OptionKind::Pre
                            | OptionKind::TrustedHost
                            | OptionKind::UseFeature => {}
                        }
                    }
                    if let Some(mut entry) = entry {
                        // pip-compile's `--annotation-style=line`: `name==1.0  # via a, b`.
                        if let Some(rest) = comment
                            .as_deref()
                            .map(str::trim_start)
                            .and_then(|comment| comment.strip_prefix("via "))
                        {
                            entry.via = Some(rest.split(',').filter_map(parse_via).collect());
                        }
                        if constraint {
                            self.constraints.push(entry);
                            last = Some(self.constraints.len() - 1);
                        } else {
                            self.entries.push((entry, file_index));
                            last = Some(self.entries.len() - 1);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn via_list(&mut self, entry: usize, constraint: bool) -> &mut Vec<Via> {
        let entry = if constraint {
            &mut self.constraints[entry]
        } else {
            &mut self.entries[entry].0
        };
        entry.via.get_or_insert_with(Vec::new)
    }

    /// Read a `-r`/`-c` file from disk, refusing cycles and the network.
    fn include(
        &mut self,
        base: &Path,
        option: &ParsedOption,
        value: &str,
        constraint: bool,
        stack: &mut Vec<(FileFrame, usize)>,
    ) -> Result<(), LockfileError> {
        let (including, line) = stack
            .last()
            .map(|(frame, line)| (frame.path.clone(), *line))
            .unwrap_or_default();
        let error = |message: String| LockfileError::Parse {
            path: including.clone(),
            line,
            message,
        };
        let lower = value.to_ascii_lowercase();
        let target = if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(error(format!(
                "expected a local file after `{}`, found the URL `{value}`: np2audit never \
                 fetches requirements files over the network",
                option.spelling
            )));
        } else if let Some(rest) = lower.strip_prefix("file:") {
            let rest = &value[value.len() - rest.len()..];
            join_lexically(base, rest.strip_prefix("//").unwrap_or(rest))
        } else {
            join_lexically(base, value)
        };
        let key = file_key(&target);
        if let Some(start) = stack.iter().position(|(frame, _)| frame.key == key) {
            let chain: Vec<String> = stack[start..]
                .iter()
                .map(|(frame, line)| format!("{}:{line}", frame.path.display()))
                .collect();
            return Err(error(format!(
                "expected includes without a cycle, found {} -> {}",
                chain.join(" -> "),
                target.display()
            )));
        }
        let bytes = std::fs::File::open(&target)
            .and_then(super::read_limited)
            .map_err(|source| {
                error(format!(
                    "expected a readable requirements file for `{} {value}` at {}: {source}",
                    option.spelling,
                    target.display()
                ))
            })?;
        let frame = FileFrame { key, path: target };
        self.read_file(&frame, &bytes, constraint, stack)
    }

    // -----------------------------------------------------------------------------------------
    // Building the graph

    fn build(self, path: &Path) -> Result<LockedProject, LockfileError> {
        let registry = self
            .index_url
            .clone()
            .unwrap_or_else(|| DEFAULT_INDEX_URL.to_string());
        let mut index_urls = Vec::new();
        if self.index_url.is_some() || !self.extra_index_urls.is_empty() {
            index_urls.push(registry.clone());
        }
        for url in &self.extra_index_urls {
            if !index_urls.contains(url) {
                index_urls.push(url.clone());
            }
        }

        // The root is named after the file's stem (`requirements`, `requirements-universal`), or
        // `requirements` when the stem is not a valid name.
        let stem = path.file_stem().and_then(|stem| stem.to_str());
        let root_name = stem
            .and_then(|stem| PackageName::from_str(stem).ok())
            .map_or_else(|| PackageName::from_str("requirements"), Ok)
            .map_err(|err| LockfileError::Parse {
                path: path.to_path_buf(),
                line: 0,
                message: format!("expected a file name that makes a package name: {err}"),
            })?;
        let mut packages = vec![LockedPackage {
            name: root_name,
            version: None,
            specifier: None,
            source: PackageSource::Virtual(path.display().to_string()),
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line: 0,
        }];
        let root = PackageId(0);

        // Packages, name by name, in the order names first appear. `targets[i]` lists the
        // packages entry `i` stands for.
        let mut order: Vec<PackageName> = Vec::new();
        let mut by_name: HashMap<PackageName, Vec<usize>> = HashMap::new();
        for (index, (entry, _)) in self.entries.iter().enumerate() {
            by_name
                .entry(entry.name.clone())
                .or_insert_with(|| {
                    order.push(entry.name.clone());
                    Vec::new()
                })
                .push(index);
        }
        let mut targets: Vec<Vec<PackageId>> = vec![Vec::new(); self.entries.len()];
        let mut package_markers: Vec<MarkerTree> = vec![MarkerTree::FALSE; packages.len()];
        let mut named: HashMap<PackageName, Vec<PackageId>> = HashMap::new();
        for name in &order {
            let indices = &by_name[name];
            let first_new = packages.len();
            let constraints: Vec<&Entry> = self
                .constraints
                .iter()
                .filter(|constraint| &constraint.name == name)
                .collect();
            let new_package = |packages: &mut Vec<LockedPackage>,
                               version: Option<Version>,
                               specifier: Option<VersionSpecifiers>,
                               source: PackageSource,
                               line: usize| {
                packages.push(LockedPackage {
                    name: name.clone(),
                    version,
                    specifier,
                    source,
                    dependencies: Vec::new(),
                    files: Vec::new(),
                    declared: Vec::new(),
                    line,
                });
                PackageId(packages.len() - 1)
            };
            // Pins and direct sources: one package per distinct version or source.
            let mut pinned: Vec<(Version, PackageId)> = Vec::new();
            let mut direct: Vec<(PackageSource, PackageId)> = Vec::new();
            let mut ranges: Vec<usize> = Vec::new();
            for &index in indices {
                let entry = &self.entries[index].0;
                match &entry.wanted {
                    Wanted::Pinned(version) => {
                        let id = match pinned.iter().find(|(known, _)| known == version) {
                            Some((_, id)) => *id,
                            None => {
                                let id = new_package(
                                    &mut packages,
                                    Some(version.clone()),
                                    None,
                                    PackageSource::Registry(registry.clone()),
                                    entry.line,
                                );
                                pinned.push((version.clone(), id));
                                id
                            }
                        };
                        targets[index].push(id);
                    }
                    Wanted::Direct(source) => {
                        let id = match direct.iter().find(|(known, _)| known == source) {
                            Some((_, id)) => *id,
                            None => {
                                let id = new_package(
                                    &mut packages,
                                    None,
                                    None,
                                    source.clone(),
                                    entry.line,
                                );
                                direct.push((source.clone(), id));
                                id
                            }
                        };
                        targets[index].push(id);
                    }
                    Wanted::Range(_) => ranges.push(index),
                }
            }
            // Ranges: onto the pins they admit; else one package for all of them, which a
            // constraint may pin.
            let mut unplaced = Vec::new();
            for &index in &ranges {
                let Wanted::Range(specifiers) = &self.entries[index].0.wanted else {
                    continue;
                };
                let admitted: Vec<PackageId> = pinned
                    .iter()
                    .filter(|(version, _)| specifiers.contains(version))
                    .map(|(_, id)| *id)
                    .collect();
                if admitted.is_empty() {
                    unplaced.push(index);
                } else {
                    targets[index] = admitted;
                }
            }
            if let Some(&first) = unplaced.first() {
                let mut specifiers: Vec<_> = unplaced
                    .iter()
                    .filter_map(|&index| match &self.entries[index].0.wanted {
                        Wanted::Range(specifiers) => Some(specifiers.iter().cloned()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                let mut version = None;
                for constraint in &constraints {
                    match &constraint.wanted {
                        Wanted::Pinned(pin) => version = Some(pin.clone()),
                        Wanted::Range(range) => specifiers.extend(range.iter().cloned()),
                        Wanted::Direct(_) => {}
                    }
                }
                let specifier = match version {
                    Some(_) => None,
                    None => Some(specifiers.into_iter().collect::<VersionSpecifiers>()),
                };
                let id = new_package(
                    &mut packages,
                    version,
                    specifier,
                    PackageSource::Registry(registry.clone()),
                    self.entries[first].0.line,
                );
                for &index in &unplaced {
                    targets[index].push(id);
                }
            }
            let ids: Vec<PackageId> = (first_new..packages.len()).map(PackageId).collect();
            package_markers.resize(packages.len(), MarkerTree::FALSE);
            named.insert(name.clone(), ids);
        }
        for (index, (entry, _)) in self.entries.iter().enumerate() {
            for id in &targets[index] {
                package_markers[id.0].or(entry.marker.clone());
            }
        }

        // Edges: from the via annotations, else from the root.
        let mut declared = Vec::new();
        for (index, (entry, file)) in self.entries.iter().enumerate() {
            let mut parents: Vec<PackageId> = Vec::new();
            let mut from_root = entry.via.is_none();
            for via in entry.via.iter().flatten() {
                match via {
                    Via::Project => from_root = true,
                    Via::Package(parent) if parent == &entry.name => {}
                    Via::Package(parent) => match named.get(parent) {
                        Some(ids) => {
                            for id in ids {
                                let mut both = package_markers[id.0].clone();
                                both.and(entry.marker.clone());
                                if !both.is_false() && !parents.contains(id) {
                                    parents.push(*id);
                                }
                            }
                        }
                        // Not in the file: the project, or a package left out on purpose
                        // (`--unsafe-package`); either way the root reaches this package.
                        None => from_root = true,
                    },
                }
            }
            if from_root {
                parents.push(root);
                // Hand-written ranges of the top-level file are the project's own requirements.
                if *file == 0
                    && matches!(entry.wanted, Wanted::Range(_))
                    && let Some(requirement) = &entry.requirement
                {
                    declared.push(DeclaredRequirement {
                        requirement: requirement.clone(),
                        via: DependencyKind::Normal,
                    });
                }
            }
            for parent in parents {
                for &child in &targets[index] {
                    add_edge(&mut packages[parent.0], child, entry);
                }
            }
        }
        if let Some(root_package) = packages.first_mut() {
            root_package.declared = declared;
        }

        let mut warnings = Vec::new();
        let unpinned: Vec<String> = packages
            .iter()
            .filter(|package| package.specifier.is_some())
            .map(|package| package.name.to_string())
            .collect();
        if !unpinned.is_empty() {
            let mut names = unpinned
                .iter()
                .take(WARNING_NAME_LIMIT)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if unpinned.len() > WARNING_NAME_LIMIT {
                names.push_str(", …");
            }
            warnings.push(format!(
                "{}: {} requirements are not pinned ({names}): the newest release each allows is \
                 audited; this file is not a lock",
                path.display(),
                unpinned.len()
            ));
        }
        if let Some((file, line)) = &self.no_index {
            warnings.push(format!(
                "{}:{line}: --no-index: pip installs from no package index (only --find-links \
                 locations), but np2audit still judges packages from the index",
                file.display()
            ));
        }

        Ok(LockedProject {
            path: path.to_path_buf(),
            format: LockFormat::Requirements,
            requires_python: None,
            packages,
            roots: vec![root],
            index_urls,
            warnings,
            generated_by: None,
            supported_markers: Vec::new(),
        })
    }
}

/// Add `parent → child` for one requirement line, merging with an edge already there: markers
/// OR'd, extras united.
fn add_edge(parent: &mut LockedPackage, child: PackageId, entry: &Entry) {
    match parent
        .dependencies
        .iter_mut()
        .find(|dependency| dependency.package == child)
    {
        Some(existing) => {
            existing.marker.or(entry.marker.clone());
            for extra in &entry.extras {
                if !existing.extras.contains(extra) {
                    existing.extras.push(extra.clone());
                }
            }
        }
        None => parent.dependencies.push(LockedDependency {
            package: child,
            marker: entry.marker.clone(),
            extras: entry.extras.clone(),
            via: DependencyKind::Normal,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn options_split_as_pip_splits_them() {
        assert_eq!(
            split_words(r#"--hash=sha256:ab -r "my reqs.txt" --index-url 'https://x/a b'"#)
                .unwrap(),
            [
                "--hash=sha256:ab",
                "-r",
                "my reqs.txt",
                "--index-url",
                "https://x/a b"
            ]
        );
        assert_eq!(split_words(r"a\ b").unwrap(), ["a b"]);
        assert!(split_words(r#"-r "unclosed"#).is_err());
    }

    use std::collections::BTreeSet;

    use super::*;
    use crate::lockfile::parse_lockfile;

    fn fixture(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/lockfiles")
            .join(relative)
    }

    fn read(relative: &str) -> Result<LockedProject, LockfileError> {
        let path = fixture(relative);
        let bytes = std::fs::read(&path).unwrap_or_default();
        parse_lockfile(&path, LockFormat::Requirements, &bytes)
    }

    fn parse_text(name: &str, text: &str) -> Result<LockedProject, LockfileError> {
        parse_lockfile(
            &fixture("requirements-cases").join(name),
            LockFormat::Requirements,
            text.as_bytes(),
        )
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_include_is_refused_at_the_size_limit() {
        let started = std::time::Instant::now();
        let error = parse_text("endless.txt", "numpy==1.26.4\n-r /dev/zero\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("endless.txt:2"), "{error}");
        assert!(error.contains("/dev/zero"), "{error}");
        assert!(error.contains("no lockfile is"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    /// `(name, version)` of every `name==version` line in the file.
    fn pins_in(text: &str) -> BTreeSet<(String, String)> {
        text.lines()
            .filter(|line| !line.starts_with([' ', '#']))
            .filter_map(|line| line.split([' ', ';']).next()?.split_once("=="))
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .collect()
    }

    /// Name edges of the graph, the root written as `<root>`.
    fn edges(project: &LockedProject) -> BTreeSet<(String, String)> {
        let mut edges = BTreeSet::new();
        for id in project.ids() {
            let parent = if project.roots.contains(&id) {
                "<root>".to_string()
            } else {
                project.package(id).name.to_string()
            };
            for dependency in &project.package(id).dependencies {
                edges.insert((
                    parent.clone(),
                    project.package(dependency.package).name.to_string(),
                ));
            }
        }
        edges
    }

    /// Parent → child name edges of `uv tree` text output: each line's parent is the nearest line
    /// above it one level up; `name[extras]` folds onto `name`; the first line is the root.
    fn uv_tree_edges(text: &str) -> BTreeSet<(String, String)> {
        let mut stack: Vec<String> = Vec::new();
        let mut edges = BTreeSet::new();
        for line in text.lines() {
            if line.starts_with("(*)") || line.trim().is_empty() {
                continue;
            }
            let Some(start) = line.find(|c: char| c.is_ascii_alphanumeric()) else {
                continue;
            };
            // Each level is four columns: `│   `, `├── `, `└── `.
            let depth = line[..start].chars().count() / 4;
            let name = line[start..]
                .split([' ', '['])
                .next()
                .unwrap_or_default()
                .to_string();
            let name = if depth == 0 {
                "<root>".to_string()
            } else {
                name
            };
            stack.truncate(depth);
            if let Some(parent) = stack.last() {
                edges.insert((parent.clone(), name.clone()));
            }
            stack.push(name);
        }
        edges
    }

    fn non_root_pins(project: &LockedProject) -> BTreeSet<(String, String)> {
        project
            .ids()
            .filter(|id| !project.roots.contains(id))
            .map(|id| {
                let package = project.package(id);
                let version = package
                    .version
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (package.name.to_string(), version)
            })
            .collect()
    }

    /// A `uv pip compile` file for Linux / CPython 3.11: the packages are exactly the pins, and
    /// the via edges are exactly `uv tree`'s for that environment. `uv-tree.txt` is the exact
    /// reference: it is the tree for the same environment the file was compiled for, while
    /// `tree.json` is universal (other Pythons' versions and edges). Tree edges are restricted to
    /// pinned names because `uv tree` also shows groups the compile was not given (`docs`).
    fn check_compiled(folder: &str) {
        let project = read(&format!("{folder}/requirements.txt")).expect("parses");
        let text = std::fs::read_to_string(fixture(&format!("{folder}/requirements.txt")))
            .expect("fixture");
        let pins = pins_in(&text);
        assert_eq!(non_root_pins(&project), pins, "{folder}");
        assert_eq!(project.packages.len(), pins.len() + 1, "{folder}");
        assert!(project.warnings.is_empty(), "{:?}", project.warnings);

        let tree =
            std::fs::read_to_string(fixture(&format!("{folder}/uv-tree.txt"))).expect("fixture");
        let names: BTreeSet<String> = pins.iter().map(|(name, _)| name.clone()).collect();
        let in_file = |name: &String| name == "<root>" || names.contains(name);
        let expected: BTreeSet<_> = uv_tree_edges(&tree)
            .into_iter()
            .filter(|(parent, child)| in_file(parent) && in_file(child))
            .collect();
        let found = edges(&project);
        assert_eq!(
            found.difference(&expected).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{folder}: edges not in uv tree"
        );
        assert_eq!(
            expected.difference(&found).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{folder}: uv tree edges missing"
        );
    }

    #[test]
    fn compiled_ds2023_matches_uv_tree() {
        check_compiled("ds2023-numpy1");
    }

    #[test]
    fn compiled_modern_numpy2_matches_uv_tree() {
        check_compiled("modern-numpy2");
    }

    #[test]
    fn compiled_markers_extras_groups_matches_uv_tree() {
        check_compiled("markers-extras-groups");
    }

    #[test]
    fn universal_files_keep_markers_and_duplicate_names() {
        for folder in ["modern-numpy2", "markers-extras-groups"] {
            let project = read(&format!("{folder}/requirements.universal.txt")).expect("parses");
            let numpy: Vec<&LockedPackage> = project
                .packages
                .iter()
                .filter(|package| package.name.as_ref() == "numpy")
                .collect();
            assert!(numpy.len() >= 2, "{folder}: numpy at several versions");
            let text =
                std::fs::read_to_string(fixture(&format!("{folder}/requirements.universal.txt")))
                    .expect("fixture");
            assert_eq!(non_root_pins(&project), pins_in(&text), "{folder}");
            // Every numpy version is reached, and through marked edges.
            for package in numpy {
                let id = PackageId(
                    project
                        .packages
                        .iter()
                        .position(|p| std::ptr::eq(p, package))
                        .unwrap_or_default(),
                );
                let incoming: Vec<&LockedDependency> = project
                    .packages
                    .iter()
                    .flat_map(|p| &p.dependencies)
                    .filter(|d| d.package == id)
                    .collect();
                assert!(!incoming.is_empty(), "{folder}: numpy {id:?} unreachable");
                assert!(incoming.iter().all(|d| !d.marker.is_true()), "{folder}");
            }
        }
    }

    #[test]
    fn uv_export_files_parse() {
        for folder in ["ds2023-numpy1", "modern-numpy2", "markers-extras-groups"] {
            for file in [
                "requirements.uv-export.txt",
                "requirements.uv-export-nohashes.txt",
            ] {
                let relative = format!("{folder}/{file}");
                let project = read(&relative).expect("parses");
                let text = std::fs::read_to_string(fixture(&relative)).expect("fixture");
                assert_eq!(non_root_pins(&project), pins_in(&text), "{relative}");
                // uv export writes `# via <project>` (a bare name not in the file): root edges.
                assert!(
                    !project.package(project.roots[0]).dependencies.is_empty(),
                    "{relative}"
                );
                assert!(project.warnings.is_empty(), "{relative}");
            }
        }
    }

    #[test]
    fn without_annotations_the_root_depends_on_everything() {
        let project = parse_text(
            "flat.txt",
            "numpy==1.26.4\npandas==2.0.3 ; python_version < \"3.12\"\n",
        )
        .expect("parses");
        let root = project.package(project.roots[0]);
        assert_eq!(root.name.as_ref(), "flat");
        assert_eq!(root.dependencies.len(), 2);
        assert!(!root.dependencies[1].marker.is_true());
    }

    #[test]
    fn unpinned_constraints_includes_and_direct_sources() {
        let project = read("requirements-cases/main.in").expect("parses");
        let find = |name: &str| {
            project
                .packages
                .iter()
                .find(|package| package.name.as_ref() == name)
        };
        // The constraint pins pandas; numpy and unrelated are named only by constraints.
        assert_eq!(
            find("pandas").and_then(|p| p.version.clone()),
            Version::from_str("2.2.3").ok()
        );
        assert!(find("numpy").is_none() && find("unrelated").is_none());
        assert_eq!(
            find("scipy").and_then(|p| p.version.clone()),
            Version::from_str("1.11.4").ok()
        );
        assert!(matches!(
            find("my-tool").map(|p| &p.source),
            Some(PackageSource::Editable(_))
        ));
        assert!(matches!(
            find("widget").map(|p| &p.source),
            Some(PackageSource::Git(_))
        ));
        assert!(matches!(
            find("something").map(|p| &p.source),
            Some(PackageSource::Url(_))
        ));
        assert_eq!(
            project.index_urls,
            vec![
                DEFAULT_INDEX_URL.to_string(),
                "https://example.com/simple".to_string()
            ]
        );
        assert_eq!(project.package(project.roots[0]).dependencies.len(), 5);
        assert!(project.warnings.is_empty(), "{:?}", project.warnings);

        let loose = parse_text("loose.in", "numpy<2\nrequests\nscipy==1.11.4\n").expect("parses");
        assert_eq!(loose.warnings.len(), 1);
        assert!(
            loose.warnings[0].contains("2 requirements are not pinned (numpy, requests)"),
            "{}",
            loose.warnings[0]
        );
        assert_eq!(loose.package(loose.roots[0]).declared.len(), 2);
    }

    #[test]
    fn options_env_vars_and_no_index() {
        // The variable is unset, so pip leaves `${NAME}` as written.
        let text = "-i ${NP2AUDIT_TEST_UNSET_INDEX}\n--no-index\n--pre\n--only-binary :all:\n\
                    numpy===1.26.4 \\\n  --hash sha512:"
            .to_string()
            + &"0".repeat(128)
            + "\n";
        let project = parse_text("options.txt", &text).expect("parses");
        assert_eq!(
            project.index_urls,
            vec!["${NP2AUDIT_TEST_UNSET_INDEX}".to_string()]
        );
        assert!(
            project
                .warnings
                .iter()
                .any(|w| w.contains(":2: --no-index"))
        );
        assert_eq!(project.packages.len(), 2);
    }

    fn parse_error(result: Result<LockedProject, LockfileError>) -> (PathBuf, usize, String) {
        match result {
            Err(LockfileError::Parse {
                path,
                line,
                message,
            }) => (path, line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_option_names_the_line() {
        let (path, line, message) =
            parse_error(parse_text("bad.txt", "numpy==1.0\n--frobnicate x\n"));
        assert!(path.ends_with("bad.txt"));
        assert_eq!(line, 2);
        assert!(message.contains("--frobnicate"), "{message}");
    }

    #[test]
    fn include_cycle_names_both_files_and_lines() {
        let error = read("requirements-cases/cycle-a.txt").expect_err("cycle");
        let text = error.to_string();
        let (path, line, message) = parse_error(Err(error));
        assert!(path.ends_with("cycle-b.txt"), "{text}");
        assert_eq!(line, 2);
        assert!(message.contains("cycle-a.txt:2"), "{message}");
        assert!(message.contains("cycle-b.txt:2"), "{message}");
    }

    #[test]
    fn missing_include_names_the_line() {
        let (path, line, message) = parse_error(parse_text(
            "missing.txt",
            "numpy==1.0\n\n-r does-not-exist.txt\n",
        ));
        assert!(path.ends_with("missing.txt"));
        assert_eq!(line, 3);
        assert!(message.contains("does-not-exist.txt"), "{message}");
    }

    #[test]
    fn bad_pep508_names_the_line() {
        let (path, line, message) = parse_error(parse_text("pep508.txt", "# header\nnumpy=>1.0\n"));
        assert!(path.ends_with("pep508.txt"));
        assert_eq!(line, 2);
        assert!(
            message.starts_with("expected a PEP 508 requirement"),
            "{message}"
        );
    }

    #[test]
    fn bad_hash_names_the_line() {
        let (_, line, message) = parse_error(parse_text(
            "hash.txt",
            "numpy==1.0 \\\n    --hash=sha256:abc\n",
        ));
        assert_eq!(line, 1);
        assert!(message.contains("64-digit"), "{message}");
        let (_, line, message) =
            parse_error(parse_text("hash.txt", "\nnumpy==1.0 --hash=md5:abc\n"));
        assert_eq!(line, 2);
        assert!(message.contains("sha256"), "{message}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\\",
            "-",
            "--",
            "-r",
            "${",
            "${A",
            "#",
            " # via",
            "a @",
            "'",
            "-e",
            "[x]",
            "a;",
            "./",
            "git+https://x",
            "numpy==1.0 \\\n",
            "\u{feff}numpy",
        ] {
            let _ = parse_text("odd.txt", text);
        }
        let _ = parse_lockfile(Path::new("odd.txt"), LockFormat::Requirements, b"\xff\n");
    }
}
