//! The engine on a real store (SQLite, and PostgreSQL when configured): jobs created through the
//! job service are claimed, run and committed by spawned workers; results agree with evaluating
//! each definition directly on the same documents; `inSegment` inside a job reads the job's own
//! results; a worker shutting down releases its job to the next worker.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Engine, EngineOptions};
use crate::context::RequestContext;
use crate::domain::job::{JobInput, JobSegments, JobStatus, SegmentJob};
use crate::domain::{
    Clock, DefinitionInput, DefinitionService, ExpressionInput, JobLimits, JobService,
    MemberListQuery, ProfileService,
};
use crate::pql::{self, MembershipStatus, NoMemberships, Value};
use crate::store::Store;
use crate::store::test_support::{ctx, store_tests};

/// 2024-06-15T12:00:00Z
const NOW: i64 = 1_718_452_800_000;

struct Setup {
    ctx: RequestContext,
    jobs: JobService,
    definitions: DefinitionService,
    profiles: ProfileService,
}

fn setup(store: &Store) -> Setup {
    let clock = Clock::manual(NOW);
    Setup {
        ctx: ctx("ORG1", "prod"),
        jobs: JobService::with_clock(
            store.clone(),
            clock.clone(),
            JobLimits {
                max_running_per_sandbox: 20,
            },
        ),
        definitions: DefinitionService::with_clock(store.clone(), clock.clone()),
        profiles: ProfileService::with_clock(store.clone(), clock),
    }
}

fn options(page_size: u64, threads: usize) -> EngineOptions {
    EngineOptions {
        workers: 1,
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
        page_size,
        page_pause: Duration::ZERO,
        threads,
    }
}

struct Running {
    tasks: JoinSet<Result<(), ()>>,
    stop: watch::Sender<bool>,
}

