//! Int8 matrix products `Y = X·Wᵀ + b` for the linear layers: activations quantised
//! per row to unsigned codes with a zero point ([`QuantisedRows`]), weights quantised
//! per output row to signed codes with one scale each ([`QuantisedMatrix`]), the
//! integer sums exact, the result rescaled per row of `X` and of `W`.
//!
//! AVX2 has no 8-bit dot product: `_mm256_maddubs_epi16` multiplies 32 unsigned by 32
//! signed bytes and adds adjacent pairs into 16-bit lanes, with saturation, and
//! `_mm256_madd_epi16` widens the pairs to 32 bits. The sums stay exact when each pair
//! fits in `i16`, that is when `2 × activation_max × weight_max ≤ 32,767`: a matrix
//! tells the largest activation code it can take ([`QuantisedMatrix::activation_max`]).
//!
//! The weights are packed once into panels of [`PANEL`] outputs: for every four inputs,
//! the four codes of each output sit together in one 32-bit lane. The kernel then
//! broadcasts four activation codes of a row to every lane and multiplies them by two
//! registers of weights: eight outputs per register and no horizontal sums (the
//! outer-product form of fast matrix products). Each output is the same exact integer
//! whichever tile computes it, so batching never changes a result.

use super::Isa;

/// Outputs per packed panel of weights (two AVX2 registers of 32-bit lanes).
pub const PANEL: usize = 16;
/// Inputs per 32-bit lane of a packed panel.
const GROUP: usize = 4;
/// Rows of `X` per register tile (five rows by two registers of outputs leave AVX2's
/// sixteen registers enough for the weights, the broadcast and the constant).
pub const MR: usize = 5;
/// Largest `activation_max × weight_max` for which `maddubs` never saturates.
const PAIR_LIMIT: i32 = i16::MAX as i32 / 2;

/// A weight matrix `[rows, cols]` quantised per row to signed codes with one scale
/// each, `w[j, k] ≈ q[j, k]·scale[j]`, packed into panels for [`matmul_nt_i8`].
#[derive(Debug, Clone)]
pub struct QuantisedMatrix {
    /// Panels of [`PANEL`] rows: `[panel][cols/GROUP][PANEL][GROUP]`, zero-padded.
    packed: Vec<i8>,
    /// Scale of each row, padded with zeros to whole panels.
    scale: Vec<f32>,
    /// Sum of the codes of each row (for the activations' zero point), padded.
    row_sum: Vec<i32>,
    rows: usize,
    cols: usize,
    /// `cols` rounded up to a multiple of [`GROUP`].
    padded_cols: usize,
    /// Largest activation code this matrix can multiply exactly.
    activation_max: u8,
}

