//! The function table: every global function and method of PQL with its arity, argument kinds
//! and evaluator (VRL-style: a table, not a 2,000-line `match`).
//!
//! Each function group module exports its own `FUNCTIONS` slice; [`lookup`] searches them all.
//! The compiler uses a definition to check a call (arity, kinds of literal arguments), to decide
//! which arguments are evaluated per item, and to run the definition's `prepare` hook (compiling
//! a regex or a `like` pattern once). At run time the evaluator calls the definition's
//! [`Impl`]: a value function, a boolean test, or both.

use std::fmt;

use super::strings::LikePattern;
use super::{Frame, Node, Val, eval, test};
use crate::pql::context::EvalContext;

pub(crate) type ValueFn = for<'a> fn(&'a Apply, &EvalContext<'a>, &mut Frame<'a>) -> Val<'a>;
pub(crate) type TestFn = for<'a> fn(&'a Apply, &EvalContext<'a>, &mut Frame<'a>) -> bool;
/// A compile-time hook run once the arguments are compiled.
pub(crate) type PrepareFn = fn(&mut Apply) -> Result<(), Prep>;

/// A compile error from a prepare hook: which argument (index into [`Apply::args`]) and why.
pub(crate) struct Prep {
    pub(crate) arg: usize,
    pub(crate) message: String,
}

#[derive(Clone, Copy)]
pub(crate) enum Impl {
    /// Returns a value; in boolean position the value is made boolean (D2.3).
    Value(ValueFn),
    /// A predicate; as a value it is a boolean.
    Test(TestFn),
    Both(ValueFn, TestFn),
}

/// What a literal argument must be (D6.1: a literal of the wrong kind is a compile error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Any,
    Str,
    Int,
    Bool,
    /// Evaluated once per item of the receiver, the item being the implicit context (D6.2).
    Item,
}

impl Kind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Any | Kind::Item => "a value",
            Kind::Str => "a string",
            Kind::Int => "an integer",
            Kind::Bool => "a boolean",
        }
    }
}

pub(crate) struct FnDef {
    pub(crate) name: &'static str,
    /// `receiver.name(args)` rather than `name(args)`.
    pub(crate) method: bool,
    /// The parameters after the receiver.
    pub(crate) params: &'static [Kind],
    /// How many of `params` are required; the rest are optional.
    pub(crate) required: usize,
    pub(crate) imp: Impl,
    /// Whether a call with constant arguments may be folded at compile time (false for anything
    /// reading `now` or the memberships).
    pub(crate) pure: bool,
    pub(crate) prepare: Option<PrepareFn>,
}

impl FnDef {
    pub(crate) const fn method(
        name: &'static str,
        params: &'static [Kind],
        required: usize,
        imp: Impl,
    ) -> FnDef {
        FnDef {
            name,
            method: true,
            params,
            required,
            imp,
            pure: true,
            prepare: None,
        }
    }

    pub(crate) const fn global(
        name: &'static str,
        params: &'static [Kind],
        required: usize,
        imp: Impl,
    ) -> FnDef {
        FnDef {
            method: false,
            ..FnDef::method(name, params, required, imp)
        }
    }

    pub(crate) const fn impure(self) -> FnDef {
        FnDef {
            pure: false,
            ..self
        }
    }

    pub(crate) const fn with_prepare(self, prepare: PrepareFn) -> FnDef {
        FnDef {
            prepare: Some(prepare),
            ..self
        }
    }

    /// `1`, `1 or 2`, `between 1 and 3`: for arity messages.
    pub(crate) fn arity_text(&self) -> String {
        let (min, max) = (self.required, self.params.len());
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match (min, max) {
            (a, b) if a == b => format!("{a} {}", plural(a)),
            (a, b) if b == a + 1 => format!("{a} or {b} {}", plural(b)),
            (a, b) => format!("{a} to {b} arguments"),
        }
    }
}

impl fmt::Debug for FnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

/// Per-item evaluation of a method's item-relative arguments: the slot receiving the item and,
/// for two-parameter lambdas (`(K, G) => ...`), the slot receiving the key (or index).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemCtx {
    pub(crate) slot: u32,
    pub(crate) key_slot: Option<u32>,
}

/// Compile-time data of one call.
#[derive(Debug, Default)]
pub(crate) enum Data {
    #[default]
    None,
    Regex(regex::Regex),
    Like(LikePattern),
    /// `map`'s body is a `mapEntry(k, v)`: the result is a map.
    MapEntry,
}

/// One call of a table function. For methods `args[0]` is the receiver.
#[derive(Debug)]
pub(crate) struct Apply {
    pub(crate) def: &'static FnDef,
    pub(crate) args: Box<[Node]>,
    pub(crate) item: Option<ItemCtx>,
    pub(crate) data: Data,
}

