use std::io::Write;

use super::*;
use crate::io::source::InputFormat;

/// Writes `bytes` to a file named `name` in a fresh directory.
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Source) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    let source = Source::file(path, name.into(), InputFormat::Auto);
    (dir, source)
}

fn options() -> ReadOptions {
    ReadOptions {
        text_field: "text".into(),
        strict: false,
        text_lines: false,
        shard: None,
    }
}

/// Reads every record of a file with `options`, and the messages.
fn read(name: &str, bytes: &[u8], options: ReadOptions) -> (Vec<InputRecord>, Vec<String>, usize) {
    let (_dir, source) = file(name, bytes);
    let (diagnostics, lines) = Diagnostics::capture();
    let got: Vec<InputRecord> = records(&source, &options, &diagnostics, None).collect();
    let messages = lines.lock().unwrap().clone();
    let messages = messages
        .into_iter()
        .map(|m| m.replace(&source.doc, "FILE"))
        .collect();
    (got, messages, diagnostics.failures())
}

fn carried(record: &InputRecord) -> Vec<(String, String)> {
    record
        .carried
        .iter()
        .map(|(n, v)| (n.clone(), v.get().to_string()))
        .collect()
}

#[test]
fn a_text_file_is_one_record() {
    let (got, messages, failures) = read("a.txt", b"First line\nsecond line.\n", options());
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].index, got[0].line), (0, 1));
    assert_eq!(got[0].text, "First line\nsecond line.\n");
    assert!(messages.is_empty() && failures == 0);
}

#[test]
fn text_lines_are_records_indexed_by_line() {
    let opts = ReadOptions {
        text_lines: true,
        ..options()
    };
    let (got, _, _) = read("a.txt", b"\xEF\xBB\xBFone\r\n\n  \ntwo\n", opts);
    let got: Vec<_> = got
        .iter()
        .map(|r| (r.index, r.line, r.text.as_str(), r.offsets.original(0)))
        .collect();
    assert_eq!(got, [(0, 1, "one", 3), (3, 4, "two", 0)]);
}

