//! Goals compiled for matching. Rules are indexed by trigger (and clicks by selector, custom
//! events by name), so an interaction is only compared with the rules that can match it.

use crate::condition::{Conditions, Pattern, Patterns};
use crate::error::w;
use crate::interaction::{classify_link, extension, Candidate, Interaction, LinkKinds, MediaEvent};
use crate::prelude::*;
use crate::time::Millis;
use goalpost_protocol::Detail;

pub use goalpost_protocol::GoalKind;

/// How often a goal may convert.
#[derive(Clone, Debug, PartialEq)]
pub enum Once {
    /// Every time it matches (default for `custom`: page code decides).
    Every,
    /// Once per page view (default for the interaction triggers: a double click is one
    /// conversion).
    Page,
    /// Once per session (default for funnels and page-view goals: a reload of the thank-you
    /// page, or a fourth page after a three-page goal, is not another conversion).
    Session,
    /// Once per visitor: kept in storage where consent allows; otherwise once per session.
    Visitor,
    /// Once per value of a key (`"once": {"per": {"prop": "order_id"}}`, or `{"attr": …}` on
    /// clicks and forms): the conversion's event id is derived from site, goal and key
    /// ([`crate::derive_id`]), so the collector stores it once wherever it is sent from,
    /// storage or not. A conversion without the key is counted as [`Once::Every`] (and the
    /// debug log says so).
    PerKey(crate::condition::Field),
}

/// A listener the shell installs only when a goal needs it ([`GoalSet::uses`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// `click` and `auxclick`: click, link and download goals.
    Click,
    /// `submit`.
    Submit,
    /// `play`, `timeupdate`, `ended`.
    Media,
}

/// A measure the shell reports at the thresholds goals use ([`GoalSet::thresholds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Media progress, percent.
    MediaPercent,
    /// Media position, seconds.
    MediaSeconds,
    /// Scroll depth, percent.
    ScrollPercent,
    /// Scroll depth, pixels.
    ScrollPixels,
    /// Engaged time, seconds.
    EngagedSeconds,
}

/// Which selector list an index refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Click targets (`closest()` on the click target).
    Click = 0,
    /// Forms (`matches()` on the submitted form).
    Form = 1,
    /// Media elements (`matches()` on the video/audio).
    Media = 2,
}

/// What makes a rule fire.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// A click, optionally inside an element matching a selector.
    Click,
    /// A click on a link of one of these kinds.
    Link(LinkKinds),
    /// A click on a link to a file with one of these extensions (lowercase), or with a
    /// `download` attribute.
    Download(Vec<String>),
    /// A form submission.
    Submit,
    /// Media progress; `None` matches any media event.
    Media(Option<MediaEvent>),
    /// Scroll depth.
    Scroll,
    /// A page view.
    PageView,
    /// An element was visible long enough (the watch's index).
    Visible(u32),
    /// Engaged time.
    Engaged,
    /// `track(event)` from page code.
    Custom(String),
}

impl Trigger {
    /// The config name.
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Click => "click",
            Trigger::Link(_) => "link",
            Trigger::Download(_) => "download",
            Trigger::Submit => "submit",
            Trigger::Media(_) => "media",
            Trigger::Scroll => "scroll",
            Trigger::PageView => "pageview",
            Trigger::Visible(_) => "visible",
            Trigger::Engaged => "engaged",
            Trigger::Custom(_) => "custom",
        }
    }

    fn slot(&self) -> usize {
        match self {
            Trigger::Click => 0,
            Trigger::Link(_) | Trigger::Download(_) => 8,
            Trigger::Submit => 1,
            Trigger::Media(_) => 2,
            Trigger::Scroll => 3,
            Trigger::PageView => 4,
            Trigger::Visible(_) => 5,
            Trigger::Engaged => 6,
            Trigger::Custom(_) => 7,
        }
    }
}

/// A trigger with its selector and conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// What fires it.
    pub trigger: Trigger,
    /// The selector it requires (index into the trigger family's list), if any.
    pub selector: Option<u32>,
    /// Conditions on the candidate.
    pub conditions: Conditions,
}

