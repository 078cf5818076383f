//! What every reader shares: the text with its line index, errors at a span, names, versions and hashes.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName};
use toml::Spanned;

use super::{LockedPackage, LockfileError, PackageId, line_of};

/// The text of a file that must be UTF-8; a byte-order mark is dropped (it holds no newline, so
/// line numbers stay intact). A bad byte is reported at its line: that is where a repair starts.
pub(super) fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, LockfileError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(err) => {
            let valid = std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default();
            Err(LockfileError::Parse {
                path: path.to_path_buf(),
                line: line_of(valid, valid.len()),
                message: format!(
                    "expected UTF-8 text, found an invalid byte at byte offset {}",
                    err.valid_up_to()
                ),
            })
        }
    }
}

/// The file being read: everything an error message needs to name the file and the line.
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    /// Byte offsets of every `\n`. Every package records its line, and counting newlines from
    /// the start of the text each time costs seconds on a large lock in a debug build.
    newlines: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(path: &'a Path, text: &'a str) -> Self {
        let newlines = text
            .bytes()
            .enumerate()
            .filter_map(|(offset, byte)| (byte == b'\n').then_some(offset))
            .collect();
        Source {
            path,
            text,
            newlines,
        }
    }

    /// 1-based line of a byte offset, as [`line_of`] counts it.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&newline| newline < offset) + 1
    }

    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> LockfileError {
        self.error_line(self.line(offset), message)
    }

    pub(super) fn error_line(&self, line: usize, message: impl Into<String>) -> LockfileError {
        LockfileError::Parse {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub(super) fn error_at<T>(
        &self,
        value: &Spanned<T>,
        message: impl Into<String>,
    ) -> LockfileError {
        self.error(value.span().start, message)
    }

    pub(super) fn syntax_error(&self, err: &toml::de::Error) -> LockfileError {
        // `message()`, not `Display`: the latter quotes the source line, which our own
        // `path:line:` prefix already points at.
        let offset = err.span().map_or(0, |span| span.start);
        self.error(offset, format!("invalid TOML: {}", err.message()))
    }

    pub(super) fn schema_error(&self, err: &toml::de::Error) -> LockfileError {
        // Without the source text attached, the error renders as the message followed by the
        // key path (``in `package.dependencies` ``) on separate lines; keep both, on one line.
        let message = err
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let offset = err.span().map_or(0, |span| span.start);
        self.error(offset, message)
    }

    /// Append a package, indexed by name; the same name, version and source twice is an error
    /// (a lock may hold several versions of a name, for different environments).
    pub(super) fn add_package(
        &self,
        packages: &mut Vec<LockedPackage>,
        by_name: &mut HashMap<PackageName, Vec<PackageId>>,
        package: LockedPackage,
    ) -> Result<PackageId, LockfileError> {
        let same_name = by_name.entry(package.name.clone()).or_default();
        if let Some(twin) = same_name
            .iter()
            .map(|other| &packages[other.0])
            .find(|other| other.version == package.version && other.source == package.source)
        {
            return Err(self.error_line(
                package.line,
                format!(
                    "package `{}` is locked twice, at lines {} and {}",
                    package.display_id(),
                    twin.line,
                    package.line
                ),
            ));
        }
        let id = PackageId(packages.len());
        same_name.push(id);
        packages.push(package);
        Ok(id)
    }

    /// A package name; `key` is the field it was read from, for the message.
    pub(super) fn package_name(
        &self,
        raw: &Spanned<String>,
        key: &str,
    ) -> Result<PackageName, LockfileError> {
        PackageName::from_str(raw.get_ref()).map_err(|_| {
            self.error_at(
                raw,
                format!(
                    "expected `{key}` to be a package name, found `{}`",
                    raw.get_ref()
                ),
            )
        })
    }

    pub(super) fn version(&self, raw: &Spanned<String>) -> Result<Version, LockfileError> {
        Version::from_str(raw.get_ref()).map_err(|_| {
            self.error_at(
                raw,
                format!(
                    "expected `version` to be a PEP 440 version, found `{}`",
                    raw.get_ref()
                ),
            )
        })
    }

    pub(super) fn specifiers(
        &self,
        raw: &Spanned<String>,
        key: &str,
    ) -> Result<VersionSpecifiers, LockfileError> {
        VersionSpecifiers::from_str(raw.get_ref()).map_err(|err| {
            // The first line only: the rest underlines the input, which the message quotes.
            let rendered = err.to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches(':');
            self.error_at(
                raw,
                format!(
                    "expected `{key}` to be PEP 440 version specifiers, found `{}`: {first}",
                    raw.get_ref()
                ),
            )
        })
    }

    pub(super) fn extra_name(&self, raw: &Spanned<String>) -> Result<ExtraName, LockfileError> {
        ExtraName::from_str(raw.get_ref()).map_err(|_| {
            self.error_at(
                raw,
                format!("expected an extra name, found `{}`", raw.get_ref()),
            )
        })
    }

    /// Dependency group names normalise like extra names (PEP 735), so `ExtraName` does the work.
    pub(super) fn group_name(&self, raw: &Spanned<String>) -> Result<String, LockfileError> {
        ExtraName::from_str(raw.get_ref())
            .map(|name| name.to_string())
            .map_err(|_| {
                self.error_at(
                    raw,
                    format!(
                        "expected a dependency group name, found `{}`",
                        raw.get_ref()
                    ),
                )
            })
    }

    /// The sha256 digest of a `hash = "<algorithm>:<hex digest>"`, lowercased; `None` for other
    /// algorithms.
    pub(super) fn sha256(&self, hash: &Spanned<String>) -> Result<Option<String>, LockfileError> {
        let invalid = || {
            self.error_at(
                hash,
                format!(
                    "expected `hash` to be `<algorithm>:<hex digest>`, found `{}`",
                    hash.get_ref()
                ),
            )
        };
        let (algorithm, digest) = hash.get_ref().split_once(':').ok_or_else(invalid)?;
        if digest.is_empty() || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        if !algorithm.eq_ignore_ascii_case("sha256") {
            return Ok(None);
        }
        if digest.len() != 64 {
            return Err(self.error_at(
                hash,
                format!(
                    "expected a sha256 digest of 64 hex digits, found {}",
                    digest.len()
                ),
            ));
        }
        Ok(Some(digest.to_ascii_lowercase()))
    }
}

/// The command in a tool's `autogenerated by … via the following command:` header (uv,
/// pip-compile), as written on the next comment line that is not blank.
pub(super) fn generator_command(text: &str) -> Option<String> {
    let mut lines = text.lines().take(12).map(str::trim);
    lines.find(|line| line.starts_with('#') && line.contains("the following command"))?;
    // pip-compile leaves a blank comment line before the command; uv does not.
    let command = lines
        .map_while(|line| line.strip_prefix('#'))
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    Some(command.to_string())
}

/// The Python a compiled file was resolved for, from pip-compile's header ("autogenerated by
/// pip-compile with Python 3.10"): its pins hold for that feature version.
pub(super) fn generator_python(text: &str) -> Option<VersionSpecifiers> {
    let line = text
        .lines()
        .take(6)
        .find(|line| line.starts_with('#') && line.contains("autogenerated by pip-compile"))?;
    let version = line.split("with Python").nth(1)?.trim();
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    if !(major.bytes().all(|b| b.is_ascii_digit()) && minor.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    format!("=={major}.{minor}.*").parse().ok()
}

#[cfg(test)]
mod generator_tests {
    use super::{generator_command, generator_python};

    #[test]
    fn the_python_a_file_was_compiled_for_is_read_from_pip_compiles_header() {
        let pip_tools = "#\n# This file is autogenerated by pip-compile with Python 3.10\n# by the following command:\n";
        assert_eq!(
            generator_python(pip_tools)
                .map(|s| s.to_string())
                .as_deref(),
            Some("==3.10.*")
        );
        assert_eq!(
            generator_python("# autogenerated by pip-compile with Python x.y\n"),
            None
        );
        assert_eq!(generator_python("numpy==1.26.4\n"), None);
    }

    #[test]
    fn the_generating_command_is_read_from_the_header() {
        let uv = "# This file was autogenerated by uv via the following command:\n#    uv pip compile pyproject.toml -o requirements.txt\nnumpy==1.26.4\n";
        assert_eq!(
            generator_command(uv).as_deref(),
            Some("uv pip compile pyproject.toml -o requirements.txt")
        );
        let pip_tools = "#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the following command:\n#\n#    pip-compile --output-file=requirements.txt requirements.in\n#\n";
        assert_eq!(
            generator_command(pip_tools).as_deref(),
            Some("pip-compile --output-file=requirements.txt requirements.in")
        );
        assert_eq!(generator_command("numpy==1.26.4\n"), None);
    }
}
