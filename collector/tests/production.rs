#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers
//! The collector as a site owner puts it on the internet: reads behind a token, a rate limit on
//! intake, deadlines on slow clients, a cap on connections, panics answered 500, pages of rows,
//! forged values refused, and an old database migrated.

mod common;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use common::{
    count, envelope, hex, request, start, start_pair, start_with, stored, stored_with, Server,
};
use goalpost_collector::{Limits, Options, ReadToken};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T0: i64 = 1_796_000_000_000;
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SHOP_TOKEN: &str = "shoptoken-0123456789abcdef";

fn batch(site: &str, batch: u64, ids: std::ops::Range<u64>) -> String {
    let events: Vec<Value> = ids
        .map(|i| {
            json!({"id": hex(i), "type": "page_view", "ts": T0 + i as i64, "page": hex(1),
                   "consent": "anonymous", "url": "https://shop.test/"})
        })
        .collect();
    envelope(site, batch, T0, events).to_string()
}

async fn post(srv: &Server, extra: &str, body: &str) -> common::Reply {
    request(srv.addr, "POST", "/collect", extra, body.as_bytes()).await
}

fn tokens() -> Vec<ReadToken> {
    vec![
        TOKEN.parse().unwrap(),
        format!("shop={SHOP_TOKEN}").parse().unwrap(),
    ]
}

const READS: [&str; 5] = [
    "/api/events",
    "/api/batches",
    "/api/stats",
    "/api/report?site=shop",
    "/api/report.csv?site=shop",
];

