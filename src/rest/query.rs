//! Query strings, read parameter by parameter with refusals that name the parameter.
//!
//! Unknown parameters are refused (400) rather than ignored: a misspelt filter such as
//! `evaluationInfo.batch=true` would otherwise silently return the unfiltered list. A parameter
//! given twice is refused too, since only one value could be honoured.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use super::error::RestError;
use crate::error::Error;

/// The decoded `name=value` pairs of a request's query string.
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, RestError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| Error::invalid("query", format!("cannot decode: {}", e.body_text())))?;
        Ok(QueryParams { pairs })
    }
}

impl QueryParams {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> QueryParams {
        QueryParams { pairs }
    }

    /// Refuses any parameter not in `known`, and any given twice.
    pub fn allow_only(&self, known: &[&str]) -> Result<(), Error> {
        for (i, (name, _)) in self.pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(Error::invalid(
                    name.clone(),
                    format!(
                        "unknown query parameter; this path accepts {}",
                        known.join(", ")
                    ),
                ));
            }
            if self.pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::invalid(name.clone(), "given more than once"));
            }
        }
        Ok(())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, Error> {
        self.str(name)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    Error::invalid(name, format!("expected a non-negative integer, got '{v}'"))
                })
            })
            .transpose()
    }

    pub fn u32(&self, name: &str) -> Result<Option<u32>, Error> {
        self.str(name)
            .map(|v| {
                v.trim().parse::<u32>().map_err(|_| {
                    Error::invalid(name, format!("expected a non-negative integer, got '{v}'"))
                })
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        self.str(name)
            .map(|v| match v.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(Error::invalid(
                    name,
                    format!("expected true or false, got '{other}'"),
                )),
            })
            .transpose()
    }
}

/// Builds a query string (`a=1&b=x%20y`) from pairs, percent-encoding the values.
pub fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b',') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams::from_pairs(
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let q = params(&[("limit", "3"), ("lmit", "4")]);
        let err = q.allow_only(&["limit", "start"]).unwrap_err();
        assert!(err.to_string().starts_with("lmit: unknown"), "{err}");
        let q = params(&[("limit", "3"), ("limit", "4")]);
        assert!(q.allow_only(&["limit"]).is_err());
        assert!(params(&[("limit", "3")]).allow_only(&["limit"]).is_ok());
    }

    #[test]
    fn typed_values() {
        let q = params(&[
            ("limit", "x"),
            ("start", "10"),
            ("b", "yes"),
            ("c", "false"),
        ]);
        assert!(q.u32("limit").is_err());
        assert_eq!(q.u64("start").unwrap(), Some(10));
        assert!(q.bool("b").is_err());
        assert_eq!(q.bool("c").unwrap(), Some(false));
        assert_eq!(q.u32("missing").unwrap(), None);
    }

    #[test]
    fn encoding() {
        assert_eq!(
            encode(&[("sort", "name:asc".into()), ("id", "a b&c".into())]),
            "sort=name:asc&id=a%20b%26c"
        );
    }
}
