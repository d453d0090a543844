//! The PQL parser: pql/text to the syntax tree of [`crate::pql::ast`].
//!
//! A hand-written recursive-descent parser over the tokens of [`crate::pql::lexer`]. It commits
//! after every opener and keyword, so an error names what was expected and where the unclosed
//! bracket was opened ("expected `]` to close the list opened at 1:14") instead of backtracking
//! into nonsense; the only lookahead is the bounded one that decides whether a word is a keyword
//! here (`select X from`, `last month`, `chain(`) and whether `(` opens a lambda (`) =>`).
//!
//! Depth is bounded (D1.12): the tree may never be more than [`MAX_DEPTH`] levels deep, counting
//! every [`Expr`] level including left-associative operator chains and postfix chains. Each parse
//! function returns its node together with the node's height and refuses to build a node that
//! would exceed the limit; the recursion itself is bounded by counting nested primaries, so no
//! input can overflow the stack, however it is shaped.
//!
//! # Grammar
//!
//! As implemented (Part 2 §1.7 with the decisions of Part 1 D1 and D6). Keywords are
//! case-insensitive words, recognised only where the grammar expects them; after a `.` every word
//! is a name. `notIn` is spelled exactly so. `{ }` is repetition, `[ ]` option.
//!
//! ```text
//! query       = expr EOF ;
//! expr        = or_expr ;
//! or_expr     = and_expr { "or" and_expr } ;
//! and_expr    = not_expr { "and" not_expr } ;
//! not_expr    = ( "not" | "!" ) not_expr | cmp_expr ;                    (* D1.5 *)
//! cmp_expr    = add_expr [ CMP add_expr                                    (* non-associative *)
//!                        | ( "in" | "notIn" | "like" | "matches" ) add_expr
//!                        | "occurs" occurs_spec ] ;
//! add_expr    = mul_expr { ( "+" | "-" ) mul_expr } ;
//! mul_expr    = neg_expr { ( "*" | "/" | "%" ) neg_expr } ;
//! neg_expr    = "-" neg_expr | postfix ;          (* "-" NUMBER folds into a negative literal *)
//! postfix     = primary { "." NAME [ args ] | "[" expr "]" } ;     (* "[" INT "]" is refused *)
//! args        = "(" [ expr { "," expr } ] ")" ;
//! primary     = NUMBER | STRING | "true" | "false" | "$" INT
//!             | list | object | lambda | paren
//!             | let | binder | aggregate | chain
//!             | "^" { "^" } [ "." ] NAME                                   (* D1.10 *)
//!             | "xEvent" | "this" | ( "this" | "last" | "next" ) UNIT
//!             | "now" | "today" | "yesterday" | "tomorrow"
//!             | NAME args | NAME ;                          (* "null" is refused, D1.4 *)
//! list        = "[" [ expr { "," expr } ] "]" ;                             (* D6.10 *)
//! object      = "{" [ entry { "," entry } ] "}" ;
//! entry       = ( STRING | NAME ) ":" expr ;
//! lambda      = "(" [ NAME { "," NAME } ] ")" "=>" expr ;
//! paren       = "(" expr { "," expr } ")" ;       (* one: grouping; several: a list, D1.9 *)
//! let         = "let" binding { "," binding } "in" expr ;
//! binding     = NAME "=" expr ;                       (* the value has no top-level "in" *)
//! binder      = BINDER var_decl { "," var_decl } ;
//! BINDER      = "select" | "exists" | "forall" | "some" | "all" | "none" | "one" ;
//!                                              (* a keyword only before NAME "from" *)
//! aggregate   = AGG [ expr ] "over" var_decl { "," var_decl }
//!             | AGG NAME "from" expr [ ( "where" | ":" ) expr ] { "," var_decl } ;  (* D6.3 *)
//! AGG         = "sum" | "average" | "min" | "max" | "count" ;
//!                             (* a keyword only before something that starts an expression *)
//! var_decl    = NAME "from" or_expr [ ( "where" | ":" ) expr ] ;     (* greedy where, D1.6 *)
//!                                       (* "," continues the declarations only before NAME "from" *)
//! occurs_spec = CMP INT UNIT DIRECTION time
//!             | DIRECTION time
//!             | "between" time "and" time                                  (* D1.7 *)
//!             | [ "on" ] time ;
//! time        = add_expr ;
//! DIRECTION   = "before" | "after" | "from" ;
//! CMP         = "=" | "!=" | "<" | "<=" | ">" | ">=" ;
//! UNIT        = "millisecond" | "milliseconds" | "second" | ... | "millennium" | "millennia" ;
//! chain       = "chain" "(" expr "," NAME { "." NAME } "," "[" step { "," step } "]" ")" ;
//! step        = [ NAME ":" ] clause { clause } ;        (* WHAT required; each clause once *)
//! clause      = "WHAT" "(" expr ")" | "WHEN" "(" occurs_spec ")"
//!             | "COUNT" "(" INT ")" | "WHERE" "(" expr ")" ;          (* COUNT positive *)
//! ```
//!
//! `let`, lambdas, binders and aggregates are primaries whose last part (`where` condition,
//! body) extends as far right as possible, so they sit at the lowest precedence (§1.6): in
//! `a and select X from e where b and c`, the `select` owns `b and c`.

