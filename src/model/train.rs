//! Fine-tuning the encoder and head with candle: AdamW, linear warm-up and decay,
//! early stopping on a held-out slice of the training data, temperature scaling, all
//! seeded and reproducible; a run may save its state after each epoch and resume from it
//! ([`super::checkpoint`]) with the same outcome.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::ParamsAdamW;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bert::{fuse_qkv, Encoder, EncoderConfig, MaskSource, Mode};
use super::checkpoint::{Checkpoints, RunState, RunTensors};
use super::classifier::{encoder_and_head, Manifest, MODEL_FILES};
use super::head::{prediction_from_logits, Head};
use super::metrics::{expected_calibration_error, Evaluation};
use super::optim::AdamW;
use super::tokenizer::{pad_batch, without_fixed_length, Encoded, SentenceTokenizer};
use super::train_data::Example;
use super::weights::{self, Storage};
use super::{Label, Prediction};
use crate::{Error, Result};

/// Settings of a training run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainConfig {
    /// Largest number of passes over the training data.
    pub epochs: usize,
    /// Sentences per optimisation step.
    pub batch_size: usize,
    /// Peak learning rate of AdamW.
    pub learning_rate: f64,
    /// Share of steps spent warming the learning rate up from 0.
    pub warmup: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Dropout probability inside the encoder and before the head.
    pub dropout: f32,
    /// Share of the training data held out for early stopping and calibration.
    pub validation: f64,
    /// Hold out this fold instead of [`TrainConfig::validation`]'s share: runs with the
    /// same examples and seed over every fold of a [`Fold::of`] hold out each example once.
    pub fold: Option<Fold>,
    /// Epochs without a better validation macro-F1 before stopping.
    pub patience: usize,
    /// Training inputs are truncated at this many tokens.
    pub max_len: usize,
    /// Seed of every random choice (split, shuffling, initialisation, dropout).
    pub seed: u64,
    /// Seed of the split alone, in place of [`TrainConfig::seed`]: runs with other seeds
    /// then hold out the same sentences (to compare seeds, or to [`average`] them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    /// Train on sentences with the speaker's own country written as "my country"
    /// ([`Example::own_country_text`]), for examples whose speaker is known; the model
    /// records it ([`Manifest::own_country`]) and reads its input so.
    pub own_country: bool,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 4,
            batch_size: 32,
            learning_rate: 5e-5,
            warmup: 0.1,
            weight_decay: 0.01,
            dropout: 0.1,
            validation: 0.1,
            fold: None,
            patience: 1,
            max_len: 128,
            seed: 13,
            split_seed: None,
            own_country: true,
        }
    }
}

/// One part of a k-fold split of the examples that are not train-only: per label,
/// shuffled by the seed, every `of`-th example from the `index`-th on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fold {
    /// The fold held out, from 0.
    pub index: usize,
    /// The number of folds (at least 2).
    pub of: usize,
}

/// What one epoch measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Macro-F1 on the validation slice.
    pub validation_macro_f1: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

/// What a training run measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// The settings.
    pub config: TrainConfig,
    /// Training and validation sentence counts.
    pub train_size: usize,
    /// Validation sentence count.
    pub validation_size: usize,
    /// Per-epoch figures.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose weights were kept (0 for an average of models).
    pub best_epoch: usize,
    /// Validation scores of the kept weights.
    pub validation: Evaluation,
    /// Calibrated temperature.
    pub temperature: f32,
    /// Expected calibration error on the validation slice before temperature scaling.
    pub ece_before: f64,
    /// The same after temperature scaling.
    pub ece_after: f64,
    /// For an averaged model ([`average`]): each member's validation macro-F1, in the
    /// order given (empty for a trained one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members_validation_macro_f1: Vec<f64>,
    /// The kept weights' calibrated prediction for each validation sentence, in the
    /// order of the slice (not in the report file: `polrec train` writes them to
    /// `validation.jsonl`).
    #[serde(skip)]
    pub held_out: Vec<HeldOut>,
}

