//! Project configuration: `np2audit.toml`, else `[tool.np2audit]` in `pyproject.toml`, in the
//! lockfile's folder. Flags and environment variables override it.
//!
//! ```toml
//! [tool.np2audit]
//! target = "2.2"
//! python-version = "3.11"
//! python-platform = "linux"
//! index-url = "https://pypi.example.com/simple"
//! fail-on = ["declared", "binary", "unknown"]
//! ignore = [
//!     { package = "legacy-ext", version = "0.9.0", reason = "replaced in Q3", until = 2027-01-31 },
//! ]
//! ```

use std::path::{Path, PathBuf};

use pep440_rs::Version;
use pep508_rs::PackageName;
use serde::Deserialize;
use time::Date;
use toml::Spanned;

use crate::environment::{Platform, PythonVersion};

/// The configuration, validated.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from (for messages), if anywhere.
    pub path: Option<PathBuf>,
    pub target: Option<Version>,
    pub python: Option<PythonVersion>,
    pub platform: Option<Platform>,
    pub index_url: Option<String>,
    pub fail_on: Option<Vec<FailOn>>,
    pub ignore: Vec<IgnoreEntry>,
}

/// A finding to hide: `package` (any version unless `version`), for `reason`, until a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub package: PackageName,
    pub version: Option<Version>,
    pub reason: String,
    pub until: Option<Date>,
    /// Line of the entry in the configuration file.
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The reason is in the message, not a `source`: `{:#}` would print it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Deserialize)]
struct PyprojectWire {
    #[serde(default)]
    tool: ToolWire,
}

#[derive(Default, Deserialize)]
struct ToolWire {
    np2audit: Option<Spanned<ConfigWire>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ConfigWire {
    target: Option<Spanned<String>>,
    python_version: Option<Spanned<String>>,
    python_platform: Option<Spanned<String>>,
    index_url: Option<String>,
    fail_on: Option<Vec<FailOn>>,
    #[serde(default)]
    ignore: Vec<Spanned<IgnoreWire>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreWire {
    package: Spanned<String>,
    version: Option<Spanned<String>>,
    reason: String,
    /// A TOML date (`2027-01-31`) or the same as a string.
    until: Option<Spanned<toml::Value>>,
}

/// Find and read the configuration for a project in `folder`: `np2audit.toml` first (as ruff
/// prefers `ruff.toml`), else `[tool.np2audit]` in `pyproject.toml`. None found is the default.
pub fn discover(folder: &Path) -> Result<Config, ConfigError> {
    let own = folder.join("np2audit.toml");
    if let Some(text) = read_if_present(&own)? {
        let wire: ConfigWire = parse(&own, &text, |t| toml::from_str(t))?;
        return validate(&own, &text, wire);
    }
    let pyproject = folder.join("pyproject.toml");
    if let Some(text) = read_if_present(&pyproject)? {
        let wire: PyprojectWire = parse(&pyproject, &text, |t| toml::from_str(t))?;
        if let Some(section) = wire.tool.np2audit {
            return validate(&pyproject, &text, section.into_inner());
        }
    }
    Ok(Config::default())
}

fn read_if_present(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::Io {
            path: path.display().to_string(),
            error,
        }),
    }
}

