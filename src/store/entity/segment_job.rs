//! `segment_jobs`: one row per job, with its lease (owner, expiry, attempts), progress, and the
//! definition snapshot, metrics and errors as JSON text.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org: String,
    pub sandbox: String,
    /// `NEW`, `QUEUED`, `PROCESSING`, `SUCCEEDED`, `FAILED`, `CANCELLING`, `CANCELLED`.
    pub status: String,
    pub source: String,
    pub request_id: String,
    pub all_segments: bool,
    /// JSON array of the frozen definitions.
    #[sea_orm(column_type = "Text")]
    pub segments: String,
    pub evaluation_time_ms: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_ms: Option<i64>,
    pub attempts: i64,
    pub profiles_done: i64,
    pub profiles_total: i64,
    #[sea_orm(column_type = "Text")]
    pub metrics: String,
    #[sea_orm(column_type = "Text")]
    pub errors: String,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
