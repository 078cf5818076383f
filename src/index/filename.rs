//! What a distribution file's name says: its version (wheel and sdist names).

use pep440_rs::Version;

/// The version in a wheel or sdist file name of project `name`.
pub fn file_version(filename: &str, name: &str) -> Option<Version> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').nth(1)?.parse().ok();
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|suffix| filename.strip_suffix(suffix))?;
    // Sdist names keep the project's spelling (and may hold dashes): split after the name.
    let normalized = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
    if stem.len() > name.len()
        && stem.is_char_boundary(name.len())
        && normalized(&stem[..name.len()]) == normalized(name)
    {
        return stem[name.len()..].strip_prefix('-')?.parse().ok();
    }
    stem.rsplit_once('-')?.1.parse().ok()
}

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
    fn versions_of_wheels_and_sdists() {
        let v = |f: &str, n: &str| file_version(f, n).map(|v| v.to_string());
        assert_eq!(
            v("Bottleneck-1.3.7-cp311-cp311-win32.whl", "bottleneck").as_deref(),
            Some("1.3.7")
        );
        assert_eq!(
            v("x-1.0-1build-py3-none-any.whl", "x").as_deref(),
            Some("1.0")
        );
        assert_eq!(
            v("python-dateutil-2.9.0.tar.gz", "python-dateutil").as_deref(),
            Some("2.9.0")
        );
        assert_eq!(
            v("python_dateutil-2.9.0.zip", "python-dateutil").as_deref(),
            Some("2.9.0")
        );
        assert_eq!(
            v("numpy-2.0.0rc1.tar.gz", "numpy").as_deref(),
            Some("2.0.0rc1")
        );
        assert_eq!(v("README.txt", "x"), None);
        // A name cut inside a multi-byte character must not panic.
        assert_eq!(v("é-1.0.tar.gz", "ab").as_deref(), Some("1.0"));
    }

    #[test]
    fn equal_versions_share_a_release_key() {
        let key = |v: &str| release_key(&v.parse().unwrap());
        assert_eq!(key("1.0"), key("1.0.0"));
        assert_eq!(key("2.0.0rc1"), key("2rc1"));
        assert_ne!(key("1.0.1"), key("1.0"));
        assert_eq!(key("0"), "0");
    }
}
