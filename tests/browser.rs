//! The browser shell in headless Chromium (wasm-bindgen-test): DOM events to core inputs,
//! JS values to config, and teardown.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use goalpost::{
    element_info, invalid_selectors, props_from_js, selector_hits, target_element, to_json,
    update_from_js, Goalpost, Host, Reads, Selectors,
};
use goalpost_core::{Json, Prop};
use js_sys::{Array, Function, Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, Event, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Puts `html` into a fresh container in the body.
fn mount(html: &str) -> Element {
    let div = document().create_element("div").unwrap();
    div.set_inner_html(html);
    document().body().unwrap().append_child(&div).unwrap();
    div
}

/// Clicks `el` for real and returns the selector hits computed inside the listener.
fn hits_for_click(el: &HtmlElement, selectors: &[&str]) -> Vec<u32> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sel = Selectors::new(selectors);
    let s2 = seen.clone();
    let cb = Closure::<dyn Fn(Event)>::new(move |e: Event| {
        *s2.borrow_mut() = target_element(&e)
            .map(|t| selector_hits(&t, &sel))
            .unwrap_or_default()
    });
    document()
        .add_event_listener_with_callback_and_bool("click", cb.as_ref().unchecked_ref(), true)
        .unwrap();
    el.click();
    document()
        .remove_event_listener_with_callback_and_bool("click", cb.as_ref().unchecked_ref(), true)
        .unwrap();
    let out = seen.borrow().clone();
    out
}

#[wasm_bindgen_test]
fn a_click_on_a_child_hits_the_selector_of_its_ancestor() {
    let root = mount(
        r##"<button id="signup" class="cta"><span id="inner">Sign up</span></button><a id="other" href="#x">x</a>"##,
    );
    let selectors = ["#signup", ".cta", "#other", "form"];
    let inner: HtmlElement = document()
        .get_element_by_id("inner")
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(hits_for_click(&inner, &selectors), vec![0, 1]);
    let other: HtmlElement = document()
        .get_element_by_id("other")
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(hits_for_click(&other, &selectors), vec![2]);
    root.remove();
}

