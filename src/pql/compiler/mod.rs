//! The PQL compiler: turns a syntax tree into a [`Program`], the form a segment job evaluates
//! millions of times.
//!
//! Compiling does, once, everything that does not depend on the profile:
//! * resolves every name (D6.2): a variable in scope (binder or aggregate variable, `let`, lambda
//!   parameter) or else a field of the innermost implicit context — the item inside filter
//!   brackets, in an item-relative method argument or in a chain step, the profile everywhere
//!   else (including a binder's `where`). `^` climbs implicit-context levels; climbing past the
//!   profile is an error (D1.10, D6.1). `$1` is the profile; `this` the innermost item.
//! * turns field paths into pre-split key sequences rooted at the profile, `xEvent` or a
//!   numbered slot, so evaluation never splits strings or looks names up;
//! * checks every call against the function table (name, arity, kinds of literal arguments),
//!   with a "did you mean" hint for unknown names (D6.1), refuses unsupported constructs (D1.11),
//!   compiles regular expressions and `like` patterns, and folds constant subexpressions;
//! * records what the expression reads (profile and event paths, segment ids) so that jobs can
//!   order dependent segments and skip loading events when no definition needs them.
//!
//! Every error carries the span of the offending node.

mod binders;
mod calls;
mod fold;
mod lower;

#[cfg(test)]
mod long_chains;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::pql::ast::{Expr, ExprKind, Span};
use crate::pql::context::EvalContext;
use crate::pql::error::PqlError;
use crate::pql::eval::{Frame, Node, Root, eval, test};
use crate::pql::value::Value;

/// A compiled expression. Immutable and `Send + Sync`: one program is shared by every worker
/// thread of a job.
#[derive(Debug)]
pub struct Program {
    root: Node,
    slots: usize,
    windows: usize,
    segment_refs: Vec<String>,
    profile_paths: Vec<String>,
    event_paths: Vec<String>,
    reads_events: bool,
}

impl Program {
    /// The expression's value for one profile.
    pub fn evaluate(&self, ctx: &EvalContext) -> Value {
        let cx = *ctx;
        let mut fr = Frame::new(self.slots, self.windows);
        eval(&self.root, &cx, &mut fr).into_value()
    }

    /// The expression's value in boolean position (D2.3): whether the profile qualifies.
    pub fn matches(&self, ctx: &EvalContext) -> bool {
        let cx = *ctx;
        let mut fr = Frame::new(self.slots, self.windows);
        test(&self.root, &cx, &mut fr)
    }

    /// The segment ids used by `inSegment("...")`, deduplicated and sorted.
    pub fn segment_refs(&self) -> &[String] {
        &self.segment_refs
    }

    /// The dotted profile paths the expression reads, e.g. `person.name.firstName`; sorted.
    pub fn profile_paths(&self) -> &[String] {
        &self.profile_paths
    }

    /// The dotted event paths (relative to an event) the expression reads, e.g.
    /// `commerce.order.priceTotal`; sorted.
    pub fn event_paths(&self) -> &[String] {
        &self.event_paths
    }

    /// Whether the expression reads the profile's experience events at all.
    pub fn reads_events(&self) -> bool {
        self.reads_events
    }
}

/// Compiles a syntax tree.
pub fn compile(expr: &Expr) -> Result<Program, PqlError> {
    let mut c = Compiler::default();
    let root = match &expr.kind {
        // `(Profile) => body`: the one parameter is the profile (Part 2 §6 example #3).
        ExprKind::Lambda { params, body } => {
            if params.len() != 1 {
                return Err(PqlError::new(
                    format!(
                        "a top-level lambda takes exactly one parameter (the profile), found {}",
                        params.len()
                    ),
                    expr.span,
                ));
            }
            c.vars.push(Var {
                name: params[0].clone(),
                root: Root::Profile,
                origin: Origin::Profile(String::new()),
            });
            c.lower(body)?
        }
        _ => c.lower(expr)?,
    };
    Ok(Program {
        root: root.node,
        slots: c.slots as usize,
        windows: c.windows as usize,
        segment_refs: c.segment_refs.into_iter().collect(),
        profile_paths: c.profile_paths.into_iter().collect(),
        event_paths: c.event_paths.into_iter().collect(),
        reads_events: c.reads_events,
    })
}

