//! `profiles`: the merged document of each profile and, per top-level field, the time it was last
//! written (the "newer wins" merge rule reads it).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org: String,
    pub sandbox: String,
    /// The merged XDM document, JSON text.
    #[sea_orm(column_type = "Text")]
    pub document: String,
    /// JSON object: top-level field name -> epoch ms of its last write.
    #[sea_orm(column_type = "Text")]
    pub field_times: String,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
