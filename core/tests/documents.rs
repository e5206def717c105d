//! A multi-page shop as separate documents: every page load, reload and back/forward is a new
//! `Tracker` (new ids), and all that carries over between them is what the browser would keep
//! — the stored visit, where consent allows storage — and what the collector stored (it keeps
//! one copy per event id). What the shell does with outputs is done here as it does it:
//! `PersistVisit` writes the stored visit, `ClearStorage` empties it, sends are answered 204.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::config;
use goalpost_core::{
    ConsentUpdate, Element, Ignored, Input, Interaction, Json, Millis, Output, Page, Prop,
    SendStatus, Tracker, MAX_KEYS,
};
use serde_json::{json, Value};

/// The README's complete shop, with the purchase counted as `once`.
fn shop(purchase_once: Value, mode: &str) -> goalpost_core::Config {
    config(
        json!([
            {"id": "add_to_cart", "on": "click", "once": "every",
             "value": {"attr": "data-price"}, "currency": "EUR",
             "match": {"selector": "[data-action=add-to-cart]"}},
            {"id": "checkout_started", "on": "pageview", "match": {"path": "/checkout"}},
            {"id": "purchase", "kind": "macro", "on": "custom", "once": purchase_once,
             "value": {"prop": "total"}, "currency": {"prop": "currency"},
             "match": {"event": "purchase", "props": {"total": {"gt": 0}}}},
            {"id": "signup", "on": "custom", "once": "visitor", "match": {"event": "signup"}},
            {"id": "checkout", "kind": "macro", "on": "funnel", "windowMs": 3_600_000,
             "steps": ["add_to_cart", "checkout_started", "purchase"]}
        ]),
        json!({"consent": {"mode": mode}}),
    )
}

/// The browser: its storage, the collector's table, the clock.
struct Browser {
    config: goalpost_core::Config,
    /// `goalpost_visit`, as the shell stores it.
    stored_visit: Option<String>,
    /// Every write of the stored visit (a mode without storage must have none).
    writes: usize,
    /// The collector: one row per event id, in arrival order.
    collected: BTreeMap<String, Value>,
    arrivals: Vec<String>,
    /// The site's remembered consent choice, told to goalpost on every page.
    choice: Option<bool>,
    now: Millis,
    seed: u32,
}

/// One document of the site.
struct Doc {
    t: Tracker,
    /// Conversions announced to this page (callbacks, dataLayer).
    announced: Vec<String>,
    ignored: Vec<Ignored>,
}

impl Browser {
    fn new(config: goalpost_core::Config) -> Browser {
        Browser {
            config,
            stored_visit: None,
            writes: 0,
            collected: BTreeMap::new(),
            arrivals: Vec::new(),
            choice: None,
            now: Millis(1_700_000_000_000),
            seed: 0,
        }
    }

    fn later(&mut self, ms: u64) -> &mut Self {
        self.now = Millis(self.now.0 + ms);
        self
    }

    /// A new document's tracker: its own ids.
    fn new_doc(&mut self) -> Doc {
        self.seed += 1;
        Doc {
            t: Tracker::new(self.config.clone(), &[self.seed, 77]),
            announced: Vec::new(),
            ignored: Vec::new(),
        }
    }

    /// Loads `url` as a new document, as the shell starts: consent signals, then the stored
    /// visit where storage is allowed, then the page view.
    fn open(&mut self, url: &str) -> Doc {
        let mut doc = self.new_doc();
        if let Some(granted) = self.choice {
            self.feed(&mut doc, Input::Consent(ConsentUpdate::all(granted)));
        }
        if doc.t.storage_allowed() {
            if let Some(v) = self.stored() {
                self.feed(&mut doc, Input::RestoreVisit(v));
            }
        }
        self.page(&mut doc, url);
        doc
    }

    /// Loads `url` as a page whose site tells goalpost its remembered choice only after the
    /// page view (a consent tool that answers late): the choice is applied as the shell's
    /// `consent()` does.
    fn open_told_late(&mut self, url: &str) -> Doc {
        let mut doc = self.new_doc();
        self.page(&mut doc, url);
        if let Some(granted) = self.choice {
            self.choose(&mut doc, granted);
        }
        doc
    }

