//! The PQL syntax tree: what the parser produces from pql/text, what the pql/json reader produces,
//! what both printers write and what the compiler consumes.
//!
//! The tree is deliberately close to the surface syntax (a method call stays a method call, a
//! `not(...)` stays a `Not`) so that text -> tree -> text is faithful; all name resolution,
//! arity checks and constant folding happen later, in the compiler. Every node carries the
//! [`Span`] of the source it came from so that every compile error can point at it; trees read
//! from pql/json carry empty spans.
//!
//! Equality of two trees *ignoring spans* is [`Expr::same_tree`]; derived `PartialEq` compares
//! spans too.

use std::fmt;

/// A byte range `[start, end)` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start.min(u32::MAX as usize) as u32,
            end: end.min(u32::MAX as usize) as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// 1-based (line, column) of the span's start in `src`; columns count characters, not bytes.
    pub fn line_col(self, src: &str) -> (usize, usize) {
        let start = (self.start as usize).min(src.len());
        let mut line = 1;
        let mut col = 1;
        for (i, ch) in src.char_indices() {
            if i >= start {
                break;
            }
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// Structural equality ignoring spans (what round-trip tests compare).
    pub fn same_tree(&self, other: &Expr) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.clear_spans();
        b.clear_spans();
        a == b
    }

    /// Sets every span in the tree to the empty span.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        self.for_each_child_mut(&mut |e| e.clear_spans());
        match &mut self.kind {
            ExprKind::Binder { decls, .. } | ExprKind::Aggregate { decls, .. } => {
                for d in decls {
                    d.span = Span::default();
                }
            }
            ExprKind::Let { bindings, .. } => {
                for b in bindings {
                    b.span = Span::default();
                }
            }
            ExprKind::Chain { steps, .. } => {
                for s in steps {
                    s.span = Span::default();
                }
            }
            _ => {}
        }
    }

    /// Calls `f` on every direct child expression, in source order.
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match &self.kind {
            ExprKind::Literal(_)
            | ExprKind::Name(_)
            | ExprKind::Param(_)
            | ExprKind::Up { .. }
            | ExprKind::This
            | ExprKind::XEvent
            | ExprKind::TimeWord(_)
            | ExprKind::RelPeriod { .. } => {}
            ExprKind::List(items) => items.iter().for_each(f),
            ExprKind::Object(fields) => fields.iter().for_each(|(_, v)| f(v)),
            ExprKind::Field { target, .. } => f(target),
            ExprKind::Method { target, args, .. } => {
                f(target);
                args.iter().for_each(f);
            }
            ExprKind::Call { args, .. } => args.iter().for_each(f),
            ExprKind::Filter { target, cond } => {
                f(target);
                f(cond);
            }
            ExprKind::Unary { expr, .. } => f(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
            ExprKind::Logical { terms, .. } => terms.iter().for_each(f),
            ExprKind::Occurs { ts, spec } => {
                f(ts);
                spec.for_each_expr(f);
            }
            ExprKind::Binder { decls, .. } => decls.iter().for_each(|d| d.for_each_expr(f)),
            ExprKind::Aggregate { value, decls, .. } => {
                if let Some(v) = value {
                    f(v);
                }
                decls.iter().for_each(|d| d.for_each_expr(f));
            }
            ExprKind::Let { bindings, body } => {
                bindings.iter().for_each(|b| f(&b.value));
                f(body);
            }
            ExprKind::Lambda { body, .. } => f(body),
            ExprKind::Chain { events, steps, .. } => {
                f(events);
                for s in steps {
                    s.for_each_expr(f);
                }
            }
        }
    }

    /// Calls `f` on every direct child expression, mutably, in source order.
    pub fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match &mut self.kind {
            ExprKind::Literal(_)
            | ExprKind::Name(_)
            | ExprKind::Param(_)
            | ExprKind::Up { .. }
            | ExprKind::This
            | ExprKind::XEvent
            | ExprKind::TimeWord(_)
            | ExprKind::RelPeriod { .. } => {}
            ExprKind::List(items) => items.iter_mut().for_each(f),
            ExprKind::Object(fields) => fields.iter_mut().for_each(|(_, v)| f(v)),
            ExprKind::Field { target, .. } => f(target),
            ExprKind::Method { target, args, .. } => {
                f(target);
                args.iter_mut().for_each(f);
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(f),
            ExprKind::Filter { target, cond } => {
                f(target);
                f(cond);
            }
            ExprKind::Unary { expr, .. } => f(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
            ExprKind::Logical { terms, .. } => terms.iter_mut().for_each(f),
            ExprKind::Occurs { ts, spec } => {
                f(ts);
                spec.for_each_expr_mut(f);
            }
            ExprKind::Binder { decls, .. } => decls.iter_mut().for_each(|d| d.for_each_expr_mut(f)),
            ExprKind::Aggregate { value, decls, .. } => {
                if let Some(v) = value {
                    f(v);
                }
                decls.iter_mut().for_each(|d| d.for_each_expr_mut(f));
            }
            ExprKind::Let { bindings, body } => {
                bindings.iter_mut().for_each(|b| f(&mut b.value));
                f(body);
            }
            ExprKind::Lambda { body, .. } => f(body),
            ExprKind::Chain { events, steps, .. } => {
                f(events);
                for s in steps {
                    s.for_each_expr_mut(f);
                }
            }
        }
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `true`, `42`, `3.14`, `"text"`. A negative number literal (`-201`) is folded by the parser
    /// into a negative `Int`/`Float`.
    Literal(Literal),
    /// `[a, b]`, and the parenthesised form `("a", "b")` (D1.9). `[]` is valid (D6.10).
    List(Vec<Expr>),
    /// `{"count": G.count(), "sum": ...}`: keys in source order.
    Object(Vec<(String, Expr)>),
    /// A bare identifier: a variable in scope (binder, `let`, lambda parameter) or else a field
    /// of the innermost implicit context (D6.2). The compiler decides which.
    Name(String),
    /// `$1` (the profile). Only position 1 is bound in segment evaluation.
    Param(u32),
    /// `^name`, `^.name`, `^^.name`: the field `name` of the context `levels` filter levels up.
    Up { levels: u32, name: String },
    /// `this`: the current item of the innermost implicit context.
    This,
    /// `xEvent`: the profile's experience events.
    XEvent,
    /// `now`, `today`, `yesterday`, `tomorrow`.
    TimeWord(TimeWord),
    /// `this month`, `last week`, `next year`: a calendar period relative to now.
    RelPeriod { rel: Relative, unit: TimeUnit },
    /// `target.name`
    Field { target: Box<Expr>, name: String },
    /// `target.name(args)`: every method, including `s.matches("re")` and `s.like("p")`.
    Method {
        target: Box<Expr>,
        name: String,
        args: Vec<Expr>,
    },
    /// `name(args)`: a global function (`date`, `if`, `inSegment`, `mapEntry`, `currentYear`, ...).
    Call { name: String, args: Vec<Expr> },
    /// `target[cond]`: the items of `target` for which `cond` holds, evaluated on each item.
    Filter { target: Box<Expr>, cond: Box<Expr> },
    /// `-x`, `not x`, `!x`, `not(x)`.
    Unary { op: UnaryOp, expr: Box<Expr> },
    /// The binary infix operators: comparisons, `in`/`notIn`, `like`/`matches`, arithmetic
    /// (left-associative in the tree). `and`/`or` are [`ExprKind::Logical`].
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a or b or c`, `a and b and c`: one n-ary node per flat chain of the same operator, with
    /// at least two terms, so that a machine-generated chain of thousands of terms is one level
    /// of nesting (D1.12), not a left-deep tree of that many levels. A parenthesised operand
    /// (`a or (b or c)`) stays a child node of its own, so text prints back as written.
    Logical { op: LogicalOp, terms: Vec<Expr> },
    /// `ts occurs <spec>`.
    Occurs { ts: Box<Expr>, spec: OccursSpec },
    /// `select|exists|forall V from D [where C], ...`
    Binder {
        kind: BinderKind,
        decls: Vec<VarDecl>,
    },
    /// `sum|average|min|max|count [value] over V from D [where C], ...`.
    /// `sum X from arr where c` (no `over`) is parsed as `sum X over X from arr where c` (D6.3).
    Aggregate {
        func: AggregateFn,
        value: Option<Box<Expr>>,
        decls: Vec<VarDecl>,
    },
    /// `let V = e, W = f in body`
    Let {
        bindings: Vec<LetBinding>,
        body: Box<Expr>,
    },
    /// `(K, G) => body`
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    /// `chain(events, tsField, [steps])`
    Chain {
        events: Box<Expr>,
        ts_field: String,
        steps: Vec<ChainStep>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

/// The n-ary boolean connectives of [`ExprKind::Logical`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalOp {
    Or,
    And,
}

impl LogicalOp {
    /// The operator as written in pql/text (and as the `fnName` in pql/json).
    pub fn text(self) -> &'static str {
        match self {
            LogicalOp::Or => "or",
            LogicalOp::And => "and",
        }
    }

    pub const ALL: [LogicalOp; 2] = [LogicalOp::Or, LogicalOp::And];

    /// Binding strength, on the scale of [`BinaryOp::precedence`]: `or` 1, `and` 2.
    pub fn precedence(self) -> u8 {
        match self {
            LogicalOp::Or => 1,
            LogicalOp::And => 2,
        }
    }
}

/// The binary infix operators (`and`/`or` are [`LogicalOp`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Like,
    Matches,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    /// The operator as written in pql/text (and as the `fnName` in pql/json).
    pub fn text(self) -> &'static str {
        match self {
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "notIn",
            BinaryOp::Like => "like",
            BinaryOp::Matches => "matches",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }

    pub const ALL: [BinaryOp; 15] = [
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::In,
        BinaryOp::NotIn,
        BinaryOp::Like,
        BinaryOp::Matches,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
    ];

    /// Binding strength: higher binds tighter. Comparisons 4, additive 5, multiplicative 6
    /// (`or` sits at 1, `and` at 2, `not` at 3, unary minus at 7).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
            | BinaryOp::Like
            | BinaryOp::Matches => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
        }
    }
}

/// Comparison operators as used inside `occurs CMP N UNIT DIR T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeWord {
    Now,
    Today,
    Yesterday,
    Tomorrow,
}

impl TimeWord {
    pub fn text(self) -> &'static str {
        match self {
            TimeWord::Now => "now",
            TimeWord::Today => "today",
            TimeWord::Yesterday => "yesterday",
            TimeWord::Tomorrow => "tomorrow",
        }
    }
}

/// `this`, `last`, `next` before a time unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relative {
    This,
    Last,
    Next,
}

