//! `/profiles`, `/events` and `/segment/definitions/{id}/members`: JSON ingestion and lookups for
//! people using curl, over [`ProfileService`](crate::domain::profiles::ProfileService).
//!
//! Ingestion takes a JSON array of records (or one record object) and answers one result per
//! record: 200 when every record was accepted, 207 Multi-Status when at least one was refused
//! (the others are written; a refused record writes nothing). A batch that is not a list, is
//! empty or is larger than `max_batch_records` is refused whole with 400.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::RestState;
use super::body::{JsonBody, kind};
use super::error::RestError;
use super::profile_json::{member_json, page_envelope, profile_json, records_json};
use super::query::{self, QueryParams};
use super::request::Caller;
use crate::domain::{Identity, MemberListQuery, ProfileListQuery, ProfileLookup, RecordResult};
use crate::error::Error;
use crate::pql::MembershipStatus;

/// `POST /profiles`: upserts XDM profile records.
pub async fn upsert(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    let records = batch_records(&body, state.limits.max_batch_records)?;
    let results = state.profiles.upsert_profiles(&caller.ctx, records).await?;
    Ok(batch_response(&results, &caller))
}

/// `POST /events`: ingests experience events.
pub async fn ingest_events(
    State(state): State<RestState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, RestError> {
    let records = batch_records(&body, state.limits.max_batch_records)?;
    let results = state.profiles.ingest_events(&caller.ctx, records).await?;
    Ok(batch_response(&results, &caller))
}

/// The records of a batch body as JSON text, one per record (the domain parses each on its own,
/// so one bad record does not spoil the others).
fn batch_records(body: &Value, max: usize) -> Result<Vec<String>, Error> {
    let items: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![body],
        other => {
            return Err(Error::invalid(
                "body",
                format!(
                    "expected an array of records or one record object, got {}",
                    kind(other)
                ),
            ));
        }
    };
    if items.len() > max {
        return Err(Error::invalid(
            "records",
            format!(
                "{} records in one batch; at most {max} are accepted",
                items.len()
            ),
        ));
    }
    Ok(items.into_iter().map(Value::to_string).collect())
}

fn batch_response(results: &[RecordResult], caller: &Caller) -> Response {
    let status = if results.iter().all(|r| r.outcome.is_ok()) {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, Json(records_json(results, &caller.ctx.request_id))).into_response()
}

/// `GET /profiles/{id}`.
pub async fn get_by_id(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    let profile = state
        .profiles
        .get_profile(&caller.ctx, &ProfileLookup::Id(id))
        .await?;
    Ok(Json(profile_json(&profile)))
}

/// `GET /profiles?namespace=Email&id=a@b.com` (one profile by identity) or `GET /profiles`
/// (`limit`, `start` = the `_page.next` token of the previous page).
pub async fn get_or_list(
    State(state): State<RestState>,
    caller: Caller,
    params: QueryParams,
) -> Result<Json<Value>, RestError> {
    params.allow_only(&["namespace", "id", "limit", "start"])?;
    if let Some(lookup) = identity_lookup(&params)? {
        if params.str("limit").is_some() || params.str("start").is_some() {
            return Err(Error::invalid(
                "limit",
                "limit and start page the list; a lookup by identity returns one profile",
            )
            .into());
        }
        let profile = state.profiles.get_profile(&caller.ctx, &lookup).await?;
        return Ok(Json(profile_json(&profile)));
    }
    let query = ProfileListQuery {
        page_token: params.str("start").map(str::to_owned),
        limit: params.u32("limit")?,
    };
    let page = state.profiles.list_profiles(&caller.ctx, query).await?;
    let next = page.next_page_token.as_ref().map(|token| {
        let q = query::encode(&[("start", token.clone()), ("limit", page.limit.to_string())]);
        caller.href(&format!("/profiles?{q}"))
    });
    let children = page.items.iter().map(profile_json).collect();
    Ok(Json(page_envelope(&page, children, next)))
}

/// `namespace` and `id` together name an identity; one without the other is refused.
fn identity_lookup(params: &QueryParams) -> Result<Option<ProfileLookup>, Error> {
    match (params.str("namespace"), params.str("id")) {
        (Some(namespace), Some(id)) => {
            Ok(Some(ProfileLookup::Identity(Identity::new(namespace, id))))
        }
        (Some(_), None) => Err(Error::invalid(
            "id",
            "is required with namespace (GET /profiles?namespace=Email&id=a@b.com)",
        )),
        (None, Some(_)) => Err(Error::invalid(
            "namespace",
            "is required with id (GET /profiles?namespace=Email&id=a@b.com)",
        )),
        (None, None) => Ok(None),
    }
}

/// `DELETE /profiles/{id}`: the profile with its identities, events and memberships.
pub async fn delete_by_id(
    State(state): State<RestState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, RestError> {
    delete(&state, &caller, ProfileLookup::Id(id)).await
}

/// `DELETE /profiles?namespace=Email&id=a@b.com`.
pub async fn delete_by_identity(
    State(state): State<RestState>,
    caller: Caller,
    params: QueryParams,
) -> Result<Json<Value>, RestError> {
    params.allow_only(&["namespace", "id"])?;
    let lookup = identity_lookup(&params)?.ok_or_else(|| {
        Error::invalid(
            "namespace",
            "name the profile: DELETE /profiles/{id} or /profiles?namespace=…&id=…",
        )
    })?;
    delete(&state, &caller, lookup).await
}

async fn delete(
    state: &RestState,
    caller: &Caller,
    lookup: ProfileLookup,
) -> Result<Json<Value>, RestError> {
    let id = state.profiles.delete_profile(&caller.ctx, &lookup).await?;
    Ok(Json(json!({
        "status": true,
        "message": format!("Profile '{id}' has been deleted with its identities, events and memberships."),
        "profileId": id,
    })))
}

/// `GET /segment/definitions/{id}/members?status=realized,existing&limit=&start=`: the members
/// the latest segment job recorded (no status: the current members, realized and existing).
pub async fn members(
    State(state): State<RestState>,
    caller: Caller,
    Path(segment_id): Path<String>,
    params: QueryParams,
) -> Result<Json<Value>, RestError> {
    params.allow_only(&["status", "limit", "start"])?;
    let statuses = match params.str("status") {
        Some(list) => parse_statuses(list)?,
        None => Vec::new(),
    };
    let query = MemberListQuery {
        segment_id: segment_id.clone(),
        statuses: statuses.clone(),
        page_token: params.str("start").map(str::to_owned),
        limit: params.u32("limit")?,
    };
    let page = state
        .profiles
        .list_segment_members(&caller.ctx, query)
        .await?;
    let next = page.next_page_token.as_ref().map(|token| {
        let mut pairs = vec![("start", token.clone()), ("limit", page.limit.to_string())];
        if let Some(s) = params.str("status") {
            pairs.push(("status", s.to_owned()));
        }
        let q = query::encode(&pairs);
        caller.href(&format!("/segment/definitions/{segment_id}/members?{q}"))
    });
    let children = page.items.iter().map(member_json).collect();
    Ok(Json(page_envelope(&page, children, next)))
}

fn parse_statuses(list: &str) -> Result<Vec<MembershipStatus>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            MembershipStatus::parse(s).ok_or_else(|| {
                Error::invalid(
                    "status",
                    format!("unknown status '{s}'; use realized, existing or exited"),
                )
            })
        })
        .collect()
}
