//! Memberships: atomic replacement per set of segments, reads by profile and by segment and
//! status, paging, isolation; and concurrent ingestion converging on one profile.

use serde_json::json;

use super::profiles::{membership, segment};
use crate::domain::membership::MemberListQuery;
use crate::domain::profile::ProfileLookup;
use crate::domain::{Clock, ProfileService};
use crate::error::Error;
use crate::pql::MembershipStatus::{Existing, Exited, Realized};
use crate::store::Store;
use crate::store::test_support::{ctx, store_tests};

fn members(seg: &str, statuses: &[crate::pql::MembershipStatus]) -> MemberListQuery {
    MemberListQuery {
        segment_id: seg.to_owned(),
        statuses: statuses.to_vec(),
        page_token: None,
        limit: None,
    }
}

async fn replacement_is_per_segment_set(store: &Store) {
    let c = ctx("ORG1", "prod");
    let t = &c.tenant;
    let (s1, s2) = (segment(store, t, "s1").await, segment(store, t, "s2").await);
    store
        .replace_memberships(
            t,
            &[s1.clone(), s2.clone()],
            &[
                membership("p1", &s1, Realized),
                membership("p2", &s1, Existing),
                membership("p3", &s1, Exited),
                membership("p1", &s2, Realized),
            ],
        )
        .await
        .unwrap();
    let of_p1 = store.memberships_of_profile(t, "p1").await.unwrap();
    let mut segs: Vec<_> = of_p1.iter().map(|m| m.segment_id.clone()).collect();
    let mut expected = vec![s1.clone(), s2.clone()];
    expected.sort();
    segs.sort();
    assert_eq!(segs, expected);

    // Replacing s1 alone leaves s2 as it was.
    store
        .replace_memberships(
            t,
            std::slice::from_ref(&s1),
            &[membership("p4", &s1, Realized)],
        )
        .await
        .unwrap();
    let (m, total) = store
        .list_segment_members(t, &s1, &[Realized, Existing, Exited], None, 10)
        .await
        .unwrap();
    assert_eq!((m.len(), total), (1, 1));
    assert_eq!(m[0].profile_id, "p4");
    assert_eq!(
        store.memberships_of_profile(t, "p1").await.unwrap().len(),
        1
    );

    // A row outside the replaced set is refused and nothing changes.
    let err = store
        .replace_memberships(
            t,
            std::slice::from_ref(&s1),
            &[membership("p9", &s2, Realized)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Internal { .. }));
    // A failing write (duplicate key) rolls back the delete too.
    let dup = [
        membership("p5", &s1, Realized),
        membership("p5", &s1, Realized),
    ];
    assert!(
        store
            .replace_memberships(t, std::slice::from_ref(&s1), &dup)
            .await
            .is_err()
    );
    assert_eq!(
        store
            .list_segment_members(t, &s1, &[Realized], None, 10)
            .await
            .unwrap()
            .0[0]
            .profile_id,
        "p4"
    );
}

async fn members_list_by_status_and_page(store: &Store) {
    let svc = ProfileService::with_clock(store.clone(), Clock::manual(0));
    let c = ctx("ORG1", "prod");
    let seg = segment(store, &c.tenant, "s").await;
    let rows: Vec<_> = (0..30)
        .map(|i| {
            let status = [Realized, Existing, Exited][i % 3];
            membership(&format!("p{i:02}"), &seg, status)
        })
        .collect();
    store
        .replace_memberships(&c.tenant, std::slice::from_ref(&seg), &rows)
        .await
        .unwrap();
    let current = svc
        .list_segment_members(&c, members(&seg, &[]))
        .await
        .unwrap();
    assert_eq!(current.total_count, 20);
    assert!(current.items.iter().all(|m| m.membership.status != Exited));
    let exited = svc
        .list_segment_members(&c, members(&seg, &[Exited]))
        .await
        .unwrap();
    assert_eq!(exited.total_count, 10);

    let mut q = members(&seg, &[Realized, Exited]);
    q.limit = Some(7);
    let mut seen = Vec::new();
    loop {
        let page = svc.list_segment_members(&c, q.clone()).await.unwrap();
        seen.extend(page.items.iter().map(|m| m.profile_id.clone()));
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 20);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    // A token of one status filter is refused by another.
    let mut other = members(&seg, &[Existing]);
    other.page_token = svc
        .list_segment_members(&c, {
            let mut q = members(&seg, &[Realized]);
            q.limit = Some(1);
            q
        })
        .await
        .unwrap()
        .next_page_token;
    assert!(matches!(
        svc.list_segment_members(&c, other).await,
        Err(Error::InvalidArgument { .. })
    ));

    for other in [ctx("ORG2", "prod"), ctx("ORG1", "dev")] {
        assert!(matches!(
            svc.list_segment_members(&other, members(&seg, &[])).await,
            Err(Error::NotFound { .. })
        ));
        assert!(
            store
                .memberships_of_profile(&other.tenant, "p00")
                .await
                .unwrap()
                .is_empty()
        );
        let (m, total) = store
            .list_segment_members(
                &other.tenant,
                &seg,
                &[Realized, Existing, Exited],
                None,
                100,
            )
            .await
            .unwrap();
        assert!(m.is_empty() && total == 0);
    }
    assert!(matches!(
        svc.list_segment_members(&c, members("no-such-segment", &[]))
            .await,
        Err(Error::NotFound { .. })
    ));
}

async fn deleting_a_definition_drops_its_memberships(store: &Store) {
    let c = ctx("ORG1", "prod");
    let seg = segment(store, &c.tenant, "s").await;
    store
        .replace_memberships(
            &c.tenant,
            std::slice::from_ref(&seg),
            &[membership("p", &seg, Realized)],
        )
        .await
        .unwrap();
    store.delete_definition(&c.tenant, &seg).await.unwrap();
    assert!(
        store
            .memberships_of_profile(&c.tenant, "p")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Several batches at once, all naming one person through overlapping identities, end with one
/// profile holding every identity and every event (PostgreSQL runs them truly concurrently).
async fn concurrent_batches_converge(store: &Store) {
    let svc = ProfileService::with_clock(store.clone(), Clock::manual(0));
    let c = ctx("ORG1", "prod");
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (svc, c) = (svc.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let batch: Vec<String> = (0..50)
                .map(|i| {
                    json!({"_id": format!("w{w}-{i}"), "timestamp": "2024-01-01T00:00:00Z",
                           "identityMap": {"Email": [{"id": "same@x"}],
                                           "ECID": [{"id": format!("w{w}-{}", i % 3)}]}})
                    .to_string()
                })
                .collect();
            svc.ingest_events(&c, batch).await
        }));
    }
    for t in tasks {
        let results = t.await.unwrap().unwrap();
        for r in results {
            assert!(r.outcome.is_ok(), "{r:?}");
        }
    }
    let p = svc
        .get_profile(
            &c,
            &ProfileLookup::Identity(crate::domain::Identity::new("Email", "same@x")),
        )
        .await
        .unwrap();
    assert_eq!(p.event_count, 200);
    assert_eq!(p.identities.len(), 1 + 4 * 3);
    let list = svc.list_profiles(&c, Default::default()).await.unwrap();
    assert_eq!(list.total_count, 1);
}

store_tests!(
    replacement_is_per_segment_set,
    members_list_by_status_and_page,
    deleting_a_definition_drops_its_memberships,
    concurrent_batches_converge,
);
