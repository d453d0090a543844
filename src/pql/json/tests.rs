//! pql/json tests on hand-built trees and on the XDM reference files: the documented pair,
//! every construct's encoding and its decoding back to the same tree, scoping, legacy inputs,
//! error paths and limits. Text-based round trips are in `roundtrip.rs`.

use serde_json::{Value, json};

use super::*;
use crate::pql::ast::*;
use crate::pql::printer::tests::b::*;

use BinaryOp as B;

/// Encodes, checks that the JSON text decodes to the same tree, and returns the JSON.
fn roundtrip(e: &Expr) -> Value {
    let v = to_json(e);
    let back = from_json_str(&v.to_string())
        .unwrap_or_else(|err| panic!("{err}\nJSON: {v:#}\ntree: {e:#?}"));
    assert!(
        back.same_tree(e),
        "JSON: {v:#}\nexpected: {e:#?}\ngot: {back:#?}"
    );
    v
}

fn read_err(v: Value) -> String {
    match from_json(&v) {
        Ok(e) => panic!("expected an error, got {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn profile_field(n: &str) -> Value {
    json!({"nodeType": "fieldLookup", "fieldName": n,
           "object": {"nodeType": "parameterReference", "position": 1}})
}

fn lit(ty: &str, v: Value) -> Value {
    json!({"nodeType": "literal", "literalType": ty, "value": v})
}

#[test]
fn documented_pair_is_exact() {
    let e = bin(B::Eq, path("workAddress.country"), s("US"));
    let expected = json!({
      "nodeType": "fnApply",
      "fnName": "=",
      "params": [
        { "nodeType": "fieldLookup", "fieldName": "country",
          "object": { "nodeType": "fieldLookup", "fieldName": "workAddress",
                      "object": { "nodeType": "parameterReference", "position": 1 } } },
        { "nodeType": "literal", "literalType": "String", "value": "US" }
      ]
    });
    assert_eq!(to_json_string(&e), expected.to_string());
    roundtrip(&e);
}

#[test]
fn literals_and_lists() {
    assert_eq!(roundtrip(&int(-7)), lit("Integer", json!(-7)));
    assert_eq!(
        roundtrip(&float(1.0)).to_string(),
        r#"{"nodeType":"literal","literalType":"Number","value":1.0}"#
    );
    assert_eq!(roundtrip(&boolean(false)), lit("Boolean", json!(false)));
    assert_eq!(roundtrip(&s("a\"\n")), lit("String", json!("a\"\n")));
    let l = list(vec![s("red"), s("blue")]);
    assert_eq!(roundtrip(&l), lit("List", json!(["red", "blue"])));
    let mixed = list(vec![
        int(1),
        float(2.5),
        boolean(true),
        list(vec![]),
        path("a.b"),
    ]);
    let v = roundtrip(&mixed);
    assert_eq!(v["value"][0], json!(1));
    assert_eq!(v["value"][3], lit("List", json!([])));
    assert_eq!(v["value"][4]["nodeType"], "fieldLookup");
    roundtrip(&list(vec![]));
    roundtrip(&int(i64::MIN));
    roundtrip(&float(-0.0));
    roundtrip(&float(1e300));
    // Non-finite doubles travel as strings.
    let inf = to_json(&float(f64::INFINITY));
    assert_eq!(inf["value"], "Infinity");
    assert!(from_json(&inf).is_ok_and(|e| e.same_tree(&float(f64::INFINITY))));
    let nan = from_json(&to_json(&float(f64::NAN)));
    assert!(matches!(nan.map(|e| e.kind), Ok(ExprKind::Literal(Literal::Float(f))) if f.is_nan()));
}

#[test]
fn names_by_context() {
    // Profile level: fieldLookup on parameterReference 1.
    assert_eq!(
        roundtrip(&name("homeAddress")),
        profile_field("homeAddress")
    );
    // Filter brackets: the item, no object; `^` climbs.
    let up = e(ExprKind::Up {
        levels: 2,
        name: "person".into(),
    });
    let f = filter(
        e(ExprKind::XEvent),
        filter(
            name("productListItems"),
            or(vec![
                bin(B::Eq, name("SKU"), s("PS")),
                bin(B::Eq, field(up, "gender"), s("female")),
            ]),
        ),
    );
    let v = roundtrip(&f);
    assert_eq!(v["params"][0], profile_field("xEvent"));
    let inner = &v["params"][1];
    assert_eq!(
        inner["params"][0],
        json!({"nodeType": "fieldLookup", "fieldName": "productListItems"})
    );
    let or = &inner["params"][1];
    assert_eq!(
        or["params"][0]["params"][0],
        json!({"nodeType": "fieldLookup", "fieldName": "SKU"})
    );
    assert_eq!(
        or["params"][1]["params"][0]["object"],
        json!({"nodeType": "fieldLookup", "fieldName": "person",
               "object": {"nodeType": "fnApply", "fnName": "^",
                          "params": [lit("Integer", json!(2))]}})
    );
    // Item-relative method arguments, and only those.
    let m = method(name("orders"), "topN", vec![name("price"), name("n")]);
    let v = roundtrip(&m);
    assert_eq!(
        v["params"][1],
        json!({"nodeType": "fieldLookup", "fieldName": "price"})
    );
    assert_eq!(v["params"][2], profile_field("n"));
    // `$1` inside an item context stays explicit; `this` is an fnApply.
    let t = filter(
        name("a"),
        bin(
            B::Eq,
            field(e(ExprKind::Param(1)), "x"),
            field(e(ExprKind::This), "y"),
        ),
    );
    let v = roundtrip(&t);
    assert_eq!(v["params"][1]["params"][0], profile_field("x"));
    assert_eq!(
        v["params"][1]["params"][1]["object"],
        json!({"nodeType": "fnApply", "fnName": "this", "params": []})
    );
}

#[test]
fn profile_dollar_one_reads_as_a_bare_name() {
    let dollar = field(field(e(ExprKind::Param(1)), "homeAddress"), "stateProvince");
    let back = from_json(&to_json(&dollar)).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.same_tree(&path("homeAddress.stateProvince")));
    roundtrip(&e(ExprKind::Param(1)));
    roundtrip(&field(e(ExprKind::Param(2)), "x"));
}

#[test]
fn variables_and_binders() {
    let sel = binder(
        BinderKind::Select,
        vec![
            decl(
                "PV",
                e(ExprKind::XEvent),
                Some(bin(B::Gt, path("PV.value"), int(0))),
            ),
            decl(
                "Item",
                path("PV.productListItems"),
                Some(bin(B::Eq, path("Item.SKU"), s("PS"))),
            ),
        ],
    );
    let v = roundtrip(&sel);
    assert_eq!(v["nodeType"], "select");
    let d1 = &v["variables"][1];
    assert_eq!(
        d1["from"]["object"],
        json!({"nodeType": "varRef", "varName": "PV"})
    );
    assert_eq!(
        d1["where"]["params"][0]["object"],
        json!({"nodeType": "varRef", "varName": "Item"})
    );
    for (kind, q) in [
        (BinderKind::Exists, "some"),
        (BinderKind::Forall, "all"),
        (BinderKind::None, "none"),
        (BinderKind::One, "one"),
    ] {
        let b = binder(kind, vec![decl("X", name("a"), None)]);
        let v = roundtrip(&b);
        assert_eq!(
            (v["nodeType"].as_str(), v["quantifier"].as_str()),
            (Some("quantification"), Some(q))
        );
        assert!(v["variables"][0].get("where").is_none());
    }
    // A variable is only in scope after its declaration: `X` in its own domain is a field.
    let own = binder(
        BinderKind::Select,
        vec![decl("X", name("X"), Some(name("X")))],
    );
    let v = roundtrip(&own);
    assert_eq!(v["variables"][0]["from"], profile_field("X"));
    assert_eq!(v["variables"][0]["where"]["nodeType"], "varRef");
    // Aggregates and let.
    let sum = agg(
        AggregateFn::Sum,
        Some(bin(B::Add, path("X.p"), path("Y.p"))),
        vec![
            decl("X", e(ExprKind::XEvent), None),
            decl("Y", e(ExprKind::XEvent), None),
        ],
    );
    let v = roundtrip(&sum);
    assert_eq!(v["fnName"], "sum over");
    assert_eq!(v["params"][0]["params"][1]["object"]["nodeType"], "varRef");
    assert_eq!(v["params"][1]["nodeType"], "select");
    roundtrip(&agg(
        AggregateFn::Count,
        None,
        vec![decl("X", name("a"), None)],
    ));
    let l = let_(
        vec![("S", sum), ("T", bin(B::Add, name("S"), int(1)))],
        bin(B::Lt, name("S"), name("T")),
    );
    let v = roundtrip(&l);
    assert_eq!(v["fnName"], "let");
    assert_eq!(v["params"][1]["from"]["params"][0]["nodeType"], "varRef");
    assert_eq!(v["params"][2]["params"][1]["nodeType"], "varRef");
    let lam = method(
        method(name("x"), "groupBy", vec![name("product")]),
        "map",
        vec![lambda(
            &["K", "G"],
            call(
                "mapEntry",
                vec![name("K"), method(name("G"), "sum", vec![name("price")])],
            ),
        )],
    );
    let v = roundtrip(&lam);
    let f = &v["params"][1];
    assert_eq!(f["nodeType"], "fnCreate");
    assert_eq!(f["params"], json!([{"varName": "K"}, {"varName": "G"}]));
    // The lambda body is in the item context of `.map(...)`; `.sum(price)` in G's items.
    assert_eq!(
        f["body"]["params"][1]["params"][1],
        json!({"nodeType": "fieldLookup", "fieldName": "price"})
    );
}

#[test]
fn operators_calls_and_methods() {
    // `and`/`or` are n-ary both ways: one chain is one `fnApply`, and a chain nested in a chain
    // of the same operator stays nested, on either side.
    let and3 = and(vec![name("a"), name("b"), name("c")]);
    let v = roundtrip(&and3);
    assert_eq!(v["params"].as_array().map(Vec::len), Some(3));
    let right = and(vec![name("a"), and(vec![name("b"), name("c")])]);
    assert_eq!(roundtrip(&right)["params"][1]["fnName"], "and");
    let left = and(vec![and(vec![name("a"), name("b")]), name("c")]);
    assert_eq!(roundtrip(&left)["params"][0]["fnName"], "and");
    let mixed = or(vec![
        and(vec![name("a"), name("b")]),
        or(vec![name("c"), name("d")]),
    ]);
    roundtrip(&mixed);
    for op in BinaryOp::ALL {
        if op == B::Matches {
            continue;
        }
        let v = roundtrip(&bin(op, name("a"), int(1)));
        assert_eq!(v["fnName"], op.text());
    }
    let v = roundtrip(&not(name("a")));
    assert_eq!(
        (v["fnName"].as_str(), v["params"].as_array().map(Vec::len)),
        (Some("not"), Some(1))
    );
    let v = roundtrip(&neg(name("a")));
    assert_eq!(
        (v["fnName"].as_str(), v["params"].as_array().map(Vec::len)),
        (Some("-"), Some(1))
    );
    let v = roundtrip(&method(
        path("person.name"),
        "startsWith",
        vec![s("Joe"), boolean(false)],
    ));
    assert_eq!(v["fnName"], "startsWith");
    assert_eq!(v["params"][0]["fieldName"], "name");
    roundtrip(&method(
        path("person.name"),
        "matches",
        vec![s("(?i)^John")],
    ));
    roundtrip(&method(name("orders"), "count", vec![]));
    roundtrip(&call("date", vec![int(2020), int(3), int(14)]));
    roundtrip(&call("currentYear", vec![]));
    roundtrip(&call("if", vec![name("c"), int(1), int(2)]));
    roundtrip(&call("inSegment", vec![s("abc")]));
    roundtrip(&call("unknownZeroArity", vec![]));
    let obj = e(ExprKind::Object(vec![
        ("count".into(), int(1)),
        ("sum".into(), path("a.b")),
    ]));
    let v = roundtrip(&obj);
    assert_eq!(v["fnName"], "{}");
    roundtrip(&e(ExprKind::Object(vec![])));
}

#[test]
fn matches_and_like_read_in_their_documented_form() {
    let infix = bin(B::Matches, name("s"), s("re"));
    let back = from_json(&to_json(&infix)).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.same_tree(&method(name("s"), "matches", vec![s("re")])));
    // And the method form of `like` reads as the infix form.
    let m = method(name("s"), "like", vec![s("a%")]);
    assert_eq!(to_json(&m)["fnName"], "like");
    let back = from_json(&to_json(&m)).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.same_tree(&bin(B::Like, name("s"), s("a%"))));
}

