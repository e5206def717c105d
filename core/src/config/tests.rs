use super::*;
use crate::compile_goals::{trigger_keys, GOAL_KEYS, KINDS, ONCE, TRIGGERS};
use crate::condition::Field;
use crate::goals::{Family, GoalKind, Once, Source};
use crate::json::from_serde;
use serde_json::json;

fn errors_of(v: serde_json::Value) -> Vec<String> {
    compile(&from_serde(v))
        .errors
        .iter()
        .map(|e| e.message())
        .collect()
}

fn minimal() -> serde_json::Value {
    json!({"collector": "https://c.test/collect", "site": "shop"})
}

#[test]
fn the_name_rule_message_states_the_protocols_limit() {
    let n = goalpost_protocol::MAX_NAME_LEN;
    assert!(super::NAME_RULE.contains(&format!("1 to {n} characters")));
    assert!(valid_name(&"a".repeat(n)) && !valid_name(&"a".repeat(n + 1)));
}

#[test]
fn minimal_config_has_documented_defaults() {
    let c = compile(&from_serde(minimal()));
    assert!(c.errors.is_empty());
    let c = c.config.unwrap();
    assert_eq!(c.collector, "https://c.test/collect");
    assert_eq!(c.site, "shop");
    assert!(c.pageviews);
    assert!(!c.debug);
    assert_eq!(c.batch, BatchPolicy::default());
    assert!(c.goals.goals().is_empty());
}

#[test]
fn the_issue_example_compiles() {
    let c = compile(&from_serde(json!({
        "collector": "https://example.com/collect", "site": "shop",
        "goals": [{"id": "signup", "on": "click", "match": {"selector": "#signup"}}]
    })));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let goals = c.config.unwrap().goals;
    let g = &goals.goals()[0];
    assert_eq!(g.id, "signup");
    assert_eq!(g.kind, GoalKind::Micro);
    assert_eq!(g.once, Once::Page);
    assert_eq!(g.value, Source::None);
    assert_eq!(goals.selectors(Family::Click), ["#signup"]);
}

#[test]
fn once_per_key_takes_a_prop_on_custom_events_and_an_attribute_on_clicks_and_forms() {
    let c = compile(&from_serde(json!({
        "collector": "/c", "site": "shop",
        "goals": [
            {"id": "purchase", "on": "custom", "once": {"per": {"prop": "order_id"}}},
            {"id": "quote", "on": "submit", "once": {"per": {"attr": "data-quote"}}},
            {"id": "book", "on": "click", "once": {"per": {"attr": "data-slot"}}, "match": {"selector": ".slot"}}
        ]
    })));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let goals = c.config.unwrap().goals;
    assert_eq!(
        goals.goals()[0].once,
        Once::PerKey(Field::Prop("order_id".into()))
    );
    assert_eq!(
        goals.goals()[1].once,
        Once::PerKey(Field::Attr("data-quote".into()))
    );
    assert_eq!(
        goals.attributes(),
        ["data-quote", "data-slot"],
        "the shell reads the key attributes"
    );
}

/// One line per mistake: the config (merged into a minimal one) and the exact message.
macro_rules! rejects {
    ($($name:ident: $patch:tt => $msg:expr;)*) => {$(
        #[test]
        fn $name() {
            let mut v = minimal();
            for (k, val) in json!($patch).as_object().unwrap() {
                if val.is_null() { v.as_object_mut().unwrap().remove(k); } else { v[k] = val.clone(); }
            }
            let errs = errors_of(v);
            assert!(errs.contains(&$msg.to_string()), "expected {:?} in {:?}", $msg, errs);
        }
    )*};
}

