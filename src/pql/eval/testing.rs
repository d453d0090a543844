//! Test helpers shared by the function-group tests: profiles from JSON, a fixed evaluation
//! instant (2024-06-20T12:00:00Z, a Thursday) and fixed memberships.

use std::collections::HashMap;

use crate::pql::compiler::Program;
use crate::pql::context::{EvalContext, MembershipStatus};
use crate::pql::error::PqlError;
use crate::pql::value::Value;

/// 2024-06-20T12:00:00Z
pub(crate) const NOW: i64 = 1_718_884_800_000;

pub(crate) struct Data {
    pub(crate) profile: Value,
    pub(crate) events: Value,
    pub(crate) event_json: Vec<serde_json::Value>,
    pub(crate) memberships: HashMap<String, MembershipStatus>,
    pub(crate) now: i64,
}

impl Data {
    pub(crate) fn ctx(&self) -> EvalContext<'_> {
        EvalContext {
            profile: &self.profile,
            events: &self.events,
            memberships: &self.memberships,
            now: self.now,
        }
    }
}

/// A profile without events. Its memberships: `seg-member` realized, `seg-existing` existing,
/// `seg-exited` exited.
pub(crate) fn data(profile: serde_json::Value) -> Data {
    profile_with_events(profile, serde_json::json!([]))
}

pub(crate) fn profile_with_events(profile: serde_json::Value, events: serde_json::Value) -> Data {
    let memberships = HashMap::from([
        ("seg-member".to_string(), MembershipStatus::Realized),
        ("seg-existing".to_string(), MembershipStatus::Existing),
        ("seg-exited".to_string(), MembershipStatus::Exited),
    ]);
    Data {
        profile: Value::from_json(&profile),
        events: Value::from_json(&events),
        event_json: events.as_array().cloned().unwrap_or_default(),
        memberships,
        now: NOW,
    }
}

pub(crate) fn compile_src(src: &str) -> Program {
    match crate::pql::compile_text(src) {
        Ok(p) => p,
        Err(e) => panic!("{src}\n{}", e.render(src)),
    }
}

pub(crate) fn compile_err(src: &str) -> PqlError {
    match crate::pql::compile_text(src) {
        Ok(_) => panic!("expected a compile error for {src}"),
        Err(e) => e,
    }
}

pub(crate) fn eval_json(d: &Data, src: &str) -> serde_json::Value {
    compile_src(src).evaluate(&d.ctx()).to_json()
}

/// Asserts the boolean value of `src` (D2.3), and that `evaluate` agrees with `matches`.
#[track_caller]
pub(crate) fn check(d: &Data, src: &str, expected: bool) {
    let prog = compile_src(src);
    let got = prog.matches(&d.ctx());
    assert_eq!(got, expected, "{src}");
    assert_eq!(
        prog.evaluate(&d.ctx()).truthy(),
        got,
        "evaluate vs matches: {src}"
    );
}

#[track_caller]
pub(crate) fn check_value(d: &Data, src: &str, expected: serde_json::Value) {
    assert_eq!(eval_json(d, src), expected, "{src}");
}

impl Data {
    /// The events as JSON, for building expected values.
    pub(crate) fn events_json(&self) -> &[serde_json::Value] {
        &self.event_json
    }
}
