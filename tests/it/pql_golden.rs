//! Golden-file tests of the PQL engine.
//!
//! Every `tests/pql/*.pql` file is a list of cases run against a fixture set of profiles
//! (`tests/pql/fixtures/NAME.json`, a JSON array of `ProfileRecord`s:
//! `{"id", "profile", "events", "memberships"}`). The expectations were written from the
//! normative spec (`shared/spec/pql.md` Part 1, rules D1–D6) independently of the engine, and
//! each case names its rule in the comment above it. All failures of all files are collected and
//! reported together, each with file:line, the expression, what was expected and what came out.
//!
//! # The `.pql` format
//!
//! ```text
//! # comment                 lines starting with '#'; the ones right above a case are printed
//!                           with its failures (they name the rule it checks)
//! @fixture people           fixture set for the following cases (tests/pql/fixtures/people.json)
//! @at 2024-06-15T12:00:00Z  the evaluation instant `now` (RFC 3339) for the following cases
//!
//! homeAddress.countryISO != "CA"        a case starts with a non-indented expression line;
//!     and person.age > 1                indented lines continue it (joined with '\n', kept
//!                                       verbatim, so error columns count their indentation)
//! => p2 p5                  boolean case: exactly these profiles satisfy `Program::matches`
//!                           (ids in fixture order; a bare `=>` means none)
//! ~~ p8                     optional after `=>`: the result for these profiles is not asserted
//!                           (the spec does not decide it); `~~ *` = only check it compiles and
//!                           evaluates without panicking
//!
//! orders.sum(price)
//! == *: 0                   value case: `Program::evaluate(..).to_json()` for these profiles,
//! == p1: 35.5               compared as compact JSON text (so `2` and `2.0` differ, and object
//! == p2 p7: 100             key order matters); `*` = every profile; a later line naming a
//!                           profile overrides an earlier one; profiles not named are not checked
//!
//! person.name.startWith("J")
//! !! 1:13 did you mean | startsWith
//!                           compile error (`compile_text`) at line 1, column 13 (`1:13-20` a
//!                           column range, `1:*` any column); the message or the hint contains
//!                           one of the ` | `-separated fragments (case-insensitive)
//! ```
//!
//! A second test runs every case that compiles through the printer and pql/json and checks that
//! the re-read trees mean the same (D5.3, see `roundtrip.rs`); a third generates deeply nested
//! input (D1.12, see `deep.rs`).
//!
//! Set `PQL_GOLDEN=name` to run only `tests/pql/name.pql`.

mod deep;
mod format;
mod roundtrip;

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use segmentation::pql::{ProfileRecord, compile_text};

use format::{Case, Expect, Who};

fn pql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pql")
}

/// Fixture sets, read once per run.
#[derive(Default)]
struct Fixtures {
    sets: HashMap<String, Result<Vec<ProfileRecord>, String>>,
}

impl Fixtures {
    fn get(&mut self, name: &str) -> Result<&[ProfileRecord], String> {
        let entry = self.sets.entry(name.to_string()).or_insert_with(|| {
            let path = pql_dir().join("fixtures").join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            ProfileRecord::parse_many(&text).map_err(|e| format!("fixture {name}: {e}"))
        });
        entry.as_ref().map(Vec::as_slice).map_err(Clone::clone)
    }
}

/// Per-file totals for the summary line.
#[derive(Default)]
struct Tally {
    cases: usize,
    failed: usize,
}

/// Every golden file (or only `PQL_GOLDEN`'s), read: `(display name, cases)` plus the format
/// errors found while reading.
fn read_golden_files() -> (Vec<(String, Vec<Case>)>, Vec<String>) {
    let only = std::env::var("PQL_GOLDEN").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(pql_dir())
        .expect("tests/pql exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pql"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s == o))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files found");
    let mut read = Vec::new();
    let mut errors = Vec::new();
    for path in &files {
        let name = format!(
            "tests/pql/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let text = std::fs::read_to_string(path).expect("golden file is readable");
        let (cases, format_errors) = format::parse_file(&name, &text);
        errors.extend(format_errors);
        read.push((name, cases));
    }
    (read, errors)
}

/// Runs `check` on every case of every file and fails with one report listing every failure.
fn run_all(title: &str, check: fn(&[ProfileRecord], &Case) -> Option<String>) {
    let (files, mut failures) = read_golden_files();
    let mut fixtures = Fixtures::default();
    let mut tallies = BTreeMap::new();
    for (name, cases) in &files {
        let tally: &mut Tally = tallies.entry(name.clone()).or_default();
        for case in cases {
            tally.cases += 1;
            if let Some(report) = run_case(&mut fixtures, case, check) {
                tally.failed += 1;
                failures.push(render_failure(name, case, &report));
            }
        }
    }
    let summary: Vec<String> = tallies
        .iter()
        .map(|(f, t)| format!("  {f}: {} cases, {} failed", t.cases, t.failed))
        .collect();
    eprintln!("{title}:\n{}", summary.join("\n"));
    if !failures.is_empty() {
        panic!(
            "{title}: {} failure(s):\n\n{}\n\n{}",
            failures.len(),
            failures.join("\n\n"),
            summary.join("\n")
        );
    }
}

/// Every case against its expectation.
#[test]
fn golden_files() {
    run_all("PQL golden files", check_case);
}

/// D5.3 on every case: printed text and pql/json round trips mean what the text means.
#[test]
fn golden_round_trips() {
    run_all("PQL golden round trips (D5.3)", roundtrip::check);
}

