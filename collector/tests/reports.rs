#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers
//! Reports computed by the database (SQLite, or PostgreSQL with `GOALPOST_TEST_STORE=postgres`)
//! from batches posted to a real collector, against figures computed by hand.

mod common;

use common::{envelope, hex, request, start, Server};
use goalpost_collector::Options;
use serde_json::{json, Value};

/// 2026-11-30 00:00 UTC, and that day's number.
const DAY0: i64 = 20_787;
const T0: i64 = DAY0 * 86_400_000;

/// An event: `session` 0 means none (collected anonymously).
fn ev(id: u64, kind: &str, ts: i64, page: u64, session: u64) -> Value {
    let mut e = json!({"id": hex(id), "type": kind, "ts": ts, "page": hex(page + 1000),
                       "url": "https://shop.test/"});
    if session == 0 {
        e["consent"] = "anonymous".into();
    } else {
        e["session"] = hex(session + 2000).into();
        e["consent"] = "granted".into();
    }
    e
}

fn conv(id: u64, ts: i64, page: u64, session: u64, goal: &str, kind: &str) -> Value {
    let mut e = ev(id, "conversion", ts, page, session);
    e["goal"] = goal.into();
    e["kind"] = kind.into();
    e
}

fn valued(mut e: Value, value: f64, currency: &str) -> Value {
    e["value"] = value.into();
    e["currency"] = currency.into();
    e
}

fn touched(mut e: Value, first: &Value, last: &Value) -> Value {
    e["first"] = first.clone();
    e["last"] = last.clone();
    e
}

fn step(id: u64, ts: i64, page: u64, session: u64, funnel: &str, step: u32) -> Value {
    let mut e = ev(id, "funnel_step", ts, page, session);
    e["goal"] = funnel.into();
    e["step"] = step.into();
    e["steps"] = 3.into();
    e
}

