//! `segment_job_staging`: what a running job found, page by page, before its commit: one row per
//! profile that qualified for any of the job's segments (per 64 segments), its segments packed
//! as bits. The commit expands the bits into `memberships` in one transaction and deletes them.
//!
//! Packing keeps staging to one small row per profile instead of one per (segment, profile):
//! staging and clearing it were the largest part of a job's time when every membership was a
//! row here (`docs/jobs.md`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_job_staging")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub profile_id: String,
    /// Which 64 of the job's segments `mask` covers: segment `i` of the job (in `segment_id`
    /// order) is bit `i % 64` of word `i / 64`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub word: i32,
    /// The segments of this word the profile qualified for, one bit each (bit 63 is the sign).
    pub mask: i64,
    /// The profile's identity namespaces, sorted, joined with `NAMESPACE_SEPARATOR`.
    pub namespaces: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
