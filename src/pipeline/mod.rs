//! The labelling pipeline: segments units of text into sentences, labels them in
//! batches on a rayon pool, and hands the results back in input order.
//!
//! The pipeline knows nothing of files or formats: it takes any stream of [`Unit`]s
//! (a record of an input, a line, …) and gives each one back to a [`Sink`] with its
//! labelled sentences, in the order the units came in. It works chunk by chunk so
//! that a corpus is never held in memory whole: a chunk is segmented in parallel,
//! its sentences are labelled as one [`window`] (each distinct text once, tokenized
//! in parallel, batched by token length, batches classified in parallel), and its
//! units are handed to the sink in order before the next chunk is taken.
//!
//! Units are pulled from their iterator on a thread of their own, a bounded queue
//! ahead of the work. A chunk takes the units waiting in the queue, up to a size
//! that keeps every thread busy; when none are waiting it goes with what it has, so
//! that a slow stream (a pipe, a live feed) is labelled as it comes, while a fast
//! one is labelled in full chunks.
//!
//! Parallel work runs on the rayon pool given with [`Pipeline::on_pool`], or else on
//! the current one.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::model::tokenizer::Encoded;
use crate::model::{Classifier, Prediction};
use crate::text::country::Country;
use crate::text::{self, Sentence};

pub mod window;

/// A prediction with the sentence's policy themes, best first.
pub type Tagged = (Prediction, Vec<String>);

/// A sentence's text with its tokenization, as the pipeline hands it to a classifier.
#[derive(Debug, Clone, Copy)]
pub struct Tokenized<'a> {
    /// The sentence.
    pub text: &'a str,
    /// Its tokens.
    pub encoded: &'a Encoded,
}

/// Anything that labels sentences: the hook through which a classifier enters the pipeline.
///
/// Which sentences share a batch depends on how fast the input comes (see the
/// module documentation) and on where a `--resume` starts, so a sentence's
/// prediction must not depend on the other sentences of its batch for the output
/// to be reproducible.
///
/// The pipeline tokenizes on its own (in parallel, so that it can batch sentences of
/// like length), then hands the classifier batches of tokenized sentences.
///
/// [`Classifier`] implements it; tests implement it with stand-ins.
pub trait Classify: Sync {
    /// What the model reads for `sentence` said by `speaker` (see
    /// [`Classifier::model_input`]): by default the sentence as it is.
    fn model_input<'t>(&self, sentence: &'t str, _speaker: Option<Country>) -> Cow<'t, str> {
        Cow::Borrowed(sentence)
    }
    /// Tokenizes one sentence.
    fn encode(&self, text: &str) -> crate::Result<Encoded>;
    /// Labels tokenized sentences, one prediction each, in order, with each sentence's
    /// policy themes (best first; none from a classifier that tags no themes).
    fn classify_encoded(&self, batch: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>>;
}

impl Classify for Classifier {
    fn model_input<'t>(&self, sentence: &'t str, speaker: Option<Country>) -> Cow<'t, str> {
        Classifier::model_input(self, sentence, speaker)
    }

    fn encode(&self, text: &str) -> crate::Result<Encoded> {
        self.tokenizer().encode(text)
    }

    fn classify_encoded(&self, batch: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>> {
        let encoded: Vec<&Encoded> = batch.iter().map(|s| s.encoded).collect();
        Ok(Classifier::classify_encoded(self, &encoded)?
            .into_iter()
            .map(|p| (p, Vec::new()))
            .collect())
    }
}

/// How a unit's text becomes sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segmentation {
    /// Split into sentences with [`text::split`].
    Split,
    /// The whole unit is one sentence ([`text::single_unit`]); blank units give none.
    Whole,
}

/// A piece of input the pipeline segments and labels.
pub trait Unit: Send + Sync {
    /// The unit's original text.
    fn text(&self) -> &str;
    /// The country of the unit's speaker, if known (a corpus's `iso3` field, say); a
    /// verbatim-record header inside the text names the speaker of what follows it instead.
    fn speaker(&self) -> Option<Country> {
        None
    }
}

/// What became of one sentence in the classifier.
#[derive(Debug)]
pub enum Labelling {
    /// No classifier was given: the sentence has no label.
    Unlabelled,
    /// The classifier's prediction, and the sentence's policy themes (best first).
    Labelled(Prediction, Vec<String>),
    /// The classifier failed on this sentence (also when tried alone); shared by the
    /// repeats of the sentence in its window.
    Failed(Arc<crate::Error>),
}