mod binders;
mod occurs;
mod primary;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;

use crate::pql::ast::{BinaryOp, Expr, ExprKind, Span, UnaryOp};
use crate::pql::error::PqlError;
use crate::pql::lexer::{Token, TokenKind, tokenize};

/// The deepest tree the parser builds (D1.12); deeper input is an error.
pub const MAX_DEPTH: usize = 200;

/// Binding strengths, as in [`BinaryOp::precedence`]: `not` sits between `and` and the
/// comparisons.
const NOT_PREC: u8 = 3;
const CMP_PREC: u8 = 4;
const ADD_PREC: u8 = 5;

type Result<T> = std::result::Result<T, PqlError>;

/// Parses one PQL expression (pql/text).
pub fn parse(src: &str) -> Result<Expr> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
        nesting: 0,
        no_in: false,
    };
    let node = parser.expr()?;
    parser.expect_end()?;
    Ok(node.expr)
}

/// A parsed expression and the height of its tree (a leaf is 1).
struct Node {
    expr: Expr,
    height: usize,
}

/// An infix operator as seen in the token stream.
#[derive(Clone, Copy)]
enum Infix {
    Op(BinaryOp),
    Occurs,
}

struct Parser<'s> {
    src: &'s str,
    /// Never empty: the lexer always ends with `Eof`.
    tokens: Vec<Token>,
    pos: usize,
    /// How many primaries are being parsed inside one another; bounds the recursion.
    nesting: usize,
    /// Set while parsing a `let` binding's value, whose `in` ends the value rather than being
    /// the `in` operator; cleared inside brackets.
    no_in: bool,
}

