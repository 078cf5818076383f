//! The judge: learn what a release declares and what its files hold — its metadata, its shared
//! objects, its Python modules, from the cache or the index — and hand them to the verdict table.

use std::collections::{BTreeMap, HashMap};

use pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName};

use crate::dist::{WheelTags, file_version};
use crate::environment::{PythonVersion, TargetEnvironment};
use crate::fix::{self, ReleaseJudge, RequiresDist};
use crate::index::{IndexClient, IndexError, ProjectFile, file_key};
use crate::inspect::metadata::{self};
use crate::inspect::removed::RemovedTable;
use crate::inspect::source::{SOURCE_SCANNER_VERSION, SourceScan};
use crate::inspect::wheel::WheelBuild;
use crate::inspect::{self, ScanBudget, WheelScan};
use crate::installed::InstalledFacts;
use crate::lockfile::{
    DependencyKind, LockFormat, LockedPackage, LockedProject, PackageId, PackageSource,
};

use super::conclude::*;
use super::model::*;
use super::{AuditError, Scans, SourceScans};

/// The newest stable, unyanked NumPy release whose `Requires-Python` admits `python`.
pub async fn newest_numpy(
    client: &IndexClient,
    python: PythonVersion,
) -> Result<Version, AuditError> {
    let numpy = PackageName::new("numpy".to_string()).expect("valid name");
    let files = client
        .project_files(&numpy)
        .await
        .map_err(|error| AuditError::Target(error.to_string()))?;
    newest_release(&files, "numpy", python).ok_or_else(|| {
        AuditError::Target(format!(
            "no NumPy release on the index supports Python {python}"
        ))
    })
}

