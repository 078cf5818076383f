//! Builds small, deterministic wheels, sdists and fake shared objects in memory.
//!
//! Everything here is a pure function of its inputs: zip members carry a fixed timestamp and
//! fixed permissions, and shared-object filler comes from a generator seeded by the member name,
//! so the same description always yields the same bytes and the same sha256.

use std::io::{Cursor, Write};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Size of a fake shared object when its description gives none.
pub const DEFAULT_SHARED_OBJECT_SIZE: usize = 50_000;

// The byte strings NumPy's and Cython's generated import code leaves in a shared object
// (DESIGN.md, "Telling a 1.x-built extension from a 2.x-built one").
pub const NUMPY1_MULTIARRAY_UMATH: &str = "numpy.core._multiarray_umath";
pub const NUMPY2_MULTIARRAY_UMATH: &str = "numpy._core._multiarray_umath";
pub const OLD_MULTIARRAY: &str = "numpy.core.multiarray";
pub const ARRAY_API: &str = "_ARRAY_API";
pub const ABI_VERSION_MISMATCH: &str =
    "module compiled against ABI version 0x%x but this version of numpy is 0x%x";
pub const C_API_VERSION_MISMATCH: &str = "module was compiled against NumPy C-API version 0x%x (NumPy 1.23) but the running NumPy has C-API version 0x%x.";
pub const CYTHON_NUMPY1_IMPORT_FAILED: &str = "numpy.core.multiarray failed to import";
pub const CYTHON_NUMPY2_IMPORT_FAILED: &str = "numpy._core.multiarray failed to import";

/// Which NumPy build a fake shared object imitates, spelled as in the descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Signature {
    /// Built with NumPy 1.16–1.26 headers.
    #[serde(rename = "numpy1")]
    Numpy1,
    /// Built with NumPy 2.x headers (oldest supported NumPy: 1.23).
    #[serde(rename = "numpy2")]
    Numpy2,
    /// Cython module that cimports numpy without `import_array()`, built against 1.x.
    #[serde(rename = "cython-numpy1")]
    CythonNumpy1,
    /// The same, built against 2.x.
    #[serde(rename = "cython-numpy2")]
    CythonNumpy2,
    /// Built with NumPy < 1.16 headers.
    #[serde(rename = "pre116")]
    Pre116,
    /// Looks NumPy up at run time (pybind11 < 2.12, rust-numpy).
    #[serde(rename = "runtime-lookup")]
    RuntimeLookup,
    /// Only `_ARRAY_API`: inconclusive.
    #[serde(rename = "weak")]
    Weak,
    /// No NumPy C-API use at all.
    #[serde(rename = "none")]
    None,
}

impl Signature {
    /// The strings embedded in a shared object with this signature.
    pub fn strings(self) -> &'static [&'static str] {
        match self {
            Signature::Numpy1 => &[
                NUMPY1_MULTIARRAY_UMATH,
                ARRAY_API,
                ABI_VERSION_MISMATCH,
                CYTHON_NUMPY1_IMPORT_FAILED,
            ],
            Signature::Numpy2 => &[
                NUMPY2_MULTIARRAY_UMATH,
                NUMPY1_MULTIARRAY_UMATH,
                ARRAY_API,
                C_API_VERSION_MISMATCH,
                ABI_VERSION_MISMATCH,
                CYTHON_NUMPY2_IMPORT_FAILED,
            ],
            Signature::CythonNumpy1 => &[CYTHON_NUMPY1_IMPORT_FAILED],
            Signature::CythonNumpy2 => &[CYTHON_NUMPY2_IMPORT_FAILED],
            Signature::Pre116 => &[
                OLD_MULTIARRAY,
                ARRAY_API,
                ABI_VERSION_MISMATCH,
                CYTHON_NUMPY1_IMPORT_FAILED,
            ],
            Signature::RuntimeLookup => &[OLD_MULTIARRAY, ARRAY_API],
            Signature::Weak => &[ARRAY_API],
            Signature::None => &[],
        }
    }
}

