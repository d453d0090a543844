//! The profile service: ingestion of profile records and experience events, profile reads and
//! deletes, and segment member listings.
//!
//! A batch is validated record by record here (pure rules in [`ingest`](crate::domain::ingest));
//! the valid records then go to the store in one transaction where each is written atomically.
//! The caller gets one [`RecordResult`] per record, in order.

use tracing::instrument;

use crate::context::RequestContext;
use crate::domain::Clock;
use crate::domain::ingest::{IngestRecord, parse_event_record, parse_profile_record};
use crate::domain::membership::{MemberListQuery, SegmentMember, effective_statuses};
use crate::domain::page::{self, Page};
use crate::domain::profile::{
    MAX_BATCH_RECORDS, Profile, ProfileListQuery, ProfileLookup, RecordResult,
};
use crate::error::Error;
use crate::store::Store;

const PROFILES_SCOPE: &str = "profiles";

/// Profiles, events and members of one store.
#[derive(Debug, Clone)]
pub struct ProfileService {
    store: Store,
    clock: Clock,
}

impl ProfileService {
    pub fn new(store: Store) -> ProfileService {
        ProfileService::with_clock(store, Clock::System)
    }

    pub fn with_clock(store: Store, clock: Clock) -> ProfileService {
        ProfileService { store, clock }
    }

    /// Upserts XDM profile records (JSON text each). Err only for a batch that is empty or larger
    /// than [`MAX_BATCH_RECORDS`]; per-record outcomes otherwise.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox, records = records.len()))]
    pub async fn upsert_profiles(
        &self,
        ctx: &RequestContext,
        records: Vec<String>,
    ) -> Result<Vec<RecordResult>, Error> {
        check_batch_size(records.len())?;
        let now = self.clock.now_ms();
        self.ingest(ctx, records, |text| {
            parse_profile_record(text, now).map(IngestRecord::Profile)
        })
        .await
    }

    /// Ingests experience events (JSON text each); a repeated `_id` is reported as a duplicate
    /// and not written again.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox, records = records.len()))]
    pub async fn ingest_events(
        &self,
        ctx: &RequestContext,
        records: Vec<String>,
    ) -> Result<Vec<RecordResult>, Error> {
        check_batch_size(records.len())?;
        self.ingest(ctx, records, |text| {
            parse_event_record(text).map(IngestRecord::Event)
        })
        .await
    }

    async fn ingest(
        &self,
        ctx: &RequestContext,
        records: Vec<String>,
        parse: impl Fn(&str) -> Result<IngestRecord, Error>,
    ) -> Result<Vec<RecordResult>, Error> {
        let mut results: Vec<RecordResult> = Vec::with_capacity(records.len());
        let mut valid = Vec::with_capacity(records.len());
        for (index, text) in records.iter().enumerate() {
            match parse(text) {
                Ok(r) => valid.push((index, r)),
                Err(e) => results.push(RecordResult {
                    index,
                    outcome: Err(e),
                }),
            }
        }
        if !valid.is_empty() {
            let now = self.clock.now_ms();
            results.extend(self.store.ingest_records(&ctx.tenant, valid, now).await?);
        }
        results.sort_by_key(|r| r.index);
        Ok(results)
    }

    /// One profile with its identities, event count and memberships.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn get_profile(
        &self,
        ctx: &RequestContext,
        lookup: &ProfileLookup,
    ) -> Result<Profile, Error> {
        check_lookup(lookup)?;
        self.store.get_profile(&ctx.tenant, lookup).await
    }

    /// Deletes a profile with its identities, events and memberships; returns its id.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn delete_profile(
        &self,
        ctx: &RequestContext,
        lookup: &ProfileLookup,
    ) -> Result<String, Error> {
        check_lookup(lookup)?;
        self.store.delete_profile(&ctx.tenant, lookup).await
    }

    /// A page of profiles in id order.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn list_profiles(
        &self,
        ctx: &RequestContext,
        query: ProfileListQuery,
    ) -> Result<Page<Profile>, Error> {
        let limit = page::effective_limit(query.limit)?;
        let after = match &query.page_token {
            Some(t) => Some(page::decode_token(PROFILES_SCOPE, t)?),
            None => None,
        };
        let (mut items, total) = self
            .store
            .list_profiles(&ctx.tenant, after.as_deref(), u64::from(limit) + 1)
            .await?;
        let next_page_token = next_token(PROFILES_SCOPE, &mut items, limit, |p| &p.id);
        Ok(Page {
            items,
            total_count: total,
            limit,
            start: None,
            next_start: None,
            next_page_token,
        })
    }

    /// Members of one segment by status (no statuses: the current members), in profile id
    /// order. An unknown segment is `NotFound`.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn list_segment_members(
        &self,
        ctx: &RequestContext,
        query: MemberListQuery,
    ) -> Result<Page<SegmentMember>, Error> {
        let limit = page::effective_limit(query.limit)?;
        // Existence check first: a segment of another tenant must look exactly like none.
        self.store
            .get_definition(&ctx.tenant, &query.segment_id)
            .await?;
        let statuses = effective_statuses(&query.statuses);
        let scope = member_scope(&query.segment_id, &statuses);
        let after = match &query.page_token {
            Some(t) => Some(page::decode_token(&scope, t)?),
            None => None,
        };
        let (mut items, total) = self
            .store
            .list_segment_members(
                &ctx.tenant,
                &query.segment_id,
                &statuses,
                after.as_deref(),
                u64::from(limit) + 1,
            )
            .await?;
        let next_page_token = next_token(&scope, &mut items, limit, |m| &m.profile_id);
        Ok(Page {
            items,
            total_count: total,
            limit,
            start: None,
            next_start: None,
            next_page_token,
        })
    }
}

fn check_batch_size(n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::invalid(
            "records",
            "a batch needs at least one record",
        ));
    }
    if n > MAX_BATCH_RECORDS {
        return Err(Error::invalid(
            "records",
            format!("{n} records; at most {MAX_BATCH_RECORDS} per batch"),
        ));
    }
    Ok(())
}

fn check_lookup(lookup: &ProfileLookup) -> Result<(), Error> {
    match lookup {
        ProfileLookup::Id(id) if id.trim().is_empty() => {
            Err(Error::invalid("profile_id", "must not be empty"))
        }
        ProfileLookup::Identity(i) if i.namespace.trim().is_empty() || i.id.trim().is_empty() => {
            Err(Error::invalid(
                "identity",
                "namespace and id must both be non-empty",
            ))
        }
        ProfileLookup::Id(_) | ProfileLookup::Identity(_) => Ok(()),
    }
}

fn member_scope(segment_id: &str, statuses: &[crate::pql::MembershipStatus]) -> String {
    let s: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    format!("members/{segment_id}/{}", s.join(","))
}

/// `items` was read with one item more than `limit`: if that extra item is there, drops it and
/// returns the token of the next page (keyed by the last kept item).
fn next_token<T>(
    scope: &str,
    items: &mut Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> &str,
) -> Option<String> {
    let limit = limit as usize;
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items
        .last()
        .map(|last| page::encode_token(scope, key(last)))
}
