//! Capture beyond clicks: forms, middle clicks, media progress, scroll depth and single-page
//! navigations, each mapped to the core's plain types. Everything here reads the DOM only in
//! event handlers (scroll depth: read in JS at most every 250 ms) and never changes what the page does.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, OnceCell, RefCell};
use goalpost_core::{cut, up_to};

use goalpost_core::{Config, Family, Form, Input, Interaction, Media, MediaEvent, Page, Spa};
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlMediaElement};

use super::{with_event, Runtime};
use crate::dom::{matching_selectors, page_bits, set_page_bits, target_element, Selectors};

/// The expando property holding a media element's flags for the page view.
const MEDIA_KEY: &str = "__goalpost";

// `control(what)` of the JS depth watcher (`js/entry.mjs` `depth`)
/// Removes the depth watcher's listeners.
const DEPTH_STOP: u32 = 0;
/// A new page view: thresholds count again.
const DEPTH_NEW_PAGE: u32 = 1;
/// Reads the depth now.
const DEPTH_MEASURE: u32 = 2;

/// What the capture listeners need from the config, and their per-page state.
pub struct Capture {
    uses_submit: bool,
    form_selectors: Selectors,
    form_attrs: Vec<String>,
    uses_media: bool,
    media_selectors: Selectors,
    media_percents: Vec<f64>,
    media_seconds: Vec<f64>,
    scroll_percents: Vec<f64>,
    scroll_pixels: Vec<f64>,
    spa: Spa,
    /// Scroll depth is measured in JS (`Host::watch_depth`); this is its control function.
    depth: RefCell<Option<Function>>,
    depth_closure: OnceCell<Closure<dyn Fn(f64, f64)>>,
    nav_closure: OnceCell<Closure<dyn Fn(u32)>>,
    unwatch: RefCell<Option<Function>>,
    /// The current page's URL, for de-duplicating navigations.
    url: RefCell<String>,
    /// Page views so far (media progress is once per element per page view).
    page_no: Cell<u32>,
    /// Engaged-time thresholds in seconds, and the engagement clock of this page view:
    /// milliseconds engaged before `since`, and when the current engaged stretch began.
    engaged_marks: Vec<f64>,
    engaged_ms: Cell<f64>,
    since: Cell<Option<f64>>,
    engaged_timer: Cell<Option<i32>>,
    engaged_tick: OnceCell<Function>,
    engaged_closure: OnceCell<Closure<dyn Fn()>>,
}

impl Capture {
    pub fn new(cfg: &Config, url: String) -> Capture {
        let g = &cfg.goals;
        Capture {
            uses_submit: g.uses("submit"),
            form_selectors: Selectors::new(&g.selectors(Family::Form)),
            form_attrs: g.attributes(),
            uses_media: g.uses("media"),
            media_selectors: Selectors::new(&g.selectors(Family::Media)),
            media_percents: g.thresholds("media", "percent"),
            media_seconds: g.thresholds("media", "seconds"),
            scroll_percents: g.thresholds("scroll", "percent"),
            scroll_pixels: g.thresholds("scroll", "pixels"),
            spa: cfg.spa,
            depth: RefCell::new(None),
            depth_closure: OnceCell::new(),
            nav_closure: OnceCell::new(),
            unwatch: RefCell::new(None),
            url: RefCell::new(url),
            page_no: Cell::new(1),
            engaged_marks: g.thresholds("engaged", "seconds"),
            engaged_ms: Cell::new(0.0),
            since: Cell::new(None),
            engaged_timer: Cell::new(None),
            engaged_tick: OnceCell::new(),
            engaged_closure: OnceCell::new(),
        }
    }

    /// The number of the current page view (1 for the first).
    pub fn page_no(&self) -> u32 {
        self.page_no.get()
    }

    fn uses_scroll(&self) -> bool {
        !self.scroll_percents.is_empty() || !self.scroll_pixels.is_empty()
    }
}

