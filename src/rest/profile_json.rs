//! Profiles, ingestion results and member pages in JSON.
//!
//! AEP's Profile API is a different service with its own shapes; these paths exist so people with
//! curl can load data and look at results, so the shapes are ours, in AEP's style: memberships
//! as the XDM `segmentMembership` map (API spec §3.4: `{"ups": {segmentId: {status,
//! lastQualificationTime, version}}}`, times in RFC 3339, version a string as XDM types it), and
//! lists in envelope B (`_page`, `children`, `_links.next`, API spec §2.11).

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value, json};

use super::definition_json::PROFILE_INSTANCE_ID;
use super::error::item_errors;
use crate::domain::{Membership, Page, Profile, RecordResult, RecordStatus, SegmentMember};

/// Epoch milliseconds as RFC 3339 UTC (`2026-01-02T03:04:05.006Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

fn membership_entry(m: &Membership) -> Value {
    json!({
        "status": m.status.as_str(),
        "lastQualificationTime": rfc3339(m.last_qualification_time_ms),
        "version": m.version.to_string(),
    })
}

/// XDM `segmentMembership`: `{"ups": {segmentId: {...}}}`.
pub fn segment_membership_json(memberships: &[Membership]) -> Value {
    let by_segment: Map<String, Value> = memberships
        .iter()
        .map(|m| (m.segment_id.clone(), membership_entry(m)))
        .collect();
    json!({ PROFILE_INSTANCE_ID: by_segment })
}

/// One profile: its id, identities, merged document (`entity`), memberships and counts.
pub fn profile_json(p: &Profile) -> Value {
    json!({
        "profileId": p.id,
        "identities": p.identities.iter()
            .map(|i| json!({"namespace": i.namespace, "id": i.id}))
            .collect::<Vec<_>>(),
        "entity": p.document,
        "segmentMembership": segment_membership_json(&p.memberships),
        "eventCount": p.event_count,
        "creationTime": p.creation_time_ms,
        "updateTime": p.update_time_ms,
    })
}

/// Envelope B around already-rendered children. `_links.next` is `{}` on the last page.
pub fn page_envelope<T>(page: &Page<T>, children: Vec<Value>, next_href: Option<String>) -> Value {
    let mut page_json = Map::new();
    page_json.insert("totalCount".into(), page.total_count.into());
    page_json.insert("pageSize".into(), children.len().into());
    page_json.insert("limit".into(), page.limit.into());
    if let Some(token) = &page.next_page_token {
        page_json.insert("next".into(), token.clone().into());
    }
    let next = match next_href {
        Some(href) => json!({"href": href}),
        None => json!({}),
    };
    json!({"_page": page_json, "children": children, "_links": {"next": next}})
}

pub fn member_json(m: &SegmentMember) -> Value {
    let mut entry = membership_entry(&m.membership);
    if let Value::Object(map) = &mut entry {
        map.insert("profileId".into(), m.profile_id.clone().into());
        map.insert("segmentId".into(), m.membership.segment_id.clone().into());
    }
    entry
}

/// The answer of an ingestion batch: one result per record, in order, and the counts.
pub fn records_json(results: &[RecordResult], request_id: &str) -> Value {
    let (mut created, mut updated, mut duplicate, mut failed) = (0u64, 0u64, 0u64, 0u64);
    let entries: Vec<Value> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(outcome) => {
                match outcome.status {
                    RecordStatus::Created => created += 1,
                    RecordStatus::Updated => updated += 1,
                    RecordStatus::Duplicate => duplicate += 1,
                }
                json!({"index": r.index, "status": outcome.status.as_str(),
                       "profileId": outcome.profile_id})
            }
            Err(e) => {
                failed += 1;
                json!({"index": r.index, "status": "failed", "requestId": request_id,
                       "errors": item_errors(e)})
            }
        })
        .collect();
    json!({
        "results": entries,
        "summary": {"created": created, "updated": updated, "duplicate": duplicate,
                    "failed": failed},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pql::MembershipStatus;

    #[test]
    fn memberships_follow_xdm() {
        let m = Membership {
            segment_id: "s1".into(),
            status: MembershipStatus::Exited,
            last_qualification_time_ms: 1_700_000_000_123,
            version: 3,
        };
        assert_eq!(
            segment_membership_json(&[m]),
            json!({"ups": {"s1": {"status": "exited",
                "lastQualificationTime": "2023-11-14T22:13:20.123Z", "version": "3"}}})
        );
    }
}
