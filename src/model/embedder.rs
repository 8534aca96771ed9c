//! Sentence embeddings: tokenizer and encoder with mean pooling, in length-sorted
//! batches under a token budget.

use std::path::Path;

use candle_core::{Device, Tensor};

use super::bert::{fuse_qkv, Encoder, EncoderConfig, MaskSource, Mode};
use super::tokenizer::{pad_batch_to, Encoded, SentenceTokenizer};
use super::weights;
use crate::{Error, Result};

/// Largest number of sentences in one encoder batch.
const MAX_BATCH: usize = 64;
/// Largest number of padded tokens in one encoder batch.
const TOKEN_BUDGET: usize = 64 * 48;
/// Sentences are padded to a multiple of this many tokens (see [`Embedder::pooled`]).
const WIDTH_STEP: usize = 8;

/// A mask source for inference, where no dropout is ever asked for.
struct NoDropout;

impl MaskSource for NoDropout {
    fn mask(&mut self, _: &[usize], _: f32, _: &Device) -> Result<Tensor> {
        Err(Error::Model("dropout asked for in inference".into()))
    }
}

/// Tokenizer and encoder: turns sentences into mean-pooled embeddings.
pub struct Embedder {
    tokenizer: SentenceTokenizer,
    encoder: Encoder,
}

impl Embedder {
    /// An embedder from its parts.
    pub fn new(tokenizer: SentenceTokenizer, encoder: Encoder) -> Embedder {
        Embedder { tokenizer, encoder }
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
    /// for no input).
    ///
    /// A sentence's embedding depends on nothing but the sentence, to the last bit:
    /// padding changes the order in which the encoder sums (softmax, attention,
    /// pooling) and so the rounding, so each sentence is padded to a width given by
    /// its own length alone ([`padded_width`]) and batched only with sentences of the
    /// same width, under a token budget. (The encoder's rows are otherwise computed
    /// independently of each other and of the batch size.) The output of a run then
    /// does not depend on how sentences were grouped into batches — by `--batch-size`,
    /// by the timing of the input, or by where a `--resume` started.
    pub fn pooled(&self, encoded: &[&Encoded]) -> Result<Option<Tensor>> {
        Ok(self.pooled_tapped(encoded, usize::MAX)?.map(|(p, _)| p))
    }

    /// Like [`Embedder::pooled`] (and batched the same way), with also the pooled
    /// hidden states after the first `tap` layers (see [`Encoder::forward_tapped`]);
    /// `[n, hidden]` each.
    pub fn pooled_tapped(
        &self,
        encoded: &[&Encoded],
        tap: usize,
    ) -> Result<Option<(Tensor, Tensor)>> {
        let max_len = self.tokenizer.max_len();
        let width = |i: usize| padded_width(encoded[i].ids.len(), max_len);
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| width(i));
        let mut sorted_out: Vec<Tensor> = Vec::new();
        let mut sorted_tap: Vec<Tensor> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let w = width(order[i]);
            let per_batch = (TOKEN_BUDGET / w).clamp(1, MAX_BATCH);
            let mut j = i + 1;
            while j < order.len() && j - i < per_batch && width(order[j]) == w {
                j += 1;
            }
            let batch: Vec<&Encoded> = order[i..j].iter().map(|&k| encoded[k]).collect();
            let b = pad_batch_to(&batch, w, &Device::Cpu)?;
            let (hidden, tapped) =
                self.encoder
                    .forward_tapped(&b.ids, &b.mask, Mode::Infer, &mut NoDropout, tap)?;
            sorted_out.push(Encoder::mean_pool(&hidden, &b.mask)?);
            if let Some(t) = tapped {
                sorted_tap.push(Encoder::mean_pool(&t, &b.mask)?);
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

/// The width a sentence of `len` tokens is padded to: `len` rounded up to a multiple
/// of [`WIDTH_STEP`], at most `max_len` (and never below `len`).
fn padded_width(len: usize, max_len: usize) -> usize {
    len.div_ceil(WIDTH_STEP)
        .saturating_mul(WIDTH_STEP)
        .min(max_len)
        .max(len)
}

/// Scales each row to unit length.
pub fn normalise(rows: &mut [Vec<f32>]) {
    for r in rows {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= n);
    }
}