/// What data a value comes from, for recording the paths an expression reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    /// The profile, at this dotted path ("" = the profile itself).
    Profile(String),
    /// An event, at this dotted path relative to the event.
    Event(String),
    Unknown,
}

impl Origin {
    fn extend<S: AsRef<str>>(&self, steps: &[S]) -> Origin {
        let join = |base: &str| {
            let mut p = base.to_string();
            for s in steps {
                if !p.is_empty() {
                    p.push('.');
                }
                p.push_str(s.as_ref());
            }
            p
        };
        match self {
            Origin::Profile(p) => Origin::Profile(join(p)),
            Origin::Event(p) => Origin::Event(join(p)),
            Origin::Unknown => Origin::Unknown,
        }
    }
}

/// A compiled subexpression and where its value comes from.
pub(crate) struct Lowered {
    pub(crate) node: Node,
    pub(crate) origin: Origin,
}

impl Lowered {
    fn plain(node: Node) -> Lowered {
        Lowered {
            node,
            origin: Origin::Unknown,
        }
    }
}

/// A variable in scope.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    root: Root,
    origin: Origin,
}

/// An implicit context level: the profile, or an item in a slot.
#[derive(Debug, Clone)]
struct Ctx {
    root: Root,
    origin: Origin,
}

/// The deepest expression the compiler accepts (the parser already limits nesting to 200).
const MAX_DEPTH: u32 = 256;

struct Compiler {
    slots: u32,
    windows: u32,
    vars: Vec<Var>,
    ctxs: Vec<Ctx>,
    depth: u32,
    segment_refs: BTreeSet<String>,
    profile_paths: BTreeSet<String>,
    event_paths: BTreeSet<String>,
    reads_events: bool,
}

impl Default for Compiler {
    fn default() -> Compiler {
        Compiler {
            slots: 0,
            windows: 0,
            vars: Vec::new(),
            ctxs: vec![Ctx {
                root: Root::Profile,
                origin: Origin::Profile(String::new()),
            }],
            depth: 0,
            segment_refs: BTreeSet::new(),
            profile_paths: BTreeSet::new(),
            event_paths: BTreeSet::new(),
            reads_events: false,
        }
    }
}

impl Compiler {
    fn new_slot(&mut self) -> u32 {
        self.slots += 1;
        self.slots - 1
    }

    fn new_window(&mut self) -> u32 {
        self.windows += 1;
        self.windows - 1
    }

    fn var(&self, name: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.name == name)
    }

    fn push_var(&mut self, name: &str, root: Root, origin: Origin) {
        self.vars.push(Var {
            name: name.to_string(),
            root,
            origin,
        });
    }

    /// Runs `f` with an implicit context level for the item in `slot`.
    fn with_ctx<T>(
        &mut self,
        slot: u32,
        origin: Origin,
        f: impl FnOnce(&mut Compiler) -> Result<T, PqlError>,
    ) -> Result<T, PqlError> {
        self.ctxs.push(Ctx {
            root: Root::Slot(slot),
            origin,
        });
        let vars = self.vars.len();
        let r = f(self);
        self.vars.truncate(vars);
        self.ctxs.pop();
        r
    }

    fn innermost(&self) -> Ctx {
        self.ctxs.last().cloned().unwrap_or(Ctx {
            root: Root::Profile,
            origin: Origin::Profile(String::new()),
        })
    }

    /// Notes that a path with this origin is read.
    fn record(&mut self, origin: &Origin) {
        match origin {
            Origin::Profile(p) if !p.is_empty() => {
                self.profile_paths.insert(p.clone());
            }
            Origin::Event(p) => {
                self.reads_events = true;
                if !p.is_empty() {
                    self.event_paths.insert(p.clone());
                }
            }
            _ => {}
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), PqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PqlError::new(
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
            ));
        }
        Ok(())
    }
}
