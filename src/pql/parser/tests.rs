//! Tests of what the parser builds: every construct, precedence, keyword rules and spans.
//! Trees are compared through a compact S-expression dump (test-only, independent of the
//! printer) so that expectations stay readable.

use super::*;
use crate::pql::ast::{ChainStep, Literal, OccursSpec, VarDecl};

/// `(op lhs rhs)`-style dump of a tree, spans left out.
pub(super) fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(Literal::Int(i)) => i.to_string(),
        ExprKind::Literal(Literal::Float(f)) => format!("{f:?}"),
        ExprKind::Literal(Literal::Str(s)) => format!("{s:?}"),
        ExprKind::Literal(Literal::Bool(b)) => b.to_string(),
        ExprKind::List(items) => format!("[{}]", join(items.iter().map(sexp))),
        ExprKind::Object(fields) => format!(
            "{{{}}}",
            join(fields.iter().map(|(k, v)| format!("{k:?} {}", sexp(v))))
        ),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Param(n) => format!("${n}"),
        ExprKind::Up { levels, name } => format!("^{levels}.{name}"),
        ExprKind::This => "this".into(),
        ExprKind::XEvent => "xEvent".into(),
        ExprKind::TimeWord(w) => w.text().into(),
        ExprKind::RelPeriod { rel, unit } => format!("{}:{}", rel.text(), unit.singular()),
        ExprKind::Field { target, name } => format!("(. {} {name})", sexp(target)),
        ExprKind::Method { target, name, args } => {
            format!(
                "(.{name} {})",
                join(std::iter::once(sexp(target)).chain(args.iter().map(sexp)))
            )
        }
        ExprKind::Call { name, args } => {
            format!("({name}() {})", join(args.iter().map(sexp))).replace("() )", "())")
        }
        ExprKind::Filter { target, cond } => format!("([] {} {})", sexp(target), sexp(cond)),
        ExprKind::Unary { op, expr } => {
            let op = if *op == UnaryOp::Not { "not" } else { "neg" };
            format!("({op} {})", sexp(expr))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.text(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Logical { op, terms } => {
            format!("({} {})", op.text(), join(terms.iter().map(sexp)))
        }
        ExprKind::Occurs { ts, spec } => format!("(occurs {} {})", sexp(ts), spec_sexp(spec)),
        ExprKind::Binder { kind, decls } => {
            format!("({} {})", kind.text(), join(decls.iter().map(decl_sexp)))
        }
        ExprKind::Aggregate { func, value, decls } => format!(
            "({} {} {})",
            func.text(),
            value.as_deref().map_or("_".into(), sexp),
            join(decls.iter().map(decl_sexp))
        ),
        ExprKind::Let { bindings, body } => format!(
            "(let {} {})",
            join(
                bindings
                    .iter()
                    .map(|b| format!("({} {})", b.name, sexp(&b.value)))
            ),
            sexp(body)
        ),
        ExprKind::Lambda { params, body } => {
            format!("(fn ({}) {})", params.join(" "), sexp(body))
        }
        ExprKind::Chain {
            events,
            ts_field,
            steps,
        } => format!(
            "(chain {} {ts_field} {})",
            sexp(events),
            join(steps.iter().map(step_sexp))
        ),
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

fn spec_sexp(spec: &OccursSpec) -> String {
    match spec {
        OccursSpec::On(t) => format!("(on {})", sexp(t)),
        OccursSpec::Direction { dir, anchor } => format!("({} {})", dir.text(), sexp(anchor)),
        OccursSpec::Between { from, to } => format!("(between {} {})", sexp(from), sexp(to)),
        OccursSpec::Distance {
            cmp,
            amount,
            unit,
            dir,
            anchor,
        } => format!(
            "({} {amount} {} {} {})",
            cmp.text(),
            unit.singular(),
            dir.text(),
            sexp(anchor)
        ),
    }
}

fn decl_sexp(d: &VarDecl) -> String {
    match &d.cond {
        Some(c) => format!("({} {} {})", d.name, sexp(&d.domain), sexp(c)),
        None => format!("({} {})", d.name, sexp(&d.domain)),
    }
}

fn step_sexp(s: &ChainStep) -> String {
    let mut out = format!(
        "(step {} {}",
        s.label.as_deref().unwrap_or("_"),
        sexp(&s.what)
    );
    if let Some(w) = &s.when {
        out += &format!(" when{}", spec_sexp(w));
    }
    if let Some(c) = s.count {
        out += &format!(" count{c}");
    }
    if let Some(w) = &s.where_ {
        out += &format!(" where {}", sexp(w));
    }
    out + ")"
}

pub(super) fn parsed(src: &str) -> Expr {
    parse(src).unwrap_or_else(|e| panic!("{src:?} failed: {}", e.describe(src)))
}

#[track_caller]
fn check(src: &str, expected: &str) {
    assert_eq!(sexp(&parsed(src)), expected, "for {src:?}");
}

#[track_caller]
fn same(a: &str, b: &str) {
    assert_eq!(sexp(&parsed(a)), sexp(&parsed(b)), "{a:?} vs {b:?}");
}

fn text_at(src: &str, span: Span) -> &str {
    &src[span.start as usize..span.end as usize]
}

#[test]
fn literals() {
    check("42", "42");
    check("3.25", "3.25");
    check(".45", "0.45");
    check("2.02E12", "2020000000000.0");
    check("1E3", "1000.0");
    check("2.5E-1", "0.25");
    check("\"a\\\"b\"", "\"a\\\"b\"");
    check("'x'", "\"x\"");
    check("true", "true");
    check("FALSE", "false");
    check("[]", "[]");
    check("[1, \"a\", [true]]", "[1 \"a\" [true]]");
    check("{}", "{}");
    check(
        "{\"count\": G.count(), sum: 1}",
        "{\"count\" (.count G) \"sum\" 1}",
    );
}

#[test]
fn negative_numbers_fold() {
    check("-201", "-201");
    check("-2.5", "-2.5");
    check("-9223372036854775808", "-9223372036854775808");
    check("x = -1", "(= x -1)");
    check("a -1", "(- a 1)");
    check("a - -1", "(- a -1)");
    check("--1", "(neg -1)");
    check("-x", "(neg x)");
    check("-(1)", "(neg 1)");
    check("-1.abs()", "(neg (.abs 1))");
    check("-a * b", "(* (neg a) b)");
    check("-a.b", "(neg (. a b))");
    let e = parse("9223372036854775808").unwrap_err();
    assert!(e.message.contains("too large"), "{e:?}");
    let e = parse("--9223372036854775808").unwrap();
    assert_eq!(sexp(&e), "(neg -9223372036854775808)");
}

#[test]
fn names_params_and_specials() {
    check("person", "person");
    check("$1.homeAddress", "(. $1 homeAddress)");
    check("xEvent", "xEvent");
    check("xevent", "xevent");
    check("this", "this");
    check("this[a]", "([] this a)");
    check("this month", "this:month");
    check("LAST Week", "last:week");
    check("next years", "next:year");
    check("last", "last");
    check("last = 1", "(= last 1)");
    check("next.x", "(. next x)");
    check("now", "now");
    check("Today", "today");
    check("yesterday", "yesterday");
    check("tomorrow", "tomorrow");
    check("^name", "^1.name");
    check("^.name", "^1.name");
    check("^^.person.gender", "(. ^2.person gender)");
    check("^^^x", "^3.x");
}

#[test]
fn calls_methods_fields_filters() {
    check("date(2024, 6, 1)", "(date() 2024 6 1)");
    check("currentYear()", "(currentYear())");
    check("a.b.c", "(. (. a b) c)");
    check("a.startsWith(\"x\", false)", "(.startsWith a \"x\" false)");
    check("a.count()", "(.count a)");
    check("a.b().c", "(. (.b a) c)");
    check(
        "xEvent[type = \"order\"].count()",
        "(.count ([] xEvent (= type \"order\")))",
    );
    check("a[b][c]", "([] ([] a b) c)");
    check("\"abc\".startsWith(\"a\")", "(.startsWith \"abc\" \"a\")");
    // After `.` every word is a name, keywords included.
    check("a.count", "(. a count)");
    check("s.matches(\"x\")", "(.matches s \"x\")");
    check("x.in", "(. x in)");
    check("x.and.or.not.select", "(. (. (. (. x and) or) not) select)");
    check("x.null", "(. x null)");
    check("x.xEvent.this", "(. (. x xEvent) this)");
    check("a.exists(b)", "(.exists a b)");
}

#[test]
fn precedence() {
    check("a or b and c", "(or a (and b c))");
    check("a and b or c", "(or (and a b) c)");
    // A flat chain is one n-ary node; a parenthesised chain stays a node of its own.
    check("a or b or c", "(or a b c)");
    check("a and b and c", "(and a b c)");
    check("(a or b) or c", "(or (or a b) c)");
    check("a or (b or c) or d", "(or a (or b c) d)");
    check(
        "a and b or c and d and e or f",
        "(or (and a b) (and c d e) f)",
    );
    check("a or b and (c and d)", "(or a (and b (and c d)))");
    check("not a or not b or c = 1", "(or (not a) (not b) (= c 1))");
    check("not a = b", "(not (= a b))");
    check("not a and b", "(and (not a) b)");
    check("a and not b or c", "(or (and a (not b)) c)");
    check("!a", "(not a)");
    check("not not a", "(not (not a))");
    check("! ! a = 1", "(not (not (= a 1)))");
    check("not(a)", "(not a)");
    check("not (a or b) and c", "(and (not (or a b)) c)");
    check("a = b + c * d", "(= a (+ b (* c d)))");
    check("a - b - c", "(- (- a b) c)");
    check("a / b % c", "(% (/ a b) c)");
    check("(a + b) * c", "(* (+ a b) c)");
    check("a + b = c - d", "(= (+ a b) (- c d))");
    check(
        "a in [1, 2] and b notIn [3]",
        "(and (in a [1 2]) (notIn b [3]))",
    );
    check(
        "s like \"%x\" or s matches \"^y\"",
        "(or (like s \"%x\") (matches s \"^y\"))",
    );
    check("a != b", "(!= a b)");
    check("a <= b", "(<= a b)");
    check("a >= b", "(>= a b)");
    check("a < b", "(< a b)");
    check("a > b", "(> a b)");
    check("(a = b) = c", "(= (= a b) c)");
}

#[test]
fn keywords_are_case_insensitive() {
    same("a AND b Or NOT c", "a and b or not c");
    same(
        "x IN [1] and y LIKE \"a\" and z MATCHES \"b\"",
        "x in [1] and y like \"a\" and z matches \"b\"",
    );
    same(
        "SELECT X FROM xEvent WHERE X.a",
        "select X from xEvent where X.a",
    );
    same(
        "x OCCURS BETWEEN TODAY AND NOW",
        "x occurs between today and now",
    );
    same("LET a = 1 IN a", "let a = 1 in a");
    same("SUM X.a OVER X FROM xEvent", "sum X.a over X from xEvent");
    same("True", "true");
    // `notIn` is spelled exactly so.
    assert!(parse("a notin [1]").is_err());
    assert!(parse("a NOTIN [1]").is_err());
    // Names stay case-sensitive.
    check("Person.Name", "(. Person Name)");
}

#[test]
fn comparisons_do_not_chain() {
    for src in [
        "a = b = c",
        "a < b < c",
        "a in b in c",
        "a = b in c",
        "t occurs today = x",
    ] {
        let e = parse(src).unwrap_err();
        assert!(e.message.contains("cannot be chained"), "{src}: {e:?}");
    }
}

#[test]
fn parentheses_and_lists() {
    check("(a)", "a");
    check("((a))", "a");
    check("x in (\"a\", \"b\")", "(in x [\"a\" \"b\"])");
    check("x in ([\"a\", \"b\"])", "(in x [\"a\" \"b\"])");
    check("(a, b).count()", "(.count [a b])");
    let e = parsed("(a or b) and c");
    assert_eq!(e.span, Span::new(0, 14));
    let ExprKind::Logical { terms, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(terms[0].span, Span::new(0, 8));
}

#[test]
fn lambdas() {
    check(
        "(Profile) => Profile.a = Profile.b",
        "(fn (Profile) (= (. Profile a) (. Profile b)))",
    );
    check("() => 1", "(fn () 1)");
    check(
        "m.map((K, G) => mapEntry(K, G.count()))",
        "(.map m (fn (K G) (mapEntry() K (.count G))))",
    );
    check("(a, b)", "[a b]");
    assert!(parse("(a, a) => a").unwrap_err().message.contains("twice"));
}

#[test]
fn binders() {
    check("select X from xEvent", "(select (X xEvent))");
    check(
        "select X from xEvent where X.a = 1 and X.b",
        "(select (X xEvent (and (= (. X a) 1) (. X b))))",
    );
    check(
        "exists E from xEvent where (E.p > 50), I from E.items where I.SKU = \"PS\"",
        "(exists (E xEvent (> (. E p) 50)) (I (. E items) (= (. I SKU) \"PS\")))",
    );
    check("exists E from xEvent: E.a", "(exists (E xEvent (. E a)))");
    check("forall E from xEvent: E.a", "(forall (E xEvent (. E a)))");
    check(
        "some x FROM xEvent WHERE x.a",
        "(exists (x xEvent (. x a)))",
    );
    check("all x from xEvent where x.a", "(forall (x xEvent (. x a)))");
    check("none x from xEvent where x.a", "(none (x xEvent (. x a)))");
    check("one x from xEvent where x.a", "(one (x xEvent (. x a)))");
    // A binder keyword not followed by `NAME from` is a plain name.
    check("all", "all");
    check("all = 1", "(= all 1)");
    check("a.all", "(. a all)");
    check("some.x", "(. some x)");
    check("exists(x)", "(exists() x)");
    check("select", "select");
    // The where condition is greedy; parentheses stop it.
    check(
        "a and select X from e where b and c",
        "(and a (select (X e (and b c))))",
    );
    check(
        "(select X from e where b) and c",
        "(and (select (X e b)) c)",
    );
    // A comma continues the declarations only before `NAME from`.
    check(
        "if(select X from e where X.a, 1, 2)",
        "(if() (select (X e (. X a))) 1 2)",
    );
    check("[select X from e, Y from f, 3]", "[(select (X e) (Y f)) 3]");
    check(
        "select X from e where select Y from X.items where Y.a, Z from f",
        "(select (X e (select (Y (. X items) (. Y a)) (Z f))))",
    );
}

#[test]
fn aggregates() {
    check(
        "sum X.a over X from xEvent where X.b",
        "(sum (. X a) (X xEvent (. X b)))",
    );
    check(
        "sum X.a + Y.a over X from e, Y from e where Y.b",
        "(sum (+ (. X a) (. Y a)) (X e) (Y e (. Y b)))",
    );
    check("count over X from e", "(count _ (X e))");
    check("COUNT OVER X FROM e", "(count _ (X e))");
    check("sum X from arr where X > 0", "(sum X (X arr (> X 0)))");
    check("average X from a", "(average X (X a))");
    check("min X.p over X from a", "(min (. X p) (X a))");
    check("max 1 over X from a", "(max 1 (X a))");
    // Aggregate words not followed by a value are plain names.
    check("count", "count");
    check("count()", "(count())");
    check("count = 1", "(= count 1)");
    check("sum - 1", "(- sum 1)");
    check("min[a]", "([] min a)");
    check("max.x", "(. max x)");
    check("[sum, min]", "[sum min]");
    check("count and x", "(and count x)");
    check("sum in [1]", "(in sum [1])");
    let e = parse("sum X.a from xEvent").unwrap_err();
    assert!(e.message.contains("`over`"), "{e:?}");
}

#[test]
fn aggregate_values_may_start_with_brackets_and_signs() {
    check(
        "sum (X.a + X.b) / 2 over X from xEvent",
        "(sum (/ (+ (. X a) (. X b)) 2) (X xEvent))",
    );
    check("sum(X.a) over X from e", "(sum (. X a) (X e))");
    check("sum [X.a, 1] over X from e", "(sum [(. X a) 1] (X e))");
    check(
        "max {\"k\": X.a} over X from e",
        "(max {\"k\" (. X a)} (X e))",
    );
    check("min -X.a over X from e", "(min (neg (. X a)) (X e))");
    check("min - 1 over X from e", "(min -1 (X e))");
    check("count !X.a over X from e", "(count (not (. X a)) (X e))");
    check(
        "average (X.a) over X from e where (X.b) > 1",
        "(average (. X a) (X e (> (. X b) 1)))",
    );
    check(
        "f(sum (X.a) over X from e, 2)",
        "(f() (sum (. X a) (X e)) 2)",
    );
    check(
        "a and sum (X.a) over X from e where X.b",
        "(and a (sum (. X a) (X e (. X b))))",
    );
    // Without an `over` for them at their bracket level they stay names.
    check("sum(1, 2)", "(sum() 1 2)");
    check("sum()", "(sum())");
    assert!(parse("sum() over X from e").is_err());
    check("sum > 3", "(> sum 3)");
    check("a.sum", "(. a sum)");
    check("sum[a > 1] - count", "(- ([] sum (> a 1)) count)");
    check("-sum", "(neg sum)");
    check(
        "f(sum (x)) + [g(count[1 = 1])]",
        "(+ (f() (sum() x)) [(g() ([] count (= 1 1)))])",
    );
    check(
        "sum(x) + (count over X from e)",
        "(+ (sum() x) (count _ (X e)))",
    );
    check(
        "[sum (x), count over X from e]",
        "[(sum() x) (count _ (X e))]",
    );
    // An `over` owed to an enclosing aggregate is not theirs.
    check("count sum - 1 over X from e", "(count (- sum 1) (X e))");
    check("count sum[x] over X from e", "(count ([] sum x) (X e))");
    check("sum count over X from e", "(sum count (X e))");
    check(
        "count sum (X.a) over X from e over Y from f",
        "(count (sum (. X a) (X e)) (Y f))",
    );
    check(
        "count (sum (X.a) over X from e) over Y from f",
        "(count (sum (. X a) (X e)) (Y f))",
    );
    // Nor is one past the end of a `let` value or of a binder's domain.
    check(
        "let S = sum - 1 in count over X from e",
        "(let (S (- sum 1)) (count _ (X e)))",
    );
    check(
        "select Y from sum[a] where count over X from e",
        "(select (Y ([] sum a) (count _ (X e))))",
    );
    // Deciding is linear however many aggregate words there are.
    let many = vec!["sum - 1 > count[x]"; 20_000].join(" or ");
    let e = parsed(&many);
    assert!(matches!(&e.kind, ExprKind::Logical { terms, .. } if terms.len() == 20_000));
}

#[test]
fn let_expressions() {
    check("let a = 1 in a", "(let (a 1) a)");
    check(
        "let a = 1, b = a + 1 in a * b",
        "(let (a 1) (b (+ a 1)) (* a b))",
    );
    check(
        "let S = (sum X.p over X from xEvent) in (S > 100 and S < 1000)",
        "(let (S (sum (. X p) (X xEvent))) (and (> S 100) (< S 1000)))",
    );
    // The value never swallows the `in`; inside brackets `in` is the operator again.
    check("let a = x in a in [1]", "(let (a x) (in a [1]))");
    check("let a = (x in [1]) in a", "(let (a (in x [1])) a)");
    check("let a = f(x in [1]) in a", "(let (a (f() (in x [1]))) a)");
    check("let a = let b = 1 in b in a", "(let (a (let (b 1) b)) a)");
    check(
        "let a = select X from e where X.a in a",
        "(let (a (select (X e (. X a)))) a)",
    );
    check("let", "let");
    check("let.x", "(. let x)");
    assert!(parse("let a = 1").unwrap_err().message.contains("`in`"));
}

#[test]
fn occurs_forms() {
    check("X.t occurs before today", "(occurs (. X t) (before today))");
    check(
        "X.t occurs after date(2019, 4, 1)",
        "(occurs (. X t) (after (date() 2019 4 1)))",
    );
    check("X.t occurs from now", "(occurs (. X t) (from now))");
    check("X.t occurs last month", "(occurs (. X t) (on last:month))");
    check(
        "X.t occurs on date(2017, 10, 1)",
        "(occurs (. X t) (on (date() 2017 10 1)))",
    );
    check("t occurs yesterday", "(occurs t (on yesterday))");
    check(
        "t occurs <= 3 days before now",
        "(occurs t (<= 3 day before now))",
    );
    check(
        "t occurs = 3 hours before now",
        "(occurs t (= 3 hour before now))",
    );
    check(
        "t occurs != 1 week from now",
        "(occurs t (!= 1 week from now))",
    );
    check(
        "t occurs > 3 weeks after date(2017,10,1)",
        "(occurs t (> 3 week after (date() 2017 10 1)))",
    );
    check(
        "t occurs >= 2 MONTHS AFTER x.t",
        "(occurs t (>= 2 month after (. x t)))",
    );
    check(
        "t occurs < 2 days before A2.timestamp",
        "(occurs t (< 2 day before (. A2 timestamp)))",
    );
    check(
        "t occurs between last month and last week",
        "(occurs t (between last:month last:week))",
    );
    check(
        "t occurs between date(currentYear() - 1, 10, 1) and date(currentYear() - 1, 12, 31)",
        "(occurs t (between (date() (- (currentYear()) 1) 10 1) (date() (- (currentYear()) 1) 12 31)))",
    );
    // The time operand is additive: a following `and` is the boolean one.
    check("t occurs today and x", "(and (occurs t (on today)) x)");
    check(
        "t occurs between a and b and c",
        "(and (occurs t (between a b)) c)",
    );
    check("t occurs now + x", "(occurs t (on (+ now x)))");
    check(
        "(timestamp occurs < 7 days before now) and a",
        "(and (occurs timestamp (< 7 day before now)) a)",
    );
    assert!(
        parse("t occurs < 3 dayz before now")
            .unwrap_err()
            .hint
            .unwrap()
            .contains("`day")
    );
    assert!(
        parse("t occurs < 3 days now")
            .unwrap_err()
            .message
            .contains("`before`")
    );
    assert!(parse("t occurs < -3 days before now").is_err());
    assert!(
        parse("t occurs between a")
            .unwrap_err()
            .message
            .contains("`and`")
    );
}

#[test]
fn chains() {
    check(
        "chain(xEvent, timestamp, [A: WHAT(eventType = \"addToCart\")])",
        "(chain xEvent timestamp (step A (= eventType \"addToCart\")))",
    );
    check(
        "CHAIN(xEvent, timestamp, [C0: WHAT(a) WHEN(today), C1: WHAT(b) WHEN(<= 24 hours before now)])",
        "(chain xEvent timestamp (step C0 a when(on today)) (step C1 b when(<= 24 hour before now)))",
    );
    check(
        "chain(xEvent, timestamp, [A: WHAT(a) WHEN(< 24 hours before now) COUNT(5) ] )",
        "(chain xEvent timestamp (step A a when(< 24 hour before now) count5))",
    );
    // Clauses in any order, any case, label optional.
    check(
        "Chain(xEvent, timestamp, [where(w) count(2) What(a)])",
        "(chain xEvent timestamp (step _ a count2 where w))",
    );
    check(
        "chain(xEvent, a.ts, [WHAT(x) WHEN(between a and b)])",
        "(chain xEvent a.ts (step _ x when(between a b)))",
    );
    check(
        "not(chain(xEvent, timestamp, [A: WHAT(x)]))",
        "(not (chain xEvent timestamp (step A x)))",
    );
    // `chain` without `(` is a name.
    check("chain", "chain");
    check("a.chain(x)", "(.chain a x)");
    let e = parse("chain(xEvent, timestamp, [A: WHAT(a) WHAT(b)])").unwrap_err();
    assert!(e.message.contains("already has a WHAT"), "{e:?}");
    let e = parse("chain(xEvent, timestamp, [A: WHEN(today)])").unwrap_err();
    assert!(e.hint.as_deref().unwrap_or("").contains("WHAT"), "{e:?}");
    let e = parse("chain(xEvent, timestamp, [A: WHAT(a) COUNT(0)])").unwrap_err();
    assert!(e.message.contains("positive"), "{e:?}");
    let e = parse("chain(xEvent, timestamp, [A: WHAT(a) WHN(today)])").unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("did you mean WHEN?"));
    assert!(parse("chain(xEvent, timestamp, [])").is_err());
}

#[test]
fn object_literals() {
    check(
        "let Y = a in {\"n\": Y.count(), \"products\": Y}",
        "(let (Y a) {\"n\" (.count Y) \"products\" Y})",
    );
    assert!(
        parse("{\"a\": 1, a: 2}")
            .unwrap_err()
            .message
            .contains("duplicate")
    );
}

#[test]
fn spans_cover_their_source() {
    let src = "person.name.startsWith(\"J\") and xEvent[a > 1].count() >= -2";
    let e = parsed(src);
    assert_eq!(e.span, Span::new(0, src.len()));
    let ExprKind::Logical { terms, .. } = &e.kind else {
        panic!()
    };
    let (lhs, rhs) = (&terms[0], &terms[1]);
    assert_eq!(text_at(src, lhs.span), "person.name.startsWith(\"J\")");
    assert_eq!(text_at(src, rhs.span), "xEvent[a > 1].count() >= -2");
    let ExprKind::Binary { lhs, rhs, .. } = &rhs.kind else {
        panic!()
    };
    assert_eq!(text_at(src, lhs.span), "xEvent[a > 1].count()");
    assert_eq!(text_at(src, rhs.span), "-2");
    let ExprKind::Method { target, .. } = &lhs.kind else {
        panic!()
    };
    assert_eq!(text_at(src, target.span), "xEvent[a > 1]");

    let src = "x and select X from e where X.a, Y from f";
    let ExprKind::Logical { terms, .. } = &parsed(src).kind else {
        panic!()
    };
    let rhs = &terms[1];
    assert_eq!(
        text_at(src, rhs.span),
        "select X from e where X.a, Y from f"
    );
    let ExprKind::Binder { decls, .. } = &rhs.kind else {
        panic!()
    };
    assert_eq!(text_at(src, decls[0].span), "X from e where X.a");
    assert_eq!(text_at(src, decls[1].span), "Y from f");

    let src = "let a = 1, b = 2 in a";
    let e = parsed(src);
    let ExprKind::Let { bindings, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(text_at(src, bindings[1].span), "b = 2");

    let src = "chain(xEvent, timestamp, [A: WHAT(a) COUNT(2), WHAT(b)])";
    let e = parsed(src);
    assert_eq!(e.span, Span::new(0, src.len()));
    let ExprKind::Chain { steps, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(text_at(src, steps[0].span), "A: WHAT(a) COUNT(2)");
    assert_eq!(text_at(src, steps[1].span), "WHAT(b)");

    let src = "t occurs < 2 days before now";
    assert_eq!(parsed(src).span, Span::new(0, src.len()));
    let src = "^^.person";
    assert_eq!(parsed(src).span, Span::new(0, 9));
    let src = "not (a)";
    assert_eq!(parsed(src).span, Span::new(0, 7));
    let src = "(K) => K";
    assert_eq!(parsed(src).span, Span::new(0, 8));
    let src = "sum X from a";
    assert_eq!(parsed(src).span, Span::new(0, 12));
    let src = "this month";
    assert_eq!(parsed(src).span, Span::new(0, 10));
}

#[test]
fn corpus_trees() {
    use super::corpus::CORPUS;
    let tree = |row: u32| {
        let src = CORPUS[row as usize - 1].1;
        sexp(&parsed(src))
    };
    assert_eq!(tree(9), "(not (= (. homeAddress countryISO) \"CA\"))");
    assert_eq!(
        tree(68),
        "([] xEvent ([] productListItems (or (= SKU \"PS\") (= (. ^2.person gender) \"female\"))))"
    );
    assert_eq!(
        tree(71),
        "(let (S (sum (. (. (. X commerce) order) priceTotal) (X xEvent (= (. (. (. X commerce) order) currencyCode) \"USD\")))) (and (> S 100) (< S 1000)))"
    );
    assert_eq!(
        tree(87),
        "(chain xEvent timestamp (step A (= eventType \"homePageView\") when(< 24 hour before now) count5))"
    );
    assert_eq!(
        tree(112),
        "(and (= (. homeAddress countryISO) \"US\") (select (Order1 xEvent (. (. Order1 commerce) order)) (Order2 xEvent (and (. (. Order2 commerce) order) (occurs (. Order2 timestamp) (< 2 week after (. Order1 timestamp)))))))"
    );
    assert_eq!(
        tree(124),
        "(select (X xEvent (and (occurs (. X timestamp) (before today)) (select (I (. X productListItems) (= (. I SKU) \"PS\"))))))"
    );
    assert!(tree(127).starts_with("(let (score (. (. (.head (select (_Individual_Scoring1"));
    assert!(tree(128).contains("(in (. (.get (.get segmentMembership \"ups\")"));
    assert!(tree(128).contains("[\"realized\" \"existing\"]"));
    assert_eq!(
        tree(130),
        "(and (= (. homeAddress stateOrProvince) \"CA\") (exists (x xEvent (and (> (. (. commerce order) priceTotal) 1000) (= (. (. (. x commerce) order) currencyCode) \"USD\")))))"
    );
    assert_eq!(
        tree(3),
        "(fn (Profile) (= (. (. Profile homeAddress) stateProvince) (. (. Profile workAddress) stateProvince)))"
    );
    assert_eq!(tree(44), "(.regexGroup emailAddress \"@(\\\\w+)\" 1)");
}

#[test]
fn unit_words_cover_every_unit() {
    use crate::pql::ast::TimeUnit;
    let units = [
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
    for u in units {
        assert!(occurs::UNIT_WORDS.contains(&u.singular()), "{u:?}");
        assert!(occurs::UNIT_WORDS.contains(&u.plural()), "{u:?}");
    }
}
