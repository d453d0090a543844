//! Request headers -> [`RequestContext`]: who is calling, for which tenant.
//!
//! Both edges use this one module: the gRPC layer reads request metadata, the REST extractor reads
//! HTTP headers, and each hands [`Authenticator::authenticate`] a header lookup function, so the
//! rules below exist once. The headers are AEP's:
//!
//! | header            | meaning                                                          |
//! |-------------------|------------------------------------------------------------------|
//! | `authorization`   | `Bearer <token>`: a JWT (HS256 or RS256) or a configured static token |
//! | `x-api-key`       | the client id; must equal the token's client id                  |
//! | `x-gw-ims-org-id` | the organisation; required; must equal the token's org           |
//! | `x-sandbox-name`  | the sandbox, lower-case; `prod` when absent; must be allowed by the token |
//! | `x-request-id`    | optional; generated when absent and echoed in responses and logs |
//!
//! The order of checks is deliberate: the token first (an unauthenticated caller learns nothing,
//! not even that its headers are malformed), then the tenant headers, then whether the token may
//! act for that tenant. With no verifier configured the service is in dev mode: tokens are
//! ignored and every caller is [`Principal::Anonymous`]; `app` then binds loopback only.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use crate::config::{AuthSettings, StaticToken};
use crate::context::{Principal, RequestContext, Tenant};

/// The sandbox used when a request names none (AEP's default production sandbox).
pub const DEFAULT_SANDBOX: &str = "prod";
/// The longest accepted `x-request-id`; a longer or non-printable one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;
const MAX_ORG_LEN: usize = 256;
const MAX_SANDBOX_LEN: usize = 256;

/// Header names, lower-case as HTTP/2 and gRPC metadata carry them.
pub mod headers {
    pub const AUTHORIZATION: &str = "authorization";
    pub const API_KEY: &str = "x-api-key";
    pub const ORG: &str = "x-gw-ims-org-id";
    pub const SANDBOX: &str = "x-sandbox-name";
    pub const REQUEST_ID: &str = "x-request-id";
}

/// Why a request was refused before reaching the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the authorization header is missing; send `authorization: Bearer <token>`")]
    MissingToken,
    #[error("the authorization header must have the form `Bearer <token>`")]
    MalformedToken,
    #[error("the access token is not valid: {0}")]
    InvalidToken(String),
    #[error("the access token has expired")]
    ExpiredToken,
    #[error("the x-api-key header is missing")]
    MissingApiKey,
    #[error("x-api-key does not match the client id of the access token")]
    ApiKeyMismatch,
    #[error("the x-gw-ims-org-id header is missing")]
    MissingOrg,
    #[error("header {header} is invalid: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    #[error("the access token is not valid for organization {0}")]
    OrgNotAllowed(String),
    #[error("the access token does not allow sandbox {0}")]
    SandboxNotAllowed(String),
}

/// How an [`AuthError`] is reported on each edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    /// gRPC UNAUTHENTICATED, HTTP 401.
    Unauthenticated,
    /// gRPC PERMISSION_DENIED, HTTP 403.
    PermissionDenied,
    /// gRPC INVALID_ARGUMENT, HTTP 400.
    InvalidArgument,
}

impl AuthError {
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            AuthError::MissingToken
            | AuthError::MalformedToken
            | AuthError::InvalidToken(_)
            | AuthError::ExpiredToken => AuthErrorKind::Unauthenticated,
            AuthError::MissingApiKey
            | AuthError::ApiKeyMismatch
            | AuthError::OrgNotAllowed(_)
            | AuthError::SandboxNotAllowed(_) => AuthErrorKind::PermissionDenied,
            AuthError::MissingOrg | AuthError::InvalidHeader { .. } => {
                AuthErrorKind::InvalidArgument
            }
        }
    }

    /// The AEP gateway `error_code` for this failure (REST bodies echo it).
    pub fn gateway_code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "403010",
            AuthError::MalformedToken | AuthError::InvalidToken(_) | AuthError::ExpiredToken => {
                "401013"
            }
            AuthError::MissingApiKey => "403000",
            AuthError::ApiKeyMismatch => "403003",
            AuthError::MissingOrg | AuthError::InvalidHeader { .. } => "400003",
            AuthError::OrgNotAllowed(_) | AuthError::SandboxNotAllowed(_) => "403025",
        }
    }

    /// A stable snake_case reason (gRPC `ErrorInfo.reason`), in the style of the error catalogue.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "token_missing",
            AuthError::MalformedToken => "token_malformed",
            AuthError::InvalidToken(_) => "token_invalid",
            AuthError::ExpiredToken => "token_expired",
            AuthError::MissingApiKey => "api_key_missing",
            AuthError::ApiKeyMismatch => "api_key_mismatch",
            AuthError::MissingOrg => "org_header_missing",
            AuthError::InvalidHeader { .. } => "header_invalid",
            AuthError::OrgNotAllowed(_) => "org_not_allowed",
            AuthError::SandboxNotAllowed(_) => "sandbox_not_allowed",
        }
    }
}

