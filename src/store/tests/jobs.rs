//! Segment jobs on a real store: the running limit, lists and filters, cancel requests, the
//! claim / lease / stage / commit cycle with its status rules, and fencing of a worker that lost
//! its lease.

use serde_json::json;

use crate::context::{RequestContext, Tenant};
use crate::domain::job::{JobInput, JobListQuery, JobSegments, JobStatus, StatusCounts};
use crate::domain::{
    Clock, DefinitionInput, DefinitionService, ExpressionInput, JobLimits, JobService,
    MemberListQuery, ProfileService,
};
use crate::error::Error;
use crate::pql::MembershipStatus::{Existing, Exited, Realized};
use crate::store::test_support::{ctx, store_tests};
use crate::store::{LeaseCheck, StagedRow, Store};

pub(super) const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 10_000;

pub(super) struct Fixture {
    pub ctx: RequestContext,
    pub clock: Clock,
    pub jobs: JobService,
    pub definitions: DefinitionService,
    pub profiles: ProfileService,
}

pub(super) fn fixture(store: &Store, max_running: u32) -> Fixture {
    let clock = Clock::manual(T0);
    Fixture {
        ctx: ctx("ORG1", "prod"),
        jobs: JobService::with_clock(
            store.clone(),
            clock.clone(),
            JobLimits {
                max_running_per_sandbox: max_running,
            },
        ),
        definitions: DefinitionService::with_clock(store.clone(), clock.clone()),
        profiles: ProfileService::with_clock(store.clone(), clock.clone()),
        clock,
    }
}

impl Fixture {
    pub fn tenant(&self) -> &Tenant {
        &self.ctx.tenant
    }

    pub async fn definition(&self, name: &str, pql: &str) -> String {
        let input = DefinitionInput {
            name: name.into(),
            expression: ExpressionInput {
                value: pql.into(),
                ..ExpressionInput::default()
            },
            ..DefinitionInput::default()
        };
        self.definitions.create(&self.ctx, input).await.unwrap().id
    }

    pub async fn profiles(&self, emails: &[&str]) -> Vec<String> {
        let records = emails
            .iter()
            .map(|e| json!({"identityMap": {"Email": [{"id": e}]}}).to_string())
            .collect();
        self.profiles
            .upsert_profiles(&self.ctx, records)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.outcome.unwrap().profile_id)
            .collect()
    }

    pub async fn job(&self, ids: &[&String]) -> String {
        let input = JobInput {
            segments: JobSegments::Ids(ids.iter().map(|s| s.to_string()).collect()),
            evaluation_time_ms: None,
        };
        self.jobs.create(&self.ctx, input).await.unwrap().id
    }

    pub async fn members(
        &self,
        segment: &str,
        status: crate::pql::MembershipStatus,
    ) -> Vec<String> {
        let q = MemberListQuery {
            segment_id: segment.to_owned(),
            statuses: vec![status],
            page_token: None,
            limit: Some(1000),
        };
        let page = self
            .profiles
            .list_segment_members(&self.ctx, q)
            .await
            .unwrap();
        let mut ids: Vec<String> = page.items.into_iter().map(|m| m.profile_id).collect();
        ids.sort();
        ids
    }
}

pub(super) fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Staged findings; every test profile has one Email identity.
fn pairs(rows: &[(&String, &String)]) -> Vec<StagedRow> {
    rows.iter()
        .map(|(s, p)| StagedRow {
            segment_id: s.to_string(),
            profile_id: p.to_string(),
            namespaces: "Email".into(),
        })
        .collect()
}

/// Claims the only runnable job and commits `rows` as its findings; returns the job.
pub(super) async fn run_job(
    store: &Store,
    f: &Fixture,
    rows: &[(&String, &String)],
    now: i64,
) -> String {
    run_job_with(store, f, rows, now, async {}).await
}

