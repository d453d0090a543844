//! Refusals every path shares: credentials, request ids, unknown paths and methods, body size,
//! content type and malformed JSON — all in the AEP error body.

use axum::http::StatusCode;
use serde_json::json;

use super::{ORG, TestApi, default_limits};
use crate::auth::Authenticator;
use crate::config::{AuthSettings, Limits, Secret, StaticToken};

const TOKEN: &str = "acme-static-token-0123456789";
const CLIENT: &str = "acme-client";

async fn api_with_static_token() -> TestApi {
    let settings = AuthSettings {
        static_tokens: vec![StaticToken {
            token: Secret::new(TOKEN),
            org: ORG.to_owned(),
            client_id: CLIENT.to_owned(),
            sandboxes: vec!["prod".to_owned()],
        }],
        ..AuthSettings::default()
    };
    let auth = Authenticator::from_settings(&settings).expect("authenticator");
    TestApi::with(auth, default_limits()).await
}

#[tokio::test]
async fn credentials_are_checked_with_aep_gateway_codes() {
    let api = api_with_static_token().await;
    let bearer = format!("Bearer {TOKEN}");
    let ok = api
        .req("GET", "/segment/definitions")
        .header("authorization", &bearer)
        .header("x-api-key", CLIENT)
        .send()
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    let cases = [
        (
            None,
            Some(CLIENT),
            Some(ORG),
            "prod",
            403,
            "403010",
            "UPAPI-113752-403",
        ),
        (
            Some("Bearer nope"),
            Some(CLIENT),
            Some(ORG),
            "prod",
            401,
            "401013",
            "UPAPI-113006-401",
        ),
        (
            Some("Basic abc"),
            Some(CLIENT),
            Some(ORG),
            "prod",
            401,
            "401013",
            "UPAPI-113006-401",
        ),
        (
            Some(bearer.as_str()),
            None,
            Some(ORG),
            "prod",
            403,
            "403000",
            "UPAPI-113752-403",
        ),
        (
            Some(bearer.as_str()),
            Some("other"),
            Some(ORG),
            "prod",
            403,
            "403003",
            "UPAPI-113752-403",
        ),
        (
            Some(bearer.as_str()),
            Some(CLIENT),
            None,
            "prod",
            400,
            "400003",
            "UPAPI-113001-400",
        ),
        (
            Some(bearer.as_str()),
            Some(CLIENT),
            Some("X@AdobeOrg"),
            "prod",
            403,
            "403025",
            "UPAPI-113752-403",
        ),
        (
            Some(bearer.as_str()),
            Some(CLIENT),
            Some(ORG),
            "dev",
            403,
            "403025",
            "UPAPI-113752-403",
        ),
        (
            Some(bearer.as_str()),
            Some(CLIENT),
            Some(ORG),
            "Prod",
            400,
            "400003",
            "UPAPI-113001-400",
        ),
    ];
    for (authorization, api_key, org, sandbox, status, gateway, aep) in cases {
        let mut req = api
            .req("POST", "/segment/definitions")
            .without("x-gw-ims-org-id")
            .sandbox(sandbox)
            .json(json!({"name": "n", "expression": {"value": "a = 1"}}));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        if let Some(k) = api_key {
            req = req.header("x-api-key", k);
        }
        if let Some(o) = org {
            req = req.org(o);
        }
        let r = req.send().await;
        r.assert_error(status, aep);
        assert_eq!(
            r.body["errors"][status.to_string()][0]["code"],
            gateway,
            "{}",
            r.text
        );
        assert_eq!(r.body["error_code"], gateway, "shape (a) field: {}", r.text);
        assert!(r.body["message"].is_string());
    }
    let r = api
        .req("GET", "/segment/definitions")
        .header("authorization", &bearer)
        .header("x-api-key", CLIENT)
        .send()
        .await;
    assert_eq!(
        r.body["page"]["totalCount"], 0,
        "no refused create was written"
    );
}