impl Parser<'_> {
    /// `expr = or_expr ;`
    fn expr(&mut self) -> Result<Node> {
        self.binary(1)
    }

    /// ```text
    /// or_expr  = and_expr { "or" and_expr } ;
    /// and_expr = not_expr { "and" not_expr } ;
    /// cmp_expr = add_expr [ (CMP | "in" | "notIn" | "like" | "matches") add_expr
    ///                     | "occurs" occurs_spec ] ;
    /// add_expr = mul_expr { ( "+" | "-" ) mul_expr } ;
    /// mul_expr = neg_expr { ( "*" | "/" | "%" ) neg_expr } ;
    /// ```
    /// by precedence climbing: parses the operators binding at least as tightly as `min_prec`.
    fn binary(&mut self, min_prec: u8) -> Result<Node> {
        let mut lhs = self.prefix(min_prec)?;
        while let Some((infix, prec)) = self.peek_infix() {
            if prec < min_prec {
                break;
            }
            self.advance();
            lhs = match infix {
                Infix::Occurs => self.occurs(lhs)?,
                Infix::Op(op) => {
                    let rhs = self.binary(prec + 1)?;
                    let span = lhs.expr.span.to(rhs.expr.span);
                    let below = lhs.height.max(rhs.height);
                    let kind = ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs.expr),
                        rhs: Box::new(rhs.expr),
                    };
                    self.node(kind, span, below)?
                }
            };
            if prec == CMP_PREC && matches!(self.peek_infix(), Some((_, CMP_PREC))) {
                return Err(self.chained_comparison());
            }
        }
        Ok(lhs)
    }

    fn peek_infix(&self) -> Option<(Infix, u8)> {
        let op = match &self.peek().kind {
            TokenKind::Eq => BinaryOp::Eq,
            TokenKind::Ne => BinaryOp::Ne,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Le => BinaryOp::Le,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Ge => BinaryOp::Ge,
            TokenKind::Plus => BinaryOp::Add,
            TokenKind::Minus => BinaryOp::Sub,
            TokenKind::Star => BinaryOp::Mul,
            TokenKind::Slash => BinaryOp::Div,
            TokenKind::Percent => BinaryOp::Mod,
            TokenKind::Word(w) if w == "notIn" => BinaryOp::NotIn,
            TokenKind::Word(w) => match w.to_ascii_lowercase().as_str() {
                "or" => BinaryOp::Or,
                "and" => BinaryOp::And,
                "in" if !self.no_in => BinaryOp::In,
                "like" => BinaryOp::Like,
                "matches" => BinaryOp::Matches,
                "occurs" => return Some((Infix::Occurs, CMP_PREC)),
                _ => return None,
            },
            _ => return None,
        };
        Some((Infix::Op(op), op.precedence()))
    }

    fn chained_comparison(&self) -> PqlError {
        let tok = self.peek();
        PqlError::new(
            format!(
                "comparisons cannot be chained: unexpected {} after a comparison",
                self.describe(tok)
            ),
            tok.span,
        )
        .with_hint("join the comparisons with `and`, or use parentheses")
    }

    /// `not_expr = ( "not" | "!" ) not_expr | cmp_expr ;` and `neg_expr = "-" neg_expr | postfix ;`
    /// (`not` only where the precedence allows it: `a = not b` is refused).
    fn prefix(&mut self, min_prec: u8) -> Result<Node> {
        if self.at_not() {
            if min_prec > NOT_PREC {
                let tok = self.peek();
                return Err(PqlError::new(
                    format!("unexpected {}, expected an expression", self.describe(tok)),
                    tok.span,
                )
                .with_hint("`not` binds more loosely than comparisons and arithmetic; put the negated part in parentheses"));
            }
            return self.negated();
        }
        if self.at(&TokenKind::Minus) {
            return self.minus();
        }
        self.postfix()
    }

    fn at_not(&self) -> bool {
        self.at(&TokenKind::Bang) || self.at_keyword("not")
    }

    /// `not_expr = ( "not" | "!" ) not_expr | cmp_expr ;` (loops rather than recursing).
    fn negated(&mut self) -> Result<Node> {
        let mut ops = Vec::new();
        while self.at_not() {
            let span = self.advance().span;
            if ops.len() >= MAX_DEPTH {
                return Err(too_deep(span));
            }
            ops.push(span);
        }
        let mut node = self.binary(CMP_PREC)?;
        for op in ops.into_iter().rev() {
            let span = op.to(node.expr.span);
            let kind = ExprKind::Unary {
                op: UnaryOp::Not,
                expr: Box::new(node.expr),
            };
            node = self.node(kind, span, node.height)?;
        }
        Ok(node)
    }

    /// `neg_expr = "-" neg_expr | postfix ;` where a `-` directly before a number literal (not
    /// followed by `.` or `[`) folds into a negative literal (D1.3), down to `i64::MIN`.
    fn minus(&mut self) -> Result<Node> {
        let mut ops = Vec::new();
        while self.at(&TokenKind::Minus) {
            let span = self.advance().span;
            if ops.len() >= MAX_DEPTH {
                return Err(too_deep(span));
            }
            ops.push(span);
        }
        let bare_number = matches!(self.peek().kind, TokenKind::Int(_) | TokenKind::Float(_))
            && !matches!(
                self.peek_at(1).kind,
                TokenKind::Dot | TokenKind::LBracket
            );
        let mut node = match ops.pop() {
            Some(sign) if bare_number => self.number(Some(sign))?,
            Some(sign) => {
                ops.push(sign);
                self.postfix()?
            }
            None => self.postfix()?,
        };
        for op in ops.into_iter().rev() {
            let span = op.to(node.expr.span);
            let kind = ExprKind::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(node.expr),
            };
            node = self.node(kind, span, node.height)?;
        }
        Ok(node)
    }

    /// `postfix = primary { "." NAME [ args ] | "[" expr "]" } ;`
    fn postfix(&mut self) -> Result<Node> {
        let mut node = self.primary()?;
        loop {
            node = match self.peek().kind {
                TokenKind::Dot => self.member(node)?,
                TokenKind::LBracket => self.filter(node)?,
                _ => return Ok(node),
            };
        }
    }

    /// `"." NAME [ args ]`: any word is a name here, keywords included (`a.count()`, `x.in`).
    fn member(&mut self, target: Node) -> Result<Node> {
        self.advance();
        let TokenKind::Word(name) = self.peek().kind.clone() else {
            return Err(self.unexpected("a field or method name after `.`"));
        };
        let name_span = self.advance().span;
        if !self.at(&TokenKind::LParen) {
            let span = target.expr.span.to(name_span);
            let kind = ExprKind::Field {
                target: Box::new(target.expr),
                name,
            };
            return self.node(kind, span, target.height);
        }
        let (args, args_height, close) = self.args()?;
        let span = target.expr.span.to(close);
        let below = target.height.max(args_height);
        let kind = ExprKind::Method {
            target: Box::new(target.expr),
            name,
            args,
        };
        self.node(kind, span, below)
    }

    /// `"[" expr "]"`: a filter. A condition that is just an integer is refused (D1.4).
    fn filter(&mut self, target: Node) -> Result<Node> {
        let open = self.advance().span;
        let cond = self.nested(|p| p.expr())?;
        if let ExprKind::Literal(crate::pql::ast::Literal::Int(_)) = cond.expr.kind {
            return Err(PqlError::new(
                "PQL has no numeric indexing: `[...]` after an expression is a filter",
                cond.expr.span,
            )
            .with_hint("use .head() for the first item"));
        }
        let close = self.expect_closing(&TokenKind::RBracket, open, "the filter")?;
        let span = target.expr.span.to(close);
        let below = target.height.max(cond.height);
        let kind = ExprKind::Filter {
            target: Box::new(target.expr),
            cond: Box::new(cond.expr),
        };
        self.node(kind, span, below)
    }

    /// `args = "(" [ expr { "," expr } ] ")" ;` -> the arguments, their greatest height and the
    /// closing parenthesis.
    fn args(&mut self) -> Result<(Vec<Expr>, usize, Span)> {
        let open = self.advance().span;
        let (items, close) = self.comma_list(open, &TokenKind::RParen, "the argument list")?;
        let (args, height) = unzip(items);
        Ok((args, height, close))
    }

    /// `[ expr { "," expr } ] CLOSE` after an opener: the items and the closing token's span.
    fn comma_list(
        &mut self,
        open: Span,
        close: &TokenKind,
        what: &str,
    ) -> Result<(Vec<Node>, Span)> {
        self.nested(|p| {
            let mut items = Vec::new();
            if let Some(end) = p.eat(close) {
                return Ok((items, end));
            }
            loop {
                items.push(p.expr()?);
                if p.eat(&TokenKind::Comma).is_some() {
                    continue;
                }
                if let Some(end) = p.eat(close) {
                    return Ok((items, end));
                }
                return Err(p.unclosed(close, open, what, true));
            }
        })
    }

    /// Runs `f` inside brackets, where `in` is the operator again.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = std::mem::replace(&mut self.no_in, false);
        let result = f(self);
        self.no_in = saved;
        result
    }

    /// Builds a node over children whose greatest height is `below`, refusing to exceed
    /// [`MAX_DEPTH`].
    fn node(&self, kind: ExprKind, span: Span, below: usize) -> Result<Node> {
        let height = below + 1;
        if height > MAX_DEPTH {
            return Err(too_deep(self.prev_span()));
        }
        Ok(Node {
            expr: Expr::new(kind, span),
            height,
        })
    }

    // ----- tokens -----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn advance(&mut self) -> Token {
        let tok = self.peek().clone();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn prev_span(&self) -> Span {
        match self.pos.checked_sub(1) {
            Some(i) => self.tokens[i].span,
            None => self.peek().span,
        }
    }

    fn at(&self, kind: &TokenKind) -> bool {
        &self.peek().kind == kind
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_keyword(kw)
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        self.at(kind).then(|| self.advance().span)
    }

    fn eat_keyword(&mut self, kw: &str) -> Option<Span> {
        self.at_keyword(kw).then(|| self.advance().span)
    }

    fn expect(&mut self, kind: &TokenKind, expected: &str) -> Result<Span> {
        self.eat(kind).ok_or_else(|| self.unexpected(expected))
    }

    /// Expects the `close` that ends `what`, opened at `open`.
    fn expect_closing(&mut self, close: &TokenKind, open: Span, what: &str) -> Result<Span> {
        self.eat(close)
            .ok_or_else(|| self.unclosed(close, open, what, false))
    }

    /// "expected `]` to close the list opened at 1:14, found ..."
    fn unclosed(&self, close: &TokenKind, open: Span, what: &str, comma_ok: bool) -> PqlError {
        let tok = self.peek();
        let close_text = close.punct_text().unwrap_or("?");
        let expected = if comma_ok && tok.kind != TokenKind::Eof {
            format!("`,` or `{close_text}`")
        } else {
            format!("`{close_text}`")
        };
        PqlError::new(
            format!(
                "expected {expected} to close {what} opened at {}, found {}",
                self.position(open),
                self.describe(tok)
            ),
            tok.span,
        )
    }

    /// `line:col` of a span, for messages that point at a second place.
    fn position(&self, span: Span) -> String {
        let (line, col) = span.line_col(self.src);
        format!("{line}:{col}")
    }

    /// How a token is named in messages: its source text, or "end of input".
    fn describe(&self, tok: &Token) -> String {
        if tok.kind == TokenKind::Eof {
            return "end of input".to_string();
        }
        let text = self
            .src
            .get(tok.span.start as usize..tok.span.end as usize)
            .unwrap_or("?");
        if text.chars().count() > 40 {
            let short: String = text.chars().take(37).collect();
            format!("`{short}...`")
        } else {
            format!("`{text}`")
        }
    }

    fn unexpected(&self, expected: &str) -> PqlError {
        let tok = self.peek();
        PqlError::new(
            format!("unexpected {}, expected {expected}", self.describe(tok)),
            tok.span,
        )
    }

    /// The whole input must be one expression.
    fn expect_end(&self) -> Result<()> {
        let tok = self.peek();
        let hint = match &tok.kind {
            TokenKind::Eof => return Ok(()),
            TokenKind::RParen => "this `)` has no matching `(`",
            TokenKind::RBracket => "this `]` has no matching `[`",
            TokenKind::RBrace => "this `}` has no matching `{`",
            TokenKind::Comma => {
                "commas separate list items, arguments and binder declarations (`, Y from ...`)"
            }
            TokenKind::Arrow => "a lambda's parameters are written in parentheses: `(x) => ...`",
            TokenKind::Word(w) if w.eq_ignore_ascii_case("notin") => {
                "the operator is spelled `notIn`"
            }
            _ => "join conditions with `and` or `or`",
        };
        Err(PqlError::new(
            format!(
                "unexpected {} after the end of the expression",
                self.describe(tok)
            ),
            tok.span,
        )
        .with_hint(hint))
    }
}

/// Splits nodes into expressions and their greatest height.
fn unzip(nodes: Vec<Node>) -> (Vec<Expr>, usize) {
    let height = nodes.iter().map(|n| n.height).max().unwrap_or(0);
    (nodes.into_iter().map(|n| n.expr).collect(), height)
}

fn too_deep(span: Span) -> PqlError {
    PqlError::new(
        format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
        span,
    )
    .with_hint(
        "split long `and`/`or` chains with parentheses, use `in [...]` instead of many `or`ed \
         comparisons, or nest less",
    )
}
