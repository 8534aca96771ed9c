//! Property tests of the input readers (the fuzzing of issue 6, mirrored by
//! proptest): on any bytes in any input format they never panic, and every record
//! they give has its index in order, its line within the input and its offsets
//! within the record's bytes; JSONL and CSV/TSV written by serde_json and the csv
//! crate read back exactly, with every damaged line named by its line and every
//! good record kept.
//!
//! The number of cases is proptest's default (256) unless `PROPTEST_CASES` says
//! otherwise, so a longer fuzzing run is `PROPTEST_CASES=20000 cargo test --test io_props`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use polrec::io::diagnostics::Diagnostics;
use polrec::io::reader::{records, InputRecord, ReadOptions};
use polrec::io::source::{InputFormat, Source};
use proptest::prelude::*;

/// What reading one input gave: the records, the messages (with the file's path
/// replaced by `FILE`) and the number of failures.
struct Read {
    records: Vec<InputRecord>,
    messages: Vec<String>,
    failures: usize,
}

/// Writes `bytes` to a file called `name` and reads it as `format`.
fn read(name: &str, bytes: &[u8], format: InputFormat, text_lines: bool, strict: bool) -> Read {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let source = Source::file(path, name.into(), format);
    let options = ReadOptions {
        text_field: "text".into(),
        strict,
        text_lines,
        shard: None,
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let diagnostics = Diagnostics::new(move |l| sink.lock().unwrap().push(l.to_string()), true);
    let records: Vec<InputRecord> = records(&source, &options, &diagnostics, None).collect();
    let messages = lines
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.replace(&source.doc, "FILE"))
        .collect();
    Read {
        records,
        messages,
        failures: diagnostics.failures(),
    }
}

/// The bytes of each line of `bytes` without its terminator (`\n`, `\r\n`, or
/// trailing `\r`s), as the line readers see them.
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    for line in &mut lines {
        while let [rest @ .., b'\n' | b'\r'] = *line {
            *line = rest;
        }
    }
    lines
}

/// Checks what holds of the records of any input: indices strictly increasing,
/// lines from 1 to the number of lines, offsets on the record's bytes in order.
fn check_records(bytes: &[u8], read: &Read) -> Result<(), TestCaseError> {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut last_index = None;
    for r in &read.records {
        prop_assert!(
            last_index < Some(r.index),
            "index {} after {last_index:?}",
            r.index
        );
        last_index = Some(r.index);
        prop_assert!(r.line >= 1 && r.line <= lines, "line {} of {lines}", r.line);
        let mut last = 0;
        for (i, _) in r.text.char_indices().chain([(r.text.len(), ' ')]) {
            let original = r.offsets.original(i);
            prop_assert!(original >= last, "offsets go back at {i}");
            last = original;
        }
        // Sentences found in the text map into the record's original bytes in order.
        for s in polrec::text::split(&r.text) {
            prop_assert!(r.offsets.original(s.start) < r.offsets.original(s.end));
            prop_assert!(r.offsets.original(s.end) <= r.offsets.original(r.text.len()));
        }
    }
    Ok(())
}

/// Bytes that look a little like every input format: any byte, often a structural one.
fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(b"\n\r{}[]\":,\t\\ .tex".to_vec()),
        1 => Just(0xEF), // byte order marks and broken UTF-8
    ];
    prop::collection::vec(byte, 0..1500)
}

/// One line of a JSONL input.
#[derive(Debug, Clone)]
enum JsonLine {
    /// A good record with this text.
    Good(String),
    /// A good record's line cut short (a truncated write): malformed.
    Cut(String, prop::sample::Index),
    /// Something that is not a JSON object: malformed.
    Junk(String),
    /// A record without a `text` field, or with one that is not a string.
    NoText(bool),
    /// Spaces and tabs only: skipped, not a record.
    Blank(String),
}

fn json_line() -> impl Strategy<Value = JsonLine> {
    prop_oneof![
        6 => any::<String>().prop_map(JsonLine::Good),
        1 => (any::<String>(), any::<prop::sample::Index>()).prop_map(|(s, i)| JsonLine::Cut(s, i)),
        1 => "[^{ \t\n\r\u{0}\u{b}\u{c}\u{feff}][^\n\r\u{0}]{0,30}".prop_map(JsonLine::Junk),
        1 => any::<bool>().prop_map(JsonLine::NoText),
        1 => "[ \t]{0,3}".prop_map(JsonLine::Blank),
    ]
}

/// A JSONL record with text `text`, the `n`-th of its input.
fn json_record(n: usize, text: &str) -> String {
    serde_json::json!({"n": n, "text": text}).to_string()
}

/// A table row, or a row with the wrong number of fields.
#[derive(Debug, Clone)]
enum Row {
    Good(String, String),
    Ragged(Vec<String>),
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        // any text but NUL, which makes a file binary
        6 => ("[^\u{0}]{0,40}", "\\PC{0,8}").prop_map(|(t, n)| Row::Good(t, n)),
        1 => prop_oneof![
            "\\PC{1,8}".prop_map(|a| vec![a]),
            ("\\PC{0,8}", "\\PC{0,8}", "\\PC{0,8}").prop_map(|(a, b, c)| vec![a, b, c]),
        ]
        .prop_map(Row::Ragged),
    ]
}

