//! Compiler tests: name resolution, compile errors (each with its span), recorded metadata,
//! constant folding.

use serde_json::json;

use super::*;
use crate::pql::compile_text;
use crate::pql::eval::testing::{
    check, check_value, compile_err, compile_src, data, eval_json, profile_with_events,
};

fn err_at(src: &str, needle: &str) -> PqlError {
    let e = compile_err(src);
    let at = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {src}"));
    assert_eq!(e.span.start as usize, at, "{src}: {e:?}");
    e
}

#[test]
fn programs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Program>();
}

#[test]
fn unknown_methods_and_functions_suggest_the_nearest_name() {
    let e = err_at("person.name.startWith(\"J\")", "startWith");
    assert_eq!(e.message, "unknown method 'startWith'");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'startsWith'?"));
    let e = err_at("a and curentYear() = 2024", "curentYear");
    assert_eq!(e.message, "unknown function 'curentYear'");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'currentYear'?"));
    let e = compile_err("count(orders)");
    assert_eq!(
        e.hint.as_deref(),
        Some("'count' is a method: write value.count(...)")
    );
    let e = compile_err("x.frobnicate()");
    assert_eq!(e.hint, None);
}

#[test]
fn aggregate_words_are_aggregates_only_before_their_over() {
    // `sum(...)` with no `over` is a call of a function that does not exist, not a parse error.
    let e = err_at("x > 1 and sum(1, 2) = 3", "sum");
    assert_eq!(e.message, "unknown function 'sum'");
    assert_eq!(
        e.hint.as_deref(),
        Some("'sum' is a method: write value.sum(...)")
    );
    let d = data(json!({"sum": 5, "count": [1, 2], "a": {"sum": 2},
        "xs": [{"a": 1, "b": 3}, {"a": 2, "b": 4}]}));
    check(&d, "sum > 3", true);
    check(
        &d,
        "a.sum = 2 and count[this > 1] = [2] and sum - 1 = 4",
        true,
    );
    check_value(&d, "sum (X.a + X.b) / 2 over X from xs", json!(5.0));
    check_value(&d, "sum -X.a over X from xs", json!(-3));
    check_value(&d, "count [X.a] over X from xs where X.b > 3", json!(1));
    check_value(&d, "max (X.a) over X from xs", json!(2));
    check_value(&d, "count sum - 1 over X from xs", json!(2));
}

#[test]
fn wrong_arity_is_an_error() {
    let e = err_at("x = 1 and date(2024, 6)", "date");
    assert_eq!(e.message, "date() takes 3 arguments, found 2");
    let e = err_at("if(a = 1, 1)", "if");
    assert_eq!(e.message, "if() takes 3 arguments, found 2");
    let e = err_at("name.startsWith()", "startsWith");
    assert_eq!(e.message, ".startsWith() takes 1 or 2 arguments, found 0");
    assert_eq!(e.span.end, 17);
    let e = compile_err("orders.count(1)");
    assert_eq!(e.message, ".count() takes 0 arguments, found 1");
    let e = compile_err("orders.topN(price)");
    assert_eq!(e.message, ".topN() takes 2 arguments, found 1");
    let e = compile_err("currentYear(1)");
    assert_eq!(e.message, "currentYear() takes 0 arguments, found 1");
}

#[test]
fn literal_arguments_of_the_wrong_kind_are_errors() {
    let e = err_at("name.startsWith(1)", "1");
    assert_eq!(
        e.message,
        "argument 1 of 'startsWith' must be a string, found an integer"
    );
    let e = err_at("date(2024, 6.5, 1)", "6.5");
    assert!(
        e.message.contains("must be an integer, found a double"),
        "{e:?}"
    );
    err_at("name.equals(\"x\", 1)", "1)");
    err_at("inSegment(5)", "5");
    let e = err_at("inSegment(segId)", "segId");
    assert!(e.message.contains("string literal"), "{e:?}");
    err_at("s.regexGroup(\"a\", \"1\")", "\"1\"");
    // Folded constants are checked too.
    err_at("name.startsWith(1 + 2)", "1 + 2");
}

