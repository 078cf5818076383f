//! Wheel ABI scan: which NumPy C-API each shared object in a wheel was built against, from the byte strings NumPy's and Cython's generated import code leave behind.
//!
//! NumPy's `_import_array()` and Cython's numpy import are compiled into every extension that
//! uses the C-API, and their strings differ by the headers the extension was built with (see
//! DESIGN.md, "Telling a 1.x-built extension from a 2.x-built one"). Only NumPy 2's import
//! strings (`numpy._core._multiarray_umath`, Cython's `numpy._core.multiarray failed to import`)
//! show a 2.x build. A bare `numpy._core` proves nothing: pybind11 2.12 and later compile in a
//! run-time chooser that names both `numpy._core` and `numpy.core`, and tensorstore 0.1.59–0.1.61
//! hold that chooser beside import code built with NumPy 1.x headers.

use std::ops::ControlFlow;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::{Deserialize, Serialize};

/// True for members that are shared objects: `.so`, `.pyd`, `.dylib`, and versioned
/// `.so.N[.M…]` (e.g. `libfoo.so.1.2`), case-insensitive on the extension; not `.so` in the
/// middle of a directory name.
pub fn is_shared_object(member: &str) -> bool {
    let file_name = member
        .rsplit('/')
        .next()
        .unwrap_or(member)
        .to_ascii_lowercase();
    let has_extension = |extension: &str| {
        file_name
            .strip_suffix(extension)
            .is_some_and(|stem| !stem.is_empty())
    };
    if has_extension(".so") || has_extension(".pyd") || has_extension(".dylib") {
        return true;
    }
    // Versioned: `.so.` followed only by dot-separated numbers.
    file_name.match_indices(".so.").any(|(at, _)| {
        at > 0
            && file_name[at + ".so.".len()..]
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
    })
}

/// What one shared object's bytes show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SharedObjectBuild {
    /// Built against NumPy 2.x headers: NumPy 2's import strings are present.
    /// `oldest_numpy` is the `1.NN` from "module was compiled against NumPy C-API version 0x%x
    /// (NumPy 1.NN)" when that string is present with a literal version, else None.
    #[serde(rename = "numpy2")]
    NumPy2 { oldest_numpy: Option<String> },
    /// Built against NumPy 1.x headers: NumPy-1 import code and none of NumPy 2's import
    /// strings, whatever else the object holds (a run-time chooser's bare `numpy._core`).
    #[serde(rename = "numpy1")]
    NumPy1,
    /// Picks NumPy's module by NumPy's version at run time and compiles in no import code:
    /// the chooser of pybind11 2.12 and later and of rust-numpy 0.22 and later (`numpy._core`
    /// beside `numpy.core`). Works under NumPy 2.
    RuntimeLookup,
    /// Looks NumPy up at run time through `numpy.core.multiarray` with no version choice:
    /// pybind11 before 2.12 and rust-numpy before 0.22. Such modules import under NumPy 2 but
    /// keep NumPy 1.x's struct layout compiled in, and some calls go wrong: qdldl 0.1.5.post3
    /// and mapbox-earcut 1.0.1 return wrong numbers, tokenizers 0.19.1 panics. Not conclusive.
    LegacyLookup,
    /// A Cython module that checks NumPy's type sizes at import (`flatiter` among the types it
    /// imports, Cython's "size changed" check) but shows neither NumPy's import code nor the
    /// `.pxd`'s version string: Cython 3.2 and later compress a module's Python strings, and a
    /// module that cimports numpy only through a `.pxd` never runs `import_array`. Built
    /// against 1.x, it fails at import ("numpy.dtype size changed"); built against 2.x, it has
    /// the same plain strings. Not conclusive alone (see [`combine`]).
    CythonTypeCheck,
    /// Only weak traces (e.g. `_ARRAY_API` alone): not conclusive.
    Weak,
    /// No NumPy C-API strings.
    NoNumpy,
}

/// The byte strings that tell builds apart. Declaration order is the order reports list them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// NumPy 2.x headers' import (`_import_array`, `_import_umath`): the 2.x signature.
    Import2,
    /// Cython's error when numpy's C-API import fails, from NumPy 2.x's `__init__.pxd`: the 2.x
    /// signature of a Cython module that never calls `import_array`.
    CythonImport2,
    /// NumPy 1.16–1.26 headers' import, kept by 2.x headers as a fallback.
    Umath1,
    /// Cython's error when numpy's C-API import fails, from NumPy 1.x's `__init__.pxd`. Not when
    /// it is followed by " (auto-generated": that C literal is Cython's own (`NumpyImportArray.c`,
    /// Cython 3.0 to 3.3) and is in 2.x builds too.
    CythonImport1,
    /// NumPy < 1.16 headers' import, and the run-time lookups of pybind11 before 2.12 and
    /// rust-numpy before 0.22.
    Multiarray1,
    /// The capsule attribute every C-API import reads.
    ArrayApi,
    /// The ABI check in NumPy's generated import code (1.x, and 2.x next to its import string).
    AbiCheck,
    /// NumPy 1.x headers' feature-version check (2.x headers word it "module was compiled
    /// against NumPy C-API version").
    ApiCheck1,
    /// NumPy 2.x headers' feature-version check, which names the oldest supported NumPy.
    CApiVersion,
    /// `numpy._core` anywhere: part of every NumPy-2 string, and alone the module name a
    /// run-time chooser picks under NumPy 2. Reported only where no NumPy-2 import string is.
    Core2Token,
    /// The version test of pybind11's run-time chooser (`numpy.lib.NumpyVersion`).
    NumpyVersion,
    /// Cython's check of an imported type's size ("… size changed, may indicate binary
    /// incompatibility"), in every Cython module that imports extension types.
    CythonTypeCheck,
    /// `flatiter` as a C string of its own: one of the NumPy types Cython imports, by name,
    /// for a module that cimports numpy.
    NumpyTypes,
}

impl Marker {
    const ALL: [Marker; 13] = [
        Marker::Import2,
        Marker::CythonImport2,
        Marker::Umath1,
        Marker::CythonImport1,
        Marker::Multiarray1,
        Marker::ArrayApi,
        Marker::AbiCheck,
        Marker::ApiCheck1,
        Marker::CApiVersion,
        Marker::Core2Token,
        Marker::NumpyVersion,
        Marker::CythonTypeCheck,
        Marker::NumpyTypes,
    ];

