//! Date and time: `now`, `today`, `yesterday`, `tomorrow`, `this|last|next UNIT`, `date(y, m,
//! d)`, `currentMonth()`, `currentYear()`, `currentDayOfMonth()`, `ts.getMonth()`,
//! `ts.getYear()`, `ts.getDayOfMonth()`, and `ts occurs ...` in all its forms.
//!
//! Calendar arithmetic lives in [`crate::pql::time`]; this module turns operands into instants
//! and periods. `now` is an instant (`Value::Time`); the day words, `date(...)` and relative
//! periods are periods (`Value::Period`). A data value in a time position is read per D2.9/D6.7
//! (RFC 3339, epoch milliseconds, `YYYY-MM-DD`); anything else is null. All of it is UTC and
//! reads the evaluation instant `ctx.now`, never the clock.
//!
//! `occurs` builds its window of accepted instants once per evaluation when its anchors do not
//! depend on the current item (the usual `< 7 days before now`): such specs carry a cache index
//! into the frame.

use super::table::{Apply, FnDef, Impl, Kind};
use super::{Frame, Node, Val, eval, for_each_item};
use crate::pql::ast::{CmpOp, Direction, Relative, TimeUnit, TimeWord};
use crate::pql::context::EvalContext;
use crate::pql::time::{self, Occurs, Period, Window};
use crate::pql::value::Value;

/// `now` is an instant (`Value::Time`), the day words whole days (`Value::Period`).
pub(crate) fn time_word(w: TimeWord, now: i64) -> Value {
    Value::from(time::time_word(w, now))
}

pub(crate) fn rel_period(rel: Relative, unit: TimeUnit, now: i64) -> Value {
    time::relative_period(rel, unit, now).map_or(Value::Null, Value::from)
}

/// An `occurs` spec with compiled anchors.
#[derive(Debug)]
pub(crate) enum SpecNode {
    On(Node),
    Before(Node),
    After(Node),
    Between(Node, Node),
    Distance {
        cmp: CmpOp,
        amount: i64,
        unit: TimeUnit,
        dir: Direction,
        anchor: Node,
    },
}

/// A spec plus, when its anchors are the same for every item, its window cache slot.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) node: SpecNode,
    pub(crate) cache: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct OccursNode {
    pub(crate) ts: Node,
    pub(crate) spec: Spec,
}

fn anchor<'a>(n: &'a Node, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Option<Period> {
    time::period_of(&eval(n, cx, fr))
}

fn resolve<'a>(s: &'a SpecNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Option<Occurs> {
    Some(match s {
        SpecNode::On(p) => Occurs::On(anchor(p, cx, fr)?),
        SpecNode::Before(p) => Occurs::Before(anchor(p, cx, fr)?),
        SpecNode::After(p) => Occurs::After(anchor(p, cx, fr)?),
        SpecNode::Between(a, b) => Occurs::Between(anchor(a, cx, fr)?, anchor(b, cx, fr)?),
        SpecNode::Distance {
            cmp,
            amount,
            unit,
            dir,
            anchor: a,
        } => Occurs::Distance {
            cmp: *cmp,
            amount: *amount,
            unit: *unit,
            dir: *dir,
            anchor: anchor(a, cx, fr)?,
        },
    })
}

/// The window of a spec, from the frame's cache when the spec has a cache slot.
pub(crate) fn window<'a>(s: &'a Spec, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Option<Window> {
    if let Some(i) = s.cache {
        if let Some(cached) = fr.window(i) {
            return cached;
        }
        let w = resolve(&s.node, cx, fr).map(|o| o.window());
        fr.set_window(i, w);
        return w;
    }
    resolve(&s.node, cx, fr).map(|o| o.window())
}

/// `ts occurs spec`: existential when `ts` is an array (`xEvent.timestamp occurs today`).
pub(crate) fn test_occurs<'a>(o: &'a OccursNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let Some(w) = window(&o.spec, cx, fr) else {
        return false;
    };
    let inside = |item: &Value| time::instant_of(item).is_some_and(|t| w.contains(t));
    match &o.ts {
        Node::Path { root, steps } => super::path::any_item(*root, steps, cx, fr, inside),
        ts => !for_each_item(ts, cx, fr, &mut |item, _| !inside(&item)),
    }
}

fn current<'a>(cx: &EvalContext<'a>, f: fn(i64) -> i64) -> Val<'a> {
    Val::Own(Value::Int(f(cx.now)))
}

fn current_month<'a>(_: &'a Apply, cx: &EvalContext<'a>, _: &mut Frame<'a>) -> Val<'a> {
    current(cx, time::month)
}

fn current_year<'a>(_: &'a Apply, cx: &EvalContext<'a>, _: &mut Frame<'a>) -> Val<'a> {
    current(cx, time::year)
}

fn current_day_of_month<'a>(_: &'a Apply, cx: &EvalContext<'a>, _: &mut Frame<'a>) -> Val<'a> {
    current(cx, time::day_of_month)
}

