//! The source scan: uses of what NumPy removed (the [`removed`](super::removed) table) in a
//! release's Python modules, found with ruff's parser rather than by matching text.
//!
//! The [walk](walk) of each module finds how numpy is bound (`import numpy as np`,
//! `from numpy import in1d as f`, imports inside functions), the attribute chains, calls and
//! `getattr`s that reach a table entry, and what runs when the module is imported (module level,
//! class bodies, decorators, default arguments) rather than when a function is called. The
//! [resolution](resolve) then follows calls between the release's own modules, so a use inside
//! a helper that module-level code calls counts at import, and a helper that applies
//! `numpy.dtype` to its parameter fails for the callers that pass `np.floating`.
//!
//! Uses the code guards itself are left out: inside a `try` that catches what the use raises
//! (`AttributeError` for a name, `ImportError` for an import, `TypeError` for a call form, or
//! anything broader), under `hasattr(np, …)`, under `TYPE_CHECKING`. A NumPy version test the
//! scan reads (`NUMPY_LT_2_0`, `np.__version__ >= "2"`) is kept as a condition on the use; one
//! it cannot read guards its branches. Strings and comments are never code. What is found does
//! not depend on the target NumPy: the verdict picks the uses of what the target removed, under
//! the versions they run under.

mod conditions;
mod facts;
mod held;
mod resolve;
mod walk;

use serde::{Deserialize, Serialize};

use super::removed::RemovedTable;

/// One use of a table entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceUse {
    /// The module's path (in the wheel, on disk, or in the project).
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The entry's path (`numpy.in1d`, `numpy.dtype(numpy.inexact)` for a call form).
    pub path: String,
    /// Runs when the module is imported (else only when a function is called).
    pub at_import: bool,
    /// Happens whenever the code runs; false when a call it goes through may not reach it
    /// (an `if` the scan cannot decide, a loop, an early `return`).
    #[serde(default = "yes")]
    pub definite: bool,
    /// The NumPy versions it runs under, as PEP 440 specifiers (`>=1.24`), when version tests
    /// enclose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
    /// The calls that reach it from `file:line`, then where it is: `lch2rgb() at
    /// pkg/_colors.py:13`, …, `pkg/_colorconv.py:819`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

fn yes() -> bool {
    true
}

/// What scanning one module found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ModuleScan {
    pub uses: Vec<SourceUse>,
    /// The module did not parse (Python 2, a template): nothing was read from it.
    pub unparsable: bool,
}

/// Bump when the source scan changes what it finds: cached source scans are redone (the
/// table's own fingerprint is part of their key as well).
pub const SOURCE_SCANNER_VERSION: u32 = 8;

/// What the source scan found in one release (whatever the target: the verdict picks the uses
/// of what the target removed).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceScan {
    pub uses: Vec<SourceUse>,
    /// Modules read (tests, docs and examples left out).
    pub modules: usize,
    /// Modules that did not parse: they fail to import whatever NumPy is installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// Modules that could not be read (`path: why`): what they use is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// Whether a member of a wheel (or an installed file) is a Python module the scan reads.
pub fn is_scanned_module(path: &str) -> bool {
    path.ends_with(".py") && !path.contains(".dist-info/") && !is_test_or_doc(path)
}

/// Scan modules already read, together: `(path, bytes or why they could not be read)`. Calls
/// between them are followed.
pub fn scan_modules(
    modules: impl IntoIterator<Item = (String, Result<Vec<u8>, String>)>,
    table: &RemovedTable,
) -> SourceScan {
    let mut scanner = ModuleScanner::new(table);
    for (path, bytes) in modules {
        scanner.add(path, bytes);
    }
    scanner.finish()
}

/// Modules scanned as they arrive: each is parsed and walked at once and only what it does is
/// kept, so a release's text is never held whole; calls between them are resolved at the end.
pub struct ModuleScanner<'a> {
    table: &'a RemovedTable,
    scan: SourceScan,
    walked: Vec<held::HeldModule>,
    /// The release's top-level packages, when known before its modules are walked.
    packages: Option<std::collections::HashSet<String>>,
}

