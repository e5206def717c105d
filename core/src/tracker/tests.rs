//! Fake-clock scenarios: time only moves when a test says so.

use super::*;
use crate::config::compile;
use crate::consent::ConsentUpdate;
use crate::delivery::KEEPALIVE_BUDGET;
use crate::interaction::{Element, Interaction};
use crate::json::from_serde;
use goalpost_protocol::MAX_BATCH_EVENTS;
use serde_json::{json, Value};

fn tracker_with(extra: Value) -> Tracker {
    tracker_seeded(extra, &[9, 9, 9, 9])
}

/// A tracker whose ids come from `seed` (two documents of one visit draw different ids).
fn tracker_seeded(extra: Value, seed: &[u32]) -> Tracker {
    let mut v = json!({
        "collector": "/collect", "site": "shop",
        "goals": [
            {"id": "signup", "kind": "macro", "on": "click", "once": "every", "match": {"selector": "#signup"}},
            {"id": "cta", "on": "click", "once": "every", "match": {"selector": ".cta"}},
            {"id": "trial_started", "on": "custom"}
        ]
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    let c = compile(&from_serde(v));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    Tracker::new(c.config.unwrap(), seed)
}

fn tracker() -> Tracker {
    tracker_with(json!({}))
}

fn drain(t: &mut Tracker) -> Vec<Output> {
    std::iter::from_fn(|| t.poll()).collect()
}

/// The sends among outputs, with their bodies parsed.
fn sends(outs: &[Output]) -> Vec<(u32, Value, bool)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send {
                batch,
                body,
                beacon,
            } => Some((*batch, serde_json::from_str(body).unwrap(), *beacon)),
            _ => None,
        })
        .collect()
}

fn ids(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// An input, then the zero-delay timer tick that follows its task in the browser (a batch that
/// became due in the task is sent from that tick).
fn then_tick(t: &mut Tracker, now: Millis, input: Input) {
    t.handle(now, input);
    t.handle(now, Input::Tick);
}

fn click(hits: &[u32]) -> Input {
    Input::Interact(Interaction::Click(Element {
        hits: hits.to_vec(),
        tag: "button".into(),
        ..Element::default()
    }))
}

/// The wake-up in force after these outputs (the last one asked for), if any.
fn wake_at(outs: &[Output]) -> Option<Millis> {
    outs.iter().rev().find_map(|o| match o {
        Output::WakeAt(t) => Some(*t),
        _ => None,
    })
}

/// The collector's HTTP answer to `batch`.
fn answered(batch: u32, status: u16) -> Input {
    Input::Sent {
        batch,
        status: SendStatus::Http(status),
    }
}

fn is_converted(o: &Output, goal: &str) -> bool {
    matches!(o, Output::Converted(c) if c.goal == goal)
}

fn page(url: &str) -> Input {
    Input::PageView(Page {
        url: url.into(),
        title: "Home".into(),
        referrer: "https://search.test/?q=secret".into(),
    })
}

#[test]
fn a_page_view_is_batched_for_the_batch_delay_then_sent_field_by_field() {
    let mut t = tracker();
    t.handle(
        Millis(10_000),
        page("https://shop.test/p?utm_source=news&email=a@b.c#top"),
    );
    assert_eq!(drain(&mut t), [Output::WakeAt(Millis(12_000))]);
    t.handle(Millis(11_999), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty(), "nothing before the delay");
    t.handle(Millis(12_000), Input::Tick);
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    let (_, body, beacon) = &s[0];
    assert!(!beacon);
    assert_eq!(body["v"], 1);
    assert_eq!(body["site"], "shop");
    assert_eq!(body["sent"], 12_000);
    assert_eq!(body["batch"].as_str().unwrap().len(), 32);
    let ev = &body["events"][0];
    assert_eq!(ev["type"], "page_view");
    assert_eq!(ev["ts"], 10_000);
    assert_eq!(ev["url"], "https://shop.test/p?utm_source=news");
    assert_eq!(ev["title"], "Home");
    assert_eq!(ev["referrer"], "https://search.test/");
    assert_eq!(ev["page"], ev["id"]);
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
}

#[test]
fn a_macro_click_goes_out_at_once_with_the_page_view() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    drain(&mut t);
    t.handle(Millis(300), click(&[0]));
    let outs = drain(&mut t);
    assert!(outs.iter().any(|o| is_converted(o, "signup")));
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    let evs = s[0].1["events"].as_array().unwrap().clone();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1]["type"], "conversion");
    assert_eq!(evs[1]["goal"], "signup");
    assert_eq!(evs[1]["kind"], "macro");
    assert_eq!(evs[1]["ts"], 300);
    assert_eq!(evs[1]["page"], evs[0]["id"]);
    assert_eq!(evs[1]["url"], "https://shop.test/");
    assert!(evs[1].get("props").is_none());
}

#[test]
fn a_micro_click_waits_and_unmatched_clicks_are_ignored_with_a_reason() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(10), click(&[1]));
    let outs = drain(&mut t);
    assert!(sends(&outs).is_empty());
    assert!(outs.iter().any(|o| is_converted(o, "cta")));
    t.handle(Millis(20), click(&[]));
    assert_eq!(drain(&mut t), [Output::Ignored(Ignored::NoRule("click"))]);
    t.handle(
        Millis(30),
        Input::Interact(Interaction::Custom {
            name: "nope".into(),
            props: vec![],
        }),
    );
    assert_eq!(
        drain(&mut t),
        [Output::Ignored(Ignored::NoGoalForEvent("nope".into()))]
    );
    assert_eq!(t.queued(), 2);
}

#[test]
fn custom_events_carry_capped_props() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    let mut props = vec![
        ("plan".to_string(), Prop::Str("pro".into())),
        ("seats".to_string(), Prop::Num(3.0)),
        ("annual".to_string(), Prop::Bool(true)),
        ("long".to_string(), Prop::Str("x".repeat(500))),
    ];
    for i in 0..30 {
        props.push((format!("k{i}"), Prop::Num(f64::from(i))));
    }
    t.handle(
        Millis(5),
        Input::Interact(Interaction::Custom {
            name: "trial_started".into(),
            props,
        }),
    );
    t.handle(Millis(6), Input::Flush);
    let s = sends(&drain(&mut t));
    let conv = &s[0].1["events"][1];
    assert_eq!(conv["goal"], "trial_started");
    assert_eq!(conv["kind"], "micro");
    assert_eq!(conv["props"]["plan"], "pro");
    assert_eq!(conv["props"]["seats"], 3);
    assert_eq!(conv["props"]["annual"], true);
    assert_eq!(conv["props"]["long"].as_str().unwrap().len(), MAX_PROP_LEN);
    assert_eq!(conv["props"].as_object().unwrap().len(), MAX_PROPS);
}

#[test]
fn a_full_batch_is_sent_without_waiting_and_the_next_waits_for_the_answer() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 3}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[1]));
    t.handle(Millis(2), click(&[1]));
    // due, but not sent from the task that queued the third event: from the timer after it
    let outs = drain(&mut t);
    assert!(sends(&outs).is_empty(), "{outs:?}");
    assert!(outs.contains(&Output::WakeAt(Millis(2))), "{outs:?}");
    t.handle(Millis(2), Input::Tick);
    for i in 3..=4 {
        then_tick(&mut t, Millis(i), click(&[1]));
    }
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1, "one batch in flight at a time");
    assert_eq!(ids(&s[0].1).len(), 3);
    t.handle(
        Millis(50),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(204),
        },
    );
    // two more are waiting; the batch is not full, so they wait for the delay, which
    // started with the first of them (the click at t = 3)
    let outs = drain(&mut t);
    assert!(sends(&outs).is_empty());
    t.handle(Millis(2_002), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty());
    t.handle(Millis(2_003), Input::Tick);
    let s2 = sends(&drain(&mut t));
    assert_eq!(ids(&s2[0].1).len(), 2);
    assert!(ids(&s[0].1).iter().all(|i| !ids(&s2[0].1).contains(i)));
}

