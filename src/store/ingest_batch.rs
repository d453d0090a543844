//! The set-based part of ingestion: the records of a batch whose outcome needs no per-record
//! decision are written with a few multi-row statements instead of a savepoint and half a
//! dozen round trips each.
//!
//! One query per namespace reads which of the batch's identities are stored, one query which of
//! its event ids are. A record is written here only when its outcome cannot depend on any other
//! record of the batch, so writing it before, after or beside them gives exactly what the
//! per-record path would have written:
//!
//! - a profile record none of whose identities is stored or appears in another record of the
//!   batch: a new profile (`CREATED`);
//! - an event whose `_id` is neither stored nor repeated in the batch, whose identities are all
//!   stored and lead to one profile, which no record left to the per-record path can change
//!   (merge, update, delete): an event of that profile (`UPDATED`), the profile untouched.
//!
//! Everything else (updates, merges, duplicates, new identities on events) goes through the
//! per-record path, in batch order. The writes here run in one savepoint; if any of them fails
//! (a concurrent batch inserted the same identity or event first), the savepoint is rolled back
//! and those records go through the per-record path too, which decides them one by one. On
//! PostgreSQL the profiles that events are added to are locked first (`FOR UPDATE`), so a
//! concurrent merge or delete cannot remove them before this transaction commits; a profile
//! found gone already sends its events to the per-record path.

use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::entity::{event, identity, profile};
use super::ingest::profile_row;
use super::job_runs::power_of_two_chunks;
use super::{Backend, Store, db_error};
use crate::context::Tenant;
use crate::domain::ingest::{EventRecord, IngestRecord, ProfileRecord, ProfileState};
use crate::domain::profile::{RecordOutcome, RecordResult, RecordStatus};
use crate::error::Error;

/// Most values in one lookup's `IN` list.
const LOOKUP_CHUNK: usize = 512;
/// Most rows per multi-row INSERT (profiles are wide; identities and events narrower).
const PROFILE_INSERT_CHUNK: usize = 256;
const ROW_INSERT_CHUNK: usize = 512;

/// (namespace, id) of an identity.
type Key = (String, String);

/// What a batch's set-based pass decided.
pub(super) struct FastPass {
    /// Results of the records written here.
    pub done: Vec<RecordResult>,
    /// Positions (in the batch) of the records left to the per-record path, in order.
    pub rest: Vec<usize>,
}

/// A record the set-based pass writes.
enum Fast {
    /// A new profile: its state, ready to insert.
    Create(Box<ProfileState>),
    /// An event of the stored profile `profile_id`.
    Event { profile_id: String },
}

fn keys_of(record: &IngestRecord) -> Vec<Key> {
    let identities = match record {
        IngestRecord::Profile(p) => &p.identities,
        IngestRecord::Event(e) => &e.identities,
    };
    identities
        .iter()
        .map(|e| (e.identity.namespace.clone(), e.identity.id.clone()))
        .collect()
}

