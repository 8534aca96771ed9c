//! Labelling the sentences of one chunk (a window): each distinct text once,
//! tokenized in parallel, batched in order of token length so that a batch pads
//! little, the batches classified in parallel, and the labels handed back in input
//! order, repeats included.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::{Classify, Labelling, RunStats, Tagged, Tokenized, Tuning};
use crate::model::tokenizer::Encoded;

/// What became of one distinct sentence text.
type Outcome = Result<Tagged, Arc<crate::Error>>;

/// Labels `texts` in batches of at most `batch_size`, one labelling per text, in order;
/// adds what it did to `stats`.
pub fn label(
    classifier: &dyn Classify,
    texts: &[&str],
    batch_size: usize,
    tuning: Tuning,
    stats: &mut RunStats,
) -> Vec<Labelling> {
    let (distinct, slots) = match tuning.dedupe {
        true => distinct(texts),
        false => (texts.to_vec(), (0..texts.len()).collect()),
    };

    let started = Instant::now();
    let encode = |text: &&str| classifier.encode(text).map_err(Arc::new);
    let encoded: Vec<Result<Encoded, Arc<crate::Error>>> = match tuning.parallel_tokenize {
        true => distinct.par_iter().map(encode).collect(),
        false => distinct.iter().map(encode).collect(),
    };
    stats.tokenize += started.elapsed();
    stats.classified += distinct.len();
    stats.tokens += slots
        .iter()
        .map(|&slot| encoded[slot].as_ref().map_or(0, |e| e.ids.len()))
        .sum::<usize>();

    let started = Instant::now();
    let outcomes = classify_all(
        classifier,
        &distinct,
        &encoded,
        batch_size,
        tuning.sort_by_length,
    );
    stats.classify += started.elapsed();

    slots
        .iter()
        .map(|&slot| match &outcomes[slot] {
            Ok((prediction, themes)) => Labelling::Labelled(*prediction, themes.clone()),
            Err(error) => Labelling::Failed(error.clone()),
        })
        .collect()
}

/// The distinct texts in order of first appearance, and for each text the index of
/// its distinct text.
fn distinct<'t>(texts: &[&'t str]) -> (Vec<&'t str>, Vec<usize>) {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(texts.len());
    let mut distinct = Vec::with_capacity(texts.len());
    let slots = texts
        .iter()
        .map(|&text| {
            *index.entry(text).or_insert_with(|| {
                distinct.push(text);
                distinct.len() - 1
            })
        })
        .collect();
    (distinct, slots)
}

/// Classifies the tokenized sentences in batches (by token length when `sort`), in
/// parallel; one outcome per sentence, in order. A sentence that could not be
/// tokenized keeps its error.
fn classify_all(
    classifier: &dyn Classify,
    texts: &[&str],
    encoded: &[Result<Encoded, Arc<crate::Error>>],
    batch_size: usize,
    sort: bool,
) -> Vec<Outcome> {
    let mut order: Vec<(usize, Tokenized)> = texts
        .iter()
        .zip(encoded)
        .enumerate()
        .filter_map(|(i, (&text, e))| {
            e.as_ref()
                .ok()
                .map(|encoded| (i, Tokenized { text, encoded }))
        })
        .collect();
    if sort {
        order.sort_by_key(|(_, s)| s.encoded.ids.len());
    }
    let classified: Vec<(usize, Outcome)> = order
        .par_chunks(batch_size)
        .flat_map_iter(|batch| {
            let sentences: Vec<Tokenized> = batch.iter().map(|(_, s)| *s).collect();
            let outcomes = classify_batch(classifier, &sentences);
            batch.iter().map(|(i, _)| *i).zip(outcomes)
        })
        .collect();
    let mut outcomes: Vec<Outcome> = encoded
        .iter()
        .map(|e| match e {
            Ok(_) => Err(Arc::new(crate::Error::Model(
                "sentence was not classified".into(),
            ))),
            Err(error) => Err(error.clone()),
        })
        .collect();
    for (i, outcome) in classified {
        outcomes[i] = outcome;
    }
    outcomes
}

/// Labels one batch; when the batch fails, tries each sentence alone so that one bad
/// sentence costs only its own label.
fn classify_batch(classifier: &dyn Classify, batch: &[Tokenized<'_>]) -> Vec<Outcome> {
    match checked_classify(classifier, batch) {
        Ok(predictions) => predictions.into_iter().map(Ok).collect(),
        Err(_) if batch.len() > 1 => batch
            .iter()
            .map(|sentence| {
                checked_classify(classifier, std::slice::from_ref(sentence))
                    .map(|mut p| p.swap_remove(0))
                    .map_err(Arc::new)
            })
            .collect(),
        Err(error) => vec![Err(Arc::new(error))],
    }
}

/// Calls the classifier and checks that it gave one prediction per sentence.
fn checked_classify(
    classifier: &dyn Classify,
    batch: &[Tokenized<'_>],
) -> crate::Result<Vec<Tagged>> {
    let predictions = classifier.classify_encoded(batch)?;
    if predictions.len() != batch.len() {
        return Err(crate::Error::Model(format!(
            "classifier gave {} predictions for {} sentences",
            predictions.len(),
            batch.len()
        )));
    }
    Ok(predictions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keeps_first_appearance_order_and_maps_repeats() {
        let texts = ["Thank you.", "We act.", "Thank you.", "Peace.", "We act."];
        let (d, slots) = distinct(&texts);
        assert_eq!(d, ["Thank you.", "We act.", "Peace."]);
        assert_eq!(slots, [0, 1, 0, 2, 1]);
        for (text, slot) in texts.iter().zip(&slots) {
            assert_eq!(d[*slot], *text);
        }
    }
}
