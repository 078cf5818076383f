//! How much of an ELF shared object can hold NumPy's import-code strings: string literals live
//! in loadable segments the program cannot write (`PT_LOAD` without `PF_W`: `.rodata`, and
//! `.text` beside it); what follows the last of them — writable data, `.symtab`, `.strtab`,
//! debug sections, section headers — cannot hold them (`../shared/DESIGN.md`, "Where the
//! strings live"). The program headers, which say where the segments are, come right after the
//! ELF header, so the limit is known from the first few KB while the object streams in.
//!
//! The other rule DESIGN names — an object whose dynamic symbol table imports no `Py*` symbol
//! cannot run the import code — is not used: the dynamic table (`PT_DYNAMIC`, which says where
//! the symbol tables are) lies in the writable segment after `.text` and `.rodata` in every
//! object measured (libllvmlite, triton's 16 libraries and executables), so a deflated member
//! must be inflated past the read-only segments to find it; the symbol tables cannot be found
//! sooner without guessing, and by then this limit has already stopped the read.

/// The most of an object's start held while its program headers are awaited. Linkers put them
/// right after the 64-byte ELF header; an object whose headers lie further (patchelf can move
/// them to the end) is read whole, as before.
const MAX_HEADER_PREFIX: usize = 64 * 1024;

const PT_LOAD: u32 = 1;
const PF_W: u32 = 2;

/// Watches an object's first bytes for its ELF program headers and works out where its last
/// read-only loadable segment ends.
#[derive(Debug, Default)]
pub struct ReadOnlyExtent {
    prefix: Vec<u8>,
    decided: Option<Option<u64>>,
}

impl ReadOnlyExtent {
    pub fn new() -> ReadOnlyExtent {
        ReadOnlyExtent::default()
    }

    /// Take the object's next bytes (in order from its start). `Some(limit)` once the limit is
    /// known: no import-code string lies at or past byte `limit`. `None` while undecided, and
    /// for good when the object is not ELF or its headers cannot be read from its start (then
    /// it is read whole).
    pub fn feed(&mut self, chunk: &[u8]) -> Option<u64> {
        if let Some(decided) = self.decided {
            return decided;
        }
        let room = MAX_HEADER_PREFIX - self.prefix.len();
        self.prefix
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        match read_only_end(&self.prefix) {
            Extent::Known(end) => self.decide(Some(end)),
            Extent::Never => self.decide(None),
            Extent::NeedMore if self.prefix.len() >= MAX_HEADER_PREFIX => self.decide(None),
            Extent::NeedMore => None,
        }
    }

    /// The limit, once known.
    pub fn limit(&self) -> Option<u64> {
        self.decided.flatten()
    }

