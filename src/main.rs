//! The `segmentation` binary: the service (coming with the service foundation) and small
//! developer commands, starting with `segmentation pql ...` for trying PQL expressions.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "segmentation",
    version,
    about = "Audience segmentation service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, convert and evaluate PQL expressions.
    #[command(subcommand)]
    Pql(cli::pql::PqlCommand),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Command::Pql(cmd) => cli::pql::run(cmd),
    }
}
