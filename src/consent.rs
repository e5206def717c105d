//! Consent signals into core updates: the page's API calls (goalpost's own words or Google
//! Consent Mode's), Global Privacy Control, Do Not Track, the per-browser opt-out, and IAB TCF.

use crate::prelude::*;
use goalpost_core::{ConsentPolicy, ConsentUpdate};
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Window;

/// The key of the per-browser opt-out (the one thing stored without consent: it records a
/// refusal, and nothing else).
pub const OPT_OUT_KEY: &str = "goalpost_optout";

/// `consent('granted' | 'denied')`, `{analytics, ads, storage}` (booleans or 'granted' /
/// 'denied'), or Google Consent Mode keys: read here, mapped by the core
/// ([`ConsentUpdate::from_signals`]).
pub fn update_from_js(v: &JsValue) -> Option<ConsentUpdate> {
    if let Some(s) = v.as_string() {
        return ConsentUpdate::from_word(&s);
    }
    if !v.is_object() {
        return None;
    }
    let obj: &Object = v.unchecked_ref();
    ConsentUpdate::from_signals(|k| {
        let x = Reflect::get(obj, &JsValue::from_str(k)).ok()?;
        x.as_bool()
            .or_else(|| goalpost_core::granted(&x.as_string()?))
    })
}

/// The signals the browser carries at start (the opt-out flag, GPC, DNT), as the core maps
/// them ([`ConsentUpdate::from_browser`]).
pub fn initial_signals(window: &Window, policy: &ConsentPolicy) -> Vec<ConsentUpdate> {
    let nav = window.navigator();
    let read = |k: &str| Reflect::get(&nav, &JsValue::from_str(k)).ok();
    let gpc = read("globalPrivacyControl").and_then(|v| v.as_bool()) == Some(true);
    let dnt = read("doNotTrack").and_then(|v| v.as_string()).as_deref() == Some("1");
    ConsentUpdate::from_browser(opted_out(window), gpc, dnt, policy)
}

fn opted_out(window: &Window) -> bool {
    matches!(window.local_storage(), Ok(Some(s)) if s.get_item(OPT_OUT_KEY).ok().flatten().as_deref() == Some("1"))
}

/// Records (or removes) the per-browser opt-out. Storage errors leave it in memory only.
pub fn set_opt_out(window: &Window, out: bool) {
    if let Ok(Some(s)) = window.local_storage() {
        let _ = if out {
            s.set_item(OPT_OUT_KEY, "1")
        } else {
            s.remove_item(OPT_OUT_KEY)
        };
    }
}

/// Deletes everything goalpost stored (keys starting with `goalpost`), but the opt-out.
pub fn clear_storage(window: &Window) {
    for area in [window.local_storage(), window.session_storage()] {
        let Ok(Some(s)) = area else { continue };
        let n = s.length().unwrap_or(0);
        let keys: Vec<String> = (0..n).filter_map(|i| s.key(i).ok().flatten()).collect();
        for k in keys {
            if k.starts_with("goalpost") && k != OPT_OUT_KEY {
                let _ = s.remove_item(&k);
            }
        }
    }
}
