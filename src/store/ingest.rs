//! The ingestion write path: one transaction per batch. Records whose outcome depends on no
//! other record (new people, events of known people) are written set-based first
//! (`ingest_batch`); the others get one savepoint each, in batch order, so a refused record
//! leaves nothing behind while the others are kept, and records later in a batch see the
//! profiles and identities earlier ones created (two records sharing an identity end up in one
//! profile).
//!
//! A record's identities are resolved to the profiles they already belong to. None: a new
//! profile. Several: the same person seen through different identities, so the profiles are
//! merged into the oldest one (identities and events move, fields merge newer-wins, the merged
//! profiles' memberships are dropped until the next segment job). On PostgreSQL the profile rows
//! are locked before they are merged into, and a record that loses a race with a concurrent batch
//! (a unique-key violation on an identity or event id) is retried from its savepoint.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{Map, Value};
use tracing::instrument;

use super::entity::{event, identity, membership, profile};
use super::{
    Backend, Store, db_error, finish, is_transient_conflict, is_unique_violation, record_tenant,
};
use crate::context::Tenant;
use crate::domain::ingest::{
    EventRecord, IdentityEntry, IngestRecord, ProfileRecord, ProfileState,
};
use crate::domain::profile::{Identity, RecordOutcome, RecordResult, RecordStatus};
use crate::error::Error;

/// How many times a record that lost a race is tried again.
const MAX_RETRIES: usize = 3;

/// Why one record was not written.
enum RecordError {
    /// The record is refused; the caller sees this error.
    Refused(Error),
    /// A concurrent writer got there first; the record can be tried again.
    Conflict(String),
}

impl From<Error> for RecordError {
    fn from(e: Error) -> Self {
        RecordError::Refused(e)
    }
}

/// A write whose unique-key violation means "lost a race".
fn conflict_or_db(e: DbErr, what: &str) -> RecordError {
    if is_unique_violation(&e) {
        RecordError::Conflict(format!("concurrent write of the same {what}"))
    } else {
        record_db_error(e)
    }
}

/// A statement failure inside a record: a deadlock or serialization failure (PostgreSQL picked
/// this transaction as the victim of a concurrent one) can be retried, the rest cannot.
fn record_db_error(e: DbErr) -> RecordError {
    if is_transient_conflict(&e) {
        RecordError::Conflict(format!("concurrent transaction conflict: {e}"))
    } else {
        RecordError::Refused(db_error(e))
    }
}

/// The profile a record's identities lead to.
struct Resolved {
    state: ProfileState,
    created: bool,
    /// Several profiles were merged into `state`.
    merged: bool,
    /// Identities of the record already stored (now all pointing at `state.id`).
    stored: BTreeSet<Identity>,
}

