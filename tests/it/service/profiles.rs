//! ProfileService, every RPC, on every backend: ingestion outcomes per record, whole-batch
//! refusals that write nothing, streams, reads, deletes, paging and segment members.

use tonic::Code;

use super::*;
use pb::get_profile_request::Lookup as GetLookup;
use pb::{RecordStatus, delete_profile_request::Lookup as DeleteLookup};

const ORG: &str = "PROFILES01@AdobeOrg";

fn by_email(email: &str) -> pb::GetProfileRequest {
    pb::GetProfileRequest {
        lookup: Some(GetLookup::Identity(pb::Identity {
            namespace: "Email".into(),
            id: email.into(),
        })),
    }
}

fn by_id(id: &str) -> pb::GetProfileRequest {
    pb::GetProfileRequest {
        lookup: Some(GetLookup::ProfileId(id.into())),
    }
}

async fn profile_count(server: &TestServer, caller: &Caller) -> i64 {
    server
        .profiles(caller)
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .total_size
}

#[tokio::test]
async fn upsert_creates_then_updates_and_get_reads_by_id_and_identity() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let response = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![
                    profile_record("ana@example.com", "Ana"),
                    profile_record("ben@example.com", "Ben"),
                ],
            })
            .await
            .expect("upsert")
            .into_inner();
        assert_eq!(response.results.len(), 2);
        assert!(
            response
                .results
                .iter()
                .all(|r| r.status == RecordStatus::Created as i32)
        );
        let counts = response.counts.expect("counts");
        assert_eq!((counts.created, counts.updated, counts.rejected), (2, 0, 0));
        let ana_id = response.results[0].profile_id.clone();
        assert!(!ana_id.is_empty());

        let again = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![profile_record("ana@example.com", "Anabela")],
            })
            .await
            .expect("upsert")
            .into_inner();
        assert_eq!(again.results[0].status, RecordStatus::Updated as i32);
        assert_eq!(again.results[0].profile_id, ana_id);

        let profile = client
            .get_profile(by_email("ana@example.com"))
            .await
            .expect("get by identity")
            .into_inner()
            .profile
            .expect("profile");
        assert_eq!(profile.id, ana_id);
        let doc: serde_json::Value =
            serde_json::from_str(&profile.document_json).expect("document is JSON");
        assert_eq!(doc["person"]["name"]["firstName"], "Anabela");
        assert_eq!(doc["loyalty"]["points"], 1200, "integers stay integers");
        assert_eq!(profile.org_id, ORG);
        assert_eq!(profile.sandbox_name, "prod");
        assert_eq!(
            profile.identities,
            vec![pb::Identity {
                namespace: "Email".into(),
                id: "ana@example.com".into()
            }]
        );
        assert!(profile.create_time_ms > 0 && profile.update_time_ms >= profile.create_time_ms);

        let by_id = client.get_profile(by_id(&ana_id)).await.expect("get by id");
        assert_eq!(by_id.into_inner().profile.expect("profile").id, ana_id);
        server.stop().await;
    }
}

#[tokio::test]
async fn rejected_records_write_nothing_and_say_why() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let with_membership = serde_json::json!({
            "identityMap": {"Email": [{"id": "m@example.com"}]},
            "segmentMembership": {"ups": {"s1": {"status": "realized"}}}
        })
        .to_string();
        let response = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![
                    "{not json".into(),
                    profile_record("ok@example.com", "Ok"),
                    with_membership,
                    serde_json::json!({"person": {"name": {"firstName": "NoIds"}}}).to_string(),
                ],
            })
            .await
            .expect("the call succeeds; records are judged one by one")
            .into_inner();
        let statuses: Vec<i32> = response.results.iter().map(|r| r.status).collect();
        let rejected = RecordStatus::Rejected as i32;
        assert_eq!(
            statuses,
            vec![rejected, RecordStatus::Created as i32, rejected, rejected]
        );
        for r in response.results.iter().filter(|r| r.status == rejected) {
            let error = r.error.as_ref().expect("a rejected record says why");
            assert_eq!(error.code, Code::InvalidArgument as i32);
            assert_eq!(error.reason, "invalid_argument");
            assert!(!error.field_violations.is_empty(), "{error:?}");
            assert!(r.profile_id.is_empty());
        }
        assert_eq!(
            response.results[2]
                .error
                .as_ref()
                .expect("error")
                .field_violations[0]
                .field,
            "segmentMembership"
        );
        assert_eq!(response.counts.expect("counts").rejected, 3);
        assert_eq!(
            profile_count(&server, &caller).await,
            1,
            "only the good record"
        );
        let err = client.get_profile(by_email("m@example.com")).await;
        assert_eq!(code_of(err), Code::NotFound);
        server.stop().await;
    }
}

