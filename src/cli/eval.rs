//! `polrec eval`: score the classifier (and optional baselines) on labelled sentences.

use std::path::PathBuf;

use anyhow::{bail, Context};
use polrec::io::diagnostics::Diagnostics;
use polrec::model::baselines::{keyword_rule, ZeroShot};
use polrec::model::embedder::Embedder;
use polrec::model::metrics::Evaluation;
use polrec::model::train_data::{read_labelled_skipping_bad_lines, LabelledFile};

use super::{load_classifier, write_predictions};

/// Scores labels against a labelled JSONL file (`text`, `label`).
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled JSONL: one sentence a record, with `text` and `label`, and the speaker's
    /// `iso3` or `delegation` where known. A line that cannot be read is named on stderr
    /// and skipped; the rest is scored (exit status 1).
    file: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Model directory or Hugging Face Hub id (default: the embedded model).
    #[arg(long, value_name = "PATH_OR_HUB_ID")]
    model: Option<String>,
    /// Also score the keyword rule and, with --base, the zero-shot rule.
    #[arg(long)]
    baselines: bool,
    /// Base encoder directory for the zero-shot baseline.
    #[arg(long, env = "POLREC_BASE_MODEL", value_name = "DIR")]
    base: Option<PathBuf>,
    /// Also write each scored sentence to FILE (JSONL: `text`, `iso3`, `gold`, and the
    /// model's `label` and `scores`), to read the model's errors.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

/// Runs `polrec eval`: `Ok(false)` when some lines of the file were skipped (each named
/// on stderr; the rest is scored).
pub fn run(args: &EvalArgs) -> anyhow::Result<bool> {
    let LabelledFile { examples, skipped } = read_labelled_skipping_bad_lines(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let diagnostics = Diagnostics::new(|line| eprintln!("{line}"), true);
    skipped.iter().for_each(|bad| diagnostics.fail(bad));
    if examples.is_empty() {
        bail!("{}: no labelled sentence to score", args.file.display());
    }
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let gold = examples.iter().map(|e| e.label);
    let classifier = load_classifier(args.model.as_deref())?;
    let said: Vec<(&str, Option<&str>)> = examples
        .iter()
        .map(|e| (e.text.as_str(), e.speaker.map(|c| c.code())))
        .collect();
    let predictions = classifier.classify_said_by(&said)?;
    let model = Evaluation::new(gold.clone().zip(predictions.iter().map(|p| p.label)));
    if let Some(path) = &args.predictions {
        write_predictions(path, examples.iter().zip(&predictions))?;
    }
    let mut baselines: Vec<(&str, Evaluation)> = Vec::new();
    if args.baselines {
        let kw = Evaluation::new(gold.clone().zip(texts.iter().map(|t| keyword_rule(t))));
        baselines.push(("keyword_rule", kw));
        if let Some(base) = &args.base {
            let zs = ZeroShot::new(
                Embedder::from_dir(base).with_context(|| format!("loading {}", base.display()))?,
            )?;
            let zl = zs.classify(&texts)?;
            baselines.push(("zero_shot", Evaluation::new(gold.clone().zip(zl))));
        } else {
            eprintln!("zero-shot baseline skipped: give --base DIR (the base all-MiniLM-L6-v2)");
        }
    }
    if args.json {
        let mut v = serde_json::to_value(&model)?;
        v["skipped_lines"] = skipped.len().into();
        if !baselines.is_empty() {
            let map: serde_json::Map<String, serde_json::Value> = baselines
                .iter()
                .map(|(n, e)| Ok((n.to_string(), serde_json::to_value(e)?)))
                .collect::<serde_json::Result<_>>()?;
            v["baselines"] = serde_json::Value::Object(map);
        }
        println!("{v}");
    } else {
        println!("{}", model.to_table());
        for (name, e) in baselines {
            println!(
                "baseline {name}: macro-F1 {:.3}, accuracy {:.3}",
                e.macro_f1, e.accuracy
            );
        }
        if !skipped.is_empty() {
            eprintln!("{} line(s) skipped, named above", skipped.len());
        }
    }
    Ok(skipped.is_empty())
}
