//! Conditions: `field operator value`, compiled once, evaluated against a [`Candidate`].
//!
//! In a goal's `match`, every key other than the trigger's own is a field, and its value is a
//! condition: a string (equals), a number (equals), a list of strings (in), `true`/`false`
//! (exists / does not exist), or an object of operators, all of which must hold:
//! `{"startsWith": "/blog/", "not": false, "caseInsensitive": true}`. Parameterised fields take
//! an object of names: `"query": {"plan": "pro"}`, `"attr": {"data-plan": {"in": ["a","b"]}}`,
//! `"props": {"total": {"gte": 100}}`. `"any": [{…}, {…}]` holds when one of its groups does.

use crate::error::{join_index, join_key, nearest, w, ConfigError, ErrorKind};
pub use crate::field::{Field, FIELDS};
use crate::interaction::Candidate;
use crate::json::Json;
use crate::prelude::*;

/// Operators as written in a config.
pub const OPERATORS: &[&str] = &[
    "equals",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "in",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "not",
    "caseInsensitive",
];

/// One test on a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Equal text (or, for a number, equal number).
    Equals(String),
    /// Equal number.
    EqualsNumber(f64),
    /// Contains the text.
    Contains(String),
    /// Starts with.
    StartsWith(String),
    /// Ends with.
    EndsWith(String),
    /// Matches the regular expression with this index in [`Patterns`].
    Matches(u32),
    /// Equals one of these.
    In(Vec<String>),
    /// The field has a value (`false`: has none).
    Exists(bool),
    /// Greater than.
    Gt(f64),
    /// Greater than or equal.
    Gte(f64),
    /// Less than.
    Lt(f64),
    /// Less than or equal.
    Lte(f64),
}

/// A field, an operator, and its modifiers.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// What is read.
    pub field: Field,
    /// The test.
    pub op: Op,
    /// Negate the result (a missing value then passes).
    pub negate: bool,
    /// Compare text ignoring case (needles are stored lowercased).
    pub case_insensitive: bool,
}

/// Regular expressions, evaluated outside the core: the browser's own `RegExp` in the shell
/// (no regex engine in the wasm), a native engine in tests.
pub trait Patterns {
    /// Whether pattern `index` (as listed by [`crate::GoalSet::patterns`]) matches `text`.
    fn is_match(&self, index: u32, text: &str) -> bool;

    /// `text` in lower case, for case-insensitive conditions. The shell uses the browser's
    /// `toLowerCase` (Unicode case tables cost wasm bytes); this default uses Rust's.
    fn fold_case(&self, text: &str) -> String {
        text.to_lowercase()
    }
}

/// A regex pattern as configured, with its case flag.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// The source, as for `new RegExp(source)`.
    pub source: String,
    /// Compile with the `i` flag.
    pub case_insensitive: bool,
    /// Where it was configured (for an error if the engine rejects it).
    pub path: String,
}

/// All conditions of a match: every one in `all`, and one group of `any` (if any).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conditions {
    /// AND-ed.
    pub all: Vec<Condition>,
    /// OR-ed groups (each AND-ed inside); empty means no OR part.
    pub any: Vec<Vec<Condition>>,
}

impl Conditions {
    /// Whether the candidate passes.
    pub fn eval(&self, c: &Candidate, p: &dyn Patterns) -> bool {
        self.all.iter().all(|x| x.eval(c, p))
            && (self.any.is_empty() || self.any.iter().any(|g| g.iter().all(|x| x.eval(c, p))))
    }