/// Where a conversion's value or currency comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source<T> {
    /// Not set.
    None,
    /// A fixed value.
    Fixed(T),
    /// A prop of the custom event.
    Prop(String),
    /// An attribute of the clicked element or submitted form.
    Attr(String),
}

/// A visibility watch: the shell observes elements matching `selector` and reports
/// [`Interaction::Visible`] once one was at least `ratio` visible for `ms` milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    /// CSS selector.
    pub selector: String,
    /// 0 < ratio ≤ 1.
    pub ratio: f64,
    /// How long.
    pub ms: Millis,
}

/// A funnel: ordered steps within a session.
#[derive(Clone, Debug, PartialEq)]
pub struct Funnel {
    /// Rule index of each step.
    pub steps: Vec<usize>,
    /// No other step of the funnel may come between two consecutive steps.
    pub strict: bool,
    /// All steps within this long of the first, if set.
    pub window: Option<Millis>,
}

/// One goal.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// Unique id, sent with its conversions.
    pub id: String,
    /// A human label (for callbacks and reports).
    pub label: Option<String>,
    /// Macro or micro.
    pub kind: GoalKind,
    /// A free category, sent with conversions.
    pub category: Option<String>,
    /// Dedupe mode.
    pub once: Once,
    /// Conversion value.
    pub value: Source<f64>,
    /// ISO 4217 currency code.
    pub currency: Source<String>,
    /// The rule that fires it (`None` for a funnel).
    pub rule: Option<usize>,
    /// The funnel, for `on: "funnel"`.
    pub funnel: Option<Funnel>,
    /// Its position in the config's `goals` array (for error paths).
    pub index: usize,
    /// Whether its conversions say what the click followed (`"details": false` turns it off).
    pub details: bool,
}

/// The threshold a scroll, media or engaged rule asks for (its first `percent`, `pixels` or
/// `seconds` condition that is "at least" or "equals"), and its unit.
fn threshold(rule: &Rule) -> (Option<f64>, &'static str) {
    use crate::condition::Op;
    use crate::field::Field;
    for c in &rule.conditions.all {
        let unit = match c.field {
            Field::Percent => "percent",
            Field::Pixels => "pixels",
            Field::Seconds => "seconds",
            _ => continue,
        };
        if let Op::Gte(n) | Op::Gt(n) | Op::EqualsNumber(n) = c.op {
            if !c.negate && n.is_finite() && (0.0..=goalpost_protocol::MAX_THRESHOLD).contains(&n) {
                return (Some(n), unit);
            }
        }
    }
    (None, "")
}

/// The compiled goals and their indexes.
#[derive(Clone, Debug, Default)]
pub struct GoalSet {
    pub(crate) goals: Vec<Goal>,
    pub(crate) rules: Vec<Rule>,
    /// Rule index → goal index (inline funnel steps have none).
    pub(crate) rule_goal: Vec<Option<usize>>,
    /// Rules per trigger slot, without a selector.
    pub(crate) by_slot: [Vec<usize>; 9],
    /// Per family, the distinct selectors and the rules that use each.
    pub(crate) selectors: [Vec<(String, Vec<usize>)>; 3],
    /// Custom event name → rules, sorted by name.
    pub(crate) custom: Vec<(String, usize)>,
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) watches: Vec<Watch>,
    /// The site's own hosts (besides the page's), for outbound links.
    pub(crate) hosts: Vec<String>,
    /// Messenger schemes and hosts.
    pub(crate) messengers: Vec<String>,
    /// Goals (indexes) that can never convert (a funnel whose steps failed to compile).
    pub(crate) dead: Vec<usize>,
}

/// Lengths to roll a [`GoalSet`] back to when a goal fails to compile.
pub(crate) struct Mark {
    goals: usize,
    rules: usize,
    patterns: usize,
    watches: usize,
    selectors: [usize; 3],
}