async fn post(srv: &Server, site: &str, batch: u64, events: Vec<Value>) {
    let body = envelope(site, batch + 9000, T0 + 1, events);
    let r = request(
        srv.addr,
        "POST",
        "/collect",
        "",
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn report(srv: &Server, query: &str) -> Value {
    let r = request(
        srv.addr,
        "GET",
        &format!("/api/report?from=2026-11-30&to=2026-12-01&{query}"),
        "",
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

fn credit(rows: &Value, channel: &str) -> Option<f64> {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == channel)
        .map(|c| c["conversions"].as_f64().unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn a_hand_computed_report() {
    let srv = start(Options::default()).await;
    let ad =
        json!({"channel": "paid_search", "source": "google", "medium": "cpc", "campaign": "x"});
    let mail = json!({"channel": "email", "source": "news", "medium": "email"});
    // session a (page 1): two page views, a macro conversion (first touch ad, last mail), two
    // funnel steps; session b (page 2): a page view, a micro conversion with no touches, one
    // step; session c: a page view the next day
    post(
        &srv,
        "s",
        1,
        vec![
            ev(1, "page_view", T0, 1, 1),
            ev(2, "page_view", T0 + 1, 1, 1),
            touched(
                valued(conv(3, T0 + 2, 1, 1, "buy", "macro"), 30.0, "EUR"),
                &ad,
                &mail,
            ),
            ev(4, "page_view", T0 + 3, 2, 2),
            conv(5, T0 + 4, 2, 2, "news", "micro"),
            step(6, T0 + 6, 1, 1, "f", 0),
            step(7, T0 + 7, 2, 2, "f", 0),
            step(8, T0 + 8, 1, 1, "f", 1),
        ],
    )
    .await;
    post(
        &srv,
        "s",
        2,
        vec![ev(9, "page_view", T0 + 86_400_000 + 5, 3, 3)],
    )
    .await;
    // another site's events never count
    post(
        &srv,
        "other",
        3,
        vec![valued(conv(1, T0, 1, 1, "buy", "macro"), 99.0, "EUR")],
    )
    .await;
    let r = report(&srv, "site=s").await;
    assert_eq!(
        (r["sessions"].as_u64(), r["page_views"].as_u64()),
        (Some(3), Some(4))
    );
    let goals: Vec<(&str, u64, u64)> = r["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["goal"].as_str().unwrap(),
                g["conversions"].as_u64().unwrap(),
                g["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(goals, [("buy", 1, 1), ("news", 1, 1)]);
    assert!(close(r["goals"][0]["rate"].as_f64().unwrap(), 1.0 / 3.0));
    assert_eq!(r["goals"][0]["value"], json!({"EUR": 30.0}));
    assert_eq!(r["revenue"], json!({"EUR": 30.0}));
    assert_eq!(r["macro"]["conversions"], 1);
    assert_eq!(r["micro"]["sessions"], 1);
    let steps: Vec<u64> = r["funnels"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessions"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [2, 1]);
    assert_eq!(r["funnels"][0]["steps"][1]["retained"], 0.5);
    // buy: first touch ad, last touch mail, linear half each; news: no touch (anonymous)
    let a = &r["attribution"];
    assert_eq!(credit(&a["first_touch"], "paid_search"), Some(1.0));
    assert_eq!(credit(&a["first_touch"], "email"), None);
    assert_eq!(credit(&a["last_touch"], "email"), Some(1.0));
    assert_eq!(credit(&a["linear"], "email"), Some(0.5));
    assert_eq!(credit(&a["linear"], "paid_search"), Some(0.5));
    assert_eq!(credit(&a["linear"], "anonymous"), Some(1.0));
    let linear_email = a["linear"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .unwrap();
    assert_eq!(linear_email["value"], json!({"EUR": 15.0}));
    let daily: Vec<(u64, u64, u64)> = r["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["sessions"].as_u64().unwrap(),
                d["page_views"].as_u64().unwrap(),
                d["conversions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(daily, [(2, 3, 2), (1, 1, 0)]);
    assert_eq!(r["daily"][0]["value"], json!({"EUR": 30.0}));
    // a goal filter narrows conversions and steps, not sessions
    let only = report(&srv, "site=s&goal=news").await;
    assert_eq!(only["sessions"], 3);
    assert_eq!(only["goals"].as_array().unwrap().len(), 1);
    assert_eq!(only["funnels"], json!([]));
    assert_eq!(only["revenue"], json!({}));
    // the CSV says the same, one figure per row
    let csv = request(
        srv.addr,
        "GET",
        "/api/report.csv?site=s&from=2026-11-30&to=2026-12-01",
        "",
        b"",
    )
    .await
    .body;
    assert!(
        csv.contains("\ngoal,,,buy,macro,,,,,,,,sessions,1\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nattribution,linear,,,,,email,news,email,,EUR,,value,15\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nfunnel,,,f,,2,,,,,,,retained,0.5\n"),
        "{csv}"
    );
}

#[tokio::test]
async fn linear_credit_follows_the_sessions_touch_path_over_its_conversions() {
    let srv = start(Options::default()).await;
    let ad = json!({"channel": "paid_search", "source": "google"});
    let mail = json!({"channel": "email", "source": "news"});
    // one session; page views between the conversions carry no touches and change nothing
    post(
        &srv,
        "s",
        1,
        vec![
            ev(1, "page_view", T0, 1, 1),
            touched(conv(2, T0 + 1, 1, 1, "g", "micro"), &ad, &ad), // path: ad
            ev(3, "page_view", T0 + 2, 1, 1),
            touched(conv(4, T0 + 3, 1, 1, "g", "micro"), &ad, &mail), // ad, mail
            touched(conv(5, T0 + 4, 1, 1, "g", "micro"), &ad, &mail), // ad, mail
            touched(
                valued(conv(6, T0 + 5, 1, 1, "g", "micro"), 9.0, "EUR"),
                &ad,
                &ad,
            ), // ad, mail, ad
        ],
    )
    .await;
    let r = report(&srv, "site=s").await;
    let linear = &r["attribution"]["linear"];
    let ad_credit = credit(linear, "paid_search").unwrap();
    let mail_credit = credit(linear, "email").unwrap();
    assert!(close(ad_credit, 1.0 + 0.5 + 0.5 + 2.0 / 3.0), "{ad_credit}");
    assert!(close(mail_credit, 0.5 + 0.5 + 1.0 / 3.0), "{mail_credit}");
    assert_eq!(
        credit(linear, "anonymous"),
        None,
        "page views are not touches"
    );
    let ad_row = linear
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "paid_search")
        .unwrap();
    assert!(
        close(ad_row["value"]["EUR"].as_f64().unwrap(), 6.0),
        "{ad_row}"
    );
    // the last-touch model credits the last touch each conversion carried
    assert_eq!(
        credit(&r["attribution"]["last_touch"], "paid_search"),
        Some(2.0)
    );
    assert_eq!(credit(&r["attribution"]["last_touch"], "email"), Some(2.0));
}

#[tokio::test]
async fn events_before_consent_join_their_pages_session_even_from_a_later_batch() {
    let srv = start(Options::default()).await;
    // page 1: a page view before the banner was answered, then (a later batch) a conversion
    // after Accept; page 2: never answered
    post(&srv, "s", 1, vec![ev(1, "page_view", T0, 1, 0)]).await;
    post(&srv, "s", 2, vec![conv(2, T0 + 1, 1, 7, "g", "micro")]).await;
    post(
        &srv,
        "s",
        3,
        vec![
            ev(3, "page_view", T0 + 2, 2, 0),
            conv(4, T0 + 3, 2, 0, "g", "micro"),
        ],
    )
    .await;
    // and a page whose sessionless event arrives after the session's
    post(&srv, "s", 4, vec![conv(5, T0 + 4, 3, 8, "g", "micro")]).await;
    post(&srv, "s", 5, vec![ev(6, "page_view", T0 + 5, 3, 0)]).await;
    let r = report(&srv, "site=s").await;
    assert_eq!(r["sessions"], 3, "{r}");
    assert_eq!(r["goals"][0]["sessions"], 3);
}

#[tokio::test]
async fn an_event_id_is_unique_per_site_not_across_sites() {
    let srv = start(Options::default()).await;
    for site in ["a", "b"] {
        let body = envelope(site, 1, T0, vec![ev(42, "page_view", T0, 1, 1)]);
        let r = request(
            srv.addr,
            "POST",
            "/collect",
            "",
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(r.body, r#"{"accepted":1,"duplicates":0}"#, "{site}");
    }
    let again = envelope("b", 2, T0, vec![ev(42, "page_view", T0, 1, 1)]);
    let r = request(
        srv.addr,
        "POST",
        "/collect",
        "",
        again.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.body, r#"{"accepted":0,"duplicates":1}"#);
    assert_eq!(report(&srv, "site=a").await["page_views"], 1);
    assert_eq!(report(&srv, "site=b").await["page_views"], 1);
}

#[tokio::test]
async fn link_and_download_targets_are_stored_and_reported_per_goal() {
    let srv = start(Options::default()).await;
    let linked = |id, goal: &str, detail: Value| {
        let mut e = conv(id, T0 + id as i64, 1, 1, goal, "micro");
        e["detail"] = detail;
        e
    };
    let gh = json!({"href": "https://github.com/acme", "link": "outbound"});
    let li = json!({"href": "https://www.linkedin.com/company/acme", "link": "outbound"});
    let pdf = json!({"href": "https://shop.test/price-list.pdf", "link": "download", "ext": "pdf"});
    let iso = json!({"href": "https://cdn.example/setup.iso", "link": "download", "ext": "iso"});
    post(
        &srv,
        "s",
        1,
        vec![
            linked(1, "out", gh.clone()),
            linked(2, "out", li.clone()),
            linked(3, "out", gh.clone()),
            linked(4, "file", pdf.clone()),
            linked(5, "file", iso.clone()),
            conv(6, T0 + 6, 1, 1, "signup", "macro"),
        ],
    )
    .await;
    let r = report(&srv, "site=s").await;
    assert_eq!(
        r["links"],
        json!([
            {"goal": "file", "href": "https://cdn.example/setup.iso", "conversions": 1},
            {"goal": "file", "href": "https://shop.test/price-list.pdf", "conversions": 1},
            {"goal": "out", "href": "https://github.com/acme", "conversions": 2},
            {"goal": "out", "href": "https://www.linkedin.com/company/acme", "conversions": 1},
        ])
    );
    let only = report(&srv, "site=s&goal=out").await;
    assert_eq!(only["links"].as_array().unwrap().len(), 2);
    // the raw events keep the detail as sent
    let rows = common::stored(&srv).await;
    assert_eq!(rows[4]["detail"], iso);
    assert_eq!(rows[5]["detail"], Value::Null);
    let csv = request(
        srv.addr,
        "GET",
        "/api/report.csv?site=s&from=2026-11-30&to=2026-11-30",
        "",
        b"",
    )
    .await
    .body;
    assert!(
        csv.contains("\nlink,,,out,,,,,,,,https://github.com/acme,conversions,2\n"),
        "{csv}"
    );
}