impl QuantisedMatrix {
    /// Packs a row-major matrix of codes `[rows, cols]` with one scale per row, such as
    /// the int8 weights stored with a model (see [`crate::model::weights`]). Panics if
    /// the sizes disagree.
    pub fn from_codes(codes: &[i8], scale: &[f32], rows: usize, cols: usize) -> QuantisedMatrix {
        assert_eq!(codes.len(), rows * cols, "matrix size");
        assert_eq!(scale.len(), rows, "one scale per row");
        let padded_cols = cols.div_ceil(GROUP) * GROUP;
        let panels = rows.div_ceil(PANEL);
        let mut packed = vec![0i8; panels * PANEL * padded_cols];
        let mut row_sum = vec![0i32; panels * PANEL];
        let mut padded_scale = vec![0f32; panels * PANEL];
        let mut weight_max = 1i32;
        for (j, row) in codes.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let panel = &mut packed[(j / PANEL) * PANEL * padded_cols..][..PANEL * padded_cols];
            for (k, &q) in row.iter().enumerate() {
                panel[(k / GROUP) * PANEL * GROUP + (j % PANEL) * GROUP + k % GROUP] = q;
                weight_max = weight_max.max((q as i32).abs());
            }
            row_sum[j] = row.iter().map(|&q| q as i32).sum();
            padded_scale[j] = scale[j];
        }
        QuantisedMatrix {
            packed,
            scale: padded_scale,
            row_sum,
            rows,
            cols,
            padded_cols,
            activation_max: (PAIR_LIMIT / weight_max).min(u8::MAX as i32) as u8,
        }
    }

    /// Quantises a row-major `[rows, cols]` f32 matrix, each row scaled so that its
    /// largest magnitude maps to `weight_max` (at most 127).
    pub fn from_f32(w: &[f32], rows: usize, cols: usize, weight_max: u8) -> QuantisedMatrix {
        assert_eq!(w.len(), rows * cols, "matrix size");
        let top = weight_max.clamp(1, 127) as f32;
        let mut codes = Vec::with_capacity(rows * cols);
        let mut scale = Vec::with_capacity(rows);
        for src in w.chunks_exact(cols.max(1)).take(rows) {
            let max = src.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / top } else { 1.0 };
            codes.extend(src.iter().map(|v| (v / s).round().clamp(-top, top) as i8));
            scale.push(s);
        }
        QuantisedMatrix::from_codes(&codes, &scale, rows, cols)
    }

    /// Number of rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Largest activation code the integer sums stay exact for.
    pub fn activation_max(&self) -> u8 {
        self.activation_max
    }

    /// Code of row `j`, column `k`.
    fn code(&self, j: usize, k: usize) -> i8 {
        let panel = (j / PANEL) * PANEL * self.padded_cols;
        self.packed[panel + (k / GROUP) * PANEL * GROUP + (j % PANEL) * GROUP + k % GROUP]
    }

    /// The codes, row-major `[rows, cols]`.
    pub fn codes(&self) -> Vec<i8> {
        (0..self.rows)
            .flat_map(|j| (0..self.cols).map(move |k| (j, k)))
            .map(|(j, k)| self.code(j, k))
            .collect()
    }

    /// The matrix back in f32, `[rows, cols]`.
    pub fn to_f32(&self) -> Vec<f32> {
        (0..self.rows)
            .flat_map(|j| (0..self.cols).map(move |k| (j, k)))
            .map(|(j, k)| self.code(j, k) as f32 * self.scale[j])
            .collect()
    }
}

/// Activations `[rows, cols]` quantised per row to unsigned codes with a zero point:
/// `x[i, k] ≈ (q[i, k] − zero[i])·scale[i]`, with 0 represented exactly.
#[derive(Debug, Clone, Default)]
pub struct QuantisedRows {
    data: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
    rows: usize,
    cols: usize,
    /// `cols` rounded up to a multiple of [`GROUP`]; the row stride of `data`.
    padded_cols: usize,
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

    /// Quantises the rows of `x`, each on its own range, to codes `0..=max_code`.
    pub fn quantise(&mut self, isa: Isa, x: super::gemm::Rows<f32>, max_code: u8) {
        let padded_cols = x.cols().div_ceil(GROUP) * GROUP;
        self.rows = x.rows();
        self.cols = x.cols();
        self.padded_cols = padded_cols;
        self.data.clear();
        self.data.resize(x.rows() * padded_cols, 0);
        self.scale.clear();
        self.zero.clear();
        for i in 0..x.rows() {
            let codes = &mut self.data[i * padded_cols..i * padded_cols + x.cols()];
            let (scale, zero) = super::ops::quantise_row(isa, x.row(i), codes, max_code);
            self.scale.push(scale);
            self.zero.push(zero);
        }
    }

    /// The rows back in f32, `[rows, cols]`.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            let q = &self.data[r * self.padded_cols..r * self.padded_cols + self.cols];
            out.extend(
                q.iter()
                    .map(|&v| (v as i32 - self.zero[r]) as f32 * self.scale[r]),
            );
        }
        out
    }
}