/// A validation sentence and what the calibrated model said of it.
#[derive(Debug, Clone)]
pub struct HeldOut {
    /// Its position in the examples given to [`train`] or [`average`].
    pub example: usize,
    /// The calibrated prediction.
    pub prediction: Prediction,
}

/// Dropout masks drawn from a seeded generator (ChaCha12, the algorithm of `rand`'s
/// `StdRng`, whose position can be saved and restored).
pub struct SeededMasks(pub ChaCha12Rng);

impl MaskSource for SeededMasks {
    fn mask(&mut self, shape: &[usize], p: f32, device: &Device) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let keep = 1.0 / (1.0 - p);
        let v: Vec<f32> = (0..n)
            .map(|_| {
                if self.0.random::<f32>() < p {
                    0.0
                } else {
                    keep
                }
            })
            .collect();
        Ok(Tensor::from_vec(v, shape, device)?)
    }
}

/// The base encoder a run starts from: its config, tokenizer and weights.
pub struct BaseModel {
    /// Encoder configuration (`config.json`).
    pub config: EncoderConfig,
    /// Raw `config.json`, written unchanged into the trained model.
    pub config_json: Vec<u8>,
    /// Raw `tokenizer.json`, written into the trained model without its fixed padding and
    /// truncation ([`without_fixed_length`]).
    pub tokenizer_json: Vec<u8>,
    /// Encoder weights, f32, checkpoint names.
    pub weights: HashMap<String, Tensor>,
    /// The head (`head.weight` `[3, hidden]`, `head.bias` `[3]`) of a model directory polrec
    /// wrote: a run goes on training it; `None` (a plain encoder) starts a fresh seeded head.
    pub head: Option<(Tensor, Tensor)>,
}

impl BaseModel {
    /// Reads a sentence-transformers / Hugging Face BERT directory (`config.json`,
    /// `tokenizer.json`, `model.safetensors`), or a model directory polrec wrote, whose
    /// training then goes on from its encoder and head.
    pub fn from_dir(dir: &Path) -> Result<BaseModel> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let config_json = read("config.json")?;
        let config: EncoderConfig = serde_json::from_slice(&config_json)
            .map_err(|e| Error::Model(format!("{}/config.json: {e}", dir.display())))?;
        let mut weights = weights::read(&read("model.safetensors")?, &Device::Cpu)?;
        let head = match (weights.remove("head.weight"), weights.remove("head.bias")) {
            (Some(w), Some(b)) if w.dims() == [3, config.hidden_size] && b.dims() == [3] => {
                Some((w, b))
            }
            (None, None) => None,
            _ => {
                return Err(Error::Model(format!(
                    "{}/model.safetensors: `head.weight` and `head.bias` are not a head of \
                     shapes [3, {}] and [3]",
                    dir.display(),
                    config.hidden_size
                )))
            }
        };
        weights.retain(|k, _| k.starts_with("embeddings.") || k.starts_with("encoder."));
        Ok(BaseModel {
            config,
            config_json,
            tokenizer_json: read("tokenizer.json")?,
            weights,
            head,
        })
    }
}

/// A trained classifier's trainable state.
pub struct Trained {
    encoder: Encoder,
    head: Head,
    own_country: bool,
}

impl Trained {
    /// The state of a run of `cfg`.
    fn new(encoder: Encoder, head: Head, cfg: &TrainConfig) -> Trained {
        Trained {
            encoder,
            head,
            own_country: cfg.own_country,
        }
    }

