//! The first schema: definitions (with their reference edges), profiles, identities, events and
//! memberships. Every table starts with `org` and `sandbox`, and every index used by a query
//! starts with them too, so a tenant's rows are found without touching another's.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

fn bigint(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}

fn boolean(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().take()
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).take();
    for c in cols {
        stmt.col(*c);
    }
    stmt
}

fn definitions() -> TableCreateStatement {
    Table::create()
        .table("segment_definitions")
        .col(text("id").primary_key())
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("name"))
        .col(text_null("description"))
        .col(text("expression_format"))
        .col(text("expression_value"))
        .col(text("schema_name"))
        .col(text_null("merge_policy_id"))
        .col(boolean("eval_batch"))
        .col(boolean("eval_continuous"))
        .col(boolean("eval_synchronous"))
        .col(ColumnDef::new("ttl_in_days").big_integer().null())
        .col(bigint("version"))
        .col(bigint("creation_time_ms"))
        .col(bigint("update_time_ms"))
        .take()
}

fn definition_refs() -> TableCreateStatement {
    Table::create()
        .table("segment_definition_refs")
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("definition_id"))
        .col(text("referenced_id"))
        .primary_key(
            Index::create()
                .col("org")
                .col("sandbox")
                .col("definition_id")
                .col("referenced_id"),
        )
        .take()
}

fn profiles() -> TableCreateStatement {
    Table::create()
        .table("profiles")
        .col(text("id").primary_key())
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("document"))
        .col(text("field_times"))
        .col(bigint("creation_time_ms"))
        .col(bigint("update_time_ms"))
        .take()
}

fn identities() -> TableCreateStatement {
    Table::create()
        .table("identities")
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("namespace"))
        .col(text("identity"))
        .col(text("profile_id"))
        .primary_key(
            Index::create()
                .col("org")
                .col("sandbox")
                .col("namespace")
                .col("identity"),
        )
        .take()
}

fn events() -> TableCreateStatement {
    Table::create()
        .table("events")
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("event_id"))
        .col(text("profile_id"))
        .col(bigint("timestamp_ms"))
        .col(text_null("event_type"))
        .col(text("document"))
        .primary_key(Index::create().col("org").col("sandbox").col("event_id"))
        .take()
}

fn memberships() -> TableCreateStatement {
    Table::create()
        .table("memberships")
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("segment_id"))
        .col(text("profile_id"))
        .col(text("status"))
        .col(bigint("last_qualification_ms"))
        .col(bigint("version"))
        .primary_key(
            Index::create()
                .col("org")
                .col("sandbox")
                .col("segment_id")
                .col("profile_id"),
        )
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            definitions(),
            definition_refs(),
            profiles(),
            identities(),
            events(),
            memberships(),
        ] {
            manager.create_table(table).await?;
        }
        let indexes = [
            index(
                "segment_definitions",
                "ux_definitions_tenant_name",
                &["org", "sandbox", "name"],
            )
            .unique()
            .take(),
            index(
                "segment_definitions",
                "ix_definitions_tenant_created",
                &["org", "sandbox", "creation_time_ms", "id"],
            ),
            index(
                "segment_definition_refs",
                "ix_definition_refs_referenced",
                &["org", "sandbox", "referenced_id"],
            ),
            index(
                "profiles",
                "ix_profiles_tenant_id",
                &["org", "sandbox", "id"],
            ),
            index(
                "identities",
                "ix_identities_profile",
                &["org", "sandbox", "profile_id"],
            ),
            index(
                "events",
                "ix_events_profile_time",
                &["org", "sandbox", "profile_id", "timestamp_ms"],
            ),
            index(
                "memberships",
                "ix_memberships_profile",
                &["org", "sandbox", "profile_id"],
            ),
        ];
        for ix in indexes {
            manager.create_index(ix).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "memberships",
            "events",
            "identities",
            "profiles",
            "segment_definition_refs",
            "segment_definitions",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
