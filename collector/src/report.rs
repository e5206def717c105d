//! Conversion reports: grouped in the database (the same SQL on SQLite and PostgreSQL, in
//! [`QUERIES`]), so a report needs memory for its answer only, not for the events it counts.
//!
//! Definitions (docs/collector.md, Reports, says the same for users):
//! - A *session* is the tracker's session id. An event without one (collected before consent,
//!   in `anonymous` mode) belongs to the session of its page's other events if they have one
//!   (consent given on that page), else to its page alone (the stored session key `sk`).
//!   Sessions are counted over every event in the range.
//! - A goal's *conversion rate* is the sessions with at least one conversion of the goal divided
//!   by all sessions; *macro* and *micro* totals count sessions with any goal of that kind.
//! - *Value* is summed per currency; *revenue* is the value of macro conversions.
//! - A *funnel* step counts the sessions that reached it (`funnel_step` events); `retained` is
//!   that count over step 1's, `from_previous` over the previous step's.
//! - *Attribution* credits each conversion (and its value) to touches: first-touch to the
//!   visitor's first touch, last-touch to the last non-direct touch the conversion carries,
//!   linear in equal parts to the touch path: the session's first touch, then each change of
//!   last touch seen on the session's conversions up to this one (conversions are the events
//!   that carry touches).
//! - Values outside the protocol's range (0 to 1e12) are not summed, so sums stay finite.

use std::collections::{BTreeMap, HashMap};

use crate::store::{Error, Group, Store};

use serde::Serialize;

/// What to report on.
#[derive(Debug, Clone)]
pub struct Range {
    /// First day, inclusive (days since 1970-01-01, UTC).
    pub from: i64,
    /// Last day, inclusive.
    pub to: i64,
}

pub const DAY_MS: i64 = 86_400_000;

impl Range {
    /// The range from query strings `YYYY-MM-DD` (defaults: the 30 days up to `today`).
    pub fn parse(from: Option<&str>, to: Option<&str>, today: i64) -> Result<Range, String> {
        let to = match to {
            Some(s) => {
                parse_date(s).ok_or_else(|| format!("to: {s:?} is not a date YYYY-MM-DD"))?
            }
            None => today,
        };
        let from = match from {
            Some(s) => {
                parse_date(s).ok_or_else(|| format!("from: {s:?} is not a date YYYY-MM-DD"))?
            }
            None => to - 29,
        };
        if from > to {
            return Err("from: is after to".into());
        }
        if to - from > 3660 {
            return Err("from: the range is longer than ten years".into());
        }
        Ok(Range { from, to })
    }

    /// Milliseconds: `[start, end)`.
    pub fn millis(&self) -> (i64, i64) {
        (self.from * DAY_MS, (self.to + 1) * DAY_MS)
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Sessions, sessions with a conversion, and their ratio.
#[derive(Debug, Serialize, PartialEq, Clone, Default)]
pub struct Totals {
    pub conversions: u64,
    pub sessions: u64,
    pub rate: f64,
}

#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct GoalRow {
    pub goal: String,
    pub kind: String,
    pub conversions: u64,
    /// Sessions with at least one conversion of this goal.
    pub sessions: u64,
    pub rate: f64,
    /// Summed value per currency.
    pub value: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct Step {
    pub step: i64,
    pub sessions: u64,
    /// Share of step 1's sessions.
    pub retained: f64,
    /// Share of the previous step's sessions.
    pub from_previous: f64,
}

#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct Funnel {
    pub goal: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct Credit {
    pub channel: String,
    pub source: String,
    pub medium: String,
    pub campaign: String,
    /// Conversions credited (fractions under the linear model).
    pub conversions: f64,
    pub value: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize, PartialEq, Clone, Default)]
pub struct Attribution {
    pub first_touch: Vec<Credit>,
    pub last_touch: Vec<Credit>,
    pub linear: Vec<Credit>,
}

#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct Day {
    pub date: String,
    pub sessions: u64,
    pub page_views: u64,
    pub conversions: u64,
    pub macro_conversions: u64,
    pub micro_conversions: u64,
    pub value: BTreeMap<String, f64>,
}

