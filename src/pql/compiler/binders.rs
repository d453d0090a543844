//! Lowering of the constructs that bind names or items: binders (`select`, `exists`, `forall`,
//! `none`, `one`), aggregates over declarations, `let`, `occurs` specs and `chain`.
//!
//! A binder's declarations are scoped left to right: a domain and a condition see the variables
//! declared before them, a condition also its own (Part 2 §3.11). Conditions do not open an
//! implicit context: bare names there are profile fields (D6.2).

use std::sync::Arc;

use super::{Compiler, Lowered, Origin};
use crate::pql::ast::{
    AggregateFn, BinderKind, ChainStep, Direction, Expr, LetBinding, OccursSpec, VarDecl,
};
use crate::pql::error::PqlError;
use crate::pql::eval::aggregates::AggregateNode;
use crate::pql::eval::binders::{BinderNode, Decl};
use crate::pql::eval::chain::{ChainNode, StepNode};
use crate::pql::eval::dates::{OccursNode, Spec, SpecNode};
use crate::pql::eval::path::Step;
use crate::pql::eval::{Node, Root};
use crate::pql::value::intern;

impl Compiler {
    /// Compiles declarations, leaving their variables in scope (the caller truncates).
    fn lower_decls(&mut self, decls: &[VarDecl]) -> Result<(Vec<Decl>, Origin), PqlError> {
        let mut out = Vec::with_capacity(decls.len());
        let mut first_origin = Origin::Unknown;
        for (i, d) in decls.iter().enumerate() {
            let domain = self.lower(&d.domain)?;
            if i == 0 {
                first_origin = domain.origin.clone();
            }
            let slot = self.new_slot();
            self.push_var(&d.name, Root::Slot(slot), domain.origin);
            let cond = match &d.cond {
                Some(c) => Some(self.lower(c)?.node),
                None => None,
            };
            out.push(Decl {
                name: Arc::from(d.name.as_str()),
                slot,
                domain: domain.node,
                cond,
            });
        }
        Ok((out, first_origin))
    }

    pub(super) fn lower_binder(
        &mut self,
        kind: BinderKind,
        decls: &[VarDecl],
    ) -> Result<Lowered, PqlError> {
        let mark = self.vars.len();
        let r = self.lower_decls(decls);
        self.vars.truncate(mark);
        let (decls, origin) = r?;
        let origin = if kind == BinderKind::Select && decls.len() == 1 {
            origin
        } else {
            Origin::Unknown
        };
        Ok(Lowered {
            node: Node::Binder(Box::new(BinderNode {
                kind,
                decls: decls.into(),
            })),
            origin,
        })
    }

    pub(super) fn lower_aggregate(
        &mut self,
        func: AggregateFn,
        value: Option<&Expr>,
        decls: &[VarDecl],
    ) -> Result<Node, PqlError> {
        let mark = self.vars.len();
        let r = self.lower_decls(decls).and_then(|(decls, _)| {
            let value = value.map(|v| self.lower(v)).transpose()?;
            Ok((decls, value))
        });
        self.vars.truncate(mark);
        let (decls, value) = r?;
        Ok(Node::Aggregate(Box::new(AggregateNode {
            func,
            value: value.map(|v| v.node),
            decls: decls.into(),
        })))
    }

    pub(super) fn lower_let(
        &mut self,
        bindings: &[LetBinding],
        body: &Expr,
    ) -> Result<Lowered, PqlError> {
        let mark = self.vars.len();
        let r = self.lower_let_in_scope(bindings, body);
        self.vars.truncate(mark);
        r
    }

    fn lower_let_in_scope(
        &mut self,
        bindings: &[LetBinding],
        body: &Expr,
    ) -> Result<Lowered, PqlError> {
        let mut out = Vec::with_capacity(bindings.len());
        for b in bindings {
            let value = self.lower(&b.value)?;
            let slot = self.new_slot();
            self.push_var(&b.name, Root::Slot(slot), value.origin);
            out.push((slot, value.node));
        }
        let body = self.lower(body)?;
        Ok(Lowered {
            node: Node::Let {
                bindings: out.into(),
                body: Box::new(body.node),
            },
            origin: body.origin,
        })
    }

