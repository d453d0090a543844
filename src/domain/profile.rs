//! Profiles, their identities and experience events, and the per-record results of ingestion.
//!
//! A profile is one merged XDM document (`_xdm.context.profile`) reachable through any of its
//! identities (`identityMap` entries, API spec §3.5). Records arrive in batches as JSON text; each
//! record is accepted or refused on its own ([`RecordResult`]), and a refused record writes nothing.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::pql::MembershipStatus;

/// Largest profile record, in bytes of its JSON text (API spec §3.7: 100 KB hard).
pub const MAX_PROFILE_BYTES: usize = 100 * 1024;
/// Largest experience event, in bytes of its JSON text (API spec §3.7: 10 KB hard).
pub const MAX_EVENT_BYTES: usize = 10 * 1024;
/// Most identities one record may carry, and one profile may gather (API spec §3.5).
pub const MAX_IDENTITIES: usize = 50;
/// Most records in one batch call (a client stream is cut into batches of this size).
pub const MAX_BATCH_RECORDS: usize = 1000;
/// Longest identity namespace and identity value, in bytes.
pub const MAX_IDENTITY_BYTES: usize = 1024;

/// One identity of a profile: an `identityMap` namespace code and the id in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// Namespace code, e.g. `ECID`, `Email`, `CRMID`.
    pub namespace: String,
    pub id: String,
}

impl Identity {
    pub fn new(namespace: impl Into<String>, id: impl Into<String>) -> Identity {
        Identity {
            namespace: namespace.into(),
            id: id.into(),
        }
    }
}

/// A profile's status in one segment, written by segment jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub segment_id: String,
    pub status: MembershipStatus,
    /// When entry or exit was asserted, epoch milliseconds.
    pub last_qualification_time_ms: i64,
    /// The definition version the profile qualified against.
    pub version: i64,
}

/// A profile as returned by `get_profile` and `list_profiles`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// UUID v4, assigned when the profile is first created.
    pub id: String,
    /// The merged XDM document (an object), with `identityMap` listing every identity.
    pub document: Map<String, Value>,
    /// Sorted by namespace, then id.
    pub identities: Vec<Identity>,
    pub event_count: u64,
    /// Sorted by segment id.
    pub memberships: Vec<Membership>,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

/// A stored experience event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperienceEvent {
    /// The event's `_id`, unique in its tenant.
    pub id: String,
    pub profile_id: String,
    /// `timestamp`, epoch milliseconds.
    pub timestamp_ms: i64,
    pub event_type: Option<String>,
    /// The whole event as ingested.
    pub document: Map<String, Value>,
}

/// How to find a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileLookup {
    Id(String),
    Identity(Identity),
}

/// What happened to one accepted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// A new profile was created (for an event: the event was stored and its identities named
    /// no known profile).
    Created,
    /// An existing profile was updated (for an event: stored on an existing profile).
    Updated,
    /// An event whose `_id` was already stored; nothing was written.
    Duplicate,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Created => "created",
            RecordStatus::Updated => "updated",
            RecordStatus::Duplicate => "duplicate",
        }
    }
}

/// An accepted record: the profile it landed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    pub profile_id: String,
    pub status: RecordStatus,
}

/// The result of one record of a batch, by its 0-based position in the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordResult {
    pub index: usize,
    pub outcome: Result<RecordOutcome, Error>,
}

/// A profile list request: keyset paging by profile id via an opaque token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileListQuery {
    pub page_token: Option<String>,
    /// `None` means 100, at most 1000.
    pub limit: Option<u32>,
}
