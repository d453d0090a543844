//! Time constructs: the `occurs` specification (also the body of a chain step's `WHEN(...)`)
//! and `chain(...)`.

use super::{ADD_PREC, Node, Parser, Result};
use crate::pql::ast::{ChainStep, CmpOp, Direction, Expr, ExprKind, OccursSpec, Span, TimeUnit};
use crate::pql::error::{PqlError, nearest};
use crate::pql::lexer::TokenKind;

const CLAUSES: [&str; 4] = ["WHAT", "WHEN", "COUNT", "WHERE"];
const CLAUSE_OPENERS: [&str; 4] = ["`WHAT(`", "`WHEN(`", "`COUNT(`", "`WHERE(`"];

impl Parser<'_> {
    /// `cmp_expr = add_expr "occurs" occurs_spec ;` (the `occurs` has been consumed).
    pub(super) fn occurs(&mut self, ts: Node) -> Result<Node> {
        let (spec, spec_height) = self.occurs_spec()?;
        let span = ts.expr.span.to(self.prev_span());
        let below = ts.height.max(spec_height);
        self.node(ExprKind::Occurs { ts: ts.expr, spec }, span, below)
    }

    /// ```text
    /// occurs_spec = CMP INT UNIT DIRECTION time | DIRECTION time
    ///             | "between" time "and" time | [ "on" ] time ;
    /// ```
    /// -> the spec and the greatest height of its time expressions.
    fn occurs_spec(&mut self) -> Result<(OccursSpec, usize)> {
        if let Some(cmp) = self.cmp_op() {
            self.bump();
            let (amount, unit, dir) = self.distance_head(cmp)?;
            let anchor = self.time()?;
            let spec = OccursSpec::Distance {
                cmp,
                amount,
                unit,
                dir,
                anchor: anchor.expr,
            };
            return Ok((spec, anchor.height));
        }
        if let Some(dir) = self.direction() {
            self.bump();
            let anchor = self.time()?;
            let spec = OccursSpec::Direction {
                dir,
                anchor: anchor.expr,
            };
            return Ok((spec, anchor.height));
        }
        if self.eat_keyword("between").is_some() {
            return self.between();
        }
        self.eat_keyword("on");
        let at = self.time()?;
        Ok((OccursSpec::On(at.expr), at.height))
    }

    /// `time "and" time` after `between`.
    fn between(&mut self) -> Result<(OccursSpec, usize)> {
        let from = self.time()?;
        if self.eat_keyword("and").is_none() {
            return Err(self.unexpected("`and` after the start of `between`").into());
        }
        let to = self.time()?;
        let height = from.height.max(to.height);
        let spec = OccursSpec::Between {
            from: from.expr,
            to: to.expr,
        };
        Ok((spec, height))
    }

    /// `INT UNIT DIRECTION` after the `CMP` of a distance.
    fn distance_head(&mut self, cmp: CmpOp) -> Result<(i64, TimeUnit, Direction)> {
        let amount = match self.peek().kind {
            TokenKind::Int(n) => i64::try_from(n).ok(),
            _ => None,
        };
        let Some(amount) = amount else {
            let err = self
                .unexpected(&format!(
                    "a whole number of time units after `{}`",
                    cmp.text()
                ))
                .with_hint("write for example `occurs < 8 days before now`");
            return Err(err.into());
        };
        self.bump();
        let Some(unit) = self.unit_at(0) else {
            return Err(self.bad_unit());
        };
        self.bump();
        let Some(dir) = self.direction() else {
            return Err(self.unexpected("`before`, `after` or `from`").into());
        };
        self.bump();
        Ok((amount, unit, dir))
    }

    #[cold]
    fn bad_unit(&self) -> Box<PqlError> {
        let mut err = self.unexpected("a time unit (`days`, `hours`, `weeks`, ...)");
        if let TokenKind::Word(w) = &self.peek().kind
            && let Some(near) = nearest(w, UNIT_WORDS)
        {
            err = err.with_hint(format!("did you mean `{near}`?"));
        }
        Box::new(err)
    }

    /// `time = add_expr ;`: so that `between A and B` keeps its `and` and `occurs today and x`
    /// ends at `today` (D1.7).
    fn time(&mut self) -> Result<Node> {
        self.binary(ADD_PREC)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        let op = match self.peek().kind {
            TokenKind::Eq => CmpOp::Eq,
            TokenKind::Ne => CmpOp::Ne,
            TokenKind::Lt => CmpOp::Lt,
            TokenKind::Le => CmpOp::Le,
            TokenKind::Gt => CmpOp::Gt,
            TokenKind::Ge => CmpOp::Ge,
            _ => return None,
        };
        Some(op)
    }

    fn direction(&self) -> Option<Direction> {
        let tok = self.peek();
        if tok.is_keyword("before") {
            Some(Direction::Before)
        } else if tok.is_keyword("after") {
            Some(Direction::After)
        } else if tok.is_keyword("from") {
            Some(Direction::From)
        } else {
            None
        }
    }

    /// `chain = "chain" "(" expr "," NAME { "." NAME } "," "[" step { "," step } "]" ")" ;`
    pub(super) fn chain(&mut self) -> Result<Node> {
        let start = self.bump();
        let open = self.bump();
        self.nested(|p| p.chain_body(start, open))
    }

    /// The arguments of `chain(`, up to and including its `)`.
    fn chain_body(&mut self, start: Span, open: Span) -> Result<Node> {
        let events = self.expr()?;
        let ts_field = self.chain_ts_field()?;
        let mut steps = Vec::new();
        let steps_height = self.chain_steps(&mut steps)?;
        let close = self.expect_closing(&TokenKind::RParen, open, "`chain(`")?;
        let height = events.height.max(steps_height);
        let kind = ExprKind::Chain {
            events: events.expr,
            ts_field,
            steps,
        };
        self.node(kind, start.to(close), height)
    }

    /// `"," NAME { "." NAME } ","`: the timestamp field of a chain, between its commas.
    fn chain_ts_field(&mut self) -> Result<String> {
        self.expect(&TokenKind::Comma, "`,` after the events of `chain`")?;
        let mut path = String::new();
        loop {
            let TokenKind::Word(name) = &self.peek().kind else {
                let err = self.unexpected("the name of the timestamp field (`timestamp`)");
                return Err(err.into());
            };
            path.push_str(name);
            self.bump();
            if self.eat(&TokenKind::Dot).is_none() {
                break;
            }
            path.push('.');
        }
        self.expect(
            &TokenKind::Comma,
            "`,` after the timestamp field of `chain`",
        )?;
        Ok(path)
    }

    /// `"[" step { "," step } "]"` -> appended to `steps`; returns their greatest height.
    fn chain_steps(&mut self, steps: &mut Vec<ChainStep>) -> Result<usize> {
        let open = self.expect(&TokenKind::LBracket, "`[` to open the chain's steps")?;
        let mut height = 0;
        loop {
            height = height.max(self.chain_step(steps)?);
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        if !self.at(&TokenKind::RBracket) {
            let err = self.unclosed(&TokenKind::RBracket, open, "the chain's steps", true);
            return Err(err.into());
        }
        self.bump();
        Ok(height)
    }

    /// ```text
    /// step   = [ NAME ":" ] clause { clause } ;
    /// clause = "WHAT" "(" expr ")" | "WHEN" "(" occurs_spec ")"
    ///        | "COUNT" "(" INT ")" | "WHERE" "(" expr ")" ;
    /// ```
    /// -> appended to `steps`; returns the greatest height of its expressions.
    fn chain_step(&mut self, steps: &mut Vec<ChainStep>) -> Result<usize> {
        let start = self.peek().span;
        let label = match &self.peek().kind {
            TokenKind::Word(w) if self.peek_at(1).kind == TokenKind::Colon => {
                let label = w.clone();
                self.bump();
                self.bump();
                Some(label)
            }
            _ => None,
        };
        let mut clauses = Box::<Clauses>::default();
        let mut height = 0;
        while let Some(index) = self.clause_ahead() {
            let kw = self.bump();
            if clauses.seen[index] {
                return Err(duplicate_clause(index, kw));
            }
            clauses.seen[index] = true;
            height = height.max(self.chain_clause(index, &mut clauses)?);
        }
        let span = start.to(self.prev_span());
        steps.push(self.finish_step(label, &mut clauses, span)?);
        Ok(height)
    }

    /// Checks what follows a step's clauses and assembles it.
    fn finish_step(&self, label: Option<String>, c: &mut Clauses, span: Span) -> Result<ChainStep> {
        if let TokenKind::Word(w) = &self.peek().kind
            && self.peek_at(1).kind == TokenKind::LParen
        {
            let err = PqlError::new(format!("unknown chain step clause `{w}`"), self.peek().span);
            let err = match nearest(w, CLAUSES) {
                Some(near) => err.with_hint(format!("did you mean {near}?")),
                None => {
                    err.with_hint("the clauses are WHAT(...), WHEN(...), COUNT(...) and WHERE(...)")
                }
            };
            return Err(err.into());
        }
        let Some(what) = c.what.take() else {
            let err = self
                .unexpected("a chain step clause: WHAT(...), WHEN(...), COUNT(...) or WHERE(...)")
                .with_hint("every chain step needs a WHAT(...) clause");
            return Err(err.into());
        };
        Ok(ChainStep {
            label,
            what,
            when: c.when.take(),
            count: c.count,
            where_: c.where_.take(),
            span,
        })
    }

    /// Which clause keyword (followed by `(`) is next, as an index into [`CLAUSES`].
    fn clause_ahead(&self) -> Option<usize> {
        if self.peek_at(1).kind != TokenKind::LParen {
            return None;
        }
        CLAUSES.iter().position(|c| self.at_keyword(c))
    }

    /// One clause's parenthesised body (the keyword has been consumed); returns its height.
    fn chain_clause(&mut self, index: usize, clauses: &mut Clauses) -> Result<usize> {
        let open = self.bump();
        let height = match index {
            1 => {
                let (spec, height) = self.nested(|p| p.occurs_spec())?;
                clauses.when = Some(spec);
                height
            }
            2 => {
                clauses.count = Some(self.count()?);
                0
            }
            _ => {
                let e = self.nested(|p| p.expr())?;
                let height = e.height;
                if index == 0 {
                    clauses.what = Some(*e.expr);
                } else {
                    clauses.where_ = Some(*e.expr);
                }
                height
            }
        };
        self.expect_closing(&TokenKind::RParen, open, CLAUSE_OPENERS[index])?;
        Ok(height)
    }

    /// The positive whole number of `COUNT(n)`.
    fn count(&mut self) -> Result<i64> {
        let count = match self.peek().kind {
            TokenKind::Int(n) if n > 0 => i64::try_from(n).ok(),
            _ => None,
        };
        let Some(count) = count else {
            return Err(self
                .unexpected("a positive whole number in COUNT(...)")
                .into());
        };
        self.bump();
        Ok(count)
    }
}

#[cold]
fn duplicate_clause(index: usize, at: Span) -> Box<PqlError> {
    let message = format!("this chain step already has a {} clause", CLAUSES[index]);
    Box::new(PqlError::new(message, at))
}

/// Unit spellings offered as "did you mean" hints.
pub(super) const UNIT_WORDS: [&str; 22] = [
    "millisecond",
    "milliseconds",
    "second",
    "seconds",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "decade",
    "decades",
    "century",
    "centuries",
    "millennium",
    "millennia",
];

/// The clauses of one chain step, as they are read (in any order).
#[derive(Default)]
struct Clauses {
    /// Which of [`CLAUSES`] have been read.
    seen: [bool; 4],
    what: Option<Expr>,
    when: Option<OccursSpec>,
    count: Option<i64>,
    where_: Option<Expr>,
}
