//! The constructs that bind names: binders (`select|exists|forall ... from`), aggregate
//! comprehensions (`sum ... over ...`) and `let`. Their last part extends as far right as
//! possible (D1.6), which is what gives them the lowest precedence.
//!
//! These functions sit on the recursion path (a `where` condition or a `let` body can nest
//! without limit), so their error messages are built in separate cold functions: in unoptimised
//! builds every temporary of a function occupies its frame, and the frame is paid once per level.

use super::{Node, Parser, Result};
use crate::pql::ast::{AggregateFn, BinderKind, Expr, ExprKind, LetBinding, Span, VarDecl};
use crate::pql::error::PqlError;
use crate::pql::lexer::TokenKind;

impl Parser<'_> {
    /// `binder = BINDER var_decl { "," var_decl } ;` (the keyword is the current token).
    pub(super) fn binder(&mut self, kind: BinderKind) -> Result<Node> {
        let start = self.bump();
        let (decls, height) = self.var_decls()?;
        let span = start.to(self.prev_span());
        self.node(ExprKind::Binder { kind, decls }, span, height)
    }

    /// ```text
    /// aggregate = AGG [ expr ] "over" var_decl { "," var_decl }
    ///           | AGG NAME "from" ... ;     (* D6.3: `sum X from a` = `sum X over X from a` *)
    /// ```
    pub(super) fn aggregate(&mut self, func: AggregateFn) -> Result<Node> {
        let start = self.bump();
        let value = if self.decl_ahead(0) {
            Some(self.shorthand_value()?)
        } else {
            let value = if self.at_keyword("over") {
                None
            } else {
                self.pending_over += 1;
                let value = self.expr();
                self.pending_over -= 1;
                Some(value?)
            };
            if self.eat_keyword("over").is_none() {
                return Err(self.missing_over(func));
            }
            value
        };
        let (decls, decls_height) = self.var_decls()?;
        let span = start.to(self.prev_span());
        let height = value.as_ref().map_or(0, |v| v.height).max(decls_height);
        let kind = ExprKind::Aggregate {
            func,
            value: value.map(|v| v.expr),
            decls,
        };
        self.node(kind, span, height)
    }

    /// In `sum X from a`, the value `X`: the name of the (first) variable, left unconsumed.
    fn shorthand_value(&self) -> Result<Node> {
        let tok = self.peek();
        let TokenKind::Word(name) = &tok.kind else {
            return Err(self.unexpected("a variable name").into());
        };
        Ok(Node {
            expr: Box::new(Expr::new(ExprKind::Name(name.clone()), tok.span)),
            height: 1,
        })
    }

    #[cold]
    fn missing_over(&self, func: AggregateFn) -> Box<PqlError> {
        let name = func.text();
        let hint = format!(
            "an aggregate comprehension is written `{name} VALUE over V from ARRAY [where CONDITION]`"
        );
        let err = self.unexpected(&format!("`over` after the value of `{name}`"));
        Box::new(err.with_hint(hint))
    }

    /// `var_decl { "," var_decl }`, where a `,` continues only before `NAME from` (otherwise it
    /// belongs to an enclosing list or argument list).
    fn var_decls(&mut self) -> Result<(Vec<VarDecl>, usize)> {
        let mut decls = Vec::new();
        let mut height = 0;
        loop {
            height = height.max(self.var_decl(&mut decls)?);
            if !(self.at(&TokenKind::Comma) && self.decl_ahead(1)) {
                return Ok((decls, height));
            }
            self.bump();
        }
    }

    /// `var_decl = NAME "from" or_expr [ ( "where" | ":" ) expr ] ;` -> appended to `decls`;
    /// returns the greatest height of its expressions.
    fn var_decl(&mut self, decls: &mut Vec<VarDecl>) -> Result<usize> {
        let (name, start) = self.var_head()?;
        let domain = self.expr()?;
        let cond = if self.eat_keyword("where").is_some() || self.eat(&TokenKind::Colon).is_some() {
            Some(self.expr()?)
        } else {
            None
        };
        let span = start.to(self.prev_span());
        push_decl(decls, name, domain, cond, span)
    }

    /// `NAME "from"` of a declaration -> the name and its span.
    fn var_head(&mut self) -> Result<(String, Span)> {
        let TokenKind::Word(name) = self.peek().kind.clone() else {
            return Err(self.unexpected("a variable name").into());
        };
        let span = self.bump();
        if self.eat_keyword("from").is_none() {
            let err = self.unexpected(&format!("`from` after the variable `{name}`"));
            return Err(err.into());
        }
        Ok((name, span))
    }

    /// ```text
    /// let     = "let" binding { "," binding } "in" expr ;
    /// binding = NAME "=" expr ;          (* parsed without a top-level `in` operator *)
    /// ```
    pub(super) fn let_expr(&mut self) -> Result<Node> {
        let start = self.bump();
        let mut bindings: Vec<LetBinding> = Vec::new();
        let mut height = 0;
        loop {
            let (name, name_span) = self.let_head()?;
            let saved = std::mem::replace(&mut self.no_in, true);
            let value = self.expr();
            self.no_in = saved;
            height = height.max(push_binding(&mut bindings, name, name_span, value?));
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        if self.eat_keyword("in").is_none() {
            return Err(self.missing_in(&bindings));
        }
        let body = self.expr()?;
        let span = start.to(body.expr.span);
        let height = height.max(body.height);
        let kind = ExprKind::Let {
            bindings,
            body: body.expr,
        };
        self.node(kind, span, height)
    }

    /// `NAME "="` of a `let` binding -> the name and its span.
    fn let_head(&mut self) -> Result<(String, Span)> {
        let name = match &self.peek().kind {
            TokenKind::Word(w) if !w.eq_ignore_ascii_case("in") => w.clone(),
            _ => return Err(self.unexpected("the name of a `let` binding").into()),
        };
        let span = self.bump();
        if self.eat(&TokenKind::Eq).is_none() {
            return Err(self.unexpected(&format!("`=` after `let {name}`")).into());
        }
        Ok((name, span))
    }

    #[cold]
    fn missing_in(&self, bindings: &[LetBinding]) -> Box<PqlError> {
        let last = bindings.last().map_or("", |b| b.name.as_str());
        Box::new(self.unexpected(&format!("`in` after the value of `{last}`")))
    }
}

fn push_decl(
    decls: &mut Vec<VarDecl>,
    name: String,
    domain: Node,
    cond: Option<Node>,
    span: Span,
) -> Result<usize> {
    if decls.iter().any(|d| d.name == name) {
        let message = format!("variable `{name}` is declared twice in this binder");
        return Err(Box::new(PqlError::new(message, span)));
    }
    let height = domain.height.max(cond.as_ref().map_or(0, |c| c.height));
    decls.push(VarDecl {
        name,
        domain: *domain.expr,
        cond: cond.map(|c| *c.expr),
        span,
    });
    Ok(height)
}

fn push_binding(bindings: &mut Vec<LetBinding>, name: String, at: Span, value: Node) -> usize {
    bindings.push(LetBinding {
        name,
        span: at.to(value.expr.span),
        value: *value.expr,
    });
    value.height
}
