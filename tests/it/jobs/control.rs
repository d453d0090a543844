//! Cancelling, failing and refusing jobs: a cancel while processing leaves the earlier
//! memberships exactly as they were; a definition whose `inSegment` target was deleted after the
//! job was created fails the job with an error naming both; an empty sandbox succeeds with zero
//! counts; more than 1500 ids, unknown ids and too many unfinished jobs are refused.

use std::time::Duration;

use segmentation::engine::{Engine, EngineOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::Code;

use super::*;
use crate::service::{Options, backends, spawn_server_with};

const ORG: &str = "JOBSCTL01@AdobeOrg";

#[tokio::test]
async fn cancelling_a_processing_job_leaves_earlier_memberships_alone() {
    for backend in backends().await {
        let slow = Options {
            job_page_size: Some(20),
            job_page_pause_ms: Some(40),
            ..Options::default()
        };
        let server = spawn_server_with(backend, slow).await;
        let sb = Sandbox::new(&server, ORG);
        sb.ingest(&gen_options(3, 2), 0..400).await;
        let us = sb.define("us", US).await;
        let first = sb.run(&[&us], Some(NOW)).await.pop().expect("job");
        assert_eq!(first.status, pb::JobStatus::Succeeded as i32);
        let before = sb.members(&us, &[]).await;
        assert!(!before.is_empty());

        // Everyone's country changes, then a second job starts and is cancelled midway.
        let records: Vec<String> = (0..400)
            .map(|i| {
                let g = datagen::profile(&gen_options(3, 2), i);
                serde_json::json!({"identityMap": {"ECID": g.profile["identityMap"]["ECID"].clone()},
                                   "homeAddress": {"countryCode": "US"}})
                .to_string()
            })
            .collect();
        sb.profiles()
            .upsert_profiles(pb::UpsertProfilesRequest { records })
            .await
            .expect("update");
        let job = sb.create(&[&us], Some(NOW + 1)).await;
        assert_eq!(job.status, pb::JobStatus::New as i32);
        let ok = crate::service::eventually(Duration::from_secs(60), || async {
            let j = sb.get(&job.id).await;
            j.status == pb::JobStatus::Processing as i32 && j.profiles_done > 0
        })
        .await;
        assert!(ok, "the job started");
        let cancelled = sb
            .jobs()
            .cancel_segment_job(pb::CancelSegmentJobRequest { id: job.id.clone() })
            .await
            .expect("cancel")
            .into_inner()
            .segment_job
            .expect("job");
        assert_eq!(cancelled.status, pb::JobStatus::Cancelling as i32);
        let end = sb.watch(&job.id).await.pop().expect("final");
        assert_eq!(end.status, pb::JobStatus::Cancelled as i32);
        assert!(end.profiles_done < 400, "stopped before the end");
        assert_eq!(sb.members(&us, &[]).await, before, "memberships untouched");
        assert!(
            sb.members(&us, &[pb::MembershipStatus::Exited])
                .await
                .is_empty()
        );
        // Cancelling it again changes nothing.
        let again = sb
            .jobs()
            .cancel_segment_job(pb::CancelSegmentJobRequest { id: job.id.clone() })
            .await
            .expect("cancel again")
            .into_inner()
            .segment_job
            .expect("job");
        assert_eq!(again.status, pb::JobStatus::Cancelled as i32);
        server.stop().await;
    }
}

/// Starts job workers of this test process on the server's database.
async fn start_workers(
    server: &TestServer,
) -> (Store, JoinSet<Result<(), ()>>, watch::Sender<bool>) {
    let store = server.store().await;
    let options = EngineOptions {
        workers: 1,
        poll_interval: Duration::from_millis(50),
        ..EngineOptions::default()
    };
    let (stop, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    Engine::new(store.clone(), options, Default::default()).spawn(&mut tasks, &rx);
    (store, tasks, stop)
}

#[tokio::test]
async fn a_job_whose_insegment_target_was_deleted_after_creation_fails_and_says_why() {
    for backend in backends().await {
        // An API-only server: jobs wait until the test starts workers.
        let api_only = Options {
            job_workers: Some(0),
            ..Options::default()
        };
        let server = spawn_server_with(backend, api_only).await;
        let sb = Sandbox::new(&server, ORG);
        sb.ingest(&gen_options(4, 2), 0..50).await;
        let us = sb.define("us", US).await;
        let of_us = sb.define("of-us", &format!(r#"inSegment("{us}")"#)).await;
        let job = sb.create(&[&of_us], Some(NOW)).await;
        // The definition stops reading `us`, and `us` is deleted: the job's frozen version of
        // `of-us` still reads it.
        let mut defs = sb.definitions();
        defs.update_segment_definition(pb::UpdateSegmentDefinitionRequest {
            segment_definition: Some(pb::SegmentDefinition {
                id: of_us.clone(),
                name: "of-us".into(),
                expression: Some(pb::Expression {
                    format: pb::ExpressionFormat::PqlText as i32,
                    value: LOYAL.into(),
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("update");
        defs.delete_segment_definition(pb::DeleteSegmentDefinitionRequest { id: us.clone() })
            .await
            .expect("delete");
        assert_eq!(sb.get(&job.id).await.status, pb::JobStatus::New as i32);

        let (store, mut tasks, stop) = start_workers(&server).await;
        let end = sb.watch(&job.id).await.pop().expect("final");
        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
        store.close().await.expect("close");
        assert_eq!(end.status, pb::JobStatus::Failed as i32);
        assert_eq!(end.errors.len(), 1);
        let e = &end.errors[0];
        assert_eq!(e.code, "segment_reference_missing");
        assert!(
            e.message.contains(&of_us) && e.message.contains(&us) && e.message.contains("new job"),
            "{}",
            e.message
        );
        assert!(sb.members(&of_us, &[]).await.is_empty(), "nothing written");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_job_over_an_empty_sandbox_succeeds_and_cancelling_it_after_is_a_no_op() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let sb = Sandbox::new(&server, ORG);
        let us = sb.define("us", US).await;
        let end = sb.run(&["*"], None).await.pop().expect("final");
        assert_eq!(end.status, pb::JobStatus::Succeeded as i32);
        assert!(end.all_segments);
        assert_eq!(end.segments[0].segment_id, us);
        let m = end.metrics.clone().expect("metrics");
        assert_eq!((m.total_profiles, m.segmented_profile_counter[&us]), (0, 0));
        let again = sb
            .jobs()
            .cancel_segment_job(pb::CancelSegmentJobRequest { id: end.id.clone() })
            .await
            .expect("cancel a finished job")
            .into_inner()
            .segment_job
            .expect("job");
        assert_eq!(again.status, pb::JobStatus::Succeeded as i32);
        assert_eq!(again.update_time_ms, end.update_time_ms);
        server.stop().await;
    }
}

#[tokio::test]
async fn refusals_name_the_problem() {
    for backend in backends().await {
        let options = Options {
            job_workers: Some(0),
            max_running_jobs_per_sandbox: Some(2),
            ..Options::default()
        };
        let server = spawn_server_with(backend, options).await;
        let sb = Sandbox::new(&server, ORG);
        let us = sb.define("us", US).await;
        let mut jobs = sb.jobs();
        let too_many: Vec<String> = (0..1501).map(|i| format!("seg-{i}")).collect();
        let status = jobs
            .create_segment_job(pb::CreateSegmentJobRequest {
                segment_ids: too_many,
                evaluation_time_ms: None,
            })
            .await
            .expect_err("1501 ids");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("\"*\""), "{}", status.message());
        let status = jobs
            .create_segment_job(pb::CreateSegmentJobRequest {
                segment_ids: vec![us.clone(), "ghost-1".into(), "ghost-2".into()],
                evaluation_time_ms: None,
            })
            .await
            .expect_err("unknown ids");
        assert_eq!(status.code(), Code::NotFound);
        assert!(
            status.message().contains("ghost-1") && status.message().contains("ghost-2"),
            "{}",
            status.message()
        );
        for _ in 0..2 {
            sb.create(&[&us], None).await;
        }
        let status = jobs
            .create_segment_job(pb::CreateSegmentJobRequest {
                segment_ids: vec![us.clone()],
                evaluation_time_ms: None,
            })
            .await
            .expect_err("a third unfinished job");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("max_running_jobs_per_sandbox"));
        // Another sandbox has its own budget.
        let dev = Sandbox {
            channel: server.channel(),
            caller: Caller::new(ORG, "dev"),
        };
        let dev_us = dev.define("us", US).await;
        dev.jobs()
            .create_segment_job(pb::CreateSegmentJobRequest {
                segment_ids: vec![dev_us],
                evaluation_time_ms: None,
            })
            .await
            .expect("another sandbox");
        let status = jobs
            .watch_segment_job(pb::WatchSegmentJobRequest { id: "nope".into() })
            .await
            .expect_err("watching an unknown job");
        assert_eq!(status.code(), Code::NotFound);
        server.stop().await;
    }
}
