//! Funnels on a fake clock: order, strictness, time window, page views within a session.
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, Driver};
use goalpost_core::{Element, Interaction};
use serde_json::{json, Value};

fn checkout(extra: Value) -> Driver {
    let mut funnel = json!({"id": "checkout", "on": "funnel", "kind": "macro", "steps": [
        "cart",
        {"on": "pageview", "match": {"path": "/checkout"}},
        "paid"
    ]});
    for (k, v) in extra.as_object().unwrap() {
        funnel[k] = v.clone();
    }
    let goals = json!([
        {"id": "cart", "on": "custom", "match": {"event": "add_to_cart"}},
        funnel,
        {"id": "paid", "on": "custom", "match": {"event": "purchase"}},
        {"id": "newsletter", "on": "click", "match": {"selector": "#nl"}}
    ]);
    Driver::new(config(goals, json!({})))
}

fn ev(name: &str) -> Interaction {
    Interaction::Custom {
        name: name.into(),
        props: vec![],
    }
}

fn steps(d: &mut Driver) -> Vec<(String, u64, u64)> {
    d.sent_events()
        .iter()
        .filter(|e| e["type"] == "funnel_step")
        .map(|e| {
            (
                e["goal"].as_str().unwrap().to_string(),
                e["step"].as_u64().unwrap(),
                e["steps"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn steps_in_order_across_page_views_convert_on_the_last_and_report_each_step() {
    let mut d = checkout(json!({}));
    d.page("https://shop.test/p/1").act(ev("add_to_cart"));
    d.at(5_000).page("https://shop.test/checkout");
    assert!(!d.converted.contains(&"checkout".into()));
    d.at(5_000).act(ev("purchase"));
    assert_eq!(d.converted.iter().filter(|c| *c == "checkout").count(), 1);
    assert_eq!(
        steps(&mut d),
        [
            ("checkout".into(), 0, 3),
            ("checkout".into(), 1, 3),
            ("checkout".into(), 2, 3)
        ]
    );
    let conv = d
        .sent_events()
        .into_iter()
        .find(|e| e["type"] == "conversion" && e["goal"] == "checkout")
        .unwrap();
    assert_eq!(conv["kind"], "macro");
}

#[test]
fn out_of_order_steps_do_not_convert() {
    let mut d = checkout(json!({}));
    d.page("https://shop.test/checkout")
        .act(ev("purchase"))
        .act(ev("add_to_cart"));
    assert!(!d.converted.contains(&"checkout".into()));
    assert_eq!(
        steps(&mut d),
        [("checkout".into(), 0, 3)],
        "only the cart step was reached"
    );
}

#[test]
fn a_non_strict_funnel_tolerates_other_steps_in_between() {
    let mut d = checkout(json!({}));
    d.page("https://shop.test/")
        .act(ev("add_to_cart"))
        .act(ev("purchase")); // purchase before checkout: ignored
    d.page("https://shop.test/checkout").act(ev("purchase"));
    assert!(d.converted.contains(&"checkout".into()));
}

#[test]
fn a_strict_funnel_restarts_when_another_step_comes_between() {
    let mut d = checkout(json!({"strict": true}));
    d.page("https://shop.test/")
        .act(ev("add_to_cart"))
        .act(ev("purchase"));
    d.page("https://shop.test/checkout").act(ev("purchase"));
    assert!(
        !d.converted.contains(&"checkout".into()),
        "purchase came between cart and checkout"
    );
    d.page("https://shop.test/").act(ev("add_to_cart"));
    d.page("https://shop.test/checkout").act(ev("purchase"));
    assert!(d.converted.contains(&"checkout".into()));
}

#[test]
fn non_steps_do_not_break_a_strict_funnel() {
    let mut d = checkout(json!({"strict": true}));
    d.page("https://shop.test/").act(ev("add_to_cart"));
    d.act(Interaction::Click(Element {
        hits: vec![0],
        ..Element::default()
    })); // newsletter
    d.page("https://shop.test/checkout").act(ev("purchase"));
    assert!(d.converted.contains(&"checkout".into()));
}

#[test]
fn the_time_window_counts_from_the_first_step() {
    let mut d = checkout(json!({"windowMs": 600_000}));
    d.page("https://shop.test/").act(ev("add_to_cart"));
    d.at(300_000).page("https://shop.test/checkout");
    d.at(300_001).act(ev("purchase")); // 600,001 ms after the first step
    assert!(!d.converted.contains(&"checkout".into()));
    // inside the window it converts
    d.at(1000).page("https://shop.test/").act(ev("add_to_cart"));
    d.at(1000).page("https://shop.test/checkout");
    d.at(1000).act(ev("purchase"));
    assert!(d.converted.contains(&"checkout".into()));
}

#[test]
fn a_new_session_starts_the_funnel_over() {
    let mut d = checkout(json!({}));
    d.page("https://shop.test/").act(ev("add_to_cart"));
    d.at(31 * 60 * 1000)
        .page("https://shop.test/checkout")
        .act(ev("purchase"));
    assert!(!d.converted.contains(&"checkout".into()));
}

#[test]
fn a_funnel_converts_once_per_session_by_default() {
    let mut d = checkout(json!({}));
    for _ in 0..2 {
        d.page("https://shop.test/").act(ev("add_to_cart"));
        d.page("https://shop.test/checkout").act(ev("purchase"));
    }
    assert_eq!(d.converted.iter().filter(|c| *c == "checkout").count(), 1);
}
