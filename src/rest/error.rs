//! REST errors: the AEP service error body (shape (b) of API spec §1.3), built from the one
//! catalogue in [`crate::error`].
//!
//! ```json
//! {"requestId": "…", "errors": {"404": [{"code": "UPAPI-113000-404", "message": "…"}]},
//!  "type": "https://ns.adobe.com/aep/errors/UPAPI-113000-404", "title": "…", "status": 404}
//! ```
//!
//! A handler fails with a [`RestError`]; its response carries the rendered error as an extension
//! and the request middleware ([`super::request`]) writes the body, because only the middleware
//! knows the request id of every request, including those refused before any handler ran.
//!
//! Not every refusal is a domain error. Authentication failures keep the AEP gateway's code
//! (`403010`, `401013`, … shape (a)) and status, and the body carries both shapes' fields. A body
//! over the size limit (413) and a known path with an unknown method (405) are refused before any
//! domain call; they have their own catalogue entries ([`Code::PayloadTooLarge`],
//! [`Code::MethodNotAllowed`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::AuthError;
use crate::error::{Code, Error};

/// Why a REST request failed.
#[derive(Debug)]
pub enum RestError {
    /// A domain error: status, code and type come from the catalogue.
    Domain(Error),
    /// The headers did not authenticate the caller for the tenant they name.
    Auth(AuthError),
    /// The body is larger than `max_body_bytes`.
    BodyTooLarge,
    /// No route has this path.
    NoRoute { path: String },
    /// The path exists, but not with this method.
    MethodNotAllowed { method: String, path: String },
}

impl From<Error> for RestError {
    fn from(e: Error) -> Self {
        RestError::Domain(e)
    }
}

/// An error ready to be written: everything but the request id.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    pub status: StatusCode,
    /// The catalogue entry of `type`.
    pub code: Code,
    /// The `errors[<status>][]` entries: `{code, message}`.
    pub entries: Vec<Value>,
    /// `title`: the human message.
    pub title: String,
    /// The AEP gateway code of an authentication failure (`error_code` of shape (a)).
    pub gateway_code: Option<&'static str>,
}

impl ErrorReport {
    /// The JSON body, with the request id.
    pub fn body(&self, request_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("requestId".into(), request_id.into());
        let mut errors = Map::new();
        errors.insert(
            self.status.as_u16().to_string(),
            Value::Array(self.entries.clone()),
        );
        body.insert("errors".into(), Value::Object(errors));
        body.insert("type".into(), self.code.type_uri().into());
        body.insert("title".into(), self.title.clone().into());
        body.insert("status".into(), self.status.as_u16().into());
        if let Some(code) = self.gateway_code {
            body.insert("error_code".into(), code.into());
            body.insert("message".into(), self.title.clone().into());
        }
        Value::Object(body)
    }
}