    /// The first condition that fails (for debug logs).
    pub fn first_failure(&self, c: &Candidate, p: &dyn Patterns) -> Option<&'static str> {
        if let Some(x) = self.all.iter().find(|x| !x.eval(c, p)) {
            return Some(x.field.name());
        }
        if !self.any.is_empty() && !self.any.iter().any(|g| g.iter().all(|x| x.eval(c, p))) {
            return Some("any");
        }
        None
    }

    /// Lower-cases the needles of case-insensitive conditions with `p`'s case folding.
    pub fn fold_needles(&mut self, p: &dyn Patterns) {
        for c in self.all.iter_mut().chain(self.any.iter_mut().flatten()) {
            if !c.case_insensitive {
                continue;
            }
            match &mut c.op {
                Op::Equals(s) | Op::Contains(s) | Op::StartsWith(s) | Op::EndsWith(s) => {
                    *s = p.fold_case(s)
                }
                Op::In(list) => list.iter_mut().for_each(|s| *s = p.fold_case(s)),
                _ => {}
            }
        }
    }

    /// Every condition: `all`, then each `any` group's. One plain list for the scans made
    /// at start-up (an iterator chain per scan costs the wasm more code).
    pub fn list(&self) -> Vec<&Condition> {
        let mut out = Vec::new();
        for c in &self.all {
            out.push(c);
        }
        for group in &self.any {
            for c in group {
                out.push(c);
            }
        }
        out
    }

    /// Fields read from element attributes (the shell collects only these).
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for c in self.list() {
            if let Field::Attr(a) = &c.field {
                out.push(a.as_str());
            }
        }
        out
    }

    /// Whether any condition reads `field` (the shell reads an element's text, id and
    /// classes only then).
    pub fn reads(&self, field: &Field) -> bool {
        self.list().iter().any(|c| c.field == *field)
    }
}

impl Condition {
    /// Whether the candidate passes this condition.
    pub fn eval(&self, c: &Candidate, p: &dyn Patterns) -> bool {
        self.test(c, p) != self.negate
    }

    fn test(&self, c: &Candidate, p: &dyn Patterns) -> bool {
        let Some(value) = c.value(&self.field) else {
            return matches!(self.op, Op::Exists(false));
        };
        let num = || value.number();
        let text = || {
            let t = value.text();
            if self.case_insensitive {
                alloc::borrow::Cow::Owned(p.fold_case(&t))
            } else {
                t
            }
        };
        match &self.op {
            Op::Exists(e) => *e,
            Op::Equals(s) => text() == s.as_str(),
            Op::EqualsNumber(n) => num() == Some(*n),
            Op::Contains(s) => crate::json::find_str(&text(), s).is_some(),
            Op::StartsWith(s) => text().starts_with(s.as_str()),
            Op::EndsWith(s) => text().ends_with(s.as_str()),
            Op::In(list) => {
                let t = text();
                list.iter().any(|s| *s == t)
            }
            Op::Matches(i) => p.is_match(*i, &value.text()),
            Op::Gt(n) => num().is_some_and(|v| v > *n),
            Op::Gte(n) => num().is_some_and(|v| v >= *n),
            Op::Lt(n) => num().is_some_and(|v| v < *n),
            Op::Lte(n) => num().is_some_and(|v| v <= *n),
        }
    }
}

/// Compiles one field's condition value at `path` into `out`. `patterns` collects regexes.
pub(crate) fn compile_condition(
    field: Field,
    value: &Json,
    path: &str,
    patterns: &mut Vec<Pattern>,
    out: &mut Vec<Condition>,
    errors: &mut Vec<ConfigError>,
) {
    let simple = |op| Condition {
        field: field.clone(),
        op,
        negate: false,
        case_insensitive: false,
    };
    match value {
        Json::String(s) => out.push(simple(Op::Equals(s.clone()))),
        Json::Number(n) => out.push(simple(Op::EqualsNumber(*n))),
        Json::Bool(b) => out.push(simple(Op::Exists(*b))),
        Json::Array(items) => {
            if let Some(list) = strings(items, path, errors) {
                out.push(simple(Op::In(list)));
            }
        }
        Json::Object(ops) => compile_ops(field, ops, path, patterns, out, errors),
        Json::Null => errors.push(ConfigError::wrong_type(
            path,
            w("a string, number, boolean, list or object of operators"),
            value,
        )),
    }
}

