//! `cargo bench --bench fleet`: a 300-package lockfile audited against the offline fixture
//! index with 50 ms of latency on every request, cold (empty cache) and warm; prints wall time,
//! requests, bytes fetched against the size of the wheels judged, and peak memory.
//!
//! The project is synthetic but shaped like a data-science lock: mostly pure-Python wheels, about
//! a fifth compiled wheels carrying megabytes of incompressible "machine code" (small extension
//! modules without NumPy, larger ones built against NumPy 1.x or 2.x, bundled libraries), some
//! packages capping `numpy<2`, a few published as sdists only, and dependencies several levels
//! deep. It is generated from a fixed seed, so every run audits the same bytes.
//!
//! `FLEET_PACKAGES` (default 320) sets the project's size, `FLEET_LATENCY_MS` (default 50) the
//! latency, `FLEET_RUNS` (default 3 cold, 5 warm) how often each is measured.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::wheel_builder::{C_API_VERSION_MISMATCH, Signature, rodata_slots};
use support::{FixtureIndex, IndexOptions, IndexStats, Measured, run_measured};

const TAG_CP311: &str = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64";
const TAG_CP312: &str = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64";
const BEFORE_NUMPY2: &str = "2023-06-01T10:00:00Z";
const AFTER_NUMPY2: &str = "2024-09-01T10:00:00Z";
/// np2audit's requests at once (`HttpSettings::default().concurrency`).
const CONCURRENCY: u64 = 50;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and only wants to
    // know the target builds.
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("fleet: run with `cargo bench --bench fleet`");
        return;
    }
    let packages = env_number("FLEET_PACKAGES", 320);
    let latency = Duration::from_millis(env_number("FLEET_LATENCY_MS", 50) as u64);
    let runs = std::env::var("FLEET_RUNS")
        .ok()
        .and_then(|r| r.parse().ok());

    let work = tempfile::tempdir().expect("temporary directory");
    let descriptions = work.path().join("index");
    std::fs::create_dir(&descriptions).expect("descriptions directory");
    let project = Project::generate(packages, 0x6e70_3261_7564_6974);
    project.write_descriptions(&descriptions);

    let started = Instant::now();
    let index = FixtureIndex::start(
        &descriptions,
        IndexOptions {
            latency: Some(latency),
            // PyPI gzips pages and metadata files.
            gzip: true,
            ..IndexOptions::default()
        },
    );
    eprintln!(
        "fleet: built the fixture index ({} projects) in {:.1?}",
        project.packages.len() + 1,
        started.elapsed()
    );
    let lock = work.path().join("uv.lock");
    std::fs::write(&lock, project.uv_lock(&index)).expect("write uv.lock");

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for run in 0..runs.unwrap_or(3) {
        let cache = work.path().join(format!("cache-{run}"));
        cold.push(audit(&index, &lock, &cache));
        if run == 0 {
            for _ in 0..runs.unwrap_or(5) {
                warm.push(audit(&index, &lock, &cache));
            }
        }
    }
    report(&project, &index, latency, &cold, &warm);
    if std::env::var_os("FLEET_KEEP").is_some() {
        let kept = work.keep();
        eprintln!(
            "fleet: kept {} (uv.lock, cache-0 is warm; index was {})",
            kept.display(),
            index.simple_url()
        );
        // Serve until interrupted, for profiling runs against the same index.
        if std::env::var_os("FLEET_SERVE").is_some() {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// One measured `np2audit lock … --format json` and what the index saw of it.
struct Sample {
    measured: Measured,
    report: Value,
    index: IndexStats,
}

fn audit(index: &FixtureIndex, lock: &Path, cache: &Path) -> Sample {
    index.reset_stats();
    // A child started from this process inherits its peak resident size (Linux carries the
    // old address space's high-water mark across exec), and this process holds every wheel of
    // the index. `/usr/bin/time` is small: the peak it reports for its own child is np2audit's.
    let peak_file = cache.with_extension("peak");
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut command = Command::new(time);
        command
            .args(["-f", "%M", "-o"])
            .arg(&peak_file)
            .arg(env!("CARGO_BIN_EXE_np2audit"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_np2audit"))
    };
    let mut measured = run_measured(
        command
            .arg("lock")
            .arg(lock)
            .args([
                "--python-platform",
                "linux",
                "--format",
                "json",
                "--no-fail",
            ])
            .args(["--index-url", &index.simple_url()])
            .arg("--cache-dir")
            .arg(cache)
            .env_remove("UV_INDEX_URL")
            .env_remove("PIP_INDEX_URL")
            .env_remove("NP2AUDIT_LOG")
            .env("NO_COLOR", "1"),
    );
    assert_eq!(measured.code, 0, "np2audit failed:\n{}", measured.stderr);
    if let Some(kib) = std::fs::read_to_string(&peak_file)
        .ok()
        .and_then(|text| text.trim().lines().last()?.trim().parse::<u64>().ok())
    {
        measured.peak_rss = kib * 1024;
    }
    let report: Value = serde_json::from_str(&measured.stdout).expect("a JSON report");
    Sample {
        measured,
        report,
        index: index.stats(),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(
    project: &Project,
    index: &FixtureIndex,
    latency: Duration,
    cold: &[Sample],
    warm: &[Sample],
) {
    let first = &cold[0].report;
    let summary = &first["summary"];
    let judged: Vec<&Value> = first["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .collect();
    // The wheels judged, and their total size as the index serves them.
    let mut wheel_bytes = 0u64;
    let mut compiled_bytes = 0u64;
    let mut wheels = 0;
    for package in &judged {
        if let Some(filename) = package["wheel"].as_str() {
            let size = index
                .file_bytes(filename)
                .map_or(0, |bytes| bytes.len() as u64);
            wheel_bytes += size;
            wheels += 1;
            if !filename.ends_with("-none-any.whl") {
                compiled_bytes += size;
            }
        }
    }
    // The longest chain of requests that must follow one another: the numpy page (to choose
    // the target), a project page, then a wheel's tail and one member (its metadata file goes
    // alongside); each round of a blocker's fix search judges one more release the same way.
    let search_rounds = judged
        .iter()
        .filter_map(|package| package["fix"]["checked"].as_array())
        .map(|checked| {
            checked
                .len()
                .saturating_sub(1)
                .max(usize::from(!checked.is_empty()))
        })
        .max()
        .unwrap_or(0);
    let floor_trips = 4 + 2 * search_rounds;
    let floor = latency * floor_trips as u32;

    let ms = |sample: &Sample| sample.measured.wall.as_secs_f64() * 1000.0;
    let mib = |sample: &Sample| sample.measured.peak_rss as f64 / (1024.0 * 1024.0);
    let cold_ms = median(cold.iter().map(ms).collect());
    let warm_ms = median(warm.iter().map(ms).collect());
    let stats = |sample: &Sample, key: &str| sample.report["stats"][key].as_u64().unwrap_or(0);

    println!();
    println!(
        "fleet: {} locked packages ({} pure-Python, {} compiled, {} capping numpy, {} sdist-only; \
         dependency depth {}), {} ms latency per request",
        project.packages.len() + 1,
        project.count(|kind| matches!(kind, Kind::Pure { .. })),
        project.count(|kind| matches!(kind, Kind::Compiled { .. })),
        project.count(|kind| matches!(kind, Kind::Capped { .. })),
        project.count(|kind| matches!(kind, Kind::SdistOnly)),
        project.depth(),
        latency.as_millis(),
    );
    println!(
        "verdicts: {} judged — {} declared-blocker, {} binary-blocker, {} suspect, {} unknown, {} ready, {} unaffected",
        judged.len(),
        summary["declared_blocker"],
        summary["binary_blocker"],
        summary["suspect"],
        summary["unknown"],
        summary["ready"],
        summary["unaffected"],
    );
    println!();
    println!(
        "{:<6} {:>10} {:>10} {:>9} {:>7} {:>8} {:>8} {:>13} {:>10}",
        "run", "median ms", "min ms", "peak MiB", "reqs", "pages", "ranges", "bytes", "cache hits"
    );
    for (name, samples, median_ms) in [("cold", cold, cold_ms), ("warm", warm, warm_ms)] {
        let sample = &samples[0];
        let min_ms = samples.iter().map(ms).fold(f64::INFINITY, f64::min);
        let peak = samples.iter().map(mib).fold(0.0, f64::max);
        println!(
            "{:<6} {:>10.0} {:>10.0} {:>9.1} {:>7} {:>8} {:>8} {:>13} {:>10}",
            name,
            median_ms,
            min_ms,
            peak,
            stats(sample, "requests"),
            sample.index.pages,
            sample.index.range_requests,
            stats(sample, "bytes_fetched"),
            stats(sample, "cache_hits"),
        );
    }
    let fetched = stats(&cold[0], "bytes_fetched");
    let floor_bytes = project.scan_floor_bytes();
    println!();
    println!(
        "bytes fetched (cold): {} of {} in the {} wheels judged ({:.2}%; compiled wheels: {})",
        fetched,
        wheel_bytes,
        wheels,
        100.0 * fetched as f64 / wheel_bytes.max(1) as f64,
        compiled_bytes,
    );
    println!(
        "scan floor: {floor_bytes} bytes ({:.2}% of the wheels judged) must be read by the rules \
         alone (the locked wheels only, no pages or fix searches): every NumPy-free object and a \
         1.x-built one to the end of its read-only segments, a 2.x-built one to its C-API \
         version string",
        100.0 * floor_bytes as f64 / wheel_bytes.max(1) as f64,
    );
    let needed = stats(&cold[0], "bytes_needed");
    println!(
        "bytes the reads needed (cold, the run's own count: directories, and members from their \
         headers to where each read stopped, fix searches included): {needed}; fetched is {:.2}× \
         that",
        fetched as f64 / needed.max(1) as f64,
    );
    println!(
        "floor (cold): {floor_trips} sequential round trips × {} ms = {} ms \
         (numpy page → project page → wheel tail → member; {search_rounds} fix-search rounds × 2); \
         cold median is {:.1}× the floor",
        latency.as_millis(),
        floor.as_millis(),
        cold_ms / floor.as_secs_f64() / 1000.0,
    );
    println!(
        "throughput bound: {} requests / {CONCURRENCY} at once × {} ms = {} ms",
        stats(&cold[0], "requests"),
        latency.as_millis(),
        stats(&cold[0], "requests").div_ceil(CONCURRENCY) * latency.as_millis() as u64,
    );
}

/// A tiny deterministic generator, so every run benchmarks the same project.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// Uniform in `low..high`.
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// How a compiled wheel's extension modules were built.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Build {
    Numpy2,
    Numpy1,
    CythonNumpy1,
    RuntimeLookup,
    NoNumpy,
}

impl Build {
    fn signature(self) -> &'static str {
        match self {
            Build::Numpy2 => "numpy2",
            Build::Numpy1 => "numpy1",
            Build::CythonNumpy1 => "cython-numpy1",
            Build::RuntimeLookup => "runtime-lookup",
            Build::NoNumpy => "none",
        }
    }

    fn uses_numpy(self) -> bool {
        self != Build::NoNumpy
    }
}

/// A shared object: (path under the package, signature, bytes).
type SharedObject = (String, &'static str, usize);

#[derive(Debug, Clone)]
enum Kind {
    /// A pure-Python wheel; `numpy` when it requires numpy (uncapped).
    Pure {
        numpy: bool,
    },
    /// A pure-Python wheel whose `Requires-Dist` caps numpy below 2; `fixed_after` newer
    /// releases, the last of which lift the cap.
    Capped {
        requirement: &'static str,
        newer: usize,
    },
    /// A compiled wheel; a NumPy 1.x build with `newer` releases, the later ones 2.x builds.
    Compiled {
        build: Build,
        shared_objects: Vec<SharedObject>,
        newer: usize,
    },
    SdistOnly,
}

struct Package {
    name: String,
    version: (usize, usize, usize),
    kind: Kind,
    /// Indices of the packages it depends on.
    dependencies: Vec<usize>,
}

impl Package {
    fn version(&self) -> String {
        let (major, minor, patch) = self.version;
        format!("{major}.{minor}.{patch}")
    }

    /// The `count` releases after the locked one.
    fn newer_versions(&self, count: usize) -> Vec<String> {
        let (major, minor, _) = self.version;
        (1..=count)
            .map(|step| format!("{major}.{}.0", minor + step))
            .collect()
    }

    fn older_version(&self) -> String {
        let (major, minor, patch) = self.version;
        if patch > 0 {
            format!("{major}.{minor}.{}", patch - 1)
        } else {
            format!("{major}.{minor}.0rc1")
        }
    }
}

struct Project {
    packages: Vec<Package>,
    /// Indices of the project's own (direct) dependencies.
    direct: Vec<usize>,
}

impl Project {
    /// `count` locked packages (numpy and the project itself included).
    fn generate(count: usize, seed: u64) -> Project {
        let mut random = Random(seed);
        let count = count.saturating_sub(2).max(20);
        let mut packages = Vec::with_capacity(count);
        for index in 0..count {
            // Roughly: 18% compiled, 2% capping numpy, 1.5% sdist-only, the rest pure Python
            // (a third of those requiring numpy).
            let roll = random.below(1000);
            let kind = if roll < 180 {
                let build = match random.below(100) {
                    0..=54 => Build::Numpy2,
                    55..=76 => Build::NoNumpy,
                    77..=91 => Build::Numpy1,
                    92..=95 => Build::CythonNumpy1,
                    _ => Build::RuntimeLookup,
                };
                let newer = if matches!(build, Build::Numpy1 | Build::CythonNumpy1) {
                    random.range(0, 6)
                } else {
                    0
                };
                Kind::Compiled {
                    build,
                    shared_objects: shared_objects(&mut random, build),
                    newer,
                }
            } else if roll < 200 {
                let requirement = [
                    "numpy<2",
                    "numpy>=1.21,<2",
                    "numpy<1.27",
                    "numpy~=1.23",
                    "numpy<2.0.0,>=1.22.4",
                ][random.below(5)];
                Kind::Capped {
                    requirement,
                    newer: random.range(0, 4),
                }
            } else if roll < 215 {
                Kind::SdistOnly
            } else {
                Kind::Pure {
                    numpy: random.chance(30),
                }
            };
            packages.push(Package {
                name: format!("fleet-{}-{index:03}", kind_label(&kind)),
                version: (random.range(0, 5), random.range(0, 30), random.range(0, 9)),
                kind,
                dependencies: Vec::new(),
            });
        }
        // Dependencies point deeper (to higher indices), mostly nearby, so chains form; every
        // package past the direct ones gets at least one parent.
        let direct_count = (count / 7).max(5);
        for (index, package) in packages.iter_mut().enumerate() {
            let wanted = match random.below(10) {
                0..=3 => 0,
                4..=6 => random.range(1, 3),
                _ => random.range(2, 6),
            };
            let mut dependencies = BTreeSet::new();
            for _ in 0..wanted {
                let remaining = count - index - 1;
                if remaining == 0 {
                    break;
                }
                let reach = remaining.min(40);
                dependencies.insert(index + 1 + random.below(reach));
            }
            package.dependencies = dependencies.into_iter().collect();
        }
        for index in direct_count..count {
            let has_parent = packages[..index]
                .iter()
                .any(|package| package.dependencies.contains(&index));
            if !has_parent {
                let parent = random.range(index.saturating_sub(30), index);
                packages[parent].dependencies.push(index);
                packages[parent].dependencies.sort_unstable();
            }
        }
        Project {
            packages,
            direct: (0..direct_count).collect(),
        }
    }

    /// Bytes of the locked compiled wheels the scan must read however well it reads, under the
    /// rules (`../shared/DESIGN.md`): shared objects in scan order (extension modules, then
    /// libraries not known to be system ones, each smallest first); a 1.x-built one ends the
    /// wheel's scan, and is read to the end of its read-only segments (no NumPy 2 import string
    /// may follow before that); a 2.x-built one up to the end of its C-API version string, which
    /// `shared_object_bytes` places in `.rodata` as real objects have it, and the scan goes on
    /// (another object could be 1.x-built); any other to the end of its read-only segments,
    /// which `shared_object_bytes` ends at three quarters of the object. The filler does not
    /// compress, so a member's compressed size is about its size.
    fn scan_floor_bytes(&self) -> u64 {
        let read_only = |size: u64| if size >= 4096 { size - size / 4 } else { size };
        let numpy2_strings = Signature::Numpy2.strings();
        let version_string = numpy2_strings
            .iter()
            .position(|text| *text == C_API_VERSION_MISMATCH)
            .expect("a NumPy 2 build names its C-API version");
        let version_string_end = |size: u64| {
            let (start, spacing) = rodata_slots(size as usize, numpy2_strings.len());
            (start + version_string * spacing + 1 + C_API_VERSION_MISMATCH.len()) as u64
        };
        let mut total = 0u64;
        for package in &self.packages {
            let Kind::Compiled { shared_objects, .. } = &package.kind else {
                continue;
            };
            let mut ordered: Vec<&SharedObject> = shared_objects
                .iter()
                .filter(|(name, _, _)| {
                    !name.starts_with("libopenblas") && !name.starts_with("libgfortran")
                })
                .collect();
            // Extension modules first, each group smallest first.
            ordered.sort_by_key(|(name, _, size)| (name.starts_with("lib"), *size));
            for (_, signature, size) in ordered {
                let size = *size as u64;
                match *signature {
                    "numpy2" => total += version_string_end(size),
                    "numpy1" | "cython-numpy1" => {
                        total += read_only(size);
                        break;
                    }
                    _ => total += read_only(size),
                }
            }
        }
        total
    }

    fn count(&self, matches: impl Fn(&Kind) -> bool) -> usize {
        self.packages
            .iter()
            .filter(|package| matches(&package.kind))
            .count()
    }

    /// The longest path from the project to a package, in edges.
    fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.packages.len()];
        for &index in &self.direct {
            depth[index] = 1;
        }
        // Edges only point to higher indices, so one pass in order settles every depth.
        for index in 0..self.packages.len() {
            if depth[index] == 0 {
                continue;
            }
            for &dependency in &self.packages[index].dependencies {
                depth[dependency] = depth[dependency].max(depth[index] + 1);
            }
        }
        depth.into_iter().max().unwrap_or(0)
    }

    /// `Requires-Dist` lines of a release.
    fn requires_dist(&self, package: &Package, numpy: Option<&str>) -> Vec<String> {
        let mut requirements: Vec<String> = package
            .dependencies
            .iter()
            .map(|&dependency| {
                let dependency = &self.packages[dependency];
                format!("{}>={}", dependency.name, dependency.older_version())
            })
            .collect();
        if let Some(numpy) = numpy {
            requirements.push(numpy.to_string());
        }
        requirements
    }

    fn write_descriptions(&self, dir: &Path) {
        std::fs::write(dir.join("numpy.toml"), NUMPY_DESCRIPTION).expect("write numpy.toml");
        for package in &self.packages {
            let mut text = format!("name = \"{}\"\n", package.name);
            let older = package.older_version();
            let version = package.version();
            match &package.kind {
                Kind::Pure { numpy } => {
                    let requires = self.requires_dist(package, numpy.then_some("numpy>=1.22"));
                    for release in [&older, &version] {
                        release_toml(&mut text, release, AFTER_NUMPY2, &requires);
                        file_toml(&mut text, "py3-none-any", &[]);
                        file_toml(&mut text, "sdist", &[]);
                    }
                }
                Kind::Capped { requirement, newer } => {
                    let capped = self.requires_dist(package, Some(requirement));
                    release_toml(&mut text, &older, BEFORE_NUMPY2, &capped);
                    file_toml(&mut text, "py3-none-any", &[]);
                    release_toml(&mut text, &version, BEFORE_NUMPY2, &capped);
                    file_toml(&mut text, "py3-none-any", &[]);
                    file_toml(&mut text, "sdist", &[]);
                    let lifted = self.requires_dist(package, Some("numpy>=1.23"));
                    let newer = package.newer_versions(*newer);
                    for (step, release) in newer.iter().enumerate() {
                        let requires = if step + 1 == newer.len() {
                            &lifted
                        } else {
                            &capped
                        };
                        release_toml(&mut text, release, AFTER_NUMPY2, requires);
                        file_toml(&mut text, "py3-none-any", &[]);
                    }
                }
                Kind::Compiled {
                    build,
                    shared_objects,
                    newer,
                } => {
                    let numpy = build.uses_numpy().then_some("numpy>=1.21");
                    let requires = self.requires_dist(package, numpy);
                    let package_dir = package.name.replace('-', "_");
                    let upload = if *build == Build::Numpy2 {
                        AFTER_NUMPY2
                    } else {
                        BEFORE_NUMPY2
                    };
                    release_toml(&mut text, &older, upload, &requires);
                    file_toml(&mut text, "sdist", &[]);
                    release_toml(&mut text, &version, upload, &requires);
                    file_toml(
                        &mut text,
                        TAG_CP311,
                        &members(&package_dir, shared_objects, 311),
                    );
                    // The wheel for another Python, never judged: small, to keep the build quick.
                    let small: Vec<SharedObject> = shared_objects
                        .iter()
                        .map(|(name, signature, _)| (name.clone(), *signature, 4096))
                        .collect();
                    file_toml(&mut text, TAG_CP312, &members(&package_dir, &small, 312));
                    file_toml(&mut text, "sdist", &[]);
                    // Newer releases: NumPy 1.x builds, then (from the middle on) 2.x builds.
                    for (step, release) in package.newer_versions(*newer).iter().enumerate() {
                        let fixed = step >= newer / 2;
                        let objects: Vec<SharedObject> = shared_objects
                            .iter()
                            .map(|(name, signature, size)| {
                                let signature = match (fixed, *signature) {
                                    (true, "numpy1" | "cython-numpy1") => "numpy2",
                                    (_, signature) => signature,
                                };
                                (name.clone(), signature, *size)
                            })
                            .collect();
                        let upload = if fixed { AFTER_NUMPY2 } else { BEFORE_NUMPY2 };
                        release_toml(&mut text, release, upload, &requires);
                        file_toml(&mut text, TAG_CP311, &members(&package_dir, &objects, 311));
                    }
                }
                Kind::SdistOnly => {
                    let requires = self.requires_dist(package, Some("numpy>=1.20"));
                    release_toml(&mut text, &version, BEFORE_NUMPY2, &requires);
                    file_toml(&mut text, "sdist", &[]);
                }
            }
            std::fs::write(dir.join(format!("{}.toml", package.name)), text)
                .expect("write a description");
        }
    }

    /// The project's `uv.lock`, with every file's hash and size as uv records them.
    fn uv_lock(&self, index: &FixtureIndex) -> String {
        let mut lock = String::from("version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n");
        // Locked against the index it is audited against, as a lock made against PyPI is.
        let registry = format!("source = {{ registry = \"{}\" }}\n", index.simple_url());
        let registry = registry.as_str();
        let mut entries: BTreeMap<String, String> = BTreeMap::new();

        let mut root = String::from(
            "name = \"fleet-app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n",
        );
        let mut direct: Vec<&str> = self
            .direct
            .iter()
            .map(|&index| self.packages[index].name.as_str())
            .chain(["numpy"])
            .collect();
        direct.sort_unstable();
        for name in &direct {
            writeln!(root, "    {{ name = \"{name}\" }},").unwrap();
        }
        root.push_str("]\n\n[package.metadata]\nrequires-dist = [\n");
        for name in &direct {
            let specifier = if *name == "numpy" { ">=1.24" } else { ">=0" };
            writeln!(
                root,
                "    {{ name = \"{name}\", specifier = \"{specifier}\" }},"
            )
            .unwrap();
        }
        root.push_str("]\n");
        entries.insert("fleet-app".into(), root);

        let files = |name: &str, version: &str| -> String {
            let mut text = String::new();
            let distribution = name.replace('-', "_");
            let mut wheels = Vec::new();
            for filename in index.filenames(name) {
                let Some(rest) = filename.strip_prefix(&format!("{distribution}-{version}")) else {
                    continue;
                };
                let (Some(bytes), Some(sha256)) =
                    (index.file_bytes(&filename), index.file_sha256(&filename))
                else {
                    continue;
                };
                let entry = format!(
                    "{{ url = \"{}\", hash = \"sha256:{sha256}\", size = {}, upload-time = \"{AFTER_NUMPY2}\" }}",
                    index.file_url(&filename),
                    bytes.len()
                );
                if rest == ".tar.gz" {
                    writeln!(text, "sdist = {entry}").unwrap();
                } else if rest.starts_with('-') {
                    wheels.push(entry);
                }
            }
            if !wheels.is_empty() {
                text.push_str("wheels = [\n");
                for wheel in wheels {
                    writeln!(text, "    {wheel},").unwrap();
                }
                text.push_str("]\n");
            }
            text
        };

        entries.insert(
            "numpy".into(),
            format!(
                "name = \"numpy\"\nversion = \"1.26.4\"\n{registry}{}",
                files("numpy", "1.26.4")
            ),
        );
        for package in &self.packages {
            let version = package.version();
            let mut text = format!(
                "name = \"{}\"\nversion = \"{version}\"\n{registry}",
                package.name
            );
            let mut dependencies: Vec<&str> = package
                .dependencies
                .iter()
                .map(|&dependency| self.packages[dependency].name.as_str())
                .collect();
            let uses_numpy = match &package.kind {
                Kind::Pure { numpy } => *numpy,
                Kind::Capped { .. } | Kind::SdistOnly => true,
                Kind::Compiled { build, .. } => build.uses_numpy(),
            };
            if uses_numpy {
                dependencies.push("numpy");
            }
            dependencies.sort_unstable();
            if !dependencies.is_empty() {
                text.push_str("dependencies = [\n");
                for name in dependencies {
                    writeln!(text, "    {{ name = \"{name}\" }},").unwrap();
                }
                text.push_str("]\n");
            }
            text.push_str(&files(&package.name, &version));
            entries.insert(package.name.clone(), text);
        }
        for entry in entries.values() {
            lock.push_str("\n[[package]]\n");
            lock.push_str(entry);
        }
        lock
    }
}

fn kind_label(kind: &Kind) -> &'static str {
    match kind {
        Kind::Pure { .. } => "pure",
        Kind::Capped { .. } => "capped",
        Kind::Compiled { build, .. } => match build {
            Build::Numpy2 => "ext",
            Build::NoNumpy => "native",
            Build::Numpy1 | Build::CythonNumpy1 => "oldext",
            Build::RuntimeLookup => "bind",
        },
        Kind::SdistOnly => "sdist",
    }
}

/// The shared objects of a compiled wheel, in sizes like real ones: a few small extension
/// modules that use no NumPy, one to three (larger) that do, and often a bundled library.
/// Sizes follow real wheels: most compiled wheels are 0.3–5 MB, a tenth 15–40 MB.
fn shared_objects(random: &mut Random, build: Build) -> Vec<SharedObject> {
    const KIB: usize = 1024;
    let large = random.chance(10);
    let mut objects = Vec::new();
    for index in 0..random.range(0, 4) {
        objects.push((
            format!("_speedups{index}"),
            "none",
            random.range(16 * KIB, 160 * KIB),
        ));
    }
    if build.uses_numpy() {
        let (low, high) = if large {
            (1024 * KIB, 6144 * KIB)
        } else {
            (200 * KIB, 3072 * KIB)
        };
        for index in 0..random.range(1, 4) {
            objects.push((
                format!("_core{index}"),
                build.signature(),
                random.range(low, high),
            ));
        }
    } else {
        objects.push((
            "_native".into(),
            "none",
            random.range(100 * KIB, 2048 * KIB),
        ));
    }
    // Bundled the way auditwheel bundles them in real wheels: the large one is BLAS (scipy,
    // sklearn), the small ones a compiler runtime.
    if large {
        objects.push((
            "libopenblasp-r0".into(),
            "none",
            random.range(12 * 1024 * KIB, 30 * 1024 * KIB),
        ));
    } else if random.chance(40) {
        objects.push((
            "libgfortran".into(),
            "none",
            random.range(512 * KIB, 4096 * KIB),
        ));
    }
    objects
}

/// `shared-objects = [...]` entries: extension modules tagged for CPython `python`,
/// libraries in `<package>.libs/`.
fn members(package_dir: &str, objects: &[SharedObject], python: u32) -> Vec<String> {
    objects
        .iter()
        .map(|(name, signature, size)| {
            let path = if name.starts_with("lib") {
                format!("{package_dir}.libs/{name}-5f3a9c1e.so.1")
            } else {
                format!("{package_dir}/{name}.cpython-{python}-x86_64-linux-gnu.so")
            };
            format!("{{ name = \"{path}\", signature = \"{signature}\", size = {size} }}")
        })
        .collect()
}

fn release_toml(text: &mut String, version: &str, upload: &str, requires: &[String]) {
    let requires: Vec<String> = requires.iter().map(|r| format!("{r:?}")).collect();
    write!(
        text,
        "\n[[release]]\nversion = \"{version}\"\nrequires-python = \">=3.9\"\nupload-time = \"{upload}\"\nrequires-dist = [{}]\n",
        requires.join(", ")
    )
    .unwrap();
}

fn file_toml(text: &mut String, tag: &str, shared_objects: &[String]) {
    write!(text, "\n[[release.file]]\ntag = \"{tag}\"\n").unwrap();
    if !shared_objects.is_empty() {
        writeln!(text, "shared-objects = [{}]", shared_objects.join(", ")).unwrap();
    }
}

/// numpy, which is never judged: only its page is read, to choose the target.
const NUMPY_DESCRIPTION: &str = r#"name = "numpy"

[[release]]
version = "1.26.4"
requires-python = ">=3.9"
upload-time = "2024-02-05T21:30:00Z"

[[release.file]]
tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
shared-objects = [{ name = "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", signature = "numpy1" }]

[[release.file]]
tag = "sdist"

[[release]]
version = "2.2.6"
requires-python = ">=3.10"
upload-time = "2025-05-17T21:30:00Z"

[[release.file]]
tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
shared-objects = [{ name = "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", signature = "numpy2" }]

[[release]]
version = "2.3.5"
requires-python = ">=3.11"
upload-time = "2025-11-16T22:00:00Z"

[[release.file]]
tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
shared-objects = [{ name = "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", signature = "numpy2" }]
"#;
