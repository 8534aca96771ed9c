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
        let Some(parts) = self.batched(encoded, |batch| self.encoder.embed_tapped(batch, tap))?
        else {
            return Ok(None);
        };
        let (out, tapped): (Vec<Tensor>, Vec<Option<Tensor>>) = parts.into_iter().unzip();
        let tapped: Option<Vec<Tensor>> = tapped.into_iter().collect();
        let restore = |parts: &[Tensor]| -> Result<Tensor> {
            Ok(Tensor::cat(parts, 0)?.index_select(&self.restore_order(encoded)?, 0)?)
        };
        let out = restore(&out)?;
        let tapped = match tapped {
            Some(t) => restore(&t)?,
            None => out.clone(),
        };
        Ok(Some((out, tapped)))
    }

    /// Pooled hidden states `[n, hidden]` after the first `layers` layers only (see
    /// [`Encoder::embed_through`]), in input order (`None` for no input).
    pub fn pooled_through(&self, encoded: &[&Encoded], layers: usize) -> Result<Option<Tensor>> {
        let Some(parts) = self.batched(encoded, |batch| {
            Ok((self.encoder.embed_through(batch, layers)?, None))
        })?
        else {
            return Ok(None);
        };
        let parts: Vec<Tensor> = parts.into_iter().map(|(p, _)| p).collect();
        let order = self.restore_order(encoded)?;
        Ok(Some(Tensor::cat(&parts, 0)?.index_select(&order, 0)?))
    }

    /// Runs `encode` on length-sorted batches of the sentences under the token budget,
    /// in sorted order (`None` for no input).
    fn batched(
        &self,
        encoded: &[&Encoded],
        encode: impl Fn(&[&[u32]]) -> Result<Pooled>,
    ) -> Result<Option<Vec<Pooled>>> {
        let order = length_order(encoded);
        let mut parts = Vec::new();
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
            parts.push(encode(&batch)?);
            i = j;
        }
        Ok((!parts.is_empty()).then_some(parts))
    }

    /// Indices that put rows computed in [`length_order`] back in input order.
    fn restore_order(&self, encoded: &[&Encoded]) -> Result<Tensor> {
        let order = length_order(encoded);
        let mut inverse = vec![0u32; order.len()];
        for (pos, &k) in order.iter().enumerate() {
            inverse[k] = pos as u32;
        }
        Ok(Tensor::from_vec(inverse, order.len(), &Device::Cpu)?)
    }
}

/// Pooled hidden states of a batch: at the top and, if asked for, at a lower layer.
type Pooled = (Tensor, Option<Tensor>);

/// Sentence indices sorted by length (stable: ties keep input order).
fn length_order(encoded: &[&Encoded]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| encoded[i].ids.len());
    order
}

/// Scales each row to unit length.
pub fn normalise(rows: &mut [Vec<f32>]) {
    for r in rows {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= n);
    }
}