impl JudgeContext<'_> {
    /// The verdict table's inputs that do not depend on the release.
    fn rules(&self) -> Rules<'_> {
        Rules {
            environment: self.environment,
            target: self.target,
            numpy2_locked: self.numpy2_locked,
            installed_environment: self.installed.is_some(),
        }
    }

    /// Judge an installed distribution from disk: its METADATA and its shared objects.
    pub(super) async fn judge_installed(
        &self,
        facts: &InstalledFacts,
        extras: &[ExtraName],
    ) -> Judgement {
        let files = facts.shared_objects.clone();
        let scan = if files.is_empty() {
            Ok(None)
        } else {
            tokio::task::spawn_blocking(move || inspect::scan_files(&files))
                .await
                .map_err(|e| IndexError::Client(e.to_string()))
                .and_then(|result| {
                    result.map(Some).map_err(|error| IndexError::BadResponse {
                        url: facts.dist_info.clone(),
                        message: format!("reading an installed shared object failed: {error}"),
                    })
                })
        };
        // Stands in for a wheel: installed files have a name and nothing else an index gives.
        let installed = ProjectFile {
            filename: facts.dist_info.clone(),
            url: String::new(),
            sha256: None,
            requires_python: None,
            size: None,
            upload_time: None,
            yanked: None,
            core_metadata: crate::index::CoreMetadata::Available,
        };
        let metadata = Some(Ok(facts.metadata.clone()));
        let source = if needs_source_scan(
            metadata.as_ref(),
            &scan,
            self.environment.markers(),
            extras,
            self.target,
        ) {
            let modules = facts.python_modules.clone();
            Some(
                tokio::task::spawn_blocking(move || {
                    inspect::scan_source_files(&modules, RemovedTable::shipped())
                })
                .await
                .map_err(|e| IndexError::Client(e.to_string())),
            )
        } else {
            None
        };
        let mut judgement = self
            .rules()
            .conclude(&installed, false, metadata, scan, source, extras);
        if facts.shared_objects.is_empty() {
            for evidence in &mut judgement.evidence {
                if evidence.code == EvidenceCode::PurePython {
                    evidence.message = "no shared objects installed".into();
                }
            }
        }
        judgement
    }

    pub(super) async fn judge(
        &self,
        package: &LockedPackage,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        if !matches!(package.source, PackageSource::Registry(_)) {
            let mut judgement = Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotFromIndex,
                    format!(
                        "{} source ({}): not published on an index, so it cannot be judged from one",
                        package.source.kind(),
                        crate::index::redact::redact_str(package.source.location())
                    ),
                ),
                false,
            );
            // A workspace member or path source: the lock may record what it requires.
            if !package.declared.is_empty() {
                judgement.requires_dist = RequiresDist::Read(
                    package
                        .declared
                        .iter()
                        .filter(|declared| declared.via == DependencyKind::Normal)
                        .map(|declared| declared.requirement.to_string())
                        .collect(),
                );
            }
            return judgement;
        }
        let version = match (&package.version, &package.specifier) {
            (Some(version), _) => version.clone(),
            (None, Some(specifier)) => match self.newest_allowed(package, specifier).await {
                Ok(version) => {
                    let mut judgement = self
                        .judge_release(package, &version, extras, requirements)
                        .await;
                    judgement.evidence.insert(
                        0,
                        Evidence::new(
                            EvidenceCode::Unpinned,
                            format!(
                                "not pinned (`{}{specifier}`): judged {version}, the newest release it allows for CPython {}",
                                package.name, self.environment.python
                            ),
                        ),
                    );
                    judgement.version = Some(version.to_string());
                    return judgement;
                }
                Err(judgement) => return judgement,
            },
            (None, None) => {
                return Judgement::unknown(
                    Evidence::new(EvidenceCode::NotOnIndex, "the lock records no version"),
                    false,
                );
            }
        };
        self.judge_release(package, &version, extras, requirements)
            .await
    }

    /// The newest stable release an unpinned requirement allows for the target Python.
    pub(super) async fn newest_allowed(
        &self,
        package: &LockedPackage,
        specifier: &pep440_rs::VersionSpecifiers,
    ) -> Result<Version, Judgement> {
        let files = match self.client.project_files(&package.name).await {
            Ok(files) => files,
            Err(IndexError::NotFound { url }) => {
                return Err(Judgement::unknown(
                    Evidence::new(
                        EvidenceCode::NotOnIndex,
                        format!("the index has no project page for it ({url})"),
                    ),
                    false,
                ));
            }
            Err(error) => {
                return Err(Judgement::unknown(
                    failure_evidence(&error, "project page"),
                    true,
                ));
            }
        };
        let allowed: Vec<ProjectFile> = files
            .iter()
            .filter(|file| {
                file_version(&file.filename, Some(package.name.as_ref()))
                    .is_some_and(|v| specifier.contains(&v))
            })
            .cloned()
            .collect();
        newest_release(&allowed, package.name.as_ref(), self.environment.python).ok_or_else(|| {
            Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotOnIndex,
                    format!(
                        "no stable release allowed by `{specifier}` supports CPython {}",
                        self.environment.python
                    ),
                ),
                false,
            )
        })
    }

    pub(super) async fn judge_release(
        &self,
        package: &LockedPackage,
        version: &Version,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        let from_lock = locked_release_files(package, self.client);
        let files = match from_lock {
            Some(files) => Ok(files),
            None => self.client.release_files(&package.name, version).await,
        };
        let files = match files {
            Ok(files) => files,
            Err(IndexError::NotFound { url }) => {
                return Judgement::unknown(
                    Evidence::new(
                        EvidenceCode::NotOnIndex,
                        format!("the index has no project page for it ({url})"),
                    ),
                    false,
                );
            }
            Err(error) => {
                return Judgement::unknown(failure_evidence(&error, "project page"), true);
            }
        };
        let candidates = release_files(&files, package);
        if candidates.is_empty() {
            return Judgement::unknown(
                Evidence::new(
                    EvidenceCode::NotOnIndex,
                    format!("the index lists no file of {} {}", package.name, version),
                ),
                false,
            );
        }
        let Some((wheel, closest)) = self.choose_wheel(&candidates) else {
            return Judgement::unknown(
                Evidence::new(
                    EvidenceCode::SdistOnly,
                    format!(
                        "{} {} has no wheel on the index (sdist only): its build cannot be judged without building it",
                        package.name, version
                    ),
                ),
                false,
            );
        };
        self.judge_wheel(&wheel, closest, extras, requirements)
            .await
    }

    /// The wheel the environment installs, or failing that the closest one (`true`).
    pub(super) fn choose_wheel(&self, files: &[ProjectFile]) -> Option<(ProjectFile, bool)> {
        let wheels: Vec<(&ProjectFile, WheelTags)> = files
            .iter()
            .filter_map(|file| Some((file, WheelTags::from_filename(&file.filename)?)))
            .collect();
        if let Some((file, _)) = wheels
            .iter()
            .filter_map(|(file, tags)| Some((*file, self.environment.wheel_rank(tags)?)))
            .min_by_key(|(file, rank)| (*rank, file.filename.clone()))
        {
            return Some((file.clone(), false));
        }
        wheels
            .iter()
            .min_by_key(|(file, tags)| {
                (self.environment.wheel_distance(tags), file.filename.clone())
            })
            .map(|(file, _)| ((*file).clone(), true))
    }

    pub(super) async fn judge_wheel(
        &self,
        wheel: &ProjectFile,
        closest: bool,
        extras: &[ExtraName],
        requirements: RequirementsFrom,
    ) -> Judgement {
        let tags = WheelTags::from_filename(&wheel.filename).expect("chosen among wheels");
        let (metadata, scan) = if tags.is_pure() {
            let metadata = match requirements {
                RequirementsFrom::Metadata => Some(self.client.core_metadata(wheel).await),
                RequirementsFrom::Lock => None,
            };
            (metadata, Ok(None))
        } else {
            // A scanned wheel's metadata usually comes with its tail, at no cost: read it
            // whatever the lock says, for fix planning.
            let (metadata, scan) = tokio::join!(
                self.client.core_metadata_of_scanned(wheel),
                self.scan(wheel)
            );
            (Some(metadata), scan.map(Some))
        };
        let source = if needs_source_scan(
            metadata.as_ref(),
            &scan,
            self.environment.markers(),
            extras,
            self.target,
        ) {
            Some(self.source_scan(wheel).await)
        } else {
            None
        };
        self.client.release_wheel(wheel).await;
        self.rules()
            .conclude(wheel, closest, metadata, scan, source, extras)
    }

    /// Scan a wheel's Python modules, from the cache when they were scanned before with the
    /// same table.
    pub(super) async fn source_scan(&self, wheel: &ProjectFile) -> Result<SourceScan, IndexError> {
        let table = RemovedTable::shipped();
        let key = format!("{}#source:{:016x}", file_key(wheel), table.fingerprint);
        self.source_scans
            .run(&key, || self.source_scan_once(wheel, &key))
            .await
    }

    pub(super) async fn source_scan_once(
        &self,
        wheel: &ProjectFile,
        key: &str,
    ) -> Result<SourceScan, IndexError> {
        let table = RemovedTable::shipped();
        let cache = self.client.cache();
        if let Some(json) = cache.scan(key, SOURCE_SCANNER_VERSION).await?
            && let Ok(scan) = serde_json::from_str(&json)
        {
            self.client.note_cache_hit();
            return Ok(scan);
        }
        if self.client.is_offline() {
            return Err(IndexError::Offline {
                what: format!("the source scan of {}", wheel.filename),
            });
        }
        let remote = self.client.shared_wheel(wheel).await?;
        let scan = inspect::scan_wheel_sources(remote.as_ref(), table).await?;
        let json = serde_json::to_string(&scan).expect("source scans serialise");
        cache
            .store_scan(key, SOURCE_SCANNER_VERSION, &wheel.filename, &json)
            .await?;
        Ok(scan)
    }

    /// Scan a wheel, from the cache when it was scanned before.
    pub(super) async fn scan(&self, wheel: &ProjectFile) -> Result<WheelScan, IndexError> {
        let key = file_key(wheel);
        self.scans.run(&key, || self.scan_once(wheel, &key)).await
    }

    pub(super) async fn scan_once(
        &self,
        wheel: &ProjectFile,
        key: &str,
    ) -> Result<WheelScan, IndexError> {
        let cache = self.client.cache();
        if let Some(json) = cache.scan(key, inspect::SCANNER_VERSION).await?
            && let Ok(scan) = serde_json::from_str(&json)
        {
            self.client.note_cache_hit();
            return Ok(scan);
        }
        if self.client.is_offline() {
            return Err(IndexError::Offline {
                what: format!("the scan of {}", wheel.filename),
            });
        }
        let remote = self.client.shared_wheel(wheel).await?;
        // The scan runs as a task of its own: its inflating (handed off with `block_in_place`)
        // then holds up only itself, not the other judgements this one is polled beside.
        let budget = self.budget;
        let scan = tokio::spawn(async move { inspect::scan_wheel(remote.as_ref(), budget).await })
            .await
            .expect("the wheel scan does not panic")?;
        if scan.unscanned.is_empty() {
            let json = serde_json::to_string(&scan).expect("scan results serialise");
            cache
                .store_scan(key, inspect::SCANNER_VERSION, &wheel.filename, &json)
                .await?;
        }
        Ok(scan)
    }
}

