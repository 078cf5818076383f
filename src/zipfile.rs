//! Zip layout: find the central directory in a wheel's tail and read single members, so wheels can be judged from a few HTTP range reads.
//!
//! Everything here works on byte slices the caller fetched; nothing does IO. A range-read session
//! goes: fetch the last [`TAIL_PROBE`] bytes, [`locate_central_directory`] (fetch more on
//! [`ZipError::NeedMoreTail`]), take the directory from the tail ([`central_directory_in_tail`]) or
//! fetch it, [`parse_central_directory_at`], then per member fetch [`member_fetch_range`], cut out
//! its data with [`member_data_from_header`] and decompress it with [`inflate_member`] — or, for
//! members too large to hold, fetch the data in pieces and push each through a
//! [`MemberInflater`], which stops as soon as its sink has seen enough.
//!
//! All input is treated as hostile: lengths and offsets come from the archive, so every sum is
//! checked and every slice is bounds-checked.

use std::ops::{ControlFlow, Range};

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// How many bytes from the end of the file to fetch first: enough for EOCD + max comment + zip64
/// locator/record (e.g. 65_557 + 76), but callers may fetch less and retry.
pub const TAIL_PROBE: u64 = 65_536 + 22 + 20 + 56;

/// Room left for a local header's extra field when a member is fetched before its local header
/// has been read (the extra field's length is only known from the local header itself). Real
/// writers put a few dozen bytes there; if a member needs more, [`member_data_from_header`] says so.
pub const LOCAL_EXTRA_ALLOWANCE: u64 = 1024;

/// Size of the chunks a [`MemberInflater`] hands to its sink.
const OUTPUT_CHUNK: usize = 64 * 1024;

/// How far decompressed output may run past the directory's declared size before it counts as a
/// lie. A correct archive never needs any; the allowance only avoids failing on sloppy writers,
/// whose data the CRC check still vets.
const DECLARED_SIZE_SLACK: u64 = 1024;

/// Past this much output, a member that has inflated more than [`BOMB_RATIO`] times its
/// compressed input so far is taken for a decompression bomb, whatever size it declares.
/// Shared objects compress a few times over, never hundreds; deflate's own ceiling is about
/// 1032:1. Without this, a bomb that declares gigabytes honestly runs to the caller's output
/// limit, which is set for the largest real libraries and takes minutes to reach.
const BOMB_FLOOR: u64 = 32 * 1024 * 1024;
const BOMB_RATIO: u64 = 200;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
/// The end-of-central-directory record plus the longest comment it can carry.
const MAX_EOCD_REACH: usize = EOCD_LEN + u16::MAX as usize;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const DIRECTORY_RECORD_SIG: u32 = 0x0201_4b50;
const DIRECTORY_RECORD_LEN: usize = 46;
const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
const LOCAL_HEADER_LEN: usize = 30;
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// General-purpose flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;

const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip file: no end-of-central-directory record")]
    NoEndOfCentralDirectory,
    /// The tail handed in is too short; fetch the last `from_end` bytes and try again.
    #[error("reading the zip directory needs the last {from_end} bytes of the file")]
    NeedMoreTail { from_end: u64 },
    #[error("truncated {what}: needs {needed} bytes, got {available}")]
    Truncated {
        what: &'static str,
        needed: u64,
        available: u64,
    },
    #[error("corrupt zip: {0}")]
    Corrupt(String),
    #[error("unsupported zip compression method {0} (only stored and deflate are read)")]
    UnsupportedCompression(u16),
    #[error("zip member {name:?} decompresses past its {limit}-byte limit")]
    TooLarge { name: String, limit: u64 },
    #[error(
        "zip member {name:?} inflated {written} bytes from {compressed}: more than {BOMB_RATIO} times over, a decompression bomb"
    )]
    Bomb {
        name: String,
        written: u64,
        compressed: u64,
    },
    #[error("zip has more than {max} entries")]
    TooManyEntries { max: usize },
}

/// Where the central directory lives, read from the end-of-central-directory record(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CentralDirectoryLocation {
    pub offset: u64,
    pub size: u64,
    pub entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub compression: u16,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_header_offset: u64,
    pub crc32: u32,
}

/// A fixed-size record whose length was checked once, so reading its fields cannot fail
/// (field offsets are constants of the zip format, never input).
struct Record<'a, const N: usize>(&'a [u8; N]);

impl<'a, const N: usize> Record<'a, N> {
    fn at(bytes: &'a [u8], pos: usize) -> Option<Self> {
        let end = pos.checked_add(N)?;
        bytes.get(pos..end)?.try_into().ok().map(Record)
    }

    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.array(at))
    }

    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.array(at))
    }

    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.array(at))
    }

    fn array<const M: usize>(&self, at: usize) -> [u8; M] {
        let mut out = [0; M];
        out.copy_from_slice(&self.0[at..at + M]);
        out
    }
}

fn corrupt(message: impl Into<String>) -> ZipError {
    ZipError::Corrupt(message.into())
}

fn to_usize(value: u64, what: &str) -> Result<usize, ZipError> {
    usize::try_from(value).map_err(|_| corrupt(format!("{what} {value} does not fit in memory")))
}

fn len_u64(bytes: &[u8]) -> u64 {
    // usize is at most 64 bits on every supported target.
    bytes.len() as u64
}

/// `tail` is the last `tail.len()` bytes of a file whose total length is `file_len`. Finds the
/// EOCD (scanning backwards for the signature 0x06054b50, validating that comment length reaches
/// the end), handles ZIP64 (locator 0x07064b50 -> zip64 EOCD record 0x06064b50, which must also
/// be inside `tail`; if the zip64 record lies before the tail, returns
/// [`ZipError::NeedMoreTail`] telling the caller how many bytes from the end it needs; the same
/// when the EOCD itself may lie before the tail). Validates that the directory ends before the
/// end records (so `offset + size <= file_len`).
pub fn locate_central_directory(
    tail: &[u8],
    file_len: u64,
) -> Result<CentralDirectoryLocation, ZipError> {
    let tail_start = file_len.checked_sub(len_u64(tail)).ok_or_else(|| {
        corrupt(format!(
            "a {}-byte tail cannot end a {file_len}-byte file",
            tail.len()
        ))
    })?;
    let Some((eocd_pos, eocd)) = find_eocd(tail, tail_start) else {
        // Unless the tail already covers every place the record could start, it may just lie
        // further back.
        let reach = file_len.min(MAX_EOCD_REACH as u64);
        return Err(if len_u64(tail) < reach {
            ZipError::NeedMoreTail {
                from_end: file_len.min(TAIL_PROBE),
            }
        } else {
            ZipError::NoEndOfCentralDirectory
        });
    };
    let eocd_abs = tail_start + eocd_pos as u64;

    // Saturated fields mean "see the zip64 record", which then becomes mandatory.
    let needs_zip64 = eocd.u16(4) == u16::MAX
        || eocd.u16(6) == u16::MAX
        || eocd.u16(8) == u16::MAX
        || eocd.u16(10) == u16::MAX
        || eocd.u32(12) == u32::MAX
        || eocd.u32(16) == u32::MAX;

    let (location, end_records_start) =
        match read_zip64_end(tail, tail_start, eocd_pos, file_len, needs_zip64)? {
            Some(found) => found,
            None => {
                if eocd.u16(4) != 0 || eocd.u16(6) != 0 {
                    return Err(corrupt("split (multi-disk) archives are not supported"));
                }
                let location = CentralDirectoryLocation {
                    offset: eocd.u32(16).into(),
                    size: eocd.u32(12).into(),
                    entries: eocd.u16(10).into(),
                };
                (location, eocd_abs)
            }
        };

    let fits = location
        .offset
        .checked_add(location.size)
        .is_some_and(|end| end <= end_records_start);
    if !fits {
        return Err(corrupt(format!(
            "central directory (offset {}, {} bytes) runs past the end records at {end_records_start}",
            location.offset, location.size
        )));
    }
    // Every entry takes at least one fixed-size record: a larger count is a lie, and callers
    // may size allocations by it.
    let room = location.size / DIRECTORY_RECORD_LEN as u64;
    if location.entries > room {
        return Err(corrupt(format!(
            "end record claims {} entries but the {}-byte directory holds at most {room}",
            location.entries, location.size
        )));
    }
    Ok(location)
}