rejects! {
    missing_collector: {"collector": null} => "collector: is required";
    missing_site: {"site": null} => "site: is required";
    collector_wrong_type: {"collector": 5} => "collector: expected a string, found a number";
    collector_not_a_url: {"collector": "ftp://x"} => "collector: must be an http:// or https:// URL, or a path starting with /";
    collector_protocol_relative: {"collector": "//evil.test/c"} => "collector: must be an http:// or https:// URL, or a path starting with /";
    site_bad_chars: {"site": "my shop"} => "site: must be 1 to 64 characters from A-Z a-z 0-9 _ . -";
    site_empty: {"site": ""} => "site: must not be empty";
    unknown_top_key: {"colector": "x"} => r#"colector: unknown key — did you mean "collector"?"#;
    unknown_key_no_suggestion: {"zzzzzz": 1} => "zzzzzz: unknown key";
    goals_not_array: {"goals": {}} => "goals: expected an array, found an object";
    debug_not_bool: {"debug": "yes"} => "debug: expected true or false, found a string";
    batch_unknown: {"batch": {"maxEvent": 3}} => r#"batch.maxEvent: unknown key — did you mean "maxEvents"?"#;
    batch_range: {"batch": {"maxEvents": 0}} => "batch.maxEvents: is not a whole number in the allowed range";
    batch_fraction: {"batch": {"maxDelayMs": 1.5}} => "batch.maxDelayMs: is not a whole number in the allowed range";
    goal_not_object: {"goals": [3]} => "goals[0]: expected an object, found a number";
    goal_missing_id: {"goals": [{"on": "custom"}]} => "goals[0].id: is required";
    goal_bad_trigger: {"goals": [{"id": "a", "on": "clik"}]} => r#"goals[0].on: unknown value "clik" — did you mean "click"?"#;
    goal_bad_kind: {"goals": [{"id": "a", "on": "custom", "kind": "Macro2"}]} => r#"goals[0].kind: unknown value "Macro2" — did you mean "macro"?"#;
    goal_missing_on: {"goals": [{"id": "a"}]} => "goals[0].on: is required";
    click_needs_something: {"goals": [{"id": "a", "on": "click"}]}
        => "goals[0].match.selector: a click goal needs a selector or a condition (or it would fire on every click)";
    click_selector_typo: {"goals": [{"id": "a", "on": "click", "match": {"selecter": "#a"}}]}
        => r#"goals[0].match.selecter: unknown key — did you mean "selector"?"#;
    operator_typo: {"goals": [{"id": "a", "on": "pageview", "match": {"url": {"startswth": "/x"}}}]}
        => r#"goals[0].match.url: unknown operator "startswth" — did you mean "startsWith"?"#;
    operator_needs_one: {"goals": [{"id": "a", "on": "pageview", "match": {"url": {"not": true}}}]}
        => "goals[0].match.url: needs an operator (equals, contains, startsWith, endsWith, matches, in, exists, gt, gte, lt, lte)";
    operator_wrong_type: {"goals": [{"id": "a", "on": "pageview", "match": {"path": {"gte": "3"}}}]}
        => "goals[0].match.path.gte: expected a number, found a string";
    field_not_for_trigger: {"goals": [{"id": "a", "on": "pageview", "match": {"text": "Buy"}}]}
        => "goals[0].match.text: is not available for this trigger";
    field_typo: {"goals": [{"id": "a", "on": "pageview", "match": {"pth": "/"}}]}
        => r#"goals[0].match.pth: unknown key — did you mean "path"?"#;
    in_needs_strings: {"goals": [{"id": "a", "on": "pageview", "match": {"path": ["/a", 3]}}]}
        => "goals[0].match.path[1]: expected a string, found a number";
    link_type_typo: {"goals": [{"id": "a", "on": "link", "match": {"type": "outbund"}}]}
        => r#"goals[0].match.type: unknown value "outbund" — did you mean "outbound"?"#;
    media_event_typo: {"goals": [{"id": "a", "on": "media", "match": {"event": "progres"}}]}
        => r#"goals[0].match.event: unknown value "progres" — did you mean "progress"?"#;
    scroll_needs_depth: {"goals": [{"id": "a", "on": "scroll"}]} => "goals[0].match.percent: a scroll goal needs percent or pixels";
    engaged_needs_seconds: {"goals": [{"id": "a", "on": "engaged"}]} => "goals[0].match.seconds: is required";
    visible_needs_selector: {"goals": [{"id": "a", "on": "visible", "match": {"ms": 10}}]} => "goals[0].match.selector: is required";
    visible_ratio_range: {"goals": [{"id": "a", "on": "visible", "match": {"selector": "#x", "ratio": 2}}]}
        => "goals[0].match.ratio: is not a number in the allowed range";
    once_typo: {"goals": [{"id": "a", "on": "custom", "once": "sesion"}]} => r#"goals[0].once: unknown value "sesion" — did you mean "session"?"#;
    once_per_typo: {"goals": [{"id": "a", "on": "custom", "once": {"pre": {"prop": "order_id"}}}]}
        => r#"goals[0].once.pre: unknown key — did you mean "per"?"#;
    once_per_missing: {"goals": [{"id": "a", "on": "custom", "once": {}}]} => "goals[0].once.per: is required";
    once_per_not_object: {"goals": [{"id": "a", "on": "custom", "once": {"per": "order_id"}}]}
        => r#"goals[0].once.per: expected {"per": {"prop": name}} or {"per": {"attr": name}}, found a string"#;
    once_per_two_keys: {"goals": [{"id": "a", "on": "custom", "once": {"per": {"prop": "a", "attr": "b"}}}]}
        => r#"goals[0].once.per: expected {"per": {"prop": name}} or {"per": {"attr": name}}, found an object"#;
    once_per_attr_on_custom: {"goals": [{"id": "a", "on": "custom", "once": {"per": {"attr": "data-order"}}}]}
        => "goals[0].once.per.attr: a key comes from a custom event's prop, or from the attribute of a clicked element or submitted form";
    once_per_prop_on_click: {"goals": [{"id": "a", "on": "click", "once": {"per": {"prop": "order_id"}}}]}
        => "goals[0].once.per.prop: a key comes from a custom event's prop, or from the attribute of a clicked element or submitted form";
    once_per_on_pageview: {"goals": [{"id": "a", "on": "pageview", "once": {"per": {"attr": "x"}}}]}
        => "goals[0].once.per.attr: a key comes from a custom event's prop, or from the attribute of a clicked element or submitted form";
    bad_currency: {"goals": [{"id": "a", "on": "custom", "currency": "eur"}]}
        => r#"goals[0].currency: expected a 3-letter ISO 4217 code like "EUR", {"prop": name} or {"attr": name}, found a string"#;
    bad_value: {"goals": [{"id": "a", "on": "custom", "value": "10"}]}
        => r#"goals[0].value: expected a number from 0 to 1e12, {"prop": name} or {"attr": name}, found a string"#;
    details_type: {"goals": [{"id": "a", "on": "link", "details": "no"}]}
        => "goals[0].details: expected true or false, found a string";
    negative_value: {"goals": [{"id": "a", "on": "custom", "value": -5}]}
        => r#"goals[0].value: expected a number from 0 to 1e12, {"prop": name} or {"attr": name}, found a number"#;
    funnel_needs_steps: {"goals": [{"id": "f", "on": "funnel"}]} => "goals[0].steps: is required";
    funnel_two_steps: {"goals": [{"id": "f", "on": "funnel", "steps": ["x"]}]} => "goals[0].steps: a funnel needs at least 2 steps";
    funnel_unknown_step: {"goals": [{"id": "cart", "on": "custom"}, {"id": "f", "on": "funnel", "steps": ["cart", "carts"]}]}
        => r#"goals[1].steps[1]: no goal with id "carts" — did you mean "cart"?"#;
    funnel_with_match: {"goals": [{"id": "f", "on": "funnel", "match": {}, "steps": []}]} => "goals[0].match: a funnel has steps, not match";
    steps_only_for_funnels: {"goals": [{"id": "a", "on": "custom", "strict": true}]} => "goals[0].strict: only a funnel takes this key";
    data_layer_type: {"dataLayer": 3} => "dataLayer: expected true, false or an event name, found a number";
    hosts_type: {"hosts": "shop.test"} => "hosts: expected a list of strings, found a string";
    keep_params_type: {"keepParams": [1]} => "keepParams[0]: expected a string, found a number";
    spa_value: {"spa": "yes"} => r#"spa: expected true, false or "hash", found a string"#;
    retry_range: {"retry": {"baseMs": 1}} => "retry.baseMs: is not a whole number in the allowed range";
    retry_timeout_range: {"retry": {"timeoutMs": 5}} => "retry.timeoutMs: is not a whole number in the allowed range";
    retry_typo: {"retry": {"attemps": 3}} => r#"retry.attemps: unknown key — did you mean "attempts"?"#;
    consent_mode_typo: {"consent": {"mode": "requird"}} => r#"consent.mode: unknown value "requird" — did you mean "required"?"#;
    consent_gpc_value: {"consent": {"gpc": "none"}} => r#"consent.gpc: unknown value "none""#;
    selector_wrong_type: {"goals": [{"id": "a", "on": "click", "match": {"selector": ["#a"]}}]}
        => "goals[0].match.selector: expected a string, found an array";
    duplicate_ids: {"goals": [{"id": "a", "on": "custom"}, {"id": "a", "on": "custom"}]} => "goals[1].id: duplicate goal id";
    unknown_goal_key: {"goals": [{"id": "a", "on": "custom", "vaule": 3}]} => r#"goals[0].vaule: unknown key — did you mean "value"?"#;
}

