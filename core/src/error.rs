//! Config errors: a JSON path and a reason, with a "did you mean" for misspelt names.

use crate::prelude::*;

/// What a site, goal or category name must be, for error messages (the protocol's
/// `valid_name`; `MAX_NAME_LEN` is 64).
pub(crate) const NAME_RULE: &str = "must be 1 to 64 characters from A-Z a-z 0-9 _ . -";
/// A rule or an expected type in words, as an error keeps it: the text with the `explain`
/// feature, nothing without it, so that the tracker's build carries none of these texts.
#[inline(always)]
pub(crate) const fn w(text: &'static str) -> &'static str {
    if cfg!(feature = "explain") {
        text
    } else {
        ""
    }
}

/// One problem found in a config, located by its JSON path (`goals[3].match.selector`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// Where: a JSON path from the config root, e.g. `goals[0].on`; empty for the root itself.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong at a path.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// The value has the wrong JSON type.
    WrongType {
        /// What the key takes, e.g. "a string".
        expected: &'static str,
        /// What was found, e.g. "a number".
        found: &'static str,
    },
    /// A required key is absent.
    Missing,
    /// A key that this object does not take (the path ends with it).
    UnknownKey {
        /// The nearest valid key, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A string that is not one of the accepted names.
    UnknownName {
        /// The value found.
        found: String,
        /// The nearest accepted name, if one is close.
        suggestion: Option<&'static str>,
    },
    /// An operator name that does not exist (the path is the condition's field).
    UnknownOperator {
        /// The key found.
        found: String,
        /// The nearest operator, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A funnel step names a goal id that does not exist.
    UnknownGoal {
        /// The id found.
        found: String,
        /// The nearest goal id, if one is close.
        suggestion: Option<String>,
    },
    /// A value of the right type that breaks a rule, with the rule in words.
    Invalid(&'static str),
    /// Like `Invalid`, naming the offending value after the reason.
    InvalidValue {
        /// The rule broken, ending in ": ".
        why: &'static str,
        /// The value.
        value: String,
    },
}

impl ConfigError {
    pub(crate) fn new(path: &str, kind: ErrorKind) -> Self {
        ConfigError {
            path: path.into(),
            kind,
        }
    }

    /// `path` holds `found` where `expected` was wanted.
    pub(crate) fn wrong_type(path: &str, expected: &'static str, found: &crate::Json) -> Self {
        ConfigError::new(
            path,
            ErrorKind::WrongType {
                expected,
                found: found.type_name(),
            },
        )
    }

    /// The message shown to site owners, e.g.
    /// `goals[0].on: unknown value "clik" — did you mean "click"?`.
    /// Built without `core::fmt`, so that it stays out of the wasm.
    #[cfg(feature = "explain")]
    pub fn message(&self) -> String {
        let mut m = String::new();
        m.push_str(if self.path.is_empty() {
            "config"
        } else {
            &self.path
        });
        m.push_str(": ");
        match &self.kind {
            ErrorKind::WrongType { expected, found } => {
                m.push_str("expected ");
                m.push_str(expected);
                m.push_str(", found ");
                m.push_str(found);
            }
            ErrorKind::Missing => m.push_str("is required"),
            ErrorKind::UnknownKey { suggestion } => {
                m.push_str("unknown key");
                push_suggestion(&mut m, *suggestion);
            }
            ErrorKind::UnknownName { found, suggestion } => {
                m.push_str("unknown value ");
                crate::json::push_str_literal(&mut m, found);
                push_suggestion(&mut m, *suggestion);
            }
            ErrorKind::UnknownOperator { found, suggestion } => {
                m.push_str("unknown operator ");
                crate::json::push_str_literal(&mut m, found);
                push_suggestion(&mut m, *suggestion);
            }
            ErrorKind::UnknownGoal { found, suggestion } => {
                m.push_str("no goal with id ");
                crate::json::push_str_literal(&mut m, found);
                push_suggestion(&mut m, suggestion.as_deref());
            }
            ErrorKind::Invalid(why) => m.push_str(why),
            ErrorKind::InvalidValue { why, value } => {
                m.push_str(why);
                m.push_str(value);
            }
        }
        m
    }
}

#[cfg(not(feature = "explain"))]
impl ConfigError {
    /// Without the words (the tracker's browser build): where the problem is, `goals[0].on`,
    /// or `config` for the root. The companion build says what is wrong there.
    pub fn message(&self) -> String {
        String::from(if self.path.is_empty() {
            "config"
        } else {
            &self.path
        })
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for ConfigError {}

#[cfg(feature = "explain")]
fn push_suggestion(m: &mut String, suggestion: Option<&str>) {
    if let Some(s) = suggestion {
        m.push_str(" \u{2014} did you mean ");
        crate::json::push_str_literal(m, s);
        m.push('?');
    }
}

/// The accepted name nearest to `found`: equal ignoring case, or within an edit distance of
/// one per three characters (at least 1, at most 3). None without the `explain` feature: a
/// suggestion is part of the words.
pub fn nearest(found: &str, names: &[&'static str]) -> Option<&'static str> {
    nearest_in(found, names.iter().copied())
}

/// Without the words: no suggestion.
#[cfg(not(feature = "explain"))]
pub(crate) fn nearest_in<'a>(_: &str, _: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    None
}

/// [`nearest`] over any names (goal ids, say).
#[cfg(feature = "explain")]
pub(crate) fn nearest_in<'a>(found: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // (a counting fold: `chars().count()` brings std's 800-byte vectorised counter)
    let limit = (found.chars().fold(0usize, |n, _| n + 1) / 3).clamp(1, 3);
    let lower = found.to_ascii_lowercase();
    names
        .map(|n| (distance(&lower, &n.to_ascii_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Edit distance over chars, counting a swap of two neighbours as one edit (optimal string
/// alignment): "vaule" is one edit from "value".
#[cfg(feature = "explain")]
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// `path.key`, or `key` at the root.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let mut p = String::with_capacity(path.len() + key.len() + 1);
    p.push_str(path);
    if !path.is_empty() {
        p.push('.');
    }
    p.push_str(key);
    p
}

/// `path[i]`.
pub(crate) fn join_index(path: &str, i: usize) -> String {
    let mut p = String::with_capacity(path.len() + 4);
    p.push_str(path);
    p.push('[');
    crate::json::push_u64(&mut p, i as u64);
    p.push(']');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = &["click", "custom", "startsWith", "selector"];
        assert_eq!(nearest("clik", names), Some("click"));
        assert_eq!(nearest("startswth", names), Some("startsWith"));
        assert_eq!(nearest("STARTSWITH", names), Some("startsWith"));
        assert_eq!(nearest("selecter", names), Some("selector"));
        assert_eq!(
            nearest("vaule", &["value", "label"]),
            Some("value"),
            "a swap is one edit"
        );
        assert_eq!(nearest("zzz", names), None);
        assert_eq!(nearest("", names), None);
    }

    #[test]
    fn messages() {
        let e = ConfigError::new(
            "goals[0].on",
            ErrorKind::UnknownName {
                found: "clik".into(),
                suggestion: Some("click"),
            },
        );
        assert_eq!(
            e.message(),
            r#"goals[0].on: unknown value "clik" — did you mean "click"?"#
        );
        assert_eq!(e.to_string(), e.message());
        let e = ConfigError::new(
            "",
            ErrorKind::WrongType {
                expected: "an object",
                found: "an array",
            },
        );
        assert_eq!(e.message(), "config: expected an object, found an array");
        assert_eq!(
            ConfigError::new("site", ErrorKind::Missing).message(),
            "site: is required"
        );
        assert_eq!(join_index(&join_key("", "goals"), 12), "goals[12]");
    }
}