/// [`run_job`], running `between` after the staging and before the commit (what changes while
/// a job runs).
pub(super) async fn run_job_with(
    store: &Store,
    f: &Fixture,
    rows: &[(&String, &String)],
    now: i64,
    between: impl std::future::Future<Output = ()>,
) -> String {
    store.queue_new_jobs(now).await.unwrap();
    let (lease, job) = store
        .claim_job("w1", now, LEASE)
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(job.attempts, 1);
    let metrics = job.metrics.clone();
    assert_eq!(
        store
            .begin_job_evaluation(&lease, &metrics, 3, now)
            .await
            .unwrap(),
        LeaseCheck::Held
    );
    let check = store
        .stage_job_page(
            &lease,
            &store.staging_layout(&lease).await.unwrap(),
            &pairs(rows),
            3,
            now,
            LEASE,
        )
        .await
        .unwrap();
    assert_eq!(check, LeaseCheck::Held);
    between.await;
    let (check, committed) = store
        .commit_job(
            &lease,
            metrics,
            3,
            job.evaluation_time_ms,
            &Clock::manual(now),
        )
        .await
        .unwrap();
    assert_eq!(check, LeaseCheck::Held);
    assert!(committed.is_some());
    let done = f.jobs.get(&f.ctx, &job.id).await.unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(
        done.worker.as_deref(),
        Some("w1"),
        "the worker that ended it"
    );
    job.id
}

async fn statuses_follow_each_run(store: &Store) {
    let f = fixture(store, 10);
    let (s1, s2) = (
        f.definition("s1", "true").await,
        f.definition("s2", "true").await,
    );
    let p = f.profiles(&["a@x", "b@x", "c@x"]).await;
    let (p1, p2, p3) = (&p[0], &p[1], &p[2]);

    f.job(&[&s1, &s2]).await;
    let id = run_job(store, &f, &[(&s1, p1), (&s1, p2), (&s2, p1)], T0).await;
    assert_eq!(f.members(&s1, Realized).await, sorted(&[p1, p2]));
    let job = f.jobs.get(&f.ctx, &id).await.unwrap();
    let counts = &job.metrics.segmented_profile_by_status_counter;
    assert_eq!(
        counts[&s1],
        StatusCounts {
            realized: 2,
            existing: 0,
            exited: 0
        }
    );
    assert_eq!(job.metrics.segmented_profile_counter[&s2], 1);
    assert_eq!(
        job.metrics.segmented_profile_by_namespace_counter[&s1]["Email"],
        2
    );

    // Second run: p2 stays, p3 enters, p1 leaves both segments.
    f.clock.set(T0 + 1000);
    f.job(&[&s1, &s2]).await;
    let id = run_job(store, &f, &[(&s1, p2), (&s1, p3)], T0 + 1000).await;
    assert_eq!(f.members(&s1, Existing).await, sorted(&[p2]));
    assert_eq!(f.members(&s1, Realized).await, sorted(&[p3]));
    assert_eq!(f.members(&s1, Exited).await, sorted(&[p1]));
    assert_eq!(f.members(&s2, Exited).await, sorted(&[p1]));
    let job = f.jobs.get(&f.ctx, &id).await.unwrap();
    let counts = &job.metrics.segmented_profile_by_status_counter;
    assert_eq!(
        counts[&s1],
        StatusCounts {
            realized: 1,
            existing: 1,
            exited: 1
        }
    );
    assert_eq!(
        counts[&s2],
        StatusCounts {
            realized: 0,
            existing: 0,
            exited: 1
        }
    );
    assert_eq!(job.metrics.segmented_profile_counter[&s2], 0);

    // Third run: p1 re-enters (realized), the others leave; p1's old exit in s2 is kept.
    f.clock.set(T0 + 2000);
    f.job(&[&s1, &s2]).await;
    run_job(store, &f, &[(&s1, p1)], T0 + 2000).await;
    assert_eq!(f.members(&s1, Realized).await, sorted(&[p1]));
    assert_eq!(f.members(&s1, Exited).await, sorted(&[p2, p3]));
    assert_eq!(f.members(&s2, Exited).await, sorted(&[p1]));
    let m1 = store.memberships_of_profile(f.tenant(), p1).await.unwrap();
    let in_s1 = m1.iter().find(|m| m.segment_id == s1).unwrap();
    assert_eq!(
        (in_s1.last_qualification_time_ms, in_s1.version),
        (T0 + 2000, 1)
    );
    let m = store.memberships_of_profile(f.tenant(), p1).await.unwrap();
    let in_s2 = m.iter().find(|m| m.segment_id == s2).unwrap();
    assert_eq!(
        in_s2.last_qualification_time_ms,
        T0 + 1000,
        "an exit that stays out keeps the time it was asserted"
    );
}