impl RestError {
    /// The report of this error (logging internal details on the way).
    pub fn report(&self) -> ErrorReport {
        match self {
            RestError::Domain(e) => domain_report(e),
            RestError::Auth(e) => auth_report(e),
            RestError::BodyTooLarge => plain_report(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::PayloadTooLarge,
                "the request body is larger than the configured limit (max_body_bytes)".into(),
            ),
            RestError::NoRoute { path } => plain_report(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                format!("no such path: {path}"),
            ),
            RestError::MethodNotAllowed { method, path } => plain_report(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::MethodNotAllowed,
                format!("{path} does not support {method}"),
            ),
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let report = self.report();
        let retry_after = match &self {
            RestError::Domain(e) => e.retry_after(),
            RestError::Auth(_)
            | RestError::BodyTooLarge
            | RestError::NoRoute { .. }
            | RestError::MethodNotAllowed { .. } => None,
        };
        let mut response = report.status.into_response();
        if let Some(delay) = retry_after {
            let secs = delay.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response.extensions_mut().insert(report);
        response
    }
}

/// The `errors` object of a failed item inside a 207 body (bulk get, ingestion):
/// `{"<status>": [{code, message}]}`.
pub fn item_errors(err: &Error) -> Value {
    let report = domain_report(err);
    json!({ report.status.as_u16().to_string(): report.entries })
}

/// A bulk get's 207: `{"results": {id: <render(found)> | {requestId, errors}}}`, one entry per
/// requested id.
pub fn bulk_get_response<T>(
    results: Vec<crate::domain::BatchItem<T>>,
    request_id: &str,
    render: impl Fn(&T) -> Value,
) -> Response {
    let mut out = Map::new();
    for item in results {
        let entry = match &item.result {
            Ok(found) => render(found),
            Err(e) => json!({"requestId": request_id, "errors": item_errors(e)}),
        };
        out.insert(item.id, entry);
    }
    (
        StatusCode::MULTI_STATUS,
        axum::Json(json!({"results": out})),
    )
        .into_response()
}

/// The catalogue's rendering of a domain error. Invalid arguments list one entry per field
/// (`"name: must not be empty"`); a PQL error's message carries `line:column`.
fn domain_report(e: &Error) -> ErrorReport {
    let code = e.code();
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = public_message(e);
    let violations = e.field_violations();
    let messages: Vec<String> = if violations.is_empty() {
        vec![title.clone()]
    } else {
        violations
            .into_iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect()
    };
    ErrorReport {
        status,
        code,
        entries: messages
            .into_iter()
            .map(|m| json!({"code": code.aep_code(), "message": m}))
            .collect(),
        title,
        gateway_code: None,
    }
}

/// Internal errors are logged in full and reported without their text, which may name storage
/// internals; every other message is written for the caller.
fn public_message(e: &Error) -> String {
    match e {
        Error::Internal { message } => {
            tracing::error!(error = %message, "internal error");
            "an internal error occurred; the service log has the details under this requestId"
                .to_owned()
        }
        // A server fault the caller cannot fix: logged at ERROR like an internal error (the
        // domain and store spans log every error at INFO and below), but its message is safe.
        Error::Unavailable { message } => {
            tracing::error!(error = %message, "service unavailable");
            e.to_string()
        }
        Error::InvalidArgument { .. }
        | Error::InvalidPql { .. }
        | Error::NotFound { .. }
        | Error::AlreadyExists { .. }
        | Error::DefinitionInUse { .. }
        | Error::FailedPrecondition { .. }
        | Error::PermissionDenied { .. }
        | Error::Unauthenticated { .. }
        | Error::ResourceExhausted { .. } => e.to_string(),
    }
}

/// AEP's gateway answers: 403 for a missing token or api key, 401 for a bad token, 400 for a
/// missing org header (API spec §1.3 (a)). The `type` is the catalogue entry of that status.
fn auth_report(e: &AuthError) -> ErrorReport {
    let (status, code) = match e {
        AuthError::MalformedToken | AuthError::InvalidToken(_) | AuthError::ExpiredToken => {
            (StatusCode::UNAUTHORIZED, Code::Unauthenticated)
        }
        AuthError::MissingToken
        | AuthError::MissingApiKey
        | AuthError::ApiKeyMismatch
        | AuthError::OrgNotAllowed(_)
        | AuthError::SandboxNotAllowed(_) => (StatusCode::FORBIDDEN, Code::PermissionDenied),
        AuthError::MissingOrg | AuthError::InvalidHeader { .. } => {
            (StatusCode::BAD_REQUEST, Code::InvalidArgument)
        }
    };
    let title = e.to_string();
    ErrorReport {
        status,
        code,
        entries: vec![json!({"code": e.gateway_code(), "message": title})],
        title,
        gateway_code: Some(e.gateway_code()),
    }
}

fn plain_report(status: StatusCode, code: Code, title: String) -> ErrorReport {
    ErrorReport {
        status,
        code,
        entries: vec![json!({"code": code.aep_code(), "message": title})],
        title,
        gateway_code: None,
    }
}
