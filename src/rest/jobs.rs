//! `/segment/jobs` (API spec §2.3) over [`JobService`](crate::domain::JobService).
//!
//! Status codes are AEP's: create answers 200 with the job (status NEW), too many unfinished
//! jobs in the sandbox is 429 with `Retry-After`, DELETE marks the job for cancelling and
//! answers 204 with no body (also for a job that already ended, which it leaves alone), and
//! bulk-get answers 207 with one entry per id (404 when none was found). The list pages by
//! `start`/`limit` with `_links.next` (envelope B).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::RestState;
use super::body::JsonBody;
use super::definition_json::bulk_get_ids;
use super::error::{RestError, bulk_get_response};
use super::job_json::{job_input, job_json, job_list_json};
use super::query::{self, QueryParams};
use super::request::Caller;
use crate::domain::{JobList, JobListQuery, JobStatus};
use crate::error::{Error, ResourceKind};

const LIST_PARAMS: &[&str] = &["start", "limit", "status", "sort", "property"];

/// `GET /segment/jobs`: a page of the sandbox's jobs (envelope B).
pub async fn list(
    State(state): State<RestState>,
    caller: Caller,
    params: QueryParams,
) -> Result<Json<Value>, RestError> {
    params.allow_only(LIST_PARAMS)?;
    let query = JobListQuery {
        start: params.u64("start")?,
        page_token: None,
        limit: params.u32("limit")?,
        sort: params.str("sort").map(str::to_owned),
        status: params
            .str("status")
            .map(|s| JobStatus::parse_param(s, "status"))
            .transpose()?,
        property: params.str("property").map(str::to_owned),
    };
    let list = state.jobs.list(&caller.ctx, query.clone()).await?;
    let next = next_href(&caller, &query, &list);
    Ok(Json(job_list_json(&list, &caller, next)))
}

/// `_links.next.href`: the same query from the next offset.
fn next_href(caller: &Caller, query: &JobListQuery, list: &JobList) -> Option<String> {
    let next = list.page.next_start?;
    let mut pairs = vec![
        ("start", next.to_string()),
        ("limit", list.page.limit.to_string()),
        ("sort", list.sort.to_wire()),
    ];
    if let Some(s) = query.status {
        pairs.push(("status", s.as_str().to_owned()));
    }
    if let Some(p) = &query.property {
        pairs.push(("property", p.clone()));
    }
    Some(caller.href(&format!("/segment/jobs?{}", query::encode(&pairs))))
}

/// `POST /segment/jobs`: either AEP body; 200 with the new job.
pub async fn create(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, RestError> {
    let input = job_input(&body)?;
    let job = state.jobs.create(&caller.ctx, input).await?;
    Ok(Json(job_json(&job, &caller)))
}

/// `GET /segment/jobs/{id}`.
pub async fn get_one(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let job = state.jobs.get(&caller.ctx, &id).await?;
    Ok(Json(job_json(&job, &caller)))
}

/// `DELETE /segment/jobs/{id}`: 204, the job is marked for cancelling (API spec §6).
pub async fn cancel(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, RestError> {
    state.jobs.cancel(&caller.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /segment/jobs/bulk-get`: 207 `{"results": {id: job | {requestId, errors}}}`; 404
/// when no id was found.
pub async fn bulk_get(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    let ids = bulk_get_ids(&body)?;
    let results = state.jobs.batch_get(&caller.ctx, &ids).await?;
    if results
        .iter()
        .all(|r| matches!(r.result, Err(Error::NotFound { .. })))
    {
        return Err(Error::not_found(ResourceKind::SegmentJob, ids.join("', '")).into());
    }
    Ok(bulk_get_response(results, &caller.ctx.request_id, |job| {
        job_json(job, &caller)
    }))
}
