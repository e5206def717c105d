//! Storage: SQLite (a file; the embedded default) or PostgreSQL (a `postgres://` URL, shared by
//! any number of collectors). Both hold the same tables (`events`, `batches`, `receipts`), store
//! each batch in one transaction, ignore an event whose `(site, id)` is already stored, and
//! answer the same SQL: the statements below are written once, with `?N` parameters (PostgreSQL
//! reads them as `$N`), and reports are grouped in the database ([`crate::report`]).

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use serde::Serialize;

use crate::protocol::{Batch, Touch};

/// A storage error (the collector answers 503 and logs it).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The most rows one page of `/api/events` or `/api/batches` holds.
pub const MAX_PAGE: usize = 1000;

/// One page of a listing, in the order rows were stored, and the cursor of the next page
/// (`None`: this was the last).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
}

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

/// A page of `(seq, row)` read with `LIMIT limit`: the next cursor is the last `seq` when the
/// page is full.
fn page<T>(rows: Vec<(i64, T)>, limit: usize) -> Page<T> {
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|(seq, _)| seq.to_string()))
        .flatten();
    Page {
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        next,
    }
}

/// A touch as one key: `channel`, `source`, `medium`, `campaign`, joined by U+001F.
pub fn touch_key(t: &Touch) -> String {
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
    /// What a link or download goal's click followed (`href`, `link`, `network`, `ext`).
    pub detail: Option<serde_json::Value>,
    pub batch: String,
    pub received: i64,
}

/// One event's insert (`?1`..`?26`). The session key `sk` (the session a report counts the
/// event in) is the event's session, else the first session stored for its page, else its
/// page.
const INSERT_EVENT: &str = "INSERT INTO events
    (id, site, type, ts, page, url, title, referrer, goal, kind, props, batch, received,
     value, currency, category, step, steps, session, first_touch, last_touch, consent,
     first_key, last_key, detail, href, sk)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
     ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26,
     COALESCE(?19, (SELECT session FROM events WHERE site = ?2 AND page = ?5
                    AND session IS NOT NULL ORDER BY seq LIMIT 1), ?5))
    ON CONFLICT (site, id) DO NOTHING
    RETURNING sk";

/// Adds a batch's page views to its visits (`?1` site, `?2` day, `?3` session key, `?4` page
/// views): one row per session and day, so that reports count sessions without reading every
/// event.
const ADD_VISIT: &str = "INSERT INTO visits (site, day, sk, page_views) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (site, day, sk) DO UPDATE SET page_views = visits.page_views + ?4";

/// A page's visits move to the session it joined (`?1` site, `?2` page, `?3` session), and
/// the page's own rows go.
const MOVE_VISITS: &str = "INSERT INTO visits (site, day, sk, page_views)
    SELECT site, day, ?3, page_views FROM visits WHERE site = ?1 AND sk = ?2
    ON CONFLICT (site, day, sk) DO UPDATE SET page_views = visits.page_views + excluded.page_views";
const DROP_PAGE_VISITS: &str = "DELETE FROM visits WHERE site = ?1 AND sk = ?2";

/// A page's events stored before its session was known (consent came later on the page) join
/// that session (`?1` site, `?2` page, `?3` session).
const JOIN_PAGE_SESSION: &str = "UPDATE events SET sk = ?3
    WHERE site = ?1 AND page = ?2 AND session IS NULL AND sk = page";

const INSERT_BATCH: &str = "INSERT INTO batches (batch, site, events, dropped, received)
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (site, batch) DO NOTHING";

const COUNT_RECEIPT: &str = "INSERT INTO receipts (site, batches, events, duplicates)
    VALUES (?1, 1, ?2, ?3)
    ON CONFLICT (site) DO UPDATE SET batches = receipts.batches + 1,
        events = receipts.events + ?2, duplicates = receipts.duplicates + ?3";

/// The columns `/api/events` reads, in [`Row`]'s order after `seq`.
const EVENT_COLUMNS: &str = "seq, id, site, type, ts, page, url, title, referrer, goal, kind,
    props, batch, received, value, currency, category, step, steps, session, first_touch,
    last_touch, consent, detail";

/// What `/api/events` and `/api/batches` page through, by arrival (`seq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Events,
    Batches,
}

/// A listed row, serialised as it is.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Listed {
    Event(Box<Row>),
    Batch(BatchRow),
}

