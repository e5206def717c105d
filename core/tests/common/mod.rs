//! Helpers shared by the rule tests: a config from `json!`, a regex engine, and a driver
//! that feeds page views and interactions on a fake clock.
#![allow(dead_code, clippy::unwrap_used)]

use goalpost_core::{
    compile, Config, Input, Interaction, Json, Millis, Output, Page, Patterns, Tracker,
};
use serde_json::Value;

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.as_f64().unwrap()),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// A config with these goals (and extra top-level keys), which must compile cleanly.
pub fn config(goals: Value, extra: Value) -> Config {
    let mut v = serde_json::json!({"collector": "/c", "site": "t", "goals": goals});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    let c = compile(&to_json(&v));
    assert!(
        c.errors.is_empty(),
        "config errors: {:?}",
        c.errors.iter().map(|e| e.message()).collect::<Vec<_>>()
    );
    c.config.unwrap()
}

/// The regex crate standing in for the browser's RegExp.
pub struct Regexes(pub Vec<regex::Regex>);

impl Patterns for Regexes {
    fn is_match(&self, index: u32, text: &str) -> bool {
        self.0[index as usize].is_match(text)
    }
}

/// A tracker on a fake clock that records conversions and sent events.
pub struct Driver {
    pub t: Tracker,
    pub now: Millis,
    pub converted: Vec<String>,
    pub outputs: Vec<Output>,
}

impl Driver {
    pub fn new(config: Config) -> Driver {
        let patterns = Regexes(
            config
                .goals
                .patterns()
                .iter()
                .map(|p| {
                    regex::RegexBuilder::new(&p.source)
                        .case_insensitive(p.case_insensitive)
                        .build()
                        .unwrap()
                })
                .collect(),
        );
        Driver {
            t: Tracker::with_patterns(config, &[7], Box::new(patterns)),
            now: Millis(1_700_000_000_000), // a real time: the validator refuses times before 2000
            converted: Vec::new(),
            outputs: Vec::new(),
        }
    }

    pub fn at(&mut self, ms: u64) -> &mut Self {
        self.now = Millis(self.now.0 + ms);
        self
    }

    pub fn page(&mut self, url: &str) -> &mut Self {
        self.page_full(url, "Title", "")
    }

    pub fn page_full(&mut self, url: &str, title: &str, referrer: &str) -> &mut Self {
        let p = Page {
            url: url.into(),
            title: title.into(),
            referrer: referrer.into(),
        };
        self.feed(Input::PageView(p))
    }

    pub fn act(&mut self, i: Interaction) -> &mut Self {
        self.feed(Input::Interact(i))
    }

    /// Feeds an input; every send is answered 204 at once, so nothing waits in flight.
    pub fn feed(&mut self, input: Input) -> &mut Self {
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            self.t.handle(self.now, input);
            while let Some(o) = self.t.poll() {
                match &o {
                    Output::Converted(c) => self.converted.push(c.goal.clone()),
                    Output::Send { batch, .. } => pending.push(Input::Sent {
                        batch: *batch,
                        status: goalpost_core::SendStatus::Http(204),
                    }),
                    _ => {}
                }
                self.outputs.push(o);
            }
        }
        self
    }

    /// Every event in the bodies sent so far, after a flush.
    pub fn sent_events(&mut self) -> Vec<Value> {
        self.feed(Input::Flush);
        let mut out = Vec::new();
        for o in &self.outputs {
            if let Output::Send { body, .. } = o {
                let v: Value = serde_json::from_str(body).unwrap();
                out.extend(v["events"].as_array().unwrap().iter().cloned());
            }
        }
        out
    }
}
