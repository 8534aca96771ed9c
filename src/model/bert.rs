//! The BERT encoder (all-MiniLM-L6-v2 shape) with mean pooling.
//!
//! One set of weights serves two modes: [`Mode::Infer`] uses candle's fused kernels,
//! [`Mode::Train`] uses differentiable layer norm and softmax (candle's fused
//! `layer_norm` has no backward pass) and applies dropout to the embeddings and to each
//! sub-layer's output (not to the attention probabilities, which would cost a mask of
//! batch × heads × length² numbers per layer for little gain in fine-tuning).

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::Linear;
use serde::Deserialize;

use crate::{Error, Result};

/// The fields of a Hugging Face BERT `config.json` that the encoder needs.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct EncoderConfig {
    /// Number of word pieces.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input the position embeddings allow.
    pub max_position_embeddings: usize,
    /// Epsilon of the layer norms.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
}

fn default_eps() -> f64 {
    1e-12
}

/// Whether a forward pass is for inference or for training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Fused kernels, no dropout.
    Infer,
    /// Differentiable kernels and dropout with the given probability.
    Train {
        /// Dropout probability.
        dropout: f32,
    },
}

/// Source of dropout masks, seeded so that training is reproducible.
pub trait MaskSource {
    /// A keep-mask (1/(1-p) where kept, 0 where dropped) of the given shape.
    fn mask(&mut self, shape: &[usize], p: f32, device: &Device) -> Result<Tensor>;
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        Ok(match mode {
            Mode::Infer => {
                candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32)?
            }
            Mode::Train { .. } => {
                candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps as f32)?
            }
        })
    }
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
}

/// The transformer encoder: embeddings, layers and mean pooling.
pub struct Encoder {
    config: EncoderConfig,
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
}

/// Takes the named tensor out of a weight map, with a clear error if it is missing or misshapen.
fn take(w: &HashMap<String, Tensor>, name: &str, shape: &[usize]) -> Result<Tensor> {
    let t = w
        .get(name)
        .ok_or_else(|| Error::Model(format!("weights lack tensor `{name}`")))?;
    if t.dims() != shape {
        return Err(Error::Model(format!(
            "tensor `{name}` has shape {:?}, expected {shape:?}",
            t.dims()
        )));
    }
    Ok(t.clone())
}

/// Replaces each layer's `query`, `key` and `value` weights and biases by one fused
/// `attention.self.qkv` tensor (rows: query, then key, then value).
pub fn fuse_qkv(w: &mut HashMap<String, Tensor>, layers: usize) -> Result<()> {
    for l in 0..layers {
        let p = format!("encoder.layer.{l}.attention.self");
        for kind in ["weight", "bias"] {
            let mut parts = Vec::with_capacity(3);
            for n in ["query", "key", "value"] {
                let name = format!("{p}.{n}.{kind}");
                parts.push(
                    w.remove(&name)
                        .ok_or_else(|| Error::Model(format!("weights lack tensor `{name}`")))?,
                );
            }
            w.insert(format!("{p}.qkv.{kind}"), Tensor::cat(&parts, 0)?);
        }
    }
    Ok(())
}

impl Encoder {
    /// Builds the encoder from a map of f32 tensors named as in Hugging Face BERT checkpoints
    /// (`embeddings.word_embeddings.weight`, …) after [`fuse_qkv`]: the tensors are used as
    /// they are, so trainable variables stay trainable.
    pub fn from_tensors(config: EncoderConfig, w: &HashMap<String, Tensor>) -> Result<Encoder> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let norm = |p: &str| -> Result<LayerNorm> {
            Ok(LayerNorm {
                weight: take(w, &format!("{p}.weight"), &[h])?,
                bias: take(w, &format!("{p}.bias"), &[h])?,
                eps: config.layer_norm_eps,
            })
        };
        let linear = |p: &str, out: usize, inp: usize| -> Result<Linear> {
            Ok(Linear::new(
                take(w, &format!("{p}.weight"), &[out, inp])?,
                Some(take(w, &format!("{p}.bias"), &[out])?),
            ))
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                qkv: linear(&format!("{p}.attention.self.qkv"), 3 * h, h)?,
                attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                inter: linear(&format!("{p}.intermediate.dense"), i, h)?,
                out: linear(&format!("{p}.output.dense"), h, i)?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Encoder {
            word: take(
                w,
                "embeddings.word_embeddings.weight",
                &[config.vocab_size, h],
            )?,
            position: take(
                w,
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?,
            token_type: take(w, "embeddings.token_type_embeddings.weight", &[2, h])?,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
            config,
        })
    }

