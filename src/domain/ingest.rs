//! Ingestion rules: what makes a profile or event record acceptable, and how a record merges into
//! the profile its identities name.
//!
//! Validation turns JSON text into a [`ProfileRecord`] or [`EventRecord`] or refuses it with an
//! `InvalidArgument` naming the field. Merging is [`ProfileState`]: the stored document split into
//! its fields (each with the time it was last written) and its identities.
//!
//! # Merge rule: newer wins per top-level field
//!
//! XDM profiles group attributes in top-level objects (`person`, `homeAddress`, `loyalty`) that
//! sources write whole, so the unit of "newer wins" is the top-level field: merging a per-leaf
//! way would mix half of an old address with half of a new one. A record's time is its
//! `_repo.modifyDate` (RFC 3339) when present, else the ingestion time; an incoming field replaces
//! the stored one when the record's time is not older than the field's, and fields the record
//! does not carry are kept. `identityMap` is not a field: it is the union of every identity.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::profile::{
    Identity, MAX_EVENT_BYTES, MAX_IDENTITIES, MAX_IDENTITY_BYTES, MAX_PROFILE_BYTES,
};
use crate::error::Error;
use crate::pql::time::parse_timestamp;

/// The deepest nesting of objects and arrays a record may have (XDM documents stay far below).
pub const MAX_RECORD_NESTING: usize = 64;

/// The XDM field that holds identities.
pub const IDENTITY_MAP: &str = "identityMap";
/// The system-owned field ingestion may never write.
pub const SEGMENT_MEMBERSHIP: &str = "segmentMembership";

/// One identity of a record with its `identityMap` entry (`{id, authenticatedState, primary}`).
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityEntry {
    pub identity: Identity,
    pub entry: Value,
}

/// A valid profile record.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRecord {
    pub identities: Vec<IdentityEntry>,
    /// Every top-level field but `identityMap`.
    pub fields: Map<String, Value>,
    /// `_repo.modifyDate`, or the ingestion time.
    pub record_time_ms: i64,
}

/// A valid experience event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub event_id: String,
    pub timestamp_ms: i64,
    pub event_type: Option<String>,
    pub identities: Vec<IdentityEntry>,
    /// The whole event as sent.
    pub document: Map<String, Value>,
}

/// A validated record waiting to be written.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestRecord {
    Profile(ProfileRecord),
    Event(EventRecord),
}

/// Parses and checks one profile record; `now_ms` is its time when it carries no
/// `_repo.modifyDate`.
pub fn parse_profile_record(text: &str, now_ms: i64) -> Result<ProfileRecord, Error> {
    let mut doc = parse_object(text, MAX_PROFILE_BYTES, "profile")?;
    let identities = parse_identity_map(&doc)?;
    doc.remove(IDENTITY_MAP);
    let record_time_ms = match doc.get("_repo").and_then(|r| r.get("modifyDate")) {
        None | Some(Value::Null) => now_ms,
        Some(Value::String(s)) => parse_timestamp(s).ok_or_else(|| {
            Error::invalid(
                "_repo.modifyDate",
                format!("'{s}' is not an RFC 3339 timestamp"),
            )
        })?,
        Some(_) => {
            return Err(Error::invalid(
                "_repo.modifyDate",
                "must be an RFC 3339 timestamp string",
            ));
        }
    };
    Ok(ProfileRecord {
        identities,
        fields: doc,
        record_time_ms,
    })
}

/// Parses and checks one experience event.
pub fn parse_event_record(text: &str) -> Result<EventRecord, Error> {
    let doc = parse_object(text, MAX_EVENT_BYTES, "event")?;
    let event_id = match doc.get("_id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= MAX_IDENTITY_BYTES => {
            s.clone()
        }
        Some(Value::String(s)) if !s.trim().is_empty() => {
            return Err(Error::invalid(
                "_id",
                format!("longer than {MAX_IDENTITY_BYTES} bytes"),
            ));
        }
        _ => return Err(Error::invalid("_id", "required: a non-empty string")),
    };
    let timestamp_ms = match doc.get("timestamp") {
        Some(Value::String(s)) => parse_timestamp(s).ok_or_else(|| {
            Error::invalid("timestamp", format!("'{s}' is not an RFC 3339 timestamp"))
        })?,
        Some(_) => return Err(Error::invalid("timestamp", "must be an RFC 3339 string")),
        None => return Err(Error::invalid("timestamp", "required")),
    };
    let event_type = match doc.get("eventType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Error::invalid("eventType", "must be a string")),
    };
    let identities = parse_identity_map(&doc)?;
    Ok(EventRecord {
        event_id,
        timestamp_ms,
        event_type,
        identities,
        document: doc,
    })
}

