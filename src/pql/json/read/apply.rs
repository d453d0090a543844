//! `fnApply` -> syntax tree: operators, the constructs encoded as named applications (`not`,
//! `occurs`, `chain`, `let`, `sum over`, `[]`, `{}`, time words), global calls and methods.

use serde_json::{Map, Value};

use super::super::{aggregate_fn_name, err, names};
use super::{Reader, Result, array_field, as_object, index, join, node, str_field};
use crate::pql::ast::{
    AggregateFn, BinaryOp, ChainStep, CmpOp, Direction, Expr, ExprKind, LetBinding, Literal,
    LogicalOp, OccursSpec, Relative, Span, TimeUnit, TimeWord, UnaryOp, is_item_relative_arg,
};

const AGGREGATES: [AggregateFn; 5] = [
    AggregateFn::Sum,
    AggregateFn::Average,
    AggregateFn::Min,
    AggregateFn::Max,
    AggregateFn::Count,
];

const TIME_WORDS: [TimeWord; 4] = [
    TimeWord::Now,
    TimeWord::Today,
    TimeWord::Yesterday,
    TimeWord::Tomorrow,
];

const CMP_OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

/// The value of a `literal` node of type String.
pub(super) fn string_literal<'v>(v: &'v Value, path: &str) -> Result<&'v str> {
    let m = as_object(v, path)?;
    let ty = m.get("literalType").and_then(Value::as_str);
    match (
        m.get("nodeType").and_then(Value::as_str),
        ty,
        m.get("value"),
    ) {
        (Some("literal"), Some(t), Some(Value::String(s))) if t.eq_ignore_ascii_case("string") => {
            Ok(s)
        }
        _ => Err(err(path, "expected a String literal")),
    }
}

/// The value of a `literal` node of type Integer.
pub(super) fn integer_literal(v: &Value, path: &str) -> Result<i64> {
    let m = as_object(v, path)?;
    let ty = m.get("literalType").and_then(Value::as_str);
    match (
        m.get("nodeType").and_then(Value::as_str),
        ty,
        m.get("value"),
    ) {
        (Some("literal"), Some(t), Some(value)) if t.eq_ignore_ascii_case("integer") => {
            super::integer(value, &join(path, "value"))
        }
        _ => Err(err(path, "expected an Integer literal")),
    }
}

fn arity(name: &str, params: &[Value], path: &str, expected: usize) -> Result<()> {
    if params.len() == expected {
        Ok(())
    } else {
        Err(err(
            &join(path, "params"),
            &format!("'{name}' takes {expected} params, found {}", params.len()),
        ))
    }
}

fn direction(word: &str) -> Option<Direction> {
    [Direction::Before, Direction::After, Direction::From]
        .into_iter()
        .find(|d| d.text().eq_ignore_ascii_case(word))
}

