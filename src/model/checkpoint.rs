//! The state of a training run after an epoch, saved so that a stopped run can resume and
//! end with the weights it would have had without stopping (`polrec train --checkpoint`).
//!
//! A checkpoint is two files in the checkpoint directory: `epoch-N.safetensors` (the
//! weights, the optimiser's moments and the best epoch's weights so far) and then
//! `epoch-N.json` (everything else), written last (and whole, by a rename) so that its
//! presence marks the pair complete. Writing epoch N's pair removes the earlier ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::train::EpochReport;
use crate::{Error, Result};

/// Format version of the JSON part.
pub(crate) const VERSION: u32 = 1;

/// Everything of a run's state but its tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Digest of the run's settings and prepared data: a checkpoint resumes only the run
    /// that wrote it.
    pub fingerprint: String,
    /// Epochs done.
    pub epoch: usize,
    /// Whether the run is over (all epochs done, or stopped early).
    pub finished: bool,
    /// Optimisation steps taken (the learning-rate schedule's position).
    pub step: usize,
    /// Word position of the shuffling generator (decimal).
    pub shuffle_rng: String,
    /// Word position of the dropout generator (decimal).
    pub mask_rng: String,
    /// The epochs' figures so far.
    pub epochs: Vec<EpochReport>,
    /// The best epoch so far and its validation macro-F1.
    pub best: Option<(usize, f64)>,
}

/// The tensors of a run's state, each list in the order of the run's variables.
pub struct RunTensors {
    /// The variables' current values.
    pub vars: Vec<Tensor>,
    /// The optimiser's first and second moments.
    pub moments: Vec<(Tensor, Tensor)>,
    /// The variables' values at the best epoch so far (empty before the first epoch).
    pub best: Vec<Tensor>,
}

/// A directory of checkpoints.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    /// Checkpoints in `dir` (created on the first save).
    pub fn new(dir: impl Into<PathBuf>) -> Checkpoints {
        Checkpoints { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves the state after `state.epoch`, then removes the earlier checkpoints.
    pub fn save(&self, state: &RunState, tensors: &RunTensors) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (i, t) in tensors.vars.iter().enumerate() {
            map.insert(format!("var.{i}"), t.clone());
        }
        for (i, (m, v)) in tensors.moments.iter().enumerate() {
            map.insert(format!("m.{i}"), m.clone());
            map.insert(format!("v.{i}"), v.clone());
        }
        for (i, t) in tensors.best.iter().enumerate() {
            map.insert(format!("best.{i}"), t.clone());
        }
        let (tensor_path, json_path) = self.paths(state.epoch);
        candle_core::safetensors::save(&map, &tensor_path)?;
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| Error::Model(format!("serialising the run state: {e}")))?;
        let partial = json_path.with_extension("json.partial");
        std::fs::write(&partial, json).map_err(io(&partial))?;
        std::fs::rename(&partial, &json_path).map_err(io(&json_path))?;
        for epoch in self.epochs()?.into_iter().filter(|&e| e < state.epoch) {
            let (t, j) = self.paths(epoch);
            std::fs::remove_file(&j).map_err(io(&j))?;
            std::fs::remove_file(&t).map_err(io(&t))?;
        }
        Ok(())
    }

    /// The latest complete checkpoint, if any, checked against the run's `fingerprint`
    /// and `vars` variables.
    pub fn latest(&self, fingerprint: &str, vars: usize) -> Result<Option<(RunState, RunTensors)>> {
        let Some(&epoch) = self.epochs()?.iter().max() else {
            return Ok(None);
        };
        let (tensor_path, json_path) = self.paths(epoch);
        let bad = |message: String| Error::Checkpoint {
            path: json_path.clone(),
            message,
        };
        let bytes = std::fs::read(&json_path).map_err(|source| Error::Io {
            path: json_path.clone(),
            source,
        })?;
        let state: RunState = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if state.version != VERSION {
            return Err(bad(format!(
                "checkpoint format {}, this polrec reads {VERSION}",
                state.version
            )));
        }
        if state.fingerprint != fingerprint {
            return Err(bad(format!(
                "the checkpoint is of another run (its data or settings differ); remove {} \
                 or give another --checkpoint directory",
                self.dir.display()
            )));
        }
        let mut map = candle_core::safetensors::load(&tensor_path, &Device::Cpu)?;
        let mut take = |name: String| {
            map.remove(&name).ok_or_else(|| Error::Checkpoint {
                path: tensor_path.clone(),
                message: format!("tensor `{name}` missing"),
            })
        };
        let mut tensors = RunTensors {
            vars: Vec::with_capacity(vars),
            moments: Vec::with_capacity(vars),
            best: Vec::new(),
        };
        for i in 0..vars {
            tensors.vars.push(take(format!("var.{i}"))?);
            tensors
                .moments
                .push((take(format!("m.{i}"))?, take(format!("v.{i}"))?));
            if state.best.is_some() {
                tensors.best.push(take(format!("best.{i}"))?);
            }
        }
        Ok(Some((state, tensors)))
    }

    /// The epochs with a complete checkpoint (both files).
    fn epochs(&self) -> Result<Vec<usize>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut epochs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(epoch) = name
                .to_str()
                .and_then(|n| n.strip_prefix("epoch-"))
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if self.paths(epoch).0.is_file() {
                epochs.push(epoch);
            }
        }
        Ok(epochs)
    }

    /// The tensor and JSON files of epoch `epoch`'s checkpoint.
    fn paths(&self, epoch: usize) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("epoch-{epoch}.safetensors")),
            self.dir.join(format!("epoch-{epoch}.json")),
        )
    }
}
