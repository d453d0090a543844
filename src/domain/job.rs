//! Segment jobs as AEP describes them (API spec §2.3, §3.2): one run that evaluates a set of
//! definitions, frozen at creation, over every profile of a sandbox at one evaluation instant,
//! and records who is in each audience.
//!
//! The life cycle is `NEW -> QUEUED -> PROCESSING -> SUCCEEDED | FAILED`; a cancel moves any
//! non-terminal job to `CANCELLING`, and the engine then to `CANCELLED`. A job is a row, so it
//! survives restarts; `docs/jobs.md` describes the engine that runs it.
//!
//! The metrics, errors and definition snapshot are stored as JSON, hence the serde derives; the
//! edges render their own wire shapes from these types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::page::Page;
use crate::error::Error;

/// Most definitions a job may list explicitly; beyond that the caller asks for `*` (API spec
/// §4.6).
pub const MAX_JOB_SEGMENT_IDS: usize = 1500;
/// Most ids in one batch get of jobs.
pub const MAX_JOB_BATCH_GET_IDS: usize = 100;
/// The id that asks for every definition of the sandbox.
pub const ALL_SEGMENTS: &str = "*";
/// `source` of jobs created through the API.
pub const SOURCE_API: &str = "api";
/// The merge policy of definitions that name none: the sandbox's default (this service keeps no
/// merge policy registry, so it has one id and version 1).
pub const DEFAULT_MERGE_POLICY_ID: &str = "ups-default";
/// An `exited` membership older than this (by `lastQualificationTime`, relative to a job's
/// evaluation instant) is dropped by that job (API spec §3.4: "may be deleted").
pub const EXITED_RETENTION_MS: i64 = 30 * 86_400_000;

/// Where a job is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Accepted; no worker process has seen it yet.
    New,
    /// Seen by a worker process, waiting for a free worker.
    Queued,
    /// A worker holds its lease and is evaluating.
    Processing,
    /// Finished; its memberships are visible.
    Succeeded,
    /// Stopped by an error; earlier memberships are unchanged.
    Failed,
    /// A cancel was requested; the job stops at its next page.
    Cancelling,
    /// Cancelled; earlier memberships are unchanged.
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::New,
        JobStatus::Queued,
        JobStatus::Processing,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelling,
        JobStatus::Cancelled,
    ];

    /// AEP's spelling: `NEW`, `QUEUED`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::New => "NEW",
            JobStatus::Queued => "QUEUED",
            JobStatus::Processing => "PROCESSING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// `status` as a request parameter names it (case-insensitive); else invalid `field`.
    pub fn parse_param(s: &str, field: &str) -> Result<JobStatus, Error> {
        JobStatus::parse(&s.trim().to_ascii_uppercase()).ok_or_else(|| {
            let all: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
            Error::invalid(
                field,
                format!(
                    "unknown job status '{s}'; expected one of {}",
                    all.join(", ")
                ),
            )
        })
    }

    /// SUCCEEDED, FAILED and CANCELLED never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The statuses that count as running against `max_running_jobs_per_sandbox`.
    pub fn non_terminal() -> [JobStatus; 4] {
        [
            JobStatus::New,
            JobStatus::Queued,
            JobStatus::Processing,
            JobStatus::Cancelling,
        ]
    }
}

/// A definition as a job froze it at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSegment {
    pub segment_id: String,
    /// The definition's version when the job was created.
    pub version: i64,
    /// The expression as canonical pql/text (what the job compiles).
    pub expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_policy_id: Option<String>,
}

impl JobSegment {
    /// The merge policy the definition is evaluated under.
    pub fn merge_policy(&self) -> &str {
        self.merge_policy_id
            .as_deref()
            .unwrap_or(DEFAULT_MERGE_POLICY_ID)
    }
}

/// A start/end pair of instants in epoch milliseconds (AEP `totalTime`,
/// `profileSegmentationTime`); both absent until the phase starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
}

impl TimeWindow {
    /// end - start, once both are known.
    pub fn total_ms(&self) -> Option<i64> {
        Some(self.end_ms? - self.start_ms?)
    }
}

/// Profiles per membership status for one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub realized: u64,
    pub existing: u64,
    pub exited: u64,
}

/// The counters of a job (AEP `metrics`, API spec §3.2). The per-segment counters are filled
/// when the job succeeds, from the memberships it writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobMetrics {
    /// From acceptance (creation) to the end of the job.
    pub total_time: TimeWindow,
    /// The evaluation phase of the attempt that finished the job.
    pub profile_segmentation_time: TimeWindow,
    /// Profiles scanned.
    pub total_profiles: u64,
    /// Segment id -> profiles that qualified (realized + existing).
    pub segmented_profile_counter: BTreeMap<String, u64>,
    /// Segment id -> identity namespace -> qualified profiles with an identity in it.
    pub segmented_profile_by_namespace_counter: BTreeMap<String, BTreeMap<String, u64>>,
    /// Segment id -> counts per status written by this job.
    pub segmented_profile_by_status_counter: BTreeMap<String, StatusCounts>,
    /// Merge policy id -> profiles scanned under it.
    pub total_profiles_by_merge_policy: BTreeMap<String, u64>,
}

