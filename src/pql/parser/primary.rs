//! Primaries: literals, lists, objects, parentheses and lambdas, names and calls, and the words
//! that are keywords only in some positions (`this month`, `last week`, `select X from`).

use super::{MAX_DEPTH, Node, Parser, Result, too_deep, unzip};
use crate::pql::ast::{
    AggregateFn, BinderKind, ExprKind, Literal, Relative, Span, TimeUnit, TimeWord,
};
use crate::pql::error::PqlError;
use crate::pql::lexer::TokenKind;

impl Parser<'_> {
    /// `primary = NUMBER | STRING | "$" INT | list | object | lambda | paren | "^"... | word ;`
    ///
    /// Every level of nesting passes through here, so this is where recursion is bounded.
    pub(super) fn primary(&mut self) -> Result<Node> {
        self.nesting += 1;
        let result = if self.nesting > MAX_DEPTH {
            Err(too_deep(self.peek().span))
        } else {
            self.primary_inner()
        };
        self.nesting -= 1;
        result
    }

    fn primary_inner(&mut self) -> Result<Node> {
        let tok = self.peek().clone();
        match tok.kind {
            TokenKind::Int(_) | TokenKind::Float(_) => self.number(None),
            TokenKind::Str(s) => {
                self.advance();
                Ok(leaf(ExprKind::Literal(Literal::Str(s)), tok.span))
            }
            TokenKind::Param(n) => {
                self.advance();
                Ok(leaf(ExprKind::Param(n), tok.span))
            }
            TokenKind::LBracket => self.list(),
            TokenKind::LBrace => self.object(),
            TokenKind::LParen if self.lambda_ahead() => self.lambda(),
            TokenKind::LParen => self.parenthesised(),
            TokenKind::Caret => self.up(),
            TokenKind::Word(word) => self.word(word, tok.span),
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// A number literal, negated when `minus` is the span of a `-` folded into it.
    pub(super) fn number(&mut self, minus: Option<Span>) -> Result<Node> {
        let tok = self.advance();
        let span = minus.map_or(tok.span, |m| m.to(tok.span));
        let literal = match tok.kind {
            TokenKind::Float(v) => Literal::Float(if minus.is_some() { -v } else { v }),
            TokenKind::Int(v) => {
                let value = if minus.is_some() {
                    0i64.checked_sub_unsigned(v)
                } else {
                    i64::try_from(v).ok()
                };
                let Some(value) = value else {
                    return Err(PqlError::new("integer is too large", span).with_hint(
                        "integers must lie between -9223372036854775808 and \
                         9223372036854775807; write a decimal such as 1E19 for larger numbers",
                    ));
                };
                Literal::Int(value)
            }
            _ => return Err(PqlError::new("expected a number", tok.span)),
        };
        Ok(leaf(ExprKind::Literal(literal), span))
    }

    /// `list = "[" [ expr { "," expr } ] "]" ;`
    fn list(&mut self) -> Result<Node> {
        let open = self.advance().span;
        let (items, close) = self.comma_list(open, &TokenKind::RBracket, "the list")?;
        let (items, height) = unzip(items);
        self.node(ExprKind::List(items), open.to(close), height)
    }

    /// `object = "{" [ entry { "," entry } ] "}" ;  entry = ( STRING | NAME ) ":" expr ;`
    fn object(&mut self) -> Result<Node> {
        let open = self.advance().span;
        self.nested(|p| {
            let mut fields: Vec<(String, crate::pql::ast::Expr)> = Vec::new();
            let mut height = 0;
            if let Some(close) = p.eat(&TokenKind::RBrace) {
                return p.node(ExprKind::Object(fields), open.to(close), height);
            }
            loop {
                let key_tok = p.peek().clone();
                let key = match key_tok.kind {
                    TokenKind::Str(s) | TokenKind::Word(s) => s,
                    _ => return Err(p.unexpected("a key (a string or a name)")),
                };
                if fields.iter().any(|(k, _)| *k == key) {
                    return Err(PqlError::new(
                        format!("duplicate key \"{key}\" in this object"),
                        key_tok.span,
                    ));
                }
                p.advance();
                p.expect(&TokenKind::Colon, "`:` after the key")?;
                let value = p.expr()?;
                height = height.max(value.height);
                fields.push((key, value.expr));
                if p.eat(&TokenKind::Comma).is_some() {
                    continue;
                }
                if let Some(close) = p.eat(&TokenKind::RBrace) {
                    return p.node(ExprKind::Object(fields), open.to(close), height);
                }
                return Err(p.unclosed(&TokenKind::RBrace, open, "the object", true));
            }
        })
    }

    /// Whether the `(` here opens a lambda: `(` [ NAME { "," NAME } ] `)` `=>`.
    fn lambda_ahead(&self) -> bool {
        let mut i = 1;
        if self.peek_at(i).kind == TokenKind::RParen {
            return self.peek_at(i + 1).kind == TokenKind::Arrow;
        }
        loop {
            if !matches!(self.peek_at(i).kind, TokenKind::Word(_)) {
                return false;
            }
            match self.peek_at(i + 1).kind {
                TokenKind::Comma => i += 2,
                TokenKind::RParen => return self.peek_at(i + 2).kind == TokenKind::Arrow,
                _ => return false,
            }
        }
    }

    /// `lambda = "(" [ NAME { "," NAME } ] ")" "=>" expr ;`
    fn lambda(&mut self) -> Result<Node> {
        let open = self.advance().span;
        let mut params: Vec<String> = Vec::new();
        while let TokenKind::Word(name) = self.peek().kind.clone() {
            let tok = self.advance();
            if params.contains(&name) {
                return Err(PqlError::new(
                    format!("lambda parameter `{name}` is declared twice"),
                    tok.span,
                ));
            }
            params.push(name);
            self.eat(&TokenKind::Comma);
        }
        self.expect(&TokenKind::RParen, "`)` after the lambda's parameters")?;
        self.expect(&TokenKind::Arrow, "`=>`")?;
        let body = self.expr()?;
        let span = open.to(body.expr.span);
        let height = body.height;
        let kind = ExprKind::Lambda {
            params,
            body: Box::new(body.expr),
        };
        self.node(kind, span, height)
    }

    /// `paren = "(" expr { "," expr } ")" ;`: one expression is grouping (its span widened to
    /// the parentheses), several are a list (D1.9).
    fn parenthesised(&mut self) -> Result<Node> {
        let open = self.advance().span;
        if self.at(&TokenKind::RParen) {
            return Err(self.unexpected("an expression inside the parentheses"));
        }
        let (mut items, close) = self.comma_list(open, &TokenKind::RParen, "the `(`")?;
        if items.len() == 1
            && let Some(mut inner) = items.pop()
        {
            inner.expr.span = open.to(close);
            return Ok(inner);
        }
        let (items, height) = unzip(items);
        self.node(ExprKind::List(items), open.to(close), height)
    }

    /// `"^" { "^" } [ "." ] NAME` (D1.10): each `^` climbs one filter level.
    fn up(&mut self) -> Result<Node> {
        let start = self.peek().span;
        let mut levels: u32 = 0;
        while self.eat(&TokenKind::Caret).is_some() {
            levels = levels.saturating_add(1);
        }
        self.eat(&TokenKind::Dot);
        let TokenKind::Word(name) = self.peek().kind.clone() else {
            return Err(self
                .unexpected("a field name after `^`")
                .with_hint("write `^name` or `^.name`; each `^` climbs one filter level"));
        };
        let end = self.advance().span;
        Ok(leaf(ExprKind::Up { levels, name }, start.to(end)))
    }

    /// A primary that starts with a word: a keyword form, a call, or a plain name.
    fn word(&mut self, word: String, span: Span) -> Result<Node> {
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "true" | "false" => {
                self.advance();
                return Ok(leaf(ExprKind::Literal(Literal::Bool(lower == "true")), span));
            }
            "null" => {
                return Err(PqlError::new("PQL has no `null` literal", span)
                    .with_hint("use .isNull() / .isNotNull() to test for a missing value"));
            }
            "and" | "or" | "in" | "like" | "matches" | "occurs" | "not" => {
                return Err(self.unexpected("an expression"));
            }
            _ if word == "notIn" => return Err(self.unexpected("an expression")),
            _ => {}
        }
        if let Some(node) = self.time_word(&lower, span) {
            return Ok(node);
        }
        if word == "xEvent" {
            self.advance();
            return Ok(leaf(ExprKind::XEvent, span));
        }
        if let Some(kind) = binder_kind(&lower)
            && self.decl_ahead(1)
        {
            return self.binder(kind);
        }
        if let Some(func) = aggregate_fn(&lower)
            && self.aggregate_ahead()
        {
            return self.aggregate(func);
        }
        if lower == "let" && matches!(self.peek_at(1).kind, TokenKind::Word(_)) {
            return self.let_expr();
        }
        if lower == "chain" && self.peek_at(1).kind == TokenKind::LParen {
            return self.chain();
        }
        self.advance();
        if !self.at(&TokenKind::LParen) {
            return Ok(leaf(ExprKind::Name(word), span));
        }
        let (args, height, close) = self.args()?;
        self.node(ExprKind::Call { name: word, args }, span.to(close), height)
    }

    /// `now`, `today`, `yesterday`, `tomorrow`, `this`, and `this|last|next UNIT`; `None` when
    /// the word is none of these here (`last` alone is a plain name).
    fn time_word(&mut self, lower: &str, span: Span) -> Option<Node> {
        let word = match lower {
            "now" => Some(TimeWord::Now),
            "today" => Some(TimeWord::Today),
            "yesterday" => Some(TimeWord::Yesterday),
            "tomorrow" => Some(TimeWord::Tomorrow),
            _ => None,
        };
        if let Some(word) = word {
            self.advance();
            return Some(leaf(ExprKind::TimeWord(word), span));
        }
        let rel = match lower {
            "this" => Relative::This,
            "last" => Relative::Last,
            "next" => Relative::Next,
            _ => return None,
        };
        match self.unit_at(1) {
            Some(unit) => {
                self.advance();
                let end = self.advance().span;
                Some(leaf(ExprKind::RelPeriod { rel, unit }, span.to(end)))
            }
            None if rel == Relative::This => {
                self.advance();
                Some(leaf(ExprKind::This, span))
            }
            None => None,
        }
    }

    /// The time unit spelled by the word `ahead` tokens from here, if it is one.
    pub(super) fn unit_at(&self, ahead: usize) -> Option<TimeUnit> {
        match &self.peek_at(ahead).kind {
            TokenKind::Word(w) => TimeUnit::parse(w),
            _ => None,
        }
    }

    /// Whether `NAME from` starts `ahead` tokens from here (what makes a word a binder keyword).
    pub(super) fn decl_ahead(&self, ahead: usize) -> bool {
        matches!(self.peek_at(ahead).kind, TokenKind::Word(_))
            && self.peek_at(ahead + 1).is_keyword("from")
    }

    /// Whether the aggregate word here is followed by something that starts its value or `over`
    /// (otherwise it is a plain name: `count`, `count()`, `x.count`, `count = 1`).
    fn aggregate_ahead(&self) -> bool {
        match &self.peek_at(1).kind {
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
            _ => false,
        }
    }
}

fn leaf(kind: ExprKind, span: Span) -> Node {
    Node {
        expr: crate::pql::ast::Expr::new(kind, span),
        height: 1,
    }
}

fn binder_kind(lower: &str) -> Option<BinderKind> {
    let kind = match lower {
        "select" => BinderKind::Select,
        "exists" | "some" => BinderKind::Exists,
        "forall" | "all" => BinderKind::Forall,
        "none" => BinderKind::None,
        "one" => BinderKind::One,
        _ => return None,
    };
    Some(kind)
}

fn aggregate_fn(lower: &str) -> Option<AggregateFn> {
    let func = match lower {
        "sum" => AggregateFn::Sum,
        "average" => AggregateFn::Average,
        "min" => AggregateFn::Min,
        "max" => AggregateFn::Max,
        "count" => AggregateFn::Count,
        _ => return None,
    };
    Some(func)
}