impl<'a> ModuleScanner<'a> {
    pub fn new(table: &'a RemovedTable) -> Self {
        ModuleScanner {
            table,
            scan: SourceScan::default(),
            walked: Vec::new(),
            packages: None,
        }
    }

    /// Tell the scanner every module path the release has (before any is added), so that calls
    /// into other packages are dropped as each module is walked instead of held to the end.
    pub fn with_paths<'p>(mut self, paths: impl IntoIterator<Item = &'p str>) -> Self {
        self.packages = Some(
            paths
                .into_iter()
                .map(|path| {
                    let module = facts::module_name(path);
                    module.split('.').next().unwrap_or_default().to_string()
                })
                .collect(),
        );
        self
    }

    /// One module: its bytes, or why they could not be read.
    pub fn add(&mut self, path: String, bytes: Result<Vec<u8>, String>) {
        self.scan.modules += 1;
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(why) => {
                self.scan.unread.push(format!("{path}: {why}"));
                return;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        match walk::walk_module(&path, &text, self.table) {
            Some(mut facts) => {
                if let Some(packages) = &self.packages {
                    walk::forget_calls_outside(&mut facts, packages);
                }
                self.walked.push(held::HeldModule::hold(facts));
            }
            None => self.scan.unreadable.push(path),
        }
    }

    pub fn finish(mut self) -> SourceScan {
        self.scan.uses = resolve::Program::new(&self.walked, self.table).uses();
        self.scan
    }
}

/// Scan the project's own Python files under `root`: every `.py` file the project's
/// `.gitignore` files keep (hidden directories and virtualenvs left out), tests included — they
/// are the project's code too. Paths are reported relative to `root`.
pub fn scan_project(root: &std::path::Path, table: &RemovedTable) -> SourceScan {
    let walk = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        // A project that is not (yet) a git repository still means its .gitignore.
        .require_git(false)
        .filter_entry(|entry| {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy();
            // Virtualenvs and build outputs that no .gitignore names.
            !(path.join("pyvenv.cfg").is_file()
                || matches!(
                    name.as_ref(),
                    "node_modules" | "__pypackages__" | "site-packages"
                ))
        })
        .build();
    let mut files: Vec<(String, std::path::PathBuf)> = walk
        .flatten()
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "py"))
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            (relative, entry.path().to_path_buf())
        })
        .collect();
    files.sort();
    scan_modules(
        files.into_iter().map(|(name, path)| {
            (
                name,
                std::fs::read(&path).map_err(|error| error.to_string()),
            )
        }),
        table,
    )
}

/// Whether a module path belongs to tests, docs or examples, which a release's users do not
/// import: their uses are left out.
pub fn is_test_or_doc(path: &str) -> bool {
    let mut components = path.split('/');
    let file = path.rsplit('/').next().unwrap_or(path);
    components.any(|component| {
        matches!(
            component,
            "tests" | "test" | "testing" | "docs" | "doc" | "examples" | "benchmarks"
        )
    }) || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
}

