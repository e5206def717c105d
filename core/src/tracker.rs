//! The tracker: a state machine fed with inputs and drained of outputs.
//!
//! ```
//! use goalpost_core::{compile, Input, Json, Millis, Output, Page, SendStatus, Tracker};
//! let json = Json::Object(vec![
//!     ("collector".into(), Json::String("/collect".into())),
//!     ("site".into(), Json::String("shop".into())),
//! ]);
//! let config = compile(&json).config.unwrap();
//! let mut t = Tracker::new(config, &[42]);
//! t.handle(Millis(1_000), Input::PageView(Page { url: "https://shop.test/".into(), ..Page::default() }));
//! assert_eq!(t.poll(), Some(Output::WakeAt(Millis(3_000))));
//! t.handle(Millis(3_000), Input::Tick);
//! let Some(Output::Send { batch, body, beacon: false }) = t.poll() else { panic!() };
//! assert!(body.contains("\"page_view\""));
//! t.handle(Millis(3_050), Input::Sent { batch, status: SendStatus::Http(204) });
//! assert_eq!((t.queued(), t.poll()), (0, None));
//! ```

use crate::condition::{Field, Patterns};
use crate::config::Config;
use crate::config::Spa;
use crate::consent::{Choice, Collect, Consent, ConsentUpdate};
use crate::goals::{GoalKind, Once, Source};
use crate::ids::{EventId, Rng};
use crate::interaction::{Candidate, Interaction, PageFields};
use crate::json::Json;
use crate::policy::{SendStatus, Verdict};
use crate::prelude::*;
use crate::time::Millis;
use crate::url::{redact, sanitize_with, truncate};
use crate::visit::{Progress, Visit};
use alloc::rc::Rc;
use goalpost_protocol::{
    batch_body, ConsentStamp, Event, EventData, Prop, BATCH_OVERHEAD, MAX_BATCH_EVENTS, MAX_PROPS,
    MAX_PROP_LEN, MAX_TITLE_LEN,
};

/// The page as the shell saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// `location.href`, unsanitised.
    pub url: String,
    /// `document.title`.
    pub title: String,
    /// `document.referrer`, unsanitised.
    pub referrer: String,
}

/// Something that happened, fed to [`Tracker::handle`].
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A page was loaded (or navigated to).
    PageView(Page),
    /// The visitor did something on the page.
    Interact(Interaction),
    /// A timer asked for with [`Output::WakeAt`] fired (extra ticks are harmless).
    Tick,
    /// The visitor is active (an input that no goal can match): keeps the session alive.
    Active,
    /// The page is being hidden or unloaded: send everything now, by beacon.
    Hidden,
    /// The page is visible again (after [`Input::Hidden`]): what went out by beacon is sent
    /// again with the next batch, by fetch, whose answer confirms it.
    Shown,
    /// The visitor's consent changed (from the API, a consent tool, GPC, Consent Mode). An
    /// empty update means "the tool answered, nothing to change" and ends a wait.
    Consent(ConsentUpdate),
    /// A consent tool is present: send nothing until it answers or this time comes.
    AwaitConsent(Millis),
    /// Events stored by an earlier page of the site (each one event's JSON), to send.
    Restore(Vec<String>),
    /// The visit stored by an earlier page (as [`Output::PersistVisit`] wrote it, parsed):
    /// session, page count, first and last touch. Feed it before the first page view.
    RestoreVisit(Json),
    /// The browser went offline (`false`) or back online (`true`). Nothing is sent while
    /// offline, and failures then do not count against the retry limit.
    Online(bool),
    /// Send what is queued now, without waiting for the batch delay.
    Flush,
    /// The shell lost this many inputs (a page that re-entered goalpost from inside it past
    /// the shell's bound): counted and reported like every drop.
    Lost(u32),
    /// The result of an [`Output::Send`].
    Sent {
        /// The batch it answers.
        batch: u32,
        /// What happened.
        status: SendStatus,
    },
}

/// A conversion, as page callbacks and `dataLayer` see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The goal's position in the config's goals (as [`crate::GoalSet::goals`] lists them).
    pub index: usize,
    /// The goal id.
    pub goal: String,
    /// Macro or micro.
    pub kind: GoalKind,
    /// The goal's label.
    pub label: Option<String>,
    /// The goal's category.
    pub category: Option<String>,
    /// The value, if any.
    pub value: Option<f64>,
    /// Its currency.
    pub currency: Option<String>,
    /// Whether ad purposes are allowed: only then is it forwarded to `dataLayer`.
    pub forward: bool,
}

