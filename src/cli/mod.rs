//! The subcommands of the `polrec` binary: clap arguments and the glue to the library.

pub mod convert;
pub mod eval;
pub mod themes;
pub mod train;

use std::path::Path;

use anyhow::Context;
use polrec::model::train_data::Example;
use polrec::{Classifier, Prediction};

/// Loads `--model` (a directory, or else a Hugging Face Hub id), or the embedded model.
pub fn load_classifier(model: Option<&str>) -> anyhow::Result<Classifier> {
    Classifier::load(model)
        .with_context(|| format!("loading the model {}", model.unwrap_or("(embedded)")))
}

/// Writes labelled sentences with what a model said of them, one JSON object a line:
/// `text`, `iso3` (where known), `gold` (the given label), `label` and `scores` (the
/// model's), for reading a model's errors.
pub fn write_predictions<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = (&'a Example, &'a Prediction)>,
) -> anyhow::Result<()> {
    let mut out = String::new();
    for (example, prediction) in rows {
        let record = serde_json::json!({
            "text": example.text,
            "iso3": example.speaker.map(|c| c.code()),
            "gold": example.label,
            "label": prediction.label,
            "scores": prediction.scores,
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}
