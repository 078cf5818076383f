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
/// pybind11 2.12 and later: the run-time chooser of `numpy._core` or `numpy.core` by NumPy's
/// version, as NUL-separated C literals (seen in tensorstore 0.1.59 and scipy 1.13.0).
pub const PYBIND11_CHOOSER: [&str; 7] = [
    "__version__",
    "numpy.lib",
    "NumpyVersion",
    "major",
    "numpy._core",
    "numpy.core",
    "multiarray",
];

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
    /// Looks NumPy up at run time without a version choice (pybind11 < 2.12, rust-numpy < 0.22).
    #[serde(rename = "runtime-lookup")]
    RuntimeLookup,
    /// pybind11 2.12+'s run-time chooser alone, no import code: a run-time lookup.
    #[serde(rename = "pybind11-chooser")]
    Pybind11Chooser,
    /// The chooser beside import code built with NumPy 1.x headers (tensorstore 0.1.59–0.1.61).
    #[serde(rename = "pybind11-chooser-numpy1")]
    Pybind11ChooserNumpy1,
    /// The chooser beside NumPy 2.x headers' import code (tensorstore 0.1.62).
    #[serde(rename = "pybind11-chooser-numpy2")]
    Pybind11ChooserNumpy2,
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
            Signature::Pybind11Chooser => &[
                PYBIND11_CHOOSER[0],
                PYBIND11_CHOOSER[1],
                PYBIND11_CHOOSER[2],
                PYBIND11_CHOOSER[3],
                PYBIND11_CHOOSER[4],
                PYBIND11_CHOOSER[5],
                PYBIND11_CHOOSER[6],
                ARRAY_API,
            ],
            Signature::Pybind11ChooserNumpy1 => &[
                PYBIND11_CHOOSER[0],
                PYBIND11_CHOOSER[1],
                PYBIND11_CHOOSER[2],
                PYBIND11_CHOOSER[3],
                PYBIND11_CHOOSER[4],
                PYBIND11_CHOOSER[5],
                PYBIND11_CHOOSER[6],
                ARRAY_API,
                NUMPY1_MULTIARRAY_UMATH,
                CYTHON_NUMPY1_IMPORT_FAILED,
                ABI_VERSION_MISMATCH,
            ],
            Signature::Pybind11ChooserNumpy2 => &[
                PYBIND11_CHOOSER[0],
                PYBIND11_CHOOSER[1],
                PYBIND11_CHOOSER[2],
                PYBIND11_CHOOSER[3],
                PYBIND11_CHOOSER[4],
                PYBIND11_CHOOSER[5],
                PYBIND11_CHOOSER[6],
                ARRAY_API,
                NUMPY2_MULTIARRAY_UMATH,
                NUMPY1_MULTIARRAY_UMATH,
                C_API_VERSION_MISMATCH,
                ABI_VERSION_MISMATCH,
            ],
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
    /// Python modules beside `__init__.py` (an `__init__.py` here replaces the default one).
    pub python_files: &'a [PythonFileSpec],
    /// Store members uncompressed instead of deflating them.
    pub stored: bool,
}

/// A Python module of a wheel, as a description gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonFileSpec {
    /// Path inside the wheel: `pkg/io.py`.
    pub name: String,
    pub text: String,
    /// Pad the module with comment lines up to this many bytes (a large module, cheaply).
    #[serde(default)]
    pub size: Option<usize>,
}

impl PythonFileSpec {
    fn bytes(&self) -> Vec<u8> {
        let mut text = self.text.clone();
        while text.len() < self.size.unwrap_or(0) {
            text.push_str("# padding that a scan must not need to read\n");
        }
        text.into_bytes()
    }
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
    let members = wheel_members(spec);
    let method = if spec.stored {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in &members {
        let mode = if is_shared_object(name) { 0o755 } else { 0o644 };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(DateTime::default())
            .unix_permissions(mode);
        writer
            .start_file(name.as_str(), options)
            .expect("start zip member");
        writer.write_all(bytes).expect("write zip member");
    }
    writer.finish().expect("finish zip").into_inner()
}

/// The members of a wheel, in order, with their uncompressed bytes.
fn wheel_members(spec: &WheelSpec) -> Vec<(String, Vec<u8>)> {
    let dist_info = format!("{}-{}.dist-info", spec.distribution, spec.version);
    let init = format!("{}/__init__.py", spec.package);
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    if !spec.python_files.iter().any(|file| file.name == init) {
        members.push((
            init,
            format!("__version__ = \"{}\"\n", spec.version).into_bytes(),
        ));
    }
    for file in spec.python_files {
        members.push((file.name.clone(), file.bytes()));
    }
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
    members
}

/// Ways a wheel's zip structure can lie or exhaust a reader, spelled as in the descriptions
/// (`hostile = "bomb"` on a `[[release.file]]`). Those that name "the shared object" apply to
/// the file's first (and only) shared object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hostile {
    /// The central directory places the shared object far past the end of the file.
    DirectoryOutside,
    /// The central directory's offset of the shared object is off by a few bytes, so it points
    /// into the middle of its local header.
    WrongOffset,
    /// The central directory gives the shared object an eighth of its real compressed size
    /// (the local header has the right one).
    SizesDisagree,
    /// The shared object is declared 1 KiB but its deflate data inflates to 4 GiB of zeros
    /// (about 4 MB compressed).
    Bomb,
    /// The same 4 GiB of zeros, honestly declared (as large as a 32-bit size goes): only a
    /// reader's own output limit stops it.
    DeclaredBomb,
    /// A zip64 end record claiming 10 million entries for a directory that holds a handful.
    EntryCount,
    /// 200,000 empty members on top of the real ones.
    ManyEntries,
    /// The end record claims the whole file, from its first byte, as the central directory.
    DirectoryHuge,
}

