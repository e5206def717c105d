//! Regular expressions run by the browser's own `RegExp`: no regex engine in the wasm.

use goalpost_core::{Pattern, Patterns};
use js_sys::{Array, Function, Reflect, RegExp};
use wasm_bindgen::{JsCast, JsValue};

/// The compiled patterns, in the order of [`goalpost_core::GoalSet::patterns`].
pub struct BrowserPatterns(Vec<Option<RegExp>>);

impl BrowserPatterns {
    /// Compiles every pattern; returns the indexes the browser rejected.
    pub fn compile(patterns: &[Pattern]) -> (BrowserPatterns, Vec<u32>) {
        let ctor = Reflect::get(&js_sys::global(), &JsValue::from_str("RegExp"))
            .ok()
            .and_then(|c| c.dyn_into::<Function>().ok());
        let mut bad = Vec::new();
        let compiled = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let args = Array::of2(
                    &JsValue::from_str(&p.source),
                    &JsValue::from_str(if p.case_insensitive { "i" } else { "" }),
                );
                // Reflect.construct catches the SyntaxError of an invalid pattern.
                let re = ctor
                    .as_ref()
                    .and_then(|c| Reflect::construct(c, &args).ok())
                    .and_then(|r| r.dyn_into::<RegExp>().ok());
                if re.is_none() {
                    bad.push(i as u32);
                }
                re
            })
            .collect();
        (BrowserPatterns(compiled), bad)
    }
}

impl Patterns for BrowserPatterns {
    fn is_match(&self, index: u32, text: &str) -> bool {
        self.0
            .get(index as usize)
            .and_then(|r| r.as_ref())
            .is_some_and(|r| r.test(text))
    }

    fn fold_case(&self, text: &str) -> String {
        js_sys::JsString::from(text).to_lower_case().into()
    }
}
