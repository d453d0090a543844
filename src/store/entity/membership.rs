//! `memberships`: one row per (segment, profile), written only by segment jobs.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sandbox: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub segment_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub profile_id: String,
    /// `realized`, `existing` or `exited`.
    pub status: String,
    pub last_qualification_ms: i64,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
