//! Reads the package descriptions under `testdata/index/` and builds the catalog the fixture
//! index serves: one `Project` per `<normalized-name>.toml`, with every file built in memory.
//! Other directories of descriptions (`testdata/fixes/index/`, `testdata/faults/…`) use the same
//! format; `hostile` files and `hostile-metadata` releases describe archives and metadata that
//! lie or are built to exhaust a reader (see [`Hostile`], [`HostileMetadata`]).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::normalize_name;
use super::wheel_builder::{
    self, Hostile, HostileMetadata, PythonFileSpec, SharedObjectSpec, WheelSpec,
};

/// One `<normalized-name>.toml` file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ProjectDescription {
    /// Display name, e.g. `Bottleneck`.
    name: String,
    #[serde(default)]
    release: Vec<ReleaseDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ReleaseDescription {
    version: String,
    requires_python: Option<String>,
    upload_time: Option<String>,
    #[serde(default)]
    yanked: Yanked,
    /// `Requires-Dist` lines of the generated METADATA.
    #[serde(default)]
    requires_dist: Vec<String>,
    /// A real METADATA file used verbatim instead, relative to the descriptions directory.
    metadata_file: Option<PathBuf>,
    /// Generated METADATA built to trouble a reader, instead of `requires-dist`/`metadata-file`.
    hostile_metadata: Option<HostileMetadata>,
    #[serde(default)]
    file: Vec<FileDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileDescription {
    /// A wheel tag triple, or `sdist`.
    tag: String,
    #[serde(default)]
    shared_objects: Vec<SharedObjectSpec>,
    #[serde(default)]
    python_files: Vec<PythonFileSpec>,
    upload_time: Option<String>,
    /// Serve the wheel's METADATA as `<file>.metadata` (and advertise it); false leaves clients
    /// only the wheel's own METADATA member.
    #[serde(default = "yes")]
    core_metadata: bool,
    /// Store members uncompressed (as the zip format allows), so a wheel is as large as its
    /// members and cheap to build however large.
    #[serde(default)]
    stored: bool,
    /// Build the wheel to lie in its zip structure or exhaust a reader.
    hostile: Option<Hostile>,
}

fn yes() -> bool {
    true
}

/// `yanked = false | true | "reason"`, as in the description and in PEP 691.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Yanked {
    Flag(bool),
    Reason(String),
}

impl Default for Yanked {
    fn default() -> Self {
        Yanked::Flag(false)
    }
}

/// A file as the index lists and serves it.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// The normalized name of the project it belongs to.
    pub project: String,
    pub filename: String,
    pub version: String,
    pub bytes: Arc<Vec<u8>>,
    pub sha256: String,
    pub requires_python: Option<String>,
    pub upload_time: Option<String>,
    pub yanked: Yanked,
    /// Core metadata served as `<file>.metadata` (wheels only), with its sha256.
    pub metadata: Option<(Arc<Vec<u8>>, String)>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub normalized: String,
    /// Release versions in description order.
    pub versions: Vec<String>,
    pub files: Vec<IndexFile>,
}

/// All projects, by normalized name, plus every file by filename.
#[derive(Debug, Default)]
pub struct Catalog {
    pub projects: BTreeMap<String, Project>,
    pub files: HashMap<String, IndexFile>,
}

impl Catalog {
    /// The catalog for `dir`, built once per test process and shared afterwards: building
    /// takes about a second in a debug build, and every test starts its own index. The cache
    /// key covers the contents of every file under `dir`, so an edited directory is rebuilt.
    pub fn cached(dir: &Path) -> Arc<Catalog> {
        static CATALOGS: OnceLock<Mutex<HashMap<String, Arc<Catalog>>>> = OnceLock::new();
        let key = fingerprint(dir);
        // Held while building, so parallel tests wait for one build instead of racing.
        let mut catalogs = CATALOGS.get_or_init(Default::default).lock().unwrap();
        let catalog = catalogs
            .entry(key)
            .or_insert_with(|| Arc::new(Catalog::build(dir)));
        Arc::clone(catalog)
    }

