//! Segment membership: who is in which segment, as the latest successful segment job recorded it.
//!
//! Memberships are written only by segment jobs ([`MembershipWrite`] through the store's
//! `replace_memberships`, atomically per set of segments) and read here: a profile's memberships
//! come with the profile, and a segment's members are listed in keyset pages by status.

use crate::pql::MembershipStatus;

pub use crate::domain::profile::Membership;

/// One membership row a segment job writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipWrite {
    pub profile_id: String,
    pub segment_id: String,
    pub status: MembershipStatus,
    pub last_qualification_time_ms: i64,
    /// The definition version evaluated.
    pub version: i64,
}

/// One member of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMember {
    pub profile_id: String,
    pub membership: Membership,
}

/// A member list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberListQuery {
    pub segment_id: String,
    /// Statuses to include; empty means the current members (`realized` and `existing`), as AEP
    /// exports default to.
    pub statuses: Vec<MembershipStatus>,
    pub page_token: Option<String>,
    /// `None` means 100, at most 1000.
    pub limit: Option<u32>,
}

/// The statuses a member query selects: the given ones, or the current members.
pub fn effective_statuses(statuses: &[MembershipStatus]) -> Vec<MembershipStatus> {
    if statuses.is_empty() {
        vec![MembershipStatus::Realized, MembershipStatus::Existing]
    } else {
        let mut s = statuses.to_vec();
        s.sort_by_key(|s| s.as_str());
        s.dedup();
        s
    }
}