impl Relative {
    pub fn text(self) -> &'static str {
        match self {
            Relative::This => "this",
            Relative::Last => "last",
            Relative::Next => "next",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

impl TimeUnit {
    /// The singular spelling (`this month`, `1 day`); see [`TimeUnit::plural`] for counts other
    /// than one.
    pub fn singular(self) -> &'static str {
        match self {
            TimeUnit::Millisecond => "millisecond",
            TimeUnit::Second => "second",
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Year => "year",
            TimeUnit::Decade => "decade",
            TimeUnit::Century => "century",
            TimeUnit::Millennium => "millennium",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            TimeUnit::Millisecond => "milliseconds",
            TimeUnit::Second => "seconds",
            TimeUnit::Minute => "minutes",
            TimeUnit::Hour => "hours",
            TimeUnit::Day => "days",
            TimeUnit::Week => "weeks",
            TimeUnit::Month => "months",
            TimeUnit::Year => "years",
            TimeUnit::Decade => "decades",
            TimeUnit::Century => "centuries",
            TimeUnit::Millennium => "millennia",
        }
    }

    /// Reads a unit word, singular or plural, case-insensitively (also the legacy `millenium`).
    pub fn parse(word: &str) -> Option<TimeUnit> {
        let w = word.to_ascii_lowercase();
        let unit = match w.as_str() {
            "millisecond" | "milliseconds" => TimeUnit::Millisecond,
            "second" | "seconds" => TimeUnit::Second,
            "minute" | "minutes" => TimeUnit::Minute,
            "hour" | "hours" => TimeUnit::Hour,
            "day" | "days" => TimeUnit::Day,
            "week" | "weeks" => TimeUnit::Week,
            "month" | "months" => TimeUnit::Month,
            "year" | "years" => TimeUnit::Year,
            "decade" | "decades" => TimeUnit::Decade,
            "century" | "centuries" => TimeUnit::Century,
            "millennium" | "millennia" | "millenium" | "millenia" => TimeUnit::Millennium,
            _ => return None,
        };
        Some(unit)
    }
}

/// Direction words of `occurs`. `from` is kept apart from `after` only so that text prints back
/// as written; it means the same (D4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Before,
    After,
    From,
}

