//! The runtime: owns the tracker, the listeners and the timer, and performs the tracker's
//! outputs. JS enters through one closure (`Runtime::entry`) that holds a `Weak` to it, so
//! dropping the runtime tears everything down.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, OnceCell, RefCell};

use goalpost_core::{
    compile, ConfigError, Conversion, Family, Field, Ignored, Input, Interaction, Millis, Output,
    Page, Tracker,
};
use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, VisibilityState, Window};

use crate::convert::{props_from_js, to_json};
use crate::dom::{element_info, invalid_selectors, target_element, Listener, Selectors};
use crate::host::{status_from_code, Host, Note};
use crate::patterns::BrowserPatterns;

mod capture;
mod visibility;

/// The one closure JS calls into: `entry(code, a, b, c)`, for every listener, timer, observer
/// and host callback (`Host::callback`), with `code` saying which (the `K_*` values) and `a`,
/// `b`, `c` the callback's own arguments. One closure type instead of one per callback
/// signature: each costs wasm-bindgen glue on both sides.
type Entry = Closure<dyn Fn(u32, JsValue, JsValue, JsValue)>;

// Entry codes.
/// The tracker's timer: `Input::Tick`.
const K_TICK: u32 = 0;
/// `send`'s `done(batch, status, retryAfterMs)`.
const K_SENT: u32 = 1;
/// A consent signal: `changed(kind, value)` from `watchConsent`.
const K_CONSENT: u32 = 2;
/// A stored queue claimed: `restore(json)` from `persistence`.
const K_RESTORE: u32 = 3;
/// `click` on the document.
const K_CLICK: u32 = 4;
/// `auxclick` on the document (a middle click).
const K_AUXCLICK: u32 = 5;
/// `visibilitychange` on the document.
const K_VISIBILITY: u32 = 6;
/// `pagehide` on the window, `freeze` on the document.
const K_HIDE: u32 = 7;
/// `submit` on the document.
const K_SUBMIT: u32 = 8;
/// `play`, `timeupdate`, `ended` on the document.
const K_MEDIA: u32 = 9;
/// The JS depth watcher's `reached(percent, pixels)`.
const K_DEPTH: u32 = 10;
/// The history hooks' `navigated(kind)`.
const K_NAVIGATED: u32 = 11;
/// The engagement timer.
const K_ENGAGED_TICK: u32 = 12;
/// `focus`, `blur` on the window and `visibilitychange` on the document, for engaged time.
const K_ENGAGEMENT: u32 = 13;
/// `online` on the window.
const K_ONLINE: u32 = 14;
/// `offline` on the window.
const K_OFFLINE: u32 = 15;
/// `pageshow` on the window.
const K_PAGESHOW: u32 = 16;
/// The `visible` goals' timer.
const K_VISIBLE_TICK: u32 = 17;
/// The MutationObserver's records.
const K_MUTATIONS: u32 = 18;
/// `storage` on the window: another tab of the site wrote to localStorage.
const K_STORAGE: u32 = 19;
/// `K_INTERSECTIONS + i`: the entries of watch `i`'s IntersectionObserver.
const K_INTERSECTIONS: u32 = 32;
/// A flag on `K_CLICK` / `K_AUXCLICK` from the JS click pre-filter: `b` is the event's target,
/// an element that hosts no shadow root (`js/entry.mjs` `cb`).
const K_TARGET: u32 = 1 << 20;

pub struct Runtime {
    // Field order is drop order: listeners go before the closure they call.
    listeners: RefCell<Vec<Listener>>,
    core: RefCell<Tracker>,
    host: Host,
    window: Window,
    document: Document,
    collector: String,
    /// The fetch timeout, ms.
    timeout: u32,
    selectors: Selectors,
    attrs: Vec<String>,
    reads: crate::dom::Reads,
    uses_click: bool,
    /// A selector list outside of which no click can match a goal (`None`: every click must be
    /// examined). Clicks outside it cost one `closest()` call.
    click_filter: Option<crate::dom::ClickFilter>,
    data_layer: Option<String>,
    debug: Cell<bool>,
    capture: capture::Capture,
    visibility: visibility::Visibility,
    consent_policy: goalpost_core::ConsentPolicy,
    /// This page's storage key for its unsent events, and whether stored queues were claimed.
    queue_key: String,
    claimed: Cell<bool>,
    consent_unhook: RefCell<Option<crate::dom::Undo>>,
    timer: RefCell<Option<crate::dom::Timer>>,
    tick: OnceCell<Function>,
    done: OnceCell<Function>,
    waiters: RefCell<Vec<Function>>,
    stopped: Cell<bool>,
    /// Inputs that arrived while the tracker was busy (the page re-entered goalpost from inside
    /// it, e.g. through a patched `RegExp`): fed right after, in order. At most
    /// [`DEFERRED_MAX`]; past that an input is counted as lost and reported as a drop.
    deferred: RefCell<Vec<Input>>,
    lost: Cell<u32>,
    entry: Entry,
}