    fn decide(&mut self, limit: Option<u64>) -> Option<u64> {
        self.decided = Some(limit);
        self.prefix = Vec::new();
        limit
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Extent {
    Known(u64),
    /// Not ELF, or headers that cannot be trusted: read the object whole.
    Never,
    NeedMore,
}

/// The end of the last `PT_LOAD` segment without `PF_W`, from the object's first bytes.
fn read_only_end(bytes: &[u8]) -> Extent {
    if bytes.len() < 4 {
        return Extent::NeedMore;
    }
    if &bytes[..4] != b"\x7fELF" {
        return Extent::Never;
    }
    if bytes.len() < 64 {
        return Extent::NeedMore;
    }
    let wide = match bytes[4] {
        1 => false,
        2 => true,
        _ => return Extent::Never,
    };
    let little = match bytes[5] {
        1 => true,
        2 => false,
        _ => return Extent::Never,
    };
    let u16_at = |at: usize| {
        let raw = [bytes[at], bytes[at + 1]];
        u64::from(if little {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        })
    };
    let u32_at = |at: usize| {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().expect("four bytes");
        u64::from(if little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        })
    };
    let u64_at = |at: usize| {
        let raw: [u8; 8] = bytes[at..at + 8].try_into().expect("eight bytes");
        if little {
            u64::from_le_bytes(raw)
        } else {
            u64::from_be_bytes(raw)
        }
    };
    // e_phoff, e_phentsize, e_phnum.
    let (phoff, phentsize, phnum) = if wide {
        (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    } else {
        (u32_at(0x1C), u16_at(0x2A), u16_at(0x2C))
    };
    let entry_size = if wide { 56 } else { 32 };
    // PN_XNUM (0xffff) keeps the real count in a section header, at the end of the file.
    if phnum == 0 || phnum == 0xffff || phentsize < entry_size {
        return Extent::Never;
    }
    let Some(table_end) = phnum
        .checked_mul(phentsize)
        .and_then(|size| size.checked_add(phoff))
    else {
        return Extent::Never;
    };
    if table_end > MAX_HEADER_PREFIX as u64 {
        return Extent::Never;
    }
    if (bytes.len() as u64) < table_end {
        return Extent::NeedMore;
    }
    let mut end = None;
    for index in 0..phnum {
        let at = (phoff + index * phentsize) as usize;
        let (kind, flags, offset, size) = if wide {
            (u32_at(at), u32_at(at + 4), u64_at(at + 8), u64_at(at + 32))
        } else {
            (u32_at(at), u32_at(at + 24), u32_at(at + 4), u32_at(at + 16))
        };
        if kind == u64::from(PT_LOAD) && flags & u64::from(PF_W) == 0 {
            let Some(segment_end) = offset.checked_add(size) else {
                return Extent::Never;
            };
            end = end.max(Some(segment_end));
        }
    }
    // Without a read-only loadable segment there is nothing to bound.
    end.map_or(Extent::Never, Extent::Known)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 64-bit little-endian ELF header and program headers: (type, flags, offset, size).
    pub(crate) fn elf64(segments: &[(u32, u32, u64, u64)]) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 1;
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bytes[0x38..0x3A].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for &(kind, flags, offset, size) in segments {
            let mut header = vec![0u8; 56];
            header[..4].copy_from_slice(&kind.to_le_bytes());
            header[4..8].copy_from_slice(&flags.to_le_bytes());
            header[8..16].copy_from_slice(&offset.to_le_bytes());
            header[32..40].copy_from_slice(&size.to_le_bytes());
            bytes.extend_from_slice(&header);
        }
        bytes
    }

    const R: u32 = 4;
    const RX: u32 = 5;
    const RW: u32 = 6;

    #[test]
    fn the_last_read_only_segment_ends_the_read() {
        // libllvmlite's layout: R, R E, R, then R W (and PT_DYNAMIC inside it).
        let object = elf64(&[
            (PT_LOAD, R, 0, 0x6dc438),
            (PT_LOAD, RX, 0x6dd000, 0x3545739),
            (PT_LOAD, R, 0x3c23000, 0x25899a2),
            (PT_LOAD, RW, 0x61aca88, 0x6a4dc0),
            (2, RW, 0x6839b30, 0x240),
        ]);
        assert_eq!(read_only_end(&object), Extent::Known(0x3c23000 + 0x25899a2));
    }

    #[test]
    fn headers_arriving_in_pieces_are_awaited() {
        let object = elf64(&[(PT_LOAD, RX, 0, 5000), (PT_LOAD, RW, 5000, 100)]);
        let mut extent = ReadOnlyExtent::new();
        assert_eq!(extent.feed(&object[..10]), None);
        assert_eq!(extent.feed(&object[10..70]), None);
        assert_eq!(extent.feed(&object[70..]), Some(5000));
        assert_eq!(extent.feed(b"more"), Some(5000));
    }

    #[test]
    fn anything_that_cannot_be_bounded_is_read_whole() {
        assert_eq!(read_only_end(b"MZ\x90\0rest of a PE file"), Extent::Never);
        assert_eq!(read_only_end(b"\xcf\xfa\xed\xfe Mach-O"), Extent::Never);
        // Program headers moved past the prefix (as patchelf may).
        let mut moved = elf64(&[(PT_LOAD, R, 0, 100)]);
        moved[0x20..0x28].copy_from_slice(&(1u64 << 30).to_le_bytes());
        assert_eq!(read_only_end(&moved), Extent::Never);
        // Only writable segments: nothing to bound.
        assert_eq!(
            read_only_end(&elf64(&[(PT_LOAD, RW, 0, 100)])),
            Extent::Never
        );
        // A segment whose end overflows.
        assert_eq!(
            read_only_end(&elf64(&[(PT_LOAD, R, u64::MAX, 2)])),
            Extent::Never
        );
        let mut extent = ReadOnlyExtent::new();
        assert_eq!(extent.feed(&[0u8; 80]), None);
        assert_eq!(extent.feed(b"\x7fELF"), None, "not ELF from its first byte");
    }

    #[test]
    fn thirty_two_bit_and_big_endian_objects() {
        // ELF32 little-endian (i686): phoff at 0x1C, entries of 32 bytes.
        let mut bytes = vec![0u8; 52];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 1;
        bytes[5] = 1;
        bytes[0x1C..0x20].copy_from_slice(&52u32.to_le_bytes());
        bytes[0x2A..0x2C].copy_from_slice(&32u16.to_le_bytes());
        bytes[0x2C..0x2E].copy_from_slice(&2u16.to_le_bytes());
        for (flags, offset, size) in [(RX, 0u32, 700u32), (RW, 700, 50)] {
            let mut header = vec![0u8; 32];
            header[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
            header[4..8].copy_from_slice(&offset.to_le_bytes());
            header[16..20].copy_from_slice(&size.to_le_bytes());
            header[24..28].copy_from_slice(&flags.to_le_bytes());
            bytes.extend_from_slice(&header);
        }
        bytes.resize(200, 0);
        assert_eq!(read_only_end(&bytes), Extent::Known(700));

        // ELF64 big-endian (s390x).
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 2;
        bytes[0x20..0x28].copy_from_slice(&64u64.to_be_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_be_bytes());
        bytes[0x38..0x3A].copy_from_slice(&1u16.to_be_bytes());
        let mut header = vec![0u8; 56];
        header[..4].copy_from_slice(&PT_LOAD.to_be_bytes());
        header[4..8].copy_from_slice(&RX.to_be_bytes());
        header[32..40].copy_from_slice(&4096u64.to_be_bytes());
        bytes.extend_from_slice(&header);
        assert_eq!(read_only_end(&bytes), Extent::Known(4096));
    }
}
