//! Reading and writing weights as safetensors, in f32, f16, int8 or int8 with 4-bit word
//! embeddings.
//!
//! The int8 form stores each large 2-D weight `W` as `W` (i8, one symmetric scale per
//! row) plus `W.scale` (f32, one value per row); everything else stays f32. The
//! `int8-emb4` form stores the word embeddings (the largest matrix, read by lookup, never
//! multiplied) in 4 bits: `W` (u8, two codes per byte, the even column in the low nibble)
//! with `W.scale` and `W.min` (f16, one per row and group of [`GROUP`] columns), a value
//! being `min + code·scale`. Reading turns every form back into f32 tensors.

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
    /// As int8, with the word embeddings in 4 bits (a scale and a minimum per group of 32
    /// columns).
    #[value(name = "int8-emb4")]
    Int8Emb4,
}

const SCALE_SUFFIX: &str = ".scale";
const MIN_SUFFIX: &str = ".min";
/// Columns that share one scale and minimum in the 4-bit form.
pub const GROUP: usize = 32;

/// Reads every tensor of a safetensors buffer as f32, undoing f16/bf16/int8/4-bit storage.
pub fn read(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Model(format!("invalid safetensors: {e}")))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if name.ends_with(SCALE_SUFFIX) || name.ends_with(MIN_SUFFIX) {
            continue;
        }
        let mut shape = view.shape().to_vec();
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => f32_values(data),
            Dtype::F16 => f16_values(data),
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
            Dtype::U8 => {
                let values = int4_values(&st, &name, &view)?;
                shape[1] *= 2; // two codes per byte
                values
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
    let scales = f32_values(scales.data());
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

/// The f32 values of the 4-bit tensor `name` (its codes in `view`, its `.scale` and `.min`
/// companions beside it), checked.
fn int4_values(st: &SafeTensors, name: &str, view: &TensorView) -> Result<Vec<f32>> {
    let [rows, cols] = match *view.shape() {
        [rows, half] => [rows, half * 2],
        _ => {
            return Err(Error::Model(format!(
                "4-bit tensor `{name}` is not a matrix"
            )))
        }
    };
    if cols % GROUP != 0 || view.data().len() != rows * cols / 2 {
        return Err(Error::Model(format!("4-bit tensor `{name}` is truncated")));
    }
    let companion = |suffix: &str| -> Result<Vec<f32>> {
        let full = format!("{name}{suffix}");
        let t = st
            .tensor(&full)
            .map_err(|_| Error::Model(format!("4-bit tensor `{name}` lacks `{full}`")))?;
        if t.dtype() != Dtype::F16 || t.shape() != [rows, cols / GROUP] {
            return Err(Error::Model(format!("`{full}` does not match `{name}`")));
        }
        Ok(f16_values(t.data()))
    };
    let (scales, mins) = (companion(SCALE_SUFFIX)?, companion(MIN_SUFFIX)?);
    Ok(view
        .data()
        .chunks_exact(GROUP / 2)
        .zip(scales.iter().zip(&mins))
        .flat_map(|(bytes, (&scale, &min))| {
            bytes
                .iter()
                .flat_map(move |&b| [b & 0x0f, b >> 4].map(|q| min + f32::from(q) * scale))
        })
        .collect())
}

/// A matrix quantised to 4 bits by groups of [`GROUP`] columns: the packed codes, the f16
/// scales and the f16 minimums, as stored.
fn quantise_int4(values: &[f32]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut codes = Vec::with_capacity(values.len() / 2);
    let (mut scales, mut mins) = (Vec::new(), Vec::new());
    for group in values.chunks_exact(GROUP) {
        let lo = group.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = group.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min = half::f16::from_f32(lo);
        let scale = half::f16::from_f32((hi - lo) / 15.0);
        let (min_f, scale_f) = (min.to_f32(), scale.to_f32());
        let code = |v: f32| {
            if scale_f > 0.0 {
                ((v - min_f) / scale_f).round().clamp(0.0, 15.0) as u8
            } else {
                0
            }
        };
        codes.extend(group.chunks_exact(2).map(|p| code(p[0]) | code(p[1]) << 4));
        scales.extend(scale.to_le_bytes());
        mins.extend(min.to_le_bytes());
    }
    (codes, scales, mins)
}

/// Whether a tensor is stored in 4 bits under [`Storage::Int8Emb4`]: the word embeddings.
fn quantised_int4(name: &str, dims: &[usize]) -> bool {
    dims.len() == 2 && dims[1].is_multiple_of(GROUP) && name.ends_with("word_embeddings.weight")
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
            Storage::Int8Emb4 if quantised_int4(name, &dims) => {
                let (codes, scales, mins) = quantise_int4(&values);
                let groups = vec![dims[0], dims[1] / GROUP];
                buffers.push((name.clone(), Dtype::U8, vec![dims[0], dims[1] / 2], codes));
                buffers.push((
                    format!("{name}{SCALE_SUFFIX}"),
                    Dtype::F16,
                    groups.clone(),
                    scales,
                ));
                buffers.push((format!("{name}{MIN_SUFFIX}"), Dtype::F16, groups, mins));
            }
            Storage::Int8 | Storage::Int8Emb4 if quantised(name, &dims) => {
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
            Storage::Int8 | Storage::Int8Emb4 => {
                buffers.push((name.clone(), Dtype::F32, dims, f32_bytes(&values)))
            }
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

/// Little-endian f32 bytes as values.
fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Little-endian f16 bytes as f32 values.
fn f16_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embeddings(rows: usize, cols: usize) -> Vec<(String, Tensor)> {
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 0.2)
            .collect();
        let t = Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap();
        vec![("embeddings.word_embeddings.weight".to_string(), t)]
    }

    fn values(tensors: &HashMap<String, Tensor>) -> Vec<f32> {
        tensors["embeddings.word_embeddings.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn four_bit_embeddings_stay_within_half_a_step_and_quantise_again_to_the_same_bytes() {
        let original = embeddings(100, 64);
        let bytes = serialize(&original, Storage::Int8Emb4).unwrap();
        let read_back = read(&bytes, &Device::Cpu).unwrap();
        let (x, y) = (
            values(&read_back),
            original[0]
                .1
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
        );
        // A group spans at most 0.2, so a step is at most 0.2 / 15 (plus f16 rounding).
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() <= 0.2 / 15.0 / 2.0 + 1e-3, "{a} vs {b}");
        }
        let again: Vec<_> = read_back.into_iter().collect();
        assert_eq!(serialize(&again, Storage::Int8Emb4).unwrap(), bytes);
        // Half the bytes of int8 codes, plus two f16 per group.
        let int8 = serialize(&original, Storage::Int8).unwrap();
        assert!(
            bytes.len() < int8.len() * 3 / 4,
            "{} vs {}",
            bytes.len(),
            int8.len()
        );
    }

    #[test]
    fn a_constant_group_reads_back_exactly() {
        let t = Tensor::full(0.25f32, (2, 32), &Device::Cpu).unwrap();
        let named = vec![("embeddings.word_embeddings.weight".to_string(), t)];
        let bytes = serialize(&named, Storage::Int8Emb4).unwrap();
        assert!(values(&read(&bytes, &Device::Cpu).unwrap())
            .iter()
            .all(|&v| v == 0.25));
    }

    #[test]
    fn a_four_bit_tensor_without_its_minimums_is_a_clear_error() {
        let bytes = serialize(&embeddings(4, 32), Storage::Int8Emb4).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let kept: Vec<_> = st
            .tensors()
            .into_iter()
            .filter(|(name, _)| !name.ends_with(MIN_SUFFIX))
            .collect();
        let broken = safetensors::serialize(kept, None).unwrap();
        let err = read(&broken, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("lacks `embeddings.word_embeddings.weight.min`"),
            "{err}"
        );
    }
}