/// Found by `normalised_offsets_map_into_the_original_in_order` (100,000 cases): a
/// word ending in a doubled multi-byte letter before a line-end hyphen was cut inside
/// the letter while looking for a known stem.
#[test]
fn a_doubled_multibyte_letter_before_a_suffix_does_not_panic() {
    for raw in [".ⶶD- 𐖳", "ⶶⶶing-\nthe", "ééed-\nly", "Theⶶⶶⶶⶶⶶed-\nword."] {
        let n = polrec::text::normalize::Normalized::new(raw);
        assert!(n.text().len() <= raw.len() + 1, "{raw:?}");
        for s in polrec::text::split(raw) {
            assert!(raw.is_char_boundary(s.start) && raw.is_char_boundary(s.end));
        }
    }
}

proptest! {
    #[test]
    fn any_bytes_in_any_format_never_panic_and_stay_in_bounds(bytes in input_bytes(), strict in any::<bool>()) {
        for (name, format, text_lines) in [
            ("in.txt", InputFormat::Text, false),
            ("in.txt", InputFormat::Text, true),
            ("in.jsonl", InputFormat::Jsonl, false),
            ("in.csv", InputFormat::Csv, false),
            ("in.tsv", InputFormat::Tsv, false),
        ] {
            let got = read(name, &bytes, format, text_lines, strict);
            check_records(&bytes, &got)?;
            for m in &got.messages {
                prop_assert!(m.starts_with("error: FILE") || m.starts_with("warning: FILE:"), "{m}");
            }
        }
    }

    #[test]
    fn text_records_are_their_bytes_decoded(bytes in input_bytes(), text_lines in any::<bool>()) {
        let got = read("in.txt", &bytes, InputFormat::Text, text_lines, false);
        check_records(&bytes, &got)?;
        if bytes.contains(&0) || bytes.is_empty() {
            // binary or empty: skipped with an error naming the file
            prop_assert!(got.records.is_empty() && got.failures == 1, "{:?}", got.messages);
            return Ok(());
        }
        let bom = b"\xEF\xBB\xBF";
        if !text_lines {
            prop_assert_eq!(got.records.len(), 1);
            let r = &got.records[0];
            let body = bytes.strip_prefix(bom).unwrap_or(&bytes);
            prop_assert_eq!(&r.text, &String::from_utf8_lossy(body));
            prop_assert_eq!(r.offsets.original(r.text.len()), bytes.len());
            return Ok(());
        }
        let lines = split_lines(&bytes);
        let mut expected = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let line = if i == 0 { line.strip_prefix(bom).unwrap_or(line) } else { line };
            let text = String::from_utf8_lossy(line);
            if !text.trim().is_empty() {
                expected.push((i, i + 1, text.into_owned()));
            }
        }
        let got_lines: Vec<(usize, usize, String)> =
            got.records.iter().map(|r| (r.index, r.line, r.text.clone())).collect();
        prop_assert_eq!(got_lines, expected);
        for r in &got.records {
            let line = lines[r.index];
            let skipped = if r.index == 0 && line.starts_with(bom) { bom.len() } else { 0 };
            prop_assert_eq!(r.offsets.original(r.text.len()), line.len());
            prop_assert_eq!(r.offsets.original(0), skipped);
        }
    }

    #[test]
    fn jsonl_keeps_every_good_record_and_names_every_bad_line(
        lines in prop::collection::vec(json_line(), 0..40),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let mut file = String::new();
        let mut expected = Vec::new(); // (index, line, text)
        let mut bad = Vec::new(); // lines that must be named
        let mut index = 0;
        for (i, line) in lines.iter().enumerate() {
            let number = i + 1;
            let text = match line {
                JsonLine::Good(text) => {
                    expected.push((index, number, text.clone()));
                    json_record(i, text)
                }
                JsonLine::Cut(text, at) => {
                    bad.push(number);
                    let full = json_record(i, text);
                    let cut = 1 + at.index(full.len() - 1);
                    // cut on a char boundary: the line stays valid UTF-8, only the JSON breaks
                    let cut = (0..=cut).rev().find(|&c| full.is_char_boundary(c)).unwrap();
                    full[..cut].to_string()
                }
                JsonLine::Junk(junk) => {
                    bad.push(number);
                    junk.clone()
                }
                JsonLine::NoText(number_instead) => {
                    bad.push(number);
                    if *number_instead {
                        format!("{{\"n\": {i}, \"text\": {i}}}")
                    } else {
                        format!("{{\"n\": {i}, \"body\": \"no text here\"}}")
                    }
                }
                JsonLine::Blank(blank) => blank.clone(),
            };
            if !matches!(line, JsonLine::Blank(_)) {
                index += 1;
            }
            file += &text;
            if i + 1 < lines.len() || final_newline {
                file += if crlf { "\r\n" } else { "\n" };
            }
        }
        let got = read("in.jsonl", file.as_bytes(), InputFormat::Auto, false, false);
        check_records(file.as_bytes(), &got)?;
        let got_records: Vec<(usize, usize, String)> =
            got.records.iter().map(|r| (r.index, r.line, r.text.clone())).collect();
        prop_assert_eq!(got_records, expected);
        // An empty file is itself named (most often a failed conversion in a corpus).
        let empty = usize::from(file.is_empty());
        prop_assert_eq!(got.failures, bad.len() + empty, "{:?}", got.messages);
        for number in bad {
            let place = format!("error: FILE:{number}: ");
            prop_assert!(got.messages.iter().any(|m| m.starts_with(&place)), "{place} in {:?}", got.messages);
        }
    }

    #[test]
    fn tables_keep_every_good_row_and_name_every_ragged_one(
        rows in prop::collection::vec(row(), 0..30),
        tab in any::<bool>(),
        text_first in any::<bool>(),
    ) {
        let delimiter = if tab { b'\t' } else { b',' };
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(Vec::new());
        let header = if text_first { ["text", "note"] } else { ["note", "text"] };
        writer.write_record(header).unwrap();
        let mut expected = Vec::new(); // (index, line, text, note)
        let mut ragged = Vec::new(); // (line, fields)
        for (i, row) in rows.iter().enumerate() {
            writer.flush().unwrap();
            let line = 1 + writer.get_ref().iter().filter(|&&b| b == b'\n').count();
            match row {
                Row::Good(text, note) => {
                    expected.push((i, line, text.clone(), note.clone()));
                    if text_first {
                        writer.write_record([text, note]).unwrap();
                    } else {
                        writer.write_record([note, text]).unwrap();
                    }
                }
                Row::Ragged(fields) => {
                    ragged.push((line, fields.len()));
                    writer.write_record(fields).unwrap();
                }
            }
        }
        let bytes = writer.into_inner().unwrap();
        let name = if tab { "in.tsv" } else { "in.csv" };
        let got = read(name, &bytes, InputFormat::Auto, false, false);
        check_records(&bytes, &got)?;
        let got_rows: Vec<(usize, usize, String, String)> = got
            .records
            .iter()
            .map(|r| {
                let note = r.carried.iter().find(|(n, _)| n == "note").map(|(_, v)| v.get()).unwrap();
                (r.index, r.line, r.text.clone(), serde_json::from_str(note).unwrap())
            })
            .collect();
        prop_assert_eq!(got_rows, expected);
        prop_assert_eq!(got.failures, ragged.len(), "{:?}", got.messages);
        for (line, fields) in ragged {
            let message = format!("error: FILE:{line}: expected 2 fields, found {fields}");
            prop_assert!(got.messages.contains(&message), "{message} in {:?}", got.messages);
        }
    }

    #[test]
    fn speaker_headers_and_file_names_never_panic(
        prefix in prop::sample::select(vec!["", "Mr. ", "Mrs. ", "Ms. ", "The President", "The PRESIDENT ", "H.E. ", "The Secretary-General"]),
        middle in "(\\PC|[():,.-]){0,40}",
        suffix in prop::sample::select(vec!["", ":", "):", ")):", " (spoke in French):", " (", "(("]),
    ) {
        let s = format!("{prefix}{middle}{suffix}");
        let _ = polrec::text::speakers::opens_header(&s);
        if let Some(h) = polrec::text::speakers::parse_header(&s) {
            prop_assert!(h.len <= h.skip && h.skip <= s.len(), "{h:?}");
            prop_assert!(s.is_char_boundary(h.len) && s.is_char_boundary(h.skip), "{h:?}");
            prop_assert!(s[..h.len].ends_with(':'), "{h:?}");
            prop_assert!(!h.speaker.is_empty(), "{h:?}");
            prop_assert!(h.delegation.as_ref().is_none_or(|d| !d.is_empty()), "{h:?}");
        }
        let _ = polrec::text::ungdc_meta(Path::new(&s));
        let _ = polrec::text::ungdc_meta(Path::new(&format!("{middle}_{suffix}.txt")));
    }

    #[test]
    fn normalised_offsets_map_into_the_original_in_order(raw in "(\\PC|[\\n\\r\\t \u{ad}\u{c}-]|\\.){0,400}") {
        let n = polrec::text::normalize::Normalized::new(&raw);
        let text = n.text();
        let mut last = 0;
        for (i, _) in text.char_indices() {
            let o = n.to_original(i);
            prop_assert!(o <= raw.len() && raw.is_char_boundary(o), "{i} -> {o}");
            prop_assert!(o >= last, "offsets go back at {i}: {o} < {last}");
            last = o;
        }
        for p in n.paragraphs() {
            prop_assert!(p.start <= p.end && p.end <= text.len());
            prop_assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
        }
        for f in n.furniture() {
            prop_assert!(f.start <= f.end && f.end <= raw.len());
            prop_assert!(raw.is_char_boundary(f.start) && raw.is_char_boundary(f.end));
        }
    }
}
