//! Round trips through the parser, the printer and pql/json over the example corpus of spec
//! Part 2 §6 (rows 1–130, read from the spec itself) and a few hand-picked edge cases:
//!
//! - text -> parse -> print -> parse gives the same tree, and printing is idempotent;
//! - text -> json -> tree gives the same tree, except for the documented equivalences
//!   (`$1.x` at the profile level reads back as `x`; `.like(p)` as `like`; infix `matches` as
//!   `.matches(...)`), which are checked explicitly;
//! - json -> text -> json is stable.

use super::tests::shared_dir;
use super::{from_json, from_json_str, to_json};
use crate::pql::ast::Expr;
use crate::pql::parser::parse;
use crate::pql::printer::print;

/// `(row, expression)` for every row of the §6 table in `spec/pql.md`.
fn corpus() -> Vec<(u32, String)> {
    let path = shared_dir().join("spec/pql.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = text
        .split("## 6. Example corpus")
        .nth(1)
        .and_then(|s| s.split("\n## 7.").next())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for line in section.lines() {
        let Some(rest) = line.strip_prefix("| ") else {
            continue;
        };
        let Some((num, rest)) = rest.split_once(" | `") else {
            continue;
        };
        let (Ok(n), Some((expr, _))) = (num.trim().parse::<u32>(), rest.split_once("` |")) else {
            continue;
        };
        rows.push((n, expr.to_string()));
    }
    rows
}

fn parsed(src: &str) -> Expr {
    parse(src).unwrap_or_else(|e| panic!("parse failed: {}\n  in: {src}", e.describe(src)))
}

/// Prints `tree`, re-parses, and checks the same tree comes back and that printing is stable.
fn assert_text_roundtrip(tree: &Expr, label: &str) -> String {
    let text = print(tree);
    let again = parsed(&text);
    assert!(
        again.same_tree(tree),
        "{label}: printed text re-parses differently\n  text: {text}\n  before: {tree:?}\n  after: {again:?}"
    );
    assert_eq!(print(&again), text, "{label}: printing is not idempotent");
    text
}

/// json -> tree -> text -> tree -> json gives the same JSON.
fn assert_json_stable(json: &serde_json::Value, label: &str) {
    let tree = from_json(json).unwrap_or_else(|e| panic!("{label}: {e}\n  {json}"));
    let text = assert_text_roundtrip(&tree, label);
    let back = to_json(&parsed(&text));
    assert_eq!(
        &back, json,
        "{label}: json -> text -> json differs (text: {text})"
    );
}

#[test]
fn corpus_text_roundtrip() {
    let rows = corpus();
    assert_eq!(rows.len(), 130, "the §6 table should have 130 rows");
    for (n, src) in &rows {
        assert_eq!(
            Some(*n as usize),
            rows.iter().position(|(m, _)| m == n).map(|i| i + 1)
        );
        assert_text_roundtrip(&parsed(src), &format!("row {n}"));
    }
}

/// The rows whose JSON reads back as an equivalent rather than the same tree, with the canonical
/// text of what comes back.
const EQUIVALENT_ROWS: [(u32, &str); 1] =
    [(2, "homeAddress.stateProvince = homeAddress.stateProvince")];

#[test]
fn corpus_json_roundtrip() {
    for (n, src) in corpus() {
        let label = format!("row {n}");
        let tree = parsed(&src);
        let json = to_json(&tree);
        let text = json.to_string();
        let back = from_json_str(&text).unwrap_or_else(|e| panic!("{label}: {e}\n  {text}"));
        match EQUIVALENT_ROWS.iter().find(|(m, _)| *m == n) {
            Some((_, want)) => assert_eq!(print(&back), *want, "{label}"),
            None => assert!(
                back.same_tree(&tree),
                "{label}: json reads back differently\n  src: {src}\n  json: {text}\n  back: {}",
                print(&back)
            ),
        }
        assert_json_stable(&json, &label);
    }
}

#[test]
fn documented_pair_from_text() {
    let json = to_json(&parsed(r#"workAddress.country = "US""#));
    let want = r#"{"nodeType":"fnApply","fnName":"=","params":[{"nodeType":"fieldLookup","fieldName":"country","object":{"nodeType":"fieldLookup","fieldName":"workAddress","object":{"nodeType":"parameterReference","position":1}}},{"nodeType":"literal","literalType":"String","value":"US"}]}"#;
    assert_eq!(json.to_string(), want);
}

#[test]
fn equivalences_are_the_documented_ones() {
    for (src, want) in [
        ("$1.a.b = 1", "a.b = 1"),
        ("s.like(\"a%\")", "s like \"a%\""),
        ("s matches \"^J\"", "s.matches(\"^J\")"),
        // Not an equivalence: inside brackets `$1` stays explicit, and `$1.X` where X is a
        // variable keeps its `$1`.
        ("a[$1.b = 1]", "a[$1.b = 1]"),
        ("select X from a where $1.X", "select X from a where $1.X"),
        // `and`/`or` chains keep their grouping.
        ("a and (b and c) or d", "a and (b and c) or d"),
    ] {
        let back = from_json(&to_json(&parsed(src))).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(print(&back), want, "{src}");
    }
}

/// Constructs and spellings beyond the corpus: every one prints canonically, re-parses to the
/// same tree, and survives pql/json unchanged.
#[test]
fn constructs_roundtrip() {
    let cases = [
        // (input, canonical text)
        ("NOT a = b AND !(c)", "not (a = b) and not (c)"),
        (
            "not(chain(xEvent, timestamp, [A: WHAT(x)]))",
            "not (chain(xEvent, timestamp, [A: WHAT(x)]))",
        ),
        ("a - (b - c) - d", "a - (b - c) - d"),
        ("-(a + b) * -c", "-(a + b) * -c"),
        ("- -a", "-(-a)"),
        ("-5.abs()", "-(5).abs()"),
        ("(-5).abs()", "(-5).abs()"),
        (
            "x occurs on date(2017, 10, 1)",
            "x occurs date(2017, 10, 1)",
        ),
        (
            "x occurs between last month and last week and y",
            "x occurs between last month and last week and y",
        ),
        ("x occurs = 1 days after now", "x occurs = 1 day after now"),
        (
            "x occurs >= 2 millenia from today",
            "x occurs >= 2 millennia from today",
        ),
        ("some x FROM xEvent WHERE a", "exists x from xEvent where a"),
        (
            "all x from xEvent: x.a, y from x.b",
            "forall x from xEvent where x.a, y from x.b",
        ),
        (
            "sum X from arr where X > 0",
            "sum X over X from arr where X > 0",
        ),
        ("average over X from a", "average over X from a"),
        (
            "let a = 1, b = a + 1 in (K) => select Z from b",
            "let a = 1, b = a + 1 in (K) => select Z from b",
        ),
        ("(a, b) = [1, 2.5E-7]", "[a, b] = [1, 2.5E-7]"),
        ("x in (\"a\", \"b\")", "x in [\"a\", \"b\"]"),
        ("x in ([\"a\"])", "x in [\"a\"]"),
        (
            "{count: 1, \"a b\": this[^.c > ^^.d].e}",
            "{\"count\": 1, \"a b\": this[^.c > ^^.d].e}",
        ),
        (
            "xEvent[productListItems[SKU = \"PS\" or ^^.person.gender = \"female\"]]",
            "xEvent[productListItems[SKU = \"PS\" or ^^.person.gender = \"female\"]]",
        ),
        (
            "CHAIN(xEvent, timestamp, [C0: WHAT(a) WHERE(b) COUNT(2) WHEN(< 8 days before now)])",
            "chain(xEvent, timestamp, [C0: WHAT(a) WHEN(< 8 days before now) COUNT(2) WHERE(b)])",
        ),
        (
            "chain(xEvent, a.b, [WHAT(x) WHEN(between today and tomorrow)])",
            "chain(xEvent, a.b, [WHAT(x) WHEN(between today and tomorrow)])",
        ),
        (
            "\"tab\\t\\u00e9\\\\\" = 'it\\'s'",
            "\"tab\\t\u{e9}\\\\\" = \"it's\"",
        ),
        ("this month = next year", "this month = next year"),
        ("yesterday.getYear() + $2.x", "yesterday.getYear() + $2.x"),
        (
            "one X from a where none Y from X",
            "one X from a where none Y from X",
        ),
        (
            "select X from a where exists Y from b, Z from c",
            "select X from a where exists Y from b, Z from c",
        ),
        (
            "select X from a where (exists Y from b), Z from c",
            "select X from a where (exists Y from b), Z from c",
        ),
        (
            "a and exists X from b where c",
            "a and (exists X from b where c)",
        ),
        ("if(select X from a, 1, 2)", "if((select X from a), 1, 2)"),
        (
            "let s = (select X from a).head().score in if(s.isNotNull(), s, 0)",
            "let s = (select X from a).head().score in if(s.isNotNull(), s, 0)",
        ),
        (
            "1E3 + .45 + 9223372036854775807",
            "1000.0 + 0.45 + 9223372036854775807",
        ),
        ("count", "count"),
        ("a.select.in", "a.select.in"),
    ];
    for (src, want) in cases {
        let tree = parsed(src);
        let text = assert_text_roundtrip(&tree, src);
        assert_eq!(text, want, "{src}");
        let back = from_json(&to_json(&tree)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(
            back.same_tree(&tree),
            "{src}: json round trip gave {}",
            print(&back)
        );
        assert_json_stable(&to_json(&tree), src);
    }
}

#[test]
fn deepest_parsable_tree_roundtrips() {
    // 200 levels: the parser's limit, and the reader's.
    for open in ["-(", "not ("] {
        let src = format!("{}a{}", open.repeat(199), ")".repeat(199));
        let tree = parsed(&src);
        assert_text_roundtrip(&tree, open);
        let json = to_json(&tree).to_string();
        let back = from_json_str(&json).unwrap_or_else(|e| panic!("{open}: {e}"));
        assert!(back.same_tree(&tree), "{open}");
    }
    let chain = format!("a{}", " + a".repeat(199));
    let tree = parsed(&chain);
    assert_text_roundtrip(&tree, "long sum");
    let back = from_json_str(&to_json(&tree).to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.same_tree(&tree));
    let ands = format!("a{}", " and a".repeat(199));
    let tree = parsed(&ands);
    let back = from_json_str(&to_json(&tree).to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.same_tree(&tree));
}
