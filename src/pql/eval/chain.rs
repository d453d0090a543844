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
//! already chronological (the usual case). Timestamps are read only for events that some step's
//! `WHAT`/`WHERE` accepts: reading them is the costly part of a chain over many events.

use super::dates::{Spec, window};
use super::path::Step;
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
    pub(crate) ts_path: Box<[Step]>,
    /// The slot holding the current event.
    pub(crate) slot: u32,
    pub(crate) steps: Box<[StepNode]>,
}

/// Whether the event in the chain's slot satisfies the step's `WHAT` and `WHERE` — the parts
/// that do not depend on the timestamp.
fn step_accepts<'a>(step: &'a StepNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    test(&step.what, cx, fr) && step.where_.as_ref().is_none_or(|w| test(w, cx, fr))
}

/// Whether `ts` satisfies the step's `WHEN` (its window may depend on the event in the slot).
fn step_when<'a>(step: &'a StepNode, ts: i64, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    step.when
        .as_ref()
        .is_none_or(|spec| window(spec, cx, fr).is_some_and(|w| w.contains(ts)))
}

/// The timestamp of an event, `None` when it cannot be read (such events are skipped).
fn timestamp(c: &ChainNode, item: &Val) -> Option<i64> {
    time::instant_of(c.ts_path.iter().fold(&**item, |v, step| step.field(v)))
}

pub(crate) fn test_chain<'a>(c: &'a ChainNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    match &*c.steps {
        [step] => one_step(c, step, cx, fr),
        steps if steps.len() <= 64 => sequence(c, cx, fr),
        _ => sequence_unfiltered(c, cx, fr),
    }
}

/// A single step: order does not matter, so the events are streamed, each tested on `WHAT`
/// before its timestamp is read, stopping at the `COUNT`-th match.
fn one_step<'a>(
    c: &'a ChainNode,
    step: &'a StepNode,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> bool {
    let mut needed = step.count;
    if needed == 0 {
        return true;
    }
    !for_each_item(&c.events, cx, fr, &mut |item, fr| {
        fr.set(c.slot, item.clone());
        if !step_accepts(step, cx, fr) {
            return true;
        }
        if timestamp(c, &item).is_some_and(|ts| step_when(step, ts, cx, fr)) {
            needed -= 1;
        }
        needed > 0
    })
}

/// Several steps: the events that some step accepts (with the set of steps accepting them as a
/// bit mask, so no predicate runs twice) are put in timestamp order and matched greedily. Events
/// no step accepts can never be assigned, so their timestamps are not even read.
fn sequence<'a>(c: &'a ChainNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let mut events: Vec<(i64, u64, Val<'a>)> = Vec::new();
    for_each_item(&c.events, cx, fr, &mut |item, fr| {
        fr.set(c.slot, item.clone());
        let mut mask = 0u64;
        for (i, step) in c.steps.iter().enumerate() {
            if step_accepts(step, cx, fr) {
                mask |= 1 << i;
            }
        }
        if mask != 0
            && let Some(ts) = timestamp(c, &item)
        {
            events.push((ts, mask, item));
        }
        true
    });
    if !events.is_sorted_by_key(|e| e.0) {
        // Stable: equal timestamps keep event order.
        events.sort_by_key(|e| e.0);
    }
    let mut pos = 0;
    for (i, step) in c.steps.iter().enumerate() {
        let mut needed = step.count;
        while needed > 0 {
            let Some((ts, mask, ev)) = events.get(pos) else {
                return false;
            };
            pos += 1;
            if mask & (1 << i) != 0 && {
                fr.set(c.slot, ev.clone());
                step_when(step, *ts, cx, fr)
            } {
                needed -= 1;
            }
        }
    }
    true
}

/// More steps than a mask holds: every readable event, in timestamp order, tested step by step.
fn sequence_unfiltered<'a>(c: &'a ChainNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let mut events: Vec<(i64, Val<'a>)> = Vec::new();
    for_each_item(&c.events, cx, fr, &mut |item, _| {
        if let Some(ts) = timestamp(c, &item) {
            events.push((ts, item));
        }
        true
    });
    if !events.is_sorted_by_key(|e| e.0) {
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
            if step_accepts(step, cx, fr) && step_when(step, *ts, cx, fr) {
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

    #[test]
    fn more_steps_than_a_mask_holds() {
        let events: Vec<_> = (0..70)
            .map(|i| json!({"eventType": if i % 2 == 0 { "a" } else { "b" }, "timestamp": 1_000 + i}))
            .collect();
        let d = profile_with_events(json!({}), json!(events));
        let steps = |n: usize| {
            (0..n)
                .map(|i| {
                    format!(
                        "S{i}: WHAT(eventType = \"{}\")",
                        if i % 2 == 0 { "a" } else { "b" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        check(
            &d,
            &format!("chain(xEvent, timestamp, [{}])", steps(65)),
            true,
        );
        check(
            &d,
            &format!("chain(xEvent, timestamp, [{}])", steps(70)),
            true,
        );
        check(
            &d,
            &format!("chain(xEvent, timestamp, [{}])", steps(71)),
            false,
        );
        check(
            &d,
            &format!(
                "chain(xEvent, timestamp, [{}, X: WHAT(eventType = \"a\")])",
                steps(70)
            ),
            false,
        );
    }
}
