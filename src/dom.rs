//! DOM wrappers: owned listeners, and DOM events mapped to the core's plain types.

use crate::prelude::*;
use goalpost_core::Element as ElementInfo;
use js_sys::{Function, JsString, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, EventTarget};

#[wasm_bindgen]
extern "C" {
    /// An element, seen through the two methods below.
    type El;

    /// `closest()` with a selector already in JS: no string crosses per call. `null` becomes
    /// `None` in the glue (no second call to test it); what it returns is an element.
    #[wasm_bindgen(method, catch, js_name = closest)]
    fn closest(this: &El, selectors: &JsString) -> Result<Option<Element>, JsValue>;

    /// `matches()` with a selector already in JS.
    #[wasm_bindgen(method, catch, js_name = matches)]
    fn matches(this: &El, selectors: &JsString) -> Result<bool, JsValue>;

    /// `el.shadowRoot`: an open shadow root, or `null` (an SVG element has none at all:
    /// `undefined`), both `None` in the glue. `catch`: a custom element's own getter may throw.
    #[wasm_bindgen(method, getter, catch, js_name = shadowRoot)]
    fn shadow_root_js(this: &El) -> Result<Option<js_sys::Object>, JsValue>;

    /// `el.href`: a string only on HTML links and areas (an SVG link's is an object).
    #[wasm_bindgen(method, getter, catch, js_name = href)]
    fn href_js(this: &El) -> Result<JsValue, JsValue>;

    /// The page's `window`: one import, where `web_sys::window()` takes five (every kind of
    /// global object, then an `instanceof Window`). `None` outside a page (a worker).
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
}

/// The page's window, if goalpost runs in one.
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Clone::clone)
}

fn closest_js(el: &Element, s: &JsString) -> bool {
    el.unchecked_ref::<El>()
        .closest(s)
        .is_ok_and(|v| v.is_some())
}

/// Whether `el` hosts an open shadow root (only then can the real target of an event be
/// hidden from `event.target`).
pub fn is_shadow_host(el: &Element) -> bool {
    el.unchecked_ref::<El>()
        .shadow_root_js()
        .is_ok_and(|r| r.is_some())
}

/// CSS selectors held as JS strings, converted once: matching them costs no string
/// conversion per event. With them, [`CLICKABLE`], for the same reason.
pub struct Selectors {
    list: Vec<JsString>,
    clickable: JsString,
}

impl Selectors {
    pub fn new(list: &[&str]) -> Selectors {
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            out.push(JsString::from(*s));
        }
        Selectors {
            list: out,
            clickable: JsString::from(CLICKABLE),
        }
    }

    /// Whether `el` is inside an element matching selector `i` (or is one).
    fn inside(&self, el: &Element, i: usize) -> bool {
        self.list.get(i).is_some_and(|s| closest_js(el, s))
    }

    /// The nearest link or button around `target` (or `target` itself).
    fn clickable(&self, target: &Element) -> Element {
        target
            .unchecked_ref::<El>()
            .closest(&self.clickable)
            .ok()
            .flatten()
            .unwrap_or_else(|| target.clone())
    }
}

/// The click pre-filter (see `GoalSet::click_prefilter`): a click can match a goal only inside
/// an element of `selectors` (the goals' click selectors, joined), or inside a link whose
/// `href` matches `links`. Two steps, so that the long list of link patterns is tried on one
/// element, not on every ancestor. The JS guard applies the same test before the wasm is
/// entered; this copy serves the clicks it lets through unexamined (shadow hosts).
pub struct ClickFilter {
    pub selectors: JsString,
    pub links: JsString,
}

impl ClickFilter {
    /// Whether a click on `el` can match a goal.
    pub fn admits(&self, el: &Element) -> bool {
        (self.selectors.length() > 0 && closest_js(el, &self.selectors))
            || (self.links.length() > 0
                // (only shadow-host clicks come here: a string per call is fine)
                && el
                    .closest("a[href],area[href]")
                    .ok()
                    .flatten()
                    .is_some_and(|link| {
                        link.unchecked_ref::<El>()
                            .matches(&self.links)
                            .unwrap_or(false)
                    }))
    }
}

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

/// A pending `setTimeout`, cleared when dropped (clearing one that already fired is harmless).
pub struct Timer {
    window: web_sys::Window,
    handle: i32,
}

impl Timer {
    /// Calls `callback` (already guarded) after `ms`.
    pub fn start(window: &web_sys::Window, callback: &Function, ms: i32) -> Option<Timer> {
        let handle = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback, ms)
            .ok()?;
        Some(Timer {
            window: window.clone(),
            handle,
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.window.clear_timeout_with_handle(self.handle);
    }
}

/// A JS function that undoes something goalpost did (restores the history functions, stops a
/// watcher), called once when dropped; what it throws is ignored.
pub struct Undo(pub Function);

impl Drop for Undo {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::NULL);
    }
}

/// An observer disconnected when dropped.
pub struct Observing<T: Disconnect>(pub T);

