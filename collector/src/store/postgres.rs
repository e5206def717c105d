//! PostgreSQL: the shared store for several collectors behind a load balancer. A pool of
//! connections (deadpool-postgres over tokio-postgres); the same tables and statements as
//! SQLite (`?N` read as `$N`); migrations run once, under an advisory lock, whichever
//! collector starts first.

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use super::{Cells, Error, EventValues, Group, Page, Receipts, Stored};
use crate::protocol::Batch;

/// Schema migrations, applied in order; `goalpost_schema.version` records how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL,
        site TEXT NOT NULL,
        type TEXT NOT NULL,
        ts BIGINT NOT NULL,
        page TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        referrer TEXT,
        goal TEXT,
        kind TEXT,
        props TEXT,
        batch TEXT NOT NULL,
        received BIGINT NOT NULL,
        value DOUBLE PRECISION,
        currency TEXT,
        category TEXT,
        step BIGINT,
        steps BIGINT,
        session TEXT,
        first_touch TEXT,
        last_touch TEXT,
        consent TEXT,
        first_key TEXT,
        last_key TEXT,
        sk TEXT NOT NULL,
        UNIQUE (site, id)
    );
    CREATE INDEX events_site_ts ON events (site, ts);
    CREATE INDEX events_site_seq ON events (site, seq);
    CREATE INDEX events_site_page ON events (site, page);
    CREATE TABLE batches (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        batch TEXT NOT NULL,
        site TEXT NOT NULL,
        events BIGINT NOT NULL,
        dropped BIGINT NOT NULL,
        received BIGINT NOT NULL,
        UNIQUE (site, batch)
    );
    CREATE INDEX batches_site_seq ON batches (site, seq);
    CREATE TABLE receipts (
        site TEXT PRIMARY KEY,
        batches BIGINT NOT NULL,
        events BIGINT NOT NULL,
        duplicates BIGINT NOT NULL
    );",
    "CREATE TABLE visits (
        site TEXT NOT NULL,
        day BIGINT NOT NULL,
        sk TEXT NOT NULL,
        page_views BIGINT NOT NULL,
        PRIMARY KEY (site, day, sk)
    );
    INSERT INTO visits (site, day, sk, page_views)
    SELECT site, ts / 86400000, sk, count(*) FILTER (WHERE type = 'page_view')
    FROM events GROUP BY 1, 2, 3;
    CREATE INDEX visits_site_sk ON visits (site, sk);
    DROP INDEX events_site_ts;
    CREATE INDEX events_site_type_ts ON events
        (site, type, ts, sk, goal, kind, currency, value, step, first_key, last_key, seq);",
    "ALTER TABLE events ADD COLUMN detail TEXT;
    ALTER TABLE events ADD COLUMN href TEXT;",
];

/// The statements are written with SQLite's `?N`; PostgreSQL numbers them `$N`.
pub fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// An event's insert values that are not its fields as they are.
struct Owned {
    v: EventValues,
    ts: i64,
    step: Option<i64>,
    steps: Option<i64>,
    kind: &'static str,
    goal_kind: Option<&'static str>,
    consent: Option<&'static str>,
}

impl Owned {
    fn of(e: &crate::protocol::Event) -> Owned {
        Owned {
            v: EventValues::of(e),
            ts: e.ts as i64, // validated below 2^45
            step: e.step.map(i64::from),
            steps: e.steps.map(i64::from),
            kind: e.kind.as_str(),
            goal_kind: e.goal_kind.map(|k| k.as_str()),
            consent: e.consent.map(|c| c.as_str()),
        }
    }
}

/// A PostgreSQL store.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

impl Cells for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<Option<String>, Error> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, Error> {
        Ok(self.try_get(i)?)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, Error> {
        Ok(self.try_get(i)?)
    }
}

