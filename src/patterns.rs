//! Regular expressions run by the browser's own `RegExp`: no regex engine in the wasm.

use crate::prelude::*;
use goalpost_core::{Pattern, Patterns};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The browser's `RegExp`, only as goalpost uses it.
    #[wasm_bindgen(js_name = RegExp)]
    type Re;

    /// `new RegExp(source, flags)`; an invalid pattern's SyntaxError is the `Err`.
    #[wasm_bindgen(catch, constructor, js_class = "RegExp")]
    fn new(source: &str, flags: &str) -> Result<Re, JsValue>;

    #[wasm_bindgen(method)]
    fn test(this: &Re, text: &str) -> bool;
}

/// The compiled patterns, in the order of [`goalpost_core::GoalSet::patterns`].
pub struct BrowserPatterns(Vec<Option<Re>>);

impl BrowserPatterns {
    /// Compiles every pattern; returns the indexes the browser rejected.
    pub fn compile(patterns: &[Pattern]) -> (BrowserPatterns, Vec<u32>) {
        let mut bad = Vec::new();
        let mut compiled = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let re = Re::new(&p.source, if p.case_insensitive { "i" } else { "" }).ok();
            if re.is_none() {
                bad.push(i as u32);
            }
            compiled.push(re);
        }
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
