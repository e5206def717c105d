//! Shared by the collector's integration tests: a real server on 127.0.0.1 over a real
//! database, a minimal HTTP client, and the stored rows read back.
//!
//! The database is SQLite (a temp file) unless `GOALPOST_TEST_STORE=postgres`: then each server
//! gets a fresh database in the PostgreSQL cluster at `GOALPOST_TEST_POSTGRES` (which
//! `scripts/with-postgres.sh` starts; `npm test` runs these tests on both).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test helpers

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use goalpost_collector::{app, serve, Limits, Options, Store};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A 32-hex-digit id (events, pages, sessions, batches) from a number.
pub fn hex(n: u64) -> String {
    format!("{n:032x}")
}

/// A protocol v1 batch of `events` from `site`, numbered `batch`, sent at `sent`.
pub fn envelope(site: &str, batch: u64, sent: i64, events: Vec<Value>) -> Value {
    serde_json::json!({"v": 1, "site": site, "batch": hex(batch), "sent": sent, "events": events})
}

/// Where a test server's rows are.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub db: Db,
    pub store: Store,
}

fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether these tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("GOALPOST_TEST_STORE").as_deref() == Ok("postgres")
}

/// A fresh, empty store: an SQLite temp file, or a new PostgreSQL database.
pub async fn fresh_store() -> (Store, Db) {
    if on_postgres() {
        let admin = std::env::var("GOALPOST_TEST_POSTGRES").expect(
            "GOALPOST_TEST_STORE=postgres needs GOALPOST_TEST_POSTGRES (scripts/with-postgres.sh)",
        );
        let name = format!("goalpost_test_{}", unique());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        (Store::open(&url).await.unwrap(), Db::Postgres(url))
    } else {
        let path = std::env::temp_dir().join(format!("goalpost-test-{}.sqlite", unique()));
        (Store::sqlite(&path).unwrap(), Db::Sqlite(path))
    }
}

pub async fn start(options: Options) -> Server {
    start_with(options, Limits::default()).await
}

pub async fn start_with(options: Options, limits: Limits) -> Server {
    let (store, db) = fresh_store().await;
    serve_store(store, db, options, limits).await
}

/// Two collectors on one database (two SQLite connections to one file, or two pools on one
/// PostgreSQL database), as behind a load balancer.
pub async fn start_pair() -> (Server, Server) {
    let (store, db) = fresh_store().await;
    let second = match &db {
        Db::Sqlite(path) => (Store::sqlite(path).unwrap(), Db::Sqlite(path.clone())),
        Db::Postgres(url) => (Store::open(url).await.unwrap(), Db::Postgres(url.clone())),
    };
    let a = serve_store(store, db, Options::default(), Limits::default()).await;
    let b = serve_store(second.0, second.1, Options::default(), Limits::default()).await;
    (a, b)
}

async fn serve_store(store: Store, db: Db, options: Options, limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        app(store.clone(), options),
        limits,
        std::future::pending(),
    ));
    Server { addr, db, store }
}

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// A minimal HTTP/1.1 client: one request per connection.
pub async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading a huge body and close; ignore write errors.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// Every stored event, following the pages of `/api/events` (`extra`: request headers).
pub async fn stored_with(srv: &Server, query: &str, extra: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after = String::new();
    loop {
        let path = format!("/api/events?limit=1000&after={after}{query}");
        let r = request(srv.addr, "GET", &path, extra, b"").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page: Value = serde_json::from_str(&r.body).unwrap();
        rows.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => return rows,
        }
    }
}

pub async fn stored(srv: &Server) -> Vec<Value> {
    stored_with(srv, "", "").await
}

/// The rows of `sql` (one integer column) read straight from the database, not through the
/// collector.
pub async fn count(srv: &Server, sql: &str) -> i64 {
    match &srv.db {
        Db::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        }
        Db::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client.query_one(sql, &[]).await.unwrap().get(0)
        }
    }
}
