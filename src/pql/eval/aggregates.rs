//! Aggregates: the methods `sum`, `average`, `min`, `max` (`orders.sum(price)`, with the value
//! expression evaluated per item, D3.5) and the comprehension form `sum V over X from D where C,
//! ...` (also `average`, `min`, `max`, `count`; D6.3).
//!
//! Null values are skipped and arrays contribute their items; `sum` of nothing is 0,
//! `average`/`min`/`max` of nothing are null (D3.5). A sum of integers stays an integer (null on
//! overflow, D2.5); any double makes it a double; `average` is always a double. `min`/`max` work
//! on numbers, or on strings (by code point) and times when there are no numbers.

use std::cmp::Ordering;

use super::binders::{Decl, search};
use super::compare::order;
use super::table::{Apply, FnDef, Impl, Kind};
use super::{Frame, Node, Val, eval, for_each_item};
use crate::pql::ast::AggregateFn;
use crate::pql::context::EvalContext;
use crate::pql::value::Value;

/// `sum|average|min|max|count [value] over decls`.
#[derive(Debug)]
pub(crate) struct AggregateNode {
    pub(crate) func: AggregateFn,
    pub(crate) value: Option<Node>,
    pub(crate) decls: Box<[Decl]>,
}

/// A running aggregate.
pub(crate) struct Acc {
    func: AggregateFn,
    n: u64,
    int_sum: Option<i64>,
    float_sum: f64,
    any_float: bool,
    best_num: Option<Value>,
    best_other: Option<Value>,
}

impl Acc {
    pub(crate) fn new(func: AggregateFn) -> Acc {
        Acc {
            func,
            n: 0,
            int_sum: Some(0),
            float_sum: 0.0,
            any_float: false,
            best_num: None,
            best_other: None,
        }
    }

    pub(crate) fn add(&mut self, v: &Value) {
        match v {
            Value::Null => {}
            Value::Array(items) => items.iter().for_each(|x| self.add(x)),
            Value::Int(i) => {
                self.n += 1;
                self.int_sum = self.int_sum.and_then(|s| s.checked_add(*i));
                self.float_sum += *i as f64;
                self.keep_best(v, true);
            }
            Value::Float(f) => {
                self.n += 1;
                self.any_float = true;
                self.float_sum += f;
                self.keep_best(v, true);
            }
            Value::Str(_) | Value::Time(_) | Value::Period { .. } => {
                if self.func == AggregateFn::Count {
                    self.n += 1;
                }
                self.keep_best(v, false);
            }
            Value::Bool(_) | Value::Object(_) => {
                if self.func == AggregateFn::Count {
                    self.n += 1;
                }
            }
        }
    }

    fn keep_best(&mut self, v: &Value, numeric: bool) {
        let want = match self.func {
            AggregateFn::Min => Ordering::Less,
            AggregateFn::Max => Ordering::Greater,
            _ => return,
        };
        let slot = if numeric {
            &mut self.best_num
        } else {
            &mut self.best_other
        };
        let better = match slot {
            None => true,
            Some(cur) => order(v, cur) == Some(want),
        };
        if better {
            *slot = Some(v.clone());
        }
    }

    /// Counts one item without looking at it (`count over X from ...`).
    fn add_one(&mut self) {
        self.n += 1;
    }

    pub(crate) fn finish(self) -> Value {
        match self.func {
            AggregateFn::Count => Value::Int(i64::try_from(self.n).unwrap_or(i64::MAX)),
            AggregateFn::Sum if self.any_float => finite(self.float_sum),
            AggregateFn::Sum => self.int_sum.map_or(Value::Null, Value::Int),
            AggregateFn::Average if self.n == 0 => Value::Null,
            AggregateFn::Average => finite(self.float_sum / self.n as f64),
            AggregateFn::Min | AggregateFn::Max => {
                self.best_num.or(self.best_other).unwrap_or(Value::Null)
            }
        }
    }
}

fn finite(f: f64) -> Value {
    if f.is_finite() {
        Value::Float(f)
    } else {
        Value::Null
    }
}

/// The method forms: with an argument, the argument evaluated per item; without, the items.
fn aggregate_method<'a>(
    a: &'a Apply,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    func: AggregateFn,
) -> Val<'a> {
    let mut acc = Acc::new(func);
    match (a.arg(1), a.item) {
        (Some(value), Some(ic)) => {
            for_each_item(&a.args[0], cx, fr, &mut |item, fr| {
                fr.set(ic.slot, item);
                acc.add(&eval(value, cx, fr));
                true
            });
        }
        _ => {
            for_each_item(&a.args[0], cx, fr, &mut |item, _| {
                acc.add(&item);
                true
            });
        }
    }
    Val::Own(acc.finish())
}

fn sum<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    aggregate_method(a, cx, fr, AggregateFn::Sum)
}

fn average<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    aggregate_method(a, cx, fr, AggregateFn::Average)
}

fn min<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    aggregate_method(a, cx, fr, AggregateFn::Min)
}

fn max<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    aggregate_method(a, cx, fr, AggregateFn::Max)
}

