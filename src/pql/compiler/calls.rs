//! Calls of table functions: methods (`receiver.name(args)`, also `s like p` and `s matches re`)
//! and global functions (`date(...)`, `if(...)`, `inSegment(...)`, ...).
//!
//! A call is checked against its [`FnDef`]: the name must exist (else the nearest known name is
//! suggested), the argument count must fit, and a literal argument must have the declared kind
//! (D6.1). Item-relative arguments (D6.2, [`crate::pql::ast::is_item_relative_arg`]) are compiled
//! with the receiver's item as a new implicit context; a lambda there binds its parameters
//! (`(K, G) => ...` binds key and value). Then the definition's prepare hook runs (regex and
//! `like` compilation), and a pure call on constants is folded.

use super::{Compiler, Lowered, Origin};
use crate::pql::ast::{Expr, ExprKind, Span, is_item_relative_arg};
use crate::pql::error::{PqlError, nearest};
use crate::pql::eval::table::{self, Apply, Data, FnDef, ItemCtx, Kind};
use crate::pql::eval::{Node, Root};
use crate::pql::value::Value;

/// Methods whose result holds items of the receiver (so paths read through them are recorded
/// relative to the receiver's origin).
const KEEPS_ITEMS: &[&str] = &[
    "filter",
    "topN",
    "bottomN",
    "head",
    "distinct",
    "intersection",
    "groupBy",
];

impl Compiler {
    pub(super) fn lower_method(
        &mut self,
        target: &Expr,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<Lowered, PqlError> {
        // Errors about the method itself point at its name (just after the `.`).
        let name_start = (target.span.end + 1).min(span.end);
        let name_span = Span {
            start: name_start,
            end: (name_start + name.len() as u32).min(span.end),
        };
        let Some(def) = table::lookup(name, true) else {
            return Err(unknown(name, true, name_span));
        };
        check_arity(
            def,
            args.len(),
            Span {
                start: name_start,
                end: span.end,
            },
        )?;
        let receiver = self.lower(target)?;
        let mut nodes = vec![receiver.node];
        let mut item: Option<ItemCtx> = None;
        for (i, arg) in args.iter().enumerate() {
            let node = if is_item_relative_arg(name, i) {
                self.lower_item_arg(arg, &receiver.origin, &mut item)?
            } else {
                self.lower(arg)?.node
            };
            check_kind(def, i, &node, arg.span)?;
            nodes.push(node);
        }
        let spans: Vec<Span> = std::iter::once(target.span)
            .chain(args.iter().map(|a| a.span))
            .collect();
        let node = self.finish_call(def, nodes, item, &spans, span)?;
        let origin = if KEEPS_ITEMS.contains(&name) {
            receiver.origin
        } else {
            Origin::Unknown
        };
        Ok(Lowered { node, origin })
    }

    pub(super) fn lower_call(
        &mut self,
        name: &str,
        args: &[Expr],
        span: Span,
    ) -> Result<Lowered, PqlError> {
        if name == "modelInstances" {
            return Err(PqlError::new(
                "modelInstances(...) is not supported: it belongs to Offer Decisioning rules, not to segment definitions",
                span,
            ));
        }
        let Some(def) = table::lookup(name, false) else {
            return Err(unknown(name, false, span));
        };
        check_arity(def, args.len(), span)?;
        let mut nodes = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let node = self.lower(arg)?.node;
            check_kind(def, i, &node, arg.span)?;
            nodes.push(node);
        }
        if name == "not" {
            let inner = nodes.pop().unwrap_or(Node::Const(Value::Null));
            return Ok(Lowered::plain(self.fold(Node::Not(Box::new(inner)))));
        }
        let spans: Vec<Span> = args.iter().map(|a| a.span).collect();
        let node = self.finish_call(def, nodes, None, &spans, span)?;
        if let Node::Apply(a) = &node
            && a.def.name == "inSegment"
            && let Some(Node::Const(Value::Str(id))) = a.args.first()
        {
            self.segment_refs.insert(id.to_string());
        }
        Ok(Lowered::plain(node))
    }

