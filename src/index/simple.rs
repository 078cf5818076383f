//! The Simple repository API: project pages in their JSON (PEP 691) and HTML (PEP 503) forms,
//! parsed into one file list.

use reqwest::Url;
use serde::{Deserialize, Serialize};

pub const JSON_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// Prefer JSON, accept HTML, as pip and uv ask.
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One distribution file listed on a project page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFile {
    pub filename: String,
    /// Absolute URL (relative links are resolved against the page).
    pub url: String,
    /// Lowercase hex sha256, when the index gives it.
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    /// `Some(reason)` (possibly empty) when yanked.
    pub yanked: Option<String>,
    /// Whether the index says a `.metadata` file exists (PEP 658/714).
    pub core_metadata: CoreMetadata,
}

impl ProjectFile {
    /// When the file was uploaded, as a time: the index gives an RFC 3339 string (PEP 700), and
    /// locks write it their own way (`2025-11-03T09:25:26.604Z`, TOML's `2025-11-03 09:25:26Z`,
    /// an offset instead of `Z`), so strings are never compared. `None` when absent or unreadable.
    pub fn uploaded(&self) -> Option<time::OffsetDateTime> {
        let text = self.upload_time.as_deref()?.trim();
        let rfc3339 = match text.as_bytes().get(10) {
            Some(b' ') => format!("{}T{}", &text[..10], &text[11..]),
            _ => text.to_string(),
        };
        time::OffsetDateTime::parse(&rfc3339, &time::format_description::well_known::Rfc3339).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoreMetadata {
    Available,
    Absent,
    /// The page did not say (older indexes, mirrors that drop the field): worth trying.
    NotStated,
}

#[derive(Debug, thiserror::Error)]
pub enum SimpleError {
    #[error("invalid JSON project page: {0}")]
    Json(String),
    #[error("the page is neither Simple API JSON nor HTML (content type `{0}`)")]
    ContentType(String),
    #[error("invalid HTML project page: {0}")]
    Html(&'static str),
}

#[derive(Deserialize)]
struct WirePage {
    #[serde(default)]
    files: Vec<WireFile>,
}

#[derive(Deserialize)]
struct WireFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    size: Option<u64>,
    #[serde(rename = "upload-time")]
    upload_time: Option<String>,
    #[serde(default)]
    yanked: WireFlag,
    #[serde(rename = "core-metadata", default)]
    core_metadata: WireFlag,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: WireFlag,
}

/// PEP 691 fields that are `false`, `true`, a string, or a dict of hashes.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum WireFlag {
    #[default]
    Missing,
    Bool(bool),
    Text(String),
    /// A dict of hashes (PEP 714) or anything else that says "present".
    Other(serde::de::IgnoredAny),
}

/// Parse a project page body; `content_type` chooses the form.
pub fn parse_project_page(
    body: &[u8],
    content_type: &str,
    page_url: &Url,
) -> Result<Vec<ProjectFile>, SimpleError> {
    let content_type = content_type.to_ascii_lowercase();
    if content_type.contains("json") {
        parse_json(body, page_url)
    } else if content_type.contains("html") || content_type.is_empty() {
        parse_html(&String::from_utf8_lossy(body), page_url)
    } else {
        Err(SimpleError::ContentType(content_type))
    }
}

fn parse_json(body: &[u8], page_url: &Url) -> Result<Vec<ProjectFile>, SimpleError> {
    let page: WirePage =
        serde_json::from_slice(body).map_err(|error| SimpleError::Json(error.to_string()))?;
    Ok(page
        .files
        .into_iter()
        .filter_map(|file| {
            let url = page_url.join(&file.url).ok()?;
            let core_metadata = match (&file.core_metadata, &file.dist_info_metadata) {
                (WireFlag::Missing, WireFlag::Missing) => CoreMetadata::NotStated,
                (WireFlag::Bool(false), _) | (WireFlag::Missing, WireFlag::Bool(false)) => {
                    CoreMetadata::Absent
                }
                _ => CoreMetadata::Available,
            };
            let yanked = match file.yanked {
                WireFlag::Bool(true) => Some(String::new()),
                WireFlag::Text(reason) => Some(reason),
                _ => None,
            };
            Some(ProjectFile {
                sha256: file.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                filename: file.filename,
                url: strip_fragment(url),
                requires_python: file.requires_python.filter(|r| !r.trim().is_empty()),
                size: file.size,
                upload_time: file.upload_time,
                yanked,
                core_metadata,
            })
        })
        .collect())
}

fn strip_fragment(mut url: Url) -> String {
    url.set_fragment(None);
    url.to_string()
}

/// PEP 503 pages, read with an HTML parser (`tl`, as uv does): quoting varies, attributes hold
/// entities (`&amp;` in a private index's query string), comments hold links that are not
/// files. Forgiving is not credulous: a body without a single tag is not an HTML page, and one
/// that ends inside a tag or a link was cut short — either would otherwise read as a project
/// without files.
fn parse_html(html: &str, page_url: &Url) -> Result<Vec<ProjectFile>, SimpleError> {
    if find_tag(html).is_none() {
        return Err(SimpleError::Html("no HTML tags in it"));
    }
    check_complete(html)?;
    let dom = tl::parse(html, tl::ParserOptions::default())
        .map_err(|_| SimpleError::Html("it does not parse"))?;
    let parser = dom.parser();
    let tags = |selector: &str| -> Vec<&tl::HTMLTag> {
        dom.query_selector(selector)
            .into_iter()
            .flatten()
            .filter_map(|handle| handle.get(parser)?.as_tag())
            .collect()
    };
    // A `<base href>` changes what relative links resolve against.
    let base = tags("base")
        .first()
        .and_then(|tag| attribute(tag, "href"))
        .and_then(|href| page_url.join(&href).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut files = Vec::new();
    for tag in tags("a") {
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let Ok(url) = base.join(&href) else { continue };
        let text = decode(tag.inner_text(parser).trim());
        let filename = if text.is_empty() {
            url.path_segments()
                .and_then(|mut segments| segments.next_back())
                .unwrap_or_default()
                .to_string()
        } else {
            text
        };
        let sha256 = url
            .fragment()
            .and_then(|fragment| fragment.strip_prefix("sha256="))
            .map(str::to_ascii_lowercase);
        let metadata_flag = attribute(tag, "data-core-metadata")
            .or_else(|| attribute(tag, "data-dist-info-metadata"));
        let core_metadata = match metadata_flag.as_deref() {
            None => CoreMetadata::NotStated,
            Some("false") => CoreMetadata::Absent,
            Some(_) => CoreMetadata::Available,
        };
        files.push(ProjectFile {
            filename,
            url: strip_fragment(url),
            sha256,
            requires_python: attribute(tag, "data-requires-python")
                .filter(|r| !r.trim().is_empty()),
            size: None,
            // Not in PEP 503, but some mirrors add it; it feeds the upload-date prior.
            upload_time: attribute(tag, "data-upload-time"),
            yanked: attribute(tag, "data-yanked"),
            core_metadata,
        });
    }
    Ok(files)
}

/// An attribute's value with its character references decoded; a bare attribute is empty.
fn attribute(tag: &tl::HTMLTag, name: &str) -> Option<String> {
    tag.attributes()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.map(|value| decode(&value)).unwrap_or_default())
}

fn decode(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

fn find_tag(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b'<' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()))
}