impl Store {
    /// Writes validated records in order, each atomically; returns one result per record with
    /// the index it was given. Err only when the batch transaction itself fails.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox, records = records.len()))]
    pub async fn ingest_records(
        &self,
        tenant: &Tenant,
        records: Vec<(usize, IngestRecord)>,
        now_ms: i64,
    ) -> Result<Vec<RecordResult>, Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.ingest_in(&txn, tenant, &records, now_ms).await;
        let results = finish(txn, result).await?;
        self.note_rows_written(u64::try_from(records.len()).unwrap_or(u64::MAX))
            .await;
        Ok(results)
    }

    /// The batch's records that need no per-record decision in a few set-based statements, then
    /// the others one by one, in batch order.
    async fn ingest_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        records: &[(usize, IngestRecord)],
        now_ms: i64,
    ) -> Result<Vec<RecordResult>, Error> {
        let pass = self.ingest_set_based(txn, tenant, records, now_ms).await?;
        let mut results = pass.done;
        for pos in pass.rest {
            let (index, record) = &records[pos];
            let outcome = self.ingest_one(txn, tenant, record, now_ms).await?;
            results.push(RecordResult {
                index: *index,
                outcome,
            });
        }
        results.sort_by_key(|r| r.index);
        Ok(results)
    }

    /// One record in its own savepoint, retried after a lost race.
    async fn ingest_one(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        record: &IngestRecord,
        now_ms: i64,
    ) -> Result<Result<RecordOutcome, Error>, Error> {
        let mut attempt = 0;
        loop {
            let sp = txn.begin().await.map_err(db_error)?;
            let result = match record {
                IngestRecord::Profile(p) => self.apply_profile(&sp, tenant, p, now_ms).await,
                IngestRecord::Event(e) => self.apply_event(&sp, tenant, e, now_ms).await,
            };
            match result {
                Ok(outcome) => {
                    sp.commit().await.map_err(db_error)?;
                    return Ok(Ok(outcome));
                }
                Err(RecordError::Refused(e)) => {
                    sp.rollback().await.map_err(db_error)?;
                    return Ok(Err(e));
                }
                Err(RecordError::Conflict(why)) => {
                    sp.rollback().await.map_err(db_error)?;
                    attempt += 1;
                    if attempt > MAX_RETRIES {
                        return Ok(Err(Error::unavailable(format!("{why}; retry the record"))));
                    }
                    tracing::debug!(attempt, why, "record lost a race; retrying");
                }
            }
        }
    }

    async fn apply_profile(
        &self,
        conn: &DatabaseTransaction,
        tenant: &Tenant,
        rec: &ProfileRecord,
        now_ms: i64,
    ) -> Result<RecordOutcome, RecordError> {
        let Resolved {
            mut state,
            created,
            stored,
            ..
        } = self.resolve(conn, tenant, &rec.identities, now_ms).await?;
        state.add_identities(&rec.identities);
        state.apply_fields(&rec.fields, rec.record_time_ms);
        state.update_time_ms = now_ms;
        state.check_identity_count()?;
        write_profile(conn, tenant, &state, created).await?;
        insert_identities(conn, tenant, &state.id, &rec.identities, &stored).await?;
        Ok(RecordOutcome {
            profile_id: state.id,
            status: if created {
                RecordStatus::Created
            } else {
                RecordStatus::Updated
            },
        })
    }

    async fn apply_event(
        &self,
        conn: &DatabaseTransaction,
        tenant: &Tenant,
        rec: &EventRecord,
        now_ms: i64,
    ) -> Result<RecordOutcome, RecordError> {
        let existing = event::Entity::find()
            .filter(event::Column::Org.eq(&tenant.org))
            .filter(event::Column::Sandbox.eq(&tenant.sandbox))
            .filter(event::Column::EventId.eq(&rec.event_id))
            .one(conn)
            .await
            .map_err(record_db_error)?;
        if let Some(e) = existing {
            return Ok(RecordOutcome {
                profile_id: e.profile_id,
                status: RecordStatus::Duplicate,
            });
        }
        let Resolved {
            mut state,
            created,
            merged,
            stored,
        } = self.resolve(conn, tenant, &rec.identities, now_ms).await?;
        // An event changes its profile only when it brings identities (or joins profiles); the
        // common case, an event of a known person, leaves the document alone.
        let new_identities = rec.identities.iter().any(|e| !stored.contains(&e.identity));
        if created || merged || new_identities {
            state.add_identities(&rec.identities);
            state.update_time_ms = now_ms;
            state.check_identity_count()?;
            write_profile(conn, tenant, &state, created).await?;
            insert_identities(conn, tenant, &state.id, &rec.identities, &stored).await?;
        }
        let document = serde_json::to_string(&rec.document)
            .map_err(|e| Error::internal(format!("cannot encode event: {e}")))?;
        event::ActiveModel {
            org: Set(tenant.org.clone()),
            sandbox: Set(tenant.sandbox.clone()),
            event_id: Set(rec.event_id.clone()),
            profile_id: Set(state.id.clone()),
            timestamp_ms: Set(rec.timestamp_ms),
            event_type: Set(rec.event_type.clone()),
            document: Set(document),
        }
        .insert(conn)
        .await
        .map_err(|e| conflict_or_db(e, "event _id"))?;
        Ok(RecordOutcome {
            profile_id: state.id,
            status: if created {
                RecordStatus::Created
            } else {
                RecordStatus::Updated
            },
        })
    }

    /// Finds (or starts) the profile of a record's identities, merging profiles when the
    /// identities name several.
    async fn resolve(
        &self,
        conn: &DatabaseTransaction,
        tenant: &Tenant,
        identities: &[IdentityEntry],
        now_ms: i64,
    ) -> Result<Resolved, RecordError> {
        let rows = find_identities(conn, tenant, identities).await?;
        let profile_ids: BTreeSet<String> = rows.iter().map(|r| r.profile_id.clone()).collect();
        let stored: BTreeSet<Identity> = rows
            .into_iter()
            .map(|r| Identity::new(r.namespace, r.identity))
            .collect();
        if profile_ids.is_empty() {
            let id = uuid::Uuid::new_v4().to_string();
            return Ok(Resolved {
                state: ProfileState::new(id, now_ms),
                created: true,
                merged: false,
                stored,
            });
        }
        let mut states = self.load_profiles(conn, tenant, &profile_ids).await?;
        if states.len() != profile_ids.len() {
            return Err(RecordError::Conflict(
                "profile changed by a concurrent write".to_owned(),
            ));
        }
        let mut survivor = states.remove(0);
        let merged = !states.is_empty();
        for other in states {
            move_profile(conn, tenant, &other.id, &survivor.id).await?;
            survivor.absorb(other);
        }
        Ok(Resolved {
            state: survivor,
            created: false,
            merged,
            stored,
        })
    }

    /// Loads profiles oldest first, locking their rows on PostgreSQL.
    async fn load_profiles(
        &self,
        conn: &DatabaseTransaction,
        tenant: &Tenant,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<ProfileState>, RecordError> {
        let mut q = profile::Entity::find()
            .filter(profile::Column::Org.eq(&tenant.org))
            .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
            .filter(profile::Column::Id.is_in(ids.iter().cloned()))
            .order_by_asc(profile::Column::CreationTimeMs)
            .order_by_asc(profile::Column::Id);
        if self.backend == Backend::Postgres {
            q = q.lock_exclusive();
        }
        q.all(conn)
            .await
            .map_err(record_db_error)?
            .into_iter()
            .map(|m| state_of(m).map_err(RecordError::Refused))
            .collect()
    }
}

