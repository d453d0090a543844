//! `segment_definitions`: one row per definition; (org, sandbox, name) is unique.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org: String,
    pub sandbox: String,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub expression_format: String,
    #[sea_orm(column_type = "Text")]
    pub expression_value: String,
    pub schema_name: String,
    pub merge_policy_id: Option<String>,
    pub eval_batch: bool,
    pub eval_continuous: bool,
    pub eval_synchronous: bool,
    pub ttl_in_days: Option<i64>,
    pub version: i64,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
