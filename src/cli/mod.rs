//! The subcommands of the `polrec` binary: clap arguments and the glue to the library.

pub mod eval;
pub mod train;

use anyhow::Context;
use polrec::Classifier;

/// Loads `--model` (a directory, or else a Hugging Face Hub id), or the embedded model.
pub fn load_classifier(model: Option<&str>) -> anyhow::Result<Classifier> {
    match model {
        None => Classifier::embedded().context("loading the embedded model"),
        Some(m) if std::path::Path::new(m).is_dir() => {
            Classifier::from_dir(m).with_context(|| format!("loading the model directory {m}"))
        }
        Some(m) => Classifier::from_hub(m).with_context(|| format!("loading {m} from the Hugging Face Hub")),
    }
}
