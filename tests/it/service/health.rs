//! grpc.health.v1 follows the database: NOT_SERVING within a few seconds of losing it, SERVING
//! again once it is back.

use std::time::Duration;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use super::*;

const FLIP_WITHIN: Duration = Duration::from_secs(5);

async fn status(server: &TestServer, service: &str) -> ServingStatus {
    let response = server
        .health()
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check answers");
    ServingStatus::try_from(response.into_inner().status).expect("known status")
}

async fn becomes(server: &TestServer, wanted: ServingStatus) -> bool {
    eventually(FLIP_WITHIN, || async {
        status(server, "").await == wanted
            && status(server, "segmentation.v1.ProfileService").await == wanted
    })
    .await
}

/// Losing the database file turns the server and its services NOT_SERVING, and back when it
/// returns; the `liveness` entry (what a Kubernetes liveness probe asks for) stays SERVING
/// throughout, so losing the database takes a replica out of rotation without restarting it.
#[tokio::test]
async fn sqlite_file_lost_and_back() {
    let server = spawn_server().await;
    assert_eq!(status(&server, "").await, ServingStatus::Serving);
    assert_eq!(
        status(&server, "segmentation.v1.ProfileService").await,
        ServingStatus::Serving
    );
    let TestDb::Sqlite { path, .. } = &server.db else {
        unreachable!("spawn_server uses SQLite")
    };
    let aside = path.with_extension("db.aside");
    std::fs::rename(path, &aside).expect("move the database file away");
    assert!(
        becomes(&server, ServingStatus::NotServing).await,
        "NOT_SERVING after loss"
    );
    assert_eq!(
        status(&server, segmentation::health::LIVENESS).await,
        ServingStatus::Serving,
        "liveness does not depend on the database"
    );
    std::fs::rename(&aside, path).expect("put it back");
    assert!(
        becomes(&server, ServingStatus::Serving).await,
        "SERVING once back"
    );
    server.stop().await;
}

#[tokio::test]
async fn postgres_connections_refused_and_back() {
    if !backends()
        .await
        .contains(&segmentation::store::Backend::Postgres)
    {
        return;
    }
    let server =
        spawn_server_with(segmentation::store::Backend::Postgres, Options::default()).await;
    let TestDb::Postgres { admin_url, name } = &server.db else {
        unreachable!("asked for PostgreSQL")
    };
    assert_eq!(status(&server, "").await, ServingStatus::Serving);
    pg_admin(
        admin_url,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    )
    .await;
    pg_admin(
        admin_url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )
    .await;
    assert!(
        becomes(&server, ServingStatus::NotServing).await,
        "NOT_SERVING after loss"
    );
    pg_admin(
        admin_url,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    )
    .await;
    assert!(
        becomes(&server, ServingStatus::Serving).await,
        "SERVING once back"
    );
    // And it serves requests again.
    server
        .profiles(&Caller::new("HEALTH01@AdobeOrg", "prod"))
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("requests work again");
    server.stop().await;
}

#[tokio::test]
async fn unknown_service_is_not_found() {
    let server = spawn_server().await;
    let err = server
        .health()
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(err.code(), tonic::Code::NotFound);
    server.stop().await;
}
