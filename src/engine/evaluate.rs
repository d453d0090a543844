//! Evaluating one page of profiles: each profile is decoded once (document and events) and
//! every definition of the job runs against it, in plan order, so `inSegment` of a job segment
//! reads this job's result for the profile. The page is split into one chunk per worker thread;
//! threads share the compiled plan (programs are `Send + Sync`) and return their findings in
//! page order.
//!
//! This is CPU work: the engine runs it on a blocking thread, never on the async runtime.

use std::collections::HashMap;

use crate::domain::job::JobError;
use crate::pql::{EvalContext, Memberships, Value};
use crate::store::{NAMESPACE_SEPARATOR, RawProfile, StagedRow};

use super::plan::Plan;

/// What one page yielded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Every profile that qualified, per segment, in page order.
    pub qualified: Vec<StagedRow>,
    /// Profiles evaluated.
    pub profiles: u64,
}

/// `inSegment` for one profile during a job: segments of the job answer from the results
/// already decided for this profile (plan order guarantees they are); other segments from the
/// profile's stored memberships.
struct ProfileMemberships<'a> {
    index: &'a HashMap<String, usize>,
    decided: &'a [bool],
    stored: &'a [String],
}

impl Memberships for ProfileMemberships<'_> {
    fn is_member(&self, segment_id: &str) -> bool {
        match self.index.get(segment_id) {
            Some(&i) => self.decided.get(i).copied().unwrap_or(false),
            None => self.stored.iter().any(|s| s == segment_id),
        }
    }
}

/// Decodes stored JSON text straight into the engine's value model (no `serde_json::Value` in
/// between: each node is allocated once).
fn decode(text: &str) -> Result<Value, String> {
    Value::from_json_str(text)
}

/// Decodes a profile document, and names its identity namespaces (the keys of its
/// `identityMap`, which lists every identity of the profile), sorted and joined for staging.
fn decode_profile(text: &str) -> Result<(Value, String), String> {
    let profile = decode(text)?;
    let mut namespaces: Vec<&str> = match profile.field("identityMap") {
        Value::Object(map) => map.keys().map(|k| &**k).collect(),
        _ => Vec::new(),
    };
    namespaces.sort_unstable();
    let joined = namespaces.join(&NAMESPACE_SEPARATOR.to_string());
    Ok((profile, joined))
}

fn unreadable(profile_id: &str, what: &str, why: String) -> JobError {
    JobError::new(
        "stored_data_unreadable",
        format!(
            "the stored {what} of profile {profile_id} is not valid JSON ({why}); delete and \
             re-ingest that profile, then create a new job"
        ),
    )
}

