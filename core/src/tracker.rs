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

use std::collections::VecDeque;

use crate::config::Config;
use crate::goals::{Goal, GoalKind};
use crate::ids::{EventId, Rng};
use crate::payload::{batch_body, Event, EventData, Prop, MAX_PROPS, MAX_PROP_LEN};
use crate::policy::{SendStatus, Verdict};
use crate::time::Millis;
use crate::url::{sanitize, truncate, ATTRIBUTION_PARAMS};

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
    /// A click; the indexes of the [`GoalSet::selectors`](crate::GoalSet::selectors) that
    /// the target is inside of.
    Click(Vec<u32>),
    /// `track(name, props)` from page code.
    Custom {
        /// The event name.
        name: String,
        /// Flat props.
        props: Vec<(String, Prop)>,
    },
    /// A timer asked for with [`Output::WakeAt`] fired (extra ticks are harmless).
    Tick,
    /// The page is being hidden or unloaded: send everything now, by beacon.
    Hidden,
    /// Send what is queued now, without waiting for the batch delay.
    Flush,
    /// The result of an [`Output::Send`].
    Sent {
        /// The batch it answers.
        batch: u32,
        /// What happened.
        status: SendStatus,
    },
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
    /// A goal was reached (for page callbacks and debug logs).
    Converted {
        /// The goal id.
        goal: String,
    },
    /// An input led to nothing, and why (debug mode logs it).
    Ignored(Ignored),
    /// Nothing is queued or in flight any more (settles `flush()` promises).
    Drained,
}

/// Why an input produced nothing, or why events were dropped. Every "don't send" of the
/// tracker goes through here.
#[derive(Clone, Debug, PartialEq)]
pub enum Ignored {
    /// A click matched no goal.
    ClickMatchedNoGoal,
    /// A custom event matched no goal.
    NoGoalForEvent(String),
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
}

struct Queued {
    json: String,
    urgent: bool,
}

struct InFlight {
    batch: u32,
    events: Vec<Queued>,
    beacon: bool,
}

/// The tracker state machine. It never reads a clock: every input comes with `now`.
pub struct Tracker {
    config: Config,
    rng: Rng,
    page: Option<(EventId, String)>,
    queue: VecDeque<Queued>,
    in_flight: Vec<InFlight>,
    next_batch: u32,
    flush_at: Option<Millis>,
    retry_at: Option<Millis>,
    failures: u32,
    wake: Option<Millis>,
    drain_wanted: bool,
    dropped: u64,
    outputs: VecDeque<Output>,
}

