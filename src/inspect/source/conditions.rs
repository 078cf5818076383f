//! The tests code puts around what NumPy removed: `except` clauses (which errors they catch),
//! NumPy version tests (which versions a branch runs under), `hasattr` checks, and tests on a
//! function's own parameters.
//!
//! A version test the scan can read becomes a condition on the NumPy version, kept with the use
//! so the verdict can ask it of the target: `if NUMPY_LT_2_0:` runs under `<2.0` only, and its
//! `else:` under `>=2.0`. A version test it cannot read guards both branches, as the code meant.

use ruff_python_ast::{self as ast, CmpOp, ExceptHandler, Expr, Number, UnaryOp};
use serde::{Deserialize, Serialize};

use super::facts::{ParamTest, Raises};

/// Which errors the enclosing `try` blocks catch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caught(u8);

impl Caught {
    const ATTRIBUTE: u8 = 1;
    const IMPORT: u8 = 2;
    const TYPE: u8 = 4;
    pub const ALL: Caught = Caught(Self::ATTRIBUTE | Self::IMPORT | Self::TYPE);

    pub fn catches(self, raises: Raises) -> bool {
        let bit = match raises {
            Raises::Attribute => Self::ATTRIBUTE,
            Raises::Import => Self::IMPORT,
            Raises::Type => Self::TYPE,
        };
        self.0 & bit != 0
    }

    pub fn with(self, other: Caught) -> Caught {
        Caught(self.0 | other.0)
    }

    /// What an exception class's name catches of the errors a removed name raises.
    fn of_name(name: &str) -> Caught {
        Caught(match name {
            "ImportError" | "ModuleNotFoundError" => Self::IMPORT,
            "AttributeError" => Self::ATTRIBUTE,
            "TypeError" => Self::TYPE,
            "Exception" | "BaseException" => Self::ALL.0,
            _ => 0,
        })
    }

    /// What an exception expression (`AttributeError`, `(ImportError, ValueError)`) catches.
    pub fn of_expr(expr: &Expr) -> Caught {
        match expr {
            Expr::Name(name) => Self::of_name(name.id.as_str()),
            Expr::Attribute(attribute) => Self::of_name(attribute.attr.as_str()),
            Expr::Tuple(tuple) => tuple.elts.iter().fold(Caught::default(), |caught, expr| {
                caught.with(Self::of_expr(expr))
            }),
            _ => Caught::default(),
        }
    }

    /// What an `except` clause catches (a bare `except:` catches everything).
    pub fn of_handler(handler: &ExceptHandler) -> Caught {
        let ExceptHandler::ExceptHandler(handler) = handler;
        match &handler.type_ {
            None => Caught::ALL,
            Some(type_) => Self::of_expr(type_),
        }
    }
}

