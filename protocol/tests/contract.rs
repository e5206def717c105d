//! One contract: what the encoder writes at every limit, the validator accepts; one byte or
//! item past a limit, it refuses, naming the field; and `schema/beacon-v1.json` states the same
//! limits and names as the constants and enums.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)]

use goalpost_protocol::*;
use serde_json::Value;

const T: Millis = Millis(1_700_000_000_000);

fn event(data: EventData) -> Event {
    Event {
        id: EventId(1, 1),
        ts: T,
        page: EventId(2, 2),
        url: "https://shop.test/".into(),
        session: Some(EventId(3, 3)),
        consent: ConsentStamp::Granted,
        data,
    }
}

fn conversion(props: Vec<(String, Prop)>) -> Event {
    event(EventData::Conversion {
        goal: "purchase".into(),
        kind: GoalKind::Macro,
        value: Some(19.99),
        currency: Some("EUR".into()),
        category: Some("sales".into()),
        props,
        detail: Box::default(),
    })
}

fn page_view(title: &str, referrer: &str) -> Event {
    event(EventData::PageView {
        title: title.into(),
        referrer: referrer.into(),
    })
}

fn body_of(events: &[Event], touches: Option<(TouchRef, TouchRef)>) -> String {
    let json: Vec<String> = events.iter().map(|e| e.to_json(touches, true)).collect();
    let parts: Vec<&str> = json.iter().map(String::as_str).collect();
    batch_body("shop", EventId(9, 9), T, 0, &parts)
}