/// Something for the shell to do, drained with [`Tracker::poll`].
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// POST `body` to the collector (by `sendBeacon` when `beacon`, else `fetch` with
    /// keepalive), then report the result as [`Input::Sent`] with this `batch`.
    Send {
        /// Identifies the send in [`Input::Sent`].
        batch: u32,
        /// The JSON body.
        body: String,
        /// Use `navigator.sendBeacon` (the page is going away).
        beacon: bool,
    },
    /// Feed [`Input::Tick`] at this time (replaces any earlier wake-up).
    WakeAt(Millis),
    /// A goal was reached (for page callbacks, `dataLayer` and debug logs).
    Converted(Conversion),
    /// An input led to nothing, and why (debug mode logs it).
    Ignored(Ignored),
    /// Nothing is queued or in flight any more (settles `flush()` promises).
    Drained,
    /// Consent was denied: delete everything goalpost stored in the browser.
    ClearStorage,
    /// Store this snapshot of the unsent events (only emitted where storage consent allows;
    /// replaces the previous one).
    Persist(String),
    /// Store the visit (session, page count, touches) for the next page of the site (only
    /// where storage consent allows).
    PersistVisit(String),
}

/// Why an input produced nothing, or why events were dropped. Every "don't send" of the
/// tracker goes through here.
#[derive(Clone, Debug, PartialEq)]
pub enum Ignored {
    /// No goal has a rule for this kind of interaction (the trigger's name).
    NoRule(&'static str),
    /// A custom event matched no goal.
    NoGoalForEvent(String),
    /// A goal's rule was considered and did not match: the trigger or the field that failed.
    NotMatched {
        /// The goal id (empty for an inline funnel step).
        goal: String,
        /// The trigger or condition field that failed.
        failed: &'static str,
    },
    /// The goal matched but already converted within its `once` scope.
    AlreadyConverted(String),
    /// An event was not collected: consent denied (or not given, in `required` mode without
    /// holding).
    NoConsent,
    /// The collector refused a batch for good (a 4xx other than 408/429): its events dropped.
    Refused {
        /// How many events.
        events: usize,
        /// The HTTP status.
        status: u16,
    },
    /// A batch failed too often: its events dropped.
    GaveUp {
        /// How many events.
        events: usize,
    },
    /// The queue (`batch.maxStored`) or the events held for a consent choice
    /// (`consent.maxHeld`) were full: the oldest dropped.
    QueueFull {
        /// How many events.
        events: usize,
    },
    /// The shell lost inputs ([`Input::Lost`]).
    Lost {
        /// How many inputs.
        inputs: u32,
    },
    /// A goal counted once per key converted without its key (the prop or attribute was
    /// missing or empty): counted as `every`, with a fresh event id.
    NoKey {
        /// The goal id.
        goal: String,
    },
}

struct Queued {
    json: String,
    urgent: bool,
}

struct InFlight {
    batch: u32,
    events: Vec<Queued>,
    beacon: bool,
    /// Body size, counted against the browser's keepalive budget.
    bytes: usize,
    /// Drops this batch reports.
    drops: u64,
}

/// The stored snapshot (where consent allows storage) is written at most this often while the
/// page is shown: the first change at once, later ones together after this long, and at once
/// while the page is hidden (from [`Input::Hidden`], which a page going away sends). Each write
/// is a synchronous `localStorage` write of the whole queue; written after every event it cost
/// a converting click ~0.3 ms in a burst (the bench page, consent `implied`).
pub const PERSIST_EVERY: Millis = Millis(1_000);

/// Chromium shares 64 KiB among all in-flight keepalive fetches and beacons of a page; goalpost
/// keeps its own bodies below this, leaving room for the page's.
pub const KEEPALIVE_BUDGET: usize = 48 * 1024;

/// The tracker state machine. It never reads a clock: every input comes with `now`.
pub struct Tracker {
    config: Config,
    rng: Rng,
    patterns: Box<dyn Patterns>,
    page: Option<PageState>,
    /// Session, touches and what the once-rules and funnels remember (memory; stored where
    /// consent allows).
    visit: Visit,
    queue: Vec<Queued>,
    in_flight: Vec<InFlight>,
    /// Events handed to `sendBeacon`: the browser took them, but whether the collector stored
    /// them is unknown. They stay in the stored snapshot, so that the next page of the site
    /// sends them again by fetch (the collector de-duplicates), and go back to the queue if
    /// this page is shown again. Bounded by `max_stored`, oldest out.
    unconfirmed: Vec<Queued>,
    next_batch: u32,
    flush_at: Option<Millis>,
    retry_at: Option<Millis>,
    failures: u32,
    wake: Option<Millis>,
    drain_wanted: bool,
    /// An urgent or full queue asks for a send once the current input is fully handled.
    send_due: bool,
    offline: bool,
    consent: Consent,
    /// Until when nothing is sent, waiting for a consent tool's answer.
    consent_wait: Option<Millis>,
    /// The unsent events changed since the last snapshot.
    dirty: bool,
    /// When the last snapshot was written, and when the next one is due (throttled).
    persisted_at: Option<Millis>,
    persist_at: Option<Millis>,
    /// Between [`Input::Hidden`] and [`Input::Shown`].
    hidden: bool,
    /// The visit changed since it was last stored.
    visit_dirty: bool,
    /// Page views and interactions before a choice in `required` mode (with `hold`), with
    /// their times: nothing is matched or collected until the choice, and then they are
    /// handled in order as if they came then, after the stored visit the choice allows is
    /// merged in (so once-rules, funnels and the session continue across documents).
    held: Vec<(Millis, Input)>,
    /// While the held inputs are handled: their events are stamped `pending`.
    replaying: bool,
    /// Events dropped and not yet reported to the collector (sent as the batch's `dropped`).
    unreported_drops: u64,
    dropped: u64,
    outputs: Vec<Output>,
}

struct PageState {
    id: EventId,
    /// The sanitised URL sent with events.
    url: String,
    /// Shared with the candidates of an interaction (a count, not a copy, per interaction).
    fields: Rc<PageFields>,
    converted: Vec<usize>,
}

/// Matches no pattern: for configs without regexes, and natively without an engine.
pub struct NoPatterns;

impl Patterns for NoPatterns {
    fn is_match(&self, _: u32, _: &str) -> bool {
        false
    }
}

impl Tracker {
    /// A tracker for `config`, its ids drawn from a generator seeded with `seed`; `matches`
    /// conditions never match (see [`Tracker::with_patterns`]).
    pub fn new(config: Config, seed: &[u32]) -> Tracker {
        Tracker::with_patterns(config, seed, Box::new(NoPatterns))
    }

