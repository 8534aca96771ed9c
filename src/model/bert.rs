//! The BERT encoder (all-MiniLM-L6-v2 shape) with mean pooling.
//!
//! One set of weights serves two modes: [`Mode::Infer`] for labelling, [`Mode::Train`]
//! for fine-tuning, which uses differentiable layer norm and softmax (candle's fused
//! `layer_norm` has no backward pass) and applies dropout to the embeddings and to each
//! sub-layer's output (not to the attention probabilities, which would cost a mask of
//! batch × heads × length² numbers per layer for little gain in fine-tuning).
//!
//! On the CPU, [`Mode::Infer`] runs on the hand-written kernels of
//! [`super::kernels`], reading the weights in place: fused bias, residual and layer
//! norm, GELU, attention straight from the fused query/key/value rows, and, at
//! [`Precision::Int8`], int8 linear layers. [`Encoder::embed`] also skips padding
//! altogether: sequences are laid one after another and attend only to themselves;
//! [`Encoder::embed_through`] stops after the layers asked for. The work is split
//! across rayon's threads by blocks of token rows (linear layers, layer norms, GELU)
//! and by sequence (attention); per-batch buffers are pooled and reused. Weights not
//! held as f32 on the CPU fall back to candle's operations.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::{CpuStorage, DType, Device, Layout, Module, Storage, StorageRef, Tensor, D};
use candle_nn::Linear;
use rayon::prelude::*;
use serde::Deserialize;

use super::kernels::attention::{attend, AttentionScratch};
use super::kernels::gemm::{self, matmul_nt, Rows};
use super::kernels::int8::{self, matmul_nt_i8, QuantisedMatrix, QuantisedRows};
use super::kernels::{ops, Isa};
use super::row_ops;
use super::weights::Int8Matrix;
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

/// The arithmetic of the linear layers in [`Mode::Infer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats throughout.
    F32,
    /// Linear layers on 8-bit integer weights (one scale per output row, the int8
    /// storage's codes) and activations quantised per token to codes 0..=129 with a
    /// zero point, with exact integer sums; everything else in f32. Needs AVX2:
    /// elsewhere the f32 kernels run instead.
    Int8,
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
                row_ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32)?
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
    /// Int8 copies of the linear layers' weights, at [`Precision::Int8`].
    int8: Option<Vec<QuantisedLayer>>,
    /// Buffers of the inference path, reused from batch to batch.
    buffers: Mutex<Vec<InferBuffers>>,
}

