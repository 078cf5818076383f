//! The walk of one module: how numpy is bound, which table entries the code uses and under what
//! tests, the calls it makes to the release's own functions, and what each function does with
//! its parameters. Strings and comments are never code.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{
    self as ast, Expr, Stmt,
    visitor::{self, Visitor},
};
use ruff_text_size::Ranged;

use super::conditions::{self, Caught, Names, NumpyCondition, Op, Test};
use super::facts::{
    Binding, Callee, Context, Effect, EffectKind, FunctionFacts, ModuleFacts, Parameter, Raises,
    Sink, Value, is_package, module_name,
};
use crate::inspect::removed::{Kind, RemovedTable};

/// Walk a module's text; None when it does not parse (Python 2, a template).
pub fn walk_module(file: &str, text: &str, table: &RemovedTable) -> Option<ModuleFacts> {
    let parsed = ruff_python_parser::parse_module(text).ok()?;
    let module = parsed.syntax();
    let mut walker = Walker {
        table,
        lines: LineIndex::new(text),
        package: package_of(file),
        facts: ModuleFacts {
            file: file.to_string(),
            module: module_name(file),
            ..ModuleFacts::default()
        },
        scopes: vec![Scope::default()],
        frames: vec![Frame::Top],
        context: Context::default(),
        guarded: 0,
        caught_uses: Vec::new(),
        future_annotations: module.body.iter().any(is_future_annotations),
        classes: Vec::new(),
    };
    walker.body(&module.body);
    let mut facts = walker.facts;
    forget_unresolvable_calls(&mut facts);
    Some(facts)
}

/// Longest string literal kept as a value.
const MAX_STRING_VALUE: usize = 128;

/// Calls to a global name the module never binds (builtins, names from `*` imports) can reach
/// no code of the release: they are dropped once the module is walked, so a release with
/// thousands of modules keeps only the calls the resolution can follow.
fn forget_unresolvable_calls(facts: &mut ModuleFacts) {
    retain_effects(facts, |bindings, effect| match &effect.kind {
        EffectKind::Call {
            callee: Callee::Global(dotted),
            ..
        } => bindings.contains_key(&dotted[0]),
        _ => true,
    });
}

/// Calls through a name imported from a package the release does not hold (`os.path.join`,
/// `warnings.warn`, `np.asarray`) can reach no code of the release either: the resolution finds
/// no module by that name. Dropped as soon as the module is walked when the release's top-level
/// packages are known (`packages`), so that a release of thousands of modules (torch: 2,273)
/// holds only the calls the resolution can follow while the rest are walked.
pub fn forget_calls_outside(facts: &mut ModuleFacts, packages: &std::collections::HashSet<String>) {
    let outside = |binding: &Binding| match binding {
        Binding::Import { module, .. } => {
            !packages.contains(module.split('.').next().unwrap_or(module))
        }
        _ => false,
    };
    retain_effects(facts, |bindings, effect| match &effect.kind {
        EffectKind::Call {
            callee: Callee::Global(dotted),
            ..
        } => !bindings.get(&dotted[0]).is_some_and(outside),
        EffectKind::Call {
            callee: Callee::Local(binding, _),
            ..
        } => !outside(binding),
        _ => true,
    });
}

/// Keep, of every effect the module records (at import, in functions, in anonymous bodies), those
/// `keep` says, given the module's bindings.
fn retain_effects(
    facts: &mut ModuleFacts,
    keep: impl Fn(&HashMap<String, Binding>, &Effect) -> bool,
) {
    let ModuleFacts {
        top,
        anonymous,
        functions,
        bindings,
        ..
    } = facts;
    let keep = |effect: &Effect| keep(bindings, effect);
    top.retain(keep);
    anonymous.retain(keep);
    for function in functions.values_mut() {
        function.effects.retain(keep);
    }
}

/// The package relative imports start from.
fn package_of(file: &str) -> String {
    let module = module_name(file);
    if is_package(file) {
        module
    } else {
        module
            .rsplit_once('.')
            .map(|(package, _)| package.to_string())
            .unwrap_or_default()
    }
}

fn is_future_annotations(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::ImportFrom(import)
        if import.module.as_ref().is_some_and(|m| m.as_str() == "__future__")
            && import.names.iter().any(|alias| alias.name.as_str() == "annotations"))
}

/// Line starts, for offsets to 1-based lines.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// Names bound in one scope.
#[derive(Default)]
struct Scope {
    /// To numpy paths: `np` → `numpy`, `f` → `numpy.in1d`.
    numpy: HashMap<String, String>,
    /// To lists of strings: `for name in ("in1d", "isin"):`.
    strings: HashMap<String, Vec<String>>,
    /// A function's parameters, by position.
    params: HashMap<String, usize>,
    /// Other local names, which hide the module's globals.
    locals: HashSet<String>,
    /// Imports made inside a function.
    imports: HashMap<String, Binding>,
    /// Names assigned a NumPy version test: `NUMPY_GE_200 = _np_version.release >= (2, 0)`.
    flags: HashMap<String, NumpyCondition>,
    /// Names assigned a guard: `HAS_EXCEPTIONS = hasattr(np, "exceptions")`.
    guards: HashSet<String>,
    class: bool,
    function: bool,
}

