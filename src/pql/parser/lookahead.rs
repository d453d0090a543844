//! Deciding whether `sum`, `average`, `min`, `max` or `count` starts an aggregate comprehension
//! (`sum (X.a + X.b) / 2 over X from xEvent`) or is a plain name (a field called `count`, the
//! call `sum(1, 2)`, the filter `count[a > 1]`, the difference `count - 1`).
//!
//! After the word, a token that can only continue a value (another word, a number, a string,
//! `$1`, `^`) means an aggregate, and one that can only follow a name (`=`, `.`, `)`, ...) means a
//! name. The tokens that can do both (`(`, `[`, `{`, `-`, `!`, and `over` itself) are decided by
//! looking for the `over` the aggregate needs: it must come later at the same bracket level,
//! before anything that ends the operand there (the level's closing bracket, or a `,`, `where` or
//! `:` at that level, or the `in` that ends a `let` value). Aggregates whose value is still being
//! read at this bracket level are each owed one of those `over`s first, so in
//! `count sum - 1 over X from xs` the `sum` is a field: the only `over` is `count`'s.
//!
//! Scanning from every such word could take time quadratic in the input (`sum - 1 or sum - 1 or
//! ...`), so the first question builds, in one backward pass over the tokens, an index of the next
//! `over` and `in` at each token's level; every later question follows it in a few steps.

use super::Parser;
use crate::pql::lexer::{Token, TokenKind};

/// No such token.
const NONE: u32 = u32::MAX;

/// For each token, the position of the next `over` and of the next `in` keyword after it at its
/// own bracket level, before the level ends or a `,`, `where` or `:` at that level; [`NONE`]
/// when there is none.
pub(super) struct OverIndex {
    next_over: Vec<u32>,
    next_in: Vec<u32>,
}

impl OverIndex {
    fn new(tokens: &[Token]) -> OverIndex {
        let n = tokens.len();
        let mut next_over = vec![NONE; n];
        let mut next_in = vec![NONE; n];
        // (next over, next in) of each open level, innermost last; read backwards, a closing
        // bracket opens a level and an opening bracket closes it.
        let mut levels: Vec<(u32, u32)> = vec![(NONE, NONE)];
        for i in (0..n).rev() {
            let kind = &tokens[i].kind;
            if is_opener(kind) && levels.len() > 1 {
                levels.pop();
            }
            let top = levels.len() - 1;
            (next_over[i], next_in[i]) = levels[top];
            let after_dot = i > 0 && tokens[i - 1].kind == TokenKind::Dot;
            match kind {
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    levels.push((NONE, NONE));
                }
                TokenKind::Comma | TokenKind::Colon => levels[top] = (NONE, NONE),
                TokenKind::Word(w) if !after_dot => {
                    let position = u32::try_from(i).unwrap_or(NONE);
                    if w.eq_ignore_ascii_case("where") {
                        levels[top] = (NONE, NONE);
                    } else if w.eq_ignore_ascii_case("over") {
                        levels[top].0 = position;
                    } else if w.eq_ignore_ascii_case("in") {
                        levels[top].1 = position;
                    }
                }
                _ => {}
            }
        }
        OverIndex { next_over, next_in }
    }
}

fn is_opener(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace
    )
}

impl Parser<'_> {
    /// Whether the aggregate word here starts an aggregate rather than a name (see the module
    /// docs).
    pub(super) fn aggregate_ahead(&mut self) -> bool {
        match &self.peek_at(1).kind {
            TokenKind::Word(w) if w.eq_ignore_ascii_case("over") => self.over_ahead(),
            TokenKind::Word(w) => {
                let lower = w.to_ascii_lowercase();
                w != "notIn"
                    && !matches!(
                        lower.as_str(),
                        "and" | "or" | "in" | "like" | "matches" | "occurs" | "from" | "where"
                    )
            }
            TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Str(_)
            | TokenKind::Param(_)
            | TokenKind::Caret => true,
            // `sum()` is a call: `()` is no value.
            TokenKind::LParen => self.peek_at(2).kind != TokenKind::RParen && self.over_ahead(),
            TokenKind::LBracket | TokenKind::LBrace | TokenKind::Minus | TokenKind::Bang => {
                self.over_ahead()
            }
            _ => false,
        }
    }

    /// Whether an `over` for the aggregate word here follows at its bracket level, after the
    /// ones owed to the aggregates whose value is being read around it.
    fn over_ahead(&mut self) -> bool {
        let index = self
            .over_index
            .get_or_insert_with(|| OverIndex::new(&self.tokens));
        let mut at = u32::try_from(self.pos).unwrap_or(NONE);
        for _ in 0..=self.pending_over {
            at = match index.next_over.get(at as usize) {
                Some(&next) if next != NONE => next,
                _ => return false,
            };
        }
        // In a `let` value, an `in` at this level ends the value (and the operand).
        let ends_at_in = self.no_in && index.next_in.get(self.pos).is_some_and(|&i| i < at);
        !ends_at_in
    }
}
