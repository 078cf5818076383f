//! `np2audit check`: single releases given on the command line, made into a small locked
//! project (a virtual root depending on each release) so they go through the same audit.

use std::path::PathBuf;

use pep508_rs::{PackageName, Requirement, VersionOrUrl};

use crate::audit::newest_release;
use crate::environment::PythonVersion;
use crate::index::IndexClient;
use crate::lockfile::{
    DependencyKind, LockFormat, LockedDependency, LockedPackage, LockedProject, PackageId,
    PackageSource,
};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("`{spec}`: expected NAME or NAME==VERSION ({reason})")]
    Spec { spec: String, reason: String },
    #[error("`{name}`: cannot find its newest release: {reason}")]
    Lookup { name: String, reason: String },
}

/// Build the project to audit from `NAME==VERSION` / `NAME` specs.
pub async fn releases_project(
    specs: &[String],
    client: &IndexClient,
    python: PythonVersion,
) -> Result<LockedProject, CheckError> {
    let root = LockedPackage {
        name: PackageName::new("np2audit-check".to_string()).expect("valid name"),
        version: None,
        specifier: None,
        source: PackageSource::Virtual("<command line>".to_string()),
        dependencies: Vec::new(),
        files: Vec::new(),
        declared: Vec::new(),
        line: 0,
    };
    let mut packages = vec![root];
    for spec in specs {
        let spec_error = |reason: String| CheckError::Spec {
            spec: spec.clone(),
            reason,
        };
        let requirement: Requirement = spec
            .parse()
            .map_err(|e: pep508_rs::Pep508Error| spec_error(e.message.to_string()))?;
        let version = match &requirement.version_or_url {
            None => {
                let files = client.project_files(&requirement.name).await.map_err(|e| {
                    CheckError::Lookup {
                        name: requirement.name.to_string(),
                        reason: e.to_string(),
                    }
                })?;
                newest_release(&files, requirement.name.as_ref(), python).ok_or_else(|| {
                    CheckError::Lookup {
                        name: requirement.name.to_string(),
                        reason: format!("no stable release supports Python {python}"),
                    }
                })?
            }
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                let exact = specifiers
                    .iter()
                    .next()
                    .filter(|_| specifiers.len() == 1)
                    .filter(|s| {
                        matches!(
                            s.operator(),
                            pep440_rs::Operator::Equal | pep440_rs::Operator::ExactEqual
                        )
                    });
                match exact {
                    Some(specifier) => specifier.version().clone(),
                    None => return Err(spec_error("only exact `==` pins are accepted".into())),
                }
            }
            Some(VersionOrUrl::Url(_)) => return Err(spec_error("URLs are not accepted".into())),
        };
        let id = PackageId(packages.len());
        packages[0].dependencies.push(LockedDependency {
            package: id,
            marker: pep508_rs::MarkerTree::TRUE,
            extras: requirement.extras.clone(),
            via: DependencyKind::Normal,
        });
        packages.push(LockedPackage {
            name: requirement.name.clone(),
            version: Some(version),
            specifier: None,
            source: PackageSource::Registry(client.display_url()),
            dependencies: Vec::new(),
            files: Vec::new(),
            declared: Vec::new(),
            line: 0,
        });
    }
    Ok(LockedProject {
        path: PathBuf::from("<command line>"),
        format: LockFormat::Requirements,
        requires_python: None,
        packages,
        roots: vec![PackageId(0)],
        index_urls: Vec::new(),
        warnings: Vec::new(),
        generated_by: None,
        supported_markers: Vec::new(),
    })
}
