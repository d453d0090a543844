//! Authentication and tenant-header rules: HS256 and RS256 JWTs, static tokens, dev mode, and
//! every refusal.

use std::collections::HashMap;
use std::path::PathBuf;

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use super::*;
use crate::config::Secret;

const SECRET: &str = "an-hs256-secret-of-enough-length";
const ORG: &str = "ACME@AdobeOrg";
const CLIENT: &str = "acme-client";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(org: &str, client: &str, sandboxes: &[&str], exp: i64) -> serde_json::Value {
    json!({"sub": "user-1", "org": org, "client_id": client, "sandboxes": sandboxes, "exp": exp})
}

fn hs256(claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("sign HS256")
}

fn rs256(claims: &serde_json::Value, key_file: &str) -> String {
    let pem = std::fs::read(keys_dir().join(key_file)).expect("test key");
    let key = EncodingKey::from_rsa_pem(&pem).expect("RSA private key");
    encode(&Header::new(Algorithm::RS256), claims, &key).expect("sign RS256")
}

fn settings() -> AuthSettings {
    AuthSettings {
        hs256_secret: Some(Secret::new(SECRET)),
        rs256_public_key_path: Some(keys_dir().join("rs256-test-public.pem")),
        static_tokens: vec![StaticToken {
            token: Secret::new("static-token-1"),
            org: "STATIC@AdobeOrg".into(),
            client_id: "static-client".into(),
            sandboxes: vec!["prod".into(), "dev".into()],
        }],
        jwt_issuer: None,
        jwt_audience: None,
    }
}

fn authenticator() -> Authenticator {
    Authenticator::from_settings(&settings()).expect("authenticator")
}

/// Headers as a request would carry them.
struct Req(HashMap<&'static str, String>);

impl Req {
    fn new() -> Req {
        Req(HashMap::new())
    }
    fn bearer(self, token: &str) -> Req {
        self.with(headers::AUTHORIZATION, &format!("Bearer {token}"))
    }
    fn tenant(self, org: &str, client: &str) -> Req {
        self.with(headers::ORG, org).with(headers::API_KEY, client)
    }
    fn with(mut self, name: &'static str, value: &str) -> Req {
        self.0.insert(name, value.to_owned());
        self
    }
    fn run(&self, auth: &Authenticator) -> Result<RequestContext, AuthError> {
        auth.authenticate(|n| self.0.get(n).map(String::as_str), "req-1")
    }
}

#[test]
fn hs256_token_yields_context() {
    let token = hs256(&claims(ORG, CLIENT, &["prod", "dev"], now_s() + 600));
    let ctx = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .with(headers::SANDBOX, "dev")
        .run(&authenticator())
        .expect("accepted");
    assert_eq!(ctx.tenant, Tenant::new(ORG, "dev"));
    assert_eq!(ctx.request_id, "req-1");
    assert_eq!(
        ctx.principal,
        Principal::Client {
            client_id: CLIENT.into(),
            subject: "user-1".into()
        }
    );
}

#[test]
fn rs256_token_yields_context_and_sandbox_defaults_to_prod() {
    let token = rs256(
        &claims(ORG, CLIENT, &["prod"], now_s() + 600),
        "rs256-test-private.pem",
    );
    let ctx = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .expect("accepted");
    assert_eq!(ctx.tenant.sandbox, DEFAULT_SANDBOX);
}

#[test]
fn rs256_token_signed_by_another_key_is_invalid() {
    let token = rs256(
        &claims(ORG, CLIENT, &["prod"], now_s() + 600),
        "rs256-other-private.pem",
    );
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken(_)), "{err:?}");
    assert_eq!(err.kind(), AuthErrorKind::Unauthenticated);
}

#[test]
fn hs256_token_with_wrong_secret_is_invalid() {
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims(ORG, CLIENT, &["prod"], now_s() + 600),
        &EncodingKey::from_secret(b"some-other-secret-entirely").expect("key"),
    )
    .expect("sign");
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("bad signature".into()));
}

#[test]
fn expired_token_is_refused() {
    let token = hs256(&claims(ORG, CLIENT, &["prod"], now_s() - 3600));
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert_eq!(err, AuthError::ExpiredToken);
    assert_eq!(err.kind(), AuthErrorKind::Unauthenticated);
}