/// A layer's linear weights quantised to int8.
struct QuantisedLayer {
    qkv: QuantisedMatrix,
    attn_out: QuantisedMatrix,
    inter: QuantisedMatrix,
    out: QuantisedMatrix,
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
            int8: None,
            buffers: Mutex::new(Vec::new()),
        })
    }

    /// The encoder's configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The arithmetic of the linear layers in [`Mode::Infer`] (f32 until set).
    pub fn precision(&self) -> Precision {
        if self.int8.is_some() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// Sets the arithmetic of the linear layers in [`Mode::Infer`]. [`Precision::Int8`]
    /// quantises the current weights once, per row to 8 bits (later changes to the
    /// weight tensors, as in training, are not seen until it is set again); it is only
    /// taken on CPUs with AVX2 and weights held as f32 on the CPU, else the encoder stays
    /// at [`Precision::F32`] (see [`Encoder::precision`]).
    pub fn set_precision(&mut self, precision: Precision) {
        self.int8 = None;
        if precision == Precision::F32 || Isa::detect() != Isa::Avx2 {
            return;
        }
        let held = self.hold_weights();
        let cfg = &self.config;
        let (h, ih) = (cfg.hidden_size, cfg.intermediate_size);
        let int8 = Weights::new(&held, self.layers.len()).map(|w| {
            w.layers
                .iter()
                .map(|l| QuantisedLayer {
                    qkv: QuantisedMatrix::from_f32(l.qkv.0, 3 * h, h, WEIGHT_MAX),
                    attn_out: QuantisedMatrix::from_f32(l.attn_out.0, h, h, WEIGHT_MAX),
                    inter: QuantisedMatrix::from_f32(l.inter.0, ih, h, WEIGHT_MAX),
                    out: QuantisedMatrix::from_f32(l.out.0, h, ih, WEIGHT_MAX),
                })
                .collect()
        });
        drop(held);
        self.int8 = int8;
    }

    /// Sets [`Precision::Int8`] on the codes the linear layers' weights were stored with
    /// (see [`super::weights::read_int8`]), used as they are. Returns whether it did: not when
    /// `stored` lacks a linear layer of the encoder or the CPU lacks AVX2 (the precision
    /// is then unchanged).
    pub fn use_stored_int8(&mut self, stored: &HashMap<String, Int8Matrix>) -> Result<bool> {
        if Isa::detect() != Isa::Avx2 {
            return Ok(false);
        }
        let (h, ih) = (self.config.hidden_size, self.config.intermediate_size);
        let matrix =
            |names: &[String], rows: usize, cols: usize| -> Result<Option<QuantisedMatrix>> {
                let mut codes = Vec::with_capacity(rows * cols);
                let mut scales = Vec::with_capacity(rows);
                for name in names {
                    let Some(m) = stored.get(name) else {
                        return Ok(None);
                    };
                    if m.shape != [rows / names.len(), cols] {
                        return Err(Error::Model(format!(
                            "int8 tensor `{name}` has shape {:?}, expected [{}, {cols}]",
                            m.shape,
                            rows / names.len()
                        )));
                    }
                    codes.extend_from_slice(&m.codes);
                    scales.extend_from_slice(&m.scales);
                }
                Ok(Some(QuantisedMatrix::from_codes(
                    &codes, &scales, rows, cols,
                )))
            };
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in 0..self.layers.len() {
            let p = format!("encoder.layer.{l}");
            let qkv: Vec<String> = ["query", "key", "value"]
                .iter()
                .map(|n| format!("{p}.attention.self.{n}.weight"))
                .collect();
            let one = |name: &str| vec![format!("{p}.{name}.weight")];
            let parts = (
                matrix(&qkv, 3 * h, h)?,
                matrix(&one("attention.output.dense"), h, h)?,
                matrix(&one("intermediate.dense"), ih, h)?,
                matrix(&one("output.dense"), h, ih)?,
            );
            let (Some(qkv), Some(attn_out), Some(inter), Some(out)) = parts else {
                return Ok(false);
            };
            layers.push(QuantisedLayer {
                qkv,
                attn_out,
                inter,
                out,
            });
        }
        self.int8 = Some(layers);
        Ok(true)
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
        if mode == Mode::Infer && ids.device().is_cpu() {
            let held = self.hold_weights();
            if let Some(weights) = Weights::new(&held, self.layers.len()) {
                let (b, s) = ids.dims2()?;
                let ids_v = ids.flatten_all()?.to_dtype(DType::U32)?.to_vec1::<u32>()?;
                let mask_v = mask.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                let lens = vec![s; b];
                let mut buffers = self.take_buffers();
                let layers = self.layers.len();
                self.infer(
                    &weights,
                    &ids_v,
                    &lens,
                    Some(&mask_v),
                    tap,
                    layers,
                    &mut buffers,
                )?;
                let shape = (b, s, self.config.hidden_size);
                let hidden = Tensor::from_slice(&buffers.x, shape, ids.device())?;
                let tapped = match tap.cmp(&self.layers.len()) {
                    std::cmp::Ordering::Less => {
                        Some(Tensor::from_slice(&buffers.tapped, shape, ids.device())?)
                    }
                    std::cmp::Ordering::Equal => Some(hidden.clone()),
                    std::cmp::Ordering::Greater => None,
                };
                self.return_buffers(buffers);
                return Ok((hidden, tapped));
            }
        }
        self.forward_candle(ids, mask, mode, masks, tap)
    }

    /// Mean-pooled hidden states `[n, hidden]` of whole sequences of token ids, in
    /// [`Mode::Infer`]. No padding: each sequence attends only to its own tokens, so a
    /// sequence's embedding does not depend on the others.
    pub fn embed(&self, sequences: &[&[u32]]) -> Result<Tensor> {
        Ok(self.embed_tapped(sequences, usize::MAX)?.0)
    }

    /// Like [`Encoder::embed`], also giving the mean-pooled hidden states after the
    /// first `tap` layers (see [`Encoder::forward_tapped`]) when `tap` is a layer count.
    pub fn embed_tapped(
        &self,
        sequences: &[&[u32]],
        tap: usize,
    ) -> Result<(Tensor, Option<Tensor>)> {
        self.embed_layers(sequences, tap, self.layers.len())
    }

    /// Mean-pooled hidden states `[n, hidden]` after the first `layers` layers only (as
    /// [`Encoder::embed`] when `layers` is the number of layers): the layers above are
    /// not computed.
    pub fn embed_through(&self, sequences: &[&[u32]], layers: usize) -> Result<Tensor> {
        let layers = layers.min(self.layers.len());
        Ok(self.embed_layers(sequences, usize::MAX, layers)?.0)
    }

    /// [`Encoder::embed_tapped`] through the first `layers` layers.
    fn embed_layers(
        &self,
        sequences: &[&[u32]],
        tap: usize,
        layers: usize,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let h = self.config.hidden_size;
        if let Some(&bad) = sequences.iter().find(|s| s.is_empty()) {
            return Err(Error::Model(format!("empty token sequence {bad:?}")));
        }
        let held = self.hold_weights();
        let Some(weights) = Weights::new(&held, self.layers.len()) else {
            drop(held);
            if layers < self.layers.len() {
                let (_, inner) = self.embed_candle(sequences, layers)?;
                return Ok((inner.expect("tapped below the top"), None));
            }
            return self.embed_candle(sequences, tap);
        };
        let mut buffers = self.take_buffers();
        let InferBuffers { ids, lens, .. } = &mut buffers;
        ids.clear();
        ids.extend(sequences.iter().flat_map(|s| s.iter().copied()));
        lens.clear();
        lens.extend(sequences.iter().map(|s| s.len()));
        let (ids, lens) = (std::mem::take(ids), std::mem::take(lens));
        let result = self.infer(&weights, &ids, &lens, None, tap, layers, &mut buffers);
        let pooled = result.and_then(|()| {
            let pool = |hidden: &[f32]| -> Result<Tensor> {
                let mut pooled = vec![0f32; sequences.len() * h];
                let mut start = 0;
                for (out, &len) in pooled.chunks_exact_mut(h).zip(&lens) {
                    for row in hidden[start * h..(start + len) * h].chunks_exact(h) {
                        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                    }
                    out.iter_mut().for_each(|o| *o /= len as f32);
                    start += len;
                }
                Ok(Tensor::from_vec(
                    pooled,
                    (sequences.len(), h),
                    &Device::Cpu,
                )?)
            };
            let top = pool(&buffers.x)?;
            let tapped = match tap.cmp(&layers) {
                std::cmp::Ordering::Less => Some(pool(&buffers.tapped)?),
                std::cmp::Ordering::Equal => Some(top.clone()),
                std::cmp::Ordering::Greater => None,
            };
            Ok((top, tapped))
        });
        buffers.ids = ids;
        buffers.lens = lens;
        self.return_buffers(buffers);
        pooled
    }

    /// [`Encoder::embed_tapped`] through candle's operations, for weights not held as
    /// f32 on the CPU.
    fn embed_candle(&self, sequences: &[&[u32]], tap: usize) -> Result<(Tensor, Option<Tensor>)> {
        let dev = self.word.device();
        let longest = sequences.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0u32; sequences.len() * longest];
        let mut mask = vec![0f32; sequences.len() * longest];
        for (r, s) in sequences.iter().enumerate() {
            ids[r * longest..r * longest + s.len()].copy_from_slice(s);
            mask[r * longest..r * longest + s.len()].fill(1.0);
        }
        let ids = Tensor::from_vec(ids, (sequences.len(), longest), dev)?;
        let mask = Tensor::from_vec(mask, (sequences.len(), longest), dev)?;
        let (hidden, tapped) = self.forward_candle(&ids, &mask, Mode::Infer, &mut NoMasks, tap)?;
        let pool = |t: &Tensor| -> Result<Tensor> {
            Ok(Encoder::mean_pool(t, &mask)?.to_device(&Device::Cpu)?)
        };
        Ok((pool(&hidden)?, tapped.as_ref().map(pool).transpose()?))
    }

    /// Inference buffers from the pool (or new ones).
    fn take_buffers(&self) -> InferBuffers {
        self.buffers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default()
    }

    /// Returns inference buffers to the pool for the next batch.
    fn return_buffers(&self, buffers: InferBuffers) {
        if let Ok(mut pool) = self.buffers.lock() {
            pool.push(buffers);
        }
    }

    /// Read guards on every weight tensor, in the order [`Weights::new`] expects.
    fn hold_weights(&self) -> Vec<(StorageRef<'_>, &Layout)> {
        let mut tensors = vec![
            &self.word,
            &self.position,
            &self.token_type,
            &self.emb_norm.weight,
            &self.emb_norm.bias,
        ];
        for l in &self.layers {
            let per_layer: [&Tensor; PER_LAYER] = [
                l.qkv.weight(),
                bias(&l.qkv),
                l.attn_out.weight(),
                bias(&l.attn_out),
                &l.attn_norm.weight,
                &l.attn_norm.bias,
                l.inter.weight(),
                bias(&l.inter),
                l.out.weight(),
                bias(&l.out),
                &l.out_norm.weight,
                &l.out_norm.bias,
            ];
            tensors.extend(per_layer);
        }
        tensors
            .into_iter()
            .map(|t| t.storage_and_layout())
            .collect()
    }

    /// Hidden states `[tokens, hidden]` after the first `layers` layers of sequences
    /// laid one after another (`lens` tokens each) on the kernels, into `buf.x`, and
    /// those after the first `tap` layers into `buf.tapped` when `tap` is below
    /// `layers`; `key_mask` (one value per token, 0 for padding) keeps padding out of
    /// attention.
    #[allow(clippy::too_many_arguments)]
    fn infer(
        &self,
        w: &Weights,
        ids: &[u32],
        lens: &[usize],
        key_mask: Option<&[f32]>,
        tap: usize,
        layers: usize,
        buf: &mut InferBuffers,
    ) -> Result<()> {
        let cfg = &self.config;
        let (h, ih) = (cfg.hidden_size, cfg.intermediate_size);
        let heads = cfg.num_attention_heads;
        let eps = cfg.layer_norm_eps as f32;
        let isa = Isa::detect();
        let int8 = self.int8.as_deref();
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= cfg.vocab_size) {
            return Err(Error::Model(format!(
                "token id {bad} is outside the vocabulary of {}",
                cfg.vocab_size
            )));
        }
        if let Some(&long) = lens.iter().find(|&&l| l > cfg.max_position_embeddings) {
            return Err(Error::Model(format!(
                "{long} tokens exceed the encoder's {}",
                cfg.max_position_embeddings
            )));
        }
        let t: usize = lens.iter().sum();
        if t != ids.len() {
            return Err(Error::Model(format!(
                "{} token ids for sequences of {t} tokens",
                ids.len()
            )));
        }
        let InferBuffers {
            x,
            qkv,
            ctx,
            tapped,
            starts,
            positions,
            ..
        } = buf;
        starts.clear();
        positions.clear();
        for &len in lens {
            starts.push(positions.len());
            positions.extend(0..len);
        }
        let rows = rows_per_task(t);
        let resize = |v: &mut Vec<f32>, n: usize| {
            v.clear();
            v.resize(n, 0.0);
        };
        resize(x, t * h);
        resize(qkv, t * 3 * h);
        resize(ctx, t * h);

        // Embeddings: word + position + token type 0, then layer norm.
        let positions = &positions[..];
        x.par_chunks_mut(rows * h)
            .enumerate()
            .for_each(|(c, block)| {
                for (r, row) in block.chunks_exact_mut(h).enumerate() {
                    let tok = c * rows + r;
                    let word = &w.word[ids[tok] as usize * h..][..h];
                    let pos = &w.position[positions[tok] * h..][..h];
                    for (((o, a), b), c) in
                        row.iter_mut().zip(word).zip(pos).zip(&w.token_type[..h])
                    {
                        *o = a + b + c;
                    }
                }
                ops::add_layer_norm(isa, block, None, w.emb_norm.0, w.emb_norm.1, eps);
            });
        if tap == 0 {
            tapped.clone_from(x);
        }

        for (l, lw) in w.layers.iter().enumerate().take(layers) {
            let q8 = int8.map(|q| &q[l]);
            qkv.par_chunks_mut(rows * 3 * h)
                .zip(x.par_chunks(rows * h))
                .for_each(|(out, xb)| {
                    SCRATCH.with_borrow_mut(|s| {
                        linear(
                            isa,
                            xb,
                            h,
                            lw.qkv,
                            q8.map(|q| &q.qkv),
                            out,
                            &mut s.quantised,
                        )
                    })
                });

            let qkv = &qkv[..];
            let mut pieces = Vec::with_capacity(lens.len());
            let mut rest = &mut ctx[..];
            for &len in lens {
                let (piece, tail) = rest.split_at_mut(len * h);
                pieces.push(piece);
                rest = tail;
            }
            pieces
                .into_par_iter()
                .zip(&starts[..])
                .zip(lens)
                .for_each(|((out, &start), &len)| {
                    let rows_qkv = &qkv[start * 3 * h..(start + len) * 3 * h];
                    let mask = key_mask.map(|m| &m[start..start + len]);
                    SCRATCH.with_borrow_mut(|s| {
                        attend(
                            isa,
                            rows_qkv,
                            3 * h,
                            len,
                            heads,
                            h / heads,
                            mask,
                            out,
                            h,
                            &mut s.attention,
                        )
                    })
                });

            x.par_chunks_mut(rows * h)
                .zip(ctx.par_chunks(rows * h))
                .for_each(|(xb, cb)| {
                    SCRATCH.with_borrow_mut(|s| {
                        let m = xb.len() / h;
                        let Scratch {
                            quantised,
                            x1,
                            inter,
                            ..
                        } = s;
                        x1.resize(m * h, 0.0);
                        linear(
                            isa,
                            cb,
                            h,
                            lw.attn_out,
                            q8.map(|q| &q.attn_out),
                            x1,
                            quantised,
                        );
                        ops::add_layer_norm(isa, x1, Some(xb), lw.attn_norm.0, lw.attn_norm.1, eps);
                        inter.resize(m * ih, 0.0);
                        linear(isa, x1, h, lw.inter, q8.map(|q| &q.inter), inter, quantised);
                        ops::gelu(isa, inter);
                        linear(isa, inter, ih, lw.out, q8.map(|q| &q.out), xb, quantised);
                        ops::add_layer_norm(isa, xb, Some(x1), lw.out_norm.0, lw.out_norm.1, eps);
                    })
                });
            if l + 1 == tap && tap < layers {
                tapped.clone_from(x);
            }
        }
        Ok(())
    }

    /// The forward pass on candle's operations: always in training, and in inference
    /// when the weights are not f32 on the CPU.
    fn forward_candle(
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

        // Training sums the bias gradients row by row (the same numbers, faster).
        let linear = |x: &Tensor, layer: &Linear| -> Result<Tensor> {
            match mode {
                Mode::Train { .. } => row_ops::linear(x, layer),
                Mode::Infer => Ok(layer.forward(x)?),
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
            let qkv = linear(&x, &layer.qkv)?; // [b, s, 3h]
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
            let attn = dropout(linear(&ctx, &layer.attn_out)?, masks)?;
            let x1 = layer.attn_norm.forward(&(attn + &x)?, mode)?;
            let inter = linear(&x1, &layer.inter)?.gelu_erf()?;
            let out = dropout(linear(&inter, &layer.out)?, masks)?;
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

/// Largest weight code at [`Precision::Int8`]: 8 bits, as the int8 storage writes them
/// (see [`super::weights`]), so that quantising a stored model's weights again gives
/// back the stored codes.
const WEIGHT_MAX: u8 = 127;

/// Weight tensors per layer in [`Encoder::hold_weights`].
const PER_LAYER: usize = 12;

/// Token rows per task are a multiple of this: whole register tiles of both the f32
/// and the int8 products.
const ROW_TILE: usize = 15;
const _: () = assert!(ROW_TILE.is_multiple_of(gemm::MR) && ROW_TILE.is_multiple_of(int8::MR));

/// Largest number of token rows one task takes through the linear layers (its
/// activations stay in the core's cache between them).
const MAX_ROWS_PER_TASK: usize = 4 * ROW_TILE;

/// Rows per task: enough tasks for every thread several times over, whole register tiles.
fn rows_per_task(tokens: usize) -> usize {
    let tasks = 4 * rayon::current_num_threads().max(1);
    (tokens.div_ceil(tasks).div_ceil(ROW_TILE) * ROW_TILE).clamp(ROW_TILE, MAX_ROWS_PER_TASK)
}

/// A linear layer's weight `[out, in]` and bias `[out]`.
type LinearWeights<'a> = (&'a [f32], &'a [f32]);

/// The weights of one layer, borrowed from the tensors.
struct LayerWeights<'a> {
    qkv: LinearWeights<'a>,
    attn_out: LinearWeights<'a>,
    attn_norm: (&'a [f32], &'a [f32]),
    inter: LinearWeights<'a>,
    out: LinearWeights<'a>,
    out_norm: (&'a [f32], &'a [f32]),
}

/// All weights of the encoder, borrowed from the tensors for one forward pass.
struct Weights<'a> {
    word: &'a [f32],
    position: &'a [f32],
    token_type: &'a [f32],
    emb_norm: (&'a [f32], &'a [f32]),
    layers: Vec<LayerWeights<'a>>,
}

impl<'a> Weights<'a> {
    /// The weights, if every tensor is contiguous f32 on the CPU.
    fn new(held: &'a [(StorageRef<'_>, &Layout)], layers: usize) -> Option<Weights<'a>> {
        let v: Vec<&'a [f32]> = held
            .iter()
            .map(|(storage, layout)| match &**storage {
                Storage::Cpu(CpuStorage::F32(values)) => {
                    let (start, end) = layout.contiguous_offsets()?;
                    values.get(start..end)
                }
                _ => None,
            })
            .collect::<Option<_>>()?;
        if v.len() != 5 + PER_LAYER * layers {
            return None;
        }
        Some(Weights {
            word: v[0],
            position: v[1],
            token_type: v[2],
            emb_norm: (v[3], v[4]),
            layers: v[5..]
                .chunks_exact(PER_LAYER)
                .map(|l| LayerWeights {
                    qkv: (l[0], l[1]),
                    attn_out: (l[2], l[3]),
                    attn_norm: (l[4], l[5]),
                    inter: (l[6], l[7]),
                    out: (l[8], l[9]),
                    out_norm: (l[10], l[11]),
                })
                .collect(),
        })
    }
}

