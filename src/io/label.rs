//! The `label` command: reads the inputs, runs them through the [`Pipeline`], and
//! writes one output record per sentence.

use std::borrow::Cow;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::diagnostics::Diagnostics;
use super::reader::{records, InputRecord, ReadOptions};
use super::record::OutputRecord;
use super::resume::{self, ResumePoint};
use super::shard::Shard;
use super::source::{discover, InputFormat, Source};
use super::writer::{OutputFormat, RecordWriter};
use crate::analysis::{Taxonomy, ThemeTagger};
use crate::model::tokenizer::Encoded;
use crate::model::Classifier;
use crate::pipeline::{
    Classify, Labelled, Labelling, Pipeline, Segmentation, Sink, Tagged, Tokenized, Unit,
};
use crate::text::country::Country;
use crate::text::{self, DocMeta};

/// Split inputs into sentences and label each one.
///
/// Writes one record per sentence: `doc`, `record`, `sentence`, `start`, `end`,
/// `speaker`, `delegation`, `text`, `label`, `scores`, `themes`, then `iso3`,
/// `session` and `year` from a UNGDC-style file name, then the input record's other
/// fields. Exit status: 0 when all went well; 1 when some input or record failed
/// (the rest is still written, each failure named on stderr with file and line);
/// 2 for bad usage or when the run cannot go on (output not writable, model not loadable).
#[derive(Debug, Clone, clap::Args)]
pub struct LabelArgs {
    /// Files or directories to read; directories are walked recursively in path
    /// order (following symbolic links, leaving out hidden entries). None, or `-`,
    /// reads standard input.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// How to read the inputs (a further `.gz` on a file name is decompressed).
    #[arg(long, value_enum, default_value_t = InputFormat::Auto, value_name = "FORMAT")]
    pub input_format: InputFormat,

    /// The JSONL field or table column holding the text. Every other field is
    /// carried into each output record unchanged (JSON values as written, table
    /// cells as strings); one named like an output field is carried as `input_NAME`.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_field: String,

    /// Do not split into sentences: each record is one unit, and with text input
    /// each non-empty line is one (its `record` is the 0-based line index).
    #[arg(long)]
    pub no_split: bool,

    /// Reject records holding invalid UTF-8 (as failures) instead of replacing the
    /// bad bytes with U+FFFD and warning.
    #[arg(long)]
    pub strict: bool,

    /// Output format. CSV and TSV have the JSONL fields as columns, `scores`
    /// flattened to `score_call_to_action`, `score_commitment`, `score_context`,
    /// lists joined with `;`, empty cells for null, and always `iso3`, `session`,
    /// `year`; the carried columns are those of the first record written, and
    /// fields of later records without a column are left out with a warning.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,

    /// Write to FILE instead of standard output (`-`: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

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

    /// Only split into sentences, without a classifier: `label` and `scores` are null
    /// (fast; for segmentation, offsets and speakers alone).
    #[arg(long, conflicts_with = "model")]
    pub segment_only: bool,

    /// Theme definitions to tag sentences with.
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,

    /// Continue an interrupted run that wrote to `-o FILE` with the same inputs and
    /// options: a partly written last record is cut off and the run goes on after
    /// the last complete one, neither losing nor repeating a record.
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// Process only the K-th of N slices of the input records (1 <= K <= N). The
    /// slices depend only on each input's path under the directory given (or file
    /// name) and the record index, so they are the same on every machine, and the N
    /// slices together give every record once.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,

    /// No progress bar and no notes; warnings and errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What a `label` run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Output records written.
    pub written: usize,
    /// Inputs or records that failed (each reported).
    pub failures: usize,
    /// Texts labelled but altered from what was written: invalid bytes replaced,
    /// sentences cut at the model's input limit (each reported as a warning).
    pub altered: usize,
    /// Warnings reported.
    pub warnings: usize,
}

impl Summary {
    /// Whether the run went all well: nothing failed, nothing was altered (the exit
    /// status is 0 exactly then).
    pub fn all_well(&self) -> bool {
        self.failures == 0 && self.altered == 0
    }
}

