//! Lowering of expressions other than calls and binders: literals, lists, objects, names and
//! paths, filters, operators.

use super::{Compiler, Lowered, Origin};
use crate::pql::ast::{BinaryOp, Expr, ExprKind, Literal, LogicalOp, UnaryOp};
use crate::pql::error::PqlError;
use crate::pql::eval::path::Step;
use crate::pql::eval::{ArithOp, CmpOp, Lit, Node, Root};
use crate::pql::value::{Value, intern};

impl Compiler {
    /// Compiles one expression.
    pub(super) fn lower(&mut self, e: &Expr) -> Result<Lowered, PqlError> {
        self.enter(e.span)?;
        let r = self.lower_kind(e);
        self.depth -= 1;
        r
    }

    fn lower_kind(&mut self, e: &Expr) -> Result<Lowered, PqlError> {
        let node = match &e.kind {
            ExprKind::Literal(l) => Node::Const(literal(l)),
            ExprKind::List(items) => {
                let items = items
                    .iter()
                    .map(|i| self.lower(i).map(|l| l.node))
                    .collect::<Result<Vec<_>, _>>()?;
                self.fold(Node::List(items.into()))
            }
            ExprKind::Object(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    out.push((intern(k), self.lower(v)?.node));
                }
                self.fold(Node::Object(out.into()))
            }
            ExprKind::Name(_)
            | ExprKind::Param(_)
            | ExprKind::Up { .. }
            | ExprKind::This
            | ExprKind::XEvent
            | ExprKind::Field { .. } => return self.lower_access(e),
            ExprKind::TimeWord(w) => Node::TimeWord(*w),
            ExprKind::RelPeriod { rel, unit } => Node::RelPeriod(*rel, *unit),
            ExprKind::Method { target, name, args } => {
                return self.lower_method(target, name, args, e.span);
            }
            ExprKind::Call { name, args } => return self.lower_call(name, args, e.span),
            ExprKind::Filter { target, cond } => return self.lower_filter(target, cond),
            ExprKind::Unary { op, expr } => {
                let inner = self.lower(expr)?.node;
                self.fold(match op {
                    UnaryOp::Neg => Node::Neg(Box::new(inner)),
                    UnaryOp::Not => Node::Not(Box::new(inner)),
                })
            }
            ExprKind::Binary { op, lhs, rhs } => return self.lower_binary(*op, lhs, rhs, e),
            ExprKind::Logical { op, terms } => self.lower_logical(*op, terms)?,
            ExprKind::Occurs { ts, spec } => self.lower_occurs(ts, spec)?,
            ExprKind::Binder { kind, decls } => return self.lower_binder(*kind, decls),
            ExprKind::Aggregate { func, value, decls } => {
                self.lower_aggregate(*func, value.as_deref(), decls)?
            }
            ExprKind::Let { bindings, body } => return self.lower_let(bindings, body),
            ExprKind::Lambda { .. } => {
                return Err(PqlError::new(
                    "a lambda can only be the argument of map, filter, exists, groupBy, topN, bottomN or an aggregate method, or the whole expression",
                    e.span,
                ));
            }
            ExprKind::Chain {
                events,
                ts_field,
                steps,
            } => self.lower_chain(events, ts_field, steps)?,
        };
        Ok(Lowered::plain(node))
    }

    /// A name, `$1`, `^name`, `this`, `xEvent`, or a chain of `.field` steps on any of those or
    /// on a computed value. Steps accumulate into one pre-split path.
    fn lower_access(&mut self, e: &Expr) -> Result<Lowered, PqlError> {
        let mut steps: Vec<&str> = Vec::new();
        let mut base = e;
        while let ExprKind::Field { target, name } = &base.kind {
            steps.push(name);
            base = target;
        }
        steps.reverse();
        let (root, first, origin): (Root, Option<&str>, Origin) = match &base.kind {
            ExprKind::Name(n) => match self.var(n) {
                Some(v) => (v.root, None, v.origin.clone()),
                None => {
                    let ctx = self.innermost();
                    (ctx.root, Some(n.as_str()), ctx.origin)
                }
            },
            ExprKind::Param(1) => (Root::Profile, None, Origin::Profile(String::new())),
            ExprKind::Param(n) => {
                return Err(PqlError::new(
                    format!("${n} is not bound: only $1 (the profile) can be referenced"),
                    base.span,
                ));
            }
            ExprKind::Up { levels, name } => {
                let ctx = self.up(*levels, base)?;
                (ctx.root, Some(name.as_str()), ctx.origin)
            }
            ExprKind::This => {
                let ctx = self.innermost();
                (ctx.root, None, ctx.origin)
            }
            ExprKind::XEvent => {
                self.reads_events = true;
                (Root::Events, None, Origin::Event(String::new()))
            }
            _ => {
                let inner = self.lower(base)?;
                return Ok(self.project(inner, &steps));
            }
        };
        let all: Vec<&str> = first.into_iter().chain(steps.iter().copied()).collect();
        let origin = origin.extend(&all);
        self.record(&origin);
        Ok(Lowered {
            node: Node::Path {
                root,
                steps: all.iter().map(|s| Step::new(intern(s))).collect(),
            },
            origin,
        })
    }

    /// The implicit context `levels` levels above the innermost one.
    fn up(&self, levels: u32, at: &Expr) -> Result<super::Ctx, PqlError> {
        let depth = self.ctxs.len() - 1;
        match depth.checked_sub(levels as usize) {
            Some(i) => Ok(self.ctxs[i].clone()),
            None if depth == 0 => Err(PqlError::new(
                "'^' is only meaningful inside filter brackets, a chain step or a lambda: there is no outer item to climb to",
                at.span,
            )),
            None => Err(PqlError::new(
                format!(
                    "'{}' climbs {levels} levels, but only {depth} enclosing level{} exist{} here",
                    "^".repeat(levels as usize),
                    if depth == 1 { "" } else { "s" },
                    if depth == 1 { "s" } else { "" },
                ),
                at.span,
            )),
        }
    }

    /// Field steps on a computed value.
    fn project(&mut self, inner: Lowered, steps: &[&str]) -> Lowered {
        if steps.is_empty() {
            return inner;
        }
        let origin = inner.origin.extend(steps);
        self.record(&origin);
        let steps: Box<[Step]> = steps.iter().map(|s| Step::new(intern(s))).collect();
        let node = match inner.node {
            Node::Path { root, steps: s0 } => Node::Path {
                root,
                steps: s0.iter().cloned().chain(steps.iter().cloned()).collect(),
            },
            Node::Project { target, steps: s0 } => Node::Project {
                target,
                steps: s0.iter().cloned().chain(steps.iter().cloned()).collect(),
            },
            other => self.fold(Node::Project {
                target: Box::new(other),
                steps,
            }),
        };
        Lowered { node, origin }
    }

    fn lower_filter(&mut self, target: &Expr, cond: &Expr) -> Result<Lowered, PqlError> {
        let target = self.lower(target)?;
        let slot = self.new_slot();
        let origin = target.origin.clone();
        let cond = self.with_ctx(slot, origin.clone(), |c| c.lower(cond))?;
        Ok(Lowered {
            node: Node::Filter {
                target: Box::new(target.node),
                slot,
                cond: Box::new(cond.node),
            },
            origin,
        })
    }

    fn lower_binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        whole: &Expr,
    ) -> Result<Lowered, PqlError> {
        if let Some(name) = pattern_method(op) {
            return self.lower_method(lhs, name, std::slice::from_ref(rhs), whole.span);
        }
        let lit = Lit {
            left: is_literal_side(lhs),
            right: is_literal_side(rhs),
            left_list: matches!(lhs.kind, ExprKind::List(_)),
            right_list: matches!(rhs.kind, ExprKind::List(_)),
        };
        let l = Box::new(self.lower(lhs)?.node);
        let r = Box::new(self.lower(rhs)?.node);
        let node = if let Some(a) = arith_op(op) {
            Node::Arith {
                op: a,
                lhs: l,
                rhs: r,
            }
        } else {
            match op {
                BinaryOp::In | BinaryOp::NotIn => Node::In {
                    negate: op == BinaryOp::NotIn,
                    lit,
                    lhs: l,
                    rhs: r,
                },
                _ => compare_node(op, lit, l, r),
            }
        };
        Ok(Lowered::plain(self.fold(node)))
    }

    /// An n-ary `and`/`or`: the evaluator tests the terms left to right and stops at the first
    /// that decides (D2.3). A term that is itself a chain of the same operator (`a and (b and
    /// c)`) is spliced in, since the grouping does not change the meaning.
    fn lower_logical(&mut self, op: LogicalOp, terms: &[Expr]) -> Result<Node, PqlError> {
        let mut items = Vec::with_capacity(terms.len());
        for t in terms {
            match (op, self.lower(t)?.node) {
                (LogicalOp::And, Node::And(inner)) | (LogicalOp::Or, Node::Or(inner)) => {
                    items.extend(inner.into_vec())
                }
                (_, n) => items.push(n),
            }
        }
        let items = items.into_boxed_slice();
        Ok(self.fold(match op {
            LogicalOp::And => Node::And(items),
            LogicalOp::Or => Node::Or(items),
        }))
    }
}

