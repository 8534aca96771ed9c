//! Sentence embeddings: tokenizer and encoder with mean pooling, in length-sorted
//! batches under a token budget.

use std::path::Path;

use candle_core::{Device, Tensor};

use super::bert::{fuse_qkv, Encoder, EncoderConfig, Precision};
use super::tokenizer::{Encoded, SentenceTokenizer};
use super::weights;
use crate::{Error, Result};

/// Largest number of sentences in one encoder batch.
const MAX_BATCH: usize = 64;
/// Largest number of tokens in one encoder batch (no padding is computed).
const TOKEN_BUDGET: usize = 64 * 48;

/// Tokenizer and encoder: turns sentences into mean-pooled embeddings.
pub struct Embedder {
    tokenizer: SentenceTokenizer,
    encoder: Encoder,
}

impl Embedder {
    /// An embedder from its parts, at the encoder's precision.
    pub fn new(tokenizer: SentenceTokenizer, encoder: Encoder) -> Embedder {
        Embedder { tokenizer, encoder }
    }

    /// The same embedder with the encoder's linear layers at `precision` (see
    /// [`Encoder::set_precision`]).
    pub fn with_precision(mut self, precision: Precision) -> Embedder {
        self.encoder.set_precision(precision);
        self
    }

    /// The precision in effect (int8 falls back to f32 on CPUs without AVX2).
    pub fn precision(&self) -> Precision {
        self.encoder.precision()
    }

    /// Loads a plain sentence-transformers / Hugging Face BERT directory (`config.json`,
    /// `tokenizer.json`, `model.safetensors`), such as the base all-MiniLM-L6-v2.
    pub fn from_dir(dir: &Path) -> Result<Embedder> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let config: EncoderConfig = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| Error::Model(format!("{}/config.json: {e}", dir.display())))?;
        let mut w = weights::read(&read("model.safetensors")?, &Device::Cpu)?;
        fuse_qkv(&mut w, config.num_hidden_layers)?;
        let max_len = config.max_position_embeddings;
        let encoder = Encoder::from_tensors(config, &w)?;
        Ok(Embedder::new(
            SentenceTokenizer::from_bytes(&read("tokenizer.json")?, max_len)?,
            encoder,
        ))
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &SentenceTokenizer {
        &self.tokenizer
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Mean-pooled embeddings (not normalised) of raw sentences, one row each.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoded = self.tokenizer.encode_all(texts)?;
        match self.pooled(&encoded.iter().collect::<Vec<_>>())? {
            Some(p) => Ok(p.to_vec2::<f32>()?),
            None => Ok(Vec::new()),
        }
    }

    /// Pooled embeddings `[n, hidden]` of tokenized sentences in input order (`None`
    /// for no input). Batches are formed from length-sorted sentences under a token budget.
    pub fn pooled(&self, encoded: &[&Encoded]) -> Result<Option<Tensor>> {
        Ok(self.pooled_tapped(encoded, usize::MAX)?.map(|(p, _)| p))
    }

    /// Like [`Embedder::pooled`], with also the pooled hidden states after the first
    /// `tap` layers (see [`Encoder::forward_tapped`]); `[n, hidden]` each.
    pub fn pooled_tapped(
        &self,
        encoded: &[&Encoded],
        tap: usize,
    ) -> Result<Option<(Tensor, Tensor)>> {
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| encoded[i].ids.len());
        let mut sorted_out: Vec<Tensor> = Vec::new();
        let mut sorted_tap: Vec<Tensor> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let mut j = i + 1;
            let mut tokens = encoded[order[i]].ids.len();
            while j < order.len()
                && j - i < MAX_BATCH
                && tokens + encoded[order[j]].ids.len() <= TOKEN_BUDGET
            {
                tokens += encoded[order[j]].ids.len();
                j += 1;
            }
            let batch: Vec<&[u32]> = order[i..j]
                .iter()
                .map(|&k| encoded[k].ids.as_slice())
                .collect();
            let (pooled, tapped) = self.encoder.embed_tapped(&batch, tap)?;
            sorted_out.push(pooled);
            if let Some(t) = tapped {
                sorted_tap.push(t);
            }
            i = j;
        }
        if sorted_out.is_empty() {
            return Ok(None);
        }
        let mut inverse = vec![0u32; order.len()];
        for (pos, &k) in order.iter().enumerate() {
            inverse[k] = pos as u32;
        }
        let idx = Tensor::from_vec(inverse, order.len(), &Device::Cpu)?;
        let restore = |parts: &[Tensor]| -> Result<Tensor> {
            Ok(Tensor::cat(parts, 0)?.index_select(&idx, 0)?)
        };
        let out = restore(&sorted_out)?;
        let tapped = if sorted_tap.is_empty() {
            out.clone()
        } else {
            restore(&sorted_tap)?
        };
        Ok(Some((out, tapped)))
    }
}

/// Scales each row to unit length.
pub fn normalise(rows: &mut [Vec<f32>]) {
    for r in rows {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= n);
    }
}