    /// The visitor's choice on this page, as the shell's `consent()` applies it: where it
    /// allows storage for the first time, the stored visit is merged in before the choice
    /// releases what was held.
    fn choose(&mut self, doc: &mut Doc, granted: bool) {
        let u = ConsentUpdate::all(granted);
        if !doc.t.storage_allowed() && doc.t.storage_allowed_with(u) {
            if let Some(v) = self.stored() {
                self.feed(doc, Input::RestoreVisit(v));
            }
        }
        self.feed(doc, Input::Consent(u));
    }

    /// A page view in an existing document (a back-forward cache restore is one).
    fn page(&mut self, doc: &mut Doc, url: &str) {
        let page = Page {
            url: format!("https://shop.test{url}"),
            title: "Brewline".into(),
            referrer: String::new(),
        };
        self.feed(doc, Input::PageView(page));
    }

    /// The page comes back from the back-forward cache: the shell merges what other documents
    /// stored meanwhile, then counts the page view.
    fn restore_from_bfcache(&mut self, doc: &mut Doc, url: &str) {
        self.feed(doc, Input::Shown);
        if doc.t.storage_allowed() {
            if let Some(v) = self.stored() {
                self.feed(doc, Input::RestoreVisit(v));
            }
        }
        self.page(doc, url);
    }

    /// Another tab wrote the stored visit: the `storage` event.
    fn storage_event(&mut self, doc: &mut Doc) {
        if let Some(v) = self.stored().filter(|_| doc.t.storage_allowed()) {
            self.feed(doc, Input::RestoreVisit(v));
        }
    }

    fn stored(&self) -> Option<Json> {
        let v: Value = serde_json::from_str(self.stored_visit.as_deref()?).ok()?;
        Some(common::to_json(&v))
    }

    fn add_to_cart(&mut self, doc: &mut Doc, price: &str) {
        let el = Element {
            hits: vec![0],
            tag: "button".into(),
            attrs: vec![("data-price".into(), price.into())],
            ..Element::default()
        };
        self.feed(doc, Input::Interact(Interaction::Click(el)));
    }

    fn track(&mut self, doc: &mut Doc, name: &str, props: &[(&str, Prop)]) {
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.feed(
            doc,
            Input::Interact(Interaction::Custom {
                name: name.into(),
                props,
            }),
        );
    }

    fn purchase(&mut self, doc: &mut Doc, order: &str, total: f64) {
        self.track(
            doc,
            "purchase",
            &[
                ("order_id", Prop::Str(order.into())),
                ("total", Prop::Num(total)),
                ("currency", Prop::Str("EUR".into())),
            ],
        );
    }

    /// The document goes away (navigation, reload, close): `pagehide`.
    fn leave(&mut self, mut doc: Doc) {
        self.feed(&mut doc, Input::Hidden);
    }

    /// Feeds an input and performs the outputs as the shell does.
    fn feed(&mut self, doc: &mut Doc, input: Input) {
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            doc.t.handle(self.now, input);
            while let Some(o) = doc.t.poll() {
                match o {
                    Output::Send { batch, body, .. } => {
                        let v: Value = serde_json::from_str(&body).unwrap();
                        for e in v["events"].as_array().unwrap() {
                            let id = e["id"].as_str().unwrap().to_string();
                            self.arrivals.push(id.clone());
                            self.collected.entry(id).or_insert_with(|| e.clone());
                        }
                        pending.push(Input::Sent {
                            batch,
                            status: SendStatus::Http(204),
                        });
                    }
                    Output::PersistVisit(v) => {
                        self.writes += 1;
                        self.stored_visit = Some(v);
                    }
                    Output::ClearStorage => self.stored_visit = None,
                    Output::Converted(c) => doc.announced.push(c.goal),
                    Output::Ignored(why) => doc.ignored.push(why),
                    // batches are due after the delay: every test step flushes (below)
                    _ => {}
                }
            }
            if pending.is_empty() && doc.t.queued() > 0 {
                pending.push(Input::Flush);
            }
        }
    }

    /// The stored events of one type (and goal), in arrival order.
    fn rows(&self, kind: &str) -> Vec<&Value> {
        let mut out = Vec::new();
        for id in &self.arrivals {
            let e = &self.collected[id];
            if e["type"] == kind && !out.iter().any(|o: &&Value| o["id"] == e["id"]) {
                out.push(e);
            }
        }
        out
    }

    fn conversions(&self, goal: &str) -> Vec<&Value> {
        self.rows("conversion")
            .into_iter()
            .filter(|e| e["goal"] == goal)
            .collect()
    }

    fn funnel_steps(&self) -> Vec<u64> {
        self.rows("funnel_step")
            .iter()
            .map(|e| e["step"].as_u64().unwrap())
            .collect()
    }

    /// How many times an event id arrived in all (repeats the collector dropped included).
    fn arrived(&self, id: &str) -> usize {
        self.arrivals.iter().filter(|a| *a == id).count()
    }
}

