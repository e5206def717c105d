//! Config errors: a JSON path and a reason, with a "did you mean" for misspelt names.

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
    /// A value of the right type that breaks a rule, with the rule in words.
    Invalid(&'static str),
}

impl ConfigError {
    pub(crate) fn new(path: &str, kind: ErrorKind) -> Self {
        ConfigError {
            path: path.into(),
            kind,
        }
    }

    /// The message shown to site owners, e.g.
    /// `goals[0].on: unknown value "clik" (did you mean "click"?)`.
    /// Built without `core::fmt`, so that it stays out of the wasm.
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
            ErrorKind::Invalid(why) => m.push_str(why),
        }
        m
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ConfigError {}

fn push_suggestion(m: &mut String, suggestion: Option<&str>) {
    if let Some(s) = suggestion {
        m.push_str(" (did you mean ");
        crate::json::push_str_literal(m, s);
        m.push_str("?)");
    }
}

/// The accepted name nearest to `found`: equal ignoring case, or within an edit distance of
/// one per three characters (at least 1, at most 3).
pub fn nearest(found: &str, names: &[&'static str]) -> Option<&'static str> {
    let limit = (found.chars().count() / 3).clamp(1, 3);
    let lower = found.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (distance(&lower, &n.to_ascii_lowercase()), *n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
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
            r#"goals[0].on: unknown value "clik" (did you mean "click"?)"#
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