/// Where the effects of the code being walked go.
#[derive(Clone)]
enum Frame {
    Top,
    Function(String),
    Anonymous,
}

struct Walker<'a> {
    table: &'a RemovedTable,
    lines: LineIndex,
    package: String,
    facts: ModuleFacts,
    scopes: Vec<Scope>,
    frames: Vec<Frame>,
    context: Context,
    /// How many guards enclose the code being walked: nothing under one counts.
    guarded: usize,
    /// Table entries used where a handler catches what they raise, in walking order: what a
    /// `try` body probes.
    caught_uses: Vec<usize>,
    future_annotations: bool,
    /// The classes whose bodies enclose the code, innermost last.
    classes: Vec<String>,
}

impl Names for Walker<'_> {
    fn numpy_path(&self, expr: &Expr) -> Option<String> {
        self.path_of(expr)
    }

    fn parameter(&self, name: &str) -> Option<usize> {
        let scope = self.scopes.last()?;
        if scope.function {
            scope.params.get(name).copied()
        } else {
            None
        }
    }

    fn flag(&self, name: &str) -> Option<NumpyCondition> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.flags.get(name).cloned())
    }

    fn guard_flag(&self, name: &str) -> bool {
        self.scopes.iter().any(|scope| scope.guards.contains(name))
    }
}

