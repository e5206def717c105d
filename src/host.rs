//! The host object the JS entry passes in: the two things better done in JS.
//!
//! - `cb(entry, code, selectors?, links?)`: the callback `(a, b, c) => entry(code, a, b, c)`,
//!   guarded so that nothing it throws (or a wasm trap) reaches the page, and behind the click
//!   pre-filter when `selectors` / `links` are given.
//! - `send(url, body, beacon, batch, timeoutMs, done)`: `sendBeacon` or `fetch` with keepalive
//!   (aborted after `timeoutMs`), reading
//!   every response body (Chromium keeps the keepalive budget until it is read), and calls
//!   `done(batch, status, retryAfterMs)` with the HTTP status or one of the `SENT_*` codes
//!   below; `retryAfterMs` is -1 without a `Retry-After`. Promise plumbing is smaller in JS than in wasm.
//! - `announce(goal, kind, label, category, value, currency, layer)`: dispatches the
//!   `goalpost:conversion` event and, when `layer` names an event, pushes to `dataLayer`.
//! - `depth(percents, pixels, reached)`: scroll depth read at most every 250 ms, reported
//!   only when a threshold is passed (see [`Host::watch_depth`]).
//! - `watch(navigated)`: wraps `history.pushState` / `replaceState` so that the page's own call
//!   runs (and throws) exactly as before, then reports the navigation; also `popstate` and
//!   `hashchange`. Returns the function that restores them.

use goalpost_core::SendStatus;
use js_sys::Function;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The host object from the JS entry.
    pub type Host;

    /// `entry(code, a, b, c)` for the callback's arguments `a, b, c`, guarded; with
    /// `selectors` / `links`, behind the click pre-filter.
    #[wasm_bindgen(method)]
    fn cb(
        this: &Host,
        entry: &JsValue,
        code: u32,
        selectors: Option<&js_sys::JsString>,
        links: Option<&js_sys::JsString>,
    ) -> Function;

    #[wasm_bindgen(method)]
    fn depth(this: &Host, percents: &[f64], pixels: &[f64], reached: &Function) -> JsValue;

    /// Sends a batch; the result comes back through `done`.
    #[wasm_bindgen(method)]
    pub fn send(
        this: &Host,
        url: &str,
        body: &str,
        beacon: bool,
        batch: u32,
        timeout: u32,
        done: &Function,
    );

    #[wasm_bindgen(method)]
    fn watch(this: &Host, navigated: &Function) -> JsValue;

    #[wasm_bindgen(method)]
    fn persistence(this: &Host, own_key: &str, restore: &Function);

    /// Registers goal `index`'s announcement fields once, at start: conversions then cross
    /// by index (no strings decoded per conversion).
    #[wasm_bindgen(method, js_name = goal)]
    fn goal_js(this: &Host, id: &str, kind: &str, label: Option<&str>, category: Option<&str>);

    #[wasm_bindgen(method, js_name = announce)]
    fn announce_js(
        this: &Host,
        index: usize,
        value: Option<f64>,
        currency: Option<&str>,
        layer: Option<&str>,
    );

    #[wasm_bindgen(method, js_name = watchConsent)]
    fn watch_consent(this: &Host, google: bool, tcf: bool, changed: &Function) -> JsValue;

    /// A debug line (debug mode, and the preview panel): `text` for the console, and the same
    /// in parts for the panel (see [`Note`]).
    #[wasm_bindgen(method)]
    pub fn note(this: &Host, kind: u32, text: &str, a: &str, b: &str, n: u32, m: u32);
}

/// What a [`Host::note`] says; `js/entry.mjs` and `js/preview.mjs` name the same codes.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Note {
    /// Config problems (console.error): `text` only.
    ConfigError = 0,
    /// A goal's rule considered and not matched: `a` the goal (empty: an inline funnel step),
    /// `b` the trigger or condition that failed.
    NotMatched = 1,
    /// Anything else that led to nothing: `text` only.
    Ignored = 2,
    /// An event collected: `a` `page_view` or `funnel_step`, `b` the URL or funnel, `n` of `m`.
    Collected = 3,
    /// A conversion: `a` the goal.
    Converted = 4,
}

