//! `segmentation pql check | convert | eval`: the PQL engine from the command line.
//!
//! Every command takes the expression as an argument, or from a file with `@path`. Errors go to
//! stderr with line:column and a caret under the spot, and the exit status is 1.

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use segmentation::pql::{self, PqlError, ProfileRecord};

#[derive(Subcommand)]
pub enum PqlCommand {
    /// Compile an expression and print its canonical pql/text, or the error.
    Check {
        /// The expression (pql/text), or @path to read it from a file.
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
    /// Convert between pql/text and pql/json.
    Convert {
        /// Target format: `json` reads pql/text, `text` reads pql/json.
        #[arg(long, value_enum)]
        to: Format,
        /// The expression, or @path to read it from a file.
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
    /// Evaluate an expression over profiles and print the ids of those that match.
    Eval {
        /// A JSON array or JSON-lines file of
        /// {"id", "profile", "events", "memberships"} records.
        #[arg(long)]
        profiles: String,
        /// The evaluation instant (RFC 3339), e.g. 2024-06-15T12:00:00Z.
        #[arg(long)]
        at: String,
        /// Print every profile with its value instead of only the matching ids.
        #[arg(long)]
        explain: bool,
        /// The expression (pql/text), or @path to read it from a file.
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Text,
}

pub fn run(cmd: PqlCommand) -> ExitCode {
    let result = match cmd {
        PqlCommand::Check { expr } => check(&expr),
        PqlCommand::Convert { to, expr } => convert(to, &expr),
        PqlCommand::Eval {
            profiles,
            at,
            explain,
            expr,
        } => eval(&profiles, &at, explain, &expr),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprint!("{message}");
            if !message.ends_with('\n') {
                eprintln!();
            }
            ExitCode::FAILURE
        }
    }
}

/// The expression argument, or the contents of the file named after `@` (`@{...}` is left to
/// the parser, which explains that context-data references are not supported).
fn read_expr(arg: &str) -> Result<String, String> {
    match arg.strip_prefix('@').filter(|path| !path.starts_with('{')) {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
        None => Ok(arg.to_string()),
    }
}

fn compile_error(src: &str, err: &PqlError) -> String {
    err.render(src)
}

fn check(arg: &str) -> Result<(), String> {
    let src = read_expr(arg)?;
    let tree = pql::parser::parse(&src).map_err(|e| compile_error(&src, &e))?;
    pql::compile(&tree).map_err(|e| compile_error(&src, &e))?;
    print_line(&pql::printer::print(&tree))
}

fn convert(to: Format, arg: &str) -> Result<(), String> {
    let src = read_expr(arg)?;
    let out = match to {
        Format::Json => {
            let tree = pql::parser::parse(&src).map_err(|e| compile_error(&src, &e))?;
            pql::compile(&tree).map_err(|e| compile_error(&src, &e))?;
            serde_json::to_string_pretty(&pql::json::to_json(&tree))
                .map_err(|e| format!("cannot encode JSON: {e}"))?
        }
        Format::Text => {
            let tree = pql::json::from_json_str(&src).map_err(|e| format!("error: {e}"))?;
            let text = pql::printer::print(&tree);
            pql::compile(&tree).map_err(|e| format!("error: {e}"))?;
            text
        }
    };
    print_line(&out)
}

/// Writes one line to stdout. A reader that went away (`| head`) ends the command quietly
/// instead of panicking as `println!` would.
fn print_line(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {e}"))
        }
        _ => Ok(()),
    }
}

fn eval(profiles: &str, at: &str, explain: bool, arg: &str) -> Result<(), String> {
    let src = read_expr(arg)?;
    let now = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|e| {
            format!("--at {at:?} is not an RFC 3339 instant ({e}); e.g. 2024-06-15T12:00:00Z")
        })?
        .timestamp_millis();
    let program = pql::compile_text(&src).map_err(|e| compile_error(&src, &e))?;
    let text =
        std::fs::read_to_string(profiles).map_err(|e| format!("cannot read {profiles}: {e}"))?;
    let records = ProfileRecord::parse_many(&text).map_err(|e| format!("{profiles}: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for record in &records {
        let ctx = record.context(now);
        let line = if explain {
            let value = program.evaluate(&ctx);
            Some(format!(
                "{}\t{}\t{}",
                record.id,
                value.truthy(),
                value.to_json()
            ))
        } else {
            program.matches(&ctx).then(|| record.id.clone())
        };
        if let Some(line) = line {
            match writeln!(out, "{line}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                other => other.map_err(|e| format!("cannot write output: {e}"))?,
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write output: {e}"))
        }
        _ => Ok(()),
    }
}
