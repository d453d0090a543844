//! Profile reads and deletes: one profile with its identities, event count and memberships;
//! keyset pages of profiles; and the job engine's stream of profiles with their events.
//!
//! Pages are keyed by profile id (`id > after`), the order of the `(org, sandbox, id)` index, so
//! a page costs the same at the millionth profile as at the first. Everything a page needs is
//! loaded with one query per table for the whole page, never one per profile.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, TransactionTrait,
};
use serde_json::{Map, Value};
use tracing::instrument;

use super::entity::{event, identity, membership, profile};
use super::memberships::memberships_of;
use super::{Store, db_error, finish, record_tenant};
use crate::context::Tenant;
use crate::domain::profile::{ExperienceEvent, Identity, Profile, ProfileLookup};
use crate::error::{Error, ResourceKind};

/// A profile as the job engine reads it: its merged document and its events (by timestamp,
/// then id).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileWithEvents {
    pub profile_id: String,
    pub document: Map<String, Value>,
    pub events: Vec<ExperienceEvent>,
}

fn tenant_profiles(tenant: &Tenant) -> Select<profile::Entity> {
    profile::Entity::find()
        .filter(profile::Column::Org.eq(&tenant.org))
        .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
}

fn parse_document(id: &str, text: &str) -> Result<Map<String, Value>, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("stored document of {id} is not a JSON object: {e}")))
}

fn event_of(m: event::Model) -> Result<ExperienceEvent, Error> {
    let document = parse_document(&m.event_id, &m.document)?;
    Ok(ExperienceEvent {
        id: m.event_id,
        profile_id: m.profile_id,
        timestamp_ms: m.timestamp_ms,
        event_type: m.event_type,
        document,
    })
}

/// The id of the profile `lookup` names, if any.
async fn find_profile_id<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    lookup: &ProfileLookup,
) -> Result<String, Error> {
    let found = match lookup {
        ProfileLookup::Id(id) => tenant_profiles(tenant)
            .select_only()
            .column(profile::Column::Id)
            .filter(profile::Column::Id.eq(id))
            .into_tuple::<String>()
            .one(conn)
            .await
            .map_err(db_error)?,
        ProfileLookup::Identity(i) => identity::Entity::find()
            .select_only()
            .column(identity::Column::ProfileId)
            .filter(identity::Column::Org.eq(&tenant.org))
            .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
            .filter(identity::Column::Namespace.eq(&i.namespace))
            .filter(identity::Column::Identity.eq(&i.id))
            .into_tuple::<String>()
            .one(conn)
            .await
            .map_err(db_error)?,
    };
    found.ok_or_else(|| {
        let id = match lookup {
            ProfileLookup::Id(id) => id.clone(),
            ProfileLookup::Identity(i) => format!("{}:{}", i.namespace, i.id),
        };
        Error::not_found(ResourceKind::Profile, id)
    })
}

/// Builds full profiles for `rows` with one query per table.
async fn assemble<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    rows: Vec<profile::Model>,
) -> Result<Vec<Profile>, Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut identities: BTreeMap<String, Vec<Identity>> = BTreeMap::new();
    let id_rows = identity::Entity::find()
        .filter(identity::Column::Org.eq(&tenant.org))
        .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
        .filter(identity::Column::ProfileId.is_in(ids.iter().cloned()))
        .order_by_asc(identity::Column::Namespace)
        .order_by_asc(identity::Column::Identity)
        .all(conn)
        .await
        .map_err(db_error)?;
    for r in id_rows {
        identities
            .entry(r.profile_id)
            .or_default()
            .push(Identity::new(r.namespace, r.identity));
    }
    let counts: BTreeMap<String, i64> = event::Entity::find()
        .select_only()
        .column(event::Column::ProfileId)
        .column_as(Expr::col(event::Column::EventId).count(), "n")
        .filter(event::Column::Org.eq(&tenant.org))
        .filter(event::Column::Sandbox.eq(&tenant.sandbox))
        .filter(event::Column::ProfileId.is_in(ids.iter().cloned()))
        .group_by(event::Column::ProfileId)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .collect();
    let mut memberships = memberships_of(conn, tenant, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let document = parse_document(&m.id, &m.document)?;
            Ok(Profile {
                identities: identities.remove(&m.id).unwrap_or_default(),
                event_count: u64::try_from(counts.get(&m.id).copied().unwrap_or(0)).unwrap_or(0),
                memberships: memberships.remove(&m.id).unwrap_or_default(),
                document,
                creation_time_ms: m.creation_time_ms,
                update_time_ms: m.update_time_ms,
                id: m.id,
            })
        })
        .collect()
}