/// One sentence of a unit with its labelling.
#[derive(Debug)]
pub struct Labelled {
    /// The sentence, with byte offsets into the unit's text.
    pub sentence: Sentence,
    /// Its label, if any.
    pub labelling: Labelling,
    /// The sentence was longer than the model's input limit and was labelled from
    /// its beginning only (the tokenizer cut it).
    pub truncated: bool,
}

/// Receives units back from the pipeline, in input order.
pub trait Sink<U> {
    /// The sink's error; the first one stops the pipeline.
    type Error;
    /// One unit and its sentences (possibly none), in order.
    fn unit(&mut self, unit: U, sentences: Vec<Labelled>) -> Result<(), Self::Error>;
    /// Called after the last unit of each chunk: a good moment to flush.
    fn chunk_done(&mut self) -> Result<(), Self::Error>;
}

/// Approximate bytes of text per sentence, used to size chunks before segmenting.
const BYTES_PER_SENTENCE: usize = 150;
/// Batches per thread in a chunk, so that threads stay busy on uneven batches and the
/// sentences of a chunk are many enough to batch by length.
const BATCHES_PER_THREAD: usize = 4;
/// Units read ahead of the work, at most.
const QUEUED_UNITS: usize = 1024;

/// Which speed-ups of the pipeline are on; all are by default, and leave the labels
/// as they are. Switching one off is for measuring what it is worth
/// (`benches/pipeline.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Label each distinct sentence text of a chunk once, and give its label to the
    /// repeats (UN statements repeat formulas such as "Thank you, Mr. President.").
    pub dedupe: bool,
    /// Tokenize the sentences of a chunk in parallel (else on one thread).
    pub parallel_tokenize: bool,
    /// Batch the sentences of a chunk in order of token length, so that a batch pads
    /// little (else in input order).
    pub sort_by_length: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            dedupe: true,
            parallel_tokenize: true,
            sort_by_length: true,
        }
    }
}

/// What a run did and where its time went. The stages run one after another on the
/// calling thread, chunk by chunk, while the units are read on a thread of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    /// Units handed to the sink.
    pub units: usize,
    /// Sentences handed to the sink.
    pub sentences: usize,
    /// Sentences given to the classifier: the distinct texts of each chunk.
    pub classified: usize,
    /// Tokens of the sentences (special tokens included, padding not), repeats counted.
    pub tokens: usize,
    /// Chunks processed.
    pub chunks: usize,
    /// Time waiting for units to be read.
    pub waiting: Duration,
    /// Time segmenting.
    pub segment: Duration,
    /// Time tokenizing.
    pub tokenize: Duration,
    /// Time encoding and classifying.
    pub classify: Duration,
    /// Time in the sink.
    pub sink: Duration,
}

/// Segments and labels units; see the module documentation.
pub struct Pipeline<'c> {
    classifier: Option<&'c dyn Classify>,
    segmentation: Segmentation,
    batch_size: usize,
    tuning: Tuning,
    pool: Option<&'c rayon::ThreadPool>,
}

impl<'c> Pipeline<'c> {
    /// A pipeline labelling with `classifier` (none: sentences stay unlabelled) in
    /// batches of `batch_size` sentences (at least 1).
    pub fn new(
        classifier: Option<&'c dyn Classify>,
        segmentation: Segmentation,
        batch_size: usize,
    ) -> Self {
        Pipeline {
            classifier,
            segmentation,
            batch_size: batch_size.max(1),
            tuning: Tuning::default(),
            pool: None,
        }
    }

    /// The same pipeline doing its parallel work on `pool`.
    pub fn on_pool(self, pool: &'c rayon::ThreadPool) -> Self {
        Pipeline {
            pool: Some(pool),
            ..self
        }
    }

    /// The same pipeline with only the speed-ups of `tuning`.
    pub fn with_tuning(self, tuning: Tuning) -> Self {
        Pipeline { tuning, ..self }
    }

