//! The verdict table: from what was learned about one release (its metadata, its shared objects'
//! build, its Python code's uses of removed names), the verdict and the evidence for it. Pure:
//! nothing here fetches or reads files.

use pep440_rs::Version;
use pep508_rs::ExtraName;

use crate::environment::TargetEnvironment;
use crate::fix::RequiresDist;
use crate::index::{IndexError, ProjectFile};
use crate::inspect::metadata::{self, DeclaredNumpy};
use crate::inspect::removed::RemovedTable;
use crate::inspect::source::SourceScan;
use crate::inspect::wheel::WheelBuild;
use crate::inspect::{self, WheelScan};

use super::model::{Evidence, EvidenceCode, Verdict, removal_sentence};

/// What a verdict depends on besides the facts about one release. Pure data: the verdict table
/// ([`Rules::conclude`]) reads nothing from the network or the disk, so it is tested alone.
pub(super) struct Rules<'a> {
    pub(super) environment: &'a TargetEnvironment,
    pub(super) target: &'a Version,
    /// NumPy 2 is locked already: a 1.x-built extension fails at import today.
    pub(super) numpy2_locked: bool,
    /// Judging an installed environment (files on disk), not an index's wheels.
    pub(super) installed_environment: bool,
}

/// NumPy 2.0.0rc1 was uploaded on 2024-03-30: a wheel uploaded before cannot have been built
/// against 2.x headers.
pub const NUMPY2_FIRST_CANDIDATE: time::OffsetDateTime =
    time::macros::datetime!(2024-03-30 00:00 UTC);

/// [`NUMPY2_FIRST_CANDIDATE`]'s day, as messages give it.
const NUMPY2_FIRST_CANDIDATE_DAY: &str = "2024-03-30";

/// How many uses of removed names a package's evidence lists before it counts the rest.
pub(super) const SOURCE_USES_SHOWN: usize = 5;

impl Judgement {
    /// A few words on what decided the verdict, for the resolution's explanations (the
    /// evidence itself is in the report).
    pub(super) fn summary(&self) -> String {
        let find = |code: EvidenceCode| self.evidence.iter().find(|e| e.code == code);
        let member = |evidence: &Evidence| {
            evidence
                .member
                .as_deref()
                .map(|member| member.rsplit('/').next().unwrap_or(member).to_string())
                .unwrap_or_default()
        };
        match self.verdict {
            Verdict::DeclaredBlocker => find(EvidenceCode::NumpyCap)
                .and_then(|e| e.requirement.clone())
                .map(|requirement| format!("requires `{requirement}`"))
                .unwrap_or_else(|| "caps numpy".to_string()),
            Verdict::BinaryBlocker => find(EvidenceCode::Numpy1Build)
                .map(|e| format!("{} is built against NumPy 1.x", member(e)))
                .unwrap_or_else(|| "built against NumPy 1.x".to_string()),
            Verdict::SourceBlocker => find(EvidenceCode::RemovedName)
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "uses a name NumPy removed".to_string()),
            Verdict::Suspect => {
                if let Some(e) = find(EvidenceCode::LegacyLookup) {
                    format!("{} looks NumPy up with 1.x's layout compiled in", member(e))
                } else if let Some(e) = find(EvidenceCode::WeakTrace) {
                    format!(
                        "{} shows a NumPy C-API trace that tells no build",
                        member(e)
                    )
                } else if find(EvidenceCode::ClosestWheel).is_some() {
                    "no wheel fits the environment".to_string()
                } else if find(EvidenceCode::UploadPredatesNumpy2).is_some() {
                    "a 2.x build uploaded before NumPy 2 existed".to_string()
                } else {
                    "a requirement on numpy does not parse".to_string()
                }
            }
            Verdict::Unknown => {
                let Some(evidence) = self.evidence.iter().find(|e| {
                    matches!(
                        e.code,
                        EvidenceCode::SdistOnly
                            | EvidenceCode::NotOnIndex
                            | EvidenceCode::NotFromIndex
                            | EvidenceCode::OfflineMiss
                            | EvidenceCode::IndexError
                            | EvidenceCode::ScanIncomplete
                    )
                }) else {
                    return "could not be judged".to_string();
                };
                match evidence.code {
                    EvidenceCode::SdistOnly => "sdist only: its build cannot be judged".into(),
                    EvidenceCode::NotFromIndex => "not from an index: not judged".into(),
                    EvidenceCode::ScanIncomplete => "the scan budget ran out".into(),
                    _ => evidence.message.clone(),
                }
            }
            Verdict::Ready | Verdict::Unaffected => self.verdict.as_str().to_string(),
        }
    }
}