/// The newest stable release among `files` with an unyanked file that supports `python`.
pub fn newest_release(files: &[ProjectFile], name: &str, python: PythonVersion) -> Option<Version> {
    stable_releases(files, name, python).max()
}

/// The stable versions among `files` that have an unyanked file supporting `python` (with
/// repeats: one per file).
pub(super) fn stable_releases<'a>(
    files: &'a [ProjectFile],
    name: &'a str,
    python: PythonVersion,
) -> impl Iterator<Item = Version> + 'a {
    files
        .iter()
        .filter(|file| file.yanked.is_none())
        .filter(move |file| {
            file.requires_python
                .as_deref()
                .and_then(|r| r.parse::<pep440_rs::VersionSpecifiers>().ok())
                .is_none_or(|specifiers| python.satisfies(&specifiers))
        })
        .filter_map(move |file| file_version(&file.filename, Some(name)))
        .filter(|version| version.is_stable())
}

pub(super) struct JudgeContext<'a> {
    pub(super) client: &'a IndexClient,
    pub(super) environment: &'a TargetEnvironment,
    pub(super) target: &'a Version,
    pub(super) budget: ScanBudget,
    pub(super) numpy2_locked: bool,
    pub(super) installed: Option<&'a BTreeMap<PackageId, InstalledFacts>>,
    pub(super) scans: &'a Scans,
    pub(super) source_scans: &'a SourceScans,
}

