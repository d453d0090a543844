//! The running service: builds the [`App`] (database, domain services, authenticator) from the
//! [`Settings`], serves gRPC (plus health and reflection) and, when a gateway is supplied, REST,
//! and shuts both down gracefully.
//!
//! Start-up is split in two so tests can use it exactly as `serve` does: [`App::build`] opens the
//! database (running migrations) and checks the settings; [`App::start`] binds the listeners (port
//! 0 picks a free port; [`RunningApp::grpc_addr`] tells which) and spawns the servers.
//! [`RunningApp::run_until`] waits for a signal (or a server failing), then stops accepting,
//! reports NOT_SERVING, lets in-flight calls finish for up to [`SHUTDOWN_GRACE`], and closes the
//! database.
//!
//! With `--demo`, [`App::load_demo`] fills the demo tenant between the two steps, so the data is
//! there before the first call is accepted.
//!
//! REST hook: [`App::start`] takes an optional [`RestGateway`], a function that builds the axum
//! router from the app ([`crate::rest::gateway`]). It is mounted on
//! `rest_addr` with the configured body limit. Without one, no REST listener is opened.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::auth::{AuthSetupError, Authenticator};
use crate::config::Settings;
use crate::demo::{self, DemoOptions, DemoReport};
use crate::domain::profiles::ProfileService;
use crate::domain::{DefinitionService, JobLimits, JobService};
use crate::engine::{Engine, EngineOptions};
use crate::error::Error;
use crate::grpc::definitions::SegmentDefinitionApi;
use crate::grpc::jobs::SegmentJobApi;
use crate::grpc::layer::RequestContextLayer;
use crate::grpc::pb;
use crate::grpc::pb::profile_service_server::ProfileServiceServer;
use crate::grpc::pb::segment_definition_service_server::SegmentDefinitionServiceServer;
use crate::grpc::pb::segment_job_service_server::SegmentJobServiceServer;
use crate::grpc::profiles::ProfileApi;
use crate::health::{self, DatabaseProbe};
use crate::store::Store;

/// How long in-flight calls may run after a shutdown signal before they are cut off.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Builds the REST gateway's router from the app.
pub type RestGateway = fn(&App) -> axum::Router;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Auth(#[from] AuthSetupError),
    #[error(
        "no authentication is configured (dev mode), so only loopback addresses may be bound, \
         but {setting} is {addr}; configure auth_hs256_secret, auth_rs256_public_key_path or \
         auth_static_tokens, or bind 127.0.0.1"
    )]
    DevModeNotLoopback {
        setting: &'static str,
        addr: SocketAddr,
    },
    #[error("cannot open the database: {0}")]
    Database(Error),
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build server reflection: {0}")]
    Reflection(String),
    #[error("cannot load the demo sandbox: {0}")]
    Demo(Error),
}

/// Why a server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("REST server failed: {0}")]
    Rest(std::io::Error),
    #[error("a server task panicked or was cancelled: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The service's parts, ready to serve.
#[derive(Debug, Clone)]
pub struct App {
    settings: Settings,
    store: Store,
    definitions: DefinitionService,
    profiles: ProfileService,
    jobs: JobService,
    auth: Arc<Authenticator>,
}