/// The last EOCD signature whose comment length reaches exactly to the end of `tail`; failing
/// that, the last one followed by a few stray bytes whose central directory ends right where
/// it starts. Real wheels carry such bytes (osqp 1.0.0's cp311 manylinux wheel ends with two
/// after its end record); Python's `zipfile`, and so pip, read them.
fn find_eocd(tail: &[u8], tail_start: u64) -> Option<(usize, Record<'_, EOCD_LEN>)> {
    let window_start = tail.len().saturating_sub(MAX_EOCD_REACH);
    let window = tail.get(window_start..)?;
    const SIGNATURE: [u8; 4] = EOCD_SIG.to_le_bytes();
    let candidates = || {
        memchr::memmem::rfind_iter(window, &SIGNATURE)
            .map(move |pos| window_start + pos)
            .filter_map(|pos| Some((pos, Record::<EOCD_LEN>::at(tail, pos)?)))
    };
    candidates()
        .find(|(pos, eocd)| pos + EOCD_LEN + usize::from(eocd.u16(20)) == tail.len())
        .or_else(|| {
            candidates().find(|(pos, eocd)| {
                let end = pos + EOCD_LEN + usize::from(eocd.u16(20));
                let directory_end = u64::from(eocd.u32(16)) + u64::from(eocd.u32(12));
                end <= tail.len()
                    && tail.len() - end <= MAX_TRAILING_BYTES
                    && directory_end == tail_start + *pos as u64
            })
        })
}

/// Stray bytes after the end record (and its comment) that are tolerated.
const MAX_TRAILING_BYTES: usize = 1024;

/// The zip64 end record, if the archive has one: what it says and where it starts.
///
/// When `required` is false the 32-bit EOCD already holds usable values, so a locator-like byte
/// pattern that leads nowhere (it can occur by chance at the end of the last directory record)
/// is ignored rather than fatal, and a record outside the tail is not worth another fetch.
fn read_zip64_end(
    tail: &[u8],
    tail_start: u64,
    eocd_pos: usize,
    file_len: u64,
    required: bool,
) -> Result<Option<(CentralDirectoryLocation, u64)>, ZipError> {
    let invalid = |message: String| {
        if required {
            Err(ZipError::Corrupt(message))
        } else {
            Ok(None)
        }
    };
    let eocd_abs = tail_start + eocd_pos as u64;
    let Some(locator) = eocd_pos
        .checked_sub(ZIP64_LOCATOR_LEN)
        .and_then(|pos| Record::<ZIP64_LOCATOR_LEN>::at(tail, pos))
    else {
        if required && tail_start > 0 {
            // The locator sits just before the EOCD, outside the tail; ask for the zip64 record
            // too, which usually sits right before the locator.
            let from_end = (file_len - eocd_abs) + (ZIP64_LOCATOR_LEN + ZIP64_EOCD_LEN) as u64;
            return Err(ZipError::NeedMoreTail {
                from_end: from_end.min(file_len),
            });
        }
        return invalid("end record needs zip64 values but there is no zip64 locator".into());
    };
    if locator.u32(0) != ZIP64_LOCATOR_SIG {
        return invalid("end record needs zip64 values but there is no zip64 locator".into());
    }
    if locator.u32(4) != 0 || locator.u32(16) > 1 {
        return invalid("split (multi-disk) archives are not supported".into());
    }
    let locator_abs = eocd_abs - ZIP64_LOCATOR_LEN as u64;
    let record_abs = locator.u64(8);
    if record_abs
        .checked_add(ZIP64_EOCD_LEN as u64)
        .is_none_or(|end| end > locator_abs)
    {
        return invalid(format!(
            "zip64 end record offset {record_abs} overlaps its locator at {locator_abs}"
        ));
    }
    let Some(record_pos) = record_abs.checked_sub(tail_start) else {
        if required {
            return Err(ZipError::NeedMoreTail {
                from_end: file_len - record_abs,
            });
        }
        return Ok(None);
    };
    let Some(record) = usize::try_from(record_pos)
        .ok()
        .and_then(|pos| Record::<ZIP64_EOCD_LEN>::at(tail, pos))
    else {
        return invalid(format!("zip64 end record at {record_abs} is cut short"));
    };
    if record.u32(0) != ZIP64_EOCD_SIG {
        return invalid(format!(
            "no zip64 end record at {record_abs}, where the locator points"
        ));
    }
    if record.u32(16) != 0 || record.u32(20) != 0 {
        return invalid("split (multi-disk) archives are not supported".into());
    }
    let location = CentralDirectoryLocation {
        entries: record.u64(32),
        size: record.u64(40),
        offset: record.u64(48),
    };
    Ok(Some((location, record_abs)))
}

/// The central directory's bytes, if `tail` (the last bytes of a `file_len`-byte file) already
/// holds all of them — for small wheels the first tail fetch is enough.
pub fn central_directory_in_tail<'a>(
    tail: &'a [u8],
    file_len: u64,
    location: &CentralDirectoryLocation,
) -> Option<&'a [u8]> {
    let tail_start = file_len.checked_sub(len_u64(tail))?;
    let start = usize::try_from(location.offset.checked_sub(tail_start)?).ok()?;
    let end = start.checked_add(usize::try_from(location.size).ok()?)?;
    tail.get(start..end)
}

/// Parse the central directory bytes (exactly `location.size` bytes) record by record until they
/// run out. Handles the zip64 extra field (0x0001) for sizes/offset. Rejects more than
/// `max_entries` entries and records that are cut short or lack their signature. Names are UTF-8
/// when valid (or, if flag bit 11 promises UTF-8, decoded lossily), else code page 437.
///
/// The bytes alone do not say where the directory starts, so member offsets are checked by
/// [`parse_central_directory_at`], which also checks the entry count against the end record.
pub fn parse_central_directory(
    bytes: &[u8],
    max_entries: usize,
) -> Result<Vec<ZipEntry>, ZipError> {
    let mut entries = Vec::with_capacity((bytes.len() / DIRECTORY_RECORD_LEN).min(max_entries));
    let mut pos = 0;
    while pos < bytes.len() {
        if entries.len() >= max_entries {
            return Err(ZipError::TooManyEntries { max: max_entries });
        }
        let (entry, next) = parse_directory_record(bytes, pos)?;
        entries.push(entry);
        pos = next;
    }
    Ok(entries)
}

/// [`parse_central_directory`] plus the checks that need the directory's location: the entry
/// count matches the end record, and every member (at least its fixed local header and its
/// compressed data) lies before the directory start. `bytes` may run past `location.size`;
/// the excess is ignored.
pub fn parse_central_directory_at(
    bytes: &[u8],
    location: &CentralDirectoryLocation,
    max_entries: usize,
) -> Result<Vec<ZipEntry>, ZipError> {
    if location.entries > max_entries as u64 {
        return Err(ZipError::TooManyEntries { max: max_entries });
    }
    let size = to_usize(location.size, "central directory size")?;
    let bytes = bytes.get(..size).ok_or(ZipError::Truncated {
        what: "central directory",
        needed: location.size,
        available: len_u64(bytes),
    })?;
    let entries = parse_central_directory(bytes, max_entries)?;
    if entries.len() as u64 != location.entries {
        return Err(corrupt(format!(
            "end record counts {} entries but the central directory holds {}",
            location.entries,
            entries.len()
        )));
    }
    for entry in &entries {
        let member_end = entry
            .local_header_offset
            .checked_add(LOCAL_HEADER_LEN as u64)
            .and_then(|end| end.checked_add(entry.compressed_size));
        if member_end.is_none_or(|end| end > location.offset) {
            return Err(corrupt(format!(
                "member {:?} runs past the central directory start at {}",
                entry.name, location.offset
            )));
        }
    }
    Ok(entries)
}