/// Whether a release's Python modules are read for what NumPy removed: it depends on numpy (a
/// requirement on it in its metadata, under any marker, or compiled code that uses its C-API),
/// and neither its build (1.x) nor a requirement that applies here (the environment's markers,
/// the lock's extras) already blocks the target, whatever its Python code does.
pub(super) fn needs_source_scan(
    metadata: Option<&Result<String, IndexError>>,
    scan: &Result<Option<WheelScan>, IndexError>,
    environment: &MarkerEnvironment,
    extras: &[ExtraName],
    target: &Version,
) -> bool {
    let requires_dist = metadata
        .and_then(|m| m.as_ref().ok())
        .map(|text| metadata::parse_core_metadata(text).requires_dist)
        .unwrap_or_default();
    let requires = requires_dist
        .iter()
        .filter_map(|line| crate::requirement::parse(line).ok())
        .any(|requirement| requirement.name.as_ref() == "numpy");
    let build = scan
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|scan| &scan.build);
    let uses_capi = build
        .is_some_and(|build| !matches!(build, WheelBuild::NoNumpy { .. } | WheelBuild::PurePython));
    let built_against_1 = matches!(build, Some(WheelBuild::NumPy1 { .. }));
    let excludes = !metadata::check_declared(&requires_dist, environment, extras, target)
        .excluding
        .is_empty();
    (requires || uses_capi) && !built_against_1 && !excludes
}

/// Where judging a package learns what it requires: its wheel's `Requires-Dist`, or the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequirementsFrom {
    /// Read the judged wheel's `Requires-Dist`.
    Metadata,
    /// The lock records every dependency of the package (uv, poetry, pdm) and none is numpy:
    /// nothing it requires can cap NumPy. A pure-Python wheel is then judged without fetching
    /// its metadata, which is most of a cold audit's requests. Fix planning reads it later if
    /// it turns out to be a blocker's parent.
    Lock,
}

impl RequirementsFrom {
    pub(super) fn of(
        project: &LockedProject,
        package: &LockedPackage,
        numpy: &PackageName,
    ) -> RequirementsFrom {
        let records_every_dependency = matches!(
            project.format,
            LockFormat::UvLock | LockFormat::PoetryLock | LockFormat::PdmLock
        );
        let depends_on_numpy = package
            .dependencies
            .iter()
            .any(|dependency| &project.package(dependency.package).name == numpy);
        if records_every_dependency && !depends_on_numpy {
            RequirementsFrom::Lock
        } else {
            RequirementsFrom::Metadata
        }
    }
}

