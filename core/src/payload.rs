//! Beacon protocol v1: the JSON that goes to the collector. See `schema/beacon-v1.json` and
//! `docs/protocol.md`; the collector's tests check that what this writes is accepted.

use crate::attribution::Touch;
use crate::goals::GoalKind;
use crate::ids::EventId;
use crate::json::{push_f64, push_str_literal, push_u64};
use crate::prelude::*;
use crate::time::Millis;

/// The protocol version, sent as `"v"`.
pub const VERSION: u64 = 1;

/// A property value from page code (`track(name, props)`).
#[derive(Clone, Debug, PartialEq)]
pub enum Prop {
    /// A string, capped at [`MAX_PROP_LEN`] bytes.
    Str(String),
    /// A finite number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

/// At most this many props per event; more are ignored.
pub const MAX_PROPS: usize = 20;
/// The longest prop key or string value kept, in bytes.
pub const MAX_PROP_LEN: usize = 200;

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventData {
    /// A page was viewed.
    PageView {
        /// `document.title`, capped.
        title: String,
        /// The sanitised referrer, or empty.
        referrer: String,
    },
    /// A goal was reached.
    Conversion {
        /// The goal id.
        goal: String,
        /// Macro or micro.
        kind: GoalKind,
        /// The conversion's value, if the goal has one.
        value: Option<f64>,
        /// ISO 4217 code of the value.
        currency: Option<String>,
        /// The goal's category.
        category: Option<String>,
        /// Props from a custom event.
        props: Vec<(String, Prop)>,
    },
    /// A step of a funnel was reached (step 0 is the first).
    FunnelStep {
        /// The funnel's goal id.
        funnel: String,
        /// Which step, 0-based.
        step: u32,
        /// How many steps the funnel has.
        steps: u32,
    },
}

/// One event, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique id; the collector de-duplicates on it.
    pub id: EventId,
    /// When it happened.
    pub ts: Millis,
    /// The id of the page view it belongs to (a page view's own id for page views).
    pub page: EventId,
    /// The sanitised page URL.
    pub url: String,
    /// The session it belongs to (`None`: sent without identifiers).
    pub session: Option<EventId>,
    /// The consent it was collected under: "granted", "implied" or "anonymous".
    pub consent: &'static str,
    /// What happened.
    pub data: EventData,
}

impl Event {
    /// Writes the event as one JSON object; a conversion with the visitor's first and last
    /// `touches` when given, their click ids only with `click_ids` (ad purposes allowed).
    pub fn to_json(&self, touches: Option<&(Touch, Touch)>, click_ids: bool) -> String {
        let mut o = String::with_capacity(160);
        o.push_str("{\"id\":\"");
        self.id.push_hex(&mut o);
        o.push_str("\",\"type\":");
        o.push_str(match self.data {
            EventData::PageView { .. } => "\"page_view\"",
            EventData::Conversion { .. } => "\"conversion\"",
            EventData::FunnelStep { .. } => "\"funnel_step\"",
        });
        o.push_str(",\"ts\":");
        push_u64(&mut o, self.ts.0);
        o.push_str(",\"page\":\"");
        self.page.push_hex(&mut o);
        o.push('"');
        if let Some(session) = self.session {
            o.push_str(",\"session\":\"");
            session.push_hex(&mut o);
            o.push('"');
        }
        o.push_str(",\"consent\":\"");
        o.push_str(self.consent);
        o.push_str("\",\"url\":");
        push_str_literal(&mut o, &self.url);
        if let (Some((first, last)), EventData::Conversion { .. }) = (touches, &self.data) {
            o.push_str(",\"first\":");
            first.push_json(&mut o, click_ids);
            o.push_str(",\"last\":");
            last.push_json(&mut o, click_ids);
        }
        match &self.data {
            EventData::PageView { title, referrer } => {
                o.push_str(",\"title\":");
                push_str_literal(&mut o, title);
                o.push_str(",\"referrer\":");
                push_str_literal(&mut o, referrer);
            }
            EventData::FunnelStep {
                funnel,
                step,
                steps,
            } => {
                o.push_str(",\"goal\":");
                push_str_literal(&mut o, funnel);
                o.push_str(",\"step\":");
                push_u64(&mut o, u64::from(*step));
                o.push_str(",\"steps\":");
                push_u64(&mut o, u64::from(*steps));
            }
            EventData::Conversion {
                goal,
                kind,
                value,
                currency,
                category,
                props,
            } => {
                o.push_str(",\"goal\":");
                push_str_literal(&mut o, goal);
                o.push_str(",\"kind\":\"");
                o.push_str(kind.as_str());
                o.push('"');
                if let Some(v) = value {
                    o.push_str(",\"value\":");
                    push_f64(&mut o, *v);
                }
                if let Some(c) = currency {
                    o.push_str(",\"currency\":");
                    push_str_literal(&mut o, c);
                }
                if let Some(c) = category {
                    o.push_str(",\"category\":");
                    push_str_literal(&mut o, c);
                }
                if !props.is_empty() {
                    o.push_str(",\"props\":{");
                    for (i, (k, v)) in props.iter().enumerate() {
                        if i > 0 {
                            o.push(',');
                        }
                        push_str_literal(&mut o, k);
                        o.push(':');
                        match v {
                            Prop::Str(s) => push_str_literal(&mut o, s),
                            Prop::Num(n) => push_f64(&mut o, *n),
                            Prop::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
                        }
                    }
                    o.push('}');
                }
            }
        }
        o.push('}');
        o
    }
}

/// Writes a batch body around already-written events. `dropped` (events given up or refused
/// since the last delivered report) is written when not zero.
pub fn batch_body(
    site: &str,
    batch: EventId,
    sent: Millis,
    dropped: u64,
    events: &[&str],
) -> String {
    let len = events.iter().map(|e| e.len() + 1).sum::<usize>() + site.len() + 96;
    let mut o = String::with_capacity(len);
    o.push_str("{\"v\":");
    push_u64(&mut o, VERSION);
    o.push_str(",\"site\":");
    push_str_literal(&mut o, site);
    o.push_str(",\"batch\":\"");
    batch.push_hex(&mut o);
    o.push_str("\",\"sent\":");
    push_u64(&mut o, sent.0);
    if dropped > 0 {
        o.push_str(",\"dropped\":");
        push_u64(&mut o, dropped);
    }
    o.push_str(",\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(e);
    }
    o.push_str("]}");
    o
}

/// The bytes a batch of no events takes beyond its site name (for size planning).
pub const BATCH_OVERHEAD: usize = 120;

/// The most events one batch may carry (the collector refuses more: protocol v1).
pub const MAX_BATCH_EVENTS: usize = 500;
