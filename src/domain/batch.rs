//! Batch gets: many ids in, one answer per id out, in the order asked (AEP's `bulk-get`).
//!
//! Definitions and jobs share the shape: check the number of ids, fetch each distinct id once,
//! then answer every requested id (a repeated id is answered each time) with the resource or a
//! `NOT_FOUND` naming it, so one unknown id never fails the others.

use std::collections::HashMap;

use crate::error::{Error, ResourceKind};

/// One answer of a batch get: the resource, or why it could not be returned.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem<T> {
    pub id: String,
    pub result: Result<T, Error>,
}

/// The distinct ids to fetch, after checking there are between 1 and `max` of them as asked.
pub(crate) fn distinct_ids(ids: &[String], max: usize) -> Result<Vec<String>, Error> {
    if ids.is_empty() || ids.len() > max {
        return Err(Error::invalid(
            "ids",
            format!("{} ids; give between 1 and {max}", ids.len()),
        ));
    }
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    Ok(unique)
}

/// Answers each of `ids` in order from the resources `found`, keyed by `id_of`.
pub(crate) fn answer_each<T: Clone>(
    ids: &[String],
    found: Vec<T>,
    id_of: impl Fn(&T) -> &str,
    kind: ResourceKind,
) -> Vec<BatchItem<T>> {
    let found: HashMap<String, T> = found
        .into_iter()
        .map(|item| (id_of(&item).to_owned(), item))
        .collect();
    ids.iter()
        .map(|id| BatchItem {
            id: id.clone(),
            result: found
                .get(id)
                .cloned()
                .ok_or_else(|| Error::not_found(kind, id.clone())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_number_of_ids_is_checked_before_anything_is_fetched() {
        assert!(distinct_ids(&[], 3).is_err());
        assert!(distinct_ids(&ids(&["a", "b", "c", "d"]), 3).is_err());
        assert_eq!(
            distinct_ids(&ids(&["b", "a", "b"]), 3).unwrap(),
            ids(&["a", "b"])
        );
    }

    #[test]
    fn every_id_is_answered_in_order_and_unknown_ones_are_not_found() {
        let answers = answer_each(
            &ids(&["x", "missing", "x"]),
            vec![("x".to_owned(), 1)],
            |(id, _)| id.as_str(),
            ResourceKind::SegmentJob,
        );
        let shown: Vec<(&str, bool)> = answers
            .iter()
            .map(|a| (a.id.as_str(), a.result.is_ok()))
            .collect();
        assert_eq!(shown, [("x", true), ("missing", false), ("x", true)]);
        assert_eq!(
            answers[1].result.as_ref().unwrap_err().code(),
            crate::error::Code::NotFound
        );
    }
}