/// How many re-entrant inputs wait at most.
const DEFERRED_MAX: usize = 64;

impl Runtime {
    pub fn start(
        config: &JsValue,
        host: Host,
        seed: &[u32],
        consent: &JsValue,
    ) -> Result<Rc<Runtime>, String> {
        let compiled = compile(&to_json(config));
        let mut errors = compiled.errors;
        let Some(mut cfg) = compiled.config else {
            return Err(console_message(true, &errors));
        };
        let window = crate::dom::window().ok_or("goalpost: no window")?;
        let document = window.document().ok_or("goalpost: no document")?;
        let patterns = browser_checks(&mut cfg.goals, &document, &mut errors);
        if !errors.is_empty() {
            let m = console_message(false, &errors);
            host.note(Note::ConfigError as u32, &m, "", "", 0, 0);
        }
        host.goals(cfg.goals.goals());
        let rt = Runtime::new(cfg, patterns, host, seed, window, document);
        rt.install();
        rt.install_consent();
        // choices the page made before the start (the site's remembered answer, queued): the
        // page view and the stored visit come after them
        if consent.is_object() {
            for choice in js_sys::Array::from(consent).iter() {
                if let Some(u) = crate::consent::update_from_js(&choice) {
                    rt.handle(Input::Consent(u));
                }
            }
        }
        rt.claim_stored();
        rt.restore_visit();
        let page = Page {
            url: rt.window.location().href().unwrap_or_default(),
            title: rt.document.title(),
            referrer: rt.document.referrer(),
        };
        rt.handle(Input::PageView(page));
        Ok(rt)
    }

    /// The runtime for a compiled config: nothing is installed yet.
    fn new(
        cfg: goalpost_core::Config,
        patterns: BrowserPatterns,
        host: Host,
        seed: &[u32],
        window: Window,
        document: Document,
    ) -> Rc<Runtime> {
        Rc::new_cyclic(|weak: &Weak<Runtime>| {
            let weak = weak.clone();
            Runtime {
                listeners: RefCell::new(Vec::new()),
                collector: cfg.collector.clone(),
                timeout: cfg.retry.timeout.0.min(u32::MAX as u64) as u32,
                selectors: Selectors::new(&cfg.goals.selectors(Family::Click)),
                attrs: cfg.goals.attributes(),
                reads: crate::dom::Reads {
                    text: cfg.goals.reads(&Field::Text),
                    id: cfg.goals.reads(&Field::Id),
                    classes: cfg.goals.reads(&Field::Classes),
                    tag: cfg.goals.reads(&Field::Tag),
                },
                uses_click: cfg.goals.uses(goalpost_core::Listener::Click),
                click_filter: click_filter(&cfg.goals, &document),
                data_layer: cfg.data_layer.clone(),
                debug: Cell::new(cfg.debug),
                capture: capture::Capture::new(&cfg, window.location().href().unwrap_or_default()),
                visibility: visibility::Visibility::new(cfg.goals.watches()),
                consent_policy: cfg.consent.clone(),
                queue_key: queue_key(seed),
                claimed: Cell::new(false),
                consent_unhook: RefCell::new(None),
                core: RefCell::new(Tracker::with_patterns(cfg, seed, Box::new(patterns))),
                host,
                window,
                document,
                timer: RefCell::new(None),
                tick: OnceCell::new(),
                done: OnceCell::new(),
                waiters: RefCell::new(Vec::new()),
                stopped: Cell::new(false),
                deferred: RefCell::new(Vec::new()),
                lost: Cell::new(0),
                entry: Entry::new(move |code: u32, a: JsValue, b: JsValue, c: JsValue| {
                    if let Some(rt) = weak.upgrade() {
                        rt.enter(code, a, b, c);
                    }
                }),
            }
        })
    }

