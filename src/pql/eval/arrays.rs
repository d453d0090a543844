//! Array, list and set functions: `intersects`, `intersection`, `subsetOf`, `supersetOf`,
//! `includes`, `distinct`, `groupBy`, `filter`, `map`, `topN`, `bottomN`, `head`, `count`,
//! `exists`.
//!
//! A receiver is read as a collection: an array's items, a single item for any other present
//! value, nothing for null (D6.4: a method on a missing receiver behaves as on `[]`; D3.4:
//! `count()` of a non-array is 1). Set functions compare items structurally (`1 = 1.0`).
//! Decisions: `intersection` keeps the receiver's order without duplicates (D3.1); `distinct`
//! keeps first occurrences and `groupBy` keys their first-occurrence order (D3.2); `topN` is
//! highest first and `bottomN` lowest first, ties in input order, null keys left out (D3.3);
//! `head()` of nothing is null (D3.4).
//!
//! Item-relative arguments (`filter(pred)`, `map(expr)`, `groupBy(key)`, `topN(expr, n)`,
//! `exists(pred)`) run with the item in the call's item slot. With a two-parameter lambda
//! (`(K, G) => ...`) a map receiver is iterated as entries (key, value) and an array as
//! (index, item); `map` always iterates a map receiver's entries (`groupBy(...).map(...)`).

use std::cmp::Ordering;
use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

use super::compare::{order, values_equal};
use super::table::{Apply, Data, FnDef, Impl, Kind};
use super::{Frame, Node, Val, eval, for_each_item, items_of, test};
use crate::pql::context::EvalContext;
use crate::pql::value::{Map, Value, format_millis};

/// Calls `f(item, frame)` for each element of the receiver, with the item (and key) bound in the
/// call's slots. `entries`: iterate a map receiver as its entries even without a key parameter.
pub(crate) fn each<'a>(
    a: &'a Apply,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    entries: bool,
    f: &mut dyn FnMut(Val<'a>, &mut Frame<'a>) -> bool,
) -> bool {
    let Some(ic) = a.item else {
        return for_each_item(&a.args[0], cx, fr, f);
    };
    if ic.key_slot.is_none() && !entries {
        return for_each_item(&a.args[0], cx, fr, &mut |item, fr| {
            fr.set(ic.slot, item.clone());
            f(item, fr)
        });
    }
    let recv = eval(&a.args[0], cx, fr);
    let mut bind = |key: Value, item: Val<'a>, fr: &mut Frame<'a>| {
        if let Some(k) = ic.key_slot {
            fr.set(k, Val::Own(key));
        }
        fr.set(ic.slot, item.clone());
        f(item, fr)
    };
    match recv {
        Val::Ref(Value::Object(m)) => m
            .iter()
            .all(|(k, v)| bind(Value::Str(k.clone()), Val::Ref(v), fr)),
        Val::Own(Value::Object(m)) => m
            .iter()
            .all(|(k, v)| bind(Value::Str(k.clone()), Val::Own(v.clone()), fr)),
        other => {
            let mut i = 0i64;
            super::for_each_item_of(other, fr, &mut |item, fr| {
                i += 1;
                bind(Value::Int(i - 1), item, fr)
            })
        }
    }
}

/// The items of a value argument (another list), null when absent.
fn arg_items<'a>(a: &'a Apply, i: usize, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    eval(&a.args[i], cx, fr)
}

fn member(set: &[Value], x: &Value) -> bool {
    set.iter().any(|y| values_equal(x, y))
}

fn intersects<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let other = arg_items(a, 1, cx, fr);
    if other.is_null() {
        return false;
    }
    let set = items_of(&other);
    !for_each_item(&a.args[0], cx, fr, &mut |item, _| !member(set, &item))
}

fn intersection<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let other = arg_items(a, 1, cx, fr);
    let set = items_of(&other);
    let mut out: Vec<Value> = Vec::new();
    for_each_item(&a.args[0], cx, fr, &mut |item, _| {
        if member(set, &item) && !member(&out, &item) {
            out.push(item.into_value());
        }
        true
    });
    Val::Own(Value::array(out))
}

fn subset_of<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let other = arg_items(a, 1, cx, fr);
    if other.is_null() {
        return false;
    }
    let set = items_of(&other);
    for_each_item(&a.args[0], cx, fr, &mut |item, _| member(set, &item))
}

fn superset_of<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let other = arg_items(a, 1, cx, fr);
    if other.is_null() {
        return false;
    }
    let mine = super::collect_items(&a.args[0], cx, fr);
    let mine = items_of(&mine);
    items_of(&other).iter().all(|x| member(mine, x))
}

fn includes<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let x = arg_items(a, 1, cx, fr);
    if x.is_null() {
        return false;
    }
    !for_each_item(&a.args[0], cx, fr, &mut |item, _| !values_equal(&item, &x))
}

