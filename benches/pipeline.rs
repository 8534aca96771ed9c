//! End to end labelling throughput in sentences/s with the embedded classifier: the
//! same 300 sentences through the [`Pipeline`] (each speed-up on, then each one
//! off), one sentence at a time, and in unsorted fixed batches of 32, so that what
//! batching and each speed-up is worth is a ratio measured in one run.
//!
//! The sentences are the first 300 lines of `../shared/corpora/bench-5000.txt` (or
//! of the file named by `POLREC_BENCH_SENTENCES`), one a unit as with `--no-split`,
//! else the bench fixture sentences over and over (whose repeats flatter `dedupe`).
//!
//! * `pipeline/all`: the pipeline as `label` runs it;
//! * `pipeline/no_dedupe`, `pipeline/serial_tokenize`, `pipeline/unsorted`: one
//!   speed-up off; `pipeline/none`: all off;
//! * `pipeline/one_at_a_time`: `Classifier::classify` on each sentence alone;
//! * `pipeline/fixed_batches`: `Classifier::classify` on batches of 32 in input order,
//!   one after another (the encoder's matrix products still use every core).
//!
//! All run on a rayon pool of all cores. Run: `cargo bench --bench pipeline`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use polrec::pipeline::{Labelled, Labelling, Pipeline, Segmentation, Sink, Tuning, Unit};
use polrec::Classifier;

/// Sentences labelled per iteration.
const SENTENCES: usize = 300;
/// Sentences per classifier batch.
const BATCH: usize = 32;

/// The first [`SENTENCES`] lines of the shared bench corpus, or the fixture sentences
/// repeated.
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
        .map(str::to_string)
        .collect();
    let out: Vec<String> = lines.iter().cycle().take(SENTENCES).cloned().collect();
    eprintln!(
        "pipeline bench: {} sentences from {}",
        out.len(),
        path.display()
    );
    out
}

/// One sentence as a unit.
struct Line<'a>(&'a str);

impl Unit for Line<'_> {
    fn text(&self) -> &str {
        self.0
    }
}

/// Counts the labelled sentences and keeps nothing.
struct Count(usize);

impl<'a> Sink<Line<'a>> for Count {
    type Error = std::convert::Infallible;

    fn unit(&mut self, _: Line<'a>, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        self.0 += sentences
            .iter()
            .filter(|s| matches!(s.labelling, Labelling::Labelled(..)))
            .count();
        Ok(())
    }

    fn chunk_done(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn pipeline(c: &mut Criterion) {
    let classifier = Classifier::embedded().expect("the embedded model loads");
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();

    let mut group = c.benchmark_group("pipeline");
    group
        .throughput(Throughput::Elements(texts.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(15));

    let all = Tuning::default();
    let none = Tuning {
        dedupe: false,
        parallel_tokenize: false,
        sort_by_length: false,
    };
    let tunings = [
        ("all", all),
        (
            "no_dedupe",
            Tuning {
                dedupe: false,
                ..all
            },
        ),
        (
            "serial_tokenize",
            Tuning {
                parallel_tokenize: false,
                ..all
            },
        ),
        (
            "unsorted",
            Tuning {
                sort_by_length: false,
                ..all
            },
        ),
        ("none", none),
    ];
    for (name, tuning) in tunings {
        let pipeline = Pipeline::new(Some(&classifier), Segmentation::Whole, BATCH)
            .on_pool(&pool)
            .with_tuning(tuning);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut count = Count(0);
                pipeline
                    .run(texts.iter().map(|t| Line(t)), &mut count)
                    .unwrap();
                assert_eq!(count.0, texts.len());
            })
        });
    }

    group.bench_function("one_at_a_time", |b| {
        b.iter(|| {
            pool.install(|| {
                for t in &texts {
                    classifier.classify(std::slice::from_ref(t)).unwrap();
                }
            })
        })
    });
    group.bench_function("fixed_batches", |b| {
        b.iter(|| {
            pool.install(|| {
                for batch in texts.chunks(BATCH) {
                    classifier.classify(batch).unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
