//! Segment jobs in AEP's JSON (API spec §2.3, §3.2) and the two create bodies.
//!
//! A job renders as AEP's `SegmentJob`: `segments[].segment{id, version, expression,
//! mergePolicyId, mergePolicy{id, version}}`, `metrics` with AEP's counter names,
//! `errors[{code, msg}]`, `_links.cancel` / `_links.checkStatus`, `creationTime` and
//! `updateTime` in epoch ms, `updateEpoch` in s. A job created with `*` lists its segments as
//! AEP does, `[{"segmentId": "*"}]` (its metrics name every segment it evaluated). Three fields
//! beyond AEP's say what AEP's body cannot: `evaluationTime` (the instant `now` stood for, ms),
//! `progress{profilesDone, profilesTotal}` and `attempts`.

use serde_json::{Map, Value, json};

use super::body::{Fields, kind};
use super::definition_json::{PROFILE_INSTANCE_ID, sandbox_json};
use super::request::Caller;
use crate::domain::definition::{DEFAULT_SCHEMA, EXPRESSION_TYPE_PQL};
use crate::domain::job::{ALL_SEGMENTS, JobInput, JobList, SegmentJob, TimeWindow};
use crate::error::Error;

/// Merge policies have no registry here, so each has version 1.
const MERGE_POLICY_VERSION: i64 = 1;

fn window_json(w: &TimeWindow) -> Value {
    let mut out = Map::new();
    if let Some(start) = w.start_ms {
        out.insert("startTimeInMs".into(), start.into());
    }
    if let Some(end) = w.end_ms {
        out.insert("endTimeInMs".into(), end.into());
    }
    if let Some(total) = w.total_ms() {
        out.insert("totalTimeInMs".into(), total.into());
    }
    Value::Object(out)
}

fn metrics_json(job: &SegmentJob) -> Value {
    let m = &job.metrics;
    let by_status: Map<String, Value> = m
        .segmented_profile_by_status_counter
        .iter()
        .map(|(s, c)| {
            (
                s.clone(),
                json!({"realized": c.realized, "existing": c.existing, "exited": c.exited}),
            )
        })
        .collect();
    json!({
        "totalTime": window_json(&m.total_time),
        "profileSegmentationTime": window_json(&m.profile_segmentation_time),
        "totalProfiles": m.total_profiles,
        "segmentedProfileCounter": m.segmented_profile_counter,
        "segmentedProfileByNamespaceCounter": m.segmented_profile_by_namespace_counter,
        "segmentedProfileByStatusCounter": by_status,
        "totalProfilesByMergePolicy": m.total_profiles_by_merge_policy,
    })
}

fn segments_json(job: &SegmentJob) -> Value {
    if job.all_segments {
        return json!([{"segmentId": ALL_SEGMENTS}]);
    }
    job.segments
        .iter()
        .map(|s| {
            let mut segment = json!({
                "id": s.segment_id,
                "version": s.version,
                "expression": {"type": EXPRESSION_TYPE_PQL, "format": "pql/text",
                               "value": s.expression},
                "mergePolicy": {"id": s.merge_policy(), "version": MERGE_POLICY_VERSION},
            });
            if let (Some(id), Value::Object(map)) = (&s.merge_policy_id, &mut segment) {
                map.insert("mergePolicyId".into(), id.clone().into());
            }
            json!({"segmentId": s.segment_id, "segment": segment})
        })
        .collect()
}

/// One job as the AEP API returns it, links in the caller's form of the path.
pub fn job_json(job: &SegmentJob, caller: &Caller) -> Value {
    let href = caller.href(&format!("/segment/jobs/{}", job.id));
    let tenant = &caller.ctx.tenant;
    json!({
        "id": job.id,
        "imsOrgId": tenant.org,
        "sandbox": sandbox_json(tenant),
        "profileInstanceId": PROFILE_INSTANCE_ID,
        "source": job.source,
        "status": job.status.as_str(),
        "segments": segments_json(job),
        "metrics": metrics_json(job),
        "errors": job.errors.iter()
            .map(|e| json!({"code": e.code, "msg": e.message}))
            .collect::<Vec<_>>(),
        "requestId": job.request_id,
        "schema": {"name": DEFAULT_SCHEMA},
        "_links": {
            "cancel": {"href": href, "method": "DELETE"},
            "checkStatus": {"href": href, "method": "GET"},
        },
        "creationTime": job.creation_time_ms,
        "updateTime": job.update_time_ms,
        "updateEpoch": job.update_time_ms.div_euclid(1000),
        "evaluationTime": job.evaluation_time_ms,
        "progress": {"profilesDone": job.progress.profiles_done,
                     "profilesTotal": job.progress.profiles_total},
        "attempts": job.attempts,
    })
}