    /// A tracker whose `matches` conditions (and case folding) use `patterns`.
    pub fn with_patterns(mut config: Config, seed: &[u32], patterns: Box<dyn Patterns>) -> Tracker {
        for rule in config.goals.rules.iter_mut() {
            rule.conditions.fold_needles(&*patterns);
        }
        Tracker {
            config,
            rng: Rng::new(seed),
            patterns,
            page: None,
            visit: Visit::default(),
            queue: Vec::new(),
            in_flight: Vec::new(),
            unconfirmed: Vec::new(),
            next_batch: 1,
            flush_at: None,
            retry_at: None,
            failures: 0,
            wake: None,
            drain_wanted: false,
            send_due: false,
            offline: false,
            consent: Consent::default(),
            consent_wait: None,
            dirty: false,
            persisted_at: None,
            persist_at: None,
            hidden: false,
            visit_dirty: false,
            held: Vec::new(),
            replaying: false,
            unreported_drops: 0,
            dropped: 0,
            outputs: Vec::new(),
        }
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Events dropped so far (refused or given up).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Events queued and not yet sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Feeds one input.
    pub fn handle(&mut self, now: Millis, input: Input) {
        let policy = &self.config.consent;
        let holding = self.consent.collect(policy.mode, policy.hold) == Collect::Hold;
        if holding && matches!(input, Input::PageView(_) | Input::Interact(_)) {
            self.hold(input, now);
            self.after(now);
            return;
        }
        match input {
            Input::PageView(page) => {
                // (the page view draws the new session's id, if one starts)
                self.visit.touch(now);
                self.page_view(now, page);
                self.interact(now, None);
            }
            Input::Active => self.touch_session(now),
            Input::Interact(mut i) => {
                self.touch_session(now);
                if let Interaction::Custom { props, .. } = &mut i {
                    props.truncate(MAX_PROPS);
                    for (k, v) in props.iter_mut() {
                        truncate(k, MAX_PROP_LEN);
                        if let Prop::Str(s) = v {
                            truncate(s, MAX_PROP_LEN);
                        }
                    }
                }
                self.interact(now, Some(&i));
            }
            Input::Tick => {
                if self.consent_wait.is_some_and(|t| t <= now) {
                    self.consent_wait = None;
                    self.send_due = true;
                }
                let retry_due = self.retry_at.is_some_and(|t| t <= now);
                let flush_due = self.flush_at.is_some_and(|t| t <= now);
                if retry_due {
                    self.retry_at = None;
                }
                if flush_due {
                    self.flush_at = None;
                }
                if retry_due || flush_due {
                    self.send_next(now);
                }
            }
            Input::Hidden => {
                // (and until shown, snapshots are written at once: no visitor waits for them)
                self.hidden = true;
                self.send_all_by_beacon(now);
            }
            Input::Shown => {
                self.hidden = false;
                if !self.unconfirmed.is_empty() {
                    let back = core::mem::take(&mut self.unconfirmed);
                    self.requeue(back);
                    self.dirty = true;
                    if self.flush_at.is_none() {
                        self.flush_at = Some(now.plus(self.config.batch.max_delay));
                    }
                }
            }
            Input::Consent(update) => {
                self.consent_changed(now, update);
                if self.consent_wait.take().is_some() {
                    self.send_due = true;
                }
            }
            Input::AwaitConsent(until) => self.consent_wait = Some(until),
            Input::RestoreVisit(visit) => self.restore_visit(now, &visit),
            Input::Restore(events) => {
                // older than anything queued now; each must look like one event object
                let mut restored = Vec::new();
                for json in events {
                    if json.starts_with('{')
                        && json.ends_with('}')
                        && json.len() < self.config.batch.max_bytes
                    {
                        restored.push(Queued {
                            json,
                            urgent: false,
                        });
                    }
                }
                self.requeue(restored);
                self.dirty = true;
                self.send_due = true;
            }
            Input::Online(online) => {
                self.offline = !online;
                if online {
                    self.retry_at = None;
                    self.send_next(now);
                }
            }
            Input::Flush => {
                self.drain_wanted = true;
                self.retry_at = None;
                self.flush_at = None;
                self.send_next(now);
            }
            Input::Sent { batch, status } => self.sent(now, batch, status),
            Input::Lost(n) => self.drop_events(Ignored::Lost { inputs: n }, n as usize),
        }
        if core::mem::take(&mut self.send_due) {
            self.send_next(now);
        }
        self.persist(now);
        self.after(now);
    }

    /// The next output, if any.
    pub fn poll(&mut self) -> Option<Output> {
        // a handful at most: a Vec costs less code than a VecDeque
        (!self.outputs.is_empty()).then(|| self.outputs.remove(0))
    }

    /// Activity on the page: after [`crate::SESSION_TIMEOUT`] without any, a new session
    /// starts here, with this page as its first (its events must not go out without a session
    /// id where identifiers are allowed).
    fn touch_session(&mut self, now: Millis) {
        self.visit.touch(now);
        if self.visit.session.id.is_none() && self.page.is_some() {
            self.visit.session.id = Some(self.rng.event_id());
            self.visit.session.pages = 1;
            self.visit_dirty = true;
        }
    }

    fn page_view(&mut self, now: Millis, page: Page) {
        let hosts = &self.config.goals.hosts;
        self.visit
            .attribute(&page.url, &page.referrer, hosts, &mut self.rng);
        self.visit_dirty = true;
        let session = self.visit.session.id;
        let id = self.rng.event_id();
        let keep = &self.config.keep_params;
        let url = redact(&sanitize_with(
            &page.url,
            keep,
            self.config.spa == Spa::Hash,
        ));
        let fields = Rc::new(PageFields::new(&page.url, &page.title, &page.referrer));
        self.page = Some(PageState {
            id,
            url: url.clone(),
            fields,
            converted: Vec::new(),
        });
        self.visit.session.pages += 1;
        if self.config.pageviews {
            let mut title = redact(&page.title);
            truncate(&mut title, MAX_TITLE_LEN);
            let referrer = redact(&sanitize_with(&page.referrer, keep, false));
            let ev = Event {
                id,
                ts: now,
                page: id,
                url,
                session,
                consent: ConsentStamp::Anonymous, // (stamped by `emit`)
                data: EventData::PageView { title, referrer },
            };
            self.emit(now, ev, false);
        }
    }

    /// Matches an interaction (or, with `None`, the page view) against the rules, converts
    /// the goals it fires and advances the funnels.
    fn interact(&mut self, now: Millis, interaction: Option<&Interaction>) {
        let Some(page) = self.page.as_ref() else {
            return;
        };
        let fields = Rc::clone(&page.fields);
        let c = Candidate {
            page: &fields,
            interaction,
            pages_in_session: self.visit.session.pages,
        };
        let goals = &self.config.goals;
        let candidates = goals.candidates(interaction);
        let mut matched = Vec::new();
        let mut misses = Vec::new();
        for r in candidates.iter().copied() {
            if goals.rule_matches(r, &c, &*self.patterns) {
                matched.push(r);
            } else if self.config.debug {
                let goal = goals
                    .goal_of_rule(r)
                    .map(|g| g.id.clone())
                    .unwrap_or_default();
                misses.push(Ignored::NotMatched {
                    goal,
                    failed: goals.why_not(r, &c, &*self.patterns),
                });
            }
        }
        for m in misses {
            self.ignore(m);
        }
        match interaction {
            Some(Interaction::Custom { name, .. }) if matched.is_empty() => {
                self.ignore(Ignored::NoGoalForEvent(name.clone()))
            }
            Some(i) if candidates.is_empty() => self.ignore(Ignored::NoRule(trigger_name(i))),
            _ => {}
        }
        for r in &matched {
            if let Some(gi) = self.config.goals.rule_goal.get(*r).copied().flatten() {
                self.convert(now, gi, &c);
            }
        }
        self.advance_funnels(now, &matched, &c);
    }

    fn advance_funnels(&mut self, now: Millis, matched: &[usize], c: &Candidate) {
        for gi in 0..self.config.goals.goals.len() {
            let Some(f) = self.config.goals.goals[gi].funnel.clone() else {
                continue;
            };
            if f.steps.is_empty() || self.config.goals.dead.contains(&gi) {
                continue;
            }
            let funnels = &mut self.visit.session.funnels;
            let pos = match funnels.iter().position(|p| p.goal == gi) {
                Some(p) => p,
                None => {
                    funnels.push(Progress {
                        goal: gi,
                        next: 0,
                        started: now,
                    });
                    funnels.len() - 1
                }
            };
            let before = funnels[pos];
            let (mut next, mut started) = (before.next, before.started);
            if next > 0
                && f.window
                    .is_some_and(|w| now.0.saturating_sub(started.0) > w.0)
            {
                next = 0;
            }
            let hit = |k: usize| matched.contains(&f.steps[k]);
            if hit(next) {
                if next == 0 {
                    started = now;
                }
                self.funnel_step(now, gi, next as u32, f.steps.len() as u32);
                next += 1;
                if next == f.steps.len() {
                    next = 0;
                    self.convert(now, gi, c);
                }
            } else if f.strict && next > 0 && (0..f.steps.len()).any(|k| k != next && hit(k)) {
                // another step came in between: start over (this event may be a new first step)
                next = 0;
                if hit(0) {
                    started = now;
                    self.funnel_step(now, gi, 0, f.steps.len() as u32);
                    next = 1;
                }
            }
            let after = Progress {
                goal: gi,
                next,
                started,
            };
            if after.next != before.next {
                self.visit_dirty = true;
            }
            self.visit.session.funnels[pos] = after;
        }
    }

    fn funnel_step(&mut self, now: Millis, gi: usize, step: u32, steps: u32) {
        let id = self.rng.event_id();
        let Some(page) = self.page.as_ref() else {
            return;
        };
        let funnel = self.config.goals.goals[gi].id.clone();
        let ev = Event {
            id,
            ts: now,
            page: page.id,
            url: page.url.clone(),
            session: self.visit.session.id,
            consent: ConsentStamp::Anonymous, // (stamped by `emit`)
            data: EventData::FunnelStep {
                funnel,
                step,
                steps,
            },
        };
        self.emit(now, ev, false);
    }

    fn convert(&mut self, now: Millis, gi: usize, c: &Candidate) {
        // borrowed, not cloned: only what the event and the announcement keep is copied
        let goal = &self.config.goals.goals[gi];
        let Some(page) = self.page.as_mut() else {
            return;
        };
        // once per key: the event id is the key's, so the collector stores it once wherever
        // it comes from; a conversion without its key counts every time
        let keyed = match &goal.once {
            Once::PerKey(field) => match c.value(field).filter(|v| !v.text().is_empty()) {
                Some(v) => Some(crate::ids::derive_id(
                    &self.config.site,
                    &goal.id,
                    &v.text(),
                )),
                None => {
                    self.outputs.push(Output::Ignored(Ignored::NoKey {
                        goal: goal.id.clone(),
                    }));
                    None
                }
            },
            _ => None,
        };
        let seen = match &goal.once {
            Once::Every => false,
            Once::Page => page.converted.contains(&gi),
            Once::Session => self.visit.session.converted.contains(&gi),
            Once::Visitor => self.visit.visitor.contains(&gi),
            Once::PerKey(_) => keyed.is_some_and(|k| self.visit.has_key(k)),
        };
        if seen {
            let id = goal.id.clone();
            self.ignore(Ignored::AlreadyConverted(id));
            return;
        }
        // sets of goal indexes, bounded by the number of goals (an `every` goal converting
        // again must not grow them)
        for set in [
            &mut page.converted,
            &mut self.visit.session.converted,
            &mut self.visit.visitor,
        ] {
            if !set.contains(&gi) {
                set.push(gi);
            }
        }
        if let Some(k) = keyed {
            self.visit.remember_key(k, now);
        }
        if matches!(goal.once, Once::Session | Once::Visitor | Once::PerKey(_)) {
            self.visit_dirty = true;
        }
        let (page_id, url) = (page.id, page.url.clone());
        let value = match &goal.value {
            Source::None => None,
            Source::Fixed(v) => Some(*v),
            Source::Prop(p) => c.value(&Field::Prop(p.clone())).and_then(|v| v.number()),
            Source::Attr(a) => c.value(&Field::Attr(a.clone())).and_then(|v| v.number()),
        };
        let currency = match &goal.currency {
            Source::None => None,
            Source::Fixed(v) => Some(v.clone()),
            Source::Prop(p) => c
                .value(&Field::Prop(p.clone()))
                .map(|v| v.text().into_owned()),
            Source::Attr(a) => c
                .value(&Field::Attr(a.clone()))
                .map(|v| v.text().into_owned()),
        }
        .filter(|cur| goalpost_protocol::valid_currency(cur));
        let props = match c.interaction {
            Some(Interaction::Custom { props, .. }) => props.clone(),
            _ => Vec::new(),
        };
        let id = keyed.unwrap_or_else(|| self.rng.event_id());
        let data = EventData::Conversion {
            goal: goal.id.clone(),
            kind: goal.kind,
            value,
            currency: currency.clone(),
            category: goal.category.clone(),
            props,
        };
        let ev = Event {
            id,
            ts: now,
            page: page_id,
            url,
            session: self.visit.session.id,
            consent: ConsentStamp::Anonymous, // (stamped by `emit`)
            data,
        };
        self.outputs.push(Output::Converted(Conversion {
            index: gi,
            goal: goal.id.clone(),
            kind: goal.kind,
            label: goal.label.clone(),
            category: goal.category.clone(),
            value,
            currency,
            forward: Consent::allows(self.consent.ads, self.config.consent.mode),
        }));
        let urgent = goal.kind == GoalKind::Macro && self.config.batch.macro_now;
        self.emit(now, ev, urgent);
    }

    /// Collects an event as consent allows: with identifiers, without them, held until a
    /// choice, or not at all; stamped with the state it was collected under.
    fn emit(&mut self, now: Millis, mut ev: Event, urgent: bool) {
        let policy = &self.config.consent;
        let collect = self.consent.collect(policy.mode, policy.hold);
        let touches = match collect {
            // (before a choice, `handle` holds the inputs that emit: nothing reaches here then)
            Collect::Refuse | Collect::Hold => {
                self.ignore(Ignored::NoConsent);
                return;
            }
            Collect::Anonymous => {
                ev.session = None;
                None
            }
            Collect::Full => self.visit.touches.as_ref(),
        };
        ev.consent = if self.replaying {
            ConsentStamp::Pending
        } else {
            self.consent.stamp(collect)
        };
        let touches = touches.map(|(first, last)| (first.wire(), last.wire()));
        let json = ev.to_json(touches, Consent::allows(self.consent.ads, policy.mode));
        self.enqueue(now, json, urgent);
    }

    /// A new choice: a denial drops everything unsent and asks the shell to clear storage; a
    /// grant handles what was held.
    fn consent_changed(&mut self, _now: Millis, update: ConsentUpdate) {
        let was = self.consent;
        self.consent.apply(update);
        let c = self.consent;
        if c.analytics == Choice::Denied {
            self.queue.clear();
            self.unconfirmed.clear();
            self.dirty = true;
            self.flush_at = None;
            self.retry_at = None;
        }
        let denied =
            |now: Choice, before: Choice| now == Choice::Denied && before != Choice::Denied;
        if denied(c.analytics, was.analytics) || denied(c.storage, was.storage) {
            self.outputs.push(Output::ClearStorage);
        }
        let policy = &self.config.consent;
        let holding = self.consent.collect(policy.mode, policy.hold) == Collect::Hold;
        if !holding && !self.held.is_empty() {
            // handled now, in order, with their own times: after a grant collected as
            // `pending`; after a denial refused (they still set up the page's state)
            self.replaying = true;
            for (at, input) in core::mem::take(&mut self.held) {
                self.handle(at, input);
            }
            self.replaying = false;
        }
    }

    /// Holds a page view or interaction until the choice, at most `maxHeld`: past that the
    /// oldest interaction goes (the page view they belong to stays), counted and reported.
    fn hold(&mut self, input: Input, now: Millis) {
        self.held.push((now, input));
        if self.held.len() > self.config.consent.max_held.max(1) {
            let oldest = self
                .held
                .iter()
                .position(|(_, i)| matches!(i, Input::Interact(_)))
                .unwrap_or(0);
            self.held.remove(oldest);
            self.drop_events(Ignored::QueueFull { events: 1 }, 1);
        }
    }

    /// Puts events back at the head of the queue, in their order (they are older than
    /// anything queued since).
    fn requeue(&mut self, events: Vec<Queued>) {
        self.queue.splice(0..0, events);
    }

    fn enqueue(&mut self, now: Millis, json: String, urgent: bool) {
        self.dirty = true;
        self.queue.push(Queued { json, urgent });
        // bounded: a collector that is down for long costs at most `max_stored` events of
        // memory and storage; the oldest go first, counted and reported
        let over = self
            .queue
            .len()
            .saturating_sub(self.config.batch.max_stored.max(1));
        if over > 0 {
            self.queue.drain(..over);
            self.drop_events(Ignored::QueueFull { events: over }, over);
        }
        if urgent {
            self.send_due = true;
        } else if self.queue.len() >= self.config.batch.max_events {
            if self.batch_size(MAX_BATCH_EVENTS) < self.queue.len() {
                // a full request is queued, and more: waiting cannot add to it, and a burst of
                // more than `max_stored` in one task (a thousand single-page navigations) must
                // not push events out of the queue
                self.send_due = true;
            } else if self.flush_at.is_none_or(|t| t > now) {
                // due now, sent on the next tick: in the browser a zero-delay timer, so the
                // request leaves the task that queued the event (a click handler: the visitor's
                // next frame does not wait for it), together with whatever else that task queues.
                // Already due, it stays due from then: no new timer for each further event.
                self.flush_at = Some(now);
            }
        } else if self.flush_at.is_none() {
            self.flush_at = Some(now.plus(self.config.batch.max_delay));
        }
    }

    /// Sends the next batch by fetch, unless one is in flight or a retry is pending.
    fn send_next(&mut self, now: Millis) {
        let busy = self.in_flight.iter().any(|f| !f.beacon);
        let waiting = self.consent_wait.is_some_and(|t| t > now);
        if busy
            || waiting
            || self.offline
            || self.retry_at.is_some_and(|t| t > now)
            || self.queue.is_empty()
        {
            return;
        }
        self.flush_at = None;
        self.send_batch(now, false);
    }

    /// Sends the queue by beacon, within the keepalive budget: what does not fit stays queued
    /// (a beacon over the budget would be refused anyway).
    fn send_all_by_beacon(&mut self, now: Millis) {
        if self.consent_wait.is_some_and(|t| t > now) || self.offline {
            return; // no answer from the consent tool yet, or offline (kept, and stored)
        }
        self.flush_at = None;
        while !self.queue.is_empty() {
            let in_flight: usize = self.in_flight.iter().map(|f| f.bytes).sum();
            if in_flight + self.config.batch.max_bytes > KEEPALIVE_BUDGET {
                break;
            }
            self.send_batch(now, true);
        }
    }

    /// Takes events from the head of the queue up to the byte limit (at least one), and asks
    /// the shell to send them. A fetch takes up to
    /// [`MAX_BATCH_EVENTS`](MAX_BATCH_EVENTS): `max_events` is when it is due,
    /// not its size, so events that queued up while a send was out (a burst) go in one request
    /// instead of one per `max_events`; a failed fetch is retried, so its size risks nothing. A
    /// beacon takes up to `max_events`: nothing can retry it once the page is gone, and the
    /// smaller each is, the fewer events one failed beacon loses.
    fn send_batch(&mut self, now: Millis, beacon: bool) {
        let most = if beacon {
            self.config.batch.max_events
        } else {
            MAX_BATCH_EVENTS
        };
        let take = self.batch_size(most);
        let rest = self.queue.split_off(take);
        let events = core::mem::replace(&mut self.queue, rest);
        let batch = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let wire = self.rng.event_id();
        let mut parts: Vec<&str> = Vec::new();
        for q in &events {
            parts.push(&q.json);
        }
        let drops = self.unreported_drops;
        let body = batch_body(&self.config.site, wire, now, drops, &parts);
        self.in_flight.push(InFlight {
            batch,
            events,
            beacon,
            bytes: body.len(),
            drops,
        });
        self.outputs.push(Output::Send {
            batch,
            body,
            beacon,
        });
    }

    /// How many events from the head of the queue one batch takes: as many as fit in
    /// `max_bytes` (at least one), at most `most`.
    fn batch_size(&self, most: usize) -> usize {
        let mut bytes = self.config.site.len() + BATCH_OVERHEAD;
        let mut take = 0;
        for next in &self.queue {
            let fits = bytes + next.json.len() < self.config.batch.max_bytes;
            if take > 0 && (take >= most || !fits) {
                break;
            }
            bytes += next.json.len() + 1;
            take += 1;
        }
        take
    }

    fn sent(&mut self, now: Millis, batch: u32, status: SendStatus) {
        let Some(pos) = self.in_flight.iter().position(|f| f.batch == batch) else {
            return;
        };
        let flight = self.in_flight.remove(pos);
        self.dirty = true;
        match self.config.retry.verdict(status) {
            Verdict::Delivered => {
                if flight.beacon {
                    self.unconfirmed.extend(flight.events);
                    let over = self
                        .unconfirmed
                        .len()
                        .saturating_sub(self.config.batch.max_stored);
                    self.unconfirmed.drain(..over);
                }
                self.failures = 0;
                self.unreported_drops = self.unreported_drops.saturating_sub(flight.drops);
                // Events queued while this batch was out are sent now if they are due (full
                // batch, urgent, a flush asked for, or their delay already passed).
                let due = self.queue.len() >= self.config.batch.max_events
                    || self.queue.iter().any(|q| q.urgent)
                    || self.drain_wanted
                    || self.flush_at.is_none_or(|t| t <= now);
                if due {
                    self.send_next(now);
                }
            }
            Verdict::Retry if self.consent.analytics == Choice::Denied => {
                // collected before the denial, not sent again after it
            }
            Verdict::Retry if self.offline && status == SendStatus::NetworkError => {
                // offline: wait for the browser to be back, without spending an attempt
                self.requeue(flight.events);
            }
            Verdict::Retry => {
                self.failures += 1;
                if self.failures > self.config.retry.max_attempts {
                    self.failures = 0;
                    self.drop_events(
                        Ignored::GaveUp {
                            events: flight.events.len(),
                        },
                        flight.events.len(),
                    );
                    self.send_next(now);
                } else {
                    self.requeue(flight.events);
                    let delay = self
                        .config
                        .retry
                        .wait(self.failures, self.rng.next_u64(), status);
                    self.retry_at = Some(now.plus(delay));
                }
            }
            Verdict::Drop => {
                let status = if let SendStatus::Http(s) = status {
                    s
                } else {
                    0
                };
                let n = flight.events.len();
                self.drop_events(Ignored::Refused { events: n, status }, n);
                self.send_next(now);
            }
        }
    }

    /// A snapshot of every unsent event (queued, and in flight: not confirmed yet), where
    /// storage consent allows. The queue itself is bounded (`max_stored`).
    fn persist(&mut self, now: Millis) {
        // Without storage consent the changes stay marked, and are written once it comes.
        if !Consent::allows(self.consent.storage, self.config.consent.mode) {
            return;
        }
        if !self.dirty && !self.visit_dirty {
            self.persist_at = None;
            return;
        }
        // at most one write per PERSIST_EVERY while the page is shown (each is a synchronous
        // localStorage write of the whole snapshot); the first at once, at once while hidden,
        // and at once when nothing is left to store (a removal, cheap: storage is tidy as soon
        // as everything is delivered)
        let nothing_left =
            self.unconfirmed.is_empty() && self.in_flight.is_empty() && self.queue.is_empty();
        if let Some(due) = self.persisted_at.map(|t| t.plus(PERSIST_EVERY)) {
            if !self.hidden && !nothing_left && now < due {
                self.persist_at = Some(due);
                return;
            }
        }
        self.persist_at = None;
        self.persisted_at = Some(now);
        if core::mem::take(&mut self.visit_dirty) {
            if let Some(v) = self.visit_json() {
                self.outputs.push(Output::PersistVisit(v));
            }
        }
        if !core::mem::take(&mut self.dirty) {
            return;
        }
        let mut events: Vec<&str> = Vec::new();
        for q in &self.unconfirmed {
            events.push(&q.json);
        }
        for f in &self.in_flight {
            for q in &f.events {
                events.push(&q.json);
            }
        }
        for q in &self.queue {
            events.push(&q.json);
        }
        let mut o = String::from("{\"v\":1,\"events\":[");
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str(e);
        }
        o.push_str("]}");
        self.outputs.push(Output::Persist(o));
    }