    /// The encoder's configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Hidden states `[batch, seq, hidden]` for token ids `[batch, seq]` (u32) and an
    /// attention mask `[batch, seq]` (f32, 1 for tokens, 0 for padding).
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        mode: Mode,
        masks: &mut dyn MaskSource,
    ) -> Result<Tensor> {
        Ok(self.forward_tapped(ids, mask, mode, masks, usize::MAX)?.0)
    }

    /// Like [`Encoder::forward`], also giving the hidden states after the first `tap`
    /// layers (the embeddings for 0), when `tap` is a layer count: lower layers keep
    /// more of a sentence's topic, which fine-tuning for the labels wipes out on top.
    pub fn forward_tapped(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        mode: Mode,
        masks: &mut dyn MaskSource,
        tap: usize,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (b, s) = ids.dims2()?;
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let dh = h / heads;
        let dev = ids.device();
        let dropout = |x: Tensor, masks: &mut dyn MaskSource| -> Result<Tensor> {
            match mode {
                Mode::Train { dropout } if dropout > 0.0 => {
                    let m = masks.mask(x.dims(), dropout, dev)?;
                    Ok((x * m)?)
                }
                _ => Ok(x),
            }
        };

        let words = self
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, s, h))?;
        let pos = self.position.narrow(0, 0, s)?;
        let tt = self.token_type.narrow(0, 0, 1)?;
        let x = words.broadcast_add(&pos)?.broadcast_add(&tt)?;
        let mut x = dropout(self.emb_norm.forward(&x, mode)?, masks)?;
        let mut tapped = (tap == 0).then(|| x.clone());

        // Additive attention bias: 0 for tokens, a large negative number for padding.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e4)?.reshape((b, 1, 1, s))?;
        let scale = 1.0 / (dh as f64).sqrt();
        for (i, layer) in self.layers.iter().enumerate() {
            let qkv = layer.qkv.forward(&x)?; // [b, s, 3h]
            let qkv = qkv
                .reshape((b, s, 3, heads, dh))?
                .permute((2, 0, 3, 1, 4))?; // [3, b, heads, s, dh]
            let q = (qkv.get(0)?.contiguous()? * scale)?;
            let k = qkv.get(1)?.contiguous()?;
            let v = qkv.get(2)?.contiguous()?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?;
            let probs = match mode {
                Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
                Mode::Train { .. } => candle_nn::ops::softmax(&scores, D::Minus1)?,
            };
            let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, s, h))?;
            let attn = dropout(layer.attn_out.forward(&ctx)?, masks)?;
            let x1 = layer.attn_norm.forward(&(attn + &x)?, mode)?;
            let inter = layer.inter.forward(&x1)?.gelu_erf()?;
            let out = dropout(layer.out.forward(&inter)?, masks)?;
            x = layer.out_norm.forward(&(out + &x1)?, mode)?;
            if i + 1 == tap {
                tapped = Some(x.clone());
            }
        }
        Ok((x, tapped))
    }

    /// Mean of the hidden states over the attention mask: `[batch, hidden]`.
    pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [b, s, 1]
        let sum = hidden.broadcast_mul(&m)?.sum(1)?; // [b, h]
        let count = m.sum(1)?.clamp(1e-9, f64::MAX)?; // [b, 1]
        Ok(sum.broadcast_div(&count)?)
    }

    /// All weights of the encoder under their checkpoint names, as f32 tensors (the
    /// fused query/key/value matrices split back into three).
    pub fn named_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let h = self.config.hidden_size;
        let mut out = vec![
            (
                "embeddings.word_embeddings.weight".to_string(),
                self.word.clone(),
            ),
            (
                "embeddings.position_embeddings.weight".to_string(),
                self.position.clone(),
            ),
            (
                "embeddings.token_type_embeddings.weight".to_string(),
                self.token_type.clone(),
            ),
            (
                "embeddings.LayerNorm.weight".to_string(),
                self.emb_norm.weight.clone(),
            ),
            (
                "embeddings.LayerNorm.bias".to_string(),
                self.emb_norm.bias.clone(),
            ),
        ];
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("encoder.layer.{l}");
            let w = layer.qkv.weight();
            let b = layer.qkv.bias().expect("qkv has a bias");
            for (i, n) in ["query", "key", "value"].iter().enumerate() {
                out.push((
                    format!("{p}.attention.self.{n}.weight"),
                    w.narrow(0, i * h, h)?,
                ));
                out.push((
                    format!("{p}.attention.self.{n}.bias"),
                    b.narrow(0, i * h, h)?,
                ));
            }
            let lin = |n: &str, x: &Linear| -> [(String, Tensor); 2] {
                [
                    (format!("{p}.{n}.weight"), x.weight().clone()),
                    (
                        format!("{p}.{n}.bias"),
                        x.bias().expect("linear has a bias").clone(),
                    ),
                ]
            };
            let nrm = |n: &str, x: &LayerNorm| -> [(String, Tensor); 2] {
                [
                    (format!("{p}.{n}.weight"), x.weight.clone()),
                    (format!("{p}.{n}.bias"), x.bias.clone()),
                ]
            };
            out.extend(lin("attention.output.dense", &layer.attn_out));
            out.extend(nrm("attention.output.LayerNorm", &layer.attn_norm));
            out.extend(lin("intermediate.dense", &layer.inter));
            out.extend(lin("output.dense", &layer.out));
            out.extend(nrm("output.LayerNorm", &layer.out_norm));
        }
        Ok(out)
    }
}
