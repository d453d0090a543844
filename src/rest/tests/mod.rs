//! Tests of the REST gateway: requests go through the real router with
//! `tower::ServiceExt::oneshot` (no sockets) onto a fresh SQLite store per test, and response
//! bodies are checked against Adobe's OpenAPI file ([`openapi`]).

mod definitions;
mod errors;
mod jobs;
mod openapi;
mod profiles;
mod served;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

use super::{RestState, router};
use crate::auth::Authenticator;
use crate::config::Limits;
use crate::domain::profiles::ProfileService;
use crate::domain::{Clock, DefinitionService, JobLimits, JobService};
use crate::engine::{Engine, EngineOptions};
use crate::store::Store;

pub const ORG: &str = "ACME0123456789@AdobeOrg";
pub const OTHER_ORG: &str = "GLOBEX987654321@AdobeOrg";
/// The manual clock's start: 2023-11-14T22:13:20Z.
pub const T0_MS: i64 = 1_700_000_000_000;

pub fn default_limits() -> Limits {
    Limits {
        max_body_bytes: 256 * 1024,
        max_batch_records: 1000,
    }
}

/// The router over a fresh SQLite store in a temporary directory.
pub struct TestApi {
    router: Router,
    pub store: Store,
    pub clock: Clock,
    pub jobs: JobService,
    /// Job workers, when started ([`TestApi::start_workers`]); they stop when this is dropped.
    workers: tokio::task::JoinSet<Result<(), ()>>,
    _stop_workers: Option<tokio::sync::watch::Sender<bool>>,
    _dir: TempDir,
}

impl TestApi {
    /// Dev mode (no credentials needed), default limits.
    pub async fn new() -> TestApi {
        TestApi::with(Authenticator::dev_mode(), default_limits()).await
    }

    pub async fn with(auth: Authenticator, limits: Limits) -> TestApi {
        TestApi::with_job_limit(auth, limits, 10).await
    }

    /// `max_running_jobs_per_sandbox` = `max_running`.
    pub async fn with_job_limit(auth: Authenticator, limits: Limits, max_running: u32) -> TestApi {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/rest.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url).await.expect("sqlite store");
        let clock = Clock::manual(T0_MS);
        let job_limits = JobLimits {
            max_running_per_sandbox: max_running,
        };
        let jobs = JobService::with_clock(store.clone(), clock.clone(), job_limits);
        let state = RestState {
            definitions: DefinitionService::with_clock(store.clone(), clock.clone()),
            profiles: ProfileService::with_clock(store.clone(), clock.clone()),
            jobs: jobs.clone(),
            auth: Arc::new(auth),
            limits,
        };
        TestApi {
            router: router(state),
            store,
            clock,
            jobs,
            workers: tokio::task::JoinSet::new(),
            _stop_workers: None,
            _dir: dir,
        }
    }

    /// Starts one job worker on the store (jobs stay NEW until this is called).
    pub fn start_workers(&mut self) {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let options = EngineOptions {
            workers: 1,
            poll_interval: std::time::Duration::from_millis(20),
            page_size: 7,
            threads: 2,
            ..EngineOptions::default()
        };
        Engine::new(self.store.clone(), options, self.jobs.wake_signal())
            .spawn(&mut self.workers, &rx);
        self._stop_workers = Some(stop);
    }

    /// A request with the tenant headers of [`ORG`] / `prod`.
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            api: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: vec![("x-gw-ims-org-id".into(), ORG.into())],
            body: None,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req("GET", path).send().await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req("POST", path).json(body).send().await
    }

    /// Creates a definition and returns its id (asserting 200).
    pub async fn create_definition(&self, name: &str, pql: &str) -> String {
        let r = self
            .post(
                "/segment/definitions",
                serde_json::json!({
                    "name": name,
                    "expression": {"type": "PQL", "format": "pql/text", "value": pql},
                    "schema": {"name": "_xdm.context.profile"},
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["id"].as_str().expect("id").to_owned()
    }
}

/// A request being built.
pub struct Req<'a> {
    api: &'a TestApi,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req<'_> {
    /// Sets a header, replacing one of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn sandbox(self, name: &str) -> Self {
        self.header("x-sandbox-name", name)
    }

    pub fn org(self, org: &str) -> Self {
        self.header("x-gw-ims-org-id", org)
    }

    pub fn json(self, body: Value) -> Self {
        self.raw(body.to_string().into_bytes())
            .header("content-type", "application/json")
    }

    pub fn raw(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    pub async fn send(self) -> Resp {
        let mut builder = Request::builder()
            .method(self.method.as_str())
            .uri(&self.path);
        for (n, v) in &self.headers {
            builder = builder.header(n, v);
        }
        let request = builder
            .body(self.body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let response = self
            .api
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"))
        };
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
}

/// A response, with its body parsed as JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an AEP error body (shape (b)) with this status and `type` code, and returns the
    /// first entry's message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, aep_code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        openapi::assert_error_shape(&self.body);
        assert_eq!(
            self.body["type"],
            format!("https://ns.adobe.com/aep/errors/{aep_code}"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.body["requestId"].as_str(),
            self.header("x-request-id"),
            "the body's requestId is the echoed header"
        );
        self.body["errors"][status.to_string()][0]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    }
}