/// Whether a use happens under the target: the NumPy version tests around it admit it.
pub(super) fn runs_under(found: &inspect::source::SourceUse, target: &Version) -> bool {
    found.requires.as_ref().is_none_or(|requires| {
        requires
            .parse::<pep440_rs::VersionSpecifiers>()
            .map_or(true, |specifiers| specifiers.contains(target))
    })
}

/// What a use is, when it fails, and what to write instead, in a sentence.
pub(super) fn removed_name_message(
    found: &inspect::source::SourceUse,
    entry: &inspect::removed::Removed,
) -> String {
    let when = match (found.at_import, found.definite) {
        (true, true) => "it fails when the module is imported",
        (true, false) => "it may fail when the module is imported (the calls may not reach it)",
        (false, _) => "it fails when called",
    };
    let via = if found.via.is_empty() {
        String::new()
    } else {
        format!(" through {}", found.via.join(" → "))
    };
    format!(
        "{}:{} uses `{}`{via}, {}",
        found.file,
        found.line,
        found.path,
        removal_sentence(&entry.removed_in, &entry.source, &entry.replacement, when)
    )
}

/// What judging one package found, before why-paths are attached.
pub(super) struct Judgement {
    pub(super) verdict: Verdict,
    /// The version judged when the lock pins none (an unpinned requirement).
    pub(super) version: Option<String>,
    pub(super) wheel: Option<String>,
    pub(super) evidence: Vec<Evidence>,
    pub(super) failed: bool,
    /// The judged wheel's `Requires-Dist`, for inferring edges of flat requirement files and
    /// for checking what parents allow when planning fixes.
    pub(super) requires_dist: RequiresDist,
}

impl Judgement {
    pub(super) fn unknown(evidence: Evidence, failed: bool) -> Judgement {
        Judgement {
            verdict: Verdict::Unknown,
            version: None,
            wheel: None,
            requires_dist: RequiresDist::Unreadable(evidence.message.clone()),
            evidence: vec![evidence],
            failed,
        }
    }
}

pub(super) fn failure_evidence(error: &IndexError, what: &str) -> Evidence {
    match error {
        IndexError::Offline { .. } => {
            Evidence::new(EvidenceCode::OfflineMiss, format!("{what}: {error}"))
        }
        _ => Evidence::new(EvidenceCode::IndexError, format!("{what}: {error}")),
    }
}

/// `a`, `b`, `c`: scan strings as a report quotes them.
pub(super) fn quoted<'a>(strings: impl Iterator<Item = &'a String>) -> String {
    strings
        .map(|string| format!("`{string}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Strings only NumPy 2's import code holds (`inspect::wheel`'s 2.x signature).
pub(super) fn is_numpy2_import_string(string: &str) -> bool {
    matches!(
        string,
        "numpy._core._multiarray_umath" | "numpy._core.multiarray failed to import"
    )
}

/// Strings of a run-time module chooser (pybind11 2.12 and later), which prove no build.
pub(super) fn is_chooser_string(string: &str) -> bool {
    matches!(string, "numpy._core" | "NumpyVersion")
}

/// For a 1.x-built object that also holds a run-time chooser, says why that does not count.
pub(super) fn chooser_note(strings: &[String]) -> String {
    let chooser: Vec<&String> = strings.iter().filter(|s| is_chooser_string(s)).collect();
    if chooser.is_empty() {
        String::new()
    } else {
        format!(
            "; its {} belong to a run-time module chooser, which shows no 2.x build",
            quoted(chooser.into_iter())
        )
    }
}

pub(super) fn declared_evidence(
    declared: &DeclaredNumpy,
    target: &Version,
    evidence: &mut Vec<Evidence>,
) {
    for requirement in &declared.excluding {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::NumpyCap,
                format!("requires `{requirement}`, which excludes NumPy {target}"),
            )
        });
    }
    for requirement in declared
        .applicable
        .iter()
        .filter(|r| !declared.excluding.contains(r))
    {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::NumpyRequirement,
                format!("requires `{requirement}`, which admits NumPy {target}"),
            )
        });
    }
    for requirement in &declared.unparsable {
        evidence.push(Evidence {
            requirement: Some(requirement.clone()),
            ..Evidence::new(
                EvidenceCode::UnparsableRequirement,
                format!("a requirement on numpy does not parse as PEP 508: `{requirement}`"),
            )
        });
    }
}

