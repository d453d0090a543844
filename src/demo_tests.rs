//! The demo data makes sense: identities are unique, events stitch to their person, and every
//! demo definition picks some people but not everyone (checked with the PQL engine directly over
//! the generated people, at the load instant).

use std::collections::{HashMap, HashSet};

use super::*;
use crate::pql::MembershipStatus;
use crate::pql::context::{EvalContext, ProfileRecord};

const NOW: i64 = 1_780_000_000_000;

fn options() -> DemoOptions {
    DemoOptions {
        profiles: DEMO_PROFILES,
        now_ms: NOW,
    }
}

fn people() -> Vec<DemoPerson> {
    let generator = options().generator();
    (0..DEMO_PROFILES).map(|i| person(&generator, i)).collect()
}

#[test]
fn identities_are_unique_and_events_carry_the_persons_ecid() {
    let mut emails = HashSet::new();
    let mut ecids = HashSet::new();
    let mut events = 0;
    for p in people() {
        let email = p.profile["identityMap"]["Email"][0]["id"]
            .as_str()
            .expect("email");
        assert_eq!(p.profile["personalEmail"]["address"], email);
        assert!(emails.insert(email.to_owned()), "repeated {email}");
        let ecid = &p.profile["identityMap"]["ECID"];
        assert!(ecids.insert(ecid.to_string()), "repeated ECID {ecid}");
        for e in &p.events {
            assert_eq!(&e["identityMap"]["ECID"], ecid);
            let ts = e["timestamp"].as_str().expect("timestamp");
            let ms = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
            assert!(
                ms.timestamp_millis() <= NOW,
                "{ts} is after the load instant"
            );
        }
        events += p.events.len();
    }
    assert!(events > 5_000, "only {events} events");
    assert_eq!(
        example_email(0),
        people()[0].profile["personalEmail"]["address"]
    );
}

#[test]
fn every_definition_picks_some_people_but_not_everyone() {
    let records: Vec<ProfileRecord> = people()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let json = json!({"id": i.to_string(), "profile": p.profile, "events": p.events});
            ProfileRecord::from_json(&json).expect("record")
        })
        .collect();
    let mut ids = HashMap::new();
    let mut members: HashMap<&str, HashSet<usize>> = HashMap::new();
    for demo in DEFINITIONS {
        let id = format!("seg-{}", ids.len());
        let input = definition_input(demo, &ids).expect("input");
        let program = crate::pql::compile_text(&input.expression.value)
            .unwrap_or_else(|e| panic!("{}: {}", demo.name, e.describe(&input.expression.value)));
        let matched: HashSet<usize> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                let memberships: HashMap<String, MembershipStatus> = members
                    .iter()
                    .filter(|(_, set)| set.contains(i))
                    .map(|(name, _)| (ids[*name].clone(), MembershipStatus::Realized))
                    .collect();
                program.matches(&EvalContext {
                    profile: &r.profile,
                    events: &r.events,
                    memberships: &memberships,
                    now: NOW,
                })
            })
            .map(|(i, _)| i)
            .collect();
        let share = matched.len() as f64 / records.len() as f64;
        assert!(
            (0.005..0.9).contains(&share),
            "{} matches {} of {}",
            demo.name,
            matched.len(),
            records.len()
        );
        ids.insert(demo.name.to_owned(), id);
        members.insert(demo.name, matched);
    }
}

#[test]
fn references_are_replaced_and_must_come_first() {
    let nested = DEFINITIONS
        .iter()
        .find(|d| d.refers_to.is_some())
        .expect("an inSegment definition");
    assert!(definition_input(nested, &HashMap::new()).is_err());
    let ids = HashMap::from([(
        nested.refers_to.unwrap_or_default().to_owned(),
        "abc".into(),
    )]);
    let input = definition_input(nested, &ids).expect("input");
    assert!(input.expression.value.contains(r#"inSegment("abc")"#));
    let names: HashSet<_> = DEFINITIONS.iter().map(|d| d.name).collect();
    assert_eq!(names.len(), DEFINITIONS.len());
    assert!((5..=8).contains(&DEFINITIONS.len()));
}
