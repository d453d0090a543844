//! Primaries: literals, lists, objects, parentheses and lambdas, names and calls, and the words
//! that are keywords only in some positions (`this month`, `last week`, `select X from`).

use super::{Node, Parser, Result, unzip};
use crate::pql::ast::{
    AggregateFn, BinderKind, ExprKind, Literal, Relative, Span, TimeUnit, TimeWord,
};
use crate::pql::error::PqlError;
use crate::pql::lexer::TokenKind;

impl Parser<'_> {
    /// `primary = NUMBER | STRING | "$" INT | list | object | lambda | paren | "^"... | word ;`
    pub(super) fn primary(&mut self) -> Result<Node> {
        match &self.peek().kind {
            TokenKind::Int(_) | TokenKind::Float(_) => self.number(None),
            TokenKind::Str(_) | TokenKind::Param(_) => self.string_or_param(),
            TokenKind::LBracket => self.list(),
            TokenKind::LBrace => self.object(),
            TokenKind::LParen if self.lambda_ahead() => self.lambda(),
            TokenKind::LParen => self.parenthesised(),
            TokenKind::Caret => self.up(),
            TokenKind::Word(word) => {
                let (word, span) = (word.clone(), self.peek().span);
                self.word(word, span)
            }
            _ => Err(self.unexpected("an expression").into()),
        }
    }

    /// `STRING | "$" INT`
    fn string_or_param(&mut self) -> Result<Node> {
        let tok = self.advance();
        let kind = match tok.kind {
            TokenKind::Str(s) => ExprKind::Literal(Literal::Str(s)),
            TokenKind::Param(n) => ExprKind::Param(n),
            _ => return Err(PqlError::new("expected a string or a parameter", tok.span).into()),
        };
        Ok(leaf(kind, tok.span))
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
                    return Err(PqlError::new("integer is too large", span)
                        .with_hint(
                            "integers must lie between -9223372036854775808 and \
                         9223372036854775807; write a decimal such as 1E19 for larger numbers",
                        )
                        .into());
                };
                Literal::Int(value)
            }
            _ => return Err(PqlError::new("expected a number", tok.span).into()),
        };
        Ok(leaf(ExprKind::Literal(literal), span))
    }

    /// `list = "[" [ expr { "," expr } ] "]" ;`
    fn list(&mut self) -> Result<Node> {
        let open = self.bump();
        let (items, close) = self.comma_list(open, &TokenKind::RBracket, "the list")?;
        let (items, height) = unzip(items);
        self.node(ExprKind::List(items), open.to(close), height)
    }

    /// `object = "{" [ entry { "," entry } ] "}" ;  entry = ( STRING | NAME ) ":" expr ;`
    fn object(&mut self) -> Result<Node> {
        let open = self.bump();
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
                    _ => return Err(p.unexpected("a key (a string or a name)").into()),
                };
                if fields.iter().any(|(k, _)| *k == key) {
                    return Err(PqlError::new(
                        format!("duplicate key \"{key}\" in this object"),
                        key_tok.span,
                    )
                    .into());
                }
                p.bump();
                p.expect(&TokenKind::Colon, "`:` after the key")?;
                let value = p.expr()?;
                height = height.max(value.height);
                fields.push((key, *value.expr));
                if p.eat(&TokenKind::Comma).is_some() {
                    continue;
                }
                if let Some(close) = p.eat(&TokenKind::RBrace) {
                    return p.node(ExprKind::Object(fields), open.to(close), height);
                }
                return Err(p
                    .unclosed(&TokenKind::RBrace, open, "the object", true)
                    .into());
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
        let open = self.bump();
        let mut params: Vec<String> = Vec::new();
        while let TokenKind::Word(name) = self.peek().kind.clone() {
            let tok = self.advance();
            if params.contains(&name) {
                return Err(PqlError::new(
                    format!("lambda parameter `{name}` is declared twice"),
                    tok.span,
                )
                .into());
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
            body: body.expr,
        };
        self.node(kind, span, height)
    }

    /// `paren = "(" expr { "," expr } ")" ;`: one expression is grouping (its span widened to
    /// the parentheses), several are a list (D1.9).
    fn parenthesised(&mut self) -> Result<Node> {
        let open = self.bump();
        if self.at(&TokenKind::RParen) {
            return Err(self
                .unexpected("an expression inside the parentheses")
                .into());
        }
        let (items, close) = self.comma_list(open, &TokenKind::RParen, "the `(`")?;
        self.grouping_or_list(items, open.to(close))
    }

    /// One parenthesised expression is itself (its span widened to the parentheses); several
    /// are a list.
    fn grouping_or_list(&self, mut items: Vec<Node>, span: Span) -> Result<Node> {
        if items.len() == 1
            && let Some(mut inner) = items.pop()
        {
            inner.expr.span = span;
            return Ok(inner);
        }
        let (items, height) = unzip(items);
        self.node(ExprKind::List(items), span, height)
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
                .with_hint("write `^name` or `^.name`; each `^` climbs one filter level")
                .into());
        };
        let end = self.bump();
        Ok(leaf(ExprKind::Up { levels, name }, start.to(end)))
    }

    /// A primary that starts with a word: a keyword form, a call, or a plain name.
    ///
    /// Kept to a dispatch (the work is in [`Parser::word_form`] and the callees) because it
    /// sits on the recursion path: its frame is paid once per level of nesting.
    fn word(&mut self, word: String, span: Span) -> Result<Node> {
        match self.word_form(&word, span)? {
            WordForm::Leaf(node) => Ok(node),
            WordForm::Binder(kind) => self.binder(kind),
            WordForm::Aggregate(func) => self.aggregate(func),
            WordForm::Let => self.let_expr(),
            WordForm::Chain => self.chain(),
            WordForm::Name => self.name_or_call(word, span),
        }
    }

    /// What the word here starts; consumes it when it is a complete leaf.
    fn word_form(&mut self, word: &str, span: Span) -> Result<WordForm> {
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "true" | "false" => {
                self.bump();
                let literal = ExprKind::Literal(Literal::Bool(lower == "true"));
                return Ok(WordForm::Leaf(leaf(literal, span)));
            }
            "null" => {
                let err = PqlError::new("PQL has no `null` literal", span)
                    .with_hint("use .isNull() / .isNotNull() to test for a missing value");
                return Err(err.into());
            }
            "and" | "or" | "in" | "like" | "matches" | "occurs" | "not" => {
                return Err(self.unexpected("an expression").into());
            }
            _ if word == "notIn" => return Err(self.unexpected("an expression").into()),
            _ => {}
        }
        if let Some(node) = self.time_word(&lower, span) {
            return Ok(WordForm::Leaf(node));
        }
        if word == "xEvent" {
            self.bump();
            return Ok(WordForm::Leaf(leaf(ExprKind::XEvent, span)));
        }
        let form = if let Some(kind) = binder_kind(&lower).filter(|_| self.decl_ahead(1)) {
            WordForm::Binder(kind)
        } else if let Some(func) = aggregate_fn(&lower).filter(|_| self.aggregate_ahead()) {
            WordForm::Aggregate(func)
        } else if lower == "let" && matches!(self.peek_at(1).kind, TokenKind::Word(_)) {
            WordForm::Let
        } else if lower == "chain" && self.peek_at(1).kind == TokenKind::LParen {
            WordForm::Chain
        } else {
            WordForm::Name
        };
        Ok(form)
    }

    /// `NAME args | NAME`
    fn name_or_call(&mut self, word: String, span: Span) -> Result<Node> {
        self.bump();
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
            self.bump();
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
                self.bump();
                let end = self.bump();
                Some(leaf(ExprKind::RelPeriod { rel, unit }, span.to(end)))
            }
            None if rel == Relative::This => {
                self.bump();
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
}

/// What a word at the start of a primary turns out to be.
enum WordForm {
    Leaf(Node),
    Binder(BinderKind),
    Aggregate(AggregateFn),
    Let,
    Chain,
    Name,
}

fn leaf(kind: ExprKind, span: Span) -> Node {
    Node {
        expr: Box::new(crate::pql::ast::Expr::new(kind, span)),
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
