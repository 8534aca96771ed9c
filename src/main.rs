//! The `polrec` command line: a thin layer over the library. Each subcommand is one
//! variant of [`Command`] whose arguments and work live in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Label every sentence of diplomatic statements as call to action, commitment or context.
#[derive(Debug, Parser)]
#[command(name = "polrec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Label(polrec::io::LabelArgs),
}

/// Exit status when some input failed but the rest was written.
const INPUT_FAILED: u8 = 1;
/// Exit status for bad usage, or a run that could not go on.
const CANNOT_RUN: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with status 2 on bad usage
    let result = match &cli.command {
        Command::Label(args) => polrec::io::label::run(args).map(|s| s.failures == 0),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(INPUT_FAILED),
        Err(polrec::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS // the reader of our output has had enough, as with `| head`
        }
        Err(error) => {
            eprintln!("error: {:#}", anyhow::Error::from(error));
            ExitCode::from(CANNOT_RUN)
        }
    }
}
