//! A wheel on the index read member by member: the zip's central directory from the tail with
//! one range request, then only the members asked for, streamed in bounded range requests and
//! only as far as the reader wants. Hosts that ignore `Range` get the whole file once, written
//! to a temporary file (so memory stays flat however large the wheel), and are remembered.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Url;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};

use super::cache::Cache;
use super::http::{BodyReservation, HttpResponse};
use super::redact::redact_url;
use super::simple::ProjectFile;
use super::{HttpClient, IndexError, MAX_METADATA_BYTES};
use crate::archive::ArchiveMembers;
use crate::zipfile::{self, MemberInflater, Progress, ZipEntry, ZipError};

/// Largest wheel downloaded whole when ranges are refused; larger ones are judged unknown.
const MAX_WHOLE_WHEEL: u64 = 1024 * 1024 * 1024;
/// More entries than any real wheel has (torch has ~15k).
const MAX_ENTRIES: usize = 200_000;
/// The largest central directory read: 200,000 entries with names of 150 bytes (torch's wheel,
/// about 15,000 entries, has a 2 MB directory).
const MAX_DIRECTORY_BYTES: u64 = 40 * 1024 * 1024;
/// The first range request of a member read: small members come whole in one request.
const FIRST_CHUNK: u64 = 1024 * 1024;
/// Each further request doubles the last, up to this: large members cost few requests, and
/// a member read holds no more than one such chunk (plus a 64 KiB output buffer) in memory.
const MAX_CHUNK: u64 = 8 * 1024 * 1024;
/// Chunks of one member read held at once: the one being decompressed and scanned, and the next,
/// whose range request downloads meanwhile.
const PIPELINE_DEPTH: usize = 2;
/// Largest member [`RemoteWheel::compressed_member`] holds in memory; larger ones must be
/// streamed with [`RemoteWheel::read_member`].
const MAX_BUFFERED_MEMBER: u64 = 64 * 1024 * 1024;

/// The last bytes of the file, held in memory, and their offset in the file.
struct Tail {
    bytes: Vec<u8>,
    start: u64,
}

/// Where bytes not held come from.
enum Source {
    /// Range requests to the index.
    Index,
    /// The whole file, downloaded once into a temporary file (the host ignores `Range`).
    Spool(Arc<Mutex<File>>),
}

/// Members this close to each other are fetched in one request ([`RemoteWheel::read_small_members`]).
const SPAN_GAP: u64 = 64 * 1024;
/// The most one such request asks for.
const MAX_SPAN: u64 = 4 * 1024 * 1024;
/// Range requests of one wheel's small members in flight at once.
const SPANS_IN_FLIGHT: usize = 4;

pub struct RemoteWheel {
    http: HttpClient,
    url: Url,
    filename: String,
    file_len: u64,
    tail: Tail,
    source: Source,
    entries: Vec<ZipEntry>,
    /// Where the central directory starts: every member ends before it.
    directory_offset: u64,
    /// Request sizes of member reads: the first, and the most it doubles to.
    first_chunk: u64,
    max_chunk: u64,
}

