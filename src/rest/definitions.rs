//! `/segment/definitions`, `/segment/definitions/bulk-get` and `/segment/conversion` (API spec
//! §2.1, §2.2) over [`DefinitionService`](crate::domain::DefinitionService).
//!
//! Status codes are AEP's: create answers 200 with an `X-Location` header (not 201), a taken name
//! is 422, PATCH overwrites the whole definition, DELETE answers 200 with `{status, message}`, and
//! bulk-get answers 207 with one entry per id (404 when none was found).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::RestState;
use super::body::{Fields, JsonBody};
use super::definition_json::{
    body_expression, bulk_get_ids, conversion_json, definition_input, definition_json, list_json,
};
use super::error::{RestError, bulk_get_response};
use super::query::{self, QueryParams};
use super::request::Caller;
use crate::domain::page::{self, DEFAULT_LIMIT};
use crate::domain::{DefinitionList, DefinitionListQuery, EvaluationFilter, SegmentDefinition};
use crate::error::{Error, ResourceKind};

/// The `X-Location` header of create and overwrite answers.
pub const X_LOCATION: HeaderName = HeaderName::from_static("x-location");

const FILTER_BATCH: &str = "evaluationInfo.batch.enabled";
const FILTER_CONTINUOUS: &str = "evaluationInfo.continuous.enabled";
const FILTER_SYNCHRONOUS: &str = "evaluationInfo.synchronous.enabled";
const LIST_PARAMS: &[&str] = &[
    "start",
    "limit",
    "page",
    "sort",
    FILTER_BATCH,
    FILTER_CONTINUOUS,
    FILTER_SYNCHRONOUS,
];

/// `GET /segment/definitions`: a page of the sandbox's definitions (envelope A).
pub async fn list(
    State(state): State<RestState>,
    caller: Caller,
    params: QueryParams,
) -> Result<Json<Value>, RestError> {
    let query = list_query(&params)?;
    let list = state.definitions.list(&caller.ctx, query.clone()).await?;
    let next = next_list_href(&caller, &query, &list);
    Ok(Json(list_json(&list, &caller.ctx.tenant, next)))
}

/// `start` is a 0-based item offset and `page` a 0-based page number (API spec §6); giving both
/// is ambiguous and refused.
fn list_query(params: &QueryParams) -> Result<DefinitionListQuery, Error> {
    params.allow_only(LIST_PARAMS)?;
    let limit = params.u32("limit")?;
    let start = match (params.u64("start")?, params.u64("page")?) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "page",
                "give either start (an item offset) or page (a page number), not both",
            ));
        }
        (Some(start), None) => Some(start),
        (None, Some(page)) => {
            // Saturates into the refused range rather than wrapping into an accepted offset.
            let start = page.saturating_mul(u64::from(limit.unwrap_or(DEFAULT_LIMIT)));
            Some(page::checked_start(start, "page")?)
        }
        (None, None) => None,
    };
    Ok(DefinitionListQuery {
        start,
        page_token: None,
        limit,
        sort: params.str("sort").map(str::to_owned),
        filter: EvaluationFilter {
            batch: params.bool(FILTER_BATCH)?,
            continuous: params.bool(FILTER_CONTINUOUS)?,
            synchronous: params.bool(FILTER_SYNCHRONOUS)?,
        },
    })
}

/// The `link.next` of a page: the same query from the next offset.
fn next_list_href(
    caller: &Caller,
    query: &DefinitionListQuery,
    list: &DefinitionList,
) -> Option<String> {
    let next = list.page.next_start?;
    let mut pairs = vec![
        ("start", next.to_string()),
        ("limit", list.page.limit.to_string()),
        ("sort", list.sort.to_wire()),
    ];
    let filters = [
        (FILTER_BATCH, query.filter.batch),
        (FILTER_CONTINUOUS, query.filter.continuous),
        (FILTER_SYNCHRONOUS, query.filter.synchronous),
    ];
    for (name, value) in filters {
        if let Some(v) = value {
            pairs.push((name, v.to_string()));
        }
    }
    Some(caller.href(&format!("/segment/definitions?{}", query::encode(&pairs))))
}

/// `POST /segment/definitions`: 200 with the definition and its `X-Location`.
pub async fn create(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    let input = definition_input(&body)?;
    let def = state.definitions.create(&caller.ctx, input).await?;
    Ok(located(&caller, &def))
}

/// `GET /segment/definitions/{id}`.
pub async fn get_one(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let def = state.definitions.get(&caller.ctx, &id).await?;
    Ok(Json(definition_json(&def, &caller.ctx.tenant)))
}

/// `PATCH /segment/definitions/{id}`: overwrites the whole definition ("Overwrite a segment
/// definition"); an `id` in the body must be the path's.
pub async fn overwrite(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    if let Some(body_id) = Fields::root(&body)?.opt_str("id")?
        && body_id != id
    {
        return Err(Error::invalid(
            "id",
            format!("'{body_id}' does not match the definition id '{id}' of the path"),
        )
        .into());
    }
    let input = definition_input(&body)?;
    let def = state.definitions.update(&caller.ctx, &id, input).await?;
    Ok(located(&caller, &def))
}

/// `DELETE /segment/definitions/{id}`: 200 `{status: true, message}` (API spec §6).
pub async fn delete(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    state.definitions.delete(&caller.ctx, &id).await?;
    Ok(Json(json!({
        "status": true,
        "message": format!("Segment definition '{id}' has been deleted."),
    })))
}

/// `POST /segment/definitions/bulk-get`: 207 `{"results": {id: definition | {requestId,
/// errors}}}`; 404 `UPAPI-113000-404` when no id was found.
pub async fn bulk_get(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    let ids = bulk_get_ids(&body)?;
    let results = state.definitions.batch_get(&caller.ctx, &ids).await?;
    let none_found = results
        .iter()
        .all(|r| matches!(r.result, Err(Error::NotFound { .. })));
    if none_found {
        return Err(Error::not_found(ResourceKind::SegmentDefinition, ids.join(", ")).into());
    }
    Ok(bulk_get_response(results, &caller.ctx.request_id, |def| {
        definition_json(def, &caller.ctx.tenant)
    }))
}

/// `POST /segment/conversion`: the body with its expression converted to the other format, plus
/// `imsOrgId` and `sandbox`. Nothing is stored.
pub async fn convert(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, RestError> {
    let input = body_expression(&Fields::root(&body)?)?;
    let converted = state
        .definitions
        .convert_expression(&caller.ctx, &input, None)
        .await?;
    Ok(Json(conversion_json(&body, &converted, &caller.ctx.tenant)))
}

/// 200 with the definition and `X-Location: <base>/segment/definitions/<id>`.
fn located(caller: &Caller, def: &SegmentDefinition) -> Response {
    let href = caller.href(&format!("/segment/definitions/{}", def.id));
    let mut response = Json(definition_json(def, &caller.ctx.tenant)).into_response();
    if let Ok(v) = HeaderValue::from_str(&href) {
        response.headers_mut().insert(X_LOCATION, v);
    }
    response
}
