//! Capture beyond clicks: forms, middle clicks, media progress, scroll depth and single-page
//! navigations, each mapped to the core's plain types. Everything here reads the DOM only in
//! event handlers (scroll depth: read in JS at most every 250 ms) and never changes what the page does.

use crate::prelude::*;
use core::cell::{Cell, OnceCell, RefCell};

use goalpost_core::{
    page_change, Config, Engagement, Family, Form, Input, Interaction, Listener, Measure, Media,
    MediaEvent, Navigation, Page, PageChange, Spa,
};
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, HtmlMediaElement};

use super::{
    Runtime, K_AUXCLICK, K_CLICK, K_DEPTH, K_ENGAGED_TICK, K_ENGAGEMENT, K_MEDIA, K_NAVIGATED,
    K_OFFLINE, K_ONLINE, K_PAGESHOW, K_SUBMIT,
};
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
    depth: RefCell<Option<DepthWatch>>,
    unwatch: RefCell<Option<crate::dom::Undo>>,
    /// The current page's URL, for de-duplicating navigations.
    url: RefCell<String>,
    /// Page views so far (media progress is once per element per page view).
    page_no: Cell<u32>,
    /// Engaged-time thresholds in seconds, and the engagement clock of this page view:
    /// milliseconds engaged before `since`, and when the current engaged stretch began.
    engagement: RefCell<Engagement>,
    engaged_timer: RefCell<Option<crate::dom::Timer>>,
    engaged_tick: OnceCell<Function>,
}