    /// Builds the call node, runs the prepare hook and folds constants.
    fn finish_call(
        &mut self,
        def: &'static FnDef,
        args: Vec<Node>,
        item: Option<ItemCtx>,
        spans: &[Span],
        span: Span,
    ) -> Result<Node, PqlError> {
        let mut apply = Apply {
            def,
            args: args.into(),
            item,
            data: Data::None,
        };
        if def.name == "map"
            && let Some(Node::Apply(body)) = apply.args.get(1)
            && body.def.name == "mapEntry"
        {
            apply.data = Data::MapEntry;
        }
        if let Some(prepare) = def.prepare {
            prepare(&mut apply)
                .map_err(|p| PqlError::new(p.message, spans.get(p.arg).copied().unwrap_or(span)))?;
        }
        Ok(self.fold(Node::Apply(Box::new(apply))))
    }

    /// An argument evaluated once per item of the receiver.
    fn lower_item_arg(
        &mut self,
        arg: &Expr,
        item_origin: &Origin,
        item: &mut Option<ItemCtx>,
    ) -> Result<Node, PqlError> {
        let ic = match item {
            Some(ic) => *ic,
            None => {
                let ic = ItemCtx {
                    slot: self.new_slot(),
                    key_slot: None,
                };
                *item = Some(ic);
                ic
            }
        };
        let origin = item_origin.clone();
        if let ExprKind::Lambda { params, body } = &arg.kind {
            let key_slot = match params.len() {
                1 => None,
                2 => Some(match ic.key_slot {
                    Some(k) => k,
                    None => self.new_slot(),
                }),
                n => {
                    return Err(PqlError::new(
                        format!(
                            "a lambda here takes one parameter (the item) or two (key and value), found {n}"
                        ),
                        arg.span,
                    ));
                }
            };
            if let Some(ItemCtx { key_slot: ks, .. }) = item {
                *ks = key_slot.or(*ks);
            }
            return self.with_ctx(ic.slot, origin.clone(), |c| {
                if let Some(k) = key_slot {
                    c.push_var(&params[0], Root::Slot(k), Origin::Unknown);
                }
                let item_param = params.last().map(String::as_str).unwrap_or_default();
                c.push_var(item_param, Root::Slot(ic.slot), origin);
                Ok(c.lower(body)?.node)
            });
        }
        self.with_ctx(ic.slot, origin, |c| Ok(c.lower(arg)?.node))
    }
}

fn unknown(name: &str, method: bool, span: Span) -> PqlError {
    let what = if method { "method" } else { "function" };
    let err = PqlError::new(format!("unknown {what} '{name}'"), span);
    if let Some(s) = nearest(name, table::names(method)) {
        return err.with_hint(format!("did you mean '{s}'?"));
    }
    // `count(x)` for `x.count()`, `date.getYear()` for a global, and so on.
    if table::lookup(name, !method).is_some() {
        let hint = if method {
            format!("'{name}' is a function: write {name}(...)")
        } else {
            format!("'{name}' is a method: write value.{name}(...)")
        };
        return err.with_hint(hint);
    }
    err
}

fn check_arity(def: &FnDef, n: usize, span: Span) -> Result<(), PqlError> {
    if n < def.required || n > def.params.len() {
        let call = if def.method {
            format!(".{}()", def.name)
        } else {
            format!("{}()", def.name)
        };
        return Err(PqlError::new(
            format!("{call} takes {}, found {n}", def.arity_text()),
            span,
        ));
    }
    Ok(())
}

/// A literal argument of the wrong kind is a compile error (D6.1).
fn check_kind(def: &FnDef, i: usize, node: &Node, span: Span) -> Result<(), PqlError> {
    let Node::Const(v) = node else {
        return Ok(());
    };
    let kind = def.params.get(i).copied().unwrap_or(Kind::Any);
    let ok = match kind {
        Kind::Any | Kind::Item => true,
        Kind::Str => matches!(v, Value::Str(_)),
        Kind::Int => matches!(v, Value::Int(_)),
        Kind::Bool => matches!(v, Value::Bool(_)),
    };
    if ok {
        return Ok(());
    }
    Err(PqlError::new(
        format!(
            "argument {} of '{}' must be {}, found {} {}",
            i + 1,
            def.name,
            kind.describe(),
            article(v.kind()),
            v.kind()
        ),
        span,
    ))
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
