//! `serve --demo`: the demo sandbox loads through the domain services into a fresh database, is
//! visible to a caller of the demo tenant, and loading it again (a restart with `--demo`)
//! changes nothing.

use segmentation::app::App;
use segmentation::demo::{self, DEMO_ORG, DEMO_SANDBOX, DemoOptions, DemoReport};

use super::pb;
use super::*;

/// Fewer people than `serve --demo` loads, to keep the suite fast; the loading code is the same.
const PEOPLE: u64 = 300;

/// What a caller can see of the demo tenant: every definition (id, name, version, update time),
/// and every profile (id, identities, event count, update time).
async fn snapshot(server: &TestServer) -> (Vec<String>, Vec<String>) {
    let caller = Caller::new(DEMO_ORG, DEMO_SANDBOX);
    let definitions = server
        .definitions(&caller)
        .list_segment_definitions(pb::ListSegmentDefinitionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list definitions")
        .into_inner();
    let definitions = definitions
        .segment_definitions
        .iter()
        .map(|d| format!("{} {} v{} {}", d.id, d.name, d.version, d.update_time_ms))
        .collect();
    let profiles = server
        .profiles(&caller)
        .list_profiles(pb::ListProfilesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list profiles")
        .into_inner();
    assert!(profiles.next_page_token.is_empty(), "one page holds them");
    let profiles = profiles
        .profiles
        .iter()
        .map(|p| {
            let ids: Vec<_> = p.identities.iter().map(|i| &i.id).collect();
            format!("{} {ids:?} {} {}", p.id, p.event_count, p.update_time_ms)
        })
        .collect();
    (definitions, profiles)
}

async fn load(server: &TestServer, now_ms: i64) -> DemoReport {
    // A second App on the same database, as a restarted `serve --demo` would build it.
    let app = App::build(settings_for(&server.db_url, &Options::default()))
        .await
        .expect("app builds");
    let report = app
        .load_demo(&DemoOptions {
            profiles: PEOPLE,
            now_ms,
        })
        .await
        .expect("the demo loads");
    app.store().close().await.expect("close");
    report
}

#[tokio::test]
async fn the_demo_loads_once_and_a_second_load_changes_nothing() {
    for backend in backends().await {
        let server = spawn_server_with(backend, Options::default()).await;
        let now = chrono::Utc::now().timestamp_millis();
        let first = load(&server, now).await;
        assert!(!first.already_loaded, "{backend:?}");
        assert_eq!(first.profiles.created, PEOPLE, "{backend:?}");
        // Events land on people already loaded: stored as updates of their profile.
        assert!(first.events.updated > PEOPLE, "{backend:?}: {first:?}");
        assert_eq!(first.events.duplicate, 0, "{backend:?}");
        assert_eq!(first.definitions.len(), demo::DEFINITIONS.len());
        let (definitions, profiles) = snapshot(&server).await;
        assert_eq!(definitions.len(), demo::DEFINITIONS.len(), "{backend:?}");
        assert_eq!(profiles.len() as u64, PEOPLE, "{backend:?}");

        // The example identity names a person with events; the inSegment definition names the
        // id of the one it refers to.
        let caller = Caller::new(DEMO_ORG, DEMO_SANDBOX);
        let profile = server
            .profiles(&caller)
            .get_profile(pb::GetProfileRequest {
                lookup: Some(pb::get_profile_request::Lookup::Identity(pb::Identity {
                    namespace: "Email".into(),
                    id: demo::example_email(0),
                })),
            })
            .await
            .expect("the example identity is there")
            .into_inner()
            .profile
            .expect("profile");
        assert!(profile.identities.iter().any(|i| i.namespace == "ECID"));
        let (_, referenced) = &first.definitions[0];
        let nested = server
            .definitions(&caller)
            .get_segment_definition(pb::GetSegmentDefinitionRequest {
                id: first.definitions[demo::DEFINITIONS.len() - 1].1.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .segment_definition
            .expect("definition");
        let text = nested.expression.map(|e| e.value).unwrap_or_default();
        assert!(
            text.contains(&format!("inSegment(\"{referenced}\")")),
            "{text}"
        );

        // A restart with --demo, an hour later: nothing is written.
        let second = load(&server, now + 3_600_000).await;
        assert!(second.already_loaded, "{backend:?}");
        assert_eq!(second.definitions, first.definitions);
        assert_eq!(second.profiles, demo::RecordCounts::default());
        assert_eq!(
            snapshot(&server).await,
            (definitions, profiles),
            "{backend:?}"
        );
        server.stop().await;
    }
}
