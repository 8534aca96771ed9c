//! Verbatim records laid out as PDF extractions give them (tests/fixtures/text, made
//! by make_fixtures.py from clean sources): every sentence, speaker and delegation
//! must come out exactly as in the source.

use std::path::{Path, PathBuf};

use polrec::text::{split, split_record, ungdc_meta, Sentence};

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Expected {
    text: String,
    speaker: Option<String>,
    delegation: Option<String>,
}

fn fixtures() -> Vec<(PathBuf, String, Vec<Expected>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text");
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    for txt in paths {
        let raw = String::from_utf8(std::fs::read(&txt).expect("fixture")).expect("UTF-8 fixture");
        let exp_path = txt.with_extension("expected.jsonl");
        let expected = std::fs::read_to_string(&exp_path)
            .expect("expected file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("expected record"))
            .collect();
        out.push((txt, raw, expected));
    }
    assert!(out.len() >= 5, "fixtures missing");
    out
}

fn got(s: &[Sentence]) -> Vec<Expected> {
    s.iter()
        .map(|s| Expected {
            text: s.text.clone(),
            speaker: s.speaker.clone(),
            delegation: s.delegation.clone(),
        })
        .collect()
}

#[test]
fn fixtures_split_exactly_as_their_sources() {
    let mut total = 0;
    for (path, raw, expected) in fixtures() {
        let sentences = split(&raw);
        let got = got(&sentences);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{}: sentence {i}", path.display());
        }
        assert_eq!(
            got.len(),
            expected.len(),
            "{}: sentence count",
            path.display()
        );
        total += expected.len();
    }
    assert!(total >= 150, "only {total} sentences in the fixtures");
}

/// Letters and digits of `s`, in order.
fn visible(s: &str) -> Vec<char> {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[test]
fn fixture_offsets_cover_their_sentences() {
    for (path, raw, _) in fixtures() {
        let rec = split_record(&raw);
        let mut last = 0;
        for s in &rec.sentences {
            assert!(
                last <= s.start && s.start < s.end && s.end <= raw.len(),
                "{}: {s:?}",
                path.display()
            );
            assert!(raw.is_char_boundary(s.start) && raw.is_char_boundary(s.end));
            // The source span holds the sentence's letters, plus at most furniture lines.
            let span = &raw[s.start..s.end];
            let mut without_furniture = String::new();
            let mut pos = s.start;
            for f in rec
                .furniture
                .iter()
                .filter(|f| f.start >= s.start && f.end <= s.end)
            {
                without_furniture.push_str(&raw[pos..f.start]);
                pos = f.end;
            }
            without_furniture.push_str(&raw[pos..s.end]);
            assert_eq!(
                visible(&without_furniture),
                visible(&s.text),
                "{}: {span:?}",
                path.display()
            );
            assert_eq!(span.chars().next(), s.text.chars().next());
            assert_eq!(span.chars().next_back(), s.text.chars().next_back());
            last = s.end;
        }
    }
}

#[test]
fn no_sentence_holds_furniture_or_a_line_end_hyphen() {
    for (path, raw, _) in fixtures() {
        for s in split(&raw) {
            let t = &s.text;
            assert!(
                !t.contains(['\n', '\r', '\u{c}', '\t', '\u{feff}']),
                "{}: {t:?}",
                path.display()
            );
            assert!(!t.contains("  "), "{t:?}");
            for w in t.split(' ') {
                let job = w.len() == 8
                    && w.as_bytes()[2] == b'-'
                    && w.bytes().filter(u8::is_ascii_digit).count() == 7;
                assert!(!job, "{}: job number in {t:?}", path.display());
                assert!(
                    !w.ends_with('-') || w == "-",
                    "{}: dangling hyphen in {t:?}",
                    path.display()
                );
                assert!(
                    !w.contains("/PV."),
                    "{}: running head in {t:?}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn fixture_named_like_ungdc_gives_its_fields() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text");
    let m = ungdc_meta(&dir.join("XYZ_71_2016.txt")).expect("UNGDC name");
    assert_eq!((m.iso3.as_str(), m.session, m.year), ("XYZ", 71, 2016));
    assert_eq!(ungdc_meta(&dir.join("sc_trafficking_briefing.txt")), None);
}