/// One directory record at `pos`: the entry and where the next record starts.
fn parse_directory_record(bytes: &[u8], pos: usize) -> Result<(ZipEntry, usize), ZipError> {
    let truncated = |needed: usize| ZipError::Truncated {
        what: "central directory record",
        needed: needed as u64,
        available: len_u64(bytes),
    };
    let fixed = Record::<DIRECTORY_RECORD_LEN>::at(bytes, pos)
        .ok_or_else(|| truncated(pos.saturating_add(DIRECTORY_RECORD_LEN)))?;
    if fixed.u32(0) != DIRECTORY_RECORD_SIG {
        return Err(corrupt(format!(
            "no central directory record signature at directory offset {pos}"
        )));
    }
    let flags = fixed.u16(8);
    let name_len = usize::from(fixed.u16(28));
    let extra_len = usize::from(fixed.u16(30));
    let comment_len = usize::from(fixed.u16(32));
    let end = (pos + DIRECTORY_RECORD_LEN)
        .checked_add(name_len + extra_len + comment_len)
        .ok_or_else(|| truncated(usize::MAX))?;
    let variable = bytes
        .get(pos + DIRECTORY_RECORD_LEN..end)
        .ok_or_else(|| truncated(end))?;
    let (name_raw, rest) = variable.split_at(name_len.min(variable.len()));
    let extra = rest.get(..extra_len).unwrap_or_default();
    let name = decode_name(name_raw, flags);

    let mut uncompressed_size = u64::from(fixed.u32(24));
    let mut compressed_size = u64::from(fixed.u32(20));
    let mut local_header_offset = u64::from(fixed.u32(42));
    // The zip64 extra field holds, in this order, only the values whose 32-bit field is saturated.
    let wanted = [
        (
            uncompressed_size == u64::from(u32::MAX),
            &mut uncompressed_size,
        ),
        (compressed_size == u64::from(u32::MAX), &mut compressed_size),
        (
            local_header_offset == u64::from(u32::MAX),
            &mut local_header_offset,
        ),
    ];
    if wanted.iter().any(|(saturated, _)| *saturated) {
        let field = find_extra_field(extra, ZIP64_EXTRA_ID)
            .ok_or_else(|| corrupt(format!("member {name:?} lacks its zip64 extra field")))?;
        let mut values = field
            .chunks_exact(8)
            .filter_map(|chunk| <[u8; 8]>::try_from(chunk).ok())
            .map(u64::from_le_bytes);
        for (saturated, slot) in wanted {
            if saturated {
                *slot = values.next().ok_or_else(|| {
                    corrupt(format!("member {name:?} has a short zip64 extra field"))
                })?;
            }
        }
    }

    let entry = ZipEntry {
        name,
        compression: fixed.u16(10),
        compressed_size,
        uncompressed_size,
        local_header_offset,
        crc32: fixed.u32(16),
    };
    Ok((entry, end))
}

/// The data of the first extra field with `id`; None if absent or the extra area is malformed
/// before reaching it.
fn find_extra_field(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while let Some(header) = Record::<4>::at(extra, 0) {
        let len = usize::from(header.u16(2));
        let data = extra.get(4..4 + len)?;
        if header.u16(0) == id {
            return Some(data);
        }
        extra = extra.get(4 + len..)?;
    }
    None
}

fn decode_name(raw: &[u8], flags: u16) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        // The flag promised UTF-8 and the bytes break it: keep what is readable.
        Err(_) if flags & FLAG_UTF8 != 0 => String::from_utf8_lossy(raw).into_owned(),
        // Without the flag, zip names are code page 437 (as Python's zipfile reads them).
        Err(_) => raw.iter().map(|&byte| cp437_char(byte)).collect(),
    }
}

/// Code page 437 above ASCII, 0x80..=0xFF.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»\
░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀\
αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

fn cp437_char(byte: u8) -> char {
    match byte.checked_sub(0x80) {
        None => char::from(byte),
        Some(high) => CP437_HIGH
            .chars()
            .nth(usize::from(high))
            .unwrap_or(char::REPLACEMENT_CHARACTER),
    }
}

/// Size of the local file header at the start of `header` (30 + name len + extra len), from the
/// first 30 bytes; the member's data starts at local_header_offset + that. Validates the
/// signature 0x04034b50.
pub fn local_header_len(header: &[u8]) -> Result<u64, ZipError> {
    let fixed = Record::<LOCAL_HEADER_LEN>::at(header, 0).ok_or(ZipError::Truncated {
        what: "local file header",
        needed: LOCAL_HEADER_LEN as u64,
        available: len_u64(header),
    })?;
    if fixed.u32(0) != LOCAL_HEADER_SIG {
        return Err(corrupt(
            "no local file header signature where the central directory points",
        ));
    }
    Ok(LOCAL_HEADER_LEN as u64 + u64::from(fixed.u16(26)) + u64::from(fixed.u16(28)))
}

/// The byte range to fetch for `entry` before its local header has been read: the header, its
/// name, up to [`LOCAL_EXTRA_ALLOWANCE`] bytes of extra field and the compressed data — clipped
/// at `directory_offset`, since members precede the central directory.
pub fn member_fetch_range(entry: &ZipEntry, directory_offset: u64) -> Range<u64> {
    let start = entry.local_header_offset;
    let want = (LOCAL_HEADER_LEN as u64)
        .saturating_add(len_u64(entry.name.as_bytes()))
        .saturating_add(LOCAL_EXTRA_ALLOWANCE)
        .saturating_add(entry.compressed_size);
    let end = start.saturating_add(want).min(directory_offset).max(start);
    start..end
}

/// The compressed data of `entry` within `fetched`, bytes that start at its local header. If the
/// fetch was too short, [`ZipError::Truncated`]'s `needed` is the length to fetch from the header.
pub fn member_data_from_header<'a>(
    fetched: &'a [u8],
    entry: &ZipEntry,
) -> Result<&'a [u8], ZipError> {
    let start = local_header_len(fetched)?;
    let end = start
        .checked_add(entry.compressed_size)
        .ok_or_else(|| corrupt(format!("member {:?} has an impossible size", entry.name)))?;
    let truncated = ZipError::Truncated {
        what: "member data",
        needed: end,
        available: len_u64(fetched),
    };
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err(truncated);
    };
    fetched.get(start..end).ok_or(truncated)
}

/// Convenience for the whole-file fallback: given a whole zip in memory, return the slice of
/// compressed data for one entry (list the entries with [`list_entries`]).
pub fn member_data<'a>(whole: &'a [u8], entry: &ZipEntry) -> Result<&'a [u8], ZipError> {
    let from_header = usize::try_from(entry.local_header_offset)
        .ok()
        .and_then(|offset| whole.get(offset..))
        .ok_or(ZipError::Truncated {
            what: "local file header",
            needed: entry
                .local_header_offset
                .saturating_add(LOCAL_HEADER_LEN as u64),
            available: len_u64(whole),
        })?;
    member_data_from_header(from_header, entry)
}

/// The whole-file fallback's directory listing: locate and parse the central directory of a zip
/// held entirely in memory.
pub fn list_entries(whole: &[u8], max_entries: usize) -> Result<Vec<ZipEntry>, ZipError> {
    let file_len = len_u64(whole);
    let location = locate_central_directory(whole, file_len)?;
    // Cannot be missing: the location was checked against the file's length.
    let directory =
        central_directory_in_tail(whole, file_len, &location).ok_or(ZipError::Truncated {
            what: "central directory",
            needed: location.offset.saturating_add(location.size),
            available: file_len,
        })?;
    parse_central_directory_at(directory, &location, max_entries)
}

/// Decompression of one member's compressed bytes held whole in memory (method 0 stored,
/// 8 deflate; others -> UnsupportedCompression), calling `sink` with chunks of decompressed data
/// (at most 64 KiB). `compressed` may run past the member's compressed size; the excess is
/// ignored. Stops with [`ZipError::TooLarge`] if the output exceeds `max_output` bytes
/// (decompression-bomb guard) or exceeds the entry's declared uncompressed_size by more than a
/// little (declared lies). `sink` returns Break to stop early successfully (`Ok(false)`: "stopped
/// early"); `Ok(true)` means the member was fully read and its CRC-32 matched.
///
/// This is a [`MemberInflater`] fed once; callers that fetch the data in pieces use that.
pub fn inflate_member(
    entry: &ZipEntry,
    compressed: &[u8],
    max_output: u64,
    mut sink: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<bool, ZipError> {
    let mut inflater = MemberInflater::new(entry, max_output)?;
    // All of the data is at hand, so a short slice is known to be truncated before any output.
    let input = usize::try_from(entry.compressed_size)
        .ok()
        .and_then(|len| compressed.get(..len))
        .ok_or(ZipError::Truncated {
            what: "member data",
            needed: entry.compressed_size,
            available: len_u64(compressed),
        })?;
    inflater.push(input, &mut sink)?;
    inflater.finish()
}

/// Where a [`MemberInflater`] stands after a [`push`](MemberInflater::push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Not all of the member's data has been seen: push the next compressed bytes.
    NeedMore,
    /// The member was read to its end and its CRC-32 matched. Further input is ignored.
    Finished,
    /// The sink returned Break: reading stopped early, successfully. Further input is ignored.
    StoppedEarly,
}