/// `y[i·ldy + j] = bias[j] + Σ_k x[i, k]·w[j, k]` with quantised operands. Panics if
/// the shapes disagree or if `x` holds codes above `w`'s
/// [`QuantisedMatrix::activation_max`] (checked through the quantisation's range).
pub fn matmul_nt_i8(
    isa: Isa,
    x: &QuantisedRows,
    w: &QuantisedMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
    ldy: usize,
) {
    assert_eq!(x.cols, w.cols, "inner dimensions differ");
    super::gemm::check_output(x.rows, w.rows, bias, y, ldy);
    match isa {
        // SAFETY: `Isa::Avx2` is only chosen on CPUs with AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { product_avx2(x, w, bias, y, ldy) },
        _ => product::<false>(x, w, bias, y, ldy),
    }
}

/// [`product`] compiled for AVX2, the tiles inlined into the loops.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2(
    x: &QuantisedRows,
    w: &QuantisedMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
    ldy: usize,
) {
    product::<true>(x, w, bias, y, ldy)
}

/// The loops of [`matmul_nt_i8`] over panels and row tiles (shapes checked).
#[inline(always)]
fn product<const AVX2: bool>(
    x: &QuantisedRows,
    w: &QuantisedMatrix,
    bias: Option<&[f32]>,
    y: &mut [f32],
    ldy: usize,
) {
    let (m, n) = (x.rows, w.rows);
    let groups = w.padded_cols / GROUP;
    for p in 0..n.div_ceil(PANEL) {
        let j0 = p * PANEL;
        let nr = PANEL.min(n - j0);
        let mut panel_bias = [0f32; PANEL];
        if let Some(b) = bias {
            panel_bias[..nr].copy_from_slice(&b[j0..j0 + nr]);
        }
        let panel = Panel {
            codes: &w.packed[j0 * w.padded_cols..][..PANEL * w.padded_cols],
            scale: w.scale[j0..j0 + PANEL].try_into().expect("whole panel"),
            row_sum: w.row_sum[j0..j0 + PANEL].try_into().expect("whole panel"),
            bias: &panel_bias,
            groups,
        };
        for i0 in (0..m).step_by(MR) {
            let mr = MR.min(m - i0);
            let rows = TileRows {
                codes: &x.data[i0 * x.padded_cols..(i0 + mr) * x.padded_cols],
                stride: x.padded_cols,
                scale: &x.scale[i0..i0 + mr],
                zero: &x.zero[i0..i0 + mr],
            };
            let out = &mut y[i0 * ldy + j0..];
            if nr == PANEL && (mr - 1) * ldy + PANEL <= out.len() {
                tile::<AVX2>(&rows, &panel, out, ldy);
            } else {
                // A last, partial panel: through a full-width buffer.
                let mut buffer = [0f32; MR * PANEL];
                tile::<AVX2>(&rows, &panel, &mut buffer, PANEL);
                for (i, b) in buffer.chunks_exact(PANEL).take(mr).enumerate() {
                    out[i * ldy..i * ldy + nr].copy_from_slice(&b[..nr]);
                }
            }
        }
    }
}

/// One panel of a [`QuantisedMatrix`]: [`PANEL`] outputs.
struct Panel<'a> {
    /// `groups` groups of `PANEL × GROUP` codes.
    codes: &'a [i8],
    scale: &'a [f32; PANEL],
    row_sum: &'a [i32; PANEL],
    /// The panel's biases (zeros past the last output).
    bias: &'a [f32; PANEL],
    groups: usize,
}

/// Up to [`MR`] rows of [`QuantisedRows`].
struct TileRows<'a> {
    /// The rows' codes, `stride` apart, `GROUP × groups` each.
    codes: &'a [u8],
    stride: usize,
    scale: &'a [f32],
    zero: &'a [i32],
}

