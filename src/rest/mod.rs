//! The REST gateway: AEP's JSON paths over the same domain services the gRPC edge calls.
//!
//! Scripts written for Adobe Experience Platform's Segmentation Service speak these paths, so the
//! shapes are AEP's (API spec §2.1, §2.2, §2.3, §2.11, §3.1, §3.2; the OpenAPI file in
//! `shared/spec/reference`), and every path answers both under AEP's base path `/data/core/ups`
//! and bare. Handlers are thin: read the body and query into a domain request
//! ([`definition_json`], [`job_json`], [`profile_json`]), make one domain call, render the
//! answer. Everything that is the same for every path lives in one place each:
//!
//! - [`request`]: the per-request middleware (request id, span, `x-request-id` echo, the AEP error
//!   body's `requestId`) and the [`request::Caller`] extractor that authenticates through the
//!   shared [`crate::auth`] module;
//! - [`body`] and [`query`]: reading JSON bodies and query strings, refusing bad ones with the
//!   field named;
//! - [`error`]: the AEP service error body (shape (b) of API spec §1.3), built from the catalogue
//!   in [`crate::error`].
//!
//! `docs/rest.md` documents every path with curl examples and the decisions where Adobe's
//! material contradicts itself.

pub mod body;
pub mod definition_json;
pub mod definitions;
pub mod error;
pub mod job_json;
pub mod jobs;
pub mod profile_json;
pub mod profiles;
pub mod query;
pub mod request;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::App;
use crate::auth::Authenticator;
use crate::config::Limits;
use crate::domain::profiles::ProfileService;
use crate::domain::{DefinitionService, JobService};

/// AEP's base path; every route is also served without it.
pub const BASE_PATH: &str = "/data/core/ups";

/// What the handlers share: the domain services, the authenticator and the request limits.
#[derive(Debug, Clone)]
pub struct RestState {
    pub definitions: DefinitionService,
    pub profiles: ProfileService,
    pub jobs: JobService,
    pub auth: Arc<Authenticator>,
    /// `max_body_bytes` bounds every request body (413 beyond); `max_batch_records` bounds an
    /// ingestion batch (400 beyond).
    pub limits: Limits,
}

impl RestState {
    /// The state of a built [`App`]: its services, its authenticator, its configured limits.
    pub fn from_app(app: &App) -> RestState {
        RestState {
            definitions: app.definitions().clone(),
            profiles: app.profiles().clone(),
            jobs: app.jobs().clone(),
            auth: app.authenticator(),
            limits: app.settings().limits,
        }
    }
}

/// The gateway for [`App::start`] (`app::RestGateway`): [`router`] over the app's state.
pub fn gateway(app: &App) -> Router {
    router(RestState::from_app(app))
}

/// Every REST path, under [`BASE_PATH`] and bare, behind the request middleware. Unknown paths
/// answer 404 and known paths with another method 405, both with the AEP error body.
pub fn router(state: RestState) -> Router {
    let limit = state.limits.max_body_bytes;
    let api = api_routes();
    Router::new()
        .nest(BASE_PATH, api.clone())
        .merge(api)
        .fallback(request::no_route)
        .method_not_allowed_fallback(request::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(request::around_request))
        .with_state(state)
}

fn api_routes() -> Router<RestState> {
    Router::new()
        .route(
            "/segment/definitions",
            get(definitions::list).post(definitions::create),
        )
        .route("/segment/definitions/bulk-get", post(definitions::bulk_get))
        .route(
            "/segment/definitions/{segment_id}",
            get(definitions::get_one)
                .patch(definitions::overwrite)
                .delete(definitions::delete),
        )
        .route(
            "/segment/definitions/{segment_id}/members",
            get(profiles::members),
        )
        .route("/segment/conversion", post(definitions::convert))
        .route("/segment/jobs", get(jobs::list).post(jobs::create))
        .route("/segment/jobs/bulk-get", post(jobs::bulk_get))
        .route(
            "/segment/jobs/{job_id}",
            get(jobs::get_one).delete(jobs::cancel),
        )
        .route(
            "/profiles",
            get(profiles::get_or_list)
                .post(profiles::upsert)
                .delete(profiles::delete_by_identity),
        )
        .route(
            "/profiles/{profile_id}",
            get(profiles::get_by_id).delete(profiles::delete_by_id),
        )
        .route("/events", post(profiles::ingest_events))
}
