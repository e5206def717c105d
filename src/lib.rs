//! # goalpost (browser shell)
//!
//! The WebAssembly side of goalpost. It wraps the browser APIs (listeners, timers, the
//! page's location) and feeds what it sees to [`goalpost_core::Tracker`]; the tracker
//! decides, the shell performs its outputs. The JS entry (`js/entry.mjs`) loads this module,
//! hands it a small host object (`guard`, `send`) and exposes the public API.
//!
//! Nothing here may throw into the page: every callback the browser calls is wrapped by the
//! host's `guard`, which catches anything (a trap included), logs one console error and
//! silences goalpost for the rest of the page's life.
#![cfg_attr(not(feature = "std"), no_std)]
// The companion build (`explain` without `tracker`) compiles the runtime for its config checks
// only; what only a running tracker uses is left unused there, and the linker drops it.
#![cfg_attr(not(feature = "tracker"), allow(dead_code, unused_imports))]

extern crate alloc;

/// What the std prelude would give (the browser build has no std).
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}
#[allow(unused_imports)]
use prelude::*;

/// Without std, a panic (a bug: nothing panics on input) traps, as `panic = "abort"` does with
/// std; the JS guard catches the trap and silences goalpost for the page. Nothing is formatted.
/// The release build (`scripts/build.mjs`) goes further with the "immediate-abort" panic
/// strategy: core traps at the panic site and never calls this handler, which no_std still
/// requires.
#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

mod consent;
mod convert;
mod dom;
mod host;
mod patterns;
mod runtime;

use alloc::rc::Rc;

/// Talc instead of the default dlmalloc: 2.1 KB brotli smaller in the module (measured: see
/// ARCHITECTURE, size decisions). Single-threaded wasm only, which is what goalpost builds for.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use js_sys::Function;
use wasm_bindgen::prelude::*;

pub use consent::update_from_js;
pub use convert::{props_from_js, to_json};
pub use dom::{element_info, invalid_selectors, selector_hits, target_element, Reads, Selectors};
pub use host::Host;
use runtime::Runtime;

/// `goalpost check` on Node: every problem in `config`, one per line, after a first line
/// `invalid` (tracking off) or `skipped` (those goals skipped); empty when there is none.
/// In the companion build only.
#[cfg(feature = "explain")]
#[wasm_bindgen]
pub fn check(config: &JsValue, document: &web_sys::Document) -> alloc::string::String {
    runtime::check(config, document)
}

/// The console line the tracker logs for `config`'s problems on this page, in words (the
/// tracker's build logs their JSON paths, then asks the companion for this); empty when there
/// is none. In the companion build only.
#[cfg(feature = "explain")]
#[wasm_bindgen]
pub fn explain(config: &JsValue, document: &web_sys::Document) -> alloc::string::String {
    runtime::explain(config, document)
}

/// A running tracker, owned by the JS entry. Dropping it (or `shutdown`) removes every
/// listener and timer goalpost installed.
#[cfg(feature = "tracker")]
#[wasm_bindgen]
pub struct Goalpost {
    rt: Rc<Runtime>,
}

#[cfg(feature = "tracker")]
#[wasm_bindgen]
impl Goalpost {
    /// Compiles `config`, installs the listeners and records the first page view.
    /// `consent`: the visitor's choices made before the start (an array of what
    /// [`Goalpost::consent`] takes, or undefined), applied before the page view, so that it and
    /// the page-view goals are collected under them and the stored visit is read first.
    /// A config that cannot be used is an `Err` carrying the message (one string, every
    /// problem with its JSON path); goals with problems are skipped and logged once.
    pub fn start(
        config: &JsValue,
        host: Host,
        seed: &[u32],
        consent: &JsValue,
    ) -> Result<Goalpost, JsValue> {
        Runtime::start(config, host, seed, consent)
            .map(|rt| Goalpost { rt })
            .map_err(|m| JsValue::from_str(&m))
    }

    /// Page code reports a custom event: `track("trial_started", { plan: "pro" })`.
    pub fn track(&self, name: &str, props: &JsValue) {
        self.rt.track(name, props);
    }

    /// An interaction the loader saw before goalpost was ready (a click, middle click or form
    /// submit event, `kind` its type), handled as if it happened now. Other kinds are ignored.
    pub fn replay(&self, event: &web_sys::Event, kind: &str) {
        self.rt.replay(event, kind);
    }

    /// Sends what is queued now; `done` is called once everything is delivered or given up.
    pub fn flush(&self, done: Function) {
        self.rt.flush(done);
    }

    /// Sends what is queued (by beacon), then removes every listener and timer.
    pub fn shutdown(&self) {
        self.rt.shutdown();
    }

    /// The visitor's choice: `'granted'`, `'denied'`, `{analytics, ads, storage}` or Google
    /// Consent Mode keys. Returns false when the value is not understood.
    pub fn consent(&self, choice: &JsValue) -> bool {
        self.rt.consent(choice)
    }

    /// Opts this browser out (kept across reloads) and deletes what goalpost stored.
    #[wasm_bindgen(js_name = optOut)]
    pub fn opt_out(&self) {
        self.rt.opt_out(true);
    }

    /// Reverses `optOut()` and grants.
    #[wasm_bindgen(js_name = optIn)]
    pub fn opt_in(&self) {
        self.rt.opt_out(false);
    }

    /// How many listeners goalpost has installed (tests check teardown with it).
    /// Debug notes on from now on (`goalpost('preview')` after the start).
    pub fn debug(&self, on: bool) {
        self.rt.set_debug(on);
    }

    /// The consent state in bits (mode, each purpose's choice, how events are collected now,
    /// whether storage and `dataLayer` forwarding are allowed; `Tracker::consent_bits`): for
    /// the preview panel.
    pub fn state(&self) -> u32 {
        self.rt.consent_bits()
    }

    #[wasm_bindgen(js_name = listenerCount)]
    pub fn listener_count(&self) -> usize {
        self.rt.listener_count()
    }
}
