//! Uses across a release's modules: the calls the walk recorded are followed to the release's
//! own functions (through imports, aliases, instances and decorators), each function is
//! summarised once — the uses it makes whenever it runs, and the uses it makes of what its
//! caller passes (`numpy.dtype(dtype)`, `getattr(np, f.__name__)`) — and the code that runs at
//! import is told every use its calls reach.
//!
//! A use reached through calls is *definite* when every step runs whenever its function does
//! (no `if` that the arguments do not decide, no loop, no early `return` before it); otherwise
//! the use may not happen, and the verdict says *suspect* rather than *blocker*.

use std::collections::{HashMap, HashSet};

use super::SourceUse;
use super::conditions::NumpyCondition;
use super::facts::{
    Binding, Callee, Context, Effect, EffectKind, FunctionFacts, ParamTest, Raises, Sink, Value,
};
use super::held::HeldModule;
use crate::inspect::removed::{Kind, RemovedTable};

/// Calls followed from one place, at most.
const MAX_DEPTH: usize = 24;
/// Items one summary keeps, at most (a release with a web of helpers stays bounded).
const MAX_ITEMS: usize = 256;
/// Imports and aliases followed to find what a name is bound to.
const MAX_HOPS: usize = 16;

/// A function of the release, as a call reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Target {
    module: usize,
    key: String,
    /// Called through an instance or `self`: the first parameter is bound.
    bound: bool,
}

/// One step of a call chain: where the call is and what it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    file: usize,
    line: usize,
    callee: String,
}

/// What a function does when it runs: a use, or a use of a parameter.
#[derive(Debug, Clone)]
struct Item {
    what: What,
    raises: Raises,
    context: Context,
    /// Where the failing code is.
    origin: (usize, usize),
    /// Where the use became certain (the call that passed the failing argument), when not at
    /// `origin`.
    resolved_at: Option<(usize, usize)>,
    /// The calls from the summarised function down to the origin.
    chain: Vec<Step>,
}

#[derive(Debug, Clone)]
enum What {
    Entry(usize),
    Param(usize, Sink),
}

pub struct Program<'a> {
    modules: &'a [HeldModule],
    by_name: HashMap<String, usize>,
    table: &'a RemovedTable,
    summaries: HashMap<(usize, String), Vec<Item>>,
    in_progress: HashSet<(usize, String)>,
}

