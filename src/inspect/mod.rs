//! Checks on one release: what its metadata declares (`metadata.rs`) and which NumPy C-API its
//! compiled code was built against (`wheel.rs`). Nothing here prints.

pub mod elf;
pub mod metadata;
pub mod removed;
pub mod source;
pub mod wheel;

use std::collections::{HashMap, VecDeque};

use futures::StreamExt;
use futures::stream::FuturesOrdered;

use serde::{Deserialize, Serialize};

use crate::archive::ArchiveMembers;
use crate::zipfile::ZipEntry;
use wheel::{ObjectScan, SharedObjectBuild, WheelBuild};

/// Bump when the scanner changes what it concludes: cached scans of older versions are redone.
///
/// 2: extension modules are scanned before libraries, and wheels without extension modules
/// are not scanned at all.
/// 3: "no extension modules" also needs the wheel to be tagged without a Python ABI (triton keeps
/// its extension module in `triton/_C/libtriton.so`).
/// 4: known system libraries vendored by auditwheel, delocate or delvewheel (`<dist>.libs/`,
/// `.dylibs/`: BLAS, compiler runtimes, codecs) are not scanned.
/// 5: a bare `numpy._core` no longer shows a 2.x build (pybind11's run-time chooser holds it
/// beside 1.x import code in tensorstore 0.1.59–0.1.61); only NumPy 2's import strings do. A
/// 2.x-built object no longer ends a wheel's scan: any 1.x-built object makes it a blocker. A
/// lookup through `numpy.core.multiarray` without a version choice (pybind11 < 2.12, rust-numpy
/// < 0.22) is told from the version-aware chooser: it keeps 1.x's struct layout.
/// 6: an ELF object is read only to the end of its last read-only loadable segment ([`elf`]):
/// its writable data, symbol tables and debug sections are not (they hold no import code).
/// 7: NumPy's ABI and API checks count as 1.x import code only in NumPy's C format (`0x%x`):
/// rust-numpy carries the same messages through Rust's formatting beside its version-aware
/// chooser (polars-runtime-32 2.0.0: judged a 1.x build, imports and converts under NumPy 2.2.6).
pub const SCANNER_VERSION: u32 = 7;

/// The result of scanning one wheel's shared objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WheelScan {
    pub build: WheelBuild,
    /// Shared objects read, in order.
    pub scanned: Vec<String>,
    /// Shared objects left unread because the byte budget ran out before a conclusive one.
    pub unscanned: Vec<String>,
    /// Shared libraries left unread because the wheel has no Python extension module at all
    /// (e.g. nvidia-cudnn-cu13, which ships only CUDA libraries): nothing in it can be imported
    /// from Python, so nothing in it calls NumPy's `_import_array` on its own. `build` is then
    /// [`WheelBuild::NoNumpy`] with `shared_objects: 0` (none scanned). Empty otherwise.
    ///
    /// A wheel counts as having no extension module when none of its shared objects is named
    /// like one ([`shared_object_kind`]) *and* its ABI tag is `none` (`py3-none-manylinux…`):
    /// extension modules named like libraries exist (triton's `triton/_C/libtriton.so` is
    /// imported as `triton._C.libtriton`), and a wheel that carries them is tagged with a
    /// Python ABI.
    #[serde(default)]
    pub libraries_not_scanned: Vec<String>,
}

/// Limits on how much one wheel's scan may read.
#[derive(Debug, Clone, Copy)]
pub struct ScanBudget {
    /// Compressed bytes fetched across all members.
    pub compressed_bytes: u64,
    /// Decompressed bytes of any one member (a guard against decompression bombs).
    pub member_bytes: u64,
}

