//! The evaluator: runs a compiled node tree against one [`EvalContext`].
//!
//! The compiler ([`crate::pql::compiler`]) has already resolved every name to a root (the
//! profile, `xEvent`, or a numbered *slot* holding a variable or an implicit item), turned field
//! paths into pre-split key sequences, checked arities and compiled regular expressions. What is
//! left here is a tight walk over [`Node`]s.
//!
//! Three ideas keep it fast and allocation-free on the common paths:
//!
//! * Results are [`Val`]s: either a borrow of a value that lives as long as the evaluation (profile
//!   data, events, constants of the program) or an owned value computed on the way. Reading
//!   `person.name.firstName` borrows; nothing is cloned.
//! * Boolean positions call [`test`], which never builds a `Value::Bool`, and predicates over
//!   collections stop at the first decisive item.
//! * Collections are consumed through [`for_each_item`], which streams the items of a path
//!   projection (`xEvent.productListItems.SKU`) or of a filter (`xEvent[...]`) without building
//!   the intermediate array.
//!
//! No function here panics on any data: wrong kinds become null (Part 1 D2), arithmetic is
//! checked, and the clock is never read (`ctx.now` is the only "current time").
//!
//! One file per function group, each with the group's functions and their examples as tests:
//! [`compare`], [`arith`], [`strings`], [`arrays`], [`maps`], [`aggregates`], [`dates`],
//! [`binders`], [`chain`]; [`table`] lists every function with its arity and argument kinds.

pub(crate) mod aggregates;
pub(crate) mod arith;
pub(crate) mod arrays;
pub(crate) mod binders;
pub(crate) mod chain;
pub(crate) mod compare;
pub(crate) mod dates;
pub(crate) mod maps;
pub(crate) mod path;
pub(crate) mod strings;
pub(crate) mod table;

#[cfg(test)]
mod rules_tests;
#[cfg(test)]
pub(crate) mod testing;

use std::ops::Deref;
use std::sync::Arc;

use crate::pql::ast::{Relative, TimeUnit, TimeWord};
use crate::pql::context::EvalContext;
use crate::pql::time::Window;
use crate::pql::value::{Map, Value};

pub(crate) use table::Apply;

/// A value produced during evaluation: borrowed from data or constants that outlive the
/// evaluation, or owned (computed).
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Ref(&'a Value),
    Own(Value),
}

impl Deref for Val<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            Val::Ref(v) => v,
            Val::Own(v) => v,
        }
    }
}

impl<'a> Val<'a> {
    pub(crate) const NULL: Val<'static> = Val::Own(Value::Null);

    pub(crate) fn into_value(self) -> Value {
        match self {
            Val::Ref(v) => v.clone(),
            Val::Own(v) => v,
        }
    }

    pub(crate) fn bool(b: bool) -> Val<'a> {
        Val::Own(Value::Bool(b))
    }
}

/// The variable slots of one evaluation. Every binding site of the program (binder variable,
/// `let`, lambda parameter, filter item, method-argument item, chain event) owns one slot, so
/// nested and sequential bindings never collide.
///
/// A frame is made for every profile × expression evaluation, so small ones (the usual case)
/// live on the stack instead of costing two heap allocations.
pub(crate) struct Frame<'a> {
    slots: Store<Val<'a>, 4>,
    /// Windows of `occurs` specs whose anchors are the same for every item: computed once per
    /// evaluation (outer `None`: not computed yet).
    windows: Store<Option<Option<Window>>, 2>,
}

/// A fixed number of items, inline up to `N`.
enum Store<T, const N: usize> {
    Inline([T; N]),
    Heap(Vec<T>),
}

impl<T, const N: usize> Store<T, N> {
    fn new(len: usize, empty: fn() -> T) -> Store<T, N> {
        if len == 0 {
            // Free to make and to drop: most attribute predicates bind nothing.
            Store::Heap(Vec::new())
        } else if len <= N {
            Store::Inline(std::array::from_fn(|_| empty()))
        } else {
            Store::Heap(std::iter::repeat_with(empty).take(len).collect())
        }
    }

    fn get(&self, i: usize) -> Option<&T> {
        match self {
            Store::Inline(items) => items.get(i),
            Store::Heap(items) => items.get(i),
        }
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        match self {
            Store::Inline(items) => items.get_mut(i),
            Store::Heap(items) => items.get_mut(i),
        }
    }
}

