//! A wheel on the index read member by member: the zip's central directory from the tail with
//! one range request, then only the members asked for. Hosts that ignore `Range` get the whole
//! file once, and are remembered.

use std::ops::ControlFlow;

use reqwest::Url;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};

use super::cache::Cache;
use super::redact::redact_url;
use super::simple::ProjectFile;
use super::{HttpClient, IndexError, MAX_METADATA_BYTES};
use crate::zipfile::{self, ZipEntry, ZipError};

/// Largest wheel downloaded whole when ranges are refused; larger ones are judged unknown.
const MAX_WHOLE_WHEEL: u64 = 1024 * 1024 * 1024;
/// More entries than any real wheel has (torch has ~15k).
const MAX_ENTRIES: usize = 200_000;

enum Body {
    /// The last bytes of the file; `tail_start` is their offset in the file.
    Ranged { tail: Vec<u8>, tail_start: u64 },
    Whole(Vec<u8>),
}

pub struct RemoteWheel {
    http: HttpClient,
    url: Url,
    filename: String,
    file_len: u64,
    body: Body,
    entries: Vec<ZipEntry>,
}

impl RemoteWheel {
    pub(super) async fn open(http: HttpClient, cache: Cache, url: Url, file: &ProjectFile) -> Result<RemoteWheel, IndexError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let refuses_ranges = cache.host_refuses_ranges(&host).await?;
        let mut wheel = if refuses_ranges {
            Self::download_whole(http, url, file).await?
        } else {
            let mut headers = identity_headers();
            headers.insert(RANGE, header_value(&format!("bytes=-{}", zipfile::TAIL_PROBE)));
            let response = http.get(&url, headers, MAX_WHOLE_WHEEL).await?;
            match response.status.as_u16() {
                206 => {
                    let file_len = content_range_total(&response.headers).ok_or_else(|| IndexError::BadResponse {
                        url: redact_url(&url),
                        message: "206 response without a usable Content-Range".into(),
                    })?;
                    let tail_start = file_len.saturating_sub(response.body.len() as u64);
                    RemoteWheel {
                        http,
                        url,
                        filename: file.filename.clone(),
                        file_len,
                        body: Body::Ranged {
                            tail: response.body,
                            tail_start,
                        },
                        entries: Vec::new(),
                    }
                }
                200 => {
                    // The host ignored the range: it sent the whole file. Remember it.
                    cache.remember_host_refuses_ranges(&host).await?;
                    tracing::info!(host, "index host does not serve range requests; downloading whole wheels");
                    RemoteWheel {
                        http,
                        url,
                        filename: file.filename.clone(),
                        file_len: response.body.len() as u64,
                        body: Body::Whole(response.body),
                        entries: Vec::new(),
                    }
                }
                // A file shorter than the probe on a strict server.
                416 => Self::download_whole(http, url, file).await?,
                404 => return Err(IndexError::NotFound { url: redact_url(&url) }),
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

    async fn download_whole(http: HttpClient, url: Url, file: &ProjectFile) -> Result<RemoteWheel, IndexError> {
        let response = http.get(&url, identity_headers(), MAX_WHOLE_WHEEL).await?;
        if response.status.as_u16() != 200 {
            return Err(match response.status.as_u16() {
                404 => IndexError::NotFound { url: redact_url(&url) },
                status => IndexError::Unexpected {
                    url: redact_url(&url),
                    status,
                },
            });
        }
        Ok(RemoteWheel {
            http,
            url,
            filename: file.filename.clone(),
            file_len: response.body.len() as u64,
            body: Body::Whole(response.body),
            entries: Vec::new(),
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
                Err(ZipError::NeedMoreTail { from_end }) if self.is_ranged() && from_end > tail.len() as u64 => {
                    self.extend_tail(self.file_len.saturating_sub(from_end)).await?;
                }
                Err(error) => return Err(self.zip_error(error)),
            }
        };
        let (_, tail_start) = self.tail();
        if location.offset < tail_start {
            self.extend_tail(location.offset).await?;
        }
        let (tail, tail_start) = self.tail();
        let start = usize::try_from(location.offset - tail_start).unwrap_or(usize::MAX).min(tail.len());
        let entries = zipfile::parse_central_directory_at(&tail[start..], &location, MAX_ENTRIES);
        self.entries = entries.map_err(|e| self.zip_error(e))?;
        Ok(())
    }

    fn is_ranged(&self) -> bool {
        matches!(self.body, Body::Ranged { .. })
    }

    /// The bytes held from the end of the file, and where they start.
    fn tail(&self) -> (&[u8], u64) {
        match &self.body {
            Body::Ranged { tail, tail_start } => (tail, *tail_start),
            Body::Whole(bytes) => (bytes, 0),
        }
    }

    /// Fetch more of the file so the held tail starts at `new_start`.
    async fn extend_tail(&mut self, new_start: u64) -> Result<(), IndexError> {
        let Body::Ranged { tail, tail_start } = &self.body else {
            return Ok(());
        };
        if new_start >= *tail_start {
            return Ok(());
        }
        let mut front = self.fetch_range(new_start, *tail_start).await?;
        front.extend_from_slice(tail);
        self.body = Body::Ranged {
            tail: front,
            tail_start: new_start,
        };
        Ok(())
    }

    /// Bytes `start..end` of the file.
    async fn fetch_range(&self, start: u64, end: u64) -> Result<Vec<u8>, IndexError> {
        if let Some(bytes) = self.held(start, end) {
            return Ok(bytes.to_vec());
        }
        let mut headers = identity_headers();
        headers.insert(RANGE, header_value(&format!("bytes={}-{}", start, end.saturating_sub(1))));
        let response = self.http.get(&self.url, headers, end - start + 1).await?;
        match response.status.as_u16() {
            206 if response.body.len() as u64 == end - start => Ok(response.body),
            206 => Err(IndexError::BadResponse {
                url: redact_url(&self.url),
                message: format!(
                    "asked for {} bytes at offset {start}, got {}",
                    end - start,
                    response.body.len()
                ),
            }),
            status => Err(IndexError::Unexpected {
                url: redact_url(&self.url),
                status,
            }),
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

    /// The compressed bytes of one member.
    pub async fn compressed_member(&self, entry: &ZipEntry) -> Result<Vec<u8>, IndexError> {
        if let Body::Whole(bytes) = &self.body {
            return zipfile::member_data(bytes, entry)
                .map(<[u8]>::to_vec)
                .map_err(|e| self.zip_error(e));
        }
        // Guess the local header's extra field; fetch again if it is longer.
        let guess = 30 + entry.name.len() as u64 + 256;
        let start = entry.local_header_offset;
        let end = start.saturating_add(guess).saturating_add(entry.compressed_size).min(self.file_len);
        let mut bytes = self.fetch_range(start, end).await?;
        let header_len = zipfile::local_header_len(&bytes).map_err(|e| self.zip_error(e))?;
        let data_end = header_len.saturating_add(entry.compressed_size);
        if data_end > bytes.len() as u64 {
            if start.saturating_add(data_end) > self.file_len {
                return Err(self.zip_error(ZipError::Corrupt(format!("member {} runs past the end of the file", entry.name))));
            }
            let more = self.fetch_range(start + bytes.len() as u64, start + data_end).await?;
            bytes.extend_from_slice(&more);
        }
        Ok(bytes[header_len as usize..data_end as usize].to_vec())
    }

    /// Stream one member's decompressed bytes into `sink` (see [`zipfile::inflate_member`]).
    pub async fn read_member(
        &self,
        entry: &ZipEntry,
        max_output: u64,
        sink: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<bool, IndexError> {
        let compressed = self.compressed_member(entry).await?;
        zipfile::inflate_member(entry, &compressed, max_output, sink).map_err(|e| self.zip_error(e))
    }

    /// The `{name}-{version}.dist-info/METADATA` member as text.
    pub async fn read_metadata(&self) -> Result<String, IndexError> {
        let entry = self
            .entries
            .iter()
            .filter(|entry| {
                let mut parts = entry.name.split('/');
                matches!((parts.next(), parts.next(), parts.next()), (Some(dir), Some("METADATA"), None) if dir.ends_with(".dist-info"))
            })
            .min_by_key(|entry| entry.name.len())
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
