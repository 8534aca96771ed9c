//! Row-wise operations: layer norm with the residual added in, GELU, softmax over
//! unmasked keys, and the per-row quantisation of activations.
//!
//! Each is written once as plain Rust (sums kept in eight independent lanes so that
//! they vectorise) and compiled twice: for AVX2 + FMA and for any CPU.

use super::Isa;

/// Runs `$body` compiled for AVX2 + FMA when `$isa` says so, else compiled for any CPU.
macro_rules! with_isa {
    ($isa:expr, $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {{
        #[inline(always)]
        fn generic($($arg: $ty),*) -> $ret $body
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn avx2($($arg: $ty),*) -> $ret {
            generic($($arg),*)
        }
        match $isa {
            // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2($($arg),*) },
            _ => generic($($arg),*),
        }
    }};
}

/// Sum of a slice in eight lanes (vectorises; the order is fixed by the length only).
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// Largest value of a slice in eight lanes (compares written as `maxps` computes them).
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    acc.iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |a, &b| a.max(b))
}

/// `x ← (x + residual − mean) / √(var + eps) · gamma + beta` over each row of
/// `gamma.len()` values (`residual` optional, same shape as `x`).
pub fn add_layer_norm(
    isa: Isa,
    x: &mut [f32],
    residual: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    assert_eq!(gamma.len(), beta.len());
    assert!(residual.is_none_or(|r| r.len() == x.len()));
    assert_eq!(x.len() % gamma.len().max(1), 0);
    with_isa!(isa, f(x: &mut [f32], residual: Option<&[f32]>, gamma: &[f32], beta: &[f32], eps: f32) -> () {
        let h = gamma.len();
        for (r, row) in x.chunks_exact_mut(h).enumerate() {
            if let Some(res) = residual {
                for (v, a) in row.iter_mut().zip(&res[r * h..(r + 1) * h]) {
                    *v += a;
                }
            }
            let mean = lane_sum(row) / h as f32;
            let mut sq = [0f32; 8];
            let chunks = row.chunks_exact(8);
            let tail: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
            for c in chunks {
                for l in 0..8 {
                    let d = c[l] - mean;
                    sq[l] += d * d;
                }
            }
            let var = (((sq[0] + sq[1]) + (sq[2] + sq[3])) + ((sq[4] + sq[5]) + (sq[6] + sq[7])) + tail) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    })
}

/// `erf(x)`, a rational approximation (Eigen's `generic_fast_erf_float`), within 2e-7
/// of the exact value; written to vectorise.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_25e-10 + 2.770_681_42e-8;
    p = x2 * p + -2.101_024_02e-6;
    p = x2 * p + -5.692_506_39e-5;
    p = x2 * p + -7.349_906_30e-4;
    p = x2 * p + -2.954_599_81e-3;
    p = x2 * p + -1.609_603_33e-2;
    p *= x;
    let mut q = x2 * -1.456_607_18e-5 + -2.133_740_55e-4;
    q = x2 * q + -1.682_826_97e-3;
    q = x2 * q + -7.373_329_17e-3;
    q = x2 * q + -1.426_473_91e-2;
    p / q
}

/// `exp(x)` for `x ≤ 88`, Cephes' polynomial (relative error about 2e-7); written to
/// vectorise. Inputs below −87 give about 1e-38 instead of smaller values.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // SAFETY: n is an integer in [-126, 127] after the clamp above.
    let e = unsafe { n.to_int_unchecked::<i32>() };
    y * f32::from_bits(((e + 127) as u32) << 23)
}

/// GELU with the exact (erf) form, in place: `x·(1 + erf(x/√2))/2`.
pub fn gelu(isa: Isa, x: &mut [f32]) {
    with_isa!(isa, f(x: &mut [f32]) -> () {
        for v in x.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    })
}

/// Softmax in place of `scale · row` over the keys whose `mask` is not 0 (all keys
/// when `mask` is `None`, or when it masks every key, as an additive mask would);
/// masked keys get probability 0.
pub fn softmax(isa: Isa, row: &mut [f32], scale: f32, mask: Option<&[f32]>) {
    assert!(mask.is_none_or(|m| m.len() == row.len()));
    let mask = mask.filter(|m| m.iter().any(|&v| v != 0.0));
    with_isa!(isa, f(row: &mut [f32], scale: f32, mask: Option<&[f32]>) -> () {
        let max = match mask {
            None => lane_max(row),
            Some(m) => row
                .iter()
                .zip(m)
                .filter(|(_, &m)| m != 0.0)
                .fold(f32::NEG_INFINITY, |a, (&v, _)| a.max(v)),
        };
        for v in row.iter_mut() {
            *v = exp((*v - max) * scale);
        }
        if let Some(m) = mask {
            for (v, &m) in row.iter_mut().zip(m) {
                if m == 0.0 {
                    *v = 0.0;
                }
            }
        }
        let inv = 1.0 / lane_sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    })
}