fn render_failure(file: &str, case: &Case, report: &str) -> String {
    let mut out = format!(
        "{file}:{}: {}",
        case.line,
        case.expr.replace('\n', "\n    ")
    );
    for c in &case.comments {
        out.push_str(&format!("\n    # {c}"));
    }
    out.push_str(&format!(
        "\n    (fixture {}, now {})\n{report}",
        case.fixture, case.now_text
    ));
    out
}

/// Runs one check on one case; `None` when it passes, else the lines explaining the failure.
fn run_case(
    fixtures: &mut Fixtures,
    case: &Case,
    check: fn(&[ProfileRecord], &Case) -> Option<String>,
) -> Option<String> {
    let records = match fixtures.get(&case.fixture) {
        Ok(r) => r,
        Err(e) => return Some(format!("    {e}")),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| check(records, case)));
    match outcome {
        Ok(result) => result,
        Err(panic) => Some(format!("    PANICKED: {}", panic_message(&panic))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_string()
    }
}

fn check_case(records: &[ProfileRecord], case: &Case) -> Option<String> {
    let unknown = unknown_ids(records, &case.expect);
    if !unknown.is_empty() {
        return Some(format!(
            "    golden file names profiles not in the fixture: {}",
            unknown.join(" ")
        ));
    }
    match &case.expect {
        Expect::Error { pos, fragments } => check_error(case, pos, fragments),
        Expect::Matches { ids, unasserted } => check_matches(records, case, ids, unasserted),
        Expect::Values(values) => check_values(records, case, values),
    }
}

fn unknown_ids(records: &[ProfileRecord], expect: &Expect) -> Vec<String> {
    let known = |id: &String| records.iter().any(|r| &r.id == id);
    let mut named: Vec<&String> = Vec::new();
    match expect {
        Expect::Matches { ids, unasserted } => {
            named.extend(ids);
            if let Some(Who::Ids(u)) = unasserted {
                named.extend(u);
            }
        }
        Expect::Values(values) => {
            for (who, _) in values {
                if let Who::Ids(ids) = who {
                    named.extend(ids);
                }
            }
        }
        Expect::Error { .. } => {}
    }
    named.into_iter().filter(|id| !known(id)).cloned().collect()
}

fn check_error(case: &Case, pos: &format::Position, fragments: &[String]) -> Option<String> {
    let err = match compile_text(&case.expr) {
        Ok(_) => {
            return Some(format!(
                "    expected a compile error at {}:{} mentioning {:?}\n    but it compiled",
                pos.line,
                show_cols(pos),
                fragments
            ));
        }
        Err(e) => e,
    };
    let (line, col) = err.line_col(&case.expr);
    let text = format!("{} {}", err.message, err.hint.clone().unwrap_or_default()).to_lowercase();
    let at_ok = line == pos.line && (pos.col_from..=pos.col_to).contains(&col);
    let msg_ok = fragments.iter().any(|f| text.contains(f.as_str()));
    if at_ok && msg_ok {
        return None;
    }
    Some(format!(
        "    expected: compile error at {}:{} mentioning {:?}\n    actual:   {}",
        pos.line,
        show_cols(pos),
        fragments,
        err.describe(&case.expr)
    ))
}

fn show_cols(pos: &format::Position) -> String {
    match (pos.col_from, pos.col_to) {
        (_, usize::MAX) => "*".to_string(),
        (a, b) if a == b => a.to_string(),
        (a, b) => format!("{a}-{b}"),
    }
}

fn check_matches(
    records: &[ProfileRecord],
    case: &Case,
    ids: &[String],
    unasserted: &Option<Who>,
) -> Option<String> {
    let program = match compile_text(&case.expr) {
        Ok(p) => p,
        Err(e) => return Some(format!("    compile error: {}", e.describe(&case.expr))),
    };
    let skip = |id: &str| match unasserted {
        Some(Who::All) => true,
        Some(Who::Ids(u)) => u.iter().any(|x| x == id),
        None => false,
    };
    let mut actual = Vec::new();
    for r in records {
        if program.matches(&r.context(case.now_ms)) && !skip(&r.id) {
            actual.push(r.id.clone());
        }
    }
    let expected: Vec<String> = records
        .iter()
        .filter(|r| ids.contains(&r.id) && !skip(&r.id))
        .map(|r| r.id.clone())
        .collect();
    if actual == expected {
        return None;
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|id| !actual.contains(id))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = actual
        .iter()
        .filter(|id| !expected.contains(id))
        .map(String::as_str)
        .collect();
    Some(format!(
        "    expected matches: {}\n    actual matches:   {}\n    missing: {}   unexpected: {}",
        list(&expected),
        list(&actual),
        missing.join(" "),
        extra.join(" ")
    ))
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "(none)".to_string()
    } else {
        ids.join(" ")
    }
}

fn check_values(
    records: &[ProfileRecord],
    case: &Case,
    values: &[(Who, serde_json::Value)],
) -> Option<String> {
    let program = match compile_text(&case.expr) {
        Ok(p) => p,
        Err(e) => return Some(format!("    compile error: {}", e.describe(&case.expr))),
    };
    let mut lines = Vec::new();
    for r in records {
        // The last `==` line naming a profile wins, so `== *:` can be refined below it.
        let expected = values.iter().rev().find_map(|(who, v)| match who {
            Who::All => Some(v),
            Who::Ids(ids) => ids.contains(&r.id).then_some(v),
        });
        let Some(expected) = expected else {
            continue;
        };
        let actual = program.evaluate(&r.context(case.now_ms)).to_json();
        if json_text(&actual) != json_text(expected) {
            lines.push(format!(
                "    {}: expected {}\n    {}  actual   {}",
                r.id,
                expected,
                " ".repeat(r.id.len()),
                actual
            ));
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Compact JSON text: what value cases compare, so that `2` differs from `2.0` and object key
/// order counts (D6.12).
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    v.to_string()
}