fn parse<T>(
    path: &Path,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, toml::de::Error>,
) -> Result<T, ConfigError> {
    parse(text).map_err(|error| ConfigError::Invalid {
        path: path.display().to_string(),
        line: error.span().map_or(1, |span| line_of(text, span.start)),
        message: error.message().to_string(),
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn validate(path: &Path, text: &str, wire: ConfigWire) -> Result<Config, ConfigError> {
    let invalid = |offset: usize, message: String| ConfigError::Invalid {
        path: path.display().to_string(),
        line: line_of(text, offset),
        message,
    };
    let target = wire
        .target
        .map(|t| {
            t.get_ref().parse::<Version>().map_err(|_| {
                invalid(
                    t.span().start,
                    format!("target: `{}` is not a PEP 440 version", t.get_ref()),
                )
            })
        })
        .transpose()?;
    let python = wire
        .python_version
        .map(|p| {
            p.get_ref()
                .parse::<PythonVersion>()
                .map_err(|e| invalid(p.span().start, format!("python-version: {e}")))
        })
        .transpose()?;
    let platform = wire
        .python_platform
        .map(|p| {
            p.get_ref()
                .parse::<Platform>()
                .map_err(|e| invalid(p.span().start, format!("python-platform: {e}")))
        })
        .transpose()?;
    let mut ignore = Vec::new();
    for entry in wire.ignore {
        let line = line_of(text, entry.span().start);
        let entry = entry.into_inner();
        let package = PackageName::new(entry.package.get_ref().clone()).map_err(|e| {
            invalid(
                entry.package.span().start,
                format!(
                    "ignore: `{}` is not a package name: {e}",
                    entry.package.get_ref()
                ),
            )
        })?;
        let version = entry
            .version
            .map(|v| {
                v.get_ref().parse::<Version>().map_err(|_| {
                    invalid(
                        v.span().start,
                        format!("ignore: `{}` is not a PEP 440 version", v.get_ref()),
                    )
                })
            })
            .transpose()?;
        let until = entry
            .until
            .map(|u| {
                let text = match u.get_ref() {
                    toml::Value::Datetime(datetime) => datetime.to_string(),
                    toml::Value::String(text) => text.clone(),
                    _ => String::new(),
                };
                parse_date(&text).ok_or_else(|| {
                    invalid(
                        u.span().start,
                        format!("ignore: until must be a date like 2027-01-31, not `{text}`"),
                    )
                })
            })
            .transpose()?;
        if entry.reason.trim().is_empty() {
            return Err(invalid(
                line_start(text, line),
                "ignore: every entry needs a reason".into(),
            ));
        }
        ignore.push(IgnoreEntry {
            package,
            version,
            reason: entry.reason,
            until,
            line,
        });
    }
    Ok(Config {
        path: Some(path.to_path_buf()),
        target,
        python,
        platform,
        index_url: wire.index_url,
        fail_on: wire.fail_on,
        ignore,
    })
}

fn line_start(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum()
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// Kinds of finding `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    Declared,
    Binary,
    /// Source blockers, and the project's own code using a name the target NumPy removed.
    Source,
    Suspect,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn np2audit_toml_wins_over_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            "[tool.np2audit]\ntarget = \"2.1\"\n",
        );
        assert_eq!(
            discover(dir.path()).unwrap().target,
            Some("2.1".parse().unwrap())
        );
        write(dir.path(), "np2audit.toml", "target = \"2.0\"\n");
        assert_eq!(
            discover(dir.path()).unwrap().target,
            Some("2.0".parse().unwrap())
        );
    }

    #[test]
    fn every_setting_and_ignore_entries_are_read() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            r#"[project]
name = "x"

[tool.np2audit]
python-version = "3.11"
python-platform = "linux"
index-url = "https://example.com/simple"
fail-on = ["declared", "unknown"]
ignore = [
    { package = "Legacy_Ext", version = "0.9", reason = "replaced in Q3", until = 2027-01-31 },
    { package = "other", reason = "vendored", until = "2026-05-01" },
]
"#,
        );
        let config = discover(dir.path()).unwrap();
        assert_eq!(config.python, Some(PythonVersion::new(3, 11)));
        assert!(config.platform.is_some());
        assert_eq!(
            config.index_url.as_deref(),
            Some("https://example.com/simple")
        );
        assert_eq!(
            config.fail_on,
            Some(vec![FailOn::Declared, FailOn::Unknown])
        );
        assert_eq!(config.ignore.len(), 2);
        assert_eq!(config.ignore[0].package.as_ref(), "legacy-ext");
        assert_eq!(config.ignore[0].line, 10);
        assert_eq!(
            config.ignore[1].until,
            Some(time::macros::date!(2026 - 05 - 01))
        );
    }

    #[test]
    fn bad_configuration_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("target = \"two\"\n", 1, "not a PEP 440 version"),
            ("\nfail-on = [\"sometimes\"]\n", 2, "sometimes"),
            ("colour = \"red\"\n", 1, "unknown field"),
            (
                "ignore = [\n  { package = \"a\", reason = \"r\", until = \"soon\" },\n]\n",
                2,
                "until must be a date",
            ),
            (
                "ignore = [\n  { package = \"a\", reason = \" \" },\n]\n",
                2,
                "needs a reason",
            ),
            ("ignore = [\n  { package = \"a\" },\n]\n", 2, "reason"),
        ];
        for (text, line, expected) in cases {
            write(dir.path(), "np2audit.toml", text);
            let error = discover(dir.path()).unwrap_err().to_string();
            assert!(
                error.contains(&format!("np2audit.toml:{line}: ")) && error.contains(expected),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn no_configuration_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pyproject.toml", "[project]\nname = \"x\"\n");
        assert!(discover(dir.path()).unwrap().path.is_none());
    }
}