#[tokio::test]
async fn every_read_route_wants_the_token_and_the_dashboard_keeps_it_in_a_cookie() {
    let srv = start(Options {
        read_tokens: tokens(),
        ..Options::default()
    })
    .await;
    assert_eq!(post(&srv, "", &batch("shop", 1, 1..3)).await.status, 200);
    assert_eq!(post(&srv, "", &batch("blog", 2, 1..2)).await.status, 200);
    for path in READS {
        let r = request(srv.addr, "GET", path, "", b"").await;
        assert_eq!(r.status, 401, "{path} without a token (even from loopback)");
        assert!(r.headers.contains("www-authenticate: bearer"), "{path}");
        assert!(!r.body.contains("shop.test"), "{path} leaks nothing");
        let wrong = request(
            srv.addr,
            "GET",
            path,
            "Authorization: Bearer 0123456789abcdef0123456789abcdeX\r\n",
            b"",
        )
        .await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        let ok = request(
            srv.addr,
            "GET",
            path,
            &format!("Authorization: Bearer {TOKEN}\r\n"),
            b"",
        )
        .await;
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
    }
    let all = stored_with(&srv, "", &format!("Authorization: Bearer {TOKEN}\r\n")).await;
    assert_eq!(all.len(), 3);
    // the page itself holds no data and is served to anyone; the token is asked for once
    let page = request(srv.addr, "GET", "/dashboard", "", b"").await;
    assert_eq!(page.status, 200);
    let bad = request(srv.addr, "POST", "/api/session", "", br#"{"token":"nope"}"#).await;
    assert_eq!(bad.status, 401);
    assert!(!bad.headers.contains("set-cookie"));
    let body = json!({ "token": TOKEN }).to_string();
    let signed = request(srv.addr, "POST", "/api/session", "", body.as_bytes()).await;
    assert_eq!(signed.status, 204, "{}", signed.body);
    let cookie = signed
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("httponly") && cookie.contains("samesite=strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("secure"),
        "plain http on loopback: no Secure"
    );
    let value = cookie.split(';').next().unwrap(); // goalpost_read=<token>
    let r = request(
        srv.addr,
        "GET",
        "/api/report?site=shop",
        &format!("Cookie: {value}\r\n"),
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["page_views"],
        2
    );
    // behind TLS (the page's Origin is https) the cookie is Secure
    let r = request(
        srv.addr,
        "POST",
        "/api/session",
        "Origin: https://stats.example\r\n",
        body.as_bytes(),
    )
    .await;
    assert!(r.headers.contains("; secure"), "{}", r.headers);
    let out = request(srv.addr, "DELETE", "/api/session", "", b"").await;
    assert!(out.headers.contains("max-age=0"));
}

#[tokio::test]
async fn a_one_site_token_reads_that_site_only() {
    let srv = start(Options {
        read_tokens: tokens(),
        ..Options::default()
    })
    .await;
    post(&srv, "", &batch("shop", 1, 1..3)).await;
    post(&srv, "", &batch("blog", 2, 10..11)).await;
    let auth = format!("Authorization: Bearer {SHOP_TOKEN}\r\n");
    let rows = stored_with(&srv, "", &auth).await;
    assert_eq!(rows.len(), 2, "no site asked: the token's own");
    assert!(rows.iter().all(|r| r["site"] == "shop"));
    for path in [
        "/api/events?site=blog",
        "/api/report?site=blog",
        "/api/stats?site=blog",
    ] {
        let r = request(srv.addr, "GET", path, &auth, b"").await;
        assert_eq!(r.status, 403, "{path}");
        assert!(
            r.body.contains("reads site \\\"shop\\\" only"),
            "{}",
            r.body
        );
    }
    let stats = request(srv.addr, "GET", "/api/stats", &auth, b"").await;
    let stats: Value = serde_json::from_str(&stats.body).unwrap();
    assert_eq!(stats.as_array().unwrap().len(), 1, "{stats}");
}

#[tokio::test]
async fn without_a_token_reads_are_for_this_machine_only() {
    // the proxy's header says where a request came from
    let srv = start(Options {
        client_ip_header: Some("x-forwarded-for".into()),
        ..Options::default()
    })
    .await;
    post(&srv, "", &batch("shop", 1, 1..2)).await;
    for path in READS {
        let far = request(
            srv.addr,
            "GET",
            path,
            "X-Forwarded-For: 203.0.113.9\r\n",
            b"",
        )
        .await;
        assert_eq!(far.status, 403, "{path}");
        assert!(far.body.contains("--read-token"), "{}", far.body);
        let near = request(srv.addr, "GET", path, "X-Forwarded-For: 127.0.0.1\r\n", b"").await;
        assert_eq!(near.status, 200, "{path}");
    }
    // intake is for everyone
    assert_eq!(
        post(
            &srv,
            "X-Forwarded-For: 203.0.113.9\r\n",
            &batch("shop", 2, 5..6)
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_others_do_not() {
    let srv = start(Options {
        rate_limit: Some((NonZeroU32::new(1).unwrap(), NonZeroU32::new(3).unwrap())),
        client_ip_header: Some("x-forwarded-for".into()),
        ..Options::default()
    })
    .await;
    let a = "X-Forwarded-For: 198.51.100.1\r\n";
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = post(&srv, a, &batch("shop", 100 + i, i * 10..i * 10 + 1)).await;
        if r.status == 429 {
            let secs: u64 = r
                .headers
                .lines()
                .find_map(|l| l.strip_prefix("retry-after: "))
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&secs), "{secs}");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let b = post(
        &srv,
        "X-Forwarded-For: 198.51.100.2\r\n",
        &batch("shop", 200, 90..91),
    )
    .await;
    assert_eq!(b.status, 200, "another client has its own bucket");
    // what was refused was not stored
    assert_eq!(count(&srv, "SELECT count(*) FROM events").await, 4);
}

/// Reads from `s` until the server closes it; how long that took.
async fn closed_after(mut s: tokio::net::TcpStream) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut got)).await;
    (start.elapsed(), got)
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_cannot_hold_every_connection() {
    let limits = Limits {
        max_connections: 8,
        header_timeout: Duration::from_millis(600),
        drain: Duration::from_secs(1),
    };
    let srv = start_with(
        Options {
            body_timeout: Some(Duration::from_millis(600)),
            ..Options::default()
        },
        limits,
    )
    .await;
    // a head that never ends: closed once the head deadline passes
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /collect HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (took, _) = closed_after(s).await;
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // a body that never ends: 408
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let (took, got) = closed_after(s).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // a kept-alive connection that goes quiet after its request is closed too
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let (took, _) = closed_after(s).await;
    assert!(
        took < Duration::from_secs(5),
        "an idle kept-alive connection: {took:?}"
    );
    // more idle connections than the cap: /health still answers once they time out
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
        let _ = s.write_all(b"GET /health HTTP/1.1\r\n").await;
        idle.push(s);
    }
    let start = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        request(srv.addr, "GET", "/health", "", b""),
    )
    .await
    .expect("/health answered");
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop(idle);
}

