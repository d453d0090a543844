//! The PQL (Profile Query Language) engine.
//!
//! A clean pipeline: [`lexer`] -> [`parser`] (every node keeps its span; nesting depth is
//! limited) -> [`ast`] -> [`compiler`] (names, arities and argument kinds checked; constants
//! folded; field paths pre-resolved) -> [`eval`]. Beside it, [`printer`] writes canonical pql/text
//! and [`json`] reads and writes pql/json. [`value`] is the engine's data model and [`time`] its
//! UTC calendar arithmetic.
//!
//! The normative rules are `shared/spec/pql.md` Part 1 (D1–D6); `docs/pql.md` documents the
//! language as implemented.

pub mod ast;
pub mod compiler;
pub mod context;
pub mod error;
pub mod eval;
pub mod json;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod time;
pub mod value;

pub use ast::{Expr, ExprKind, Span};
pub use compiler::{Program, compile};
pub use context::{EvalContext, MembershipStatus, Memberships, NoMemberships, ProfileRecord};
pub use error::PqlError;
pub use value::Value;

/// Parses and compiles pql/text in one step.
pub fn compile_text(src: &str) -> Result<Program, PqlError> {
    compile(&parser::parse(src)?)
}