    /// Builds every project described by `*.toml` in `dir`. Panics with the offending path on
    /// any mistake: a broken fixture should fail the test loudly.
    pub fn build(dir: &Path) -> Catalog {
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "toml")
            })
            .collect();
        paths.sort();

        let mut catalog = Catalog::default();
        for path in paths {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            let description: ProjectDescription = toml::from_str(&text)
                .unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()));
            let project = build_project(dir, &path, description);
            for file in &project.files {
                let previous = catalog.files.insert(file.filename.clone(), file.clone());
                assert!(previous.is_none(), "{} is described twice", file.filename);
            }
            catalog.projects.insert(project.normalized.clone(), project);
        }
        catalog
    }
}

/// sha256 over the relative path and contents of every file under `dir`.
fn fingerprint(dir: &Path) -> String {
    fn walk(root: &Path, dir: &Path, hasher: &mut Sha256) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, hasher);
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let contents = fs::read(&path)
                    .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
                hasher.update(relative.to_string_lossy().as_bytes());
                hasher.update((contents.len() as u64).to_le_bytes());
                hasher.update(&contents);
            }
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(dir.to_string_lossy().as_bytes());
    walk(dir, dir, &mut hasher);
    wheel_builder::sha256_hex(&hasher.finalize())
}

fn build_project(dir: &Path, path: &Path, description: ProjectDescription) -> Project {
    let normalized = normalize_name(&description.name);
    let stem = path.file_stem().and_then(|stem| stem.to_str());
    assert_eq!(
        stem,
        Some(normalized.as_str()),
        "{} should be named after the normalized project name",
        path.display()
    );
    let distribution = wheel_builder::filename_distribution(&description.name);
    let package = normalized.replace('-', "_");

    let mut project = Project {
        name: description.name.clone(),
        normalized,
        versions: Vec::new(),
        files: Vec::new(),
    };
    for release in description.release {
        let metadata = match (&release.metadata_file, release.hostile_metadata) {
            (Some(_), Some(_)) => panic!(
                "{}: give either metadata-file or hostile-metadata for {}",
                path.display(),
                release.version
            ),
            (None, Some(hostile)) => wheel_builder::hostile_metadata(
                hostile,
                &description.name,
                &release.version,
                &release.requires_dist,
            ),
            (Some(relative), None) => {
                assert!(
                    release.requires_dist.is_empty(),
                    "{}: give either requires-dist or metadata-file for {}",
                    path.display(),
                    release.version
                );
                let metadata_path = dir.join(relative);
                fs::read(&metadata_path)
                    .unwrap_or_else(|error| panic!("reading {}: {error}", metadata_path.display()))
            }
            (None, None) => wheel_builder::generate_metadata(
                &description.name,
                &release.version,
                release.requires_python.as_deref(),
                &release.requires_dist,
            ),
        };
        let metadata_sha256 = wheel_builder::sha256_hex(&metadata);
        let metadata = Arc::new(metadata);

        for file in &release.file {
            let (filename, bytes, served_metadata) = if file.tag == "sdist" {
                assert!(
                    file.shared_objects.is_empty() && file.hostile.is_none(),
                    "{}: an sdist has no shared objects and cannot be hostile",
                    path.display()
                );
                let bytes = wheel_builder::build_sdist(&distribution, &release.version, &metadata);
                let filename = format!("{distribution}-{}.tar.gz", release.version);
                (filename, bytes, None)
            } else {
                let spec = WheelSpec {
                    distribution: &distribution,
                    version: &release.version,
                    tag: &file.tag,
                    package: &package,
                    metadata: &metadata,
                    shared_objects: &file.shared_objects,
                    python_files: &file.python_files,
                    stored: file.stored,
                };
                let bytes = match file.hostile {
                    Some(hostile) => wheel_builder::build_hostile_wheel(&spec, hostile),
                    None => wheel_builder::build_wheel(&spec),
                };
                let filename = format!("{distribution}-{}-{}.whl", release.version, file.tag);
                let served = file
                    .core_metadata
                    .then(|| (Arc::clone(&metadata), metadata_sha256.clone()));
                (filename, bytes, served)
            };
            project.files.push(IndexFile {
                project: project.normalized.clone(),
                filename,
                version: release.version.clone(),
                sha256: wheel_builder::sha256_hex(&bytes),
                bytes: Arc::new(bytes),
                requires_python: release.requires_python.clone(),
                upload_time: file.upload_time.clone().or(release.upload_time.clone()),
                yanked: release.yanked.clone(),
                metadata: served_metadata,
            });
        }
        project.versions.push(release.version);
    }
    project
}
