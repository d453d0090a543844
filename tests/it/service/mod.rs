//! Service tests: the real app ([`segmentation::app`]) started as `serve` starts it, gRPC and the
//! REST gateway each on a port-0 loopback listener with a fresh database, called exactly as a
//! remote caller would: through the generated tonic clients, and with a real HTTP client
//! ([`RestClient`], reqwest) over the REST socket.
//!
//! Every test that touches data runs once per backend from [`backends`]: SQLite always, and
//! PostgreSQL when `SEGMENTATION_TEST_POSTGRES_URL` is set (each server gets its own freshly
//! created database, dropped on [`TestServer::stop`]). With `CI=true` a missing or unreachable
//! PostgreSQL fails the run instead of being skipped. Set `TEST_LOG=1` to see the server's logs.

mod auth;
mod definitions;
mod demo;
mod health;
mod isolation;
mod lifecycle;
mod profiles;
mod reflection;
mod rest;
mod rest_profiles;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use segmentation::app::{App, RunningApp};
use segmentation::config::{ListenAddr, ServeArgs, Settings};
use segmentation::store::Backend;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use pb::profile_service_client::ProfileServiceClient;
use pb::segment_definition_service_client::SegmentDefinitionServiceClient;
use pb::segment_job_service_client::SegmentJobServiceClient;

/// A definitions client that sends a [`Caller`]'s headers.
pub type DefinitionsClient = SegmentDefinitionServiceClient<InterceptedService<Channel, Caller>>;
/// A segment jobs client that sends a [`Caller`]'s headers.
pub type JobsClient = SegmentJobServiceClient<InterceptedService<Channel, Caller>>;
pub use segmentation::grpc::pb;

/// The HS256 secret every test server is configured with.
pub const SECRET: &str = "integration-test-hs256-secret-0123";
/// A static token every test server accepts (org [`STATIC_ORG`], sandboxes prod and dev).
pub const STATIC_TOKEN: &str = "integration-static-token";
pub const STATIC_ORG: &str = "STATIC0001@AdobeOrg";
pub const STATIC_CLIENT: &str = "static-client";

const POSTGRES_ENV: &str = "SEGMENTATION_TEST_POSTGRES_URL";

/// The backends to run data tests on (see the module doc for the CI rule).
pub async fn backends() -> Vec<Backend> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut all = vec![Backend::Sqlite];
    let url = match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ if ci => panic!("CI=true but {POSTGRES_ENV} is not set: PostgreSQL tests must run in CI"),
        _ => {
            eprintln!("note: {POSTGRES_ENV} is not set; PostgreSQL service tests skipped");
            return all;
        }
    };
    // Asked once per test binary: an unreachable server costs a connect timeout.
    static REACHABLE: tokio::sync::OnceCell<Result<(), String>> =
        tokio::sync::OnceCell::const_new();
    let reachable = REACHABLE
        .get_or_init(|| async {
            let mut options = sea_orm::ConnectOptions::new(url.as_str());
            options.connect_timeout(Duration::from_secs(3));
            let db = sea_orm::Database::connect(options)
                .await
                .map_err(|e| e.to_string())?;
            let _ = db.close().await;
            Ok(())
        })
        .await;
    match reachable {
        Ok(()) => all.push(Backend::Postgres),
        Err(e) if ci => panic!("CI=true and PostgreSQL at {url} is unreachable: {e}"),
        Err(e) => eprintln!("note: PostgreSQL at {url} is unreachable ({e}); its tests skipped"),
    }
    all
}

/// How to start a test server.
#[derive(Debug, Clone)]
pub struct Options {
    /// No auth configured (anonymous callers, loopback only).
    pub dev_mode: bool,
    pub health_check_interval_ms: u64,
    pub max_batch_records: u64,
    pub max_body_bytes: u64,
    /// Segment job settings (`job_*`, `max_running_jobs_per_sandbox`); `None` keeps the default.
    pub job_workers: Option<u64>,
    pub job_lease_ms: Option<u64>,
    pub job_page_size: Option<u64>,
    pub job_page_pause_ms: Option<u64>,
    pub max_running_jobs_per_sandbox: Option<u64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dev_mode: false,
            health_check_interval_ms: 200,
            max_batch_records: 1000,
            max_body_bytes: 4 * 1024 * 1024,
            job_workers: None,
            job_lease_ms: None,
            job_page_size: None,
            job_page_pause_ms: None,
            max_running_jobs_per_sandbox: None,
        }
    }
}

/// The database a test server runs on.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    /// A fresh database on `backend` and its URL.
    pub async fn create(backend: Backend) -> (TestDb, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("data").join("segmentation.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                (TestDb::Sqlite { _dir: dir, path }, url)
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).expect("postgres url");
                static SEQ: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "seg_it_{}_{}_{}",
                    std::process::id(),
                    SEQ.fetch_add(1, Ordering::Relaxed),
                    uuid::Uuid::new_v4().simple()
                );
                pg_admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
                let url = replace_db_name(&admin_url, &name);
                (TestDb::Postgres { admin_url, name }, url)
            }
        }
    }
}