impl Direction {
    pub fn text(self) -> &'static str {
        match self {
            Direction::Before => "before",
            Direction::After => "after",
            Direction::From => "from",
        }
    }
}

/// What follows `occurs` (or sits inside a chain step's `WHEN(...)`). Time operands are ordinary
/// additive expressions: time words, relative periods, `date(...)`, timestamp paths.
#[derive(Debug, Clone, PartialEq)]
pub enum OccursSpec {
    /// `[on] T`
    On(Box<Expr>),
    /// `before T`, `after T`, `from T`
    Direction { dir: Direction, anchor: Box<Expr> },
    /// `between T1 and T2`
    Between { from: Box<Expr>, to: Box<Expr> },
    /// `CMP N UNIT DIR T`, e.g. `< 8 days before now`
    Distance {
        cmp: CmpOp,
        amount: i64,
        unit: TimeUnit,
        dir: Direction,
        anchor: Box<Expr>,
    },
}

impl OccursSpec {
    pub fn for_each_expr(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            OccursSpec::On(t) => f(t),
            OccursSpec::Direction { anchor, .. } | OccursSpec::Distance { anchor, .. } => f(anchor),
            OccursSpec::Between { from, to } => {
                f(from);
                f(to);
            }
        }
    }

    pub fn for_each_expr_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match self {
            OccursSpec::On(t) => f(t),
            OccursSpec::Direction { anchor, .. } | OccursSpec::Distance { anchor, .. } => f(anchor),
            OccursSpec::Between { from, to } => {
                f(from);
                f(to);
            }
        }
    }
}

