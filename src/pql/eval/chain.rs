//! `chain(xEvent, timestamp, [A: WHAT(p) WHEN(spec) COUNT(n) WHERE(q), ...])` (D4.5, D6.12).
//!
//! True iff events can be assigned to the steps in order, with non-decreasing timestamps (ties
//! broken by event order), each step matched by its own event(s): the event satisfies `WHAT` and
//! `WHERE` (the event is the implicit context, `^` reaches the profile), its timestamp satisfies
//! `WHEN`, and `COUNT(n)` needs n such events, the step ending at the n-th. Events whose timestamp
//! cannot be read are skipped.
//!
//! Matching greedily — each step takes the earliest events that complete it — is optimal here,
//! because a step's predicates look at one event only: finishing a step earlier never leaves
//! fewer events for the steps after it. So one pass over the sorted events decides the chain.
//! A single step does not depend on order at all, and sorting is skipped when the events are
//! already chronological (the usual case).

use std::sync::Arc;

use super::dates::{Spec, window};
use super::{Frame, Node, Val, for_each_item, test};
use crate::pql::context::EvalContext;
use crate::pql::time;

#[derive(Debug)]
pub(crate) struct StepNode {
    pub(crate) what: Node,
    pub(crate) when: Option<Spec>,
    pub(crate) count: u64,
    pub(crate) where_: Option<Node>,
}

#[derive(Debug)]
pub(crate) struct ChainNode {
    pub(crate) events: Node,
    /// The ordering timestamp's path within an event (`timestamp`, or dotted: `meta.ts`).
    pub(crate) ts_path: Box<[Arc<str>]>,
    /// The slot holding the current event.
    pub(crate) slot: u32,
    pub(crate) steps: Box<[StepNode]>,
}

fn step_matches<'a>(step: &'a StepNode, ts: i64, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    if !test(&step.what, cx, fr) {
        return false;
    }
    if let Some(spec) = &step.when {
        match window(spec, cx, fr) {
            Some(w) if w.contains(ts) => {}
            _ => return false,
        }
    }
    step.where_.as_ref().is_none_or(|w| test(w, cx, fr))
}