/// A comparison with a NumPy version: `>=`, `<` and friends, as PEP 440 spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn negated(self) -> Op {
        match self {
            Op::Lt => Op::Ge,
            Op::Le => Op::Gt,
            Op::Gt => Op::Le,
            Op::Ge => Op::Lt,
        }
    }

    /// The same test with its sides swapped (`"2" <= v` is `v >= "2"`).
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
        }
    }

    fn spelled(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// The NumPy versions code runs under: every comparison holds (none: all versions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumpyCondition(Vec<(Op, String)>);

impl NumpyCondition {
    pub fn single(op: Op, version: String) -> NumpyCondition {
        NumpyCondition(vec![(op, version)])
    }

    /// Both conditions hold.
    pub fn and(&self, other: &NumpyCondition) -> NumpyCondition {
        let mut both = self.0.clone();
        for comparison in &other.0 {
            if !both.contains(comparison) {
                both.push(comparison.clone());
            }
        }
        NumpyCondition(both)
    }

    /// The condition of the other branch, when it is one comparison (`not (a and b)` is not).
    pub fn negated(&self) -> Option<NumpyCondition> {
        match self.0.as_slice() {
            [(op, version)] => Some(NumpyCondition::single(op.negated(), version.clone())),
            _ => None,
        }
    }

    /// As PEP 440 specifiers: `>=1.24,<2.0` (None when always).
    pub fn specifiers(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            self.0
                .iter()
                .map(|(op, version)| format!("{}{version}", op.spelled()))
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

/// What an `if` test says about the code under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// A NumPy version test the scan reads: the body runs under `then`, the `else` under
    /// `otherwise` (None when it cannot be told).
    Version {
        then: NumpyCondition,
        otherwise: Option<NumpyCondition>,
    },
    /// The code guards itself (`hasattr(np, …)`, a version test it cannot read): neither
    /// branch counts.
    Guard,
    /// Tests on the function's own parameters: the body runs when all hold; the `else` when
    /// the one test fails (None when there are several).
    Params {
        then: Vec<ParamTest>,
        otherwise: Option<Vec<ParamTest>>,
    },
    /// Anything else.
    Other,
}

/// How the walker answers questions about names while tests are read.
pub trait Names {
    /// The numpy path an expression names (`np.__version__` → `numpy.__version__`).
    fn numpy_path(&self, expr: &Expr) -> Option<String>;
    /// The position of a parameter of the enclosing function.
    fn parameter(&self, name: &str) -> Option<usize>;
    /// What a name was assigned, when that is a version test: `NUMPY_GE_200 = v >= (2, 0)`.
    fn flag(&self, _name: &str) -> Option<NumpyCondition> {
        None
    }
    /// Whether a name was assigned a guard: `HAS_EXCEPTIONS = hasattr(np, "exceptions")`.
    fn guard_flag(&self, _name: &str) -> bool {
        false
    }
}

/// Read an `if` test.
pub fn read_test(test: &Expr, names: &dyn Names) -> Test {
    if let Some(then) = version_condition(test, names) {
        let otherwise = then.negated();
        return Test::Version { then, otherwise };
    }
    if mentions_guard(test, names) {
        return Test::Guard;
    }
    if let Some(then) = param_tests(test, names) {
        let otherwise = match then.as_slice() {
            [single] => Some(vec![ParamTest {
                holds: !single.holds,
                ..single.clone()
            }]),
            _ => None,
        };
        return Test::Params { then, otherwise };
    }
    Test::Other
}

/// `P is None`, `P is not None`, `P`, `not P`, and conjunctions of them.
fn param_tests(test: &Expr, names: &dyn Names) -> Option<Vec<ParamTest>> {
    let name_param = |expr: &Expr| match expr {
        Expr::Name(name) => names.parameter(name.id.as_str()),
        _ => None,
    };
    match test {
        Expr::Compare(compare) if compare.ops.len() == 1 => {
            let right = &compare.comparators[0];
            let param = name_param(&compare.left)?;
            let against = match right {
                Expr::NoneLiteral(_) => None,
                // `dtype is np.floating`: which branch runs follows from what is passed.
                other => Some(names.numpy_path(other)?),
            };
            let holds = match compare.ops[0] {
                CmpOp::Is | CmpOp::Eq => true,
                CmpOp::IsNot | CmpOp::NotEq => false,
                _ => return None,
            };
            Some(vec![ParamTest {
                param,
                against,
                holds,
            }])
        }
        Expr::Name(_) => Some(vec![ParamTest {
            param: name_param(test)?,
            against: None,
            holds: false,
        }]),
        Expr::UnaryOp(unary) if unary.op == UnaryOp::Not => {
            let [inner] = param_tests(&unary.operand, names)?.try_into().ok()?;
            Some(vec![ParamTest {
                holds: !inner.holds,
                ..inner
            }])
        }
        Expr::BoolOp(bool_op) if bool_op.op == ast::BoolOp::And => {
            let mut all = Vec::new();
            for value in &bool_op.values {
                all.extend(param_tests(value, names)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// The NumPy versions a test holds for, when it is a version test the scan can read.
pub fn version_condition(test: &Expr, names: &dyn Names) -> Option<NumpyCondition> {
    match test {
        Expr::Name(name) => names
            .flag(name.id.as_str())
            .or_else(|| flag_condition(name.id.as_str())),
        Expr::Attribute(attribute) => flag_condition(attribute.attr.as_str()),
        Expr::UnaryOp(unary) if unary.op == UnaryOp::Not => {
            version_condition(&unary.operand, names)?.negated()
        }
        Expr::BoolOp(bool_op) if bool_op.op == ast::BoolOp::And => {
            let mut all = NumpyCondition::default();
            for value in &bool_op.values {
                all = all.and(&version_condition(value, names)?);
            }
            Some(all)
        }
        Expr::Compare(compare) if compare.ops.len() == 1 => compare_condition(
            &compare.left,
            compare.ops[0],
            &compare.comparators[0],
            names,
        ),
        Expr::Call(call) => startswith_condition(call, names),
        _ => None,
    }
}

/// A flag named for a version comparison: `NUMPY_LT_2_0`, `np_version_under1p22`,
/// `_NP_GE_2`, `NUMPY_GE_2_0`, `np_version_gt2`.
fn flag_condition(name: &str) -> Option<NumpyCondition> {
    let lower = name.to_ascii_lowercase();
    if !(lower.contains("numpy") || lower.contains("np_") || lower.starts_with("np")) {
        return None;
    }
    let words: Vec<&str> = lower.split('_').filter(|w| !w.is_empty()).collect();
    for (at, word) in words.iter().enumerate() {
        let Some((op, rest)) = [
            ("under", Op::Lt),
            ("below", Op::Lt),
            ("before", Op::Lt),
            ("lt", Op::Lt),
            ("le", Op::Le),
            ("ge", Op::Ge),
            ("gt", Op::Gt),
            ("above", Op::Gt),
            ("over", Op::Gt),
        ]
        .iter()
        .find_map(|(prefix, op)| word.strip_prefix(prefix).map(|rest| (*op, rest))) else {
            continue;
        };
        // The version follows in the same word (`under1p22`, `gt2`) or in the next ones
        // (`lt_2_0`).
        let mut parts: Vec<String> = Vec::new();
        if !rest.is_empty() {
            if !rest.chars().all(|c| c.is_ascii_digit() || c == 'p') {
                continue;
            }
            parts.extend(rest.split('p').map(str::to_string));
        } else {
            parts.extend(
                words[at + 1..]
                    .iter()
                    .take_while(|w| w.chars().all(|c| c.is_ascii_digit()))
                    .map(|w| w.to_string()),
            );
        }
        let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        if parts.is_empty() || !parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        // `GE_200` (dask: 2.0), `GE_125` (1.25), `GE_210` (2.1): digits run together say no
        // version for sure; the assignment, when the scan sees it, does.
        if parts.len() == 1 && parts[0].len() > 1 {
            return None;
        }
        return Some(NumpyCondition::single(op, parts.join(".")));
    }
    None
}

/// `<version> <op> <literal>` (or the other way round).
fn compare_condition(
    left: &Expr,
    op: CmpOp,
    right: &Expr,
    names: &dyn Names,
) -> Option<NumpyCondition> {
    let op = match op {
        CmpOp::Lt => Op::Lt,
        CmpOp::LtE => Op::Le,
        CmpOp::Gt => Op::Gt,
        CmpOp::GtE => Op::Ge,
        CmpOp::Eq | CmpOp::NotEq => {
            // `int(np.__version__.split(".")[0]) == 1`, `np.__version__[0] == "1"`.
            let (side, literal, _) = oriented(left, op, right, names)?;
            if !is_major(side) {
                return None;
            }
            let major: u64 = literal.split('.').next()?.parse().ok()?;
            let condition = NumpyCondition(vec![
                (Op::Ge, major.to_string()),
                (Op::Lt, (major + 1).to_string()),
            ]);
            return match op {
                CmpOp::Eq => Some(condition),
                _ => None,
            };
        }
        _ => return None,
    };
    let (side, literal, flipped) = oriented_ordered(left, op, right, names)?;
    if is_major(side) {
        // A comparison of the major version with an integer.
        let major: u64 = literal.split('.').next()?.parse().ok()?;
        return Some(match flipped {
            Op::Lt => NumpyCondition::single(Op::Lt, major.to_string()),
            Op::Le => NumpyCondition::single(Op::Lt, (major + 1).to_string()),
            Op::Gt => NumpyCondition::single(Op::Ge, (major + 1).to_string()),
            Op::Ge => NumpyCondition::single(Op::Ge, major.to_string()),
        });
    }
    Some(NumpyCondition::single(flipped, literal))
}

/// The version side, the literal version and the comparison as `version <op> literal`.
fn oriented_ordered<'e>(
    left: &'e Expr,
    op: Op,
    right: &'e Expr,
    names: &dyn Names,
) -> Option<(&'e Expr, String, Op)> {
    if is_version_expr(left, names) {
        Some((left, version_literal(right)?, op))
    } else if is_version_expr(right, names) {
        Some((right, version_literal(left)?, op.flipped()))
    } else {
        None
    }
}

fn oriented<'e>(
    left: &'e Expr,
    op: CmpOp,
    right: &'e Expr,
    names: &dyn Names,
) -> Option<(&'e Expr, String, CmpOp)> {
    if is_version_expr(left, names) {
        Some((left, version_literal(right)?, op))
    } else if is_version_expr(right, names) {
        Some((right, version_literal(left)?, op))
    } else {
        None
    }
}

/// `np.__version__.startswith("1.")`: the major version is 1.
fn startswith_condition(call: &ast::ExprCall, names: &dyn Names) -> Option<NumpyCondition> {
    let Expr::Attribute(attribute) = call.func.as_ref() else {
        return None;
    };
    if attribute.attr.as_str() != "startswith" || !is_version_expr(&attribute.value, names) {
        return None;
    }
    let Some(Expr::StringLiteral(prefix)) = call.arguments.args.first() else {
        return None;
    };
    let major: u64 = prefix
        .value
        .to_str()
        .trim_end_matches('.')
        .split('.')
        .next()?
        .parse()
        .ok()?;
    Some(NumpyCondition(vec![
        (Op::Ge, major.to_string()),
        (Op::Lt, (major + 1).to_string()),
    ]))
}

/// An expression that holds numpy's version: `np.__version__`, `NumpyVersion(np.__version__)`,
/// `parse(np.__version__)`, `np_version`, `importlib.metadata.version("numpy")`, and parts of
/// them (`.split(".")[0]`, `.major`, `int(…)`).
fn is_version_expr(expr: &Expr, names: &dyn Names) -> bool {
    match expr {
        Expr::Name(name) => {
            is_version_name(name.id.as_str())
                || names
                    .numpy_path(expr)
                    .is_some_and(|path| path.ends_with("__version__") || path.ends_with("version"))
        }
        Expr::Attribute(attribute) => {
            let attr = attribute.attr.as_str();
            (matches!(attr, "__version__" | "full_version" | "version")
                && names.numpy_path(&attribute.value).is_some())
                || is_version_name(attr)
                || (matches!(attr, "major" | "minor" | "release" | "base_version")
                    && is_version_expr(&attribute.value, names))
        }
        Expr::Call(call) => {
            let function = match call.func.as_ref() {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.as_str(),
                _ => return false,
            };
            let argument = call.arguments.args.first();
            match function {
                // `version("numpy")`.
                "version" => argument.is_some_and(|argument| {
                    matches!(argument, Expr::StringLiteral(s) if s.value.to_str() == "numpy")
                }),
                "split" => match call.func.as_ref() {
                    Expr::Attribute(attribute) => is_version_expr(&attribute.value, names),
                    _ => false,
                },
                _ => argument.is_some_and(|argument| is_version_expr(argument, names)),
            }
        }
        Expr::Subscript(subscript) => is_version_expr(&subscript.value, names),
        _ => false,
    }
}

/// A version side that holds only the major version: `int(v.split(".")[0])`, `v.major`,
/// `v.release[0]`, `np.__version__[0]`.
fn is_major(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => call.arguments.args.first().is_some_and(is_major),
        Expr::Attribute(attribute) => attribute.attr.as_str() == "major",
        Expr::Subscript(subscript) => {
            matches!(subscript.slice.as_ref(), Expr::NumberLiteral(n) if matches!(&n.value, Number::Int(i) if i.as_u64() == Some(0)))
        }
        _ => false,
    }
}

/// A literal version: `"2.0.0"`, `2`, `(2, 0)`, `parse_version("2")`, `NumpyVersion("2.0.0")`.
fn version_literal(expr: &Expr) -> Option<String> {
    let version = match expr {
        Expr::StringLiteral(string) => string.value.to_str().to_string(),
        Expr::NumberLiteral(number) => match &number.value {
            Number::Int(int) => int.as_u64()?.to_string(),
            Number::Float(float) => float.to_string(),
            Number::Complex { .. } => return None,
        },
        Expr::Tuple(tuple) => {
            let parts: Option<Vec<String>> = tuple
                .elts
                .iter()
                .map(|part| match part {
                    Expr::NumberLiteral(number) => match &number.value {
                        Number::Int(int) => int.as_u64().map(|n| n.to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            parts?.join(".")
        }
        Expr::Call(call) => version_literal(call.arguments.args.first()?)?,
        _ => return None,
    };
    let clean = version.trim();
    let valid = !clean.is_empty()
        && clean
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    valid.then(|| clean.to_string())
}

/// An identifier that names a NumPy version flag or value: `NUMPY_LT_2_0`, `np_version`,
/// `_NP_GE_2`, `numpy_version`, `NumpyVersion`.
pub fn is_version_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let numpy = lower.contains("numpy") || lower.starts_with("np_") || lower.starts_with("_np_");
    numpy
        && (lower.contains("version")
            || ["_lt", "_le", "_ge", "_gt", "_eq", "_below", "_above", "2"]
                .iter()
                .any(|part| lower.contains(part)))
}

/// Whether a test looks at what numpy has (`hasattr(np, "x")`), or at its version in a way the
/// scan cannot read: either way the code under it guards itself.
pub fn mentions_guard(test: &Expr, names: &dyn Names) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};

    struct Finder<'n> {
        names: &'n dyn Names,
        found: bool,
    }

    impl<'x> Visitor<'x> for Finder<'_> {
        fn visit_expr(&mut self, expr: &'x Expr) {
            if self.found {
                return;
            }
            match expr {
                Expr::Call(call) => {
                    if let Expr::Name(name) = call.func.as_ref()
                        && matches!(name.id.as_str(), "hasattr" | "getattr")
                        && call
                            .arguments
                            .args
                            .first()
                            .is_some_and(|object| self.names.numpy_path(object).is_some())
                    {
                        self.found = true;
                        return;
                    }
                }
                Expr::Attribute(attribute) => {
                    let name = attribute.attr.as_str();
                    let numpy_base = self.names.numpy_path(&attribute.value).is_some();
                    if (numpy_base && matches!(name, "__version__" | "version" | "full_version"))
                        || name == "NumpyVersion"
                        || is_version_name(name)
                    {
                        self.found = true;
                        return;
                    }
                }
                Expr::Name(name) => {
                    let id = name.id.as_str();
                    if id == "NumpyVersion"
                        || is_version_name(id)
                        || self.names.guard_flag(id)
                        || self.names.numpy_path(expr).is_some_and(|path| {
                            path.ends_with("NumpyVersion") || path.ends_with("__version__")
                        })
                    {
                        self.found = true;
                        return;
                    }
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }

    let mut finder = Finder {
        names,
        found: false,
    };
    finder.visit_expr(test);
    finder.found
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoNames;
    impl Names for NoNames {
        fn numpy_path(&self, expr: &Expr) -> Option<String> {
            match expr {
                Expr::Name(name) if name.id.as_str() == "np" => Some("numpy".into()),
                Expr::Attribute(attribute) => self
                    .numpy_path(&attribute.value)
                    .map(|base| format!("{base}.{}", attribute.attr.as_str())),
                _ => None,
            }
        }
        fn parameter(&self, name: &str) -> Option<usize> {
            (name == "helps").then_some(1)
        }
    }

    fn condition(source: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_expression(source).unwrap();
        version_condition(parsed.expr(), &NoNames).map(|c| c.specifiers().unwrap_or_default())
    }

    #[test]
    fn version_tests_are_read_as_specifiers() {
        let cases = [
            ("NUMPY_LT_2_0", "<2.0"),
            ("NUMPY_LT_1_24", "<1.24"),
            ("not NUMPY_LT_2_0", ">=2.0"),
            ("_NP_GE_2", ">=2"),
            ("np_version_under1p22", "<1.22"),
            ("np_version_gt2", ">2"),
            ("compat.NUMPY_LT_2_0", "<2.0"),
            ("np.__version__ >= '2'", ">=2"),
            ("'2.0.0' <= np.__version__", ">=2.0.0"),
            ("NumpyVersion(np.__version__) < '2.0.0'", "<2.0.0"),
            (
                "np.lib.NumpyVersion(np.__version__) >= '1.25.0'",
                ">=1.25.0",
            ),
            ("parse_version(np.__version__) < parse_version('2')", "<2"),
            ("np_version < (2,)", "<2"),
            ("np_version >= parse_version('2.0.0')", ">=2.0.0"),
            ("int(np.__version__.split('.')[0]) >= 2", ">=2"),
            ("int(np.__version__.split('.')[0]) < 2", "<2"),
            ("int(np.__version__.split('.')[0]) == 1", ">=1,<2"),
            ("np.__version__.startswith('1.')", ">=1,<2"),
            ("Version(np.__version__).major >= 2", ">=2"),
            ("version('numpy') >= '2'", ">=2"),
        ];
        for (source, expected) in cases {
            assert_eq!(condition(source).as_deref(), Some(expected), "{source}");
        }
        for source in [
            "HAS_SCIPY",
            "x < 2",
            "np.__version__ != '2'",
            "sys.version_info < (3, 8)",
        ] {
            assert_eq!(condition(source), None, "{source}");
        }
    }

    #[test]
    fn tests_on_numpy_that_cannot_be_read_guard_both_branches() {
        let read = |source: &str| {
            let parsed = ruff_python_parser::parse_expression(source).unwrap();
            read_test(parsed.expr(), &NoNames)
        };
        assert_eq!(read("hasattr(np, 'in1d')"), Test::Guard);
        assert_eq!(read("np.__version__ in ('1.26.4',)"), Test::Guard);
        assert_eq!(read("HAS_SCIPY"), Test::Other);
        assert_eq!(
            read("helps is None"),
            Test::Params {
                then: vec![ParamTest {
                    param: 1,
                    against: None,
                    holds: true
                }],
                otherwise: Some(vec![ParamTest {
                    param: 1,
                    against: None,
                    holds: false
                }]),
            }
        );
    }

    #[test]
    fn except_clauses_catch_what_they_name() {
        let caught = |source: &str| {
            let parsed = ruff_python_parser::parse_expression(source).unwrap();
            Caught::of_expr(parsed.expr())
        };
        assert!(caught("AttributeError").catches(Raises::Attribute));
        assert!(!caught("AttributeError").catches(Raises::Import));
        assert!(caught("(ImportError, ValueError)").catches(Raises::Import));
        assert!(!caught("ImportError").catches(Raises::Type));
        assert!(caught("Exception").catches(Raises::Type));
        assert!(!caught("KeyError").catches(Raises::Attribute));
    }
}
