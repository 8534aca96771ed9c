//! Per-column operations over rows of activations, with a fast gradient for training.
//!
//! A bias added to every token row, or a layer norm's scale multiplied into it, gets as
//! gradient a sum over all the rows of the batch. candle's CPU backend sums a
//! broadcast's gradient element by element, with integer divisions to find each
//! element's column, on one thread: 18% of a training step (session 13's profile).
//! [`add_rows`] and [`mul_rows`] compute the same forward values and sum their
//! gradients row after row, in the same order, so that training gives the same
//! weights bit for bit, faster.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Module, Shape, Tensor, D};
use candle_nn::Linear;

use crate::Result;

/// `x + b` for `x` of shape `[.., C]` and `b` of shape `[C]`.
pub fn add_rows(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op2(&b.contiguous()?, RowOp::Add)?)
}

/// `x * w` for `x` of shape `[.., C]` and `w` of shape `[C]`.
pub fn mul_rows(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op2(&w.contiguous()?, RowOp::Mul)?)
}

/// A linear layer applied to the last dimension of `x`: candle-nn's product with the
/// weight, then the bias added by [`add_rows`].
pub fn linear(x: &Tensor, layer: &Linear) -> Result<Tensor> {
    let y = Linear::new(layer.weight().clone(), None).forward(x)?;
    match layer.bias() {
        Some(b) => add_rows(&y, b),
        None => Ok(y),
    }
}

/// Layer norm over the last dimension from differentiable operations (candle's fused
/// `layer_norm` has no backward pass): candle-nn's `layer_norm_slow`, operation for
/// operation, with the scale and shift applied by [`mul_rows`] and [`add_rows`].
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Tensor> {
    let hidden = x.dim(D::Minus1)? as f64;
    let x = x.broadcast_sub(&(x.sum_keepdim(D::Minus1)? / hidden)?)?;
    let var = (x.sqr()?.sum_keepdim(D::Minus1)? / hidden)?;
    let normed = x.broadcast_div(&(var + eps as f64)?.sqrt()?)?;
    add_rows(&mul_rows(&normed, weight)?, bias)
}

/// The rows of a contiguous f32 tensor of shape `[.., C]` and its C.
fn rows_of<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> candle_core::Result<(&'a [f32], usize)> {
    let (CpuStorage::F32(v), Some((start, end))) = (s, l.contiguous_offsets()) else {
        candle_core::bail!("{op}: needs a contiguous f32 tensor")
    };
    match l.dims().last() {
        Some(&cols) if cols > 0 => Ok((&v[start..end], cols)),
        _ => candle_core::bail!("{op}: needs a last dimension of at least one column"),
    }
}

/// `f(x, v)` of every row `x` of `s1` with the vector `s2`, column by column.
fn map_rows(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    op: &str,
    f: fn(f32, f32) -> f32,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let (x, cols) = rows_of(s1, l1, op)?;
    let (v, len) = rows_of(s2, l2, op)?;
    if l2.dims().len() != 1 || len != cols {
        candle_core::bail!(
            "{op}: shapes {:?} and {:?} do not match",
            l1.dims(),
            l2.dims()
        )
    }
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        out.extend(row.iter().zip(v).map(|(&a, &b)| f(a, b)));
    }
    Ok((CpuStorage::F32(out), l1.shape().clone()))
}

/// The sum of the rows of `[.., C]` (shape `[C]`), added up row after row: the order of
/// candle's own reduction, so the same numbers.
fn column_sums(g: &Tensor) -> Result<Tensor> {
    Ok(g.contiguous()?.apply_op1_no_bwd(&ColumnSums)?)
}

/// A vector combined with every row: the forward of [`add_rows`] and [`mul_rows`], with
/// the row-by-row gradient sums.
#[derive(Clone, Copy)]
enum RowOp {
    Add,
    Mul,
}

impl CustomOp2 for RowOp {
    fn name(&self) -> &'static str {
        match self {
            RowOp::Add => "add-rows",
            RowOp::Mul => "mul-rows",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let f: fn(f32, f32) -> f32 = match self {
            RowOp::Add => |a, b| a + b,
            RowOp::Mul => |a, b| a * b,
        };
        map_rows(s1, l1, s2, l2, self.name(), f)
    }

    fn bwd(
        &self,
        x: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, to_sum) = match self {
            RowOp::Add => (grad.clone(), grad.clone()),
            RowOp::Mul => (grad.broadcast_mul(&v.detach())?, (grad * x.detach())?),
        };
        let gv = column_sums(&to_sum).map_err(candle_core::Error::wrap)?;
        Ok((Some(gx), Some(gv)))
    }
}

struct ColumnSums;

impl CustomOp1 for ColumnSums {
    fn name(&self) -> &'static str {
        "column-sums"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, cols) = rows_of(s, l, self.name())?;
        let mut sums = vec![0f32; cols];
        for row in g.chunks_exact(cols) {
            sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
        Ok((CpuStorage::F32(sums), Shape::from(cols)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// A tensor of the given shape with varied, repeatable values.
    fn varied(dims: &[usize], seed: usize) -> Result<Tensor> {
        let n: usize = dims.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 37 + seed * 11) % 101) as f32 / 13.0 - 3.7)
            .collect();
        Ok(Tensor::from_vec(v, dims, &Device::Cpu)?)
    }

    /// Forward values and gradients equal candle's broadcast operations bit for bit.
    #[test]
    fn same_numbers_as_candle_broadcasts() -> Result<()> {
        let x = Var::from_tensor(&varied(&[3, 5, 7], 1)?)?;
        let w = Var::from_tensor(&varied(&[7], 2)?)?;
        let b = Var::from_tensor(&varied(&[7], 3)?)?;
        let up = varied(&[3, 5, 7], 4)?;
        let ours = add_rows(&mul_rows(&x, &w)?, &b)?;
        let theirs = x.broadcast_mul(&w)?.broadcast_add(&b)?;
        let bits = |t: &Tensor| -> Result<Vec<u32>> {
            Ok(t.flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .map(|v| v.to_bits())
                .collect())
        };
        assert_eq!(bits(&ours)?, bits(&theirs)?);
        let g_ours = (ours * &up)?.sum_all()?.backward()?;
        let g_theirs = (theirs * &up)?.sum_all()?.backward()?;
        for v in [&x, &w, &b] {
            let (a, c) = (g_ours.get(v).unwrap(), g_theirs.get(v).unwrap());
            assert_eq!(bits(a)?, bits(c)?);
        }
        Ok(())
    }

    #[test]
    fn layer_norm_matches_candle_nn() -> Result<()> {
        let x = varied(&[2, 4, 16], 5)?;
        let w = varied(&[16], 6)?;
        let b = varied(&[16], 7)?;
        let ours = layer_norm(&x, &w, &b, 1e-12)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let theirs = candle_nn::ops::layer_norm_slow(&x, &w, &b, 1e-12)?;
        assert_eq!(ours, theirs.flatten_all()?.to_vec1::<f32>()?);
        Ok(())
    }

    #[test]
    fn mismatched_shapes_are_an_error() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), candle_core::DType::F32, &dev)?;
        let b = Tensor::zeros(4, candle_core::DType::F32, &dev)?;
        assert!(add_rows(&x, &b).is_err());
        let empty = Tensor::zeros((2, 0), candle_core::DType::F32, &dev)?;
        let none = Tensor::zeros(0, candle_core::DType::F32, &dev)?;
        assert!(mul_rows(&empty, &none).is_err());
        Ok(())
    }
}