enum Decoder {
    Stored,
    /// Raw deflate (no zlib header), with the buffer its output goes through.
    Deflated {
        stream: Box<Decompress>,
        buffer: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Done(Progress),
    /// A push failed; the member cannot be read further.
    Failed,
}

/// Streaming decompression of one member whose compressed bytes arrive in pieces (e.g. HTTP
/// range reads): [`push`](Self::push) the pieces in file order until it reports anything but
/// [`Progress::NeedMore`] (or the data runs out), then [`finish`](Self::finish).
///
/// It holds one 64 KiB output buffer and the inflate state, whatever the member's size. Input
/// past the member's compressed size is ignored, so pieces may overshoot its end. The guards of
/// [`inflate_member`] apply as the data streams: output past `max_output`, or past the declared
/// uncompressed size by more than a little (1 KiB), fails with [`ZipError::TooLarge`]
/// before the sink sees those bytes, and a member read to its end must match its CRC-32.
pub struct MemberInflater {
    decoder: Decoder,
    output: Output,
    compressed_size: u64,
    /// Compressed bytes taken in so far.
    consumed: u64,
    expected_crc: u32,
    state: State,
}

impl MemberInflater {
    /// Fails with [`ZipError::UnsupportedCompression`] for methods other than stored and deflate.
    pub fn new(entry: &ZipEntry, max_output: u64) -> Result<MemberInflater, ZipError> {
        let decoder = match entry.compression {
            METHOD_STORED => Decoder::Stored,
            METHOD_DEFLATED => Decoder::Deflated {
                stream: Box::new(Decompress::new(false)),
                buffer: vec![0; OUTPUT_CHUNK],
            },
            other => return Err(ZipError::UnsupportedCompression(other)),
        };
        Ok(MemberInflater {
            decoder,
            output: Output {
                name: entry.name.clone(),
                limit: max_output.min(entry.uncompressed_size.saturating_add(DECLARED_SIZE_SLACK)),
                written: 0,
                crc: Crc::new(),
            },
            compressed_size: entry.compressed_size,
            consumed: 0,
            expected_crc: entry.crc32,
            state: State::Running,
        })
    }

    /// Compressed bytes of the member not taken in yet.
    pub fn compressed_remaining(&self) -> u64 {
        self.compressed_size - self.consumed
    }

    /// Decompressed bytes handed to the sink so far.
    pub fn written(&self) -> u64 {
        self.output.written
    }

