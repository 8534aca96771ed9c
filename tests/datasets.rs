//! The written training sets in `datasets/`: they parse, hold no sentence twice, give
//! every General Debate sentence a known speaker, and copy no sentence of the shared
//! real data (checked when `../shared` is present).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use polrec::model::train_data::{read_labelled, Example};

/// The sets written for polrec.
const WRITTEN: [&str; 2] = ["datasets/train.jsonl", "datasets/train-debate.jsonl"];

/// Shorter sentences ("Let me be clear.") may well have been said by someone.
const COPY_MIN_WORDS: usize = 6;

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn written() -> Vec<Example> {
    WRITTEN
        .iter()
        .flat_map(|f| read_labelled(&path(f)).unwrap())
        .collect()
}

#[test]
fn written_sets_parse_and_hold_no_sentence_twice() {
    let examples = written();
    assert!(examples.len() >= 2_900, "{} examples", examples.len());
    let mut seen = HashSet::new();
    for e in &examples {
        assert!(seen.insert(e.text.as_str()), "twice: {}", e.text);
    }
}

#[test]
fn every_general_debate_sentence_has_a_known_speaker() {
    let debate = read_labelled(&path("datasets/train-debate.jsonl")).unwrap();
    let unknown: Vec<&str> = debate
        .iter()
        .filter(|e| e.speaker.is_none())
        .map(|e| e.text.as_str())
        .collect();
    assert!(unknown.is_empty(), "no known speaker: {unknown:?}");
    // A good share name their own speaker, which the own-country reading rewrites.
    let own = debate
        .iter()
        .filter(|e| e.own_country_text() != e.text.as_str())
        .count();
    assert!(
        own * 4 > debate.len(),
        "{own} of {} name their speaker",
        debate.len()
    );
}

/// The texts of the shared real data: the corpus statements and the labelled sets.
fn shared_texts() -> Option<String> {
    let shared = path("../shared");
    let corpus = shared.join("corpora/ungdc-2015-2024.jsonl.gz");
    if !corpus.exists() {
        eprintln!("skipped: {} not present", corpus.display());
        return None;
    }
    let mut lines = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&corpus).unwrap())
        .read_to_string(&mut lines)
        .unwrap();
    for labelled in ["train/real-train.jsonl", "dev/real-dev.jsonl"] {
        lines.push('\n');
        lines.push_str(&std::fs::read_to_string(shared.join(labelled)).unwrap_or_default());
    }
    // The `text` of every record, each run of whitespace made one space, as the
    // written sets write it.
    let text: String = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["text"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(" ");
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn written_sets_copy_no_sentence_of_the_shared_real_data() {
    let Some(shared) = shared_texts() else {
        return;
    };
    let long: Vec<String> = written()
        .into_iter()
        .map(|e| e.text)
        .filter(|t| t.split_whitespace().count() >= COPY_MIN_WORDS)
        .collect();
    let matcher = AhoCorasick::new(&long).unwrap();
    let copied: HashSet<&str> = matcher
        .find_overlapping_iter(&shared)
        .map(|m| long[m.pattern().as_usize()].as_str())
        .collect();
    assert!(copied.is_empty(), "found in ../shared: {copied:?}");
}