impl Default for ScanBudget {
    fn default() -> Self {
        ScanBudget {
            compressed_bytes: 512 * 1024 * 1024,
            member_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// What a shared object is to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedObjectKind {
    /// Importable as a module: a `.pyd`, or a `.so` named like one — with a Python ABI tag
    /// (`_foo.cpython-311-x86_64-linux-gnu.so`, `foo.abi3.so`, `lib.cpython-311-darwin.so`)
    /// or at least not named like a library (`_bar.so`).
    ExtensionModule,
    /// A library other code links against or loads: `lib*.so`, versioned `*.so.N`, `*.dylib`,
    /// `*.dll`.
    Library,
}

/// Tells extension modules from libraries by the member's file name (case-insensitive).
pub fn shared_object_kind(member: &str) -> SharedObjectKind {
    let file_name = member
        .rsplit('/')
        .next()
        .unwrap_or(member)
        .to_ascii_lowercase();
    if file_name.ends_with(".pyd") {
        return SharedObjectKind::ExtensionModule;
    }
    let Some(stem) = file_name.strip_suffix(".so") else {
        // `.dylib`, `.dll`, versioned `.so.N`.
        return SharedObjectKind::Library;
    };
    let abi_tagged = stem.rsplit_once('.').is_some_and(|(_, tag)| {
        tag == "abi3" || tag.starts_with("cpython-") || tag.starts_with("pypy")
    });
    if abi_tagged || !stem.starts_with("lib") {
        SharedObjectKind::ExtensionModule
    } else {
        SharedObjectKind::Library
    }
}

/// Which shared objects of a wheel to scan, in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScanPlan {
    /// (member name, compressed size): extension modules smallest first, then libraries
    /// smallest first.
    order: Vec<(String, u64)>,
    /// Libraries of a wheel without extension modules, which are not scanned.
    libraries_not_scanned: Vec<String>,
    /// Shared objects in the wheel, scanned or not.
    shared_objects: usize,
}

/// System libraries that wheel-repair tools copy in and that are never built against NumPy:
/// BLAS, compiler runtimes, codecs, compression, TLS, geometry. Matched as the start of the file
/// name without `lib`, so `libopenblasp-r0-….so` and `libopenblas64_….dll` are both BLAS.
const SYSTEM_LIBRARIES: &[&str] = &[
    "openblas",
    "gfortran",
    "quadmath",
    "gomp",
    "omp",
    "iomp",
    "stdc++",
    "gcc_s",
    "atomic",
    "jpeg",
    "turbojpeg",
    "png",
    "tiff",
    "webp",
    "sharpyuv",
    "lcms",
    "openjp2",
    "freetype",
    "harfbuzz",
    "brotli",
    "lzma",
    "bz2",
    "zstd",
    "lz4",
    "ssl",
    "crypto",
    "ffi",
    "xml2",
    "xslt",
    "exslt",
    "xcb",
    "xau",
    "geos",
    "proj",
    "sqlite3",
    "curl",
    "nghttp2",
    "pq",
    "krb5",
    "gssapi",
    "k5crypto",
    "com_err",
    "keyutils",
    "sasl2",
    "ldap",
    "lber",
    "hdf5",
    "aec",
    "sz",
    "blosc",
    "snappy",
    "avif",
    "aom",
    "dav1d",
    "yuv",
    "heif",
    "de265",
    "imagequant",
    "raqm",
    "fribidi",
    "msvcp",
    "vcomp",
    "vcruntime",
    "concrt",
    // Geospatial and scientific data stacks, as rasterio, pyogrio, fiona, netCDF4, pygrib and
    // pyproj bundle them (libgdal alone is 27 MB of pyogrio's 33 MB wheel). GDAL's NumPy
    // support lives in its Python bindings' extension modules, which are still scanned.
    "gdal",
    "netcdf",
    "eccodes",
    "lerc",
    "deflate",
    "expat",
    "gif",
    "qhull",
    "xerces",
    "icu",
    "uuid",
    "json-c",
    "kml",
    "spatialite",
    "pcre",
    "sodium",
    "zmq",
    "scipy_openblas",
];

/// True for a library a wheel-repair tool copied in from the build machine and known to be a
/// system library: auditwheel and delvewheel put them in `<dist>.libs/`, delocate in
/// `<package>/.dylibs/` (`scipy.libs/libopenblasp-r0-….so`, `pillow.libs/libjpeg-….so.62`).
/// They are often a wheel's largest members and are not scanned. Other vendored libraries are:
/// a grafted `libboost_numpy` is built against NumPy headers, and so would be a binary blocker.
pub fn is_vendored_library(member: &str) -> bool {
    let mut directories = member.split('/').rev().skip(1);
    let top_level = member.split('/').next().unwrap_or_default();
    let vendored = (member.contains('/') && top_level.to_ascii_lowercase().ends_with(".libs"))
        || directories.any(|directory| directory == ".dylibs");
    if !vendored {
        return false;
    }
    let file_name = member
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let stem = file_name.strip_prefix("lib").unwrap_or(&file_name);
    // `libz.so.1` and `libz-a1b2c3.so` are zlib; `libzstd` is matched by the list.
    let zlib = stem.split(['-', '.']).next() == Some("z");
    zlib || SYSTEM_LIBRARIES.iter().any(|known| stem.starts_with(known))
}

/// `python_abi`: whether the wheel's tags allow extension modules ([`wheel_has_python_abi`]).
fn plan_scan(entries: &[ZipEntry], python_abi: bool) -> ScanPlan {
    type Members = Vec<(String, u64)>;
    let (extensions, libraries): (Members, Members) = entries
        .iter()
        .filter(|entry| wheel::is_shared_object(&entry.name) && !is_vendored_library(&entry.name))
        .map(|entry| (entry.name.clone(), entry.compressed_size))
        .partition(|(name, _)| shared_object_kind(name) == SharedObjectKind::ExtensionModule);
    let shared_objects = extensions.len() + libraries.len();
    if extensions.is_empty() && !python_abi {
        return ScanPlan {
            order: Vec::new(),
            libraries_not_scanned: wheel::scan_order(&libraries)
                .into_iter()
                .map(|(name, _)| name)
                .collect(),
            shared_objects,
        };
    }
    let mut order = wheel::scan_order(&extensions);
    order.extend(wheel::scan_order(&libraries));
    ScanPlan {
        order,
        libraries_not_scanned: Vec::new(),
        shared_objects,
    }
}

/// Reads of one wheel's members under way at once, at most.
const READS_AT_ONCE: usize = 8;
/// Members this small (compressed) are read ahead from the start.
const SMALL_MEMBER: u64 = 64 * 1024;
/// Compressed bytes read ahead, beside the read the scan waits on, once a member has been read
/// in vain (or as much as was read in vain, if more).
const READ_AHEAD: u64 = (READS_AT_ONCE as u64 - 1) * SMALL_MEMBER;

/// False only when the wheel's file name says its compiled code needs no Python ABI (ABI tag
/// `none`): such a wheel holds no extension module. True when the name cannot be read.
pub fn wheel_has_python_abi(filename: &str) -> bool {
    crate::dist::WheelTags::from_filename(filename).is_none_or(|tags| tags.has_python_abi())
}

/// Scan the shared objects of a wheel — extension modules first, then libraries, each group
/// smallest first — stopping at the first one built against NumPy 1.x: one such object makes
/// the wheel a blocker, while a 2.x verdict needs every object read (objects of one wheel can
/// come from different builds). A wheel without extension modules is not scanned (see
/// [`WheelScan::libraries_not_scanned`] for how that is told).
///
/// Members are read in scan order, several at once, so that a wheel of many modules (black's 28
/// mypyc ones, scipy's hundred) does not cost a round trip per member, one after another. What
/// is read past a 1.x-built member, which ends the scan, is bounded: small members (up to
/// [`SMALL_MEMBER`]) are read ahead from the start; larger ones only once a member has been
/// read without finding a 1.x build, up to [`READ_AHEAD`] bytes beside the read the scan waits
/// on, or as much as was read so, if more. A 1.x-built wheel whose first member shows it, as
/// most do, reads nothing more.
pub async fn scan_wheel<W: ArchiveMembers>(
    wheel: &W,
    budget: ScanBudget,
) -> Result<WheelScan, W::Error> {
    let plan = plan_scan(wheel.entries(), wheel_has_python_abi(wheel.filename()));
    if !plan.libraries_not_scanned.is_empty() {
        return Ok(WheelScan {
            build: WheelBuild::NoNumpy { shared_objects: 0 },
            scanned: Vec::new(),
            unscanned: Vec::new(),
            libraries_not_scanned: plan.libraries_not_scanned,
        });
    }
    let by_name: HashMap<&str, &ZipEntry> = wheel
        .entries()
        .iter()
        .map(|entry| (entry.name.as_str(), entry))
        .collect();
    let mut scans = Vec::new();
    let mut scanned = Vec::new();
    let mut unscanned = Vec::new();
    let mut spent = 0u64;
    let mut queue = plan.order.iter().peekable();
    // Reads under way, finished in scan order, with their compressed sizes; the bytes of all
    // but the first are read ahead.
    let mut reading = FuturesOrdered::new();
    let mut sizes = VecDeque::new();
    // Compressed bytes of members read without finding a 1.x build.
    let mut read_in_vain = 0u64;
    loop {
        while let Some(&(name, compressed_size)) = queue.peek() {
            let ahead: u64 = sizes.iter().skip(1).sum();
            let all_small =
                *compressed_size <= SMALL_MEMBER && sizes.iter().all(|&size| size <= SMALL_MEMBER);
            let room = if read_in_vain > 0 {
                READ_AHEAD.max(read_in_vain)
            } else {
                0
            };
            let admit = reading.is_empty()
                || reading.len() < READS_AT_ONCE
                    && (all_small || ahead.saturating_add(*compressed_size) <= room);
            if !admit {
                break;
            }
            queue.next();
            if spent.saturating_add(*compressed_size) > budget.compressed_bytes {
                unscanned.push(name.clone());
                continue;
            }
            spent += compressed_size;
            sizes.push_back(*compressed_size);
            let entry = by_name[name.as_str()];
            reading.push_back(async move {
                let mut scanner = ObjectScan::new();
                let wanted = std::sync::atomic::AtomicU64::new(u64::MAX);
                wheel
                    .read_member_wanting(entry, budget.member_bytes, &wanted, |chunk| {
                        let flow = scanner.feed(chunk);
                        if let Some(limit) = scanner.limit() {
                            wanted.store(limit, std::sync::atomic::Ordering::Relaxed);
                        }
                        flow
                    })
                    .await?;
                Ok::<_, W::Error>((name, scanner.finish()))
            });
        }
        let Some(read) = reading.next().await else {
            break;
        };
        let (name, scan) = read?;
        let size = sizes.pop_front().unwrap_or_default();
        let decides = scan.build == SharedObjectBuild::NumPy1;
        if !decides {
            read_in_vain = read_in_vain.saturating_add(size);
        }
        scanned.push(name.clone());
        scans.push((name.clone(), scan));
        if decides {
            // Reads still under way are dropped, and their requests with them.
            break;
        }
    }
    let build = wheel::combine(&scans, plan.shared_objects);
    Ok(WheelScan {
        build,
        scanned,
        unscanned,
        libraries_not_scanned: Vec::new(),
    })
}

/// The most Python source (compressed) one wheel's source scan reads.
const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;
/// The largest module it reads.
const MAX_MODULE_BYTES: u64 = 4 * 1024 * 1024;
/// Modules read and waiting for the walker.
const MODULES_QUEUED: usize = 16;

/// Scan a wheel's Python modules for what NumPy removed ([`source`]): only those members,
/// fetched in a few range requests.
pub async fn scan_wheel_sources<W: ArchiveMembers>(
    wheel: &W,
    table: &'static removed::RemovedTable,
) -> Result<source::SourceScan, W::Error> {
    let mut budget = MAX_SOURCE_BYTES;
    // Modules past the budget are not read, and the scan says so (never a silent skip).
    let (modules, too_large): (Vec<&ZipEntry>, Vec<&ZipEntry>) = wheel
        .entries()
        .iter()
        .filter(|entry| source::is_scanned_module(&entry.name))
        .partition(|entry| {
            let fits =
                entry.compressed_size <= budget && entry.uncompressed_size <= MAX_MODULE_BYTES;
            if fits {
                budget -= entry.compressed_size;
            }
            fits
        });
    // Parsing is CPU work: it runs on a blocking thread, fed as the members arrive (a few
    // at a time), so neither the runtime's threads nor memory hold a release's text whole.
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<(String, Result<Vec<u8>, String>)>(MODULES_QUEUED);
    let past_budget: Vec<(String, Result<Vec<u8>, String>)> = too_large
        .iter()
        .map(|entry| {
            let why = format!(
                "{} bytes, past the source scan's budget",
                entry.uncompressed_size
            );
            (entry.name.clone(), Err(why))
        })
        .collect();
    // Every module path of the release, read or not, tells which packages are its own.
    let paths: Vec<String> = modules
        .iter()
        .chain(&too_large)
        .map(|entry| entry.name.clone())
        .collect();
    let walker = tokio::task::spawn_blocking(move || {
        let mut scanner =
            source::ModuleScanner::new(table).with_paths(paths.iter().map(String::as_str));
        while let Some((name, bytes)) = receiver.blocking_recv() {
            scanner.add(name, bytes);
        }
        for (name, why) in past_budget {
            scanner.add(name, why);
        }
        scanner.finish()
    });
    let read = wheel
        .read_small_members(&modules, MAX_MODULE_BYTES, async |name, bytes| {
            // The walker only stops early by panicking, which the join below reports.
            let _ = sender
                .send((name, bytes.map_err(|error| error.to_string())))
                .await;
        })
        .await;
    drop(sender);
    let scan = walker.await.expect("the source walker does not panic");
    read?;
    Ok(scan)
}

/// Scan installed Python modules on disk: `files` are (name as recorded, path).
pub fn scan_source_files(
    files: &[(String, std::path::PathBuf)],
    table: &removed::RemovedTable,
) -> source::SourceScan {
    source::scan_modules(
        files
            .iter()
            .filter(|(name, _)| source::is_scanned_module(name))
            .map(|(name, path)| {
                (
                    name.clone(),
                    std::fs::read(path).map_err(|error| error.to_string()),
                )
            }),
        table,
    )
}

/// Scan installed shared objects on disk — extension modules first, each group smallest
/// first — stopping at the first one built against NumPy 1.x (see [`scan_wheel`]). `files` are (name as recorded, path).
pub fn scan_files(files: &[(String, std::path::PathBuf)]) -> std::io::Result<WheelScan> {
    use std::io::Read;

    let sized: Vec<(String, u64)> = files
        .iter()
        .map(|(name, path)| {
            (
                name.clone(),
                std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            )
        })
        .collect();
    let (extensions, libraries): (Vec<_>, Vec<_>) = sized
        .into_iter()
        .partition(|(name, _)| shared_object_kind(name) == SharedObjectKind::ExtensionModule);
    let mut order = wheel::scan_order(&extensions);
    order.extend(wheel::scan_order(&libraries));
    let mut scans = Vec::new();
    let mut scanned = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    for (name, _) in &order {
        let path = &files
            .iter()
            .find(|(n, _)| n == name)
            .expect("listed above")
            .1;
        let mut file = std::fs::File::open(path)?;
        let mut scanner = ObjectScan::new();
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 || scanner.feed(&buffer[..read]).is_break() {
                break;
            }
        }
        let scan = scanner.finish();
        let decides = scan.build == SharedObjectBuild::NumPy1;
        scanned.push(name.clone());
        scans.push((name.clone(), scan));
        if decides {
            break;
        }
    }
    Ok(WheelScan {
        build: wheel::combine(&scans, files.len()),
        scanned,
        unscanned: Vec::new(),
        libraries_not_scanned: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::wheel::tests::object;

    /// A wheel held in memory: the scans read it through [`ArchiveMembers`] as they read an
    /// index's wheels, without HTTP.
    fn wheel_in_memory(
        filename: &str,
        members: &[(&str, Vec<u8>)],
    ) -> crate::archive::ArchiveInMemory {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        crate::archive::ArchiveInMemory::new(filename, bytes).unwrap()
    }

    #[tokio::test]
    async fn a_wheel_in_memory_is_scanned_like_one_on_an_index() {
        let built_2x = object(&["numpy._core._multiarray_umath", "_ARRAY_API"]);
        let built_1x = object(&[
            "numpy.core._multiarray_umath",
            "_ARRAY_API",
            "module compiled against ABI version 0x%x but this version of numpy is 0x%x",
        ]);
        let ready = wheel_in_memory(
            "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            &[
                (
                    "demo/__init__.py",
                    b"import numpy as np\nx = np.float_\n".to_vec(),
                ),
                (
                    "demo/_ext.cpython-311-x86_64-linux-gnu.so",
                    built_2x.clone(),
                ),
            ],
        );
        let scan = scan_wheel(&ready, ScanBudget::default()).await.unwrap();
        assert!(matches!(scan.build, WheelBuild::NumPy2 { .. }), "{scan:?}");
        assert_eq!(scan.scanned, ["demo/_ext.cpython-311-x86_64-linux-gnu.so"]);

        // One 1.x-built object among 2.x-built ones decides.
        let mixed = wheel_in_memory(
            "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            &[
                ("demo/_a.cpython-311-x86_64-linux-gnu.so", built_2x),
                ("demo/_b.cpython-311-x86_64-linux-gnu.so", built_1x),
            ],
        );
        let scan = scan_wheel(&mixed, ScanBudget::default()).await.unwrap();
        match &scan.build {
            WheelBuild::NumPy1 { member, .. } => {
                assert_eq!(member, "demo/_b.cpython-311-x86_64-linux-gnu.so")
            }
            other => panic!("expected a 1.x build, got {other:?}"),
        }

        // The source scan reads the same archive's modules.
        let table: &'static removed::RemovedTable = removed::RemovedTable::shipped();
        let sources = scan_wheel_sources(&ready, table).await.unwrap();
        assert!(
            sources
                .uses
                .iter()
                .any(|found| found.path == "numpy.float_" && found.at_import),
            "{sources:?}"
        );
    }