/// Product → cart → checkout → thank-you, each its own document; returns the thank-you page.
fn buy(b: &mut Browser, order: &str) -> Doc {
    let mut product = b.open("/p/grinder");
    b.later(2_000).add_to_cart(&mut product, "149");
    b.leave(product);
    let cart = b.later(5_000).open("/cart");
    b.leave(cart);
    let checkout = b.later(5_000).open("/checkout");
    b.leave(checkout);
    let mut thanks = b.later(30_000).open("/thanks");
    b.purchase(&mut thanks, order, 149.0);
    thanks
}

#[test]
fn implied_the_funnel_converts_once_across_documents_and_reloads_count_nothing_again() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let thanks = buy(&mut b, "A-1");
    b.leave(thanks);
    // reload of the thank-you page: the page re-runs its purchase call
    let mut reload = b.later(3_000).open("/thanks");
    b.purchase(&mut reload, "A-1", 149.0);
    assert!(
        reload.announced.is_empty(),
        "nothing announced again: {:?}",
        reload.announced
    );
    assert!(reload
        .ignored
        .contains(&Ignored::AlreadyConverted("purchase".into())));
    b.leave(reload);
    // back to the checkout page (a new document: no back-forward cache), then forward
    let back = b.later(2_000).open("/checkout");
    assert!(back.announced.is_empty(), "checkout_started not again");
    b.leave(back);
    let mut forward = b.later(2_000).open("/thanks");
    b.purchase(&mut forward, "A-1", 149.0);
    b.leave(forward);

    assert_eq!(b.conversions("checkout_started").len(), 1);
    assert_eq!(b.conversions("add_to_cart").len(), 1);
    let purchases = b.conversions("purchase");
    assert_eq!(purchases.len(), 1, "once per session");
    assert_eq!(purchases[0]["value"], 149.0);
    assert_eq!(purchases[0]["currency"], "EUR");
    assert_eq!(
        b.conversions("checkout").len(),
        1,
        "the funnel converts, once"
    );
    assert_eq!(b.funnel_steps(), [0, 1, 2]);
    // one session from product to the forward navigation, seven pages
    let sessions: std::collections::BTreeSet<&str> = b
        .collected
        .values()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(sessions.len(), 1);
    let stored: Value = serde_json::from_str(b.stored_visit.as_deref().unwrap()).unwrap();
    assert_eq!(stored["pages"], 7);
    assert_eq!(
        stored["goals"],
        json!(["checkout_started", "purchase", "checkout"])
    );
    assert_eq!(stored["funnels"], json!([]), "completed: nothing under way");
}

