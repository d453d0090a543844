//! What one evaluation runs against: a profile decoded once, its events, its current segment
//! memberships and the instant `now` (always passed in; the engine never reads the clock).
//!
//! [`ProfileRecord`] is the portable form of one such profile used by `segmentation pql eval`,
//! the golden tests and benchmarks: `{"id", "profile", "events", "memberships"}`.

use std::collections::HashMap;

use crate::pql::value::Value;

/// A profile's status in one segment, as AEP records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembershipStatus {
    /// Entered the segment in the latest evaluation.
    Realized,
    /// Was in the segment and still is.
    Existing,
    /// Left the segment in the latest evaluation.
    Exited,
}

impl MembershipStatus {
    pub fn parse(s: &str) -> Option<MembershipStatus> {
        match s {
            "realized" => Some(MembershipStatus::Realized),
            "existing" => Some(MembershipStatus::Existing),
            "exited" => Some(MembershipStatus::Exited),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Realized => "realized",
            MembershipStatus::Existing => "existing",
            MembershipStatus::Exited => "exited",
        }
    }

    /// `inSegment` is true for current members only (D3.11).
    pub fn is_member(self) -> bool {
        matches!(
            self,
            MembershipStatus::Realized | MembershipStatus::Existing
        )
    }
}

/// Answers `inSegment(id)` for one profile. A segment job supplies its own implementation so
/// that segments evaluated earlier in the same job are seen with this job's result (D3.11).
pub trait Memberships {
    fn is_member(&self, segment_id: &str) -> bool;
}

impl Memberships for HashMap<String, MembershipStatus> {
    fn is_member(&self, segment_id: &str) -> bool {
        self.get(segment_id).is_some_and(|s| s.is_member())
    }
}

/// A profile that belongs to no segment.
pub struct NoMemberships;

impl Memberships for NoMemberships {
    fn is_member(&self, _segment_id: &str) -> bool {
        false
    }
}

/// Everything one evaluation of a compiled expression reads.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// The merged profile document (an object).
    pub profile: &'a Value,
    /// The profile's experience events (`xEvent`): an array of objects.
    pub events: &'a Value,
    pub memberships: &'a dyn Memberships,
    /// The evaluation instant in epoch milliseconds (UTC), fixed for a whole job.
    pub now: i64,
}

/// One profile as the CLI and tests carry it.
#[derive(Debug, Clone)]
pub struct ProfileRecord {
    pub id: String,
    pub profile: Value,
    pub events: Value,
    pub memberships: HashMap<String, MembershipStatus>,
}

impl ProfileRecord {
    /// Reads `{"id": "...", "profile": {...}, "events": [...], "memberships": {"seg": "realized"}}`.
    /// `events` and `memberships` may be omitted.
    pub fn from_json(json: &serde_json::Value) -> Result<ProfileRecord, String> {
        ProfileRecord::from_value(&Value::from_json(json))
    }

    /// [`ProfileRecord::from_json`] for a record already decoded into a [`Value`] (the profile
    /// and events are shared, not copied).
    pub fn from_value(record: &Value) -> Result<ProfileRecord, String> {
        let Value::Object(obj) = record else {
            return Err("a profile record must be a JSON object".to_string());
        };
        let id = match obj.get("id") {
            Some(Value::Str(s)) => s.to_string(),
            Some(n @ (Value::Int(_) | Value::Float(_))) => n.to_json().to_string(),
            _ => return Err("a profile record needs a string \"id\"".to_string()),
        };
        let profile = match obj.get("profile") {
            Some(p @ Value::Object(_)) => p.clone(),
            None | Some(Value::Null) => Value::object(Default::default()),
            Some(_) => {
                return Err(format!(
                    "profile record {id}: \"profile\" must be an object"
                ));
            }
        };
        let events = match obj.get("events") {
            Some(e @ Value::Array(_)) => e.clone(),
            None | Some(Value::Null) => Value::array(Vec::new()),
            Some(_) => return Err(format!("profile record {id}: \"events\" must be an array")),
        };
        let mut memberships = HashMap::new();
        match obj.get("memberships") {
            Some(Value::Object(m)) => {
                for (seg, status) in m {
                    let status = status
                        .as_str()
                        .and_then(MembershipStatus::parse)
                        .ok_or_else(|| {
                            format!(
                                "profile record {id}: membership of {seg} must be \"realized\", \"existing\" or \"exited\""
                            )
                        })?;
                    memberships.insert(seg.to_string(), status);
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => {
                return Err(format!(
                    "profile record {id}: \"memberships\" must be an object"
                ));
            }
        }
        Ok(ProfileRecord {
            id,
            profile,
            events,
            memberships,
        })
    }

    /// Reads a whole file: a JSON array of records, or one record per line (JSON lines). The
    /// text is decoded straight into [`Value`]s.
    pub fn parse_many(text: &str) -> Result<Vec<ProfileRecord>, String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            let all = Value::from_json_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
            let items = all.as_array().unwrap_or_default();
            return items
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ProfileRecord::from_value(r).map_err(|e| format!("record {}: {e}", i + 1))
                })
                .collect();
        }
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| {
                let record = Value::from_json_str(line)
                    .map_err(|e| format!("line {}: invalid JSON: {e}", i + 1))?;
                ProfileRecord::from_value(&record).map_err(|e| format!("line {}: {e}", i + 1))
            })
            .collect()
    }

    pub fn context(&self, now: i64) -> EvalContext<'_> {
        EvalContext {
            profile: &self.profile,
            events: &self.events,
            memberships: &self.memberships,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_lines_and_arrays() {
        let lines = "{\"id\":\"a\",\"profile\":{\"x\":1}}\n\n{\"id\":\"b\",\"memberships\":{\"s1\":\"exited\"}}\n";
        let recs = ProfileRecord::parse_many(lines).unwrap();
        assert_eq!(recs.len(), 2);
        assert!(!recs[1].memberships.is_member("s1"));
        let arr = "[{\"id\":\"a\",\"events\":[{\"timestamp\":\"2024-01-01\"}]}]";
        let recs = ProfileRecord::parse_many(arr).unwrap();
        assert_eq!(recs[0].events.as_array().unwrap().len(), 1);
    }

    #[test]
    fn bad_records_name_their_line() {
        let err = ProfileRecord::parse_many("{\"id\":\"a\"}\n{\"profile\":{}}\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