#[test]
fn events_that_queue_while_a_send_is_out_go_together_past_max_events() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 3}}));
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 1..=2 {
        then_tick(&mut t, Millis(i), click(&[1]));
    }
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    assert_eq!(
        ids(&s[0].1).len(),
        3,
        "due at 3 events: sent on the next tick"
    );
    // a burst while the first batch is out
    for i in 3..=12 {
        t.handle(Millis(i), click(&[1]));
    }
    assert!(
        sends(&drain(&mut t)).is_empty(),
        "one batch in flight at a time"
    );
    t.handle(
        Millis(40),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(204),
        },
    );
    let s2 = sends(&drain(&mut t));
    assert_eq!(
        s2.len(),
        1,
        "the burst in one request, not one per 3 events"
    );
    assert_eq!(ids(&s2[0].1).len(), 10);
    assert!(ids(&s[0].1).iter().all(|i| !ids(&s2[0].1).contains(i)));
    assert_eq!(t.queued(), 0);
}

#[test]
fn a_burst_past_the_stored_bound_in_one_task_loses_nothing() {
    // no tick between the events: one task queues them all (a thousand SPA navigations), more
    // than the queue may hold (`max_stored`, 1,000), so full requests must leave on the way
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 1..=1_009 {
        t.handle(
            Millis(1),
            Input::Interact(Interaction::Custom {
                name: "trial_started".into(),
                props: vec![("n".into(), Prop::Num(i as f64))],
            }),
        );
    }
    let mut delivered = Vec::new();
    let mut out = sends(&drain(&mut t));
    assert_eq!(
        out.len(),
        1,
        "a full request went at once, from inside the task"
    );
    t.handle(Millis(2), Input::Flush);
    while let Some((batch, body, _)) = out.first().cloned() {
        delivered.extend(ids(&body));
        t.handle(
            Millis(3),
            Input::Sent {
                batch,
                status: SendStatus::Http(204),
            },
        );
        out = sends(&drain(&mut t));
    }
    assert_eq!(t.dropped(), 0);
    assert_eq!(delivered.len(), 1_010);
}

#[test]
fn beacons_on_hide_carry_at_most_max_events_each() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 3}}));
    t.handle(Millis(0), page("https://shop.test/"));
    let first = sends(&drain(&mut t));
    assert!(first.is_empty(), "one event, not due yet");
    for i in 1..=9 {
        then_tick(&mut t, Millis(i), click(&[1]));
    }
    // the first three went by fetch, and are still out; seven are queued
    let out = sends(&drain(&mut t));
    assert_eq!(out.len(), 1);
    assert!(!out[0].2);
    t.handle(Millis(20), Input::Hidden);
    let beacons = sends(&drain(&mut t));
    let sizes: Vec<usize> = beacons.iter().map(|(_, b, _)| ids(b).len()).collect();
    assert_eq!(
        sizes,
        vec![3, 3, 1],
        "no beacon carries more than maxEvents"
    );
    assert!(beacons.iter().all(|(_, _, beacon)| *beacon));
}

#[test]
fn a_batch_carries_at_most_what_the_collector_takes() {
    let v = json!({
        "collector": "/collect", "site": "shop", "batch": {"maxEvents": 1},
        "goals": [{"id": "cta", "on": "click", "once": "every", "match": {"selector": ".cta"}}]
    });
    let mut config = compile(&from_serde(v)).config.unwrap();
    config.batch.max_bytes = 1 << 20; // so that only the count can stop a batch
    let mut t = Tracker::new(config, &[9, 9, 9, 9]);
    then_tick(&mut t, Millis(0), page("https://shop.test/"));
    let first = sends(&drain(&mut t));
    assert_eq!(ids(&first[0].1).len(), 1, "the page view, alone");
    for i in 1..=700 {
        t.handle(Millis(i), click(&[0]));
    }
    let mut sizes = Vec::new();
    let mut out = first;
    while let Some((batch, _, _)) = out.first().cloned() {
        t.handle(
            Millis(800),
            Input::Sent {
                batch,
                status: SendStatus::Http(204),
            },
        );
        out = sends(&drain(&mut t));
        sizes.extend(out.iter().map(|(_, b, _)| ids(b).len()));
    }
    assert_eq!(sizes, vec![MAX_BATCH_EVENTS, 700 - MAX_BATCH_EVENTS]);
}

#[test]
fn events_queued_during_a_send_go_out_when_it_answers_if_their_delay_has_passed() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(2_000), Input::Tick);
    let first = sends(&drain(&mut t))[0].0;
    t.handle(Millis(2_100), click(&[1]));
    t.handle(Millis(4_100), Input::Tick); // due, but the first batch is still out
    assert!(sends(&drain(&mut t)).is_empty());
    t.handle(
        Millis(9_000),
        Input::Sent {
            batch: first,
            status: SendStatus::Http(200),
        },
    );
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1["events"][0]["goal"], "cta");
}

#[test]
fn a_server_error_is_retried_with_backoff_and_the_same_event_ids() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0]));
    let s = sends(&drain(&mut t));
    let first_ids = ids(&s[0].1);
    t.handle(
        Millis(100),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(503),
        },
    );
    let outs = drain(&mut t);
    let at = wake_at(&outs).unwrap_or_else(|| panic!("no wake-up in {outs:?}"));
    assert!(
        at.0 >= 600 && at.0 <= 1_100,
        "first retry 0.5–1 s after the failure, got {at:?}"
    );
    assert_eq!(t.queued(), 2);
    // a new macro conversion does not jump the retry wait
    t.handle(Millis(200), click(&[0]));
    assert!(sends(&drain(&mut t)).is_empty());
    t.handle(at, Input::Tick);
    let s2 = sends(&drain(&mut t));
    assert_eq!(s2.len(), 1);
    let retried = ids(&s2[0].1);
    assert_eq!(
        &retried[..2],
        &first_ids[..],
        "the same events, in order, with the same ids"
    );
    assert_eq!(retried.len(), 3);
    t.handle(at.plus(Millis(10)), answered(s2[0].0, 204));
    assert_eq!(t.queued(), 0);
    assert_eq!(t.dropped(), 0);
}

#[test]
fn network_errors_back_off_exponentially_then_give_up_and_count() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    let mut now = Millis(0);
    let mut waits = Vec::new();
    t.handle(now, Input::Flush);
    for _attempt in 0..=10 {
        let outs = drain(&mut t);
        let s = sends(&outs);
        assert_eq!(s.len(), 1, "{outs:?}");
        now = now.plus(Millis(5));
        t.handle(
            now,
            Input::Sent {
                batch: s[0].0,
                status: SendStatus::NetworkError,
            },
        );
        let outs = drain(&mut t);
        match wake_at(&outs) {
            Some(w) => {
                waits.push(w.0 - now.0);
                now = w;
                t.handle(now, Input::Tick);
            }
            None => {
                assert!(
                    outs.contains(&Output::Ignored(Ignored::GaveUp { events: 1 })),
                    "{outs:?}"
                );
                assert!(outs.contains(&Output::Drained));
            }
        }
    }
    assert_eq!(waits.len(), 10);
    for (i, w) in waits.iter().enumerate() {
        let full = (1000u64 << i).min(60_000);
        assert!(*w >= full / 2 && *w <= full, "wait {i} = {w}");
    }
    assert_eq!(t.dropped(), 1);
    assert_eq!(t.queued(), 0);
}

