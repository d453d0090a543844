//! Repository tests, each run on SQLite and (when configured) PostgreSQL.

mod definitions;
mod memberships;
mod profiles;