/// The outputs of `rows` by `panel` into `out` (rows `ldy` apart, [`PANEL`] values
/// each): `(Σ codes − zero·row_sum)·(scale_x·scale_w) + bias`, the same operations in
/// every instruction set.
#[inline(always)]
fn tile<const AVX2: bool>(rows: &TileRows, panel: &Panel, out: &mut [f32], ldy: usize) {
    let mr = rows.scale.len();
    assert!(mr <= MR && (mr - 1) * ldy + PANEL <= out.len());
    assert!(rows.codes.len() >= (mr - 1) * rows.stride + panel.groups * GROUP);
    assert!(panel.codes.len() >= panel.groups * PANEL * GROUP);
    macro_rules! by_rows {
        ($kernel:ident) => {
            match mr {
                6 => $kernel::<6>(rows, panel, out, ldy),
                5 => $kernel::<5>(rows, panel, out, ldy),
                4 => $kernel::<4>(rows, panel, out, ldy),
                3 => $kernel::<3>(rows, panel, out, ldy),
                2 => $kernel::<2>(rows, panel, out, ldy),
                1 => $kernel::<1>(rows, panel, out, ldy),
                _ => unreachable!("tile larger than MR rows"),
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: the assertions above bound every read of the kernel; `AVX2` is only
        // set by `product_avx2`, which runs on CPUs with AVX2 and FMA.
        unsafe { by_rows!(tile_avx2) };
        return;
    }
    by_rows!(tile_portable)
}

/// Rescales the integer sums of a tile into `out` (the same operations, so the same
/// bits, whatever the instruction set it is compiled for).
#[inline(always)]
fn finish<const M: usize>(
    sums: &[[i32; PANEL]; M],
    rows: &TileRows,
    panel: &Panel,
    out: &mut [f32],
    ldy: usize,
) {
    for (i, s) in sums.iter().enumerate() {
        let (sx, zx) = (rows.scale[i], rows.zero[i]);
        let row: &mut [f32; PANEL] = (&mut out[i * ldy..i * ldy + PANEL])
            .try_into()
            .expect("whole panel");
        for j in 0..PANEL {
            let v = (s[j] - zx * panel.row_sum[j]) as f32 * (sx * panel.scale[j]);
            row[j] = v + panel.bias[j];
        }
    }
}

/// A tile of `M` rows by a panel with AVX2. Safety: the caller checks the sizes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const M: usize>(rows: &TileRows, panel: &Panel, out: &mut [f32], ldy: usize) {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; M];
    let x = rows.codes.as_ptr();
    let w = panel.codes.as_ptr() as *const __m256i;
    for g in 0..panel.groups {
        let (w0, w1) = (
            _mm256_loadu_si256(w.add(2 * g)),
            _mm256_loadu_si256(w.add(2 * g + 1)),
        );
        for (i, a) in acc.iter_mut().enumerate() {
            let four = (x.add(i * rows.stride + g * GROUP) as *const i32).read_unaligned();
            let xb = _mm256_set1_epi32(four);
            a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w0), ones));
            a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w1), ones));
        }
    }
    let mut sums = [[0i32; PANEL]; M];
    for (a, s) in acc.iter().zip(sums.iter_mut()) {
        _mm256_storeu_si256(s.as_mut_ptr() as *mut __m256i, a[0]);
        _mm256_storeu_si256(s.as_mut_ptr().add(8) as *mut __m256i, a[1]);
    }
    finish(&sums, rows, panel, out, ldy);
}

/// A tile of `M` rows by a panel in plain Rust.
fn tile_portable<const M: usize>(rows: &TileRows, panel: &Panel, out: &mut [f32], ldy: usize) {
    let ws = &panel.codes[..panel.groups * PANEL * GROUP];
    let mut sums = [[0i32; PANEL]; M];
    for (i, o) in sums.iter_mut().enumerate() {
        let xs = &rows.codes[i * rows.stride..i * rows.stride + panel.groups * GROUP];
        for (xg, wg) in xs.chunks_exact(GROUP).zip(ws.chunks_exact(PANEL * GROUP)) {
            for (acc, wj) in o.iter_mut().zip(wg.chunks_exact(GROUP)) {
                *acc += xg
                    .iter()
                    .zip(wj)
                    .map(|(&a, &b)| a as i32 * b as i32)
                    .sum::<i32>();
            }
        }
    }
    finish(&sums, rows, panel, out, ldy);
}

