//! Authentication over the wire: every refusal has its code and its ErrorInfo reason, nothing is
//! written by a refused call, the request id is echoed on successes and refusals alike, and
//! health and reflection need no credentials.

use tonic::Code;
use tonic_types::StatusExt;

use super::*;

const ORG: &str = "AUTH0001@AdobeOrg";

fn one_profile() -> pb::UpsertProfilesRequest {
    pb::UpsertProfilesRequest {
        records: vec![profile_record("auth@example.com", "Auth")],
    }
}

async fn refused(server: &TestServer, caller: &Caller) -> tonic::Status {
    match server.profiles(caller).upsert_profiles(one_profile()).await {
        Ok(r) => panic!("expected a refusal for {caller:?}, got {r:?}"),
        Err(status) => status,
    }
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_refusal_has_its_code_and_reason_and_writes_nothing() {
    let server = spawn_server().await;
    let good = Caller::new(ORG, "prod");
    let client = client_of(ORG);
    let cases: Vec<(&str, Caller, Code, &str)> = vec![
        (
            "missing token",
            Caller {
                authorization: None,
                ..good.clone()
            },
            Code::Unauthenticated,
            "token_missing",
        ),
        (
            "malformed header",
            Caller {
                authorization: Some("Token abc".into()),
                ..good.clone()
            },
            Code::Unauthenticated,
            "token_malformed",
        ),
        (
            "garbage token",
            good.clone().with_token("not.a.jwt"),
            Code::Unauthenticated,
            "token_invalid",
        ),
        (
            "expired token",
            good.clone()
                .with_token(&hs256_token(ORG, &client, &["prod"], -3600)),
            Code::Unauthenticated,
            "token_expired",
        ),
        (
            "wrong org",
            Caller {
                org: Some("OTHER@AdobeOrg".into()),
                ..good.clone()
            },
            Code::PermissionDenied,
            "org_not_allowed",
        ),
        (
            "wrong sandbox",
            good.clone().with_sandbox("dev"),
            Code::PermissionDenied,
            "sandbox_not_allowed",
        ),
        (
            "wrong api key",
            Caller {
                api_key: Some("someone-else".into()),
                ..good.clone()
            },
            Code::PermissionDenied,
            "api_key_mismatch",
        ),
        (
            "missing api key",
            Caller {
                api_key: None,
                ..good.clone()
            },
            Code::PermissionDenied,
            "api_key_missing",
        ),
        (
            "missing org header",
            Caller {
                org: None,
                ..good.clone()
            },
            Code::InvalidArgument,
            "org_header_missing",
        ),
        (
            "upper-case sandbox",
            good.clone().with_sandbox("Prod"),
            Code::InvalidArgument,
            "header_invalid",
        ),
    ];
    for (name, caller, code, expected_reason) in cases {
        let status = refused(&server, &caller).await;
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert_eq!(reason(&status), expected_reason, "{name}");
    }
    let count = server
        .profiles(&good)
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .total_size;
    assert_eq!(count, 0, "no refused call wrote anything");
    server.stop().await;
}

#[tokio::test]
async fn rs256_and_static_tokens_are_accepted() {
    let server = spawn_server().await;
    let client = client_of(ORG);
    let rs = Caller::new(ORG, "prod").with_token(&rs256_token(ORG, &client, &["prod"]));
    server
        .profiles(&rs)
        .upsert_profiles(one_profile())
        .await
        .expect("RS256 token accepted");

    let stat = Caller {
        authorization: Some(format!("Bearer {STATIC_TOKEN}")),
        api_key: Some(STATIC_CLIENT.into()),
        org: Some(STATIC_ORG.into()),
        sandbox: Some("dev".into()),
        request_id: None,
    };
    server
        .profiles(&stat)
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("static token accepted");
    let wrong_sandbox = stat.clone().with_sandbox("staging");
    assert_eq!(
        refused(&server, &wrong_sandbox).await.code(),
        Code::PermissionDenied
    );
    server.stop().await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let server = spawn_server().await;
    let caller = Caller {
        request_id: Some("it-req-42".into()),
        ..Caller::new(ORG, "prod")
    };
    let response = server
        .profiles(&caller)
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("list");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("it-req-42")
    );

    let refused_caller = Caller {
        authorization: None,
        ..caller
    };
    let status = refused(&server, &refused_caller).await;
    assert_eq!(
        status
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("it-req-42"),
        "refusals echo the request id too"
    );

    let generated = server
        .profiles(&Caller::new(ORG, "prod"))
        .list_profiles(pb::ListProfilesRequest::default())
        .await
        .expect("list");
    let id = generated
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a generated request id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let domain_error = server
        .profiles(&Caller {
            request_id: Some("it-req-43".into()),
            ..Caller::new(ORG, "prod")
        })
        .get_profile(pb::GetProfileRequest {
            lookup: Some(pb::get_profile_request::Lookup::ProfileId("nope".into())),
        })
        .await
        .expect_err("not found");
    assert_eq!(domain_error.code(), Code::NotFound);
    assert_eq!(
        domain_error
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("it-req-43")
    );
    server.stop().await;
}

#[tokio::test]
async fn health_needs_no_credentials() {
    let server = spawn_server().await;
    let status = server
        .health()
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health without a token")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    server.stop().await;
}

#[tokio::test]
async fn dev_mode_serves_anonymous_callers_by_tenant_headers() {
    let options = Options {
        dev_mode: true,
        ..Options::default()
    };
    let server = spawn_server_with(segmentation::store::Backend::Sqlite, options).await;
    let anonymous = Caller::anonymous(ORG);
    server
        .profiles(&anonymous)
        .upsert_profiles(one_profile())
        .await
        .expect("dev mode accepts callers without a token");
    let no_org = Caller::default();
    assert_eq!(
        refused(&server, &no_org).await.code(),
        Code::InvalidArgument
    );
    server.stop().await;
}
