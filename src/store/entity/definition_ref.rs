//! `segment_definition_refs`: the `inSegment` edges of the definition graph, so that cycles and
//! dependents are found with indexed queries instead of scanning expressions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_definition_refs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sandbox: String,
    /// The referencing definition.
    #[sea_orm(primary_key, auto_increment = false)]
    pub definition_id: String,
    /// The definition named in `inSegment(...)`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub referenced_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