impl<'a> Program<'a> {
    pub fn new(modules: &'a [HeldModule], table: &'a RemovedTable) -> Program<'a> {
        let mut by_name = HashMap::new();
        for (index, module) in modules.iter().enumerate() {
            by_name.insert(module.module.clone(), index);
            // A project's `src/` layout: `src/app/x.py` is imported as `app.x`.
            if let Some(inside) = module.module.strip_prefix("src.") {
                by_name.entry(inside.to_string()).or_insert(index);
            }
        }
        Program {
            modules,
            by_name,
            table,
            summaries: HashMap::new(),
            in_progress: HashSet::new(),
        }
    }

    /// Every use: those at import (with the calls that reach them), then those in functions.
    pub fn uses(&mut self) -> Vec<SourceUse> {
        let mut uses = Vec::new();
        for module in 0..self.modules.len() {
            let top = self.modules[module].top();
            for effect in &top {
                for item in self.effect_items(module, effect, 0) {
                    let What::Entry(entry) = item.what else {
                        continue;
                    };
                    let line = item.chain.first().map_or(item.origin.1, |step| step.line);
                    uses.push(self.source_use(module, line, entry, &item, true));
                }
            }
        }
        for module in 0..self.modules.len() {
            let held = &self.modules[module];
            let mut bodies: Vec<Vec<Effect>> = held
                .function_keys()
                .filter_map(|key| held.function(key))
                .map(|function| function.effects)
                .collect();
            bodies.push(held.anonymous());
            for effects in bodies {
                for effect in &effects {
                    for item in self.effect_items(module, effect, 0) {
                        let What::Entry(entry) = item.what else {
                            continue;
                        };
                        // Each use once, where it is: uses deeper in the calls are told by the
                        // function they are in.
                        let here = item.resolved_at.unwrap_or(item.origin);
                        if here != (module, effect.line) {
                            continue;
                        }
                        let mut found = self.source_use(module, effect.line, entry, &item, false);
                        found.definite = true;
                        uses.push(found);
                    }
                }
            }
        }
        // Of the ways one line reaches one name, the one that surely runs is kept.
        uses.sort_by(|a, b| {
            (&a.file, a.line, &a.path, !a.at_import, !a.definite).cmp(&(
                &b.file,
                b.line,
                &b.path,
                !b.at_import,
                !b.definite,
            ))
        });
        uses.dedup_by(|a, b| {
            a.file == b.file && a.line == b.line && a.path == b.path && a.at_import == b.at_import
        });
        uses
    }

    fn source_use(
        &self,
        module: usize,
        line: usize,
        entry: usize,
        item: &Item,
        at_import: bool,
    ) -> SourceUse {
        let mut via: Vec<String> = item
            .chain
            .iter()
            .map(|step| {
                format!(
                    "{}() at {}:{}",
                    step.callee, self.modules[step.file].file, step.line
                )
            })
            .collect();
        if !via.is_empty() {
            via.push(format!(
                "{}:{}",
                self.modules[item.origin.0].file, item.origin.1
            ));
        }
        SourceUse {
            file: self.modules[module].file.clone(),
            line,
            path: self.table.entries[entry].display(),
            at_import,
            definite: !item.context.conditional,
            requires: item.context.numpy.specifiers(),
            via,
        }
    }

    /// What one effect does, in its function (whose parameters are `parameters`).
    fn effect_items(&mut self, module: usize, effect: &Effect, depth: usize) -> Vec<Item> {
        let mut context = effect.context.clone();
        context.caught = Default::default();
        match &effect.kind {
            EffectKind::Use { entry, raises } => vec![Item {
                what: What::Entry(*entry),
                raises: *raises,
                context,
                origin: (module, effect.line),
                resolved_at: None,
                chain: Vec::new(),
            }],
            EffectKind::Sink { param, sink } => vec![Item {
                what: What::Param(*param, sink.clone()),
                raises: match sink {
                    Sink::CallArgument { .. } => Raises::Type,
                    Sink::NameOf { .. } | Sink::Getattr { .. } => Raises::Attribute,
                },
                context,
                origin: (module, effect.line),
                resolved_at: None,
                chain: Vec::new(),
            }],
            EffectKind::Call {
                callee,
                args,
                keywords,
                spread,
            } => {
                if depth >= MAX_DEPTH {
                    return Vec::new();
                }
                let Some(target) = self.resolve_callee(module, callee) else {
                    return Vec::new();
                };
                let summary = self.summary(&target, depth + 1);
                if summary.is_empty() {
                    return Vec::new();
                }
                let Some(function) = self.function(&target) else {
                    return Vec::new();
                };
                let call = Call {
                    module,
                    effect,
                    args,
                    keywords,
                    spread: *spread,
                    function: &function,
                    bound: target.bound,
                };
                summary
                    .into_iter()
                    .filter_map(|item| self.instantiate(item, &call))
                    .collect()
            }
        }
    }

    fn function(&self, target: &Target) -> Option<FunctionFacts> {
        self.modules[target.module].function(&target.key)
    }

    /// What a function does whenever it runs, computed once.
    fn summary(&mut self, target: &Target, depth: usize) -> Vec<Item> {
        let key = (target.module, target.key.clone());
        if let Some(summary) = self.summaries.get(&key) {
            return summary.clone();
        }
        // A recursive call adds nothing the first visit does not find.
        if !self.in_progress.insert(key.clone()) {
            return Vec::new();
        }
        let function = self.function(target).unwrap_or_default();
        let mut items = Vec::new();
        for effect in &function.effects {
            items.extend(self.effect_items(target.module, effect, depth));
            if items.len() >= MAX_ITEMS {
                items.truncate(MAX_ITEMS);
                break;
            }
        }
        self.in_progress.remove(&key);
        self.summaries.insert(key, items.clone());
        items
    }

    /// An item of the callee's summary, as the call makes it happen in the caller.
    fn instantiate(&self, item: Item, call: &Call<'_>) -> Option<Item> {
        let Item {
            what,
            raises,
            context,
            origin,
            resolved_at,
            chain,
        } = item;
        // What catches the error at the call site catches it from the callee too.
        if call.effect.context.caught.catches(raises) {
            return None;
        }
        let mut conditional = context.conditional || call.effect.context.conditional;
        let mut param_tests = call.effect.context.param_tests.clone();
        for test in &context.param_tests {
            let argument = call.argument(test.param);
            // Whether the argument is what the test compares with; None when unknown here.
            let is = match (&argument, &test.against) {
                (Value::Param(caller_param), _) => {
                    param_tests.push(ParamTest {
                        param: *caller_param,
                        ..test.clone()
                    });
                    continue;
                }
                (Value::Unknown, _) => None,
                (Value::None, against) => Some(against.is_none()),
                (Value::Numpy(path), Some(against)) => Some(path == against),
                (Value::Numpy(_) | Value::Function(_) | Value::Str(_), _) => Some(false),
            };
            match is {
                Some(is) if is != test.holds => return None,
                Some(_) => {}
                None => conditional = true,
            }
        }
        let numpy: NumpyCondition = call.effect.context.numpy.and(&context.numpy);
        let context = Context {
            caught: Default::default(),
            conditional,
            numpy,
            param_tests,
        };
        let mut steps = vec![Step {
            file: call.module,
            line: call.effect.line,
            callee: call.function.key.clone(),
        }];
        steps.extend(chain);
        let here = (call.module, call.effect.line);
        match what {
            What::Entry(entry) => Some(Item {
                what: What::Entry(entry),
                raises,
                context,
                origin,
                resolved_at,
                chain: steps,
            }),
            What::Param(param, sink) => {
                let sink = match sink {
                    Sink::CallArgument { function } => Sink::CallArgument { function },
                    Sink::NameOf { object } => Sink::NameOf {
                        object: call.substitute(object),
                    },
                    Sink::Getattr { object } => Sink::Getattr {
                        object: call.substitute(object),
                    },
                };
                match call.argument(param) {
                    Value::Param(caller_param) => Some(Item {
                        what: What::Param(caller_param, sink),
                        raises,
                        context,
                        origin,
                        resolved_at,
                        chain: steps,
                    }),
                    value => {
                        let entry = self.sink_entry(&sink, &value)?;
                        Some(Item {
                            what: What::Entry(entry),
                            raises,
                            context,
                            origin,
                            resolved_at: Some(here),
                            chain: steps,
                        })
                    }
                }
            }
        }
    }

    /// The table entry a parameter use reaches with `value`.
    fn sink_entry(&self, sink: &Sink, value: &Value) -> Option<usize> {
        match (sink, value) {
            (Sink::CallArgument { function }, value) => {
                let wanted = match value {
                    Value::Numpy(path) => path.clone(),
                    Value::Str(text) => format!("'{text}'"),
                    Value::None => "None".to_string(),
                    _ => return None,
                };
                self.table
                    .calls_of(function)
                    .find(|(_, argument)| *argument == wanted)
                    .map(|(index, _)| index)
            }
            (Sink::NameOf { object }, Value::Function(name))
            | (Sink::Getattr { object }, Value::Str(name)) => {
                let Value::Numpy(base) = object else {
                    return None;
                };
                let index = self.table.lookup(&format!("{base}.{name}"))?;
                (self.table.entries[index].kind != Kind::Call).then_some(index)
            }
            _ => None,
        }
    }

    /// The function a call reaches, if it is the release's own.
    fn resolve_callee(&self, module: usize, callee: &Callee) -> Option<Target> {
        match callee {
            Callee::Global(dotted) => self.callable(self.resolve(module, dotted, 0)?),
            Callee::Local(binding, rest) => {
                self.callable(self.resolve_binding(module, binding, rest, 0)?)
            }
            Callee::Method { class, name } => self.method(module, class, name),
        }
    }

    /// A method defined in `class` of `module`, called on an instance.
    fn method(&self, module: usize, class: &str, name: &str) -> Option<Target> {
        let key = format!("{class}.{name}");
        self.modules[module].has_function(&key).then_some(Target {
            module,
            key,
            bound: true,
        })
    }

    /// What calling a resolved name runs: a function, a class's `__init__`, an instance's
    /// `__call__`.
    fn callable(&self, resolved: Resolved) -> Option<Target> {
        match resolved {
            Resolved::Function { module, key } => Some(Target {
                module,
                key,
                bound: false,
            }),
            Resolved::Class { module, name } => self.method(module, &name, "__init__"),
            Resolved::Instance { module, class } => self.method(module, &class, "__call__"),
            Resolved::Method { module, key } => Some(Target {
                module,
                key,
                bound: true,
            }),
            Resolved::Module => None,
        }
    }

    /// What a dotted global name of `module` is bound to.
    fn resolve(&self, module: usize, dotted: &[String], hops: usize) -> Option<Resolved> {
        let (head, rest) = dotted.split_first()?;
        let binding = self.modules[module].bindings.get(head)?;
        self.resolve_binding(module, binding, rest, hops)
    }

    fn resolve_binding(
        &self,
        module: usize,
        binding: &Binding,
        rest: &[String],
        hops: usize,
    ) -> Option<Resolved> {
        if hops > MAX_HOPS {
            return None;
        }
        match binding {
            Binding::Function(key) => rest.is_empty().then(|| Resolved::Function {
                module,
                key: key.clone(),
            }),
            Binding::Class(name) => match rest {
                [] => Some(Resolved::Class {
                    module,
                    name: name.clone(),
                }),
                // `Class.method(…)`: an unbound call.
                [method] => {
                    let key = format!("{name}.{method}");
                    self.modules[module]
                        .has_function(&key)
                        .then_some(Resolved::Function { module, key })
                }
                _ => None,
            },
            Binding::Import {
                module: name,
                name: item,
            } => {
                let mut path: Vec<String> = item.iter().cloned().collect();
                path.extend(rest.iter().cloned());
                self.resolve_in_module(name, &path, hops + 1)
            }
            Binding::Alias(dotted) => {
                let mut path = dotted.clone();
                path.extend(rest.iter().cloned());
                self.resolve(module, &path, hops + 1)
            }
            Binding::Instance(dotted) => {
                let Resolved::Class {
                    module: class_module,
                    name,
                } = self.resolve(module, dotted, hops + 1)?
                else {
                    return None;
                };
                match rest {
                    [] => Some(Resolved::Instance {
                        module: class_module,
                        class: name,
                    }),
                    [method] => {
                        let key = format!("{name}.{method}");
                        self.modules[class_module]
                            .has_function(&key)
                            .then_some(Resolved::Method {
                                module: class_module,
                                key,
                            })
                    }
                    _ => None,
                }
            }
        }
    }

    /// What `names` is in the module called `module` (a submodule when the module has no such
    /// global: `from pkg import sub`).
    fn resolve_in_module(&self, module: &str, names: &[String], hops: usize) -> Option<Resolved> {
        let Some((head, rest)) = names.split_first() else {
            return self.by_name.get(module).map(|_| Resolved::Module);
        };
        if let Some(&index) = self.by_name.get(module)
            && let Some(binding) = self.modules[index].bindings.get(head)
        {
            return self.resolve_binding(index, binding, rest, hops);
        }
        let submodule = format!("{module}.{head}");
        if self.by_name.contains_key(&submodule) {
            return self.resolve_in_module(&submodule, rest, hops + 1);
        }
        None
    }
}

