//! The constructs that bind names: binders (`select|exists|forall ... from`), aggregate
//! comprehensions (`sum ... over ...`) and `let`. Their last part extends as far right as
//! possible (D1.6), which is what gives them the lowest precedence.

use super::{Node, Parser, Result};
use crate::pql::ast::{AggregateFn, BinderKind, Expr, ExprKind, LetBinding, VarDecl};
use crate::pql::error::PqlError;
use crate::pql::lexer::TokenKind;

impl Parser<'_> {
    /// `binder = BINDER var_decl { "," var_decl } ;` (the keyword is the current token).
    pub(super) fn binder(&mut self, kind: BinderKind) -> Result<Node> {
        let start = self.advance().span;
        let (decls, height) = self.var_decls()?;
        let span = start.to(self.prev_span());
        self.node(ExprKind::Binder { kind, decls }, span, height)
    }

    /// ```text
    /// aggregate = AGG [ expr ] "over" var_decl { "," var_decl }
    ///           | AGG NAME "from" ... ;     (* D6.3: `sum X from a` = `sum X over X from a` *)
    /// ```
    pub(super) fn aggregate(&mut self, func: AggregateFn) -> Result<Node> {
        let start = self.advance().span;
        let value = if self.decl_ahead(0) {
            let tok = self.peek().clone();
            let TokenKind::Word(name) = tok.kind else {
                return Err(self.unexpected("a variable name"));
            };
            Some(Node {
                expr: Expr::new(ExprKind::Name(name), tok.span),
                height: 1,
            })
        } else {
            let value = if self.at_keyword("over") {
                None
            } else {
                Some(self.expr()?)
            };
            if self.eat_keyword("over").is_none() {
                return Err(self.unexpected(&format!("`over` after the value of `{}`", func.text()))
                    .with_hint(format!(
                        "an aggregate comprehension is written `{} VALUE over V from ARRAY [where CONDITION]`",
                        func.text()
                    )));
            }
            value
        };
        let (decls, decls_height) = self.var_decls()?;
        let value_height = value.as_ref().map_or(0, |v| v.height);
        let span = start.to(self.prev_span());
        let kind = ExprKind::Aggregate {
            func,
            value: value.map(|v| Box::new(v.expr)),
            decls,
        };
        self.node(kind, span, value_height.max(decls_height))
    }

    /// `var_decl { "," var_decl }`, where a `,` continues only before `NAME from` (otherwise it
    /// belongs to an enclosing list or argument list).
    fn var_decls(&mut self) -> Result<(Vec<VarDecl>, usize)> {
        let mut decls = Vec::new();
        let mut height = 0;
        loop {
            let (decl, h) = self.var_decl()?;
            if decls.iter().any(|d: &VarDecl| d.name == decl.name) {
                return Err(PqlError::new(
                    format!("variable `{}` is declared twice in this binder", decl.name),
                    decl.span,
                ));
            }
            decls.push(decl);
            height = height.max(h);
            if !(self.at(&TokenKind::Comma) && self.decl_ahead(1)) {
                return Ok((decls, height));
            }
            self.advance();
        }
    }

    /// `var_decl = NAME "from" or_expr [ ( "where" | ":" ) expr ] ;` -> the declaration and the
    /// greatest height of its expressions.
    fn var_decl(&mut self) -> Result<(VarDecl, usize)> {
        let tok = self.peek().clone();
        let TokenKind::Word(name) = tok.kind else {
            return Err(self.unexpected("a variable name"));
        };
        self.advance();
        if self.eat_keyword("from").is_none() {
            return Err(self.unexpected(&format!("`from` after the variable `{name}`")));
        }
        let domain = self.expr()?;
        let mut height = domain.height;
        let cond = if self.eat_keyword("where").is_some() || self.eat(&TokenKind::Colon).is_some()
        {
            let cond = self.expr()?;
            height = height.max(cond.height);
            Some(cond.expr)
        } else {
            None
        };
        let span = tok.span.to(self.prev_span());
        let decl = VarDecl {
            name,
            domain: domain.expr,
            cond,
            span,
        };
        Ok((decl, height))
    }

    /// ```text
    /// let     = "let" binding { "," binding } "in" expr ;
    /// binding = NAME "=" expr ;          (* parsed without a top-level `in` operator *)
    /// ```
    pub(super) fn let_expr(&mut self) -> Result<Node> {
        let start = self.advance().span;
        let mut bindings: Vec<LetBinding> = Vec::new();
        let mut height = 0;
        loop {
            let tok = self.peek().clone();
            let TokenKind::Word(name) = tok.kind else {
                return Err(self.unexpected("the name of a `let` binding"));
            };
            self.advance();
            self.expect(&TokenKind::Eq, &format!("`=` after `let {name}`"))?;
            let saved = std::mem::replace(&mut self.no_in, true);
            let value = self.expr();
            self.no_in = saved;
            let value = value?;
            height = height.max(value.height);
            let span = tok.span.to(value.expr.span);
            bindings.push(LetBinding {
                name,
                value: value.expr,
                span,
            });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        if self.eat_keyword("in").is_none() {
            let last = bindings.last().map_or("", |b| b.name.as_str());
            return Err(self.unexpected(&format!("`in` after the value of `{last}`")));
        }
        let body = self.expr()?;
        let span = start.to(body.expr.span);
        let height = height.max(body.height);
        let kind = ExprKind::Let {
            bindings,
            body: Box::new(body.expr),
        };
        self.node(kind, span, height)
    }
}