    const fn pattern(self) -> &'static [u8] {
        match self {
            Marker::Import2 => b"numpy._core._multiarray_umath",
            Marker::CythonImport2 => b"numpy._core.multiarray failed to import",
            Marker::Umath1 => b"numpy.core._multiarray_umath",
            Marker::CythonImport1 => b"numpy.core.multiarray failed to import",
            Marker::Multiarray1 => b"numpy.core.multiarray",
            Marker::ArrayApi => b"_ARRAY_API",
            // With NumPy's C format: rust-numpy (0.22 on) words the same checks through Rust's
            // formatting, with no `%x` (polars 2.0.0), and works under either NumPy.
            Marker::AbiCheck => b"module compiled against ABI version 0x%x",
            Marker::CApiVersion => b"module was compiled against NumPy C-API version 0x",
            Marker::Core2Token => b"numpy._core",
            Marker::NumpyVersion => b"NumpyVersion",
            Marker::ApiCheck1 => b"module compiled against API version 0x%x",
            Marker::CythonTypeCheck => b"size changed, may indicate binary incompatibility",
            Marker::NumpyTypes => b"\0flatiter\0",
        }
    }

    /// How the marker is reported.
    const fn label(self) -> &'static str {
        match self {
            Marker::CApiVersion => "module was compiled against NumPy C-API version",
            Marker::Import2 => "numpy._core._multiarray_umath",
            Marker::CythonImport2 => "numpy._core.multiarray failed to import",
            Marker::Umath1 => "numpy.core._multiarray_umath",
            Marker::CythonImport1 => "numpy.core.multiarray failed to import",
            Marker::Multiarray1 => "numpy.core.multiarray",
            Marker::ArrayApi => "_ARRAY_API",
            Marker::AbiCheck => "module compiled against ABI version",
            Marker::Core2Token => "numpy._core",
            Marker::NumpyVersion => "NumpyVersion",
            Marker::ApiCheck1 => "module compiled against API version",
            Marker::CythonTypeCheck => "size changed, may indicate binary incompatibility",
            Marker::NumpyTypes => "flatiter",
        }
    }
}

/// The labels of the strings a scan reports, in report order: what a report may show in a
/// scan's `strings`.
pub const MARKER_LABELS: [&str; Marker::ALL.len()] = {
    let mut labels = [""; Marker::ALL.len()];
    let mut i = 0;
    while i < Marker::ALL.len() {
        labels[i] = Marker::ALL[i].label();
        i += 1;
    }
    labels
};

static FINDERS: LazyLock<[Finder<'static>; Marker::ALL.len()]> =
    LazyLock::new(|| Marker::ALL.map(|marker| Finder::new(marker.pattern())));

/// What follows the C-API version prefix: `%x (NumPy 1.NN)`. The gap allows for the format
/// specifier (`%x `) without tying the match to its exact spelling.
const VERSION_LITERAL: &[u8] = b"(NumPy 1.";
const MAX_SPECIFIER_GAP: usize = 8;
const MAX_MINOR_DIGITS: usize = 3;
const VERSION_TAIL_MAX: usize = MAX_SPECIFIER_GAP + VERSION_LITERAL.len() + MAX_MINOR_DIGITS + 1;

/// Longest byte run a single match may need to see at once.
const LONGEST_MATCH: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < Marker::ALL.len() {
        let len = Marker::ALL[i].pattern().len();
        if len > longest {
            longest = len;
        }
        i += 1;
    }
    let version_string = Marker::CApiVersion.pattern().len() + VERSION_TAIL_MAX;
    if version_string > longest {
        longest = version_string;
    }
    let auto_generated = Marker::CythonImport1.pattern().len() + AUTO_GENERATED.len();
    if auto_generated > longest {
        longest = auto_generated;
    }
    let cython_abi = CYTHON_ABI.len() + CYTHON_ABI_MAX;
    if cython_abi > longest {
        longest = cython_abi;
    }
    longest
};

/// What follows Cython's own `numpy.core.multiarray failed to import` literal, which is not
/// the `.pxd`'s 1.x string.
const AUTO_GENERATED: &[u8] = b" (auto-generated";

/// Cython's shared ABI module name, `_cython_3_2_9`: which Cython compiled an object.
const CYTHON_ABI: &[u8] = b"_cython_3_";
/// Digits and underscores read after [`CYTHON_ABI`], at most.
const CYTHON_ABI_MAX: usize = 12;

/// Bytes kept from the end of one chunk so that matches straddling into the next are seen.
const OVERLAP: usize = LONGEST_MATCH - 1;

/// What the bytes after a C-API version prefix say.
#[derive(Debug, PartialEq, Eq)]
enum VersionTail {
    /// `(NumPy 1.NN)`: the `1.NN`.
    Version(String),
    /// Something else: the string carries no literal version.
    Absent,
    /// The bytes end before it can be told; a later, longer window will decide.
    Incomplete,
}

fn parse_version_tail(rest: &[u8]) -> VersionTail {
    for gap in 0..=MAX_SPECIFIER_GAP {
        let Some(candidate) = rest.get(gap..) else {
            return VersionTail::Incomplete;
        };
        if candidate.len() < VERSION_LITERAL.len() {
            // Could still be the literal, cut off.
            return if VERSION_LITERAL.starts_with(candidate) {
                VersionTail::Incomplete
            } else {
                continue;
            };
        }
        let Some(after) = candidate.strip_prefix(VERSION_LITERAL) else {
            continue;
        };
        let digits = after
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        return match after.get(digits) {
            None if digits <= MAX_MINOR_DIGITS => VersionTail::Incomplete,
            Some(b')') if (1..=MAX_MINOR_DIGITS).contains(&digits) => {
                let minor = String::from_utf8_lossy(&after[..digits]);
                VersionTail::Version(format!("1.{minor}"))
            }
            _ => VersionTail::Absent,
        };
    }
    VersionTail::Absent
}

/// One shared object's scan as its bytes stream in: the [`SignatureScanner`], told to stop once
/// it is conclusive or the read passes the end of the object's read-only segments (an ELF
/// object's strings cannot lie further: [`super::elf`]).
#[derive(Default)]
pub struct ObjectScan {
    scanner: SignatureScanner,
    extent: super::elf::ReadOnlyExtent,
    /// Bytes of the object seen so far.
    position: u64,
}

impl ObjectScan {
    pub fn new() -> ObjectScan {
        ObjectScan::default()
    }

