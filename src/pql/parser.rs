//! The PQL parser: pql/text to the syntax tree of [`crate::pql::ast`].
//!
//! A hand-written recursive-descent parser over the tokens of [`crate::pql::lexer`]. It commits
//! after every opener and keyword, so an error names what was expected and where the unclosed
//! bracket was opened ("expected `]` to close the list opened at 1:14") instead of backtracking
//! into nonsense; the only lookahead is the bounded one that decides whether a word is a keyword
//! here (`select X from`, `last month`, `chain(`) and whether `(` opens a lambda (`) =>`).
//!
//! Depth is bounded (D1.12): the tree may never be more than [`MAX_DEPTH`] levels deep, counting
//! every [`Expr`] level including left-associative operator chains and postfix chains (variable
//! declarations, `let` bindings and chain steps are not levels of their own). A flat `and`/`or`
//! chain is one n-ary node ([`ExprKind::Logical`]), so it is one level however long it is:
//! machine-generated definitions `or` together thousands of comparisons. Each parse function
//! returns its node together with the node's height and refuses to build a node that would
//! exceed the limit; the recursion itself is bounded by counting nested expressions in
//! `Parser::expr`, through which every unbounded recursion passes, and runs of prefix
//! operators are read by loops. So no input can overflow the stack, however it is shaped.
//!
//! Stack use per level is kept small on purpose (the tests parse the deepest inputs on a 1 MiB
//! thread in a debug build): nodes and errors travel boxed, and the functions on the recursion
//! path leave node assembly and message formatting to helpers, because in an unoptimised build
//! every temporary of a function occupies its frame for the whole call.
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
//! or_expr     = and_expr { "or" and_expr } ;          (* a chain: one n-ary node *)
//! and_expr    = not_expr { "and" not_expr } ;        (* a chain: one n-ary node *)
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
//!          (* a keyword only where its `over` follows at its bracket level: see `lookahead` *)
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
mod lookahead;
mod occurs;
mod primary;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;

use crate::pql::ast::{BinaryOp, Expr, ExprKind, LogicalOp, Span, UnaryOp};
use crate::pql::error::PqlError;
use crate::pql::lexer::{Token, TokenKind, tokenize};

/// The deepest tree the parser builds (D1.12); deeper input is an error.
pub const MAX_DEPTH: usize = 200;

/// Binding strengths, as in [`BinaryOp::precedence`] and [`LogicalOp::precedence`]: `not` sits
/// between `and` and the comparisons.
const NOT_PREC: u8 = 3;
const CMP_PREC: u8 = 4;
const ADD_PREC: u8 = 5;

/// Errors are boxed inside the parser: it keeps the `Result`s that live on the recursion path
/// small, which is what bounds the stack used per level of nesting.
type Result<T> = std::result::Result<T, Box<PqlError>>;

/// Parses one PQL expression (pql/text).
pub fn parse(src: &str) -> std::result::Result<Expr, PqlError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
        nesting: 0,
        no_in: false,
        pending_over: 0,
        over_index: None,
    };
    let node = parser.expr().map_err(|e| *e)?;
    parser.expect_end().map_err(|e| *e)?;
    Ok(*node.expr)
}

/// A parsed expression and the height of its tree (a leaf is 1). Boxed, because most nodes
/// end up boxed in their parent anyway and a small `Node` keeps the parser's frames small.
struct Node {
    expr: Box<Expr>,
    height: usize,
}

/// Parsed arguments: the expressions, their greatest height and the closing `)`.
type Args = (Vec<Expr>, usize, Span);

/// An infix operator as seen in the token stream.
#[derive(Clone, Copy)]
enum Infix {
    Op(BinaryOp),
    Logical(LogicalOp),
    Occurs,
}

struct Parser<'s> {
    src: &'s str,
    /// Never empty: the lexer always ends with `Eof`.
    tokens: Vec<Token>,
    pos: usize,
    /// How many expressions are being parsed inside one another; bounds the recursion.
    nesting: usize,
    /// Set while parsing a `let` binding's value, whose `in` ends the value rather than being
    /// the `in` operator; cleared inside brackets.
    no_in: bool,
    /// How many aggregates (`sum ... over`) are reading their value at this bracket level, each
    /// waiting for its `over`; cleared inside brackets. See [`lookahead`].
    pending_over: usize,
    /// Built on first need by [`lookahead`].
    over_index: Option<lookahead::OverIndex>,
}