    /// The visit as JSON, for the next page ([`Visit::to_json`]).
    fn visit_json(&self) -> Option<String> {
        self.visit.to_json(&self.config.goals)
    }

    /// A stored visit merged in ([`Visit::merge`]): before the first page view it is taken
    /// as it is; mid-page it is written back only if this page knows more.
    fn restore_visit(&mut self, now: Millis, v: &Json) {
        let goals = &self.config.goals;
        let Some(stored) = Visit::parse(v, goals) else {
            return;
        };
        let mid_page = self.page.is_some();
        if self.visit.merge(now, stored, goals, mid_page) {
            self.visit_dirty = true;
        }
    }

    /// Whether goalpost may use storage once `update` is applied (the shell reads the stored
    /// visit before applying a choice, and merges it first if the choice allows storage).
    pub fn storage_allowed_with(&self, update: ConsentUpdate) -> bool {
        let mut c = self.consent;
        c.apply(update);
        Consent::allows(c.storage, self.config.consent.mode)
    }

    /// Whether goalpost may use browser storage now.
    pub fn storage_allowed(&self) -> bool {
        Consent::allows(self.consent.storage, self.config.consent.mode)
    }

    fn drop_events(&mut self, why: Ignored, n: usize) {
        self.dropped += n as u64;
        self.unreported_drops += n as u64;
        self.ignore(why);
    }

