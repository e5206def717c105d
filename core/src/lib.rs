//! # goalpost-core
//!
//! The pure logic of goalpost, the conversion tracker that runs in the visitor's browser:
//! the config compiler, goal matching, batching and retry, and the beacon payload. It has no
//! browser dependency and never reads a clock or a random source: time and a seed are
//! inputs, so everything here is tested natively and deterministically.
//!
//! ```
//! use goalpost_core::{compile, Element, Family, Input, Interaction, Json, Millis, Output, Page, Tracker};
//!
//! // The site's config (in the browser, built from the page's JSON block).
//! let json = Json::Object(vec![
//!     ("collector".into(), Json::String("https://stats.example.com/collect".into())),
//!     ("site".into(), Json::String("shop".into())),
//!     ("goals".into(), Json::Array(vec![Json::Object(vec![
//!         ("id".into(), Json::String("signup".into())),
//!         ("kind".into(), Json::String("macro".into())),
//!         ("on".into(), Json::String("click".into())),
//!         ("match".into(), Json::Object(vec![("selector".into(), Json::String("#signup".into()))])),
//!     ])])),
//! ]);
//! let compiled = compile(&json);
//! assert!(compiled.errors.is_empty());
//! let config = compiled.config.unwrap();
//! assert_eq!(config.goals.selectors(Family::Click), ["#signup"]);
//!
//! let mut tracker = Tracker::new(config, &[1, 2, 3, 4]);
//! tracker.handle(Millis(0), Input::PageView(Page { url: "https://shop.test/?q=x".into(), ..Page::default() }));
//! // The shell found the click inside `#signup` (selector 0): a macro goal is sent at once.
//! let click = Element { hits: vec![0], tag: "button".into(), ..Element::default() };
//! tracker.handle(Millis(5), Input::Interact(Interaction::Click(click)));
//! let outputs: Vec<Output> = std::iter::from_fn(|| tracker.poll()).collect();
//! assert!(outputs.iter().any(|o| matches!(o, Output::Converted(c) if c.goal == "signup")));
//! assert!(outputs.iter().any(|o| matches!(o, Output::Send { body, .. } if body.contains("\"goal\":\"signup\""))));
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

/// What the std prelude would give: the core builds without std for the browser (no std panic
/// and formatting runtime in the wasm; see ARCHITECTURE, size decisions).
mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}
#[allow(unused_imports)]
use prelude::*;

mod attribution;
mod compile_goals;
mod condition;
mod config;
mod consent;
mod delivery;
mod dwell;
mod engagement;
mod error;
mod field;
mod goals;
mod ids;
mod interaction;
mod json;
mod output;
mod policy;
mod time;
mod tracker;
mod url;
mod visit;

pub use attribution::{Channel, Touch, CLICK_IDS};
pub use compile_goals::{trigger_keys, TRIGGERS};
pub use condition::{Condition, Conditions, Field, Op, Pattern, Patterns, FIELDS, OPERATORS};
pub use config::{compile, Compiled, Config, Spa};
pub use consent::{granted, Choice, Collect, Consent, ConsentPolicy, ConsentUpdate, Gpc, Mode};
pub use dwell::{in_view, Dwell};
pub use engagement::{Engagement, EngagementStep};
pub use error::{nearest, ConfigError, ErrorKind};
pub use goalpost_protocol::{
    batch_body, ConsentStamp, Event, EventData, EventType, Prop, TouchRef, MAX_BATCH_EVENTS,
    MAX_PROPS, MAX_PROP_LEN, VERSION,
};
pub use goals::{
    Family, Funnel, Goal, GoalKind, GoalSet, Listener, Measure, Once, Rule, Source, Trigger, Watch,
};
pub use ids::{derive_id, EventId, Rng};
pub use interaction::{
    classify_link, extension, Candidate, Element, Form, Interaction, LinkKinds, Media, MediaEvent,
    PageFields, DOWNLOAD_EXTENSIONS, MESSENGERS,
};
pub use json::{push_f64, push_str_literal, push_u64, Json};
pub use policy::{BatchPolicy, RetryPolicy, SendStatus, Verdict};
pub use time::Millis;
pub use tracker::{Conversion, Ignored, Input, NoPatterns, Output, Page, Tracker};
pub use url::{
    after_last, cut, page_change, parts, query_param, redact, sanitize, sanitize_with, split_host,
    truncate, up_to, Navigation, PageChange, ATTRIBUTION_PARAMS, MAX_URL_LEN,
};
pub use visit::{MAX_KEYS, MAX_LISTED, SESSION_TIMEOUT};

/// Owned copies of a list of names: one loop shared by every such conversion (each collected
/// iterator chain is code of its own in the wasm).
pub(crate) fn owned(list: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        out.push(s.to_string());
    }
    out
}
