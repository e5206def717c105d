#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers
//! The collector over real HTTP on 127.0.0.1 with a real database (SQLite, or PostgreSQL with
//! `GOALPOST_TEST_STORE=postgres`; see `common`).

mod common;

use common::{count, request, start, stored, Server};
use goalpost_collector::Options;
use goalpost_core::{compile, Element, Input, Interaction, Json, Millis, Output, Page, Tracker};
use serde_json::{json, Value};

/// A real batch, written by the core's tracker: a page view and a macro conversion.
fn core_batch() -> String {
    let cfg = Json::Object(vec![
        ("collector".into(), Json::String("/collect".into())),
        ("site".into(), Json::String("shop".into())),
        (
            "goals".into(),
            Json::Array(vec![Json::Object(vec![
                ("id".into(), Json::String("signup".into())),
                ("kind".into(), Json::String("macro".into())),
                ("on".into(), Json::String("click".into())),
                (
                    "match".into(),
                    Json::Object(vec![("selector".into(), Json::String("#signup".into()))]),
                ),
            ])]),
        ),
    ]);
    let mut t = Tracker::new(compile(&cfg).config.unwrap(), &[5, 6, 7, 8]);
    let page = Page {
        url: "https://shop.test/?utm_source=ad&secret=1".into(),
        title: "Shop \"home\"".into(),
        referrer: String::new(),
    };
    t.handle(Millis(1_700_000_000_000), Input::PageView(page));
    let click = Element {
        hits: vec![0],
        ..Element::default()
    };
    t.handle(
        Millis(1_700_000_000_500),
        Input::Interact(Interaction::Click(click)),
    );
    std::iter::from_fn(|| t.poll())
        .find_map(|o| {
            if let Output::Send { body, .. } = o {
                Some(body)
            } else {
                None
            }
        })
        .unwrap()
}

/// A real batch with a valued conversion and funnel steps, written by the core.
fn funnel_batch() -> String {
    use goalpost_core::Interaction;
    let cfg = serde_json::json!({
        "collector": "/collect", "site": "shop", "consent": {"mode": "implied"},
        "goals": [
            {"id": "cart", "on": "custom", "match": {"event": "add_to_cart"}},
            {"id": "purchase", "kind": "macro", "on": "custom", "value": {"prop": "total"}, "currency": "EUR", "category": "sales"},
            {"id": "checkout", "on": "funnel", "steps": ["cart", "purchase"]}
        ]
    });
    fn j(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.as_f64().unwrap()),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(j).collect()),
            Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), j(v))).collect()),
        }
    }
    let c = compile(&j(&cfg));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let mut t = Tracker::new(c.config.unwrap(), &[1]);
    let now = Millis(1_700_000_000_000);
    t.handle(
        now,
        Input::PageView(Page {
            url: "https://shop.test/cart".into(),
            ..Page::default()
        }),
    );
    t.handle(
        now,
        Input::Interact(Interaction::Custom {
            name: "add_to_cart".into(),
            props: vec![],
        }),
    );
    let total = goalpost_core::Prop::Num(59.9);
    t.handle(
        now,
        Input::Interact(Interaction::Custom {
            name: "purchase".into(),
            props: vec![("total".into(), total)],
        }),
    );
    std::iter::from_fn(|| t.poll())
        .find_map(|o| {
            if let Output::Send { body, .. } = o {
                Some(body)
            } else {
                None
            }
        })
        .unwrap()
}

