//! Deep nesting (D1.12): input nested far beyond the limit of 200 is a compile error with a
//! position, never a stack overflow; input nested well within it compiles.
//!
//! A stack overflow aborts the whole test process, so each shape is checked in a child process
//! (this same test binary, running the ignored `deep_nesting_child` test with the shape named in
//! an environment variable). A crash then fails one named shape instead of taking every other
//! test's report down with it.

use std::process::Command;

use segmentation::pql::{ProfileRecord, compile_text};

const SHAPE_VAR: &str = "PQL_DEEP_SHAPE";
const DEEP: usize = 10_000;

/// What a shape must do.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Outcome {
    /// A compile error (D1.12).
    Refused,
    /// Compiles and evaluates to this JSON value on an empty profile.
    Value(&'static str),
    /// Either refused or compiled; if compiled, evaluates to this JSON value. Long flat chains
    /// (`a.b.c...`, `1 + 1 + ...`) are not nesting in the source, but an engine may still count
    /// them; it must not crash either way.
    Either(&'static str),
}

fn shapes() -> Vec<(&'static str, String, Outcome)> {
    let n = DEEP;
    let nest = |open: &str, inner: &str, close: &str, k: usize| {
        format!("{}{inner}{}", open.repeat(k), close.repeat(k))
    };
    let or_250: Vec<String> = (0..250).map(|i| format!("x = {i}")).collect();
    vec![
        ("parens", nest("(", "1", ")", n), Outcome::Refused),
        // 250 `or`ed comparisons are nested one level deep in the source (D1.12 limits nesting,
        // and machine-generated definitions can be this long).
        ("or-250", or_250.join(" or "), Outcome::Value("false")),
        ("parens-unclosed", "(".repeat(n), Outcome::Refused),
        ("parens-250", nest("(", "1", ")", 250), Outcome::Refused),
        ("parens-150", nest("(", "1", ")", 150), Outcome::Value("1")),
        (
            "parens-50",
            nest("(", "true", ")", 50),
            Outcome::Value("true"),
        ),
        ("not", format!("{}true", "not ".repeat(n)), Outcome::Refused),
        ("bang", nest("!(", "true", ")", n), Outcome::Refused),
        ("lists", nest("[", "", "]", n), Outcome::Refused),
        (
            "filters",
            format!("xEvent{}", nest("[a", "", "]", n)),
            Outcome::Refused,
        ),
        ("calls", nest("if(true, ", "1", ", 2)", n), Outcome::Refused),
        (
            "methods",
            nest("a.filter(", "true", ")", n),
            Outcome::Refused,
        ),
        ("objects", nest("{\"k\": ", "1", "}", n), Outcome::Refused),
        (
            "minus",
            format!("{}1", "- ".repeat(n)),
            Outcome::Either("1"),
        ),
        (
            "path",
            format!("a{}", ".b".repeat(n)),
            Outcome::Either("null"),
        ),
        (
            "sum",
            format!("1{}", " + 1".repeat(n)),
            Outcome::Either("10001"),
        ),
        (
            "and",
            format!("true{}", " and true".repeat(n)),
            Outcome::Either("true"),
        ),
    ]
}

/// Runs every shape in a child process and reports all that misbehave.
#[test]
fn deep_nesting_is_refused_without_crashing() {
    let exe = std::env::current_exe().expect("test binary path");
    let mut failures = Vec::new();
    for (name, _, outcome) in shapes() {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "pql_golden::deep::deep_nesting_child",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SHAPE_VAR, name)
            .output()
            .expect("child test process starts");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            failures.push(format!(
                "shape `{name}` (expected {outcome:?}): child exited with {}\n      {}",
                out.status,
                tail.join("\n      ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "D1.12 deep nesting:\n  {}",
        failures.join("\n  ")
    );
}

/// The child side: checks the one shape named in the environment (does nothing otherwise).
#[test]
#[ignore = "run as a child process by deep_nesting_is_refused_without_crashing"]
fn deep_nesting_child() {
    let Ok(wanted) = std::env::var(SHAPE_VAR) else {
        return;
    };
    let Some((_, src, outcome)) = shapes().into_iter().find(|(n, _, _)| *n == wanted) else {
        panic!("unknown shape {wanted}");
    };
    let result = compile_text(&src);
    let record = ProfileRecord::parse_many(r#"[{"id": "x", "profile": {}}]"#)
        .expect("inline fixture")
        .remove(0);
    match (result, outcome) {
        (Err(e), Outcome::Refused | Outcome::Either(_)) => {
            let (line, col) = e.line_col(&src);
            assert!(line >= 1 && col >= 1, "error without a position");
            eprintln!("{wanted}: refused at {line}:{col}: {}", e.message);
        }
        (Err(e), Outcome::Value(_)) => panic!("expected to compile, got: {}", e.describe(&src)),
        (Ok(_), Outcome::Refused) => panic!("compiled, but nesting {DEEP} deep must be refused"),
        (Ok(program), Outcome::Value(v) | Outcome::Either(v)) => {
            let got = program.evaluate(&record.context(0)).to_json().to_string();
            assert_eq!(got, v, "compiled, but evaluated to the wrong value");
        }
    }
}
