//! `visible` goals: an IntersectionObserver per watch (its ratio as the threshold), a timer for
//! "visible for at least `ms`", and a MutationObserver so that elements added later are
//! watched too. Each element counts once per watch and page view.

use crate::prelude::*;
use core::cell::{OnceCell, RefCell};

use goalpost_core::{in_view, Dwell, Input, Interaction, Watch};
use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit,
    MutationObserver, MutationObserverInit, MutationRecord,
};

use super::{Runtime, K_INTERSECTIONS, K_MUTATIONS, K_VISIBLE_TICK};
use crate::dom::{page_bits, set_page_bits, Observing, Timer};

/// The observers, the elements waiting for their time, and the timer.
#[derive(Default)]
pub struct Visibility {
    watches: Vec<Watch>,
    observers: RefCell<Vec<Observing<IntersectionObserver>>>,
    mutations: RefCell<Option<Observing<MutationObserver>>>,
    /// Elements in view, waiting for their time (the core's rule).
    pending: RefCell<Dwell<Element>>,
    timer: RefCell<Option<Timer>>,
    tick: OnceCell<Function>,
}

impl Visibility {
    pub fn new(watches: &[Watch]) -> Visibility {
        Visibility {
            watches: watches.to_vec(),
            ..Visibility::default()
        }
    }
}

impl Runtime {
    pub(super) fn install_visibility(&self) {
        let v = &self.visibility;
        if v.watches.is_empty() {
            return;
        }
        let _ = v.tick.set(self.callback(K_VISIBLE_TICK));
        for (i, watch) in v.watches.iter().enumerate() {
            let init = IntersectionObserverInit::new();
            init.set_threshold(&JsValue::from_f64(watch.ratio));
            let callback = self.callback(K_INTERSECTIONS + i as u32);
            if let Ok(io) = IntersectionObserver::new_with_options(&callback, &init) {
                v.observers.borrow_mut().push(Observing(io));
            }
        }
        self.observe_all(false);
        if let (Ok(mo), Some(root)) = (
            MutationObserver::new(&self.callback(K_MUTATIONS)),
            self.document.document_element(),
        ) {
            let init = MutationObserverInit::new();
            init.set_child_list(true);
            init.set_subtree(true);
            if mo.observe_with_options(&root, &init).is_ok() {
                *v.mutations.borrow_mut() = Some(Observing(mo));
            }
        }
    }

    /// The visibility callbacks' part of [`Runtime::enter`] (the observers' entries by watch
    /// come directly: `K_INTERSECTIONS + i`).
    pub(super) fn enter_visibility(&self, code: u32, a: &JsValue) {
        match code {
            K_VISIBLE_TICK => {
                drop(self.visibility.timer.borrow_mut().take());
                self.visibility_due();
            }
            K_MUTATIONS => self.on_mutations(a.unchecked_ref()),
            _ => {}
        }
    }

    pub(super) fn uninstall_visibility(&self) {
        let v = &self.visibility;
        // each undoes itself when dropped
        v.observers.borrow_mut().clear();
        drop(v.mutations.borrow_mut().take());
        drop(v.timer.borrow_mut().take());
        v.pending.borrow_mut().clear();
    }

    /// Observes every element matching a watch. With `again`, elements already observed are
    /// observed anew, so that a new page view re-reports what is on screen.
    pub(super) fn observe_all(&self, again: bool) {
        let v = &self.visibility;
        let observers = v.observers.borrow();
        for (Observing(io), watch) in observers.iter().zip(&v.watches) {
            if let Ok(list) = self.document.query_selector_all(&watch.selector) {
                for i in 0..list.length() {
                    // querySelectorAll finds only elements
                    if let Some(node) = list.item(i) {
                        let el: &Element = node.unchecked_ref();
                        if again {
                            io.unobserve(el);
                        }
                        io.observe(el);
                    }
                }
            }
        }
    }

    fn on_mutations(&self, records: &Array) {
        let v = &self.visibility;
        let observers = v.observers.borrow();
        for r in records.iter() {
            // the observer's own records: no type test needed
            let record: MutationRecord = r.unchecked_into();
            let nodes = record.added_nodes();
            for n in 0..nodes.length() {
                let Some(el) = nodes.item(n).and_then(|n| n.dyn_into::<Element>().ok()) else {
                    continue;
                };
                for (Observing(io), watch) in observers.iter().zip(&v.watches) {
                    if el.matches(&watch.selector).unwrap_or(false) {
                        io.observe(&el);
                    }
                    if let Ok(list) = el.query_selector_all(&watch.selector) {
                        for i in 0..list.length() {
                            // querySelectorAll finds only elements
                            if let Some(inner) = list.item(i) {
                                io.observe(inner.unchecked_ref());
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn on_intersections(&self, watch: u32, entries: &Array) {
        let v = &self.visibility;
        let Some(spec) = v.watches.get(watch as usize) else {
            return;
        };
        let now = js_sys::Date::now();
        for e in entries.iter() {
            // the observer's own entries: no type test needed
            let entry: IntersectionObserverEntry = e.unchecked_into();
            let el = entry.target();
            let shown = in_view(spec, entry.is_intersecting(), entry.intersection_ratio())
                && !self.seen(&el, watch, false);
            v.pending
                .borrow_mut()
                .changed(el, watch, shown, now, spec.ms.0 as f64);
        }
        self.visibility_due();
    }

    /// Reports the elements whose time is up, and sets the timer for the next one.
    fn visibility_due(&self) {
        let v = &self.visibility;
        let now = js_sys::Date::now();
        let (due, next) = v.pending.borrow_mut().due(now);
        for (el, watch) in due {
            if !self.seen(&el, watch, true) {
                self.handle(Input::Interact(Interaction::Visible { watch }));
            }
        }
        let timer = match (next, v.tick.get()) {
            (Some(next), Some(tick)) => Timer::start(&self.window, tick, super::timeout_ms(next)),
            _ => None,
        };
        *v.timer.borrow_mut() = timer;
    }

    /// Whether `el` already counted for `watch` on this page view; with `mark`, records it.
    fn seen(&self, el: &Element, watch: u32, mark: bool) -> bool {
        let page = self.capture.page_no();
        // 32 watches per property: `__goalpostSeen`, then `__goalpostSeen1`, … (one word for
        // every watch aliased watch 32 with watch 0: the second never counted on an element
        // the first had)
        let mut key = String::from("__goalpostSeen");
        if watch >= 32 {
            goalpost_core::push_u64(&mut key, u64::from(watch / 32));
        }
        let bits = page_bits(el, &key, page);
        let bit = 1u32 << (watch % 32);
        if mark && bits & bit == 0 {
            set_page_bits(el, &key, page, bits | bit);
        }
        bits & bit != 0
    }
}