#[tokio::test]
async fn values_currencies_and_funnel_steps_are_stored() {
    let srv = start(Options::default()).await;
    let r = request(srv.addr, "POST", "/collect", "", funnel_batch().as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = stored(&srv).await;
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap(),
                r["goal"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("page_view", ""),
            ("conversion", "cart"),
            ("funnel_step", "checkout"),
            ("conversion", "purchase"),
            ("funnel_step", "checkout"),
            ("conversion", "checkout")
        ],
        "all events of one interaction travel in the batch its macro conversion sends"
    );
    let purchase = &rows[3];
    assert_eq!(purchase["value"], 59.9);
    assert_eq!(purchase["currency"], "EUR");
    assert_eq!(purchase["category"], "sales");
    assert_eq!(purchase["props"]["total"], 59.9);
    assert_eq!(
        (rows[2]["step"].as_i64(), rows[2]["steps"].as_i64()),
        (Some(0), Some(2))
    );
    assert_eq!(
        (rows[4]["step"].as_i64(), rows[4]["steps"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(rows[0]["value"], Value::Null);
    assert_eq!(
        purchase["first"],
        json!({"channel": "direct", "landing": "/cart"})
    );
    assert_eq!(purchase["last"], purchase["first"]);
    assert_eq!(rows[0]["first"], Value::Null, "touches only on conversions");
    let session = rows[0]["session"].as_str().unwrap();
    assert_eq!(session.len(), 32);
    assert!(
        rows.iter().all(|r| r["session"] == session),
        "one session for the batch"
    );
}

#[tokio::test]
async fn a_core_batch_is_stored_field_by_field_and_a_resend_is_deduplicated() {
    let srv = start(Options::default()).await;
    let body = core_batch();
    let r = request(
        srv.addr,
        "POST",
        "/collect",
        "Origin: https://shop.test\r\n",
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap(),
        json!({"accepted": 2, "duplicates": 0})
    );
    assert!(r
        .headers
        .contains("access-control-allow-origin: https://shop.test"));
    assert!(r.headers.contains("cache-control: no-store"));

    let rows = stored(&srv).await;
    assert_eq!(rows.len(), 2);
    let sent: Value = serde_json::from_str(&body).unwrap();
    let (pv, conv) = (&rows[0], &rows[1]);
    assert_eq!(pv["type"], "page_view");
    assert_eq!(pv["id"], sent["events"][0]["id"]);
    assert_eq!(pv["site"], "shop");
    assert_eq!(pv["url"], "https://shop.test/?utm_source=ad");
    assert_eq!(pv["title"], "Shop \"home\"");
    assert_eq!(pv["ts"], 1_700_000_000_000i64);
    assert_eq!(pv["goal"], Value::Null);
    assert_eq!(
        pv["consent"], "anonymous",
        "the default mode, before any choice"
    );
    assert_eq!(pv["session"], Value::Null);
    assert_eq!(conv["type"], "conversion");
    assert_eq!(conv["goal"], "signup");
    assert_eq!(conv["kind"], "macro");
    assert_eq!(conv["page"], pv["id"]);
    assert_eq!(conv["ts"], 1_700_000_000_500i64);
    assert_eq!(conv["batch"], sent["batch"]);

    let again = request(srv.addr, "POST", "/collect", "", body.as_bytes()).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&again.body).unwrap(),
        json!({"accepted": 0, "duplicates": 2})
    );
    assert_eq!(stored(&srv).await.len(), 2);
    // the data is in the database itself
    let n = count(&srv, "SELECT count(*) FROM events WHERE site = 'shop'").await;
    assert_eq!(n, 2);
    let stats = request(srv.addr, "GET", "/api/stats?site=shop", "", b"").await;
    assert_eq!(
        serde_json::from_str::<Value>(&stats.body).unwrap(),
        json!([{"site": "shop", "batches": 2, "events": 4, "duplicates": 2}]),
        "both receipts counted, the repeat as duplicates"
    );
}

async fn arm(srv: &Server, fault: Value) {
    let r = request(
        srv.addr,
        "POST",
        "/__test/faults",
        "",
        fault.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn injected_faults_reset_before_or_after_storing_and_answer_slowly() {
    let srv = start(Options {
        test_faults: true,
        ..Options::default()
    })
    .await;
    let body = core_batch();
    // reset before storing: no answer, nothing stored
    arm(&srv, json!({"kind": "reset", "count": 1})).await;
    let r = request(srv.addr, "POST", "/collect", "", body.as_bytes()).await;
    assert_eq!((r.status, r.headers.as_str()), (0, ""), "no answer at all");
    assert_eq!(stored(&srv).await.len(), 0);
    // reset after storing: no answer, but stored
    arm(
        &srv,
        json!({"kind": "reset", "count": 1, "after_store": true}),
    )
    .await;
    let r = request(srv.addr, "POST", "/collect", "", body.as_bytes()).await;
    assert_eq!(r.status, 0);
    assert_eq!(stored(&srv).await.len(), 2);
    // slow: stored, answered after the delay
    arm(&srv, json!({"kind": "slow", "count": 1, "delay_ms": 300})).await;
    let t = std::time::Instant::now();
    let r = request(srv.addr, "POST", "/collect", "", body.as_bytes()).await;
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap(),
        json!({"accepted": 0, "duplicates": 2})
    );
    // the count ran out: a normal answer again
    let r = request(srv.addr, "POST", "/collect", "", body.as_bytes()).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn fault_injection_is_off_unless_enabled() {
    let srv = start(Options::default()).await;
    let r = request(
        srv.addr,
        "POST",
        "/__test/faults",
        "",
        br#"{"kind":"reset","count":5}"#,
    )
    .await;
    assert_ne!(r.status, 204);
    let r = request(srv.addr, "POST", "/collect", "", core_batch().as_bytes()).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn hostile_bodies_get_a_4xx_and_store_nothing() {
    let srv = start(Options::default()).await;
    let good: Value = serde_json::from_str(&core_batch()).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let mut nested = String::new();
    for _ in 0..10_000 {
        nested.push('[');
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("not json", b"hello".to_vec()),
        ("truncated", good.to_string().as_bytes()[..40].to_vec()),
        ("invalid utf-8", vec![b'{', 0xff, 0xfe, b'}']),
        ("deeply nested", nested.into_bytes()),
        ("array", b"[]".to_vec()),
        ("wrong version", with(&|v| v["v"] = json!(2))),
        ("unknown field", with(&|v| v["extra"] = json!(1))),
        ("site with space", with(&|v| v["site"] = json!("my shop"))),
        ("short id", with(&|v| v["events"][0]["id"] = json!("abc"))),
        (
            "uppercase id",
            with(&|v| v["events"][0]["id"] = json!("ABCDEF0123456789ABCDEF0123456789")),
        ),
        (
            "wrong type",
            with(&|v| v["events"][0]["ts"] = json!("yesterday")),
        ),
        ("no events", with(&|v| v["events"] = json!([]))),
        (
            "unknown event type",
            with(&|v| v["events"][1]["type"] = json!("purchase")),
        ),
        (
            "conversion without goal",
            with(&|v| {
                v["events"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("goal")
                    .map(|_| ())
                    .unwrap_or(())
            }),
        ),
        (
            "goal on a page view",
            with(&|v| v["events"][0]["goal"] = json!("x")),
        ),
        (
            "huge url",
            with(&|v| v["events"][0]["url"] = json!("u".repeat(5000))),
        ),
        (
            "nested prop",
            with(&|v| v["events"][1]["props"] = json!({"a": {"b": 1}})),
        ),
        ("10 MB", vec![b' '; 10 * 1024 * 1024]),
        (
            "70 KB of valid json",
            with(&|v| v["events"][0]["title"] = json!("t".repeat(70_000))),
        ),
    ];
    for (name, body) in cases {
        let r = request(srv.addr, "POST", "/collect", "", &body).await;
        assert!(
            (400..500).contains(&r.status),
            "{name}: status {} {}",
            r.status,
            r.body
        );
    }
    assert!(
        stored(&srv).await.is_empty(),
        "nothing from a rejected batch is stored"
    );
    let health = request(srv.addr, "GET", "/health", "", b"").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    // and a good batch still goes in
    let r = request(
        srv.addr,
        "POST",
        "/collect",
        "",
        good.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_batch_with_one_bad_event_is_rejected_whole() {
    let srv = start(Options::default()).await;
    let mut v: Value = serde_json::from_str(&core_batch()).unwrap();
    v["events"][1]["kind"] = json!("huge");
    let r = request(srv.addr, "POST", "/collect", "", v.to_string().as_bytes()).await;
    assert_eq!(r.status, 400);
    assert!(stored(&srv).await.is_empty());
}

#[tokio::test]
async fn origins_outside_the_allowlist_are_refused() {
    let srv = start(Options {
        allow_origins: vec!["https://shop.test".into()],
        ..Options::default()
    })
    .await;
    let body = core_batch();
    let r = request(
        srv.addr,
        "POST",
        "/collect",
        "Origin: https://evil.test\r\n",
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(!r.headers.contains("access-control-allow-origin"));
    assert!(stored(&srv).await.is_empty());
    let pre = request(
        srv.addr,
        "OPTIONS",
        "/collect",
        "Origin: https://shop.test\r\n",
        b"",
    )
    .await;
    assert_eq!(pre.status, 204);
    assert!(pre
        .headers
        .contains("access-control-allow-origin: https://shop.test"));
    assert!(pre.headers.contains("access-control-allow-methods: post"));
    let ok = request(
        srv.addr,
        "POST",
        "/collect",
        "Origin: https://shop.test\r\n",
        body.as_bytes(),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(stored(&srv).await.len(), 2);
}

/// `schema/beacon-v1.json` lists every field the core writes, and nothing the collector
/// would refuse.
#[test]
fn the_beacon_schema_covers_what_the_core_writes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema/beacon-v1.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let batch: Value = serde_json::from_str(&core_batch()).unwrap();
    let top = schema["properties"].as_object().unwrap();
    for k in batch.as_object().unwrap().keys() {
        assert!(top.contains_key(k), "batch field {k} not in the schema");
    }
    let ev = schema["$defs"]["event"]["properties"].as_object().unwrap();
    for e in batch["events"].as_array().unwrap() {
        for k in e.as_object().unwrap().keys() {
            assert!(ev.contains_key(k), "event field {k} not in the schema");
        }
    }
    assert_eq!(schema["properties"]["v"]["const"], goalpost_core::VERSION);
    assert_eq!(
        schema["$defs"]["event"]["properties"]["type"]["enum"],
        json!(["page_view", "conversion", "funnel_step"])
    );
    assert_eq!(
        schema["properties"]["events"]["maxItems"],
        goalpost_collector::protocol::MAX_EVENTS
    );
}

#[tokio::test]
async fn configured_sites_refuse_unknown_sites_and_foreign_origins() {
    let rules = [
        "shop=https://shop.test",
        "shop=https://www.shop.test",
        "blog",
    ];
    let srv = start(Options {
        sites: rules.iter().map(|r| r.parse().unwrap()).collect(),
        ..Options::default()
    })
    .await;
    let body = core_batch(); // site "shop"
    let other = body.replace("\"site\":\"shop\"", "\"site\":\"other\"");
    let blog = body.replace("\"site\":\"shop\"", "\"site\":\"blog\"");
    assert_ne!(other, body);
    let cases: [(&str, &str, &str, u16); 6] = [
        ("unknown site", &other, "Origin: https://shop.test\r\n", 403),
        (
            "foreign origin",
            &body,
            "Origin: https://evil.test\r\n",
            403,
        ),
        (
            "listed origin",
            &body,
            "Origin: https://www.shop.test\r\n",
            200,
        ),
        ("no origin (a server)", &body, "", 200),
        (
            "site without origins",
            &blog,
            "Origin: https://any.test\r\n",
            200,
        ),
        ("unknown site, no origin", &other, "", 403),
    ];
    for (name, b, extra, want) in cases {
        let r = request(srv.addr, "POST", "/collect", extra, b.as_bytes()).await;
        assert_eq!(r.status, want, "{name}: {}", r.body);
        if want == 403 {
            assert!(
                r.body.contains("site") || r.body.contains("origin"),
                "{name}: {}",
                r.body
            );
        }
    }
    // received per site (the blog batch repeats the shop batch's event ids, so it is counted
    // as received there but stores nothing new)
    let stats = request(srv.addr, "GET", "/api/stats", "", b"").await;
    let sites: Vec<String> = serde_json::from_str::<Value>(&stats.body)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["site"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sites,
        ["blog", "shop"],
        "nothing received for the refused site"
    );
    assert!("bad site=https://x"
        .parse::<goalpost_collector::SiteRule>()
        .is_err());
    assert!("shop=ftp://x"
        .parse::<goalpost_collector::SiteRule>()
        .is_err());
}

/// The tracker never builds a batch the collector would refuse for its count.
#[test]
fn the_tracker_and_the_collector_agree_on_the_largest_batch() {
    assert_eq!(
        goalpost_collector::protocol::MAX_EVENTS,
        goalpost_core::MAX_BATCH_EVENTS
    );
}

#[tokio::test]
async fn the_store_is_the_one_the_run_asked_for() {
    let srv = start(Options::default()).await;
    let want = if common::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(srv.store.backend(), want);
}