impl Runtime {
    /// Installs the capture listeners the goals need.
    pub(super) fn install_capture(self: &Rc<Self>, weak: &Weak<Runtime>) {
        let doc: &web_sys::EventTarget = &self.document;
        let win: &web_sys::EventTarget = &self.window;
        let c = &self.capture;
        if self.uses_click {
            // middle clicks open links in new tabs without a click event
            self.listen_filtered(
                doc,
                "auxclick",
                self.click_filter.as_ref(),
                with_event(weak, |rt, e| {
                    if Reflect::get(e, &JsValue::from_str("button"))
                        .ok()
                        .and_then(|b| b.as_f64())
                        == Some(1.0)
                    {
                        rt.on_click(e);
                    }
                }),
            );
        }
        if c.uses_submit {
            self.listen(doc, "submit", with_event(weak, |rt, e| rt.on_submit(e)));
        }
        if c.uses_media {
            for kind in ["play", "timeupdate", "ended"] {
                self.listen(doc, kind, with_event(weak, |rt, e| rt.on_media(e)));
            }
        }
        if c.uses_scroll() {
            // read in JS at most every 250 ms: the wasm hears only of a threshold passed
            let w = weak.clone();
            let reached = Closure::<dyn Fn(f64, f64)>::new(move |percent, pixels| {
                if let Some(rt) = w.upgrade() {
                    rt.handle(Input::Interact(Interaction::Scroll { percent, pixels }));
                }
            });
            let guarded = self.host.guarded(reached.as_ref());
            *c.depth.borrow_mut() =
                self.host
                    .watch_depth(&c.scroll_percents, &c.scroll_pixels, &guarded);
            let _ = c.depth_closure.set(reached);
        }
        if c.spa != Spa::Off {
            let w = weak.clone();
            let nav = Closure::<dyn Fn(u32)>::new(move |kind: u32| {
                if let Some(rt) = w.upgrade() {
                    rt.on_navigate(kind);
                }
            });
            let guarded = self.host.guarded(nav.as_ref());
            *c.unwatch.borrow_mut() = self.host.watch_history(&guarded);
            let _ = c.nav_closure.set(nav);
        }
        if !c.engaged_marks.is_empty() {
            let w = weak.clone();
            let tick = Closure::<dyn Fn()>::new(move || {
                if let Some(rt) = w.upgrade() {
                    rt.capture.engaged_timer.set(None);
                    rt.engagement_changed();
                }
            });
            let _ = c.engaged_tick.set(self.host.guarded(tick.as_ref()));
            let _ = c.engaged_closure.set(tick);
            for (target, kind) in [(win, "focus"), (win, "blur"), (doc, "visibilitychange")] {
                self.listen(
                    target,
                    kind,
                    with_event(weak, |rt, _| rt.engagement_changed()),
                );
            }
            self.engagement_changed();
        }
        // offline: nothing is sent and no attempt is spent; back online, the queue goes
        for kind in ["online", "offline"] {
            self.listen(
                win,
                kind,
                with_event(weak, |rt, e| {
                    rt.handle(Input::Online(e.type_() == "online"))
                }),
            );
        }
        if !self.window.navigator().on_line() {
            self.handle(Input::Online(false));
        }
        // back-forward cache restores are new page views of the same URL; what went out by
        // beacon when the page was hidden is sent again (Input::Shown)
        self.listen(
            win,
            "pageshow",
            with_event(weak, |rt, e| {
                if Reflect::get(e, &JsValue::from_str("persisted"))
                    .ok()
                    .and_then(|p| p.as_bool())
                    == Some(true)
                {
                    rt.handle(Input::Shown);
                    rt.new_page(rt.capture.url.borrow().clone());
                }
            }),
        );
    }

    /// Engaged time runs while the page is visible and focused. Called on every focus,
    /// blur and visibility change, and by the timer at the next threshold: it books the time
    /// since the last call, reports thresholds passed, and sets the timer for the next one.
    fn engagement_changed(&self) {
        let c = &self.capture;
        let now = js_sys::Date::now();
        let before = c.engaged_ms.get();
        let total = before + c.since.get().map_or(0.0, |t| (now - t).max(0.0));
        c.engaged_ms.set(total);
        let engaged = self.document.visibility_state() == web_sys::VisibilityState::Visible
            && self.document.has_focus().unwrap_or(false);
        c.since.set(engaged.then_some(now));
        if c.engaged_marks
            .iter()
            .any(|m| total >= m * 1000.0 && before < m * 1000.0)
        {
            self.handle(Input::Interact(Interaction::Engaged {
                seconds: total / 1000.0,
            }));
        }
        if let Some(t) = c.engaged_timer.take() {
            self.window.clear_timeout_with_handle(t);
        }
        let next = c
            .engaged_marks
            .iter()
            .map(|m| m * 1000.0)
            .find(|m| *m > total);
        if let (true, Some(next), Some(tick)) = (engaged, next, c.engaged_tick.get()) {
            let wait = super::timeout_ms(next - total);
            c.engaged_timer.set(
                self.window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(tick, wait)
                    .ok(),
            );
        }
    }

    /// Reads the scroll depth now (the page is being hidden: a threshold passed since the
    /// last read goes out with the last send).
    pub(super) fn measure_depth_now(&self) {
        self.control_depth(DEPTH_MEASURE);
    }

    /// Calls the JS depth watcher's `control(what)` (see `Host::watch_depth`), if it runs.
    fn control_depth(&self, what: u32) {
        if let Some(depth) = self.capture.depth.borrow().as_ref() {
            let _ = depth.call1(&JsValue::NULL, &JsValue::from(what));
        }
    }

