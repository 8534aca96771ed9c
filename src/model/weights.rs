//! Reading and writing weights as safetensors, in f32, f16 or int8.
//!
//! The int8 form stores each large 2-D weight `W` as `W` (i8, one symmetric scale per
//! row) plus `W.scale` (f32, one value per row); everything else stays f32. Reading
//! turns every form back into f32 tensors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::{Error, Result};

/// How weights are stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Storage {
    /// 32-bit floats, as trained.
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit integers with one f32 scale per row for large matrices.
    Int8,
}

const SCALE_SUFFIX: &str = ".scale";

/// Reads every tensor of a safetensors buffer as f32, undoing f16/bf16/int8 storage.
pub fn read(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Model(format!("invalid safetensors: {e}")))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if name.ends_with(SCALE_SUFFIX) {
            continue;
        }
        let shape = view.shape().to_vec();
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::I8 => {
                let (scales, [_, cols]) = int8_scales(&st, &name, &view)?;
                data.chunks_exact(cols.max(1))
                    .zip(&scales)
                    .flat_map(|(row, &s)| row.iter().map(move |&q| q as i8 as f32 * s))
                    .collect()
            }
            Dtype::I64 => continue, // position ids of some checkpoints: not a weight
            other => {
                return Err(Error::Model(format!(
                    "tensor `{name}` has unsupported dtype {other:?}"
                )))
            }
        };
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(Error::Model(format!("tensor `{name}` is truncated")));
        }
        out.insert(name, Tensor::from_vec(values, shape, device)?);
    }
    Ok(out)
}

/// A matrix stored as int8: row-major codes with one scale per row, `W ≈ codes·scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Matrix {
    /// Codes `[rows, cols]`, row-major.
    pub codes: Vec<i8>,
    /// One scale per row.
    pub scales: Vec<f32>,
    /// `[rows, cols]`.
    pub shape: [usize; 2],
}

/// The matrices of a safetensors buffer stored as int8 whose names `wanted` accepts, by
/// name, with their codes as stored (for int8 arithmetic without a round trip through
/// f32).
pub fn read_int8(
    bytes: &[u8],
    wanted: impl Fn(&str) -> bool,
) -> Result<HashMap<String, Int8Matrix>> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Model(format!("invalid safetensors: {e}")))?;
    st.tensors()
        .into_iter()
        .filter(|(name, view)| view.dtype() == Dtype::I8 && wanted(name))
        .map(|(name, view)| {
            let (scales, shape) = int8_scales(&st, &name, &view)?;
            let codes = view.data().iter().map(|&b| b as i8).collect();
            Ok((
                name,
                Int8Matrix {
                    codes,
                    scales,
                    shape,
                },
            ))
        })
        .collect()
}

/// The scales and shape of the int8 tensor `name`, from its `.scale` companion, checked.
fn int8_scales(st: &SafeTensors, name: &str, view: &TensorView) -> Result<(Vec<f32>, [usize; 2])> {
    let scale_name = format!("{name}{SCALE_SUFFIX}");
    let scales = st
        .tensor(&scale_name)
        .map_err(|_| Error::Model(format!("int8 tensor `{name}` lacks `{scale_name}`")))?;
    if scales.dtype() != Dtype::F32 {
        return Err(Error::Model(format!("`{scale_name}` is not f32")));
    }
    let scales: Vec<f32> = scales
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let shape = match *view.shape() {
        [rows, cols] => [rows, cols],
        _ => {
            return Err(Error::Model(format!(
                "int8 tensor `{name}` is not a matrix"
            )))
        }
    };
    if scales.len() != shape[0] || shape[0] == 0 {
        return Err(Error::Model(format!(
            "`{scale_name}` does not match `{name}`"
        )));
    }
    if view.data().len() != shape[0] * shape[1] {
        return Err(Error::Model(format!("tensor `{name}` is truncated")));
    }
    Ok((scales, shape))
}

/// Whether a tensor is stored as int8 under [`Storage::Int8`]: the large matrices.
fn quantised(name: &str, dims: &[usize]) -> bool {
    dims.len() == 2 && dims[0] >= 8 && dims[1] >= 64 && name.ends_with(".weight")
}

/// Writes tensors (f32) to a safetensors file in the given storage form.
pub fn write(tensors: &[(String, Tensor)], storage: Storage, path: &Path) -> Result<()> {
    let bytes = serialize(tensors, storage)?;
    std::fs::write(path, bytes)
        .map_err(|e| Error::Model(format!("writing {}: {e}", path.display())))
}

/// Tensors (f32) as the bytes of a safetensors file in the given storage form.
pub fn serialize(tensors: &[(String, Tensor)], storage: Storage) -> Result<Vec<u8>> {
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in tensors {
        let dims = t.dims().to_vec();
        let values: Vec<f32> = t.flatten_all()?.to_vec1()?;
        match storage {
            Storage::F32 => buffers.push((name.clone(), Dtype::F32, dims, f32_bytes(&values))),
            Storage::F16 => {
                let bytes = values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect();
                buffers.push((name.clone(), Dtype::F16, dims, bytes));
            }
            Storage::Int8 if quantised(name, &dims) => {
                let cols = dims[1];
                let mut q = Vec::with_capacity(values.len());
                let mut scales = Vec::with_capacity(dims[0]);
                for row in values.chunks_exact(cols) {
                    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                    scales.push(scale);
                    q.extend(
                        row.iter()
                            .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8),
                    );
                }
                buffers.push((name.clone(), Dtype::I8, dims.clone(), q));
                buffers.push((
                    format!("{name}{SCALE_SUFFIX}"),
                    Dtype::F32,
                    vec![dims[0]],
                    f32_bytes(&scales),
                ));
            }
            Storage::Int8 => buffers.push((name.clone(), Dtype::F32, dims, f32_bytes(&values))),
        }
    }
    let views = buffers
        .iter()
        .map(|(n, d, s, b)| {
            TensorView::new(*d, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::Model(format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(|e| Error::Model(format!("safetensors: {e}")))
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
