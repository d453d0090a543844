use serde_json::json;

use super::*;

const NOW: i64 = 1_700_000_000_000;

fn field_of(e: Error) -> String {
    e.field_violations()
        .first()
        .map(|v| v.field.clone())
        .unwrap_or_default()
}

#[test]
fn a_profile_record_splits_into_identities_and_fields() {
    let r = parse_profile_record(
        r#"{"identityMap":{"Email":[{"id":"a@b.com","primary":true}],"ECID":[{"id":"1"},{"id":"1"}]},
            "person":{"name":{"firstName":"Ann"}},"_repo":{"modifyDate":"2024-01-02T03:04:05Z"}}"#,
        NOW,
    )
    .unwrap();
    let ids: Vec<_> = r.identities.iter().map(|e| e.identity.clone()).collect();
    assert_eq!(
        ids,
        vec![
            Identity::new("Email", "a@b.com"),
            Identity::new("ECID", "1")
        ]
    );
    assert!(r.fields.contains_key("person") && !r.fields.contains_key(IDENTITY_MAP));
    assert_eq!(r.record_time_ms, 1_704_164_645_000);
    let plain = parse_profile_record(r#"{"identityMap":{"E":[{"id":"x"}]}}"#, NOW).unwrap();
    assert_eq!(plain.record_time_ms, NOW);
}