impl Store {
    /// Writes the records of `records` that need no per-record decision (see the module
    /// comment) and says which are left.
    pub(super) async fn ingest_set_based(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        records: &[(usize, IngestRecord)],
        now_ms: i64,
    ) -> Result<FastPass, Error> {
        let keys: Vec<Vec<Key>> = records.iter().map(|(_, r)| keys_of(r)).collect();
        let mut key_uses: HashMap<&Key, usize> = HashMap::new();
        for k in keys.iter().flatten() {
            *key_uses.entry(k).or_default() += 1;
        }
        let mut id_uses: HashMap<&str, usize> = HashMap::new();
        for (_, r) in records {
            if let IngestRecord::Event(e) = r {
                *id_uses.entry(e.event_id.as_str()).or_default() += 1;
            }
        }
        let all_keys: BTreeSet<&Key> = key_uses.keys().copied().collect();
        let stored = stored_identities(txn, tenant, &all_keys).await?;
        let event_ids: Vec<&str> = id_uses.keys().copied().collect();
        let stored_events = stored_event_ids(txn, tenant, &event_ids).await?;

        // First guess: each record on its own.
        let mut plan: Vec<Option<Fast>> = Vec::with_capacity(records.len());
        for ((_, record), keys) in records.iter().zip(&keys) {
            plan.push(match record {
                IngestRecord::Profile(p) => {
                    let fresh = keys
                        .iter()
                        .all(|k| key_uses[k] == 1 && !stored.contains_key(k));
                    fresh.then(|| new_profile(p, now_ms)).flatten()
                }
                IngestRecord::Event(e) => known_event(e, keys, &stored, &id_uses, &stored_events),
            });
        }
        // Profiles a record left to the per-record path may change: every stored profile its
        // identities lead to, unless it is an event of one stored profile bringing nothing new
        // (it writes only the event, or nothing for a duplicate).
        let mut touched: HashSet<&str> = HashSet::new();
        for (((_, record), keys), fast) in records.iter().zip(&keys).zip(&plan) {
            if fast.is_some() {
                continue;
            }
            let profiles: HashSet<&str> = keys
                .iter()
                .filter_map(|k| stored.get(k).map(String::as_str))
                .collect();
            let all_stored = keys.iter().all(|k| stored.contains_key(k));
            let writes_profiles = match record {
                IngestRecord::Profile(_) => true,
                IngestRecord::Event(_) => !all_stored || profiles.len() != 1,
            };
            if writes_profiles {
                touched.extend(profiles);
            }
        }
        for fast in &mut plan {
            if matches!(fast, Some(Fast::Event { profile_id }) if touched.contains(profile_id.as_str()))
            {
                *fast = None;
            }
        }
        if self.backend == Backend::Postgres {
            let live = self.lock_event_profiles(txn, tenant, &plan).await?;
            for fast in &mut plan {
                if matches!(fast, Some(Fast::Event { profile_id }) if !live.contains(profile_id)) {
                    *fast = None;
                }
            }
        }
        let written = write_fast(txn, tenant, records, &plan).await;
        let mut pass = FastPass {
            done: Vec::new(),
            rest: Vec::new(),
        };
        if let Err(e) = written {
            tracing::debug!(error = %e, "set-based ingestion fell back to record by record");
            pass.rest = (0..records.len()).collect();
            return Ok(pass);
        }
        for (pos, ((index, _), fast)) in records.iter().zip(plan).enumerate() {
            let outcome = match fast {
                None => {
                    pass.rest.push(pos);
                    continue;
                }
                Some(Fast::Create(state)) => RecordOutcome {
                    profile_id: state.id,
                    status: RecordStatus::Created,
                },
                Some(Fast::Event { profile_id }) => RecordOutcome {
                    profile_id,
                    status: RecordStatus::Updated,
                },
            };
            pass.done.push(RecordResult {
                index: *index,
                outcome: Ok(outcome),
            });
        }
        Ok(pass)
    }

    /// Locks the profiles the planned events go to, in id order; returns those that exist.
    async fn lock_event_profiles(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        plan: &[Option<Fast>],
    ) -> Result<HashSet<String>, Error> {
        let ids: BTreeSet<&str> = plan
            .iter()
            .filter_map(|f| match f {
                Some(Fast::Event { profile_id }) => Some(profile_id.as_str()),
                _ => None,
            })
            .collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut live = HashSet::new();
        for chunk in power_of_two_chunks(&ids, LOOKUP_CHUNK) {
            let rows: Vec<String> = profile::Entity::find()
                .select_only()
                .column(profile::Column::Id)
                .filter(profile::Column::Org.eq(&tenant.org))
                .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
                .filter(profile::Column::Id.is_in(chunk.iter().copied()))
                .order_by_asc(profile::Column::Id)
                .lock_exclusive()
                .into_tuple()
                .all(txn)
                .await
                .map_err(db_error)?;
            live.extend(rows);
        }
        Ok(live)
    }
}

/// A new profile for a record whose identities are all new; `None` when the record is refused
/// (the per-record path then says why).
fn new_profile(rec: &ProfileRecord, now_ms: i64) -> Option<Fast> {
    let mut state = ProfileState::new(uuid::Uuid::new_v4().to_string(), now_ms);
    state.add_identities(&rec.identities);
    state.apply_fields(&rec.fields, rec.record_time_ms);
    state.update_time_ms = now_ms;
    state.check_identity_count().ok()?;
    Some(Fast::Create(Box::new(state)))
}

/// An event with a new, unrepeated `_id` whose identities are all stored on one profile.
fn known_event(
    rec: &EventRecord,
    keys: &[Key],
    stored: &HashMap<Key, String>,
    id_uses: &HashMap<&str, usize>,
    stored_events: &HashSet<String>,
) -> Option<Fast> {
    if id_uses.get(rec.event_id.as_str()) != Some(&1) || stored_events.contains(&rec.event_id) {
        return None;
    }
    let mut profile: Option<&String> = None;
    for k in keys {
        let p = stored.get(k)?;
        if profile.is_some_and(|q| q != p) {
            return None;
        }
        profile = Some(p);
    }
    profile.map(|p| Fast::Event {
        profile_id: p.clone(),
    })
}

