//! Matcher invariants over generated inputs (proptest).
#![allow(clippy::unwrap_used)]

mod common;

use common::{config, Driver};
use goalpost_core::{Candidate, Condition, Field, NoPatterns, Op, PageFields};
use proptest::prelude::*;
use serde_json::json;

fn op() -> impl Strategy<Value = Op> {
    let s = "[a-zA-Z0-9/ ._-]{0,6}";
    prop_oneof![
        s.prop_map(Op::Equals),
        s.prop_map(Op::Contains),
        s.prop_map(Op::StartsWith),
        s.prop_map(Op::EndsWith),
        prop::collection::vec(s, 0..4).prop_map(Op::In),
        any::<bool>().prop_map(Op::Exists),
        (-100.0f64..100.0).prop_map(Op::Gt),
        (-100.0f64..100.0).prop_map(Op::Gte),
        (-100.0f64..100.0).prop_map(Op::Lt),
        (-100.0f64..100.0).prop_map(Op::Lte),
        (-100.0f64..100.0).prop_map(Op::EqualsNumber),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Path),
        Just(Field::Hash),
        Just(Field::Referrer),
        Just(Field::Title),
        Just(Field::Query("q".into())),
        Just(Field::Query("n".into())),
        Just(Field::PagesInSession),
    ]
}

fn page() -> impl Strategy<Value = PageFields> {
    (
        "[a-z0-9/._-]{0,10}",
        "[a-zA-Z0-9]{0,4}",
        prop::option::of("[a-zA-Z ]{0,6}"),
        prop::option::of(-50i32..50),
        "[A-Za-z ]{0,8}",
    )
        .prop_map(|(path, hash, q, n, title)| {
            let mut url = format!("https://s.test/{path}?");
            if let Some(q) = q {
                url.push_str(&format!("q={}&", q.replace(' ', "+")));
            }
            if let Some(n) = n {
                url.push_str(&format!("n={n}"));
            }
            if !hash.is_empty() {
                url.push('#');
                url.push_str(&hash);
            }
            PageFields::new(&url, &title, "")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// `not: true` is exactly the complement, whatever the field, operator and page.
    #[test]
    fn a_negated_condition_is_the_complement(f in field(), o in op(), p in page(), pages in 0u32..5, ci in any::<bool>()) {
        let c = Candidate { page: &p, interaction: None, pages_in_session: pages };
        let plain = Condition { field: f.clone(), op: o.clone(), negate: false, case_insensitive: ci };
        let negated = Condition { field: f, op: o, negate: true, case_insensitive: ci };
        prop_assert_ne!(plain.eval(&c, &NoPatterns), negated.eval(&c, &NoPatterns));
    }

    /// Case-insensitive equals is symmetric: a page whose path is `a` matches a goal for `b`
    /// exactly when a page whose path is `b` matches a goal for `a`.
    #[test]
    fn case_insensitive_equals_is_symmetric(a in "[a-zA-ZäÄöÖ]{1,6}", b in "[a-zA-ZäÄöÖ]{1,6}") {
        let matches = |path: &str, want: &str| {
            let goal = json!([{"id": "g", "on": "pageview", "match": {"path": {"equals": format!("/{want}"), "caseInsensitive": true}}}]);
            let mut d = Driver::new(config(goal, json!({})));
            d.page(&format!("https://s.test/{path}"));
            !d.converted.is_empty()
        };
        prop_assert_eq!(matches(&a, &b), matches(&b, &a));
        prop_assert!(matches(&a, &a.to_uppercase()));
    }

    /// `in` is the OR of `equals` over its items.
    #[test]
    fn in_is_any_equals(p in page(), items in prop::collection::vec("[a-z0-9/._-]{0,6}", 0..5)) {
        let c = Candidate { page: &p, interaction: None, pages_in_session: 1 };
        let any_eq = items.iter().any(|i| Condition { field: Field::Path, op: Op::Equals(i.clone()), negate: false, case_insensitive: false }.eval(&c, &NoPatterns));
        let in_ = Condition { field: Field::Path, op: Op::In(items), negate: false, case_insensitive: false }.eval(&c, &NoPatterns);
        prop_assert_eq!(any_eq, in_);
    }

    /// Numeric ranges partition: for any threshold exactly one of lt / gte holds when the
    /// value exists.
    #[test]
    fn lt_and_gte_partition_numbers(n in -50i32..50, t in -60.0f64..60.0) {
        let p = PageFields::new(&format!("https://s.test/?n={n}"), "", "");
        let c = Candidate { page: &p, interaction: None, pages_in_session: 1 };
        let f = Field::Query("n".into());
        let lt = Condition { field: f.clone(), op: Op::Lt(t), negate: false, case_insensitive: false }.eval(&c, &NoPatterns);
        let gte = Condition { field: f, op: Op::Gte(t), negate: false, case_insensitive: false }.eval(&c, &NoPatterns);
        prop_assert!(lt != gte);
    }
}
