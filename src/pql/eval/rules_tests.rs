//! Whole-expression tests of the Part 1 rules that cut across function groups (D2 null and
//! truthiness rules, D6.4 missing receivers, D2.9/D6.7 timestamp forms), and a property test
//! that no data makes the evaluator panic.

use proptest::prelude::*;
use serde_json::json;

use super::testing::{Data, NOW, check, compile_src, data, eval_json, profile_with_events};
use crate::pql::context::{EvalContext, NoMemberships};
use crate::pql::value::Value;

fn sparse() -> Data {
    data(json!({
        "homeAddress": {"countryISO": "US", "stateProvinceISO": "CA"},
        "emptyAddress": {},
        "nothing": null,
        "flagFalse": false,
        "flagTrue": true,
        "zero": 0,
        "emptyString": "",
        "emptyList": [],
        "list": [null],
        "person": {"name": "Ann"}
    }))
}

#[test]
fn d2_3_boolean_positions() {
    let d = sparse();
    check(&d, "homeAddress", true);
    check(&d, "homeAddress.countryISO", true);
    check(&d, "homeAddress.city", false);
    check(&d, "emptyAddress", false);
    check(&d, "nothing", false);
    check(&d, "flagFalse", false);
    check(&d, "flagTrue", true);
    check(&d, "zero", true);
    check(&d, "emptyString", true);
    check(&d, "emptyList", false);
    check(&d, "list", true);
    check(&d, "missing or homeAddress", true);
    check(&d, "not missing", true);
    check(&d, "not flagFalse and flagTrue", true);
    check(&d, "xEvent", false);
    check(&d, "select X from emptyList", false);
    assert_eq!(eval_json(&d, "if(nothing, 1, 2)"), json!(2));
    assert_eq!(eval_json(&d, "if(emptyList, 1, 2)"), json!(2));
    assert_eq!(eval_json(&d, "if(zero, 1, 2)"), json!(1));
}

#[test]
fn d2_2_null_makes_every_comparison_false() {
    let d = sparse();
    for op in ["=", "!=", "<", "<=", ">", ">="] {
        check(&d, &format!("missing {op} 1"), false);
        check(&d, &format!("1 {op} missing"), false);
        check(&d, &format!("nothing {op} \"x\""), false);
        check(&d, &format!("missing {op} missing"), false);
        check(&d, &format!("not (missing {op} 1)"), true);
    }
    for f in [
        "startsWith",
        "doesNotStartWith",
        "endsWith",
        "doesNotEndWith",
        "contains",
        "doesNotContain",
        "equals",
        "notEqualTo",
    ] {
        check(&d, &format!("missing.{f}(\"a\")"), false);
        check(&d, &format!("person.name.{f}(missing)"), false);
    }
    check(&d, "missing in [1]", false);
    check(&d, "missing notIn [1]", false);
    check(&d, "1 in missing", false);
    check(&d, "1 notIn missing", false);
    check(&d, "missing like \"%\"", false);
    check(&d, "missing matches \"\"", false);
    check(
        &d,
        "homeAddress.countryISO = \"US\" and homeAddress.stateProvinceISO in [\"CA\", \"OR\"]",
        true,
    );
}

#[test]
fn d2_4_is_null() {
    let d = sparse();
    check(&d, "missing.isNull()", true);
    check(&d, "nothing.isNull()", true);
    check(&d, "missing.deeper.isNull()", true);
    check(&d, "emptyList.isNull()", false);
    check(&d, "emptyAddress.isNull()", false);
    check(&d, "flagFalse.isNull()", false);
    check(&d, "emptyString.isNotNull()", true);
}

#[test]
fn d2_5_arithmetic_propagates_null() {
    let d = sparse();
    for op in ["+", "-", "*", "/", "%"] {
        assert_eq!(
            eval_json(&d, &format!("missing {op} 1")),
            json!(null),
            "{op}"
        );
        assert_eq!(
            eval_json(&d, &format!("1 {op} nothing")),
            json!(null),
            "{op}"
        );
        check(&d, &format!("missing {op} 1 = missing {op} 1"), false);
    }
    assert_eq!(eval_json(&d, "-missing"), json!(null));
    assert_eq!(eval_json(&d, "1 / 0"), json!(null));
    assert_eq!(eval_json(&d, "7 / 2"), json!(3.5));
}

#[test]
fn d6_4_methods_on_missing_receivers_behave_as_on_empty() {
    let d = sparse();
    assert_eq!(eval_json(&d, "missing.count()"), json!(0));
    assert_eq!(eval_json(&d, "missing.sum(x)"), json!(0));
    assert_eq!(eval_json(&d, "missing.average(x)"), json!(null));
    assert_eq!(eval_json(&d, "missing.min(x)"), json!(null));
    assert_eq!(eval_json(&d, "missing.max(x)"), json!(null));
    assert_eq!(eval_json(&d, "missing.head()"), json!(null));
    assert_eq!(eval_json(&d, "missing.distinct()"), json!([]));
    assert_eq!(eval_json(&d, "missing.filter(x = 1)"), json!([]));
    assert_eq!(eval_json(&d, "missing.map(x)"), json!([]));
    assert_eq!(eval_json(&d, "missing.topN(x, 3)"), json!([]));
    assert_eq!(eval_json(&d, "missing.groupBy(x)"), json!({}));
    assert_eq!(eval_json(&d, "missing[x = 1]"), json!([]));
    check(&d, "missing.exists(x = 1)", false);
    check(&d, "exists X from missing", false);
    check(&d, "forall X from missing where X = 1", true);
    assert_eq!(eval_json(&d, "select X from missing"), json!([]));
}

