//! Whether an ELF shared object links against CPython at all, told from its first bytes.
//!
//! NumPy's C-API is reached only through Python: `_import_array()` imports
//! `numpy._core._multiarray_umath` and unpacks a capsule with `PyImport_ImportModule`,
//! `PyObject_GetAttrString` and `PyCapsule_GetPointer`, and Cython's type checks go through the
//! same calls. An object built with NumPy headers therefore leaves CPython symbols undefined,
//! and their names sit in its dynamic string table (`.dynstr`). Linkers put that table in the
//! object's first loadable segment, ahead of the code: ld.bfd, gold and mold with
//! `-z separate-code` (the default on x86-64 since binutils 2.31) keep the code in a segment of
//! its own, lld and mold put `.rodata` in the first segment too. When that first segment is
//! read-only, not executable, and names no `Py…`/`_Py…` symbol, nothing after it can call
//! NumPy: a vendored `libgdal` (30 MB in pyogrio's wheel) is judged from its first megabyte.
//!
//! Anything this cannot read (another format, a layout with code in the first segment, a
//! header that does not add up) leaves the object to be read whole, as before.

/// Most of the file start held while waiting for the program headers.
const MAX_HEAD: usize = 64 * 1024;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PF_X: u32 = 1;
/// A dynamically linked shared object (`ET_DYN`).
const ET_DYN: u16 = 3;

/// What [`PythonLinkage`] has learned so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// Still reading the file's start or its first segment.
    Reading,
    /// The first segment has been read and names no CPython symbol: nothing in the object can
    /// call NumPy's C-API.
    NoPython,
    /// It names a CPython symbol, or the layout is not one this can vouch for: read it all.
    ReadWhole,
}

/// Streaming probe: feed the decompressed bytes of one shared object from its start, in chunks
/// of any size, and ask [`linkage`](Self::linkage) after each.
#[derive(Debug)]
pub struct PythonLinkage {
    linkage: Linkage,
    /// Bytes of the file start, kept until the program headers are in.
    head: Vec<u8>,
    /// Where the first segment ends, once the program headers are read.
    segment_end: Option<u64>,
    /// Bytes fed so far.
    offset: u64,
    /// The last bytes of the previous chunk, for a name split between chunks.
    carry: Vec<u8>,
}

impl Default for PythonLinkage {
    fn default() -> Self {
        Self::new()
    }
}

impl PythonLinkage {
    pub fn new() -> Self {
        PythonLinkage {
            linkage: Linkage::Reading,
            head: Vec::new(),
            segment_end: None,
            offset: 0,
            carry: Vec::new(),
        }
    }

