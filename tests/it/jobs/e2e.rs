//! A job end to end over gRPC: generated profiles and events ingested, definitions created
//! (one reading two others with `inSegment`), a job created and watched to its end, members read
//! back, and every segment compared with what `segmentation pql eval` selects from an export of
//! the same data at the same instant.

use std::collections::BTreeMap;

use super::*;
use crate::service::{Options, backends, spawn_server_with};

const ORG: &str = "JOBSE2E01@AdobeOrg";

#[tokio::test]
async fn a_job_over_generated_data_matches_the_cli() {
    for backend in backends().await {
        let server = spawn_server_with(
            backend,
            Options {
                job_page_size: Some(97),
                ..Options::default()
            },
        )
        .await;
        let sb = Sandbox::new(&server, ORG);
        sb.ingest(&gen_options(11, 30), 0..600).await;
        let mut ids = Vec::new();
        for (name, pql) in [
            ("us", US),
            ("loyal", LOYAL),
            ("buyers", BUYERS),
            ("recent", RECENT),
            ("big", BIG_SPENDERS),
        ] {
            ids.push((sb.define(name, pql).await, pql.to_owned()));
        }
        let both_pql = format!(r#"inSegment("{}") and inSegment("{}")"#, ids[0].0, ids[2].0);
        let both = sb.define("us-buyers", &both_pql).await;
        let mut all: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
        all.push(&both);

        let messages = sb.run(&all, Some(NOW)).await;
        let job = messages.last().expect("final").clone();
        assert_eq!(
            job.status,
            pb::JobStatus::Succeeded as i32,
            "{:?}",
            job.errors
        );
        let path = status_path(&messages);
        let order = [
            pb::JobStatus::New,
            pb::JobStatus::Queued,
            pb::JobStatus::Processing,
            pb::JobStatus::Succeeded,
        ];
        let mut at = 0;
        for s in &path {
            let pos = order.iter().position(|o| o == s).expect("a forward status");
            assert!(pos >= at, "statuses move forward: {path:?}");
            at = pos;
        }
        assert_eq!(job.attempts, 1);
        // Generated people sometimes share an email, which stitches them into one profile.
        let profiles = sb
            .profiles()
            .list_profiles(pb::ListProfilesRequest::default())
            .await
            .expect("profiles")
            .into_inner()
            .total_size;
        assert!(profiles > 550);
        assert_eq!(
            (job.profiles_done, job.profiles_total),
            (profiles, profiles)
        );
        assert_eq!(job.evaluation_time_ms, NOW);
        assert_eq!(job.segments.len(), 6);
        let metrics = job.metrics.clone().expect("metrics");
        assert_eq!(metrics.total_profiles, profiles);
        assert_eq!(
            metrics.total_profiles_by_merge_policy["ups-default"],
            profiles
        );
        let window = metrics.profile_segmentation_time.expect("window");
        assert!(window.end_time_ms >= window.start_time_ms && window.start_time_ms > 0);

        // The CLI on an export of the same data at the same instant.
        let store = server.store().await;
        let file = export(&store, &sb.caller, &BTreeMap::new()).await;
        let mut cli = BTreeMap::new();
        for (id, pql) in &ids {
            let want = cli_eval(file.path(), pql);
            assert!(
                !want.is_empty() && (want.len() as i64) < profiles,
                "{pql} selects a real part of the data ({})",
                want.len()
            );
            assert_eq!(sb.members(id, &[]).await, want, "{pql}");
            assert_eq!(
                sb.members(id, &[pb::MembershipStatus::Realized]).await,
                want,
                "first run: every member is realized"
            );
            assert_eq!(metrics.segmented_profile_counter[id], want.len() as i64);
            let by_status = metrics.segmented_profile_by_status_counter[id];
            assert_eq!(
                (by_status.realized, by_status.existing, by_status.exited),
                (want.len() as i64, 0, 0)
            );
            // Every generated profile has an ECID and an Email identity.
            let ns = &metrics.segmented_profile_by_namespace_counter[id].counts;
            assert_eq!(
                (ns["ECID"], ns["Email"]),
                (want.len() as i64, want.len() as i64)
            );
            cli.insert(id.clone(), want);
        }
        let with_members = export(&store, &sb.caller, &cli).await;
        let want_both = cli_eval(with_members.path(), &both_pql);
        assert!(!want_both.is_empty());
        assert_eq!(
            sb.members(&both, &[]).await,
            want_both,
            "inSegment inside one job"
        );

        // Memberships on the profile, with the job's instant and the definition version.
        let some = want_both.iter().next().expect("a member").clone();
        let profile = sb
            .profiles()
            .get_profile(pb::GetProfileRequest {
                lookup: Some(pb::get_profile_request::Lookup::ProfileId(some)),
            })
            .await
            .expect("profile")
            .into_inner()
            .profile
            .expect("profile");
        let m = profile
            .memberships
            .iter()
            .find(|m| m.segment_id == both)
            .expect("membership of us-buyers");
        assert_eq!(m.status, pb::MembershipStatus::Realized as i32);
        assert_eq!((m.last_qualification_time_ms, m.version), (NOW, 1));

        list_and_batch_get_find_the_job(&sb, &job, &both).await;
        store.close().await.expect("close");
        server.stop().await;
    }
}

async fn list_and_batch_get_find_the_job(sb: &Sandbox, job: &pb::SegmentJob, segment: &str) {
    let mut client = sb.jobs();
    let listed = client
        .list_segment_jobs(pb::ListSegmentJobsRequest {
            property_filter: format!("segments~segmentId=={segment}"),
            status: pb::JobStatus::Succeeded as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.total_size, 1);
    assert_eq!(listed.segment_jobs[0].id, job.id);
    assert_eq!(listed.order_by, "creationTime:desc");
    let none = client
        .list_segment_jobs(pb::ListSegmentJobsRequest {
            property_filter: "segments~segmentId==no-such-segment".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(none.total_size, 0);
    let batch = client
        .batch_get_segment_jobs(pb::BatchGetSegmentJobsRequest {
            ids: vec![job.id.clone(), "nope".into()],
        })
        .await
        .expect("batch get")
        .into_inner();
    use pb::segment_job_result::Result as Outcome;
    assert!(matches!(&batch.results[0].result, Some(Outcome::SegmentJob(j)) if j.id == job.id));
    assert!(matches!(&batch.results[1].result, Some(Outcome::Error(e)) if e.reason == "not_found"));
    // Another org sees nothing.
    let other = Caller::new("JOBSE2E02@AdobeOrg", "prod");
    let status = Sandbox {
        channel: sb.channel.clone(),
        caller: other,
    }
    .jobs()
    .get_segment_job(pb::GetSegmentJobRequest { id: job.id.clone() })
    .await
    .expect_err("another tenant's job");
    assert_eq!(status.code(), tonic::Code::NotFound);
}
