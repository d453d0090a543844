//! Comparisons (`= != < <= > >=`), membership (`in`, `notIn`) and `isNull`/`isNotNull`.
//!
//! The rules, all from Part 1:
//! * Null on either side makes every comparison and `in`/`notIn` false (D2.2), so `!=` and
//!   `notIn` are not negations of `=` and `in`.
//! * Ints and doubles compare numerically (D2.6, D6.5). Strings compare case-sensitively and
//!   order by code point (D2.7). Booleans and objects support only `=`/`!=`. Values of different
//!   kinds are unequal, and ordering them is false.
//! * A string *literal* meeting a boolean or number is read as that kind when it parses exactly
//!   (`isHomePage = "true"`, `age > "30"`; D2.6, D6.5). [`Lit`] says which sides are literals.
//! * When either side is a time value (`now`, `today`, `date(...)`, a time function's result) the
//!   comparison is chronological and the other side is read as a timestamp (D6.6). An instant
//!   equals a period when it lies inside it; for ordering a period stands for its start (Part 2
//!   §5.1: a day word used as an anchor denotes the start of the day).
//! * An array from data against a scalar is existential; an array against an array is ordered
//!   element-wise equality (D2.8, D6.6). A list literal against a scalar is a comparison of two
//!   different kinds (unequal).

use std::cmp::Ordering;

use super::table::{Apply, FnDef, Impl};
use super::{CmpOp, Frame, Lit, Node, eval, for_each_item};
use crate::pql::context::EvalContext;
use crate::pql::time;
use crate::pql::value::{Object, Value};

/// How two present values relate.
enum Rel {
    /// Same orderable kind.
    Ord(Ordering),
    /// Same kind, equality only (booleans, objects, arrays).
    Eq(bool),
    /// Different kinds: unequal, unordered.
    Unrelated,
}

fn apply_rel(op: CmpOp, rel: Rel) -> bool {
    match rel {
        Rel::Ord(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
        Rel::Eq(e) => match op {
            CmpOp::Eq => e,
            CmpOp::Ne => !e,
            _ => false,
        },
        Rel::Unrelated => op == CmpOp::Ne,
    }
}

/// `l op r` under the rules above.
pub(crate) fn compare(op: CmpOp, l: &Value, r: &Value, lit: Lit) -> bool {
    match (l, r) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(a), Value::Array(b)) => match op {
            CmpOp::Eq => arrays_equal(a, b, lit.items()),
            CmpOp::Ne => !arrays_equal(a, b, lit.items()),
            _ => false,
        },
        // A list literal is a value of its own kind, not a projection (D2.6, D6.6).
        (Value::Array(_), _) if lit.left_list => op == CmpOp::Ne,
        (_, Value::Array(_)) if lit.right_list => op == CmpOp::Ne,
        (Value::Array(a), _) => a.iter().any(|x| compare(op, x, r, lit.items())),
        (_, Value::Array(b)) => b.iter().any(|y| compare(op, l, y, lit.items())),
        // Equality needs no ordering: lengths first, which spares reading most strings' bytes.
        (Value::Str(a), Value::Str(b)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            str_eq(a, b) == (op == CmpOp::Eq)
        }
        _ if is_time(l) || is_time(r) => compare_times(op, l, r),
        _ => apply_rel(op, relate(l, r, lit)),
    }
}

fn str_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

fn is_time(v: &Value) -> bool {
    matches!(v, Value::Time(_) | Value::Period { .. })
}

enum TimeVal {
    Instant(i64),
    Period(i64, i64),
}

fn as_time(v: &Value) -> Option<TimeVal> {
    match v {
        Value::Period { start, end } => Some(TimeVal::Period(*start, *end)),
        other => time::instant_of(other).map(TimeVal::Instant),
    }
}

fn compare_times(op: CmpOp, l: &Value, r: &Value) -> bool {
    let (Some(a), Some(b)) = (as_time(l), as_time(r)) else {
        return false;
    };
    let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
    let rel = match (a, b) {
        (TimeVal::Instant(x), TimeVal::Instant(y)) => Rel::Ord(x.cmp(&y)),
        (TimeVal::Instant(x), TimeVal::Period(s, e))
        | (TimeVal::Period(s, e), TimeVal::Instant(x))
            if equality =>
        {
            Rel::Eq(s <= x && x < e)
        }
        (TimeVal::Instant(x), TimeVal::Period(s, _)) => Rel::Ord(x.cmp(&s)),
        (TimeVal::Period(s, _), TimeVal::Instant(x)) => Rel::Ord(s.cmp(&x)),
        (TimeVal::Period(s1, e1), TimeVal::Period(s2, e2)) if equality => {
            Rel::Eq(s1 == s2 && e1 == e2)
        }
        (TimeVal::Period(s1, _), TimeVal::Period(s2, _)) => Rel::Ord(s1.cmp(&s2)),
    };
    apply_rel(op, rel)
}