/// Scan one module alone (its calls into other modules are not followed).
pub fn scan_module(file: &str, text: &str, table: &RemovedTable) -> ModuleScan {
    let Some(facts) = walk::walk_module(file, text, table) else {
        return ModuleScan {
            uses: Vec::new(),
            unparsable: true,
        };
    };
    let modules = [held::HeldModule::hold(facts)];
    ModuleScan {
        uses: resolve::Program::new(&modules, table).uses(),
        unparsable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RemovedTable {
        RemovedTable::parse(
            r#"
[[removed]]
path = "numpy.float_"
kind = "attribute"
removed_in = "2.0"
replacement = "numpy.float64"
source = "t"

[[removed]]
path = "numpy.in1d"
kind = "attribute"
removed_in = "2.4"
replacement = "numpy.isin"
source = "t"

[[removed]]
path = "numpy.lib.function_base.trapz"
kind = "attribute"
removed_in = "2.0"
source = "t"

[[removed]]
path = "numpy.linalg.linalg"
kind = "module"
removed_in = "2.0"
source = "t"

[[removed]]
path = "numpy.dtype"
kind = "call"
removed_in = "2.3"
source = "t"
function = "numpy.dtype"
argument = "numpy.inexact"

[[removed]]
path = "numpy.dtype"
kind = "call"
removed_in = "2.3"
source = "t"
function = "numpy.dtype"
argument = "numpy.floating"

[[removed]]
path = "numpy.dtype"
kind = "call"
removed_in = "2.0"
source = "t"
function = "numpy.dtype"
argument = "'int0'"

[[removed]]
path = "numpy.compat"
kind = "module"
removed_in = "2.3"
source = "t"
"#,
        )
        .unwrap()
    }

    /// `(line, path, at import)` of each use in `source` that happens under NumPy 2.4.
    fn uses(source: &str) -> Vec<(usize, String, bool)> {
        scan_module("m.py", source, &table())
            .uses
            .into_iter()
            .filter(|u| runs_under(u, "2.4"))
            .map(|u| (u.line, u.path, u.at_import))
            .collect()
    }

    fn runs_under(found: &SourceUse, numpy: &str) -> bool {
        let version: pep440_rs::Version = numpy.parse().unwrap();
        found.requires.as_ref().is_none_or(|requires| {
            requires
                .parse::<pep440_rs::VersionSpecifiers>()
                .unwrap()
                .contains(&version)
        })
    }

    /// Every use of a release made of `modules` (path, text), with what the scan says of it.
    fn release(modules: &[(&str, &str)]) -> Vec<SourceUse> {
        scan_modules(
            modules
                .iter()
                .map(|(path, text)| (path.to_string(), Ok(text.as_bytes().to_vec()))),
            &table(),
        )
        .uses
    }

    fn found(line: usize, path: &str, at_import: bool) -> (usize, String, bool) {
        (line, path.to_string(), at_import)
    }

    #[test]
    fn every_way_of_binding_numpy_is_followed() {
        assert_eq!(
            uses("import numpy as np\nx = np.float_\n"),
            [found(2, "numpy.float_", true)]
        );
        assert_eq!(
            uses("import numpy\nx = numpy.in1d([1], [1])\n"),
            [found(2, "numpy.in1d", true)]
        );
        // The from-import is the use: it fails when the module is imported.
        assert_eq!(
            uses("from numpy import in1d as isin_\nisin_([1], [2])\n"),
            [found(1, "numpy.in1d", true)]
        );
        assert_eq!(
            uses("from numpy.lib import function_base as fb\nfb.trapz([1])\n"),
            [found(2, "numpy.lib.function_base.trapz", true)]
        );
        assert_eq!(
            uses("import numpy.linalg.linalg\n"),
            [found(1, "numpy.linalg.linalg", true)]
        );
        assert_eq!(
            uses("from numpy.linalg.linalg import norm\n"),
            [found(1, "numpy.linalg.linalg", true)]
        );
        assert_eq!(
            uses("import numpy as np\nnp.linalg.linalg.norm([1.0])\n"),
            [found(2, "numpy.linalg.linalg", true)]
        );
        // Other packages' attributes of the same name, and numpy's names that remain, are not
        // uses.
        assert_eq!(uses("import pandas as np\nnp.float_\n"), []);
        assert_eq!(uses("import numpy as np\nnp.float64\nnp.isin\n"), []);
    }

    #[test]
    fn calls_match_their_argument() {
        assert_eq!(
            uses("import numpy as np\nnp.dtype(np.inexact)\n"),
            [found(2, "numpy.dtype(numpy.inexact)", true)]
        );
        assert_eq!(
            uses("import numpy as np\nnp.dtype('int0')\n"),
            [found(2, "numpy.dtype('int0')", true)]
        );
        // What becomes a dtype: `dtype=` to a numpy function, `.astype(…)`.
        assert_eq!(
            uses("import numpy as np\nnp.zeros(3, dtype=np.floating)\nx.astype(np.inexact)\n"),
            [
                found(2, "numpy.dtype(numpy.floating)", true),
                found(3, "numpy.dtype(numpy.inexact)", true)
            ]
        );
        assert_eq!(uses("import numpy as np\nnp.dtype(np.float64)\n"), []);
    }

    #[test]
    fn what_runs_at_import_is_told_from_what_runs_when_called() {
        let source = "\
import numpy as np

DEFAULT = np.float_

class Grid:
    kind = np.float_

    def area(self, dtype=np.float_):
        return np.in1d(self.cells, [1])

@register(np.float_)
def f():
    return lambda: np.in1d([1], [1])
";
        assert_eq!(
            uses(source),
            [
                found(3, "numpy.float_", true),
                found(6, "numpy.float_", true),
                found(8, "numpy.float_", true),
                found(9, "numpy.in1d", false),
                found(11, "numpy.float_", true),
                found(13, "numpy.in1d", false),
            ]
        );
    }

    #[test]
    fn numpy_imported_inside_a_function_is_followed_there_only() {
        let source = "\
def f():
    import numpy as np
    return np.in1d([1], [1])

np = None
np.in1d
";
        assert_eq!(uses(source), [found(3, "numpy.in1d", false)]);
    }

    #[test]
    fn guarded_uses_are_left_out() {
        let guarded = [
            "import numpy as np\ntry:\n    f = np.in1d\nexcept AttributeError:\n    f = np.isin\n",
            "import numpy as np\ntry:\n    from numpy import in1d\nexcept (ImportError, ValueError):\n    pass\n",
            "import numpy as np\ntry:\n    f = np.in1d\nexcept:\n    pass\n",
            "import numpy as np\nif hasattr(np, 'in1d'):\n    f = np.in1d\n",
            "import numpy as np\nif not hasattr(np, 'isin'):\n    f = np.isin\nelse:\n    f = np.in1d\n",
            "import numpy as np\nif np.__version__ < '2':\n    f = np.float_\n",
            "import numpy as np\nfrom numpy.lib import NumpyVersion\nif NumpyVersion(np.__version__) >= '2.0.0':\n    pass\nelse:\n    f = np.float_\n",
            "import numpy as np\nif np.lib.NumpyVersion(np.__version__) < '2.0.0':\n    f = np.float_\n",
            "import numpy as np\nfrom astropy.utils.compat import NUMPY_LT_2_0\nif NUMPY_LT_2_0:\n    f = np.float_\n",
            "import numpy as np\nf = np.float_ if np_version < (2,) else np.float64\n",
            "import numpy as np\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    x: np.float_\n",
        ];
        for source in guarded {
            assert_eq!(uses(source), [], "{source}");
        }
        // A try that catches something else does not guard; an unrelated `if` does not either.
        assert_eq!(
            uses("import numpy as np\ntry:\n    f = np.in1d\nexcept KeyError:\n    pass\n"),
            [found(3, "numpy.in1d", true)]
        );
        assert_eq!(
            uses("import numpy as np\nif HAS_SCIPY:\n    f = np.in1d\n"),
            [found(3, "numpy.in1d", true)]
        );
    }

    #[test]
    fn strings_comments_and_scripts_are_not_uses() {
        let source = "\
import numpy as np
# np.float_ is gone
DOC = \"use np.float_ instead\"
if __name__ == \"__main__\":
    print(np.float_)
";
        assert_eq!(uses(source), [found(5, "numpy.float_", false)]);
    }

    #[test]
    fn annotations_count_unless_postponed() {
        assert_eq!(
            uses("import numpy as np\ndef f(x: np.float_) -> None:\n    pass\n"),
            [found(2, "numpy.float_", true)]
        );
        assert_eq!(
            uses(
                "from __future__ import annotations\nimport numpy as np\ndef f(x: np.float_) -> None:\n    pass\n"
            ),
            []
        );
    }

    #[test]
    fn unparsable_modules_are_said_so() {
        let scan = scan_module("m.py", "print 'python 2'\n", &table());
        assert!(scan.unparsable && scan.uses.is_empty());
    }

    #[test]
    fn tests_and_docs_are_told_apart() {
        for path in [
            "pkg/tests/test_a.py",
            "pkg/testing/util.py",
            "pkg/docs/conf.py",
            "pkg/test_x.py",
            "pkg/conftest.py",
            "pkg/examples/demo.py",
        ] {
            assert!(is_test_or_doc(path), "{path}");
        }
        for path in ["pkg/core.py", "pkg/contest.py", "pkg/testimony/x.py"] {
            assert!(!is_test_or_doc(path), "{path}");
        }
    }

    #[test]
    fn version_tests_the_scan_reads_are_kept_as_conditions() {
        let scan = release(&[(
            "m.py",
            "import numpy as np\nfrom astropy.utils.compat import NUMPY_LT_1_24\nif NUMPY_LT_1_24:\n    a = np.float_\nelse:\n    b = np.in1d\n",
        )]);
        let told: Vec<(usize, Option<&str>)> = scan
            .iter()
            .map(|u| (u.line, u.requires.as_deref()))
            .collect();
        assert_eq!(told, [(4, Some("<1.24")), (6, Some(">=1.24"))]);
        // An elif chain: each branch under what the tests before it were not.
        let scan = release(&[(
            "m.py",
            "import numpy as np\nif np_version < (1, 25):\n    pass\nelif np_version < (2, 4):\n    x = np.in1d\n",
        )]);
        assert_eq!(scan[0].requires.as_deref(), Some(">=1.25,<2.4"));
        assert!(!runs_under(&scan[0], "2.4") && runs_under(&scan[0], "2.3"));
        // A test the scan cannot read guards both branches.
        assert!(
            release(&[(
                "m.py",
                "import numpy as np\nif np.__version__ in OLD:\n    x = np.in1d\nelse:\n    y = np.in1d\n"
            )])
            .is_empty()
        );
    }

    #[test]
    fn an_except_clause_guards_only_what_it_catches() {
        // `np.in1d` raises AttributeError: an `except ImportError` does not catch it.
        assert_eq!(
            uses("import numpy as np\ntry:\n    f = np.in1d\nexcept ImportError:\n    pass\n"),
            [found(3, "numpy.in1d", true)]
        );
        // A call form raises TypeError.
        assert_eq!(
            uses(
                "import numpy as np\ntry:\n    np.dtype(np.inexact)\nexcept AttributeError:\n    pass\n"
            ),
            [found(3, "numpy.dtype(numpy.inexact)", true)]
        );
        assert_eq!(
            uses(
                "import numpy as np\ntry:\n    np.dtype(np.inexact)\nexcept TypeError:\n    pass\n"
            ),
            []
        );
        assert_eq!(
            uses(
                "import numpy as np\nimport contextlib\nwith contextlib.suppress(AttributeError):\n    f = np.in1d\n"
            ),
            []
        );
    }

    #[test]
    fn getattr_on_numpy_with_a_name_the_scan_knows_is_a_use() {
        assert_eq!(
            uses("import numpy as np\nf = getattr(np, 'in1d')\ng = getattr(np, 'in1d', None)\n"),
            [found(2, "numpy.in1d", true)]
        );
        assert_eq!(
            uses(
                "import numpy as np\nfor name in ('isin', 'in1d'):\n    globals()[name] = getattr(np, name)\n"
            ),
            [found(3, "numpy.in1d", true)]
        );
    }

    /// shap 0.46.0: module-level code calls a helper in another module that passes
    /// `np.floating` to a function applying `np.dtype` to its parameter.
    #[test]
    fn a_use_reached_through_calls_at_import_counts_at_import() {
        let colorconv = "\
import numpy as np

def convert(image, dtype, force_copy=False):
    image = np.asarray(image)
    if dtype is np.floating:
        out = np.dtype('float64')
    else:
        out = np.dtype(dtype)
    if np.issubdtype(image.dtype, np.dtype(dtype).type):
        return image
    return image

def img_as_float(image, force_copy=False):
    return convert(image, np.floating, force_copy)

def lab2rgb(lab):
    arr = np.asarray(lab)
    if arr.shape[-1] < 3:
        raise ValueError('bad shape')
    return img_as_float(arr)
";
        let colors = "\
from ._colorconv import lab2rgb
try:
    import matplotlib

    def lch2rgb(x):
        return lab2rgb([[x]])[0][0]

    blue_rgb = lch2rgb([54.0, 70.0, 4.6])
except ImportError:
    pass
";
        let scan = release(&[
            ("shap/plots/colors/_colorconv.py", colorconv),
            ("shap/plots/colors/_colors.py", colors),
        ]);
        let at_import: Vec<&SourceUse> = scan.iter().filter(|u| u.at_import).collect();
        assert_eq!(at_import.len(), 1, "{scan:#?}");
        let found = at_import[0];
        assert_eq!(
            (
                found.file.as_str(),
                found.line,
                found.path.as_str(),
                found.definite
            ),
            (
                "shap/plots/colors/_colors.py",
                8,
                "numpy.dtype(numpy.floating)",
                true
            ),
            "the call that surely runs (line 9) decides, not the one in an else branch (line 7)"
        );
        assert_eq!(
            found.via,
            [
                "lch2rgb() at shap/plots/colors/_colors.py:8",
                "lab2rgb() at shap/plots/colors/_colors.py:6",
                "img_as_float() at shap/plots/colors/_colorconv.py:20",
                "convert() at shap/plots/colors/_colorconv.py:14",
                "shap/plots/colors/_colorconv.py:9",
            ]
        );
        // Where the failing argument is passed, the function is told too (when called).
        assert!(
            scan.iter().any(|u| !u.at_import
                && u.file == "shap/plots/colors/_colorconv.py"
                && u.line == 14)
        );
    }

    /// astropy 6.1.0: a registry decorator looks each decorated function's name up on numpy.
    #[test]
    fn a_decorator_that_looks_names_up_on_numpy_uses_the_decorated_name() {
        let helpers = "\
import numpy as np

class FunctionAssigner:
    def __init__(self, assignments):
        self.assignments = assignments

    def __call__(self, f=None, helps=None, module=np):
        if f is not None:
            if helps is None:
                helps = getattr(module, f.__name__)
            for h in helps:
                self.assignments[h] = f
            return f
        elif helps is not None or module is not np:
            return functools.partial(self.__call__, helps=helps, module=module)

function_helper = FunctionAssigner({})

@function_helper
def isin(element, test_elements):
    return element

@function_helper(helps={np.isin})
def in1d(ar1, ar2):
    return ar1

@function_helper
def in1d(ar1, ar2):
    return ar1
";
        let masked = "\
from astropy.units.quantity_helper.function_helpers import FunctionAssigner
from astropy.utils.compat import NUMPY_LT_1_24

dispatched_function = FunctionAssigner({})

if NUMPY_LT_1_24:
    @dispatched_function
    def in1d(ar1, ar2):
        pass
else:
    @dispatched_function
    def in1d(ar1, ar2, *, kind=None):
        pass
";
        let scan = release(&[
            ("astropy/units/quantity_helper/function_helpers.py", helpers),
            ("astropy/utils/masked/function_helpers.py", masked),
        ]);
        let told: Vec<(&str, usize, bool, Option<&str>)> = scan
            .iter()
            .filter(|u| u.at_import)
            .map(|u| (u.file.as_str(), u.line, u.definite, u.requires.as_deref()))
            .collect();
        assert_eq!(
            told,
            [
                (
                    "astropy/units/quantity_helper/function_helpers.py",
                    27,
                    true,
                    None
                ),
                (
                    "astropy/utils/masked/function_helpers.py",
                    7,
                    true,
                    Some("<1.24")
                ),
                (
                    "astropy/utils/masked/function_helpers.py",
                    11,
                    true,
                    Some(">=1.24")
                ),
            ],
            "{scan:#?}"
        );
    }

    /// What an assignment stores into is evaluated: a registry keyed by numpy functions.
    #[test]
    fn uses_inside_assignment_targets_count() {
        let source = "\
import numpy as np

HANDLED = {}

def register(function):
    HANDLED[getattr(np, function.__name__)] = function
    return function

@register
def in1d(a, b):
    return a

HANDLED[np.float_] = float
np.product = None
";
        let scan = release(&[("m.py", source)]);
        let at_import: Vec<(usize, &str, bool)> = scan
            .iter()
            .filter(|u| u.at_import)
            .map(|u| (u.line, u.path.as_str(), u.definite))
            .collect();
        assert_eq!(
            at_import,
            [(9, "numpy.in1d", true), (13, "numpy.float_", true)],
            "setting `np.product` is no use of it: {scan:#?}"
        );
    }

    /// matplotlib 3.11, scipy 1.17, joblib 1.6: the new name first, the removed one as the
    /// fallback of a probe that only imports from numpy. The fallback never runs under a NumPy
    /// that has the new name (all of them import under NumPy 2.4.6).
    #[test]
    fn the_fallback_of_a_numpy_probe_runs_only_where_the_probe_fails() {
        let source = "\
import numpy as np

try:
    from numpy.exceptions import VisibleDeprecationWarning
except ImportError:
    from numpy import VisibleDeprecationWarning

def solve(a, b):
    try:
        from numpy.linalg._linalg import _makearray
    except ImportError:
        from numpy.linalg.linalg import _makearray
    return _makearray(a)

try:
    from numpy import in1d
except ImportError:
    FALLBACK = np.float_

try:
    import matplotlib
except ImportError:
    ALIAS = np.float_

if sys.platform == 'win32':
    WINDOWS = np.float_
";
        let scan = release(&[("m.py", source)]);
        let told: Vec<(usize, &str, bool, Option<&str>)> = scan
            .iter()
            .map(|u| (u.line, u.path.as_str(), u.definite, u.requires.as_deref()))
            .collect();
        assert_eq!(
            told,
            [
                // The probe uses `in1d` (removed in 2.4): its fallback runs from 2.4 on.
                (18, "numpy.float_", true, Some(">=2.4")),
                // After a probe of something else, the handler may run: never definite.
                (23, "numpy.float_", false, None),
                // A branch the scan cannot decide may not run at import either.
                (26, "numpy.float_", false, None),
            ],
            "{scan:#?}"
        );
    }

    /// dask 2026.8: flags assigned a version test decide by what they were assigned; digits
    /// run together in a flag's name (`GE_200` is 2.0, `GE_125` is 1.25) say nothing for sure.
    #[test]
    fn flags_assigned_a_version_test_are_read_from_the_assignment() {
        let source = "\
import numpy as np
from packaging.version import Version

_np_version = Version(np.__version__)
NUMPY_GE_200 = _np_version.release >= (2, 0)

if NUMPY_GE_200:
    EPS = np.float64
else:
    EPS = np.float_

if NUMPY_GE_210:
    pass
else:
    X = np.float_
";
        let scan = release(&[("m.py", source)]);
        let told: Vec<(usize, Option<&str>)> = scan
            .iter()
            .map(|u| (u.line, u.requires.as_deref()))
            .collect();
        // Line 10 runs only under NumPy < 2.0; line 15's flag is imported from nowhere the
        // scan sees, and its name tells no version: the code guards itself.
        assert_eq!(told, [(10, Some("<2.0"))], "{scan:#?}");
    }

    /// holoviews 1.23, datashader 0.19: a version test earlier in an `and`/`or` guards what
    /// follows it.
    #[test]
    fn a_version_test_guards_the_rest_of_its_boolean_expression() {
        let source = "\
import numpy as np

NUMPY_GE_2_0_0 = np.lib.NumpyVersion(np.__version__) >= '2.0.0'

def is_number(obj):
    if not NUMPY_GE_2_0_0 and isinstance(obj, np.float_):
        return False
    if np.__version__[0] < '2' and obj is np.float_:
        return False
    return NUMPY_GE_2_0_0 or obj is np.float_

X = callable(np) and np.float_
";
        let scan = release(&[("m.py", source)]);
        let told: Vec<(usize, bool, Option<&str>)> = scan
            .iter()
            .map(|u| (u.line, u.definite, u.requires.as_deref()))
            .collect();
        assert_eq!(
            told,
            [
                (6, true, Some("<2.0.0")),
                (8, true, Some("<2")),
                (10, true, Some("<2.0.0")),
                // After a test the scan cannot read, the rest may not run.
                (12, false, None),
            ],
            "{scan:#?}"
        );
    }

    /// scikit-image 0.24: `if dtype is np.floating:` decides the branch from what is passed.
    #[test]
    fn a_parameter_compared_with_a_numpy_value_decides_the_branch() {
        let source = "\
import numpy as np

def _convert(image, dtype):
    if dtype is np.floating:
        out = np.dtype('float64')
    else:
        out = np.dtype(dtype)
    return out

def img_as_float(image):
    return _convert(image, np.floating)

def img_as_inexact(image):
    return _convert(image, np.inexact)

X = img_as_float(1)
";
        let scan = release(&[("m.py", source)]);
        let told: Vec<(usize, &str, bool)> = scan
            .iter()
            .map(|u| (u.line, u.path.as_str(), u.at_import))
            .collect();
        // Passing np.floating takes the first branch: nothing fails, at import or in
        // img_as_float; passing np.inexact takes the second.
        assert_eq!(
            told,
            [(14, "numpy.dtype(numpy.inexact)", false)],
            "{scan:#?}"
        );
    }

    /// Guards kept in a name, and a probe written as an annotated assignment (jax 0.4.30).
    #[test]
    fn a_guard_assigned_to_a_name_still_guards() {
        let source = "\
import numpy as np

HAS_EXCEPTIONS = hasattr(np, 'exceptions')

if HAS_EXCEPTIONS:
    W = np.exceptions
else:
    W = np.float_

try:
    V: type = np.exceptions.ComplexWarning
except AttributeError:
    V = np.float_
";
        let scan = release(&[("m.py", source)]);
        assert!(scan.is_empty(), "{scan:#?}");
    }

    #[test]
    fn a_use_a_call_may_not_reach_is_not_definite() {
        let source = "\
import numpy as np

def maybe(x):
    if x > 3:
        return np.in1d(x, x)
    return x

def early(x):
    if x:
        return 1
    return np.float_(x)

def raises_first(x):
    if x:
        raise ValueError(x)
    return np.float_(x)

def loop(xs):
    for x in xs:
        np.in1d(x, x)

maybe(1)
early(1)
raises_first(0)
loop([])
";
        let scan = release(&[("m.py", source)]);
        let at_import: Vec<(usize, bool)> = scan
            .iter()
            .filter(|u| u.at_import)
            .map(|u| (u.line, u.definite))
            .collect();
        assert_eq!(
            at_import,
            [(22, false), (23, false), (24, true), (25, false)]
        );
    }

    #[test]
    fn calls_are_followed_through_methods_instances_and_imports() {
        let util = "\
import numpy as np

class Grid:
    def __init__(self):
        self.kind = self._kind()

    def _kind(self):
        return np.float_
";
        let init = "\
from . import util
from .util import Grid as G

grid = G()
";
        let scan = release(&[("pkg/util.py", util), ("pkg/__init__.py", init)]);
        let at_import: Vec<(&str, usize, &str)> = scan
            .iter()
            .filter(|u| u.at_import)
            .map(|u| (u.file.as_str(), u.line, u.path.as_str()))
            .collect();
        assert_eq!(
            at_import,
            [("pkg/__init__.py", 4, "numpy.float_")],
            "{scan:#?}"
        );
        // A module that is never run at import tells its uses as function uses only.
        assert!(
            scan.iter()
                .any(|u| !u.at_import && u.file == "pkg/util.py" && u.line == 8)
        );
    }

    #[test]
    fn numpy_imported_lazily_in_functions_is_a_use_when_called() {
        let source = "\
def load():
    import numpy as np
    from numpy.compat import asbytes
    return np.in1d([1], [1])
";
        assert_eq!(
            uses(source),
            [
                found(3, "numpy.compat", false),
                found(4, "numpy.in1d", false)
            ]
        );
    }
}