impl Walker<'_> {
    fn frame(&self) -> &Frame {
        self.frames.last().expect("the module frame")
    }

    /// A `try` body that only imports from numpy or binds numpy attributes: it probes which
    /// NumPy is installed.
    fn is_numpy_probe(&self, body: &[Stmt]) -> bool {
        let is_numpy = |module: &str| module == "numpy" || module.starts_with("numpy.");
        !body.is_empty()
            && body.iter().all(|stmt| match stmt {
                Stmt::Import(import) => import
                    .names
                    .iter()
                    .all(|alias| is_numpy(alias.name.as_str())),
                Stmt::ImportFrom(import) => {
                    import.level == 0
                        && import
                            .module
                            .as_ref()
                            .is_some_and(|module| is_numpy(module.as_str()))
                }
                Stmt::Assign(assign) => self.path_of(&assign.value).is_some(),
                Stmt::AnnAssign(assign) => assign
                    .value
                    .as_ref()
                    .is_some_and(|value| self.path_of(value).is_some()),
                Stmt::Pass(_) => true,
                _ => false,
            })
    }

    fn in_function_frame(&self) -> bool {
        !matches!(self.frame(), Frame::Top)
    }

    /// At module level (not in a class body or function).
    fn at_module_level(&self) -> bool {
        self.scopes.len() == 1
    }

    fn line(&self, node: &impl Ranged) -> usize {
        self.lines.line(node.range().start().to_usize())
    }

    fn push(&mut self, line: usize, kind: EffectKind) {
        if self.guarded > 0 {
            return;
        }
        if let EffectKind::Use { raises, entry } = &kind
            && self.context.caught.catches(*raises)
        {
            self.caught_uses.push(*entry);
            return;
        }
        let effect = Effect {
            line,
            context: self.context.clone(),
            kind,
        };
        match self.frame().clone() {
            Frame::Top => self.facts.top.push(effect),
            Frame::Function(key) => self
                .facts
                .functions
                .get_mut(&key)
                .expect("the function was registered")
                .effects
                .push(effect),
            Frame::Anonymous => self.facts.anonymous.push(effect),
        }
    }

    fn use_entry(&mut self, index: usize, line: usize, raises: Raises) {
        self.push(
            line,
            EffectKind::Use {
                entry: index,
                raises,
            },
        );
    }

    fn body(&mut self, body: &[Stmt]) {
        let saved = self.context.clone();
        for stmt in body {
            self.stmt(stmt);
            // After a branch that may return, the rest of a function may not run.
            if self.in_function_frame() && is_compound(stmt) && returns_inside(stmt) {
                self.context.conditional = true;
            }
        }
        self.context = saved;
    }

    /// Walk `body` with the context changed by `change`.
    fn body_with(&mut self, body: &[Stmt], change: impl FnOnce(&mut Context)) {
        let saved = self.context.clone();
        change(&mut self.context);
        self.body(body);
        self.context = saved;
    }

    fn scope(&mut self) -> &mut Scope {
        self.scopes.last_mut().expect("the module scope")
    }

    fn bind_numpy(&mut self, name: &str, path: String) {
        self.scope().numpy.insert(name.to_string(), path);
    }

    /// A name bound to something other than numpy: it hides numpy bindings of the same name
    /// in this scope, and globals when in a function.
    fn bind_other(&mut self, name: &str) {
        let scope = self.scope();
        scope.numpy.remove(name);
        scope.strings.remove(name);
        scope.flags.remove(name);
        scope.guards.remove(name);
        if scope.function {
            scope.locals.insert(name.to_string());
        }
    }

    fn bind_global(&mut self, name: &str, binding: Binding) {
        if self.at_module_level() && self.guarded == 0 {
            self.facts.bindings.insert(name.to_string(), binding);
        }
    }

    /// The numpy path a name is bound to: the innermost scope first, class scopes only from
    /// their own body (as Python looks names up).
    fn resolve(&self, name: &str) -> Option<&str> {
        let innermost = self.scopes.len() - 1;
        for (index, scope) in self.scopes.iter().enumerate().rev() {
            if scope.class && index != innermost {
                continue;
            }
            if let Some(path) = scope.numpy.get(name) {
                return Some(path);
            }
            // A local or parameter of the same name hides outer bindings.
            if scope.params.contains_key(name) || scope.locals.contains(name) {
                return None;
            }
        }
        None
    }

    /// The dotted numpy path an expression names (`np.lib.NumpyVersion`), if it names one.
    fn path_of(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => self.resolve(name.id.as_str()).map(str::to_string),
            Expr::Attribute(attribute) => self
                .path_of(&attribute.value)
                .map(|base| format!("{base}.{}", attribute.attr.as_str())),
            _ => None,
        }
    }

    /// The strings a name holds (`for name in ("in1d", "isin")`).
    fn strings_of(&self, expr: &Expr) -> Option<Vec<String>> {
        match expr {
            Expr::StringLiteral(string) => Some(vec![string.value.to_str().to_string()]),
            Expr::List(_) | Expr::Tuple(_) | Expr::Set(_) => {
                let elements: &[Expr] = match expr {
                    Expr::List(list) => &list.elts,
                    Expr::Tuple(tuple) => &tuple.elts,
                    Expr::Set(set) => &set.elts,
                    _ => unreachable!(),
                };
                elements
                    .iter()
                    .map(|element| match element {
                        Expr::StringLiteral(string) => Some(string.value.to_str().to_string()),
                        _ => None,
                    })
                    .collect()
            }
            Expr::Name(name) => {
                let id = name.id.as_str();
                self.scopes
                    .iter()
                    .rev()
                    .find_map(|scope| scope.strings.get(id).cloned())
            }
            _ => None,
        }
    }

    /// The value an argument passes, as far as the scan follows it.
    fn value_of(&self, expr: &Expr) -> Value {
        if let Some(path) = self.path_of(expr) {
            return Value::Numpy(path);
        }
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if let Some(index) = self.parameter(id) {
                    return Value::Param(index);
                }
                if self.facts.functions.contains_key(id) && !self.is_local(id) {
                    return Value::Function(id.to_string());
                }
                Value::Unknown
            }
            // Names and dtype codes are short; a long text (a message, a docstring) is none.
            Expr::StringLiteral(string) if string.value.len() <= MAX_STRING_VALUE => {
                Value::Str(string.value.to_str().to_string())
            }
            Expr::NoneLiteral(_) => Value::None,
            _ => Value::Unknown,
        }
    }

    /// Whether a name is bound in an enclosing function (not a global).
    fn is_local(&self, name: &str) -> bool {
        self.scopes[1..].iter().any(|scope| {
            scope.function
                && (scope.params.contains_key(name)
                    || scope.locals.contains(name)
                    || scope.numpy.contains_key(name))
        })
    }

    /// What a call's function expression names, when it may be the release's own code.
    fn callee_of(&self, func: &Expr) -> Option<Callee> {
        let mut dotted = Vec::new();
        let mut expr = func;
        loop {
            match expr {
                Expr::Attribute(attribute) => {
                    dotted.push(attribute.attr.as_str().to_string());
                    expr = &attribute.value;
                }
                Expr::Name(name) => {
                    dotted.push(name.id.as_str().to_string());
                    break;
                }
                _ => return None,
            }
        }
        dotted.reverse();
        let head = dotted[0].as_str();
        if self.resolve(head).is_some() {
            return None;
        }
        // `self.method(…)` in a method of a class defined here.
        if head == "self" && dotted.len() == 2 {
            let class = self.classes.last()?;
            return Some(Callee::Method {
                class: class.clone(),
                name: dotted[1].clone(),
            });
        }
        for scope in self.scopes[1..].iter().rev() {
            if let Some(binding) = scope.imports.get(head) {
                return Some(Callee::Local(binding.clone(), dotted[1..].to_vec()));
            }
        }
        if self.is_local(head) {
            return None;
        }
        Some(Callee::Global(dotted))
    }

    /// The absolute module a `from … import` names.
    fn absolute_module(&self, level: u32, module: Option<&str>) -> Option<String> {
        if level == 0 {
            return module.map(str::to_string);
        }
        let mut base: Vec<&str> = if self.package.is_empty() {
            Vec::new()
        } else {
            self.package.split('.').collect()
        };
        for _ in 1..level {
            base.pop()?;
        }
        let mut parts: Vec<String> = base.into_iter().map(str::to_string).collect();
        if let Some(module) = module {
            parts.push(module.to_string());
        }
        (!parts.is_empty()).then(|| parts.join("."))
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let name = alias.name.as_str();
                    if name == "numpy" || name.starts_with("numpy.") {
                        if let Some(index) = self.table.lookup(name) {
                            self.use_entry(index, self.line(alias), Raises::Import);
                        }
                        match &alias.asname {
                            Some(asname) => self.bind_numpy(asname.as_str(), name.to_string()),
                            None => self.bind_numpy("numpy", "numpy".to_string()),
                        }
                        continue;
                    }
                    let (bound, module) = match &alias.asname {
                        Some(asname) => (asname.as_str().to_string(), name.to_string()),
                        None => {
                            let head = name.split('.').next().unwrap_or(name);
                            (head.to_string(), head.to_string())
                        }
                    };
                    self.bind_other(&bound);
                    let binding = Binding::Import { module, name: None };
                    self.bind_import(&bound, binding);
                }
            }
            Stmt::ImportFrom(import) => {
                let module = import.module.as_ref().map(|m| m.as_str());
                if import.level == 0
                    && let Some(module) = module
                    && (module == "numpy" || module.starts_with("numpy."))
                {
                    // The module itself may be gone (`from numpy.linalg.linalg import norm`).
                    if let Some(index) = self.table.lookup(module) {
                        self.use_entry(index, self.line(import), Raises::Import);
                        return;
                    }
                    for alias in &import.names {
                        if alias.name.as_str() == "*" {
                            continue;
                        }
                        let path = format!("{module}.{}", alias.name.as_str());
                        if let Some(index) = self.table.lookup(&path) {
                            self.use_entry(index, self.line(alias), Raises::Import);
                        }
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.bind_numpy(bound.as_str(), path);
                    }
                    return;
                }
                let Some(absolute) = self.absolute_module(import.level, module) else {
                    return;
                };
                for alias in &import.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        continue;
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    self.bind_other(bound);
                    let binding = Binding::Import {
                        module: absolute.clone(),
                        name: Some(name.to_string()),
                    };
                    self.bind_import(bound, binding);
                }
            }
            Stmt::FunctionDef(function) => self.function_def(function),
            Stmt::ClassDef(class) => self.class_def(class),
            Stmt::Try(try_) => {
                let caught = try_
                    .handlers
                    .iter()
                    .fold(Caught::default(), |caught, handler| {
                        caught.with(Caught::of_handler(handler))
                    });
                let probed_from = self.caught_uses.len();
                self.body_with(&try_.body, |context| {
                    context.caught = context.caught.with(caught)
                });
                let probe = (caught.catches(Raises::Import) || caught.catches(Raises::Attribute))
                    && self.is_numpy_probe(&try_.body);
                // The NumPy from which the probe fails, when it uses what NumPy removed.
                let probe_fails_from = self.caught_uses[probed_from..]
                    .iter()
                    .map(|&entry| self.table.entries[entry].removed_in())
                    .min();
                for handler in &try_.handlers {
                    let ast::ExceptHandler::ExceptHandler(handler) = handler;
                    match (probe, &probe_fails_from) {
                        // `try: from numpy.exceptions import X` / `except ImportError: from
                        // numpy import X`: the fallback runs only under a NumPy that lacks
                        // what the body imports — older than any target, since the body uses
                        // nothing NumPy removed.
                        (true, None) => {}
                        (true, Some(version)) => {
                            let from = NumpyCondition::single(Op::Ge, version.to_string());
                            self.body_with(&handler.body, |context| {
                                context.numpy = context.numpy.and(&from);
                            });
                        }
                        // Runs only when something else failed: the uses may happen.
                        (false, _) => {
                            self.body_with(&handler.body, |context| context.conditional = true);
                        }
                    }
                }
                self.body(&try_.orelse);
                self.body(&try_.finalbody);
            }
            Stmt::If(if_) => self.if_stmt(if_),
            Stmt::For(for_) => {
                self.expr(&for_.iter);
                let strings = self.strings_of(&for_.iter);
                self.bind_target(&for_.target, None);
                if let (Expr::Name(name), Some(strings)) = (for_.target.as_ref(), strings) {
                    self.scope()
                        .strings
                        .insert(name.id.as_str().to_string(), strings);
                }
                let in_function = self.in_function_frame();
                self.body_with(&for_.body, |context| context.conditional |= in_function);
                self.body_with(&for_.orelse, |context| context.conditional |= in_function);
            }
            Stmt::While(while_) => {
                self.expr(&while_.test);
                let in_function = self.in_function_frame();
                self.body_with(&while_.body, |context| context.conditional |= in_function);
                self.body_with(&while_.orelse, |context| context.conditional |= in_function);
            }
            Stmt::With(with) => {
                let mut caught = Caught::default();
                for item in &with.items {
                    self.expr(&item.context_expr);
                    caught = caught.with(suppressed(&item.context_expr));
                    if let Some(vars) = &item.optional_vars {
                        self.bind_target(vars, None);
                    }
                }
                self.body_with(&with.body, |context| {
                    context.caught = context.caught.with(caught)
                });
            }
            Stmt::Match(match_) => {
                self.expr(&match_.subject);
                let in_function = self.in_function_frame();
                for case in &match_.cases {
                    if let Some(guard) = &case.guard {
                        self.expr(guard);
                    }
                    self.body_with(&case.body, |context| context.conditional |= in_function);
                }
            }
            Stmt::Assign(assign) => {
                self.expr(&assign.value);
                for target in &assign.targets {
                    self.bind_target(target, Some(&assign.value));
                }
            }
            Stmt::AnnAssign(assign) => {
                if !self.future_annotations && !self.scope().function {
                    self.expr(&assign.annotation);
                }
                if let Some(value) = &assign.value {
                    self.expr(value);
                }
                self.bind_target(&assign.target, assign.value.as_deref());
            }
            _ => {
                // Every other statement: its expressions, then its nested bodies, in the same
                // context. Nested statements come through `visit_stmt` below.
                let mut expressions = Expressions {
                    walker: self,
                    nested: Vec::new(),
                };
                visitor::walk_stmt(&mut expressions, stmt);
                let nested = expressions.nested;
                for stmt in nested {
                    self.stmt(stmt);
                }
            }
        }
    }

    fn bind_import(&mut self, bound: &str, binding: Binding) {
        if self.scope().function {
            self.scope().imports.insert(bound.to_string(), binding);
        } else {
            self.bind_global(bound, binding);
        }
    }

    /// Bind an assignment's target: numpy aliases (`core = np.core`), string lists, and at
    /// module level aliases and instances of the release's own names.
    fn bind_target(&mut self, target: &Expr, value: Option<&Expr>) {
        match target {
            Expr::Name(name) => {
                let id = name.id.as_str();
                let numpy = value.and_then(|value| self.path_of(value));
                let strings = value.and_then(|value| self.strings_of(value));
                let flag = value.and_then(|value| conditions::version_condition(value, self));
                let guard = flag.is_none()
                    && value.is_some_and(|value| conditions::mentions_guard(value, self));
                self.bind_other(id);
                if let Some(flag) = flag {
                    self.scope().flags.insert(id.to_string(), flag);
                } else if guard {
                    self.scope().guards.insert(id.to_string());
                }
                if let Some(path) = numpy {
                    self.bind_numpy(id, path);
                    return;
                }
                if let Some(strings) = strings {
                    self.scope().strings.insert(id.to_string(), strings);
                }
                match value.map(|value| (value, self.callee_of_value(value))) {
                    Some((Expr::Call(_), Some(dotted))) => {
                        self.bind_global(id, Binding::Instance(dotted))
                    }
                    Some((Expr::Name(_) | Expr::Attribute(_), Some(dotted))) => {
                        self.bind_global(id, Binding::Alias(dotted))
                    }
                    // Other values leave a global's binding alone: `except ImportError: f = None`
                    // after `from .x import f` still means the import.
                    _ => {}
                }
            }
            Expr::Tuple(tuple) => {
                for element in &tuple.elts {
                    self.bind_target(element, None);
                }
            }
            Expr::List(list) => {
                for element in &list.elts {
                    self.bind_target(element, None);
                }
            }
            Expr::Starred(starred) => self.bind_target(&starred.value, None),
            // `table[getattr(np, name)] = f` and `obj.attr = v` evaluate what they store into:
            // uses there count (the attribute stored is set, not looked up).
            Expr::Subscript(subscript) => {
                self.expr(&subscript.value);
                self.expr(&subscript.slice);
            }
            Expr::Attribute(attribute) => self.expr(&attribute.value),
            _ => {}
        }
    }

    /// The dotted global name a value is (`other.name`) or calls (`Class(…)`).
    fn callee_of_value(&self, value: &Expr) -> Option<Vec<String>> {
        let func = match value {
            Expr::Call(call) => call.func.as_ref(),
            other => other,
        };
        match self.callee_of(func)? {
            Callee::Global(dotted) => Some(dotted),
            _ => None,
        }
    }

    fn parameters_of(&mut self, parameters: &ast::Parameters) -> (Vec<Parameter>, bool) {
        let positional = parameters.posonlyargs.iter().chain(&parameters.args);
        let mut list: Vec<Parameter> = positional
            .map(|parameter| Parameter {
                name: parameter.name().as_str().to_string(),
                default: parameter.default().map(|d| self.value_of(d)),
                positional: true,
            })
            .collect();
        list.extend(parameters.kwonlyargs.iter().map(|parameter| Parameter {
            name: parameter.name().as_str().to_string(),
            default: parameter.default().map(|d| self.value_of(d)),
            positional: false,
        }));
        (list, parameters.vararg.is_some())
    }

    fn function_def(&mut self, function: &ast::StmtFunctionDef) {
        let name = function.name.as_str();
        for decorator in &function.decorator_list {
            self.expr(&decorator.expression);
        }
        for parameter in function.parameters.iter_non_variadic_params() {
            if let Some(default) = parameter.default() {
                self.expr(default);
            }
        }
        if !self.future_annotations {
            for parameter in function.parameters.iter() {
                if let Some(annotation) = parameter.annotation() {
                    self.expr(annotation);
                }
            }
            if let Some(returns) = &function.returns {
                self.expr(returns);
            }
        }
        let (parameters, variadic) = self.parameters_of(&function.parameters);
        // A function at module level or in a class body at module level can be called by
        // name; one nested in a function is told, never followed.
        let in_class = self.scopes.last().is_some_and(|scope| scope.class);
        let named = !self.in_function_frame() && (self.at_module_level() || in_class);
        let key = match (in_class, self.classes.last()) {
            (true, Some(class)) => format!("{class}.{name}"),
            _ => name.to_string(),
        };
        if named {
            self.facts.functions.insert(
                key.clone(),
                FunctionFacts {
                    key: key.clone(),
                    line: self.line(function),
                    parameters: parameters.clone(),
                    variadic,
                    effects: Vec::new(),
                },
            );
            if in_class {
                if let Some(class) = self.classes.last().cloned() {
                    self.facts
                        .classes
                        .entry(class)
                        .or_default()
                        .push(key.clone());
                }
            } else {
                self.bind_other(name);
                self.bind_global(name, Binding::Function(key.clone()));
            }
        } else {
            self.bind_other(name);
        }
        // Decorators are applied to the function when the definition runs.
        for decorator in &function.decorator_list {
            if matches!(decorator.expression, Expr::Name(_) | Expr::Attribute(_))
                && let Some(callee) = self.callee_of(&decorator.expression)
            {
                let value = if named && !in_class {
                    Value::Function(name.to_string())
                } else {
                    Value::Unknown
                };
                self.push(
                    self.line(decorator),
                    EffectKind::Call {
                        callee,
                        args: vec![value],
                        keywords: Vec::new(),
                        spread: false,
                    },
                );
            }
        }
        // The body runs when called: a fresh context, but still only under the NumPy
        // versions its definition runs under.
        let frame = if named {
            Frame::Function(key)
        } else {
            Frame::Anonymous
        };
        let context = Context {
            numpy: self.context.numpy.clone(),
            ..Context::default()
        };
        let saved = std::mem::replace(&mut self.context, context);
        self.frames.push(frame);
        self.scopes.push(Scope {
            function: true,
            params: parameters
                .iter()
                .enumerate()
                .map(|(index, parameter)| (parameter.name.clone(), index))
                .collect(),
            ..Scope::default()
        });
        if let Some(vararg) = &function.parameters.vararg {
            self.scope().locals.insert(vararg.name.as_str().to_string());
        }
        if let Some(kwarg) = &function.parameters.kwarg {
            self.scope().locals.insert(kwarg.name.as_str().to_string());
        }
        self.body(&function.body);
        self.scopes.pop();
        self.frames.pop();
        self.context = saved;
    }

    fn class_def(&mut self, class: &ast::StmtClassDef) {
        for decorator in &class.decorator_list {
            self.expr(&decorator.expression);
        }
        if let Some(arguments) = &class.arguments {
            for argument in &arguments.args {
                self.expr(argument);
            }
        }
        let name = class.name.as_str();
        let named = self.at_module_level() && !self.in_function_frame();
        if named {
            self.bind_other(name);
            self.bind_global(name, Binding::Class(name.to_string()));
            self.facts.classes.entry(name.to_string()).or_default();
        } else {
            self.bind_other(name);
        }
        // A class body runs where the class statement does; methods of a class nested in a
        // function are told, never followed.
        self.classes.push(if named {
            name.to_string()
        } else {
            String::new()
        });
        self.scopes.push(Scope {
            class: true,
            ..Scope::default()
        });
        let anonymous = !named && !self.in_function_frame();
        if anonymous {
            self.frames.push(Frame::Anonymous);
        }
        self.body(&class.body);
        if anonymous {
            self.frames.pop();
        }
        self.scopes.pop();
        self.classes.pop();
    }

    fn if_stmt(&mut self, if_: &ast::StmtIf) {
        if is_type_checking(&if_.test) {
            // Never runs.
            for clause in &if_.elif_else_clauses {
                self.body(&clause.body);
            }
            return;
        }
        if self.at_module_level() && !self.in_function_frame() && is_main_check(&if_.test) {
            // Runs when the module is a script, not when it is imported.
            self.frames.push(Frame::Anonymous);
            self.body(&if_.body);
            self.frames.pop();
            for clause in &if_.elif_else_clauses {
                self.body(&clause.body);
            }
            return;
        }
        // A branch whose test the scan cannot read may not run, at import as when called.
        // What the previous tests being false says: starts as "nothing".
        let mut remaining: Option<NumpyCondition> = Some(NumpyCondition::default());
        let mut remaining_params: Option<Vec<super::facts::ParamTest>> = Some(Vec::new());
        let mut guard = 0;
        let clauses = std::iter::once((Some(if_.test.as_ref()), &if_.body)).chain(
            if_.elif_else_clauses
                .iter()
                .map(|clause| (clause.test.as_ref(), &clause.body)),
        );
        for (test, body) in clauses {
            let mut numpy = remaining.clone();
            let mut params = remaining_params.clone();
            let mut conditional = false;
            if let Some(test) = test {
                self.expr(test);
                match conditions::read_test(test, self) {
                    Test::Version { then, otherwise } => {
                        numpy = remaining.as_ref().map(|r| r.and(&then));
                        remaining = match (&remaining, otherwise) {
                            (Some(r), Some(otherwise)) => Some(r.and(&otherwise)),
                            _ => None,
                        };
                    }
                    Test::Guard => guard += 1,
                    Test::Params { then, otherwise } => {
                        params = params.map(|mut p| {
                            p.extend(then);
                            p
                        });
                        remaining_params = match (remaining_params, otherwise) {
                            (Some(mut r), Some(otherwise)) => {
                                r.extend(otherwise);
                                Some(r)
                            }
                            _ => None,
                        };
                    }
                    Test::Other => {
                        conditional = true;
                        remaining_params = None;
                    }
                }
            }
            // A branch under a guard, or whose NumPy versions cannot be told, does not count.
            let Some(numpy) = numpy else {
                continue;
            };
            self.guarded += guard;
            let current = self.context.numpy.clone();
            self.body_with(body, |context| {
                context.numpy = current.and(&numpy);
                match &params {
                    Some(params) => context.param_tests.extend(params.iter().cloned()),
                    None => context.conditional = true,
                }
                context.conditional |= conditional;
            });
            self.guarded -= guard;
        }
    }

    fn expr(&mut self, expr: &Expr) {
        let mut expressions = Expressions {
            walker: self,
            nested: Vec::new(),
        };
        expressions.visit_expr(expr);
    }

    /// The effects of a call: a removed call form, a `getattr` on numpy, or a call that may
    /// reach the release's own code.
    fn call(&mut self, call: &ast::ExprCall) {
        let line = self.line(call);
        let first = call.arguments.args.first();
        // What becomes a dtype fails as `numpy.dtype(…)` does: `dtype=np.floating` given to a
        // numpy function, `x.astype(np.floating)`.
        let numpy_function = self.path_of(&call.func);
        let astype = matches!(call.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "astype")
            && numpy_function.is_none();
        let dtype_keyword = call
            .arguments
            .keywords
            .iter()
            .find(|keyword| {
                keyword
                    .arg
                    .as_ref()
                    .is_some_and(|arg| arg.as_str() == "dtype")
            })
            .map(|keyword| &keyword.value);
        let as_dtype = if astype {
            first.or(dtype_keyword)
        } else if numpy_function.as_deref() != Some("numpy.dtype") && numpy_function.is_some() {
            dtype_keyword
        } else {
            None
        };
        if let Some(dtype) = as_dtype {
            self.call_form("numpy.dtype", dtype, line);
        }
        if let Some(function) = numpy_function {
            if let Some(first) = first {
                self.call_form(&function, first, line);
            }
            return;
        }
        if let Expr::Name(name) = call.func.as_ref()
            && name.id.as_str() == "getattr"
            && !self.is_local("getattr")
        {
            // With a default (`getattr(np, "x", None)`) a missing name is no error.
            if call.arguments.args.len() == 2 && call.arguments.keywords.is_empty() {
                self.getattr(&call.arguments.args[0], &call.arguments.args[1], line);
            }
            return;
        }
        let Some(callee) = self.callee_of(&call.func) else {
            return;
        };
        let spread = call
            .arguments
            .args
            .iter()
            .any(|argument| matches!(argument, Expr::Starred(_)))
            || call.arguments.keywords.iter().any(|k| k.arg.is_none());
        let args = call
            .arguments
            .args
            .iter()
            .take_while(|argument| !matches!(argument, Expr::Starred(_)))
            .map(|argument| self.value_of(argument))
            .collect();
        let keywords = call
            .arguments
            .keywords
            .iter()
            .filter_map(|keyword| {
                let name = keyword.arg.as_ref()?.as_str().to_string();
                Some((name, self.value_of(&keyword.value)))
            })
            .collect();
        self.push(
            line,
            EffectKind::Call {
                callee,
                args,
                keywords,
                spread,
            },
        );
    }

    /// `function(argument)`: a use when the table lists the call form, a parameter use when
    /// the argument is the enclosing function's parameter.
    fn call_form(&mut self, function: &str, argument: &Expr, line: usize) {
        if self.table.calls_of(function).next().is_none() {
            return;
        }
        let wanted: Option<String> = match argument {
            Expr::StringLiteral(string) => Some(format!("'{}'", string.value.to_str())),
            Expr::NoneLiteral(_) => Some("None".to_string()),
            other => self.path_of(other),
        };
        if let Some(wanted) = wanted {
            let matched: Vec<usize> = self
                .table
                .calls_of(function)
                .filter(|(_, expected)| *expected == wanted)
                .map(|(index, _)| index)
                .collect();
            for index in matched {
                self.use_entry(index, line, Raises::Type);
            }
        } else if let Value::Param(param) = self.value_of(argument) {
            self.push(
                line,
                EffectKind::Sink {
                    param,
                    sink: Sink::CallArgument {
                        function: function.to_string(),
                    },
                },
            );
        }
    }

    /// `getattr(object, name)` with no default.
    fn getattr(&mut self, object: &Expr, name: &Expr, line: usize) {
        let object_value = self.value_of(object);
        let base = match &object_value {
            Value::Numpy(path) => Some(path.clone()),
            Value::Param(_) => None,
            _ => return,
        };
        // `getattr(np, "in1d")`, or over a list of names.
        if let (Some(base), Some(names)) = (&base, self.strings_of(name)) {
            for attribute in names {
                if let Some(index) = self.table.lookup(&format!("{base}.{attribute}")) {
                    self.use_entry(index, line, Raises::Attribute);
                }
            }
            return;
        }
        // `getattr(np, f.__name__)`: the name of what the caller passes.
        if let Expr::Attribute(attribute) = name
            && attribute.attr.as_str() == "__name__"
            && let Value::Param(param) = self.value_of(&attribute.value)
        {
            self.push(
                line,
                EffectKind::Sink {
                    param,
                    sink: Sink::NameOf {
                        object: object_value,
                    },
                },
            );
            return;
        }
        if let Value::Param(param) = self.value_of(name) {
            self.push(
                line,
                EffectKind::Sink {
                    param,
                    sink: Sink::Getattr {
                        object: object_value,
                    },
                },
            );
        }
    }

    /// A lambda's body: it runs later, under no name.
    fn lambda(&mut self, lambda: &ast::ExprLambda) {
        let params: HashMap<String, usize> = lambda
            .parameters
            .iter()
            .flat_map(|parameters| parameters.iter_non_variadic_params())
            .enumerate()
            .map(|(index, parameter)| (parameter.name().as_str().to_string(), index))
            .collect();
        let context = Context {
            numpy: self.context.numpy.clone(),
            ..Context::default()
        };
        let saved = std::mem::replace(&mut self.context, context);
        self.frames.push(Frame::Anonymous);
        self.scopes.push(Scope {
            function: true,
            locals: params.into_keys().collect(),
            ..Scope::default()
        });
        self.expr(&lambda.body);
        self.scopes.pop();
        self.frames.pop();
        self.context = saved;
    }
}

