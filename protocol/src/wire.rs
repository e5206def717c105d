//! The protocol as a collector reads it: the wire types (serde) and [`parse`], which refuses
//! anything the tracker's encoder would not write, with a message naming the field. Every limit
//! is the crate's constant; `schema/beacon-v1.json` is the same contract in JSON Schema.

use crate::enums::{Channel, ConsentStamp, EventType, GoalKind};
use crate::{
    valid_currency, valid_name, valid_value, LINK_CLASSES, MAX_BATCH_EVENTS, MAX_BODY, MAX_DROPPED,
    MAX_EXT_LEN, MAX_FUNNEL_STEPS, MAX_PROPS, MAX_PROP_LEN, MAX_THRESHOLD, MAX_TITLE_LEN,
    MAX_TOUCH_FIELD_LEN, MAX_TS, MAX_URL_LEN, MAX_VALUE, MIN_TS, UNITS, VERSION,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;

/// A batch as the tracker sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Batch {
    pub v: u32,
    pub site: String,
    pub batch: String,
    pub sent: u64,
    /// Events the tracker dropped (refused or given up) since its last delivered report.
    pub dropped: Option<u64>,
    pub events: Vec<Event>,
}

/// One event (the fields of every type; `parse` checks which belong to which).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub ts: u64,
    pub page: String,
    pub session: Option<String>,
    /// The consent the event was collected under.
    pub consent: Option<ConsentStamp>,
    pub url: String,
    pub first: Option<Touch>,
    pub last: Option<Touch>,
    pub title: Option<String>,
    pub referrer: Option<String>,
    pub goal: Option<String>,
    #[serde(rename = "kind")]
    pub goal_kind: Option<GoalKind>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub category: Option<String>,
    pub props: Option<BTreeMap<String, Prop>>,
    /// What a link or download goal's click followed.
    pub detail: Option<Detail>,
    pub step: Option<u32>,
    pub steps: Option<u32>,
}

/// A conversion's `detail` (see [`crate::Detail`]).
#[derive(Debug, Deserialize, serde::Serialize, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Detail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
}

impl Detail {
    fn check(&self) -> Result<(), String> {
        check_len(
            "detail.href",
            self.href.as_deref().unwrap_or(""),
            MAX_URL_LEN,
        )?;
        if let Some(l) = &self.link {
            if !LINK_CLASSES.contains(&l.as_str()) {
                return Err(format!("detail.link: one of {}", LINK_CLASSES.join(", ")));
            }
        }
        if let Some(n) = &self.network {
            check_name("detail.network", n)?;
        }
        if let Some(x) = &self.ext {
            if x.is_empty()
                || x.len() > MAX_EXT_LEN
                || !x
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Err(format!(
                    "detail.ext: 1 to {MAX_EXT_LEN} lowercase letters or digits"
                ));
            }
        }
        check_len("detail.src", self.src.as_deref().unwrap_or(""), MAX_URL_LEN)?;
        for (field, v) in [
            ("detail.form_id", &self.form_id),
            ("detail.form_name", &self.form_name),
            ("detail.element", &self.element),
        ] {
            check_len(field, v.as_deref().unwrap_or(""), MAX_PROP_LEN)?;
        }
        match (self.threshold, self.unit.as_deref()) {
            (None, None) => {}
            (Some(t), Some(u))
                if t.is_finite() && (0.0..=MAX_THRESHOLD).contains(&t) && UNITS.contains(&u) => {}
            _ => {
                return Err(format!(
                "detail.threshold/unit: both, a number from 0 to {MAX_THRESHOLD:e} and one of {}",
                UNITS.join(", ")
            ))
            }
        }
        Ok(())
    }
}

/// How a visit arrived (first or last touch), sent with conversions.
#[derive(Debug, Deserialize, serde::Serialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Touch {
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing: Option<String>,
}

impl Touch {
    fn check(&self, field: &str) -> Result<(), String> {
        for v in [
            &self.source,
            &self.medium,
            &self.campaign,
            &self.term,
            &self.content,
            &self.click_id,
            &self.landing,
        ]
        .into_iter()
        .flatten()
        {
            check_len(field, v, MAX_TOUCH_FIELD_LEN)?;
        }
        Ok(())
    }
}

/// A prop value: string, number or boolean (nothing nested).
#[derive(Debug, Deserialize, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum Prop {
    Bool(bool),
    Num(f64),
    Str(String),
}

/// Parses and validates a body. The error says what is wrong, for the 400 answer.
pub fn parse(body: &[u8]) -> Result<Batch, String> {
    if body.len() > MAX_BODY {
        return Err("body too large".into());
    }
    let batch: Batch = serde_json::from_slice(body).map_err(|e| format!("malformed batch: {e}"))?;
    validate(&batch)?;
    Ok(batch)
}

