//! Distribution files — wheels and sdists — as their names describe them: the project, the
//! version, a wheel's tags; and a distribution's file name in a URL. One reading of these names
//! for the whole program (index pages, every lock format, requirements files, installed
//! environments), with one list of archive suffixes.

use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::PackageName;

/// The archive suffixes of source distributions, as pip accepts them: PEP 625 allows only
/// `.tar.gz`, and older releases on PyPI use the rest (`.zip`, `.tar.bz2`, …).
pub const SDIST_SUFFIXES: &[&str] = &[
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".tar",
    ".zip",
];

/// The tag sets of a wheel file name (`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`),
/// each split at its dots (a compressed tag set: `manylinux_2_17_x86_64.manylinux2014_x86_64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelTags {
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

impl WheelTags {
    /// The tags of a wheel file name; `None` for anything that is not a wheel's name.
    pub fn from_filename(filename: &str) -> Option<WheelTags> {
        let parts = wheel_parts(filename)?;
        let n = parts.len();
        let split = |part: &str| part.split('.').map(str::to_string).collect::<Vec<_>>();
        Some(WheelTags {
            python: split(parts[n - 3]),
            abi: split(parts[n - 2]),
            platform: split(parts[n - 1]),
        })
    }

    /// A pure-Python wheel installs anywhere and has no compiled code to scan.
    pub fn is_pure(&self) -> bool {
        self.abi.iter().all(|abi| abi == "none") && self.platform.iter().all(|p| p == "any")
    }

    /// Whether its compiled code needs a Python ABI: false only for an ABI tag of `none`
    /// (`nvidia_cudnn_cu13-…-py3-none-manylinux_2_27_x86_64.whl`), which holds no extension
    /// module.
    pub fn has_python_abi(&self) -> bool {
        !self.abi.iter().all(|abi| abi.eq_ignore_ascii_case("none"))
    }
}

/// The dash-separated parts of a wheel's name without `.whl`: five, or six with a build tag.
fn wheel_parts(filename: &str) -> Option<Vec<&str>> {
    let stem = filename.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    (5..=6).contains(&parts.len()).then_some(parts)
}

/// An sdist's name without its archive suffix; `None` for anything else.
pub fn sdist_stem(filename: &str) -> Option<&str> {
    SDIST_SUFFIXES
        .iter()
        .find_map(|suffix| filename.strip_suffix(suffix))
}

/// Whether `filename` is a wheel's or an sdist's.
pub fn is_distribution(filename: &str) -> bool {
    filename.ends_with(".whl") || sdist_stem(filename).is_some()
}

/// A project name as PEP 503 compares them: lowercase, runs of `-`, `_`, `.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.push(character.to_ascii_lowercase());
        }
    }
    normalized
}

/// The version a wheel's or sdist's file name gives. `project`, when known, tells where an
/// sdist's name ends (sdist names keep the project's spelling and may hold dashes:
/// `python-dateutil-2.9.0.tar.gz`); without it the version starts after the last `-` that a
/// digit follows.
pub fn file_version(filename: &str, project: Option<&str>) -> Option<Version> {
    if let Some(parts) = wheel_parts(filename) {
        return parts[1].parse().ok();
    }
    let stem = sdist_stem(filename)?;
    if let Some(project) = project
        && stem.len() > project.len()
        && stem.is_char_boundary(project.len())
        && normalize(&stem[..project.len()]) == normalize(project)
    {
        return stem[project.len()..].strip_prefix('-')?.parse().ok();
    }
    sdist_split(stem).1.parse().ok()
}

/// The project a wheel's or sdist's file name is of.
pub fn project_name(filename: &str) -> Option<PackageName> {
    let name = match wheel_parts(filename) {
        Some(parts) => parts[0],
        None => sdist_split(sdist_stem(filename)?).0,
    };
    PackageName::from_str(name).ok()
}

/// An sdist stem split before the version: at the last `-` that a digit follows, else whole.
fn sdist_split(stem: &str) -> (&str, &str) {
    stem.char_indices()
        .rfind(|&(at, character)| {
            character == '-' && stem[at + 1..].starts_with(|c: char| c.is_ascii_digit())
        })
        .map_or((stem, ""), |(at, _)| (&stem[..at], &stem[at + 1..]))
}

