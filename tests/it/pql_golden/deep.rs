//! Deep nesting (D1.12): input nested far beyond the limit of 200 is a compile error with a
//! position, never a stack overflow; input nested well within it compiles.
//!
//! A stack overflow aborts the whole process, so each shape is checked in a child process: the
//! real `segmentation pql eval` command, which is also what a user would run.

use std::process::{Command, Output};

const DEEP: usize = 10_000;

/// What a shape must do.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Outcome {
    /// A compile error (D1.12).
    Refused,
    /// Compiles and evaluates to this JSON value on an empty profile.
    Value(&'static str),
    /// Either refused or compiled; if compiled, evaluates to this JSON value. Long flat chains
    /// of binary operators (`a.b.c...`, `1 + 1 + ...`) are not nesting in the source, but an
    /// engine may still count them; it must not crash either way. (`and`/`or` chains are n-ary
    /// and must work at any length.)
    Either(&'static str),
}

fn shapes() -> Vec<(&'static str, String, Outcome)> {
    let n = DEEP;
    let nest = |open: &str, inner: &str, close: &str, k: usize| {
        format!("{}{inner}{}", open.repeat(k), close.repeat(k))
    };
    let ors = |k: usize| (0..k).map(|i| format!("x = {i}")).collect::<Vec<_>>();
    vec![
        ("parens", nest("(", "1", ")", n), Outcome::Refused),
        // 250 `or`ed comparisons are nested one level deep in the source (D1.12 limits nesting,
        // and machine-generated definitions can be this long).
        ("or-250", ors(250).join(" or "), Outcome::Value("false")),
        (
            "or-100000",
            ors(100_000).join(" or "),
            Outcome::Value("false"),
        ),
        (
            "and-100000",
            vec!["true"; 100_000].join(" and "),
            Outcome::Value("true"),
        ),
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
            Outcome::Value("true"),
        ),
        // Parenthesised chains are nesting like any other parentheses.
        (
            "or-parens",
            format!("{}x = 0{}", "(x = 1 or ".repeat(n), ")".repeat(n)),
            Outcome::Refused,
        ),
    ]
}

/// Runs every shape through the real binary (`segmentation pql eval --explain`) in a child
/// process and reports all that misbehave: a crash fails one named shape, not the whole run.
#[test]
fn deep_nesting_is_refused_without_crashing() {
    let dir = std::env::temp_dir().join(format!("pql-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let profiles = dir.join("profiles.json");
    std::fs::write(&profiles, r#"[{"id": "x", "profile": {}}]"#).expect("profiles file");
    let mut failures = Vec::new();
    for (name, src, outcome) in shapes() {
        let expr = dir.join(format!("{name}.pql"));
        std::fs::write(&expr, &src).expect("expression file");
        let out = Command::new(env!("CARGO_BIN_EXE_segmentation"))
            .args([
                "pql",
                "eval",
                "--explain",
                "--at",
                "1970-01-01T00:00:00Z",
                "--profiles",
            ])
            .arg(&profiles)
            .arg(format!("@{}", expr.display()))
            .output()
            .expect("the segmentation binary runs");
        if let Err(why) = judge(&out, outcome) {
            failures.push(format!("shape `{name}` (expected {outcome:?}): {why}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "D1.12 deep nesting:\n  {}",
        failures.join("\n  ")
    );
}

/// Checks one child's result against the shape's expected outcome.
fn judge(out: &Output, outcome: Outcome) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused = out.status.code() == Some(1) && stderr.starts_with("error at ");
    let value = stdout.trim_end().splitn(3, '\t').nth(2).map(str::to_string);
    match (outcome, refused, value) {
        (Outcome::Refused | Outcome::Either(_), true, _) => {
            let at = stderr.split(':').next().unwrap_or("");
            (at.len() > "error at ".len())
                .then_some(())
                .ok_or_else(|| format!("error without a position: {stderr}"))
        }
        (Outcome::Value(v) | Outcome::Either(v), false, Some(got)) if out.status.success() => (got
            == v)
            .then_some(())
            .ok_or_else(|| format!("evaluated to {got}")),
        (Outcome::Refused, false, _) if out.status.success() => {
            Err("compiled, but nesting this deep must be refused".to_string())
        }
        _ => Err(format!(
            "child exited with {}; stderr: {}",
            out.status,
            stderr.lines().take(6).collect::<Vec<_>>().join(" | ")
        )),
    }
}