impl Apply {
    /// The argument at `i`, if given.
    pub(crate) fn arg(&self, i: usize) -> Option<&Node> {
        self.args.get(i)
    }
}

pub(crate) fn apply_value<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    match a.def.imp {
        Impl::Value(f) | Impl::Both(f, _) => f(a, cx, fr),
        Impl::Test(t) => Val::bool(t(a, cx, fr)),
    }
}

pub(crate) fn apply_test<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    match a.def.imp {
        Impl::Test(t) | Impl::Both(_, t) => t(a, cx, fr),
        Impl::Value(f) => f(a, cx, fr).truthy(),
    }
}

fn groups() -> [&'static [FnDef]; 7] {
    [
        MISC,
        super::compare::FUNCTIONS,
        super::strings::FUNCTIONS,
        super::arrays::FUNCTIONS,
        super::aggregates::FUNCTIONS,
        super::maps::FUNCTIONS,
        super::dates::FUNCTIONS,
    ]
}

/// The definition of the method (`method = true`) or global function called `name`.
pub(crate) fn lookup(name: &str, method: bool) -> Option<&'static FnDef> {
    groups()
        .into_iter()
        .flatten()
        .find(|d| d.method == method && d.name == name)
}

/// Every method or global function name, for "did you mean" hints.
pub(crate) fn names(method: bool) -> impl Iterator<Item = &'static str> {
    groups()
        .into_iter()
        .flatten()
        .filter(move |d| d.method == method)
        .map(|d| d.name)
}

// ---- if, not, inSegment ----------------------------------------------------------------------

fn if_value<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let branch = if test(&a.args[0], cx, fr) { 1 } else { 2 };
    eval(&a.args[branch], cx, fr)
}

fn if_test<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let branch = if test(&a.args[0], cx, fr) { 1 } else { 2 };
    test(&a.args[branch], cx, fr)
}

fn not_test<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    !test(&a.args[0], cx, fr)
}

fn in_segment<'a>(a: &'a Apply, cx: &EvalContext<'a>, _fr: &mut Frame<'a>) -> bool {
    match a.arg(0) {
        Some(Node::Const(crate::pql::value::Value::Str(id))) => cx.memberships.is_member(id),
        _ => false,
    }
}

fn prepare_in_segment(a: &mut Apply) -> Result<(), Prep> {
    match a.arg(0) {
        Some(Node::Const(crate::pql::value::Value::Str(_))) => Ok(()),
        _ => Err(Prep {
            arg: 0,
            message: "inSegment takes the segment id as a string literal".to_string(),
        }),
    }
}

const MISC: &[FnDef] = &[
    FnDef::global(
        "if",
        &[Kind::Any, Kind::Any, Kind::Any],
        3,
        Impl::Both(if_value, if_test),
    ),
    FnDef::global("not", &[Kind::Any], 1, Impl::Test(not_test)),
    FnDef::global("inSegment", &[Kind::Str], 1, Impl::Test(in_segment))
        .impure()
        .with_prepare(prepare_in_segment),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pql::ast::is_item_relative_arg;
    use crate::pql::eval::testing::{check, data, eval_json};
    use serde_json::json;

    #[test]
    fn item_relative_kinds_agree_with_the_ast_helper() {
        for d in groups().into_iter().flatten().filter(|d| d.method) {
            for (i, k) in d.params.iter().enumerate() {
                assert_eq!(
                    *k == Kind::Item,
                    is_item_relative_arg(d.name, i),
                    "{} arg {i}",
                    d.name
                );
            }
        }
    }

    #[test]
    fn names_are_unique_per_call_style() {
        let mut seen = std::collections::HashSet::new();
        for d in groups().into_iter().flatten() {
            assert!(seen.insert((d.name, d.method)), "duplicate {}", d.name);
        }
    }

    #[test]
    fn if_not_and_in_segment() {
        let p = data(json!({"homeAddress": {"countryISO": "CA"}, "person": {"gender": "female"}}));
        assert_eq!(
            eval_json(&p, "if (homeAddress.countryISO = \"CA\", 1, 2)"),
            json!(1)
        );
        assert_eq!(
            eval_json(&p, "if (homeAddress.countryISO = \"US\", 1, 2)"),
            json!(2)
        );
        assert_eq!(eval_json(&p, "if (homeAddress.missing, 1, 2)"), json!(2));
        assert_eq!(
            eval_json(&p, "if(person.gender = \"female\", 60, 65)"),
            json!(60)
        );
        check(&p, "not(homeAddress.countryISO = \"US\")", true);
        check(&p, "!(homeAddress.countryISO = \"CA\")", false);
        check(&p, "inSegment(\"seg-member\")", true);
        check(&p, "inSegment(\"seg-existing\")", true);
        check(&p, "inSegment(\"seg-exited\")", false);
        check(&p, "inSegment(\"seg-unknown\")", false);
    }
}
