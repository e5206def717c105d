//! The collector benchmark's two tools (`npm run bench:collector` runs them; see
//! `scripts/bench-collector.mjs`):
//!
//! - `load drive --url http://127.0.0.1:PORT --clients 16 --seconds 10 --acked FILE`: concurrent
//!   clients post realistic batches (page views, conversions with values and touches, funnel
//!   steps; 1 to 40 events) to `/collect` on kept-alive connections for a fixed time. Prints one
//!   JSON line: requests, events acknowledged, errors, latency percentiles. Every acknowledged
//!   batch is appended to FILE as `first_id count` (ids are consecutive), so that a checker can
//!   find each acknowledged event in the store afterwards, even after a crash.
//! - `load seed --db SPEC --events 1000000`: writes that many such events straight into a store
//!   (SQLite file or PostgreSQL URL) through the collector's own insert path, spread over the
//!   last 30 days, for timing reports on a large site.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Drive {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "bench")]
        site: String,
        #[arg(long, default_value_t = 16)]
        clients: u64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Ids start here (distinct per run, so runs on one database never collide).
        #[arg(long, default_value_t = 1)]
        first_id: u64,
        #[arg(long)]
        acked: String,
    },
    Seed {
        #[arg(long)]
        db: String,
        #[arg(long, default_value = "bench")]
        site: String,
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
}

const DAY_MS: u64 = 86_400_000;
const SIZES: [u64; 8] = [1, 3, 5, 8, 10, 15, 20, 40];
const CHANNELS: [(&str, &str, &str); 4] = [
    ("paid_search", "google", "cpc"),
    ("email", "newsletter", "email"),
    ("organic_search", "bing", "organic"),
    ("social", "mastodon", "social"),
];

fn hex(n: u64) -> String {
    format!("{n:032x}")
}

/// A batch of `count` events with ids `first..first + count`, at `ts`: a visit's page views
/// and, now and then, a conversion (add to cart; a purchase with a value and currency) or a
/// funnel step. Sessions of 64 events; touches on every conversion.
fn batch(site: &str, batch_id: u64, first: u64, count: u64, ts: u64) -> String {
    let session = hex(first / 64 + 7_000_000_000);
    let (channel, source, medium) = CHANNELS[(first / 64 % 4) as usize];
    let touch = format!(
        r#"{{"channel":"{channel}","source":"{source}","medium":"{medium}","campaign":"winter-{}"}}"#,
        first % 3
    );
    let mut events = Vec::with_capacity(count as usize);
    for i in first..first + count {
        let page = hex(i / 4 + 9_000_000_000);
        let common = format!(
            r#""id":"{}","ts":{},"page":"{page}","session":"{session}","consent":"granted","url":"https://shop.example/p/{}?utm_source={source}""#,
            hex(i),
            ts + i % 1000,
            i % 50
        );
        // of 100 events: 4 add-to-carts, 2 funnel steps, 1 purchase, 93 page views (a shop with a
        // few percent of its sessions converting)
        events.push(match i % 100 {
            3 | 28 | 53 | 78 => format!(
                r#"{{{common},"type":"conversion","goal":"add_to_cart","kind":"micro","props":{{"sku":"b-{}"}},"first":{touch},"last":{touch}}}"#,
                i % 20
            ),
            6 | 56 => format!(r#"{{{common},"type":"funnel_step","goal":"checkout","step":{},"steps":3}}"#, i / 50 % 3),
            99 => format!(
                r#"{{{common},"type":"conversion","goal":"purchase","kind":"macro","value":{}.5,"currency":"EUR","first":{touch},"last":{touch}}}"#,
                10 + i % 90
            ),
            _ => format!(
                r#"{{{common},"type":"page_view","title":"Product {}","referrer":"https://www.{source}.com/"}}"#,
                i % 50
            ),
        });
    }
    format!(
        r#"{{"v":1,"site":"{site}","batch":"{}","sent":{ts},"events":[{}]}}"#,
        hex(batch_id),
        events.join(",")
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[derive(Default)]
struct Tally {
    requests: u64,
    events: u64,
    errors: u64,
    micros: Vec<u32>,
    acked: Vec<(u64, u64)>,
}

async fn drive(
    url: String,
    site: String,
    clients: u64,
    seconds: f64,
    first_id: u64,
    acked: String,
) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients as usize)
        .build_http();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url, site, stop) = (client.clone(), url.clone(), site.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            // each client's ids: its own range of a billion
            let mut next = first_id + c * 1_000_000_000;
            let mut k = c as usize;
            while !stop.load(Ordering::Relaxed) {
                let count = SIZES[k % SIZES.len()];
                k += 1;
                let body = batch(&site, ((c + 1) << 40) | next, next, count, now_ms());
                let req = hyper::Request::post(format!("{url}/collect"))
                    .header("content-type", "text/plain;charset=UTF-8")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let sent = Instant::now();
                let ok = match tokio::time::timeout(Duration::from_secs(10), client.request(req))
                    .await
                {
                    Ok(Ok(res)) => {
                        let status = res.status();
                        let ok = res.into_body().collect().await.is_ok() && status == 200;
                        ok
                    }
                    _ => false,
                };
                t.requests += 1;
                if ok {
                    t.micros
                        .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    t.events += count;
                    t.acked.push((next, count));
                } else {
                    t.errors += 1;
                    // a collector that is down: do not spin
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                next += count;
            }
            t
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&acked).unwrap());
    for task in tasks {
        let t = task.await.unwrap();
        all.requests += t.requests;
        all.events += t.events;
        all.errors += t.errors;
        all.micros.extend(t.micros);
        for (first, count) in t.acked {
            writeln!(file, "{first} {count}").unwrap();
        }
    }
    file.flush().unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    all.micros.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.micros.is_empty() {
            return 0.0;
        }
        let i = ((all.micros.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all.micros[i]) / 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "seconds": elapsed,
            "requests": all.requests,
            "acked_requests": all.micros.len(),
            "acked_events": all.events,
            "errors": all.errors,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": pct(1.0),
        })
    );
}

async fn seed(db: String, site: String, events: u64) {
    let store = goalpost_collector::Store::open(&db).await.unwrap();
    let end = now_ms();
    let start = end - 29 * DAY_MS;
    let started = Instant::now();
    let mut n = 0;
    let mut b = 0u64;
    while n < events {
        let count = 150.min(events - n); // within the 64 KiB body limit
        let ts = start + (end - start) * n / events;
        let body = batch(&site, 1 << 50 | b, 10_000_000_000 + n, count, ts);
        let parsed = goalpost_collector::protocol::parse(body.as_bytes()).unwrap();
        store.insert(parsed, end as i64).await.unwrap();
        n += count;
        b += 1;
    }
    println!(
        "{}",
        serde_json::json!({ "seeded": n, "seconds": started.elapsed().as_secs_f64() })
    );
}

#[tokio::main]
async fn main() {
    match Args::parse().cmd {
        Cmd::Drive {
            url,
            site,
            clients,
            seconds,
            first_id,
            acked,
        } => drive(url, site, clients, seconds, first_id, acked).await,
        Cmd::Seed { db, site, events } => seed(db, site, events).await,
    }
}
