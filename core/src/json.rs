//! A small JSON value tree and writer.
//!
//! The config reaches the core as a [`Json`] tree built by the browser shell from a JS value
//! (the browser's own `JSON.parse` does the parsing), so no JSON parser ships in the wasm.
//! Beacon bodies are written with [`push_str_literal`] and [`push_u64`] rather than through
//! `core::fmt`, which keeps the formatting machinery out of the release build.

use crate::prelude::*;
/// A JSON value. Objects keep their keys in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number (JSON numbers are IEEE doubles in the browser too).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, as key/value pairs in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The JSON type name used in error messages: "null", "a boolean", "a number", …
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The value under `key` when this is an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

pub use goalpost_protocol::{push_f64, push_str_literal, push_u64};

/// Parses a decimal number (`-12`, `19.99`, `1e3`, surrounding spaces allowed) without
/// `f64::from_str`, whose tables cost ~20 KB of wasm. Up to 15 significant digits are exact
/// (integer mantissa divided or multiplied by an exact power of ten); more are rounded.
pub fn parse_number(s: &str) -> Option<f64> {
    let b = s.trim().as_bytes();
    let (neg, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut exp: i32 = 0;
    let mut seen = false;
    let mut push = |d: u8, frac: bool, exp: &mut i32| {
        if digits < 18 {
            mantissa = mantissa * 10 + u64::from(d);
            if mantissa > 0 {
                digits += 1;
            }
            if frac {
                *exp -= 1;
            }
        } else if !frac {
            *exp += 1;
        }
    };
    while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
        push(d - b'0', false, &mut exp);
        seen = true;
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            push(d - b'0', true, &mut exp);
            seen = true;
            i += 1;
        }
    }
    if !seen {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut e: i32 = 0;
        let start = i;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            e = e.saturating_mul(10).saturating_add(i32::from(d - b'0'));
            i += 1;
        }
        if i == start {
            return None;
        }
        exp = exp.saturating_add(if eneg { -e } else { e });
    }
    if i != b.len() {
        return None;
    }
    let mut x = mantissa as f64;
    // Powers of ten up to 1e22 are exact doubles: one correctly rounded operation.
    let mut e = exp;
    while e != 0 {
        let step = e.clamp(-22, 22);
        let p = POW10[step.unsigned_abs() as usize];
        x = if step < 0 { x / p } else { x * p };
        e -= step;
    }
    let x = if neg { -x } else { x };
    x.is_finite().then_some(x)
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Whether `x` is a whole number, for `x` already known to lie within ±2⁶³ (`f64::fract` is
/// std-only: the browser build of the core has no std).
pub(crate) fn is_whole(x: f64) -> bool {
    x == (x as i64) as f64
}

/// Test helper: a [`Json`] from `serde_json::json!` syntax.
/// The byte offset of the first `needle` in `hay`: a plain scan. `str::find` with a `&str`
/// pattern brings std's two-way searcher and its panic formatting into the wasm (~3 KB
/// brotli); the strings searched here are short.
pub fn find_str(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

#[cfg(test)]
pub(crate) fn from_serde(v: serde_json::Value) -> Json {
    use serde_json::Value as V;
    match v {
        V::Null => Json::Null,
        V::Bool(b) => Json::Bool(b),
        V::Number(n) => Json::Number(n.as_f64().unwrap_or(f64::NAN)),
        V::String(s) => Json::String(s),
        V::Array(a) => Json::Array(a.into_iter().map(from_serde).collect()),
        V::Object(o) => Json::Object(o.into_iter().map(|(k, v)| (k, from_serde(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_like_the_standard_library_for_ordinary_input() {
        for s in [
            "0",
            "7",
            "-12",
            "19.99",
            "129.99",
            "0.1",
            "  42 ",
            "+3",
            "1e3",
            "2.5E-3",
            "1234567890.123",
            ".5",
            "5.",
            "-0.000001",
        ] {
            let want: f64 = s.trim().parse().unwrap();
            assert_eq!(parse_number(s), Some(want), "{s}");
        }
        for s in [
            "", " ", "-", ".", "abc", "1.2.3", "1e", "12px", "0x10", "1 2", "inf", "NaN",
        ] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
        assert_eq!(parse_number("1e400"), None, "overflow is not a number");
        let long = parse_number("123456789012345678901234567890").unwrap();
        assert!((long / 1.2345678901234568e29 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn type_names_and_get() {
        let obj = Json::Object(vec![("a".into(), Json::Bool(true))]);
        assert_eq!(obj.get("a"), Some(&Json::Bool(true)));
        assert_eq!(obj.get("b"), None);
        assert_eq!(Json::Null.get("a"), None);
        assert_eq!(Json::Array(vec![]).type_name(), "an array");
    }

    #[test]
    fn find_str_finds_the_first_occurrence() {
        assert_eq!(super::find_str("a://b://c", "://"), Some(1));
        assert_eq!(super::find_str("abc", ""), Some(0));
        assert_eq!(super::find_str("ab", "abc"), None);
        assert_eq!(super::find_str("été.fr", ".fr"), Some(5));
    }
}