impl ReleaseJudge for JudgeContext<'_> {
    async fn releases(&self, name: &PackageName) -> Result<fix::ReleaseList, String> {
        let files = self
            .client
            .project_files(name)
            .await
            .map_err(|error| error.to_string())?;
        let mut versions: Vec<Version> =
            stable_releases(&files, name.as_ref(), self.environment.python).collect();
        versions.sort();
        versions.dedup();
        // A release went up when its earliest file did.
        let mut first_upload: HashMap<Version, time::OffsetDateTime> = HashMap::new();
        for file in files.iter() {
            if let (Some(version), Some(time)) = (
                file_version(&file.filename, Some(name.as_ref())),
                file.uploaded(),
            ) {
                let earliest = first_upload.entry(version).or_insert(time);
                *earliest = (*earliest).min(time);
            }
        }
        let first_after_numpy2 = versions
            .iter()
            .position(|version| {
                first_upload
                    .get(version)
                    .is_some_and(|&time| time >= NUMPY2_FIRST_CANDIDATE)
            })
            .filter(|&index| index > 0)
            .map(|index| versions[index].clone());
        // What the cache holds of these releases is read in a few queries now rather than
        // several per release judged.
        let releases: Vec<(PackageName, Version)> = versions
            .iter()
            .map(|version| (name.clone(), version.clone()))
            .collect();
        self.client
            .preload(&releases, &[], inspect::SCANNER_VERSION)
            .await;
        Ok(fix::ReleaseList {
            versions,
            first_after_numpy2,
        })
    }

    async fn judge(
        &self,
        name: &PackageName,
        version: &Version,
        extras: &[ExtraName],
    ) -> fix::Candidate {
        let package = LockedPackage {
            name: name.clone(),
            version: Some(version.clone()),
            specifier: None,
            source: PackageSource::Registry(self.client.display_url()),
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line: 0,
        };
        let judgement = self
            .judge_release(&package, version, extras, RequirementsFrom::Metadata)
            .await;
        fix::Candidate {
            verdict: judgement.verdict,
            requires_dist: judgement.requires_dist.read().to_vec(),
            summary: judgement.summary(),
        }
    }

    async fn locked_requirements(
        &self,
        package: &LockedPackage,
        extras: &[ExtraName],
    ) -> Result<Vec<String>, String> {
        match self
            .judge(package, extras, RequirementsFrom::Metadata)
            .await
            .requires_dist
        {
            RequiresDist::Read(requires_dist) => Ok(requires_dist),
            RequiresDist::Unreadable(reason) => Err(reason),
            RequiresDist::NotRead => Err("its metadata was not read".to_string()),
        }
    }
}

/// The release's files; when the lock names files, only those the lock allows.
/// The release's files as the lock records them, when it records every one with its URL and
/// the registry it names is the index in use (a lock made against PyPI and audited against a
/// mirror goes through the mirror's pages). No project page is needed then: uv.lock and
/// pylock.toml list every wheel of the locked release with its URL, hash and upload time.
pub(super) fn locked_release_files(
    package: &LockedPackage,
    client: &IndexClient,
) -> Option<Vec<ProjectFile>> {
    let PackageSource::Registry(registry) = &package.source else {
        return None;
    };
    if package.files.is_empty()
        || !client.is_registry(registry)
        || !package
            .files
            .iter()
            .any(|file| file.filename.ends_with(".whl"))
    {
        return None;
    }
    package
        .files
        .iter()
        .map(|file| {
            Some(ProjectFile {
                filename: file.filename.clone(),
                url: file.url.clone()?,
                sha256: file.sha256.clone(),
                requires_python: None,
                size: file.size,
                upload_time: file.upload_time.clone(),
                yanked: None,
                core_metadata: crate::index::CoreMetadata::NotStated,
            })
        })
        .collect()
}

pub(super) fn release_files(files: &[ProjectFile], package: &LockedPackage) -> Vec<ProjectFile> {
    let of_version = files.to_vec();
    if package.files.is_empty() {
        return of_version;
    }
    let locked: Vec<ProjectFile> = of_version
        .iter()
        .filter(|file| {
            package.files.iter().any(|locked| {
                locked.filename == file.filename
                    && match (&locked.sha256, &file.sha256) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
        })
        .cloned()
        .collect();
    if locked.is_empty() {
        of_version
    } else {
        locked
    }
}
