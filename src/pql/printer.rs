//! The canonical pql/text printer: turns a syntax tree back into text whose re-parse gives the
//! same tree ([`Expr::same_tree`]).
//!
//! Canonical means one spelling per tree: keywords in lower case (`and`, `not`, `select`,
//! `chain`), chain step clauses in upper case (`A: WHAT(...) WHEN(...) COUNT(n) WHERE(...)`),
//! strings double-quoted, `occurs` without the optional `on`, time units plural unless the amount
//! is 1, `not (x)` always with its parentheses, and only the parentheses the grammar needs.
//!
//! Parentheses follow from each node's binding strength (its *precedence*):
//!
//! | prec | nodes |
//! |---|---|
//! | 0 | `let`, lambdas, binders (`select`/`exists`/...), aggregates (`sum ... over`) — greedy |
//! | 1, 2 | `or`, `and` (n-ary: one node per flat chain) |
//! | 3 | `not` |
//! | 4 | comparisons, `in`, `like`, `matches`, `occurs` (non-associative) |
//! | 5, 6 | `+ -`, `* / %` (left-associative) |
//! | 7 | unary minus, negative number literals, `this month`-style periods |
//! | 8 | postfix (`.f`, `.m()`, `[c]`) and primaries |
//!
//! A child is parenthesised when its precedence is below what its slot requires. The terms of an
//! `and`/`or` chain must bind more tightly than the chain, so a term that is itself a chain of the
//! same operator keeps its parentheses (`a or (b or c)`): it is a node of its own in the tree.
//! Greedy constructs never appear bare as an operand; binders and aggregates (whose declarations
//! are separated by commas) appear bare only at the top level, and in the bodies of top-level
//! `let`s and lambdas and the last `where` of top-level binders; `let` and lambdas (which stop at
//! a comma) also appear bare in comma-separated slots such as arguments
//! (`groupBy(p).map((K, G) => mapEntry(K, G))`).
//!
//! The printer recurses once per tree level. Trees from the parser and from pql/json are at most
//! 200 levels deep; past [`MAX_PRINT_DEPTH`] levels the printer writes a `…` marker instead of
//! recursing further, so a hand-built pathological tree cannot overflow the stack here.

use crate::pql::ast::{
    BinaryOp, ChainStep, Expr, ExprKind, LetBinding, Literal, LogicalOp, OccursSpec, UnaryOp,
    VarDecl,
};

/// Depth past which the printer stops descending (well above the parser's limit of 200).
pub const MAX_PRINT_DEPTH: usize = 1000;

/// Canonical pql/text for `e`.
pub fn print(e: &Expr) -> String {
    let mut p = Printer {
        out: String::new(),
        depth: 0,
    };
    p.expr(e, Slot::Top);
    p.out
}

/// Writes a string literal: double-quoted, with `\\ \" \n \r \t` escapes and `\uXXXX` for any
/// other control character (D1.2).
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

/// Writes a double so that it re-reads as a double: always with a `.` (`1.0`), with an exponent
/// (`2.5E-7`, `1.0E300`) when very small or very large, and in the shortest form that round-trips.
/// Non-finite values, which pql/text cannot express and the parser never produces, print as
/// `1.0E999` / `-1.0E999` (which the parser refuses as out of range) and `(0.0 / 0.0)`.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "(0.0 / 0.0)".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "1.0E999" } else { "-1.0E999" }.to_string();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:E}");
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    } else {
        let s = format!("{f}");
        if s.contains('.') { s } else { s + ".0" }
    }
}

/// Where a child is printed, which decides whether it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The whole expression, or inside parentheses the printer adds: anything goes.
    Top,
    /// A comma- or bracket-delimited slot (arguments, list items, filter brackets, `where`
    /// conditions, chain clauses): `let` and lambdas may stand bare, binders may not.
    Inner,
    /// An operand that must bind at least this tightly.
    Min(u8),
}

const P_LOWEST: u8 = 0;
const P_NOT: u8 = 3;
const P_CMP: u8 = 4;
const P_ADD: u8 = 5;
const P_UNARY: u8 = 7;
const P_POSTFIX: u8 = 8;

