//! Wire <-> domain conversions for segment jobs (`segment_jobs.proto`, `jobs_types.proto`).
//! Only wire-level facts are checked here (a known enum number, a non-negative page size); the
//! rules about ids, limits and filters are the domain's, shared with the REST edge.

use std::collections::BTreeMap;

use crate::context::Tenant;
use crate::domain::{
    JobError, JobInput, JobListQuery, JobMetrics, JobSegment, JobStatus, SegmentJob, StatusCounts,
    TimeWindow,
};
use crate::error::Error;
use crate::grpc::convert::page_limit;
use crate::grpc::pb;

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<JobStatus> for pb::JobStatus {
    fn from(s: JobStatus) -> pb::JobStatus {
        match s {
            JobStatus::New => pb::JobStatus::New,
            JobStatus::Queued => pb::JobStatus::Queued,
            JobStatus::Processing => pb::JobStatus::Processing,
            JobStatus::Succeeded => pb::JobStatus::Succeeded,
            JobStatus::Failed => pb::JobStatus::Failed,
            JobStatus::Cancelling => pb::JobStatus::Cancelling,
            JobStatus::Cancelled => pb::JobStatus::Cancelled,
        }
    }
}

/// A status filter: unspecified means any status; unknown numbers are refused.
fn status_filter(value: i32) -> Result<Option<JobStatus>, Error> {
    Ok(match pb::JobStatus::try_from(value) {
        Ok(pb::JobStatus::Unspecified) => None,
        Ok(pb::JobStatus::New) => Some(JobStatus::New),
        Ok(pb::JobStatus::Queued) => Some(JobStatus::Queued),
        Ok(pb::JobStatus::Processing) => Some(JobStatus::Processing),
        Ok(pb::JobStatus::Succeeded) => Some(JobStatus::Succeeded),
        Ok(pb::JobStatus::Failed) => Some(JobStatus::Failed),
        Ok(pb::JobStatus::Cancelling) => Some(JobStatus::Cancelling),
        Ok(pb::JobStatus::Cancelled) => Some(JobStatus::Cancelled),
        Err(_) => {
            return Err(Error::invalid(
                "status",
                format!("unknown job status {value}"),
            ));
        }
    })
}

impl TryFrom<pb::CreateSegmentJobRequest> for JobInput {
    type Error = Error;
    fn try_from(r: pb::CreateSegmentJobRequest) -> Result<JobInput, Error> {
        JobInput::from_ids(r.segment_ids, r.evaluation_time_ms, "segment_ids")
    }
}

impl TryFrom<pb::ListSegmentJobsRequest> for JobListQuery {
    type Error = Error;
    fn try_from(r: pb::ListSegmentJobsRequest) -> Result<JobListQuery, Error> {
        Ok(JobListQuery {
            start: None,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
            limit: page_limit(r.page_size)?,
            sort: (!r.order_by.is_empty()).then_some(r.order_by),
            status: status_filter(r.status)?,
            property: (!r.property_filter.is_empty()).then_some(r.property_filter),
        })
    }
}

fn window(w: TimeWindow) -> pb::TimeWindow {
    pb::TimeWindow {
        start_time_ms: w.start_ms.unwrap_or(0),
        end_time_ms: w.end_ms.unwrap_or(0),
        total_time_ms: w.total_ms().unwrap_or(0),
    }
}

fn counts(map: BTreeMap<String, u64>) -> std::collections::HashMap<String, i64> {
    map.into_iter().map(|(k, v)| (k, count(v))).collect()
}

impl From<StatusCounts> for pb::StatusCounts {
    fn from(c: StatusCounts) -> pb::StatusCounts {
        pb::StatusCounts {
            realized: count(c.realized),
            existing: count(c.existing),
            exited: count(c.exited),
        }
    }
}

