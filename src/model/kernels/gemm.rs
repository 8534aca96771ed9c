//! Matrix products `Y = X·Wᵀ + b` where `W` is stored as a linear layer's weight, one
//! row per output (`[out, in]`): both operands are read along contiguous rows, so the
//! weights of a candle tensor are used as they are, with no packing.
//!
//! The f32 product uses FMA; the int8 product multiplies activations quantised per row
//! to unsigned 8-bit codes with a zero point ([`QuantisedRows`]) by weights quantised
//! per output row to symmetric 7-bit integers in an `i8` ([`QuantisedMatrix`]), with
//! `_mm256_maddubs_epi16` (32 products a step) and `_mm256_madd_epi16`. 7-bit weights
//! keep each pair of products within `i16` (2 × 255 × 63 = 32,130 < 32,767), so the
//! integer sums are exact: no saturation, whatever the data. (Full 8-bit weights would
//! saturate on real activations, as in ONNX Runtime's u8×s8 kernels; 7-bit activations
//! instead would lose more accuracy than 7-bit weights do, measured on the base model.)
//!
//! Both products work on register tiles of [`MR`] rows of `X` by [`NR`] rows of `W`,
//! each row of `Y` computed by the same sequence of operations wherever it sits.

use super::Isa;

/// Rows of `X` in one register tile.
pub const MR: usize = 3;
/// Rows of `W` (columns of `Y`) in one register tile.
pub const NR: usize = 4;
/// Largest activation code (unsigned 8 bits).
pub const ACTIVATION_MAX: f32 = 255.0;
/// Largest weight magnitude (7 bits), so that `maddubs` never saturates.
pub const WEIGHT_MAX: f32 = 63.0;
/// Row length of quantised matrices is padded to a multiple of this (one AVX2 register).
pub const INT8_BLOCK: usize = 32;

/// A row-major matrix view: `rows` rows of `cols` values, row `i` starting at `i * stride`.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    stride: usize,
}

impl<'a, T> Rows<'a, T> {
    /// A view of `data`; panics if `data` is too short for the shape.
    pub fn new(data: &'a [T], rows: usize, cols: usize, stride: usize) -> Rows<'a, T> {
        assert!(
            cols <= stride || rows <= 1,
            "row stride {stride} below row length {cols}"
        );
        assert!(
            rows == 0 || (rows - 1) * stride + cols <= data.len(),
            "matrix view out of bounds"
        );
        Rows {
            data,
            rows,
            cols,
            stride,
        }
    }

    /// A contiguous `rows × cols` matrix.
    pub fn dense(data: &'a [T], rows: usize, cols: usize) -> Rows<'a, T> {
        Rows::new(data, rows, cols, cols)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of values in a row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.stride..i * self.stride + self.cols]
    }
}

fn check_output(m: usize, n: usize, bias: Option<&[f32]>, y: &[f32], ldy: usize) {
    assert!(
        n <= ldy || m <= 1,
        "output stride {ldy} below row length {n}"
    );
    assert!(m == 0 || (m - 1) * ldy + n <= y.len(), "output too short");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "bias length");
    }
}

/// `y[i·ldy + j] = bias[j] + Σ_k x[i, k]·w[j, k]` for every row `i` of `x` and `j` of `w`.
pub fn matmul_nt(
    isa: Isa,
    x: Rows<f32>,
    w: Rows<f32>,
    bias: Option<&[f32]>,
    y: &mut [f32],
    ldy: usize,
) {
    assert_eq!(x.cols, w.cols, "inner dimensions differ");
    check_output(x.rows, w.rows, bias, y, ldy);
    let k = x.cols;
    for j0 in (0..w.rows).step_by(NR) {
        let nr = NR.min(w.rows - j0);
        for i0 in (0..x.rows).step_by(MR) {
            let mr = MR.min(x.rows - i0);
            let mut tile = [[0f32; NR]; MR];
            // SAFETY: rows i0..i0+mr of x and j0..j0+nr of w exist and hold k values each
            // (checked by `Rows::new` and the assertion on `cols` above).
            unsafe {
                let xp = x.data.as_ptr().add(i0 * x.stride);
                let wp = w.data.as_ptr().add(j0 * w.stride);
                f32_tile(isa, mr, nr, k, xp, x.stride, wp, w.stride, &mut tile);
            }
            for (i, t) in tile.iter().enumerate().take(mr) {
                let row = &mut y[(i0 + i) * ldy + j0..(i0 + i) * ldy + j0 + nr];
                match bias {
                    Some(b) => row
                        .iter_mut()
                        .zip(t)
                        .zip(&b[j0..j0 + nr])
                        .for_each(|((o, v), b)| *o = v + b),
                    None => row.copy_from_slice(&t[..nr]),
                }
            }
        }
    }
}