#[test]
fn profile_records_are_refused_field_by_field() {
    let cases = [
        ("[1,2]", "record"),
        ("{not json", "record"),
        (r#"{"person":{}}"#, "identityMap"),
        (r#"{"identityMap":{}}"#, "identityMap"),
        (r#"{"identityMap":[]}"#, "identityMap"),
        (
            r#"{"identityMap":{"Email":{"id":"a"}}}"#,
            "identityMap.Email",
        ),
        (
            r#"{"identityMap":{"Email":[{"id":""}]}}"#,
            "identityMap.Email[0].id",
        ),
        (
            r#"{"identityMap":{"Email":[{"id":"a"},{"nope":1}]}}"#,
            "identityMap.Email[1].id",
        ),
        (r#"{"identityMap":{" ":[{"id":"a"}]}}"#, "identityMap. "),
        (
            r#"{"identityMap":{"E":[{"id":"a"}]},"segmentMembership":{"ups":{}}}"#,
            "segmentMembership",
        ),
        (
            r#"{"identityMap":{"E":[{"id":"a"}]},"_repo":{"modifyDate":"yesterday"}}"#,
            "_repo.modifyDate",
        ),
    ];
    for (text, field) in cases {
        let err = parse_profile_record(text, NOW).unwrap_err();
        assert_eq!(field_of(err), field, "{text}");
    }
}

#[test]
fn identity_and_size_limits() {
    let many: Vec<_> = (0..=MAX_IDENTITIES)
        .map(|i| json!({"id": i.to_string()}))
        .collect();
    let text = json!({"identityMap": {"ECID": many}}).to_string();
    let err = parse_profile_record(&text, NOW).unwrap_err();
    assert!(err.to_string().contains("51 identities"), "{err}");

    let big = json!({"identityMap": {"E": [{"id": "a"}]}, "blob": "x".repeat(MAX_PROFILE_BYTES)});
    assert_eq!(
        field_of(parse_profile_record(&big.to_string(), NOW).unwrap_err()),
        "record"
    );

    let deep = format!(
        r#"{{"identityMap":{{"E":[{{"id":"a"}}]}},"x":{}1{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let err = parse_profile_record(&deep, NOW).unwrap_err();
    assert!(err.to_string().contains("nests deeper"), "{err}");
    // Brackets inside strings do not count.
    let quoted = json!({"identityMap": {"E": [{"id": "a"}]}, "s": "[[[[".repeat(100)});
    assert!(parse_profile_record(&quoted.to_string(), NOW).is_ok());
}

#[test]
fn events_need_id_and_timestamp() {
    let ok = parse_event_record(
        r#"{"_id":"e1","timestamp":"2024-05-01T10:00:00+02:00","eventType":"commerce.purchases",
            "identityMap":{"ECID":[{"id":"1"}]},"commerce":{"order":{"priceTotal":10}}}"#,
    )
    .unwrap();
    assert_eq!(ok.event_id, "e1");
    assert_eq!(ok.timestamp_ms, 1_714_550_400_000);
    assert_eq!(ok.event_type.as_deref(), Some("commerce.purchases"));
    assert!(ok.document.contains_key("commerce"));

    let idm = r#""identityMap":{"ECID":[{"id":"1"}]}"#;
    let cases = [
        (
            format!(r#"{{"timestamp":"2024-05-01T10:00:00Z",{idm}}}"#),
            "_id",
        ),
        (
            format!(r#"{{"_id":"","timestamp":"2024-05-01T10:00:00Z",{idm}}}"#),
            "_id",
        ),
        (format!(r#"{{"_id":"e",{idm}}}"#), "timestamp"),
        (
            format!(r#"{{"_id":"e","timestamp":"May 1st",{idm}}}"#),
            "timestamp",
        ),
        (
            format!(r#"{{"_id":"e","timestamp":12,{idm}}}"#),
            "timestamp",
        ),
        (
            format!(r#"{{"_id":"e","timestamp":"2024-05-01T10:00:00Z","eventType":3,{idm}}}"#),
            "eventType",
        ),
        (
            r#"{"_id":"e","timestamp":"2024-05-01T10:00:00Z"}"#.to_owned(),
            "identityMap",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(
            field_of(parse_event_record(&text).unwrap_err()),
            field,
            "{text}"
        );
    }
    let big = json!({"_id": "e", "timestamp": "2024-05-01T10:00:00Z",
                     "identityMap": {"E": [{"id": "a"}]}, "blob": "x".repeat(MAX_EVENT_BYTES)});
    assert_eq!(
        field_of(parse_event_record(&big.to_string()).unwrap_err()),
        "record"
    );
}

fn fields(v: serde_json::Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn newer_wins_per_top_level_field() {
    let mut p = ProfileState::new("p".into(), NOW);
    p.apply_fields(&fields(json!({"person": {"name": "New", "age": 40}})), 200);
    p.apply_fields(
        &fields(json!({"person": {"name": "Old"}, "loyalty": {"tier": "gold"}})),
        100,
    );
    assert_eq!(p.fields["person"], json!({"name": "New", "age": 40}));
    assert_eq!(p.fields["loyalty"], json!({"tier": "gold"}));
    assert_eq!(p.field_times["loyalty"], 100);
    // Equal times: the later write wins.
    p.apply_fields(&fields(json!({"person": {"name": "Same time"}})), 200);
    assert_eq!(p.fields["person"], json!({"name": "Same time"}));
}

#[test]
fn absorbing_a_profile_merges_fields_and_identities() {
    let entry = |ns: &str, id: &str| IdentityEntry {
        identity: Identity::new(ns, id),
        entry: json!({"id": id}),
    };
    let mut a = ProfileState::new("a".into(), 10);
    a.apply_fields(&fields(json!({"person": "a-old", "x": 1})), 100);
    a.add_identities(&[entry("Email", "a@x")]);
    let mut b = ProfileState::new("b".into(), 5);
    b.apply_fields(&fields(json!({"person": "b-new", "y": 2})), 300);
    b.add_identities(&[entry("Email", "a@x"), entry("ECID", "9")]);
    a.absorb(b);
    assert_eq!(a.fields["person"], json!("b-new"));
    assert_eq!(
        (a.fields["x"].clone(), a.fields["y"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(a.creation_time_ms, 5);
    let mut ids = a.identities();
    ids.sort();
    assert_eq!(
        ids,
        vec![Identity::new("ECID", "9"), Identity::new("Email", "a@x")]
    );
    let doc = a.to_document();
    assert_eq!(doc[IDENTITY_MAP]["Email"].as_array().map(Vec::len), Some(1));

    let round = ProfileState::from_stored(
        "a".into(),
        doc,
        a.field_times.clone(),
        a.creation_time_ms,
        a.update_time_ms,
    );
    assert_eq!(round, a);
}

#[test]
fn identity_count_is_capped_after_merges() {
    let mut p = ProfileState::new("p".into(), 0);
    let entries: Vec<_> = (0..=MAX_IDENTITIES)
        .map(|i| IdentityEntry {
            identity: Identity::new("ECID", i.to_string()),
            entry: json!({"id": i.to_string()}),
        })
        .collect();
    p.add_identities(&entries[..MAX_IDENTITIES]);
    assert!(p.check_identity_count().is_ok());
    p.add_identities(&entries[MAX_IDENTITIES..]);
    assert!(matches!(
        p.check_identity_count(),
        Err(Error::FailedPrecondition { .. })
    ));
}