#[test]
fn token_without_exp_or_org_claim_is_invalid() {
    let no_exp = hs256(&json!({"org": ORG, "client_id": CLIENT, "sandboxes": ["prod"]}));
    let err = Req::new()
        .bearer(&no_exp)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert!(
        matches!(err, AuthError::InvalidToken(ref m) if m.contains("exp")),
        "{err:?}"
    );

    let no_org = hs256(&json!({"client_id": CLIENT, "sandboxes": ["prod"], "exp": now_s() + 60}));
    let err = Req::new()
        .bearer(&no_org)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken(_)), "{err:?}");
}

#[test]
fn unsupported_algorithm_is_invalid() {
    let token = encode(
        &Header::new(Algorithm::HS512),
        &claims(ORG, CLIENT, &["prod"], now_s() + 600),
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("sign");
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .unwrap_err();
    assert!(
        matches!(err, AuthError::InvalidToken(ref m) if m.contains("HS512")),
        "{err:?}"
    );
}

#[test]
fn issuer_and_audience_are_enforced_when_configured() {
    let mut s = settings();
    s.jwt_issuer = Some("https://issuer.example".into());
    s.jwt_audience = Some("segmentation".into());
    let auth = Authenticator::from_settings(&s).expect("authenticator");
    let mut good = claims(ORG, CLIENT, &["prod"], now_s() + 600);
    good["iss"] = json!("https://issuer.example");
    good["aud"] = json!("segmentation");
    Req::new()
        .bearer(&hs256(&good))
        .tenant(ORG, CLIENT)
        .run(&auth)
        .expect("accepted");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    let err = Req::new()
        .bearer(&hs256(&wrong_iss))
        .tenant(ORG, CLIENT)
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("wrong issuer".into()));
    let mut wrong_aud = good;
    wrong_aud["aud"] = json!("other");
    let err = Req::new()
        .bearer(&hs256(&wrong_aud))
        .tenant(ORG, CLIENT)
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("wrong audience".into()));
}

#[test]
fn static_token_yields_its_identity() {
    let ctx = Req::new()
        .bearer("static-token-1")
        .tenant("STATIC@AdobeOrg", "static-client")
        .with(headers::SANDBOX, "dev")
        .run(&authenticator())
        .expect("accepted");
    assert_eq!(ctx.tenant, Tenant::new("STATIC@AdobeOrg", "dev"));
    assert!(
        matches!(ctx.principal, Principal::Client { ref client_id, .. } if client_id == "static-client")
    );
}

#[test]
fn missing_and_malformed_tokens() {
    let auth = authenticator();
    let err = Req::new().tenant(ORG, CLIENT).run(&auth).unwrap_err();
    assert_eq!(err, AuthError::MissingToken);
    for header in [
        "Basic abc",
        "Bearer",
        "Bearer ",
        "token-without-scheme",
        "Bearer a b",
    ] {
        let err = Req::new()
            .with(headers::AUTHORIZATION, header)
            .tenant(ORG, CLIENT)
            .run(&auth)
            .unwrap_err();
        assert_eq!(err, AuthError::MalformedToken, "{header:?}");
    }
    let err = Req::new()
        .bearer("not-a-jwt-nor-a-static-token")
        .tenant(ORG, CLIENT)
        .run(&auth)
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken(_)));
}

#[test]
fn scheme_is_case_insensitive() {
    let token = hs256(&claims(ORG, CLIENT, &["prod"], now_s() + 600));
    Req::new()
        .with(headers::AUTHORIZATION, &format!("bearer {token}"))
        .tenant(ORG, CLIENT)
        .run(&authenticator())
        .expect("accepted");
}

#[test]
fn api_key_must_be_present_and_match() {
    let token = hs256(&claims(ORG, CLIENT, &["prod"], now_s() + 600));
    let auth = authenticator();
    let err = Req::new()
        .bearer(&token)
        .with(headers::ORG, ORG)
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::MissingApiKey);
    assert_eq!(err.kind(), AuthErrorKind::PermissionDenied);
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, "someone-else")
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::ApiKeyMismatch);
    assert_eq!(err.kind(), AuthErrorKind::PermissionDenied);
}

#[test]
fn wrong_org_and_sandbox_are_permission_denied() {
    let token = hs256(&claims(ORG, CLIENT, &["prod"], now_s() + 600));
    let auth = authenticator();
    let err = Req::new()
        .bearer(&token)
        .tenant("OTHER@AdobeOrg", CLIENT)
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::OrgNotAllowed("OTHER@AdobeOrg".into()));
    assert_eq!(err.kind(), AuthErrorKind::PermissionDenied);
    let err = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .with(headers::SANDBOX, "dev")
        .run(&auth)
        .unwrap_err();
    assert_eq!(err, AuthError::SandboxNotAllowed("dev".into()));
    assert_eq!(err.kind(), AuthErrorKind::PermissionDenied);
}