    /// Writes a model directory ([`MODEL_FILES`]) that [`super::Classifier::from_dir`]
    /// loads, with the SHA-256 of the weights in `polrec.json` so that they are checked at load.
    pub fn save(&self, base: &BaseModel, storage: Storage, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
        let write = |name: &str, bytes: &[u8]| -> Result<()> {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })
        };
        write(MODEL_FILES[0], &base.config_json)?;
        write(MODEL_FILES[1], &without_fixed_length(&base.tokenizer_json)?)?;
        let mut tensors = self.encoder.named_tensors()?;
        let (w, b) = self.head.tensors();
        tensors.push(("head.weight".into(), w));
        tensors.push(("head.bias".into(), b));
        Manifest {
            labels: Label::ALL.iter().map(|l| l.as_str().to_string()).collect(),
            temperature: self.head.temperature(),
            max_len: base.config.max_position_embeddings,
            sha256: None,
            own_country: self.own_country,
        }
        .write_with_weights(dir, &tensors, storage)
    }
}

struct Prepared {
    /// Position in the examples given.
    source: usize,
    encoded: Encoded,
    label: Label,
    weight: f32,
    train_only: bool,
}

/// Splits examples into training and validation parts, stratified by label, seeded:
/// `share` of each label held out, or the examples of `fold`. Examples marked train-only
/// all go to training and leave the split of the others as it would be without them.
fn split(
    examples: Vec<Prepared>,
    share: f64,
    fold: Option<Fold>,
    rng: &mut ChaCha12Rng,
) -> (Vec<Prepared>, Vec<Prepared>) {
    let mut by_label: [Vec<Prepared>; 3] = Default::default();
    let mut train_only = Vec::new();
    for e in examples {
        match e.train_only {
            true => train_only.push(e),
            false => by_label[e.label.index()].push(e),
        }
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut group in by_label {
        group.shuffle(rng);
        match fold {
            Some(f) => {
                for (i, e) in group.into_iter().enumerate() {
                    if i % f.of.max(1) == f.index {
                        val.push(e);
                    } else {
                        train.push(e);
                    }
                }
            }
            None => {
                let n_val = (group.len() as f64 * share).round() as usize;
                val.extend(group.drain(..n_val));
                train.extend(group);
            }
        }
    }
    train.extend(train_only);
    (train, val)
}

/// Batches of indices: shuffled, then sorted by length within windows of 50 batches so
/// that padding stays small, then the batches themselves shuffled.
fn batches(data: &[Prepared], batch: usize, rng: &mut ChaCha12Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..data.len()).collect();
    idx.shuffle(rng);
    let mut out = Vec::new();
    for window in idx.chunks(batch * 50) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| data[i].encoded.ids.len());
        out.extend(w.chunks(batch).map(|c| c.to_vec()));
    }
    out.shuffle(rng);
    out
}

/// Logits `[n, 3]` of the given sentences under the current weights, in inference mode.
fn logits(encoder: &Encoder, head: &Head, data: &[Prepared]) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by_key(|&i| data[i].encoded.ids.len());
    let mut out = vec![Vec::new(); data.len()];
    for chunk in order.chunks(64) {
        let enc: Vec<&Encoded> = chunk.iter().map(|&i| &data[i].encoded).collect();
        let b = pad_batch(&enc, &Device::Cpu)?;
        let hidden = encoder.forward(
            &b.ids,
            &b.mask,
            Mode::Infer,
            &mut SeededMasks(ChaCha12Rng::seed_from_u64(0)),
        )?;
        let l: Vec<Vec<f32>> = head
            .logits(&Encoder::mean_pool(&hidden, &b.mask)?)?
            .to_vec2()?;
        for (&i, row) in chunk.iter().zip(l) {
            out[i] = row;
        }
    }
    Ok(out)
}

/// Weighted cross-entropy of logits `[n, 3]` against labels.
fn loss(logits: &Tensor, labels: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?;
    Ok((picked.mul(weights)?.sum_all()?.neg()? / weights.sum_all()?.to_scalar::<f32>()? as f64)?)
}