/// Per-batch buffers of the inference path (hidden states of every token).
#[derive(Debug, Default)]
struct InferBuffers {
    /// Token ids, sequences one after another.
    ids: Vec<u32>,
    /// Tokens per sequence.
    lens: Vec<usize>,
    /// First token of each sequence.
    starts: Vec<usize>,
    /// Position of each token in its sequence.
    positions: Vec<usize>,
    /// Hidden states `[tokens, hidden]`.
    x: Vec<f32>,
    /// Fused query/key/value rows `[tokens, 3 × hidden]`.
    qkv: Vec<f32>,
    /// Attention context `[tokens, hidden]`.
    ctx: Vec<f32>,
    /// Hidden states after the tapped layer.
    tapped: Vec<f32>,
}

/// Per-thread buffers of the inference path, reused from batch to batch.
#[derive(Default)]
struct Scratch {
    quantised: QuantisedRows,
    x1: Vec<f32>,
    inter: Vec<f32>,
    attention: AttentionScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `y = x·Wᵀ + b` for the rows of `x` (`k` values each), in int8 when `q` is given.
fn linear(
    isa: Isa,
    x: &[f32],
    k: usize,
    (w, b): LinearWeights,
    q: Option<&QuantisedMatrix>,
    y: &mut [f32],
    scratch: &mut QuantisedRows,
) {
    let (m, n) = (x.len() / k, b.len());
    match q {
        Some(q) => {
            scratch.quantise(isa, Rows::dense(x, m, k), q.activation_max());
            matmul_nt_i8(isa, scratch, q, Some(b), y, n);
        }
        None => matmul_nt(
            isa,
            Rows::dense(x, m, k),
            Rows::dense(w, n, k),
            Some(b),
            y,
            n,
        ),
    }
}

/// A mask source for inference, where dropout is never asked for.
struct NoMasks;

impl MaskSource for NoMasks {
    fn mask(&mut self, _: &[usize], _: f32, _: &Device) -> Result<Tensor> {
        Err(Error::Model("dropout asked for in inference".into()))
    }
}

/// A linear layer's bias (every linear layer of the encoder has one).
fn bias(lin: &Linear) -> &Tensor {
    lin.bias()
        .expect("linear layers of the encoder have a bias")
}