#[tokio::test]
async fn dev_mode_still_needs_the_org_header() {
    let api = TestApi::new().await;
    let r = api
        .req("GET", "/segment/definitions")
        .without("x-gw-ims-org-id")
        .send()
        .await;
    r.assert_error(400, "UPAPI-113001-400");
    assert_eq!(r.body["error_code"], "400003");
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let api = TestApi::new().await;
    let r = api
        .req("GET", "/segment/definitions")
        .header("x-request-id", "trace-me-42")
        .send()
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-me-42"));
    let r = api
        .req("GET", "/segment/definitions/nope")
        .header("x-request-id", "trace-me-43")
        .send()
        .await;
    r.assert_error(404, "UPAPI-113000-404");
    assert_eq!(r.body["requestId"], "trace-me-43");
    let r = api.get("/segment/definitions").await;
    let made = r.header("x-request-id").expect("a request id");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");
    let r = api
        .req("GET", "/segment/definitions")
        .header("x-request-id", "has space")
        .send()
        .await;
    assert_ne!(r.header("x-request-id"), Some("has space"));
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let api = TestApi::new().await;
    for path in [
        "/nope",
        "/data/core/ups/nope",
        "/segment/definition",
        "/data/core/ups",
    ] {
        let r = api.get(path).await;
        let message = r.assert_error(404, "UPAPI-113000-404");
        assert!(message.contains(path), "{message}");
    }
    for (method, path) in [
        ("PUT", "/segment/definitions"),
        ("DELETE", "/data/core/ups/segment/definitions"),
        ("GET", "/segment/conversion"),
        ("GET", "/segment/definitions/bulk-get"),
    ] {
        let r = api.req(method, path).send().await;
        let message = r.assert_error(405, "UPAPI-113010-405");
        assert!(
            message.contains(method) && message.contains(path),
            "{message}"
        );
    }
}

#[tokio::test]
async fn bodies_must_be_json_sent_as_json() {
    let api = TestApi::new().await;
    let body = json!({"name": "n", "expression": {"value": "a = 1"}}).to_string();
    let r = api
        .req("POST", "/segment/definitions")
        .raw(body.clone().into_bytes())
        .send()
        .await;
    let message = r.assert_error(400, "UPAPI-113001-400");
    assert!(
        message.starts_with("Content-Type: a valid content-type"),
        "{message}"
    );
    let r = api
        .req("POST", "/segment/definitions")
        .header("content-type", "text/plain")
        .raw(body.into_bytes())
        .send()
        .await;
    r.assert_error(400, "UPAPI-113001-400");
    let r = api
        .req("POST", "/segment/definitions")
        .header("content-type", "application/json")
        .raw(b"{\"name\": \"n\",\n \"expression\": }".to_vec())
        .send()
        .await;
    let message = r.assert_error(400, "UPAPI-113001-400");
    assert!(message.contains("line 2 column"), "{message}");
    let r = api
        .req("POST", "/segment/definitions")
        .header("content-type", "application/json")
        .send()
        .await;
    r.assert_error(400, "UPAPI-113001-400");
    assert_eq!(
        api.get("/segment/definitions").await.body["page"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let limits = Limits {
        max_body_bytes: 512,
        ..default_limits()
    };
    let api = TestApi::with(Authenticator::dev_mode(), limits).await;
    let long = "x".repeat(600);
    let r = api
        .post(
            "/segment/definitions",
            json!({"name": "big", "description": long, "expression": {"value": "a = 1"}}),
        )
        .await;
    r.assert_error(413, "UPAPI-113009-413");
    let r = api
        .post(
            "/profiles",
            json!([{"identityMap": {"Email": [{"id": long}]}}]),
        )
        .await;
    r.assert_error(413, "UPAPI-113009-413");
    assert_eq!(
        api.get("/segment/definitions").await.body["page"]["totalCount"],
        0
    );
    assert_eq!(api.get("/profiles").await.body["_page"]["totalCount"], 0);
}

#[tokio::test]
async fn foreign_rejections_get_the_aep_shape_too() {
    let api = TestApi::new().await;
    // An id that is not UTF-8 once percent-decoded: axum's Path extractor refuses it in plain
    // text; the middleware rewrites that into the AEP body.
    let r = api.get("/segment/definitions/%FF%FE").await;
    r.assert_error(400, "UPAPI-113001-400");
    let r = api.get("/profiles?start=%zz").await;
    assert!(r.status.is_client_error(), "{}", r.text);
    super::openapi::assert_error_shape(&r.body);
}

/// A handler that panics answers 500 with the AEP body and the request's id instead of closing
/// the connection without an answer (a panic inside hyper's connection task does that).
#[tokio::test]
async fn a_panicking_handler_answers_500_in_the_aep_shape() {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("a bug")
    }
    let router = axum::Router::new()
        .route("/boom", get(boom))
        .layer(axum::middleware::from_fn(
            super::super::request::around_request,
        ));
    let response = router
        .oneshot(
            Request::get("/boom")
                .header("x-request-id", "panic-request-1")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["x-request-id"], "panic-request-1");
    let body: serde_json::Value =
        serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.expect("body"))
            .expect("a JSON body");
    super::openapi::assert_error_shape(&body);
    assert_eq!(body["requestId"], "panic-request-1");
    assert_eq!(body["errors"]["500"][0]["code"], "UPAPI-113008-500");
    assert!(
        !body.to_string().contains("a bug"),
        "the panic message stays in the log: {body}"
    );
}