#[test]
fn d2_9_and_d6_7_timestamp_forms() {
    let d = data(json!({
        "rfc": "2024-06-20T10:00:00Z",
        "offset": "2024-06-20T12:30:00+02:00",
        "lower": "2024-06-20t10:00:00z",
        "space": "2024-06-20 10:00:00",
        "noOffset": "2024-06-20T10:00:00",
        "dateOnly": "2024-06-20",
        "millis": 1718877600000i64,
        "european": "15/06/2024",
        "word": "yesterday",
        "bool": true
    }));
    for f in [
        "rfc", "offset", "lower", "space", "noOffset", "dateOnly", "millis",
    ] {
        check(&d, &format!("{f} occurs today"), true);
        check(&d, &format!("{f} < now"), true);
    }
    for f in ["european", "word", "bool", "missing"] {
        check(&d, &format!("{f} occurs today"), false);
        check(&d, &format!("{f} < now"), false);
        check(&d, &format!("{f} >= now"), false);
        assert_eq!(eval_json(&d, &format!("{f}.getYear()")), json!(null), "{f}");
    }
}

#[test]
fn arrays_of_events_project_and_compare_existentially() {
    let d = profile_with_events(
        json!({}),
        json!([
            {"metrics": {"commerce": {"abandons": {"value": 0}}}, "device": {"model": "a"}},
            {"metrics": {"commerce": {"abandons": {"value": 2}}}},
            {"device": {"model": "b"}}
        ]),
    );
    check(&d, "xEvent.metrics.commerce.abandons.value > 0", true);
    check(&d, "xEvent.metrics.commerce.abandons.value > 5", false);
    assert_eq!(eval_json(&d, "xEvent.device.model"), json!(["a", "b"]));
    check(&d, "xEvent.device.model = [\"a\", \"b\"]", true);
    check(&d, "xEvent.device.model in [\"b\"]", true);
    check(&d, "xEvent.device.model.contains(\"b\")", true);
    check(&d, "xEvent.nothing", false);
}

#[test]
fn results_are_plain_json_values() {
    let d = sparse();
    assert_eq!(
        eval_json(
            &d,
            "{\"a\": 1, \"b\": [homeAddress.countryISO, missing], \"c\": {\"d\": true}}"
        ),
        json!({"a": 1, "b": ["US", null], "c": {"d": true}})
    );
    assert_eq!(
        eval_json(&d, "[1, 2.5, \"x\", [true]]"),
        json!([1, 2.5, "x", [true]])
    );
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e6f64..1e6).prop_map(serde_json::Value::from),
        prop_oneof![
            Just("2024-06-20T10:00:00Z".to_string()),
            Just("2024-06-19".to_string()),
            Just("x".to_string()),
            Just("".to_string()),
            "[a-z]{0,4}".prop_map(String::from),
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("a"),
                        Just("b"),
                        Just("timestamp"),
                        Just("eventType"),
                        Just("x")
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

const EXPRESSIONS: &[&str] = &[
    "a = 1",
    "a.b != \"x\"",
    "a < b",
    "a >= \"2024-01-01\"",
    "a in b",
    "a notIn [1, \"x\", true]",
    "a + b * x - 1 / b % a",
    "-a",
    "a.startsWith(b, false)",
    "a like \"%x_\"",
    "a matches \"x+\"",
    "a.regexGroup(\"(x)\", 1)",
    "a.intersects(b)",
    "a.intersection(b)",
    "a.subsetOf(b)",
    "a.supersetOf(b)",
    "a.includes(x)",
    "a.distinct()",
    "a.groupBy(b)",
    "a.filter(b = 1)",
    "a.map(b)",
    "a.topN(b, 2)",
    "a.bottomN(x, 3)",
    "a.head().b",
    "a.count()",
    "a.exists(x)",
    "a.get(\"b\")",
    "a.keys()",
    "a.values()",
    "mapEntry(a, b)",
    "a.sum(b)",
    "a.average()",
    "a.min(x)",
    "a.max()",
    "a.getMonth()",
    "b.getYear() = currentYear()",
    "date(a, b, x)",
    "a occurs today",
    "a occurs < 3 days before b",
    "a occurs between b and now",
    "a occurs = 2 months after x",
    "a[b[^.x = ^^.a]]",
    "select X from a where X.b, Y from X",
    "forall X from a where X = b, Y from x",
    "sum X.b over X from a where X.x",
    "let v = a in v.b",
    "a.groupBy(x).map((K, G) => mapEntry(K, G.count()))",
    "isNull(a)",
    "chain(xEvent, timestamp, [A: WHAT(eventType = \"x\") WHEN(< 2 days before now), B: WHAT(a) COUNT(2) WHERE(^.b)])",
    "xEvent[timestamp occurs this week].groupBy(eventType)",
    "xEvent.x.b > xEvent.a",
    "if(a, b, x)",
    "{\"k\": a, \"l\": [b, x]}",
    "a = [1, b]",
    "a.map((k, v) => k)",
    "a.filter((k, v) => v)",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn no_data_makes_evaluation_panic(profile in arb_json(), events in arb_json()) {
        let profile = Value::from_json(&profile);
        let events = Value::from_json(&events);
        let cx = EvalContext { profile: &profile, events: &events, memberships: &NoMemberships, now: NOW };
        for src in EXPRESSIONS {
            let Ok(prog) = crate::pql::compile_text(src) else { continue };
            let v = prog.evaluate(&cx);
            prop_assert_eq!(v.truthy(), prog.matches(&cx), "{}", src);
        }
    }
}

#[test]
fn the_expression_list_compiles() {
    for src in EXPRESSIONS {
        if *src != "isNull(a)" {
            compile_src(src);
        }
    }
}
