use std::sync::Mutex;

use super::*;
use crate::model::{Label, Scores};

/// Texts longer than this many bytes are cut by the stand-in tokenizer.
const LONG: usize = 60;

/// Labels by keyword and records the sentences of every call. Its "tokens" are the
/// bytes of the text (those of a text longer than [`LONG`] marked truncated, though
/// kept whole); a text holding "untokenizable" cannot be tokenized.
#[derive(Default)]
struct Keyword {
    calls: Mutex<Vec<Vec<String>>>,
}

impl Keyword {
    /// The number of sentences of each call.
    fn call_sizes(&self) -> Vec<usize> {
        self.calls.lock().unwrap().iter().map(Vec::len).collect()
    }
}

impl Classify for Keyword {
    fn encode(&self, text: &str) -> crate::Result<Encoded> {
        if text.contains("untokenizable") {
            return Err(crate::Error::Tokenizer("cannot tokenize".into()));
        }
        Ok(Encoded {
            ids: text.bytes().map(u32::from).collect(),
            truncated: text.len() > LONG,
        })
    }

    fn classify_encoded(&self, batch: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>> {
        let texts: Vec<String> = batch
            .iter()
            .map(|s| s.encoded.ids.iter().map(|&b| b as u8 as char).collect())
            .collect();
        assert!(texts.iter().zip(batch).all(|(t, s)| t == s.text));
        self.calls.lock().unwrap().push(texts.clone());
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
                // Scores that differ from text to text, so that a label given to the
                // wrong sentence shows.
                let spread = (t.len() % 17) as f32 / 100.0;
                let mut p = [0.1 - spread / 2.0, 0.1 - spread / 2.0, 0.1 - spread / 2.0];
                p[label.index()] = 0.8 + spread;
                let prediction = Prediction {
                    label,
                    scores: Scores {
                        call_to_action: p[0],
                        commitment: p[1],
                        context: p[2],
                    },
                };
                (prediction, Vec::new())
            })
            .collect())
    }
}

/// A unit that is just a string with an id.
#[derive(Clone)]
struct Doc(usize, String);

impl Unit for Doc {
    fn text(&self) -> &str {
        &self.1
    }
}

/// A sentence as handed back: its text, its label, whether labelling failed.
type Got = (String, Option<Label>, bool);

/// A sentence as handed back, in full: text, offsets, speaker, prediction or error.
type Full = (
    String,
    usize,
    usize,
    Option<String>,
    Option<Prediction>,
    Option<String>,
);

/// Whether each sentence handed back was marked truncated, unit by unit.
#[derive(Default)]
struct Truncation(Vec<Vec<bool>>);