fn relate(l: &Value, r: &Value, lit: Lit) -> Rel {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Rel::Ord(a.cmp(b)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            match as_f64(l).partial_cmp(&as_f64(r)) {
                Some(o) => Rel::Ord(o),
                None => Rel::Unrelated,
            }
        }
        (Value::Str(a), Value::Str(b)) => Rel::Ord(a.as_bytes().cmp(b.as_bytes())),
        (Value::Bool(a), Value::Bool(b)) => Rel::Eq(a == b),
        (Value::Object(a), Value::Object(b)) => Rel::Eq(objects_equal(a, b)),
        (Value::Str(s), Value::Bool(_) | Value::Int(_) | Value::Float(_)) if lit.left => {
            match coerce_like(s, r) {
                Some(c) => relate(&c, r, Lit::default()),
                None => Rel::Unrelated,
            }
        }
        (Value::Bool(_) | Value::Int(_) | Value::Float(_), Value::Str(s)) if lit.right => {
            match coerce_like(s, l) {
                Some(c) => relate(l, &c, Lit::default()),
                None => Rel::Unrelated,
            }
        }
        _ => Rel::Unrelated,
    }
}

pub(crate) fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// A string literal read as the kind of `other` when it parses exactly (D6.5): `"true"`,
/// `"false"`, `"42"`, `"0.75"`; not `"TRUE"`, `" 42"` or `"0x10"`.
fn coerce_like(s: &str, other: &Value) -> Option<Value> {
    match other {
        Value::Bool(_) => match s {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => parse_number(s),
    }
}

fn parse_number(s: &str) -> Option<Value> {
    let plausible = !s.is_empty()
        && !s.starts_with('+')
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plausible {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Value::Float)
}

fn arrays_equal(a: &[Value], b: &[Value], lit: Lit) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Value::Null, Value::Null) => true,
            _ => compare(CmpOp::Eq, x, y, lit),
        })
}

fn objects_equal(a: &Object, b: &Object) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| values_equal(v, w)))
}

/// Structural equality used by set functions, `distinct` and `groupBy`: like `=` but without
/// existential array semantics, and null equals null.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q))
        }
        (Value::Array(_), _) | (_, Value::Array(_)) => false,
        _ => compare(CmpOp::Eq, a, b, Lit::default()),
    }
}

/// An ordering for sorting (`topN`, `bottomN`, `min`, `max`): numbers numerically, strings by
/// code point, times chronologically; `None` across kinds.
pub(crate) fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        _ if is_time(a) || is_time(b) => match (as_time(a), as_time(b)) {
            (Some(x), Some(y)) => Some(time_key(&x).cmp(&time_key(&y))),
            _ => None,
        },
        _ => match relate(a, b, Lit::default()) {
            Rel::Ord(o) => Some(o),
            _ => None,
        },
    }
}

fn time_key(t: &TimeVal) -> i64 {
    match t {
        TimeVal::Instant(x) | TimeVal::Period(x, _) => *x,
    }
}

/// A comparison in boolean position. When the right side is a scalar and the left a path, the
/// left side's items are streamed (existential test without building the projected array).
pub(crate) fn test_cmp<'a>(
    op: CmpOp,
    lit: Lit,
    lhs: &'a Node,
    rhs: &'a Node,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> bool {
    let r = eval(rhs, cx, fr);
    match &*r {
        Value::Null => false,
        Value::Array(_) => {
            let l = eval(lhs, cx, fr);
            compare(op, &l, &r, lit)
        }
        rv => match lhs {
            Node::Apply(a) if super::arrays::is_count(a) => {
                // `count() op n` is decided once the count passes n: counting stops there.
                let limit = match rv {
                    Value::Int(n) => n.saturating_add(1),
                    _ => i64::MAX,
                };
                let counted = super::arrays::count_up_to(a, cx, fr, limit);
                compare(op, &Value::Int(counted), rv, lit)
            }
            Node::Path { root, steps } => {
                super::path::any_item(*root, steps, cx, fr, |item| compare(op, item, rv, lit))
            }
            Node::Filter { .. } => {
                !for_each_item(lhs, cx, fr, &mut |item, _| !compare(op, &item, rv, lit))
            }
            _ => {
                let l = eval(lhs, cx, fr);
                compare(op, &l, rv, lit)
            }
        },
    }
}