/// The observers goalpost uses.
pub trait Disconnect {
    /// Stops observing everything.
    fn disconnect(&self);
}

impl Disconnect for web_sys::IntersectionObserver {
    fn disconnect(&self) {
        web_sys::IntersectionObserver::disconnect(self);
    }
}

impl Disconnect for web_sys::MutationObserver {
    fn disconnect(&self) {
        web_sys::MutationObserver::disconnect(self);
    }
}

impl<T: Disconnect> Drop for Observing<T> {
    fn drop(&mut self) {
        self.0.disconnect();
    }
}

/// What a click element reports: the elements a goal can mean, closest first.
const CLICKABLE: &str =
    "a,button,[role=button],input[type=submit],input[type=button],summary,label";
/// The longest element text kept for conditions.
const MAX_TEXT: usize = 100;

/// The event's target as an element (text nodes and documents are not).
pub fn target_element(event: &Event) -> Option<Element> {
    event.target().and_then(|t| t.dyn_into::<Element>().ok())
}

/// The indexes of the `selectors` that `el` is inside of (or is), found with `closest()`.
pub fn selector_hits(el: &Element, selectors: &Selectors) -> Vec<u32> {
    let mut hits = Vec::new();
    for i in 0..selectors.list.len() {
        if selectors.inside(el, i) {
            hits.push(i as u32);
        }
    }
    hits
}

/// Which of an element's own fields any goal reads (each costs a call into the DOM).
#[derive(Clone, Copy, Debug, Default)]
pub struct Reads {
    pub text: bool,
    pub id: bool,
    pub classes: bool,
    pub tag: bool,
}

impl Reads {
    /// Every field (for tests and tools).
    pub fn all() -> Reads {
        Reads {
            text: true,
            id: true,
            classes: true,
            tag: true,
        }
    }
}

/// A click target as the core's [`ElementInfo`]: the nearest link or button around it (or
/// the target itself), with only the text and attributes the goals read.
pub fn element_info(
    target: &Element,
    selectors: &Selectors,
    attrs: &[String],
    reads: Reads,
) -> ElementInfo {
    let el = selectors.clickable(target);
    // Of the elements `clickable` returns, only HTML links and areas have a string `href`
    // property (an SVG link's is an object): no tag name is read for it.
    let href = el
        .unchecked_ref::<El>()
        .href_js()
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let text = if reads.text {
        clean_text(&el.text_content().unwrap_or_default())
    } else {
        String::new()
    };
    let mut read = Vec::new();
    for a in attrs {
        if let Some(v) = el.get_attribute(a) {
            read.push((a.clone(), v));
        }
    }
    ElementInfo {
        hits: selector_hits(target, selectors),
        tag: if reads.tag {
            el.tag_name().to_ascii_lowercase()
        } else {
            String::new()
        },
        id: if reads.id { el.id() } else { String::new() },
        classes: if reads.classes {
            el.get_attribute("class").unwrap_or_default()
        } else {
            String::new()
        },
        text,
        download: !href.is_empty() && el.has_attribute("download"),
        href,
        attrs: read,
    }
}

/// Whitespace collapsed, trimmed, capped at [`MAX_TEXT`] chars.
fn clean_text(raw: &str) -> String {
    let mut out = String::new();
    let mut n = 0; // chars in `out`, counted as they go in (no re-count per word)
    for word in raw.split_whitespace() {
        if n >= MAX_TEXT {
            break;
        }
        if n > 0 {
            out.push(' ');
            n += 1;
        }
        for c in word.chars().take(MAX_TEXT.saturating_sub(n)) {
            out.push(c);
            n += 1;
        }
    }
    out
}

/// The indexes of `selectors` that the browser rejects as CSS.
pub fn invalid_selectors(probe: &Element, selectors: &[&str]) -> Vec<usize> {
    let mut bad = Vec::new();
    for (i, s) in selectors.iter().enumerate() {
        if probe.matches(s).is_err() {
            bad.push(i);
        }
    }
    bad
}

/// Per-element state for the current page view, kept on the element itself (an expando
/// property: nothing stays behind for removed elements): 32 flags, reset when `page` changes.
pub fn page_bits(el: &JsValue, key: &str, page: u32) -> u32 {
    let state = Reflect::get(el, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as u64;
    if state >> 32 == u64::from(page) {
        (state & 0xffff_ffff) as u32
    } else {
        0
    }
}

/// Stores the flags [`page_bits`] reads.
pub fn set_page_bits(el: &JsValue, key: &str, page: u32, bits: u32) {
    let _ = Reflect::set(
        el,
        &JsValue::from_str(key),
        &JsValue::from_f64(((u64::from(page) << 32) | u64::from(bits)) as f64),
    );
}

/// The indexes of `selectors` that `el` itself matches.
pub fn matching_selectors(el: &Element, selectors: &Selectors) -> Vec<u32> {
    let mut hits = Vec::new();
    for (i, s) in selectors.list.iter().enumerate() {
        if el.unchecked_ref::<El>().matches(s).unwrap_or(false) {
            hits.push(i as u32);
        }
    }
    hits
}