fn accepted(events: &[Event]) -> Result<wire::Batch, String> {
    wire::parse(body_of(events, None).as_bytes())
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn the_encoder_at_every_limit_is_accepted_and_one_past_it_is_refused() {
    let url = |n: usize| {
        let base = "https://shop.test/";
        let mut u = String::from(base);
        u.push_str(&long(n - base.len()));
        u
    };
    // title, referrer, url
    assert!(accepted(&[page_view(&long(MAX_TITLE_LEN), &url(MAX_URL_LEN))]).is_ok());
    let err = accepted(&[page_view(&long(MAX_TITLE_LEN + 1), "")]).unwrap_err();
    assert_eq!(
        err,
        format!("events[0].title: longer than {MAX_TITLE_LEN} bytes")
    );
    let err = accepted(&[page_view("", &url(MAX_URL_LEN + 1))]).unwrap_err();
    assert_eq!(
        err,
        format!("events[0].referrer: longer than {MAX_URL_LEN} bytes")
    );
    let mut e = page_view("", "");
    e.url = url(MAX_URL_LEN + 1);
    assert_eq!(
        accepted(&[e]).unwrap_err(),
        format!("events[0].url: longer than {MAX_URL_LEN} bytes")
    );
    // props: count, key and value length
    let props = |n: usize, len: usize| -> Vec<(String, Prop)> {
        (0..n)
            .map(|i| {
                let mut k = format!("k{i}_");
                k.push_str(&long(len - k.len()));
                (k, Prop::Str(long(len)))
            })
            .collect()
    };
    let b = accepted(&[conversion(props(MAX_PROPS, MAX_PROP_LEN))]).unwrap();
    assert_eq!(b.events[0].props.as_ref().unwrap().len(), MAX_PROPS);
    assert_eq!(
        accepted(&[conversion(props(MAX_PROPS + 1, 10))]).unwrap_err(),
        format!("events[0].props: at most {MAX_PROPS}")
    );
    assert_eq!(
        accepted(&[conversion(vec![(
            "k".into(),
            Prop::Str(long(MAX_PROP_LEN + 1))
        )])])
        .unwrap_err(),
        format!("events[0].props value: longer than {MAX_PROP_LEN} bytes")
    );
    // touches: every field at its cap
    let f = long(MAX_TOUCH_FIELD_LEN);
    let touch = TouchRef {
        channel: Channel::PaidSearch,
        source: &f,
        medium: &f,
        campaign: &f,
        term: &f,
        content: &f,
        click_id: &f,
        landing: &f,
    };
    let ok = wire::parse(body_of(&[conversion(vec![])], Some((touch, touch))).as_bytes());
    assert_eq!(
        ok.unwrap().events[0].first.as_ref().unwrap().channel,
        Channel::PaidSearch
    );
    let over = long(MAX_TOUCH_FIELD_LEN + 1);
    let bad = TouchRef {
        term: &over,
        ..touch
    };
    assert_eq!(
        wire::parse(body_of(&[conversion(vec![])], Some((touch, bad))).as_bytes()).unwrap_err(),
        format!("events[0].last: longer than {MAX_TOUCH_FIELD_LEN} bytes")
    );
    // events per batch: the body limit binds first (a page view takes over 130 bytes, so 500 of
    // them are over 64 KiB; the tracker's own batches stop at 16 KiB); the count is a guard
    let small = |n: usize| -> Vec<Event> {
        (0..n)
            .map(|_| {
                let mut e = page_view("", "");
                e.session = None;
                e.consent = ConsentStamp::Anonymous;
                e
            })
            .collect()
    };
    assert_eq!(accepted(&small(300)).unwrap().events.len(), 300);
    assert!(body_of(&small(MAX_BATCH_EVENTS), None).len() > MAX_BODY);
    assert_eq!(
        accepted(&small(MAX_BATCH_EVENTS + 1)).unwrap_err(),
        "body too large"
    );
    // funnel steps
    let step = |step: u32, steps: u32| {
        event(EventData::FunnelStep {
            funnel: "checkout".into(),
            step,
            steps,
        })
    };
    assert!(accepted(&[step(MAX_FUNNEL_STEPS - 1, MAX_FUNNEL_STEPS)]).is_ok());
    assert!(accepted(&[step(0, MAX_FUNNEL_STEPS + 1)]).is_err());
    // names and the consent stamp's rule
    let mut e = conversion(vec![]);
    if let EventData::Conversion { goal, .. } = &mut e.data {
        *goal = long(MAX_NAME_LEN + 1);
    }
    assert!(accepted(&[e])
        .unwrap_err()
        .starts_with("events[0].goal: must be 1 to 64"));
    let mut e = conversion(vec![]);
    e.consent = ConsentStamp::Anonymous;
    assert_eq!(
        accepted(&[e]).unwrap_err(),
        "events[0].session/first/last: not allowed on an anonymous event"
    );
}

#[test]
fn a_conversions_detail_reads_back_and_its_limits_hold() {
    let with = |detail: Detail| {
        let mut e = conversion(vec![]);
        if let EventData::Conversion { detail: d, .. } = &mut e.data {
            **d = detail;
        }
        accepted(&[e])
    };
    let full = Detail {
        href: "https://files.example/price-list.pdf?utm_source=x".into(),
        link: "download",
        ext: "pdf".into(),
        ..Detail::default()
    };
    let b = with(full).unwrap();
    let d = b.events[0].detail.as_ref().unwrap();
    assert_eq!(
        d.href.as_deref(),
        Some("https://files.example/price-list.pdf?utm_source=x")
    );
    assert_eq!(
        (d.link.as_deref(), d.network.as_deref(), d.ext.as_deref()),
        (Some("download"), None, Some("pdf"))
    );
    // empty: not written at all
    let b = with(Detail::default()).unwrap();
    assert!(b.events[0].detail.is_none());
    let url = format!("https://x.example/{}", long(MAX_URL_LEN));
    assert_eq!(
        with(Detail {
            href: url,
            ..Detail::default()
        })
        .unwrap_err(),
        format!("events[0].detail.href: longer than {MAX_URL_LEN} bytes")
    );
    assert!(with(Detail {
        link: "weird",
        ..Detail::default()
    })
    .unwrap_err()
    .starts_with("events[0].detail.link: one of outbound"));
    assert!(with(Detail {
        network: "what sapp",
        ..Detail::default()
    })
    .unwrap_err()
    .starts_with("events[0].detail.network"));
    for bad in ["PDF", "p.df", "x".repeat(MAX_EXT_LEN + 1).as_str()] {
        assert!(
            with(Detail {
                ext: bad.into(),
                ..Detail::default()
            })
            .unwrap_err()
            .starts_with("events[0].detail.ext"),
            "{bad}"
        );
    }
    let b = with(Detail {
        threshold: Some(75.0),
        unit: "percent",
        src: "https://cdn.test/a.mp4".into(),
        form_id: "f".into(),
        form_name: "n".into(),
        element: "e".into(),
        ..Detail::default()
    })
    .unwrap();
    let d = b.events[0].detail.as_ref().unwrap();
    assert_eq!(
        (d.threshold, d.unit.as_deref()),
        (Some(75.0), Some("percent"))
    );
    assert_eq!(
        (d.form_id.as_deref(), d.element.as_deref()),
        (Some("f"), Some("e"))
    );
    assert!(with(Detail {
        threshold: Some(1e10),
        unit: "percent",
        ..Detail::default()
    })
    .unwrap_err()
    .starts_with("events[0].detail.threshold/unit"));
    assert!(
        with(Detail {
            threshold: Some(5.0),
            unit: "",
            ..Detail::default()
        })
        .is_err(),
        "a threshold needs its unit"
    );
    assert_eq!(
        with(Detail {
            element: long(MAX_PROP_LEN + 1),
            ..Detail::default()
        })
        .unwrap_err(),
        format!("events[0].detail.element: longer than {MAX_PROP_LEN} bytes")
    );
    // and only on conversions
    let forged =
        body_of(&[page_view("t", "")], None).replace("\"title\"", "\"detail\":{},\"title\"");
    assert!(wire::parse(forged.as_bytes())
        .unwrap_err()
        .contains("only on a conversion"));
}

#[test]
fn values_currencies_categories_times_and_dropped_counts_are_checked() {
    let with = |value: Option<f64>, currency: &str, category: &str| {
        let mut e = conversion(vec![]);
        if let EventData::Conversion {
            value: v,
            currency: c,
            category: k,
            ..
        } = &mut e.data
        {
            *v = value;
            *c = Some(currency.into());
            *k = Some(category.into());
        }
        accepted(&[e])
    };
    assert!(with(Some(MAX_VALUE), "EUR", "sales").is_ok());
    assert!(with(Some(0.0), "EUR", "sales").is_ok());
    for bad in [-0.01, MAX_VALUE * 1.000_001, 1e308] {
        assert_eq!(
            with(Some(bad), "EUR", "sales").unwrap_err(),
            "events[0].value: a number from 0 to 1e12",
            "{bad}"
        );
    }
    // the encoder writes no non-finite number; a forged body can carry 1e309 (parsed as inf)
    let forged = body_of(&[conversion(vec![])], None).replace("19.99", "1e309");
    assert!(wire::parse(forged.as_bytes()).is_err());
    for bad in ["eur", "EURO", "<b>", "E1R"] {
        assert_eq!(
            with(Some(1.0), bad, "sales").unwrap_err(),
            "events[0].currency: three upper-case letters (ISO 4217)"
        );
    }
    assert!(with(Some(1.0), "EUR", "<script>")
        .unwrap_err()
        .starts_with("events[0].category: must be 1 to 64"));
    // times: 2000-01-01 to the year 3000, on events and on the batch
    let mut e = conversion(vec![]);
    e.ts = Millis(MIN_TS - 1);
    assert!(accepted(&[e])
        .unwrap_err()
        .starts_with("events[0].ts: not a plausible time"));
    let mut e = conversion(vec![]);
    e.ts = Millis(MIN_TS);
    assert!(accepted(&[e]).is_ok());
    let json = conversion(vec![]).to_json(None, true);
    let body = batch_body("shop", EventId(9, 9), Millis(1), 0, &[&json]);
    assert!(wire::parse(body.as_bytes())
        .unwrap_err()
        .starts_with("sent: not a plausible time"));
    // dropped: the encoder caps it; a forged count past the cap is refused
    let body = batch_body("shop", EventId(9, 9), T, u64::MAX, &[&json]);
    assert_eq!(
        wire::parse(body.as_bytes()).unwrap().dropped,
        Some(MAX_DROPPED)
    );
    let forged = body.replace(
        &format!("\"dropped\":{MAX_DROPPED}"),
        "\"dropped\":18446744073709551615",
    );
    assert_eq!(
        wire::parse(forged.as_bytes()).unwrap_err(),
        format!("dropped: at most {MAX_DROPPED}")
    );
}

#[test]
fn every_event_type_and_stamp_the_encoder_writes_reads_back_alike() {
    for consent in [
        ConsentStamp::Granted,
        ConsentStamp::Implied,
        ConsentStamp::Pending,
    ] {
        let mut events = vec![
            page_view("Shop", "https://ref.test/"),
            conversion(vec![
                ("n".into(), Prop::Num(2.5)),
                ("ok".into(), Prop::Bool(true)),
            ]),
            event(EventData::FunnelStep {
                funnel: "checkout".into(),
                step: 1,
                steps: 3,
            }),
        ];
        for e in &mut events {
            e.consent = consent;
        }
        let b = accepted(&events).unwrap();
        let kinds: Vec<EventType> = b.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventType::PageView,
                EventType::Conversion,
                EventType::FunnelStep
            ]
        );
        assert!(b.events.iter().all(|e| e.consent == Some(consent)));
        assert_eq!(b.events[1].goal_kind, Some(GoalKind::Macro));
        assert_eq!(b.events[1].value, Some(19.99));
    }
}

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/beacon-v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('/').fold(v, |v, k| {
        v.get(k).unwrap_or_else(|| panic!("schema has no {path}"))
    })
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_json_schema_states_the_same_limits_and_names() {
    let s = schema();
    let u = |p: &str| at(&s, p).as_u64().unwrap();
    assert_eq!(u("properties/v/const"), VERSION);
    assert_eq!(u("properties/events/maxItems") as usize, MAX_BATCH_EVENTS);
    let ev = "$defs/event/properties";
    assert_eq!(u(&format!("{ev}/url/maxLength")) as usize, MAX_URL_LEN);
    assert_eq!(u(&format!("{ev}/referrer/maxLength")) as usize, MAX_URL_LEN);
    assert_eq!(u(&format!("{ev}/title/maxLength")) as usize, MAX_TITLE_LEN);
    assert_eq!(u(&format!("{ev}/props/maxProperties")) as usize, MAX_PROPS);
    assert_eq!(
        u(&format!("{ev}/props/additionalProperties/maxLength")) as usize,
        MAX_PROP_LEN
    );
    assert_eq!(
        u(&format!("{ev}/steps/maximum")),
        u64::from(MAX_FUNNEL_STEPS)
    );
    assert_eq!(
        u(&format!("{ev}/step/maximum")),
        u64::from(MAX_FUNNEL_STEPS - 1)
    );
    assert_eq!(u("$defs/ms/maximum"), MAX_TS);
    assert_eq!(u("$defs/ms/minimum"), MIN_TS);
    assert_eq!(u("properties/dropped/maximum"), MAX_DROPPED);
    assert_eq!(
        at(&s, &format!("{ev}/value/maximum")).as_f64(),
        Some(MAX_VALUE)
    );
    assert_eq!(u(&format!("{ev}/value/minimum")), 0);
    assert_eq!(
        names(at(&s, &format!("{ev}/detail/properties/link/enum"))),
        LINK_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(
        u(&format!("{ev}/detail/properties/href/maxLength")) as usize,
        MAX_URL_LEN
    );
    assert_eq!(
        u(&format!("{ev}/detail/properties/ext/maxLength")) as usize,
        MAX_EXT_LEN
    );
    assert_eq!(
        names(at(&s, &format!("{ev}/detail/properties/unit/enum"))),
        UNITS.map(String::from).to_vec()
    );
    assert_eq!(
        at(&s, &format!("{ev}/detail/properties/threshold/maximum")).as_f64(),
        Some(MAX_THRESHOLD)
    );
    for f in ["form_id", "form_name", "element"] {
        assert_eq!(
            u(&format!("{ev}/detail/properties/{f}/maxLength")) as usize,
            MAX_PROP_LEN
        );
    }
    assert_eq!(
        at(&s, "$defs/name/pattern").as_str().unwrap(),
        format!("^[A-Za-z0-9_.-]{{1,{MAX_NAME_LEN}}}$")
    );
    for field in [
        "source", "medium", "campaign", "term", "content", "click_id", "landing",
    ] {
        assert_eq!(
            u(&format!("$defs/touch/properties/{field}/maxLength")) as usize,
            MAX_TOUCH_FIELD_LEN,
            "{field}"
        );
    }
    let wire_names = |all: &[&str]| all.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(at(&s, "$defs/touch/properties/channel/enum")),
        wire_names(&Channel::ALL.map(Channel::as_str))
    );
    assert_eq!(
        names(at(&s, &format!("{ev}/consent/enum"))),
        wire_names(
            &[
                ConsentStamp::Granted,
                ConsentStamp::Implied,
                ConsentStamp::Anonymous,
                ConsentStamp::Pending
            ]
            .map(ConsentStamp::as_str)
        )
    );
    assert_eq!(
        names(at(&s, &format!("{ev}/type/enum"))),
        wire_names(
            &[
                EventType::PageView,
                EventType::Conversion,
                EventType::FunnelStep
            ]
            .map(EventType::as_str)
        )
    );
    assert_eq!(
        names(at(&s, &format!("{ev}/kind/enum"))),
        wire_names(&[GoalKind::Macro, GoalKind::Micro].map(GoalKind::as_str))
    );
}