/// METADATA built to trouble a reader (`hostile-metadata = "…"` on a `[[release]]`); the
/// release's `requires-dist` lines are kept in all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostileMetadata {
    /// A 24 MB `Requires-Dist` line: more than any client should hold as metadata.
    Oversized,
    /// A 6 MB `Keywords` header on one line and a 500 KB `Requires-Dist` line on another
    /// package: large but within reason, so the real requirements must still be read.
    GiantHeader,
    /// Latin-1 and stray bytes that are not UTF-8, in headers and in a `Requires-Dist` line.
    NonUtf8,
}

/// Core metadata for [`HostileMetadata`].
pub fn hostile_metadata(
    kind: HostileMetadata,
    name: &str,
    version: &str,
    requires_dist: &[String],
) -> Vec<u8> {
    let mut metadata = generate_metadata(name, version, None, requires_dist);
    match kind {
        HostileMetadata::Oversized => {
            metadata.extend_from_slice(b"Requires-Dist: numpy>=1.22 ; extra == \"");
            metadata.resize(metadata.len() + 24_000_000, b'x');
            metadata.extend_from_slice(b"\"\n");
        }
        HostileMetadata::GiantHeader => {
            metadata.extend_from_slice(b"Keywords: ");
            metadata.resize(metadata.len() + 6_000_000, b'k');
            metadata.extend_from_slice(b"\nRequires-Dist: other-package ; extra == \"");
            metadata.resize(metadata.len() + 500_000, b'e');
            metadata.extend_from_slice(b"\"\n");
        }
        HostileMetadata::NonUtf8 => {
            metadata.extend_from_slice(b"Author: Ren\xe9 M\xfcller\n");
            metadata.extend_from_slice(b"Requires-Dist: caf\xe9-lib>=1.0\n");
            metadata.extend_from_slice(b"Description: \xff\xfe\xc3\x28 broken \x80\n");
        }
    }
    metadata
}

/// A wheel whose zip structure is hostile in the way `kind` says; written by hand, since no zip
/// library writes lies.
pub fn build_hostile_wheel(spec: &WheelSpec, kind: Hostile) -> Vec<u8> {
    let target = spec
        .shared_objects
        .first()
        .map(|shared| shared.name.clone());
    let needs_target = !matches!(
        kind,
        Hostile::EntryCount | Hostile::ManyEntries | Hostile::DirectoryHuge
    );
    assert!(
        !needs_target || spec.shared_objects.len() == 1,
        "hostile = {kind:?} needs exactly one shared object"
    );
    let mut members: Vec<RawMember> = wheel_members(spec)
        .into_iter()
        .map(|(name, bytes)| {
            if matches!(kind, Hostile::Bomb | Hostile::DeclaredBomb)
                && Some(&name) == target.as_ref()
            {
                let declared = if kind == Hostile::Bomb {
                    1024
                } else {
                    u64::from(u32::MAX - 1)
                };
                RawMember::bomb(name, declared)
            } else {
                RawMember::deflated(name, &bytes)
            }
        })
        .collect();
    if kind == Hostile::ManyEntries {
        members.extend((0..200_000).map(|i| RawMember::empty(format!("m/{i}"))));
    }
    let lie = |member: &RawMember| -> DirectoryLie {
        let is_target = Some(&member.name) == target.as_ref();
        match kind {
            Hostile::DirectoryOutside if is_target => DirectoryLie::Offset(0xffff_0000),
            Hostile::WrongOffset if is_target => DirectoryLie::OffsetShift(7),
            Hostile::SizesDisagree if is_target => {
                DirectoryLie::CompressedSize(member.compressed.len() as u64 / 8)
            }
            _ => DirectoryLie::None,
        }
    };
    let claimed_entries = (kind == Hostile::EntryCount).then_some(10_000_000);
    let mut zip = write_raw_zip(&members, lie, claimed_entries);
    if kind == Hostile::DirectoryHuge {
        // The end record's directory size and offset: all of the file before the record.
        let record = zip.len() - 22;
        zip[record + 12..record + 16].copy_from_slice(&(record as u32).to_le_bytes());
        zip[record + 16..record + 20].copy_from_slice(&0u32.to_le_bytes());
    }
    zip
}

