//! Verdicts: what the audit concludes about a package, and about the project's own requirement on
//! numpy. Below both the audit (which reaches them) and the fix stage (which plans from them), so
//! neither imports the other's internals.

use serde::Serialize;

/// The verdict on one package. The strings are a stable contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    DeclaredBlocker,
    BinaryBlocker,
    /// Its Python code uses, when imported, a name the target NumPy removed.
    SourceBlocker,
    Suspect,
    Unknown,
    Ready,
    Unaffected,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::DeclaredBlocker,
        Verdict::BinaryBlocker,
        Verdict::SourceBlocker,
        Verdict::Suspect,
        Verdict::Unknown,
        Verdict::Ready,
        Verdict::Unaffected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::DeclaredBlocker => "declared-blocker",
            Verdict::BinaryBlocker => "binary-blocker",
            Verdict::SourceBlocker => "source-blocker",
            Verdict::Suspect => "suspect",
            Verdict::Unknown => "unknown",
            Verdict::Ready => "ready",
            Verdict::Unaffected => "unaffected",
        }
    }

    pub fn is_blocker(self) -> bool {
        matches!(
            self,
            Verdict::DeclaredBlocker | Verdict::BinaryBlocker | Verdict::SourceBlocker
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRequirement {
    pub package: String,
    pub requirement: String,
    /// `main`, `extra:NAME` or `group:NAME`.
    pub declared_in: String,
    pub excludes_target: bool,
    pub line: Option<usize>,
}