/// A page cut short ends inside a tag (its last `<` is never closed) or inside a link (its
/// last `<a` has no `</a` after it); a parser would read either as a shorter page.
fn check_complete(html: &str) -> Result<(), SimpleError> {
    let lower = html.to_ascii_lowercase();
    if let Some(last) = lower.rfind('<')
        && !lower[last..].contains('>')
    {
        return Err(SimpleError::Html("it ends inside a tag (cut short?)"));
    }
    let last_link = lower
        .match_indices("<a")
        .filter(|(at, _)| {
            lower[at + 2..]
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '>')
        })
        .map(|(at, _)| at)
        .last();
    if let Some(at) = last_link
        && !lower[at..].contains("</a")
    {
        return Err(SimpleError::Html("it ends inside a link (cut short?)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_times_are_read_as_times_not_strings() {
        let file = |time: &str| ProjectFile {
            filename: "a-1.0-py3-none-any.whl".into(),
            url: "https://example.org/a-1.0-py3-none-any.whl".into(),
            sha256: None,
            requires_python: None,
            size: None,
            upload_time: Some(time.into()),
            yanked: None,
            core_metadata: CoreMetadata::Absent,
        };
        let at = |time: &str| file(time).uploaded().map(|t| t.unix_timestamp());
        assert_eq!(at("2025-11-03T09:25:26.604Z"), Some(1_762_161_926));
        assert_eq!(at("2025-11-03 09:25:26Z"), Some(1_762_161_926));
        assert_eq!(at("2025-11-03T10:25:26+01:00"), Some(1_762_161_926));
        assert_eq!(at("last tuesday"), None);
        // As strings, "2024-03-30T01:00:00+02:00" sorts after "2024-03-30"; as a time it is the
        // evening of the 29th in UTC, before NumPy 2.0's first release candidate.
        let early = file("2024-03-30T01:00:00+02:00").uploaded().unwrap();
        assert!(early < time::macros::datetime!(2024-03-30 00:00 UTC));
    }

    fn page_url() -> Url {
        Url::parse("https://example.org/simple/bottleneck/").unwrap()
    }

    #[test]
    fn json_page_with_relative_urls_and_metadata_flags() {
        let body = br#"{"meta":{"api-version":"1.1"},"name":"bottleneck","files":[
          {"filename":"Bottleneck-1.3.7-cp311-cp311-manylinux_2_17_x86_64.whl","url":"../../files/b.whl#sha256=AB",
           "hashes":{"sha256":"ABCD"},"requires-python":">=3.9","size":10,"upload-time":"2023-02-09T00:00:00Z",
           "yanked":false,"core-metadata":{"sha256":"ef"}},
          {"filename":"Bottleneck-1.3.7.tar.gz","url":"https://files.example/b.tar.gz","hashes":{},"yanked":"broken","core-metadata":false},
          {"filename":"Bottleneck-1.3.6.tar.gz","url":"b.tar.gz","hashes":{},"requires-python":""}
        ]}"#;
        let files = parse_project_page(body, JSON_CONTENT_TYPE, &page_url()).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].url, "https://example.org/files/b.whl");
        assert_eq!(files[0].sha256.as_deref(), Some("abcd"));
        assert_eq!(files[0].core_metadata, CoreMetadata::Available);
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(files[1].yanked.as_deref(), Some("broken"));
        assert_eq!(files[1].core_metadata, CoreMetadata::Absent);
        assert_eq!(files[2].core_metadata, CoreMetadata::NotStated);
        assert_eq!(files[2].requires_python, None);
    }

    #[test]
    fn html_page_as_pypi_and_mirrors_write_it() {
        let body = br#"<!DOCTYPE html><html><body><h1>Links for bottleneck</h1>
<a href="../../files/Bottleneck-1.4.0-cp311-cp311-win_amd64.whl#sha256=ABC" data-requires-python="&gt;=3.9" data-core-metadata="sha256=1">Bottleneck-1.4.0-cp311-cp311-win_amd64.whl</a><br/>
<a href='https://x.example/Bottleneck-1.3.7.tar.gz' data-yanked="" data-upload-time="2023-02-09T09:20:00Z">Bottleneck-1.3.7.tar.gz</a>
<a href=plain.whl data-dist-info-metadata=false>plain.whl</a>
</body></html>"#;
        let files = parse_project_page(body, "text/html; charset=utf-8", &page_url()).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[0].filename,
            "Bottleneck-1.4.0-cp311-cp311-win_amd64.whl"
        );
        assert_eq!(
            files[0].url,
            "https://example.org/files/Bottleneck-1.4.0-cp311-cp311-win_amd64.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abc"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(files[0].core_metadata, CoreMetadata::Available);
        assert_eq!(files[1].yanked.as_deref(), Some(""));
        assert_eq!(
            files[1].upload_time.as_deref(),
            Some("2023-02-09T09:20:00Z")
        );
        assert_eq!(files[1].core_metadata, CoreMetadata::NotStated);
        assert_eq!(
            files[2].url,
            "https://example.org/simple/bottleneck/plain.whl"
        );
        assert_eq!(files[2].core_metadata, CoreMetadata::Absent);
    }

    /// Issue 19: what the hand-written tag scanner got wrong.
    #[test]
    fn entities_quotes_and_comments_are_read_as_html_means_them() {
        let body = br#"<!DOCTYPE html><html><body>
<!-- <a href="old/demo_pkg-0.9-py3-none-any.whl">demo_pkg-0.9-py3-none-any.whl</a> -->
<a href="../../files/demo_pkg-1.0-py3-none-any.whl?token=a&amp;b=c#sha256=AB" data-requires-python="&gt;=3.8,&#x3C;4">demo_pkg-1.0-py3-none-any.whl</a>
<a href="demo_pkg-1.1.tar.gz" title="a > b" data-yanked="broken &#8212; use 1.2">demo_pkg-1.1.tar.gz</a>
<a href="demo_pkg-1.2.tar.gz" data-yanked>demo_pkg-1.2.tar.gz</a>
</body></html>"#;
        let files = parse_project_page(body, "text/html", &page_url()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
        // The link in the comment is not a file; the `>` in a quoted title ends no tag.
        assert_eq!(
            names,
            [
                "demo_pkg-1.0-py3-none-any.whl",
                "demo_pkg-1.1.tar.gz",
                "demo_pkg-1.2.tar.gz"
            ]
        );
        // `&amp;` in a URL is `&`; numeric references are decoded.
        assert_eq!(
            files[0].url,
            "https://example.org/files/demo_pkg-1.0-py3-none-any.whl?token=a&b=c"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("ab"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8,<4"));
        assert_eq!(files[1].yanked.as_deref(), Some("broken \u{2014} use 1.2"));
        assert_eq!(files[2].yanked.as_deref(), Some(""));
    }

    #[test]
    fn bad_pages_are_errors_not_panics() {
        assert!(parse_project_page(b"{not json", JSON_CONTENT_TYPE, &page_url()).is_err());
        assert!(parse_project_page(b"\x00\x01", "image/png", &page_url()).is_err());
        // Not HTML, or cut short: errors, not a project without files.
        for page in [
            &b"<a =x <<a>>"[..],
            b"\x89PNG\r\n\x1a\n\x00\xff",
            b"",
            b"<a href=\"x",
            b"<html><body><a href=\"x.whl\">x.wh",
        ] {
            let error = parse_project_page(page, "text/html", &page_url()).unwrap_err();
            assert!(error.to_string().starts_with("invalid HTML"), "{error}");
        }
        let empty = b"<!DOCTYPE html><html><body><h1>Links for x</h1></body></html>";
        assert!(
            parse_project_page(empty, "text/html", &page_url())
                .unwrap()
                .is_empty()
        );
    }
}
