//! Training data: labelled JSONL, the real-train index and its rebuild from the corpus.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use polrec::model::train_data::{
    build_real_train_index, read_index, read_labelled, rebuild_real_train,
    rebuild_real_train_report, write_index, write_real_sentences, Example, IndexEntry, MatchKind,
    RealSentence,
};
use polrec::{Error, Label};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn hash8(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn read_labelled_keeps_text_and_label_and_skips_blank_lines() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "labelled.jsonl",
        concat!(
            r#"{"id": "a1", "text": "We urge all parties to return to the table.", "label": "call_to_action"}"#,
            "\n\n",
            r#"{"text": "My country will double its pledge.", "label": "commitment", "year": 2031}"#,
            "\n",
            r#"{"label": "context", "text": "The harvest failed twice in a row."}"#,
            "\n",
        ),
    );
    let examples = read_labelled(&path).unwrap();
    assert_eq!(
        examples,
        vec![
            Example::new(
                "We urge all parties to return to the table.",
                Label::CallToAction
            ),
            Example::new("My country will double its pledge.", Label::Commitment),
            Example::new("The harvest failed twice in a row.", Label::Context),
        ]
    );
    assert!(examples.iter().all(|e| e.weight == 1.0));
}

#[test]
fn read_labelled_knows_the_speaker_from_iso3_or_delegation() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "said.jsonl",
        concat!(
            r#"{"iso3": "KAZ", "text": "Kazakhstan will host the talks.", "label": "commitment"}"#,
            "\n",
            r#"{"delegation": "Kazakhstan", "text": "Kazakhstan will act.", "label": "commitment"}"#,
            "\n",
            r#"{"iso3": "FRA", "text": "Kazakhstan will host the talks.", "label": "context"}"#,
            "\n",
            r#"{"iso3": "EU", "text": "Kazakhstan will host the talks.", "label": "context"}"#,
            "\n",
        ),
    );
    let examples = read_labelled(&path).unwrap();
    let speakers: Vec<Option<&str>> = examples
        .iter()
        .map(|e| e.speaker.map(|c| c.code()))
        .collect();
    assert_eq!(speakers, [Some("KAZ"), Some("KAZ"), Some("FRA"), None]);
    let read: Vec<String> = examples
        .iter()
        .map(|e| e.own_country_text().into_owned())
        .collect();
    assert_eq!(
        read,
        [
            "My country will host the talks.",
            "My country will act.",
            "Kazakhstan will host the talks.",
            "Kazakhstan will host the talks.",
        ]
    );
    // The text itself is kept as written.
    assert_eq!(examples[0].text, "Kazakhstan will host the talks.");
}

