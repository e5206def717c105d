//! The stored visit: round trip, deploys between documents, bounds, expiry, hostile values.

use super::*;
use crate::config::compile;
use crate::json::from_serde;
use proptest::prelude::*;
use serde_json::{json, Value};

fn goals(list: Value) -> GoalSet {
    let c = compile(&from_serde(
        json!({"collector": "/c", "site": "s", "goals": list}),
    ));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    c.config.unwrap().goals
}

fn shop() -> GoalSet {
    goals(json!([
        {"id": "cart", "on": "custom", "once": "every", "match": {"event": "cart"}},
        {"id": "started", "on": "pageview", "match": {"path": "/checkout"}},
        {"id": "purchase", "on": "custom", "once": "session", "match": {"event": "purchase"}},
        {"id": "signup", "on": "custom", "once": "visitor", "match": {"event": "signup"}},
        {"id": "funnel", "on": "funnel", "steps": ["cart", "started", "purchase"]}
    ]))
}

const NOW: Millis = Millis(1_700_000_000_000);

/// A visit in session `id` that converted `started` and `purchase` (and the every-goal `cart`,
/// which needs no memory), the visitor's `signup`, a funnel at step 2, and two keys.
fn sample() -> Visit {
    let mut v = Visit::default();
    v.attribute(
        "https://shop.test/?utm_source=news&utm_medium=email&utm_campaign=nov",
        "",
        &[],
        &mut crate::ids::Rng::new(&[1]),
    );
    v.session.last = NOW;
    v.session.pages = 3;
    v.session.converted = vec![0, 1, 2];
    v.session.funnels = vec![Progress {
        goal: 4,
        next: 2,
        started: Millis(NOW.0 - 5_000),
    }];
    v.visitor = vec![0, 1, 2, 3];
    v.keys = vec![(EventId(1, 2), Millis(NOW.0 - 10)), (EventId(3, 4), NOW)];
    v
}

/// [`Visit::merge`] of a stored value as JSON: false when it is not a stored visit.
fn merge(v: &mut Visit, now: Millis, json: &Json, goals: &GoalSet, mid_page: bool) -> bool {
    Visit::parse(json, goals).is_some_and(|s| v.merge(now, s, goals, mid_page))
}

fn parse(text: &str) -> Json {
    from_serde(serde_json::from_str(text).unwrap())
}

/// A fresh document's visit after taking `stored` in before its page view.
fn restored(stored: &str, goals: &GoalSet) -> Visit {
    let mut v = Visit::default();
    assert!(!merge(&mut v, NOW, &parse(stored), goals, false));
    v
}

#[test]
fn round_trip_keeps_what_the_rules_need_by_goal_id() {
    let g = shop();
    let text = sample().to_json(&g).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["goals"],
        json!(["started", "purchase"]),
        "session-scoped only"
    );
    assert_eq!(v["visitor"], json!(["signup"]), "visitor-scoped only");
    assert_eq!(v["funnels"], json!([["funnel", 2, NOW.0 - 5_000, 3]]));
    assert_eq!(v["keys"].as_array().unwrap().len(), 2);
    let back = restored(&text, &g);
    assert_eq!(back.session.id, sample().session.id);
    assert_eq!(back.session.pages, 3);
    assert_eq!(back.session.converted, [1, 2]);
    assert_eq!(back.visitor, [3]);
    assert_eq!(back.session.funnels, sample().session.funnels);
    assert_eq!(back.keys, sample().keys);
    assert_eq!(back.touches.as_ref().unwrap().0.campaign, "nov");
    assert_eq!(back.to_json(&g).unwrap(), text, "a fixed point");
}