impl Sink<Doc> for Truncation {
    type Error = std::convert::Infallible;
    fn unit(&mut self, _: Doc, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        self.0.push(sentences.iter().map(|l| l.truncated).collect());
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
    full: Vec<(usize, Vec<Full>)>,
    chunks: usize,
}

impl Sink<Doc> for Collect {
    type Error = std::convert::Infallible;
    fn unit(&mut self, unit: Doc, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        let full = sentences
            .iter()
            .map(|l| {
                let s = &l.sentence;
                let (prediction, error) = match &l.labelling {
                    Labelling::Unlabelled => (None, None),
                    Labelling::Labelled(p, _) => (Some(*p), None),
                    Labelling::Failed(e) => (None, Some(e.to_string())),
                };
                (
                    s.text.clone(),
                    s.start,
                    s.end,
                    s.speaker.clone(),
                    prediction,
                    error,
                )
            })
            .collect();
        self.full.push((unit.0, full));
        let got = sentences
            .into_iter()
            .map(|l| {
                let (label, failed) = match l.labelling {
                    Labelling::Unlabelled => (None, false),
                    Labelling::Labelled(p, _) => (Some(p.label), false),
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
    let calls = classifier.call_sizes();
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
        fn encode(&self, _: &str) -> crate::Result<Encoded> {
            Ok(Encoded {
                ids: vec![1],
                truncated: false,
            })
        }
        fn classify_encoded(&self, _: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>> {
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

/// Statements in which formulas repeat, as in UN records, with a failing sentence
/// (repeated too) and one that cannot be tokenized.
fn repetitive(n: usize) -> Vec<Doc> {
    let formulas = [
        "Thank you, Mr. President.",
        "I now give the floor to the representative of Chad.",
        "We must protect civilians.",
    ];
    (0..n)
        .map(|i| {
            let mut text = format!(
                "Mr. Lee (Fiji): {} We will fund item {}. {}",
                formulas[i % 3],
                i % 7,
                formulas[(i + 1) % 3]
            );
            if i % 10 == 3 {
                text.push_str(" This is poison.");
            }
            if i % 25 == 4 {
                text.push_str(" This is untokenizable.");
            }
            Doc(i, text)
        })
        .collect()
}

#[test]
fn speed_ups_leave_the_output_as_it_is() {
    let plain = Tuning {
        dedupe: false,
        parallel_tokenize: false,
        sort_by_length: false,
    };
    let run = |tuning: Tuning| {
        let classifier = Keyword::default();
        let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 4).with_tuning(tuning);
        run_on(2, pipeline, repetitive(300)).full
    };
    let expected = run(plain);
    assert_eq!(expected.len(), 300);
    let failed = expected
        .iter()
        .flat_map(|u| &u.1)
        .filter(|s| s.5.is_some())
        .count();
    assert!(
        failed >= 30 + 12,
        "poisoned and untokenizable sentences fail: {failed}"
    );
    for tuning in [
        Tuning::default(),
        Tuning {
            dedupe: false,
            ..Tuning::default()
        },
        Tuning {
            parallel_tokenize: false,
            ..Tuning::default()
        },
        Tuning {
            sort_by_length: false,
            ..Tuning::default()
        },
    ] {
        assert_eq!(run(tuning), expected, "{tuning:?}");
    }
}

#[test]
fn a_window_labels_each_distinct_text_once_and_fans_out() {
    let classifier = Keyword::default();
    let texts = [
        "Thank you, Mr. President.",
        "We must act.",
        "Thank you, Mr. President.",
        "This is poison.",
        "We will pay.",
        "This is poison.",
        "Thank you, Mr. President.",
        "It is untokenizable.",
    ];
    let mut stats = RunStats::default();
    let got = window::label(&classifier, &texts, 8, Tuning::default(), &mut stats);
    let summary: Vec<Option<Label>> = got
        .iter()
        .map(|(l, _)| match l {
            Labelling::Labelled(p, _) => Some(p.label),
            _ => None,
        })
        .collect();
    use Label::*;
    assert_eq!(
        summary,
        [
            Some(Context),
            Some(CallToAction),
            Some(Context),
            None,
            Some(Commitment),
            None,
            Some(Context),
            None
        ]
    );
    assert!(matches!(&got[7].0, Labelling::Failed(e) if e.to_string().contains("tokenize")));
    assert_eq!(stats.classified, 5);
    assert_eq!(
        stats.tokens,
        texts
            .iter()
            .filter(|t| !t.contains("untokenizable"))
            .map(|t| t.len())
            .sum::<usize>()
    );
    // One call of the four tokenized distinct texts, then each alone after the poison.
    assert_eq!(classifier.call_sizes(), [4, 1, 1, 1, 1]);
}

#[test]
fn sorted_batches_hold_sentences_of_like_length() {
    let classifier = Keyword::default();
    let texts: Vec<String> = (0..64)
        .map(|i| format!("Item {i} {}.", "x".repeat((i * 37) % 50)))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut stats = RunStats::default();
    let got = pool.install(|| window::label(&classifier, &texts, 8, Tuning::default(), &mut stats));
    assert_eq!(got.len(), 64);
    let mut spans: Vec<(usize, usize)> = classifier
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|call| {
            let lengths = call.iter().map(String::len);
            (lengths.clone().min().unwrap(), lengths.max().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), 8);
    spans.sort();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "batches overlap in length: {spans:?}"
    );
}

#[test]
fn run_stats_count_units_sentences_and_tokens() {
    let classifier = Keyword::default();
    let units = vec![
        Doc(0, "Thank you. We act.".into()),
        Doc(1, "We act.".into()),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 8).on_pool(&pool);
    let stats = pipeline.run(units, &mut Collect::default()).unwrap();
    assert_eq!((stats.units, stats.sentences), (2, 3));
    assert!((2..=3).contains(&stats.classified), "{}", stats.classified);
    assert_eq!(stats.tokens, "Thank you.".len() + "We act.".len() * 2);
    assert!((1..=2).contains(&stats.chunks));
}

#[test]
fn truncation_marks_follow_their_sentences_and_repeats() {
    let classifier = Keyword::default();
    let long = "We must ".to_string() + &"act ".repeat(20) + "now.";
    let units = vec![
        Doc(0, format!("Short one. {long} Short two.")),
        Doc(1, "Nothing long here. Nor here.".into()),
        Doc(2, long.clone()),
    ];
    for segmentation in [Segmentation::Split, Segmentation::Whole] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let pipeline = Pipeline::new(Some(&classifier), segmentation, 2).on_pool(&pool);
        let mut sink = Truncation::default();
        pipeline.run(units.clone(), &mut sink).unwrap();
        let expected = match segmentation {
            Segmentation::Split => vec![vec![false, true, false], vec![false, false], vec![true]],
            Segmentation::Whole => vec![vec![true], vec![false], vec![true]],
        };
        assert_eq!(sink.0, expected, "{segmentation:?}");
    }
    // without a classifier nothing is tokenized, so nothing is marked
    let mut sink = Truncation::default();
    Pipeline::new(None, Segmentation::Split, 2)
        .run(units, &mut sink)
        .unwrap();
    assert!(sink.0.iter().flatten().all(|t| !t));
}

/// Reads the speaker's own country as "my country", as a model trained so does.
#[derive(Default)]
struct OwnCountry(Keyword);

impl Classify for OwnCountry {
    fn model_input<'t>(&self, sentence: &'t str, speaker: Option<Country>) -> Cow<'t, str> {
        speaker.map_or(Cow::Borrowed(sentence), |c| c.rewrite(sentence))
    }
    fn encode(&self, text: &str) -> crate::Result<Encoded> {
        self.0.encode(text)
    }
    fn classify_encoded(&self, batch: &[Tokenized<'_>]) -> crate::Result<Vec<Tagged>> {
        self.0.classify_encoded(batch)
    }
}

/// A unit said by a delegation (a code or a name), if known.
struct Said(&'static str, Option<&'static str>);

impl Unit for Said {
    fn text(&self) -> &str {
        self.0
    }
    fn speaker(&self) -> Option<Country> {
        self.1.and_then(Country::from_delegation)
    }
}

/// The sentence texts handed back, in order.
#[derive(Default)]
struct Texts(Vec<String>);

impl Sink<Said> for Texts {
    type Error = std::convert::Infallible;
    fn unit(&mut self, _: Said, sentences: Vec<Labelled>) -> Result<(), Self::Error> {
        self.0
            .extend(sentences.into_iter().map(|l| l.sentence.text));
        Ok(())
    }
    fn chunk_done(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn the_model_reads_the_speakers_own_country_and_the_output_keeps_its_words() {
    let classifier = OwnCountry::default();
    let pipeline = Pipeline::new(Some(&classifier), Segmentation::Split, 4);
    let units = vec![
        Said("Kazakhstan will host the talks.", Some("KAZ")),
        Said("Kazakhstan will host the talks.", Some("FRA")),
        Said("Kazakhstan will host the talks.", None),
        Said(
            "Kazakhstan will act.\nThe President: France has the floor.\n\
             Mr. Dupont (France): France will fund the plan. Kazakhstan hosts it.",
            Some("KAZ"),
        ),
    ];
    let mut sink = Texts::default();
    pipeline.run(units, &mut sink).unwrap();
    // Units reach the pipeline on a thread of their own, so they may fall into one
    // chunk or several; a text repeated across chunks is read once in each.
    let mut read: Vec<String> = classifier.0.calls.lock().unwrap().concat();
    read.sort();
    read.dedup();
    let mut expected = vec![
        "France has the floor.",
        "Kazakhstan hosts it.",
        "Kazakhstan will host the talks.",
        "My country will act.",
        "My country will fund the plan.",
        "My country will host the talks.",
    ];
    expected.sort();
    assert_eq!(read, expected);
    assert_eq!(
        sink.0,
        [
            "Kazakhstan will host the talks.",
            "Kazakhstan will host the talks.",
            "Kazakhstan will host the talks.",
            "Kazakhstan will act.",
            "France has the floor.",
            "France will fund the plan.",
            "Kazakhstan hosts it.",
        ]
    );
}
