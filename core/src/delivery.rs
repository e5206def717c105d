//! Delivery: the queue, the batches in flight, what beacons took unconfirmed, retries, the
//! keepalive budget and the drops. The [`Tracker`](crate::Tracker) composes it: the tracker
//! decides what is collected, delivery decides when and how it leaves and what the stored
//! snapshot holds. Every call gets a [`Cx`]: the policies, the site, the id generator and the
//! tracker's outputs.

use crate::output::{Ignored, Output};
use crate::policy::{BatchPolicy, RetryPolicy, SendStatus, Verdict};
use crate::prelude::*;
use crate::time::Millis;
use crate::Rng;
use goalpost_protocol::{batch_body, BATCH_OVERHEAD, MAX_BATCH_EVENTS};

/// Chromium shares 64 KiB among all in-flight keepalive fetches and beacons of a page; goalpost
/// keeps its own bodies below this, leaving room for the page's.
pub const KEEPALIVE_BUDGET: usize = 48 * 1024;

/// What delivery needs from the tracker for one call.
pub(crate) struct Cx<'a> {
    pub site: &'a str,
    pub batch: &'a BatchPolicy,
    pub retry: &'a RetryPolicy,
    pub rng: &'a mut Rng,
    pub outputs: &'a mut Vec<Output>,
}

/// The earlier of two times, either of which may be absent.
pub(crate) fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One written event waiting to leave.
pub(crate) struct Queued {
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
    /// A fetch whose answer has not come by then is taken as failed (see [`LOST_AFTER`]).
    deadline: Option<Millis>,
}

/// How long past the request timeout (after which the host aborts the fetch and reports a
/// network error) a send's answer may still come. Past it the answer is taken as lost: the
/// batch counts as failed and is retried (the collector de-duplicates by event id, so a
/// request that did arrive is not counted twice). Without it, one answer the host never
/// delivered (a callback that never ran) held the batch, and every later one, for the rest of
/// the page's life.
pub const LOST_AFTER: Millis = Millis(5_000);

/// The events on their way to the collector.
pub(crate) struct Delivery {
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
    drain_wanted: bool,
    /// An urgent or full queue asks for a send once the current input is fully handled.
    send_due: bool,
    offline: bool,
    /// Until when nothing is sent, waiting for a consent tool's answer.
    consent_wait: Option<Millis>,
    /// The unsent events changed since the last snapshot.
    pub dirty: bool,
    /// Events dropped and not yet reported to the collector (sent as the batch's `dropped`).
    unreported_drops: u64,
    dropped: u64,
}

impl Delivery {
    pub fn new() -> Delivery {
        Delivery {
            queue: Vec::new(),
            in_flight: Vec::new(),
            unconfirmed: Vec::new(),
            next_batch: 1,
            flush_at: None,
            retry_at: None,
            failures: 0,
            drain_wanted: false,
            send_due: false,
            offline: false,
            consent_wait: None,
            dirty: false,
            unreported_drops: 0,
            dropped: 0,
        }
    }

