//! Command-line front ends. Each command is a thin shell over the library.

pub mod bench_data;
pub mod bench_job;
pub mod bench_members;
pub mod pql;