    pub fn linkage(&self) -> Linkage {
        self.linkage
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.linkage != Linkage::Reading || chunk.is_empty() {
            return;
        }
        let chunk_start = self.offset;
        self.offset += chunk.len() as u64;
        if self.segment_end.is_none() {
            let wanted = MAX_HEAD.saturating_sub(self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
            match first_segment_end(&self.head) {
                Header::NeedMore if self.head.len() < MAX_HEAD => return,
                Header::NeedMore | Header::Unreadable => {
                    self.linkage = Linkage::ReadWhole;
                    self.head = Vec::new();
                    return;
                }
                Header::FirstSegmentEnds(end) => {
                    self.segment_end = Some(end);
                    // Search everything held so far, from the file's start.
                    let held = std::mem::take(&mut self.head);
                    let held_end = (held.len() as u64).min(end) as usize;
                    self.search(&held[..held_end]);
                    let rest_from = held.len() as u64;
                    if self.linkage == Linkage::Reading && rest_from < self.offset {
                        let skip = (rest_from - chunk_start) as usize;
                        self.search_within_segment(rest_from, &chunk[skip..]);
                    }
                    self.settle();
                    return;
                }
            }
        }
        self.search_within_segment(chunk_start, chunk);
        self.settle();
    }

    /// Search the part of `bytes` (starting at file offset `start`) inside the first segment.
    fn search_within_segment(&mut self, start: u64, bytes: &[u8]) {
        let end = self.segment_end.unwrap_or(u64::MAX);
        if start >= end {
            return;
        }
        let within = usize::try_from(end - start).map_or(bytes.len(), |n| n.min(bytes.len()));
        self.search(&bytes[..within]);
    }

    /// Past the first segment without a CPython name: conclude.
    fn settle(&mut self) {
        if self.linkage == Linkage::Reading
            && self.segment_end.is_some_and(|end| self.offset >= end)
        {
            self.linkage = Linkage::NoPython;
        }
    }

    fn search(&mut self, bytes: &[u8]) {
        // `\0Py` + an upper-case letter or `_`, or `\0_Py` + the same: a C-API name in a string
        // table. A name split between chunks is found in the carried bytes plus this chunk.
        let mut seam = std::mem::take(&mut self.carry);
        seam.extend_from_slice(&bytes[..bytes.len().min(4)]);
        if names_python(&seam) || names_python(bytes) {
            self.linkage = Linkage::ReadWhole;
        }
        if bytes.len() >= 4 {
            seam.clear();
            seam.extend_from_slice(&bytes[bytes.len() - 4..]);
        } else {
            // A tiny chunk: the seam holds what came before it too; keep its last four bytes.
            let excess = seam.len().saturating_sub(4);
            seam.drain(..excess);
        }
        self.carry = seam;
    }
}

fn names_python(bytes: &[u8]) -> bool {
    bytes.windows(4).enumerate().any(|(at, window)| {
        let after = |n: usize| bytes.get(at + n).copied();
        match window {
            [0, b'P', b'y', next] => next.is_ascii_uppercase() || *next == b'_',
            [0, b'_', b'P', b'y'] => {
                after(4).is_some_and(|next| next.is_ascii_uppercase() || next == b'_')
            }
            _ => false,
        }
    })
}

enum Header {
    NeedMore,
    Unreadable,
    /// File offset where the first loadable segment ends.
    FirstSegmentEnds(u64),
}

/// Reads the ELF header and program headers from the file's start.
fn first_segment_end(head: &[u8]) -> Header {
    if head.len() < 64 {
        return if head.len() >= 4 && &head[..4] != b"\x7fELF" {
            Header::Unreadable
        } else {
            Header::NeedMore
        };
    }
    if &head[..4] != b"\x7fELF" {
        return Header::Unreadable;
    }
    let wide = match head[4] {
        1 => false,
        2 => true,
        _ => return Header::Unreadable,
    };
    let little = match head[5] {
        1 => true,
        2 => false,
        _ => return Header::Unreadable,
    };
    let read = Reader { head, little };
    if read.u16(16) != Some(ET_DYN) {
        return Header::Unreadable;
    }
    let (phoff, phentsize, phnum) = if wide {
        (read.u64(32), read.u16(54), read.u16(56))
    } else {
        (read.u32(28).map(u64::from), read.u16(42), read.u16(44))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (phoff, phentsize, phnum) else {
        return Header::Unreadable;
    };
    let entry_len: u16 = if wide { 56 } else { 32 };
    if phentsize < entry_len || phnum == 0 {
        return Header::Unreadable;
    }
    let table_end = phoff.saturating_add(u64::from(phentsize) * u64::from(phnum));
    if table_end > MAX_HEAD as u64 {
        return Header::Unreadable;
    }
    if (head.len() as u64) < table_end {
        return Header::NeedMore;
    }
    let mut loads = Vec::new();
    let mut dynamic = false;
    for index in 0..u64::from(phnum) {
        let at = (phoff + index * u64::from(phentsize)) as usize;
        let segment = if wide {
            (|| {
                Some(Segment {
                    kind: read.u32(at)?,
                    flags: read.u32(at + 4)?,
                    offset: read.u64(at + 8)?,
                    file_size: read.u64(at + 32)?,
                })
            })()
        } else {
            (|| {
                Some(Segment {
                    kind: read.u32(at)?,
                    offset: u64::from(read.u32(at + 4)?),
                    file_size: u64::from(read.u32(at + 16)?),
                    flags: read.u32(at + 24)?,
                })
            })()
        };
        let Some(segment) = segment else {
            return Header::Unreadable;
        };
        match segment.kind {
            PT_LOAD => loads.push(segment),
            PT_DYNAMIC => dynamic = true,
            _ => {}
        }
    }
    // Not dynamically linked: it imports nothing by name, and there is no string table to read.
    if !dynamic {
        return Header::Unreadable;
    }
    let Some(first) = loads.iter().min_by_key(|segment| segment.offset) else {
        return Header::Unreadable;
    };
    let first_end = first.offset.saturating_add(first.file_size);
    // The first segment holds the file start and no code, and the code lies wholly after it.
    let separate = first.offset == 0
        && first.file_size > 0
        && first.flags & PF_X == 0
        && loads
            .iter()
            .filter(|segment| segment.flags & PF_X != 0)
            .all(|segment| segment.offset >= first_end)
        && loads.iter().any(|segment| segment.flags & PF_X != 0);
    if separate {
        Header::FirstSegmentEnds(first_end)
    } else {
        Header::Unreadable
    }
}

struct Segment {
    kind: u32,
    flags: u32,
    offset: u64,
    file_size: u64,
}

struct Reader<'a> {
    head: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.head.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let bytes = self.bytes::<2>(at)?;
        Some(if self.little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let bytes = self.bytes::<4>(at)?;
        Some(if self.little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn u64(&self, at: usize) -> Option<u64> {
        let bytes = self.bytes::<8>(at)?;
        Some(if self.little {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit little-endian shared object laid out as `-z separate-code` lays it out: a
    /// read-only first segment holding `dynstr`, then an executable one, then a writable one with
    /// the dynamic section; `filler` bytes of "code" after the first segment.
    pub(crate) fn elf64(dynstr: &[u8], first_executable: bool, filler: usize) -> Vec<u8> {
        let phoff = 64u64;
        let phnum = 3u16;
        let headers_end = phoff as usize + 56 * phnum as usize;
        let first_end = (headers_end + dynstr.len()) as u64;
        let mut file = vec![0u8; headers_end];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 2; // 64-bit
        file[5] = 1; // little-endian
        file[6] = 1;
        file[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        file[32..40].copy_from_slice(&phoff.to_le_bytes());
        file[54..56].copy_from_slice(&56u16.to_le_bytes());
        file[56..58].copy_from_slice(&phnum.to_le_bytes());
        let segments = [
            (PT_LOAD, if first_executable { 5 } else { 4 }, 0, first_end),
            (PT_LOAD, 5, first_end, filler as u64),
            (PT_DYNAMIC, 6, first_end + filler as u64, 0),
        ];
        for (index, (kind, flags, offset, size)) in segments.into_iter().enumerate() {
            let at = phoff as usize + index * 56;
            file[at..at + 4].copy_from_slice(&u32::to_le_bytes(kind));
            file[at + 4..at + 8].copy_from_slice(&u32::to_le_bytes(flags));
            file[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
            file[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        }
        file.extend_from_slice(dynstr);
        // Code: bytes that never spell a C-API name.
        file.extend((0..filler).map(|at| (at % 251) as u8 | 0x80));
        file
    }

    fn probe(bytes: &[u8], chunk: usize) -> (Linkage, u64) {
        let mut probe = PythonLinkage::new();
        let mut fed = 0;
        for piece in bytes.chunks(chunk) {
            probe.feed(piece);
            fed += piece.len() as u64;
            if probe.linkage() != Linkage::Reading {
                break;
            }
        }
        (probe.linkage(), fed)
    }

    const PLAIN: &[u8] = b"\0libm.so.6\0cos\0sin\0GDALOpen\0_ZN3fooC1Ev\0Pyramid\0";
    const EXTENSION: &[u8] = b"\0libm.so.6\0PyInit__io\0PyImport_ImportModule\0";
    const CORE_ONLY: &[u8] = b"\0libc.so.6\0_Py_Dealloc\0";

    #[test]
    fn a_library_naming_no_cpython_symbol_is_decided_at_its_first_segment() {
        let file = elf64(PLAIN, false, 1 << 20);
        for chunk in [1, 3, 7, 64, 4096, 1 << 21] {
            let (linkage, fed) = probe(&file, chunk);
            assert_eq!(linkage, Linkage::NoPython, "chunk {chunk}");
            // Decided within one chunk of the first segment's end, long before the code ends.
            let first_end = (64 + 3 * 56 + PLAIN.len()) as u64;
            assert!(
                fed < first_end + chunk as u64 + 1,
                "chunk {chunk}: fed {fed}"
            );
        }
    }

    #[test]
    fn cpython_names_split_anywhere_send_the_object_to_a_whole_read() {
        for dynstr in [EXTENSION, CORE_ONLY] {
            let file = elf64(dynstr, false, 4096);
            for chunk in 1..=9 {
                assert_eq!(probe(&file, chunk).0, Linkage::ReadWhole, "chunk {chunk}");
            }
            assert_eq!(probe(&file, 1 << 20).0, Linkage::ReadWhole);
        }
    }

    #[test]
    fn names_that_only_start_like_python_do_not_count() {
        assert!(!names_python(b"\0Pyramid\0Pylon\0Py\0"));
        assert!(names_python(b"\0PyList_New\0"));
        assert!(names_python(b"\0Py_IncRef\0"));
        assert!(names_python(b"\0_PyObject_GC_New\0"));
        assert!(names_python(b"\0_Py_Dealloc\0"));
        assert!(!names_python(b"\0_Pyramid\0"));
    }

    #[test]
    fn layouts_it_cannot_vouch_for_are_read_whole() {
        // Code in the first segment (no `-z separate-code`).
        assert_eq!(probe(&elf64(PLAIN, true, 4096), 4096).0, Linkage::ReadWhole);
        // Not ELF, or the fixture index's stand-in (ELF magic, then noise).
        assert_eq!(probe(b"MZ\x90\0 a PE file", 4).0, Linkage::ReadWhole);
        let mut noise = b"\x7fELF\x02\x01\x01".to_vec();
        noise.extend((0..100_000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert_eq!(probe(&noise, 4096).0, Linkage::ReadWhole);
        // An executable, not a shared object.
        let mut executable = elf64(PLAIN, false, 4096);
        executable[16] = 2;
        assert_eq!(probe(&executable, 4096).0, Linkage::ReadWhole);
        // Truncated before the program headers end: still reading, never "no Python".
        let file = elf64(PLAIN, false, 4096);
        assert_eq!(probe(&file[..100], 4096).0, Linkage::Reading);
    }

    /// Built by gcc and GNU ld from `testdata/elf/*.c` (`testdata/elf/build.sh`).
    const REAL_PLAIN: &[u8] = include_bytes!("../../testdata/elf/libplain.so");
    const REAL_EXTENSION: &[u8] = include_bytes!("../../testdata/elf/extension.so");
    const REAL_PLAIN_NOSEPARATE: &[u8] =
        include_bytes!("../../testdata/elf/libplain-noseparate.so");

    #[test]
    fn objects_from_a_real_linker() {
        for chunk in [1, 100, 4096, 65_536] {
            let (linkage, fed) = probe(REAL_PLAIN, chunk);
            assert_eq!(linkage, Linkage::NoPython, "chunk {chunk}");
            // ld puts the code at 0x1000: the verdict comes before it.
            assert!(fed <= 0x1000.max(chunk as u64), "chunk {chunk}: fed {fed}");
            assert_eq!(probe(REAL_EXTENSION, chunk).0, Linkage::ReadWhole);
            assert_eq!(probe(REAL_PLAIN_NOSEPARATE, chunk).0, Linkage::ReadWhole);
        }
    }

    #[test]
    fn program_headers_pointing_past_the_head_allowance_are_refused() {
        let mut file = elf64(PLAIN, false, 4096);
        file[32..40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_eq!(probe(&file, 4096).0, Linkage::ReadWhole);
    }
}