async fn a_lost_lease_writes_nothing(store: &Store) {
    let f = fixture(store, 10);
    let s1 = f.definition("s1", "true").await;
    let p = f.profiles(&["a@x"]).await;
    f.job(&[&s1]).await;
    store.queue_new_jobs(T0).await.unwrap();
    let (a, job) = store.claim_job("a", T0, LEASE).await.unwrap().unwrap();
    assert!(store.claim_job("b", T0 + 1, LEASE).await.unwrap().is_none());
    // a stops renewing; once the lease lapses b takes over.
    let (b, again) = store
        .claim_job("b", T0 + LEASE + 1, LEASE)
        .await
        .unwrap()
        .expect("lapsed lease is taken over");
    assert_eq!((again.id.as_str(), b.attempt), (job.id.as_str(), 2));
    let rows = pairs(&[(&s1, &p[0])]);
    let late = T0 + LEASE + 2;
    assert_eq!(
        store
            .stage_job_page(
                &a,
                &store.staging_layout(&a).await.unwrap(),
                &rows,
                1,
                late,
                LEASE
            )
            .await
            .unwrap(),
        LeaseCheck::Lost
    );
    assert_eq!(
        store.renew_job_lease(&a, late, LEASE).await.unwrap(),
        LeaseCheck::Lost
    );
    let (check, _) = store
        .commit_job(&a, job.metrics.clone(), 1, T0, &Clock::manual(late))
        .await
        .unwrap();
    assert_eq!(check, LeaseCheck::Lost);
    assert!(f.members(&s1, Realized).await.is_empty());
    // b commits with nothing staged: no members.
    let (check, _) = store
        .commit_job(&b, job.metrics.clone(), 1, T0, &Clock::manual(late))
        .await
        .unwrap();
    assert_eq!(check, LeaseCheck::Held);
    let done = f.jobs.get(&f.ctx, &job.id).await.unwrap();
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 2));
    assert!(f.members(&s1, Realized).await.is_empty());
}

async fn cancels_end_without_touching_memberships(store: &Store) {
    let f = fixture(store, 10);
    let s1 = f.definition("s1", "true").await;
    let p = f.profiles(&["a@x"]).await;
    // A job cancelled before any worker saw it is finished by the next claim.
    let queued = f.job(&[&s1]).await;
    let cancelled = f.jobs.cancel(&f.ctx, &queued).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelling);
    let (lease, job) = store.claim_job("w", T0, LEASE).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Cancelling);
    store
        .cancel_job_run(&lease, &job.metrics, T0)
        .await
        .unwrap();
    assert_eq!(
        f.jobs.get(&f.ctx, &queued).await.unwrap().status,
        JobStatus::Cancelled
    );
    // Cancelling a terminal job changes nothing.
    let again = f.jobs.cancel(&f.ctx, &queued).await.unwrap();
    assert_eq!(again.status, JobStatus::Cancelled);

    // A processing job: the cancel is seen at the next page, staging is dropped.
    let running = f.job(&[&s1]).await;
    store.queue_new_jobs(T0).await.unwrap();
    let (lease, job) = store.claim_job("w", T0, LEASE).await.unwrap().unwrap();
    assert_eq!(job.id, running);
    let rows = pairs(&[(&s1, &p[0])]);
    store
        .stage_job_page(
            &lease,
            &store.staging_layout(&lease).await.unwrap(),
            &rows,
            1,
            T0,
            LEASE,
        )
        .await
        .unwrap();
    f.jobs.cancel(&f.ctx, &running).await.unwrap();
    assert_eq!(
        store
            .stage_job_page(
                &lease,
                &store.staging_layout(&lease).await.unwrap(),
                &rows,
                1,
                T0,
                LEASE
            )
            .await
            .unwrap(),
        LeaseCheck::Cancelling
    );
    assert_eq!(
        store.renew_job_lease(&lease, T0, LEASE).await.unwrap(),
        LeaseCheck::Cancelling
    );
    let (check, _) = store
        .commit_job(&lease, job.metrics.clone(), 1, T0, &Clock::manual(T0))
        .await
        .unwrap();
    assert_eq!(
        check,
        LeaseCheck::Cancelling,
        "a cancelled job never commits"
    );
    store
        .cancel_job_run(&lease, &job.metrics, T0)
        .await
        .unwrap();
    assert_eq!(
        f.jobs.get(&f.ctx, &running).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert!(f.members(&s1, Realized).await.is_empty());
}

