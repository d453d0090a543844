//! pql/json: the JSON tree form of PQL (the `pql/json` format of segment definitions and of the
//! conversion endpoint), read into and written from the same syntax tree as pql/text.
//!
//! The documented node types (`fnApply`, `fieldLookup`, `literal`, `parameterReference`,
//! `varRef`, `varDecl`, `select`, `quantification`, `fnCreate`) are used as Adobe documents them,
//! so that `workAddress.country = "US"` comes out exactly as in the conversion docs; every other
//! construct is an `fnApply` whose `fnName` is its text name with the receiver as its first param
//! (D5.1). The complete encoding, node by node, is in `docs/pql-json.md`.
//!
//! Bare names are the one place where the JSON says more than the text: the writer tracks which
//! names are variables in scope (`varRef`) and whether a field name is read from the profile
//! (`fieldLookup` on `parameterReference` 1) or from the item of an implicit context (filter
//! brackets, item-relative method arguments, chain steps: `fieldLookup` without `object`). The
//! reader mirrors the same scoping, so both directions agree on every tree.
//!
//! Reading never panics and never recurses without bound: trees deeper than [`MAX_DEPTH`] and
//! JSON text nested deeper than [`MAX_JSON_NESTING`] are errors, and every error names the JSON
//! path of the offending node (`params[1].fieldName: expected a string`). Trees read from JSON
//! carry empty spans.

use serde_json::Value;

use crate::pql::ast::{AggregateFn, Expr};
use crate::pql::error::PqlError;

mod read;
mod write;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod roundtrip;
#[cfg(test)]
mod tests;

/// The deepest tree (in syntax-tree levels) the reader accepts: the parser's limit (D1.12).
pub const MAX_DEPTH: usize = crate::pql::parser::MAX_DEPTH;

/// The deepest JSON nesting (objects and arrays) [`from_json_str`] accepts. Most tree levels take
/// one or two JSON levels (`fieldLookup.object`; `fnApply.params[i]`), so this admits trees of
/// [`MAX_DEPTH`] operators, calls and paths, while bounding the JSON decoder's own recursion
/// (about 2 KB of stack per level in debug builds) well inside a 2 MB thread stack.
pub const MAX_JSON_NESTING: usize = 512;

/// The pql/json tree for `e`.
pub fn to_json(e: &Expr) -> Value {
    write::Writer::default().expr(e)
}

/// The pql/json tree for `e`, as compact JSON text (what the API returns as `value`).
pub fn to_json_string(e: &Expr) -> String {
    to_json(e).to_string()
}

/// Reads a pql/json tree. A JSON string holding the tree's JSON text (the API's stringified
/// `value`, D5.2) is accepted too.
pub fn from_json(v: &Value) -> Result<Expr, PqlError> {
    match v {
        Value::String(s) => {
            let inner = parse_json_text(s)?;
            if inner.is_string() {
                return Err(err(
                    "(root)",
                    "a string holding a string is not a pql/json tree",
                ));
            }
            read::Reader::default().root(&inner)
        }
        _ => read::Reader::default().root(v),
    }
}

/// Reads a pql/json tree from JSON text.
pub fn from_json_str(s: &str) -> Result<Expr, PqlError> {
    from_json(&parse_json_text(s)?)
}

/// Parses JSON text after checking its nesting depth, so that neither serde_json nor the tree
/// reader can be driven into deep recursion.
fn parse_json_text(s: &str) -> Result<Value, PqlError> {
    let nesting = json_nesting(s);
    if nesting > MAX_JSON_NESTING {
        return Err(err(
            "(root)",
            &format!("JSON nested {nesting} levels deep; at most {MAX_JSON_NESTING} are accepted"),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(s);
    de.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut de)
        .and_then(|v: Value| de.end().map(|()| v))
        .map_err(|e| err("(root)", &format!("invalid JSON: {e}")))?;
    Ok(value)
}

/// The maximum depth of `[`/`{` nesting in JSON text, ignoring brackets inside strings. Malformed
/// text is left for the JSON parser to report.
fn json_nesting(s: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in s.bytes() {
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
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// An error at a JSON path (`params[1].object`); `(root)` for the top node.
fn err(path: &str, message: &str) -> PqlError {
    let path = if path.is_empty() { "(root)" } else { path };
    PqlError::new(
        format!("{path}: {message}"),
        crate::pql::ast::Span::default(),
    )
}

/// The `fnName`s of constructs that are not plain method or function calls. A method with one
/// of these names would read back as the construct (no such method exists in PQL).
mod names {
    pub const NOT: &str = "not";
    pub const NEG: &str = "-";
    pub const FILTER: &str = "[]";
    pub const OBJECT: &str = "{}";
    pub const UP: &str = "^";
    pub const THIS: &str = "this";
    pub const OCCURS: &str = "occurs";
    pub const CHAIN: &str = "chain";
    pub const STEP: &str = "step";
    pub const WHAT: &str = "WHAT";
    pub const WHEN: &str = "WHEN";
    pub const COUNT: &str = "COUNT";
    pub const WHERE: &str = "WHERE";
    pub const LET: &str = "let";
    pub const ON: &str = "on";
    pub const BETWEEN: &str = "between";

    /// Functions called without a receiver (`date(2024, 1, 1)`, `if(c, a, b)`): an `fnApply`
    /// with one of these names reads as a global call, any other name with at least one param
    /// as a method call on its first param.
    pub const GLOBAL_FUNCTIONS: [&str; 8] = [
        "date",
        "if",
        "currentMonth",
        "currentYear",
        "currentDayOfMonth",
        "inSegment",
        "mapEntry",
        "modelInstances",
    ];
}

/// `"sum over"` etc.: the `fnName` of the comprehension form, apart from the `.sum(...)` method.
fn aggregate_fn_name(f: AggregateFn) -> String {
    format!("{} over", f.text())
}
