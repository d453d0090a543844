//! Syntax tree -> pql/json. Tracks variables in scope and the implicit context so that a bare
//! name becomes a `varRef`, a profile `fieldLookup` or an item `fieldLookup` (see `json.rs`).

use serde_json::{Map, Value, json};

use super::names;
use crate::pql::ast::{
    ChainStep, Expr, ExprKind, LetBinding, Literal, OccursSpec, UnaryOp, VarDecl,
    is_item_relative_arg,
};

#[derive(Default)]
pub(super) struct Writer {
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    /// Whether bare field names are read from the item of an implicit context.
    item: bool,
}

/// A JSON object from its entries, in order. Built by moving the values in: `json!` would copy
/// each subtree (it serializes its arguments), which costs time proportional to the subtree at
/// every level, and so grows with the tree's size times its depth.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

pub(super) fn fn_apply(name: &str, params: Vec<Value>) -> Value {
    object([
        ("nodeType", "fnApply".into()),
        ("fnName", name.into()),
        ("params", Value::Array(params)),
    ])
}

pub(super) fn string_lit(s: &str) -> Value {
    json!({"nodeType": "literal", "literalType": "String", "value": s})
}

pub(super) fn int_lit(i: i64) -> Value {
    json!({"nodeType": "literal", "literalType": "Integer", "value": i})
}

fn select(variables: Vec<Value>) -> Value {
    object([
        ("nodeType", "select".into()),
        ("variables", Value::Array(variables)),
    ])
}

fn param_ref(position: u32) -> Value {
    json!({"nodeType": "parameterReference", "position": position})
}

fn field_lookup(name: &str, object: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("nodeType".into(), "fieldLookup".into());
    m.insert("fieldName".into(), name.into());
    if let Some(o) = object {
        m.insert("object".into(), o);
    }
    Value::Object(m)
}

/// A finite double as a JSON number; non-finite ones (which no parse produces) as the strings
/// `NaN`, `Infinity`, `-Infinity`, which the reader accepts for `Number` literals.
fn float_value(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => "NaN".into(),
        None if f > 0.0 => "Infinity".into(),
        None => "-Infinity".into(),
    }
}

fn literal(l: &Literal) -> Value {
    let (ty, value) = match l {
        Literal::Bool(b) => ("Boolean", Value::Bool(*b)),
        Literal::Int(i) => ("Integer", Value::from(*i)),
        Literal::Float(f) => ("Number", float_value(*f)),
        Literal::Str(s) => ("String", Value::from(s.as_str())),
    };
    json!({"nodeType": "literal", "literalType": ty, "value": value})
}

/// A list item inside a `List` literal's `value`: a plain JSON scalar for a finite scalar
/// literal (the schema's form, `["a", "b"]`), else a node.
fn raw_list_item(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Literal(Literal::Str(s)) => Some(Value::from(s.as_str())),
        ExprKind::Literal(Literal::Int(i)) => Some(Value::from(*i)),
        ExprKind::Literal(Literal::Bool(b)) => Some(Value::Bool(*b)),
        ExprKind::Literal(Literal::Float(f)) => serde_json::Number::from_f64(*f).map(Value::Number),
        _ => None,
    }
}

