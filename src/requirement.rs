//! PEP 508 requirements parsed without panicking: pep508_rs 0.9 panics on some invalid input
//! (a name ending in `-`, `_` or `.` followed by more text, such as `numpy- >=1`; found by
//! fuzzing), and requirement strings come from lockfiles and from METADATA on the network.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use pep508_rs::Requirement;

use crate::inspect::metadata::name_ends_in_separator;

/// `text` as a requirement, or why it is not one (one line, without the text itself).
pub fn parse(text: &str) -> Result<Requirement, String> {
    if name_ends_in_separator(text) {
        return Err("a package name ends in a letter or digit".to_string());
    }
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
        assert!(parse("numpy>=").is_err());
    }
}