/// One fake shared object inside a wheel, as described in a `[[release.file]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedObjectSpec {
    /// Member path inside the wheel, e.g. `bottleneck/reduce.cpython-311-x86_64-linux-gnu.so`.
    pub name: String,
    pub signature: Signature,
    /// Size in bytes; grown if too small to hold the signature strings.
    pub size: Option<usize>,
}

/// Everything needed to build one wheel.
pub struct WheelSpec<'a> {
    /// Distribution name as escaped for filenames (`Bottleneck`, `my_pkg`).
    pub distribution: &'a str,
    pub version: &'a str,
    /// Compressed tag triple, e.g. `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`.
    pub tag: &'a str,
    /// Import package that receives `__init__.py`.
    pub package: &'a str,
    /// The bytes of `.dist-info/METADATA` (also served as the `.metadata` file).
    pub metadata: &'a [u8],
    pub shared_objects: &'a [SharedObjectSpec],
}

/// The distribution name as it appears in wheel and sdist filenames: runs of `-_.` become `_`
/// (case is kept, as older real uploads like `Bottleneck-1.3.7-….whl` do).
pub fn filename_distribution(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !escaped.ends_with('_') {
                escaped.push('_');
            }
        } else {
            escaped.push(character);
        }
    }
    escaped
}

/// Core metadata generated from a description.
pub fn generate_metadata(
    name: &str,
    version: &str,
    requires_python: Option<&str>,
    requires_dist: &[String],
) -> Vec<u8> {
    let mut metadata = format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: Fixture package {name} for np2audit tests\n"
    );
    if let Some(requires_python) = requires_python {
        metadata.push_str(&format!("Requires-Python: {requires_python}\n"));
    }
    for requirement in requires_dist {
        metadata.push_str(&format!("Requires-Dist: {requirement}\n"));
    }
    metadata.into_bytes()
}

/// A wheel: the package's `__init__.py`, the shared objects, then `METADATA`, `WHEEL` and
/// `RECORD` last, in the order real build backends write them.
pub fn build_wheel(spec: &WheelSpec) -> Vec<u8> {
    let dist_info = format!("{}-{}.dist-info", spec.distribution, spec.version);
    let mut members: Vec<(String, Vec<u8>)> = vec![(
        format!("{}/__init__.py", spec.package),
        format!("__version__ = \"{}\"\n", spec.version).into_bytes(),
    )];
    for shared_object in spec.shared_objects {
        let size = shared_object.size.unwrap_or(DEFAULT_SHARED_OBJECT_SIZE);
        let bytes = shared_object_bytes(&shared_object.name, shared_object.signature, size);
        members.push((shared_object.name.clone(), bytes));
    }
    members.push((format!("{dist_info}/METADATA"), spec.metadata.to_vec()));
    members.push((format!("{dist_info}/WHEEL"), wheel_file(spec.tag)));
    let record_name = format!("{dist_info}/RECORD");
    let record = record_file(&members, &record_name);
    members.push((record_name, record));

    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in &members {
        let mode = if is_shared_object(name) { 0o755 } else { 0o644 };
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(mode);
        writer
            .start_file(name.as_str(), options)
            .expect("start zip member");
        writer.write_all(bytes).expect("write zip member");
    }
    writer.finish().expect("finish zip").into_inner()
}

