//! PEP 508 requirements parsed without panicking: pep508_rs 0.9 panics on some invalid input
//! (a name ending in `-`, `_` or `.` followed by more text, such as `numpy- >=1`; found by
//! fuzzing), and requirement strings come from lockfiles and from METADATA on the network.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use pep508_rs::{MarkerTree, Requirement};

/// Whether the name a requirement starts with ends in `-`, `_` or `.` (`numpy- >=1`). No such
/// line is valid PEP 508 (names end in a letter or digit), and pep508_rs 0.9 panics on them
/// instead of returning an error, so they must be refused before it sees them.
pub fn name_ends_in_separator(line: &str) -> bool {
    let name: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    name.ends_with(['-', '_', '.'])
}

/// Input pep508_rs 0.9 is known to panic on, refused with the reason: a name ending in a
/// separator, and characters beyond ASCII outside a URL (its cursor slices strings by byte and
/// may cut through a character; METADATA read with `from_utf8_lossy` can hold U+FFFD).
pub fn refuse_known_panics(text: &str) -> Result<(), String> {
    if name_ends_in_separator(text) {
        return Err(
            "a package name must end in a letter or digit, not `-`, `_` or `.`".to_string(),
        );
    }
    // `name @ url ; marker`: the URL may be anything; the rest is ASCII in any valid requirement.
    let (head, marker) = match text.split_once('@') {
        Some((head, rest)) => (head, rest.split_once(';').map_or("", |(_, marker)| marker)),
        None => (text, ""),
    };
    // pep508_rs panics on extras like names: `pkg[q-]` (found by fuzzing).
    if let Some((_, extras)) = head.split_once('[') {
        let extras = extras.split(']').next().unwrap_or_default();
        if extras.split(',').any(name_ends_in_separator) {
            return Err(
                "an extra's name must end in a letter or digit, not `-`, `_` or `.`".to_string(),
            );
        }
    }
    if !head.is_ascii() || !marker.is_ascii() {
        return Err(
            "expected only ASCII characters in a requirement's name, version and markers"
                .to_string(),
        );
    }
    Ok(())
}

/// `text` as an environment marker, or why it is not one (one line). Characters beyond ASCII
/// are refused before the parser sees them, as in [`refuse_known_panics`].
pub fn parse_marker(text: &str) -> Result<MarkerTree, String> {
    if !text.is_ascii() {
        return Err("expected only ASCII characters in an environment marker".to_string());
    }
    match catch_unwind(AssertUnwindSafe(|| MarkerTree::from_str(text))) {
        Ok(parsed) => parsed.map_err(|error| error.message.to_string()),
        Err(_) => Err("not a valid PEP 508 environment marker".to_string()),
    }
}

/// `text` as a requirement, or why it is not one (one line, without the text itself).
pub fn parse(text: &str) -> Result<Requirement, String> {
    refuse_known_panics(text)?;
    // Any other panic inside the parser is an invalid requirement too, not a crash.
    match catch_unwind(AssertUnwindSafe(|| Requirement::from_str(text))) {
        Ok(parsed) => parsed.map_err(|error| error.message.to_string()),
        Err(_) => Err("not a valid PEP 508 requirement".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_are_errors_not_panics() {
        for text in [
            "a-<2",
            "numpy- >=1",
            "scikit-~earn>=1.5",
            "x_ ; python_version>'3'",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert_eq!(parse("numpy>=1.22").unwrap().name.as_ref(), "numpy");
        // Found by fuzzing METADATA read lossily: a U+FFFD inside a marker.
        assert!(parse("numpy ; ex\u{fffd}tra == \"test\"").is_err());
        assert!(parse("nvidia-nvshmem-;cu13==3.4.5").is_err());
        assert!(parse("pkg[q-]").is_err());
        assert!(parse("pkg[fast, q_ ]>=1").is_err());
        assert!(parse("pkg[fast,all]>=1").is_ok());
        // A URL may hold anything.
        assert!(
            parse("pkg @ https://example.org/p\u{e4}th/pkg-1.0.tar.gz ; python_version > '3'")
                .is_ok()
        );
        assert!(parse("numpy>=").is_err());
    }
}
