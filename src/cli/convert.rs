//! `polrec convert`: rewrite a model directory's weights in another storage form.

use std::path::PathBuf;

use anyhow::Context;
use polrec::model::classifier::Manifest;
use polrec::model::weights::{self, Storage};

/// Rewrites a model directory with its weights stored as f32, f16, int8 or int8-emb4 (and their
/// new checksum in `polrec.json`).
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The model directory to read.
    input: PathBuf,
    /// The model directory to write.
    output: PathBuf,
    /// How to store the weights.
    #[arg(long, value_enum, default_value = "int8-emb4")]
    storage: Storage,
}

/// Runs `polrec convert`.
pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let read = |name: &str| {
        let path = args.input.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    for name in ["config.json", "tokenizer.json"] {
        let to = args.output.join(name);
        std::fs::write(&to, read(name)?).with_context(|| format!("writing {}", to.display()))?;
    }
    let manifest: Manifest = serde_json::from_slice(&read("polrec.json")?)
        .with_context(|| format!("reading {}", args.input.join("polrec.json").display()))?;
    let tensors = weights::read(&read("model.safetensors")?, &candle_core::Device::Cpu)?;
    let mut named: Vec<_> = tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    // The weights with their new checksum in polrec.json.
    manifest.write_with_weights(&args.output, &named, args.storage)?;
    polrec::Classifier::from_dir(&args.output).context("checking the written model")?;
    Ok(())
}
