//! Every trigger, operator and dedupe mode, one line each: a goal, a page, an interaction,
//! and whether it converts.
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, Driver};
use goalpost_core::{Element, Form, Interaction, Media, MediaEvent, Prop};
use serde_json::json;

const PAGE: &str = "https://shop.test/blog/post-1?utm_source=news&n=42&Q=Mixed#top";

fn link(href: &str) -> Interaction {
    Interaction::Click(Element {
        tag: "a".into(),
        href: href.into(),
        ..Element::default()
    })
}
fn click(hits: &[u32]) -> Interaction {
    Interaction::Click(Element {
        hits: hits.to_vec(),
        tag: "button".into(),
        ..Element::default()
    })
}
fn el(f: impl FnOnce(&mut Element)) -> Interaction {
    let mut e = Element {
        tag: "button".into(),
        ..Element::default()
    };
    f(&mut e);
    Interaction::Click(e)
}
fn form(hits: &[u32], id: &str, name: &str, action: &str) -> Interaction {
    Interaction::Submit(Form {
        hits: hits.to_vec(),
        id: id.into(),
        name: name.into(),
        action: action.into(),
        attrs: vec![],
    })
}
fn media(event: MediaEvent, percent: f64, seconds: f64) -> Interaction {
    Interaction::Media(Media {
        hits: vec![0],
        src: "https://cdn.test/demo.mp4".into(),
        event,
        percent,
        seconds,
    })
}
fn custom(name: &str, props: &[(&str, Prop)]) -> Interaction {
    Interaction::Custom {
        name: name.into(),
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

/// Whether goal `g` (given as `on` + the rest) converts on PAGE after `interaction`
/// (`None`: the page view itself).
fn fires(goal: serde_json::Value, interaction: Option<Interaction>) -> bool {
    fires_with(goal, json!({}), interaction)
}

fn fires_with(
    mut goal: serde_json::Value,
    extra: serde_json::Value,
    interaction: Option<Interaction>,
) -> bool {
    goal["id"] = json!("g");
    let mut d = Driver::new(config(json!([goal]), extra));
    d.page_full(PAGE, "Post One", "https://search.test/?q=x");
    if let Some(i) = interaction {
        d.act(i);
    }
    d.converted.contains(&"g".to_string())
}

macro_rules! cases {
    ($($name:ident: $goal:tt, $i:expr => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(fires(json!($goal), $i), $want);
        }
    )*};
}

cases! {
    // click
    click_on_selector: {"on": "click", "match": {"selector": "#a"}}, Some(click(&[0])) => true;
    click_elsewhere: {"on": "click", "match": {"selector": "#a"}}, Some(click(&[])) => false;
    click_text_contains: {"on": "click", "match": {"text": {"contains": "Buy"}}}, Some(el(|e| e.text = "Buy now".into())) => true;
    click_text_not_contains: {"on": "click", "match": {"text": {"contains": "Buy"}}}, Some(el(|e| e.text = "Read".into())) => false;
    click_text_case_insensitive: {"on": "click", "match": {"text": {"equals": "BUY NOW", "caseInsensitive": true}}}, Some(el(|e| e.text = "Buy now".into())) => true;
    click_id: {"on": "click", "match": {"id": "cta"}}, Some(el(|e| e.id = "cta".into())) => true;
    click_classes: {"on": "click", "match": {"classes": {"contains": "primary"}}}, Some(el(|e| e.classes = "btn primary".into())) => true;
    click_tag: {"on": "click", "match": {"tag": "a"}}, Some(el(|e| e.tag = "button".into())) => false;
    click_attr: {"on": "click", "match": {"selector": ".plan", "attr": {"data-plan": "pro"}}}, Some(Interaction::Click(Element { hits: vec![0], attrs: vec![("data-plan".into(), "pro".into())], ..Element::default() })) => true;
    click_attr_missing: {"on": "click", "match": {"selector": ".plan", "attr": {"data-plan": "pro"}}}, Some(click(&[0])) => false;
    click_and_page: {"on": "click", "match": {"selector": "#a", "path": {"startsWith": "/shop"}}}, Some(click(&[0])) => false;
    click_not_a_pageview: {"on": "click", "match": {"selector": "#a"}}, None => false;

    // link
    link_outbound: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://other.test/x")) => true;
    link_internal: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://shop.test/x")) => false;
    link_www_is_own: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://www.shop.test/x")) => false;
    link_subdomain_is_outbound: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://blog.shop.test/")) => true;
    link_tel: {"on": "link", "match": {"type": "tel"}}, Some(link("tel:+3212345")) => true;
    link_mailto: {"on": "link", "match": {"type": "mailto"}}, Some(link("mailto:hi@shop.test")) => true;
    link_mailto_not_tel: {"on": "link", "match": {"type": "tel"}}, Some(link("mailto:hi@shop.test")) => false;
    link_whatsapp: {"on": "link", "match": {"type": "messenger"}}, Some(link("https://wa.me/3212345")) => true;
    link_messenger_is_not_outbound: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://wa.me/3212345")) => false;
    link_outbound_download: {"on": "link", "match": {"type": "outbound"}}, Some(link("https://cdn.other.test/a.pdf")) => true;
    link_whatsapp_api: {"on": "link", "match": {"type": "messenger"}}, Some(link("https://api.whatsapp.com/send?phone=1")) => true;
    link_telegram: {"on": "link", "match": {"type": "messenger"}}, Some(link("https://t.me/shop")) => true;
    link_viber: {"on": "link", "match": {"type": "messenger"}}, Some(link("viber://chat?number=1")) => true;
    link_not_messenger: {"on": "link", "match": {"type": "messenger"}}, Some(link("https://tme.test/")) => false;
    link_any_kind: {"on": "link", "match": {"type": ["tel", "mailto"]}}, Some(link("tel:1")) => true;
    link_download_kind: {"on": "link", "match": {"type": "download"}}, Some(link("https://shop.test/a.zip")) => true;
    link_href_condition: {"on": "link", "match": {"href": {"contains": "partner"}}}, Some(link("https://partner.test/")) => true;
    link_not_on_button: {"on": "link", "match": {"type": "outbound"}}, Some(click(&[])) => false;

    // download
    download_pdf: {"on": "download"}, Some(link("https://shop.test/files/prices.pdf")) => true;
    download_upper_with_query: {"on": "download"}, Some(link("https://shop.test/f/Prices.PDF?v=2#p1")) => true;
    download_query_ext_ignored: {"on": "download"}, Some(link("https://shop.test/get?file=a.pdf")) => false;
    download_html: {"on": "download"}, Some(link("https://shop.test/about.html")) => false;
    download_attribute: {"on": "download"}, Some(Interaction::Click(Element { href: "https://shop.test/export".into(), download: true, ..Element::default() })) => true;
    download_replace_list: {"on": "download", "match": {"extensions": ["pdf"]}}, Some(link("https://shop.test/a.zip")) => false;
    download_add_list: {"on": "download", "match": {"addExtensions": ["dmg"]}}, Some(link("https://shop.test/App.dmg")) => true;
    download_by_selector: {"on": "download", "match": {"selector": ".pricelist"}}, Some(Interaction::Click(Element { hits: vec![0], href: "https://shop.test/p.pdf".into(), ..Element::default() })) => true;

    // submit
    submit_selector: {"on": "submit", "match": {"selector": "#newsletter"}}, Some(form(&[0], "newsletter", "", "")) => true;
    submit_other_form: {"on": "submit", "match": {"selector": "#newsletter"}}, Some(form(&[], "search", "", "")) => false;
    submit_id: {"on": "submit", "match": {"id": "contact"}}, Some(form(&[], "contact", "", "")) => true;
    submit_name: {"on": "submit", "match": {"name": {"in": ["lead", "booking"]}}}, Some(form(&[], "", "booking", "")) => true;
    submit_action: {"on": "submit", "match": {"action": {"endsWith": "/subscribe"}}}, Some(form(&[], "", "", "https://shop.test/subscribe")) => true;

    // media
    media_start: {"on": "media", "match": {"event": "start"}}, Some(media(MediaEvent::Start, 0.0, 0.0)) => true;
    media_progress_reached: {"on": "media", "match": {"event": "progress", "percent": 75}}, Some(media(MediaEvent::Progress, 80.0, 8.0)) => true;
    media_progress_not_yet: {"on": "media", "match": {"event": "progress", "percent": 75}}, Some(media(MediaEvent::Progress, 50.0, 5.0)) => false;
    media_seconds: {"on": "media", "match": {"seconds": {"gte": 30}}}, Some(media(MediaEvent::Progress, 10.0, 31.0)) => true;
    media_complete: {"on": "media", "match": {"event": "complete"}}, Some(media(MediaEvent::Complete, 100.0, 60.0)) => true;
    media_start_is_not_complete: {"on": "media", "match": {"event": "complete"}}, Some(media(MediaEvent::Start, 0.0, 0.0)) => false;
    media_src: {"on": "media", "match": {"src": {"endsWith": ".mp4"}}}, Some(media(MediaEvent::Start, 0.0, 0.0)) => true;
    media_selector: {"on": "media", "match": {"selector": "#demo", "event": "start"}}, Some(media(MediaEvent::Start, 0.0, 0.0)) => true;

    // scroll
    scroll_reached: {"on": "scroll", "match": {"percent": 75}}, Some(Interaction::Scroll { percent: 80.0, pixels: 4000.0 }) => true;
    scroll_not_reached: {"on": "scroll", "match": {"percent": 75}}, Some(Interaction::Scroll { percent: 60.0, pixels: 3000.0 }) => false;
    scroll_pixels: {"on": "scroll", "match": {"pixels": 2000}}, Some(Interaction::Scroll { percent: 10.0, pixels: 2500.0 }) => true;
    scroll_on_blog_only: {"on": "scroll", "match": {"percent": 75, "path": {"startsWith": "/shop"}}}, Some(Interaction::Scroll { percent: 90.0, pixels: 1.0 }) => false;

    // pageview and every operator (on page fields)
    pv_equals: {"on": "pageview", "match": {"path": "/blog/post-1"}}, None => true;
    pv_equals_number: {"on": "pageview", "match": {"query": {"n": 42}}}, None => true;
    pv_contains: {"on": "pageview", "match": {"url": {"contains": "post-1"}}}, None => true;
    pv_starts: {"on": "pageview", "match": {"path": {"startsWith": "/blog/"}}}, None => true;
    pv_ends: {"on": "pageview", "match": {"path": {"endsWith": "-1"}}}, None => true;
    pv_ends_miss: {"on": "pageview", "match": {"path": {"endsWith": "-2"}}}, None => false;
    pv_matches: {"on": "pageview", "match": {"path": {"matches": "^/blog/post-\\d+$"}}}, None => true;
    pv_matches_miss: {"on": "pageview", "match": {"path": {"matches": "^/shop"}}}, None => false;
    pv_matches_ci: {"on": "pageview", "match": {"query": {"Q": {"matches": "^mixed$", "caseInsensitive": true}}}}, None => true;
    pv_in: {"on": "pageview", "match": {"hostname": ["shop.test", "www.shop.test"]}}, None => true;
    pv_exists: {"on": "pageview", "match": {"query": {"utm_source": true}}}, None => true;
    pv_not_exists: {"on": "pageview", "match": {"query": {"gclid": {"exists": false}}}}, None => true;
    pv_gt: {"on": "pageview", "match": {"query": {"n": {"gt": 41}}}}, None => true;
    pv_gte: {"on": "pageview", "match": {"query": {"n": {"gte": 42}}}}, None => true;
    pv_lt: {"on": "pageview", "match": {"query": {"n": {"lt": 42}}}}, None => false;
    pv_lte: {"on": "pageview", "match": {"query": {"n": {"lte": 42}}}}, None => true;
    pv_range: {"on": "pageview", "match": {"query": {"n": {"gte": 40, "lt": 50}}}}, None => true;
    pv_not: {"on": "pageview", "match": {"path": {"startsWith": "/blog", "not": true}}}, None => false;
    pv_not_missing_passes: {"on": "pageview", "match": {"query": {"gclid": {"equals": "x", "not": true}}}}, None => true;
    pv_case_sensitive_by_default: {"on": "pageview", "match": {"query": {"Q": "mixed"}}}, None => false;
    pv_case_insensitive: {"on": "pageview", "match": {"query": {"Q": {"equals": "MIXED", "caseInsensitive": true}}}}, None => true;
    pv_hash: {"on": "pageview", "match": {"hash": "top"}}, None => true;
    pv_title: {"on": "pageview", "match": {"title": {"contains": "One"}}}, None => true;
    pv_referrer: {"on": "pageview", "match": {"referrer": {"startsWith": "https://search.test"}}}, None => true;
    pv_any_one_group: {"on": "pageview", "match": {"any": [{"path": "/x"}, {"hostname": "shop.test"}]}}, None => true;
    pv_any_none: {"on": "pageview", "match": {"any": [{"path": "/x"}, {"hostname": "x.test"}]}}, None => false;
    pv_and_with_any: {"on": "pageview", "match": {"path": "/nope", "any": [{"hostname": "shop.test"}]}}, None => false;
    pv_first_page_in_session: {"on": "pageview", "match": {"pagesInSession": 1}}, None => true;

    // visible, engaged
    visible_watch: {"on": "visible", "match": {"selector": "#pricing"}}, Some(Interaction::Visible { watch: 0 }) => true;
    visible_other_watch: {"on": "visible", "match": {"selector": "#pricing"}}, Some(Interaction::Visible { watch: 1 }) => false;
    engaged_enough: {"on": "engaged", "match": {"seconds": 30}}, Some(Interaction::Engaged { seconds: 31.0 }) => true;
    engaged_not_enough: {"on": "engaged", "match": {"seconds": 30}}, Some(Interaction::Engaged { seconds: 10.0 }) => false;

    // custom
    custom_by_id: {"on": "custom"}, Some(custom("g", &[])) => true;
    custom_by_event: {"on": "custom", "match": {"event": "purchase"}}, Some(custom("purchase", &[])) => true;
    custom_other_event: {"on": "custom", "match": {"event": "purchase"}}, Some(custom("refund", &[])) => false;
    custom_prop_gte: {"on": "custom", "match": {"event": "purchase", "props": {"total": {"gte": 100}}}}, Some(custom("purchase", &[("total", Prop::Num(120.0))])) => true;
    custom_prop_low: {"on": "custom", "match": {"event": "purchase", "props": {"total": {"gte": 100}}}}, Some(custom("purchase", &[("total", Prop::Num(20.0))])) => false;
    custom_prop_bool: {"on": "custom", "match": {"props": {"annual": "true"}}}, Some(custom("g", &[("annual", Prop::Bool(true))])) => true;
}

#[test]
fn own_hosts_from_the_config_are_not_outbound() {
    let goal = json!({"on": "link", "match": {"type": "outbound"}});
    assert!(fires_with(
        goal.clone(),
        json!({}),
        Some(link("https://checkout.payments.test/pay"))
    ));
    assert!(!fires_with(
        goal,
        json!({"hosts": ["checkout.payments.test"]}),
        Some(link("https://checkout.payments.test/pay"))
    ));
}

#[test]
fn extra_messengers_from_the_config() {
    let goal = json!({"on": "link", "match": {"type": "messenger"}});
    assert!(!fires_with(
        goal.clone(),
        json!({}),
        Some(link("threema://compose?id=X"))
    ));
    assert!(fires_with(
        goal,
        json!({"messengers": ["threema:"]}),
        Some(link("threema://compose?id=X"))
    ));
}

#[test]
fn dedupe_modes() {
    let goals = json!([
        {"id": "every", "on": "click", "once": "every", "match": {"selector": "#a"}},
        {"id": "page", "on": "click", "match": {"selector": "#a"}},
        {"id": "session", "on": "click", "once": "session", "match": {"selector": "#a"}},
        {"id": "visitor", "on": "click", "once": "visitor", "match": {"selector": "#a"}}
    ]);
    let mut d = Driver::new(config(goals, json!({})));
    d.page("https://shop.test/1")
        .act(click(&[0]))
        .at(10)
        .act(click(&[0]));
    d.at(10).page("https://shop.test/2").act(click(&[0]));
    let count = |d: &Driver, g: &str| d.converted.iter().filter(|c| *c == g).count();
    assert_eq!(count(&d, "every"), 3);
    assert_eq!(count(&d, "page"), 2, "once per page view");
    assert_eq!(count(&d, "session"), 1);
    assert_eq!(count(&d, "visitor"), 1);
    // 31 minutes idle: a new session; visitor stays converted
    d.at(31 * 60 * 1000)
        .page("https://shop.test/3")
        .act(click(&[0]));
    assert_eq!(count(&d, "session"), 2);
    assert_eq!(count(&d, "visitor"), 1);
    assert_eq!(count(&d, "page"), 3);
}

#[test]
fn page_depth_goal_counts_page_views_in_the_session() {
    let mut d = Driver::new(config(
        json!([{"id": "deep", "on": "pageview", "match": {"pagesInSession": {"gte": 3}}}]),
        json!({}),
    ));
    d.page("https://shop.test/a")
        .at(1000)
        .page("https://shop.test/b");
    assert!(d.converted.is_empty());
    d.at(1000).page("https://shop.test/c");
    assert_eq!(d.converted, ["deep"]);
    d.at(1000).page("https://shop.test/d");
    assert_eq!(
        d.converted,
        ["deep"],
        "page-view goals convert once per session by default"
    );
}

#[test]
fn values_and_currencies_fixed_from_props_and_from_attributes() {
    let goals = json!([
        {"id": "fixed", "on": "click", "kind": "macro", "value": 49.5, "currency": "EUR", "category": "shop", "match": {"selector": "#a"}},
        {"id": "purchase", "on": "custom", "kind": "macro", "value": {"prop": "total"}, "currency": {"prop": "currency"}},
        {"id": "plan", "on": "click", "value": {"attr": "data-price"}, "currency": {"attr": "data-currency"}, "match": {"selector": ".plan"}}
    ]);
    let mut d = Driver::new(config(goals, json!({})));
    d.page("https://shop.test/");
    d.act(click(&[0]));
    d.act(custom(
        "purchase",
        &[
            ("total", Prop::Num(129.99)),
            ("currency", Prop::Str("USD".into())),
        ],
    ));
    d.act(Interaction::Click(Element {
        hits: vec![1],
        attrs: vec![
            ("data-price".into(), " 19 ".into()),
            ("data-currency".into(), "gbp".into()),
        ],
        ..Element::default()
    }));
    let evs = d.sent_events();
    let conv = |g: &str| evs.iter().find(|e| e["goal"] == g).unwrap().clone();
    assert_eq!(conv("fixed")["value"], 49.5);
    assert_eq!(conv("fixed")["currency"], "EUR");
    assert_eq!(conv("fixed")["category"], "shop");
    assert_eq!(conv("purchase")["value"], 129.99);
    assert_eq!(conv("purchase")["currency"], "USD");
    assert_eq!(conv("purchase")["props"]["total"], 129.99);
    assert_eq!(
        conv("plan")["value"],
        19,
        "attribute text parsed as a number"
    );
    assert!(
        conv("plan").get("currency").is_none(),
        "an invalid currency code is left out, not sent"
    );
    assert!(conv("plan").get("category").is_none());
}

#[test]
fn the_click_prefilter_says_when_a_click_can_be_skipped() {
    let pre =
        |goals: serde_json::Value, base: bool| config(goals, json!({})).goals.click_prefilter(base);
    let sel = json!({"id": "a", "on": "click", "match": {"selector": ".buy"}});
    let text = json!({"id": "b", "on": "click", "match": {"text": "Buy"}});
    let outbound = json!({"id": "c", "on": "link", "match": {"type": "outbound"}});
    let sel_link = json!({"id": "d", "on": "link", "match": {"selector": ".partner"}});
    let phone = json!({"id": "e", "on": "link", "match": {"type": ["tel", "mailto"]}});
    let files = json!({"id": "f", "on": "download", "match": {"extensions": ["pdf", "x\"y"]}});
    assert_eq!(pre(json!([sel]), false), Some(vec![]), "only inside .buy");
    assert_eq!(
        pre(json!([sel, outbound]), false),
        Some(vec![r#"[href*="//"]"#.to_string()]),
        "or inside an absolute link (a relative one is never outbound)"
    );
    assert_eq!(
        pre(json!([outbound]), true),
        Some(vec!["[href]".to_string()]),
        "with <base href>, a relative link may point anywhere"
    );
    assert_eq!(
        pre(json!([phone]), false),
        Some(vec![
            r#"[href*="tel:" i]"#.to_string(),
            r#"[href*="mailto:" i]"#.to_string()
        ])
    );
    assert_eq!(
        pre(json!([files]), false),
        Some(vec![
            "[download]".to_string(),
            r#"[href*=".pdf" i]"#.to_string(),
            r#"[href*=".x\"y" i]"#.to_string()
        ]),
        "a download attribute or the extension; quotes escaped"
    );
    let chat = pre(
        json!([{"id": "g", "on": "link", "match": {"type": "messenger"}}]),
        false,
    )
    .unwrap_or_default();
    assert_eq!(
        chat[0], r#"[href*="//"]"#,
        "messenger hosts are absolute links"
    );
    assert!(
        chat.contains(&r#"[href*="viber:" i]"#.to_string()),
        "{chat:?}"
    );
    assert!(chat.contains(&r#"[href*="whatsapp:" i]"#.to_string()));
    assert_eq!(
        pre(json!([sel_link]), false),
        Some(vec![]),
        "a link goal with a selector: the selector"
    );
    assert_eq!(
        pre(json!([sel, text]), false),
        None,
        "a goal on text alone: every click"
    );
}