#[test]
fn implied_a_once_per_key_purchase_counts_each_order_once_and_a_repeat_is_not_announced() {
    let mut b = Browser::new(shop(json!({"per": {"prop": "order_id"}}), "implied"));
    let thanks = buy(&mut b, "A-1");
    b.leave(thanks);
    let mut reload = b.later(1_000).open("/thanks");
    b.purchase(&mut reload, "A-1", 149.0);
    assert!(reload.announced.is_empty(), "the stored key says: seen");
    b.leave(reload);
    // a second order in the same session is a second purchase
    let second = buy(&mut b, "B-2");
    assert_eq!(second.announced, ["purchase"]);
    b.leave(second);
    let purchases = b.conversions("purchase");
    let orders: Vec<&str> = purchases
        .iter()
        .map(|e| e["props"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["A-1", "B-2"]);
    assert_eq!(
        purchases[0]["id"].as_str().unwrap(),
        goalpost_core::derive_id("t", "purchase", "A-1").hex(),
        "the event id is the key's"
    );
}

#[test]
fn anonymous_nothing_is_stored_and_a_keyed_purchase_is_stored_once_by_the_collector() {
    let mut b = Browser::new(shop(json!({"per": {"prop": "order_id"}}), "anonymous"));
    let thanks = buy(&mut b, "A-1");
    b.leave(thanks);
    for _ in 0..3 {
        // reload, back/forward, another tab: each a document that knows nothing
        let mut again = b.later(1_000).open("/thanks");
        b.purchase(&mut again, "A-1", 149.0);
        b.leave(again);
    }
    let second = buy(&mut b, "B-2");
    b.leave(second);
    assert_eq!(b.writes, 0, "no storage without consent");
    assert!(b.stored_visit.is_none());
    let purchases = b.conversions("purchase");
    assert_eq!(purchases.len(), 2, "one per order");
    let a = goalpost_core::derive_id("t", "purchase", "A-1").hex();
    assert_eq!(b.arrived(&a), 4, "sent by four documents, stored once");
    assert!(purchases.iter().all(|e| e["session"].is_null()));
    // without storage, funnel progress cannot cross documents: honest, step 1 only
    assert!(b.conversions("checkout").is_empty());
    assert!(b.funnel_steps().iter().all(|s| *s == 0));
    // and a page-view goal converts again on each document (no memory to stop it)
    assert_eq!(b.conversions("checkout_started").len(), 2);
}

#[test]
fn anonymous_a_purchase_without_its_key_counts_every_time_and_says_why() {
    let mut b = Browser::new(shop(json!({"per": {"prop": "order_id"}}), "anonymous"));
    let mut thanks = b.open("/thanks");
    b.track(
        &mut thanks,
        "purchase",
        &[
            ("total", Prop::Num(10.0)),
            ("currency", Prop::Str("EUR".into())),
        ],
    );
    b.track(&mut thanks, "purchase", &[("total", Prop::Num(10.0))]);
    assert_eq!(
        thanks
            .ignored
            .iter()
            .filter(|i| **i
                == Ignored::NoKey {
                    goal: "purchase".into()
                })
            .count(),
        2
    );
    b.leave(thanks);
    assert_eq!(b.conversions("purchase").len(), 2);
}

#[test]
fn required_nothing_before_the_choice_then_stored_and_once_after_the_grant() {
    let mut b = Browser::new(shop(json!("session"), "required"));
    // the product page is left before any choice: its held events are never sent or stored
    let mut product = b.open("/p/grinder");
    b.add_to_cart(&mut product, "149");
    b.leave(product);
    assert!(b.collected.is_empty());
    assert_eq!(b.writes, 0);
    // on the cart page the visitor accepts; the site remembers the choice for later pages
    let mut cart = b.later(1_000).open("/cart");
    b.choose(&mut cart, true);
    b.choice = Some(true);
    b.add_to_cart(&mut cart, "39");
    b.leave(cart);
    let checkout = b.later(1_000).open("/checkout");
    b.leave(checkout);
    let mut thanks = b.later(1_000).open("/thanks");
    b.purchase(&mut thanks, "A-1", 188.0);
    b.leave(thanks);
    let mut reload = b.later(1_000).open("/thanks");
    b.purchase(&mut reload, "A-1", 188.0);
    b.leave(reload);
    assert_eq!(
        b.rows("page_view").len(),
        4,
        "cart, checkout, thanks, reload"
    );
    assert_eq!(
        b.conversions("add_to_cart").len(),
        1,
        "the held one was lost with its page"
    );
    assert_eq!(b.conversions("purchase").len(), 1);
    assert_eq!(b.conversions("checkout").len(), 1);
    assert_eq!(b.conversions("checkout_started").len(), 1);
    assert!(b.writes > 0);
    let consents: std::collections::BTreeSet<&str> = b
        .collected
        .values()
        .map(|e| e["consent"].as_str().unwrap())
        .collect();
    assert_eq!(consents, ["granted", "pending"].into_iter().collect());
}

#[test]
fn a_denial_deletes_the_stored_visit_and_the_next_document_starts_from_nothing() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let mut thanks = buy(&mut b, "A-1");
    assert!(b.stored_visit.is_some());
    b.feed(&mut thanks, Input::Consent(ConsentUpdate::all(false)));
    assert!(b.stored_visit.is_none(), "ClearStorage");
    b.choice = Some(false);
    b.leave(thanks);
    let mut next = b.later(1_000).open("/thanks");
    b.purchase(&mut next, "A-1", 149.0);
    b.leave(next);
    assert!(b.stored_visit.is_none(), "nothing written again");
    assert_eq!(b.conversions("purchase").len(), 1, "and nothing more sent");
}

