//! Property tests over random syntax trees of the shapes the parser produces: each prints to
//! text that re-parses to the same tree, encodes to pql/json that decodes to the same tree, and
//! json -> text -> json is stable.
//!
//! The generator avoids the trees pql/json documents as read back in an equivalent form
//! (`$1.x` at the profile level, the infix `matches`, the method `.like(...)`, calls of unknown
//! global functions) and names that are keywords where they stand.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{from_json_str, to_json};
use crate::pql::ast::*;
use crate::pql::parser::parse;
use crate::pql::printer::print;
use crate::pql::printer::tests::b;

/// Bare names, including the aggregate words, which are names wherever no `over` follows them.
const NAMES: [&str; 10] = [
    "a",
    "b",
    "person",
    "X",
    "Y",
    "K",
    "timestamp",
    "_v1",
    "count",
    "sum",
];
const VARS: [&str; 4] = ["X", "Y", "K", "G"];
const FIELDS: [&str; 8] = ["a", "b", "select", "in", "count", "X", "month", "xEvent"];
const METHODS: [&str; 10] = [
    "startsWith",
    "count",
    "sum",
    "exists",
    "map",
    "topN",
    "get",
    "filter",
    "groupBy",
    "head",
];
const CALLS: [&str; 5] = ["date", "if", "currentYear", "inSegment", "mapEntry"];
const UNITS: [TimeUnit; 11] = [
    TimeUnit::Millisecond,
    TimeUnit::Second,
    TimeUnit::Minute,
    TimeUnit::Hour,
    TimeUnit::Day,
    TimeUnit::Week,
    TimeUnit::Month,
    TimeUnit::Year,
    TimeUnit::Decade,
    TimeUnit::Century,
    TimeUnit::Millennium,
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<i64>().prop_map(b::int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(b::float),
        text().prop_map(|s| b::s(&s)),
        any::<bool>().prop_map(b::boolean),
        pick(&NAMES).prop_map(b::name),
        (1u32..4).prop_map(|p| b::e(ExprKind::Param(p))),
        (1u32..4, pick(&FIELDS)).prop_map(|(levels, n)| b::e(ExprKind::Up {
            levels,
            name: n.into()
        })),
        Just(b::e(ExprKind::This)),
        Just(b::e(ExprKind::XEvent)),
        pick(&[
            TimeWord::Now,
            TimeWord::Today,
            TimeWord::Yesterday,
            TimeWord::Tomorrow
        ])
        .prop_map(b::tw),
        (
            pick(&[Relative::This, Relative::Last, Relative::Next]),
            pick(&UNITS)
        )
            .prop_map(|(r, u)| b::rel(r, u)),
    ]
}

fn spec(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = OccursSpec> {
    let dirs = [Direction::Before, Direction::After, Direction::From];
    let cmps = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
    prop_oneof![
        inner.clone().prop_map(|t| OccursSpec::On(Box::new(t))),
        (proptest::sample::select(dirs.to_vec()), inner.clone()).prop_map(|(dir, a)| {
            OccursSpec::Direction {
                dir,
                anchor: Box::new(a),
            }
        }),
        (inner.clone(), inner.clone()).prop_map(|(f, t)| OccursSpec::Between {
            from: Box::new(f),
            to: Box::new(t)
        }),
        (
            proptest::sample::select(cmps.to_vec()),
            0i64..100,
            pick(&UNITS),
            proptest::sample::select(dirs.to_vec()),
            inner
        )
            .prop_map(|(cmp, amount, unit, dir, a)| OccursSpec::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor: Box::new(a)
            }),
    ]
}

