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
//! // (its answer is waited for until the request timeout and 5 s more: then it is taken as lost)
//! assert_eq!(t.poll(), Some(Output::WakeAt(Millis(23_000))));
//! t.handle(Millis(3_050), Input::Sent { batch, status: SendStatus::Http(204) });
//! assert_eq!((t.queued(), t.poll()), (0, None));
//! ```

use crate::condition::{Field, Patterns};
use crate::config::Config;
use crate::config::Spa;
use crate::consent::{Choice, Collect, Consent, ConsentUpdate};
use crate::delivery::{earliest, Cx, Delivery};
use crate::goals::{GoalKind, Once, Source};
use crate::ids::{EventId, Rng};
use crate::interaction::{Candidate, Interaction, PageFields};
use crate::json::Json;
pub use crate::output::{Conversion, Ignored, Output};
use crate::policy::SendStatus;
use crate::prelude::*;
use crate::time::Millis;
use crate::url::{redact, sanitize_with, truncate};
use crate::visit::{Progress, Visit};
use alloc::rc::Rc;
use goalpost_protocol::{
    ConsentStamp, Event, EventData, Prop, MAX_PROPS, MAX_PROP_LEN, MAX_TITLE_LEN,
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

/// The stored snapshot (where consent allows storage) is written at most this often while the
/// page is shown: the first change at once, later ones together after this long, and at once
/// while the page is hidden (from [`Input::Hidden`], which a page going away sends). Each write
/// is a synchronous `localStorage` write of the whole queue; written after every event it cost
/// a converting click ~0.3 ms in a burst (the bench page, consent `implied`).
pub const PERSIST_EVERY: Millis = Millis(1_000);

/// The tracker state machine. It never reads a clock: every input comes with `now`.
pub struct Tracker {
    config: Config,
    rng: Rng,
    patterns: Box<dyn Patterns>,
    page: Option<PageState>,
    /// Session, touches and what the once-rules and funnels remember (memory; stored where
    /// consent allows).
    visit: Visit,
    /// The queue, batches in flight, retries, the keepalive budget, drops.
    delivery: Delivery,
    wake: Option<Millis>,
    consent: Consent,
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
            delivery: Delivery::new(),
            wake: None,
            consent: Consent::default(),
            persisted_at: None,
            persist_at: None,
            hidden: false,
            visit_dirty: false,
            held: Vec::new(),
            replaying: false,
            outputs: Vec::new(),
        }
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Events dropped so far (refused or given up).
    pub fn dropped(&self) -> u64 {
        self.delivery.dropped()
    }

    /// Events queued and not yet sent.
    pub fn queued(&self) -> usize {
        self.delivery.queued()
    }

    /// The delivery and what it needs for a call, borrowed apart from the rest.
    fn delivery(&mut self) -> (&mut Delivery, Cx<'_>) {
        let cx = Cx {
            site: &self.config.site,
            batch: &self.config.batch,
            retry: &self.config.retry,
            rng: &mut self.rng,
            outputs: &mut self.outputs,
        };
        (&mut self.delivery, cx)
    }

    /// Feeds one input.
    pub fn handle(&mut self, now: Millis, input: Input) {
        if self.holding() && matches!(input, Input::PageView(_) | Input::Interact(_)) {
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
                // The timer asked for has fired: whatever is still ahead is asked for again.
                // A browser may fire it a little before `Date.now()` reaches the time asked
                // for (Firefox's clock is coarsened): then nothing is due yet, and without
                // this the same wake-up was never asked for again and the queue waited for the
                // next input that moved it (a retry that never came, on Firefox, under load).
                self.wake = None;
                let denied = self.consent.analytics == Choice::Denied;
                let (d, mut cx) = self.delivery();
                d.tick(now, denied, &mut cx);
            }
            Input::Hidden => {
                // (and until shown, snapshots are written at once: no visitor waits for them)
                self.hidden = true;
                let (d, mut cx) = self.delivery();
                d.send_all_by_beacon(now, &mut cx);
            }
            Input::Shown => {
                self.hidden = false;
                let max_delay = self.config.batch.max_delay;
                self.delivery.shown(now, max_delay);
            }
            Input::Consent(update) => {
                self.consent_changed(now, update);
                self.delivery.consent_answered();
            }
            Input::AwaitConsent(until) => self.delivery.await_consent(until),
            Input::RestoreVisit(visit) => self.restore_visit(now, &visit),
            Input::Restore(events) => {
                // older than anything queued now
                let max_bytes = self.config.batch.max_bytes;
                self.delivery.restore(events, max_bytes);
            }
            Input::Online(online) => {
                let (d, mut cx) = self.delivery();
                d.online(now, online, &mut cx);
            }
            Input::Flush => {
                let (d, mut cx) = self.delivery();
                d.flush(now, &mut cx);
            }
            Input::Sent { batch, status } => {
                let denied = self.consent.analytics == Choice::Denied;
                let (d, mut cx) = self.delivery();
                d.sent(now, batch, status, denied, &mut cx);
            }
            Input::Lost(n) => {
                let (d, mut cx) = self.delivery();
                d.drop_events(&mut cx, Ignored::Lost { inputs: n }, n as usize);
            }
        }
        let (d, mut cx) = self.delivery();
        d.send_if_due(now, &mut cx);
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
            Once::PerKey(field) => match c
                .value(field)
                .map(|v| v.text().into_owned())
                .filter(|key| !key.is_empty())
            {
                Some(key) => Some(crate::ids::derive_id(&self.config.site, &goal.id, &key)),
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
        }
        // a value the protocol cannot carry (negative, past 1e12) is left out; the conversion counts
        .filter(|v| goalpost_protocol::valid_value(*v));
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
        let detail = self.config.goals.detail(goal, c, &self.config.keep_params);
        let data = EventData::Conversion {
            goal: goal.id.clone(),
            kind: goal.kind,
            value,
            currency: currency.clone(),
            category: goal.category.clone(),
            props,
            detail: Box::new(detail),
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
        if self.config.debug {
            let note = match &ev.data {
                EventData::PageView { .. } => Some(("page_view", ev.url.clone(), 0, 0)),
                EventData::FunnelStep {
                    funnel,
                    step,
                    steps,
                } => Some(("funnel_step", funnel.clone(), *step, *steps)),
                _ => None,
            };
            if let Some((what, name, step, steps)) = note {
                self.outputs.push(Output::Collected {
                    what,
                    name,
                    step,
                    steps,
                });
            }
        }
        let touches = touches.map(|(first, last)| (first.wire(), last.wire()));
        let json = ev.to_json(touches, Consent::allows(self.consent.ads, policy.mode));
        let (d, mut cx) = self.delivery();
        d.enqueue(now, json, urgent, &mut cx);
    }

    /// A new choice: a denial drops everything unsent and asks the shell to clear storage; a
    /// grant handles what was held.
    fn consent_changed(&mut self, _now: Millis, update: ConsentUpdate) {
        let was = self.consent;
        self.consent.apply(update);
        let c = self.consent;
        if c.analytics == Choice::Denied {
            self.delivery.clear();
        }
        let denied =
            |now: Choice, before: Choice| now == Choice::Denied && before != Choice::Denied;
        if denied(c.analytics, was.analytics) || denied(c.storage, was.storage) {
            self.outputs.push(Output::ClearStorage);
        }
        if !self.holding() && !self.held.is_empty() {
            // handled now, in order, with their own times: after a grant collected as
            // `pending`; after a denial refused (they still set up the page's state)
            self.replaying = true;
            for (at, input) in core::mem::take(&mut self.held) {
                self.handle(at, input);
            }
            self.replaying = false;
        }
    }

    /// Whether page views and interactions wait for a choice (`required` mode with `hold`,
    /// before the visitor answered).
    fn holding(&self) -> bool {
        let policy = &self.config.consent;
        self.consent.collect(policy.mode, policy.hold) == Collect::Hold
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
            let (d, mut cx) = self.delivery();
            d.drop_events(&mut cx, Ignored::QueueFull { events: 1 }, 1);
        }
    }

    /// A snapshot of every unsent event (queued, and in flight: not confirmed yet), where
    /// storage consent allows. The queue itself is bounded (`max_stored`).
    fn persist(&mut self, now: Millis) {
        // Without storage consent the changes stay marked, and are written once it comes.
        if !Consent::allows(self.consent.storage, self.config.consent.mode) {
            return;
        }
        if !self.delivery.dirty && !self.visit_dirty {
            self.persist_at = None;
            return;
        }
        // at most one write per PERSIST_EVERY while the page is shown (each is a synchronous
        // localStorage write of the whole snapshot); the first at once, at once while hidden,
        // and at once when nothing is left to store (a removal, cheap: storage is tidy as soon
        // as everything is delivered)
        let nothing_left = self.delivery.is_empty();
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
        if core::mem::take(&mut self.delivery.dirty) {
            let d = &self.delivery;
            self.outputs
                .push(Output::Persist((!d.is_empty()).then(|| d.snapshot())));
        }
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

    /// Turns debug reports ([`Ignored::NotMatched`], [`Output::Collected`]) on or off from
    /// now on, as `"debug": true` does from the start.
    pub fn set_debug(&mut self, on: bool) {
        self.config.debug = on;
    }

    /// The consent state, for the preview panel, packed in bits (`js/preview.mjs` unpacks it):
    /// 0–1 the mode (0 required, 1 anonymous, 2 implied); 2–3, 4–5, 6–7 the analytics, ads
    /// and storage choices (0 unknown, 1 granted, 2 denied); 8–9 how events are collected now
    /// (0 full, 1 anonymous, 2 hold, 3 refuse); 10 browser storage allowed; 11 conversions
    /// forwarded to `dataLayer`.
    pub fn consent_bits(&self) -> u32 {
        use crate::consent::{Choice, Collect, Mode};
        let policy = &self.config.consent;
        let choice = |c: Choice| match c {
            Choice::Unknown => 0,
            Choice::Granted => 1,
            Choice::Denied => 2,
        };
        let c = self.consent;
        let mode = match policy.mode {
            Mode::Required => 0,
            Mode::Anonymous => 1,
            Mode::Implied => 2,
        };
        let collect = match c.collect(policy.mode, policy.hold) {
            Collect::Full => 0,
            Collect::Anonymous => 1,
            Collect::Hold => 2,
            Collect::Refuse => 3,
        };
        mode | choice(c.analytics) << 2
            | choice(c.ads) << 4
            | choice(c.storage) << 6
            | collect << 8
            | u32::from(self.storage_allowed()) << 10
            | u32::from(Consent::allows(c.ads, policy.mode)) << 11
    }

    /// Whether goalpost may use browser storage now.
    pub fn storage_allowed(&self) -> bool {
        Consent::allows(self.consent.storage, self.config.consent.mode)
    }

    fn ignore(&mut self, why: Ignored) {
        self.outputs.push(Output::Ignored(why));
    }

    /// After every input: ask for the next wake-up (a pending retry comes first: nothing is
    /// sent before it), and report a drain.
    fn after(&mut self, _now: Millis) {
        // the earliest of the next send, a throttled snapshot and a send's answer given up on
        let next = earliest(
            earliest(self.delivery.next_send(), self.persist_at),
            self.delivery.next_deadline(),
        );
        if let Some(t) = next.filter(|_| next != self.wake) {
            self.outputs.push(Output::WakeAt(t));
        }
        self.wake = next;
        if self.delivery.take_drained() {
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
