//! `events`: experience events, unique per tenant by `_id` (the dedup key).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sandbox: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub profile_id: String,
    pub timestamp_ms: i64,
    pub event_type: Option<String>,
    /// The event as ingested, JSON text.
    #[sea_orm(column_type = "Text")]
    pub document: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