#[tokio::test]
async fn malformed_batches_fail_whole_and_write_nothing() {
    for backend in backends().await {
        let options = Options {
            max_batch_records: 3,
            ..Options::default()
        };
        let server = spawn_server_with(backend, options).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let empty = client
            .upsert_profiles(pb::UpsertProfilesRequest { records: vec![] })
            .await;
        assert_eq!(code_of(empty), Code::InvalidArgument);
        let four: Vec<String> = (0..4)
            .map(|i| profile_record(&format!("p{i}@example.com"), "P"))
            .collect();
        let too_many = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: four.clone(),
            })
            .await;
        assert_eq!(code_of(too_many), Code::InvalidArgument);
        let events = client
            .ingest_events(pb::IngestEventsRequest { records: four })
            .await;
        assert_eq!(code_of(events), Code::InvalidArgument);
        assert_eq!(profile_count(&server, &caller).await, 0);
        server.stop().await;
    }
}

#[tokio::test]
async fn stream_upsert_writes_each_batch_and_reports_rejections() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let batches = vec![
            pb::StreamUpsertProfilesRequest {
                records: vec![
                    profile_record("s1@example.com", "S1"),
                    profile_record("s2@example.com", "S2"),
                ],
            },
            pb::StreamUpsertProfilesRequest {
                records: vec!["[]".into(), profile_record("s1@example.com", "S1b")],
            },
            pb::StreamUpsertProfilesRequest {
                records: vec![profile_record("s3@example.com", "S3")],
            },
        ];
        let response = client
            .stream_upsert_profiles(tokio_stream::iter(batches))
            .await
            .expect("stream")
            .into_inner();
        assert_eq!(response.batch_count, 3);
        let counts = response.counts.expect("counts");
        assert_eq!((counts.created, counts.updated, counts.rejected), (3, 1, 1));
        assert_eq!(response.rejected.len(), 1);
        assert_eq!(
            (response.rejected[0].batch_index, response.rejected[0].index),
            (1, 0)
        );
        assert_eq!(profile_count(&server, &caller).await, 3);

        // A batch that is malformed as a whole ends the stream; earlier batches stay written.
        let batches = vec![
            pb::StreamUpsertProfilesRequest {
                records: vec![profile_record("s4@example.com", "S4")],
            },
            pb::StreamUpsertProfilesRequest { records: vec![] },
            pb::StreamUpsertProfilesRequest {
                records: vec![profile_record("s5@example.com", "S5")],
            },
        ];
        let failed = client
            .stream_upsert_profiles(tokio_stream::iter(batches))
            .await;
        assert_eq!(code_of(failed), Code::InvalidArgument);
        assert_eq!(
            profile_count(&server, &caller).await,
            4,
            "s4 written, s5 not"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn events_attach_to_profiles_and_deduplicate() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![profile_record("ev@example.com", "Ev")],
            })
            .await
            .expect("upsert");
        let no_timestamp = serde_json::json!({
            "_id": "e-bad", "eventType": "x", "identityMap": {"Email": [{"id": "ev@example.com"}]}
        })
        .to_string();
        let response = client
            .ingest_events(pb::IngestEventsRequest {
                records: vec![
                    event_record("e1", "ev@example.com", "commerce.purchases"),
                    event_record("e1", "ev@example.com", "commerce.purchases"),
                    event_record("e2", "new@example.com", "web.webpagedetails.pageViews"),
                    no_timestamp,
                ],
            })
            .await
            .expect("ingest")
            .into_inner();
        let statuses: Vec<i32> = response.results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            vec![
                RecordStatus::Updated as i32,
                RecordStatus::Duplicate as i32,
                RecordStatus::Created as i32,
                RecordStatus::Rejected as i32,
            ]
        );
        let rejected = response.results[3].error.as_ref().expect("why");
        assert_eq!(rejected.field_violations[0].field, "timestamp");

        let stream = client
            .stream_ingest_events(tokio_stream::iter(vec![
                pb::StreamIngestEventsRequest {
                    records: vec![event_record("e3", "ev@example.com", "commerce.checkouts")],
                },
                pb::StreamIngestEventsRequest {
                    records: vec![event_record("e1", "ev@example.com", "commerce.purchases")],
                },
            ]))
            .await
            .expect("stream ingest")
            .into_inner();
        assert_eq!(stream.batch_count, 2);
        let counts = stream.counts.expect("counts");
        assert_eq!((counts.updated, counts.duplicate), (1, 1));

        let profile = client
            .get_profile(by_email("ev@example.com"))
            .await
            .expect("get")
            .into_inner()
            .profile
            .expect("profile");
        assert_eq!(profile.event_count, 2, "e1 and e3, duplicates not stored");
        let created = client
            .get_profile(by_email("new@example.com"))
            .await
            .expect("the event created its profile")
            .into_inner()
            .profile
            .expect("profile");
        assert_eq!(created.event_count, 1);
        server.stop().await;
    }
}