    pub fn track(&self, name: &str, props: &JsValue) {
        self.handle(Input::Interact(Interaction::Custom {
            name: name.into(),
            props: props_from_js(props),
        }));
    }

    pub fn flush(&self, done: Function) {
        if self.stopped.get() {
            let _ = done.call0(&JsValue::NULL);
            return;
        }
        self.waiters.borrow_mut().push(done);
        self.handle(Input::Flush);
    }

    /// Sends what is queued (by beacon), then removes everything goalpost installed.
    pub fn shutdown(&self) {
        if self.stopped.get() {
            return;
        }
        self.handle(Input::Hidden);
        self.release();
    }

    /// Removes every listener, timer, observer and hook, and settles waiting `flush()` calls;
    /// nothing is sent. Idempotent: `shutdown()` and dropping the runtime both end here.
    fn release(&self) {
        self.stopped.set(true);
        self.listeners.borrow_mut().clear();
        self.uninstall_capture();
        self.uninstall_visibility();
        drop(self.consent_unhook.borrow_mut().take());
        self.clear_timer();
        self.settle_waiters();
    }

    pub fn consent(&self, choice: &JsValue) -> bool {
        match crate::consent::update_from_js(choice) {
            Some(u) => {
                // A choice that allows storage here for the first time: the visit an earlier
                // page stored is merged in before the choice is applied, so that the events
                // held for it go out in the continued session, and a held conversion that
                // visit had already counted stays uncounted.
                let opens = !self.storage_allowed()
                    && self
                        .core
                        .try_borrow()
                        .is_ok_and(|c| c.storage_allowed_with(u));
                if let Some(v) = opens.then(|| self.stored_visit()).flatten() {
                    self.handle(Input::RestoreVisit(v));
                }
                self.handle(Input::Consent(u));
                self.claim_stored();
                true
            }
            None => false,
        }
    }

    pub fn opt_out(&self, out: bool) {
        crate::consent::set_opt_out(&self.window, out);
        self.handle(Input::Consent(goalpost_core::ConsentUpdate::all(!out)));
        self.claim_stored();
    }

    /// Applies the signals present at start and hooks the ones that may come later, before
    /// the first page view is collected.
    fn install_consent(&self) {
        for u in crate::consent::initial_signals(&self.window, &self.consent_policy) {
            self.handle(Input::Consent(u));
        }
        let (google, tcf) = (self.consent_policy.google, self.consent_policy.tcf);
        if !google && !tcf {
            return;
        }
        let tool = js_sys::Reflect::get(&self.window, &JsValue::from_str("__tcfapi"))
            .is_ok_and(|f| f.is_function());
        if tcf && tool {
            // a consent tool is on the page: nothing leaves before its answer, or the wait
            let until = Millis(js_sys::Date::now() as u64).plus(self.consent_policy.wait);
            self.handle(Input::AwaitConsent(until));
        }
        let changed = self.callback(K_CONSENT);
        *self.consent_unhook.borrow_mut() = self
            .host
            .watch_consent_signals(google, tcf, &changed)
            .map(crate::dom::Undo);
    }

    /// A consent signal from `watchConsent`: Google Consent Mode parameters (`kind` 0) or a
    /// TCF answer (`kind` 1: `[gdprApplies, p1, p7, p8, p9]`).
    fn consent_signal(&self, kind: &JsValue, value: &JsValue) {
        let update = if kind.as_f64() == Some(0.0) {
            crate::consent::update_from_js(value)
        } else {
            let a = js_sys::Array::from(value);
            let b = |i: u32| a.get(i).as_bool().unwrap_or(false);
            // GDPR not applying is an answer too: it ends the wait, changing nothing
            Some(
                goalpost_core::ConsentUpdate::from_tcf(b(0), b(1), b(2), b(3), b(4))
                    .unwrap_or_default(),
            )
        };
        if let Some(u) = update {
            self.handle(Input::Consent(u));
            self.claim_stored();
        }
    }

    pub fn listener_count(&self) -> usize {
        self.listeners.borrow().len()
    }