/// One member of a hand-written zip.
struct RawMember {
    name: String,
    method: u16,
    compressed: Vec<u8>,
    crc32: u32,
    uncompressed_size: u64,
}

impl RawMember {
    fn deflated(name: String, bytes: &[u8]) -> RawMember {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("deflate member");
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        RawMember {
            name,
            method: 8,
            compressed: encoder.finish().expect("finish deflate"),
            crc32: crc.sum(),
            uncompressed_size: bytes.len() as u64,
        }
    }

    /// An empty stored member.
    fn empty(name: String) -> RawMember {
        RawMember {
            name,
            method: 0,
            compressed: Vec::new(),
            crc32: 0,
            uncompressed_size: 0,
        }
    }

    /// 4 GiB of zeros, declared `declared` bytes long. Deflate cannot describe more than about
    /// 1 KiB of output per byte, so the stream is one fully flushed 1 MiB block of zeros
    /// repeated 4096 times: each copy starts afresh, so the copies chain into one valid stream.
    fn bomb(name: String, declared: u64) -> RawMember {
        let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
        let mut block = Vec::with_capacity(1 << 16);
        compress
            .compress_vec(&vec![0; 1 << 20], &mut block, flate2::FlushCompress::Full)
            .expect("deflate zeros");
        let mut compressed = Vec::with_capacity(block.len() * 4096 + 2);
        for _ in 0..4096 {
            compressed.extend_from_slice(&block);
        }
        // A final, empty block with fixed codes: it ends the stream.
        compressed.extend_from_slice(&[0x03, 0x00]);
        RawMember {
            name,
            method: 8,
            compressed,
            crc32: 0,
            uncompressed_size: declared,
        }
    }
}

/// What the central directory says about a member instead of the truth.
enum DirectoryLie {
    None,
    Offset(u32),
    OffsetShift(u32),
    CompressedSize(u64),
}

