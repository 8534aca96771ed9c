//! The `bench` command: throughput of the whole pipeline (read, segment, tokenize,
//! encode, classify, write) on a corpus, with the time of each stage, start-up and
//! peak memory.
//!
//! Each run goes through the corpus twice, with the same pipeline:
//! - as `label` does, the stages overlapping (the records are read on a thread of their
//!   own while chunks are labelled): this gives the throughput and, in the first run,
//!   the time to the first label;
//! - in sequence: all records read first, then chunk by chunk segmentation,
//!   tokenization, encoding and classification, and writing, each timed: this gives
//!   the time of each stage.
//!
//! The output records are written as `label` writes them, into a sink that counts
//! their bytes and keeps none.

mod report;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use report::{Report, Stages};

use crate::io::diagnostics::Diagnostics;
use crate::io::reader::{records, InputRecord, ReadOptions};
use crate::io::source::{discover, InputFormat, Source};
use crate::io::writer::{OutputFormat, RecordWriter};
use crate::io::OutputRecord;
use crate::model::Classifier;
use crate::pipeline::{Labelled, Labelling, Pipeline, RunStats, Segmentation, Sink, Unit};
use crate::text::{self, DocMeta};

/// The corpus read when none is named, relative to the working directory (the
/// repository's root, beside which the shared corpora lie).
pub const DEFAULT_CORPUS: &str = "../shared/corpora/bench-5000.txt";

/// Measure the throughput of the whole pipeline on a corpus.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The corpus: a file or a directory, read as `label` reads its inputs
    /// [default: ../shared/corpora/bench-5000.txt].
    #[arg(value_name = "CORPUS")]
    pub corpus: Option<String>,

    /// Print one JSON object (with `sentences_per_sec` and `tokens_per_sec`) instead
    /// of a table.
    #[arg(long)]
    pub json: bool,

    /// How to read the corpus, as with `label`.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto, value_name = "FORMAT")]
    pub input_format: InputFormat,

    /// The JSONL field or table column holding the text.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_field: String,

    /// Do not split into sentences: each record is one unit, and with text input
    /// each non-empty line is one.
    #[arg(long)]
    pub no_split: bool,

    /// The output format written (and counted).
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,

    /// Sentences per classifier batch.
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,

    /// Threads for segmenting and labelling [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// The model: a directory or a Hugging Face Hub id [default: the model inside
    /// the binary].
    #[arg(long, value_name = "PATH_OR_HUB_ID")]
    pub model: Option<String>,

    /// Runs to make; the figures are their medians.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
}