    /// Undoes what cannot be a dropped listener (the history hooks, the engagement timer).
    pub(super) fn uninstall_capture(&self) {
        if let Some(t) = self.capture.engaged_timer.take() {
            self.window.clear_timeout_with_handle(t);
        }
        if let Some(unwatch) = self.capture.unwatch.borrow_mut().take() {
            let _ = unwatch.call0(&JsValue::NULL);
        }
        self.control_depth(DEPTH_STOP);
        self.capture.depth.borrow_mut().take();
    }

    fn on_submit(&self, e: &Event) {
        let Some(form) = target_element(e) else {
            return;
        };
        let c = &self.capture;
        let action = Reflect::get(&form, &JsValue::from_str("action"))
            .ok()
            .and_then(|a| a.as_string())
            .unwrap_or_default();
        let info = Form {
            hits: matching_selectors(&form, &c.form_selectors),
            id: form.id(),
            name: form.get_attribute("name").unwrap_or_default(),
            action,
            attrs: c
                .form_attrs
                .iter()
                .filter_map(|a| form.get_attribute(a).map(|v| (a.clone(), v)))
                .collect(),
        };
        self.handle(Input::Interact(Interaction::Submit(info)));
    }

    fn on_media(&self, e: &Event) {
        let Some(el) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlMediaElement>().ok())
        else {
            return;
        };
        let c = &self.capture;
        // per element and page view: bit 0 started, bit 1 completed, then one bit per threshold
        let mut bits = page_bits(&el, MEDIA_KEY, c.page_no.get());
        let duration = el.duration();
        let now = el.current_time();
        let percent = if duration.is_finite() && duration > 0.0 {
            (now / duration * 100.0).min(100.0)
        } else {
            0.0
        };
        let mut events: Vec<(MediaEvent, f64, f64)> = Vec::new();
        match e.type_().as_str() {
            "play" if bits & 1 == 0 => {
                bits |= 1;
                events.push((MediaEvent::Start, percent, now));
            }
            "ended" if bits & 2 == 0 && duration.is_finite() => {
                bits |= 2;
                events.push((MediaEvent::Complete, 100.0, now));
            }
            "timeupdate" if duration.is_finite() => {
                // a threshold passed (by playing or seeking past it) fires once
                for (i, t) in c.media_percents.iter().enumerate().take(15) {
                    let bit = 1 << (2 + i);
                    if percent >= *t && bits & bit == 0 {
                        bits |= bit;
                        events.push((MediaEvent::Progress, *t, now));
                    }
                }
                for (i, t) in c.media_seconds.iter().enumerate().take(15) {
                    let bit = 1 << (17 + i);
                    if now >= *t && bits & bit == 0 {
                        bits |= bit;
                        events.push((MediaEvent::Progress, percent, *t));
                    }
                }
            }
            _ => {}
        }
        if events.is_empty() {
            return;
        }
        set_page_bits(&el, MEDIA_KEY, c.page_no.get(), bits);
        let hits = matching_selectors(&el, &c.media_selectors);
        let src = el.current_src();
        for (event, percent, seconds) in events {
            let m = Media {
                hits: hits.clone(),
                src: src.clone(),
                event,
                percent,
                seconds,
            };
            self.handle(Input::Interact(Interaction::Media(m)));
        }
    }

    /// `kind`: 0 pushState, 1 replaceState, 2 popstate, 3 hashchange.
    fn on_navigate(&self, kind: u32) {
        let c = &self.capture;
        let url = self.window.location().href().unwrap_or_default();
        let strip = |u: &str| {
            if c.spa == Spa::Hash {
                u.to_string()
            } else {
                up_to(u, b"#").to_string()
            }
        };
        let last = c.url.borrow().clone();
        if strip(&url) == strip(&last) {
            return; // the same URL again
        }
        let path = |u: &str| up_to(u, b"?#").to_string();
        let hash = |u: &str| cut(u, b'#').map(|(_, h)| h.to_string());
        if kind == 1
            && path(&url) == path(&last)
            && (c.spa != Spa::Hash || hash(&url) == hash(&last))
        {
            // replaceState that only changed the query: the same page, not another view
            *c.url.borrow_mut() = url;
            return;
        }
        self.new_page(url);
    }

    /// A page view of `url` after an in-page navigation or a cache restore.
    fn new_page(&self, url: String) {
        let c = &self.capture;
        let referrer = core::mem::replace(&mut *c.url.borrow_mut(), url.clone());
        c.page_no.set(c.page_no.get() + 1);
        // engaged time is per page view
        c.engaged_ms.set(0.0);
        if c.since.get().is_some() {
            c.since.set(Some(js_sys::Date::now()));
        }
        let page = Page {
            url,
            title: self.document.title(),
            referrer,
        };
        self.handle(Input::PageView(page));
        self.control_depth(DEPTH_NEW_PAGE);
    }
}
