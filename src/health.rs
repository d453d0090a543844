//! `grpc.health.v1` driven by the database: SERVING only while the database answers.
//!
//! A background task probes the database every `health_check_interval` and flips every service's
//! status when the answer changes, so a load balancer or service mesh stops routing to a replica
//! within a few seconds of it losing its database, and resumes when the database is back.
//!
//! For an embedded SQLite database the probe also checks that the database file is still at its
//! path: an open SQLite connection keeps answering from a deleted (or moved) file, but everything
//! written after that would be lost with the connection, so "the file is gone" is "the database
//! is gone".

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::DatabaseUrl;
use crate::store::Store;

/// The health entry a liveness probe asks for: SERVING from start until the process exits,
/// whatever the database does. The whole server (`""`) and the named services follow the
/// database, which is what readiness wants; restarting a process because its database is away
/// would not bring the database back (`deploy/kubernetes.yaml` probes both).
pub const LIVENESS: &str = "liveness";

/// Longest time one probe may take before it counts as a failure.
const MAX_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the database whether it answers.
#[derive(Debug, Clone)]
pub struct DatabaseProbe {
    store: Store,
    sqlite_file: Option<PathBuf>,
}

impl DatabaseProbe {
    pub fn new(store: Store, url: &DatabaseUrl) -> DatabaseProbe {
        DatabaseProbe {
            store,
            sqlite_file: url.sqlite_path(),
        }
    }

    /// `Ok` when the database answered within `timeout`; otherwise why not.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        if let Some(path) = &self.sqlite_file {
            match tokio::fs::metadata(path).await {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(format!("{} is not a file", path.display())),
                Err(e) => return Err(format!("database file {}: {e}", path.display())),
            }
        }
        match tokio::time::timeout(timeout, self.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        }
    }
}

/// Reports `status` for the whole server (`""`) and each named service.
pub async fn report(reporter: &HealthReporter, services: &[&str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in services {
        reporter.set_service_status(*name, status).await;
    }
}

/// How long one probe may take for a given probing interval.
pub fn probe_timeout(interval: Duration) -> Duration {
    interval.clamp(Duration::from_secs(1), MAX_PROBE_TIMEOUT)
}

/// Probes every `interval` until `shutdown` turns true, reporting changes from the `serving`
/// state already reported, then reports NOT_SERVING so that traffic drains while in-flight calls
/// finish.
pub async fn watch_database(
    probe: DatabaseProbe,
    reporter: HealthReporter,
    services: Vec<&'static str>,
    interval: Duration,
    mut serving: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let timeout = probe_timeout(interval);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        let result = probe.check(timeout).await;
        if result.is_ok() != serving {
            serving = result.is_ok();
            match &result {
                Ok(()) => tracing::info!("database answers again: health SERVING"),
                Err(why) => tracing::warn!(reason = %why, "database lost: health NOT_SERVING"),
            }
            report(&reporter, &services, status_of(serving)).await;
        }
    }
    report(&reporter, &services, ServingStatus::NotServing).await;
}

pub fn status_of(serving: bool) -> ServingStatus {
    if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}
