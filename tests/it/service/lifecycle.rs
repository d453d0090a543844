//! Start-up and shutdown: port 0, dev mode refusing non-loopback binds, and graceful shutdown
//! letting an in-flight call finish while new connections are refused.

use std::time::Duration;

use segmentation::app::{App, StartupError};

use super::*;

#[tokio::test]
async fn dev_mode_refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/db.sqlite?mode=rwc", dir.path().display());
    let mut settings = settings_for(
        &url,
        &Options {
            dev_mode: true,
            ..Options::default()
        },
    );
    settings.grpc_addr = "0.0.0.0:0".parse().expect("addr");
    let err = App::build(settings).await.expect_err("refused");
    assert!(
        matches!(
            err,
            StartupError::DevModeNotLoopback {
                setting: "grpc_addr",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn port_zero_binds_a_real_port() {
    let server = spawn_server().await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish_then_stops_listening() {
    let mut server = spawn_server().await;
    let caller = Caller::new("LIFECYCLE01@AdobeOrg", "prod");
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::StreamUpsertProfilesRequest>(4);
    let mut client = server.profiles(&caller);
    let call = tokio::spawn(async move {
        client
            .stream_upsert_profiles(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    tx.send(pb::StreamUpsertProfilesRequest {
        records: vec![profile_record("first@example.com", "First")],
    })
    .await
    .expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let running = server.take_running();
    let shutdown = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(pb::StreamUpsertProfilesRequest {
        records: vec![profile_record("second@example.com", "Second")],
    })
    .await
    .expect("send after the shutdown signal");
    drop(tx);

    let response = call
        .await
        .expect("task")
        .expect("the in-flight call completes")
        .into_inner();
    assert_eq!(response.batch_count, 2);
    assert_eq!(response.counts.expect("counts").created, 2);
    shutdown.await.expect("task").expect("clean shutdown");

    let fresh = Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(1))
        .connect()
        .await;
    assert!(fresh.is_err(), "no longer listening");
    server.stop().await;
}
