//! `polrec train`: fine-tune the classifier (or average fine-tuned ones) and write a model directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polrec::model::checkpoint::Checkpoints;
use polrec::model::train::{
    average, train, train_resumable, BaseModel, Fold, Outcome, Resumable, TrainConfig,
};
use polrec::model::train_data::{
    read_labelled, rebuild_real_sentences, relabel, Example, RealSentence,
};
use polrec::model::weights::{self, Storage};

use super::write_predictions;

/// Fine-tunes all-MiniLM-L6-v2 (encoder and head) on labelled sentences.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Labelled JSONL files (`text`, `label`), e.g. datasets/train.jsonl.
    #[arg(long = "data", value_name = "FILE")]
    data: Vec<PathBuf>,
    /// Labelled JSONL files like --data, only trained on: none of their sentences is
    /// held out, so the validation slice stays that of the other data.
    #[arg(long = "train-only", value_name = "FILE")]
    train_only: Vec<PathBuf>,
    /// Index of real labelled sentences (datasets/real-train.index.jsonl), rebuilt from
    /// `--corpus` at training time.
    #[arg(long, value_name = "FILE", requires = "corpus")]
    real_index: Option<PathBuf>,
    /// Indexes of real labelled sentences like --real-index, only trained on: none of
    /// their sentences is held out (e.g. datasets/real-extra.index.jsonl).
    #[arg(long = "train-only-index", value_name = "FILE", requires = "corpus")]
    train_only_index: Vec<PathBuf>,
    /// Of each --train-only-index, train only on the sentences both of whose annotators
    /// were confident of the label (`both_confident`).
    #[arg(long, requires = "train_only_index")]
    confident_only: bool,
    /// Indexes of real sentences like --train-only-index whose labels (and `both_confident`)
    /// replace those of the same sentences in the --train-only-index sets, e.g. a second
    /// labelling of the sentences the first annotators hesitated over; every sentence must
    /// be in one of those sets.
    #[arg(long, value_name = "FILE", requires = "train_only_index")]
    relabel: Vec<PathBuf>,
    /// The UN General Debate Corpus as JSONL (.jsonl or .jsonl.gz) that `--real-index`
    /// and `--train-only-index` point into.
    #[arg(long, value_name = "FILE")]
    corpus: Option<PathBuf>,
    /// Base encoder directory (config.json, tokenizer.json, model.safetensors), or a
    /// model directory polrec wrote, to train that model further (its encoder and head).
    #[arg(long, env = "POLREC_BASE_MODEL", value_name = "DIR")]
    base: PathBuf,
    /// Where to write the model directory (with `train-report.json`, the run's figures,
    /// and `validation.jsonl`, each validation sentence with its gold and model labels).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// How to store the weights.
    #[arg(long, value_enum, default_value = "int8-emb4")]
    storage: Storage,
    /// Largest number of epochs.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Sentences per step.
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f64,
    /// Epochs without a better validation score before training stops early.
    #[arg(long, default_value_t = TrainConfig::default().patience)]
    patience: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Draw the held-out slice (or --fold) with this seed instead of --seed: runs with
    /// other seeds then hold out the same sentences, e.g. to average them (--average).
    #[arg(long, value_name = "SEED")]
    split_seed: Option<u64>,
    /// Hold out fold I of K (e.g. 2/5) of the --data/--real-index examples instead of a
    /// random 10%: runs with the same data and seed over I = 1..K hold out each example once.
    #[arg(long, value_name = "I/K", value_parser = parse_fold)]
    fold: Option<Fold>,
    /// Read sentences as they are, without writing the speaker's own country (known
    /// for the real-train set, and from `iso3` or `delegation` in --data) as "my country".
    #[arg(long)]
    no_own_country: bool,
    /// Use only the first N examples (for quick trials and tests).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Instead of training, average the weights of these model directories (trained
    /// from --base on the same data with the same --seed, or --split-seed; give it twice
    /// or more), then calibrate and score the average on their validation slice.
    #[arg(long, value_name = "DIR", num_args = 1)]
    average: Vec<PathBuf>,
    /// Save the run's state in DIR after every epoch, and resume from the latest state
    /// there, if a run with the same data and settings left one: a stopped run goes on
    /// where it was and ends as if it had not stopped (with one thread).
    #[arg(long, value_name = "DIR", conflicts_with = "average")]
    checkpoint: Option<PathBuf>,
    /// Stop after N epochs of this invocation, leaving the state in --checkpoint for the
    /// same command to resume (e.g. to fit time-limited jobs).
    #[arg(long, value_name = "N", requires = "checkpoint", value_parser = clap::value_parser!(u64).range(1..))]
    pause_after: Option<u64>,
}

/// `I/K` with 1 <= I <= K and K >= 2, as a 0-based [`Fold`].
fn parse_fold(text: &str) -> Result<Fold, String> {
    let (i, k) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/K, e.g. 2/5"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{text}` is not I/K, e.g. 2/5"))
    };
    let (i, k) = (number(i)?, number(k)?);
    if k < 2 || i == 0 || i > k {
        return Err(format!("fold `{text}`: need 1 <= I <= K and K >= 2"));
    }
    Ok(Fold {
        index: i - 1,
        of: k,
    })
}

