//! Reads the golden-file format (documented in `pql_golden.rs`) into [`Case`]s.
//!
//! The reader is strict: a malformed line, an `@at` that is not RFC 3339 or a case with no
//! expectation is reported as a failure of its own (with file:line), so that a typo in a golden
//! file can never silently turn into a passing test.

use chrono::DateTime;

/// Which profiles a `==` line is about.
#[derive(Debug, Clone)]
pub enum Who {
    All,
    Ids(Vec<String>),
}

/// Where a `!!` case expects the error: a line and a column, a column range, or any column.
#[derive(Debug, Clone)]
pub struct Position {
    pub line: usize,
    pub col_from: usize,
    /// Inclusive; `usize::MAX` for `*`.
    pub col_to: usize,
}

#[derive(Debug, Clone)]
pub enum Expect {
    /// `=>`: exactly these profiles match (`Program::matches`), except those in `unasserted`.
    Matches {
        ids: Vec<String>,
        unasserted: Option<Who>,
    },
    /// `==`: `Program::evaluate(..).to_json()` for the named profiles.
    Values(Vec<(Who, serde_json::Value)>),
    /// `!!`: a compile error at `pos` whose message or hint contains one of `fragments`.
    Error {
        pos: Position,
        fragments: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line of the expression's first line.
    pub line: usize,
    /// The `#` comment lines right above the case (the rule it checks).
    pub comments: Vec<String>,
    pub fixture: String,
    pub now_ms: i64,
    pub now_text: String,
    pub expr: String,
    pub expect: Expect,
}

/// Parser state while reading one file.
#[derive(Default)]
struct Reader {
    cases: Vec<Case>,
    errors: Vec<String>,
    fixture: Option<String>,
    now: Option<(i64, String)>,
    comments: Vec<String>,
    open: Option<Open>,
}

/// The case being read: its expression lines and expectation lines so far.
struct Open {
    line: usize,
    comments: Vec<String>,
    expr: Vec<String>,
    expect_lines: Vec<(usize, String)>,
}

/// Reads a whole file. Format errors come back as `file:line: message` strings.
pub fn parse_file(name: &str, text: &str) -> (Vec<Case>, Vec<String>) {
    let mut r = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        let starts_indented = line.starts_with(' ') || line.starts_with('\t');
        if line.trim().is_empty() {
            r.close(name);
        } else if starts_indented {
            r.continuation(name, n, line);
        } else if let Some(rest) = line.strip_prefix('#') {
            r.close(name);
            r.comments.push(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix('@') {
            r.close(name);
            r.directive(name, n, rest);
        } else if is_expectation(line) {
            match &mut r.open {
                Some(open) => open.expect_lines.push((n, line.to_string())),
                None => r
                    .errors
                    .push(format!("{name}:{n}: expectation without an expression")),
            }
        } else {
            r.close(name);
            r.open = Some(Open {
                line: n,
                comments: std::mem::take(&mut r.comments),
                expr: vec![line.to_string()],
                expect_lines: Vec::new(),
            });
        }
    }
    r.close(name);
    (r.cases, r.errors)
}

fn is_expectation(line: &str) -> bool {
    ["=>", "==", "!!", "~~"]
        .iter()
        .any(|p| line == *p || line.starts_with(&format!("{p} ")))
}

impl Reader {
    fn continuation(&mut self, name: &str, n: usize, line: &str) {
        match &mut self.open {
            Some(open) if open.expect_lines.is_empty() => open.expr.push(line.to_string()),
            _ => self.errors.push(format!(
                "{name}:{n}: indented line outside an expression (continuation lines must follow the expression's first line directly)"
            )),
        }
    }

    fn directive(&mut self, name: &str, n: usize, rest: &str) {
        let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let value = value.trim();
        match key {
            "fixture" if !value.is_empty() => self.fixture = Some(value.to_string()),
            "at" => match DateTime::parse_from_rfc3339(value) {
                Ok(t) => self.now = Some((t.timestamp_millis(), value.to_string())),
                Err(e) => self
                    .errors
                    .push(format!("{name}:{n}: @at needs an RFC 3339 instant: {e}")),
            },
            _ => self
                .errors
                .push(format!("{name}:{n}: unknown directive @{rest}")),
        }
        self.comments.clear();
    }

    /// Finishes the open case, if any.
    fn close(&mut self, name: &str) {
        let Some(open) = self.open.take() else {
            return;
        };
        let n = open.line;
        let (Some(fixture), Some((now_ms, now_text))) = (self.fixture.clone(), self.now.clone())
        else {
            self.errors
                .push(format!("{name}:{n}: case before @fixture and @at"));
            return;
        };
        match parse_expect(&open.expect_lines) {
            Ok(expect) => self.cases.push(Case {
                line: n,
                comments: open.comments,
                fixture,
                now_ms,
                now_text,
                expr: open.expr.join("\n"),
                expect,
            }),
            Err((line, msg)) => self
                .errors
                .push(format!("{name}:{}: {msg}", line.unwrap_or(n))),
        }
    }
}

type ExpectError = (Option<usize>, String);

fn parse_expect(lines: &[(usize, String)]) -> Result<Expect, ExpectError> {
    let Some((first_n, first)) = lines.first() else {
        return Err((None, "case has no expectation (=>, == or !!)".into()));
    };
    let kind = &first[..2];
    let err = |n: usize, m: &str| (Some(n), m.to_string());
    match kind {
        "=>" => {
            let ids = words(&first[2..]);
            let mut unasserted = None;
            for (n, l) in &lines[1..] {
                if !l.starts_with("~~") || unasserted.is_some() {
                    return Err(err(*n, "after `=>` only one `~~` line may follow"));
                }
                unasserted = Some(who(&l[2..]));
            }
            Ok(Expect::Matches { ids, unasserted })
        }
        "==" => {
            let mut values = Vec::new();
            for (n, l) in lines {
                let Some(rest) = l.strip_prefix("==") else {
                    return Err(err(*n, "a `==` case has only `==` lines"));
                };
                let Some((ids, json)) = rest.split_once(':') else {
                    return Err(err(*n, "expected `== id id: JSON` or `== *: JSON`"));
                };
                let value = serde_json::from_str(json.trim())
                    .map_err(|e| err(*n, &format!("bad JSON value: {e}")))?;
                values.push((who(ids), value));
            }
            Ok(Expect::Values(values))
        }
        "!!" => {
            if lines.len() > 1 {
                return Err(err(lines[1].0, "a `!!` case has exactly one line"));
            }
            parse_error_expect(&first[2..]).map_err(|m| err(*first_n, &m))
        }
        _ => Err(err(*first_n, "`~~` must follow a `=>` line")),
    }
}

/// `L:C fragment`, `L:C1-C2 fragment`, `L:* fragment`; fragments separated by ` | `.
fn parse_error_expect(rest: &str) -> Result<Expect, String> {
    let rest = rest.trim();
    let (pos, fragment) = rest.split_once(' ').unwrap_or((rest, ""));
    let bad = || format!("expected `!! LINE:COL message-fragment`, got `!! {rest}`");
    let (line, col) = pos.split_once(':').ok_or_else(bad)?;
    let line: usize = line.parse().map_err(|_| bad())?;
    let (col_from, col_to) = if col == "*" {
        (1, usize::MAX)
    } else if let Some((a, b)) = col.split_once('-') {
        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
    } else {
        let c = col.parse().map_err(|_| bad())?;
        (c, c)
    };
    let fragments: Vec<String> = fragment
        .split(" | ")
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty())
        .collect();
    if fragments.is_empty() {
        return Err(bad());
    }
    Ok(Expect::Error {
        pos: Position {
            line,
            col_from,
            col_to,
        },
        fragments,
    })
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn who(s: &str) -> Who {
    let ids = words(s);
    if ids.len() == 1 && ids[0] == "*" {
        Who::All
    } else {
        Who::Ids(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let text = "@fixture f\n@at 2024-06-15T12:00:00Z\n# D2.2\na = 1\n=> p1 p2\n~~ p3\n\nb\n  + 1\n== p1 p2: 3\n== p3: null\n\nc(\n!! 1:2-3 did you mean | hint\n";
        let (cases, errors) = parse_file("t.pql", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].comments, vec!["D2.2".to_string()]);
        assert_eq!(cases[1].expr, "b\n  + 1");
        assert!(
            matches!(&cases[2].expect, Expect::Error { fragments, .. } if fragments.len() == 2)
        );
    }

    #[test]
    fn reports_format_errors_with_lines() {
        let (_, errors) = parse_file("t.pql", "a = 1\n=> p1\n");
        assert!(errors[0].starts_with("t.pql:1:"), "{errors:?}");
        let (_, errors) = parse_file("t.pql", "@fixture f\n@at nope\n");
        assert!(errors[0].starts_with("t.pql:2:"), "{errors:?}");
    }
}