    /// Take the object's next bytes; `Break` once nothing further can change the result.
    pub fn feed(&mut self, chunk: &[u8]) -> ControlFlow<()> {
        let limit = self.extent.feed(chunk);
        let wanted = match limit {
            Some(limit) => limit.saturating_sub(self.position).min(chunk.len() as u64) as usize,
            None => chunk.len(),
        };
        self.scanner.feed(&chunk[..wanted]);
        self.position = self.position.saturating_add(chunk.len() as u64);
        if self.scanner.is_conclusive() || limit.is_some_and(|limit| self.position >= limit) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// How much of the object the scan reads at most, once its headers tell.
    pub fn limit(&self) -> Option<u64> {
        self.extent.limit()
    }

    pub fn finish(self) -> SharedObjectScan {
        self.scanner.finish()
    }
}

/// Streaming matcher: feed the decompressed bytes of one shared object in chunks of any size
/// (patterns may straddle chunk boundaries), then [`finish`](Self::finish).
pub struct SignatureScanner {
    found: [bool; Marker::ALL.len()],
    oldest_numpy: Option<String>,
    /// The Cython that compiled the object (`3_2_9`), from its ABI module name.
    cython: Option<String>,
    /// The last [`OVERLAP`] bytes fed so far.
    carry: Vec<u8>,
}

impl Default for SignatureScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl SignatureScanner {
    pub fn new() -> Self {
        SignatureScanner {
            found: [false; Marker::ALL.len()],
            oldest_numpy: None,
            cython: None,
            carry: Vec::with_capacity(2 * OVERLAP),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        // A match straddling the previous chunk's end lies within the carried bytes plus this
        // chunk's first OVERLAP bytes; matches inside the chunk are found in the chunk itself,
        // so chunks are never copied whole.
        let head = &chunk[..chunk.len().min(OVERLAP)];
        let mut seam = std::mem::take(&mut self.carry);
        seam.extend_from_slice(head);
        self.search(&seam);
        self.search(chunk);

        if chunk.len() >= OVERLAP {
            seam.clear();
            seam.extend_from_slice(&chunk[chunk.len() - OVERLAP..]);
        } else {
            // The whole chunk is in the seam already; keep its last OVERLAP bytes.
            let excess = seam.len().saturating_sub(OVERLAP);
            seam.drain(..excess);
        }
        self.carry = seam;
    }

    /// True once the result can no longer change in a way that matters: NumPy 2's import
    /// string (the object is 2.x-built, whatever else it holds) and a C-API version string with
    /// its literal version were both seen, so the caller may stop reading. A copy without the
    /// literal is not enough: a later one may carry it, and a whole scan would report that. A
    /// 1.x verdict is never conclusive early: a NumPy-2 import string may still follow.
    pub fn is_conclusive(&self) -> bool {
        self.has(Marker::Import2) && self.oldest_numpy.is_some()
    }

    pub fn finish(mut self) -> SharedObjectScan {
        // A `.pxd` string at the very end, with nothing after it to say it is Cython's own.
        let carry = std::mem::take(&mut self.carry);
        let pattern = Marker::CythonImport1.pattern();
        for start in memchr::memmem::find_iter(&carry, pattern) {
            let rest = &carry[start + pattern.len()..];
            if rest.len() < AUTO_GENERATED.len() && AUTO_GENERATED.starts_with(rest) {
                self.found[Marker::CythonImport1 as usize] = true;
            }
        }
        let numpy2_strings = self.has(Marker::Import2) || self.has(Marker::CythonImport2);
        let strings = Marker::ALL
            .into_iter()
            .filter(|&marker| self.has(marker))
            // Inside a NumPy-2 import string, `numpy._core` says nothing of its own.
            .filter(|&marker| !(marker == Marker::Core2Token && numpy2_strings))
            .map(|marker| marker.label().to_owned())
            .collect();
        SharedObjectScan {
            build: self.build(),
            strings,
            cython: self.cython,
        }
    }

    fn has(&self, marker: Marker) -> bool {
        self.found[marker as usize]
    }

    /// DESIGN.md's "Rules that follow", in order: NumPy 2's header import string decides for
    /// 2.x (those headers keep every NumPy-1 string as a fallback); failing it, any NumPy-1
    /// import code decides for 1.x, whatever else is there; then Cython's 2.x string (a module
    /// that never calls `import_array`); then a lookup through `numpy.core.multiarray` without
    /// a version choice, which keeps 1.x's layout; then a chooser that picks by version.
    fn build(&self) -> SharedObjectBuild {
        let has = |marker| self.has(marker);
        if has(Marker::Import2) {
            SharedObjectBuild::NumPy2 {
                oldest_numpy: self.oldest_numpy.clone(),
            }
        } else if has(Marker::Umath1)
            || has(Marker::CythonImport1)
            || has(Marker::AbiCheck)
            || has(Marker::ApiCheck1)
        {
            SharedObjectBuild::NumPy1
        } else if has(Marker::CythonImport2) {
            SharedObjectBuild::NumPy2 {
                oldest_numpy: self.oldest_numpy.clone(),
            }
        } else if has(Marker::NumpyTypes) && has(Marker::CythonTypeCheck) {
            SharedObjectBuild::CythonTypeCheck
        } else if has(Marker::Multiarray1) && has(Marker::ArrayApi) {
            // Reads the C-API table it found through `numpy.core.multiarray`.
            SharedObjectBuild::LegacyLookup
        } else if has(Marker::Core2Token) || has(Marker::Multiarray1) {
            // Names NumPy's modules, reads no C-API table through them: a Python-level lookup.
            SharedObjectBuild::RuntimeLookup
        } else if has(Marker::ArrayApi) || has(Marker::CApiVersion) {
            SharedObjectBuild::Weak
        } else {
            SharedObjectBuild::NoNumpy
        }
    }

    fn search(&mut self, haystack: &[u8]) {
        let finders = &*FINDERS;
        for marker in Marker::ALL {
            if matches!(marker, Marker::CApiVersion | Marker::CythonImport1) || self.has(marker) {
                continue;
            }
            if finders[marker as usize].find(haystack).is_some() {
                self.found[marker as usize] = true;
            }
        }
        if !self.has(Marker::CythonImport1) {
            let pattern_len = Marker::CythonImport1.pattern().len();
            for start in finders[Marker::CythonImport1 as usize].find_iter(haystack) {
                let rest = &haystack[start + pattern_len..];
                // Cut off before it can be told: the seam with the next chunk decides.
                if rest.len() < AUTO_GENERATED.len() && AUTO_GENERATED.starts_with(rest) {
                    continue;
                }
                if !rest.starts_with(AUTO_GENERATED) {
                    self.found[Marker::CythonImport1 as usize] = true;
                    break;
                }
            }
        }
        if self.cython.is_none() {
            for start in memchr::memmem::find_iter(haystack, CYTHON_ABI) {
                let rest = &haystack[start + CYTHON_ABI.len()..];
                let length = rest
                    .iter()
                    .take(CYTHON_ABI_MAX)
                    .take_while(|byte| byte.is_ascii_digit() || **byte == b'_')
                    .count();
                if length == rest.len() || length == 0 {
                    // Cut off, or not a version: the seam, or a later copy, decides.
                    continue;
                }
                self.cython = Some(format!("3_{}", String::from_utf8_lossy(&rest[..length])));
                break;
            }
        }
        if self.oldest_numpy.is_some() {
            return;
        }
        let prefix_len = Marker::CApiVersion.pattern().len();
        for start in finders[Marker::CApiVersion as usize].find_iter(haystack) {
            self.found[Marker::CApiVersion as usize] = true;
            let rest = haystack.get(start + prefix_len..).unwrap_or_default();
            // Keep looking past a copy without a literal version: a later one may carry it.
            if let VersionTail::Version(version) = parse_version_tail(rest) {
                self.oldest_numpy = Some(version);
                return;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedObjectScan {
    pub build: SharedObjectBuild,
    /// The Cython that compiled it (`3_2_9`), when its ABI module name shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cython: Option<String>,
    /// The marker strings found, as text, in a fixed order, deduplicated (e.g.
    /// `["numpy.core._multiarray_umath", "_ARRAY_API", "module compiled against ABI version"]`).
    /// A marker inside a longer one counts as found (`numpy.core.multiarray` within
    /// `numpy.core.multiarray failed to import`).
    pub strings: Vec<String>,
}

/// Pure helper for whole buffers: feed + finish.
pub fn scan_bytes(bytes: &[u8]) -> SharedObjectScan {
    let mut scanner = SignatureScanner::new();
    scanner.feed(bytes);
    scanner.finish()
}

/// Order in which to scan a wheel's shared objects: smallest (by compressed size) first, so the
/// first conclusive one is found cheaply. Input: (member name, compressed size); output sorted
/// copy, ties broken by name.
pub fn scan_order(members: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut ordered = members.to_vec();
    ordered.sort_by(|(a_name, a_size), (b_name, b_size)| {
        a_size.cmp(b_size).then_with(|| a_name.cmp(b_name))
    });
    ordered
}

/// The verdict for a whole wheel from per-object scans in scan order. Objects of one wheel can
/// come from different builds (vendored or bundled extensions), so a 1.x-built object decides
/// whatever the others show, and a 2.x verdict needs every object that was scanned clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum WheelBuild {
    /// Every object with NumPy's strings was built against 2.x headers or looks NumPy up at
    /// run time, and at least one was built against 2.x headers: `member` is the first of those.
    /// `oldest_numpy` is the highest oldest-supported NumPy among them.
    #[serde(rename = "numpy2")]
    NumPy2 {
        member: String,
        oldest_numpy: Option<String>,
        strings: Vec<String>,
    },
    /// At least one object was built against NumPy 1.x headers: `member` is the first of those.
    #[serde(rename = "numpy1")]
    NumPy1 {
        member: String,
        strings: Vec<String>,
    },
    /// Objects pick NumPy's module by its version at run time, none holds import code.
    RuntimeLookup {
        member: String,
        strings: Vec<String>,
    },
    /// No object is 1.x-built, but one looks NumPy up through `numpy.core.multiarray` with
    /// NumPy 1.x's layout compiled in: it imports under NumPy 2, and some calls go wrong.
    LegacyLookup {
        member: String,
        strings: Vec<String>,
    },
    /// No object is 1.x-built, but one holds traces that tell no build apart.
    Weak {
        member: String,
        strings: Vec<String>,
    },
    /// Shared objects exist but none uses the NumPy C-API.
    NoNumpy { shared_objects: usize },
    /// No shared objects at all (pure Python).
    PurePython,
}

/// Combines per-object scans (in scan order) into the wheel's verdict, worst first: a 1.x-built
/// object; else a lookup that keeps 1.x's layout; else an object that cannot be told (a Cython
/// type check with no version string, weak traces), since *ready* needs every object that could
/// hold NumPy's import code clean; else a 2.x-built one; else a run-time chooser.
/// Within each kind the first in scan order is named. `total_shared_objects` counts the wheel's
/// shared objects, scanned or not.
///
/// A Cython module whose build its strings do not show ([`SharedObjectBuild::CythonTypeCheck`])
/// counts as 2.x-built when an object of the same wheel compiled by the same Cython release is
/// 2.x-built: they came from one build, against one NumPy. Otherwise it cannot be told.
pub fn combine(scans: &[(String, SharedObjectScan)], total_shared_objects: usize) -> WheelBuild {
    let numpy2_cythons: Vec<&str> = scans
        .iter()
        .filter(|(_, scan)| matches!(scan.build, SharedObjectBuild::NumPy2 { .. }))
        .filter_map(|(_, scan)| scan.cython.as_deref())
        .collect();
    let untold = |scan: &SharedObjectScan| {
        scan.build == SharedObjectBuild::CythonTypeCheck
            && scan
                .cython
                .as_deref()
                .is_none_or(|cython| !numpy2_cythons.contains(&cython))
    };
    let first =
        |wanted: fn(&SharedObjectBuild) -> bool| scans.iter().find(|(_, scan)| wanted(&scan.build));
    let chosen = first(|build| *build == SharedObjectBuild::NumPy1)
        .or_else(|| first(|build| *build == SharedObjectBuild::LegacyLookup))
        .or_else(|| scans.iter().find(|(_, scan)| untold(scan)))
        .or_else(|| first(|build| *build == SharedObjectBuild::Weak))
        .or_else(|| first(|build| matches!(build, SharedObjectBuild::NumPy2 { .. })))
        .or_else(|| first(|build| *build == SharedObjectBuild::RuntimeLookup));
    let Some((member, scan)) = chosen else {
        let shared_objects = total_shared_objects.max(scans.len());
        return if shared_objects == 0 {
            WheelBuild::PurePython
        } else {
            WheelBuild::NoNumpy { shared_objects }
        };
    };
    let member = member.clone();
    let strings = scan.strings.clone();
    match &scan.build {
        SharedObjectBuild::NumPy2 { .. } => WheelBuild::NumPy2 {
            member,
            oldest_numpy: highest_oldest_numpy(scans),
            strings,
        },
        SharedObjectBuild::NumPy1 => WheelBuild::NumPy1 { member, strings },
        SharedObjectBuild::RuntimeLookup => WheelBuild::RuntimeLookup { member, strings },
        SharedObjectBuild::LegacyLookup => WheelBuild::LegacyLookup { member, strings },
        // Only these are left: NoNumpy scans are never chosen.
        SharedObjectBuild::Weak
        | SharedObjectBuild::CythonTypeCheck
        | SharedObjectBuild::NoNumpy => WheelBuild::Weak { member, strings },
    }
}

/// The newest of the oldest NumPy versions the 2.x-built objects support: the wheel as a whole
/// supports no older one.
fn highest_oldest_numpy(scans: &[(String, SharedObjectScan)]) -> Option<String> {
    scans
        .iter()
        .filter_map(|(_, scan)| match &scan.build {
            SharedObjectBuild::NumPy2 {
                oldest_numpy: Some(version),
            } => Some(version),
            _ => None,
        })
        .max_by_key(|version| {
            version
                .strip_prefix("1.")
                .and_then(|minor| minor.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .cloned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An ELF object: read-only segments holding `rodata` strings, then a writable segment and
    /// a debug tail holding `tail` strings (where no import code's strings can be).
    fn elf_object(rodata: &[&str], tail: &[&str]) -> (Vec<u8>, u64) {
        let mut body = Vec::new();
        for string in rodata {
            body.extend(std::iter::repeat_n(0x90u8, 5000));
            body.extend_from_slice(string.as_bytes());
            body.push(0);
        }
        let header_len = 64 + 2 * 56;
        let read_only_end = (header_len + body.len()) as u64;
        let mut object = super::super::elf::tests::elf64(&[
            (1, 5, 0, read_only_end),
            (1, 6, read_only_end, 4096),
        ]);
        object.extend_from_slice(&body);
        object.extend(std::iter::repeat_n(0u8, 4096));
        for string in tail {
            object.extend(std::iter::repeat_n(0x11u8, 7000));
            object.extend_from_slice(string.as_bytes());
            object.push(0);
        }
        (object, read_only_end)
    }

    fn scan_streamed(object: &[u8], chunk: usize) -> (SharedObjectScan, u64) {
        let mut scan = ObjectScan::new();
        let mut fed = 0u64;
        for piece in object.chunks(chunk) {
            fed += piece.len() as u64;
            if scan.feed(piece).is_break() {
                break;
            }
        }
        (scan.finish(), fed)
    }

    #[test]
    fn an_elf_object_is_read_to_the_end_of_its_read_only_segments() {
        // A 2.x build whose debug tail names the 1.x module (a path in DWARF, say): the tail
        // cannot hold import code, and is not read.
        let (object, read_only_end) = elf_object(
            &["numpy._core._multiarray_umath", "_ARRAY_API"],
            &["numpy.core._multiarray_umath"],
        );
        for chunk in [1000, 65536, 1 << 20] {
            let (scan, fed) = scan_streamed(&object, chunk);
            assert_eq!(scan.build, SharedObjectBuild::NumPy2 { oldest_numpy: None });
            // What is fed past the end is not scanned; with small chunks it is not even read.
            if chunk < object.len() / 4 {
                assert!(
                    fed < object.len() as u64,
                    "chunk {chunk}: read {fed} of {}",
                    object.len()
                );
            }
            assert!(fed >= read_only_end);
        }
        // A 1.x build's strings in `.rodata` are found as before.
        let (object, _) = elf_object(&["numpy.core._multiarray_umath", "_ARRAY_API"], &[]);
        assert_eq!(
            scan_streamed(&object, 4096).0.build,
            SharedObjectBuild::NumPy1
        );
        // A library with no NumPy import code whose debug tail names NumPy 1's module (a DWARF
        // string): its read-only segments decide, and they hold nothing of NumPy's.
        let (object, _) = elf_object(
            &["libfoo is a plain C library"],
            &["numpy.core._multiarray_umath"],
        );
        assert_eq!(
            scan_streamed(&object, 4096).0.build,
            SharedObjectBuild::NoNumpy
        );
        // The same bytes without ELF headers are read whole, tail included.
        let mut not_elf = object.clone();
        not_elf[1] = b'Z';
        let (scan, fed) = scan_streamed(&not_elf, 4096);
        assert_eq!(fed, object.len() as u64);
        assert_eq!(scan.build, SharedObjectBuild::NumPy1);
    }

    /// A fake shared object: the strings, NUL-terminated as in `.rodata`, between unrelated bytes.
    pub(crate) fn object(strings: &[&str]) -> Vec<u8> {
        let mut bytes = b"\x7fELF\x02\x01\x01\0PyInit__ext\0PyModule_Create2\0".to_vec();
        for (i, string) in strings.iter().enumerate() {
            bytes.extend(std::iter::repeat_n(0xA5u8 ^ i as u8, 37));
            bytes.extend_from_slice(string.as_bytes());
            bytes.push(0);
        }
        bytes.extend_from_slice(b"GCC: (GNU) 10.2.1\0.symtab\0.strtab\0");
        bytes
    }

    const ABI_CHECK: &str =
        "module compiled against ABI version 0x%x but this version of numpy is 0x%x";
    const API_CHECK_1: &str = "module compiled against API version 0x%x but this version of numpy is 0x%x . Check the section C-API incompatibility";
    const C_API_CHECK_2: &str = "module was compiled against NumPy C-API version 0x%x (NumPy 1.23) but the running NumPy has C-API version 0x%x. Check the section C-API incompatibility";

    fn numpy_1_16_to_1_26() -> Vec<u8> {
        object(&[
            "numpy.core._multiarray_umath",
            "_ARRAY_API",
            "_ARRAY_API not found",
            ABI_CHECK,
            API_CHECK_1,
        ])
    }

    fn numpy_2_with_version() -> Vec<u8> {
        object(&[
            "numpy._core._multiarray_umath",
            "numpy.core._multiarray_umath",
            "_ARRAY_API",
            ABI_CHECK,
            C_API_CHECK_2,
        ])
    }

    fn numpy_2_without_version() -> Vec<u8> {
        object(&[
            "numpy._core._multiarray_umath",
            "numpy.core._multiarray_umath",
            "_ARRAY_API",
            ABI_CHECK,
        ])
    }

    /// NumPy < 1.16 headers: the import names `numpy.core.multiarray`, and the ABI check was
    /// already there.
    fn numpy_before_1_16() -> Vec<u8> {
        object(&["numpy.core.multiarray", "_ARRAY_API", ABI_CHECK])
    }

    fn cython_without_import_array_1() -> Vec<u8> {
        object(&[
            "numpy.core.multiarray failed to import",
            "numpy.core.umath failed to import",
            "numpy",
            "dtype",
        ])
    }

    fn cython_without_import_array_2() -> Vec<u8> {
        object(&[
            "numpy._core.multiarray failed to import",
            "numpy._core.umath failed to import",
            "numpy",
        ])
    }

    const CYTHON_AUTO_IMPORT: &str = "numpy.core.multiarray failed to import (auto-generated because you didn't call 'numpy.import_array()' after cimporting numpy; use '<void>numpy._import_array' to disable if you are certain you don't need it).";
    const CYTHON_SIZE_CHECK: &str = "%.200s.%.200s size changed, may indicate binary incompatibility. Expected %zd from C header, got %zd from PyObject";

    fn cython_type_check_alone() -> Vec<u8> {
        object(&[
            "\0numpy",
            "\0ndarray",
            "\0flatiter",
            "\0broadcast",
            CYTHON_SIZE_CHECK,
            "_cython_3_2_9.cython_function_or_method",
        ])
    }

    #[test]
    fn the_cython_that_compiled_an_object_is_read_from_its_abi_name() {
        let scan = scan_bytes(&cython_type_check_alone());
        assert_eq!(scan.cython.as_deref(), Some("3_2_9"));
        assert_eq!(scan_bytes(b"_cython_3_\0").cython, None);
        // Cut anywhere, the name is still read whole.
        let bytes = cython_type_check_alone();
        for split in 0..bytes.len() {
            let mut scanner = SignatureScanner::new();
            scanner.feed(&bytes[..split]);
            scanner.feed(&bytes[split..]);
            assert_eq!(
                scanner.finish().cython.as_deref(),
                Some("3_2_9"),
                "split at {split}"
            );
        }
    }

    #[test]
    fn cythons_auto_generated_import_error_is_not_the_pxds_1x_string() {
        // Alone with NumPy 1.x headers' import code, the 1.x headers decide.
        let with_1x = object(&[
            CYTHON_AUTO_IMPORT,
            "numpy.core._multiarray_umath",
            API_CHECK_1,
        ]);
        assert_eq!(scan_bytes(&with_1x).build, SharedObjectBuild::NumPy1);
        // The literal alone is no 1.x string; the .pxd's string is, also at the very end.
        let auto = scan_bytes(CYTHON_AUTO_IMPORT.as_bytes());
        assert!(
            !auto
                .strings
                .contains(&"numpy.core.multiarray failed to import".to_string())
        );
        assert_eq!(
            scan_bytes(b"\0numpy.core.multiarray failed to import").build,
            SharedObjectBuild::NumPy1
        );
        assert_eq!(
            scan_bytes(b"\0numpy.core.multiarray failed to import (auto").build,
            SharedObjectBuild::NumPy1,
            "a prefix of Cython's suffix that the object ends on is not Cython's literal"
        );
    }

    fn pybind11_runtime_lookup() -> Vec<u8> {
        object(&[
            "numpy.core.multiarray",
            "_ARRAY_API",
            "numpy.core._internal",
            "_dtype_from_pep3118",
        ])
    }

    fn rust_numpy() -> Vec<u8> {
        object(&[
            "numpy.core.multiarray",
            "_ARRAY_API",
            "numpy.core.umath",
            "_UFUNC_API",
        ])
    }

    fn no_numpy() -> Vec<u8> {
        object(&["numpy", "numpy.random", "core", "_multiarray", "ARRAY_API"])
    }

    fn array_api_alone() -> Vec<u8> {
        object(&["_ARRAY_API"])
    }

    /// pybind11 2.12 and later: the run-time module chooser's C literals, NUL-separated as its
    /// `import_numpy_core_submodule` leaves them (seen in scipy 1.13.0's `_fmm_core`).
    const CHOOSER: [&str; 8] = [
        "numpy",
        "__version__",
        "numpy.lib",
        "NumpyVersion",
        "major",
        "numpy._core",
        "numpy.core",
        "multiarray",
    ];

    fn pybind11_chooser() -> Vec<u8> {
        object(&[&CHOOSER[..], &["_ARRAY_API"]].concat())
    }

    /// tensorstore 0.1.59–0.1.61: the chooser beside import code built with NumPy 1.x headers.
    fn pybind11_chooser_with_numpy1_import() -> Vec<u8> {
        object(
            &[
                &CHOOSER[..],
                &[
                    "_ARRAY_API",
                    "numpy.core._multiarray_umath",
                    "numpy.core.multiarray failed to import",
                    ABI_CHECK,
                    API_CHECK_1,
                ],
            ]
            .concat(),
        )
    }

    /// tensorstore 0.1.62: the chooser beside NumPy 2.x headers' import code.
    fn pybind11_chooser_with_numpy2_import() -> Vec<u8> {
        object(
            &[
                &CHOOSER[..],
                &[
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    ABI_CHECK,
                    C_API_CHECK_2,
                ],
            ]
            .concat(),
        )
    }

    fn table() -> Vec<(&'static str, Vec<u8>, SharedObjectBuild, Vec<&'static str>)> {
        use SharedObjectBuild::*;
        vec![
            (
                "NumPy 1.16-1.26 headers",
                numpy_1_16_to_1_26(),
                NumPy1,
                vec![
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                    "module compiled against API version",
                ],
            ),
            (
                // Cython's own literal, in 2.x builds too (scipy 1.18.1, statsmodels 0.15.0).
                "Cython's auto-inserted import_array beside NumPy 2.x headers",
                object(&[
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    ABI_CHECK,
                    C_API_CHECK_2,
                    CYTHON_AUTO_IMPORT,
                ]),
                NumPy2 {
                    oldest_numpy: Some("1.23".into()),
                },
                vec![
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "numpy.core.multiarray",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                    "module was compiled against NumPy C-API version",
                ],
            ),
            (
                // A Python-level `numpy.core.multiarray` (a pickle helper's name) reads no C-API
                // table: not the legacy lookup pybind11 < 2.12 and rust-numpy < 0.22 do.
                "numpy.core.multiarray named without the C-API table",
                object(&["numpy.core.multiarray", "_reconstruct"]),
                RuntimeLookup,
                vec!["numpy.core.multiarray"],
            ),
            (
                // Cython 3.2+ with compressed strings, numpy cimported only through a .pxd
                // (no import_array): what a 1.x and a 2.x build alike leave in plain bytes.
                "Cython 3.2+ type check alone",
                cython_type_check_alone(),
                CythonTypeCheck,
                vec![
                    "size changed, may indicate binary incompatibility",
                    "flatiter",
                ],
            ),
            (
                "NumPy 2.x headers",
                numpy_2_with_version(),
                NumPy2 {
                    oldest_numpy: Some("1.23".into()),
                },
                vec![
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                    "module was compiled against NumPy C-API version",
                ],
            ),
            (
                "NumPy 2.x headers, no version string",
                numpy_2_without_version(),
                NumPy2 { oldest_numpy: None },
                vec![
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                ],
            ),
            (
                "NumPy < 1.16 headers",
                numpy_before_1_16(),
                NumPy1,
                vec![
                    "numpy.core.multiarray",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                ],
            ),
            (
                "Cython without import_array, 1.x",
                cython_without_import_array_1(),
                NumPy1,
                vec![
                    "numpy.core.multiarray failed to import",
                    "numpy.core.multiarray",
                ],
            ),
            (
                "Cython without import_array, 2.x",
                cython_without_import_array_2(),
                NumPy2 { oldest_numpy: None },
                vec!["numpy._core.multiarray failed to import"],
            ),
            (
                "pybind11 2.12+ run-time chooser alone",
                pybind11_chooser(),
                RuntimeLookup,
                vec!["_ARRAY_API", "numpy._core", "NumpyVersion"],
            ),
            (
                "pybind11 chooser beside NumPy 1.x import code (tensorstore 0.1.59)",
                pybind11_chooser_with_numpy1_import(),
                NumPy1,
                vec![
                    "numpy.core._multiarray_umath",
                    "numpy.core.multiarray failed to import",
                    "numpy.core.multiarray",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                    "module compiled against API version",
                    "numpy._core",
                    "NumpyVersion",
                ],
            ),
            (
                "pybind11 chooser beside NumPy 2.x import code (tensorstore 0.1.62)",
                pybind11_chooser_with_numpy2_import(),
                NumPy2 {
                    oldest_numpy: Some("1.23".into()),
                },
                vec![
                    "numpy._core._multiarray_umath",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                    "module was compiled against NumPy C-API version",
                    "NumpyVersion",
                ],
            ),
            (
                "a bare numpy._core beside Cython's 1.x import",
                object(&["numpy._core", "numpy.core.multiarray failed to import"]),
                NumPy1,
                vec![
                    "numpy.core.multiarray failed to import",
                    "numpy.core.multiarray",
                    "numpy._core",
                ],
            ),
            (
                "Cython's 2.x string beside 1.x headers' import code",
                object(&[
                    "numpy._core.multiarray failed to import",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    ABI_CHECK,
                ]),
                NumPy1,
                vec![
                    "numpy._core.multiarray failed to import",
                    "numpy.core._multiarray_umath",
                    "_ARRAY_API",
                    "module compiled against ABI version",
                ],
            ),
            (
                // Rust packs its string literals without separators (tokenizers 0.21.0).
                "rust-numpy 0.22+ chooser",
                object(&["NumpyVersionmajornumpy.corenumpy._core.multiarray_ARRAY_API"]),
                RuntimeLookup,
                vec!["_ARRAY_API", "numpy._core", "NumpyVersion"],
            ),
            (
                "pybind11 < 2.12 run-time lookup",
                pybind11_runtime_lookup(),
                LegacyLookup,
                vec!["numpy.core.multiarray", "_ARRAY_API"],
            ),
            (
                "rust-numpy < 0.22",
                rust_numpy(),
                LegacyLookup,
                vec!["numpy.core.multiarray", "_ARRAY_API"],
            ),
            ("no NumPy", no_numpy(), NoNumpy, vec![]),
            (
                "_ARRAY_API alone",
                array_api_alone(),
                Weak,
                vec!["_ARRAY_API"],
            ),
        ]
    }

    #[test]
    fn every_row_of_the_design_table() {
        for (row, bytes, build, strings) in table() {
            let scan = scan_bytes(&bytes);
            assert_eq!(scan.build, build, "{row}");
            assert_eq!(scan.strings, strings, "{row}");
        }
    }

    #[test]
    fn dot_placement_keeps_the_markers_apart() {
        assert!(!"numpy.core._multiarray_umath".contains("numpy._core"));
        assert!(!"numpy._core._multiarray_umath".contains("numpy.core"));
        assert!(!"numpy._core.multiarray failed to import".contains("numpy.core.multiarray"));
        assert!(!"numpy.core._multiarray_umath".contains("numpy.core.multiarray"));
        assert_eq!(
            scan_bytes(b"numpy.core._multiarray_umath").build,
            SharedObjectBuild::NumPy1
        );
        assert_eq!(
            scan_bytes(b"numpy._core._multiarray_umath").strings,
            ["numpy._core._multiarray_umath"]
        );
        // A bare `numpy._core` is not a 2.x build.
        assert_eq!(
            scan_bytes(b"numpy._core\0").build,
            SharedObjectBuild::RuntimeLookup
        );
    }

    #[test]
    fn matches_straddling_chunk_boundaries_are_found() {
        for (row, bytes, _, _) in table() {
            let whole = scan_bytes(&bytes);
            for split in 0..=bytes.len() {
                let mut scanner = SignatureScanner::new();
                scanner.feed(&bytes[..split]);
                scanner.feed(&bytes[split..]);
                assert_eq!(scanner.finish(), whole, "{row}, split at {split}");
            }
            for chunk_size in (1..=OVERLAP + 2).chain([97, 256]) {
                for start in 0..chunk_size.min(bytes.len()) {
                    let mut scanner = SignatureScanner::new();
                    scanner.feed(&bytes[..start]);
                    for chunk in bytes[start..].chunks(chunk_size) {
                        scanner.feed(chunk);
                    }
                    assert_eq!(
                        scanner.finish(),
                        whole,
                        "{row}, chunks of {chunk_size} from {start}"
                    );
                }
            }
        }
    }

    #[test]
    fn version_literal_is_read_only_after_the_c_api_prefix() {
        let prefix = "module was compiled against NumPy C-API version 0x";
        let oldest = |text: &str| match scan_bytes(
            format!("numpy._core._multiarray_umath\0{text}\0").as_bytes(),
        )
        .build
        {
            SharedObjectBuild::NumPy2 { oldest_numpy } => oldest_numpy,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            oldest(&format!("{prefix}%x (NumPy 1.9) but")),
            Some("1.9".into())
        );
        assert_eq!(
            oldest(&format!("{prefix}%x (NumPy 1.100)")),
            Some("1.100".into())
        );
        assert_eq!(oldest(&format!("{prefix}%x (NumPy 1.1234)")), None);
        assert_eq!(oldest(&format!("{prefix}%x (NumPy 1.)")), None);
        assert_eq!(oldest(&format!("{prefix}%x (NumPy 2.0)")), None);
        assert_eq!(oldest(&format!("{prefix}%x (NumPy 1.2")), None);
        assert_eq!(oldest(&format!("{prefix}%x (NumPy")), None);
        assert_eq!(oldest(&format!("{prefix}%x, see also (NumPy 1.25)")), None);
        assert_eq!(oldest("requires (NumPy 1.25) or later"), None);
        // A first copy without a literal does not hide a later one with it.
        assert_eq!(
            oldest(&format!("{prefix}%x\0{prefix}%x (NumPy 1.21)")),
            Some("1.21".into())
        );
    }

    #[test]
    fn version_tail_parsing() {
        use VersionTail::*;
        assert_eq!(
            parse_version_tail(b"%x (NumPy 1.23) but"),
            Version("1.23".into())
        );
        assert_eq!(parse_version_tail(b"(NumPy 1.23)"), Version("1.23".into()));
        assert_eq!(parse_version_tail(b""), Incomplete);
        assert_eq!(parse_version_tail(b"%x (Num"), Incomplete);
        assert_eq!(parse_version_tail(b"%x (NumPy 1.2"), Incomplete);
        assert_eq!(parse_version_tail(b"%x but the running"), Absent);
        assert_eq!(parse_version_tail(b"%x (NumPy 1.23]"), Absent);
        assert_eq!(parse_version_tail(b"%x (NumPy 1.2345"), Absent);
    }

    /// Found by fuzzing (`fuzz/`, target `shared_object`): a version string without a literal
    /// version made the scanner conclusive, yet a whole scan went on to take the version from a
    /// later copy, so stopping early gave another `oldest_numpy` than reading everything.
    #[test]
    fn stopping_when_conclusive_gives_the_whole_scan_verdict() {
        let bytes = object(&[
            "numpy._core._multiarray_umath",
            "module was compiled against NumPy C-API version 0x%x (rray failed to import",
            C_API_CHECK_2,
        ]);
        let whole = scan_bytes(&bytes);
        assert_eq!(
            whole.build,
            SharedObjectBuild::NumPy2 {
                oldest_numpy: Some("1.23".into())
            }
        );
        let mut scanner = SignatureScanner::new();
        for chunk in bytes.chunks(130) {
            scanner.feed(chunk);
            if scanner.is_conclusive() {
                break;
            }
        }
        assert_eq!(scanner.finish().build, whole.build);
    }

    #[test]
    fn conclusive_once_2x_and_its_version_string_are_seen() {
        let mut scanner = SignatureScanner::new();
        assert!(!scanner.is_conclusive());
        scanner.feed(b"numpy._core._multiarray_umath\0");
        assert!(!scanner.is_conclusive());
        scanner.feed(C_API_CHECK_2.as_bytes());
        assert!(scanner.is_conclusive());

        let mut scanner = SignatureScanner::new();
        scanner.feed(&numpy_1_16_to_1_26());
        assert!(!scanner.is_conclusive());

        // The version string first, numpy._core later.
        let mut scanner = SignatureScanner::new();
        scanner.feed(C_API_CHECK_2.as_bytes());
        assert!(!scanner.is_conclusive());
        scanner.feed(b"\0numpy._core._multiarray_umath");
        assert!(scanner.is_conclusive());
        assert_eq!(
            scanner.finish().build,
            SharedObjectBuild::NumPy2 {
                oldest_numpy: Some("1.23".into())
            }
        );
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert_eq!(scan_bytes(b"").build, SharedObjectBuild::NoNumpy);
        let mut scanner = SignatureScanner::new();
        scanner.feed(b"");
        scanner.feed(b"n");
        assert_eq!(scanner.finish().build, SharedObjectBuild::NoNumpy);
        // The C-API string alone is a trace, not a verdict.
        assert_eq!(
            scan_bytes(C_API_CHECK_2.as_bytes()).build,
            SharedObjectBuild::Weak
        );
    }

    #[test]
    fn shared_object_names() {
        for name in [
            "pkg/a.cpython-311-x86_64-linux-gnu.so",
            "x.pyd",
            "X.PYD",
            "pyarrow/libarrow_python.so.1700",
            "libfoo.so.1.2.3",
            "pkg/.dylibs/foo.dylib",
            "scipy.libs/libopenblas-r0.3.so",
        ] {
            assert!(is_shared_object(name), "{name}");
        }
        for name in [
            "foo.so.py",
            "dir.so/readme.txt",
            "foo.sofa",
            "pkg/",
            "lib.so/",
            ".so",
            "libfoo.so.",
            "libfoo.so.1.",
            "libfoo.so.1..2",
            "libfoo.so.x1",
            "foo.pyd.txt",
            "METADATA",
        ] {
            assert!(!is_shared_object(name), "{name}");
        }
    }

    #[test]
    fn scan_order_is_smallest_first_then_by_name() {
        let members = [
            ("b.so".to_string(), 30),
            ("c.so".to_string(), 10),
            ("a.so".to_string(), 30),
            ("d.so".to_string(), 20),
        ];
        let names: Vec<_> = scan_order(&members)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["c.so", "d.so", "a.so", "b.so"]);
        assert!(scan_order(&[]).is_empty());
    }

    fn scan(build: SharedObjectBuild) -> SharedObjectScan {
        SharedObjectScan {
            build,
            strings: vec!["x".into()],
            cython: None,
        }
    }

    fn numpy2(oldest: &str) -> SharedObjectBuild {
        SharedObjectBuild::NumPy2 {
            oldest_numpy: Some(oldest.into()),
        }
    }

    fn named(scans: &[(&str, SharedObjectBuild)]) -> Vec<(String, SharedObjectScan)> {
        scans
            .iter()
            .map(|(name, build)| (name.to_string(), scan(build.clone())))
            .collect()
    }

    #[test]
    fn rust_numpys_formatted_version_checks_are_not_numpy_1_import_code() {
        // polars-runtime-32 2.0.0's `_polars_runtime.abi3.so`, as laid out there: rust-numpy's
        // chooser and its ABI and C-API checks through Rust's formatting (`\xc0` placeholders).
        // It imports and converts arrays under NumPy 2.2.6.
        let bytes = b"\0&module compiled against ABI version 0x\xc0  but this version of numpy is \
                      0x\xc0\0\x002module was compiled against NumPy C-API version 0x\xc0\x08 \
                      (NumPy \xc0,) but the running NumPy has C-API version 0x\xc0\0\
                      RangeLimited_ARRAY_APImodule compiled as little endian, but detected \
                      different endianness at runtimenumpy.libNumpyVersionmajornumpy.core\
                      numpy._coreFailed to access NumPy array API capsule\0";
        let scan = scan_bytes(bytes);
        assert_eq!(scan.build, SharedObjectBuild::RuntimeLookup, "{scan:?}");

        // NumPy's own headers' check, in C's format, still decides for 1.x.
        let mut c_build = bytes.to_vec();
        c_build.extend_from_slice(
            b"module compiled against ABI version 0x%x but this version of numpy is 0x%x\0",
        );
        assert_eq!(scan_bytes(&c_build).build, SharedObjectBuild::NumPy1);
    }

    #[test]
    fn the_worst_object_decides_for_the_wheel() {
        use SharedObjectBuild as B;
        // A 1.x-built object after a 2.x-built one (a vendored extension from another build)
        // makes the wheel 1.x-built.
        let mixed = named(&[
            ("a.so", B::NoNumpy),
            ("b.so", numpy2("1.23")),
            ("c.so", B::RuntimeLookup),
            ("d.so", B::NumPy1),
            ("e.so", B::NumPy1),
        ]);
        assert_eq!(
            combine(&mixed, 5),
            WheelBuild::NumPy1 {
                member: "d.so".into(),
                strings: vec!["x".into()]
            }
        );
        // An object that cannot be told keeps a 2.x-built wheel from being called 2.x-built,
        // and a lookup that keeps 1.x's layout (jaxlib 0.4.26's `_tpu_ext` beside its 2.x-built
        // `xla_extension`) is named before a weak trace.
        let untold = named(&[("a.so", numpy2("1.23")), ("b.so", B::Weak)]);
        assert!(matches!(
            combine(&untold, 2),
            WheelBuild::Weak { member, .. } if member == "b.so"
        ));
        let legacy = named(&[
            ("a.so", B::Weak),
            ("b.so", numpy2("1.23")),
            ("c.so", B::LegacyLookup),
        ]);
        assert!(matches!(
            combine(&legacy, 3),
            WheelBuild::LegacyLookup { member, .. } if member == "c.so"
        ));
        // 2.x-built objects beside run-time lookups and objects without NumPy: 2.x, and the
        // wheel supports no NumPy older than its most demanding object does.
        let clean = named(&[
            ("a.so", B::RuntimeLookup),
            ("b.so", numpy2("1.9")),
            ("c.so", B::NoNumpy),
            ("d.so", numpy2("1.23")),
            ("e.so", B::NumPy2 { oldest_numpy: None }),
        ]);
        assert_eq!(
            combine(&clean, 5),
            WheelBuild::NumPy2 {
                member: "b.so".into(),
                oldest_numpy: Some("1.23".into()),
                strings: vec!["x".into()]
            }
        );
        assert!(matches!(
            combine(&named(&[("a.so", B::NoNumpy), ("b.so", B::RuntimeLookup)]), 2),
            WheelBuild::RuntimeLookup { member, .. } if member == "b.so"
        ));
        assert_eq!(
            combine(&named(&[("a.so", B::NoNumpy)]), 3),
            WheelBuild::NoNumpy { shared_objects: 3 }
        );
        assert_eq!(combine(&[], 0), WheelBuild::PurePython);
        assert_eq!(combine(&[], 2), WheelBuild::NoNumpy { shared_objects: 2 });
    }

    #[test]
    fn a_cython_type_check_counts_as_2x_beside_a_2x_object_of_the_same_cython_only() {
        let cython = |build: SharedObjectBuild, version: &str| SharedObjectScan {
            build,
            strings: vec!["x".into()],
            cython: Some(version.into()),
        };
        let same = vec![
            (
                "a.so".to_string(),
                cython(SharedObjectBuild::CythonTypeCheck, "3_2_9"),
            ),
            ("b.so".to_string(), cython(numpy2("1.23"), "3_2_9")),
        ];
        assert!(matches!(combine(&same, 2), WheelBuild::NumPy2 { member, .. } if member == "b.so"));
        let other = vec![
            (
                "a.so".to_string(),
                cython(SharedObjectBuild::CythonTypeCheck, "3_3_1"),
            ),
            ("b.so".to_string(), cython(numpy2("1.23"), "3_2_9")),
        ];
        assert!(matches!(combine(&other, 2), WheelBuild::Weak { member, .. } if member == "a.so"));
        let alone = vec![(
            "a.so".to_string(),
            cython(SharedObjectBuild::CythonTypeCheck, "3_2_9"),
        )];
        assert!(matches!(combine(&alone, 1), WheelBuild::Weak { .. }));
    }

    /// The rule is the same whichever order the objects were scanned in.
    #[test]
    fn the_wheel_verdict_does_not_depend_on_scan_order() {
        use SharedObjectBuild as B;
        let builds = [
            numpy2("1.23"),
            B::NumPy1,
            B::RuntimeLookup,
            B::Weak,
            B::NoNumpy,
        ];
        let kind = |build: &WheelBuild| std::mem::discriminant(build);
        for first in 0..builds.len() {
            for second in 0..builds.len() {
                let forward = named(&[
                    ("a.so", builds[first].clone()),
                    ("b.so", builds[second].clone()),
                ]);
                let backward = named(&[
                    ("b.so", builds[second].clone()),
                    ("a.so", builds[first].clone()),
                ]);
                assert_eq!(
                    kind(&combine(&forward, 2)),
                    kind(&combine(&backward, 2)),
                    "{:?} and {:?}",
                    builds[first],
                    builds[second]
                );
            }
        }
    }

    #[test]
    fn serialized_forms() {
        let scan = scan_bytes(&numpy_2_with_version());
        let json = serde_json::to_value(&scan).unwrap();
        assert_eq!(json["build"]["kind"], "numpy2");
        assert_eq!(json["build"]["oldest_numpy"], "1.23");
        let back: SharedObjectScan = serde_json::from_value(json).unwrap();
        assert_eq!(back, scan);
        assert_eq!(
            serde_json::to_value(SharedObjectBuild::RuntimeLookup).unwrap()["kind"],
            "runtime-lookup"
        );
        assert_eq!(
            serde_json::to_value(WheelBuild::PurePython).unwrap()["kind"],
            "pure-python"
        );
        assert_eq!(
            serde_json::to_value(WheelBuild::NumPy1 {
                member: "a.so".into(),
                strings: vec![]
            })
            .unwrap()["kind"],
            "numpy1"
        );
    }
}
