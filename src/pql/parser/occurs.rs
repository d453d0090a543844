//! Time constructs: the `occurs` specification (also the body of a chain step's `WHEN(...)`)
//! and `chain(...)`.

use super::{ADD_PREC, Node, Parser, Result};
use crate::pql::ast::{ChainStep, CmpOp, Direction, Expr, ExprKind, OccursSpec};
use crate::pql::error::{PqlError, nearest};
use crate::pql::lexer::TokenKind;

const CLAUSES: [&str; 4] = ["WHAT", "WHEN", "COUNT", "WHERE"];

impl Parser<'_> {
    /// `cmp_expr = add_expr "occurs" occurs_spec ;` (the `occurs` has been consumed).
    pub(super) fn occurs(&mut self, ts: Node) -> Result<Node> {
        let (spec, spec_height) = self.occurs_spec()?;
        let span = ts.expr.span.to(self.prev_span());
        let below = ts.height.max(spec_height);
        let kind = ExprKind::Occurs {
            ts: Box::new(ts.expr),
            spec,
        };
        self.node(kind, span, below)
    }

    /// ```text
    /// occurs_spec = CMP INT UNIT DIRECTION time | DIRECTION time
    ///             | "between" time "and" time | [ "on" ] time ;
    /// ```
    /// -> the spec and the greatest height of its time expressions.
    fn occurs_spec(&mut self) -> Result<(OccursSpec, usize)> {
        if let Some(cmp) = self.cmp_op() {
            self.advance();
            return self.distance(cmp);
        }
        if let Some(dir) = self.direction() {
            self.advance();
            let anchor = self.time()?;
            let height = anchor.height;
            let spec = OccursSpec::Direction {
                dir,
                anchor: Box::new(anchor.expr),
            };
            return Ok((spec, height));
        }
        if self.eat_keyword("between").is_some() {
            let from = self.time()?;
            if self.eat_keyword("and").is_none() {
                return Err(self.unexpected("`and` after the start of `between`"));
            }
            let to = self.time()?;
            let height = from.height.max(to.height);
            let spec = OccursSpec::Between {
                from: Box::new(from.expr),
                to: Box::new(to.expr),
            };
            return Ok((spec, height));
        }
        self.eat_keyword("on");
        let at = self.time()?;
        Ok((OccursSpec::On(Box::new(at.expr)), at.height))
    }

    /// `CMP INT UNIT DIRECTION time` after the `CMP`.
    fn distance(&mut self, cmp: CmpOp) -> Result<(OccursSpec, usize)> {
        let amount = match self.peek().kind {
            TokenKind::Int(n) => i64::try_from(n).ok(),
            _ => None,
        };
        let Some(amount) = amount else {
            return Err(self
                .unexpected(&format!("a whole number of time units after `{}`", cmp.text()))
                .with_hint("write for example `occurs < 8 days before now`"));
        };
        self.advance();
        let Some(unit) = self.unit_at(0) else {
            let mut err = self.unexpected("a time unit (`days`, `hours`, `weeks`, ...)");
            if let TokenKind::Word(w) = &self.peek().kind {
                let units = UNIT_WORDS.iter().copied();
                if let Some(near) = nearest(w, units) {
                    err = err.with_hint(format!("did you mean `{near}`?"));
                }
            }
            return Err(err);
        };
        self.advance();
        let Some(dir) = self.direction() else {
            return Err(self.unexpected("`before`, `after` or `from`"));
        };
        self.advance();
        let anchor = self.time()?;
        let height = anchor.height;
        let spec = OccursSpec::Distance {
            cmp,
            amount,
            unit,
            dir,
            anchor: Box::new(anchor.expr),
        };
        Ok((spec, height))
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
        let start = self.advance().span;
        let open = self.advance().span;
        self.nested(|p| {
            let events = p.expr()?;
            p.expect(&TokenKind::Comma, "`,` after the events of `chain`")?;
            let ts_field = p.ts_path()?;
            p.expect(&TokenKind::Comma, "`,` after the timestamp field of `chain`")?;
            let list_open = p.expect(&TokenKind::LBracket, "`[` to open the chain's steps")?;
            let mut steps = Vec::new();
            let mut height = events.height;
            loop {
                let (step, h) = p.chain_step()?;
                steps.push(step);
                height = height.max(h);
                if p.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            if !p.at(&TokenKind::RBracket) {
                return Err(p.unclosed(&TokenKind::RBracket, list_open, "the chain's steps", true));
            }
            p.advance();
            let close = p.expect_closing(&TokenKind::RParen, open, "`chain(`")?;
            let kind = ExprKind::Chain {
                events: Box::new(events.expr),
                ts_field,
                steps,
            };
            p.node(kind, start.to(close), height)
        })
    }

    /// `NAME { "." NAME }`: the timestamp field of a chain.
    fn ts_path(&mut self) -> Result<String> {
        let mut path = String::new();
        loop {
            let TokenKind::Word(name) = self.peek().kind.clone() else {
                return Err(self.unexpected("the name of the timestamp field (`timestamp`)"));
            };
            self.advance();
            path.push_str(&name);
            if self.eat(&TokenKind::Dot).is_none() {
                return Ok(path);
            }
            path.push('.');
        }
    }

    /// ```text
    /// step   = [ NAME ":" ] clause { clause } ;
    /// clause = "WHAT" "(" expr ")" | "WHEN" "(" occurs_spec ")"
    ///        | "COUNT" "(" INT ")" | "WHERE" "(" expr ")" ;
    /// ```
    fn chain_step(&mut self) -> Result<(ChainStep, usize)> {
        let start = self.peek().span;
        let label = match self.peek().kind.clone() {
            TokenKind::Word(w) if self.peek_at(1).kind == TokenKind::Colon => {
                self.advance();
                self.advance();
                Some(w)
            }
            _ => None,
        };
        let mut clauses = Clauses::default();
        let mut seen = [false; 4];
        let mut height = 0;
        while let Some(index) = self.clause_ahead() {
            let kw = self.advance();
            if seen[index] {
                return Err(PqlError::new(
                    format!("this chain step already has a {} clause", CLAUSES[index]),
                    kw.span,
                ));
            }
            seen[index] = true;
            height = height.max(self.chain_clause(index, &mut clauses)?);
        }
        if let TokenKind::Word(w) = &self.peek().kind
            && self.peek_at(1).kind == TokenKind::LParen
        {
            let err = PqlError::new(
                format!("unknown chain step clause `{w}`"),
                self.peek().span,
            );
            return Err(match nearest(w, CLAUSES) {
                Some(near) => err.with_hint(format!("did you mean {near}?")),
                None => err.with_hint("the clauses are WHAT(...), WHEN(...), COUNT(...) and WHERE(...)"),
            });
        }
        let Some(what) = clauses.what else {
            let err = self.unexpected(
                "a chain step clause: WHAT(...), WHEN(...), COUNT(...) or WHERE(...)",
            );
            return Err(err.with_hint("every chain step needs a WHAT(...) clause"));
        };
        let step = ChainStep {
            label,
            what,
            when: clauses.when,
            count: clauses.count,
            where_: clauses.where_,
            span: start.to(self.prev_span()),
        };
        Ok((step, height))
    }

    /// Which clause keyword (followed by `(`) is next, as an index into [`CLAUSES`].
    fn clause_ahead(&self) -> Option<usize> {
        if self.peek_at(1).kind != TokenKind::LParen {
            return None;
        }
        CLAUSES.iter().position(|c| self.at_keyword(c))
    }

    /// One clause's parenthesised body (the keyword has been consumed); returns its height.
    fn chain_clause(&mut self, index: usize, step: &mut Clauses) -> Result<usize> {
        let open = self.advance().span;
        let what = format!("`{}(`", CLAUSES[index]);
        let height = match index {
            1 => {
                let (spec, height) = self.nested(|p| p.occurs_spec())?;
                step.when = Some(spec);
                height
            }
            2 => {
                let count = match self.peek().kind {
                    TokenKind::Int(n) if n > 0 => i64::try_from(n).ok(),
                    _ => None,
                };
                let Some(count) = count else {
                    return Err(self.unexpected("a positive whole number in COUNT(...)"));
                };
                self.advance();
                step.count = Some(count);
                0
            }
            _ => {
                let e = self.nested(|p| p.expr())?;
                if index == 0 {
                    step.what = Some(e.expr);
                } else {
                    step.where_ = Some(e.expr);
                }
                e.height
            }
        };
        self.expect_closing(&TokenKind::RParen, open, &what)?;
        Ok(height)
    }
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
    what: Option<Expr>,
    when: Option<OccursSpec>,
    count: Option<i64>,
    where_: Option<Expr>,
}