impl Listing {
    /// The key its rows go under in the answer (and the table's name).
    pub fn key(self) -> &'static str {
        match self {
            Listing::Events => "events",
            Listing::Batches => "batches",
        }
    }

    /// One page's query: after a `seq`, of one site or of all.
    fn sql(self, by_site: bool) -> String {
        let (table, columns) = (
            self.key(),
            match self {
                Listing::Events => EVENT_COLUMNS,
                Listing::Batches => BATCH_COLUMNS,
            },
        );
        if by_site {
            format!(
                "SELECT {columns} FROM {table} WHERE site = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            )
        } else {
            format!("SELECT {columns} FROM {table} WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        }
    }

    /// A result row: its `seq` and what is listed.
    fn row(self, r: &impl Cells) -> Result<(i64, Listed), Error> {
        Ok(match self {
            Listing::Events => {
                let (seq, row) = event_row(r)?;
                (seq, Listed::Event(Box::new(row)))
            }
            Listing::Batches => {
                let (seq, row) = batch_row(r)?;
                (seq, Listed::Batch(row))
            }
        })
    }
}

const BATCH_COLUMNS: &str = "seq, batch, site, events, dropped, received";

const RECEIPTS_SQL: &str = "SELECT site, batches, events, duplicates FROM receipts ORDER BY site";
const RECEIPTS_OF_SITE_SQL: &str =
    "SELECT site, batches, events, duplicates FROM receipts WHERE site = ?1";

/// The values of one event's insert that are written as text (the rest are its fields).
struct EventValues {
    detail: Option<String>,
    props: Option<String>,
    first: Option<String>,
    last: Option<String>,
    first_key: Option<String>,
    last_key: Option<String>,
}

impl EventValues {
    fn of(e: &crate::protocol::Event) -> EventValues {
        let json = |v: Option<&Touch>| v.map(|t| serde_json::to_string(t).unwrap_or_default());
        EventValues {
            detail: e
                .detail
                .as_ref()
                .map(|d| serde_json::to_string(d).unwrap_or_default()),
            props: e
                .props
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default()),
            first: json(e.first.as_ref()),
            last: json(e.last.as_ref()),
            first_key: e.first.as_ref().map(touch_key),
            last_key: e.last.as_ref().map(touch_key),
        }
    }
}

/// Reads the cells of a result row, whichever database it came from.
trait Cells {
    fn text(&self, i: usize) -> Result<Option<String>, Error>;
    fn int(&self, i: usize) -> Result<Option<i64>, Error>;
    fn real(&self, i: usize) -> Result<Option<f64>, Error>;
    fn req_text(&self, i: usize) -> Result<String, Error> {
        self.text(i)?
            .ok_or_else(|| format!("column {i}: null").into())
    }
    fn req_int(&self, i: usize) -> Result<i64, Error> {
        self.int(i)?
            .ok_or_else(|| format!("column {i}: null").into())
    }
}

fn event_row(r: &impl Cells) -> Result<(i64, Row), Error> {
    let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
    Ok((
        r.req_int(0)?,
        Row {
            id: r.req_text(1)?,
            site: r.req_text(2)?,
            kind: r.req_text(3)?,
            ts: r.req_int(4)?,
            page: r.req_text(5)?,
            url: r.req_text(6)?,
            title: r.text(7)?,
            referrer: r.text(8)?,
            goal: r.text(9)?,
            goal_kind: r.text(10)?,
            props: json(r.text(11)?),
            batch: r.req_text(12)?,
            received: r.req_int(13)?,
            value: r.real(14)?,
            currency: r.text(15)?,
            category: r.text(16)?,
            step: r.int(17)?,
            steps: r.int(18)?,
            session: r.text(19)?,
            first: json(r.text(20)?),
            last: json(r.text(21)?),
            consent: r.text(22)?,
            detail: json(r.text(23)?),
        },
    ))
}

fn batch_row(r: &impl Cells) -> Result<(i64, BatchRow), Error> {
    Ok((
        r.req_int(0)?,
        BatchRow {
            batch: r.req_text(1)?,
            site: r.req_text(2)?,
            events: r.req_int(3)?,
            dropped: r.req_int(4)?,
            received: r.req_int(5)?,
        },
    ))
}

fn receipts_row(r: &impl Cells) -> Result<Receipts, Error> {
    Ok(Receipts {
        site: r.req_text(0)?,
        batches: r.req_int(1)?,
        events: r.req_int(2)?,
        duplicates: r.req_int(3)?,
    })
}

/// One grouped row of a report query: its text columns, then its numeric ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub t: Vec<Option<String>>,
    pub n: Vec<Option<f64>>,
}

