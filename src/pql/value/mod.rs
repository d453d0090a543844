//! The engine's value model. A profile (and each of its events) is decoded once from JSON into a
//! [`Value`] tree, and then any number of compiled expressions run against it without touching
//! JSON again.
//!
//! Strings, arrays and objects are reference-counted so that projecting, filtering and binding
//! variables never deep-copies profile data. The layout is chosen for evaluating millions of
//! profiles that do not fit in the CPU caches, where each pointer followed is a likely cache miss:
//! a value is three words; an array is one allocation (`Arc<[Value]>`); an object ([`Object`],
//! built as a [`Map`]) is one allocation holding its fields in document order (D6.12); keys are
//! interned ([`intern`]) so that a field name is one allocation across all profiles and events
//! and a compiled path step finds its field by pointer. [`Value::from_json_str`] decodes text
//! directly into this form.

mod decode;
pub mod intern;
pub mod map;

use std::sync::Arc;

pub use intern::intern;
pub use map::{Map, Object};

#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Missing or JSON `null` (D2.1).
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Array(Arc<[Value]>),
    Object(Object),
    /// An instant, in milliseconds since the Unix epoch (UTC): `now`, a parsed timestamp.
    Time(i64),
    /// A half-open period `[start, end)` in epoch milliseconds: `today`, `date(2024, 6, 1)`,
    /// `last month`.
    Period {
        start: i64,
        end: i64,
    },
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Arc::from(items))
    }

    pub fn object(map: Map) -> Value {
        Value::Object(Object::from(map))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value in a boolean position (D2.3): null -> false, a boolean -> itself, an array or
    /// object -> non-empty, anything else present -> true.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }
    }

    /// The field `name` of an object; null for anything else or a missing key.
    pub fn field(&self, name: &str) -> &Value {
        match self {
            Value::Object(o) => o.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Kind name for messages and `--explain` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "double",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Time(_) => "timestamp",
            Value::Period { .. } => "period",
        }
    }

    /// Decodes a JSON document into the engine's model (numbers that fit i64 stay integers).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map(Value::Float).unwrap_or(Value::Null),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                Value::array(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (k, v) in fields {
                    map.insert(intern(k), Value::from_json(v));
                }
                Value::object(map)
            }
        }
    }

    /// Encodes a value as JSON: times become RFC 3339 strings, periods `{"start","end"}` objects.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.to_string()),
            Value::Array(a) => J::Array(a.iter().map(Value::to_json).collect()),
            Value::Object(o) => J::Object(
                o.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
            Value::Time(ms) => J::String(format_millis(*ms)),
            Value::Period { start, end } => serde_json::json!({
                "start": format_millis(*start),
                "end": format_millis(*end),
            }),
        }
    }
}

static NULL: Value = Value::Null;

/// RFC 3339 with millisecond precision, UTC (`2024-06-01T00:00:00.000Z`).
pub fn format_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_key_order_and_integers() {
        let doc: serde_json::Value =
            serde_json::from_str(r#"{"z": 1, "a": [1.5, "x", null], "m": {"b": true}}"#).unwrap();
        let v = Value::from_json(&doc);
        assert!(matches!(v.field("z"), Value::Int(1)));
        assert_eq!(v.to_json().to_string(), doc.to_string());
    }

    #[test]
    fn values_stay_three_words() {
        // Arrays of values and object fields are scanned in bulk: their size is cache traffic.
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Object>(), 8);
    }

    #[test]
    fn truthiness_follows_d2_3() {
        assert!(!Value::Null.truthy());
        assert!(!Value::Bool(false).truthy());
        assert!(Value::Int(0).truthy());
        assert!(Value::str("").truthy());
        assert!(!Value::array(vec![]).truthy());
        assert!(Value::array(vec![Value::Null]).truthy());
    }
}
