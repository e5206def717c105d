//! # goalpost-protocol
//!
//! The beacon protocol v1 in one place: what the tracker in the visitor's browser sends and
//! what the collector accepts. The tracker writes with [`Event::to_json`] and [`batch_body`];
//! the collector reads with [`wire::parse`] (feature `serde`); both take every limit from the
//! constants here, and `schema/beacon-v1.json` is checked against them by this crate's tests.
//!
//! ```
//! use goalpost_protocol::{batch_body, ConsentStamp, Event, EventData, EventId, Millis};
//! let ev = Event {
//!     id: EventId(1, 2),
//!     ts: Millis(1_700_000_000_000),
//!     page: EventId(1, 2),
//!     url: "https://shop.test/".into(),
//!     session: None,
//!     consent: ConsentStamp::Anonymous,
//!     data: EventData::PageView { title: "Shop".into(), referrer: String::new() },
//! };
//! let body = batch_body("shop", EventId(3, 4), Millis(1_700_000_000_100), 0, &[&ev.to_json(None, false)]);
//! assert!(body.starts_with("{\"v\":1,\"site\":\"shop\""));
//! # #[cfg(feature = "serde")]
//! assert_eq!(goalpost_protocol::wire::parse(body.as_bytes()).unwrap().events.len(), 1);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

mod enums;
mod event;
mod id;
mod json;
#[cfg(feature = "serde")]
pub mod wire;

pub use enums::{Channel, ConsentStamp, EventType, GoalKind};
pub use event::{batch_body, Detail, Event, EventData, Prop, TouchRef, BATCH_OVERHEAD};
pub use id::{EventId, Millis};
pub use json::{push_f64, push_str_literal, push_u64};

/// The protocol version, sent as `"v"`.
pub const VERSION: u64 = 1;

/// The largest body a collector accepts, in bytes (the browsers' keepalive budget is 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// The most events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 500;
/// At most this many props per conversion.
pub const MAX_PROPS: usize = 20;
/// The longest prop key or string value, in bytes.
pub const MAX_PROP_LEN: usize = 200;
/// The longest page title, in bytes.
pub const MAX_TITLE_LEN: usize = 300;
/// The longest URL or referrer, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// The longest text field of a touch (source, medium, campaign, term, content, click id
/// name, landing path), in bytes.
pub const MAX_TOUCH_FIELD_LEN: usize = 200;
/// The longest site, goal or category name, in bytes (names are `A-Z a-z 0-9 _ . -`).
pub const MAX_NAME_LEN: usize = 64;
/// The most steps a funnel may have.
pub const MAX_FUNNEL_STEPS: u32 = 100;
/// The latest plausible timestamp (year 3000), in ms since the epoch.
pub const MAX_TS: u64 = 32_503_680_000_000;
/// The earliest plausible timestamp (2000-01-01), in ms since the epoch: a device clock
/// further back is broken, and its events are refused rather than reported in 1970.
pub const MIN_TS: u64 = 946_684_800_000;
/// The largest conversion value (a trillion in any currency). Values are never negative:
/// a refund is not a conversion. With at most [`MAX_BATCH_EVENTS`] per batch, sums of stored
/// values stay finite however many are stored.
pub const MAX_VALUE: f64 = 1e12;
/// The largest `dropped` count a batch may report.
pub const MAX_DROPPED: u64 = 1_000_000_000;

/// A conversion value the protocol carries: finite, `0 <= value <= MAX_VALUE`.
pub fn valid_value(v: f64) -> bool {
    v.is_finite() && (0.0..=MAX_VALUE).contains(&v)
}

/// The classes of link a conversion's `detail.link` names.
pub const LINK_CLASSES: [&str; 5] = ["outbound", "tel", "mailto", "messenger", "download"];
/// The units of a `detail.threshold`.
pub const UNITS: [&str; 3] = ["percent", "pixels", "seconds"];
/// The largest `detail.threshold`.
pub const MAX_THRESHOLD: f64 = 1e9;
/// The longest file extension a `detail.ext` carries.
pub const MAX_EXT_LEN: usize = 16;

/// A site, goal or category name: 1 to [`MAX_NAME_LEN`] of `A-Z a-z 0-9 _ . -`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// An ISO 4217 currency code as the protocol carries it: three uppercase letters.
pub fn valid_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}
