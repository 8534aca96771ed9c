//! `polrec convert`: rewrite a model directory's weights in another storage form.

use std::path::PathBuf;

use anyhow::Context;
use polrec::model::classifier::{sha256_hex, Manifest, MODEL_FILES};
use polrec::model::weights::{self, Storage};

/// Rewrites a model directory with its weights stored as f32, f16 or int8 (and their
/// new checksum in `polrec.json`).
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
    let read = |name: &str| {
        let path = args.input.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    for name in MODEL_FILES {
        let to = args.output.join(name);
        match name {
            "model.safetensors" => {
                let tensors = weights::read(&read(name)?, &candle_core::Device::Cpu)?;
                let mut named: Vec<_> = tensors.into_iter().collect();
                named.sort_by(|a, b| a.0.cmp(&b.0));
                weights::write(&named, args.storage, &to)?;
            }
            // Written after the weights: it carries their new checksum.
            "polrec.json" => {}
            _ => std::fs::write(&to, read(name)?)
                .with_context(|| format!("writing {}", to.display()))?,
        }
    }
    let mut manifest: Manifest = serde_json::from_slice(&read("polrec.json")?)
        .with_context(|| format!("reading {}", args.input.join("polrec.json").display()))?;
    let written = args.output.join("model.safetensors");
    let bytes =
        std::fs::read(&written).with_context(|| format!("reading {}", written.display()))?;
    manifest.sha256 = Some(sha256_hex(&bytes));
    let to = args.output.join("polrec.json");
    std::fs::write(&to, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("writing {}", to.display()))?;
    polrec::Classifier::from_dir(&args.output).context("checking the written model")?;
    Ok(())
}
