//! Throughput of the text pipeline (normalise, speakers, segment) in MB/s: on a slice
//! of the UN General Debate Corpus when `$POLREC_SHARED_DIR/corpora`,
//! `../shared/corpora` or `/work/shared/corpora` is readable, and on the
//! hard-wrapped verbatim-record fixtures.

use std::io::Read;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Statements of the corpus, up to about `max_bytes` of text.
fn corpus_slice(max_bytes: usize) -> Option<Vec<String>> {
    let candidates = [
        std::env::var_os("POLREC_SHARED_DIR").map(std::path::PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")),
        Some(std::path::PathBuf::from("/work/shared")),
    ];
    let shared = candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("corpora").is_dir())?;
    let path = shared.join("corpora/ungdc-2015-2024.jsonl.gz");
    let file = std::fs::File::open(&path).ok()?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .ok()?;
    let mut out = Vec::new();
    let mut total = 0;
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let text = v.get("text")?.as_str()?.to_string();
        total += text.len();
        out.push(text);
        if total >= max_bytes {
            break;
        }
    }
    Some(out)
}

/// The hard-wrapped fixtures.
fn fixtures() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "txt"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn bench_docs(c: &mut Criterion, name: &str, docs: &[String]) {
    let bytes: usize = docs.iter().map(String::len).sum();
    let mut group = c.benchmark_group("segment");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function(name, |b| {
        b.iter(|| {
            docs.iter()
                .map(|d| polrec::text::split(std::hint::black_box(d)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn segment(c: &mut Criterion) {
    match corpus_slice(4 << 20) {
        Some(docs) => bench_docs(c, "ungdc_4mb", &docs),
        None => eprintln!("corpus not readable: benchmarking the fixtures only"),
    }
    let fx = fixtures();
    if !fx.is_empty() {
        bench_docs(c, "wrapped_fixtures", &fx);
    }
}

criterion_group!(benches, segment);
criterion_main!(benches);
