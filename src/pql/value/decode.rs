//! Decoding JSON text straight into [`Value`]s, without a `serde_json::Value` in between.
//!
//! Going through `serde_json::Value` allocates every string, array and object twice and leaves
//! the second copy interleaved with the holes of the first; decoding directly allocates each
//! node once, in document order, so a profile's data sits together in memory — which is what
//! evaluation over data sets larger than the caches reads. Object keys are interned
//! ([`super::intern`]) without an intermediate `String` when the text has no escapes.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Map, Value, intern};

impl Value {
    /// Decodes a JSON document (numbers that fit i64 stay integers, like [`Value::from_json`]).
    pub fn from_json_str(text: &str) -> Result<Value, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(Arc::from(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::object(map))
    }
}

/// An object key, interned straight from the text.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Arc<str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Arc<str>, E> {
        Ok(intern(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_decoding_through_serde_json() {
        let text = r#"{"a": [1, -2, 1.5, 18446744073709551615, "x\"y", null, true],
            "b": {"c": {}, "d": []}, "a": "dup", "é\u00e9": "\ud83d\ude00"}"#;
        let direct = Value::from_json_str(text).unwrap();
        let via: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(direct.to_json(), Value::from_json(&via).to_json());
        assert!(matches!(direct.field("a"), Value::Str(s) if &**s == "dup"));
    }

    #[test]
    fn keys_are_interned_and_errors_reported() {
        let a = Value::from_json_str(r#"{"eventType": 1}"#).unwrap();
        let b = Value::from_json_str(r#"{"eventType": 2}"#).unwrap();
        let (Value::Object(a), Value::Object(b)) = (a, b) else {
            panic!("objects expected");
        };
        let ka = a.keys().next().unwrap();
        let kb = b.keys().next().unwrap();
        assert!(Arc::ptr_eq(ka, kb));
        assert!(Value::from_json_str("{\"a\": }").is_err());
        assert!(Value::from_json_str("[1] 2").is_err());
    }
}
