//! How a run ends: the documented exit codes, and the error that ends a run early with one.

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// No blockers.
    Clean = 0,
    /// Blockers found.
    Blockers = 1,
    /// Usage or input error.
    Error = 2,
    /// Index or network failures left packages unknown.
    Incomplete = 3,
}

/// An error that ends the run, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
}

pub(crate) fn input_error(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        status: ExitStatus::Error,
        error: error.into(),
    }
}