fn distinct<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let mut out: Vec<Value> = Vec::new();
    for_each_item(&a.args[0], cx, fr, &mut |item, _| {
        if !member(&out, &item) {
            out.push(item.into_value());
        }
        true
    });
    Val::Own(Value::array(out))
}

fn head<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let mut first = Val::NULL;
    for_each_item(&a.args[0], cx, fr, &mut |item, _| {
        first = item;
        false
    });
    first
}

fn count<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    Val::Own(Value::Int(count_up_to(a, cx, fr, i64::MAX)))
}

/// Whether `a` is a call of `count()`.
pub(crate) fn is_count(a: &Apply) -> bool {
    a.def.method && a.def.name == "count"
}

/// `count()` of the receiver of `a`, but counting stops at `limit`: `xEvent[...].count() > 2`
/// is decided by the third matching event, whatever follows.
pub(crate) fn count_up_to<'a>(
    a: &'a Apply,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    limit: i64,
) -> i64 {
    let mut n = 0i64;
    if limit > 0 {
        for_each_item(&a.args[0], cx, fr, &mut |_, _| {
            n += 1;
            n < limit
        });
    }
    n
}

fn exists<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    !each(a, cx, fr, false, &mut |_, fr| !test(&a.args[1], cx, fr))
}

fn filter<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let keyed = a.item.is_some_and(|ic| ic.key_slot.is_some());
    let recv_is_map = keyed && matches!(&*eval(&a.args[0], cx, fr), Value::Object(_));
    let mut items = Vec::new();
    let mut map = Map::default();
    each(a, cx, fr, false, &mut |item, fr| {
        if test(&a.args[1], cx, fr) {
            if recv_is_map {
                if let Some(Val::Own(Value::Str(k))) =
                    a.item.and_then(|ic| ic.key_slot).map(|k| fr.get(k))
                {
                    map.insert(k.clone(), item.into_value());
                }
            } else {
                items.push(item.into_value());
            }
        }
        true
    });
    Val::Own(if recv_is_map {
        Value::object(map)
    } else {
        Value::array(items)
    })
}

fn filter_test<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    exists(a, cx, fr)
}

/// A map key from a value: strings as they are, numbers and booleans as written, times as RFC
/// 3339, anything else as JSON. Null has no key.
pub(crate) fn key_of(v: &Value) -> Option<Arc<str>> {
    Some(match v {
        Value::Null => return None,
        Value::Str(s) => s.clone(),
        Value::Int(i) => Arc::from(i.to_string()),
        Value::Float(f) => Arc::from(f.to_string()),
        Value::Bool(b) => Arc::from(if *b { "true" } else { "false" }),
        Value::Time(ms) => Arc::from(format_millis(*ms)),
        other => Arc::from(other.to_json().to_string()),
    })
}

fn map_fn<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let body = &a.args[1];
    if matches!(a.data, Data::MapEntry) {
        let Node::Apply(entry) = body else {
            return Val::NULL;
        };
        let mut map = Map::default();
        each(a, cx, fr, true, &mut |_, fr| {
            let k = eval(&entry.args[0], cx, fr);
            if let Some(k) = key_of(&k) {
                let v = eval(&entry.args[1], cx, fr).into_value();
                map.insert(k, v);
            }
            true
        });
        return Val::Own(Value::object(map));
    }
    let mut out = Vec::new();
    each(a, cx, fr, true, &mut |_, fr| {
        out.push(eval(body, cx, fr).into_value());
        true
    });
    Val::Own(Value::array(out))
}

fn group_by<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let mut groups: IndexMap<Arc<str>, Vec<Value>, FxBuildHasher> = IndexMap::default();
    each(a, cx, fr, false, &mut |item, fr| {
        if let Some(k) = key_of(&eval(&a.args[1], cx, fr)) {
            groups.entry(k).or_default().push(item.into_value());
        }
        true
    });
    let map: Map = groups
        .into_iter()
        .map(|(k, v)| (k, Value::array(v)))
        .collect();
    Val::Own(Value::object(map))
}

fn ranked<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>, highest: bool) -> Val<'a> {
    let n = match &*eval(&a.args[2], cx, fr) {
        Value::Int(n) => usize::try_from(*n).unwrap_or(0),
        _ => return Val::NULL,
    };
    let mut keyed: Vec<(Value, Value)> = Vec::new();
    each(a, cx, fr, false, &mut |item, fr| {
        let key = eval(&a.args[1], cx, fr).into_value();
        if !key.is_null() {
            keyed.push((key, item.into_value()));
        }
        true
    });
    // A stable sort keeps ties in input order (D3.3).
    keyed.sort_by(|(x, _), (y, _)| {
        let o = order(x, y).unwrap_or(Ordering::Equal);
        if highest { o.reverse() } else { o }
    });
    keyed.truncate(n);
    Val::Own(Value::array(keyed.into_iter().map(|(_, v)| v).collect()))
}

