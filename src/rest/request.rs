//! What happens around every REST request: its id, its span, its caller.
//!
//! [`around_request`] is the outermost middleware. It resolves `x-request-id` (the caller's when
//! usable, else a fresh UUID, as [`crate::auth::resolve_request_id`] decides for both edges),
//! opens the request's span, echoes the id on the response and writes the AEP error body of a
//! failed request, so that every error — a handler's, an extractor's, an unknown path's —
//! carries the same `requestId` as the header.
//!
//! [`Caller`] is the extractor handlers take to learn who calls for which tenant. It runs the
//! shared [`Authenticator`](crate::auth::Authenticator), so REST and gRPC accept exactly the same
//! credentials, and records the tenant on the request's span.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::{ErrorReport, RestError};
use super::{BASE_PATH, RestState};
use crate::auth::{self, headers};
use crate::context::RequestContext;
use crate::error::Code;

/// The request id [`around_request`] resolved, for the extractors.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An error body written by something other than this gateway (an axum extractor's plain-text
/// rejection) is read back at most this far to become the AEP body's message.
const FOREIGN_ERROR_BODY_LIMIT: usize = 4096;

/// Request id, span, `x-request-id` echo and the AEP error body, around every request.
pub async fn around_request(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    let request_id = auth::resolve_request_id(given);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        org = tracing::field::Empty,
        sandbox = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let response = run_isolated(next, request).await;
        let mut response = finish_error_body(response, &request_id).await;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(headers::REQUEST_ID, v);
        }
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "finished"
        );
        response
    }
    .instrument(span)
    .await
}

/// Runs the rest of the stack in its own task, so that a bug that panics answers 500 with the
/// AEP body and the request id (and is logged) instead of dropping the connection with no answer
/// at all, which is what a panic inside hyper's connection task does. The task runs to its end
/// even if the client goes away, so a write is never cut off halfway by a disconnect.
async fn run_isolated(next: Next, request: Request) -> Response {
    match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "the request's handler failed");
            let what = if e.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            RestError::from(crate::error::Error::internal(format!(
                "the request's handler {what}"
            )))
            .into_response()
        }
    }
}

/// Writes the JSON body of an [`ErrorReport`]; turns any other error response without a JSON body
/// into the same shape, so no client ever has to parse two kinds of error.
async fn finish_error_body(response: Response, request_id: &str) -> Response {
    if let Some(report) = response.extensions().get::<ErrorReport>().cloned() {
        return json_error(response, &report, request_id);
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, FOREIGN_ERROR_BODY_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = foreign_code(status);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let report = ErrorReport {
        status,
        code,
        entries: vec![serde_json::json!({"code": code.aep_code(), "message": message})],
        title: message,
        gateway_code: None,
    };
    json_error(
        Response::from_parts(parts, Body::empty()),
        &report,
        request_id,
    )
}

fn json_error(response: Response, report: &ErrorReport, request_id: &str) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    tracing::info!(
        status = report.status.as_u16(),
        reason = report.code.reason(),
        "refused: {}",
        report.title
    );
    let body = report.body(request_id).to_string();
    Response::from_parts(parts, Body::from(body))
}

/// The catalogue entry for an error status this gateway did not render itself.
fn foreign_code(status: StatusCode) -> Code {
    match status {
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::TOO_MANY_REQUESTS => Code::ResourceExhausted,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        s if s.is_server_error() => Code::Internal,
        _ => Code::InvalidArgument,
    }
}

/// The authenticated caller of a request and the base path it used.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: RequestContext,
    /// [`BASE_PATH`] when the request came through it, else empty: links and `X-Location` use
    /// the same form the caller used.
    pub base: &'static str,
}

impl Caller {
    /// A path of this service in the caller's form: `/data/core/ups/segment/definitions/…`.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl FromRequestParts<RestState> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, RestError> {
        let request_id = match parts.extensions.get::<RequestId>() {
            Some(id) => id.0.clone(),
            None => auth::resolve_request_id(header_str(parts, headers::REQUEST_ID)),
        };
        let ctx = state
            .auth
            .authenticate(|name| header_str(parts, name), &request_id)
            .map_err(RestError::Auth)?;
        let span = tracing::Span::current();
        span.record("org", ctx.tenant.org.as_str());
        span.record("sandbox", ctx.tenant.sandbox.as_str());
        let path = match parts.extensions.get::<OriginalUri>() {
            Some(OriginalUri(uri)) => uri.path().to_owned(),
            None => parts.uri.path().to_owned(),
        };
        let base = if path.starts_with(&format!("{BASE_PATH}/")) {
            BASE_PATH
        } else {
            ""
        };
        Ok(Caller { ctx, base })
    }
}

fn header_str<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The fallback of unknown paths: 404 in the AEP shape.
pub async fn no_route(OriginalUri(uri): OriginalUri) -> RestError {
    RestError::NoRoute {
        path: uri.path().to_owned(),
    }
}

/// The fallback of known paths with another method: 405 in the AEP shape.
pub async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> RestError {
    RestError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
