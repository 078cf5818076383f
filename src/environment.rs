//! The target environment: which Python and platform the audit judges for, the markers that
//! environment evaluates to, and which wheel it would install.

use crate::dist::WheelTags;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};

/// A CPython feature version such as 3.11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    pub const fn new(major: u8, minor: u8) -> Self {
        PythonVersion { major, minor }
    }

    /// The version as PEP 440 sees it for `requires-python` checks (`3.11` → 3.11.0).
    pub fn as_pep440(self) -> Version {
        Version::new([u64::from(self.major), u64::from(self.minor), 0])
    }

    /// Whether a `Requires-Python` specifier admits this feature version. Like pip and uv, the
    /// check is made against `X.Y.0` … but a `>=3.11.4` style lower bound also admits 3.11, since
    /// later patch releases of the same feature version satisfy it.
    pub fn satisfies(self, specifiers: &VersionSpecifiers) -> bool {
        if specifiers.contains(&self.as_pep440()) {
            return true;
        }
        // Try a late patch release of the same feature version.
        let late = Version::new([u64::from(self.major), u64::from(self.minor), 99]);
        specifiers.contains(&late)
    }

    /// The newest CPython feature release (3.15.0: October 2026; NumPy 2.5 and pandas 3.1 ship
    /// cp315 wheels): the highest Python an open-ended `requires-python` is judged for.
    pub const NEWEST_RELEASED: PythonVersion = PythonVersion::new(3, 15);

    /// The highest released feature version (3.8 … [`Self::NEWEST_RELEASED`]) that
    /// `requires-python` admits.
    pub fn highest_admitted(specifiers: &VersionSpecifiers) -> Option<PythonVersion> {
        (8..=Self::NEWEST_RELEASED.minor)
            .rev()
            .map(|minor| PythonVersion::new(3, minor))
            .find(|version| version.satisfies(specifiers))
    }

    /// The lowest feature version (3.8 … 3.20) that `requires-python` admits.
    pub fn lowest_admitted(specifiers: &VersionSpecifiers) -> Option<PythonVersion> {
        (8..=20)
            .map(|minor| PythonVersion::new(3, minor))
            .find(|version| version.satisfies(specifiers))
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid Python version `{0}`: expected MAJOR.MINOR such as 3.11")]
pub struct InvalidPythonVersion(String);

impl FromStr for PythonVersion {
    type Err = InvalidPythonVersion;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidPythonVersion(text.to_string());
        let mut parts = text.trim().split('.');
        let major: u8 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let minor: u8 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        // A patch component (3.11.7) is accepted and ignored: wheels are chosen by feature version.
        if let Some(patch) = parts.next() {
            patch.parse::<u16>().map_err(|_| invalid())?;
        }
        if major != 3 || parts.next().is_some() {
            return Err(invalid());
        }
        Ok(PythonVersion { major, minor })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    I686,
    Ppc64le,
    S390x,
}

impl Arch {
    /// `platform_machine` as Python reports it on this OS.
    fn machine(self, os: &Os) -> &'static str {
        match (self, os) {
            (Arch::X86_64, Os::Windows) => "AMD64",
            (Arch::Aarch64, Os::Windows) => "ARM64",
            (Arch::I686, Os::Windows) => "x86",
            (Arch::Aarch64, Os::MacOs { .. }) => "arm64",
            (Arch::X86_64, _) => "x86_64",
            (Arch::Aarch64, _) => "aarch64",
            (Arch::I686, _) => "i686",
            (Arch::Ppc64le, _) => "ppc64le",
            (Arch::S390x, _) => "s390x",
        }
    }

    fn parse(text: &str) -> Option<Arch> {
        match text {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            "i686" | "x86" => Some(Arch::I686),
            "ppc64le" | "powerpc64le" => Some(Arch::Ppc64le),
            "s390x" => Some(Arch::S390x),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Os {
    /// glibc Linux; wheels up to `manylinux_{major}_{minor}` install.
    Manylinux {
        major: u16,
        minor: u16,
    },
    /// musl Linux; wheels up to `musllinux_{major}_{minor}` install.
    Musllinux {
        major: u16,
        minor: u16,
    },
    MacOs {
        major: u16,
        minor: u16,
    },
    Windows,
}

/// A platform in uv's `--python-platform` vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: Os,
    pub arch: Arch,
    /// The name as given (or resolved from the host), for reports.
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown platform `{0}`: expected one of linux, macos, windows, x86_64-unknown-linux-gnu, \
     aarch64-unknown-linux-gnu, x86_64-unknown-linux-musl, aarch64-apple-darwin, x86_64-apple-darwin, \
     x86_64-pc-windows-msvc, aarch64-pc-windows-msvc, i686-pc-windows-msvc, \
     {{arch}}-manylinux_2_NN, {{arch}}-manylinux2014, {{arch}}-musllinux_1_N"
)]
pub struct UnknownPlatform(String);

// uv's defaults: glibc 2.28 for `*-unknown-linux-gnu`, musl 1.2, and the oldest macOS still
// supported (13.0) for `*-apple-darwin`.
const DEFAULT_GLIBC: (u16, u16) = (2, 28);
const DEFAULT_MUSL: (u16, u16) = (1, 2);
const DEFAULT_MACOS: (u16, u16) = (13, 0);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownPlatform(text.to_string());
        let name = text.to_string();
        let platform = |os, arch| Platform {
            os,
            arch,
            name: name.clone(),
        };
        let manylinux = || Os::Manylinux {
            major: DEFAULT_GLIBC.0,
            minor: DEFAULT_GLIBC.1,
        };
        let macos = || Os::MacOs {
            major: DEFAULT_MACOS.0,
            minor: DEFAULT_MACOS.1,
        };
        match text {
            "linux" => return Ok(platform(manylinux(), Arch::X86_64)),
            "macos" => return Ok(platform(macos(), Arch::Aarch64)),
            "windows" => return Ok(platform(Os::Windows, Arch::X86_64)),
            _ => {}
        }
        let (arch, rest) = text.split_once('-').ok_or_else(unknown)?;
        let arch = Arch::parse(arch).ok_or_else(unknown)?;
        let os = match rest {
            "unknown-linux-gnu" => manylinux(),
            "unknown-linux-musl" => Os::Musllinux {
                major: DEFAULT_MUSL.0,
                minor: DEFAULT_MUSL.1,
            },
            "apple-darwin" => macos(),
            "pc-windows-msvc" => Os::Windows,
            "manylinux2014" => Os::Manylinux {
                major: 2,
                minor: 17,
            },
            "manylinux2010" => Os::Manylinux {
                major: 2,
                minor: 12,
            },
            "manylinux1" => Os::Manylinux { major: 2, minor: 5 },
            _ => {
                let (kind, version) = rest.split_once('_').ok_or_else(unknown)?;
                let (major, minor) = version.split_once('_').ok_or_else(unknown)?;
                let major: u16 = major.parse().map_err(|_| unknown())?;
                let minor: u16 = minor.parse().map_err(|_| unknown())?;
                match kind {
                    "manylinux" => Os::Manylinux { major, minor },
                    "musllinux" => Os::Musllinux { major, minor },
                    "macos" => Os::MacOs { major, minor },
                    _ => return Err(unknown()),
                }
            }
        };
        Ok(platform(os, arch))
    }
}

