//! The encoder: events and batch bodies written as the collector reads them (`wire::parse`),
//! by hand, without `core::fmt` (see `json.rs`).

use crate::enums::{Channel, ConsentStamp, EventType, GoalKind};
use crate::id::{EventId, Millis};
use crate::json::{push_f64, push_str_literal, push_u64};
use crate::VERSION;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// A property value from page code (`track(name, props)`).
#[derive(Clone, Debug, PartialEq)]
pub enum Prop {
    /// A string, capped at [`MAX_PROP_LEN`](crate::MAX_PROP_LEN) bytes.
    Str(String),
    /// A finite number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

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
        /// What happened (empty: written as nothing). Boxed: most events carry none.
        detail: Box<Detail>,
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

/// What happened, for a conversion from an interaction: the link or file it followed, the
/// threshold it reached, the form or element it came from. Each field is written only when
/// it has a value; never element text, never form values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    /// A link's target (query reduced to the allowlist, no fragment, e-mail addresses and
    /// phone numbers redacted): link and download goals.
    pub href: String,
    /// One of [`crate::LINK_CLASSES`], or empty.
    pub link: &'static str,
    /// A messenger link's network (`whatsapp`, `telegram`, …, `other`), or empty.
    pub network: &'static str,
    /// A download's file extension, lowercase, or empty.
    pub ext: String,
    /// The threshold the goal reached (scroll, media and engaged goals), in `unit`.
    pub threshold: Option<f64>,
    /// One of [`crate::UNITS`], with `threshold`.
    pub unit: &'static str,
    /// A media element's source, cleaned like `href`: media goals.
    pub src: String,
    /// The submitted form's `id` and `name`: submit goals.
    pub form_id: String,
    /// See `form_id`.
    pub form_name: String,
    /// The clicked element's `id`: click goals.
    pub element: String,
}

impl Detail {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.threshold.is_none()
            && [
                self.href.as_str(),
                self.link,
                self.network,
                self.ext.as_str(),
                self.src.as_str(),
                self.form_id.as_str(),
                self.form_name.as_str(),
                self.element.as_str(),
            ]
            .iter()
            .all(|v| v.is_empty())
    }

    fn push_json(&self, o: &mut String) {
        let mut first = true;
        let mut key = |o: &mut String, k: &str| {
            o.push_str(if first { "{\"" } else { ",\"" });
            o.push_str(k);
            o.push_str("\":");
            first = false;
        };
        for (k, v) in [
            ("href", self.href.as_str()),
            ("link", self.link),
            ("network", self.network),
            ("ext", self.ext.as_str()),
            ("src", self.src.as_str()),
            ("form_id", self.form_id.as_str()),
            ("form_name", self.form_name.as_str()),
            ("element", self.element.as_str()),
        ] {
            if !v.is_empty() {
                key(o, k);
                push_str_literal(o, v);
            }
        }
        if let Some(t) = self.threshold {
            key(o, "threshold");
            push_f64(o, t);
            key(o, "unit");
            push_str_literal(o, self.unit);
        }
        o.push('}');
    }
}

impl EventData {
    /// The event type this data makes.
    pub fn kind(&self) -> EventType {
        match self {
            EventData::PageView { .. } => EventType::PageView,
            EventData::Conversion { .. } => EventType::Conversion,
            EventData::FunnelStep { .. } => EventType::FunnelStep,
        }
    }
}

/// One touch as the protocol writes it (the tracker's touches lend their fields): how a
/// visit arrived.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TouchRef<'a> {
    /// The derived channel.
    pub channel: Channel,
    /// `utm_source`, or the referrer's host.
    pub source: &'a str,
    /// `utm_medium`.
    pub medium: &'a str,
    /// `utm_campaign`.
    pub campaign: &'a str,
    /// `utm_term`.
    pub term: &'a str,
    /// `utm_content`.
    pub content: &'a str,
    /// The name of the ad click id present (`gclid`, …), not its value.
    pub click_id: &'a str,
    /// The landing page's path.
    pub landing: &'a str,
}

impl TouchRef<'_> {
    /// Appends the touch as a JSON object (empty fields left out). `click_id`: whether the
    /// click id's name is written (only where ad purposes are allowed). Fields must be within
    /// [`MAX_TOUCH_FIELD_LEN`](crate::MAX_TOUCH_FIELD_LEN) (the tracker caps them when it makes
    /// a touch), so writing allocates nothing but the output.
    pub fn push_json(&self, o: &mut String, click_id: bool) {
        o.push_str("{\"channel\":\"");
        o.push_str(self.channel.as_str());
        o.push('"');
        for (k, v) in [
            ("source", self.source),
            ("medium", self.medium),
            ("campaign", self.campaign),
            ("term", self.term),
            ("content", self.content),
            ("click_id", self.click_id),
            ("landing", self.landing),
        ] {
            if !v.is_empty() && (click_id || k != "click_id") {
                o.push_str(",\"");
                o.push_str(k);
                o.push_str("\":");
                push_str_literal(o, v);
            }
        }
        o.push('}');
    }
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
    /// The consent it was collected under.
    pub consent: ConsentStamp,
    /// What happened.
    pub data: EventData,
}

impl Event {
    /// Writes the event as one JSON object; a conversion with the visitor's first and last
    /// `touches` when given, their click ids only with `click_ids` (ad purposes allowed).
    pub fn to_json(&self, touches: Option<(TouchRef, TouchRef)>, click_ids: bool) -> String {
        let mut o = String::with_capacity(160);
        o.push_str("{\"id\":\"");
        self.id.push_hex(&mut o);
        o.push_str("\",\"type\":");
        o.push('"');
        o.push_str(self.data.kind().as_str());
        o.push('"');
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
        o.push_str(self.consent.as_str());
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
                detail,
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
                if !detail.is_empty() {
                    o.push_str(",\"detail\":");
                    detail.push_json(&mut o);
                }
            }
        }
        o.push('}');
        o
    }
}

/// Writes a batch body around already-written events. `dropped` (events given up or refused
/// since the last delivered report) is written when not zero, at most [`crate::MAX_DROPPED`].
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
        push_u64(&mut o, dropped.min(crate::MAX_DROPPED));
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