impl Rules<'_> {
    /// Evidence from a source scan, for the target: returns (a use that fails at import
    /// whenever the module is imported, any use).
    pub(super) fn source_evidence(
        &self,
        wheel: &ProjectFile,
        scan: &SourceScan,
        evidence: &mut Vec<Evidence>,
    ) -> (bool, bool) {
        let table = RemovedTable::shipped();
        let applies: Vec<(&inspect::source::SourceUse, &inspect::removed::Removed)> = scan
            .uses
            .iter()
            .filter_map(|found| Some((found, table.named(&found.path)?)))
            .filter(|(found, entry)| {
                entry.removed_in() <= *self.target && runs_under(found, self.target)
            })
            .collect();
        let blocks = |found: &inspect::source::SourceUse| found.at_import && found.definite;
        // What fails at import first: it decides.
        let mut ordered = applies.clone();
        ordered.sort_by_key(|(found, _)| (!blocks(found), !found.at_import));
        for (found, entry) in ordered.iter().take(SOURCE_USES_SHOWN) {
            evidence.push(Evidence {
                file: Some(wheel.filename.clone()),
                member: Some(format!("{}:{}", found.file, found.line)),
                strings: vec![found.path.clone()],
                ..Evidence::new(
                    EvidenceCode::RemovedName,
                    removed_name_message(found, entry),
                )
            });
        }
        if applies.len() > SOURCE_USES_SHOWN {
            evidence.push(Evidence::new(
                EvidenceCode::RemovedName,
                format!(
                    "and {} more use(s) of names NumPy {} removed",
                    applies.len() - SOURCE_USES_SHOWN,
                    self.target
                ),
            ));
        }
        if !scan.unreadable.is_empty() {
            evidence.push(Evidence::new(
                EvidenceCode::SourceUnread,
                format!(
                    "{} of {} Python module(s) do not parse (they fail to import under any NumPy), so the source scan does not cover them: {}",
                    scan.unreadable.len(),
                    scan.modules,
                    scan.unreadable
                        .iter()
                        .take(3)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !scan.unread.is_empty() {
            evidence.push(Evidence::new(
                EvidenceCode::SourceUnread,
                format!(
                    "{} of {} Python module(s) could not be read, so what they use is unknown: {}",
                    scan.unread.len(),
                    scan.modules,
                    scan.unread
                        .iter()
                        .take(3)
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        (
            applies.iter().any(|(found, _)| blocks(found)),
            !applies.is_empty() || !scan.unread.is_empty(),
        )
    }

    /// The verdict from what was learned about one distribution, wherever it came from (the
    /// index, or an installed environment on disk). `metadata` is `None` when it was not read
    /// ([`RequirementsFrom::Lock`]).
    pub(super) fn conclude(
        &self,
        wheel: &ProjectFile,
        closest: bool,
        metadata: Option<Result<String, IndexError>>,
        scan: Result<Option<WheelScan>, IndexError>,
        source: Option<Result<SourceScan, IndexError>>,
        extras: &[ExtraName],
    ) -> Judgement {
        let mut evidence = Vec::new();
        let mut requires_dist = RequiresDist::NotRead;
        let mut failed = false;
        let mut unknown = false;
        let mut suspect = false;
        let file = Some(wheel.filename.clone());
        if closest {
            evidence.push(Evidence {
                file: file.clone(),
                ..Evidence::new(
                    EvidenceCode::ClosestWheel,
                    format!(
                        "no wheel for CPython {} on {}; judged the closest available: {} \
                         (the environment would build this release from its sdist, which is \
                         not judged: a clean result is only suspect)",
                        self.environment.python, self.environment.platform, wheel.filename
                    ),
                )
            });
        }

        // Declared check.
        let declared = match &metadata {
            None => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoNumpyDependency,
                    "the lock lists no dependency on numpy: no requirement of it can cap NumPy",
                ));
                DeclaredNumpy::default()
            }
            Some(Ok(text)) => {
                let parsed = metadata::parse_core_metadata(text);
                requires_dist = RequiresDist::Read(parsed.requires_dist.clone());
                let declared = metadata::check_declared(
                    &parsed.requires_dist,
                    self.environment.markers(),
                    extras,
                    self.target,
                );
                declared_evidence(&declared, self.target, &mut evidence);
                suspect |= !declared.unparsable.is_empty();
                declared
            }
            Some(Err(error)) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                let failure = failure_evidence(error, "metadata");
                requires_dist = RequiresDist::Unreadable(failure.message.clone());
                evidence.push(failure);
                DeclaredNumpy::default()
            }
        };

        // Binary check.
        let mut binary_blocker = false;
        let mut uses_capi = false;
        match scan {
            Ok(None) => evidence.push(Evidence::new(
                EvidenceCode::PurePython,
                "pure-Python wheel: no compiled code",
            )),
            Ok(Some(scan)) => {
                let (blocker, capi, weak) = self.binary_evidence(wheel, &scan, &mut evidence);
                binary_blocker = blocker;
                uses_capi = capi;
                suspect |= weak;
                if !scan.unscanned.is_empty() && !blocker && !capi {
                    unknown = true;
                    evidence.push(Evidence::new(
                        EvidenceCode::ScanIncomplete,
                        format!(
                            "{} shared object(s) left unscanned (scan budget reached): {}",
                            scan.unscanned.len(),
                            scan.unscanned.join(", ")
                        ),
                    ));
                }
            }
            Err(error) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                evidence.push(failure_evidence(&error, "wheel scan"));
            }
        }

        // Source check: what the Python modules use of what the target removed.
        let mut source_blocker = false;
        match &source {
            None => {}
            Some(Ok(found)) => {
                let (at_import, any) = self.source_evidence(wheel, found, &mut evidence);
                source_blocker = at_import;
                // Only inside functions: fails when called, not at import.
                suspect |= any && !at_import;
            }
            Some(Err(error)) => {
                failed |= !matches!(
                    error,
                    IndexError::NotFound { .. } | IndexError::BadResponse { .. }
                );
                unknown = true;
                evidence.push(failure_evidence(error, "source scan"));
            }
        }

        let verdict = if !declared.excluding.is_empty() {
            Verdict::DeclaredBlocker
        } else if binary_blocker {
            Verdict::BinaryBlocker
        } else if source_blocker {
            Verdict::SourceBlocker
        } else if unknown {
            Verdict::Unknown
        } else if suspect || closest {
            // A clean look at another environment's wheel says nothing certain about the build
            // this one would make.
            Verdict::Suspect
        } else if declared.requires_numpy() || uses_capi {
            Verdict::Ready
        } else {
            Verdict::Unaffected
        };
        Judgement {
            verdict,
            version: None,
            wheel: file,
            evidence,
            failed: failed && verdict == Verdict::Unknown,
            requires_dist,
        }
    }

    /// Evidence from a scan; returns (binary blocker, uses the NumPy C-API, weak trace only).
    pub(super) fn binary_evidence(
        &self,
        wheel: &ProjectFile,
        scan: &WheelScan,
        evidence: &mut Vec<Evidence>,
    ) -> (bool, bool, bool) {
        let file = Some(wheel.filename.clone());
        let early = wheel
            .uploaded()
            .is_some_and(|time| time < NUMPY2_FIRST_CANDIDATE);
        match &scan.build {
            WheelBuild::NumPy1 { member, strings } => {
                evidence.push(Evidence {
                    file: file.clone(),
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::Numpy1Build,
                        format!(
                            "{member} was built against the NumPy 1.x C-API (has {} and no NumPy 2 import string{}): it fails to import under NumPy 2",
                            quoted(strings.iter().filter(|s| !is_chooser_string(s))),
                            chooser_note(strings),
                        ),
                    )
                });
                if self.numpy2_locked {
                    evidence.push(Evidence::new(
                        EvidenceCode::ImportFailsToday,
                        if self.installed_environment {
                            "NumPy 2 is already installed here: importing this package fails today"
                        } else {
                            "the lock already installs NumPy 2: importing this package fails today"
                        },
                    ));
                }
                (true, true, false)
            }
            WheelBuild::NumPy2 {
                member,
                oldest_numpy,
                strings,
            } => {
                let oldest = oldest_numpy
                    .as_deref()
                    .map(|v| format!("; supports NumPy >= {v}"))
                    .unwrap_or_default();
                let others = scan.scanned.len().saturating_sub(1);
                let rest = match others {
                    0 => String::new(),
                    1 => "; the other shared object scanned is not 1.x-built".to_string(),
                    n => format!("; none of the other {n} shared objects scanned is 1.x-built"),
                };
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::Numpy2Build,
                        format!(
                            "{member} was built against NumPy 2.x headers (has {}){oldest}{rest}",
                            quoted(strings.iter().filter(|s| is_numpy2_import_string(s)))
                        ),
                    )
                });
                // The upload date is a prior, never a verdict: a 2.x build uploaded before 2.x
                // headers existed contradicts itself, so neither reading is trusted.
                if early {
                    let uploaded = wheel.upload_time.as_deref().unwrap_or_default();
                    evidence.push(Evidence::new(
                        EvidenceCode::UploadPredatesNumpy2,
                        format!(
                            "but the wheel was uploaded {uploaded}, before NumPy 2.0's first release candidate ({NUMPY2_FIRST_CANDIDATE_DAY}): it cannot have been built against 2.x headers"
                        ),
                    ));
                }
                (false, true, early)
            }
            WheelBuild::RuntimeLookup { member, strings } => {
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::RuntimeLookup,
                        if strings.iter().any(|s| s == "numpy._core") {
                            format!(
                                "{member} picks NumPy's module at run time ({}: the chooser of pybind11 2.12+ or rust-numpy 0.22+, between `numpy._core` and `numpy.core` by NumPy's version) and compiles in no NumPy import code: works under NumPy 2",
                                quoted(strings.iter())
                            )
                        } else {
                            format!(
                                "{member} names NumPy's modules ({}) but reads no C-API table through them and compiles in no NumPy import code: works under NumPy 2 through the `numpy.core` compatibility module",
                                quoted(strings.iter())
                            )
                        },
                    )
                });
                (false, true, false)
            }
            WheelBuild::LegacyLookup { member, strings } => {
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::LegacyLookup,
                        format!(
                            "{member} looks NumPy up at run time through `numpy.core.multiarray` ({}) with no version choice, as pybind11 before 2.12 and rust-numpy before 0.22 do: it imports under NumPy 2 but keeps NumPy 1.x's struct layout, and calls that read it can go wrong (qdldl 0.1.5.post3 and mapbox-earcut 1.0.1 return wrong numbers, tokenizers 0.19.1 panics)",
                            quoted(strings.iter())
                        ),
                    )
                });
                (false, true, true)
            }
            WheelBuild::Weak { member, strings } => {
                let when = if early {
                    format!(
                        ", and the wheel was uploaded before NumPy 2.0's first release candidate ({NUMPY2_FIRST_CANDIDATE_DAY})"
                    )
                } else {
                    String::new()
                };
                evidence.push(Evidence {
                    file,
                    member: Some(member.clone()),
                    strings: strings.clone(),
                    ..Evidence::new(
                        EvidenceCode::WeakTrace,
                        if strings.iter().any(|s| s == "flatiter") {
                            format!(
                                "{member} is a Cython module that checks NumPy's type sizes at import ({}) but shows no NumPy version string: Cython 3.2 and later compress a module's strings, and a module that cimports numpy only through a .pxd never runs `import_array`. Built against NumPy 1.x it fails at import; which NumPy built it cannot be read{when}",
                                quoted(strings.iter())
                            )
                        } else {
                            format!(
                                "{member} carries {} but none of the strings that tell a 1.x build from a 2.x one{when}",
                                quoted(strings.iter())
                            )
                        },
                    )
                });
                (false, true, true)
            }
            WheelBuild::NoNumpy { .. } if !scan.libraries_not_scanned.is_empty() => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoExtensionModules,
                    format!(
                        "{} shared librar{} not scanned: the wheel is tagged without a Python ABI and has no extension module, so nothing in it is imported from Python",
                        scan.libraries_not_scanned.len(),
                        if scan.libraries_not_scanned.len() == 1 { "y" } else { "ies" }
                    ),
                ));
                (false, false, false)
            }
            WheelBuild::NoNumpy { .. } => {
                evidence.push(Evidence::new(
                    EvidenceCode::NoNumpyCapi,
                    format!(
                        "{} shared object(s) scanned, extension modules first: none uses the NumPy C-API",
                        scan.scanned.len()
                    ),
                ));
                (false, false, false)
            }
            WheelBuild::PurePython => {
                evidence.push(Evidence::new(
                    EvidenceCode::PurePython,
                    "no shared objects in the wheel",
                ));
                (false, false, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::CoreMetadata;
    use crate::inspect::source::SourceUse;

    fn wheel(upload_time: &str) -> ProjectFile {
        ProjectFile {
            filename: "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl".into(),
            url: "https://example.org/demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl".into(),
            sha256: None,
            requires_python: None,
            size: None,
            upload_time: Some(upload_time.into()),
            yanked: None,
            core_metadata: CoreMetadata::Available,
        }
    }

    fn metadata(requires: &[&str]) -> Option<Result<String, IndexError>> {
        let mut text = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n".to_string();
        for requirement in requires {
            text.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        Some(Ok(text))
    }

    fn scan(build: WheelBuild) -> Result<Option<WheelScan>, IndexError> {
        Ok(Some(WheelScan {
            build,
            scanned: vec!["demo/_ext.cpython-311-x86_64-linux-gnu.so".into()],
            unscanned: Vec::new(),
            libraries_not_scanned: Vec::new(),
        }))
    }

    fn built(strings: &[&str]) -> (String, Vec<String>) {
        (
            "demo/_ext.cpython-311-x86_64-linux-gnu.so".into(),
            strings.iter().map(|s| s.to_string()).collect(),
        )
    }

    fn numpy1() -> WheelBuild {
        let (member, strings) = built(&["numpy.core._multiarray_umath"]);
        WheelBuild::NumPy1 { member, strings }
    }

    fn numpy2() -> WheelBuild {
        let (member, strings) = built(&["numpy._core._multiarray_umath"]);
        WheelBuild::NumPy2 {
            member,
            oldest_numpy: None,
            strings,
        }
    }

    fn source_use(path: &str, at_import: bool) -> Option<Result<SourceScan, IndexError>> {
        Some(Ok(SourceScan {
            uses: vec![SourceUse {
                file: "demo/core.py".into(),
                line: 3,
                path: path.into(),
                at_import,
                definite: true,
                requires: None,
                via: Vec::new(),
            }],
            modules: 1,
            unreadable: Vec::new(),
            unread: Vec::new(),
        }))
    }

    fn down() -> IndexError {
        IndexError::Status {
            url: "https://example.org/demo.whl".into(),
            status: 503,
            attempts: 4,
        }
    }

    fn codes(judgement: &Judgement) -> Vec<&'static str> {
        judgement.evidence.iter().map(|e| e.code.as_str()).collect()
    }

    /// Every verdict of the table, and every evidence path of `conclude`: (case, closest wheel,
    /// metadata, scan, source scan, numpy 2 locked) → (verdict, evidence codes, failed).
    #[test]
    fn the_verdict_table() {
        type Metadata = Option<Result<String, IndexError>>;
        type Scan = Result<Option<WheelScan>, IndexError>;
        type Source = Option<Result<SourceScan, IndexError>>;
        type Case<'a> = (
            &'a str,
            bool,
            Metadata,
            Scan,
            Source,
            bool,
            Verdict,
            &'a [&'a str],
            bool,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("caps numpy", false, metadata(&["numpy<2"]), Ok(None), None, false,
                Verdict::DeclaredBlocker, &["numpy-cap", "pure-python"], false),
            ("a cap outranks a 1.x build", false, metadata(&["numpy<2"]), scan(numpy1()), None, false,
                Verdict::DeclaredBlocker, &["numpy-cap", "numpy1-build"], false),
            ("1.x build", false, metadata(&["numpy>=1.21"]), scan(numpy1()), None, false,
                Verdict::BinaryBlocker, &["numpy-requirement", "numpy1-build"], false),
            ("1.x build with numpy 2 locked", false, metadata(&[]), scan(numpy1()), None, true,
                Verdict::BinaryBlocker, &["numpy1-build", "import-fails-today"], false),
            ("removed name at import", false, metadata(&["numpy"]), Ok(None), source_use("numpy.float_", true), false,
                Verdict::SourceBlocker, &["numpy-requirement", "pure-python", "removed-name"], false),
            ("removed name inside a function", false, metadata(&["numpy"]), Ok(None), source_use("numpy.float_", false), false,
                Verdict::Suspect, &["numpy-requirement", "pure-python", "removed-name"], false),
            ("a name the target still has", false, metadata(&["numpy"]), Ok(None), source_use("numpy.in1d", true), false,
                Verdict::Ready, &["numpy-requirement", "pure-python"], false),
            ("metadata unreadable", false, Some(Err(down())), scan(numpy2()), None, false,
                Verdict::Unknown, &["index-error", "numpy2-build"], true),
            ("metadata not on the index", false, Some(Err(IndexError::NotFound { url: "u".into() })), Ok(None), None, false,
                Verdict::Unknown, &["index-error", "pure-python"], false),
            ("offline miss", false, metadata(&["numpy"]), Err(IndexError::Offline { what: "the scan".into() }), None, false,
                Verdict::Unknown, &["numpy-requirement", "offline-miss"], true),
            ("source scan failed", false, metadata(&["numpy"]), Ok(None), Some(Err(down())), false,
                Verdict::Unknown, &["numpy-requirement", "pure-python", "index-error"], true),
            ("scan incomplete", false, metadata(&["numpy"]), Ok(Some(WheelScan {
                    build: WheelBuild::NoNumpy { shared_objects: 3 },
                    scanned: vec!["demo/_a.so".into()],
                    unscanned: vec!["demo/_b.so".into(), "demo/_c.so".into()],
                    libraries_not_scanned: Vec::new(),
                })), None, false,
                Verdict::Unknown, &["numpy-requirement", "no-numpy-capi", "scan-incomplete"], false),
            ("unparsable requirement", false, metadata(&["numpy (>=1.0"]), Ok(None), None, false,
                Verdict::Suspect, &["unparsable-requirement", "pure-python"], false),
            ("closest wheel, clean", true, metadata(&["numpy"]), scan(numpy2()), None, false,
                Verdict::Suspect, &["closest-wheel", "numpy-requirement", "numpy2-build"], false),
            ("closest wheel, 1.x", true, metadata(&[]), scan(numpy1()), None, false,
                Verdict::BinaryBlocker, &["closest-wheel", "numpy1-build"], false),
            ("weak trace", false, metadata(&["numpy"]), scan({
                    let (member, strings) = built(&["_ARRAY_API"]);
                    WheelBuild::Weak { member, strings }
                }), None, false,
                Verdict::Suspect, &["numpy-requirement", "weak-trace"], false),
            ("legacy lookup", false, metadata(&["numpy"]), scan({
                    let (member, strings) = built(&["numpy.core.multiarray"]);
                    WheelBuild::LegacyLookup { member, strings }
                }), None, false,
                Verdict::Suspect, &["numpy-requirement", "legacy-lookup"], false),
            ("runtime lookup", false, metadata(&[]), scan({
                    let (member, strings) = built(&["numpy._core", "numpy.core"]);
                    WheelBuild::RuntimeLookup { member, strings }
                }), None, false,
                Verdict::Ready, &["runtime-lookup"], false),
            ("2.x build", false, metadata(&["numpy>=2"]), scan(numpy2()), None, false,
                Verdict::Ready, &["numpy-requirement", "numpy2-build"], false),
            ("2.x build, no requirement on numpy", false, metadata(&[]), Ok(Some(WheelScan {
                    build: numpy2(),
                    scanned: vec!["demo/_ext.cpython-311-x86_64-linux-gnu.so".into()],
                    unscanned: Vec::new(),
                    libraries_not_scanned: Vec::new(),
                })), None, false,
                Verdict::Ready, &["numpy2-build"], false),
            ("pure python on numpy", false, metadata(&["numpy>=1.20"]), Ok(None), None, false,
                Verdict::Ready, &["numpy-requirement", "pure-python"], false),
            ("no numpy at all", false, metadata(&["requests"]), Ok(None), None, false,
                Verdict::Unaffected, &["pure-python"], false),
            ("lock says no numpy dependency", false, None, Ok(None), None, false,
                Verdict::Unaffected, &["no-numpy-dependency", "pure-python"], false),
            ("shared objects without the C-API", false, metadata(&[]), Ok(Some(WheelScan {
                    build: WheelBuild::NoNumpy { shared_objects: 1 },
                    scanned: vec!["demo/_speedups.so".into()],
                    unscanned: Vec::new(),
                    libraries_not_scanned: Vec::new(),
                })), None, false,
                Verdict::Unaffected, &["no-numpy-capi"], false),
            ("libraries only, no python abi", false, metadata(&[]), Ok(Some(WheelScan {
                    build: WheelBuild::NoNumpy { shared_objects: 0 },
                    scanned: Vec::new(),
                    unscanned: Vec::new(),
                    libraries_not_scanned: vec!["nvidia/lib/libcudnn.so.9".into()],
                })), None, false,
                Verdict::Unaffected, &["no-extension-modules"], false),
        ];
        let environment = TargetEnvironment::new("3.11".parse().unwrap(), "linux".parse().unwrap());
        let target: Version = "2.2.6".parse().unwrap();
        for (case, closest, metadata, scan, source, numpy2_locked, verdict, expected, failed) in
            cases
        {
            let rules = Rules {
                environment: &environment,
                target: &target,
                numpy2_locked,
                installed_environment: false,
            };
            let judgement = rules.conclude(
                &wheel("2025-01-02T03:04:05Z"),
                closest,
                metadata,
                scan,
                source,
                &[],
            );
            assert_eq!(
                judgement.verdict, verdict,
                "{case}: {:#?}",
                judgement.evidence
            );
            assert_eq!(codes(&judgement), expected, "{case}");
            assert_eq!(judgement.failed, failed, "{case}");
        }
    }

    #[test]
    fn a_2x_signature_on_a_wheel_older_than_numpy_2_is_contradictory() {
        let environment = TargetEnvironment::new("3.11".parse().unwrap(), "linux".parse().unwrap());
        let target: Version = "2.2.6".parse().unwrap();
        let rules = Rules {
            environment: &environment,
            target: &target,
            numpy2_locked: false,
            installed_environment: false,
        };
        // 01:00 at +02:00 on the 30th is the 29th in UTC: before NumPy 2.0.0rc1.
        let judgement = rules.conclude(
            &wheel("2024-03-30T01:00:00+02:00"),
            false,
            metadata(&[]),
            scan(numpy2()),
            None,
            &[],
        );
        assert_eq!(
            judgement.verdict,
            Verdict::Suspect,
            "{:#?}",
            judgement.evidence
        );
        assert!(codes(&judgement).contains(&"upload-predates-numpy2"));
    }
}
