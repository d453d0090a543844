//! sea-orm entities, one per table. Every table carries `org` and `sandbox`; every repository
//! query filters on both (the tenant is part of every key or index used).

pub mod definition;
pub mod definition_ref;
pub mod event;
pub mod identity;
pub mod membership;
pub mod profile;
pub mod segment_job;
pub mod segment_job_segment;
pub mod segment_job_staging;