/// A zip of `members`, whose central directory tells the lies `lie` returns. With
/// `claimed_entries`, or when there are too many members for the 16-bit count, the end records
/// are zip64 ones and claim that many entries (default: the real count).
fn write_raw_zip(
    members: &[RawMember],
    lie: impl Fn(&RawMember) -> DirectoryLie,
    claimed_entries: Option<u64>,
) -> Vec<u8> {
    const DOS_DATE_1980_01_01: u16 = 0x21;
    const UTF8_NAMES: u16 = 1 << 11;
    let mut zip = Vec::new();
    let mut offsets = Vec::with_capacity(members.len());
    for member in members {
        offsets.push(zip.len() as u32);
        zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        zip.extend_from_slice(&20u16.to_le_bytes());
        zip.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        zip.extend_from_slice(&member.method.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        zip.extend_from_slice(&member.crc32.to_le_bytes());
        zip.extend_from_slice(&(member.compressed.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(member.uncompressed_size as u32).to_le_bytes());
        zip.extend_from_slice(&(member.name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(member.name.as_bytes());
        zip.extend_from_slice(&member.compressed);
    }
    let directory_offset = zip.len() as u64;
    for (member, &offset) in members.iter().zip(&offsets) {
        let (offset, compressed_size) = match lie(member) {
            DirectoryLie::None => (offset, member.compressed.len() as u64),
            DirectoryLie::Offset(offset) => (offset, member.compressed.len() as u64),
            DirectoryLie::OffsetShift(shift) => (offset + shift, member.compressed.len() as u64),
            DirectoryLie::CompressedSize(size) => (offset, size),
        };
        let mode: u32 = if is_shared_object(&member.name) {
            0o100755
        } else {
            0o100644
        };
        zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        zip.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes());
        zip.extend_from_slice(&20u16.to_le_bytes());
        zip.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        zip.extend_from_slice(&member.method.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        zip.extend_from_slice(&member.crc32.to_le_bytes());
        zip.extend_from_slice(&(compressed_size as u32).to_le_bytes());
        zip.extend_from_slice(&(member.uncompressed_size as u32).to_le_bytes());
        zip.extend_from_slice(&(member.name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        zip.extend_from_slice(&(mode << 16).to_le_bytes());
        zip.extend_from_slice(&offset.to_le_bytes());
        zip.extend_from_slice(member.name.as_bytes());
    }
    let directory_size = zip.len() as u64 - directory_offset;
    let entries = claimed_entries.unwrap_or(members.len() as u64);
    let zip64 = entries >= u64::from(u16::MAX);
    if zip64 {
        let record_offset = zip.len() as u64;
        zip.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        zip.extend_from_slice(&44u64.to_le_bytes());
        zip.extend_from_slice(&45u16.to_le_bytes());
        zip.extend_from_slice(&45u16.to_le_bytes());
        zip.extend_from_slice(&[0; 8]); // this disk, the directory's disk
        zip.extend_from_slice(&entries.to_le_bytes());
        zip.extend_from_slice(&entries.to_le_bytes());
        zip.extend_from_slice(&directory_size.to_le_bytes());
        zip.extend_from_slice(&directory_offset.to_le_bytes());
        zip.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        zip.extend_from_slice(&0u32.to_le_bytes());
        zip.extend_from_slice(&record_offset.to_le_bytes());
        zip.extend_from_slice(&1u32.to_le_bytes());
    }
    let short_entries = if zip64 { u16::MAX } else { entries as u16 };
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0; 4]); // this disk, the directory's disk
    zip.extend_from_slice(&short_entries.to_le_bytes());
    zip.extend_from_slice(&short_entries.to_le_bytes());
    zip.extend_from_slice(&(directory_size as u32).to_le_bytes());
    zip.extend_from_slice(&(directory_offset as u32).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
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
/// range reads pay off), and the signature's strings, NUL-delimited, where a linker puts string
/// literals: in `.rodata`, after `.text`, near the end of the read-only segment. They are spread
/// over 60–72% of the object, which is 80–96% of its read-only segment (in the 179 NumPy
/// 2.x-built extension modules of pandas 2.2.3, scipy 1.14.1, scikit-learn 1.5.2, matplotlib
/// 3.9.2, h5py 3.12.1, pyarrow 18.0.0, statsmodels 0.14.4 and numba 0.60.0, the C-API strings lie
/// at 81–93% of the read-only segment's end, first to last decile, median 90%).
pub fn shared_object_bytes(member_name: &str, signature: Signature, size: usize) -> Vec<u8> {
    const ELF_IDENT: [u8; 16] = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let strings = signature.strings();
    // Each string gets a slot of its own; grow the file until the slots fit in its `.rodata`.
    let slot = strings.iter().map(|text| text.len() + 2).max().unwrap_or(0);
    let size = size.max(9 * slot * strings.len() + 4 * ELF_IDENT.len());

    let mut bytes = vec![0u8; size];
    let mut generator = SplitMix64(fnv1a(member_name.as_bytes()));
    for chunk in bytes.chunks_mut(8) {
        let random = generator.next().to_le_bytes();
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    bytes[..ELF_IDENT.len()].copy_from_slice(&ELF_IDENT);
    // Program headers as a linker writes them: a read-only segment (`.text`, then `.rodata`
    // holding the strings), then a writable one and a tail that the scan need not read.
    if size >= 4096 {
        let read_only_end = (size - size / 4) as u64;
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bytes[0x38..0x3A].copy_from_slice(&2u16.to_le_bytes());
        for (index, (flags, offset, length)) in [
            (5u32, 0u64, read_only_end),
            (6, read_only_end, size as u64 / 8),
        ]
        .into_iter()
        .enumerate()
        {
            let at = 64 + index * 56;
            bytes[at..at + 56].fill(0);
            bytes[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
            bytes[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
            bytes[at + 32..at + 40].copy_from_slice(&length.to_le_bytes());
        }
    }

    if !strings.is_empty() {
        let (start, spacing) = rodata_slots(size, strings.len());
        for (index, text) in strings.iter().enumerate() {
            let offset = start + index * spacing;
            bytes[offset] = 0;
            bytes[offset + 1..offset + 1 + text.len()].copy_from_slice(text.as_bytes());
            bytes[offset + 1 + text.len()] = 0;
        }
    }
    bytes
}

/// Where [`shared_object_bytes`] puts the first of `count` strings in an object of `size`
/// bytes, and how far apart: spread over 60–72% of the object.
pub fn rodata_slots(size: usize, count: usize) -> (usize, usize) {
    (size * 3 / 5, size * 3 / 25 / count.max(1))
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