/// Quantises one row to codes `q = round(x/scale) + zero` in `0..=max_code` on the
/// row's range (stretched to include 0, so that 0 is exact); returns `(scale, zero)`.
pub fn quantise_row(isa: Isa, x: &[f32], q: &mut [u8], max_code: u8) -> (f32, i32) {
    assert_eq!(x.len(), q.len());
    let top = max_code.max(1);
    let (lo, hi) = match isa {
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { bounds_avx2(x) },
        _ => bounds(x),
    };
    let range = hi - lo;
    if !(range > 0.0 && range.is_finite()) {
        q.fill(0);
        return (1.0, 0);
    }
    let inv = top as f32 / range;
    let zero = (-lo * inv).round_ties_even() as i32;
    match isa {
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { codes_avx2(x, q, inv, zero, top as i32) },
        _ => codes(x, q, inv, zero, top as i32),
    }
    (range / top as f32, zero)
}

/// The smallest and largest of 0 and the values of `x`.
fn bounds(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// [`bounds`] with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bounds_avx2(x: &[f32]) -> (f32, f32) {
    use std::arch::x86_64::*;
    let whole = x.len() / 8 * 8;
    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for i in (0..whole).step_by(8) {
        let v = _mm256_loadu_ps(x.as_ptr().add(i));
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
    }
    let (mut lanes_lo, mut lanes_hi) = ([0f32; 8], [0f32; 8]);
    _mm256_storeu_ps(lanes_lo.as_mut_ptr(), lo);
    _mm256_storeu_ps(lanes_hi.as_mut_ptr(), hi);
    let (tail_lo, tail_hi) = bounds(&x[whole..]);
    (
        lanes_lo.iter().fold(tail_lo, |a, &b| a.min(b)),
        lanes_hi.iter().fold(tail_hi, |a, &b| a.max(b)),
    )
}

/// `q = clamp(round(x·inv) + zero, 0, top)`, rounding half to even.
fn codes(x: &[f32], q: &mut [u8], inv: f32, zero: i32, top: i32) {
    for (d, &v) in q.iter_mut().zip(x) {
        *d = ((v * inv).round_ties_even() as i32 + zero).clamp(0, top) as u8;
    }
}