#[test]
fn read_labelled_names_file_and_line_of_a_malformed_record() {
    let dir = TempDir::new().unwrap();
    let good = r#"{"text": "Peace is possible.", "label": "context"}"#;
    for (bad, why) in [
        (r#"{"text": "Unfinished", "label": "#, "truncated JSON"),
        (
            r#"{"text": "A sentence.", "label": "wish"}"#,
            "unknown label",
        ),
        (r#"{"label": "context"}"#, "missing text"),
    ] {
        let path = write(
            &dir,
            "bad.jsonl",
            &format!("{good}\n{good}\n{bad}\n{good}\n"),
        );
        match read_labelled(&path) {
            Err(Error::BadRecord { path: p, line, .. }) => {
                assert_eq!(line, 3, "{why}");
                assert_eq!(p, path.display().to_string(), "{why}");
            }
            other => panic!("{why}: expected BadRecord, got {other:?}"),
        }
    }
    assert!(matches!(
        read_labelled(&dir.path().join("absent.jsonl")),
        Err(Error::Io { .. })
    ));
}

/// A made-up corpus of three statements, as JSONL.
fn synthetic_corpus() -> String {
    let statements = [
        ("ZZA", 90, 2035, "Mr. President, we meet in hard times. Our island will plant a million mangroves by 2040.\nWe call on  all donors\nto honour their pledges. Thank you."),
        ("ZZB", 90, 2035, "The “new” compact — signed last year — has failed. Héllo wörld, said the delegate. Ünïcode stays."),
        ("ZZA", 91, 2036, "A later statement. Mr. President, we meet in hard times."),
    ];
    statements
        .iter()
        .map(|(iso3, session, year, text)| {
            serde_json::json!({"iso3": iso3, "session": session, "year": year, "text": text})
                .to_string()
                + "\n"
        })
        .collect()
}

fn sentence(
    id: &str,
    iso3: &str,
    session: u32,
    year: u32,
    text: &str,
    label: Label,
) -> RealSentence {
    RealSentence {
        id: id.into(),
        iso3: iso3.into(),
        session,
        year,
        text: text.into(),
        label,
        both_confident: id != "s3",
    }
}

fn synthetic_labelled() -> Vec<RealSentence> {
    vec![
        sentence(
            "s1",
            "ZZA",
            90,
            2035,
            "Our island will plant a million mangroves by 2040.",
            Label::Commitment,
        ),
        sentence(
            "s2",
            "ZZA",
            90,
            2035,
            "We call on all donors to honour their pledges.",
            Label::CallToAction,
        ),
        sentence(
            "s3",
            "ZZB",
            90,
            2035,
            "The \"new\" compact - signed last year - has failed.",
            Label::Context,
        ),
        sentence(
            "s4",
            "ZZB",
            90,
            2035,
            "Héllo wörld, said the delegate.",
            Label::Context,
        ),
        sentence(
            "s5",
            "ZZA",
            91,
            2036,
            "Mr. President, we meet in hard times.",
            Label::Context,
        ),
        sentence(
            "s6",
            "ZZA",
            90,
            2035,
            "This sentence is nowhere.",
            Label::Context,
        ),
        sentence("s7", "ZZC", 90, 2035, "No such statement.", Label::Context),
    ]
}

/// Builds the index of the synthetic set; returns (dir, corpus, gzipped corpus, index path, build).
fn synthetic_index() -> (
    TempDir,
    PathBuf,
    PathBuf,
    PathBuf,
    polrec::model::train_data::IndexBuild,
) {
    let dir = TempDir::new().unwrap();
    let corpus = write(&dir, "corpus.jsonl", &synthetic_corpus());
    let gz = dir.path().join("corpus.jsonl.gz");
    let mut encoder = GzEncoder::new(std::fs::File::create(&gz).unwrap(), Compression::default());
    encoder.write_all(synthetic_corpus().as_bytes()).unwrap();
    encoder.finish().unwrap();
    let labelled = dir.path().join("labelled.jsonl");
    write_real_sentences(&labelled, &synthetic_labelled()).unwrap();
    let build = build_real_train_index(&labelled, &gz).unwrap();
    let index = dir.path().join("index.jsonl");
    write_index(&index, &build.entries).unwrap();
    (dir, corpus, gz, index, build)
}

#[test]
fn index_records_offsets_and_hashes_of_each_way_of_matching() {
    let (_dir, _, _, _, build) = synthetic_index();
    let ids: Vec<&str> = build.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2", "s3", "s4", "s5"]);
    assert_eq!(
        build.kinds,
        [
            MatchKind::Verbatim,
            MatchKind::Whitespace,
            MatchKind::Folded,
            MatchKind::Verbatim,
            MatchKind::Verbatim
        ]
    );
    assert_eq!(build.not_found, ["s6", "s7"]);
    assert_eq!(build.count(MatchKind::Verbatim), 3);

    let corpus = synthetic_corpus();
    let texts: Vec<String> = corpus
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .into()
        })
        .collect();
    let expected_spans = [
        (0, "Our island will plant a million mangroves by 2040."),
        (0, "We call on  all donors\nto honour their pledges."),
        (1, "The “new” compact — signed last year — has failed."),
        (1, "Héllo wörld, said the delegate."),
        (2, "Mr. President, we meet in hard times."),
    ];
    for (entry, (statement, span)) in build.entries.iter().zip(expected_spans) {
        let text = &texts[statement];
        let start = text.find(span).unwrap();
        assert_eq!(
            (entry.start, entry.end),
            (start, start + span.len()),
            "{}",
            entry.id
        );
        let rebuilt = span.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(entry.sha256_8, hash8(&rebuilt), "{}", entry.id);
    }
    assert!(!build.entries[2].both_confident);
    assert_eq!(build.entries[1].label, Label::CallToAction);
}

#[test]
fn rebuild_from_plain_and_gzipped_corpus_gives_the_labelled_texts() {
    let (dir, corpus, gz, index, _) = synthetic_index();
    for source in [&corpus, &gz] {
        let rebuild = rebuild_real_train_report(&index, source).unwrap();
        assert!(rebuild.failures.is_empty(), "{:?}", rebuild.failures);
        let texts: Vec<&str> = rebuild.sentences.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Our island will plant a million mangroves by 2040.",
                "We call on all donors to honour their pledges.",
                "The “new” compact — signed last year — has failed.",
                "Héllo wörld, said the delegate.",
                "Mr. President, we meet in hard times.",
            ]
        );
        assert_eq!(rebuild.sentences[4].session, 91);
    }
    let examples = rebuild_real_train(&index, &gz).unwrap();
    assert_eq!(examples.len(), 5);
    assert_eq!(
        examples[0],
        Example::new(
            "Our island will plant a million mangroves by 2040.",
            Label::Commitment
        )
    );

    let out = dir.path().join("rebuilt.jsonl");
    write_real_sentences(
        &out,
        &rebuild_real_train_report(&index, &gz).unwrap().sentences,
    )
    .unwrap();
    assert_eq!(read_labelled(&out).unwrap(), examples);
}

