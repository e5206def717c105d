//! The site's config: lenient JSON in, a strict, validated [`Config`] out.
//!
//! Policy: a problem at the top level (no collector, no site, a wrong type) disables
//! goalpost for the page; a problem inside one goal skips that goal only, and the others
//! keep working. Every problem is reported with its JSON path.

use crate::compile_goals::{compile_goals, string_value};
use crate::condition::strings;
use crate::consent::{ConsentPolicy, Gpc, Mode};
use crate::error::{join_key, nearest, w, ConfigError, ErrorKind};
use crate::goals::GoalSet;
use crate::interaction::MESSENGERS;
use crate::json::Json;
use crate::policy::{BatchPolicy, RetryPolicy};
use crate::prelude::*;
use crate::time::Millis;

/// A validated config.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where beacons go: an `http(s)://` URL, or a path on the page's own origin.
    pub collector: String,
    /// The site's name, sent with every beacon.
    pub site: String,
    /// The goals, compiled for matching.
    pub goals: GoalSet,
    /// Send a `page_view` event for each page (the denominator of conversion rates). Default true.
    pub pageviews: bool,
    /// Log every match and every ignored input to the console. Default false.
    pub debug: bool,
    /// When to send.
    pub batch: BatchPolicy,
    /// How to retry.
    pub retry: RetryPolicy,
    /// Push conversions to `window.dataLayer` with this event name (for Google Tag Manager).
    pub data_layer: Option<String>,
    /// Single-page navigations that count as page views.
    pub spa: Spa,
    /// Consent mode and signals.
    pub consent: ConsentPolicy,
    /// Query parameters kept in sent URLs: the attribution parameters and `keepParams`.
    pub keep_params: Vec<String>,
}

/// Which in-page navigations are page views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spa {
    /// None: only real page loads (and back-forward cache restores).
    Off,
    /// `pushState`, `replaceState` to another path, and `popstate` (default).
    History,
    /// History, and fragment changes too (hash routers: `#/cart`).
    Hash,
}

/// The outcome of compiling a config: the config (unless a top-level problem disabled it)
/// and every problem found.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// `None` when the config cannot be used at all.
    pub config: Option<Config>,
    /// Every problem, each with its path; goals named here were skipped.
    pub errors: Vec<ConfigError>,
}

pub(crate) const TOP_KEYS: &[&str] = &[
    "$schema",
    "collector",
    "site",
    "spa",
    "retry",
    "consent",
    "keepParams",
    "goals",
    "pageviews",
    "debug",
    "batch",
    "hosts",
    "messengers",
    "dataLayer",
];
pub(crate) const BATCH_KEYS: &[&str] = &["maxEvents", "maxDelayMs"];
pub(crate) const RETRY_KEYS: &[&str] = &["baseMs", "maxMs", "attempts", "timeoutMs"];
pub(crate) const CONSENT_KEYS: &[&str] = &[
    "mode",
    "beforeGrant",
    "maxHeld",
    "gpc",
    "dnt",
    "tcf",
    "googleConsentMode",
    "waitMs",
];

/// Compiles a config value.
pub fn compile(json: &Json) -> Compiled {
    let mut errors = Vec::new();
    let config = compile_top(json, &mut errors);
    Compiled { config, errors }
}