/// Evaluates every definition of `plan` for one profile, appending its qualifications.
fn evaluate_profile(
    plan: &Plan,
    raw: &RawProfile,
    stored: &[String],
    now: i64,
    decided: &mut Vec<bool>,
    out: &mut Vec<StagedRow>,
) -> Result<(), JobError> {
    let (profile, namespaces) =
        decode_profile(&raw.document).map_err(|e| unreadable(&raw.profile_id, "document", e))?;
    let events = if plan.needs_events {
        let decoded = raw
            .events
            .iter()
            .map(|e| decode(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unreadable(&raw.profile_id, "events", e))?;
        Value::array(decoded)
    } else {
        Value::array(Vec::new())
    };
    decided.clear();
    for segment in &plan.segments {
        let memberships = ProfileMemberships {
            index: &plan.index,
            decided,
            stored,
        };
        let ctx = EvalContext {
            profile: &profile,
            events: &events,
            memberships: &memberships,
            now,
        };
        let hit = segment.program.matches(&ctx);
        decided.push(hit);
        if hit {
            out.push(StagedRow {
                segment_id: segment.segment_id.clone(),
                profile_id: raw.profile_id.clone(),
                namespaces: namespaces.clone(),
            });
        }
    }
    Ok(())
}

fn evaluate_chunk(
    plan: &Plan,
    chunk: &[RawProfile],
    stored: &HashMap<String, Vec<String>>,
    now: i64,
) -> Result<Vec<StagedRow>, JobError> {
    let mut out = Vec::new();
    let mut decided = Vec::with_capacity(plan.segments.len());
    for raw in chunk {
        let members = stored.get(&raw.profile_id).map_or(&[][..], Vec::as_slice);
        evaluate_profile(plan, raw, members, now, &mut decided, &mut out)?;
    }
    Ok(out)
}

/// Evaluates a page on up to `threads` threads. `stored` holds, per profile, the external
/// segments it is a member of.
pub fn evaluate_page(
    plan: &Plan,
    page: &[RawProfile],
    stored: &HashMap<String, Vec<String>>,
    now: i64,
    threads: usize,
) -> Result<PageOutcome, JobError> {
    let threads = threads.clamp(1, page.len().max(1));
    let chunk_size = page.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<StagedRow>, JobError>> = if threads == 1 {
        vec![evaluate_chunk(plan, page, stored, now)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = page
                .chunks(chunk_size)
                .map(|chunk| scope.spawn(move || evaluate_chunk(plan, chunk, stored, now)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(JobError::new(
                            "evaluation_panicked",
                            "evaluating a profile crashed the evaluator (a bug); the service \
                             log has the details",
                        ))
                    })
                })
                .collect()
        })
    };
    let mut outcome = PageOutcome {
        qualified: Vec::new(),
        profiles: page.len() as u64,
    };
    for r in results {
        outcome.qualified.extend(r?);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::job::JobSegment;

    fn seg(id: &str, expr: &str) -> JobSegment {
        JobSegment {
            segment_id: id.into(),
            version: 1,
            expression: expr.into(),
            merge_policy_id: None,
        }
    }

    fn raw(id: &str, doc: &str, events: &[&str]) -> RawProfile {
        RawProfile {
            profile_id: id.into(),
            document: doc.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn page() -> Vec<RawProfile> {
        (0..50)
            .map(|i| {
                let events: Vec<String> = (0..i % 4)
                    .map(|k| {
                        format!(
                            r#"{{"_id": "e{i}-{k}", "timestamp": "2024-01-0{}T00:00:00Z"}}"#,
                            k + 1
                        )
                    })
                    .collect();
                let refs: Vec<&str> = events.iter().map(String::as_str).collect();
                raw(&format!("p{i:02}"), &format!(r#"{{"n": {i}}}"#), &refs)
            })
            .collect()
    }

    #[test]
    fn job_segments_read_this_jobs_results_and_externals_read_stored_ones() {
        let plan = Plan::build(&[
            seg("both", r#"inSegment("big") and inSegment("ext")"#),
            seg("big", "n >= 40"),
            seg("busy", "xEvent.count() >= 3"),
        ])
        .unwrap();
        let page = page();
        let mut stored = HashMap::new();
        for p in ["p41", "p10"] {
            stored.insert(p.to_string(), vec!["ext".to_string()]);
        }
        let one = evaluate_page(&plan, &page, &stored, 0, 1).unwrap();
        let many = evaluate_page(&plan, &page, &stored, 0, 4).unwrap();
        assert_eq!(one, many, "threads do not change the result or its order");
        assert_eq!(one.profiles, 50);
        let of = |s: &str| -> Vec<&str> {
            one.qualified
                .iter()
                .filter(|r| r.segment_id == s)
                .map(|r| r.profile_id.as_str())
                .collect()
        };
        assert_eq!(of("both"), vec!["p41"]);
        assert_eq!(of("big").len(), 10);
        assert_eq!(of("busy").len(), 12, "i % 4 == 3 has three events");
    }

    #[test]
    fn unreadable_documents_name_the_profile() {
        let plan = Plan::build(&[seg("a", "true")]).unwrap();
        let err =
            evaluate_page(&plan, &[raw("p1", "{oops", &[])], &HashMap::new(), 0, 2).unwrap_err();
        assert_eq!(err.code, "stored_data_unreadable");
        assert!(err.message.contains("p1"), "{}", err.message);
    }
}