/// What a name resolves to.
#[derive(Debug, Clone)]
enum Resolved {
    Function { module: usize, key: String },
    Method { module: usize, key: String },
    Class { module: usize, name: String },
    Instance { module: usize, class: String },
    Module,
}

/// A call, with what it passes.
struct Call<'c> {
    module: usize,
    effect: &'c Effect,
    args: &'c [Value],
    keywords: &'c [(String, Value)],
    spread: bool,
    function: &'c FunctionFacts,
    bound: bool,
}

impl Call<'_> {
    /// What the call passes for the callee's parameter `index` (its default when nothing).
    fn argument(&self, index: usize) -> Value {
        let Some(parameter) = self.function.parameters.get(index) else {
            return Value::Unknown;
        };
        let offset = usize::from(self.bound);
        if self.bound && index == 0 {
            // `self`.
            return Value::Unknown;
        }
        if parameter.positional
            && let Some(value) = self.args.get(index - offset)
        {
            return value.clone();
        }
        if let Some((_, value)) = self
            .keywords
            .iter()
            .find(|(name, _)| *name == parameter.name)
        {
            return value.clone();
        }
        if self.spread {
            return Value::Unknown;
        }
        parameter.default.clone().unwrap_or(Value::Unknown)
    }

    /// A value of the callee (its parameter) as the caller passes it.
    fn substitute(&self, value: Value) -> Value {
        match value {
            Value::Param(index) => self.argument(index),
            other => other,
        }
    }
}