fn compile_top(json: &Json, errors: &mut Vec<ConfigError>) -> Option<Config> {
    let before = errors.len();
    let top = Fields::new(json, "", TOP_KEYS, errors)?;
    let collector = top.string("collector", true, errors).unwrap_or_default();
    if !collector.is_empty() && !valid_collector(&collector) {
        errors.push(ConfigError::new(
            "collector",
            ErrorKind::Invalid(w(
                "must be an http:// or https:// URL, or a path starting with /",
            )),
        ));
    }
    let site = top.string("site", true, errors).unwrap_or_default();
    if top.has("site") && !valid_name(&site) {
        errors.push(ConfigError::new("site", ErrorKind::Invalid(w(NAME_RULE))));
    }
    let pageviews = top.boolean("pageviews", errors).unwrap_or(true);
    let debug = top.boolean("debug", errors).unwrap_or(false);
    let batch = match top.value("batch") {
        Some(b) => compile_batch(b, errors),
        None => BatchPolicy::default(),
    };
    let retry = match top.value("retry") {
        Some(r) => compile_retry(r, errors),
        None => RetryPolicy::default(),
    };
    let mut keep_params = crate::owned(crate::url::ATTRIBUTION_PARAMS);
    keep_params.extend(top.string_list("keepParams", errors).unwrap_or_default());
    let consent = match top.value("consent") {
        Some(c) => compile_consent(c, errors),
        None => ConsentPolicy::default(),
    };
    let goals_json = top.array("goals", errors);
    let hosts = top.string_list("hosts", errors).unwrap_or_default();
    let mut messengers = crate::owned(MESSENGERS);
    messengers.extend(
        top.string_list("messengers", errors)
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.to_ascii_lowercase()),
    );
    let spa = match top.value("spa") {
        None | Some(Json::Bool(true)) => Spa::History,
        Some(Json::Bool(false)) => Spa::Off,
        Some(Json::String(s)) if s == "hash" => Spa::Hash,
        Some(other) => {
            top.wrong("spa", "true, false or \"hash\"", other, errors);
            Spa::History
        }
    };
    let data_layer = match top.value("dataLayer") {
        None | Some(Json::Bool(false)) => None,
        Some(Json::Bool(true)) => Some("goalpost_conversion".to_string()),
        Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            top.wrong("dataLayer", "true, false or an event name", other, errors);
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    let goals = compile_goals(goals_json.unwrap_or(&[]), hosts, messengers, errors);
    Some(Config {
        collector,
        site,
        goals,
        pageviews,
        debug,
        batch,
        retry,
        data_layer,
        spa,
        consent,
        keep_params,
    })
}

fn compile_consent(json: &Json, errors: &mut Vec<ConfigError>) -> ConsentPolicy {
    let mut p = ConsentPolicy::default();
    let Some(c) = Fields::new(json, "consent", CONSENT_KEYS, errors) else {
        return p;
    };
    let pick = |key: &str, names: &[&'static str], errors: &mut Vec<ConfigError>| {
        let s = c.string(key, false, errors)?;
        let found = names.iter().find(|n| **n == s).copied();
        if found.is_none() {
            errors.push(ConfigError::new(
                &join_key("consent", key),
                ErrorKind::UnknownName {
                    suggestion: nearest(&s, names),
                    found: s,
                },
            ));
        }
        found
    };
    match pick("mode", &["required", "anonymous", "implied"], errors) {
        Some("required") => p.mode = Mode::Required,
        Some("implied") => p.mode = Mode::Implied,
        Some(_) => p.mode = Mode::Anonymous,
        None => {}
    }
    if let Some(b) = pick("beforeGrant", &["hold", "drop"], errors) {
        p.hold = b == "hold";
    }
    if let Some(n) = c.integer("maxHeld", 0, 10_000, errors) {
        p.max_held = n as usize;
    }
    match pick("gpc", &["ads", "all", "off"], errors) {
        Some("all") => p.gpc = Gpc::All,
        Some("off") => p.gpc = Gpc::Off,
        Some(_) => p.gpc = Gpc::Ads,
        None => {}
    }
    p.dnt = c.boolean("dnt", errors).unwrap_or(p.dnt);
    p.tcf = c.boolean("tcf", errors).unwrap_or(p.tcf);
    p.google = c.boolean("googleConsentMode", errors).unwrap_or(p.google);
    if let Some(n) = c.integer("waitMs", 0, 10_000, errors) {
        p.wait = Millis(n);
    }
    p
}

