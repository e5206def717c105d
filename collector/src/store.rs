//! SQLite storage: one table of events, de-duplicated by event id.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::protocol::Batch;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE events (
        id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        page TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        referrer TEXT,
        goal TEXT,
        kind TEXT,
        props TEXT,
        batch TEXT NOT NULL,
        received INTEGER NOT NULL
    );
    CREATE INDEX events_site_ts ON events (site, ts);",
    "ALTER TABLE events ADD COLUMN value REAL;
    ALTER TABLE events ADD COLUMN currency TEXT;
    ALTER TABLE events ADD COLUMN category TEXT;
    ALTER TABLE events ADD COLUMN step INTEGER;
    ALTER TABLE events ADD COLUMN steps INTEGER;",
    "ALTER TABLE events ADD COLUMN session TEXT;
    ALTER TABLE events ADD COLUMN first_touch TEXT;
    ALTER TABLE events ADD COLUMN last_touch TEXT;
    CREATE INDEX events_site_session ON events (site, session);",
    "CREATE TABLE batches (
        batch TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        events INTEGER NOT NULL,
        dropped INTEGER NOT NULL,
        received INTEGER NOT NULL
    );",
    "ALTER TABLE events ADD COLUMN consent TEXT;",
    "CREATE TABLE receipts (
        site TEXT PRIMARY KEY,
        batches INTEGER NOT NULL,
        events INTEGER NOT NULL,
        duplicates INTEGER NOT NULL
    );",
    // Ids unique per site, not across sites; `seq` (the arrival order) is the paging cursor;
    // each touch also as one key column for reports grouped in SQL; values outside the
    // protocol's range (stored before it had one) dropped, so that sums stay finite.
    "CREATE TABLE events_v7 (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        site TEXT NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        page TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        referrer TEXT,
        goal TEXT,
        kind TEXT,
        props TEXT,
        batch TEXT NOT NULL,
        received INTEGER NOT NULL,
        value REAL,
        currency TEXT,
        category TEXT,
        step INTEGER,
        steps INTEGER,
        session TEXT,
        first_touch TEXT,
        last_touch TEXT,
        consent TEXT,
        first_key TEXT,
        last_key TEXT,
        UNIQUE (site, id)
    );
    INSERT INTO events_v7 (seq, id, site, type, ts, page, url, title, referrer, goal, kind, props,
        batch, received, value, currency, category, step, steps, session, first_touch, last_touch,
        consent, first_key, last_key)
    SELECT rowid, id, site, type, ts, page, url, title, referrer, goal, kind, props, batch,
        received, CASE WHEN value >= 0 AND value <= 1e12 THEN value END, currency, category, step,
        steps, session, first_touch, last_touch, consent,
        CASE WHEN first_touch IS NOT NULL THEN
            json_extract(first_touch, '$.channel') || char(31) ||
            coalesce(json_extract(first_touch, '$.source'), '') || char(31) ||
            coalesce(json_extract(first_touch, '$.medium'), '') || char(31) ||
            coalesce(json_extract(first_touch, '$.campaign'), '') END,
        CASE WHEN last_touch IS NOT NULL THEN
            json_extract(last_touch, '$.channel') || char(31) ||
            coalesce(json_extract(last_touch, '$.source'), '') || char(31) ||
            coalesce(json_extract(last_touch, '$.medium'), '') || char(31) ||
            coalesce(json_extract(last_touch, '$.campaign'), '') END
    FROM events ORDER BY rowid;
    DROP TABLE events;
    ALTER TABLE events_v7 RENAME TO events;
    CREATE INDEX events_site_ts ON events (site, ts);
    CREATE INDEX events_site_seq ON events (site, seq);
    CREATE TABLE batches_v7 (
        seq INTEGER PRIMARY KEY,
        batch TEXT NOT NULL,
        site TEXT NOT NULL,
        events INTEGER NOT NULL,
        dropped INTEGER NOT NULL,
        received INTEGER NOT NULL,
        UNIQUE (site, batch)
    );
    INSERT INTO batches_v7 (seq, batch, site, events, dropped, received)
    SELECT rowid, batch, site, events, min(max(dropped, 0), 1000000000), received
    FROM batches ORDER BY rowid;
    DROP TABLE batches;
    ALTER TABLE batches_v7 RENAME TO batches;
    CREATE INDEX batches_site_seq ON batches (site, seq);",
];

/// The most rows one page of `/api/events` or `/api/batches` holds.
pub const MAX_PAGE: usize = 1000;