#[test]
fn a_deploy_that_reorders_adds_and_removes_goals_keeps_what_still_names_a_goal() {
    let text = sample().to_json(&shop()).unwrap();
    // reordered, `purchase` renamed, a goal added in front, the funnel given a fourth step
    let next = goals(json!([
        {"id": "new", "on": "click", "match": {"selector": "#x"}},
        {"id": "funnel", "on": "funnel", "steps": ["cart", "started", "paid", "new"]},
        {"id": "signup", "on": "custom", "once": "visitor", "match": {"event": "signup"}},
        {"id": "paid", "on": "custom", "once": "session", "match": {"event": "purchase"}},
        {"id": "started", "on": "pageview", "match": {"path": "/checkout"}},
        {"id": "cart", "on": "custom", "once": "every", "match": {"event": "cart"}}
    ]));
    let v = restored(&text, &next);
    assert_eq!(
        v.session.converted,
        [4],
        "`started`, at its new index; `purchase` is gone"
    );
    assert_eq!(v.visitor, [2], "`signup`, at its new index");
    assert!(
        v.session.funnels.is_empty(),
        "a funnel whose steps changed starts over"
    );
    assert_eq!(v.keys.len(), 2, "keys name no goal index: kept");
    // the same funnel at a new index keeps its progress
    let moved = goals(json!([
        {"id": "funnel", "on": "funnel", "steps": ["cart", "started", "purchase"]},
        {"id": "cart", "on": "custom", "once": "every", "match": {"event": "cart"}},
        {"id": "started", "on": "pageview", "match": {"path": "/checkout"}},
        {"id": "purchase", "on": "custom", "once": "session", "match": {"event": "purchase"}}
    ]));
    let v = restored(&text, &moved);
    assert_eq!(
        v.session.funnels,
        [Progress {
            goal: 0,
            next: 2,
            started: Millis(NOW.0 - 5_000)
        }]
    );
}

#[test]
fn keys_keep_the_newest_fifty() {
    let mut v = sample();
    for i in 0..200 {
        v.remember_key(EventId(100, i), Millis(NOW.0 + i));
    }
    assert_eq!(v.keys.len(), MAX_KEYS);
    assert_eq!(v.keys[0].0, EventId(100, 150));
    assert_eq!(v.keys[MAX_KEYS - 1].0, EventId(100, 199));
    v.remember_key(EventId(100, 199), Millis(NOW.0 + 500));
    assert_eq!(
        v.keys.len(),
        MAX_KEYS,
        "a key already there is not added twice"
    );
    // a stored list longer than the bound (written by hand, or by another version) is cut
    let mut stored: Value = serde_json::from_str(&sample().to_json(&shop()).unwrap()).unwrap();
    stored["keys"] = (0..1_000)
        .map(|i| json!([EventId(7, i).hex(), NOW.0 + i]))
        .collect();
    let back = restored(&stored.to_string(), &shop());
    assert_eq!(back.keys.len(), MAX_KEYS);
    assert_eq!(
        back.keys[MAX_KEYS - 1].0,
        EventId(7, MAX_LISTED as u64 - 1),
        "at most MAX_LISTED entries are read, the newest of them kept"
    );
}

#[test]
fn two_tabs_with_full_key_lists_converge_on_the_newest_fifty_and_stop_writing() {
    let g = shop();
    let mut a = sample();
    a.keys.clear();
    for i in 0..MAX_KEYS as u64 {
        a.remember_key(EventId(1, i), Millis(NOW.0 + i));
    }
    let mut b = restored(&a.to_json(&g).unwrap(), &g);
    b.remember_key(EventId(2, 0), Millis(NOW.0 + 1_000)); // B's new order evicts A's oldest
    assert!(!merge(
        &mut a,
        NOW,
        &parse(&b.to_json(&g).unwrap()),
        &g,
        true
    ));
    assert!(a.has_key(EventId(2, 0)) && !a.has_key(EventId(1, 0)));
    // and the other way round: nothing to write back, in either tab
    assert!(!merge(
        &mut b,
        NOW,
        &parse(&a.to_json(&g).unwrap()),
        &g,
        true
    ));
    let set = |v: &Visit| {
        let mut k: Vec<(u64, u64)> = v.keys.iter().map(|(k, _)| (k.0, k.1)).collect();
        k.sort_unstable();
        k
    };
    assert_eq!(set(&a), set(&b), "the same keys in both tabs");
}