/// The comprehension form: every binding tuple that satisfies the conditions contributes its
/// value (or, without one, the first variable; `count` without one counts tuples).
pub(crate) fn eval_over<'a>(
    agg: &'a AggregateNode,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> Val<'a> {
    let mut acc = Acc::new(agg.func);
    search(&agg.decls, cx, fr, &mut |fr| {
        match (&agg.value, agg.func) {
            (Some(v), _) => acc.add(&eval(v, cx, fr)),
            (None, AggregateFn::Count) => acc.add_one(),
            (None, _) => {
                if let Some(d) = agg.decls.first() {
                    let item = fr.get(d.slot).clone();
                    acc.add(&item);
                }
            }
        }
        true
    });
    Val::Own(acc.finish())
}

const VALUE: &[Kind] = &[Kind::Item];

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::method("sum", VALUE, 0, Impl::Value(sum)),
    FnDef::method("average", VALUE, 0, Impl::Value(average)),
    FnDef::method("min", VALUE, 0, Impl::Value(min)),
    FnDef::method("max", VALUE, 0, Impl::Value(max)),
];

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, data, eval_json, profile_with_events};
    use serde_json::json;

    fn p() -> crate::pql::eval::testing::Data {
        profile_with_events(
            json!({
                "orders": [
                    {"order": {"price": 10}}, {"order": {"price": 2.5}},
                    {"order": {}}, {"order": {"price": 7}}
                ],
                "ints": [1, 2, 3],
                "big": [9223372036854775807i64, 1],
                "names": ["b", "a", "c"],
                "empty": []
            }),
            json!([
                {"timestamp": "2024-06-01T00:00:00Z", "commerce": {"order": {"priceTotal": 150, "currencyCode": "USD"}}},
                {"timestamp": "2024-06-02T00:00:00Z", "commerce": {"order": {"priceTotal": 500, "currencyCode": "USD"}}},
                {"timestamp": "2024-06-03T00:00:00Z", "commerce": {"order": {"priceTotal": 99, "currencyCode": "EUR"}}},
                {"timestamp": "2024-06-04T00:00:00Z", "productListItems": [{"p": 1}, {"p": 2}, {"p": 3}]}
            ]),
        )
    }

    #[test]
    fn method_forms_take_item_relative_values() {
        let p = p();
        assert_eq!(eval_json(&p, "orders.sum(order.price)"), json!(19.5));
        assert_eq!(eval_json(&p, "orders.average(order.price)"), json!(6.5));
        assert_eq!(eval_json(&p, "orders.min(order.price)"), json!(2.5));
        assert_eq!(eval_json(&p, "orders.max(order.price)"), json!(10));
        assert_eq!(eval_json(&p, "orders.count()"), json!(4));
        assert_eq!(eval_json(&p, "ints.sum()"), json!(6));
        assert_eq!(eval_json(&p, "ints.average()"), json!(2.0));
        assert_eq!(eval_json(&p, "names.min()"), json!("a"));
        assert_eq!(eval_json(&p, "names.max()"), json!("c"));
    }

    #[test]
    fn empty_and_missing_inputs() {
        let p = p();
        assert_eq!(eval_json(&p, "empty.sum(x)"), json!(0));
        assert_eq!(eval_json(&p, "missing.sum(x)"), json!(0));
        assert_eq!(eval_json(&p, "empty.average(x)"), json!(null));
        assert_eq!(eval_json(&p, "missing.min(x)"), json!(null));
        assert_eq!(eval_json(&p, "missing.max()"), json!(null));
        check(&p, "missing.max(x) > 0", false);
        assert_eq!(eval_json(&p, "big.sum()"), json!(null));
    }

    #[test]
    fn comprehension_forms() {
        let p = p();
        let total = "sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = \"USD\"";
        assert_eq!(eval_json(&p, total), json!(650));
        check(
            &p,
            &format!("let S = ({total}) in (S > 100 and S < 1000)"),
            true,
        );
        assert_eq!(eval_json(&p, "sum X from ints where X > 1"), json!(5));
        assert_eq!(eval_json(&p, "count X from ints where X > 1"), json!(2));
        assert_eq!(eval_json(&p, "max X from ints"), json!(3));
        assert_eq!(eval_json(&p, "average X from empty"), json!(null));
        assert_eq!(eval_json(&p, "sum X from missing"), json!(0));
        assert_eq!(
            eval_json(
                &p,
                "sum X.commerce.order.priceTotal + Y.commerce.order.priceTotal over X from xEvent where X.commerce.order, Y from xEvent where Y.commerce.order and Y.timestamp occurs < 2 days after X.timestamp"
            ),
            json!(150 + 150 + 150 + 500 + 500 + 500 + 500 + 99 + 99 + 99)
        );
    }

    #[test]
    fn filtered_event_aggregates() {
        let p = p();
        assert_eq!(
            eval_json(
                &p,
                "xEvent[commerce.order.currencyCode = \"USD\"].sum(commerce.order.priceTotal)"
            ),
            json!(650)
        );
        assert_eq!(
            eval_json(
                &p,
                "(select X from xEvent where X.productListItems.count() > 2).count()"
            ),
            json!(1)
        );
        let d = data(json!({"n": [1.5, null, "x", 2]}));
        assert_eq!(eval_json(&d, "n.sum()"), json!(3.5));
    }
}