/// [`codes`] with AVX2, 32 values a step (`cvtps2dq` rounds half to even too).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn codes_avx2(x: &[f32], q: &mut [u8], inv: f32, zero: i32, top: i32) {
    use std::arch::x86_64::*;
    let whole = x.len() / 32 * 32;
    let inv_v = _mm256_set1_ps(inv);
    let (zero_v, top_v) = (_mm256_set1_epi32(zero), _mm256_set1_epi32(top));
    // After the two packs, 32-bit groups of four codes come in the order
    // a0 b0 c0 d0 a1 b1 c1 d1 (a0 = codes 0..4 of a, a1 = codes 4..8).
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    macro_rules! code8 {
        ($p:expr) => {{
            let t = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps($p), inv_v));
            let t = _mm256_add_epi32(t, zero_v);
            _mm256_min_epi32(_mm256_max_epi32(t, _mm256_setzero_si256()), top_v)
        }};
    }
    for i in (0..whole).step_by(32) {
        let p = x.as_ptr().add(i);
        let ab = _mm256_packus_epi32(code8!(p), code8!(p.add(8)));
        let cd = _mm256_packus_epi32(code8!(p.add(16)), code8!(p.add(24)));
        let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), order);
        _mm256_storeu_si256(q.as_mut_ptr().add(i) as *mut __m256i, bytes);
    }
    codes(&x[whole..], &mut q[whole..], inv, zero, top);
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| (rng.random::<f32>() - 0.5) * 8.0).collect()
    }

    #[test]
    fn erf_and_exp_are_close_to_exact() {
        for i in -6000..6000 {
            let x = i as f32 / 1000.0;
            let e = candle_core::cpu::erf::erf_f64(x as f64);
            assert!(
                (erf(x) as f64 - e).abs() < 5e-7,
                "erf({x}) = {} vs {e}",
                erf(x)
            );
        }
        for i in -8700..8800 {
            let x = i as f32 / 100.0;
            let e = (x as f64).exp();
            assert!(
                ((exp(x) as f64 - e) / e).abs() < 5e-7,
                "exp({x}) = {} vs {e}",
                exp(x)
            );
        }
        assert!(exp(-1e30) >= 0.0 && exp(-1e30) < 1e-37);
    }

    #[test]
    fn gelu_matches_candle() {
        let x = random(1000, 1);
        let want: Vec<f32> = Tensor::new(x.as_slice(), &Device::Cpu)
            .unwrap()
            .gelu_erf()
            .unwrap()
            .to_vec1()
            .unwrap();
        for isa in Isa::available() {
            let mut got = x.clone();
            gelu(isa, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-6, "{isa:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn layer_norm_with_residual_matches_candle() {
        let (rows, h) = (5, 384);
        let (x, r, g, b) = (
            random(rows * h, 2),
            random(rows * h, 3),
            random(h, 4),
            random(h, 5),
        );
        let t = |v: &[f32], s: &[usize]| Tensor::from_slice(v, s, &Device::Cpu).unwrap();
        let sum = (t(&x, &[rows, h]) + t(&r, &[rows, h])).unwrap();
        let want: Vec<f32> = candle_nn::ops::layer_norm(&sum, &t(&g, &[h]), &t(&b, &[h]), 1e-12)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for isa in Isa::available() {
            let mut got = x.clone();
            add_layer_norm(isa, &mut got, Some(&r), &g, &b, 1e-12);
            for (a, w) in got.iter().zip(&want) {
                assert!((a - w).abs() < 2e-5, "{isa:?}: {a} vs {w}");
            }
        }
    }

    #[test]
    fn softmax_matches_candle_with_an_additive_mask() {
        let n = 37;
        let x = random(n, 6);
        let mask: Vec<f32> = (0..n).map(|i| if i % 5 == 3 { 0.0 } else { 1.0 }).collect();
        let scale = 0.125f32;
        let biased: Vec<f32> = x
            .iter()
            .zip(&mask)
            .map(|(v, m)| v * scale + (m - 1.0) * 1e4)
            .collect();
        let want: Vec<f32> = candle_nn::ops::softmax_last_dim(
            &Tensor::new(biased.as_slice(), &Device::Cpu).unwrap(),
        )
        .unwrap()
        .to_vec1()
        .unwrap();
        for isa in Isa::available() {
            let mut got = x.clone();
            softmax(isa, &mut got, scale, Some(&mask));
            for (a, w) in got.iter().zip(&want) {
                assert!((a - w).abs() < 1e-6, "{isa:?}: {a} vs {w}");
            }
            // No mask, or a mask of nothing but padding: a plain softmax.
            let mut plain = x.clone();
            softmax(isa, &mut plain, scale, None);
            let mut all_masked = x.clone();
            softmax(isa, &mut all_masked, scale, Some(&vec![0.0; n]));
            assert_eq!(plain, all_masked);
            assert!((plain.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn quantised_rows_round_trip_within_half_a_step() {
        for isa in Isa::available() {
            for (n, seed, top) in [(384, 7, 255), (13, 8, 129), (1, 9, 127)] {
                let x = random(n, seed);
                let mut q = vec![0u8; n];
                let (scale, zero) = quantise_row(isa, &x, &mut q, top);
                assert!((0..=top as i32).contains(&zero));
                assert!(q.iter().all(|&c| c <= top));
                for (v, &c) in x.iter().zip(&q) {
                    let back = (c as i32 - zero) as f32 * scale;
                    assert!((back - v).abs() <= scale * 0.5001, "{v} -> {back}");
                }
            }
            let mut q = vec![9u8; 4];
            assert_eq!(quantise_row(isa, &[0.0; 4], &mut q, 255), (1.0, 0));
            assert_eq!(q, [0; 4]);
        }
    }

    #[test]
    fn quantised_codes_agree_across_instruction_sets() {
        for (n, seed) in [(1, 1), (31, 2), (32, 3), (33, 4), (384, 5), (1541, 6)] {
            let mut x = random(n, seed);
            // Halfway cases: round half to even in every version.
            x[0] = 2.5 * (8.0 / 255.0);
            let results: Vec<(Vec<u8>, (f32, i32))> = Isa::available()
                .into_iter()
                .map(|isa| {
                    let mut q = vec![0u8; n];
                    let params = quantise_row(isa, &x, &mut q, 255);
                    (q, params)
                })
                .collect();
            assert!(results.windows(2).all(|r| r[0] == r[1]), "length {n}");
        }
    }
}
