//! What the walk of one module records, for the resolution across a release's modules: the
//! uses it sees, the calls it makes to the release's own functions, and what each function does
//! with its parameters (`numpy.dtype(dtype)`, `getattr(np, f.__name__)`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::conditions::{Caught, NumpyCondition};

/// What a use raises when it fails, so that the `except` clauses around it can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Raises {
    /// `np.in1d`, `getattr(np, "in1d")`.
    Attribute,
    /// `from numpy import in1d`, `import numpy.compat`.
    Import,
    /// `np.dtype(np.inexact)`.
    Type,
}

/// A value, as far as the scan follows one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// A numpy path: `np.floating` is `numpy.floating`.
    Numpy(String),
    /// The enclosing function's parameter, by position.
    Param(usize),
    /// A function defined in the release, by its `__name__`.
    Function(String),
    Str(String),
    None,
    Unknown,
}

/// A test on a parameter that decides whether code runs: `if helps is None:`,
/// `if dtype is np.floating:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamTest {
    pub param: usize,
    /// What the parameter is compared with: `None` (also for a bare truth test, `if helps:`),
    /// or a numpy value by its path.
    pub against: Option<String>,
    /// The code runs when the parameter is that value (`is`), or when it is not (`is not`).
    pub holds: bool,
}

/// How code runs: what catches its errors, whether it runs whenever its function does, and
/// which NumPy versions and parameter values it runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub caught: Caught,
    /// Inside a function: not reached every time the function is called (an `if`, a loop,
    /// after an early `return`).
    pub conditional: bool,
    pub numpy: NumpyCondition,
    pub param_tests: Vec<ParamTest>,
}

/// A parameter use that fails for some arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sink {
    /// `numpy.dtype(param)`: a numpy function called with the parameter first.
    CallArgument { function: String },
    /// `getattr(object, param.__name__)`.
    NameOf { object: Value },
    /// `getattr(object, param)`.
    Getattr { object: Value },
}

/// Something the code does that may use what NumPy removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EffectKind {
    /// A use of a table entry.
    Use {
        entry: usize,
        raises: Raises,
    },
    /// A call to what a dotted name is bound to (resolved across the release later).
    Call {
        callee: Callee,
        args: Vec<Value>,
        keywords: Vec<(String, Value)>,
        /// `*args`/`**kwargs` at the call: parameters past the known ones are unknown.
        spread: bool,
    },
    Sink {
        param: usize,
        sink: Sink,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    pub line: usize,
    pub context: Context,
    pub kind: EffectKind,
}

/// What a call names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Callee {
    /// A dotted name looked up in the module's globals: `convert`, `_colorconv.convert`.
    Global(Vec<String>),
    /// `self.name(…)` inside a method of `class`.
    Method { class: String, name: String },
    /// A name a function imported for itself, then attributes of it.
    Local(Binding, Vec<String>),
}

/// What a module-level name is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binding {
    /// A function defined here (its key in [`ModuleFacts::functions`]).
    Function(String),
    Class(String),
    /// `from pkg.mod import name` (`name` None for `import pkg.mod as x`).
    Import {
        module: String,
        name: Option<String>,
    },
    /// `x = other.name`: another global's dotted name.
    Alias(Vec<String>),
    /// `x = Class(…)`: an instance of what the dotted name is bound to.
    Instance(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub default: Option<Value>,
    /// Can be passed by position.
    pub positional: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionFacts {
    /// `name`, or `Class.name` for a method (held as the key of its module's map).
    #[serde(skip)]
    pub key: String,
    pub line: usize,
    pub parameters: Vec<Parameter>,
    /// Takes `*args`: positional arguments past the parameters are accepted.
    pub variadic: bool,
    pub effects: Vec<Effect>,
}

/// What one module holds for the resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleFacts {
    /// The member's path: `shap/plots/colors/_colors.py`.
    pub file: String,
    /// Dotted module name: `shap.plots.colors._colors`.
    pub module: String,
    /// Code that runs when the module is imported (module level and class bodies).
    pub top: Vec<Effect>,
    pub functions: HashMap<String, FunctionFacts>,
    /// Bodies that run later under no name the scan can call (lambdas, nested functions):
    /// their uses are told, never followed.
    pub anonymous: Vec<Effect>,
    pub bindings: HashMap<String, Binding>,
    /// Classes defined here, with their methods' keys.
    pub classes: HashMap<String, Vec<String>>,
}

/// The dotted module name of a path inside a release (`pkg/sub/__init__.py` → `pkg.sub`).
pub fn module_name(file: &str) -> String {
    let trimmed = file.strip_suffix(".py").unwrap_or(file);
    let trimmed = trimmed.strip_suffix("/__init__").unwrap_or(trimmed);
    trimmed.replace('/', ".")
}

/// Whether the path is a package's `__init__.py` (relative imports start from the package
/// itself, not its parent).
pub fn is_package(file: &str) -> bool {
    file == "__init__.py" || file.ends_with("/__init__.py")
}