    fn ignore(&mut self, why: Ignored) {
        self.outputs.push(Output::Ignored(why));
    }

    /// After every input: ask for the next wake-up (a pending retry comes first: nothing is
    /// sent before it), and report a drain.
    fn after(&mut self, _now: Millis) {
        let send = if self.queue.is_empty() {
            None
        } else {
            // while waiting for a consent tool, nothing can go before the wait ends
            self.consent_wait.or(self.retry_at.or(self.flush_at))
        };
        // the earlier of the next send and a throttled snapshot
        let next = match (send, self.persist_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(t) = next.filter(|_| next != self.wake) {
            self.outputs.push(Output::WakeAt(t));
        }
        self.wake = next;
        if self.drain_wanted && self.queue.is_empty() && self.in_flight.is_empty() {
            self.drain_wanted = false;
            self.outputs.push(Output::Drained);
        }
    }
}

#[cfg(test)]
mod tests;

fn trigger_name(i: &Interaction) -> &'static str {
    match i {
        Interaction::Click(_) => "click",
        Interaction::Submit(_) => "submit",
        Interaction::Media(_) => "media",
        Interaction::Scroll { .. } => "scroll",
        Interaction::Visible { .. } => "visible",
        Interaction::Engaged { .. } => "engaged",
        Interaction::Custom { .. } => "custom",
    }
}
