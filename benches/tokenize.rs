//! Tokenization throughput in sentences/s with the embedded model's tokenizer, on the
//! first 1,000 lines of `../shared/corpora/bench-5000.txt` (or the file named by
//! `POLREC_BENCH_SENTENCES`), else on the bench fixture sentences.
//!
//! * `tokenize/serial`: one sentence after another on one thread;
//! * `tokenize/parallel`: the same sentences on a rayon pool of all cores, as the
//!   pipeline tokenizes a chunk.
//!
//! Run: `cargo bench --bench tokenize`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polrec::Classifier;
use rayon::prelude::*;

/// Sentences measured on.
const SENTENCES: usize = 1000;

/// The first [`SENTENCES`] lines of the shared bench corpus, or the fixture sentences.
fn sentences() -> Vec<String> {
    let shared = match std::env::var_os("POLREC_BENCH_SENTENCES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/bench-5000.txt"),
    };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bench/sentences.txt");
    let (path, text) = match std::fs::read_to_string(&shared) {
        Ok(text) => (shared, text),
        Err(_) => {
            let text =
                std::fs::read_to_string(&fixture).expect("the fixture sentences are readable");
            (fixture, text)
        }
    };
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SENTENCES)
        .map(str::to_string)
        .collect();
    eprintln!(
        "tokenize bench: {} sentences from {}",
        lines.len(),
        path.display()
    );
    lines
}

fn tokenize(c: &mut Criterion) {
    let classifier = Classifier::embedded().expect("the embedded model loads");
    let tokenizer = classifier.tokenizer();
    let sentences = sentences();
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();

    let mut group = c.benchmark_group("tokenize");
    group.throughput(Throughput::Elements(sentences.len() as u64));
    group.bench_function("serial", |b| {
        b.iter(|| {
            for s in &sentences {
                black_box(tokenizer.encode(s).unwrap());
            }
        })
    });
    group.bench_function("parallel", |b| {
        b.iter(|| {
            pool.install(|| {
                sentences
                    .par_iter()
                    .map(|s| tokenizer.encode(s).unwrap())
                    .collect::<Vec<_>>()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
