//! Durability: the server process is killed with SIGKILL in the middle of a job; a new process on
//! the same database takes the job over once its lease lapses and finishes it, with the
//! memberships an uninterrupted run gives. Memberships are polled the whole time: they are the
//! previous job's until the one commit, then the new job's, never anything in between.

use std::collections::BTreeMap;
use std::time::Duration;

use super::child::ServerProcess;
use super::*;
use crate::service::{TestDb, backends};
use pb::MembershipStatus::{Existing, Exited, Realized};

const ORG: &str = "JOBSCRASH01@AdobeOrg";
const PROFILES: u64 = 1500;

/// Flags making a job over [`PROFILES`] profiles take a few seconds, with a short lease.
const SLOW: &[&str] = &[
    "--job-workers",
    "1",
    "--job-lease-ms",
    "1500",
    "--job-poll-interval-ms",
    "100",
    "--job-page-size",
    "50",
    "--job-page-pause-ms",
    "60",
];

/// Every membership row of `segment`: profile -> status, read with one query (one page), so
/// the snapshot is consistent.
type Snapshot = BTreeMap<String, &'static str>;

async fn snapshot(sb: &Sandbox, segment: &str) -> Snapshot {
    let page = sb
        .profiles()
        .list_segment_members(pb::ListSegmentMembersRequest {
            segment_id: segment.into(),
            statuses: vec![Realized as i32, Existing as i32, Exited as i32],
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("members")
        .into_inner();
    assert!(page.next_page_token.is_empty(), "one page holds every row");
    page.members
        .into_iter()
        .map(|m| {
            let status = m.membership.expect("membership").status;
            let name = match pb::MembershipStatus::try_from(status) {
                Ok(Realized) => "realized",
                Ok(Existing) => "existing",
                Ok(Exited) => "exited",
                _ => panic!("unexpected status {status}"),
            };
            (m.profile_id, name)
        })
        .collect()
}

/// What a job after `before` gives when `members` qualify.
fn expected_after(before: &Snapshot, members: &BTreeSet<String>) -> Snapshot {
    let mut out = Snapshot::new();
    for (id, status) in before {
        let was_in = *status != "exited";
        match (was_in, members.contains(id)) {
            (true, true) => out.insert(id.clone(), "existing"),
            (true, false) | (false, false) => out.insert(id.clone(), "exited"),
            (false, true) => out.insert(id.clone(), "realized"),
        };
    }
    for id in members {
        out.entry(id.clone()).or_insert("realized");
    }
    out
}

#[tokio::test]
async fn a_job_killed_mid_run_is_finished_after_restart_with_exact_results() {
    for backend in backends().await {
        let (db, url) = TestDb::create(backend).await;
        let mut first = ServerProcess::start(&url, SLOW).await;
        let sb = Sandbox {
            channel: first.channel().await,
            caller: Caller::anonymous(ORG),
        };
        let opts = gen_options(21, 4);
        sb.ingest(&opts, 0..PROFILES).await;
        let us = sb.define("us", US).await;

        // A first, uninterrupted job gives the memberships the second one starts from.
        let job1 = sb.run(&[&us], Some(NOW)).await.pop().expect("job 1");
        assert_eq!(job1.status, pb::JobStatus::Succeeded as i32);
        let before = snapshot(&sb, &us).await;
        assert!(!before.is_empty());

        // Half the profiles change country, and a second job starts.
        let records: Vec<String> = (0..PROFILES / 2)
            .map(|i| {
                let g = datagen::profile(&opts, i);
                let us_now = g.profile["homeAddress"]["countryCode"] == "US";
                serde_json::json!({
                    "identityMap": {"ECID": g.profile["identityMap"]["ECID"].clone()},
                    "homeAddress": {"countryCode": if us_now { "JP" } else { "US" }},
                })
                .to_string()
            })
            .collect();
        for chunk in records.chunks(500) {
            sb.profiles()
                .upsert_profiles(pb::UpsertProfilesRequest {
                    records: chunk.to_vec(),
                })
                .await
                .expect("update");
        }
        let job2 = sb.create(&[&us], Some(NOW + 3_600_000)).await;
        let mut progressed = false;
        for _ in 0..600 {
            let j = sb.get(&job2.id).await;
            assert_ne!(
                j.status,
                pb::JobStatus::Succeeded as i32,
                "too fast to kill"
            );
            assert_eq!(snapshot(&sb, &us).await, before, "nothing visible mid-run");
            if j.profiles_done >= 300 {
                progressed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(progressed, "job 2 got going");
        first.kill9();

        // The job is left PROCESSING under the dead worker's lease.
        let store = Store::connect(&url).await.expect("direct connection");
        let tenant = segmentation::context::Tenant::new(ORG, "prod");
        let orphan = store.get_job(&tenant, &job2.id).await.expect("job row");
        assert_eq!(orphan.status.as_str(), "PROCESSING");
        assert_eq!(orphan.attempts, 1);
        assert!(orphan.progress.profiles_done < PROFILES);

        // The expected outcome is computed before the take-over starts (nothing changes the data
        // meanwhile), so the polls below begin as soon as the second process runs.
        let caller = Caller::anonymous(ORG);
        let file = export(&store, &caller, &BTreeMap::new()).await;
        let want = expected_after(&before, &cli_eval(file.path(), US));
        assert_ne!(want, before);
        let second = ServerProcess::start(&url, SLOW).await;
        let sb = Sandbox {
            channel: second.channel().await,
            caller,
        };
        let mut seen_states = 0;
        let end = loop {
            let j = sb.get(&job2.id).await;
            let now = snapshot(&sb, &us).await;
            assert!(
                now == before || now == want,
                "a half-written state was visible"
            );
            seen_states += 1;
            if terminal(j.status) {
                break j;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(seen_states >= 2, "memberships were read while the job ran");
        assert_eq!(
            end.status,
            pb::JobStatus::Succeeded as i32,
            "{:?}",
            end.errors
        );
        assert_eq!(end.attempts, 2, "taken over once");
        let profiles = sb
            .profiles()
            .list_profiles(pb::ListProfilesRequest::default())
            .await
            .expect("profiles")
            .into_inner()
            .total_size;
        assert_eq!(
            (end.profiles_done, end.profiles_total),
            (profiles, profiles),
            "the take-over evaluated every profile"
        );
        assert_eq!(snapshot(&sb, &us).await, want);
        let counts = end
            .metrics
            .expect("metrics")
            .segmented_profile_by_status_counter[&us];
        let count_of = |s: &str| want.values().filter(|v| **v == s).count() as i64;
        assert_eq!(
            (counts.realized, counts.existing),
            (count_of("realized"), count_of("existing"))
        );
        drop(second);
        store.close().await.expect("close");
        db.drop_database().await;
    }
}
