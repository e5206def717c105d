//! JS values into core data, without serde: the browser has already parsed any JSON, and
//! walking the object with js-sys costs far fewer bytes than a deserializer.

use goalpost_core::{Json, Prop};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Nesting deeper than this is cut off (as `null`): configs are shallow, hostile ones are not.
const MAX_DEPTH: u32 = 32;

/// A JS value as a [`Json`] tree. Functions, symbols and big integers become `null`, as do
/// getters that throw; nothing here throws.
pub fn to_json(v: &JsValue) -> Json {
    walk(v, 0)
}

fn walk(v: &JsValue, depth: u32) -> Json {
    if let Some(b) = v.as_bool() {
        return Json::Bool(b);
    }
    if let Some(n) = v.as_f64() {
        return Json::Number(n);
    }
    if let Some(s) = v.as_string() {
        return Json::String(s);
    }
    if depth >= MAX_DEPTH || !v.is_object() {
        return Json::Null;
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        return Json::Array(a.iter().map(|x| walk(&x, depth + 1)).collect());
    }
    let obj: &Object = v.unchecked_ref();
    let fields = Object::keys(obj)
        .iter()
        .filter_map(|k| {
            let key = k.as_string()?;
            let val = Reflect::get(obj, &k).unwrap_or(JsValue::NULL);
            Some((key, walk(&val, depth + 1)))
        })
        .collect();
    Json::Object(fields)
}

/// `track()` props: the string, number and boolean values of a plain object; anything else
/// (nested objects, functions, non-finite numbers) is left out.
pub fn props_from_js(v: &JsValue) -> Vec<(String, Prop)> {
    let Json::Object(fields) = to_json(v) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            Json::String(s) => Some((k, Prop::Str(s))),
            Json::Number(n) if n.is_finite() => Some((k, Prop::Num(n))),
            Json::Bool(b) => Some((k, Prop::Bool(b))),
            _ => None,
        })
        .collect()
}