    fn install(&self) {
        let _ = self.tick.set(self.callback(K_TICK));
        let _ = self.done.set(self.callback(K_SENT));
        let doc: &web_sys::EventTarget = &self.document;
        let win: &web_sys::EventTarget = &self.window;
        if self.uses_click {
            self.listen_filtered(doc, "click", K_CLICK);
        }
        self.listen(doc, "visibilitychange", K_VISIBILITY);
        self.listen(win, "pagehide", K_HIDE);
        // a frozen page may never run again: send as on hide
        self.listen(doc, "freeze", K_HIDE);
        self.install_capture();
        self.install_visibility();
    }

    /// The guarded function that calls [`Runtime::enter`] with `code` and its arguments.
    fn callback(&self, code: u32) -> Function {
        self.host.callback(self.entry.as_ref(), code)
    }

    /// Every callback from JS, by its code (`K_*`); `a`, `b`, `c` are the callback's arguments.
    fn enter(&self, code: u32, a: JsValue, b: JsValue, c: JsValue) {
        let event = || a.unchecked_ref::<Event>();
        let number = |v: &JsValue| v.as_f64().unwrap_or(-1.0);
        // `b` is the target, checked by the JS pre-filter: an element, no shadow host
        let checked = code & K_TARGET != 0;
        match code & !K_TARGET {
            K_TICK => self.handle(Input::Tick),
            K_SENT => self.handle(Input::Sent {
                batch: number(&a) as u32,
                status: status_from_code(number(&b) as i32, number(&c)),
            }),
            K_CONSENT => self.consent_signal(&a, &b),
            K_RESTORE => self.restore_stored(&a),
            K_CLICK => self.on_click(event(), checked.then(|| b.unchecked_into())),
            K_AUXCLICK => {
                if js_sys::Reflect::get(&a, &JsValue::from_str("button"))
                    .ok()
                    .and_then(|b| b.as_f64())
                    == Some(1.0)
                {
                    self.on_click(event(), checked.then(|| b.unchecked_into()));
                }
            }
            K_VISIBILITY => {
                if self.document.visibility_state() == VisibilityState::Hidden {
                    self.hide();
                } else {
                    self.handle(Input::Shown);
                }
            }
            K_HIDE => self.hide(),
            K_STORAGE => self.on_storage(&a),
            K_ONLINE | K_OFFLINE => self.handle(Input::Online(code == K_ONLINE)),
            K_INTERSECTIONS.. => self.on_intersections(code - K_INTERSECTIONS, a.unchecked_ref()),
            _ => self.enter_capture(code, &a, &b),
        }
    }

    /// A listener for `kind` on `target`, entering with `code`.
    fn listen(&self, target: &web_sys::EventTarget, kind: &'static str, code: u32) {
        self.add_listener(target, kind, self.callback(code));
    }

    /// [`Runtime::listen`], with the click pre-filter applied in JS when there is one: a
    /// click no goal can match then costs no call into the wasm.
    fn listen_filtered(&self, target: &web_sys::EventTarget, kind: &'static str, code: u32) {
        let callback = match self.click_filter.as_ref() {
            Some(filter) => self
                .host
                .callback_filtered(self.entry.as_ref(), code, filter),
            None => self.callback(code),
        };
        self.add_listener(target, kind, callback);
    }

    fn add_listener(&self, target: &web_sys::EventTarget, kind: &'static str, callback: Function) {
        if let Some(l) = Listener::add(target, kind, callback, true) {
            self.listeners.borrow_mut().push(l);
        }
    }