/// Why the authenticator could not be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("cannot read the RS256 public key {path}: {source}")]
    ReadKey {
        path: String,
        source: std::io::Error,
    },
    #[error("the RS256 public key {path} is not an RSA public key in PEM form: {message}")]
    BadKey { path: String, message: String },
    #[error("the HS256 secret cannot be used: {0}")]
    BadSecret(String),
}

/// The sandboxes a credential may use.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SandboxGrant {
    All,
    Only(HashSet<String>),
}

impl SandboxGrant {
    fn from_list<S: AsRef<str>>(names: &[S]) -> SandboxGrant {
        if names.iter().any(|n| n.as_ref() == "*") {
            SandboxGrant::All
        } else {
            SandboxGrant::Only(names.iter().map(|n| n.as_ref().to_owned()).collect())
        }
    }

    fn allows(&self, sandbox: &str) -> bool {
        match self {
            SandboxGrant::All => true,
            SandboxGrant::Only(names) => names.contains(sandbox),
        }
    }
}

/// What a verified credential says about its holder.
#[derive(Debug, Clone)]
struct Identity {
    org: String,
    client_id: String,
    subject: String,
    sandboxes: SandboxGrant,
}

/// The claims a JWT must carry besides `exp` (checked by the library).
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    /// The organisation the token acts for.
    org: String,
    /// The client id; `x-api-key` must equal it.
    client_id: String,
    /// The sandboxes the token may use; `"*"` allows all.
    sandboxes: Vec<String>,
}

/// Turns request headers into a [`RequestContext`], or says why not.
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    rs256: Option<DecodingKey>,
    static_tokens: Vec<StaticToken>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256", &self.hs256.is_some())
            .field("rs256", &self.rs256.is_some())
            .field("static_tokens", &self.static_tokens.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Authenticator {
    /// Builds the verifiers the settings name; reads the RS256 key file.
    pub fn from_settings(settings: &AuthSettings) -> Result<Authenticator, AuthSetupError> {
        let hs256 = match &settings.hs256_secret {
            Some(secret) => Some(
                DecodingKey::from_secret(secret.expose().as_bytes())
                    .map_err(|e| AuthSetupError::BadSecret(e.to_string()))?,
            ),
            None => None,
        };
        let rs256 = match &settings.rs256_public_key_path {
            Some(path) => {
                let shown = path.display().to_string();
                let pem = std::fs::read(path).map_err(|source| AuthSetupError::ReadKey {
                    path: shown.clone(),
                    source,
                })?;
                Some(
                    DecodingKey::from_rsa_pem(&pem).map_err(|e| AuthSetupError::BadKey {
                        path: shown,
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        Ok(Authenticator {
            hs256,
            rs256,
            static_tokens: settings.static_tokens.clone(),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
        })
    }

    /// An authenticator that verifies nothing (dev mode).
    pub fn dev_mode() -> Authenticator {
        Authenticator {
            hs256: None,
            rs256: None,
            static_tokens: Vec::new(),
            issuer: None,
            audience: None,
        }
    }

    /// True when no verifier is configured: every caller is anonymous.
    pub fn is_dev_mode(&self) -> bool {
        self.hs256.is_none() && self.rs256.is_none() && self.static_tokens.is_empty()
    }

    /// Checks one request's headers. `request_id` is the already-resolved id (see
    /// [`resolve_request_id`]), so that a refusal can echo it too.
    pub fn authenticate<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        request_id: &str,
    ) -> Result<RequestContext, AuthError> {
        let identity = if self.is_dev_mode() {
            None
        } else {
            Some(self.verify_token(header(headers::AUTHORIZATION))?)
        };
        let tenant = tenant_from_headers(&header)?;
        let principal = match identity {
            None => Principal::Anonymous,
            Some(identity) => authorize(identity, header(headers::API_KEY), &tenant)?,
        };
        Ok(RequestContext::new(tenant, principal, request_id))
    }

    fn verify_token(&self, authorization: Option<&str>) -> Result<Identity, AuthError> {
        let value = authorization.ok_or(AuthError::MissingToken)?;
        let token = bearer_token(value)?;
        if let Some(found) = self
            .static_tokens
            .iter()
            .find(|t| constant_time_eq(t.token.expose().as_bytes(), token.as_bytes()))
        {
            return Ok(Identity {
                org: found.org.clone(),
                client_id: found.client_id.clone(),
                subject: format!("static:{}", found.client_id),
                sandboxes: SandboxGrant::from_list(&found.sandboxes),
            });
        }
        self.verify_jwt(token)
    }

    fn verify_jwt(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("not a known static token nor a JWT".into()))?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref(),
            Algorithm::RS256 => self.rs256.as_ref(),
            _ => None,
        }
        .ok_or_else(|| {
            AuthError::InvalidToken(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            ))
        })?;
        let mut validation = Validation::new(header.alg);
        validation.set_required_spec_claims(&["exp"]);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::ExpiredSignature => AuthError::ExpiredToken,
            ErrorKind::InvalidSignature => AuthError::InvalidToken("bad signature".into()),
            ErrorKind::InvalidIssuer => AuthError::InvalidToken("wrong issuer".into()),
            ErrorKind::InvalidAudience => AuthError::InvalidToken("wrong audience".into()),
            ErrorKind::ImmatureSignature => AuthError::InvalidToken("not valid yet".into()),
            ErrorKind::MissingRequiredClaim(c) => {
                AuthError::InvalidToken(format!("missing claim `{c}`"))
            }
            _ => AuthError::InvalidToken(format!("cannot read its claims: {e}")),
        })?;
        let claims = data.claims;
        if claims.org.is_empty() || claims.client_id.is_empty() {
            return Err(AuthError::InvalidToken(
                "claims `org` and `client_id` must not be empty".into(),
            ));
        }
        Ok(Identity {
            subject: claims.sub.unwrap_or_else(|| claims.client_id.clone()),
            sandboxes: SandboxGrant::from_list(&claims.sandboxes),
            org: claims.org,
            client_id: claims.client_id,
        })
    }
}

