//! What a conversion says it followed: the link's target, scrubbed like every URL goalpost
//! sends, its class, a messenger's network, a download's extension; nothing with
//! `"details": false`, and nothing for goals that follow no link.
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, Driver};
use goalpost_core::{Element, Input, Interaction};
use serde_json::{json, Value};

fn click(href: &str) -> Interaction {
    Interaction::Click(Element {
        tag: "a".into(),
        href: href.into(),
        ..Element::default()
    })
}

/// The `detail` of each conversion sent after `hrefs` are clicked on a page of shop.test.
fn details(goals: Value, hrefs: &[&str]) -> Vec<(String, Value)> {
    details_of(goals, hrefs.iter().map(|h| click(h)).collect())
}

#[test]
fn two_outbound_links_are_told_apart_by_their_scrubbed_targets() {
    let got = details(
        json!([{"id": "out", "on": "link", "match": {"type": "outbound"}, "once": "every"}]),
        &[
            "https://github.com/acme/shop?utm_source=site&token=secret#readme",
            "https://www.linkedin.com/company/acme?ref=jane@example.com",
        ],
    );
    assert_eq!(
        got,
        [
            (
                "out".into(),
                json!({"href": "https://github.com/acme/shop?utm_source=site", "link": "outbound"})
            ),
            (
                "out".into(),
                json!({"href": "https://www.linkedin.com/company/acme", "link": "outbound"})
            ),
        ]
    );
}

#[test]
fn downloads_carry_their_extension_and_phone_and_mail_links_are_redacted() {
    let got = details(
        json!([
            {"id": "file", "on": "download", "match": {"addExtensions": ["iso"]}, "once": "every"},
            {"id": "call", "on": "link", "match": {"type": "tel"}},
            {"id": "mail", "on": "link", "match": {"type": "mailto"}},
            {"id": "chat", "on": "link", "match": {"type": "messenger"}, "once": "every"}
        ]),
        &[
            "https://shop.test/files/price-list.PDF",
            "https://cdn.example/setup.iso?v=2",
            "tel:+49 30 1234 5678",
            "mailto:sales@shop.test?subject=Hi",
            "https://wa.me/4930123456",
            "tg://resolve?domain=acme",
        ],
    );
    assert_eq!(
        got,
        [
            (
                "file".into(),
                json!({"href": "https://shop.test/files/price-list.PDF", "link": "download", "ext": "pdf"})
            ),
            (
                "file".into(),
                json!({"href": "https://cdn.example/setup.iso", "link": "download", "ext": "iso"})
            ),
            ("call".into(), json!({"href": "tel:[phone]", "link": "tel"})),
            (
                "mail".into(),
                json!({"href": "mailto:[email]", "link": "mailto"})
            ),
            (
                "chat".into(),
                json!({"href": "https://wa.me/4930123456", "link": "messenger", "network": "whatsapp"})
            ),
            (
                "chat".into(),
                json!({"href": "tg://resolve", "link": "messenger", "network": "telegram"})
            ),
        ]
    );
}

#[test]
fn a_goal_can_turn_details_off_and_other_goals_have_none() {
    let got = details(
        json!([
            {"id": "quiet", "on": "link", "match": {"type": "outbound"}, "details": false},
            {"id": "button", "on": "click", "match": {"selector": "a"}}
        ]),
        &["https://github.com/acme"],
    );
    assert_eq!(got, [("quiet".into(), Value::Null)]);
}

/// The `detail` of each conversion after `inputs`.
fn details_of(goals: Value, inputs: Vec<Interaction>) -> Vec<(String, Value)> {
    let mut d = Driver::new(config(goals, json!({"consent": {"mode": "implied"}})));
    d.page("https://shop.test/pricing");
    for i in inputs {
        d.act(i);
    }
    d.feed(Input::Flush);
    d.sent_events()
        .into_iter()
        .filter(|e| e["type"] == "conversion")
        .map(|e| (e["goal"].as_str().unwrap().to_string(), e["detail"].clone()))
        .collect()
}

#[test]
fn thresholds_forms_elements_and_media_sources_are_said_too() {
    use goalpost_core::{Form, Media, MediaEvent};
    let got = details_of(
        json!([
            {"id": "read_75", "on": "scroll", "match": {"percent": 75}},
            {"id": "deep_px", "on": "scroll", "match": {"pixels": {"gte": 3000}}},
            {"id": "watched_half", "on": "media", "match": {"percent": 50}},
            {"id": "engaged_30", "on": "engaged", "match": {"seconds": 30}},
            {"id": "signup", "on": "submit"},
            {"id": "cta", "on": "click", "match": {"selector": ".cta"}}
        ]),
        vec![
            Interaction::Scroll {
                percent: 80.0,
                pixels: 3200.0,
            },
            Interaction::Media(Media {
                src: "https://cdn.test/demo.mp4?token=abc&utm_campaign=launch#t=3".into(),
                event: MediaEvent::Progress,
                percent: 52.0,
                seconds: 30.0,
                hits: vec![],
            }),
            Interaction::Engaged { seconds: 31.0 },
            Interaction::Submit(Form {
                id: "newsletter".into(),
                name: "signup-jane@example.org".into(),
                ..Form::default()
            }),
            Interaction::Click(Element {
                hits: vec![0],
                tag: "button".into(),
                id: "buy-now".into(),
                text: "Buy now".into(),
                ..Element::default()
            }),
        ],
    );
    assert_eq!(
        got,
        [
            (
                "read_75".into(),
                json!({"threshold": 75, "unit": "percent"})
            ),
            (
                "deep_px".into(),
                json!({"threshold": 3000, "unit": "pixels"})
            ),
            (
                "watched_half".into(),
                json!({"src": "https://cdn.test/demo.mp4?utm_campaign=launch", "threshold": 50, "unit": "percent"})
            ),
            (
                "engaged_30".into(),
                json!({"threshold": 30, "unit": "seconds"})
            ),
            (
                "signup".into(),
                json!({"form_id": "newsletter", "form_name": "[email]"})
            ),
            ("cta".into(), json!({"element": "buy-now"})),
        ],
        "never the element's text, never a field's value"
    );
}