/// Binding strength of the text the printer writes for `e` (see the module table).
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binder { .. }
        | ExprKind::Aggregate { .. }
        | ExprKind::Let { .. }
        | ExprKind::Lambda { .. } => P_LOWEST,
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Logical { op, .. } => op.precedence(),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => P_NOT,
        ExprKind::Occurs { .. } => P_CMP,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        }
        | ExprKind::RelPeriod { .. } => P_UNARY,
        ExprKind::Literal(Literal::Int(i)) if *i < 0 => P_UNARY,
        ExprKind::Literal(Literal::Float(f)) if f.is_sign_negative() && !f.is_nan() => P_UNARY,
        _ => P_POSTFIX,
    }
}

fn needs_parens(e: &Expr, slot: Slot) -> bool {
    match slot {
        Slot::Top => false,
        Slot::Inner => matches!(e.kind, ExprKind::Binder { .. } | ExprKind::Aggregate { .. }),
        Slot::Min(p) => precedence(e) < p,
    }
}

struct Printer {
    out: String,
    depth: usize,
}

impl Printer {
    fn expr(&mut self, e: &Expr, slot: Slot) {
        if self.depth >= MAX_PRINT_DEPTH {
            self.out.push('…');
            return;
        }
        self.depth += 1;
        if needs_parens(e, slot) {
            self.out.push('(');
            self.bare(e, Slot::Top);
            self.out.push(')');
        } else {
            self.bare(e, slot);
        }
        self.depth -= 1;
    }

    /// Prints `e` without surrounding parentheses; `slot` is passed on to the bodies of `let`
    /// and lambdas, which extend as far right as the slot allows.
    fn bare(&mut self, e: &Expr, slot: Slot) {
        match &e.kind {
            ExprKind::Field { target, name } => {
                self.postfix_target(target);
                self.out.push('.');
                self.out.push_str(name);
            }
            ExprKind::Method { target, name, args } => {
                self.postfix_target(target);
                self.out.push('.');
                self.call(name, args);
            }
            ExprKind::Call { name, args } => self.call(name, args),
            ExprKind::Filter { target, cond } => {
                self.postfix_target(target);
                self.out.push('[');
                self.expr(cond, Slot::Inner);
                self.out.push(']');
            }
            ExprKind::Unary { op, expr } => self.unary(*op, expr),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::Logical { op, terms } => self.logical(*op, terms),
            ExprKind::Occurs { ts, spec } => {
                self.expr(ts, Slot::Min(P_ADD));
                self.out.push_str(" occurs ");
                self.occurs_spec(spec);
            }
            ExprKind::Binder { kind, decls } => {
                self.out.push_str(kind.text());
                self.out.push(' ');
                self.decls(decls);
            }
            ExprKind::Aggregate { func, value, decls } => {
                self.out.push_str(func.text());
                if let Some(v) = value {
                    self.out.push(' ');
                    self.expr(v, Slot::Min(P_LOWEST + 1));
                }
                self.out.push_str(" over ");
                self.decls(decls);
            }
            ExprKind::Let { bindings, body } => self.let_expr(bindings, body, slot),
            ExprKind::Lambda { params, body } => {
                self.out.push('(');
                self.out.push_str(&params.join(", "));
                self.out.push_str(") => ");
                self.expr(body, body_slot(slot));
            }
            ExprKind::Chain {
                events,
                ts_field,
                steps,
            } => self.chain(events, ts_field, steps),
            _ => self.primary(e),
        }
    }