#[test]
fn rebuild_reports_hash_mismatches_bad_spans_and_missing_statements() {
    let (dir, corpus, _, index, _) = synthetic_index();
    let mut entries = read_index(&index).unwrap();
    entries[1].sha256_8 = "00000000".into();
    entries[3].end = entries[3].start + 2; // inside the two-byte "é"
    entries[4].session = 99;
    let damaged = dir.path().join("damaged.jsonl");
    write_index(&damaged, &entries).unwrap();

    let rebuild = rebuild_real_train_report(&damaged, &corpus).unwrap();
    let kept: Vec<&str> = rebuild.sentences.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(kept, ["s1", "s3"]);
    let failed: Vec<(&str, usize)> = rebuild
        .failures
        .iter()
        .map(|f| (f.id.as_str(), f.line))
        .collect();
    assert_eq!(failed, [("s2", 2), ("s4", 4), ("s5", 5)]);
    assert!(
        rebuild.failures[0].reason.contains("00000000"),
        "{}",
        rebuild.failures[0].reason
    );
    assert!(
        rebuild.failures[1].reason.contains("character boundaries"),
        "{}",
        rebuild.failures[1].reason
    );
    assert!(
        rebuild.failures[2].reason.contains("no statement"),
        "{}",
        rebuild.failures[2].reason
    );

    match rebuild_real_train(&damaged, &corpus) {
        Err(Error::BadRecord { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("3 of 5"), "{message}");
        }
        other => panic!("expected BadRecord, got {other:?}"),
    }

    // A corpus copy with one character more fails the sentence holding it and, as the
    // offsets shift, the later sentences of the same statement; the others still rebuild.
    let edited = write(
        &dir,
        "edited.jsonl",
        &synthetic_corpus().replace("mangroves", "mangroves!"),
    );
    let rebuild = rebuild_real_train_report(&index, &edited).unwrap();
    let failed: Vec<&str> = rebuild.failures.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(failed, ["s1", "s2"]);
    assert_eq!(rebuild.sentences.len(), 3);
}

#[test]
fn malformed_index_and_duplicate_statements_are_errors() {
    let (dir, _, _, index, _) = synthetic_index();
    let mut lines: Vec<String> = std::fs::read_to_string(&index)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = lines[2].replace("sha256_8", "sha_8");
    let broken = write(&dir, "broken.jsonl", &(lines.join("\n") + "\n"));
    assert!(matches!(
        read_index(&broken),
        Err(Error::BadRecord { line: 3, .. })
    ));

    let doubled = synthetic_corpus() + synthetic_corpus().lines().next().unwrap() + "\n";
    let doubled = write(&dir, "doubled.jsonl", &doubled);
    match rebuild_real_train_report(&index, &doubled) {
        Err(Error::BadRecord { line, message, .. }) => {
            assert_eq!(line, 4);
            assert!(message.contains("first at line 1"), "{message}");
        }
        other => panic!("expected BadRecord, got {other:?}"),
    }
}

/// `../shared` (the real-train labels and the corpus), if present.
fn shared() -> Option<(PathBuf, PathBuf)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let labelled = shared.join("train/real-train.jsonl");
    let corpus = shared.join("corpora/ungdc-2015-2024.jsonl.gz");
    if labelled.exists() && corpus.exists() {
        Some((labelled, corpus))
    } else {
        eprintln!("skipped: {} not present", shared.display());
        None
    }
}

fn committed_index() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/real-train.index.jsonl")
}

/// The committed index rebuilds every sentence of the real-train set exactly.
#[test]
fn committed_index_rebuilds_the_real_train_set() {
    let Some((labelled, corpus)) = shared() else {
        return;
    };
    let rebuild = rebuild_real_train_report(&committed_index(), &corpus).unwrap();
    assert!(
        rebuild.failures.is_empty(),
        "{} failures, first {:?}",
        rebuild.failures.len(),
        rebuild.failures.first()
    );

    let originals: HashMap<String, (String, Label)> = std::fs::read_to_string(&labelled)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let label = Label::parse(v["label"].as_str().unwrap()).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                (v["text"].as_str().unwrap().to_string(), label),
            )
        })
        .collect();
    assert_eq!(rebuild.sentences.len(), originals.len());
    let exact = rebuild
        .sentences
        .iter()
        .filter(|s| originals.get(&s.id) == Some(&(s.text.clone(), s.label)))
        .count();
    eprintln!(
        "{exact} of {} real-train sentences rebuild exactly",
        originals.len()
    );
    assert_eq!(exact, originals.len());
}