impl From<JobMetrics> for pb::SegmentJobMetrics {
    fn from(m: JobMetrics) -> pb::SegmentJobMetrics {
        pb::SegmentJobMetrics {
            total_time: Some(window(m.total_time)),
            profile_segmentation_time: Some(window(m.profile_segmentation_time)),
            total_profiles: count(m.total_profiles),
            segmented_profile_counter: counts(m.segmented_profile_counter),
            segmented_profile_by_namespace_counter: m
                .segmented_profile_by_namespace_counter
                .into_iter()
                .map(|(s, ns)| (s, pb::NamespaceCounts { counts: counts(ns) }))
                .collect(),
            segmented_profile_by_status_counter: m
                .segmented_profile_by_status_counter
                .into_iter()
                .map(|(s, c)| (s, c.into()))
                .collect(),
            total_profiles_by_merge_policy: counts(m.total_profiles_by_merge_policy),
        }
    }
}

impl From<JobSegment> for pb::JobSegment {
    fn from(s: JobSegment) -> pb::JobSegment {
        pb::JobSegment {
            merge_policy_id: s.merge_policy().to_owned(),
            segment_id: s.segment_id,
            version: s.version,
            expression_text: s.expression,
        }
    }
}

impl From<JobError> for pb::JobError {
    fn from(e: JobError) -> pb::JobError {
        pb::JobError {
            code: e.code,
            message: e.message,
        }
    }
}

/// A job as sent to a caller of `tenant`.
pub fn job_out(j: SegmentJob, tenant: &Tenant) -> pb::SegmentJob {
    pb::SegmentJob {
        id: j.id,
        status: pb::JobStatus::from(j.status) as i32,
        source: j.source,
        segments: j.segments.into_iter().map(Into::into).collect(),
        evaluation_time_ms: j.evaluation_time_ms,
        metrics: Some(j.metrics.into()),
        profiles_done: count(j.progress.profiles_done),
        errors: j.errors.into_iter().map(Into::into).collect(),
        request_id: j.request_id,
        org_id: tenant.org.clone(),
        sandbox_name: tenant.sandbox.clone(),
        create_time_ms: j.creation_time_ms,
        update_time_ms: j.update_time_ms,
        profiles_total: count(j.progress.profiles_total),
        all_segments: j.all_segments,
        attempts: i32::try_from(j.attempts).unwrap_or(i32::MAX),
        worker: j.worker.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requests_follow_the_domain_rules_on_segment_ids() {
        let r = pb::CreateSegmentJobRequest {
            segment_ids: vec!["*".into(), "a".into()],
            evaluation_time_ms: None,
        };
        let err = JobInput::try_from(r).unwrap_err();
        assert_eq!(err.field_violations()[0].field, "segment_ids");
        let r = pb::CreateSegmentJobRequest {
            segment_ids: vec!["a".into()],
            evaluation_time_ms: Some(5),
        };
        assert_eq!(JobInput::try_from(r).unwrap().evaluation_time_ms, Some(5));
    }

    #[test]
    fn list_requests_map_proto3_defaults_to_none() {
        let q = JobListQuery::try_from(pb::ListSegmentJobsRequest::default()).unwrap();
        assert_eq!(q, JobListQuery::default());
        let bad = pb::ListSegmentJobsRequest {
            status: 99,
            ..Default::default()
        };
        assert!(JobListQuery::try_from(bad).is_err());
        let failed = pb::ListSegmentJobsRequest {
            status: pb::JobStatus::Failed as i32,
            ..Default::default()
        };
        assert_eq!(
            JobListQuery::try_from(failed).unwrap().status,
            Some(JobStatus::Failed)
        );
    }

    #[test]
    fn unfinished_windows_are_zero() {
        let w = window(TimeWindow {
            start_ms: Some(10),
            end_ms: None,
        });
        assert_eq!(
            (w.start_time_ms, w.end_time_ms, w.total_time_ms),
            (10, 0, 0)
        );
    }
}
