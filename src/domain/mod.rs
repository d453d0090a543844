//! The domain core: plain types and the services both edges (gRPC and REST) call.
//!
//! Nothing here knows a wire or storage type: no prost, no axum, no sea-orm. Every service method
//! takes the caller's [`RequestContext`](crate::context::RequestContext) and answers with an
//! [`Error`](crate::error::Error) from the one catalogue. Services are cheap to clone (they hold a
//! `Store` handle and a [`Clock`]). `docs/domain-api.md` lists the public API.
//!
//! Service spans log a failed call at INFO, not ERROR: most failures are the caller's (a bad
//! field, bad PQL, an unknown id) and must not flood error logs; the edges log server faults
//! (internal, unavailable) at ERROR.

pub mod batch;
pub mod clock;
pub mod definition;
pub mod definitions;
pub mod expression;
pub mod graph;
pub mod ingest;
pub mod job;
pub mod jobs;
pub mod membership;
pub mod page;
pub mod profile;
pub mod profiles;

pub use batch::BatchItem;
pub use clock::Clock;
pub use definition::{
    DefinitionInput, DefinitionList, DefinitionListQuery, DefinitionSort, DefinitionSortField,
    EvaluationFilter, EvaluationInfo, Expression, ExpressionFormat, ExpressionInput,
    SegmentDefinition, ValidatedExpression,
};
pub use definitions::{BatchGetResult, DefinitionService};
pub use job::{
    JobBatchResult, JobError, JobInput, JobList, JobListQuery, JobMetrics, JobProgress, JobSegment,
    JobSegments, JobSort, JobStatus, SegmentJob, StatusCounts, TimeWindow,
};
pub use jobs::{JobLimits, JobService};
pub use membership::{MemberListQuery, MembershipWrite, SegmentMember};
pub use page::Page;
pub use profile::{
    ExperienceEvent, Identity, Membership, Profile, ProfileListQuery, ProfileLookup, RecordOutcome,
    RecordResult, RecordStatus,
};
pub use profiles::ProfileService;