/// The committed index is what the builder makes of `../shared` today. Set
/// `POLREC_WRITE_REAL_TRAIN_INDEX=1` to (re)write it instead.
#[test]
fn committed_index_is_what_the_builder_makes() {
    let Some((labelled, corpus)) = shared() else {
        return;
    };
    let build = build_real_train_index(&labelled, &corpus).unwrap();
    eprintln!(
        "verbatim {}, whitespace {}, folded {}, not found {}",
        build.count(MatchKind::Verbatim),
        build.count(MatchKind::Whitespace),
        build.count(MatchKind::Folded),
        build.not_found.len()
    );
    if std::env::var_os("POLREC_WRITE_REAL_TRAIN_INDEX").is_some() {
        write_index(&committed_index(), &build.entries).unwrap();
    }
    let committed: Vec<IndexEntry> = read_index(&committed_index()).unwrap();
    assert_eq!(committed, build.entries);
    assert!(
        build.not_found.is_empty(),
        "not found: {:?}",
        build.not_found
    );
}

/// The committed indexes of further real sentences (labelled for polrec, trained on with
/// `--train-only-index`) rebuild whole, and none of their sentences is one of the
/// real-train set or of the evaluation-only dev set, nor at a place of another index (a
/// text said twice in one statement is located at its first place, so one index may name
/// a place twice).
#[test]
fn extra_indexes_rebuild_and_share_no_sentence_with_real_train_or_dev() {
    let Some((labelled, corpus)) = shared() else {
        return;
    };
    let key = |text: &str| {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let dev = labelled.parent().unwrap().join("../dev/real-dev.jsonl");
    let mut known = std::collections::HashSet::new();
    for path in [labelled.as_path(), dev.as_path()] {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            known.insert(key(v["text"].as_str().unwrap()));
        }
    }
    assert!(known.len() > 4_600, "{} known sentences", known.len());
    let mut places = std::collections::HashSet::new();
    for name in [
        "real-extra.index.jsonl",
        "real-extra2.index.jsonl",
        "real-extra3.index.jsonl",
        "real-extra4.index.jsonl",
        "real-extra5.index.jsonl",
        "real-extra6.index.jsonl",
        "real-extra7.index.jsonl",
    ] {
        let extra = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("datasets")
            .join(name);
        let rebuild = rebuild_real_train_report(&extra, &corpus).unwrap();
        assert!(
            rebuild.failures.is_empty(),
            "{name}: {} failures, first {:?}",
            rebuild.failures.len(),
            rebuild.failures.first()
        );
        assert!(rebuild.sentences.len() >= 2_000, "{name}");
        let shared: Vec<&str> = rebuild
            .sentences
            .iter()
            .filter(|s| known.contains(&key(&s.text)))
            .map(|s| s.id.as_str())
            .collect();
        assert!(
            shared.is_empty(),
            "{name}: also in real-train or dev: {shared:?}"
        );
        let here: std::collections::HashSet<_> = read_index(&extra)
            .unwrap()
            .into_iter()
            .map(|e| (e.iso3, e.session, e.start, e.end))
            .collect();
        let both: Vec<_> = here.intersection(&places).collect();
        assert!(
            both.is_empty(),
            "{name}: places of the other index: {both:?}"
        );
        places.extend(here);
    }
}

/// The second labellings rebuild from the corpus and each names a place of the rounds it
/// relabels (`polrec train --relabel` refuses any other).
#[test]
fn relabel_indexes_name_places_of_the_rounds_they_relabel() {
    let Some((_, corpus)) = shared() else {
        return;
    };
    let datasets = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let places = |names: &[&str]| {
        names
            .iter()
            .flat_map(|name| read_index(&datasets.join(name)).unwrap())
            .map(|e| (e.iso3, e.session, e.start, e.end, e.sha256_8))
            .collect::<std::collections::HashSet<_>>()
    };
    for (relabel, rounds) in [
        (
            "real-relabel.index.jsonl",
            places(&[
                "real-extra.index.jsonl",
                "real-extra2.index.jsonl",
                "real-extra3.index.jsonl",
                "real-extra4.index.jsonl",
                "real-extra5.index.jsonl",
            ]),
        ),
        (
            "real-relabel6.index.jsonl",
            places(&["real-extra6.index.jsonl"]),
        ),
    ] {
        let path = datasets.join(relabel);
        let rebuild = rebuild_real_train_report(&path, &corpus).unwrap();
        assert!(
            rebuild.failures.is_empty(),
            "{relabel}: {:?}",
            rebuild.failures.first()
        );
        let entries = read_index(&path).unwrap();
        assert!(entries.len() >= 800, "{relabel}");
        for e in entries {
            let place = (e.iso3, e.session, e.start, e.end, e.sha256_8);
            assert!(
                rounds.contains(&place),
                "{relabel}: {place:?} is in no round"
            );
        }
    }
}