#[test]
fn a_refused_batch_is_dropped_and_counted_and_the_next_one_goes() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 1}}));
    then_tick(&mut t, Millis(0), page("https://shop.test/"));
    then_tick(&mut t, Millis(1), click(&[1]));
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    t.handle(
        Millis(2),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(400),
        },
    );
    let outs = drain(&mut t);
    assert!(outs.contains(&Output::Ignored(Ignored::Refused {
        events: 1,
        status: 400
    })));
    let s2 = sends(&outs);
    assert_eq!(s2.len(), 1);
    assert_eq!(s2[0].1["events"][0]["type"], "conversion");
    assert_eq!(t.dropped(), 1);
}

#[test]
fn hiding_the_page_sends_by_beacon_within_the_keepalive_budget_and_keeps_the_rest() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 500}}));
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 0..200 {
        t.handle(
            Millis(i),
            Input::Interact(Interaction::Custom {
                name: "trial_started".into(),
                props: vec![("pad".into(), Prop::Str("y".repeat(150)))],
            }),
        );
    }
    drain(&mut t);
    let mut all = Vec::new();
    let mut rounds = 0;
    while t.queued() > 0 {
        rounds += 1;
        t.handle(Millis(500), Input::Hidden);
        let mut first = true;
        loop {
            let s = sends(&drain(&mut t));
            if s.is_empty() {
                break;
            }
            if first {
                let bytes: usize = s.iter().map(|(_, b, _)| b.to_string().len()).sum();
                assert!(
                    bytes <= KEEPALIVE_BUDGET,
                    "round {rounds}: {bytes} bytes in flight"
                );
                assert!(
                    s.iter().all(|(_, _, beacon)| *beacon),
                    "the unload sends beacons"
                );
                first = false;
            }
            // once a beacon is delivered the rest may follow by keepalive fetch: both survive
            // the page, both count against the budget
            for (batch, body, beacon) in &s {
                assert!(body.to_string().len() <= 16 * 1024);
                all.extend(ids(body));
                let status = if *beacon {
                    SendStatus::Beacon(true)
                } else {
                    SendStatus::Http(200)
                };
                t.handle(
                    Millis(501),
                    Input::Sent {
                        batch: *batch,
                        status,
                    },
                );
            }
        }
    }
    assert_eq!(all.len(), 201);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 201, "no event twice");
}

#[test]
fn offline_nothing_is_sent_and_no_attempt_is_spent_then_back_online_it_goes() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), Input::Online(false));
    t.handle(Millis(2), click(&[0])); // macro: would go at once
    assert!(
        sends(&drain(&mut t)).is_empty(),
        "nothing sent while offline"
    );
    t.handle(Millis(10_000), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty());
    // a fetch already out fails while offline: requeued, no retry timer, no attempt spent
    t.handle(Millis(10_001), Input::Online(true));
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    t.handle(Millis(10_002), Input::Online(false));
    t.handle(
        Millis(10_003),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::NetworkError,
        },
    );
    let outs = drain(&mut t);
    assert!(
        !outs.iter().any(|o| matches!(o, Output::WakeAt(_))),
        "no busy retry loop offline: {outs:?}"
    );
    assert_eq!(t.queued(), 2);
    t.handle(Millis(20_000), Input::Online(true));
    let s2 = sends(&drain(&mut t));
    assert_eq!(ids(&s2[0].1), ids(&s[0].1), "the same events, the same ids");
    t.handle(
        Millis(20_001),
        Input::Sent {
            batch: s2[0].0,
            status: SendStatus::Http(200),
        },
    );
    assert_eq!((t.queued(), t.dropped()), (0, 0));
}

#[test]
fn retry_after_is_honoured() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(0), Input::Flush);
    let s = sends(&drain(&mut t));
    t.handle(
        Millis(10),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Throttled {
                status: 429,
                retry_after: Millis(30_000),
            },
        },
    );
    assert!(drain(&mut t).contains(&Output::WakeAt(Millis(30_010))));
    t.handle(Millis(30_009), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty());
    t.handle(Millis(30_010), Input::Tick);
    assert_eq!(sends(&drain(&mut t)).len(), 1);
}

#[test]
fn dropped_events_are_reported_in_the_next_delivered_batch_once() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 2}}));
    t.handle(Millis(0), page("https://shop.test/"));
    then_tick(&mut t, Millis(1), click(&[1]));
    let s = sends(&drain(&mut t));
    assert!(s[0].1.get("dropped").is_none());
    t.handle(
        Millis(2),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(400),
        },
    );
    drain(&mut t);
    t.handle(Millis(3), click(&[1]));
    then_tick(&mut t, Millis(4), click(&[1]));
    let s2 = sends(&drain(&mut t));
    assert_eq!(s2[0].1["dropped"], 2, "the refused batch's two events");
    t.handle(
        Millis(5),
        Input::Sent {
            batch: s2[0].0,
            status: SendStatus::Http(200),
        },
    );
    t.handle(Millis(6), click(&[1]));
    then_tick(&mut t, Millis(7), click(&[1]));
    let s3 = sends(&drain(&mut t));
    assert!(
        s3[0].1.get("dropped").is_none(),
        "reported once, then cleared"
    );
}

#[test]
fn a_refused_beacon_keeps_its_events_for_the_next_try() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), Input::Hidden);
    let s = sends(&drain(&mut t));
    t.handle(
        Millis(1),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Beacon(false),
        },
    );
    assert_eq!(t.queued(), 1);
    assert_eq!(t.dropped(), 0);
}

#[test]
fn flush_settles_once_everything_is_delivered() {
    let mut t = tracker();
    t.handle(Millis(0), Input::Flush);
    assert_eq!(
        drain(&mut t),
        [Output::Drained],
        "nothing queued: settles at once"
    );
    t.handle(Millis(1), page("https://shop.test/"));
    t.handle(Millis(2), Input::Flush);
    let outs = drain(&mut t);
    assert!(!outs.contains(&Output::Drained));
    let s = sends(&outs);
    t.handle(
        Millis(3),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(204),
        },
    );
    assert_eq!(drain(&mut t), [Output::Drained]);
}

#[test]
fn answers_for_unknown_batches_are_ignored() {
    let mut t = tracker();
    t.handle(
        Millis(0),
        Input::Sent {
            batch: 77,
            status: SendStatus::Http(500),
        },
    );
    assert!(drain(&mut t).is_empty());
}

#[test]
fn pageviews_can_be_switched_off() {
    let mut t = tracker_with(json!({"pageviews": false}));
    t.handle(Millis(0), page("https://shop.test/x"));
    assert!(drain(&mut t).is_empty());
    t.handle(Millis(1), click(&[0]));
    let s = sends(&drain(&mut t));
    assert_eq!(s[0].1["events"].as_array().unwrap().len(), 1);
    assert_eq!(s[0].1["events"][0]["url"], "https://shop.test/x");
}

#[test]
fn emails_and_phone_numbers_never_leave_in_urls_titles_or_referrers() {
    let mut t = tracker();
    let p = Page {
        url: "https://shop.test/account/jane@example.com?utm_source=a%40b.io&email=x@y.z".into(),
        title: "Orders of jane@example.com".into(),
        referrer: "https://mail.test/u/jane@example.com/inbox".into(),
    };
    t.handle(Millis(0), Input::PageView(p));
    t.handle(Millis(1), Input::Flush);
    let s = sends(&drain(&mut t));
    let ev = &s[0].1["events"][0];
    assert_eq!(
        ev["url"],
        "https://shop.test/account/[email]?utm_source=[email]"
    );
    assert_eq!(ev["title"], "Orders of [email]");
    assert_eq!(ev["referrer"], "https://mail.test/u/[email]/inbox");
    assert!(!s[0].1.to_string().contains('@'));
}