#[test]
fn jsonl_carries_values_as_written_and_reports_bad_lines() {
    let input = concat!(
        "{\"id\": 1.50, \"text\": \"Alpha.\", \"tags\": [\"x\", {\"y\": null}]}\n",
        "\n",
        "{\"text\": \"Beta.\", \"label\": \"context\", \"big\": 123456789012345678901234567890}\n",
        "{\"text\": \"unterminated}\n",
        "[1, 2]\n",
        "{\"body\": \"no text\"}\n",
        "{\"text\": 7}\n",
        "{\"text\": \"Last.\", \"id\": 1, \"id\": 2}"
    );
    let (got, messages, failures) = read("a.jsonl", input.as_bytes(), options());
    let summary: Vec<_> = got
        .iter()
        .map(|r| (r.index, r.line, r.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [(0, 1, "Alpha."), (1, 3, "Beta."), (6, 8, "Last.")]
    );
    assert_eq!(
        carried(&got[0]),
        [
            ("id".into(), "1.50".into()),
            ("tags".into(), "[\"x\", {\"y\": null}]".into())
        ]
    );
    assert_eq!(
        carried(&got[1]),
        [
            ("input_label".into(), "\"context\"".into()),
            ("big".into(), "123456789012345678901234567890".into())
        ]
    );
    assert_eq!(carried(&got[2]), [("id".to_string(), "2".to_string())]);
    assert_eq!(failures, 4);
    let errors: Vec<_> = messages.iter().filter(|m| m.starts_with("error")).collect();
    assert!(
        errors[0].starts_with("error: FILE:4: malformed JSON: "),
        "{errors:?}"
    );
    assert!(errors[1].starts_with(
        "error: FILE:5: malformed JSON: invalid type: sequence, expected a JSON object"
    ));
    assert!(errors[2].starts_with("error: FILE:6: no field `text`"));
    assert_eq!(errors[3], "error: FILE:7: field `text` is not a string: 7");
    assert!(
        messages
            .iter()
            .any(|m| m
                .starts_with("warning: FILE:3: input field `label` is carried as `input_label`"))
    );
}

#[test]
fn the_text_field_can_be_chosen() {
    let opts = ReadOptions {
        text_field: "body".into(),
        ..options()
    };
    let (got, _, failures) = read("a.ndjson", b"{\"body\": \"B.\", \"text\": \"T.\"}\n", opts);
    assert_eq!(failures, 0);
    assert_eq!(got[0].text, "B.");
    assert_eq!(
        carried(&got[0]),
        [("input_text".to_string(), "\"T.\"".to_string())]
    );
}

#[test]
fn tables_carry_cells_as_strings_and_report_ragged_rows() {
    let input = "id,text,n\n1,\"Quoted, with comma.\",7\n2,short row\n3,\"Multi\nline.\",\n";
    let (got, messages, failures) = read("t.csv", input.as_bytes(), options());
    let summary: Vec<_> = got
        .iter()
        .map(|r| (r.index, r.line, r.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [(0, 2, "Quoted, with comma."), (2, 4, "Multi\nline.")]
    );
    assert_eq!(
        carried(&got[0]),
        [("id".into(), "\"1\"".into()), ("n".into(), "\"7\"".into())]
    );
    assert_eq!(
        carried(&got[1]),
        [("id".into(), "\"3\"".into()), ("n".into(), "\"\"".into())]
    );
    assert_eq!(failures, 1);
    assert_eq!(messages, ["error: FILE:3: expected 3 fields, found 2"]);
}

#[test]
fn tsv_and_a_missing_text_column() {
    let (got, _, failures) = read("t.tsv", b"text\tlang\nHello.\ten\n", options());
    assert_eq!((got.len(), failures), (1, 0));
    assert_eq!(
        carried(&got[0]),
        [("lang".to_string(), "\"en\"".to_string())]
    );
    let (got, messages, failures) = read("t.tsv", b"body\tlang\nHello.\ten\n", options());
    assert_eq!((got.len(), failures), (0, 1));
    assert!(
        messages[0].starts_with("error: FILE:1: no column `text`"),
        "{messages:?}"
    );
}

#[test]
fn empty_files_have_no_records_and_are_named() {
    for name in ["e.txt", "e.jsonl", "e.csv"] {
        let (got, messages, failures) = read(name, b"", options());
        assert!(got.is_empty(), "{name}");
        assert_eq!(failures, 1, "{name}");
        assert_eq!(
            messages,
            ["error: FILE:1: empty file, nothing to label"],
            "{name}"
        );
    }
}

#[test]
fn binary_files_are_skipped() {
    let mut bytes = b"PK\x03\x04 some header\nmore".to_vec();
    bytes.extend([0, 1, 2, 0]);
    let (got, messages, failures) = read("b.txt", &bytes, options());
    assert!(got.is_empty());
    assert_eq!(failures, 1);
    assert_eq!(
        messages,
        ["error: FILE:2: binary file (NUL byte at byte offset 21), skipped"]
    );
}

#[test]
fn invalid_utf8_is_replaced_with_a_warning_or_rejected_when_strict() {
    let input = b"{\"text\": \"ok\"}\n{\"text\": \"caf\xE9\"}\n";
    let (got, messages, failures) = read("u.jsonl", input, options());
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].text, "caf\u{FFFD}");
    assert_eq!(failures, 0);
    assert_eq!(
        messages,
        ["warning: FILE:2: invalid UTF-8 at byte offset 28 replaced by U+FFFD"]
    );

    let strict = ReadOptions {
        strict: true,
        ..options()
    };
    let (got, messages, failures) = read("u.jsonl", input, strict);
    assert_eq!(got.len(), 1);
    assert_eq!(failures, 1);
    assert_eq!(
        messages,
        ["error: FILE:2: invalid UTF-8 at byte offset 28; record rejected (--strict)"]
    );

    let (got, messages, _) = read("u.txt", b"Line one.\nBad \xFF\xFE here.\n", options());
    assert_eq!(
        got[0].offsets.original(got[0].text.find("here").unwrap()),
        17
    );
    assert_eq!(messages, ["warning: FILE:2: invalid UTF-8 at byte offset 14 replaced by U+FFFD (2 invalid sequences in this record)"]);
}

#[test]
fn shards_select_records_before_parsing() {
    let input: String = (0..40)
        .map(|i| {
            if i == 7 {
                "not json\n".to_string()
            } else {
                format!("{{\"text\": \"R{i}.\"}}\n")
            }
        })
        .collect();
    let mut indices = Vec::new();
    let mut failures = 0;
    for k in 1..=3 {
        let shard = Some(Shard { index: k, count: 3 });
        let (got, _, failed) = read(
            "s.jsonl",
            input.as_bytes(),
            ReadOptions { shard, ..options() },
        );
        indices.extend(got.iter().map(|r| r.index));
        failures += failed;
    }
    indices.sort();
    assert_eq!(indices, (0..40).filter(|&i| i != 7).collect::<Vec<_>>());
    assert_eq!(
        failures, 1,
        "the bad line is reported by its own shard only"
    );
}

#[test]
fn gzip_inputs_are_decompressed() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"text\": \"Zipped.\", \"k\": true}\n")
        .unwrap();
    let (got, _, failures) = read("z.jsonl.gz", &gz.finish().unwrap(), options());
    assert_eq!(failures, 0);
    assert_eq!(got[0].text, "Zipped.");
}
