//! SQLite: the embedded default. One writer connection (SQLite serialises writers anyway) and
//! a small pool of read-only connections, so that WAL lets a long read run beside the writer
//! instead of waiting for it. `synchronous = FULL`: a batch acknowledged is on disk, power loss
//! included.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags};

use super::{Cells, Error, EventValues, Group, Page, Receipts, Stored};
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
    // each touch also as one key column, and the session key `sk`, for reports grouped in SQL;
    // values outside the protocol's range (stored before it had one) dropped, so that sums
    // stay finite.
    "CREATE INDEX events_page_v6 ON events (site, page); -- for the session keys below
    CREATE TABLE events_v7 (
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
        sk TEXT NOT NULL,
        UNIQUE (site, id)
    );
    INSERT INTO events_v7 (seq, id, site, type, ts, page, url, title, referrer, goal, kind, props,
        batch, received, value, currency, category, step, steps, session, first_touch, last_touch,
        consent, first_key, last_key, sk)
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
            coalesce(json_extract(last_touch, '$.campaign'), '') END,
        coalesce(session, (SELECT p.session FROM events p
                           WHERE p.site = events.site AND p.page = events.page
                           AND p.session IS NOT NULL ORDER BY p.rowid LIMIT 1), page)
    FROM events ORDER BY rowid;
    DROP TABLE events;
    ALTER TABLE events_v7 RENAME TO events;
    CREATE INDEX events_site_ts ON events (site, ts);
    CREATE INDEX events_site_seq ON events (site, seq);
    CREATE INDEX events_site_page ON events (site, page);
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
    // Visits (a row per session and day) for counting sessions, and conversions and steps read
    // from one covering index, so that a report never reads every event.
    "CREATE TABLE visits (
        site TEXT NOT NULL,
        day INTEGER NOT NULL,
        sk TEXT NOT NULL,
        page_views INTEGER NOT NULL,
        PRIMARY KEY (site, day, sk)
    ) WITHOUT ROWID;
    INSERT INTO visits (site, day, sk, page_views)
    SELECT site, ts / 86400000, sk, sum(type = 'page_view') FROM events GROUP BY 1, 2, 3;
    CREATE INDEX visits_site_sk ON visits (site, sk);
    DROP INDEX events_site_ts;
    CREATE INDEX events_site_type_ts ON events
        (site, type, ts, sk, goal, kind, currency, value, step, first_key, last_key);",
    // what a link or download goal's click followed (`detail` as sent; its `href` alone, for
    // the report's top links)
    "ALTER TABLE events ADD COLUMN detail TEXT;
    ALTER TABLE events ADD COLUMN href TEXT;",
];

/// Read connections kept open between reads.
const IDLE_READERS: usize = 4;

/// An SQLite store.
pub struct Sqlite {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Cells for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, Error> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, Error> {
        Ok(self.get(i)?)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, Error> {
        Ok(self.get(i)?)
    }
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Sqlite, Error> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(Sqlite {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on a read-only connection from the pool (opening one if none is idle).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
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
    pub fn insert(&self, batch: &Batch, received: i64) -> Result<Stored, Error> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let mut accepted = 0;
        let mut visits = super::Visits::default();
        {
            let mut stmt = tx.prepare_cached(super::INSERT_EVENT)?;
            for e in &batch.events {
                let v = EventValues::of(e);
                let mut rows = stmt.query(params![
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
                    v.props,
                    batch.batch,
                    received,
                    e.value,
                    e.currency,
                    e.category,
                    e.step,
                    e.steps,
                    e.session,
                    v.first,
                    v.last,
                    e.consent.map(|c| c.as_str()),
                    v.first_key,
                    v.last_key,
                    v.detail,
                    e.detail.as_ref().and_then(|d| d.href.as_deref()),
                ])?;
                // a row back: stored (none: already stored, a duplicate)
                if let Some(r) = rows.next()? {
                    visits.add(e, r.get(0)?);
                    accepted += 1;
                }
            }
            let mut add = tx.prepare_cached(super::ADD_VISIT)?;
            for ((day, sk), page_views) in &visits.0 {
                add.execute(params![batch.site, day, sk, page_views])?;
            }
            let mut join = tx.prepare_cached(super::JOIN_PAGE_SESSION)?;
            let mut moved = tx.prepare_cached(super::MOVE_VISITS)?;
            let mut dropped = tx.prepare_cached(super::DROP_PAGE_VISITS)?;
            for (page, session) in super::page_sessions(batch) {
                if join.execute(params![batch.site, page, session])? > 0 {
                    moved.execute(params![batch.site, page, session])?;
                    dropped.execute(params![batch.site, page])?;
                }
            }
        }
        let events = batch.events.len() as i64;
        tx.execute(
            super::INSERT_BATCH,
            params![
                batch.batch,
                batch.site,
                events,
                batch.dropped.unwrap_or(0) as i64,
                received
            ],
        )?;
        tx.execute(
            super::COUNT_RECEIPT,
            params![batch.site, events, events - accepted as i64],
        )?;
        tx.commit()?;
        Ok(Stored {
            accepted,
            duplicates: batch.events.len() - accepted,
        })
    }

    /// One page of a listing (`sql` from `list_sql`).
    pub fn list<T>(
        &self,
        sql: &str,
        site: Option<&str>,
        after: i64,
        limit: usize,
        row: impl Fn(&rusqlite::Row<'_>) -> Result<(i64, T), Error>,
    ) -> Result<Page<T>, Error> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = match site {
                Some(site) => stmt.query(params![site, after, limit as i64])?,
                None => stmt.query(params![after, limit as i64])?,
            };
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(row(r)?);
            }
            Ok(super::page(out, limit))
        })
    }

    /// What was received, per site (of one site when given).
    pub fn receipts(&self, site: Option<&str>) -> Result<Vec<Receipts>, Error> {
        self.read(|conn| {
            let (sql, args) = match site {
                Some(s) => (super::RECEIPTS_OF_SITE_SQL, vec![s]),
                None => (super::RECEIPTS_SQL, vec![]),
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(super::receipts_row(r)?);
            }
            Ok(out)
        })
    }

    /// The grouped rows of one report query.
    pub fn groups(
        &self,
        q: &crate::report::Query,
        site: &str,
        start: i64,
        end: i64,
        goal: Option<&str>,
    ) -> Result<Vec<Group>, Error> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(q.sql)?;
            // ?1 site, ?2 start, ?3 end, ?4 goal: a query uses the first few
            let args: [&dyn rusqlite::ToSql; 4] = [&site, &start, &end, &goal];
            let used = stmt.parameter_count().min(4);
            let mut rows = stmt.query(&args[..used])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(super::group_row(r, q)?);
            }
            Ok(out)
        })
    }

    /// Whether the database answers.
    pub fn healthy(&self) -> Result<(), Error> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM receipts", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
    }
}
