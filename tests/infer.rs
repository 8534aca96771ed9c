//! The encoder's inference kernels against candle's differentiable path, on the base
//! model: f32 equal to within rounding, int8 close, batching never changing a result.

mod common;

use candle_core::{Device, Tensor};
use polrec::model::bert::{Encoder, MaskSource, Mode, Precision};
use polrec::model::embedder::Embedder;

struct NoDropout;

impl MaskSource for NoDropout {
    fn mask(&mut self, _: &[usize], _: f32, _: &Device) -> polrec::Result<Tensor> {
        panic!("dropout asked for with probability 0")
    }
}

fn fixture_sentences() -> Vec<String> {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/model/reference-embeddings.json")).unwrap();
    fixture["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Token ids of the fixture sentences, and a padded batch of them.
fn batch(embedder: &Embedder) -> (Vec<Vec<u32>>, Tensor, Tensor) {
    let sentences = fixture_sentences();
    let ids: Vec<Vec<u32>> = sentences
        .iter()
        .map(|s| embedder.tokenizer().encode(s).unwrap().ids)
        .collect();
    let longest = ids.iter().map(|s| s.len()).max().unwrap();
    let mut flat = vec![0u32; ids.len() * longest];
    let mut mask = vec![0f32; ids.len() * longest];
    for (r, s) in ids.iter().enumerate() {
        flat[r * longest..r * longest + s.len()].copy_from_slice(s);
        mask[r * longest..r * longest + s.len()].fill(1.0);
    }
    let flat = Tensor::from_vec(flat, (ids.len(), longest), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(mask, (ids.len(), longest), &Device::Cpu).unwrap();
    (ids, flat, mask)
}

#[test]
fn inference_kernels_equal_the_differentiable_path_without_dropout() {
    let embedder = Embedder::from_dir(&common::base_model_dir())
        .unwrap()
        .with_precision(Precision::F32);
    let encoder = embedder.encoder();
    let (ids, flat, mask) = batch(&embedder);
    let train = encoder
        .forward(&flat, &mask, Mode::Train { dropout: 0.0 }, &mut NoDropout)
        .unwrap();
    let infer = encoder
        .forward(&flat, &mask, Mode::Infer, &mut NoDropout)
        .unwrap();
    // Every position, padding included, as the padded path computes it.
    let d = max_abs_diff(&train, &infer);
    assert!(d < 1e-4, "hidden states differ by {d}");

    // Unpadded sequences give the same pooled embeddings.
    let pooled_train = Encoder::mean_pool(&train, &mask).unwrap();
    let seqs: Vec<&[u32]> = ids.iter().map(|s| s.as_slice()).collect();
    let pooled = encoder.embed(&seqs).unwrap();
    let d = max_abs_diff(&pooled_train, &pooled);
    assert!(d < 1e-4, "pooled embeddings differ by {d}");
}

#[test]
fn int8_embeddings_stay_close_to_f32() {
    let dir = common::base_model_dir();
    let f32_embedder = Embedder::from_dir(&dir)
        .unwrap()
        .with_precision(Precision::F32);
    let int8_embedder = Embedder::from_dir(&dir)
        .unwrap()
        .with_precision(Precision::Int8);
    let sentences = fixture_sentences();
    let texts: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    let a = f32_embedder.embed(&texts).unwrap();
    let b = int8_embedder.embed(&texts).unwrap();
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| cosine(x, y))
        .fold(1f32, f32::min);
    eprintln!(
        "int8 ({:?}) vs f32: lowest cosine {worst}",
        int8_embedder.precision()
    );
    assert!(worst >= 0.99, "lowest cosine {worst}");
}

#[test]
fn batching_does_not_change_embeddings_at_either_precision() {
    let dir = common::base_model_dir();
    let sentences = fixture_sentences();
    let texts: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    for precision in [Precision::F32, Precision::Int8] {
        let embedder = Embedder::from_dir(&dir).unwrap().with_precision(precision);
        let together = embedder.embed(&texts).unwrap();
        for (text, row) in texts.iter().zip(&together) {
            let alone = embedder.embed(&[text]).unwrap();
            assert_eq!(&alone[0], row, "{precision:?}: {text}");
        }
    }
}

#[test]
fn precision_can_be_switched_back() {
    let embedder = Embedder::from_dir(&common::base_model_dir()).unwrap();
    let f32_first = embedder.with_precision(Precision::F32);
    let before = f32_first.embed(&["Peace."]).unwrap();
    let int8 = f32_first.with_precision(Precision::Int8);
    let back = int8.with_precision(Precision::F32);
    assert_eq!(back.precision(), Precision::F32);
    assert_eq!(back.embed(&["Peace."]).unwrap(), before);
}

#[test]
fn out_of_vocabulary_ids_are_an_error_not_a_panic() {
    let embedder = Embedder::from_dir(&common::base_model_dir()).unwrap();
    let err = embedder
        .encoder()
        .embed(&[&[101, 999_999, 102]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocabulary"), "{err}");
    assert!(embedder.encoder().embed(&[&[]]).is_err());
}
