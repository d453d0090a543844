//! Repository tests, each run on SQLite and (when configured) PostgreSQL.

mod definition_service;
mod definitions;
mod memberships;
mod profiles;