/// A failure recorded on a job (AEP `errors[{code, msg}]`), written for the person reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// A stable snake_case code, e.g. `segment_reference_missing`.
    pub code: String,
    pub message: String,
}

impl JobError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> JobError {
        JobError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Profiles evaluated so far out of those counted when evaluation started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub profiles_done: u64,
    pub profiles_total: u64,
}

/// A stored segment job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentJob {
    /// UUID v4.
    pub id: String,
    pub status: JobStatus,
    /// `api` (the only source today; `scheduler` is AEP's other one).
    pub source: String,
    /// The `x-request-id` of the request that created it.
    pub request_id: String,
    /// Created with `*`: every definition of the sandbox at creation.
    pub all_segments: bool,
    /// The definitions evaluated, frozen at creation, in id order.
    pub segments: Vec<JobSegment>,
    /// The instant PQL's `now` stands for, epoch milliseconds.
    pub evaluation_time_ms: i64,
    pub metrics: JobMetrics,
    pub progress: JobProgress,
    pub errors: Vec<JobError>,
    /// How many times a worker claimed it (1 for a job run once; more after take-overs).
    pub attempts: u32,
    /// The worker holding its lease (`host/pid/tag/worker-n`), or once the job ended the one
    /// that ended it; `None` before the first claim and after a release at shutdown.
    pub worker: Option<String>,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

/// Which definitions a new job evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSegments {
    /// `*`: every definition of the sandbox.
    All,
    /// Up to [`MAX_JOB_SEGMENT_IDS`] definition ids.
    Ids(Vec<String>),
}

/// A create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInput {
    pub segments: JobSegments,
    /// The instant to evaluate at; `None` means the creation time. A past instant re-runs or
    /// back-dates an evaluation.
    pub evaluation_time_ms: Option<i64>,
}

impl JobInput {
    /// Reads AEP's id list: `["*"]` is every definition; `*` beside other ids, an empty list, or
    /// more than [`MAX_JOB_SEGMENT_IDS`] ids is refused on `field`. Duplicates collapse.
    pub fn from_ids(
        ids: Vec<String>,
        evaluation_time_ms: Option<i64>,
        field: &str,
    ) -> Result<JobInput, Error> {
        if ids.is_empty() {
            return Err(Error::invalid(
                field,
                "name at least one segment definition id, or \"*\" for every definition",
            ));
        }
        if ids.iter().any(|i| i == ALL_SEGMENTS) {
            if ids.len() > 1 {
                return Err(Error::invalid(
                    field,
                    "\"*\" (every definition) cannot be combined with other ids",
                ));
            }
            return Ok(JobInput {
                segments: JobSegments::All,
                evaluation_time_ms,
            });
        }
        if ids.len() > MAX_JOB_SEGMENT_IDS {
            return Err(Error::invalid(
                field,
                format!(
                    "{} segment definition ids; at most {MAX_JOB_SEGMENT_IDS} may be listed. \
                     To evaluate more, ask for every definition with segmentId \"*\"",
                    ids.len()
                ),
            ));
        }
        if let Some(blank) = ids.iter().position(|i| i.trim().is_empty()) {
            return Err(Error::invalid(
                format!("{field}[{blank}]"),
                "a segment definition id must not be empty",
            ));
        }
        let mut ids = ids;
        ids.sort();
        ids.dedup();
        Ok(JobInput {
            segments: JobSegments::Ids(ids),
            evaluation_time_ms,
        })
    }
}

/// What a job list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobSortField {
    CreationTime,
    UpdateTime,
}

/// A job list order, `attr:asc|desc` on the wire; ties break on id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobSort {
    pub field: JobSortField,
    pub descending: bool,
}

impl Default for JobSort {
    /// Newest first: the job a caller just started is on the first page.
    fn default() -> Self {
        JobSort {
            field: JobSortField::CreationTime,
            descending: true,
        }
    }
}

impl JobSort {
    /// `creationTime:desc`, `updateTime` (field `sort`).
    pub fn parse(s: &str) -> Result<JobSort, Error> {
        let (attr, descending) = crate::domain::page::split_sort(s)?;
        let field = match attr {
            "creationTime" => JobSortField::CreationTime,
            "updateTime" => JobSortField::UpdateTime,
            other => {
                return Err(Error::invalid(
                    "sort",
                    format!(
                        "cannot sort jobs by '{other}'; use creationTime or updateTime followed \
                         by :asc or :desc"
                    ),
                ));
            }
        };
        Ok(JobSort { field, descending })
    }

    pub fn to_wire(self) -> String {
        let attr = match self.field {
            JobSortField::CreationTime => "creationTime",
            JobSortField::UpdateTime => "updateTime",
        };
        format!("{attr}:{}", if self.descending { "desc" } else { "asc" })
    }
}