    /// A click (or middle click). Inside an open shadow root the event is retargeted to the
    /// host at the document; `composedPath()[0]` is the element really clicked. Selector hits
    /// count on both sides of the boundary (`closest()` does not cross it). `checked`: the
    /// target as the JS pre-filter found it, an element that hosts no shadow root.
    fn on_click(&self, event: &Event, checked: Option<Element>) {
        let plain = checked.is_some();
        let outer = checked.or_else(|| target_element(event));
        // the real target inside an open shadow root; only a shadow host can hide one, so the
        // path (an array of every ancestor) is built only then
        let inner = outer
            .as_ref()
            .filter(|o| !plain && crate::dom::is_shadow_host(o))
            .and_then(|_| {
                event
                    .composed_path()
                    .get(0)
                    .dyn_into::<web_sys::Element>()
                    .ok()
            });
        let shadow = inner.is_some();
        let Some(target) = inner.or_else(|| outer.clone()) else {
            return;
        };
        // The JS guard has applied the pre-filter already, except on shadow hosts (whose real
        // target it cannot see) and for one click a minute, which then keeps the session
        // alive through the core like any click: only a shadow host's click is tested here.
        if let Some(filter) = self.click_filter.as_ref().filter(|_| shadow) {
            let inside = |e: &web_sys::Element| filter.admits(e);
            if !inside(&target) && !outer.as_ref().is_some_and(inside) {
                // no goal can match this click: it only keeps the session alive (the JS guard
                // lets one such click a minute through for the rest; a shadow host's is rarer)
                self.handle(Input::Active);
                return;
            }
        }
        let mut info = element_info(&target, &self.selectors, &self.attrs, self.reads);
        // (only a shadow host's click has a target of its own: no comparison otherwise)
        if let Some(host) = outer.filter(|o| shadow && *o != target) {
            for h in crate::dom::selector_hits(&host, &self.selectors) {
                if !info.hits.contains(&h) {
                    info.hits.push(h);
                }
            }
        }
        self.handle(Input::Interact(Interaction::Click(info)));
    }

    /// The page is being hidden or unloaded. `navigator.onLine` is read here too: it changes
    /// before the `offline` event is dispatched, and a beacon sent offline would be held by the
    /// browser and sent later, after the events were already stored for the next page.
    fn hide(&self) {
        self.measure_depth_now();
        if !self.window.navigator().on_line() {
            self.handle(Input::Online(false));
        }
        self.handle(Input::Hidden);
    }

    /// Feeds one input to the tracker and performs what it asks for.
    fn handle(&self, input: Input) {
        if self.stopped.get() {
            return;
        }
        let now = Millis(js_sys::Date::now() as u64);
        {
            let Ok(mut core) = self.core.try_borrow_mut() else {
                self.defer(input);
                return;
            };
            core.handle(now, input);
            // one generation: what these inputs defer in turn waits for the next call, so a
            // page that re-enters on every call costs bounded work per call, not a loop
            let deferred = match self.deferred.try_borrow_mut() {
                Ok(mut d) => core::mem::take(&mut *d),
                Err(_) => Vec::new(),
            };
            for next in deferred {
                core.handle(now, next);
            }
            let lost = self.lost.take();
            if lost > 0 {
                core.handle(now, Input::Lost(lost));
            }
        }
        self.pump(now);
    }

    /// An input that came while the tracker was busy: kept for the `handle` that holds it.
    fn defer(&self, input: Input) {
        match self.deferred.try_borrow_mut() {
            Ok(mut d) if d.len() < DEFERRED_MAX => d.push(input),
            _ => self.lost.set(self.lost.get().saturating_add(1)),
        }
    }

    /// Another tab wrote to localStorage: if it was the visit, its once-rules and funnel
    /// progress are merged in (where storage is allowed here too).
    fn on_storage(&self, event: &JsValue) {
        let field = |k: &str| js_sys::Reflect::get(event, &JsValue::from_str(k)).ok();
        if field("key").and_then(|k| k.as_string()).as_deref() != Some(VISIT_KEY)
            || !self.storage_allowed()
        {
            return;
        }
        if let Some(v) = field("newValue").and_then(|v| parse_visit(&v.as_string()?)) {
            self.handle(Input::RestoreVisit(v));
        }
    }