    fn entry(name: &str, compressed_size: u64) -> ZipEntry {
        ZipEntry {
            name: name.into(),
            compression: 8,
            compressed_size,
            uncompressed_size: compressed_size * 3,
            local_header_offset: 0,
            crc32: 0,
        }
    }

    #[test]
    fn extension_modules_and_libraries_are_told_apart() {
        use SharedObjectKind::{ExtensionModule, Library};
        for (name, kind) in [
            ("pkg/_foo.cpython-311-x86_64-linux-gnu.so", ExtensionModule),
            ("pkg/foo.abi3.so", ExtensionModule),
            ("pkg/_bar.so", ExtensionModule),
            ("pkg/_bar.cpython-312-darwin.so", ExtensionModule),
            ("pkg/_bar.pypy310-pp73-x86_64-linux-gnu.so", ExtensionModule),
            ("pkg/_bar.cp311-win_amd64.pyd", ExtensionModule),
            ("PKG/EXT.PYD", ExtensionModule),
            // pyarrow's main extension module is called `lib`.
            (
                "pyarrow/lib.cpython-311-x86_64-linux-gnu.so",
                ExtensionModule,
            ),
            ("pkg/libfoo.abi3.so", ExtensionModule),
            ("torch/lib/libtorch_python.so", Library),
            ("pyarrow/libarrow_python.so", Library),
            ("pyarrow/libarrow.so.1700", Library),
            ("nvidia/cudnn/lib/libcudnn.so.9", Library),
            ("scipy.libs/libgfortran-040039e1.so.5.0.0", Library),
            ("LIBFOO.SO", Library),
            ("pkg/.dylibs/libomp.dylib", Library),
            ("pkg/foo.dylib", Library),
            ("pkg/foo.dll", Library),
        ] {
            assert_eq!(shared_object_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn extension_modules_come_first_each_group_smallest_first() {
        let entries = [
            entry("pkg/__init__.py", 10),
            entry("pkg/libbig.so", 50),
            entry("pkg/libsmall.so.1", 5),
            entry("pkg/_big.cpython-311-x86_64-linux-gnu.so", 400),
            entry("pkg/_small.abi3.so", 40),
            entry("pkg/.dylibs/libz.dylib", 1),
            entry("pkg-1.0.dist-info/METADATA", 3),
        ];
        let plan = plan_scan(&entries, true);
        let names: Vec<&str> = plan.order.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "pkg/_small.abi3.so",
                "pkg/_big.cpython-311-x86_64-linux-gnu.so",
                "pkg/libsmall.so.1",
                "pkg/libbig.so",
            ]
        );
        assert_eq!(plan.order[1].1, 400);
        assert!(plan.libraries_not_scanned.is_empty());
        // The vendored `.dylibs/libz.dylib` is not one of them.
        assert_eq!(plan.shared_objects, 4);
    }

    #[test]
    fn vendored_libraries_are_told_apart() {
        for (name, vendored) in [
            ("scipy.libs/libopenblasp-r0-23e5df77.3.21.dev.so", true),
            ("Pillow.libs/libjpeg-45e70d2b.so.62.4.0", true),
            ("numpy.libs/libgfortran-daac5196.dll", true),
            ("sklearn/.dylibs/libomp.dylib", true),
            ("pyarrow/libarrow_python.so", false),
            ("pyarrow/libarrow.so.1700", false),
            ("torch/lib/libtorch_python.so", false),
            ("pkg/_ext.cpython-311-x86_64-linux-gnu.so", false),
            ("top.libs", false),
            ("Pillow.libs/libz-a1b2c3d4.so.1.3", true),
            // Names seen in real wheels (rasterio, pyogrio, netCDF4, pygrib, pyzmq, scipy).
            ("pyogrio.libs/libgdal-ec6989ac.so.38.3.12.4", true),
            ("netcdf4.libs/libnetcdf-51d2eb2d.so.22", true),
            ("pygrib.libs/libeccodes-dbf53788.so", true),
            ("rasterio.libs/libLerc-c957a4c5.so.4", true),
            ("pyzmq.libs/libsodium-19479d6d.so.26.2.0", true),
            ("scipy.libs/libscipy_openblas-5f890258.so", true),
            // GDAL's own NumPy bindings are an extension module, not a library.
            ("osgeo/_gdal_array.cpython-312-x86_64-linux-gnu.so", false),
            // Unknown or NumPy-using libraries in the same place are scanned.
            ("foo.libs/libboost_numpy310-1a2b3c4d.so.1.83.0", false),
            ("foo.libs/libmystery-1a2b3c4d.so", false),
            ("foo.libs/libzfp-1a2b3c4d.so", false),
        ] {
            assert_eq!(is_vendored_library(name), vendored, "{name}");
        }
    }

    #[test]
    fn wheels_without_extension_modules_are_not_scanned() {
        let entries = [
            entry("nvidia/__init__.py", 1),
            entry(
                "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
                400_000_000,
            ),
            entry("nvidia/cudnn/lib/libcudnn.so.9", 100_000),
            entry("nvidia/cudnn/include/cudnn.h", 2_000),
        ];
        let plan = plan_scan(&entries, false);
        assert!(plan.order.is_empty());
        assert_eq!(
            plan.libraries_not_scanned,
            [
                "nvidia/cudnn/lib/libcudnn.so.9",
                "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
            ]
        );
        assert_eq!(plan.shared_objects, 2);

        // Extension modules named like libraries, in a wheel tagged with a Python ABI: the
        // libraries are scanned, smallest first.
        let triton = [
            entry("triton/_C/libtriton.so", 138_000_000),
            entry("triton/_C/libproton.so", 6_600_000),
            entry("triton/backends/nvidia/lib/cupti/libcupti.so.12", 2_300_000),
        ];
        let plan = plan_scan(&triton, true);
        assert!(plan.libraries_not_scanned.is_empty());
        let names: Vec<&str> = plan.order.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "triton/backends/nvidia/lib/cupti/libcupti.so.12",
                "triton/_C/libproton.so",
                "triton/_C/libtriton.so",
            ]
        );
        // A wheel with extension modules is scanned whatever its tags say.
        let plan = plan_scan(&[entry("pkg/_ext.so", 1), entry("pkg/libx.so", 1)], false);
        assert_eq!(plan.order.len(), 2);

