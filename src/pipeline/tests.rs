use std::sync::Mutex;

use super::*;
use crate::model::{Label, Scores};

/// Texts longer than this many bytes are "truncated" by the stand-in classifier.
const LONG: usize = 60;

/// Labels by keyword, marks long texts truncated, and records the size of every call.
#[derive(Default)]
struct Keyword {
    calls: Mutex<Vec<usize>>,
}

impl Classify for Keyword {
    fn classify(&self, texts: &[&str]) -> crate::Result<Vec<Classified>> {
        self.calls.lock().unwrap().push(texts.len());
        if texts.iter().any(|t| t.contains("poison")) {
            return Err(crate::Error::Model("poisoned sentence".into()));
        }
        Ok(texts
            .iter()
            .map(|t| {
                let label = if t.contains("must") {
                    Label::CallToAction
                } else if t.contains("will") {
                    Label::Commitment
                } else {
                    Label::Context
                };
                let mut p = [0.1, 0.1, 0.1];
                p[label.index()] = 0.8;
                Classified {
                    prediction: Prediction {
                        label,
                        scores: Scores {
                            call_to_action: p[0],
                            commitment: p[1],
                            context: p[2],
                        },
                    },
                    truncated: t.len() > LONG,
                }
            })
            .collect())
    }
}

/// A unit that is just a string with an id.
struct Doc(usize, String);

impl Unit for Doc {
    fn text(&self) -> &str {
        &self.1
    }
}

/// A sentence as handed back: its text, its label, whether labelling failed.
type Got = (String, Option<Label>, bool);

/// Whether each sentence handed back was marked truncated, unit by unit.
#[derive(Default)]
struct Truncation(Vec<Vec<bool>>);

impl Sink<Doc> for Truncation {
    type Error = std::convert::Infallible;
    fn unit(&mut self, _: Doc, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        let marks = sentences
            .iter()
            .map(|l| matches!(l.labelling, Labelling::Labelled(c) if c.truncated))
            .collect();
        self.0.push(marks);
        Ok(())
    }
    fn chunk_done(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Collects what the pipeline hands back.
#[derive(Default)]
struct Collect {
    units: Vec<(usize, Vec<Got>)>,
    chunks: usize,
}

impl Sink<Doc> for Collect {
    type Error = std::convert::Infallible;
    fn unit(&mut self, unit: Doc, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        let got = sentences
            .into_iter()
            .map(|l| {
                let (label, failed) = match l.labelling {
                    Labelling::Unlabelled => (None, false),
                    Labelling::Labelled(c) => (Some(c.prediction.label), false),
                    Labelling::Failed(_) => (None, true),
                };
                (l.sentence.text, label, failed)
            })
            .collect();
        self.units.push((unit.0, got));
        Ok(())
    }
    fn chunk_done(&mut self) -> Result<(), Self::Error> {
        self.chunks += 1;
        Ok(())
    }
}

fn docs(n: usize) -> Vec<Doc> {
    (0..n)
        .map(|i| {
            Doc(
                i,
                format!("Document {i} opens here. We must act on item {i}. We will fund item {i}."),
            )
        })
        .collect()
}

fn run_on(threads: usize, pipeline: Pipeline, units: Vec<Doc>) -> Collect {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let pipeline = pipeline.on_pool(&pool);
    let mut sink = Collect::default();
    pipeline.run(units, &mut sink).unwrap();
    sink
}

#[test]
fn without_classifier_sentences_are_unlabelled_and_in_order() {
    let pipeline = Pipeline::new(None, Segmentation::Split, 4);
    let out = run_on(2, pipeline, docs(50));
    let ids: Vec<usize> = out.units.iter().map(|u| u.0).collect();
    assert_eq!(ids, (0..50).collect::<Vec<_>>());
    for (id, sentences) in &out.units {
        assert_eq!(sentences.len(), 3, "unit {id}");
        assert!(sentences.iter().all(|s| s.1.is_none() && !s.2));
        assert!(sentences[1].0.contains(&format!("item {id}")));
    }
}

#[test]
fn labels_follow_their_sentences_across_batches_and_threads() {
    let classifier = Keyword::default();
    let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 5);
    let out = run_on(3, pipeline, docs(400));
    assert_eq!(out.units.len(), 400);
    for (i, (id, sentences)) in out.units.iter().enumerate() {
        assert_eq!(i, *id);
        let labels: Vec<_> = sentences.iter().map(|s| s.1).collect();
        assert_eq!(
            labels,
            [
                Some(Label::Context),
                Some(Label::CallToAction),
                Some(Label::Commitment)
            ],
            "unit {id}"
        );
    }
    let calls = classifier.calls.lock().unwrap();
    assert!(
        calls.iter().all(|&n| (1..=5).contains(&n)),
        "batch sizes {calls:?}"
    );
    assert_eq!(calls.iter().sum::<usize>(), 1200);
    assert!(out.chunks > 1, "400 units should not fit one chunk");
}

#[test]
fn a_failing_sentence_fails_alone() {
    let classifier = Keyword::default();
    let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 8);
    let units = vec![
        Doc(0, "We must go. This is poison. We will stay.".into()),
        Doc(1, "Nothing here.".into()),
    ];
    let out = run_on(1, pipeline, units);
    let first: Vec<_> = out.units[0].1.iter().map(|s| (s.1, s.2)).collect();
    assert_eq!(
        first,
        [
            (Some(Label::CallToAction), false),
            (None, true),
            (Some(Label::Commitment), false)
        ]
    );
    assert_eq!(out.units[1].1[0].1, Some(Label::Context));
}

#[test]
fn whole_segmentation_gives_one_sentence_per_unit_and_none_for_blank() {
    let pipeline = Pipeline::new(None, Segmentation::Whole, 32);
    let units = vec![
        Doc(0, "  One. Two.  ".into()),
        Doc(1, "   ".into()),
        Doc(2, "Three".into()),
    ];
    let out = run_on(1, pipeline, units);
    let texts: Vec<Vec<&str>> = out
        .units
        .iter()
        .map(|u| u.1.iter().map(|s| s.0.as_str()).collect())
        .collect();
    assert_eq!(texts, [vec!["One. Two."], vec![], vec!["Three"]]);
}

#[test]
fn a_classifier_giving_too_few_predictions_is_a_failure() {
    struct Short;
    impl Classify for Short {
        fn classify(&self, _: &[&str]) -> crate::Result<Vec<Classified>> {
            Ok(vec![])
        }
    }
    let pipeline = Pipeline::new(Some(&Short), Segmentation::Whole, 2);
    let out = run_on(
        1,
        pipeline,
        vec![Doc(0, "A".into()), Doc(1, "B".into()), Doc(2, "C".into())],
    );
    assert!(out.units.iter().all(|u| u.1.len() == 1 && u.1[0].2));
}

#[test]
fn truncation_marks_follow_their_sentences() {
    let classifier = Keyword::default();
    let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 2);
    let long = "We must ".to_string() + &"act ".repeat(20) + "now.";
    let units = vec![
        Doc(0, format!("Short one. {long} Short two.")),
        Doc(1, "Nothing long here. Nor here.".into()),
        Doc(2, long.clone()),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut sink = Truncation::default();
    pipeline.on_pool(&pool).run(units, &mut sink).unwrap();
    assert_eq!(
        sink.0,
        [vec![false, true, false], vec![false, false], vec![true]]
    );
}