/// The labelled sentences of a real-sentence index, rebuilt from the corpus.
fn rebuild(index: &Path, corpus: &Path) -> anyhow::Result<Vec<RealSentence>> {
    let real = rebuild_real_sentences(index, corpus)
        .with_context(|| format!("rebuilding {} from {}", index.display(), corpus.display()))?;
    eprintln!(
        "{}: {} examples rebuilt from {}",
        index.display(),
        real.len(),
        corpus.display()
    );
    Ok(real)
}

/// The training-only real sentences: those of `args.train_only_index`, relabelled by
/// `args.relabel`, only those both annotators were confident of if `args.confident_only`.
fn train_only_real(args: &TrainArgs, corpus: &Path) -> anyhow::Result<Vec<Example>> {
    let mut sentences = Vec::new();
    for index in &args.train_only_index {
        sentences.extend(rebuild(index, corpus)?);
    }
    let mut relabelled = Vec::new();
    for index in &args.relabel {
        relabelled.extend(rebuild(index, corpus)?);
    }
    if !relabelled.is_empty() {
        let done = relabel(&mut sentences, &relabelled);
        if done.unused > 0 {
            bail!(
                "--relabel: {} of {} sentences are in no --train-only-index",
                done.unused,
                relabelled.len()
            );
        }
        eprintln!(
            "--relabel: {} sentences relabelled, {} of them changed label or confidence",
            relabelled.len(),
            done.changed
        );
    }
    let total = sentences.len();
    let kept: Vec<Example> = sentences
        .into_iter()
        .filter(|s| s.both_confident || !args.confident_only)
        .map(|s| Example::from(s).for_training_only())
        .collect();
    if args.confident_only {
        eprintln!(
            "--confident-only: {} of {total} sentences both annotators were confident of",
            kept.len()
        );
    }
    Ok(kept)
}

/// Runs `polrec train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    keep_freed_memory();
    let mut examples: Vec<Example> = Vec::new();
    for path in &args.data {
        let part = read_labelled(path).with_context(|| format!("reading {}", path.display()))?;
        eprintln!("{}: {} examples", path.display(), part.len());
        examples.extend(part);
    }
    if let (Some(index), Some(corpus)) = (&args.real_index, &args.corpus) {
        examples.extend(rebuild(index, corpus)?.into_iter().map(Example::from));
    }
    for path in &args.train_only {
        let part = read_labelled(path).with_context(|| format!("reading {}", path.display()))?;
        eprintln!(
            "{}: {} examples, for training only",
            path.display(),
            part.len()
        );
        examples.extend(part.into_iter().map(Example::for_training_only));
    }
    if let Some(corpus) = &args.corpus {
        examples.extend(train_only_real(args, corpus)?);
    }
    if let Some(n) = args.limit {
        examples.truncate(n);
    }
    if examples.is_empty() {
        bail!("no training data: give --data FILE and/or --real-index FILE --corpus FILE");
    }
    let base = BaseModel::from_dir(&args.base)
        .with_context(|| format!("loading the base model from {}", args.base.display()))?;
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        split_seed: args.split_seed,
        patience: args.patience,
        fold: args.fold,
        own_country: !args.no_own_country,
        ..TrainConfig::default()
    };
    let (trained, report) = if let Some(dir) = &args.checkpoint {
        let resumable = Resumable {
            checkpoints: Checkpoints::new(dir),
            pause_after: args.pause_after.map(|n| n as usize),
        };
        match train_resumable(&base, &examples, &cfg, &resumable, &mut |msg| {
            eprintln!("{msg}")
        })
        .with_context(|| format!("training with checkpoints in {}", dir.display()))?
        {
            Outcome::Done(done) => *done,
            Outcome::Paused { epoch } => {
                eprintln!(
                    "paused after epoch {epoch} of {}: run the same command again to resume",
                    cfg.epochs
                );
                return Ok(());
            }
        }
    } else if args.average.is_empty() {
        train(&base, &examples, &cfg, &mut |msg| eprintln!("{msg}"))?
    } else {
        let members = args
            .average
            .iter()
            .map(|dir| {
                let path = dir.join("model.safetensors");
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                weights::read(&bytes, &candle_core::Device::Cpu)
                    .with_context(|| format!("reading {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (trained, report) = average(&base, &examples, &cfg, &members)?;
        for (dir, f1) in args.average.iter().zip(&report.members_validation_macro_f1) {
            eprintln!("{}: validation macro-F1 {f1:.4}", dir.display());
        }
        (trained, report)
    };
    trained
        .save(&base, args.storage, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let report_path = args.output.join("train-report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", report_path.display()))?;
    let held_out = report
        .held_out
        .iter()
        .map(|h| (&examples[h.example], &h.prediction));
    write_predictions(&args.output.join("validation.jsonl"), held_out)?;
    eprintln!(
        "best epoch {}: validation macro-F1 {:.4}; temperature {:.2} (ECE {:.4} -> {:.4}); model in {}",
        report.best_epoch,
        report.validation.macro_f1,
        report.temperature,
        report.ece_before,
        report.ece_after,
        args.output.display()
    );
    Ok(())
}

/// Keeps freed memory in the process for reuse, for training. By default glibc's malloc
/// hands every large block back to the kernel when it is freed, and the next training
/// step faults the same pages in again: `polrec train` ran 1.4 times faster without it
/// (models/README.md, "Training speed"). Labelling gains nothing and would keep more
/// memory, so only `train` sets it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets two of malloc's parameters, under malloc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