    /// Events queued and not yet sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Events dropped so far (refused, given up, over a bound).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A timer came: the consent wait, a retry or the batch delay may have ended.
    pub fn tick(&mut self, now: Millis, denied: bool, cx: &mut Cx) {
        // a send whose answer never came: failed
        let mut i = 0;
        while i < self.in_flight.len() {
            let f = &self.in_flight[i];
            if f.deadline.is_some_and(|t| t <= now) {
                let lost = f.batch;
                self.sent(now, lost, SendStatus::NetworkError, denied, cx);
            } else {
                i += 1;
            }
        }
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
            self.send_next(now, cx);
        }
    }

    /// The page is visible again: what went out by beacon goes again with the next batch, by
    /// fetch, whose answer confirms it.
    pub fn shown(&mut self, now: Millis, max_delay: Millis) {
        if !self.unconfirmed.is_empty() {
            let back = core::mem::take(&mut self.unconfirmed);
            self.requeue(back);
            self.dirty = true;
            if self.flush_at.is_none() {
                self.flush_at = Some(now.plus(max_delay));
            }
        }
    }

    /// Nothing is sent until `until`, waiting for a consent tool's answer.
    pub fn await_consent(&mut self, until: Millis) {
        self.consent_wait = Some(until);
    }

    /// A consent signal came: a wait for the tool's answer ends.
    pub fn consent_answered(&mut self) {
        if self.consent_wait.take().is_some() {
            self.send_due = true;
        }
    }

    /// Consent was denied: nothing unsent goes any more.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.unconfirmed.clear();
        self.dirty = true;
        self.flush_at = None;
        self.retry_at = None;
    }

    /// Events stored by an earlier page go first (each must look like one event object).
    pub fn restore(&mut self, events: Vec<String>, max_bytes: usize) {
        let mut restored = Vec::new();
        for json in events {
            if json.starts_with('{') && json.ends_with('}') && json.len() < max_bytes {
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

    /// The browser went offline or back online.
    pub fn online(&mut self, now: Millis, online: bool, cx: &mut Cx) {
        self.offline = !online;
        if online {
            self.retry_at = None;
            self.send_next(now, cx);
        }
    }

    /// Send what is queued now; [`Delivery::take_drained`] says when all is done.
    pub fn flush(&mut self, now: Millis, cx: &mut Cx) {
        self.drain_wanted = true;
        self.retry_at = None;
        self.flush_at = None;
        self.send_next(now, cx);
    }

    /// After an input: a send that became due during it goes now.
    pub fn send_if_due(&mut self, now: Millis, cx: &mut Cx) {
        if core::mem::take(&mut self.send_due) {
            self.send_next(now, cx);
        }
    }

    /// Counts dropped events, to be reported in the next delivered batch, and says why.
    pub fn drop_events(&mut self, cx: &mut Cx, why: Ignored, n: usize) {
        self.dropped += n as u64;
        self.unreported_drops += n as u64;
        cx.outputs.push(Output::Ignored(why));
    }

    /// Nothing unsent, in flight or unconfirmed.
    pub fn is_empty(&self) -> bool {
        self.unconfirmed.is_empty() && self.in_flight.is_empty() && self.queue.is_empty()
    }

    /// When the next send may go (a consent wait first, then a retry, then the batch delay),
    /// if anything is queued.
    pub fn next_send(&self) -> Option<Millis> {
        if self.queue.is_empty() {
            return None;
        }
        self.consent_wait.or(self.retry_at.or(self.flush_at))
    }

    /// The earliest time a send's answer is given up on, if a fetch is out.
    pub fn next_deadline(&self) -> Option<Millis> {
        let mut first = None;
        for f in &self.in_flight {
            first = earliest(first, f.deadline);
        }
        first
    }

    /// Whether a flush asked for is now complete (once).
    pub fn take_drained(&mut self) -> bool {
        let done = self.drain_wanted && self.queue.is_empty() && self.in_flight.is_empty();
        if done {
            self.drain_wanted = false;
        }
        done
    }

    /// Every unsent event (unconfirmed, in flight, queued) as the stored snapshot's JSON.
    pub fn snapshot(&self) -> String {
        let mut o = String::from("{\"v\":1,\"events\":[");
        let mut first = true;
        let mut push = |q: &Queued| {
            if !first {
                o.push(',');
            }
            first = false;
            o.push_str(&q.json);
        };
        for q in &self.unconfirmed {
            push(q);
        }
        for f in &self.in_flight {
            for q in &f.events {
                push(q);
            }
        }
        for q in &self.queue {
            push(q);
        }
        o.push_str("]}");
        o
    }

    /// Puts events back at the head of the queue, in their order (they are older than
    /// anything queued since).
    fn requeue(&mut self, events: Vec<Queued>) {
        self.queue.splice(0..0, events);
    }

    pub fn enqueue(&mut self, now: Millis, json: String, urgent: bool, cx: &mut Cx) {
        self.dirty = true;
        self.queue.push(Queued { json, urgent });
        // bounded: a collector that is down for long costs at most `max_stored` events of
        // memory and storage; the oldest go first, counted and reported
        let over = self.queue.len().saturating_sub(cx.batch.max_stored.max(1));
        if over > 0 {
            self.queue.drain(..over);
            self.drop_events(cx, Ignored::QueueFull { events: over }, over);
        }
        if urgent {
            self.send_due = true;
        } else if self.queue.len() >= cx.batch.max_events {
            if self.batch_size(MAX_BATCH_EVENTS, cx) < self.queue.len() {
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
            self.flush_at = Some(now.plus(cx.batch.max_delay));
        }
    }

    /// Sends the next batch by fetch, unless one is in flight or a retry is pending.
    pub fn send_next(&mut self, now: Millis, cx: &mut Cx) {
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
        self.send_batch(now, false, cx);
    }

    /// Sends the queue by beacon, within the keepalive budget: what does not fit stays queued
    /// (a beacon over the budget would be refused anyway).
    pub fn send_all_by_beacon(&mut self, now: Millis, cx: &mut Cx) {
        if self.consent_wait.is_some_and(|t| t > now) || self.offline {
            return; // no answer from the consent tool yet, or offline (kept, and stored)
        }
        self.flush_at = None;
        while !self.queue.is_empty() {
            let in_flight: usize = self.in_flight.iter().map(|f| f.bytes).sum();
            if in_flight + cx.batch.max_bytes > KEEPALIVE_BUDGET {
                break;
            }
            self.send_batch(now, true, cx);
        }
    }

    /// Takes events from the head of the queue up to the byte limit (at least one), and asks
    /// the shell to send them. A fetch takes up to
    /// [`MAX_BATCH_EVENTS`](MAX_BATCH_EVENTS): `max_events` is when it is due,
    /// not its size, so events that queued up while a send was out (a burst) go in one request
    /// instead of one per `max_events`; a failed fetch is retried, so its size risks nothing. A
    /// beacon takes up to `max_events`: nothing can retry it once the page is gone, and the
    /// smaller each is, the fewer events one failed beacon loses.
    fn send_batch(&mut self, now: Millis, beacon: bool, cx: &mut Cx) {
        let most = if beacon {
            cx.batch.max_events
        } else {
            MAX_BATCH_EVENTS
        };
        let take = self.batch_size(most, cx);
        let rest = self.queue.split_off(take);
        let events = core::mem::replace(&mut self.queue, rest);
        let batch = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let wire = cx.rng.event_id();
        let mut parts: Vec<&str> = Vec::new();
        for q in &events {
            parts.push(&q.json);
        }
        let drops = self.unreported_drops;
        let body = batch_body(cx.site, wire, now, drops, &parts);
        self.in_flight.push(InFlight {
            batch,
            events,
            beacon,
            bytes: body.len(),
            drops,
            deadline: (!beacon).then(|| now.plus(cx.retry.timeout).plus(LOST_AFTER)),
        });
        cx.outputs.push(Output::Send {
            batch,
            body,
            beacon,
        });
    }

    /// How many events from the head of the queue one batch takes: as many as fit in
    /// `max_bytes` (at least one), at most `most`.
    fn batch_size(&self, most: usize, cx: &Cx) -> usize {
        let mut bytes = cx.site.len() + BATCH_OVERHEAD;
        let mut take = 0;
        for next in &self.queue {
            let fits = bytes + next.json.len() < cx.batch.max_bytes;
            if take > 0 && (take >= most || !fits) {
                break;
            }
            bytes += next.json.len() + 1;
            take += 1;
        }
        take
    }

    /// The answer to a send. `denied`: analytics consent was withdrawn meanwhile (a failed
    /// batch is then not retried).
    // (called from two places: one copy in the wasm)
    #[inline(never)]
    pub fn sent(&mut self, now: Millis, batch: u32, status: SendStatus, denied: bool, cx: &mut Cx) {
        let Some(pos) = self.in_flight.iter().position(|f| f.batch == batch) else {
            return;
        };
        let flight = self.in_flight.remove(pos);
        self.dirty = true;
        match cx.retry.verdict(status) {
            Verdict::Delivered => {
                if flight.beacon {
                    self.unconfirmed.extend(flight.events);
                    let over = self.unconfirmed.len().saturating_sub(cx.batch.max_stored);
                    self.unconfirmed.drain(..over);
                }
                self.failures = 0;
                self.unreported_drops = self.unreported_drops.saturating_sub(flight.drops);
                // Events queued while this batch was out are sent now if they are due (full
                // batch, urgent, a flush asked for, or their delay already passed).
                let due = self.queue.len() >= cx.batch.max_events
                    || self.queue.iter().any(|q| q.urgent)
                    || self.drain_wanted
                    || self.flush_at.is_none_or(|t| t <= now);
                if due {
                    self.send_next(now, cx);
                }
            }
            Verdict::Retry if denied => {
                // collected before the denial, not sent again after it
            }
            Verdict::Retry if self.offline && status == SendStatus::NetworkError => {
                // offline: wait for the browser to be back, without spending an attempt
                self.requeue(flight.events);
            }
            Verdict::Retry => {
                self.failures += 1;
                if self.failures > cx.retry.max_attempts {
                    self.failures = 0;
                    self.drop_events(
                        cx,
                        Ignored::GaveUp {
                            events: flight.events.len(),
                        },
                        flight.events.len(),
                    );
                    self.send_next(now, cx);
                } else {
                    self.requeue(flight.events);
                    let delay = cx.retry.wait(self.failures, cx.rng.next_u64(), status);
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
                self.drop_events(cx, Ignored::Refused { events: n, status }, n);
                self.send_next(now, cx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{BatchPolicy, RetryPolicy};
    use serde_json::Value;

    struct World {
        batch: BatchPolicy,
        retry: RetryPolicy,
        rng: Rng,
        outputs: Vec<Output>,
    }

    impl World {
        fn new() -> World {
            World {
                batch: BatchPolicy::default(),
                retry: RetryPolicy::default(),
                rng: Rng::new(&[1]),
                outputs: Vec::new(),
            }
        }
        fn cx(&mut self) -> Cx<'_> {
            Cx {
                site: "shop",
                batch: &self.batch,
                retry: &self.retry,
                rng: &mut self.rng,
                outputs: &mut self.outputs,
            }
        }
        /// The sends so far: (batch, event count, beacon, dropped).
        fn sends(&mut self) -> Vec<(u32, usize, bool, u64)> {
            self.outputs
                .drain(..)
                .filter_map(|o| match o {
                    Output::Send {
                        batch,
                        body,
                        beacon,
                    } => {
                        let v: Value = serde_json::from_str(&body).unwrap();
                        let dropped = v["dropped"].as_u64().unwrap_or(0);
                        Some((
                            batch,
                            v["events"].as_array().unwrap().len(),
                            beacon,
                            dropped,
                        ))
                    }
                    _ => None,
                })
                .collect()
        }
    }

    fn event(n: u32) -> String {
        std::format!("{{\"n\":{n}}}")
    }

    #[test]
    fn the_snapshot_holds_unconfirmed_then_in_flight_then_queued_in_order() {
        let mut w = World::new();
        let mut d = Delivery::new();
        d.enqueue(Millis(0), event(1), false, &mut w.cx());
        d.send_all_by_beacon(Millis(0), &mut w.cx()); // the page is hidden
        let sent = w.sends();
        assert!(sent[0].2, "by beacon");
        d.sent(
            Millis(1),
            sent[0].0,
            SendStatus::Beacon(true),
            false,
            &mut w.cx(),
        );
        d.enqueue(Millis(2), event(2), true, &mut w.cx());
        d.send_if_due(Millis(2), &mut w.cx()); // in flight
        d.enqueue(Millis(3), event(3), false, &mut w.cx()); // queued behind it
        assert_eq!(
            d.snapshot(),
            "{\"v\":1,\"events\":[{\"n\":1},{\"n\":2},{\"n\":3}]}"
        );
        assert!(!d.is_empty());
    }

    #[test]
    fn a_send_waits_for_the_consent_tool_then_a_retry_then_the_batch_delay() {
        let mut w = World::new();
        let mut d = Delivery::new();
        assert_eq!(d.next_send(), None, "nothing queued, nothing to wake for");
        d.await_consent(Millis(500));
        d.enqueue(Millis(0), event(1), false, &mut w.cx());
        assert_eq!(d.next_send(), Some(Millis(500)));
        d.consent_answered();
        assert_eq!(d.next_send(), Some(w.batch.max_delay));
        d.send_if_due(Millis(1), &mut w.cx());
        let (batch, n, beacon, _) = w.sends()[0];
        assert_eq!((n, beacon), (1, false), "the answer sends what waited");
        d.sent(Millis(2), batch, SendStatus::Http(503), false, &mut w.cx());
        let retry = d.next_send().unwrap();
        assert!(retry > Millis(2), "a retry time, not the batch delay");
        d.tick(retry, false, &mut w.cx());
        assert_eq!(w.sends().len(), 1, "sent again at the retry time");
    }

    #[test]
    fn drops_are_counted_and_reported_once_in_the_next_delivered_batch() {
        let mut w = World::new();
        let mut d = Delivery::new();
        d.drop_events(&mut w.cx(), Ignored::QueueFull { events: 3 }, 3);
        assert_eq!(d.dropped(), 3);
        d.enqueue(Millis(0), event(1), true, &mut w.cx());
        d.send_if_due(Millis(0), &mut w.cx());
        let (batch, _, _, dropped) = w.sends()[0];
        assert_eq!(dropped, 3);
        d.sent(Millis(1), batch, SendStatus::Http(200), false, &mut w.cx());
        d.enqueue(Millis(2), event(2), true, &mut w.cx());
        d.send_if_due(Millis(2), &mut w.cx());
        assert_eq!(w.sends()[0].3, 0, "reported once");
        assert_eq!(d.dropped(), 3, "the total stays");
    }

    #[test]
    fn a_denial_clears_what_is_unsent_and_a_failure_then_is_not_retried() {
        let mut w = World::new();
        let mut d = Delivery::new();
        d.enqueue(Millis(0), event(1), true, &mut w.cx());
        d.send_if_due(Millis(0), &mut w.cx());
        let (batch, ..) = w.sends()[0];
        d.enqueue(Millis(1), event(2), false, &mut w.cx());
        d.clear();
        d.sent(Millis(2), batch, SendStatus::Http(500), true, &mut w.cx());
        assert!(d.is_empty());
        assert_eq!(d.next_send(), None);
    }
}