fn part_of<'a>(
    a: &'a Apply,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    f: fn(i64) -> i64,
) -> Val<'a> {
    match time::instant_of(&eval(&a.args[0], cx, fr)) {
        Some(t) => Val::Own(Value::Int(f(t))),
        None => Val::NULL,
    }
}

fn get_month<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    part_of(a, cx, fr, time::month)
}

fn get_year<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    part_of(a, cx, fr, time::year)
}

fn get_day_of_month<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    part_of(a, cx, fr, time::day_of_month)
}

/// An integer argument: an int, or a double with no fractional part.
fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
        _ => None,
    }
}

fn date<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let mut parts = [0i64; 3];
    for (i, p) in parts.iter_mut().enumerate() {
        match int_arg(&eval(&a.args[i], cx, fr)) {
            Some(v) => *p = v,
            None => return Val::NULL,
        }
    }
    time::date(parts[0], parts[1], parts[2]).map_or(Val::NULL, |p| Val::Own(Value::from(p)))
}

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::global("currentMonth", &[], 0, Impl::Value(current_month)).impure(),
    FnDef::global("currentYear", &[], 0, Impl::Value(current_year)).impure(),
    FnDef::global(
        "currentDayOfMonth",
        &[],
        0,
        Impl::Value(current_day_of_month),
    )
    .impure(),
    FnDef::global(
        "date",
        &[Kind::Int, Kind::Int, Kind::Int],
        3,
        Impl::Value(date),
    ),
    FnDef::method("getMonth", &[], 0, Impl::Value(get_month)),
    FnDef::method("getYear", &[], 0, Impl::Value(get_year)),
    FnDef::method("getDayOfMonth", &[], 0, Impl::Value(get_day_of_month)),
];

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, compile_err, data, eval_json};
    use serde_json::json;

    // The test instant is 2024-06-20T12:00:00Z, a Thursday.
    fn p() -> crate::pql::eval::testing::Data {
        data(json!({
            "person": {"birthMonth": 6, "birthDay": 20, "birthDate": "1990-06-03",
                       "birthday": "1993-02-11T08:00:00+05:00", "birthYear": 1990},
            "product": {"saleYear": 2024, "sale": "2024-03-14T23:59:59.999Z",
                        "saleDate": "2024-06-20T09:00:00Z", "saleMillis": 1718096400000i64},
            "_repo": {"lastModifiedDate": "2024-06-20T11:45:00Z", "modifyDate": "2019-04-02"},
            "yesterdayEvent": "2024-06-19T23:59:59Z",
            "lastWeek": "2024-06-12T10:00:00Z",
            "lastMonth": "2024-05-31T23:00:00Z",
            "bad": "15/06/2024",
            "spaced": "2024-06-20 10:00:00",
            "threeDaysAgo": "2024-06-17T05:00:00Z"
        }))
    }

    #[test]
    fn current_parts_use_now() {
        let p = p();
        assert_eq!(eval_json(&p, "currentMonth()"), json!(6));
        assert_eq!(eval_json(&p, "currentYear()"), json!(2024));
        assert_eq!(eval_json(&p, "currentDayOfMonth()"), json!(20));
        check(&p, "person.birthMonth = currentMonth()", true);
        check(&p, "product.saleYear = currentYear()", true);
        check(&p, "person.birthDay = currentDayOfMonth()", true);
    }

    #[test]
    fn parts_of_timestamps() {
        let p = p();
        assert_eq!(eval_json(&p, "person.birthDate.getMonth()"), json!(6));
        check(&p, "person.birthDate.getMonth() = currentMonth()", true);
        assert_eq!(eval_json(&p, "person.birthday.getYear()"), json!(1993));
        // 08:00+05:00 is 03:00 UTC on the same day.
        assert_eq!(eval_json(&p, "person.birthday.getDayOfMonth()"), json!(11));
        check(
            &p,
            "person.birthday.getYear() in [1991, 1992, 1993, 1994, 1995]",
            true,
        );
        check(&p, "product.sale.getDayOfMonth() <= 15", true);
        assert_eq!(
            eval_json(&p, "product.saleMillis.getDayOfMonth()"),
            json!(11)
        );
        assert_eq!(eval_json(&p, "bad.getYear()"), json!(null));
        assert_eq!(eval_json(&p, "missing.getYear()"), json!(null));
        assert_eq!(eval_json(&p, "spaced.getDayOfMonth()"), json!(20));
    }

    #[test]
    fn date_and_time_words() {
        let p = p();
        assert_eq!(
            eval_json(&p, "date(2020, 3, 14)"),
            json!({"start": "2020-03-14T00:00:00.000Z", "end": "2020-03-15T00:00:00.000Z"})
        );
        assert_eq!(eval_json(&p, "date(2020, 2, 30)"), json!(null));
        assert_eq!(eval_json(&p, "now"), json!("2024-06-20T12:00:00.000Z"));
        assert_eq!(
            eval_json(&p, "today"),
            json!({"start": "2024-06-20T00:00:00.000Z", "end": "2024-06-21T00:00:00.000Z"})
        );
        assert_eq!(
            eval_json(&p, "date(currentYear() - 1, 10, 1)"),
            json!({"start": "2023-10-01T00:00:00.000Z", "end": "2023-10-02T00:00:00.000Z"})
        );
        let e = compile_err("date(2024, 6)");
        assert!(e.message.contains("date"), "{}", e.message);
        let e = compile_err("date(2024, \"6\", 1)");
        assert!(e.message.contains("integer"), "{}", e.message);
        assert_eq!(e.span.start, 11);
    }

    #[test]
    fn occurs_on_periods_and_days() {
        let p = p();
        check(&p, "product.saleDate occurs today", true);
        check(&p, "product.saleDate occurs on today", true);
        check(&p, "yesterdayEvent occurs yesterday", true);
        check(&p, "yesterdayEvent occurs today", false);
        check(&p, "lastWeek occurs last week", true);
        check(&p, "product.saleDate occurs this week", true);
        check(&p, "lastMonth occurs last month", true);
        check(&p, "lastMonth occurs this month", false);
        check(&p, "product.saleDate occurs date(2024, 6, 20)", true);
        check(&p, "product.saleDate occurs on now", true);
        check(&p, "bad occurs this year", false);
        check(&p, "missing occurs this year", false);
    }

    #[test]
    fn occurs_before_after_between() {
        let p = p();
        check(&p, "yesterdayEvent occurs before today", true);
        check(&p, "product.saleDate occurs before today", false);
        check(&p, "_repo.modifyDate occurs after date(2019, 4, 1)", true);
        check(&p, "_repo.modifyDate occurs after date(2019, 4, 2)", false);
        check(
            &p,
            "product.saleDate occurs between date(2015, 1, 8) and date(2024, 6, 20)",
            true,
        );
        check(
            &p,
            "product.saleDate occurs between date(2015, 1, 8) and date(2024, 6, 19)",
            false,
        );
        check(
            &p,
            "lastMonth occurs between last month and last week",
            true,
        );
    }

    #[test]
    fn occurs_with_distances() {
        let p = p();
        check(
            &p,
            "_repo.lastModifiedDate occurs <= 30 minutes before now",
            true,
        );
        check(
            &p,
            "_repo.lastModifiedDate occurs < 10 minutes before now",
            false,
        );
        check(&p, "product.saleDate occurs = 3 hours before now", true);
        check(&p, "product.saleDate occurs = 2 hours before now", false);
        check(&p, "threeDaysAgo occurs = 3 days before today", true);
        check(&p, "threeDaysAgo occurs != 3 days before today", false);
        check(&p, "lastWeek occurs > 3 days before now", true);
        check(&p, "product.saleDate occurs <= 3 days before now", true);
        check(&p, "product.saleDate occurs < 1 day after now", false);
    }

    #[test]
    fn occurs_from_after_and_existential_timestamps() {
        let d = crate::pql::eval::testing::profile_with_events(
            json!({
                "_repo": {"modifyDate": "2019-04-02"},
                "offer": {"selectionConstraint": {"endDate": "2024-06-21T08:00:00Z"},
                          "rank": {"priority": 4}}
            }),
            json!([
                {"timestamp": "2024-05-01T00:00:00Z"},
                {"timestamp": "2024-06-20T01:00:00Z"}
            ]),
        );
        check(&d, "_repo.modifyDate occurs from date(2019, 4, 1)", true);
        check(
            &d,
            "offer.selectionConstraint.endDate occurs <= 24 hours after now",
            true,
        );
        check(
            &d,
            "offer.selectionConstraint.endDate occurs < 12 hours after now",
            false,
        );
        assert_eq!(
            eval_json(
                &d,
                "if( offer.selectionConstraint.endDate occurs <= 24 hours after now, offer.rank.priority * 3, offer.rank.priority)"
            ),
            json!(12)
        );
        check(&d, "xEvent.timestamp occurs today", true);
        check(&d, "xEvent.timestamp occurs yesterday", false);
        check(
            &d,
            "xEvent.timestamp occurs > 3 weeks after date(2017,10,1)",
            true,
        );
        assert_eq!(
            eval_json(&d, "xEvent[timestamp occurs this month].count()"),
            json!(1)
        );
        assert_eq!(
            eval_json(&d, "xEvent[timestamp occurs last month].count()"),
            json!(1)
        );
        // Anchors that depend on the item are evaluated per item, not cached.
        check(
            &d,
            "exists A from xEvent, B from xEvent where B.timestamp occurs > 30 days after A.timestamp",
            true,
        );
        check(
            &d,
            "exists A from xEvent, B from xEvent where B.timestamp occurs > 60 days after A.timestamp",
            false,
        );
    }
}