/// Runs `polrec label`; problems with single inputs are reported on stderr and
/// counted in the [`Summary`], problems that stop the run are returned.
pub fn run(args: &LabelArgs) -> crate::Result<Summary> {
    let progress = progress_bar(args.quiet);
    let printer = progress.clone();
    let diagnostics = Diagnostics::new(
        move |line| match &printer {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        },
        args.quiet,
    );
    let classifier = match args.segment_only {
        true => None,
        false => Some(ThemedClassifier::load(
            args.model.as_deref(),
            args.themes.as_deref(),
        )?),
    };
    let (writer, output_name, resume_at) = open_output(args, &diagnostics)?;
    let mut sources = discover(&args.inputs, args.input_format, &diagnostics);
    leave_out_output(&mut sources, args.output.as_deref(), &diagnostics);
    if let Some(bar) = &progress {
        size_progress(bar, &sources);
    }
    let options = ReadOptions {
        text_field: args.text_field.clone(),
        strict: args.strict,
        text_lines: args.no_split,
        shard: args.shard,
    };
    let segmentation = if args.no_split {
        Segmentation::Whole
    } else {
        Segmentation::Split
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.map_or(0, |n| n as usize))
        .build()
        .map_err(|e| crate::Error::Config {
            path: "--threads".into(),
            message: e.to_string(),
        })?;
    let classifier = classifier.as_ref().map(|c| c as &dyn Classify);
    let pipeline = Pipeline::new(classifier, segmentation, args.batch_size as usize).on_pool(&pool);

    let mut units = Units {
        sources: sources.iter(),
        current: None,
        options: &options,
        diagnostics: &diagnostics,
        progress: progress.as_ref(),
        resume_at,
        seen: 0,
    };
    let mut sink = LabelSink {
        writer,
        output_name,
        diagnostics: &diagnostics,
        progress: progress.as_ref(),
        written: 0,
    };
    pipeline.run(&mut units, &mut sink)?;
    if let Some(point) = &units.resume_at {
        let (doc, record, sentence) = &point.key;
        return Err(crate::Error::Config {
            path: sink.output_name.clone(),
            message: format!(
                "cannot resume: its last record ({doc}, record {record}, sentence {sentence}) is not in these \
                 inputs; were they or the options changed?"
            ),
        });
    }
    let written = sink.written;
    sink.writer.finish().map_err(|source| crate::Error::Io {
        path: sink.output_name.clone().into(),
        source,
    })?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    Ok(Summary {
        written,
        failures: diagnostics.failures(),
        altered: diagnostics.altered_texts(),
        warnings: diagnostics.warnings(),
    })
}

/// The classifier with the theme tagger: calls to action and commitments get the
/// policy themes whose prototypes are near their embeddings.
struct ThemedClassifier {
    classifier: Classifier,
    tagger: ThemeTagger,
}

impl ThemedClassifier {
    /// Loads `--model` (a directory or a Hugging Face Hub id, else the embedded model)
    /// and `--themes` (else the built-in taxonomy), and embeds the theme prototypes once.
    fn load(model: Option<&str>, themes: Option<&Path>) -> crate::Result<ThemedClassifier> {
        let classifier = Classifier::load(model)?;
        let taxonomy = Taxonomy::load(themes)?;
        let tagger = ThemeTagger::new(&taxonomy, &|t: &[&str]| classifier.embed(t))?;
        Ok(ThemedClassifier { classifier, tagger })
    }
}

impl Classify for ThemedClassifier {
    fn model_input<'t>(&self, sentence: &'t str, speaker: Option<Country>) -> Cow<'t, str> {
        self.classifier.model_input(sentence, speaker)
    }

    fn encode(&self, text: &str) -> crate::Result<Encoded> {
        self.classifier.tokenizer().encode(text)
    }

    fn classify_encoded(&self, batch: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>> {
        let encoded: Vec<&Encoded> = batch.iter().map(|s| s.encoded).collect();
        let (predictions, embeddings) = self.classifier.classify_and_embed(&encoded)?;
        Ok(predictions
            .into_iter()
            .zip(batch.iter().zip(&embeddings))
            .map(|(p, (sentence, e))| {
                let themes = self.tagger.tag(sentence.text, e, p.label);
                (p, themes)
            })
            .collect())
    }
}

/// A progress bar on stderr, if stderr is a terminal and not `quiet`.
fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| ProgressBar::new(0))
}

