//! Arithmetic: `+ - * / %` and unary minus (D2.5, D6.12).
//!
//! int op int stays an int for `+ - * %`, checked: overflow is null. `/` always yields a double.
//! Division or modulo by zero is null, `%` takes the sign of the dividend, any null or non-number
//! operand makes the result null, and a non-finite double result is null.

use super::ArithOp;
use super::compare::as_f64;
use crate::pql::value::Value;

pub(crate) fn arith(op: ArithOp, l: &Value, r: &Value) -> Value {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => int_op(op, *a, *b),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            float_op(op, as_f64(l), as_f64(r))
        }
        _ => Value::Null,
    }
}

fn int_op(op: ArithOp, a: i64, b: i64) -> Value {
    let r = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => return float_op(op, a as f64, b as f64),
        ArithOp::Mod => a.checked_rem(b),
    };
    r.map_or(Value::Null, Value::Int)
}

fn float_op(op: ArithOp, a: f64, b: f64) -> Value {
    if matches!(op, ArithOp::Div | ArithOp::Mod) && b == 0.0 {
        return Value::Null;
    }
    let r = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
    };
    if r.is_finite() {
        Value::Float(r)
    } else {
        Value::Null
    }
}

pub(crate) fn negate(v: &Value) -> Value {
    match v {
        Value::Int(i) => i.checked_neg().map_or(Value::Null, Value::Int),
        Value::Float(f) => Value::Float(-f),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, data, eval_json};
    use serde_json::json;

    fn p() -> crate::pql::eval::testing::Data {
        data(json!({
            "product1": {"price": 10}, "product2": {"price": 2.5},
            "product": {"inventory": 4, "price": 3},
            "totalProduct": {"price": 10, "sold": 0},
            "person": {"age": 35, "birthYear": 1985, "birthMonth": 3, "birthDay": 4},
            "offer": {"rank": {"priority": 7}},
            "max": 9223372036854775807i64,
            "name": "x"
        }))
    }

    #[test]
    fn integer_and_double_arithmetic() {
        let p = p();
        assert_eq!(
            eval_json(&p, "product1.price + product2.price"),
            json!(12.5)
        );
        assert_eq!(
            eval_json(&p, "product.inventory * product.price"),
            json!(12)
        );
        assert_eq!(eval_json(&p, "product1.price - product2.price"), json!(7.5));
        assert_eq!(
            eval_json(&p, "product1.price / product.inventory"),
            json!(2.5)
        );
        assert_eq!(eval_json(&p, "product.inventory / 2"), json!(2.0));
        assert_eq!(
            eval_json(
                &p,
                "person.birthYear - (person.birthMonth + person.birthDay)"
            ),
            json!(1978)
        );
        assert_eq!(eval_json(&p, "offer.rank.priority * 2"), json!(14));
        assert_eq!(eval_json(&p, "-product.price"), json!(-3));
        assert_eq!(eval_json(&p, "2 + 3 * 4"), json!(14));
    }

    #[test]
    fn nulls_zero_divisors_and_overflow() {
        let p = p();
        assert_eq!(
            eval_json(&p, "totalProduct.price / totalProduct.sold"),
            json!(null)
        );
        check(&p, "totalProduct.price / totalProduct.sold > 5", false);
        assert_eq!(
            eval_json(&p, "totalProduct.price % totalProduct.sold"),
            json!(null)
        );
        assert_eq!(eval_json(&p, "product.missing + 1"), json!(null));
        assert_eq!(eval_json(&p, "name + 1"), json!(null));
        assert_eq!(eval_json(&p, "max + 1"), json!(null));
        assert_eq!(eval_json(&p, "max * 2"), json!(null));
        assert_eq!(eval_json(&p, "-(max + 1)"), json!(null));
        assert_eq!(eval_json(&p, "2.5 % 0"), json!(null));
    }

    #[test]
    fn modulo_takes_the_dividend_sign() {
        let p = p();
        check(&p, "person.age % 5 = 0", true);
        assert_eq!(eval_json(&p, "-7 % 3"), json!(-1));
        assert_eq!(eval_json(&p, "7 % -3"), json!(1));
        assert_eq!(eval_json(&p, "-7.5 % 2"), json!(-1.5));
    }
}
