//! The project's single integration-test binary (one binary links the crate once, which keeps
//! build times down). Each module is one area of tests.

mod jobs;
mod pql_cli;
mod pql_golden;
mod service;