impl Postgres {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and migrates.
    pub async fn open(url: &str) -> Result<Postgres, Error> {
        let config = tokio_postgres::Config::from_str(url)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()?;
        let store = Postgres { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // one collector migrates; the others wait here, then find it done
        tx.execute("SELECT pg_advisory_xact_lock(7472657031)", &[])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS goalpost_schema (version BIGINT NOT NULL)")
            .await?;
        let done: i64 = tx
            .query_opt("SELECT version FROM goalpost_schema", &[])
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0);
        for m in MIGRATIONS.iter().skip(done.max(0) as usize) {
            tx.batch_execute(m).await?;
        }
        tx.execute("DELETE FROM goalpost_schema", &[]).await?;
        tx.execute(
            "INSERT INTO goalpost_schema (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a validated batch in one transaction.
    pub async fn insert(&self, batch: &Batch, received: i64) -> Result<Stored, Error> {
        let mut client = self.pool.get().await?;
        let insert = client
            .prepare_cached(&dollar_params(super::INSERT_EVENT))
            .await?;
        let join = client
            .prepare_cached(&dollar_params(super::JOIN_PAGE_SESSION))
            .await?;
        let tx = client.transaction().await?;
        let mut accepted = 0;
        let mut visits = super::Visits::default();
        // The events' inserts are pipelined: sent together, answered in order (each still sees
        // the rows of the ones before it, for the page's session).
        let owned: Vec<Owned> = batch.events.iter().map(Owned::of).collect();
        let inserts = batch.events.iter().zip(&owned).map(|(e, o)| {
            let (tx, insert) = (&tx, &insert);
            async move {
                let href = e.detail.as_ref().and_then(|d| d.href.as_deref());
                let args: [&(dyn ToSql + Sync); 26] = [
                    &e.id,
                    &batch.site,
                    &o.kind,
                    &o.ts,
                    &e.page,
                    &e.url,
                    &e.title,
                    &e.referrer,
                    &e.goal,
                    &o.goal_kind,
                    &o.v.props,
                    &batch.batch,
                    &received,
                    &e.value,
                    &e.currency,
                    &e.category,
                    &o.step,
                    &o.steps,
                    &e.session,
                    &o.v.first,
                    &o.v.last,
                    &o.consent,
                    &o.v.first_key,
                    &o.v.last_key,
                    &o.v.detail,
                    &href,
                ];
                let rows: Vec<tokio_postgres::Row> =
                    tx.query_raw(insert, args).await?.try_collect().await?;
                Ok::<_, tokio_postgres::Error>(rows.into_iter().next())
            }
        });
        for (e, row) in batch
            .events
            .iter()
            .zip(futures_util::future::try_join_all(inserts).await?)
        {
            // a row back: stored (none: already stored, a duplicate)
            if let Some(r) = row {
                visits.add(e, r.try_get(0)?);
                accepted += 1;
            }
        }
        for ((day, sk), page_views) in &visits.0 {
            tx.execute(
                &dollar_params(super::ADD_VISIT),
                &[&batch.site, day, sk, page_views],
            )
            .await?;
        }
        for (page, session) in super::page_sessions(batch) {
            if tx.execute(&join, &[&batch.site, &page, &session]).await? > 0 {
                tx.execute(
                    &dollar_params(super::MOVE_VISITS),
                    &[&batch.site, &page, &session],
                )
                .await?;
                tx.execute(
                    &dollar_params(super::DROP_PAGE_VISITS),
                    &[&batch.site, &page],
                )
                .await?;
            }
        }
        let events = batch.events.len() as i64;
        let dropped = batch.dropped.unwrap_or(0) as i64;
        tx.execute(
            &dollar_params(super::INSERT_BATCH),
            &[&batch.batch, &batch.site, &events, &dropped, &received],
        )
        .await?;
        tx.execute(
            &dollar_params(super::COUNT_RECEIPT),
            &[&batch.site, &events, &(events - accepted as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(Stored {
            accepted,
            duplicates: batch.events.len() - accepted,
        })
    }

    /// One page of a listing (`sql` from `list_sql`).
    pub async fn list<T>(
        &self,
        sql: &str,
        site: Option<&str>,
        after: i64,
        limit: usize,
        row: impl Fn(&tokio_postgres::Row) -> Result<(i64, T), Error>,
    ) -> Result<Page<T>, Error> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&dollar_params(sql)).await?;
        let limit64 = limit as i64;
        let rows = match site {
            Some(site) => client.query(&stmt, &[&site, &after, &limit64]).await?,
            None => client.query(&stmt, &[&after, &limit64]).await?,
        };
        let rows = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
        Ok(super::page(rows, limit))
    }

    /// What was received, per site (of one site when given).
    pub async fn receipts(&self, site: Option<&str>) -> Result<Vec<Receipts>, Error> {
        let client = self.pool.get().await?;
        let rows = match site {
            Some(s) => {
                client
                    .query(&dollar_params(super::RECEIPTS_OF_SITE_SQL), &[&s])
                    .await?
            }
            None => client.query(super::RECEIPTS_SQL, &[]).await?,
        };
        rows.iter().map(super::receipts_row).collect()
    }

    /// The grouped rows of one report query.
    pub async fn groups(
        &self,
        q: &crate::report::Query,
        site: &str,
        start: i64,
        end: i64,
        goal: Option<&str>,
    ) -> Result<Vec<Group>, Error> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&dollar_params(q.sql)).await?;
        let args: [&(dyn ToSql + Sync); 4] = [&site, &start, &end, &goal];
        let rows = client
            .query(&stmt, &args[..stmt.params().len().min(4)])
            .await?;
        rows.iter().map(|r| super::group_row(r, q)).collect()
    }

    /// Whether the database answers.
    pub async fn healthy(&self) -> Result<(), Error> {
        let client = self.pool.get().await?;
        client
            .query_one("SELECT count(*) FROM receipts", &[])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn question_mark_parameters_become_dollar_parameters() {
        assert_eq!(
            super::dollar_params("a = ?1 AND b = ?12 AND c = '?' AND d IS NULL"),
            "a = $1 AND b = $12 AND c = '?' AND d IS NULL"
        );
    }
}
