//! Schema migrations, numbered and applied in order at start ([`Migrator::up`] from
//! `Store::connect`). A migration, once released, is never edited: changes come as new files.

use sea_orm_migration::prelude::*;

mod m0001_create_tables;
mod m0002_segment_jobs;
mod m0003_job_storage;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_create_tables::Migration),
            Box::new(m0002_segment_jobs::Migration),
            Box::new(m0003_job_storage::Migration),
        ]
    }
}
