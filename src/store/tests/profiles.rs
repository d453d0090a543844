//! Profiles and events through `ProfileService` on a real store: identity stitching, merges,
//! event dedup, per-record atomicity, newer-wins merging, delete cascade, paging, isolation.

use serde_json::{Value, json};

use crate::domain::membership::MembershipWrite;
use crate::domain::profile::{
    Identity, ProfileListQuery, ProfileLookup, RecordOutcome, RecordResult, RecordStatus,
};
use crate::domain::{Clock, ProfileService};
use crate::error::Error;
use crate::pql::MembershipStatus;
use crate::store::Store;
use crate::store::test_support::{ctx, store_tests};

const T0: i64 = 1_700_000_000_000;

fn service(store: &Store) -> ProfileService {
    ProfileService::with_clock(store.clone(), Clock::manual(T0))
}

fn profile(identities: Value, fields: Value) -> String {
    let mut doc = fields.as_object().cloned().unwrap_or_default();
    doc.insert("identityMap".into(), identities);
    Value::Object(doc).to_string()
}

fn event(id: &str, ts: &str, identities: Value) -> String {
    json!({"_id": id, "timestamp": ts, "eventType": "web.webpagedetails.pageViews",
           "identityMap": identities})
    .to_string()
}

fn ok(r: &RecordResult) -> &RecordOutcome {
    r.outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("record {} failed: {e}", r.index))
}

fn by_identity(ns: &str, id: &str) -> ProfileLookup {
    ProfileLookup::Identity(Identity::new(ns, id))
}

async fn shared_identities_stitch_one_profile(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let batch = vec![
        profile(
            json!({"Email": [{"id": "a@x.com"}]}),
            json!({"person": {"name": "A"}}),
        ),
        profile(
            json!({"Email": [{"id": "a@x.com"}], "Phone": [{"id": "555"}]}),
            json!({"homeAddress": {"country": "US"}}),
        ),
        profile(
            json!({"Phone": [{"id": "555"}], "CRMID": [{"id": "c-1"}]}),
            json!({}),
        ),
        profile(json!({"Email": [{"id": "other@x.com"}]}), json!({})),
    ];
    let results = svc.upsert_profiles(&c, batch).await.unwrap();
    let statuses: Vec<_> = results.iter().map(|r| ok(r).status).collect();
    assert_eq!(
        statuses,
        vec![
            RecordStatus::Created,
            RecordStatus::Updated,
            RecordStatus::Updated,
            RecordStatus::Created
        ]
    );
    let id = ok(&results[0]).profile_id.clone();
    assert!(results[..3].iter().all(|r| ok(r).profile_id == id));
    assert_ne!(ok(&results[3]).profile_id, id);

    let p = svc
        .get_profile(&c, &by_identity("CRMID", "c-1"))
        .await
        .unwrap();
    assert_eq!(p.id, id);
    assert_eq!(
        p.identities,
        vec![
            Identity::new("CRMID", "c-1"),
            Identity::new("Email", "a@x.com"),
            Identity::new("Phone", "555")
        ]
    );
    assert_eq!(p.document["person"], json!({"name": "A"}));
    assert_eq!(p.document["homeAddress"], json!({"country": "US"}));
    assert_eq!(p.document["identityMap"]["Phone"], json!([{"id": "555"}]));
    assert_eq!(p.creation_time_ms, T0);
}

