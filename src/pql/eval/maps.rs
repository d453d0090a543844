//! Map functions: `get`, `keys`, `values` and `mapEntry`.
//!
//! Maps are objects; they keep their keys in document order (D6.12). `identityMap.get(ns)` is
//! keyed by namespace code and returns that namespace's identity array (D3.10). `get` on an
//! array of maps maps over the items like a path step (D2.8). `mapEntry(k, v)` is the one-entry
//! map `{k: v}`; as the body of `.map(...)` it makes `.map` build a map (see `arrays`).

use super::arrays::key_of;
use super::table::{Apply, FnDef, Impl, Kind};
use super::{Frame, Val, eval, path};
use crate::pql::context::EvalContext;
use crate::pql::value::{Map, Value};

fn get<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let key = eval(&a.args[1], cx, fr);
    let Some(key) = key_of(&key) else {
        return Val::NULL;
    };
    let recv = eval(&a.args[0], cx, fr);
    path::project(recv, &[path::Step::new(key)])
}

fn keys<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    match &*eval(&a.args[0], cx, fr) {
        Value::Object(m) => Val::Own(Value::array(
            m.keys().map(|k| Value::Str(k.clone())).collect(),
        )),
        _ => Val::Own(Value::array(Vec::new())),
    }
}

fn values<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    match &*eval(&a.args[0], cx, fr) {
        Value::Object(m) => Val::Own(Value::array(m.values().cloned().collect())),
        _ => Val::Own(Value::array(Vec::new())),
    }
}

fn map_entry<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let Some(k) = key_of(&eval(&a.args[0], cx, fr)) else {
        return Val::NULL;
    };
    let v = eval(&a.args[1], cx, fr).into_value();
    let mut map = Map::default();
    map.insert(k, v);
    Val::Own(Value::object(map))
}

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::method("get", &[Kind::Any], 1, Impl::Value(get)),
    FnDef::method("keys", &[], 0, Impl::Value(keys)),
    FnDef::method("values", &[], 0, Impl::Value(values)),
    FnDef::global(
        "mapEntry",
        &[Kind::Any, Kind::Any],
        2,
        Impl::Value(map_entry),
    ),
];

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, data, eval_json};
    use serde_json::json;

    fn p() -> crate::pql::eval::testing::Data {
        data(json!({
            "identityMap": {
                "ECID": [{"id": "e1", "primary": true}, {"id": "e2"}],
                "Email": [{"id": "a@example.com"}]
            },
            "segmentMembership": {"ups": {"seg1": {"status": "realized"}, "seg2": {"status": "exited"}}},
            "offer": {"characteristics": {"prioritySegmentId": "seg1", "city": "Oslo"}},
            "homeAddress": {"city": "Oslo"},
            "externalSegmentMapProperty": {"a": {"stringProperty": "inactive"}, "b": {"stringProperty": "active"}}
        }))
    }

    #[test]
    fn get_reads_a_key() {
        let p = p();
        assert_eq!(
            eval_json(&p, "identityMap.get(\"Email\")"),
            json!([{"id": "a@example.com"}])
        );
        assert_eq!(
            eval_json(&p, "identityMap.get(\"ECID\").id"),
            json!(["e1", "e2"])
        );
        assert_eq!(
            eval_json(&p, "identityMap.get(\"example@example.com\")"),
            json!(null)
        );
        assert_eq!(eval_json(&p, "identityMap.missing.get(\"x\")"), json!(null));
        check(
            &p,
            "segmentMembership.get(\"ups\").get(offer.characteristics.get(\"prioritySegmentId\")).status in ([\"realized\",\"existing\"])",
            true,
        );
        check(
            &p,
            "offer.characteristics.get(\"city\") = homeAddress.city",
            true,
        );
    }

    #[test]
    fn keys_and_values_in_document_order() {
        let p = p();
        assert_eq!(
            eval_json(&p, "identityMap.keys()"),
            json!(["ECID", "Email"])
        );
        assert_eq!(
            eval_json(&p, "identityMap.values()"),
            json!([[{"id": "e1", "primary": true}, {"id": "e2"}], [{"id": "a@example.com"}]])
        );
        assert_eq!(eval_json(&p, "missing.keys()"), json!([]));
        check(
            &p,
            "externalSegmentMapProperty.values().exists(stringProperty=\"active\")",
            true,
        );
        check(
            &p,
            "externalSegmentMapProperty.values().exists(stringProperty=\"gone\")",
            false,
        );
    }

    #[test]
    fn map_entry_is_a_one_entry_map() {
        let p = p();
        assert_eq!(eval_json(&p, "mapEntry(\"k\", 1)"), json!({"k": 1}));
        assert_eq!(eval_json(&p, "mapEntry(3, [1, 2])"), json!({"3": [1, 2]}));
    }
}