    /// The drain loop. The tracker is not borrowed while an output is performed, so a
    /// callback that answers at once (a beacon) can feed the next input.
    fn pump(&self, now: Millis) {
        while let Some(out) = self.next_output() {
            match out {
                Output::Send {
                    batch,
                    body,
                    beacon,
                } => {
                    if let Some(done) = self.done.get() {
                        self.host
                            .send(&self.collector, &body, beacon, batch, self.timeout, done);
                    }
                }
                Output::WakeAt(at) => self.set_timer(at.0.saturating_sub(now.0)),
                Output::Converted(c) => self.announce(&c),
                Output::Ignored(why) => {
                    if self.debug.get() {
                        let text = reason(&why);
                        match &why {
                            Ignored::NotMatched { goal, failed } => {
                                self.host
                                    .note(Note::NotMatched as u32, &text, goal, failed, 0, 0)
                            }
                            _ => self.host.note(Note::Ignored as u32, &text, "", "", 0, 0),
                        }
                    }
                }
                Output::Collected {
                    what,
                    name,
                    step,
                    steps,
                } => {
                    let mut text = String::from("goalpost: collected ");
                    text.push_str(what);
                    text.push(' ');
                    text.push_str(&name);
                    self.host
                        .note(Note::Collected as u32, &text, what, &name, step, steps);
                }
                Output::Drained => self.settle_waiters(),
                Output::ClearStorage => crate::consent::clear_storage(&self.window),
                Output::Persist(snapshot) => self.store_queue(snapshot.as_deref()),
                Output::PersistVisit(visit) => {
                    if let Ok(Some(s)) = self.window.local_storage() {
                        let _ = s.set_item(VISIT_KEY, &visit);
                    }
                }
            }
        }
    }

    /// Writes this page's unsent events (`None`, nothing left: removes the key). Storage errors
    /// (quota, private mode, disabled) leave them in memory only.
    fn store_queue(&self, snapshot: Option<&str>) {
        if let Ok(Some(s)) = self.window.local_storage() {
            let _ = match snapshot {
                Some(events) => s.set_item(&self.queue_key, events),
                None => s.remove_item(&self.queue_key),
            };
        }
    }

    /// Debug notes on or off from now on (the preview panel opened after the start).
    pub fn set_debug(&self, on: bool) {
        self.debug.set(on);
        if let Ok(mut c) = self.core.try_borrow_mut() {
            c.set_debug(on);
        }
    }

    /// The consent state in bits (see `Tracker::consent_bits`), for the preview panel.
    pub fn consent_bits(&self) -> u32 {
        self.core
            .try_borrow()
            .map(|c| c.consent_bits())
            .unwrap_or_default()
    }

    /// Whether consent allows browser storage now.
    fn storage_allowed(&self) -> bool {
        self.core
            .try_borrow()
            .map(|c| c.storage_allowed())
            .unwrap_or(false)
    }

    /// Where storage is allowed, the visit an earlier page stored (session, touches, once-rules,
    /// funnels) continues; mid-page (back from the back-forward cache) it is merged in.
    pub(crate) fn restore_visit(&self) {
        if let Some(v) = self
            .storage_allowed()
            .then(|| self.stored_visit())
            .flatten()
        {
            self.handle(Input::RestoreVisit(v));
        }
    }

    /// The visit stored by an earlier page, parsed.
    fn stored_visit(&self) -> Option<goalpost_core::Json> {
        let s = self.window.local_storage().ok().flatten()?;
        parse_visit(&s.get_item(VISIT_KEY).ok().flatten()?)
    }

    /// Once storage is allowed: claim the queues stored by earlier pages that are gone, and
    /// listen for another tab's once-rules and funnel progress. Not before: where nothing may
    /// be stored there is nothing to read, and a `storage` listener cost the start ~1.4 ms of
    /// main thread in Chromium (measured on the bench page, ARCHITECTURE "Start-up").
    fn claim_stored(&self) {
        let allowed = self.storage_allowed();
        if !allowed || self.claimed.replace(true) {
            return;
        }
        self.listen(&self.window, "storage", K_STORAGE);
        self.host
            .claim_stored_queues(&self.queue_key, &self.callback(K_RESTORE));
    }