/// The binder keywords. `some` is read as `Exists` and `all` as `Forall` (D3.6); `None` and `One`
/// are the pql/json quantifiers `none` and `one`, written `none V from ...` / `one V from ...` in
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinderKind {
    Select,
    Exists,
    Forall,
    None,
    One,
}

impl BinderKind {
    pub fn text(self) -> &'static str {
        match self {
            BinderKind::Select => "select",
            BinderKind::Exists => "exists",
            BinderKind::Forall => "forall",
            BinderKind::None => "none",
            BinderKind::One => "one",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFn {
    Sum,
    Average,
    Min,
    Max,
    Count,
}

impl AggregateFn {
    pub fn text(self) -> &'static str {
        match self {
            AggregateFn::Sum => "sum",
            AggregateFn::Average => "average",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
            AggregateFn::Count => "count",
        }
    }
}

/// `V from D [where C]` in a binder or aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDecl {
    pub name: String,
    pub domain: Expr,
    pub cond: Option<Expr>,
    /// Covers the whole declaration.
    pub span: Span,
}

impl VarDecl {
    fn for_each_expr(&self, f: &mut dyn FnMut(&Expr)) {
        f(&self.domain);
        if let Some(c) = &self.cond {
            f(c);
        }
    }

    fn for_each_expr_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(&mut self.domain);
        if let Some(c) = &mut self.cond {
            f(c);
        }
    }
}

/// `V = e` in a `let`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetBinding {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

/// `A: WHAT(p) [WHEN(spec)] [COUNT(n)] [WHERE(q)]` in a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainStep {
    /// `A` in `A: WHAT(...)`; optional in input, always printed when present.
    pub label: Option<String>,
    pub what: Expr,
    pub when: Option<OccursSpec>,
    pub count: Option<i64>,
    pub where_: Option<Expr>,
    pub span: Span,
}

impl ChainStep {
    fn for_each_expr(&self, f: &mut dyn FnMut(&Expr)) {
        f(&self.what);
        if let Some(w) = &self.when {
            w.for_each_expr(f);
        }
        if let Some(w) = &self.where_ {
            f(w);
        }
    }

    fn for_each_expr_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(&mut self.what);
        if let Some(w) = &mut self.when {
            w.for_each_expr_mut(f);
        }
        if let Some(w) = &mut self.where_ {
            f(w);
        }
    }
}

impl fmt::Display for Expr {
    /// Canonical pql/text (see `pql::printer`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::pql::printer::print(self))
    }
}

/// Whether argument `index` of method `name` is evaluated once per item of the receiver, with
/// the item as the implicit context (D6.2): `arr.exists(pred)`, `arr.filter(pred)`,
/// `arr.map(expr)`, the aggregates, `groupBy`, and the value argument of `topN`/`bottomN`.
/// Shared by the compiler (name resolution) and pql/json (implicit-root encoding).
pub fn is_item_relative_arg(method: &str, index: usize) -> bool {
    match method {
        "exists" | "filter" | "map" | "sum" | "average" | "min" | "max" | "groupBy" => index == 0,
        "topN" | "bottomN" => index == 0,
        _ => false,
    }
}
