//! JS values into core data, without serde: the browser has already parsed any JSON, and
//! walking the object with js-sys costs far fewer bytes than a deserializer.

use crate::prelude::*;
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
        let mut items = Vec::new();
        for x in a.iter() {
            items.push(walk(&x, depth + 1));
        }
        return Json::Array(items);
    }
    let obj: &Object = v.unchecked_ref();
    let mut fields = Vec::new();
    for k in Object::keys(obj).iter() {
        if let Some(key) = k.as_string() {
            let val = Reflect::get(obj, &k).unwrap_or(JsValue::NULL);
            fields.push((key, walk(&val, depth + 1)));
        }
    }
    Json::Object(fields)
}

/// `track()` props: the string, number and boolean values of a plain object; anything else
/// (nested objects, functions, non-finite numbers) is left out.
pub fn props_from_js(v: &JsValue) -> Vec<(String, Prop)> {
    let Json::Object(fields) = to_json(v) else {
        return Vec::new();
    };
    let mut props = Vec::new();
    for (k, v) in fields {
        let prop = match v {
            Json::String(s) => Prop::Str(s),
            Json::Number(n) if n.is_finite() => Prop::Num(n),
            Json::Bool(b) => Prop::Bool(b),
            _ => continue,
        };
        props.push((k, prop));
    }
    props
}