async fn bridging_identities_merge_profiles(store: &Store) {
    let clock = Clock::manual(T0);
    let svc = ProfileService::with_clock(store.clone(), clock.clone());
    let c = ctx("ORG1", "prod");
    let first = svc
        .upsert_profiles(
            &c,
            vec![profile(json!({"Email": [{"id": "a"}]}), json!({"x": 1}))],
        )
        .await
        .unwrap();
    clock.advance(1000);
    let second = svc
        .upsert_profiles(
            &c,
            vec![profile(json!({"ECID": [{"id": "e"}]}), json!({"y": 2}))],
        )
        .await
        .unwrap();
    let (older, newer) = (
        ok(&first[0]).profile_id.clone(),
        ok(&second[0]).profile_id.clone(),
    );
    svc.ingest_events(
        &c,
        vec![
            event(
                "ev-a",
                "2024-01-01T00:00:00Z",
                json!({"Email": [{"id": "a"}]}),
            ),
            event(
                "ev-e",
                "2024-01-02T00:00:00Z",
                json!({"ECID": [{"id": "e"}]}),
            ),
        ],
    )
    .await
    .unwrap();
    let seg = segment(store, &c.tenant, "seg").await;
    store
        .replace_memberships(
            &c.tenant,
            std::slice::from_ref(&seg),
            &[membership(&newer, &seg, MembershipStatus::Realized)],
        )
        .await
        .unwrap();
    clock.advance(1000);
    let merged = svc
        .upsert_profiles(
            &c,
            vec![profile(
                json!({"Email": [{"id": "a"}], "ECID": [{"id": "e"}]}),
                json!({}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(ok(&merged[0]).profile_id, older);
    let p = svc
        .get_profile(&c, &by_identity("ECID", "e"))
        .await
        .unwrap();
    assert_eq!(p.id, older);
    assert_eq!(p.event_count, 2);
    assert_eq!(
        (p.document["x"].clone(), p.document["y"].clone()),
        (json!(1), json!(2))
    );
    assert!(
        p.memberships.is_empty(),
        "merged-away memberships are dropped"
    );
    assert!(matches!(
        svc.get_profile(&c, &ProfileLookup::Id(newer)).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store
            .events_of_profile(&c.tenant, &older)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn events_dedup_and_create_profiles(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let ecid = json!({"ECID": [{"id": "e1"}]});
    let results = svc
        .ingest_events(
            &c,
            vec![
                event("a", "2024-03-01T00:00:00Z", ecid.clone()),
                event("a", "2024-03-01T00:00:00Z", ecid.clone()),
                event("b", "2024-03-02T00:00:00Z", ecid.clone()),
            ],
        )
        .await
        .unwrap();
    let statuses: Vec<_> = results.iter().map(|r| ok(r).status).collect();
    assert_eq!(
        statuses,
        vec![
            RecordStatus::Created,
            RecordStatus::Duplicate,
            RecordStatus::Updated
        ]
    );
    let again = svc
        .ingest_events(
            &c,
            vec![event(
                "b",
                "2024-03-02T00:00:00Z",
                json!({"Email": [{"id": "z"}]}),
            )],
        )
        .await
        .unwrap();
    assert_eq!(ok(&again[0]).status, RecordStatus::Duplicate);
    assert_eq!(ok(&again[0]).profile_id, ok(&results[0]).profile_id);
    assert!(
        svc.get_profile(&c, &by_identity("Email", "z"))
            .await
            .is_err()
    );

    let p = svc
        .get_profile(&c, &by_identity("ECID", "e1"))
        .await
        .unwrap();
    assert_eq!(p.event_count, 2);
    let events = store.events_of_profile(&c.tenant, &p.id).await.unwrap();
    assert_eq!(events[0].timestamp_ms, 1_709_251_200_000);
    assert_eq!(events[1].id, "b");
    // A later profile record with the event's identity updates the same profile.
    let up = svc
        .upsert_profiles(&c, vec![profile(ecid, json!({"person": {"age": 3}}))])
        .await
        .unwrap();
    assert_eq!(ok(&up[0]).profile_id, p.id);
    assert_eq!(ok(&up[0]).status, RecordStatus::Updated);
}

async fn rejected_records_write_nothing(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let many: Vec<Value> = (0..30).map(|i| json!({"id": format!("m{i}")})).collect();
    let more: Vec<Value> = (30..55).map(|i| json!({"id": format!("m{i}")})).collect();
    let mut with_existing = more.clone();
    with_existing.truncate(24);
    with_existing.push(json!({"id": "m0"}));
    let results = svc
        .upsert_profiles(
            &c,
            vec![
                profile(json!({"ECID": many}), json!({"a": 1})),
                profile(
                    json!({"Email": [{"id": "s"}]}),
                    json!({"segmentMembership": {}}),
                ),
                "{\"identityMap\": ".to_owned(),
                profile(json!({"Email": [{"id": ""}]}), json!({})),
                // 24 new identities + m0 would give the first profile 54 identities.
                profile(json!({"ECID": with_existing}), json!({"a": 2})),
                profile(json!({"Email": [{"id": "fine"}]}), json!({})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        results.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert!(results[0].outcome.is_ok() && results[5].outcome.is_ok());
    for r in &results[1..4] {
        assert!(
            matches!(r.outcome, Err(Error::InvalidArgument { .. })),
            "{r:?}"
        );
    }
    assert!(
        matches!(results[4].outcome, Err(Error::FailedPrecondition { .. })),
        "{:?}",
        results[4]
    );

    let p = svc
        .get_profile(&c, &by_identity("ECID", "m0"))
        .await
        .unwrap();
    assert_eq!(p.identities.len(), 30);
    assert_eq!(p.document["a"], json!(1));
    assert!(
        svc.get_profile(&c, &by_identity("ECID", "m30"))
            .await
            .is_err()
    );
    assert!(
        svc.get_profile(&c, &by_identity("Email", "s"))
            .await
            .is_err()
    );
    let list = svc
        .list_profiles(&c, ProfileListQuery::default())
        .await
        .unwrap();
    assert_eq!(list.total_count, 2);

    for n in [0, crate::domain::profile::MAX_BATCH_RECORDS + 1] {
        let batch = vec![profile(json!({"E": [{"id": "x"}]}), json!({})); n];
        assert!(matches!(
            svc.upsert_profiles(&c, batch.clone()).await,
            Err(Error::InvalidArgument { .. })
        ));
        assert!(svc.ingest_events(&c, batch).await.is_err());
    }
}

async fn newer_fields_win(store: &Store) {
    let clock = Clock::manual(T0);
    let svc = ProfileService::with_clock(store.clone(), clock.clone());
    let c = ctx("ORG1", "prod");
    let email = json!({"Email": [{"id": "a"}]});
    let rec = |fields: Value| profile(email.clone(), fields);
    svc.upsert_profiles(
        &c,
        vec![
            rec(
                json!({"person": {"name": "New"}, "_repo": {"modifyDate": "2024-01-02T00:00:00Z"}}),
            ),
            rec(
                json!({"person": {"name": "Old"}, "loyalty": {"tier": "gold"},
                       "_repo": {"modifyDate": "2024-01-01T00:00:00Z"}}),
            ),
        ],
    )
    .await
    .unwrap();
    let p = svc
        .get_profile(&c, &by_identity("Email", "a"))
        .await
        .unwrap();
    assert_eq!(p.document["person"], json!({"name": "New"}));
    assert_eq!(p.document["loyalty"], json!({"tier": "gold"}));
    // Without modifyDate the record's time is now (T0, in 2023): older than 2024-01-02.
    svc.upsert_profiles(&c, vec![rec(json!({"person": {"name": "Stale"}}))])
        .await
        .unwrap();
    let p = svc
        .get_profile(&c, &by_identity("Email", "a"))
        .await
        .unwrap();
    assert_eq!(p.document["person"], json!({"name": "New"}));
    clock.set(1_800_000_000_000);
    svc.upsert_profiles(&c, vec![rec(json!({"person": {"name": "Newest"}}))])
        .await
        .unwrap();
    let p = svc
        .get_profile(&c, &by_identity("Email", "a"))
        .await
        .unwrap();
    assert_eq!(p.document["person"], json!({"name": "Newest"}));
    assert_eq!(p.update_time_ms, 1_800_000_000_000);
    assert_eq!(p.creation_time_ms, T0);
}

async fn delete_cascades(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let idm = json!({"Email": [{"id": "gone"}], "ECID": [{"id": "g"}]});
    let r = svc
        .ingest_events(&c, vec![event("ev1", "2024-01-01T00:00:00Z", idm.clone())])
        .await
        .unwrap();
    let id = ok(&r[0]).profile_id.clone();
    let seg = segment(store, &c.tenant, "seg").await;
    store
        .replace_memberships(
            &c.tenant,
            std::slice::from_ref(&seg),
            &[membership(&id, &seg, MembershipStatus::Existing)],
        )
        .await
        .unwrap();
    assert_eq!(
        svc.get_profile(&c, &ProfileLookup::Id(id.clone()))
            .await
            .unwrap()
            .memberships
            .len(),
        1
    );

    let deleted = svc
        .delete_profile(&c, &by_identity("ECID", "g"))
        .await
        .unwrap();
    assert_eq!(deleted, id);
    for lookup in [ProfileLookup::Id(id.clone()), by_identity("Email", "gone")] {
        assert!(matches!(
            svc.get_profile(&c, &lookup).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            svc.delete_profile(&c, &lookup).await,
            Err(Error::NotFound { .. })
        ));
    }
    assert!(
        store
            .events_of_profile(&c.tenant, &id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .memberships_of_profile(&c.tenant, &id)
            .await
            .unwrap()
            .is_empty()
    );
    // The event id is free again: a re-ingest is new, on a new profile.
    let again = svc
        .ingest_events(&c, vec![event("ev1", "2024-01-01T00:00:00Z", idm)])
        .await
        .unwrap();
    assert_eq!(ok(&again[0]).status, RecordStatus::Created);
    assert_ne!(ok(&again[0]).profile_id, id);
}

async fn tenants_are_isolated(store: &Store) {
    let svc = service(store);
    let mine = ctx("ORG1", "prod");
    let idm = json!({"Email": [{"id": "shared"}]});
    let r = svc
        .ingest_events(
            &mine,
            vec![event("e1", "2024-01-01T00:00:00Z", idm.clone())],
        )
        .await
        .unwrap();
    let id = ok(&r[0]).profile_id.clone();
    for other in [ctx("ORG2", "prod"), ctx("ORG1", "dev")] {
        for lookup in [
            ProfileLookup::Id(id.clone()),
            by_identity("Email", "shared"),
        ] {
            assert!(matches!(
                svc.get_profile(&other, &lookup).await,
                Err(Error::NotFound { .. })
            ));
            assert!(matches!(
                svc.delete_profile(&other, &lookup).await,
                Err(Error::NotFound { .. })
            ));
        }
        let list = svc
            .list_profiles(&other, ProfileListQuery::default())
            .await
            .unwrap();
        assert_eq!(list.total_count, 0);
        assert!(
            store
                .stream_profiles_page(&other.tenant, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .events_of_profile(&other.tenant, &id)
                .await
                .unwrap()
                .is_empty()
        );
        // The same identity and event id in another tenant are that tenant's own.
        let theirs = svc
            .ingest_events(
                &other,
                vec![event("e1", "2024-01-01T00:00:00Z", idm.clone())],
            )
            .await
            .unwrap();
        assert_eq!(ok(&theirs[0]).status, RecordStatus::Created);
        assert_ne!(ok(&theirs[0]).profile_id, id);
    }
    let p = svc
        .get_profile(&mine, &ProfileLookup::Id(id))
        .await
        .unwrap();
    assert_eq!(p.event_count, 1);
}

async fn profiles_page_by_id(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let batch: Vec<String> = (0..25)
        .map(|i| profile(json!({"CRMID": [{"id": format!("c{i}")}]}), json!({"n": i})))
        .collect();
    svc.upsert_profiles(&c, batch).await.unwrap();
    let mut seen = Vec::new();
    let mut token = None;
    let mut sizes = Vec::new();
    loop {
        let page = svc
            .list_profiles(
                &c,
                ProfileListQuery {
                    page_token: token.clone(),
                    limit: Some(10),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_count, 25);
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|p| p.id.clone()));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages are in id order without overlap");
    let bad = ProfileListQuery {
        page_token: Some("nope".into()),
        limit: None,
    };
    assert!(matches!(
        svc.list_profiles(&c, bad).await,
        Err(Error::InvalidArgument { .. })
    ));
}

async fn stream_pages_carry_events(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let mut events = Vec::new();
    for p in 0..5 {
        for e in (0..3).rev() {
            events.push(event(
                &format!("p{p}-e{e}"),
                &format!("2024-01-0{}T00:00:00Z", e + 1),
                json!({"CRMID": [{"id": format!("p{p}")}]}),
            ));
        }
    }
    svc.ingest_events(&c, events).await.unwrap();
    svc.upsert_profiles(
        &c,
        vec![profile(json!({"CRMID": [{"id": "lonely"}]}), json!({}))],
    )
    .await
    .unwrap();
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let page = store
            .stream_profiles_page(&c.tenant, after.as_deref(), 4)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| p.profile_id.clone());
        all.extend(page);
    }
    assert_eq!(all.len(), 6);
    let with_events: Vec<_> = all.iter().filter(|p| !p.events.is_empty()).collect();
    assert_eq!(with_events.len(), 5);
    for p in with_events {
        let ts: Vec<i64> = p.events.iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(ts.len(), 3);
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
        assert!(p.events.iter().all(|e| e.profile_id == p.profile_id));
        assert!(p.document.contains_key("identityMap"));
    }
}

/// A stored definition to hang memberships on.
pub(super) async fn segment(store: &Store, t: &crate::context::Tenant, name: &str) -> String {
    use crate::domain::definition::{
        EvaluationInfo, Expression, ExpressionFormat, SegmentDefinition,
    };
    let d = SegmentDefinition {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        description: None,
        expression: Expression {
            format: ExpressionFormat::Text,
            value: "true".into(),
        },
        schema_name: "_xdm.context.profile".into(),
        merge_policy_id: None,
        evaluation_info: EvaluationInfo::default(),
        ttl_in_days: None,
        version: 1,
        creation_time_ms: T0,
        update_time_ms: T0,
        segment_refs: Vec::new(),
    };
    store.insert_definition(t, &d).await.unwrap();
    d.id
}

pub(super) fn membership(profile: &str, seg: &str, status: MembershipStatus) -> MembershipWrite {
    MembershipWrite {
        profile_id: profile.to_owned(),
        segment_id: seg.to_owned(),
        status,
        last_qualification_time_ms: T0,
        version: 1,
    }
}

/// A batch mixing records the set-based pass writes (new people, events of known people) with
/// records that need the per-record path (merges, updates, duplicates, shared new identities):
/// every outcome is what writing them one by one in batch order gives.
async fn set_based_records_agree_with_batch_order(store: &Store) {
    let svc = service(store);
    let c = ctx("ORG1", "prod");
    let ecid = |id: &str| json!({"ECID": [{"id": id}]});
    let first = svc
        .upsert_profiles(
            &c,
            vec![
                profile(ecid("a"), json!({"n": 1})),
                profile(ecid("b"), json!({"n": 2})),
            ],
        )
        .await
        .unwrap();
    assert!(first.iter().all(|r| ok(r).status == RecordStatus::Created));
    let (a, b) = (
        ok(&first[0]).profile_id.clone(),
        ok(&first[1]).profile_id.clone(),
    );
    assert_ne!(a, b);
    svc.ingest_events(&c, vec![event("old", "2024-03-01T00:00:00Z", ecid("a"))])
        .await
        .unwrap();

    let events = svc
        .ingest_events(
            &c,
            vec![
                event("e1", "2024-03-02T00:00:00Z", ecid("a")),
                // Bridges a and b: one profile from here on.
                event(
                    "e2",
                    "2024-03-03T00:00:00Z",
                    json!({"ECID": [{"id": "a"}, {"id": "b"}]}),
                ),
                // b's profile was merged by the record before: the survivor gets it.
                event("e3", "2024-03-04T00:00:00Z", ecid("b")),
                event("e4", "2024-03-05T00:00:00Z", ecid("c")),
                event("e4", "2024-03-05T00:00:00Z", ecid("c")),
                event("old", "2024-03-01T00:00:00Z", ecid("b")),
            ],
        )
        .await
        .unwrap();
    let statuses: Vec<_> = events.iter().map(|r| ok(r).status).collect();
    assert_eq!(
        statuses,
        vec![
            RecordStatus::Updated,
            RecordStatus::Updated,
            RecordStatus::Updated,
            RecordStatus::Created,
            RecordStatus::Duplicate,
            RecordStatus::Duplicate,
        ]
    );
    let survivor = ok(&events[1]).profile_id.clone();
    assert!(survivor == a || survivor == b);
    assert_eq!(ok(&events[0]).profile_id, a);
    assert_eq!(ok(&events[2]).profile_id, survivor);
    assert_eq!(ok(&events[4]).profile_id, ok(&events[3]).profile_id);
    assert_eq!(ok(&events[5]).profile_id, survivor);
    let merged = svc
        .get_profile(&c, &by_identity("ECID", "b"))
        .await
        .unwrap();
    assert_eq!(merged.id, survivor);
    assert_eq!(merged.event_count, 4);

    let profiles = svc
        .upsert_profiles(
            &c,
            vec![
                profile(ecid("n1"), json!({"k": 1})),
                profile(ecid("a"), json!({"k": 2})),
                profile(json!({"ECID": [{"id": "n2"}, {"id": "n3"}]}), json!({})),
                profile(ecid("n3"), json!({"k": 4})),
                profile(ecid("fresh"), json!({"k": 5})),
            ],
        )
        .await
        .unwrap();
    let statuses: Vec<_> = profiles.iter().map(|r| ok(r).status).collect();
    assert_eq!(
        statuses,
        vec![
            RecordStatus::Created,
            RecordStatus::Updated,
            RecordStatus::Created,
            RecordStatus::Updated,
            RecordStatus::Created,
        ]
    );
    assert_eq!(ok(&profiles[1]).profile_id, survivor);
    assert_eq!(ok(&profiles[3]).profile_id, ok(&profiles[2]).profile_id);
    let fresh = svc
        .get_profile(&c, &by_identity("ECID", "fresh"))
        .await
        .unwrap();
    assert_eq!(fresh.id, ok(&profiles[4]).profile_id);
    assert_eq!(fresh.document["k"], json!(5));
    assert_eq!(fresh.creation_time_ms, T0);
    assert_eq!(fresh.identities, vec![Identity::new("ECID", "fresh")]);
}

store_tests!(
    set_based_records_agree_with_batch_order,
    shared_identities_stitch_one_profile,
    bridging_identities_merge_profiles,
    events_dedup_and_create_profiles,
    rejected_records_write_nothing,
    newer_fields_win,
    delete_cascades,
    tenants_are_isolated,
    profiles_page_by_id,
    stream_pages_carry_events,
);