#[tokio::test]
async fn a_panicking_handler_is_answered_500_and_the_server_goes_on() {
    let srv = start(Options {
        test_faults: true,
        ..Options::default()
    })
    .await;
    let arm = request(
        srv.addr,
        "POST",
        "/__test/faults",
        "",
        br#"{"kind":"panic","count":1}"#,
    )
    .await;
    assert_eq!(arm.status, 204);
    let r = post(&srv, "", &batch("shop", 1, 1..2)).await;
    assert_eq!(r.status, 500, "{}", r.body);
    let r = post(&srv, "", &batch("shop", 1, 1..2)).await;
    assert_eq!(r.status, 200, "the same batch, sent again, is stored");
    assert_eq!(stored(&srv).await.len(), 1);
}

#[tokio::test]
async fn rows_come_in_pages_that_follow_each_other() {
    let srv = start(Options::default()).await;
    for b in 0..5 {
        post(&srv, "", &batch("shop", b, b * 50..b * 50 + 50)).await;
    }
    post(&srv, "", &batch("blog", 9, 1000..1010)).await;
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let r = request(
            srv.addr,
            "GET",
            &format!("/api/events?site=shop&limit=100&after={after}"),
            "",
            b"",
        )
        .await;
        let page: Value = serde_json::from_str(&r.body).unwrap();
        pages += 1;
        for e in page["events"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3, "100 + 100 + 50");
    let want: Vec<String> = (0..250).map(hex).collect();
    assert_eq!(seen, want, "every shop event once, in the order stored");
    // the default page, and the limits of a page
    let r = request(srv.addr, "GET", "/api/events", "", b"").await;
    let page: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 100);
    for bad in ["limit=0", "limit=1001", "after=-1", "after=abc"] {
        let r = request(srv.addr, "GET", &format!("/api/events?{bad}"), "", b"").await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = request(srv.addr, "GET", "/api/batches?limit=2", "", b"").await;
    let page: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(page["batches"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_string());
}

#[tokio::test]
async fn forged_values_and_counts_are_refused_and_nothing_is_stored() {
    let srv = start(Options::default()).await;
    let conv = |extra: Value| {
        let mut e = json!({"id": hex(1), "type": "conversion", "ts": T0, "page": hex(1),
                           "consent": "anonymous", "url": "https://shop.test/",
                           "goal": "buy", "kind": "macro"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        envelope("shop", 1, T0, vec![e]).to_string()
    };
    for (body, reason) in [
        (conv(json!({"value": 1e308, "currency": "EUR"})), "value"),
        (conv(json!({"value": -5, "currency": "EUR"})), "value"),
        (
            conv(json!({"value": 5, "currency": "<b>EUR</b>"})),
            "currency",
        ),
        (
            conv(json!({"value": 5, "currency": "EUR", "category": "=1+1"})),
            "category",
        ),
        (conv(json!({"ts": 1})), "ts"),
        (
            conv(json!({"detail": {"href": "https://x.example/", "link": "<script>"}})),
            "detail.link",
        ),
        (conv(json!({"detail": {"ext": "EXE.bat"}})), "detail.ext"),
        (
            conv(json!({"detail": {"threshold": 1e300, "unit": "percent"}})),
            "detail.threshold",
        ),
        (
            conv(json!({"detail": {"element": "x".repeat(201)}})),
            "detail.element",
        ),
        (
            conv(json!({"detail": {"href": "https://x.example/", "extra": 1}})),
            "unknown field",
        ),
        (
            batch("shop", 1, 1..2).replace("\"sent\"", "\"dropped\":18446744073709551615,\"sent\""),
            "dropped",
        ),
    ] {
        let r = post(&srv, "", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.body.contains(reason), "{reason}: {}", r.body);
    }
    assert_eq!(count(&srv, "SELECT count(*) FROM events").await, 0);
    assert_eq!(count(&srv, "SELECT count(*) FROM batches").await, 0);
}

/// The schema as migrations 1 to 6 left it (before ids were unique per site).
const V6: &str = "CREATE TABLE events (id TEXT PRIMARY KEY, site TEXT NOT NULL, type TEXT NOT NULL,
    ts INTEGER NOT NULL, page TEXT NOT NULL, url TEXT NOT NULL, title TEXT, referrer TEXT, goal TEXT,
    kind TEXT, props TEXT, batch TEXT NOT NULL, received INTEGER NOT NULL, value REAL,
    currency TEXT, category TEXT, step INTEGER, steps INTEGER, session TEXT, first_touch TEXT,
    last_touch TEXT, consent TEXT);
    CREATE INDEX events_site_ts ON events (site, ts);
    CREATE INDEX events_site_session ON events (site, session);
    CREATE TABLE batches (batch TEXT PRIMARY KEY, site TEXT NOT NULL, events INTEGER NOT NULL,
    dropped INTEGER NOT NULL, received INTEGER NOT NULL);
    CREATE TABLE receipts (site TEXT PRIMARY KEY, batches INTEGER NOT NULL, events INTEGER NOT NULL,
    duplicates INTEGER NOT NULL);
    PRAGMA user_version = 6;";

#[tokio::test]
async fn an_old_database_with_forged_values_migrates_and_reports_stay_finite() {
    if common::on_postgres() {
        return; // an SQLite file's history; PostgreSQL starts at this schema
    }
    let path = std::env::temp_dir().join(format!("goalpost-v6-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(V6).unwrap();
        let first = r#"{"channel":"paid_search","source":"google","campaign":"=HYPERLINK(\"x\")"}"#;
        for (i, value, session) in [
            (1, 1e308, Some("s1")),
            (2, 1e308, None),
            (3, 12.5, Some("s1")),
        ] {
            c.execute(
                "INSERT INTO events (id, site, type, ts, page, url, goal, kind, batch, received,
                 value, currency, session, first_touch, last_touch)
                 VALUES (?1, 'shop', 'conversion', ?2, 'p1', 'u', 'buy', 'macro', 'b', 0, ?3,
                 'EUR', ?4, ?5, ?5)",
                rusqlite::params![hex(i), T0, value, session, first],
            )
            .unwrap();
        }
        c.execute("INSERT INTO batches VALUES ('b', 'shop', 3, -1, 0)", [])
            .unwrap();
    }
    let store = goalpost_collector::Store::sqlite(&path).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(goalpost_collector::serve(
        listener,
        goalpost_collector::app(store, Options::default()),
        Limits::default(),
        std::future::pending(),
    ));
    let r = request(
        addr,
        "GET",
        "/api/report?site=shop&from=2026-11-30&to=2026-11-30",
        "",
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        report["revenue"],
        json!({"EUR": 12.5}),
        "the forged values are not summed"
    );
    assert_eq!(
        report["goals"][0]["conversions"], 3,
        "the conversions still count"
    );
    assert_eq!(
        report["sessions"], 1,
        "the sessionless event joined its page's session"
    );
    let csv = request(
        addr,
        "GET",
        "/api/report.csv?site=shop&from=2026-11-30&to=2026-11-30",
        "",
        b"",
    )
    .await;
    assert!(
        csv.body.contains(",\"'=HYPERLINK(\"\"x\"\")\","),
        "{}",
        csv.body
    );
    assert!(!csv.body.contains("inf"), "{}", csv.body);
    let page: Value =
        serde_json::from_str(&request(addr, "GET", "/api/batches", "", b"").await.body).unwrap();
    assert_eq!(page["batches"][0]["dropped"], 0, "a negative count clamped");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn two_collectors_on_one_database_store_each_event_once() {
    let (a, b) = start_pair().await;
    // every batch goes to both collectors at once (a retry landing on the other instance), and
    // neighbouring batches overlap by half their events
    let mut sends = Vec::new();
    for i in 0..20u64 {
        let body = batch("shop", 500 + i, i * 10..i * 10 + 20);
        for srv in [&a, &b] {
            let (addr, body) = (srv.addr, body.clone());
            sends.push(tokio::spawn(async move {
                request(addr, "POST", "/collect", "", body.as_bytes()).await
            }));
        }
    }
    let mut accepted = 0;
    for s in sends {
        let r = s.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        accepted += serde_json::from_str::<Value>(&r.body).unwrap()["accepted"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(
        accepted, 210,
        "ids 0..210, each accepted by exactly one collector"
    );
    assert_eq!(count(&a, "SELECT count(*) FROM events").await, 210);
    assert_eq!(
        count(&b, "SELECT count(DISTINCT id) FROM events").await,
        210
    );
    let stats: Value =
        serde_json::from_str(&request(b.addr, "GET", "/api/stats", "", b"").await.body).unwrap();
    assert_eq!(stats[0]["events"], 800, "40 batches of 20 received");
    assert_eq!(stats[0]["duplicates"], 590);
}
