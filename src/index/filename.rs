//! Keys of releases in the cache (file names themselves are read by [`crate::dist`]).

use pep440_rs::Version;

/// A key equal for equal versions (`1.0` and `1.0.0` compare equal in PEP 440): the release
/// without trailing zeros, with the rest of the version as written.
pub fn release_key(version: &Version) -> String {
    let release = version.release();
    let kept = release.len() - release.iter().rev().take_while(|&&n| n == 0).count();
    let trimmed: Vec<u64> = release[..kept.max(1)].to_vec();
    version.clone().with_release(trimmed).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_versions_share_a_release_key() {
        let key = |v: &str| release_key(&v.parse().unwrap());
        assert_eq!(key("1.0"), key("1.0.0"));
        assert_eq!(key("2.0.0rc1"), key("2rc1"));
        assert_ne!(key("1.0.1"), key("1.0"));
        assert_eq!(key("0"), "0");
    }
}
