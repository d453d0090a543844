//! Membership repository: the read side (a profile's memberships, a segment's members by
//! status) and the one write a segment job makes: replacing every membership of a set of
//! segments at once, so readers see either the previous result or the new one, never a mix.

use std::collections::BTreeMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};
use tracing::instrument;

use super::entity::membership;
use super::{Store, db_error, finish, record_tenant};
use crate::context::Tenant;
use crate::domain::membership::{MembershipWrite, SegmentMember};
use crate::domain::profile::Membership;
use crate::error::Error;
use crate::pql::MembershipStatus;

/// Rows per INSERT: 7 bound values each keeps a statement far below SQLite's and PostgreSQL's
/// parameter limits.
const INSERT_CHUNK: usize = 1000;

fn tenant_memberships(tenant: &Tenant) -> Select<membership::Entity> {
    membership::Entity::find()
        .filter(membership::Column::Org.eq(&tenant.org))
        .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
}

fn membership_of(m: &membership::Model) -> Result<Membership, Error> {
    let status = MembershipStatus::parse(&m.status).ok_or_else(|| {
        Error::internal(format!(
            "stored membership {}/{} has unknown status '{}'",
            m.segment_id, m.profile_id, m.status
        ))
    })?;
    Ok(Membership {
        segment_id: m.segment_id.clone(),
        status,
        last_qualification_time_ms: m.last_qualification_ms,
        version: m.version,
    })
}

/// The memberships of each of `profile_ids`, sorted by segment id.
pub(super) async fn memberships_of<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    profile_ids: &[String],
) -> Result<BTreeMap<String, Vec<Membership>>, Error> {
    let mut out: BTreeMap<String, Vec<Membership>> = BTreeMap::new();
    if profile_ids.is_empty() {
        return Ok(out);
    }
    let rows = tenant_memberships(tenant)
        .filter(membership::Column::ProfileId.is_in(profile_ids.iter().cloned()))
        .order_by_asc(membership::Column::SegmentId)
        .all(conn)
        .await
        .map_err(db_error)?;
    for r in rows {
        let m = membership_of(&r)?;
        out.entry(r.profile_id).or_default().push(m);
    }
    Ok(out)
}

impl Store {
    /// The memberships of one profile, sorted by segment id.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn memberships_of_profile(
        &self,
        tenant: &Tenant,
        profile_id: &str,
    ) -> Result<Vec<Membership>, Error> {
        record_tenant(tenant);
        let ids = [profile_id.to_owned()];
        Ok(memberships_of(&self.reads, tenant, &ids)
            .await?
            .remove(profile_id)
            .unwrap_or_default())
    }

    /// Members of `segment_id` with one of `statuses`, profile id > `after_profile_id`, in
    /// profile id order, at most `limit`; and how many match in total.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn list_segment_members(
        &self,
        tenant: &Tenant,
        segment_id: &str,
        statuses: &[MembershipStatus],
        after_profile_id: Option<&str>,
        limit: u64,
    ) -> Result<(Vec<SegmentMember>, u64), Error> {
        record_tenant(tenant);
        let q = tenant_memberships(tenant)
            .filter(membership::Column::SegmentId.eq(segment_id))
            .filter(membership::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
        let total = q.clone().count(&self.reads).await.map_err(db_error)?;
        let mut page = q;
        if let Some(after) = after_profile_id {
            page = page.filter(membership::Column::ProfileId.gt(after));
        }
        let rows = page
            .order_by_asc(membership::Column::ProfileId)
            .limit(limit)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        let members = rows
            .iter()
            .map(|r| {
                Ok(SegmentMember {
                    profile_id: r.profile_id.clone(),
                    membership: membership_of(r)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((members, total))
    }

    /// Replaces, in one transaction, every membership of `segment_ids` in the tenant with
    /// `rows` (each row's segment must be one of `segment_ids`).
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox, segments = segment_ids.len(), rows = rows.len()))]
    pub async fn replace_memberships(
        &self,
        tenant: &Tenant,
        segment_ids: &[String],
        rows: &[MembershipWrite],
    ) -> Result<(), Error> {
        record_tenant(tenant);
        if let Some(stray) = rows.iter().find(|r| !segment_ids.contains(&r.segment_id)) {
            return Err(Error::internal(format!(
                "membership row for segment {} outside the replaced set",
                stray.segment_id
            )));
        }
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = replace_in(&txn, tenant, segment_ids, rows).await;
        finish(txn, result).await
    }
}

async fn replace_in(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    segment_ids: &[String],
    rows: &[MembershipWrite],
) -> Result<(), Error> {
    if !segment_ids.is_empty() {
        membership::Entity::delete_many()
            .filter(membership::Column::Org.eq(&tenant.org))
            .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
            .filter(membership::Column::SegmentId.is_in(segment_ids.iter().cloned()))
            .exec(txn)
            .await
            .map_err(db_error)?;
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        let models = chunk.iter().map(|r| membership::ActiveModel {
            org: Set(tenant.org.clone()),
            sandbox: Set(tenant.sandbox.clone()),
            segment_id: Set(r.segment_id.clone()),
            profile_id: Set(r.profile_id.clone()),
            status: Set(r.status.as_str().to_owned()),
            last_qualification_ms: Set(r.last_qualification_time_ms),
            version: Set(r.version),
        });
        membership::Entity::insert_many(models)
            .exec(txn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}
