//! Helpers of the kernels' unit tests: seeded data and a naive product.

use rand::{Rng, SeedableRng};

/// `n` seeded values in `[-1, 1)`.
pub fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

/// Naive `X·Wᵀ + b` in f64, `x` `[m, k]`, `w` `[n, k]`.
pub fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
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

/// Product shapes `(m, n, k)`: single values, remainders of every tile, model widths.
pub const SHAPES: [(usize, usize, usize); 7] = [
    (1, 1, 1),
    (7, 5, 13),
    (3, 4, 64),
    (10, 9, 96),
    (16, 33, 384),
    (5, 6, 100),
    (9, 40, 70),
];