/// A JSON object within `max_bytes` and [`MAX_RECORD_NESTING`], without `segmentMembership`.
fn parse_object(text: &str, max_bytes: usize, what: &str) -> Result<Map<String, Value>, Error> {
    if text.len() > max_bytes {
        return Err(Error::invalid(
            "record",
            format!(
                "{what} record is {} bytes; the limit is {max_bytes}",
                text.len()
            ),
        ));
    }
    // The JSON decoder recurses once per level; bound it before decoding.
    if nesting_depth(text) > MAX_RECORD_NESTING {
        return Err(Error::invalid(
            "record",
            format!("{what} record nests deeper than {MAX_RECORD_NESTING} levels"),
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid("record", format!("not valid JSON: {e}")))?;
    let Value::Object(doc) = value else {
        return Err(Error::invalid(
            "record",
            format!("{what} record must be a JSON object"),
        ));
    };
    if doc.contains_key(SEGMENT_MEMBERSHIP) {
        return Err(Error::invalid(
            SEGMENT_MEMBERSHIP,
            "segment membership is written by segment jobs only; remove it from the record",
        ));
    }
    Ok(doc)
}

/// The deepest nesting of objects and arrays in JSON text (brackets inside strings ignored).
/// Malformed text gives some number; the decoder then reports the real error.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The identities of `identityMap`: at least one, at most [`MAX_IDENTITIES`], each with a
/// non-empty namespace and id; repeated identities count once.
fn parse_identity_map(doc: &Map<String, Value>) -> Result<Vec<IdentityEntry>, Error> {
    let map = match doc.get(IDENTITY_MAP) {
        Some(Value::Object(m)) => m,
        Some(_) => return Err(Error::invalid(IDENTITY_MAP, "must be an object")),
        None => {
            return Err(Error::invalid(
                IDENTITY_MAP,
                "required: at least one identity",
            ));
        }
    };
    let mut out: Vec<IdentityEntry> = Vec::new();
    for (namespace, entries) in map {
        let field = format!("{IDENTITY_MAP}.{namespace}");
        if namespace.trim().is_empty() || namespace.len() > MAX_IDENTITY_BYTES {
            return Err(Error::invalid(
                field,
                format!("namespace must be non-empty and at most {MAX_IDENTITY_BYTES} bytes"),
            ));
        }
        let Value::Array(entries) = entries else {
            return Err(Error::invalid(
                field,
                "must be an array of {id, ...} objects",
            ));
        };
        for (i, entry) in entries.iter().enumerate() {
            let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
            if !entry.is_object() || id.trim().is_empty() || id.len() > MAX_IDENTITY_BYTES {
                return Err(Error::invalid(
                    format!("{field}[{i}].id"),
                    format!("required: a non-empty string of at most {MAX_IDENTITY_BYTES} bytes"),
                ));
            }
            let identity = Identity::new(namespace.clone(), id);
            if !out.iter().any(|e| e.identity == identity) {
                out.push(IdentityEntry {
                    identity,
                    entry: entry.clone(),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid(
            IDENTITY_MAP,
            "required: at least one identity",
        ));
    }
    if out.len() > MAX_IDENTITIES {
        return Err(Error::invalid(
            IDENTITY_MAP,
            format!(
                "{} identities; at most {MAX_IDENTITIES} are allowed",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// A profile being merged: its fields with their write times, and its identities.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileState {
    pub id: String,
    /// Every top-level field but `identityMap`.
    pub fields: Map<String, Value>,
    pub field_times: BTreeMap<String, i64>,
    /// Namespace -> array of entries, as in XDM.
    pub identity_map: Map<String, Value>,
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
}

impl ProfileState {
    pub fn new(id: String, now_ms: i64) -> ProfileState {
        ProfileState {
            id,
            fields: Map::new(),
            field_times: BTreeMap::new(),
            identity_map: Map::new(),
            creation_time_ms: now_ms,
            update_time_ms: now_ms,
        }
    }

    /// Splits a stored document into fields and identities.
    pub fn from_stored(
        id: String,
        mut document: Map<String, Value>,
        field_times: BTreeMap<String, i64>,
        creation_time_ms: i64,
        update_time_ms: i64,
    ) -> ProfileState {
        let identity_map = match document.remove(IDENTITY_MAP) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        ProfileState {
            id,
            fields: document,
            field_times,
            identity_map,
            creation_time_ms,
            update_time_ms,
        }
    }

    /// The merged document: the fields plus `identityMap`.
    pub fn to_document(&self) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert(
            IDENTITY_MAP.to_owned(),
            Value::Object(self.identity_map.clone()),
        );
        for (k, v) in &self.fields {
            doc.insert(k.clone(), v.clone());
        }
        doc
    }

    /// Applies a record's fields written at `time_ms`: each replaces the stored field unless the
    /// stored one was written later.
    pub fn apply_fields(&mut self, fields: &Map<String, Value>, time_ms: i64) {
        for (k, v) in fields {
            let stored = self.field_times.get(k).copied();
            if stored.is_none_or(|t| time_ms >= t) {
                self.fields.insert(k.clone(), v.clone());
                self.field_times.insert(k.clone(), time_ms);
            }
        }
    }

    /// Adds identities (an identity already present gets the newer entry).
    pub fn add_identities(&mut self, entries: &[IdentityEntry]) {
        for e in entries {
            self.put_identity(e, true);
        }
    }

    fn put_identity(&mut self, e: &IdentityEntry, replace: bool) {
        let list = self
            .identity_map
            .entry(e.identity.namespace.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        let Value::Array(list) = list else { return };
        let pos = list
            .iter()
            .position(|x| x.get("id").and_then(Value::as_str) == Some(e.identity.id.as_str()));
        match pos {
            Some(i) if replace => list[i] = e.entry.clone(),
            Some(_) => {}
            None => list.push(e.entry.clone()),
        }
    }

    /// Every identity in `identityMap`.
    pub fn identities(&self) -> Vec<Identity> {
        let mut out = Vec::new();
        for (ns, list) in &self.identity_map {
            for e in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                if let Some(id) = e.get("id").and_then(Value::as_str) {
                    out.push(Identity::new(ns.clone(), id));
                }
            }
        }
        out
    }

    /// Folds `other` (a profile found to be the same person) into this one: fields by the same
    /// newer-wins rule, identities united, the earlier creation time kept.
    pub fn absorb(&mut self, other: ProfileState) {
        for (k, v) in other.fields {
            let t = other.field_times.get(&k).copied().unwrap_or(i64::MIN);
            let mut one = Map::new();
            one.insert(k, v);
            self.apply_fields(&one, t);
        }
        for (ns, list) in &other.identity_map {
            for e in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                if let Some(id) = e.get("id").and_then(Value::as_str) {
                    let entry = IdentityEntry {
                        identity: Identity::new(ns.clone(), id),
                        entry: e.clone(),
                    };
                    self.put_identity(&entry, false);
                }
            }
        }
        self.creation_time_ms = self.creation_time_ms.min(other.creation_time_ms);
    }

    /// Refuses a merge that would give the profile more than [`MAX_IDENTITIES`] identities.
    pub fn check_identity_count(&self) -> Result<(), Error> {
        let n = self.identities().len();
        if n > MAX_IDENTITIES {
            return Err(Error::failed_precondition(format!(
                "the record would give profile {} {n} identities; at most {MAX_IDENTITIES} \
                 are allowed",
                self.id
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