impl TestDb {
    /// Drops a PostgreSQL test database (a SQLite one goes with its temporary directory).
    pub async fn drop_database(&self) {
        if let TestDb::Postgres { admin_url, name } = self {
            pg_admin(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

/// Runs one statement on the admin database (PostgreSQL only).
pub async fn pg_admin(admin_url: &str, sql: &str) {
    use sea_orm::ConnectionTrait;
    let db = match sea_orm::Database::connect(admin_url).await {
        Ok(db) => db,
        Err(e) => panic!("cannot reach PostgreSQL at {admin_url} ({POSTGRES_ENV}): {e}"),
    };
    if let Err(e) = db.execute_unprepared(sql).await {
        panic!("{sql}: {e}");
    }
    let _ = db.close().await;
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A running server and its database.
pub struct TestServer {
    /// The gRPC address.
    pub addr: SocketAddr,
    /// The REST gateway's address.
    pub rest_addr: SocketAddr,
    pub db: TestDb,
    pub db_url: String,
    running: Option<RunningApp>,
    channel: Channel,
}

/// A SQLite server with the default options.
pub async fn spawn_server() -> TestServer {
    spawn_server_with(Backend::Sqlite, Options::default()).await
}

/// A server on `backend` with `options`.
pub async fn spawn_server_with(backend: Backend, options: Options) -> TestServer {
    init_logs();
    let (db, db_url) = TestDb::create(backend).await;
    let settings = settings_for(&db_url, &options);
    let app = App::build(settings).await.expect("app builds");
    let running = app
        .start(Some(segmentation::rest::gateway))
        .await
        .expect("app starts");
    let addr = running.grpc_addr();
    let rest_addr = running.rest_addr().expect("REST is served");
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the test server");
    TestServer {
        addr,
        rest_addr,
        db,
        db_url,
        running: Some(running),
        channel,
    }
}

/// Settings exactly as `serve` would build them, from flags.
pub fn settings_for(db_url: &str, options: &Options) -> Settings {
    let keys = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
    let mut args = ServeArgs {
        grpc_addr: Some("127.0.0.1:0".parse().expect("addr")),
        rest_addr: Some(ListenAddr::At("127.0.0.1:0".parse().expect("addr"))),
        database_url: Some(db_url.to_owned()),
        health_check_interval_ms: Some(options.health_check_interval_ms),
        max_batch_records: Some(options.max_batch_records),
        max_body_bytes: Some(options.max_body_bytes),
        job_workers: options.job_workers,
        job_lease_ms: options.job_lease_ms,
        job_page_size: options.job_page_size,
        job_page_pause_ms: options.job_page_pause_ms,
        job_poll_interval_ms: Some(50),
        max_running_jobs_per_sandbox: options.max_running_jobs_per_sandbox,
        ..ServeArgs::default()
    };
    if !options.dev_mode {
        args.auth_hs256_secret = Some(SECRET.to_owned());
        args.auth_rs256_public_key_path = Some(keys.join("rs256-test-public.pem"));
        args.auth_static_tokens = Some(format!(
            r#"[{{"token": "{STATIC_TOKEN}", "org": "{STATIC_ORG}", "client_id": "{STATIC_CLIENT}", "sandboxes": ["prod", "dev"]}}]"#
        ));
    }
    Settings::load_from(&args, &|_| None).expect("test settings are valid")
}

impl TestServer {
    pub fn profiles(
        &self,
        caller: &Caller,
    ) -> ProfileServiceClient<InterceptedService<Channel, Caller>> {
        ProfileServiceClient::with_interceptor(self.channel.clone(), caller.clone())
    }

    pub fn definitions(&self, caller: &Caller) -> DefinitionsClient {
        SegmentDefinitionServiceClient::with_interceptor(self.channel.clone(), caller.clone())
    }

    pub fn health(&self) -> tonic_health::pb::health_client::HealthClient<Channel> {
        tonic_health::pb::health_client::HealthClient::new(self.channel.clone())
    }

    /// A REST client calling as `caller`.
    pub fn rest(&self, caller: &Caller) -> RestClient {
        RestClient {
            base: format!("http://{}", self.rest_addr),
            http: reqwest::Client::new(),
            caller: caller.clone(),
        }
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A store handle on the server's database, for arranging what no RPC writes (memberships).
    pub async fn store(&self) -> segmentation::store::Store {
        segmentation::store::Store::connect(&self.db_url)
            .await
            .expect("second connection to the test database")
    }

    /// Takes the running app out (for shutdown tests).
    pub fn take_running(&mut self) -> RunningApp {
        self.running.take().expect("still running")
    }

    /// Shuts the server down and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
        if let TestDb::Postgres { admin_url, name } = &self.db {
            pg_admin(
                admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

/// Who a test calls as: the AEP headers, each optional so tests can leave any out.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub org: Option<String>,
    pub sandbox: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    /// A caller with a valid HS256 token for `org` (client `client-<org>`) allowed in `sandbox`,
    /// calling in `sandbox`.
    pub fn new(org: &str, sandbox: &str) -> Caller {
        let client = client_of(org);
        Caller {
            authorization: Some(format!(
                "Bearer {}",
                hs256_token(org, &client, &[sandbox], 3600)
            )),
            api_key: Some(client),
            org: Some(org.to_owned()),
            sandbox: Some(sandbox.to_owned()),
            request_id: None,
        }
    }

    /// A caller with no credentials at all, only tenant headers (dev mode).
    pub fn anonymous(org: &str) -> Caller {
        Caller {
            org: Some(org.to_owned()),
            ..Caller::default()
        }
    }

    pub fn with_token(mut self, token: &str) -> Caller {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    pub fn with_sandbox(mut self, sandbox: &str) -> Caller {
        self.sandbox = Some(sandbox.to_owned());
        self
    }
}

impl Interceptor for Caller {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let pairs = [
            ("authorization", &self.authorization),
            ("x-api-key", &self.api_key),
            ("x-gw-ims-org-id", &self.org),
            ("x-sandbox-name", &self.sandbox),
            ("x-request-id", &self.request_id),
        ];
        for (name, value) in pairs {
            if let Some(v) = value {
                let v: MetadataValue<_> = v
                    .parse()
                    .map_err(|_| tonic::Status::internal("bad test header"))?;
                req.metadata_mut().insert(name, v);
            }
        }
        Ok(req)
    }
}

/// A REST client with a [`Caller`]'s headers (the AEP headers it leaves out are not sent).
#[derive(Debug, Clone)]
pub struct RestClient {
    base: String,
    http: reqwest::Client,
    caller: Caller,
}

/// A REST response, its body parsed as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub struct RestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl RestResponse {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts an AEP error body with `status` and `code` in `errors`; returns its first message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        let entries = &self.body["errors"][status.to_string()];
        assert_eq!(entries[0]["code"], code, "{self:?}");
        assert_eq!(self.body["requestId"], self.header("x-request-id"));
        entries[0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl RestClient {
    pub async fn get(&self, path: &str) -> RestResponse {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> RestResponse {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> RestResponse {
        self.send(reqwest::Method::POST, path, Some(body.to_string()))
            .await
    }

    pub async fn patch(&self, path: &str, body: &serde_json::Value) -> RestResponse {
        self.send(reqwest::Method::PATCH, path, Some(body.to_string()))
            .await
    }

    /// Sends `body` as `application/json`; any method, any text.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> RestResponse {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        let headers = [
            ("authorization", &self.caller.authorization),
            ("x-api-key", &self.caller.api_key),
            ("x-gw-ims-org-id", &self.caller.org),
            ("x-sandbox-name", &self.caller.sandbox),
            ("x-request-id", &self.caller.request_id),
        ];
        for (name, value) in headers {
            if let Some(v) = value {
                request = request.header(name, v);
            }
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("REST request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("REST body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        RestResponse {
            status,
            headers,
            body,
        }
    }
}

pub fn client_of(org: &str) -> String {
    format!("client-{}", org.to_ascii_lowercase())
}

/// An HS256 token signed with [`SECRET`], expiring `ttl_s` seconds from now (negative: expired).
pub fn hs256_token(org: &str, client: &str, sandboxes: &[&str], ttl_s: i64) -> String {
    let claims = serde_json::json!({
        "sub": "it-user", "org": org, "client_id": client, "sandboxes": sandboxes,
        "exp": chrono::Utc::now().timestamp() + ttl_s,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("sign")
}

/// An RS256 token signed with the test private key.
pub fn rs256_token(org: &str, client: &str, sandboxes: &[&str]) -> String {
    let pem = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys/rs256-test-private.pem"),
    )
    .expect("test key");
    let claims = serde_json::json!({
        "org": org, "client_id": client, "sandboxes": sandboxes,
        "exp": chrono::Utc::now().timestamp() + 3600,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(&pem).expect("RSA key"),
    )
    .expect("sign")
}

/// An XDM profile record with one Email identity.
pub fn profile_record(email: &str, first_name: &str) -> String {
    serde_json::json!({
        "identityMap": {"Email": [{"id": email, "primary": true}]},
        "person": {"name": {"firstName": first_name}},
        "loyalty": {"points": 1200}
    })
    .to_string()
}

/// An XDM experience event for the profile with `email`.
pub fn event_record(id: &str, email: &str, event_type: &str) -> String {
    serde_json::json!({
        "_id": id,
        "timestamp": "2024-06-14T09:30:00Z",
        "eventType": event_type,
        "identityMap": {"Email": [{"id": email}]}
    })
    .to_string()
}

/// Waits until `check` holds, polling every 50 ms, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The gRPC code of a failed call, with its message in the panic when it succeeded.
pub fn code_of<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> tonic::Code {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(s) => s.code(),
    }
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}