/// The temperature that minimises the negative log-likelihood of held-out logits.
fn fit_temperature(logits: &[Vec<f32>], gold: &[Label]) -> f32 {
    let nll = |t: f32| -> f64 {
        logits
            .iter()
            .zip(gold)
            .map(|(l, g)| {
                let scaled: Vec<f32> = l.iter().map(|v| v / t).collect();
                let max = scaled.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let lse = scaled.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
                (lse - scaled[g.index()]) as f64
            })
            .sum()
    };
    (10..=500)
        .map(|i| i as f32 / 100.0)
        .min_by(|a, b| nll(*a).total_cmp(&nll(*b)))
        .unwrap_or(1.0)
}

fn calibration(logits: &[Vec<f32>], gold: &[Label], t: f32) -> f64 {
    let v: Vec<(f32, bool)> = logits
        .iter()
        .zip(gold)
        .map(|(l, g)| {
            let scaled: Vec<f32> = l.iter().map(|v| v / t).collect();
            let p = prediction_from_logits(&scaled);
            let conf = p
                .scores
                .call_to_action
                .max(p.scores.commitment)
                .max(p.scores.context);
            (conf, p.label == *g)
        })
        .collect();
    expected_calibration_error(&v, 10)
}

/// Tokenizes `examples` and splits them into training and validation slices: the
/// same slices for the same examples, settings and seed (the split drawn from `rng`, or
/// from [`TrainConfig::split_seed`] when there is one).
fn prepare(
    base: &BaseModel,
    examples: &[Example],
    cfg: &TrainConfig,
    rng: &mut ChaCha12Rng,
) -> Result<(Vec<Prepared>, Vec<Prepared>)> {
    if examples.is_empty() {
        return Err(Error::Model("no training examples".into()));
    }
    let tokenizer = SentenceTokenizer::from_bytes(&base.tokenizer_json, cfg.max_len)?;
    let prepared = examples
        .iter()
        .enumerate()
        .map(|(source, e)| {
            Ok(Prepared {
                source,
                encoded: match cfg.own_country {
                    true => tokenizer.encode(&e.own_country_text())?,
                    false => tokenizer.encode(&e.text)?,
                },
                label: e.label,
                weight: e.weight,
                train_only: e.train_only,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (train, val) = match cfg.split_seed {
        Some(seed) => split(
            prepared,
            cfg.validation,
            cfg.fold,
            &mut ChaCha12Rng::seed_from_u64(seed),
        ),
        None => split(prepared, cfg.validation, cfg.fold, rng),
    };
    if train.is_empty() || val.is_empty() {
        return Err(Error::Model(
            "too few examples to hold out a validation slice".into(),
        ));
    }
    Ok((train, val))
}

/// Fine-tunes `base` with a fresh head (or the head of the model it was read from) on
/// `examples`, keeping the weights of the epoch with the best validation macro-F1.
/// `progress` is told about each step and epoch.
pub fn train(
    base: &BaseModel,
    examples: &[Example],
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<(Trained, TrainReport)> {
    match run(base, examples, cfg, None, progress)? {
        Outcome::Done(done) => Ok(*done),
        Outcome::Paused { epoch } => Err(Error::Model(format!(
            "the run paused after epoch {epoch} without checkpoints"
        ))),
    }
}

/// Where a resumable run saves its state, and when it pauses.
#[derive(Debug, Clone)]
pub struct Resumable {
    /// The checkpoint directory: the state is saved there after every epoch, and a run
    /// resumes from the latest state there (which must be of the same data and settings).
    pub checkpoints: Checkpoints,
    /// Stop after this many epochs of this call (not counting those resumed from), with
    /// the state saved, e.g. to fit a time-limited job; `None` runs to the end.
    pub pause_after: Option<usize>,
}

/// How a resumable run ended.
pub enum Outcome {
    /// The run is over: the kept weights and the report, as [`train`] gives them.
    Done(Box<(Trained, TrainReport)>),
    /// The run paused after this many epochs ([`Resumable::pause_after`]); calling
    /// [`train_resumable`] again with the same arguments goes on from there.
    Paused {
        /// Epochs done so far.
        epoch: usize,
    },
}

/// [`train`] with its state saved after every epoch in `resumable`'s checkpoint
/// directory, resumed from there if a state of the same run is found: a run stopped and
/// resumed ends with the same weights as one that ran through (with one thread; more
/// threads may change the last bits, as they do between any two runs).
pub fn train_resumable(
    base: &BaseModel,
    examples: &[Example],
    cfg: &TrainConfig,
    resumable: &Resumable,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    run(base, examples, cfg, Some(resumable), progress)
}

/// The training run of [`train`] and [`train_resumable`].
fn run(
    base: &BaseModel,
    examples: &[Example],
    cfg: &TrainConfig,
    resumable: Option<&Resumable>,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let dev = Device::Cpu;
    let mut rng = ChaCha12Rng::seed_from_u64(cfg.seed);
    let (train, val) = prepare(base, examples, cfg, &mut rng)?;

    // Trainable variables: the encoder's (query/key/value fused) and the head (the base's,
    // or a fresh one).
    let mut fused = base.weights.clone();
    fuse_qkv(&mut fused, base.config.num_hidden_layers)?;
    let mut names: Vec<&String> = fused.keys().collect();
    names.sort();
    let mut vars = Vec::new();
    let mut var_tensors = HashMap::new();
    for name in names {
        let v = Var::from_tensor(&fused[name])?;
        var_tensors.insert(name.clone(), v.as_tensor().clone());
        vars.push(v);
    }
    let (head_w, head_b) = match &base.head {
        Some((w, b)) => (Var::from_tensor(w)?, Var::from_tensor(b)?),
        None => {
            let hidden = base.config.hidden_size;
            let init: Vec<f32> = (0..3 * hidden)
                .map(|_| (rng.random::<f32>() - 0.5) * 0.04)
                .collect();
            (
                Var::from_tensor(&Tensor::from_vec(init, (3, hidden), &dev)?)?,
                Var::from_tensor(&Tensor::zeros(3, DType::F32, &dev)?)?,
            )
        }
    };
    vars.push(head_w.clone());
    vars.push(head_b.clone());
    let encoder = Encoder::from_tensors(base.config.clone(), &var_tensors)?;
    let head = Head::new(head_w.as_tensor().clone(), head_b.as_tensor().clone(), 1.0)?;

    let steps_per_epoch = train.len().div_ceil(cfg.batch_size);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let warmup_steps = ((total_steps as f64) * cfg.warmup).ceil().max(1.0);
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: 0.0,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let mut masks = SeededMasks(ChaCha12Rng::seed_from_u64(cfg.seed.wrapping_add(1)));
    let mode = Mode::Train {
        dropout: cfg.dropout,
    };
    let val_gold: Vec<Label> = val.iter().map(|p| p.label).collect();

    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut step = 0usize;
    let mut done = 0usize;
    let mut finished = false;
    let fingerprint = fingerprint(cfg, &train, &val)?;
    if let Some(r) = resumable {
        if let Some((state, tensors)) = r.checkpoints.latest(&fingerprint, vars.len())? {
            for (v, t) in vars.iter().zip(&tensors.vars) {
                v.set(t)?;
            }
            opt.restore(state.step, &tensors.moments)?;
            rng.set_word_pos(word_position(&state.shuffle_rng)?);
            masks.0.set_word_pos(word_position(&state.mask_rng)?);
            step = state.step;
            done = state.epoch;
            finished = state.finished;
            epochs = state.epochs;
            best = state.best.map(|(epoch, f1)| (f1, epoch, tensors.best));
            progress(&format!(
                "resuming after epoch {done} from {}",
                r.checkpoints.dir().display()
            ));
        }
    }
    let mut ran = 0usize;
    while !finished && done < cfg.epochs {
        let epoch = done + 1;
        let started = std::time::Instant::now();
        let mut loss_sum = 0.0;
        let plan = batches(&train, cfg.batch_size, &mut rng);
        for (bi, batch) in plan.iter().enumerate() {
            let lr = if (step as f64) < warmup_steps {
                cfg.learning_rate * (step as f64 + 1.0) / warmup_steps
            } else {
                cfg.learning_rate * (total_steps - step) as f64
                    / (total_steps as f64 - warmup_steps).max(1.0)
            };
            opt.set_learning_rate(lr.max(0.0));
            let enc: Vec<&Encoded> = batch.iter().map(|&i| &train[i].encoded).collect();
            let b = pad_batch(&enc, &dev)?;
            let labels = Tensor::from_vec(
                batch
                    .iter()
                    .map(|&i| train[i].label.index() as u32)
                    .collect::<Vec<_>>(),
                batch.len(),
                &dev,
            )?;
            let weights = Tensor::from_vec(
                batch.iter().map(|&i| train[i].weight).collect::<Vec<_>>(),
                batch.len(),
                &dev,
            )?;
            let hidden_states = encoder.forward(&b.ids, &b.mask, mode, &mut masks)?;
            let pooled = Encoder::mean_pool(&hidden_states, &b.mask)?;
            let pooled = (pooled.clone() * masks.mask(pooled.dims(), cfg.dropout, &dev)?)?;
            let l = loss(&head.logits(&pooled)?, &labels, &weights)?;
            opt.backward_step(&l)?;
            let lv = l.to_scalar::<f32>()? as f64;
            loss_sum += lv;
            step += 1;
            if bi % 20 == 0 || std::env::var_os("POLREC_TRAIN_TRACE").is_some() {
                progress(&format!(
                    "epoch {epoch} step {}/{} loss {lv:.4} lr {lr:.2e} ({:.0} s)",
                    bi + 1,
                    plan.len(),
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        let val_logits = logits(&encoder, &head, &val)?;
        let pred = val_logits.iter().map(|l| prediction_from_logits(l).label);
        let eval = Evaluation::new(val_gold.iter().cloned().zip(pred));
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / plan.len() as f64,
            validation_macro_f1: eval.macro_f1,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(&format!(
            "epoch {epoch}: train loss {:.4}, validation macro-F1 {:.4} ({:.0} s)",
            report.train_loss, report.validation_macro_f1, report.seconds
        ));
        epochs.push(report);
        done = epoch;
        ran += 1;
        if best.as_ref().is_none_or(|(f1, _, _)| eval.macro_f1 > *f1) {
            let snapshot = vars
                .iter()
                .map(|v| v.as_tensor().copy())
                .collect::<candle_core::Result<Vec<_>>>()?;
            best = Some((eval.macro_f1, epoch, snapshot));
        } else if epoch - best.as_ref().map_or(0, |b| b.1) >= cfg.patience {
            progress("validation macro-F1 stopped improving: early stop");
            finished = true;
        }
        if let Some(r) = resumable {
            let state = RunState {
                version: super::checkpoint::VERSION,
                fingerprint: fingerprint.clone(),
                epoch,
                finished: finished || epoch == cfg.epochs,
                step,
                shuffle_rng: rng.get_word_pos().to_string(),
                mask_rng: masks.0.get_word_pos().to_string(),
                epochs: epochs.clone(),
                best: best.as_ref().map(|(f1, e, _)| (*e, *f1)),
            };
            let tensors = RunTensors {
                vars: vars.iter().map(|v| v.as_tensor().clone()).collect(),
                moments: opt.moments(),
                best: best.as_ref().map_or_else(Vec::new, |b| b.2.clone()),
            };
            r.checkpoints.save(&state, &tensors)?;
            progress(&format!(
                "epoch {epoch} saved in {}",
                r.checkpoints.dir().display()
            ));
            if !state.finished && r.pause_after == Some(ran) {
                return Ok(Outcome::Paused { epoch });
            }
        }
    }
    let Some((_, best_epoch, snapshot)) = best else {
        return Err(Error::Model("no epoch ran (--epochs 0?)".into()));
    };
    for (v, t) in vars.iter().zip(&snapshot) {
        v.set(t)?;
    }

    let (head, report) = calibrate(&encoder, &head, &val, cfg, train.len(), epochs, best_epoch)?;
    Ok(Outcome::Done(Box::new((
        Trained::new(encoder, head, cfg),
        report,
    ))))
}

/// A digest of a run's settings and prepared data (token ids, labels, weights, which
/// side of the split), so that a checkpoint resumes only the run that wrote it.
fn fingerprint(cfg: &TrainConfig, train: &[Prepared], val: &[Prepared]) -> Result<String> {
    let mut h = Sha256::new();
    let settings = serde_json::to_vec(cfg)
        .map_err(|e| Error::Model(format!("serialising the settings: {e}")))?;
    h.update(&settings);
    for (side, data) in [(b't', train), (b'v', val)] {
        for p in data {
            h.update([side, p.label.index() as u8, p.train_only as u8]);
            h.update(p.weight.to_le_bytes());
            h.update((p.encoded.ids.len() as u64).to_le_bytes());
            for id in &p.encoded.ids {
                h.update(id.to_le_bytes());
            }
        }
    }
    Ok(format!("{:x}", h.finalize()))
}

/// A generator's word position as a checkpoint writes it (decimal).
fn word_position(text: &str) -> Result<u128> {
    text.parse()
        .map_err(|_| Error::Model(format!("bad generator position `{text}` in checkpoint")))
}

/// Fits the temperature of `head` on the validation slice and reports the scores there.
fn calibrate(
    encoder: &Encoder,
    head: &Head,
    val: &[Prepared],
    cfg: &TrainConfig,
    train_size: usize,
    epochs: Vec<EpochReport>,
    best_epoch: usize,
) -> Result<(Head, TrainReport)> {
    let val_gold: Vec<Label> = val.iter().map(|p| p.label).collect();
    let val_logits = logits(encoder, head, val)?;
    let temperature = fit_temperature(&val_logits, &val_gold);
    let ece_before = calibration(&val_logits, &val_gold, 1.0);
    let ece_after = calibration(&val_logits, &val_gold, temperature);
    let held_out: Vec<HeldOut> = val
        .iter()
        .zip(&val_logits)
        .map(|(p, l)| HeldOut {
            example: p.source,
            prediction: prediction_from_logits(
                &l.iter().map(|v| v / temperature).collect::<Vec<_>>(),
            ),
        })
        .collect();
    let pred = held_out.iter().map(|h| h.prediction.label);
    let validation = Evaluation::new(val_gold.iter().cloned().zip(pred));
    let (hw, hb) = head.tensors();
    let head = Head::new(hw.copy()?, hb.copy()?, temperature)?;
    let report = TrainReport {
        config: cfg.clone(),
        train_size,
        validation_size: val.len(),
        epochs,
        best_epoch,
        validation,
        temperature,
        ece_before,
        ece_after,
        members_validation_macro_f1: Vec::new(),
        held_out,
    };
    Ok((head, report))
}

/// Averages the weights of models fine-tuned from the same base (a "model soup",
/// Wortsman et al. 2022), then calibrates and scores the average on the validation
/// slice that `examples`, `cfg` and its seed give, as [`train`] would hold it out (so
/// give the members' own training data and seed). Each member is a map of f32 weights
/// as a model directory stores them (head included); the report also scores each
/// member alone on the same slice.
pub fn average(
    base: &BaseModel,
    examples: &[Example],
    cfg: &TrainConfig,
    members: &[HashMap<String, Tensor>],
) -> Result<(Trained, TrainReport)> {
    let Some(first) = members.first() else {
        return Err(Error::Model("no models to average".into()));
    };
    let mut rng = ChaCha12Rng::seed_from_u64(cfg.seed);
    let (train, val) = prepare(base, examples, cfg, &mut rng)?;
    let val_gold: Vec<Label> = val.iter().map(|p| p.label).collect();
    let build = |w: HashMap<String, Tensor>| encoder_and_head(w, base.config.clone(), 1.0);
    let mut members_f1 = Vec::with_capacity(members.len());
    for member in members {
        let (encoder, head) = build(member.clone())?;
        let pred = logits(&encoder, &head, &val)?
            .iter()
            .map(|l| prediction_from_logits(l).label)
            .collect::<Vec<_>>();
        members_f1.push(Evaluation::new(val_gold.iter().cloned().zip(pred)).macro_f1);
    }
    let mut mean = HashMap::with_capacity(first.len());
    for (name, t) in first {
        let mut sum = t.clone();
        for member in &members[1..] {
            let other = member.get(name).ok_or_else(|| {
                Error::Model(format!("the members differ: one lacks tensor `{name}`"))
            })?;
            sum = sum.add(other)?;
        }
        mean.insert(name.clone(), (sum / members.len() as f64)?);
    }
    let (encoder, head) = build(mean)?;
    let (head, mut report) = calibrate(&encoder, &head, &val, cfg, train.len(), Vec::new(), 0)?;
    report.members_validation_macro_f1 = members_f1;
    Ok((Trained::new(encoder, head, cfg), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_fits_overconfident_logits() {
        // Confident logits that are right only half the time want a temperature above 1.
        let logits = vec![vec![4.0, 0.0, 0.0], vec![4.0, 0.0, 0.0]];
        let gold = [Label::CallToAction, Label::Context];
        assert!(fit_temperature(&logits, &gold) > 1.5);
    }

    /// Examples told apart by their single token id.
    fn prepared(ids: std::ops::Range<u32>, train_only: bool) -> Vec<Prepared> {
        ids.map(|id| Prepared {
            source: id as usize,
            encoded: Encoded {
                ids: vec![id],
                truncated: false,
            },
            label: Label::ALL[id as usize % 3],
            weight: 1.0,
            train_only,
        })
        .collect()
    }

    /// The ids that tell apart the examples of a slice, in order.
    fn ids(slice: &[Prepared]) -> Vec<u32> {
        slice.iter().map(|p| p.encoded.ids[0]).collect()
    }

    #[test]
    fn train_only_examples_are_trained_on_and_leave_the_validation_slice_alone() {
        let (train, val) = split(
            prepared(0..60, false),
            0.2,
            None,
            &mut ChaCha12Rng::seed_from_u64(7),
        );
        let mut with_extra = prepared(0..60, false);
        with_extra.extend(prepared(100..130, true));
        let (train2, val2) = split(with_extra, 0.2, None, &mut ChaCha12Rng::seed_from_u64(7));
        assert_eq!(ids(&val2), ids(&val));
        assert_eq!(val.len(), 12);
        let mut expected = ids(&train);
        expected.extend(100..130);
        assert_eq!(ids(&train2), expected);
    }

    #[test]
    fn the_folds_hold_out_every_example_once_and_train_only_ones_never() {
        let mut held = Vec::new();
        for index in 0..5 {
            let mut data = prepared(0..62, false);
            data.extend(prepared(100..110, true));
            let fold = Some(Fold { index, of: 5 });
            let (train, val) = split(data, 0.1, fold, &mut ChaCha12Rng::seed_from_u64(3));
            assert!(
                (12..=14).contains(&val.len()),
                "fold {index}: {}",
                val.len()
            );
            assert_eq!(train.len() + val.len(), 72);
            assert!(ids(&train).ends_with(&(100..110).collect::<Vec<_>>()));
            held.extend(ids(&val));
        }
        held.sort_unstable();
        assert_eq!(held, (0..62).collect::<Vec<_>>());
    }
}
