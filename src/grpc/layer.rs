//! The tower layer every gRPC request passes first: request id, authentication, tenant, span.
//!
//! Doing this once, in front of the router, rather than in per-service interceptors means the
//! request's span (rpc, org, sandbox, request id) covers the whole call, the request id is echoed
//! on every response including refusals, and no service can forget to authenticate. Handlers read
//! the resulting [`RequestContext`] from the request extensions ([`super::request_context`]).
//!
//! Health checking and server reflection are public: a service mesh probes health without
//! credentials, and reflection only describes the contract.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderValue, Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::auth::{self, Authenticator, headers};
use crate::grpc::status::auth_status;

/// Path prefixes of the services that need no credentials.
const PUBLIC_PREFIXES: &[&str] = &["/grpc.health.v1.", "/grpc.reflection."];

/// Builds [`RequestContextService`]s around the router.
#[derive(Clone)]
pub struct RequestContextLayer {
    auth: Arc<Authenticator>,
}

impl RequestContextLayer {
    pub fn new(auth: Arc<Authenticator>) -> RequestContextLayer {
        RequestContextLayer { auth }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// Authenticates a request, records its span and echoes `x-request-id`.
#[derive(Clone)]
pub struct RequestContextService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> Service<Request<Body>> for RequestContextService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // The service that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rpc = req.uri().path().to_owned();
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let request_id = auth::resolve_request_id(header(headers::REQUEST_ID));
        let public = PUBLIC_PREFIXES.iter().any(|p| rpc.starts_with(p));
        let outcome = if public {
            Ok(None)
        } else {
            self.auth.authenticate(header, &request_id).map(Some)
        };
        let ctx = match outcome {
            Ok(ctx) => ctx,
            Err(err) => {
                let span = tracing::info_span!("request", rpc = %rpc, request_id = %request_id);
                span.in_scope(|| tracing::info!(reason = err.reason(), "refused: {err}"));
                let mut response = auth_status(&err).into_http::<Body>();
                echo_request_id(&mut response, &request_id);
                return Box::pin(std::future::ready(Ok(response)));
            }
        };
        let span = match &ctx {
            Some(ctx) => tracing::info_span!(
                "request",
                rpc = %rpc,
                org = %ctx.tenant.org,
                sandbox = %ctx.tenant.sandbox,
                request_id = %request_id,
            ),
            None => tracing::debug_span!("request", rpc = %rpc, request_id = %request_id),
        };
        if let Some(ctx) = ctx {
            req.extensions_mut().insert(ctx);
        }
        Box::pin(
            async move {
                let started = Instant::now();
                let mut response = inner.call(req).await?;
                echo_request_id(&mut response, &request_id);
                log_finished(&response, started, public);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

fn echo_request_id(response: &mut Response<Body>, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(headers::REQUEST_ID, value);
    }
}

/// One line per call. A failed unary call carries `grpc-status` in its headers (trailers-only
/// response); a successful one sends it in the trailers, after this point, so its absence here
/// means OK (or a stream that has not ended yet).
fn log_finished(response: &Response<Body>, started: Instant, public: bool) {
    let status = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
        .unwrap_or(tonic::Code::Ok);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if public {
        tracing::debug!(status = ?status, elapsed_ms, "finished");
    } else {
        tracing::info!(status = ?status, elapsed_ms, "finished");
    }
}