/// One to three declarations with distinct names (the parser refuses a name declared twice in
/// one binder).
fn decls(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Vec<VarDecl>> {
    (
        proptest::sample::subsequence(VARS.to_vec(), 1..3),
        vec((inner.clone(), proptest::option::of(inner)), 3),
    )
        .prop_map(|(names, parts)| {
            names
                .into_iter()
                .zip(parts)
                .map(|(n, (d, c))| b::decl(n, d, c))
                .collect()
        })
}

fn step(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = ChainStep> {
    (
        proptest::option::of(pick(&["A", "C0", "X"])),
        inner.clone(),
        proptest::option::of(spec(inner.clone())),
        proptest::option::of(1i64..10),
        proptest::option::of(inner),
    )
        .prop_map(|(label, what, when, count, where_)| {
            let mut s = b::step(label, what);
            s.when = when;
            s.count = count;
            s.where_ = where_;
            s
        })
}

/// `$1.x` reads back from pql/json as `x` (an equivalent tree); use `$2` as a field target.
fn not_profile_root(t: Expr) -> Expr {
    match t.kind {
        ExprKind::Param(1) => b::e(ExprKind::Param(2)),
        _ => t,
    }
}

fn compound(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    let ops: Vec<BinaryOp> = BinaryOp::ALL
        .into_iter()
        .filter(|o| *o != BinaryOp::Matches)
        .collect();
    let aggs = [
        AggregateFn::Sum,
        AggregateFn::Average,
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Count,
    ];
    let binders = [
        BinderKind::Select,
        BinderKind::Exists,
        BinderKind::Forall,
        BinderKind::None,
        BinderKind::One,
    ];
    let i = inner;
    prop_oneof![
        vec(i.clone(), 0..3).prop_map(b::list),
        vec((text(), i.clone()), 0..3)
            .prop_filter("distinct keys", |f| {
                f.iter()
                    .enumerate()
                    .all(|(n, (k, _))| f[..n].iter().all(|(j, _)| j != k))
            })
            .prop_map(|f| b::e(ExprKind::Object(f))),
        (i.clone(), pick(&FIELDS)).prop_map(|(t, n)| b::field(not_profile_root(t), n)),
        (i.clone(), pick(&METHODS), vec(i.clone(), 0..3)).prop_map(|(t, n, a)| b::method(t, n, a)),
        (pick(&CALLS), vec(i.clone(), 0..3)).prop_map(|(n, a)| b::call(n, a)),
        (i.clone(), i.clone())
            .prop_filter("no numeric indexing", |(_, c)| {
                !matches!(c.kind, ExprKind::Literal(Literal::Int(_)))
            })
            .prop_map(|(t, c)| b::filter(t, c)),
        i.clone().prop_map(b::not),
        i.clone().prop_map(b::neg),
        (proptest::sample::select(ops), i.clone(), i.clone())
            .prop_map(|(op, l, r)| b::bin(op, l, r)),
        (pick(&LogicalOp::ALL), vec(i.clone(), 2..5)).prop_map(|(op, terms)| b::logic(op, terms)),
        (i.clone(), spec(i.clone())).prop_map(|(t, s)| b::occurs(t, s)),
        (proptest::sample::select(binders.to_vec()), decls(i.clone()))
            .prop_map(|(k, d)| b::binder(k, d)),
        (
            proptest::sample::select(aggs.to_vec()),
            proptest::option::of(i.clone()),
            decls(i.clone())
        )
            .prop_map(|(f, v, d)| b::agg(f, v, d)),
        (
            proptest::sample::select(aggs.to_vec()),
            opening_with_a_bracket(i.clone()),
            decls(i.clone())
        )
            .prop_map(|(f, v, d)| b::agg(f, Some(v), d)),
        (vec((pick(&VARS), i.clone()), 1..3), i.clone()).prop_map(|(bs, body)| b::let_(bs, body)),
        (
            proptest::sample::subsequence(VARS.to_vec(), 0..3),
            i.clone()
        )
            .prop_map(|(ps, body)| b::lambda(&ps, body)),
        (i.clone(), pick(&["timestamp", "a.ts"]), vec(step(i), 1..3)).prop_map(
            |(events, ts, steps)| b::e(ExprKind::Chain {
                events: Box::new(events),
                ts_field: ts.into(),
                steps
            })
        ),
    ]
}

/// Values whose text starts with `(`, `[`, `{` or `-`, as aggregate values: `sum (a + b) / 2
/// over ...` must read as an aggregate, as `sum(a)` alone reads as a call.
fn opening_with_a_bracket(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    use BinaryOp as B;
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(x, y)| b::bin(
            B::Div,
            b::bin(B::Add, x, y),
            b::int(2)
        )),
        (inner.clone(), inner.clone()).prop_map(|(x, y)| b::method(
            b::logic(LogicalOp::Or, vec![x, y]),
            "count",
            vec![]
        )),
        vec(inner.clone(), 0..3).prop_map(b::list),
        inner
            .clone()
            .prop_map(|x| b::e(ExprKind::Object(vec![("k".into(), x)]))),
        inner.prop_map(b::neg),
    ]
}

fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 40, 3, |inner| compound(inner.boxed()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_text_reparses_to_the_same_tree(e in tree()) {
        let text = print(&e);
        let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{}\n{text}", err.describe(&text))))?;
        prop_assert!(back.same_tree(&e), "text: {text}\nwant: {e:?}\ngot:  {back:?}");
    }

    #[test]
    fn json_decodes_to_the_same_tree(e in tree()) {
        let json = to_json(&e);
        let back = from_json_str(&json.to_string()).map_err(|err| TestCaseError::fail(format!("{err}\n{json}")))?;
        prop_assert!(back.same_tree(&e), "json: {json}\nwant: {e:?}\ngot:  {back:?}");
    }

    #[test]
    fn json_text_json_is_stable(e in tree()) {
        let json = to_json(&e);
        let text = print(&e);
        let back = parse(&text).map_err(|err| TestCaseError::fail(err.describe(&text)))?;
        prop_assert_eq!(to_json(&back), json, "text: {}", text);
    }
}

/// Random JSON built from the pql/json vocabulary, so that it reaches deep into the reader.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    const KEYS: [&str; 16] = [
        "nodeType",
        "fnName",
        "params",
        "fieldName",
        "object",
        "literalType",
        "value",
        "varName",
        "from",
        "where",
        "variables",
        "quantifier",
        "body",
        "position",
        "range",
        "function",
    ];
    const WORDS: [&str; 24] = [
        "fnApply",
        "fieldLookup",
        "literal",
        "parameterReference",
        "varRef",
        "varDecl",
        "select",
        "quantification",
        "fnCreate",
        "String",
        "Integer",
        "Number",
        "List",
        "XDMObject",
        "profile",
        "and",
        "occurs",
        "chain",
        "step",
        "WHAT",
        "[]",
        "^",
        "sum over",
        "let",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        pick(&WORDS).prop_map(Value::from),
        pick(&["X", "on", "<", "day", "before", "1", "x.y", ""]).prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((pick(&KEYS), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Whether every name in the tree has a pql/text spelling: field and function names are
/// identifiers, and bare names are not words the grammar reserves where they stand (pql/json can
/// carry `xdm:placement` or a field called `and`; text cannot, see docs/pql-json.md).
fn printable_names(e: &Expr) -> bool {
    const RESERVED: [&str; 22] = [
        "and",
        "or",
        "not",
        "true",
        "false",
        "null",
        "xEvent",
        "this",
        "now",
        "today",
        "yesterday",
        "tomorrow",
        "let",
        "in",
        "notIn",
        "like",
        "matches",
        "occurs",
        "chain",
        "last",
        "next",
        "over",
    ];
    let ident = |n: &str| {
        let mut c = n.chars();
        c.next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && c.all(|c| c == '_' || c.is_ascii_alphanumeric())
    };
    let here = match &e.kind {
        ExprKind::Name(n) => ident(n) && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(n)),
        ExprKind::Field { name, .. }
        | ExprKind::Up { name, .. }
        | ExprKind::Method { name, .. }
        | ExprKind::Call { name, .. } => ident(name),
        _ => true,
    };
    let mut children = true;
    e.for_each_child(&mut |c| children &= printable_names(c));
    here && children
}

/// Replaces the node at a pseudo-random position of `v` with `with`.
fn mutate(v: &mut serde_json::Value, mut at: usize, with: serde_json::Value) -> usize {
    use serde_json::Value;
    if at == 0 {
        *v = with;
        return usize::MAX;
    }
    at -= 1;
    let children: Vec<&mut Value> = match v {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(m) => m.values_mut().collect(),
        _ => return at,
    };
    for c in children {
        at = mutate(c, at, with.clone());
        if at == usize::MAX {
            return at;
        }
    }
    at
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn reading_arbitrary_json_never_panics(v in json_value()) {
        let _ = super::from_json(&v);
        let _ = from_json_str(&v.to_string());
    }

    #[test]
    fn reading_mutated_trees_never_panics(e in tree(), at in 0usize..200, with in json_value()) {
        let mut v = to_json(&e);
        mutate(&mut v, at, with);
        if let Ok(back) = super::from_json(&v)
            && printable_names(&back)
        {
            // Whatever reads, prints as text that parses back to it (names permitting).
            let text = print(&back);
            let again = parse(&text).map_err(|err| TestCaseError::fail(format!("{}\n{text}", err.describe(&text))))?;
            prop_assert!(again.same_tree(&back), "{text}");
        }
    }
}
