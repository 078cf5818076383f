//! Keeping credentials out of everything np2audit prints, logs or stores.

use reqwest::Url;

/// The URL with any password replaced by `****` (the user name is kept: it is not a secret
/// and helps tell indexes apart).
pub fn redact_url(url: &Url) -> String {
    if url.password().is_none() && url.username().is_empty() {
        return url.to_string();
    }
    let mut shown = url.clone();
    if url.password().is_some() {
        let _ = shown.set_password(Some("****"));
    } else {
        // A lone user name is often a token (`https://TOKEN@host/`).
        let _ = shown.set_username("****");
    }
    shown.to_string()
}

/// [`redact_url`] for text that may not parse as a URL.
pub fn redact_str(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => redact_url(&parsed),
        Err(_) => url.to_string(),
    }
}

/// The URL without credentials, for cache keys.
pub fn strip_credentials(url: &Url) -> String {
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens_never_show() {
        let url = Url::parse("https://user:s3cret@example.com/simple/").unwrap();
        assert_eq!(redact_url(&url), "https://user:****@example.com/simple/");
        let token = Url::parse("https://tok3n@example.com/simple/").unwrap();
        assert_eq!(redact_url(&token), "https://****@example.com/simple/");
        assert_eq!(strip_credentials(&url), "https://example.com/simple/");
        assert!(!redact_str("https://a:b@c/").contains(":b@"));
    }
}