impl GoalSet {
    /// All goals, in config order.
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    /// The distinct selectors of a family; hits in interactions index into this list.
    pub fn selectors(&self, family: Family) -> Vec<&str> {
        let mut out = Vec::new();
        for (s, _) in &self.selectors[family as usize] {
            out.push(s.as_str());
        }
        out
    }

    /// For the shell's click pre-filter: `None` when every click must be examined (a click
    /// goal without a selector matches on conditions alone). Otherwise a click can match only
    /// inside an element of [`GoalSet::selectors`] for clicks, or inside an element matching
    /// one of the returned CSS selectors: by their `href` attribute, a superset of the links
    /// that the link and download goals without a selector can match. A relative link is
    /// never outbound, so outbound needs `//`; a file type needs `.ext`; `tel:` and `mailto:`
    /// their scheme. With `base` (the page has a `<base href>`, so a relative link may point
    /// anywhere), every link is a candidate for outbound and messenger goals.
    pub fn click_prefilter(&self, base: bool) -> Option<Vec<String>> {
        if !self.by_slot[0].is_empty() {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        let mut add = |css: String| {
            if !out.contains(&css) {
                out.push(css);
            }
        };
        // `[href*="text" i]`, `"` and `\` escaped; text with a control character (no scheme or
        // extension has one) widens to every link rather than risk a wrong escape
        let contains = |text: &str| {
            if text.chars().any(char::is_control) {
                return String::from("[href]");
            }
            let mut css = String::from("[href*=\"");
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    css.push('\\');
                }
                css.push(c);
            }
            css.push_str("\" i]");
            css
        };
        for &r in &self.by_slot[8] {
            let (kinds, exts): (LinkKinds, &[String]) = match &self.rules[r].trigger {
                Trigger::Link(k) => (*k, &[]),
                Trigger::Download(exts) => (LinkKinds::DOWNLOAD, exts),
                _ => continue,
            };
            let web = LinkKinds(LinkKinds::OUTBOUND.0 | LinkKinds::MESSENGER.0);
            if kinds.intersects(web) {
                add(if base { "[href]" } else { "[href*=\"//\"]" }.into());
            }
            if kinds.intersects(LinkKinds::TEL) {
                add(contains("tel:"));
            }
            if kinds.intersects(LinkKinds::MAILTO) {
                add(contains("mailto:"));
            }
            if kinds.intersects(LinkKinds::MESSENGER) {
                for m in self.messengers.iter().filter(|m| m.ends_with(':')) {
                    add(contains(m));
                }
            }
            if kinds.intersects(LinkKinds::DOWNLOAD) {
                add("[download]".into());
                if exts.is_empty() {
                    for e in crate::interaction::DOWNLOAD_EXTENSIONS {
                        add(contains(&[".", e].concat()));
                    }
                }
                for e in exts {
                    add(contains(&[".", e].concat()));
                }
            }
        }
        Some(out)
    }

    /// The regular expressions the rules use, for the shell to compile.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The visibility watches.
    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// Element attributes any rule or value reads (the shell collects only these).
    pub fn attributes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            for a in r.conditions.attributes() {
                out.push(a.to_string());
            }
        }
        for g in &self.goals {
            if let Source::Attr(a) = &g.value {
                out.push(a.clone());
            }
            if let Source::Attr(a) = &g.currency {
                out.push(a.clone());
            }
            if let Once::PerKey(crate::condition::Field::Attr(a)) = &g.once {
                out.push(a.clone());
            }
        }
        sort_by(&mut out, |a, b| a < b);
        out.dedup();
        out
    }

    /// Whether any rule reads `field` of an element (text, id, classes: the shell reads them
    /// only then).
    pub fn reads(&self, field: &crate::condition::Field) -> bool {
        self.rules.iter().any(|r| r.conditions.reads(field))
    }

    /// Whether any rule needs this listener (so the shell can skip listeners nobody needs).
    pub fn uses(&self, listener: Listener) -> bool {
        self.rules.iter().any(|r| match listener {
            Listener::Click => matches!(
                r.trigger,
                Trigger::Click | Trigger::Link(_) | Trigger::Download(_)
            ),
            Listener::Submit => r.trigger == Trigger::Submit,
            Listener::Media => matches!(r.trigger, Trigger::Media(_)),
        })
    }

    /// The values the shell should report for a measure (scroll percent, media
    /// percent/seconds, engaged seconds), sorted, from the rules' `gt`/`gte` conditions.
    pub fn thresholds(&self, measure: Measure) -> Vec<f64> {
        use crate::condition::Field;
        let (field, on): (Field, fn(&Trigger) -> bool) = match measure {
            Measure::MediaPercent => (Field::Percent, |t| matches!(t, Trigger::Media(_))),
            Measure::MediaSeconds => (Field::Seconds, |t| matches!(t, Trigger::Media(_))),
            Measure::ScrollPercent => (Field::Percent, |t| *t == Trigger::Scroll),
            Measure::ScrollPixels => (Field::Pixels, |t| *t == Trigger::Scroll),
            Measure::EngagedSeconds => (Field::Seconds, |t| *t == Trigger::Engaged),
        };
        let mut out: Vec<f64> = Vec::new();
        for r in self.rules.iter().filter(|r| on(&r.trigger)) {
            for c in r.conditions.list() {
                if c.field != field {
                    continue;
                }
                if let crate::condition::Op::Gte(n)
                | crate::condition::Op::Gt(n)
                | crate::condition::Op::EqualsNumber(n) = c.op
                {
                    out.push(n);
                }
            }
        }
        sort_by(&mut out, |a, b| a < b);
        out.dedup();
        out
    }

    /// Disables every rule that uses selector `index` of `family` (the browser rejected it)
    /// and returns the config indexes of the goals affected.
    pub fn reject_selector(&mut self, family: Family, index: usize) -> Vec<usize> {
        let Some((_, rules)) = self.selectors[family as usize].get_mut(index) else {
            return Vec::new();
        };
        let rules = core::mem::take(rules);
        self.disable(&rules)
    }

    /// [`GoalSet::reject_selector`], reported as config errors naming each goal's path.
    pub fn reject_selector_errors(
        &mut self,
        family: Family,
        index: usize,
    ) -> Vec<crate::ConfigError> {
        let sel = self.selectors[family as usize]
            .get(index)
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        let goals = self.reject_selector(family, index);
        self.errors_for(
            &goals,
            "match.selector",
            "",
            w("is not a valid CSS selector: "),
            &sel,
        )
    }

    /// [`GoalSet::reject_pattern`], reported as config errors naming each goal's path: the
    /// pattern's own (`goals[2].match.url.matches`) for the goal that configured it.
    pub fn reject_pattern_errors(&mut self, index: u32) -> Vec<crate::ConfigError> {
        let (source, at) = self
            .patterns
            .get(index as usize)
            .map(|p| (p.source.clone(), p.path.clone()))
            .unwrap_or_default();
        let goals = self.reject_pattern(index);
        self.errors_for(
            &goals,
            "match",
            &at,
            w("has an invalid regular expression: "),
            &source,
        )
    }

    /// An error for each goal in `goal_indexes`, at `goals[i].rest` (a funnel's at
    /// `goals[i].steps`), or at `exact` where that path lies inside goal `i`.
    fn errors_for(
        &self,
        goal_indexes: &[usize],
        rest: &str,
        exact: &str,
        why: &'static str,
        what: &str,
    ) -> Vec<crate::ConfigError> {
        let mut out = Vec::new();
        for i in goal_indexes {
            let funnel = self
                .goals
                .iter()
                .any(|g| g.index == *i && g.funnel.is_some());
            let mut path = crate::error::join_index("goals", *i);
            path.push('.');
            if exact.starts_with(path.as_str()) {
                path = exact.into();
            } else {
                path.push_str(if funnel { "steps" } else { rest });
            }
            out.push(crate::ConfigError {
                path,
                kind: crate::ErrorKind::InvalidValue {
                    why,
                    value: what.to_string(),
                },
            });
        }
        out
    }

    /// Disables every rule using pattern `index` (the engine rejected it).
    pub fn reject_pattern(&mut self, index: u32) -> Vec<usize> {
        let mut rules = Vec::new();
        for (r, rule) in self.rules.iter().enumerate() {
            let list = rule.conditions.list();
            if list
                .iter()
                .any(|c| c.op == crate::condition::Op::Matches(index))
            {
                rules.push(r);
            }
        }
        self.disable(&rules)
    }

    fn disable(&mut self, rules: &[usize]) -> Vec<usize> {
        let mut goals = Vec::new();
        // A rule that can never match: an `any` with one empty-never group is not
        // expressible, so detach it from every index instead.
        self.detach(&|x| rules.contains(&x));
        for r in rules {
            // funnels that step through this rule cannot complete either
            for (gi, g) in self.goals.iter().enumerate() {
                if g.rule == Some(*r) || g.funnel.as_ref().is_some_and(|f| f.steps.contains(r)) {
                    goals.push(self.goals[gi].index);
                }
            }
        }
        sort_by(&mut goals, |a, b| a < b);
        goals.dedup();
        for (gi, g) in self.goals.iter().enumerate() {
            if goals.contains(&g.index) && !self.dead.contains(&gi) {
                self.dead.push(gi);
            }
        }
        goals
    }

    /// The rules an interaction (or, with `None`, the page view itself) can match: the
    /// trigger's index, narrowed by selector hits or event name.
    pub fn candidates(&self, interaction: Option<&Interaction>) -> Vec<usize> {
        // one Vec filled by slices: far less code than a collected iterator chain per arm
        let mut out: Vec<usize> = Vec::new();
        let mut add = |slot: usize, family: Option<(Family, &[u32])>| {
            out.extend_from_slice(&self.by_slot[slot]);
            if let Some((fam, hits)) = family {
                for h in hits {
                    if let Some((_, rules)) = self.selectors[fam as usize].get(*h as usize) {
                        out.extend_from_slice(rules);
                    }
                }
            }
        };
        match interaction {
            None => add(4, None),
            Some(Interaction::Click(e)) => {
                add(0, Some((Family::Click, &e.hits)));
                // link and download rules only for clicks on links
                if !e.href.is_empty() {
                    add(8, None);
                }
            }
            Some(Interaction::Submit(f)) => add(1, Some((Family::Form, &f.hits))),
            Some(Interaction::Media(m)) => add(2, Some((Family::Media, &m.hits))),
            Some(Interaction::Scroll { .. }) => add(3, None),
            Some(Interaction::Visible { watch }) => {
                add(5, None);
                out.retain(|r| self.rules[*r].trigger == Trigger::Visible(*watch));
            }
            Some(Interaction::Engaged { .. }) => add(6, None),
            Some(Interaction::Custom { name, .. }) => {
                let start = self
                    .custom
                    .partition_point(|(n, _)| n.as_str() < name.as_str());
                for (n, r) in &self.custom[start..] {
                    if n != name {
                        break;
                    }
                    out.push(*r);
                }
            }
        }
        sort_by(&mut out, |a, b| a < b);
        out.dedup();
        out
    }

    /// Whether rule `r` is for this kind of interaction and its selector (if any) was hit:
    /// the per-rule test a matcher without indexes would make (the benchmark's baseline).
    pub fn could_match(&self, r: usize, interaction: Option<&Interaction>) -> bool {
        let rule = &self.rules[r];
        let hit = |hits: &[u32]| rule.selector.is_none_or(|s| hits.contains(&s));
        match (&rule.trigger, interaction) {
            (Trigger::PageView, None) => true,
            (Trigger::Click, Some(Interaction::Click(e))) => hit(&e.hits),
            (Trigger::Link(_) | Trigger::Download(_), Some(Interaction::Click(e))) => {
                !e.href.is_empty() && hit(&e.hits)
            }
            (Trigger::Submit, Some(Interaction::Submit(f))) => hit(&f.hits),
            (Trigger::Media(_), Some(Interaction::Media(m))) => hit(&m.hits),
            (Trigger::Scroll, Some(Interaction::Scroll { .. })) => true,
            (Trigger::Visible(w), Some(Interaction::Visible { watch })) => w == watch,
            (Trigger::Engaged, Some(Interaction::Engaged { .. })) => true,
            (Trigger::Custom(n), Some(Interaction::Custom { name, .. })) => n == name,
            _ => false,
        }
    }

    /// Whether rule `r` matches the candidate (its trigger-specific test, then its conditions).
    pub fn rule_matches(&self, r: usize, c: &Candidate, p: &dyn Patterns) -> bool {
        let rule = &self.rules[r];
        self.trigger_matches(rule, c) && rule.conditions.eval(c, p)
    }

    /// Why rule `r` did not match, for debug logs.
    pub fn why_not(&self, r: usize, c: &Candidate, p: &dyn Patterns) -> &'static str {
        let rule = &self.rules[r];
        if !self.trigger_matches(rule, c) {
            return rule.trigger.name();
        }
        rule.conditions.first_failure(c, p).unwrap_or("")
    }

    /// The goal that rule `r` fires, if any.
    pub fn goal_of_rule(&self, r: usize) -> Option<&Goal> {
        self.rule_goal
            .get(r)
            .copied()
            .flatten()
            .map(|g| &self.goals[g])
    }

    /// What happened, for a conversion of `goal` from `c`: a link or download goal's target
    /// (scrubbed with the query parameters `keep`), class, messenger network and extension; a
    /// scroll, media or engaged goal's threshold; a media goal's source; a submit goal's form
    /// id and name; a click goal's element id. Empty with `"details": false`.
    pub fn detail<K: AsRef<str>>(&self, goal: &Goal, c: &Candidate, keep: &[K]) -> Detail {
        let Some(rule) = goal.rule.and_then(|r| self.rules.get(r)) else {
            return Detail::default();
        };
        if !goal.details {
            return Detail::default();
        }
        let clean = |url: &str| crate::url::redact(&crate::url::sanitize(url.trim(), keep));
        let name = |s: &str| {
            let mut s = crate::url::redact(s);
            crate::url::truncate(&mut s, goalpost_protocol::MAX_PROP_LEN);
            s
        };
        let mut d = Detail::default();
        match (&rule.trigger, c.interaction) {
            (Trigger::Link(_) | Trigger::Download(_), Some(Interaction::Click(e)))
                if !e.href.is_empty() =>
            {
                let kinds = classify_link(
                    &e.href,
                    &c.page.hostname,
                    &self.hosts,
                    &self.messengers,
                    e.download,
                );
                let wanted = match &rule.trigger {
                    Trigger::Link(w) if w.0 != 0 => kinds.0 & w.0,
                    Trigger::Link(_) => kinds.0,
                    _ => LinkKinds::DOWNLOAD.0,
                };
                // one class per conversion: the most specific the goal asked for
                d.link = [
                    (LinkKinds::MESSENGER, "messenger"),
                    (LinkKinds::TEL, "tel"),
                    (LinkKinds::MAILTO, "mailto"),
                    (LinkKinds::DOWNLOAD, "download"),
                    (LinkKinds::OUTBOUND, "outbound"),
                ]
                .iter()
                .find(|(k, _)| wanted & k.0 != 0)
                .map_or("", |(_, name)| *name);
                d.href = clean(&e.href);
                if d.link == "messenger" {
                    d.network = crate::interaction::network(&e.href);
                }
                if d.link == "download" {
                    d.ext = extension(&e.href)
                        .filter(|x| {
                            x.len() <= goalpost_protocol::MAX_EXT_LEN
                                && x.bytes().all(|b| b.is_ascii_alphanumeric())
                        })
                        .unwrap_or_default();
                }
            }
            (Trigger::Click, Some(Interaction::Click(e))) => d.element = name(&e.id),
            (Trigger::Submit, Some(Interaction::Submit(f))) => {
                d.form_id = name(&f.id);
                d.form_name = name(&f.name);
            }
            (Trigger::Media(_), Some(Interaction::Media(m))) => {
                d.src = clean(&m.src);
                (d.threshold, d.unit) = threshold(rule);
            }
            (Trigger::Scroll | Trigger::Engaged, _) => (d.threshold, d.unit) = threshold(rule),
            _ => {}
        }
        d
    }

    fn trigger_matches(&self, rule: &Rule, c: &Candidate) -> bool {
        match (&rule.trigger, c.interaction) {
            (Trigger::Link(kinds), Some(Interaction::Click(e))) => {
                !e.href.is_empty()
                    && classify_link(
                        &e.href,
                        &c.page.hostname,
                        &self.hosts,
                        &self.messengers,
                        e.download,
                    )
                    .intersects(*kinds)
            }
            (Trigger::Download(exts), Some(Interaction::Click(e))) => {
                !e.href.is_empty()
                    && (e.download || extension(&e.href).is_some_and(|x| exts.contains(&x)))
            }
            (Trigger::Media(Some(want)), Some(Interaction::Media(m))) => m.event == *want,
            _ => true,
        }
    }

    /// Adds a rule and indexes it: by selector (of `family`) when it has one, else by trigger.
    pub(crate) fn push_rule(
        &mut self,
        mut rule: Rule,
        selector: Option<(Family, String)>,
    ) -> usize {
        let r = self.rules.len();
        match (&rule.trigger, selector) {
            (_, Some((family, sel))) => {
                let list = &mut self.selectors[family as usize];
                let si = match list.iter().position(|(s, _)| *s == sel) {
                    Some(si) => si,
                    None => {
                        list.push((sel, Vec::new()));
                        list.len() - 1
                    }
                };
                list[si].1.push(r);
                rule.selector = Some(si as u32);
            }
            (Trigger::Custom(name), None) => self.custom.push((name.clone(), r)),
            (t, None) => self.by_slot[t.slot()].push(r),
        }
        self.rules.push(rule);
        self.rule_goal.push(None);
        r
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            goals: self.goals.len(),
            rules: self.rules.len(),
            patterns: self.patterns.len(),
            watches: self.watches.len(),
            selectors: [
                self.selectors[0].len(),
                self.selectors[1].len(),
                self.selectors[2].len(),
            ],
        }
    }

    /// Removes everything added since `m`.
    pub(crate) fn rollback(&mut self, m: &Mark) {
        self.goals.truncate(m.goals);
        self.rollback_rules(m);
    }

    /// Removes the rules (and their indexes, patterns, watches, selectors) added since `m`.
    pub(crate) fn rollback_rules(&mut self, m: &Mark) {
        self.rules.truncate(m.rules);
        self.rule_goal.truncate(m.rules);
        self.patterns.truncate(m.patterns);
        self.watches.truncate(m.watches);
        for (f, fam) in self.selectors.iter_mut().enumerate() {
            fam.truncate(m.selectors[f]);
        }
        self.detach(&|r| r >= m.rules);
    }

    /// Removes the rules that `gone` names from every index (a disabled rule, or one rolled
    /// back).
    fn detach(&mut self, gone: &dyn Fn(usize) -> bool) {
        let keep = |r: &usize| !gone(*r);
        for slot in self.by_slot.iter_mut() {
            slot.retain(&keep);
        }
        for fam in self.selectors.iter_mut() {
            for (_, rs) in fam.iter_mut() {
                rs.retain(&keep);
            }
        }
        self.custom.retain(|(_, r)| !gone(*r));
    }

    /// Sorts the custom-event table for binary search.
    pub(crate) fn finish(&mut self) {
        sort_by(&mut self.custom, |a, b| a.0 < b.0);
    }
}

/// Insertion sort: stable, and a few dozen bytes of wasm where std's sorts cost ~18 KB across
/// their instantiations. The lists sorted here are goal-sized and mostly in order already.
pub(crate) fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod sort_tests {
    use super::sort_by;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_std_and_is_stable(mut v in prop::collection::vec((0u8..8, any::<u16>()), 0..60)) {
            let mut want = v.clone();
            want.sort_by_key(|p| p.0);
            sort_by(&mut v, |a, b| a.0 < b.0);
            prop_assert_eq!(v, want);
        }
    }
}