impl Store {
    /// The profile `lookup` names, with identities, event count and memberships.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn get_profile(
        &self,
        tenant: &Tenant,
        lookup: &ProfileLookup,
    ) -> Result<Profile, Error> {
        record_tenant(tenant);
        let id = find_profile_id(&self.reads, tenant, lookup).await?;
        let row = tenant_profiles(tenant)
            .filter(profile::Column::Id.eq(&id))
            .one(&self.reads)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found(ResourceKind::Profile, id.clone()))?;
        assemble(&self.reads, tenant, vec![row])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(ResourceKind::Profile, id))
    }

    /// Deletes the profile `lookup` names with its identities, events and memberships; returns
    /// its id.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn delete_profile(
        &self,
        tenant: &Tenant,
        lookup: &ProfileLookup,
    ) -> Result<String, Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = delete_profile_in(&txn, tenant, lookup).await;
        finish(txn, result).await
    }

    /// Profiles with id > `after_id` in id order, at most `limit`, and the tenant's profile count.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn list_profiles(
        &self,
        tenant: &Tenant,
        after_id: Option<&str>,
        limit: u64,
    ) -> Result<(Vec<Profile>, u64), Error> {
        record_tenant(tenant);
        let total = tenant_profiles(tenant)
            .count(&self.reads)
            .await
            .map_err(db_error)?;
        let rows = profile_page(tenant, after_id, limit)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        Ok((assemble(&self.reads, tenant, rows).await?, total))
    }

    /// The job engine's read: the next keyset page of profiles with their events, events loaded
    /// with one query for the whole page.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn stream_profiles_page(
        &self,
        tenant: &Tenant,
        after_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<ProfileWithEvents>, Error> {
        record_tenant(tenant);
        let rows = profile_page(tenant, after_id, limit)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut events: BTreeMap<String, Vec<ExperienceEvent>> = BTreeMap::new();
        if !ids.is_empty() {
            let event_rows = event::Entity::find()
                .filter(event::Column::Org.eq(&tenant.org))
                .filter(event::Column::Sandbox.eq(&tenant.sandbox))
                .filter(event::Column::ProfileId.is_in(ids))
                .order_by_asc(event::Column::ProfileId)
                .order_by_asc(event::Column::TimestampMs)
                .order_by_asc(event::Column::EventId)
                .all(&self.reads)
                .await
                .map_err(db_error)?;
            for e in event_rows {
                events
                    .entry(e.profile_id.clone())
                    .or_default()
                    .push(event_of(e)?);
            }
        }
        rows.into_iter()
            .map(|m| {
                Ok(ProfileWithEvents {
                    document: parse_document(&m.id, &m.document)?,
                    events: events.remove(&m.id).unwrap_or_default(),
                    profile_id: m.id,
                })
            })
            .collect()
    }

    /// The events of one profile of the tenant, by timestamp then id.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn events_of_profile(
        &self,
        tenant: &Tenant,
        profile_id: &str,
    ) -> Result<Vec<ExperienceEvent>, Error> {
        record_tenant(tenant);
        event::Entity::find()
            .filter(event::Column::Org.eq(&tenant.org))
            .filter(event::Column::Sandbox.eq(&tenant.sandbox))
            .filter(event::Column::ProfileId.eq(profile_id))
            .order_by_asc(event::Column::TimestampMs)
            .order_by_asc(event::Column::EventId)
            .all(&self.reads)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(event_of)
            .collect()
    }
}

fn profile_page(tenant: &Tenant, after_id: Option<&str>, limit: u64) -> Select<profile::Entity> {
    let mut q = tenant_profiles(tenant);
    if let Some(after) = after_id {
        q = q.filter(profile::Column::Id.gt(after));
    }
    q.order_by_asc(profile::Column::Id).limit(limit)
}

async fn delete_profile_in(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    lookup: &ProfileLookup,
) -> Result<String, Error> {
    let id = find_profile_id(txn, tenant, lookup).await?;
    identity::Entity::delete_many()
        .filter(identity::Column::Org.eq(&tenant.org))
        .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
        .filter(identity::Column::ProfileId.eq(&id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    event::Entity::delete_many()
        .filter(event::Column::Org.eq(&tenant.org))
        .filter(event::Column::Sandbox.eq(&tenant.sandbox))
        .filter(event::Column::ProfileId.eq(&id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    membership::Entity::delete_many()
        .filter(membership::Column::Org.eq(&tenant.org))
        .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
        .filter(membership::Column::ProfileId.eq(&id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    profile::Entity::delete_many()
        .filter(profile::Column::Org.eq(&tenant.org))
        .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
        .filter(profile::Column::Id.eq(&id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    Ok(id)
}