async fn released_jobs_are_taken_over_at_once(store: &Store) {
    let f = fixture(store, 10);
    let s1 = f.definition("s1", "true").await;
    f.job(&[&s1]).await;
    store.queue_new_jobs(T0).await.unwrap();
    let (a, _) = store.claim_job("a", T0, LEASE).await.unwrap().unwrap();
    store.release_job(&a).await.unwrap();
    let (b, job) = store.claim_job("b", T0 + 1, LEASE).await.unwrap().unwrap();
    assert_eq!((b.attempt, job.status), (2, JobStatus::Processing));
    store
        .fail_job(
            &b,
            &[crate::domain::JobError::new("x", "why")],
            &job.metrics,
            T0 + 2,
        )
        .await
        .unwrap();
    let failed = f.jobs.get(&f.ctx, &job.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.errors[0].message, "why");
}

async fn the_running_limit_is_per_sandbox(store: &Store) {
    let f = fixture(store, 1);
    let s1 = f.definition("s1", "true").await;
    let first = f.job(&[&s1]).await;
    let input = JobInput {
        segments: JobSegments::All,
        evaluation_time_ms: Some(T0 - 86_400_000),
    };
    let err = f.jobs.create(&f.ctx, input.clone()).await.unwrap_err();
    assert!(matches!(err, Error::ResourceExhausted { .. }), "{err}");
    assert!(err.to_string().contains("max_running_jobs_per_sandbox"));
    // Another sandbox has its own budget (and its own, empty, set of definitions).
    let dev = ctx("ORG1", "dev");
    let err = f.jobs.create(&dev, input.clone()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    // Once the first job ends, there is room again.
    f.jobs.cancel(&f.ctx, &first).await.unwrap();
    let (lease, job) = store.claim_job("w", T0, LEASE).await.unwrap().unwrap();
    store
        .cancel_job_run(&lease, &job.metrics, T0)
        .await
        .unwrap();
    let job = f.jobs.create(&f.ctx, input).await.unwrap();
    assert!(job.all_segments);
    assert_eq!(job.evaluation_time_ms, T0 - 86_400_000);
    assert_eq!(job.segments[0].segment_id, s1);
}

async fn unknown_definitions_are_listed(store: &Store) {
    let f = fixture(store, 10);
    let s1 = f.definition("s1", "person.age > 3").await;
    let input = JobInput {
        segments: JobSegments::Ids(vec![s1.clone(), "nope-1".into(), "nope-2".into()]),
        evaluation_time_ms: None,
    };
    let err = f.jobs.create(&f.ctx, input).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("nope-1") && msg.contains("nope-2") && !msg.contains(&s1),
        "{msg}"
    );
    let job = f.jobs.get(&f.ctx, &f.job(&[&s1]).await).await.unwrap();
    assert_eq!(job.segments[0].expression, "person.age > 3");
    assert_eq!((job.segments[0].version, job.status), (1, JobStatus::New));
    // Another tenant does not see it.
    let other = ctx("ORG2", "prod");
    assert!(matches!(
        f.jobs.get(&other, &job.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn lists_filter_sort_and_page(store: &Store) {
    let f = fixture(store, 10);
    let (s1, s2) = (
        f.definition("s1", "true").await,
        f.definition("s2", "true").await,
    );
    let a = f.job(&[&s1]).await;
    let b = f.job(&[&s1, &s2]).await;
    let c = f.job(&[&s2]).await;
    f.jobs.cancel(&f.ctx, &c).await.unwrap();
    let list = |q: JobListQuery| async { f.jobs.list(&f.ctx, q).await.unwrap() };
    let ids = |l: &crate::domain::JobList| -> Vec<String> {
        l.page.items.iter().map(|j| j.id.clone()).collect()
    };
    let all = list(JobListQuery::default()).await;
    assert_eq!(all.page.total_count, 3);
    let with_s1 = list(JobListQuery {
        property: Some(format!("segments~segmentId=={s1}")),
        sort: Some("creationTime:asc".into()),
        ..JobListQuery::default()
    })
    .await;
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    let mut got = ids(&with_s1);
    got.sort();
    assert_eq!(got, expected);
    let cancelling = list(JobListQuery {
        status: Some(JobStatus::Cancelling),
        ..JobListQuery::default()
    })
    .await;
    assert_eq!(ids(&cancelling), vec![c.clone()]);
    let first = list(JobListQuery {
        limit: Some(2),
        ..JobListQuery::default()
    })
    .await;
    assert_eq!(first.page.items.len(), 2);
    let second = list(JobListQuery {
        limit: Some(2),
        page_token: first.page.next_page_token.clone(),
        ..JobListQuery::default()
    })
    .await;
    assert_eq!(second.page.items.len(), 1);
    assert!(second.page.next_page_token.is_none());
    let mut seen = ids(&first);
    seen.extend(ids(&second));
    seen.sort();
    let mut every = vec![a, b, c];
    every.sort();
    assert_eq!(seen, every);
    assert!(
        f.jobs
            .list(
                &f.ctx,
                JobListQuery {
                    property: Some("name==x".into()),
                    ..JobListQuery::default()
                }
            )
            .await
            .is_err()
    );
}

/// A long write (a job's commit holds the writer for seconds on a big sandbox) does not hold up
/// reads: on SQLite they use their own read-only connections and see the last commit.
async fn reads_do_not_wait_for_a_long_write(store: &Store) {
    use sea_orm::TransactionTrait;
    let f = fixture(store, 10);
    let s1 = f.definition("s1", "true").await;
    let id = f.job(&[&s1]).await;
    let txn = store.db.begin().await.unwrap();
    // The writer is taken (on SQLite the pool's only writing connection) until the rollback.
    let write = store
        .request_job_cancel_in(&txn, f.tenant(), &id, T0)
        .await
        .unwrap();
    assert_eq!(write.status, JobStatus::Cancelling);
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        (
            f.jobs.get(&f.ctx, &id).await,
            f.jobs.list(&f.ctx, JobListQuery::default()).await,
            store.ping().await,
        )
    })
    .await
    .expect("reads answer while a write transaction is open");
    assert_eq!(
        read.0.unwrap().status,
        JobStatus::New,
        "the last commit, not the open write"
    );
    assert_eq!(read.1.unwrap().page.total_count, 1);
    read.2.unwrap();
    txn.rollback().await.unwrap();
}

store_tests!(
    reads_do_not_wait_for_a_long_write,
    statuses_follow_each_run,
    a_lost_lease_writes_nothing,
    cancels_end_without_touching_memberships,
    released_jobs_are_taken_over_at_once,
    the_running_limit_is_per_sandbox,
    unknown_definitions_are_listed,
    lists_filter_sort_and_page,
);