/// The exact-match filters of a job list: `status`, and AEP's `property` filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    /// `segments~segmentId==<id>`: jobs that evaluate this definition.
    pub segment_id: Option<String>,
    /// `source==<source>`.
    pub source: Option<String>,
    /// `id==<id>`.
    pub id: Option<String>,
}

impl JobFilter {
    /// Adds AEP's `property` filter to `self`: `segments~segmentId==<id>`, `status==<STATUS>`,
    /// `source==<source>` or `id==<id>` (field `property`).
    pub fn with_property(mut self, property: &str) -> Result<JobFilter, Error> {
        let bad = |why: String| Error::invalid("property", why);
        let (path, value) = property.split_once("==").ok_or_else(|| {
            bad(format!(
                "'{property}' is not a filter; write path==value, e.g. \
                 segments~segmentId==<segment id>"
            ))
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad(format!("'{property}' has no value after ==")));
        }
        match path.trim() {
            "segments~segmentId" => self.segment_id = Some(value.to_owned()),
            "status" => self.status = Some(JobStatus::parse_param(value, "property")?),
            "source" => self.source = Some(value.to_owned()),
            "id" => self.id = Some(value.to_owned()),
            other => {
                return Err(bad(format!(
                    "cannot filter on '{other}'; supported: segments~segmentId, status, source, \
                     id"
                )));
            }
        }
        Ok(self)
    }

    /// A short stable form for page-token scopes.
    pub fn scope(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.status.map_or("", |s| s.as_str()),
            self.segment_id.as_deref().unwrap_or(""),
            self.source.as_deref().unwrap_or(""),
            self.id.as_deref().unwrap_or("")
        )
    }
}

/// A list request: offset paging (`start`, AEP) or token paging (`page_token`, gRPC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobListQuery {
    pub start: Option<u64>,
    pub page_token: Option<String>,
    /// `None` means 100, at most 1000.
    pub limit: Option<u32>,
    /// `attr:asc|desc`; `None` means `creationTime:desc`.
    pub sort: Option<String>,
    pub status: Option<JobStatus>,
    /// AEP's `property` filter.
    pub property: Option<String>,
}

/// One page of jobs and the order applied.
#[derive(Debug, Clone, PartialEq)]
pub struct JobList {
    pub page: Page<SegmentJob>,
    pub sort: JobSort,
}

/// One answer of a batch get.
pub type JobBatchResult = crate::domain::batch::BatchItem<SegmentJob>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_terminals() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                JobStatus::parse_param(&s.as_str().to_lowercase(), "status").unwrap(),
                s
            );
        }
        let terminal: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                JobStatus::Succeeded,
                JobStatus::Failed,
                JobStatus::Cancelled
            ]
        );
        assert!(JobStatus::parse_param("DONE", "status").is_err());
    }

    #[test]
    fn id_lists() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            JobInput::from_ids(ids(&["*"]), None, "segments")
                .unwrap()
                .segments,
            JobSegments::All
        );
        assert_eq!(
            JobInput::from_ids(ids(&["b", "a", "b"]), None, "segments")
                .unwrap()
                .segments,
            JobSegments::Ids(ids(&["a", "b"]))
        );
        assert!(JobInput::from_ids(ids(&["*", "a"]), None, "segments").is_err());
        assert!(JobInput::from_ids(vec![], None, "segments").is_err());
        let many: Vec<String> = (0..=MAX_JOB_SEGMENT_IDS).map(|i| format!("s{i}")).collect();
        let err = JobInput::from_ids(many, None, "segments").unwrap_err();
        assert!(err.to_string().contains("\"*\""), "{err}");
        assert_eq!(err.field_violations()[0].field, "segments");
    }

    #[test]
    fn property_filters() {
        let f = JobFilter::default()
            .with_property("segments~segmentId==abc")
            .unwrap();
        assert_eq!(f.segment_id.as_deref(), Some("abc"));
        let f = JobFilter::default()
            .with_property("status==succeeded")
            .unwrap();
        assert_eq!(f.status, Some(JobStatus::Succeeded));
        assert!(JobFilter::default().with_property("name==x").is_err());
        assert!(JobFilter::default().with_property("segments").is_err());
        assert!(JobFilter::default().with_property("id==").is_err());
    }

    #[test]
    fn sorts() {
        assert_eq!(JobSort::default().to_wire(), "creationTime:desc");
        assert_eq!(
            JobSort::parse("updateTime").unwrap().to_wire(),
            "updateTime:asc"
        );
        assert!(JobSort::parse("name:asc").is_err());
    }

    #[test]
    fn metrics_json_names_are_aeps() {
        let mut m = JobMetrics::default();
        m.segmented_profile_counter.insert("s".into(), 2);
        let json = serde_json::to_value(&m).unwrap();
        assert!(json.get("segmentedProfileCounter").is_some(), "{json}");
        let back: JobMetrics = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }
}