#[test]
fn time_constructs_and_chain() {
    let ts = || path("X.timestamp");
    let specs = vec![
        OccursSpec::On(Box::new(rel(Relative::Last, TimeUnit::Month))),
        OccursSpec::Direction {
            dir: Direction::From,
            anchor: Box::new(tw(TimeWord::Now)),
        },
        OccursSpec::Between {
            from: Box::new(call("date", vec![int(2015), int(1), int(8)])),
            to: Box::new(rel(Relative::This, TimeUnit::Millennium)),
        },
        OccursSpec::Distance {
            cmp: CmpOp::Ne,
            amount: 3,
            unit: TimeUnit::Century,
            dir: Direction::After,
            anchor: Box::new(path("Y.timestamp")),
        },
    ];
    for spec in specs {
        roundtrip(&occurs(ts(), spec));
    }
    let v = roundtrip(&occurs(
        ts(),
        OccursSpec::Distance {
            cmp: CmpOp::Le,
            amount: 3,
            unit: TimeUnit::Day,
            dir: Direction::Before,
            anchor: Box::new(tw(TimeWord::Now)),
        },
    ));
    let modes: Vec<&Value> = v["params"]
        .as_array()
        .into_iter()
        .flatten()
        .skip(1)
        .take(4)
        .collect();
    assert_eq!(
        modes,
        [
            &lit("String", json!("<=")),
            &lit("Integer", json!(3)),
            &lit("String", json!("day")),
            &lit("String", json!("before"))
        ]
    );
    for w in [
        TimeWord::Now,
        TimeWord::Today,
        TimeWord::Yesterday,
        TimeWord::Tomorrow,
    ] {
        roundtrip(&tw(w));
    }
    for r in [Relative::This, Relative::Last, Relative::Next] {
        roundtrip(&rel(r, TimeUnit::Week));
    }
    let mut s1 = step(
        Some("C0"),
        method(name("eventType"), "equals", vec![s("x"), boolean(false)]),
    );
    s1.when = Some(OccursSpec::Distance {
        cmp: CmpOp::Lt,
        amount: 24,
        unit: TimeUnit::Hour,
        dir: Direction::Before,
        anchor: Box::new(tw(TimeWord::Now)),
    });
    s1.count = Some(5);
    s1.where_ = Some(method(
        method(name("m"), "values", vec![]),
        "exists",
        vec![bin(B::Eq, name("p"), s("a"))],
    ));
    let s2 = step(
        None,
        bin(
            B::Eq,
            field(
                e(ExprKind::Up {
                    levels: 1,
                    name: "a".into(),
                }),
                "b",
            ),
            int(1),
        ),
    );
    let c = not(chain(vec![s1, s2]));
    let v = roundtrip(&c);
    let ch = &v["params"][0];
    assert_eq!(ch["fnName"], "chain");
    assert_eq!(
        ch["params"][1],
        json!({"nodeType": "fieldLookup", "fieldName": "timestamp"})
    );
    let st = &ch["params"][2];
    assert_eq!(st["params"][0], lit("String", json!("C0")));
    assert_eq!(st["params"][1]["fnName"], "WHAT");
    assert_eq!(
        st["params"][1]["params"][0]["params"][0],
        json!({"nodeType": "fieldLookup", "fieldName": "eventType"})
    );
    assert_eq!(st["params"][2]["fnName"], "WHEN");
    assert_eq!(
        st["params"][3],
        json!({"nodeType": "fnApply", "fnName": "COUNT", "params": [lit("Integer", json!(5))]})
    );
    assert_eq!(st["params"][4]["fnName"], "WHERE");
}

