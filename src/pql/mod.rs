//! The PQL (Profile Query Language) engine.
//!
//! A clean pipeline: [`lexer`] -> [`parser`] (every node keeps its span; nesting depth is
//! limited) -> [`ast`] -> [`compiler`] (names, arities and argument kinds checked; constants
//! folded; field paths pre-resolved) -> [`eval`]. Beside it, [`printer`] writes canonical pql/text
//! and [`json`] reads and writes pql/json. [`value`] is the engine's data model and [`time`] its
//! UTC calendar arithmetic.
//!
//! The normative rules are `shared/spec/pql.md` Part 1 (D1–D6); `docs/pql.md` documents the
//! language as implemented: lexical rules, values and null rules, every operator and function,
//! and a table of how each Part 1 rule is implemented.
//!
//! # Grammar
//!
//! pql/text as the [`parser`] implements it (Part 2 §1.7 with the decisions of Part 1 D1 and
//! D6). Keywords are case-insensitive words, recognised only where the grammar expects them;
//! after a `.` every word is a name. `notIn` and `xEvent` are spelled exactly so. `{ }` is
//! repetition, `[ ]` option. The same block is in the parser's module doc and in `docs/pql.md`;
//! a unit test below keeps the three copies identical.
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
//! Precedence, loosest first: `let`, lambdas, binders and aggregates (their last part extends
//! as far right as possible); `or`; `and`; `not`/`!`; comparisons, `in`, `notIn`, `like`,
//! `matches`, `occurs` (non-associative); `+ -`; `* / %`; unary `-`; postfix `.name`,
//! `.name(...)`, `[...]`.

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

#[cfg(test)]
mod tests {
    /// The fenced block that follows the first `Grammar` heading of a file, with the `//! `
    /// doc-comment prefix removed from Rust sources.
    fn grammar_block(text: &str) -> Vec<String> {
        let lines: Vec<String> = text
            .lines()
            .map(|l| match l.strip_prefix("//!") {
                Some(doc) => doc.strip_prefix(' ').unwrap_or(doc).to_string(),
                None => l.to_string(),
            })
            .collect();
        let heading = lines
            .iter()
            .position(|l| l.starts_with('#') && l.trim_end().ends_with("Grammar"))
            .expect("a Grammar heading");
        let open = (heading..lines.len())
            .find(|&i| lines[i].starts_with("```"))
            .expect("a fenced block after the Grammar heading");
        let close = (open + 1..lines.len())
            .find(|&i| lines[i].trim_end() == "```")
            .expect("the end of the grammar block");
        lines[open + 1..close].to_vec()
    }

    /// The grammar is written down three times (the parser's module doc, this module's doc and
    /// the user documentation); they must not drift apart.
    #[test]
    fn grammar_copies_are_identical() {
        let parser = grammar_block(include_str!("parser.rs"));
        let module = grammar_block(include_str!("mod.rs"));
        let docs = grammar_block(include_str!("../../docs/pql.md"));
        assert!(
            parser.len() > 20,
            "the parser's grammar block looks truncated"
        );
        assert_eq!(
            module, parser,
            "src/pql/mod.rs and src/pql/parser.rs differ"
        );
        assert_eq!(docs, parser, "docs/pql.md and src/pql/parser.rs differ");
    }
}