    /// A stored queue claimed from a page that is gone (`json`: its snapshot): its events go
    /// first.
    fn restore_stored(&self, json: &JsValue) {
        let Some(v) = json
            .as_string()
            .and_then(|json| js_sys::JSON::parse(&json).ok())
        else {
            return;
        };
        let events =
            js_sys::Reflect::get(&v, &JsValue::from_str("events")).unwrap_or(JsValue::UNDEFINED);
        let mut list = Vec::new();
        for e in js_sys::Array::from(&events).iter() {
            if let Some(s) = js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()) {
                list.push(s);
            }
        }
        if !list.is_empty() {
            self.handle(Input::Restore(list));
        }
    }

    /// The tracker's next output; the borrow ends before the caller performs it.
    fn next_output(&self) -> Option<Output> {
        self.core.try_borrow_mut().ok()?.poll()
    }

    /// Tells the page: a `goalpost:conversion` event on the document (detail: the
    /// conversion), and a `dataLayer` push when configured.
    fn announce(&self, c: &Conversion) {
        if self.debug.get() {
            let mut text = String::from("goalpost: conversion ");
            text.push_str(&c.goal);
            self.host
                .note(Note::Converted as u32, &text, &c.goal, "", 0, 0);
        }
        let layer = self.data_layer.as_deref().filter(|_| c.forward);
        self.host.announce(c, layer);
    }

    fn set_timer(&self, delay: u64) {
        self.clear_timer();
        if let Some(tick) = self.tick.get() {
            let ms = delay.min(i32::MAX as u64) as i32;
            *self.timer.borrow_mut() = crate::dom::Timer::start(&self.window, tick, ms);
        }
    }

    fn clear_timer(&self) {
        drop(self.timer.borrow_mut().take());
    }

    fn settle_waiters(&self) {
        let waiters = core::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            let _ = w.call0(&JsValue::NULL);
        }
    }
}

/// Dropping the runtime (the JS side freed its `Goalpost`) removes what it installed, as
/// `shutdown()` does, without sending: no listener, timer, observer or hook outlives it.
impl Drop for Runtime {
    fn drop(&mut self) {
        self.release();
    }
}

/// Where the visit (session, touches) is kept between page loads.
const VISIT_KEY: &str = "goalpost_visit";

/// A stored visit's text (localStorage, or another tab's `storage` event), parsed.
fn parse_visit(text: &str) -> Option<goalpost_core::Json> {
    js_sys::JSON::parse(text).ok().map(|v| to_json(&v))
}

/// This page's storage key: `goalpost_q_` and 16 hex digits from the id seed.
fn queue_key(seed: &[u32]) -> String {
    let mut k = String::from("goalpost_q_");
    let id = goalpost_core::EventId(
        u64::from(seed.first().copied().unwrap_or(0)) << 32
            | u64::from(seed.get(1).copied().unwrap_or(0)),
        0,
    );
    k.push_str(id.hex().get(..16).unwrap_or_default());
    k
}

/// What only the browser can check: CSS selectors (the goals using one it rejects are
/// skipped) and regular expressions (compiled here, for the core's `matches`).
fn browser_checks(
    goals: &mut goalpost_core::GoalSet,
    document: &Document,
    errors: &mut Vec<ConfigError>,
) -> BrowserPatterns {
    if let Some(probe) = document.document_element() {
        for family in [Family::Click, Family::Form, Family::Media] {
            let bad = invalid_selectors(&probe, &goals.selectors(family));
            for i in bad {
                errors.extend(goals.reject_selector_errors(family, i));
            }
        }
        if goals
            .watches()
            .iter()
            .any(|w| probe.matches(&w.selector).is_err())
        {
            errors.push(ConfigError {
                path: "goals".into(),
                kind: goalpost_core::ErrorKind::Invalid(
                    "a visible goal has an invalid CSS selector",
                ),
            });
        }
    }
    let (patterns, bad) = BrowserPatterns::compile(goals.patterns());
    for i in bad {
        errors.extend(goals.reject_pattern_errors(i));
    }
    patterns
}

/// Every problem in `config`, with the same checks as [`Runtime::start`] (selectors checked
/// against `document`, patterns with the host's `RegExp`), told by `say(fatal, errors)`:
/// `fatal` when the config cannot be used at all (tracking off) rather than only some goals.
/// Empty when there is none.
#[cfg(feature = "explain")]
fn described(
    config: &JsValue,
    document: &Document,
    say: fn(bool, &[ConfigError]) -> String,
) -> String {
    let compiled = compile(&to_json(config));
    let mut errors = compiled.errors;
    let fatal = match compiled.config {
        Some(mut cfg) => {
            browser_checks(&mut cfg.goals, document, &mut errors);
            false
        }
        None => true,
    };
    if errors.is_empty() {
        return String::new();
    }
    say(fatal, &errors)
}

/// `goalpost check` (the package's CLI, on Node): every problem in `config`, one per line,
/// after a first line `invalid` (tracking off) or `skipped` (those goals skipped); empty when
/// there is none. The DOM is one the CLI parsed.
#[cfg(feature = "explain")]
pub fn check(config: &JsValue, document: &Document) -> String {
    described(config, document, |fatal, errors| {
        messages(if fatal { "invalid\n" } else { "skipped\n" }, "\n", errors)
    })
}

