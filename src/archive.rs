//! A wheel's members, read one at a time as streams: what the scans in `inspect` read wheels
//! through. The index's range reader (`index::RemoteWheel`) is one; [`ArchiveInMemory`], a wheel
//! held whole (read from disk or built by a test), is the other, so scans are tested and run
//! without HTTP.

use std::ops::ControlFlow;
use std::path::Path;

use crate::zipfile::{self, ZipEntry, ZipError};

/// The members of one zip archive, read on demand.
pub trait ArchiveMembers {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The archive's file name (a wheel's name tells its tags).
    fn filename(&self) -> &str;

    /// Every member, as the central directory lists them.
    fn entries(&self) -> &[ZipEntry];

    /// Stream one member's decompressed bytes into `sink`, in chunks of at most 64 KiB, until the
    /// member ends (`Ok(true)`, CRC-32 checked) or `sink` returns Break (`Ok(false)`: nothing more
    /// is read). Output past `max_output` bytes fails.
    fn read_member(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> impl Future<Output = Result<bool, Self::Error>>;

    /// [`read_member`](Self::read_member), told by `wanted` how much of the output the reader
    /// will take (`u64::MAX` while it does not know), so that a reader that fetches in pieces
    /// need not fetch far past it. Readers that hold the archive ignore it.
    fn read_member_wanting(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        wanted: &std::sync::atomic::AtomicU64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> impl Future<Output = Result<bool, Self::Error>> {
        let _ = wanted;
        self.read_member(entry, max_output, sink)
    }

    /// Small members whole, decompressed (each at most `max_output` bytes), handed to `sink` one
    /// by one. A member that cannot be read gives its error in its place; the archive failing as
    /// a whole (the index down) fails the read.
    fn read_small_members(
        &self,
        entries: &[&ZipEntry],
        max_output: u64,
        sink: impl AsyncFnMut(String, Result<Vec<u8>, Self::Error>),
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// The largest archive [`ArchiveInMemory`] may list (the remote reader's limit too).
const MAX_ENTRIES: usize = 200_000;

/// A zip archive held whole in memory.
pub struct ArchiveInMemory {
    filename: String,
    bytes: Vec<u8>,
    entries: Vec<ZipEntry>,
}

impl ArchiveInMemory {
    /// Read the central directory of `bytes`, a whole archive called `filename`.
    pub fn new(filename: impl Into<String>, bytes: Vec<u8>) -> Result<ArchiveInMemory, ZipError> {
        let length = bytes.len() as u64;
        let location = zipfile::locate_central_directory(&bytes, length)?;
        let entries = match zipfile::central_directory_in_tail(&bytes, length, &location) {
            Some(directory) => {
                zipfile::parse_central_directory_at(directory, &location, MAX_ENTRIES)?
            }
            None => {
                return Err(ZipError::Corrupt(
                    "the central directory lies outside the file".to_string(),
                ));
            }
        };
        Ok(ArchiveInMemory {
            filename: filename.into(),
            bytes,
            entries,
        })
    }

    /// The archive at `path`, read whole.
    pub fn open(path: &Path) -> Result<ArchiveInMemory, std::io::Error> {
        let bytes = std::fs::read(path)?;
        let filename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        ArchiveInMemory::new(filename, bytes)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    }

    /// The compressed data of `entry`.
    fn data(&self, entry: &ZipEntry) -> Result<&[u8], ZipError> {
        let start = usize::try_from(entry.local_header_offset).unwrap_or(usize::MAX);
        let from_header = self.bytes.get(start..).ok_or(ZipError::Truncated {
            what: "local header",
            needed: entry.local_header_offset,
            available: self.bytes.len() as u64,
        })?;
        zipfile::member_data_from_header(from_header, entry)
    }
}

impl ArchiveMembers for ArchiveInMemory {
    type Error = ZipError;

    fn filename(&self) -> &str {
        &self.filename
    }

    fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    async fn read_member(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, ZipError> {
        zipfile::inflate_member(entry, self.data(entry)?, max_output, sink)
    }

    async fn read_small_members(
        &self,
        entries: &[&ZipEntry],
        max_output: u64,
        mut sink: impl AsyncFnMut(String, Result<Vec<u8>, ZipError>),
    ) -> Result<(), ZipError> {
        for entry in entries {
            let member = self.data(entry).and_then(|data| {
                let mut out = Vec::new();
                zipfile::inflate_member(entry, data, max_output, |chunk| {
                    out.extend_from_slice(chunk);
                    ControlFlow::Continue(())
                })?;
                Ok(out)
            });
            sink(entry.name.clone(), member).await;
        }
        Ok(())
    }
}
