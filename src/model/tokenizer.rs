//! The WordPiece tokenizer, set up for sentences of any length up to the model's limit.

use candle_core::{Device, Tensor};
use tokenizers::{Tokenizer, TruncationParams, TruncationStrategy};

use crate::{Error, Result};

/// Token ids of one sentence, with whether they were cut at the model's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Word-piece ids, `[CLS]` first and `[SEP]` last.
    pub ids: Vec<u32>,
    /// The sentence was longer than the model's limit and was truncated.
    pub truncated: bool,
}

/// A padded batch ready for the encoder.
pub struct Batch {
    /// Token ids `[batch, longest]` (u32), padded with 0.
    pub ids: Tensor,
    /// Attention mask `[batch, longest]` (f32): 1 for tokens, 0 for padding.
    pub mask: Tensor,
    /// Number of non-padding tokens.
    pub tokens: usize,
}

/// A `tokenizer.json` with its fixed padding and truncation removed, as a trained model
/// stores it (the packaged base file pads every input to 128 and cuts at 128; polrec pads
/// each batch to its longest sentence and truncates at the model's positions).
pub fn without_fixed_length(json: &[u8]) -> Result<Vec<u8>> {
    let mut t = Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
    t.with_padding(None);
    t.with_truncation(None)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    t.to_string(false)
        .map(String::into_bytes)
        .map_err(|e| Error::Tokenizer(e.to_string()))
}

/// The tokenizer of the encoder, with padding off and truncation at `max_len` tokens.
pub struct SentenceTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

impl SentenceTokenizer {
    /// Reads a `tokenizer.json`, switches padding off and truncates at `max_len` tokens
    /// (the packaged file pads every input to 128 and cuts at 128).
    pub fn from_bytes(json: &[u8], max_len: usize) -> Result<SentenceTokenizer> {
        let mut inner = Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(SentenceTokenizer { inner, max_len })
    }

    /// The longest input in tokens, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Tokenizes one sentence.
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Encoded {
            ids: enc.get_ids().to_vec(),
            truncated: !enc.get_overflowing().is_empty(),
        })
    }

    /// Tokenizes many sentences.
    pub fn encode_all(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        texts.iter().map(|t| self.encode(t)).collect()
    }
}

/// Pads encoded sentences to the longest of them.
pub fn pad_batch(encoded: &[&Encoded], device: &Device) -> Result<Batch> {
    let longest = encoded
        .iter()
        .map(|e| e.ids.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut ids = vec![0u32; encoded.len() * longest];
    let mut mask = vec![0f32; encoded.len() * longest];
    let mut tokens = 0;
    for (row, e) in encoded.iter().enumerate() {
        let base = row * longest;
        ids[base..base + e.ids.len()].copy_from_slice(&e.ids);
        mask[base..base + e.ids.len()].fill(1.0);
        tokens += e.ids.len();
    }
    Ok(Batch {
        ids: Tensor::from_vec(ids, (encoded.len(), longest), device)?,
        mask: Tensor::from_vec(mask, (encoded.len(), longest), device)?,
        tokens,
    })
}
