//! The gradients that `polrec::model::row_ops` sums row by row, against candle's
//! broadcast operations, measured in the same run: a bias added to 1,600 token rows of
//! the intermediate layer (1,536 columns, as in a batch of 32 sentences of 50 tokens)
//! and a layer norm's scale (384 columns), forward and backward; `shared_*` times what
//! both variants also do (the upstream product and sum), to be subtracted.

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use polrec::model::row_ops::{add_rows, mul_rows};

/// Rows of activations in one training batch.
const ROWS: usize = 1600;

/// A `[rows, cols]` activation, a `[cols]` parameter and an upstream gradient.
fn inputs(cols: usize) -> (Var, Var, Tensor) {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (ROWS, cols), &dev).unwrap()).unwrap();
    let p = Var::from_tensor(&Tensor::randn(1f32, 0.1, cols, &dev).unwrap()).unwrap();
    let up = Tensor::randn(0f32, 1.0, (ROWS, cols), &dev).unwrap();
    (x, p, up)
}

/// Times `forward` followed by the backward pass of the sum of its output.
fn time_backward(g: &mut BenchmarkGroup<WallTime>, name: &str, forward: impl Fn() -> Tensor) {
    g.bench_function(name, |bch| {
        bch.iter(|| black_box(forward().sum_all().unwrap().backward().unwrap()))
    });
}

/// An operation of a `[rows, cols]` activation with a `[cols]` parameter.
type RowOp = fn(&Tensor, &Tensor) -> Result<Tensor, Box<dyn std::error::Error>>;

fn gradients(c: &mut Criterion) {
    let mut g = c.benchmark_group("bias_and_scale_gradients");
    let cases: [(&str, usize, RowOp, RowOp); 2] = [
        (
            "bias",
            1536,
            |x, b| Ok(x.broadcast_add(b)?),
            |x, b| Ok(add_rows(x, b)?),
        ),
        (
            "scale",
            384,
            |x, w| Ok(x.broadcast_mul(w)?),
            |x, w| Ok(mul_rows(x, w)?),
        ),
    ];
    for (what, cols, candle_op, row_op) in cases {
        let (x, p, up) = inputs(cols);
        let (x, p) = (x.as_tensor(), p.as_tensor());
        // What both variants share: the upstream product, the sum and their backward passes.
        time_backward(&mut g, &format!("shared_{ROWS}x{cols}"), || {
            (x * &up).unwrap()
        });
        let name = format!("{what}_{ROWS}x{cols}_candle_broadcast");
        time_backward(&mut g, &name, || (candle_op(x, p).unwrap() * &up).unwrap());
        let name = format!("{what}_{ROWS}x{cols}_row_ops");
        time_backward(&mut g, &name, || (row_op(x, p).unwrap() * &up).unwrap());
    }
    g.finish();
}

criterion_group!(benches, gradients);
criterion_main!(benches);