impl App {
    /// Checks the auth settings, opens the database and runs its migrations.
    pub async fn build(settings: Settings) -> Result<App, StartupError> {
        let auth = Authenticator::from_settings(&settings.auth)?;
        if auth.is_dev_mode() {
            refuse_non_loopback(&settings)?;
            tracing::warn!(
                "DEV MODE: no authentication is configured. Every caller is anonymous and only \
                 the x-gw-ims-org-id / x-sandbox-name headers choose the tenant. Listening on \
                 loopback only. Configure auth_hs256_secret, auth_rs256_public_key_path or \
                 auth_static_tokens before exposing this service."
            );
        }
        let store = Store::connect(settings.database_url.expose())
            .await
            .map_err(StartupError::Database)?;
        let limits = JobLimits {
            max_running_per_sandbox: settings.jobs.max_running_per_sandbox,
        };
        Ok(App {
            definitions: DefinitionService::new(store.clone()),
            profiles: ProfileService::new(store.clone()),
            jobs: JobService::new(store.clone(), limits),
            store,
            auth: Arc::new(auth),
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn definitions(&self) -> &DefinitionService {
        &self.definitions
    }

    pub fn profiles(&self) -> &ProfileService {
        &self.profiles
    }

    pub fn jobs(&self) -> &JobService {
        &self.jobs
    }

    /// The segment job engine of this process, as the settings describe it.
    pub fn engine(&self) -> Engine {
        let j = &self.settings.jobs;
        let options = EngineOptions {
            workers: j.workers,
            lease: j.lease,
            poll_interval: j.poll_interval,
            page_size: j.page_size,
            page_pause: j.page_pause,
            threads: j.threads,
        };
        Engine::new(self.store.clone(), options, self.jobs.wake_signal())
    }

    /// The authenticator both edges share.
    pub fn authenticator(&self) -> Arc<Authenticator> {
        self.auth.clone()
    }

    /// Loads the demo sandbox through the domain services (`--demo`; see [`crate::demo`]):
    /// idempotent, so a restart with `--demo` writes nothing.
    pub async fn load_demo(&self, options: &DemoOptions) -> Result<DemoReport, StartupError> {
        demo::load(&self.profiles, &self.definitions, options)
            .await
            .map_err(StartupError::Demo)
    }

    /// Binds the listeners and spawns the servers and the database health watch.
    pub async fn start(self, rest: Option<RestGateway>) -> Result<RunningApp, StartupError> {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let grpc_listener = bind("gRPC", self.settings.grpc_addr).await?;
        let grpc_addr = local_addr("gRPC", &grpc_listener, self.settings.grpc_addr)?;
        let rest_addr = self.spawn_rest(rest, &mut tasks, &shutdown_rx).await?;
        let health_service = self.spawn_health_watch(&mut tasks, &shutdown_rx).await;
        self.engine().spawn(&mut tasks, &shutdown_rx);
        let incoming = TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        let grpc = self.grpc_server(health_service, incoming, wait_for_shutdown(shutdown_rx))?;
        tasks.spawn(async move { grpc.await.map_err(ServeError::from) });
        Ok(RunningApp {
            grpc_addr,
            rest_addr,
            shutdown: shutdown_tx,
            tasks,
            store: self.store,
        })
    }

    /// Serves the REST gateway on `rest_addr` when both are there; returns the bound address.
    async fn spawn_rest(
        &self,
        rest: Option<RestGateway>,
        tasks: &mut JoinSet<Result<(), ServeError>>,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Option<SocketAddr>, StartupError> {
        let (addr, gateway) = match (self.settings.rest_addr, rest) {
            (Some(addr), Some(gateway)) => (addr, gateway),
            (Some(addr), None) => {
                tracing::info!(%addr, "no REST gateway in this build; REST is not served");
                return Ok(None);
            }
            (None, _) => return Ok(None),
        };
        let listener = bind("REST", addr).await?;
        let bound = local_addr("REST", &listener, addr)?;
        let router = gateway(self).layer(axum::extract::DefaultBodyLimit::max(
            self.settings.limits.max_body_bytes,
        ));
        let signal = wait_for_shutdown(shutdown.clone());
        tasks.spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await
                .map_err(ServeError::Rest)
        });
        Ok(Some(bound))
    }

    /// Probes the database once (so health starts truthful, before anything is accepted), then
    /// keeps probing in the background; returns the health service to serve.
    async fn spawn_health_watch(
        &self,
        tasks: &mut JoinSet<Result<(), ServeError>>,
        shutdown: &watch::Receiver<bool>,
    ) -> HealthServer<impl Health> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let probe = DatabaseProbe::new(self.store.clone(), &self.settings.database_url);
        let interval = self.settings.health_check_interval;
        let serving = probe.check(health::probe_timeout(interval)).await.is_ok();
        if !serving {
            tracing::warn!("the database does not answer: health starts NOT_SERVING");
        }
        health::report(&reporter, &service_names(), health::status_of(serving)).await;
        reporter
            .set_service_status(health::LIVENESS, tonic_health::ServingStatus::Serving)
            .await;
        let rx = shutdown.clone();
        tasks.spawn(async move {
            health::watch_database(probe, reporter, service_names(), interval, serving, rx).await;
            Ok(())
        });
        health_service
    }

    /// The gRPC server future: every service behind the request layer.
    fn grpc_server(
        &self,
        health_service: HealthServer<impl Health>,
        incoming: TcpIncoming,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<
        impl Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
        StartupError,
    > {
        let limit = self.settings.limits.max_body_bytes;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                // Both reflection versions describe both, so a client listing services through
                // either one (grpcurl 1.8 asks v1alpha, newer tools v1) sees every service.
                .include_reflection_service(false)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // google.rpc error details, so grpcurl can print ErrorInfo and BadRequest.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection()
            .build_v1()
            .map_err(|e| StartupError::Reflection(e.to_string()))?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .map_err(|e| StartupError::Reflection(e.to_string()))?;
        let profiles = ProfileServiceServer::new(ProfileApi::new(
            self.profiles.clone(),
            self.settings.limits.max_batch_records,
        ))
        .max_decoding_message_size(limit);
        let definitions = SegmentDefinitionServiceServer::new(SegmentDefinitionApi::new(
            self.definitions.clone(),
        ))
        .max_decoding_message_size(limit);
        let jobs = SegmentJobServiceServer::new(SegmentJobApi::new(self.jobs.clone()))
            .max_decoding_message_size(limit);
        Ok(Server::builder()
            .layer(RequestContextLayer::new(self.auth.clone()))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(definitions)
            .add_service(profiles)
            .add_service(jobs)
            .serve_with_incoming_shutdown(incoming, signal))
    }
}

/// The names health is reported under (besides the whole server, `""`).
fn service_names() -> Vec<&'static str> {
    vec![
        SegmentDefinitionServiceServer::<SegmentDefinitionApi>::NAME,
        ProfileServiceServer::<ProfileApi>::NAME,
        SegmentJobServiceServer::<SegmentJobApi>::NAME,
    ]
}

/// The servers of a started [`App`].
#[derive(Debug)]
pub struct RunningApp {
    grpc_addr: SocketAddr,
    rest_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<Result<(), ServeError>>,
    store: Store,
}

impl RunningApp {
    /// The bound gRPC address (the real port when 0 was asked for).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound REST address, when REST is served.
    pub fn rest_addr(&self) -> Option<SocketAddr> {
        self.rest_addr
    }