    /// Literals, lists, objects and the single-word primaries.
    fn primary(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Literal(l) => self.literal(l),
            ExprKind::List(items) => {
                self.out.push('[');
                self.comma_list(items);
                self.out.push(']');
            }
            ExprKind::Object(fields) => self.object(fields),
            ExprKind::Name(n) => self.out.push_str(n),
            ExprKind::Param(p) => {
                self.out.push('$');
                self.out.push_str(&p.to_string());
            }
            ExprKind::Up { levels, name } => {
                self.out.push_str(&"^".repeat(*levels as usize));
                self.out.push('.');
                self.out.push_str(name);
            }
            ExprKind::This => self.out.push_str("this"),
            ExprKind::XEvent => self.out.push_str("xEvent"),
            ExprKind::TimeWord(w) => self.out.push_str(w.text()),
            ExprKind::RelPeriod { rel, unit } => {
                self.out.push_str(rel.text());
                self.out.push(' ');
                self.out.push_str(unit.singular());
            }
            // Compound kinds are printed by `bare`.
            _ => self.bare(e, Slot::Top),
        }
    }

    fn literal(&mut self, l: &Literal) {
        match l {
            Literal::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Literal::Int(i) => self.out.push_str(&i.to_string()),
            Literal::Float(f) => self.out.push_str(&format_float(*f)),
            Literal::Str(s) => push_quoted(&mut self.out, s),
        }
    }

    fn comma_list(&mut self, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(item, Slot::Inner);
        }
    }

    fn object(&mut self, fields: &[(String, Expr)]) {
        self.out.push('{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            push_quoted(&mut self.out, k);
            self.out.push_str(": ");
            self.expr(v, Slot::Inner);
        }
        self.out.push('}');
    }

    /// The receiver of `.f`, `.m()` or `[c]`: must be a primary or postfix expression. Number
    /// literals are parenthesised too, so that `(5).f` does not lex as `5.` followed by `f`.
    fn postfix_target(&mut self, target: &Expr) {
        let number = matches!(
            target.kind,
            ExprKind::Literal(Literal::Int(_) | Literal::Float(_))
        );
        if number && self.depth < MAX_PRINT_DEPTH {
            self.out.push('(');
            self.expr(target, Slot::Top);
            self.out.push(')');
        } else {
            self.expr(target, Slot::Min(P_POSTFIX));
        }
    }

    fn call(&mut self, name: &str, args: &[Expr]) {
        self.out.push_str(name);
        self.out.push('(');
        self.comma_list(args);
        self.out.push(')');
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr) {
        match op {
            // Always `not (x)`: the documented spelling, and it never depends on what x is.
            UnaryOp::Not => {
                self.out.push_str("not (");
                self.expr(operand, Slot::Top);
                self.out.push(')');
            }
            UnaryOp::Neg => {
                self.out.push('-');
                // `-5` would re-read as the literal -5, and `--x` might not lex as two minuses.
                let number = matches!(
                    operand.kind,
                    ExprKind::Literal(Literal::Int(_) | Literal::Float(_))
                );
                if number && self.depth < MAX_PRINT_DEPTH {
                    self.out.push('(');
                    self.expr(operand, Slot::Top);
                    self.out.push(')');
                } else {
                    self.expr(operand, Slot::Min(P_POSTFIX));
                }
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr) {
        let p = op.precedence();
        // Comparisons are non-associative: `(a = b) = c` needs its parentheses on both sides.
        let left = if p == P_CMP { p + 1 } else { p };
        self.expr(lhs, Slot::Min(left));
        self.out.push(' ');
        self.out.push_str(op.text());
        self.out.push(' ');
        self.expr(rhs, Slot::Min(p + 1));
    }

    /// `a or b or c`: every term binds more tightly than the operator, so a nested chain of
    /// either operator keeps the parentheses that made it a node of its own.
    fn logical(&mut self, op: LogicalOp, terms: &[Expr]) {
        if terms.is_empty() {
            // Not a tree the parser or pql/json builds; print what an empty chain means.
            self.out.push_str(if op == LogicalOp::And {
                "true"
            } else {
                "false"
            });
            return;
        }
        let slot = Slot::Min(op.precedence() + 1);
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
                self.out.push_str(op.text());
                self.out.push(' ');
            }
            self.expr(term, slot);
        }
    }

    fn occurs_spec(&mut self, spec: &OccursSpec) {
        let time = Slot::Min(P_ADD);
        match spec {
            OccursSpec::On(t) => self.expr(t, time),
            OccursSpec::Direction { dir, anchor } => {
                self.out.push_str(dir.text());
                self.out.push(' ');
                self.expr(anchor, time);
            }
            OccursSpec::Between { from, to } => {
                self.out.push_str("between ");
                self.expr(from, time);
                self.out.push_str(" and ");
                self.expr(to, time);
            }
            OccursSpec::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor,
            } => {
                let unit = if *amount == 1 {
                    unit.singular()
                } else {
                    unit.plural()
                };
                self.out
                    .push_str(&format!("{} {amount} {unit} {} ", cmp.text(), dir.text()));
                self.expr(anchor, time);
            }
        }
    }

    /// The declarations of a binder or aggregate, which is printed bare only in a `Top` slot
    /// (it is greedy): so its last condition runs to the end of that slot too, and may itself be
    /// a bare binder (`select o from d where some r from o.x where ...`). Earlier conditions end
    /// at a comma.
    fn decls(&mut self, decls: &[VarDecl]) {
        for (i, d) in decls.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&d.name);
            self.out.push_str(" from ");
            self.expr(&d.domain, Slot::Min(P_LOWEST + 1));
            if let Some(c) = &d.cond {
                self.out.push_str(" where ");
                let last = i + 1 == decls.len();
                self.expr(c, if last { Slot::Top } else { Slot::Inner });
            }
        }
    }

    fn let_expr(&mut self, bindings: &[LetBinding], body: &Expr, slot: Slot) {
        self.out.push_str("let ");
        for (i, b) in bindings.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&b.name);
            self.out.push_str(" = ");
            // A value is read without a top-level `in` operator (it is followed by `in`), and
            // greedy constructs would run on past the `,` or `in`.
            if precedence(&b.value) == P_LOWEST || has_bare_in(&b.value) {
                self.out.push('(');
                self.expr(&b.value, Slot::Top);
                self.out.push(')');
            } else {
                self.expr(&b.value, Slot::Inner);
            }
        }
        self.out.push_str(" in ");
        self.expr(body, body_slot(slot));
    }

    fn chain(&mut self, events: &Expr, ts_field: &str, steps: &[ChainStep]) {
        self.out.push_str("chain(");
        self.expr(events, Slot::Inner);
        self.out.push_str(", ");
        self.out.push_str(ts_field);
        self.out.push_str(", [");
        for (i, s) in steps.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.step(s);
        }
        self.out.push_str("])");
    }

    fn step(&mut self, s: &ChainStep) {
        if let Some(l) = &s.label {
            self.out.push_str(l);
            self.out.push_str(": ");
        }
        self.out.push_str("WHAT(");
        self.expr(&s.what, Slot::Inner);
        self.out.push(')');
        if let Some(w) = &s.when {
            self.out.push_str(" WHEN(");
            self.occurs_spec(w);
            self.out.push(')');
        }
        if let Some(n) = s.count {
            self.out.push_str(&format!(" COUNT({n})"));
        }
        if let Some(w) = &s.where_ {
            self.out.push_str(" WHERE(");
            self.expr(w, Slot::Inner);
            self.out.push(')');
        }
    }
}

/// Whether the text of `e` has an `in`/`notIn` operator outside any brackets. Only `and`/`or`
/// terms can hold a comparison without parentheses, so only those are followed.
fn has_bare_in(e: &Expr) -> bool {
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        match &e.kind {
            ExprKind::Binary {
                op: BinaryOp::In | BinaryOp::NotIn,
                ..
            } => return true,
            ExprKind::Logical { op, terms } => {
                let slot = Slot::Min(op.precedence() + 1);
                todo.extend(terms.iter().filter(|t| !needs_parens(t, slot)));
            }
            _ => {}
        }
    }
    false
}

/// The slot of a `let` or lambda body: it extends exactly as far as the construct itself could.
fn body_slot(slot: Slot) -> Slot {
    match slot {
        Slot::Top => Slot::Top,
        _ => Slot::Inner,
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
pub(crate) mod tests;