/// A minimal sdist: `{distribution}-{version}/PKG-INFO` and a `pyproject.toml` in a gzipped
/// ustar archive with zeroed timestamps and owners.
pub fn build_sdist(distribution: &str, version: &str, pkg_info: &[u8]) -> Vec<u8> {
    let root = format!("{distribution}-{version}");
    let pyproject =
        b"[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    let mut tar = Vec::new();
    for (name, bytes) in [
        (format!("{root}/PKG-INFO"), pkg_info),
        (format!("{root}/pyproject.toml"), &pyproject[..]),
    ] {
        tar.extend_from_slice(&ustar_header(&name, bytes.len()));
        tar.extend_from_slice(bytes);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    // Two zero blocks end the archive.
    tar.resize(tar.len() + 1024, 0);

    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(&tar).expect("gzip sdist");
    encoder.finish().expect("finish gzip")
}

/// Bytes that look like an ELF shared object to a byte scanner: the ELF magic, deterministic
/// pseudo-random filler (poorly compressible, so a wheel is about as large as its members and
/// range reads pay off), and the signature's strings, NUL-delimited, spread over the middle half.
pub fn shared_object_bytes(member_name: &str, signature: Signature, size: usize) -> Vec<u8> {
    const ELF_IDENT: [u8; 16] = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let strings = signature.strings();
    // Each string gets a slot of its own; grow the file until the slots fit in its middle half.
    let slot = strings.iter().map(|text| text.len() + 2).max().unwrap_or(0);
    let size = size.max(2 * slot * strings.len() + 4 * ELF_IDENT.len());

    let mut bytes = vec![0u8; size];
    let mut generator = SplitMix64(fnv1a(member_name.as_bytes()));
    for chunk in bytes.chunks_mut(8) {
        let random = generator.next().to_le_bytes();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    bytes[..ELF_IDENT.len()].copy_from_slice(&ELF_IDENT);

    if !strings.is_empty() {
        let spacing = (size / 2) / strings.len();
        for (index, text) in strings.iter().enumerate() {
            let offset = size / 4 + index * spacing;
            bytes[offset] = 0;
            bytes[offset + 1..offset + 1 + text.len()].copy_from_slice(text.as_bytes());
            bytes[offset + 1 + text.len()] = 0;
        }
    }
    bytes
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `.so`, `.so.N`, `.pyd`, `.dylib`, `.dll`.
fn is_shared_object(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.ends_with(".pyd")
        || file.ends_with(".dylib")
        || file.ends_with(".dll")
        || file.ends_with(".so")
        || file.contains(".so.")
}

/// The `WHEEL` file; compressed tags (`a.b-c-d.e`) expand into one `Tag:` line per combination.
fn wheel_file(tag: &str) -> Vec<u8> {
    let parts: Vec<&str> = tag.split('-').collect();
    let [pythons, abis, platforms] = parts[..] else {
        panic!("wheel tag {tag:?} is not a python-abi-platform triple");
    };
    let purelib = abis == "none" && platforms == "any";
    let mut wheel = format!(
        "Wheel-Version: 1.0\nGenerator: np2audit-fixture-index\nRoot-Is-Purelib: {purelib}\n"
    );
    for python in pythons.split('.') {
        for abi in abis.split('.') {
            for platform in platforms.split('.') {
                wheel.push_str(&format!("Tag: {python}-{abi}-{platform}\n"));
            }
        }
    }
    wheel.into_bytes()
}

/// `RECORD`: `path,sha256=<urlsafe base64, unpadded>,size` per member, then itself with no hash.
fn record_file(members: &[(String, Vec<u8>)], record_name: &str) -> Vec<u8> {
    let mut record = String::new();
    for (name, bytes) in members {
        let digest = Sha256::digest(bytes);
        record.push_str(&format!(
            "{name},sha256={},{}\n",
            base64_urlsafe_unpadded(&digest),
            bytes.len()
        ));
    }
    record.push_str(&format!("{record_name},,\n"));
    record.into_bytes()
}

fn base64_urlsafe_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        // A chunk of n bytes yields n + 1 characters.
        for position in 0..=chunk.len() {
            let index = (group >> (18 - 6 * position)) & 0x3f;
            encoded.push(char::from(ALPHABET[index as usize]));
        }
    }
    encoded
}

/// A 512-byte POSIX ustar header for a regular file owned by root, mode 0644, mtime 0.
fn ustar_header(name: &str, size: usize) -> [u8; 512] {
    assert!(name.len() <= 100, "sdist member name {name:?} too long");
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let mut put = |offset: usize, text: &str| {
        header[offset..offset + text.len()].copy_from_slice(text.as_bytes());
    };
    put(100, "0000644"); // mode
    put(108, "0000000"); // uid
    put(116, "0000000"); // gid
    put(124, &format!("{size:011o}"));
    put(136, "00000000000"); // mtime
    put(148, "        "); // checksum field counts as spaces while summing
    put(156, "0"); // regular file
    put(257, "ustar\0");
    put(263, "00");
    let checksum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    header
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A tiny deterministic generator; quality only needs to defeat deflate.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }
}
