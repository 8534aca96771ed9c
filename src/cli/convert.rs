//! `polrec convert`: rewrite a model directory's weights in another storage form.

use std::path::PathBuf;

use anyhow::Context;
use polrec::model::classifier::MODEL_FILES;
use polrec::model::weights::{self, Storage};

/// Rewrites a model directory with its weights stored as f32, f16 or int8.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The model directory to read.
    input: PathBuf,
    /// The model directory to write.
    output: PathBuf,
    /// How to store the weights.
    #[arg(long, value_enum, default_value = "int8")]
    storage: Storage,
}

/// Runs `polrec convert`.
pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    for name in MODEL_FILES {
        let from = args.input.join(name);
        let to = args.output.join(name);
        if name == "model.safetensors" {
            let bytes =
                std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
            let tensors = weights::read(&bytes, &candle_core::Device::Cpu)?;
            let mut named: Vec<_> = tensors.into_iter().collect();
            named.sort_by(|a, b| a.0.cmp(&b.0));
            weights::write(&named, args.storage, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    polrec::Classifier::from_dir(&args.output).context("checking the written model")?;
    Ok(())
}
