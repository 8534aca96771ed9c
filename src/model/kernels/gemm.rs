//! f32 matrix products.
//!
//! [`matmul_nt`], `Y = X·Wᵀ + b` where `W` is stored as a linear layer's weight, one
//! row per output (`[out, in]`): both operands are read along contiguous rows, so the
//! weights of a candle tensor are used as they are, with no packing (they may change
//! between calls, as in training). It works on register tiles of [`MR`] rows of `X` by
//! [`NR`] rows of `W` (dot products along rows, summed across lanes at the end).
//!
//! [`matmul_nn`], `Y = A·B` with `B` read along its rows, as the value rows of
//! attention are stored: each step broadcasts one value of `A` and multiplies a row of
//! `B` by it (outer products, no sums across lanes), on tiles of [`NN_ROWS`] rows by
//! [`NN_COLS`] columns.
//!
//! Both use FMA; each row of `Y` is computed by the same sequence of operations
//! wherever it sits.

use super::Isa;

/// Rows of `X` in one register tile.
pub const MR: usize = 3;
/// Rows of `W` (columns of `Y`) in one register tile.
pub const NR: usize = 4;

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

/// Panics unless `y` holds `m` rows of `n` outputs `ldy` apart and `bias` has `n` values.
pub(super) fn check_output(m: usize, n: usize, bias: Option<&[f32]>, y: &[f32], ldy: usize) {
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

/// Rows of `A` in one tile of [`matmul_nn`].
pub const NN_ROWS: usize = 6;
/// Columns of `B` in one tile of [`matmul_nn`] (two AVX2 registers).
pub const NN_COLS: usize = 16;

/// `y[i·ldy + j] = Σ_k a[i, k]·b[k, j]` for every row `i` of `a` and column `j` of `b`.
pub fn matmul_nn(isa: Isa, a: Rows<f32>, b: Rows<f32>, y: &mut [f32], ldy: usize) {
    assert_eq!(a.cols, b.rows, "inner dimensions differ");
    check_output(a.rows, b.cols, None, y, ldy);
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if k == 0 {
        for i in 0..m {
            y[i * ldy..i * ldy + n].fill(0.0);
        }
        return;
    }
    for j0 in (0..n).step_by(NN_COLS) {
        let nc = NN_COLS.min(n - j0);
        for i0 in (0..m).step_by(NN_ROWS) {
            let mr = NN_ROWS.min(m - i0);
            // SAFETY: rows i0..i0+mr of a hold k values, rows 0..k of b hold columns
            // j0..j0+nc, rows i0..i0+mr of y hold columns j0..j0+nc (checked by
            // `Rows::new` and `check_output`).
            unsafe {
                nn_tile(
                    isa,
                    mr,
                    nc,
                    k,
                    a.data.as_ptr().add(i0 * a.stride),
                    a.stride,
                    b.data.as_ptr().add(j0),
                    b.stride,
                    y.as_mut_ptr().add(i0 * ldy + j0),
                    ldy,
                );
            }
        }
    }
}

/// One tile of [`matmul_nn`]: `mr` rows by `nc` columns. Safety: as in `matmul_nn`.
#[allow(clippy::too_many_arguments)]
unsafe fn nn_tile(
    isa: Isa,
    mr: usize,
    nc: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
    ldy: usize,
) {
    let vectors = match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            let vectors = nc / 8;
            macro_rules! by_rows {
                ($v:literal) => {
                    match mr {
                        6 => nn_tile_avx2::<6, $v>(k, a, lda, b, ldb, y, ldy),
                        5 => nn_tile_avx2::<5, $v>(k, a, lda, b, ldb, y, ldy),
                        4 => nn_tile_avx2::<4, $v>(k, a, lda, b, ldb, y, ldy),
                        3 => nn_tile_avx2::<3, $v>(k, a, lda, b, ldb, y, ldy),
                        2 => nn_tile_avx2::<2, $v>(k, a, lda, b, ldb, y, ldy),
                        1 => nn_tile_avx2::<1, $v>(k, a, lda, b, ldb, y, ldy),
                        _ => unreachable!("tile larger than NN_ROWS"),
                    }
                };
            }
            match vectors {
                2 => by_rows!(2),
                1 => by_rows!(1),
                _ => {}
            }
            vectors
        }
        _ => 0,
    };
    // Columns left over (all of them without AVX2).
    let done = vectors * 8;
    for i in 0..mr {
        for j in done..nc {
            let mut s = 0f32;
            for kk in 0..k {
                s += *a.add(i * lda + kk) * *b.add(kk * ldb + j);
            }
            *y.add(i * ldy + j) = s;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn nn_tile_avx2<const M: usize, const V: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
    ldy: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); V]; M];
    for kk in 0..k {
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, r) in bv.iter_mut().enumerate() {
            *r = _mm256_loadu_ps(b.add(kk * ldb + 8 * v));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm256_broadcast_ss(&*a.add(i * lda + kk));
            for (r, bvv) in row.iter_mut().zip(&bv) {
                *r = _mm256_fmadd_ps(av, *bvv, *r);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (v, r) in row.iter().enumerate() {
            _mm256_storeu_ps(y.add(i * ldy + 8 * v), *r);
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
#[allow(clippy::needless_range_loop)] // indices name the tile's rows and columns
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
#[allow(clippy::needless_range_loop)] // indices name the tile's rows and columns
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::testing::{random, reference, SHAPES};

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
    fn nn_product_matches_a_naive_product() {
        for isa in Isa::available() {
            for (m, n, k) in [
                (1, 1, 1),
                (7, 5, 13),
                (6, 16, 32),
                (13, 40, 9),
                (28, 32, 28),
            ] {
                // b is `[k, n]` with a row stride of n + 3; y has a row stride of n + 2.
                let (a, b) = (random(m * k, 11), random(k * (n + 3), 12));
                let bt: Vec<f32> = (0..n)
                    .flat_map(|j| (0..k).map(move |t| (j, t)))
                    .map(|(j, t)| b[t * (n + 3) + j])
                    .collect();
                let want = reference(&a, &bt, &vec![0.0; n], m, n, k);
                let mut y = vec![f32::NAN; m * (n + 2)];
                matmul_nn(
                    isa,
                    Rows::dense(&a, m, k),
                    Rows::new(&b, k, n, n + 3),
                    &mut y,
                    n + 2,
                );
                for i in 0..m {
                    for j in 0..n {
                        let got = y[i * (n + 2) + j];
                        assert!(
                            (got as f64 - want[i * n + j]).abs() < 1e-4,
                            "{isa:?} {m}x{n}x{k} [{i}, {j}]: {got}"
                        );
                    }
                    assert!(y[i * (n + 2) + n].is_nan(), "wrote past the row");
                }
            }
        }
    }
}