impl Capture {
    pub fn new(cfg: &Config, url: String) -> Capture {
        let g = &cfg.goals;
        Capture {
            uses_submit: g.uses(Listener::Submit),
            form_selectors: Selectors::new(&g.selectors(Family::Form)),
            form_attrs: g.attributes(),
            uses_media: g.uses(Listener::Media),
            media_selectors: Selectors::new(&g.selectors(Family::Media)),
            media_percents: g.thresholds(Measure::MediaPercent),
            media_seconds: g.thresholds(Measure::MediaSeconds),
            scroll_percents: g.thresholds(Measure::ScrollPercent),
            scroll_pixels: g.thresholds(Measure::ScrollPixels),
            spa: cfg.spa,
            depth: RefCell::new(None),
            unwatch: RefCell::new(None),
            url: RefCell::new(url),
            page_no: Cell::new(1),
            engagement: RefCell::new(Engagement::new(&g.thresholds(Measure::EngagedSeconds))),
            engaged_timer: RefCell::new(None),
            engaged_tick: OnceCell::new(),
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

/// The JS depth watcher's `control(what)` (see `Host::watch_depth`); stopped when dropped.
pub(super) struct DepthWatch(Function);

impl DepthWatch {
    fn control(&self, what: u32) {
        let _ = self.0.call1(&JsValue::NULL, &JsValue::from(what));
    }
}

impl Drop for DepthWatch {
    fn drop(&mut self) {
        self.control(DEPTH_STOP);
    }
}

impl Runtime {
    /// Installs the capture listeners the goals need.
    pub(super) fn install_capture(&self) {
        let doc: &web_sys::EventTarget = &self.document;
        let win: &web_sys::EventTarget = &self.window;
        let c = &self.capture;
        if self.uses_click {
            // middle clicks open links in new tabs without a click event
            self.listen_filtered(doc, "auxclick", K_AUXCLICK);
        }
        if c.uses_submit {
            self.listen(doc, "submit", K_SUBMIT);
        }
        if c.uses_media {
            for kind in ["play", "timeupdate", "ended"] {
                self.listen(doc, kind, K_MEDIA);
            }
        }
        if c.uses_scroll() {
            // read in JS at most every 250 ms: the wasm hears only of a threshold passed
            *c.depth.borrow_mut() = self
                .host
                .watch_depth(
                    &c.scroll_percents,
                    &c.scroll_pixels,
                    &self.callback(K_DEPTH),
                )
                .map(DepthWatch);
        }
        if c.spa != Spa::Off {
            *c.unwatch.borrow_mut() = self
                .host
                .watch_history(&self.callback(K_NAVIGATED))
                .map(crate::dom::Undo);
        }
        if c.engagement.borrow().watched() {
            let _ = c.engaged_tick.set(self.callback(K_ENGAGED_TICK));
            for (target, kind) in [(win, "focus"), (win, "blur"), (doc, "visibilitychange")] {
                self.listen(target, kind, K_ENGAGEMENT);
            }
            self.engagement_changed();
        }
        // offline: nothing is sent and no attempt is spent; back online, the queue goes
        self.listen(win, "online", K_ONLINE);
        self.listen(win, "offline", K_OFFLINE);
        if !self.window.navigator().on_line() {
            self.handle(Input::Online(false));
        }
        // back-forward cache restores are new page views of the same URL; what went out by
        // beacon when the page was hidden is sent again (Input::Shown)
        self.listen(win, "pageshow", K_PAGESHOW);
    }

    /// The capture callbacks' part of [`Runtime::enter`].
    pub(super) fn enter_capture(&self, code: u32, a: &JsValue, b: &JsValue) {
        let number = |v: &JsValue| v.as_f64().unwrap_or(0.0);
        match code {
            K_SUBMIT => self.on_submit(a.unchecked_ref()),
            K_MEDIA => self.on_media(a.unchecked_ref()),
            K_DEPTH => self.handle(Input::Interact(Interaction::Scroll {
                percent: number(a),
                pixels: number(b),
            })),
            K_NAVIGATED => self.on_navigate(number(a) as u32),
            K_ENGAGED_TICK => {
                drop(self.capture.engaged_timer.borrow_mut().take());
                self.engagement_changed();
            }
            K_ENGAGEMENT => self.engagement_changed(),
            K_PAGESHOW => {
                if Reflect::get(a, &JsValue::from_str("persisted"))
                    .ok()
                    .and_then(|p| p.as_bool())
                    == Some(true)
                {
                    self.handle(Input::Shown);
                    // what other pages of the visit did meanwhile (a conversion, a funnel step)
                    self.restore_visit();
                    // (the URL is copied first: `new_page` replaces it, and a borrow held
                    // through the call trapped here, silencing goalpost for the page)
                    let url = self.capture.url.borrow().clone();
                    self.new_page(url);
                }
            }
            _ => self.enter_visibility(code, a),
        }
    }

    /// Engaged time runs while the page is visible and focused. Called on every focus,
    /// blur and visibility change, and by the timer at the next threshold: it books the time
    /// since the last call, reports thresholds passed, and sets the timer for the next one.
    fn engagement_changed(&self) {
        let c = &self.capture;
        let engaged = self.document.visibility_state() == web_sys::VisibilityState::Visible
            && self.document.has_focus().unwrap_or(false);
        let step = c
            .engagement
            .borrow_mut()
            .changed(js_sys::Date::now(), engaged);
        if let Some(seconds) = step.reached {
            self.handle(Input::Interact(Interaction::Engaged { seconds }));
        }
        let next = match (step.wake_in, c.engaged_tick.get()) {
            (Some(wait), Some(tick)) => {
                crate::dom::Timer::start(&self.window, tick, super::timeout_ms(wait))
            }
            _ => None,
        };
        *c.engaged_timer.borrow_mut() = next;
    }

    /// Reads the scroll depth now (the page is being hidden: a threshold passed since the
    /// last read goes out with the last send).
    pub(super) fn measure_depth_now(&self) {
        self.control_depth(DEPTH_MEASURE);
    }

    /// Calls the JS depth watcher's `control(what)` (see `Host::watch_depth`), if it runs.
    fn control_depth(&self, what: u32) {
        if let Some(depth) = self.capture.depth.borrow().as_ref() {
            depth.control(what);
        }
    }

    /// Undoes what cannot be a dropped listener (the history hooks, the engagement timer).
    pub(super) fn uninstall_capture(&self) {
        // each undoes itself when dropped
        drop(self.capture.engaged_timer.borrow_mut().take());
        drop(self.capture.unwatch.borrow_mut().take());
        drop(self.capture.depth.borrow_mut().take());
    }

    /// A click, middle click or submit that happened before the listeners were installed (the
    /// loader kept it), entered as its listener would have been, if that listener is installed.
    pub(crate) fn replay(&self, event: &Event, kind: &str) {
        let code = match kind {
            "click" if self.uses_click => K_CLICK,
            "auxclick" if self.uses_click => K_AUXCLICK,
            "submit" if self.capture.uses_submit => K_SUBMIT,
            _ => return,
        };
        self.enter(code, event.into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
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
        let how = match kind {
            0 => Navigation::Push,
            1 => Navigation::Replace,
            2 => Navigation::Pop,
            _ => Navigation::Hash,
        };
        let change = page_change(&c.url.borrow(), &url, how, c.spa == Spa::Hash);
        match change {
            PageChange::Same => {}
            PageChange::Rewritten => *c.url.borrow_mut() = url,
            PageChange::NewView => self.new_page(url),
        }
    }

    /// A page view of `url` after an in-page navigation or a cache restore.
    fn new_page(&self, url: String) {
        let c = &self.capture;
        let referrer = core::mem::replace(&mut *c.url.borrow_mut(), url.clone());
        c.page_no.set(c.page_no.get() + 1);
        // engaged time is per page view
        c.engagement.borrow_mut().new_page(js_sys::Date::now());
        let page = Page {
            url,
            title: self.document.title(),
            referrer,
        };
        self.handle(Input::PageView(page));
        self.control_depth(DEPTH_NEW_PAGE);
    }
}