#[cfg(test)]
mod tests {
    use super::super::gemm::Rows;
    use super::*;
    use crate::model::kernels::testing::{random, reference, SHAPES};

    #[test]
    fn product_equals_the_product_of_the_quantised_values_and_is_close_to_f32() {
        for isa in Isa::available() {
            for weight_max in [127, 63] {
                for (m, n, k) in SHAPES {
                    let (x, w, b) = (random(m * k, 6), random(n * k, 7), random(n, 8));
                    let qw = QuantisedMatrix::from_f32(&w, n, k, weight_max);
                    let mut qx = QuantisedRows::new();
                    qx.quantise(isa, Rows::dense(&x, m, k), qw.activation_max());
                    // The integer path is exact: it equals the f64 product of the
                    // dequantised values.
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
                    let tol = 0.03 * (k as f64).sqrt();
                    for (got, want) in y.iter().zip(&exact) {
                        assert!(
                            (*got as f64 - want).abs() < tol,
                            "{isa:?} {m}x{n}x{k}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let (m, n, k) = (11, 37, 200);
        let (x, w, b) = (random(m * k, 1), random(n * k, 2), random(n, 3));
        let qw = QuantisedMatrix::from_f32(&w, n, k, 127);
        let results: Vec<Vec<f32>> = Isa::available()
            .into_iter()
            .map(|isa| {
                let mut qx = QuantisedRows::new();
                qx.quantise(isa, Rows::dense(&x, m, k), qw.activation_max());
                let mut y = vec![0f32; m * n];
                matmul_nt_i8(isa, &qx, &qw, Some(&b), &mut y, n);
                y
            })
            .collect();
        assert!(results.windows(2).all(|r| r[0] == r[1]));
    }

    #[test]
    fn codes_at_the_extremes_do_not_saturate() {
        // Every activation at the top code and every weight at ±127: the worst case
        // for the 16-bit pair sums of maddubs.
        let (m, n, k) = (5, 18, 96);
        let x = vec![1f32; m * k];
        let w: Vec<f32> = (0..n * k)
            .map(|i| if (i / k) % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let qw = QuantisedMatrix::from_f32(&w, n, k, 127);
        assert_eq!(qw.activation_max(), 129);
        for isa in Isa::available() {
            let mut qx = QuantisedRows::new();
            qx.quantise(isa, Rows::dense(&x, m, k), qw.activation_max());
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
    fn stored_codes_are_kept_as_they_are() {
        let (n, k) = (20, 70);
        // Codes in ±127 with ±127 in every row, as written by the int8 storage.
        let codes: Vec<i8> = (0..n * k)
            .map(|i| match i % k {
                0 if (i / k) % 2 == 0 => 127,
                0 => -127,
                _ => ((i * 37) % 255) as i8 / 2,
            })
            .collect();
        let scale: Vec<f32> = (0..n).map(|j| 0.01 * (j + 1) as f32).collect();
        let q = QuantisedMatrix::from_codes(&codes, &scale, n, k);
        assert_eq!(q.codes(), codes);
        // Dequantised and quantised again at 8 bits: the same codes.
        let again = QuantisedMatrix::from_f32(&q.to_f32(), n, k, 127);
        let max_per_row: Vec<i8> = codes
            .chunks(k)
            .map(|r| r.iter().map(|c| c.unsigned_abs()).max().unwrap() as i8)
            .collect();
        assert!(max_per_row.iter().all(|&m| m == 127));
        assert_eq!(again.codes(), codes);
    }
}