#[test]
fn top_level_problems_disable_the_config() {
    let c = compile(&from_serde(json!({"site": "shop"})));
    assert!(c.config.is_none());
    let c = compile(&from_serde(json!([1, 2])));
    assert!(c.config.is_none());
    assert_eq!(
        c.errors[0].message(),
        "config: expected an object, found an array"
    );
}

#[test]
fn a_bad_goal_skips_only_itself() {
    let mut v = minimal();
    v["goals"] = json!([
        {"id": "ok1", "on": "custom"},
        {"id": "bad", "on": "click", "match": {"selector": 1}},
        {"id": "ok2", "on": "click", "match": {"selector": ".b"}}
    ]);
    let c = compile(&from_serde(v));
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.errors[0].path, "goals[1].match.selector");
    let ids: Vec<_> = c
        .config
        .unwrap()
        .goals
        .goals()
        .iter()
        .map(|g| g.id.clone())
        .collect();
    assert_eq!(ids, ["ok1", "ok2"]);
}

#[test]
fn schema_key_is_allowed_for_editors() {
    let mut v = minimal();
    v["$schema"] = json!("./schema/config.json");
    assert!(compile(&from_serde(v)).errors.is_empty());
}

#[test]
fn rejected_selectors_disable_their_goals() {
    let mut v = minimal();
    v["goals"] = json!([
        {"id": "a", "on": "click", "match": {"selector": "#ok"}},
        {"id": "b", "on": "click", "match": {"selector": "[[bad"}},
        {"id": "c", "on": "link", "match": {"selector": "[[bad"}},
        {"id": "f", "on": "funnel", "steps": ["a", "b"]}
    ]);
    let mut goals = compile(&from_serde(v)).config.unwrap().goals;
    assert_eq!(goals.selectors(Family::Click), ["#ok", "[[bad"]);
    assert_eq!(
        goals.reject_selector(Family::Click, 1),
        [1, 2, 3],
        "b, c, and the funnel through b"
    );
    assert!(goals.reject_selector(Family::Click, 9).is_empty());
}

