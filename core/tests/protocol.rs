//! The tracker never writes what the collector refuses: it is fed inputs past every limit of
//! the protocol (URL, title, referrer, campaign parameters, props, names), and each batch it
//! sends is read by the collector's own validator (`goalpost_protocol::wire::parse`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, Driver};
use goalpost_core::{Input, Interaction, Output, Page, Prop};
use goalpost_protocol::{
    wire, MAX_PROPS, MAX_PROP_LEN, MAX_TITLE_LEN, MAX_TOUCH_FIELD_LEN, MAX_URL_LEN,
};
use serde_json::json;

fn long(n: usize) -> String {
    "é".repeat(n) // two bytes each: caps must cut on character boundaries
}

#[test]
fn batches_written_from_oversized_inputs_are_accepted_by_the_collectors_validator() {
    for mode in ["implied", "anonymous", "required"] {
        let mut d = Driver::new(config(
            json!([
                {"id": "purchase", "kind": "macro", "on": "custom", "value": {"prop": "total"},
                 "currency": {"prop": "currency"}, "category": "sales"},
                {"id": "checkout", "on": "funnel", "steps": ["purchase", "purchase"]}
            ]),
            json!({"consent": {"mode": mode}}),
        ));
        let campaign = long(400);
        let url = format!(
            "https://shop.test/{}?utm_source={campaign}&utm_medium=cpc&utm_campaign={campaign}&utm_term={campaign}&utm_content={campaign}&gclid=x",
            long(3_000)
        );
        d.feed(Input::PageView(Page {
            url,
            title: long(1_000),
            referrer: format!("https://ref.test/{}", long(3_000)),
        }));
        if mode == "required" {
            d.feed(Input::Consent(goalpost_core::ConsentUpdate::all(true)));
        }
        let mut props: Vec<(String, Prop)> = (0..MAX_PROPS + 10)
            .map(|i| (format!("{i}{}", long(300)), Prop::Str(long(300))))
            .collect();
        props.push(("total".into(), Prop::Num(1e300)));
        props.push(("currency".into(), Prop::Str("EURO".into())));
        for _ in 0..2 {
            d.act(Interaction::Custom {
                name: "purchase".into(),
                props: props.clone(),
            });
        }
        d.feed(Input::Flush);
        let bodies: Vec<&String> = d
            .outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send { body, .. } => Some(body),
                _ => None,
            })
            .collect();
        assert!(!bodies.is_empty(), "{mode}: something was sent");
        let mut kinds = Vec::new();
        for body in bodies {
            let batch = wire::parse(body.as_bytes())
                .unwrap_or_else(|e| panic!("{mode}: the collector refuses it: {e}"));
            for e in batch.events {
                assert!(e.url.len() <= MAX_URL_LEN);
                if let Some(t) = &e.title {
                    assert!(t.len() <= MAX_TITLE_LEN && t.len() > MAX_TITLE_LEN - 2);
                }
                if let Some(p) = &e.props {
                    assert_eq!(p.len(), MAX_PROPS, "{mode}: capped at the protocol's count");
                    assert!(p.keys().all(|k| k.len() <= MAX_PROP_LEN));
                }
                if let Some(t) = &e.first {
                    assert!(t.campaign.as_ref().unwrap().len() <= MAX_TOUCH_FIELD_LEN);
                }
                if e.kind.as_str() == "conversion" {
                    // 1e300 is past the protocol's MAX_VALUE: left out, the conversion still sent
                    assert_eq!((e.value, e.currency.as_deref()), (None, None), "{mode}");
                }
                kinds.push(e.kind.as_str());
            }
        }
        assert!(kinds.contains(&"page_view") && kinds.contains(&"conversion"));
        assert!(kinds.contains(&"funnel_step"), "{mode}: {kinds:?}");
    }
}
