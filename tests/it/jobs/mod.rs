//! Segment jobs through the service: created, watched and read over gRPC (SegmentJobService),
//! results read back with ProfileService, and checked against the `segmentation pql eval` CLI
//! run on an export of the same data at the same instant. Every test runs on SQLite and, when
//! configured, PostgreSQL (see `service::backends`). The crash and replica tests start the real
//! binary as child processes.

mod child;
mod control;
mod crash;
mod e2e;
mod lifecycle;
mod replicas;
mod rest;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use segmentation::datagen::{self, GenOptions};
use segmentation::store::Store;
use tokio_stream::StreamExt;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::service::{Caller, JobsClient, TestServer, pb};
use pb::profile_service_client::ProfileServiceClient;
use pb::segment_definition_service_client::SegmentDefinitionServiceClient;
use pb::segment_job_service_client::SegmentJobServiceClient;

/// The evaluation instant of these tests (and datagen's reference instant): 2026-06-01T00:00Z.
pub const NOW: i64 = 1_780_272_000_000;
pub const AT: &str = "2026-06-01T00:00:00Z";

/// Generated data: `GenOptions` with the test instant.
pub fn gen_options(seed: u64, max_events: u32) -> GenOptions {
    GenOptions {
        seed,
        now: NOW,
        max_events,
    }
}

/// Definitions over generated data that select a real, partial part of it.
pub const US: &str = r#"homeAddress.countryCode = "US""#;
pub const LOYAL: &str = r#"person.birthYear >= 1980 and loyalty.tier in ["gold", "platinum"]"#;
pub const BUYERS: &str = r#"xEvent[eventType = "commerce.purchases"].count() >= 2"#;
pub const RECENT: &str =
    r#"xEvent[timestamp occurs < 60 days before now and eventType = "commerce.checkouts"]"#;
pub const BIG_SPENDERS: &str = r#"orders.sum(price) > 300"#;

/// One caller's view of a sandbox on a server (in-process or a child process).
#[derive(Clone)]
pub struct Sandbox {
    pub channel: Channel,
    pub caller: Caller,
}

impl Sandbox {
    /// `org`'s `prod` sandbox on an in-process test server (HS256 token).
    pub fn new(server: &TestServer, org: &str) -> Sandbox {
        Sandbox {
            channel: server.channel(),
            caller: Caller::new(org, "prod"),
        }
    }

    pub fn jobs(&self) -> JobsClient {
        SegmentJobServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
    }

    pub fn profiles(&self) -> ProfileServiceClient<InterceptedService<Channel, Caller>> {
        ProfileServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
    }

    pub fn definitions(&self) -> crate::service::DefinitionsClient {
        SegmentDefinitionServiceClient::with_interceptor(self.channel.clone(), self.caller.clone())
    }

    /// Ingests generated profiles `range` with their events (linked by ECID).
    pub async fn ingest(&self, opts: &GenOptions, range: std::ops::Range<u64>) {
        let mut profiles = Vec::new();
        let mut events = Vec::new();
        for i in range {
            let g = datagen::profile(opts, i);
            let ecid = g.profile["identityMap"]["ECID"][0]["id"].clone();
            for mut e in g.events {
                e["identityMap"] = serde_json::json!({"ECID": [{"id": ecid}]});
                events.push(e.to_string());
            }
            profiles.push(g.profile.to_string());
        }
        let mut client = self.profiles();
        for chunk in profiles.chunks(500) {
            let r = client
                .upsert_profiles(pb::UpsertProfilesRequest {
                    records: chunk.to_vec(),
                })
                .await
                .expect("upsert")
                .into_inner();
            assert_eq!(r.counts.expect("counts").rejected, 0, "{:?}", r.results);
        }
        for chunk in events.chunks(1000) {
            let r = client
                .ingest_events(pb::IngestEventsRequest {
                    records: chunk.to_vec(),
                })
                .await
                .expect("events")
                .into_inner();
            assert_eq!(r.counts.expect("counts").rejected, 0);
        }
    }