#[test]
fn a_session_timeout_ends_session_goals_and_funnels_but_not_the_visitors() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let mut product = b.open("/p/grinder");
    b.add_to_cart(&mut product, "149");
    b.track(&mut product, "signup", &[]);
    b.leave(product);
    let checkout = b.later(1_000).open("/checkout");
    b.leave(checkout);
    // 31 minutes later: a new session
    let checkout = b.later(31 * 60_000).open("/checkout");
    assert_eq!(
        checkout.announced,
        ["checkout_started"],
        "a new session converts again"
    );
    b.leave(checkout);
    let mut thanks = b.later(1_000).open("/thanks");
    b.purchase(&mut thanks, "A-1", 149.0);
    b.track(&mut thanks, "signup", &[]);
    assert_eq!(
        thanks.announced,
        ["purchase"],
        "the funnel restarted; signup is the visitor's"
    );
    b.leave(thanks);
    assert_eq!(b.conversions("signup").len(), 1);
    assert!(b.conversions("checkout").is_empty());
    let sessions: std::collections::BTreeSet<&str> = b
        .rows("page_view")
        .iter()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(sessions.len(), 2);
}

#[test]
fn a_funnel_window_that_ran_out_across_documents_starts_over() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let mut product = b.open("/p/grinder");
    b.add_to_cart(&mut product, "149");
    b.leave(product);
    // an hour and a bit later, but active all along (a page every 20 minutes)
    for _ in 0..3 {
        let p = b.later(20 * 60_000).open("/p/kettle");
        b.leave(p);
    }
    let checkout = b.later(10 * 60_000).open("/checkout");
    b.leave(checkout);
    let mut thanks = b.later(1_000).open("/thanks");
    b.purchase(&mut thanks, "A-1", 149.0);
    b.leave(thanks);
    assert!(b.conversions("checkout").is_empty(), "outside windowMs");
    assert_eq!(b.funnel_steps(), [0]);
}

#[test]
fn back_forward_cache_restores_merge_what_other_documents_did() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let mut product = b.open("/p/grinder");
    b.add_to_cart(&mut product, "149");
    b.feed(&mut product, Input::Hidden); // kept in the back-forward cache
    let mut checkout = b.later(1_000).open("/checkout");
    b.feed(&mut checkout, Input::Hidden); // kept too
                                          // back: the product page comes back with its old memory (funnel at step 2 of 3)
    b.later(1_000)
        .restore_from_bfcache(&mut product, "/p/grinder");
    b.feed(&mut product, Input::Hidden);
    // forward: the checkout page again, from the cache: no second checkout_started
    b.later(1_000)
        .restore_from_bfcache(&mut checkout, "/checkout");
    assert_eq!(
        checkout.announced,
        ["checkout_started"],
        "only the first time"
    );
    b.feed(&mut checkout, Input::Hidden);
    let mut thanks = b.later(1_000).open("/thanks");
    b.purchase(&mut thanks, "A-1", 149.0);
    b.leave(thanks);
    assert_eq!(b.conversions("checkout_started").len(), 1);
    assert_eq!(b.conversions("checkout").len(), 1);
    assert_eq!(b.funnel_steps(), [0, 1, 2]);
}

#[test]
fn two_tabs_of_one_visit_share_once_rules_and_do_not_echo_each_others_writes() {
    let mut b = Browser::new(shop(json!("session"), "implied"));
    let mut tab1 = b.open("/thanks");
    let mut tab2 = b.later(1_000).open("/thanks");
    b.purchase(&mut tab1, "A-1", 149.0);
    b.feed(&mut tab1, Input::Hidden); // written at once when hidden
                                      // tab 2 hears of it (the storage event) and does not count it again
    b.storage_event(&mut tab2);
    b.purchase(&mut tab2, "A-1", 149.0);
    assert!(tab2.announced.is_empty());
    // tab 2 had nothing tab 1 lacked: it writes nothing back, so tab 1 hears nothing
    let writes = b.writes;
    b.later(2_000);
    b.feed(&mut tab2, Input::Tick);
    assert_eq!(b.writes, writes, "no echo");
    b.leave(tab1);
    b.leave(tab2);
    assert_eq!(b.conversions("purchase").len(), 1);
    let sessions: std::collections::BTreeSet<&str> = b
        .rows("page_view")
        .iter()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(
        sessions.len(),
        1,
        "the second tab continued the stored session"
    );
}

