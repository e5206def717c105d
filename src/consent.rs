//! Consent signals into core updates: the page's API calls (goalpost's own words or Google
//! Consent Mode's), Global Privacy Control, Do Not Track, the per-browser opt-out, and IAB TCF.

use crate::prelude::*;
use goalpost_core::{ConsentPolicy, ConsentUpdate, Gpc};
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Window;

/// The key of the per-browser opt-out (the one thing stored without consent: it records a
/// refusal, and nothing else).
pub const OPT_OUT_KEY: &str = "goalpost_optout";

/// `consent('granted' | 'denied')`, `{analytics, ads, storage}` (booleans or 'granted' /
/// 'denied'), or Google Consent Mode keys (`analytics_storage` → analytics and storage;
/// `ad_storage`, `ad_user_data`, `ad_personalization` → ads, denied if any of them is).
pub fn update_from_js(v: &JsValue) -> Option<ConsentUpdate> {
    if let Some(s) = v.as_string() {
        return match s.as_str() {
            "granted" => Some(ConsentUpdate::all(true)),
            "denied" => Some(ConsentUpdate::all(false)),
            _ => None,
        };
    }
    if !v.is_object() {
        return None;
    }
    let obj: &Object = v.unchecked_ref();
    let get = |k: &str| -> Option<bool> {
        let x = Reflect::get(obj, &JsValue::from_str(k)).ok()?;
        x.as_bool().or_else(|| match x.as_string()?.as_str() {
            "granted" => Some(true),
            "denied" => Some(false),
            _ => None,
        })
    };
    let mut u = ConsentUpdate {
        analytics: get("analytics"),
        ads: get("ads"),
        storage: get("storage"),
    };
    if let Some(a) = get("analytics_storage") {
        u.analytics = Some(a);
        u.storage = u.storage.or(Some(a));
    }
    // Consent Mode's ad signals replace `ads`: granted only if every one given is
    let mut ad: Option<bool> = None;
    for k in ["ad_storage", "ad_user_data", "ad_personalization"] {
        if let Some(g) = get(k) {
            ad = Some(g && ad.unwrap_or(true));
        }
    }
    if ad.is_some() {
        u.ads = ad;
    }
    (u != ConsentUpdate::default()).then_some(u)
}

/// The signals the browser carries at start: the opt-out flag, GPC, DNT.
pub fn initial_signals(window: &Window, policy: &ConsentPolicy) -> Vec<ConsentUpdate> {
    let mut out = Vec::new();
    if opted_out(window) {
        out.push(ConsentUpdate::all(false));
    }
    let nav = window.navigator();
    let gpc = Reflect::get(&nav, &JsValue::from_str("globalPrivacyControl"))
        .ok()
        .and_then(|v| v.as_bool())
        == Some(true);
    match (gpc, policy.gpc) {
        (true, Gpc::Ads) => out.push(ConsentUpdate {
            ads: Some(false),
            ..ConsentUpdate::default()
        }),
        (true, Gpc::All) => out.push(ConsentUpdate::all(false)),
        _ => {}
    }
    let dnt = Reflect::get(&nav, &JsValue::from_str("doNotTrack"))
        .ok()
        .and_then(|v| v.as_string());
    if policy.dnt && dnt.as_deref() == Some("1") {
        out.push(ConsentUpdate::all(false));
    }
    out
}

/// A TCF answer: `gdpr_applies`, then purposes 1 (store), 7 (measure ads), 8 (measure
/// content), 9 (market research). Purpose 1 → storage; 7, 8 or 9 → analytics; 7 → ads.
pub fn update_from_tcf(
    gdpr_applies: bool,
    p1: bool,
    p7: bool,
    p8: bool,
    p9: bool,
) -> Option<ConsentUpdate> {
    gdpr_applies.then_some(ConsentUpdate {
        analytics: Some(p7 || p8 || p9),
        ads: Some(p7),
        storage: Some(p1),
    })
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
