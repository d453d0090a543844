//! Machine-generated definitions `or` (or `and`) together thousands of conditions. A flat chain is
//! one n-ary node at every stage (D1.12), so chains of 10 000 and 100 000 terms must go through
//! parse, print, pql/json both ways, compile and evaluation without deep recursion, and keep
//! their meaning.

use serde_json::json;

use super::*;
use crate::pql::ast::LogicalOp;
use crate::pql::eval::testing::data;
use crate::pql::json::{from_json, from_json_str, to_json};
use crate::pql::parser::parse;
use crate::pql::printer::print;

/// `x = 0 or x = 1 or ... or x = n-1`
fn or_chain(n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("x = {i}")).collect();
    terms.join(" or ")
}

/// `x != 0 and x != 1 and ... and x != n-1`
fn and_chain(n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("x != {i}")).collect();
    terms.join(" and ")
}

/// Runs every stage on `src`, a flat chain of `n` terms joined by `op`, and returns the program.
/// pql/json goes through JSON text too for chains up to 10 000 terms (beyond that, a debug
/// build spends seconds in serde_json alone; the tree reader is the same either way).
fn through_every_stage(src: &str, op: LogicalOp, n: usize) -> Program {
    let tree = parse(src).expect("a flat chain parses");
    match &tree.kind {
        ExprKind::Logical { op: got, terms } => {
            assert_eq!((*got, terms.len()), (op, n));
        }
        other => panic!("expected one {} node, got {other:?}", op.text()),
    }
    assert_eq!(
        print(&tree),
        src,
        "the printer writes the chain back as written"
    );
    let json = to_json(&tree);
    assert_eq!(json["fnName"], op.text());
    assert_eq!(json["params"].as_array().map(Vec::len), Some(n));
    let back = from_json(&json).expect("the chain reads back from pql/json");
    assert!(back.same_tree(&tree));
    if n <= 10_000 {
        let back = from_json_str(&json.to_string()).expect("and from pql/json text");
        assert!(back.same_tree(&tree));
    }
    assert_eq!(to_json(&back), json);
    let program = compile(&back).expect("a flat chain compiles");
    let items = match (&program.root, op) {
        (Node::Or(items), LogicalOp::Or) | (Node::And(items), LogicalOp::And) => items.len(),
        (other, _) => panic!("expected one n-ary node, got {other:?}"),
    };
    assert_eq!(items, n);
    program
}

fn check_or_chain(n: usize) {
    let last = i64::try_from(n).expect("small") - 1;
    let program = through_every_stage(&or_chain(n), LogicalOp::Or, n);
    for (x, want) in [
        (json!(0), true),
        (json!(last), true),
        (json!(last + 1), false),
    ] {
        let d = data(json!({ "x": x }));
        assert_eq!(program.matches(&d.ctx()), want, "x = {x}");
        assert_eq!(program.evaluate(&d.ctx()).to_json(), json!(want), "x = {x}");
    }
    assert!(!program.matches(&data(json!({})).ctx()));
    assert_eq!(program.profile_paths(), ["x"]);
}

fn check_and_chain(n: usize) {
    let last = i64::try_from(n).expect("small") - 1;
    let program = through_every_stage(&and_chain(n), LogicalOp::And, n);
    for (x, want) in [
        (json!(0), false),
        (json!(last), false),
        (json!(last + 1), true),
    ] {
        let d = data(json!({ "x": x }));
        assert_eq!(program.matches(&d.ctx()), want, "x = {x}");
        assert_eq!(program.evaluate(&d.ctx()).to_json(), json!(want), "x = {x}");
    }
    // A missing `x` fails every `!=` (D2.2).
    assert!(!program.matches(&data(json!({})).ctx()));
}

#[test]
fn or_chain_of_10_000_terms() {
    check_or_chain(10_000);
}

#[test]
fn and_chain_of_10_000_terms() {
    check_and_chain(10_000);
}

#[test]
fn or_chain_of_100_000_terms() {
    check_or_chain(100_000);
}

#[test]
fn and_chain_of_100_000_terms() {
    check_and_chain(100_000);
}

#[test]
fn constant_chains_fold() {
    let trues = vec!["true"; 100_000].join(" and ");
    let program = compile(&parse(&trues).expect("parses")).expect("compiles");
    assert!(matches!(program.root, Node::Const(Value::Bool(true))));
    let mixed = format!("{} or 1 = 1", vec!["false"; 100_000].join(" or "));
    let program = compile(&parse(&mixed).expect("parses")).expect("compiles");
    assert!(matches!(program.root, Node::Const(Value::Bool(true))));
}

#[test]
fn grouped_chains_keep_their_grouping_and_meaning() {
    // `(a or b) or c` is two nodes in the tree and in pql/json, one n-ary node once compiled.
    let src = "(x = 1 or x = 2) or x = 3 and (y = 1 and y = 2)";
    let tree = parse(src).expect("parses");
    assert_eq!(print(&tree), src);
    let json = to_json(&tree);
    assert_eq!(json["params"][0]["fnName"], "or");
    assert_eq!(json["params"][1]["params"][1]["fnName"], "and");
    assert!(from_json(&json).expect("reads").same_tree(&tree));
    let program = compile(&tree).expect("compiles");
    let Node::Or(items) = &program.root else {
        panic!("{:?}", program.root)
    };
    assert_eq!(items.len(), 3);
    let Node::And(inner) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert_eq!(inner.len(), 3);
    for (profile, want) in [
        (json!({"x": 2}), true),
        (json!({"x": 3, "y": 1}), false),
        (json!({"x": 4}), false),
    ] {
        assert_eq!(
            program.matches(&data(profile.clone()).ctx()),
            want,
            "{profile}"
        );
    }
}
