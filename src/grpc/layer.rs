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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use tower::ServiceExt;

    use super::*;
    use crate::config::{AuthSettings, Secret, StaticToken};
    use crate::context::RequestContext;

    /// Log output captured by a test subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn authenticator() -> Arc<Authenticator> {
        let settings = AuthSettings {
            static_tokens: vec![StaticToken {
                token: Secret::new("tok"),
                org: "ORG@AdobeOrg".into(),
                client_id: "cli".into(),
                sandboxes: vec!["prod".into()],
            }],
            ..AuthSettings::default()
        };
        Arc::new(Authenticator::from_settings(&settings).expect("auth"))
    }

    /// Runs one request through the layer around a service that records the context it saw.
    fn run(
        path: &str,
        headers: &[(&str, &str)],
    ) -> (Response<Body>, Option<RequestContext>, bool, String) {
        let seen: Arc<Mutex<(Option<RequestContext>, bool)>> = Arc::default();
        let inner = {
            let seen = seen.clone();
            tower::service_fn(move |req: Request<Body>| {
                let seen = seen.clone();
                async move {
                    tracing::info!("inside the handler");
                    if let Ok(mut s) = seen.lock() {
                        *s = (req.extensions().get::<RequestContext>().cloned(), true);
                    }
                    Ok::<_, Infallible>(Response::new(Body::default()))
                }
            })
        };
        let service = RequestContextLayer::new(authenticator()).layer(inner);
        let mut builder = Request::builder().uri(format!("http://localhost{path}"));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Body::default()).expect("request");
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .with_ansi(false)
            .finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime.block_on(service.oneshot(request))
        })
        .expect("infallible");
        let (ctx, called) = seen.lock().expect("lock").clone();
        let text = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf-8");
        (response, ctx, called, text)
    }

    fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn authenticated_call_gets_context_span_and_request_id() {
        let (response, ctx, called, logs) = run(
            "/segmentation.v1.ProfileService/GetProfile",
            &[
                ("authorization", "Bearer tok"),
                ("x-api-key", "cli"),
                ("x-gw-ims-org-id", "ORG@AdobeOrg"),
                ("x-request-id", "r-1"),
            ],
        );
        assert!(called);
        let ctx = ctx.expect("context attached");
        assert_eq!(ctx.tenant.org, "ORG@AdobeOrg");
        assert_eq!(ctx.request_id, "r-1");
        assert_eq!(header(&response, "x-request-id"), Some("r-1"));
        let handler_line = logs
            .lines()
            .find(|l| l.contains("inside the handler"))
            .expect("handler logged");
        for field in [
            "rpc=/segmentation.v1.ProfileService/GetProfile",
            "org=ORG@AdobeOrg",
            "sandbox=prod",
            "request_id=r-1",
        ] {
            assert!(
                handler_line.contains(field),
                "{field} missing in {handler_line}"
            );
        }
        assert!(logs.contains("finished"), "{logs}");
    }

    #[test]
    fn refused_call_never_reaches_the_service() {
        let (response, _, called, logs) = run(
            "/segmentation.v1.ProfileService/GetProfile",
            &[("x-gw-ims-org-id", "ORG@AdobeOrg")],
        );
        assert!(!called);
        assert_eq!(
            header(&response, "grpc-status"),
            Some((tonic::Code::Unauthenticated as i32).to_string().as_str())
        );
        let id = header(&response, "x-request-id").expect("generated id echoed");
        assert!(uuid::Uuid::parse_str(id).is_ok());
        assert!(logs.contains("token_missing"), "{logs}");
    }

    #[test]
    fn health_and_reflection_are_public() {
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            let (response, ctx, called, _) = run(path, &[]);
            assert!(called, "{path}");
            assert!(ctx.is_none());
            assert!(header(&response, "grpc-status").is_none());
        }
    }
}
