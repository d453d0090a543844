//! The one error type of the PQL front end and compiler: a message a person can act on, the span
//! it points at, and an optional hint (`did you mean 'startsWith'?`, `use .isNull()`).
//!
//! Line and column are computed from the source on demand ([`PqlError::line_col`]) so that the
//! lexer, parser and compiler only track byte offsets.

use std::fmt;

use crate::pql::ast::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PqlError {
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
}

impl PqlError {
    pub fn new(message: impl Into<String>, span: Span) -> PqlError {
        PqlError {
            message: message.into(),
            span,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> PqlError {
        self.hint = Some(hint.into());
        self
    }

    /// 1-based line and column of the error in `src`.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        self.span.line_col(src)
    }

    /// `line:col: message — hint`, the one-line form used in API errors.
    pub fn describe(&self, src: &str) -> String {
        let (line, col) = self.line_col(src);
        match &self.hint {
            Some(h) => format!("{line}:{col}: {} ({h})", self.message),
            None => format!("{line}:{col}: {}", self.message),
        }
    }

    /// The multi-line form for terminals: the message, the offending source line and a caret
    /// under the spot.
    pub fn render(&self, src: &str) -> String {
        let (line, col) = self.line_col(src);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let width = {
            let start = self.span.start as usize;
            let end = (self.span.end as usize).min(src.len()).max(start);
            let same_line = src
                .get(start..end)
                .map(|s| s.split('\n').next().unwrap_or(""));
            same_line.map(|s| s.chars().count()).unwrap_or(1).max(1)
        };
        let mut out = format!("error at {line}:{col}: {}\n", self.message);
        out.push_str(&format!("  | {text}\n"));
        out.push_str(&format!(
            "  | {}{}\n",
            " ".repeat(col - 1),
            "^".repeat(width)
        ));
        if let Some(h) = &self.hint {
            out.push_str(&format!("  = help: {h}\n"));
        }
        out
    }
}

impl fmt::Display for PqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PqlError {}

/// The closest of `candidates` to `name` by edit distance, if it is close enough to be a
/// plausible typo (used for "did you mean" hints).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&lower, &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (name.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["startsWith", "endsWith", "contains"];
        assert_eq!(nearest("startWith", names), Some("startsWith"));
        assert_eq!(nearest("zzzzzz", names), None);
    }

    #[test]
    fn renders_caret_under_the_span() {
        let src = "a = 1 and\nb.startWith(\"x\")";
        let err = PqlError::new("unknown method 'startWith'", Span::new(12, 21))
            .with_hint("did you mean 'startsWith'?");
        assert_eq!(err.line_col(src), (2, 3));
        let r = err.render(src);
        assert!(r.contains("error at 2:3"), "{r}");
        assert!(r.contains("  |   ^^^^^^^^^"), "{r}");
    }
}
