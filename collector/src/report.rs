//! Conversion reports: computed from the stored events of one site and date range.
//!
//! Definitions (docs/collector.md, Reports, says the same for users):
//! - A *session* is the tracker's session id. An event without one (collected before consent,
//!   in `anonymous` mode) belongs to the session of its page's other events if they have one
//!   (consent given on that page), else to its page alone. Sessions are counted over every
//!   event in the range.
//! - A goal's *conversion rate* is the sessions with at least one conversion of the goal divided
//!   by all sessions; *macro* and *micro* totals count sessions with any goal of that kind.
//! - *Value* is summed per currency; *revenue* is the value of macro conversions.
//! - A *funnel* step counts the sessions that reached it (`funnel_step` events); `retained` is
//!   that count over step 1's, `from_previous` over the previous step's.
//! - *Attribution* credits each conversion (and its value) to touches: first-touch to the
//!   visitor's first touch, last-touch to the last non-direct touch the conversion carries,
//!   linear in equal parts to the touch path: the first touch, then each change of last touch
//!   seen on the session's events up to the conversion.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// One stored event, the columns a report reads.
#[derive(Debug, Clone)]
pub struct Fact {
    pub kind: String,
    pub ts: i64,
    /// The session id, if the event carries one.
    pub session: Option<String>,
    /// The page view id.
    pub page: String,
    pub goal: Option<String>,
    pub goal_kind: Option<String>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub step: Option<i64>,
    pub first: Option<serde_json::Value>,
    pub last: Option<serde_json::Value>,
}

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
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn add_value(map: &mut BTreeMap<String, f64>, f: &Fact, share: f64) {
    if let (Some(v), Some(c)) = (f.value, &f.currency) {
        *map.entry(c.clone()).or_insert(0.0) += v * share;
    }
}

type TouchKey = (String, String, String, String);