impl Platform {
    /// The machine np2audit runs on, in the same vocabulary.
    pub fn host() -> Platform {
        let arch = Arch::parse(std::env::consts::ARCH).unwrap_or(Arch::X86_64);
        let arch_name = match arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I686 => "i686",
            Arch::Ppc64le => "powerpc64le",
            Arch::S390x => "s390x",
        };
        let triple = match std::env::consts::OS {
            "macos" => format!("{arch_name}-apple-darwin"),
            "windows" => format!("{arch_name}-pc-windows-msvc"),
            _ if cfg!(target_env = "musl") => format!("{arch_name}-unknown-linux-musl"),
            _ => format!("{arch_name}-unknown-linux-gnu"),
        };
        triple.parse().unwrap_or_else(|_| Platform {
            os: Os::Manylinux {
                major: DEFAULT_GLIBC.0,
                minor: DEFAULT_GLIBC.1,
            },
            arch: Arch::X86_64,
            name: "linux".to_string(),
        })
    }

    /// Wheel platform tags this platform installs, in the order `packaging.tags` gives them
    /// (golden lists in `testdata/wheel-tags/`): on Linux the machine's own `linux_<arch>` first,
    /// then `manylinux_2_N` from the target glibc down to 2.5 on x86 (2.17 elsewhere, where no
    /// older manylinux exists) with the legacy aliases beside their versions; on macOS each
    /// release from the target down to 11.0, then 10.16 to 10.4 (only `universal2` on arm64,
    /// whose x86_64 half is what may be that old).
    fn wheel_platform_tags(&self) -> Vec<String> {
        let arch = match (&self.os, self.arch) {
            (Os::MacOs { .. }, Arch::Aarch64) => "arm64",
            (_, Arch::X86_64) => "x86_64",
            (_, Arch::Aarch64) => "aarch64",
            (_, Arch::I686) => "i686",
            (_, Arch::Ppc64le) => "ppc64le",
            (_, Arch::S390x) => "s390x",
        };
        let mut tags = Vec::new();
        match &self.os {
            Os::Manylinux { major, minor } => {
                tags.push(format!("linux_{arch}"));
                let oldest = if matches!(self.arch, Arch::X86_64 | Arch::I686) {
                    5
                } else {
                    17
                };
                for minor in (oldest..=*minor).rev() {
                    tags.push(format!("manylinux_{major}_{minor}_{arch}"));
                    // The legacy aliases of PEP 600's tags.
                    match (*major, minor) {
                        (2, 17) => tags.push(format!("manylinux2014_{arch}")),
                        (2, 12) => tags.push(format!("manylinux2010_{arch}")),
                        (2, 5) => tags.push(format!("manylinux1_{arch}")),
                        _ => {}
                    }
                }
            }
            Os::Musllinux { major, minor } => {
                tags.push(format!("linux_{arch}"));
                for minor in (0..=*minor).rev() {
                    tags.push(format!("musllinux_{major}_{minor}_{arch}"));
                }
            }
            Os::MacOs { major, minor } => {
                let formats = |version: (u16, u16)| -> Vec<&'static str> {
                    match self.arch {
                        Arch::Aarch64 => vec!["arm64", "universal2"],
                        _ if version < (10, 4) => Vec::new(),
                        _ => vec![
                            "x86_64",
                            "intel",
                            "fat64",
                            "fat3",
                            "universal2",
                            "universal",
                        ],
                    }
                };
                let mut versions = Vec::new();
                if *major >= 11 {
                    // From macOS 11 on, a release is a major version; its minor ones are
                    // mid-year updates, and wheels name the `.0`.
                    versions.extend((11..=*major).rev().map(|major| (major, 0)));
                    versions.extend((4..=16).rev().map(|minor| (10, minor)));
                } else {
                    versions.extend((0..=*minor).rev().map(|minor| (10, minor)));
                }
                for (major, minor) in versions {
                    let formats = if major == 10 && self.arch == Arch::Aarch64 {
                        vec!["universal2"]
                    } else {
                        formats((major, minor))
                    };
                    for format in formats {
                        tags.push(format!("macosx_{major}_{minor}_{format}"));
                    }
                }
            }
            Os::Windows => tags.push(
                match self.arch {
                    Arch::X86_64 => "win_amd64",
                    Arch::Aarch64 => "win_arm64",
                    _ => "win32",
                }
                .to_string(),
            ),
        }
        tags
    }

    fn os_family(&self) -> &'static str {
        match self.os {
            Os::Manylinux { .. } | Os::Musllinux { .. } => "linux",
            Os::MacOs { .. } => "macos",
            Os::Windows => "windows",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The Python and platform an audit judges for.
#[derive(Debug, Clone)]
pub struct TargetEnvironment {
    pub python: PythonVersion,
    pub platform: Platform,
    markers: MarkerEnvironment,
    tag_ranks: HashMap<(String, String, String), usize>,
}

impl TargetEnvironment {
    pub fn new(python: PythonVersion, platform: Platform) -> TargetEnvironment {
        let markers = marker_environment(python, &platform);
        let tag_ranks = supported_tags(python, &platform)
            .into_iter()
            .enumerate()
            .map(|(rank, tag)| (tag, rank))
            .collect();
        TargetEnvironment {
            python,
            platform,
            markers,
            tag_ranks,
        }
    }

    pub fn markers(&self) -> &MarkerEnvironment {
        &self.markers
    }

    /// How well a wheel fits: `Some(rank)` (lower is better) when the environment would
    /// install it, `None` when it would not.
    pub fn wheel_rank(&self, tags: &WheelTags) -> Option<usize> {
        let mut best: Option<usize> = None;
        for python in &tags.python {
            for abi in &tags.abi {
                for platform in &tags.platform {
                    let key = (python.clone(), abi.clone(), platform.clone());
                    if let Some(&rank) = self.tag_ranks.get(&key) {
                        best = Some(best.map_or(rank, |b| b.min(rank)));
                    }
                }
            }
        }
        best
    }

    /// For a wheel this environment would not install, how close it comes (lower is closer):
    /// the same OS and architecture first, then the nearest Python version.
    pub fn wheel_distance(&self, tags: &WheelTags) -> usize {
        let arch_words: &[&str] = match self.platform.arch {
            Arch::X86_64 => &["x86_64", "amd64", "intel", "universal"],
            Arch::Aarch64 => &["aarch64", "arm64", "universal2"],
            Arch::I686 => &["i686", "win32"],
            Arch::Ppc64le => &["ppc64le"],
            Arch::S390x => &["s390x"],
        };
        let os_word = match self.platform.os_family() {
            "linux" => "linux",
            "macos" => "macosx",
            _ => "win",
        };
        let same_os = tags
            .platform
            .iter()
            .any(|p| p.contains(os_word) || p == "any");
        let same_arch = tags
            .platform
            .iter()
            .any(|p| p == "any" || arch_words.iter().any(|word| p.contains(word)));
        let python_gap = tags
            .python
            .iter()
            .filter_map(|tag| {
                let digits = tag.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                let minor: i32 = digits.strip_prefix('3')?.parse().ok()?;
                Some((minor - i32::from(self.python.minor)).unsigned_abs() as usize)
            })
            .min()
            .unwrap_or(50);
        (usize::from(!same_os) * 1000) + (usize::from(!same_arch) * 100) + python_gap
    }
}

fn marker_environment(python: PythonVersion, platform: &Platform) -> MarkerEnvironment {
    let (os_name, sys_platform, platform_system) = match platform.os {
        Os::Manylinux { .. } | Os::Musllinux { .. } => ("posix", "linux", "Linux"),
        Os::MacOs { .. } => ("posix", "darwin", "Darwin"),
        Os::Windows => ("nt", "win32", "Windows"),
    };
    let python_version = python.to_string();
    // Later patch releases are what users run; `.0` would wrongly fail `python_full_version >= 'X.Y.1'`.
    let python_full_version = format!("{python}.99");
    let machine = platform.arch.machine(&platform.os);
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &python_full_version,
        os_name,
        platform_machine: machine,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system,
        platform_version: "",
        python_full_version: &python_full_version,
        python_version: &python_version,
        sys_platform,
    })
    .expect("marker environment built from valid version strings")
}

