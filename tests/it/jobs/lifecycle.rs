//! Membership life across jobs: a first run realizes everyone; after the data changes a second
//! run keeps the stayers as `existing`, marks the leavers `exited` and the newcomers `realized`;
//! a third run realizes those who come back and keeps older exits. The job's counters equal the
//! member lists every time.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::service::{Options, TestServer, backends, spawn_server_with};
use pb::MembershipStatus::{Existing, Exited, Realized};

const ORG: &str = "JOBSLIFE01@AdobeOrg";
const DAY: i64 = 86_400_000;

/// Moves generated profiles `range` into the US (or out of it, for those first there), or back
/// to where they first were.
async fn move_country(sb: &Sandbox, range: std::ops::Range<u64>, back: bool) {
    let opts = gen_options(5, 3);
    let records: Vec<String> = range
        .map(|i| {
            let g = datagen::profile(&opts, i);
            let first = g.profile["homeAddress"]["countryCode"]
                .as_str()
                .unwrap_or("FR")
                .to_owned();
            let country = match (back, first == "US") {
                (true, _) => first,
                (false, true) => "FR".to_owned(),
                (false, false) => "US".to_owned(),
            };
            serde_json::json!({
                "identityMap": {"ECID": g.profile["identityMap"]["ECID"].clone()},
                "homeAddress": {"countryCode": country},
            })
            .to_string()
        })
        .collect();
    sb.profiles()
        .upsert_profiles(pb::UpsertProfilesRequest { records })
        .await
        .expect("update profiles");
}

async fn expected_us(server: &TestServer, sb: &Sandbox) -> BTreeSet<String> {
    let store = server.store().await;
    let file = export(&store, &sb.caller, &BTreeMap::new()).await;
    store.close().await.expect("close");
    cli_eval(file.path(), US)
}

async fn by_status(sb: &Sandbox, seg: &str) -> [BTreeSet<String>; 3] {
    [
        sb.members(seg, &[Realized]).await,
        sb.members(seg, &[Existing]).await,
        sb.members(seg, &[Exited]).await,
    ]
}

fn counts(job: &pb::SegmentJob, seg: &str) -> (i64, i64, i64, i64) {
    let m = job.metrics.as_ref().expect("metrics");
    let c = m.segmented_profile_by_status_counter[seg];
    (
        c.realized,
        c.existing,
        c.exited,
        m.segmented_profile_counter[seg],
    )
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.difference(b).cloned().collect()
}

fn both(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.intersection(b).cloned().collect()
}

fn n(s: &BTreeSet<String>) -> i64 {
    s.len() as i64
}

#[tokio::test]
async fn statuses_follow_entries_stays_exits_and_returns() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let sb = Sandbox::new(&server, ORG);
        sb.ingest(&gen_options(5, 3), 0..150).await;
        let us = sb.define("us", US).await;

        // Run 1: everyone realized.
        let m1 = expected_us(&server, &sb).await;
        let job1 = sb.run(&[&us], Some(NOW)).await.pop().expect("job");
        assert_eq!(job1.status, pb::JobStatus::Succeeded as i32);
        let [r, e, x] = by_status(&sb, &us).await;
        assert_eq!((&r, e.len(), x.len()), (&m1, 0, 0));
        assert_eq!(counts(&job1, &us), (n(&m1), 0, 0, n(&m1)));

        // Run 2: 40 profiles change country.
        move_country(&sb, 0..40, false).await;
        let m2 = expected_us(&server, &sb).await;
        assert!(!diff(&m1, &m2).is_empty() && !diff(&m2, &m1).is_empty());
        let job2 = sb.run(&[&us], Some(NOW + DAY)).await.pop().expect("job");
        let [r, e, x] = by_status(&sb, &us).await;
        assert_eq!(r, diff(&m2, &m1), "newcomers are realized");
        assert_eq!(e, both(&m1, &m2), "stayers are existing");
        assert_eq!(x, diff(&m1, &m2), "leavers are exited");
        assert_eq!(
            counts(&job2, &us),
            (n(&r), n(&e), n(&x), n(&m2)),
            "counters equal the member lists"
        );

        // Run 3: the first 20 move back: leavers of run 2 among them return (realized), the
        // newcomers of run 2 among them leave; older exits that stay out are kept.
        move_country(&sb, 0..20, true).await;
        let m3 = expected_us(&server, &sb).await;
        let job3 = sb
            .run(&[&us], Some(NOW + 2 * DAY))
            .await
            .pop()
            .expect("job");
        let [r, e, x] = by_status(&sb, &us).await;
        assert_eq!(r, diff(&m3, &m2));
        assert!(!both(&r, &diff(&m1, &m2)).is_empty(), "someone came back");
        assert_eq!(e, both(&m2, &m3));
        let exited_now = diff(&m2, &m3);
        let still_out = diff(&diff(&m1, &m2), &m3);
        assert!(!still_out.is_empty());
        assert_eq!(x, exited_now.union(&still_out).cloned().collect());
        assert_eq!(counts(&job3, &us), (n(&r), n(&e), n(&exited_now), n(&m3)));

        // Times and versions: this job's instant on what it wrote, the older exit keeps its own.
        let old = still_out.iter().next().expect("an old exit");
        assert_eq!(membership_of(&sb, old, &us).await, (NOW + DAY, 1));
        if let Some(fresh) = exited_now.iter().next() {
            assert_eq!(membership_of(&sb, fresh, &us).await, (NOW + 2 * DAY, 1));
        }
        server.stop().await;
    }
}

/// `(lastQualificationTime, version)` of a profile's membership in `segment`.
async fn membership_of(sb: &Sandbox, profile: &str, segment: &str) -> (i64, i64) {
    let p = sb
        .profiles()
        .get_profile(pb::GetProfileRequest {
            lookup: Some(pb::get_profile_request::Lookup::ProfileId(profile.into())),
        })
        .await
        .expect("profile")
        .into_inner()
        .profile
        .expect("profile");
    let m = p
        .memberships
        .into_iter()
        .find(|m| m.segment_id == segment)
        .expect("a membership row");
    (m.last_qualification_time_ms, m.version)
}