#[test]
fn an_expired_session_is_dropped_by_the_page_view_and_the_visitors_part_stays() {
    let g = shop();
    let mut v = restored(&sample().to_json(&g).unwrap(), &g);
    v.touch(Millis(NOW.0 + SESSION_TIMEOUT.0)); // exactly 30 minutes: still the session
    assert_eq!(v.session.converted, [1, 2]);
    v.touch(Millis(NOW.0 + 2 * SESSION_TIMEOUT.0 + 1));
    assert!(v.session.converted.is_empty() && v.session.funnels.is_empty());
    assert_eq!(
        v.session.id, None,
        "a new session is drawn by the page view"
    );
    assert_eq!(v.visitor, [3]);
    assert_eq!(v.keys.len(), 2);
}

#[test]
fn mid_page_merge_unites_and_says_whether_to_write_back() {
    let g = shop();
    let stored = sample().to_json(&g).unwrap();
    // the same session in another tab, one page behind, that converted nothing yet
    let mut other = restored(&stored, &g);
    other.session.pages = 2;
    other.session.converted.clear();
    other.session.funnels.clear();
    other.visitor.clear();
    other.keys = vec![(EventId(9, 9), NOW)];
    assert!(
        merge(&mut other, NOW, &parse(&stored), &g, true),
        "it has a key the stored one lacks"
    );
    assert_eq!(other.session.pages, 3);
    assert_eq!(other.session.converted, [1, 2]);
    assert_eq!(other.session.funnels.len(), 1);
    assert_eq!(other.keys.len(), 3);
    // the first tab takes the merged result in and has nothing to add: it writes nothing, so
    // the second hears nothing back (no echo)
    let mut first = restored(&stored, &g);
    let written = other.to_json(&g).unwrap();
    assert!(!merge(&mut first, NOW, &parse(&written), &g, true));
    assert_eq!(first.keys.len(), 3);
    let again = first.to_json(&g).unwrap();
    assert!(
        !merge(&mut other, NOW, &parse(&again), &g, true),
        "converged"
    );
    // a funnel keeps the furthest progress of either
    let mut behind: Value = serde_json::from_str(&stored).unwrap();
    behind["funnels"] = json!([["funnel", 1, NOW.0, 3]]);
    let mut v = restored(&stored, &g);
    assert!(merge(&mut v, NOW, &from_serde(behind), &g, true));
    assert_eq!(v.session.funnels[0].next, 2);
}

#[test]
fn mid_page_a_stored_session_that_expired_or_another_campaign_does_not_continue() {
    let g = shop();
    let stored = sample().to_json(&g).unwrap();
    let mut fresh = Visit::default();
    fresh.attribute(
        "https://shop.test/?utm_source=ads&utm_medium=cpc",
        "",
        &[],
        &mut crate::ids::Rng::new(&[5]),
    );
    fresh.touch(NOW);
    fresh.session.pages = 1;
    let own = fresh.session.id;
    merge(&mut fresh, NOW, &parse(&stored), &g, true);
    assert_eq!(fresh.session.id, own, "this page started another campaign");
    assert_eq!(
        fresh.visitor,
        [3],
        "the visitor's goals carry over all the same"
    );
    let mut late = Visit::default();
    late.attribute(
        "https://shop.test/",
        "",
        &[],
        &mut crate::ids::Rng::new(&[6]),
    );
    let later = Millis(NOW.0 + SESSION_TIMEOUT.0 + 1);
    late.touch(later);
    late.session.pages = 1;
    let own = late.session.id;
    merge(&mut late, later, &parse(&stored), &g, true);
    assert_eq!(late.session.id, own, "the stored session had expired");
    assert!(late.session.converted.is_empty());
    assert_eq!(
        late.touches.as_ref().unwrap().0.campaign,
        "nov",
        "the first touch is the visitor's"
    );
}