/// The file name a distribution URL ends in, percent-decoded (`torch-2.1.0%2Bcpu-…` →
/// `torch-2.1.0+cpu-…`); the query and fragment are not part of it.
pub fn filename_from_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let segment = path.rsplit('/').next()?;
    (!segment.is_empty()).then(|| percent_decode(segment))
}

/// Decode `%XX` escapes; text that does not decode to UTF-8 is kept as written.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_or_else(|_| text.to_string(), |decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_wheels_and_sdists() {
        let v =
            |file: &str, project: Option<&str>| file_version(file, project).map(|v| v.to_string());
        assert_eq!(
            v("Bottleneck-1.3.7-cp311-cp311-win32.whl", Some("bottleneck")).as_deref(),
            Some("1.3.7")
        );
        assert_eq!(
            v("x-1.0-1build-py3-none-any.whl", None).as_deref(),
            Some("1.0")
        );
        for (file, project) in [
            ("python-dateutil-2.9.0.tar.gz", Some("python-dateutil")),
            ("python_dateutil-2.9.0.zip", Some("python-dateutil")),
            ("python-dateutil-2.9.0.tar.gz", None),
            ("python-dateutil-2.9.0.tar.bz2", None),
            ("python-dateutil-2.9.0.tar.xz", None),
            ("python-dateutil-2.9.0.tgz", None),
        ] {
            assert_eq!(v(file, project).as_deref(), Some("2.9.0"), "{file}");
        }
        assert_eq!(
            v("numpy-2.0.0rc1.tar.gz", Some("numpy")).as_deref(),
            Some("2.0.0rc1")
        );
        // A project whose name ends in a digit-led part: only the name tells where it ends.
        assert_eq!(
            v("py-3to2-1.0.tar.gz", Some("py-3to2")).as_deref(),
            Some("1.0")
        );
        assert_eq!(v("README.txt", Some("x")), None);
        assert_eq!(v("x-1.0-py3.whl", None), None, "too few tags for a wheel");
        // A name cut inside a multi-byte character must not panic.
        assert_eq!(v("é-1.0.tar.gz", Some("ab")).as_deref(), Some("1.0"));
    }

    #[test]
    fn project_names_of_files() {
        let name = |file: &str| project_name(file).map(|n| n.to_string());
        assert_eq!(
            name("Pillow-10.0.0-cp311-cp311-win_amd64.whl").as_deref(),
            Some("pillow")
        );
        assert_eq!(
            name("python-dateutil-2.9.0.tar.gz").as_deref(),
            Some("python-dateutil")
        );
        assert_eq!(
            name("zope.interface-6.0.zip").as_deref(),
            Some("zope-interface")
        );
        assert_eq!(name("demo.tar.gz").as_deref(), Some("demo"));
        assert_eq!(name("demo.txt"), None);
    }

    #[test]
    fn wheel_tags_and_abi() {
        let tags = WheelTags::from_filename(
            "x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(
            tags.platform,
            ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
        );
        assert!(tags.has_python_abi() && !tags.is_pure());
        let none = WheelTags::from_filename(
            "nvidia_cudnn_cu13-9.24.0.43-py3-none-manylinux_2_27_x86_64.whl",
        )
        .unwrap();
        assert!(!none.has_python_abi());
        assert!(
            WheelTags::from_filename("x-1-py3-none-any.whl")
                .unwrap()
                .is_pure()
        );
        assert_eq!(WheelTags::from_filename("x-1.tar.gz"), None);
    }

    #[test]
    fn names_compare_normalized() {
        assert_eq!(normalize("Zope.Interface"), "zope-interface");
        assert_eq!(normalize("a__b-.c"), "a-b-c");
    }

    #[test]
    fn file_names_of_urls() {
        assert_eq!(
            filename_from_url("https://download.pytorch.org/whl/cpu/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256=ab")
                .as_deref(),
            Some("torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl")
        );
        assert_eq!(
            filename_from_url("https://host/files/demo-1.0.tar.gz?token=a&b=c").as_deref(),
            Some("demo-1.0.tar.gz")
        );
        assert_eq!(filename_from_url("https://host/dir/"), None);
        assert_eq!(percent_decode("50%zz"), "50%zz");
        assert_eq!(percent_decode("%ff"), "%ff");
    }
}