/// A stored profile row as a mergeable state.
pub(super) fn state_of(m: profile::Model) -> Result<ProfileState, Error> {
    let document: Map<String, Value> = serde_json::from_str(&m.document)
        .map_err(|e| Error::internal(format!("stored profile {} is not JSON: {e}", m.id)))?;
    let field_times: BTreeMap<String, i64> = serde_json::from_str(&m.field_times)
        .map_err(|e| Error::internal(format!("stored profile {} field times: {e}", m.id)))?;
    Ok(ProfileState::from_stored(
        m.id,
        document,
        field_times,
        m.creation_time_ms,
        m.update_time_ms,
    ))
}

async fn find_identities(
    conn: &DatabaseTransaction,
    tenant: &Tenant,
    identities: &[IdentityEntry],
) -> Result<Vec<identity::Model>, RecordError> {
    let mut any = Condition::any();
    for e in identities {
        any = any.add(
            Condition::all()
                .add(identity::Column::Namespace.eq(&e.identity.namespace))
                .add(identity::Column::Identity.eq(&e.identity.id)),
        );
    }
    identity::Entity::find()
        .filter(identity::Column::Org.eq(&tenant.org))
        .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
        .filter(any)
        .all(conn)
        .await
        .map_err(record_db_error)
}

/// Moves everything of profile `from` to profile `to` and deletes `from`.
async fn move_profile(
    conn: &DatabaseTransaction,
    tenant: &Tenant,
    from: &str,
    to: &str,
) -> Result<(), RecordError> {
    identity::Entity::update_many()
        .col_expr(identity::Column::ProfileId, Expr::value(to))
        .filter(identity::Column::Org.eq(&tenant.org))
        .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
        .filter(identity::Column::ProfileId.eq(from))
        .exec(conn)
        .await
        .map_err(record_db_error)?;
    event::Entity::update_many()
        .col_expr(event::Column::ProfileId, Expr::value(to))
        .filter(event::Column::Org.eq(&tenant.org))
        .filter(event::Column::Sandbox.eq(&tenant.sandbox))
        .filter(event::Column::ProfileId.eq(from))
        .exec(conn)
        .await
        .map_err(record_db_error)?;
    membership::Entity::delete_many()
        .filter(membership::Column::Org.eq(&tenant.org))
        .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
        .filter(membership::Column::ProfileId.eq(from))
        .exec(conn)
        .await
        .map_err(record_db_error)?;
    profile::Entity::delete_many()
        .filter(profile::Column::Org.eq(&tenant.org))
        .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
        .filter(profile::Column::Id.eq(from))
        .exec(conn)
        .await
        .map_err(record_db_error)?;
    Ok(())
}

