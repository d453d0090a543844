//! Reads back what a benchmark job wrote: each definition's members, named by the generator's
//! profile `_id`, so they can be compared with DuckDB's answer for the same audience.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use segmentation::context::RequestContext;
use segmentation::domain::{DefinitionService, ProfileListQuery, ProfileService, SegmentJob};
use segmentation::pql::MembershipStatus;
use segmentation::store::Store;

/// Segment id -> definition name, for the job's segments.
pub async fn segment_names(
    store: &Store,
    ctx: &RequestContext,
    job: &SegmentJob,
) -> Result<BTreeMap<String, String>, String> {
    let definitions = DefinitionService::new(store.clone());
    let mut names = BTreeMap::new();
    for s in &job.segments {
        let d = definitions
            .get(ctx, &s.segment_id)
            .await
            .map_err(|e| format!("definition {}: {e}", s.segment_id))?;
        names.insert(s.segment_id.clone(), d.name);
    }
    Ok(names)
}

/// Writes `{"<definition name>": [sorted profile _ids], ...}` to `path`, for the segments in
/// `names`: every profile is listed (through the service's profile listing, as an export would),
/// and a current membership (`realized` or `existing`) makes it a member.
pub async fn write(
    store: &Store,
    ctx: &RequestContext,
    names: &BTreeMap<String, String>,
    path: &Path,
) -> Result<(), String> {
    let profiles = ProfileService::new(store.clone());
    let mut members: BTreeMap<&str, BTreeSet<String>> = names
        .values()
        .map(|n| (n.as_str(), BTreeSet::new()))
        .collect();
    let mut token = None;
    loop {
        let page = profiles
            .list_profiles(
                ctx,
                ProfileListQuery {
                    page_token: token,
                    limit: Some(1000),
                },
            )
            .await
            .map_err(|e| format!("listing profiles: {e}"))?;
        for p in &page.items {
            let id = p
                .document
                .get("_id")
                .and_then(|v| v.as_str())
                .unwrap_or(&p.id);
            for m in &p.memberships {
                let current = matches!(
                    m.status,
                    MembershipStatus::Realized | MembershipStatus::Existing
                );
                if current
                    && let Some(name) = names.get(&m.segment_id)
                    && let Some(set) = members.get_mut(name.as_str())
                {
                    set.insert(id.to_owned());
                }
            }
        }
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let text = serde_json::to_string(&members).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