#[test]
fn unsupported_constructs_say_so() {
    let e = compile_err("modelInstances(\"https://ns.adobe.com/xdm/context/experienceevent\")");
    assert!(e.message.contains("not supported"), "{e:?}");
    assert!(compile_text("@{_xdm.context.profile}.x = 1").is_err());
}

#[test]
fn up_references_beyond_the_outermost_context_are_errors() {
    let e = err_at("^.person.gender = \"f\"", "^");
    assert!(e.message.contains("'^'"), "{e:?}");
    let e = err_at("xEvent[^^.person.gender = \"f\"]", "^^");
    assert!(e.message.contains("climbs 2 levels"), "{e:?}");
    compile_src("xEvent[^.person.gender = \"f\"]");
    compile_src("xEvent[productListItems[^^.person.gender = \"f\"]]");
    compile_src("chain(xEvent, timestamp, [A: WHAT(^.person.gender = \"f\")])");
    compile_src("orders.exists(^.person.gender = \"f\")");
    // Binder conditions are not an implicit level.
    compile_err("select X from xEvent where ^.x = 1");
}

#[test]
fn parameters_other_than_the_profile_are_errors() {
    compile_src("$1.homeAddress.stateProvince = \"CA\"");
    let e = err_at("$2.homeAddress = 1", "$2");
    assert!(e.message.contains("$2"), "{e:?}");
}

#[test]
fn lambdas_only_where_they_mean_something() {
    compile_src(
        "(Profile) => Profile.homeAddress.stateProvince = Profile.workAddress.stateProvince",
    );
    let e = compile_err("(A, B) => A.x = B.x");
    assert!(e.message.contains("exactly one parameter"), "{e:?}");
    let e = err_at("x = 1 and ((a) => a)", "((a)");
    assert!(e.message.contains("lambda"), "{e:?}");
    let e = compile_err("orders.map((a, b, c) => a)");
    assert!(e.message.contains("found 3"), "{e:?}");
}

#[test]
fn top_level_lambda_binds_the_profile() {
    let p = data(
        json!({"homeAddress": {"stateProvince": "ON"}, "workAddress": {"stateProvince": "ON"}}),
    );
    check(
        &p,
        "(Profile) => Profile.homeAddress.stateProvince = Profile.workAddress.stateProvince",
        true,
    );
    check(&p, "(P) => P.homeAddress.stateProvince = \"QC\"", false);
}

#[test]
fn variables_shadow_fields_and_binder_conditions_read_the_profile() {
    let d = profile_with_events(
        json!({"X": {"type": "profile-field"}, "type": "P", "limit": 2}),
        json!([{"type": "E", "n": 1}, {"type": "E", "n": 3}]),
    );
    // Outside a binder `X` is the profile field; inside, the variable.
    check(&d, "X.type = \"profile-field\"", true);
    check(&d, "select X from xEvent where X.type = \"E\"", true);
    // A bare name in a `where` is a profile field (D6.2) ...
    check(&d, "select X from xEvent where type = \"P\"", true);
    check(&d, "select X from xEvent where type = \"E\"", false);
    // ... and inside brackets, a field of the item.
    check(&d, "xEvent[type = \"E\"]", true);
    check(&d, "xEvent[type = \"P\"]", false);
    check(&d, "xEvent[n > ^.limit]", true);
    check(&d, "xEvent[n > ^limit + 5]", false);
    // `this` is the item inside brackets, the profile at top level.
    check(&d, "this.type = \"P\"", true);
    check(&d, "xEvent[this.type = \"E\"]", true);
    // Let variables shadow fields too, and do not leak.
    assert_eq!(eval_json(&d, "let type = 5 in type + 1"), json!(6));
    assert_eq!(
        eval_json(&d, "(let type = 5 in type) = 5 and type = \"P\""),
        json!(true)
    );
}