#[test]
fn corrupted_stored_values_are_ignored_entry_by_entry_or_whole() {
    let g = shop();
    let mut good: Value = serde_json::from_str(&sample().to_json(&g).unwrap()).unwrap();
    for (key, bad) in [
        ("goals", json!("started")),
        (
            "goals",
            json!([1, null, {"id": "started"}, "started", "started", "nope"]),
        ),
        ("visitor", json!([["signup"]])),
        (
            "funnels",
            json!([
                ["funnel", 3, 0, 3],
                ["funnel", 0, 0, 3],
                ["funnel", -1, 0, 3],
                ["funnel", 1, 0, 2],
                ["started", 1, 0, 0],
                "funnel",
                [],
                ["funnel", 1.5e300, 0, 3]
            ]),
        ),
        (
            "keys",
            json!([
                "xyz",
                5,
                [EventId(1, 1).hex()],
                [EventId(1, 1).hex(), -1],
                ["0123456789abcdef0123456789abcdeg", 5]
            ]),
        ),
    ] {
        let mut v = good.clone();
        v[key] = bad;
        let back = restored(&v.to_string(), &g);
        assert!(back.session.id.is_some(), "{key}: the rest is kept");
        match key {
            "goals" => assert!(back.session.converted.iter().all(|&i| i == 1)),
            "visitor" => assert!(back.visitor.is_empty()),
            "funnels" => assert!(
                back.session.funnels.is_empty(),
                "{:?}",
                back.session.funnels
            ),
            _ => assert!(back.keys.is_empty()),
        }
    }
    // without the session's core fields, nothing is taken
    for key in ["session", "at", "pages", "first", "last"] {
        good.as_object_mut().unwrap().remove(key);
        let mut v = Visit::default();
        assert!(!merge(&mut v, NOW, &from_serde(good.clone()), &g, false));
        assert!(v.session.id.is_none() && v.visitor.is_empty());
    }
    for not_a_visit in [json!(null), json!([]), json!("x"), json!(1e308), json!({})] {
        let mut v = sample();
        assert!(!merge(&mut v, NOW, &from_serde(not_a_visit), &g, true));
        assert_eq!(v.session.pages, 3);
    }
}

/// Any JSON value: nested arrays and objects, with the visit's own keys likely.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("funnel".to_string()),
            Just("started".to_string()),
            Just(EventId(1, 2).hex()),
            ".{0,40}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("session".to_string()),
                        Just("goals".to_string()),
                        Just("visitor".to_string()),
                        Just("funnels".to_string()),
                        Just("keys".to_string()),
                        Just("pages".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A hostile value never panics, and whatever is taken from it stays within the bounds.
    #[test]
    fn any_stored_value_merges_without_panic_and_within_bounds(
        patch in prop::collection::vec(("(session|at|pages|campaign|first|last|goals|visitor|funnels|keys)", any_json()), 0..6),
        mid_page in any::<bool>(),
    ) {
        let g = shop();
        let mut v: Value = serde_json::from_str(&sample().to_json(&g).unwrap()).unwrap();
        for (k, x) in patch {
            v[k] = x;
        }
        let mut visit = sample();
        merge(&mut visit, NOW, &from_serde(v), &g, mid_page);
        prop_assert!(visit.keys.len() <= MAX_KEYS);
        prop_assert!(visit.session.converted.iter().all(|&i| i < g.goals.len()));
        prop_assert!(visit.visitor.iter().all(|&i| i < g.goals.len()));
        prop_assert!(visit.session.funnels.iter().all(|p| p.goal == 4 && p.next < 3));
        if let Some(text) = visit.to_json(&g) {
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
        }
    }
}