#[wasm_bindgen_test]
fn a_click_inside_a_link_reports_the_link_with_what_goals_read() {
    let root = mount(
        r##"<a id="dl" class="btn big" href="/files/Price-List.PDF?v=2" download data-plan="pro"><span id="lbl">  Get the
        price   list </span></a>"##,
    );
    let span = document().get_element_by_id("lbl").unwrap();
    let selectors = Selectors::new(&["#dl", "#nope"]);
    let info = element_info(
        &span,
        &selectors,
        &["data-plan".to_string(), "data-missing".to_string()],
        Reads::all(),
    );
    assert_eq!(info.hits, vec![0]);
    assert_eq!(info.tag, "a");
    assert_eq!(info.id, "dl");
    assert_eq!(info.classes, "btn big");
    assert_eq!(info.text, "Get the price list");
    assert!(info.download);
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    assert_eq!(
        info.href,
        format!("{origin}/files/Price-List.PDF?v=2"),
        "absolute href"
    );
    assert_eq!(
        info.attrs,
        vec![("data-plan".to_string(), "pro".to_string())]
    );
    // text, id, classes and the tag are not read unless a goal needs them; the href always is
    let lean = element_info(&span, &selectors, &[], Reads::default());
    assert_eq!(
        (
            lean.text.as_str(),
            lean.id.as_str(),
            lean.classes.as_str(),
            lean.tag.as_str()
        ),
        ("", "", "", "")
    );
    assert_eq!(lean.href, info.href, "links are known without their tag");
    assert!(lean.download);
    root.remove();
    // text: whitespace collapsed, at most 100 characters (counted as characters, not bytes)
    let long = mount(&format!(
        "<button id=\"long\">  {}\n\t{} </button>",
        "é".repeat(60),
        "word ".repeat(30)
    ));
    let el = document().get_element_by_id("long").unwrap();
    let t = element_info(&el, &selectors, &[], Reads::all()).text;
    assert_eq!(t.chars().count(), 100, "{t}");
    assert!(
        t.starts_with(&format!("{} word word", "é".repeat(60))),
        "{t}"
    );
    long.remove();
    // a button has no href, and an SVG link's href is not a URL string: neither is a link
    let root = mount(
        r##"<button id="b" href="/not-a-link">b</button><svg><a id="s" href="/svg"><text>t</text></a></svg>"##,
    );
    for id in ["b", "s"] {
        let el = document().get_element_by_id(id).unwrap();
        let i = element_info(&el, &selectors, &[], Reads::default());
        assert_eq!((i.href.as_str(), i.download), ("", false), "{id}");
    }
    root.remove();
    // a custom element whose own href getter throws: no href, and nothing thrown
    js_sys::eval(
        "customElements.define('gp-throws', class extends HTMLElement { get href() { throw new Error('x'); } })",
    )
    .unwrap();
    let root = mount(r#"<gp-throws id="t">t</gp-throws>"#);
    let el = document().get_element_by_id("t").unwrap();
    assert_eq!(
        element_info(&el, &selectors, &[], Reads::default()).href,
        ""
    );
    root.remove();
}

#[wasm_bindgen_test]
fn invalid_css_is_found_by_the_browser() {
    let probe = document().document_element().unwrap();
    let selectors = ["#ok", "[[bad", "a > b", "::nope("];
    assert_eq!(invalid_selectors(&probe, &selectors), vec![1, 3]);
}

#[wasm_bindgen_test]
fn js_values_become_json_trees() {
    let v = js_sys::JSON::parse(
        r#"{"site":"shop","n":3.5,"ok":true,"none":null,"goals":[{"id":"a"}]}"#,
    )
    .unwrap();
    let j = to_json(&v);
    assert_eq!(j.get("site"), Some(&Json::String("shop".into())));
    assert_eq!(j.get("n"), Some(&Json::Number(3.5)));
    assert_eq!(j.get("ok"), Some(&Json::Bool(true)));
    assert_eq!(j.get("none"), Some(&Json::Null));
    let Some(Json::Array(goals)) = j.get("goals") else {
        panic!("goals")
    };
    assert_eq!(goals[0].get("id"), Some(&Json::String("a".into())));
    // functions and undefined are null; a throwing getter does not throw
    let o = Object::new();
    Reflect::set(&o, &"f".into(), &Function::new_no_args("")).unwrap();
    Reflect::set(&o, &"u".into(), &JsValue::UNDEFINED).unwrap();
    let getter = js_sys::eval("({ get bad() { throw new Error('x') } })").unwrap();
    assert_eq!(
        to_json(&o),
        Json::Object(vec![("f".into(), Json::Null), ("u".into(), Json::Null)])
    );
    assert_eq!(
        to_json(&getter),
        Json::Object(vec![("bad".into(), Json::Null)])
    );
}

#[wasm_bindgen_test]
fn deep_nesting_is_cut_off_not_overflowed() {
    let v = js_sys::JSON::parse(&("[".repeat(5000) + &"]".repeat(5000))).unwrap();
    let mut j = to_json(&v);
    let mut depth = 0;
    while let Json::Array(mut a) = j {
        depth += 1;
        j = if a.is_empty() {
            Json::Null
        } else {
            a.remove(0)
        };
    }
    assert_eq!(depth, 32);
}

#[wasm_bindgen_test]
fn props_keep_flat_values_only() {
    let v = js_sys::JSON::parse(
        r#"{"plan":"pro","seats":3,"annual":false,"nested":{"a":1},"list":[1]}"#,
    )
    .unwrap();
    assert_eq!(
        props_from_js(&v),
        vec![
            ("plan".into(), Prop::Str("pro".into())),
            ("seats".into(), Prop::Num(3.0)),
            ("annual".into(), Prop::Bool(false))
        ]
    );
    assert!(props_from_js(&JsValue::from_str("x")).is_empty());
}

type JsFn = Closure<dyn Fn(JsValue) -> JsValue>;

/// A host whose `send` records the bodies instead of using the network, and whose `cb`
/// enters the wasm without a guard or a click pre-filter.
fn recording_host(sent: Rc<RefCell<Vec<String>>>) -> (Host, Vec<JsFn>) {
    let host = Object::new();
    let send = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |body: JsValue| {
        sent.borrow_mut().push(body.as_string().unwrap_or_default());
        JsValue::UNDEFINED
    });
    let cb = js_sys::eval("(entry, code) => (a, b, c) => entry(code, a, b, c)").unwrap();
    Reflect::set(&host, &"cb".into(), &cb).unwrap();
    // send(url, body, beacon, batch, timeoutMs, done): keep the body (second argument).
    let wrap = js_sys::eval("(rec) => function (url, body) { rec(body); }")
        .unwrap()
        .dyn_into::<Function>()
        .unwrap();
    let send_fn = wrap.call1(&JsValue::NULL, send.as_ref()).unwrap();
    Reflect::set(&host, &"send".into(), &send_fn).unwrap();
    let watch = js_sys::eval("(function () { return function () {}; })").unwrap();
    Reflect::set(&host, &"watch".into(), &watch).unwrap();
    Reflect::set(&host, &"watchConsent".into(), &watch).unwrap();
    Reflect::set(&host, &"persistence".into(), &watch).unwrap();
    Reflect::set(&host, &"goal".into(), &watch).unwrap();
    Reflect::set(&host, &"announce".into(), &watch).unwrap();
    Reflect::set(&host, &"note".into(), &watch).unwrap();
    (host.unchecked_into(), vec![send])
}

