//! Printer tests on hand-built trees: exact canonical text for each construct and each
//! parenthesisation rule. Parse-based round trips live in `pql::json::tests` and
//! `printer::roundtrip`.

use super::*;
use crate::pql::ast::*;

/// Tree builders shared by the printer and pql/json tests (spans are empty).
pub(crate) mod b {
    use crate::pql::ast::*;

    pub fn e(kind: ExprKind) -> Expr {
        Expr::new(kind, Span::default())
    }
    pub fn bx(kind: ExprKind) -> Box<Expr> {
        Box::new(e(kind))
    }
    pub fn name(n: &str) -> Expr {
        e(ExprKind::Name(n.into()))
    }
    pub fn int(i: i64) -> Expr {
        e(ExprKind::Literal(Literal::Int(i)))
    }
    pub fn float(f: f64) -> Expr {
        e(ExprKind::Literal(Literal::Float(f)))
    }
    pub fn s(v: &str) -> Expr {
        e(ExprKind::Literal(Literal::Str(v.into())))
    }
    pub fn boolean(v: bool) -> Expr {
        e(ExprKind::Literal(Literal::Bool(v)))
    }
    pub fn list(items: Vec<Expr>) -> Expr {
        e(ExprKind::List(items))
    }
    pub fn field(t: Expr, n: &str) -> Expr {
        e(ExprKind::Field {
            target: Box::new(t),
            name: n.into(),
        })
    }
    /// `a.b.c` from "a.b.c" (the first step a bare name).
    pub fn path(p: &str) -> Expr {
        let mut parts = p.split('.');
        let mut out = name(parts.next().unwrap_or_default());
        for part in parts {
            out = field(out, part);
        }
        out
    }
    pub fn method(t: Expr, n: &str, args: Vec<Expr>) -> Expr {
        e(ExprKind::Method {
            target: Box::new(t),
            name: n.into(),
            args,
        })
    }
    pub fn call(n: &str, args: Vec<Expr>) -> Expr {
        e(ExprKind::Call {
            name: n.into(),
            args,
        })
    }
    pub fn filter(t: Expr, c: Expr) -> Expr {
        e(ExprKind::Filter {
            target: Box::new(t),
            cond: Box::new(c),
        })
    }
    pub fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        e(ExprKind::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        })
    }
    pub fn logic(op: LogicalOp, terms: Vec<Expr>) -> Expr {
        e(ExprKind::Logical { op, terms })
    }
    pub fn and(terms: Vec<Expr>) -> Expr {
        logic(LogicalOp::And, terms)
    }
    pub fn or(terms: Vec<Expr>) -> Expr {
        logic(LogicalOp::Or, terms)
    }
    pub fn not(x: Expr) -> Expr {
        e(ExprKind::Unary {
            op: UnaryOp::Not,
            expr: Box::new(x),
        })
    }
    pub fn neg(x: Expr) -> Expr {
        e(ExprKind::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(x),
        })
    }
    pub fn occurs(ts: Expr, spec: OccursSpec) -> Expr {
        e(ExprKind::Occurs {
            ts: Box::new(ts),
            spec,
        })
    }
    pub fn decl(n: &str, domain: Expr, cond: Option<Expr>) -> VarDecl {
        VarDecl {
            name: n.into(),
            domain,
            cond,
            span: Span::default(),
        }
    }
    pub fn binder(kind: BinderKind, decls: Vec<VarDecl>) -> Expr {
        e(ExprKind::Binder { kind, decls })
    }
    pub fn agg(func: AggregateFn, value: Option<Expr>, decls: Vec<VarDecl>) -> Expr {
        e(ExprKind::Aggregate {
            func,
            value: value.map(Box::new),
            decls,
        })
    }
    pub fn let_(bindings: Vec<(&str, Expr)>, body: Expr) -> Expr {
        let bindings = bindings
            .into_iter()
            .map(|(n, value)| LetBinding {
                name: n.into(),
                value,
                span: Span::default(),
            })
            .collect();
        e(ExprKind::Let {
            bindings,
            body: Box::new(body),
        })
    }
    pub fn lambda(params: &[&str], body: Expr) -> Expr {
        e(ExprKind::Lambda {
            params: params.iter().map(|p| p.to_string()).collect(),
            body: Box::new(body),
        })
    }
    pub fn step(label: Option<&str>, what: Expr) -> ChainStep {
        ChainStep {
            label: label.map(Into::into),
            what,
            when: None,
            count: None,
            where_: None,
            span: Span::default(),
        }
    }
    pub fn chain(steps: Vec<ChainStep>) -> Expr {
        e(ExprKind::Chain {
            events: bx(ExprKind::XEvent),
            ts_field: "timestamp".into(),
            steps,
        })
    }
    pub fn tw(w: TimeWord) -> Expr {
        e(ExprKind::TimeWord(w))
    }
    pub fn rel(rel: Relative, unit: TimeUnit) -> Expr {
        e(ExprKind::RelPeriod { rel, unit })
    }
}