impl Tracker {
    /// A tracker for `config`, its ids drawn from a generator seeded with `seed`.
    pub fn new(config: Config, seed: &[u32]) -> Tracker {
        Tracker {
            config,
            rng: Rng::new(seed),
            page: None,
            queue: VecDeque::new(),
            in_flight: Vec::new(),
            next_batch: 1,
            flush_at: None,
            retry_at: None,
            failures: 0,
            wake: None,
            drain_wanted: false,
            dropped: 0,
            outputs: VecDeque::new(),
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
        match input {
            Input::PageView(page) => self.page_view(now, page),
            Input::Click(hits) => {
                let goals: Vec<Goal> = self.config.goals.on_click(&hits).cloned().collect();
                if goals.is_empty() {
                    self.ignore(Ignored::ClickMatchedNoGoal);
                }
                for g in goals {
                    self.convert(now, &g, Vec::new());
                }
            }
            Input::Custom { name, mut props } => {
                let goals: Vec<Goal> = self.config.goals.on_custom(&name).cloned().collect();
                if goals.is_empty() {
                    self.ignore(Ignored::NoGoalForEvent(name));
                }
                props.truncate(MAX_PROPS);
                for (k, v) in props.iter_mut() {
                    truncate(k, MAX_PROP_LEN);
                    if let Prop::Str(s) = v {
                        truncate(s, MAX_PROP_LEN);
                    }
                }
                for g in goals {
                    self.convert(now, &g, props.clone());
                }
            }
            Input::Tick => {
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
            Input::Hidden => self.send_all_by_beacon(now),
            Input::Flush => {
                self.drain_wanted = true;
                self.retry_at = None;
                self.flush_at = None;
                self.send_next(now);
            }
            Input::Sent { batch, status } => self.sent(now, batch, status),
        }
        self.after(now);
    }

    /// The next output, if any.
    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    fn page_view(&mut self, now: Millis, page: Page) {
        let id = self.rng.event_id();
        let url = sanitize(&page.url, ATTRIBUTION_PARAMS);
        self.page = Some((id, url.clone()));
        if self.config.pageviews {
            let mut title = page.title;
            truncate(&mut title, 300);
            let referrer = sanitize(&page.referrer, ATTRIBUTION_PARAMS);
            let ev = Event {
                id,
                ts: now,
                page: id,
                url,
                data: EventData::PageView { title, referrer },
            };
            self.enqueue(now, ev.to_json(), false);
        }
    }

    fn convert(&mut self, now: Millis, goal: &Goal, props: Vec<(String, Prop)>) {
        let id = self.rng.event_id();
        let (page, url) = self.page.clone().unwrap_or((id, String::new()));
        let data = EventData::Conversion {
            goal: goal.id.clone(),
            kind: goal.kind,
            props,
        };
        let ev = Event {
            id,
            ts: now,
            page,
            url,
            data,
        };
        self.outputs.push_back(Output::Converted {
            goal: goal.id.clone(),
        });
        let urgent = goal.kind == GoalKind::Macro && self.config.batch.macro_now;
        self.enqueue(now, ev.to_json(), urgent);
    }

    fn enqueue(&mut self, now: Millis, json: String, urgent: bool) {
        self.queue.push_back(Queued { json, urgent });
        if urgent || self.queue.len() >= self.config.batch.max_events {
            self.send_next(now);
        } else if self.flush_at.is_none() {
            self.flush_at = Some(now.plus(self.config.batch.max_delay));
        }
    }

    /// Sends the next batch by fetch, unless one is in flight or a retry is pending.
    fn send_next(&mut self, now: Millis) {
        let busy = self.in_flight.iter().any(|f| !f.beacon);
        if busy || self.retry_at.is_some_and(|t| t > now) || self.queue.is_empty() {
            return;
        }
        self.flush_at = None;
        self.send_batch(now, false);
    }

    fn send_all_by_beacon(&mut self, now: Millis) {
        self.flush_at = None;
        while !self.queue.is_empty() {
            self.send_batch(now, true);
        }
    }

    /// Takes events from the head of the queue up to the count and byte limits (at least
    /// one), and asks the shell to send them.
    fn send_batch(&mut self, now: Millis, beacon: bool) {
        let policy = &self.config.batch;
        let mut bytes = self.config.site.len() + crate::payload::BATCH_OVERHEAD;
        let mut events = Vec::new();
        while let Some(next) = self.queue.front() {
            let fits = bytes + next.json.len() < policy.max_bytes;
            if !events.is_empty() && (events.len() >= policy.max_events || !fits) {
                break;
            }
            bytes += next.json.len() + 1;
            if let Some(q) = self.queue.pop_front() {
                events.push(q);
            }
        }
        let batch = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let wire = self.rng.event_id();
        let parts: Vec<&str> = events.iter().map(|q| q.json.as_str()).collect();
        let body = batch_body(&self.config.site, wire, now, &parts);
        self.in_flight.push(InFlight {
            batch,
            events,
            beacon,
        });
        self.outputs.push_back(Output::Send {
            batch,
            body,
            beacon,
        });
    }

    fn sent(&mut self, now: Millis, batch: u32, status: SendStatus) {
        let Some(pos) = self.in_flight.iter().position(|f| f.batch == batch) else {
            return;
        };
        let flight = self.in_flight.remove(pos);
        match self.config.retry.verdict(status) {
            Verdict::Delivered => {
                self.failures = 0;
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
                    for q in flight.events.into_iter().rev() {
                        self.queue.push_front(q);
                    }
                    let delay = self.config.retry.delay(self.failures, self.rng.next_u64());
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

    fn drop_events(&mut self, why: Ignored, n: usize) {
        self.dropped += n as u64;
        self.ignore(why);
    }

    fn ignore(&mut self, why: Ignored) {
        self.outputs.push_back(Output::Ignored(why));
    }

    /// After every input: ask for the next wake-up (a pending retry comes first: nothing is
    /// sent before it), and report a drain.
    fn after(&mut self, _now: Millis) {
        let next = if self.queue.is_empty() {
            None
        } else {
            self.retry_at.or(self.flush_at)
        };
        if let Some(t) = next.filter(|_| next != self.wake) {
            self.outputs.push_back(Output::WakeAt(t));
        }
        self.wake = next;
        if self.drain_wanted && self.queue.is_empty() && self.in_flight.is_empty() {
            self.drain_wanted = false;
            self.outputs.push_back(Output::Drained);
        }
    }
}

#[cfg(test)]
mod tests;