fn compile_ops(
    field: Field,
    ops: &[(String, Json)],
    path: &str,
    patterns: &mut Vec<Pattern>,
    out: &mut Vec<Condition>,
    errors: &mut Vec<ConfigError>,
) {
    let flag = |key: &str, errors: &mut Vec<ConfigError>| match ops.iter().find(|(k, _)| k == key) {
        Some((_, Json::Bool(b))) => *b,
        Some((_, other)) => {
            errors.push(ConfigError::wrong_type(
                &join_key(path, key),
                w("true or false"),
                other,
            ));
            false
        }
        None => false,
    };
    let negate = flag("not", errors);
    let ci = flag("caseInsensitive", errors);
    // Needles are folded to lower case later, by the engine that folds the values
    // (`Conditions::fold_needles`), so both sides use the same case mapping.
    let fold = |s: &str| s.to_string();
    let before = out.len();
    for (key, v) in ops {
        let p = join_key(path, key);
        let op = match key.as_str() {
            "not" | "caseInsensitive" => continue,
            "equals" => match v {
                Json::Number(n) => Some(Op::EqualsNumber(*n)),
                _ => text(v, &p, errors).map(|s| Op::Equals(fold(&s))),
            },
            "contains" => text(v, &p, errors).map(|s| Op::Contains(fold(&s))),
            "startsWith" => text(v, &p, errors).map(|s| Op::StartsWith(fold(&s))),
            "endsWith" => text(v, &p, errors).map(|s| Op::EndsWith(fold(&s))),
            "matches" => text(v, &p, errors).map(|source| {
                patterns.push(Pattern {
                    source,
                    case_insensitive: ci,
                    path: p.clone(),
                });
                Op::Matches(patterns.len() as u32 - 1)
            }),
            "in" => match v {
                Json::Array(items) => {
                    // (needles are folded later, like the others: see `fold` above)
                    strings(items, &p, errors).map(Op::In)
                }
                other => {
                    errors.push(ConfigError::wrong_type(&p, w("a list of strings"), other));
                    None
                }
            },
            "exists" => match v {
                Json::Bool(b) => Some(Op::Exists(*b)),
                other => {
                    errors.push(ConfigError::wrong_type(&p, w("true or false"), other));
                    None
                }
            },
            "gt" | "gte" | "lt" | "lte" => number(v, &p, errors).map(|n| match key.as_str() {
                "gt" => Op::Gt(n),
                "gte" => Op::Gte(n),
                "lt" => Op::Lt(n),
                _ => Op::Lte(n),
            }),
            other => {
                let suggestion = nearest(other, OPERATORS);
                errors.push(ConfigError::new(
                    path,
                    ErrorKind::UnknownOperator {
                        found: other.to_string(),
                        suggestion,
                    },
                ));
                None
            }
        };
        if let Some(op) = op {
            out.push(Condition {
                field: field.clone(),
                op,
                negate,
                case_insensitive: ci,
            });
        }
    }
    if out.len() == before && !errors.iter().any(|e| e.path.starts_with(path)) {
        errors.push(ConfigError::new(path, ErrorKind::Invalid(w("needs an operator (equals, contains, startsWith, endsWith, matches, in, exists, gt, gte, lt, lte)"))));
    }
}

fn text(v: &Json, path: &str, errors: &mut Vec<ConfigError>) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        other => {
            errors.push(ConfigError::wrong_type(path, w("a string"), other));
            None
        }
    }
}

fn number(v: &Json, path: &str, errors: &mut Vec<ConfigError>) -> Option<f64> {
    match v {
        Json::Number(n) if n.is_finite() => Some(*n),
        other => {
            errors.push(ConfigError::wrong_type(path, w("a number"), other));
            None
        }
    }
}

/// A list of strings, or an error at the first item that is not one.
pub(crate) fn strings(
    items: &[Json],
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Json::String(s) => out.push(s.clone()),
            other => {
                errors.push(ConfigError::wrong_type(
                    &join_index(path, i),
                    w("a string"),
                    other,
                ));
                return None;
            }
        }
    }
    Some(out)
}