impl<'a> Frame<'a> {
    pub(crate) fn new(slots: usize, windows: usize) -> Frame<'a> {
        Frame {
            slots: Store::new(slots, || Val::NULL),
            windows: Store::new(windows, || None),
        }
    }

    pub(crate) fn window(&self, i: u32) -> Option<Option<Window>> {
        self.windows.get(i as usize).copied().flatten()
    }

    pub(crate) fn set_window(&mut self, i: u32, w: Option<Window>) {
        if let Some(s) = self.windows.get_mut(i as usize) {
            *s = Some(w);
        }
    }

    pub(crate) fn set(&mut self, slot: u32, v: Val<'a>) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = v;
        }
    }

    pub(crate) fn get(&self, slot: u32) -> &Val<'a> {
        self.slots.get(slot as usize).unwrap_or(&Val::NULL)
    }
}

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    Profile,
    Events,
    Slot(u32),
}

/// What the compiler knows about the operands of a comparison or `in`: which are string literals
/// (or lists holding some), whose strings are coerced to the other side's boolean or number
/// (D2.6, D6.5); and which are list literals, which a scalar never equals (only a data array
/// against a scalar is existential, D6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Lit {
    pub(crate) left: bool,
    pub(crate) right: bool,
    pub(crate) left_list: bool,
    pub(crate) right_list: bool,
}

impl Lit {
    pub(crate) fn swap(self) -> Lit {
        Lit {
            left: self.right,
            right: self.left,
            left_list: self.right_list,
            right_list: self.left_list,
        }
    }

    /// The flags that still apply to the items inside the operands.
    pub(crate) fn items(self) -> Lit {
        Lit {
            left_list: false,
            right_list: false,
            ..self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A compiled expression.
#[derive(Debug)]
pub(crate) enum Node {
    Const(Value),
    /// `person.name.firstName`, `X.timestamp`, `this`: a root and pre-split field names.
    Path {
        root: Root,
        steps: Box<[path::Step]>,
    },
    /// Field steps applied to a computed value: `orders.topN(price, 1).head().storeId`.
    Project {
        target: Box<Node>,
        steps: Box<[path::Step]>,
    },
    TimeWord(TimeWord),
    RelPeriod(Relative, TimeUnit),
    List(Box<[Node]>),
    Object(Box<[(Arc<str>, Node)]>),
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Cmp {
        op: CmpOp,
        lit: Lit,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    In {
        negate: bool,
        lit: Lit,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Arith {
        op: ArithOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Neg(Box<Node>),
    /// A function or method from the table; for methods `args[0]` is the receiver.
    Apply(Box<Apply>),
    /// `target[cond]`, the item in `slot`.
    Filter {
        target: Box<Node>,
        slot: u32,
        cond: Box<Node>,
    },
    Binder(Box<binders::BinderNode>),
    Aggregate(Box<aggregates::AggregateNode>),
    Let {
        bindings: Box<[(u32, Node)]>,
        body: Box<Node>,
    },
    Occurs(Box<dates::OccursNode>),
    Chain(Box<chain::ChainNode>),
}

impl Node {
    pub(crate) fn is_const(&self) -> bool {
        matches!(self, Node::Const(_))
    }
}

/// The value of `node`.
pub(crate) fn eval<'a>(node: &'a Node, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    match node {
        Node::Const(v) => Val::Ref(v),
        Node::Path { root, steps } => path::eval_path(*root, steps, cx, fr),
        Node::Project { target, steps } => {
            let t = eval(target, cx, fr);
            path::project(t, steps)
        }
        Node::TimeWord(w) => Val::Own(dates::time_word(*w, cx.now)),
        Node::RelPeriod(rel, unit) => Val::Own(dates::rel_period(*rel, *unit, cx.now)),
        Node::List(items) => {
            let v: Vec<Value> = items.iter().map(|i| eval(i, cx, fr).into_value()).collect();
            Val::Own(Value::array(v))
        }
        Node::Object(fields) => {
            let mut map = Map::with_capacity(fields.len());
            for (k, n) in fields.iter() {
                map.insert(k.clone(), eval(n, cx, fr).into_value());
            }
            Val::Own(Value::object(map))
        }
        Node::Arith { op, lhs, rhs } => {
            let l = eval(lhs, cx, fr);
            let r = eval(rhs, cx, fr);
            Val::Own(arith::arith(*op, &l, &r))
        }
        Node::Neg(e) => Val::Own(arith::negate(&eval(e, cx, fr))),
        Node::Apply(a) => table::apply_value(a, cx, fr),
        Node::Filter { .. } => collect_items(node, cx, fr),
        Node::Binder(b) => binders::eval_binder(b, cx, fr),
        Node::Aggregate(a) => aggregates::eval_over(a, cx, fr),
        Node::Let { bindings, body } => {
            bind_let(bindings, cx, fr);
            eval(body, cx, fr)
        }
        Node::And(_)
        | Node::Or(_)
        | Node::Not(_)
        | Node::Cmp { .. }
        | Node::In { .. }
        | Node::Occurs(_)
        | Node::Chain(_) => Val::bool(test(node, cx, fr)),
    }
}

/// The value of `node` in a boolean position (D2.3).
pub(crate) fn test<'a>(node: &'a Node, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| test(n, cx, fr)),
        Node::Or(items) => items.iter().any(|n| test(n, cx, fr)),
        Node::Not(e) => !test(e, cx, fr),
        Node::Cmp { op, lit, lhs, rhs } => compare::test_cmp(*op, *lit, lhs, rhs, cx, fr),
        Node::In {
            negate,
            lit,
            lhs,
            rhs,
        } => compare::test_in(*negate, *lit, lhs, rhs, cx, fr),
        Node::Apply(a) => table::apply_test(a, cx, fr),
        Node::Filter { .. } => !for_each_item(node, cx, fr, &mut |_, _| false),
        Node::Path { root, steps } => path::test_path(*root, steps, cx, fr),
        Node::Binder(b) => binders::test_binder(b, cx, fr),
        Node::Let { bindings, body } => {
            bind_let(bindings, cx, fr);
            test(body, cx, fr)
        }
        Node::Occurs(o) => dates::test_occurs(o, cx, fr),
        Node::Chain(c) => chain::test_chain(c, cx, fr),
        _ => eval(node, cx, fr).truthy(),
    }
}

fn bind_let<'a>(bindings: &'a [(u32, Node)], cx: &EvalContext<'a>, fr: &mut Frame<'a>) {
    for (slot, value) in bindings {
        let v = eval(value, cx, fr);
        fr.set(*slot, v);
    }
}

/// Calls `f` on each item of the collection `node` denotes: the items of an array, the single
/// item of any other present value, nothing for null (D6.4: a missing receiver is `[]`). Path
/// projections and filters are streamed. Returns false when `f` stopped the walk by returning
/// false.
pub(crate) fn for_each_item<'a>(
    node: &'a Node,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    f: &mut dyn FnMut(Val<'a>, &mut Frame<'a>) -> bool,
) -> bool {
    match node {
        Node::Path { root, steps } => path::for_each_path_item(*root, steps, cx, fr, f),
        Node::Filter { target, slot, cond } => for_each_item(target, cx, fr, &mut |item, fr| {
            fr.set(*slot, item.clone());
            if test(cond, cx, fr) {
                f(item, fr)
            } else {
                true
            }
        }),
        _ => {
            let v = eval(node, cx, fr);
            for_each_item_of(v, fr, f)
        }
    }
}