/// Envelope B (API spec §2.11): `{"_page": {totalCount, pageSize, limit, start[, next]},
/// "children": [...], "_links": {"next": {"href"}}}`; `_links.next` is `{}` on the last page.
pub fn job_list_json(list: &JobList, caller: &Caller, next_href: Option<String>) -> Value {
    let page = &list.page;
    let mut page_json = Map::new();
    page_json.insert("totalCount".into(), page.total_count.into());
    page_json.insert("pageSize".into(), page.items.len().into());
    page_json.insert("limit".into(), page.limit.into());
    page_json.insert("start".into(), page.start.unwrap_or(0).into());
    if let Some(next) = page.next_start {
        page_json.insert("next".into(), next.into());
    }
    let next = next_href.map_or_else(|| json!({}), |href| json!({"href": href}));
    json!({
        "_page": page_json,
        "children": page.items.iter().map(|j| job_json(j, caller)).collect::<Vec<_>>(),
        "_links": {"next": next},
    })
}

/// `[{"segmentId": "…"}, …]` at `path` (`""` for the body itself, or `segments`).
fn segment_ids(items: &[Value], path: &str) -> Result<Vec<String>, Error> {
    let field = |i: usize| {
        if path.is_empty() {
            format!("[{i}].segmentId")
        } else {
            format!("{path}[{i}].segmentId")
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.get("segmentId") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(Error::invalid(
                field(i),
                "expected an object {\"segmentId\": \"<definition id>\"}",
            )),
        })
        .collect()
}

/// Both AEP bodies of `POST /segment/jobs`: an array `[{"segmentId": …}]` (up to 1500), or
/// `{"schema": {"name": "_xdm.context.profile"}, "segments": [{"segmentId": "*"}]}`. The object
/// form may also carry `evaluationTime` (epoch ms), this service's addition.
pub fn job_input(body: &Value) -> Result<JobInput, Error> {
    match body {
        Value::Array(items) => JobInput::from_ids(segment_ids(items, "")?, None, "segments"),
        Value::Object(_) => {
            let root = Fields::root(body)?;
            if let Some(schema) = root.opt_object("schema")? {
                let name = schema.req_str("name")?;
                if name != DEFAULT_SCHEMA {
                    return Err(Error::invalid(
                        "schema.name",
                        format!("only {DEFAULT_SCHEMA} profiles are segmented, not '{name}'"),
                    ));
                }
            }
            let items = root
                .opt_array("segments")?
                .ok_or_else(|| root.missing("segments"))?;
            let at = match root.map().get("evaluationTime") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| {
                    Error::invalid(
                        "evaluationTime",
                        format!("expected epoch milliseconds (an integer), got {}", kind(v)),
                    )
                })?),
            };
            JobInput::from_ids(segment_ids(items, "segments")?, at, "segments")
        }
        other => Err(Error::invalid(
            "body",
            format!(
                "expected [{{\"segmentId\": …}}] or {{\"segments\": [{{\"segmentId\": \"*\"}}]}}, \
                 got {}",
                kind(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::job::JobSegments;

    #[test]
    fn both_create_bodies_are_read() {
        let array = job_input(&json!([{"segmentId": "b"}, {"segmentId": "a"}])).unwrap();
        assert_eq!(
            array.segments,
            JobSegments::Ids(vec!["a".into(), "b".into()])
        );
        let all = job_input(&json!({"schema": {"name": "_xdm.context.profile"},
                                    "segments": [{"segmentId": "*"}],
                                    "evaluationTime": 1_700_000_000_000i64}))
        .unwrap();
        assert_eq!(all.segments, JobSegments::All);
        assert_eq!(all.evaluation_time_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases = [
            (json!([{"segment": "a"}]), "[0].segmentId"),
            (
                json!({"segments": [{"segmentId": 3}]}),
                "segments[0].segmentId",
            ),
            (
                json!({"schema": {"name": "_xdm.context.experienceevent"},
                    "segments": [{"segmentId": "*"}]}),
                "schema.name",
            ),
            (json!({}), "segments"),
            (
                json!({"segments": [{"segmentId": "*"}], "evaluationTime": "now"}),
                "evaluationTime",
            ),
            (json!("x"), "body"),
            (json!([]), "segments"),
        ];
        for (body, field) in cases {
            let err = job_input(&body).unwrap_err();
            assert_eq!(err.field_violations()[0].field, field, "{body}: {err}");
        }
    }
}