#[test]
fn an_interaction_after_the_session_timed_out_on_the_same_page_starts_a_new_session() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[1]));
    let mut sent = all_sent_after_flush(&mut t);
    let late = Millis(1 + crate::SESSION_TIMEOUT.0 + 1);
    t.handle(late, click(&[1]));
    let v = visit(&drain(&mut t)).expect("the new session is stored at once");
    assert_eq!(v["pages"], 1, "this page is the new session's first");
    t.handle(late.plus(Millis(10)), click(&[1]));
    sent.extend(all_sent_after_flush(&mut t));
    let sessions: Vec<&Value> = sent.iter().map(|e| &e["session"]).collect();
    assert!(
        sessions.iter().all(|s| s.is_string()),
        "never without a session: {sessions:?}"
    );
    assert_eq!(sessions[0], sessions[1], "page view and first click");
    assert_ne!(
        sessions[1], sessions[2],
        "idle past the timeout: a new session"
    );
    assert_eq!(sessions[2], sessions[3], "which goes on");
    assert_eq!(&v["session"], sessions[2]);
}

fn all_sent_after_flush(t: &mut Tracker) -> Vec<Value> {
    t.handle(Millis(0), Input::Flush);
    all_sent(t)
}

#[test]
fn sessions_and_first_and_last_touch_on_conversions() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    let view = |t: &mut Tracker, at: u64, url: &str, referrer: &str| {
        t.handle(
            Millis(at),
            Input::PageView(Page {
                url: url.into(),
                title: "T".into(),
                referrer: referrer.into(),
            }),
        );
    };
    view(
        &mut t,
        0,
        "https://shop.test/landing?utm_source=news&utm_medium=email&utm_campaign=nov",
        "",
    );
    view(
        &mut t,
        1_000,
        "https://shop.test/p/1",
        "https://shop.test/landing",
    );
    t.handle(Millis(2_000), click(&[0]));
    view(
        &mut t,
        3_000,
        "https://shop.test/",
        "https://www.google.com/",
    );
    t.handle(Millis(4_000), click(&[0]));
    view(&mut t, 5_000, "https://shop.test/p/2", ""); // direct: does not replace the last touch
    t.handle(Millis(6_000), click(&[0]));
    // 31 minutes later: a new session, same visitor
    view(&mut t, 6_000 + 31 * 60_000, "https://shop.test/", "");
    // a new campaign starts a new session at once
    view(
        &mut t,
        6_000 + 31 * 60_000 + 1_000,
        "https://shop.test/?gclid=abc",
        "https://www.google.com/",
    );
    t.handle(Millis(6_000 + 31 * 60_000 + 2_000), click(&[0]));
    t.handle(Millis(6_000 + 31 * 60_000 + 3_000), Input::Flush);
    let mut events = Vec::new();
    for o in drain(&mut t) {
        if let Output::Send { batch, body, .. } = o {
            let v: Value = serde_json::from_str(&body).unwrap();
            events.extend(v["events"].as_array().unwrap().clone());
            t.handle(
                Millis(0),
                Input::Sent {
                    batch,
                    status: SendStatus::Http(204),
                },
            );
        }
    }
    for o in drain(&mut t) {
        if let Output::Send { body, .. } = o {
            let v: Value = serde_json::from_str(&body).unwrap();
            events.extend(v["events"].as_array().unwrap().clone());
        }
    }
    let sessions: Vec<&str> = events
        .iter()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert!(sessions.iter().all(|s| s.len() == 32));
    let convs: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "conversion")
        .collect();
    assert_eq!(convs.len(), 4);
    assert_eq!(convs[0]["first"]["channel"], "email");
    assert_eq!(convs[0]["first"]["source"], "news");
    assert_eq!(convs[0]["first"]["campaign"], "nov");
    assert_eq!(convs[0]["first"]["landing"], "/landing");
    assert_eq!(convs[0]["last"], convs[0]["first"]);
    assert_eq!(
        convs[1]["first"]["channel"], "email",
        "the first touch stays"
    );
    assert_eq!(convs[1]["last"]["channel"], "organic_search");
    assert_eq!(convs[1]["last"]["source"], "google.com");
    assert_eq!(
        convs[2]["last"]["channel"], "organic_search",
        "a direct visit does not replace the last touch"
    );
    assert_eq!(convs[3]["last"]["channel"], "paid_search");
    assert_eq!(convs[3]["last"]["click_id"], "gclid");
    assert!(events
        .iter()
        .filter(|e| e["type"] == "page_view")
        .all(|e| e.get("first").is_none()));
    let pv: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "page_view")
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    assert_eq!(pv.len(), 6);
    assert!(
        pv[0] == pv[1] && pv[1] == pv[2] && pv[2] == pv[3],
        "one session for the first four pages"
    );
    assert_ne!(pv[4], pv[3], "30 minutes idle: a new session");
    assert_ne!(pv[5], pv[4], "a new campaign: a new session");
}

/// All events sent so far (answering every send with 204).
fn all_sent(t: &mut Tracker) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let s = sends(&drain(t));
        if s.is_empty() {
            return out;
        }
        for (batch, body, _) in s {
            out.extend(body["events"].as_array().unwrap().clone());
            t.handle(
                Millis(0),
                Input::Sent {
                    batch,
                    status: SendStatus::Http(204),
                },
            );
        }
    }
}

#[test]
fn anonymous_by_default_then_full_after_a_grant() {
    let mut t = tracker();
    t.handle(
        Millis(0),
        page("https://shop.test/?utm_source=news&utm_medium=email&gclid=x"),
    );
    t.handle(Millis(1), click(&[0]));
    let before = all_sent(&mut t);
    assert_eq!(before.len(), 2);
    for e in &before {
        assert_eq!(e["consent"], "anonymous");
        assert!(
            e.get("session").is_none() && e.get("first").is_none() && e.get("last").is_none(),
            "{e}"
        );
    }
    t.handle(Millis(2), Input::Consent(ConsentUpdate::all(true)));
    t.handle(Millis(3), click(&[0]));
    let after = all_sent(&mut t);
    assert_eq!(after[0]["consent"], "granted");
    assert_eq!(after[0]["session"].as_str().unwrap().len(), 32);
    assert_eq!(after[0]["last"]["click_id"], "gclid");
}

