//! `segment_job_results`: what a running job found, page by page, before its commit: one row per
//! (segment, profile) that qualified. At commit the job adds a row per profile that left a
//! segment, fills `outcome`, and swaps the rows into `memberships` in the same transaction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_job_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub segment_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub profile_id: String,
    /// The profile's identity namespaces, sorted, joined with `NAMESPACE_SEPARATOR`; empty for
    /// exits.
    pub namespaces: String,
    /// `realized`, `existing` or `exited`; empty until the commit computes it.
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
