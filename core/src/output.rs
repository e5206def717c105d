//! What the tracker asks of the shell ([`Output`]), what it tells the page of a conversion
//! ([`Conversion`]), and why something was not sent ([`Ignored`]): every "don't send" of the
//! tracker goes through there. A leaf, so that the tracker's parts can emit them too.

use crate::goals::GoalKind;
use crate::prelude::*;
use crate::time::Millis;

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
    /// Debug mode only: an event was collected (queued for the collector), for debug logs and
    /// the preview panel: a page view (`name` its sanitised URL) or a funnel step (`name` the
    /// funnel, `step` of `steps`, 0-based). Conversions are [`Output::Converted`].
    Collected {
        /// `page_view` or `funnel_step`.
        what: &'static str,
        /// The URL or the funnel's id.
        name: String,
        /// A funnel step's position, 0-based (0 for a page view).
        step: u32,
        /// A funnel's number of steps (0 for a page view).
        steps: u32,
    },
    /// Nothing is queued or in flight any more (settles `flush()` promises).
    Drained,
    /// Consent was denied: delete everything goalpost stored in the browser.
    ClearStorage,
    /// Store this snapshot of the unsent events, replacing the previous one; `None`: nothing
    /// is left unsent, remove it (only emitted where storage consent allows).
    Persist(Option<String>),
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