/// [`for_each_item`] over an already computed value.
pub(crate) fn for_each_item_of<'a>(
    v: Val<'a>,
    fr: &mut Frame<'a>,
    f: &mut dyn FnMut(Val<'a>, &mut Frame<'a>) -> bool,
) -> bool {
    match v {
        Val::Ref(Value::Array(items)) => items.iter().all(|i| f(Val::Ref(i), fr)),
        Val::Own(Value::Array(items)) => items.iter().all(|i| f(Val::Own(i.clone()), fr)),
        Val::Ref(Value::Null) | Val::Own(Value::Null) => true,
        other => f(other, fr),
    }
}

/// The items of `node` gathered into an array value.
pub(crate) fn collect_items<'a>(
    node: &'a Node,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> Val<'a> {
    let mut out = Vec::new();
    for_each_item(node, cx, fr, &mut |item, _| {
        out.push(item.into_value());
        true
    });
    Val::Own(Value::array(out))
}

/// The items of a computed value as a slice-like vector of values (small helper for functions
/// that need random access, such as set operations).
pub(crate) fn items_of(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        Value::Null => &[],
        other => std::slice::from_ref(other),
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    #[test]
    fn frames_hold_any_number_of_slots_and_windows() {
        for (slots, windows) in [(0, 0), (4, 2), (9, 5)] {
            let values: Vec<Value> = (0..slots as i64).map(Value::Int).collect();
            let mut fr = Frame::new(slots, windows);
            for (i, v) in values.iter().enumerate() {
                assert!(fr.get(i as u32).is_null());
                fr.set(i as u32, Val::Ref(v));
            }
            for i in 0..slots {
                assert!(matches!(**fr.get(i as u32), Value::Int(n) if n == i as i64));
            }
            for i in 0..windows as u32 {
                assert!(fr.window(i).is_none());
                fr.set_window(i, None);
                assert_eq!(fr.window(i), Some(None));
            }
            assert!(fr.get(slots as u32 + 3).is_null());
        }
    }
}