/// A link or file target of a goal's conversions (`/api/report` `links`).
#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct LinkRow {
    pub goal: String,
    /// The target, as the tracker sent it (scrubbed).
    pub href: String,
    pub conversions: u64,
}

/// The report `/api/report` answers.
#[derive(Debug, Serialize, PartialEq, Clone)]
pub struct Report {
    pub site: String,
    pub from: String,
    pub to: String,
    pub goal: Option<String>,
    pub sessions: u64,
    /// goalpost keeps no visitor identifier: always null.
    pub visitors: Option<u64>,
    pub page_views: u64,
    pub goals: Vec<GoalRow>,
    #[serde(rename = "macro")]
    pub macro_totals: Totals,
    #[serde(rename = "micro")]
    pub micro_totals: Totals,
    /// Value of macro conversions per currency.
    pub revenue: BTreeMap<String, f64>,
    pub funnels: Vec<Funnel>,
    pub attribution: Attribution,
    pub daily: Vec<Day>,
    /// Per link or download goal, its most converted targets: which link, which file.
    pub links: Vec<LinkRow>,
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One report query: its SQL (`?1` site, `?2` start, `?3` end, `?4` goal or null; a query uses
/// the first few) and how many text columns, then numeric columns, it selects.
#[derive(Debug)]
pub struct Query {
    pub sql: &'static str,
    pub texts: usize,
    pub numbers: usize,
}

/// The events of the site and range: `site`, `ts` read from the `events_site_ts` index.
macro_rules! in_range {
    () => {
        " FROM events WHERE site = ?1 AND ts >= ?2 AND ts < ?3 "
    };
}
/// Conversions (and steps) of the goal asked for, or of every goal.
macro_rules! wanted {
    () => {
        " (CAST(?4 AS TEXT) IS NULL OR goal = ?4) "
    };
}
/// A value the protocol allows (rows stored before it had limits may hold others).
macro_rules! value {
    () => {
        " CASE WHEN value >= 0 AND value <= 1e12 THEN value END "
    };
}

/// The days of the range, in the visits table (`?2`, `?3` are day-aligned milliseconds).
macro_rules! visits_in_range {
    () => {
        " FROM visits WHERE site = ?1 AND day >= CAST(?2 AS BIGINT) / 86400000
            AND day < CAST(?3 AS BIGINT) / 86400000 "
    };
}

/// Sessions, page views.
pub const SUMMARY: Query = Query {
    sql: concat!(
        "SELECT CAST(COUNT(DISTINCT sk) AS DOUBLE PRECISION),
                CAST(COALESCE(SUM(page_views), 0) AS DOUBLE PRECISION)",
        visits_in_range!()
    ),
    texts: 0,
    numbers: 2,
};

/// Per goal: kind; conversions, sessions with one.
pub const GOALS: Query = Query {
    sql: concat!(
        "SELECT goal, MIN(kind), CAST(COUNT(*) AS DOUBLE PRECISION),
                CAST(COUNT(DISTINCT sk) AS DOUBLE PRECISION)",
        in_range!(),
        "AND type = 'conversion' AND goal IS NOT NULL AND kind IS NOT NULL AND",
        wanted!(),
        "GROUP BY goal"
    ),
    texts: 2,
    numbers: 2,
};

/// Per kind: conversions, sessions with one.
pub const KINDS: Query = Query {
    sql: concat!(
        "SELECT kind, CAST(COUNT(*) AS DOUBLE PRECISION), CAST(COUNT(DISTINCT sk) AS DOUBLE PRECISION)",
        in_range!(),
        "AND type = 'conversion' AND goal IS NOT NULL AND kind IS NOT NULL AND",
        wanted!(),
        "GROUP BY kind"
    ),
    texts: 1,
    numbers: 2,
};

/// Per goal, kind and currency: the summed value.
pub const VALUES: Query = Query {
    sql: concat!(
        "SELECT goal, kind, currency, SUM(",
        value!(),
        ")",
        in_range!(),
        "AND type = 'conversion' AND goal IS NOT NULL AND kind IS NOT NULL
         AND currency IS NOT NULL AND",
        wanted!(),
        "GROUP BY goal, kind, currency"
    ),
    texts: 3,
    numbers: 1,
};

/// Per funnel and step (0-based): sessions that reached it.
pub const FUNNELS: Query = Query {
    sql: concat!(
        "SELECT goal, CAST(step AS DOUBLE PRECISION), CAST(COUNT(DISTINCT sk) AS DOUBLE PRECISION)",
        in_range!(),
        "AND type = 'funnel_step' AND goal IS NOT NULL AND step IS NOT NULL AND",
        wanted!(),
        "GROUP BY goal, step"
    ),
    texts: 1,
    numbers: 2,
};

/// Per day: sessions, page views.
pub const DAILY: Query = Query {
    sql: concat!(
        "SELECT CAST(day AS DOUBLE PRECISION), CAST(COUNT(*) AS DOUBLE PRECISION),
                CAST(SUM(page_views) AS DOUBLE PRECISION)",
        visits_in_range!(),
        "GROUP BY day"
    ),
    texts: 0,
    numbers: 3,
};

/// Per day: conversions, macro conversions, micro conversions.
pub const DAILY_CONVERSIONS: Query = Query {
    sql: concat!(
        "SELECT CAST(ts / 86400000 AS DOUBLE PRECISION), CAST(COUNT(*) AS DOUBLE PRECISION),
           CAST(SUM(CASE WHEN kind = 'macro' THEN 1 ELSE 0 END) AS DOUBLE PRECISION),
           CAST(SUM(CASE WHEN kind IS NULL OR kind <> 'macro' THEN 1 ELSE 0 END) AS DOUBLE PRECISION)",
        in_range!(),
        "AND type = 'conversion' AND",
        wanted!(),
        "GROUP BY ts / 86400000"
    ),
    texts: 0,
    numbers: 4,
};

/// Per day and currency: the summed value of conversions.
pub const DAILY_VALUES: Query = Query {
    sql: concat!(
        "SELECT currency, CAST(ts / 86400000 AS DOUBLE PRECISION), SUM(",
        value!(),
        ")",
        in_range!(),
        "AND type = 'conversion' AND currency IS NOT NULL AND",
        wanted!(),
        "GROUP BY ts / 86400000, currency"
    ),
    texts: 1,
    numbers: 2,
};

/// First-touch credit per touch key and currency: conversions, value.
pub const FIRST_TOUCH: Query = Query {
    sql: concat!(
        "SELECT COALESCE(first_key, last_key), currency, CAST(COUNT(*) AS DOUBLE PRECISION), SUM(",
        value!(),
        ")",
        in_range!(),
        "AND type = 'conversion' AND",
        wanted!(),
        "GROUP BY COALESCE(first_key, last_key), currency"
    ),
    texts: 2,
    numbers: 2,
};

/// Last-touch credit per touch key and currency: conversions, value.
pub const LAST_TOUCH: Query = Query {
    sql: concat!(
        "SELECT COALESCE(last_key, first_key), currency, CAST(COUNT(*) AS DOUBLE PRECISION), SUM(",
        value!(),
        ")",
        in_range!(),
        "AND type = 'conversion' AND",
        wanted!(),
        "GROUP BY COALESCE(last_key, first_key), currency"
    ),
    texts: 2,
    numbers: 2,
};

/// Linear credit per touch key and currency: each conversion's credit (and value) shared
/// equally along its session's touch path up to it. The path is the first touch, then each
/// change of last touch over the session's conversions in time order; a conversion's path is
/// the first `len` points of its session's path (`len` a running count), so the credit is one
/// equi-join on the session, with no per-row search.
pub const LINEAR: Query = Query {
    sql: concat!(
        "WITH c AS (
           SELECT seq, ts, sk, goal, currency,",
        value!(),
        "AS v, COALESCE(first_key, last_key) AS fk, COALESCE(last_key, first_key) AS lk",
        in_range!(),
        "AND type = 'conversion'),
         o AS (
           SELECT c.*, ROW_NUMBER() OVER w AS n, LAG(lk) OVER w AS prev,
                  FIRST_VALUE(fk) OVER w AS sfk
           FROM c WINDOW w AS (PARTITION BY sk ORDER BY ts, seq)),
         ch AS (
           SELECT o.*, CASE WHEN (n = 1 AND lk IS DISTINCT FROM sfk)
                              OR (n > 1 AND lk IS DISTINCT FROM prev) THEN 1 ELSE 0 END AS chg
           FROM o),
         l AS (
           SELECT ch.*, 1 + SUM(chg) OVER (PARTITION BY sk ORDER BY ts, seq
                                          ROWS UNBOUNDED PRECEDING) AS len
           FROM ch),
         points AS (
           SELECT sk, 1 AS k, sfk AS touch FROM l WHERE n = 1
           UNION ALL
           SELECT sk, len AS k, lk AS touch FROM l WHERE chg = 1)
         SELECT p.touch, l.currency, CAST(SUM(1.0 / l.len) AS DOUBLE PRECISION),
                CAST(SUM(l.v / l.len) AS DOUBLE PRECISION)
         FROM l JOIN points p ON p.sk = l.sk AND p.k <= l.len
         WHERE (CAST(?4 AS TEXT) IS NULL OR l.goal = ?4)
         GROUP BY p.touch, l.currency"
    ),
    texts: 2,
    numbers: 2,
};

/// Per goal and link target: conversions (link and download goals send what they followed).
pub const LINKS: Query = Query {
    sql: concat!(
        "SELECT goal, href, CAST(COUNT(*) AS DOUBLE PRECISION)",
        in_range!(),
        "AND type = 'conversion' AND goal IS NOT NULL AND href IS NOT NULL AND",
        wanted!(),
        "GROUP BY goal, href"
    ),
    texts: 2,
    numbers: 1,
};

/// The most link targets a report lists per goal.
pub const TOP_LINKS: usize = 20;

/// Every report query.
pub const QUERIES: [&Query; 12] = [
    &SUMMARY,
    &GOALS,
    &KINDS,
    &VALUES,
    &FUNNELS,
    &DAILY,
    &DAILY_CONVERSIONS,
    &DAILY_VALUES,
    &FIRST_TOUCH,
    &LAST_TOUCH,
    &LINEAR,
    &LINKS,
];

type TouchKey = (String, String, String, String);

/// A stored touch key (`channel` U+001F `source` U+001F `medium` U+001F `campaign`) as its
/// parts; no touch (or no channel) is `anonymous`.
fn touch_parts(key: Option<&str>) -> TouchKey {
    let mut p = key.unwrap_or("").split('\u{1f}').map(str::to_string);
    let channel = p.next().unwrap_or_default();
    (
        if channel.is_empty() {
            "anonymous".into()
        } else {
            channel
        },
        p.next().unwrap_or_default(),
        p.next().unwrap_or_default(),
        p.next().unwrap_or_default(),
    )
}

#[derive(Default)]
struct CreditSum {
    conversions: f64,
    value: BTreeMap<String, f64>,
}

/// Credits from rows `(touch key, currency; conversions, value)`, largest first.
fn credits(rows: &[Group]) -> Vec<Credit> {
    let mut map: HashMap<TouchKey, CreditSum> = HashMap::new();
    for r in rows {
        let c = map.entry(touch_parts(r.t[0].as_deref())).or_default();
        c.conversions += r.n[0].unwrap_or(0.0);
        add(&mut c.value, r.t[1].as_deref(), r.n[1]);
    }
    let mut rows: Vec<Credit> = map
        .into_iter()
        .map(|((channel, source, medium, campaign), c)| Credit {
            channel,
            source,
            medium,
            campaign,
            conversions: c.conversions,
            value: c.value,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.conversions.total_cmp(&a.conversions).then_with(|| {
            (&a.channel, &a.source, &a.medium, &a.campaign).cmp(&(
                &b.channel,
                &b.source,
                &b.medium,
                &b.campaign,
            ))
        })
    });
    rows
}

/// Adds a summed value to a per-currency map (no currency or no value: nothing).
fn add(map: &mut BTreeMap<String, f64>, currency: Option<&str>, value: Option<f64>) {
    if let (Some(c), Some(v)) = (currency, value.filter(|v| v.is_finite())) {
        *map.entry(c.to_string()).or_insert(0.0) += v;
    }
}

fn count(x: Option<f64>) -> u64 {
    x.unwrap_or(0.0).max(0.0) as u64
}

/// The report of `site`'s events in `range` (conversions and steps of `goal` only, if given),
/// from the store's grouped rows.
pub async fn compute(
    store: &Store,
    site: &str,
    range: &Range,
    goal: Option<&str>,
) -> Result<Report, Error> {
    let mut answers = Vec::with_capacity(QUERIES.len());
    for q in QUERIES {
        answers.push(
            store
                .groups(
                    q,
                    site.to_string(),
                    range.millis(),
                    goal.map(str::to_string),
                )
                .await?,
        );
    }
    Ok(assemble(site, range, goal, &answers))
}

/// The report from the answers to [`QUERIES`], in order.
pub fn assemble(site: &str, range: &Range, goal: Option<&str>, answers: &[Vec<Group>]) -> Report {
    let [summary, goals, kinds, values, funnels, daily, daily_conversions, daily_values, first, last, linear, links] =
        answers
    else {
        unreachable!("one answer per query")
    };
    let sessions = summary.first().map_or(0, |r| count(r.n[0]));
    let page_views = summary.first().map_or(0, |r| count(r.n[1]));
    let mut goal_rows: Vec<GoalRow> = goals
        .iter()
        .map(|r| GoalRow {
            goal: r.t[0].clone().unwrap_or_default(),
            kind: r.t[1].clone().unwrap_or_default(),
            conversions: count(r.n[0]),
            sessions: count(r.n[1]),
            rate: rate(count(r.n[1]), sessions),
            value: BTreeMap::new(),
        })
        .collect();
    goal_rows.sort_by(|a, b| a.goal.cmp(&b.goal));
    let mut revenue = BTreeMap::new();
    for r in values {
        if let Some(g) = goal_rows
            .iter_mut()
            .find(|g| Some(&g.goal) == r.t[0].as_ref())
        {
            add(&mut g.value, r.t[2].as_deref(), r.n[0]);
        }
        if r.t[1].as_deref() == Some("macro") {
            add(&mut revenue, r.t[2].as_deref(), r.n[0]);
        }
    }
    let totals = |k: &str| {
        kinds
            .iter()
            .find(|r| r.t[0].as_deref() == Some(k))
            .map(|r| Totals {
                conversions: count(r.n[0]),
                sessions: count(r.n[1]),
                rate: rate(count(r.n[1]), sessions),
            })
            .unwrap_or_default()
    };
    // funnels: `step` is 0-based on the wire; reports number steps from 1
    let mut by_funnel: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for r in funnels {
        by_funnel
            .entry(r.t[0].clone().unwrap_or_default())
            .or_default()
            .insert(r.n[0].unwrap_or(0.0) as i64 + 1, count(r.n[1]));
    }
    let funnels = by_funnel
        .into_iter()
        .map(|(g, by_step)| {
            let last = by_step.keys().max().copied().unwrap_or(0);
            let at = |s: i64| by_step.get(&s).copied().unwrap_or(0);
            Funnel {
                goal: g,
                steps: (1..=last)
                    .map(|s| Step {
                        step: s,
                        sessions: at(s),
                        retained: rate(at(s), at(1)),
                        from_previous: if s == 1 { 1.0 } else { rate(at(s), at(s - 1)) },
                    })
                    .collect(),
            }
        })
        .collect();
    let mut days: BTreeMap<i64, Day> = (range.from..=range.to)
        .map(|d| {
            (
                d,
                Day {
                    date: format_day(d),
                    sessions: 0,
                    page_views: 0,
                    conversions: 0,
                    macro_conversions: 0,
                    micro_conversions: 0,
                    value: BTreeMap::new(),
                },
            )
        })
        .collect();
    for r in daily {
        if let Some(d) = days.get_mut(&(r.n[0].unwrap_or(-1.0) as i64)) {
            d.sessions = count(r.n[1]);
            d.page_views = count(r.n[2]);
        }
    }
    for r in daily_conversions {
        if let Some(d) = days.get_mut(&(r.n[0].unwrap_or(-1.0) as i64)) {
            d.conversions = count(r.n[1]);
            d.macro_conversions = count(r.n[2]);
            d.micro_conversions = count(r.n[3]);
        }
    }
    for r in daily_values {
        if let Some(d) = days.get_mut(&(r.n[0].unwrap_or(-1.0) as i64)) {
            add(&mut d.value, r.t[0].as_deref(), r.n[1]);
        }
    }
    Report {
        site: site.to_string(),
        from: format_day(range.from),
        to: format_day(range.to),
        goal: goal.map(str::to_string),
        sessions,
        visitors: None,
        page_views,
        goals: goal_rows,
        macro_totals: totals("macro"),
        micro_totals: totals("micro"),
        revenue,
        funnels,
        attribution: Attribution {
            first_touch: credits(first),
            last_touch: credits(last),
            linear: credits(linear),
        },
        daily: days.into_values().collect(),
        links: top_links(links),
    }
}

/// The link rows, per goal (in goal order) the most converted first, at most [`TOP_LINKS`] each.
fn top_links(rows: &[Group]) -> Vec<LinkRow> {
    let mut all: Vec<LinkRow> = rows
        .iter()
        .map(|r| LinkRow {
            goal: r.t[0].clone().unwrap_or_default(),
            href: r.t[1].clone().unwrap_or_default(),
            conversions: count(r.n[0]),
        })
        .collect();
    all.sort_by(|a, b| {
        (&a.goal, std::cmp::Reverse(a.conversions), &a.href).cmp(&(
            &b.goal,
            std::cmp::Reverse(b.conversions),
            &b.href,
        ))
    });
    let mut out: Vec<LinkRow> = Vec::new();
    for r in all {
        if out.iter().filter(|o| o.goal == r.goal).count() < TOP_LINKS {
            out.push(r);
        }
    }
    out
}

/// A text cell: a leading `= + - @`, tab or CR (which a spreadsheet would read as a formula)
/// gets a `'` before it, as OWASP's CSV injection guidance says; then the usual quoting.
/// Campaign names and the like come from URLs anyone can craft.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The columns that say what a CSV figure is (empty where they don't apply).
#[derive(Default, Clone, Copy)]
struct Key<'a> {
    section: &'a str,
    model: &'a str,
    date: &'a str,
    goal: &'a str,
    kind: &'a str,
    step: &'a str,
    channel: &'a str,
    source: &'a str,
    medium: &'a str,
    campaign: &'a str,
    currency: &'a str,
    href: &'a str,
}

struct Csv(String);

impl Csv {
    fn push(&mut self, k: Key, metric: &str, value: impl ToString) {
        for c in [
            k.section, k.model, k.date, k.goal, k.kind, k.step, k.channel, k.source, k.medium,
            k.campaign, k.currency, k.href, metric,
        ] {
            self.0.push_str(&csv_field(c));
            self.0.push(',');
        }
        self.0.push_str(&value.to_string());
        self.0.push('\n');
    }