#[test]
fn metadata_records_paths_segments_and_events() {
    let p = compile_src(
        "inSegment(\"b\") and inSegment(\"a\") and inSegment(\"b\") and person.name.firstName = \"x\"",
    );
    assert_eq!(p.segment_refs(), ["a", "b"]);
    assert_eq!(p.profile_paths(), ["person.name.firstName"]);
    assert!(!p.reads_events());
    let p = compile_src(
        "xEvent[commerce.order.priceTotal > 5].count() > 1 and exists E from xEvent where E.web.page.name = homeAddress.city",
    );
    assert_eq!(
        p.event_paths(),
        ["commerce.order.priceTotal", "web.page.name"]
    );
    assert_eq!(p.profile_paths(), ["homeAddress.city"]);
    assert!(p.reads_events());
    let p =
        compile_src("chain(xEvent, timestamp, [A: WHAT(eventType = \"x\" and ^.person.age > 3)])");
    assert_eq!(p.event_paths(), ["eventType", "timestamp"]);
    assert_eq!(p.profile_paths(), ["person.age"]);
    let p = compile_src("orders.sum(order.price) > 3");
    assert_eq!(p.profile_paths(), ["orders", "orders.order.price"]);
    let p = compile_src(
        "xEvent[x = 1].groupBy(storeId).map((K, G) => mapEntry(K, G.sum(commerce.order.priceTotal)))",
    );
    assert_eq!(
        p.event_paths(),
        ["commerce.order.priceTotal", "storeId", "x"]
    );
}

#[test]
fn constants_are_folded() {
    let p = compile_src("-201");
    assert!(matches!(p.root, Node::Const(Value::Int(-201))));
    let p = compile_src("2 * 60 + 1");
    assert!(matches!(p.root, Node::Const(Value::Int(121))));
    let p = compile_src("[1, 2, 3].count()");
    assert!(matches!(p.root, Node::Const(Value::Int(3))));
    let p = compile_src("date(2024, 6, 1)");
    assert!(matches!(p.root, Node::Const(Value::Period { .. })));
    let p = compile_src("\"a\" in [\"a\", \"b\"]");
    assert!(matches!(p.root, Node::Const(Value::Bool(true))));
    // Reading `now`, memberships or data is never folded.
    assert!(!matches!(compile_src("currentYear()").root, Node::Const(_)));
    assert!(!matches!(
        compile_src("inSegment(\"x\")").root,
        Node::Const(_)
    ));
    assert!(!matches!(compile_src("today").root, Node::Const(_)));
    // A literal on the left of a comparison moves to the right.
    let p = compile_src("3 < person.age");
    assert!(matches!(
        p.root,
        Node::Cmp {
            op: crate::pql::eval::CmpOp::Gt,
            ..
        }
    ));
}

#[test]
fn folded_comparisons_keep_literal_coercion() {
    let p = data(json!({"flag": true, "age": 30}));
    check(&p, "\"30\" < age + 1", true);
    check(&p, "\"true\" = flag", true);
    check(&p, "\"true\" = \"true\"", true);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(compile_text(&deep).is_err());
    let mut e = Expr::new(
        ExprKind::Literal(crate::pql::ast::Literal::Int(1)),
        Span::default(),
    );
    for _ in 0..300 {
        e = Expr::new(
            ExprKind::Unary {
                op: crate::pql::ast::UnaryOp::Neg,
                expr: Box::new(e),
            },
            Span::default(),
        );
    }
    let err = compile(&e).unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{err:?}");
}

#[test]
fn every_compile_error_has_a_span_inside_the_source() {
    let bad = [
        "a.startWith(\"x\")",
        "date(2024, 6)",
        "if(c, 1)",
        "name.startsWith(1)",
        "^.x",
        "$3",
        "s.matches(\"(?<=a)b\")",
        "modelInstances(\"x\")",
        "inSegment(x)",
        "(a, b) => a",
    ];
    for src in bad {
        let e = compile_err(src);
        assert!(
            (e.span.end as usize) <= src.len() && e.span.start < e.span.end,
            "{src}: {e:?}"
        );
    }
}
