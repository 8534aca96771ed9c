//! The labelling pipeline: segments units of text into sentences, labels them in
//! batches on a rayon pool, and hands the results back in input order.
//!
//! The pipeline knows nothing of files or formats: it takes any stream of [`Unit`]s
//! (a record of an input, a line, …) and gives each one back to a [`Sink`] with its
//! labelled sentences, in the order the units came in. It works chunk by chunk so
//! that a corpus is never held in memory whole: a chunk is segmented in parallel,
//! its sentences are classified in batches of `batch_size` in parallel, and its units
//! are handed to the sink in order before the next chunk is taken.
//!
//! Units are pulled from their iterator on a thread of their own, a bounded queue
//! ahead of the work. A chunk takes the units waiting in the queue, up to a size
//! that keeps every thread busy; when none are waiting it goes with what it has, so
//! that a slow stream (a pipe, a live feed) is labelled as it comes, while a fast
//! one is labelled in full chunks.
//!
//! Parallel work runs on the rayon pool given with [`Pipeline::on_pool`], or else on
//! the current one.

use rayon::prelude::*;

use crate::model::{Classifier, Prediction};
use crate::text::{self, Sentence};

/// Anything that labels sentences: the hook through which a classifier enters the pipeline.
///
/// Which sentences share a batch depends on how fast the input comes (see the
/// module documentation) and on where a `--resume` starts, so a sentence's
/// prediction must not depend on the other sentences of its batch for the output
/// to be reproducible.
///
/// [`Classifier`] implements it; tests implement it with stand-ins.
pub trait Classify: Sync {
    /// Labels `texts`, one result per text, in order.
    fn classify(&self, texts: &[&str]) -> crate::Result<Vec<Classified>>;
}

/// The classifier's answer for one sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classified {
    /// The label and probabilities.
    pub prediction: Prediction,
    /// The sentence was longer than the model's input limit and was labelled from
    /// its beginning only (the tokenizer cut it).
    pub truncated: bool,
}

impl Classify for Classifier {
    fn classify(&self, texts: &[&str]) -> crate::Result<Vec<Classified>> {
        let encoded = self.tokenizer().encode_all(texts)?;
        let predictions = self.classify_encoded(&encoded.iter().collect::<Vec<_>>())?;
        Ok(predictions
            .into_iter()
            .zip(&encoded)
            .map(|(prediction, encoded)| Classified {
                prediction,
                truncated: encoded.truncated,
            })
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
}

/// What became of one sentence in the classifier.
#[derive(Debug)]
pub enum Labelling {
    /// No classifier was given: the sentence has no label.
    Unlabelled,
    /// The classifier's prediction.
    Labelled(Classified),
    /// The classifier failed on this sentence (also when tried alone).
    Failed(crate::Error),
}

/// One sentence of a unit with its labelling.
#[derive(Debug)]
pub struct Labelled {
    /// The sentence, with byte offsets into the unit's text.
    pub sentence: Sentence,
    /// Its label, if any.
    pub labelling: Labelling,
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
/// Batches per thread in a chunk, so that threads stay busy on uneven batches.
const BATCHES_PER_THREAD: usize = 4;
/// Units read ahead of the work, at most.
const QUEUED_UNITS: usize = 1024;

/// Segments and labels units; see the module documentation.
pub struct Pipeline<'c> {
    classifier: Option<&'c dyn Classify>,
    segmentation: Segmentation,
    batch_size: usize,
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

    /// Bytes of unit text gathered into one chunk.
    fn chunk_bytes(&self) -> usize {
        let threads = self
            .pool
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
        self.batch_size * threads * BATCHES_PER_THREAD * BYTES_PER_SENTENCE
    }

    /// Runs every unit of `units` through the pipeline into `sink`, in order.
    ///
    /// The first error of the sink stops the run; units still being read are dropped
    /// (the reading thread ends at its next unit).
    pub fn run<U, I, S>(&self, units: I, sink: &mut S) -> Result<(), S::Error>
    where
        U: Unit,
        I: IntoIterator<Item = U>,
        I::IntoIter: Send,
        S: Sink<U>,
    {
        let limit = self.chunk_bytes();
        let units = units.into_iter();
        std::thread::scope(|scope| {
            let (sender, queue) = std::sync::mpsc::sync_channel(QUEUED_UNITS);
            scope.spawn(move || {
                for unit in units {
                    if sender.send(unit).is_err() {
                        break; // the run stopped
                    }
                }
            });
            while let Ok(first) = queue.recv() {
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
                self.run_chunk(chunk, sink)?;
            }
            Ok(())
        })
    }

    /// Segments, labels and hands back one chunk of units.
    fn run_chunk<U: Unit, S: Sink<U>>(&self, chunk: Vec<U>, sink: &mut S) -> Result<(), S::Error> {
        let work = || {
            let segmented: Vec<Vec<Sentence>> =
                chunk.par_iter().map(|u| self.segment(u.text())).collect();
            let texts: Vec<&str> = segmented
                .iter()
                .flatten()
                .map(|s| s.text.as_str())
                .collect();
            let labellings = self.label(&texts);
            (segmented, labellings)
        };
        let (segmented, labellings) = match self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        let mut labellings = labellings.into_iter();
        for (unit, sentences) in chunk.into_iter().zip(segmented) {
            let labelled = sentences
                .into_iter()
                .map(|sentence| Labelled {
                    sentence,
                    labelling: labellings.next().unwrap_or(Labelling::Unlabelled),
                })
                .collect();
            sink.unit(unit, labelled)?;
        }
        sink.chunk_done()
    }

    /// The sentences of one unit.
    fn segment(&self, raw: &str) -> Vec<Sentence> {
        match self.segmentation {
            Segmentation::Split => text::split(raw),
            Segmentation::Whole => text::single_unit(raw).into_iter().collect(),
        }
    }

    /// Labels `texts` in batches, in parallel, keeping their order.
    fn label(&self, texts: &[&str]) -> Vec<Labelling> {
        let Some(classifier) = self.classifier else {
            return texts.iter().map(|_| Labelling::Unlabelled).collect();
        };
        texts
            .par_chunks(self.batch_size)
            .flat_map_iter(|batch| classify_batch(classifier, batch))
            .collect()
    }
}

/// Labels one batch; when the batch fails, tries each sentence alone so that one bad
/// sentence costs only its own label.
fn classify_batch(classifier: &dyn Classify, batch: &[&str]) -> Vec<Labelling> {
    match checked_classify(classifier, batch) {
        Ok(predictions) => predictions.into_iter().map(Labelling::Labelled).collect(),
        Err(_) if batch.len() > 1 => batch
            .iter()
            .map(
                |text| match checked_classify(classifier, std::slice::from_ref(text)) {
                    Ok(mut p) => Labelling::Labelled(p.remove(0)),
                    Err(e) => Labelling::Failed(e),
                },
            )
            .collect(),
        Err(e) => vec![Labelling::Failed(e)],
    }
}

/// Calls the classifier and checks that it gave one prediction per text.
fn checked_classify(classifier: &dyn Classify, texts: &[&str]) -> crate::Result<Vec<Classified>> {
    let predictions = classifier.classify(texts)?;
    if predictions.len() != texts.len() {
        return Err(crate::Error::Model(format!(
            "classifier gave {} predictions for {} sentences",
            predictions.len(),
            texts.len()
        )));
    }
    Ok(predictions)
}

#[cfg(test)]
mod tests;
