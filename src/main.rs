//! The `polrec` command line: a thin layer over the library. Each subcommand is one
//! variant of [`Command`] whose arguments and work live in the library or in `cli/`.

mod cli;

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
    /// Split inputs into sentences and label each one.
    Label(polrec::io::LabelArgs),
    /// Compare groups (delegations, years, …) of labelled sentences.
    Compare(polrec::analysis::CompareArgs),
    /// List the policy themes, or calibrate their tagging threshold.
    Themes(polrec::analysis::ThemesArgs),
    /// Score the classifier on labelled sentences.
    Eval(cli::eval::EvalArgs),
    /// Fine-tune the classifier and write a model directory.
    Train(cli::train::TrainArgs),
    /// Measure the throughput of the whole pipeline on a corpus.
    Bench(polrec::bench::BenchArgs),
    /// Rewrite a model directory with its weights stored as f32, f16 or int8.
    Convert(cli::convert::ConvertArgs),
}

/// Exit status when some input failed (or was labelled altered) but the rest was written.
const INPUT_FAILED: u8 = 1;
/// Exit status for bad usage, or a run that could not go on.
const CANNOT_RUN: u8 = 2;

/// Runs the subcommand; `Ok(false)` when some input failed or was altered.
fn run(command: &Command) -> anyhow::Result<bool> {
    Ok(match command {
        Command::Label(args) => polrec::io::label::run(args)?.all_well(),
        Command::Compare(args) => polrec::analysis::run_compare(args)?.failures == 0,
        Command::Themes(args) => cli::themes::run(args).map(|()| true)?,
        Command::Eval(args) => cli::eval::run(args)?,
        Command::Train(args) => cli::train::run(args).map(|()| true)?,
        Command::Bench(args) => polrec::bench::run(args)?.failures == 0,
        Command::Convert(args) => cli::convert::run(args).map(|()| true)?,
    })
}

/// Whether `error` is a write to a reader that has gone away, as with `| head`.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref(), Some(polrec::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with status 2 on bad usage
    match run(&cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(INPUT_FAILED),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(CANNOT_RUN)
        }
    }
}
