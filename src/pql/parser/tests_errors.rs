//! Tests of what the parser refuses: messages, hints and exact line:col, the depth limit on
//! every shape of deep input, and property tests that no input panics.

use super::tests::{parsed, sexp};
use super::*;
use proptest::prelude::*;

/// Parses `src`, expecting an error; returns `(line, col, error)`.
#[track_caller]
fn fails(src: &str) -> (usize, usize, PqlError) {
    match parse(src) {
        Ok(e) => panic!("{src:?} parsed as {}", sexp(&e)),
        Err(e) => {
            let (line, col) = e.line_col(src);
            (line, col, e)
        }
    }
}

#[track_caller]
fn fails_at(src: &str, line: usize, col: usize, message: &str) -> PqlError {
    let (l, c, e) = fails(src);
    assert_eq!((l, c), (line, col), "{src:?}: {e:?}");
    assert!(
        e.message.contains(message),
        "{src:?}: {:?} lacks {message:?}",
        e.message
    );
    e
}

#[test]
fn unexpected_tokens_say_what_was_expected() {
    fails_at(
        "a = 1 and and b",
        1,
        11,
        "unexpected `and`, expected an expression",
    );
    fails_at("and", 1, 1, "unexpected `and`, expected an expression");
    fails_at(
        "a =",
        1,
        4,
        "unexpected end of input, expected an expression",
    );
    fails_at(
        "a or\n  or b",
        2,
        3,
        "unexpected `or`, expected an expression",
    );
    fails_at("x = in", 1, 5, "unexpected `in`");
    fails_at("x = notIn", 1, 5, "unexpected `notIn`");
    fails_at("a.", 1, 3, "expected a field or method name after `.`");
    fails_at("a.\"b\"", 1, 3, "expected a field or method name");
    fails_at("()", 1, 2, "expected an expression inside the parentheses");
    fails_at("[1,]", 1, 4, "unexpected `]`, expected an expression");
    fails_at("f(1,)", 1, 5, "unexpected `)`, expected an expression");
    fails_at(
        "select X from",
        1,
        14,
        "unexpected end of input, expected an expression",
    );
    fails_at(
        "select X from xEvent where",
        1,
        27,
        "expected an expression",
    );
    fails_at("sum X.a over Y", 1, 15, "`from` after the variable `Y`");
    fails_at("let = 1 in x", 1, 9, "comparisons cannot be chained");
    fails_at("let x 1 in x", 1, 7, "`=` after `let x`");
    fails_at("let x = 1, in x", 1, 12, "the name of a `let` binding");
    fails_at("{1: 2}", 1, 2, "a key (a string or a name)");
    fails_at("{a 2}", 1, 4, "`:` after the key");
    fails_at("^", 1, 2, "a field name after `^`");
    fails_at(
        "chain(xEvent timestamp",
        1,
        14,
        "`,` after the events of `chain`",
    );
    fails_at("chain(xEvent, 1, [WHAT(a)])", 1, 15, "the timestamp field");
    fails_at(
        "chain(xEvent, timestamp, WHAT(a))",
        1,
        26,
        "`[` to open the chain's steps",
    );
}

#[test]
fn not_binds_looser_than_comparisons() {
    let e = fails_at(
        "a = not b",
        1,
        5,
        "unexpected `not`, expected an expression",
    );
    assert!(e.hint.unwrap().contains("parentheses"));
    fails_at("a + !b", 1, 5, "unexpected `!`");
    check_ok("a = (not b)");
}

fn check_ok(src: &str) {
    parsed(src);
}

