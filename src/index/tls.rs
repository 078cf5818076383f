//! Which certificate authorities the client trusts beyond the platform's.
//!
//! The platform verifier trusts the system store; on Linux it reads `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` itself, in place of the system store, as OpenSSL does. The PEM bundles named
//! by `SSL_CERT_FILE` (for macOS and Windows, whose verifiers ignore it) and by pip's
//! `REQUESTS_CA_BUNDLE` are also added here. A named bundle that cannot be read is an error,
//! never a silent fall back to trusting less (or more) than the user said.

use reqwest::Certificate;

use super::IndexError;

pub const BUNDLE_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"];

/// The certificates of every bundle the environment names.
pub fn extra_roots() -> Result<Vec<Certificate>, IndexError> {
    let mut roots = Vec::new();
    for variable in BUNDLE_VARIABLES {
        let Some(path) = std::env::var_os(variable).filter(|path| !path.is_empty()) else {
            continue;
        };
        let path = std::path::PathBuf::from(path);
        let fail =
            |reason: String| IndexError::Client(format!("{variable}={}: {reason}", path.display()));
        let pem = std::fs::read(&path).map_err(|error| fail(error.to_string()))?;
        let certificates = Certificate::from_pem_bundle(&pem)
            .map_err(|error| fail(format!("not a PEM certificate bundle: {error}")))?;
        if certificates.is_empty() {
            return Err(fail("holds no PEM certificate".into()));
        }
        roots.extend(certificates);
    }
    Ok(roots)
}