    pub async fn define(&self, name: &str, pql: &str) -> String {
        self.definitions()
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(pb::SegmentDefinition {
                    name: name.into(),
                    expression: Some(pb::Expression {
                        format: pb::ExpressionFormat::PqlText as i32,
                        value: pql.into(),
                    }),
                    ..Default::default()
                }),
            })
            .await
            .expect("create definition")
            .into_inner()
            .segment_definition
            .expect("definition")
            .id
    }

    /// Creates a job and follows it with WatchSegmentJob to its end; returns every message.
    pub async fn run(&self, ids: &[&str], at: Option<i64>) -> Vec<pb::SegmentJob> {
        let job = self.create(ids, at).await;
        self.watch(&job.id).await
    }

    pub async fn create(&self, ids: &[&str], at: Option<i64>) -> pb::SegmentJob {
        self.jobs()
            .create_segment_job(pb::CreateSegmentJobRequest {
                segment_ids: ids.iter().map(|s| s.to_string()).collect(),
                evaluation_time_ms: at,
            })
            .await
            .expect("create job")
            .into_inner()
            .segment_job
            .expect("job")
    }

    /// Every message of a watch, which must end with a terminal status.
    pub async fn watch(&self, id: &str) -> Vec<pb::SegmentJob> {
        watch_to_end(self.jobs(), id).await
    }

    pub async fn get(&self, id: &str) -> pb::SegmentJob {
        self.jobs()
            .get_segment_job(pb::GetSegmentJobRequest { id: id.into() })
            .await
            .expect("get job")
            .into_inner()
            .segment_job
            .expect("job")
    }

    /// Members of `segment` with one of `statuses` (empty: realized + existing).
    pub async fn members(
        &self,
        segment: &str,
        statuses: &[pb::MembershipStatus],
    ) -> BTreeSet<String> {
        let mut client = self.profiles();
        let mut out = BTreeSet::new();
        let mut token = String::new();
        loop {
            let page = client
                .list_segment_members(pb::ListSegmentMembersRequest {
                    segment_id: segment.into(),
                    statuses: statuses.iter().map(|s| *s as i32).collect(),
                    page_size: 1000,
                    page_token: token,
                })
                .await
                .expect("members")
                .into_inner();
            out.extend(page.members.into_iter().map(|m| m.profile_id));
            if page.next_page_token.is_empty() {
                return out;
            }
            token = page.next_page_token;
        }
    }
}

/// Follows a job to its end; checks the stream's promises on the way (statuses only move
/// forward, the last message and only it is terminal).
pub async fn watch_to_end(mut client: JobsClient, id: &str) -> Vec<pb::SegmentJob> {
    let mut stream = client
        .watch_segment_job(pb::WatchSegmentJobRequest { id: id.into() })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while let Some(msg) = tokio::time::timeout_at(deadline, stream.next())
        .await
        .expect("the watch ends within 5 minutes")
    {
        let job = msg.expect("watch message").segment_job.expect("job");
        assert!(
            seen.last()
                .is_none_or(|prev: &pb::SegmentJob| !terminal(prev.status)),
            "nothing after a terminal status"
        );
        seen.push(job);
    }
    let last = seen.last().expect("at least one message");
    assert!(
        terminal(last.status),
        "the watch ended at {:?}",
        last.status
    );
    seen
}

pub fn terminal(status: i32) -> bool {
    [
        pb::JobStatus::Succeeded as i32,
        pb::JobStatus::Failed as i32,
        pb::JobStatus::Cancelled as i32,
    ]
    .contains(&status)
}

/// Writes the sandbox's profiles as `pql eval` records (`{"id", "profile", "events",
/// "memberships"}`), `memberships` giving each profile's segments from `extra`.
pub async fn export(
    store: &Store,
    caller: &Caller,
    extra: &BTreeMap<String, BTreeSet<String>>,
) -> tempfile::NamedTempFile {
    let tenant = segmentation::context::Tenant::new(
        caller.org.clone().expect("org"),
        caller.sandbox.clone().unwrap_or_else(|| "prod".into()),
    );
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let mut after: Option<String> = None;
    loop {
        let page = store
            .stream_profiles_page(&tenant, after.as_deref(), 500)
            .await
            .expect("profiles");
        let Some(last) = page.last() else { break };
        after = Some(last.profile_id.clone());
        for p in page {
            let memberships: serde_json::Map<String, serde_json::Value> = extra
                .iter()
                .filter(|(_, ids)| ids.contains(&p.profile_id))
                .map(|(seg, _)| (seg.clone(), "realized".into()))
                .collect();
            let record = serde_json::json!({
                "id": p.profile_id,
                "profile": p.document,
                "events": p.events.iter().map(|e| serde_json::Value::Object(e.document.clone())).collect::<Vec<_>>(),
                "memberships": memberships,
            });
            writeln!(file, "{record}").expect("write");
        }
    }
    file.flush().expect("flush");
    file
}

/// The ids `segmentation pql eval` selects from an exported file at [`AT`].
pub fn cli_eval(file: &std::path::Path, pql: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_segmentation"))
        .args(["pql", "eval", "--profiles"])
        .arg(file)
        .args(["--at", AT, pql])
        .output()
        .expect("run the CLI");
    assert!(
        out.status.success(),
        "pql eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The statuses a watch went through, deduplicated in order.
pub fn status_path(messages: &[pb::SegmentJob]) -> Vec<pb::JobStatus> {
    let mut path: Vec<pb::JobStatus> = Vec::new();
    for m in messages {
        let s = pb::JobStatus::try_from(m.status).expect("known status");
        if path.last() != Some(&s) {
            path.push(s);
        }
    }
    path
}
