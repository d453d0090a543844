//! The `segmentation` binary: the service (`serve`, the default command, so `cargo run --release`
//! starts it) and small developer commands, such as `segmentation pql ...` for trying PQL
//! expressions.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use segmentation::config::{ServeArgs, Settings};
use segmentation::{app, rest, telemetry};

mod cli;

#[derive(Parser)]
#[command(
    name = "segmentation",
    version,
    about = "Audience segmentation service",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command: the `serve` flags.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: gRPC (and REST) on loopback by default (the default command).
    Serve(Box<ServeArgs>),
    /// Check, convert and evaluate PQL expressions.
    #[command(subcommand)]
    Pql(cli::pql::PqlCommand),
    /// Benchmark a segment job on generated data (profiles/s, evaluations/s, peak memory).
    BenchJob(cli::bench_job::BenchJobArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run_serve(&cli.serve),
        Some(Command::Serve(args)) => run_serve(&args),
        Some(Command::Pql(cmd)) => cli::pql::run(cmd),
        Some(Command::BenchJob(args)) => cli::bench_job::run(args),
    }
}

fn run_serve(args: &ServeArgs) -> ExitCode {
    let settings = match Settings::load(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("segmentation: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = telemetry::init(settings.log_format, &settings.log_level) {
        eprintln!("segmentation: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("segmentation: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::serve(settings, Some(rest::gateway))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("segmentation: {e}");
            ExitCode::FAILURE
        }
    }
}
