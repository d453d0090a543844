//! A job's storage on a real store: packed staging for jobs of more than 64 segments (several
//! words, the sign bit), staging cleared by the commit, the migration that replaced the old
//! staging table, the one-query page read, and PostgreSQL's planner statistics refreshed by
//! ingestion.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use serde_json::json;

use super::jobs::{T0, fixture, run_job, run_job_with, sorted};
use crate::domain::job::StatusCounts;
use crate::domain::profile::ProfileLookup;
use crate::pql::MembershipStatus::{Existing, Exited, Realized};
use crate::store::migration::Migrator;
use crate::store::planner_stats::MIN_ROWS;
use crate::store::test_support::{ctx, store_tests};
use crate::store::{Backend, Store};

async fn count(store: &Store, sql: &str) -> i64 {
    let row = store
        .db
        .query_one_raw(Statement::from_string(store.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn seventy_segments_span_two_words(store: &Store) {
    let f = fixture(store, 10);
    let mut ids = Vec::new();
    for i in 0..70 {
        ids.push(f.definition(&format!("s{i}"), "true").await);
    }
    let all: Vec<&String> = ids.iter().collect();
    let by_id = sorted(&all);
    // Positions 0 and 63 (the sign bit) of word 0, and 0 and 5 of word 1.
    let edges: Vec<&String> = [0, 63, 64, 69].iter().map(|&i| &by_id[i]).collect();
    let p = f.profiles(&["a@x", "b@x", "c@x"]).await;
    let (p1, p2) = (&p[0], &p[1]);

    f.job(&all).await;
    let mut rows: Vec<(&String, &String)> = edges.iter().map(|&s| (s, p1)).collect();
    rows.extend(all.iter().map(|&s| (s, p2)));
    let id = run_job(store, &f, &rows, T0).await;
    for s in &ids {
        let want = if edges.contains(&s) {
            sorted(&[p1, p2])
        } else {
            sorted(&[p2])
        };
        assert_eq!(f.members(s, Realized).await, want, "segment {s}");
    }
    let job = f.jobs.get(&f.ctx, &id).await.unwrap();
    assert_eq!(job.metrics.segmented_profile_counter.len(), 70);
    assert_eq!(job.metrics.segmented_profile_counter[edges[1]], 2);
    assert_eq!(job.metrics.segmented_profile_counter[&by_id[1]], 1);
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM segment_job_staging").await,
        0,
        "the commit clears the staging"
    );

    // Second run: p1 stays only in the sign-bit segment, p2 stays everywhere.
    f.clock.set(T0 + 1000);
    f.job(&all).await;
    let mut rows = vec![(edges[1], p1)];
    rows.extend(all.iter().map(|&s| (s, p2)));
    let id = run_job(store, &f, &rows, T0 + 1000).await;
    assert_eq!(f.members(edges[1], Existing).await, sorted(&[p1, p2]));
    for &s in [edges[0], edges[2], edges[3]].iter() {
        assert_eq!(f.members(s, Exited).await, sorted(&[p1]), "segment {s}");
        assert_eq!(f.members(s, Existing).await, sorted(&[p2]), "segment {s}");
    }
    let job = f.jobs.get(&f.ctx, &id).await.unwrap();
    let counts = &job.metrics.segmented_profile_by_status_counter;
    assert_eq!(
        counts[edges[3]],
        StatusCounts {
            realized: 0,
            existing: 1,
            exited: 1
        }
    );
    assert_eq!(
        job.metrics.segmented_profile_by_namespace_counter[edges[1]]["Email"],
        2
    );
}

async fn postgres_statistics_follow_ingestion(store: &Store) {
    let tuples = "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = 'profiles'::regclass";
    let fresh = store.backend() == Backend::Postgres;
    if fresh {
        assert!(count(store, tuples).await <= 0, "never analysed yet");
    }
    let f = fixture(store, 10);
    let n = usize::try_from(MIN_ROWS).unwrap();
    let records = (0..n)
        .map(|i| json!({"identityMap": {"Email": [{"id": format!("{i}@x")}]}}).to_string())
        .collect();
    let results = f
        .profiles
        .upsert_profiles(&ctx("ORG1", "prod"), records)
        .await;
    assert_eq!(results.unwrap().len(), n);
    match store.backend() {
        Backend::Postgres => assert_eq!(count(store, tuples).await, i64::try_from(n).unwrap()),
        // SQLite plans without statistics: the store never runs ANALYZE there.
        Backend::Sqlite => assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            )
            .await,
            0
        ),
    }
}