fn compile_retry(json: &Json, errors: &mut Vec<ConfigError>) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(r) = Fields::new(json, "retry", RETRY_KEYS, errors) {
        if let Some(n) = r.integer("baseMs", 10, 600_000, errors) {
            policy.base = Millis(n);
        }
        if let Some(n) = r.integer("maxMs", 10, 3_600_000, errors) {
            policy.cap = Millis(n);
        }
        if let Some(n) = r.integer("attempts", 0, 100, errors) {
            policy.max_attempts = n as u32;
        }
        if let Some(n) = r.integer("timeoutMs", 100, 120_000, errors) {
            policy.timeout = Millis(n);
        }
    }
    policy
}

fn compile_batch(json: &Json, errors: &mut Vec<ConfigError>) -> BatchPolicy {
    let mut policy = BatchPolicy::default();
    if let Some(b) = Fields::new(json, "batch", BATCH_KEYS, errors) {
        if let Some(n) = b.integer("maxEvents", 1, 500, errors) {
            policy.max_events = n as usize;
        }
        if let Some(n) = b.integer("maxDelayMs", 0, 600_000, errors) {
            policy.max_delay = Millis(n);
        }
    }
    policy
}

pub(crate) use crate::error::NAME_RULE;
pub(crate) use goalpost_protocol::valid_name;

fn valid_collector(s: &str) -> bool {
    s.starts_with("https://")
        || s.starts_with("http://")
        || (s.starts_with('/') && !s.starts_with("//"))
}

/// An object being read: reports unknown keys once, then hands out typed values.
struct Fields<'a> {
    path: &'a str,
    fields: &'a [(String, Json)],
}

impl<'a> Fields<'a> {
    fn new(
        json: &'a Json,
        path: &'a str,
        known: &'static [&'static str],
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let Json::Object(fields) = json else {
            errors.push(ConfigError::wrong_type(path, w("an object"), json));
            return None;
        };
        for (k, _) in fields {
            if !known.contains(&k.as_str()) {
                let suggestion = nearest(k, known);
                errors.push(ConfigError::new(
                    &join_key(path, k),
                    ErrorKind::UnknownKey { suggestion },
                ));
            }
        }
        Some(Fields { path, fields })
    }

    fn value(&self, key: &str) -> Option<&'a Json> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    fn wrong(
        &self,
        key: &str,
        expected: &'static str,
        found: &Json,
        errors: &mut Vec<ConfigError>,
    ) {
        errors.push(ConfigError::wrong_type(
            &join_key(self.path, key),
            w(expected),
            found,
        ));
    }

    fn string(&self, key: &str, required: bool, errors: &mut Vec<ConfigError>) -> Option<String> {
        let value = self.value(key);
        if value.is_none() && required {
            errors.push(ConfigError::new(
                &join_key(self.path, key),
                ErrorKind::Missing,
            ));
        }
        string_value(value, &join_key(self.path, key), errors)
    }

    fn string_list(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<Vec<String>> {
        match self.value(key)? {
            Json::Array(items) => strings(items, &join_key(self.path, key), errors),
            other => {
                self.wrong(key, "a list of strings", other, errors);
                None
            }
        }
    }

    fn boolean(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<bool> {
        match self.value(key)? {
            Json::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "true or false", other, errors);
                None
            }
        }
    }

    fn integer(&self, key: &str, min: u64, max: u64, errors: &mut Vec<ConfigError>) -> Option<u64> {
        match self.value(key)? {
            Json::Number(n)
                if *n >= min as f64 && *n <= max as f64 && crate::json::is_whole(*n) =>
            {
                Some(*n as u64)
            }
            Json::Number(_) => {
                errors.push(ConfigError::new(
                    &join_key(self.path, key),
                    ErrorKind::Invalid(w("is not a whole number in the allowed range")),
                ));
                None
            }
            other => {
                self.wrong(key, "a number", other, errors);
                None
            }
        }
    }

    fn array(&self, key: &str, errors: &mut Vec<ConfigError>) -> Option<&'a [Json]> {
        match self.value(key)? {
            Json::Array(a) => Some(a),
            other => {
                self.wrong(key, "an array", other, errors);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
