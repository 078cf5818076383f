//! What the fuzz targets check, beyond "does not panic": each reader's contract, shared here so
//! the targets stay one line and a crash can be replayed from a unit test.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use flate2::Crc;
use np2audit::inspect::wheel::{
    self, SharedObjectBuild, SharedObjectScan, SignatureScanner, WheelBuild,
};
use np2audit::lockfile::{LockFormat, LockedProject, LockfileError};
use np2audit::zipfile::{
    self, CentralDirectoryLocation, MemberInflater, Progress, ZipEntry, ZipError,
};

/// A folder that does not exist: readers look for a `pyproject.toml` beside the lock and
/// resolve `-r` includes against it, and must find nothing there.
const NOWHERE: &str = "/nonexistent-np2audit-fuzz";

/// A cheap, stable hash of the input, for choosing knobs (probe sizes, chunk sizes, caps)
/// without a prefix byte, so that every seed stays a plain file of its format.
pub fn knobs(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn lines_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// A reader's error must be `path:line: message`: a parse error naming the file it was given
/// (or, for requirements files, an include), a line inside it, and a one-line message.
fn check_lockfile_error(error: &LockfileError, path: &Path, bytes: &[u8]) {
    let LockfileError::Parse {
        path: error_path,
        line,
        message,
    } = error
    else {
        panic!("expected a parse error, got {error:?}");
    };
    assert!(*line >= 1, "line 0 in {error}");
    assert!(!message.trim().is_empty(), "empty message in {error:?}");
    // The parsers' own errors may echo the input on further lines; what is shown is the first.
    let rendered = error.to_string();
    assert!(
        !rendered.contains('\n'),
        "message spans lines, breaking `file:line: message`: {rendered:?}"
    );
    let prefix = format!("{}:{line}: ", error_path.display());
    assert!(
        rendered.starts_with(&prefix),
        "{rendered:?} lacks {prefix:?}"
    );
    if error_path == path {
        assert!(
            *line <= lines_in(bytes),
            "line {line} past the end of a {}-line input: {error}",
            lines_in(bytes)
        );
    }
}

/// The graph a reader returns must hold together: every edge and root names a package.
fn check_project(project: &LockedProject, path: &Path, format: LockFormat, bytes: &[u8]) {
    assert_eq!(project.path, path);
    assert_eq!(project.format, format);
    let count = project.packages.len();
    for root in &project.roots {
        assert!(root.0 < count, "root {} of {count} packages", root.0);
    }
    for package in &project.packages {
        // Line 0 is how readers say "no line" (a synthetic root, a package named only by
        // the project); the audit and fix advice check for it.
        // Requirements files may pull packages from includes, whose lines are their own.
        if format != LockFormat::Requirements {
            assert!(
                package.line <= lines_in(bytes),
                "{} at line {} of a {}-line input",
                package.display_id(),
                package.line,
                lines_in(bytes)
            );
        }
        for dependency in &package.dependencies {
            assert!(
                dependency.package.0 < count,
                "{} depends on package {} of {count}",
                package.display_id(),
                dependency.package.0
            );
        }
    }
}

fn file_name(format: LockFormat) -> &'static str {
    match format {
        LockFormat::Requirements => "requirements.txt",
        LockFormat::Installed => "site-packages",
        other => other.as_str(),
    }
}

/// Whether an input would make a requirements reader open something that is not a plain
/// file (`-r /dev/zero`, `/proc/…`): skipped so a run stays fast and repeatable.
fn reaches_special_files(bytes: &[u8]) -> bool {
    ["/dev", "/proc", "/sys"].iter().any(|needle| {
        bytes
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    })
}

/// Read `bytes` as a lockfile of `format`: either a project whose graph holds together or a
/// `path:line: message` error.
pub fn check_lockfile(format: LockFormat, bytes: &[u8]) {
    if format == LockFormat::Requirements && reaches_special_files(bytes) {
        return;
    }
    let path = PathBuf::from(NOWHERE).join(file_name(format));
    match np2audit::lockfile::parse_lockfile(&path, format, bytes) {
        Ok(project) => check_project(&project, &path, format, bytes),
        Err(error) => check_lockfile_error(&error, &path, bytes),
    }
}

/// Recognise the format from the content, then read it as that format.
pub fn check_detected_lockfile(bytes: &[u8]) {
    if let Some(format) = LockFormat::from_content(bytes) {
        check_lockfile(format, bytes);
    }
}