#[test]
fn keys_are_bounded_and_an_evicted_key_is_still_stored_once_by_the_collector() {
    let mut b = Browser::new(shop(json!({"per": {"prop": "order_id"}}), "implied"));
    let mut thanks = b.open("/thanks");
    for i in 0..(MAX_KEYS + 10) {
        b.later(1_000)
            .purchase(&mut thanks, &format!("O-{i}"), 10.0);
    }
    b.leave(thanks);
    let stored: Value = serde_json::from_str(b.stored_visit.as_deref().unwrap()).unwrap();
    assert_eq!(stored["keys"].as_array().unwrap().len(), MAX_KEYS);
    let mut again = b.later(1_000).open("/thanks");
    b.purchase(&mut again, "O-0", 10.0); // evicted: the page announces it again…
    assert_eq!(again.announced, ["purchase"]);
    b.purchase(&mut again, &format!("O-{}", MAX_KEYS + 9), 10.0); // kept: not again
    assert_eq!(again.announced, ["purchase"]);
    b.leave(again);
    // …but the collector stores one row per order
    assert_eq!(b.conversions("purchase").len(), MAX_KEYS + 10);
}

#[test]
fn required_a_choice_told_after_each_page_view_still_continues_the_visit_and_its_once_rules() {
    let mut b = Browser::new(shop(json!("session"), "required"));
    let mut product = b.open("/p/grinder");
    b.choose(&mut product, true);
    b.choice = Some(true);
    b.add_to_cart(&mut product, "149");
    b.leave(product);
    for _ in 0..2 {
        // the checkout page and its reload: the page-view goal is held until the choice, and
        // the second time the stored visit says it already converted
        let checkout = b.later(1_000).open_told_late("/checkout");
        b.leave(checkout);
    }
    for _ in 0..2 {
        let mut thanks = b.later(1_000).open_told_late("/thanks");
        b.purchase(&mut thanks, "A-1", 149.0);
        b.leave(thanks);
    }
    assert_eq!(b.conversions("checkout_started").len(), 1);
    assert_eq!(b.conversions("purchase").len(), 1);
    assert_eq!(b.conversions("checkout").len(), 1);
    assert_eq!(b.rows("page_view").len(), 5);
    let sessions: std::collections::BTreeSet<&str> = b
        .collected
        .values()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(
        sessions.len(),
        1,
        "held page views carry the continued session"
    );
}

#[test]
fn a_click_goal_counted_once_per_attribute_value_across_documents_without_storage() {
    let config = config(
        json!([
            {"id": "book", "kind": "macro", "on": "click", "once": {"per": {"attr": "data-slot"}},
             "match": {"selector": ".slot"}}
        ]),
        json!({"consent": {"mode": "anonymous"}}),
    );
    let mut b = Browser::new(config);
    let click = |slot: &str| {
        Input::Interact(Interaction::Click(Element {
            hits: vec![0],
            tag: "button".into(),
            attrs: vec![("data-slot".into(), slot.into())],
            ..Element::default()
        }))
    };
    for slot in ["mon-10", "mon-10", "tue-14"] {
        let mut page = b.later(1_000).open("/book");
        b.feed(&mut page, click(slot));
        b.feed(&mut page, click(slot)); // a double click on the same document
        b.leave(page);
    }
    let booked: Vec<&Value> = b.conversions("book");
    assert_eq!(
        booked.len(),
        2,
        "one per slot, whatever the documents and clicks"
    );
    let mon = goalpost_core::derive_id("t", "book", "mon-10").hex();
    assert_eq!(b.arrived(&mon), 2, "sent by two documents, stored once");
    assert_eq!(b.writes, 0);
}
