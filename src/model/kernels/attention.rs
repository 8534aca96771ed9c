//! Multi-head self-attention of one sequence, read straight from the fused
//! query/key/value rows (no permutes, no copies of the queries or values; the keys
//! transposed once for all heads) and written straight into the context rows, head
//! by head.

use super::gemm::{matmul_nn, Rows};
use super::ops::softmax;
use super::Isa;

/// Reusable buffers of [`attend`].
#[derive(Debug, Default)]
pub struct AttentionScratch {
    scores: Vec<f32>,
    keys_t: Vec<f32>,
}

/// Self-attention of one sequence of `len` tokens.
///
/// `qkv` holds the sequence's rows, `ld` apart, each `[query | key | value]` of
/// `heads × head_dim` values (head-major); `out` receives the context rows, `ldo`
/// apart, `heads × head_dim` values each. `key_mask` (one value per token, 0 for
/// padding) excludes keys; scores are scaled by `1/√head_dim`.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    isa: Isa,
    qkv: &[f32],
    ld: usize,
    len: usize,
    heads: usize,
    head_dim: usize,
    key_mask: Option<&[f32]>,
    out: &mut [f32],
    ldo: usize,
    scratch: &mut AttentionScratch,
) {
    if len == 0 {
        return;
    }
    let hidden = heads * head_dim;
    assert!(
        3 * hidden <= ld && (len - 1) * ld + 3 * hidden <= qkv.len(),
        "qkv rows out of bounds"
    );
    assert!(
        hidden <= ldo && (len - 1) * ldo + hidden <= out.len(),
        "output rows out of bounds"
    );
    // The keys transposed, `[hidden, lp]`, padded with zeros to a multiple of 8 keys so
    // that the scores run on whole vectors.
    let lp = len.div_ceil(8) * 8;
    let AttentionScratch { scores, keys_t } = scratch;
    scores.clear();
    scores.resize(len * lp, 0.0);
    keys_t.clear();
    keys_t.resize(hidden * lp, 0.0);
    for j in 0..len {
        for (c, &v) in qkv[j * ld + hidden..j * ld + 2 * hidden].iter().enumerate() {
            keys_t[c * lp + j] = v;
        }
    }
    let scale = 1.0 / (head_dim as f32).sqrt();
    for h in 0..heads {
        let q = Rows::new(&qkv[h * head_dim..], len, head_dim, ld);
        let kt = Rows::new(&keys_t[h * head_dim * lp..], head_dim, lp, lp);
        matmul_nn(isa, q, kt, scores, lp);
        for row in scores.chunks_exact_mut(lp) {
            match key_mask {
                Some(_) => softmax(isa, &mut row[..len], scale, key_mask),
                None => {
                    // Whole vectors: the padding keys get exp(−∞), below 1e-37 (not
                    // read by the product with the values).
                    row[len..].fill(f32::NEG_INFINITY);
                    softmax(isa, row, scale, None);
                }
            }
        }
        let p = Rows::new(scores, len, len, lp);
        let v = Rows::new(&qkv[2 * hidden + h * head_dim..], len, head_dim, ld);
        matmul_nn(isa, p, v, &mut out[h * head_dim..], ldo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Attention as the encoder's candle path computes it: additive mask, permutes.
    fn candle_attention(
        qkv: &[f32],
        len: usize,
        heads: usize,
        dh: usize,
        mask: &[f32],
    ) -> Vec<f32> {
        let h = heads * dh;
        let t = Tensor::from_slice(qkv, (1, len, 3, heads, dh), &Device::Cpu).unwrap();
        let t = t.permute((2, 0, 3, 1, 4)).unwrap();
        let q = (t.get(0).unwrap().contiguous().unwrap() * (1.0 / (dh as f64).sqrt())).unwrap();
        let k = t.get(1).unwrap().contiguous().unwrap();
        let v = t.get(2).unwrap().contiguous().unwrap();
        let bias: Vec<f32> = mask.iter().map(|m| (m - 1.0) * 1e4).collect();
        let bias = Tensor::from_slice(&bias, (1, 1, 1, len), &Device::Cpu).unwrap();
        let s = q
            .matmul(&k.t().unwrap())
            .unwrap()
            .broadcast_add(&bias)
            .unwrap();
        let p = candle_nn::ops::softmax_last_dim(&s).unwrap();
        let ctx = p
            .matmul(&v)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .reshape((len, h))
            .unwrap();
        ctx.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn attention_matches_candle_with_and_without_padding() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let (heads, dh) = (3, 16);
        for len in [1, 5, 8, 19] {
            let qkv: Vec<f32> = (0..len * 3 * heads * dh)
                .map(|_| rng.random::<f32>() * 4.0 - 2.0)
                .collect();
            let masks = [
                vec![1.0; len],
                (0..len)
                    .map(|i| if i + 2 < len || i == 0 { 1.0 } else { 0.0 })
                    .collect(),
            ];
            for (mask, given) in masks.iter().zip([None, Some(&masks[1])]) {
                // No mask given: every key counts, as with a mask of ones.
                let want = candle_attention(&qkv, len, heads, dh, mask);
                for isa in Isa::available() {
                    let ldo = heads * dh + 3;
                    let mut out = vec![0f32; len * ldo];
                    let mut scratch = AttentionScratch::default();
                    attend(
                        isa,
                        &qkv,
                        3 * heads * dh,
                        len,
                        heads,
                        dh,
                        given.map(|m| m.as_slice()),
                        &mut out,
                        ldo,
                        &mut scratch,
                    );
                    for i in 0..len {
                        for c in 0..heads * dh {
                            let (g, w) = (out[i * ldo + c], want[i * heads * dh + c]);
                            assert!(
                                (g - w).abs() < 1e-5,
                                "{isa:?} len {len} [{i}, {c}]: {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }
}