fn touch_key(t: Option<&serde_json::Value>) -> TouchKey {
    let s = |k: &str| {
        t.and_then(|t| t.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let channel = s("channel");
    (
        if channel.is_empty() {
            "anonymous".into()
        } else {
            channel
        },
        s("source"),
        s("medium"),
        s("campaign"),
    )
}

#[derive(Default)]
struct CreditSum {
    conversions: f64,
    value: BTreeMap<String, f64>,
}

fn credits(map: HashMap<TouchKey, CreditSum>) -> Vec<Credit> {
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

/// Each fact's session key: its own session id, else its page's (an event collected before
/// consent on a page where consent came later), else its page id.
struct SessionKeys<'a>(HashMap<&'a str, &'a str>);

impl<'a> SessionKeys<'a> {
    fn new(facts: &'a [Fact]) -> SessionKeys<'a> {
        let mut by_page = HashMap::new();
        for f in facts {
            if let Some(s) = &f.session {
                by_page.entry(f.page.as_str()).or_insert(s.as_str());
            }
        }
        SessionKeys(by_page)
    }

    fn of(&self, f: &'a Fact) -> &'a str {
        match &f.session {
            Some(s) => s,
            None => self.0.get(f.page.as_str()).copied().unwrap_or(&f.page),
        }
    }
}

/// Computes the report of `facts` (one site's events in `range`, ordered by time).
pub fn build(site: &str, range: &Range, goal: Option<&str>, facts: &[Fact]) -> Report {
    let sessions_of = SessionKeys::new(facts);
    let all_sessions: BTreeSet<&str> = facts.iter().map(|f| sessions_of.of(f)).collect();
    let r = Reporter {
        facts,
        sessions_of,
        goal,
        sessions: all_sessions.len() as u64,
    };
    let (goals, macro_totals, micro_totals, revenue) = r.goals();
    Report {
        site: site.to_string(),
        from: format_day(range.from),
        to: format_day(range.to),
        goal: goal.map(str::to_string),
        sessions: r.sessions,
        visitors: None,
        page_views: facts.iter().filter(|f| f.kind == "page_view").count() as u64,
        goals,
        macro_totals,
        micro_totals,
        revenue,
        funnels: r.funnels(),
        attribution: r.attribution(),
        daily: r.daily(range),
    }
}

/// One report's facts, how they group into sessions, and the goal filter: each section of the
/// report is one method.
struct Reporter<'a> {
    facts: &'a [Fact],
    sessions_of: SessionKeys<'a>,
    goal: Option<&'a str>,
    /// Sessions in the range (the denominator of every rate).
    sessions: u64,
}

impl<'a> Reporter<'a> {
    /// The session a fact counts in.
    fn key(&self, f: &'a Fact) -> &'a str {
        self.sessions_of.of(f)
    }

    fn wanted(&self, f: &Fact) -> bool {
        self.goal.is_none() || f.goal.as_deref() == self.goal
    }

    /// Conversions per goal, totals per kind, revenue.
    fn goals(&self) -> (Vec<GoalRow>, Totals, Totals, BTreeMap<String, f64>) {
        let (facts, sessions) = (self.facts, self.sessions);
        // goals
        // goal → (kind, conversions, sessions, value per currency)
        type GoalSum<'a> = (String, u64, BTreeSet<&'a str>, BTreeMap<String, f64>);
        let mut goals: BTreeMap<&str, GoalSum> = BTreeMap::new();
        let mut by_kind: HashMap<&str, (u64, BTreeSet<&str>)> = HashMap::new();
        let mut revenue = BTreeMap::new();
        for f in facts
            .iter()
            .filter(|f| f.kind == "conversion" && self.wanted(f))
        {
            let (Some(g), Some(k)) = (f.goal.as_deref(), f.goal_kind.as_deref()) else {
                continue;
            };
            let e = goals
                .entry(g)
                .or_insert_with(|| (k.to_string(), 0, BTreeSet::new(), BTreeMap::new()));
            e.1 += 1;
            e.2.insert(self.key(f));
            add_value(&mut e.3, f, 1.0);
            let t = by_kind.entry(k).or_default();
            t.0 += 1;
            t.1.insert(self.key(f));
            if k == "macro" {
                add_value(&mut revenue, f, 1.0);
            }
        }
        let goals = goals
            .into_iter()
            .map(|(g, (kind, conversions, s, value))| GoalRow {
                goal: g.to_string(),
                kind,
                conversions,
                sessions: s.len() as u64,
                rate: rate(s.len() as u64, sessions),
                value,
            })
            .collect();
        let totals = |k: &str| {
            by_kind
                .get(k)
                .map(|(c, s)| Totals {
                    conversions: *c,
                    sessions: s.len() as u64,
                    rate: rate(s.len() as u64, sessions),
                })
                .unwrap_or_default()
        };
        (goals, totals("macro"), totals("micro"), revenue)
    }

    /// Sessions per funnel step.
    fn funnels(&self) -> Vec<Funnel> {
        let facts = self.facts;
        // funnels
        let mut steps: BTreeMap<&str, BTreeMap<i64, BTreeSet<&str>>> = BTreeMap::new();
        for f in facts
            .iter()
            .filter(|f| f.kind == "funnel_step" && self.wanted(f))
        {
            // `step` is 0-based on the wire; reports number steps from 1
            if let (Some(g), Some(s)) = (f.goal.as_deref(), f.step.map(|s| s + 1)) {
                steps
                    .entry(g)
                    .or_default()
                    .entry(s)
                    .or_default()
                    .insert(self.key(f));
            }
        }
        let funnels = steps
            .into_iter()
            .map(|(g, by_step)| {
                let last = by_step.keys().max().copied().unwrap_or(0);
                let count = |s: i64| by_step.get(&s).map_or(0, |x| x.len() as u64);
                let first = count(1);
                let steps = (1..=last)
                    .map(|s| Step {
                        step: s,
                        sessions: count(s),
                        retained: rate(count(s), first),
                        from_previous: if s == 1 {
                            1.0
                        } else {
                            rate(count(s), count(s - 1))
                        },
                    })
                    .collect();
                Funnel {
                    goal: g.to_string(),
                    steps,
                }
            })
            .collect();
        funnels
    }

    /// Conversions and value credited to touches: first, last, linear.
    fn attribution(&self) -> Attribution {
        let facts = self.facts;
        // attribution
        let mut paths: HashMap<&str, Vec<TouchKey>> = HashMap::new();
        let (mut first_t, mut last_t, mut linear) = (
            HashMap::new(),
            HashMap::new(),
            HashMap::<TouchKey, CreditSum>::new(),
        );
        for f in facts {
            let path = paths.entry(self.key(f)).or_default();
            if path.is_empty() {
                path.push(touch_key(f.first.as_ref().or(f.last.as_ref())));
            }
            let last = touch_key(f.last.as_ref().or(f.first.as_ref()));
            if path.last() != Some(&last) {
                path.push(last.clone());
            }
            if f.kind != "conversion" || !self.wanted(f) {
                continue;
            }
            let credit = |map: &mut HashMap<TouchKey, CreditSum>, key: TouchKey, share: f64| {
                let c = map.entry(key).or_default();
                c.conversions += share;
                add_value(&mut c.value, f, share);
            };
            credit(
                &mut first_t,
                touch_key(f.first.as_ref().or(f.last.as_ref())),
                1.0,
            );
            credit(&mut last_t, last, 1.0);
            let share = 1.0 / path.len() as f64;
            for key in path.clone() {
                credit(&mut linear, key, share);
            }
        }
        Attribution {
            first_touch: credits(first_t),
            last_touch: credits(last_t),
            linear: credits(linear),
        }
    }

    /// Sessions, page views, conversions and value per day of the range.
    fn daily(&self, range: &Range) -> Vec<Day> {
        let facts = self.facts;
        // daily
        let mut days: BTreeMap<i64, (BTreeSet<&str>, Day)> = (range.from..=range.to)
            .map(|d| {
                (
                    d,
                    (
                        BTreeSet::new(),
                        Day {
                            date: format_day(d),
                            sessions: 0,
                            page_views: 0,
                            conversions: 0,
                            macro_conversions: 0,
                            micro_conversions: 0,
                            value: BTreeMap::new(),
                        },
                    ),
                )
            })
            .collect();
        for f in facts {
            let Some((s, day)) = days.get_mut(&f.ts.div_euclid(DAY_MS)) else {
                continue;
            };
            s.insert(self.key(f));
            match f.kind.as_str() {
                "page_view" => day.page_views += 1,
                "conversion" if self.wanted(f) => {
                    day.conversions += 1;
                    match f.goal_kind.as_deref() {
                        Some("macro") => day.macro_conversions += 1,
                        _ => day.micro_conversions += 1,
                    }
                    add_value(&mut day.value, f, 1.0);
                }
                _ => {}
            }
        }
        days.into_values()
            .map(|(s, mut d)| {
                d.sessions = s.len() as u64;
                d
            })
            .collect()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
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
}

struct Csv(String);

impl Csv {
    fn push(&mut self, k: Key, metric: &str, value: impl ToString) {
        for c in [
            k.section, k.model, k.date, k.goal, k.kind, k.step, k.channel, k.source, k.medium,
            k.campaign, k.currency, metric,
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
/// `section,model,date,goal,kind,step,channel,source,medium,campaign,currency,metric,value`.
pub fn to_csv(r: &Report) -> String {
    let mut out = Csv(String::from(
        "section,model,date,goal,kind,step,channel,source,medium,campaign,currency,metric,value\n",
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
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn fact(kind: &str, ts: i64, session: &str) -> Fact {
        Fact {
            kind: kind.into(),
            ts,
            session: Some(session.into()),
            page: format!("page-{session}"),
            goal: None,
            goal_kind: None,
            value: None,
            currency: None,
            step: None,
            first: None,
            last: None,
        }
    }

    #[test]
    fn a_hand_computed_report() {
        let ad =
            json!({"channel": "paid_search", "source": "google", "medium": "cpc", "campaign": "x"});
        let mail = json!({"channel": "email", "source": "news", "medium": "email"});
        let conv = |ts, s: &str, g: &str, k: &str, v: Option<f64>| Fact {
            goal: Some(g.into()),
            goal_kind: Some(k.into()),
            value: v,
            currency: v.map(|_| "EUR".into()),
            ..fact("conversion", ts, s)
        };
        let mut facts = vec![
            Fact {
                first: Some(ad.clone()),
                last: Some(ad.clone()),
                ..fact("page_view", 0, "a")
            },
            Fact {
                first: Some(ad.clone()),
                last: Some(mail.clone()),
                ..fact("page_view", 1, "a")
            },
            Fact {
                first: Some(ad.clone()),
                last: Some(mail.clone()),
                ..conv(2, "a", "buy", "macro", Some(30.0))
            },
            fact("page_view", 3, "b"),
            conv(4, "b", "news", "micro", None),
            fact("page_view", DAY_MS + 5, "c"),
        ];
        facts.push(Fact {
            step: Some(0),
            goal: Some("f".into()),
            ..fact("funnel_step", 6, "a")
        });
        facts.push(Fact {
            step: Some(0),
            goal: Some("f".into()),
            ..fact("funnel_step", 7, "b")
        });
        facts.push(Fact {
            step: Some(1),
            goal: Some("f".into()),
            ..fact("funnel_step", 8, "a")
        });
        let r = build("s", &Range { from: 0, to: 1 }, None, &facts);
        assert_eq!((r.sessions, r.page_views), (3, 4));
        assert_eq!(r.goals.len(), 2);
        assert_eq!((r.goals[0].goal.as_str(), r.goals[0].sessions), ("buy", 1));
        assert!((r.goals[0].rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.revenue, BTreeMap::from([("EUR".to_string(), 30.0)]));
        assert_eq!(r.macro_totals.conversions, 1);
        assert_eq!(r.micro_totals.sessions, 1);
        let f = &r.funnels[0];
        assert_eq!(
            f.steps.iter().map(|s| s.sessions).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(f.steps[1].retained, 0.5);
        // buy: first touch ad, last touch mail, linear half each; news: no touch (anonymous)
        let find = |rows: &[Credit], ch: &str| {
            rows.iter().find(|c| c.channel == ch).map(|c| c.conversions)
        };
        assert_eq!(find(&r.attribution.first_touch, "paid_search"), Some(1.0));
        assert_eq!(find(&r.attribution.first_touch, "email"), None);
        assert_eq!(find(&r.attribution.last_touch, "email"), Some(1.0));
        assert_eq!(find(&r.attribution.linear, "email"), Some(0.5));
        assert_eq!(find(&r.attribution.linear, "paid_search"), Some(0.5));
        assert_eq!(find(&r.attribution.linear, "anonymous"), Some(1.0));
        assert_eq!(r.daily.len(), 2);
        assert_eq!((r.daily[0].sessions, r.daily[0].conversions), (2, 2));
        assert_eq!((r.daily[1].sessions, r.daily[1].page_views), (1, 1));
        // a goal filter narrows conversions, not sessions
        let only = build("s", &Range { from: 0, to: 1 }, Some("news"), &facts);
        assert_eq!(only.sessions, 3);
        assert_eq!(
            only.goals
                .iter()
                .map(|g| g.goal.as_str())
                .collect::<Vec<_>>(),
            ["news"]
        );
        assert!(only.funnels.is_empty());
        assert!(only.revenue.is_empty());
        let csv = to_csv(&r);
        assert!(
            csv.contains("\ngoal,,,buy,macro,,,,,,,sessions,1\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\nattribution,linear,,,,,email,news,email,,EUR,value,15\n"),
            "{csv}"
        );
        assert!(csv.contains("\nfunnel,,,f,,2,,,,,,retained,0.5\n"));
    }

    #[test]
    fn events_without_a_session_join_their_pages_session_or_stand_alone() {
        let anon = |kind: &str, page: &str| Fact {
            session: None,
            page: page.into(),
            ..fact(kind, 0, "")
        };
        let facts = vec![
            anon("page_view", "p1"), // before the banner was answered
            Fact {
                page: "p1".into(),
                ..fact("conversion", 1, "s1")
            }, // after Accept
            anon("page_view", "p2"), // never answered
            anon("conversion", "p2"),
        ];
        let r = build("s", &Range { from: 0, to: 0 }, None, &facts);
        assert_eq!(r.sessions, 2, "p1 joins s1; p2 is its own");
    }
}
