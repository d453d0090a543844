//! Tenancy: two organisations and two sandboxes of one organisation never see each other's
//! profiles; another tenant's resource is NOT_FOUND in every RPC that names one.

use tonic::Code;

use super::*;
use pb::get_profile_request::Lookup as GetLookup;

const ORG_A: &str = "ISOLATION0A@AdobeOrg";
const ORG_B: &str = "ISOLATION0B@AdobeOrg";

#[tokio::test]
async fn orgs_and_sandboxes_are_isolated() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let a_prod = Caller::new(ORG_A, "prod");
        let a_dev = Caller::new(ORG_A, "dev");
        let b_prod = Caller::new(ORG_B, "prod");

        let created = server
            .profiles(&a_prod)
            .upsert_profiles(pb::UpsertProfilesRequest {
                records: vec![profile_record("shared@example.com", "A-prod")],
            })
            .await
            .expect("upsert")
            .into_inner();
        let a_id = created.results[0].profile_id.clone();
        server
            .profiles(&a_prod)
            .ingest_events(pb::IngestEventsRequest {
                records: vec![event_record("iso-1", "shared@example.com", "x")],
            })
            .await
            .expect("ingest");

        for other in [&a_dev, &b_prod] {
            let mut client = server.profiles(other);
            let by_id = client
                .get_profile(pb::GetProfileRequest {
                    lookup: Some(GetLookup::ProfileId(a_id.clone())),
                })
                .await;
            assert_eq!(code_of(by_id), Code::NotFound, "{other:?}");
            let by_identity = client
                .get_profile(pb::GetProfileRequest {
                    lookup: Some(GetLookup::Identity(pb::Identity {
                        namespace: "Email".into(),
                        id: "shared@example.com".into(),
                    })),
                })
                .await;
            assert_eq!(code_of(by_identity), Code::NotFound);
            let delete = client
                .delete_profile(pb::DeleteProfileRequest {
                    lookup: Some(pb::delete_profile_request::Lookup::ProfileId(a_id.clone())),
                })
                .await;
            assert_eq!(code_of(delete), Code::NotFound);
            let list = client
                .list_profiles(pb::ListProfilesRequest::default())
                .await
                .expect("list")
                .into_inner();
            assert_eq!(list.total_size, 0);
            assert!(list.profiles.is_empty());

            // The same identity in another tenant is another profile, not a merge.
            let theirs = client
                .upsert_profiles(pb::UpsertProfilesRequest {
                    records: vec![profile_record("shared@example.com", "Theirs")],
                })
                .await
                .expect("upsert")
                .into_inner();
            assert_eq!(theirs.results[0].status, pb::RecordStatus::Created as i32);
            assert_ne!(theirs.results[0].profile_id, a_id);
            // An event with an `_id` already used in tenant A is new here.
            let events = client
                .ingest_events(pb::IngestEventsRequest {
                    records: vec![event_record("iso-1", "shared@example.com", "x")],
                })
                .await
                .expect("ingest")
                .into_inner();
            assert_eq!(events.results[0].status, pb::RecordStatus::Updated as i32);
        }

        let mine = server
            .profiles(&a_prod)
            .get_profile(pb::GetProfileRequest {
                lookup: Some(GetLookup::ProfileId(a_id.clone())),
            })
            .await
            .expect("still there")
            .into_inner()
            .profile
            .expect("profile");
        let doc: serde_json::Value = serde_json::from_str(&mine.document_json).expect("json");
        assert_eq!(
            doc["person"]["name"]["firstName"], "A-prod",
            "untouched by others"
        );
        assert_eq!(mine.event_count, 1);
        server.stop().await;
    }
}