#[test]
fn required_mode_holds_until_a_grant_and_sends_each_event_once() {
    let mut t = tracker_with(json!({"consent": {"mode": "required"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0]));
    t.handle(Millis(2), Input::Flush);
    t.handle(Millis(3), Input::Hidden);
    assert!(
        all_sent(&mut t).is_empty(),
        "nothing before a choice, not even on hide"
    );
    t.handle(Millis(4), Input::Consent(ConsentUpdate::all(true)));
    let sent = all_sent(&mut t);
    assert_eq!(
        sent.iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["page_view", "conversion"]
    );
    assert!(
        sent.iter().all(|e| e["consent"] == "pending"),
        "collected before the choice, sent after the grant"
    );
    assert!(sent
        .iter()
        .all(|e| e["session"].as_str().is_some_and(|s| s.len() == 32)));
    t.handle(Millis(5), Input::Consent(ConsentUpdate::all(true)));
    assert!(
        all_sent(&mut t).is_empty(),
        "a second grant sends nothing again"
    );
}

#[test]
fn required_mode_denial_drops_what_was_held_and_clears_storage() {
    let mut t = tracker_with(json!({"consent": {"mode": "required"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0]));
    t.handle(Millis(2), Input::Consent(ConsentUpdate::all(false)));
    let outs = drain(&mut t);
    assert!(outs.contains(&Output::ClearStorage));
    t.handle(Millis(3), click(&[0]));
    t.handle(Millis(4), Input::Flush);
    assert!(all_sent(&mut t).is_empty());
    t.handle(Millis(5), click(&[0]));
    assert!(drain(&mut t).contains(&Output::Ignored(Ignored::NoConsent)));
}

#[test]
fn held_inputs_past_max_held_drop_the_oldest_interaction_counted_and_reported() {
    let mut t = tracker_with(json!({"consent": {"mode": "required", "maxHeld": 3}}));
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 1..=4 {
        t.handle(Millis(i), click(&[0]));
    }
    let outs = drain(&mut t);
    assert_eq!(
        outs.iter()
            .filter(|o| **o == Output::Ignored(Ignored::QueueFull { events: 1 }))
            .count(),
        2,
        "five inputs held, three kept: two drops, each said"
    );
    assert!(
        !outs.iter().any(|o| matches!(o, Output::Converted(_))),
        "nothing is matched before the choice"
    );
    assert_eq!(t.dropped(), 2);
    t.handle(Millis(10), Input::Consent(ConsentUpdate::all(true)));
    let outs = drain(&mut t);
    assert_eq!(
        outs.iter()
            .filter(|o| matches!(o, Output::Converted(_)))
            .count(),
        2
    );
    let sent = sends(&outs);
    assert_eq!(
        sent[0].1["dropped"], 2,
        "reported to the collector like every drop"
    );
    let mut events = sent[0].1["events"].as_array().unwrap().clone();
    t.handle(
        Millis(11),
        Input::Sent {
            batch: sent[0].0,
            status: SendStatus::Http(204),
        },
    );
    t.handle(Millis(12), Input::Flush);
    events.extend(all_sent(&mut t));
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["page_view", "conversion", "conversion"],
        "the page view stays; the oldest clicks went"
    );
    let times: Vec<u64> = events.iter().map(|e| e["ts"].as_u64().unwrap()).collect();
    assert_eq!(times, [0, 3, 4], "each at the time it happened");
    assert!(events.iter().all(|e| e["consent"] == "pending"));
}

#[test]
fn required_mode_can_drop_instead_of_holding() {
    let mut t = tracker_with(json!({"consent": {"mode": "required", "beforeGrant": "drop"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), Input::Consent(ConsentUpdate::all(true)));
    assert!(
        all_sent(&mut t).is_empty(),
        "the page view before the grant was not kept"
    );
}

#[test]
fn implied_mode_sends_until_a_withdrawal_then_nothing_and_no_retry() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0]));
    let s = sends(&drain(&mut t));
    assert_eq!(s[0].1["events"][0]["consent"], "implied");
    // withdrawn while the batch is in flight: it fails, and is not retried
    t.handle(
        Millis(2),
        Input::Consent(ConsentUpdate {
            analytics: Some(false),
            ..ConsentUpdate::default()
        }),
    );
    t.handle(
        Millis(3),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(503),
        },
    );
    let outs = drain(&mut t);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::WakeAt(_) | Output::Send { .. })),
        "{outs:?}"
    );
    assert_eq!(t.queued(), 0);
    t.handle(Millis(4), click(&[0]));
    assert!(all_sent(&mut t).is_empty());
}

#[test]
fn without_ads_consent_no_click_ids_and_no_forwarding() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(
        Millis(0),
        Input::Consent(ConsentUpdate {
            ads: Some(false),
            ..ConsentUpdate::default()
        }),
    );
    t.handle(
        Millis(1),
        page("https://shop.test/?gclid=abc&utm_source=google&utm_medium=cpc"),
    );
    t.handle(Millis(2), click(&[0]));
    let outs = drain(&mut t);
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::Converted(c) if !c.forward)));
    let conv = sends(&outs)[0].1["events"][1].clone();
    assert!(conv["last"].get("click_id").is_none());
    assert_eq!(
        conv["last"]["channel"], "paid_search",
        "the channel is kept, the click id is not"
    );
}

#[test]
fn a_consent_tool_is_waited_for_a_bounded_time() {
    // implied mode: nothing leaves before the tool answers or 500 ms pass
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), Input::AwaitConsent(Millis(500)));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(10), click(&[0]));
    t.handle(Millis(20), Input::Hidden);
    let outs = drain(&mut t);
    assert!(
        sends(&outs).is_empty(),
        "nothing before the answer, not even on hide"
    );
    assert!(outs.contains(&Output::WakeAt(Millis(500))));
    t.handle(Millis(500), Input::Tick);
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1, "the timeout passed: the mode decides");
    assert_eq!(ids(&s[0].1).len(), 2);

    // the tool answers a denial within the wait: nothing is ever sent
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), Input::AwaitConsent(Millis(500)));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(10), click(&[0]));
    t.handle(Millis(200), Input::Consent(ConsentUpdate::all(false)));
    t.handle(Millis(600), Input::Tick);
    assert!(all_sent(&mut t).is_empty());

    // an answer that changes nothing (GDPR does not apply) ends the wait at once
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), Input::AwaitConsent(Millis(500)));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(10), click(&[0]));
    t.handle(Millis(50), Input::Consent(ConsentUpdate::default()));
    assert_eq!(sends(&drain(&mut t)).len(), 1);
}

/// The last stored visit among outputs, parsed.
fn visit(outs: &[Output]) -> Option<Value> {
    outs.iter().rev().find_map(|o| match o {
        Output::PersistVisit(v) => Some(serde_json::from_str::<Value>(v).unwrap()),
        _ => None,
    })
}

/// The last snapshot among outputs, as the list of its event ids.
fn snapshot(outs: &[Output]) -> Option<Vec<String>> {
    outs.iter().rev().find_map(|o| match o {
        Output::Persist(Some(s)) => {
            let v: Value = serde_json::from_str(s).unwrap();
            assert_eq!(v["v"], 1);
            let events = ids(&v);
            assert!(!events.is_empty(), "an empty snapshot is a removal (None)");
            Some(events)
        }
        Output::Persist(None) => Some(Vec::new()),
        _ => None,
    })
}

#[test]
fn unsent_events_are_stored_only_with_storage_consent_and_restored_once() {
    // anonymous mode, no grant: never stored
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    assert!(snapshot(&drain(&mut t)).is_none());
    assert!(!t.storage_allowed());

    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    let first = snapshot(&drain(&mut t)).unwrap();
    assert_eq!(first.len(), 1, "the first change is written at once");
    t.handle(Millis(1), click(&[0])); // macro: sent at once, still in the snapshot until confirmed
    let outs = drain(&mut t);
    assert!(
        snapshot(&outs).is_none(),
        "the next, at most a second after the last"
    );
    assert!(outs.contains(&Output::WakeAt(Millis(1_000))), "{outs:?}");
    let batch = sends(&outs)[0].0;
    t.handle(Millis(1_000), Input::Tick);
    let in_flight = snapshot(&drain(&mut t)).unwrap();
    assert_eq!(in_flight.len(), 2);
    t.handle(
        Millis(1_002),
        Input::Sent {
            batch,
            status: SendStatus::Http(204),
        },
    );
    assert_eq!(
        snapshot(&drain(&mut t)).unwrap().len(),
        0,
        "confirmed: gone from storage at once (nothing left: a removal)"
    );

    // a later page restores what an earlier one stored, and sends it
    let mut next = tracker_with(json!({"consent": {"mode": "implied"}}));
    let stored = "{\"id\":\"00000000000000000000000000000001\",\"type\":\"page_view\",\"ts\":5,\"page\":\"00000000000000000000000000000001\",\"consent\":\"implied\",\"url\":\"https://shop.test/old\",\"title\":\"\",\"referrer\":\"\"}";
    next.handle(
        Millis(10),
        Input::Restore(vec![stored.into(), "not json".into()]),
    );
    let s = sends(&drain(&mut next));
    assert_eq!(
        ids(&s[0].1),
        ["00000000000000000000000000000001"],
        "only well-formed events, sent at once"
    );
    // a storage denial clears storage and stops snapshots
    next.handle(
        Millis(11),
        Input::Consent(ConsentUpdate {
            storage: Some(false),
            ..ConsentUpdate::default()
        }),
    );
    let outs = drain(&mut next);
    assert!(outs.contains(&Output::ClearStorage));
    next.handle(Millis(12), page("https://shop.test/x"));
    assert!(snapshot(&drain(&mut next)).is_none());
}

