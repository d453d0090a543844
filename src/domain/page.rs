//! Pages of results and the opaque tokens that continue them.
//!
//! AEP lists page by offset (`start`/`limit`); gRPC lists page by an opaque `page_token`. A token
//! is the hex of `<scope>:<position>` where the scope binds it to the query that made it (a
//! token from a list sorted by name is refused by a list sorted by time) and the position is an
//! offset or the last key seen. Tokens are not secrets and not signed: a forged one can only
//! select a page of the caller's own tenant.

use crate::error::Error;

/// Page size used when the request gives none.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size accepted.
pub const MAX_LIMIT: u32 = 1000;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items matching the query across all pages.
    pub total_count: u64,
    /// The effective page size.
    pub limit: u32,
    /// The offset of the first item, for offset-paged lists.
    pub start: Option<u64>,
    /// The offset of the next page, for offset-paged lists; absent on the last page.
    pub next_start: Option<u64>,
    /// The token of the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// The page size to use: `None` -> [`DEFAULT_LIMIT`]; 0 or above [`MAX_LIMIT`] is refused.
pub fn effective_limit(limit: Option<u32>) -> Result<u32, Error> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(Error::invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_LIMIT => Err(Error::invalid(
            "limit",
            format!("must be at most {MAX_LIMIT}, got {n}"),
        )),
        Some(n) => Ok(n),
    }
}

/// Largest item offset accepted. The stores bind offsets as signed 64-bit integers (SQLite and
/// PostgreSQL have no unsigned type); a larger one used to reach the SQLite binding and panic
/// there, dropping the connection without an answer.
pub const MAX_START: u64 = i64::MAX as u64;

/// An item offset (`field` names it in the refusal: `start`, `page`, `page_token`); above
/// [`MAX_START`] is refused.
pub fn checked_start(start: u64, field: &str) -> Result<u64, Error> {
    if start > MAX_START {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_START}, got {start}"),
        ));
    }
    Ok(start)
}

/// The offset an offset-paged list starts at: `start`, or the one `page_token` (made by
/// [`Page::at_offset`] for the same `scope`) carries, never both; 0 with neither.
pub fn offset_start(
    start: Option<u64>,
    page_token: Option<&str>,
    scope: &str,
) -> Result<u64, Error> {
    match (start, page_token) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "page_token",
            "give either start or page_token, not both",
        )),
        (Some(s), None) => checked_start(s, "start"),
        (None, Some(t)) => decode_token(scope, t)?
            .parse::<u64>()
            .map_err(|_| Error::invalid("page_token", "not a page token of this list"))
            .and_then(|s| checked_start(s, "page_token")),
        (None, None) => Ok(0),
    }
}

impl<T> Page<T> {
    /// The page of `items` found at offset `start` of `total`, with the offset and token of the
    /// next page (tokens bound to `scope`) unless this one is the last.
    pub fn at_offset(items: Vec<T>, total: u64, limit: u32, start: u64, scope: &str) -> Page<T> {
        let end = start + items.len() as u64;
        let next_start = (end < total && !items.is_empty()).then_some(end);
        Page {
            items,
            total_count: total,
            limit,
            start: Some(start),
            next_start,
            next_page_token: next_start.map(|n| encode_token(scope, &n.to_string())),
        }
    }
}

/// Splits a `sort` value `attr[:asc|desc]` into the attribute and whether it sorts descending
/// (ascending when no direction is given).
pub fn split_sort(s: &str) -> Result<(&str, bool), Error> {
    let (attr, dir) = s.split_once(':').unwrap_or((s, "asc"));
    let descending = match dir.trim() {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(Error::invalid(
                "sort",
                format!("unknown sort direction '{other}'; use asc or desc"),
            ));
        }
    };
    Ok((attr.trim(), descending))
}

/// Encodes a token for `position` within `scope`.
pub fn encode_token(scope: &str, position: &str) -> String {
    let raw = format!("{scope}:{position}");
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a token made by [`encode_token`] with the same scope; anything else is an invalid
/// `page_token`.
pub fn decode_token(scope: &str, token: &str) -> Result<String, Error> {
    let bad = || Error::invalid("page_token", "not a page token of this list");
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let raw = String::from_utf8(bytes).map_err(|_| bad())?;
    raw.strip_prefix(scope)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_within_their_scope_only() {
        let t = encode_token("profiles", "3f2a-…");
        assert_eq!(decode_token("profiles", &t).unwrap(), "3f2a-…");
        assert!(decode_token("members", &t).is_err());
        assert!(decode_token("profiles", "zz").is_err());
        assert!(decode_token("profiles", "abc").is_err());
        assert!(decode_token("profiles", "").is_err());
    }

    #[test]
    fn offsets_beyond_what_the_store_binds_are_refused() {
        assert_eq!(checked_start(MAX_START, "start").unwrap(), MAX_START);
        let err = checked_start(MAX_START + 1, "start").unwrap_err();
        assert!(
            err.to_string().starts_with("start: must be at most"),
            "{err}"
        );
        assert!(checked_start(u64::MAX, "page_token").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(effective_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(effective_limit(Some(7)).unwrap(), 7);
        assert!(effective_limit(Some(0)).is_err());
        assert!(effective_limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
