//! (in progress)
pub fn print(_e: &crate::pql::ast::Expr) -> String {
    String::new()
}