/// Dispatches a tile of `mr × nr` (at most `MR × NR`) to its monomorphised kernel.
macro_rules! dispatch_tile {
    ($kernel:ident, $mr:expr, $nr:expr, ($($arg:expr),*)) => {
        match ($mr, $nr) {
            (3, 4) => $kernel::<3, 4>($($arg),*),
            (3, 3) => $kernel::<3, 3>($($arg),*),
            (3, 2) => $kernel::<3, 2>($($arg),*),
            (3, 1) => $kernel::<3, 1>($($arg),*),
            (2, 4) => $kernel::<2, 4>($($arg),*),
            (2, 3) => $kernel::<2, 3>($($arg),*),
            (2, 2) => $kernel::<2, 2>($($arg),*),
            (2, 1) => $kernel::<2, 1>($($arg),*),
            (1, 4) => $kernel::<1, 4>($($arg),*),
            (1, 3) => $kernel::<1, 3>($($arg),*),
            (1, 2) => $kernel::<1, 2>($($arg),*),
            (1, 1) => $kernel::<1, 1>($($arg),*),
            _ => unreachable!("tile larger than MR × NR"),
        }
    };
}

/// One f32 tile. Safety: `x` points at `mr` rows of `k` values `ldx` apart, `w` at `nr`
/// rows of `k` values `ldw` apart.
#[allow(clippy::too_many_arguments)]
unsafe fn f32_tile(
    isa: Isa,
    mr: usize,
    nr: usize,
    k: usize,
    x: *const f32,
    ldx: usize,
    w: *const f32,
    ldw: usize,
    out: &mut [[f32; NR]; MR],
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => dispatch_tile!(f32_tile_avx2, mr, nr, (k, x, ldx, w, ldw, out)),
        _ => dispatch_tile!(f32_tile_portable, mr, nr, (k, x, ldx, w, ldw, out)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_tile_avx2<const M: usize, const N: usize>(
    k: usize,
    x: *const f32,
    ldx: usize,
    w: *const f32,
    ldw: usize,
    out: &mut [[f32; NR]; MR],
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); N]; M];
    let k8 = k & !7;
    let mut kk = 0;
    while kk < k8 {
        let mut xv = [_mm256_setzero_ps(); M];
        for (i, v) in xv.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(x.add(i * ldx + kk));
        }
        for j in 0..N {
            let wv = _mm256_loadu_ps(w.add(j * ldw + kk));
            for i in 0..M {
                acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
            }
        }
        kk += 8;
    }
    for i in 0..M {
        if N == 4 {
            // Four horizontal sums at once.
            let a = _mm256_hadd_ps(acc[i][0], acc[i][1]);
            let b = _mm256_hadd_ps(acc[i][2], acc[i][3]);
            let s = _mm256_hadd_ps(a, b);
            let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
            _mm_storeu_ps(out[i].as_mut_ptr(), s);
        } else {
            for j in 0..N {
                let v = acc[i][j];
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                let s = _mm_hadd_ps(s, s);
                let s = _mm_hadd_ps(s, s);
                out[i][j] = _mm_cvtss_f32(s);
            }
        }
        for j in 0..N {
            for t in k8..k {
                out[i][j] += *x.add(i * ldx + t) * *w.add(j * ldw + t);
            }
        }
    }
}

#[inline(always)]
unsafe fn f32_tile_portable<const M: usize, const N: usize>(
    k: usize,
    x: *const f32,
    ldx: usize,
    w: *const f32,
    ldw: usize,
    out: &mut [[f32; NR]; MR],
) {
    let mut acc = [[[0f32; 8]; N]; M];
    let k8 = k & !7;
    let mut kk = 0;
    while kk < k8 {
        for j in 0..N {
            for i in 0..M {
                for l in 0..8 {
                    acc[i][j][l] += *x.add(i * ldx + kk + l) * *w.add(j * ldw + kk + l);
                }
            }
        }
        kk += 8;
    }
    for i in 0..M {
        for j in 0..N {
            let a = &acc[i][j];
            let mut s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            for t in k8..k {
                s += *x.add(i * ldx + t) * *w.add(j * ldw + t);
            }
            out[i][j] = s;
        }
    }
}