#[wasm_bindgen_test]
fn shutdown_removes_every_listener_and_sends_what_was_queued() {
    mount(r#"<button id="buy">Buy</button>"#);
    let sent = Rc::new(RefCell::new(Vec::new()));
    let (host, _keep) = recording_host(sent.clone());
    let config = js_sys::JSON::parse(
        r##"{"collector":"/collect","site":"t","goals":[{"id":"buy","on":"click","match":{"selector":"#buy"}}]}"##,
    )
    .unwrap();
    let gp = Goalpost::start(&config, host, &[1, 2, 3, 4], &JsValue::UNDEFINED).unwrap();
    assert_eq!(
        gp.listener_count(),
        8,
        "click, auxclick, visibilitychange, pagehide, freeze, online, offline, pageshow"
    );
    // another tab's stored visit is listened for only once storage is allowed
    assert!(gp.consent(&JsValue::from_str("granted")));
    assert_eq!(gp.listener_count(), 9, "and storage");
    let buy: HtmlElement = document()
        .get_element_by_id("buy")
        .unwrap()
        .dyn_into()
        .unwrap();
    buy.click();
    assert!(
        sent.borrow().is_empty(),
        "a micro conversion waits for the batch delay"
    );
    gp.shutdown();
    assert_eq!(gp.listener_count(), 0);
    // (what the granted consent stored stays out of the other tests)
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .clear()
        .unwrap();
    let bodies = sent.borrow().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = js_sys::JSON::parse(&bodies[0]).unwrap();
    let events: Array = Reflect::get(&body, &"events".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(events.length(), 2);
    let goal = Reflect::get(&events.get(1), &"goal".into()).unwrap();
    assert_eq!(goal.as_string().as_deref(), Some("buy"));
    // after shutdown, clicks do nothing
    buy.click();
    assert_eq!(sent.borrow().len(), 1);
}

#[wasm_bindgen_test]
fn a_config_that_cannot_be_used_is_an_error_with_its_path() {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let (host, _keep) = recording_host(sent);
    let config = js_sys::JSON::parse(r#"{"collector":"/c","site":"s","goals":{}}"#).unwrap();
    let err = Goalpost::start(&config, host, &[1], &JsValue::UNDEFINED)
        .err()
        .unwrap();
    assert_eq!(
        err.as_string().unwrap(),
        "goalpost: invalid config, tracking is off. goals: expected an array, found an object"
    );
}

/// The goals in the bodies a recording host was given.
fn sent_goals(sent: &Rc<RefCell<Vec<String>>>) -> Vec<String> {
    let mut goals = Vec::new();
    for body in sent.borrow().iter() {
        let body = js_sys::JSON::parse(body).unwrap();
        let events: Array = Reflect::get(&body, &"events".into())
            .unwrap()
            .dyn_into()
            .unwrap();
        for e in events.iter() {
            if let Some(g) = Reflect::get(&e, &"goal".into()).unwrap().as_string() {
                goals.push(g);
            }
        }
    }
    goals
}

#[wasm_bindgen_test]
fn links_are_classified_in_the_browser_including_shadow_dom_and_middle_clicks() {
    let root = mount(
        r##"<a id="out" href="https://partner.example/x">o</a><a id="tel" href="tel:+321">t</a>
        <a id="mail" href="mailto:a@shop.example">m</a><a id="wa" href="https://wa.me/321">w</a>
        <a id="pdf" href="/files/list.pdf">p</a><a id="own" href="/about">a</a><div id="host"></div>"##,
    );
    // links must not navigate the test page: the page (not goalpost) prevents it
    let stop = js_sys::eval("(e) => e.preventDefault()")
        .unwrap()
        .dyn_into::<Function>()
        .unwrap();
    document()
        .add_event_listener_with_callback("click", &stop)
        .unwrap();
    let host_el = document().get_element_by_id("host").unwrap();
    let shadow = js_sys::eval(
        "(h) => { const r = h.attachShadow({ mode: 'open' }); r.innerHTML = '<a id=\"inner\" href=\"https://elsewhere.example/\"><span>in shadow</span></a>'; return r.querySelector('span'); }",
    )
    .unwrap()
    .dyn_into::<Function>()
    .unwrap()
    .call1(&JsValue::NULL, &host_el)
    .unwrap();

    let sent = Rc::new(RefCell::new(Vec::new()));
    let (host, _keep) = recording_host(sent.clone());
    let config = js_sys::JSON::parse(
        r##"{"collector":"/c","site":"t","goals":[
        {"id":"outbound","on":"link","once":"every","match":{"type":"outbound"}},
        {"id":"tel","on":"link","match":{"type":"tel"}},
        {"id":"mailto","on":"link","match":{"type":"mailto"}},
        {"id":"messenger","on":"link","match":{"type":"messenger"}},
        {"id":"download","on":"download"},
        {"id":"shadow","on":"click","match":{"selector":"#host"}}]}"##,
    )
    .unwrap();
    let gp = Goalpost::start(&config, host, &[9], &JsValue::UNDEFINED).unwrap();
    for id in ["out", "tel", "mail", "wa", "pdf", "own"] {
        let a: HtmlElement = document()
            .get_element_by_id(id)
            .unwrap()
            .dyn_into()
            .unwrap();
        a.click();
    }
    // a click inside the shadow root: the link inside counts, and so does the host's selector
    shadow.dyn_ref::<HtmlElement>().unwrap().click();
    // a middle click on the outbound link (auxclick, button 1)
    let middle = js_sys::eval("new MouseEvent('auxclick', { button: 1, bubbles: true, cancelable: true, composed: true })").unwrap();
    let out = document().get_element_by_id("out").unwrap();
    out.dispatch_event(middle.unchecked_ref()).unwrap();
    gp.shutdown();
    document()
        .remove_event_listener_with_callback("click", &stop)
        .unwrap();
    let goals = sent_goals(&sent);
    assert_eq!(
        goals,
        [
            "outbound",
            "tel",
            "mailto",
            "messenger",
            "download",
            "outbound",
            "shadow",
            "outbound"
        ]
    );
    root.remove();
}

#[wasm_bindgen_test]
fn consent_mode_ad_signals_replace_ads_and_all_given_must_be_granted() {
    let ads = |js: &str| update_from_js(&js_sys::JSON::parse(js).unwrap()).map(|u| u.ads);
    assert_eq!(ads(r#"{"ad_storage": "granted"}"#), Some(Some(true)));
    assert_eq!(
        ads(r#"{"ad_storage": "granted", "ad_user_data": "denied"}"#),
        Some(Some(false))
    );
    assert_eq!(
        ads(r#"{"ad_user_data": "denied", "ad_personalization": "granted"}"#),
        Some(Some(false))
    );
    assert_eq!(
        ads(r#"{"ads": false, "ad_storage": "granted"}"#),
        Some(Some(true)),
        "the Consent Mode keys win over ads"
    );
    assert_eq!(
        ads(r#"{"ads": true, "ad_personalization": "denied"}"#),
        Some(Some(false))
    );
    assert_eq!(ads(r#"{"ads": "granted"}"#), Some(Some(true)));
    assert_eq!(
        ads(r#"{"analytics": "granted"}"#),
        Some(None),
        "no ad signal"
    );
    assert_eq!(ads(r#"{"unrelated": 1}"#), None, "nothing understood");
    // an object without Object.prototype (or from another frame) is still an object
    let bare = Function::new_no_args("const o = Object.create(null); o.ads = 'granted'; return o;")
        .call0(&JsValue::NULL)
        .unwrap();
    assert_eq!(update_from_js(&bare).map(|u| u.ads), Some(Some(true)));
}

/// Counts what the page has live: event listeners, pending timers, connected observers. Installed
/// once per page; returns a function giving `[listeners, timers, observers]`.
fn live_resources() -> Function {
    js_sys::eval(
        r#"(() => {
  if (window.__live) return window.__live;
  const listeners = new Set(), timers = new Set(), observers = new Set();
  const key = (t, type, fn, opt) => [t, type, fn, typeof opt === 'object' ? !!opt.capture : !!opt];
  const same = (a, b) => a.every((x, i) => x === b[i]);
  const add = EventTarget.prototype.addEventListener, remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, fn, opt) {
    const k = key(this, type, fn, opt);
    if (![...listeners].some((l) => same(l, k))) listeners.add(k);
    return add.call(this, type, fn, opt);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, opt) {
    const k = key(this, type, fn, opt);
    for (const l of listeners) if (same(l, k)) listeners.delete(l);
    return remove.call(this, type, fn, opt);
  };
  const st = window.setTimeout, ct = window.clearTimeout;
  window.setTimeout = function (fn, ms, ...a) {
    const id = st.call(window, (...b) => { timers.delete(id); if (typeof fn === 'function') fn(...b); }, ms, ...a);
    timers.add(id);
    return id;
  };
  window.clearTimeout = function (id) { timers.delete(id); return ct.call(window, id); };
  for (const name of ['IntersectionObserver', 'MutationObserver']) {
    const Base = window[name];
    window[name] = class extends Base {
      observe(...a) { observers.add(this); return super.observe(...a); }
      disconnect() { observers.delete(this); return super.disconnect(); }
    };
  }
  window.__live = () => [listeners.size, timers.size, observers.size];
  return window.__live;
})()"#,
    )
    .unwrap()
    .dyn_into()
    .unwrap()
}

fn counts(live: &Function) -> Vec<u32> {
    Array::from(&live.call0(&JsValue::NULL).unwrap())
        .iter()
        .map(|v| v.as_f64().unwrap() as u32)
        .collect()
}

#[wasm_bindgen_test]
fn dropping_goalpost_leaves_no_listener_timer_or_observer() {
    let live = live_resources();
    mount(r#"<button id="buy2">Buy</button><div id="seen">seen</div>"#);
    let before = counts(&live);
    let sent = Rc::new(RefCell::new(Vec::new()));
    let (host, _keep) = recording_host(sent.clone());
    let config = js_sys::JSON::parse(
        r##"{"collector":"/collect","site":"t","goals":[
          {"id":"buy","on":"click","match":{"selector":"#buy2"}},
          {"id":"seen","on":"visible","match":{"selector":"#seen","ms":5000}},
          {"id":"dom","on":"visible","match":{"selector":".later","ms":0}}
        ]}"##,
    )
    .unwrap();
    let gp = Goalpost::start(&config, host, &[5, 6, 7, 8], &JsValue::UNDEFINED).unwrap();
    let during = counts(&live);
    assert!(
        during[0] > before[0],
        "listeners installed: {during:?} {before:?}"
    );
    assert!(
        during[1] > before[1],
        "the batch timer is pending: {during:?}"
    );
    assert!(during[2] > before[2], "observers connected: {during:?}");
    drop(gp);
    assert_eq!(
        counts(&live),
        before,
        "[listeners, timers, observers] as before the start"
    );
    let buy: HtmlElement = document()
        .get_element_by_id("buy2")
        .unwrap()
        .dyn_into()
        .unwrap();
    buy.click();
    assert!(
        sent.borrow().is_empty(),
        "nothing is sent on drop, nor after"
    );
}