/// Every (python, abi, platform) tag CPython `python` on `platform` installs, best first, in the
/// order `packaging.tags.sys_tags()` gives (`cpython_tags`, then `compatible_tags`; golden lists
/// in `testdata/wheel-tags/`): the interpreter's own ABI on every platform, then `abi3`, then
/// `none`, each across all platforms before the next; `abi3` of older minors; then `py3X`/`py3`
/// on each platform, version by version; then the pure-Python tags.
fn supported_tags(python: PythonVersion, platform: &Platform) -> Vec<(String, String, String)> {
    let platforms = platform.wheel_platform_tags();
    let minor = python.minor;
    let cp = format!("cp3{minor}");
    let mut tags = Vec::new();
    let mut push = |python: &str, abi: &str, platform: &str| {
        tags.push((python.to_string(), abi.to_string(), platform.to_string()));
    };
    for abi in [cp.as_str(), "abi3", "none"] {
        for plat in &platforms {
            push(&cp, abi, plat);
        }
    }
    for older in (2..minor).rev() {
        for plat in &platforms {
            push(&format!("cp3{older}"), "abi3", plat);
        }
    }
    // `py311`, `py3`, `py310`, …, `py30`: the order of packaging's `_py_interpreter_range`.
    let mut versions = vec![format!("py3{minor}"), "py3".to_string()];
    versions.extend((0..minor).rev().map(|older| format!("py3{older}")));
    for version in &versions {
        for plat in &platforms {
            push(version, "none", plat);
        }
    }
    push(&cp, "none", "any");
    for version in &versions {
        push(version, "none", "any");
    }
    // Universal py2.py3 wheels carry both tags; `py3` above already matches them.
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tag by tag, the lists `packaging.tags` gives CPython on each target
    /// (`testdata/wheel-tags/generate.py`).
    #[test]
    fn tags_follow_packaging_sys_tags() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/wheel-tags");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "txt") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_str().unwrap();
            let (interpreter, platform) = stem.split_once('-').unwrap();
            let python: PythonVersion = format!("3.{}", &interpreter[3..]).parse().unwrap();
            let platform: Platform = platform.parse().unwrap();
            let ours: Vec<String> = supported_tags(python, &platform)
                .into_iter()
                .map(|(python, abi, platform)| format!("{python}-{abi}-{platform}"))
                .collect();
            let text = std::fs::read_to_string(&path).unwrap();
            let golden: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
            let first_difference = ours
                .iter()
                .zip(&golden)
                .position(|(ours, golden)| ours != golden);
            assert!(
                first_difference.is_none() && ours.len() == golden.len(),
                "{stem}: {} tags against packaging's {}, first difference at {:?}: {:?} vs {:?}",
                ours.len(),
                golden.len(),
                first_difference,
                first_difference.map(|at| &ours[at]),
                first_difference.map(|at| golden[at]),
            );
            checked += 1;
        }
        assert_eq!(checked, 8);
    }

    fn env(python: &str, platform: &str) -> TargetEnvironment {
        TargetEnvironment::new(python.parse().unwrap(), platform.parse().unwrap())
    }

    fn rank(env: &TargetEnvironment, filename: &str) -> Option<usize> {
        env.wheel_rank(&WheelTags::from_filename(filename).unwrap())
    }

    #[test]
    fn manylinux_wheels_rank_by_specificity() {
        let linux = env("3.11", "linux");
        let exact = rank(
            &linux,
            "x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        );
        let abi3 = rank(&linux, "x-1-cp38-abi3-manylinux_2_17_x86_64.whl");
        let pure = rank(&linux, "x-1-py3-none-any.whl");
        assert!(exact.unwrap() < abi3.unwrap());
        assert!(abi3.unwrap() < pure.unwrap());
        assert_eq!(
            rank(&linux, "x-1-cp312-cp312-manylinux_2_17_x86_64.whl"),
            None
        );
        assert_eq!(
            rank(&linux, "x-1-cp311-cp311-manylinux_2_34_x86_64.whl"),
            None
        );
        assert_eq!(
            rank(&linux, "x-1-cp311-cp311-musllinux_1_2_x86_64.whl"),
            None
        );
        assert_eq!(rank(&linux, "x-1-cp311-cp311-win_amd64.whl"), None);
        assert!(rank(&linux, "x-1-cp311-cp311-manylinux_2_28_x86_64.whl").is_some());
        assert!(rank(&linux, "x-1-cp311-cp311-manylinux1_x86_64.whl").is_some());
    }

    #[test]
    fn macos_and_windows() {
        let mac = env("3.12", "macos");
        assert!(rank(&mac, "x-1-cp312-cp312-macosx_11_0_arm64.whl").is_some());
        // A universal2 wheel may name the macOS its x86_64 half supports: pip and uv install
        // `macosx_10_9_universal2` on Apple silicon (charset-normalizer, pyyaml ship only those).
        assert!(rank(&mac, "x-1-cp312-cp312-macosx_10_9_universal2.whl").is_some());
        assert!(rank(&mac, "x-1-cp312-cp312-macosx_10_9_x86_64.whl").is_none());
        assert!(rank(&mac, "x-1-cp312-cp312-macosx_11_0_universal2.whl").is_some());
        assert!(rank(&mac, "x-1-cp312-cp312-macosx_14_0_arm64.whl").is_none());
        let intel = env("3.12", "x86_64-apple-darwin");
        assert!(rank(&intel, "x-1-cp312-cp312-macosx_10_9_x86_64.whl").is_some());
        let windows = env("3.10", "windows");
        assert!(rank(&windows, "x-1-cp310-cp310-win_amd64.whl").is_some());
        assert!(rank(&windows, "x-1-cp310-cp310-win32.whl").is_none());
    }

    #[test]
    fn markers_follow_the_platform() {
        use pep508_rs::MarkerTree;
        let windows = env("3.11", "windows");
        let marker =
            MarkerTree::from_str("sys_platform == 'win32' and python_version >= '3.11'").unwrap();
        assert!(marker.evaluate(windows.markers(), &[]));
        let linux = env("3.10", "linux");
        assert!(!marker.evaluate(linux.markers(), &[]));
        let full = MarkerTree::from_str("python_full_version >= '3.10.1'").unwrap();
        assert!(full.evaluate(linux.markers(), &[]));
    }

    #[test]
    fn lowest_admitted_python() {
        let spec = VersionSpecifiers::from_str(">=3.10, <3.12").unwrap();
        assert_eq!(
            PythonVersion::lowest_admitted(&spec),
            Some(PythonVersion::new(3, 10))
        );
        let patch = VersionSpecifiers::from_str(">=3.9.2").unwrap();
        assert_eq!(
            PythonVersion::lowest_admitted(&patch),
            Some(PythonVersion::new(3, 9))
        );
    }

    #[test]
    fn platform_vocabulary() {
        for name in [
            "linux",
            "macos",
            "windows",
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "x86_64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "x86_64-manylinux_2_28",
            "aarch64-manylinux2014",
        ] {
            assert!(name.parse::<Platform>().is_ok(), "{name}");
        }
        let error = "solaris".parse::<Platform>().unwrap_err().to_string();
        assert!(error.contains("unknown platform `solaris`"), "{error}");
        assert!("3.x".parse::<PythonVersion>().is_err());
        assert_eq!(
            "3.11.7".parse::<PythonVersion>().unwrap(),
            PythonVersion::new(3, 11)
        );
    }
}