/// A weight matrix `[n, k]` quantised per row to symmetric 7-bit integers:
/// `w[j, k] ≈ q[j, k]·scale[j]`.
#[derive(Debug, Clone)]
pub struct QuantisedMatrix {
    data: Vec<i8>,
    scale: Vec<f32>,
    row_sum: Vec<i32>,
    rows: usize,
    cols: usize,
    stride: usize,
}

impl QuantisedMatrix {
    /// Quantises a row-major `[rows, cols]` f32 matrix (each row scaled so that its
    /// largest magnitude maps to [`WEIGHT_MAX`]).
    pub fn from_f32(w: &[f32], rows: usize, cols: usize) -> QuantisedMatrix {
        assert_eq!(w.len(), rows * cols, "matrix size");
        let stride = cols.div_ceil(INT8_BLOCK) * INT8_BLOCK;
        let mut data = vec![0i8; rows * stride];
        let mut scale = Vec::with_capacity(rows);
        let mut row_sum = Vec::with_capacity(rows);
        for (r, src) in w.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let max = src.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / WEIGHT_MAX } else { 1.0 };
            let dst = &mut data[r * stride..r * stride + cols];
            let mut sum = 0i32;
            for (d, v) in dst.iter_mut().zip(src) {
                *d = (v / s).round().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8;
                sum += *d as i32;
            }
            scale.push(s);
            row_sum.push(sum);
        }
        QuantisedMatrix {
            data,
            scale,
            row_sum,
            rows,
            cols,
            stride,
        }
    }

    /// Number of rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The matrix back in f32, `[rows, cols]`.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            let q = &self.data[r * self.stride..r * self.stride + self.cols];
            out.extend(q.iter().map(|&v| v as f32 * self.scale[r]));
        }
        out
    }
}

/// Activations `[rows, cols]` quantised per row to 8-bit codes with a zero point:
/// `x[i, k] ≈ (q[i, k] − zero[i])·scale[i]`, with 0 represented exactly.
#[derive(Debug, Clone, Default)]
pub struct QuantisedRows {
    data: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
    rows: usize,
    cols: usize,
    stride: usize,
}

impl QuantisedRows {
    /// Empty; [`QuantisedRows::quantise`] sizes it (and reuses its memory afterwards).
    pub fn new() -> QuantisedRows {
        QuantisedRows::default()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Quantises `x`, each row on its own range.
    pub fn quantise(&mut self, isa: Isa, x: Rows<f32>) {
        let stride = x.cols.div_ceil(INT8_BLOCK) * INT8_BLOCK;
        self.rows = x.rows;
        self.cols = x.cols;
        self.stride = stride;
        self.data.clear();
        self.data.resize(x.rows * stride, 0);
        self.scale.clear();
        self.zero.clear();
        for i in 0..x.rows {
            let (scale, zero) = super::ops::quantise_row(
                isa,
                x.row(i),
                &mut self.data[i * stride..i * stride + x.cols],
            );
            self.scale.push(scale);
            self.zero.push(zero);
        }
    }

    /// The rows back in f32, `[rows, cols]`.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            let q = &self.data[r * self.stride..r * self.stride + self.cols];
            out.extend(
                q.iter()
                    .map(|&v| (v as i32 - self.zero[r]) as f32 * self.scale[r]),
            );
        }
        out
    }
}