/// `contextlib.suppress(AttributeError)`: what a `with` item swallows.
fn suppressed(expr: &Expr) -> Caught {
    let Expr::Call(call) = expr else {
        return Caught::default();
    };
    let name = match call.func.as_ref() {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) => attribute.attr.as_str(),
        _ => return Caught::default(),
    };
    if name != "suppress" {
        return Caught::default();
    }
    call.arguments
        .args
        .iter()
        .fold(Caught::default(), |caught, argument| {
            caught.with(Caught::of_expr(argument))
        })
}

fn is_compound(stmt: &Stmt) -> bool {
    matches!(
        stmt,
        Stmt::If(_) | Stmt::For(_) | Stmt::While(_) | Stmt::Try(_) | Stmt::With(_) | Stmt::Match(_)
    )
}

/// Whether a statement may `return` (or `continue`/`break` past what follows) from inside;
/// nested functions and classes do not count. A `raise` does not: the code that follows runs
/// whenever the function goes on.
fn returns_inside(stmt: &Stmt) -> bool {
    struct Finder {
        found: bool,
    }
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Return(_) => self.found = true,
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut finder = Finder { found: false };
    visitor::walk_stmt(&mut finder, stmt);
    finder.found
}

fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(name) => name.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// `__name__ == "__main__"`.
fn is_main_check(test: &Expr) -> bool {
    let Expr::Compare(compare) = test else {
        return false;
    };
    let is_name = |expr: &Expr| matches!(expr, Expr::Name(name) if name.id.as_str() == "__name__");
    is_name(&compare.left) || compare.comparators.iter().any(is_name)
}