    /// Serves until `signal` completes or a server fails, then shuts down gracefully.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), ServeError> {
        let early = tokio::select! {
            _ = signal => None,
            Some(ended) = self.tasks.join_next() => Some(ended),
        };
        if let Some(ended) = &early {
            tracing::error!(outcome = ?ended, "a server stopped on its own; shutting down");
        }
        self.stop().await?;
        match early {
            Some(ended) => ended?,
            None => Ok(()),
        }
    }

    /// Shuts down now (tests).
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.run_until(std::future::ready(())).await
    }

    async fn stop(&mut self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(true);
        let mut first_error = None;
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(ended) = self.tasks.join_next().await {
                if let Err(e) = ended.map_err(ServeError::from).and_then(|r| r) {
                    first_error.get_or_insert(e);
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("calls still running after {SHUTDOWN_GRACE:?}; cutting them off");
            self.tasks.shutdown().await;
        }
        if let Err(e) = self.store.close().await {
            tracing::warn!(error = %e, "closing the database failed");
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Serves with `settings` until ctrl-c or SIGTERM.
pub async fn serve(
    settings: Settings,
    rest: Option<RestGateway>,
) -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(settings = ?settings, "starting");
    let app = App::build(settings).await?;
    let demo = if app.settings.demo {
        Some(app.load_demo(&DemoOptions::now()).await?)
    } else {
        None
    };
    let running = app.start(rest).await?;
    tracing::info!(
        grpc = %running.grpc_addr(),
        rest = %running.rest_addr().map_or("off".to_owned(), |a| a.to_string()),
        "listening"
    );
    if let Some(report) = demo {
        report.log_ready(running.grpc_addr(), running.rest_addr());
    }
    running.run_until(termination_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on ctrl-c or, on Unix, SIGTERM.
pub async fn termination_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("ctrl-c: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}

async fn wait_for_shutdown(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

fn refuse_non_loopback(settings: &Settings) -> Result<(), StartupError> {
    let binds = [
        ("grpc_addr", Some(settings.grpc_addr)),
        ("rest_addr", settings.rest_addr),
    ];
    for (setting, addr) in binds {
        if let Some(addr) = addr
            && !addr.ip().is_loopback()
        {
            return Err(StartupError::DevModeNotLoopback { setting, addr });
        }
    }
    Ok(())
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { what, addr, source })
}

fn local_addr(
    what: &'static str,
    listener: &TcpListener,
    addr: SocketAddr,
) -> Result<SocketAddr, StartupError> {
    listener
        .local_addr()
        .map_err(|source| StartupError::Bind { what, addr, source })
}