#[test]
fn unclosed_brackets_name_their_opener() {
    fails_at(
        "x in [1, 2",
        1,
        11,
        "expected `]` to close the list opened at 1:6, found end of input",
    );
    fails_at(
        "a = 1 and\n  x in [1, 2 3]",
        2,
        14,
        "expected `,` or `]` to close the list opened at 2:8, found `3`",
    );
    fails_at(
        "(a = 1",
        1,
        7,
        "expected `)` to close the `(` opened at 1:1, found end of input",
    );
    fails_at(
        "f(a, b",
        1,
        7,
        "expected `)` to close the argument list opened at 1:2",
    );
    fails_at(
        "a.m(1 2)",
        1,
        7,
        "expected `,` or `)` to close the argument list opened at 1:4",
    );
    fails_at(
        "xEvent[a = 1",
        1,
        13,
        "expected `]` to close the filter opened at 1:7",
    );
    fails_at(
        "{\"a\": 1",
        1,
        8,
        "expected `}` to close the object opened at 1:1",
    );
    fails_at(
        "chain(xEvent, timestamp, [WHAT(a)]",
        1,
        35,
        "expected `)` to close `chain(` opened at 1:6",
    );
    fails_at(
        "chain(xEvent, timestamp, [WHAT(a) x])",
        1,
        35,
        "expected `,` or `]` to close the chain's steps opened at 1:26",
    );
    fails_at(
        "chain(xEvent, timestamp, [WHAT(a b)])",
        1,
        34,
        "expected `)` to close `WHAT(` opened at 1:31",
    );
}

#[test]
fn trailing_input_is_refused() {
    let e = fails_at(
        "a = 1 b = 2",
        1,
        7,
        "unexpected `b` after the end of the expression",
    );
    assert!(e.hint.unwrap().contains("`and` or `or`"));
    let e = fails_at("a = 1)", 1, 6, "unexpected `)` after the end");
    assert!(e.hint.unwrap().contains("no matching `(`"));
    fails_at("a]", 1, 2, "unexpected `]`");
    let e = fails_at("a, b", 1, 2, "unexpected `,`");
    assert!(e.hint.unwrap().contains("commas separate"));
    let e = fails_at("x => 1", 1, 3, "unexpected `=>`");
    assert!(e.hint.unwrap().contains("(x) =>"));
    let e = fails_at("a notin [1]", 1, 3, "unexpected `notin`");
    assert_eq!(e.hint.as_deref(), Some("the operator is spelled `notIn`"));
    fails_at("now()", 1, 4, "unexpected `(`");
    let e = fails_at("a not in [1]", 1, 3, "unexpected `not` after the end");
    assert!(e.hint.unwrap().contains("`notIn`"));
    let e = fails_at("a IS NULL", 1, 3, "unexpected `IS`");
    assert!(e.hint.unwrap().contains(".isNull()"));
    // A token spanning lines is quoted by its first line only.
    let e = fails_at("a \"x\ny\"", 1, 3, "unexpected `\"x...` after the end");
    assert!(!e.message.contains('\n'));
}

#[test]
fn refusals_of_d1_4_and_d1_11() {
    let e = fails_at("a = null", 1, 5, "PQL has no `null` literal");
    assert_eq!(
        e.hint.as_deref(),
        Some("use .isNull() / .isNotNull() to test for a missing value")
    );
    fails_at("NULL", 1, 1, "no `null` literal");
    fails_at("a = 1 // why", 1, 7, "PQL has no comment syntax");
    fails_at("a = 1\n/* why */", 2, 1, "PQL has no comment syntax");
    fails_at("# why\na", 1, 1, "PQL has no comment syntax");
    let e = fails_at("orders[0].price", 1, 8, "PQL has no numeric indexing");
    assert_eq!(e.hint.as_deref(), Some("use .head() for the first item"));
    fails_at("orders[-1]", 1, 8, "numeric indexing");
    fails_at("a = 1 and\n  orders[ 12 ]", 2, 11, "numeric indexing");
    check_ok("orders[1 = 1]");
    fails_at(
        "x = @{_xdm.context.profile}",
        1,
        5,
        "context data references (@{...}) from Offer Decisioning are not supported",
    );
    fails_at("a.matches(\"\\d\")", 1, 12, "invalid escape `\\d`");
}