/// `y[i·ldy + j] = bias[j] + Σ_k x[i, k]·w[j, k]` with quantised operands: the integer
/// sums are exact, the result is rescaled per row of `x` and of `w`.
pub fn matmul_nt_i8(
    isa: Isa,
    x: &QuantisedRows,
    w: &QuantisedMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
    ldy: usize,
) {
    assert_eq!(x.cols, w.cols, "inner dimensions differ");
    assert_eq!(x.stride, w.stride, "padded inner dimensions differ");
    check_output(x.rows, w.rows, bias, y, ldy);
    let kp = x.stride;
    for j0 in (0..w.rows).step_by(NR) {
        let nr = NR.min(w.rows - j0);
        for i0 in (0..x.rows).step_by(MR) {
            let mr = MR.min(x.rows - i0);
            let mut tile = [[0i32; NR]; MR];
            // SAFETY: rows i0..i0+mr of x and j0..j0+nr of w exist and hold kp values each
            // (both padded to the same multiple of INT8_BLOCK).
            unsafe {
                let xp = x.data.as_ptr().add(i0 * kp);
                let wp = w.data.as_ptr().add(j0 * kp);
                i8_tile(isa, mr, nr, kp, xp, kp, wp, kp, &mut tile);
            }
            for (i, t) in tile.iter().enumerate().take(mr) {
                let (sx, zx) = (x.scale[i0 + i], x.zero[i0 + i]);
                let row = &mut y[(i0 + i) * ldy + j0..(i0 + i) * ldy + j0 + nr];
                for (jj, o) in row.iter_mut().enumerate() {
                    let j = j0 + jj;
                    let v = (t[jj] - zx * w.row_sum[j]) as f32 * (sx * w.scale[j]);
                    *o = v + bias.map_or(0.0, |b| b[j]);
                }
            }
        }
    }
}

/// One int8 tile. Safety: `x` points at `mr` rows of `kp` codes `ldx` apart, `w` at
/// `nr` rows of `kp` values `ldw` apart, `kp` a multiple of [`INT8_BLOCK`].
#[allow(clippy::too_many_arguments)]
unsafe fn i8_tile(
    isa: Isa,
    mr: usize,
    nr: usize,
    kp: usize,
    x: *const u8,
    ldx: usize,
    w: *const i8,
    ldw: usize,
    out: &mut [[i32; NR]; MR],
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => dispatch_tile!(i8_tile_avx2, mr, nr, (kp, x, ldx, w, ldw, out)),
        _ => dispatch_tile!(i8_tile_portable, mr, nr, (kp, x, ldx, w, ldw, out)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn i8_tile_avx2<const M: usize, const N: usize>(
    kp: usize,
    x: *const u8,
    ldx: usize,
    w: *const i8,
    ldw: usize,
    out: &mut [[i32; NR]; MR],
) {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); N]; M];
    let mut kk = 0;
    while kk < kp {
        let mut xv = [_mm256_setzero_si256(); M];
        for (i, v) in xv.iter_mut().enumerate() {
            *v = _mm256_loadu_si256(x.add(i * ldx + kk) as *const __m256i);
        }
        for j in 0..N {
            let wv = _mm256_loadu_si256(w.add(j * ldw + kk) as *const __m256i);
            for i in 0..M {
                let pairs = _mm256_maddubs_epi16(xv[i], wv);
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(pairs, ones));
            }
        }
        kk += INT8_BLOCK;
    }
    for i in 0..M {
        if N == 4 {
            let a = _mm256_hadd_epi32(acc[i][0], acc[i][1]);
            let b = _mm256_hadd_epi32(acc[i][2], acc[i][3]);
            let s = _mm256_hadd_epi32(a, b);
            let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            _mm_storeu_si128(out[i].as_mut_ptr() as *mut __m128i, s);
        } else {
            for j in 0..N {
                let v = acc[i][j];
                let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
                let s = _mm_hadd_epi32(s, s);
                let s = _mm_hadd_epi32(s, s);
                out[i][j] = _mm_cvtsi128_si32(s);
            }
        }
    }
}