/// Sets the bar's length to the bytes of the input files: a bar when all are
/// files, a spinner when standard input (of unknown length) is one of them.
fn size_progress(bar: &ProgressBar, sources: &[Source]) {
    let sizes: Option<Vec<u64>> = sources
        .iter()
        .map(|s| {
            s.path
                .as_ref()
                .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        })
        .collect();
    let template = match sizes {
        Some(sizes) => {
            bar.set_length(sizes.iter().sum());
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}"
        }
        None => "{spinner} [{elapsed_precise}] {bytes} {msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
}

/// Leaves the output file out of the inputs (as when writing into a directory being
/// read), so that a run never reads what it writes.
fn leave_out_output(sources: &mut Vec<Source>, output: Option<&Path>, diagnostics: &Diagnostics) {
    let Some(output) = output.and_then(|p| std::fs::canonicalize(p).ok()) else {
        return;
    };
    sources.retain(|source| {
        let is_output = source
            .path
            .as_ref()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .is_some_and(|p| p == output);
        if is_output {
            diagnostics.note(format!("{}: left out, it is the output", source.doc));
        }
        !is_output
    });
}

/// Opens the output: a writer, the output's name for messages, and where to resume.
fn open_output(
    args: &LabelArgs,
    diagnostics: &Diagnostics,
) -> crate::Result<(RecordWriter, String, Option<ResumePoint>)> {
    let path = args.output.as_ref().filter(|p| p.as_os_str() != "-");
    let Some(path) = path else {
        if args.resume {
            return Err(crate::Error::Config {
                path: "--resume".into(),
                message: "needs -o FILE (it cannot resume standard output)".into(),
            });
        }
        return Ok((
            RecordWriter::new(args.format, Box::new(std::io::stdout())),
            "-".into(),
            None,
        ));
    };
    let name = path.display().to_string();
    let io_error = |source| crate::Error::Io {
        path: path.clone(),
        source,
    };
    let resumed = if args.resume {
        resume::prepare(path, args.format)?
    } else {
        None
    };
    let Some(resumed) = resumed else {
        let file = File::create(path).map_err(io_error)?;
        return Ok((RecordWriter::new(args.format, Box::new(file)), name, None));
    };
    let file: Box<dyn Write> = Box::new(File::options().append(true).open(path).map_err(io_error)?);
    if resumed.cut > 0 {
        diagnostics.note(format!(
            "{name}: cut off {} bytes of a partly written record",
            resumed.cut
        ));
    }
    diagnostics.note(format!(
        "{name}: resuming after {} complete records",
        resumed.records
    ));
    let writer = RecordWriter::appending(args.format, file, resumed.carried_columns);
    Ok((writer, name, resumed.last))
}

/// The document an input record comes from.
#[derive(Debug)]
struct Doc {
    doc: String,
    meta: Option<DocMeta>,
}

/// An input record on its way through the pipeline.
struct Pending {
    doc: Arc<Doc>,
    record: InputRecord,
    /// When resuming inside this record: the last sentence already written.
    written_through: Option<usize>,
}

impl Unit for Pending {
    fn text(&self) -> &str {
        &self.record.text
    }

    /// The country of a carried `iso3`, `delegation` or `country` field, else of the
    /// UNGDC-style file name.
    fn speaker(&self) -> Option<Country> {
        let field = self.record.carried.iter().find_map(|(name, value)| {
            let name = name.trim_start_matches("input_");
            matches!(name, "iso3" | "delegation" | "country")
                .then(|| serde_json::from_str::<String>(value.get()).ok())
                .flatten()
        });
        field
            .as_deref()
            .and_then(Country::from_delegation)
            .or_else(|| {
                let meta = self.doc.meta.as_ref()?;
                Country::from_delegation(&meta.iso3)
            })
    }
}

/// The input records of all sources in order, less those already written when resuming.
struct Units<'a> {
    sources: std::slice::Iter<'a, Source>,
    current: Option<(Arc<Doc>, Box<dyn Iterator<Item = InputRecord> + Send + 'a>)>,
    options: &'a ReadOptions,
    diagnostics: &'a Diagnostics,
    progress: Option<&'a ProgressBar>,
    /// The last record already written, until it is passed.
    resume_at: Option<ResumePoint>,
    /// How many times the resume point's input record has been met.
    seen: usize,
}