/// Visits the expressions of one statement; nested statements are handed back to the walker,
/// which owns their context.
struct Expressions<'w, 'a, 's> {
    walker: &'w mut Walker<'a>,
    nested: Vec<&'s Stmt>,
}

impl<'s> Visitor<'s> for Expressions<'_, '_, 's> {
    fn visit_stmt(&mut self, stmt: &'s Stmt) {
        self.nested.push(stmt);
    }

    fn visit_expr(&mut self, expr: &'s Expr) {
        match expr {
            Expr::Attribute(attribute) => {
                if let Some(path) = self.walker.path_of(expr)
                    && let Some(index) = self.walker.table.lookup(&path)
                    && self.walker.table.entries[index].kind != Kind::Call
                {
                    // The whole chain is one use: its inner attributes are not walked again.
                    let line = self.walker.line(attribute);
                    self.walker.use_entry(index, line, Raises::Attribute);
                    return;
                }
            }
            Expr::Call(call) => self.walker.call(call),
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    for parameter in parameters.iter_non_variadic_params() {
                        if let Some(default) = parameter.default() {
                            self.visit_expr(default);
                        }
                    }
                }
                self.walker.lambda(lambda);
                return;
            }
            // `not NUMPY_GE_2 and isinstance(x, np.unicode_)`: what follows a test runs only
            // when the test allows it (`and`: when it holds, `or`: when it does not).
            Expr::BoolOp(bool_op) => {
                let current = self.walker.context.clone();
                let guarded = self.walker.guarded;
                for value in &bool_op.values {
                    self.visit_expr(value);
                    match (conditions::read_test(value, self.walker), bool_op.op) {
                        (Test::Version { then, .. }, ast::BoolOp::And) => {
                            self.walker.context.numpy = self.walker.context.numpy.and(&then);
                        }
                        (
                            Test::Version {
                                otherwise: Some(otherwise),
                                ..
                            },
                            ast::BoolOp::Or,
                        ) => {
                            self.walker.context.numpy = self.walker.context.numpy.and(&otherwise);
                        }
                        (Test::Version { .. } | Test::Guard, _) => self.walker.guarded += 1,
                        _ => self.walker.context.conditional = true,
                    }
                }
                self.walker.context = current;
                self.walker.guarded = guarded;
                return;
            }
            Expr::If(if_) => {
                self.visit_expr(&if_.test);
                let current = self.walker.context.clone();
                let (then, otherwise, guard, conditional) =
                    match conditions::read_test(&if_.test, self.walker) {
                        Test::Version { then, otherwise } => (Some(then), otherwise, 0, false),
                        Test::Guard => (None, None, 1, false),
                        // A branch the scan cannot decide may not run.
                        _ => (
                            Some(NumpyCondition::default()),
                            Some(NumpyCondition::default()),
                            0,
                            true,
                        ),
                    };
                self.walker.guarded += guard;
                for (branch, numpy) in [(&if_.body, then), (&if_.orelse, otherwise)] {
                    if let Some(numpy) = numpy {
                        self.walker.context.numpy = current.numpy.and(&numpy);
                        self.walker.context.conditional = current.conditional || conditional;
                        self.visit_expr(branch);
                    }
                }
                self.walker.context = current;
                self.walker.guarded -= guard;
                return;
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