/// Runs `polrec bench`: measures, prints the report on standard output (a table, or
/// JSON with `--json`) and returns it.
pub fn run(args: &BenchArgs) -> crate::Result<Report> {
    let report = measure(args)?;
    let mut out = std::io::stdout().lock();
    let printed = match args.json {
        true => serde_json::to_writer(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        false => write!(out, "{report}"),
    };
    printed.map_err(|source| crate::Error::Io {
        path: "-".into(),
        source,
    })?;
    Ok(report)
}

/// Measures the pipeline on the corpus of `args` (see the module documentation).
pub fn measure(args: &BenchArgs) -> crate::Result<Report> {
    let started = Instant::now();
    let corpus = corpus(args)?;
    let diagnostics = Diagnostics::new(|line| eprintln!("{line}"), true);
    let sources = discover(
        std::slice::from_ref(&corpus),
        args.input_format,
        &diagnostics,
    );
    if sources.is_empty() {
        return Err(crate::Error::Config {
            path: corpus,
            message: "no file to read".into(),
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, |n| n as usize))
        .build()
        .map_err(|e| crate::Error::Config {
            path: "--threads".into(),
            message: e.to_string(),
        })?;

    let loading = Instant::now();
    let classifier = Classifier::load(args.model.as_deref())?;
    let model_load = loading.elapsed();

    let segmentation = match args.no_split {
        true => Segmentation::Whole,
        false => Segmentation::Split,
    };
    let pipeline =
        Pipeline::new(Some(&classifier), segmentation, args.batch_size as usize).on_pool(&pool);
    let options = ReadOptions {
        text_field: args.text_field.clone(),
        strict: false,
        text_lines: args.no_split,
        shard: None,
    };
    // Problems with the corpus are reported in the first run only.
    let silent = Diagnostics::new(|_| {}, true);
    let repeat = args.repeat.max(1);
    let mut runs = Vec::with_capacity(repeat as usize);
    for i in 0..repeat {
        let (diagnostics, since) = match i {
            0 => (&diagnostics, started),
            _ => (&silent, Instant::now()),
        };
        let corpus = Corpus {
            sources: &sources,
            options: &options,
            diagnostics,
        };
        let overlapped = corpus.run_overlapped(&pipeline, args.format, since)?;
        let staged = corpus.run_staged(&pipeline, args.format)?;
        runs.push((overlapped, staged));
    }
    Ok(Report::new(
        args,
        corpus,
        pipeline.threads(),
        model_load,
        &runs,
        diagnostics.failures(),
    ))
}

/// The corpus named by `args`, or the default one if it is there.
fn corpus(args: &BenchArgs) -> crate::Result<String> {
    match args.corpus.as_deref() {
        Some("-") => Err(crate::Error::Config {
            path: "-".into(),
            message:
                "bench reads its corpus more than once and cannot read standard input; name a file"
                    .into(),
        }),
        Some(corpus) => Ok(corpus.to_string()),
        None if std::path::Path::new(DEFAULT_CORPUS).is_file() => Ok(DEFAULT_CORPUS.into()),
        None => Err(crate::Error::Config {
            path: "CORPUS".into(),
            message: format!(
                "no corpus named and the default, {DEFAULT_CORPUS}, is not there; name a file"
            ),
        }),
    }
}

/// One pass of the pipeline as `label` makes it, the stages overlapping.
struct OverlappedRun {
    /// Wall time from the start of reading to the last record written.
    elapsed: Duration,
    /// What the pipeline did.
    stats: RunStats,
    /// What was written.
    output: Output,
}

/// One pass of the pipeline with its stages in sequence.
struct StagedRun {
    /// Reading all records.
    read: Duration,
    /// What the pipeline did and where its time went.
    stats: RunStats,
    /// Wall time of the whole pass.
    elapsed: Duration,
}

/// What a [`CountingSink`] was given.
struct Output {
    /// Output records written.
    records: usize,
    /// Bytes written.
    bytes: u64,
    /// When the first output record was flushed, from the sink's start time.
    first_label: Option<Duration>,
}

/// The corpus, ready to be read as often as needed.
struct Corpus<'a> {
    sources: &'a [Source],
    options: &'a ReadOptions,
    diagnostics: &'a Diagnostics,
}

impl Corpus<'_> {
    /// The records of every source, in order.
    fn records(&self) -> impl Iterator<Item = Record> + Send + '_ {
        self.sources.iter().flat_map(move |source| {
            let doc = Arc::new(Doc {
                name: source.doc.clone(),
                meta: source.path.as_deref().and_then(text::ungdc_meta),
            });
            records(source, self.options, self.diagnostics, None).map(move |record| Record {
                doc: doc.clone(),
                record,
            })
        })
    }

    /// Labels the corpus as `label` does; the time to the first label counts from `since`.
    fn run_overlapped(
        &self,
        pipeline: &Pipeline,
        format: OutputFormat,
        since: Instant,
    ) -> crate::Result<OverlappedRun> {
        let started = Instant::now();
        let mut sink = CountingSink::new(format, since, self.diagnostics);
        let stats = pipeline.run(self.records(), &mut sink)?;
        let output = sink.finish()?;
        Ok(OverlappedRun {
            elapsed: started.elapsed(),
            stats,
            output,
        })
    }

    /// Reads every record first, then labels them chunk by chunk, timing each stage.
    fn run_staged(&self, pipeline: &Pipeline, format: OutputFormat) -> crate::Result<StagedRun> {
        let started = Instant::now();
        let records: Vec<Record> = self.records().collect();
        let read = started.elapsed();
        let silent = Diagnostics::new(|_| {}, true);
        let mut sink = CountingSink::new(format, started, &silent);
        let stats = pipeline.run(records, &mut sink)?;
        sink.finish()?;
        Ok(StagedRun {
            read,
            stats,
            elapsed: started.elapsed(),
        })
    }
}