impl Iterator for Units<'_> {
    type Item = Pending;

    fn next(&mut self) -> Option<Pending> {
        loop {
            let Some((doc, records)) = &mut self.current else {
                let source = self.sources.next()?;
                let meta = source.path.as_deref().and_then(text::ungdc_meta);
                let doc = Arc::new(Doc {
                    doc: source.doc.clone(),
                    meta,
                });
                let records = records(source, self.options, self.diagnostics, self.progress);
                self.current = Some((doc, records));
                continue;
            };
            let Some(record) = records.next() else {
                self.current = None;
                continue;
            };
            let doc = doc.clone();
            let Some(point) = &self.resume_at else {
                return Some(Pending {
                    doc,
                    record,
                    written_through: None,
                });
            };
            let (key_doc, key_record, sentence) = &point.key;
            if doc.doc != *key_doc || record.index != *key_record {
                continue; // written before the interruption
            }
            self.seen += 1;
            if self.seen == point.occurrences {
                let written_through = Some(*sentence);
                self.resume_at = None;
                return Some(Pending {
                    doc,
                    record,
                    written_through,
                });
            }
        }
    }
}

/// Writes the labelled sentences of each unit as output records.
struct LabelSink<'a> {
    writer: RecordWriter,
    output_name: String,
    diagnostics: &'a Diagnostics,
    progress: Option<&'a ProgressBar>,
    written: usize,
}

impl LabelSink<'_> {
    fn write_error(&self, source: std::io::Error) -> crate::Error {
        crate::Error::Io {
            path: self.output_name.clone().into(),
            source,
        }
    }
}

impl Sink<Pending> for LabelSink<'_> {
    type Error = crate::Error;

    fn unit(&mut self, unit: Pending, sentences: Vec<Labelled>) -> crate::Result<()> {
        let Pending {
            doc,
            record,
            written_through,
        } = unit;
        for (index, labelled) in sentences.into_iter().enumerate() {
            if written_through.is_some_and(|last| index <= last) {
                continue;
            }
            let prediction = match labelled.labelling {
                Labelling::Unlabelled => None,
                Labelling::Labelled(prediction, themes) => Some((prediction, themes)),
                Labelling::Failed(error) => {
                    self.diagnostics.fail(&crate::Error::BadRecord {
                        path: doc.doc.clone(),
                        line: record.line,
                        message: format!("sentence {index} left out: {error}"),
                    });
                    continue;
                }
            };
            let truncated = labelled.truncated;
            if truncated {
                self.diagnostics.altered(
                    &doc.doc,
                    record.line,
                    format!(
                        "sentence {index} is longer than the model's input limit and was labelled from its \
                         beginning (marked \"truncated\")"
                    ),
                );
            }
            let sentence = &labelled.sentence;
            let output = OutputRecord {
                doc: &doc.doc,
                record: record.index,
                sentence: index,
                start: record.offsets.original(sentence.start),
                end: record.offsets.original(sentence.end),
                speaker: sentence.speaker.as_deref(),
                delegation: sentence.delegation.as_deref(),
                text: &sentence.text,
                prediction: prediction.as_ref().map(|(p, _)| p),
                truncated,
                themes: prediction.as_ref().map_or(&[][..], |(_, t)| t.as_slice()),
                meta: doc.meta.as_ref(),
                carried: &record.carried,
            };
            let left_out = self
                .writer
                .write(&output)
                .map_err(|e| self.write_error(e))?;
            for field in left_out {
                self.diagnostics.warn_once(
                    &format!("left out {field}"),
                    &doc.doc,
                    record.line,
                    format!(
                        "field `{field}` has no column (the columns are those of the first record written) and is \
                         left out of this and any later record; --format jsonl keeps every field"
                    ),
                );
            }
            self.written += 1;
        }
        Ok(())
    }

    fn chunk_done(&mut self) -> crate::Result<()> {
        self.writer.flush().map_err(|e| self.write_error(e))?;
        if let Some(bar) = self.progress {
            bar.set_message(format!("{} sentences", self.written));
        }
        Ok(())
    }
}