/// A job that a process of the previous version was running staged its rows in the table the
/// migration drops: the migration fences it off so it starts again under a new attempt. The
/// memberships survive their move into the clustered table.
#[tokio::test]
async fn the_packed_staging_migration_fences_running_jobs() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    Migrator::up(&db, Some(2)).await.unwrap();
    let job = |id: &str, status: &str| {
        format!(
            "INSERT INTO segment_jobs (id, org, sandbox, status, source, request_id, \
             all_segments, segments, evaluation_time_ms, lease_owner, lease_expires_ms, attempts, \
             profiles_done, profiles_total, metrics, errors, creation_time_ms, update_time_ms) \
             VALUES ('{id}', 'O', 'prod', '{status}', 'api', 'r', false, '[]', 0, 'old/1', \
             99999999999999, 1, 0, 0, '{{}}', '[]', 0, 0)"
        )
    };
    for (id, status) in [("run", "PROCESSING"), ("done", "SUCCEEDED")] {
        db.execute_unprepared(&job(id, status)).await.unwrap();
    }
    for row in [
        "INSERT INTO segment_job_results VALUES ('run', 's', 'p', 'Email', NULL)",
        "INSERT INTO memberships VALUES ('O', 'prod', 's', 'p', 'realized', 7, 1)",
    ] {
        db.execute_unprepared(row).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT id, attempts, lease_owner IS NULL, lease_expires_ms IS NULL FROM segment_jobs \
             ORDER BY id",
        ))
        .await
        .unwrap();
    let got: Vec<(String, i64, bool, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
                r.try_get_by_index(3).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("done".into(), 1, false, false),
            ("run".into(), 2, true, true)
        ]
    );
    let tables = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT group_concat(name) FROM sqlite_master WHERE name LIKE 'segment_job_%' \
             AND type = 'table'",
        ))
        .await
        .unwrap()
        .unwrap();
    let tables: String = tables.try_get_by_index(0).unwrap();
    assert!(tables.contains("segment_job_staging"), "{tables}");
    assert!(!tables.contains("segment_job_results"), "{tables}");
    let kept = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT m.status || m.last_qualification_ms, t.sql FROM memberships m, sqlite_master t \
             WHERE t.name = 'memberships'",
        ))
        .await
        .unwrap()
        .unwrap();
    let (status, sql): (String, String) = (
        kept.try_get_by_index(0).unwrap(),
        kept.try_get_by_index(1).unwrap(),
    );
    assert_eq!(
        status, "realized7",
        "memberships are copied into the clustered table"
    );
    assert!(sql.contains("WITHOUT ROWID"), "{sql}");
    Migrator::down(&db, Some(1)).await.unwrap();
}

/// The engine's page read: profiles in id order after the last one read, each with its events'
/// documents in the engine's order (timestamp, then `_id`), none when events are not wanted.
async fn pages_carry_each_profiles_events_in_order(store: &Store) {
    let f = fixture(store, 10);
    let p = f.profiles(&["a@x", "b@x", "c@x"]).await;
    let email = |i: usize| {
        let id = ["a@x", "b@x", "c@x"][i];
        json!({"Email": [{"id": id}]})
    };
    let events = [
        ("e2", "2024-01-02T00:00:00Z", 0),
        ("e1", "2024-01-02T00:00:00Z", 0),
        ("e0", "2024-01-03T00:00:00Z", 0),
        ("e3", "2024-01-01T00:00:00Z", 2),
    ]
    .iter()
    .map(|(id, ts, who)| {
        json!({"_id": id, "timestamp": ts, "identityMap": email(*who)}).to_string()
    })
    .collect();
    f.profiles.ingest_events(&f.ctx, events).await.unwrap();
    let ids = |page: &[crate::store::RawProfile]| -> Vec<String> {
        page.iter().map(|r| r.profile_id.clone()).collect()
    };
    let all = store
        .raw_profile_page(f.tenant(), None, 10, true)
        .await
        .unwrap();
    assert_eq!(ids(&all), sorted(&[&p[0], &p[1], &p[2]]));
    let of = |id: &String| -> Vec<String> {
        let raw = all.iter().find(|r| &r.profile_id == id).unwrap();
        raw.events
            .iter()
            .map(|e| serde_json::from_str::<serde_json::Value>(e).unwrap()["_id"].to_string())
            .collect()
    };
    assert_eq!(of(&p[0]), ["\"e1\"", "\"e2\"", "\"e0\""]);
    assert!(of(&p[1]).is_empty());
    assert_eq!(of(&p[2]), ["\"e3\""]);
    let rest = store
        .raw_profile_page(f.tenant(), Some(&all[0].profile_id), 1, false)
        .await
        .unwrap();
    assert_eq!(ids(&rest), [all[1].profile_id.clone()]);
    assert!(rest[0].events.is_empty(), "no events asked for");
    assert!(rest[0].document.contains("identityMap"));
}

/// A profile deleted and a definition deleted after the job staged them are left out of the
/// memberships and the counters.
async fn deletions_while_the_job_runs_are_left_out(store: &Store) {
    let f = fixture(store, 10);
    let mut s = Vec::new();
    for name in ["s1", "s2", "s3"] {
        s.push(f.definition(name, "true").await);
    }
    let p = f.profiles(&["a@x", "b@x"]).await;
    let (p1, p2) = (&p[0], &p[1]);
    f.job(&[&s[0], &s[1], &s[2]]).await;
    let rows = [(&s[0], p1), (&s[0], p2), (&s[1], p2), (&s[2], p1)];
    let deletions = async {
        f.profiles
            .delete_profile(&f.ctx, &ProfileLookup::Id(p2.clone()))
            .await
            .unwrap();
        f.definitions.delete(&f.ctx, &s[2]).await.unwrap();
    };
    let id = run_job_with(store, &f, &rows, T0, deletions).await;
    assert_eq!(f.members(&s[0], Realized).await, sorted(&[p1]));
    assert!(f.members(&s[1], Realized).await.is_empty());
    let job = f.jobs.get(&f.ctx, &id).await.unwrap();
    let counters = &job.metrics.segmented_profile_counter;
    assert_eq!((counters[&s[0]], counters[&s[1]]), (1, 0));
    assert!(!counters.contains_key(&s[2]), "{counters:?}");
    let left = count(store, "SELECT COUNT(*) FROM memberships").await;
    assert_eq!(left, 1, "only p1 in s1");
}

store_tests!(
    deletions_while_the_job_runs_are_left_out,
    seventy_segments_span_two_words,
    postgres_statistics_follow_ingestion,
    pages_carry_each_profiles_events_in_order,
);