impl Reader {
    pub(super) fn fn_apply(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<Expr> {
        if m.contains_key("function") {
            return Err(err(
                &join(path, "function"),
                "applying a created function (legacy `function` + `params`) is not supported",
            ));
        }
        let name = str_field(m, "fnName", path)?;
        let params: &[Value] = match m.get("params") {
            None => &[],
            Some(_) => array_field(m, "params", path)?,
        };
        if let Some(e) = self.special(name, params, path, depth)? {
            return Ok(e);
        }
        if let Some(op) = LogicalOp::ALL.into_iter().find(|o| o.text() == name) {
            return self.logical(op, params, path, depth);
        }
        if let Some(op) = BinaryOp::ALL.into_iter().find(|o| o.text() == name) {
            return self.operator(op, params, path, depth);
        }
        super::identifier(name, &join(path, "fnName"))?;
        if names::GLOBAL_FUNCTIONS.contains(&name) || params.is_empty() {
            let args = self.params(params, 0, path, depth)?;
            return Ok(node(ExprKind::Call {
                name: name.to_string(),
                args,
            }));
        }
        self.method(name, params, path, depth)
    }

    /// Params `from..` read in the current context, each one level below this node.
    fn params(
        &mut self,
        params: &[Value],
        from: usize,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Expr>> {
        let mut out = Vec::with_capacity(params.len().saturating_sub(from));
        for (i, p) in params.iter().enumerate().skip(from) {
            out.push(self.expr(p, &index(path, "params", i), depth + 1)?);
        }
        Ok(out)
    }

    fn param(&mut self, params: &[Value], i: usize, path: &str, depth: usize) -> Result<Expr> {
        match params.get(i) {
            Some(p) => self.expr(p, &index(path, "params", i), depth + 1),
            None => Err(err(&index(path, "params", i), "missing")),
        }
    }

    /// A method: the first param is the receiver; item-relative arguments (`exists`, `filter`,
    /// `map`, the aggregates, ...) are read with the item as the implicit context.
    fn method(&mut self, name: &str, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        let target = self.param(params, 0, path, depth)?;
        let mut args = Vec::with_capacity(params.len() - 1);
        for (i, p) in params.iter().enumerate().skip(1) {
            let ppath = index(path, "params", i);
            let arg = if is_item_relative_arg(name, i - 1) {
                self.in_item(|r| r.expr(p, &ppath, depth + 1))?
            } else {
                self.expr(p, &ppath, depth + 1)?
            };
            args.push(arg);
        }
        Ok(node(ExprKind::Method {
            target: Box::new(target),
            name: name.to_string(),
            args,
        }))
    }

    fn operator(
        &mut self,
        op: BinaryOp,
        params: &[Value],
        path: &str,
        depth: usize,
    ) -> Result<Expr> {
        let name = op.text();
        match (op, params.len()) {
            (BinaryOp::Sub, 1) => {
                let e = self.param(params, 0, path, depth)?;
                Ok(unary(UnaryOp::Neg, e))
            }
            // The method form is the one the current reference documents for `matches`; the
            // infix form for `like`. Both mean the same (D1.8).
            (BinaryOp::Matches, _) => self.method(name, params, path, depth),
            (BinaryOp::Like, n) if n != 2 => self.method(name, params, path, depth),
            (_, 2) => {
                let lhs = self.param(params, 0, path, depth)?;
                let rhs = self.param(params, 1, path, depth)?;
                Ok(binary(op, lhs, rhs))
            }
            _ => Err(err(
                &join(path, "params"),
                &format!("'{name}' takes 2 params, found {}", params.len()),
            )),
        }
    }

    /// n-ary `and`/`or` -> one [`ExprKind::Logical`] node whose terms are one level below it,
    /// however many there are (a nested `and` inside an `and` stays a nested node). A single
    /// param is just that param.
    fn logical(
        &mut self,
        op: LogicalOp,
        params: &[Value],
        path: &str,
        depth: usize,
    ) -> Result<Expr> {
        match params {
            [] => Err(err(
                &join(path, "params"),
                &format!("'{}' needs at least one param", op.text()),
            )),
            [only] => self.expr(only, &index(path, "params", 0), depth),
            _ => {
                let terms = self.params(params, 0, path, depth)?;
                Ok(node(ExprKind::Logical { op, terms }))
            }
        }
    }

    /// The constructs with a reserved `fnName`; `None` when `name` is not one of them.
    fn special(
        &mut self,
        name: &str,
        params: &[Value],
        path: &str,
        depth: usize,
    ) -> Result<Option<Expr>> {
        let e = match name {
            names::NOT => {
                arity(name, params, path, 1)?;
                unary(UnaryOp::Not, self.param(params, 0, path, depth)?)
            }
            names::FILTER => self.filter(params, path, depth)?,
            names::OBJECT => self.object(params, path, depth)?,
            names::UP => {
                return Err(err(
                    path,
                    "'^' is only valid as the object of a fieldLookup (`^.name`)",
                ));
            }
            names::OCCURS => self.occurs(params, path, depth)?,
            names::CHAIN => self.chain(params, path, depth)?,
            names::LET => self.let_expr(params, path, depth)?,
            names::STEP | names::WHAT | names::WHEN | names::COUNT | names::WHERE => {
                return Err(err(path, &format!("'{name}' is only valid inside a chain")));
            }
            "this" | "last" | "next" => self.this_or_period(name, params, path)?,
            _ => {
                if let Some(w) = TIME_WORDS.into_iter().find(|w| w.text() == name) {
                    arity(name, params, path, 0)?;
                    node(ExprKind::TimeWord(w))
                } else if let Some(f) = AGGREGATES
                    .into_iter()
                    .find(|f| aggregate_fn_name(*f) == name)
                {
                    self.aggregate(f, params, path, depth)?
                } else {
                    return Ok(None);
                }
            }
        };
        Ok(Some(e))
    }

    /// `[]`: `[target, cond]`, the condition in the item context.
    fn filter(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        arity(names::FILTER, params, path, 2)?;
        let target = self.param(params, 0, path, depth)?;
        let cond = self.in_item(|r| r.param(params, 1, path, depth))?;
        if let ExprKind::Literal(Literal::Int(_)) = cond.kind {
            return Err(err(
                &index(path, "params", 1),
                "PQL has no numeric indexing: a filter condition cannot be an integer",
            )
            .with_hint("use .head() for the first item"));
        }
        Ok(node(ExprKind::Filter {
            target: Box::new(target),
            cond: Box::new(cond),
        }))
    }

    /// `this` with no params, or `this|last|next` with a unit: a relative period.
    fn this_or_period(&self, name: &str, params: &[Value], path: &str) -> Result<Expr> {
        match (name, params) {
            (names::THIS, []) => Ok(node(ExprKind::This)),
            (_, [unit]) => {
                let upath = index(path, "params", 0);
                let word = string_literal(unit, &upath)?;
                let unit = TimeUnit::parse(word)
                    .ok_or_else(|| err(&upath, &format!("unknown time unit '{word}'")))?;
                let rel = match name {
                    names::THIS => Relative::This,
                    "last" => Relative::Last,
                    _ => Relative::Next,
                };
                Ok(node(ExprKind::RelPeriod { rel, unit }))
            }
            _ => Err(err(&join(path, "params"), "expected one time unit")),
        }
    }

    /// `{}`: params alternate String-literal keys and values.
    fn object(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        if !params.len().is_multiple_of(2) {
            return Err(err(
                &join(path, "params"),
                "'{}' takes key/value pairs: an even number of params",
            ));
        }
        let mut fields = Vec::with_capacity(params.len() / 2);
        for i in (0..params.len()).step_by(2) {
            let kpath = index(path, "params", i);
            let key = string_literal(&params[i], &kpath)?.to_string();
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(err(
                    &kpath,
                    &format!("duplicate key \"{key}\" in this object"),
                ));
            }
            let value = self.param(params, i + 1, path, depth)?;
            fields.push((key, value));
        }
        Ok(node(ExprKind::Object(fields)))
    }

    fn occurs(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        let ts = self.param(params, 0, path, depth)?;
        let spec = self.occurs_spec(params, 1, path, depth)?;
        Ok(node(ExprKind::Occurs {
            ts: Box::new(ts),
            spec,
        }))
    }

    /// `params[first..]` = a mode literal and its operands (see the writer).
    fn occurs_spec(
        &mut self,
        params: &[Value],
        first: usize,
        path: &str,
        depth: usize,
    ) -> Result<OccursSpec> {
        let mpath = index(path, "params", first);
        let mode = match params.get(first) {
            Some(m) => string_literal(m, &mpath)?,
            None => {
                return Err(err(
                    &mpath,
                    "missing (expected on, before, after, from, between or a comparison)",
                ));
            }
        };
        let rest = params.len() - first - 1;
        let want = |n: usize| -> Result<()> {
            if rest == n {
                Ok(())
            } else {
                Err(err(
                    &join(path, "params"),
                    &format!("occurs '{mode}' takes {n} operands after the mode, found {rest}"),
                ))
            }
        };
        let operand = |r: &mut Reader, i: usize| r.param(params, first + i, path, depth);
        let boxed = |e: Expr| Box::new(e);
        if mode.eq_ignore_ascii_case(names::ON) {
            want(1)?;
            return Ok(OccursSpec::On(boxed(operand(self, 1)?)));
        }
        if mode.eq_ignore_ascii_case(names::BETWEEN) {
            want(2)?;
            let from = boxed(operand(self, 1)?);
            let to = boxed(operand(self, 2)?);
            return Ok(OccursSpec::Between { from, to });
        }
        if let Some(dir) = direction(mode) {
            want(1)?;
            let anchor = boxed(operand(self, 1)?);
            return Ok(OccursSpec::Direction { dir, anchor });
        }
        let Some(cmp) = CMP_OPS.into_iter().find(|c| c.text() == mode) else {
            return Err(err(
                &mpath,
                &format!(
                    "unknown occurs mode '{mode}' (expected on, before, after, from, between, or one of = != < <= > >=)"
                ),
            ));
        };
        want(4)?;
        self.distance(cmp, params, first, path, depth)
    }

    /// `[CMP, Integer n, String unit, String direction, anchor]` from `params[first]` on.
    fn distance(
        &mut self,
        cmp: CmpOp,
        params: &[Value],
        first: usize,
        path: &str,
        depth: usize,
    ) -> Result<OccursSpec> {
        let apath = index(path, "params", first + 1);
        let amount = integer_literal(&params[first + 1], &apath)?;
        if amount < 0 {
            return Err(err(&apath, "the amount of time cannot be negative"));
        }
        let upath = index(path, "params", first + 2);
        let word = string_literal(&params[first + 2], &upath)?;
        let unit = TimeUnit::parse(word)
            .ok_or_else(|| err(&upath, &format!("unknown time unit '{word}'")))?;
        let dpath = index(path, "params", first + 3);
        let dword = string_literal(&params[first + 3], &dpath)?;
        let dir = direction(dword)
            .ok_or_else(|| err(&dpath, "expected a direction: before, after or from"))?;
        let anchor = Box::new(self.param(params, first + 4, path, depth)?);
        Ok(OccursSpec::Distance {
            cmp,
            amount,
            unit,
            dir,
            anchor,
        })
    }

    /// `let`: varDecl-style bindings (`varName`, `from` = the value) then the body.
    fn let_expr(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        let Some((body, bindings)) = params.split_last().filter(|(_, b)| !b.is_empty()) else {
            return Err(err(
                &join(path, "params"),
                "'let' takes one or more varDecl bindings followed by the body",
            ));
        };
        let mark = self.vars.len();
        let mut out = Vec::with_capacity(bindings.len());
        for (i, b) in bindings.iter().enumerate() {
            let bpath = index(path, "params", i);
            let m = as_object(b, &bpath)?;
            if m.get("nodeType").and_then(Value::as_str) != Some("varDecl")
                || m.contains_key("where")
            {
                return Err(err(
                    &bpath,
                    "expected a varDecl binding (varName, from) without where",
                ));
            }
            let name = super::var_name(m, &bpath)?.to_string();
            let value = match m.get("from") {
                Some(v) => self.expr(v, &join(&bpath, "from"), depth + 1)?,
                None => return Err(err(&join(&bpath, "from"), "missing")),
            };
            self.vars.push(name.clone());
            out.push(LetBinding {
                name,
                value,
                span: Span::default(),
            });
        }
        let body = self.expr(body, &index(path, "params", bindings.len()), depth + 1);
        self.vars.truncate(mark);
        Ok(node(ExprKind::Let {
            bindings: out,
            body: Box::new(body?),
        }))
    }

    /// `sum over`: `[value, select]` or `[select]`; the value sees the select's variables.
    fn aggregate(
        &mut self,
        func: AggregateFn,
        params: &[Value],
        path: &str,
        depth: usize,
    ) -> Result<Expr> {
        let name = aggregate_fn_name(func);
        let (select, value) = match params {
            [s] => (s, None),
            [v, s] => (s, Some(v)),
            _ => {
                return Err(err(
                    &join(path, "params"),
                    &format!("'{name}' takes [value, select] or [select]"),
                ));
            }
        };
        let spath = index(path, "params", params.len() - 1);
        let sm = as_object(select, &spath)?;
        if sm.get("nodeType").and_then(Value::as_str) != Some("select") {
            return Err(err(&spath, &format!("'{name}' ends with a select node")));
        }
        let mark = self.vars.len();
        let decls = self.decls(sm, &spath, depth)?;
        let value = match value {
            Some(v) => Some(Box::new(self.expr(
                v,
                &index(path, "params", 0),
                depth + 1,
            )?)),
            None => None,
        };
        self.vars.truncate(mark);
        Ok(node(ExprKind::Aggregate { func, value, decls }))
    }

    /// `chain`: `[events, fieldLookup tsField, step...]`.
    fn chain(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        let events = self.param(params, 0, path, depth)?;
        let tpath = index(path, "params", 1);
        let ts = params.get(1).ok_or_else(|| err(&tpath, "missing"))?;
        let tm = as_object(ts, &tpath)?;
        let ts_field = match tm.get("nodeType").and_then(Value::as_str) {
            Some("fieldLookup") if !tm.contains_key("object") => {
                str_field(tm, "fieldName", &tpath)?
            }
            Some("literal") => string_literal(ts, &tpath)?,
            _ => {
                return Err(err(
                    &tpath,
                    "expected the timestamp field as a fieldLookup without object",
                ));
            }
        };
        for part in ts_field.split('.') {
            super::identifier(part, &tpath)?;
        }
        let ts_field = ts_field.to_string();
        if params.len() < 3 {
            return Err(err(
                &join(path, "params"),
                "a chain needs at least one step",
            ));
        }
        let mut steps = Vec::with_capacity(params.len().saturating_sub(2));
        for (i, s) in params.iter().enumerate().skip(2) {
            let spath = index(path, "params", i);
            steps.push(self.in_item(|r| r.step(s, &spath, depth))?);
        }
        Ok(node(ExprKind::Chain {
            events: Box::new(events),
            ts_field,
            steps,
        }))
    }

    /// `fnApply "step" [label?, WHAT[p], WHEN[...]?, COUNT[n]?, WHERE[q]?]`.
    fn step(&mut self, v: &Value, path: &str, depth: usize) -> Result<ChainStep> {
        let m = as_object(v, path)?;
        if m.get("nodeType").and_then(Value::as_str) != Some("fnApply")
            || m.get("fnName").and_then(Value::as_str) != Some(names::STEP)
        {
            return Err(err(path, "expected a chain step (fnApply \"step\")"));
        }
        let params = array_field(m, "params", path)?;
        let mut step = ChainStep {
            label: None,
            what: node(ExprKind::This),
            when: None,
            count: None,
            where_: None,
            span: Span::default(),
        };
        let mut what = None;
        for (i, p) in params.iter().enumerate() {
            let cpath = index(path, "params", i);
            let c = as_object(p, &cpath)?;
            if i == 0 && c.get("nodeType").and_then(Value::as_str) == Some("literal") {
                step.label = Some(super::identifier(string_literal(p, &cpath)?, &cpath)?);
                continue;
            }
            self.step_clause(c, &cpath, depth, &mut step, &mut what)?;
        }
        step.what =
            what.ok_or_else(|| err(&join(path, "params"), "the step has no WHAT clause"))?;
        Ok(step)
    }

    /// One `WHAT`/`WHEN`/`COUNT`/`WHERE` clause of a step, each allowed once.
    fn step_clause(
        &mut self,
        c: &Map<String, Value>,
        cpath: &str,
        depth: usize,
        step: &mut ChainStep,
        what: &mut Option<Expr>,
    ) -> Result<()> {
        let clause = match c.get("fnName").and_then(Value::as_str) {
            Some(n @ (names::WHAT | names::WHEN | names::COUNT | names::WHERE))
                if c.get("nodeType").and_then(Value::as_str) == Some("fnApply") =>
            {
                n
            }
            _ => return Err(err(cpath, "expected a WHAT, WHEN, COUNT or WHERE clause")),
        };
        let cparams = array_field(c, "params", cpath)?;
        let duplicate = match clause {
            names::WHAT => what.replace(self.clause(cparams, cpath, depth)?).is_some(),
            names::WHERE => step
                .where_
                .replace(self.clause(cparams, cpath, depth)?)
                .is_some(),
            names::WHEN => step
                .when
                .replace(self.occurs_spec(cparams, 0, cpath, depth)?)
                .is_some(),
            _ => {
                arity(clause, cparams, cpath, 1)?;
                let npath = index(cpath, "params", 0);
                let n = integer_literal(&cparams[0], &npath)?;
                if n < 1 {
                    return Err(err(&npath, "COUNT takes a positive whole number"));
                }
                step.count.replace(n).is_some()
            }
        };
        if duplicate {
            return Err(err(cpath, &format!("a second {clause} clause in one step")));
        }
        Ok(())
    }

    fn clause(&mut self, params: &[Value], path: &str, depth: usize) -> Result<Expr> {
        arity("clause", params, path, 1)?;
        self.param(params, 0, path, depth)
    }
}

fn unary(op: UnaryOp, e: Expr) -> Expr {
    node(ExprKind::Unary {
        op,
        expr: Box::new(e),
    })
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    node(ExprKind::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    })
}