    /// One `value` row per currency.
    fn values(&mut self, k: Key, values: &BTreeMap<String, f64>) {
        for (currency, v) in values {
            self.push(Key { currency, ..k }, "value", v);
        }
    }
}

/// The report as CSV, one figure per row:
/// `section,model,date,goal,kind,step,channel,source,medium,campaign,currency,href,metric,value`.
pub fn to_csv(r: &Report) -> String {
    let mut out = Csv(String::from(
        "section,model,date,goal,kind,step,channel,source,medium,campaign,currency,href,metric,value\n",
    ));
    let summary = Key {
        section: "summary",
        ..Key::default()
    };
    out.push(summary, "sessions", r.sessions);
    out.push(summary, "page_views", r.page_views);
    for (kind, t) in [("macro", &r.macro_totals), ("micro", &r.micro_totals)] {
        let k = Key {
            section: "kind",
            kind,
            ..Key::default()
        };
        out.push(k, "conversions", t.conversions);
        out.push(k, "sessions", t.sessions);
        out.push(k, "rate", t.rate);
    }
    let revenue = Key {
        section: "revenue",
        kind: "macro",
        ..Key::default()
    };
    out.values(revenue, &r.revenue);
    for g in &r.goals {
        let k = Key {
            section: "goal",
            goal: &g.goal,
            kind: &g.kind,
            ..Key::default()
        };
        out.push(k, "conversions", g.conversions);
        out.push(k, "sessions", g.sessions);
        out.push(k, "rate", g.rate);
        out.values(k, &g.value);
    }
    for f in &r.funnels {
        for s in &f.steps {
            let step = s.step.to_string();
            let k = Key {
                section: "funnel",
                goal: &f.goal,
                step: &step,
                ..Key::default()
            };
            out.push(k, "sessions", s.sessions);
            out.push(k, "retained", s.retained);
            out.push(k, "from_previous", s.from_previous);
        }
    }
    for (model, rows) in [
        ("first_touch", &r.attribution.first_touch),
        ("last_touch", &r.attribution.last_touch),
        ("linear", &r.attribution.linear),
    ] {
        for c in rows {
            let k = Key {
                section: "attribution",
                model,
                channel: &c.channel,
                source: &c.source,
                medium: &c.medium,
                campaign: &c.campaign,
                ..Key::default()
            };
            out.push(k, "conversions", c.conversions);
            out.values(k, &c.value);
        }
    }
    for d in &r.daily {
        let k = Key {
            section: "daily",
            date: &d.date,
            ..Key::default()
        };
        out.push(k, "sessions", d.sessions);
        out.push(k, "page_views", d.page_views);
        out.push(k, "conversions", d.conversions);
        out.push(k, "macro_conversions", d.macro_conversions);
        out.push(k, "micro_conversions", d.micro_conversions);
        out.values(k, &d.value);
    }
    for l in &r.links {
        let k = Key {
            section: "link",
            goal: &l.goal,
            href: &l.href,
            ..Key::default()
        };
        out.push(k, "conversions", l.conversions);
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        for (s, d) in [
            ("1970-01-01", 0),
            ("2000-03-01", 11_017),
            ("2026-11-30", 20_787),
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
            assert_eq!(format_day(d), s);
        }
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-11-30",
            "2026/11/30",
            "",
            "2026-11-3x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert!(Range::parse(Some("2026-12-01"), Some("2026-11-30"), 0).is_err());
        let r = Range::parse(None, None, 100).unwrap();
        assert_eq!((r.from, r.to), (71, 100), "30 days up to today");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        for (cell, want) in [
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("spring-sale", "spring-sale"),
            ("a,b", "\"a,b\""),
        ] {
            assert_eq!(csv_field(cell), want, "{cell:?}");
        }
    }
}
