//! The encoder's inference kernels against candle's differentiable path, on the base
//! model: f32 equal to within rounding, int8 close, batching never changing a result;
//! the shipped model's int8 codes used as stored; the precision switch of the binary.

mod common;

use std::path::Path;

use assert_cmd::Command;
use candle_core::{Device, Tensor};
use polrec::model::bert::{fuse_qkv, Encoder, EncoderConfig, MaskSource, Mode, Precision};
use polrec::model::classifier::PRECISION_VAR;
use polrec::model::embedder::Embedder;
use polrec::model::kernels::Isa;
use polrec::model::weights;

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

/// The shipped model's encoder, at f32.
fn shipped_encoder() -> (
    Encoder,
    std::collections::HashMap<String, weights::Int8Matrix>,
) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm");
    let config: EncoderConfig =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let mut w = weights::read(&bytes, &Device::Cpu).unwrap();
    fuse_qkv(&mut w, config.num_hidden_layers).unwrap();
    let encoder = Encoder::from_tensors(config, &w).unwrap();
    (encoder, weights::read_int8(&bytes).unwrap())
}

#[test]
fn stored_int8_codes_are_used_as_they_are() {
    if Isa::detect() != Isa::Avx2 {
        eprintln!("no AVX2: int8 is not used on this CPU");
        return;
    }
    let (mut stored, codes) = shipped_encoder();
    assert!(stored.use_stored_int8(&codes).unwrap());
    assert_eq!(stored.precision(), Precision::Int8);
    // Quantising the dequantised weights again gives the stored codes back, so the
    // same results, bit for bit.
    let (mut requantised, _) = shipped_encoder();
    requantised.set_precision(Precision::Int8);
    let (f32_encoder, _) = shipped_encoder();
    let seqs: [&[u32]; 3] = [
        &[101, 2057, 2655, 2006, 2035, 3033, 1012, 102],
        &[101, 4067, 2017, 1012, 102],
        &[
            101, 2026, 2231, 2097, 3828, 1002, 2322, 2454, 2000, 1996, 4636, 1012, 102,
        ],
    ];
    let a: Vec<Vec<f32>> = stored.embed(&seqs).unwrap().to_vec2().unwrap();
    let b: Vec<Vec<f32>> = requantised.embed(&seqs).unwrap().to_vec2().unwrap();
    assert_eq!(a, b);
    let c: Vec<Vec<f32>> = f32_encoder.embed(&seqs).unwrap().to_vec2().unwrap();
    assert_ne!(a, c, "int8 and f32 gave the same bits: int8 did not run");
    for (x, y) in a.iter().zip(&c) {
        assert!(cosine(x, y) > 0.995, "{}", cosine(x, y));
    }
    // Codes missing for a layer: nothing changes.
    let mut partial = codes.clone();
    partial.remove("encoder.layer.3.output.dense.weight");
    let (mut f32_again, _) = shipped_encoder();
    assert!(!f32_again.use_stored_int8(&partial).unwrap());
    assert_eq!(f32_again.precision(), Precision::F32);
}

#[test]
fn the_binary_runs_int8_by_default_and_f32_on_request() {
    let input = "We call on all parties to return to the negotiating table.\n\
                 My country will double its contribution to the fund next year.\n\
                 The war began in the spring of that year.\n";
    let run = |precision: Option<&str>| {
        let mut cmd = Command::cargo_bin("polrec").unwrap();
        cmd.args(["label", "--no-split"]).write_stdin(input);
        cmd.env_remove(PRECISION_VAR);
        if let Some(p) = precision {
            cmd.env(PRECISION_VAR, p);
        }
        cmd.output().unwrap()
    };
    let labels = |out: &std::process::Output| -> Vec<String> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["label"].to_string())
            .collect()
    };
    let default = labels(&run(None));
    assert_eq!(default, labels(&run(Some("int8"))));
    assert_eq!(default, labels(&run(Some("F32"))));
    assert_eq!(default.len(), 3);
    let bad = run(Some("f64"));
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(PRECISION_VAR) && err.contains("f64"), "{err}");
}

#[test]
fn stopping_after_the_topic_layers_gives_the_tapped_states() {
    let embedder = Embedder::from_dir(&common::base_model_dir()).unwrap();
    let (_, stored) = shipped_encoder();
    let sentences = fixture_sentences();
    let ids: Vec<Vec<u32>> = sentences
        .iter()
        .map(|s| embedder.tokenizer().encode(s).unwrap().ids)
        .collect();
    let seqs: Vec<&[u32]> = ids.iter().map(|s| s.as_slice()).collect();
    for int8 in [false, true] {
        let (mut encoder, _) = shipped_encoder();
        if int8 {
            encoder.use_stored_int8(&stored).unwrap();
        }
        let layers = encoder.config().num_hidden_layers;
        for tap in 0..=layers {
            let (_, tapped) = encoder.embed_tapped(&seqs, tap).unwrap();
            let through = encoder.embed_through(&seqs, tap).unwrap();
            let tapped: Vec<Vec<f32>> = tapped.unwrap().to_vec2().unwrap();
            assert_eq!(tapped, through.to_vec2::<f32>().unwrap(), "tap {tap}");
        }
    }
    // The classifier's topic embeddings are the tapped states of its labelling pass.
    let c = polrec::Classifier::embedded().unwrap();
    let texts: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    let encoded: Vec<_> = texts.iter().map(|t| c.tokenizer().encode(t).unwrap()).collect();
    let (_, with_labels) = c
        .classify_and_embed(&encoded.iter().collect::<Vec<_>>())
        .unwrap();
    assert_eq!(c.embed(&texts).unwrap(), with_labels);
}