impl Parser<'_> {
    /// `expr = or_expr ;`
    ///
    /// Every unbounded recursion of the parser passes through here (brackets, arguments,
    /// filters, bodies and conditions), so this is where the recursion is bounded.
    fn expr(&mut self) -> Result<Node> {
        if self.nesting >= MAX_DEPTH {
            return Err(too_deep(self.peek().span).into());
        }
        self.nesting += 1;
        let result = self.binary(1);
        self.nesting -= 1;
        result
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
            lhs = match infix {
                Infix::Logical(op) => self.logical(op, lhs)?,
                Infix::Occurs => {
                    self.bump();
                    self.occurs(lhs)?
                }
                Infix::Op(op) => {
                    self.bump();
                    let rhs = self.binary(prec + 1)?;
                    self.binary_node(op, lhs, rhs)?
                }
            };
            if prec == CMP_PREC && matches!(self.peek_infix(), Some((_, CMP_PREC))) {
                return Err(self.chained_comparison().into());
            }
        }
        Ok(lhs)
    }

    fn binary_node(&self, op: BinaryOp, lhs: Node, rhs: Node) -> Result<Node> {
        let span = lhs.expr.span.to(rhs.expr.span);
        let below = lhs.height.max(rhs.height);
        let kind = ExprKind::Binary {
            op,
            lhs: lhs.expr,
            rhs: rhs.expr,
        };
        self.node(kind, span, below)
    }

    /// The rest of a flat `and`/`or` chain whose first term is `first` (the operator is the
    /// current token): every further term joined by the same operator goes into one n-ary node,
    /// read by a loop, so the chain adds one level of depth and one of recursion whatever its
    /// length. Terms bind more tightly than `op` (an `or` chain's terms may be `and` chains).
    fn logical(&mut self, op: LogicalOp, first: Node) -> Result<Node> {
        let prec = op.precedence();
        let mut terms = vec![first];
        while matches!(self.peek_infix(), Some((Infix::Logical(o), _)) if o == op) {
            self.bump();
            terms.push(self.binary(prec + 1)?);
        }
        self.logical_node(op, terms)
    }

    fn logical_node(&self, op: LogicalOp, terms: Vec<Node>) -> Result<Node> {
        let span = match (terms.first(), terms.last()) {
            (Some(first), Some(last)) => first.expr.span.to(last.expr.span),
            _ => self.prev_span(),
        };
        let (terms, below) = unzip(terms);
        self.node(ExprKind::Logical { op, terms }, span, below)
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
            TokenKind::Word(w) => {
                let is = |kw: &str| w.eq_ignore_ascii_case(kw);
                if is("or") {
                    return Some((Infix::Logical(LogicalOp::Or), LogicalOp::Or.precedence()));
                } else if is("and") {
                    return Some((Infix::Logical(LogicalOp::And), LogicalOp::And.precedence()));
                } else if is("in") && !self.no_in {
                    BinaryOp::In
                } else if is("like") {
                    BinaryOp::Like
                } else if is("matches") {
                    BinaryOp::Matches
                } else if is("occurs") {
                    return Some((Infix::Occurs, CMP_PREC));
                } else {
                    return None;
                }
            }
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
                return Err(self.misplaced_not());
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

    fn at_minus(&self) -> bool {
        self.at(&TokenKind::Minus)
    }

    #[cold]
    fn misplaced_not(&self) -> Box<PqlError> {
        let err = self.unexpected("an expression").with_hint(
            "`not` binds more loosely than comparisons and arithmetic; \
             put the negated part in parentheses",
        );
        Box::new(err)
    }

    /// `not_expr = ( "not" | "!" ) not_expr | cmp_expr ;` (loops rather than recursing).
    fn negated(&mut self) -> Result<Node> {
        let ops = self.prefix_ops(Self::at_not)?;
        let node = self.binary(CMP_PREC)?;
        self.wrap_unary(UnaryOp::Not, ops, node)
    }

    /// `neg_expr = "-" neg_expr | postfix ;` where a `-` directly before a number literal (not
    /// followed by `.` or `[`) folds into a negative literal (D1.3), down to `i64::MIN`.
    fn minus(&mut self) -> Result<Node> {
        let mut ops = self.prefix_ops(Self::at_minus)?;
        let bare_number = matches!(self.peek().kind, TokenKind::Int(_) | TokenKind::Float(_))
            && !matches!(self.peek_at(1).kind, TokenKind::Dot | TokenKind::LBracket);
        let node = match ops.pop() {
            Some(sign) if bare_number => self.number(Some(sign))?,
            Some(sign) => {
                ops.push(sign);
                self.postfix()?
            }
            None => self.postfix()?,
        };
        self.wrap_unary(UnaryOp::Neg, ops, node)
    }

    /// The spans of a run of prefix operators, refusing more than could ever fit the tree.
    fn prefix_ops(&mut self, is_op: fn(&Self) -> bool) -> Result<Vec<Span>> {
        let mut ops = Vec::new();
        while is_op(self) {
            let span = self.bump();
            if ops.len() >= MAX_DEPTH {
                return Err(too_deep(span).into());
            }
            ops.push(span);
        }
        Ok(ops)
    }

    /// Applies the prefix operators at `ops` (outermost first) to `node`.
    fn wrap_unary(&self, op: UnaryOp, ops: Vec<Span>, mut node: Node) -> Result<Node> {
        for at in ops.into_iter().rev() {
            let span = at.to(node.expr.span);
            let kind = ExprKind::Unary {
                op,
                expr: node.expr,
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
        self.bump();
        let TokenKind::Word(name) = &self.peek().kind else {
            return Err(self.unexpected("a field or method name after `.`").into());
        };
        let name = name.clone();
        let name_span = self.bump();
        if !self.at(&TokenKind::LParen) {
            let span = target.expr.span.to(name_span);
            let kind = ExprKind::Field {
                target: target.expr,
                name,
            };
            return self.node(kind, span, target.height);
        }
        let args = self.args()?;
        method_node(self, target, name, args)
    }

    /// `"[" expr "]"`: a filter. A condition that is just an integer is refused (D1.4).
    fn filter(&mut self, target: Node) -> Result<Node> {
        let open = self.bump();
        let cond = self.nested(|p| p.expr())?;
        if let ExprKind::Literal(crate::pql::ast::Literal::Int(_)) = cond.expr.kind {
            return Err(numeric_index(cond.expr.span));
        }
        let close = self.expect_closing(&TokenKind::RBracket, open, "the filter")?;
        let span = target.expr.span.to(close);
        let below = target.height.max(cond.height);
        let kind = ExprKind::Filter {
            target: target.expr,
            cond: cond.expr,
        };
        self.node(kind, span, below)
    }

    /// `args = "(" [ expr { "," expr } ] ")" ;` -> the arguments, their greatest height and the
    /// closing parenthesis.
    fn args(&mut self) -> Result<Args> {
        let open = self.bump();
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
                return Err(p.unclosed(close, open, what, true).into());
            }
        })
    }

    /// Runs `f` inside brackets, where `in` is the operator again and no aggregate of the
    /// enclosing level is waiting for its `over`.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = std::mem::replace(&mut self.no_in, false);
        let pending = std::mem::replace(&mut self.pending_over, 0);
        let result = f(self);
        self.no_in = saved;
        self.pending_over = pending;
        result
    }

    /// Builds a node over children whose greatest height is `below`, refusing to exceed
    /// [`MAX_DEPTH`].
    fn node(&self, kind: ExprKind, span: Span, below: usize) -> Result<Node> {
        let height = below + 1;
        if height > MAX_DEPTH {
            return Err(too_deep(self.prev_span()).into());
        }
        Ok(Node {
            expr: Box::new(Expr::new(kind, span)),
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

    /// Consumes the current token (never the final `Eof`) and returns its span.
    fn bump(&mut self) -> Span {
        let span = self.peek().span;
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        span
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
        self.at(kind).then(|| self.bump())
    }

    fn eat_keyword(&mut self, kw: &str) -> Option<Span> {
        self.at_keyword(kw).then(|| self.bump())
    }

    fn expect(&mut self, kind: &TokenKind, expected: &str) -> Result<Span> {
        self.eat(kind)
            .ok_or_else(|| self.unexpected(expected).into())
    }

    /// Expects the `close` that ends `what`, opened at `open`.
    fn expect_closing(&mut self, close: &TokenKind, open: Span, what: &str) -> Result<Span> {
        self.eat(close)
            .ok_or_else(|| self.unclosed(close, open, what, false).into())
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
        let first_line = text.lines().next().unwrap_or("");
        if first_line.len() < text.len() || text.chars().count() > 40 {
            let short: String = first_line.chars().take(37).collect();
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
            TokenKind::Word(w) if w.eq_ignore_ascii_case("not") => {
                "`not` goes before the whole condition, as in `not (x like \"a%\")`; \
                 `notIn` is the negated membership test"
            }
            TokenKind::Word(w) if w.eq_ignore_ascii_case("is") => {
                "test for a missing value with .isNull() / .isNotNull()"
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
        .with_hint(hint)
        .into())
    }
}

/// Splits nodes into expressions and their greatest height.
fn unzip(nodes: Vec<Node>) -> (Vec<Expr>, usize) {
    let height = nodes.iter().map(|n| n.height).max().unwrap_or(0);
    (nodes.into_iter().map(|n| *n.expr).collect(), height)
}

fn method_node(p: &Parser, target: Node, name: String, args: Args) -> Result<Node> {
    let (args, args_height, close) = args;
    let span = target.expr.span.to(close);
    let below = target.height.max(args_height);
    let kind = ExprKind::Method {
        target: target.expr,
        name,
        args,
    };
    p.node(kind, span, below)
}

#[cold]
fn numeric_index(span: Span) -> Box<PqlError> {
    let err = PqlError::new(
        "PQL has no numeric indexing: `[...]` after an expression is a filter",
        span,
    );
    Box::new(err.with_hint("use .head() for the first item"))
}

fn too_deep(span: Span) -> PqlError {
    PqlError::new(
        format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
        span,
    )
    .with_hint(
        "nest less: drop redundant parentheses, join conditions in one flat `and`/`or` chain \
         (a chain of any length is one level), or test many values with `in [...]`",
    )
}
