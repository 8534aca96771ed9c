//! Determinism of `polrec label` with the embedded model: the labels are the same,
//! and the scores agree within 1e-5, whatever `--batch-size` and `--threads`, whether
//! the input comes from a file or a pipe, and whether the corpus is labelled in one
//! run or in `--shard K/N` slices; and `Classifier::classify` gives a sentence the
//! same prediction whatever else shares its call.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::json_lines;
use serde_json::Value;

/// Largest difference allowed between two scores of one sentence.
const TOLERANCE: f64 = 1e-5;

/// Statements of varied length (so that sentences fall into batches of different
/// widths), with repeated formulas, written for this test.
const STATEMENTS: [&str; 6] = [
    "Mr. President, allow me to congratulate you on your election. Thank you. \
     The situation in the region remains fragile. We call on all parties to respect \
     the ceasefire and to return to the negotiating table without preconditions.",
    "Thank you. My Government will double its contribution to the adaptation fund by \
     2027. We have already opened three new centres for disaster risk reduction along \
     our coast. The Security Council must act before the next harvest fails.",
    "Small island developing States face rising seas, stronger storms and the loss of \
     fresh water, while the finance promised to them arrives late, in small amounts \
     and through procedures that their ministries, already stretched by the recovery \
     from the last cyclone, the pandemic and the collapse of tourism revenue, cannot \
     follow without help from the very partners who set those procedures in the first \
     place. Thank you.",
    "We will. Peace. Member States should ratify the treaty. Thank you.",
    "The Conference adopted its final document by consensus. Our delegation is ready \
     to host the next round of talks in the spring. We urge donors to honour their \
     pledges. Thank you.",
    "Mr. President, allow me to congratulate you on your election. We remain committed \
     to the Sustainable Development Goals, and we will present our voluntary national \
     review next July. All States must refrain from the threat or use of force.",
];

/// A fresh directory holding the statements as `statements.jsonl`.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let jsonl: String = STATEMENTS
        .iter()
        .enumerate()
        .map(|(i, text)| format!("{}\n", serde_json::json!({"id": i, "text": text})))
        .collect();
    std::fs::write(dir.path().join("statements.jsonl"), jsonl).unwrap();
    dir
}

/// `polrec label --quiet ARGS statements.jsonl` in `dir`: its output records.
fn label(dir: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .current_dir(dir)
        .args(["label", "--quiet"])
        .args(args)
        .arg("statements.jsonl")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    json_lines(&out.stdout)
}

/// The record without its scores, which are compared within [`TOLERANCE`].
fn without_scores(record: &Value) -> Value {
    let mut record = record.clone();
    record.as_object_mut().unwrap().remove("scores");
    record
}

/// Asserts that two runs give the same records (labels included) in the same order,
/// with scores within [`TOLERANCE`].
fn assert_same(reference: &[Value], other: &[Value], what: &str) {
    assert_eq!(reference.len(), other.len(), "{what}: number of records");
    for (a, b) in reference.iter().zip(other) {
        assert_eq!(without_scores(a), without_scores(b), "{what}");
        for label in ["call_to_action", "commitment", "context"] {
            let (x, y) = (a["scores"][label].as_f64(), b["scores"][label].as_f64());
            let (x, y) = (x.expect("a score"), y.expect("a score"));
            assert!(
                (x - y).abs() <= TOLERANCE,
                "{what}: {label} {x} vs {y} for {}",
                a["text"]
            );
        }
    }
}

#[test]
fn batch_size_and_threads_do_not_change_labels_or_scores() {
    let dir = corpus();
    let reference = label(dir.path(), &["--batch-size", "1", "--threads", "1"]);
    assert!(reference.len() > 20, "{} sentences", reference.len());
    let labels: std::collections::BTreeSet<&str> = reference
        .iter()
        .filter_map(|r| r["label"].as_str())
        .collect();
    assert!(
        labels.len() >= 2,
        "a corpus of one label tests little: {labels:?}"
    );
    for batch in ["1", "8", "64"] {
        for threads in ["1", "2"] {
            if (batch, threads) == ("1", "1") {
                continue;
            }
            let run = label(dir.path(), &["--batch-size", batch, "--threads", threads]);
            assert_same(
                &reference,
                &run,
                &format!("--batch-size {batch} --threads {threads}"),
            );
        }
    }
}

#[test]
fn standard_input_gives_what_the_file_gives() {
    let dir = corpus();
    let from_file = label(dir.path(), &[]);
    let piped = Command::cargo_bin("polrec")
        .unwrap()
        .args(["label", "--quiet", "--input-format", "jsonl", "-"])
        .write_stdin(std::fs::read(dir.path().join("statements.jsonl")).unwrap())
        .output()
        .unwrap();
    assert!(piped.status.success());
    let mut piped = json_lines(&piped.stdout);
    for r in &mut piped {
        assert_eq!(r["doc"], "-");
        r["doc"] = "statements.jsonl".into();
    }
    assert_same(&from_file, &piped, "standard input");
}

#[test]
fn the_union_of_three_shards_is_one_full_run() {
    let dir = corpus();
    let full = label(dir.path(), &[]);
    let key = |r: &Value| {
        (
            r["doc"].as_str().unwrap().to_string(),
            r["record"].as_u64().unwrap(),
            r["sentence"].as_u64().unwrap(),
        )
    };
    let mut union = Vec::new();
    for k in 1..=3 {
        let shard = label(dir.path(), &["--shard", &format!("{k}/3")]);
        assert!(shard.len() < full.len(), "shard {k}/3 holds everything");
        union.extend(shard);
    }
    union.sort_by_key(key);
    assert_same(&full, &union, "the union of --shard 1/3, 2/3, 3/3");
}

#[test]
fn a_sentence_is_classified_alike_whatever_shares_its_call() {
    let classifier = polrec::Classifier::embedded().unwrap();
    let sentences: Vec<&str> = STATEMENTS
        .iter()
        .flat_map(|s| s.split_inclusive(". "))
        .map(str::trim)
        .collect();
    let together = classifier.classify(&sentences).unwrap();
    let alone: Vec<_> = sentences
        .iter()
        .flat_map(|s| classifier.classify(&[s]).unwrap())
        .collect();
    let in_fives: Vec<_> = sentences
        .chunks(5)
        .flat_map(|c| classifier.classify(c).unwrap())
        .collect();
    for (i, p) in together.iter().enumerate() {
        for other in [&alone[i], &in_fives[i]] {
            assert_eq!(p.label, other.label, "{}", sentences[i]);
            let pairs = [
                (p.scores.call_to_action, other.scores.call_to_action),
                (p.scores.commitment, other.scores.commitment),
                (p.scores.context, other.scores.context),
            ];
            for (x, y) in pairs {
                assert!(
                    (f64::from(x) - f64::from(y)).abs() <= TOLERANCE,
                    "{}: {x} vs {y}",
                    sentences[i]
                );
            }
        }
    }
}