impl Host {
    /// Tells the JS entry each goal's id, kind, label and category, in index order.
    pub fn goals(&self, goals: &[goalpost_core::Goal]) {
        for g in goals {
            self.goal_js(
                &g.id,
                g.kind.as_str(),
                g.label.as_deref(),
                g.category.as_deref(),
            );
        }
    }

    /// Announces a conversion: the `goalpost:conversion` event on `document` and, with a
    /// `layer` event name, a `dataLayer` entry. Built in JS: one call instead of a dozen.
    pub fn announce(&self, c: &goalpost_core::Conversion, layer: Option<&str>) {
        self.announce_js(c.index, c.value, c.currency.as_deref(), layer);
    }

    /// The guarded callback that enters the wasm as `entry(code, a, b, c)`: one closure serves
    /// every listener, timer and observer (`Runtime::entry`).
    pub fn callback(&self, entry: &JsValue, code: u32) -> Function {
        self.cb(entry, code, None, None)
    }

    /// [`Host::callback`], entered only for events that `crate::dom::ClickFilter` admits (the
    /// same two steps, in JS) or on a shadow host, plus one a minute.
    pub fn callback_filtered(
        &self,
        entry: &JsValue,
        code: u32,
        filter: &crate::dom::ClickFilter,
    ) -> Function {
        self.cb(entry, code, Some(&filter.selectors), Some(&filter.links))
    }

    /// Calls `reached(percent, pixels)` when the scroll depth of the page view first passes
    /// one of the thresholds; read in JS at most every 250 ms while the page scrolls. Returns
    /// `control(what)`: 1 starts a new page view, 2 reads now, 0 removes the listeners.
    pub fn watch_depth(
        &self,
        percents: &[f64],
        pixels: &[f64],
        reached: &Function,
    ) -> Option<Function> {
        use wasm_bindgen::JsCast;
        self.depth(percents, pixels, reached)
            .dyn_into::<Function>()
            .ok()
    }

    /// Calls `navigated(kind)` after `history.pushState` (0), `replaceState` (1), `popstate`
    /// (2) and `hashchange` (3); returns the function that undoes the hooks.
    pub fn watch_history(&self, navigated: &Function) -> Option<Function> {
        use wasm_bindgen::JsCast;
        self.watch(navigated).dyn_into::<Function>().ok()
    }

    /// Calls `changed(kind, value)` for Google Consent Mode commands in `dataLayer` (kind 0,
    /// value: the command's parameters; past ones at once, later ones as they are pushed) and
    /// for IAB TCF answers (kind 1, value: `[gdprApplies, p1, p7, p8, p9]`). Returns the
    /// function that removes the hooks.
    pub fn watch_consent_signals(
        &self,
        google: bool,
        tcf: bool,
        changed: &Function,
    ) -> Option<Function> {
        use wasm_bindgen::JsCast;
        self.watch_consent(google, tcf, changed)
            .dyn_into::<Function>()
            .ok()
    }

    /// Holds a Web Lock named `own_key` for the page's life, and hands every stored queue of a
    /// page that is gone (its lock free) to `restore(json)`, removing it from storage.
    pub fn claim_stored_queues(&self, own_key: &str, restore: &Function) {
        self.persistence(own_key, restore);
    }
}

/// `send`'s codes besides HTTP statuses (`js/entry.mjs` names the same three).
/// No answer: offline, refused, reset, timed out, aborted.
pub const SENT_NETWORK_ERROR: i32 = -1;
/// `navigator.sendBeacon` returned false.
pub const SENT_BEACON_REFUSED: i32 = -2;
/// `navigator.sendBeacon` returned true.
pub const SENT_BEACON_TAKEN: i32 = -3;

/// The status code `send` reports, as the core's [`SendStatus`].
/// `retry_after` is the `Retry-After` header in milliseconds, or negative when absent.
pub fn status_from_code(code: i32, retry_after: f64) -> SendStatus {
    match code {
        SENT_BEACON_TAKEN => SendStatus::Beacon(true),
        SENT_BEACON_REFUSED => SendStatus::Beacon(false),
        SENT_NETWORK_ERROR => SendStatus::NetworkError,
        429 | 503 if retry_after >= 0.0 => SendStatus::Throttled {
            status: code as u16,
            retry_after: goalpost_core::Millis(retry_after.min(1e12) as u64),
        },
        100..=599 => SendStatus::Http(code as u16),
        _ => SendStatus::NetworkError,
    }
}