/// The document an input record comes from.
struct Doc {
    name: String,
    meta: Option<DocMeta>,
}

/// An input record on its way through the pipeline.
struct Record {
    doc: Arc<Doc>,
    record: InputRecord,
}

impl Unit for Record {
    fn text(&self) -> &str {
        &self.record.text
    }
}

/// Output as `label` writes it, into a [`ByteCounter`].
struct CountingSink<'a> {
    writer: RecordWriter,
    bytes: Arc<AtomicU64>,
    written: usize,
    since: Instant,
    first_label: Option<Duration>,
    diagnostics: &'a Diagnostics,
}

impl<'a> CountingSink<'a> {
    fn new(format: OutputFormat, since: Instant, diagnostics: &'a Diagnostics) -> Self {
        let bytes = Arc::new(AtomicU64::new(0));
        CountingSink {
            writer: RecordWriter::new(format, Box::new(ByteCounter(bytes.clone()))),
            bytes,
            written: 0,
            since,
            first_label: None,
            diagnostics,
        }
    }

    /// Ends the output.
    fn finish(self) -> crate::Result<Output> {
        self.writer.finish().map_err(counter_error)?;
        Ok(Output {
            records: self.written,
            bytes: self.bytes.load(Ordering::Relaxed),
            first_label: self.first_label,
        })
    }
}

impl Sink<Record> for CountingSink<'_> {
    type Error = crate::Error;

    fn unit(&mut self, unit: Record, sentences: Vec<Labelled>) -> crate::Result<()> {
        let Record { doc, record } = unit;
        for (index, labelled) in sentences.into_iter().enumerate() {
            let prediction = match labelled.labelling {
                Labelling::Labelled(prediction, _) => Some(prediction),
                Labelling::Unlabelled => None,
                Labelling::Failed(error) => {
                    self.diagnostics.fail(&crate::Error::BadRecord {
                        path: doc.name.clone(),
                        line: record.line,
                        message: format!("sentence {index} left out: {error}"),
                    });
                    continue;
                }
            };
            let sentence = &labelled.sentence;
            let output = OutputRecord {
                doc: &doc.name,
                record: record.index,
                sentence: index,
                start: record.offsets.original(sentence.start),
                end: record.offsets.original(sentence.end),
                speaker: sentence.speaker.as_deref(),
                delegation: sentence.delegation.as_deref(),
                text: &sentence.text,
                prediction: prediction.as_ref(),
                themes: &[],
                meta: doc.meta.as_ref(),
                carried: &record.carried,
            };
            self.writer.write(&output).map_err(counter_error)?;
            self.written += 1;
        }
        Ok(())
    }

    fn chunk_done(&mut self) -> crate::Result<()> {
        self.writer.flush().map_err(counter_error)?;
        if self.first_label.is_none() && self.written > 0 {
            self.first_label = Some(self.since.elapsed());
        }
        Ok(())
    }
}

/// An error of the counting output (which has none of its own: a serialisation error).
fn counter_error(source: std::io::Error) -> crate::Error {
    crate::Error::Io {
        path: "(bench output)".into(),
        source,
    }
}

/// A [`Write`] that keeps nothing and counts the bytes.
struct ByteCounter(Arc<AtomicU64>);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