impl RemoteWheel {
    pub(super) async fn open(
        http: HttpClient,
        cache: Cache,
        url: Url,
        file: &ProjectFile,
    ) -> Result<RemoteWheel, IndexError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let refuses_ranges = cache.host_refuses_ranges(&host).await?;
        let mut wheel = if refuses_ranges {
            Self::download_whole(http, url, file).await?
        } else {
            let mut headers = identity_headers();
            headers.insert(
                RANGE,
                header_value(&format!("bytes=-{}", zipfile::TAIL_PROBE)),
            );
            let response = http.get_spooled(&url, headers, MAX_WHOLE_WHEEL).await?;
            match response.status.as_u16() {
                206 => {
                    let file_len = content_range_total(&response.headers).ok_or_else(|| {
                        IndexError::BadResponse {
                            url: redact_url(&url),
                            message: "206 response without a usable Content-Range".into(),
                        }
                    })?;
                    let tail_start = file_len.saturating_sub(response.body.len() as u64);
                    RemoteWheel {
                        http,
                        url,
                        filename: file.filename.clone(),
                        file_len,
                        tail: Tail {
                            bytes: response.body,
                            start: tail_start,
                        },
                        source: Source::Index,
                        entries: Vec::new(),
                        directory_offset: 0,
                        first_chunk: FIRST_CHUNK,
                        max_chunk: MAX_CHUNK,
                    }
                }
                200 => {
                    // The host ignored the range: it sent the whole file. Remember it.
                    cache.remember_host_refuses_ranges(&host).await?;
                    tracing::info!(
                        host,
                        "index host does not serve range requests; downloading whole wheels"
                    );
                    Self::from_spool(http, url, file, response)?
                }
                // A file shorter than the probe on a strict server.
                416 => Self::download_whole(http, url, file).await?,
                404 => {
                    return Err(IndexError::NotFound {
                        url: redact_url(&url),
                    });
                }
                status => {
                    return Err(IndexError::Unexpected {
                        url: redact_url(&url),
                        status,
                    });
                }
            }
        };
        wheel.read_central_directory().await?;
        Ok(wheel)
    }

    async fn download_whole(
        http: HttpClient,
        url: Url,
        file: &ProjectFile,
    ) -> Result<RemoteWheel, IndexError> {
        let response = http
            .get_spooled(&url, identity_headers(), MAX_WHOLE_WHEEL)
            .await?;
        if response.status.as_u16() != 200 {
            return Err(match response.status.as_u16() {
                404 => IndexError::NotFound {
                    url: redact_url(&url),
                },
                status => IndexError::Unexpected {
                    url: redact_url(&url),
                    status,
                },
            });
        }
        Self::from_spool(http, url, file, response)
    }

    /// A wheel downloaded whole into a temporary file: its tail is read into memory like a
    /// ranged host's, and everything else is read from the file.
    fn from_spool(
        http: HttpClient,
        url: Url,
        file: &ProjectFile,
        response: HttpResponse,
    ) -> Result<RemoteWheel, IndexError> {
        let (spool, file_len) = match response.spooled {
            Some(spooled) => (spooled.file, spooled.len),
            // Defensive: a body that stayed in memory is spooled here.
            None => {
                let mut spool = tempfile::tempfile().map_err(|e| spool_error(&url, e))?;
                spool
                    .write_all(&response.body)
                    .map_err(|e| spool_error(&url, e))?;
                (spool, response.body.len() as u64)
            }
        };
        let tail_start = file_len.saturating_sub(zipfile::TAIL_PROBE);
        let spool = Mutex::new(spool);
        let tail = read_at(&spool, tail_start, file_len).map_err(|e| spool_error(&url, e))?;
        Ok(RemoteWheel {
            http,
            url,
            filename: file.filename.clone(),
            file_len,
            tail: Tail {
                bytes: tail,
                start: tail_start,
            },
            source: Source::Spool(Arc::new(spool)),
            entries: Vec::new(),
            directory_offset: 0,
            first_chunk: FIRST_CHUNK,
            max_chunk: MAX_CHUNK,
        })
    }

    fn zip_error(&self, error: ZipError) -> IndexError {
        IndexError::BadResponse {
            url: redact_url(&self.url),
            message: format!("{} is not a readable zip: {error}", self.filename),
        }
    }

    async fn read_central_directory(&mut self) -> Result<(), IndexError> {
        let location = loop {
            let (tail, _) = self.tail();
            match zipfile::locate_central_directory(tail, self.file_len) {
                Ok(location) => break location,
                Err(ZipError::NeedMoreTail { from_end }) if from_end > tail.len() as u64 => {
                    self.extend_tail(self.file_len.saturating_sub(from_end))
                        .await?;
                }
                Err(error) => return Err(self.zip_error(error)),
            }
        };
        // What the end record claims is checked before anything is fetched for it: a hostile or
        // corrupt record could otherwise make a "directory" of most of the file.
        // An entry is 46 bytes and three fields of at most 64 KiB (name, extra, comment).
        let most = location
            .entries
            .saturating_mul(46 + 3 * 65_535)
            .min(MAX_DIRECTORY_BYTES);
        if location.size > most {
            return Err(self.zip_error(ZipError::Corrupt(format!(
                "its central directory claims {} bytes for {} entries, more than the {most} \
                 they can take",
                location.size, location.entries
            ))));
        }
        // The directory runs to the end records: between its end and the file's end lie at
        // most those records and a comment.
        let after_directory = self
            .file_len
            .saturating_sub(location.offset.saturating_add(location.size));
        if after_directory > zipfile::TAIL_PROBE {
            return Err(self.zip_error(ZipError::Corrupt(format!(
                "its central directory ({} bytes at offset {}) ends {after_directory} bytes before \
                 the end records",
                location.size, location.offset
            ))));
        }
        let (_, tail_start) = self.tail();
        if location.offset < tail_start {
            self.extend_tail(location.offset).await?;
        }
        let (tail, tail_start) = self.tail();
        let start = usize::try_from(location.offset - tail_start)
            .unwrap_or(usize::MAX)
            .min(tail.len());
        let entries = zipfile::parse_central_directory_at(&tail[start..], &location, MAX_ENTRIES);
        self.entries = entries.map_err(|e| self.zip_error(e))?;
        self.directory_offset = location.offset;
        // Members lie before the directory: the directory's bytes and the end records are not
        // read again, and a wheel stays open while it is judged (torch's directory is 2 MB).
        let members_held = usize::try_from(location.offset - tail_start).unwrap_or(usize::MAX);
        if members_held < self.tail.bytes.len() {
            self.tail.bytes.truncate(members_held);
            self.tail.bytes.shrink_to_fit();
        }
        self.http
            .note_needed(self.file_len.saturating_sub(location.offset));
        Ok(())
    }

    /// The bytes held from the end of the file, and where they start.
    fn tail(&self) -> (&[u8], u64) {
        (&self.tail.bytes, self.tail.start)
    }

    /// Fetch more of the file so the held tail starts at `new_start`.
    async fn extend_tail(&mut self, new_start: u64) -> Result<(), IndexError> {
        if new_start >= self.tail.start {
            return Ok(());
        }
        let mut front = self.fetch_range(new_start, self.tail.start).await?;
        front.extend_from_slice(&self.tail.bytes);
        self.tail = Tail {
            bytes: front,
            start: new_start,
        };
        Ok(())
    }

    /// Bytes `start..end` of the file.
    async fn fetch_range(&self, start: u64, end: u64) -> Result<Vec<u8>, IndexError> {
        if let Some(bytes) = self.held(start, end) {
            return Ok(bytes.to_vec());
        }
        match &self.source {
            Source::Index => get_range(&self.http, &self.url, start, end).await,
            Source::Spool(spool) => {
                read_at(spool, start, end).map_err(|e| spool_error(&self.url, e))
            }
        }
    }

    /// `start..end` if already held.
    fn held(&self, start: u64, end: u64) -> Option<&[u8]> {
        let (bytes, offset) = self.tail();
        if start < offset || end > offset + bytes.len() as u64 {
            return None;
        }
        bytes.get((start - offset) as usize..(end - offset) as usize)
    }

    pub fn filename(&self) -> &str {
        &self.filename
    }

    pub fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    /// Set the sizes of the range requests member reads make: `first` for a member's first
    /// request, doubling on each further one up to `max` (defaults: 1 MiB and 8 MiB). A read holds
    /// at most two requests' bodies in memory (one being read, the next arriving). Smaller sizes
    /// waste less when a reader stops early, at the price of more requests.
    pub fn set_read_chunks(&mut self, first: u64, max: u64) {
        self.first_chunk = first.max(1);
        self.max_chunk = max.max(self.first_chunk);
    }

    /// The compressed bytes of one member, held whole: for small members only (at most 64 MiB
    /// compressed); stream anything else with [`read_member`](Self::read_member).
    pub async fn compressed_member(&self, entry: &ZipEntry) -> Result<Vec<u8>, IndexError> {
        if entry.compressed_size > MAX_BUFFERED_MEMBER {
            return Err(IndexError::TooLarge {
                url: redact_url(&self.url),
                limit: MAX_BUFFERED_MEMBER,
            });
        }
        let range = zipfile::member_fetch_range(entry, self.directory_offset);
        let mut bytes = self.fetch_range(range.start, range.end).await?;
        let data = match zipfile::member_data_from_header(&bytes, entry) {
            Err(ZipError::Truncated { needed, .. })
                if range.start.saturating_add(needed) <= self.directory_offset =>
            {
                // The local header's extra field is longer than the allowance.
                let more = self.fetch_range(range.end, range.start + needed).await?;
                bytes.extend_from_slice(&more);
                zipfile::member_data_from_header(&bytes, entry)
            }
            other => other,
        };
        data.map(<[u8]>::to_vec).map_err(|e| self.zip_error(e))
    }

    /// Small members whole, decompressed (each at most `max_output` bytes), with as few
    /// requests as their places in the file allow: members close to each other (gaps under
    /// [`SPAN_GAP`]) come in one range request of at most [`MAX_SPAN`] bytes, so a package's
    /// hundred `.py` modules cost a few requests, not a hundred. Each member goes to `sink` as
    /// its request completes, in file order. A member that cannot be read (corrupt, larger than
    /// `max_output`) gives its error in its place; the index failing fails the whole read.
    pub async fn read_small_members(
        &self,
        entries: &[&ZipEntry],
        max_output: u64,
        mut sink: impl AsyncFnMut(String, Result<Vec<u8>, IndexError>),
    ) -> Result<(), IndexError> {
        let mut ordered: Vec<&ZipEntry> = entries.to_vec();
        ordered.sort_by_key(|entry| entry.local_header_offset);
        let mut spans: Vec<(Range<u64>, Vec<&ZipEntry>)> = Vec::new();
        for entry in ordered {
            let range = zipfile::member_fetch_range(entry, self.directory_offset);
            match spans.last_mut() {
                Some((span, members))
                    if range.start <= span.end.saturating_add(SPAN_GAP)
                        && range.end.saturating_sub(span.start) <= MAX_SPAN =>
                {
                    span.end = span.end.max(range.end);
                    members.push(entry);
                }
                _ => spans.push((range, vec![entry])),
            }
        }
        // A few spans in flight, each handed on as it comes: a package with thousands of
        // modules is never held whole. Their bodies count against the run's body budget, as
        // member reads' chunks do, and wait for it only while this read holds none.
        let mut queued = spans.iter().peekable();
        let mut in_flight = VecDeque::with_capacity(SPANS_IN_FLIGHT);
        loop {
            while in_flight.len() < SPANS_IN_FLIGHT
                && let Some((span, members)) = queued.peek()
            {
                let Some(pending) = self
                    .request(span.start, span.end, in_flight.is_empty())
                    .await
                else {
                    break;
                };
                in_flight.push_back((span.start, members, pending));
                queued.next();
            }
            let Some((start, members, pending)) = in_flight.pop_front() else {
                break;
            };
            let (bytes, _reservation) = self.resolve(pending).await?;
            for entry in members.iter() {
                self.http.note_needed(local_member_len(entry));
                let at = usize::try_from(entry.local_header_offset - start).unwrap_or(usize::MAX);
                let member = match bytes.get(at..) {
                    Some(from_header) => match zipfile::member_data_from_header(from_header, entry)
                    {
                        Ok(data) => Ok(data.to_vec()),
                        // A local extra field longer than the allowance: fetch it alone.
                        Err(ZipError::Truncated { .. }) => self.compressed_member(entry).await,
                        Err(error) => Err(self.zip_error(error)),
                    },
                    None => self.compressed_member(entry).await,
                };
                let inflated = member.and_then(|data| {
                    let mut out = Vec::new();
                    zipfile::inflate_member(entry, &data, max_output, |chunk| {
                        out.extend_from_slice(chunk);
                        ControlFlow::Continue(())
                    })
                    .map_err(|error| self.zip_error(error))?;
                    Ok(out)
                });
                sink(entry.name.clone(), inflated).await;
            }
        }
        Ok(())
    }

    /// Stream one member's decompressed bytes into `sink`, in chunks of at most 64 KiB, until the
    /// member ends (`Ok(true)`, CRC-32 checked) or `sink` returns Break (`Ok(false)`: nothing more
    /// is fetched). Output past `max_output` bytes fails (see [`MemberInflater`]).
    ///
    /// On a ranged host the member is fetched in range requests that start at
    /// [`set_read_chunks`](Self::set_read_chunks)' first size and double up to its maximum, at
    /// most two at a time, so memory stays bounded (two chunks) whatever the member's size. Bytes
    /// already held (the fetched tail, or the whole file) need no request.
    pub async fn read_member(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, IndexError> {
        let unknown = AtomicU64::new(u64::MAX);
        self.read_member_wanting(entry, max_output, &unknown, sink)
            .await
    }

    /// [`read_member`](Self::read_member), told by `wanted` how much of the output the reader
    /// will take (`u64::MAX` while it does not know): requests are sized so as not to run far
    /// past the compressed bytes that much output needs, estimated from the compression ratio
    /// so far.
    pub async fn read_member_wanting(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        wanted: &AtomicU64,
        mut sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, IndexError> {
        let mut inflater = MemberInflater::new(entry, max_output).map_err(|e| self.zip_error(e))?;
        self.stream_member(entry, &mut inflater, wanted, &mut sink)
            .await?;
        inflater.finish().map_err(|e| self.zip_error(e))
    }

    /// Fetch `entry` from its local header on, chunk by chunk, pushing its data into `inflater`
    /// until the inflater wants no more or the member's bytes run out.
    ///
    /// The request for the next chunk is in flight while the current one is read and
    /// decompressed ([`PIPELINE_DEPTH`] at a time), so large members stream without a round trip
    /// between chunks; when the inflater stops early, requests still in flight are dropped.
    async fn stream_member(
        &self,
        entry: &ZipEntry,
        inflater: &mut MemberInflater,
        wanted: &AtomicU64,
        sink: &mut impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<(), IndexError> {
        let start = entry.local_header_offset;
        // Until the local header is read, the member may end anywhere up to the allowance for
        // its extra field; afterwards, exactly where its data ends.
        let mut end = zipfile::member_fetch_range(entry, self.directory_offset).end;
        // Bytes from the local header on, kept only while the header is incomplete (rare: a
        // fetch that ends inside it).
        let mut head: Option<Vec<u8>> = Some(Vec::new());
        // Where the next request starts, and its size.
        let mut next = start;
        let mut chunk = self.first_chunk;
        let mut in_flight = VecDeque::with_capacity(PIPELINE_DEPTH);
        // The first chunk goes alone: most reads that stop early stop inside it, and a second
        // request sent beside it would be paid for in full. Once the reader asks for more, the
        // next request is always in flight while the current chunk is read.
        let mut depth = 1;
        loop {
            // Once the header is read and the reader knows how much output it wants, the data
            // that output needs ends about here (with an eighth and 64 KiB to spare).
            let needed_end = (head.is_none() && inflater.written() > 0)
                .then(|| wanted.load(Ordering::Relaxed))
                .filter(|&limit| limit != u64::MAX)
                .map(|limit| {
                    let written = inflater.written();
                    let consumed = entry.compressed_size - inflater.compressed_remaining();
                    let more =
                        limit.saturating_sub(written) as f64 * consumed as f64 / written as f64;
                    let data_start = end - entry.compressed_size;
                    let margin = (more / 8.0) as u64 + 64 * 1024;
                    data_start
                        .saturating_add(consumed)
                        .saturating_add(more as u64)
                        .saturating_add(margin)
                        .min(end)
                });
            while in_flight.len() < depth && next < end {
                if let Some(needed_end) = needed_end
                    && next >= needed_end
                    && !in_flight.is_empty()
                {
                    break;
                }
                let mut want = next.saturating_add(chunk);
                if let Some(needed_end) = needed_end {
                    want = want.min(needed_end.max(next + 64 * 1024));
                }
                // A last piece of at most an eighth of a chunk comes with this one rather than
                // a round trip later.
                if end.saturating_sub(want) <= chunk / 8 {
                    want = end;
                }
                let stop = self.chunk_end(next, want.min(end));
                // Wait for memory only while holding none; with a request already in flight,
                // read ahead only if the budget allows it now.
                let Some(pending) = self.request(next, stop, in_flight.is_empty()).await else {
                    break;
                };
                in_flight.push_back(pending);
                next = stop;
                chunk = chunk.saturating_mul(2).min(self.max_chunk);
            }
            let Some(pending) = in_flight.pop_front() else {
                break;
            };
            // The chunk's reservation lives as long as its bytes: to the end of this turn.
            let (bytes, _reservation) = self.resolve(pending).await?;
            let progress = if let Some(mut earlier) = head.take() {
                let buffered = if earlier.is_empty() {
                    bytes
                } else {
                    earlier.extend_from_slice(&bytes);
                    Cow::Owned(earlier)
                };
                let header_len = match zipfile::local_header_len(&buffered) {
                    Ok(len) => len,
                    Err(ZipError::Truncated { .. }) if next < end || !in_flight.is_empty() => {
                        head = Some(buffered.into_owned());
                        continue;
                    }
                    Err(error) => return Err(self.zip_error(error)),
                };
                end = start
                    .checked_add(header_len)
                    .and_then(|data_start| data_start.checked_add(entry.compressed_size))
                    .filter(|&data_end| data_end <= self.directory_offset)
                    .ok_or_else(|| {
                        self.zip_error(ZipError::Corrupt(format!(
                            "member {:?} runs past the central directory",
                            entry.name
                        )))
                    })?;
                let Some(data) = usize::try_from(header_len)
                    .ok()
                    .and_then(|at| buffered.get(at..))
                else {
                    // The extra field is longer than the allowance: fetch the rest of it.
                    head = Some(buffered.into_owned());
                    continue;
                };
                super::http::off_the_runtime(|| inflater.push(data, sink)).await
            } else {
                super::http::off_the_runtime(|| inflater.push(&bytes, sink)).await
            };
            if progress.map_err(|e| self.zip_error(e))? != Progress::NeedMore {
                break;
            }
            depth = PIPELINE_DEPTH;
        }
        if head.is_none() {
            let data_start = end - entry.compressed_size;
            let consumed = entry.compressed_size - inflater.compressed_remaining();
            self.http.note_needed(data_start - start + consumed);
        }
        Ok(())
    }

    /// A request for bytes `start..end`: at hand if held, read from the spooled file, or a
    /// range request started as a task of its own with its share of the body budget. The share
    /// is waited for only when `may_wait` (the reader holds no other share, so nobody waits while
    /// holding what another waits for); otherwise None when the budget has no room now.
    async fn request(&self, start: u64, end: u64, may_wait: bool) -> Option<Pending> {
        if self.held(start, end).is_some() {
            return Some(Pending::Held { start, end });
        }
        match &self.source {
            Source::Index => {
                let reservation = if may_wait {
                    self.http.reserve_body(end - start).await
                } else {
                    self.http.try_reserve_body(end - start)?
                };
                let (http, url) = (self.http.clone(), self.url.clone());
                Some(Pending::Fetching {
                    task: tokio::spawn(async move { get_range(&http, &url, start, end).await }),
                    reservation: Some(reservation),
                })
            }
            // A local read: no reason to overlap it with anything.
            Source::Spool(spool) => Some(Pending::Read(
                read_at(spool, start, end).map_err(|e| spool_error(&self.url, e)),
            )),
        }
    }

    /// Where a read from `pos` should stop so that it ends at `want` or, if the held tail starts
    /// in between, where the tail starts: the rest is at hand.
    fn chunk_end(&self, pos: u64, want: u64) -> u64 {
        if pos < self.tail.start && want > self.tail.start {
            self.tail.start
        } else {
            want
        }
    }

    /// A chunk's bytes: borrowed if held, else once its request has finished.
    async fn resolve(
        &self,
        mut pending: Pending,
    ) -> Result<(Cow<'_, [u8]>, Option<BodyReservation>), IndexError> {
        match &mut pending {
            Pending::Held { start, end } => {
                let bytes = self
                    .held(*start, *end)
                    .ok_or_else(|| IndexError::BadResponse {
                        url: redact_url(&self.url),
                        message: format!("{}: bytes {start}..{end} are not held", self.filename),
                    })?;
                Ok((Cow::Borrowed(bytes), None))
            }
            Pending::Read(read) => {
                std::mem::replace(read, Ok(Vec::new())).map(|bytes| (Cow::Owned(bytes), None))
            }
            Pending::Fetching { task, reservation } => {
                let fetched = match task.await {
                    Ok(fetched) => fetched?,
                    Err(error) => {
                        return Err(IndexError::BadResponse {
                            url: redact_url(&self.url),
                            message: format!("range request did not finish: {error}"),
                        });
                    }
                };
                Ok((Cow::Owned(fetched), reservation.take()))
            }
        }
    }

    /// The `{name}-{version}.dist-info/METADATA` entry, if there is one.
    fn metadata_entry(&self) -> Option<&ZipEntry> {
        self.entries
            .iter()
            .filter(|entry| {
                let mut parts = entry.name.split('/');
                matches!((parts.next(), parts.next(), parts.next()), (Some(dir), Some("METADATA"), None) if dir.ends_with(".dist-info"))
            })
            .min_by_key(|entry| entry.name.len())
    }

    /// Whether the METADATA member lies in the bytes already held, so that
    /// [`read_metadata`](Self::read_metadata) makes no request. Wheels put `.dist-info` last,
    /// so the tail read for the central directory usually holds it.
    pub fn holds_metadata(&self) -> bool {
        self.metadata_entry().is_some_and(|entry| {
            let range = zipfile::member_fetch_range(entry, self.directory_offset);
            self.held(range.start, range.end).is_some()
        })
    }

    /// The `{name}-{version}.dist-info/METADATA` member as text.
    pub async fn read_metadata(&self) -> Result<String, IndexError> {
        let entry = self
            .metadata_entry()
            .ok_or_else(|| IndexError::BadResponse {
                url: redact_url(&self.url),
                message: format!("{} has no .dist-info/METADATA member", self.filename),
            })?
            .clone();
        let mut text = Vec::new();
        self.read_member(&entry, MAX_METADATA_BYTES, |chunk| {
            text.extend_from_slice(chunk);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

/// Bytes `start..end` of the file at `url`, by one range request.
async fn get_range(
    http: &HttpClient,
    url: &Url,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, IndexError> {
    let mut headers = identity_headers();
    headers.insert(
        RANGE,
        header_value(&format!("bytes={}-{}", start, end.saturating_sub(1))),
    );
    let response = http.get(url, headers, end - start + 1).await?;
    match response.status.as_u16() {
        206 if response.body.len() as u64 == end - start => Ok(response.body),
        206 => Err(IndexError::BadResponse {
            url: redact_url(url),
            message: format!(
                "asked for {} bytes at offset {start}, got {}",
                end - start,
                response.body.len()
            ),
        }),
        status => Err(IndexError::Unexpected {
            url: redact_url(url),
            status,
        }),
    }
}

/// Bytes `start..end` of a spooled download.
fn read_at(file: &Mutex<File>, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX)];
    let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn spool_error(url: &Url, error: std::io::Error) -> IndexError {
    IndexError::BadResponse {
        url: redact_url(url),
        message: format!("reading the downloaded wheel back failed: {error}"),
    }
}

/// One chunk of a member read, either at hand or being fetched.
enum Pending {
    /// Inside the held bytes.
    Held { start: u64, end: u64 },
    /// Read from the spooled file.
    Read(Result<Vec<u8>, IndexError>),
    /// A range request running as a task of its own, so that it downloads while earlier chunks
    /// are decompressed; dropping it (when the reader stopped early) cancels the request and
    /// gives its share of the body budget back.
    Fetching {
        task: tokio::task::JoinHandle<Result<Vec<u8>, IndexError>>,
        reservation: Option<BodyReservation>,
    },
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Pending::Fetching { task, .. } = self {
            task.abort();
        }
    }
}

/// A member's bytes from its local header to the end of its data, its extra field taken as
/// empty (what the local header's fixed part and name need at least).
fn local_member_len(entry: &ZipEntry) -> u64 {
    30 + entry.name.len() as u64 + entry.compressed_size
}

/// Compression would break byte offsets.
fn identity_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("range headers are ASCII")
}

/// The total length from `Content-Range: bytes a-b/total`.
fn content_range_total(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    value.rsplit_once('/')?.1.trim().parse().ok()
}

impl ArchiveMembers for RemoteWheel {
    type Error = IndexError;

    fn filename(&self) -> &str {
        RemoteWheel::filename(self)
    }

    fn entries(&self) -> &[ZipEntry] {
        RemoteWheel::entries(self)
    }

    async fn read_member(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, IndexError> {
        RemoteWheel::read_member(self, entry, max_output, sink).await
    }

    async fn read_member_wanting(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        wanted: &AtomicU64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, IndexError> {
        RemoteWheel::read_member_wanting(self, entry, max_output, wanted, sink).await
    }

    async fn read_small_members(
        &self,
        entries: &[&ZipEntry],
        max_output: u64,
        sink: impl AsyncFnMut(String, Result<Vec<u8>, IndexError>),
    ) -> Result<(), IndexError> {
        RemoteWheel::read_small_members(self, entries, max_output, sink).await
    }
}