/// The request's `x-request-id` when it is usable (1 to 128 visible ASCII characters), else a
/// fresh UUID.
pub fn resolve_request_id(given: Option<&str>) -> String {
    match given {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id.to_owned()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// Reads and validates `x-gw-ims-org-id` and `x-sandbox-name`.
pub fn tenant_from_headers<'h>(
    header: &impl Fn(&str) -> Option<&'h str>,
) -> Result<Tenant, AuthError> {
    let org = header(headers::ORG)
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .ok_or(AuthError::MissingOrg)?;
    if org.len() > MAX_ORG_LEN || !org.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::InvalidHeader {
            header: headers::ORG,
            reason: format!("expected at most {MAX_ORG_LEN} visible ASCII characters"),
        });
    }
    let sandbox = match header(headers::SANDBOX).map(str::trim) {
        None | Some("") => DEFAULT_SANDBOX,
        Some(name) => validate_sandbox(name)?,
    };
    Ok(Tenant::new(org, sandbox))
}

fn validate_sandbox(name: &str) -> Result<&str, AuthError> {
    let invalid = |reason: &str| AuthError::InvalidHeader {
        header: headers::SANDBOX,
        reason: reason.to_owned(),
    };
    if name.len() > MAX_SANDBOX_LEN {
        return Err(invalid("sandbox names are at most 256 characters"));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid("sandbox names are lower-case"));
    }
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_chars || !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(invalid(
            "sandbox names use lower-case letters, digits and hyphens, starting with a letter or digit",
        ));
    }
    Ok(name)
}

fn bearer_token(value: &str) -> Result<&str, AuthError> {
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(AuthError::MalformedToken);
    }
    Ok(token)
}

/// May this credential act for this tenant with this api key?
fn authorize(
    identity: Identity,
    api_key: Option<&str>,
    tenant: &Tenant,
) -> Result<Principal, AuthError> {
    let api_key = api_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(AuthError::MissingApiKey)?;
    if api_key != identity.client_id {
        return Err(AuthError::ApiKeyMismatch);
    }
    if tenant.org != identity.org {
        return Err(AuthError::OrgNotAllowed(tenant.org.clone()));
    }
    if !identity.sandboxes.allows(&tenant.sandbox) {
        return Err(AuthError::SandboxNotAllowed(tenant.sandbox.clone()));
    }
    Ok(Principal::Client {
        client_id: identity.client_id,
        subject: identity.subject,
    })
}

/// Compares two byte strings in time that depends only on their lengths, so a static token cannot
/// be guessed byte by byte from response times.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