fn top_n<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    ranked(a, cx, fr, true)
}

fn bottom_n<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    ranked(a, cx, fr, false)
}

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::method("intersects", &[Kind::Any], 1, Impl::Test(intersects)),
    FnDef::method("intersection", &[Kind::Any], 1, Impl::Value(intersection)),
    FnDef::method("subsetOf", &[Kind::Any], 1, Impl::Test(subset_of)),
    FnDef::method("supersetOf", &[Kind::Any], 1, Impl::Test(superset_of)),
    FnDef::method("includes", &[Kind::Any], 1, Impl::Test(includes)),
    FnDef::method("distinct", &[], 0, Impl::Value(distinct)),
    FnDef::method("head", &[], 0, Impl::Value(head)),
    FnDef::method("count", &[], 0, Impl::Value(count)),
    FnDef::method("exists", &[Kind::Item], 1, Impl::Test(exists)),
    FnDef::method("filter", &[Kind::Item], 1, Impl::Both(filter, filter_test)),
    FnDef::method("map", &[Kind::Item], 1, Impl::Value(map_fn)),
    FnDef::method("groupBy", &[Kind::Item], 1, Impl::Value(group_by)),
    FnDef::method("topN", &[Kind::Item, Kind::Int], 2, Impl::Value(top_n)),
    FnDef::method(
        "bottomN",
        &[Kind::Item, Kind::Int],
        2,
        Impl::Value(bottom_n),
    ),
];

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, compile_err, data, eval_json, profile_with_events};
    use serde_json::json;

    fn p() -> crate::pql::eval::testing::Data {
        data(json!({
            "person": {
                "favoriteColors": ["red", "yellow", "blue"],
                "favoriteCities": ["Paris", "Rome"],
                "visitedCities": ["Rome", "Paris", "Oslo"],
                "eatenFoods": ["sushi", "pizza", "pasta"],
                "orders": [
                    {"storeId": "s1", "price": 10},
                    {"storeId": "s2", "price": 30},
                    {"storeId": "s1", "price": 20},
                    {"storeId": "s3"},
                    {"storeId": "s2", "price": 30}
                ]
            },
            "person1": {"favoriteColors": ["green", "red", "blue", "red"]},
            "person2": {"favoriteColors": ["blue", "green", "red", "black"]},
            "nums": [3, 1.0, 1, 2, 3],
            "scalar": "x"
        }))
    }

    #[test]
    fn intersects_and_intersection() {
        let p = p();
        check(
            &p,
            "person.favoriteColors.intersects([\"red\", \"blue\", \"green\"])",
            true,
        );
        check(&p, "person.favoriteColors.intersects([\"black\"])", false);
        check(&p, "person.missing.intersects([\"red\"])", false);
        check(
            &p,
            "person.favoriteColors.intersects(person.missing)",
            false,
        );
        check(
            &p,
            "not(person.missing.intersects(person.favoriteCities))",
            true,
        );
        assert_eq!(
            eval_json(
                &p,
                "person1.favoriteColors.intersection(person2.favoriteColors)"
            ),
            json!(["green", "red", "blue"])
        );
        check(
            &p,
            "person1.favoriteColors.intersection(person2.favoriteColors) = [\"green\", \"red\", \"blue\"]",
            true,
        );
        assert_eq!(
            eval_json(&p, "person.favoriteColors.intersection([\"black\"])"),
            json!([])
        );
        assert_eq!(
            eval_json(&p, "person.missing.intersection([\"red\"])"),
            json!([])
        );
    }

    #[test]
    fn subset_superset_and_includes() {
        let p = p();
        check(
            &p,
            "person.favoriteCities.subsetOf(person.visitedCities)",
            true,
        );
        check(
            &p,
            "person.visitedCities.subsetOf(person.favoriteCities)",
            false,
        );
        check(&p, "person.favoriteCities.subsetOf(person.missing)", false);
        check(&p, "person.missing.subsetOf(person.visitedCities)", true);
        check(
            &p,
            "person.eatenFoods.supersetOf([\"sushi\", \"pizza\"])",
            true,
        );
        check(
            &p,
            "person.eatenFoods.supersetOf([\"sushi\", \"tacos\"])",
            false,
        );
        check(&p, "person.eatenFoods.supersetOf([])", true);
        check(&p, "person.favoriteColors.includes(\"red\")", true);
        check(&p, "person.favoriteColors.includes(\"Red\")", false);
        check(&p, "person.missing.includes(\"red\")", false);
        check(&p, "nums.includes(2.0)", true);
    }

    #[test]
    fn distinct_keeps_first_occurrences() {
        let p = p();
        assert_eq!(eval_json(&p, "nums.distinct()"), json!([3, 1.0, 2]));
        assert_eq!(
            eval_json(&p, "person.orders.storeId.distinct()"),
            json!(["s1", "s2", "s3"])
        );
        check(&p, "person.orders.storeId.distinct().count() > 1", true);
        assert_eq!(eval_json(&p, "person.missing.distinct()"), json!([]));
    }

    #[test]
    fn head_and_count() {
        let p = p();
        assert_eq!(eval_json(&p, "nums.head()"), json!(3));
        assert_eq!(eval_json(&p, "person.missing.head()"), json!(null));
        assert_eq!(eval_json(&p, "[].head()"), json!(null));
        assert_eq!(eval_json(&p, "person.orders.count()"), json!(5));
        assert_eq!(eval_json(&p, "person.missing.count()"), json!(0));
        assert_eq!(eval_json(&p, "scalar.count()"), json!(1));
        assert_eq!(eval_json(&p, "person.count()"), json!(1));
        assert_eq!(eval_json(&p, "person.orders.price.count()"), json!(4));
    }

    #[test]
    fn top_n_and_bottom_n() {
        let p = p();
        assert_eq!(
            eval_json(&p, "person.orders.topN(price, 2).price"),
            json!([30, 30])
        );
        assert_eq!(
            eval_json(&p, "person.orders.topN(price, 3)"),
            json!([
                {"storeId": "s2", "price": 30},
                {"storeId": "s2", "price": 30},
                {"storeId": "s1", "price": 20}
            ])
        );
        assert_eq!(
            eval_json(&p, "person.orders.bottomN(price, 2).price"),
            json!([10, 20])
        );
        assert_eq!(
            eval_json(&p, "person.orders.topN(price, 99).count()"),
            json!(4)
        );
        assert_eq!(
            eval_json(&p, "person.orders.topN(price, 5).head().price"),
            json!(30)
        );
        assert_eq!(eval_json(&p, "person.missing.topN(price, 5)"), json!([]));
        let e = compile_err("person.orders.topN(price, \"5\")");
        assert!(e.message.contains("integer"), "{}", e.message);
    }

    #[test]
    fn filter_map_exists_and_group_by() {
        let p = p();
        assert_eq!(
            eval_json(&p, "person.orders.filter(price >= 20).storeId"),
            json!(["s2", "s1", "s2"])
        );
        assert_eq!(
            eval_json(&p, "person.orders.map(price)"),
            json!([10, 30, 20, null, 30])
        );
        assert_eq!(
            eval_json(&p, "nums.map(this * 2)"),
            json!([6, 2.0, 2, 4, 6])
        );
        assert_eq!(
            eval_json(&p, "nums.map((n) => n + 1)"),
            json!([4, 2.0, 2, 3, 4])
        );
        check(&p, "person.orders.exists(price > 25)", true);
        check(&p, "person.orders.exists(price > 35)", false);
        check(&p, "person.missing.exists(price > 1)", false);
        assert_eq!(
            eval_json(&p, "person.orders.groupBy(storeId).keys()"),
            json!(["s1", "s2", "s3"])
        );
        assert_eq!(
            eval_json(
                &p,
                "person.orders.groupBy(storeId).map((K, G) => mapEntry(K, G.count()))"
            ),
            json!({"s1": 2, "s2": 2, "s3": 1})
        );
        assert_eq!(
            eval_json(
                &p,
                "person.orders.groupBy(storeId).map((K, G) => mapEntry(K, {\"n\": G.count(), \"sum\": G.sum(price)}))"
            ),
            json!({"s1": {"n": 2, "sum": 30}, "s2": {"n": 2, "sum": 60}, "s3": {"n": 1, "sum": 0}})
        );
        assert_eq!(
            eval_json(&p, "person.orders.groupBy(storeId).map((K, G) => K)"),
            json!(["s1", "s2", "s3"])
        );
    }

    #[test]
    fn group_by_on_events_with_filters() {
        let d = profile_with_events(
            json!({}),
            json!([
                {"type": "order", "storeId": "a", "commerce": {"order": {"priceTotal": 5}}},
                {"type": "view", "storeId": "a"},
                {"type": "order", "storeId": "b", "commerce": {"order": {"priceTotal": 7.5}}},
                {"type": "order", "storeId": "a", "commerce": {"order": {"priceTotal": 1}}}
            ]),
        );
        assert_eq!(
            eval_json(
                &d,
                "xEvent[type=\"order\"].groupBy(storeId).map((K, G) => mapEntry(K, G.sum(commerce.order.priceTotal)))"
            ),
            json!({"a": 6, "b": 7.5})
        );
        assert_eq!(
            eval_json(&d, "xEvent[type=\"order\"].groupBy(storeId).a.count()"),
            json!(2)
        );
    }
}