/// One page of a listing, in the order rows were stored, and the cursor of the next page
/// (`None`: this was the last).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
}

/// A paged listing of the store: `(site, after, limit)` → a page.
pub type Lister<T> = fn(&Store, Option<&str>, i64, usize) -> rusqlite::Result<Page<T>>;

/// Where a listing starts: after the row whose `seq` the cursor holds.
pub fn parse_cursor(after: Option<&str>) -> Result<i64, String> {
    match after {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("after: {s:?} is not a cursor from a previous page")),
    }
}

/// A touch as one key: `channel`, `source`, `medium`, `campaign`, joined by U+001F.
pub fn touch_key(t: &crate::protocol::Touch) -> String {
    let f = |o: &Option<String>| o.clone().unwrap_or_default();
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        t.channel.as_str(),
        f(&t.source),
        f(&t.medium),
        f(&t.campaign)
    )
}

/// What the collector has received for a site, duplicates included (`/api/stats`).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Receipts {
    pub site: String,
    /// Valid batches received, repeats included.
    pub batches: i64,
    /// Events received in them, repeats included.
    pub events: i64,
    /// Events received again after they were stored (retries, a second tab), ignored.
    pub duplicates: i64,
}

/// A stored batch, as `/api/batches` lists it.
#[derive(Debug, Serialize)]
pub struct BatchRow {
    pub batch: String,
    pub site: String,
    pub events: i64,
    pub dropped: i64,
    pub received: i64,
}

/// The store: one writer connection (SQLite serialises writers anyway) and a small pool of
/// read-only connections, so that WAL lets a long read run beside the writer instead of
/// waiting for it.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// Read connections kept open between reads.
const IDLE_READERS: usize = 4;

/// The outcome of storing one batch.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Stored {
    /// New events written.
    pub accepted: usize,
    /// Events already stored (a retry, or a second tab), ignored.
    pub duplicates: usize,
}

