//! The subcommands of the `polrec` binary: clap arguments and the glue to the library.

pub mod convert;
pub mod eval;
pub mod themes;
pub mod train;

use anyhow::Context;
use polrec::Classifier;

/// Loads `--model` (a directory, or else a Hugging Face Hub id), or the embedded model.
pub fn load_classifier(model: Option<&str>) -> anyhow::Result<Classifier> {
    Classifier::load(model)
        .with_context(|| format!("loading the model {}", model.unwrap_or("(embedded)")))
}