    pub(super) fn lower_occurs(&mut self, ts: &Expr, spec: &OccursSpec) -> Result<Node, PqlError> {
        let ts = self.lower(ts)?.node;
        let spec = self.lower_spec(spec)?;
        Ok(Node::Occurs(Box::new(OccursNode { ts, spec })))
    }

    /// An `occurs` spec; when no anchor depends on an item or variable, its window gets a
    /// per-evaluation cache slot.
    fn lower_spec(&mut self, spec: &OccursSpec) -> Result<Spec, PqlError> {
        let node = match spec {
            OccursSpec::On(t) => SpecNode::On(self.lower(t)?.node),
            OccursSpec::Direction { dir, anchor } => {
                let a = self.lower(anchor)?.node;
                match dir {
                    Direction::Before => SpecNode::Before(a),
                    Direction::After | Direction::From => SpecNode::After(a),
                }
            }
            OccursSpec::Between { from, to } => {
                SpecNode::Between(self.lower(from)?.node, self.lower(to)?.node)
            }
            OccursSpec::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor,
            } => SpecNode::Distance {
                cmp: *cmp,
                amount: *amount,
                unit: *unit,
                dir: *dir,
                anchor: self.lower(anchor)?.node,
            },
        };
        let fixed = match &node {
            SpecNode::On(a) | SpecNode::Before(a) | SpecNode::After(a) => !uses_slots(a),
            SpecNode::Distance { anchor, .. } => !uses_slots(anchor),
            SpecNode::Between(a, b) => !uses_slots(a) && !uses_slots(b),
        };
        let cache = fixed.then(|| self.new_window());
        Ok(Spec { node, cache })
    }

    pub(super) fn lower_chain(
        &mut self,
        events: &Expr,
        ts_field: &str,
        steps: &[ChainStep],
    ) -> Result<Node, PqlError> {
        let events = self.lower(events)?;
        let slot = self.new_slot();
        let origin = events.origin.clone();
        let steps_text: Vec<&str> = ts_field.split('.').collect();
        self.record(&origin.extend(&steps_text));
        let ts_path: Box<[Step]> = steps_text.iter().map(|s| Step::new(intern(s))).collect();
        let steps = self.with_ctx(slot, origin, |c| {
            steps
                .iter()
                .map(|s| c.lower_step(s))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(Node::Chain(Box::new(ChainNode {
            events: events.node,
            ts_path,
            slot,
            steps: steps.into(),
        })))
    }

    fn lower_step(&mut self, s: &ChainStep) -> Result<StepNode, PqlError> {
        let count = match s.count {
            None => 1,
            Some(n) => u64::try_from(n).map_err(|_| {
                PqlError::new(
                    format!("COUNT needs a non-negative count, found {n}"),
                    s.span,
                )
            })?,
        };
        Ok(StepNode {
            what: self.lower(&s.what)?.node,
            when: s.when.as_ref().map(|w| self.lower_spec(w)).transpose()?,
            count,
            where_: s
                .where_
                .as_ref()
                .map(|w| self.lower(w))
                .transpose()?
                .map(|l| l.node),
        })
    }
}

/// Whether a node may read a slot (a variable or an implicit item). Conservative: anything
/// that binds or iterates counts as reading one.
fn uses_slots(n: &Node) -> bool {
    match n {
        Node::Const(_) | Node::TimeWord(_) | Node::RelPeriod(..) => false,
        Node::Path { root, .. } => matches!(root, Root::Slot(_)),
        Node::Project { target, .. } | Node::Neg(target) | Node::Not(target) => uses_slots(target),
        Node::Arith { lhs, rhs, .. } | Node::Cmp { lhs, rhs, .. } | Node::In { lhs, rhs, .. } => {
            uses_slots(lhs) || uses_slots(rhs)
        }
        Node::List(items) | Node::And(items) | Node::Or(items) => items.iter().any(uses_slots),
        Node::Object(fields) => fields.iter().any(|(_, v)| uses_slots(v)),
        Node::Apply(a) => a.item.is_some() || a.args.iter().any(uses_slots),
        _ => true,
    }
}