/// The stored identities among `keys`, with their profiles: one query per namespace and chunk.
async fn stored_identities(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    keys: &BTreeSet<&Key>,
) -> Result<HashMap<Key, String>, Error> {
    let mut by_namespace: HashMap<&str, Vec<&str>> = HashMap::new();
    for (ns, id) in keys {
        by_namespace.entry(ns).or_default().push(id);
    }
    let mut out = HashMap::new();
    for (ns, ids) in by_namespace {
        for chunk in power_of_two_chunks(&ids, LOOKUP_CHUNK) {
            let rows: Vec<(String, String)> = identity::Entity::find()
                .select_only()
                .column(identity::Column::Identity)
                .column(identity::Column::ProfileId)
                .filter(identity::Column::Org.eq(&tenant.org))
                .filter(identity::Column::Sandbox.eq(&tenant.sandbox))
                .filter(identity::Column::Namespace.eq(ns))
                .filter(identity::Column::Identity.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(txn)
                .await
                .map_err(db_error)?;
            for (id, profile_id) in rows {
                out.insert((ns.to_owned(), id), profile_id);
            }
        }
    }
    Ok(out)
}

/// The event ids among `ids` already stored.
async fn stored_event_ids(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    ids: &[&str],
) -> Result<HashSet<String>, Error> {
    let mut out = HashSet::new();
    for chunk in power_of_two_chunks(ids, LOOKUP_CHUNK) {
        let rows: Vec<String> = event::Entity::find()
            .select_only()
            .column(event::Column::EventId)
            .filter(event::Column::Org.eq(&tenant.org))
            .filter(event::Column::Sandbox.eq(&tenant.sandbox))
            .filter(event::Column::EventId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await
            .map_err(db_error)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Writes the planned records in one savepoint (rolled back, with nothing kept, on any error).
async fn write_fast(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    records: &[(usize, IngestRecord)],
    plan: &[Option<Fast>],
) -> Result<(), Error> {
    let mut profiles = Vec::new();
    let mut identities = Vec::new();
    let mut events = Vec::new();
    for ((_, record), fast) in records.iter().zip(plan) {
        match (record, fast) {
            (IngestRecord::Profile(p), Some(Fast::Create(state))) => {
                profiles.push(profile_row(tenant, state)?);
                identities.extend(p.identities.iter().map(|e| identity::ActiveModel {
                    org: Set(tenant.org.clone()),
                    sandbox: Set(tenant.sandbox.clone()),
                    namespace: Set(e.identity.namespace.clone()),
                    identity: Set(e.identity.id.clone()),
                    profile_id: Set(state.id.clone()),
                }));
            }
            (IngestRecord::Event(e), Some(Fast::Event { profile_id })) => {
                let document = serde_json::to_string(&e.document)
                    .map_err(|err| Error::internal(format!("cannot encode event: {err}")))?;
                events.push(event::ActiveModel {
                    org: Set(tenant.org.clone()),
                    sandbox: Set(tenant.sandbox.clone()),
                    event_id: Set(e.event_id.clone()),
                    profile_id: Set(profile_id.clone()),
                    timestamp_ms: Set(e.timestamp_ms),
                    event_type: Set(e.event_type.clone()),
                    document: Set(document),
                });
            }
            _ => {}
        }
    }
    if profiles.is_empty() && events.is_empty() {
        return Ok(());
    }
    let sp = txn.begin().await.map_err(db_error)?;
    let result = insert_rows(&sp, profiles, identities, events).await;
    match result {
        Ok(()) => sp.commit().await.map_err(db_error),
        Err(e) => {
            sp.rollback().await.map_err(db_error)?;
            Err(e)
        }
    }
}

async fn insert_rows<C: ConnectionTrait>(
    conn: &C,
    profiles: Vec<profile::ActiveModel>,
    identities: Vec<identity::ActiveModel>,
    events: Vec<event::ActiveModel>,
) -> Result<(), Error> {
    for chunk in power_of_two_chunks(&profiles, PROFILE_INSERT_CHUNK) {
        profile::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    for chunk in power_of_two_chunks(&identities, ROW_INSERT_CHUNK) {
        identity::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    for chunk in power_of_two_chunks(&events, ROW_INSERT_CHUNK) {
        event::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}