fn validate(b: &Batch) -> Result<(), String> {
    if u64::from(b.v) != VERSION {
        return Err(format!(
            "unsupported protocol version {} (this collector speaks {VERSION})",
            b.v
        ));
    }
    check_name("site", &b.site)?;
    check_hex_id("batch", &b.batch)?;
    check_ts("sent", b.sent)?;
    if b.dropped.is_some_and(|d| d > MAX_DROPPED) {
        return Err(format!("dropped: at most {MAX_DROPPED}"));
    }
    if b.events.is_empty() || b.events.len() > MAX_BATCH_EVENTS {
        return Err(format!("events: between 1 and {MAX_BATCH_EVENTS} required"));
    }
    for (i, e) in b.events.iter().enumerate() {
        validate_event(e).map_err(|m| format!("events[{i}].{m}"))?;
    }
    Ok(())
}

fn validate_event(e: &Event) -> Result<(), String> {
    check_hex_id("id", &e.id)?;
    check_hex_id("page", &e.page)?;
    if let Some(s) = &e.session {
        check_hex_id("session", s)?;
    }
    if e.consent == Some(ConsentStamp::Anonymous)
        && (e.session.is_some() || e.first.is_some() || e.last.is_some())
    {
        return Err("session/first/last: not allowed on an anonymous event".into());
    }
    if e.kind != EventType::Conversion && (e.first.is_some() || e.last.is_some()) {
        return Err("first/last: only on a conversion".into());
    }
    if let Some(t) = &e.first {
        t.check("first")?;
    }
    if let Some(t) = &e.last {
        t.check("last")?;
    }
    check_len("url", &e.url, MAX_URL_LEN)?;
    check_ts("ts", e.ts)?;
    let conversion_only = e.goal_kind.is_some()
        || e.props.is_some()
        || e.value.is_some()
        || e.currency.is_some()
        || e.category.is_some()
        || e.detail.is_some();
    let step_only = e.step.is_some() || e.steps.is_some();
    if e.kind != EventType::Conversion && conversion_only {
        return Err("kind/props/value/currency/category/detail: only on a conversion".into());
    }
    if e.kind != EventType::FunnelStep && step_only {
        return Err("step/steps: only on a funnel_step".into());
    }
    if e.kind != EventType::PageView && (e.title.is_some() || e.referrer.is_some()) {
        return Err("title/referrer: only on a page_view".into());
    }
    match e.kind {
        EventType::FunnelStep => {
            check_name(
                "goal",
                e.goal.as_deref().ok_or("goal: required on a funnel_step")?,
            )?;
            match (e.step, e.steps) {
                (Some(step), Some(steps))
                    if (2..=MAX_FUNNEL_STEPS).contains(&steps) && step < steps => {}
                _ => {
                    return Err(format!(
                        "step/steps: required, 0 <= step < steps <= {MAX_FUNNEL_STEPS}"
                    ))
                }
            }
        }
        EventType::PageView => {
            if e.goal.is_some() {
                return Err("goal: not allowed on a page_view".into());
            }
            check_len("title", e.title.as_deref().unwrap_or(""), MAX_TITLE_LEN)?;
            check_len("referrer", e.referrer.as_deref().unwrap_or(""), MAX_URL_LEN)?;
        }
        EventType::Conversion => {
            if e.title.is_some() || e.referrer.is_some() {
                return Err("title/referrer: not allowed on a conversion".into());
            }
            check_name(
                "goal",
                e.goal.as_deref().ok_or("goal: required on a conversion")?,
            )?;
            if e.goal_kind.is_none() {
                return Err("kind: required on a conversion".into());
            }
            if e.value.is_some_and(|v| !valid_value(v)) {
                return Err(format!("value: a number from 0 to {MAX_VALUE:e}"));
            }
            if e.currency.as_deref().is_some_and(|c| !valid_currency(c)) {
                return Err("currency: three upper-case letters (ISO 4217)".into());
            }
            if let Some(c) = &e.category {
                check_name("category", c)?;
            }
            if let Some(d) = &e.detail {
                d.check()?;
            }
            if let Some(props) = &e.props {
                if props.len() > MAX_PROPS {
                    return Err(format!("props: at most {MAX_PROPS}"));
                }
                for (k, v) in props {
                    check_len("props key", k, MAX_PROP_LEN)?;
                    match v {
                        Prop::Str(s) => check_len("props value", s, MAX_PROP_LEN)?,
                        Prop::Num(n) if !n.is_finite() => {
                            return Err("props value: not finite".into())
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_ts(field: &str, ts: u64) -> Result<(), String> {
    if (MIN_TS..=MAX_TS).contains(&ts) {
        Ok(())
    } else {
        Err(format!(
            "{field}: not a plausible time in ms since the epoch ({MIN_TS} to {MAX_TS})"
        ))
    }
}

fn check_name(field: &str, s: &str) -> Result<(), String> {
    if valid_name(s) {
        Ok(())
    } else {
        Err(format!(
            "{field}: must be 1 to {} characters from A-Z a-z 0-9 _ . -",
            crate::MAX_NAME_LEN
        ))
    }
}

fn check_hex_id(field: &str, s: &str) -> Result<(), String> {
    if s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("{field}: must be 32 lowercase hex digits"))
    }
}

fn check_len(field: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() <= max {
        Ok(())
    } else {
        Err(format!("{field}: longer than {max} bytes"))
    }
}