/// `s like p` and `s matches re` are the methods `like` and `matches` (D1.8).
fn pattern_method(op: BinaryOp) -> Option<&'static str> {
    match op {
        BinaryOp::Like => Some("like"),
        BinaryOp::Matches => Some("matches"),
        _ => None,
    }
}

/// A comparison, with a constant on the left moved to the right (the evaluator streams a path
/// on the left against a scalar on the right without building the projected array).
fn compare_node(op: BinaryOp, lit: Lit, l: Box<Node>, r: Box<Node>) -> Node {
    let op = match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::Ne => CmpOp::Ne,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::Le => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        _ => CmpOp::Ge,
    };
    if l.is_const() && !r.is_const() {
        let flipped = match op {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        };
        return Node::Cmp {
            op: flipped,
            lit: lit.swap(),
            lhs: r,
            rhs: l,
        };
    }
    Node::Cmp {
        op,
        lit,
        lhs: l,
        rhs: r,
    }
}

fn arith_op(op: BinaryOp) -> Option<ArithOp> {
    Some(match op {
        BinaryOp::Add => ArithOp::Add,
        BinaryOp::Sub => ArithOp::Sub,
        BinaryOp::Mul => ArithOp::Mul,
        BinaryOp::Div => ArithOp::Div,
        BinaryOp::Mod => ArithOp::Mod,
        _ => return None,
    })
}

/// Whether an operand is a string literal, or a list of literals, whose strings may be coerced
/// to the other side's kind (D2.6, D6.5).
fn is_literal_side(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(Literal::Str(_)) => true,
        ExprKind::List(items) => items
            .iter()
            .any(|i| matches!(i.kind, ExprKind::Literal(Literal::Str(_)))),
        _ => false,
    }
}

pub(super) fn literal(l: &Literal) -> Value {
    match l {
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::Str(s) => Value::str(s),
    }
}
