//! The gateway as `serve` runs it: [`App::start`] with [`gateway`] on a port-0 loopback listener,
//! spoken to over a real socket in plain HTTP/1.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::ORG;
use crate::app::App;
use crate::config::{ListenAddr, ServeArgs, Settings};
use crate::rest::gateway;

/// Sends one request (`Connection: close`) and returns the whole response text.
async fn http(addr: SocketAddr, request: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("read");
        out
    })
    .await
    .expect("client thread")
}

#[tokio::test]
async fn the_app_serves_the_gateway_on_its_rest_address() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let args = ServeArgs {
        grpc_addr: Some("127.0.0.1:0".parse().expect("addr")),
        rest_addr: Some(ListenAddr::At("127.0.0.1:0".parse().expect("addr"))),
        database_url: Some(format!(
            "sqlite://{}/served.db?mode=rwc",
            dir.path().display()
        )),
        max_body_bytes: Some(300),
        ..ServeArgs::default()
    };
    let settings = Settings::load_from(&args, &|_| None).expect("settings");
    let app = App::build(settings).await.expect("app");
    let running = app.start(Some(gateway)).await.expect("start");
    let addr = running.rest_addr().expect("REST is served");

    let body = r#"{"name": "served", "expression": {"value": "person.age > 30"}}"#;
    let response = http(
        addr,
        format!(
            "POST /data/core/ups/segment/definitions HTTP/1.1\r\nHost: localhost\r\n\
             x-gw-ims-org-id: {ORG}\r\nx-request-id: served-1\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("x-request-id: served-1"), "{response}");
    assert!(
        lower.contains("x-location: /data/core/ups/segment/definitions/"),
        "{response}"
    );

    // The configured body limit applies: 413 in the AEP shape.
    let big = format!(
        r#"{{"name": "{}", "expression": {{"value": "a = 1"}}}}"#,
        "x".repeat(400)
    );
    let response = http(
        addr,
        format!(
            "POST /segment/definitions HTTP/1.1\r\nHost: localhost\r\nx-gw-ims-org-id: {ORG}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
            big.len()
        ),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"status\":413"), "{response}");

    running.shutdown().await.expect("shutdown");
}