#[tokio::test]
async fn get_and_delete_need_a_lookup_and_answer_not_found() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let missing = client
            .get_profile(pb::GetProfileRequest { lookup: None })
            .await;
        assert_eq!(code_of(missing), Code::InvalidArgument);
        let empty_id = client.get_profile(by_id("")).await;
        assert_eq!(code_of(empty_id), Code::InvalidArgument);
        let unknown = client.get_profile(by_id("no-such-profile")).await;
        assert_eq!(code_of(unknown), Code::NotFound);

        let id = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![profile_record("del@example.com", "Del")],
            })
            .await
            .expect("upsert")
            .into_inner()
            .results[0]
            .profile_id
            .clone();
        client
            .ingest_events(pb::IngestEventsRequest {
                records: vec![event_record("d1", "del@example.com", "x")],
            })
            .await
            .expect("ingest");
        let deleted = client
            .delete_profile(pb::DeleteProfileRequest {
                lookup: Some(DeleteLookup::Identity(pb::Identity {
                    namespace: "Email".into(),
                    id: "del@example.com".into(),
                })),
            })
            .await
            .expect("delete")
            .into_inner();
        assert_eq!(deleted.profile_id, id);
        assert_eq!(
            code_of(client.get_profile(by_id(&id)).await),
            Code::NotFound
        );
        let again = client
            .delete_profile(pb::DeleteProfileRequest {
                lookup: Some(DeleteLookup::ProfileId(id.clone())),
            })
            .await;
        assert_eq!(code_of(again), Code::NotFound);
        let no_lookup = client
            .delete_profile(pb::DeleteProfileRequest { lookup: None })
            .await;
        assert_eq!(code_of(no_lookup), Code::InvalidArgument);
        server.stop().await;
    }
}

#[tokio::test]
async fn list_profiles_pages_through_everything_once() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let records = (0..5)
            .map(|i| profile_record(&format!("page{i}@example.com"), "P"))
            .collect();
        client
            .upsert_profiles(pb::UpsertProfilesRequest { records })
            .await
            .expect("upsert");
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = client
                .list_profiles(pb::ListProfilesRequest {
                    page_size: 2,
                    page_token: token.clone(),
                })
                .await
                .expect("page")
                .into_inner();
            pages += 1;
            assert_eq!(page.total_size, 5);
            assert!(page.profiles.len() <= 2);
            seen.extend(page.profiles.into_iter().map(|p| p.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(pages, 3);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, seen, "in id order, no duplicates");
        assert_eq!(seen.len(), 5);

        let negative = client
            .list_profiles(pb::ListProfilesRequest {
                page_size: -1,
                page_token: String::new(),
            })
            .await;
        assert_eq!(code_of(negative), Code::InvalidArgument);
        let too_big = client
            .list_profiles(pb::ListProfilesRequest {
                page_size: 5000,
                page_token: String::new(),
            })
            .await;
        assert_eq!(code_of(too_big), Code::InvalidArgument);
        let bad_token = client
            .list_profiles(pb::ListProfilesRequest {
                page_size: 2,
                page_token: "garbage".into(),
            })
            .await;
        assert_eq!(code_of(bad_token), Code::InvalidArgument);
        server.stop().await;
    }
}

#[tokio::test]
async fn segment_members_need_a_known_segment() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let no_segment = client
            .list_segment_members(pb::ListSegmentMembersRequest::default())
            .await;
        assert_eq!(code_of(no_segment), Code::InvalidArgument);
        let unknown = client
            .list_segment_members(pb::ListSegmentMembersRequest {
                segment_id: "no-such-segment".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(code_of(unknown), Code::NotFound);
        let unspecified_status = client
            .list_segment_members(pb::ListSegmentMembersRequest {
                segment_id: "no-such-segment".into(),
                statuses: vec![pb::MembershipStatus::Unspecified as i32],
                ..Default::default()
            })
            .await;
        assert_eq!(code_of(unspecified_status), Code::InvalidArgument);
        server.stop().await;
    }
}

