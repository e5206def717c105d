//! SQLite storage: one table of events, de-duplicated by event id.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
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
];

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

/// The store. One connection behind a mutex: SQLite serialises writers anyway, and WAL
/// keeps readers off the writer's back.
pub struct Store {
    conn: Mutex<Connection>,
}

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
            conn: Mutex::new(conn),
        })
    }

    /// Stores a validated batch in one transaction.
    pub fn insert(&self, batch: &Batch, received: i64) -> rusqlite::Result<Stored> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let mut accepted = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (id, site, type, ts, page, url, title, referrer, goal, kind, props, batch, received,
                  value, currency, category, step, steps, session, first_touch, last_touch, consent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
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
                    e.consent.map(|c| c.as_str())
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

    /// Stored events, oldest first; of one site when given.
    pub fn events(&self, site: Option<&str>) -> rusqlite::Result<Vec<Row>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare(
            "SELECT id, site, type, ts, page, url, title, referrer, goal, kind, props, batch, received,
                    value, currency, category, step, steps, session, first_touch, last_touch, consent
             FROM events WHERE (?1 IS NULL OR site = ?1) ORDER BY ts, rowid",
        )?;
        let rows = stmt.query_map([site], |r| {
            let props: Option<String> = r.get(10)?;
            Ok(Row {
                id: r.get(0)?,
                site: r.get(1)?,
                kind: r.get(2)?,
                ts: r.get(3)?,
                page: r.get(4)?,
                url: r.get(5)?,
                title: r.get(6)?,
                referrer: r.get(7)?,
                goal: r.get(8)?,
                goal_kind: r.get(9)?,
                props: props.and_then(|p| serde_json::from_str(&p).ok()),
                batch: r.get(11)?,
                received: r.get(12)?,
                value: r.get(13)?,
                currency: r.get(14)?,
                category: r.get(15)?,
                step: r.get(16)?,
                steps: r.get(17)?,
                session: r.get(18)?,
                first: r
                    .get::<_, Option<String>>(19)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
                last: r
                    .get::<_, Option<String>>(20)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
                consent: r.get(21)?,
            })
        })?;
        rows.collect()
    }

    /// Stored batches, oldest first; of one site when given.
    pub fn batches(&self, site: Option<&str>) -> rusqlite::Result<Vec<BatchRow>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare(
            "SELECT batch, site, events, dropped, received FROM batches
             WHERE (?1 IS NULL OR site = ?1) ORDER BY received, rowid",
        )?;
        let rows = stmt.query_map([site], |r| {
            Ok(BatchRow {
                batch: r.get(0)?,
                site: r.get(1)?,
                events: r.get(2)?,
                dropped: r.get(3)?,
                received: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// What was received, per site (of one site when given).
    pub fn receipts(&self, site: Option<&str>) -> rusqlite::Result<Vec<Receipts>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare(
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
    }

    /// The events of `site` with `start <= ts < end`, in time order, as reports read them.
    pub fn facts(
        &self,
        site: &str,
        (start, end): (i64, i64),
    ) -> rusqlite::Result<Vec<crate::report::Fact>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
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
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .optional()
            .is_ok()
    }
}