/// Read `bytes` as the `pyproject.toml` beside a lock, both ways the readers do.
pub fn check_pyproject(bytes: &[u8]) {
    let path = PathBuf::from(NOWHERE).join("pyproject.toml");
    for format in [LockFormat::PdmLock, LockFormat::PoetryLock] {
        if let Err(error) = np2audit::lockfile::parse_pyproject(&path, format, bytes) {
            check_lockfile_error(&error, &path, bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zip

/// More than any wheel needs, few enough to keep a run fast.
const MAX_ENTRIES: usize = 4096;
/// Members inflated per input.
const MAX_MEMBERS: usize = 8;

/// The range-read session of `RemoteWheel`, on bytes held in memory: probe the tail, fetch
/// more while the locator asks for it, then parse the directory from the held tail.
fn ranged_entries(
    whole: &[u8],
    probe: u64,
) -> Result<(Vec<ZipEntry>, CentralDirectoryLocation), ZipError> {
    let file_len = whole.len() as u64;
    let mut tail_start = file_len - probe.min(file_len);
    let mut rounds = 0;
    let location = loop {
        let tail = &whole[tail_start as usize..];
        match zipfile::locate_central_directory(tail, file_len) {
            Ok(location) => break location,
            Err(ZipError::NeedMoreTail { from_end }) if from_end > tail.len() as u64 => {
                assert!(
                    from_end <= file_len,
                    "asks for {from_end} of {file_len} bytes"
                );
                rounds += 1;
                assert!(rounds <= 4, "the locator keeps asking for more tail");
                tail_start = file_len - from_end;
            }
            Err(error) => return Err(error),
        }
    };
    assert!(
        location.offset.saturating_add(location.size) <= file_len,
        "{location:?} runs past a {file_len}-byte file"
    );
    tail_start = tail_start.min(location.offset);
    let tail = &whole[tail_start as usize..];
    let start = ((location.offset - tail_start) as usize).min(tail.len());
    let entries = zipfile::parse_central_directory_at(&tail[start..], &location, MAX_ENTRIES)?;
    Ok((entries, location))
}

/// What a read of one member gave: the result and every byte the sink saw.
#[derive(Debug, PartialEq, Eq)]
struct Inflated {
    result: Result<bool, String>,
    output: Vec<u8>,
}

/// Inflate `data` in one push (as [`zipfile::inflate_member`] does), checking the guards.
fn inflate_whole(entry: &ZipEntry, data: &[u8], cap: u64, stop_after: Option<usize>) -> Inflated {
    let mut output = Vec::new();
    let mut breaks = 0;
    let result = zipfile::inflate_member(entry, data, cap, |chunk| {
        assert!(chunk.len() <= 64 * 1024, "a {}-byte chunk", chunk.len());
        output.extend_from_slice(chunk);
        match stop_after {
            Some(limit) if output.len() >= limit => {
                breaks += 1;
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        }
    });
    check_inflated(entry, data, cap, &result, &output, breaks);
    Inflated {
        result: result.map_err(|error| error.to_string()),
        output,
    }
}

/// Inflate `data` pushed in pieces of `piece` bytes, as a streamed range read does.
fn inflate_pieces(entry: &ZipEntry, data: &[u8], cap: u64, piece: usize) -> Inflated {
    let mut output = Vec::new();
    let result = (|| {
        let mut inflater = MemberInflater::new(entry, cap)?;
        let mut sink = |chunk: &[u8]| {
            output.extend_from_slice(chunk);
            ControlFlow::Continue(())
        };
        for chunk in data.chunks(piece.max(1)) {
            let before = inflater.compressed_remaining();
            let progress = inflater.push(chunk, &mut sink)?;
            assert!(inflater.compressed_remaining() <= before);
            if progress != Progress::NeedMore {
                break;
            }
        }
        inflater.finish()
    })();
    check_inflated(entry, data, cap, &result, &output, 0);
    Inflated {
        result: result.map_err(|error| error.to_string()),
        output,
    }
}

/// Output never passes the cap or the declared size (plus its slack); a member read to its end
/// matches its CRC-32, and a stored one is its own data.
fn check_inflated(
    entry: &ZipEntry,
    data: &[u8],
    cap: u64,
    result: &Result<bool, ZipError>,
    output: &[u8],
    breaks: usize,
) {
    let written = output.len() as u64;
    assert!(written <= cap, "{written} bytes out past a {cap}-byte cap");
    assert!(
        written <= entry.uncompressed_size.saturating_add(1024),
        "{written} bytes out of a member declaring {}",
        entry.uncompressed_size
    );
    match result {
        Ok(true) => {
            let mut crc = Crc::new();
            crc.update(output);
            assert_eq!(crc.sum(), entry.crc32, "finished without a matching CRC-32");
            if entry.compression == 0 {
                assert_eq!(output, &data[..entry.compressed_size as usize]);
            }
        }
        Ok(false) => assert!(breaks > 0, "stopped early though the sink never said stop"),
        Err(_) => {}
    }
}

/// The member's data as a range read gets it: fetch from the local header with an allowance
/// for its extra field, then the rest if the allowance was short.
fn ranged_member<'a>(
    whole: &'a [u8],
    entry: &ZipEntry,
    directory_offset: u64,
) -> Result<&'a [u8], ZipError> {
    let range = zipfile::member_fetch_range(entry, directory_offset);
    assert!(range.start <= range.end && range.end <= directory_offset.max(range.start));
    let held = |start: u64, end: u64| {
        let end = end.min(whole.len() as u64);
        whole.get(start as usize..end as usize).unwrap_or_default()
    };
    match zipfile::member_data_from_header(held(range.start, range.end), entry) {
        Err(ZipError::Truncated { needed, .. })
            if range.start.saturating_add(needed) <= directory_offset =>
        {
            zipfile::member_data_from_header(held(range.start, range.start + needed), entry)
        }
        other => other,
    }
}

/// Where `data`, a slice of `whole`, ends in it.
fn data_end(whole: &[u8], data: &[u8]) -> u64 {
    (data.as_ptr() as usize - whole.as_ptr() as usize + data.len()) as u64
}

/// A zip read whole and by range reads gives the same entries; no entry reaches past the
/// directory; each member inflates the same in one push and in pieces, within its caps.
pub fn check_zip(whole: &[u8]) {
    let knobs = knobs(whole);
    let file_len = whole.len() as u64;
    let listed = zipfile::list_entries(whole, MAX_ENTRIES);
    if let Err(ZipError::NeedMoreTail { .. }) = &listed {
        panic!("the whole file cannot need more tail");
    }
    let probe = [22, 100, 4096, zipfile::TAIL_PROBE][(knobs % 4) as usize];
    let ranged = ranged_entries(whole, probe);
    // A zip64 end record that the 32-bit record does not need is read only when it is in the
    // tail already (not worth a fetch), so with one present the two reads may differ.
    let zip64_locator = whole.windows(4).any(|window| window == b"PK\x06\x07");
    if !zip64_locator {
        match (&listed, &ranged) {
            (Ok(entries), Ok((ranged, _))) => assert_eq!(entries, ranged),
            (Ok(_), Err(error)) => panic!("read whole but not by ranges ({probe}): {error}"),
            (Err(error), Ok(_)) => panic!("read by ranges ({probe}) but not whole: {error}"),
            (Err(_), Err(_)) => {}
        }
    }
    let Ok((entries, location)) = ranged else {
        return;
    };
    for entry in &entries {
        let end = entry
            .local_header_offset
            .checked_add(30)
            .and_then(|end| end.checked_add(entry.compressed_size));
        assert!(
            end.is_some_and(|end| end <= location.offset && end <= file_len),
            "{entry:?} reaches past the directory at {}",
            location.offset
        );
    }
    let cap = [0, 1, 1000, 64 * 1024, 1 << 20][((knobs >> 8) % 5) as usize];
    let piece = [1, 3, 512, 70_000][((knobs >> 16) % 4) as usize];
    let stop_after = [None, Some(1), Some(100_000)][((knobs >> 24) % 3) as usize];
    for entry in entries.iter().take(MAX_MEMBERS) {
        let data = zipfile::member_data(whole, entry);
        let by_range = ranged_member(whole, entry, location.offset);
        match (&data, &by_range) {
            (Ok(data), Ok(by_range)) => assert_eq!(data, by_range),
            // A local header longer than the directory allows (a longer name or extra field)
            // pushes the data into the directory: a range read refuses it, the whole-file
            // `member_data` cannot tell, not knowing where the directory starts.
            (Ok(data), Err(_)) if data_end(whole, data) > location.offset => {}
            (Ok(_), Err(error)) => panic!("{entry:?} read whole but not by range: {error}"),
            _ => {}
        }
        let Ok(data) = data else { continue };
        assert_eq!(data.len() as u64, entry.compressed_size);
        let once = inflate_whole(entry, data, cap, None);
        let pieces = inflate_pieces(entry, data, cap, piece);
        // Success and its output do not depend on how the data was cut up; errors may strike
        // at different points, so only their presence is compared.
        assert_eq!(
            once.result.is_ok(),
            pieces.result.is_ok(),
            "{once:?} vs {pieces:?}"
        );
        if once.result.is_ok() {
            assert_eq!(once, pieces);
        }
        if stop_after.is_some() {
            inflate_whole(entry, data, cap, stop_after);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared objects and wheels

/// Feed `bytes` to a scanner in pieces cut by `sizes` (cycled); stop once conclusive when
/// `early` is set.
fn scan_in_pieces(bytes: &[u8], sizes: &[usize], early: bool) -> SharedObjectScan {
    let mut scanner = SignatureScanner::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().expect("sizes")).clamp(1, rest.len());
        let (chunk, after) = rest.split_at(size);
        scanner.feed(chunk);
        rest = after;
        if early && scanner.is_conclusive() {
            break;
        }
    }
    scanner.finish()
}

/// The scan of a shared object does not depend on how its bytes are cut into chunks, and
/// stopping at the first conclusive chunk gives the verdict the whole file gives.
pub fn check_shared_object(bytes: &[u8]) {
    let knobs = knobs(bytes);
    let whole = wheel::scan_bytes(bytes);
    let positions: Vec<usize> = whole
        .strings
        .iter()
        .map(|string| {
            wheel::MARKER_LABELS
                .iter()
                .position(|label| label == string)
                .unwrap_or_else(|| panic!("unknown marker {string:?}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{whole:?}"
    );
    let has = |label: &str| whole.strings.iter().any(|string| string == label);
    let numpy1_import = has("numpy.core._multiarray_umath")
        || has("numpy.core.multiarray failed to import")
        || has("module compiled against ABI version")
        || has("module compiled against API version");
    // Only NumPy 2's import strings show a 2.x build; a bare `numpy._core` never does.
    assert_eq!(
        matches!(whole.build, SharedObjectBuild::NumPy2 { .. }),
        has("numpy._core._multiarray_umath")
            || (has("numpy._core.multiarray failed to import") && !numpy1_import),
        "{whole:?}"
    );
    assert_eq!(
        whole.build == SharedObjectBuild::NumPy1,
        numpy1_import && !has("numpy._core._multiarray_umath"),
        "{whole:?}"
    );

    let sizes: Vec<usize> = (0..8)
        .map(|shift| 1 + ((knobs >> (shift * 8)) & 0xff) as usize)
        .collect();
    let mut chunkings = vec![sizes, vec![4096], vec![7, 1, 64]];
    if bytes.len() <= 4096 {
        chunkings.push(vec![1]);
    }
    for sizes in &chunkings {
        assert_eq!(
            scan_in_pieces(bytes, sizes, false),
            whole,
            "chunked by {sizes:?}"
        );
        let early = scan_in_pieces(bytes, sizes, true);
        assert_eq!(
            early.build, whole.build,
            "stopped early, chunked by {sizes:?}"
        );
    }
}

/// Read `whole` as a wheel the way the audit does: its shared objects smallest first, each
/// streamed through the scanner until a 1.x-built one is found, and its METADATA.
pub fn check_wheel(whole: &[u8]) {
    let Ok(entries) = zipfile::list_entries(whole, MAX_ENTRIES) else {
        return;
    };
    let shared: Vec<(String, u64)> = entries
        .iter()
        .filter(|entry| wheel::is_shared_object(&entry.name))
        .map(|entry| (entry.name.clone(), entry.compressed_size))
        .collect();
    let order = wheel::scan_order(&shared);
    assert_eq!(order.len(), shared.len());
    assert!(order.windows(2).all(|pair| pair[0].1 <= pair[1].1));
    let mut scans = Vec::new();
    for (name, _) in order.iter().take(MAX_MEMBERS) {
        let entry = entries
            .iter()
            .find(|entry| &entry.name == name)
            .expect("listed");
        let _ = np2audit::inspect::shared_object_kind(name);
        let Ok(data) = zipfile::member_data(whole, entry) else {
            continue;
        };
        let mut scanner = SignatureScanner::new();
        let result = zipfile::inflate_member(entry, data, 1 << 22, |chunk| {
            scanner.feed(chunk);
            if scanner.is_conclusive() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if result.is_err() {
            continue;
        }
        let scan = scanner.finish();
        // Only a 1.x-built object ends a wheel's scan.
        let decides = scan.build == SharedObjectBuild::NumPy1;
        scans.push((name.clone(), scan));
        if decides {
            break;
        }
    }
    match wheel::combine(&scans, shared.len()) {
        WheelBuild::PurePython => assert!(shared.is_empty() && scans.is_empty()),
        WheelBuild::NoNumpy { shared_objects } => assert!(shared_objects >= scans.len()),
        WheelBuild::NumPy2 { member, .. }
        | WheelBuild::NumPy1 { member, .. }
        | WheelBuild::RuntimeLookup { member, .. }
        | WheelBuild::LegacyLookup { member, .. }
        | WheelBuild::Weak { member, .. } => {
            assert!(scans.iter().any(|(name, _)| *name == member));
        }
    }
    if let Some(entry) = entries
        .iter()
        .find(|entry| entry.name.ends_with(".dist-info/METADATA"))
        && let Ok(data) = zipfile::member_data(whole, entry)
    {
        let mut text = Vec::new();
        let read = zipfile::inflate_member(entry, data, 1 << 20, |chunk| {
            text.extend_from_slice(chunk);
            ControlFlow::Continue(())
        });
        if read.is_ok() {
            check_metadata(&String::from_utf8_lossy(&text));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metadata, Simple API pages, file names

/// Header values come out trimmed and on one line; every numpy requirement lands in exactly
/// one of applicable, inactive or unparsable, and only applicable ones can exclude the target.
pub fn check_metadata(text: &str) {
    use np2audit::environment::TargetEnvironment;
    use np2audit::inspect::metadata::{check_declared, parse_core_metadata};

    let metadata = parse_core_metadata(text);
    for value in metadata
        .name
        .iter()
        .chain(&metadata.version)
        .chain(&metadata.requires_python)
        .chain(&metadata.requires_dist)
    {
        assert_eq!(value, value.trim(), "untrimmed value");
        assert!(!value.contains('\n'), "value spans lines: {value:?}");
    }
    let environment = TargetEnvironment::new(
        "3.12".parse().expect("python"),
        "linux".parse().expect("platform"),
    );
    let extras: Vec<pep508_rs::ExtraName> = ["test", "all"]
        .iter()
        .map(|extra| extra.parse().expect("extra"))
        .collect();
    let target: pep440_rs::Version = "2.2.6".parse().expect("version");
    let declared = check_declared(
        &metadata.requires_dist,
        environment.markers(),
        &extras,
        &target,
    );
    for line in &declared.excluding {
        assert!(
            declared.applicable.contains(line),
            "{line:?} excludes but does not apply"
        );
    }
    let classified =
        declared.applicable.len() + declared.inactive.len() + declared.unparsable.len();
    assert!(classified <= metadata.requires_dist.len());
}

fn check_project_files(files: &[np2audit::index::simple::ProjectFile]) {
    for file in files {
        let url = url::Url::parse(&file.url).unwrap_or_else(|error| {
            panic!("{:?} is no absolute URL: {error}", file.url);
        });
        assert!(
            url.fragment().is_none(),
            "{:?} keeps its fragment",
            file.url
        );
        if let Some(sha256) = &file.sha256 {
            assert_eq!(sha256, &sha256.to_ascii_lowercase());
        }
    }
}

const PAGE_URL: &str = "https://index.example/simple/some-project/";

/// A PEP 691 page parses to absolute URLs without fragments, or to an error.
pub fn check_simple_json(body: &[u8]) {
    use np2audit::index::simple::{JSON_CONTENT_TYPE, parse_project_page};
    let page_url = url::Url::parse(PAGE_URL).expect("page URL");
    if let Ok(files) = parse_project_page(body, JSON_CONTENT_TYPE, &page_url) {
        check_project_files(&files);
    }
}

/// A PEP 503 page parses to absolute URLs without fragments, or to an error.
pub fn check_simple_html(body: &[u8]) {
    use np2audit::index::simple::parse_project_page;
    let page_url = url::Url::parse(PAGE_URL).expect("page URL");
    for content_type in ["text/html", "application/vnd.pypi.simple.v1+html", ""] {
        if let Ok(files) = parse_project_page(body, content_type, &page_url) {
            check_project_files(&files);
        }
    }
}

/// File names: the version a name gives keys equal to itself, and the key is stable.
pub fn check_filename(text: &str) {
    use np2audit::index::filename::{file_version, release_key};
    let (filename, name) = text.split_once('\n').unwrap_or((text, "pkg"));
    if let Some(version) = file_version(filename, name) {
        let key = release_key(&version);
        let reparsed: pep440_rs::Version = key.parse().unwrap_or_else(|error| {
            panic!("release key {key:?} of {version} does not parse: {error}")
        });
        assert_eq!(reparsed, version, "release key {key:?} changes {version}");
        assert_eq!(
            release_key(&reparsed),
            key,
            "release key of {version} is not stable"
        );
    }
    let _ = np2audit::inspect::wheel_has_python_abi(filename);
    let _ = np2audit::inspect::shared_object_kind(filename);
    let _ = wheel::is_shared_object(filename);
}