#[test]
fn restored_events_go_before_the_queue_in_their_stored_order() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), Input::Online(false));
    t.handle(Millis(0), page("https://shop.test/"));
    let live = snapshot(&drain(&mut t)).unwrap();
    assert_eq!(live.len(), 1, "this page's view, queued while offline");
    let stored = |n: u32| {
        format!("{{\"id\":\"{n:032}\",\"type\":\"page_view\",\"ts\":{n},\"url\":\"https://shop.test/{n}\"}}")
    };
    t.handle(
        Millis(1),
        Input::Restore(vec![stored(1), stored(2), "{broken".into(), stored(3)]),
    );
    t.handle(Millis(2), Input::Online(true));
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    let mut want: Vec<String> = (1..=3).map(|n| format!("{n:032}")).collect();
    want.extend(live);
    assert_eq!(
        ids(&s[0].1),
        want,
        "stored first, oldest first, then this page's"
    );
}

#[test]
fn the_queue_is_bounded_oldest_first_and_the_drop_is_reported() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), Input::Online(false));
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 0..1_005u64 {
        t.handle(
            Millis(i),
            Input::Interact(Interaction::Custom {
                name: "trial_started".into(),
                props: vec![],
            }),
        );
    }
    assert_eq!(t.queued(), 1_000);
    assert_eq!(t.dropped(), 6, "the page view and the 5 oldest conversions");
    let outs = drain(&mut t);
    assert_eq!(snapshot(&outs).unwrap().len(), 1_000);
    t.handle(Millis(2_000), Input::Online(true));
    let s = sends(&drain(&mut t));
    assert_eq!(s[0].1["dropped"], 6);
}

#[test]
fn extra_query_parameters_and_hash_routes_when_configured() {
    let mut t = tracker_with(json!({"keepParams": ["plan"], "spa": "hash"}));
    t.handle(
        Millis(0),
        page("https://shop.test/?plan=pro&email=x&utm_source=a#/cart"),
    );
    t.handle(Millis(1), Input::Flush);
    let s = sends(&drain(&mut t));
    assert_eq!(
        s[0].1["events"][0]["url"],
        "https://shop.test/?plan=pro&utm_source=a#/cart"
    );
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/?plan=pro#/cart"));
    t.handle(Millis(1), Input::Flush);
    assert_eq!(
        sends(&drain(&mut t))[0].1["events"][0]["url"],
        "https://shop.test/"
    );
}

#[test]
fn the_visit_is_stored_with_consent_and_the_next_page_continues_it() {
    let mut a = tracker();
    a.handle(
        Millis(0),
        page("https://shop.test/?utm_source=news&utm_medium=email"),
    );
    assert!(
        visit(&drain(&mut a)).is_none(),
        "anonymous by default: nothing stored"
    );

    let mut a = tracker_with(json!({"consent": {"mode": "implied"}}));
    a.handle(
        Millis(1_000),
        page("https://shop.test/landing?utm_source=news&utm_medium=email&utm_campaign=nov"),
    );
    let stored = visit(&drain(&mut a)).unwrap();
    assert_eq!(stored["first"]["channel"], "email");
    assert_eq!(stored["pages"], 1);
    // the next page load of the site (a new tracker) restores it before its page view
    let mut b = tracker_with(json!({"consent": {"mode": "implied"}}));
    b.handle(
        Millis(5_000),
        Input::RestoreVisit(from_serde(stored.clone())),
    );
    let internal = Page {
        url: "https://shop.test/checkout".into(),
        title: "Checkout".into(),
        referrer: "https://shop.test/landing".into(),
    };
    b.handle(Millis(5_000), Input::PageView(internal));
    b.handle(Millis(6_000), click(&[0]));
    let s = sends(&drain(&mut b));
    let conv = &s[0].1["events"][1];
    assert_eq!(conv["session"], stored["session"], "the same session");
    assert_eq!(conv["first"]["campaign"], "nov");
    assert_eq!(conv["last"]["channel"], "email");
    // after 30 minutes the stored session has ended: a new one, the touches stay (a tracker
    // with its own seed: the others share one, and would draw the same id)
    let cfg = compile(&from_serde(
        json!({"collector": "/c", "site": "shop", "consent": {"mode": "implied"},
        "goals": [{"id": "signup", "kind": "macro", "on": "click", "once": "every", "match": {"selector": "#signup"}}]}),
    ));
    let mut c = Tracker::new(cfg.config.unwrap(), &[1, 2, 3]);
    c.handle(
        Millis(1_000 + 31 * 60_000),
        Input::RestoreVisit(from_serde(stored.clone())),
    );
    let direct = Page {
        url: "https://shop.test/".into(),
        ..Page::default()
    };
    c.handle(Millis(1_000 + 31 * 60_000), Input::PageView(direct));
    c.handle(Millis(1_000 + 31 * 60_000 + 1), click(&[0]));
    let conv = sends(&drain(&mut c))[0].1["events"][1].clone();
    assert_ne!(conv["session"], stored["session"]);
    assert_eq!(conv["first"]["campaign"], "nov");
    // malformed visits are ignored
    let mut d = tracker_with(json!({"consent": {"mode": "implied"}}));
    d.handle(
        Millis(0),
        Input::RestoreVisit(from_serde(
            json!({"session": "zz", "first": {"channel": "tv"}}),
        )),
    );
    d.handle(Millis(0), page("https://shop.test/"));
    assert_eq!(visit(&drain(&mut d)).unwrap()["pages"], 1);
}

#[test]
fn beaconed_events_stay_stored_until_a_fetch_confirms_them() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[1])); // micro: queued
    drain(&mut t);
    t.handle(Millis(2), Input::Hidden);
    let outs = drain(&mut t);
    let s = sends(&outs);
    assert_eq!(s.len(), 1);
    assert!(s[0].2, "by beacon");
    let beaconed = ids(&s[0].1);
    t.handle(
        Millis(2),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Beacon(true),
        },
    );
    let outs = drain(&mut t);
    assert_eq!(
        snapshot(&outs).unwrap(),
        beaconed,
        "the browser took them, the collector may not have: still stored for the next page"
    );
    assert_eq!(t.queued(), 0, "but nothing is pending");

    // the page is shown again: they go out once more, by fetch, with the next batch
    t.handle(Millis(10), Input::Shown);
    let outs = drain(&mut t);
    assert!(sends(&outs).is_empty(), "not at once: with the next batch");
    assert!(
        outs.contains(&Output::WakeAt(Millis(1_002))),
        "shown again, the snapshot is throttled: a second after the one written on hide"
    );
    t.handle(Millis(1_002), Input::Tick);
    let outs = drain(&mut t);
    assert_eq!(snapshot(&outs).unwrap(), beaconed);
    assert!(outs.contains(&Output::WakeAt(Millis(2_010))));
    t.handle(Millis(2_010), Input::Tick);
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    assert!(!s[0].2, "by fetch");
    assert_eq!(
        ids(&s[0].1),
        beaconed,
        "the same ids: the collector de-duplicates"
    );
    t.handle(
        Millis(2_020),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Http(200),
        },
    );
    assert_eq!(
        snapshot(&drain(&mut t)).unwrap(),
        Vec::<String>::new(),
        "confirmed: no longer stored"
    );

    // a denial forgets them too
    t.handle(Millis(3_000), click(&[1]));
    t.handle(Millis(3_001), Input::Hidden);
    let s = sends(&drain(&mut t));
    t.handle(
        Millis(3_001),
        Input::Sent {
            batch: s[0].0,
            status: SendStatus::Beacon(true),
        },
    );
    t.handle(Millis(3_002), Input::Consent(ConsentUpdate::all(false)));
    t.handle(Millis(3_003), Input::Shown);
    t.handle(Millis(9_000), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty());
}

