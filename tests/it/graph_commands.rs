//! `np2audit tree` and `np2audit graph` on the real lockfiles: the text tree is the one
//! `uv tree` printed for the same lock, byte for byte.

use std::path::Path;
use std::process::Command;

fn np2audit(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_np2audit"))
        .args(args)
        .output()
        .expect("run np2audit");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn folder(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/lockfiles")
        .join(name)
}

const LOCKS: [&str; 4] = [
    "ds2023-numpy1",
    "modern-numpy2",
    "markers-extras-groups",
    "NWC-CUAHSI-Summer-Institute__NCEP",
];

#[test]
fn tree_matches_uv_tree_universal_and_for_one_environment() {
    for name in LOCKS {
        let dir = folder(name);
        let lock = dir.join("uv.lock").display().to_string();
        let (code, universal, stderr) = np2audit(&["tree", &lock]);
        assert_eq!(code, 0, "{stderr}");
        let expected = std::fs::read_to_string(dir.join("uv-tree-universal.txt")).unwrap();
        assert!(
            universal == expected,
            "{name}: universal tree differs from uv's:\n{universal}"
        );
        let local = dir.join("uv-tree.txt");
        // uv-tree.txt was printed on Linux x86_64 with CPython 3.11.7.
        if name != "NWC-CUAHSI-Summer-Institute__NCEP" {
            let (_, tree, _) = np2audit(&[
                "tree",
                &lock,
                "--python-version",
                "3.11",
                "--python-platform",
                "linux",
            ]);
            assert!(
                tree == std::fs::read_to_string(local).unwrap(),
                "{name}: tree for linux/3.11 differs:\n{tree}"
            );
        }
    }
}

#[test]
fn inverted_tree_reaches_every_dependent_of_numpy() {
    let dir = folder("ds2023-numpy1");
    let lock = dir.join("uv.lock").display().to_string();
    let (code, tree, stderr) = np2audit(&["tree", &lock, "--invert", "numpy"]);
    assert_eq!(code, 0, "{stderr}");
    let names = |text: &str| {
        let mut names: Vec<String> = text
            .lines()
            .filter_map(|line| {
                line.trim_start_matches(['│', '├', '└', '─', ' '])
                    .split(' ')
                    .next()
                    .map(str::to_string)
            })
            .filter(|name| !name.is_empty() && name != "(*)")
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let expected = std::fs::read_to_string(dir.join("uv-tree-invert-numpy.txt")).unwrap();
    assert_eq!(names(&tree), names(&expected));
    let (code, _, stderr) = np2audit(&["tree", &lock, "--invert", "not-there"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`not-there` is not in the lock"),
        "{stderr}"
    );
    let (_, shallow, _) = np2audit(&["tree", &lock, "--depth", "1"]);
    assert!(
        shallow
            .lines()
            .all(|line| !line.starts_with("│   ") && !line.starts_with("    ")),
        "{shallow}"
    );
}

#[test]
fn graph_exports_every_edge_of_the_lock() {
    let dir = folder("markers-extras-groups");
    let lock = dir.join("uv.lock").display().to_string();
    let (code, json, stderr) = np2audit(&["graph", &lock, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let graph: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(graph["schema_version"], 1);
    assert_eq!(graph["lockfile"]["format"], "uv.lock");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tree.json")).unwrap()).unwrap();
    let nodes = graph["nodes"].as_array().unwrap();
    // Every locked package plus the project itself.
    assert_eq!(
        nodes.len() as u64,
        truth["locked_package_count"].as_u64().unwrap() + 1
    );
    let edges = graph["edges"].as_array().unwrap();
    assert_eq!(
        edges.len(),
        truth["edges_detailed"].as_array().unwrap().len()
    );
    assert!(edges.iter().any(|e| e["extra"] == "performance"));
    assert!(edges.iter().any(|e| e["group"] == "dev"));
    assert!(
        edges
            .iter()
            .any(|e| e["marker"] == "sys_platform == 'win32'")
    );
    // One environment keeps only what it installs.
    let (_, windows, _) = np2audit(&[
        "graph",
        &lock,
        "--format",
        "json",
        "--python-platform",
        "windows",
        "--python-version",
        "3.11",
    ]);
    let windows: serde_json::Value = serde_json::from_str(&windows).unwrap();
    assert!(windows["edges"].as_array().unwrap().len() < edges.len());

    let (_, dot, _) = np2audit(&["graph", &lock, "--format", "dot"]);
    assert!(dot.starts_with("digraph dependencies {") && dot.trim_end().ends_with('}'));
    assert_eq!(dot.matches(" -> ").count(), edges.len());
    let (_, mermaid, _) = np2audit(&["graph", &lock, "--format", "mermaid"]);
    assert!(mermaid.starts_with("flowchart LR"));
    assert_eq!(mermaid.matches(" -->").count(), edges.len());
}