#[test]
fn legacy_and_lenient_inputs() {
    // Lower-case literal types, string-encoded values.
    let got = from_json(&json!({"nodeType": "fnApply", "fnName": "=", "params": [
        {"nodeType": "fieldLookup", "fieldName": "age"},
        {"nodeType": "literal", "literalType": "integer", "value": "6"}]}));
    assert!(got.is_ok_and(|e| e.same_tree(&bin(B::Eq, name("age"), int(6)))));
    let cases = [
        (lit("NUMBER", json!("2.5")), float(2.5)),
        (lit("number", json!(3)), float(3.0)),
        (lit("Integer", json!(4.0)), int(4)),
        (lit("boolean", json!("true")), boolean(true)),
        (lit("string", json!("x")), s("x")),
        (lit("XDMObject", json!("profile")), e(ExprKind::Param(1))),
    ];
    for (v, want) in cases {
        let got = from_json(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!(got.same_tree(&want), "{v}: {got:?}");
    }
    // The legacy profile root, legacy `range`, quantifier spellings.
    let old = json!({"nodeType": "fieldLookup", "fieldName": "stateOrProvince",
        "object": {"nodeType": "fieldLookup", "fieldName": "homeAddress",
                   "object": lit("XDMObject", json!("profile"))}});
    assert!(from_json(&old).is_ok_and(|e| e.same_tree(&path("homeAddress.stateOrProvince"))));
    let q = json!({"nodeType": "quantification", "quantifier": "SOME", "variables": [
        {"nodeType": "varDecl", "varName": "x", "range": {"nodeType": "fieldLookup", "fieldName": "xEvent"}}]});
    let want = binder(
        BinderKind::Exists,
        vec![decl("x", e(ExprKind::XEvent), None)],
    );
    assert!(from_json(&q).is_ok_and(|e| e.same_tree(&want)));
    // The tree as a JSON string (the API's stringified `value`).
    let text = Value::String(to_json_string(&want));
    assert!(from_json(&text).is_ok_and(|e| e.same_tree(&want)));
    // `and` with one param is that param; the legacy JQ `fieldLookup xEvent` on the profile.
    let one =
        json!({"nodeType": "fnApply", "fnName": "and", "params": [lit("Boolean", json!(true))]});
    assert!(from_json(&one).is_ok_and(|e| e.same_tree(&boolean(true))));
    assert!(from_json(&profile_field("xEvent")).is_ok_and(|e| e.same_tree(&e_xevent())));
}

fn e_xevent() -> Expr {
    e(ExprKind::XEvent)
}

#[test]
fn errors_name_the_offending_node() {
    let cases = [
        (
            json!({"nodeType": "fnApply", "fnName": "=", "params": [
            {"nodeType": "fieldLookup", "fieldName": 5}, lit("String", json!("x"))]}),
            "params[0].fieldName: expected a string, found a number",
        ),
        (json!([1]), "(root): expected a node object, found an array"),
        (json!({"fnName": "x"}), "nodeType: missing"),
        (
            json!({"nodeType": "fnApply", "fnName": "=", "params": [lit("String", json!("x"))]}),
            "params: '=' takes 2 params, found 1",
        ),
        (
            json!({"nodeType": "fnApplyy"}),
            "nodeType: unknown nodeType 'fnApplyy' (did you mean 'fnApply'?)",
        ),
        (
            json!({"nodeType": "varRef", "varName": "X"}),
            "varName: 'X' is not a variable in scope here",
        ),
        (
            lit("Integer", json!("six")),
            "value: expected an integer (i64), found a string",
        ),
        (
            lit("Date", json!("2020")),
            "literalType: unsupported literalType 'Date'",
        ),
        (
            lit("XDMObject", json!("offer")),
            "value: only the XDMObject",
        ),
        (
            json!({"nodeType": "select", "variables": [{"nodeType": "varDecl", "varName": "1x", "from": lit("List", json!([]))}]}),
            "variables[0].varName: '1x' is not an identifier",
        ),
        (
            json!({"nodeType": "select", "variables": [{"nodeType": "varDecl", "varName": "x"}]}),
            "variables[0].from: missing",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "occurs", "params": [profile_field("t"), lit("String", json!("around")), profile_field("u")]}),
            "params[1]: unknown occurs mode 'around'",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "^", "params": [lit("Integer", json!(1))]}),
            "'^' is only valid as the object of a fieldLookup",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "WHAT", "params": []}),
            "only valid inside a chain",
        ),
        (
            json!({"nodeType": "fnApply", "function": {"nodeType": "fnCreate"}, "params": []}),
            "function: applying a created function",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "chain", "params": [profile_field("xEvent"), {"nodeType": "fieldLookup", "fieldName": "timestamp"},
            {"nodeType": "fnApply", "fnName": "step", "params": [lit("String", json!("A"))]}]}),
            "params[2].params: the step has no WHAT clause",
        ),
        (
            lit("List", json!([1, null])),
            "value[1]: null is not a PQL value",
        ),
        (
            json!({"nodeType": "set", "variables": []}),
            "unknown nodeType 'set'",
        ),
        // The structural rules of the parser hold for pql/json too.
        (
            json!({"nodeType": "fnApply", "fnName": "[]", "params": [profile_field("a"), lit("Integer", json!(0))]}),
            "params[1]: PQL has no numeric indexing",
        ),
        (
            json!({"nodeType": "select", "variables": [
            {"nodeType": "varDecl", "varName": "x", "from": profile_field("a")},
            {"nodeType": "varDecl", "varName": "x", "from": profile_field("b")}]}),
            "variables[1].varName: variable 'x' is declared twice in this binder",
        ),
        (
            json!({"nodeType": "fnCreate", "params": [{"varName": "K"}, {"varName": "K"}], "body": lit("Integer", json!(1))}),
            "params[1].varName: lambda parameter 'K' is declared twice",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "{}", "params": [lit("String", json!("k")), lit("Integer", json!(1)), lit("String", json!("k")), lit("Integer", json!(2))]}),
            "params[2]: duplicate key \"k\"",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "chain", "params": [profile_field("xEvent"), {"nodeType": "fieldLookup", "fieldName": "timestamp"}]}),
            "params: a chain needs at least one step",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "chain", "params": [profile_field("xEvent"), {"nodeType": "fieldLookup", "fieldName": "timestamp"},
            {"nodeType": "fnApply", "fnName": "step", "params": [
                {"nodeType": "fnApply", "fnName": "WHAT", "params": [lit("Boolean", json!(true))]},
                {"nodeType": "fnApply", "fnName": "COUNT", "params": [lit("Integer", json!(0))]}]}]}),
            "params[2].params[1].params[0]: COUNT takes a positive whole number",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "occurs", "params": [profile_field("t"), lit("String", json!("<")), lit("Integer", json!(-1)),
            lit("String", json!("days")), lit("String", json!("before")), {"nodeType": "fnApply", "fnName": "now"}]}),
            "params[2]: the amount of time cannot be negative",
        ),
        (
            json!({"nodeType": "fnApply", "fnName": "starts With", "params": [profile_field("a")]}),
            "fnName: 'starts With' is not an identifier",
        ),
    ];
    for (v, want) in cases {
        let got = read_err(v.clone());
        assert!(got.contains(want), "{v}\n got: {got}\nwant: {want}");
    }
    assert!(from_json_str("{").is_err_and(|e| e.message.starts_with("(root): invalid JSON")));
    assert!(from_json_str("{} x").is_err());
}

