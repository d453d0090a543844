//! Repository tests, each run on SQLite and (when configured) PostgreSQL.

mod connect;
mod definition_service;
mod definitions;
mod job_staging;
mod jobs;
mod memberships;
mod profiles;