#[test]
fn storage_consent_given_mid_page_stores_the_visit_and_continues_the_stored_one() {
    // page 1: a campaign landing; the banner is answered after the page view
    let mut a = tracker();
    a.handle(
        Millis(0),
        page("https://shop.test/?utm_source=news&utm_medium=email&utm_campaign=nov"),
    );
    assert!(
        visit(&drain(&mut a)).is_none(),
        "no storage before the choice"
    );
    a.handle(Millis(10), Input::Consent(ConsentUpdate::all(true)));
    let stored = visit(&drain(&mut a)).expect("written once storage is allowed");
    assert_eq!(stored["first"]["campaign"], "nov");

    // page 2 of the site: an internal page; the site tells goalpost the remembered choice
    // after this page's view
    let mut b = tracker_seeded(json!({}), &[2]);
    b.handle(
        Millis(60_000),
        Input::PageView(Page {
            url: "https://shop.test/contact".into(),
            title: "Contact".into(),
            referrer: "https://shop.test/".into(),
        }),
    );
    b.handle(Millis(60_010), Input::Consent(ConsentUpdate::all(true)));
    b.handle(
        Millis(60_010),
        Input::RestoreVisit(from_serde(stored.clone())),
    );
    drain(&mut b);
    b.handle(Millis(61_010), Input::Tick);
    let merged = visit(&drain(&mut b)).expect("the merged visit is stored again, within a second");
    assert_eq!(
        merged["session"], stored["session"],
        "the session continues"
    );
    assert_eq!(merged["first"]["campaign"], "nov");
    b.handle(Millis(60_020), click(&[0]));
    let sent = all_sent(&mut b);
    let conv = sent.iter().find(|e| e["type"] == "conversion").unwrap();
    assert_eq!(conv["session"], stored["session"]);
    assert_eq!(
        conv["first"]["campaign"], "nov",
        "the campaign that brought the visitor"
    );
    assert_eq!(
        conv["last"]["campaign"], "nov",
        "an internal page is no new touch"
    );

    // after the session timed out, only the first touch carries over
    let mut c = tracker_seeded(json!({}), &[3]);
    c.handle(Millis(60_000 + 31 * 60_000), page("https://shop.test/"));
    c.handle(
        Millis(60_000 + 31 * 60_000 + 1),
        Input::Consent(ConsentUpdate::all(true)),
    );
    c.handle(
        Millis(60_000 + 31 * 60_000 + 1),
        Input::RestoreVisit(from_serde(stored.clone())),
    );
    c.handle(Millis(60_000 + 31 * 60_000 + 1), Input::Hidden);
    let v = visit(&drain(&mut c)).unwrap();
    assert_eq!(v["pages"], 1, "a new session: only this page");
    assert_eq!(v["first"]["campaign"], "nov");
}

#[test]
fn a_goal_converting_again_and_again_does_not_grow_the_trackers_state() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    for i in 0..1_000 {
        t.handle(Millis(i), click(&[1])); // "cta": once every
        let _ = all_sent(&mut t);
    }
    assert_eq!(t.visit.visitor, vec![1]);
    assert_eq!(t.visit.session.converted, vec![1]);
    assert_eq!(t.page.as_ref().unwrap().converted, vec![1]);
}

#[test]
fn a_conversion_names_its_goal_by_index_as_the_goal_list_has_it() {
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[1]));
    t.handle(Millis(2), click(&[0]));
    let conv: Vec<(usize, String)> = drain(&mut t)
        .into_iter()
        .filter_map(|o| match o {
            Output::Converted(c) => Some((c.index, c.goal)),
            _ => None,
        })
        .collect();
    let goals = t.config.goals.goals();
    assert_eq!(conv.len(), 2);
    for (index, goal) in &conv {
        assert_eq!(
            &goals[*index].id, goal,
            "index {index} is the goal announced"
        );
    }
    // the selector hits are indexes into the click selectors, not goal order: `.cta` is hit 1
    assert_eq!(conv[0].1, "cta");
    assert_eq!(conv[1].1, "signup");
}

#[test]
fn a_restored_touch_is_redacted_before_it_is_sent() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    // a stored visit written by a page script, not by goalpost: an e-mail in a campaign
    let visit = json!({"v": 1, "session": "0123456789abcdef0123456789abcdef", "at": 0, "pages": 1,
        "campaign": "", "first": {"channel": "email", "campaign": "hi a@b.co"},
        "last": {"channel": "direct", "landing": "/"}});
    t.handle(Millis(0), Input::RestoreVisit(from_serde(visit)));
    t.handle(Millis(1), page("https://shop.test/"));
    then_tick(&mut t, Millis(2), click(&[0]));
    let outs = drain(&mut t);
    let conv = &sends(&outs)[0].1["events"][1];
    assert_eq!(conv["type"], "conversion");
    assert_eq!(conv["first"]["campaign"], "hi [email]");
    assert_eq!(conv["first"]["channel"], "email");
}