#[test]
fn depth_limits() {
    // A tree exactly MAX_DEPTH levels deep reads; one more level does not.
    let mut ok = name("a");
    for _ in 1..MAX_DEPTH {
        ok = neg(ok);
    }
    roundtrip(&ok);
    let too_deep = neg(ok);
    let got = read_err(to_json(&too_deep));
    assert!(got.contains("nested deeper than 200 levels"), "{got}");
    // An n-ary `and` is one level however many params it has: a wide one reads as one node
    // with its terms one level below; nested `and`s count one level each.
    let wide = json!({"nodeType": "fnApply", "fnName": "and",
        "params": vec![lit("Boolean", json!(true)); 100_000]});
    let read = from_json(&wide).expect("a wide `and` reads");
    let ExprKind::Logical { op, terms } = &read.kind else {
        panic!("{read:?}")
    };
    assert_eq!((*op, terms.len()), (LogicalOp::And, 100_000));
    let and_of = |first: Value| {
        let params = json!([first, lit("Boolean", json!(true))]);
        json!({"nodeType": "fnApply", "fnName": "and", "params": params})
    };
    let mut nested = lit("Boolean", json!(true));
    for _ in 1..MAX_DEPTH {
        nested = and_of(nested);
    }
    assert!(from_json(&nested).is_ok());
    let got = read_err(and_of(nested));
    assert!(got.contains("nested deeper"), "{got}");
    // JSON text nested far too deep is refused before parsing, without overflowing the stack.
    let deep_text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let got = from_json_str(&deep_text)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(got.contains("nested 100000 levels deep"), "{got}");
    // Brackets inside strings do not count.
    let v = lit("String", json!("[[[[[[[[[[{{{{{{{{{{\\\""));
    assert!(from_json_str(&v.to_string()).is_ok());
    // Within the limit but deeper than serde_json's default 128: reads (and then fails on the
    // tree depth, not on JSON recursion).
    let nested = format!(
        "{}{}",
        "[".repeat(MAX_JSON_NESTING),
        "]".repeat(MAX_JSON_NESTING)
    );
    let got = from_json_str(&nested).map(|_| ()).unwrap_err().to_string();
    assert!(got.contains("expected a node object"), "{got}");
}

/// The copies of the shared spec kept as test data (`tests/data/spec`: the PQL contract with its
/// example corpus, and the XDM pql/json reference pairs), so the tests run from any checkout.
pub(crate) fn shared_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

#[test]
fn xdm_reference_examples_read() {
    let dir = shared_dir().join("spec/reference/xdm");
    let mut read = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("filter-expression.example.") && n.ends_with(".json")
            })
        })
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let tree = from_json_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        // Writing it back and reading again is stable.
        let again = from_json(&to_json(&tree)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(again.same_tree(&tree), "{}", p.display());
        read += 1;
    }
    assert_eq!(read, 19);
    // The select/some dialect: varRefs resolve, xdm: prefixes stay part of the field name.
    let text = std::fs::read_to_string(dir.join("filter-expression.example.1.1b.json"))
        .unwrap_or_default();
    let tree = from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        crate::pql::printer::print(&tree),
        "select o from modelInstances(\"https://ns.adobe.com/experience/offer-management/personalized-offer\") \
         where exists r from o.xdm:representations where r.xdm:placement = \"uri:com:example:placement-1001\""
    );
}
