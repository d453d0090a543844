//! Command-line front ends. Each command is a thin shell over the library.

pub mod pql;
