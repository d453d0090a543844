//! Constant folding: a pure operation whose operands are all constants is evaluated once, at
//! compile time (`-201`, `[1, 2, 3]`, `date(2024, 6, 1)`, `2 * 60`, `"a" in ["a", "b"]`).
//! Anything reading `now`, the memberships or profile data is left alone.

use super::Compiler;
use crate::pql::context::{EvalContext, NoMemberships};
use crate::pql::eval::{Frame, Node, eval};
use crate::pql::value::Value;

fn foldable(n: &Node) -> bool {
    match n {
        Node::Arith { lhs, rhs, .. } | Node::Cmp { lhs, rhs, .. } | Node::In { lhs, rhs, .. } => {
            lhs.is_const() && rhs.is_const()
        }
        Node::Neg(e) | Node::Not(e) => e.is_const(),
        Node::Project { target, .. } => target.is_const(),
        Node::And(items) | Node::Or(items) | Node::List(items) => items.iter().all(Node::is_const),
        Node::Object(fields) => fields.iter().all(|(_, v)| v.is_const()),
        Node::Apply(a) => a.def.pure && a.item.is_none() && a.args.iter().all(Node::is_const),
        _ => false,
    }
}

impl Compiler {
    pub(super) fn fold(&self, node: Node) -> Node {
        if !foldable(&node) {
            return node;
        }
        let (profile, events) = (Value::Null, Value::Null);
        let cx = EvalContext {
            profile: &profile,
            events: &events,
            memberships: &NoMemberships,
            now: 0,
        };
        let value = {
            let mut fr = Frame::new(self.slots as usize, self.windows as usize);
            eval(&node, &cx, &mut fr).into_value()
        };
        Node::Const(value)
    }
}