#[inline(always)]
unsafe fn i8_tile_portable<const M: usize, const N: usize>(
    kp: usize,
    x: *const u8,
    ldx: usize,
    w: *const i8,
    ldw: usize,
    out: &mut [[i32; NR]; MR],
) {
    for i in 0..M {
        for j in 0..N {
            let xs = std::slice::from_raw_parts(x.add(i * ldx), kp);
            let ws = std::slice::from_raw_parts(w.add(j * ldw), kp);
            out[i][j] = xs.iter().zip(ws).map(|(&a, &b)| a as i32 * b as i32).sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
    }

    /// Naive `X·Wᵀ + b` in f64.
    fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut y = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = b[j] as f64
                    + (0..k)
                        .map(|t| x[i * k + t] as f64 * w[j * k + t] as f64)
                        .sum::<f64>();
            }
        }
        y
    }

    const SHAPES: [(usize, usize, usize); 6] = [
        (1, 1, 1),
        (7, 5, 13),
        (3, 4, 64),
        (10, 9, 96),
        (16, 33, 384),
        (5, 6, 100),
    ];

    #[test]
    fn f32_product_matches_a_naive_product() {
        for isa in Isa::available() {
            for (m, n, k) in SHAPES {
                let (x, w, b) = (random(m * k, 1), random(n * k, 2), random(n, 3));
                let mut y = vec![f32::NAN; m * n];
                matmul_nt(
                    isa,
                    Rows::dense(&x, m, k),
                    Rows::dense(&w, n, k),
                    Some(&b),
                    &mut y,
                    n,
                );
                for (got, want) in y.iter().zip(reference(&x, &w, &b, m, n, k)) {
                    assert!(
                        (*got as f64 - want).abs() < 1e-4,
                        "{isa:?} {m}x{n}x{k}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn f32_product_reads_strided_views_and_writes_a_strided_output() {
        let (m, n, k) = (5, 7, 20);
        let (x, w) = (random(m * 32, 4), random(n * 24, 5));
        let xs: Vec<f32> = (0..m)
            .flat_map(|i| x[i * 32..i * 32 + k].to_vec())
            .collect();
        let ws: Vec<f32> = (0..n)
            .flat_map(|j| w[j * 24..j * 24 + k].to_vec())
            .collect();
        let want = reference(&xs, &ws, &vec![0.0; n], m, n, k);
        for isa in Isa::available() {
            let mut y = vec![-7f32; m * 10];
            matmul_nt(
                isa,
                Rows::new(&x, m, k, 32),
                Rows::new(&w, n, k, 24),
                None,
                &mut y,
                10,
            );
            for i in 0..m {
                for j in 0..10 {
                    let got = y[i * 10 + j];
                    if j < n {
                        assert!((got as f64 - want[i * n + j]).abs() < 1e-4);
                    } else {
                        assert_eq!(got, -7.0, "padding of the output row was written");
                    }
                }
            }
        }
    }

    #[test]
    fn int8_product_matches_a_naive_product_of_the_quantised_values() {
        for isa in Isa::available() {
            for (m, n, k) in SHAPES {
                let (x, w, b) = (random(m * k, 6), random(n * k, 7), random(n, 8));
                let qw = QuantisedMatrix::from_f32(&w, n, k);
                let mut qx = QuantisedRows::new();
                qx.quantise(isa, Rows::dense(&x, m, k));
                // The integer path is exact: it equals the f64 product of the dequantised values.
                let want = reference(&qx.to_f32(), &qw.to_f32(), &b, m, n, k);
                let mut y = vec![f32::NAN; m * n];
                matmul_nt_i8(isa, &qx, &qw, Some(&b), &mut y, n);
                for (got, want) in y.iter().zip(&want) {
                    assert!(
                        (*got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "{isa:?} {m}x{n}x{k}: {got} vs {want}"
                    );
                }
                // And it is close to the f32 product.
                let exact = reference(&x, &w, &b, m, n, k);
                let tol = 0.02 * (k as f64).sqrt();
                for (got, want) in y.iter().zip(&exact) {
                    assert!(
                        (*got as f64 - want).abs() < tol,
                        "{isa:?} {m}x{n}x{k}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn int8_codes_at_the_extremes_do_not_saturate() {
        // Every activation at the top code and every weight at ±WEIGHT_MAX: the worst
        // case for the 16-bit pair sums of maddubs.
        let (m, n, k) = (4, 5, 96);
        let x = vec![1f32; m * k];
        let w: Vec<f32> = (0..n * k)
            .map(|i| if (i / k) % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let qw = QuantisedMatrix::from_f32(&w, n, k);
        for isa in Isa::available() {
            let mut qx = QuantisedRows::new();
            qx.quantise(isa, Rows::dense(&x, m, k));
            let mut y = vec![0f32; m * n];
            matmul_nt_i8(isa, &qx, &qw, None, &mut y, n);
            for i in 0..m {
                for j in 0..n {
                    let want = if j % 2 == 0 { k as f32 } else { -(k as f32) };
                    assert!(
                        (y[i * n + j] - want).abs() < 1e-3,
                        "{isa:?}: {} vs {want}",
                        y[i * n + j]
                    );
                }
            }
        }
    }

    #[test]
    fn stored_int8_weights_quantise_back_to_the_same_codes() {
        let (n, k) = (6, 70);
        let w = random(n * k, 9);
        let once = QuantisedMatrix::from_f32(&w, n, k);
        let twice = QuantisedMatrix::from_f32(&once.to_f32(), n, k);
        assert_eq!(once.data, twice.data);
    }
}