    /// Threads of the pool the work runs on.
    pub fn threads(&self) -> usize {
        self.pool
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    /// Bytes of unit text gathered into one chunk.
    fn chunk_bytes(&self) -> usize {
        self.batch_size * self.threads() * BATCHES_PER_THREAD * BYTES_PER_SENTENCE
    }

    /// Runs every unit of `units` through the pipeline into `sink`, in order.
    ///
    /// The first error of the sink stops the run; units still being read are dropped
    /// (the reading thread ends at its next unit).
    pub fn run<U, I, S>(&self, units: I, sink: &mut S) -> Result<RunStats, S::Error>
    where
        U: Unit,
        I: IntoIterator<Item = U>,
        I::IntoIter: Send,
        S: Sink<U>,
    {
        let limit = self.chunk_bytes();
        let units = units.into_iter();
        let mut stats = RunStats::default();
        std::thread::scope(|scope| {
            let (sender, queue) = std::sync::mpsc::sync_channel(QUEUED_UNITS);
            scope.spawn(move || {
                for unit in units {
                    if sender.send(unit).is_err() {
                        break; // the run stopped
                    }
                }
            });
            loop {
                let waited = Instant::now();
                let Ok(first) = queue.recv() else {
                    break;
                };
                stats.waiting += waited.elapsed();
                let mut bytes = first.text().len();
                let mut chunk = vec![first];
                while bytes < limit {
                    match queue.try_recv() {
                        Ok(unit) => {
                            bytes += unit.text().len();
                            chunk.push(unit);
                        }
                        Err(_) => break,
                    }
                }
                self.run_chunk(chunk, sink, &mut stats)?;
            }
            Ok(stats)
        })
    }

    /// Segments, labels and hands back one chunk of units.
    fn run_chunk<U: Unit, S: Sink<U>>(
        &self,
        chunk: Vec<U>,
        sink: &mut S,
        stats: &mut RunStats,
    ) -> Result<(), S::Error> {
        let started = Instant::now();
        let segmented: Vec<Vec<Sentence>> =
            self.install(|| chunk.par_iter().map(|u| self.segment(u.text())).collect());
        stats.segment += started.elapsed();
        let sentences = segmented.iter().map(Vec::len).sum::<usize>();
        let labellings = match self.classifier {
            Some(classifier) => {
                let inputs = model_inputs(classifier, &chunk, &segmented);
                let texts: Vec<&str> = inputs.iter().map(|t| t.as_ref()).collect();
                self.install(|| {
                    window::label(classifier, &texts, self.batch_size, self.tuning, stats)
                })
            }
            None => (0..sentences)
                .map(|_| (Labelling::Unlabelled, false))
                .collect(),
        };
        stats.sentences += sentences;
        stats.units += chunk.len();
        stats.chunks += 1;

        let started = Instant::now();
        let mut labellings = labellings.into_iter();
        for (unit, sentences) in chunk.into_iter().zip(segmented) {
            let labelled = sentences
                .into_iter()
                .map(|sentence| {
                    let (labelling, truncated) =
                        labellings.next().unwrap_or((Labelling::Unlabelled, false));
                    Labelled {
                        sentence,
                        labelling,
                        truncated,
                    }
                })
                .collect();
            sink.unit(unit, labelled)?;
        }
        let done = sink.chunk_done();
        stats.sink += started.elapsed();
        done
    }

    /// Runs `work` on the pipeline's pool, or else on the current one.
    fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }

    /// The sentences of one unit.
    fn segment(&self, raw: &str) -> Vec<Sentence> {
        match self.segmentation {
            Segmentation::Split => text::split(raw),
            Segmentation::Whole => text::single_unit(raw).into_iter().collect(),
        }
    }
}

/// What the classifier reads for each sentence of a chunk, in order: each sentence
/// said by the delegation of its verbatim-record header (none for "The President:"),
/// or, before any header, by its unit's speaker.
fn model_inputs<'s, U: Unit>(
    classifier: &dyn Classify,
    units: &[U],
    segmented: &'s [Vec<Sentence>],
) -> Vec<Cow<'s, str>> {
    units
        .iter()
        .zip(segmented)
        .flat_map(|(unit, sentences)| {
            let unit_speaker = unit.speaker();
            sentences.iter().map(move |s| {
                let speaker = match s.speaker {
                    Some(_) => s.delegation.as_deref().and_then(Country::from_delegation),
                    None => unit_speaker,
                };
                classifier.model_input(&s.text, speaker)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