/// What [`Runtime::start`] logs for `config`'s problems on this page, in words (the
/// companion's export: the tracker's own build logs the JSON paths only); empty when there is
/// none.
#[cfg(feature = "explain")]
pub fn explain(config: &JsValue, document: &Document) -> String {
    described(config, document, console_message)
}

/// The console line for a config's problems: `fatal`, the config cannot be used.
fn console_message(fatal: bool, errors: &[ConfigError]) -> String {
    messages(
        if fatal {
            "goalpost: invalid config, tracking is off. "
        } else {
            "goalpost: config problems; these goals are skipped, the rest work. "
        },
        "; ",
        errors,
    )
}

/// A debug line for an ignored input.
fn reason(why: &Ignored) -> String {
    let mut m = String::from("goalpost: ");
    match why {
        Ignored::NoRule(trigger) => {
            m.push_str("no goal listens for ");
            m.push_str(trigger);
        }
        Ignored::NoGoalForEvent(name) => {
            m.push_str("no goal for custom event ");
            m.push_str(name);
        }
        Ignored::NotMatched { goal, failed } => {
            m.push_str("goal ");
            m.push_str(if goal.is_empty() {
                "(funnel step)"
            } else {
                goal
            });
            m.push_str(" not matched: ");
            m.push_str(failed);
        }
        Ignored::NoConsent => m.push_str("not collected: no consent"),
        Ignored::AlreadyConverted(goal) => {
            m.push_str("goal ");
            m.push_str(goal);
            m.push_str(" already converted (once)");
        }
        Ignored::Refused { .. } => {
            m.push_str("the collector refused a batch; its events are dropped")
        }
        Ignored::GaveUp { .. } => m.push_str("a batch failed too often; its events are dropped"),
        Ignored::QueueFull { .. } => m.push_str("the queue is full; the oldest events are dropped"),
        Ignored::Lost { .. } => m.push_str("inputs lost: the page re-entered goalpost too often"),
        Ignored::NoKey { goal } => {
            m.push_str("goal ");
            m.push_str(goal);
            m.push_str(" has no value for its once.per key: counted as every");
        }
    }
    m
}

/// `prefix` then every error's message, `separator` between them.
fn messages(prefix: &str, separator: &str, errors: &[ConfigError]) -> String {
    let mut m = String::from(prefix);
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            m.push_str(separator);
        }
        m.push_str(&e.message());
    }
    m
}

/// The click pre-filter (see [`GoalSet::click_prefilter`]); selectors the browser rejects are
/// left out (their goals were skipped), and a generated link pattern it rejected would widen
/// to every link.
fn click_filter(
    goals: &goalpost_core::GoalSet,
    document: &web_sys::Document,
) -> Option<crate::dom::ClickFilter> {
    let probe = document.document_element()?;
    let base = document
        .query_selector("base[href]")
        .ok()
        .flatten()
        .is_some();
    let links = goals.click_prefilter(base)?;
    // one selector list each; an invalid selector is left out (its goal is already
    // disabled), an invalid link pattern widens to every link
    let mut selectors = String::new();
    for s in goals.selectors(Family::Click) {
        if probe.matches(s).is_ok() {
            push_listed(&mut selectors, s);
        }
    }
    let mut any_link = String::new();
    for css in &links {
        push_listed(
            &mut any_link,
            if probe.matches(css).is_ok() {
                css
            } else {
                "[href]"
            },
        );
    }
    Some(crate::dom::ClickFilter {
        selectors: selectors.as_str().into(),
        links: any_link.as_str().into(),
    })
}

/// A `setTimeout` delay for `ms` (fractional) milliseconds: rounded up, so that the timer never
/// fires before the moment, and within 0..=i32::MAX (`f64::ceil` is std-only).
fn timeout_ms(ms: f64) -> i32 {
    let whole = ms.clamp(0.0, f64::from(i32::MAX)) as i32;
    if f64::from(whole) < ms {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// Appends `css` to a comma-separated selector list.
fn push_listed(list: &mut String, css: &str) {
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(css);
}
