//! The `polrec` command line: a thin clap layer over the library.

mod cli;

use clap::{Parser, Subcommand};

/// Label every sentence of diplomatic statements as call to action, commitment or context.
#[derive(Parser)]
#[command(name = "polrec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune the classifier and write a model directory.
    Train(cli::train::TrainArgs),
    /// Score the classifier on labelled sentences.
    Eval(cli::eval::EvalArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => cli::train::run(a),
        Command::Eval(a) => cli::eval::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("polrec: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