/// Memberships are written only by segment jobs; here the test writes them through the store, as
/// a job would, for a definition created over gRPC, and reads them back through GetProfile and
/// ListSegmentMembers.
#[tokio::test]
async fn memberships_show_on_profiles_and_member_lists() {
    use segmentation::context::Tenant;
    use segmentation::domain::MembershipWrite;
    use segmentation::pql::MembershipStatus;

    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let caller = Caller::new(ORG, "prod");
        let mut client = server.profiles(&caller);
        let ids: Vec<String> = client
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: (0..3)
                    .map(|i| profile_record(&format!("m{i}@example.com"), "M"))
                    .collect(),
            })
            .await
            .expect("upsert")
            .into_inner()
            .results
            .into_iter()
            .map(|r| r.profile_id)
            .collect();

        let segment = server
            .definitions(&caller)
            .create_segment_definition(pb::CreateSegmentDefinitionRequest {
                segment_definition: Some(pb::SegmentDefinition {
                    name: "Members".into(),
                    expression: Some(pb::Expression {
                        format: pb::ExpressionFormat::PqlText as i32,
                        value: "person.name.firstName = \"M\"".into(),
                    }),
                    ..Default::default()
                }),
            })
            .await
            .expect("definition")
            .into_inner()
            .segment_definition
            .expect("definition");
        let store = server.store().await;
        let tenant = Tenant::new(ORG, "prod");
        let statuses = [
            MembershipStatus::Realized,
            MembershipStatus::Existing,
            MembershipStatus::Exited,
        ];
        let rows: Vec<MembershipWrite> = ids
            .iter()
            .zip(statuses)
            .map(|(id, status)| MembershipWrite {
                profile_id: id.clone(),
                segment_id: segment.id.clone(),
                status,
                last_qualification_time_ms: 1_700_000_100_000,
                version: 1,
            })
            .collect();
        store
            .replace_memberships(&tenant, std::slice::from_ref(&segment.id), &rows)
            .await
            .expect("memberships");
        store.close().await.expect("close");

        let current = client
            .list_segment_members(pb::ListSegmentMembersRequest {
                segment_id: segment.id.clone(),
                ..Default::default()
            })
            .await
            .expect("members")
            .into_inner();
        assert_eq!(current.total_size, 2, "realized + existing by default");
        let exited = client
            .list_segment_members(pb::ListSegmentMembersRequest {
                segment_id: segment.id.clone(),
                statuses: vec![pb::MembershipStatus::Exited as i32],
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("exited")
            .into_inner();
        assert_eq!(exited.members.len(), 1);
        assert_eq!(exited.members[0].profile_id, ids[2]);
        let membership = exited.members[0].membership.as_ref().expect("membership");
        assert_eq!(membership.status, pb::MembershipStatus::Exited as i32);
        assert_eq!(membership.last_qualification_time_ms, 1_700_000_100_000);
        assert!(exited.next_page_token.is_empty());

        let first = client
            .get_profile(by_id(&ids[0]))
            .await
            .expect("get")
            .into_inner()
            .profile
            .expect("profile");
        assert_eq!(first.memberships.len(), 1);
        assert_eq!(first.memberships[0].segment_id, segment.id);
        assert_eq!(
            first.memberships[0].status,
            pb::MembershipStatus::Realized as i32
        );

        let other_tenant = server
            .profiles(&Caller::new("PROFILES02@AdobeOrg", "prod"))
            .list_segment_members(pb::ListSegmentMembersRequest {
                segment_id: segment.id.clone(),
                ..Default::default()
            })
            .await;
        assert_eq!(code_of(other_tenant), Code::NotFound);
        server.stop().await;
    }
}

#[tokio::test]
async fn messages_over_the_body_limit_are_refused_before_anything_is_written() {
    let options = Options {
        max_body_bytes: 2048,
        ..Options::default()
    };
    let server = spawn_server_with(segmentation::store::Backend::Sqlite, options).await;
    let caller = Caller::new(ORG, "prod");
    let mut client = server.profiles(&caller);
    let big = serde_json::json!({
        "identityMap": {"Email": [{"id": "big@example.com"}]},
        "notes": "x".repeat(3000)
    })
    .to_string();
    let refused = client
        .upsert_profiles(pb::UpsertProfilesRequest { records: vec![big] })
        .await;
    // tonic reports an oversized message as OUT_OF_RANGE.
    assert_eq!(code_of(refused), Code::OutOfRange);
    assert_eq!(profile_count(&server, &caller).await, 0);
    client
        .upsert_profiles(pb::UpsertProfilesRequest {
            records: vec![profile_record("small@example.com", "Small")],
        })
        .await
        .expect("a message under the limit is served");
    server.stop().await;
}
