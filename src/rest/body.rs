//! Reading JSON request bodies, with refusals that name what is wrong.
//!
//! [`JsonBody`] checks what AEP's gateway checks before a service sees a body (API spec §0): the
//! `Content-Type` is `application/json` (else 400), the body fits the size limit (else 413) and is
//! JSON (else 400 with the line and column of the mistake). All of these are
//! `InvalidArgument` (`UPAPI-113001-400`) on the field `body`, except the size (see
//! [`RestError::BodyTooLarge`]).
//!
//! [`Fields`] then reads an object field by field. Bodies are read as `serde_json::Value` rather
//! than through derived structs so that a wrong type is reported with its dotted path
//! (`expression.value: expected a string`) and so that the read-only fields AEP clients send back
//! on PATCH (`id`, `imsOrgId`, `creationTime`, …) are tolerated without a struct for them.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use super::error::RestError;
use crate::error::Error;

/// A request body that is JSON, sent as JSON, within the size limit.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RestError> {
        check_content_type(request.headers().get(header::CONTENT_TYPE))?;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    RestError::BodyTooLarge
                } else {
                    RestError::Domain(Error::invalid(
                        "body",
                        format!("cannot read the body: {}", rejection.body_text()),
                    ))
                }
            })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid("body", format!("not valid JSON: {e}")))?;
        Ok(JsonBody(value))
    }
}

/// `application/json`, with or without parameters, or any `application/…+json` type.
fn check_content_type(value: Option<&axum::http::HeaderValue>) -> Result<(), Error> {
    let missing = || {
        Error::invalid(
            "Content-Type",
            "a valid content-type must be specified: send `Content-Type: application/json`",
        )
    };
    let text = value.and_then(|v| v.to_str().ok()).ok_or_else(missing)?;
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(Error::invalid(
            "Content-Type",
            format!("'{text}' is not accepted: send `Content-Type: application/json`"),
        ))
    }
}

/// One JSON object of a body, read field by field; errors name the field's dotted path.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// The body itself, which must be an object.
    pub fn root(value: &'a Value) -> Result<Fields<'a>, Error> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                prefix: String::new(),
            }),
            other => Err(Error::invalid(
                "body",
                format!("expected a JSON object, got {}", kind(other)),
            )),
        }
    }

    /// The raw object.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The dotted path of `key` in this object.
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The field, with `null` read as absent.
    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str, Error> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, Error> {
        match self.present(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "a non-negative integer", v)),
        }
    }

    /// A nested object, read with this field's path as prefix.
    pub fn opt_object(&self, key: &str) -> Result<Option<Fields<'a>>, Error> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields {
                map,
                prefix: self.path(key),
            })),
            Some(other) => Err(self.wrong_type(key, "an object", other)),
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, Error> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong_type(key, "an array", other)),
        }
    }

    pub fn missing(&self, key: &str) -> Error {
        Error::invalid(self.path(key), "is required")
    }

    fn wrong_type(&self, key: &str, expected: &str, got: &Value) -> Error {
        Error::invalid(
            self.path(key),
            format!("expected {expected}, got {}", kind(got)),
        )
    }
}

/// The JSON kind of a value, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(
                check_content_type(Some(&HeaderValue::from_static(ok))).is_ok(),
                "{ok}"
            );
        }
        for bad in ["text/plain", "application/x-www-form-urlencoded", ""] {
            assert!(
                check_content_type(Some(&HeaderValue::from_static(bad))).is_err(),
                "{bad}"
            );
        }
        assert!(check_content_type(None).is_err());
    }

    #[test]
    fn fields_name_their_path() {
        let body = json!({"name": 3, "expression": {"value": true}, "ttlInDays": -1, "x": null});
        let root = Fields::root(&body).unwrap();
        let err = root.req_str("name").unwrap_err();
        assert_eq!(err.to_string(), "name: expected a string, got a number");
        let expr = root.opt_object("expression").unwrap().unwrap();
        let err = expr.req_str("value").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expression.value: expected a string, got a boolean"
        );
        assert!(
            expr.req_str("format")
                .unwrap_err()
                .to_string()
                .contains("expression.format: is required")
        );
        assert!(root.opt_u32("ttlInDays").is_err());
        assert_eq!(root.opt_str("x").unwrap(), None);
        assert!(Fields::root(&json!([1])).is_err());
    }
}