/// A stored event, as `/api/events` lists it.
#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub site: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub ts: i64,
    pub page: String,
    pub url: String,
    pub title: Option<String>,
    pub referrer: Option<String>,
    pub goal: Option<String>,
    #[serde(rename = "kind")]
    pub goal_kind: Option<String>,
    pub props: Option<serde_json::Value>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub category: Option<String>,
    pub step: Option<i64>,
    pub steps: Option<i64>,
    pub session: Option<String>,
    pub first: Option<serde_json::Value>,
    pub last: Option<serde_json::Value>,
    pub consent: Option<String>,
    pub batch: String,
    pub received: i64,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Store {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on a read-only connection from the pool (opening one if none is idle).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
        };
        let out = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Stores a validated batch in one transaction.
    pub fn insert(&self, batch: &Batch, received: i64) -> rusqlite::Result<Stored> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let mut accepted = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (id, site, type, ts, page, url, title, referrer, goal, kind, props, batch, received,
                  value, currency, category, step, steps, session, first_touch, last_touch, consent,
                  first_key, last_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                  ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            )?;
            for e in &batch.events {
                let props = e
                    .props
                    .as_ref()
                    .map(|p| serde_json::to_string(p).unwrap_or_default());
                accepted += stmt.execute(params![
                    e.id,
                    batch.site,
                    e.kind.as_str(),
                    e.ts as i64, // validated below 2^45
                    e.page,
                    e.url,
                    e.title,
                    e.referrer,
                    e.goal,
                    e.goal_kind.map(|k| k.as_str()),
                    props,
                    batch.batch,
                    received,
                    e.value,
                    e.currency,
                    e.category,
                    e.step,
                    e.steps,
                    e.session,
                    e.first
                        .as_ref()
                        .map(|t| serde_json::to_string(t).unwrap_or_default()),
                    e.last
                        .as_ref()
                        .map(|t| serde_json::to_string(t).unwrap_or_default()),
                    e.consent.map(|c| c.as_str()),
                    e.first.as_ref().map(touch_key),
                    e.last.as_ref().map(touch_key)
                ])?;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO batches (batch, site, events, dropped, received) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![batch.batch, batch.site, batch.events.len() as i64, batch.dropped.unwrap_or(0) as i64, received],
        )?;
        tx.execute(
            "INSERT INTO receipts (site, batches, events, duplicates) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT (site) DO UPDATE SET batches = batches + 1, events = events + ?2,
             duplicates = duplicates + ?3",
            params![
                batch.site,
                batch.events.len() as i64,
                (batch.events.len() - accepted) as i64
            ],
        )?;
        tx.commit()?;
        Ok(Stored {
            accepted,
            duplicates: batch.events.len() - accepted,
        })
    }

    /// One page of stored events in the order they were stored, after the cursor `after`;
    /// of one site when given. Both forms read an index (`events_site_seq`, the table itself).
    pub fn events(
        &self,
        site: Option<&str>,
        after: i64,
        limit: usize,
    ) -> rusqlite::Result<Page<Row>> {
        const COLUMNS: &str = "SELECT seq, id, site, type, ts, page, url, title, referrer, goal,
            kind, props, batch, received, value, currency, category, step, steps, session,
            first_touch, last_touch, consent FROM events";
        let sql = match site {
            Some(_) => format!("{COLUMNS} WHERE site = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"),
            None => format!("{COLUMNS} WHERE ?1 IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3"),
        };
        let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![site, after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Row {
                        id: r.get(1)?,
                        site: r.get(2)?,
                        kind: r.get(3)?,
                        ts: r.get(4)?,
                        page: r.get(5)?,
                        url: r.get(6)?,
                        title: r.get(7)?,
                        referrer: r.get(8)?,
                        goal: r.get(9)?,
                        goal_kind: r.get(10)?,
                        props: json(r.get(11)?),
                        batch: r.get(12)?,
                        received: r.get(13)?,
                        value: r.get(14)?,
                        currency: r.get(15)?,
                        category: r.get(16)?,
                        step: r.get(17)?,
                        steps: r.get(18)?,
                        session: r.get(19)?,
                        first: json(r.get(20)?),
                        last: json(r.get(21)?),
                        consent: r.get(22)?,
                    },
                ))
            })?;
            page(rows.collect::<rusqlite::Result<Vec<_>>>()?, limit)
        })
    }

    /// One page of stored batches in the order they were stored (see [`Store::events`]).
    pub fn batches(
        &self,
        site: Option<&str>,
        after: i64,
        limit: usize,
    ) -> rusqlite::Result<Page<BatchRow>> {
        let sql = match site {
            Some(_) => {
                "SELECT seq, batch, site, events, dropped, received FROM batches
                        WHERE site = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            }
            None => {
                "SELECT seq, batch, site, events, dropped, received FROM batches
                     WHERE ?1 IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3"
            }
        };
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![site, after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    BatchRow {
                        batch: r.get(1)?,
                        site: r.get(2)?,
                        events: r.get(3)?,
                        dropped: r.get(4)?,
                        received: r.get(5)?,
                    },
                ))
            })?;
            page(rows.collect::<rusqlite::Result<Vec<_>>>()?, limit)
        })
    }

    /// What was received, per site (of one site when given).
    pub fn receipts(&self, site: Option<&str>) -> rusqlite::Result<Vec<Receipts>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT site, batches, events, duplicates FROM receipts
                 WHERE (?1 IS NULL OR site = ?1) ORDER BY site",
            )?;
            let rows = stmt.query_map([site], |r| {
                Ok(Receipts {
                    site: r.get(0)?,
                    batches: r.get(1)?,
                    events: r.get(2)?,
                    duplicates: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The events of `site` with `start <= ts < end`, in time order, as reports read them.
    pub fn facts(
        &self,
        site: &str,
        (start, end): (i64, i64),
    ) -> rusqlite::Result<Vec<crate::report::Fact>> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare_cached(
            "SELECT type, ts, session, page, goal, kind, value, currency, step,
                    first_touch, last_touch
             FROM events WHERE site = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, rowid",
        )?;
        let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
        let rows = stmt.query_map(params![site, start, end], |r| {
            Ok(crate::report::Fact {
                kind: r.get(0)?,
                ts: r.get(1)?,
                session: r.get(2)?,
                page: r.get(3)?,
                goal: r.get(4)?,
                goal_kind: r.get(5)?,
                value: r.get(6)?,
                currency: r.get(7)?,
                step: r.get(8)?,
                first: json(r.get(9)?),
                last: json(r.get(10)?),
            })
        })?;
        rows.collect()
    }

    /// Whether the database answers (for `/health`).
    pub fn healthy(&self) -> bool {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM receipts", [], |r| r.get::<_, i64>(0))
                .optional()
        })
        .is_ok()
    }
}

/// A page of `(seq, row)` read with `LIMIT limit`: the next cursor is the last `seq` when the
/// page is full.
fn page<T>(rows: Vec<(i64, T)>, limit: usize) -> rusqlite::Result<Page<T>> {
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|(seq, _)| seq.to_string()))
        .flatten();
    Ok(Page {
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        next,
    })
}