pub(crate) fn test_chain<'a>(c: &'a ChainNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let mut events: Vec<(i64, Val<'a>)> = Vec::new();
    for_each_item(&c.events, cx, fr, &mut |item, _| {
        let stamp = c.ts_path.iter().fold(&*item, |v, step| v.field(step));
        if let Some(ts) = time::instant_of(stamp) {
            events.push((ts, item));
        }
        true
    });
    if c.steps.len() > 1 && !events.is_sorted_by_key(|e| e.0) {
        // Stable: equal timestamps keep event order.
        events.sort_by_key(|e| e.0);
    }
    let mut pos = 0;
    for step in c.steps.iter() {
        let mut needed = step.count;
        while needed > 0 {
            let Some((ts, ev)) = events.get(pos) else {
                return false;
            };
            pos += 1;
            fr.set(c.slot, ev.clone());
            if step_matches(step, *ts, cx, fr) {
                needed -= 1;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, profile_with_events};
    use serde_json::json;

    // now = 2024-06-20T12:00:00Z
    fn d() -> crate::pql::eval::testing::Data {
        profile_with_events(
            json!({"homeAddress": {"countryCode": "US"}, "workAddress": {"country": "us"},
                   "person": {"gender": "male"}}),
            json!([
                {"eventType": "commerce.checkouts", "timestamp": "2024-06-20T10:00:00Z"},
                {"eventType": "directMarketing.emailClicked", "timestamp": "2024-06-20T08:00:00Z"},
                {"eventType": "homePageView", "timestamp": "2024-06-20T01:00:00Z"},
                {"eventType": "homePageView", "timestamp": "2024-06-19T13:00:00Z"},
                {"eventType": "homePageView", "timestamp": "2024-06-20T02:00:00Z"},
                {"eventType": "addToCart", "timestamp": "2024-06-10T02:00:00Z",
                 "productListItems": [{"name": "iPhone 15 Pro"}]},
                {"eventType": "homePageView", "timestamp": "not a time"},
                {"eventType": "homePageView", "timestamp": 1718848800000i64},
                {"eventType": "checkoutPageView", "timestamp": "2024-06-20T11:00:00Z",
                 "externalSegmentMapProperty": {"x": {"stringProperty": "active"}}}
            ]),
        )
    }

    #[test]
    fn single_steps() {
        let d = d();
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"addToCart\")])",
            true,
        );
        check(
            &d,
            "CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals(\"COMMERCE.checkouts\", false)) WHEN(today)])",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [X: WHAT(eventType = \"addToCart\") WHEN(< 8 days before now)])",
            false,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [X: WHAT(eventType = \"addToCart\") WHEN(< 11 days before now)])",
            true,
        );
        check(
            &d,
            "not(chain(xEvent, timestamp, [A: WHAT(eventType = \"purchase\")]))",
            true,
        );
        check(
            &d,
            "workAddress.country.equals(\"US\", false) and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals(\"commerce.checkouts\", false)) WHEN(<= 24 hours before now)])",
            true,
        );
        check(
            &d,
            "person.gender in [\"male\"] and CHAIN(xEvent, timestamp, [C0: WHAT(productListItems.exists(name.equals(\"iphone 15 pro\", false)))])",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"checkoutPageView\") WHERE(externalSegmentMapProperty.values().exists(stringProperty=\"active\"))])",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"addToCart\") WHERE(^.person.gender = \"female\")])",
            false,
        );
    }

    #[test]
    fn counts() {
        let d = d();
        // Readable homePageViews in the last 24 h: 01:00, 13:00 (yesterday), 02:00 and 02:00 (millis).
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"homePageView\") WHEN(< 24 hours before now) COUNT(4) ] )",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"homePageView\") WHEN(< 24 hours before now) COUNT(5) ] )",
            false,
        );
        check(
            &d,
            "not(chain(xEvent, timestamp, [A: WHAT(eventType = \"homePageView\") WHEN(< 24 hours before now) COUNT(5) ] ))",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"homePageView\") WHEN(today) COUNT(3)])",
            true,
        );
    }

    #[test]
    fn sequences_are_ordered_by_timestamp() {
        let d = d();
        check(
            &d,
            "CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals(\"directMarketing.emailClicked\", false)) WHEN(today), C1: WHAT(eventType.equals(\"commerce.checkouts\", false)) WHEN(today)])",
            true,
        );
        check(
            &d,
            "CHAIN(xEvent, timestamp, [C0: WHAT(eventType = \"commerce.checkouts\"), C1: WHAT(eventType = \"directMarketing.emailClicked\")])",
            false,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"addToCart\"), B: WHAT(eventType = \"homePageView\") COUNT(4), C: WHAT(eventType = \"checkoutPageView\")])",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"homePageView\") COUNT(2), B: WHAT(eventType = \"directMarketing.emailClicked\"), C: WHAT(eventType = \"homePageView\")])",
            false,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [X: WHAT(eventType = \"homePageView\") WHEN(< 24 hours before now)]) and chain(xEvent, timestamp, [X: WHAT(eventType = \"checkoutPageView\") WHEN(< 24 hours before now)])",
            true,
        );
    }

    #[test]
    fn equal_timestamps_keep_event_order() {
        let d = profile_with_events(
            json!({}),
            json!([
                {"eventType": "a", "timestamp": "2024-06-01T00:00:00Z"},
                {"eventType": "b", "timestamp": "2024-06-01T00:00:00Z"}
            ]),
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"a\"), B: WHAT(eventType = \"b\")])",
            true,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"b\"), B: WHAT(eventType = \"a\")])",
            false,
        );
        check(
            &d,
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"a\"), B: WHAT(eventType = \"a\")])",
            false,
        );
    }
}