#[test]
fn a_batch_already_due_asks_for_no_new_timer_for_each_further_event() {
    let mut t = tracker_with(json!({"batch": {"maxEvents": 3}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[1]));
    t.handle(Millis(2), click(&[1]));
    assert!(drain(&mut t).contains(&Output::WakeAt(Millis(2))));
    // more events in later milliseconds, before the timer ran: the batch is due since t = 2
    for i in 3..=9 {
        t.handle(Millis(i), click(&[1]));
        let outs = drain(&mut t);
        assert!(
            !outs.iter().any(|o| matches!(o, Output::WakeAt(_))),
            "t = {i}: {outs:?}"
        );
    }
    t.handle(Millis(10), Input::Tick);
    let s = sends(&drain(&mut t));
    assert_eq!(s.len(), 1);
    assert_eq!(
        ids(&s[0].1).len(),
        10,
        "the page view and nine clicks, in one request"
    );
}

#[test]
fn snapshots_are_written_at_most_once_a_second_while_shown_and_at_once_when_hidden() {
    let mut t = tracker_with(json!({"consent": {"mode": "implied"}}));
    t.handle(Millis(0), page("https://shop.test/"));
    assert_eq!(
        snapshot(&drain(&mut t)).unwrap().len(),
        1,
        "the first at once"
    );
    // a burst of clicks: no write per click
    let mut writes = 0;
    for i in 1..=50 {
        t.handle(Millis(i), click(&[1]));
        writes += drain(&mut t)
            .iter()
            .filter(|o| matches!(o, Output::Persist(_)))
            .count();
    }
    assert_eq!(writes, 0, "within the second after the first write");
    // the timer the tracker asked for writes them together
    t.handle(Millis(1_000), Input::Tick);
    let outs = drain(&mut t);
    let stored = snapshot(&outs).unwrap();
    assert_eq!(
        stored.len(),
        51,
        "the page view and the 50 clicks, in one write"
    );
    // a click, then the page is hidden before the second is up: written at once
    t.handle(Millis(1_100), click(&[1]));
    assert!(snapshot(&drain(&mut t)).is_none());
    t.handle(Millis(1_200), Input::Hidden);
    let outs = drain(&mut t);
    let on_hide = snapshot(&outs).unwrap();
    assert_eq!(
        on_hide.len(),
        52,
        "everything unconfirmed, written as the page hides"
    );
    // nothing changed: no write, no timer for it
    t.handle(Millis(5_000), Input::Tick);
    assert!(snapshot(&drain(&mut t)).is_none());
}

#[test]
fn debug_mode_reports_page_views_and_funnel_steps_as_they_are_collected() {
    let funnel = json!([
        {"id": "signup", "kind": "macro", "on": "click", "once": "every", "match": {"selector": "#signup"}},
        {"id": "cta", "on": "click", "once": "every", "match": {"selector": ".cta"}},
        {"id": "f", "on": "funnel", "steps": ["cta", "signup"]}
    ]);
    let collected = |outs: &[Output]| -> Vec<(String, String, u32, u32)> {
        outs.iter()
            .filter_map(|o| match o {
                Output::Collected {
                    what,
                    name,
                    step,
                    steps,
                } => Some((what.to_string(), name.clone(), *step, *steps)),
                _ => None,
            })
            .collect()
    };
    let mut t = tracker_with(json!({"debug": true, "goals": funnel}));
    t.handle(
        Millis(0),
        page("https://shop.test/p?email=a@b.c&utm_source=x#top"),
    );
    t.handle(Millis(1), click(&[1]));
    t.handle(Millis(2), click(&[0]));
    let outs = drain(&mut t);
    assert_eq!(
        collected(&outs),
        [
            (
                "page_view".into(),
                "https://shop.test/p?utm_source=x".into(),
                0,
                0
            ),
            ("funnel_step".into(), "f".into(), 0, 2),
            ("funnel_step".into(), "f".into(), 1, 2),
        ]
    );
    // and the funnel's conversion is a conversion, not a note
    assert!(outs.iter().any(|o| is_converted(o, "f")));
    // without debug: no notes
    let mut quiet = tracker_with(json!({"goals": funnel}));
    quiet.handle(Millis(0), page("https://shop.test/p"));
    quiet.handle(Millis(1), click(&[1]));
    assert!(collected(&drain(&mut quiet)).is_empty());
    // refused by consent: collected nothing, so no note
    let mut denied = tracker_with(json!({"debug": true}));
    denied.handle(Millis(0), Input::Consent(ConsentUpdate::all(false)));
    denied.handle(Millis(1), page("https://shop.test/p"));
    assert!(collected(&drain(&mut denied)).is_empty());
}

#[test]
fn the_consent_state_as_the_preview_panel_reads_it() {
    // mode | analytics << 2 | ads << 4 | storage << 6 | collect << 8 | store << 10 | forward << 11
    let bits = |mode: u32, a: u32, ads: u32, st: u32, collect: u32, store: u32, fwd: u32| -> u32 {
        mode | a << 2 | ads << 4 | st << 6 | collect << 8 | store << 10 | fwd << 11
    };
    let mut t = tracker_with(json!({"consent": {"mode": "required"}}));
    assert_eq!(
        t.consent_bits(),
        bits(0, 0, 0, 0, 2, 0, 0),
        "required: held"
    );
    t.handle(
        Millis(0),
        Input::Consent(ConsentUpdate {
            analytics: Some(true),
            ads: Some(false),
            storage: Some(true),
        }),
    );
    assert_eq!(t.consent_bits(), bits(0, 1, 2, 1, 0, 1, 0));
    let implied = tracker_with(json!({"consent": {"mode": "implied"}}));
    assert_eq!(implied.consent_bits(), bits(2, 0, 0, 0, 0, 1, 1));
    assert_eq!(
        tracker().consent_bits(),
        bits(1, 0, 0, 0, 1, 0, 0),
        "anonymous"
    );
    let mut dropping =
        tracker_with(json!({"consent": {"mode": "required", "beforeGrant": "drop"}}));
    assert_eq!(dropping.consent_bits() >> 8 & 3, 3, "refuse");
    dropping.handle(Millis(0), Input::Consent(ConsentUpdate::all(false)));
    assert_eq!(dropping.consent_bits(), bits(0, 2, 2, 2, 3, 0, 0));
}

#[test]
fn a_send_whose_answer_never_comes_is_retried_after_the_timeout_and_counted_once() {
    // the host never reports the first send (a browser that lost the fetch's answer)
    let mut t = tracker_with(json!({"retry": {"timeoutMs": 10000}}));
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0])); // macro: sent at once
    then_tick(&mut t, Millis(1), Input::Tick);
    let outs = drain(&mut t);
    let first = sends(&outs);
    assert_eq!(first.len(), 1);
    let (lost, body, _) = first[0].clone();
    // the answer is awaited until the timeout and LOST_AFTER more, not a moment less
    assert!(
        outs.contains(&Output::WakeAt(Millis(1 + 10_000 + 5_000))),
        "{outs:?}"
    );
    t.handle(Millis(15_000), Input::Tick);
    assert!(sends(&drain(&mut t)).is_empty(), "not before the deadline");
    t.handle(Millis(15_001), Input::Tick);
    let outs = drain(&mut t);
    assert!(
        sends(&outs).is_empty(),
        "a retry waits its backoff: {outs:?}"
    );
    let retry = wake_at(&outs).unwrap_or_else(|| panic!("a retry is scheduled: {outs:?}"));
    t.handle(retry, Input::Tick);
    let again = sends(&drain(&mut t));
    assert_eq!(again.len(), 1, "the batch is sent again");
    // the same events (the collector de-duplicates them by id): nothing counted twice
    assert_eq!(ids(&again[0].1), ids(&body));
    assert_ne!(again[0].0, lost);
    // the lost answer arriving late changes nothing (no third send); the retry's answer
    // settles it: nothing left to send
    t.handle(retry.plus(Millis(10)), answered(lost, 200));
    assert!(sends(&drain(&mut t)).is_empty());
    t.handle(retry.plus(Millis(20)), answered(again[0].0, 200));
    assert_eq!(t.queued(), 0);
    t.handle(retry.plus(Millis(30_000)), Input::Tick);
    assert!(
        sends(&drain(&mut t)).is_empty(),
        "and no deadline left to fire"
    );
}

#[test]
fn a_timer_that_fires_a_moment_early_is_asked_for_again() {
    // Firefox fires a timer a little before its coarsened `Date.now()` reaches the time asked
    // for: nothing is due at that tick, and the wake-up must be asked for again, or the retry
    // (or the batch) waits for whatever input comes next
    let mut t = tracker();
    t.handle(Millis(0), page("https://shop.test/"));
    t.handle(Millis(1), click(&[0])); // macro: sent at once
    let first = sends(&drain(&mut t));
    assert_eq!(first.len(), 1);
    t.handle(Millis(5), answered(first[0].0, 500));
    let retry = wake_at(&drain(&mut t)).expect("a retry is asked for");
    t.handle(Millis(retry.0 - 1), Input::Tick);
    let outs = drain(&mut t);
    assert!(sends(&outs).is_empty(), "not due yet");
    assert_eq!(wake_at(&outs), Some(retry), "asked for again");
    t.handle(retry, Input::Tick);
    let again = sends(&drain(&mut t));
    assert_eq!(again.len(), 1, "the retry goes");
    assert_eq!(ids(&again[0].1), ids(&first[0].1));
    // the same for a batch's delay: an early tick, then the batch
    let mut b = tracker();
    b.handle(Millis(10_000), page("https://shop.test/"));
    let due = wake_at(&drain(&mut b)).expect("the batch delay");
    b.handle(Millis(due.0 - 1), Input::Tick);
    assert_eq!(wake_at(&drain(&mut b)), Some(due));
    b.handle(due, Input::Tick);
    assert_eq!(sends(&drain(&mut b)).len(), 1);
}