fn start(store: &Store, s: &Setup, options: EngineOptions) -> Running {
    let (stop, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    Engine::new(store.clone(), options, s.jobs.wake_signal()).spawn(&mut tasks, &rx);
    Running { tasks, stop }
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Setup {
    async fn define(&self, name: &str, pql: &str) -> String {
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

    async fn ingest(&self, n: usize) {
        let people: Vec<String> = (0..n)
            .map(|i| {
                let country = ["US", "FR", "JP"][i % 3];
                json!({
                    "identityMap": {"Email": [{"id": format!("p{i}@x.com")}]},
                    "person": {"age": 18 + (i % 50)},
                    "homeAddress": {"countryCode": country},
                })
                .to_string()
            })
            .collect();
        for chunk in people.chunks(500) {
            self.profiles
                .upsert_profiles(&self.ctx, chunk.to_vec())
                .await
                .unwrap();
        }
        let events: Vec<String> = (0..n)
            .flat_map(|i| {
                (0..i % 4).map(move |k| {
                    let kind = if k % 2 == 0 {
                        "commerce.purchases"
                    } else {
                        "web.webpagedetails.pageViews"
                    };
                    json!({
                        "_id": format!("e{i}-{k}"),
                        "timestamp": format!("2024-06-{:02}T10:00:00Z", 1 + k * 4),
                        "eventType": kind,
                        "identityMap": {"Email": [{"id": format!("p{i}@x.com")}]},
                    })
                    .to_string()
                })
            })
            .collect();
        for chunk in events.chunks(500) {
            self.profiles
                .ingest_events(&self.ctx, chunk.to_vec())
                .await
                .unwrap();
        }
    }

    async fn run(&self, segments: JobSegments) -> SegmentJob {
        let input = JobInput {
            segments,
            evaluation_time_ms: None,
        };
        let job = self.jobs.create(&self.ctx, input).await.unwrap();
        self.wait(&job.id).await
    }

    async fn wait(&self, id: &str) -> SegmentJob {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.jobs.get(&self.ctx, id).await.unwrap();
            if job.status.is_terminal() {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} still {:?}",
                job.status
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn members(&self, segment: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut token = None;
        loop {
            let q = MemberListQuery {
                segment_id: segment.into(),
                statuses: vec![],
                page_token: token,
                limit: Some(1000),
            };
            let page = self
                .profiles
                .list_segment_members(&self.ctx, q)
                .await
                .unwrap();
            out.extend(page.items.into_iter().map(|m| m.profile_id));
            token = page.next_page_token;
            if token.is_none() {
                return out;
            }
        }
    }
}

/// What a definition selects when evaluated directly on each stored profile (no `inSegment`).
async fn direct(store: &Store, s: &Setup, pql_text: &str) -> BTreeSet<String> {
    let program = pql::compile_text(pql_text).unwrap();
    let mut out = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .stream_profiles_page(&s.ctx.tenant, after.as_deref(), 500)
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = Some(last.profile_id.clone());
        for p in &page {
            let profile = Value::from_json(&serde_json::Value::Object(p.document.clone()));
            let events = Value::array(
                p.events
                    .iter()
                    .map(|e| Value::from_json(&serde_json::Value::Object(e.document.clone())))
                    .collect(),
            );
            let ctx = pql::EvalContext {
                profile: &profile,
                events: &events,
                memberships: &NoMemberships,
                now: NOW,
            };
            if program.matches(&ctx) {
                out.insert(p.profile_id.clone());
            }
        }
    }
}

const ADULTS_US: &str = r#"homeAddress.countryCode = "US" and person.age >= 40"#;
const BUYERS: &str = r#"xEvent[eventType = "commerce.purchases"].count() >= 2"#;
const RECENT: &str = r#"xEvent[timestamp occurs < 7 days before now].count() > 0"#;

async fn jobs_agree_with_direct_evaluation(store: &Store) {
    let s = setup(store);
    s.ingest(700).await;
    let ids = [
        s.define("adults", ADULTS_US).await,
        s.define("buyers", BUYERS).await,
        s.define("recent", RECENT).await,
    ];
    let both = s
        .define(
            "both",
            &format!(r#"inSegment("{}") and inSegment("{}")"#, ids[0], ids[1]),
        )
        .await;
    let engine = start(store, &s, options(64, 3));
    let job = s.run(JobSegments::All).await;
    engine.stop().await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.errors);
    assert_eq!(job.metrics.total_profiles, 700);
    assert_eq!(job.progress.profiles_done, 700);
    assert_eq!(
        job.metrics.total_profiles_by_merge_policy["ups-default"],
        700
    );
    let mut expected = Vec::new();
    for (id, text) in ids.iter().zip([ADULTS_US, BUYERS, RECENT]) {
        let want = direct(store, &s, text).await;
        assert!(
            !want.is_empty() && want.len() < 700,
            "{text}: a useful test set"
        );
        assert_eq!(s.members(id).await, want, "{text}");
        assert_eq!(job.metrics.segmented_profile_counter[id], want.len() as u64);
        assert_eq!(
            job.metrics.segmented_profile_by_namespace_counter[id]["Email"],
            want.len() as u64
        );
        expected.push(want);
    }
    let want_both: BTreeSet<String> = expected[0].intersection(&expected[1]).cloned().collect();
    assert_eq!(
        s.members(&both).await,
        want_both,
        "inSegment reads this job's results"
    );
    let times = job.metrics.profile_segmentation_time;
    assert!(times.start_ms.is_some() && times.total_ms().is_some_and(|t| t >= 0));
}

async fn external_references_read_stored_memberships(store: &Store) {
    let s = setup(store);
    s.ingest(90).await;
    let adults = s.define("adults", ADULTS_US).await;
    let of_adults = s
        .define("of-adults", &format!(r#"inSegment("{adults}")"#))
        .await;
    let engine = start(store, &s, options(1000, 1));
    // Before `adults` ever ran, nobody is in it, so nobody is in `of-adults`.
    let first = s.run(JobSegments::Ids(vec![of_adults.clone()])).await;
    assert_eq!(first.status, JobStatus::Succeeded, "{:?}", first.errors);
    assert!(s.members(&of_adults).await.is_empty());
    let second = s.run(JobSegments::Ids(vec![adults.clone()])).await;
    assert_eq!(second.status, JobStatus::Succeeded);
    let third = s.run(JobSegments::Ids(vec![of_adults.clone()])).await;
    engine.stop().await;
    assert_eq!(third.status, JobStatus::Succeeded);
    assert_eq!(s.members(&of_adults).await, s.members(&adults).await);
    assert!(!s.members(&adults).await.is_empty());
    let counts = third.metrics.segmented_profile_by_status_counter[&of_adults];
    assert_eq!(counts.realized as usize, s.members(&adults).await.len());
}

async fn an_empty_sandbox_succeeds_with_zero_counts(store: &Store) {
    let s = setup(store);
    let a = s.define("a", "person.age > 1").await;
    let engine = start(store, &s, options(100, 2));
    let job = s.run(JobSegments::Ids(vec![a.clone()])).await;
    engine.stop().await;
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.metrics.total_profiles, 0);
    assert_eq!(job.metrics.segmented_profile_counter[&a], 0);
    assert_eq!(job.attempts, 1);
}

async fn shutdown_releases_the_job_to_the_next_worker(store: &Store) {
    let s = setup(store);
    s.ingest(300).await;
    let a = s.define("a", ADULTS_US).await;
    let mut slow = options(10, 1);
    slow.page_pause = Duration::from_millis(30);
    let first = start(store, &s, slow);
    let input = JobInput {
        segments: JobSegments::Ids(vec![a.clone()]),
        evaluation_time_ms: None,
    };
    let job = s.jobs.create(&s.ctx, input).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let j = s.jobs.get(&s.ctx, &job.id).await.unwrap();
        if j.progress.profiles_done > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "job never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.stop().await;
    let released = s.jobs.get(&s.ctx, &job.id).await.unwrap();
    assert_eq!(released.status, JobStatus::Processing);
    assert_eq!(released.worker, None, "the lease was given back");
    assert!(s.members(&a).await.is_empty(), "nothing half-written");
    let second = start(store, &s, options(100, 2));
    let done = s.wait(&job.id).await;
    second.stop().await;
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(s.members(&a).await, direct(store, &s, ADULTS_US).await);
    let exited = store
        .list_segment_members(&s.ctx.tenant, &a, &[MembershipStatus::Exited], None, 10)
        .await
        .unwrap();
    assert_eq!(exited.1, 0);
}

store_tests!(
    jobs_agree_with_direct_evaluation,
    external_references_read_stored_memberships,
    an_empty_sandbox_succeeds_with_zero_counts,
    shutdown_releases_the_job_to_the_next_worker,
);