#[test]
fn wildcard_sandbox_grant_allows_any_sandbox() {
    let token = hs256(&claims(ORG, CLIENT, &["*"], now_s() + 600));
    let ctx = Req::new()
        .bearer(&token)
        .tenant(ORG, CLIENT)
        .with(headers::SANDBOX, "anything-1")
        .run(&authenticator())
        .expect("accepted");
    assert_eq!(ctx.tenant.sandbox, "anything-1");
}

#[test]
fn token_checked_before_tenant_headers() {
    // An unauthenticated caller learns nothing about its other headers.
    let err = Req::new().run(&authenticator()).unwrap_err();
    assert_eq!(err, AuthError::MissingToken);
}

#[test]
fn dev_mode_ignores_tokens_but_needs_the_org() {
    let auth = Authenticator::dev_mode();
    assert!(auth.is_dev_mode());
    let ctx = Req::new()
        .with(headers::ORG, ORG)
        .run(&auth)
        .expect("accepted");
    assert_eq!(ctx.principal, Principal::Anonymous);
    assert_eq!(ctx.tenant, Tenant::new(ORG, "prod"));
    let err = Req::new().bearer("garbage").run(&auth).unwrap_err();
    assert_eq!(err, AuthError::MissingOrg);
    assert_eq!(err.kind(), AuthErrorKind::InvalidArgument);
    assert_eq!(err.gateway_code(), "400003");
}

#[test]
fn tenant_header_validation() {
    let auth = Authenticator::dev_mode();
    let with_sandbox = |s: &str| {
        Req::new()
            .with(headers::ORG, ORG)
            .with(headers::SANDBOX, s)
            .run(&auth)
    };
    for bad in ["Prod", "dev_1", "-dev", "dev sandbox", &"a".repeat(257)] {
        let err = with_sandbox(bad).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::InvalidHeader {
                    header: "x-sandbox-name",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    for good in ["prod", "dev-2", "0day"] {
        assert_eq!(with_sandbox(good).expect("valid").tenant.sandbox, good);
    }
    assert_eq!(
        with_sandbox("").expect("empty = default").tenant.sandbox,
        "prod"
    );
    let err = Req::new().with(headers::ORG, "   ").run(&auth).unwrap_err();
    assert_eq!(err, AuthError::MissingOrg);
    let err = Req::new()
        .with(headers::ORG, &"x".repeat(300))
        .run(&auth)
        .unwrap_err();
    assert!(matches!(
        err,
        AuthError::InvalidHeader {
            header: "x-gw-ims-org-id",
            ..
        }
    ));
}

#[test]
fn request_id_is_kept_when_usable_and_generated_otherwise() {
    assert_eq!(resolve_request_id(Some("abc-123")), "abc-123");
    for bad in [None, Some(""), Some("has space"), Some(&*"x".repeat(129))] {
        let id = resolve_request_id(bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} -> {id}");
    }
    assert_ne!(resolve_request_id(None), resolve_request_id(None));
}

#[test]
fn bad_key_file_fails_setup() {
    let mut s = settings();
    s.rs256_public_key_path = Some(keys_dir().join("does-not-exist.pem"));
    assert!(matches!(
        Authenticator::from_settings(&s),
        Err(AuthSetupError::ReadKey { .. })
    ));
    s.rs256_public_key_path = Some(keys_dir().join("README.md"));
    assert!(matches!(
        Authenticator::from_settings(&s),
        Err(AuthSetupError::BadKey { .. })
    ));
}

#[test]
fn debug_output_hides_secrets() {
    let shown = format!("{:?} {:?}", authenticator(), settings());
    assert!(!shown.contains(SECRET));
    assert!(!shown.contains("static-token-1"));
}

#[test]
fn every_error_has_a_gateway_code_and_reason() {
    let all = [
        AuthError::MissingToken,
        AuthError::MalformedToken,
        AuthError::InvalidToken("x".into()),
        AuthError::ExpiredToken,
        AuthError::MissingApiKey,
        AuthError::ApiKeyMismatch,
        AuthError::MissingOrg,
        AuthError::InvalidHeader {
            header: "x",
            reason: "y".into(),
        },
        AuthError::OrgNotAllowed("o".into()),
        AuthError::SandboxNotAllowed("s".into()),
    ];
    let mut reasons = std::collections::HashSet::new();
    for e in &all {
        assert_eq!(e.gateway_code().len(), 6);
        assert!(
            reasons.insert(e.reason()),
            "duplicate reason {}",
            e.reason()
        );
    }
}