fn group_row(r: &impl Cells, q: &crate::report::Query) -> Result<Group, Error> {
    Ok(Group {
        t: (0..q.texts).map(|i| r.text(i)).collect::<Result<_, _>>()?,
        n: (q.texts..q.texts + q.numbers)
            .map(|i| r.real(i))
            .collect::<Result<_, _>>()?,
    })
}

/// The store: SQLite or PostgreSQL.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<sqlite::Sqlite>),
    Postgres(postgres::Postgres),
}

/// The visits a batch adds: per `(day, session key)` of its accepted events, their page views.
#[derive(Default)]
struct Visits(std::collections::BTreeMap<(i64, String), i64>);

impl Visits {
    fn add(&mut self, e: &crate::protocol::Event, sk: String) {
        let day = e.ts as i64 / crate::report::DAY_MS;
        let pv = i64::from(e.kind == crate::protocol::EventType::PageView);
        *self.0.entry((day, sk)).or_insert(0) += pv;
    }
}

/// The distinct `(page, session)` pairs of a batch's events that carry a session.
fn page_sessions(batch: &Batch) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = batch
        .events
        .iter()
        .filter_map(|e| Some((e.page.as_str(), e.session.as_deref()?)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

impl Store {
    /// Opens (creating and migrating) the store `spec` names: a `postgres://` or
    /// `postgresql://` URL, else an SQLite file path.
    pub async fn open(spec: &str) -> Result<Store, Error> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::Postgres::open(spec).await?))
        } else {
            Store::sqlite(spec.as_ref())
        }
    }

    /// Opens (creating and migrating) an SQLite file.
    pub fn sqlite(path: &std::path::Path) -> Result<Store, Error> {
        Ok(Store::Sqlite(Arc::new(sqlite::Sqlite::open(path)?)))
    }

    /// Which database this is (for logs and benchmarks).
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Stores a validated batch in one transaction.
    pub async fn insert(&self, batch: Batch, received: i64) -> Result<Stored, Error> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.insert(&batch, received)).await
            }
            Store::Postgres(p) => p.insert(&batch, received).await,
        }
    }

    /// One page of a listing (stored events or batches) in the order they were stored, after
    /// the cursor `after`; of one site when given.
    pub async fn list(
        &self,
        what: Listing,
        site: Option<String>,
        after: i64,
        limit: usize,
    ) -> Result<Page<Listed>, Error> {
        let sql = what.sql(site.is_some());
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.list(&sql, site.as_deref(), after, limit, |r| what.row(r))).await
            }
            Store::Postgres(p) => {
                p.list(&sql, site.as_deref(), after, limit, |r| what.row(r))
                    .await
            }
        }
    }

    /// What was received, per site (of one site when given).
    pub async fn receipts(&self, site: Option<String>) -> Result<Vec<Receipts>, Error> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.receipts(site.as_deref())).await
            }
            Store::Postgres(p) => p.receipts(site.as_deref()).await,
        }
    }

    /// The grouped rows of one report query over `site`'s events with `start <= ts < end`
    /// (conversions and steps of `goal` only, when given).
    pub async fn groups(
        &self,
        q: &'static crate::report::Query,
        site: String,
        (start, end): (i64, i64),
        goal: Option<String>,
    ) -> Result<Vec<Group>, Error> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.groups(q, &site, start, end, goal.as_deref())).await
            }
            Store::Postgres(p) => p.groups(q, &site, start, end, goal.as_deref()).await,
        }
    }

    /// Whether the database answers (for `/health`).
    pub async fn healthy(&self) -> bool {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.healthy()).await.is_ok()
            }
            Store::Postgres(p) => p.healthy().await.is_ok(),
        }
    }
}

/// Runs SQLite work on the blocking pool; a panic there is an error, not a crash.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::from(format!("storage task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_non_negative_numbers() {
        assert_eq!(parse_cursor(None), Ok(0));
        assert_eq!(parse_cursor(Some("")), Ok(0));
        assert_eq!(parse_cursor(Some("42")), Ok(42));
        for bad in ["-1", "x", "1e3", "99999999999999999999"] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
        let p = page(vec![(1, 'a'), (5, 'b')], 2);
        assert_eq!((p.rows, p.next.as_deref()), (vec!['a', 'b'], Some("5")));
        assert_eq!(
            page(vec![(1, 'a')], 2).next,
            None,
            "a short page is the last"
        );
    }
}