/// `lhs in rhs` / `lhs notIn rhs`: both sides present; an array on the left is existential.
pub(crate) fn test_in<'a>(
    negate: bool,
    lit: Lit,
    lhs: &'a Node,
    rhs: &'a Node,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> bool {
    let r = eval(rhs, cx, fr);
    if r.is_null() {
        return false;
    }
    let set = super::items_of(&r);
    if let Node::Path { root, steps } = lhs {
        super::path::any_item(*root, steps, cx, fr, |item| in_one(item, set, lit, negate))
    } else {
        let l = eval(lhs, cx, fr);
        in_one(&l, set, lit, negate)
    }
}

fn in_one(x: &Value, set: &[Value], lit: Lit, negate: bool) -> bool {
    match x {
        Value::Null => false,
        Value::Array(items) => items.iter().any(|i| in_one(i, set, lit, negate)),
        _ => set.iter().any(|y| compare(CmpOp::Eq, x, y, lit.items())) != negate,
    }
}

fn is_null<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    eval(&a.args[0], cx, fr).is_null()
}

fn is_not_null<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    !is_null(a, cx, fr)
}

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::method("isNull", &[], 0, Impl::Test(is_null)),
    FnDef::method("isNotNull", &[], 0, Impl::Test(is_not_null)),
];

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, data};
    use serde_json::json;

    fn profile() -> crate::pql::eval::testing::Data {
        data(json!({
            "homeAddress": {"countryISO": "CA", "stateProvince": "ON", "city": "Toronto"},
            "workAddress": {"stateProvince": "ON"},
            "person": {"birthMonth": 3, "birthYear": 1985, "height": 1.0, "name": "John",
                       "favoriteCities": ["Paris", "Toronto"], "citiesVisited": ["London", "Paris"]},
            "isHomePage": true,
            "score": 42,
            "ratio": 0.75,
            "code": "42",
            "emptyList": [],
            "emptyObj": {},
            "nothing": null,
            "ts": "2024-06-15T10:00:00Z",
            "tsMillis": 1718445600000i64,
            "colors": ["red", "blue", "green"]
        }))
    }

    #[test]
    fn equality_and_inequality_with_null_are_false() {
        let p = profile();
        check(&p, "homeAddress.countryISO = \"CA\"", true);
        check(&p, "homeAddress.countryISO != \"CA\"", false);
        check(&p, "homeAddress.country = \"CA\"", false);
        check(&p, "homeAddress.country != \"CA\"", false);
        check(&p, "not (homeAddress.country = \"CA\")", true);
        check(&p, "nothing = nothing", false);
        check(&p, "nothing != 1", false);
        check(
            &p,
            "$1.homeAddress.stateProvince = $1.homeAddress.stateProvince",
            true,
        );
        check(
            &p,
            "homeAddress.stateProvince = workAddress.stateProvince",
            true,
        );
    }

    #[test]
    fn numbers_compare_numerically_across_int_and_double() {
        let p = profile();
        check(&p, "person.height = 1", true);
        check(&p, "person.birthMonth = 3.0", true);
        check(&p, "person.birthMonth > 2", true);
        check(&p, "person.birthMonth >= 3", true);
        check(&p, "person.birthMonth < 3", false);
        check(&p, "person.birthMonth <= 2.5", false);
        check(&p, "person.birthMonth in [1.0, 3.0]", true);
    }

    #[test]
    fn string_literals_coerce_to_booleans_and_numbers_only_when_exact() {
        let p = profile();
        check(&p, "isHomePage = \"true\"", true);
        check(&p, "isHomePage = \"TRUE\"", false);
        check(&p, "isHomePage != \"TRUE\"", true);
        check(&p, "\"true\" = isHomePage", true);
        check(&p, "score = \"42\"", true);
        check(&p, "score > \"41\"", true);
        check(&p, "ratio = \"0.75\"", true);
        check(&p, "score = \" 42\"", false);
        check(&p, "score in [\"41\", \"42\"]", true);
        check(&p, "score notIn [\"41\", \"42\"]", false);
        // A string field is not a literal: no coercion between two fields.
        check(&p, "score = code", false);
        check(&p, "code = \"42\"", true);
        check(&p, "code = 42", false);
    }

    #[test]
    fn strings_order_by_code_point_and_mixed_kinds_do_not_order() {
        let p = profile();
        check(&p, "person.name < \"Joz\"", true);
        check(&p, "person.name > \"Jo\"", true);
        check(&p, "person.name < \"john\"", true);
        check(&p, "person.name = \"john\"", false);
        check(&p, "person.name > 5", false);
        check(&p, "person.name < 5", false);
        check(&p, "person.name != 5", true);
        check(&p, "isHomePage > false", false);
    }

    #[test]
    fn time_values_make_comparisons_chronological() {
        let p = profile();
        check(&p, "ts < now", true);
        check(&p, "tsMillis < now", true);
        check(&p, "ts > date(2024, 6, 1)", true);
        check(&p, "ts >= date(2024, 6, 15)", true);
        check(&p, "ts = date(2024, 6, 15)", true);
        check(&p, "ts = date(2024, 6, 16)", false);
        check(&p, "tsMillis = date(2024, 6, 15)", true);
        check(&p, "person.name < now", false);
        check(&p, "date(2024, 1, 1) < date(2024, 1, 2)", true);
    }

    #[test]
    fn count_comparisons_stop_early_with_the_same_answers() {
        let p = profile();
        for (expr, want) in [
            ("colors.count() > 2", true),
            ("colors.count() > 3", false),
            ("colors.count() >= 3", true),
            ("colors.count() >= 4", false),
            ("colors.count() < 3", false),
            ("colors.count() < 4", true),
            ("colors.count() <= 3", true),
            ("colors.count() <= 2", false),
            ("colors.count() = 3", true),
            ("colors.count() = 2", false),
            ("colors.count() != 3", false),
            ("colors.count() != 4", true),
            ("colors.count() > -1", true),
            ("colors.count() < 0", false),
            ("colors.count() = 3.0", true),
            ("colors.count() > 2.5", true),
            ("colors.count() = \"3\"", true),
            ("nothing.count() = 0", true),
            ("nothing.count() >= 0", true),
            ("score.count() = 1", true),
            ("colors[this != \"blue\"].count() = 2", true),
        ] {
            check(&p, expr, want);
        }
    }

    #[test]
    fn in_and_not_in() {
        let p = profile();
        check(&p, "person.birthMonth in [3, 6, 9]", true);
        check(&p, "person.birthMonth notIn [3, 6, 9]", false);
        check(&p, "person.birthMonth notIn [4]", true);
        check(&p, "person.missing in [3]", false);
        check(&p, "person.missing notIn [3]", false);
        check(&p, "\"London\" in person.citiesVisited", true);
        check(&p, "\"london\" in person.citiesVisited", false);
        check(&p, "homeAddress.city in person.favoriteCities", true);
        check(&p, "homeAddress.city in person.missing", false);
        check(&p, "homeAddress.countryISO in (\"CA\", \"US\")", true);
        check(&p, "homeAddress.countryISO in ([\"CA\", \"US\"])", true);
        check(&p, "person.favoriteCities in [\"Paris\"]", true);
        check(&p, "homeAddress.countryISO in []", false);
        check(&p, "homeAddress.countryISO notIn []", true);
    }

    #[test]
    fn arrays_against_lists_are_ordered_elementwise() {
        let p = profile();
        check(&p, "colors = [\"red\", \"blue\", \"green\"]", true);
        check(&p, "colors = [\"blue\", \"red\", \"green\"]", false);
        check(&p, "colors != [\"blue\", \"red\", \"green\"]", true);
        check(&p, "colors = \"red\"", true);
        // A list literal is not a projection: a scalar is simply of another kind.
        check(&p, "homeAddress.countryISO = [\"CA\"]", false);
        check(&p, "homeAddress.countryISO != [\"CA\"]", true);
        check(&p, "[\"CA\"] = homeAddress.countryISO", false);
        check(&p, "homeAddress.countryISO < [\"ZZ\"]", false);
        check(&p, "emptyList = []", true);
    }

    #[test]
    fn is_null_and_is_not_null() {
        let p = profile();
        check(&p, "person.homeAddress.isNull()", true);
        check(&p, "nothing.isNull()", true);
        check(&p, "emptyList.isNull()", false);
        check(&p, "emptyObj.isNotNull()", true);
        check(&p, "homeAddress.isNotNull()", true);
        check(&p, "nothing.isNotNull()", false);
    }
}
