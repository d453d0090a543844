//! The `inSegment` graph of a sandbox's definitions: a definition may only name definitions that
//! exist in its own tenant, and the references may never form a cycle (a segment of segments is
//! evaluated after the segments it reads, which a cycle makes impossible).
//!
//! Pure functions over the edges; the store calls them inside the transaction that writes, so
//! the check and the write see the same graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;

/// The edges of a sandbox's graph: definition id -> the ids it references.
pub type Edges = BTreeMap<String, BTreeSet<String>>;

/// Checks that definition `id`, referencing `refs`, fits the graph: every ref is in `known`
/// (the tenant's definition ids), and adding the edges makes no cycle. `edges` is the stored
/// graph; `id`'s own stored edges, if any, are replaced by `refs`.
pub fn check_references(
    id: &str,
    refs: &[String],
    known: &BTreeSet<String>,
    edges: &Edges,
) -> Result<(), Error> {
    if refs.iter().any(|r| r == id) {
        return Err(Error::invalid(
            "expression",
            format!("segment definition '{id}' cannot reference itself with inSegment"),
        ));
    }
    let unknown: Vec<&str> = refs
        .iter()
        .filter(|r| !known.contains(r.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(unknown_refs_error(&unknown));
    }
    if let Some(path) = find_cycle(id, refs, edges) {
        return Err(Error::invalid(
            "expression",
            format!(
                "inSegment references would form a cycle: {}",
                path.join(" -> ")
            ),
        ));
    }
    Ok(())
}

/// The error for `inSegment` ids that name no definition of the tenant.
pub fn unknown_refs_error(unknown: &[&str]) -> Error {
    Error::invalid(
        "expression",
        format!(
            "inSegment references unknown segment definition{}: {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        ),
    )
}

/// A path `id -> r -> ... -> id` when one of `refs` reaches `id` through `edges`.
fn find_cycle(id: &str, refs: &[String], edges: &Edges) -> Option<Vec<String>> {
    let mut visited = BTreeSet::new();
    for r in refs {
        let mut path = vec![id.to_owned()];
        if reaches(r, id, edges, &mut visited, &mut path) {
            return Some(path);
        }
    }
    None
}

/// Depth-first search from `from` for `target`, skipping `target`'s stored edges (they are being
/// replaced). Iterative so that a long chain cannot overflow the stack.
fn reaches(
    from: &str,
    target: &str,
    edges: &Edges,
    visited: &mut BTreeSet<String>,
    path: &mut Vec<String>,
) -> bool {
    // Each frame: the node and the iterator position over its children.
    let mut stack: Vec<(String, Vec<String>)> = Vec::new();
    let push = |node: &str, visited: &mut BTreeSet<String>| -> Option<(String, Vec<String>)> {
        if !visited.insert(node.to_owned()) {
            return None;
        }
        let children = edges
            .get(node)
            .map(|c| c.iter().rev().cloned().collect())
            .unwrap_or_default();
        Some((node.to_owned(), children))
    };
    if from == target {
        path.push(target.to_owned());
        return true;
    }
    if let Some(frame) = push(from, visited) {
        path.push(from.to_owned());
        stack.push(frame);
    }
    while let Some((_, children)) = stack.last_mut() {
        match children.pop() {
            Some(child) if child == target => {
                path.push(child);
                return true;
            }
            Some(child) => {
                if let Some(frame) = push(&child, visited) {
                    path.push(child);
                    stack.push(frame);
                }
            }
            None => {
                stack.pop();
                path.pop();
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(pairs: &[(&str, &[&str])]) -> (BTreeSet<String>, Edges) {
        let mut known = BTreeSet::new();
        let mut edges = Edges::new();
        for (from, tos) in pairs {
            known.insert(from.to_string());
            edges.insert(
                from.to_string(),
                tos.iter().map(|t| t.to_string()).collect(),
            );
        }
        (known, edges)
    }

    fn refs(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_a_dag() {
        let (known, edges) = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]);
        assert!(check_references("d", &refs(&["b", "c"]), &known, &edges).is_ok());
        // Updating c to keep its refs is fine.
        assert!(check_references("c", &refs(&["a", "b"]), &known, &edges).is_ok());
    }

    #[test]
    fn refuses_self_reference() {
        let (known, edges) = graph(&[("a", &[])]);
        let err = check_references("a", &refs(&["a"]), &known, &edges).unwrap_err();
        assert!(err.to_string().contains("itself"), "{err}");
    }

    #[test]
    fn refuses_unknown_ids_naming_them() {
        let (known, edges) = graph(&[("a", &[])]);
        let err = check_references("d", &refs(&["a", "x", "y"]), &known, &edges).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x, y") && !msg.contains("a,"), "{msg}");
    }

    #[test]
    fn refuses_a_cycle_with_its_path() {
        // a -> b -> c; making c reference a closes a -> b -> c -> a.
        let (known, edges) = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[])]);
        let err = check_references("c", &refs(&["a"]), &known, &edges).unwrap_err();
        assert!(err.to_string().contains("c -> a -> b -> c"), "{err}");
        assert_eq!(err.field_violations()[0].field, "expression");
    }

    #[test]
    fn replaced_edges_of_the_updated_definition_are_ignored() {
        // c used to reference a; a now wants c. Since c's stored edge to a is still there this
        // is a cycle; but b -> c is fine when c drops its reference.
        let (known, edges) = graph(&[("a", &[]), ("b", &[]), ("c", &["a"])]);
        assert!(check_references("a", &refs(&["c"]), &known, &edges).is_err());
        assert!(check_references("c", &refs(&["b"]), &known, &edges).is_ok());
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let n = 100_000;
        let mut known = BTreeSet::new();
        let mut edges = Edges::new();
        for i in 0..n {
            known.insert(format!("n{i}"));
            let next: BTreeSet<String> = if i + 1 < n {
                [format!("n{}", i + 1)].into()
            } else {
                BTreeSet::new()
            };
            edges.insert(format!("n{i}"), next);
        }
        let last = format!("n{}", n - 1);
        let err = check_references(&last, &refs(&["n0"]), &known, &edges).unwrap_err();
        assert!(err.to_string().contains("cycle"));
    }
}
