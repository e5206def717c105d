//! DOM wrappers: owned listeners, and a click target mapped to the selectors it is inside.

use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, EventTarget};

/// A listener that is removed when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Function,
    capture: bool,
}

impl Listener {
    /// Adds `callback` (already guarded) for `kind` on `target`.
    pub fn add(
        target: &EventTarget,
        kind: &'static str,
        callback: Function,
        capture: bool,
    ) -> Option<Listener> {
        target
            .add_event_listener_with_callback_and_bool(kind, &callback, capture)
            .ok()?;
        Some(Listener {
            target: target.clone(),
            kind,
            callback,
            capture,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            &self.callback,
            self.capture,
        );
    }
}

/// The indexes of the `selectors` that the event's target is inside of (or is), found with
/// the browser's own `closest()`. A target that is not an element matches nothing.
pub fn selector_hits(event: &Event, selectors: &[String]) -> Vec<u32> {
    let Some(el) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return Vec::new();
    };
    selectors
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(el.closest(s), Ok(Some(_))))
        .map(|(i, _)| i as u32)
        .collect()
}

/// The indexes of `selectors` that the browser rejects as CSS.
pub fn invalid_selectors(probe: &Element, selectors: &[String]) -> Vec<usize> {
    selectors
        .iter()
        .enumerate()
        .filter(|(_, s)| probe.matches(s).is_err())
        .map(|(i, _)| i)
        .collect()
}

/// `console.error(msg)` / `console.log(msg)`.
pub fn log(error: bool, msg: &str) {
    let v = JsValue::from_str(msg);
    if error {
        web_sys::console::error_1(&v);
    } else {
        web_sys::console::log_1(&v);
    }
}