    /// Take the next compressed bytes (continuing where the previous push ended) and hand what
    /// they decompress to on to `sink`, in chunks of at most 64 KiB. Once the member is finished
    /// or stopped, further pushes read nothing and report the same again.
    pub fn push(
        &mut self,
        compressed_chunk: &[u8],
        sink: &mut impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<Progress, ZipError> {
        match self.state {
            State::Running => {}
            State::Done(progress) => return Ok(progress),
            State::Failed => {
                return Err(corrupt(format!(
                    "member {:?} is read on after an error",
                    self.output.name
                )));
            }
        }
        let take = usize::try_from(self.compressed_remaining())
            .map_or(compressed_chunk.len(), |remaining| {
                remaining.min(compressed_chunk.len())
            });
        let input = &compressed_chunk[..take];
        let result = match &mut self.decoder {
            Decoder::Stored => {
                self.output
                    .stored(input, &mut self.consumed, self.compressed_size, sink)
            }
            Decoder::Deflated { stream, buffer } => self.output.inflate(
                stream,
                buffer,
                input,
                &mut self.consumed,
                self.compressed_size,
                sink,
            ),
        };
        let result = match result {
            Ok(Progress::Finished) if self.output.crc.sum() != self.expected_crc => Err(corrupt(
                format!("member {:?} fails its CRC-32 check", self.output.name),
            )),
            other => other,
        };
        self.state = match result {
            Ok(Progress::NeedMore) => State::Running,
            Ok(progress) => State::Done(progress),
            Err(_) => State::Failed,
        };
        result
    }

    /// The outcome once no more input will come: `Ok(true)` if the member was read to its end
    /// (CRC-32 checked), `Ok(false)` if the sink stopped it early; an error if the data pushed
    /// ended before the member did.
    pub fn finish(mut self) -> Result<bool, ZipError> {
        // A member without compressed data is whole before any push: when none came, read the
        // empty data here, so it is judged (CRC-32 included) as if it had been pushed.
        if self.state == State::Running && self.compressed_size == 0 {
            self.push(&[], &mut |_| ControlFlow::Continue(()))?;
        }
        match self.state {
            State::Done(Progress::Finished) => Ok(true),
            State::Done(Progress::StoppedEarly) => Ok(false),
            State::Failed => Err(corrupt(format!(
                "member {:?} could not be read",
                self.output.name
            ))),
            State::Running | State::Done(Progress::NeedMore) => {
                Err(if self.consumed < self.compressed_size {
                    ZipError::Truncated {
                        what: "member data",
                        needed: self.compressed_size,
                        available: self.consumed,
                    }
                } else {
                    self.output.ends_early()
                })
            }
        }
    }
}

/// The receiving end of a [`MemberInflater`]: enforces the size limit and keeps the CRC.
struct Output {
    name: String,
    limit: u64,
    written: u64,
    crc: Crc,
}

impl Output {
    /// Hands one chunk on; `Ok(false)` once the sink wants no more. `compressed` is how much
    /// input produced the output so far.
    fn emit(
        &mut self,
        chunk: &[u8],
        compressed: u64,
        sink: &mut impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, ZipError> {
        self.written = self.written.saturating_add(len_u64(chunk));
        if self.written > self.limit {
            return Err(self.too_large());
        }
        if self.written > BOMB_FLOOR && self.written / BOMB_RATIO > compressed {
            return Err(ZipError::Bomb {
                name: self.name.clone(),
                written: self.written,
                compressed,
            });
        }
        self.crc.update(chunk);
        Ok(sink(chunk).is_continue())
    }

    fn too_large(&self) -> ZipError {
        ZipError::TooLarge {
            name: self.name.clone(),
            limit: self.limit,
        }
    }

    fn ends_early(&self) -> ZipError {
        corrupt(format!(
            "member {:?}: deflate data ends before its final block",
            self.name
        ))
    }

    fn stored(
        &mut self,
        input: &[u8],
        consumed: &mut u64,
        compressed_size: u64,
        sink: &mut impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<Progress, ZipError> {
        // Stored output is the input: a member larger than the limit fails before any output.
        if compressed_size > self.limit {
            return Err(self.too_large());
        }
        for chunk in input.chunks(OUTPUT_CHUNK) {
            *consumed += len_u64(chunk);
            if !self.emit(chunk, *consumed, sink)? {
                return Ok(Progress::StoppedEarly);
            }
        }
        Ok(if *consumed == compressed_size {
            Progress::Finished
        } else {
            Progress::NeedMore
        })
    }

    fn inflate(
        &mut self,
        stream: &mut Decompress,
        buffer: &mut [u8],
        mut input: &[u8],
        consumed: &mut u64,
        compressed_size: u64,
        sink: &mut impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<Progress, ZipError> {
        // Some writers store an empty member as deflate with no data at all.
        if compressed_size == 0 {
            return Ok(Progress::Finished);
        }
        loop {
            let (in_before, out_before) = (stream.total_in(), stream.total_out());
            let status = stream
                .decompress(input, buffer, FlushDecompress::None)
                .map_err(|err| {
                    corrupt(format!("member {:?}: bad deflate data: {err}", self.name))
                })?;
            let used = usize::try_from(stream.total_in() - in_before)
                .unwrap_or(usize::MAX)
                .min(input.len());
            input = &input[used..];
            *consumed += used as u64;
            let produced = usize::try_from(stream.total_out() - out_before)
                .unwrap_or(usize::MAX)
                .min(buffer.len());
            if produced > 0 && !self.emit(&buffer[..produced], *consumed, sink)? {
                return Ok(Progress::StoppedEarly);
            }
            if status == Status::StreamEnd {
                return Ok(Progress::Finished);
            }
            if produced == 0 && used == 0 {
                // The output buffer had room, so only a lack of input can stall a sound stream.
                if !input.is_empty() {
                    return Err(corrupt(format!(
                        "member {:?}: deflate data makes no progress",
                        self.name
                    )));
                }
                if *consumed == compressed_size {
                    return Err(self.ends_early());
                }
                return Ok(Progress::NeedMore);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;

    struct Member<'a> {
        name: &'a str,
        data: &'a [u8],
        method: CompressionMethod,
    }

    fn stored<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
        Member {
            name,
            data,
            method: CompressionMethod::Stored,
        }
    }

    fn deflated<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
        Member {
            name,
            data,
            method: CompressionMethod::Deflated,
        }
    }

    fn build_zip(members: &[Member<'_>], comment: &str, zip64: bool) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer.set_comment(comment);
        if zip64 {
            // The writer only emits zip64 end records for huge archives or a zip64 comment.
            writer.set_zip64_comment(Some(""));
        }
        for member in members {
            let options = SimpleFileOptions::default()
                .compression_method(member.method)
                .large_file(zip64);
            writer.start_file(member.name, options).unwrap();
            writer.write_all(member.data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn tail(bytes: &[u8], len: u64) -> &[u8] {
        &bytes[bytes.len() - len as usize..]
    }

    fn collect(entry: &ZipEntry, data: &[u8]) -> Result<Vec<u8>, ZipError> {
        let mut out = Vec::new();
        inflate_member(entry, data, 1 << 30, |chunk| {
            out.extend_from_slice(chunk);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Text that compresses well but not trivially, large enough for several output chunks.
    fn sample_text() -> Vec<u8> {
        (0..20_000)
            .flat_map(|i| format!("line {i} of numpy.core._multiarray_umath\n").into_bytes())
            .collect()
    }

    fn locate_whole(bytes: &[u8]) -> Result<CentralDirectoryLocation, ZipError> {
        let probe = TAIL_PROBE.min(bytes.len() as u64);
        locate_central_directory(tail(bytes, probe), bytes.len() as u64)
    }

    /// Position of the (last) 32-bit end record.
    fn eocd_pos(bytes: &[u8]) -> usize {
        find_eocd(bytes, 0).unwrap().0
    }

    /// osqp 1.0.0's cp311 manylinux wheel ends with two bytes after its end record; pip
    /// reads it, and so must we. Stray bytes whose directory does not end where the record
    /// starts are still no zip.
    #[test]
    fn a_few_stray_bytes_after_the_end_record_are_read_past() {
        let text = sample_text();
        let members = [deflated("pkg/_ext.cpython-311-x86_64-linux-gnu.so", &text)];
        let mut zip = build_zip(&members, "", false);
        zip.extend_from_slice(&[0, 0]);
        let entries = list_entries(&zip, 100).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            collect(&entries[0], member_data(&zip, &entries[0]).unwrap()).unwrap(),
            sample_text()
        );

        // A forged end record in the stray bytes, pointing at a directory that is not there.
        let mut forged = build_zip(&members, "", false);
        let real_end = forged.len();
        let mut fake = forged[real_end - EOCD_LEN..].to_vec();
        fake[16..20].copy_from_slice(&7u32.to_le_bytes());
        forged.extend_from_slice(&fake);
        forged.extend_from_slice(&[1, 2, 3]);
        let location = locate_central_directory(&forged, forged.len() as u64).unwrap();
        assert_eq!(
            location.entries, 1,
            "the real end record is found, not the forged one"
        );

        // Too much after the record is not a zip.
        let mut padded = build_zip(&members, "", false);
        padded.extend(std::iter::repeat_n(0u8, MAX_TRAILING_BYTES + 1));
        assert!(list_entries(&padded, 100).is_err());
    }

    #[test]
    fn range_read_round_trip_with_stored_and_deflated_members_and_a_comment() {
        let text = sample_text();
        let members = [
            stored("pkg/__init__.py", b"print('hi')\n"),
            deflated("pkg/_ext.cpython-311-x86_64-linux-gnu.so", &text),
            deflated("pkg-1.0.dist-info/METADATA", b"Name: pkg\nVersion: 1.0\n"),
        ];
        let zip = build_zip(&members, "a wheel comment", false);
        let file_len = zip.len() as u64;

        let tail_bytes = tail(&zip, TAIL_PROBE.min(file_len));
        let location = locate_central_directory(tail_bytes, file_len).unwrap();
        assert_eq!(location.entries, 3);
        let directory = central_directory_in_tail(tail_bytes, file_len, &location).unwrap();
        let entries = parse_central_directory_at(directory, &location, 100).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, members.each_ref().map(|m| m.name));
        assert_eq!(entries[0].compression, 0);
        assert_eq!(entries[1].compression, 8);
        assert!(entries[1].compressed_size < text.len() as u64);

        for (entry, member) in entries.iter().zip(&members) {
            assert_eq!(entry.uncompressed_size, member.data.len() as u64);
            // What a range-reading caller does: one fetch from the local header on.
            let range = member_fetch_range(entry, location.offset);
            let fetched = &zip[range.start as usize..range.end as usize];
            let header_len = local_header_len(fetched).unwrap();
            assert_eq!(header_len, 30 + entry.name.len() as u64);
            let data = member_data_from_header(fetched, entry).unwrap();
            assert_eq!(data, member_data(&zip, entry).unwrap());
            assert_eq!(collect(entry, data).unwrap(), member.data);
        }
        assert_eq!(list_entries(&zip, 100).unwrap(), entries);
    }

    #[test]
    fn output_comes_in_bounded_chunks() {
        let text = sample_text();
        let zip = build_zip(&[deflated("big", &text)], "", false);
        let entries = list_entries(&zip, 10).unwrap();
        let data = member_data(&zip, &entries[0]).unwrap();
        let mut sizes = Vec::new();
        let finished = inflate_member(&entries[0], data, u64::MAX, |chunk| {
            sizes.push(chunk.len());
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(finished);
        assert!(sizes.len() > 1);
        assert!(sizes.iter().all(|&size| size > 0 && size <= OUTPUT_CHUNK));
        assert_eq!(sizes.iter().sum::<usize>(), text.len());
    }

    #[test]
    fn zip64_archive_is_read_through_its_zip64_records() {
        let text = sample_text();
        let members = [stored("a.txt", b"alpha"), deflated("b.so", &text)];
        let plain = build_zip(&members, "c", false);
        let zip64 = build_zip(&members, "c", true);
        let location = locate_whole(&zip64).unwrap();
        let entries = list_entries(&zip64, 10).unwrap();
        assert_eq!(entries.len(), 2);
        for (entry, member) in entries.iter().zip(&members) {
            let data = member_data(&zip64, entry).unwrap();
            assert_eq!(collect(entry, data).unwrap(), member.data);
        }

        // Saturate the 32-bit end record: only the zip64 record can now give the answer.
        let mut saturated = zip64.clone();
        let pos = eocd_pos(&saturated);
        saturated[pos + 8..pos + 12].fill(0xFF);
        saturated[pos + 12..pos + 20].fill(0xFF);
        assert_eq!(locate_whole(&saturated).unwrap(), location);
        // ...so without the zip64 records it is corrupt.
        let mut no_locator = saturated.clone();
        no_locator[pos - 20] ^= 0xFF;
        assert!(matches!(
            locate_whole(&no_locator),
            Err(ZipError::Corrupt(_))
        ));

        // A tail holding the end record but not the locator asks for both zip64 records.
        let file_len = saturated.len() as u64;
        let eocd_from_end = file_len - pos as u64;
        match locate_central_directory(tail(&saturated, eocd_from_end), file_len) {
            Err(ZipError::NeedMoreTail { from_end }) => assert_eq!(from_end, eocd_from_end + 76),
            other => panic!("expected NeedMoreTail, got {other:?}"),
        }
        // A tail holding the locator but not the record asks for exactly up to the record
        // (56 bytes: the zip64 comment is empty).
        let record_from_end = eocd_from_end + 20 + 56;
        match locate_central_directory(tail(&saturated, eocd_from_end + 20), file_len) {
            Err(ZipError::NeedMoreTail { from_end }) => assert_eq!(from_end, record_from_end),
            other => panic!("expected NeedMoreTail, got {other:?}"),
        }
        assert_eq!(
            locate_central_directory(tail(&saturated, record_from_end), file_len).unwrap(),
            location
        );

        // The same members without zip64 records: same count, smaller directory (no zip64 extras).
        let plain_location = locate_whole(&plain).unwrap();
        assert_eq!(plain_location.entries, location.entries);
        assert!(plain_location.size < location.size);
    }

    /// A central directory record built by hand, for fields the zip writer never produces.
    fn directory_record(
        name: &[u8],
        flags: u16,
        sizes_and_offset: [u32; 3],
        extra: &[u8],
    ) -> Vec<u8> {
        let [compressed, uncompressed, offset] = sizes_and_offset;
        let mut record = Vec::new();
        record.extend_from_slice(&DIRECTORY_RECORD_SIG.to_le_bytes());
        record.extend_from_slice(&[20, 0, 20, 0]); // versions
        record.extend_from_slice(&flags.to_le_bytes());
        record.extend_from_slice(&8u16.to_le_bytes()); // deflate
        record.extend_from_slice(&[0; 4]); // time, date
        record.extend_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
        record.extend_from_slice(&compressed.to_le_bytes());
        record.extend_from_slice(&uncompressed.to_le_bytes());
        record.extend_from_slice(&(name.len() as u16).to_le_bytes());
        record.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        record.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        record.extend_from_slice(&[0; 4]); // external attributes
        record.extend_from_slice(&offset.to_le_bytes());
        record.extend_from_slice(name);
        record.extend_from_slice(extra);
        record
    }

    fn zip64_extra(values: &[u64]) -> Vec<u8> {
        let mut extra = vec![0x0A, 0x00, 0x04, 0x00, 1, 2, 3, 4]; // an unrelated field first
        extra.extend_from_slice(&ZIP64_EXTRA_ID.to_le_bytes());
        extra.extend_from_slice(&((values.len() * 8) as u16).to_le_bytes());
        for value in values {
            extra.extend_from_slice(&value.to_le_bytes());
        }
        extra
    }

    #[test]
    fn zip64_extra_field_supplies_saturated_values_in_order() {
        let big = 5_000_000_000u64;
        let all = directory_record(
            b"a.so",
            0,
            [u32::MAX, u32::MAX, u32::MAX],
            &zip64_extra(&[big + 2, big + 1, big]),
        );
        // Only the compressed size saturated: the field holds just that value.
        let one = directory_record(b"b.so", 0, [u32::MAX, 10, 7], &zip64_extra(&[big]));
        let entries = parse_central_directory(&[all, one].concat(), 10).unwrap();
        assert_eq!(entries[0].uncompressed_size, big + 2);
        assert_eq!(entries[0].compressed_size, big + 1);
        assert_eq!(entries[0].local_header_offset, big);
        assert_eq!(entries[0].crc32, 0xDEAD_BEEF);
        assert_eq!(
            (entries[1].compressed_size, entries[1].uncompressed_size),
            (big, 10)
        );
        assert_eq!(entries[1].local_header_offset, 7);

        let missing = directory_record(b"c.so", 0, [u32::MAX, 1, 1], &[]);
        assert!(matches!(
            parse_central_directory(&missing, 10),
            Err(ZipError::Corrupt(_))
        ));
        let short = directory_record(b"d.so", 0, [u32::MAX, u32::MAX, 1], &zip64_extra(&[1]));
        assert!(matches!(
            parse_central_directory(&short, 10),
            Err(ZipError::Corrupt(_))
        ));
    }

    #[test]
    fn names_decode_as_utf8_or_cp437() {
        assert_eq!(CP437_HIGH.chars().count(), 128);
        let records = [
            directory_record("é.so".as_bytes(), FLAG_UTF8, [1, 1, 0], &[]),
            directory_record(b"\x82t\xe9.so", 0, [1, 1, 0], &[]),
            directory_record(b"bad\xff.so", FLAG_UTF8, [1, 1, 0], &[]),
        ]
        .concat();
        let names: Vec<_> = parse_central_directory(&records, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["é.so", "étΘ.so", "bad\u{FFFD}.so"]);
    }

    #[test]
    fn short_tails_ask_for_more() {
        let zip = build_zip(&[stored("a", b"abc")], "", false);
        let file_len = zip.len() as u64;
        match locate_central_directory(tail(&zip, 10), file_len) {
            Err(ZipError::NeedMoreTail { from_end }) => assert_eq!(from_end, file_len),
            other => panic!("expected NeedMoreTail, got {other:?}"),
        }

        // A long comment pushes the end record out of a small first fetch.
        let comment = "x".repeat(60_000);
        let padding = vec![7u8; 200_000];
        let zip = build_zip(&[stored("pad", &padding)], &comment, false);
        let file_len = zip.len() as u64;
        match locate_central_directory(tail(&zip, 4096), file_len) {
            Err(ZipError::NeedMoreTail { from_end }) => {
                assert_eq!(from_end, TAIL_PROBE);
                let location = locate_central_directory(tail(&zip, from_end), file_len).unwrap();
                assert_eq!(location.entries, 1);
                // The directory sits before the comment, inside this tail.
                let tail_bytes = tail(&zip, from_end);
                assert!(central_directory_in_tail(tail_bytes, file_len, &location).is_some());
            }
            other => panic!("expected NeedMoreTail, got {other:?}"),
        }
        // The directory itself is not in a tail that starts after it.
        let location = locate_whole(&zip).unwrap();
        assert!(central_directory_in_tail(tail(&zip, 60_030), file_len, &location).is_none());
    }

    #[test]
    fn tail_longer_than_file_is_an_error() {
        assert!(matches!(
            locate_central_directory(&[0; 30], 10),
            Err(ZipError::Corrupt(_))
        ));
    }

    /// Deterministic pseudo-random bytes.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_is_rejected() {
        for len in [0, 1, 21, 22, 100, 70_000, 200_000] {
            let bytes = noise(len, len as u64);
            let result = locate_central_directory(&bytes, bytes.len() as u64);
            assert!(
                matches!(result, Err(ZipError::NoEndOfCentralDirectory)),
                "{len}: {result:?}"
            );
            assert!(list_entries(&bytes, 100).is_err());
            assert!(parse_central_directory(&bytes, 100).is_err() || bytes.is_empty());
            assert!(local_header_len(&bytes).is_err());
        }
        let entry = ZipEntry {
            name: "x".into(),
            compression: 8,
            compressed_size: 1000,
            uncompressed_size: 1000,
            local_header_offset: 0,
            crc32: 0,
        };
        assert!(collect(&entry, &noise(1000, 3)).is_err());
        assert!(parse_central_directory(&[], 10).unwrap().is_empty());
    }

    /// Every stage of reading, as a caller would chain them; must never panic.
    fn read_everything(zip: &[u8]) -> Result<Vec<Vec<u8>>, ZipError> {
        let file_len = zip.len() as u64;
        let probe = TAIL_PROBE.min(file_len);
        let tail_bytes = tail(zip, probe);
        let location = locate_central_directory(tail_bytes, file_len)?;
        let directory = central_directory_in_tail(tail_bytes, file_len, &location).unwrap_or(&[]);
        let _ = parse_central_directory(directory, 100);
        let entries = parse_central_directory_at(directory, &location, 100)?;
        entries
            .iter()
            .map(|entry| {
                let range = member_fetch_range(entry, location.offset);
                let fetched = zip
                    .get(range.start as usize..range.end as usize)
                    .unwrap_or(&[]);
                let _ = member_data_from_header(fetched, entry);
                collect(entry, member_data(zip, entry)?)
            })
            .collect()
    }

    #[test]
    fn mutated_archives_never_panic() {
        let text = &sample_text()[..3000];
        for zip64 in [false, true] {
            let zip = build_zip(
                &[stored("a.txt", b"alpha"), deflated("b/c.so", text)],
                "hi",
                zip64,
            );
            assert_eq!(read_everything(&zip).unwrap()[1], text);
            for at in 0..zip.len() {
                for value in [0x00, 0xFF, zip[at] ^ 0x01, zip[at] ^ 0x80] {
                    let mut mutated = zip.clone();
                    mutated[at] = value;
                    let _ = read_everything(&mutated);
                }
                let _ = read_everything(&zip[..at]);
                let _ = read_everything(&zip[at..]);
            }
        }
    }

    #[test]
    fn directory_claiming_more_entries_than_present_is_rejected() {
        // Long names leave room for a third record in the directory's size, so only the count
        // check after parsing can catch the lie.
        let (a, b) = ("a".repeat(80), "b".repeat(80));
        let zip = build_zip(&[stored(&a, b"1"), stored(&b, b"2")], "", false);
        let pos = eocd_pos(&zip);

        let mut one_more = zip.clone();
        one_more[pos + 8..pos + 10].copy_from_slice(&3u16.to_le_bytes());
        one_more[pos + 10..pos + 12].copy_from_slice(&3u16.to_le_bytes());
        let location = locate_whole(&one_more).unwrap();
        assert_eq!(location.entries, 3);
        let directory =
            central_directory_in_tail(&one_more, one_more.len() as u64, &location).unwrap();
        assert_eq!(parse_central_directory(directory, 100).unwrap().len(), 2);
        assert!(matches!(
            parse_central_directory_at(directory, &location, 100),
            Err(ZipError::Corrupt(_))
        ));
        assert!(matches!(
            list_entries(&one_more, 100),
            Err(ZipError::Corrupt(_))
        ));

        let mut many = zip.clone();
        many[pos + 10..pos + 12].copy_from_slice(&60_000u16.to_le_bytes());
        assert!(matches!(locate_whole(&many), Err(ZipError::Corrupt(_))));
    }

    #[test]
    fn too_many_entries_is_rejected() {
        let zip = build_zip(
            &[stored("a", b""), stored("b", b""), stored("c", b"")],
            "",
            false,
        );
        assert!(matches!(
            list_entries(&zip, 2),
            Err(ZipError::TooManyEntries { max: 2 })
        ));
        let location = locate_whole(&zip).unwrap();
        let directory = central_directory_in_tail(&zip, zip.len() as u64, &location).unwrap();
        assert!(matches!(
            parse_central_directory(directory, 2),
            Err(ZipError::TooManyEntries { max: 2 })
        ));
        assert_eq!(list_entries(&zip, 3).unwrap().len(), 3);
    }

    #[test]
    fn member_offsets_past_the_directory_are_rejected() {
        let zip = build_zip(&[stored("a", b"abc")], "", false);
        let location = locate_whole(&zip).unwrap();
        let mut moved = zip.clone();
        let record = location.offset as usize;
        moved[record + 42..record + 46].copy_from_slice(&(location.offset as u32).to_le_bytes());
        assert!(matches!(
            list_entries(&moved, 10),
            Err(ZipError::Corrupt(_))
        ));
    }

    #[test]
    fn empty_archive_and_empty_members() {
        let empty = build_zip(&[], "", false);
        assert_eq!(
            locate_whole(&empty).unwrap(),
            CentralDirectoryLocation {
                offset: 0,
                size: 0,
                entries: 0
            }
        );
        assert!(list_entries(&empty, 10).unwrap().is_empty());

        let zip = build_zip(&[stored("s", b""), deflated("d", b"")], "", false);
        for entry in list_entries(&zip, 10).unwrap() {
            assert!(
                collect(&entry, member_data(&zip, &entry).unwrap())
                    .unwrap()
                    .is_empty()
            );
        }
        // Deflate with no data at all still counts as an empty member.
        let entry = ZipEntry {
            name: "e".into(),
            compression: 8,
            compressed_size: 0,
            uncompressed_size: 0,
            local_header_offset: 0,
            crc32: 0,
        };
        assert!(inflate_member(&entry, &[], 10, |_| ControlFlow::Continue(())).unwrap());
    }

    /// Found by fuzzing (`fuzz/`, target `zip`): an empty member was read in one push but, fed
    /// no pushes at all (its data is zero bytes), `finish` called it cut short.
    #[test]
    fn empty_members_finish_without_a_push() {
        let zip = build_zip(&[stored("s", b"")], "", false);
        let stored = list_entries(&zip, 10).unwrap().remove(0);
        let deflated = ZipEntry {
            name: "d".into(),
            compression: 8,
            ..stored.clone()
        };
        for entry in [&stored, &deflated] {
            assert_eq!(entry.compressed_size, 0);
            let inflater = MemberInflater::new(entry, 10).unwrap();
            assert!(inflater.finish().unwrap(), "{}", entry.name);
        }
        // The empty read is judged as a pushed one would be: a CRC-32 that is not zero fails.
        let mut lying = stored;
        lying.crc32 = 1;
        let error = MemberInflater::new(&lying, 10)
            .unwrap()
            .finish()
            .unwrap_err();
        assert!(error.to_string().contains("CRC-32"), "{error}");
    }

    #[test]
    fn deflate_bomb_stops_at_max_output() {
        let zeros = vec![0u8; 50_000_000];
        let zip = build_zip(&[deflated("bomb.so", &zeros)], "", false);
        drop(zeros);
        let entries = list_entries(&zip, 10).unwrap();
        let data = member_data(&zip, &entries[0]).unwrap();
        assert!(data.len() < 200_000);
        let mut seen = 0;
        let result = inflate_member(&entries[0], data, 1_000_000, |chunk| {
            seen += chunk.len();
            ControlFlow::Continue(())
        });
        match result {
            Err(ZipError::TooLarge { name, limit }) => {
                assert_eq!((name.as_str(), limit), ("bomb.so", 1_000_000));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(seen <= 1_000_000);
    }

    #[test]
    fn output_past_the_declared_size_is_a_lie() {
        let text = sample_text();
        for member in [deflated("d", &text), stored("s", &text)] {
            let zip = build_zip(&[member], "", false);
            let mut entry = list_entries(&zip, 10).unwrap().remove(0);
            let data = member_data(&zip, &entry).unwrap();
            entry.uncompressed_size = 100;
            assert!(matches!(
                collect(&entry, data),
                Err(ZipError::TooLarge { limit, .. }) if limit == 100 + DECLARED_SIZE_SLACK
            ));
        }
    }

    #[test]
    fn break_stops_early() {
        let text = sample_text();
        for member in [deflated("d", &text), stored("s", &text)] {
            let zip = build_zip(&[member], "", false);
            let entry = &list_entries(&zip, 10).unwrap()[0];
            let data = member_data(&zip, entry).unwrap();
            let mut calls = 0;
            let finished = inflate_member(entry, data, u64::MAX, |_| {
                calls += 1;
                ControlFlow::Break(())
            })
            .unwrap();
            assert!(!finished);
            assert_eq!(calls, 1);
        }
    }

    #[test]
    fn bad_members_are_reported() {
        let zip = build_zip(&[deflated("d", b"some data some data")], "", false);
        let entry = list_entries(&zip, 10).unwrap().remove(0);
        let data = member_data(&zip, &entry).unwrap();

        let unsupported = ZipEntry {
            compression: 12,
            ..entry.clone()
        };
        assert!(matches!(
            collect(&unsupported, data),
            Err(ZipError::UnsupportedCompression(12))
        ));
        let wrong_crc = ZipEntry {
            crc32: entry.crc32 ^ 1,
            ..entry.clone()
        };
        assert!(matches!(
            collect(&wrong_crc, data),
            Err(ZipError::Corrupt(_))
        ));
        assert!(matches!(
            collect(&entry, &data[..data.len() - 1]),
            Err(ZipError::Truncated { .. })
        ));
        // Data cut short while the entry claims less: the stream ends without its final block.
        let cut = ZipEntry {
            compressed_size: entry.compressed_size - 2,
            ..entry.clone()
        };
        assert!(matches!(collect(&cut, data), Err(ZipError::Corrupt(_))));
        // Extra bytes after the member (a generous range read) are ignored.
        let with_slack = [data, &[0xAB; 100][..]].concat();
        assert_eq!(
            collect(&entry, &with_slack).unwrap(),
            b"some data some data"
        );

        // A fetch that stops inside the data says how much is needed.
        let fetched = &zip[..entry.compressed_size as usize + 30];
        match member_data_from_header(fetched, &entry) {
            Err(ZipError::Truncated { needed, .. }) => {
                assert_eq!(needed, 31 + entry.compressed_size);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        assert!(matches!(
            local_header_len(&zip[1..]),
            Err(ZipError::Corrupt(_))
        ));
        assert!(matches!(
            local_header_len(&zip[..29]),
            Err(ZipError::Truncated { needed: 30, .. })
        ));
    }

    /// Push `data` through a [`MemberInflater`] in pieces of `piece` bytes, collecting the output,
    /// until it stops asking; then finish.
    fn collect_chunked(
        entry: &ZipEntry,
        data: &[u8],
        piece: usize,
        max_output: u64,
    ) -> Result<(Vec<u8>, bool), ZipError> {
        let mut inflater = MemberInflater::new(entry, max_output)?;
        let mut out = Vec::new();
        let mut sink = |chunk: &[u8]| {
            assert!(chunk.len() <= OUTPUT_CHUNK);
            out.extend_from_slice(chunk);
            ControlFlow::Continue(())
        };
        for chunk in data.chunks(piece) {
            if inflater.push(chunk, &mut sink)? != Progress::NeedMore {
                break;
            }
        }
        let finished = inflater.finish()?;
        Ok((out, finished))
    }

    #[test]
    fn chunked_input_gives_the_one_shot_output() {
        let text = sample_text();
        let random = noise(200_000, 11);
        let zip = build_zip(
            &[
                deflated("text.so", &text),
                deflated("random.so", &random),
                stored("stored.so", &text[..150_000]),
                deflated("empty.so", b""),
                stored("tiny.py", b"x = 1\n"),
            ],
            "",
            false,
        );
        for entry in list_entries(&zip, 10).unwrap() {
            let data = member_data(&zip, &entry).unwrap();
            let one_shot = collect(&entry, data).unwrap();
            assert_eq!(one_shot.len() as u64, entry.uncompressed_size);
            // A generous range read hands in bytes past the member's end too.
            let with_slack = [data, &[0x5A; 3000][..]].concat();
            for piece in [1, 7, 4096, 64 * 1024, 1 << 20] {
                for input in [data, &with_slack[..]] {
                    let (out, finished) = collect_chunked(&entry, input, piece, u64::MAX).unwrap();
                    assert!(finished, "{} in {piece}-byte pieces", entry.name);
                    assert!(out == one_shot, "{} in {piece}-byte pieces", entry.name);
                }
            }
        }
    }

    #[test]
    fn pushes_after_the_end_read_nothing() {
        let text = sample_text();
        let zip = build_zip(&[deflated("d", &text)], "", false);
        let entry = list_entries(&zip, 10).unwrap().remove(0);
        let data = member_data(&zip, &entry).unwrap();
        let mut inflater = MemberInflater::new(&entry, u64::MAX).unwrap();
        let mut seen = 0;
        let mut sink = |chunk: &[u8]| {
            seen += chunk.len();
            ControlFlow::Continue(())
        };
        let (head, rest) = data.split_at(data.len() / 2);
        assert_eq!(inflater.push(head, &mut sink).unwrap(), Progress::NeedMore);
        assert_eq!(inflater.compressed_remaining(), rest.len() as u64);
        assert_eq!(inflater.push(rest, &mut sink).unwrap(), Progress::Finished);
        assert_eq!(inflater.compressed_remaining(), 0);
        assert_eq!(inflater.push(data, &mut sink).unwrap(), Progress::Finished);
        assert_eq!(inflater.written(), text.len() as u64);
        assert!(inflater.finish().unwrap());
        assert_eq!(seen, text.len());
    }

    #[test]
    fn an_honestly_declared_bomb_stops_at_the_ratio_guard() {
        let zeros = vec![0u8; 40 * 1024 * 1024];
        let zip = build_zip(&[deflated("bomb.so", &zeros)], "", false);
        drop(zeros);
        let entry = list_entries(&zip, 10).unwrap().remove(0);
        assert_eq!(entry.uncompressed_size, 40 * 1024 * 1024);
        let data = member_data(&zip, &entry).unwrap();
        let mut seen = 0u64;
        let result = inflate_member(&entry, data, u64::MAX, |chunk| {
            seen += chunk.len() as u64;
            ControlFlow::Continue(())
        });
        match result {
            Err(ZipError::Bomb {
                written,
                compressed,
                ..
            }) => {
                assert!(written > BOMB_FLOOR && written / BOMB_RATIO > compressed);
            }
            other => panic!("expected Bomb, got {other:?}"),
        }
        assert!(seen <= BOMB_FLOOR + OUTPUT_CHUNK as u64);
    }

    #[test]
    fn bomb_guard_triggers_mid_stream() {
        let zeros = vec![0u8; 20_000_000];
        let zip = build_zip(&[deflated("bomb.so", &zeros)], "", false);
        drop(zeros);
        let entry = list_entries(&zip, 10).unwrap().remove(0);
        let data = member_data(&zip, &entry).unwrap();
        for (max_output, declared, limit) in [
            // The caller's limit.
            (1_000_000, entry.uncompressed_size, 1_000_000),
            // The directory's declared size, when it lies.
            (u64::MAX, 500_000, 500_000 + DECLARED_SIZE_SLACK),
        ] {
            let entry = ZipEntry {
                uncompressed_size: declared,
                ..entry.clone()
            };
            let mut inflater = MemberInflater::new(&entry, max_output).unwrap();
            let mut seen = 0u64;
            let mut sink = |chunk: &[u8]| {
                seen += chunk.len() as u64;
                ControlFlow::Continue(())
            };
            let mut pushed = 0;
            let error = data
                .chunks(1000)
                .find_map(|chunk| {
                    pushed += chunk.len();
                    inflater.push(chunk, &mut sink).err()
                })
                .expect("the guard trips");
            assert!(
                matches!(&error, ZipError::TooLarge { name, limit: l } if name == "bomb.so" && *l == limit),
                "{error:?}"
            );
            // Mid-stream: long before the compressed data ran out, and nothing past the limit
            // reached the sink.
            assert!(pushed < data.len() / 2, "{pushed} of {}", data.len());
            // The inflater stays failed.
            assert!(inflater.push(&[], &mut sink).is_err());
            assert!(inflater.finish().is_err());
            assert!(seen <= limit);
        }
    }

    #[test]
    fn break_stops_a_chunked_read_early() {
        let text = sample_text();
        for member in [deflated("d", &text), stored("s", &text)] {
            let zip = build_zip(&[member], "", false);
            let entry = list_entries(&zip, 10).unwrap().remove(0);
            let data = member_data(&zip, &entry).unwrap();
            let mut inflater = MemberInflater::new(&entry, u64::MAX).unwrap();
            // Stop after the first 100 KB of output.
            let mut seen = 0;
            let mut sink = |chunk: &[u8]| {
                seen += chunk.len();
                if seen >= 100_000 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            let mut pushed = 0;
            let mut last = Progress::NeedMore;
            for chunk in data.chunks(7) {
                pushed += chunk.len();
                last = inflater.push(chunk, &mut sink).unwrap();
                if last != Progress::NeedMore {
                    break;
                }
            }
            assert_eq!(last, Progress::StoppedEarly);
            assert!(pushed < data.len(), "{pushed} of {}", data.len());
            // Later input is not read.
            assert_eq!(
                inflater.push(data, &mut sink).unwrap(),
                Progress::StoppedEarly
            );
            assert!(seen < text.len());
            assert!(!inflater.finish().unwrap());
        }
    }

    #[test]
    fn truncated_stream_fails_at_finish() {
        let text = sample_text();
        for member in [deflated("d", &text), stored("s", &text)] {
            let zip = build_zip(&[member], "", false);
            let entry = list_entries(&zip, 10).unwrap().remove(0);
            let data = member_data(&zip, &entry).unwrap();
            for cut in [0, 1, data.len() / 2, data.len() - 1] {
                let result = collect_chunked(&entry, &data[..cut], 4096, u64::MAX);
                assert!(
                    matches!(
                        result,
                        Err(ZipError::Truncated { needed, available, .. })
                            if needed == entry.compressed_size && available == cut as u64
                    ),
                    "cut at {cut}: {result:?}"
                );
            }
        }
        // The directory claims less data than the stream needs: the data runs out before the
        // final block, which the push that takes the last byte already knows.
        let zip = build_zip(&[deflated("d", &text)], "", false);
        let entry = list_entries(&zip, 10).unwrap().remove(0);
        let data = member_data(&zip, &entry).unwrap();
        let cut = ZipEntry {
            compressed_size: entry.compressed_size / 2,
            ..entry.clone()
        };
        assert!(matches!(
            collect_chunked(&cut, data, 1000, u64::MAX),
            Err(ZipError::Corrupt(_))
        ));
        // A CRC mismatch is found when the last piece arrives.
        let wrong_crc = ZipEntry {
            crc32: entry.crc32 ^ 1,
            ..entry
        };
        assert!(matches!(
            collect_chunked(&wrong_crc, data, 1000, u64::MAX),
            Err(ZipError::Corrupt(_))
        ));
    }

    #[test]
    fn unsupported_methods_are_refused_up_front() {
        let entry = ZipEntry {
            name: "x".into(),
            compression: 14,
            compressed_size: 10,
            uncompressed_size: 10,
            local_header_offset: 0,
            crc32: 0,
        };
        assert!(matches!(
            MemberInflater::new(&entry, 100),
            Err(ZipError::UnsupportedCompression(14))
        ));
    }
}