use BinaryOp as B;
use b::*;

fn p(e: &Expr) -> String {
    print(e)
}

#[test]
fn documented_pair_and_simple_comparisons() {
    let e = bin(B::Eq, path("workAddress.country"), s("US"));
    assert_eq!(p(&e), r#"workAddress.country = "US""#);
    let e = and(vec![
        bin(B::Eq, path("homeAddress.countryISO"), s("CA")),
        bin(B::Eq, path("person.birthYear"), int(1985)),
    ]);
    assert_eq!(
        p(&e),
        r#"homeAddress.countryISO = "CA" and person.birthYear = 1985"#
    );
}

#[test]
fn left_associative_operators_parenthesise_right_children() {
    let abc = |op| bin(op, name("a"), bin(op, name("b"), name("c")));
    assert_eq!(p(&abc(B::Sub)), "a - (b - c)");
    assert_eq!(p(&abc(B::Div)), "a / (b / c)");
    let left = bin(B::Sub, bin(B::Sub, name("a"), name("b")), name("c"));
    assert_eq!(p(&left), "a - b - c");
    let mixed = bin(B::Mul, bin(B::Add, name("a"), name("b")), name("c"));
    assert_eq!(p(&mixed), "(a + b) * c");
    let mixed = bin(B::Add, name("a"), bin(B::Mul, name("b"), name("c")));
    assert_eq!(p(&mixed), "a + b * c");
}

#[test]
fn and_or_chains_print_flat_and_keep_nested_chains_parenthesised() {
    let abc = |op| logic(op, vec![name("a"), name("b"), name("c")]);
    assert_eq!(p(&abc(LogicalOp::And)), "a and b and c");
    assert_eq!(p(&abc(LogicalOp::Or)), "a or b or c");
    // A chain inside a chain of the same operator is a node of its own: its parentheses stay,
    // on either side.
    let right = and(vec![name("a"), and(vec![name("b"), name("c")])]);
    assert_eq!(p(&right), "a and (b and c)");
    let left = or(vec![or(vec![name("a"), name("b")]), name("c")]);
    assert_eq!(p(&left), "(a or b) or c");
    let or_in_and = and(vec![or(vec![name("a"), name("b")]), name("c")]);
    assert_eq!(p(&or_in_and), "(a or b) and c");
    let and_in_or = or(vec![name("a"), and(vec![name("b"), name("c")]), name("d")]);
    assert_eq!(p(&and_in_or), "a or b and c or d");
    let not_terms = and(vec![not(name("a")), bin(B::Eq, name("b"), int(1))]);
    assert_eq!(p(&not_terms), "not (a) and b = 1");
    // Not trees the parser builds, but never invalid text.
    assert_eq!(p(&and(vec![])), "true");
    assert_eq!(p(&or(vec![])), "false");
    assert_eq!(p(&or(vec![name("a")])), "a");
}

#[test]
fn comparisons_are_non_associative() {
    let l = bin(B::Eq, bin(B::Eq, name("a"), name("b")), name("c"));
    assert_eq!(p(&l), "(a = b) = c");
    let r = bin(B::Lt, name("a"), bin(B::In, name("b"), name("c")));
    assert_eq!(p(&r), "a < (b in c)");
    let m = bin(B::Matches, path("s.t"), s("^J"));
    assert_eq!(p(&m), r#"s.t matches "^J""#);
    let n = bin(B::NotIn, name("m"), list(vec![int(3), int(6)]));
    assert_eq!(p(&n), "m notIn [3, 6]");
}

#[test]
fn not_is_always_parenthesised_and_binds_below_comparisons() {
    let e = not(bin(B::Eq, path("homeAddress.countryISO"), s("CA")));
    assert_eq!(p(&e), r#"not (homeAddress.countryISO = "CA")"#);
    let e = bin(B::Eq, not(name("a")), boolean(true));
    assert_eq!(p(&e), "(not (a)) = true");
    let e = and(vec![not(name("a")), not(name("b"))]);
    assert_eq!(p(&e), "not (a) and not (b)");
    let e = field(not(name("a")), "b");
    assert_eq!(p(&e), "(not (a)).b");
    let e = not(chain(vec![step(
        Some("A"),
        bin(B::Eq, name("eventType"), s("homePageView")),
    )]));
    assert_eq!(
        p(&e),
        r#"not (chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView")]))"#
    );
}

#[test]
fn unary_minus_and_negative_literals() {
    assert_eq!(p(&int(-5)), "-5");
    assert_eq!(p(&float(-51.24)), "-51.24");
    assert_eq!(p(&neg(name("a"))), "-a");
    assert_eq!(p(&neg(int(5))), "-(5)");
    assert_eq!(p(&neg(neg(name("a")))), "-(-a)");
    assert_eq!(p(&neg(int(-5))), "-(-5)");
    assert_eq!(p(&neg(bin(B::Add, name("a"), name("b")))), "-(a + b)");
    assert_eq!(p(&neg(path("a.b"))), "-a.b");
    assert_eq!(p(&bin(B::Sub, name("a"), int(-5))), "a - -5");
    assert_eq!(p(&bin(B::Mul, int(-5), name("a"))), "-5 * a");
    assert_eq!(p(&method(int(-5), "abs", vec![])), "(-5).abs()");
    assert_eq!(p(&field(int(5), "x")), "(5).x");
    assert_eq!(p(&field(float(1.5), "x")), "(1.5).x");
    assert_eq!(
        p(&filter(bin(B::Add, name("a"), name("b")), name("c"))),
        "(a + b)[c]"
    );
}

#[test]
fn doubles_reread_as_doubles() {
    assert_eq!(format_float(1.0), "1.0");
    assert_eq!(format_float(0.45), "0.45");
    assert_eq!(format_float(-0.0), "-0.0");
    assert_eq!(format_float(2.02e12), "2020000000000.0");
    assert_eq!(format_float(2.02e20), "2.02E20");
    assert_eq!(format_float(1e300), "1.0E300");
    assert_eq!(format_float(2.5e-7), "2.5E-7");
    assert_eq!(format_float(0.6942058), "0.6942058");
    assert_eq!(format_float(f64::INFINITY), "1.0E999");
    assert_eq!(format_float(f64::NEG_INFINITY), "-1.0E999");
    for f in [
        0.1,
        1.0 / 3.0,
        123456.789,
        1e-5,
        9.999e15,
        1e16,
        f64::MAX,
        f64::MIN_POSITIVE,
    ] {
        let text = format_float(f);
        assert_eq!(text.parse::<f64>().ok(), Some(f), "{text}");
        assert!(text.contains('.'), "{text}");
    }
}

#[test]
fn strings_are_escaped() {
    let e = s("a\"b\\c\nd\re\tf\u{1}g\u{7f}é😀");
    assert_eq!(p(&e), r#""a\"b\\c\nd\re\tf\u0001g\u007Fé😀""#);
    assert_eq!(p(&s("@(\\w+)")), r#""@(\\w+)""#);
}

#[test]
fn primaries_and_postfix() {
    assert_eq!(p(&field(e(ExprKind::Param(1)), "a")), "$1.a");
    let up = e(ExprKind::Up {
        levels: 2,
        name: "person".into(),
    });
    assert_eq!(p(&field(up, "gender")), "^^.person.gender");
    assert_eq!(p(&field(e(ExprKind::This), "month")), "this.month");
    assert_eq!(
        p(&method(
            filter(
                e(ExprKind::This),
                occurs(
                    name("timestamp"),
                    OccursSpec::On(Box::new(tw(TimeWord::Today)))
                )
            ),
            "count",
            vec![]
        )),
        "this[timestamp occurs today].count()"
    );
    let obj = e(ExprKind::Object(vec![
        ("count".into(), method(name("G"), "count", vec![])),
        ("a\"b".into(), list(vec![])),
    ]));
    assert_eq!(p(&obj), r#"{"count": G.count(), "a\"b": []}"#);
    assert_eq!(
        p(&call(
            "date",
            vec![
                bin(B::Sub, call("currentYear", vec![]), int(1)),
                int(10),
                int(1)
            ]
        )),
        "date(currentYear() - 1, 10, 1)"
    );
    assert_eq!(
        p(&field(rel(Relative::Last, TimeUnit::Month), "x")),
        "(last month).x"
    );
    assert_eq!(
        p(&method(tw(TimeWord::Now), "getYear", vec![])),
        "now.getYear()"
    );
}

#[test]
fn occurs_forms() {
    let ts = || path("X.timestamp");
    let e1 = occurs(
        ts(),
        OccursSpec::On(Box::new(rel(Relative::Last, TimeUnit::Month))),
    );
    assert_eq!(p(&e1), "X.timestamp occurs last month");
    let e2 = occurs(
        ts(),
        OccursSpec::Direction {
            dir: Direction::Before,
            anchor: Box::new(tw(TimeWord::Today)),
        },
    );
    assert_eq!(p(&e2), "X.timestamp occurs before today");
    let date = |y| call("date", vec![int(y), int(1), int(8)]);
    let e3 = occurs(
        ts(),
        OccursSpec::Between {
            from: Box::new(date(2015)),
            to: Box::new(bin(B::Add, date(2017), name("x"))),
        },
    );
    assert_eq!(
        p(&e3),
        "X.timestamp occurs between date(2015, 1, 8) and date(2017, 1, 8) + x"
    );
    let dist = |amount| {
        occurs(
            ts(),
            OccursSpec::Distance {
                cmp: CmpOp::Le,
                amount,
                unit: TimeUnit::Day,
                dir: Direction::Before,
                anchor: Box::new(tw(TimeWord::Now)),
            },
        )
    };
    assert_eq!(p(&dist(3)), "X.timestamp occurs <= 3 days before now");
    assert_eq!(p(&dist(1)), "X.timestamp occurs <= 1 day before now");
    let and = and(vec![e3.clone(), name("y")]);
    assert_eq!(
        p(&and),
        "X.timestamp occurs between date(2015, 1, 8) and date(2017, 1, 8) + x and y"
    );
    let cmp = bin(B::Eq, e1, boolean(true));
    assert_eq!(p(&cmp), "(X.timestamp occurs last month) = true");
    let anchor_cmp = occurs(
        bin(B::Add, name("a"), name("b")),
        OccursSpec::On(Box::new(bin(B::Eq, name("c"), name("d")))),
    );
    assert_eq!(p(&anchor_cmp), "a + b occurs (c = d)");
}

#[test]
fn binders_and_aggregates() {
    let sel = binder(
        BinderKind::Select,
        vec![decl(
            "X",
            e(ExprKind::XEvent),
            Some(bin(
                B::Gt,
                method(path("X.productListItems"), "count", vec![]),
                int(2),
            )),
        )],
    );
    assert_eq!(
        p(&sel),
        "select X from xEvent where X.productListItems.count() > 2"
    );
    let counted = bin(B::Gt, method(sel.clone(), "count", vec![]), int(5));
    assert_eq!(
        p(&counted),
        "(select X from xEvent where X.productListItems.count() > 2).count() > 5"
    );
    let ex = binder(
        BinderKind::Exists,
        vec![
            decl(
                "E",
                e(ExprKind::XEvent),
                Some(bin(B::Gt, path("E.price"), int(50))),
            ),
            decl(
                "I",
                path("E.productListItems"),
                Some(bin(B::Eq, path("I.SKU"), s("PS"))),
            ),
        ],
    );
    assert_eq!(
        p(&ex),
        r#"exists E from xEvent where E.price > 50, I from E.productListItems where I.SKU = "PS""#
    );
    let and = and(vec![name("a"), ex.clone()]);
    assert!(p(&and).starts_with("a and (exists E"), "{}", p(&and));
    // A binder in a where condition is parenthesised (its commas would continue the outer list)
    // unless it is the last condition of a top-level binder.
    let nested = binder(
        BinderKind::Select,
        vec![
            decl("Y", name("b"), Some(ex.clone())),
            decl("Z", name("c"), None),
        ],
    );
    assert!(
        p(&nested).starts_with("select Y from b where (exists"),
        "{}",
        p(&nested)
    );
    let last = binder(
        BinderKind::Select,
        vec![decl("Y", name("b"), Some(ex.clone()))],
    );
    assert!(
        p(&last).starts_with("select Y from b where exists"),
        "{}",
        p(&last)
    );
    let in_arg = call("f", vec![last.clone()]);
    assert!(
        p(&in_arg).starts_with("f((select Y from b where exists"),
        "{}",
        p(&in_arg)
    );
    let sum = agg(
        AggregateFn::Sum,
        Some(path("X.commerce.order.priceTotal")),
        vec![decl(
            "X",
            e(ExprKind::XEvent),
            Some(path("X.commerce.order")),
        )],
    );
    assert_eq!(
        p(&sum),
        "sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order"
    );
    let count = agg(AggregateFn::Count, None, vec![decl("X", name("a"), None)]);
    assert_eq!(p(&count), "count over X from a");
    let in_arg = call("if", vec![sel, int(1), int(2)]);
    assert!(p(&in_arg).starts_with("if((select X"), "{}", p(&in_arg));
    let forall = binder(
        BinderKind::Forall,
        vec![decl("X", list(vec![int(1)]), None)],
    );
    assert_eq!(p(&forall), "forall X from [1]");
    let none = binder(BinderKind::None, vec![decl("X", name("a"), None)]);
    assert_eq!(p(&none), "none X from a");
    let domain = binder(BinderKind::One, vec![decl("X", none.clone(), None)]);
    assert_eq!(p(&domain), "one X from (none X from a)");
}

#[test]
fn let_and_lambda() {
    let sum = agg(
        AggregateFn::Sum,
        Some(path("X.p")),
        vec![decl("X", e(ExprKind::XEvent), None)],
    );
    let l = let_(
        vec![("S", sum)],
        and(vec![
            bin(B::Gt, name("S"), int(100)),
            bin(B::Lt, name("S"), int(1000)),
        ]),
    );
    assert_eq!(
        p(&l),
        "let S = (sum X.p over X from xEvent) in S > 100 and S < 1000"
    );
    let l2 = let_(
        vec![("a", path("x.y")), ("b", bin(B::Add, name("a"), int(1)))],
        binder(BinderKind::Select, vec![decl("Z", name("b"), None)]),
    );
    assert_eq!(p(&l2), "let a = x.y, b = a + 1 in select Z from b");
    let with_in = let_(
        vec![("a", and(vec![name("x"), bin(B::In, name("y"), name("z"))]))],
        name("a"),
    );
    assert_eq!(p(&with_in), "let a = (x and y in z) in a");
    let in_brackets = let_(
        vec![("a", list(vec![bin(B::In, name("y"), name("z"))]))],
        name("a"),
    );
    assert_eq!(p(&in_brackets), "let a = [y in z] in a");
    let lam = lambda(
        &["K", "G"],
        call(
            "mapEntry",
            vec![name("K"), method(name("G"), "count", vec![])],
        ),
    );
    let m = method(
        method(name("x"), "groupBy", vec![name("product")]),
        "map",
        vec![lam.clone()],
    );
    assert_eq!(
        p(&m),
        "x.groupBy(product).map((K, G) => mapEntry(K, G.count()))"
    );
    let top = lambda(
        &["Profile"],
        bin(B::Eq, path("Profile.a"), path("Profile.b")),
    );
    assert_eq!(p(&top), "(Profile) => Profile.a = Profile.b");
    assert_eq!(p(&lambda(&[], int(1))), "() => 1");
    let operand = and(vec![lam, name("x")]);
    assert_eq!(p(&operand), "((K, G) => mapEntry(K, G.count())) and x");
    // Inside an argument, a lambda body that is a binder needs parentheses.
    let lam_sel = lambda(
        &["K"],
        binder(BinderKind::Select, vec![decl("Z", name("K"), None)]),
    );
    assert_eq!(
        p(&call("f", vec![lam_sel.clone()])),
        "f((K) => (select Z from K))"
    );
    assert_eq!(p(&lam_sel), "(K) => select Z from K");
}

#[test]
fn chain_steps() {
    let mut s1 = step(
        Some("C0"),
        method(
            name("eventType"),
            "equals",
            vec![s("commerce.checkouts"), boolean(false)],
        ),
    );
    s1.when = Some(OccursSpec::On(Box::new(tw(TimeWord::Today))));
    let mut s2 = step(None, bin(B::Eq, name("eventType"), s("homePageView")));
    s2.when = Some(OccursSpec::Distance {
        cmp: CmpOp::Lt,
        amount: 24,
        unit: TimeUnit::Hour,
        dir: Direction::Before,
        anchor: Box::new(tw(TimeWord::Now)),
    });
    s2.count = Some(5);
    s2.where_ = Some(name("ok"));
    assert_eq!(
        p(&chain(vec![s1, s2])),
        "chain(xEvent, timestamp, [C0: WHAT(eventType.equals(\"commerce.checkouts\", false)) \
         WHEN(today), WHAT(eventType = \"homePageView\") WHEN(< 24 hours before now) COUNT(5) \
         WHERE(ok)])"
    );
}

#[test]
fn depth_guard_stops_runaway_recursion() {
    let mut deep = name("a");
    for _ in 0..(MAX_PRINT_DEPTH + 10) {
        deep = not(deep);
    }
    let text = p(&deep);
    assert!(text.contains('…'));
    // Dropping a tree this deep recurses too; keep it on this thread's stack budget.
    std::mem::forget(deep);
}