impl Writer {
    pub(super) fn expr(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Field { target, name } => field_lookup(name, Some(self.expr(target))),
            ExprKind::Method { target, name, args } => self.method(target, name, args),
            ExprKind::Call { name, args } => {
                let params = args.iter().map(|a| self.expr(a)).collect();
                fn_apply(name, params)
            }
            ExprKind::Filter { target, cond } => {
                let target = self.expr(target);
                let cond = self.in_item(|w| w.expr(cond));
                fn_apply(names::FILTER, vec![target, cond])
            }
            ExprKind::Unary { op, expr } => {
                let name = match op {
                    UnaryOp::Neg => names::NEG,
                    UnaryOp::Not => names::NOT,
                };
                fn_apply(name, vec![self.expr(expr)])
            }
            ExprKind::Binary { op, lhs, rhs } => {
                fn_apply(op.text(), vec![self.expr(lhs), self.expr(rhs)])
            }
            // n-ary in pql/json as in the tree: one `fnApply` per chain; a parenthesised
            // chain inside (`a and (b and c)`) stays a nested `fnApply`, so reading gives the
            // same tree back.
            ExprKind::Logical { op, terms } => {
                let params = terms.iter().map(|t| self.expr(t)).collect();
                fn_apply(op.text(), params)
            }
            ExprKind::Occurs { ts, spec } => {
                let mut params = vec![self.expr(ts)];
                params.extend(self.occurs_spec(spec));
                fn_apply(names::OCCURS, params)
            }
            ExprKind::Binder { kind, decls } => self.binder(*kind, decls),
            ExprKind::Aggregate { func, value, decls } => {
                self.aggregate(*func, value.as_deref(), decls)
            }
            ExprKind::Let { bindings, body } => self.let_expr(bindings, body),
            ExprKind::Lambda { params, body } => {
                let mark = self.vars.len();
                self.vars.extend(params.iter().cloned());
                let body = self.expr(body);
                self.vars.truncate(mark);
                let params: Vec<Value> = params.iter().map(|p| json!({"varName": p})).collect();
                object([
                    ("nodeType", "fnCreate".into()),
                    ("params", Value::Array(params)),
                    ("body", body),
                ])
            }
            ExprKind::Chain {
                events,
                ts_field,
                steps,
            } => {
                let mut params = vec![self.expr(events), field_lookup(ts_field, None)];
                for s in steps {
                    params.push(self.in_item(|w| w.step(s)));
                }
                fn_apply(names::CHAIN, params)
            }
            _ => self.primary(e),
        }
    }

    /// Literals, lists, objects, names and the single-word primaries.
    fn primary(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Literal(l) => literal(l),
            ExprKind::List(items) => {
                let value: Vec<Value> = items
                    .iter()
                    .map(|i| raw_list_item(i).unwrap_or_else(|| self.expr(i)))
                    .collect();
                object([
                    ("nodeType", "literal".into()),
                    ("literalType", "List".into()),
                    ("value", Value::Array(value)),
                ])
            }
            ExprKind::Object(fields) => {
                let mut params = Vec::with_capacity(fields.len() * 2);
                for (k, v) in fields {
                    params.push(string_lit(k));
                    params.push(self.expr(v));
                }
                fn_apply(names::OBJECT, params)
            }
            ExprKind::Name(n) => self.name(n),
            ExprKind::Param(p) => param_ref(*p),
            ExprKind::Up { levels, name } => {
                let up = fn_apply(names::UP, vec![int_lit(i64::from(*levels))]);
                field_lookup(name, Some(up))
            }
            ExprKind::This => fn_apply(names::THIS, vec![]),
            ExprKind::XEvent => field_lookup("xEvent", Some(param_ref(1))),
            ExprKind::TimeWord(w) => fn_apply(w.text(), vec![]),
            ExprKind::RelPeriod { rel, unit } => {
                fn_apply(rel.text(), vec![string_lit(unit.singular())])
            }
            // Compound kinds are written by `expr`.
            _ => self.expr(e),
        }
    }

    fn in_item(&mut self, f: impl FnOnce(&mut Writer) -> Value) -> Value {
        let saved = std::mem::replace(&mut self.item, true);
        let v = f(self);
        self.item = saved;
        v
    }

    fn name(&self, n: &str) -> Value {
        if self.vars.iter().any(|v| v == n) {
            json!({"nodeType": "varRef", "varName": n})
        } else if self.item {
            field_lookup(n, None)
        } else {
            field_lookup(n, Some(param_ref(1)))
        }
    }

    fn method(&mut self, target: &Expr, name: &str, args: &[Expr]) -> Value {
        let mut params = vec![self.expr(target)];
        for (i, a) in args.iter().enumerate() {
            let v = if is_item_relative_arg(name, i) {
                self.in_item(|w| w.expr(a))
            } else {
                self.expr(a)
            };
            params.push(v);
        }
        fn_apply(name, params)
    }

    /// The params after the timestamp in `occurs`, and of a chain step's `WHEN`: a mode literal
    /// (`on`, `before`, `after`, `from`, `between`, or a comparison) followed by its operands.
    fn occurs_spec(&mut self, spec: &OccursSpec) -> Vec<Value> {
        match spec {
            OccursSpec::On(t) => vec![string_lit(names::ON), self.expr(t)],
            OccursSpec::Direction { dir, anchor } => {
                vec![string_lit(dir.text()), self.expr(anchor)]
            }
            OccursSpec::Between { from, to } => {
                vec![string_lit(names::BETWEEN), self.expr(from), self.expr(to)]
            }
            OccursSpec::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor,
            } => vec![
                string_lit(cmp.text()),
                int_lit(*amount),
                string_lit(unit.singular()),
                string_lit(dir.text()),
                self.expr(anchor),
            ],
        }
    }

    /// Declarations in order; each one's domain sees the earlier variables, its condition also
    /// its own. The variables stay in scope when this returns (the caller truncates).
    fn decls(&mut self, decls: &[VarDecl]) -> Vec<Value> {
        let mut out = Vec::with_capacity(decls.len());
        for d in decls {
            let mut m = Map::new();
            m.insert("nodeType".into(), "varDecl".into());
            m.insert("varName".into(), d.name.as_str().into());
            m.insert("from".into(), self.expr(&d.domain));
            self.vars.push(d.name.clone());
            if let Some(c) = &d.cond {
                m.insert("where".into(), self.expr(c));
            }
            out.push(Value::Object(m));
        }
        out
    }

    fn binder(&mut self, kind: crate::pql::ast::BinderKind, decls: &[VarDecl]) -> Value {
        use crate::pql::ast::BinderKind as K;
        let mark = self.vars.len();
        let variables = self.decls(decls);
        self.vars.truncate(mark);
        let quantifier = match kind {
            K::Select => return select(variables),
            K::Exists => "some",
            K::Forall => "all",
            K::None => "none",
            K::One => "one",
        };
        object([
            ("nodeType", "quantification".into()),
            ("quantifier", quantifier.into()),
            ("variables", Value::Array(variables)),
        ])
    }

    /// `sum V over decls` -> `fnApply "sum over" [V, select decls]` (`[select decls]` without V).
    fn aggregate(
        &mut self,
        func: crate::pql::ast::AggregateFn,
        value: Option<&Expr>,
        decls: &[VarDecl],
    ) -> Value {
        let mark = self.vars.len();
        let variables = self.decls(decls);
        let mut params = Vec::with_capacity(2);
        if let Some(v) = value {
            params.push(self.expr(v));
        }
        self.vars.truncate(mark);
        params.push(select(variables));
        fn_apply(&super::aggregate_fn_name(func), params)
    }

    /// `let A = x, B = y in body` -> `fnApply "let" [varDecl A from x, varDecl B from y, body]`.
    fn let_expr(&mut self, bindings: &[LetBinding], body: &Expr) -> Value {
        let mark = self.vars.len();
        let mut params = Vec::with_capacity(bindings.len() + 1);
        for b in bindings {
            let value = self.expr(&b.value);
            params.push(object([
                ("nodeType", "varDecl".into()),
                ("varName", b.name.as_str().into()),
                ("from", value),
            ]));
            self.vars.push(b.name.clone());
        }
        params.push(self.expr(body));
        self.vars.truncate(mark);
        fn_apply(names::LET, params)
    }

    /// `A: WHAT(p) WHEN(s) COUNT(n) WHERE(q)` -> `fnApply "step" ["A", WHAT[p], WHEN[...],
    /// COUNT[n], WHERE[q]]`, the label and the optional clauses present only when given.
    fn step(&mut self, s: &ChainStep) -> Value {
        let mut params = Vec::with_capacity(5);
        if let Some(l) = &s.label {
            params.push(string_lit(l));
        }
        params.push(fn_apply(names::WHAT, vec![self.expr(&s.what)]));
        if let Some(w) = &s.when {
            let spec = self.occurs_spec(w);
            params.push(fn_apply(names::WHEN, spec));
        }
        if let Some(n) = s.count {
            params.push(fn_apply(names::COUNT, vec![int_lit(n)]));
        }
        if let Some(w) = &s.where_ {
            params.push(fn_apply(names::WHERE, vec![self.expr(w)]));
        }
        fn_apply(names::STEP, params)
    }
}