        // Pure Python: nothing to scan, nothing left out.
        let plan = plan_scan(&[entry("pkg/__init__.py", 1)], false);
        assert_eq!(plan.order, []);
        assert!(plan.libraries_not_scanned.is_empty());
        assert_eq!(plan.shared_objects, 0);
    }

    #[test]
    fn python_abi_is_read_from_the_wheel_name() {
        for (filename, abi) in [
            (
                "nvidia_cudnn_cu13-9.24.0.43-py3-none-manylinux_2_27_x86_64.whl",
                false,
            ),
            ("biglib-9.0.0-py3-none-manylinux_2_27_x86_64.whl", false),
            ("pkg-1.0-1-py2.py3-none-any.whl", false),
            ("pkg-1.0-py3-NONE-any.whl", false),
            (
                "triton-3.8.0-cp310-cp310-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                true,
            ),
            ("pkg-1.0-cp39-abi3-win_amd64.whl", true),
            ("pkg-1.0-cp39-none.abi3-linux_x86_64.whl", true),
            // Unreadable names are taken to allow extension modules.
            ("pkg-1.0.tar.gz", true),
            ("pkg-none-any.whl", true),
        ] {
            assert_eq!(wheel_has_python_abi(filename), abi, "{filename}");
        }
    }

    #[test]
    fn scans_cached_before_the_new_field_still_load() {
        let old = r#"{"build":{"kind":"no-numpy","shared_objects":2},"scanned":["a.so","b.so"],"unscanned":[]}"#;
        let scan: WheelScan = serde_json::from_str(old).unwrap();
        assert!(scan.libraries_not_scanned.is_empty());
        assert_eq!(scan.build, WheelBuild::NoNumpy { shared_objects: 2 });

        let skipped = WheelScan {
            build: WheelBuild::NoNumpy { shared_objects: 0 },
            scanned: Vec::new(),
            unscanned: Vec::new(),
            libraries_not_scanned: vec!["nvidia/cudnn/lib/libcudnn.so.9".into()],
        };
        let json = serde_json::to_string(&skipped).unwrap();
        assert_eq!(serde_json::from_str::<WheelScan>(&json).unwrap(), skipped);
    }
}