#[test]
fn a_rejected_pattern_is_reported_at_its_own_path() {
    let mut v = minimal();
    v["goals"] = json!([
        {"id": "a", "on": "click", "match": {"selector": "#ok"}},
        {"id": "b", "on": "pageview", "match": {"url": {"matches": "(["}}},
        {"id": "f", "on": "funnel", "steps": ["a", {"on": "pageview", "match": {"path": {"matches": "(["}}}]},
        {"id": "g", "on": "funnel", "steps": ["a", "b"]}
    ]);
    let mut goals = compile(&from_serde(v)).config.unwrap().goals;
    let msgs = |e: Vec<ConfigError>| e.iter().map(|e| e.message()).collect::<Vec<_>>();
    assert_eq!(
        msgs(goals.reject_pattern_errors(0)),
        [
            "goals[1].match.url.matches: has an invalid regular expression: ([",
            "goals[3].steps: has an invalid regular expression: ([",
        ],
        "b at its pattern, and the funnel through b at its steps"
    );
    assert_eq!(
        msgs(goals.reject_pattern_errors(1)),
        ["goals[2].steps[1].match.path.matches: has an invalid regular expression: (["],
        "an inline step's pattern at its own path"
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Json> {
        let names = prop::sample::select(vec![
            "collector",
            "site",
            "goals",
            "id",
            "on",
            "match",
            "selector",
            "event",
            "kind",
            "batch",
            "maxEvents",
            "any",
            "query",
            "attr",
            "props",
            "path",
            "url",
            "text",
            "href",
            "equals",
            "contains",
            "matches",
            "in",
            "not",
            "caseInsensitive",
            "gte",
            "lt",
            "exists",
            "steps",
            "strict",
            "windowMs",
            "once",
            "value",
            "currency",
            "type",
            "extensions",
            "addExtensions",
            "percent",
            "pixels",
            "seconds",
            "ratio",
            "ms",
            "hosts",
            "messengers",
            "dataLayer",
            "prop",
            "pagesInSession",
            "x",
        ])
        .prop_map(String::from);
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<f64>().prop_map(Json::Number),
            prop_oneof![
                Just("click".to_string()),
                Just("custom".to_string()),
                Just("/c".to_string()),
                ".{0,12}"
            ]
            .prop_map(Json::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                prop::collection::vec((names.clone(), inner), 0..6).prop_map(Json::Object),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]
        #[test]
        fn compile_never_panics_and_every_error_has_a_message(json in arb_json()) {
            let c = compile(&json);
            for e in &c.errors {
                prop_assert!(!e.message().is_empty());
            }
            if c.errors.is_empty() {
                prop_assert!(c.config.is_some());
            }
        }
    }
}

/// `schema/config.json` names exactly the keys and values the compiler accepts.
#[test]
fn the_json_schema_is_in_sync_with_the_compiler() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema/config.json"
    ))
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    let sorted = |list: &[&str]| -> Vec<String> {
        let mut k: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        k.sort();
        k.dedup();
        k
    };
    let enum_of = |v: &serde_json::Value| -> Vec<String> {
        v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let goal = &schema["$defs"]["goal"];
    assert_eq!(keys(&schema), sorted(TOP_KEYS));
    assert_eq!(keys(&schema["properties"]["batch"]), sorted(BATCH_KEYS));
    assert_eq!(keys(&schema["properties"]["retry"]), sorted(RETRY_KEYS));
    assert_eq!(keys(&schema["properties"]["consent"]), sorted(CONSENT_KEYS));
    let r = RetryPolicy::default();
    assert_eq!(
        schema["properties"]["retry"]["properties"]["baseMs"]["default"],
        r.base.0
    );
    assert_eq!(
        schema["properties"]["retry"]["properties"]["maxMs"]["default"],
        r.cap.0
    );
    assert_eq!(
        schema["properties"]["retry"]["properties"]["attempts"]["default"],
        r.max_attempts
    );
    assert_eq!(
        schema["properties"]["retry"]["properties"]["timeoutMs"]["default"],
        r.timeout.0
    );
    assert_eq!(keys(goal), sorted(GOAL_KEYS));
    assert_eq!(enum_of(&goal["properties"]["on"]), TRIGGERS);
    assert_eq!(enum_of(&goal["properties"]["kind"]), KINDS);
    assert_eq!(enum_of(&goal["properties"]["once"]), ONCE);
    for on in &TRIGGERS[..TRIGGERS.len() - 1] {
        let mut want: Vec<&str> = trigger_keys(on).to_vec();
        want.extend([
            "url",
            "path",
            "hostname",
            "query",
            "hash",
            "title",
            "referrer",
            "pagesInSession",
            "any",
        ]);
        assert_eq!(
            keys(&schema["$defs"][format!("match_{on}")]),
            sorted(&want),
            "match keys of {on}"
        );
    }
    let ops: Vec<String> = keys(&schema["$defs"]["condition"]["oneOf"][2]);
    assert_eq!(ops, sorted(crate::condition::OPERATORS));
    let d = BatchPolicy::default();
    assert_eq!(
        schema["properties"]["batch"]["properties"]["maxEvents"]["default"],
        d.max_events as u64
    );
    assert_eq!(
        schema["properties"]["batch"]["properties"]["maxDelayMs"]["default"],
        d.max_delay.0
    );
    assert_eq!(schema["required"], serde_json::json!(["collector", "site"]));
}