#[test]
fn too_deep_points_where_the_limit_is_crossed() {
    let src = format!("x = 1 and\n{}", "(".repeat(300));
    let e = fails_at(
        &src,
        2,
        MAX_DEPTH + 1,
        "expression nested too deeply (more than 200 levels)",
    );
    assert!(e.hint.unwrap().contains("parentheses"));
    let src = format!("a{}", ".b".repeat(300));
    fails_at(&src, 1, 2 * MAX_DEPTH + 1, "nested too deeply");
}

#[test]
fn comment_characters_inside_strings_are_text() {
    check_ok("url = \"http://x.com/#top\" and s = '/* no */'");
}

#[test]
fn depth_limit_is_exact() {
    // A leaf is one level; each `.b` adds one.
    let src = format!("a{}", ".b".repeat(MAX_DEPTH - 1));
    check_ok(&src);
    let src = format!("a{}", ".b".repeat(MAX_DEPTH));
    fails(&src);
    // `a or a or ...` is one level over its terms, however long; a term counts from there.
    let src = vec!["a"; 10 * MAX_DEPTH].join(" or ");
    check_ok(&src);
    let term = format!("a{}", ".b".repeat(MAX_DEPTH - 2));
    check_ok(&[term.as_str(); 3].join(" and "));
    let term = format!("a{}", ".b".repeat(MAX_DEPTH - 1));
    let (_, _, e) = fails(&["x", term.as_str()].join(" and "));
    assert_eq!(
        e.message,
        "expression nested too deeply (more than 200 levels)"
    );
    assert!(e.hint.unwrap().contains("in [...]"));
    // Each parenthesised chain inside a chain is a level of its own.
    let src = format!(
        "{}a{}",
        "(a or ".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    check_ok(&src);
    let src = format!("{}a{}", "(a or ".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    fails(&src);
    let src = format!("{}a", "not ".repeat(MAX_DEPTH - 1));
    check_ok(&src);
    fails(&format!("{}a", "not ".repeat(MAX_DEPTH)));
    let src = format!(
        "{}a{}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    check_ok(&src);
}

/// Builds and parses `src` on a thread with a small stack: the parser must stay well within it
/// at the depth limit and must refuse deeper input without overflowing.
fn on_small_stack(src: String) -> std::result::Result<(), PqlError> {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || parse(&src).map(|_| ()))
        .expect("spawn")
        .join()
        .expect("the parser must not overflow a 1 MiB stack")
}

fn deep_inputs(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("parens", format!("{}a{}", "(".repeat(n), ")".repeat(n))),
        ("open parens", "(".repeat(n)),
        ("lists", format!("{}{}", "[".repeat(n), "]".repeat(n))),
        ("open lists", "[".repeat(n)),
        ("objects", "{a:".repeat(n)),
        ("calls", format!("{}a{}", "f(".repeat(n), ")".repeat(n))),
        ("methods", format!("a{}", ".m(a".repeat(n))),
        ("filters", format!("a{}", "[a".repeat(n))),
        ("not", format!("{}a", "not ".repeat(n))),
        ("bang", format!("{}a", "!".repeat(n))),
        ("minus", format!("{}1", "-".repeat(n))),
        ("minus names", format!("{}a", "-".repeat(n))),
        ("fields", format!("a{}", ".a".repeat(n))),
        ("or chain", format!("a{}", " or a".repeat(n))),
        ("and chain", format!("a{}", " and a".repeat(n))),
        ("plus chain", format!("a{}", " + a".repeat(n))),
        ("right nesting", format!("{}a", "a + (".repeat(n))),
        ("not parens", format!("{}a", "not (".repeat(n))),
        ("lets", format!("{}a", "let x = 1 in ".repeat(n))),
        ("let values", format!("{}1", "let x = ".repeat(n))),
        ("lambdas", format!("{}a", "() => ".repeat(n))),
        ("selects", format!("{}a", "select X from ".repeat(n))),
        ("where", format!("{}a", "select X from a where ".repeat(n))),
        ("sums", format!("{}a", "sum ".repeat(n))),
        ("chains", "chain(".repeat(n)),
        ("occurs", format!("a{}", " occurs (a".repeat(n))),
        ("ups", format!("{}a", "^".repeat(n))),
        ("mixed", "([{a: f(x.m(".repeat(n)),
    ]
}

#[test]
fn deep_input_is_an_error_not_an_overflow() {
    for (name, src) in deep_inputs(10_000) {
        let result = on_small_stack(src);
        if matches!(name, "ups" | "or chain" | "and chain") {
            // `^^^...a` is one node; the compiler checks the levels against the filters. A flat
            // `and`/`or` chain is one node too, however long.
            assert!(result.is_ok(), "{name}");
            continue;
        }
        let e = result.expect_err(name);
        assert!(
            e.message.contains("nested too deeply") || e.message.contains("expected"),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn the_depth_limit_fits_a_small_stack() {
    // Just under the limit, every shape must parse on a 1 MiB stack (debug build).
    let n = MAX_DEPTH / 2 - 2;
    let shapes = [
        format!("{}a{}", "(".repeat(n), ")".repeat(n)),
        format!("{}a{}", "f(".repeat(n), ")".repeat(n)),
        format!("{}a", "not (".repeat(n)) + &")".repeat(n),
        format!("{}a", "select X from a where ".repeat(n)),
        format!("{}a", "let x = 1 in ".repeat(n)),
        format!("{}a{}", "a + (".repeat(n), ")".repeat(n)),
        format!("{}a{}", "x.m(".repeat(n), ")".repeat(n)),
    ];
    for src in shapes {
        let short: String = src.chars().take(30).collect();
        on_small_stack(src).unwrap_or_else(|e| panic!("{short}: {e:?}"));
    }
}

/// PQL-ish tokens for the token-soup property test.
const SOUP: [&str; 60] = [
    "a", "b.c", "X", "xEvent", "this", "month", "last", "next", "now", "today", "and", "or", "not",
    "!", "in", "notIn", "like", "matches", "occurs", "between", "before", "after", "from", "on",
    "select", "exists", "forall", "some", "all", "sum", "count", "over", "where", ":", "let", "=",
    "=>", "chain", "WHAT", "WHEN", "COUNT", "(", ")", "[", "]", "{", "}", ",", ".", "^", "$1", "-",
    "+", "*", "<", "1", "2.5", "\"s\"", "days", "null",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_strings_never_panic(src in "\\PC{0,64}") {
        let _ = parse(&src);
    }

    #[test]
    fn random_ascii_never_panics(src in "[ -~\\n]{0,80}") {
        let _ = parse(&src);
    }

    #[test]
    fn token_soup_never_panics(picks in proptest::collection::vec(0..SOUP.len(), 0..40)) {
        let src = picks.iter().map(|&i| SOUP[i]).collect::<Vec<_>>().join(" ");
        if let Err(e) = parse(&src) {
            // Every error points inside the input (or at its end).
            prop_assert!(e.span.start as usize <= src.len(), "{src}: {e:?}");
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn parsed_spans_lie_within_the_input(picks in proptest::collection::vec(0..SOUP.len(), 0..30)) {
        let src = picks.iter().map(|&i| SOUP[i]).collect::<Vec<_>>().join(" ");
        if let Ok(e) = parse(&src) {
            let mut ok = true;
            check_spans(&e, src.len(), &mut ok);
            prop_assert!(ok, "{src}");
        }
    }
}

fn check_spans(e: &Expr, len: usize, ok: &mut bool) {
    if e.span.start > e.span.end || e.span.end as usize > len {
        *ok = false;
    }
    e.for_each_child(&mut |c| {
        if c.span.start < e.span.start || c.span.end > e.span.end {
            *ok = false;
        }
        check_spans(c, len, ok);
    });
}

/// Words the generated names must avoid: keywords in primary position.
const RESERVED: [&str; 33] = [
    "and",
    "or",
    "not",
    "in",
    "notIn",
    "like",
    "matches",
    "occurs",
    "true",
    "false",
    "null",
    "now",
    "today",
    "yesterday",
    "tomorrow",
    "this",
    "last",
    "next",
    "xEvent",
    "select",
    "exists",
    "forall",
    "some",
    "all",
    "none",
    "one",
    "sum",
    "average",
    "min",
    "max",
    "count",
    "let",
    "chain",
];

/// Random fully parenthesised expressions as `(source, expected S-expression)`.
fn arb_expr() -> impl Strategy<Value = (String, String)> {
    let name = "[a-z_][a-zA-Z0-9_]{0,4}".prop_filter("not a keyword", |s| {
        !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
    });
    let leaf = prop_oneof![
        name.clone().prop_map(|s| (s.clone(), s)),
        (0i64..1000).prop_map(|n| (n.to_string(), n.to_string())),
        "[a-z %_]{0,4}".prop_map(|s| (format!("'{s}'"), format!("{s:?}"))),
        (1u32..4).prop_map(|n| (format!("${n}"), format!("${n}"))),
    ];
    let ops = prop_oneof![
        Just("or"),
        Just("and"),
        Just("="),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("in"),
        Just("notIn"),
        Just("like"),
        Just("matches"),
        Just("+"),
        Just("-"),
        Just("*"),
        Just("/"),
        Just("%"),
    ];
    leaf.prop_recursive(5, 48, 3, move |inner| {
        let list = proptest::collection::vec(inner.clone(), 0..3);
        prop_oneof![
            (inner.clone(), ops.clone(), inner.clone()).prop_map(|((a, sa), op, (b, sb))| {
                (format!("({a} {op} {b})"), format!("({op} {sa} {sb})"))
            }),
            (inner.clone(), name.clone())
                .prop_map(|((a, sa), n)| { (format!("{a}.{n}"), format!("(. {sa} {n})")) }),
            (inner.clone(), name.clone(), list.clone()).prop_map(|((a, sa), n, args)| {
                let src: Vec<_> = args.iter().map(|(s, _)| s.clone()).collect();
                let exp: Vec<_> = args.iter().map(|(_, e)| e.clone()).collect();
                let exp = std::iter::once(sa).chain(exp).collect::<Vec<_>>().join(" ");
                (
                    format!("{a}.{n}({})", src.join(", ")),
                    format!("(.{n} {exp})"),
                )
            }),
            (inner.clone(), inner.clone()).prop_map(|((a, sa), (c, sc))| {
                (format!("{a}[{c} = 1]"), format!("([] {sa} (= {sc} 1))"))
            }),
            inner
                .clone()
                .prop_map(|(a, sa)| (format!("(not ({a}))"), format!("(not {sa})"))),
            list.prop_map(|items| {
                let src: Vec<_> = items.iter().map(|(s, _)| s.clone()).collect();
                let exp: Vec<_> = items.iter().map(|(_, e)| e.clone()).collect();
                (
                    format!("[{}]", src.join(", ")),
                    format!("[{}]", exp.join(" ")),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn generated_expressions_parse_to_their_tree((src, expected) in arb_expr()) {
        let tree = parse(&src).map_err(|e| TestCaseError::fail(e.describe(&src)))?;
        prop_assert_eq!(sexp(&tree), expected, "{}", src);
        let mut ok = true;
        check_spans(&tree, src.len(), &mut ok);
        prop_assert!(ok, "{}", src);
        prop_assert_eq!(tree.span, Span::new(0, src.len()), "{}", src);
    }
}