/// The stored text of a profile state: its document and its field times.
fn encode_profile(state: &ProfileState) -> Result<(String, String), Error> {
    let encode = |what: &str, r: serde_json::Result<String>| {
        r.map_err(|e| Error::internal(format!("cannot encode profile {what}: {e}")))
    };
    let document = encode("document", serde_json::to_string(&state.to_document()))?;
    let field_times = encode("field times", serde_json::to_string(&state.field_times))?;
    Ok((document, field_times))
}

/// The row of a new profile.
pub(super) fn profile_row(
    tenant: &Tenant,
    state: &ProfileState,
) -> Result<profile::ActiveModel, Error> {
    let (document, field_times) = encode_profile(state)?;
    Ok(profile::ActiveModel {
        id: Set(state.id.clone()),
        org: Set(tenant.org.clone()),
        sandbox: Set(tenant.sandbox.clone()),
        document: Set(document),
        field_times: Set(field_times),
        creation_time_ms: Set(state.creation_time_ms),
        update_time_ms: Set(state.update_time_ms),
    })
}

async fn write_profile(
    conn: &DatabaseTransaction,
    tenant: &Tenant,
    state: &ProfileState,
    created: bool,
) -> Result<(), RecordError> {
    if created {
        profile_row(tenant, state)?
            .insert(conn)
            .await
            .map_err(|e| conflict_or_db(e, "profile id"))?;
    } else {
        let (document, field_times) = encode_profile(state)?;
        profile::Entity::update_many()
            .col_expr(profile::Column::Document, Expr::value(document))
            .col_expr(profile::Column::FieldTimes, Expr::value(field_times))
            .col_expr(
                profile::Column::CreationTimeMs,
                Expr::value(state.creation_time_ms),
            )
            .col_expr(
                profile::Column::UpdateTimeMs,
                Expr::value(state.update_time_ms),
            )
            .filter(profile::Column::Org.eq(&tenant.org))
            .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
            .filter(profile::Column::Id.eq(&state.id))
            .exec(conn)
            .await
            .map_err(record_db_error)?;
    }
    Ok(())
}

/// Inserts the record's identities that were not stored yet.
async fn insert_identities(
    conn: &DatabaseTransaction,
    tenant: &Tenant,
    profile_id: &str,
    identities: &[IdentityEntry],
    stored: &BTreeSet<Identity>,
) -> Result<(), RecordError> {
    let rows: Vec<identity::ActiveModel> = identities
        .iter()
        .filter(|e| !stored.contains(&e.identity))
        .map(|e| identity::ActiveModel {
            org: Set(tenant.org.clone()),
            sandbox: Set(tenant.sandbox.clone()),
            namespace: Set(e.identity.namespace.clone()),
            identity: Set(e.identity.id.clone()),
            profile_id: Set(profile_id.to_owned()),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    identity::Entity::insert_many(rows)
        .exec(conn)
        .await
        .map_err(|e| conflict_or_db(e, "identity"))?;
    Ok(())
}
